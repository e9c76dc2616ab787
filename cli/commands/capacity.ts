// `kafka-heal capacity`: the capacity planner (functions/domain/capacity.ts) on the command line.
// A table by default, the plan as JSON with --json. The formulas are in --help and in
// docs/operations.md, so nobody has to read code to trust the numbers.
import { parseFlags, requireFlag, UsageError, type Command } from '../args.js';
import {
  BROKER_MBPS,
  CAPACITY_BOUNDS,
  CapacityInputError,
  DEFAULT_PEAK_MULTIPLIER,
  describeBound,
  MIN_BROKERS,
  PARTITION_MBPS,
  planCapacity,
  type CapacityInput,
  type CapacityPlan,
} from '../../functions/domain/capacity.js';

/** The flag of every input field, for errors that name what the user typed. */
export const CAPACITY_FLAGS: Record<keyof CapacityInput, string> = {
  messagesPerSecond: 'messages-per-second',
  messageBytes: 'message-bytes',
  consumerGroups: 'consumer-groups',
  retentionDays: 'retention-days',
  replicationFactor: 'replication-factor',
  peakMultiplier: 'peak-multiplier',
};

const NUMBER = /^\d+(?:\.\d+)?$/;

function numberFlag(value: string | undefined, field: keyof CapacityInput): number {
  const flag = CAPACITY_FLAGS[field];
  const text = requireFlag(value, flag);
  if (!NUMBER.test(text)) throw new UsageError(`--${flag} must be ${describeBound(CAPACITY_BOUNDS[field])}, got "${text}"`);
  return Number(text);
}

function fixed(n: number, digits: number): number {
  return Number(n.toFixed(digits));
}

/** The plan as printed: MB/s to 2 decimals, TB to 3 (the JSON output uses the same rounding). */
export function roundPlan(p: CapacityPlan): CapacityPlan {
  return {
    writeMBps: fixed(p.writeMBps, 2),
    readMBps: fixed(p.readMBps, 2),
    peakMBps: fixed(p.peakMBps, 2),
    storageTB: fixed(p.storageTB, 3),
    networkMBps: fixed(p.networkMBps, 2),
    brokers: p.brokers,
    partitionsPerTopic: p.partitionsPerTopic,
  };
}

export function renderPlan(input: Required<CapacityInput>, plan: CapacityPlan): string {
  const p = roundPlan(plan);
  const rows: [string, string, string][] = [
    ['write throughput', `${p.writeMBps} MB/s`, `${input.messagesPerSecond} msg/s x ${input.messageBytes} B`],
    ['read throughput', `${p.readMBps} MB/s`, `write x ${input.consumerGroups} consumer group(s)`],
    ['peak write', `${p.peakMBps} MB/s`, `write x ${input.peakMultiplier} peak multiplier`],
    ['storage', `${p.storageTB} TB`, `write x ${input.retentionDays} day(s) x RF ${input.replicationFactor}`],
    ['network at peak', `${p.networkMBps} MB/s`, 'peak x RF + read x peak multiplier'],
    ['brokers', String(p.brokers), `peak / ${BROKER_MBPS} MB/s per broker, at least ${MIN_BROKERS}`],
    ['partitions per topic', String(p.partitionsPerTopic), `peak / ${PARTITION_MBPS} MB/s per partition, at least one per broker`],
  ];
  const w0 = Math.max(...rows.map((r) => r[0].length));
  const w1 = Math.max(...rows.map((r) => r[1].length));
  return ['MB = 1024*1024 bytes, TB = 1024*1024 MB', ...rows.map(([a, b, c]) => `${a.padEnd(w0)}  ${b.padStart(w1)}  (${c})`)].join('\n');
}

export const capacityCommand: Command = {
  path: ['capacity'],
  summary: 'plan a cluster from a workload: throughput, storage, network, brokers, partitions per topic',
  usage: [
    'kafka-heal capacity --messages-per-second N --message-bytes N --consumer-groups N --retention-days N',
    `                    --replication-factor N [--peak-multiplier X (default ${DEFAULT_PEAK_MULTIPLIER})] [--json]`,
    '',
    'MB = 1024*1024 bytes, TB = 1024*1024 MB.',
    '  writeMBps          = messages/s x message bytes / MB',
    '  readMBps           = writeMBps x consumer groups',
    '  peakMBps           = writeMBps x peak multiplier',
    '  storageTB          = writeMBps x 86400 x retention days x replication factor / (1024*1024)',
    '  networkMBps        = peakMBps x replication factor + readMBps x peak multiplier',
    `  brokers            = max(${MIN_BROKERS}, ceil(peakMBps / ${BROKER_MBPS}))`,
    `  partitionsPerTopic = max(brokers, ceil(peakMBps / ${PARTITION_MBPS}))`,
    '--json prints exactly these keys (MB/s to 2 decimals, TB to 3). exit 0; 2 on bad input.',
  ].join('\n'),
  async run(argv, io) {
    const { values } = parseFlags(argv, {
      'messages-per-second': { type: 'string' },
      'message-bytes': { type: 'string' },
      'consumer-groups': { type: 'string' },
      'retention-days': { type: 'string' },
      'replication-factor': { type: 'string' },
      'peak-multiplier': { type: 'string' },
      json: { type: 'boolean', default: false },
    });
    const input: Required<CapacityInput> = {
      messagesPerSecond: numberFlag(values['messages-per-second'], 'messagesPerSecond'),
      messageBytes: numberFlag(values['message-bytes'], 'messageBytes'),
      consumerGroups: numberFlag(values['consumer-groups'], 'consumerGroups'),
      retentionDays: numberFlag(values['retention-days'], 'retentionDays'),
      replicationFactor: numberFlag(values['replication-factor'], 'replicationFactor'),
      peakMultiplier: values['peak-multiplier'] === undefined ? DEFAULT_PEAK_MULTIPLIER : numberFlag(values['peak-multiplier'], 'peakMultiplier'),
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
