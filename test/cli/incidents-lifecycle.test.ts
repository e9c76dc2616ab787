// `kafka-heal incidents ack|resolve|reopen|note`: bad input, what each outcome prints and exits
// with, and the AWS path (the lifecycle Lambda, invoked through the SDK, here a mock). The happy
// paths against DynamoDB Local and a local PagerDuty receiver are in
// test/integration/cli-incidents.test.ts.
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { describeLifecycle, invokeLifecycle } from '#cli/commands/incidents.js';
import { main } from '#cli/main.js';
import type { LifecycleCommandResult } from '#functions/lifecycle/command.js';
import { captureIO } from '../support/helpers.js';

async function cli(...argv: string[]) {
  const io = captureIO();
  const code = await main(argv, io);
  return { code, out: io.out, err: io.err };
}

const lambda = mockClient(LambdaClient);
beforeEach(() => {
  lambda.reset();
  vi.stubEnv('KAFKA_HEAL_TABLE', undefined);
  vi.stubEnv('KAFKA_HEAL_LIFECYCLE_FUNCTION', undefined);
  vi.stubEnv('AWS_REGION', undefined);
  vi.stubEnv('AWS_DEFAULT_REGION', undefined);
});
afterEach(() => vi.unstubAllEnvs());

const result = (over: Partial<LifecycleCommandResult>): LifecycleCommandResult => ({
  outcome: 'resolved',
  incidentId: 'inc-1',
  notes: [],
  ...over,
});

describe('incidents ack|resolve|reopen|note: bad input', () => {
  it.each([
    [['incidents', 'ack'], 'kafka-heal incidents ack: expected exactly one incident id, got none'],
    [['incidents', 'resolve', '../x'], 'kafka-heal incidents resolve: not an incident id: "../x"'],
    [['incidents', 'note', 'inc-1'], 'kafka-heal incidents note: a note needs --reason TEXT'],
    [['incidents', 'note', 'inc-1', '--reason', '  '], 'kafka-heal incidents note: a note needs --reason TEXT'],
    [
      ['incidents', 'ack', 'inc-1', '--by', 'a\tb'],
      'kafka-heal incidents ack: --by must be 1-100 printable characters',
    ],
    [
      ['incidents', 'ack', 'inc-1', '--reason', 'x'.repeat(1001)],
      'kafka-heal incidents ack: --reason is limited to 1000 characters',
    ],
    [
      ['incidents', 'ack', 'inc-1', '--pagerduty-url', 'pd'],
      'kafka-heal incidents ack: --pagerduty-url must be a URL like http://127.0.0.1:8080, got "pd"',
    ],
    [
      ['incidents', 'ack', 'inc-1', '--pagerduty-url', 'file:///x'],
      'kafka-heal incidents ack: --pagerduty-url must be an http(s) URL, got "file:///x"',
    ],
    [
      ['incidents', 'resolve', 'inc-1'],
      'kafka-heal incidents resolve: in AWS the action runs in the lifecycle Lambda: give --function NAME or set KAFKA_HEAL_LIFECYCLE_FUNCTION (the stack output IncidentLifecycleFunctionName), or --endpoint for DynamoDB Local',
    ],
    [
      ['incidents', 'resolve', 'inc-1', '--function', 'f', '--pagerduty-url', 'http://127.0.0.1:1'],
      'kafka-heal incidents resolve: --pagerduty-url is for DynamoDB Local (--endpoint); in AWS the Lambda tells PagerDuty',
    ],
    [
      ['incidents', 'resolve', 'inc-1', '--function', 'f'],
      'kafka-heal incidents resolve: no AWS region: give --region or set AWS_REGION (or --endpoint for DynamoDB Local)',
    ],
  ])('%j -> exit 2, one line', async (argv, line) => {
    const r = await cli(...argv);
    expect(r).toEqual({ code: 2, out: [], err: [line] });
  });
});

describe('incidents ack|resolve|reopen|note: outcomes', () => {
  it.each([
    [
      result({ outcome: 'acknowledged', mttaSeconds: 95, notes: ['PagerDuty acknowledged (Events v2 acknowledge)'] }),
      0,
      'acknowledged inc-1 (MTTA 1 min 35 s)\n  PagerDuty acknowledged (Events v2 acknowledge)',
    ],
    [result({ outcome: 'acknowledged' }), 0, 'acknowledged inc-1'],
    [
      result({
        outcome: 'already-acknowledged',
        acknowledgedBy: 'pagerduty:Ada',
        acknowledgedAt: '2026-11-22T02:00:05.000Z',
      }),
      1,
      'inc-1 was already acknowledged by pagerduty:Ada at 2026-11-22 02:00:05Z; nothing changed',
    ],
    [result({ outcome: 'already-acknowledged' }), 1, 'inc-1 was already acknowledged by ? at -; nothing changed'],
    [
      result({
        outcome: 'closed',
        status: 'resolved',
        resolvedBy: 'auto-resolve',
        resolvedAt: '2026-11-22T03:00:00.000Z',
      }),
      1,
      'inc-1 is already resolved (by auto-resolve at 2026-11-22 03:00:00Z); nothing to acknowledge',
    ],
    [result({ outcome: 'closed' }), 1, 'inc-1 is already closed; nothing to acknowledge'],
    [result({ outcome: 'resolved', notes: ['run arn:x stopped'] }), 0, 'resolved inc-1\n  run arn:x stopped'],
    [
      result({
        outcome: 'already-closed',
        status: 'resolved',
        resolvedBy: 'workflow:broker-recovery',
        resolvedAt: '2026-11-22T03:00:00.000Z',
      }),
      1,
      'inc-1 is already resolved (by workflow:broker-recovery at 2026-11-22 03:00:00Z); nothing changed',
    ],
    [result({ outcome: 'already-closed', status: 'suppressed' }), 1, 'inc-1 is already suppressed; nothing changed'],
    [result({ outcome: 'already-closed' }), 1, 'inc-1 is already closed; nothing changed'],
    [
      result({ outcome: 'reopened' }),
      0,
      'reopened inc-1: escalated and held open for people (it closes when someone resolves it)',
    ],
    [
      result({ outcome: 'not-resolved', status: 'remediating' }),
      1,
      'inc-1 is remediating, not resolved; nothing to reopen',
    ],
    [result({ outcome: 'not-resolved' }), 1, 'inc-1 is ?, not resolved; nothing to reopen'],
    [result({ outcome: 'noted' }), 0, 'note added to inc-1'],
    [result({ outcome: 'not-found' }), 1, 'no incident inc-1; list them with kafka-heal incidents list'],
  ])('%j', (r, code, text) => {
    expect(describeLifecycle(r)).toEqual({ code, text });
  });
});

describe('incidents ack|resolve|reopen|note in AWS: the lifecycle Lambda', () => {
  it('invokes the function with the action and who, and prints its answer', async () => {
    lambda.on(InvokeCommand).resolves({
      StatusCode: 200,
      Payload: new TextEncoder().encode(
        JSON.stringify(result({ outcome: 'resolved', notes: ['PagerDuty resolved (Events v2 resolve)'] })),
      ) as never,
    });
    const r = await cli(
      'incidents',
      'resolve',
      'inc-1',
      '--function',
      'kafka-heal-prod-lifecycle',
      '--region',
      'eu-west-1',
      '--by',
      'operator:ada',
      '--reason',
      'broker replaced',
    );
    expect(r).toEqual({ code: 0, out: ['resolved inc-1\n  PagerDuty resolved (Events v2 resolve)'], err: [] });
    const sent = lambda.commandCalls(InvokeCommand)[0]?.args[0].input;
    expect(sent?.FunctionName).toBe('kafka-heal-prod-lifecycle');
    expect(JSON.parse(new TextDecoder().decode(sent?.Payload as Uint8Array))).toEqual({
      incidentId: 'inc-1',
      action: 'resolve',
      by: 'operator:ada',
      reason: 'broker replaced',
    });
  });

  it('takes the function from KAFKA_HEAL_LIFECYCLE_FUNCTION; --json prints the answer as it came; nothing changed exits 1', async () => {
    vi.stubEnv('KAFKA_HEAL_LIFECYCLE_FUNCTION', 'from-env');
    vi.stubEnv('AWS_REGION', 'eu-west-1');
    const answer = result({ outcome: 'already-acknowledged', acknowledgedBy: 'pagerduty:Ada' });
    lambda
      .on(InvokeCommand)
      .resolves({ StatusCode: 200, Payload: new TextEncoder().encode(JSON.stringify(answer)) as never });
    const r = await cli('incidents', 'ack', 'inc-1', '--json');
    expect(r.code).toBe(1);
    expect(JSON.parse(r.out[0] ?? '')).toEqual(answer);
    expect(lambda.commandCalls(InvokeCommand)[0]?.args[0].input.FunctionName).toBe('from-env');
  });

  it('a function error or an unreachable Lambda is one line and exit 1', async () => {
    lambda.on(InvokeCommand).resolves({
      StatusCode: 200,
      FunctionError: 'Unhandled',
      Payload: new TextEncoder().encode(
        JSON.stringify({ errorType: 'InputValidationError', errorMessage: 'bad by' }),
      ) as never,
    });
    const r = await cli('incidents', 'ack', 'inc-1', '--function', 'f', '--region', 'eu-west-1');
    expect(r).toEqual({
      code: 1,
      out: [],
      err: [
        'kafka-heal incidents ack: Error: the lifecycle Lambda failed (Unhandled): InputValidationError: bad by (function f, AWS eu-west-1)',
      ],
    });
    lambda.reset();
    lambda.on(InvokeCommand).resolves({
      StatusCode: 200,
      FunctionError: 'Unhandled',
      Payload: new TextEncoder().encode('Task timed out') as never,
    });
    await expect(
      invokeLifecycle(new LambdaClient({ region: 'eu-west-1' }), 'f', {
        incidentId: 'inc-1',
        action: 'ack' as never,
        by: 'x',
      }),
    ).rejects.toThrow('the lifecycle Lambda failed (Unhandled): Task timed out');
    lambda.reset();
    lambda
      .on(InvokeCommand)
      .rejects(Object.assign(new Error('Function not found'), { name: 'ResourceNotFoundException' }));
    const gone = await cli('incidents', 'note', 'inc-1', '--reason', 'hi', '--function', 'f', '--region', 'eu-west-1');
    expect(gone.err).toEqual([
      'kafka-heal incidents note: ResourceNotFoundException: Function not found (function f, AWS eu-west-1)',
    ]);
  });
});
