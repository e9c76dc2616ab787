// kafka-free-disk run for real with bash against a temp tree shaped like a broker host: rotated
// application logs, heap dumps old and new, and a Kafka data directory with segment files that
// must survive every run.

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, readdirSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runRunbook, tempDir } from './sandbox.js';

let root: string;
let logs: string;
let heap: string;
let data: string;
let properties: string;

const SEGMENTS = [
  't-0/00000000000000000000.log',
  't-0/00000000000000000000.index',
  't-0/00000000000000000000.timeindex',
  't-0/00000000000000000000.snapshot',
  't-0/leader-epoch-checkpoint',
  't-0/00000000000000000123.log.1',
  't-0/old.gz',
  't-0/dump.hprof',
  '__cluster_metadata-0/00000000000000000000.log',
  'meta.properties',
];
const ROTATED = [
  'server.log.1',
  'server.log.2026-11-22-01',
  'controller.log.2026-11-21-23',
  'state-change.log.3.gz',
  'kafkaServer-gc.log.0',
];
const KEPT_LOGS = ['server.log', 'controller.log', 'kafkaServer-gc.log.1.current', 'notes.txt'];

function file(path: string, bytes: number, ageMinutes = 0): void {
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, Buffer.alloc(bytes, 1));
  if (ageMinutes > 0) {
    const when = new Date(Date.now() - ageMinutes * 60_000);
    utimesSync(path, when, when);
  }
}

function tree(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name).slice(dir.length + 1))
    .sort();
}

beforeEach(() => {
  root = tempDir();
  logs = join(root, 'var-log-kafka');
  heap = join(root, 'dumps');
  data = join(root, 'data');
  properties = join(root, 'server.properties');
  for (const name of ROTATED) file(join(logs, name), 1000);
  for (const name of KEPT_LOGS) file(join(logs, name), 500);
  file(join(heap, 'java_pid100.hprof'), 20_000, 120); // old: deleted
  file(join(heap, 'java_pid200.hprof'), 30_000, 1); // being written recently: kept
  file(join(logs, 'java_pid300.hprof'), 7_000, 600); // in the app log dir, also a heap dump dir by default
  for (const name of SEGMENTS) file(join(data, name), 100);
  writeFileSync(properties, `node.id=1\nlog.dirs=${data}\n`);
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

const params = (extra: Record<string, string> = {}) => ({
  AppLogDir: logs,
  HeapDumpDirs: `${heap},${logs}`,
  ServerProperties: properties,
  DryRun: 'false',
  ...extra,
});

describe('kafka-free-disk', () => {
  it('deletes rotated logs and old heap dumps, keeps live logs, recent dumps and every data file', () => {
    const before = tree(data);
    const result = runRunbook('kafka-free-disk', params(), { cwd: root });
    expect(result.status, result.stderr).toBe(0);
    expect(result.json).toMatchObject({
      result: 'freed',
      dryRun: false,
      filesDeleted: 7,
      bytesFreed: 5 * 1000 + 20_000 + 7_000,
      failed: 0,
    });
    expect(readdirSync(logs).sort()).toEqual([...KEPT_LOGS].sort());
    expect(readdirSync(heap)).toEqual(['java_pid200.hprof']);
    expect(tree(data)).toEqual(before);
    expect(result.stdout.trim().split('\n')).toHaveLength(1);
  });

  it('DryRun lists the same candidates and removes nothing', () => {
    const before = [...tree(root)];
    const result = runRunbook('kafka-free-disk', params({ DryRun: 'true' }), { cwd: root });
    expect(result.status, result.stderr).toBe(0);
    expect(result.json).toMatchObject({
      result: 'dry-run',
      dryRun: true,
      filesDeleted: 0,
      bytesFreed: 0,
      candidates: 7,
      candidateBytes: 32_000,
    });
    expect((result.json?.['files'] as string[]).map((f) => f.slice(root.length + 1)).sort()).toEqual(
      [
        ...ROTATED.map((n) => `var-log-kafka/${n}`),
        'dumps/java_pid100.hprof',
        'var-log-kafka/java_pid300.hprof',
      ].sort(),
    );
    expect(tree(root).filter((f) => !f.startsWith('script-'))).toEqual(before.filter((f) => !f.startsWith('script-')));
  });

  it('is a dry run unless told otherwise', () => {
    const { DryRun: _omit, ...withoutDryRun } = params();
    const result = runRunbook('kafka-free-disk', withoutDryRun, { cwd: root });
    expect(result.json).toMatchObject({ result: 'dry-run', filesDeleted: 0 });
    expect(existsSync(join(logs, 'server.log.1'))).toBe(true);
  });

  it('respects HeapDumpMinAgeMinutes on both sides of the edge', () => {
    const keepBoth = runRunbook('kafka-free-disk', params({ HeapDumpDirs: heap, HeapDumpMinAgeMinutes: '121' }), {
      cwd: root,
    });
    expect(readdirSync(heap).sort()).toEqual(['java_pid100.hprof', 'java_pid200.hprof']);
    expect(keepBoth.json?.['filesDeleted']).toBe(5);
    runRunbook('kafka-free-disk', params({ HeapDumpDirs: heap, HeapDumpMinAgeMinutes: '119' }), { cwd: root });
    expect(readdirSync(heap)).toEqual(['java_pid200.hprof']);
  });

  const refusals: [string, () => Record<string, string>][] = [
    ['AppLogDir is a data dir', () => params({ AppLogDir: data })],
    ['AppLogDir is inside a data dir', () => params({ AppLogDir: join(data, 't-0') })],
    ['AppLogDir contains a data dir', () => params({ AppLogDir: root })],
    ['a heap dump dir is a data dir', () => params({ HeapDumpDirs: `${heap},${data}` })],
    ['a heap dump dir is inside a data dir', () => params({ HeapDumpDirs: join(data, 't-0') })],
    [
      'AppLogDir is a symlink to a data dir',
      () => {
        symlinkSync(join(data, 't-0'), join(root, 'sneaky'));
        return params({ AppLogDir: join(root, 'sneaky') });
      },
    ],
    [
      'AppLogDir is inside a data dir named only by LogDirs',
      () => {
        writeFileSync(properties, 'node.id=1\n');
        return params({ LogDirs: `${join(root, 'elsewhere')},${data}`, AppLogDir: join(data, 't-0') });
      },
    ],
    ['no data dir is known', () => params({ ServerProperties: join(root, 'missing.properties') })],
    ['AppLogDir is a shared directory', () => params({ AppLogDir: '/var/log' })],
    ['AppLogDir is /tmp', () => params({ AppLogDir: '/tmp' })],
    ['a heap dump dir is a system directory', () => params({ HeapDumpDirs: '/etc' })],
  ];
  it.each(refusals)('refuses when %s, deleting nothing', (_label, make) => {
    const before = tree(data);
    const logsBefore = readdirSync(logs).sort();
    const result = runRunbook('kafka-free-disk', make(), { cwd: root });
    expect(result.status).toBe(3);
    expect(result.json).toMatchObject({ result: 'refused' });
    expect(result.json?.['message']).toMatch(/^refusing: /);
    expect(tree(data)).toEqual(before);
    expect(readdirSync(logs).sort()).toEqual(logsBefore);
  });

  it('reads metadata.log.dir and log.dir from server.properties as protected too', () => {
    const meta = join(root, 'kraft-meta');
    file(join(meta, '__cluster_metadata-0', '00000000000000000000.log'), 10);
    writeFileSync(properties, `log.dir=${data}\nmetadata.log.dir=${meta}\n`);
    const result = runRunbook('kafka-free-disk', params({ HeapDumpDirs: meta }), { cwd: root });
    expect(result.status).toBe(3);
    expect(result.json?.['message']).toContain('kraft-meta');
  });

  it('never deletes a segment-like file even when it sits in the app log dir', () => {
    // A misconfigured host: a segment file and its index in the app log dir. Their names do not
    // match the rotated-log patterns, and the final name guard would refuse them anyway.
    file(join(logs, '00000000000000000000.log'), 10);
    file(join(logs, '00000000000000000000.index'), 10);
    const result = runRunbook('kafka-free-disk', params(), { cwd: root });
    expect(result.status).toBe(0);
    expect(existsSync(join(logs, '00000000000000000000.log'))).toBe(true);
    expect(existsSync(join(logs, '00000000000000000000.index'))).toBe(true);
  });

  it('does not follow a symlink that points into a data dir', () => {
    symlinkSync(join(data, 't-0', '00000000000000000123.log.1'), join(logs, 'server.log.9'));
    const result = runRunbook('kafka-free-disk', params(), { cwd: root });
    expect(result.status).toBe(0);
    expect(existsSync(join(data, 't-0', '00000000000000000123.log.1'))).toBe(true);
    expect(result.json?.['files']).not.toContain(join(logs, 'server.log.9'));
  });

  it('accepts a shared temp dir as a heap dump dir (a common -XX:HeapDumpPath) unless it holds a data dir', () => {
    const result = runRunbook(
      'kafka-free-disk',
      params({ HeapDumpDirs: '/var/tmp', HeapDumpMinAgeMinutes: '999999', DryRun: 'true' }),
      { cwd: root },
    );
    expect(result.status, result.stderr).toBe(0);
    expect(result.json).toMatchObject({ result: 'dry-run', candidates: 5 });
    // This sandbox's data dir lives in the temp dir, so that temp dir itself is refused.
    const shared = root.split('/').slice(0, 2).join('/');
    const underTmp = runRunbook('kafka-free-disk', params({ HeapDumpDirs: shared, DryRun: 'true' }), { cwd: root });
    expect(underTmp.status).toBe(3);
    expect(underTmp.json?.['message']).toMatch(/contains or lies inside a Kafka data directory|system directory/);
  });

  it('reports nothing to do when the directories are missing', () => {
    const result = runRunbook(
      'kafka-free-disk',
      params({ AppLogDir: join(root, 'none'), HeapDumpDirs: join(root, 'none2') }),
      { cwd: root },
    );
    expect(result.status).toBe(0);
    expect(result.json).toMatchObject({ result: 'freed', filesDeleted: 0, bytesFreed: 0, files: [] });
  });
});
