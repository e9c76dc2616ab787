// Test sandbox for running the host runbooks for real with bash: temp directories, a `systemctl`
// shim on PATH that drives a throwaway process (optionally a TCP listener), and a runner that
// renders a document through the same validation SSM applies and executes the script.

import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadRunbook, renderCommands } from '#infra/runbooks.js';
import type { RunbookParameterInput } from '#infra/runbooks.js';

export interface RunResult {
  status: number | null;
  stdout: string;
  stderr: string;
  /** The last stdout line parsed as JSON (prefix stripped for the diagnosis). */
  json: Record<string, unknown> | undefined;
}

export function tempDir(prefix = 'kh-runbook-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

function lastJson(stdout: string): Record<string, unknown> | undefined {
  const last = stdout.trim().split('\n').at(-1);
  if (last === undefined || last === '') return undefined;
  try {
    return JSON.parse(last.replace(/^KAFKA_HEAL_DIAGNOSIS /, '')) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

/** Run a script text with bash (or another shell) in `cwd`, with PATH prefixed by `binDirs`. */
export function runScript(
  script: string,
  opts: { cwd: string; binDirs?: string[]; env?: Record<string, string>; shell?: string; timeoutMs?: number },
): RunResult {
  const file = join(opts.cwd, `script-${process.hrtime.bigint()}.sh`);
  writeFileSync(file, script, { mode: 0o700 });
  const path = [...(opts.binDirs ?? []), process.env['PATH'] ?? '/usr/bin:/bin'].join(':');
  const result = spawnSync(opts.shell ?? '/bin/bash', [file], {
    cwd: opts.cwd,
    env: { PATH: path, HOME: opts.cwd, LANG: 'C.UTF-8', ...opts.env },
    encoding: 'utf8',
    timeout: opts.timeoutMs ?? 30_000,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr, json: lastJson(result.stdout) };
}

/** Render `runbooks/<name>.yaml` with validated parameters and run it. */
export function runRunbook(
  name: string,
  params: RunbookParameterInput,
  opts: Parameters<typeof runScript>[1],
): RunResult {
  return runScript(renderCommands(loadRunbook(name), params), opts);
}

/** `bash -n` on a script text: returns the syntax errors (empty when the script parses). */
export function bashSyntaxErrors(script: string, cwd: string): string {
  const file = join(cwd, `syntax-${process.hrtime.bigint()}.sh`);
  writeFileSync(file, script);
  const result = spawnSync('/bin/bash', ['-n', file], { encoding: 'utf8' });
  return result.status === 0 ? '' : result.stderr || `bash -n exited ${result.status}`;
}

export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}

/**
 * A `systemctl` stand-in for one unit. It records every call in `<state>/calls` and keeps the
 * unit's main pid in `<state>/pid`. `mode` (file `<state>/mode`) says what `start`/`restart` run:
 *   listen    - a node TCP listener on `<state>/port` (a broker that comes up)
 *   nolisten  - a process that never opens the port (a broker stuck in log recovery)
 *   fail      - `restart` itself fails
 *   stubborn  - a process that ignores SIGTERM (`stop` returns but the process stays)
 */
export class SystemctlShim {
  readonly bin: string;
  readonly state: string;

  constructor(
    readonly root: string,
    mode: 'listen' | 'nolisten' | 'fail' | 'stubborn',
    port = 0,
  ) {
    this.bin = join(root, 'bin');
    this.state = join(root, 'state');
    spawnSync('mkdir', ['-p', this.bin, this.state]);
    writeFileSync(join(this.state, 'mode'), mode);
    writeFileSync(join(this.state, 'port'), String(port));
    const shim = `#!/bin/bash
state=${JSON.stringify(this.state)}
node=${JSON.stringify(process.execPath)}
printf '%s\\n' "$*" >> "$state/calls"
alive() { [[ -f $state/pid ]] || return 1; local p; p=$(cat "$state/pid"); kill -0 "$p" 2>/dev/null || return 1; [[ $(sed -n 's/.*) \\(.\\).*/\\1/p' "/proc/$p/stat") != Z ]]; }
start() {
  case $(cat "$state/mode") in
    fail) echo "Job for $1 failed." >&2; return 1 ;;
    listen) nohup "$node" -e "require('net').createServer((s) => s.end()).listen(Number(process.argv[1]), '127.0.0.1')" "$(cat "$state/port")" >/dev/null 2>&1 &
            echo $! > "$state/pid" ;;
    nolisten) nohup sleep 300 >/dev/null 2>&1 & echo $! > "$state/pid" ;;
    stubborn) nohup bash -c 'trap "" TERM; while :; do sleep 0.2; done' >/dev/null 2>&1 & echo $! > "$state/pid" ;;
  esac
}
stop() { if alive; then kill -TERM "$(cat "$state/pid")"; fi; [[ $(cat "$state/mode") == stubborn ]] || { sleep 0.2; rm -f "$state/pid"; }; }
case $1 in
  restart) stop; start "$2" ;;
  start) alive || start "$2" ;;
  stop) stop ;;
  kill) alive && kill -KILL "$(cat "$state/pid")" ;;
  is-active) if alive; then echo active; else echo inactive; exit 3; fi ;;
  show) if alive; then echo "MainPID=$(cat "$state/pid")"; else echo "MainPID=0"; fi; echo "Result=$(cat "$state/result" 2>/dev/null || echo success)" ;;
  status) echo "shim status of $2"; alive ;;
  *) echo "shim: unsupported $1" >&2; exit 1 ;;
esac
`;
    writeFileSync(join(this.bin, 'systemctl'), shim);
    chmodSync(join(this.bin, 'systemctl'), 0o755);
  }

  calls(): string[] {
    const file = join(this.state, 'calls');
    return existsSync(file) ? readFileSync(file, 'utf8').trim().split('\n') : [];
  }

  pid(): number | undefined {
    const file = join(this.state, 'pid');
    return existsSync(file) ? Number(readFileSync(file, 'utf8').trim()) : undefined;
  }

  /** Start the unit's process directly (a broker already running before the runbook). */
  start(): number {
    spawnSync(join(this.bin, 'systemctl'), ['start', 'kafka'], { encoding: 'utf8' });
    const pid = this.pid();
    if (pid === undefined) throw new Error('shim did not start a process');
    return pid;
  }

  /** Kill whatever process the shim started (only processes this test created). */
  cleanup(): void {
    const pid = this.pid();
    if (pid !== undefined) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    rmSync(this.root, { recursive: true, force: true });
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}
