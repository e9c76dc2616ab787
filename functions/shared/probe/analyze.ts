// Pure reading of what the probe fetched: partition health overall and per broker, the broker
// list, and the verdict. Kept apart from the network code so every rule is unit-tested.
import type {
  BrokerObservation,
  BrokerPartitionCounts,
  ClusterSnapshot,
  PartitionDetail,
  PartitionSummary,
  SnapshotStatus,
} from '../../domain/snapshot.js';

export interface RawPartition {
  topic: string;
  partition: number;
  leader: number;
  replicas: number[];
  isr: number[];
  offlineReplicas: number[];
}

export function isOffline(p: RawPartition): boolean {
  return p.leader < 0;
}

export function isUnderReplicated(p: RawPartition): boolean {
  return p.isr.length < p.replicas.length;
}

export function summarizePartitions(
  partitions: RawPartition[],
  minIsrFor: (topic: string) => number,
  brokerIds: number[],
): { summary: PartitionSummary; perBroker: Record<number, BrokerPartitionCounts> } {
  const perBroker: Record<number, BrokerPartitionCounts> = {};
  const counts = (id: number): BrokerPartitionCounts => (perBroker[id] ??= { leaderFor: 0, replicaFor: 0, underReplicated: 0, offline: 0, isrCritical: 0 });
  for (const id of brokerIds) counts(id);
  const details: PartitionDetail[] = [];
  let offline = 0;
  let underReplicated = 0;
  let underMinIsr = 0;
  for (const p of partitions) {
    const minIsr = minIsrFor(p.topic);
    const off = isOffline(p);
    const urp = isUnderReplicated(p);
    const umi = p.isr.length < minIsr;
    if (off) offline++;
    if (urp) underReplicated++;
    if (umi) underMinIsr++;
    if (p.leader >= 0) counts(p.leader).leaderFor++;
    if (p.isr.length - 1 < minIsr) for (const r of p.isr) counts(r).isrCritical++;
    for (const r of p.replicas) {
      const c = counts(r);
      c.replicaFor++;
      if (urp) c.underReplicated++;
      if (off) c.offline++;
    }
    if (off || urp || umi) {
      details.push({ topic: p.topic, partition: p.partition, leader: p.leader, replicas: [...p.replicas], isr: [...p.isr], offlineReplicas: [...p.offlineReplicas], minIsr });
    }
  }
  details.sort((a, b) => (a.topic === b.topic ? a.partition - b.partition : a.topic < b.topic ? -1 : 1));
  return { summary: { total: partitions.length, offline, underReplicated, underMinIsr, details }, perBroker };
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
}

export function verdict(x: VerdictInput): SnapshotStatus {
  if (!x.bootstrapReachable) return 'down';
  // A bootstrap server answered but the metadata did not come back: we cannot tell.
  if (!x.metadataRead) return 'unknown';
  if (x.brokers.length > 0 && !x.brokers.some((b) => b.reachable)) return 'down';
  const missing = x.expectedBrokers !== undefined && x.registeredBrokers.length < x.expectedBrokers;
  const brokerTrouble = x.brokers.some((b) => !b.registered || !b.reachable);
  const partitionTrouble = x.partitions.offline > 0 || x.partitions.underReplicated > 0 || x.partitions.underMinIsr > 0;
  if (missing || brokerTrouble || partitionTrouble) return 'degraded';
  return x.errors.length > 0 ? 'unknown' : 'healthy';
}

/** One line per problem, for the CLI, logs and the incident timeline. */
export function describeProblems(s: ClusterSnapshot): string[] {
  const lines: string[] = [];
  if (!s.bootstrapReachable) lines.push('no bootstrap server answered');
  if (s.expectedBrokers !== undefined && s.registeredBrokers.length < s.expectedBrokers) {
    lines.push(`${s.registeredBrokers.length} of ${s.expectedBrokers} expected brokers registered`);
  }
  for (const b of s.brokers) {
    if (!b.registered) lines.push(`broker ${b.id} not registered`);
    else if (!b.reachable) lines.push(`broker ${b.id} unreachable: ${b.error ?? 'no answer'}`);
  }
  if (s.partitions.offline > 0) lines.push(`${s.partitions.offline} offline partition(s)`);
  if (s.partitions.underReplicated > 0) lines.push(`${s.partitions.underReplicated} under-replicated partition(s)`);
  if (s.partitions.underMinIsr > 0) lines.push(`${s.partitions.underMinIsr} partition(s) under min ISR`);
  return lines;
}
