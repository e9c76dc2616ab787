// correlate(): does this signal belong to an open incident? Pure; the incident store applies the
// answer with conditional writes. Rules, in order (only open incidents of the same cluster,
// never resolved ones):
//   0. fold: a firing broker-level signal (broker-failure, cascade-failure, offline-partitions,
//      under-replication, controller-loss) on a cluster whose cluster-wide incident (site-failure,
//      quorum-loss) is still the automation's response (open, remediating, awaiting-approval) and
//      at least as severe as the signal's decision is a consequence of that fault: it is recorded
//      on that incident's timeline and nothing else happens (no incident, no page, no workflow).
//      An escalated or closed cluster-wide incident folds nothing: people own it, and a broker
//      alarm then is treated as a fault of its own.
//   1. the signal's fingerprint already joined an incident -> join it (redelivery, re-fire)
//   2. broker faults: an open broker-failure/cascade-failure incident absorbs the signal; a new
//      distinct broker while a known one was first seen within the cascade window (inclusive)
//      upgrades a broker-failure to cascade-failure at SEV-1 or worse
//   3. same incident type -> join (upgrade to the decision's severity when it is worse)
//   4. same broker (any type) -> join; when the decision is more severe the incident takes the
//      decision's type and severity (a disk-pressure incident whose broker then goes down
//      becomes a broker-failure, so the recovery is not lost in a quieter incident)
//   otherwise a new incident. An unknown signal (an alert no rule maps) skips rules 3 and 4: two
//   different unknown alerts are two different things nobody has classified, and joining one to
//   an incident already escalated would add it without a notification; only its own re-fire
//   (rule 1) joins.
// Ignore decisions still correlate (a resolved signal annotates its incident); callers open
// no new incident for them.
//
// Escalated incidents belong to people, and never absorb a new fault silently (safety rule 10,
// lifecycle.ts escalatedCoverage, the table in docs/incident-store.md "No fault swallowed"): a
// firing signal that an escalated incident covers joins it and re-notifies its owner (never
// re-running the automation the gates stopped); one it does not cover gets its own decision, a
// new incident linked to the escalated one. Rules 2-4 therefore look at the incidents automation
// works on first; an escalated one is only what the signal would have joined.
// Finally, a firing signal that would open a new incident reopens the incident its fault had
// shortly before, when that one was resolved without the healer (lifecycle.ts reopenTarget).
import { fingerprintKey } from './incident-id.js';
import { CASCADE_SEVERITY } from './classify.js';
import { escalatedCoverage, reopenTarget, type ResolvedIncident } from './lifecycle.js';
import { isMoreSevere, mostSevere } from './severity.js';
import type { Decision, IncidentStatus, IncidentType, OpenIncident, RuntimePolicy, Severity, Signal } from './types.js';

/** What the incident's timeline says about a folded signal (written by the incident store). */
export interface FoldEntry {
  detail: string;
  reasons: string[];
}

export type Correlation =
  /** `linkedTo`: the escalated incident the signal would have joined but that does not cover it. */
  | { kind: 'new'; linkedTo?: { incidentId: string; why: string } }
  /** `renotify`: the incident is escalated and covers the signal; its owner hears of it again (why). */
  | { kind: 'join'; incidentId: string; renotify?: string }
  /** The fault returned soon after its incident was resolved without the healer. */
  | { kind: 'reopen'; incidentId: string; why: string }
  | { kind: 'upgrade'; incidentId: string; to: IncidentType; severity: Severity }
  | { kind: 'fold'; incidentId: string; into: IncidentType; entry: FoldEntry };

const BROKER_TYPES: IncidentType[] = ['broker-failure', 'cascade-failure'];

/**
 * Faults of the whole cluster: the site is down, or the metadata quorum (ZooKeeper, KRaft) is
 * lost. They take the cluster lock over from a broker-level run, and broker-level alarms that
 * fire while they are handled fold into them.
 */
export const CLUSTER_WIDE_TYPES: readonly IncidentType[] = ['site-failure', 'quorum-loss'];

/** Incident types whose alarms are symptoms of a cluster-wide fault on the same cluster. */
export const FOLDED_TYPES: readonly IncidentType[] = [
  'broker-failure',
  'cascade-failure',
  'offline-partitions',
  'under-replication',
  'controller-loss',
];

/** Statuses in which a cluster-wide incident is still the automation's response; escalated belongs to people. */
export const FOLD_STATUSES: readonly IncidentStatus[] = ['open', 'remediating', 'awaiting-approval'];

export function correlate(
  signal: Signal,
  decision: Decision,
  open: OpenIncident[],
  policy: RuntimePolicy,
  now: Date,
  /** Incidents of the cluster resolved recently (for reopening); none by default. */
  resolved: readonly ResolvedIncident[] = [],
): Correlation {
  const candidates = open.filter(
    (i) => i.cluster === signal.cluster && i.status !== 'resolved' && i.status !== 'suppressed',
  );

  const host = foldTarget(signal, decision, candidates);
  if (host) return { kind: 'fold', incidentId: host.id, into: host.type, entry: foldEntry(signal, decision, host) };

  const firing = signal.state === 'firing';
  // An escalated incident the signal would have joined but that does not cover it.
  let uncovered: { incident: OpenIncident; why: string } | undefined;
  const escalated = (inc: OpenIncident): Correlation | undefined => {
    if (!firing) return { kind: 'join', incidentId: inc.id };
    const cover = escalatedCoverage(inc, signal, decision);
    if (cover.covered) return { kind: 'join', incidentId: inc.id, renotify: cover.why };
    uncovered ??= { incident: inc, why: cover.why };
    return undefined;
  };

  // A cluster-wide incident no longer folding (escalated) keeps the fingerprints of what it
  // folded; such an alarm firing again is a fault of its own, not a re-fire to join there.
  // With the same fingerprint in two incidents (folded, then its own after an escalation), the
  // newest is the alarm's current owner: its OK notice belongs there.
  const folding = isFoldable(signal, decision);
  const same = candidates
    .filter(
      (i) =>
        i.fingerprints.includes(fingerprintKey(signal.fingerprint)) &&
        !(folding && CLUSTER_WIDE_TYPES.includes(i.type)),
    )
    .sort((a, b) => b.openedAt.localeCompare(a.openedAt) || b.id.localeCompare(a.id))[0];
  if (same) {
    const placed = same.status === 'escalated' ? escalated(same) : { kind: 'join' as const, incidentId: same.id };
    if (placed) return placed;
  }

  const worked = candidates.filter((i) => i.status !== 'escalated');
  const people = candidates
    .filter((i) => i.status === 'escalated')
    .sort((a, b) => b.openedAt.localeCompare(a.openedAt) || b.id.localeCompare(a.id));
  // The owner of what the signal is about (its brokers, its cluster-wide fault) hears of it first.
  if (firing) {
    const owner = people.find((i) => escalatedCoverage(i, signal, decision).covered);
    if (owner) return escalated(owner) as Correlation;
  }
  const placed = place(signal, decision, worked, policy, now);
  if (placed) return placed;
  const wouldJoin = place(signal, decision, people, policy, now);
  if (wouldJoin) {
    const target = people.find((i) => i.id === wouldJoin.incidentId) as OpenIncident;
    const joined = escalated(target);
    if (joined) return joined;
  }
  if (uncovered && decision.action !== 'ignore')
    return { kind: 'new', linkedTo: { incidentId: uncovered.incident.id, why: uncovered.why } };

  const back = reopenTarget(signal, decision, resolved, policy, now);
  if (back)
    return {
      kind: 'reopen',
      incidentId: back.id,
      why: `${signal.source} signal ${signal.name} fired again ${Math.round((now.getTime() - Date.parse(back.resolvedAt)) / 1000)} s after incident ${back.id} was resolved (${String(back.resolvedVia)}); within reopenSeconds ${policy.reopenSeconds}`,
    };
  return { kind: 'new' };
}

/**
 * Rules 2-4 over `open` (incidents of the signal's cluster): where the signal belongs, or nothing.
 * Every result names an incident of `open`.
 */
function place(
  signal: Signal,
  decision: Decision,
  open: OpenIncident[],
  policy: RuntimePolicy,
  now: Date,
): Exclude<Correlation, { kind: 'new' } | { kind: 'fold' } | { kind: 'reopen' }> | undefined {
  if (BROKER_TYPES.includes(decision.incidentType)) {
    const inc = open.find((i) => BROKER_TYPES.includes(i.type));
    if (inc) {
      const known = new Set(inc.brokers.map((b) => b.id));
      const fresh = signal.brokerIds.filter((b) => !known.has(b));
      const windowMs = policy.cascadeWindowSeconds * 1000;
      const recent = inc.brokers.some((b) => now.getTime() - Date.parse(b.firstSeenAt) <= windowMs);
      if (inc.type === 'broker-failure' && fresh.length > 0 && recent) {
        return {
          kind: 'upgrade',
          incidentId: inc.id,
          to: 'cascade-failure',
          severity: mostSevere(inc.severity, decision.severity, CASCADE_SEVERITY),
        };
      }
      return severityUpgrade(inc, decision.severity);
    }
  }

  if (decision.incidentType === 'unknown') return undefined;
  const sameType = open.find((i) => i.type === decision.incidentType);
  if (sameType) return severityUpgrade(sameType, decision.severity);

  const sameBroker = open.find((i) => i.brokers.some((b) => signal.brokerIds.includes(b.id)));
  if (sameBroker) {
    if (isMoreSevere(decision.severity, sameBroker.severity))
      return { kind: 'upgrade', incidentId: sameBroker.id, to: decision.incidentType, severity: decision.severity };
    return { kind: 'join', incidentId: sameBroker.id };
  }
  return undefined;
}

function isFoldable(signal: Signal, decision: Decision): boolean {
  return signal.state === 'firing' && FOLDED_TYPES.includes(decision.incidentType);
}

/**
 * The cluster-wide incident a broker-level signal is a consequence of, if any: same cluster,
 * still handled by the automation (FOLD_STATUSES), and at least as severe as the signal's own
 * decision (a signal more severe than the incident it would fold into keeps its own incident
 * and its own page). The earliest opened wins when both a site failure and a quorum loss are open.
 */
export function foldTarget(signal: Signal, decision: Decision, open: OpenIncident[]): OpenIncident | undefined {
  if (!isFoldable(signal, decision)) return undefined;
  return open
    .filter(
      (i) =>
        i.cluster === signal.cluster &&
        CLUSTER_WIDE_TYPES.includes(i.type) &&
        FOLD_STATUSES.includes(i.status) &&
        !isMoreSevere(decision.severity, i.severity),
    )
    .sort((a, b) => a.openedAt.localeCompare(b.openedAt) || a.id.localeCompare(b.id))[0];
}

/** The timeline entry of a folded signal: what it was, why it folded, and what it would have done on its own. */
export function foldEntry(signal: Signal, decision: Decision, host: OpenIncident): FoldEntry {
  const brokers = signal.brokerIds.length ? `, brokers ${signal.brokerIds.join(',')}` : '';
  const detail =
    `${signal.source} signal ${signal.name} (${signal.kind}${brokers}) folded into this ${host.type}: ` +
    `no ${decision.incidentType} incident opened, no page, no workflow started (on its own: ${ownDecision(decision)})`;
  const why =
    host.type === 'site-failure'
      ? `The site of ${host.cluster} is down (incident ${host.id}, ${host.status}): no broker of it answers, so broker-level alarms are symptoms of the site failure, and its incident is the response.`
      : `The metadata quorum of ${host.cluster} is lost (incident ${host.id}, ${host.status}): brokers cannot register, elect a controller or change their ISRs, so broker-level alarms are symptoms of the loss, and quorum-recovery restarts every broker itself.`;
  return { detail, reasons: [why, ...decision.reasons] };
}

function ownDecision(d: Decision): string {
  switch (d.action) {
    case 'remediate':
    case 'await-approval':
      return `${d.incidentType} ${d.severity}, ${d.action} with ${d.plan.workflow}${d.plan.brokerIds.length ? ` for brokers ${d.plan.brokerIds.join(',')}` : ''}`;
    case 'escalate':
      return `${d.incidentType} ${d.severity}, escalate${d.page ? ' with a page' : ''}`;
    case 'ignore':
      return `${d.incidentType} ${d.severity}, ${d.suppressed ? 'suppressed' : 'no action'}`;
  }
}

function severityUpgrade(
  inc: OpenIncident,
  severity: Severity,
): Exclude<Correlation, { kind: 'new' } | { kind: 'fold' } | { kind: 'reopen' }> {
  if (isMoreSevere(severity, inc.severity)) return { kind: 'upgrade', incidentId: inc.id, to: inc.type, severity };
  return { kind: 'join', incidentId: inc.id };
}
