// Cascade recovery rules (DESIGN.md safety rule 2; seed scenario 1): which failed brokers to recover
// and in what order, and when the cluster counts as recovered after the last one. Pure: reads one
// probe snapshot.
//
// - cascadeOrder: the brokers of the incident that are still down, in recoveryOrder (crashed
//   before hung, by id, the known active controller last). Brokers that came back on their own
//   are reported, not recovered.
// - verifyClusterRecovered: every expected broker registered and answering, no offline or
//   under-replicated partition, leadership balanced (after the preferred leader election), and
//   every watched consumer group's lag below the limit (1,000 messages by default). Balanced is
//   Kafka's own measure, not an even count: each live broker leads (nearly) every partition it is
//   the preferred leader (first replica) of. Kafka's preferred assignment is itself uneven when
//   partitions do not divide by brokers (9 partitions on 5 brokers: 1:1 2:3 3:2 4:2 5:1), and a
//   preferred leader election restores exactly that assignment, not an even spread.
import { isBrokerDown, recoveryOrder } from './safety.js';
import type { ClusterSnapshot } from './snapshot.js';

/** Seed scenario 1: the cascade is over when consumers are fewer than this many messages behind. */
export const DEFAULT_MAX_CONSUMER_LAG = 1000;

export interface CascadeOrder {
  /** Brokers to recover, one at a time, in this order. */
  order: number[];
  /** Brokers of the incident that are up again and are left alone. */
  alreadyUp: number[];
  summary: string;
}

export function cascadeOrder(s: ClusterSnapshot, requested: number[]): CascadeOrder {
  const wanted = new Set(requested);
  const downIds = new Set(s.brokers.filter(isBrokerDown).map((b) => b.id));
  // Requested brokers unknown to the metadata (not even as a replica) are down too: crashed and
  // forgotten. They go first, like any broker missing from the metadata.
  const unknown = [...wanted].filter((id) => !s.brokers.some((b) => b.id === id)).sort((a, b) => a - b);
  const order = [...unknown, ...recoveryOrder(s).filter((id) => wanted.has(id))];
  const alreadyUp = [...wanted].filter((id) => !order.includes(id) && !downIds.has(id)).sort((a, b) => a - b);
  const controller =
    s.controller.known && s.controller.id !== null && order.includes(s.controller.id)
      ? `, active controller ${s.controller.id} last`
      : '';
  const up = alreadyUp.length > 0 ? `; up again, left alone: ${alreadyUp.join(', ')}` : '';
  const summary =
    order.length > 0
      ? `recover brokers ${order.join(', ')} one at a time${controller}${up}`
      : `no broker of ${requested.join(', ')} is down any more${up}`;
  return { order, alreadyUp, summary };
}

export interface ClusterVerification {
  recovered: boolean;
  /** One line per unmet condition, empty when recovered. */
  problems: string[];
  /** Largest total lag of a watched consumer group (0 when none is watched). */
  maxConsumerLag: number;
  /** Most minus fewest partitions led by one live broker (informational: uneven by design when partitions do not divide by brokers). */
  leaderSpread: number;
  /** Partitions of live brokers led by another broker than their preferred leader. */
  notPreferredLeaders: number;
  summary: string;
}

/**
 * Kafka's default leader.imbalance.per.broker.percentage (10): a live broker that does not lead
 * more than this share of the partitions it is the preferred leader of is out of balance; a
 * recovered broker that leads nothing after the preferred leader election shows up here.
 */
export const LEADER_IMBALANCE_PER_BROKER = 0.1;

interface PreferredLeaderCheck {
  notPreferredLeaders: number;
  /** One line when unbalanced or unknown. */
  problem?: string;
}

function checkPreferredLeaders(s: ClusterSnapshot): PreferredLeaderCheck {
  const preferred = s.partitions.preferredLeaders;
  if (preferred === undefined)
    return { notPreferredLeaders: 0, problem: 'leadership balance unknown: the probe reported no preferred leaders' };
  const live = new Set(s.brokers.filter((b) => !isBrokerDown(b)).map((b) => b.id));
  const brokers = Object.entries(preferred)
    .map(([id, c]) => ({ id: Number(id), ...c }))
    .filter((b) => live.has(b.id) && b.preferredFor > 0);
  const notPreferredLeaders = brokers.reduce((n, b) => n + b.notLed, 0);
  const off = brokers.filter((b) => b.notLed / b.preferredFor > LEADER_IMBALANCE_PER_BROKER);
  if (off.length === 0) return { notPreferredLeaders };
  const detail = off
    .map(
      (b) =>
        `broker ${b.id} leads ${b.preferredFor - b.notLed} of the ${b.preferredFor} partition(s) it is the preferred leader of`,
    )
    .join(', ');
  return {
    notPreferredLeaders,
    problem: `leadership unbalanced: ${detail} (more than ${LEADER_IMBALANCE_PER_BROKER * 100}% off)`,
  };
}

export function verifyClusterRecovered(
  s: ClusterSnapshot,
  maxConsumerLag = DEFAULT_MAX_CONSUMER_LAG,
): ClusterVerification {
  const problems: string[] = [];
  const down = s.brokers.filter(isBrokerDown).map((b) => b.id);
  if (down.length > 0) problems.push(`brokers ${down.join(', ')} are down`);
  const registered = s.registeredBrokers.length;
  if (s.expectedBrokers !== undefined && registered < s.expectedBrokers)
    problems.push(`${registered} of ${s.expectedBrokers} brokers registered`);
  if (s.status !== 'healthy' && s.status !== 'degraded') problems.push(`the probe says the cluster is ${s.status}`);
  const p = s.partitions;
  if (p.offline > 0) problems.push(`${p.offline} offline partition(s)`);
  if (p.underReplicated > 0) problems.push(`${p.underReplicated} under-replicated partition(s)`);
  if (p.underMinIsr > 0) problems.push(`${p.underMinIsr} partition(s) under min.insync.replicas`);

  const live = s.brokers
    .filter((b) => !isBrokerDown(b))
    .flatMap((b) => {
      const c = s.perBroker[b.id];
      return c !== undefined && c.replicaFor > 0 ? [{ id: b.id, leaderFor: c.leaderFor }] : [];
    });
  const led = live.map((b) => b.leaderFor);
  const leaderSpread = led.length > 0 ? Math.max(...led) - Math.min(...led) : 0;
  const balance = checkPreferredLeaders(s);
  if (balance.problem !== undefined) problems.push(balance.problem);

  const lags = s.consumerGroups.map((g) => g.totalLag);
  const maxLag = lags.length > 0 ? Math.max(...lags) : 0;
  const behind = s.consumerGroups.filter((g) => g.totalLag >= maxConsumerLag).map((g) => `${g.group} (${g.totalLag})`);
  if (behind.length > 0) problems.push(`consumer lag not below ${maxConsumerLag}: ${behind.join(', ')}`);
  const unread = s.consumerGroups.filter((g) => g.error !== undefined).map((g) => g.group);
  if (unread.length > 0) problems.push(`consumer lag unknown for ${unread.join(', ')}`);

  const recovered = problems.length === 0;
  const groups = s.consumerGroups.length === 0 ? 'no consumer group watched' : `max consumer lag ${maxLag}`;
  const summary = recovered
    ? `all ${registered} brokers up, ${p.total} partitions in sync, leadership balanced (${balance.notPreferredLeaders} partition(s) off their preferred leader; leaders per broker ${live.map((b) => `${b.id}:${b.leaderFor}`).join(' ')}), ${groups}`
    : `not recovered: ${problems.join('; ')}`;
  return {
    recovered,
    problems,
    maxConsumerLag: maxLag,
    leaderSpread,
    notPreferredLeaders: balance.notPreferredLeaders,
    summary,
  };
}
