// Alertmanager webhook payloads (version "4"): one Signal per alert in the group, firing and
// resolved alike. Amazon Managed Prometheus sends the same payload as an SNS message body
// (amp-sns.ts unwraps it and calls this with source 'amp').
import { MalformedEventError } from '../errors.js';
import type { Signal, SignalKind, SignalSource, SignalState } from '../types.js';
import { BUILT_IN_ALERT_KINDS, NO_ROUTING, alertKey, type AlertRouting } from './alert-names.js';
import { alertBroker, alertCluster } from './alert-labels.js';
import {
  LIMITS,
  describe,
  isoTime,
  labelMap,
  lookup,
  makeSignal,
  numeric,
  optionalString,
  requireArray,
  requireObject,
  sha256,
  signalKind,
  type NormalizeContext,
  type Obj,
} from './common.js';

const GROUP_LABELS = ['consumergroup', 'consumer_group', 'group'];

/**
 * The kind of an alert: the label kafka_heal_kind wins, then the configured alert names
 * (alertmanager.kinds), then the built-in names (alert-names.ts); otherwise unknown, which the
 * classifier notifies people about.
 */
export function alertKind(
  name: string,
  labels: Record<string, string>,
  routing: AlertRouting,
  hasBroker: boolean,
  field: string,
  where: string,
): SignalKind {
  const kindLabel = labels.kafka_heal_kind;
  if (kindLabel !== undefined) return signalKind(kindLabel, `${field}.kafka_heal_kind`, where);
  const key = alertKey(name);
  const configured = lookup(routing.kinds, key);
  if (configured !== undefined) return configured;
  const builtIn = BUILT_IN_ALERT_KINDS.get(key);
  if (builtIn === undefined) return 'unknown';
  if (typeof builtIn === 'string') return builtIn;
  return hasBroker ? builtIn.withBroker : builtIn.otherwise;
}

export function normalizeAlertmanager(
  raw: Obj,
  ctx: NormalizeContext,
  source: SignalSource = 'alertmanager',
  where = 'alertmanager payload',
): Signal[] {
  if (raw.version !== undefined && raw.version !== '4') {
    throw new MalformedEventError(`${where}: version must be "4", got ${describe(raw.version)}`);
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

function normalizeAlert(
  a: unknown,
  i: number,
  env: { ctx: NormalizeContext; source: SignalSource; where: string; groupKey?: string },
): Signal {
  const { ctx, source, where } = env;
  const f = `alerts[${i}]`;
  const alert = requireObject(a, f, where);
  const status = alert.status;
  if (status !== 'firing' && status !== 'resolved') {
    throw new MalformedEventError(`${where}: ${f}.status must be "firing" or "resolved", got ${describe(status)}`);
  }
  const state: SignalState = status;
  if (alert.labels === undefined || alert.labels === null)
    throw new MalformedEventError(`${where}: ${f}.labels must be an object`);
  const labels = labelMap(alert.labels, `${f}.labels`, where);
  const annotations = labelMap(alert.annotations, `${f}.annotations`, where);
  const pick = (keys: string[]) => keys.map((k) => labels[k]).find((v) => v !== undefined && v !== '');
  const routing = ctx.routing ?? NO_ROUTING;

  const name = labels.alertname ?? 'unnamed-alert';
  const cluster = alertCluster(labels, routing, ctx.clusters);
  const broker = alertBroker(labels, routing, cluster);
  const kind = alertKind(name, labels, routing, broker.ids.length > 0, `${f}.labels`, where);

  const startsAt = isoTime(alert.startsAt);
  const endsAt = isoTime(alert.endsAt);
  const observedAt = (state === 'resolved' ? (endsAt ?? startsAt) : startsAt) ?? ctx.receivedAt;
  const fingerprint =
    optionalString(alert.fingerprint, `${f}.fingerprint`, where, LIMITS.labelValue) ??
    `labels:${sha256(JSON.stringify(Object.entries(labels).sort(([x], [y]) => (x < y ? -1 : 1))))}`;

  const extra = { ...labels };
  if (env.groupKey !== undefined) extra.groupKey = env.groupKey;
  if (broker.unresolved !== undefined) extra.kafkaHealBrokerUnresolved = broker.unresolved;
  return makeSignal({
    source,
    cluster,
    kind,
    brokerIds: broker.ids,
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
