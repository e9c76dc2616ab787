// kafka-restart-broker and kafka-stop-broker run for real with bash against a `systemctl` shim
// that drives a throwaway process: a node TCP listener for a broker that comes up, a process
// that never opens its port, a restart that fails, a process that ignores SIGTERM.

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SystemctlShim, freePort, isAlive, runRunbook, tempDir } from './sandbox.js';

let root: string;
let shim: SystemctlShim | undefined;

beforeEach(() => {
  root = tempDir();
});
afterEach(() => {
  shim?.cleanup();
  shim = undefined;
  rmSync(root, { recursive: true, force: true });
});

describe('kafka-restart-broker', () => {
  it('restarts the unit, waits for the process and the port, and prints the new pid', async () => {
    const port = await freePort();
    shim = new SystemctlShim(join(root, 'shim'), 'listen', port);
    const oldPid = shim.start();
    const result = runRunbook(
      'kafka-restart-broker',
      { ListenerPort: String(port), TimeoutSeconds: '20' },
      { cwd: root, binDirs: [shim.bin] },
    );
    expect(result.status, result.stderr).toBe(0);
    const newPid = shim.pid();
    expect(result.json).toEqual({
      result: 'restarted',
      pid: newPid,
      previousPid: oldPid,
      service: 'kafka',
      listenerPort: port,
      waitedSeconds: expect.any(Number),
    });
    expect(newPid).not.toBe(oldPid);
    expect(isAlive(newPid as number)).toBe(true);
    expect(shim.calls()).toContain('restart kafka');
    expect(result.stdout.trim().split('\n')).toHaveLength(1);
  });

  it('starts a broker that was down (restart of a stopped unit)', async () => {
    const port = await freePort();
    shim = new SystemctlShim(join(root, 'shim'), 'listen', port);
    const result = runRunbook(
      'kafka-restart-broker',
      { ServiceName: 'kafka@2', ListenerPort: String(port), TimeoutSeconds: '20' },
      { cwd: root, binDirs: [shim.bin] },
    );
    expect(result.status, result.stderr).toBe(0);
    expect(result.json).toMatchObject({ result: 'restarted', previousPid: 0, service: 'kafka@2' });
    expect(shim.calls()[0]).toBe('show -p MainPID kafka@2');
  });

  it('fails cleanly, within its bound, when the port never opens', async () => {
    const port = await freePort();
    shim = new SystemctlShim(join(root, 'shim'), 'nolisten', port);
    const started = Date.now();
    const result = runRunbook(
      'kafka-restart-broker',
      { ListenerPort: String(port), TimeoutSeconds: '3' },
      { cwd: root, binDirs: [shim.bin] },
    );
    const elapsed = Date.now() - started;
    expect(result.status).toBe(7);
    expect(result.json).toEqual({
      result: 'failed',
      stage: 'listener',
      service: 'kafka',
      message: `port ${port} did not accept connections within 3s`,
    });
    expect(result.stderr).toContain(`port ${port} did not accept connections within 3s`);
    expect(elapsed).toBeLessThan(15_000);
  });

  it('fails cleanly when systemctl restart fails', async () => {
    shim = new SystemctlShim(join(root, 'shim'), 'fail', await freePort());
    const result = runRunbook('kafka-restart-broker', { TimeoutSeconds: '5' }, { cwd: root, binDirs: [shim.bin] });
    expect(result.status).toBe(5);
    expect(result.json).toMatchObject({
      result: 'failed',
      stage: 'restart',
      message: 'systemctl restart kafka failed or timed out',
    });
  });

  it('refuses to restart a host that runs another broker, and acts when the id matches', async () => {
    const port = await freePort();
    shim = new SystemctlShim(join(root, 'shim'), 'listen', port);
    const properties = join(root, 'server.properties');
    writeFileSync(properties, 'process.roles=broker,controller\nnode.id = 3\n');
    const wrong = runRunbook(
      'kafka-restart-broker',
      { ExpectedBrokerId: '2', ServerProperties: properties, ListenerPort: String(port) },
      { cwd: root, binDirs: [shim.bin] },
    );
    expect(wrong.status).toBe(3);
    expect(wrong.json).toMatchObject({
      result: 'failed',
      stage: 'identity',
      message: 'this host runs broker 3, not 2',
    });
    expect(shim.calls()).toEqual([]);

    const unreadable = runRunbook(
      'kafka-restart-broker',
      { ExpectedBrokerId: '3', ServerProperties: join(root, 'nope') },
      { cwd: root, binDirs: [shim.bin] },
    );
    expect(unreadable.status).toBe(3);

    const right = runRunbook(
      'kafka-restart-broker',
      { ExpectedBrokerId: '3', ServerProperties: properties, ListenerPort: String(port), TimeoutSeconds: '20' },
      { cwd: root, binDirs: [shim.bin] },
    );
    expect(right.status, right.stderr).toBe(0);
  });

  it('runs when the agent starts it with sh (re-executes itself under bash)', async () => {
    const port = await freePort();
    shim = new SystemctlShim(join(root, 'shim'), 'listen', port);
    const result = runRunbook(
      'kafka-restart-broker',
      { ListenerPort: String(port), TimeoutSeconds: '20' },
      { cwd: root, binDirs: [shim.bin], shell: '/bin/sh' },
    );
    expect(result.status, result.stderr).toBe(0);
    expect(result.json?.['result']).toBe('restarted');
  });
});

describe('kafka-stop-broker', () => {
  it('stops a running broker gracefully', async () => {
    shim = new SystemctlShim(join(root, 'shim'), 'listen', await freePort());
    const pid = shim.start();
    const result = runRunbook('kafka-stop-broker', { TimeoutSeconds: '10' }, { cwd: root, binDirs: [shim.bin] });
    expect(result.status, result.stderr).toBe(0);
    expect(result.json).toMatchObject({ result: 'stopped', forced: false, pid, service: 'kafka' });
    expect(isAlive(pid)).toBe(false);
    expect(shim.calls()).toContain('stop kafka');
    expect(shim.calls().some((call) => call.startsWith('kill'))).toBe(false);
  });

  it('kills a broker that ignores SIGTERM once the graceful budget is spent', () => {
    shim = new SystemctlShim(join(root, 'shim'), 'stubborn');
    const pid = shim.start();
    const result = runRunbook('kafka-stop-broker', { TimeoutSeconds: '2' }, { cwd: root, binDirs: [shim.bin] });
    expect(result.status, result.stderr).toBe(0);
    expect(result.json).toMatchObject({ result: 'stopped', forced: true, pid });
    expect(result.json?.['waitedSeconds']).toBeGreaterThanOrEqual(2);
    expect(shim.calls()).toContain('kill --signal=SIGKILL kafka');
    expect(isAlive(pid)).toBe(false);
  });

  it('reports a broker that is already down without touching it', () => {
    shim = new SystemctlShim(join(root, 'shim'), 'listen');
    const result = runRunbook('kafka-stop-broker', {}, { cwd: root, binDirs: [shim.bin] });
    expect(result.status).toBe(0);
    expect(result.json).toMatchObject({ result: 'already-stopped', forced: false, pid: 0 });
    expect(shim.calls().some((call) => call.startsWith('stop') || call.startsWith('kill'))).toBe(false);
  });

  it('refuses to stop another broker than expected', () => {
    shim = new SystemctlShim(join(root, 'shim'), 'stubborn');
    const pid = shim.start();
    const properties = join(root, 'server.properties');
    writeFileSync(properties, 'broker.id=1\n');
    const result = runRunbook(
      'kafka-stop-broker',
      { ExpectedBrokerId: '4', ServerProperties: properties },
      { cwd: root, binDirs: [shim.bin] },
    );
    expect(result.status).toBe(3);
    expect(result.json).toMatchObject({ result: 'failed', stage: 'identity' });
    expect(isAlive(pid)).toBe(true);
  });
});
