// The probe against a real ZooKeeper-mode cluster (Kafka 3.9 + 3-node ZooKeeper): mode detected
// from ApiVersions, the active controller is known and moves when its broker dies, a ZooKeeper
// node can be stopped and started under the probe. One cluster for the file, tests in order.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canRestart } from '#domain/safety.js';
import type { ClusterSnapshot } from '#domain/snapshot.js';
import { probeCluster } from '#shared/probe/index.js';
import { REQUEST_VERSIONS, apiVersions, isZooKeeperMode } from '#shared/probe/requests.js';
import { BrokerConnection } from '#shared/probe/wire.js';
import { startCluster, type LocalCluster } from '#local/kafka/cluster.js';

let cluster: LocalCluster;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function probe(): Promise<ClusterSnapshot> {
  return probeCluster({ bootstrapServers: cluster.bootstrapServers.split(','), expectedBrokers: 3, timeoutMs: 5000 });
}

async function probeUntil(done: (s: ClusterSnapshot) => boolean, limitMs: number) {
  const t0 = Date.now();
  for (;;) {
    const s = await probe();
    if (done(s)) return { ms: Date.now() - t0, snapshot: s };
    if (Date.now() - t0 > limitMs)
      throw new Error(
        `condition not met within ${limitMs} ms: ${JSON.stringify({ status: s.status, brokers: s.brokers, controller: s.controller, errors: s.errors })}`,
      );
    await sleep(1000);
  }
}

beforeAll(async () => {
  const t = Date.now();
  cluster = await startCluster({ name: 'probe-zk', mode: 'zookeeper', log: () => undefined });
  console.log(`[probe-figures] cluster start (ZooKeeper mode, 3 brokers + 3 ZooKeeper), ms: ${Date.now() - t}`);
}, 300_000);

afterAll(async () => {
  await cluster?.stop();
}, 120_000);

describe('probe against a real ZooKeeper-mode cluster', () => {
  it('detects ZooKeeper mode and reports the active controller', async () => {
    const { snapshot: s } = await probeUntil((x) => x.status === 'healthy', 60_000);
    expect(s.metadataMode).toBe('zookeeper');
    expect(s.controller.known).toBe(true);
    expect([1, 2, 3]).toContain(s.controller.id);
    const b1 = s.brokers[0] as { host: string; port: number };
    const conn = await BrokerConnection.open(b1.host, b1.port, 5000);
    try {
      const { apis } = await apiVersions(conn, 5000);
      expect(isZooKeeperMode(apis)).toBe(true);
      const outside = Object.entries(REQUEST_VERSIONS)
        .map(([key, version]) => ({ key: Number(key), version, range: apis.find((a) => a.key === Number(key)) }))
        .filter((x) => !x.range || x.range.min > x.version || x.version > x.range.max);
      expect(outside).toEqual([]);
    } finally {
      conn.close();
    }
  });

  it('the controller broker dies: down, a new controller is known, restart of the dead one allowed', async () => {
    const before = (await probe()).controller.id as number;
    await cluster.fault('crash', before);
    const { ms, snapshot } = await probeUntil(
      (s) => s.controller.known && s.controller.id !== before && !s.registeredBrokers.includes(before),
      60_000,
    );
    console.log(
      `[probe-figures] ZooKeeper mode: controller ${before} crashed, new controller ${snapshot.controller.id} seen after ${ms} ms`,
    );
    expect(snapshot.status).toBe('degraded');
    expect(canRestart(before, snapshot)).toMatchObject({ allowed: true, order: [before] });
    await cluster.fault('start', before);
    await probeUntil((s) => s.status === 'healthy', 180_000);
  });

  it('controller hung while another broker crashed: recovery order puts the controller last', async () => {
    const controller = (await probe()).controller.id as number;
    const other = [1, 2, 3].find((id) => id !== controller) as number;
    try {
      // A hung controller keeps its ZooKeeper session (and the role) for zookeeper.session.timeout.ms
      // (6 s locally): the probe must see both brokers down with the controller still named.
      await cluster.fault('hang', controller);
      await cluster.fault('crash', other);
      const { snapshot } = await probeUntil(
        (s) => s.controller.id === controller && s.brokers.filter((b) => !b.registered || !b.reachable).length >= 2,
        6000,
      );
      expect(canRestart(controller, snapshot)).toMatchObject({ allowed: true, order: [other, controller] });
    } finally {
      await cluster.fault('resume', controller);
      await cluster.fault('start', other);
      await probeUntil((s) => s.status === 'healthy', 180_000);
    }
  });

  it('a ZooKeeper node stopped and started: brokers keep serving, probe stays healthy', async () => {
    await cluster.zkFault('stop', 1);
    const during = await probe();
    expect(during.registeredBrokers).toEqual([1, 2, 3]);
    expect(during.status).toBe('healthy');
    await cluster.zkFault('start', 1);
    await probeUntil((s) => s.status === 'healthy', 60_000);
  });
});
