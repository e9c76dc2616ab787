// kafka-diagnose-host run for real with bash on this machine: with nothing Kafka running, with a
// shimmed systemd unit that listens on its port and a broker log full of trouble, and with the
// usual tools missing. It must always end with one parsable KAFKA_HEAL_DIAGNOSIS line.

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { chmodSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { parseRunbookOutput } from '#infra/runbooks.js';
import { SystemctlShim, freePort, runRunbook, tempDir } from './sandbox.js';
import type { RunResult } from './sandbox.js';

let root: string;
let shim: SystemctlShim | undefined;

beforeEach(() => {
  root = tempDir();
});
afterEach(() => {
  shim?.cleanup();
  shim = undefined;
  spawnSync('rm', ['-rf', root]);
});

function diagnosis(result: RunResult): Record<string, unknown> {
  expect(result.status, result.stderr).toBe(0);
  const lines = result.stdout.trim().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^KAFKA_HEAL_DIAGNOSIS \{/);
  return parseRunbookOutput(result.stdout);
}

function executable(dir: string, name: string, body: string): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, name), `#!/bin/bash\n${body}\n`);
  chmodSync(join(dir, name), 0o755);
}

describe('kafka-diagnose-host', () => {
  it('reports a host with nothing Kafka on it', async () => {
    const bin = join(root, 'bin');
    executable(
      bin,
      'systemctl',
      'case $1 in is-active) echo inactive; exit 3 ;; show) echo MainPID=0; echo Result=success ;; esac',
    );
    const port = await freePort();
    const result = runRunbook(
      'kafka-diagnose-host',
      { ListenerPort: String(port), ServerProperties: join(root, 'absent.properties'), AppLogDir: join(root, 'logs') },
      { cwd: root, binDirs: [bin] },
    );
    const d = diagnosis(result);
    expect(d).toMatchObject({
      v: 1,
      serviceActive: false,
      serviceState: 'inactive',
      mainPid: 0,
      listenerUp: false,
      listenerPort: port,
      diskUsedPercent: null,
      oomKilled: false,
      lastErrors: [],
      logFile: null,
    });
    expect(typeof d['host']).toBe('string');
    expect(result.stderr).toContain('cannot read');
  });

  it('reports a running broker: service, listener, disk, errors and OOM evidence', async () => {
    const port = await freePort();
    shim = new SystemctlShim(join(root, 'shim'), 'listen', port);
    const pid = shim.start();
    const data1 = join(root, 'data1');
    const data2 = join(root, 'data2');
    mkdirSync(data1);
    mkdirSync(data2);
    const properties = join(root, 'server.properties');
    writeFileSync(properties, `node.id=1\nlog.dirs=${data1},${data2}\n`);
    const logs = join(root, 'logs');
    mkdirSync(logs);
    const noise = Array.from({ length: 300 }, (_, i) => `[2026-11-22 01:00:${i % 60}] INFO noise ${i}`);
    writeFileSync(
      join(logs, 'server.log'),
      [
        '[2026-11-22 00:00:00] ERROR too old to be in the last lines',
        ...noise,
        '[2026-11-22 02:00:00] ERROR [ReplicaFetcher] Error for partition "orders-0" \\ with a backslash\tand a tab',
        'java.lang.OutOfMemoryError: Java heap space',
        '[2026-11-22 02:00:01] FATAL Fatal error during KafkaServer startup ü',
        '[2026-11-22 02:00:02] INFO fine',
      ].join('\n'),
    );
    // Kernel journal with an OOM kill of the JVM; the shims only answer what the runbook asks.
    const bin = join(root, 'bin');
    executable(
      bin,
      'journalctl',
      'for a in "$@"; do [[ $a == -k ]] && k=1; done; [[ ${k:-} ]] || exit 1\necho "Nov 22 01:59:59 host kernel: Out of memory: Killed process 4242 (java) total-vm:8000000kB"',
    );
    const result = runRunbook(
      'kafka-diagnose-host',
      { ListenerPort: String(port), ServerProperties: properties, AppLogDir: logs, LogLines: '50' },
      { cwd: root, binDirs: [shim.bin, bin] },
    );
    const d = diagnosis(result);
    expect(d).toMatchObject({
      serviceActive: true,
      serviceState: 'active',
      mainPid: pid,
      listenerUp: true,
      oomKilled: true,
      jvmOutOfMemory: true,
    });
    expect(d['diskUsedPercent']).toBeGreaterThanOrEqual(0);
    expect(d['diskUsedPercent']).toBeLessThanOrEqual(100);
    expect((d['disks'] as { dir: string }[]).map((disk) => disk.dir)).toEqual([data1, data2]);
    const errors = d['lastErrors'] as string[];
    expect(errors).toHaveLength(3);
    expect(errors[0]).toBe(
      '[2026-11-22 02:00:00] ERROR [ReplicaFetcher] Error for partition "orders-0" \\ with a backslash and a tab',
    );
    expect(errors[2]).toMatch(/^\[2026-11-22 02:00:01\] FATAL Fatal error during KafkaServer startup/);
    expect(errors.join()).not.toContain('too old');
    expect(d['oomEvidence']).toEqual([expect.stringContaining('Killed process 4242 (java)')]);
    expect(typeof d['memUsedPercent']).toBe('number');
  });

  it('takes the data dirs from LogDirs when given, and reports the fullest', () => {
    const bin = join(root, 'bin');
    executable(
      bin,
      'df',
      'case $2 in */a) echo "Filesystem 1024-blocks Used Available Capacity Mounted"; echo "/dev/x 100 42 58 42% /a" ;; *) echo "Filesystem 1024-blocks Used Available Capacity Mounted"; echo "/dev/y 100 91 9 91% /b" ;; esac',
    );
    mkdirSync(join(root, 'a'));
    mkdirSync(join(root, 'b'));
    const result = runRunbook(
      'kafka-diagnose-host',
      { LogDirs: `${join(root, 'a')},${join(root, 'b')}`, AppLogDir: root },
      { cwd: root, binDirs: [bin] },
    );
    const d = diagnosis(result);
    expect(d['diskUsedPercent']).toBe(91);
    expect(d['disks']).toEqual([
      { dir: join(root, 'a'), exists: true, usedPercent: 42, availKb: 58 },
      { dir: join(root, 'b'), exists: true, usedPercent: 91, availKb: 9 },
    ]);
  });

  it('reports a missing data dir (an unmounted or failed disk) without a usage figure', () => {
    const present = join(root, 'present');
    mkdirSync(present);
    const gone = join(root, 'gone');
    const d = diagnosis(
      runRunbook('kafka-diagnose-host', { LogDirs: `${gone},${present}`, AppLogDir: root }, { cwd: root }),
    );
    const disks = d['disks'] as { dir: string; exists: boolean; usedPercent: number | null }[];
    expect(disks[0]).toEqual({ dir: gone, exists: false, usedPercent: null, availKb: null });
    expect(disks[1]).toMatchObject({ dir: present, exists: true });
    expect(d['diskUsedPercent']).toBe(disks[1]?.usedPercent);
  });

  it('keeps the line single, ASCII and valid JSON whatever the broker log holds', () => {
    writeFileSync(
      join(root, 'server.log'),
      [
        'ERROR escape \u001b[31mred\u001b[0m bell \u0007 cr \r end',
        'ERROR "quoted" \\"escaped\\" } ] {',
        'ERROR 日本語 and \u2028 separator',
        `ERROR ${'long '.repeat(200)}`,
      ].join('\n'),
    );
    const result = runRunbook('kafka-diagnose-host', { AppLogDir: root, LogDirs: root }, { cwd: root });
    const d = diagnosis(result);
    expect(result.stdout).toMatch(/^[\x20-\x7e]*\n$/);
    const errors = d['lastErrors'] as string[];
    expect(errors).toHaveLength(4);
    expect(errors[0]).toBe('ERROR escape  [31mred [0m bell   cr   end');
    expect(errors[1]).toBe('ERROR "quoted" \\"escaped\\" } ] {');
    expect(errors[3]).toHaveLength(300);
  });

  it('sees a listener bound to another interface through ss, matching the exact port only', async () => {
    const port = await freePort();
    const bin = join(root, 'bin');
    executable(
      bin,
      'ss',
      'echo "State  Recv-Q Send-Q Local Address:Port Peer Address:Port"\necho "LISTEN 0 50 10.1.2.3:$(cat "$SS_PORT_FILE") 0.0.0.0:*"',
    );
    const portFile = join(root, 'ss-port');
    writeFileSync(portFile, String(port));
    const up = diagnosis(
      runRunbook(
        'kafka-diagnose-host',
        { ListenerPort: String(port), AppLogDir: root },
        { cwd: root, binDirs: [bin], env: { SS_PORT_FILE: portFile } },
      ),
    );
    expect(up['listenerUp']).toBe(true);
    writeFileSync(portFile, `1${port}`);
    const other = diagnosis(
      runRunbook(
        'kafka-diagnose-host',
        { ListenerPort: String(port), AppLogDir: root },
        { cwd: root, binDirs: [bin], env: { SS_PORT_FILE: portFile } },
      ),
    );
    expect(other['listenerUp']).toBe(false);
  });

  it('treats a systemd oom-kill result as OOM evidence', () => {
    const bin = join(root, 'bin');
    executable(
      bin,
      'systemctl',
      'case $1 in is-active) echo failed; exit 3 ;; show) echo MainPID=0; echo Result=oom-kill ;; esac',
    );
    const d = diagnosis(runRunbook('kafka-diagnose-host', { AppLogDir: root }, { cwd: root, binDirs: [bin] }));
    expect(d).toMatchObject({
      serviceActive: false,
      serviceState: 'failed',
      serviceResult: 'oom-kill',
      oomKilled: true,
    });
  });

  it('still prints its line when systemctl, journalctl, dmesg, ss, timeout, df and jq are all missing', () => {
    // A PATH holding only the basic tools the script needs; everything optional is absent.
    const bin = join(root, 'minimal-bin');
    mkdirSync(bin);
    for (const tool of ['bash', 'sed', 'awk', 'grep', 'tail', 'head', 'tr', 'cat', 'hostname', 'mawk', 'gawk']) {
      const found = spawnSync('bash', ['-c', 'command -v "$1"', '_', tool], { encoding: 'utf8' }).stdout.trim();
      if (found !== '') symlinkSync(found, join(bin, tool));
    }
    const result = runRunbook(
      'kafka-diagnose-host',
      { LogDirs: root, AppLogDir: root },
      { cwd: root, env: { PATH: bin } },
    );
    const d = diagnosis(result);
    expect(d['missingTools']).toEqual(['systemctl', 'journalctl', 'dmesg', 'df', 'ss', 'timeout', 'jq']);
    expect(d).toMatchObject({
      serviceActive: false,
      serviceState: 'unknown',
      listenerUp: false,
      diskUsedPercent: null,
    });
  });

  it('rejects an out-of-range LogLines before anything runs', () => {
    const doc = 'kafka-diagnose-host';
    expect(() => runRunbook(doc, { LogLines: '5000' }, { cwd: root })).toThrow(/LogLines/);
  });
});
