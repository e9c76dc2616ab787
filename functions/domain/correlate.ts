// correlate(): does this signal belong to an open incident? Pure; the incident store applies the
// answer with conditional writes. Rules, in order (only open incidents of the same cluster,
// never resolved ones):
//   1. the signal's fingerprint already joined an incident -> join it (redelivery, re-fire)
//   2. broker faults: an open broker-failure/cascade-failure incident absorbs the signal; a new
//      distinct broker while a known one was first seen within the cascade window (inclusive)
//      upgrades a broker-failure to cascade-failure at SEV-1 or worse
//   3. same incident type -> join (upgrade to the decision's severity when it is worse)
//   4. same broker (any type) -> join; when the decision is more severe the incident takes the
//      decision's type and severity (a disk-pressure incident whose broker then goes down
//      becomes a broker-failure, so the recovery is not lost in a quieter incident)
//   otherwise a new incident.
// Ignore decisions still correlate (a resolved signal annotates its incident); callers open
// no new incident for them.
import { CASCADE_SEVERITY } from './classify.js';
import { isMoreSevere, mostSevere } from './severity.js';
import type { Decision, IncidentType, OpenIncident, RuntimePolicy, Severity, Signal } from './types.js';

export type Correlation = { kind: 'new' } | { kind: 'join'; incidentId: string } | { kind: 'upgrade'; incidentId: string; to: IncidentType; severity: Severity };

const BROKER_TYPES: IncidentType[] = ['broker-failure', 'cascade-failure'];

export function correlate(signal: Signal, decision: Decision, open: OpenIncident[], policy: RuntimePolicy, now: Date): Correlation {
  const candidates = open.filter((i) => i.cluster === signal.cluster && i.status !== 'resolved');

  const same = candidates.find((i) => i.fingerprints.includes(signal.fingerprint));
  if (same) return { kind: 'join', incidentId: same.id };

  if (BROKER_TYPES.includes(decision.incidentType)) {
    const inc = candidates.find((i) => BROKER_TYPES.includes(i.type));
    if (inc) {
      const known = new Set(inc.brokers.map((b) => b.id));
      const fresh = signal.brokerIds.filter((b) => !known.has(b));
      const windowMs = policy.cascadeWindowSeconds * 1000;
      const recent = inc.brokers.some((b) => now.getTime() - Date.parse(b.firstSeenAt) <= windowMs);
      if (inc.type === 'broker-failure' && fresh.length > 0 && recent) {
        return { kind: 'upgrade', incidentId: inc.id, to: 'cascade-failure', severity: mostSevere(inc.severity, decision.severity, CASCADE_SEVERITY) };
      }
      return severityUpgrade(inc, decision.severity);
    }
  }

  const sameType = candidates.find((i) => i.type === decision.incidentType);
  if (sameType) return severityUpgrade(sameType, decision.severity);

  const sameBroker = candidates.find((i) => i.brokers.some((b) => signal.brokerIds.includes(b.id)));
  if (sameBroker) {
    if (isMoreSevere(decision.severity, sameBroker.severity)) return { kind: 'upgrade', incidentId: sameBroker.id, to: decision.incidentType, severity: decision.severity };
    return { kind: 'join', incidentId: sameBroker.id };
  }

  return { kind: 'new' };
}

function severityUpgrade(inc: OpenIncident, severity: Severity): Correlation {
  if (isMoreSevere(severity, inc.severity)) return { kind: 'upgrade', incidentId: inc.id, to: inc.type, severity };
  return { kind: 'join', incidentId: inc.id };
}
