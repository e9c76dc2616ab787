// The incident lifecycle on a real DynamoDB Local: acknowledge, resolve, reopen (by a person, and
// by a fault that returns), alarm tracking, escalated incidents giving up their fault family's
// slot so a new fault gets its own incident, and a storm of acknowledgements and resolves racing
// the workflow's own resolve step (the real workflow-steps handler): one final state, every event
// on the timeline.
import { DeleteTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { correlate } from '#domain/correlate.js';
import { parsePolicy } from '#domain/policy.js';
import type { Decision, OpenIncident, Signal } from '#domain/types.js';
import { applyLifecycle, type LifecycleDeps } from '#functions/lifecycle/actions.js';
import { documentClient } from '#shared/clients.js';
import { RunSupersededError } from '#shared/errors.js';
import { IncidentStore, type IncidentRecord } from '#tools/incident-store.js';
import { makeWorkflowStepsHandler, WorkflowStepSchema } from '#functions/workflow-steps/handler.js';
import { createIncidentTable, startDynamoDbLocal, type DynamoDbLocal } from '#local/dynamodb-local.js';
import { storePieces } from '../support/store-pieces.js';

let ddb: DynamoDbLocal;
let raw: DynamoDBClient;
let tableName: string;
let tableNo = 0;
let clock: Date;
let store: IncidentStore;
const T0 = Date.parse('2026-11-22T01:00:00.000Z');
const POLICY = parsePolicy({ mode: 'auto' });
const RUN = 'arn:aws:states:eu-west-1:123456789012:execution:kafka-heal-prod-broker-recovery:run-1';

beforeAll(async () => {
  ddb = await startDynamoDbLocal();
  raw = ddb.client();
});

afterAll(async () => {
  raw?.destroy();
  await ddb?.stop();
});

beforeEach(async () => {
  if (tableName) await raw.send(new DeleteTableCommand({ TableName: tableName }));
  tableName = `lifecycle-${++tableNo}`;
  await createIncidentTable(raw, tableName);
  clock = new Date(T0);
  mttas = [];
  store = new IncidentStore({ client: documentClient(raw), tableName, now: () => clock });
});

const at = (s: number) => new Date(T0 + s * 1000).toISOString();
const tick = (s: number) => {
  clock = new Date(clock.getTime() + s * 1000);
};

function down(broker: number, over: Partial<Signal> = {}): Signal {
  return {
    id: `sig-b${broker}-${clock.getTime()}-${over.state ?? 'firing'}`,
    source: 'cloudwatch',
    cluster: 'orders',
    kind: 'broker-down',
    brokerIds: [broker],
    state: 'firing',
    observedAt: clock.toISOString(),
    name: `kafka-heal-prod-orders-broker-down-b${broker}`,
    fingerprint: `alarm:broker-down-b${broker}`,
    labels: {},
    ...over,
  };
}

function recovery(broker: number): Decision {
  return {
    action: 'remediate',
    incidentType: 'broker-failure',
    severity: 'SEV-2',
    reasons: ['1 broker down'],
    plan: { workflow: 'broker-recovery', brokerIds: [broker], dryRun: false, steps: [] },
  };
}
const IGNORE: Decision = { action: 'ignore', incidentType: 'broker-failure', severity: 'SEV-4', reasons: ['resolved'] };

/** What the classify handler does: correlate with the open (and, before opening one, the recently resolved) incidents, then record. */
async function record(s: Signal, d: Decision) {
  const open = await store.listOpen(s.cluster);
  const resolved = await store.listRecentlyResolved(s.cluster, new Date(clock.getTime() - POLICY.reopenSeconds * 1000));
  const now = clock;
  const bind = (o: OpenIncident[]) => correlate(s, d, o, POLICY, now, resolved);
  return store.recordSignal(s, d, bind(open), bind);
}

async function opened(broker: number): Promise<IncidentRecord> {
  const r = await record(down(broker), recovery(broker));
  if (r.outcome !== 'created') throw new Error(`expected a new incident, got ${r.outcome}`);
  return r.incident;
}

/** Every MTTA published (recordMtta: what the Lambdas turn into the MttaSeconds metric). */
let mttas: string[] = [];
const deps = (): LifecycleDeps => ({
  ...storePieces(store),
  now: () => clock,
  recordMtta: (severity, seconds) => mttas.push(`${severity} ${seconds} s`),
});

describe('acknowledge', () => {
  it('the first acknowledgement wins with MTTA from the first page; later ones and one after the close change nothing, all on the timeline', async () => {
    const inc = await opened(2);
    tick(30);
    await store.markPaged(inc.id, clock.toISOString());
    tick(90);
    const first = await applyLifecycle(deps(), {
      incidentId: inc.id,
      action: 'acknowledge',
      by: 'pagerduty:Ada',
      via: 'pagerduty',
    });
    expect(first.outcome).toBe('acknowledged');
    expect(first.incident).toMatchObject({
      acknowledgedBy: 'pagerduty:Ada',
      acknowledgedVia: 'pagerduty',
      mttaSeconds: 90,
      mttaFrom: 'page',
    });
    expect(mttas).toEqual(['SEV-2 90 s']);
    // PagerDuty told us: it is not told back.
    expect((await store.get(inc.id)).pagerDutySynced).toEqual({ acknowledged: at(120) });
    tick(5);
    const again = await applyLifecycle(deps(), {
      incidentId: inc.id,
      action: 'acknowledge',
      by: 'operator:bob',
      via: 'cli',
    });
    expect(again.outcome).toBe('already-acknowledged');
    expect(again.incident.acknowledgedBy).toBe('pagerduty:Ada');
    await applyLifecycle(deps(), {
      incidentId: inc.id,
      action: 'resolve',
      by: 'operator:bob',
      via: 'cli',
      reason: 'broker replaced',
    });
    const late = await applyLifecycle(deps(), {
      incidentId: inc.id,
      action: 'acknowledge',
      by: 'operator:eve',
      via: 'page',
    });
    expect(late.outcome).toBe('closed');
    // The metric counted the incident once: not the repeated acknowledgement, not the late one.
    expect(mttas).toEqual(['SEV-2 90 s']);
    const tl = (await store.get(inc.id)).timeline.map((e) => `${e.actor} ${e.action}`);
    expect(tl).toEqual(
      expect.arrayContaining([
        'pagerduty:Ada acknowledged',
        'operator:bob acknowledge-repeated',
        'operator:bob status-changed',
        'operator:eve acknowledge-after-close',
      ]),
    );
  });

  it('acknowledgements racing from the CLI, the page and PagerDuty: one wins, one MTTA published', async () => {
    const inc = await opened(2);
    tick(45);
    const vias = ['cli', 'page', 'pagerduty'] as const;
    const outcomes = await Promise.all(
      Array.from({ length: 21 }, (_, i) =>
        applyLifecycle(deps(), {
          incidentId: inc.id,
          action: 'acknowledge',
          by: `operator:user-${i}`,
          via: vias[i % 3] as (typeof vias)[number],
        }).then((r) => r.outcome),
      ),
    );
    expect(outcomes.filter((o) => o === 'acknowledged')).toHaveLength(1);
    expect(outcomes.filter((o) => o === 'already-acknowledged')).toHaveLength(20);
    expect(mttas).toEqual(['SEV-2 45 s']);
  });

  it('without a page MTTA counts from detection', async () => {
    const inc = await opened(2);
    tick(240);
    const r = await applyLifecycle(deps(), {
      incidentId: inc.id,
      action: 'acknowledge',
      by: 'operator:bob',
      via: 'cli',
    });
    expect(r.incident).toMatchObject({ mttaSeconds: 240, mttaFrom: 'detection' });
    expect(mttas).toEqual(['SEV-2 240 s']);
    expect(r.notes).toEqual(['nobody was paged for it: PagerDuty has nothing to update']);
  });

  it('an unknown incident is IncidentNotFoundError', async () => {
    await expect(
      applyLifecycle(deps(), { incidentId: 'inc-nope', action: 'acknowledge', by: 'operator:bob', via: 'cli' }),
    ).rejects.toMatchObject({ name: 'IncidentNotFoundError' });
  });
});

describe('resolve', () => {
  it('a person resolves: who and from where are kept, the run acting for it is fenced and can no longer close or escalate it', async () => {
    const inc = await opened(2);
    await store.designateRun(inc.id, RUN);
    await store.setStatus(inc.id, 'remediating', ['open']);
    tick(60);
    const r = await applyLifecycle(deps(), {
      incidentId: inc.id,
      action: 'resolve',
      by: 'operator:bob',
      via: 'cli',
      reason: 'restarted by hand',
    });
    expect(r.outcome).toBe('resolved');
    expect(r.incident).toMatchObject({
      status: 'resolved',
      resolvedBy: 'operator:bob',
      resolvedVia: 'cli',
      mttrSeconds: 60,
    });
    expect((await store.get(inc.id)).fencedRuns).toEqual([RUN]);
    expect(r.notes).toEqual([
      `run ${RUN} fenced (its next step is refused) but not stopped: no Step Functions access here`,
      'nobody was paged for it: PagerDuty has nothing to update',
    ]);
    await expect(
      store.setStatus(inc.id, 'escalated', ['remediating'], { actor: 'workflow:broker-recovery' }, RUN),
    ).rejects.toBeInstanceOf(RunSupersededError);
    expect(await store.listOpen('orders')).toEqual([]);
    expect((await store.listRecentlyResolved('orders', new Date(T0))).map((i) => i.id)).toEqual([inc.id]);
    const again = await applyLifecycle(deps(), {
      incidentId: inc.id,
      action: 'resolve',
      by: 'operator:eve',
      via: 'page',
    });
    expect(again.outcome).toBe('already-closed');
    expect((await store.get(inc.id)).timeline.at(-1)).toMatchObject({
      actor: 'operator:eve',
      action: 'resolve-ignored',
      result: 'no change',
    });
  });

  it('auto-resolve resolves only the version it judged: a signal that joined meanwhile wins', async () => {
    const inc = await opened(2);
    const read = await store.get(inc.id);
    await record(down(2, { id: 'sig-again', name: 'prom-b2', fingerprint: 'prom:KafkaBrokerDown-b2' }), recovery(2));
    await expect(
      applyLifecycle(deps(), {
        incidentId: inc.id,
        action: 'resolve',
        by: 'auto-resolve',
        via: 'auto-resolve',
        version: read.version,
      }),
    ).rejects.toMatchObject({ name: 'ConditionalWriteConflict' });
    expect((await store.get(inc.id)).status).toBe('open');
  });
});

describe('reopen', () => {
  it('a person reopens a resolved incident: escalated, held open, on the open index; acknowledgement cleared, MTTA kept', async () => {
    const inc = await opened(2);
    tick(30);
    await applyLifecycle(deps(), { incidentId: inc.id, action: 'acknowledge', by: 'operator:bob', via: 'cli' });
    await applyLifecycle(deps(), { incidentId: inc.id, action: 'resolve', by: 'operator:bob', via: 'cli' });
    tick(60);
    const r = await applyLifecycle(deps(), {
      incidentId: inc.id,
      action: 'reopen',
      by: 'operator:eve',
      via: 'cli',
      reason: 'still flapping',
    });
    expect(r.outcome).toBe('reopened');
    expect(r.incident).toMatchObject({ status: 'escalated', holdOpen: true, reopenCount: 1, mttaSeconds: 30 });
    expect(r.incident.resolvedAt).toBeUndefined();
    expect(r.incident.acknowledgedAt).toBeUndefined();
    expect((await store.listOpen('orders')).map((i) => i.id)).toEqual([inc.id]);
    expect(
      (await applyLifecycle(deps(), { incidentId: inc.id, action: 'reopen', by: 'operator:eve', via: 'cli' })).outcome,
    ).toBe('not-resolved');
    await applyLifecycle(deps(), {
      incidentId: inc.id,
      action: 'note',
      by: 'operator:eve',
      via: 'cli',
      reason: 'disk on broker 2 replaced',
    });
    expect((await store.get(inc.id)).timeline.map((e) => e.action)).toEqual(
      expect.arrayContaining(['incident-reopened', 'reopen-ignored', 'note']),
    );
    // Acknowledged again after the reopen: the acknowledgement counts, MTTA and its metric stay the first.
    tick(20);
    const again = await applyLifecycle(deps(), {
      incidentId: inc.id,
      action: 'acknowledge',
      by: 'operator:eve',
      via: 'page',
    });
    expect(again.outcome).toBe('acknowledged');
    expect(again.incident).toMatchObject({ acknowledgedBy: 'operator:eve', mttaSeconds: 30 });
    expect(mttas).toEqual(['SEV-2 30 s']);
  });

  it('its fault returning within reopenSeconds of an auto-resolve reopens it for a fresh decision; after a workflow heal it opens a new incident', async () => {
    const inc = await opened(2);
    await store.setExecution(inc.id, RUN);
    await applyLifecycle(deps(), {
      incidentId: inc.id,
      action: 'resolve',
      by: 'auto-resolve',
      via: 'auto-resolve',
      reason: 'recovered without the healer',
    });
    tick(600);
    const back = await record(down(2), recovery(2));
    expect(back.outcome).toBe('reopened');
    const reopened = await store.get(inc.id);
    expect(reopened).toMatchObject({ status: 'open', reopenCount: 1, fencedRuns: [RUN], signalCount: 2 });
    expect(reopened.timeline.map((e) => e.action)).toContain('incident-reopened');
    // It holds its fault family's slot again: another broker joins it, no second incident.
    const other = await record(down(3), recovery(3));
    expect(other).toMatchObject({ incident: { id: inc.id } });
    // Healed by its workflow this time: the next return is a new incident (every heal counts on its own).
    await store.setStatus(inc.id, 'resolved', ['open', 'remediating'], {
      actor: 'workflow:broker-recovery',
      via: 'workflow',
    });
    tick(60);
    const fresh = await record(down(2), recovery(2));
    expect(fresh.outcome).toBe('created');
  });
});

describe('escalated incidents never swallow a new fault', () => {
  it('broker 2 escalated: broker 3 gets its own incident, linked; broker 2 firing again joins the escalated one', async () => {
    const b2 = await opened(2);
    await store.setStatus(b2.id, 'escalated', ['open'], { actor: 'classifier', detail: 'flap breaker' });
    tick(400);
    const b3 = await record(down(3), recovery(3));
    expect(b3.outcome).toBe('created');
    if (b3.outcome !== 'created') return;
    expect(b3.incident).toMatchObject({ linkedTo: b2.id, brokers: [{ id: 3 }] });
    expect((await store.get(b2.id)).timeline.at(-1)).toMatchObject({
      action: 'incident-linked',
      result: b3.incident.id,
    });
    tick(5);
    const again = await record(
      down(2, { id: 'sig-b2-refire', fingerprint: 'prom:KafkaBrokerDown-b2', name: 'KafkaBrokerDown' }),
      recovery(2),
    );
    expect(again).toMatchObject({ outcome: 'joined', incident: { id: b2.id } });
  });

  it('50 concurrent signals for the new broker make one linked incident', async () => {
    const b2 = await opened(2);
    await store.setStatus(b2.id, 'escalated', ['open']);
    const signals = Array.from({ length: 50 }, (_, i) =>
      down(3, { id: `storm-${i}`, fingerprint: `alarm:b3-${i % 5}` }),
    );
    const results = await Promise.all(signals.map((s) => record(s, recovery(3))));
    expect(results.filter((r) => r.outcome === 'created')).toHaveLength(1);
    const open = await store.listOpen('orders');
    expect(open.map((i) => i.status).sort()).toEqual(['escalated', 'open']);
  });
});

describe('alarm states for auto-resolve', () => {
  it('firing, then OK; an older state delivered late never overwrites a newer one; past the cap the incident stops tracking', async () => {
    const small = new IncidentStore({ client: documentClient(raw), tableName, now: () => clock, maxTrackedAlarms: 2 });
    const r = await small.recordSignal(down(2), recovery(2), { kind: 'new' });
    const id = r.outcome === 'created' ? r.incident.id : '';
    tick(10);
    await small.recordSignal(down(2, { state: 'resolved' }), IGNORE, { kind: 'join', incidentId: id });
    expect((await small.get(id)).alarms).toEqual({ 'alarm:broker-down-b2': { state: 'ok', at: at(10) } });
    await small.recordSignal(down(2, { id: 'late', observedAt: at(5) }), recovery(2), { kind: 'join', incidentId: id });
    expect((await small.get(id)).alarms?.['alarm:broker-down-b2']).toEqual({ state: 'ok', at: at(10) });
    await small.recordSignal(down(2, { id: 'x', fingerprint: 'alarm:x' }), recovery(2), {
      kind: 'join',
      incidentId: id,
    });
    await small.recordSignal(down(2, { id: 'y', fingerprint: 'alarm:y' }), recovery(2), {
      kind: 'join',
      incidentId: id,
    });
    const capped = await small.get(id);
    expect(Object.keys(capped.alarms ?? {})).toHaveLength(2);
    expect(capped.alarmsUntracked).toBe(true);
    expect(capped.timeline.filter((e) => e.action === 'alarms-untracked')).toHaveLength(1);
  });
});

describe("a storm of acknowledgements and resolves racing the workflow's own resolve", () => {
  it.each([
    ['the workflow finishes first', 'first'],
    ['people finish first', 'last'],
  ] as const)('%s: one final state, one resolution, every event on the timeline', async (_what, workflowAt) => {
    const inc = await opened(2);
    await store.designateRun(inc.id, RUN);
    await store.setStatus(inc.id, 'remediating', ['open']);
    await store.markPaged(inc.id, clock.toISOString());
    const steps = makeWorkflowStepsHandler({
      ...storePieces(store),
      targets: () => [],
      now: () => clock,
      diskCriticalPercent: 90,
    });
    const workflowResolve = () =>
      steps(
        WorkflowStepSchema.parse({
          step: 'resolve',
          workflow: 'broker-recovery',
          incidentId: inc.id,
          cluster: 'orders',
          brokerId: 2,
          summary: 'broker 2 back in every ISR',
          parentWorkflow: 'none',
          execution: RUN,
        }),
      ).then(
        () => 'workflow resolved',
        (err: Error) => err.name,
      );
    const people = Array.from({ length: 30 }, (_, i) =>
      i % 2 === 0
        ? applyLifecycle(deps(), {
            incidentId: inc.id,
            action: 'acknowledge',
            by: `pagerduty:user-${i}`,
            via: 'pagerduty',
          }).then((r) => r.outcome)
        : applyLifecycle(deps(), {
            incidentId: inc.id,
            action: 'resolve',
            by: `operator:user-${i}`,
            via: i % 3 === 0 ? 'page' : 'cli',
          }).then((r) => r.outcome),
    );
    const all = workflowAt === 'first' ? [workflowResolve(), ...people] : [...people, workflowResolve()];
    const outcomes = await Promise.all(all);
    const final = await store.get(inc.id);
    expect(final.status).toBe('resolved');
    const resolutions = final.timeline.filter(
      (e) => e.action === 'status-changed' && / -> resolved/.test(e.detail ?? ''),
    );
    expect(resolutions).toHaveLength(1);
    // Whoever won, every other attempt says on the timeline that it changed nothing.
    const resolves = outcomes.filter(
      (o) => o === 'resolved' || o === 'already-closed' || o === 'workflow resolved' || o === 'RunSupersededError',
    );
    expect(resolves).toHaveLength(16);
    expect(outcomes.filter((o) => o === 'resolved' || o === 'workflow resolved')).toHaveLength(1);
    expect(final.timeline.filter((e) => e.action === 'resolve-ignored' || e.action === 'run-superseded')).toHaveLength(
      15,
    );
    const acks = final.timeline.filter((e) =>
      ['acknowledged', 'acknowledge-repeated', 'acknowledge-after-close'].includes(e.action),
    );
    expect(acks).toHaveLength(15);
    expect(acks.filter((e) => e.action === 'acknowledged').length).toBeLessThanOrEqual(1);
    // The MTTA metric: once if an acknowledgement won, never for the ones that lost the race.
    expect(mttas).toHaveLength(outcomes.filter((o) => o === 'acknowledged').length);
    expect(mttas.length).toBe(final.mttaSeconds === undefined ? 0 : 1);
    if (outcomes.includes('workflow resolved')) expect(final.resolvedBy).toBe('workflow:broker-recovery');
    else expect(final).toMatchObject({ resolvedBy: expect.stringMatching(/^operator:user-/), fencedRuns: [RUN] });
  });
});
