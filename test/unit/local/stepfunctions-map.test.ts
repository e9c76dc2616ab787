// Map states in the local runtime fail as they do in AWS: the first failed iteration fails the
// Map with that iteration's error, no further iteration starts, and the Map's Retry/Catch apply.
// aws-local-stepfunctions 3.0.0 alone kept starting the queued items after the Map had failed
// (they ran beside the Map's Catch path), which let two nested broker recoveries of
// cascade-recovery overlap locally.
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import {
  MapToleranceUnsupportedError,
  TaskError,
  enteredStates,
  runWorkflow,
  startExecutionSyncBinding,
  type AslDefinition,
  type AslState,
  type BindingRegistry,
  type Json,
} from '#local/stepfunctions/index.js';

/** Long enough for a wrongly started iteration to show in the log after the run has ended. */
const SETTLE_MS = 150;

function mapOf(extra: Partial<AslState>, iteratorTail: Record<string, AslState> = {}): AslDefinition {
  return {
    StartAt: 'Each Broker',
    States: {
      'Each Broker': {
        Type: 'Map',
        ItemsPath: '$.brokers',
        ItemSelector: { 'id.$': '$$.Map.Item.Value' },
        ItemProcessor: {
          ProcessorConfig: { Mode: 'INLINE' },
          StartAt: 'Recover One',
          States: {
            'Recover One': {
              Type: 'Task',
              Resource: 'r:recover',
              ...(Object.keys(iteratorTail).length > 0 ? { Next: Object.keys(iteratorTail)[0] } : { End: true }),
            },
            ...iteratorTail,
          },
        } as unknown as AslDefinition,
        Catch: [{ ErrorEquals: ['BrokerNotRecovered'], ResultPath: '$.error', Next: 'Hand To Operators' }],
        ResultPath: '$.recovered',
        End: true,
        ...extra,
      },
      'Hand To Operators': { Type: 'Task', Resource: 'r:escalate', End: true },
    },
  };
}

/** Item bindings that log start/end, take `ms`, and fail for the ids in `failing`. */
function recorder(failing: number[], ms = 20): { log: string[]; bindings: BindingRegistry } {
  const log: string[] = [];
  return {
    log,
    bindings: {
      'r:recover': async (input) => {
        const id = (input as { id: number }).id;
        log.push(`start ${id}`);
        await sleep(ms);
        if (failing.includes(id)) {
          log.push(`failed ${id}`);
          throw new TaskError('BrokerNotRecovered', `broker ${id} did not come back`);
        }
        log.push(`end ${id}`);
        return id;
      },
      'r:then': (input) => {
        log.push(`then ${(input as { id: number }).id}`);
        return input;
      },
      'r:escalate': async (input) => {
        log.push('escalate');
        await sleep(ms);
        log.push('escalated');
        return input;
      },
    },
  };
}

describe('Map: a failed iteration fails the Map, as in AWS', () => {
  it("MaxConcurrency 1, item 2 of 3 fails: item 3 never starts, the Map Catch runs with item 2's error", async () => {
    const { log, bindings } = recorder([2]);
    const res = await runWorkflow({
      definition: mapOf({ MaxConcurrency: 1 }),
      input: { brokers: [1, 2, 3] },
      bindings,
    });
    await sleep(SETTLE_MS);
    expect(log).toEqual(['start 1', 'end 1', 'start 2', 'failed 2', 'escalate', 'escalated']);
    expect(res.status).toBe('SUCCEEDED');
    if (res.status === 'SUCCEEDED')
      expect(res.output).toEqual({
        brokers: [1, 2, 3],
        error: { Error: 'BrokerNotRecovered', Cause: 'broker 2 did not come back' },
      });
    expect(enteredStates(res.events).filter((s) => s === 'Recover One')).toHaveLength(2);
  });

  it('a Retry on the Map runs the whole Map again (from item 1), and still never reaches item 3', async () => {
    const { log, bindings } = recorder([2], 5);
    const def = mapOf({
      MaxConcurrency: 1,
      Retry: [{ ErrorEquals: ['BrokerNotRecovered'], IntervalSeconds: 1, MaxAttempts: 1 }],
    });
    const res = await runWorkflow({ definition: def, input: { brokers: [1, 2, 3] }, bindings, timeScale: 0.001 });
    await sleep(SETTLE_MS);
    expect(log).toEqual([
      'start 1',
      'end 1',
      'start 2',
      'failed 2',
      'start 1',
      'end 1',
      'start 2',
      'failed 2',
      'escalate',
      'escalated',
    ]);
    expect(res.events.filter((e) => e.type === 'StateRetried' && e.stateName === 'Each Broker')).toHaveLength(1);
  });

  it("without a matching Catch the execution fails with the iteration's error, and item 3 never starts", async () => {
    const { log, bindings } = recorder([2]);
    const def = mapOf({ MaxConcurrency: 1 });
    delete def.States['Each Broker']!.Catch;
    delete def.States['Hand To Operators'];
    const res = await runWorkflow({ definition: def, input: { brokers: [1, 2, 3] }, bindings });
    await sleep(SETTLE_MS);
    expect(res).toMatchObject({ status: 'FAILED', error: 'BrokerNotRecovered', cause: 'broker 2 did not come back' });
    expect(log).toEqual(['start 1', 'end 1', 'start 2', 'failed 2']);
  });

  it('MaxConcurrency 2: items not yet started never start, the one in flight stops after its current state', async () => {
    const log: string[] = [];
    const bindings: BindingRegistry = {
      'r:recover': async (input) => {
        const id = (input as { id: number }).id;
        log.push(`start ${id}`);
        await sleep(id === 1 ? 5 : 60);
        if (id === 1) throw new TaskError('BrokerNotRecovered', 'broker 1');
        log.push(`end ${id}`);
        return input;
      },
      'r:then': (input) => (log.push(`then ${(input as { id: number }).id}`), input),
      'r:escalate': (input) => (log.push('escalate'), input),
    };
    const def = mapOf({ MaxConcurrency: 2 }, { 'Then Verify': { Type: 'Task', Resource: 'r:then', End: true } });
    const res = await runWorkflow({ definition: def, input: { brokers: [1, 2, 3, 4] }, bindings });
    await sleep(SETTLE_MS);
    expect(res.status).toBe('SUCCEEDED');
    // Item 2's Task was already running when item 1 failed: it finishes (a Task in flight cannot
    // be taken back), but its iteration goes no further; items 3 and 4 are never started.
    expect(log.filter((l) => !l.startsWith('end 2'))).toEqual(['start 1', 'start 2', 'escalate']);
    expect(log).not.toContain('then 2');
  });

  it('every item succeeding still runs every item in order (MaxConcurrency 1) and returns their results', async () => {
    const { log, bindings } = recorder([], 2);
    const res = await runWorkflow({
      definition: mapOf({ MaxConcurrency: 1 }),
      input: { brokers: [1, 2, 3] },
      bindings,
    });
    expect(log).toEqual(['start 1', 'end 1', 'start 2', 'end 2', 'start 3', 'end 3']);
    expect(res.status === 'SUCCEEDED' && res.output).toEqual({ brokers: [1, 2, 3], recovered: [1, 2, 3] });
  });

  it('a later execution of the same definition starts its Map afresh after an earlier one failed', async () => {
    const def = mapOf({ MaxConcurrency: 1 });
    const first = recorder([1], 2);
    await runWorkflow({ definition: def, input: { brokers: [1, 2] }, bindings: first.bindings });
    const second = recorder([], 2);
    const res = await runWorkflow({ definition: def, input: { brokers: [1, 2] }, bindings: second.bindings });
    expect(second.log).toEqual(['start 1', 'end 1', 'start 2', 'end 2']);
    expect(res.status).toBe('SUCCEEDED');
  });

  it('StopExecution while item 1 runs: item 2 never starts', async () => {
    const { log, bindings } = recorder([], 60);
    const stop = new AbortController();
    setTimeout(() => stop.abort(new Error('stopped by an operator')), 20);
    const res = await runWorkflow({
      definition: mapOf({ MaxConcurrency: 1 }),
      input: { brokers: [1, 2, 3] },
      bindings,
      signal: stop.signal,
    });
    await sleep(SETTLE_MS);
    expect(res.status).toBe('ABORTED');
    expect(log.filter((l) => l.startsWith('start'))).toEqual(['start 1']);
  });
});

describe('Map: iterations that start a nested execution (states:startExecution.sync:2), as quorum-recovery runs its plan', () => {
  const SYNC = 'arn:aws:states:::states:startExecution.sync:2';
  const CHILD = 'arn:aws:states:eu-west-1:123456789012:stateMachine:child';
  /** A child that takes a while (a Wait), then succeeds with its item or fails with CommandFailed. */
  const child: AslDefinition = {
    StartAt: 'Work',
    States: {
      Work: { Type: 'Wait', Seconds: 1, Next: 'Outcome' },
      Outcome: {
        Type: 'Choice',
        Choices: [
          {
            And: [
              { Variable: '$.fail', IsPresent: true },
              { Variable: '$.fail', BooleanEquals: true },
            ],
            Next: 'Command Failed',
          },
        ],
        Default: 'Command Succeeded',
      },
      'Command Succeeded': { Type: 'Pass', Parameters: { 'stdout.$': '$.id' }, End: true },
      'Command Failed': { Type: 'Fail', Error: 'CommandFailed', CausePath: '$.why' },
    },
  } as unknown as AslDefinition;
  const parent: AslDefinition = {
    StartAt: 'Recover',
    States: {
      Recover: {
        Type: 'Parallel',
        Branches: [
          {
            StartAt: 'Run Plan',
            States: {
              'Run Plan': {
                Type: 'Map',
                ItemsPath: '$.steps',
                MaxConcurrency: 1,
                ItemSelector: { 'step.$': '$$.Map.Item.Value' },
                ItemProcessor: {
                  ProcessorConfig: { Mode: 'INLINE' },
                  StartAt: 'Run Host Command',
                  States: {
                    'Run Host Command': {
                      Type: 'Task',
                      Resource: SYNC,
                      Parameters: { StateMachineArn: CHILD, 'Input.$': '$.step' },
                      ResultSelector: { 'stdout.$': '$.Output.stdout' },
                      End: true,
                    },
                  },
                },
                End: true,
              },
            },
          },
        ] as unknown as AslDefinition[],
        Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'Escalate' }],
        End: true,
      },
      Escalate: { Type: 'Pass', End: true },
    },
  };
  function children(): { log: string[]; bindings: BindingRegistry } {
    const log: string[] = [];
    return {
      log,
      bindings: {
        [SYNC]: startExecutionSyncBinding({
          [CHILD]: async (input) => {
            const id = (input as { id: number }).id;
            log.push(`start ${id}`);
            const res = await runWorkflow({ definition: child, input, bindings: {}, timeScale: 0.02 });
            log.push(`${res.status === 'SUCCEEDED' ? 'end' : 'failed'} ${id}`);
            return res;
          },
        }),
      },
    };
  }

  it('runs one child at a time, in order, and returns each child output', async () => {
    const { log, bindings } = children();
    const res = await runWorkflow({
      definition: parent,
      input: { steps: [{ id: 1 }, { id: 2 }, { id: 3 }] },
      bindings,
    });
    expect(log).toEqual(['start 1', 'end 1', 'start 2', 'end 2', 'start 3', 'end 3']);
    expect(res.status === 'SUCCEEDED' && res.output).toEqual([[{ stdout: 1 }, { stdout: 2 }, { stdout: 3 }]]);
  });

  it("a failed child fails its iteration with States.TaskFailed (the child's error in the Cause), the next child never starts, the Parallel's Catch takes it", async () => {
    const { log, bindings } = children();
    const res = await runWorkflow({
      definition: parent,
      input: {
        steps: [{ id: 1 }, { id: 2, fail: true, why: 'the stop command ended Failed (exit code 6)' }, { id: 3 }],
      },
      bindings,
    });
    await sleep(SETTLE_MS);
    expect(log).toEqual(['start 1', 'end 1', 'start 2', 'failed 2']);
    expect(res.status).toBe('SUCCEEDED');
    const error = (res.status === 'SUCCEEDED' ? res.output : null) as { error: { Error: string; Cause: string } };
    expect(error.error.Error).toBe('States.TaskFailed');
    expect(JSON.parse(error.error.Cause)).toMatchObject({
      Status: 'FAILED',
      Error: 'CommandFailed',
      Cause: 'the stop command ended Failed (exit code 6)',
    });
  });
});

describe('Map: failure tolerance', () => {
  it('refuses ToleratedFailure* before the run: a Distributed-mode setting the local runtime does not implement', async () => {
    for (const field of [
      'ToleratedFailurePercentage',
      'ToleratedFailureCount',
      'ToleratedFailurePercentagePath',
      'ToleratedFailureCountPath',
    ]) {
      const { log, bindings } = recorder([]);
      const value: Json = field.endsWith('Path') ? '$.tolerated' : 1;
      const run = runWorkflow({
        definition: mapOf({ MaxConcurrency: 1, [field]: value }),
        input: { brokers: [1] },
        bindings,
      });
      await expect(run).rejects.toBeInstanceOf(MapToleranceUnsupportedError);
      await expect(run).rejects.toThrow(new RegExp(`"Each Broker" sets ${field}`));
      expect(log).toEqual([]);
    }
  });
});
