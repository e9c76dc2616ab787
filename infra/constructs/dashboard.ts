// The operators' CloudWatch dashboard, one per stack (kafka-heal-<deployment>): what an on-call
// engineer opens first. Rows, top to bottom:
//
//   1. per cluster health   alarm status of every cluster alarm; probe heartbeat, brokers reachable
//                           (KafkaHeal, "Cluster Name"); offline and under-min-ISR partitions from
//                           the probe, or for MSK from AWS/Kafka with the controller count
//   2. incidents            open now per severity (OpenIncidents, AwaitingApproval: incident-metrics),
//                           opened per severity (IncidentsOpenedBySeverity, classify), MTTA per
//                           severity (MttaSeconds, below), MTTR (MttrSeconds, workflow-steps); then
//                           the recovery success rate (IncidentsResolved / (IncidentsResolved +
//                           IncidentsEscalated)), the last 7 days, ingestion and the classifier
//   3. workflow outcomes    executions succeeded / failed / timed out / aborted per state machine
//   4. notifications        SNS deliveries that failed per topic; failed escalation executions
//   5. probe latency        ProbeLatencyMs per cluster (average, p90, maximum)
//
// Metric names, namespaces and dimensions are the ones the Lambdas emit: probe metrics from
// PROBE_METRICS (functions/probe/metrics.ts publishes exactly those), handler metrics through the
// house Powertools `metrics` with its default `service` dimension (kafka-heal-<function name>),
// except MttaSeconds: three functions acknowledge (the lifecycle command, the incident page, the
// PagerDuty webhook) and publish it with the Severity dimension only (functions/lifecycle/
// mtta-metric.ts), so each severity is one series whose average and p90 cover every incident.
import { Duration } from 'aws-cdk-lib';
import {
  AlarmStatusWidget,
  Dashboard,
  GraphWidget,
  MathExpression,
  Metric,
  SingleValueWidget,
  TextWidget,
  type IAlarm,
  type IWidget,
} from 'aws-cdk-lib/aws-cloudwatch';
import { StateMachine, type CfnStateMachine, type IStateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import type { ClusterConfig } from '../config/schema.js';
import { MTTA_DIMENSION, MTTA_METRIC } from '#functions/lifecycle/mtta-metric.js';
import { seriesKey } from '#functions/probe/metrics.js';
import { DIMENSIONS, MSK_NAMESPACE, PROBE_METRICS, probeRunsMetric, probeRunsMetricName } from './alarm-specs.js';
import { metricsNamespace } from '#domain/metrics-namespace.js';

/**
 * The probe series kinds (functions/probe/metrics.ts seriesKey) the dashboard graphs for a cluster,
 * beyond what its alarms read. An MSK cluster's partition health is graphed from AWS/Kafka (free),
 * not from the probe's copies of it ($0.30 a month each): only what AWS/Kafka lacks comes from the
 * probe (brokers reachable from the clients' side, probe latency).
 */
export function dashboardProbeSeries(cluster: ClusterConfig): string[] {
  const partitions = cluster.msk ? [] : [PROBE_METRICS.offlinePartitions, PROBE_METRICS.underMinIsrPartitions];
  return [
    ...[probeRunsMetricName(cluster), ...partitions, 'ProbeLatencyMs'].map((n) => seriesKey(n, [DIMENSIONS.cluster])),
    seriesKey(PROBE_METRICS.brokerReachable, [DIMENSIONS.cluster, DIMENSIONS.broker]),
  ];
}

export const SEVERITIES = ['SEV-1', 'SEV-2', 'SEV-3', 'SEV-4'] as const;

/** The Powertools `service` dimension of a function built by HealerFunction with this name. */
export function serviceDimension(functionName: string): { service: string } {
  return { service: `kafka-heal-${functionName}` };
}

export interface HealerDashboardProps {
  deployment: string;
  clusters: ClusterConfig[];
  /** The alarms of each cluster, in the order of `clusters`. */
  clusterAlarms: IAlarm[][];
  /** Every state machine of the stack, labelled by workflow. */
  stateMachines: { label: string; stateMachine: IStateMachine }[];
  /** The topics people are notified through. */
  topics: { label: string; topic: ITopic }[];
}

const FIVE_MINUTES = Duration.minutes(5);
const ONE_HOUR = Duration.hours(1);
const ONE_DAY = Duration.days(1);
const FULL = 24;

function handlerMetric(
  namespace: string,
  functionName: string,
  metricName: string,
  statistic: string,
  period: Duration,
  label?: string,
  extra: Record<string, string> = {},
): Metric {
  return new Metric({
    namespace,
    metricName,
    dimensionsMap: { ...serviceDimension(functionName), ...extra },
    statistic,
    period,
    ...(label ? { label } : {}),
  });
}

function probeMetric(
  namespace: string,
  cluster: string,
  metricName: string,
  statistic: string,
  label: string,
  period = Duration.minutes(1),
): Metric {
  return new Metric({
    namespace,
    metricName,
    dimensionsMap: { [DIMENSIONS.cluster]: cluster },
    statistic,
    period,
    label,
  });
}

/**
 * Every state machine under `scope`, labelled by its name without the `kafka-heal-<deployment>-`
 * prefix. Called where the stack is complete, so a workflow added later is on the dashboard too.
 */
export function stateMachinesOf(
  scope: Construct,
  deployment: string,
): { label: string; stateMachine: IStateMachine }[] {
  const prefix = `kafka-heal-${deployment}-`;
  return scope.node
    .findAll()
    .filter((c): c is StateMachine => c instanceof StateMachine)
    .map((sm) => {
      const name = (sm.node.defaultChild as CfnStateMachine).stateMachineName ?? sm.node.path;
      return { label: name.startsWith(prefix) ? name.slice(prefix.length) : name, stateMachine: sm };
    })
    .sort((a, b) => a.label.localeCompare(b.label));
}

export class HealerDashboard extends Construct {
  readonly dashboard: Dashboard;
  private readonly deployment: string;
  /** Where this deployment's probe and handlers publish. */
  private readonly ns: string;

  constructor(scope: Construct, id: string, props: HealerDashboardProps) {
    super(scope, id);
    const d = props.deployment;
    this.deployment = d;
    this.ns = metricsNamespace(d);
    this.dashboard = new Dashboard(this, 'Dashboard', {
      dashboardName: `kafka-heal-${d}`,
      defaultInterval: Duration.hours(3),
    });
    const rows: IWidget[][] = [];
    rows.push([
      new TextWidget({
        markdown: [
          `# kafka-heal ${d}`,
          `Clusters: ${props.clusters.map((c) => `**${c.name}** (${c.platform})`).join(', ')}. ` +
            'Incidents and their timelines: `kafka-heal incidents list` / `kafka-heal incidents show <id>`. ' +
            'Runbooks, alarms and workflows: docs/operations.md; when something looks wrong: docs/troubleshooting.md.',
        ].join('\n\n'),
        width: FULL,
        height: 2,
      }),
    ]);

    // 1. Per cluster health.
    props.clusters.forEach((cluster, i) => rows.push(this.clusterRow(cluster, props.clusterAlarms[i] ?? [])));

    // 2. Incidents: open and opened by severity, MTTA by severity, MTTR, recovery success rate.
    const resolved = handlerMetric(this.ns, 'workflow-steps', 'IncidentsResolved', 'Sum', ONE_DAY, 'resolved');
    const escalated = handlerMetric(this.ns, 'workflow-steps', 'IncidentsEscalated', 'Sum', ONE_DAY, 'escalated');
    const successRate = new MathExpression({
      expression: '100 * resolved / (resolved + escalated)',
      usingMetrics: { resolved, escalated },
      label: 'recovered by automation (%)',
      period: ONE_DAY,
    });
    rows.push([
      new GraphWidget({
        title: 'Open incidents by severity',
        left: SEVERITIES.map((s) =>
          handlerMetric(this.ns, 'incident-metrics', 'OpenIncidents', 'Maximum', FIVE_MINUTES, s, { Severity: s }),
        ),
        right: [
          handlerMetric(this.ns, 'incident-metrics', 'AwaitingApproval', 'Maximum', FIVE_MINUTES, 'awaiting approval'),
        ],
        stacked: true,
        width: 6,
      }),
      new GraphWidget({
        title: 'Incidents opened by severity (per hour)',
        left: SEVERITIES.map((s) =>
          handlerMetric(this.ns, 'classify', 'IncidentsOpenedBySeverity', 'Sum', ONE_HOUR, s, { Severity: s }),
        ),
        stacked: true,
        width: 6,
      }),
      new GraphWidget({
        title: 'MTTA by severity: first page (else detection) to acknowledged (seconds)',
        left: SEVERITIES.flatMap((s) =>
          (['Average', 'p90'] as const).map(
            (stat) =>
              new Metric({
                namespace: this.ns,
                metricName: MTTA_METRIC,
                dimensionsMap: { [MTTA_DIMENSION]: s },
                statistic: stat,
                period: ONE_HOUR,
                label: `${s} ${stat === 'Average' ? 'average' : stat}`,
              }),
          ),
        ),
        width: 6,
      }),
      new GraphWidget({
        title: 'MTTR: detection to resolved (seconds)',
        left: [
          handlerMetric(this.ns, 'workflow-steps', 'MttrSeconds', 'Average', ONE_HOUR, 'average'),
          handlerMetric(this.ns, 'workflow-steps', 'MttrSeconds', 'p90', ONE_HOUR, 'p90'),
          handlerMetric(this.ns, 'workflow-steps', 'MttrSeconds', 'Maximum', ONE_HOUR, 'maximum'),
        ],
        width: 6,
      }),
    ]);
    rows.push([
      new GraphWidget({
        title: 'Recovery success rate (per day)',
        left: [successRate],
        right: [
          resolved,
          escalated,
          handlerMetric(this.ns, 'workflow-steps', 'FalseAlarms', 'Sum', ONE_DAY, 'false alarms'),
        ],
        leftYAxis: { min: 0, max: 100, label: '%', showUnits: false },
        width: 6,
      }),
      new SingleValueWidget({
        title: 'Last 7 days',
        metrics: [
          handlerMetric(this.ns, 'classify', 'IncidentsOpened', 'Sum', Duration.days(7), 'incidents opened'),
          handlerMetric(
            this.ns,
            'workflow-steps',
            'IncidentsResolved',
            'Sum',
            Duration.days(7),
            'resolved by automation',
          ),
          handlerMetric(
            this.ns,
            'workflow-steps',
            'IncidentsEscalated',
            'Sum',
            Duration.days(7),
            'escalated to people',
          ),
          handlerMetric(this.ns, 'workflow-steps', 'MttrSeconds', 'Average', Duration.days(7), 'MTTR (s, average)'),
        ],
        width: 6,
      }),
      new GraphWidget({
        title: 'Ingestion',
        left: ['ingest', 'ingest-webhook'].map((f) =>
          handlerMetric(this.ns, f, 'SignalsQueued', 'Sum', FIVE_MINUTES, `${f} queued`),
        ),
        right: ['ingest', 'ingest-webhook'].flatMap((f) =>
          ['RejectedEvents', 'IgnoredEvents'].map((m) =>
            handlerMetric(this.ns, f, m, 'Sum', FIVE_MINUTES, `${f} ${m}`),
          ),
        ),
        width: 6,
      }),
      new GraphWidget({
        title: 'Signals and decisions (classifier)',
        left: ['SignalsClassified', 'SignalsIgnored', 'IncidentsOpened', 'IncidentsUpgraded', 'WorkflowsStarted'].map(
          (m) => handlerMetric(this.ns, 'classify', m, 'Sum', FIVE_MINUTES, m),
        ),
        right: ['RejectedSignals', 'LockContention', 'WorkflowFallbacks', 'WorkflowMissing', 'PolicyFallbacks'].map(
          (m) => handlerMetric(this.ns, 'classify', m, 'Sum', FIVE_MINUTES, m),
        ),
        width: 6,
      }),
    ]);

    // 3. Workflow outcomes, one widget per state machine.
    const outcomes = props.stateMachines.map(
      ({ label, stateMachine }) =>
        new GraphWidget({
          title: `Workflow ${label}`,
          left: [
            stateMachine.metricSucceeded({ label: 'succeeded', period: ONE_HOUR }),
            stateMachine.metricFailed({ label: 'failed', period: ONE_HOUR }),
            stateMachine.metricTimedOut({ label: 'timed out', period: ONE_HOUR }),
            stateMachine.metricAborted({ label: 'aborted', period: ONE_HOUR }),
          ],
          stacked: true,
          width: 6,
        }),
    );
    for (let i = 0; i < outcomes.length; i += 4) rows.push(outcomes.slice(i, i + 4));

    // 4. Notifications that failed, 5. probe latency.
    rows.push([
      new GraphWidget({
        title: 'Notification failures',
        left: props.topics.map(({ label, topic }) =>
          topic.metricNumberOfNotificationsFailed({
            label: `SNS ${label} failed`,
            period: FIVE_MINUTES,
            statistic: 'Sum',
          }),
        ),
        // An escalation workflow that fails is a notification that did not go out (its fallbacks included).
        right: props.stateMachines
          .filter(({ label }) => label.startsWith('escalation'))
          .map(({ label, stateMachine }) =>
            stateMachine.metricFailed({ label: `${label} failed`, period: FIVE_MINUTES }),
          ),
        width: 12,
      }),
      new GraphWidget({
        title: 'Probe latency (ms)',
        left: props.clusters.flatMap((c) =>
          (['Average', 'p90', 'Maximum'] as const).map((stat) =>
            probeMetric(this.ns, c.name, 'ProbeLatencyMs', stat, `${c.name} ${stat.toLowerCase()}`, FIVE_MINUTES),
          ),
        ),
        width: 12,
      }),
    ]);
    for (const row of rows) this.dashboard.addWidgets(...row);
  }

  private clusterRow(cluster: ClusterConfig, alarms: IAlarm[]): IWidget[] {
    const name = cluster.name;
    const probeRuns = probeRunsMetric(this.deployment, cluster);
    const row: IWidget[] = [
      new AlarmStatusWidget({ title: `${name}: alarms`, alarms, width: 6, height: 6 }),
      new GraphWidget({
        title: `${name}: probe`,
        // MSK: the partition counts are in the MSK widget, from AWS/Kafka.
        left: cluster.msk
          ? []
          : [
              probeMetric(this.ns, name, PROBE_METRICS.offlinePartitions, 'Maximum', 'offline partitions'),
              probeMetric(this.ns, name, PROBE_METRICS.underMinIsrPartitions, 'Maximum', 'under min ISR'),
            ],
        right: [
          new Metric({
            namespace: probeRuns.namespace,
            metricName: probeRuns.metricName,
            dimensionsMap: probeRuns.dimensions,
            statistic: probeRuns.statistic,
            period: Duration.minutes(1),
            label: 'probe runs',
          }),
        ],
        width: 9,
      }),
      new GraphWidget({
        title: `${name}: brokers reachable (probe)`,
        left: [
          new MathExpression({
            expression: `SEARCH('{${this.ns},"${DIMENSIONS.cluster}","${DIMENSIONS.broker}"} MetricName="${PROBE_METRICS.brokerReachable}" "${DIMENSIONS.cluster}"="${name}"', 'Minimum', 60)`,
            label: 'broker',
            period: Duration.minutes(1),
          }),
        ],
        leftYAxis: { min: 0, max: 1 },
        width: cluster.msk ? 4 : 9,
      }),
    ];
    if (cluster.msk) {
      const dims = { [DIMENSIONS.cluster]: cluster.msk.clusterName };
      row.push(
        new GraphWidget({
          title: `${name}: MSK`,
          left: [
            new Metric({
              namespace: MSK_NAMESPACE,
              metricName: 'ActiveControllerCount',
              dimensionsMap: dims,
              statistic: 'Maximum',
              period: Duration.minutes(1),
              label: 'active controllers',
            }),
            new Metric({
              namespace: MSK_NAMESPACE,
              metricName: 'OfflinePartitionsCount',
              dimensionsMap: dims,
              statistic: 'Maximum',
              period: Duration.minutes(1),
              label: 'offline partitions',
            }),
            new MathExpression({
              expression: `SEARCH('{${MSK_NAMESPACE},"${DIMENSIONS.broker}","${DIMENSIONS.cluster}"} MetricName="UnderMinIsrPartitionCount" "${DIMENSIONS.cluster}"="${cluster.msk.clusterName}"', 'Maximum', 60)`,
              label: 'under min ISR, broker',
              period: Duration.minutes(1),
            }),
          ],
          width: 5,
        }),
      );
    }
    return row;
  }
}
