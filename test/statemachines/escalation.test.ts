// statemachines/escalation.asl.json (the escalation ladder) on the local runtime, with the real
// escalation steps handler and the real notify chain (PagerDuty -> SNS -> retry queue) over
// doubles of PagerDuty, SNS and SQS, and the real escalation-notify ASL as the nested broadcast.
// Time is the handler's injected clock: each Wait jumps it to the step's `until`.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import type { EscalationTargets } from '#domain/types.js';
import { EscalationStepSchema, makeEscalationHandler } from '#functions/escalation/handler.js';
import { IncidentNotFoundError } from '#shared/errors.js';
import type { IncidentWithTimeline, TimelineEntry } from '#tools/incident-store.js';
import { notify } from '#shared/notify.js';
import { PagerDutyUnavailable, type PagerDutyResult } from '#shared/pagerduty.js';
import type { PolicySource } from '#shared/policy-source.js';
import { ESCALATION_ASL, escalationSubstitutions } from '#infra/constructs/escalation.js';
import { ESCALATION_NOTIFY_ASL, escalationNotifySubstitutions, renderDefinition } from '#infra/constructs/workflows.js';
import {
  RESOURCES,
  TaskError,
  lambdaInvokeBinding,
  parseDefinition,
  recordCalls,
  runWorkflow,
  startExecutionSyncBinding,
  taskResources,
  type Json,
} from '#local/stepfunctions/index.js';
import { storePieces } from '../support/store-pieces.js';

type AslValidator = (definition: unknown) => { isValid: boolean; errorsText: (separator?: string) => string };
const aslValidator = createRequire(import.meta.url)('asl-validator') as AslValidator;

const FN = 'arn:aws:lambda:eu-west-1:123456789012:function:kafka-heal-test-escalation';
const NOTIFY_SM = 'arn:aws:states:eu-west-1:123456789012:stateMachine:kafka-heal-test-escalation';
const SUBS = escalationSubstitutions({ escalationFunctionArn: FN, escalationNotifyStateMachineArn: NOTIFY_SM });
const TEXT = readFileSync(ESCALATION_ASL, 'utf8');
const definition = parseDefinition(TEXT, SUBS);
const notifyDefinition = parseDefinition(
  readFileSync(ESCALATION_NOTIFY_ASL, 'utf8'),
  escalationNotifySubstitutions({ criticalTopicArn: 'arn:sns:critical', warningTopicArn: 'arn:sns:warning' }),
);
const T0 = Date.parse('2026-11-22T03:00:00.000Z');
const MIN = 60_000;

interface Scenario {
  severity?: 'SEV-1' | 'SEV-2' | 'SEV-3' | 'SEV-4';
  dryRun?: boolean;
  /** Minutes after the start at which the incident is acknowledged / resolved in the store. */
  ackAtMin?: number;
  resolveAtMin?: number;
  pagerDutyDown?: boolean;
  snsDown?: boolean;
  queueDown?: boolean;
  /** The cluster's escalation targets (runtime policy); default: PagerDuty escalates by itself. */
  escalation?: EscalationTargets;
}

/** Two levels of their own: the deployment's PagerDuty service, then the SRE leads' service. */
const TWO_SERVICES: EscalationTargets = {
  mode: 'levels',
  levels: [{}, { routingKeySecret: 'kafka-heal/pagerduty/sre-leads' }],
};
const CTO_TOPIC = 'arn:aws:sns:eu-west-1:123456789012:kafka-heal-test-escalation-cto';
const THREE_LEVELS: EscalationTargets = {
  mode: 'levels',
  levels: [...TWO_SERVICES.levels, { snsTopicArn: CTO_TOPIC }],
};

async function run(s: Scenario) {
  let clock = T0;
  const now = () => new Date(clock);
  const timeline: TimelineEntry[] = [];
  const pd: { action: string; key: string; at: number; level?: unknown; service: string }[] = [];
  const sns: { TopicArn?: string; Subject?: string; at: number }[] = [];
  const sqs: { body: string }[] = [];
  const broadcasts: Json[] = [];
  const incident = (): IncidentWithTimeline => ({
    id: 'inc-orders-1',
    cluster: 'orders',
    type: 'broker-failure',
    severity: s.severity ?? 'SEV-1',
    status: s.resolveAtMin !== undefined && clock >= T0 + s.resolveAtMin * MIN ? 'resolved' : 'escalated',
    brokers: [],
    openedAt: new Date(T0).toISOString(),
    fingerprints: [],
    signalCount: 1,
    detectedAt: new Date(T0).toISOString(),
    lastSignalAt: new Date(T0).toISOString(),
    version: 1,
    timeline,
    ...(s.ackAtMin !== undefined && clock >= T0 + s.ackAtMin * MIN
      ? { acknowledgedAt: new Date(T0 + s.ackAtMin * MIN).toISOString() }
      : {}),
  });
  const store = {
    get: async (id: string) => {
      if (id !== 'inc-orders-1') throw new IncidentNotFoundError(id);
      return incident();
    },
    appendTimeline: async (_id: string, e: Omit<TimelineEntry, 'at'> & { at?: string }) => {
      const full = { ...e, at: e.at ?? now().toISOString() };
      timeline.push(full);
      return full;
    },
  };
  const pdCall =
    (action: string, service = 'default') =>
    async (arg: unknown): Promise<PagerDutyResult> => {
      const key = typeof arg === 'string' ? arg : (arg as { incidentId: string }).incidentId;
      if (s.pagerDutyDown) throw new PagerDutyUnavailable(5, 30_000, 'HTTP 503', 503, 'attempt limit 5 reached');
      pd.push({
        action,
        key,
        at: clock,
        service,
        level:
          typeof arg === 'object'
            ? (arg as { customDetails?: { escalationLevel?: unknown } }).customDetails?.escalationLevel
            : undefined,
      });
      return { action: action as PagerDutyResult['action'], dedupKey: key, attempts: 1, message: 'Event processed' };
    };
  const handler = makeEscalationHandler({
    ...storePieces(store),
    now,
    ...(s.escalation
      ? { policies: { get: async () => ({ policy: { escalation: s.escalation } }) } as unknown as PolicySource }
      : {}),
    notify: (n) =>
      notify(n, {
        pagerDuty: { trigger: pdCall('trigger'), acknowledge: pdCall('acknowledge'), resolve: pdCall('resolve') },
        pagerDutyFor: (secret) => ({
          trigger: pdCall('trigger', secret),
          acknowledge: pdCall('acknowledge', secret),
          resolve: pdCall('resolve', secret),
        }),
        sns: {
          send: async (cmd: { input: { TopicArn?: string; Subject?: string } }) => {
            if (s.snsDown) throw Object.assign(new Error('SNS is down'), { name: 'InternalErrorException' });
            sns.push({ ...cmd.input, at: clock });
            return { MessageId: `m-${sns.length}` };
          },
        } as never,
        sqs: {
          send: async (cmd: { input: { MessageBody?: string } }) => {
            if (s.queueDown) throw Object.assign(new Error('SQS is down'), { name: 'InternalError' });
            sqs.push({ body: cmd.input.MessageBody ?? '' });
            return { MessageId: `q-${sqs.length}` };
          },
        } as never,
        snsTopicArns: { critical: 'arn:sns:critical', warning: 'arn:sns:warning' },
        retryQueueUrl: 'https://sqs/retry',
        now,
      }),
  });
  const lambda = async (payload: Json) => {
    const out = await handler(EscalationStepSchema.parse(payload));
    // The Wait state that follows a `wait` step: time passes until the step's deadline.
    const step = (out as { step?: { action: string; until?: string } | null }).step;
    if (step?.action === 'wait' && step.until) clock = Date.parse(step.until);
    return out;
  };
  const recorded = recordCalls({
    [RESOURCES.lambdaInvoke]: lambdaInvokeBinding({ [FN]: lambda }),
    [RESOURCES.startExecutionSync2]: startExecutionSyncBinding({
      [NOTIFY_SM]: (input) =>
        runWorkflow({
          definition: notifyDefinition,
          input,
          timeScale: 0,
          bindings: {
            [RESOURCES.snsPublish]: (msg) => {
              broadcasts.push(msg);
              return { MessageId: 'b-1' };
            },
          },
        }),
    }),
  });
  const input = {
    incidentId: 'inc-orders-1',
    cluster: 'orders',
    incidentType: 'broker-failure',
    severity: s.severity ?? 'SEV-1',
    action: 'escalate',
    reasons: ['4 of 5 brokers down at once: emergency'],
    ...(s.dryRun ? { dryRun: true } : {}),
  };
  const result = await runWorkflow({ definition, input, bindings: recorded.registry, timeScale: 0 });
  const actions = timeline
    .filter((e) => e.actor === 'workflow:escalation')
    .map((e) => `${Math.round((Date.parse(e.at) - T0) / MIN)}m ${e.action}${e.result ? `=${e.result}` : ''}`);
  return { result, timeline, actions, pd, sns, sqs, broadcasts, calls: recorded.calls };
}

describe('statemachines/escalation.asl.json', () => {
  it('passes asl-validator as written and rendered, leaves no ${, binds only known resources', () => {
    const asWritten = aslValidator(JSON.parse(TEXT.replaceAll('${Partition}', 'aws')));
    expect(asWritten.errorsText('\n')).toBe('');
    const rendered = renderDefinition(TEXT, { Partition: 'aws', ...SUBS });
    expect(rendered).not.toContain('${');
    expect(aslValidator(JSON.parse(rendered)).isValid).toBe(true);
    expect(taskResources(definition)).toEqual([RESOURCES.lambdaInvoke, RESOURCES.startExecutionSync2]);
    // Title Case names; every Task and Choice says why.
    for (const [name, state] of Object.entries(definition.States)) {
      expect(name).toMatch(/^[A-Z][a-z]+( [A-Z][a-z-]*)*$/);
      if (state.Type === 'Task' || state.Type === 'Choice') expect(state.Comment, name).toBeTruthy();
    }
  });

  it('SEV-1 acknowledged in time: one page, PagerDuty acknowledge, status updates every 30 min, PagerDuty resolve', async () => {
    const r = await run({ severity: 'SEV-1', escalation: TWO_SERVICES, ackAtMin: 5, resolveAtMin: 70 });
    expect(r.result.status).toBe('SUCCEEDED');
    expect(r.pd.map((p) => `${(p.at - T0) / MIN}m ${p.action}`)).toEqual([
      '0m trigger',
      '15m acknowledge',
      '90m resolve',
    ]);
    expect(r.pd.every((p) => p.key === 'inc-orders-1')).toBe(true);
    expect(r.actions).toEqual([
      '0m escalation-started',
      '0m escalation-paged=pagerduty',
      '15m escalation-acknowledged=paging stopped',
      '15m escalation-acknowledge=pagerduty',
      '30m escalation-status-update=sns',
      '60m escalation-status-update=sns',
      '90m escalation-resolve=pagerduty',
      '90m escalation-finished=resolved',
    ]);
    // Status updates go to SNS (the critical topic for SEV-1), never page.
    expect(r.sns.map((m) => m.TopicArn)).toEqual(['arn:sns:critical', 'arn:sns:critical']);
    expect(r.broadcasts).toEqual([]);
  });

  it('SEV-2 never acknowledged: level 2 (its own service) after 30 min, ladder exhausted after 60 min, broadcast through escalation-notify', async () => {
    const r = await run({ severity: 'SEV-2', escalation: TWO_SERVICES });
    expect(r.result.status).toBe('SUCCEEDED');
    expect(r.pd.map((p) => `${(p.at - T0) / MIN}m ${p.action} L${String(p.level)} ${p.service}`)).toEqual([
      '0m trigger L1 default',
      '30m trigger L2 kafka-heal/pagerduty/sre-leads',
    ]);
    expect(r.actions.at(-1)).toBe('60m escalation-finished=ladder-exhausted');
    expect(r.broadcasts).toHaveLength(1);
    expect(r.broadcasts[0]).toMatchObject({ TopicArn: 'arn:sns:critical' });
    expect(JSON.parse((r.broadcasts[0] as { Message: string }).Message)).toMatchObject({
      incidentId: 'inc-orders-1',
      summary: expect.stringContaining('Nobody acknowledged SEV-2') as unknown,
    });
  });

  it('PagerDuty escalates by its own policy: one page, never re-triggered; status updates until resolved', async () => {
    const r = await run({ severity: 'SEV-1', resolveAtMin: 100 });
    expect(r.result.status).toBe('SUCCEEDED');
    expect(r.pd.map((p) => `${(p.at - T0) / MIN}m ${p.action}`)).toEqual(['0m trigger', '120m resolve']);
    expect(r.actions).toEqual([
      '0m escalation-started',
      '0m escalation-paged=pagerduty',
      '30m escalation-status-update=sns',
      '60m escalation-status-update=sns',
      '90m escalation-status-update=sns',
      '120m escalation-resolve=pagerduty',
      '120m escalation-finished=resolved',
    ]);
    expect(r.timeline[0]?.detail).toContain("PagerDuty's escalation policy moves the page up");
  });

  it('levels of their own: an acknowledgement stops the paging; every service paged is told', async () => {
    const r = await run({ severity: 'SEV-1', escalation: THREE_LEVELS, ackAtMin: 20, resolveAtMin: 40 });
    expect(r.result.status).toBe('SUCCEEDED');
    expect(r.pd.map((p) => `${(p.at - T0) / MIN}m ${p.action} ${p.service}`)).toEqual([
      '0m trigger default',
      '15m trigger kafka-heal/pagerduty/sre-leads',
      '30m acknowledge default',
      '30m acknowledge kafka-heal/pagerduty/sre-leads',
      '60m resolve default',
      '60m resolve kafka-heal/pagerduty/sre-leads',
    ]);
    // Level 3 (the SNS topic) is never paged: level 2 acknowledged within its window.
    expect(r.sns.map((m) => m.TopicArn)).toEqual(['arn:sns:critical']);
    expect(r.actions).toContain('30m escalation-acknowledged=paging stopped');
    expect(r.actions.at(-1)).toBe('60m escalation-finished=resolved');
  });

  it('a level with an SNS topic of its own pages through that topic', async () => {
    const topic = 'arn:aws:sns:eu-west-1:123456789012:kafka-heal-test-escalation-leads';
    const r = await run({
      severity: 'SEV-2',
      escalation: { mode: 'levels', levels: [{}, { snsTopicArn: topic }] },
      resolveAtMin: 40,
    });
    expect(r.result.status).toBe('SUCCEEDED');
    expect(r.pd.map((p) => `${(p.at - T0) / MIN}m ${p.action}`)).toEqual(['0m trigger', '60m resolve']);
    expect(r.sns.map((m) => `${(m.at - T0) / MIN}m ${m.TopicArn ?? ''}`)).toEqual([`30m ${topic}`]);
    expect(r.actions.slice(0, 3)).toEqual([
      '0m escalation-started',
      '0m escalation-paged=pagerduty',
      '30m escalation-paged=sns',
    ]);
  });

  it('PagerDuty down: the page goes to SNS instead and the timeline says why', async () => {
    const r = await run({ severity: 'SEV-1', pagerDutyDown: true, ackAtMin: 1, resolveAtMin: 10 });
    expect(r.result.status).toBe('SUCCEEDED');
    expect(r.actions.slice(0, 2)).toEqual(['0m escalation-started', '0m escalation-paged=sns']);
    const attempts = r.timeline.filter((e) => e.actor === 'notifier').slice(0, 2);
    expect(attempts.map((e) => `${e.action}=${e.result}`)).toEqual(['notify-pagerduty=failed', 'notify-sns=delivered']);
    expect(attempts[0]?.detail).toContain('PagerDutyUnavailable');
    expect(r.sns[0]?.Subject).toContain('[SEV-1] TRIGGERED');
  });

  it('PagerDuty and SNS down: the notification is parked on the retry queue, the ladder goes on', async () => {
    const r = await run({ severity: 'SEV-1', pagerDutyDown: true, snsDown: true, resolveAtMin: 10 });
    expect(r.result.status).toBe('SUCCEEDED');
    expect(r.actions[1]).toBe('0m escalation-paged=retry-queue');
    expect(r.sqs.length).toBeGreaterThanOrEqual(1);
    expect(JSON.parse(r.sqs[0]?.body ?? '{}')).toMatchObject({
      version: 1,
      notification: { incidentId: 'inc-orders-1', kind: 'trigger', level: 1 },
    });
  });

  it('everything down: NotificationLost is retried, then the execution fails loudly with every attempt on the timeline', async () => {
    const r = await run({ severity: 'SEV-1', pagerDutyDown: true, snsDown: true, queueDown: true });
    expect(r.result).toMatchObject({ status: 'FAILED', error: 'NotificationLost' });
    const tries = r.calls.filter((c) => c.stateName === 'Notify People');
    expect(tries).toHaveLength(4); // the first try and 3 retries
    expect(tries.every((c) => c.error === 'NotificationLost')).toBe(true);
    expect(r.timeline.filter((e) => e.action === 'notify-retry-queue' && e.result === 'failed')).toHaveLength(4);
  });

  it('SEV-4 does not page: one SNS notification on the warning topic, then it stops', async () => {
    const r = await run({ severity: 'SEV-4' });
    expect(r.result.status).toBe('SUCCEEDED');
    expect(r.pd).toEqual([]);
    expect(r.sns.map((m) => m.TopicArn)).toEqual(['arn:sns:warning']);
    expect(r.actions).toEqual(['0m escalation-started', '0m escalation-notify=sns', '0m escalation-finished=notified']);
  });

  it('dryRun plans the ladder and notifies nobody (zero PagerDuty, SNS, queue or broadcast calls)', async () => {
    const r = await run({ severity: 'SEV-1', dryRun: true, escalation: THREE_LEVELS });
    expect(r.result.status).toBe('SUCCEEDED');
    expect([r.pd, r.sns, r.sqs, r.broadcasts]).toEqual([[], [], [], []]);
    expect(r.calls.map((c) => c.stateName)).toEqual(['Plan Escalation']);
    expect(r.actions).toEqual(['0m escalation-planned']);
    expect(r.timeline[0]?.reasons).toEqual([
      'page level 1 through PagerDuty at once (fallback: SNS, then the retry queue)',
      'no acknowledgement within 15 min: page level 2 through PagerDuty (routing key kafka-heal/pagerduty/sre-leads)',
      'no acknowledgement within 15 min: page level 3 through SNS topic kafka-heal-test-escalation-cto',
      'no acknowledgement from level 3 within 15 min: broadcast and leave the incident escalated',
      'status update every 30 min until resolved',
      'an acknowledgement (PagerDuty, the CLI, the incident page) stops the paging',
    ]);
  });

  it('rejects input without an incident id or severity', async () => {
    const r = await runWorkflow({
      definition,
      input: { cluster: 'orders' },
      bindings: {
        [RESOURCES.lambdaInvoke]: () => {
          throw new TaskError('Unexpected', 'no call expected');
        },
        [RESOURCES.startExecutionSync2]: () => ({}),
      },
    });
    expect(r).toMatchObject({ status: 'FAILED', error: 'MalformedEventError' });
  });
});
