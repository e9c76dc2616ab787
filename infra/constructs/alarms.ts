// Per-cluster CloudWatch alarms as code. The table of what is watched, with which threshold and
// window, lives in alarm-specs.ts; this construct only turns each row into an alarm.
//
// The alarms need no actions for the healer itself: the EventBridge rule picks up every
// "CloudWatch Alarm State Change" (and, for the per-broker alarms, "CloudWatch Alarm Contributor
// State Change") whose alarm name starts with alarmNamePrefix(deployment), and the description's
// marker tells the ingest Lambda the deployment, cluster, kind and group; a contributor's
// attributes name the broker.
// An optional SNS topic can be attached for people (self-monitoring, dashboards).
import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cloudwatchActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import type { ClusterConfig } from '../config/schema.js';
import { alarmNamePrefix, clusterAlarmSpecs, type AlarmSpec, type Comparison, type MetricRef } from './alarm-specs.js';

export { alarmNamePrefix, clusterAlarmSpecs, type AlarmSpec } from './alarm-specs.js';

export interface ClusterAlarmsProps {
  deployment: string;
  cluster: ClusterConfig;
  /** Optional topic notified when an alarm goes to ALARM (and back to OK). */
  actions?: sns.ITopic;
}

const COMPARISON: Record<Comparison, cloudwatch.ComparisonOperator> = {
  GreaterThanThreshold: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
  GreaterThanOrEqualToThreshold: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
  LessThanThreshold: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
};

function toMetric(ref: MetricRef, period: Duration): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: ref.namespace,
    metricName: ref.metricName,
    dimensionsMap: ref.dimensions,
    statistic: ref.statistic,
    period,
  });
}

function toAlarmMetric(spec: AlarmSpec): cloudwatch.IMetric {
  const period = Duration.seconds(spec.periodSeconds);
  const source = spec.source;
  if (source.type === 'metric') return toMetric(source.metric, period);
  // A Metrics Insights query (grouped by broker for the per-broker alarms): no input metrics.
  return new cloudwatch.MathExpression({ expression: source.query, label: source.label, period, usingMetrics: {} });
}

/** Construct ids may not contain '/'; alarm names never do, but keep ids tidy and unique. */
function constructId(spec: AlarmSpec, prefixLength: number): string {
  return spec.alarmName.slice(prefixLength).replace(/[^A-Za-z0-9._@-]/g, '_');
}

export class ClusterAlarms extends Construct {
  /** The specs the alarms were made from, in the same order as `alarms`. */
  readonly specs: AlarmSpec[];
  readonly alarms: cloudwatch.Alarm[];

  constructor(scope: Construct, id: string, props: ClusterAlarmsProps) {
    super(scope, id);
    this.specs = clusterAlarmSpecs(props.deployment, props.cluster);
    const prefixLength = alarmNamePrefix(props.deployment).length;
    this.alarms = this.specs.map((spec) => {
      const alarm = new cloudwatch.Alarm(this, constructId(spec, prefixLength), {
        alarmName: spec.alarmName,
        alarmDescription: spec.description,
        metric: toAlarmMetric(spec),
        threshold: spec.threshold,
        comparisonOperator: COMPARISON[spec.comparison],
        evaluationPeriods: spec.evaluationPeriods,
        datapointsToAlarm: spec.datapointsToAlarm,
        treatMissingData:
          spec.treatMissingData === 'breaching'
            ? cloudwatch.TreatMissingData.BREACHING
            : cloudwatch.TreatMissingData.NOT_BREACHING,
      });
      if (props.actions) {
        const action = new cloudwatchActions.SnsAction(props.actions);
        alarm.addAlarmAction(action);
        alarm.addOkAction(action);
      }
      return alarm;
    });
  }
}
