// normalize(): any supported raw event -> Signals (or a documented reason to ignore it).
// Detection is by shape, most specific first:
//   EventBridge CloudWatch alarm event  ("detail-type" starting with "CloudWatch Alarm": state
//                                        changes, per-broker contributor state changes)
//   probe result                         (source "kafka-heal.probe")
//   SNS Lambda event / SNS notification  (AMP alerts: Alertmanager JSON in the message)
//   Alertmanager webhook                 (alerts[] + version/groupKey)
import { MalformedEventError, UnknownSourceError } from '../errors.js';
import type { ClusterFacts, Signal } from '../types.js';
import type { AlertRouting } from './alert-names.js';
import { normalizeAlertmanager } from './alertmanager.js';
import { isSnsLambdaEvent, isSnsNotification, normalizeSnsLambdaEvent, normalizeSnsNotification } from './amp-sns.js';
import { normalizeCloudWatch } from './cloudwatch.js';
import { describe, isObject, isoTime } from './common.js';
import { PROBE_SOURCE, normalizeProbe } from './probe.js';

export { alarmMarker, parseMarker, type MarkerFields } from './marker.js';
export { alertKey, type AlertRouting } from './alert-names.js';
export type { ProbeFinding, ProbeResultEvent } from './probe.js';

export type NormalizeResult = { outcome: 'signals'; signals: Signal[] } | { outcome: 'ignored'; reason: string };

export function normalize(
  raw: unknown,
  ctx: { clusters: ClusterFacts[]; receivedAt: string; routing?: AlertRouting; deployment?: string },
): NormalizeResult {
  if (!isObject(raw)) throw new MalformedEventError('event must be a JSON object');
  const receivedAt = isoTime(ctx.receivedAt);
  if (receivedAt === undefined)
    throw new RangeError(`normalize: ctx.receivedAt must be an ISO time, got ${describe(ctx.receivedAt)}`);
  const c = {
    clusters: ctx.clusters,
    receivedAt,
    ...(ctx.routing ? { routing: ctx.routing } : {}),
    ...(ctx.deployment === undefined ? {} : { deployment: ctx.deployment }),
  };

  let signals: Signal[];
  if (isCloudWatchEvent(raw)) {
    return normalizeCloudWatch(raw, c);
  } else if (raw.source === PROBE_SOURCE) {
    signals = normalizeProbe(raw, c);
  } else if (isSnsLambdaEvent(raw)) {
    signals = normalizeSnsLambdaEvent(raw, c);
  } else if (isSnsNotification(raw)) {
    signals = normalizeSnsNotification(raw, c);
  } else if ('alerts' in raw && (raw.version !== undefined || raw.groupKey !== undefined)) {
    signals = normalizeAlertmanager(raw, c);
  } else {
    throw new UnknownSourceError(
      'event matches no supported source (EventBridge CloudWatch alarm event, Alertmanager webhook v4, SNS-wrapped AMP alert, kafka-heal probe result)',
    );
  }
  return fromSignals(signals);
}

function fromSignals(signals: Signal[]): NormalizeResult {
  if (signals.length === 0) return { outcome: 'ignored', reason: 'the event carries no alerts or findings' };
  return { outcome: 'signals', signals };
}

function isCloudWatchEvent(raw: Record<string, unknown>): boolean {
  return (
    typeof raw['detail-type'] === 'string' &&
    (raw.source === 'aws.cloudwatch' || raw['detail-type'].startsWith('CloudWatch Alarm'))
  );
}

/** What a body of another source looks like, for the webhook's refusal. */
function shapeOf(raw: Record<string, unknown>): string | undefined {
  if (isCloudWatchEvent(raw)) return 'a CloudWatch alarm event';
  if (raw.source === PROBE_SOURCE) return 'a kafka-heal probe result';
  if (isSnsLambdaEvent(raw) || isSnsNotification(raw)) return 'an SNS message';
  return undefined;
}

/**
 * The webhook's normalize: Alertmanager webhook payloads only. CloudWatch alarms, probe results and
 * AMP alerts each have their own path (EventBridge, the probe, the SNS topic), which bind them to
 * this deployment; a body of their shape on the webhook is refused, whoever holds its token.
 */
export function normalizeWebhook(
  raw: unknown,
  ctx: { clusters: ClusterFacts[]; receivedAt: string; routing?: AlertRouting },
): NormalizeResult {
  if (!isObject(raw)) throw new MalformedEventError('event must be a JSON object');
  const receivedAt = isoTime(ctx.receivedAt);
  if (receivedAt === undefined)
    throw new RangeError(`normalizeWebhook: ctx.receivedAt must be an ISO time, got ${describe(ctx.receivedAt)}`);
  const other = shapeOf(raw);
  if (other !== undefined || !('alerts' in raw && (raw.version !== undefined || raw.groupKey !== undefined))) {
    throw new UnknownSourceError(
      `the webhook accepts only Alertmanager webhook payloads (version "4", alerts[]), got ${other ?? 'another shape'}`,
    );
  }
  return fromSignals(
    normalizeAlertmanager(raw, {
      clusters: ctx.clusters,
      receivedAt,
      ...(ctx.routing ? { routing: ctx.routing } : {}),
    }),
  );
}
