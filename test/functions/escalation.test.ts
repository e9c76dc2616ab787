// The escalation steps handler's edges the ladder runs in statemachines/escalation.test.ts do not
// reach, and the retry-queue consumer (redelivery through PagerDuty, else SNS; never dropped).
import type { SQSEvent } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { describeLadder, ladderTargets, makeEscalationHandler, type Ladder } from '#functions/escalation/handler.js';
import { makeRedeliverHandler } from '#functions/escalation/redeliver.js';
import { ladderStarterFromEnv } from '#functions/escalation/start-ladder.js';
import { makeWorkflowStepsHandler } from '#functions/workflow-steps/handler.js';
import type { IncidentWithTimeline, TimelineEntry } from '#tools/incident-store.js';
import { retryQueueBody, type IncidentNotification, type NotifyDeps } from '#shared/notify.js';
import { PagerDutyUnavailable } from '#shared/pagerduty.js';
import { storePieces } from '../support/store-pieces.js';

const NOW = new Date('2026-11-22T05:00:00.000Z');
const request = { incidentId: 'inc-1', cluster: 'orders', incidentType: 'broker-failure', severity: 'SEV-2' as const };

function store(
  status: IncidentWithTimeline['status'],
  acknowledgedAt?: string,
  more: Partial<IncidentWithTimeline> = {},
) {
  const timeline: TimelineEntry[] = [];
  return {
    timeline,
    get: async () =>
      ({ id: 'inc-1', status, ...(acknowledgedAt ? { acknowledgedAt } : {}), ...more }) as IncidentWithTimeline,
    appendTimeline: async (_id: string, e: Omit<TimelineEntry, 'at'> & { at?: string }) => {
      const full = { ...e, at: e.at ?? NOW.toISOString() };
      timeline.push(full);
      return full;
    },
  };
}

describe('escalation steps handler', () => {
  const ladder: Ladder = { severity: 'SEV-2', startedAt: NOW.toISOString(), status: 'unacknowledged', level: 0 };
  const noNotify = async () => {
    throw new Error('no notification expected');
  };

  it('resolved before anyone was paged: stop, and no PagerDuty resolve for an alert never opened', async () => {
    const h = makeEscalationHandler({ ...storePieces(store('resolved')), notify: noNotify, now: () => NOW });
    expect(await h({ step: 'next', request, ladder })).toMatchObject({
      ladder: { status: 'resolved' },
      step: { action: 'stop', outcome: 'resolved' },
    });
  });

  it('acknowledged after a page: pass the acknowledgement to PagerDuty once, then follow the cadence', async () => {
    const s = store('escalated', '2026-11-22T05:03:00.000Z');
    const paged: Ladder = { ...ladder, level: 1, lastPagedAt: NOW.toISOString() };
    const h = makeEscalationHandler({
      ...storePieces(s),
      notify: async () => ({ delivered: true, via: 'pagerduty', attempts: [] }),
      now: () => NOW,
    });
    const first = await h({ step: 'next', request, ladder: paged });
    expect(first).toMatchObject({ step: { action: 'acknowledge' } });
    const acted = await h({
      step: 'act',
      request,
      ladder: (first as { ladder: Ladder }).ladder,
      action: { action: 'acknowledge', reason: 'ack' },
    });
    expect(acted).toMatchObject({ ladder: { acknowledgeSent: true }, via: 'pagerduty' });
    const next = await h({ step: 'next', request, ladder: (acted as { ladder: Ladder }).ladder });
    expect(next).toMatchObject({ step: { action: 'wait', until: '2026-11-22T06:00:00.000Z' } });
  });

  it('finish: ladder-exhausted writes the broadcast summary; anything else says how it ended', async () => {
    const h = makeEscalationHandler({ ...storePieces(store('escalated')), notify: noNotify, now: () => NOW });
    expect(
      await h({
        step: 'finish',
        request,
        ladder: { ...ladder, level: 2 },
        action: { action: 'stop', outcome: 'ladder-exhausted', reason: 'top level 2 did not acknowledge' },
      }),
    ).toMatchObject({
      outcome: 'ladder-exhausted',
      summary:
        'Nobody acknowledged SEV-2 broker-failure on orders after 2 escalation level(s): top level 2 did not acknowledge',
    });
    expect(await h({ step: 'finish', request, ladder, action: { action: 'stop', reason: 'r' } })).toMatchObject({
      outcome: 'stopped',
      summary: 'SEV-2 broker-failure on orders: escalation stopped',
    });
  });

  it('describes the ladder of every severity', () => {
    expect(describeLadder('SEV-3')).toEqual([
      'page level 1 through PagerDuty at once (fallback: SNS, then the retry queue)',
      'no acknowledgement within 4 h: page level 2 through PagerDuty',
      'no acknowledgement from level 2 within 4 h: broadcast and leave the incident escalated',
      'status update every 4 h until resolved',
      'an acknowledgement (PagerDuty, the CLI, the incident page) stops the paging',
    ]);
    expect(describeLadder('SEV-4')).toEqual(['SEV-4 does not page: one SNS notification on the warning topic']);
  });
});

describe('escalation levels that reach someone new', () => {
  const ladder: Ladder = { severity: 'SEV-2', startedAt: NOW.toISOString(), status: 'unacknowledged', level: 0 };
  const sent: IncidentNotification[] = [];
  const record = async (n: IncidentNotification) => {
    sent.push(n);
    return {
      delivered: true,
      via: n.snsTopicArn !== undefined && n.routingKeySecret === undefined ? ('sns' as const) : ('pagerduty' as const),
      attempts: [],
    };
  };

  it('ladderTargets: PagerDuty mode hands escalation to PagerDuty; levels mode pages each level its own target', () => {
    expect(ladderTargets({ mode: 'pagerduty', levels: [] })).toEqual({ pagerDutyEscalates: true });
    expect(
      ladderTargets({
        mode: 'levels',
        levels: [{}, { snsTopicArn: 'arn:aws:sns:eu-west-1:1:kafka-heal-t-escalation-leads' }],
      }),
    ).toEqual({
      targets: [{}, { snsTopicArn: 'arn:aws:sns:eu-west-1:1:kafka-heal-t-escalation-leads' }],
      maxLevel: 2,
    });
  });

  it('describes who each level pages, and that PagerDuty escalation pages only once', () => {
    expect(describeLadder('SEV-1', undefined, { pagerDutyEscalates: true })).toEqual([
      'page level 1 through PagerDuty at once (fallback: SNS, then the retry queue)',
      "PagerDuty's escalation policy moves the page up; the ladder pages no level of its own again",
      'status update every 30 min until resolved',
      'an acknowledgement (PagerDuty, the CLI, the incident page) stops the paging',
    ]);
    expect(
      describeLadder('SEV-1', undefined, {
        targets: [
          { routingKeySecret: 'kafka-heal/pagerduty/a' },
          { snsTopicArn: 'arn:aws:sns:eu-west-1:1:kafka-heal-t-escalation-b' },
        ],
        maxLevel: 2,
      }).slice(0, 3),
    ).toEqual([
      'page level 1 through PagerDuty (routing key kafka-heal/pagerduty/a) at once (fallback: SNS, then the retry queue)',
      'no acknowledgement within 15 min: page level 2 through SNS topic kafka-heal-t-escalation-b',
      'no acknowledgement from level 2 within 15 min: broadcast and leave the incident escalated',
    ]);
  });

  it('start reads the targets from the cluster policy', async () => {
    const s = store('escalated');
    const policies = {
      get: async () => ({
        policy: { escalation: { mode: 'levels', levels: [{}, { routingKeySecret: 'kafka-heal/pagerduty/b' }] } },
      }),
    } as never;
    const h = makeEscalationHandler({ ...storePieces(s), notify: record, now: () => NOW, policies });
    expect(await h({ step: 'start', request })).toMatchObject({
      ladder: { targets: [{}, { routingKeySecret: 'kafka-heal/pagerduty/b' }], maxLevel: 2 },
    });
  });

  it('each level pages its own target, with the signed links; a PagerDuty page marks the incident paged (MTTA)', async () => {
    sent.length = 0;
    const s = store('escalated');
    const paged: string[] = [];
    const h = makeEscalationHandler({
      ...storePieces({ ...s, markPaged: async (_id: string, at: string) => void paged.push(at) }),
      notify: record,
      now: () => NOW,
      links: async (id) => ({ acknowledge: `https://x/${id}/ack`, resolve: `https://x/${id}/resolve` }),
    });
    const l: Ladder = {
      ...ladder,
      targets: [{}, { routingKeySecret: 'kafka-heal/pagerduty/b' }],
      maxLevel: 2,
      level: 1,
      lastPagedAt: NOW.toISOString(),
      pagedTargets: ['default'],
    };
    const out = await h({
      step: 'act',
      request,
      ladder: l,
      action: { action: 'page', level: 2, reason: 'level 1 silent' },
    });
    expect(sent[0]).toMatchObject({
      kind: 'trigger',
      level: 2,
      routingKeySecret: 'kafka-heal/pagerduty/b',
      details: { acknowledge: 'https://x/inc-1/ack', resolve: 'https://x/inc-1/resolve' },
    });
    expect(out).toMatchObject({
      ladder: { level: 2, pagedTargets: ['default', 'kafka-heal/pagerduty/b'] },
      via: 'pagerduty',
    });
    expect(paged).toEqual([NOW.toISOString()]);
  });

  it('a level topic outside the permitted prefix is refused: the severity topic is used and the timeline says why', async () => {
    sent.length = 0;
    const s = store('escalated');
    const h = makeEscalationHandler({
      ...storePieces(s),
      notify: record,
      now: () => NOW,
      levelTopicPrefix: 'kafka-heal-t-escalation-',
    });
    const l: Ladder = {
      ...ladder,
      targets: [{}, { snsTopicArn: 'arn:aws:sns:eu-west-1:1:someone-elses-topic' }],
      maxLevel: 2,
      level: 1,
      lastPagedAt: NOW.toISOString(),
    };
    await h({ step: 'act', request, ladder: l, action: { action: 'page', level: 2, reason: 'level 1 silent' } });
    expect(sent[0]).toMatchObject({ kind: 'trigger', page: false });
    expect(sent[0]?.snsTopicArn).toBeUndefined();
    expect(s.timeline[0]).toMatchObject({
      action: 'escalation-target-refused',
      detail: expect.stringContaining('outside kafka-heal-t-escalation-*') as unknown,
    });
  });

  it('PagerDuty already knows of the acknowledgement (it told us): only the other services paged are told', async () => {
    sent.length = 0;
    const s = store('escalated', '2026-11-22T04:58:00.000Z', {
      acknowledgedBy: 'pd:alice',
      acknowledgedVia: 'pagerduty',
    });
    const h = makeEscalationHandler({ ...storePieces(s), notify: record, now: () => NOW });
    const l: Ladder = {
      ...ladder,
      level: 2,
      lastPagedAt: NOW.toISOString(),
      pagedTargets: ['default', 'kafka-heal/pagerduty/b'],
    };
    const next = await h({ step: 'next', request, ladder: l });
    expect(next).toMatchObject({ ladder: { status: 'acknowledged' }, step: { action: 'acknowledge' } });
    expect(s.timeline[0]).toMatchObject({
      action: 'escalation-acknowledged',
      detail: expect.stringMatching(/^acknowledged by pd:alice \(pagerduty\)/) as unknown,
      result: 'paging stopped',
    });
    await h({
      step: 'act',
      request,
      ladder: (next as { ladder: Ladder }).ladder,
      action: { action: 'acknowledge', reason: 'ack' },
    });
    expect(sent.map((n) => `${n.kind} ${n.routingKeySecret ?? 'default'}`)).toEqual([
      'acknowledge kafka-heal/pagerduty/b',
    ]);
    // Only the deployment's service was paged and it already knows: nothing to send, the ladder follows its cadence.
    const only = await h({ step: 'next', request, ladder: { ...l, pagedTargets: ['default'] } });
    expect(only).toMatchObject({ step: { action: 'wait' } });
  });

  it('a run fenced when the incident was reopened stops as superseded', async () => {
    const s = store('open', undefined, { fencedRuns: ['arn:aws:states:eu-west-1:1:execution:ladder:old'] });
    const h = makeEscalationHandler({ ...storePieces(s), notify: record, now: () => NOW });
    expect(
      await h({ step: 'next', request, ladder, executionArn: 'arn:aws:states:eu-west-1:1:execution:ladder:old' }),
    ).toMatchObject({ step: { action: 'stop', outcome: 'superseded' } });
    expect(
      await h({ step: 'next', request, ladder, executionArn: 'arn:aws:states:eu-west-1:1:execution:ladder:new' }),
    ).toMatchObject({ step: { action: 'page', level: 1 } });
  });
});

describe('retry queue redelivery', () => {
  const n: IncidentNotification = {
    incidentId: 'inc-1',
    cluster: 'orders',
    incidentType: 'broker-failure',
    severity: 'SEV-1',
    kind: 'trigger',
    summary: 'broker 2 down',
    level: 1,
  };
  const event = (...bodies: string[]): SQSEvent => ({
    Records: bodies.map((body, i) => ({ messageId: `m${i}`, body }) as SQSEvent['Records'][number]),
  });

  function deps(opts: { pagerDutyDown?: boolean; snsDown?: boolean }) {
    const timeline: TimelineEntry[] = [];
    const sent: string[] = [];
    const notify: NotifyDeps = {
      pagerDuty: {
        trigger: async () => {
          if (opts.pagerDutyDown) throw new PagerDutyUnavailable(5, 1, 'HTTP 503', 503, 'limit');
          sent.push('pagerduty');
          return { action: 'trigger', dedupKey: 'inc-1', attempts: 1, message: undefined };
        },
        acknowledge: async () => ({ action: 'acknowledge', dedupKey: 'inc-1', attempts: 1, message: undefined }),
        resolve: async () => ({ action: 'resolve', dedupKey: 'inc-1', attempts: 1, message: undefined }),
      },
      sns: {
        send: async () => {
          if (opts.snsDown) throw new Error('SNS down');
          sent.push('sns');
          return { MessageId: 'm' };
        },
      } as never,
      sqs: { send: async () => ({}) } as never,
      snsTopicArns: { critical: 'c', warning: 'w' },
      retryQueueUrl: 'q',
      now: () => NOW,
    };
    const s = {
      appendTimeline: async (_id: string, e: Omit<TimelineEntry, 'at'> & { at?: string }) => {
        const full = { ...e, at: e.at ?? '' };
        timeline.push(full);
        return full;
      },
    };
    return { timeline, sent, handler: makeRedeliverHandler({ notify, ...storePieces(s) }) };
  }

  it('delivers a parked notification through PagerDuty and records it', async () => {
    const d = deps({});
    expect(await d.handler(event(retryQueueBody(n, [])))).toEqual({ batchItemFailures: [] });
    expect(d.sent).toEqual(['pagerduty']);
    expect(d.timeline.map((e) => `${e.action}=${e.result}`)).toEqual(['notify-pagerduty=delivered']);
  });

  it('PagerDuty still down: SNS takes it', async () => {
    const d = deps({ pagerDutyDown: true });
    expect(await d.handler(event(retryQueueBody(n, [])))).toEqual({ batchItemFailures: [] });
    expect(d.sent).toEqual(['sns']);
  });

  it('both still down, or a foreign message: a batch item failure, so SQS retries and finally dead-letters it', async () => {
    const d = deps({ pagerDutyDown: true, snsDown: true });
    expect(await d.handler(event(retryQueueBody(n, []), 'not json'))).toEqual({
      batchItemFailures: [{ itemIdentifier: 'm0' }, { itemIdentifier: 'm1' }],
    });
    expect(d.timeline.map((e) => `${e.action}=${e.result}`)).toEqual(['notify-pagerduty=failed', 'notify-sns=failed']);
  });
});

describe('recovery escalations hand the incident to the ladder', () => {
  const incident = {
    id: 'inc-9',
    cluster: 'orders',
    type: 'broker-failure',
    severity: 'SEV-2',
    status: 'remediating',
  } as unknown as IncidentWithTimeline;
  function steps(start?: Parameters<typeof makeWorkflowStepsHandler>[0]['startEscalation']) {
    const timeline: (Omit<TimelineEntry, 'at'> & { at?: string })[] = [];
    const handler = makeWorkflowStepsHandler({
      ...storePieces({
        get: async () => incident,
        setStatus: async () => incident,
        appendTimeline: async (_id: string, e: Omit<TimelineEntry, 'at'> & { at?: string }) => (
          timeline.push(e),
          { ...e, at: '' }
        ),
        recordHeal: async () => undefined,
        releaseLock: async () => true,
      } as never),
      targets: () => [],
      now: () => NOW,
      diskCriticalPercent: 90,
      ...(start ? { startEscalation: start } : {}),
    });
    return { timeline, handler };
  }
  const escalate = {
    step: 'escalate' as const,
    workflow: 'broker-recovery' as const,
    incidentId: 'inc-9',
    state: { dryRun: true, error: { Error: 'VerificationFailed', Cause: 'broker 2 not in ISR' } },
  };

  it('starts the ladder with the escalation summary (dry run passed on), and says so on the timeline', async () => {
    const requests: unknown[] = [];
    const s = steps(
      async (r) => (requests.push(r), { executionArn: 'arn:x', executionName: 'inc-9-escalation-1', started: true }),
    );
    const out = await s.handler(escalate as never);
    expect(out).toMatchObject({ result: 'escalated' });
    expect(requests[0]).toMatchObject({
      incidentId: 'inc-9',
      cluster: 'orders',
      severity: 'SEV-2',
      incidentType: 'broker-failure',
      dryRun: true,
    });
    expect(s.timeline.at(-1)).toMatchObject({ action: 'escalation-ladder-started', result: 'started' });
  });

  it('a ladder that cannot start is recorded, and the escalation still succeeds', async () => {
    const s = steps(async () => {
      throw Object.assign(new Error('throttled'), { name: 'ThrottlingException' });
    });
    expect(await s.handler(escalate as never)).toMatchObject({ result: 'escalated' });
    expect(s.timeline.at(-1)).toMatchObject({
      action: 'escalation-ladder-not-started',
      detail: 'ThrottlingException: throttled',
    });
  });

  it('ladderStarterFromEnv: only when WORKFLOW_ARN_ESCALATION is set; names the execution after the incident', async () => {
    expect(ladderStarterFromEnv({})).toBeUndefined();
    const sent: { stateMachineArn?: string; name?: string; input?: string }[] = [];
    const client = {
      send: async (c: { input: (typeof sent)[number] }) => (
        sent.push(c.input),
        { executionArn: 'arn:aws:states:eu-west-1:1:execution:l:n' }
      ),
    } as never;
    const start = ladderStarterFromEnv(
      { WORKFLOW_ARN_ESCALATION: 'arn:aws:states:eu-west-1:1:stateMachine:kafka-heal-x-escalation-ladder' },
      client,
    );
    await start?.({
      incidentId: 'inc-9',
      cluster: 'orders',
      incidentType: 'broker-failure',
      severity: 'SEV-2',
      summary: 's',
      reasons: [],
      dryRun: false,
    });
    expect(sent[0]?.stateMachineArn).toBe('arn:aws:states:eu-west-1:1:stateMachine:kafka-heal-x-escalation-ladder');
    expect(sent[0]?.name).toContain('inc-9');
    expect(JSON.parse(sent[0]?.input ?? '{}')).toMatchObject({ incidentId: 'inc-9', severity: 'SEV-2' });
  });
});
