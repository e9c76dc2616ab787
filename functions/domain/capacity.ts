// The capacity planner behind `kafka-heal capacity`: from a workload (messages per second,
// message size, consumer groups, retention, replication, peak multiplier) to the throughput,
// storage, network, broker count and partitions per topic a Kafka cluster needs. Pure.
//
// Units: MB = 1024 * 1024 bytes, TB = 1024 * 1024 MB. Rules of thumb: one broker handles
// 100 MB/s of producer traffic, one partition 10 MB/s; a cluster has at least 3 brokers (so a
// replication factor of 3 and min.insync.replicas 2 survive one broker down).
//
//   writeMBps          = messagesPerSecond * messageBytes / MB          average producer traffic
//   readMBps           = writeMBps * consumerGroups                     every group reads everything
//   peakMBps           = writeMBps * peakMultiplier                     producer traffic at peak
//   storageTB          = writeMBps * 86,400 * retentionDays * replicationFactor / (1024 * 1024)
//   networkMBps        = peakMBps * replicationFactor + readMBps * peakMultiplier
//                        (at peak: produce into the leaders, replica fetches for the other
//                        RF - 1 copies, and every consumer group reading at the peak rate)
//   brokers            = max(3, ceil(peakMBps / 100))
//   partitionsPerTopic = max(brokers, ceil(peakMBps / 10))   (at least one leader per broker)

export const BYTES_PER_MB = 1024 * 1024;
export const MB_PER_TB = 1024 * 1024;
export const SECONDS_PER_DAY = 86_400;
export const BROKER_MBPS = 100;
export const PARTITION_MBPS = 10;
export const MIN_BROKERS = 3;
export const DEFAULT_PEAK_MULTIPLIER = 3;

export interface CapacityInput {
  messagesPerSecond: number;
  messageBytes: number;
  consumerGroups: number;
  retentionDays: number;
  replicationFactor: number;
  /** Peak traffic as a multiple of the average; DEFAULT_PEAK_MULTIPLIER when absent. */
  peakMultiplier?: number;
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
};

/** Describes one bound for messages: "a whole number from 1 to 10". */
export function describeBound(b: Bound): string {
  const kind = b.integer ? 'a whole number' : 'a number';
  return b.exclusiveMin ? `${kind} above ${b.min} and at most ${b.max}` : `${kind} from ${b.min} to ${b.max}`;
}

function check(field: keyof CapacityInput, value: number, issues: CapacityInputError['issues']): void {
  const b = CAPACITY_BOUNDS[field];
  const ok =
    Number.isFinite(value) && (!b.integer || Number.isInteger(value)) && (b.exclusiveMin ? value > b.min : value >= b.min) && value <= b.max;
  if (!ok) issues.push({ field, message: `expected ${describeBound(b)}, got ${value}` });
}

/**
 * Rounds up, ignoring floating-point noise below a billionth: 100.00000000001 MB/s (from a
 * multiplier like 1.1) still fits one 100 MB/s broker.
 */
export function ceilTolerant(x: number): number {
  return Math.ceil(Number(x.toFixed(9)));
}

export function planCapacity(input: CapacityInput): CapacityPlan {
  const peakMultiplier = input.peakMultiplier ?? DEFAULT_PEAK_MULTIPLIER;
  const issues: CapacityInputError['issues'] = [];
  check('messagesPerSecond', input.messagesPerSecond, issues);
  check('messageBytes', input.messageBytes, issues);
  check('consumerGroups', input.consumerGroups, issues);
  check('retentionDays', input.retentionDays, issues);
  check('replicationFactor', input.replicationFactor, issues);
  check('peakMultiplier', peakMultiplier, issues);
  if (issues.length > 0) throw new CapacityInputError(issues);

  const writeMBps = (input.messagesPerSecond * input.messageBytes) / BYTES_PER_MB;
  const readMBps = writeMBps * input.consumerGroups;
  const peakMBps = writeMBps * peakMultiplier;
  const storageTB = (writeMBps * SECONDS_PER_DAY * input.retentionDays * input.replicationFactor) / MB_PER_TB;
  const networkMBps = peakMBps * input.replicationFactor + readMBps * peakMultiplier;
  const brokers = Math.max(MIN_BROKERS, ceilTolerant(peakMBps / BROKER_MBPS));
  const partitionsPerTopic = Math.max(brokers, ceilTolerant(peakMBps / PARTITION_MBPS));
  return { writeMBps, readMBps, peakMBps, storageTB, networkMBps, brokers, partitionsPerTopic };
}
