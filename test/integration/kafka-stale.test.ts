// Teardown when the owner dies: a process that started a cluster is SIGKILLed (no hook runs),
// its JVMs survive in their own process groups, and cleanupStale() - which every startCluster
// also runs first - kills them and unmounts their disks.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { attachCluster, cleanupStale, startCluster } from '#local/kafka/cluster.js';
import { procState, waitExit } from '#local/kafka/processes.js';
import { statePath } from '#local/kafka/state.js';

const NAME = 'it-stale';
const fixture = join(import.meta.dirname, 'fixtures', 'start-cluster-and-wait.ts');

afterAll(async () => {
  // Whatever happened above, leave nothing running.
  if (existsSync(statePath(NAME))) await attachCluster(NAME, () => undefined).stop();
});

function startOwner(): Promise<{ owner: ReturnType<typeof spawn>; pids: number[]; workDir: string }> {
  const owner = spawn(process.execPath, ['--import', 'tsx', fixture, NAME], { stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    owner.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = out.match(/^READY (.*)$/m);
      if (m?.[1]) resolve({ owner, ...(JSON.parse(m[1]) as { pids: number[]; workDir: string }) });
    });
    owner.stderr.on('data', (d: Buffer) => (err += d.toString()));
    owner.on('exit', (code) => reject(new Error(`owner exited with ${code} before the cluster was ready:\n${err}`)));
  });
}

describe('stale clusters', () => {
  it('JVMs of a SIGKILLed owner are found through the state file and killed, disks unmounted', async () => {
    const { owner, pids, workDir } = await startOwner();
    expect(pids).toHaveLength(3);
    owner.kill('SIGKILL');
    await waitExit(owner.pid as number, 5000);
    // No hook ran: the brokers are still alive and the state file still names them.
    expect(pids.map(procState)).toEqual(['running', 'running', 'running']);
    expect(existsSync(statePath(NAME))).toBe(true);

    expect(cleanupStale()).toContain(NAME);
    await Promise.all(pids.map((p) => waitExit(p, 10_000)));
    expect(pids.map(procState)).toEqual(['dead', 'dead', 'dead']);
    expect(readFileSync('/proc/mounts', 'utf8')).not.toContain(workDir);
    expect(existsSync(statePath(NAME))).toBe(false);
    expect(cleanupStale()).not.toContain(NAME);
  });

  it('a start that fails (a JVM that cannot boot) throws NodeFailedError with its output and leaves nothing behind', async () => {
    const name = 'it-badstart';
    process.env.KAFKA_HEAL_JVM_OPTS = '-XX:+KafkaHealNoSuchFlag';
    try {
      const t = Date.now();
      const err = await startCluster({ name, log: () => undefined }).catch((e: unknown) => e);
      expect(err).toMatchObject({ name: 'NodeFailedError' });
      expect((err as Error).message).toMatch(/KafkaHealNoSuchFlag/);
      expect(Date.now() - t).toBeLessThan(60_000);
    } finally {
      delete process.env.KAFKA_HEAL_JVM_OPTS;
    }
    expect(existsSync(statePath(name))).toBe(false);
    expect(readFileSync('/proc/mounts', 'utf8')).not.toContain(`/${name}/`);
  });
});
