// The constructs a workflow with its happy path inside a Parallel uses, run on the local runtime as
// Step Functions runs them: the branch's output as a one-element array (ResultSelector picks from
// it, ResultPath merges it into the input), and a failure anywhere in the branch (a Lambda's typed
// error, a Fail state with CausePath) caught once by the Parallel, with the state input kept and
// the error's name matched before States.ALL.
import { describe, expect, it } from 'vitest';
import { escalationReason } from '#domain/broker-recovery.js';
import { RESOURCES, lambdaInvokeBinding, runWorkflow, type AslDefinition } from '#local/stepfunctions/index.js';

class RestartUnsafe extends Error {
  override readonly name = 'RestartUnsafe';
}

const STEPS = 'arn:aws:lambda:eu-west-1:123456789012:function:steps';

function definition(): AslDefinition {
  return {
    StartAt: 'Recover',
    States: {
      Recover: {
        Type: 'Parallel',
        Branches: [
          {
            StartAt: 'Check',
            States: {
              Check: {
                Type: 'Task',
                Resource: RESOURCES.lambdaInvoke,
                Parameters: { FunctionName: STEPS, 'Payload.$': '$' },
                ResultSelector: { 'verdict.$': '$.Payload.verdict' },
                ResultPath: '$.check',
                Next: 'Is Done',
              },
              'Is Done': {
                Type: 'Choice',
                Choices: [{ Variable: '$.check.verdict', StringEquals: 'refuse', Next: 'Refused' }],
                Default: 'Finished',
              },
              Refused: { Type: 'Fail', Error: 'NotRecovered', CausePath: '$.why' },
              Finished: { Type: 'Pass', Parameters: { 'result.$': '$.check.verdict' }, End: true },
            },
          },
        ],
        ResultSelector: { 'result.$': '$[0].result' },
        ResultPath: '$.outcome',
        Catch: [
          { ErrorEquals: ['RestartUnsafe'], ResultPath: '$.unsafe', Next: 'Escalate' },
          { ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'Escalate' },
        ],
        Next: 'Done',
      },
      Escalate: { Type: 'Pass', End: true },
      Done: { Type: 'Succeed' },
    },
  } as unknown as AslDefinition;
}

async function run(verdict: 'ok' | 'refuse' | 'unsafe') {
  const res = await runWorkflow({
    definition: definition(),
    input: { incidentId: 'inc-1', why: 'the broker did not come back', verdict },
    bindings: {
      [RESOURCES.lambdaInvoke]: lambdaInvokeBinding({
        steps: (p) => {
          if ((p as { verdict: string }).verdict === 'unsafe')
            throw new RestartUnsafe('restart refused by the safety check: 2 partitions below min ISR');
          return { verdict: (p as { verdict: string }).verdict };
        },
      }),
    },
  });
  expect(res.status).toBe('SUCCEEDED');
  return res.status === 'SUCCEEDED' ? (res.output as Record<string, unknown>) : {};
}

describe('Parallel with one Catch (local runtime as Step Functions)', () => {
  it('the branch output is an array: ResultSelector picks from it, ResultPath merges into the input', async () => {
    expect(await run('ok')).toEqual({
      incidentId: 'inc-1',
      why: 'the broker did not come back',
      verdict: 'ok',
      outcome: { result: 'ok' },
    });
  });

  it('a Lambda typed error in the branch is caught by name at the Parallel, the input kept, the reason its message', async () => {
    const out = await run('unsafe');
    expect(out).toMatchObject({ incidentId: 'inc-1', unsafe: { Error: 'RestartUnsafe' } });
    expect(out).not.toHaveProperty('check');
    expect(escalationReason({ error: out['unsafe'] })).toBe(
      'RestartUnsafe: restart refused by the safety check: 2 partitions below min ISR',
    );
  });

  it('a Fail state in the branch (CausePath) fails the Parallel with its Error and Cause, caught by States.ALL', async () => {
    const out = await run('refuse');
    expect(out['error']).toEqual({ Error: 'NotRecovered', Cause: 'the broker did not come back' });
    expect(escalationReason(out)).toBe('NotRecovered: the broker did not come back');
  });
});
