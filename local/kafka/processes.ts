// Process helpers for the local supervisor: liveness from /proc (a zombie or a reused pid is
// not "our" JVM), signals to whole process groups, and waits that poll instead of sleeping
// a fixed time.
import { readFileSync } from 'node:fs';

export type ProcState = 'running' | 'stopped' | 'dead';

/** State of a pid from /proc/<pid>/stat: 'T' (SIGSTOP) is stopped, 'Z' or missing is dead. */
export function procState(pid: number | undefined): ProcState {
  if (pid === undefined || pid <= 0) return 'dead';
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return 'dead';
  }
  // The command name is in parentheses and may contain spaces; the state follows the last ')'.
  const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  if (state === 'Z' || state === 'X' || state === 'x') return 'dead';
  if (state === 'T' || state === 't') return 'stopped';
  return 'running';
}

/** Start time of a pid in clock ticks since boot (/proc/<pid>/stat field 22); with the pid it names one process. */
export function procStartTime(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields[0] is field 3 (state); field 22 is starttime.
    const v = Number(fields[19]);
    return Number.isFinite(v) ? v : undefined;
  } catch {
    return undefined;
  }
}

/** True when the pid is alive and its command line carries `marker` (guards against pid reuse). */
export function isOurs(pid: number | undefined, marker: string): boolean {
  if (procState(pid) === 'dead') return false;
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').includes(marker);
  } catch {
    return false;
  }
}

/** Signals the process group led by pid (the supervisor spawns every JVM detached), else the pid. */
export function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}

export const delay = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Polls until the pid is dead; true if it died within timeoutMs. */
export async function waitExit(pid: number, timeoutMs: number): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  while (procState(pid) !== 'dead') {
    if (Date.now() >= until) return false;
    await delay(100);
  }
  return true;
}

/** Polls until procState(pid) equals want. */
export async function waitState(pid: number, want: ProcState, timeoutMs: number): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  while (procState(pid) !== want) {
    if (Date.now() >= until) return false;
    await delay(20);
  }
  return true;
}

/**
 * Kills a process group for good, synchronously usable from an 'exit' handler: SIGCONT first
 * (a SIGSTOPped JVM cannot act on SIGKILL until the kernel delivers it, and SIGCONT makes the
 * group runnable), then SIGKILL.
 */
export function killGroupNow(pid: number): void {
  signalGroup(pid, 'SIGCONT');
  signalGroup(pid, 'SIGKILL');
}

/**
 * Graceful stop: SIGTERM, wait up to graceMs for the JVM's shutdown hooks, then SIGKILL.
 * Returns 'graceful' or 'killed'.
 */
export async function stopGracefully(pid: number, graceMs: number): Promise<'graceful' | 'killed'> {
  signalGroup(pid, 'SIGCONT');
  signalGroup(pid, 'SIGTERM');
  if (await waitExit(pid, graceMs)) return 'graceful';
  killGroupNow(pid);
  await waitExit(pid, 5000);
  return 'killed';
}
