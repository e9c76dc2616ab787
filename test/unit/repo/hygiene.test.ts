// The repository's own rules for text: commit messages read `scope: change` in at most 72
// characters (the commit-msg hook scripts/git-hooks.sh installs), and no code comment or doc
// points at a commit of this repository by its hash (history moves; the reason belongs in the text).
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const HOOK = join(ROOT, '.githooks', 'commit-msg');
const work = mkdtempSync(join(tmpdir(), 'kh-hygiene-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function hook(message: string): { status: number | null; stderr: string } {
  const file = join(work, 'COMMIT_EDITMSG');
  writeFileSync(file, message);
  const r = spawnSync('bash', [HOOK, file], { encoding: 'utf8' });
  return { status: r.status, stderr: r.stderr };
}

describe('the commit-msg hook', () => {
  it.each([
    'classify: page for unknown clusters',
    'dr-failover, dr-failback: confirm the primary from its VPC before DNS',
    'approvals/page.ts: rewrap the header comment',
    `runs: ${'x'.repeat(66)}`,
    "Merge branch 'j-detect'",
    'Revert "cli: show control characters as escapes"',
    'runs: fence superseded runs\n\nWhy, with the figures.\n# a comment line git strips\n',
  ])('accepts %j', (message) => {
    expect(hook(message)).toEqual({ status: 0, stderr: '' });
  });

  it.each([
    ['', /the subject is empty/],
    [`runs: ${'x'.repeat(67)}`, /the subject is 73 characters; at most 72/],
    ['Fix the lock race', /must read `scope: what changed`/],
    ['runs:fence', /must read `scope: what changed`/],
    ['runs: fence superseded runs\nbody without a blank line', /leave a blank line/],
  ])('refuses %j', (message, why) => {
    const r = hook(message);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(why);
  });

  it("is installed as the clone's hooks path by the setup (scripts/git-hooks.sh), and only once", () => {
    const repo = join(work, 'clone');
    execFileSync('git', ['init', '-q', repo]);
    execFileSync('mkdir', ['-p', join(repo, 'scripts')]);
    writeFileSync(join(repo, 'scripts', 'git-hooks.sh'), readFileSync(join(ROOT, 'scripts', 'git-hooks.sh')));
    const run = () => spawnSync('bash', [join(repo, 'scripts', 'git-hooks.sh')], { encoding: 'utf8' });
    expect(run().status).toBe(0);
    expect(execFileSync('git', ['-C', repo, 'config', '--get', 'core.hooksPath'], { encoding: 'utf8' }).trim()).toBe(
      '.githooks',
    );
    expect(run().stderr).toBe('');
    execFileSync('git', ['-C', repo, 'config', 'core.hooksPath', '/elsewhere']);
    expect(run().stderr).toMatch(/core.hooksPath is \/elsewhere; add \.githooks\/commit-msg to it yourself/);
    expect(readFileSync(join(ROOT, 'scripts', 'run.sh'), 'utf8')).toMatch(/^bash scripts\/git-hooks\.sh$/m);
  });
});

describe('no commit hashes in the text', () => {
  it('no tracked file names a commit of this repository by its hash', () => {
    const files = execFileSync('git', ['-C', ROOT, 'ls-files', '-z'], { encoding: 'utf8' })
      .split('\0')
      .filter(
        (f) =>
          /\.(ts|mjs|js|md|ya?ml|sh|java|json)$/.test(f) &&
          f !== 'package-lock.json' &&
          !f.startsWith('test/fixtures/'),
      );
    // Hex words of 7 to 40 characters with a digit and a letter: the candidates.
    const candidates = new Map<string, string[]>();
    for (const f of files) {
      const text = readFileSync(join(ROOT, f), 'utf8');
      for (const m of text.matchAll(/(?<![0-9A-Za-z_-])[0-9a-f]{7,40}(?![0-9A-Za-z_-])/g)) {
        const word = m[0];
        if (!/[a-f]/.test(word) || !/[0-9]/.test(word)) continue;
        candidates.set(word, [...(candidates.get(word) ?? []), f]);
      }
    }
    // Which of them git knows as a commit.
    const words = [...candidates.keys()];
    const out = execFileSync('git', ['-C', ROOT, 'cat-file', '--batch-check=%(objecttype)'], {
      input: words.map((w) => `${w}\n`).join(''),
      encoding: 'utf8',
    })
      .trim()
      .split('\n');
    const commits = words.filter((_, i) => out[i] === 'commit').map((w) => `${w} in ${candidates.get(w)?.join(', ')}`);
    expect(commits).toEqual([]);
  });
});
