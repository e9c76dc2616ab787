// consumer-lag's act-on-lag step (functions/workflow-steps/consumer-lag.ts) with SNS and Lambda
// mocked (aws-sdk-client-mock): the timeline lines, the owning team's notice, the scale hook
// (function or topic) and the stop reasons are those the workflow's separate Record, Notify, Call
// and Note states used to write, and a dry run calls nothing.
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { escalationReason } from '#domain/broker-recovery.js';
import type { TimelineEntry } from '#shared/store/index.js';
import {
  LAG_DRY_RUN_REASON,
  actOnLag,
  type ActOnLag,
  type LagActionClients,
} from '#functions/workflow-steps/consumer-lag.js';
import { WorkflowStepSchema, makeWorkflowStepsHandler } from '#functions/workflow-steps/handler.js';

const TEAM_TOPIC = 'arn:aws:sns:eu-west-1:123456789012:payments-team';
const HOOK_TOPIC = 'arn:aws:sns:eu-west-1:123456789012:payments-scale';
const HOOK_FUNCTION = 'arn:aws:lambda:eu-west-1:123456789012:function:payments-scaler';
const SUMMARY = 'group payments WARN (SEV-3): total lag 11500 (limit 1000) over 2 readings';

const sns = mockClient(SNSClient);
const lambda = mockClient(LambdaClient);
afterEach(() => {
  sns.reset();
  lambda.reset();
});

function step(over: { target?: Partial<ActOnLag['target']>; lag?: Partial<ActOnLag['lag']> } = {}): ActOnLag {
  return {
    incidentId: 'inc-1',
    cluster: 'orders',
    target: {
      group: 'payments',
      ownerTeam: 'payments',
      ownerTopicArn: TEAM_TOPIC,
      scaleHook: { kind: 'lambda', target: HOOK_FUNCTION },
      maxOffsetLag: 1000,
      dryRun: false,
      ...over.target,
    } as ActOnLag['target'],
    lag: {
      status: 'WARN',
      severity: 'SEV-3',
      totalLag: 11_500,
      summary: SUMMARY,
      evidence: ['payments-0: lag 11500, WARN'],
      at: '2026-12-07T10:00:00.000Z',
      ...over.lag,
    },
  };
}

function timeline() {
  const entries: Omit<TimelineEntry, 'at'>[] = [];
  return {
    entries,
    appendTimeline: (_id: string, e: Omit<TimelineEntry, 'at'>) => {
      entries.push(e);
      return Promise.resolve({ ...e, at: new Date().toISOString() } as TimelineEntry);
    },
  };
}

const clients = (): LagActionClients => ({ sns: new SNSClient({}), lambda: new LambdaClient({}) });
/** A response Payload as the SDK hands it over (bytes that can also read themselves as text). */
const blob = (text: string) => Object.assign(new TextEncoder().encode(text), { transformToString: () => text });
const bytes = (v: unknown) => blob(JSON.stringify(v));
const lines = (t: ReturnType<typeof timeline>) => t.entries.map((e) => [e.action, e.result, e.detail]);

/** The reason the escalate step reads from a Lambda's RecoveryStopped, as the Parallel's Catch hands it over. */
async function stopReason(p: Promise<unknown>): Promise<string> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e as Error,
  );
  expect(err?.name).toBe('RecoveryStopped');
  return escalationReason({
    error: { Error: err?.name, Cause: JSON.stringify({ errorType: err?.name, errorMessage: err?.message }) },
  });
}

describe('act-on-lag', () => {
  it('records the evaluation, tells the owning team with the evidence, calls the hook function, records both', async () => {
    sns.on(PublishCommand).resolves({ MessageId: 'msg-1' });
    lambda.on(InvokeCommand).resolves({ StatusCode: 200, Payload: bytes({ scaled: true }) });
    const t = timeline();
    await expect(actOnLag(t, clients, step())).resolves.toEqual({ teamNotified: true, scaleHook: 'called' });
    const [publish] = sns.commandCalls(PublishCommand);
    expect(publish?.args[0].input).toMatchObject({
      TopicArn: TEAM_TOPIC,
      Subject: '[SEV-3] kafka-heal: consumer group lag WARN',
    });
    expect(JSON.parse(String(publish?.args[0].input.Message))).toEqual({
      kind: 'kafka-heal/consumer-lag',
      incidentId: 'inc-1',
      cluster: 'orders',
      group: 'payments',
      ownerTeam: 'payments',
      status: 'WARN',
      severity: 'SEV-3',
      totalLag: 11_500,
      maxOffsetLag: 1000,
      summary: SUMMARY,
      evidence: ['payments-0: lag 11500, WARN'],
      evaluatedAt: '2026-12-07T10:00:00.000Z',
    });
    const [invoke] = lambda.commandCalls(InvokeCommand);
    expect(invoke?.args[0].input).toMatchObject({ FunctionName: HOOK_FUNCTION, InvocationType: 'RequestResponse' });
    expect(JSON.parse(String(invoke?.args[0].input.Payload))).toEqual({
      kind: 'kafka-heal/consumer-lag-scale',
      incidentId: 'inc-1',
      cluster: 'orders',
      group: 'payments',
      status: 'WARN',
      severity: 'SEV-3',
      totalLag: 11_500,
      maxOffsetLag: 1000,
      summary: SUMMARY,
    });
    expect(lines(t)).toEqual([
      ['lag-evaluated', 'WARN', `${SUMMARY}; worst partitions: ["payments-0: lag 11500, WARN"]`],
      ['team-notified', 'success', `lag evidence sent to payments on ${TEAM_TOPIC} (message msg-1)`],
      [
        'scale-hook-called',
        'success',
        `scale hook lambda ${HOOK_FUNCTION} called for group payments (WARN, lag 11500)`,
      ],
    ]);
    expect(t.entries.every((e) => e.actor === 'workflow:consumer-lag')).toBe(true);
  });

  it('an SNS scale hook gets the scale request on its topic, without a subject', async () => {
    sns.on(PublishCommand).resolves({ MessageId: 'msg-1' });
    const t = timeline();
    await actOnLag(t, clients, step({ target: { scaleHook: { kind: 'sns', target: HOOK_TOPIC } } }));
    const calls = sns.commandCalls(PublishCommand).map((c) => c.args[0].input);
    expect(calls.map((c) => c.TopicArn)).toEqual([TEAM_TOPIC, HOOK_TOPIC]);
    expect(calls[1]?.Subject).toBeUndefined();
    expect(JSON.parse(String(calls[1]?.Message))).toMatchObject({ kind: 'kafka-heal/consumer-lag-scale' });
    expect(lambda.commandCalls(InvokeCommand)).toEqual([]);
    expect(t.entries.at(-1)).toMatchObject({
      action: 'scale-hook-called',
      detail: `scale hook sns ${HOOK_TOPIC} called for group payments (WARN, lag 11500)`,
    });
  });

  it('dry run: the evaluation and the plan on the timeline, no SNS or Lambda call, stopped with the dry-run reason', async () => {
    const t = timeline();
    const reason = await stopReason(actOnLag(t, clients, step({ target: { dryRun: true } })));
    expect(reason).toBe(LAG_DRY_RUN_REASON);
    expect(reason).toBe(
      'dry run: the owning team notification and the scale hook were planned and recorded, not performed',
    );
    expect(sns.calls()).toEqual([]);
    expect(lambda.calls()).toEqual([]);
    expect(lines(t).map(([a, r]) => [a, r])).toEqual([
      ['lag-evaluated', 'WARN'],
      ['planned-action', 'dry-run'],
    ]);
    expect(t.entries[1]?.detail).toBe(
      `would publish the lag evidence to the owning team payments on ${TEAM_TOPIC}, call the scale hook (lambda ${HOOK_FUNCTION}), re-evaluate with backoff and escalate by severity (SEV-3)`,
    );
    // Nothing configured reads as the workflow's States.Format wrote it: null.
    const bare = timeline();
    await stopReason(
      actOnLag(
        bare,
        clients,
        step({
          target: { dryRun: true, ownerTeam: null, ownerTopicArn: null, scaleHook: { kind: 'none', target: null } },
        }),
      ),
    );
    expect(bare.entries[1]?.detail).toMatch(/owning team null on null, call the scale hook \(none null\)/);
  });

  it('the team cannot be told: stopped with the reason naming the topic and the SNS error; the hook is not called', async () => {
    sns.on(PublishCommand).rejects(Object.assign(new Error('Topic does not exist'), { name: 'NotFoundException' }));
    const t = timeline();
    const reason = await stopReason(actOnLag(t, clients, step()));
    expect(reason).toBe(
      `the owning team payments could not be notified on ${TEAM_TOPIC} (SNS.NotFoundException): ${SUMMARY}`,
    );
    expect(lambda.calls()).toEqual([]);
    expect(t.entries.map((e) => e.action)).toEqual(['lag-evaluated']);
  });

  it("a failing hook is recorded with the function's error type (or the service error) and the step goes on", async () => {
    sns.on(PublishCommand).resolves({ MessageId: 'msg-1' });
    lambda
      .on(InvokeCommand)
      .resolvesOnce({
        StatusCode: 200,
        FunctionError: 'Unhandled',
        Payload: bytes({ errorType: 'ScalerError', errorMessage: 'scaler is broken' }),
      })
      .rejectsOnce(Object.assign(new Error('Function not found'), { name: 'ResourceNotFoundException' }))
      .resolvesOnce({
        StatusCode: 200,
        FunctionError: 'Unhandled',
        Payload: blob('Task timed out'),
      });
    const failures: (string | undefined)[] = [];
    for (let i = 0; i < 3; i++) {
      const t = timeline();
      await expect(actOnLag(t, clients, step())).resolves.toEqual({ teamNotified: true, scaleHook: 'failed' });
      expect(t.entries.at(-1)).toMatchObject({ action: 'scale-hook-failed', result: 'failed' });
      failures.push(t.entries.at(-1)?.detail);
    }
    expect(failures).toEqual([
      `scale hook lambda ${HOOK_FUNCTION} failed: ScalerError`,
      `scale hook lambda ${HOOK_FUNCTION} failed: Lambda.ResourceNotFoundException`,
      `scale hook lambda ${HOOK_FUNCTION} failed: Unhandled`,
    ]);
    sns.reset();
    sns.on(PublishCommand, { TopicArn: TEAM_TOPIC }).resolves({ MessageId: 'msg-2' });
    sns
      .on(PublishCommand, { TopicArn: HOOK_TOPIC })
      .rejects(Object.assign(new Error('denied'), { name: 'AuthorizationErrorException' }));
    const t = timeline();
    await actOnLag(t, clients, step({ target: { scaleHook: { kind: 'sns', target: HOOK_TOPIC } } }));
    expect(t.entries.at(-1)?.detail).toBe(`scale hook sns ${HOOK_TOPIC} failed: SNS.AuthorizationErrorException`);
  });

  it('SEV-1 lag: the team is told and the hook called, then stopped for the operators at once', async () => {
    sns.on(PublishCommand).resolves({ MessageId: 'msg-1' });
    lambda.on(InvokeCommand).resolves({ StatusCode: 200, Payload: bytes(null) });
    const t = timeline();
    const summary = 'group payments WARN (SEV-1): total lag 2100000 (limit 1000) over 2 readings';
    const reason = await stopReason(actOnLag(t, clients, step({ lag: { severity: 'SEV-1', summary } })));
    expect(reason).toBe(`SEV-1 consumer lag: ${summary}`);
    expect(t.entries.map((e) => e.action)).toEqual(['lag-evaluated', 'team-notified', 'scale-hook-called']);
  });

  it('a group nobody owns: nobody to tell, the hook still called, then stopped for the operators', async () => {
    lambda.on(InvokeCommand).resolves({ StatusCode: 200, Payload: bytes(null) });
    const t = timeline();
    const reason = await stopReason(actOnLag(t, clients, step({ target: { ownerTeam: null, ownerTopicArn: null } })));
    expect(reason).toBe(`no owning team is configured for group payments: ${SUMMARY}`);
    expect(sns.calls()).toEqual([]);
    expect(t.entries.map((e) => e.action)).toEqual(['lag-evaluated', 'scale-hook-called']);
  });

  it('through the handler: the schema refuses a hook that is not an ARN of its kind; no clients is a configuration error', async () => {
    const payload = { workflow: 'consumer-lag', step: 'act-on-lag', ...step() };
    expect(
      WorkflowStepSchema.safeParse({
        ...payload,
        target: { ...payload.target, scaleHook: { kind: 'lambda', target: HOOK_TOPIC } },
      }).success,
    ).toBe(false);
    expect(WorkflowStepSchema.safeParse({ ...payload, workflow: 'broker-recovery' }).success).toBe(false);
    const t = timeline();
    const handler = (lagClients?: LagActionClients) =>
      makeWorkflowStepsHandler({
        incidents: {} as never,
        timeline: t,
        heals: {} as never,
        lock: {} as never,
        targets: () => [],
        now: () => new Date(),
        diskCriticalPercent: 90,
        ...(lagClients ? { lagClients } : {}),
      });
    await expect(handler()(WorkflowStepSchema.parse(payload))).rejects.toThrow(/no SNS and Lambda clients/);
    sns.on(PublishCommand).resolves({ MessageId: 'msg-1' });
    lambda.on(InvokeCommand).resolves({ StatusCode: 200, Payload: bytes(null) });
    await expect(handler(clients())(WorkflowStepSchema.parse(payload))).resolves.toEqual({
      teamNotified: true,
      scaleHook: 'called',
    });
  });
});
