// Map states as AWS runs them: the first failed iteration fails the Map state (its Retry/Catch
// then apply) and no further iteration starts.
//
// aws-local-stepfunctions 3.0.0 (MapStateAction) runs a Map's items through
// p-limit(MaxConcurrency) on one iterator StateMachine and awaits Promise.all. The first rejected
// iteration fails the Map and aborts the iterations in flight, but the items still queued in
// p-limit go on starting afterwards, one by one, beside the Map's Catch path: with MaxConcurrency 1
// and item 2 failed, item 3 ran while the Catch was escalating (two nested broker recoveries of
// cascade-recovery overlapped that way). Queued items also started after StopExecution: their run
// began on an already aborted root signal, whose abort event the library never hears, so their
// first state ran.
//
// The library has no hook for Map iterations, and node_modules is not ours to edit, so this wraps
// StateMachine.prototype.run, for the runs of this runtime only: those whose options carry
// RUN_MARK (runWorkflow sets it; the library copies run options into every nested run). A run is
// refused, starting no state and ending as aborted, when
// - an earlier run on the same StateMachine instance failed or was aborted: a Map creates one
//   iterator instance per execution of the Map state (a Map Retry creates a new one) and starts
//   every item on it, so this is "no item starts once a sibling has failed"; runWorkflow creates
//   a new instance per execution, so top-level runs never share one;
// - its root execution has already been aborted (StopExecution).
// The Map has already failed (or the execution stopped) when a refusal happens, so nothing waits
// on the refused run's outcome. test/unit/local/stepfunctions-map.test.ts pins the behaviour, and
// fails if a new library version runs Map items differently.
//
// ToleratedFailurePercentage/Count (and their Path forms) are Distributed-mode settings that let
// a Map survive failed items; the library ignores them and the project's Maps are INLINE without
// them, so a definition that sets one is refused before its run rather than run differently.
import { ExecutionAbortedError, StateMachine, type RunOptions } from 'aws-local-stepfunctions';
import { walkStates, type AslDefinition } from './definition.js';

type Execution = ReturnType<StateMachine['run']>;
type Run = (this: StateMachine, input: Parameters<StateMachine['run']>[0], options?: RunOptions) => Execution;

/** Marks a run (and, through the library's copying, its nested runs) as one of this runtime's. */
const RUN_MARK = Symbol.for('kafka-heal.local-stepfunctions.run');
/** Set on the prototype once wrapped (Symbol.for: the module may be evaluated more than once per process, e.g. per vitest file). */
const WRAPPED = Symbol.for('kafka-heal.local-stepfunctions.map-iterations');

/** The run options with this runtime's mark, so Map iterations stop at the first failure. */
export function markRun(options: RunOptions): RunOptions {
  return Object.assign(options, { [RUN_MARK]: true });
}

function refusedRun(): Execution {
  const result = Promise.reject(new ExecutionAbortedError());
  // Handled here so it can never be reported unhandled; the Map awaiting it still sees the rejection.
  result.catch(() => undefined);
  const eventLogs = (async function* () {})() as unknown as Execution['eventLogs'];
  return { abort: () => undefined, eventLogs, result };
}

function wrapRun(): void {
  const proto = StateMachine.prototype as unknown as { run: Run; [WRAPPED]?: true };
  if (proto[WRAPPED]) return;
  const original = proto.run;
  const ended = new WeakSet<StateMachine>();
  proto.run = function run(this: StateMachine, input, options) {
    const internal = options as (RunOptions & { [RUN_MARK]?: true; _rootAbortSignal?: AbortSignal }) | undefined;
    if (!internal?.[RUN_MARK]) return original.call(this, input, options);
    if (ended.has(this) || internal._rootAbortSignal?.aborted) return refusedRun();
    const execution = original.call(this, input, options);
    // Marked before the Map's p-limit hears of the rejection (it awaits this promise), so the next
    // queued item is refused when p-limit starts it.
    const result = execution.result.catch((err: unknown) => {
      ended.add(this);
      throw err;
    });
    return { ...execution, result };
  };
  proto[WRAPPED] = true;
}

wrapRun();

const TOLERANCE_FIELDS = [
  'ToleratedFailurePercentage',
  'ToleratedFailurePercentagePath',
  'ToleratedFailureCount',
  'ToleratedFailureCountPath',
] as const;

export class MapToleranceUnsupportedError extends Error {
  override readonly name = 'MapToleranceUnsupportedError';
}

/** Throws MapToleranceUnsupportedError when a Map state sets a failure tolerance the local runtime does not implement. */
export function checkMapTolerance(def: AslDefinition): void {
  for (const { name, state } of walkStates(def)) {
    if (state.Type !== 'Map') continue;
    const field = TOLERANCE_FIELDS.find((f) => state[f] !== undefined);
    if (field) {
      throw new MapToleranceUnsupportedError(
        `Map state "${name}" sets ${field}: failure tolerance (a Distributed-mode setting) is not implemented by the local Step Functions runtime, whose Maps fail at the first failed iteration`,
      );
    }
  }
}
