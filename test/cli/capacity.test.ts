import { describe, expect, it } from 'vitest';
import { main } from '../../cli/main.js';
import { captureIO as capture } from '../support/helpers.js';

const workload = ['--messages-per-second', '10000', '--message-bytes', '1024', '--consumer-groups', '3', '--retention-days', '7', '--replication-factor', '3'];

async function run(...argv: string[]) {
  const io = capture();
  const code = await main(['capacity', ...argv], io);
  return { code, out: io.out.join('\n'), err: io.err };
}

describe('kafka-heal capacity', () => {
  it('prints exactly the documented JSON keys, rounded', async () => {
    const r = await run(...workload, '--json');
    expect(r.code).toBe(0);
    const plan = JSON.parse(r.out) as Record<string, number>;
    expect(Object.keys(plan)).toEqual(['writeMBps', 'readMBps', 'peakMBps', 'storageTB', 'networkMBps', 'brokers', 'partitionsPerTopic']);
    expect(plan).toEqual({ writeMBps: 9.77, readMBps: 29.3, peakMBps: 29.3, storageTB: 16.898, networkMBps: 175.78, brokers: 3, partitionsPerTopic: 3 });
  });

  it('applies --peak-multiplier', async () => {
    const r = await run(...workload, '--peak-multiplier', '40', '--json');
    const plan = JSON.parse(r.out) as Record<string, number>;
    expect(plan.peakMBps).toBe(390.63);
    expect(plan.brokers).toBe(4);
    expect(plan.partitionsPerTopic).toBe(40);
  });

  it('prints a table with each figure and how it was derived by default', async () => {
    const r = await run(...workload);
    expect(r.code).toBe(0);
    const lines = r.out.split('\n');
    expect(lines[0]).toBe('MB = 1024*1024 bytes, TB = 1024*1024 MB');
    expect(lines).toHaveLength(8);
    expect(r.out).toMatch(/^write throughput +9\.77 MB\/s +\(10000 msg\/s x 1024 B\)$/m);
    expect(r.out).toMatch(/^storage +16\.898 TB +\(write x 7 day\(s\) x RF 3\)$/m);
    expect(r.out).toMatch(/^brokers +3 +\(peak \/ 100 MB\/s per broker, at least 3\)$/m);
    expect(r.out).toMatch(/^peak write +29\.3 MB\/s +\(write x 3 peak multiplier\)$/m);
  });

  it('documents the formulas in --help', async () => {
    const r = await run('--help');
    expect(r.code).toBe(0);
    expect(r.out).toContain('brokers            = max(3, ceil(peakMBps / 100))');
    expect(r.out).toContain('--peak-multiplier X (default 3)');
  });

  it.each([
    [['--message-bytes', '1024'], 'kafka-heal capacity: missing required flag --messages-per-second'],
    [[...workload.slice(0, 8)], 'kafka-heal capacity: missing required flag --replication-factor'],
    [[...workload, '--peak-multiplier', 'x3'], 'kafka-heal capacity: --peak-multiplier must be a number from 1 to 100, got "x3"'],
    [[...workload.slice(0, 2), '--message-bytes=-5', ...workload.slice(4)], 'kafka-heal capacity: --message-bytes must be a whole number from 1 to 104857600, got "-5"'],
    [[...workload.slice(0, 2), '--message-bytes', '-5', ...workload.slice(4)], "kafka-heal capacity: Option '--message-bytes' argument is ambiguous. Did you forget"],
    [[...workload.slice(0, 8), '--replication-factor', '0'], 'kafka-heal capacity: --replication-factor: expected a whole number from 1 to 10, got 0'],
    [[...workload.slice(0, 6), '--retention-days', '0', ...workload.slice(8)], 'kafka-heal capacity: --retention-days: expected a number above 0 and at most 36500, got 0'],
    [[...workload, '--peak-multiplier', '0.5'], 'kafka-heal capacity: --peak-multiplier: expected a number from 1 to 100, got 0.5'],
    [[...workload, '--brokers', '3'], "kafka-heal capacity: Unknown option '--brokers'"],
  ])('rejects bad input in one line with exit 2: %j', async (argv, line) => {
    const r = await run(...argv);
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
    expect(r.err).toHaveLength(1);
    expect(r.err[0]?.startsWith(line)).toBe(true);
  });
});
