// The local approval binding (lambda:invoke.waitForTaskToken): callback semantics on the real
// local engine with a minimal approval workflow, so every ASL that asks a human can rely on it.
import { describe, expect, it } from 'vitest';
import { APPROVAL_REJECTED, APPROVAL_RESOURCE } from '#functions/approvals/schema.js';
import {
  LocalTaskTokens,
  TaskDoesNotExist,
  answerTask,
  approvalBinding,
  approveAfter,
  neverDecide,
  parseDefinition,
  rejectAfter,
  runWorkflow,
  type ApprovalBindingOptions,
} from '#local/stepfunctions/index.js';

const definition = parseDefinition(
  JSON.stringify({
    Comment: 'Approval test workflow',
    StartAt: 'Ask For Approval',
    States: {
      'Ask For Approval': {
        Type: 'Task',
        Resource: APPROVAL_RESOURCE,
        Parameters: {
          FunctionName: 'arn:aws:lambda:eu-west-1:123456789012:function:approvals-request',
          Payload: {
            'incidentId.$': '$.incidentId',
            workflow: 'cascade-recovery',
            summary: 'recover 3 brokers one at a time',
            actions: ['throttle producers', 'restart broker 1'],
            'taskToken.$': '$$.Task.Token',
          },
        },
        TimeoutSeconds: 3600,
        ResultPath: '$.approval',
        Catch: [
          { ErrorEquals: [APPROVAL_REJECTED], ResultPath: '$.approvalError', Next: 'Rejected' },
          { ErrorEquals: ['States.Timeout'], ResultPath: '$.approvalError', Next: 'Timed Out' },
        ],
        End: true,
      },
      Rejected: { Type: 'Pass', End: true },
      'Timed Out': { Type: 'Pass', End: true },
    },
  }),
  {},
);

const run = (opts: ApprovalBindingOptions) => {
  const binding = approvalBinding({ timeScale: 0.0001, ...opts });
  return {
    binding,
    result: runWorkflow({ definition, input: { incidentId: 'inc-1' }, bindings: { [APPROVAL_RESOURCE]: binding } }),
  };
};

describe('approvalBinding', () => {
  it('approved: the decision is the task output at ResultPath', async () => {
    const { binding, result } = run({ decide: approveAfter(5, 'alice', 'looks right') });
    const r = await result;
    expect(r.status).toBe('SUCCEEDED');
    expect(r.status === 'SUCCEEDED' && r.output).toEqual({
      incidentId: 'inc-1',
      approval: { decision: 'approved', by: 'alice', reason: 'looks right' },
    });
    expect(binding.requests).toHaveLength(1);
    expect(binding.requests[0]).toMatchObject({
      stateName: 'Ask For Approval',
      outcome: 'approved',
      request: { incidentId: 'inc-1', actions: ['throttle producers', 'restart broker 1'] },
    });
    // Each Task gets its own token, not the run-wide context token.
    expect(binding.requests[0]?.request.taskToken).toMatch(/^local-task-/);
  });

  it('rejected: the task fails with ApprovalRejected and a JSON cause', async () => {
    const r = await run({ decide: rejectAfter(1, 'not during peak', 'bob') }).result;
    expect(r.status === 'SUCCEEDED' && r.output).toMatchObject({ approvalError: { Error: 'ApprovalRejected' } });
    const cause =
      r.status === 'SUCCEEDED' ? (r.output as { approvalError: { Cause: string } }).approvalError.Cause : '';
    expect(JSON.parse(cause)).toEqual({ decision: 'rejected', by: 'bob', reason: 'not during peak' });
  });

  it('never answered: States.Timeout after TimeoutSeconds x timeScale, and a late answer gets TaskTimedOut', async () => {
    const { binding, result } = run({ decide: neverDecide });
    const started = Date.now();
    const r = await result;
    expect(Date.now() - started).toBeGreaterThanOrEqual(300); // 3600 s x 0.0001 = 360 ms
    expect(r.status === 'SUCCEEDED' && r.output).toMatchObject({ approvalError: { Error: 'States.Timeout' } });
    const token = binding.requests[0]?.taskToken ?? '';
    await expect(answerTask(binding.tokens, token, { decision: 'approved', by: 'late' })).rejects.toMatchObject({
      name: 'TaskTimedOut',
    });
  });

  it('answers from outside through the shared registry, once', async () => {
    const tokens = new LocalTaskTokens();
    const { result } = run({ tokens, timeoutMs: 5000 });
    const open = await tokens.whenOpened((t) => t.stateName === 'Ask For Approval');
    await answerTask(tokens, open.taskToken, { decision: 'approved', by: 'carol' });
    await expect(answerTask(tokens, open.taskToken, { decision: 'rejected', by: 'dave' })).rejects.toMatchObject({
      name: 'TaskTimedOut',
    });
    await expect(tokens.sendTaskSuccess('nope', '{}')).rejects.toBeInstanceOf(TaskDoesNotExist);
    const r = await result;
    expect(r.status === 'SUCCEEDED' && r.output).toMatchObject({ approval: { decision: 'approved', by: 'carol' } });
    expect(tokens.pending()).toEqual([]);
  });

  it('a request function failure fails the task under its error name, as lambda:invoke does', async () => {
    const r = await run({
      request: () => {
        const e = new Error('table unavailable');
        e.name = 'ProvisionedThroughputExceededException';
        throw e;
      },
    }).result;
    expect(r).toMatchObject({ status: 'FAILED', error: 'ProvisionedThroughputExceededException' });
  });

  it('a payload that breaks the approval contract fails like the Lambda would (InputValidationError)', async () => {
    const bad = parseDefinition(
      JSON.stringify({
        StartAt: 'Ask',
        States: {
          Ask: {
            Type: 'Task',
            Resource: APPROVAL_RESOURCE,
            Parameters: {
              FunctionName: 'f',
              Payload: { incidentId: 'i', workflow: 'w-x', summary: 's', actions: [], 'taskToken.$': '$$.Task.Token' },
            },
            End: true,
          },
        },
      }),
      {},
    );
    const r = await runWorkflow({
      definition: bad,
      input: {},
      bindings: { [APPROVAL_RESOURCE]: approvalBinding({ decide: approveAfter(0) }) },
    });
    expect(r).toMatchObject({ status: 'FAILED', error: 'InputValidationError' });
    if (r.status === 'FAILED') expect(r.cause).toContain('actions');
  });
});
