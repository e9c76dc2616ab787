// The incident page end to end: the real endpoint handler behind a local API Gateway-style server,
// the incident store on DynamoDB Local, PagerDuty the local Events v2 receiver, and headless
// Chromium opening the acknowledge and resolve links as a person would from a page. A link
// grants one action, once, until it expires; its page carries no other signature; a tampered or
// expired link decides nothing; GET never acts.
import { randomBytes } from 'node:crypto';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { staticSigningKey } from '#functions/approvals/links.js';
import type { Decision, Signal } from '#domain/types.js';
import { makeIncidentEndpoint } from '#functions/lifecycle/incident-endpoint.js';
import { incidentLinks } from '#functions/lifecycle/links.js';
import { LifecycleRecords } from '#functions/lifecycle/records.js';
import { documentClient } from '#shared/clients.js';
import { IncidentStore } from '#tools/incident-store.js';
import { notify } from '#shared/notify.js';
import { PagerDutyClient, staticRoutingKey } from '#shared/pagerduty.js';
import { startApiServer, type ApiServer } from '#local/api-server.js';
import { createIncidentTable, startDynamoDbLocal, type DynamoDbLocal } from '#local/dynamodb-local.js';
import { start as startReceiver, type PagerDutyReceiver } from '#local/pagerduty-receiver.js';
import { launchChromium } from '../support/chromium.js';
import { storePieces } from '../support/store-pieces.js';

const tableName = 'incident-page';
const KEY = randomBytes(32);
let ddb: DynamoDbLocal;
let raw: DynamoDBClient;
let store: IncidentStore;
let receiver: PagerDutyReceiver;
let server: ApiServer;
let browser: Browser;
let clockOffsetMs = 0;
const now = () => new Date(Date.now() + clockOffsetMs);
let n = 0;

const decision: Decision = {
  action: 'escalate',
  incidentType: 'broker-failure',
  severity: 'SEV-2',
  page: true,
  reasons: ['Flap breaker: 2 heals of broker 2 within 120 s'],
};

/** An escalated broker incident, paged through the receiver (as the ladder pages). */
async function escalatedIncident(): Promise<string> {
  const s: Signal = {
    id: `sig-${++n}`,
    source: 'cloudwatch',
    cluster: 'orders',
    kind: 'broker-down',
    brokerIds: [2],
    state: 'firing',
    observedAt: new Date().toISOString(),
    name: 'kafka-heal-local-orders-broker-down-b2',
    fingerprint: `alarm:b2-${n}`,
    labels: {},
  };
  const r = await store.recordSignal(s, decision, { kind: 'new' });
  if (r.outcome !== 'created') throw new Error('expected a new incident');
  await store.setStatus(r.incident.id, 'escalated', ['open'], { actor: 'classifier', detail: 'flap breaker' });
  await fetch(receiver.url, {
    method: 'POST',
    body: JSON.stringify({
      routing_key: 'x'.repeat(32),
      event_action: 'trigger',
      dedup_key: r.incident.id,
      payload: { summary: 'broker 2', source: 'kafka-heal/orders', severity: 'error' },
    }),
  });
  await store.markPaged(r.incident.id, new Date().toISOString());
  return r.incident.id;
}

beforeAll(async () => {
  ddb = await startDynamoDbLocal();
  raw = ddb.client();
  await createIncidentTable(raw, tableName);
  store = new IncidentStore({ client: documentClient(raw), tableName });
  receiver = await startReceiver();
  const pagerDuty = new PagerDutyClient({
    routingKey: staticRoutingKey('0123456789abcdef0123456789abcdef'),
    endpoint: receiver.url,
  });
  const unused = { send: () => Promise.reject(new Error('PagerDuty takes it; SNS and SQS are not used here')) };
  const endpoint = makeIncidentEndpoint({
    ...storePieces(store),
    records: new LifecycleRecords(documentClient(raw), tableName),
    signingKey: staticSigningKey(KEY),
    notify: (x) =>
      notify(x, {
        pagerDuty,
        sns: unused,
        sqs: unused,
        snsTopicArns: { critical: 'c', warning: 'w' },
        retryQueueUrl: 'q',
      }),
    now,
  });
  server = await startApiServer({
    routes: [{ methods: ['GET', 'POST'], path: '/incidents/{incidentId}', handler: endpoint }],
    stage: '/v1',
  });
  browser = await launchChromium();
}, 300_000);

afterAll(async () => {
  await browser?.close();
  await server?.stop();
  await receiver?.close();
  raw?.destroy();
  await ddb?.stop();
});

describe('incident page in headless Chromium', () => {
  it('Acknowledge: the incident and one button; clicked, it is acknowledged and PagerDuty too; the link does not work twice', async () => {
    const id = await escalatedIncident();
    const links = incidentLinks(server.baseUrl, KEY, id, now());
    expect(links.acknowledge).toMatch(
      new RegExp(
        `^http://127\\.0\\.0\\.1:\\d+/v1/incidents/${id}\\?action=acknowledge&expires=\\d+&sig=[A-Za-z0-9_-]{43}$`,
      ),
    );
    const page = await browser.newPage();
    const res = await page.goto(links.acknowledge);
    expect(res?.status()).toBe(200);
    expect(await page.getByTestId('summary').textContent()).toBe('SEV-2 broker-failure on orders');
    expect(await page.getByTestId('incident').textContent()).toBe(id);
    expect(await page.getByTestId('status').textContent()).toBe('escalated');
    expect(await page.getByTestId('brokers').textContent()).toBe('2');
    expect(await page.getByTestId('acknowledged').textContent()).toBe('not yet');
    expect(await page.getByTestId('timeline').textContent()).toContain('status-changed');
    expect(await page.getByRole('button').allTextContents()).toEqual(['Acknowledge']);
    // The page holds its own link's signature and no other.
    const html = await page.content();
    expect(html).toContain(new URL(links.acknowledge).searchParams.get('sig'));
    expect(html).not.toContain(new URL(links.resolve).searchParams.get('sig'));
    // GET decided nothing.
    expect((await store.get(id)).acknowledgedAt).toBeUndefined();

    await page.fill('#by', 'Night Owl');
    await Promise.all([page.waitForURL(/incidents/), page.getByRole('button', { name: 'Acknowledge' }).click()]);
    expect(await page.getByTestId('notice-title').textContent()).toBe('Acknowledged');
    const inc = await store.get(id);
    expect(inc).toMatchObject({
      acknowledgedBy: 'operator:Night Owl (incident link)',
      acknowledgedVia: 'page',
      mttaFrom: 'page',
      pagerDutySynced: { acknowledged: expect.any(String) },
    });
    expect(receiver.incidents.get(id)?.status).toBe('acknowledged');

    const again = await page.goto(links.acknowledge);
    expect(again?.status()).toBe(410);
    expect(await page.getByTestId('notice').textContent()).toContain(
      'already acknowledged by operator:Night Owl (incident link)',
    );
    // Posting the same form again (a replay) is refused: the link was used.
    const replay = await fetch(links.acknowledge.split('?')[0] as string, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URL(links.acknowledge).searchParams.toString(),
    });
    expect(replay.status).toBe(410);
    expect(await replay.text()).toContain('This link was already used');
    await page.close();
  });

  it('Resolve: resolved from the page, PagerDuty resolved; afterwards both links say it is closed', async () => {
    const id = await escalatedIncident();
    const links = incidentLinks(server.baseUrl, KEY, id, now());
    const page = await browser.newPage();
    expect((await page.goto(links.resolve))?.status()).toBe(200);
    expect(await page.getByRole('button').allTextContents()).toEqual(['Resolve']);
    await page.fill('#by', 'Night Owl');
    await page.fill('#reason', 'broker 2 restarted by hand');
    await Promise.all([page.waitForURL(/incidents/), page.getByRole('button', { name: 'Resolve' }).click()]);
    expect(await page.getByTestId('notice-title').textContent()).toBe('Resolved');
    expect(await store.get(id)).toMatchObject({
      status: 'resolved',
      resolvedBy: 'operator:Night Owl (incident link)',
      resolvedVia: 'page',
    });
    expect(receiver.incidents.get(id)?.status).toBe('resolved');
    const tl = (await store.get(id)).timeline;
    expect(tl.find((e) => e.action === 'status-changed' && /-> resolved/.test(e.detail ?? ''))?.detail).toContain(
      'broker 2 restarted by hand',
    );
    for (const url of [links.acknowledge, links.resolve]) {
      expect((await page.goto(url))?.status()).toBe(410);
      expect(await page.getByTestId('notice-title').textContent()).toBe('Already closed');
    }
    await page.close();
  });

  it('an acknowledge link edited to resolve, a foreign signature, an expired link: nothing decided', async () => {
    const id = await escalatedIncident();
    const links = incidentLinks(server.baseUrl, KEY, id, now());
    const page = await browser.newPage();
    const forged = links.acknowledge.replace('action=acknowledge', 'action=resolve');
    expect((await page.goto(forged))?.status()).toBe(403);
    expect(await page.getByTestId('notice-title').textContent()).toBe('This link is not valid');
    // The acknowledge page's form edited to post resolve, as someone might try in the browser.
    await page.goto(links.acknowledge);
    await page
      .locator('form input[name=action]')
      .evaluate((e: { setAttribute(name: string, value: string): void }) => e.setAttribute('value', 'resolve'));
    await Promise.all([page.waitForURL(/incidents/), page.getByRole('button').click()]);
    expect(await page.getByTestId('notice-title').textContent()).toBe('This link is not valid');
    const other = incidentLinks(server.baseUrl, randomBytes(32), id, now());
    expect((await page.goto(other.resolve))?.status()).toBe(403);
    clockOffsetMs = 25 * 3600 * 1000;
    try {
      expect((await page.goto(links.resolve))?.status()).toBe(410);
      expect(await page.getByTestId('notice-title').textContent()).toBe('This link has expired');
    } finally {
      clockOffsetMs = 0;
    }
    expect(await store.get(id)).toMatchObject({ status: 'escalated' });
    expect((await store.get(id)).acknowledgedAt).toBeUndefined();
    const unknown = incidentLinks(server.baseUrl, KEY, 'inc-nope', now());
    expect((await page.goto(unknown.acknowledge))?.status()).toBe(404);
    await page.close();
  });
});
