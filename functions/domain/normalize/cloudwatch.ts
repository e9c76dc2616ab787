// CloudWatch alarm state changes delivered by EventBridge ("CloudWatch Alarm State Change"):
// single-metric, metric-math, anomaly-detection and composite alarms. The description marker
// (see marker.ts) wins; otherwise the AWS/Kafka (or KafkaHeal probe) metric name and the
// "Cluster Name" / "Broker ID" / "Consumer Group" / "Topic" dimensions say what and where.
// "CloudWatch Alarm Configuration Change" events (alarm created, updated, deleted) and
// INSUFFICIENT_DATA transitions are ignored, not errors.
import { MalformedEventError, UnknownSourceError } from '../errors.js';
import { SIGNAL_KINDS, type Signal, type SignalKind, type SignalState } from '../types.js';
import {
  LIMITS,
  brokerId,
  clip,
  isObject,
  isoTime,
  labelMap,
  lookup,
  makeSignal,
  numeric,
  optionalObject,
  optionalString,
  requireArray,
  requireObject,
  requireString,
  resolveCluster,
  type NormalizeContext,
  type Obj,
} from './common.js';
import { parseMarker } from './marker.js';

export const STATE_CHANGE = 'CloudWatch Alarm State Change';
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
  KafkaHeal: {
    BrokerReachable: 'broker-down',
    ProbeHeartbeat: 'monitoring-gap',
    OfflinePartitions: 'offline-partitions',
    UnderReplicatedPartitions: 'under-replicated',
    UnderMinIsrPartitions: 'under-min-isr',
    ConsumerLag: 'consumer-lag',
    ProbeAuthFailures: 'auth-failed',
    ProbeTlsFailures: 'tls-failed',
    CertificateDaysToExpiry: 'certificate-expiry',
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
    const name = isObject(raw.detail) && typeof raw.detail.alarmName === 'string' ? clip(raw.detail.alarmName, LIMITS.name) : 'an alarm';
    return { outcome: 'ignored', reason: `${CONFIGURATION_CHANGE} for ${name}: alarm configuration changes are not fault signals` };
  }
  if (detailType !== STATE_CHANGE) {
    throw new UnknownSourceError(`${where}: detail-type ${JSON.stringify(clip(String(detailType), 80))} is not supported (expected "${STATE_CHANGE}")`);
  }
  const detail = requireObject(raw.detail, 'detail', where);
  const alarmName = requireString(detail.alarmName, 'detail.alarmName', where);
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
  } else throw new MalformedEventError(`${where}: detail.state.value must be ALARM, OK or INSUFFICIENT_DATA, got ${JSON.stringify(stateValue)}`);

  const config = optionalObject(detail.configuration, 'detail.configuration', where) ?? {};
  const description = optionalString(config.description, 'detail.configuration.description', where, 4096);
  const metricsRaw = config.metrics === undefined ? [] : requireArray(config.metrics, 'detail.configuration.metrics', where, 100);
  const metrics: MetricRef[] = [];
  let anomaly = false;
  let mathExpression = false;
  let insights = false;
  metricsRaw.forEach((m, i) => {
    const f = `detail.configuration.metrics[${i}]`;
    const entry = requireObject(m, f, where);
    if (entry.expression !== undefined) {
      const expr = requireString(entry.expression, `${f}.expression`, where, 2048);
      if (/ANOMALY_DETECTION_BAND\s*\(/i.test(expr)) anomaly = true;
      else if (/^\s*SELECT\s/i.test(expr)) insights = true;
      else mathExpression = true;
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
  const alarmType = composite ? 'composite' : anomaly ? 'anomaly-detection' : insights ? 'metrics-insights' : mathExpression ? 'metric-math' : 'single-metric';

  const marker = parseMarker(description, where);
  const dims = (key: string) => metrics.map((m) => m.dimensions[key]).filter((v): v is string => v !== undefined && v !== '');

  let kind: SignalKind = marker?.kind ?? 'unknown';
  if (!marker) {
    for (const m of metrics) {
      const inNamespace = lookup(METRIC_KINDS, m.namespace);
      const k = (inNamespace && lookup(inNamespace, m.name)) ?? (anomaly && m.namespace === 'AWS/Kafka' && TRAFFIC_METRICS.has(m.name) ? 'traffic-spike' : undefined);
      if (k) {
        kind = k;
        break;
      }
    }
  }
  if (kind === 'unknown' && !marker) kind = kindFromName(alarmName);
  const clusterSeen = marker?.cluster ?? dims(DIM_CLUSTER)[0] ?? clusterFromName(alarmName, ctx) ?? '';
  const brokerIds =
    marker?.brokerId !== undefined ? [marker.brokerId] : dims(DIM_BROKER).map((b, i) => brokerId(b, `metrics dimension "${DIM_BROKER}" #${i}`, where));
  const consumerGroup = marker?.consumerGroup ?? dims(DIM_GROUP)[0];
  const topic = dims(DIM_TOPIC)[0];

  const reading = readReasonData(state.reasonData);
  const observedAt = isoTime(state.timestamp) ?? isoTime(raw.time) ?? ctx.receivedAt;
  const resources = Array.isArray(raw.resources) ? raw.resources : [];
  const arn = typeof resources[0] === 'string' ? clip(resources[0], 2048) : undefined;

  const labels: Record<string, string> = { alarmType };
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
        fingerprint: arn ?? `alarm:${alarmName}`,
        labels,
        summary: optionalString(state.reason, 'detail.state.reason', where, LIMITS.summary),
      }),
    ],
  };
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

function dashToken(haystack: string, needle: string): boolean {
  return `-${haystack}-`.includes(`-${needle}-`);
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
    data = JSON.parse(v);
  } catch {
    return {};
  }
  if (!isObject(data)) return {};
  const last = (x: unknown) => (Array.isArray(x) && x.length > 0 ? numeric(x[x.length - 1]) : undefined);
  return { value: last(data.recentDatapoints), threshold: numeric(data.threshold) ?? last(data.recentUpperThresholds) };
}
