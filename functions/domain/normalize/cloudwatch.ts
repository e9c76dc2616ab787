// CloudWatch alarm state changes delivered by EventBridge ("CloudWatch Alarm State Change"):
// single-metric, metric-math, anomaly-detection, Metrics Insights and composite alarms. The
// description marker (see marker.ts) wins; otherwise the AWS/Kafka (or KafkaHeal probe) metric
// name and the "Cluster Name" / "Broker ID" / "Consumer Group" / "Topic" dimensions say what and
// where. "CloudWatch Alarm Configuration Change" events (alarm created, updated, deleted) and
// INSUFFICIENT_DATA transitions are ignored, not errors.
//
// A Metrics Insights alarm grouped by a dimension (GROUP BY, a multi-time-series alarm: the
// healer's per-broker alarms, infra/constructs/alarm-specs.ts) evaluates each series on its own.
// Each one (a contributor) that goes into or out of ALARM sends a "CloudWatch Alarm Contributor
// State Change" event whose attributes are its dimensions: that event is the signal, with the
// broker from "Broker ID" and the value from the state reason (contributor events carry no reason
// data). The alarm-level state change of such an alarm only counts its contributors and is
// ignored, so one broker's fault is one signal.
//
// With the context's deployment set, a marker that names another deployment, or none, is a
// ForeignAlarmError: that alarm is not this stack's and never acted on.
import { ForeignAlarmError, MalformedEventError, UnknownSourceError } from '../errors.js';
import { NAMESPACE, isHealerNamespace } from '../metrics-namespace.js';
import { SIGNAL_KINDS, type Signal, type SignalKind, type SignalState } from '../types.js';
import {
  LIMITS,
  brokerId,
  clip,
  describe,
  isObject,
  isoTime,
  labelMap,
  lookup,
  makeSignal,
  numeric,
  optionalObject,
  optionalString,
  parseJsonDocument,
  requireArray,
  requireObject,
  requireString,
  resolveCluster,
  type NormalizeContext,
  type Obj,
} from './common.js';
import { parseMarker } from './marker.js';

export const STATE_CHANGE = 'CloudWatch Alarm State Change';
export const CONTRIBUTOR_STATE_CHANGE = 'CloudWatch Alarm Contributor State Change';
export const CONFIGURATION_CHANGE = 'CloudWatch Alarm Configuration Change';

export type CloudWatchResult = { outcome: 'signals'; signals: Signal[] } | { outcome: 'ignored'; reason: string };

/** Metric name -> signal kind, for the MSK namespace and the probe's own namespace. */
export const METRIC_KINDS: Record<string, Record<string, SignalKind>> = {
  'AWS/Kafka': {
    ActiveControllerCount: 'controller-missing',
    OfflinePartitionsCount: 'offline-partitions',
    UnderMinIsrPartitionCount: 'under-min-isr',
    UnderReplicatedPartitions: 'under-replicated',
    KafkaDataLogsDiskUsed: 'disk-usage',
    CpuUser: 'cpu-high',
    CpuSystem: 'cpu-high',
    HeapMemoryAfterGC: 'heap-high',
    MaxOffsetLag: 'consumer-lag',
    SumOffsetLag: 'consumer-lag',
    EstimatedMaxTimeLag: 'consumer-time-lag',
  },
  [NAMESPACE]: {
    BrokerReachable: 'broker-down',
    ProbeHeartbeat: 'monitoring-gap',
    OfflinePartitions: 'offline-partitions',
    UnderReplicatedPartitions: 'under-replicated',
    UnderMinIsrPartitions: 'under-min-isr',
    ConsumerLag: 'consumer-lag',
    ProbeAuthFailures: 'auth-failed',
    ProbeTlsFailures: 'tls-failed',
    CertificateDaysToExpiry: 'certificate-expiry',
    ActiveControllerCount: 'controller-missing',
    QuorumHealthy: 'quorum-loss',
  },
};

/** Throughput metrics whose anomaly-detection alarms mean a traffic spike. */
const TRAFFIC_METRICS = new Set(['BytesInPerSec', 'BytesOutPerSec', 'MessagesInPerSec']);

const DIM_CLUSTER = 'Cluster Name';
const DIM_BROKER = 'Broker ID';
const DIM_GROUP = 'Consumer Group';
const DIM_TOPIC = 'Topic';

interface MetricRef {
  namespace: string;
  name: string;
  dimensions: Record<string, string>;
}

export function normalizeCloudWatch(raw: Obj, ctx: NormalizeContext): CloudWatchResult {
  const where = 'cloudwatch event';
  const detailType = raw['detail-type'];
  if (detailType === CONFIGURATION_CHANGE) {
    const name =
      isObject(raw.detail) && typeof raw.detail.alarmName === 'string'
        ? clip(raw.detail.alarmName, LIMITS.name)
        : 'an alarm';
    return {
      outcome: 'ignored',
      reason: `${CONFIGURATION_CHANGE} for ${name}: alarm configuration changes are not fault signals`,
    };
  }
  if (detailType !== STATE_CHANGE && detailType !== CONTRIBUTOR_STATE_CHANGE) {
    throw new UnknownSourceError(
      `${where}: detail-type ${describe(typeof detailType === 'string' ? clip(detailType, 80) : detailType)} is not supported (expected "${STATE_CHANGE}" or "${CONTRIBUTOR_STATE_CHANGE}")`,
    );
  }
  const detail = requireObject(raw.detail, 'detail', where);
  const alarmName = requireString(detail.alarmName, 'detail.alarmName', where);
  const contributor =
    detailType === CONTRIBUTOR_STATE_CHANGE ? readContributor(detail.alarmContributor, where) : undefined;
  const state = requireObject(detail.state, 'detail.state', where);
  const stateValue = requireString(state.value, 'detail.state.value', where);
  let signalState: SignalState;
  if (stateValue === 'ALARM') signalState = 'firing';
  else if (stateValue === 'OK') signalState = 'resolved';
  else if (stateValue === 'INSUFFICIENT_DATA') {
    return {
      outcome: 'ignored',
      reason: `alarm ${alarmName} went to INSUFFICIENT_DATA: missing data alone is not a fault (the probe heartbeat alarm reports monitoring gaps)`,
    };
  } else
    throw new MalformedEventError(
      `${where}: detail.state.value must be ALARM, OK or INSUFFICIENT_DATA, got ${describe(stateValue)}`,
    );

  const config = optionalObject(detail.configuration, 'detail.configuration', where) ?? {};
  const description = optionalString(config.description, 'detail.configuration.description', where, 4096);
  const metricsRaw =
    config.metrics === undefined ? [] : requireArray(config.metrics, 'detail.configuration.metrics', where, 100);
  const metrics: MetricRef[] = [];
  let anomaly = false;
  let mathExpression = false;
  let insights = false;
  let grouped = false;
  metricsRaw.forEach((m, i) => {
    const f = `detail.configuration.metrics[${i}]`;
    const entry = requireObject(m, f, where);
    if (entry.expression !== undefined) {
      const expr = requireString(entry.expression, `${f}.expression`, where, 2048);
      if (/ANOMALY_DETECTION_BAND\s*\(/i.test(expr)) anomaly = true;
      else if (/^\s*SELECT\s/i.test(expr)) {
        insights = true;
        if (/\sGROUP\s+BY\s/i.test(expr)) grouped = true;
      } else mathExpression = true;
    }
    if (entry.metricStat === undefined) return;
    const stat = requireObject(entry.metricStat, `${f}.metricStat`, where);
    const metric = requireObject(stat.metric, `${f}.metricStat.metric`, where);
    metrics.push({
      namespace: requireString(metric.namespace, `${f}.metricStat.metric.namespace`, where),
      name: requireString(metric.name, `${f}.metricStat.metric.name`, where),
      dimensions: labelMap(metric.dimensions, `${f}.metricStat.metric.dimensions`, where),
    });
  });
  if (config.thresholdMetricId !== undefined) anomaly = true;
  const composite = config.alarmRule !== undefined;
  const alarmType = composite
    ? 'composite'
    : anomaly
      ? 'anomaly-detection'
      : insights
        ? 'metrics-insights'
        : mathExpression
          ? 'metric-math'
          : 'single-metric';

  if (grouped && contributor === undefined) {
    return {
      outcome: 'ignored',
      reason: `alarm ${alarmName} evaluates each series of its grouped query on its own: its contributors' state changes name the brokers; this alarm-level change (${stateValue}) only counts them`,
    };
  }
  const marker = parseMarker(description, where);
  if (ctx.deployment !== undefined && marker !== undefined && marker.deployment !== ctx.deployment) {
    const whose =
      marker.deployment === undefined ? 'names no deployment' : `names deployment ${JSON.stringify(marker.deployment)}`;
    throw new ForeignAlarmError(
      `${where}: alarm ${alarmName}: its marker ${whose}, not ${ctx.deployment}: another deployment's alarm is never acted on`,
    );
  }
  const attr = (key: string) =>
    contributor === undefined
      ? []
      : [contributor.attributes[key]].filter((v): v is string => v !== undefined && v !== '');
  const dims = (key: string) => [
    ...attr(key),
    ...metrics.map((m) => m.dimensions[key]).filter((v): v is string => v !== undefined && v !== ''),
  ];

  let kind: SignalKind = marker?.kind ?? 'unknown';
  if (!marker) {
    for (const m of metrics) {
      // Each deployment publishes to KafkaHeal/<deployment> (metrics-namespace.ts): one table for all.
      const inNamespace = lookup(METRIC_KINDS, isHealerNamespace(m.namespace) ? NAMESPACE : m.namespace);
      const k =
        (inNamespace && lookup(inNamespace, m.name)) ??
        (anomaly && m.namespace === 'AWS/Kafka' && TRAFFIC_METRICS.has(m.name) ? 'traffic-spike' : undefined);
      if (k) {
        kind = k;
        break;
      }
    }
  }
  if (kind === 'unknown' && !marker) kind = kindFromName(alarmName);
  const clusterSeen = marker?.cluster ?? dims(DIM_CLUSTER)[0] ?? clusterFromName(alarmName, ctx) ?? '';
  const brokerIds =
    marker?.brokerId !== undefined
      ? [marker.brokerId]
      : dims(DIM_BROKER).map((b, i) => brokerId(b, `metrics dimension "${DIM_BROKER}" #${i}`, where));
  const consumerGroup = marker?.consumerGroup ?? dims(DIM_GROUP)[0];
  const topic = dims(DIM_TOPIC)[0];

  const reading = contributor
    ? readContributorReason(state.reason, marker?.threshold)
    : readReasonData(state.reasonData);
  const observedAt = isoTime(state.timestamp) ?? isoTime(raw.time) ?? ctx.receivedAt;
  const resources = Array.isArray(raw.resources) ? raw.resources : [];
  const arn = typeof resources[0] === 'string' ? clip(resources[0], 2048) : undefined;

  const labels: Record<string, string> = { alarmType };
  if (contributor) labels.contributor = contributor.id;
  if (metrics[0]) {
    labels.namespace = clip(metrics[0].namespace, LIMITS.labelValue);
    labels.metric = clip(metrics.map((m) => m.name).join(','), LIMITS.labelValue);
  }
  if (composite) labels.alarmRule = clip(String(config.alarmRule), LIMITS.labelValue);
  if (typeof raw.region === 'string') labels.region = clip(raw.region, 64);
  if (typeof raw.account === 'string') labels.account = clip(raw.account, 64);

  return {
    outcome: 'signals',
    signals: [
      makeSignal({
        source: 'cloudwatch',
        cluster: clusterSeen === '' ? '' : resolveCluster(clusterSeen, ctx.clusters),
        kind,
        brokerIds,
        state: signalState,
        value: reading.value,
        threshold: reading.threshold,
        consumerGroup: consumerGroup === undefined ? undefined : clip(consumerGroup, LIMITS.labelValue),
        topic: topic === undefined ? undefined : clip(topic, LIMITS.labelValue),
        observedAt,
        name: alarmName,
        // One broker of a per-broker alarm is its own fault: its own fingerprint, so its OK resolves it alone.
        fingerprint: `${arn ?? `alarm:${alarmName}`}${contributor ? `#${contributor.id}` : ''}`,
        labels,
        summary: optionalString(state.reason, 'detail.state.reason', where, LIMITS.summary),
      }),
    ],
  };
}

interface Contributor {
  id: string;
  /** The series' dimensions, e.g. { "Broker ID": "2" }. */
  attributes: Record<string, string>;
}

function readContributor(v: unknown, where: string): Contributor {
  const c = requireObject(v, 'detail.alarmContributor', where);
  return {
    id: requireString(c.id, 'detail.alarmContributor.id', where, LIMITS.labelValue),
    attributes: labelMap(c.attributes, 'detail.alarmContributor.attributes', where),
  };
}

/**
 * A contributor's state reason, e.g. "Threshold Crossed: 1 datapoint was less than the threshold
 * (1.0). The most recent datapoint which crossed the threshold: [0.0 (01/12/25 13:34:00)]." The
 * value is that datapoint; the threshold is the reason's, else the marker's. An unreadable reason
 * is not fatal: the contributor's state itself is the signal.
 */
function readContributorReason(
  reason: unknown,
  markerThreshold: number | undefined,
): { value?: number; threshold?: number } {
  const text = typeof reason === 'string' ? reason.slice(0, 2048) : '';
  const value = numeric(/crossed the threshold:\s*\[\s*([-+0-9.eE]+)/.exec(text)?.[1]);
  const threshold = numeric(/the threshold \(([-+0-9.eE]+)\)/.exec(text)?.[1]) ?? markerThreshold;
  return { ...(value === undefined ? {} : { value }), ...(threshold === undefined ? {} : { threshold }) };
}

/**
 * Composite alarms have no metrics: without a marker, the alarm name is the only hint. A kind
 * (e.g. "...-broker-down", numeric parts skipped) or a configured cluster name or alias appearing as a dash-delimited
 * part of the name is taken; the longest match wins.
 */
function kindFromName(name: string): SignalKind {
  // Numeric parts (broker ids) are skipped, so "...-broker-3-down" reads as broker-down.
  const lower = name
    .toLowerCase()
    .split('-')
    .filter((part) => !/^\d+$/.test(part))
    .join('-');
  const hits = SIGNAL_KINDS.filter((k) => k !== 'unknown' && dashToken(lower, k));
  return hits.sort((a, b) => b.length - a.length)[0] ?? 'unknown';
}

function clusterFromName(name: string, ctx: NormalizeContext): string | undefined {
  const names = ctx.clusters.flatMap((c) => [c.name, ...c.aliases]).filter((n) => n !== '' && dashToken(name, n));
  return names.sort((a, b) => b.length - a.length)[0];
}

/** `needle` as whole dash-delimited parts of `haystack` (the `.` after the deployment of this project's alarm names delimits too). */
function dashToken(haystack: string, needle: string): boolean {
  return `-${haystack.replaceAll('.', '-')}-`.includes(`-${needle}-`);
}

/**
 * state.reasonData is a JSON string: metric alarms carry recentDatapoints and threshold,
 * anomaly alarms recentUpperThresholds, composites triggeringAlarms. Unreadable reasonData
 * is not fatal: the alarm state itself is the signal.
 */
function readReasonData(v: unknown): { value?: number; threshold?: number } {
  if (typeof v !== 'string' || v.length > 65_536) return {};
  let data: unknown;
  try {
    data = parseJsonDocument(v, 'reasonData');
  } catch {
    return {};
  }
  if (!isObject(data)) return {};
  const last = (x: unknown) => (Array.isArray(x) && x.length > 0 ? numeric(x[x.length - 1]) : undefined);
  return { value: last(data.recentDatapoints), threshold: numeric(data.threshold) ?? last(data.recentUpperThresholds) };
}
