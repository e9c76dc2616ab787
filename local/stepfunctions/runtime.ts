// The local Step Functions runtime: runs an ASL definition on aws-local-stepfunctions with every
// Task bound by its `Resource` (never by hand-picked state names), so a workflow cannot gain a
// Task that silently calls AWS, or nothing, when it runs here.
//
// How aws-local-stepfunctions 3 behaves, and what this layer does about it:
// - Overrides are keyed by state name: the definition is walked (Map and Parallel bodies too) and
//   each Task state gets the binding registered for its Resource. A Resource without a binding is
//   an error before the run starts (UnboundResourceError lists every one).
// - A thrown error is matched by Retry/Catch on its `name` (ErrorEquals) and surfaces as
//   { Error: name, Cause: message }. TaskError sets both, so a binding can raise exactly what AWS
//   would (`Ssm.InvocationDoesNotExistException`, a Lambda's errorType...).
// - `$$.Execution.Id` and `$$.Task.Token` exist only when passed as the run's context: this layer
//   always passes an execution id/name and a task token.
// - Wait states and Retry pauses take their real duration unless overridden: `timeScale` scales
//   every Wait's Seconds and every retrier's IntervalSeconds (backoff is then flat per retrier,
//   since the library's override is one fixed pause per retrier).
// - A Task without TimeoutSeconds times out after 60 s here (in AWS it waits much longer).
// - eventLogs stream state events; `onEvent` receives each one (progress display, assertions).
// - An execution whose history reaches 25,000 events fails (the Step Functions quota for a
//   Standard workflow); here the state events are counted, so a loop that never ends (a Wait loop
//   at timeScale 0) fails the run instead of growing until the process runs out of memory.
// - Map: the library kept starting queued items after an iteration had failed (and after
//   StopExecution); map-iterations.ts makes the first failed iteration fail the Map with no
//   further item started, as in AWS, and refuses ToleratedFailure* (not implemented here).
import { randomUUID } from 'node:crypto';
import {
  ExecutionAbortedError,
  ExecutionError,
  StateMachine,
  type RunOptions,
  type StateMachineDefinition,
} from 'aws-local-stepfunctions';
import { walkStates, type AslDefinition, type AslState } from './definition.js';
import { checkMapTolerance, markRun } from './map-iterations.js';

/** JSON value as the ASL engine passes it to Task handlers. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** An error a binding throws so the ASL sees exactly `Error` / `Cause`, as in AWS. */
export class TaskError extends Error {
  constructor(error: string, cause: string) {
    super(cause);
    // The engine reads `name` for ErrorEquals and `message` for Cause.
    this.name = error;
  }
}

/** What a binding learns about the Task it runs for. */
export interface TaskCall {
  stateName: string;
  resource: string;
  state: AslState;
  /** Enclosing Map/Parallel state names, outermost first. */
  parents: string[];
  execution: ExecutionContext;
}

export interface ExecutionContext {
  id: string;
  name: string;
  stateMachineArn: string;
  taskToken: string;
}

/** Runs one Task: gets the state's effective input (after InputPath/Parameters) and returns its raw result. */
export type TaskBinding = (input: Json, call: TaskCall) => Promise<Json> | Json;

/** Resource string (exactly as in the ASL, e.g. `arn:aws:states:::lambda:invoke`) -> binding. */
export type BindingRegistry = Record<string, TaskBinding>;

export class UnboundResourceError extends Error {
  override readonly name = 'UnboundResourceError';
  constructor(readonly unbound: { stateName: string; resource: string }[]) {
    super(`no local binding for: ${unbound.map((u) => `${u.resource} (state "${u.stateName}")`).join(', ')}`);
  }
}

export class DuplicateStateNameError extends Error {
  override readonly name = 'DuplicateStateNameError';
}

/**
 * The name -> handler map aws-local-stepfunctions wants, built from each Task's Resource.
 * Throws UnboundResourceError when any Task has no binding, and DuplicateStateNameError when two
 * Tasks share a name but not a Resource (the engine's overrides could not tell them apart).
 */
export function bindTasks(
  def: AslDefinition,
  registry: BindingRegistry,
  execution: ExecutionContext,
): Record<string, (input: Json) => Promise<Json>> {
  const handlers: Record<string, (input: Json) => Promise<Json>> = {};
  const seen = new Map<string, string>();
  const unbound: { stateName: string; resource: string }[] = [];
  for (const { name, state, parents } of walkStates(def)) {
    if (state.Type !== 'Task') continue;
    const resource = state.Resource ?? '';
    const previous = seen.get(name);
    if (previous !== undefined && previous !== resource) {
      throw new DuplicateStateNameError(
        `two Task states are named "${name}" with different resources (${previous}, ${resource})`,
      );
    }
    seen.set(name, resource);
    const binding = Object.hasOwn(registry, resource) ? registry[resource] : undefined;
    if (!binding) {
      unbound.push({ stateName: name, resource });
      continue;
    }
    const call: TaskCall = { stateName: name, resource, state, parents, execution };
    handlers[name] = async (input: Json) => binding(input, call);
  }
  if (unbound.length > 0) throw new UnboundResourceError(unbound);
  return handlers;
}

/** Pauses for every Wait state and every retrier, scaled from the definition's seconds. */
export function scaledTimings(
  def: AslDefinition,
  timeScale: number,
): { waits: Record<string, number>; retries: Record<string, number[]> } {
  const waits: Record<string, number> = {};
  const retries: Record<string, number[]> = {};
  for (const { name, state } of walkStates(def)) {
    if (state.Type === 'Wait') {
      // SecondsPath/Timestamp waits cannot be known before the run: scaled runs do not wait on them.
      waits[name] = Math.round((state.Seconds ?? 0) * 1000 * timeScale);
    }
    if (state.Retry && state.Retry.length > 0) {
      retries[name] = state.Retry.map((r) => Math.round((r.IntervalSeconds ?? 1) * 1000 * timeScale));
    }
  }
  return { waits, retries };
}

export interface RunEvent {
  type: string;
  timestamp: number;
  stateName?: string;
  stateType?: string;
  error?: string;
  cause?: string;
  /** With `history`: the state's (or the execution's) input, as the execution history shows it. */
  input?: Json;
  /** With `history`: the state's (or the execution's) output. */
  output?: Json;
}

export interface RunWorkflowOptions {
  definition: AslDefinition;
  /** The execution input: any JSON-serializable value (undefined properties are dropped, as JSON does). */
  input: unknown;
  bindings: BindingRegistry;
  /** Multiplies every Wait and retry interval (e.g. 0.001 in tests); real durations when absent. */
  timeScale?: number;
  /** Exact pauses (ms) for named Wait states, applied after timeScale. */
  waitOverrides?: Record<string, number>;
  /** Exact pauses (ms) for named states' retriers, applied after timeScale. */
  retryOverrides?: Record<string, number | number[]>;
  execution?: Partial<ExecutionContext>;
  onEvent?: (event: RunEvent) => void;
  /**
   * Events carry each state's input and output (and the execution's), as Step Functions keeps
   * them in the execution history: for tests that check what that history would hold.
   */
  history?: boolean;
  /** Aborting it stops the run as StopExecution does in AWS: no further state runs; the result is ABORTED. */
  signal?: AbortSignal;
  /** The run fails when its history reaches this many events (default 25,000, the Standard workflow quota). */
  maxHistoryEvents?: number;
}

/** Step Functions' history quota for one Standard workflow execution. */
export const MAX_HISTORY_EVENTS = 25_000;

export type RunResult =
  | { status: 'SUCCEEDED'; output: Json; events: RunEvent[]; execution: ExecutionContext }
  | { status: 'FAILED'; error: string; cause: string; events: RunEvent[]; execution: ExecutionContext }
  | { status: 'ABORTED'; error: string; cause: string; events: RunEvent[]; execution: ExecutionContext };

function toRunEvent(raw: Record<string, unknown>, history: boolean): RunEvent {
  const e: RunEvent = { type: String(raw.type), timestamp: Number(raw.timestamp) };
  const state = raw.state as { name?: string; type?: string; input?: Json; output?: Json } | undefined;
  if (state?.name !== undefined) e.stateName = state.name;
  if (state?.type !== undefined) e.stateType = state.type;
  if (history) {
    const input = state ? state.input : (raw.input as Json | undefined);
    const output = state ? state.output : (raw.output as Json | undefined);
    if (input !== undefined) e.input = input;
    if (output !== undefined) e.output = output;
  }
  if (typeof raw.Error === 'string') e.error = raw.Error;
  if (raw.Cause !== undefined)
    e.cause =
      typeof raw.Cause === 'string' ? raw.Cause : String((raw.Cause as Error | undefined)?.message ?? raw.Cause);
  return e;
}

/** Definitions (by content: each drill parses its own copies) the engine has validated once (see runWorkflow). */
const validatedDefinitions = new Set<string>();

/** Runs the definition to its end and reports how it ended; never throws for a failed execution. */
export async function runWorkflow(opts: RunWorkflowOptions): Promise<RunResult> {
  const name = opts.execution?.name ?? `local-${randomUUID()}`;
  const stateMachineArn = opts.execution?.stateMachineArn ?? 'arn:aws:states:local:000000000000:stateMachine:local';
  const execution: ExecutionContext = {
    name,
    stateMachineArn,
    id: opts.execution?.id ?? `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${name}`,
    taskToken: opts.execution?.taskToken ?? randomUUID(),
  };
  const handlers = bindTasks(opts.definition, opts.bindings, execution);
  checkMapTolerance(opts.definition);
  const timings =
    opts.timeScale === undefined ? { waits: {}, retries: {} } : scaledTimings(opts.definition, opts.timeScale);
  const runOptions: RunOptions = markRun({
    overrides: {
      taskResourceLocalHandlers: handlers as NonNullable<
        NonNullable<RunOptions['overrides']>['taskResourceLocalHandlers']
      >,
      waitTimeOverrides: { ...timings.waits, ...opts.waitOverrides },
      retryIntervalOverrides: { ...timings.retries, ...opts.retryOverrides },
    },
    context: {
      Execution: { Id: execution.id, Name: execution.name },
      StateMachine: { Id: execution.stateMachineArn },
      Task: { Token: execution.taskToken },
    },
  });
  // Definitions are validated by asl-validator in the tests; the engine's own ARN check would
  // refuse the service-integration resources it does not know. The engine's schema validation runs
  // once per definition (per process), as Step Functions validates at CreateStateMachine and not at every
  // StartExecution: it is synchronous and took 1.7-2.2 s for broker-recovery's 45 KB definition on
  // a loaded 2-core machine, which every drill execution (nested ones too) paid before its first
  // state while the event loop (probe, alarms, classifier) stood still.
  const key = JSON.stringify(opts.definition);
  const machine = new StateMachine(opts.definition as unknown as StateMachineDefinition, {
    validationOptions: { checkArn: false, checkPaths: false, noValidate: validatedDefinitions.has(key) },
  });
  validatedDefinitions.add(key);
  const input = opts.input === undefined ? null : (JSON.parse(JSON.stringify(opts.input)) as Json);
  const run = machine.run(input as Parameters<StateMachine['run']>[0], runOptions);
  if (opts.signal) {
    if (opts.signal.aborted) run.abort();
    else opts.signal.addEventListener('abort', () => run.abort(), { once: true });
  }
  const events: RunEvent[] = [];
  const maxEvents = opts.maxHistoryEvents ?? MAX_HISTORY_EVENTS;
  let historyFull = false;
  const pump = (async () => {
    for await (const raw of run.eventLogs) {
      const event = toRunEvent(raw as unknown as Record<string, unknown>, opts.history === true);
      events.push(event);
      opts.onEvent?.(event);
      if (events.length >= maxEvents && !historyFull) {
        historyFull = true;
        run.abort();
      }
    }
  })();
  try {
    const output = (await run.result) as Json;
    await pump;
    return { status: 'SUCCEEDED', output, events, execution };
  } catch (err) {
    await pump.catch(() => undefined);
    if (err instanceof ExecutionAbortedError && historyFull) {
      return {
        status: 'FAILED',
        error: 'States.Runtime',
        cause: `the execution history reached ${maxEvents} events (the Step Functions quota): the definition loops without end`,
        events,
        execution,
      };
    }
    if (err instanceof ExecutionAbortedError) {
      const reason: unknown = opts.signal?.reason;
      return {
        status: 'ABORTED',
        error: 'States.Aborted',
        cause: reason instanceof Error ? reason.message : String(reason ?? 'stopped'),
        events,
        execution,
      };
    }
    if (err instanceof ExecutionError) {
      const cause = (err as Error & { cause?: unknown }).cause as Error | undefined;
      return {
        status: 'FAILED',
        error: cause?.name ?? 'ExecutionError',
        cause: cause?.message ?? err.message,
        events,
        execution,
      };
    }
    throw err;
  }
}

/** Names of the states entered, in order (top level and nested), from a run's events. */
export function enteredStates(events: RunEvent[]): string[] {
  return events.filter((e) => e.type === 'StateEntered' && e.stateName !== undefined).map((e) => e.stateName as string);
}
