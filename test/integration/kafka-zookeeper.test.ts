// ZooKeeper mode against real processes: Kafka 3.9 brokers on a 3-node ZooKeeper ensemble,
// all from the kafka-3.9 jar set. One cluster for the file.
import { existsSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, zkMode, type LocalCluster } from '#local/kafka/cluster.js';
import { delay, procState } from '#local/kafka/processes.js';
import { statePath } from '#local/kafka/state.js';

const NAME = 'it-zookeeper';
let cluster: LocalCluster;
const pids = new Set<number>();

beforeAll(async () => {
  const t = Date.now();
  // Without size-limited disks: also covers clusters started where mounting is not possible.
  cluster = await startCluster({ name: NAME, brokers: 3, mode: 'zookeeper', diskLimitMb: 0, log: () => undefined });
  console.log(
    `[figure] zookeeper-mode start (3 ZooKeeper + 3 brokers, jars cached): ${((Date.now() - t) / 1000).toFixed(1)} s`,
  );
  for (const p of cluster.pids()) pids.add(p);
});

afterAll(async () => {
  if (!cluster) return;
  for (const p of cluster.pids()) pids.add(p);
  const workDir = cluster.workDir;
  await cluster.stop();
  expect([...pids].filter((p) => procState(p) !== 'dead')).toEqual([]);
  expect(readFileSync('/proc/mounts', 'utf8')).not.toContain(workDir);
  expect(existsSync(statePath(NAME))).toBe(false);
});

async function serving(): Promise<(string | undefined)[]> {
  return Promise.all((cluster.zookeeper?.nodes ?? []).map((z) => zkMode(z.port)));
}

/** Polls the ensemble's `srvr` answers until one leader and two followers (a node under load may answer late). */
async function settledEnsemble(limitMs = 30_000): Promise<(string | undefined)[]> {
  const started = Date.now();
  for (;;) {
    const modes = await serving();
    const settled =
      modes.filter((m) => m === 'leader').length === 1 && modes.filter((m) => m === 'follower').length === 2;
    if (settled || Date.now() - started > limitMs) return modes;
    await delay(250);
  }
}

describe('ZooKeeper-mode cluster', () => {
  it('starts healthy: a 3-node ensemble with a leader, 3 registered brokers under a chroot', async () => {
    const zk = cluster.zookeeper;
    expect(zk?.nodes).toHaveLength(3);
    expect(zk?.connect).toMatch(/^127\.0\.0\.1:\d+,127\.0\.0\.1:\d+,127\.0\.0\.1:\d+\/kafka-heal$/);
    const modes = await settledEnsemble();
    expect(modes.filter((m) => m === 'leader')).toHaveLength(1);
    expect(modes.filter((m) => m === 'follower')).toHaveLength(2);
    // Metadata reaches every broker a moment after start on a busy machine: poll, do not sample once.
    let h = await cluster.health();
    for (
      const until = Date.now() + 30_000;
      !(h.healthy && h.partitions >= 3) && Date.now() < until;
      h = await cluster.health()
    )
      await delay(250);
    expect(h.healthy).toBe(true);
    expect(h.registered).toEqual([1, 2, 3]);
    expect(h.partitions).toBeGreaterThanOrEqual(3);
  });

  it('has no disk mount, so disk faults say why they cannot run', async () => {
    expect(readFileSync('/proc/mounts', 'utf8')).not.toContain(cluster.workDir);
    await expect(cluster.fault('fill-disk', 1)).rejects.toMatchObject({
      name: 'DiskLimitError',
      message: expect.stringMatching(/diskLimitMb/),
    });
    await expect(cluster.fault('free-disk', 1)).rejects.toMatchObject({ name: 'DiskLimitError' });
  });

  it('one ZooKeeper node stopped: the ensemble still serves and brokers stay registered; it rejoins on start', async () => {
    const modes = await settledEnsemble();
    // Stop the leader: the hardest case, the others must elect a new one.
    const leaderIdx = modes.indexOf('leader');
    const leader = cluster.zookeeper?.nodes[leaderIdx];
    expect(leader).toBeDefined();
    const id = leader?.id ?? 1;
    const t = Date.now();
    await cluster.zkFault('stop', id);
    expect(procState(leader?.pid)).toBe('dead');
    expect(cluster.zookeeper?.nodes.find((z) => z.id === id)?.state).toBe('stopped');
    // Poll until the two survivors agree on a new leader.
    for (;;) {
      const m = await serving();
      if (m.filter((x) => x === 'leader').length === 1 && m.filter((x) => x === 'follower').length === 1) break;
      if (Date.now() - t > 30_000) throw new Error(`no new ZooKeeper leader: ${m.join(',')}`);
      await delay(200);
    }
    console.log(`[figure] zookeeper leader stop -> new leader: ${((Date.now() - t) / 1000).toFixed(1)} s`);
    expect((await cluster.health()).registered).toEqual([1, 2, 3]);

    await cluster.zkFault('start', id);
    for (const p of cluster.pids()) pids.add(p);
    for (;;) {
      const m = await serving();
      if (m.every((x) => x === 'leader' || x === 'follower')) break;
      if (Date.now() - t > 60_000) throw new Error(`ZooKeeper node ${id} did not rejoin: ${m.join(',')}`);
      await delay(200);
    }
    await cluster.waitHealthy(60_000);
  });

  it('a crashed broker leaves the registry after the ZooKeeper session timeout and rejoins on start', async () => {
    const t = Date.now();
    await cluster.fault('crash', 2);
    await cluster.waitUnregistered(2, 30_000);
    console.log(`[figure] zookeeper-mode crash -> unregistered: ${((Date.now() - t) / 1000).toFixed(1)} s`);
    const r = Date.now();
    await cluster.fault('start', 2);
    for (const p of cluster.pids()) pids.add(p);
    await cluster.waitHealthy(90_000);
    console.log(`[figure] zookeeper-mode start -> healthy: ${((Date.now() - r) / 1000).toFixed(1)} s`);
  });
});
