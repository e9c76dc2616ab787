// `kafka-heal local ...` bad input: every path here ends before a JVM could start (usage errors
// exit 2; acting on a cluster that does not exist exits 1), so no Kafka is needed.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '#cli/main.js';
import { captureIO as capture } from '../support/helpers.js';

let cache: string;
const savedCache = process.env.KAFKA_HEAL_CACHE;

beforeAll(() => {
  // An empty cache: no recorded clusters, and any attempt to fetch jars would be visible.
  cache = mkdtempSync(join(tmpdir(), 'kh-local-cli-'));
  process.env.KAFKA_HEAL_CACHE = cache;
});

afterAll(() => {
  if (savedCache === undefined) delete process.env.KAFKA_HEAL_CACHE;
  else process.env.KAFKA_HEAL_CACHE = savedCache;
  rmSync(cache, { recursive: true, force: true });
});

async function run(...argv: string[]) {
  const io = capture();
  const code = await main(argv, io);
  return { code, out: io.out.join('\n'), err: io.err.join('\n') };
}

describe('kafka-heal local: usage errors exit 2 with one line naming the problem', () => {
  it.each([
    [['local', 'up', '--brokers', '2'], /--brokers must be between 3 and 5, got 2/],
    [['local', 'up', '--brokers', '6'], /--brokers must be between 3 and 5, got 6/],
    [['local', 'up', '--brokers', 'three'], /--brokers must be a whole number, got "three"/],
    [['local', 'up', '--mode', 'raft'], /--mode must be kraft or zookeeper, got "raft"/],
    [['local', 'up', '--name', 'Bad_Name'], /--name must be lowercase/],
    [['local', 'up', '--bogus'], /Unknown option '--bogus'/],
    [
      ['local', 'fault', 'explode', '--broker', '1'],
      /unknown fault "explode"; one of crash, hang, resume, stop, start, restart, fill-disk, free-disk/,
    ],
    [['local', 'fault', 'crash'], /missing required flag --broker/],
    [['local', 'fault', '--broker', '1'], /give exactly one fault/],
    [['local', 'fault', 'crash', 'hang', '--broker', '1'], /give exactly one fault/],
    [['local', 'fault', 'crash', '--broker', 'x'], /--broker must be a whole number, got "x"/],
    [['local', 'fault', 'crash', '--broker', '1', '--zookeeper', '1'], /not both/],
    [['local', 'fault', 'fill-disk', '--zookeeper', '1'], /does not apply to ZooKeeper nodes/],
    [['local', 'fault', 'crash', '--zookeeper', '4'], /--zookeeper must be between 1 and 3, got 4/],
    [['local', 'fault', 'crash', '--broker', '1', '--percent', '50'], /--percent only applies to fill-disk/],
    [
      ['local', 'fault', 'fill-disk', '--broker', '1', '--percent', '100'],
      /--percent must be between 1 and 99, got 100/,
    ],
    [
      ['local', 'status', '--name=9x'],
      /--name must be lowercase letters, digits and dashes, starting with a letter \(at most 40\), got "9x"/,
    ],
    [['local', 'down', '--all', '--name', 'primary'], /--name or --all, not both/],
  ])('%j', async (argv, message) => {
    const r = await run(...argv);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(message);
    expect(r.err.split('\n')).toHaveLength(1);
    expect(r.out).toBe('');
  });
});

describe('kafka-heal local: acting on a cluster that is not running', () => {
  it('status and fault exit 1 and say how to start one', async () => {
    for (const argv of [
      ['local', 'status', '--name', 'nothere'],
      ['local', 'fault', 'crash', '--broker', '1', '--name', 'nothere'],
      ['local', 'fault', 'stop', '--zookeeper', '1', '--name', 'nothere'],
    ]) {
      const r = await run(...argv);
      expect(r.code).toBe(1);
      expect(r.err).toMatch(
        /ClusterNotFoundError: no local cluster named "nothere" \(start one with: kafka-heal local up --name nothere\)/,
      );
    }
  });

  it('down is idempotent: exit 0 with a note', async () => {
    const r = await run('local', 'down', '--name', 'nothere');
    expect(r.code).toBe(0);
    expect(r.err).toMatch(/no local cluster named "nothere"; nothing to do/);
    const all = await run('local', 'down', '--all');
    expect(all.code).toBe(0);
    expect(all.err).toMatch(/no local clusters/);
  });

  it('--help shows the usage of each command', async () => {
    const r = await run('local', 'fault', '--help');
    expect(r.code).toBe(0);
    expect(r.out).toContain('kafka-heal local fault <crash|hang|resume|stop|start|restart|fill-disk|free-disk>');
  });
});
