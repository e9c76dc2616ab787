import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { SQSClient, SendMessageCommand } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  NotificationLost,
  NotificationUndelivered,
  NOTIFY_ENV,
  notify,
  notifyDepsFromEnv,
  notifyTimelineEntries,
  parseRetryQueueMessage,
  redeliverFromQueue,
  retryQueueBody,
  snsMessage,
  snsSubject,
  snsTopicForSeverity,
} from '#shared/notify.js';
import type { IncidentNotification, NotifyDeps } from '#shared/notify.js';
import { ConfigurationError } from '#shared/errors.js';
import { PagerDutyClient, PagerDutyRejected, PagerDutyUnavailable } from '#shared/pagerduty.js';
import type { PagerDutyResult, PagerDutyTrigger } from '#shared/pagerduty.js';

const TOPICS = {
  critical: 'arn:aws:sns:eu-west-1:123456789012:kafka-heal-critical',
  warning: 'arn:aws:sns:eu-west-1:123456789012:kafka-heal-warning',
};
const QUEUE = 'https://sqs.eu-west-1.amazonaws.com/123456789012/kafka-heal-notify-retry';
const EXEC = 'arn:aws:states:eu-west-1:123456789012:execution:kafka-heal-escalation:inc-1';
const T0 = Date.parse('2026-11-22T02:00:00.000Z');

const sns = mockClient(SNSClient);
const sqs = mockClient(SQSClient);

/** A PagerDuty double that records calls and answers from a script. */
function fakePagerDuty(outcome: 'ok' | Error) {
  const calls: { action: string; arg: string | PagerDutyTrigger }[] = [];
  const answer = (action: PagerDutyResult['action'], key: string) => {
    if (outcome instanceof Error) return Promise.reject(outcome);
    return Promise.resolve({ action, dedupKey: key, attempts: 1, message: 'Event processed' });
  };
  return {
    calls,
    trigger: (t: PagerDutyTrigger) => {
      calls.push({ action: 'trigger', arg: t });
      return answer('trigger', t.incidentId);
    },
    acknowledge: (id: string) => {
      calls.push({ action: 'acknowledge', arg: id });
      return answer('acknowledge', id);
    },
    resolve: (id: string) => {
      calls.push({ action: 'resolve', arg: id });
      return answer('resolve', id);
    },
  };
}

function deps(pd: ReturnType<typeof fakePagerDuty> | undefined): NotifyDeps {
  let t = T0;
  return {
    ...(pd === undefined ? {} : { pagerDuty: pd }),
    sns: new SNSClient({}),
    sqs: new SQSClient({}),
    snsTopicArns: TOPICS,
    retryQueueUrl: QUEUE,
    now: () => new Date((t += 1000)),
  };
}

const incident: IncidentNotification = {
  incidentId: 'inc-1',
  cluster: 'orders',
  incidentType: 'broker-failure',
  severity: 'SEV-1',
  kind: 'trigger',
  summary: 'Broker 2 down, recovery failed',
  level: 1,
  executionArn: EXEC,
  details: { brokers: [2] },
};

beforeEach(() => {
  sns.reset();
  sqs.reset();
});

describe('notify fallback chain', () => {
  it('PagerDuty accepts: one attempt, no SNS, no queue', async () => {
    const pd = fakePagerDuty('ok');
    const res = await notify(incident, deps(pd));
    expect(res).toEqual({
      delivered: true,
      via: 'pagerduty',
      attempts: [
        {
          channel: 'pagerduty',
          outcome: 'delivered',
          at: '2026-11-22T02:00:01.000Z',
          detail: 'dedup_key=inc-1 requests=1',
        },
      ],
    });
    expect(pd.calls).toEqual([
      {
        action: 'trigger',
        arg: {
          incidentId: 'inc-1',
          summary: 'Broker 2 down, recovery failed',
          severity: 'SEV-1',
          source: 'kafka-heal/orders',
          component: 'orders',
          group: 'orders',
          class: 'broker-failure',
          customDetails: { brokers: [2], incidentId: 'inc-1', escalationLevel: 1 },
          executionArn: EXEC,
        },
      },
    ]);
    expect(sns.commandCalls(PublishCommand)).toHaveLength(0);
    expect(sqs.commandCalls(SendMessageCommand)).toHaveLength(0);
  });

  it('routes acknowledge and resolve to the matching PagerDuty actions', async () => {
    const pd = fakePagerDuty('ok');
    await notify({ ...incident, kind: 'acknowledge', source: 'custom' }, deps(pd));
    await notify({ ...incident, kind: 'resolve' }, deps(pd));
    expect(pd.calls).toEqual([
      { action: 'acknowledge', arg: 'inc-1' },
      { action: 'resolve', arg: 'inc-1' },
    ]);
  });

  it('PagerDuty unavailable -> SNS on the severity topic, with the PagerDuty failure in the message', async () => {
    sns.on(PublishCommand).resolves({ MessageId: 'm-1' });
    const pd = fakePagerDuty(new PagerDutyUnavailable(5, 29_000, 'HTTP 503', 503, 'attempt limit 5 reached'));
    const res = await notify(incident, deps(pd));
    expect(res.delivered).toBe(true);
    expect(res.via).toBe('sns');
    expect(res.attempts).toEqual([
      {
        channel: 'pagerduty',
        outcome: 'failed',
        at: '2026-11-22T02:00:01.000Z',
        errorName: 'PagerDutyUnavailable',
        error: expect.stringContaining('attempt limit 5 reached'),
      },
      { channel: 'sns', outcome: 'delivered', at: '2026-11-22T02:00:02.000Z', detail: 'messageId=m-1' },
    ]);
    const input = sns.commandCalls(PublishCommand)[0]?.args[0].input;
    expect(input?.TopicArn).toBe(TOPICS.critical);
    expect(input?.Subject).toBe('[SEV-1] TRIGGERED kafka-heal orders: broker-failure - Broker 2 down, recovery failed');
    expect(input?.Message).toContain(
      'PagerDuty could not take this notification: PagerDutyUnavailable: PagerDuty unavailable after 5 attempt(s)',
    );
    expect(input?.Message).toContain('Incident: inc-1');
    expect(input?.MessageAttributes?.incidentId?.StringValue).toBe('inc-1');
    expect(sqs.commandCalls(SendMessageCommand)).toHaveLength(0);
  });

  it('PagerDuty rejected (400) also falls back to SNS: a bad event must not lose the page', async () => {
    sns.on(PublishCommand).resolves({});
    const res = await notify(
      incident,
      deps(fakePagerDuty(new PagerDutyRejected(400, ['bad'], 'Event object is invalid'))),
    );
    expect(res.via).toBe('sns');
    expect(res.attempts[0]?.errorName).toBe('PagerDutyRejected');
    expect(res.attempts[1]?.detail).toBe('messageId=unknown');
  });

  it('SNS also failing -> the retry queue gets the notification and the attempts so far', async () => {
    sns.on(PublishCommand).rejects(new Error('SNS throttled'));
    sqs.on(SendMessageCommand).resolves({ MessageId: 'q-1' });
    const res = await notify(incident, deps(fakePagerDuty(new Error('down'))));
    expect(res.delivered).toBe(true);
    expect(res.via).toBe('retry-queue');
    expect(res.attempts.map((a) => [a.channel, a.outcome])).toEqual([
      ['pagerduty', 'failed'],
      ['sns', 'failed'],
      ['retry-queue', 'delivered'],
    ]);
    expect(res.attempts[1]).toMatchObject({ errorName: 'Error', error: 'SNS throttled' });
    const input = sqs.commandCalls(SendMessageCommand)[0]?.args[0].input;
    expect(input?.QueueUrl).toBe(QUEUE);
    const body = parseRetryQueueMessage(input?.MessageBody ?? '');
    expect(body.notification).toEqual(incident);
    expect(body.attempts.map((a) => a.channel)).toEqual(['pagerduty', 'sns']);
  });

  it('all three refuse -> NotificationLost carrying every attempt', async () => {
    sns.on(PublishCommand).rejects(new Error('SNS down'));
    sqs.on(SendMessageCommand).rejects('SQS down');
    const err = (await notify(incident, deps(fakePagerDuty(new Error('PD down')))).catch(
      (e: unknown) => e,
    )) as NotificationLost;
    expect(err).toBeInstanceOf(NotificationLost);
    expect(err.name).toBe('NotificationLost');
    expect(err.attempts.map((a) => a.outcome)).toEqual(['failed', 'failed', 'failed']);
    expect(err.message).toContain('pagerduty failed (PD down)');
    expect(err.message).toContain('sns failed (SNS down)');
  });

  it('records a non-Error rejection', async () => {
    sns.on(PublishCommand).resolves({ MessageId: 'm' });
    const pd = fakePagerDuty('ok');
    pd.trigger = () => Promise.reject('plain string');
    const res = await notify(incident, deps(pd));
    expect(res.attempts[0]).toMatchObject({ errorName: 'Error', error: 'plain string' });
  });

  it.each([
    [{ kind: 'status-update' as const }, 'status updates go to SNS only'],
    [{ page: false }, 'severity does not page'],
  ])('skips PagerDuty for %j', async (patch, why) => {
    sns.on(PublishCommand).resolves({ MessageId: 'm' });
    const pd = fakePagerDuty('ok');
    const res = await notify({ ...incident, ...patch }, deps(pd));
    expect(pd.calls).toEqual([]);
    expect(res.attempts[0]).toEqual({
      channel: 'pagerduty',
      outcome: 'skipped',
      at: '2026-11-22T02:00:01.000Z',
      detail: why,
    });
    expect(res.via).toBe('sns');
    expect(sns.commandCalls(PublishCommand)[0]?.args[0].input.Message).not.toContain('PagerDuty could not');
  });

  it("an escalation level's own routing key pages through that service's client, never the deployment's", async () => {
    const own = fakePagerDuty('ok');
    const dflt = fakePagerDuty('ok');
    const asked: string[] = [];
    const d: NotifyDeps = { ...deps(dflt), pagerDutyFor: (id) => (asked.push(id), own) };
    const res = await notify({ ...incident, level: 2, routingKeySecret: 'kafka-heal/pagerduty/sre-leads' }, d);
    expect(res.via).toBe('pagerduty');
    expect(asked).toEqual(['kafka-heal/pagerduty/sre-leads']);
    expect(own.calls.map((c) => c.action)).toEqual(['trigger']);
    expect(dflt.calls).toEqual([]);
    await notify({ ...incident, kind: 'resolve', routingKeySecret: 'kafka-heal/pagerduty/sre-leads' }, d);
    expect(own.calls.map((c) => c.action)).toEqual(['trigger', 'resolve']);
    // Without a client for that key the page still goes out, through SNS, and says why.
    sns.on(PublishCommand).resolves({ MessageId: 'm-2' });
    const none = await notify({ ...incident, routingKeySecret: 'kafka-heal/pagerduty/x' }, deps(dflt));
    expect(none.attempts[0]).toMatchObject({
      channel: 'pagerduty',
      outcome: 'skipped',
      detail: 'no PagerDuty client for routing key secret kafka-heal/pagerduty/x',
    });
    expect(dflt.calls).toEqual([]);
  });

  it("an escalation level's own SNS topic: the page is published there, PagerDuty skipped", async () => {
    const pd = fakePagerDuty('ok');
    sns.on(PublishCommand).resolves({ MessageId: 'm-3' });
    const topic = 'arn:aws:sns:eu-west-1:123456789012:kafka-heal-test-escalation-leads';
    const res = await notify({ ...incident, level: 2, snsTopicArn: topic }, deps(pd));
    expect(res.via).toBe('sns');
    expect(res.attempts[0]).toMatchObject({
      channel: 'pagerduty',
      outcome: 'skipped',
      detail: 'this escalation level pages through its SNS topic',
    });
    expect(pd.calls).toEqual([]);
    expect(sns.commandCalls(PublishCommand)[0]?.args[0].input.TopicArn).toBe(topic);
  });

  it('skips PagerDuty when it is not configured', async () => {
    sns.on(PublishCommand).resolves({ MessageId: 'm' });
    const res = await notify(incident, deps(undefined));
    expect(res.attempts[0]?.detail).toBe('PagerDuty is not configured');
  });

  it('uses the system clock by default', async () => {
    const pd = fakePagerDuty('ok');
    const d = deps(pd);
    delete d.now;
    const res = await notify(incident, d);
    expect(Date.parse(res.attempts[0]?.at ?? '')).toBeGreaterThan(T0 - 10 ** 12);
  });
});

describe('SNS formatting', () => {
  it('maps SEV-1/SEV-2 to the critical topic and SEV-3/SEV-4 to the warning topic', () => {
    expect(snsTopicForSeverity('SEV-1', TOPICS)).toBe(TOPICS.critical);
    expect(snsTopicForSeverity('SEV-2', TOPICS)).toBe(TOPICS.critical);
    expect(snsTopicForSeverity('SEV-3', TOPICS)).toBe(TOPICS.warning);
    expect(snsTopicForSeverity('SEV-4', TOPICS)).toBe(TOPICS.warning);
  });

  it('subjects are ASCII, single-line and at most 100 characters (edge at 100)', () => {
    const prefix = '[SEV-2] RESOLVED kafka-heal orders: broker-failure - ';
    const fits = {
      ...incident,
      severity: 'SEV-2' as const,
      kind: 'resolve' as const,
      summary: 'x'.repeat(100 - prefix.length),
    };
    expect(snsSubject(fits)).toBe(prefix + fits.summary);
    const over = { ...fits, summary: 'x'.repeat(101 - prefix.length) };
    expect(snsSubject(over)).toHaveLength(100);
    expect(snsSubject(over).endsWith('...')).toBe(true);
    expect(snsSubject({ ...incident, kind: 'acknowledge', summary: 'disk 🔥\nfull' })).toBe(
      '[SEV-1] ACKNOWLEDGED kafka-heal orders: broker-failure - disk ???full',
    );
    expect(snsSubject({ ...incident, kind: 'status-update' })).toMatch(/^\[SEV-1\] STATUS /);
  });

  it('messages carry the workflow link and details, and are bounded', () => {
    const text = snsMessage(incident, undefined);
    expect(text).toContain('Workflow: https://eu-west-1.console.aws.amazon.com/states/home');
    expect(text).toContain('Event: trigger (escalation level 1)');
    expect(text).toContain('"brokers"');
    const bare = snsMessage(
      {
        incidentId: 'i',
        cluster: 'c',
        incidentType: 'unknown',
        severity: 'SEV-4',
        kind: 'status-update',
        summary: 's',
      },
      undefined,
    );
    expect(bare).not.toContain('Workflow:');
    expect(bare).not.toContain('Details:');
    expect(bare.endsWith('Event: status-update')).toBe(true);
    const huge = snsMessage({ ...incident, details: { blob: 'y'.repeat(300_000) } }, undefined);
    expect(huge.length).toBe(200_000 + '\n[truncated]'.length);
    expect(huge.endsWith('[truncated]')).toBe(true);
  });
});

describe('retry queue redelivery', () => {
  const queued = JSON.stringify({
    version: 1,
    notification: incident,
    attempts: [{ channel: 'pagerduty', outcome: 'failed', at: '2026-11-22T01:59:00.000Z', error: 'x' }],
  });

  it('delivers through PagerDuty and returns the earlier attempts followed by the new ones', async () => {
    const res = await redeliverFromQueue(queued, deps(fakePagerDuty('ok')));
    expect(res.via).toBe('pagerduty');
    expect(res.attempts.map((a) => [a.channel, a.outcome])).toEqual([
      ['pagerduty', 'failed'],
      ['pagerduty', 'delivered'],
    ]);
  });

  it('throws NotificationUndelivered (so SQS redelivers, then the DLQ) without re-queueing', async () => {
    sns.on(PublishCommand).rejects(new Error('SNS down'));
    const err = (await redeliverFromQueue(queued, deps(fakePagerDuty(new Error('PD down')))).catch(
      (e: unknown) => e,
    )) as NotificationUndelivered;
    expect(err).toBeInstanceOf(NotificationUndelivered);
    expect(err.name).toBe('NotificationUndelivered');
    expect(err.attempts).toHaveLength(3);
    expect(err.message).toContain('sns failed (SNS down)');
    expect(sqs.commandCalls(SendMessageCommand)).toHaveLength(0);
  });

  it('rejects bodies that are not retry messages; tolerates a missing attempts list', () => {
    expect(() => parseRetryQueueMessage('{"version":2}')).toThrow('not a kafka-heal notification retry message');
    expect(() => parseRetryQueueMessage('{"version":1,"notification":null}')).toThrow(SyntaxError);
    expect(() => parseRetryQueueMessage('{"version":1,"notification":{"incidentId":1,"kind":"trigger"}}')).toThrow(
      SyntaxError,
    );
    expect(() => parseRetryQueueMessage('{"version":1,"notification":{"incidentId":"i"}}')).toThrow(SyntaxError);
    expect(parseRetryQueueMessage(JSON.stringify({ version: 1, notification: incident })).attempts).toEqual([]);
  });
});

describe('retry queue body', () => {
  it('keeps the whole notification when it fits, drops oversized details otherwise', () => {
    const small = JSON.parse(retryQueueBody(incident, [])) as { notification: IncidentNotification };
    expect(small.notification).toEqual(incident);
    const big = retryQueueBody({ ...incident, details: { blob: 'y'.repeat(250_000) } }, []);
    expect(big.length).toBeLessThan(200_000);
    const parsed = parseRetryQueueMessage(big);
    expect(parsed.notification.incidentId).toBe('inc-1');
    expect(parsed.notification.summary).toBe(incident.summary);
    expect(String(parsed.notification.details?.detailsDropped)).toMatch(
      /^details exceeded the retry queue limit \(\d+ characters\)$/,
    );
  });
});

describe('wiring from the environment', () => {
  const sm = mockClient(SecretsManagerClient);
  beforeEach(() => sm.reset());
  const env = {
    [NOTIFY_ENV.criticalTopic]: TOPICS.critical,
    [NOTIFY_ENV.warningTopic]: TOPICS.warning,
    [NOTIFY_ENV.retryQueue]: QUEUE,
  };

  it('without a routing key secret notifications start at SNS', () => {
    const d = notifyDepsFromEnv(env);
    expect(d.pagerDuty).toBeUndefined();
    expect(d.snsTopicArns).toEqual(TOPICS);
    expect(d.retryQueueUrl).toBe(QUEUE);
  });

  it('with a secret it builds the PagerDuty client (endpoint override for the local receiver)', () => {
    const d = notifyDepsFromEnv({
      ...env,
      [NOTIFY_ENV.routingKeySecret]: 'kafka-heal/pagerduty',
      [NOTIFY_ENV.eventsUrl]: 'http://127.0.0.1:9/v2/enqueue',
    });
    expect(d.pagerDuty).toBeInstanceOf(PagerDutyClient);
    expect((d.pagerDuty as PagerDutyClient).endpoint).toBe('http://127.0.0.1:9/v2/enqueue');
    const dflt = notifyDepsFromEnv({
      ...env,
      [NOTIFY_ENV.routingKeySecret]: 'kafka-heal/pagerduty',
      [NOTIFY_ENV.eventsUrl]: '',
    });
    expect((dflt.pagerDuty as PagerDutyClient).endpoint).toBe('https://events.pagerduty.com/v2/enqueue');
    // Escalation levels' own routing keys: one client per secret, reused, same endpoint.
    const level = d.pagerDutyFor?.('kafka-heal/pagerduty/sre-leads');
    expect(level).toBeInstanceOf(PagerDutyClient);
    expect((level as PagerDutyClient).endpoint).toBe('http://127.0.0.1:9/v2/enqueue');
    expect(d.pagerDutyFor?.('kafka-heal/pagerduty/sre-leads')).toBe(level);
    expect(d.pagerDutyFor?.('kafka-heal/pagerduty/other')).not.toBe(level);
  });

  it.each([NOTIFY_ENV.criticalTopic, NOTIFY_ENV.warningTopic, NOTIFY_ENV.retryQueue])(
    'a missing %s is a ConfigurationError',
    (name) => {
      expect(() => notifyDepsFromEnv({ ...env, [name]: '' })).toThrow(
        `environment variable ${name} is required for notifications`,
      );
      expect(() => notifyDepsFromEnv({ ...env, [name]: undefined })).toThrow(ConfigurationError);
    },
  );

  it('an unreadable routing key secret falls back to SNS, and the timeline says why', async () => {
    sm.on(GetSecretValueCommand).rejects(
      Object.assign(new Error('Secrets Manager can not find the specified secret.'), {
        name: 'ResourceNotFoundException',
      }),
    );
    sns.on(PublishCommand).resolves({ MessageId: 'm-9' });
    const d = notifyDepsFromEnv(
      { ...env, [NOTIFY_ENV.routingKeySecret]: 'kafka-heal/missing' },
      {
        secretsManager: new SecretsManagerClient({ region: 'eu-west-1' }),
        sns: new SNSClient({ region: 'eu-west-1' }),
        sqs: new SQSClient({ region: 'eu-west-1' }),
      },
    );
    const res = await notify(incident, d);
    expect(res.via).toBe('sns');
    expect(res.attempts[0]).toMatchObject({
      channel: 'pagerduty',
      outcome: 'failed',
      errorName: 'ResourceNotFoundException',
    });
  });
});

describe('timeline entries', () => {
  it('one entry per channel tried, errors named, in order', () => {
    expect(
      notifyTimelineEntries('trigger', [
        {
          channel: 'pagerduty',
          outcome: 'failed',
          at: 'a',
          errorName: 'PagerDutyUnavailable',
          error: 'after 5 attempt(s)',
        },
        { channel: 'sns', outcome: 'failed', at: 'b', error: 'denied' },
        { channel: 'retry-queue', outcome: 'delivered', at: 'c', detail: 'messageId=q' },
        { channel: 'pagerduty', outcome: 'skipped', at: 'd' },
      ]),
    ).toEqual([
      {
        at: 'a',
        actor: 'notifier',
        action: 'notify-pagerduty',
        result: 'failed',
        detail: 'trigger: PagerDutyUnavailable: after 5 attempt(s)',
      },
      { at: 'b', actor: 'notifier', action: 'notify-sns', result: 'failed', detail: 'trigger: Error: denied' },
      { at: 'c', actor: 'notifier', action: 'notify-retry-queue', result: 'delivered', detail: 'trigger: messageId=q' },
      { at: 'd', actor: 'notifier', action: 'notify-pagerduty', result: 'skipped', detail: 'trigger' },
    ]);
  });
});
