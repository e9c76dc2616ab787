// The capacity planner behind `kafka-heal capacity`: from a workload (messages per second,
// message size, consumer groups, retention, replication, peak multiplier) to the throughput,
// storage, network, broker count and partitions per topic a Kafka cluster needs, then what each
// broker needs (disk, traffic in and out, NIC, heap and page cache). Pure.
//
// The first seven figures are the production-operations runbook's capacity calculator, formula
// for formula and with its integer rounding (`int(x) + 1`), so both give the same answer. Its
// worked example: 100,000 msg/s of 1 KiB, 5 consumer groups, 7 days, RF 3, peak 2.5 gives
// write 97.65625 MB/s, network 781.25 MB/s, 3 brokers, 10 partitions per topic.
//
// Units: MB = 1024 * 1024 bytes, GB = 1024 MB, TB = 1024 * 1024 MB; Gbit/s = 10^9 bit/s. Rules of
// thumb (the runbook's): one broker handles 100 MB/s of producer traffic, one partition 10 MB/s.
//
//   writeMBps          = messagesPerSecond * messageBytes / MB          average producer traffic
//   readMBps           = writeMBps * consumerGroups                     every group reads everything
//   peakMBps           = writeMBps * peakMultiplier                     producer traffic at peak
//   storageTB          = writeMBps * 86,400 * retentionDays * replicationFactor / (1024 * 1024)
//   networkMBps        = readMBps + writeMBps * (replicationFactor - 1) + writeMBps
//                        (consumers, replica fetches for the other RF - 1 copies, producers;
//                        all at the average rate)
//   brokers            = int(peakMBps / 100) + 1
//   partitionsPerTopic = int(writeMBps / 10) + 1                        at the average rate
//
// int() here rounds down exact arithmetic: a product that floating point puts a hair below a
// multiple (100 x 2.3 = 229.99999999999997) counts as the multiple (floorTolerant).
//
// Extra figures, not in the runbook's calculator:
//   peakNetworkMBps        = networkMBps * peakMultiplier     the same traffic while the peak lasts
//   peakPartitionsPerTopic = int(peakMBps / 10) + 1           partitions that keep up at the peak
//   clusterBrokers         = brokers given, else max(brokers, replicationFactor)
//   diskPerBrokerTB        = storageTB * safetyMargin / clusterBrokers
//   ingressPerBrokerMBps   = writeMBps * replicationFactor / clusterBrokers
//                            (producer traffic to the leaders plus replica fetches into followers)
//   egressPerBrokerMBps    = (readMBps + writeMBps * (replicationFactor - 1)) / clusterBrokers
//                            (consumer fetches plus replica fetches out of the leaders)
//   nicGbps                = max(ingress, egress) per broker * peakMultiplier * 8 * MB / 10^9
//   nicClassGbps           = the smallest of NIC_CLASSES_GBPS that carries nicGbps, else null
//   heapGB                 = min(8, max(4, floor(instanceMemoryGB / 4)))  (the runbook: 4-8 GB)
//   pageCacheGB            = instanceMemoryGB - heapGB

export const BYTES_PER_MB = 1024 * 1024;
export const MB_PER_TB = 1024 * 1024;
export const SECONDS_PER_DAY = 86_400;
export const BROKER_MBPS = 100;
export const PARTITION_MBPS = 10;
export const DEFAULT_PEAK_MULTIPLIER = 3;
export const DEFAULT_SAFETY_MARGIN = 1.25;
export const HEAP_MIN_GB = 4;
export const HEAP_MAX_GB = 8;
/** Common network interface speeds, Gbit/s (EC2 instance network performance tiers). */
export const NIC_CLASSES_GBPS = [1, 10, 25, 50, 100, 200, 400] as const;

export interface CapacityInput {
  messagesPerSecond: number;
  messageBytes: number;
  consumerGroups: number;
  retentionDays: number;
  replicationFactor: number;
  /** Peak traffic as a multiple of the average; DEFAULT_PEAK_MULTIPLIER when absent. */
  peakMultiplier?: number;
  /** Brokers the cluster has or will have; per-broker figures divide by it. */
  brokers?: number;
  /** Head room on disk per broker; DEFAULT_SAFETY_MARGIN when absent. */
  safetyMargin?: number;
  /** Memory of one broker instance, GB; heap and page cache are planned only with it. */
  instanceMemoryGB?: number;
}

/** The planner's answer; the keys are the `--json` output of `kafka-heal capacity`. */
export interface CapacityPlan {
  writeMBps: number;
  readMBps: number;
  peakMBps: number;
  storageTB: number;
  networkMBps: number;
  brokers: number;
  partitionsPerTopic: number;
  peakNetworkMBps: number;
  peakPartitionsPerTopic: number;
  clusterBrokers: number;
  diskPerBrokerTB: number;
  ingressPerBrokerMBps: number;
  egressPerBrokerMBps: number;
  nicGbps: number;
  /** null: no NIC in NIC_CLASSES_GBPS carries it; spread the load over more brokers. */
  nicClassGbps: number | null;
  /** null without instanceMemoryGB. */
  heapGB: number | null;
  pageCacheGB: number | null;
}

/** Workload figures the planner cannot use; `issues` names every bad field. */
export class CapacityInputError extends Error {
  override readonly name = 'CapacityInputError';
  constructor(readonly issues: { field: keyof CapacityInput; message: string }[]) {
    super(issues.map((i) => `${i.field}: ${i.message}`).join('; '));
  }
}

interface Bound {
  min: number;
  max: number;
  integer: boolean;
  /** The minimum itself is excluded (retention and multipliers must be above it). */
  exclusiveMin?: boolean;
}

/** Accepted ranges; the CLI quotes them in its errors and --help. */
export const CAPACITY_BOUNDS: Record<keyof CapacityInput, Bound> = {
  messagesPerSecond: { min: 1, max: 100_000_000, integer: true },
  // Kafka's own ceiling for message.max.bytes is far below 1 GB; 100 MB covers every sane setting.
  messageBytes: { min: 1, max: 100 * BYTES_PER_MB, integer: true },
  consumerGroups: { min: 0, max: 10_000, integer: true },
  retentionDays: { min: 0, max: 36_500, integer: false, exclusiveMin: true },
  replicationFactor: { min: 1, max: 10, integer: true },
  peakMultiplier: { min: 1, max: 100, integer: false },
  brokers: { min: 1, max: 10_000, integer: true },
  safetyMargin: { min: 1, max: 10, integer: false },
  // The 4 GB minimum heap and as much again for the page cache; 24 TiB is the largest EC2 instance.
  instanceMemoryGB: { min: 2 * HEAP_MIN_GB, max: 24_576, integer: false },
};

/** Describes one bound for messages: "a whole number from 1 to 10". */
export function describeBound(b: Bound): string {
  const kind = b.integer ? 'a whole number' : 'a number';
  return b.exclusiveMin ? `${kind} above ${b.min} and at most ${b.max}` : `${kind} from ${b.min} to ${b.max}`;
}

function check(field: keyof CapacityInput, value: number, issues: CapacityInputError['issues']): void {
  const b = CAPACITY_BOUNDS[field];
  const ok =
    Number.isFinite(value) &&
    (!b.integer || Number.isInteger(value)) &&
    (b.exclusiveMin ? value > b.min : value >= b.min) &&
    value <= b.max;
  if (!ok) issues.push({ field, message: `expected ${describeBound(b)}, got ${value}` });
}

/**
 * Rounds down, ignoring floating-point noise below a billionth: 100 MB/s x 2.3 is
 * 229.99999999999997 in floating point, and still needs the partitions of 230 MB/s.
 */
export function floorTolerant(x: number): number {
  return Math.floor(Number(x.toFixed(9)));
}

/** The runbook's `int(x) + 1`: one more unit at an exact multiple, where a ceiling adds none. */
function runbookCount(mbps: number, perUnitMBps: number): number {
  return floorTolerant(mbps / perUnitMBps) + 1;
}

function validate(input: CapacityInput): void {
  const issues: CapacityInputError['issues'] = [];
  const required = [
    'messagesPerSecond',
    'messageBytes',
    'consumerGroups',
    'retentionDays',
    'replicationFactor',
  ] as const;
  for (const field of required) check(field, input[field], issues);
  for (const field of ['peakMultiplier', 'brokers', 'safetyMargin', 'instanceMemoryGB'] as const) {
    const value = input[field];
    if (value !== undefined) check(field, value, issues);
  }
  if (input.brokers !== undefined && issues.length === 0 && input.replicationFactor > input.brokers) {
    issues.push({
      field: 'replicationFactor',
      message: `expected at most the ${input.brokers} broker(s) given, got ${input.replicationFactor}: every replica of a partition needs its own broker`,
    });
  }
  if (issues.length > 0) throw new CapacityInputError(issues);
}

/** The runbook's heap of 4-8 GB: a quarter of the instance, whole GB; the rest is page cache. */
function planMemory(instanceMemoryGB: number): { heapGB: number; pageCacheGB: number } {
  const heapGB = Math.min(HEAP_MAX_GB, Math.max(HEAP_MIN_GB, Math.floor(instanceMemoryGB / 4)));
  return { heapGB, pageCacheGB: instanceMemoryGB - heapGB };
}

export function planCapacity(input: CapacityInput): CapacityPlan {
  validate(input);
  const peakMultiplier = input.peakMultiplier ?? DEFAULT_PEAK_MULTIPLIER;
  const safetyMargin = input.safetyMargin ?? DEFAULT_SAFETY_MARGIN;
  const rf = input.replicationFactor;

  const writeMBps = (input.messagesPerSecond * input.messageBytes) / BYTES_PER_MB;
  const readMBps = writeMBps * input.consumerGroups;
  const replicationMBps = writeMBps * (rf - 1);
  const peakMBps = writeMBps * peakMultiplier;
  const storageTB = (writeMBps * SECONDS_PER_DAY * input.retentionDays * rf) / MB_PER_TB;
  const networkMBps = readMBps + replicationMBps + writeMBps;
  const brokers = runbookCount(peakMBps, BROKER_MBPS);
  const partitionsPerTopic = runbookCount(writeMBps, PARTITION_MBPS);

  const clusterBrokers = input.brokers ?? Math.max(brokers, rf);
  const ingressPerBrokerMBps = (writeMBps + replicationMBps) / clusterBrokers;
  const egressPerBrokerMBps = (readMBps + replicationMBps) / clusterBrokers;
  const nicGbps = (Math.max(ingressPerBrokerMBps, egressPerBrokerMBps) * peakMultiplier * BYTES_PER_MB * 8) / 1e9;
  const nicClassGbps = NIC_CLASSES_GBPS.find((c) => Number(nicGbps.toFixed(9)) <= c) ?? null;
  const memory =
    input.instanceMemoryGB === undefined ? { heapGB: null, pageCacheGB: null } : planMemory(input.instanceMemoryGB);

  return {
    writeMBps,
    readMBps,
    peakMBps,
    storageTB,
    networkMBps,
    brokers,
    partitionsPerTopic,
    peakNetworkMBps: networkMBps * peakMultiplier,
    peakPartitionsPerTopic: runbookCount(peakMBps, PARTITION_MBPS),
    clusterBrokers,
    diskPerBrokerTB: (storageTB * safetyMargin) / clusterBrokers,
    ingressPerBrokerMBps,
    egressPerBrokerMBps,
    nicGbps,
    nicClassGbps,
    ...memory,
  };
}
