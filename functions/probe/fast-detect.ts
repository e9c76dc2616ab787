// Fast detection: the scheduled probe's own broker-down finding, sent to the ingest queue as a probe
// result (functions/domain/normalize/probe.ts) instead of waiting for the broker-down alarm's two
// one-minute datapoints. A broker the probe finds unreachable is looked at again after a short pause
// in the same invocation; only a broker down both times is reported, as ONE finding with every such
// broker (the classifier then sees brokers that failed together at once, as the alarm's contributors
// would show them one by one). The finding is sent once per fault: the container remembers what it
// reported, and sends the same finding "resolved" once all its brokers answer again (so the incident
// that tracks it can resolve itself). Nothing is sent, and nothing extra is probed, while every broker
// answers: the idle cost is the alarm path's.
//
// Safety: the finding is `broker-down`, never `site-down`, whatever the number of brokers (every
// broker unreachable is the same emergency the broker-down alarm's contributors give: the classifier's
// blast-radius gate escalates without action); a probe refused before it read the metadata knows
// nothing of the brokers and reports none (safety rule 11, as its metrics); broker-recovery still
// confirms the broker down before it acts. Workflow-invoked probes (`rounds: 1`, confirm/verify) never
// send: handler.ts calls this for scheduled runs only.
import { isAccessOutcome, type ClusterSnapshot } from '../domain/snapshot.js';
import { PROBE_SOURCE, type ProbeFinding, type ProbeResultEvent } from '../domain/normalize/probe.js';

/** The probe was refused before it could read the metadata: it knows nothing of the brokers. */
export function isBlind(s: ClusterSnapshot): boolean {
  return isAccessOutcome(s.status) && s.registeredBrokers.length === 0;
}

/** Registered and answering: what BrokerReachable = 1 means. */
export function isBrokerReachable(s: ClusterSnapshot, id: number): boolean {
  return s.brokers.some((b) => b.id === id && b.registered && b.reachable);
}

/** Every broker to report on: the known ids (configured, or seen earlier) and those the snapshot names, ascending. */
export function reportedBrokerIds(s: ClusterSnapshot, known: Iterable<number>): number[] {
  return [...new Set<number>([...known, ...s.brokers.map((b) => b.id)])].sort((a, b) => a - b);
}

/** The brokers (known ids and those the snapshot names) that are not reachable, ascending; none when blind. */
export function unreachableBrokers(s: ClusterSnapshot, known: Iterable<number>): number[] {
  if (isBlind(s)) return [];
  return reportedBrokerIds(s, known).filter((id) => !isBrokerReachable(s, id));
}

export function probeResult(cluster: string, observedAt: string, findings: ProbeFinding[]): ProbeResultEvent {
  return { source: PROBE_SOURCE, cluster, observedAt, findings };
}

export function brokerDown(brokerIds: number[], state: ProbeFinding['state']): ProbeFinding {
  return { kind: 'broker-down', brokerIds, state };
}

/** The pause before the second look, bounded so both looks and the send fit in the invocation. */
export const MAX_RECHECK_SECONDS = 30;
/** Time kept for sending the finding after the second look (the SQS client's own bound is shorter). */
export const SEND_BUDGET_MS = 4000;

/** One cluster's findings still open (sent firing, not yet resolved), per container. */
export class ReportedFaults {
  private readonly open = new Map<string, number[][]>();

  /** Brokers of an open finding of the cluster. */
  brokers(cluster: string): Set<number> {
    return new Set((this.open.get(cluster) ?? []).flat());
  }

  add(cluster: string, brokerIds: number[]): void {
    this.open.set(cluster, [...(this.open.get(cluster) ?? []), brokerIds]);
  }

  /** Open findings all of whose brokers are reachable in `s` (not blind): they can be resolved. */
  recovered(cluster: string, s: ClusterSnapshot): number[][] {
    if (isBlind(s)) return [];
    return (this.open.get(cluster) ?? []).filter((ids) => ids.every((id) => isBrokerReachable(s, id)));
  }

  remove(cluster: string, brokerIds: number[]): void {
    const key = brokerIds.join(',');
    this.open.set(
      cluster,
      (this.open.get(cluster) ?? []).filter((ids) => ids.join(',') !== key),
    );
  }
}
