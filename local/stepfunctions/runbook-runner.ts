// Runs the repository's SSM Command documents locally for `ssm:sendCommand`, the way SSM Agent
// runs them on a broker host: the document is found by its deployed name, the parameters are
// validated and substituted exactly as SSM does (infra/runbooks.ts), and each step's
// script runs with bash under the step's timeout. A "host" is a local environment: a working
// directory, PATH entries placed first (e.g. a `systemctl` shim that drives a local broker) and
// extra environment variables.
//
// Plug into ssmBindings: `ssmBindings({ run: runner.run, validate: runner.validate, isManaged: runner.isManaged })`.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  InvalidRunbookParameters,
  listRunbooks,
  loadRunbook,
  renderSteps,
  type RunbookDocument,
} from '#infra/runbooks.js';
import type { CommandOutcome, CommandRun } from './bindings.js';
import { TaskError } from './runtime.js';

export interface LocalHost {
  /** Directories put first on PATH (the systemctl shim lives in one). */
  binDirs?: string[];
  env?: Record<string, string>;
  /** Working directory for the scripts (a temporary one per command when absent). */
  cwd?: string;
}

export interface RunbookRunnerOptions {
  /** instance id -> the local host it stands for. Other instance ids are "not managed". */
  hosts: Record<string, LocalHost>;
  /** Deployed document names are `<prefix><runbook>`, e.g. `kafka-heal-prod-eu-`. Plain runbook names always work. */
  documentPrefix?: string;
  runbooksDir?: string;
  /** Caps each step's timeout (ms) for tests and drills; the document's timeoutSeconds otherwise. */
  maxStepMs?: number;
}

export interface RunbookRunner {
  run: (cmd: CommandRun) => Promise<CommandOutcome>;
  /** Synchronous checks SendCommand itself makes: the document exists and the parameters are valid. */
  validate: (cmd: CommandRun) => void;
  isManaged: (instanceId: string) => boolean;
}

export function runbookRunner(opts: RunbookRunnerOptions): RunbookRunner {
  const known = new Set(listRunbooks(opts.runbooksDir));
  const documentFor = (name: string): RunbookDocument => {
    const plain =
      opts.documentPrefix && name.startsWith(opts.documentPrefix) ? name.slice(opts.documentPrefix.length) : name;
    if (!known.has(plain)) throw new TaskError('Ssm.InvalidDocumentException', `document ${name} does not exist`);
    return loadRunbook(plain, opts.runbooksDir);
  };
  const validate = (cmd: CommandRun) => {
    const doc = documentFor(cmd.documentName);
    try {
      renderSteps(doc, cmd.parameters);
    } catch (err) {
      if (err instanceof InvalidRunbookParameters) throw new TaskError('Ssm.InvalidParametersException', err.message);
      throw err;
    }
  };
  const run = async (cmd: CommandRun): Promise<CommandOutcome> => {
    const host = opts.hosts[cmd.instanceId];
    if (!host)
      return {
        status: 'Failed',
        responseCode: -1,
        stdout: '',
        stderr: `instance ${cmd.instanceId} is not a local host`,
      };
    const steps = renderSteps(documentFor(cmd.documentName), cmd.parameters);
    const cwd = host.cwd ?? mkdtempSync(join(tmpdir(), 'kh-ssm-'));
    let stdout = '';
    let stderr = '';
    try {
      for (const [i, step] of steps.entries()) {
        const file = join(cwd, `_script_${i}_${process.hrtime.bigint()}.sh`);
        writeFileSync(file, step.script, { mode: 0o700 });
        const limitMs = Math.min((step.timeoutSeconds ?? 3600) * 1000, opts.maxStepMs ?? Number.POSITIVE_INFINITY);
        const r = await runScript(file, cwd, host, limitMs);
        stdout += r.stdout;
        stderr += r.stderr;
        if (r.timedOut) return { status: 'TimedOut', responseCode: -1, stdout, stderr };
        if (r.code !== 0) return { status: 'Failed', responseCode: r.code, stdout, stderr };
      }
      return { status: 'Success', responseCode: 0, stdout, stderr };
    } finally {
      if (!host.cwd) rmSync(cwd, { recursive: true, force: true });
    }
  };
  return { run, validate, isManaged: (id) => Object.hasOwn(opts.hosts, id) };
}

function runScript(
  file: string,
  cwd: string,
  host: LocalHost,
  limitMs: number,
): Promise<{ code: number; stdout: string; stderr: string; timedOut: boolean }> {
  return new Promise((resolve) => {
    const PATH = [...(host.binDirs ?? []), process.env['PATH'] ?? '/usr/bin:/bin'].join(':');
    const child = spawn('/bin/bash', [file], {
      cwd,
      env: { ...process.env, ...host.env, PATH },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = Number.isFinite(limitMs)
      ? setTimeout(() => {
          timedOut = true;
          // The script and everything it started: its own process group.
          try {
            if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
          } catch {
            // already gone
          }
        }, limitMs)
      : undefined;
    child.on('close', (code) => {
      if (timer) clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr, timedOut });
    });
  });
}
