import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { main } from '#cli/main.js';
import { captureIO as capture } from '../support/helpers.js';

/** The runbook's worked example: 100,000 msg/s of 1 KiB, 5 consumer groups, 7 days, RF 3, peak 2.5. */
const example = [
  '--messages-per-second',
  '100000',
  '--message-bytes',
  '1024',
  '--consumer-groups',
  '5',
  '--retention-days',
  '7',
  '--replication-factor',
  '3',
  '--peak-multiplier',
  '2.5',
];
const workload = [
  '--messages-per-second',
  '10000',
  '--message-bytes',
  '1024',
  '--consumer-groups',
  '3',
  '--retention-days',
  '7',
  '--replication-factor',
  '3',
];

async function run(...argv: string[]) {
  const io = capture();
  const code = await main(['capacity', ...argv], io);
  return { code, out: io.out.join('\n'), err: io.err };
}

async function json(...argv: string[]) {
  const r = await run(...argv, '--json');
  expect(r.code).toBe(0);
  return JSON.parse(r.out) as Record<string, number | null>;
}

describe('kafka-heal capacity', () => {
  it("prints the runbook's worked example as JSON: its seven keys first, then the extra figures, rounded", async () => {
    const plan = await json(...example, '--instance-memory-gb', '64');
    expect(plan).toEqual({
      writeMBps: 97.66,
      readMBps: 488.28,
      peakMBps: 244.14,
      storageTB: 168.979,
      networkMBps: 781.25,
      brokers: 3,
      partitionsPerTopic: 10,
      peakNetworkMBps: 1953.13,
      peakPartitionsPerTopic: 25,
      clusterBrokers: 3,
      diskPerBrokerTB: 70.408,
      ingressPerBrokerMBps: 97.66,
      egressPerBrokerMBps: 227.86,
      nicGbps: 4.78,
      nicClassGbps: 10,
      heapGB: 8,
      pageCacheGB: 56,
    });
    expect(Object.keys(plan).slice(0, 7)).toEqual([
      'writeMBps',
      'readMBps',
      'peakMBps',
      'storageTB',
      'networkMBps',
      'brokers',
      'partitionsPerTopic',
    ]);
  });

  it('defaults: peak multiplier 3, safety margin 1.25, brokers max(runbook count, RF), no heap without instance memory', async () => {
    const plan = await json(...workload);
    expect(plan).toMatchObject({
      peakMBps: 29.3,
      brokers: 1,
      clusterBrokers: 3,
      diskPerBrokerTB: 7.041,
      heapGB: null,
      pageCacheGB: null,
    });
  });

  it('applies --peak-multiplier, --brokers and --safety-margin', async () => {
    const plan = await json(...workload, '--peak-multiplier', '40', '--brokers', '6', '--safety-margin', '2');
    expect(plan.peakMBps).toBe(390.63);
    expect(plan.brokers).toBe(4); // int(3.90625) + 1
    expect(plan.peakPartitionsPerTopic).toBe(40); // int(39.0625) + 1
    expect(plan.partitionsPerTopic).toBe(1); // the write rate, not the peak
    expect(plan.clusterBrokers).toBe(6);
    expect(plan.diskPerBrokerTB).toBe(5.633); // 16.8979 x 2 / 6
  });

  it('prints both the runbook figures and the peak figures in the text report, each with how it was derived', async () => {
    const r = await run(...example, '--instance-memory-gb', '64');
    expect(r.code).toBe(0);
    const lines = r.out.split('\n');
    expect(lines[0]).toBe('MB = 1024*1024 bytes, GB = 1024 MB, TB = 1024*1024 MB, Gbit/s = 10^9 bit/s');
    expect(lines).toHaveLength(19);
    expect(r.out).toMatch(/^ {2}write throughput +97\.66 MB\/s {2}\(100000 msg\/s x 1024 B\)$/m);
    expect(r.out).toMatch(/^ {2}storage +168\.979 TB {2}\(write x 86400 s x 7 day\(s\) x RF 3\)$/m);
    expect(r.out).toMatch(/^ {2}network +781\.25 MB\/s {2}\(read \+ write x \(RF - 1\) replication \+ write\)$/m);
    expect(r.out).toMatch(/^ {2}brokers +3 {2}\(int\(peak \/ 100 MB\/s\) \+ 1\)$/m);
    expect(r.out).toMatch(/^ {2}partitions per topic +10 {2}\(int\(write \/ 10 MB\/s\) \+ 1\)$/m);
    expect(r.out).toMatch(/^ {2}network at peak +1953\.13 MB\/s {2}\(network x 2\.5: /m);
    expect(r.out).toMatch(/^ {2}partitions at peak +25 {2}\(int\(peak \/ 10 MB\/s\) \+ 1: /m);
    expect(r.out).toMatch(/^Per broker, 3 brokers \(max\(brokers, RF 3\)\):$/m);
    expect(r.out).toMatch(/^ {2}disk +70\.408 TB {2}\(storage x 1\.25 safety margin \/ brokers\)$/m);
    expect(r.out).toMatch(/^ {2}egress +227\.86 MB\/s /m);
    expect(r.out).toMatch(/^ {2}NIC +4\.78 Gbit\/s {2}\(busier direction x 2\.5 peak multiplier: a 10 Gbit\/s NIC\)$/m);
    expect(r.out).toMatch(/^ {2}JVM heap +8 GB {2}\(a quarter of 64 GB, kept within 4-8 GB\)$/m);
    expect(r.out).toMatch(/^ {2}page cache +56 GB {2}\(the rest of the instance\)$/m);
  });

  it('says when the brokers given are fewer than the runbook asks for, when no NIC is big enough, and when memory is missing', async () => {
    const r = await run(
      '--messages-per-second',
      '10000000',
      '--message-bytes',
      '10000',
      '--consumer-groups',
      '3',
      '--retention-days',
      '1',
      '--replication-factor',
      '3',
      '--brokers',
      '3',
    );
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^Per broker, 3 brokers \(given, fewer than the runbook's 2862\):$/m);
    expect(r.out).toMatch(/: no NIC up to 400 Gbit\/s carries it: add brokers\)$/m);
    expect(r.out).toMatch(/^ {2}JVM heap, page cache +- {2}\(give --instance-memory-gb to plan them\)$/m);
    expect((await run(...workload, '--brokers', '5')).out).toMatch(/^Per broker, 5 brokers \(given\):$/m);
  });

  it('documents every flag and the formulas in --help', async () => {
    const r = await run('--help');
    expect(r.code).toBe(0);
    for (const flag of [
      'messages-per-second',
      'message-bytes',
      'consumer-groups',
      'retention-days',
      'replication-factor',
      'peak-multiplier',
      'brokers',
      'safety-margin',
      'instance-memory-gb',
      'json',
    ]) {
      expect(r.out).toContain(`--${flag}`);
    }
    expect(r.out).toContain('networkMBps            = readMBps + writeMBps x (replication factor - 1) + writeMBps');
    expect(r.out).toContain('brokers                = int(peakMBps / 100) + 1');
    expect(r.out).toContain('partitionsPerTopic     = int(writeMBps / 10) + 1');
    expect(r.out).toContain('peakNetworkMBps        = networkMBps x peak multiplier');
    expect(r.out).toContain('--peak-multiplier X (default 3)');
    expect(r.out).toContain('--safety-margin X (default 1.25)');
  });

  it('docs/operations.md lists every output key and every flag in its capacity section', async () => {
    const text = readFileSync('docs/operations.md', 'utf8');
    const section = text.slice(text.indexOf('## Capacity planning'));
    const documented = [...section.matchAll(/^\| `([a-zA-Z]+)` \|/gm)].map((m) => m[1]);
    expect(documented).toEqual(Object.keys(await json(...example, '--instance-memory-gb', '64')));
    const help = (await run('--help')).out;
    const flags = [...new Set([...help.matchAll(/--[a-z-]+[a-z]/g)].map((m) => m[0]))];
    expect(flags).toContain('--instance-memory-gb');
    for (const flag of flags) expect(section, flag).toContain(flag);
  });

  it.each([
    [['--message-bytes', '1024'], 'kafka-heal capacity: missing required flag --messages-per-second'],
    [[...workload.slice(0, 8)], 'kafka-heal capacity: missing required flag --replication-factor'],
    [[...workload.slice(2)], 'kafka-heal capacity: missing required flag --messages-per-second'],
    [
      [...workload, '--peak-multiplier', 'x3'],
      'kafka-heal capacity: --peak-multiplier must be a number from 1 to 100, got "x3"',
    ],
    [
      [...workload.slice(0, 2), '--message-bytes=-5', ...workload.slice(4)],
      'kafka-heal capacity: --message-bytes must be a whole number from 1 to 104857600, got "-5"',
    ],
    [
      [...workload.slice(0, 2), '--message-bytes', '-5', ...workload.slice(4)],
      'kafka-heal capacity: --message-bytes must be a whole number from 1 to 104857600, got "-5"',
    ],
    [
      ['--messages-per-second', '-100', ...workload.slice(2)],
      'kafka-heal capacity: --messages-per-second must be a whole number from 1 to 100000000, got "-100"',
    ],
    [
      ['--messages-per-second', '0', ...workload.slice(2)],
      'kafka-heal capacity: --messages-per-second: expected a whole number from 1 to 100000000, got 0',
    ],
    [
      ['--messages-per-second', '1e5', ...workload.slice(2)],
      'kafka-heal capacity: --messages-per-second must be a whole number from 1 to 100000000, got "1e5"',
    ],
    [
      ['--messages-per-second', '100,000', ...workload.slice(2)],
      'kafka-heal capacity: --messages-per-second must be a whole number from 1 to 100000000, got "100,000"',
    ],
    [
      [...workload.slice(0, 8), '--replication-factor', '0'],
      'kafka-heal capacity: --replication-factor: expected a whole number from 1 to 10, got 0',
    ],
    [
      [...workload.slice(0, 6), '--retention-days', '0', ...workload.slice(8)],
      'kafka-heal capacity: --retention-days: expected a number above 0 and at most 36500, got 0',
    ],
    [
      [...workload, '--peak-multiplier', '0.5'],
      'kafka-heal capacity: --peak-multiplier: expected a number from 1 to 100, got 0.5',
    ],
    [
      [...workload, '--brokers', '2'],
      'kafka-heal capacity: --replication-factor: expected at most the 2 broker(s) given, got 3: every replica of a partition needs its own broker',
    ],
    [[...workload, '--brokers', '0'], 'kafka-heal capacity: --brokers: expected a whole number from 1 to 10000, got 0'],
    [
      [...workload, '--brokers', 'three'],
      'kafka-heal capacity: --brokers must be a whole number from 1 to 10000, got "three"',
    ],
    [[...workload, '--brokers='], 'kafka-heal capacity: --brokers must be a whole number from 1 to 10000, got ""'],
    [
      [...workload, '--safety-margin', '0.8'],
      'kafka-heal capacity: --safety-margin: expected a number from 1 to 10, got 0.8',
    ],
    [
      [...workload, '--instance-memory-gb', '4'],
      'kafka-heal capacity: --instance-memory-gb: expected a number from 8 to 24576, got 4',
    ],
    [[...workload, '--racks', '3'], "kafka-heal capacity: Unknown option '--racks'"],
  ])('rejects bad input in one line with exit 2: %j', async (argv, line) => {
    const r = await run(...argv);
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
    expect(r.err).toEqual([line]);
  });
});
