// `kafka-heal incidents list|show|ack|resolve|reopen|note` and `kafka-heal postmortem` against a
// real DynamoDB Local: incidents are written by the real incident store (the classifier's and
// workflows' code path), then read back and acted on through the CLI's --endpoint/--table store,
// as an operator would; PagerDuty is the local Events v2 receiver over HTTP.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { correlate } from '#domain/correlate.js';
import { DEFAULT_POLICY } from '#domain/policy.js';
import type { Decision, Signal } from '#domain/types.js';
import { documentClient } from '#shared/clients.js';
import { IncidentStore } from '#tools/incident-store.js';
import { main } from '#cli/main.js';
import { createIncidentTable, startDynamoDbLocal, type DynamoDbLocal } from '#local/dynamodb-local.js';
import { start as startReceiver, type PagerDutyReceiver } from '#local/pagerduty-receiver.js';
import { captureIO } from '../support/helpers.js';

let ddb: DynamoDbLocal;
let raw: DynamoDBClient;
const tableName = 'cli-incidents';
const T0 = Date.parse('2026-11-22T02:00:00.000Z');
const at = (s: number) => new Date(T0 + s * 1000).toISOString();
let clock = new Date(T0);
let ordersId = '';
let paymentsId = '';

function signal(cluster: string, brokerId: number, observedAt: string): Signal {
  return {
    id: `sig-${cluster}-${brokerId}`,
    source: 'cloudwatch',
    cluster,
    kind: 'broker-down',
    brokerIds: [brokerId],
    state: 'firing',
    observedAt,
    name: `kafka-heal-prod-${cluster}-broker-${brokerId}-down`,
    fingerprint: `alarm:broker-${brokerId}-down`,
    labels: {},
  };
}

const decision: Decision = {
  action: 'remediate',
  incidentType: 'broker-failure',
  severity: 'SEV-2',
  reasons: ['1 broker(s) down: standard recovery'],
  plan: { workflow: 'broker-recovery', brokerIds: [2], dryRun: false, steps: ['restart broker'] },
};

async function open(store: IncidentStore, s: Signal): Promise<string> {
  const r = await store.recordSignal(s, decision, correlate(s, decision, [], DEFAULT_POLICY, clock));
  if (r.outcome !== 'created') throw new Error(`expected a new incident, got ${r.outcome}`);
  return r.incident.id;
}

beforeAll(async () => {
  ddb = await startDynamoDbLocal();
  raw = ddb.client();
  await createIncidentTable(raw, tableName);
  const store = new IncidentStore({ client: documentClient(raw), tableName, now: () => clock });
  clock = new Date(T0 + 5_000);
  ordersId = await open(store, signal('orders', 2, at(0)));
  await store.appendTimeline(ordersId, {
    at: at(6),
    actor: 'classifier',
    action: 'workflow-started',
    detail: 'broker-recovery dryRun=false',
  });
  await store.appendTimeline(ordersId, {
    at: at(40),
    actor: 'workflow:broker-recovery',
    action: 'broker-restarted',
    detail: 'kafka.service on broker 2',
    result: 'Success',
  });
  clock = new Date(T0 + 95_000);
  await store.setStatus(ordersId, 'resolved', ['open', 'remediating'], {
    actor: 'workflow:broker-recovery',
    detail: 'broker 2 back in ISR',
  });
  clock = new Date(T0 + 600_000);
  paymentsId = await open(store, signal('payments', 1, at(598)));
}, 300_000);

afterAll(async () => {
  raw?.destroy();
  await ddb?.stop();
});

async function cli(...argv: string[]) {
  const io = captureIO();
  const code = await main(argv, io);
  return { code, out: io.out.join('\n'), err: io.err };
}

const local = () => ['--endpoint', ddb.endpoint, '--table', tableName];

describe('kafka-heal incidents on DynamoDB Local', () => {
  it('lists every incident newest first, with status and duration', async () => {
    const r = await cli('incidents', 'list', ...local());
    expect(r.code).toBe(0);
    const lines = r.out.split('\n');
    expect(lines[0]).toMatch(/^ {2}ID +CLUSTER +TYPE +SEVERITY +STATUS +OPENED \(UTC\) +BROKERS +MTTA +DURATION$/);
    expect(lines[1]).toContain(paymentsId);
    expect(lines[1]).toMatch(/payments +broker-failure +SEV-2 +open +2026-11-22 02:10:00Z +1 +- +open /);
    expect(lines[2]).toContain(ordersId);
    expect(lines[2]).toMatch(/orders +broker-failure +SEV-2 +resolved +2026-11-22 02:00:05Z +2 +- +mttr 1 min 35 s$/);
    expect(lines[3]).toBe('2 incidents, 1 active');
  });

  it('filters by cluster and status, and prints JSON', async () => {
    const byCluster = await cli('incidents', 'list', '--cluster', 'orders', '--json', ...local());
    expect(byCluster.code).toBe(0);
    const list = JSON.parse(byCluster.out) as { id: string; status: string; mttrSeconds: number }[];
    expect(list.map((i) => [i.id, i.status, i.mttrSeconds])).toEqual([[ordersId, 'resolved', 95]]);
    const open = await cli('incidents', 'list', '--status', 'open', '--json', ...local());
    expect((JSON.parse(open.out) as { id: string }[]).map((i) => i.id)).toEqual([paymentsId]);
    const none = await cli('incidents', 'list', '--cluster', 'orders', '--status', 'escalated', ...local());
    expect(none.out).toBe('no incidents match');
  });

  it('shows one incident with its timeline in time order, offsets from detection', async () => {
    const r = await cli('incidents', 'show', ordersId, ...local());
    expect(r.code).toBe(0);
    expect(r.out).toContain(`incident ${ordersId}`);
    expect(r.out).toContain('SEV-2  broker-failure  on cluster orders  -- RESOLVED');
    expect(r.out).toMatch(/MTTD 5 s {3}MTTA n\/a {3}MTTR 1 min 35 s/);
    const rows = r.out.split('\n').filter((l) => /^ {2}\d\d:\d\d:\d\d/.test(l));
    expect(rows.map((l) => l.trim().split(/ +/).slice(0, 4))).toEqual([
      ['02:00:05Z', 'T+5s', 'classifier', 'incident-opened'],
      ['02:00:06Z', 'T+6s', 'classifier', 'workflow-started'],
      ['02:00:40Z', 'T+40s', 'workflow:broker-recovery', 'broker-restarted'],
      ['02:01:35Z', 'T+95s', 'workflow:broker-recovery', 'status-changed'],
    ]);
    expect(rows[3]).toContain('open -> resolved: broker 2 back in ISR');
    const json = await cli('incidents', 'show', ordersId, '--json', ...local());
    const incident = JSON.parse(json.out) as { id: string; timeline: unknown[] };
    expect(incident.id).toBe(ordersId);
    expect(incident.timeline).toHaveLength(4);
  });

  it('shows alert text with escape sequences as visible escapes, never raw to the terminal', async () => {
    const store = new IncidentStore({ client: documentClient(raw), tableName, now: () => clock });
    // As a hostile alert's summary would land in a timeline line: clear the screen, rewrite the line, reverse the text.
    await store.appendTimeline(paymentsId, {
      at: at(599),
      actor: 'alertmanager',
      action: 'signal-joined',
      detail: 'disk \u001b[2J\u001b[1;1Hall clear\r\u202eesrever',
    });
    const r = await cli('incidents', 'show', paymentsId, ...local());
    expect(r.code).toBe(0);
    // eslint-disable-next-line no-control-regex
    expect(r.out).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e]/);
    expect(r.out).toContain('disk \\x1b[2J\\x1b[1;1Hall clear\\x0d\\u202eesrever');
  });

  it('reads the table name from KAFKA_HEAL_TABLE', async () => {
    process.env.KAFKA_HEAL_TABLE = tableName;
    try {
      const r = await cli('incidents', 'list', '--endpoint', ddb.endpoint, '--status', 'resolved', '--json');
      expect(r.code).toBe(0);
      expect((JSON.parse(r.out) as { id: string }[]).map((i) => i.id)).toEqual([ordersId]);
    } finally {
      delete process.env.KAFKA_HEAL_TABLE;
    }
  });

  it('says in one line, exit 1, when the incident or the table does not exist', async () => {
    const missing = await cli('incidents', 'show', 'no-such-incident', ...local());
    expect(missing.code).toBe(1);
    expect(missing.err).toEqual([
      `kafka-heal incidents show: no incident no-such-incident in table ${tableName} (DynamoDB Local at ${ddb.endpoint}); list them with kafka-heal incidents list`,
    ]);
    const noTable = await cli('incidents', 'list', '--endpoint', ddb.endpoint, '--table', 'not-there');
    expect(noTable.code).toBe(1);
    expect(noTable.err).toEqual([
      `kafka-heal incidents list: table not-there not found (DynamoDB Local at ${ddb.endpoint}): check --table / KAFKA_HEAL_TABLE and the region`,
    ]);
    const pm = await cli('postmortem', 'no-such-incident', ...local());
    expect(pm.code).toBe(1);
  });

  it('writes the post-mortem draft of an incident to stdout or --out', async () => {
    const r = await cli('postmortem', ordersId, ...local());
    expect(r.code).toBe(0);
    for (const section of [
      'Summary',
      'Timeline',
      'Impact',
      'Root cause',
      'Resolution',
      'What went well',
      'What to improve',
      'Action items',
    ]) {
      expect(r.out).toMatch(new RegExp(`^#+ ${section}$`, 'm'));
    }
    expect(r.out).toContain(ordersId);
    expect(r.out).toContain('broker-restarted');
    const out = join(mkdtempSync(join(tmpdir(), 'kh-postmortem-')), 'pm.md');
    const written = await cli('postmortem', ordersId, '--out', out, ...local());
    expect(written.code).toBe(0);
    expect(written.out).toBe(`wrote the post-mortem draft of ${ordersId} to ${out}`);
    expect(readFileSync(out, 'utf8').trimEnd()).toBe(r.out.trimEnd());
    const bad = await cli('postmortem', ordersId, '--out', join(out, 'not-a-dir', 'x.md'), ...local());
    expect(bad.code).toBe(2);
    expect(bad.err[0]).toMatch(/^kafka-heal postmortem: cannot write --out .*: ENOTDIR$/);
  });

  it('works through the installed bin, as on an operator machine', () => {
    const r = spawnSync(process.execPath, ['bin/kafka-heal.mjs', 'incidents', 'show', paymentsId, ...local()], {
      encoding: 'utf8',
    });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('SEV-2  broker-failure  on cluster payments  -- OPEN');
  });
});

describe('kafka-heal incidents ack|resolve|reopen|note on DynamoDB Local', () => {
  let receiver: PagerDutyReceiver;
  let store: IncidentStore;
  let id = '';
  beforeAll(async () => {
    receiver = await startReceiver();
    store = new IncidentStore({ client: documentClient(raw), tableName, now: () => new Date() });
    const s = { ...signal('billing', 3, new Date().toISOString()), id: 'sig-billing-3' };
    const r = await store.recordSignal(s, decision, correlate(s, decision, [], DEFAULT_POLICY, new Date()));
    id = r.outcome === 'created' ? r.incident.id : '';
    await store.setStatus(id, 'escalated', ['open'], { actor: 'classifier', detail: 'flap breaker' });
    // The ladder paged through PagerDuty (the receiver knows the dedup key).
    await fetch(receiver.url, {
      method: 'POST',
      body: JSON.stringify({
        routing_key: 'x'.repeat(32),
        event_action: 'trigger',
        dedup_key: id,
        payload: { summary: 'broker 3 down', source: 'kafka-heal/billing', severity: 'error' },
      }),
    });
    await store.markPaged(id, new Date().toISOString());
  });
  afterAll(async () => receiver?.close());
  const pd = () => ['--pagerduty-url', receiver.url];

  it('ack: the first acknowledges and tells PagerDuty, a second exits 1 naming who acknowledged', async () => {
    const r = await cli('incidents', 'ack', id, '--by', 'operator:ada', ...pd(), ...local());
    expect(r.code).toBe(0);
    expect(r.out).toMatch(
      new RegExp(`^acknowledged ${id} \\(MTTA \\d+ s\\)\n  PagerDuty acknowledged \\(Events v2 acknowledge\\)$`),
    );
    expect(receiver.incidents.get(id)?.status).toBe('acknowledged');
    const again = await cli('incidents', 'ack', id, '--by', 'operator:bob', ...local());
    expect(again.code).toBe(1);
    expect(again.err[0]).toMatch(
      new RegExp(`^kafka-heal incidents ack: ${id} was already acknowledged by operator:ada at .*; nothing changed$`),
    );
  });

  it('note and resolve: PagerDuty resolved; resolving again exits 1 naming who resolved', async () => {
    expect(
      (
        await cli(
          'incidents',
          'note',
          id,
          '--reason',
          'replaced the disk of broker 3',
          '--by',
          'operator:ada',
          ...local(),
        )
      ).out,
    ).toBe(`note added to ${id}`);
    const r = await cli(
      'incidents',
      'resolve',
      id,
      '--reason',
      'broker 3 back',
      '--by',
      'operator:ada',
      ...pd(),
      ...local(),
    );
    expect(r.code).toBe(0);
    expect(r.out).toBe(`resolved ${id}\n  PagerDuty resolved (Events v2 resolve)`);
    expect(receiver.incidents.get(id)?.status).toBe('resolved');
    const again = await cli('incidents', 'resolve', id, ...local());
    expect(again.code).toBe(1);
    expect(again.err[0]).toMatch(new RegExp(`${id} is already resolved \\(by operator:ada at .*\\); nothing changed$`));
    const shown = await cli('incidents', 'show', id, ...local());
    expect(shown.out).toContain('acknowledged by operator:ada (cli)');
    expect(shown.out).toContain('resolved by operator:ada (cli)');
    expect(shown.out).toMatch(/operator:ada +note +via cli +replaced the disk of broker 3/);
  });

  it('reopen: escalated and held open; a second reopen exits 1; an unknown id exits 1', async () => {
    const r = await cli('incidents', 'reopen', id, '--reason', 'it came back', '--by', 'operator:bob', ...local());
    expect(r).toMatchObject({
      code: 0,
      out: `reopened ${id}: escalated and held open for people (it closes when someone resolves it)`,
    });
    expect((await store.get(id)).status).toBe('escalated');
    expect((await cli('incidents', 'reopen', id, ...local())).err).toEqual([
      `kafka-heal incidents reopen: ${id} is escalated, not resolved; nothing to reopen`,
    ]);
    expect(await cli('incidents', 'ack', 'inc-nope', ...local())).toMatchObject({
      code: 1,
      err: ['kafka-heal incidents ack: no incident inc-nope; list them with kafka-heal incidents list'],
    });
  });
});
