// The incident metrics function: every 5 minutes it counts the active incidents of each configured
// cluster on the open-incidents index and publishes the OpenIncidents (per Severity) and
// AwaitingApproval gauges the dashboard shows (functions/incident-metrics). Read-only on the table.
import { Duration, Stack, Validations, type CfnElement } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { Rule, RuleTargetInput, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { Construct } from 'constructs';
import { HealerFunction } from './healer-function.js';
import type { ClusterFacts } from '#domain/types.js';

export const INCIDENT_METRICS_INTERVAL = Duration.minutes(5);

export interface IncidentMetricsProps {
  deployment: string;
  table: ITable;
  /** The cluster facts, as the classifier gets them (ClusterFacts[]). */
  clusters: ClusterFacts[];
}

export class IncidentMetrics extends Construct {
  readonly fn: HealerFunction;
  readonly schedule: Rule;

  constructor(scope: Construct, id: string, props: IncidentMetricsProps) {
    super(scope, id);
    this.fn = new HealerFunction(this, 'Function', {
      name: 'incident-metrics',
      description: `kafka-heal ${props.deployment}: publishes how many incidents are open per severity, for the dashboard`,
      timeout: Duration.seconds(30),
      environment: { DEPLOYMENT: props.deployment },
      files: [{ env: 'CLUSTERS_FILE', name: 'clusters.json', json: props.clusters }],
    }).bindTable(props.table, 'r');
    Validations.of(this.fn).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${Stack.of(this).getLogicalId(props.table.node.defaultChild as CfnElement)}.Arn>/index/*]`,
      reason:
        'Read access to the incident table includes its indexes (<table>/index/*): the function queries the open-incidents index gsi1.',
    });
    // A missed run is superseded by the next one: no retries that would overlap it.
    this.fn.fn.configureAsyncInvoke({ retryAttempts: 0, maxEventAge: Duration.minutes(5) });
    this.schedule = new Rule(this, 'Schedule', {
      ruleName: `kafka-heal-${props.deployment}-incident-metrics`.slice(0, 64),
      description: `kafka-heal ${props.deployment}: count open incidents every 5 minutes`,
      schedule: Schedule.rate(INCIDENT_METRICS_INTERVAL),
    });
    this.schedule.addTarget(
      new LambdaFunction(this.fn.fn, { event: RuleTargetInput.fromObject({}), retryAttempts: 0 }),
    );
  }
}
