// The consumer-lag workflow for every cluster: it reuses the recovery workflows' step Lambdas
// (the workflow steps Lambda resolves each group's owner and scale hook from WORKFLOW_TARGETS_FILE,
// built by consumerLagTargetFields in cluster-targets.ts; the cluster steps Lambda reads the group's offsets from
// inside the cluster's VPC).
//
// IAM, written by hand (DefinitionBody.fromFile hides the Tasks from CDK):
// - the state machine: lambda:InvokeFunction on the step Lambdas, the nested escalation workflow
//   as broker-recovery, each with the substitution that names it (WorkflowBinder);
// - the workflow steps Lambda, whose act-on-lag step tells the owning team and calls the scale
//   hook: sns:Publish on the configured owning-team topics and scale hook topics only,
//   lambda:InvokeFunction on the configured scale hook functions only.
import { Duration } from 'aws-cdk-lib';
import { Effect, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { Construct } from 'constructs';
import { escalationArn, type RecoveryContext } from './workflow-context.js';
import { HealerWorkflow, RunbookWorkflow } from './workflows.js';

/** Matches the ASL TimeoutSeconds: inside the classifier's 60-minute remediation lock TTL. */
export const CONSUMER_LAG_TIMEOUT = Duration.seconds(3300);

/** The substitutions consumer-lag.asl.json needs. */
export function consumerLagSubstitutions(s: {
  workflowStepsFunctionArn: string;
  escalationStateMachineArn: string;
}): Record<string, string> {
  return {
    WorkflowStepsFunctionArn: s.workflowStepsFunctionArn,
    EscalationStateMachineArn: s.escalationStateMachineArn,
  };
}

export class ConsumerLagWorkflow extends RunbookWorkflow {
  readonly workflow: HealerWorkflow;
  /** SNS topics the workflow may publish to (owning teams, scale hooks). */
  readonly topicArns: string[];
  /** Scale hook functions the workflow may invoke. */
  readonly hookFunctionArns: string[];

  constructor(scope: Construct, id: string, ctx: RecoveryContext) {
    super(scope, id, 'consumer-lag');
    const d = ctx.deployment;
    const groups = ctx.clusters.flatMap((c) => c.consumerGroups);
    this.topicArns = [
      ...new Set(
        groups.flatMap((g) => [g.ownerTopicArn, g.scaleHook?.snsTopicArn]).filter((a): a is string => a !== undefined),
      ),
    ].sort();
    this.hookFunctionArns = [...new Set(groups.flatMap((g) => g.scaleHook?.lambdaFunctionArn ?? []))].sort();

    this.workflow = new HealerWorkflow(this, 'ConsumerLag', {
      name: 'consumer-lag',
      stateMachineName: `kafka-heal-${d}-consumer-lag`,
      substitutions: (bind) =>
        consumerLagSubstitutions({
          workflowStepsFunctionArn: ctx.recovery.stepsArn(bind, ctx.clusters),
          escalationStateMachineArn: escalationArn(ctx, bind),
        }),
      timeout: CONSUMER_LAG_TIMEOUT,
    });
    const steps = ctx.recovery.workflowSteps.role;
    if (this.topicArns.length > 0) {
      steps.addToPrincipalPolicy(
        new PolicyStatement({
          sid: 'NotifyConfiguredTeamsAndHooks',
          effect: Effect.ALLOW,
          actions: ['sns:Publish'],
          resources: this.topicArns,
        }),
      );
    }
    if (this.hookFunctionArns.length > 0) {
      steps.addToPrincipalPolicy(
        new PolicyStatement({
          sid: 'CallConfiguredScaleHooks',
          effect: Effect.ALLOW,
          actions: ['lambda:InvokeFunction'],
          resources: this.hookFunctionArns,
        }),
      );
    }
  }
}
