import { describe, expect, it } from 'vitest';
import { main } from '#cli/main.js';
import { probeCommand, renderSnapshot } from '#cli/commands/probe.js';
import type { ClusterSnapshot } from '#domain/snapshot.js';
import { captureIO, closedPort } from '../support/helpers.js';

describe('kafka-heal probe: bad input exits 2 with one line', () => {
  it.each([
    [[], 'missing required flag --bootstrap'],
    [['--bootstrap', ''], 'missing required flag --bootstrap'],
    [['--bootstrap', ' , '], 'at least one host:port'],
    [['--bootstrap', 'localhost'], 'is not host:port'],
    [['--bootstrap', 'localhost:99999'], 'is not host:port'],
    [['--bootstrap', 'a:1', '--timeout-ms', 'soon'], '--timeout-ms must be a whole number'],
    [['--bootstrap', 'a:1', '--timeout-ms', '10'], 'between 100 and 120000'],
    [['--bootstrap', 'a:1', '--expect-brokers', '0'], 'between 1 and 1000'],
    [['--bootstrap', 'a:1', '--nope'], "Unknown option '--nope'"],
  ])('%j', async (argv, message) => {
    const x = captureIO();
    expect(await main(['probe', ...argv], x, [probeCommand])).toBe(2);
    expect(x.err).toHaveLength(1);
    expect(x.err[0]).toContain(message);
    expect(x.out).toEqual([]);
  });
});

describe('kafka-heal probe against an unreachable bootstrap', () => {
  it('returns within 5 s, exit 1, says the cluster is down and why', async () => {
    const port = await closedPort();
    const x = captureIO();
    const t = Date.now();
    const code = await main(['probe', '--bootstrap', `127.0.0.1:${port}`, '--expect-brokers', '3'], x, [probeCommand]);
    expect(Date.now() - t).toBeLessThan(5000);
    expect(code).toBe(1);
    const text = x.out.join('\n');
    expect(text).toMatch(/^status: down/);
    expect(text).toContain('no bootstrap server answered');
    expect(text).toContain('ECONNREFUSED');
    expect(text).toContain('brokers: 0 registered of 3 expected');
  });

  it('--json prints the snapshot', async () => {
    const port = await closedPort();
    const x = captureIO();
    const code = await main(
      ['probe', '--bootstrap', `127.0.0.1:${port}`, '--json', '--group', 'billing', '--timeout-ms', '1000'],
      x,
      [probeCommand],
    );
    expect(code).toBe(1);
    const snap = JSON.parse(x.out.join('')) as ClusterSnapshot;
    expect(snap).toMatchObject({ status: 'down', bootstrapReachable: false, registeredBrokers: [] });
  });
});

describe('renderSnapshot', () => {
  const snap: ClusterSnapshot = {
    takenAt: '2026-01-01T00:00:00.000Z',
    durationMs: 31,
    status: 'degraded',
    bootstrapReachable: true,
    expectedBrokers: 3,
    metadataMode: 'zookeeper',
    registeredBrokers: [1, 2],
    brokers: [
      { id: 1, host: '127.0.0.1', port: 9001, registered: true, reachable: true, latencyMs: 2 },
      {
        id: 2,
        host: '127.0.0.1',
        port: 9002,
        registered: true,
        reachable: false,
        error: 'connected but no ApiVersions answer',
      },
      { id: 3, host: '', port: 0, registered: false, reachable: false },
    ],
    controller: { id: 1, known: true, note: 'ZooKeeper mode: active controller from metadata' },
    partitions: {
      total: 30,
      offline: 1,
      underReplicated: 25,
      underMinIsr: 1,
      details: Array.from({ length: 25 }, (_, i) => ({
        topic: 'orders',
        partition: i,
        leader: i === 0 ? -1 : 1,
        replicas: [1, 2, 3],
        isr: i === 0 ? [] : [1, 2],
        offlineReplicas: [3],
        minIsr: 2,
      })),
    },
    perBroker: { 1: { leaderFor: 24, replicaFor: 30, underReplicated: 25, offline: 1, isrCritical: 1 } },
    consumerGroups: [
      {
        group: 'billing',
        state: 'Stable',
        members: 2,
        totalLag: 7,
        partitions: [{ topic: 'orders', partition: 0, committedOffset: null, endOffset: 7, lag: 7 }],
      },
      { group: 'gone', totalLag: 0, partitions: [], error: 'timed out' },
    ],
    errors: ['group gone: timed out'],
  };

  it('shows brokers, unhealthy partitions (capped), groups, problems and errors', () => {
    const text = renderSnapshot(snap);
    expect(text).toContain('status: degraded  (probe 31 ms at 2026-01-01T00:00:00.000Z, zookeeper mode)');
    expect(text).toContain('controller: broker 1');
    expect(text).toContain('brokers: 2 registered of 3 expected');
    expect(text).toMatch(/ 3 +- +no +no +- +0/);
    expect(text).toContain('... 5 more (use --json)');
    expect(text).toMatch(/orders +0 +none +1,2,3 +- +2/);
    expect(text).toContain('group billing: total lag 7 (Stable, 2 member(s))');
    expect(text).toContain('group gone: error: timed out');
    expect(text).toContain('  - broker 2 unreachable: connected but no ApiVersions answer');
    expect(text).toContain('errors:\n  - group gone: timed out');
  });

  it('a KRaft snapshot says the controller is unknown', () => {
    const text = renderSnapshot({
      ...snap,
      controller: { id: null, known: false, note: 'KRaft: quorum leader not exposed to clients' },
    });
    expect(text).toContain('controller: unknown  (KRaft: quorum leader not exposed to clients)');
  });
});
