// PagerDuty Webhooks v3 endpoint (API Gateway proxy, POST /pagerduty; no authorizer: the
// signature is the credential, never the Alertmanager bearer token). What people do in PagerDuty
// lands on our incident:
//   incident.acknowledged  -> acknowledge (the escalation ladder pages no further level)
//   incident.resolved      -> resolve (a run still acting is stopped)
//   incident.reassigned, incident.escalated, incident.annotated -> a timeline note
// mapped to our incident by the dedup key (PagerDuty's `incident_key`, which is our incident id);
// a note event names PagerDuty's incident only, mapped through an earlier event of it.
//
// Checks, in order (PagerDuty drops a webhook answered 4xx and retries 5xx/429 for ~20 minutes):
//   body over 256 KB                      413, not stored (PagerDuty sends at most 256 KB)
//   X-PagerDuty-Signature: no `v1=<hex>` matching HMAC-SHA256(secret, raw body), compared in
//     constant time (several signatures during a rotation: any one)      401, not stored
//   signed but not JSON / not a v3 event  stored raw with the reason, 202, no incident changed
//   occurred_at outside the replay window (30 min back, 5 min ahead)     stored raw, 202
//   an event id seen before (a retry, a replay within the window)       202 "duplicate", nothing done
//   an event type not handled, an incident not ours                       stored raw, 202
// Unsigned bodies are not stored: anyone can send them, and they must not fill the table.
//
// Environment: INCIDENT_TABLE_NAME, PAGERDUTY_WEBHOOK_SECRET (Secrets Manager name or ARN of the
// subscription's signing secret).
import { createHmac, timingSafeEqual } from 'node:crypto';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SFNClient } from '@aws-sdk/client-sfn';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { documentClient, storeFromEnv } from '../shared/clients.js';
import { requireEnv } from '../shared/env.js';
import { IncidentNotFoundError } from '../shared/errors.js';
import type { RawInbox } from '../shared/store/index.js';
import { withHouseMiddleware } from '../shared/middy.js';
import { MetricUnit, logger, metrics } from '../shared/powertools.js';
import { cachedSecret, type SecretSource } from '../shared/secrets.js';
import { applyLifecycle, type LifecycleDeps, type LifecycleRequest } from './actions.js';
import { publishMtta } from './mtta-metric.js';
import { LifecycleRecords } from './records.js';

export const MAX_PAGERDUTY_WEBHOOK_BYTES = 256 * 1024;
/** PagerDuty retries a failed delivery for about 20 minutes: older events are replays. */
export const REPLAY_WINDOW_SECONDS = 30 * 60;
/** Clock skew tolerated for an event from the future. */
export const FUTURE_SKEW_SECONDS = 5 * 60;
export const HANDLED_EVENT_TYPES = [
  'incident.acknowledged',
  'incident.resolved',
  'incident.reassigned',
  'incident.escalated',
  'incident.annotated',
] as const;

/** The subscription's signing secret is missing or empty. */
export class WebhookSecretError extends Error {
  override readonly name = 'WebhookSecretError';
}

export function webhookSecretFromSecret(opts: {
  client: Pick<SecretsManagerClient, 'send'>;
  secretId: string;
}): SecretSource<Buffer> {
  return cachedSecret({
    ...opts,
    parse: (v, id) => {
      if (v === undefined || v.trim() === '') throw new WebhookSecretError(`secret ${id} has no string value`);
      return Buffer.from(v.trim(), 'utf8');
    },
  });
}

/** `v1=<hex>` signatures of a raw body under `secret`, comma-separated as PagerDuty sends them. */
export function signPagerDuty(secret: Buffer | string, body: string): string {
  return `v1=${createHmac('sha256', secret).update(body, 'utf8').digest('hex')}`;
}

/** Does any v1 signature of the header match the body? Constant-time per signature. */
export function verifyPagerDutySignature(secret: Buffer, body: string, header: string | undefined): boolean {
  if (header === undefined) return false;
  const expected = Buffer.from(signPagerDuty(secret, body).slice(3), 'hex');
  let ok = false;
  for (const part of header.split(',')) {
    const m = /^\s*v1=([0-9a-fA-F]{64})\s*$/.exec(part);
    if (!m) continue;
    const given = Buffer.from(m[1] as string, 'hex');
    // No early exit: every signature is compared.
    if (timingSafeEqual(given, expected)) ok = true;
  }
  return ok;
}

export type PagerDutyHttpEvent = Pick<APIGatewayProxyEvent, 'headers' | 'body' | 'isBase64Encoded'>;

export interface PagerDutyWebhookDeps {
  incidents: LifecycleDeps['incidents'];
  timeline: LifecycleDeps['timeline'];
  lock: LifecycleDeps['lock'];
  rawInbox: Pick<RawInbox, 'storeRaw'>;
  records: Pick<LifecycleRecords, 'claimEvent' | 'releaseEvent' | 'linkPagerDutyIncident' | 'incidentForPagerDuty'>;
  secret: SecretSource<Buffer>;
  sfn?: LifecycleDeps['sfn'];
  recordMtta?: LifecycleDeps['recordMtta'];
  now: () => Date;
}

interface PdReference {
  id?: unknown;
  summary?: unknown;
  type?: unknown;
}
interface PdEvent {
  id: string;
  event_type: string;
  occurred_at: string;
  agent?: PdReference | null;
  data: Record<string, unknown> & {
    incident_key?: unknown;
    id?: unknown;
    incident?: PdReference;
    assignees?: PdReference[];
    content?: unknown;
  };
}

function reply(statusCode: number, body: Record<string, unknown>): APIGatewayProxyResult {
  return { statusCode, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) };
}

function header(event: PagerDutyHttpEvent, name: string): string | undefined {
  const found = Object.entries(event.headers ?? {}).find(([k]) => k.toLowerCase() === name);
  return found?.[1] ?? undefined;
}

/** Text PagerDuty controls, as a timeline may show it: printable, one line, bounded. */
function clean(v: unknown, max = 120): string {
  return typeof v === 'string'
    ? v
        .replace(/[^\x20-\x7e\u00a0-\uffff]/g, ' ')
        .trim()
        .slice(0, max)
    : '';
}

/** A v3 event, or why the body is not one. */
function parseEvent(text: string): PdEvent | string {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    return `body is not JSON: ${(err as Error).message}`;
  }
  const e = (json as { event?: unknown } | null)?.event as Partial<PdEvent> | undefined;
  if (typeof e !== 'object' || e === null) return 'body has no `event` object (not a PagerDuty v3 webhook)';
  if (typeof e.id !== 'string' || e.id === '' || e.id.length > 128)
    return '`event.id` is missing or not a string of 1-128 characters';
  if (typeof e.event_type !== 'string' || !/^[a-z_.]{1,100}$/.test(e.event_type))
    return '`event.event_type` is missing or not an event type';
  if (typeof e.occurred_at !== 'string' || Number.isNaN(Date.parse(e.occurred_at)))
    return '`event.occurred_at` is missing or not an ISO time';
  if (typeof e.data !== 'object' || e.data === null || Array.isArray(e.data))
    return '`event.data` is missing or not an object';
  return e as PdEvent;
}

export function makePagerDutyWebhookHandler(deps: PagerDutyWebhookDeps) {
  const raw = async (text: string, error: string, errorName: string) => {
    await deps.rawInbox.storeRaw({
      source: 'webhook:pagerduty',
      body: text,
      error,
      errorName,
      receivedAt: deps.now().toISOString(),
    });
    metrics.addMetric('PagerDutyEventsStoredRaw', MetricUnit.Count, 1);
  };
  return async (event: PagerDutyHttpEvent): Promise<APIGatewayProxyResult> => {
    const bytes =
      event.body === null || event.body === undefined
        ? Buffer.alloc(0)
        : event.isBase64Encoded
          ? Buffer.from(event.body, 'base64')
          : Buffer.from(event.body, 'utf8');
    if (bytes.length > MAX_PAGERDUTY_WEBHOOK_BYTES)
      return reply(413, {
        message: `request body is ${bytes.length} bytes; the limit is ${MAX_PAGERDUTY_WEBHOOK_BYTES}`,
      });
    const text = bytes.toString('utf8');
    if (!verifyPagerDutySignature(await deps.secret.get(), text, header(event, 'x-pagerduty-signature'))) {
      logger.warn('PagerDuty webhook with a missing or wrong signature', { bytes: bytes.length });
      metrics.addMetric('PagerDutySignatureRejected', MetricUnit.Count, 1);
      return reply(401, { message: 'X-PagerDuty-Signature is missing or does not match' });
    }
    const e = parseEvent(text);
    if (typeof e === 'string') {
      await raw(text, e, 'MalformedEventError');
      return reply(202, { stored: 'raw', reason: e });
    }
    const now = deps.now();
    const age = (now.getTime() - Date.parse(e.occurred_at)) / 1000;
    if (age > REPLAY_WINDOW_SECONDS || age < -FUTURE_SKEW_SECONDS) {
      const why = `event ${e.id} occurred at ${e.occurred_at}, outside the replay window (${REPLAY_WINDOW_SECONDS} s back, ${FUTURE_SKEW_SECONDS} s ahead): not applied`;
      await raw(text, why, 'StaleEventError');
      return reply(202, { stored: 'raw', reason: why });
    }
    if (!(await deps.records.claimEvent('pagerduty', e.id, REPLAY_WINDOW_SECONDS + FUTURE_SKEW_SECONDS + 3600, now))) {
      return reply(202, { duplicate: e.id });
    }
    try {
      return await apply(e, text, now);
    } catch (err) {
      // Not applied: PagerDuty's retry (a 5xx) must find the event unclaimed.
      await deps.records.releaseEvent('pagerduty', e.id).catch(() => undefined);
      throw err;
    }
  };

  async function apply(e: PdEvent, text: string, now: Date): Promise<APIGatewayProxyResult> {
    const pdIncident =
      typeof e.data.id === 'string' && e.data.type === 'incident'
        ? e.data.id
        : typeof e.data.incident?.id === 'string'
          ? e.data.incident.id
          : undefined;
    let incidentId =
      typeof e.data.incident_key === 'string' && e.data.incident_key !== '' ? e.data.incident_key : undefined;
    if (incidentId !== undefined && pdIncident !== undefined)
      await deps.records.linkPagerDutyIncident(pdIncident, incidentId, now);
    incidentId ??= pdIncident === undefined ? undefined : await deps.records.incidentForPagerDuty(pdIncident);
    if (!(HANDLED_EVENT_TYPES as readonly string[]).includes(e.event_type)) {
      await raw(
        text,
        `event type ${e.event_type} is not handled (subscribe to ${HANDLED_EVENT_TYPES.join(', ')})`,
        'UnhandledEventType',
      );
      return reply(202, { stored: 'raw', reason: `event type ${e.event_type} is not handled` });
    }
    if (incidentId === undefined) {
      await raw(
        text,
        `event ${e.id} (${e.event_type}) names no incident of ours (no incident_key, PagerDuty incident ${pdIncident ?? '?'} unknown)`,
        'UnknownIncident',
      );
      return reply(202, { stored: 'raw', reason: 'no incident of ours' });
    }
    const who = clean(e.agent?.summary) || clean(e.agent?.type) || 'someone';
    const names = (refs: PdReference[] | undefined) =>
      (refs ?? [])
        .map((r) => clean(r.summary, 60))
        .filter(Boolean)
        .join(', ') || 'nobody named';
    const base = { incidentId, by: `pagerduty:${who}`, via: 'pagerduty' as const };
    const reqs: Record<(typeof HANDLED_EVENT_TYPES)[number], LifecycleRequest> = {
      'incident.acknowledged': {
        ...base,
        action: 'acknowledge',
        reason: `PagerDuty incident ${pdIncident ?? '?'} acknowledged`,
      },
      'incident.resolved': {
        ...base,
        action: 'resolve',
        reason: `PagerDuty incident ${pdIncident ?? '?'} resolved${typeof e.data.resolve_reason === 'string' ? `: ${clean(e.data.resolve_reason, 300)}` : ''}`,
      },
      'incident.reassigned': {
        ...base,
        action: 'note',
        reason: `PagerDuty reassigned it to ${names(e.data.assignees)}`,
      },
      'incident.escalated': { ...base, action: 'note', reason: `PagerDuty escalated it to ${names(e.data.assignees)}` },
      'incident.annotated': { ...base, action: 'note', reason: `PagerDuty note: ${clean(e.data.content, 1000)}` },
    };
    try {
      const r = await applyLifecycle(
        {
          incidents: deps.incidents,
          timeline: deps.timeline,
          lock: deps.lock,
          ...(deps.sfn ? { sfn: deps.sfn } : {}),
          ...(deps.recordMtta ? { recordMtta: deps.recordMtta } : {}),
          now: deps.now,
        },
        reqs[e.event_type as (typeof HANDLED_EVENT_TYPES)[number]],
      );
      metrics.addMetric('PagerDutyEventsApplied', MetricUnit.Count, 1);
      return reply(202, { incidentId, outcome: r.outcome });
    } catch (err) {
      if (!(err instanceof IncidentNotFoundError)) throw err;
      await raw(
        text,
        `event ${e.id} (${e.event_type}) names incident ${incidentId}, which does not exist here`,
        'UnknownIncident',
      );
      return reply(202, { stored: 'raw', reason: 'no incident of ours' });
    }
  }
}

let cached: ((e: PagerDutyHttpEvent) => Promise<APIGatewayProxyResult>) | undefined;

function fromEnv() {
  const store = storeFromEnv();
  return makePagerDutyWebhookHandler({
    incidents: store.incidents,
    timeline: store.timeline,
    lock: store.lock,
    rawInbox: store.rawInbox,
    records: new LifecycleRecords(documentClient(), requireEnv('INCIDENT_TABLE_NAME')),
    secret: webhookSecretFromSecret({
      client: new SecretsManagerClient({}),
      secretId: requireEnv('PAGERDUTY_WEBHOOK_SECRET'),
    }),
    sfn: new SFNClient({}),
    recordMtta: (severity, seconds) => publishMtta(metrics, severity, seconds),
    now: () => new Date(),
  });
}

export const handler = withHouseMiddleware<APIGatewayProxyEvent, APIGatewayProxyResult>(
  (event: APIGatewayProxyEvent, _context: Context) => (cached ??= fromEnv())(event),
);
