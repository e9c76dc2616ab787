// The escalation ladder with the real PagerDuty client over HTTP to the local Events v2 receiver:
// one PagerDuty incident per healer incident (dedup_key), the next level paged into the same
// alert, the resolution closing it, 429/5xx retried by the client, and SNS taking the page when
// the receiver keeps failing; in `pagerduty` mode one page, status updates, and an end at the
// ladder's horizon for an incident nobody closes. The clock the ladder reads is jumped at each Wait.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { EscalationStepSchema, makeEscalationHandler } from '#functions/escalation/handler.js';
import type { IncidentWithTimeline, TimelineEntry } from '#tools/incident-store.js';
import { notify } from '#shared/notify.js';
import { PagerDutyClient, staticRoutingKey } from '#shared/pagerduty.js';
import { ESCALATION_ASL, escalationSubstitutions } from '#infra/constructs/escalation.js';
import { ESCALATION_NOTIFY_ASL, escalationNotifySubstitutions } from '#infra/constructs/workflows.js';
import { start, type PagerDutyReceiver } from '#local/pagerduty-receiver.js';
import {
  RESOURCES,
  lambdaInvokeBinding,
  parseDefinition,
  runWorkflow,
  startExecutionSyncBinding,
  type Json,
} from '#local/stepfunctions/index.js';

const FN = 'arn:aws:lambda:eu-west-1:123456789012:function:kafka-heal-it-escalation';
const NOTIFY_SM = 'arn:aws:states:eu-west-1:123456789012:stateMachine:kafka-heal-it-escalation';
const definition = parseDefinition(
  readFileSync(ESCALATION_ASL, 'utf8'),
  escalationSubstitutions({ escalationFunctionArn: FN, escalationNotifyStateMachineArn: NOTIFY_SM }),
);
const broadcast = parseDefinition(
  readFileSync(ESCALATION_NOTIFY_ASL, 'utf8'),
  escalationNotifySubstitutions({ criticalTopicArn: 'arn:sns:critical', warningTopicArn: 'arn:sns:warning' }),
);
const T0 = Date.parse('2026-11-22T03:00:00.000Z');
const MIN = 60_000;

let receiver: PagerDutyReceiver;
beforeAll(async () => {
  receiver = await start();
});
afterAll(async () => {
  await receiver?.close();
});
beforeEach(() => {
  receiver.clearFaults();
  receiver.events.length = 0;
  receiver.requests.length = 0;
  receiver.incidents.clear();
});

async function ladder(
  incidentId: string,
  opts: { severity: 'SEV-1' | 'SEV-2'; resolveAtMin?: number; mode?: 'levels' | 'pagerduty' },
) {
  let clock = T0;
  const timeline: TimelineEntry[] = [];
  const sns: string[] = [];
  const incident = () =>
    ({
      id: incidentId,
      status: opts.resolveAtMin !== undefined && clock >= T0 + opts.resolveAtMin * MIN ? 'resolved' : 'escalated',
      timeline,
    }) as unknown as IncidentWithTimeline;
  const pagerDuty = new PagerDutyClient({
    routingKey: staticRoutingKey('0123456789abcdef0123456789abcdef'),
    endpoint: receiver.url,
    retry: { baseDelayMs: 20, maxDelayMs: 100, totalBudgetMs: 3_000, requestTimeoutMs: 1_000 },
  });
  const handler = makeEscalationHandler({
    incidents: { get: async () => incident() },
    timeline: {
      appendTimeline: async (_id, e) => {
        const full = { ...e, at: e.at ?? new Date(clock).toISOString() };
        timeline.push(full);
        return full;
      },
    },
    now: () => new Date(clock),
    // `levels` with empty targets: every level pages the deployment's routing key (one PagerDuty incident).
    policies: {
      get: async () => ({
        policy: {
          escalation:
            opts.mode === 'pagerduty' ? { mode: 'pagerduty', levels: [] } : { mode: 'levels', levels: [{}, {}, {}] },
        },
      }),
    } as never,
    notify: (n) =>
      notify(n, {
        pagerDuty,
        sns: {
          send: async (c: { input: { Subject?: string } }) => (sns.push(c.input.Subject ?? ''), { MessageId: 'm' }),
        } as never,
        sqs: { send: async () => ({ MessageId: 'q' }) } as never,
        snsTopicArns: { critical: 'arn:sns:critical', warning: 'arn:sns:warning' },
        retryQueueUrl: 'q',
      }),
  });
  const lambda = async (payload: Json) => {
    const out = await handler(EscalationStepSchema.parse(payload));
    const step = (out as { step?: { action: string; until?: string } | null }).step;
    if (step?.action === 'wait' && step.until) clock = Date.parse(step.until);
    return out;
  };
  const result = await runWorkflow({
    definition,
    input: { incidentId, cluster: 'orders', incidentType: 'broker-failure', severity: opts.severity },
    timeScale: 0,
    bindings: {
      [RESOURCES.lambdaInvoke]: lambdaInvokeBinding({ [FN]: lambda }),
      [RESOURCES.startExecutionSync2]: startExecutionSyncBinding({
        [NOTIFY_SM]: (input) =>
          runWorkflow({
            definition: broadcast,
            input,
            timeScale: 0,
            bindings: { [RESOURCES.snsPublish]: () => ({ MessageId: 'b' }) },
          }),
      }),
    },
  });
  return { result, timeline, sns, elapsedMs: clock - T0 };
}

describe('escalation ladder -> real PagerDuty client -> local Events v2 receiver', () => {
  it('SEV-2 unacknowledged: level 1 and level 2 page into ONE PagerDuty incident (dedup_key = incident id) with severity error', async () => {
    const r = await ladder('inc-pd-1', { severity: 'SEV-2' });
    expect(r.result.status).toBe('SUCCEEDED');
    expect(receiver.events.map((e) => `${e.action} ${e.dedupKey}`)).toEqual(['trigger inc-pd-1', 'trigger inc-pd-1']);
    expect(
      receiver.events.map(
        (e) =>
          (e.body.payload as { severity: string; custom_details: { escalationLevel: number } }).custom_details
            .escalationLevel,
      ),
    ).toEqual([1, 2]);
    expect((receiver.events[0]?.body.payload as { severity: string }).severity).toBe('error');
    expect(receiver.incidents.get('inc-pd-1')).toMatchObject({ status: 'triggered', triggers: 2 });
  });

  it('pagerduty mode, never resolved: one page, hourly status updates, and the ladder ends at its 20 h horizon (before the 1-day execution timeout)', async () => {
    const r = await ladder('inc-pd-4', { severity: 'SEV-2', mode: 'pagerduty' });
    expect(r.result.status).toBe('SUCCEEDED');
    expect(receiver.events.map((e) => `${e.action} ${e.dedupKey}`)).toEqual(['trigger inc-pd-4']);
    expect(r.timeline.filter((e) => e.action === 'escalation-status-update')).toHaveLength(19);
    expect(r.timeline.at(-1)).toMatchObject({ action: 'escalation-finished', result: 'updates-ended' });
    expect(r.elapsedMs).toBe(20 * 60 * MIN);
  });

  it('resolved: the ladder resolves the PagerDuty incident; a 429 and a 503 on the way are retried by the client', async () => {
    receiver.setFaults({ kind: 'status', status: 429 }, { kind: 'status', status: 503 });
    const r = await ladder('inc-pd-2', { severity: 'SEV-1', resolveAtMin: 20 });
    expect(r.result.status).toBe('SUCCEEDED');
    expect(receiver.requests.slice(0, 3).map((q) => q.status)).toEqual([429, 503, 202]);
    expect(receiver.incidents.get('inc-pd-2')).toMatchObject({ status: 'resolved' });
    expect(r.timeline.find((e) => e.action === 'notify-pagerduty')?.detail).toContain('requests=3');
  });

  it('PagerDuty failing past the client budget: SNS carries the page and the timeline names the PagerDuty failure', async () => {
    receiver.setFaults(...Array.from({ length: 10 }, () => ({ kind: 'status' as const, status: 500 as const })));
    const r = await ladder('inc-pd-3', { severity: 'SEV-1', resolveAtMin: 1 });
    expect(r.result.status).toBe('SUCCEEDED');
    expect(r.sns[0]).toContain('[SEV-1] TRIGGERED');
    const pd = r.timeline.find((e) => e.action === 'notify-pagerduty');
    expect(pd).toMatchObject({ result: 'failed' });
    expect(pd?.detail).toContain('PagerDutyUnavailable');
  });
});
