// The auto-resolver (functions/lifecycle/auto-resolve.ts): every minute it judges each configured
// cluster's open and escalated incidents against the cluster's runtime policy
// (policy.autoResolveSeconds) and its alarms, and resolves those that recovered without the healer.
// Least privilege: read/write on the incident table (it resolves through the store's conditional
// writes), read of the clusters' policy parameters, cloudwatch:DescribeAlarms on this deployment's
// alarm names only. The notification chain (PagerDuty resolve) is bound by the Escalation construct
// that owns it.
import { ArnFormat, Duration, Stack, Validations, type CfnElement } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { Rule, RuleTargetInput, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { Effect, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { IStringParameter } from 'aws-cdk-lib/aws-ssm';
import { Construct } from 'constructs';
import type { ClusterFacts } from '#domain/types.js';
import { HealerFunction } from './healer-function.js';
import { nagArnPrefix } from './nag-ids.js';

export const AUTO_RESOLVE_INTERVAL = Duration.minutes(1);

export interface AutoResolverProps {
  deployment: string;
  table: ITable;
  /** The cluster facts, as the classifier gets them (only the names are read). */
  clusters: ClusterFacts[];
  /** Every alarm of the deployment starts with it (alarmNamePrefix(deployment)). */
  alarmNamePrefix: string;
  /** The clusters' runtime policy parameters (autoResolveSeconds). */
  policies: { parameters: IStringParameter[]; prefix: string };
}

export class AutoResolver extends Construct {
  readonly fn: HealerFunction;
  readonly schedule: Rule;

  constructor(scope: Construct, id: string, props: AutoResolverProps) {
    super(scope, id);
    const stack = Stack.of(this);
    this.fn = new HealerFunction(this, 'Function', {
      name: 'lifecycle',
      file: 'auto-resolve.ts',
      serviceName: 'auto-resolve',
      description: `kafka-heal ${props.deployment}: resolves incidents whose alarms and cluster stayed healthy for policy.autoResolveSeconds`,
      timeout: Duration.seconds(55),
      environment: { DEPLOYMENT: props.deployment, ALARM_NAME_PREFIX: props.alarmNamePrefix },
      files: [{ env: 'CLUSTERS_FILE', name: 'clusters.json', json: props.clusters }],
      // Nothing upstream of a schedule is traced: no trace a minute of the same few calls.
      traceOnlyWhenCallerTraces: true,
    })
      .bindTable(props.table, 'rw')
      .bindParameters(props.policies.parameters, 'POLICY_PARAMETER_PREFIX', props.policies.prefix);
    this.fn.role.addToPrincipalPolicy(
      new PolicyStatement({
        sid: 'ReadOwnAlarmStates',
        effect: Effect.ALLOW,
        actions: ['cloudwatch:DescribeAlarms'],
        resources: [
          stack.formatArn({
            service: 'cloudwatch',
            resource: 'alarm',
            resourceName: `${props.alarmNamePrefix}*`,
            arnFormat: ArnFormat.COLON_RESOURCE_NAME,
          }),
        ],
      }),
    );
    Validations.of(this.fn).acknowledge(
      {
        id: `AwsSolutions-IAM5[Resource::${nagArnPrefix(this, 'cloudwatch')}:alarm:${props.alarmNamePrefix}*]`,
        reason:
          "Reads the states of this deployment's alarms only (their names start with its prefix), to tell whether a cluster stayed healthy.",
      },
      {
        id: `AwsSolutions-IAM5[Resource::<${stack.getLogicalId(props.table.node.defaultChild as CfnElement)}.Arn>/index/*]`,
        reason:
          'Read/write on the incident table includes its indexes (<table>/index/*): the function queries the open-incidents index gsi1 and resolves incidents by key.',
      },
    );
    // A missed run is superseded by the next one a minute later: no retries. Overlapping runs are
    // harmless: every resolve is conditional on the version judged.
    this.fn.fn.configureAsyncInvoke({ retryAttempts: 0, maxEventAge: Duration.minutes(1) });
    this.schedule = new Rule(this, 'Schedule', {
      ruleName: `kafka-heal-${props.deployment}-auto-resolve`.slice(0, 64),
      description: `kafka-heal ${props.deployment}: resolve incidents that recovered without the healer, every minute`,
      schedule: Schedule.rate(AUTO_RESOLVE_INTERVAL),
    });
    this.schedule.addTarget(
      new LambdaFunction(this.fn.fn, { event: RuleTargetInput.fromObject({}), retryAttempts: 0 }),
    );
  }
}
