// The probe's quorum and controller view against real local clusters: a KRaft cluster (Kafka 4.x,
// 3 combined nodes) asked through DescribeQuorum, and a ZooKeeper-mode cluster (Kafka 3.9 + a
// 3-server ensemble) asked with the srvr and mntr four-letter words. The metrics the alarms read
// are the ones the probe handler publishes: ActiveControllerCount and QuorumHealthy.
import { afterAll, describe, expect, it } from 'vitest';
import type { MetricDocument } from '#functions/probe/metrics.js';
import type { ProbeClusterConfig } from '#contracts/clusters-file.js';
import { makeProbeHandler } from '#functions/probe/handler.js';
import { probeCluster } from '#shared/probe/index.js';
import { observeZookeeper } from '#shared/zookeeper.js';
import { startCluster, type LocalCluster } from '#local/kafka/cluster.js';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const started: LocalCluster[] = [];

afterAll(async () => {
  for (const c of started) await c.stop();
}, 120_000);

/** One probe-handler run against `config`; the metrics it would publish, by name (cluster-level document). */
async function probeOnce(config: ProbeClusterConfig): Promise<Record<string, number>> {
  const docs: MetricDocument[] = [];
  const handler = makeProbeHandler({
    clusters: () => [config],
    probe: probeCluster,
    zookeeper: (servers) => observeZookeeper(servers, { timeoutMs: 1000 }),
    publish: (d) => docs.push(...d),
    sleep,
    now: Date.now,
    rounds: 1,
    intervalMs: 1000,
    timeoutMs: 5000,
  });
  await handler({ cluster: config.name });
  const cluster = docs.find((d) => Object.keys(d.dimensions).length === 1);
  return Object.fromEntries((cluster?.metrics ?? []).map((m) => [m.name, m.value]));
}

async function until(
  config: ProbeClusterConfig,
  done: (m: Record<string, number>) => boolean,
  limitMs: number,
): Promise<{ ms: number; metrics: Record<string, number> }> {
  const t0 = Date.now();
  for (;;) {
    const metrics = await probeOnce(config);
    if (done(metrics)) return { ms: Date.now() - t0, metrics };
    if (Date.now() - t0 > limitMs) throw new Error(`not within ${limitMs} ms: ${JSON.stringify(metrics)}`);
    await sleep(500);
  }
}

describe('KRaft: the metadata quorum from DescribeQuorum', () => {
  it('reports the leader and the voters, then no leader once a majority of the controllers is gone', async () => {
    const c = await startCluster({ name: 'probe-quorum-kraft', mode: 'kraft', log: () => undefined });
    started.push(c);
    const config: ProbeClusterConfig = {
      name: 'kq',
      bootstrapServers: c.bootstrapServers.split(','),
      brokerCount: 3,
      metadataMode: 'kraft',
    };
    const s = await probeCluster({ bootstrapServers: c.bootstrapServers.split(','), timeoutMs: 5000 });
    expect(s.quorum?.state).toBe('led');
    expect([1, 2, 3]).toContain(s.quorum?.leaderId);
    expect(s.quorum?.voters.map((v) => v.id).sort()).toEqual([1, 2, 3]);
    const healthy = await probeOnce(config);
    expect(healthy).toMatchObject({ ActiveControllerCount: 1, QuorumHealthy: 1, QuorumLeaders: 1, QuorumSize: 3 });
    expect(healthy.QuorumMaxVoterLag).toBeGreaterThanOrEqual(0);
    // Two of three combined nodes down: the survivor's broker still answers, its controller has no quorum.
    const leader = s.quorum?.leaderId as number;
    const others = [1, 2, 3].filter((id) => id !== leader);
    await c.fault('crash', leader);
    await c.fault('crash', others[0] as number);
    const { ms, metrics } = await until(config, (m) => m.ActiveControllerCount === 0, 45_000);
    console.log(`[quorum-figures] KRaft: leader ${leader} and ${others[0]} crashed, no leader seen after ${ms} ms`);
    expect(metrics).toMatchObject({ ActiveControllerCount: 0, QuorumHealthy: 0, QuorumLeaders: 0 });
  }, 150_000);
});

describe('ZooKeeper mode: the ensemble from srvr and mntr, the controller from the metadata', () => {
  it('reports one leader and a serving ensemble, then lost quorum once a majority of the servers is stopped', async () => {
    const c = await startCluster({ name: 'probe-quorum-zk', mode: 'zookeeper', log: () => undefined });
    started.push(c);
    const servers = (c.zookeeper?.nodes ?? []).map((n) => `${n.host}:${n.port}`);
    expect(servers).toHaveLength(3);
    const config: ProbeClusterConfig = {
      name: 'zq',
      bootstrapServers: c.bootstrapServers.split(','),
      brokerCount: 3,
      metadataMode: 'zookeeper',
      zookeeper: servers,
    };
    const ensemble = await observeZookeeper(servers, { timeoutMs: 1000 });
    expect(ensemble.servers.map((s) => s.state).sort()).toEqual(['follower', 'follower', 'leader']);
    expect(ensemble.servers.every((s) => /^0x[0-9a-f]+$/.test(s.zxid ?? ''))).toBe(true);
    // The local ensemble allows mntr (4lw.commands.whitelist): the leader counts its synced followers.
    expect(ensemble.servers.find((s) => s.state === 'leader')?.syncedFollowers).toBe(2);
    const { metrics: healthy } = await until(config, (m) => m.ActiveControllerCount === 1, 30_000);
    expect(healthy).toMatchObject({ QuorumHealthy: 1, QuorumLeaders: 1, QuorumServersServing: 3, QuorumSize: 3 });
    expect(healthy.ZooKeeperServersUnasked).toBeUndefined();
    // The leader and one follower stopped: the survivor stops serving, the brokers keep their metadata.
    const leader = c.zookeeper?.nodes.find(
      (n) => `${n.host}:${n.port}` === ensemble.servers.find((s) => s.state === 'leader')?.server,
    );
    const follower = c.zookeeper?.nodes.find((n) => n.id !== leader?.id);
    await c.zkFault('stop', leader?.id as number);
    await c.zkFault('stop', follower?.id as number);
    const { ms, metrics } = await until(config, (m) => m.QuorumHealthy === 0, 30_000);
    console.log(
      `[quorum-figures] ZooKeeper: leader ${leader?.id} and ${follower?.id} stopped, lost quorum seen after ${ms} ms`,
    );
    expect(metrics).toMatchObject({ QuorumHealthy: 0, QuorumLeaders: 0, QuorumServersServing: 0, QuorumSize: 3 });
    const after = await observeZookeeper(servers, { timeoutMs: 1000 });
    expect(after.servers.filter((s) => s.state === 'unreachable')).toHaveLength(2);
    expect(after.quorum).toBe(false);
  }, 180_000);
});
