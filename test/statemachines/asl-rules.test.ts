// The house rules' checker (test/support/asl.ts) on Parallel bodies: a happy path moved into a
// Parallel is held to the same rules as one written at the top level.
import { describe, expect, it } from 'vitest';
import { lockProblems, styleProblems } from '../support/asl.js';

const lambda = 'arn:${Partition}:states:::lambda:invoke';
const step = (name: string, extra: Record<string, unknown> = {}) => ({
  Type: 'Task',
  Resource: lambda,
  TimeoutSeconds: 30,
  Parameters: { FunctionName: '${Fn}', Payload: { step: name, 'execution.$': '$$.Execution.Id' } },
  ...extra,
});
const superseded = { ErrorEquals: ['RunSupersededError'], Next: 'Stop As Superseded', Comment: 'superseded' };
const toEscalate = { ErrorEquals: ['States.ALL'], Next: 'Escalate Incident', Comment: 'hand to people' };

function workflow(parallel: Record<string, unknown>, branch: Record<string, unknown>) {
  return JSON.stringify({
    Comment:
      'A workflow of the rules test: a happy path in a Parallel, its escalation path and the lock release after.',
    StartAt: 'Recover',
    States: {
      Recover: {
        Type: 'Parallel',
        Branches: [
          { StartAt: 'Resolve Incident', States: { 'Resolve Incident': branch, 'Not Today': { Type: 'Fail' } } },
        ],
        Next: 'Release Cluster Lock',
        ...parallel,
      },
      'Escalate Incident': step('escalate', { Next: 'Release Cluster Lock', Catch: [superseded] }),
      'Release Cluster Lock': step('release-lock', { Next: 'Done' }),
      Done: { Type: 'Succeed' },
      'Stop As Superseded': { Type: 'Succeed' },
    },
  });
}

describe('ASL rules on Parallel bodies', () => {
  it('accepts a body whose steps leave errors to a Parallel that catches RunSupersededError first', () => {
    const text = workflow({ Catch: [superseded, toEscalate] }, step('resolve', { End: true }));
    expect(lockProblems(text)).toEqual([]);
    expect(styleProblems(text)).toEqual([]);
  });

  it('finds a Parallel without the catches and a nested step that catches for itself', () => {
    const text = workflow(
      { Catch: [] },
      step('resolve', { End: true, Catch: [{ ErrorEquals: ['States.ALL'], Next: 'Not Today' }] }),
    );
    expect(lockProblems(text)).toEqual([
      'Resolve Incident: inside Recover the resolve step must leave RunSupersededError to Recover',
      'Recover: holds a resolve step, so it must first catch RunSupersededError into Stop As Superseded',
      'Recover: a Parallel needs a States.ALL catch to the escalation path (the lock is held)',
    ]);
    expect(styleProblems(text)).toEqual(['Resolve Incident: a Catch without a Comment saying why']);
  });

  it('keeps the lock release at the top level and checks nested state names and Task timeouts', () => {
    const text = workflow(
      { Catch: [superseded, toEscalate] },
      { ...step('release-lock', { End: true }), TimeoutSeconds: undefined },
    ).replace('Not Today', 'not today');
    expect(lockProblems(text)).toEqual(['Resolve Incident: the lock is released at the top level, not inside Recover']);
    expect(styleProblems(text)).toEqual([
      'Resolve Incident: a Task without TimeoutSeconds',
      'not today: not a Title Case name',
    ]);
  });
});
