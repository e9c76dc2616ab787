// PagerDuty Webhooks v3 over real HTTP: the real webhook handler behind a local API Gateway-style
// server on 127.0.0.1, the incident store on DynamoDB Local, payloads in the shapes PagerDuty
// documents (developer.pagerduty.com, "Webhooks v3 Overview": event, agent, data with
// incident_key; incident_note for annotations), signed as PagerDuty signs them (X-PagerDuty-Signature:
// v1=HMAC-SHA256 over the raw body, several during a rotation). Valid, invalid, replayed and
// unknown events; nothing unsigned is stored, nothing unknown changes an incident.
import { randomBytes, randomUUID } from 'node:crypto';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Decision, Signal } from '#domain/types.js';
import { MTTA_METRIC, publishMtta } from '#functions/lifecycle/mtta-metric.js';
import { makePagerDutyWebhookHandler, signPagerDuty } from '#functions/lifecycle/pagerduty-webhook.js';
import { LifecycleRecords } from '#functions/lifecycle/records.js';
import { documentClient } from '#shared/clients.js';
import { metrics } from '#shared/powertools.js';
import { PagerDutyClient, staticRoutingKey } from '#shared/pagerduty.js';
import { IncidentStore } from '#tools/incident-store.js';
import { startApiServer, type ApiServer } from '#local/api-server.js';
import { createIncidentTable, startDynamoDbLocal, type DynamoDbLocal } from '#local/dynamodb-local.js';
import { start as startPagerDutyReceiver } from '#local/pagerduty-receiver.js';
import { v3IncidentEvent } from '#local/pagerduty-v3.js';
import { storePieces } from '../support/store-pieces.js';

const SECRET = randomBytes(48).toString('base64');
const OLD_SECRET = randomBytes(48).toString('base64');
const tableName = 'pagerduty-webhook';
let ddb: DynamoDbLocal;
let raw: DynamoDBClient;
let store: IncidentStore;
let server: ApiServer;
let clock = new Date('2026-11-22T02:00:00.000Z');
let incidentId = '';
/** PagerDuty's own id of the incident our incident opened (one per test, as in PagerDuty). */
let pdId = '';

const decision: Decision = {
  action: 'escalate',
  incidentType: 'broker-failure',
  severity: 'SEV-2',
  page: true,
  reasons: ['flap breaker'],
};
const signal: Signal = {
  id: 'sig-b2',
  source: 'cloudwatch',
  cluster: 'orders',
  kind: 'broker-down',
  brokerIds: [2],
  state: 'firing',
  observedAt: '2026-11-22T01:59:00.000Z',
  name: 'kafka-heal-prod-orders-broker-down-b2',
  fingerprint: 'alarm:broker-down-b2',
  labels: {},
};

beforeAll(async () => {
  ddb = await startDynamoDbLocal();
  raw = ddb.client();
  await createIncidentTable(raw, tableName);
  store = new IncidentStore({ client: documentClient(raw), tableName, now: () => clock });
  const handler = makePagerDutyWebhookHandler({
    ...storePieces(store),
    records: new LifecycleRecords(documentClient(raw), tableName),
    secret: { get: () => Promise.resolve(Buffer.from(SECRET)) },
    // As the Lambda publishes it: the house metrics, one EMF line on stdout.
    recordMtta: (severity, seconds) => publishMtta(metrics, severity, seconds),
    now: () => clock,
  });
  server = await startApiServer({ routes: [{ methods: ['POST'], path: '/pagerduty', handler }], stage: '/v1' });
}, 120_000);

afterAll(async () => {
  await server?.stop();
  raw?.destroy();
  await ddb?.stop();
});

beforeEach(async () => {
  clock = new Date(clock.getTime() + 3_600_000);
  const r = await store.recordSignal({ ...signal, id: randomUUID(), observedAt: clock.toISOString() }, decision, {
    kind: 'new',
  });
  if (r.outcome !== 'created') throw new Error('expected a new incident');
  incidentId = r.incident.id;
  pdId = `P${randomBytes(4).toString('hex').toUpperCase()}`;
  await store.setStatus(incidentId, 'escalated', ['open'], { actor: 'classifier', detail: 'flap breaker' });
  await store.markPaged(incidentId, clock.toISOString());
});

const user = {
  html_url: 'https://acme.pagerduty.com/users/PLH1HKV',
  id: 'PLH1HKV',
  self: 'https://api.pagerduty.com/users/PLH1HKV',
  summary: 'Ada Lovelace',
  type: 'user_reference',
};

/** An incident event as PagerDuty v3 sends it (the documented shape, our incident id as incident_key). */
function incidentEvent(
  type: string,
  over: { status?: string; assignees?: unknown[]; occurredAt?: string; id?: string; incidentKey?: string } = {},
) {
  const e = v3IncidentEvent(type, {
    pdIncidentId: pdId,
    incidentKey: over.incidentKey ?? incidentId,
    occurredAt: over.occurredAt ?? new Date(clock.getTime() + 1000).toISOString(),
    createdAt: clock.toISOString(),
    agent: { id: user.id, summary: user.summary },
    ...(over.status === undefined ? {} : { status: over.status }),
    ...(over.id === undefined ? {} : { eventId: over.id }),
    assignees: over.assignees ?? [
      {
        html_url: 'https://acme.pagerduty.com/users/PTUXL6G',
        id: 'PTUXL6G',
        self: 'https://api.pagerduty.com/users/PTUXL6G',
        summary: 'Grace Hopper',
        type: 'user_reference',
      },
    ],
  });
  return e as { event: Record<string, unknown> & { data: Record<string, unknown> } };
}

async function post(
  body: unknown,
  signature?: string | null,
): Promise<{ status: number; json: Record<string, unknown> }> {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'x-webhook-id': randomUUID(),
    'user-agent': 'PagerDuty-Webhook/V3.0',
  };
  const sig = signature === undefined ? signPagerDuty(SECRET, text) : signature;
  if (sig !== null) headers['X-PagerDuty-Signature'] = sig;
  const res = await fetch(`${server.baseUrl}/pagerduty`, { method: 'POST', headers, body: text });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

async function rawItems(): Promise<Record<string, unknown>[]> {
  const out = await documentClient(raw).send(new ScanCommand({ TableName: tableName, ConsistentRead: true }));
  return (out.Items ?? []).filter((i) => String(i.pk).startsWith('RAW#'));
}

describe('PagerDuty webhooks v3 (real HTTP, DynamoDB Local)', () => {
  it('incident.acknowledged: our incident is acknowledged by the PagerDuty user, MTTA from the page and its metric once; PagerDuty is not told back', async () => {
    clock = new Date(clock.getTime() + 75_000);
    const lines: string[] = [];
    const spy = vi
      .spyOn(process.stdout, 'write')
      .mockImplementation((chunk: unknown) => (lines.push(String(chunk)), true));
    let r, again;
    try {
      r = await post(incidentEvent('incident.acknowledged', { status: 'acknowledged' }));
      // PagerDuty delivers the acknowledgement again (another event id): nothing changes, nothing is counted twice.
      again = await post(incidentEvent('incident.acknowledged', { status: 'acknowledged' }));
    } finally {
      spy.mockRestore();
    }
    expect(r).toEqual({ status: 202, json: { incidentId, outcome: 'acknowledged' } });
    expect(again).toEqual({ status: 202, json: { incidentId, outcome: 'already-acknowledged' } });
    const inc = await store.get(incidentId);
    expect(inc).toMatchObject({
      status: 'escalated',
      acknowledgedBy: 'pagerduty:Ada Lovelace',
      acknowledgedVia: 'pagerduty',
      mttaSeconds: 75,
      mttaFrom: 'page',
      pagerDutySynced: { acknowledged: clock.toISOString() },
    });
    expect(inc.timeline.map((e) => e.action).slice(-2)).toEqual(['acknowledged', 'acknowledge-repeated']);
    expect(inc.timeline.find((e) => e.action === 'acknowledged')).toMatchObject({
      actor: 'pagerduty:Ada Lovelace',
      result: 'via pagerduty',
    });
    const emf = lines
      .join('')
      .split('\n')
      .filter((l) => l.includes(MTTA_METRIC))
      .map((l) => JSON.parse(l) as unknown);
    expect(emf).toEqual([
      {
        _aws: {
          Timestamp: expect.any(Number),
          CloudWatchMetrics: [
            { Namespace: 'KafkaHeal', Dimensions: [['Severity']], Metrics: [{ Name: 'MttaSeconds', Unit: 'Seconds' }] },
          ],
        },
        Severity: 'SEV-2',
        MttaSeconds: 75,
      },
    ]);
  });

  it("the local receiver's on-call responder: the real PagerDuty client triggers, the responder acknowledges after its delay, the signed webhook acknowledges our incident", async () => {
    const receiver = await startPagerDutyReceiver({
      now: () => clock,
      responder: {
        acknowledgeAfterMs: 300,
        name: 'Barbara Liskov',
        webhook: { url: `${server.baseUrl}/pagerduty`, secret: SECRET },
      },
    });
    try {
      const client = new PagerDutyClient({
        routingKey: staticRoutingKey('0123456789abcdef0123456789abcdef'),
        endpoint: receiver.url,
      });
      await client.trigger({
        incidentId,
        summary: 'SEV-2 broker-failure on orders',
        source: 'kafka-heal/prod/orders',
        severity: 'SEV-2',
      });
      expect(receiver.incidents.get(incidentId)?.status).toBe('triggered');
      const deadline = Date.now() + 10_000;
      while (receiver.responses[0]?.status === undefined && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 50));
      expect(receiver.responses).toEqual([
        { at: clock.toISOString(), dedupKey: incidentId, eventType: 'incident.acknowledged', status: 202 },
      ]);
      expect(receiver.incidents.get(incidentId)).toMatchObject({
        status: 'acknowledged',
        acknowledgedAt: clock.toISOString(),
      });
      expect(await store.get(incidentId)).toMatchObject({
        acknowledgedBy: 'pagerduty:Barbara Liskov',
        acknowledgedVia: 'pagerduty',
      });
      // A re-trigger of the acknowledged incident is not acknowledged again.
      await client.trigger({ incidentId, summary: 'again', source: 'kafka-heal/prod/orders', severity: 'SEV-2' });
      await new Promise((r) => setTimeout(r, 500));
      expect(receiver.responses).toHaveLength(1);
    } finally {
      await receiver.close();
    }
  });

  it("reassigned, escalated and annotated are notes; an annotation names PagerDuty's incident only and is mapped through the earlier event", async () => {
    expect(
      (
        await post(
          incidentEvent('incident.reassigned', { assignees: [{ summary: 'Grace Hopper', type: 'user_reference' }] }),
        )
      ).json,
    ).toEqual({ incidentId, outcome: 'noted' });
    expect(
      (
        await post(
          incidentEvent('incident.escalated', { assignees: [{ summary: 'Barbara Liskov', type: 'user_reference' }] }),
        )
      ).json,
    ).toEqual({ incidentId, outcome: 'noted' });
    const note = {
      event: {
        id: randomUUID(),
        event_type: 'incident.annotated',
        resource_type: 'incident',
        occurred_at: new Date(clock.getTime() + 2000).toISOString(),
        agent: user,
        client: null,
        data: {
          incident: {
            html_url: `https://acme.pagerduty.com/incidents/${pdId}`,
            id: pdId,
            self: `https://api.pagerduty.com/incidents/${pdId}`,
            summary: 'SEV-2 broker-failure on orders',
            type: 'incident_reference',
          },
          id: 'P2LA89X',
          content: 'Disk of broker 2 replaced, restarting it',
          trimmed: false,
          type: 'incident_note',
        },
      },
    };
    expect((await post(note)).json).toEqual({ incidentId, outcome: 'noted' });
    const notes = (await store.get(incidentId)).timeline.filter((e) => e.action === 'note').map((e) => e.detail);
    expect(notes).toEqual([
      'PagerDuty reassigned it to Grace Hopper',
      'PagerDuty escalated it to Barbara Liskov',
      'PagerDuty note: Disk of broker 2 replaced, restarting it',
    ]);
  });

  it('incident.resolved: resolved from PagerDuty, the reason kept; a second resolve changes nothing', async () => {
    const body = incidentEvent('incident.resolved', { status: 'resolved' });
    body.event.data.resolve_reason = 'fixed by hand' as never;
    expect((await post(body)).json).toEqual({ incidentId, outcome: 'resolved' });
    expect(await store.get(incidentId)).toMatchObject({
      status: 'resolved',
      resolvedBy: 'pagerduty:Ada Lovelace',
      resolvedVia: 'pagerduty',
      pagerDutySynced: { resolved: clock.toISOString() },
    });
    expect((await post(incidentEvent('incident.resolved', { status: 'resolved' }))).json).toEqual({
      incidentId,
      outcome: 'already-closed',
    });
  });

  it('an invalid, missing or malformed signature is 401 and nothing is stored or changed', async () => {
    const before = (await rawItems()).length;
    const body = incidentEvent('incident.resolved');
    const text = JSON.stringify(body);
    for (const sig of [
      signPagerDuty('not the secret', text),
      null,
      'v1=abc',
      `v0=${signPagerDuty(SECRET, text).slice(3)}`,
      signPagerDuty(SECRET, `${text} `),
    ]) {
      expect((await post(text, sig)).status).toBe(401);
    }
    expect((await store.get(incidentId)).status).toBe('escalated');
    expect(await rawItems()).toHaveLength(before);
  });

  it('during a secret rotation PagerDuty sends two signatures: either one matching is enough', async () => {
    const body = JSON.stringify(incidentEvent('incident.acknowledged'));
    const r = await post(body, `${signPagerDuty(OLD_SECRET, body)},${signPagerDuty(SECRET, body)}`);
    expect(r.json).toEqual({ incidentId, outcome: 'acknowledged' });
  });

  it('replayed: the same event id again is a duplicate; an old event (outside the 30-minute window) or one from the future is stored raw, not applied', async () => {
    const body = incidentEvent('incident.acknowledged');
    expect((await post(body)).json).toMatchObject({ outcome: 'acknowledged' });
    expect((await post(body)).json).toEqual({ duplicate: body.event.id });
    const resolveOld = incidentEvent('incident.resolved', {
      occurredAt: new Date(clock.getTime() - 31 * 60_000).toISOString(),
    });
    expect((await post(resolveOld)).json).toMatchObject({
      stored: 'raw',
      reason: expect.stringMatching(/outside the replay window/),
    });
    const future = incidentEvent('incident.resolved', {
      occurredAt: new Date(clock.getTime() + 6 * 60_000).toISOString(),
    });
    expect((await post(future)).json).toMatchObject({ stored: 'raw' });
    expect((await store.get(incidentId)).status).toBe('escalated');
    expect((await rawItems()).some((i) => i.errorName === 'StaleEventError' && i.source === 'webhook:pagerduty')).toBe(
      true,
    );
  });

  it('an unknown event type, an incident not ours, and signed garbage are stored raw with the reason; never a crash, never a change', async () => {
    const before = (await rawItems()).length;
    expect((await post(incidentEvent('incident.priority_updated'))).json).toEqual({
      stored: 'raw',
      reason: 'event type incident.priority_updated is not handled',
    });
    expect((await post(incidentEvent('incident.resolved', { incidentKey: 'someone-elses-dedup-key' }))).json).toEqual({
      stored: 'raw',
      reason: 'no incident of ours',
    });
    const noKey = incidentEvent('incident.acknowledged');
    delete (noKey.event.data as Partial<typeof noKey.event.data>).incident_key;
    noKey.event.data.id = 'PNEVERSEEN';
    expect((await post(noKey)).json).toEqual({ stored: 'raw', reason: 'no incident of ours' });
    expect((await post('{"event": 42}')).json).toMatchObject({
      stored: 'raw',
      reason: 'body has no `event` object (not a PagerDuty v3 webhook)',
    });
    expect((await post('not json')).json).toMatchObject({
      stored: 'raw',
      reason: expect.stringMatching(/^body is not JSON/),
    });
    expect(
      (await post({ event: { id: 'x', event_type: 'incident.acknowledged', occurred_at: 'yesterday', data: {} } }))
        .json,
    ).toMatchObject({ reason: '`event.occurred_at` is missing or not an ISO time' });
    const stored = await rawItems();
    expect(stored.length - before).toBe(6);
    expect(stored.map((i) => i.errorName)).toEqual(
      expect.arrayContaining(['UnhandledEventType', 'UnknownIncident', 'MalformedEventError']),
    );
    const inc = await store.get(incidentId);
    expect(inc.status).toBe('escalated');
    expect(inc.acknowledgedAt).toBeUndefined();
  });

  it('a body over 256 KB is 413 before the signature is even checked', async () => {
    const big = JSON.stringify({ event: { id: 'big', padding: 'x'.repeat(300 * 1024) } });
    expect((await post(big)).status).toBe(413);
  });
});
