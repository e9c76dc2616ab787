// Which CloudWatch alarms watch a cluster, as plain data: metric or query, statistic, window,
// comparison and threshold. The ClusterAlarms construct turns each spec into an
// AWS::CloudWatch::Alarm; keeping the table free of CDK lets the local runtime and the docs
// read the same numbers the deployed alarms use.
//
// The alarms of a cluster do not grow with its brokers. A per-broker condition is ONE alarm on a
// CloudWatch Metrics Insights query grouped by "Broker ID" (a multi-time-series alarm): CloudWatch
// evaluates every broker's series on its own, and each broker (contributor) that goes into or out
// of ALARM sends its own "CloudWatch Alarm Contributor State Change" event, whose attributes name
// the broker. So a second broker failing while the first is still down is a new event, as it was
// with an alarm per broker, and the signal still carries the broker and its value (per-broker
// evidence); the alarm-level state change of such an alarm only summarizes its contributors and is
// ignored by the normalizer. A 1,000-broker cluster has the same dozen alarms as a 3-broker one
// (CloudWatch bills a Metrics Insights alarm per series it reads, so its cost still follows the
// brokers: bench/cost.ts).
//
// Amazon MSK (namespace AWS/Kafka, "Cluster Name" = the MSK cluster name). Thresholds follow
// the MSK best-practice guidance:
//   ActiveControllerCount      < 1   cluster     Maximum, 5 x 1 min, 5 of 5  (no controller for 5 min)
//   OfflinePartitionsCount     > 0   cluster     Maximum, 1 x 1 min          (any offline partition)
//   BrokerReachable (probe)    < 1   per broker  MIN, 2 x 1 min, 2/2         (brokers 1..brokerCount)
//   UnderMinIsrPartitionCount >= 1   per broker  MAX, 1 x 1 min              (producers with acks=all fail)
//   UnderReplicatedPartitions  > 0   per broker  MAX, 15 x 1 min, 15/15      (sustained, not a restart blip)
//   KafkaDataLogsDiskUsed     >= 85  per broker  MAX, 3 x 1 min, 3/3         (warning; policy.thresholds.diskWarnPercent)
//   KafkaDataLogsDiskUsed     >= 90  per broker  MAX, 3 x 1 min, 3/3         (critical; diskCriticalPercent)
//   CpuUser                   >= 60  per broker  AVG, 3 x 5 min, 3/3         (sustained 15 min; see below)
//   HeapMemoryAfterGC          > 60  per broker  AVG, 3 x 5 min, 3/3         (sustained 15 min)
//   MaxOffsetLag               > group.maxOffsetLag          Maximum, 5 x 1 min, 5/5, per group and topic
//   EstimatedMaxTimeLag        > group.maxTimeLagSeconds     Maximum, 5 x 1 min, 5/5, per group and topic
// MSK's guidance is CpuUser + CpuSystem under 60%; a Metrics Insights query has one aggregate and
// no arithmetic, so the alarm reads CpuUser, the bulk of it (CpuSystem is typically a few percent).
// A watched group without a topic list is watched across all its topics with a Metrics Insights
// query (MAX over the group's "Consumer Group"/"Topic" series).
//
// Self-managed Kafka on EC2 has no AWS/Kafka metrics. The probe Lambda publishes its findings
// to the namespace KafkaHeal every minute (see PROBE_METRICS: the probe must publish exactly
// these names and dimensions), and host metrics come from the CloudWatch agent on each broker
// host, configured to add the dimensions "Cluster Name" and "Broker ID" to its disk and CPU
// metrics (docs/deploying.md), so one query per cluster reads every broker's hosts:
//   BrokerReachable            < 1   per broker  MIN, 2 x 1 min, 2/2         (brokers listed or found by tag)
//   OfflinePartitions          > 0   cluster     Maximum, 1 x 1 min
//   UnderMinIsrPartitions     >= 1   cluster     Maximum, 1 x 1 min
//   UnderReplicatedPartitions  > 0   cluster     Maximum, 15 x 1 min, 15/15
//   ConsumerLag                > group.maxOffsetLag   Maximum, 5 x 1 min, 5/5, per group
//   CWAgent disk_used_percent >= 85 / >= 90  per broker  MAX over the broker host's mounts, 3 x 1 min, 3/3
//   CWAgent cpu_usage_active  >= 60  per broker  AVG of cpu-total, 3 x 5 min, 3/3
//   QuorumHealthy              < 1   cluster     Maximum, 2 x 1 min, 2/2     (KRaft; ZooKeeper when ec2.zookeeper.connect lists the servers)
//   ActiveControllerCount      < 1   cluster     Maximum, 3 x 1 min, 3/3     (no active controller)
// The quorum alarm fires a minute before the controller alarm: in KRaft the two are one fault (the
// active controller is the quorum leader), and a controller-loss signal that arrives while the
// quorum-loss incident is open folds into it (functions/domain/correlate.ts), so one fault is one
// incident and one quorum-recovery. In ZooKeeper mode the controller alarm alone covers a
// controller election that does not finish while the ensemble is whole.
// Under-replication is watched cluster-wide (the probe's count over all partitions): its decision
// (SEV-3 notification) names no broker, and the brokers that report it are the leaders of the
// partitions a failed broker left, not the failed broker.
// Broker ids come from the metrics' "Broker ID" dimension, so brokers found by tag get the same
// per-broker alarms as listed ones: the probe reports every broker it was told of or has seen.
//
// A cluster paired for DR with a Route 53 record (dr.peer + dr.route53) also gets ClusterReachable
// < 1 (Maximum, 2 x 1 min, 2/2; missing is not breaching): no bootstrap server answered the probe
// for two minutes, the signal that makes the classifier start dr-failover (site-down).
//
// Every cluster, either platform, also gets the probe heartbeat alarm (probe runs reported < 1 for
// 3 of 3 minutes, missing data BREACHING): the probe confirms alarms and verifies repairs, so a
// silent probe is itself a monitoring outage. A probe run is counted by probeRunsMetric(): on EC2
// the sample count of OfflinePartitions, which every completed run publishes in the same document
// as ProbeHeartbeat (the offline-partitions alarm needs the series anyway, so the heartbeat costs
// no custom metric of its own, $0.30 a month); on MSK, whose alarms read AWS/Kafka, ProbeHeartbeat. Every other alarm treats missing data as not breaching: a metric that is
// absent (a consumer group that is not STABLE, a broker that is being replaced) is not a fault
// by itself, and the heartbeat catches a monitoring gap.
import { createHash } from 'node:crypto';
import { alarmMarker } from '#domain/normalize/index.js';
import { DEFAULT_THRESHOLDS } from '#domain/policy.js';
import type { SignalKind } from '#domain/types.js';
import type { ClusterConfig, ConsumerGroupConfig } from '../config/schema.js';
import { isHealerNamespace, metricsNamespace, seriesKey } from '#functions/probe/metrics.js';

export const MSK_NAMESPACE = 'AWS/Kafka';
/** The probe's own namespace; the probe publishes PROBE_METRICS here. */
export const CWAGENT_NAMESPACE = 'CWAgent';

export const DIMENSIONS = {
  cluster: 'Cluster Name',
  broker: 'Broker ID',
  group: 'Consumer Group',
  topic: 'Topic',
} as const;

/**
 * What the probe publishes to KafkaHeal each run, per configured cluster ("Cluster Name" = the
 * configured cluster name). Values: 1/0 flags and counts.
 */
export const PROBE_METRICS = {
  /** 1 on every completed probe run (any verdict). Dimensions: Cluster Name. */
  heartbeat: 'ProbeHeartbeat',
  /** 1 when a bootstrap server answered the probe, 0 when none did. Dimensions: Cluster Name. */
  clusterReachable: 'ClusterReachable',
  /** 1 when the broker is registered and answered, 0 otherwise. Dimensions: Cluster Name, Broker ID. */
  brokerReachable: 'BrokerReachable',
  /** Partitions without a leader. Dimensions: Cluster Name. */
  offlinePartitions: 'OfflinePartitions',
  /** Partitions whose ISR is below min.insync.replicas. Dimensions: Cluster Name. */
  underMinIsrPartitions: 'UnderMinIsrPartitions',
  /** Partitions whose ISR is smaller than the replica set. Dimensions: Cluster Name. */
  underReplicatedPartitions: 'UnderReplicatedPartitions',
  /** Brokers the probe knows (configured or seen) that are not registered or did not answer. Dimensions: Cluster Name. No alarm reads it (each broker's BrokerReachable is a contributor of broker-down), so it is not published in AWS. */
  unreachableBrokers: 'UnreachableBrokers',
  /** Largest partition offset lag of the group. Dimensions: Cluster Name, Consumer Group. */
  consumerLag: 'ConsumerLag',
  /** Listeners that refused the probe's SASL authentication, published only while some do. Dimensions: Cluster Name. */
  authFailures: 'ProbeAuthFailures',
  /** Listeners that refused the probe's TLS handshake, published only while some do. Dimensions: Cluster Name. */
  tlsFailures: 'ProbeTlsFailures',
  /** Days until the first broker certificate expires (the minimum over brokers). Dimensions: Cluster Name. */
  certificateDaysToExpiry: 'CertificateDaysToExpiry',
  /** 1 when the cluster has an active controller (ZooKeeper mode: per the metadata; KRaft: the quorum leader), 0 when not. Dimensions: Cluster Name. */
  activeControllerCount: 'ActiveControllerCount',
  /** 1 when the metadata quorum has one leader and a serving majority (KRaft: DescribeQuorum names a leader; ZooKeeper: the servers' srvr answers), 0 when not. Dimensions: Cluster Name. */
  quorumHealthy: 'QuorumHealthy',
  /** Quorum leaders seen (ZooKeeper: 0 = no quorum, > 1 = split brain). No alarm reads it. Dimensions: Cluster Name. */
  quorumLeaders: 'QuorumLeaders',
  /** ZooKeeper voters serving (leader, follower, standalone). No alarm reads it. Dimensions: Cluster Name. */
  quorumServersServing: 'QuorumServersServing',
  /** Voters of the quorum (configured ZooKeeper servers; KRaft voters). No alarm reads it. Dimensions: Cluster Name. */
  quorumSize: 'QuorumSize',
  /** KRaft: the furthest voter behind the leader's high watermark, in metadata records. No alarm reads it. Dimensions: Cluster Name. */
  quorumMaxVoterLag: 'QuorumMaxVoterLag',
  /** ZooKeeper servers that refused the four-letter word (4lw.commands.whitelist) or speak only TLS, published only while some do. Dimensions: Cluster Name. */
  zookeeperServersUnasked: 'ZooKeeperServersUnasked',
} as const;

export const DEFAULT_DISK_WARN_PERCENT = 85;
export const DEFAULT_DISK_CRITICAL_PERCENT = 90;
export const CPU_PERCENT = 60;
export const HEAP_AFTER_GC_PERCENT = 60;

/** CloudWatch's limit on alarm names. */
export const MAX_ALARM_NAME = 255;
const MAX_DESCRIPTION = 1024;

export type Comparison = 'GreaterThanThreshold' | 'GreaterThanOrEqualToThreshold' | 'LessThanThreshold';
export type Statistic = 'Maximum' | 'Minimum' | 'Average' | 'Sum' | 'SampleCount';

export interface MetricRef {
  namespace: string;
  metricName: string;
  dimensions: Record<string, string>;
  statistic: Statistic;
}

export type AlarmSource =
  | { type: 'metric'; metric: MetricRef }
  /**
   * A CloudWatch Metrics Insights query. Without `contributors` it returns one series; with it, it
   * is grouped by that dimension (GROUP BY) and the alarm evaluates each group's series on its own
   * (a multi-time-series alarm whose contributors are, e.g., the brokers).
   */
  | { type: 'insights'; query: string; label: string; contributors?: string };

/** The alarm kinds; the name part of `kafka-heal-<deployment>-<cluster>-<kind>...`. */
export type AlarmKind =
  | 'controller-missing'
  | 'offline-partitions'
  | 'under-min-isr'
  | 'under-replicated'
  | 'disk-warning'
  | 'disk-critical'
  | 'cpu-high'
  | 'heap-high'
  | 'consumer-lag'
  | 'consumer-time-lag'
  | 'broker-down'
  | 'probe-heartbeat'
  | 'quorum-lost'
  | 'site-down'
  | 'auth-failed'
  | 'tls-failed'
  | 'cert-expiry-warning'
  | 'cert-expiry-critical';

export interface AlarmSpec {
  alarmName: string;
  description: string;
  alarmKind: AlarmKind;
  /** The signal kind the marker carries (what normalize turns a state change into). */
  signalKind: SignalKind;
  consumerGroup?: string;
  topic?: string;
  source: AlarmSource;
  periodSeconds: number;
  evaluationPeriods: number;
  datapointsToAlarm: number;
  comparison: Comparison;
  threshold: number;
  treatMissingData: 'notBreaching' | 'breaching';
}

/**
 * Every alarm of a deployment starts with this; the EventBridge rule matches on it. The `.` ends the
 * deployment name, which can never contain one: deployment `prod` does not match `prod-eu`'s alarms.
 */
export function alarmNamePrefix(deployment: string): string {
  return `kafka-heal-${deployment}.`;
}

/**
 * `kafka-heal-<deployment>.<cluster>-<kind>[-<group>[-<topic>]]`, cut to CloudWatch's 255
 * characters with a short hash of the full name so long group/topic names stay unique.
 */
export function alarmName(
  deployment: string,
  cluster: string,
  kind: AlarmKind,
  opts: { group?: string; topic?: string } = {},
): string {
  let name = `${alarmNamePrefix(deployment)}${cluster}-${kind}`;
  if (opts.group !== undefined) name += `-${opts.group}`;
  if (opts.topic !== undefined) name += `-${opts.topic}`;
  if (name.length <= MAX_ALARM_NAME) return name;
  const hash = createHash('sha256').update(name).digest('hex').slice(0, 10);
  return `${name.slice(0, MAX_ALARM_NAME - hash.length - 1)}-${hash}`;
}

function describe(text: string, marker: string): string {
  const room = MAX_DESCRIPTION - marker.length - 1;
  const body = text.length > room ? `${text.slice(0, room - 1)}…` : text;
  return `${body} ${marker}`;
}

interface Window {
  periodSeconds: number;
  evaluationPeriods: number;
  datapointsToAlarm: number;
}
const ONE_MINUTE: Window = { periodSeconds: 60, evaluationPeriods: 1, datapointsToAlarm: 1 };
const TWO_MINUTES: Window = { periodSeconds: 60, evaluationPeriods: 2, datapointsToAlarm: 2 };
const THREE_MINUTES: Window = { periodSeconds: 60, evaluationPeriods: 3, datapointsToAlarm: 3 };
const FIVE_MINUTES: Window = { periodSeconds: 60, evaluationPeriods: 5, datapointsToAlarm: 5 };
const FIFTEEN_MINUTES: Window = { periodSeconds: 60, evaluationPeriods: 15, datapointsToAlarm: 15 };
const FIFTEEN_MINUTES_COARSE: Window = { periodSeconds: 300, evaluationPeriods: 3, datapointsToAlarm: 3 };

function windowText(w: Window): string {
  const minutes = (w.periodSeconds * w.evaluationPeriods) / 60;
  return `for ${minutes} minute${minutes === 1 ? '' : 's'}`;
}

const OPERATOR_TEXT: Record<Comparison, string> = {
  GreaterThanThreshold: '>',
  GreaterThanOrEqualToThreshold: '>=',
  LessThanThreshold: '<',
};

/** Builds the specs of one cluster; `add` fills the shared fields so each rule reads as a row. */
class SpecList {
  readonly specs: AlarmSpec[] = [];
  constructor(
    readonly deployment: string,
    private readonly cluster: ClusterConfig,
  ) {}

  /** The namespace this deployment's probe publishes to. */
  get ns(): string {
    return metricsNamespace(this.deployment);
  }

  add(row: {
    kind: AlarmKind;
    signalKind: SignalKind;
    what: string;
    source: AlarmSource;
    window: Window;
    comparison: Comparison;
    threshold: number;
    group?: string;
    topic?: string;
    breachOnMissing?: boolean;
  }): void {
    const marker = alarmMarker({
      deployment: this.deployment,
      cluster: this.cluster.name,
      kind: row.signalKind,
      ...(row.group === undefined ? {} : { consumerGroup: row.group }),
      threshold: row.threshold,
    });
    const perBroker = row.source.type === 'insights' && row.source.contributors === DIMENSIONS.broker;
    const subject = [
      `Kafka cluster ${this.cluster.name}`,
      perBroker ? ', each broker' : '',
      row.group === undefined ? '' : ` consumer group ${row.group}`,
      row.topic === undefined ? '' : ` topic ${row.topic}`,
    ].join('');
    const text = `${subject}: ${row.what} ${OPERATOR_TEXT[row.comparison]} ${row.threshold} ${windowText(row.window)}.`;
    this.specs.push({
      alarmName: alarmName(this.deployment, this.cluster.name, row.kind, { group: row.group, topic: row.topic }),
      description: describe(text, marker),
      alarmKind: row.kind,
      signalKind: row.signalKind,
      ...(row.group === undefined ? {} : { consumerGroup: row.group }),
      ...(row.topic === undefined ? {} : { topic: row.topic }),
      source: row.source,
      ...row.window,
      comparison: row.comparison,
      threshold: row.threshold,
      treatMissingData: row.breachOnMissing ? 'breaching' : 'notBreaching',
    });
  }
}

function metric(
  namespace: string,
  metricName: string,
  dimensions: Record<string, string>,
  statistic: Statistic,
): AlarmSource {
  return { type: 'metric', metric: { namespace, metricName, dimensions, statistic } };
}

/**
 * One alarm over every broker of a cluster: a Metrics Insights query grouped by "Broker ID", the
 * worst broker first (CloudWatch reads at most 500 series of a query; ordered this way, those are
 * the ones nearest to breaching). `from` is a SCHEMA(...) or a bare namespace, `where` equality
 * filters; names are validated to quote-free characters, so they need no escaping.
 */
export function perBrokerQuery(
  aggregate: 'MAX' | 'MIN' | 'AVG',
  metricName: string,
  from: string,
  where: Record<string, string>,
  comparison: Comparison,
): AlarmSource {
  const conditions = Object.entries(where)
    .map(([k, v]) => `${/^\w+$/.test(k) ? k : `"${k}"`} = '${v}'`)
    .join(' AND ');
  const order = comparison === 'LessThanThreshold' ? 'ASC' : 'DESC';
  return {
    type: 'insights',
    query: `SELECT ${aggregate}(${metricName}) FROM ${from} WHERE ${conditions} GROUP BY "${DIMENSIONS.broker}" ORDER BY ${aggregate}() ${order}`,
    label: `${metricName} per broker`,
    contributors: DIMENSIONS.broker,
  };
}

const schemaOf = (namespace: string, ...dims: string[]) =>
  `SCHEMA("${namespace}", ${dims.map((d) => `"${d}"`).join(', ')})`;

function diskThresholds(cluster: ClusterConfig): { warn: number; critical: number } {
  const t = cluster.policy.thresholds;
  return {
    warn: t?.diskWarnPercent ?? DEFAULT_DISK_WARN_PERCENT,
    critical: t?.diskCriticalPercent ?? DEFAULT_DISK_CRITICAL_PERCENT,
  };
}

/** One datapoint per completed probe run of the cluster (what the heartbeat alarm and the dashboard count). */
export function probeRunsMetric(deployment: string, cluster: ClusterConfig): MetricRef {
  const dimensions = { [DIMENSIONS.cluster]: cluster.name };
  const namespace = metricsNamespace(deployment);
  const metricName = probeRunsMetricName(cluster);
  return { namespace, metricName, dimensions, statistic: cluster.platform === 'ec2' ? 'SampleCount' : 'Sum' };
}

/** The probe series counted as its runs: an EC2 cluster's OfflinePartitions (one datapoint a run), an MSK cluster's heartbeat. */
export function probeRunsMetricName(cluster: ClusterConfig): string {
  return cluster.platform === 'ec2' ? PROBE_METRICS.offlinePartitions : PROBE_METRICS.heartbeat;
}

function addHeartbeat(list: SpecList, cluster: ClusterConfig): void {
  list.add({
    kind: 'probe-heartbeat',
    signalKind: 'monitoring-gap',
    what: 'probe runs reported (missing counts as none)',
    source: { type: 'metric', metric: probeRunsMetric(list.deployment, cluster) },
    window: THREE_MINUTES,
    comparison: 'LessThanThreshold',
    threshold: 1,
    breachOnMissing: true,
  });
}

function mskSpecs(list: SpecList, cluster: Extract<ClusterConfig, { platform: 'msk' }>): void {
  const mskName = cluster.msk.clusterName;
  const clusterDims = { [DIMENSIONS.cluster]: mskName };
  list.add({
    kind: 'controller-missing',
    signalKind: 'controller-missing',
    what: 'ActiveControllerCount',
    source: metric(MSK_NAMESPACE, 'ActiveControllerCount', clusterDims, 'Maximum'),
    window: FIVE_MINUTES,
    comparison: 'LessThanThreshold',
    threshold: 1,
  });
  list.add({
    kind: 'offline-partitions',
    signalKind: 'offline-partitions',
    what: 'OfflinePartitionsCount',
    source: metric(MSK_NAMESPACE, 'OfflinePartitionsCount', clusterDims, 'Maximum'),
    window: ONE_MINUTE,
    comparison: 'GreaterThanThreshold',
    threshold: 0,
  });
  // AWS/Kafka has no per-broker liveness metric (a stopped broker's series simply stop), so the
  // probe reports each broker 1..brokerCount (MSK's broker ids) reachable or not, as on EC2, and
  // a broker that stays down starts msk-broker-recovery from this alarm.
  list.add({
    kind: 'broker-down',
    signalKind: 'broker-down',
    what: 'BrokerReachable (probe)',
    source: perBrokerQuery(
      'MIN',
      PROBE_METRICS.brokerReachable,
      schemaOf(list.ns, DIMENSIONS.cluster, DIMENSIONS.broker),
      { [DIMENSIONS.cluster]: cluster.name },
      'LessThanThreshold',
    ),
    window: TWO_MINUTES,
    comparison: 'LessThanThreshold',
    threshold: 1,
  });
  const disk = diskThresholds(cluster);
  const brokers = schemaOf(MSK_NAMESPACE, DIMENSIONS.cluster, DIMENSIONS.broker);
  const where = { [DIMENSIONS.cluster]: mskName };
  list.add({
    kind: 'under-min-isr',
    signalKind: 'under-min-isr',
    what: 'UnderMinIsrPartitionCount',
    source: perBrokerQuery('MAX', 'UnderMinIsrPartitionCount', brokers, where, 'GreaterThanOrEqualToThreshold'),
    window: ONE_MINUTE,
    comparison: 'GreaterThanOrEqualToThreshold',
    threshold: 1,
  });
  list.add({
    kind: 'under-replicated',
    signalKind: 'under-replicated',
    what: 'UnderReplicatedPartitions',
    source: perBrokerQuery('MAX', 'UnderReplicatedPartitions', brokers, where, 'GreaterThanThreshold'),
    window: FIFTEEN_MINUTES,
    comparison: 'GreaterThanThreshold',
    threshold: 0,
  });
  for (const [kind, threshold] of [
    ['disk-warning', disk.warn],
    ['disk-critical', disk.critical],
  ] as const) {
    list.add({
      kind,
      signalKind: 'disk-usage',
      what: 'KafkaDataLogsDiskUsed (%)',
      source: perBrokerQuery('MAX', 'KafkaDataLogsDiskUsed', brokers, where, 'GreaterThanOrEqualToThreshold'),
      window: THREE_MINUTES,
      comparison: 'GreaterThanOrEqualToThreshold',
      threshold,
    });
  }
  list.add({
    kind: 'cpu-high',
    signalKind: 'cpu-high',
    what: 'CpuUser (%)',
    source: perBrokerQuery('AVG', 'CpuUser', brokers, where, 'GreaterThanOrEqualToThreshold'),
    window: FIFTEEN_MINUTES_COARSE,
    comparison: 'GreaterThanOrEqualToThreshold',
    threshold: CPU_PERCENT,
  });
  list.add({
    kind: 'heap-high',
    signalKind: 'heap-high',
    what: 'HeapMemoryAfterGC (%)',
    source: perBrokerQuery('AVG', 'HeapMemoryAfterGC', brokers, where, 'GreaterThanThreshold'),
    window: FIFTEEN_MINUTES_COARSE,
    comparison: 'GreaterThanThreshold',
    threshold: HEAP_AFTER_GC_PERCENT,
  });
  for (const group of cluster.consumerGroups) mskLagSpecs(list, mskName, group);
}

function mskLagSpecs(list: SpecList, mskName: string, group: ConsumerGroupConfig): void {
  const lagMetrics = [
    {
      kind: 'consumer-lag',
      signalKind: 'consumer-lag',
      metricName: 'MaxOffsetLag',
      threshold: group.maxOffsetLag,
      unit: 'messages',
    },
    {
      kind: 'consumer-time-lag',
      signalKind: 'consumer-time-lag',
      metricName: 'EstimatedMaxTimeLag',
      threshold: group.maxTimeLagSeconds,
      unit: 'seconds',
    },
  ] as const;
  for (const m of lagMetrics) {
    const common = {
      kind: m.kind,
      signalKind: m.signalKind,
      what: `${m.metricName} (${m.unit})`,
      window: FIVE_MINUTES,
      comparison: 'GreaterThanThreshold' as const,
      threshold: m.threshold,
      group: group.name,
    };
    if (group.topics) {
      for (const topic of group.topics) {
        list.add({
          ...common,
          topic,
          source: metric(
            MSK_NAMESPACE,
            m.metricName,
            { [DIMENSIONS.cluster]: mskName, [DIMENSIONS.group]: group.name, [DIMENSIONS.topic]: topic },
            'Maximum',
          ),
        });
      }
    } else {
      list.add({
        ...common,
        source: {
          type: 'insights',
          // Names are validated to [A-Za-z0-9._-], so they need no escaping inside the quotes.
          query: `SELECT MAX(${m.metricName}) FROM SCHEMA("${MSK_NAMESPACE}", "${DIMENSIONS.cluster}", "${DIMENSIONS.group}", "${DIMENSIONS.topic}") WHERE "${DIMENSIONS.cluster}" = '${mskName}' AND "${DIMENSIONS.group}" = '${group.name}'`,
          label: `${m.metricName}, ${group.name}, all topics`,
        },
      });
    }
  }
}

function ec2Specs(list: SpecList, cluster: Extract<ClusterConfig, { platform: 'ec2' }>): void {
  const clusterDims = { [DIMENSIONS.cluster]: cluster.name };
  list.add({
    kind: 'offline-partitions',
    signalKind: 'offline-partitions',
    what: 'OfflinePartitions (probe)',
    source: metric(list.ns, PROBE_METRICS.offlinePartitions, clusterDims, 'Maximum'),
    window: ONE_MINUTE,
    comparison: 'GreaterThanThreshold',
    threshold: 0,
  });
  list.add({
    kind: 'under-min-isr',
    signalKind: 'under-min-isr',
    what: 'UnderMinIsrPartitions (probe)',
    source: metric(list.ns, PROBE_METRICS.underMinIsrPartitions, clusterDims, 'Maximum'),
    window: ONE_MINUTE,
    comparison: 'GreaterThanOrEqualToThreshold',
    threshold: 1,
  });
  // Brokers listed or found by tag alike: the probe reports each broker it knows, and the agent on
  // each host names its cluster and broker (docs/deploying.md), so the broker is the series' own.
  list.add({
    kind: 'broker-down',
    signalKind: 'broker-down',
    what: 'BrokerReachable (probe)',
    source: perBrokerQuery(
      'MIN',
      PROBE_METRICS.brokerReachable,
      schemaOf(list.ns, DIMENSIONS.cluster, DIMENSIONS.broker),
      clusterDims,
      'LessThanThreshold',
    ),
    window: TWO_MINUTES,
    comparison: 'LessThanThreshold',
    threshold: 1,
  });
  const disk = diskThresholds(cluster);
  for (const [kind, threshold] of [
    ['disk-warning', disk.warn],
    ['disk-critical', disk.critical],
  ] as const) {
    list.add({
      kind,
      signalKind: 'disk-usage',
      what: 'disk_used_percent (CloudWatch agent, fullest mount of the broker host)',
      source: perBrokerQuery(
        'MAX',
        'disk_used_percent',
        CWAGENT_NAMESPACE,
        clusterDims,
        'GreaterThanOrEqualToThreshold',
      ),
      window: THREE_MINUTES,
      comparison: 'GreaterThanOrEqualToThreshold',
      threshold,
    });
  }
  list.add({
    kind: 'cpu-high',
    signalKind: 'cpu-high',
    what: 'cpu_usage_active (CloudWatch agent, all CPUs of the broker host, %)',
    source: perBrokerQuery(
      'AVG',
      'cpu_usage_active',
      CWAGENT_NAMESPACE,
      { ...clusterDims, cpu: 'cpu-total' },
      'GreaterThanOrEqualToThreshold',
    ),
    window: FIFTEEN_MINUTES_COARSE,
    comparison: 'GreaterThanOrEqualToThreshold',
    threshold: CPU_PERCENT,
  });
  list.add({
    kind: 'under-replicated',
    signalKind: 'under-replicated',
    what: 'UnderReplicatedPartitions (probe)',
    source: metric(list.ns, PROBE_METRICS.underReplicatedPartitions, clusterDims, 'Maximum'),
    window: FIFTEEN_MINUTES,
    comparison: 'GreaterThanThreshold',
    threshold: 0,
  });
  addQuorum(list, cluster);
  for (const group of cluster.consumerGroups) {
    list.add({
      kind: 'consumer-lag',
      signalKind: 'consumer-lag',
      what: 'ConsumerLag (messages, probe)',
      source: metric(
        list.ns,
        PROBE_METRICS.consumerLag,
        { [DIMENSIONS.cluster]: cluster.name, [DIMENSIONS.group]: group.name },
        'Maximum',
      ),
      window: FIVE_MINUTES,
      comparison: 'GreaterThanThreshold',
      threshold: group.maxOffsetLag,
      group: group.name,
    });
  }
}

/**
 * The metadata quorum and the controller, from the probe: QuorumHealthy needs something that can
 * see the quorum (KRaft's DescribeQuorum always; ZooKeeper's servers only when their client
 * addresses are configured, ec2.zookeeper.connect). Missing data is not breaching: the probe
 * publishes neither while it cannot tell (no broker answered, the quorum could not be asked).
 */
function addQuorum(list: SpecList, cluster: Extract<ClusterConfig, { platform: 'ec2' }>): void {
  const dims = { [DIMENSIONS.cluster]: cluster.name };
  const kraft = cluster.ec2.metadataMode === 'kraft';
  if (kraft || cluster.ec2.zookeeper?.connect !== undefined) {
    list.add({
      kind: 'quorum-lost',
      signalKind: 'quorum-loss',
      what: kraft
        ? 'QuorumHealthy (probe: DescribeQuorum names a KRaft leader)'
        : 'QuorumHealthy (probe: one ZooKeeper leader and a serving majority, from srvr)',
      source: metric(list.ns, PROBE_METRICS.quorumHealthy, dims, 'Maximum'),
      window: TWO_MINUTES,
      comparison: 'LessThanThreshold',
      threshold: 1,
    });
  }
  list.add({
    kind: 'controller-missing',
    signalKind: 'controller-missing',
    what: kraft
      ? 'ActiveControllerCount (probe: the KRaft quorum leader)'
      : 'ActiveControllerCount (probe: the controller in the cluster metadata)',
    source: metric(list.ns, PROBE_METRICS.activeControllerCount, dims, 'Maximum'),
    window: THREE_MINUTES,
    comparison: 'LessThanThreshold',
    threshold: 1,
  });
}

function addSiteDown(list: SpecList, cluster: ClusterConfig): void {
  // Only a cluster with somewhere to fail over to: for the others, the per-broker alarms already
  // escalate a cluster that is down as a whole (blast radius).
  if (!cluster.dr?.route53) return;
  list.add({
    kind: 'site-down',
    signalKind: 'site-down',
    what: 'ClusterReachable (a bootstrap server answered the probe)',
    source: metric(list.ns, PROBE_METRICS.clusterReachable, { [DIMENSIONS.cluster]: cluster.name }, 'Maximum'),
    window: TWO_MINUTES,
    comparison: 'LessThanThreshold',
    threshold: 1,
  });
}

/**
 * A secured listener (clusters[].security): the probe refused (SASL, TLS) for 2 of 2 minutes, so
 * a credential rotation that one probe catches half-done does not page; and the broker certificate
 * closest to expiry, against policy.thresholds.certExpiry*Days. One series and alarm each per
 * cluster whatever its broker count (the probe publishes the minimum over brokers); the refusal
 * series exist only while the probe is refused, missing is not breaching.
 */
function addSecurity(list: SpecList, cluster: ClusterConfig): void {
  const s = cluster.security;
  const dims = { [DIMENSIONS.cluster]: cluster.name };
  if (s.protocol.startsWith('SASL_')) {
    list.add({
      kind: 'auth-failed',
      signalKind: 'auth-failed',
      what: "ProbeAuthFailures (listeners refusing the probe's SASL authentication)",
      source: metric(list.ns, PROBE_METRICS.authFailures, dims, 'Maximum'),
      window: TWO_MINUTES,
      comparison: 'GreaterThanOrEqualToThreshold',
      threshold: 1,
    });
  }
  if (s.protocol !== 'SSL' && s.protocol !== 'SASL_SSL') return;
  list.add({
    kind: 'tls-failed',
    signalKind: 'tls-failed',
    what: "ProbeTlsFailures (listeners refusing the probe's TLS handshake)",
    source: metric(list.ns, PROBE_METRICS.tlsFailures, dims, 'Maximum'),
    window: TWO_MINUTES,
    comparison: 'GreaterThanOrEqualToThreshold',
    threshold: 1,
  });
  // AWS renews MSK's broker certificates: their expiry is watched only on request.
  if (!(s.tls?.certificateExpiryAlarms ?? cluster.platform === 'ec2')) return;
  const t = cluster.policy.thresholds;
  for (const [kind, threshold] of [
    ['cert-expiry-warning', t?.certExpiryWarnDays ?? DEFAULT_THRESHOLDS.certExpiryWarnDays],
    ['cert-expiry-critical', t?.certExpiryCriticalDays ?? DEFAULT_THRESHOLDS.certExpiryCriticalDays],
  ] as const) {
    list.add({
      kind,
      signalKind: 'certificate-expiry',
      what: 'CertificateDaysToExpiry (days, the broker certificate closest to expiry)',
      source: metric(list.ns, PROBE_METRICS.certificateDaysToExpiry, dims, 'Minimum'),
      window: ONE_MINUTE,
      comparison: 'LessThanThreshold',
      threshold,
    });
  }
}

/** Every alarm for one cluster, in a stable order. */
export function clusterAlarmSpecs(deployment: string, cluster: ClusterConfig): AlarmSpec[] {
  const list = new SpecList(deployment, cluster);
  if (cluster.platform === 'msk') mskSpecs(list, cluster);
  else ec2Specs(list, cluster);
  addHeartbeat(list, cluster);
  addSiteDown(list, cluster);
  addSecurity(list, cluster);
  const seen = new Set<string>();
  for (const s of list.specs) {
    if (seen.has(s.alarmName)) {
      throw new Error(
        `two alarms of cluster ${cluster.name} would share the name ${s.alarmName}; rename a consumer group or topic`,
      );
    }
    seen.add(s.alarmName);
  }
  return list.specs;
}

/** `SELECT MIN(BrokerReachable) FROM SCHEMA("KafkaHeal/prod", "Cluster Name", "Broker ID") ...`: the namespace and series a query reads. */
const PROBE_QUERY = /SELECT \w+\((\w+)\) FROM SCHEMA\("([^"]+)"((?:, "[^"]+")*)\)/;

/**
 * The probe series kinds (functions/probe/metrics.ts seriesKey) these alarms read: what the probe
 * must publish for them. A metric the probe publishes and no alarm reads is a custom metric billed
 * for nothing ($0.30 a month each).
 */
export function probeSeriesOfAlarms(specs: AlarmSpec[]): string[] {
  const keys = new Set<string>();
  const addRef = (m: MetricRef) => {
    if (isHealerNamespace(m.namespace)) keys.add(seriesKey(m.metricName, Object.keys(m.dimensions)));
  };
  for (const { source } of specs) {
    if (source.type === 'metric') addRef(source.metric);
    else {
      const m = PROBE_QUERY.exec(source.query);
      if (m && isHealerNamespace(m[2]))
        keys.add(
          seriesKey(
            m[1] as string,
            [...(m[3] ?? '').matchAll(/"([^"]+)"/g)].map((d) => d[1] as string),
          ),
        );
    }
  }
  return [...keys].sort();
}
