// The probe against real Apache Kafka (KRaft, 3 combined nodes): one cluster for the whole file,
// tests in order, each restoring health before the next. Broker roles: 1 is crashed, 2 is hung,
// 1+2 go down together, 3 holds the RF=1 topic "scratch" and is crashed last.
// Figures (detection, recovery, probe latency) are printed with a "[probe-figures]" prefix.
import { Kafka, logLevel, type Consumer, type Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { probeCommand } from '#cli/commands/probe.js';
import { main } from '#cli/main.js';
import { evaluateGroup, lagWindows } from '#domain/lag.js';
import { canRestart } from '#domain/safety.js';
import type { ClusterSnapshot } from '#domain/snapshot.js';
import { describeProblems, probeCluster, type ProbeOptions } from '#shared/probe/index.js';
import { REQUEST_VERSIONS, apiVersions } from '#shared/probe/requests.js';
import { BrokerConnection } from '#shared/probe/wire.js';
import { startCluster, type LocalCluster } from '#local/kafka/cluster.js';

const SESSION_TIMEOUT_MS = 3000; // broker.session.timeout.ms of the local cluster (local/kafka/config.ts)
const PROBE_INTERVAL_MS = 1000;
const PROBE_TIMEOUT_MS = 5000;
const LAG_THRESHOLDS = { lagSev1: 1_000_000, lagSev2: 100_000, lagSev3: 10_000 };

let cluster: LocalCluster;
let kafka: Kafka;
const snapshots: Record<string, ClusterSnapshot> = {};
const figures: Record<string, number | string> = {};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const fig = (name: string, value: number | string) => {
  figures[name] = value;
  console.log(`[probe-figures] ${name}: ${value}`);
};

function probe(extra: Partial<ProbeOptions> = {}): Promise<ClusterSnapshot> {
  return probeCluster({
    bootstrapServers: cluster.bootstrapServers.split(','),
    expectedBrokers: 3,
    timeoutMs: PROBE_TIMEOUT_MS,
    ...extra,
  });
}

/** Probes every PROBE_INTERVAL_MS until `done` holds; returns the time from `since` and the snapshot. */
async function probeUntil(
  done: (s: ClusterSnapshot) => boolean,
  since: number,
  limitMs: number,
  extra: Partial<ProbeOptions> = {},
  what = 'condition',
) {
  let slowest = 0;
  for (;;) {
    const s = await probe(extra);
    slowest = Math.max(slowest, s.durationMs);
    expect(s.durationMs).toBeLessThan(PROBE_TIMEOUT_MS + 500);
    if (done(s)) return { ms: Date.now() - since, snapshot: s, slowest };
    if (Date.now() - since > limitMs)
      throw new Error(
        `${what} not met within ${limitMs} ms; last snapshot: ${JSON.stringify({ status: s.status, brokers: s.brokers, partitions: { ...s.partitions, details: s.partitions.details.slice(0, 5) }, errors: s.errors })}`,
      );
    await sleep(PROBE_INTERVAL_MS);
  }
}

/** Brings every stopped, crashed or hung broker back and waits until the probe says healthy. */
async function restore(label: string): Promise<void> {
  const t = Date.now();
  let acted = false;
  for (const b of cluster.brokers) {
    if (b.state === 'hung') await cluster.fault('resume', b.id);
    else if (b.state !== 'running') await cluster.fault('start', b.id);
    else continue;
    acted = true;
  }
  const back = await probeUntil((s) => s.status === 'healthy', t, 240_000);
  // The probe reads metadata from whichever bootstrap broker answers first, and a broker just
  // resumed from SIGSTOP answers at once with the metadata it had before it hung (all ISRs full).
  // The next test needs the cluster as it is: healthy seen through every broker's own metadata.
  for (const b of cluster.brokers)
    await probeUntil((s) => s.status === 'healthy', t, 240_000, { bootstrapServers: [`127.0.0.1:${b.port}`] });
  if (acted) fig(`${label}: back to healthy (probe) after, ms`, back.ms);
  if (acted) fig(`${label}: healthy through every broker after, ms`, Date.now() - t);
}

const broker = (s: ClusterSnapshot, id: number) => s.brokers.find((b) => b.id === id);
const isDown = (s: ClusterSnapshot, id: number) => {
  const b = broker(s, id);
  return !b || !b.registered || !b.reachable;
};
const hasReplica = (s: ClusterSnapshot, id: number) => s.partitions.details.filter((d) => d.replicas.includes(id));

beforeAll(async () => {
  const t = Date.now();
  cluster = await startCluster({ name: 'probe-it', log: () => undefined });
  fig('cluster start (3 KRaft nodes), ms', Date.now() - t);
  kafka = new Kafka({
    clientId: 'probe-it',
    brokers: cluster.bootstrapServers.split(','),
    logLevel: logLevel.NOTHING,
    retry: { retries: 2, initialRetryTime: 100 },
  });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({
    waitForLeaders: false,
    topics: [
      { topic: 'orders', numPartitions: 6, replicationFactor: 3 },
      { topic: 'bulk', numPartitions: 100, replicationFactor: 3 },
      { topic: 'events', numPartitions: 3, replicationFactor: 3 },
      { topic: 'slow', numPartitions: 1, replicationFactor: 3 },
      { topic: 'quiet', numPartitions: 1, replicationFactor: 3 },
      // RF=1 on broker 3, with its own min ISR 1 (the broker default is 2).
      {
        topic: 'scratch',
        replicaAssignment: [{ partition: 0, replicas: [3] }],
        configEntries: [{ name: 'min.insync.replicas', value: '1' }],
      },
    ],
  });
  await admin.disconnect();
  await cluster.waitHealthy(120_000);
}, 300_000);

afterAll(async () => {
  console.log(`[probe-figures] all: ${JSON.stringify(figures)}`);
  await cluster?.stop();
}, 120_000);

describe('probe against a real KRaft cluster', () => {
  it('healthy: all brokers registered and answering, KRaft controller unknown, min ISR from topic and broker configs', async () => {
    const { snapshot: s } = await probeUntil(
      (x) => x.status === 'healthy' && x.partitions.total >= 111,
      Date.now(),
      60_000,
    );
    expect(s.registeredBrokers).toEqual([1, 2, 3]);
    expect(s.brokers.every((b) => b.registered && b.reachable && (b.latencyMs ?? -1) >= 0)).toBe(true);
    expect(s.metadataMode).toBe('kraft');
    expect(s.controller).toEqual({ id: null, known: false, note: 'KRaft: quorum leader not exposed to clients' });
    expect(s.partitions.total).toBeGreaterThanOrEqual(111);
    expect(s.partitions).toMatchObject({ offline: 0, underReplicated: 0, underMinIsr: 0, details: [] });
    expect(s.perBroker[3]?.isrCritical).toBe(1); // scratch-0: RF=1, min ISR 1 from its topic config
    expect(s.perBroker[1]?.isrCritical).toBe(0); // RF=3 with broker default min ISR 2
    expect(s.errors).toEqual([]);
    snapshots.healthy = s;

    // Every request version the probe sends is inside what the brokers advertise.
    const b1 = s.brokers[0] as { host: string; port: number };
    const conn = await BrokerConnection.open(b1.host, b1.port, 5000);
    try {
      const { apis } = await apiVersions(conn, 5000);
      const outside = Object.entries(REQUEST_VERSIONS)
        .map(([key, version]) => ({ key: Number(key), version, range: apis.find((a) => a.key === Number(key)) }))
        .filter((x) => !x.range || x.range.min > x.version || x.version > x.range.max);
      expect(outside).toEqual([]);
    } finally {
      conn.close();
    }

    // The CLI over the same cluster: exit 0 and the same verdict.
    const out: string[] = [];
    const code = await main(
      ['probe', '--bootstrap', cluster.bootstrapServers, '--expect-brokers', '3', '--json'],
      { stdout: (t) => out.push(t), stderr: (t) => out.push(t) },
      [probeCommand],
    );
    expect(code).toBe(0);
    expect(JSON.parse(out.join('')) as ClusterSnapshot).toMatchObject({
      status: 'healthy',
      registeredBrokers: [1, 2, 3],
    });

    const times: number[] = [];
    const notHealthy: string[] = [];
    for (let i = 0; i < 20; i++) {
      const t = performance.now();
      const x = await probe();
      times.push(performance.now() - t);
      if (x.status !== 'healthy') notHealthy.push(`${x.status}: ${[...describeProblems(x), ...x.errors].join('; ')}`);
    }
    // Healthy brokers must read healthy; on a saturated 2-core machine a JVM may miss one step
    // timeout now and then, which the alarms' multi-period windows absorb.
    fig(
      'healthy probes reading healthy',
      `${20 - notHealthy.length}/20${notHealthy.length ? ` (${notHealthy.join(' | ')})` : ''}`,
    );
    expect(notHealthy.length).toBeLessThanOrEqual(2);
    times.sort((a, b) => a - b);
    fig('probe p50 ms (3 brokers, 111+ partitions)', Math.round(times[9] ?? 0));
    fig('probe p95 ms (3 brokers, 111+ partitions)', Math.round(times[18] ?? 0));
  });

  it('crash broker 1: reported down with its partitions under-replicated within session timeout + one probe interval; restart: healthy', async () => {
    try {
      const t0 = Date.now();
      await cluster.fault('crash', 1);
      const seen = await probeUntil(
        (s) => isDown(s, 1) && s.partitions.underReplicated > 0 && hasReplica(s, 1).length > 0,
        t0,
        30_000,
      );
      fig('crash: down + under-replicated reported after, ms', seen.ms);
      expect(seen.ms).toBeLessThanOrEqual(SESSION_TIMEOUT_MS + PROBE_INTERVAL_MS + seen.slowest);
      expect(seen.snapshot.status).toBe('degraded');
      expect(broker(seen.snapshot, 1)?.error).toMatch(/ECONN(REFUSED|RESET)|closed/);
      // A single crash never reads offline (Kafka's meaning): until the fence its partitions'
      // listed leader is silent (leaderUnreachable), after it another ISR member leads.
      expect(seen.snapshot.partitions.offline).toBe(0);
      const silent = seen.snapshot.registeredBrokers.includes(1) ? (seen.snapshot.perBroker[1]?.leaderFor ?? 0) : 0;
      expect(seen.snapshot.partitions.leaderUnreachable).toBe(silent);
      const fenced = await probeUntil(
        (s) =>
          !s.registeredBrokers.includes(1) &&
          s.partitions.details.some((d) => d.replicas.includes(1) && !d.isr.includes(1)),
        t0,
        30_000,
      );
      // How long the controller takes to fence it is Kafka's business (session timeout plus the
      // controller's own pace on a loaded machine): reported, bounded only by probeUntil's limit.
      fig('crash: fenced (out of metadata and ISR) after, ms', fenced.ms);
      expect(fenced.snapshot.perBroker[1]?.leaderFor).toBe(0);
      expect(fenced.snapshot.partitions).toMatchObject({ offline: 0, leaderUnreachable: 0 });
      expect(fenced.snapshot.partitions.underMinIsr).toBe(0);
      snapshots.oneCrashed = fenced.snapshot;
      const out: string[] = [];
      const code = await main(
        ['probe', '--bootstrap', cluster.bootstrapServers, '--expect-brokers', '3'],
        { stdout: (t) => out.push(t), stderr: (t) => out.push(t) },
        [probeCommand],
      );
      expect(code).toBe(1);
      expect(out.join('\n')).toContain('broker 1 not registered');
    } finally {
      await restore('crash: restart');
    }
  });

  it('hang broker 2 (SIGSTOP): unreachable and under-replicated; resume: healthy', async () => {
    try {
      const t0 = Date.now();
      await cluster.fault('hang', 2);
      const seen = await probeUntil((s) => isDown(s, 2) && s.partitions.underReplicated > 0, t0, 30_000);
      fig('hang: unreachable + under-replicated reported after, ms', seen.ms);
      expect(seen.ms).toBeLessThanOrEqual(SESSION_TIMEOUT_MS + PROBE_INTERVAL_MS + seen.slowest);
      expect(seen.snapshot.status).toBe('degraded');
      expect(broker(seen.snapshot, 2)?.error).toMatch(/TCP accepted: broker hung\?|not registered/);
      // The probe bound holds although one listener accepts TCP and never answers.
      expect(seen.snapshot.durationMs).toBeLessThan(PROBE_TIMEOUT_MS);
      snapshots.oneHung = seen.snapshot;
      const fenced = await probeUntil((s) => !s.registeredBrokers.includes(2), t0, 30_000);
      fig('hang: fenced after, ms', fenced.ms);
    } finally {
      await restore('hang: resume');
    }
  });

  it('two of three down (1 then 2; the KRaft quorum is lost): under-min-ISR reported', async () => {
    try {
      const t0 = Date.now();
      await cluster.fault('crash', 1);
      // Broker 2 must lead something when it dies, or there is nothing leader-unreachable to see:
      // after the hang test above it was fenced and led nothing (no preferred election for 300 s),
      // so wait until broker 1's fence hands it some of broker 1's partitions.
      await probeUntil(
        (s) => !s.registeredBrokers.includes(1) && (s.perBroker[2]?.leaderFor ?? 0) > 0,
        t0,
        30_000,
        {},
        'broker 1 fenced and broker 2 leading',
      );
      const t1 = Date.now();
      await cluster.fault('crash', 2);
      const seen = await probeUntil(
        (s) => isDown(s, 1) && isDown(s, 2) && s.partitions.underMinIsr > 0,
        t1,
        30_000,
        {},
        'brokers 1 and 2 down and under min ISR',
      );
      fig('two down: under-min-ISR reported after (from the second crash), ms', seen.ms);
      expect(seen.snapshot.status).toBe('degraded');
      // Every RF=3 partition is down to broker 3 alone.
      expect(seen.snapshot.partitions.underMinIsr).toBeGreaterThanOrEqual(6 + 100 + 3 + 1 + 1);
      // Without a quorum nothing fences broker 2: it stays listed as the leader of its partitions,
      // which read leader-unreachable (unavailable, under min ISR), not offline; no active
      // controller would publish OfflinePartitionsCount either. See docs/probe.md.
      expect(seen.snapshot.registeredBrokers).toContain(2);
      expect(seen.snapshot.partitions.leaderUnreachable).toBe(seen.snapshot.perBroker[2]?.leaderFor);
      expect(seen.snapshot.partitions.leaderUnreachable).toBeGreaterThan(0);
      expect(seen.snapshot.partitions.offline).toBe(0);
      snapshots.twoDown = seen.snapshot;
    } finally {
      await restore('two down: restart both');
    }
  });

  it('RF=1 topic whose only replica (broker 3) died: offline partition', async () => {
    try {
      const t0 = Date.now();
      await cluster.fault('crash', 3);
      const seen = await probeUntil(
        (s) => s.partitions.details.some((d) => d.topic === 'scratch' && d.leader === -1),
        t0,
        30_000,
      );
      fig('RF=1: offline (leader -1 in metadata) after, ms', seen.ms);
      expect(seen.snapshot.partitions.offline).toBeGreaterThanOrEqual(1);
      expect(seen.snapshot.perBroker[3]?.offline).toBeGreaterThanOrEqual(1);
      snapshots.rf1LeaderDead = seen.snapshot;
    } finally {
      await restore('RF=1: restart');
    }
  });

  it('canRestart gives the right answer in every state seen above', () => {
    const table: [string, number, boolean, number[]][] = [
      ['healthy', 1, true, []],
      ['healthy', 3, false, []], // scratch-0 (RF=1) would go offline
      ['oneCrashed', 1, true, [1]],
      ['oneCrashed', 2, false, [1]],
      ['oneHung', 2, true, [2]],
      ['oneHung', 3, false, [2]],
      ['twoDown', 1, true, [1, 2]],
      ['twoDown', 2, true, [1, 2]],
      ['twoDown', 3, false, [1, 2]],
      ['rf1LeaderDead', 3, true, [3]],
      ['rf1LeaderDead', 1, false, [3]],
    ];
    for (const [state, id, allowed, order] of table) {
      const snap = snapshots[state];
      expect(snap, state).toBeDefined();
      const v = canRestart(id, snap as ClusterSnapshot);
      expect({ state, id, allowed: v.allowed, order: v.order }, v.reason).toEqual({ state, id, allowed, order });
    }
  });

  it('consumer groups: stopped -> STOP, stalled -> STALL (both with growing lag), slow -> WARN, caught-up idle -> OK', async () => {
    const producer: Producer = kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    await producer.send({ topic: 'quiet', messages: Array.from({ length: 20 }, (_, i) => ({ value: `q${i}` })) });
    let producing = true;
    const loop = (async () => {
      let n = 0;
      while (producing) {
        await producer
          .sendBatch({
            topicMessages: [
              { topic: 'events', messages: Array.from({ length: 6 }, () => ({ value: `e${n++}` })) },
              { topic: 'slow', messages: Array.from({ length: 3 }, () => ({ value: `s${n++}` })) },
            ],
          })
          .catch(() => undefined);
        await sleep(100);
      }
    })();

    const consumers: Consumer[] = [];
    const consume = async (groupId: string, topic: string, perMessageMs = 0) => {
      const c = kafka.consumer({ groupId, sessionTimeout: 10_000, heartbeatInterval: 500 });
      consumers.push(c);
      await c.connect();
      await c.subscribe({ topic, fromBeginning: true });
      await c.run({
        autoCommitInterval: 300,
        eachMessage: async () => {
          if (perMessageMs > 0) await sleep(perMessageMs);
        },
      });
      return c;
    };
    const groups = ['g-idle', 'g-stop', 'g-stall', 'g-slow'];
    try {
      await consume('g-idle', 'quiet');
      const stop = await consume('g-stop', 'events');
      const stall = await consume('g-stall', 'events');
      await consume('g-slow', 'slow', 100);

      const committedAll = (s: ClusterSnapshot, g: string, n: number) =>
        (s.consumerGroups.find((x) => x.group === g)?.partitions.filter((p) => p.committedOffset !== null).length ??
          0) >= n;
      await probeUntil(
        (s) =>
          committedAll(s, 'g-stop', 3) &&
          committedAll(s, 'g-stall', 3) &&
          committedAll(s, 'g-slow', 1) &&
          s.consumerGroups.find((x) => x.group === 'g-idle')?.totalLag === 0 &&
          committedAll(s, 'g-idle', 1),
        Date.now(),
        60_000,
        { consumerGroups: groups },
      );
      await stop.disconnect();
      stall.pause([{ topic: 'events' }]);
      await sleep(1500);

      const window: ClusterSnapshot[] = [];
      for (let i = 0; i < 6; i++) {
        window.push(await probe({ consumerGroups: groups }));
        await sleep(1500);
      }
      const now = Date.parse(window[window.length - 1]?.takenAt ?? '');
      const evaluate = (g: string) => evaluateGroup(g, lagWindows(window, g, 10), LAG_THRESHOLDS, { now });
      const lagOf = (s: ClusterSnapshot | undefined, g: string) =>
        s?.consumerGroups.find((x) => x.group === g)?.totalLag ?? -1;

      const idle = evaluate('g-idle');
      expect(idle.status).toBe('OK');
      expect(idle.totalLag).toBe(0);

      const stopped = evaluate('g-stop');
      expect(stopped.partitions.map((p) => p.status)).toEqual(['STOP', 'STOP', 'STOP']);
      expect(stopped.status).toBe('ERR');
      expect(window[window.length - 1]?.consumerGroups.find((x) => x.group === 'g-stop')).toMatchObject({
        state: 'Empty',
        members: 0,
      });
      expect(lagOf(window[5], 'g-stop')).toBeGreaterThan(lagOf(window[0], 'g-stop'));

      const stalled = evaluate('g-stall');
      expect(stalled.partitions.map((p) => p.status)).toEqual(['STALL', 'STALL', 'STALL']);
      expect(stalled.status).toBe('ERR');
      expect(lagOf(window[5], 'g-stall')).toBeGreaterThan(lagOf(window[0], 'g-stall'));

      const slow = evaluate('g-slow');
      expect(slow.partitions.map((p) => p.status)).toEqual(['WARN']);
      expect(slow.status).toBe('WARN');
      fig(
        'lag: g-stop / g-stall / g-slow lag at window end',
        `${stopped.totalLag} / ${stalled.totalLag} / ${slow.totalLag}`,
      );
    } finally {
      producing = false;
      await loop;
      await Promise.allSettled(consumers.map((c) => c.disconnect()));
      await producer.disconnect();
    }
  });

  it('an unreachable bootstrap returns within the bound with status down', async () => {
    const t = Date.now();
    const s = await probeCluster({ bootstrapServers: ['127.0.0.1:1'], timeoutMs: PROBE_TIMEOUT_MS });
    fig('unreachable bootstrap: probe returned after, ms', Date.now() - t);
    expect(Date.now() - t).toBeLessThan(PROBE_TIMEOUT_MS);
    expect(s.status).toBe('down');
    expect(s.errors[0]).toContain('no bootstrap server answered');
  });
});
