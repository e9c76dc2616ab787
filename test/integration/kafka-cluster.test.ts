// The local supervisor against real Kafka 4.x brokers in KRaft mode: one 3-node cluster for the
// whole file, every fault applied to a real JVM and observed through the Kafka protocol and /proc.
import { existsSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '#cli/main.js';
import { startCluster, type LocalCluster } from '#local/kafka/cluster.js';
import { procState } from '#local/kafka/processes.js';
import { statePath } from '#local/kafka/state.js';
import { describeQuorum, electPreferredLeaders } from '#local/kafka/tools.js';

const NAME = 'it-kraft';
let cluster: LocalCluster;
let pids: number[] = [];
const figures: Record<string, number> = {};

/** Runs a `kafka-heal` command in this process; it reaches the cluster only through its state file. */
async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { stdout: (t) => out.push(t), stderr: (t) => err.push(t) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

function note(key: string, ms: number): void {
  figures[key] = ms;
  console.log(`[figure] ${key}: ${(ms / 1000).toFixed(1)} s`);
}

beforeAll(async () => {
  const t = Date.now();
  cluster = await startCluster({ name: NAME, brokers: 3, mode: 'kraft', log: () => undefined });
  note('kraft start (3 nodes, jars cached)', Date.now() - t);
  pids = cluster.pids();
});

afterAll(async () => {
  if (!cluster) return;
  pids = [...new Set([...pids, ...cluster.pids()])];
  const workDir = cluster.workDir;
  await cluster.stop();
  await cluster.stop(); // idempotent
  console.log(`[figures] ${JSON.stringify(figures)}`);
  expect(pids.filter((p) => procState(p) !== 'dead')).toEqual([]);
  expect(readFileSync('/proc/mounts', 'utf8')).not.toContain(workDir);
  expect(existsSync(statePath(NAME))).toBe(false);
});

describe('KRaft cluster', () => {
  it('starts healthy: 3 registered brokers, offsets topic with full ISR', async () => {
    expect(cluster.brokers.map((b) => [b.id, b.state])).toEqual([
      [1, 'running'],
      [2, 'running'],
      [3, 'running'],
    ]);
    const h = await cluster.health();
    expect(h.healthy).toBe(true);
    expect(h.registered).toEqual([1, 2, 3]);
    expect(h.partitions).toBeGreaterThanOrEqual(3);
    expect(h.underReplicated).toBe(0);
    expect(cluster.bootstrapServers.split(',')).toHaveLength(3);

    const status = await cli('local', 'status', '--name', NAME, '--json');
    expect(status.code, status.err).toBe(0);
    const parsed = JSON.parse(status.out) as {
      bootstrapServers: string;
      health: { healthy: boolean; underReplicated: number };
      brokers: { registered: boolean }[];
    };
    expect(parsed.bootstrapServers).toBe(cluster.bootstrapServers);
    expect(parsed.health).toMatchObject({ healthy: true, underReplicated: 0 });
    expect(parsed.brokers.map((b) => b.registered)).toEqual([true, true, true]);
  });

  it('crash: the broker is killed and drops out of the metadata; restart brings it back', async () => {
    const pid = cluster.brokers.find((b) => b.id === 3)?.pid;
    const t = Date.now();
    await cluster.fault('crash', 3);
    expect(procState(pid)).toBe('dead');
    expect(cluster.brokers.find((b) => b.id === 3)?.state).toBe('crashed');
    await cluster.waitUnregistered(3, 20_000);
    note('crash -> unregistered', Date.now() - t);
    const h = await cluster.health();
    expect(h.registered).toEqual([1, 2]);
    expect(h.healthy).toBe(false);
    await expect(cluster.waitHealthy(1000)).rejects.toThrow(/not healthy/);

    const r = Date.now();
    await cluster.fault('restart', 3);
    pids.push(...cluster.pids());
    expect(cluster.brokers.find((b) => b.id === 3)?.state).toBe('running');
    await cluster.waitHealthy(90_000);
    note('restart -> healthy', Date.now() - r);
  });

  it('hang: a SIGSTOPped broker is fenced; resume makes the cluster healthy again', async () => {
    const pid = cluster.brokers.find((b) => b.id === 2)?.pid;
    const t = Date.now();
    await cluster.fault('hang', 2);
    expect(procState(pid)).toBe('stopped');
    expect(cluster.brokers.find((b) => b.id === 2)?.state).toBe('hung');
    await cluster.waitUnregistered(2, 20_000);
    note('hang -> unregistered', Date.now() - t);
    // status stays bounded while a broker is hung, and reports it from /proc and the metadata.
    const s0 = Date.now();
    const status = await cluster.status();
    expect(Date.now() - s0).toBeLessThan(8000);
    expect(status.brokers.find((b) => b.id === 2)).toMatchObject({ state: 'hung', registered: false });
    expect(status.brokers.find((b) => b.id === 1)).toMatchObject({ state: 'running', registered: true });
    const r = Date.now();
    await cluster.fault('resume', 2);
    expect(procState(pid)).toBe('running');
    await cluster.waitHealthy(90_000);
    note('resume -> healthy', Date.now() - r);
  });

  it('stop is graceful (SIGTERM, exits before the grace period) and start rejoins', async () => {
    const pid = cluster.brokers.find((b) => b.id === 1)?.pid;
    const t = Date.now();
    await cluster.fault('stop', 1);
    const stopMs = Date.now() - t;
    note('graceful stop', stopMs);
    expect(procState(pid)).toBe('dead');
    expect(cluster.brokers.find((b) => b.id === 1)?.state).toBe('stopped');
    expect(readFileSync(`${cluster.workDir}/broker-1/server.log`, 'utf8')).toMatch(/shut(ting)? ?down|shutdown/i);
    expect(stopMs).toBeLessThan(10_000);
    // Started from "another shell": the CLI acts through the state file, and this process's
    // cluster object picks up the new pid from it (so its teardown kills that JVM too).
    const started = await cli('local', 'fault', 'start', '--broker', '1', '--name', NAME);
    expect(started.code, started.err).toBe(0);
    const newPid = Number(started.out.match(/\(pid (\d+)\)/)?.[1]);
    expect(newPid).not.toBe(pid);
    expect(cluster.brokers.find((b) => b.id === 1)).toMatchObject({ state: 'running', pid: newPid });
    expect(cluster.pids()).toContain(newPid);
    pids.push(...cluster.pids());
    await cluster.waitHealthy(90_000);
    note('start -> healthy', Date.now() - t - stopMs);
  });

  it('fill-disk fills the broker mount above 90 %, free-disk brings it back down', async () => {
    expect(cluster.disk(2).usedPercent).toBeLessThan(50);
    await cluster.fault('fill-disk', 2);
    const full = cluster.disk(2);
    expect(full.usedPercent).toBeGreaterThan(90);
    expect(full.usedPercent).toBeLessThan(100);
    await cluster.fault('fill-disk', 2, { percent: 60 });
    expect(cluster.disk(2).usedPercent).toBeGreaterThan(55);
    expect(cluster.disk(2).usedPercent).toBeLessThan(65);
    await cluster.fault('free-disk', 2);
    expect(cluster.disk(2).usedPercent).toBeLessThan(50);
    expect(cluster.disk(2).ballastMb).toBe(0);
    expect((await cluster.health()).healthy).toBe(true);
  });

  it("Kafka's own tools see the KRaft quorum (leader among the 3 voters) and run a preferred election", async () => {
    const q = await describeQuorum(cluster.bootstrapServers);
    expect(q.voters).toEqual([1, 2, 3]);
    expect(q.voters).toContain(q.leaderId);
    const e = await electPreferredLeaders('kraft', cluster.bootstrapServers);
    expect(e.code, e.stderr).toBe(0);
  });

  it('rejects an unknown broker id, fault, or ZooKeeper node (KRaft has none)', async () => {
    await expect(cluster.fault('crash', 9)).rejects.toMatchObject({ name: 'UnknownNodeError' });
    await expect(cluster.fault('melt' as never, 1)).rejects.toMatchObject({ name: 'UnknownFaultError' });
    await expect(cluster.zkFault('stop', 1)).rejects.toMatchObject({ name: 'UnknownNodeError' });
  });
});
