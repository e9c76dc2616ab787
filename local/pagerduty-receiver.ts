// A local stand-in for PagerDuty's Events API v2 (POST /v2/enqueue), so the real client code in
// functions/shared/pagerduty.ts runs over real HTTP in tests and drills. It listens on 127.0.0.1
// only, validates events the way PagerDuty documents them (400 `invalid event` with `errors`),
// answers 202 with the dedup_key, and keeps one incident per dedup_key (trigger opens, acknowledge
// acks, resolve resolves; a trigger after a resolve opens a new one).
//
// Fault mode: `setFaults(...)` queues how the next requests fail, one fault per request:
// an HTTP status (429 with Retry-After, 500/502/503), a delay longer than the client's timeout
// (the event is still processed afterwards, as a slow PagerDuty would), or a connection reset.
//
// On-call responder: with `responder`, a person acknowledges each new PagerDuty incident
// `acknowledgeAfterMs` after its trigger: the incident turns acknowledged here and a signed
// Webhooks v3 `incident.acknowledged` goes to the healer's PagerDuty webhook, as PagerDuty sends
// it when someone presses Acknowledge (each attempt is kept in `responses`).
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingMessage } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { postV3Event, v3IncidentEvent } from './pagerduty-v3.js';

export const ENQUEUE_PATH = '/v2/enqueue';
/** PagerDuty's documented request size limit. */
const MAX_BODY_BYTES = 512 * 1024;
const ACTIONS = ['trigger', 'acknowledge', 'resolve'] as const;
const SEVERITIES = ['critical', 'error', 'warning', 'info'] as const;

export type ReceiverFault =
  | { kind: 'status'; status: 429 | 500 | 502 | 503 | 504; retryAfterSeconds?: number }
  | { kind: 'delay'; ms: number }
  | { kind: 'reset' };

export interface ReceivedEvent {
  at: string;
  routingKey: string;
  action: 'trigger' | 'acknowledge' | 'resolve';
  dedupKey: string;
  body: Record<string, unknown>;
}

export interface ReceiverIncident {
  dedupKey: string;
  status: 'triggered' | 'acknowledged' | 'resolved';
  summary: string;
  severity: string;
  /** Triggers merged into this incident (re-triggers with the same dedup_key do not open a new one). */
  triggers: number;
  openedAt: string;
  acknowledgedAt?: string;
  resolvedAt?: string;
  /** PagerDuty's own incident id (P + 6 characters), as its webhooks name it. */
  pdIncidentId: string;
}

/** A webhook the responder sent: when, for which incident, and what the healer answered. */
export interface ResponderPost {
  at: string;
  dedupKey: string;
  eventType: 'incident.acknowledged';
  /** HTTP status of the healer's answer; undefined when it could not be reached. */
  status: number | undefined;
  error?: string;
}

export interface ResponderOptions {
  /** How long after a new incident's trigger the on-call person acknowledges it. */
  acknowledgeAfterMs: number;
  /** Who acknowledges (the webhook's agent). */
  name?: string;
  /** The healer's PagerDuty webhook and the subscription's signing secret (given, never logged). */
  webhook: { url: string; secret: string };
  /** Told of each webhook once the healer answered (or could not be reached). */
  onPost?: (post: ResponderPost) => void;
}

export interface ReceivedRequest {
  at: string;
  /** The fault applied, if any (`status-429`, `delay-6000`, `reset`). */
  fault: string | undefined;
  /** HTTP status answered; undefined for a reset. */
  status: number | undefined;
}

export interface PagerDutyReceiver {
  /** Full enqueue URL (http://127.0.0.1:<port>/v2/enqueue). */
  url: string;
  /** Accepted events in arrival order. */
  events: ReceivedEvent[];
  /** Incidents by dedup_key (the current one for each key; resolved ones stay until re-triggered). */
  incidents: Map<string, ReceiverIncident>;
  /** Every request received, faulted or not, in order (counts client attempts). */
  requests: ReceivedRequest[];
  /** Queue faults for the next requests, in order (appended to any still pending). */
  setFaults(...faults: ReceiverFault[]): void;
  clearFaults(): void;
  /** Faults queued but not yet used. */
  pendingFaults(): number;
  /** The responder's webhooks, in order (empty without a responder). */
  responses: ResponderPost[];
  close(): Promise<void>;
}

export interface ReceiverOptions {
  port?: number;
  now?: () => Date;
  responder?: ResponderOptions;
}

export async function start(opts: ReceiverOptions = {}): Promise<PagerDutyReceiver> {
  const now = opts.now ?? (() => new Date());
  const events: ReceivedEvent[] = [];
  const incidents = new Map<string, ReceiverIncident>();
  const requests: ReceivedRequest[] = [];
  const responses: ResponderPost[] = [];
  let faults: ReceiverFault[] = [];
  const timers = new Set<NodeJS.Timeout>();
  const sockets = new Set<Socket>();

  const server = createServer((req, res) => {
    const at = now().toISOString();
    const fault = faults.shift();
    const record: ReceivedRequest = {
      at,
      fault: fault === undefined ? undefined : faultLabel(fault),
      status: undefined,
    };
    requests.push(record);
    const answer = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      record.status = status;
      if (res.destroyed) return;
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(JSON.stringify(body));
    };

    if (fault?.kind === 'reset') {
      req.socket.destroy();
      return;
    }
    if (fault?.kind === 'status') {
      drain(req, () => {
        const headers: Record<string, string> =
          fault.retryAfterSeconds === undefined ? {} : { 'retry-after': String(fault.retryAfterSeconds) };
        answer(
          fault.status,
          fault.status === 429
            ? { status: 'throttled', message: 'Too many API calls at a time' }
            : { status: 'error', message: 'Internal server error' },
          headers,
        );
      });
      return;
    }
    readBody(req, (err, raw) => {
      const handle = () => {
        if (err !== undefined) {
          answer(413, { status: 'invalid event', message: 'Request too large', errors: [err] });
          return;
        }
        handleEnqueue(req, raw, at, answer);
      };
      if (fault?.kind === 'delay') {
        const timer = setTimeout(() => {
          timers.delete(timer);
          handle();
        }, fault.ms);
        timers.add(timer);
      } else {
        handle();
      }
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });

  function handleEnqueue(
    req: IncomingMessage,
    raw: string,
    at: string,
    answer: (status: number, body: unknown, headers?: Record<string, string>) => void,
  ): void {
    if (req.url !== ENQUEUE_PATH) {
      answer(404, { status: 'not found', message: `no route ${req.method ?? ''} ${req.url ?? ''}` });
      return;
    }
    if (req.method !== 'POST') {
      answer(405, { status: 'method not allowed', message: 'use POST' }, { allow: 'POST' });
      return;
    }
    let body: unknown;
    try {
      body = JSON.parse(raw);
    } catch {
      answer(400, { status: 'invalid event', message: 'Event object is invalid', errors: ['JSON parse error'] });
      return;
    }
    const result = validateEvent(body);
    if (!result.ok) {
      answer(400, { status: 'invalid event', message: 'Event object is invalid', errors: result.errors });
      return;
    }
    const event = result.event;
    const dedupKey = event.dedupKey ?? randomBytes(16).toString('hex');
    events.push({ at, routingKey: event.routingKey, action: event.action, dedupKey, body: event.body });
    applyToIncident(event.action, dedupKey, event.body, at);
    answer(202, { status: 'success', message: 'Event processed', dedup_key: dedupKey });
  }

  function applyToIncident(
    action: ReceivedEvent['action'],
    dedupKey: string,
    body: Record<string, unknown>,
    at: string,
  ): void {
    const current = incidents.get(dedupKey);
    if (action === 'trigger') {
      const payload = body.payload as Record<string, unknown>;
      if (current === undefined || current.status === 'resolved') {
        const opened: ReceiverIncident = {
          dedupKey,
          status: 'triggered',
          summary: String(payload.summary),
          severity: String(payload.severity),
          triggers: 1,
          openedAt: at,
          pdIncidentId: `P${randomBytes(3).toString('hex').toUpperCase()}`,
        };
        incidents.set(dedupKey, opened);
        if (opts.responder) respondTo(opened, opts.responder);
      } else {
        current.triggers += 1;
      }
      return;
    }
    // Like PagerDuty: acknowledge/resolve of an unknown or already resolved key is accepted and ignored.
    if (current === undefined || current.status === 'resolved') return;
    if (action === 'acknowledge') {
      current.status = 'acknowledged';
      current.acknowledgedAt ??= at;
    } else {
      current.status = 'resolved';
      current.resolvedAt = at;
    }
  }

  /** The on-call person acknowledges in PagerDuty: the incident here, then the webhook to the healer. */
  function respondTo(incident: ReceiverIncident, r: ResponderOptions): void {
    const timer = setTimeout(() => {
      timers.delete(timer);
      if (incident.status !== 'triggered') return;
      const at = now().toISOString();
      incident.status = 'acknowledged';
      incident.acknowledgedAt = at;
      const body = v3IncidentEvent('incident.acknowledged', {
        pdIncidentId: incident.pdIncidentId,
        incidentKey: incident.dedupKey,
        occurredAt: at,
        createdAt: incident.openedAt,
        status: 'acknowledged',
        agent: { id: 'PONCALL', summary: r.name ?? 'on-call engineer' },
        title: incident.summary,
      });
      const post: ResponderPost = {
        at,
        dedupKey: incident.dedupKey,
        eventType: 'incident.acknowledged',
        status: undefined,
      };
      responses.push(post);
      postV3Event(r.webhook.url, r.webhook.secret, body).then(
        (res) => {
          post.status = res.status;
          r.onPost?.(post);
        },
        (err: unknown) => {
          post.error = err instanceof Error ? err.message : String(err);
          r.onPost?.(post);
        },
      );
    }, r.acknowledgeAfterMs);
    timers.add(timer);
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}${ENQUEUE_PATH}`,
    events,
    incidents,
    requests,
    setFaults(...more) {
      faults = [...faults, ...more];
    },
    clearFaults() {
      faults = [];
    },
    pendingFaults: () => faults.length,
    responses,
    close() {
      for (const t of timers) clearTimeout(t);
      timers.clear();
      for (const s of sockets) s.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export const startPagerDutyReceiver = start;

type Validated =
  | {
      ok: true;
      event: {
        routingKey: string;
        action: ReceivedEvent['action'];
        dedupKey: string | undefined;
        body: Record<string, unknown>;
      };
    }
  | { ok: false; errors: string[] };

/** Validates an Events v2 body with PagerDuty's rules and error wording. */
export function validateEvent(body: unknown): Validated {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return { ok: false, errors: ['Event object must be a JSON object'] };
  }
  const b = body as Record<string, unknown>;
  const errors: string[] = [];
  if (typeof b.routing_key !== 'string') {
    errors.push("'routing_key' is missing or not a string");
  } else if (b.routing_key.length !== 32) {
    errors.push("Length of 'routing_key' is incorrect (should be 32 characters)");
  }
  const action = b.event_action;
  if (typeof action !== 'string' || !(ACTIONS as readonly string[]).includes(action)) {
    errors.push("'event_action' is invalid (must be one of: trigger, acknowledge, resolve)");
  }
  if (
    b.dedup_key !== undefined &&
    (typeof b.dedup_key !== 'string' || b.dedup_key === '' || b.dedup_key.length > 255)
  ) {
    errors.push("'dedup_key' must be a non-empty string of at most 255 characters");
  }
  if ((action === 'acknowledge' || action === 'resolve') && b.dedup_key === undefined) {
    errors.push(`'dedup_key' is required for ${action} events`);
  }
  if (action === 'trigger') {
    const payload = b.payload;
    if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) {
      errors.push("'payload' is missing or not an object");
    } else {
      const p = payload as Record<string, unknown>;
      if (typeof p.summary !== 'string' || p.summary.trim() === '') {
        errors.push("'payload.summary' is missing or blank");
      } else if (Array.from(p.summary).length > 1024) {
        errors.push("'payload.summary' is longer than 1024 characters");
      }
      if (typeof p.source !== 'string' || p.source.trim() === '') {
        errors.push("'payload.source' is missing or blank");
      }
      if (typeof p.severity !== 'string' || !(SEVERITIES as readonly string[]).includes(p.severity)) {
        errors.push("'payload.severity' is invalid (must be one of: critical, error, warning, info)");
      }
    }
  }
  if (errors.length > 0) return { ok: false, errors };
  return {
    ok: true,
    event: {
      routingKey: b.routing_key as string,
      action: action as ReceivedEvent['action'],
      dedupKey: b.dedup_key as string | undefined,
      body: b,
    },
  };
}

function faultLabel(fault: ReceiverFault): string {
  switch (fault.kind) {
    case 'status':
      return `status-${fault.status}`;
    case 'delay':
      return `delay-${fault.ms}`;
    case 'reset':
      return 'reset';
  }
}

function drain(req: IncomingMessage, done: () => void): void {
  req.on('data', () => undefined);
  req.on('end', done);
  req.on('error', () => undefined);
}

function readBody(req: IncomingMessage, done: (err: string | undefined, raw: string) => void): void {
  const chunks: Buffer[] = [];
  let size = 0;
  let tooLarge = false;
  req.on('data', (chunk: Buffer) => {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) {
      tooLarge = true;
      return;
    }
    chunks.push(chunk);
  });
  req.on('end', () =>
    done(tooLarge ? `body exceeds ${MAX_BODY_BYTES} bytes` : undefined, Buffer.concat(chunks).toString('utf8')),
  );
  req.on('error', () => undefined);
}
