import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ClusterSnapshot } from '#domain/snapshot.js';
import { ProbeConfigError, UnknownClusterError, parseClustersJson } from '#contracts/clusters-file.js';
import {
  handler,
  ingestQueueSender,
  makeProbeHandler,
  recheckSeconds,
  type ProbeDeps,
} from '#functions/probe/handler.js';
import { probeOptionsFor } from '#shared/cluster-access.js';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { PROBE_SOURCE, type ProbeResultEvent } from '#domain/normalize/probe.js';
import { metrics } from '#shared/powertools.js';
import { probeMetricDocuments, publish, type MetricDocument } from '#functions/probe/metrics.js';
import { ensembleReport } from '#shared/zookeeper.js';
import type { ProbeOptions } from '#shared/probe/index.js';

function snap(over: Partial<ClusterSnapshot> = {}): ClusterSnapshot {
  return {
    takenAt: '2026-01-01T00:00:00.000Z',
    durationMs: 42,
    status: 'degraded',
    bootstrapReachable: true,
    expectedBrokers: 3,
    registeredBrokers: [1, 2],
    brokers: [
      { id: 1, host: '127.0.0.1', port: 9001, registered: true, reachable: true, latencyMs: 3 },
      { id: 2, host: '127.0.0.1', port: 9002, registered: true, reachable: false, error: 'hung' },
      { id: 3, host: '', port: 0, registered: false, reachable: false },
    ],
    controller: { id: null, known: false, note: 'KRaft: quorum leader not exposed to clients' },
    partitions: {
      total: 10,
      offline: 1,
      underReplicated: 3,
      underMinIsr: 1,
      details: [
        { topic: 'orders', partition: 0, leader: 1, replicas: [1, 2, 3], isr: [1, 2], offlineReplicas: [3], minIsr: 2 },
        { topic: 'orders', partition: 1, leader: 1, replicas: [1, 2, 3], isr: [1], offlineReplicas: [3], minIsr: 2 },
        { topic: 'orders', partition: 2, leader: 2, replicas: [2, 3, 1], isr: [2, 1], offlineReplicas: [3], minIsr: 2 },
        { topic: 'scratch', partition: 0, leader: -1, replicas: [3], isr: [3], offlineReplicas: [3], minIsr: 1 },
      ],
    },
    perBroker: {},
    consumerGroups: [
      {
        group: 'billing',
        state: 'Stable',
        members: 1,
        totalLag: 30,
        partitions: [
          { topic: 'orders', partition: 0, committedOffset: 10, endOffset: 15, lag: 5 },
          { topic: 'orders', partition: 1, committedOffset: 10, endOffset: 35, lag: 25 },
        ],
      },
      { group: 'broken', totalLag: 0, partitions: [], error: 'coordinator timed out' },
    ],
    errors: [],
    ...over,
  };
}

/** Captures EMF lines written by Powertools (one JSON document per line on stdout). */
function captureEmf(): { docs: () => Record<string, unknown>[]; restore: () => void } {
  const lines: string[] = [];
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    lines.push(String(chunk));
    return true;
  });
  return {
    docs: () =>
      lines
        .flatMap((l) => l.split('\n'))
        .filter((l) => l.includes('"_aws"'))
        .map((l) => JSON.parse(l) as Record<string, unknown>),
    restore: () => spy.mockRestore(),
  };
}

interface EmfDoc {
  _aws: {
    CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string; Unit: string }[] }[];
  };
  [k: string]: unknown;
}

afterEach(() => vi.restoreAllMocks());

describe('probe EMF metrics', () => {
  it('publishes the alarm contract: names, values and exact dimension sets, no service dimension', () => {
    const cap = captureEmf();
    try {
      publish(probeMetricDocuments('orders', snap(), [4]));
    } finally {
      cap.restore();
    }
    const docs = cap.docs() as EmfDoc[];
    const find = (dims: Record<string, string>) =>
      docs.find(
        (d) =>
          Object.entries(dims).every(([k, v]) => d[k] === v) &&
          d._aws.CloudWatchMetrics[0]?.Dimensions[0]?.length === Object.keys(dims).length,
      );
    for (const d of docs) {
      expect(d._aws.CloudWatchMetrics[0]?.Namespace).toBe('KafkaHeal');
      expect(d.service).toBeUndefined();
    }
    const cluster = find({ 'Cluster Name': 'orders' });
    expect(cluster?._aws.CloudWatchMetrics[0]?.Dimensions).toEqual([['Cluster Name']]);
    // UnreachableBrokers: broker 2 did not answer, 3 is not registered, 4 is configured but unseen.
    expect(cluster).toMatchObject({
      ProbeHeartbeat: 1,
      ClusterReachable: 1,
      ProbeLatencyMs: 42,
      OfflinePartitions: 1,
      UnderReplicatedPartitions: 3,
      UnderMinIsrPartitions: 1,
      UnreachableBrokers: 3,
    });

    const b1 = find({ 'Cluster Name': 'orders', 'Broker ID': '1' });
    expect(b1?._aws.CloudWatchMetrics[0]?.Dimensions).toEqual([['Cluster Name', 'Broker ID']]);
    // Per broker only reachability: under-replication is one cluster series (no alarm reads it per broker).
    expect(b1).toMatchObject({ BrokerReachable: 1 });
    expect(b1?.UnderReplicatedPartitions).toBeUndefined();
    expect(find({ 'Cluster Name': 'orders', 'Broker ID': '2' })).toMatchObject({ BrokerReachable: 0 });
    expect(find({ 'Cluster Name': 'orders', 'Broker ID': '3' })).toMatchObject({ BrokerReachable: 0 });
    // A configured broker the snapshot does not name is reported unreachable, not left silent.
    expect(find({ 'Cluster Name': 'orders', 'Broker ID': '4' })).toMatchObject({ BrokerReachable: 0 });

    const g = find({ 'Cluster Name': 'orders', 'Consumer Group': 'billing' });
    expect(g?._aws.CloudWatchMetrics[0]?.Dimensions).toEqual([['Cluster Name', 'Consumer Group']]);
    expect(g).toMatchObject({ ConsumerLag: 25 });
    // A group whose offsets could not be read publishes nothing rather than a false 0.
    expect(find({ 'Cluster Name': 'orders', 'Consumer Group': 'broken' })).toBeUndefined();
    expect(docs).toHaveLength(1 + 4 + 1);
  });

  it('UnreachableBrokers counts the known brokers whose BrokerReachable is 0, and is 0 when all answer', () => {
    const clusterDoc = (docs: ReturnType<typeof probeMetricDocuments>) =>
      docs.find((d) => Object.keys(d.dimensions).length === 1);
    const count = (docs: ReturnType<typeof probeMetricDocuments>) =>
      clusterDoc(docs)?.metrics.find((m) => m.name === 'UnreachableBrokers')?.value;
    const all = probeMetricDocuments('c', snap());
    const zeros = all.filter((d) => d.metrics.some((m) => m.name === 'BrokerReachable' && m.value === 0)).length;
    expect(count(all)).toBe(zeros);
    expect(count(all)).toBe(2);
    const healthy = snap({ brokers: [{ id: 1, host: 'h', port: 1, registered: true, reachable: true }] });
    expect(count(probeMetricDocuments('c', healthy, [1]))).toBe(0);
    // A dead cluster's snapshot names no broker: the brokers seen before still count.
    expect(count(probeMetricDocuments('c', snap({ brokers: [] }), [1, 2, 3]))).toBe(3);
  });
});

describe('probe EMF metrics of a secured cluster', () => {
  const metricsOf = (docs: ReturnType<typeof probeMetricDocuments>) =>
    Object.fromEntries(
      docs
        .filter((d) => Object.keys(d.dimensions).length === 1)
        .flatMap((d) => d.metrics.map((m) => [m.name, m.value])),
    );
  const refusedAll = snap({
    status: 'auth-failed',
    registeredBrokers: [],
    brokers: [],
    partitions: { total: 0, offline: 0, underReplicated: 0, underMinIsr: 0, details: [] },
    consumerGroups: [],
    security: {
      tls: true,
      sasl: 'SCRAM-SHA-512',
      refused: [1, 2, 3].map((i) => ({
        server: `b-${i}:9096`,
        outcome: 'auth-failed' as const,
        error: 'SASL SCRAM-SHA-512 refused',
      })),
      certificates: [
        { server: 'b-1:9096', notAfter: '2027-01-01T00:00:00.000Z', daysToExpiry: 20.5 },
        { server: 'b-2:9096', notAfter: '2027-02-01T00:00:00.000Z', daysToExpiry: 51.5 },
      ],
      minDaysToExpiry: 20.5,
    },
  });

  it('refused before the metadata: no BrokerReachable and no UnreachableBrokers (never a broker-down alarm), the refusals and the nearest expiry published', () => {
    const docs = probeMetricDocuments('orders', refusedAll, [1, 2, 3]);
    expect(docs.filter((d) => 'Broker ID' in d.dimensions)).toEqual([]);
    const m = metricsOf(docs);
    expect(m).toMatchObject({
      ProbeHeartbeat: 1,
      ClusterReachable: 1,
      ProbeAuthFailures: 3,
      CertificateDaysToExpiry: 20.5,
    });
    expect(m).not.toHaveProperty('UnreachableBrokers');
    expect(m).not.toHaveProperty('ProbeTlsFailures');
    // The heartbeat's carrier on EC2 (OfflinePartitions samples) stays published.
    expect(m).toHaveProperty('OfflinePartitions');
  });

  it('credentials that could not be loaded: no connection was tried, so no ClusterReachable either (no site-down)', () => {
    const m = metricsOf(
      probeMetricDocuments(
        'orders',
        {
          ...refusedAll,
          bootstrapReachable: false,
          security: {
            ...refusedAll.security!,
            refused: [{ server: 'probe credentials', outcome: 'tls-failed', error: 'x' }],
            certificates: [],
            minDaysToExpiry: null,
          },
        },
        [1],
      ),
    );
    expect(m).not.toHaveProperty('ClusterReachable');
    expect(m).toMatchObject({ ProbeTlsFailures: 1 });
    expect(m).not.toHaveProperty('CertificateDaysToExpiry');
  });

  it('one broker refusing while the metadata was read: the brokers are reported as seen, the refusing one as answering', () => {
    const s = snap({
      status: 'tls-failed',
      brokers: [
        { id: 1, host: 'h', port: 1, registered: true, reachable: true, access: 'tls-failed', error: 'expired' },
      ],
      security: {
        tls: true,
        refused: [{ server: 'h:1', outcome: 'tls-failed', error: 'expired' }],
        certificates: [],
        minDaysToExpiry: null,
      },
    });
    const docs = probeMetricDocuments('orders', s, [1]);
    expect(docs.find((d) => d.dimensions['Broker ID'] === '1')?.metrics).toEqual([
      { name: 'BrokerReachable', value: 1, unit: 'Count' },
    ]);
    expect(metricsOf(docs)).toMatchObject({ UnreachableBrokers: 0, ProbeTlsFailures: 1 });
  });

  it('a plaintext cluster publishes none of the security series', () => {
    const m = metricsOf(probeMetricDocuments('orders', snap()));
    for (const k of ['ProbeAuthFailures', 'ProbeTlsFailures', 'CertificateDaysToExpiry'])
      expect(m).not.toHaveProperty(k);
  });
});

describe('the cluster file (CLUSTERS_FILE)', () => {
  it('parses names, servers (array or comma string), counts and groups', () => {
    const c = parseClustersJson(
      JSON.stringify([
        {
          name: 'orders',
          bootstrapServers: 'a:9092, b:9092',
          brokerCount: 3,
          consumerGroups: ['billing', { name: 'audit', topics: ['orders'] }],
        },
      ]),
    );
    expect(probeOptionsFor(c[0] as never, 4000)).toEqual({
      bootstrapServers: ['a:9092', 'b:9092'],
      expectedBrokers: 3,
      consumerGroups: [{ group: 'billing' }, { group: 'audit', topics: ['orders'] }],
      timeoutMs: 4000,
    });
    expect(probeOptionsFor({ name: 'x', bootstrapServers: ['a:1'] }, 1000)).toEqual({
      bootstrapServers: ['a:1'],
      consumerGroups: [],
      timeoutMs: 1000,
    });
  });

  it('carries the security reference (never a secret value) and refuses an unknown protocol', () => {
    const security = {
      protocol: 'SASL_SSL',
      mechanism: 'SCRAM-SHA-512',
      credentialsSecret: 'AmazonMSK_probe',
      tls: { caSecret: 'kafka/ca', serverName: 'kafka.example.com' },
    };
    expect(
      parseClustersJson(JSON.stringify([{ name: 'x', bootstrapServers: ['a:1'], security }]))[0]?.security,
    ).toEqual(security);
    expect(() =>
      parseClustersJson(JSON.stringify([{ name: 'x', bootstrapServers: ['a:1'], security: { protocol: 'TLS' } }])),
    ).toThrow('0.security.protocol');
  });

  it.each([
    [undefined, 'the cluster file (CLUSTERS_FILE) is empty'],
    ['{', 'CLUSTERS_FILE is not JSON'],
    ['[{"name":"x"}]', '0.bootstrapServers'],
  ])('%s -> ProbeConfigError naming the problem', (text, message) => {
    expect(() => parseClustersJson(text)).toThrow(ProbeConfigError);
    expect(() => parseClustersJson(text)).toThrow(message);
  });
});

describe('probe handler', () => {
  const base = (
    over: Partial<ProbeDeps> = {},
  ): ProbeDeps & { calls: ProbeOptions[]; published: number[]; slept: number[] } => {
    const calls: ProbeOptions[] = [];
    const published: number[] = [];
    const slept: number[] = [];
    let t = 1_000_000;
    return {
      calls,
      published,
      slept,
      clusters: () => [
        {
          name: 'orders',
          bootstrapServers: ['127.0.0.1:9092'],
          brokerCount: 3,
          brokerIds: [1, 2, 3],
          consumerGroups: ['billing'],
        },
      ],
      probe: async (o) => {
        calls.push(o);
        t += 100;
        return snap();
      },
      publish: (docs) => published.push(docs.length),
      sleep: async (ms) => {
        slept.push(ms);
        t += ms;
      },
      now: () => t,
      rounds: 1,
      intervalMs: 15_000,
      timeoutMs: 5000,
      ...over,
    };
  };

  it('a ZooKeeper-mode cluster that lists its ensemble: the servers are asked beside the Kafka probe each round, and the quorum is published', async () => {
    const asked: string[][] = [];
    const docs: MetricDocument[] = [];
    const deps = base({
      clusters: () => [
        {
          name: 'orders',
          bootstrapServers: ['127.0.0.1:9092'],
          brokerCount: 3,
          metadataMode: 'zookeeper',
          zookeeper: ['zk-1:2181', 'zk-2:2181', 'zk-3:2181'],
        },
      ],
      probe: async () => snap({ metadataMode: 'zookeeper', controller: { id: 1, known: true, note: '' } }),
      zookeeper: async (servers) => {
        asked.push(servers);
        return ensembleReport(servers.map((server) => ({ server, state: 'not-serving' as const })));
      },
      publish: (d) => docs.push(...d),
      rounds: 2,
    });
    const r = await makeProbeHandler(deps)({ cluster: 'orders' });
    expect(asked).toHaveLength(2);
    expect(r.zookeeper).toMatchObject({ quorum: false, leaders: 0, serving: 0, size: 3 });
    const cluster = docs.filter((d) => Object.keys(d.dimensions).length === 1).at(-1);
    expect(
      cluster?.metrics
        .filter((m) => m.name.startsWith('Quorum') || m.name === 'ActiveControllerCount')
        .map((m) => [m.name, m.value]),
    ).toEqual([
      ['ActiveControllerCount', 1],
      ['QuorumHealthy', 0],
      ['QuorumLeaders', 0],
      ['QuorumServersServing', 0],
      ['QuorumSize', 3],
    ]);
    expect(probeOptionsFor({ name: 'x', bootstrapServers: 'h:1', metadataMode: 'zookeeper' }, 1000).metadataMode).toBe(
      'zookeeper',
    );
  });

  it('no ensemble listed: ZooKeeper is not asked', async () => {
    let asked = 0;
    await makeProbeHandler(base({ zookeeper: async () => (asked++, ensembleReport([])) }))({ cluster: 'orders' });
    expect(asked).toBe(0);
  });

  it('rejects a ZooKeeper server that is not host:port, naming the field', () => {
    expect(() =>
      parseClustersJson(JSON.stringify([{ name: 'x', bootstrapServers: 'h:1', zookeeper: ['zk-1'] }])),
    ).toThrow(/0\.zookeeper\.0: expected host:port/);
  });

  it('one round: probes with the cluster facts, publishes, returns the snapshot and problems', async () => {
    const deps = base();
    const r = await makeProbeHandler(deps)({ cluster: 'orders' });
    expect(deps.calls).toEqual([
      {
        bootstrapServers: ['127.0.0.1:9092'],
        expectedBrokers: 3,
        consumerGroups: [{ group: 'billing' }],
        timeoutMs: 5000,
      },
    ]);
    expect(deps.published).toEqual([5]);
    expect(r).toMatchObject({ cluster: 'orders', rounds: 1, status: 'degraded' });
    expect(r.problems).toContain('broker 2 unreachable: hung');
    expect(r.problems).toContain('broker 3 not registered');
  });

  it('inner loop: rounds on 15 s slots while the invocation has time left', async () => {
    const deps = base({ rounds: 4 });
    const r = await makeProbeHandler(deps)({ cluster: 'orders' }, { getRemainingTimeInMillis: () => 60_000 });
    expect(r.rounds).toBe(4);
    expect(deps.slept).toEqual([14_900, 14_900, 14_900]);
  });

  it('inner loop stops before a round that could outlive the invocation', async () => {
    let left = 40_000;
    const deps = base({ rounds: 4 });
    const sleep = deps.sleep;
    const r = await makeProbeHandler({
      ...deps,
      sleep: async (ms) => {
        left -= ms;
        await sleep(ms);
      },
    })({ cluster: 'orders' }, { getRemainingTimeInMillis: () => left });
    // 40 s left: round 2 needs 14.9 + 5 + 1 s (fits), round 3 needs the same from 25.1 s left (fits), round 4 does not (10.2 s left).
    expect(r.rounds).toBe(3);
  });

  it('the event can ask for one round (workflow confirm/verify)', async () => {
    const deps = base({ rounds: 4 });
    expect((await makeProbeHandler(deps)({ cluster: 'orders', rounds: 1 })).rounds).toBe(1);
  });

  it('a secured cluster: the probe gets the security loader; a refusal makes it read the secrets again next time', async () => {
    const loader = {
      load: vi.fn(() => Promise.resolve({ sasl: { mechanism: 'PLAIN' as const, username: 'u', password: 'p' } })),
      forget: vi.fn(),
    };
    const refused = snap({
      status: 'auth-failed',
      security: {
        tls: false,
        sasl: 'PLAIN',
        refused: [{ server: 'b:9092', outcome: 'auth-failed', error: 'no' }],
        certificates: [],
        minDaysToExpiry: null,
      },
    });
    const deps = base({
      security: () => loader,
      probe: async (o) => ((o.security as () => Promise<unknown>) === loader.load ? refused : snap()),
      rounds: 2,
    });
    const r = await makeProbeHandler(deps)({ cluster: 'orders' });
    expect(r.status).toBe('auth-failed');
    expect(loader.forget).toHaveBeenCalledTimes(2);
    const fine = { load: loader.load, forget: vi.fn() };
    await makeProbeHandler(base({ security: () => fine, probe: async () => snap() }))({ cluster: 'orders' });
    expect(fine.forget).not.toHaveBeenCalled();
  });

  it('an unknown cluster is a typed error', async () => {
    await expect(makeProbeHandler(base())({ cluster: 'nope' })).rejects.toBeInstanceOf(UnknownClusterError);
  });

  it('the middy-wrapped handler rejects a malformed event before probing', async () => {
    const ctx = { getRemainingTimeInMillis: () => 60_000, functionName: 'probe', awsRequestId: 'r1' } as never;
    await expect(handler({ cluster: '' } as never, ctx)).rejects.toMatchObject({ name: 'InputValidationError' });
  });
});

describe('fast detection (scheduled runs: a second look, then the ingest queue)', () => {
  /** A snapshot where `down` brokers of 1-3 do not answer (registered, unreachable). */
  const seen = (down: number[], takenAt = '2026-01-01T00:00:00.000Z'): ClusterSnapshot =>
    snap({
      takenAt,
      status: down.length ? 'degraded' : 'healthy',
      registeredBrokers: [1, 2, 3],
      brokers: [1, 2, 3].map((id) => ({
        id,
        host: '127.0.0.1',
        port: 9000 + id,
        registered: true,
        reachable: !down.includes(id),
        ...(down.includes(id) ? { error: 'ECONNREFUSED' } : {}),
      })),
    });

  /** Deps whose probe answers the given snapshots in order (the last one repeats). */
  const deps = (answers: ClusterSnapshot[], over: Partial<ProbeDeps> = {}) => {
    const sent: ProbeResultEvent[] = [];
    const slept: number[] = [];
    let probes = 0;
    let published = 0;
    const d: ProbeDeps = {
      clusters: () => [{ name: 'fast', bootstrapServers: ['127.0.0.1:9092'], brokerCount: 3, brokerIds: [1, 2, 3] }],
      probe: async () => answers[Math.min(probes++, answers.length - 1)] as ClusterSnapshot,
      publish: () => void published++,
      sleep: async (ms) => void slept.push(ms),
      now: () => 0,
      rounds: 1,
      intervalMs: 15_000,
      timeoutMs: 5000,
      recheckMs: 10_000,
      sendResult: async (e) => void sent.push(e),
      ...over,
    };
    return { d, sent, slept, probes: () => probes, published: () => published };
  };

  it('idle: every broker answers, so there is no second look and nothing is sent', async () => {
    const t = deps([seen([])]);
    const r = await makeProbeHandler(t.d)({ cluster: 'fast' });
    expect(t.probes()).toBe(1);
    expect(t.slept).toEqual([]);
    expect(t.sent).toEqual([]);
    expect(r.fastDetection).toBeUndefined();
  });

  it('a broker down at both looks, the pause apart: one broker-down finding on the queue, observed at the first look', async () => {
    const t = deps([seen([2], '2026-01-01T00:01:00.000Z'), seen([2], '2026-01-01T00:01:10.000Z')]);
    const r = await makeProbeHandler(t.d)({ cluster: 'fast' }, { getRemainingTimeInMillis: () => 54_000 });
    expect(t.slept).toEqual([10_000]);
    expect(t.probes()).toBe(2);
    expect(t.sent).toEqual([
      {
        source: PROBE_SOURCE,
        cluster: 'fast',
        observedAt: '2026-01-01T00:01:00.000Z',
        findings: [{ kind: 'broker-down', brokerIds: [2], state: 'firing' }],
      },
    ]);
    expect(r.fastDetection).toEqual({ rechecked: [2], confirmed: [2], resolved: [], failed: 0 });
    // The metrics are the first look's, published once, as without fast detection.
    expect(t.published()).toBe(1);
  });

  it('a broker back by the second look sends nothing', async () => {
    const t = deps([seen([2]), seen([])]);
    const r = await makeProbeHandler(t.d)({ cluster: 'fast' });
    expect(t.probes()).toBe(2);
    expect(t.sent).toEqual([]);
    expect(r.fastDetection).toEqual({ rechecked: [2], confirmed: [], resolved: [], failed: 0 });
  });

  it('only brokers down at both looks are reported, together in one finding', async () => {
    const t = deps([seen([1, 2]), seen([2, 3])]);
    await makeProbeHandler(t.d)({ cluster: 'fast' });
    expect(t.sent.map((e) => e.findings)).toEqual([[{ kind: 'broker-down', brokerIds: [2], state: 'firing' }]]);
  });

  it('a workflow probe (rounds: 1, confirm/verify) never looks twice nor sends', async () => {
    const t = deps([seen([2])]);
    const r = await makeProbeHandler(t.d)({ cluster: 'fast', rounds: 1 });
    expect(t.probes()).toBe(1);
    expect(t.slept).toEqual([]);
    expect(t.sent).toEqual([]);
    expect(r.fastDetection).toBeUndefined();
  });

  it('off: a pause of 0, or no queue to send to', async () => {
    for (const over of [{ recheckMs: 0 }, { sendResult: undefined }]) {
      const t = deps([seen([2])], over);
      await makeProbeHandler(t.d)({ cluster: 'fast' });
      expect(t.probes()).toBe(1);
      expect(t.sent).toEqual([]);
    }
  });

  it('once per fault: a broker still down a minute later is not re-sent; back, its finding is resolved; down again, it is sent again', async () => {
    const t = deps([seen([2]), seen([2]), seen([2]), seen([]), seen([2]), seen([2])]);
    const run = makeProbeHandler(t.d);
    await run({ cluster: 'fast' });
    await run({ cluster: 'fast' });
    expect(t.probes()).toBe(3);
    expect(t.sent).toHaveLength(1);
    const back = await run({ cluster: 'fast' });
    expect(back.fastDetection).toEqual({ rechecked: [], confirmed: [], resolved: [[2]], failed: 0 });
    expect(t.sent[1]?.findings).toEqual([{ kind: 'broker-down', brokerIds: [2], state: 'resolved' }]);
    await run({ cluster: 'fast' });
    expect(t.sent.map((e) => e.findings[0]?.state)).toEqual(['firing', 'resolved', 'firing']);
  });

  it('a failed send is logged and counted, never fails the run nor its metrics, and is tried again next run', async () => {
    let fail = true;
    const added = vi.spyOn(metrics, 'addMetric');
    const t = deps([seen([2])]);
    const ok = t.d.sendResult as NonNullable<ProbeDeps['sendResult']>;
    const run = makeProbeHandler({
      ...t.d,
      sendResult: (e) =>
        fail ? Promise.reject(Object.assign(new Error('connect ETIMEDOUT sqs'), { name: 'TimeoutError' })) : ok(e),
    });
    const r = await run({ cluster: 'fast' });
    expect(r.fastDetection).toMatchObject({ confirmed: [2], failed: 1 });
    expect(t.published()).toBe(1);
    expect(added).toHaveBeenCalledWith('FastDetectionSendFailures', 'Count', 1);
    added.mockRestore();
    fail = false;
    await run({ cluster: 'fast' });
    expect(t.sent.map((e) => e.findings)).toEqual([[{ kind: 'broker-down', brokerIds: [2], state: 'firing' }]]);
  });

  it('no second look when the invocation could not fit it (the alarm path still applies)', async () => {
    const t = deps([seen([2])]);
    const r = await makeProbeHandler(t.d)({ cluster: 'fast' }, { getRemainingTimeInMillis: () => 18_000 });
    expect(t.slept).toEqual([]);
    expect(t.sent).toEqual([]);
    expect(r.fastDetection?.skipped).toMatch(/brokers 2 unreachable, but 18000 ms left/);
  });

  it('every broker unreachable is reported as broker-down of all of them, never site-down', async () => {
    const dead = snap({
      status: 'down',
      bootstrapReachable: false,
      registeredBrokers: [],
      brokers: [],
      partitions: { total: 0, offline: 0, underReplicated: 0, underMinIsr: 0, details: [] },
      consumerGroups: [],
    });
    const t = deps([dead]);
    await makeProbeHandler(t.d)({ cluster: 'fast' });
    expect(t.sent.map((e) => e.findings)).toEqual([[{ kind: 'broker-down', brokerIds: [1, 2, 3], state: 'firing' }]]);
  });

  it('a probe refused before it read the metadata reports no broker (safety rule 11)', async () => {
    const refused = snap({
      status: 'auth-failed',
      registeredBrokers: [],
      brokers: [],
      security: {
        tls: false,
        sasl: 'PLAIN',
        refused: [{ server: 'b:9092', outcome: 'auth-failed', error: 'no' }],
        certificates: [],
        minDaysToExpiry: null,
      },
    });
    const t = deps([refused]);
    const r = await makeProbeHandler(t.d)({ cluster: 'fast' });
    expect(t.probes()).toBe(1);
    expect(t.sent).toEqual([]);
    expect(r.fastDetection).toBeUndefined();
  });

  it('the sender puts the probe result on the ingest queue, bounded in time', async () => {
    const sqs = mockClient(SQSClient);
    sqs.on(SendMessageCommand).resolves({ MessageId: 'm1' });
    const event: ProbeResultEvent = {
      source: PROBE_SOURCE,
      cluster: 'fast',
      observedAt: '2026-01-01T00:00:00.000Z',
      findings: [{ kind: 'broker-down', brokerIds: [2], state: 'firing' }],
    };
    await ingestQueueSender(new SQSClient({}), 'https://sqs.eu-west-1.amazonaws.com/1/kafka-heal-prod-ingest')(event);
    const calls = sqs.commandCalls(SendMessageCommand);
    expect(calls).toHaveLength(1);
    expect(calls[0]?.args[0].input).toEqual({
      QueueUrl: 'https://sqs.eu-west-1.amazonaws.com/1/kafka-heal-prod-ingest',
      MessageBody: JSON.stringify(event),
    });
    sqs.restore();
  });

  it('PROBE_RECHECK_SECONDS: default 10, 0 turns it off, anything else outside 0-30 is refused by name', () => {
    expect(recheckSeconds(undefined)).toBe(10);
    expect(recheckSeconds('0')).toBe(0);
    expect(recheckSeconds('30')).toBe(30);
    expect(() => recheckSeconds('31')).toThrow(
      /PROBE_RECHECK_SECONDS must be a whole number of seconds from 0 to 30, got "31"/,
    );
    expect(() => recheckSeconds('1.5')).toThrow(ProbeConfigError);
  });
});
