// Human approvals on the local runtime: `lambda:invoke.waitForTaskToken` with Step Functions'
// callback semantics, and a local task-token registry standing in for SendTaskSuccess /
// SendTaskFailure.
//
// What the binding does for each approval Task, as Step Functions does in AWS:
//   1. mints a task token of its own for this Task (the runtime's `$$.Task.Token` is one per run;
//      AWS gives every Task its own) and puts it wherever the Payload carried `$$.Task.Token`;
//   2. invokes the approval request function with the Payload (the real request handler in drills
//      and page tests; without one, the Payload is checked against the approval contract so a
//      workflow's malformed request fails here as the Lambda would fail it in AWS);
//   3. waits until the token is answered: SendTaskSuccess -> the output is the task result;
//      SendTaskFailure -> the task fails with that Error/Cause (ApprovalRejected);
//   4. ends the task with `States.Timeout` when the state's TimeoutSeconds (scaled by `timeScale`)
//      pass first; a late answer then gets `TaskTimedOut`, as from the service.
// The answer comes from `decide` (tests: approve after N ms, reject, never), or from outside
// through `tokens` (the approval page's endpoint handler, the CLI through the local approval
// server).
import { randomBytes } from 'node:crypto';
import {
  APPROVAL_REJECTED,
  APPROVAL_RESOURCE,
  ApprovalRequestSchema,
  answerTask,
  type ApprovalDecision,
  type ApprovalRequest,
  type TaskCallbacks,
} from '#functions/approvals/schema.js';
import { InputValidationError } from '#shared/errors.js';
import { lambdaError, type LocalFunction } from './bindings.js';
import { TaskError, type Json, type TaskBinding, type TaskCall } from './runtime.js';

export { APPROVAL_RESOURCE, answerTask };

/** Step Functions' default for a Task without TimeoutSeconds is the execution's limit; the local engine's is 60 s. */
const LOCAL_DEFAULT_TIMEOUT_SECONDS = 60;

// ------------------------------------------------------------------ task-token registry

/** The token is unknown (never issued here). */
export class TaskDoesNotExist extends Error {
  override readonly name = 'TaskDoesNotExist';
}
/** The task already finished, failed or timed out: the token can no longer be answered. */
export class TaskTimedOut extends Error {
  override readonly name = 'TaskTimedOut';
}
/** The output passed to SendTaskSuccess is not JSON. */
export class InvalidOutput extends Error {
  override readonly name = 'InvalidOutput';
}

type Settlement = { ok: true; output: Json } | { ok: false; error: string; cause: string };

export interface OpenTask {
  taskToken: string;
  stateName: string;
  executionId: string;
  openedAt: number;
}

interface TokenEntry extends OpenTask {
  state: 'waiting' | 'answered' | 'timed-out' | 'abandoned';
  /** The request went out (the request function returned): people can answer it now. */
  announced: boolean;
  settle: (s: Settlement) => void;
  settled: Promise<Settlement>;
}

/**
 * The callback side of Step Functions for local runs: one entry per waiting Task. Implements the
 * approvals code's TaskCallbacks, so the real endpoint handler and CLI answer local tasks through
 * the same calls they make to the SFN client in AWS.
 */
export class LocalTaskTokens implements TaskCallbacks {
  private readonly entries = new Map<string, TokenEntry>();
  private readonly watchers: { match: (t: OpenTask) => boolean; resolve: (t: OpenTask) => void }[] = [];

  /** Issues a token for a Task that now waits for its callback. */
  open(task: Omit<OpenTask, 'taskToken' | 'openedAt'>): { taskToken: string; settled: Promise<Settlement> } {
    const taskToken = `local-task-${randomBytes(24).toString('base64url')}`;
    let settle!: (s: Settlement) => void;
    const settled = new Promise<Settlement>((resolve) => (settle = resolve));
    const entry: TokenEntry = {
      ...task,
      taskToken,
      openedAt: Date.now(),
      state: 'waiting',
      announced: false,
      settle,
      settled,
    };
    this.entries.set(taskToken, entry);
    return { taskToken, settled };
  }

  /** Called once the request function accepted the task: watchers (tests, the approval server) see it. */
  announce(taskToken: string): void {
    const entry = this.entries.get(taskToken);
    if (!entry) return;
    entry.announced = true;
    const open = this.view(entry);
    for (const w of [...this.watchers]) {
      if (w.match(open)) {
        this.watchers.splice(this.watchers.indexOf(w), 1);
        w.resolve(open);
      }
    }
  }

  private view(e: TokenEntry): OpenTask {
    return { taskToken: e.taskToken, stateName: e.stateName, executionId: e.executionId, openedAt: e.openedAt };
  }

  private waiting(taskToken: string): TokenEntry {
    const entry = this.entries.get(taskToken);
    if (!entry) throw new TaskDoesNotExist(`Task does not exist: ${taskToken.slice(0, 24)}...`);
    if (entry.state !== 'waiting') throw new TaskTimedOut(`Task Timed Out: the task is ${entry.state}`);
    return entry;
  }

  sendTaskSuccess(taskToken: string, output: string): Promise<void> {
    let parsed: Json;
    try {
      parsed = JSON.parse(output) as Json;
    } catch {
      return Promise.reject(new InvalidOutput('output is not valid JSON'));
    }
    try {
      const entry = this.waiting(taskToken);
      entry.state = 'answered';
      entry.settle({ ok: true, output: parsed });
      return Promise.resolve();
    } catch (err) {
      return Promise.reject(err as Error);
    }
  }

  sendTaskFailure(taskToken: string, error: string, cause: string): Promise<void> {
    try {
      const entry = this.waiting(taskToken);
      entry.state = 'answered';
      entry.settle({ ok: false, error, cause });
      return Promise.resolve();
    } catch (err) {
      return Promise.reject(err as Error);
    }
  }

  /** Closes a token whose Task ended without an answer (timed out, or its request failed). */
  close(taskToken: string, why: 'timed-out' | 'abandoned'): void {
    const entry = this.entries.get(taskToken);
    if (entry?.state === 'waiting') entry.state = why;
  }

  /** Tasks whose request went out and that still wait for an answer, oldest first. */
  pending(): OpenTask[] {
    return [...this.entries.values()].filter((e) => e.state === 'waiting' && e.announced).map((e) => this.view(e));
  }

  /** Resolves with the first waiting Task that matches (one already waiting, or the next announced). */
  whenOpened(match: (t: OpenTask) => boolean = () => true): Promise<OpenTask> {
    const existing = this.pending().find(match);
    if (existing) return Promise.resolve(existing);
    return new Promise((resolve) => this.watchers.push({ match, resolve }));
  }
}

// ------------------------------------------------------------------ the binding

/** What `decide` answers: a decision, or 'never' (nobody answers; the Task times out). */
export type DecideAnswer = Pick<ApprovalDecision, 'decision' | 'by' | 'reason'> | 'never';

export interface ApprovalBindingOptions {
  /** Answers each request (tests). Without it, answers come from outside through `tokens`. */
  decide?: (request: ApprovalRequest) => Promise<DecideAnswer> | DecideAnswer;
  /** The approval request Lambda run in process (drills, page tests); default: contract check only. */
  request?: LocalFunction;
  /** Shared registry (the approval server and CLI answer through it); default: a new one. */
  tokens?: LocalTaskTokens;
  /** Multiplies each state's TimeoutSeconds (e.g. 0.001 in tests). Default 1. */
  timeScale?: number;
  /** Exact approval window in ms for every approval Task, instead of TimeoutSeconds x timeScale. */
  timeoutMs?: number;
}

/** One approval Task as the binding saw it. */
export interface SeenApproval {
  stateName: string;
  functionName: string;
  request: ApprovalRequest;
  taskToken: string;
  outcome?: 'approved' | 'rejected' | 'failed' | 'timed-out';
  /** An answer that arrived after the Task ended, and what the registry said to it. */
  lateAnswerError?: string;
}

export type ApprovalTaskBinding = TaskBinding & {
  resource: string;
  tokens: LocalTaskTokens;
  /** Every approval requested, in order. */
  requests: SeenApproval[];
};

function replaceToken(value: Json | undefined, from: string, to: string): Json {
  if (value === undefined) return null;
  if (typeof value === 'string') return value === from ? to : value;
  if (Array.isArray(value)) return value.map((v) => replaceToken(v, from, to));
  if (value !== null && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, replaceToken(v, from, to)]));
  return value;
}

/**
 * The binding for `arn:aws:states:::lambda:invoke.waitForTaskToken` approval states. Register it
 * under APPROVAL_RESOURCE: `{ [APPROVAL_RESOURCE]: approvalBinding({ decide: approveAfter(5) }) }`.
 */
export function approvalBinding(opts: ApprovalBindingOptions = {}): ApprovalTaskBinding {
  const tokens = opts.tokens ?? new LocalTaskTokens();
  const requests: SeenApproval[] = [];
  const binding = async (input: Json, call: TaskCall): Promise<Json> => {
    if (typeof input !== 'object' || input === null || Array.isArray(input))
      throw new TaskError('States.Runtime', 'lambda:invoke.waitForTaskToken: parameters must be an object');
    const functionName = input.FunctionName;
    if (typeof functionName !== 'string' || functionName === '')
      throw new TaskError('Lambda.ValidationException', 'FunctionName is required');

    const { taskToken, settled } = tokens.open({ stateName: call.stateName, executionId: call.execution.id });
    const payload = replaceToken(input.Payload, call.execution.taskToken, taskToken);
    const parsed = ApprovalRequestSchema.safeParse(payload);
    if (!parsed.success) {
      tokens.close(taskToken, 'abandoned');
      const issues = parsed.error.issues.map((i) => ({
        path: i.path.map(String).join('.') || '(payload)',
        message: i.message,
      }));
      throw lambdaError(
        new InputValidationError(
          `invalid approval request: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`,
          issues,
        ),
      );
    }
    if (parsed.data.taskToken !== taskToken) {
      tokens.close(taskToken, 'abandoned');
      throw new TaskError('States.Runtime', 'the approval Payload must pass "taskToken.$": "$$.Task.Token"');
    }
    const seen: SeenApproval = { stateName: call.stateName, functionName, request: parsed.data, taskToken };
    requests.push(seen);
    if (opts.request) {
      try {
        await opts.request(payload);
      } catch (err) {
        tokens.close(taskToken, 'abandoned');
        seen.outcome = 'failed';
        throw lambdaError(err);
      }
    }
    tokens.announce(taskToken);

    const late = (err: unknown) => {
      seen.lateAnswerError = err instanceof Error ? err.name : String(err);
    };
    if (opts.decide) {
      const decide = opts.decide;
      void (async () => {
        const answer = await decide(parsed.data);
        if (answer !== 'never') await answerTask(tokens, taskToken, answer);
      })().catch(late);
    }

    const seconds =
      typeof call.state.TimeoutSeconds === 'number' ? call.state.TimeoutSeconds : LOCAL_DEFAULT_TIMEOUT_SECONDS;
    const windowMs = opts.timeoutMs ?? Math.round(seconds * 1000 * (opts.timeScale ?? 1));
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), windowMs)));
    const result = await Promise.race([settled, timedOut]);
    clearTimeout(timer);
    if (result === 'timeout') {
      tokens.close(taskToken, 'timed-out');
      seen.outcome = 'timed-out';
      throw new TaskError('States.Timeout', `no approval decision within ${windowMs} ms`);
    }
    if (result.ok) {
      seen.outcome = 'approved';
      return result.output;
    }
    seen.outcome = result.error === APPROVAL_REJECTED ? 'rejected' : 'failed';
    throw new TaskError(result.error, result.cause);
  };
  return Object.assign(binding, { resource: APPROVAL_RESOURCE, tokens, requests });
}

// ------------------------------------------------------------------ decide helpers for tests

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Approves every request after `ms` milliseconds. */
export function approveAfter(
  ms: number,
  by = 'test:approver',
  reason?: string,
): (r: ApprovalRequest) => Promise<DecideAnswer> {
  return async () => {
    await sleep(ms);
    return { decision: 'approved', by, ...(reason === undefined ? {} : { reason }) };
  };
}

/** Rejects every request after `ms` milliseconds. */
export function rejectAfter(
  ms: number,
  reason = 'rejected in test',
  by = 'test:approver',
): (r: ApprovalRequest) => Promise<DecideAnswer> {
  return async () => {
    await sleep(ms);
    return { decision: 'rejected', by, reason };
  };
}

/** Nobody answers: every approval times out. */
export const neverDecide = (): DecideAnswer => 'never';
