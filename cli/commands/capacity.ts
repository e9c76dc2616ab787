// `kafka-heal capacity`: the capacity planner (tools/capacity.ts) on the command line.
// A table by default, the plan as JSON with --json. The formulas are in --help and in
// docs/operations.md, so nobody has to read code to trust the numbers.
import { parseFlags, requireFlag, UsageError, type Command } from '../args.js';
import {
  BROKER_MBPS,
  CAPACITY_BOUNDS,
  CapacityInputError,
  DEFAULT_PEAK_MULTIPLIER,
  DEFAULT_SAFETY_MARGIN,
  describeBound,
  HEAP_MAX_GB,
  HEAP_MIN_GB,
  NIC_CLASSES_GBPS,
  PARTITION_MBPS,
  planCapacity,
  type CapacityInput,
  type CapacityPlan,
} from '#tools/capacity.js';

/** The flag of every input field, for errors that name what the user typed. */
export const CAPACITY_FLAGS: Record<keyof CapacityInput, string> = {
  messagesPerSecond: 'messages-per-second',
  messageBytes: 'message-bytes',
  consumerGroups: 'consumer-groups',
  retentionDays: 'retention-days',
  replicationFactor: 'replication-factor',
  peakMultiplier: 'peak-multiplier',
  brokers: 'brokers',
  safetyMargin: 'safety-margin',
  instanceMemoryGB: 'instance-memory-gb',
};

const NUMBER = /^\d+(?:\.\d+)?$/;

function numberFlag(text: string, field: keyof CapacityInput): number {
  if (!NUMBER.test(text))
    throw new UsageError(`--${CAPACITY_FLAGS[field]} must be ${describeBound(CAPACITY_BOUNDS[field])}, got "${text}"`);
  return Number(text);
}

function requiredNumberFlag(text: string | undefined, field: keyof CapacityInput): number {
  return numberFlag(requireFlag(text, CAPACITY_FLAGS[field]), field);
}

function optionalNumberFlag(text: string | undefined, field: keyof CapacityInput): number | undefined {
  return text === undefined ? undefined : numberFlag(text, field);
}

/**
 * `--message-bytes -5` reads to node's parser as a flag with no value followed by an unknown
 * flag `-5`; joined into `--message-bytes=-5` it reaches the number check, which names the
 * flag and the value.
 */
function joinNegativeValues(argv: string[]): string[] {
  const valueFlags = new Set(Object.values(CAPACITY_FLAGS).map((f) => `--${f}`));
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const next = argv[i + 1];
    if (valueFlags.has(arg) && next !== undefined && /^-[\d.]/.test(next)) {
      out.push(`${arg}=${next}`);
      i++;
    } else {
      out.push(arg);
    }
  }
  return out;
}

function fixed(n: number, digits: number): number {
  return Number(n.toFixed(digits));
}

function fixedOrNull(n: number | null, digits: number): number | null {
  return n === null ? null : fixed(n, digits);
}

/** The plan as printed: MB/s, Gbit/s and GB to 2 decimals, TB to 3 (the JSON output uses the same). */
export function roundPlan(p: CapacityPlan): CapacityPlan {
  return {
    writeMBps: fixed(p.writeMBps, 2),
    readMBps: fixed(p.readMBps, 2),
    peakMBps: fixed(p.peakMBps, 2),
    storageTB: fixed(p.storageTB, 3),
    networkMBps: fixed(p.networkMBps, 2),
    brokers: p.brokers,
    partitionsPerTopic: p.partitionsPerTopic,
    peakNetworkMBps: fixed(p.peakNetworkMBps, 2),
    peakPartitionsPerTopic: p.peakPartitionsPerTopic,
    clusterBrokers: p.clusterBrokers,
    diskPerBrokerTB: fixed(p.diskPerBrokerTB, 3),
    ingressPerBrokerMBps: fixed(p.ingressPerBrokerMBps, 2),
    egressPerBrokerMBps: fixed(p.egressPerBrokerMBps, 2),
    nicGbps: fixed(p.nicGbps, 2),
    nicClassGbps: p.nicClassGbps,
    heapGB: p.heapGB,
    pageCacheGB: fixedOrNull(p.pageCacheGB, 2),
  };
}

type Row = [label: string, value: string, why: string] | string;

function table(rows: Row[]): string {
  const cells = rows.filter((r): r is [string, string, string] => typeof r !== 'string');
  const w0 = Math.max(...cells.map((r) => r[0].length));
  const w1 = Math.max(...cells.map((r) => r[1].length));
  return rows
    .map((r) => (typeof r === 'string' ? r : `  ${r[0].padEnd(w0)}  ${r[1].padStart(w1)}  (${r[2]})`))
    .join('\n');
}

function brokersHeading(input: CapacityInput, p: CapacityPlan): string {
  if (input.brokers === undefined)
    return `Per broker, ${p.clusterBrokers} brokers (max(brokers, RF ${input.replicationFactor})):`;
  const short = input.brokers < p.brokers ? `, fewer than the runbook's ${p.brokers}` : '';
  return `Per broker, ${p.clusterBrokers} brokers (given${short}):`;
}

/** The input with its defaults filled in, as the report quotes it. */
export type PlannedInput = CapacityInput & { peakMultiplier: number; safetyMargin: number };

export function renderPlan(input: PlannedInput, plan: CapacityPlan): string {
  const p = roundPlan(plan);
  const peak = input.peakMultiplier;
  const nic =
    p.nicClassGbps === null
      ? `no NIC up to ${NIC_CLASSES_GBPS.at(-1)} Gbit/s carries it: add brokers`
      : `a ${p.nicClassGbps} Gbit/s NIC`;
  const memory = input.instanceMemoryGB;
  const rows: Row[] = [
    'MB = 1024*1024 bytes, GB = 1024 MB, TB = 1024*1024 MB, Gbit/s = 10^9 bit/s',
    "The runbook's calculator (average rate):",
    ['write throughput', `${p.writeMBps} MB/s`, `${input.messagesPerSecond} msg/s x ${input.messageBytes} B`],
    ['read throughput', `${p.readMBps} MB/s`, `write x ${input.consumerGroups} consumer group(s)`],
    ['peak write', `${p.peakMBps} MB/s`, `write x ${peak} peak multiplier`],
    ['storage', `${p.storageTB} TB`, `write x 86400 s x ${input.retentionDays} day(s) x RF ${input.replicationFactor}`],
    ['network', `${p.networkMBps} MB/s`, 'read + write x (RF - 1) replication + write'],
    ['brokers', String(p.brokers), `int(peak / ${BROKER_MBPS} MB/s) + 1`],
    ['partitions per topic', String(p.partitionsPerTopic), `int(write / ${PARTITION_MBPS} MB/s) + 1`],
    'At peak (not in the runbook: what the average-rate figures leave out):',
    ['network at peak', `${p.peakNetworkMBps} MB/s`, `network x ${peak}: the NICs carry this while the peak lasts`],
    [
      'partitions at peak',
      String(p.peakPartitionsPerTopic),
      `int(peak / ${PARTITION_MBPS} MB/s) + 1: partitions sized on the average fall behind at peak`,
    ],
    brokersHeading(input, p),
    ['disk', `${p.diskPerBrokerTB} TB`, `storage x ${input.safetyMargin} safety margin / brokers`],
    ['ingress', `${p.ingressPerBrokerMBps} MB/s`, 'write x RF / brokers: producers and replica fetches in'],
    [
      'egress',
      `${p.egressPerBrokerMBps} MB/s`,
      'read + write x (RF - 1), / brokers: consumers and replica fetches out',
    ],
    ['NIC', `${p.nicGbps} Gbit/s`, `busier direction x ${peak} peak multiplier: ${nic}`],
    memory === undefined
      ? ['JVM heap, page cache', '-', 'give --instance-memory-gb to plan them']
      : ['JVM heap', `${p.heapGB} GB`, `a quarter of ${memory} GB, kept within ${HEAP_MIN_GB}-${HEAP_MAX_GB} GB`],
  ];
  if (memory !== undefined) rows.push(['page cache', `${p.pageCacheGB} GB`, 'the rest of the instance']);
  return table(rows);
}

export const capacityCommand: Command = {
  path: ['capacity'],
  summary: "plan a cluster from a workload with the runbook's calculator, plus peak and per-broker sizing",
  usage: [
    'kafka-heal capacity --messages-per-second N --message-bytes N --consumer-groups N --retention-days N',
    `                    --replication-factor N [--peak-multiplier X (default ${DEFAULT_PEAK_MULTIPLIER})] [--brokers N]`,
    `                    [--safety-margin X (default ${DEFAULT_SAFETY_MARGIN})] [--instance-memory-gb X] [--json]`,
    '',
    '  --messages-per-second  average produce rate, ' + describeBound(CAPACITY_BOUNDS.messagesPerSecond),
    '  --message-bytes        average message size in bytes, ' + describeBound(CAPACITY_BOUNDS.messageBytes),
    '  --consumer-groups      groups that each read every message, ' + describeBound(CAPACITY_BOUNDS.consumerGroups),
    '  --retention-days       ' + describeBound(CAPACITY_BOUNDS.retentionDays),
    '  --replication-factor   ' + describeBound(CAPACITY_BOUNDS.replicationFactor) + ', at most --brokers',
    '  --peak-multiplier      peak rate / average rate, ' + describeBound(CAPACITY_BOUNDS.peakMultiplier),
    '  --brokers              brokers the cluster has; per-broker figures divide by it, ' +
      describeBound(CAPACITY_BOUNDS.brokers),
    '  --safety-margin        disk head room, ' + describeBound(CAPACITY_BOUNDS.safetyMargin),
    '  --instance-memory-gb   memory of one broker instance in GB, for heap and page cache, ' +
      describeBound(CAPACITY_BOUNDS.instanceMemoryGB),
    '',
    "The runbook's calculator (MB = 1024*1024 bytes, TB = 1024*1024 MB, int() rounds down):",
    '  writeMBps              = messages/s x message bytes / MB',
    '  readMBps               = writeMBps x consumer groups',
    '  peakMBps               = writeMBps x peak multiplier',
    '  storageTB              = writeMBps x 86400 x retention days x replication factor / (1024*1024)',
    '  networkMBps            = readMBps + writeMBps x (replication factor - 1) + writeMBps',
    `  brokers                = int(peakMBps / ${BROKER_MBPS}) + 1`,
    `  partitionsPerTopic     = int(writeMBps / ${PARTITION_MBPS}) + 1`,
    'Extra figures:',
    '  peakNetworkMBps        = networkMBps x peak multiplier (networkMBps is at the average rate)',
    `  peakPartitionsPerTopic = int(peakMBps / ${PARTITION_MBPS}) + 1 (partitionsPerTopic keeps up with the average only)`,
    '  clusterBrokers         = --brokers, else max(brokers, replication factor)',
    '  diskPerBrokerTB        = storageTB x safety margin / clusterBrokers',
    '  ingressPerBrokerMBps   = writeMBps x replication factor / clusterBrokers',
    '  egressPerBrokerMBps    = (readMBps + writeMBps x (replication factor - 1)) / clusterBrokers',
    '  nicGbps                = max(ingress, egress) per broker x peak multiplier x 8 x MB / 10^9',
    `  nicClassGbps           = the smallest of ${NIC_CLASSES_GBPS.join(', ')} Gbit/s at least nicGbps, else null`,
    `  heapGB                 = floor(instance memory / 4), kept within ${HEAP_MIN_GB}-${HEAP_MAX_GB}; pageCacheGB = instance memory - heapGB`,
    '--json prints exactly these keys (MB/s, Gbit/s, GB to 2 decimals, TB to 3; heap and page cache null',
    'without --instance-memory-gb). exit 0; 2 on bad input.',
  ].join('\n'),
  async run(argv, io) {
    const { values } = parseFlags(joinNegativeValues(argv), {
      'messages-per-second': { type: 'string' },
      'message-bytes': { type: 'string' },
      'consumer-groups': { type: 'string' },
      'retention-days': { type: 'string' },
      'replication-factor': { type: 'string' },
      'peak-multiplier': { type: 'string' },
      brokers: { type: 'string' },
      'safety-margin': { type: 'string' },
      'instance-memory-gb': { type: 'string' },
      json: { type: 'boolean', default: false },
    });
    const input: PlannedInput = {
      messagesPerSecond: requiredNumberFlag(values['messages-per-second'], 'messagesPerSecond'),
      messageBytes: requiredNumberFlag(values['message-bytes'], 'messageBytes'),
      consumerGroups: requiredNumberFlag(values['consumer-groups'], 'consumerGroups'),
      retentionDays: requiredNumberFlag(values['retention-days'], 'retentionDays'),
      replicationFactor: requiredNumberFlag(values['replication-factor'], 'replicationFactor'),
      peakMultiplier: optionalNumberFlag(values['peak-multiplier'], 'peakMultiplier') ?? DEFAULT_PEAK_MULTIPLIER,
      brokers: optionalNumberFlag(values.brokers, 'brokers'),
      safetyMargin: optionalNumberFlag(values['safety-margin'], 'safetyMargin') ?? DEFAULT_SAFETY_MARGIN,
      instanceMemoryGB: optionalNumberFlag(values['instance-memory-gb'], 'instanceMemoryGB'),
    };
    let plan: CapacityPlan;
    try {
      plan = planCapacity(input);
    } catch (err) {
      if (!(err instanceof CapacityInputError)) throw err;
      throw new UsageError(err.issues.map((i) => `--${CAPACITY_FLAGS[i.field]}: ${i.message}`).join('; '));
    }
    io.stdout(values.json ? JSON.stringify(roundPlan(plan), null, 2) : renderPlan(input, plan));
    return 0;
  },
};
