// PagerDuty Events API v2 client (trigger / acknowledge / resolve), built on Node's global fetch.
//
// Behaviour follows PagerDuty's documented "API Response Codes & Retry Logic" for
// POST https://events.pagerduty.com/v2/enqueue:
//   202          accepted                      -> success, no retry
//   400          bad request (invalid event)   -> PagerDutyRejected, no retry
//   429          too many calls                -> retry after some time (Retry-After honoured)
//   5xx          PagerDuty server error        -> retry after some time
//   network error / timeout                    -> retry after some time
// Retries use exponential backoff with "equal jitter" (half fixed, half random), bounded by an
// attempt count AND a total time budget; when either runs out the call fails with
// PagerDutyUnavailable and the caller (notify.ts) falls back to SNS. Other 4xx codes (401, 403,
// 404, 413...) are not retryable either: the same request cannot succeed later, so they are
// reported as PagerDutyRejected. 408 (request timeout) is treated like a network timeout.
//
// The dedup_key is always the incident id, so a retried trigger (or a trigger PagerDuty accepted
// although our request timed out) never opens a second PagerDuty incident.
//
// The routing key is a secret: it is read from Secrets Manager by name, cached, and never put
// into a log line, an error message or a returned value.
import { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { Severity } from '../domain/types.js';

export const PAGERDUTY_EVENTS_URL = 'https://events.pagerduty.com/v2/enqueue';

/** PagerDuty limits payload.summary to 1024 characters. */
export const SUMMARY_MAX_CHARS = 1024;

export type PagerDutyAction = 'trigger' | 'acknowledge' | 'resolve';
export type PagerDutySeverity = 'critical' | 'error' | 'warning' | 'info';

/** Our incident severities mapped onto PagerDuty's four payload severities. */
export const PAGERDUTY_SEVERITY: Readonly<Record<Severity, PagerDutySeverity>> = {
  'SEV-1': 'critical',
  'SEV-2': 'error',
  'SEV-3': 'warning',
  'SEV-4': 'info',
};

/** PagerDuty answered 400 (or another non-retryable 4xx): the event itself is wrong. Never retried. */
export class PagerDutyRejected extends Error {
  override readonly name = 'PagerDutyRejected';
  constructor(
    readonly status: number,
    readonly errors: string[],
    responseMessage: string | undefined,
  ) {
    super(
      `PagerDuty rejected the event (HTTP ${status}): ${[responseMessage, ...errors].filter((s) => s !== undefined && s !== '').join('; ') || 'no reason given'}`,
    );
  }
}

/** PagerDuty could not be reached or kept failing (429/5xx/network/timeout) past the retry budget. */
export class PagerDutyUnavailable extends Error {
  override readonly name = 'PagerDutyUnavailable';
  constructor(
    readonly attempts: number,
    readonly elapsedMs: number,
    readonly lastFailure: string,
    readonly lastStatus: number | undefined,
    why: string,
  ) {
    super(
      `PagerDuty unavailable after ${attempts} attempt(s) in ${elapsedMs} ms (${why}); last failure: ${lastFailure}`,
    );
  }
}

/** The routing key secret is missing, empty or not a 32-character Events v2 integration key. */
export class PagerDutyRoutingKeyError extends Error {
  override readonly name = 'PagerDutyRoutingKeyError';
}

// ---------------------------------------------------------------------------------------------
// Routing key

export interface RoutingKeySource {
  get(): Promise<string>;
  /** Forget the cached key (after PagerDuty rejected it, so a rotated secret is picked up). */
  invalidate(): void;
}

export function staticRoutingKey(key: string): RoutingKeySource {
  return { get: () => Promise.resolve(key), invalidate: () => undefined };
}

/**
 * Reads the routing key from a Secrets Manager secret (by name or ARN) and caches it for `ttlMs`
 * (default 5 minutes, so a rotation is picked up without a deploy). The secret may hold the bare
 * key or JSON with `routingKey`, `routing_key` or `integrationKey`. Concurrent callers share one
 * request.
 */
export function routingKeyFromSecret(opts: {
  client: Pick<SecretsManagerClient, 'send'>;
  secretId: string;
  ttlMs?: number;
  now?: () => number;
}): RoutingKeySource {
  const ttlMs = opts.ttlMs ?? 5 * 60_000;
  const now = opts.now ?? Date.now;
  let cached: { value: Promise<string>; at: number } | undefined;
  return {
    get() {
      if (cached === undefined || now() - cached.at >= ttlMs) {
        const value = readRoutingKey(opts.client, opts.secretId);
        const entry = { value, at: now() };
        cached = entry;
        // A failed read must not be cached.
        value.catch(() => {
          if (cached === entry) cached = undefined;
        });
      }
      return cached.value;
    },
    invalidate() {
      cached = undefined;
    },
  };
}

async function readRoutingKey(client: Pick<SecretsManagerClient, 'send'>, secretId: string): Promise<string> {
  const out = await client.send(new GetSecretValueCommand({ SecretId: secretId }));
  const raw = out.SecretString?.trim();
  if (raw === undefined || raw === '') {
    throw new PagerDutyRoutingKeyError(`secret ${secretId} has no string value`);
  }
  let key = raw;
  if (raw.startsWith('{')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw);
    } catch {
      throw new PagerDutyRoutingKeyError(`secret ${secretId} looks like JSON but does not parse`);
    }
    const obj = parsed as Record<string, unknown>;
    const found = [obj.routingKey, obj.routing_key, obj.integrationKey].find((v) => typeof v === 'string');
    if (typeof found !== 'string') {
      throw new PagerDutyRoutingKeyError(
        `secret ${secretId} JSON has no routingKey, routing_key or integrationKey string`,
      );
    }
    key = found.trim();
  }
  if (key.length !== 32) {
    // Say the length, never the value.
    throw new PagerDutyRoutingKeyError(
      `secret ${secretId} does not hold a 32-character Events v2 routing key (got ${key.length} characters)`,
    );
  }
  return key;
}

// ---------------------------------------------------------------------------------------------
// Events

export interface PagerDutyTrigger {
  /** Becomes the dedup_key: one PagerDuty alert per healer incident. */
  incidentId: string;
  summary: string;
  severity: Severity;
  /** The affected system, e.g. `kafka-heal/prod-eu/orders` or a broker host. */
  source: string;
  component?: string;
  group?: string;
  class?: string;
  customDetails?: Record<string, unknown>;
  /** The Step Functions execution handling the incident; linked from the alert. */
  executionArn?: string;
  /** When the problem was detected (ISO 8601). */
  timestamp?: string;
}

export interface PagerDutyLink {
  href: string;
  text: string;
}

export interface PagerDutyEventBody {
  routing_key: string;
  event_action: PagerDutyAction;
  dedup_key: string;
  client?: string;
  client_url?: string;
  links?: PagerDutyLink[];
  payload?: {
    summary: string;
    source: string;
    severity: PagerDutySeverity;
    timestamp?: string;
    component?: string;
    group?: string;
    class?: string;
    custom_details?: Record<string, unknown>;
  };
}

export interface PagerDutyResult {
  action: PagerDutyAction;
  dedupKey: string;
  /** HTTP requests made, including the successful one. */
  attempts: number;
  message: string | undefined;
}

/** Cuts a summary to PagerDuty's limit on code points (never splitting a surrogate pair). */
export function truncateSummary(summary: string, max = SUMMARY_MAX_CHARS): string {
  const chars = Array.from(summary);
  if (chars.length <= max) return summary;
  return chars.slice(0, max - 1).join('') + '…';
}

/**
 * Console link for a Step Functions execution ARN
 * (`arn:<partition>:states:<region>:<account>:execution:<machine>:<name>`).
 */
export function executionConsoleUrl(executionArn: string): string {
  const region = executionArn.split(':')[3] || 'us-east-1';
  return `https://${region}.console.aws.amazon.com/states/home?region=${region}#/v2/executions/details/${encodeURIComponent(executionArn)}`;
}

function links(executionArn: string | undefined): PagerDutyLink[] | undefined {
  if (executionArn === undefined) return undefined;
  return [{ href: executionConsoleUrl(executionArn), text: 'Step Functions execution (kafka-heal workflow)' }];
}

// ---------------------------------------------------------------------------------------------
// Client

export interface RetryPolicy {
  /** Total HTTP requests per event, the first included. */
  maxAttempts: number;
  /** Backoff before retry n is drawn from [d/2, d] with d = min(maxDelayMs, baseDelayMs * 2^(n-1)). */
  baseDelayMs: number;
  maxDelayMs: number;
  /** No retry is started whose wait would end past this budget (measured from the first request). */
  totalBudgetMs: number;
  /** Per-request timeout (AbortSignal.timeout); also capped by the remaining budget. */
  requestTimeoutMs: number;
}

export const DEFAULT_RETRY: Readonly<RetryPolicy> = {
  maxAttempts: 5,
  baseDelayMs: 500,
  maxDelayMs: 8_000,
  totalBudgetMs: 30_000,
  requestTimeoutMs: 5_000,
};

export interface RetryNotice {
  action: PagerDutyAction;
  dedupKey: string;
  /** The attempt that failed (1-based). */
  attempt: number;
  reason: string;
  status: number | undefined;
  /** How long the client waits before the next attempt. */
  delayMs: number;
  retryAfterMs: number | undefined;
}

export interface PagerDutyClientOptions {
  routingKey: RoutingKeySource;
  /** Default: PagerDuty's public endpoint. Locally: the receiver in local/pagerduty-receiver.ts. */
  endpoint?: string;
  retry?: Partial<RetryPolicy>;
  fetch?: typeof fetch;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
  /** Returns [0, 1); drives the jitter. */
  random?: () => number;
  /** Called before each backoff wait (logging, metrics, tests). Never receives the routing key. */
  onRetry?: (notice: RetryNotice) => void;
  clientName?: string;
}

/** Backoff before the retry that follows failed attempt `attempt` (1-based), equal jitter. */
export function backoffDelay(
  attempt: number,
  policy: Pick<RetryPolicy, 'baseDelayMs' | 'maxDelayMs'>,
  random: () => number,
): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

/**
 * Parses a Retry-After header: delta-seconds or an HTTP date (relative to `nowMs`).
 * Returns milliseconds (>= 0) or undefined when absent or unparseable.
 */
export function parseRetryAfter(value: string | null | undefined, nowMs: number): number | undefined {
  if (value === null || value === undefined) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  // HTTP dates always name a day or month; this keeps numbers like "-3" from parsing as years.
  const date = /[A-Za-z]/.test(text) ? Date.parse(text) : Number.NaN;
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - nowMs);
}

type AttemptOutcome =
  | { kind: 'success'; dedupKey: string; message: string | undefined }
  | { kind: 'retry'; reason: string; status: number | undefined; retryAfterMs: number | undefined };

export class PagerDutyClient {
  readonly endpoint: string;
  private readonly retry: RetryPolicy;
  private readonly fetchImpl: typeof fetch;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly now: () => number;
  private readonly random: () => number;

  constructor(private readonly opts: PagerDutyClientOptions) {
    this.endpoint = opts.endpoint ?? PAGERDUTY_EVENTS_URL;
    this.retry = { ...DEFAULT_RETRY, ...opts.retry };
    this.fetchImpl = opts.fetch ?? globalThis.fetch;
    this.sleep = opts.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.now = opts.now ?? Date.now;
    this.random = opts.random ?? Math.random;
  }

  /** Opens (or re-notifies) the PagerDuty alert for an incident. */
  trigger(event: PagerDutyTrigger): Promise<PagerDutyResult> {
    const payload: NonNullable<PagerDutyEventBody['payload']> = {
      summary: truncateSummary(event.summary),
      source: event.source,
      severity: PAGERDUTY_SEVERITY[event.severity],
    };
    if (event.timestamp !== undefined) payload.timestamp = event.timestamp;
    if (event.component !== undefined) payload.component = event.component;
    if (event.group !== undefined) payload.group = event.group;
    if (event.class !== undefined) payload.class = event.class;
    if (event.customDetails !== undefined) payload.custom_details = event.customDetails;
    return this.send('trigger', event.incidentId, { payload, links: links(event.executionArn) });
  }

  acknowledge(incidentId: string): Promise<PagerDutyResult> {
    return this.send('acknowledge', incidentId, {});
  }

  resolve(incidentId: string): Promise<PagerDutyResult> {
    return this.send('resolve', incidentId, {});
  }

  private async send(
    action: PagerDutyAction,
    dedupKey: string,
    extra: Pick<PagerDutyEventBody, 'payload' | 'links'>,
  ): Promise<PagerDutyResult> {
    const routingKey = await this.opts.routingKey.get();
    const body: PagerDutyEventBody = {
      routing_key: routingKey,
      event_action: action,
      dedup_key: dedupKey,
      client: this.opts.clientName ?? 'kafka-heal',
    };
    if (extra.payload !== undefined) body.payload = extra.payload;
    if (extra.links !== undefined) body.links = extra.links;
    const json = JSON.stringify(body);

    const started = this.now();
    for (let attempt = 1; ; attempt++) {
      const remaining = this.retry.totalBudgetMs - (this.now() - started);
      const timeoutMs = Math.max(1, Math.min(this.retry.requestTimeoutMs, remaining));
      let outcome: AttemptOutcome;
      try {
        outcome = await this.attempt(json, dedupKey, timeoutMs);
      } catch (err) {
        if (err instanceof PagerDutyRejected) {
          // A rotated or fixed key is picked up by the next call.
          this.opts.routingKey.invalidate();
          throw err;
        }
        outcome = {
          kind: 'retry',
          reason: describeNetworkError(err, timeoutMs),
          status: undefined,
          retryAfterMs: undefined,
        };
      }
      if (outcome.kind === 'success') {
        return { action, dedupKey: outcome.dedupKey, attempts: attempt, message: outcome.message };
      }
      const elapsed = this.now() - started;
      if (attempt >= this.retry.maxAttempts) {
        throw new PagerDutyUnavailable(
          attempt,
          elapsed,
          outcome.reason,
          outcome.status,
          `attempt limit ${this.retry.maxAttempts} reached`,
        );
      }
      const delayMs = Math.max(backoffDelay(attempt, this.retry, this.random), outcome.retryAfterMs ?? 0);
      if (elapsed + delayMs >= this.retry.totalBudgetMs) {
        throw new PagerDutyUnavailable(
          attempt,
          elapsed,
          outcome.reason,
          outcome.status,
          `next wait of ${delayMs} ms would exceed the ${this.retry.totalBudgetMs} ms budget`,
        );
      }
      this.opts.onRetry?.({
        action,
        dedupKey,
        attempt,
        reason: outcome.reason,
        status: outcome.status,
        delayMs,
        retryAfterMs: outcome.retryAfterMs,
      });
      await this.sleep(delayMs);
    }
  }

  private async attempt(json: string, dedupKey: string, timeoutMs: number): Promise<AttemptOutcome> {
    const res = await this.fetchImpl(this.endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: json,
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await res.text();
    const parsed = parseJsonObject(text);
    if (res.status === 202) {
      const key = typeof parsed?.dedup_key === 'string' && parsed.dedup_key !== '' ? parsed.dedup_key : dedupKey;
      return {
        kind: 'success',
        dedupKey: key,
        message: typeof parsed?.message === 'string' ? parsed.message : undefined,
      };
    }
    if (res.status === 429 || res.status === 408 || res.status >= 500) {
      const detail = typeof parsed?.message === 'string' ? `: ${parsed.message}` : '';
      return {
        kind: 'retry',
        reason: `HTTP ${res.status}${detail}`,
        status: res.status,
        retryAfterMs: parseRetryAfter(res.headers.get('retry-after'), this.now()),
      };
    }
    const errors = Array.isArray(parsed?.errors) ? parsed.errors.filter((e): e is string => typeof e === 'string') : [];
    throw new PagerDutyRejected(res.status, errors, typeof parsed?.message === 'string' ? parsed.message : undefined);
  }
}

function parseJsonObject(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

function describeNetworkError(err: unknown, timeoutMs: number): string {
  if (err instanceof Error) {
    if (err.name === 'TimeoutError' || err.name === 'AbortError') return `timed out after ${timeoutMs} ms`;
    const cause = (err as { cause?: unknown }).cause;
    const code = typeof cause === 'object' && cause !== null ? (cause as { code?: unknown }).code : undefined;
    return `network error: ${err.message}${typeof code === 'string' ? ` (${code})` : ''}`;
  }
  return `network error: ${String(err)}`;
}
