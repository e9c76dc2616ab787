// Auto-resolve on a real DynamoDB Local, with the real PagerDuty Events v2 client over HTTP to the
// local receiver: an escalated incident whose alarm is back to OK on a cluster whose alarms stayed
// OK for policy.autoResolveSeconds resolves once (PagerDuty resolved, the timeline says why); one
// whose alarm still fires, or that is healthy for less than the window, gets nothing written; and
// auto-resolve racing people's resolves leaves one final state with every event on the timeline.
// The cluster's alarm states are this test's input (CloudWatch in AWS, the drill's alarm
// evaluator locally): a list the test sets.
import { DeleteTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { correlate } from '#domain/correlate.js';
import type { AlarmStatus } from '#domain/lifecycle.js';
import { parsePolicy } from '#domain/policy.js';
import type { Decision, Signal } from '#domain/types.js';
import { applyLifecycle } from '#functions/lifecycle/actions.js';
import { runAutoResolve, type AutoResolveDeps } from '#functions/lifecycle/auto-resolve.js';
import { documentClient } from '#shared/clients.js';
import { IncidentStore, type IncidentWithTimeline } from '#tools/incident-store.js';
import { notify, type NotifyDeps } from '#shared/notify.js';
import { PagerDutyClient, staticRoutingKey } from '#shared/pagerduty.js';
import { createIncidentTable, startDynamoDbLocal, type DynamoDbLocal } from '#local/dynamodb-local.js';
import { start as startReceiver, type PagerDutyReceiver } from '#local/pagerduty-receiver.js';
import { storePieces } from '../support/store-pieces.js';

let ddb: DynamoDbLocal;
let raw: DynamoDBClient;
let receiver: PagerDutyReceiver;
let tableName: string;
let tableNo = 0;
let clock: Date;
let store: IncidentStore;
let clusterAlarms: AlarmStatus[];
const T0 = Date.parse('2026-11-22T01:00:00.000Z');
const POLICY = parsePolicy({ mode: 'auto', autoResolveSeconds: 900 });

beforeAll(async () => {
  ddb = await startDynamoDbLocal();
  raw = ddb.client();
  receiver = await startReceiver();
});

afterAll(async () => {
  raw?.destroy();
  await ddb?.stop();
  await receiver?.close();
});

beforeEach(async () => {
  if (tableName) await raw.send(new DeleteTableCommand({ TableName: tableName }));
  tableName = `auto-resolve-${++tableNo}`;
  await createIncidentTable(raw, tableName);
  clock = new Date(T0);
  store = new IncidentStore({ client: documentClient(raw), tableName, now: () => clock });
  clusterAlarms = [];
});

const iso = (s: number) => new Date(T0 + s * 1000).toISOString();
const tick = (s: number) => {
  clock = new Date(clock.getTime() + s * 1000);
};

function down(broker: number, state: Signal['state'] = 'firing'): Signal {
  return {
    id: `sig-b${broker}-${clock.getTime()}-${state}`,
    source: 'cloudwatch',
    cluster: 'orders',
    kind: 'broker-down',
    brokerIds: [broker],
    state,
    observedAt: clock.toISOString(),
    name: `kafka-heal-prod.orders-broker-down-b${broker}`,
    fingerprint: `alarm:broker-down-b${broker}`,
    labels: {},
  };
}

const recovery = (broker: number): Decision => ({
  action: 'remediate',
  incidentType: 'broker-failure',
  severity: 'SEV-2',
  reasons: ['1 broker down'],
  plan: { workflow: 'broker-recovery', brokerIds: [broker], dryRun: false, steps: [] },
});
const IGNORE: Decision = { action: 'ignore', incidentType: 'broker-failure', severity: 'SEV-4', reasons: ['resolved'] };

/** Broker `b` fails, its incident escalates (the flap breaker) and PagerDuty is paged; the alarm clears at `clearAt` s (or never). */
async function escalated(b: number, clearAt?: number): Promise<IncidentWithTimeline> {
  const s = down(b);
  const open = await store.listOpen('orders');
  const r = await store.recordSignal(s, recovery(b), correlate(s, recovery(b), open, POLICY, clock));
  if (r.outcome !== 'created') throw new Error(`expected a new incident, got ${r.outcome}`);
  const id = r.incident.id;
  await store.setStatus(id, 'escalated', ['open'], { actor: 'classifier', detail: 'flap breaker' });
  await fetch(receiver.url, {
    method: 'POST',
    body: JSON.stringify({
      routing_key: 'x'.repeat(32),
      event_action: 'trigger',
      dedup_key: id,
      payload: { summary: `broker ${b} down`, source: 'kafka-heal/orders', severity: 'error' },
    }),
  });
  await store.markPaged(id, clock.toISOString());
  if (clearAt !== undefined) {
    const saved = clock;
    clock = new Date(T0 + clearAt * 1000);
    await store.recordSignal(down(b, 'resolved'), IGNORE, { kind: 'join', incidentId: id });
    clock = saved;
  }
  return store.get(id);
}

/** The notification chain with the real PagerDuty client to the local receiver (no SNS or retry queue here). */
function localNotify(): (n: Parameters<typeof notify>[0]) => ReturnType<typeof notify> {
  const none = (what: string) => ({ send: () => Promise.reject(new Error(`no ${what} here`)) });
  const chain: NotifyDeps = {
    pagerDuty: new PagerDutyClient({
      routingKey: staticRoutingKey('local'.padEnd(32, '0')),
      endpoint: receiver.url,
      retry: { maxAttempts: 2, totalBudgetMs: 5_000 },
    }),
    sns: none('SNS') as unknown as NotifyDeps['sns'],
    sqs: none('retry queue') as unknown as NotifyDeps['sqs'],
    snsTopicArns: { critical: 'local', warning: 'local' },
    retryQueueUrl: 'local',
  };
  return (n) => notify(n, chain);
}

function deps(): AutoResolveDeps {
  return {
    ...storePieces(store),
    clusters: ['orders'],
    policies: {
      get: async () => ({ policy: POLICY, origin: 'ssm', parameterName: '/kafka-heal/prod/clusters/orders/policy' }),
    },
    alarms: { alarms: async () => clusterAlarms },
    notify: localNotify(),
    now: () => clock,
  };
}

const okSince = (s: number): AlarmStatus[] => [
  { name: 'kafka-heal-prod.orders-broker-down', state: 'OK', since: iso(s), probe: true },
  { name: 'kafka-heal-prod.orders-probe-heartbeat', state: 'OK', since: iso(0), probe: true },
];

describe('auto-resolve on DynamoDB Local', () => {
  it('an escalated incident healthy for the window resolves once: PagerDuty resolved, the timeline says why; the next run writes nothing', async () => {
    const sent = receiver.events.length;
    const inc = await escalated(2, 100);
    clusterAlarms = okSince(100);
    tick(999);
    const early = await runAutoResolve(deps());
    expect(early).toMatchObject({ checked: 1, resolved: 0, skipped: 1 });
    expect((await store.get(inc.id)).timeline).toHaveLength(inc.timeline.length);
    tick(1);
    const r = await runAutoResolve(deps());
    expect(r).toMatchObject({ checked: 1, resolved: 1, skipped: 0, failed: 0 });
    const after = await store.get(inc.id);
    expect(after).toMatchObject({
      status: 'resolved',
      resolvedBy: 'auto-resolve',
      resolvedVia: 'auto-resolve',
      resolvedAt: iso(1000),
      mttrSeconds: 1000,
    });
    expect(after.pagerDutySynced?.resolved).toBe(iso(1000));
    expect(receiver.incidents.get(inc.id)?.status).toBe('resolved');
    const resolution = after.timeline.find(
      (e) => e.action === 'status-changed' && e.detail?.startsWith('escalated -> resolved'),
    );
    expect(resolution).toMatchObject({ actor: 'auto-resolve', result: 'via auto-resolve' });
    expect(resolution?.detail).toBe(
      `escalated -> resolved: recovered without the healer: its 1 alarm(s) back to OK (alarm:broker-down-b2 since ${iso(100)}), none firing for 900 s, ` +
        `and the cluster healthy since ${iso(100)} (all 2 alarms OK, the last back kafka-heal-prod.orders-broker-down at ${iso(100)}; the probe healthy since ${iso(100)} (its 2 alarm(s) OK))`,
    );
    expect(after.timeline).toContainEqual(
      expect.objectContaining({ actor: 'notifier', action: 'notify-pagerduty', result: 'delivered' }),
    );
    const length = after.timeline.length;
    tick(60);
    expect(await runAutoResolve(deps())).toMatchObject({ checked: 0, resolved: 0 });
    expect((await store.get(inc.id)).timeline).toHaveLength(length);
    expect(receiver.events.slice(sent).filter((e) => e.dedupKey === inc.id && e.action === 'resolve')).toHaveLength(1);
  });

  it('one whose alarm still fires, or on a cluster healthy for less than the window, is not resolved and gets nothing written', async () => {
    const firstFiring = await escalated(2);
    const cleared = await escalated(3, 100);
    const firing = await store.get(firstFiring.id);
    clusterAlarms = okSince(100);
    tick(2000);
    const r = await runAutoResolve(deps());
    expect(r).toMatchObject({ checked: 2, resolved: 1, skipped: 1 });
    expect(r.incidents.find((i) => i.incidentId === firing.id)).toMatchObject({
      outcome: 'skipped',
      reason: '1 alarm(s) still firing: alarm:broker-down-b2',
    });
    expect((await store.get(firing.id)).timeline).toHaveLength(firing.timeline.length);
    expect((await store.get(cleared.id)).status).toBe('resolved');

    const recent = await escalated(4, 2000);
    clusterAlarms = okSince(2101);
    tick(1000);
    const again = await runAutoResolve(deps());
    expect(again.incidents.filter((i) => i.incidentId !== firing.id)).toEqual([
      {
        incidentId: recent.id,
        cluster: 'orders',
        outcome: 'skipped',
        reason: 'the cluster is healthy for 899 s only (quiet period 900 s)',
      },
    ]);
    expect(await store.get(recent.id)).toMatchObject({ status: 'escalated', timeline: expect.any(Array) });
    expect((await store.get(recent.id)).timeline).toHaveLength(recent.timeline.length);
    expect(receiver.incidents.get(recent.id)?.status).toBe('triggered');
  });

  it.each([
    [
      'people resolve while auto-resolve reads the alarms (it judged a stale version)',
      'during',
      { auto: 0, people: 6 },
    ],
    ['people resolve after auto-resolve', 'after', { auto: 6, people: 0 }],
    ['everyone at once', 'together', undefined],
  ] as const)(
    'racing people: %s leaves one final state each, and every event on the timeline',
    async (_what, when, winners) => {
      const sent = receiver.events.length;
      const incidents: IncidentWithTimeline[] = [];
      for (let b = 1; b <= 6; b++) incidents.push(await escalated(b, 10));
      clusterAlarms = okSince(10);
      tick(1000);
      const people = () =>
        Promise.all(
          incidents.map((i, n) =>
            applyLifecycle(
              { ...storePieces(store), now: () => clock, notify: localNotify() },
              {
                incidentId: i.id,
                action: 'resolve',
                by: `operator:user-${n}`,
                via: 'cli',
                reason: 'restarted by hand',
              },
            ),
          ),
        );
      const d = deps();
      if (when === 'during') d.alarms = { alarms: async () => (await people(), clusterAlarms) };
      let report;
      if (when === 'together') [report] = await Promise.all([runAutoResolve(d), people()]);
      else {
        report = await runAutoResolve(d);
        if (when === 'after') await people();
      }
      expect(report.failed).toBe(0);
      const byWhom = { auto: 0, people: 0 };
      for (const inc of incidents) {
        const final = await store.get(inc.id);
        expect(final.status).toBe('resolved');
        const resolutions = final.timeline.filter(
          (e) => e.action === 'status-changed' && / -> resolved/.test(e.detail ?? ''),
        );
        expect(resolutions, inc.id).toHaveLength(1);
        expect(resolutions[0]?.actor).toBe(final.resolvedBy);
        const ignored = final.timeline.filter((e) => e.action === 'resolve-ignored').map((e) => e.actor);
        const judged = report.incidents.find((i) => i.incidentId === inc.id);
        if (final.resolvedBy === 'auto-resolve') {
          byWhom.auto += 1;
          // The person came second: their resolve is on the timeline as ignored.
          expect(ignored, inc.id).toEqual([expect.stringMatching(/^operator:user-/)]);
        } else {
          byWhom.people += 1;
          // Auto-resolve judged it, then lost: skipped, its resolve on the timeline as ignored; or it never listed it.
          expect(ignored, inc.id).toEqual(judged === undefined ? [] : ['auto-resolve']);
          if (judged) expect(judged.outcome).toBe('skipped');
        }
        // Whoever won told PagerDuty, once.
        expect(receiver.incidents.get(inc.id)?.status, inc.id).toBe('resolved');
        expect(
          receiver.events.slice(sent).filter((e) => e.dedupKey === inc.id && e.action === 'resolve'),
          inc.id,
        ).toHaveLength(1);
      }
      if (winners) expect(byWhom).toEqual(winners);
    },
  );
});
