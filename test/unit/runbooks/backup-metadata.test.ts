// kafka-backup-metadata run for real with bash: KRaft and ZooKeeper layouts in a temp tree, the
// archive read back with tar and its checksum recomputed here.

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { runRunbook, tempDir } from './sandbox.js';

let root: string;
let backups: string;

function file(path: string, text: string): void {
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, text);
}

function listing(archive: string): string[] {
  const result = spawnSync('tar', ['-tzf', archive], { encoding: 'utf8' });
  expect(result.status).toBe(0);
  return result.stdout.trim().split('\n').sort();
}

beforeEach(() => {
  root = tempDir();
  backups = join(root, 'backups');
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

describe('kafka-backup-metadata', () => {
  it('archives the KRaft metadata log with meta.properties and prints path and sha256', () => {
    const data = join(root, 'kraft', 'data');
    file(join(data, '__cluster_metadata-0', '00000000000000000000.log'), 'metadata records');
    file(join(data, '__cluster_metadata-0', '00000000000000000000.index'), 'idx');
    file(join(data, '__cluster_metadata-0', 'quorum-state'), '{"leaderId":1}');
    file(join(data, 'meta.properties'), 'node.id=1\n');
    file(join(data, 'orders-0', '00000000000000000000.log'), 'user data that is not metadata');
    const result = runRunbook(
      'kafka-backup-metadata',
      { Mode: 'kraft', DataDir: data, BackupDir: backups },
      { cwd: root },
    );
    expect(result.status, result.stderr).toBe(0);
    const json = result.json as {
      result: string;
      mode: string;
      path: string;
      sha256: string;
      bytes: number;
      entries: number;
      changedWhileReading: boolean;
    };
    expect(json).toMatchObject({ result: 'backed-up', mode: 'kraft', changedWhileReading: false });
    expect(json.path).toMatch(
      new RegExp(`^${backups}/kafka-heal-kraft-[A-Za-z0-9._-]+-\\d{8}T\\d{6}Z-\\d+\\.tar\\.gz$`),
    );
    const bytes = readFileSync(json.path);
    expect(json.sha256).toBe(createHash('sha256').update(bytes).digest('hex'));
    expect(json.bytes).toBe(bytes.length);
    expect(readFileSync(`${json.path}.sha256`, 'utf8')).toBe(`${json.sha256}  ${json.path.split('/').at(-1)}\n`);
    const rel = data.slice(1);
    const entries = listing(json.path);
    expect(entries).toEqual(
      [
        `${rel}/__cluster_metadata-0/`,
        `${rel}/__cluster_metadata-0/00000000000000000000.index`,
        `${rel}/__cluster_metadata-0/00000000000000000000.log`,
        `${rel}/__cluster_metadata-0/quorum-state`,
        `${rel}/meta.properties`,
      ].sort(),
    );
    expect(json.entries).toBe(entries.length);
    expect(entries.join()).not.toContain('orders-0');
  });

  it('archives a ZooKeeper dataDir and a separate transaction log dir', () => {
    const data = join(root, 'zk', 'data');
    const txn = join(root, 'zk', 'txn');
    file(join(data, 'version-2', 'snapshot.100000000'), 'snap');
    file(join(data, 'myid'), '2\n');
    file(join(txn, 'version-2', 'log.100000001'), 'txnlog');
    const result = runRunbook(
      'kafka-backup-metadata',
      { Mode: 'zookeeper', DataDir: data, TxnLogDir: txn, BackupDir: backups },
      { cwd: root },
    );
    expect(result.status, result.stderr).toBe(0);
    const path = result.json?.['path'] as string;
    expect(path).toContain('/kafka-heal-zookeeper-');
    expect(listing(path)).toEqual(
      [
        `${data.slice(1)}/version-2/`,
        `${data.slice(1)}/version-2/snapshot.100000000`,
        `${data.slice(1)}/myid`,
        `${txn.slice(1)}/version-2/`,
        `${txn.slice(1)}/version-2/log.100000001`,
      ].sort(),
    );
  });

  it('refuses a directory that does not hold the expected metadata', () => {
    const data = join(root, 'plain');
    mkdirSync(data);
    const kraft = runRunbook(
      'kafka-backup-metadata',
      { Mode: 'kraft', DataDir: data, BackupDir: backups },
      { cwd: root },
    );
    expect(kraft.status).toBe(3);
    expect(kraft.json).toMatchObject({
      result: 'failed',
      mode: 'kraft',
      message: `${data} has no __cluster_metadata-0: not a KRaft metadata log directory`,
    });
    const zk = runRunbook(
      'kafka-backup-metadata',
      { Mode: 'zookeeper', DataDir: data, BackupDir: backups },
      { cwd: root },
    );
    expect(zk.status).toBe(3);
    expect(zk.json?.['message']).toContain('not a ZooKeeper data directory');
    const missing = runRunbook(
      'kafka-backup-metadata',
      { Mode: 'zookeeper', DataDir: join(root, 'nowhere'), BackupDir: backups },
      { cwd: root },
    );
    expect(missing.status).toBe(3);
  });

  it('refuses to write the archive inside what it archives', () => {
    const data = join(root, 'kraft');
    file(join(data, '__cluster_metadata-0', '00000000000000000000.log'), 'x');
    const result = runRunbook(
      'kafka-backup-metadata',
      { Mode: 'kraft', DataDir: data, BackupDir: join(data, '__cluster_metadata-0', 'bk') },
      { cwd: root },
    );
    expect(result.status).toBe(3);
    expect(result.json?.['message']).toContain('lies inside');
    expect(readdirSync(join(data, '__cluster_metadata-0'))).toEqual(['00000000000000000000.log']);
  });

  it('requires Mode and DataDir', () => {
    expect(() => runRunbook('kafka-backup-metadata', { DataDir: root }, { cwd: root })).toThrow(/Mode .*required/);
    expect(() => runRunbook('kafka-backup-metadata', { Mode: 'kraft' }, { cwd: root })).toThrow(/DataDir .*required/);
    expect(() => runRunbook('kafka-backup-metadata', { Mode: 'etcd', DataDir: root }, { cwd: root })).toThrow(
      /Mode .*allowed values/,
    );
  });
});
