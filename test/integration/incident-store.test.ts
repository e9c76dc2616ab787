// The incident store against a real DynamoDB Local: conditional writes, the transaction that
// guards a fault's open slot, the GSI and the lock behave as DynamoDB does, not as a mock says.
import { DeleteTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ScanCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { correlate } from '#domain/correlate.js';
import { DEFAULT_POLICY } from '#domain/policy.js';
import type { Decision, OpenIncident, Signal } from '#domain/types.js';
import { documentClient } from '#shared/clients.js';
import { IncidentStore, RAW_BODY_MAX_BYTES } from '#tools/incident-store.js';
import { createIncidentTable, startDynamoDbLocal, type DynamoDbLocal } from '#local/dynamodb-local.js';

let ddb: DynamoDbLocal;
let raw: DynamoDBClient;
let doc: DynamoDBDocumentClient;
let tableName: string;
let tableNo = 0;
let clock: Date;
let store: IncidentStore;

beforeAll(async () => {
  ddb = await startDynamoDbLocal({ log: (l) => process.stderr.write(`${l}\n`) });
  process.stderr.write(`DynamoDB Local start: ${ddb.startMs} ms\n`);
  raw = ddb.client();
  doc = documentClient(raw);
});

afterAll(async () => {
  raw?.destroy();
  await ddb?.stop();
});

beforeEach(async () => {
  if (tableName) await raw.send(new DeleteTableCommand({ TableName: tableName }));
  tableName = `incidents-${++tableNo}`;
  await createIncidentTable(raw, tableName);
  clock = new Date('2026-11-22T01:00:00.000Z');
  store = new IncidentStore({ client: doc, tableName, now: () => clock });
});

function at(offsetSeconds: number): string {
  return new Date(Date.parse('2026-11-22T01:00:00.000Z') + offsetSeconds * 1000).toISOString();
}

function signal(overrides: Partial<Signal> = {}): Signal {
  return {
    id: 'sig-1',
    source: 'cloudwatch',
    cluster: 'orders',
    kind: 'broker-down',
    brokerIds: [2],
    state: 'firing',
    observedAt: at(-30),
    name: 'kafka-heal-prod-orders-broker-2-down',
    fingerprint: 'alarm:broker-2-down',
    labels: {},
    ...overrides,
  };
}

function brokerDecision(brokerIds: number[], severity: Decision['severity'] = 'SEV-2'): Decision {
  return {
    action: 'remediate',
    incidentType: 'broker-failure',
    severity,
    reasons: [`${brokerIds.length} broker(s) down: standard recovery`],
    plan: { workflow: 'broker-recovery', brokerIds, dryRun: false, steps: ['restart broker'] },
  };
}

async function countItems(prefix: string, sk?: string): Promise<number> {
  const res = await doc.send(new ScanCommand({ TableName: tableName, ConsistentRead: true }));
  return (res.Items ?? []).filter((i) => String(i.pk).startsWith(prefix) && (sk === undefined || i.sk === sk)).length;
}

/** What the classify handler does: correlate against the open incidents, then record with re-correlation. */
async function record(s: Signal, d: Decision) {
  const open = await store.listOpen(s.cluster);
  const now = clock;
  const bind = (o: OpenIncident[]) => correlate(s, d, o, DEFAULT_POLICY, now);
  return store.recordSignal(s, d, bind(open), bind);
}

describe('incident store on DynamoDB Local', () => {
  it('turns 50 concurrent signals for one fault into exactly one incident', async () => {
    // Fifty different alarms about broker 2, all classified before any incident existed.
    const signals = Array.from({ length: 50 }, (_, i) =>
      signal({ id: `sig-${i}`, fingerprint: `alarm:${i}`, name: `alarm ${i}`, observedAt: at(-30 + (i % 10)) }),
    );
    const d = brokerDecision([2]);
    const results = await Promise.all(
      signals.map((s) => store.recordSignal(s, d, { kind: 'new' }, (o) => correlate(s, d, o, DEFAULT_POLICY, clock))),
    );

    const outcomes = results.map((r) => r.outcome);
    expect(outcomes.filter((o) => o === 'created')).toHaveLength(1);
    expect(outcomes.filter((o) => o === 'joined')).toHaveLength(49);
    expect(await countItems('INCIDENT#', 'META')).toBe(1);

    const open = await store.listOpen('orders');
    expect(open).toHaveLength(1);
    const inc = await store.get(open[0]!.id);
    expect(inc.signalCount).toBe(50);
    expect(inc.fingerprints).toHaveLength(50);
    expect(inc.brokers.map((b) => b.id)).toEqual([2]);
    // Detection is the earliest observation, whichever signal created the incident.
    expect(inc.detectedAt).toBe(at(-30));
    // One "opened" line plus one per new alarm; never more lines than signals.
    expect(inc.timeline.length).toBeLessThanOrEqual(50);
    expect(inc.timeline.filter((e) => e.action === 'incident-opened')).toHaveLength(1);
    expect(inc.timeline[0]!.reasons).toEqual(d.reasons);
  });

  it('1,000 distinct 1 KiB fingerprints on one incident all record (kept as hashes, far below the 400 KB item limit); a re-fire finds its incident', async () => {
    const long = (i: number) => `alertmanager:${String(i).padStart(4, '0')}:${'x'.repeat(1010)}`;
    const d = brokerDecision([2]);
    const first = await record(signal({ id: 'sig-long-0', fingerprint: long(0) }), d);
    const id = first.outcome === 'created' ? first.incident.id : '';
    // Joined as the classifier joins them (correlate names the incident), 50 at a time.
    for (let i = 1; i < 1000; i += 50) {
      const batch = Array.from({ length: Math.min(50, 1000 - i) }, (_, k) =>
        signal({ id: `sig-long-${i + k}`, fingerprint: long(i + k) }),
      );
      const outcomes = await Promise.all(batch.map((s) => store.recordSignal(s, d, { kind: 'join', incidentId: id })));
      expect(outcomes.map((o) => o.outcome)).toEqual(batch.map(() => 'joined'));
    }
    const inc = await store.get(id);
    expect(inc.signalCount).toBe(1000);
    expect(inc.fingerprints).toHaveLength(1000);
    expect(inc.fingerprints.every((k) => /^sha256:[0-9a-f]{32}$/.test(k))).toBe(true);
    expect(inc.timeline.map((e) => e.action)).not.toContain('fingerprints-capped');
    // A re-fire of one of them (another signal id, same alarm) is recognized by its key.
    const refire = await record(signal({ id: 'sig-long-refire', fingerprint: long(500), kind: 'under-replicated' }), d);
    expect(refire).toMatchObject({ outcome: 'joined', newFingerprint: false, incident: { id } });
  });

  it('past the fingerprint cap a new alarm is counted, not kept, and the timeline says so once', async () => {
    const capped = new IncidentStore({ client: doc, tableName, now: () => clock, maxFingerprints: 5 });
    const d = brokerDecision([2]);
    const rec = async (s: Signal) =>
      capped.recordSignal(s, d, correlate(s, d, await capped.listOpen(s.cluster), DEFAULT_POLICY, clock), (o) =>
        correlate(s, d, o, DEFAULT_POLICY, clock),
      );
    for (let i = 0; i < 8; i++) await rec(signal({ id: `sig-cap-${i}`, fingerprint: `alarm:cap-${i}` }));
    const [open] = await capped.listOpen('orders');
    const inc = await capped.get(open!.id);
    expect(inc.signalCount).toBe(8);
    expect(inc.fingerprints).toEqual(['alarm:cap-0', 'alarm:cap-1', 'alarm:cap-2', 'alarm:cap-3', 'alarm:cap-4']);
    expect(inc.timeline.filter((e) => e.action === 'fingerprints-capped')).toHaveLength(1);
    // A kept fingerprint still re-fires into it; an upgrade past the cap keeps the cap.
    expect(await rec(signal({ id: 'sig-cap-again', fingerprint: 'alarm:cap-3' }))).toMatchObject({
      outcome: 'joined',
      newFingerprint: false,
    });
    // A second broker within the cascade window upgrades the incident; past the cap its alarm is not kept either.
    const upgraded = await rec(
      signal({ id: 'sig-cap-b3', brokerIds: [3], fingerprint: 'alarm:cap-b3', observedAt: at(-20) }),
    );
    expect(upgraded).toMatchObject({ outcome: 'upgraded', incident: { type: 'cascade-failure' } });
    expect((await capped.get(open!.id)).fingerprints).toHaveLength(5);
  });

  it('records 50 concurrent deliveries of the same signal once', async () => {
    const s = signal();
    const d = brokerDecision([2]);
    const settled = await Promise.allSettled(
      Array.from({ length: 50 }, () => store.recordSignal(s, d, { kind: 'new' })),
    );
    const ok = settled
      .filter((r) => r.status === 'fulfilled')
      .map((r) => (r as PromiseFulfilledResult<{ outcome: string }>).value.outcome);
    const failed = settled
      .filter((r) => r.status === 'rejected')
      .map((r) => ((r as PromiseRejectedResult).reason as Error).name);
    expect(ok.filter((o) => o === 'created')).toHaveLength(1);
    // The others either saw it recorded (no-op) or in flight (transient: SQS redelivers later).
    expect(ok.every((o) => o === 'created' || o === 'duplicate')).toBe(true);
    expect(new Set(failed)).toEqual(failed.length ? new Set(['SignalInFlightError']) : new Set());
    expect(await countItems('INCIDENT#', 'META')).toBe(1);
    const [inc] = await store.listOpen('orders');
    expect(inc!.signalCount).toBe(1);
  });

  it('treats a redelivered signal id as a no-op', async () => {
    const s = signal();
    const d = brokerDecision([2]);
    const first = await record(s, d);
    expect(first.outcome).toBe('created');
    const before = await store.get(first.outcome === 'created' ? first.incident.id : '');

    clock = new Date(clock.getTime() + 90_000);
    const again = await record(s, d);
    expect(again).toMatchObject({ outcome: 'duplicate', incidentId: before.id, firstOutcome: 'created', acted: false });
    expect(again.outcome === 'duplicate' && again.decision).toEqual(d);

    await store.markSignalActed(s.id);
    expect(await record(s, d)).toMatchObject({ outcome: 'duplicate', acted: true });
    const after = await store.get(before.id);
    expect(after.signalCount).toBe(1);
    expect(after.timeline).toHaveLength(before.timeline.length);
    expect(after.version).toBe(before.version);
  });

  it('a folded alarm keeps its one timeline line: a delivery that failed after the write, its redelivery and a concurrent classifier add none', async () => {
    const zk = signal({
      id: 'sig-zk',
      kind: 'quorum-loss',
      brokerIds: [],
      name: 'ZookeeperQuorumLost',
      fingerprint: 'alertmanager:zk-quorum',
    });
    const quorumLoss: Decision = {
      action: 'escalate',
      incidentType: 'quorum-loss',
      severity: 'SEV-1',
      page: true,
      reasons: ['the ensemble has no quorum'],
    };
    const opened = await record(zk, quorumLoss);
    if (opened.outcome !== 'created') throw new Error(`expected a new incident, got ${opened.outcome}`);
    const id = opened.incident.id;
    const down = signal({ id: 'sig-b2-a', brokerIds: [2] });
    // The first delivery fails on the call right after the one that adds the alarm's fingerprint
    // (a throttled or timed-out call); SQS then redelivers it.
    let armed = false;
    let failed = false;
    const flaky = {
      send: (cmd: { input: unknown }) => {
        if (armed && !failed) {
          failed = true;
          return Promise.reject(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }));
        }
        if (JSON.stringify(cmd.input).includes('ADD fingerprints')) armed = true;
        return doc.send(cmd as Parameters<DynamoDBDocumentClient['send']>[0]);
      },
    } as unknown as DynamoDBDocumentClient;
    const flakyStore = new IncidentStore({ client: flaky, tableName, now: () => clock });
    const bind = (o: OpenIncident[]) => correlate(down, brokerDecision([2]), o, DEFAULT_POLICY, clock);
    expect(bind(await store.listOpen('orders'))).toMatchObject({ kind: 'fold', incidentId: id });
    await expect(
      flakyStore.recordSignal(down, brokerDecision([2]), bind(await store.listOpen('orders')), bind),
    ).rejects.toThrow('Rate exceeded');
    expect(failed).toBe(true);
    // The redelivery, and the same alarm seen by two classifiers at once (new delivery ids).
    await record(down, brokerDecision([2]));
    await Promise.all(['sig-b2-b', 'sig-b2-c'].map((sid) => record({ ...down, id: sid }, brokerDecision([2]))));
    const after = await store.get(id);
    expect(after.timeline.filter((e) => e.action === 'signal-folded')).toHaveLength(1);
    expect(after.timeline.find((e) => e.action === 'signal-folded')?.detail).toMatch(
      /^cloudwatch signal kafka-heal-prod-orders-broker-2-down \(broker-down, brokers 2\) folded into this quorum-loss/,
    );
    expect(after.fingerprints).toContain(down.fingerprint);
    expect(after.brokers).toEqual([]);
    expect((await store.listOpen('orders')).map((i) => i.id)).toEqual([id]);
  });

  it('upgrades to a cascade when a second broker fails within the window, never lowering severity', async () => {
    const first = await record(signal(), brokerDecision([2]));
    expect(first.outcome).toBe('created');

    clock = new Date(Date.parse(at(-30)) + 300_000); // broker 2 first seen exactly one window ago (inclusive)
    const second = await record(
      signal({ id: 'sig-b3', brokerIds: [3], fingerprint: 'alarm:broker-3-down', observedAt: clock.toISOString() }),
      brokerDecision([3], 'SEV-3'),
    );
    expect(second.outcome).toBe('upgraded');
    if (second.outcome !== 'upgraded') return;
    expect(second.from).toEqual({ type: 'broker-failure', severity: 'SEV-2' });
    expect(second.incident).toMatchObject({ type: 'cascade-failure', severity: 'SEV-1' });
    expect(second.incident.brokers.map((b) => b.id)).toEqual([2, 3]);
    expect(await countItems('INCIDENT#', 'META')).toBe(1);

    const tl = (await store.get(second.incident.id)).timeline.map((e) => e.action);
    expect(tl).toEqual(['incident-opened', 'incident-upgraded']);
  });

  it('joins instead of upgrading when the second broker fails after the window', async () => {
    await record(signal(), brokerDecision([2]));
    clock = new Date(Date.parse(at(-30)) + 301_000);
    const late = await record(
      signal({ id: 'sig-b3', brokerIds: [3], fingerprint: 'alarm:broker-3-down', observedAt: clock.toISOString() }),
      brokerDecision([3]),
    );
    expect(late.outcome).toBe('joined');
    if (late.outcome !== 'joined') return;
    expect(late.incident.type).toBe('broker-failure');
    expect(late.newBrokers).toEqual([3]);
  });

  it('still detects the cascade when two brokers fail at the same moment (re-correlation after losing the create race)', async () => {
    const s2 = signal({ id: 'sig-2', brokerIds: [2], fingerprint: 'alarm:broker-2-down' });
    const s3 = signal({ id: 'sig-3', brokerIds: [3], fingerprint: 'alarm:broker-3-down' });
    const res = await Promise.all(
      [s2, s3].map((s) =>
        store.recordSignal(s, brokerDecision(s.brokerIds), { kind: 'new' }, (o) =>
          correlate(s, brokerDecision(s.brokerIds), o, DEFAULT_POLICY, clock),
        ),
      ),
    );
    expect(res.map((r) => r.outcome).sort()).toEqual(['created', 'upgraded']);
    const open = await store.listOpen('orders');
    expect(open).toHaveLength(1);
    expect(open[0]).toMatchObject({ type: 'cascade-failure', severity: 'SEV-1' });
    expect(open[0]!.brokers.map((b) => b.id)).toEqual([2, 3]);
  });

  it('resolves with MTTD/MTTR, leaves the open index, and a recurrence opens a new incident', async () => {
    const created = await record(signal(), brokerDecision([2]));
    if (created.outcome !== 'created') throw new Error('expected created');
    const id = created.incident.id;
    await store.setStatus(id, 'remediating', ['open'], { actor: 'classifier' });
    await expect(store.setStatus(id, 'awaiting-approval', ['open'])).rejects.toMatchObject({
      name: 'IncidentStatusConflict',
      actual: 'remediating',
    });
    await expect(store.setStatus('inc-missing', 'resolved', ['open'])).rejects.toMatchObject({
      name: 'IncidentNotFoundError',
    });

    clock = new Date(clock.getTime() + 120_000);
    const resolved = await store.setStatus(id, 'resolved', ['remediating'], {
      actor: 'workflow:broker-recovery',
      detail: 'broker 2 back in ISR',
    });
    // detected at -30 s, opened at 0 s, resolved at +120 s
    expect(resolved).toMatchObject({
      status: 'resolved',
      mttdSeconds: 30,
      mttrSeconds: 150,
      resolvedAt: clock.toISOString(),
    });
    expect(await store.listOpen('orders')).toHaveLength(0);

    // Same fault fires again (same alarm, same observed time: same deterministic id) -> a new incident beside the closed one.
    const again = await record(signal({ id: 'sig-again' }), brokerDecision([2]));
    expect(again.outcome).toBe('created');
    if (again.outcome !== 'created') return;
    expect(again.incident.id).not.toBe(id);
    expect(again.incident.id.length).toBeLessThanOrEqual(80);
    expect(await store.listOpen('orders')).toHaveLength(1);
  });

  it('keeps one remediation per cluster with the lock', async () => {
    const results = await Promise.allSettled([
      store.acquireLock('orders', 'inc-a', 600),
      store.acquireLock('orders', 'inc-b', 600),
    ]);
    const winners = results.filter((r) => r.status === 'fulfilled');
    const losers = results.filter((r) => r.status === 'rejected') as PromiseRejectedResult[];
    expect(winners).toHaveLength(1);
    expect(losers).toHaveLength(1);
    const winner = (winners[0] as PromiseFulfilledResult<{ owner: string }>).value.owner;
    const loser = winner === 'inc-a' ? 'inc-b' : 'inc-a';
    expect(losers[0]!.reason).toMatchObject({ name: 'LockHeldError', owner: winner, cluster: 'orders' });

    // Re-acquiring by the owner is safe (retries); renew and release by a non-owner are refused.
    await expect(store.acquireLock('orders', winner, 600)).resolves.toMatchObject({ owner: winner });
    await expect(store.renewLock('orders', loser, 600)).rejects.toMatchObject({ name: 'LockNotOwnedError' });
    await expect(store.releaseLock('orders', loser)).rejects.toMatchObject({ name: 'LockNotOwnedError' });
    expect((await store.getLock('orders'))?.owner).toBe(winner);

    // Other clusters are independent.
    await expect(store.acquireLock('payments', loser, 600)).resolves.toMatchObject({ owner: loser });

    // At the expiry second the lock still holds; one second later it can be taken over.
    clock = new Date(clock.getTime() + 600_000);
    await expect(store.acquireLock('orders', loser, 600)).rejects.toMatchObject({ name: 'LockHeldError' });
    clock = new Date(clock.getTime() + 1_000);
    await expect(store.acquireLock('orders', loser, 600)).resolves.toMatchObject({ owner: loser });
    await expect(store.releaseLock('orders', winner)).rejects.toMatchObject({ name: 'LockNotOwnedError' });

    const renewed = await store.renewLock('orders', loser, 1200);
    expect(renewed.expiresAt).toBe(Math.floor(clock.getTime() / 1000) + 1200);
    expect(await store.releaseLock('orders', loser)).toBe(true);
    expect(await store.releaseLock('orders', loser)).toBe(false);
    expect(await store.getLock('orders')).toBeUndefined();
  });

  it('returns recent heals for the flap breaker', async () => {
    await store.recordHeal('inc-1', {
      cluster: 'orders',
      type: 'broker-failure',
      brokerIds: [2],
      finishedAt: at(-4000),
    });
    await store.recordHeal('inc-2', {
      cluster: 'orders',
      type: 'broker-failure',
      brokerIds: [2],
      finishedAt: at(-3600),
    });
    await store.recordHeal('inc-3', { cluster: 'orders', type: 'disk-pressure', brokerIds: [1], finishedAt: at(-10) });
    await store.recordHeal('inc-4', {
      cluster: 'payments',
      type: 'broker-failure',
      brokerIds: [1],
      finishedAt: at(-10),
    });
    const heals = await store.recentHeals('orders', new Date(at(-3600)));
    expect(heals.map((h) => h.finishedAt)).toEqual([at(-3600), at(-10)]);
    expect(heals[1]).toEqual({ cluster: 'orders', type: 'disk-pressure', brokerIds: [1], finishedAt: at(-10) });
  });

  it('stores raw input, cut below the item size limit', async () => {
    const body = `{"x":"${'é'.repeat(300_000)}"}`; // ~600 KB of UTF-8
    const stored = await store.storeRaw({
      source: 'sqs:ingest',
      body,
      error: 'event matches no supported source',
      errorName: 'UnknownSourceError',
      receivedAt: clock.toISOString(),
    });
    expect(stored.truncated).toBe(true);
    expect(stored.pk).toBe('RAW#2026-11-22');
    const res = await doc.send(new ScanCommand({ TableName: tableName, ConsistentRead: true }));
    const item = (res.Items ?? []).find((i) => i.pk === stored.pk)!;
    expect(Buffer.byteLength(item.body as string)).toBeLessThanOrEqual(RAW_BODY_MAX_BYTES);
    expect((item.body as string).endsWith('é')).toBe(true);
    expect(item).toMatchObject({
      errorName: 'UnknownSourceError',
      truncated: true,
      bodyBytes: Buffer.byteLength(body),
    });
    expect(item.expiresAt).toBe(Math.floor(clock.getTime() / 1000) + 30 * 86_400);
  });
});
