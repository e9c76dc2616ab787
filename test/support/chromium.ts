// Headless Chromium for page tests: Debian's `chromium` package driven by playwright-core (no
// browser download). scripts/chromium.sh finds the binary or installs it once; only the tests
// that open pages call it, so lint, typecheck, unit tests, synth and drills never wait for apt.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type LaunchOptions } from 'playwright-core';

const SCRIPT = fileURLToPath(new URL('../../scripts/chromium.sh', import.meta.url));

/** Flags for a root user in a container with a small /dev/shm and no GPU. */
export const CHROMIUM_ARGS: readonly string[] = ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'];

let cachedPath: string | undefined;

/** The Chromium binary's path, installing Debian's package first if needed (may take a minute once). */
export function ensureChromium(): string {
  if (cachedPath) return cachedPath;
  const out = execFileSync('bash', [SCRIPT], {
    encoding: 'utf8',
    // No stdin: apt must never wait for an answer. Its progress goes to this process's stderr.
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, CI: 'true', DEBIAN_FRONTEND: 'noninteractive' },
    timeout: 600_000,
  });
  const path = out.trim().split('\n').pop() ?? '';
  if (!path) throw new Error('scripts/chromium.sh printed no chromium path');
  cachedPath = path;
  return path;
}

/** Launches headless Chromium; close the returned browser in afterAll. */
export async function launchChromium(options: LaunchOptions = {}): Promise<Browser> {
  return chromium.launch({
    headless: true,
    ...options,
    executablePath: ensureChromium(),
    args: [...CHROMIUM_ARGS, ...(options.args ?? [])],
  });
}
