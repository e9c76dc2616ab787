// Alertmanager webhook payloads (version "4"): one Signal per alert in the group, firing and
// resolved alike. Amazon Managed Prometheus sends the same payload as an SNS message body
// (amp-sns.ts unwraps it and calls this with source 'amp').
import { MalformedEventError } from '../errors.js';
import type { Signal, SignalKind, SignalSource, SignalState } from '../types.js';
import {
  LIMITS,
  brokerId,
  isoTime,
  labelMap,
  lookup,
  makeSignal,
  numeric,
  optionalString,
  requireArray,
  requireObject,
  resolveCluster,
  sha256,
  signalKind,
  type NormalizeContext,
  type Obj,
} from './common.js';

/** Alert names (case-insensitive) that mean a known kind; the label kafka_heal_kind wins. */
export const ALERT_KINDS: Record<string, SignalKind> = Object.fromEntries(
  Object.entries({
    KafkaBrokerDown: 'broker-down',
    KafkaBrokerUnreachable: 'broker-down',
    KafkaBrokerOffline: 'broker-down',
    KafkaNoActiveController: 'controller-missing',
    KafkaActiveControllerMissing: 'controller-missing',
    ZookeeperQuorumLost: 'quorum-loss',
    KafkaKraftQuorumLost: 'quorum-loss',
    KafkaSplitBrain: 'quorum-loss',
    KafkaOfflinePartitions: 'offline-partitions',
    KafkaUnderMinIsr: 'under-min-isr',
    KafkaUnderMinIsrPartitions: 'under-min-isr',
    KafkaUnderReplicatedPartitions: 'under-replicated',
    KafkaDiskUsage: 'disk-usage',
    KafkaDiskUsageHigh: 'disk-usage',
    KafkaCpuHigh: 'cpu-high',
    KafkaHeapHigh: 'heap-high',
    KafkaConsumerLag: 'consumer-lag',
    KafkaConsumerGroupLag: 'consumer-lag',
    KafkaConsumerTimeLag: 'consumer-time-lag',
    KafkaErrorRate: 'error-rate',
    KafkaProducerErrorRate: 'error-rate',
    KafkaDlqGrowth: 'dlq-growth',
    KafkaTrafficSpike: 'traffic-spike',
    KafkaClusterUnreachable: 'site-down',
    KafkaSiteDown: 'site-down',
    KafkaMirrorMakerLag: 'replication-lag',
    KafkaReplicationLag: 'replication-lag',
    KafkaHealProbeMissing: 'monitoring-gap',
    KafkaExporterDown: 'monitoring-gap',
    KafkaAuthenticationFailures: 'security-event',
    KafkaSecurityEvent: 'security-event',
  } satisfies Record<string, SignalKind>).map(([k, v]) => [k.toLowerCase(), v]),
);

const CLUSTER_LABELS = ['cluster', 'kafka_cluster'];
const BROKER_LABELS = ['broker', 'broker_id'];
const GROUP_LABELS = ['consumergroup', 'consumer_group', 'group'];

export function normalizeAlertmanager(raw: Obj, ctx: NormalizeContext, source: SignalSource = 'alertmanager', where = 'alertmanager payload'): Signal[] {
  if (raw.version !== undefined && raw.version !== '4') {
    throw new MalformedEventError(`${where}: version must be "4", got ${JSON.stringify(raw.version)}`);
  }
  const groupKey = optionalString(raw.groupKey, 'groupKey', where, LIMITS.labelValue);
  const alerts = requireArray(raw.alerts, 'alerts', where);
  // Alertmanager cut alerts from the group (max_alerts): say so on every signal instead of
  // losing them silently; the next notification of the group carries them.
  const truncated = numeric(raw.truncatedAlerts);
  return alerts.map((a, i) => {
    const s = normalizeAlert(a, i, { ctx, source, where, groupKey });
    if (truncated !== undefined && truncated > 0) s.labels.truncatedAlerts = String(truncated);
    return s;
  });
}

function normalizeAlert(a: unknown, i: number, env: { ctx: NormalizeContext; source: SignalSource; where: string; groupKey?: string }): Signal {
  const { ctx, source, where } = env;
  const f = `alerts[${i}]`;
  const alert = requireObject(a, f, where);
  const status = alert.status;
  if (status !== 'firing' && status !== 'resolved') {
    throw new MalformedEventError(`${where}: ${f}.status must be "firing" or "resolved", got ${JSON.stringify(status)}`);
  }
  const state: SignalState = status;
  if (alert.labels === undefined || alert.labels === null) throw new MalformedEventError(`${where}: ${f}.labels must be an object`);
  const labels = labelMap(alert.labels, `${f}.labels`, where);
  const annotations = labelMap(alert.annotations, `${f}.annotations`, where);
  const pick = (keys: string[]) => keys.map((k) => labels[k]).find((v) => v !== undefined && v !== '');

  const kindLabel = labels.kafka_heal_kind;
  const name = labels.alertname ?? 'unnamed-alert';
  const kind: SignalKind = kindLabel !== undefined ? signalKind(kindLabel, `${f}.labels.kafka_heal_kind`, where) : (lookup(ALERT_KINDS, name.toLowerCase()) ?? 'unknown');

  const brokerKey = BROKER_LABELS.find((k) => labels[k] !== undefined && labels[k] !== '');
  const brokerIds = brokerKey !== undefined ? [brokerId(labels[brokerKey], `${f}.labels.${brokerKey}`, where)] : brokerFromInstance(labels.instance);

  const startsAt = isoTime(alert.startsAt);
  const endsAt = isoTime(alert.endsAt);
  const observedAt = (state === 'resolved' ? (endsAt ?? startsAt) : startsAt) ?? ctx.receivedAt;
  const fingerprint =
    optionalString(alert.fingerprint, `${f}.fingerprint`, where, LIMITS.labelValue) ??
    `labels:${sha256(JSON.stringify(Object.entries(labels).sort(([x], [y]) => (x < y ? -1 : 1))))}`;
  const clusterSeen = pick(CLUSTER_LABELS);

  const extra = { ...labels };
  if (env.groupKey !== undefined) extra.groupKey = env.groupKey;
  return makeSignal({
    source,
    cluster: clusterSeen === undefined ? '' : resolveCluster(clusterSeen, ctx.clusters),
    kind,
    brokerIds,
    state,
    value: numeric(annotations.value),
    threshold: numeric(annotations.threshold),
    consumerGroup: pick(GROUP_LABELS),
    topic: pick(['topic']),
    observedAt,
    name: name.slice(0, LIMITS.name),
    fingerprint,
    labels: extra,
    summary: (annotations.summary ?? annotations.description)?.slice(0, LIMITS.summary),
  });
}

/**
 * `instance` is a scrape target, not a broker id; only an MSK broker host name
 * ("b-2.orders.abc123.c2.kafka.eu-west-1.amazonaws.com:11001") or a bare id says which broker.
 */
function brokerFromInstance(instance: string | undefined): number[] {
  if (instance === undefined) return [];
  const m = /^b-(\d{1,9})\./.exec(instance) ?? /^(\d{1,9})$/.exec(instance);
  return m ? [Number(m[1])] : [];
}
