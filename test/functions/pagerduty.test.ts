import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import {
  PAGERDUTY_EVENTS_URL,
  PagerDutyClient,
  PagerDutyRejected,
  PagerDutyRoutingKeyError,
  PagerDutyUnavailable,
  backoffDelay,
  executionConsoleUrl,
  parseRetryAfter,
  routingKeyFromSecret,
  staticRoutingKey,
  truncateSummary,
} from '#shared/pagerduty.js';
import type { PagerDutyClientOptions, RetryNotice, RoutingKeySource } from '#shared/pagerduty.js';

const KEY = 'abcdefabcdefabcdefabcdefabcdef12'; // 32 chars
const EXEC = 'arn:aws:states:eu-west-1:123456789012:execution:kafka-heal-prod-escalation:inc-orders-broker-failure-1';

type Reply = { status: number; body?: unknown; headers?: Record<string, string> } | Error | 'hang';

/** A fetch double that answers from a script and records each request. */
function scriptedFetch(replies: Reply[]) {
  const calls: { url: string; body: Record<string, unknown>; signal: AbortSignal | undefined }[] = [];
  const impl = (async (url: string | URL | Request, init?: RequestInit) => {
    calls.push({
      url: String(url),
      body: JSON.parse(String(init?.body)) as Record<string, unknown>,
      signal: init?.signal ?? undefined,
    });
    const reply = replies.shift() ?? {
      status: 202,
      body: { status: 'success', message: 'Event processed', dedup_key: 'x' },
    };
    if (reply instanceof Error) throw reply;
    if (reply === 'hang') {
      return new Promise<Response>((_, reject) => {
        init?.signal?.addEventListener('abort', () => reject(init.signal?.reason));
      });
    }
    return new Response(reply.body === undefined ? '' : JSON.stringify(reply.body), {
      status: reply.status,
      headers: reply.headers,
    });
  }) as typeof fetch;
  return { impl, calls };
}

/** A fake clock whose sleep advances time instantly. */
function fakeClock(start = 1_000_000) {
  let t = start;
  const sleeps: number[] = [];
  return {
    now: () => t,
    sleep: async (ms: number) => {
      sleeps.push(ms);
      t += ms;
    },
    advance: (ms: number) => {
      t += ms;
    },
    sleeps,
  };
}

function counting(key = KEY): RoutingKeySource & { invalidations: number } {
  const src = { invalidations: 0, get: () => Promise.resolve(key), invalidate: () => void src.invalidations++ };
  return src;
}

function client(fetchImpl: typeof fetch, clock = fakeClock(), extra: Partial<PagerDutyClientOptions> = {}) {
  return new PagerDutyClient({
    routingKey: staticRoutingKey(KEY),
    fetch: fetchImpl,
    now: clock.now,
    sleep: clock.sleep,
    random: () => 0,
    retry: { maxAttempts: 5, baseDelayMs: 500, maxDelayMs: 8_000, totalBudgetMs: 30_000, requestTimeoutMs: 5_000 },
    ...extra,
  });
}

const ok = (dedup = 'inc-1'): Reply => ({
  status: 202,
  body: { status: 'success', message: 'Event processed', dedup_key: dedup },
});

const trigger = {
  incidentId: 'inc-1',
  summary: 'Broker 2 down on orders',
  severity: 'SEV-2' as const,
  source: 'kafka-heal/prod-eu/orders',
  component: 'broker-2',
  group: 'orders',
  class: 'broker-failure',
  customDetails: { brokers: [2] },
  executionArn: EXEC,
  timestamp: '2026-11-22T02:00:00.000Z',
};

describe('event bodies', () => {
  it('sends a trigger with the incident id as dedup_key, mapped severity, payload fields and an execution link', async () => {
    const f = scriptedFetch([ok()]);
    const res = await client(f.impl).trigger(trigger);
    expect(res).toEqual({ action: 'trigger', dedupKey: 'inc-1', attempts: 1, message: 'Event processed' });
    expect(f.calls).toHaveLength(1);
    expect(f.calls[0]?.url).toBe(PAGERDUTY_EVENTS_URL);
    expect(f.calls[0]?.body).toEqual({
      routing_key: KEY,
      event_action: 'trigger',
      dedup_key: 'inc-1',
      client: 'kafka-heal',
      payload: {
        summary: 'Broker 2 down on orders',
        source: 'kafka-heal/prod-eu/orders',
        severity: 'error',
        timestamp: '2026-11-22T02:00:00.000Z',
        component: 'broker-2',
        group: 'orders',
        class: 'broker-failure',
        custom_details: { brokers: [2] },
      },
      links: [{ href: executionConsoleUrl(EXEC), text: 'Step Functions execution (kafka-heal workflow)' }],
    });
  });

  it.each([
    ['SEV-1', 'critical'],
    ['SEV-2', 'error'],
    ['SEV-3', 'warning'],
    ['SEV-4', 'info'],
  ] as const)('maps %s to %s', async (sev, pd) => {
    const f = scriptedFetch([ok()]);
    await client(f.impl).trigger({ incidentId: 'i', summary: 's', source: 'src', severity: sev });
    const body = f.calls[0]?.body as { payload: Record<string, unknown>; links?: unknown };
    expect(body.payload).toEqual({ summary: 's', source: 'src', severity: pd });
    expect(body.links).toBeUndefined();
  });

  it('acknowledge and resolve carry only the routing key, action and dedup_key', async () => {
    const f = scriptedFetch([ok(), ok()]);
    const c = client(f.impl, fakeClock(), { endpoint: 'http://127.0.0.1:1/v2/enqueue', clientName: 'drill' });
    await c.acknowledge('inc-1');
    await c.resolve('inc-1');
    expect(f.calls.map((x) => x.url)).toEqual(['http://127.0.0.1:1/v2/enqueue', 'http://127.0.0.1:1/v2/enqueue']);
    expect(f.calls.map((x) => x.body)).toEqual([
      { routing_key: KEY, event_action: 'acknowledge', dedup_key: 'inc-1', client: 'drill' },
      { routing_key: KEY, event_action: 'resolve', dedup_key: 'inc-1', client: 'drill' },
    ]);
  });

  it('keeps the sent dedup_key when a 202 body has none or is not JSON', async () => {
    const f = scriptedFetch([{ status: 202, body: { status: 'success' } }, { status: 202 }]);
    const c = client(f.impl);
    expect(await c.resolve('inc-9')).toEqual({ action: 'resolve', dedupKey: 'inc-9', attempts: 1, message: undefined });
    expect((await c.resolve('inc-9')).dedupKey).toBe('inc-9');
  });

  it('truncates summaries to 1024 characters: 1024 pass unchanged, 1025 are cut', () => {
    const exact = 'a'.repeat(1024);
    expect(truncateSummary(exact)).toBe(exact);
    const over = 'b'.repeat(1025);
    const cut = truncateSummary(over);
    expect(Array.from(cut)).toHaveLength(1024);
    expect(cut.endsWith('…')).toBe(true);
  });

  it('counts code points, never splitting a surrogate pair', () => {
    const emoji = '🔥'.repeat(1025); // 2050 UTF-16 units
    const cut = truncateSummary(emoji);
    expect(Array.from(cut)).toHaveLength(1024);
    expect(cut.slice(0, -1)).toBe('🔥'.repeat(1023));
    expect(truncateSummary('🔥'.repeat(1024))).toBe('🔥'.repeat(1024));
  });

  it('sends a truncated summary in the trigger payload', async () => {
    const f = scriptedFetch([ok()]);
    await client(f.impl).trigger({ ...trigger, summary: 'x'.repeat(5000) });
    const payload = (f.calls[0]?.body as { payload: { summary: string } }).payload;
    expect(Array.from(payload.summary)).toHaveLength(1024);
  });

  it('builds the console link from the execution ARN region', () => {
    expect(executionConsoleUrl(EXEC)).toBe(
      `https://eu-west-1.console.aws.amazon.com/states/home?region=eu-west-1#/v2/executions/details/${encodeURIComponent(EXEC)}`,
    );
    expect(executionConsoleUrl('not-an-arn')).toContain('https://us-east-1.console.aws.amazon.com/');
  });
});

describe('permanent errors', () => {
  it('400: PagerDutyRejected with the response errors, one request, no wait, key cache invalidated', async () => {
    const f = scriptedFetch([
      {
        status: 400,
        body: {
          status: 'invalid event',
          message: 'Event object is invalid',
          errors: ["Length of 'routing_key' is incorrect (should be 32 characters)"],
        },
      },
    ]);
    const clock = fakeClock();
    const src = counting();
    const err = await client(f.impl, clock, { routingKey: src })
      .trigger(trigger)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PagerDutyRejected);
    const rejected = err as PagerDutyRejected;
    expect(rejected.name).toBe('PagerDutyRejected');
    expect(rejected.status).toBe(400);
    expect(rejected.errors).toEqual(["Length of 'routing_key' is incorrect (should be 32 characters)"]);
    expect(rejected.message).toContain('Event object is invalid');
    expect(rejected.message).toContain("Length of 'routing_key' is incorrect");
    expect(rejected.message).not.toContain(KEY);
    expect(f.calls).toHaveLength(1);
    expect(clock.sleeps).toEqual([]);
    expect(src.invalidations).toBe(1);
  });

  it('other 4xx (404) are not retried either; a body without errors still gives a message', async () => {
    const f = scriptedFetch([{ status: 404, body: 'nope' }]);
    const err = (await client(f.impl)
      .resolve('inc-1')
      .catch((e: unknown) => e)) as PagerDutyRejected;
    expect(err.name).toBe('PagerDutyRejected');
    expect(err.status).toBe(404);
    expect(err.errors).toEqual([]);
    expect(err.message).toBe('PagerDuty rejected the event (HTTP 404): no reason given');
    expect(f.calls).toHaveLength(1);
  });
});

describe('retries and backoff', () => {
  it('429 then 202: retries once after the backoff and reports the attempt count', async () => {
    const f = scriptedFetch([{ status: 429 }, ok()]);
    const clock = fakeClock();
    const notices: RetryNotice[] = [];
    const res = await client(f.impl, clock, { onRetry: (n) => notices.push(n) }).trigger(trigger);
    expect(res.attempts).toBe(2);
    expect(clock.sleeps).toEqual([250]); // base 500, equal jitter with random 0 -> 500/2
    expect(notices).toEqual([
      {
        action: 'trigger',
        dedupKey: 'inc-1',
        attempt: 1,
        reason: 'HTTP 429',
        status: 429,
        delayMs: 250,
        retryAfterMs: undefined,
      },
    ]);
  });

  it('doubles the backoff per attempt with equal jitter: random 0 -> d/2, random 0.5 -> 3d/4', async () => {
    const low = fakeClock();
    await client(
      scriptedFetch([{ status: 500 }, { status: 502 }, { status: 503 }, { status: 504 }, ok()]).impl,
      low,
    ).trigger(trigger);
    expect(low.sleeps).toEqual([250, 500, 1000, 2000]);

    const mid = fakeClock();
    await client(scriptedFetch([{ status: 500 }, { status: 500 }, { status: 500 }, { status: 500 }, ok()]).impl, mid, {
      random: () => 0.5,
    }).trigger(trigger);
    expect(mid.sleeps).toEqual([375, 750, 1500, 3000]);
  });

  it('caps the backoff at maxDelayMs', () => {
    const policy = { baseDelayMs: 500, maxDelayMs: 8_000 };
    expect(backoffDelay(5, policy, () => 0.999999)).toBe(8_000);
    expect(backoffDelay(6, policy, () => 0)).toBe(4_000);
    expect(backoffDelay(10, policy, () => 0.5)).toBe(6_000);
  });

  it('honours Retry-After when it is longer than the backoff', async () => {
    const f = scriptedFetch([{ status: 429, headers: { 'retry-after': '3' } }, ok()]);
    const clock = fakeClock();
    const notices: RetryNotice[] = [];
    await client(f.impl, clock, { onRetry: (n) => notices.push(n) }).trigger(trigger);
    expect(clock.sleeps).toEqual([3000]);
    expect(notices[0]?.retryAfterMs).toBe(3000);
  });

  it('uses the backoff when Retry-After is shorter', async () => {
    const f = scriptedFetch([{ status: 503, headers: { 'retry-after': '0' } }, ok()]);
    const clock = fakeClock();
    await client(f.impl, clock).trigger(trigger);
    expect(clock.sleeps).toEqual([250]);
  });

  it('accepts Retry-After as an HTTP date', async () => {
    const clock = fakeClock(Date.parse('2026-11-22T02:00:00.000Z'));
    const f = scriptedFetch([{ status: 429, headers: { 'retry-after': 'Sun, 22 Nov 2026 02:00:04 GMT' } }, ok()]);
    await client(f.impl, clock).trigger(trigger);
    expect(clock.sleeps).toEqual([4000]);
  });

  it('parses Retry-After forms', () => {
    const now = Date.parse('2026-11-22T02:00:00.000Z');
    expect(parseRetryAfter(null, now)).toBeUndefined();
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
    expect(parseRetryAfter(' 7 ', now)).toBe(7000);
    expect(parseRetryAfter('Sun, 22 Nov 2026 01:59:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter('-3', now)).toBeUndefined();
  });

  it('retries 408 like a timeout', async () => {
    const f = scriptedFetch([{ status: 408 }, ok()]);
    expect((await client(f.impl).trigger(trigger)).attempts).toBe(2);
  });

  it('retries network errors and says what failed', async () => {
    const netErr = Object.assign(new TypeError('fetch failed'), {
      cause: Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }),
    });
    const f = scriptedFetch([netErr, ok()]);
    const notices: RetryNotice[] = [];
    const res = await client(f.impl, fakeClock(), { onRetry: (n) => notices.push(n) }).acknowledge('inc-1');
    expect(res.attempts).toBe(2);
    expect(notices[0]?.reason).toBe('network error: fetch failed (ECONNRESET)');
    expect(notices[0]?.status).toBeUndefined();
  });

  it('describes a thrown non-Error value', async () => {
    const f = { impl: (() => Promise.reject('boom')) as unknown as typeof fetch };
    const err = (await client(f.impl, fakeClock(), { retry: { maxAttempts: 1 } })
      .resolve('i')
      .catch((e: unknown) => e)) as PagerDutyUnavailable;
    expect(err.lastFailure).toBe('network error: boom');
  });

  it('times out a hanging request with AbortSignal.timeout and retries', async () => {
    const f = scriptedFetch(['hang', ok()]);
    const notices: RetryNotice[] = [];
    const res = await client(f.impl, fakeClock(), {
      retry: { requestTimeoutMs: 30 },
      onRetry: (n) => notices.push(n),
    }).trigger(trigger);
    expect(res.attempts).toBe(2);
    expect(notices[0]?.reason).toBe('timed out after 30 ms');
    expect(f.calls[0]?.signal).toBeInstanceOf(AbortSignal);
    expect(f.calls[0]?.signal?.aborted).toBe(true);
  });

  it('5xx until the attempt limit: PagerDutyUnavailable with attempts, last status and failure', async () => {
    const f = scriptedFetch([
      { status: 500 },
      { status: 502 },
      { status: 503, body: { status: 'error', message: 'Service Unavailable' } },
    ]);
    const clock = fakeClock();
    const err = (await client(f.impl, clock, { retry: { maxAttempts: 3 } })
      .trigger(trigger)
      .catch((e: unknown) => e)) as PagerDutyUnavailable;
    expect(err).toBeInstanceOf(PagerDutyUnavailable);
    expect(err.name).toBe('PagerDutyUnavailable');
    expect(err.attempts).toBe(3);
    expect(err.lastStatus).toBe(503);
    expect(err.lastFailure).toBe('HTTP 503: Service Unavailable');
    expect(err.elapsedMs).toBe(750);
    expect(err.message).toContain('attempt limit 3 reached');
    expect(err.message).not.toContain(KEY);
    expect(f.calls).toHaveLength(3);
    expect(clock.sleeps).toEqual([250, 500]);
  });

  it('stops when the next wait would reach the total budget (both sides of the edge)', async () => {
    // Waits 250 (t=250) then 500 (t=750); the third wait (1000) would end at t=1750.
    const fails = () => scriptedFetch(Array.from({ length: 10 }, () => ({ status: 500 })));
    const clock = fakeClock();
    const err = (await client(fails().impl, clock, { retry: { totalBudgetMs: 1750 } })
      .trigger(trigger)
      .catch((e: unknown) => e)) as PagerDutyUnavailable;
    expect(err.attempts).toBe(3);
    expect(err.message).toContain('next wait of 1000 ms would exceed the 1750 ms budget');
    expect(clock.sleeps).toEqual([250, 500]);

    const clock2 = fakeClock();
    const err2 = (await client(fails().impl, clock2, { retry: { totalBudgetMs: 1751 } })
      .trigger(trigger)
      .catch((e: unknown) => e)) as PagerDutyUnavailable;
    expect(clock2.sleeps).toEqual([250, 500, 1000]);
    expect(err2.attempts).toBe(4);
  });

  it('a Retry-After beyond the budget gives up at once instead of waiting', async () => {
    const f = scriptedFetch([{ status: 429, headers: { 'retry-after': '120' } }]);
    const clock = fakeClock();
    const err = (await client(f.impl, clock)
      .trigger(trigger)
      .catch((e: unknown) => e)) as PagerDutyUnavailable;
    expect(err.name).toBe('PagerDutyUnavailable');
    expect(err.attempts).toBe(1);
    expect(clock.sleeps).toEqual([]);
  });

  it('caps the per-request timeout by the remaining budget', async () => {
    const clock = fakeClock();
    const seen: number[] = [];
    const impl = (async (_u: string | URL | Request, init?: RequestInit) => {
      // Record how long the signal lives by advancing the fake clock past the budget end.
      seen.push(clock.now());
      clock.advance(900);
      expect(init?.signal).toBeDefined();
      return new Response('', { status: 500 });
    }) as typeof fetch;
    const err = (await client(impl, clock, { retry: { totalBudgetMs: 1000, requestTimeoutMs: 5000 } })
      .trigger(trigger)
      .catch((e: unknown) => e)) as PagerDutyUnavailable;
    expect(err.attempts).toBe(1); // 900 elapsed + 250 wait >= 1000
    expect(seen).toHaveLength(1);
  });

  it('never passes the routing key to retry notices', async () => {
    const f = scriptedFetch([{ status: 500 }, ok()]);
    const notices: RetryNotice[] = [];
    await client(f.impl, fakeClock(), { onRetry: (n) => notices.push(n) }).trigger(trigger);
    expect(JSON.stringify(notices)).not.toContain(KEY);
  });

  it('uses real timers and Date.now by default', async () => {
    // Asserted through spies, not elapsed wall time: a 1-2 ms backoff can read as 0 ms on Date.now.
    const timers = vi.spyOn(globalThis, 'setTimeout');
    const clock = vi.spyOn(Date, 'now');
    try {
      const f = scriptedFetch([{ status: 500 }, ok()]);
      const c = new PagerDutyClient({
        routingKey: staticRoutingKey(KEY),
        fetch: f.impl,
        retry: { baseDelayMs: 2, maxDelayMs: 2 },
      });
      const res = await c.resolve('inc-1');
      expect(res.attempts).toBe(2);
      expect(clock).toHaveBeenCalled();
      // The backoff before the second attempt slept on the real timer, for the equal-jitter delay (1-2 ms).
      const delays = timers.mock.calls
        .map((call) => call[1])
        .filter((ms): ms is number => typeof ms === 'number' && ms >= 1 && ms <= 2);
      expect(delays.length).toBeGreaterThanOrEqual(1);
    } finally {
      timers.mockRestore();
      clock.mockRestore();
    }
  });
});

describe('routing key from Secrets Manager', () => {
  const sm = mockClient(SecretsManagerClient);
  beforeEach(() => sm.reset());

  it('reads a bare key once and caches it until the TTL (edge to the millisecond)', async () => {
    sm.on(GetSecretValueCommand, { SecretId: 'kafka-heal/pagerduty' }).resolves({ SecretString: `  ${KEY}\n` });
    let t = 0;
    const src = routingKeyFromSecret({
      client: new SecretsManagerClient({}),
      secretId: 'kafka-heal/pagerduty',
      ttlMs: 60_000,
      now: () => t,
    });
    await expect(src.get()).resolves.toBe(KEY);
    await expect(Promise.all([src.get(), src.get()])).resolves.toEqual([KEY, KEY]);
    t = 59_999;
    await src.get();
    expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(1);
    t = 60_000;
    await src.get();
    expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(2);
    src.invalidate();
    await src.get();
    expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(3);
  });

  it.each([{ routingKey: KEY }, { routing_key: KEY }, { integrationKey: KEY }])(
    'reads JSON secrets %j',
    async (json) => {
      sm.on(GetSecretValueCommand).resolves({ SecretString: JSON.stringify(json) });
      await expect(routingKeyFromSecret({ client: new SecretsManagerClient({}), secretId: 's' }).get()).resolves.toBe(
        KEY,
      );
    },
  );

  it('does not cache a failed read', async () => {
    sm.on(GetSecretValueCommand).rejectsOnce(new Error('throttled')).resolves({ SecretString: KEY });
    const src = routingKeyFromSecret({ client: new SecretsManagerClient({}), secretId: 's' });
    await expect(src.get()).rejects.toThrow('throttled');
    await expect(src.get()).resolves.toBe(KEY);
  });

  it.each([
    [{}, 'has no string value'],
    [{ SecretString: '   ' }, 'has no string value'],
    [{ SecretString: '{not json' }, 'does not parse'],
    [{ SecretString: '{"key": 1}' }, 'has no routingKey, routing_key or integrationKey'],
    [{ SecretString: 'short-secret-value' }, 'got 18 characters'],
  ])('rejects an unusable secret %j without echoing it', async (out, text) => {
    sm.on(GetSecretValueCommand).resolves(out);
    const err = (await routingKeyFromSecret({ client: new SecretsManagerClient({}), secretId: 's' })
      .get()
      .catch((e: unknown) => e)) as Error;
    expect(err).toBeInstanceOf(PagerDutyRoutingKeyError);
    expect(err.name).toBe('PagerDutyRoutingKeyError');
    expect(err.message).toContain(text);
    expect(err.message).not.toContain('short-secret-value');
  });

  it('the client reads the key through the source for every event', async () => {
    sm.on(GetSecretValueCommand).resolves({ SecretString: KEY });
    const f = scriptedFetch([ok()]);
    const src = routingKeyFromSecret({ client: new SecretsManagerClient({}), secretId: 's' });
    await client(f.impl, fakeClock(), { routingKey: src }).trigger(trigger);
    expect(f.calls[0]?.body.routing_key).toBe(KEY);
  });
});
