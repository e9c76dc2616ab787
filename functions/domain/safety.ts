// Safety rule 3 (DESIGN.md): never restart a live broker if that would leave any partition below
// min.insync.replicas; a broker that is already down may always be restarted. Also the order in
// which several unhealthy brokers should be recovered (rule 2: one at a time, controller last).
// Pure: reads one probe snapshot.
import type { BrokerObservation, ClusterSnapshot } from './snapshot.js';

export interface RestartVerdict {
  allowed: boolean;
  reason: string;
  /** Recommended recovery order of every unhealthy broker in the snapshot (see recoveryOrder). */
  order: number[];
}

export function isBrokerDown(b: BrokerObservation): boolean {
  return !b.registered || !b.reachable;
}

/**
 * Unhealthy brokers, in the order to recover them: brokers missing from the metadata first
 * (crashed or fenced: nothing depends on them now), then registered-but-unreachable ones (hung),
 * each group by ascending id; the known controller always last, because restarting it moves
 * the controller role on top of the recovery. KRaft snapshots carry no controller id, so the
 * quorum leader cannot be placed and the order is by state and id only.
 */
export function recoveryOrder(snapshot: ClusterSnapshot): number[] {
  const down = snapshot.brokers.filter(isBrokerDown);
  const rank = (b: BrokerObservation) =>
    snapshot.controller.known && snapshot.controller.id === b.id ? 2 : b.registered ? 1 : 0;
  return down.sort((a, b) => rank(a) - rank(b) || a.id - b.id).map((b) => b.id);
}

export function canRestart(brokerId: number, snapshot: ClusterSnapshot): RestartVerdict {
  const order = recoveryOrder(snapshot);
  const verdict = (allowed: boolean, reason: string): RestartVerdict => ({ allowed, reason, order });
  if (snapshot.status === 'down') {
    return verdict(true, `the cluster is down (no broker answers): restarting broker ${brokerId} cannot make it worse`);
  }
  if (snapshot.registeredBrokers.length === 0) {
    return verdict(
      false,
      `the snapshot has no cluster metadata (${snapshot.status}): cannot tell whether broker ${brokerId} is live; re-probe first`,
    );
  }
  const broker = snapshot.brokers.find((b) => b.id === brokerId);
  if (!broker)
    return verdict(
      true,
      `broker ${brokerId} is not in the cluster metadata: already down, restarting it cannot shrink any ISR`,
    );
  if (!broker.registered)
    return verdict(true, `broker ${brokerId} is not registered: already down, restarting it cannot shrink any ISR`);
  if (!broker.reachable)
    return verdict(
      true,
      `broker ${brokerId} does not answer (${broker.error ?? 'unreachable'}): already out of service, restart allowed`,
    );

  const hurt = snapshot.partitions.details.filter((p) => {
    const live = p.isr.filter((b) => !(p.unreachableIsr ?? []).includes(b));
    return live.includes(brokerId) && live.length - 1 < p.minIsr;
  });
  const critical = Math.max(snapshot.perBroker[brokerId]?.isrCritical ?? 0, hurt.length);
  if (critical > 0) {
    const examples = hurt
      .slice(0, 3)
      .map((p) => `${p.topic}-${p.partition} (ISR ${p.isr.join(',')}, min ${p.minIsr})`)
      .join('; ');
    return verdict(
      false,
      `restarting live broker ${brokerId} would leave ${critical} partition(s) below min.insync.replicas${examples ? `: ${examples}` : ''}`,
    );
  }
  return verdict(true, `broker ${brokerId} is live and every partition it is in sync for keeps its min ISR without it`);
}
