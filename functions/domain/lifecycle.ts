// The incident lifecycle's pure rules (docs/incident-store.md, "The incident lifecycle"):
//   - coverage: does an escalated incident already cover a firing signal (its brokers, its alarm,
//     its cluster-wide fault)? Covered: the signal joins it and its owner is re-notified, no
//     automation re-runs. Not covered: the signal gets its own decision (safety rule 10).
//   - reopen: a fault that returns soon after its incident was resolved without the healer
//     reopens that incident instead of opening a new one.
//   - auto-resolve: an open or escalated incident whose alarms are all OK on a healthy cluster,
//     both for policy.autoResolveSeconds, resolved itself ("recovered without the healer").
//   - cluster health from the cluster's alarms, and MTTA.
// Pure: every clock is injected, nothing is read or written.
import { fingerprintKey } from './incident-id.js';
import { isMoreSevere } from './severity.js';
import type { Decision, IncidentStatus, IncidentType, OpenIncident, RuntimePolicy, Signal } from './types.js';

/** Where a lifecycle change came from (the timeline's "where from"; who resolved decides reopening). */
export const LIFECYCLE_VIA = ['workflow', 'classifier', 'auto-resolve', 'cli', 'page', 'pagerduty'] as const;
export type LifecycleVia = (typeof LIFECYCLE_VIA)[number];

/** Resolutions without the healer's remediation: a fault returning after them reopens the incident. */
export const REOPENABLE_VIA: readonly LifecycleVia[] = ['auto-resolve', 'cli', 'page', 'pagerduty'];

/** Incident types that are one fault growing: a cascade is a broker failure that spread. */
export function incidentFamily(type: IncidentType): IncidentType {
  return type === 'cascade-failure' ? 'broker-failure' : type;
}

/** A signal about a consumer group or a topic: narrower than its cluster, and not a broker. */
function scoped(signal: Signal): boolean {
  return signal.consumerGroup !== undefined || signal.topic !== undefined;
}

function brokersWithin(signal: Signal, incident: Pick<OpenIncident, 'brokers'>): boolean {
  const known = new Set(incident.brokers.map((b) => b.id));
  return signal.brokerIds.every((b) => known.has(b));
}

export type Coverage = { covered: true; why: string } | { covered: false; why: string };

/**
 * Does the escalated incident already cover this firing signal? (the rule table of
 * docs/incident-store.md, "No fault swallowed")
 *   - a broker the incident does not have             -> no: that broker gets its own decision
 *   - the incident's own alarm firing again           -> yes
 *   - another unknown alert                           -> no (two unknown alerts are two things)
 *   - a decision more severe than the incident        -> no: a worse fault is never swallowed
 *   - another alarm about the incident's brokers      -> yes
 *   - a consumer group / topic alarm it never had     -> no (the incident keeps alarms, not groups)
 *   - no broker, no group: the same incident type     -> yes (the same cluster-wide fault)
 */
export function escalatedCoverage(incident: OpenIncident, signal: Signal, decision: Decision): Coverage {
  const brokers = signal.brokerIds.length
    ? `broker${signal.brokerIds.length > 1 ? 's' : ''} ${signal.brokerIds.join(',')}`
    : 'no broker';
  const held = incident.brokers.length ? `brokers ${incident.brokers.map((b) => b.id).join(',')}` : 'no broker';
  if (!brokersWithin(signal, incident))
    return { covered: false, why: `${brokers}: not covered by escalated incident ${incident.id} (${held})` };
  if (incident.fingerprints.includes(fingerprintKey(signal.fingerprint)))
    return { covered: true, why: `alarm ${signal.name} of escalated incident ${incident.id} fired again` };
  if (decision.incidentType === 'unknown')
    return {
      covered: false,
      why: `alarm ${signal.name} is unknown and not one of escalated incident ${incident.id}: two unknown alerts are two things nobody classified`,
    };
  if (isMoreSevere(decision.severity, incident.severity)) {
    return {
      covered: false,
      why: `${decision.incidentType} ${decision.severity} is more severe than escalated incident ${incident.id} (${incident.type} ${incident.severity})`,
    };
  }
  if (signal.brokerIds.length > 0)
    return { covered: true, why: `${brokers}: covered by escalated incident ${incident.id} (${held})` };
  if (scoped(signal))
    return {
      covered: false,
      why: `${signal.consumerGroup !== undefined ? `consumer group ${signal.consumerGroup}` : `topic ${String(signal.topic)}`}: alarm ${signal.name} is not one of escalated incident ${incident.id}`,
    };
  if (decision.incidentType === incident.type)
    return { covered: true, why: `the same cluster-wide ${incident.type} as escalated incident ${incident.id}` };
  return {
    covered: false,
    why: `${decision.incidentType} is not the fault of escalated incident ${incident.id} (${incident.type})`,
  };
}

/** An incident resolved recently, as reopening needs it (the store lists them by resolve time). */
export interface ResolvedIncident extends OpenIncident {
  resolvedAt: string;
  resolvedVia?: LifecycleVia | undefined;
}

/**
 * The recently resolved incident a firing signal reopens, if any (most recently resolved first):
 * same cluster, resolved without the healer (REOPENABLE_VIA) at most policy.reopenSeconds ago
 * (inclusive), and the same fault: its own alarm, or brokers it had in the same incident family.
 * An ignore decision reopens nothing.
 */
export function reopenTarget(
  signal: Signal,
  decision: Decision,
  resolved: readonly ResolvedIncident[],
  policy: RuntimePolicy,
  now: Date,
): ResolvedIncident | undefined {
  if (signal.state !== 'firing' || decision.action === 'ignore' || policy.reopenSeconds <= 0) return undefined;
  const key = fingerprintKey(signal.fingerprint);
  const windowMs = policy.reopenSeconds * 1000;
  return resolved
    .filter(
      (r) => r.cluster === signal.cluster && r.resolvedVia !== undefined && REOPENABLE_VIA.includes(r.resolvedVia),
    )
    .filter((r) => {
      const age = now.getTime() - Date.parse(r.resolvedAt);
      return age >= 0 && age <= windowMs;
    })
    .filter(
      (r) =>
        r.fingerprints.includes(key) ||
        (signal.brokerIds.length > 0 &&
          brokersWithin(signal, r) &&
          incidentFamily(r.type) === incidentFamily(decision.incidentType)),
    )
    .sort((a, b) => b.resolvedAt.localeCompare(a.resolvedAt) || b.id.localeCompare(a.id))[0];
}

/** One alarm of a cluster as CloudWatch (or the local evaluator) reports it. */
export interface AlarmStatus {
  name: string;
  state: 'OK' | 'ALARM' | 'INSUFFICIENT_DATA';
  /** When it entered that state (ISO). */
  since: string;
  /** It watches the healer's own probe of the cluster (not the platform's metrics). */
  probe?: boolean | undefined;
}

export type ClusterHealth = { healthy: true; since: string; detail: string } | { healthy: false; reason: string };

/**
 * An alarm on a platform metric (not the probe's) without data this long watches a metric nobody
 * publishes here: a disk alarm with no CloudWatch agent on the hosts, a consumer group that never
 * consumed. It has said nothing about the cluster for a day, so it does not judge its health.
 */
export const UNPUBLISHED_METRIC_MS = 24 * 3600 * 1000;

/**
 * The cluster as its alarms see it (for self-managed clusters the probe's metrics, for MSK its
 * own): healthy since the last of them returned to OK when every one is OK. An alarm in ALARM or
 * without data (a silent probe, a metric gone quiet), or no alarm at all, is not healthy; a
 * platform alarm without data for UNPUBLISHED_METRIC_MS or more is left out (named in the detail).
 */
export function clusterHealthFromAlarms(all: readonly AlarmStatus[], now: Date): ClusterHealth {
  if (all.length === 0) return { healthy: false, reason: 'no alarm of the cluster was found' };
  const unpublished = all.filter(
    (a) => a.state === 'INSUFFICIENT_DATA' && !a.probe && now.getTime() - Date.parse(a.since) >= UNPUBLISHED_METRIC_MS,
  );
  const alarms = all.filter((a) => !unpublished.includes(a));
  if (alarms.length === 0)
    return { healthy: false, reason: `none of its ${all.length} alarm(s) has had data for a day` };
  const bad = alarms.filter((a) => a.state !== 'OK');
  if (bad.length > 0) {
    const shown = bad.slice(0, 5).map((a) => `${a.name} ${a.state}`);
    return {
      healthy: false,
      reason: `${shown.join(', ')}${bad.length > shown.length ? ` and ${bad.length - shown.length} more` : ''}`,
    };
  }
  const latest = (of: readonly AlarmStatus[]) =>
    of.reduce((a, b) => (Date.parse(b.since) > Date.parse(a.since) ? b : a));
  const last = latest(alarms);
  const probe = alarms.filter((a) => a.probe);
  const probeText =
    probe.length === 0 ? '' : `; the probe healthy since ${latest(probe).since} (its ${probe.length} alarm(s) OK)`;
  const left =
    unpublished.length === 0
      ? ''
      : `; left out, without data for a day or more (a metric nobody publishes): ${unpublished
          .slice(0, 3)
          .map((a) => a.name)
          .join(', ')}${unpublished.length > 3 ? ` and ${unpublished.length - 3} more` : ''}`;
  return {
    healthy: true,
    since: last.since,
    detail: `all ${alarms.length} alarms OK, the last back ${last.name} at ${last.since}${probeText}${left}`,
  };
}

/** One alarm's state on an incident: the latest the incident heard of it. */
export interface TrackedAlarm {
  state: 'firing' | 'ok';
  at: string;
}

/** What the auto-resolve rule reads from the incident. */
export interface AutoResolveFacts {
  status: IncidentStatus;
  /** Alarm states by fingerprint key; undefined when the incident does not track them. */
  alarms?: Record<string, TrackedAlarm> | undefined;
  /** More alarms joined than the incident tracks: it cannot tell they are all OK. */
  alarmsUntracked?: boolean | undefined;
  /** A person reopened it: only a person closes it. */
  holdOpen?: boolean | undefined;
}

export type AutoResolveVerdict = { resolve: true; reason: string } | { resolve: false; reason: string };

/** Statuses auto-resolve may close: nothing of the healer's works on them (a running workflow closes its own). */
export const AUTO_RESOLVE_STATUSES: readonly IncidentStatus[] = ['open', 'escalated'];

/**
 * May the incident resolve itself now? Every condition holds at once, each for the quiet period
 * (policy.autoResolveSeconds, inclusive): open or escalated, not held open by a person, every alarm
 * it heard of back to OK and none of them changed within the period, and the cluster healthy for it.
 */
export function autoResolveVerdict(
  incident: AutoResolveFacts,
  health: ClusterHealth,
  policy: RuntimePolicy,
  now: Date,
): AutoResolveVerdict {
  const quietMs = policy.autoResolveSeconds * 1000;
  if (policy.autoResolveSeconds <= 0)
    return { resolve: false, reason: 'auto-resolve is off (policy.autoResolveSeconds 0)' };
  if (!AUTO_RESOLVE_STATUSES.includes(incident.status))
    return { resolve: false, reason: `the incident is ${incident.status}` };
  if (incident.holdOpen) return { resolve: false, reason: 'a person reopened it: a person resolves it' };
  if (incident.alarms === undefined || incident.alarmsUntracked)
    return { resolve: false, reason: 'the incident does not track all its alarms: resolve it by hand' };
  const firing = Object.entries(incident.alarms).filter(([, a]) => a.state === 'firing');
  if (firing.length > 0)
    return {
      resolve: false,
      reason: `${firing.length} alarm(s) still firing: ${firing
        .slice(0, 3)
        .map(([k]) => k)
        .join(', ')}`,
    };
  const last = Math.max(Number.NEGATIVE_INFINITY, ...Object.values(incident.alarms).map((a) => Date.parse(a.at)));
  if (now.getTime() - last < quietMs)
    return {
      resolve: false,
      reason: `the last alarm change was ${Math.round((now.getTime() - last) / 1000)} s ago (quiet period ${policy.autoResolveSeconds} s)`,
    };
  if (!health.healthy) return { resolve: false, reason: `the cluster is not healthy: ${health.reason}` };
  const healthyMs = now.getTime() - Date.parse(health.since);
  if (healthyMs < quietMs)
    return {
      resolve: false,
      reason: `the cluster is healthy for ${Math.round(healthyMs / 1000)} s only (quiet period ${policy.autoResolveSeconds} s)`,
    };
  const own = Object.entries(incident.alarms).sort(([, a], [, b]) => b.at.localeCompare(a.at));
  const shown = own.slice(0, 3).map(([k, a]) => `${k} since ${a.at}`);
  const more = own.length > shown.length ? ` and ${own.length - shown.length} more` : '';
  return {
    resolve: true,
    reason: `recovered without the healer: ${own.length === 0 ? 'no alarm of its own is firing' : `its ${own.length} alarm(s) back to OK (${shown.join(', ')}${more})`}, none firing for ${policy.autoResolveSeconds} s, and the cluster healthy since ${health.since} (${health.detail})`,
  };
}

/** Time to acknowledge: from the first page when one went out, else from detection. */
export function mtta(
  acknowledgedAt: string,
  detectedAt: string,
  firstPagedAt?: string,
): { seconds: number; from: 'page' | 'detection' } {
  const from = firstPagedAt === undefined ? 'detection' : 'page';
  const start = Date.parse(firstPagedAt ?? detectedAt);
  return { seconds: Math.max(0, Math.round((Date.parse(acknowledgedAt) - start) / 1000)), from };
}
