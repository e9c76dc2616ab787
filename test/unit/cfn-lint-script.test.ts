// scripts/cfn-lint.sh with a fake python3 (its venv and pip write a fake cfn-lint) on a PATH of its
// own: it installs the pinned version once into the cache, reuses a complete install without
// touching pip, and rebuilds an install that was interrupted (no completion stamp).
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';

const SCRIPT = fileURLToPath(new URL('../../scripts/cfn-lint.sh', import.meta.url));
const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

/** A fake python3: `-m venv DIR` makes DIR/bin/pip, which "installs" a cfn-lint printing its pinned version and logs each call. */
function sandbox() {
  const root = mkdtempSync(join(tmpdir(), 'kh-cfn-lint-'));
  dirs.push(root);
  const bin = join(root, 'bin');
  mkdirSync(bin);
  const log = join(root, 'calls.log');
  const pip = `#!/bin/bash\necho "pip $*" >> ${log}\nspec="\${@: -1}"\nv="\${spec#cfn-lint==}"\nprintf '#!/bin/bash\\necho "cfn-lint %s"\\n' "$v" > "$(dirname "$0")/cfn-lint"\nchmod +x "$(dirname "$0")/cfn-lint"\n`;
  writeFileSync(
    join(bin, 'python3'),
    `#!/bin/bash\necho "python3 $*" >> ${log}\nmkdir -p "$3/bin"\ncat > "$3/bin/pip" <<'PIP'\n${pip}PIP\nchmod +x "$3/bin/pip"\n`,
  );
  chmodSync(join(bin, 'python3'), 0o755);
  const run = () =>
    spawnSync('bash', [SCRIPT], {
      encoding: 'utf8',
      env: { PATH: `${bin}:/usr/bin:/bin`, HOME: root, KAFKA_HEAL_CACHE: join(root, 'cache') },
    });
  const calls = () => (existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n') : []);
  return { root, run, calls };
}

describe('scripts/cfn-lint.sh', () => {
  it('installs the pinned cfn-lint into a venv in the cache once, then only prints its path', () => {
    const s = sandbox();
    const first = s.run();
    expect(first.status, first.stderr).toBe(0);
    const path = join(s.root, 'cache', 'cfn-lint-1.58.0', 'bin', 'cfn-lint');
    expect(first.stdout.trim()).toBe(path);
    expect(s.calls()).toEqual([
      `python3 -m venv ${join(s.root, 'cache', 'cfn-lint-1.58.0')}`,
      'pip install --quiet --disable-pip-version-check cfn-lint==1.58.0',
    ]);
    const again = s.run();
    expect(again.status).toBe(0);
    expect(again.stdout.trim()).toBe(path);
    expect(s.calls()).toHaveLength(2);
  });

  it('rebuilds an install that never finished (no completion stamp)', () => {
    const s = sandbox();
    mkdirSync(join(s.root, 'cache', 'cfn-lint-1.58.0', 'bin'), { recursive: true });
    writeFileSync(join(s.root, 'cache', 'cfn-lint-1.58.0', 'bin', 'cfn-lint'), '#!/bin/bash\necho half\n');
    chmodSync(join(s.root, 'cache', 'cfn-lint-1.58.0', 'bin', 'cfn-lint'), 0o755);
    const r = s.run();
    expect(r.status, r.stderr).toBe(0);
    expect(s.calls()[0]).toMatch(/^python3 -m venv /);
    expect(existsSync(join(s.root, 'cache', 'cfn-lint-1.58.0', '.kafka-heal-complete'))).toBe(true);
  });
});
