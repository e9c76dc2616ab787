// Pure reading of what the probe fetched: partition health overall and per broker, the broker
// list, and the verdict. Kept apart from the network code so every rule is unit-tested.
import type {
  AccessOutcome,
  BrokerObservation,
  BrokerPartitionCounts,
  ClusterSnapshot,
  PartitionDetail,
  PartitionSummary,
  PreferredLeadership,
  SnapshotStatus,
} from '#domain/snapshot.js';

/** A partition as the metadata response reports it, before min ISR and the live ISR are known. */
export type RawPartition = Pick<
  PartitionDetail,
  'topic' | 'partition' | 'leader' | 'replicas' | 'isr' | 'offlineReplicas'
>;

/**
 * A partition as it stands once brokers that are confirmed unreachable are taken out: the
 * metadata can lag behind (a hung broker stays in the ISR until its session times out, and with
 * the KRaft quorum lost nothing is removed at all), so an ISR member or leader that did not answer
 * the probe does not count.
 *
 * Offline means what Kafka's OfflinePartitionsCount means: no leader (-1), or a leader the
 * metadata no longer lists (fenced, or never registered). A leader the metadata still lists but
 * that did not answer is `leaderUnreachable` instead: a crashed broker stays listed until the
 * controller fences it (broker.session.timeout.ms), and counting its partitions offline for those
 * seconds would turn every single broker crash into an offline-partitions (data-loss risk) alarm.
 * Such a partition is still unavailable to clients, and it is under-replicated (its leader is not
 * in the live ISR). With the KRaft quorum lost nothing is fenced, so a dead leader stays listed:
 * those partitions read leaderUnreachable and (with the live ISR short) under min ISR, not
 * offline, as Kafka would report them (no active controller publishes OfflinePartitionsCount).
 */
export function effective(
  p: RawPartition,
  unreachable: ReadonlySet<number>,
  listed?: ReadonlySet<number>,
): { leaderLive: boolean; offline: boolean; leaderUnreachable: boolean; liveIsr: number[] } {
  const leaderLive = p.leader >= 0 && !unreachable.has(p.leader);
  // Without the listed set every silent leader counts as unlisted: the old, stricter reading.
  const leaderListed = p.leader >= 0 && (listed ? listed.has(p.leader) : !unreachable.has(p.leader));
  return {
    leaderLive,
    offline: !leaderListed,
    leaderUnreachable: leaderListed && !leaderLive,
    liveIsr: p.isr.filter((b) => !unreachable.has(b)),
  };
}

/**
 * Partition health overall and per broker. `unreachable`: brokers confirmed dead (not listed, or
 * listed and silent). `listed`: the brokers the metadata lists (registered); give it whenever it
 * is known, or a listed-but-silent leader is read as offline.
 */
export function summarizePartitions(
  partitions: RawPartition[],
  minIsrFor: (topic: string) => number,
  brokerIds: number[],
  unreachable: ReadonlySet<number> = new Set(),
  listed?: ReadonlySet<number>,
): { summary: PartitionSummary; perBroker: Record<number, BrokerPartitionCounts> } {
  const perBroker: Record<number, BrokerPartitionCounts> = {};
  const counts = (id: number): BrokerPartitionCounts =>
    (perBroker[id] ??= { leaderFor: 0, replicaFor: 0, underReplicated: 0, offline: 0, isrCritical: 0 });
  for (const id of brokerIds) counts(id);
  const details: PartitionDetail[] = [];
  let offline = 0;
  let leaderUnreachable = 0;
  let underReplicated = 0;
  let underMinIsr = 0;
  const preferredLeaders: Record<number, PreferredLeadership> = {};
  for (const p of partitions) {
    const preferred = p.replicas[0];
    if (preferred !== undefined) {
      const pl = (preferredLeaders[preferred] ??= { preferredFor: 0, notLed: 0 });
      pl.preferredFor++;
      if (p.leader !== preferred) pl.notLed++;
    }
    const minIsr = minIsrFor(p.topic);
    const e = effective(p, unreachable, listed);
    const off = e.offline;
    const urp = e.liveIsr.length < p.replicas.length;
    const umi = e.liveIsr.length < minIsr;
    if (off) offline++;
    if (e.leaderUnreachable) leaderUnreachable++;
    if (urp) underReplicated++;
    if (umi) underMinIsr++;
    if (p.leader >= 0) counts(p.leader).leaderFor++;
    if (e.liveIsr.length - 1 < minIsr) for (const r of e.liveIsr) counts(r).isrCritical++;
    for (const r of p.replicas) {
      const c = counts(r);
      c.replicaFor++;
      if (urp) c.underReplicated++;
      if (off) c.offline++;
    }
    if (off || e.leaderUnreachable || urp || umi) {
      const d: PartitionDetail = {
        topic: p.topic,
        partition: p.partition,
        leader: p.leader,
        replicas: [...p.replicas],
        isr: [...p.isr],
        offlineReplicas: [...p.offlineReplicas],
        minIsr,
      };
      const silent = p.isr.filter((b) => unreachable.has(b));
      if (silent.length > 0) d.unreachableIsr = silent;
      if (e.leaderUnreachable) d.leaderUnreachable = true;
      details.push(d);
    }
  }
  details.sort((a, b) => (a.topic === b.topic ? a.partition - b.partition : a.topic < b.topic ? -1 : 1));
  return {
    summary: {
      total: partitions.length,
      offline,
      leaderUnreachable,
      underReplicated,
      underMinIsr,
      details,
      preferredLeaders,
    },
    perBroker,
  };
}

/** Every broker id named by the metadata or by a replica list, ascending. */
export function knownBrokerIds(registered: number[], partitions: RawPartition[]): number[] {
  const ids = new Set(registered);
  for (const p of partitions) for (const r of p.replicas) ids.add(r);
  return [...ids].sort((a, b) => a - b);
}

export interface VerdictInput {
  bootstrapReachable: boolean;
  metadataRead: boolean;
  expectedBrokers?: number;
  registeredBrokers: number[];
  brokers: BrokerObservation[];
  partitions: PartitionSummary;
  errors: string[];
  /** Outcomes of the listeners that refused the probe (TLS or SASL), if any. */
  refused?: AccessOutcome[];
}

/**
 * The verdict. A refusal of the probe's TLS handshake or credentials is the observer's failure
 * (DESIGN.md safety rule 11): it is never 'down', and it is the verdict whenever it kept the probe
 * from seeing the cluster, or when it is the only thing wrong. What the probe did see wrong
 * (a silent broker, unhealthy partitions) still reads degraded.
 */
export function verdict(x: VerdictInput): SnapshotStatus {
  const refused = x.refused ?? [];
  const access: AccessOutcome | undefined = refused.includes('tls-failed')
    ? 'tls-failed'
    : refused.includes('auth-failed')
      ? 'auth-failed'
      : undefined;
  if (!x.bootstrapReachable) return access ?? 'down';
  // A bootstrap server answered but the metadata did not come back: we cannot tell.
  if (!x.metadataRead) return access ?? 'unknown';
  if (x.brokers.length > 0 && !x.brokers.some((b) => b.reachable)) return 'down';
  const missing = x.expectedBrokers !== undefined && x.registeredBrokers.length < x.expectedBrokers;
  const brokerTrouble = x.brokers.some((b) => !b.registered || !b.reachable);
  const partitionTrouble =
    x.partitions.offline > 0 ||
    (x.partitions.leaderUnreachable ?? 0) > 0 ||
    x.partitions.underReplicated > 0 ||
    x.partitions.underMinIsr > 0;
  if (missing || brokerTrouble || partitionTrouble) return 'degraded';
  if (access) return access;
  return x.errors.length > 0 ? 'unknown' : 'healthy';
}

/** One line per problem, for the CLI, logs and the incident timeline. */
export function describeProblems(s: ClusterSnapshot): string[] {
  const lines: string[] = [];
  for (const r of s.security?.refused ?? []) lines.push(`${r.outcome}: ${r.error}`);
  if (!s.bootstrapReachable && !s.security?.refused.length) lines.push('no bootstrap server answered');
  if (s.expectedBrokers !== undefined && s.registeredBrokers.length < s.expectedBrokers) {
    lines.push(`${s.registeredBrokers.length} of ${s.expectedBrokers} expected brokers registered`);
  }
  for (const b of s.brokers) {
    if (!b.registered) lines.push(`broker ${b.id} not registered`);
    else if (!b.reachable) lines.push(`broker ${b.id} unreachable: ${b.error ?? 'no answer'}`);
  }
  for (const c of s.security?.certificates ?? []) {
    if (c.daysToExpiry <= 0) lines.push(`certificate of ${c.server} expired ${c.notAfter}`);
  }
  if (s.partitions.offline > 0) lines.push(`${s.partitions.offline} offline partition(s)`);
  const silentLeaders = s.partitions.leaderUnreachable ?? 0;
  if (silentLeaders > 0)
    lines.push(`${silentLeaders} partition(s) whose leader does not answer (unavailable until another is elected)`);
  if (s.partitions.underReplicated > 0) lines.push(`${s.partitions.underReplicated} under-replicated partition(s)`);
  if (s.partitions.underMinIsr > 0) lines.push(`${s.partitions.underMinIsr} partition(s) under min ISR`);
  return lines;
}
