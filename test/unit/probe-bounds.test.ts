// The probe's time bounds and failure shapes without Kafka: a closed port, a listener that accepts
// TCP but never answers (what a SIGSTOPped broker looks like), garbage answers, bad input.
// Real-Kafka behaviour is in test/integration/probe.test.ts.
import { createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { BootstrapFormatError, parseHostPort, probeCluster } from '#shared/probe/index.js';
import { describeProblems, summarizePartitions, verdict } from '#shared/probe/analyze.js';
import { ProbeTimeoutError, withTimeout } from '#shared/probe/deadline.js';
import { API, Reader, Writer } from '#shared/probe/wire.js';
import { isZooKeeperMode } from '#shared/probe/requests.js';
import { closedPort } from '../support/helpers.js';

const servers: Server[] = [];
const sockets: Socket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

async function listen(onConn: (s: Socket) => void): Promise<number> {
  const server = createServer((s) => {
    sockets.push(s);
    onConn(s);
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return (server.address() as { port: number }).port;
}

describe('probeCluster bounds', () => {
  it('a closed port: down within the bound, with the reason', async () => {
    const port = await closedPort();
    const t = Date.now();
    const s = await probeCluster({
      bootstrapServers: [`127.0.0.1:${port}`],
      timeoutMs: 2000,
      now: () => Date.parse('2026-01-01T00:00:00Z'),
    });
    expect(Date.now() - t).toBeLessThan(2000);
    expect(s.status).toBe('down');
    expect(s.bootstrapReachable).toBe(false);
    expect(s.takenAt).toBe('2026-01-01T00:00:00.000Z');
    expect(s.errors.join('\n')).toContain('ECONNREFUSED');
    expect(s.controller).toMatchObject({ id: null, known: false });
    expect(describeProblems(s)).toContain('no bootstrap server answered');
  });

  it('a listener that accepts TCP and never answers (hung broker): down, "TCP accepted", within the bound', async () => {
    const port = await listen(() => undefined);
    const t = Date.now();
    const s = await probeCluster({ bootstrapServers: [`127.0.0.1:${port}`], timeoutMs: 1500 });
    const took = Date.now() - t;
    expect(took).toBeGreaterThanOrEqual(400);
    expect(took).toBeLessThan(1700);
    expect(s.status).toBe('down');
    expect(s.errors.join('\n')).toMatch(/TCP accepted: broker hung\?/);
  });

  it('a listener that answers garbage: down, never a throw', async () => {
    const port = await listen((sock) => sock.on('data', () => sock.end(Buffer.from([0, 0, 0, 2, 1, 2]))));
    const s = await probeCluster({ bootstrapServers: [`127.0.0.1:${port}`], timeoutMs: 1500 });
    expect(s.status).toBe('down');
    expect(s.errors.length).toBeGreaterThan(0);
  });

  it('bad bootstrap strings: a snapshot that says so (the CLI validates before)', async () => {
    const s = await probeCluster({ bootstrapServers: ['no-port'], timeoutMs: 500 });
    expect(s.status).toBe('down');
    expect(s.errors[0]).toContain('not host:port');
  });
});

describe('parseHostPort', () => {
  it('accepts host:port and [v6]:port, refuses the rest', () => {
    expect(parseHostPort('b-1.kafka.example.com:9092')).toEqual({ host: 'b-1.kafka.example.com', port: 9092 });
    expect(parseHostPort('[::1]:9092')).toEqual({ host: '::1', port: 9092 });
    expect(() => parseHostPort('host')).toThrow(BootstrapFormatError);
    expect(() => parseHostPort('host:0')).toThrow(BootstrapFormatError);
    expect(() => parseHostPort('host:70000')).toThrow(BootstrapFormatError);
  });
});

describe('withTimeout', () => {
  it('rejects with ProbeTimeoutError after the budget, resolves before it', async () => {
    await expect(withTimeout(new Promise(() => undefined), 20, 'step')).rejects.toBeInstanceOf(ProbeTimeoutError);
    await expect(withTimeout(Promise.resolve(3), 20, 'step')).resolves.toBe(3);
  });

  it('a late rejection of the losing promise is swallowed (no unhandled rejection)', async () => {
    const late = new Promise((_, reject) => setTimeout(() => reject(new Error('late')), 30));
    await expect(withTimeout(late, 5, 'step')).rejects.toThrow('timed out');
    await new Promise((r) => setTimeout(r, 50));
  });
});

describe('wire encoding', () => {
  it('round-trips the primitive types', () => {
    const buf = new Writer()
      .int8(-3)
      .int16(300)
      .int32(-70000)
      .int64(1234567890123n)
      .bool(true)
      .string('héllo')
      .string(null)
      .array([1, 2], (w, n) => w.int32(n))
      .array<number>(null, (w, n) => w.int32(n))
      .build();
    const r = new Reader(buf);
    expect([r.int8(), r.int16(), r.int32(), r.int64(), r.bool(), r.string(), r.string()]).toEqual([
      -3,
      300,
      -70000,
      1234567890123,
      true,
      'héllo',
      null,
    ]);
    expect(r.array((x) => x.int32())).toEqual([1, 2]);
    expect(r.array((x) => x.int32())).toEqual([]);
    expect(() => r.int8()).toThrow('truncated');
  });

  it("API keys are the protocol's (a wrong key reaches the wrong API and the broker closes the connection)", () => {
    expect(API).toEqual({
      ListOffsets: 2,
      Metadata: 3,
      OffsetFetch: 9,
      FindCoordinator: 10,
      DescribeGroups: 15,
      ApiVersions: 18,
      DescribeConfigs: 32,
      SaslHandshake: 17,
      SaslAuthenticate: 36,
      DescribeQuorum: 55,
    });
  });

  it('mode detection: LeaderAndIsr (key 4) is advertised by ZooKeeper-mode brokers only', () => {
    expect(
      isZooKeeperMode([
        { key: 4, min: 0, max: 7 },
        { key: 18, min: 0, max: 3 },
      ]),
    ).toBe(true);
    expect(
      isZooKeeperMode([
        { key: 3, min: 0, max: 12 },
        { key: 55, min: 0, max: 2 },
      ]),
    ).toBe(false);
  });
});

describe('partition analysis and verdict', () => {
  const parts = [
    { topic: 'b', partition: 1, leader: 1, replicas: [1, 2, 3], isr: [1, 2, 3], offlineReplicas: [] },
    { topic: 'b', partition: 0, leader: 1, replicas: [1, 2, 3], isr: [1], offlineReplicas: [2, 3] },
    { topic: 'a', partition: 0, leader: -1, replicas: [3], isr: [3], offlineReplicas: [3] },
    { topic: 'c', partition: 0, leader: 2, replicas: [2, 1], isr: [2], offlineReplicas: [] },
  ];
  const { summary, perBroker } = summarizePartitions(parts, (t) => (t === 'a' ? 1 : 2), [1, 2, 3, 4]);

  it('counts offline, under-replicated and under-min-ISR partitions, details sorted', () => {
    expect(summary).toMatchObject({ total: 4, offline: 1, underReplicated: 2, underMinIsr: 2 });
    expect(summary.details.map((d) => `${d.topic}-${d.partition}`)).toEqual(['a-0', 'b-0', 'c-0']);
    expect(summary.details[0]).toMatchObject({ leader: -1, minIsr: 1 });
  });

  it('per broker: leaders, replicas, URP, offline, ISR-critical', () => {
    expect(perBroker[1]).toEqual({ leaderFor: 2, replicaFor: 3, underReplicated: 2, offline: 0, isrCritical: 1 });
    expect(perBroker[2]).toEqual({ leaderFor: 1, replicaFor: 3, underReplicated: 2, offline: 0, isrCritical: 1 });
    expect(perBroker[3]).toEqual({ leaderFor: 0, replicaFor: 3, underReplicated: 1, offline: 1, isrCritical: 1 });
    expect(perBroker[4]).toEqual({ leaderFor: 0, replicaFor: 0, underReplicated: 0, offline: 0, isrCritical: 0 });
  });

  it('judges on the live ISR: unreachable ISR members and leaders do not count', () => {
    const stale = [{ topic: 'o', partition: 0, leader: 2, replicas: [1, 2, 3], isr: [1, 2, 3], offlineReplicas: [] }];
    const r = summarizePartitions(stale, () => 2, [1, 2, 3], new Set([2, 3]), new Set([1, 2, 3]));
    expect(r.summary).toMatchObject({ offline: 0, leaderUnreachable: 1, underReplicated: 1, underMinIsr: 1 });
    expect(r.summary.details[0]).toMatchObject({ unreachableIsr: [2, 3], leaderUnreachable: true });
    expect(r.perBroker[1]?.isrCritical).toBe(1);
    expect(summarizePartitions(stale, () => 2, [1, 2, 3]).summary.details).toEqual([]);
  });

  // Kafka's OfflinePartitionsCount: no leader, or a leader the metadata no longer lists.
  it('offline only when there is no leader or the metadata no longer lists it; a listed silent leader is leader-unreachable', () => {
    const led2 = { topic: 'o', partition: 0, leader: 2, replicas: [1, 2, 3], isr: [1, 2, 3], offlineReplicas: [] };
    const noLeader = { ...led2, partition: 1, leader: -1, isr: [2] };
    // Crashed, not yet fenced: listed, silent.
    const crashed = summarizePartitions([led2, noLeader], () => 2, [1, 2, 3], new Set([2]), new Set([1, 2, 3]));
    expect(crashed.summary).toMatchObject({ offline: 1, leaderUnreachable: 1, underReplicated: 2, underMinIsr: 1 });
    expect(crashed.perBroker[2]).toMatchObject({ leaderFor: 1, offline: 1 });
    expect(crashed.summary.details.map((d) => d.leaderUnreachable)).toEqual([true, undefined]);
    // Fenced but the metadata still names it leader (e.g. no ISR member to elect): offline.
    const fenced = summarizePartitions([led2], () => 2, [1, 2, 3], new Set([2]), new Set([1, 3]));
    expect(fenced.summary).toMatchObject({ offline: 1, leaderUnreachable: 0 });
    expect(fenced.summary.details[0]?.leaderUnreachable).toBeUndefined();
    // Without the listed set a silent leader reads offline (the stricter reading).
    expect(summarizePartitions([led2], () => 2, [1, 2, 3], new Set([2])).summary).toMatchObject({
      offline: 1,
      leaderUnreachable: 0,
    });
    // A live leader is neither.
    expect(summarizePartitions([led2], () => 2, [1, 2, 3], new Set([3]), new Set([1, 2, 3])).summary).toMatchObject({
      offline: 0,
      leaderUnreachable: 0,
      underReplicated: 1,
    });
    const lines = describeProblems({
      takenAt: '',
      durationMs: 1,
      status: 'degraded',
      bootstrapReachable: true,
      registeredBrokers: [1, 2, 3],
      brokers: [],
      controller: { id: null, known: false, note: '' },
      partitions: crashed.summary,
      perBroker: crashed.perBroker,
      consumerGroups: [],
      errors: [],
    });
    expect(lines).toEqual(
      expect.arrayContaining([
        '1 offline partition(s)',
        '1 partition(s) whose leader does not answer (unavailable until another is elected)',
      ]),
    );
  });

  const ok = { total: 1, offline: 0, underReplicated: 0, underMinIsr: 0, details: [] };
  const up = { id: 1, host: 'h', port: 1, registered: true, reachable: true };
  it.each([
    [
      'bootstrap unreachable',
      {
        bootstrapReachable: false,
        metadataRead: false,
        registeredBrokers: [],
        brokers: [],
        partitions: ok,
        errors: [],
      },
      'down',
    ],
    [
      'no metadata',
      {
        bootstrapReachable: true,
        metadataRead: false,
        registeredBrokers: [],
        brokers: [],
        partitions: ok,
        errors: ['x'],
      },
      'unknown',
    ],
    [
      'no broker answers',
      {
        bootstrapReachable: true,
        metadataRead: true,
        registeredBrokers: [1],
        brokers: [{ ...up, reachable: false }],
        partitions: ok,
        errors: [],
      },
      'down',
    ],
    [
      'fewer registered than expected',
      {
        bootstrapReachable: true,
        metadataRead: true,
        expectedBrokers: 2,
        registeredBrokers: [1],
        brokers: [up],
        partitions: ok,
        errors: [],
      },
      'degraded',
    ],
    [
      'as many as expected',
      {
        bootstrapReachable: true,
        metadataRead: true,
        expectedBrokers: 1,
        registeredBrokers: [1],
        brokers: [up],
        partitions: ok,
        errors: [],
      },
      'healthy',
    ],
    [
      'a broker unreachable',
      {
        bootstrapReachable: true,
        metadataRead: true,
        registeredBrokers: [1, 2],
        brokers: [up, { ...up, id: 2, reachable: false }],
        partitions: ok,
        errors: [],
      },
      'degraded',
    ],
    [
      'a replica not registered',
      {
        bootstrapReachable: true,
        metadataRead: true,
        registeredBrokers: [1],
        brokers: [up, { ...up, id: 2, registered: false, reachable: false }],
        partitions: ok,
        errors: [],
      },
      'degraded',
    ],
    [
      'URP',
      {
        bootstrapReachable: true,
        metadataRead: true,
        registeredBrokers: [1],
        brokers: [up],
        partitions: { ...ok, underReplicated: 1 },
        errors: [],
      },
      'degraded',
    ],
    [
      'offline',
      {
        bootstrapReachable: true,
        metadataRead: true,
        registeredBrokers: [1],
        brokers: [up],
        partitions: { ...ok, offline: 1 },
        errors: [],
      },
      'degraded',
    ],
    [
      'leader unreachable',
      {
        bootstrapReachable: true,
        metadataRead: true,
        registeredBrokers: [1],
        brokers: [up],
        partitions: { ...ok, leaderUnreachable: 1 },
        errors: [],
      },
      'degraded',
    ],
    [
      'under min ISR',
      {
        bootstrapReachable: true,
        metadataRead: true,
        registeredBrokers: [1],
        brokers: [up],
        partitions: { ...ok, underMinIsr: 1 },
        errors: [],
      },
      'degraded',
    ],
    [
      'all fine but a call failed',
      {
        bootstrapReachable: true,
        metadataRead: true,
        registeredBrokers: [1],
        brokers: [up],
        partitions: ok,
        errors: ['lag timed out'],
      },
      'unknown',
    ],
  ] as const)('%s -> %s', (_n, input, expected) => {
    expect(
      verdict({
        ...input,
        brokers: [...input.brokers],
        registeredBrokers: [...input.registeredBrokers],
        errors: [...input.errors],
      }),
    ).toBe(expected);
  });
});
