// The DR workflows (dr-failover, dr-failback: statemachines/dr-switch.asl.json rendered once per
// direction, see dr-switch.ts) for the clusters configured as DR pairs with a Route 53 bootstrap
// record (`dr.peer` + `dr.route53`). They reuse the recovery workflows' step Lambdas: the
// workflow steps Lambda resolves the switch (WORKFLOW_TARGETS_FILE carries each cluster's `dr`
// section, built by drTargetConfig in cluster-targets.ts), and the cluster steps Lambda of the cluster taking the
// clients checks prerequisites, backs up state and sends the canary from inside its VPC.
//
// IAM, written by hand (DefinitionBody.fromFile hides the Tasks from CDK):
// - route53:ChangeResourceRecordSets only on the configured hosted zones, and only for the
//   configured record names (route53:ChangeResourceRecordSetsNormalizedRecordNames), CNAME,
//   UPSERT; route53:ListResourceRecordSets (read the value a rollback restores) on those zones;
//   route53:GetChange on change ids (only known at run time);
// - lambda:InvokeFunction on the step Lambdas of the DR clusters and the approval request Lambda;
// - sns:Publish on the notification topic; the nested escalation workflow as broker-recovery.
// The step Lambdas, approval, topic and escalation grants each come with the substitution that
// names what they allow (WorkflowBinder).
import { Duration, Stack, Validations } from 'aws-cdk-lib';
import { Effect, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { workflowArnEnvName } from '#shared/workflows.js';
import type { ClusterConfig } from '../config/schema.js';
import type { HealerFunction } from './healer-function.js';
import type { SelfMonitoring } from './self-monitoring.js';
import { approvalArn, escalationArn, notificationTopicArn, type RecoveryContext } from './workflow-context.js';
import { bare } from './cluster-targets.js';
import { HealerWorkflow } from './workflows.js';
import { nagArnPrefix } from './nag-ids.js';

/** Matches the ASL TimeoutSeconds: inside the classifier's 60-minute remediation lock TTL. */
export const DR_TIMEOUT = Duration.seconds(3300);

/** The deploy-time substitutions of dr-switch.asl.json, the one definition of both directions. */
export function drSubstitutions(s: {
  workflowStepsFunctionArn: string;
  escalationStateMachineArn: string;
  approvalFunctionArn: string;
  notificationTopicArn: string;
}): Record<string, string> {
  return {
    WorkflowStepsFunctionArn: s.workflowStepsFunctionArn,
    EscalationStateMachineArn: s.escalationStateMachineArn,
    ApprovalFunctionArn: s.approvalFunctionArn,
    NotificationTopicArn: s.notificationTopicArn,
  };
}

export class DrWorkflows extends Construct {
  readonly failover?: HealerWorkflow;
  readonly failback?: HealerWorkflow;
  /** The clusters with a DR pair and a record (both sides of each pair). */
  readonly drClusters: ClusterConfig[];

  constructor(scope: Construct, id: string, ctx: RecoveryContext) {
    super(scope, id);
    const d = ctx.deployment;
    const stack = Stack.of(this);
    const names = new Set(ctx.clusters.map((c) => c.name));
    const primaries = ctx.clusters.filter((c) => c.dr?.route53 && names.has(c.dr.peer));
    const involved = new Set(primaries.flatMap((c) => [c.name, c.dr?.peer as string]));
    this.drClusters = ctx.clusters.filter((c) => involved.has(c.name));
    if (primaries.length === 0) return;
    const zones = [...new Set(primaries.map((c) => c.dr?.route53?.hostedZoneId as string))];
    const zoneArns = zones.map((z) =>
      stack.formatArn({ service: 'route53', region: '', account: '', resource: 'hostedzone', resourceName: z }),
    );
    const recordNames = [...new Set(primaries.map((c) => bare(c.dr?.route53?.recordName as string)))];

    const make = (name: 'dr-failover' | 'dr-failback', cid: string) => {
      const wf = new HealerWorkflow(this, cid, {
        name,
        stateMachineName: `kafka-heal-${d}-${name}`,
        substitutions: (bind) =>
          drSubstitutions({
            workflowStepsFunctionArn: ctx.recovery.stepsArn(bind, this.drClusters),
            escalationStateMachineArn: escalationArn(ctx, bind),
            approvalFunctionArn: approvalArn(ctx, bind),
            notificationTopicArn: notificationTopicArn(ctx, bind),
          }),
        timeout: DR_TIMEOUT,
      });
      const role = wf.stateMachine;
      role.addToRolePolicy(
        new PolicyStatement({
          sid: 'SwitchConfiguredRecordOnly',
          effect: Effect.ALLOW,
          actions: ['route53:ChangeResourceRecordSets'],
          resources: zoneArns,
          conditions: {
            'ForAllValues:StringEquals': {
              'route53:ChangeResourceRecordSetsNormalizedRecordNames': recordNames,
              'route53:ChangeResourceRecordSetsRecordTypes': ['CNAME'],
              'route53:ChangeResourceRecordSetsActions': ['UPSERT'],
            },
          },
        }),
      );
      role.addToRolePolicy(
        new PolicyStatement({
          sid: 'ReadConfiguredZones',
          effect: Effect.ALLOW,
          actions: ['route53:ListResourceRecordSets'],
          resources: zoneArns,
        }),
      );
      role.addToRolePolicy(
        new PolicyStatement({
          sid: 'FollowOwnChanges',
          effect: Effect.ALLOW,
          actions: ['route53:GetChange'],
          resources: [
            stack.formatArn({ service: 'route53', region: '', account: '', resource: 'change', resourceName: '*' }),
          ],
        }),
      );
      Validations.of(wf).acknowledge({
        id: `AwsSolutions-IAM5[Resource::${nagArnPrefix(this, 'route53', { global: true })}:change/*]`,
        reason: 'route53:GetChange is read-only and addressed by a change id that Route 53 returns at run time.',
      });
      return wf;
    };
    this.failover = make('dr-failover', 'DrFailover');
    this.failback = make('dr-failback', 'DrFailback');
  }

  /** Lets the classifier start these workflows (WORKFLOW_ARN_DR_FAILOVER, WORKFLOW_ARN_DR_FAILBACK). */
  bindTo(fn: HealerFunction): this {
    if (this.failover) fn.bindStateMachine(this.failover.stateMachine, workflowArnEnvName('dr-failover'));
    if (this.failback) fn.bindStateMachine(this.failback.stateMachine, workflowArnEnvName('dr-failback'));
    return this;
  }

  /** Failed executions alarm straight to the operators. */
  watch(monitoring: SelfMonitoring): this {
    if (this.failover) monitoring.watchStateMachine(this.failover.stateMachine, 'dr-failover');
    if (this.failback) monitoring.watchStateMachine(this.failback.stateMachine, 'dr-failback');
    return this;
  }
}
