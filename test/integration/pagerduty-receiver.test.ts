// The real PagerDuty client against the real local Events v2 receiver over HTTP on 127.0.0.1:
// the 202 lifecycle, 400 without retry, 429 with Retry-After, 5xx until the budget runs out and
// the fallback to SNS and the retry queue, timeouts and connection resets.
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { SQSClient, SendMessageCommand } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { notify, notifyTimelineEntries, parseRetryQueueMessage } from '#shared/notify.js';
import type { IncidentNotification, NotifyDeps } from '#shared/notify.js';
import { PagerDutyClient, PagerDutyRejected, PagerDutyUnavailable, staticRoutingKey } from '#shared/pagerduty.js';
import type { PagerDutyClientOptions, RetryNotice } from '#shared/pagerduty.js';
import { start } from '#local/pagerduty-receiver.js';
import type { PagerDutyReceiver } from '#local/pagerduty-receiver.js';

const KEY = '0123456789abcdef0123456789abcdef';
const EXEC = 'arn:aws:states:eu-west-1:123456789012:execution:kafka-heal-local-escalation:inc-orders-1';
const TOPICS = {
  critical: 'arn:aws:sns:eu-west-1:123456789012:kafka-heal-critical',
  warning: 'arn:aws:sns:eu-west-1:123456789012:kafka-heal-warning',
};
const QUEUE = 'https://sqs.eu-west-1.amazonaws.com/123456789012/kafka-heal-notify-retry';

let receiver: PagerDutyReceiver;
const sns = mockClient(SNSClient);
const sqs = mockClient(SQSClient);

beforeAll(async () => {
  receiver = await start();
});
afterAll(async () => {
  await receiver.close();
});
beforeEach(() => {
  receiver.clearFaults();
  receiver.requests.length = 0;
  receiver.events.length = 0;
  receiver.incidents.clear();
  sns.reset();
  sqs.reset();
});

/** The real client with short, real waits (base 20 ms) so the file stays fast. */
function realClient(extra: Partial<PagerDutyClientOptions> = {}, notices: RetryNotice[] = []) {
  return new PagerDutyClient({
    routingKey: staticRoutingKey(KEY),
    endpoint: receiver.url,
    retry: { maxAttempts: 4, baseDelayMs: 20, maxDelayMs: 200, totalBudgetMs: 5_000, requestTimeoutMs: 1_000 },
    onRetry: (n) => notices.push(n),
    ...extra,
  });
}

const trigger = (incidentId: string) => ({
  incidentId,
  summary: 'Broker 2 on orders is down and did not rejoin ISR after restart',
  severity: 'SEV-1' as const,
  source: 'kafka-heal/local/orders',
  component: 'broker-2',
  group: 'orders',
  class: 'broker-failure',
  customDetails: { brokers: [2] },
  executionArn: EXEC,
});

describe('202: accepted events drive one incident per dedup_key', () => {
  it('trigger -> acknowledge -> resolve with one dedup_key', async () => {
    const pd = realClient();
    expect(receiver.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/v2\/enqueue$/);

    const t = await pd.trigger(trigger('inc-orders-1'));
    expect(t).toEqual({ action: 'trigger', dedupKey: 'inc-orders-1', attempts: 1, message: 'Event processed' });
    expect(receiver.incidents.get('inc-orders-1')).toMatchObject({
      status: 'triggered',
      severity: 'critical',
      triggers: 1,
    });

    await pd.acknowledge('inc-orders-1');
    expect(receiver.incidents.get('inc-orders-1')?.status).toBe('acknowledged');

    await pd.resolve('inc-orders-1');
    const incident = receiver.incidents.get('inc-orders-1');
    expect(incident?.status).toBe('resolved');
    expect(incident?.acknowledgedAt).toBeDefined();
    expect(incident?.resolvedAt).toBeDefined();

    expect(receiver.events.map((e) => [e.action, e.dedupKey])).toEqual([
      ['trigger', 'inc-orders-1'],
      ['acknowledge', 'inc-orders-1'],
      ['resolve', 'inc-orders-1'],
    ]);
    const body = receiver.events[0]?.body as {
      payload: Record<string, unknown>;
      links: { href: string }[];
      client: string;
    };
    expect(body.payload).toMatchObject({
      summary: trigger('x').summary,
      source: 'kafka-heal/local/orders',
      severity: 'critical',
      component: 'broker-2',
      group: 'orders',
      class: 'broker-failure',
      custom_details: { brokers: [2] },
    });
    expect(body.links[0]?.href).toContain(encodeURIComponent(EXEC));
    expect(body.client).toBe('kafka-heal');
    expect(receiver.requests.map((r) => r.status)).toEqual([202, 202, 202]);
  });

  it('a repeated trigger joins the open incident; a trigger after resolve opens a new one', async () => {
    const pd = realClient();
    await pd.trigger(trigger('inc-2'));
    await pd.trigger(trigger('inc-2'));
    expect(receiver.incidents.size).toBe(1);
    expect(receiver.incidents.get('inc-2')?.triggers).toBe(2);
    await pd.resolve('inc-2');
    await pd.trigger(trigger('inc-2'));
    expect(receiver.incidents.get('inc-2')).toMatchObject({ status: 'triggered', triggers: 1 });
  });

  it('sends a 5,000-character summary truncated to PagerDuty’s 1024 limit, which the receiver enforces', async () => {
    await realClient().trigger({ ...trigger('inc-long'), summary: 'z'.repeat(5000) });
    expect(Array.from(receiver.incidents.get('inc-long')?.summary ?? '')).toHaveLength(1024);
  });
});

describe('400: rejected without retry', () => {
  it('a routing key of the wrong length is rejected once with PagerDuty’s error text', async () => {
    const notices: RetryNotice[] = [];
    const err = (await realClient({ routingKey: staticRoutingKey('x'.repeat(31)) }, notices)
      .trigger(trigger('inc-3'))
      .catch((e: unknown) => e)) as PagerDutyRejected;
    expect(err).toBeInstanceOf(PagerDutyRejected);
    expect(err.status).toBe(400);
    expect(err.errors).toEqual(["Length of 'routing_key' is incorrect (should be 32 characters)"]);
    expect(err.message).not.toContain('x'.repeat(31));
    expect(receiver.requests).toHaveLength(1);
    expect(notices).toEqual([]);
    expect(receiver.incidents.size).toBe(0);
  });

  it('a blank summary is rejected with the field named', async () => {
    const err = (await realClient()
      .trigger({ ...trigger('inc-4'), summary: '  ' })
      .catch((e: unknown) => e)) as PagerDutyRejected;
    expect(err.name).toBe('PagerDutyRejected');
    expect(err.errors).toEqual(["'payload.summary' is missing or blank"]);
    expect(receiver.requests).toHaveLength(1);
  });
});

describe('429 and 5xx: retried with backoff', () => {
  it('429 with Retry-After: 1 is retried after at least one second, then succeeds', async () => {
    receiver.setFaults({ kind: 'status', status: 429, retryAfterSeconds: 1 });
    const notices: RetryNotice[] = [];
    const started = Date.now();
    const res = await realClient({}, notices).trigger(trigger('inc-5'));
    const elapsed = Date.now() - started;
    expect(res.attempts).toBe(2);
    expect(notices).toHaveLength(1);
    expect(notices[0]).toMatchObject({ attempt: 1, status: 429, retryAfterMs: 1000, delayMs: 1000 });
    expect(elapsed).toBeGreaterThanOrEqual(1000);
    expect(receiver.requests.map((r) => [r.fault, r.status])).toEqual([
      ['status-429', 429],
      [undefined, 202],
    ]);
    expect(receiver.incidents.get('inc-5')?.status).toBe('triggered');
  });

  it('429 without Retry-After uses the short exponential backoff', async () => {
    receiver.setFaults({ kind: 'status', status: 429 }, { kind: 'status', status: 429 });
    const notices: RetryNotice[] = [];
    const res = await realClient({}, notices).acknowledge('inc-6');
    expect(res.attempts).toBe(3);
    expect(notices.map((n) => n.retryAfterMs)).toEqual([undefined, undefined]);
    // base 20 ms: wait 1 in [10, 20], wait 2 in [20, 40]
    expect(notices[0]?.delayMs).toBeGreaterThanOrEqual(10);
    expect(notices[0]?.delayMs).toBeLessThanOrEqual(20);
    expect(notices[1]?.delayMs).toBeGreaterThanOrEqual(20);
    expect(notices[1]?.delayMs).toBeLessThanOrEqual(40);
  });

  it('5xx on every attempt -> PagerDutyUnavailable; notify() then pages through SNS and the timeline says why', async () => {
    receiver.setFaults(
      { kind: 'status', status: 500 },
      { kind: 'status', status: 502 },
      { kind: 'status', status: 503 },
      { kind: 'status', status: 500 },
    );
    const pd = realClient();
    const err = (await pd.trigger(trigger('inc-7')).catch((e: unknown) => e)) as PagerDutyUnavailable;
    expect(err).toBeInstanceOf(PagerDutyUnavailable);
    expect(err.attempts).toBe(4);
    expect(err.lastStatus).toBe(500);
    expect(receiver.requests.map((r) => r.status)).toEqual([500, 502, 503, 500]);
    expect(receiver.events).toHaveLength(0);

    // The same outage seen through the fallback chain.
    receiver.requests.length = 0;
    receiver.setFaults(...Array.from({ length: 4 }, () => ({ kind: 'status' as const, status: 503 as const })));
    sns.on(PublishCommand).resolves({ MessageId: 'sns-1' });
    const res = await notify(notification('inc-7'), notifyDeps(pd));
    expect(res.delivered).toBe(true);
    expect(res.via).toBe('sns');
    expect(res.attempts.map((a) => [a.channel, a.outcome, a.errorName])).toEqual([
      ['pagerduty', 'failed', 'PagerDutyUnavailable'],
      ['sns', 'delivered', undefined],
    ]);
    expect(res.attempts[0]?.error).toContain('HTTP 503');
    expect(notifyTimelineEntries('trigger', res.attempts).map((e) => [e.action, e.result])).toEqual([
      ['notify-pagerduty', 'failed'],
      ['notify-sns', 'delivered'],
    ]);
    expect(receiver.requests).toHaveLength(4);
    const publish = sns.commandCalls(PublishCommand)[0]?.args[0].input;
    expect(publish?.TopicArn).toBe(TOPICS.critical);
    expect(publish?.Message).toContain('PagerDuty could not take this notification: PagerDutyUnavailable');
    expect(sqs.commandCalls(SendMessageCommand)).toHaveLength(0);
  });

  it('PagerDuty and SNS both failing -> the notification is parked on the SQS retry queue', async () => {
    receiver.setFaults(...Array.from({ length: 4 }, () => ({ kind: 'status' as const, status: 502 as const })));
    sns.on(PublishCommand).rejects(new Error('SNS unavailable'));
    sqs.on(SendMessageCommand).resolves({ MessageId: 'sqs-1' });
    const res = await notify(notification('inc-8'), notifyDeps(realClient()));
    expect(res.via).toBe('retry-queue');
    expect(res.attempts.map((a) => [a.channel, a.outcome])).toEqual([
      ['pagerduty', 'failed'],
      ['sns', 'failed'],
      ['retry-queue', 'delivered'],
    ]);
    const queued = parseRetryQueueMessage(sqs.commandCalls(SendMessageCommand)[0]?.args[0].input.MessageBody ?? '');
    expect(queued.notification.incidentId).toBe('inc-8');
    expect(queued.attempts.map((a) => a.errorName)).toEqual(['PagerDutyUnavailable', 'Error']);
  });
});

describe('network failures: retried', () => {
  it('a response slower than the client timeout is abandoned and retried; the late event dedups', async () => {
    receiver.setFaults({ kind: 'delay', ms: 800 });
    const notices: RetryNotice[] = [];
    const res = await realClient(
      { retry: { maxAttempts: 4, baseDelayMs: 20, maxDelayMs: 200, totalBudgetMs: 5_000, requestTimeoutMs: 300 } },
      notices,
    ).trigger(trigger('inc-9'));
    expect(res.attempts).toBe(2);
    expect(notices[0]?.reason).toBe('timed out after 300 ms');
    // PagerDuty may still process the slow request: the dedup_key keeps it to one incident.
    const deadline = Date.now() + 3_000;
    while (receiver.events.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
    expect(receiver.events.map((e) => e.dedupKey)).toEqual(['inc-9', 'inc-9']);
    expect(receiver.incidents.size).toBe(1);
    expect(receiver.incidents.get('inc-9')?.triggers).toBe(2);
  });

  it('a connection reset is retried', async () => {
    receiver.setFaults({ kind: 'reset' });
    const notices: RetryNotice[] = [];
    const res = await realClient({}, notices).resolve('inc-10');
    expect(res.attempts).toBe(2);
    expect(notices[0]?.reason).toMatch(/^network error: /);
    expect(receiver.requests.map((r) => r.fault)).toEqual(['reset', undefined]);
  });

  it('a receiver that is gone (connection refused) ends in PagerDutyUnavailable', async () => {
    const gone = await start();
    const url = gone.url;
    await gone.close();
    const err = (await realClient({
      endpoint: url,
      retry: { maxAttempts: 2, baseDelayMs: 5, maxDelayMs: 5, totalBudgetMs: 2_000, requestTimeoutMs: 500 },
    })
      .trigger(trigger('inc-11'))
      .catch((e: unknown) => e)) as PagerDutyUnavailable;
    expect(err.name).toBe('PagerDutyUnavailable');
    expect(err.lastFailure).toContain('ECONNREFUSED');
  });
});

describe('receiver validation (raw HTTP)', () => {
  const post = (body: string, path = '/v2/enqueue', method = 'POST') =>
    fetch(receiver.url.replace('/v2/enqueue', path), {
      method,
      body: method === 'GET' ? undefined : body,
      headers: { 'content-type': 'application/json' },
    });

  it('answers like Events v2 for malformed and incomplete events', async () => {
    const notJson = await post('{nope');
    expect(notJson.status).toBe(400);
    expect(await notJson.json()).toEqual({
      status: 'invalid event',
      message: 'Event object is invalid',
      errors: ['JSON parse error'],
    });

    const arr = await post('[]');
    expect(await errorsOf(arr)).toEqual(['Event object must be a JSON object']);

    const bad = await post(JSON.stringify({ event_action: 'explode', dedup_key: '' }));
    expect(bad.status).toBe(400);
    expect(await errorsOf(bad)).toEqual([
      "'routing_key' is missing or not a string",
      "'event_action' is invalid (must be one of: trigger, acknowledge, resolve)",
      "'dedup_key' must be a non-empty string of at most 255 characters",
    ]);

    const ack = await post(JSON.stringify({ routing_key: KEY, event_action: 'acknowledge' }));
    expect(await errorsOf(ack)).toEqual(["'dedup_key' is required for acknowledge events"]);

    const noPayload = await post(JSON.stringify({ routing_key: KEY, event_action: 'trigger' }));
    expect(await errorsOf(noPayload)).toEqual(["'payload' is missing or not an object"]);

    const badPayload = await post(
      JSON.stringify({
        routing_key: KEY,
        event_action: 'trigger',
        payload: { summary: 's'.repeat(1025), severity: 'fatal' },
      }),
    );
    expect(await errorsOf(badPayload)).toEqual([
      "'payload.summary' is longer than 1024 characters",
      "'payload.source' is missing or blank",
      "'payload.severity' is invalid (must be one of: critical, error, warning, info)",
    ]);
    expect(receiver.events).toHaveLength(0);
  });

  it('generates a dedup_key for a trigger without one; ignores acknowledge of an unknown key', async () => {
    const res = await post(
      JSON.stringify({
        routing_key: KEY,
        event_action: 'trigger',
        payload: { summary: 's', source: 'src', severity: 'info' },
      }),
    );
    expect(res.status).toBe(202);
    const body = (await res.json()) as { status: string; message: string; dedup_key: string };
    expect(body).toMatchObject({ status: 'success', message: 'Event processed' });
    expect(body.dedup_key).toMatch(/^[0-9a-f]{32}$/);
    expect(receiver.incidents.has(body.dedup_key)).toBe(true);

    const unknown = await post(
      JSON.stringify({ routing_key: KEY, event_action: 'acknowledge', dedup_key: 'never-seen' }),
    );
    expect(unknown.status).toBe(202);
    expect(receiver.incidents.has('never-seen')).toBe(false);
  });

  it('404 for other paths, 405 for other methods, 413 for bodies over 512 KB', async () => {
    expect((await post('{}', '/v1/enqueue')).status).toBe(404);
    const get = await post('', '/v2/enqueue', 'GET');
    expect(get.status).toBe(405);
    expect(get.headers.get('allow')).toBe('POST');
    expect((await post('x'.repeat(600 * 1024))).status).toBe(413);
  });

  it('counts pending faults and clears them', () => {
    receiver.setFaults({ kind: 'reset' }, { kind: 'delay', ms: 1 });
    expect(receiver.pendingFaults()).toBe(2);
    receiver.clearFaults();
    expect(receiver.pendingFaults()).toBe(0);
  });
});

async function errorsOf(res: Response): Promise<string[]> {
  return ((await res.json()) as { errors: string[] }).errors;
}

function notification(incidentId: string): IncidentNotification {
  return {
    incidentId,
    cluster: 'orders',
    incidentType: 'broker-failure',
    severity: 'SEV-1',
    kind: 'trigger',
    summary: 'Broker 2 down',
    level: 1,
    executionArn: EXEC,
  };
}

function notifyDeps(pd: PagerDutyClient): NotifyDeps {
  return {
    pagerDuty: pd,
    sns: new SNSClient({ region: 'eu-west-1' }),
    sqs: new SQSClient({ region: 'eu-west-1' }),
    snsTopicArns: TOPICS,
    retryQueueUrl: QUEUE,
  };
}
