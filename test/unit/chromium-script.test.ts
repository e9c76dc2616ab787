// scripts/chromium.sh with fake apt-get/id/sudo on a PATH of their own: it finds an installed
// Chromium without touching apt, installs non-interactively, refreshes the package lists only when
// the install fails without them, and refuses cleanly when it cannot become root.
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';

const SCRIPT = fileURLToPath(new URL('../../scripts/chromium.sh', import.meta.url));
const dirs: string[] = [];

afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

interface FakeOptions {
  /** `apt-get install` fails until `apt-get update` ran. */
  staleLists?: boolean;
  /** What `id -u` prints. */
  uid?: number;
  /** A password-less sudo exists. */
  sudo?: boolean;
  /** Chromium is already on PATH under this name. */
  installed?: 'chromium' | 'chromium-browser';
}

/** A bin folder with fake apt-get (logs its calls, installs a fake chromium), id and sudo. */
function fakeBin(opts: FakeOptions): string {
  const bin = mkdtempSync(join(tmpdir(), 'kh-chromium-sh-'));
  dirs.push(bin);
  const write = (name: string, body: string) => {
    writeFileSync(join(bin, name), `#!/bin/bash\n${body}\n`);
    chmodSync(join(bin, name), 0o755);
  };
  write(
    'apt-get',
    [
      `echo "DEBIAN_FRONTEND=$DEBIAN_FRONTEND $*" >> ${bin}/apt.log`,
      `if [ "$1" = update ]; then : > ${bin}/updated; exit 0; fi`,
      opts.staleLists
        ? `if [ ! -f ${bin}/updated ]; then echo "E: Unable to locate package chromium" >&2; exit 100; fi`
        : '',
      `printf '#!/bin/bash\\n' > ${bin}/chromium`,
      `/bin/chmod 755 ${bin}/chromium`,
    ].join('\n'),
  );
  write('id', `echo ${opts.uid ?? 0}`);
  if (opts.sudo)
    write('sudo', `echo "sudo $*" >> ${bin}/apt.log; [ "$1" = -n ] && shift; [ "$1" = true ] && exit 0; exec "$@"`);
  symlinkSync('/usr/bin/env', join(bin, 'env'));
  if (opts.installed) write(opts.installed, '');
  return bin;
}

function run(bin: string, env: Record<string, string> = {}) {
  const r = spawnSync('/bin/bash', [SCRIPT], {
    env: { PATH: bin, CI: 'true', ...env },
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const log = existsSync(join(bin, 'apt.log')) ? readFileSync(join(bin, 'apt.log'), 'utf8').trim().split('\n') : [];
  return { code: r.status, stdout: r.stdout.trim(), stderr: r.stderr, log };
}

describe('scripts/chromium.sh', () => {
  it('prints the installed binary and never calls apt', () => {
    for (const name of ['chromium', 'chromium-browser'] as const) {
      const bin = fakeBin({ installed: name });
      const r = run(bin);
      expect(r).toMatchObject({ code: 0, stdout: join(bin, name), log: [] });
    }
  });

  it('prefers CHROMIUM_PATH when it names an executable', () => {
    const bin = fakeBin({ installed: 'chromium' });
    const r = run(bin, { CHROMIUM_PATH: join(bin, 'id') });
    expect(r.stdout).toBe(join(bin, 'id'));
    expect(run(bin, { CHROMIUM_PATH: join(bin, 'missing') }).stdout).toBe(join(bin, 'chromium'));
  });

  it('installs Debian chromium non-interactively without recommends, once', () => {
    const bin = fakeBin({});
    const r = run(bin);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(join(bin, 'chromium'));
    expect(r.log).toEqual([
      'DEBIAN_FRONTEND=noninteractive install -y -q --no-install-recommends -o DPkg::Lock::Timeout=300 chromium',
    ]);
    expect(run(bin).log).toHaveLength(1);
  });

  it('refreshes the package lists only when the install fails without them', () => {
    const bin = fakeBin({ staleLists: true });
    const r = run(bin);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(join(bin, 'chromium'));
    expect(r.log.map((l) => l.split(' ')[1])).toEqual(['install', 'update', 'install']);
    expect(r.stderr).toContain('refreshing package lists');
  });

  it('uses password-less sudo when not root, and refuses without it', () => {
    const withSudo = fakeBin({ uid: 1000, sudo: true });
    const r = run(withSudo);
    expect(r.code).toBe(0);
    expect(r.log[0]).toBe('sudo -n true');
    expect(r.log.at(-1)).toMatch(/^DEBIAN_FRONTEND=noninteractive install .* chromium$/);

    const noSudo = fakeBin({ uid: 1000 });
    const refused = run(noSudo);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('needs root (or password-less sudo)');
    expect(refused.log).toEqual([]);
  });
});
