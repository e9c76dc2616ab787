import { describe, expect, it } from 'vitest';
import { correlate, foldEntry } from '#domain/correlate.js';
import { fingerprintKey } from '#domain/incident-id.js';
import type { Decision, IncidentType, OpenIncident, Severity, Signal } from '#domain/types.js';
import { AUTO, NOW, ago, signal } from './fixtures.js';

function incident(over: Partial<OpenIncident> = {}): OpenIncident {
  return {
    id: 'inc-brokers',
    cluster: 'payments',
    type: 'broker-failure',
    severity: 'SEV-2',
    status: 'remediating',
    brokers: [{ id: 1, firstSeenAt: ago(60_000) }],
    openedAt: ago(60_000),
    fingerprints: ['fp-broker-1'],
    ...over,
  };
}

function decision(incidentType: IncidentType, severity: Severity = 'SEV-2'): Decision {
  return { action: 'escalate', incidentType, severity, page: false, reasons: [] };
}

describe('correlate', () => {
  it('no open incident -> new', () => {
    expect(correlate(signal(), decision('broker-failure'), [], AUTO, NOW)).toEqual({ kind: 'new' });
  });

  it('a long fingerprint is known by its key, as the incident keeps it', () => {
    const long = `alertmanager:${'x'.repeat(200)}`;
    const inc = incident({ id: 'inc-disk', type: 'disk-pressure', brokers: [], fingerprints: [fingerprintKey(long)] });
    expect(correlate(signal({ fingerprint: long }), decision('broker-failure'), [inc], AUTO, NOW)).toEqual({
      kind: 'join',
      incidentId: 'inc-disk',
    });
    expect(correlate(signal({ fingerprint: `${long}y` }), decision('broker-failure'), [inc], AUTO, NOW)).toEqual({
      kind: 'new',
    });
  });

  it('a known fingerprint joins its incident (redelivery, re-fire)', () => {
    const inc = incident({ id: 'inc-disk', type: 'disk-pressure', brokers: [], fingerprints: ['fp-1'] });
    expect(correlate(signal({ fingerprint: 'fp-1' }), decision('broker-failure'), [inc], AUTO, NOW)).toEqual({
      kind: 'join',
      incidentId: 'inc-disk',
    });
  });

  it('resolved incidents and other clusters are never joined', () => {
    const open = [
      incident({ status: 'resolved', fingerprints: ['fp-1'] }),
      incident({ id: 'other', cluster: 'orders', fingerprints: ['fp-1'] }),
    ];
    expect(correlate(signal({ fingerprint: 'fp-1' }), decision('broker-failure'), open, AUTO, NOW)).toEqual({
      kind: 'new',
    });
  });

  it('the same broker failing again joins the broker incident', () => {
    expect(correlate(signal({ brokerIds: [1] }), decision('broker-failure'), [incident()], AUTO, NOW)).toEqual({
      kind: 'join',
      incidentId: 'inc-brokers',
    });
  });

  it('a second distinct broker within the cascade window upgrades to cascade-failure at SEV-1', () => {
    expect(correlate(signal({ brokerIds: [2] }), decision('broker-failure'), [incident()], AUTO, NOW)).toEqual({
      kind: 'upgrade',
      incidentId: 'inc-brokers',
      to: 'cascade-failure',
      severity: 'SEV-1',
    });
  });

  it('cascade window edge: first seen exactly 300 s ago upgrades, 300.001 s ago joins', () => {
    const at = (ms: number) =>
      correlate(
        signal({ brokerIds: [2] }),
        decision('broker-failure'),
        [incident({ brokers: [{ id: 1, firstSeenAt: ago(ms) }] })],
        AUTO,
        NOW,
      );
    expect(at(300_000)).toMatchObject({ kind: 'upgrade', to: 'cascade-failure' });
    expect(at(300_001)).toEqual({ kind: 'join', incidentId: 'inc-brokers' });
  });

  it('an open cascade absorbs more brokers; its severity rises only when the decision is worse', () => {
    const cascade = incident({ type: 'cascade-failure', severity: 'SEV-2' });
    expect(correlate(signal({ brokerIds: [3] }), decision('cascade-failure', 'SEV-1'), [cascade], AUTO, NOW)).toEqual({
      kind: 'upgrade',
      incidentId: 'inc-brokers',
      to: 'cascade-failure',
      severity: 'SEV-1',
    });
    expect(correlate(signal({ brokerIds: [3] }), decision('cascade-failure', 'SEV-3'), [cascade], AUTO, NOW)).toEqual({
      kind: 'join',
      incidentId: 'inc-brokers',
    });
  });

  it('a broker-failure decision joins an open cascade', () => {
    expect(
      correlate(
        signal({ brokerIds: [1] }),
        decision('broker-failure', 'SEV-2'),
        [incident({ type: 'cascade-failure', severity: 'SEV-1' })],
        AUTO,
        NOW,
      ),
    ).toEqual({
      kind: 'join',
      incidentId: 'inc-brokers',
    });
  });

  it('same incident type joins; a worse severity upgrades in place', () => {
    const lag = incident({ id: 'inc-lag', type: 'consumer-lag', severity: 'SEV-3', brokers: [] });
    const s = signal({ kind: 'consumer-lag', brokerIds: [], fingerprint: 'fp-lag-2' });
    expect(correlate(s, decision('consumer-lag', 'SEV-3'), [lag], AUTO, NOW)).toEqual({
      kind: 'join',
      incidentId: 'inc-lag',
    });
    expect(correlate(s, decision('consumer-lag', 'SEV-1'), [lag], AUTO, NOW)).toEqual({
      kind: 'upgrade',
      incidentId: 'inc-lag',
      to: 'consumer-lag',
      severity: 'SEV-1',
    });
  });

  it('a different fault on a broker of an open incident joins it (same broker)', () => {
    const s = signal({ kind: 'disk-usage', brokerIds: [1], fingerprint: 'fp-disk' });
    expect(correlate(s, decision('disk-pressure'), [incident()], AUTO, NOW)).toEqual({
      kind: 'join',
      incidentId: 'inc-brokers',
    });
    expect(correlate({ ...s, brokerIds: [4] }, decision('disk-pressure'), [incident()], AUTO, NOW)).toEqual({
      kind: 'new',
    });
  });

  it('a more severe fault on the broker of a quieter incident takes the incident over', () => {
    const disk = incident({
      id: 'inc-disk',
      type: 'disk-pressure',
      severity: 'SEV-3',
      brokers: [{ id: 1, firstSeenAt: ago(0) }],
    });
    expect(correlate(signal({ brokerIds: [1] }), decision('broker-failure', 'SEV-2'), [disk], AUTO, NOW)).toEqual({
      kind: 'upgrade',
      incidentId: 'inc-disk',
      to: 'broker-failure',
      severity: 'SEV-2',
    });
    expect(correlate(signal({ brokerIds: [1] }), decision('broker-failure', 'SEV-3'), [disk], AUTO, NOW)).toEqual({
      kind: 'join',
      incidentId: 'inc-disk',
    });
  });
});

describe('correlate: broker-level signals fold into an open cluster-wide incident', () => {
  // payments: EC2, ZooKeeper mode, 10 brokers, DR peer (fixtures).
  const quorum = (over: Partial<OpenIncident> = {}) =>
    incident({
      id: 'inc-quorum',
      type: 'quorum-loss',
      severity: 'SEV-1',
      status: 'awaiting-approval',
      brokers: [],
      fingerprints: ['zk-quorum'],
      openedAt: ago(30_000),
      ...over,
    });
  const site = (over: Partial<OpenIncident> = {}) =>
    incident({
      id: 'inc-site',
      type: 'site-failure',
      severity: 'SEV-1',
      status: 'remediating',
      brokers: [],
      fingerprints: ['site-down'],
      openedAt: ago(20_000),
      ...over,
    });
  const brokerDown = (over: Partial<Signal> = {}) =>
    signal({
      source: 'cloudwatch',
      name: 'kafka-heal-prod-payments-broker-down-b2',
      brokerIds: [2],
      fingerprint: 'fp-b2',
      ...over,
    });
  const remediate: Decision = {
    action: 'remediate',
    incidentType: 'broker-failure',
    severity: 'SEV-2',
    plan: { workflow: 'broker-recovery', brokerIds: [2], dryRun: false, steps: [] },
    reasons: ['1 of 10 brokers failing within 300 s (10%): broker 2.'],
  };

  it('a broker-down alarm while the quorum is lost folds into the quorum-loss incident; the entry says what it was and what it would have done', () => {
    expect(correlate(brokerDown(), remediate, [quorum()], AUTO, NOW)).toEqual({
      kind: 'fold',
      incidentId: 'inc-quorum',
      into: 'quorum-loss',
      entry: {
        detail:
          'cloudwatch signal kafka-heal-prod-payments-broker-down-b2 (broker-down, brokers 2) folded into this quorum-loss: no broker-failure incident opened, no page, no workflow started (on its own: broker-failure SEV-2, remediate with broker-recovery for brokers 2)',
        reasons: [
          'The metadata quorum of payments is lost (incident inc-quorum, awaiting-approval): brokers cannot register, elect a controller or change their ISRs, so broker-level alarms are symptoms of the loss, and quorum-recovery restarts every broker itself.',
          '1 of 10 brokers failing within 300 s (10%): broker 2.',
        ],
      },
    });
  });

  it('while the site is down: the entry names the site failure; an escalation with a page says so', () => {
    const c = correlate(
      brokerDown(),
      { action: 'escalate', incidentType: 'cascade-failure', severity: 'SEV-1', page: true, reasons: [] },
      [site()],
      AUTO,
      NOW,
    );
    expect(c).toMatchObject({ kind: 'fold', incidentId: 'inc-site', into: 'site-failure' });
    const entry = (c as Extract<typeof c, { kind: 'fold' }>).entry;
    expect(entry.detail).toBe(
      'cloudwatch signal kafka-heal-prod-payments-broker-down-b2 (broker-down, brokers 2) folded into this site-failure: no cascade-failure incident opened, no page, no workflow started (on its own: cascade-failure SEV-1, escalate with a page)',
    );
    expect(entry.reasons).toEqual([
      'The site of payments is down (incident inc-site, remediating): no broker of it answers, so broker-level alarms are symptoms of the site failure, and its incident is the response.',
    ]);
  });

  it('every broker-level type folds; other faults on the cluster do not', () => {
    const folds = (type: IncidentType, severity: Severity = 'SEV-2') =>
      correlate(brokerDown({ fingerprint: `fp-${type}` }), decision(type, severity), [quorum()], AUTO, NOW).kind;
    for (const type of [
      'broker-failure',
      'cascade-failure',
      'offline-partitions',
      'under-replication',
      'controller-loss',
    ] as const)
      expect(folds(type, 'SEV-1'), type).toBe('fold');
    for (const type of [
      'disk-pressure',
      'consumer-lag',
      'monitoring-outage',
      'security-event',
      'replication-lag',
      'error-rate',
    ] as const)
      expect(folds(type), type).toBe('new');
  });

  it("folds only while the cluster-wide incident is the automation's: open, remediating or awaiting approval", () => {
    const at = (status: OpenIncident['status']) =>
      correlate(brokerDown(), remediate, [quorum({ status })], AUTO, NOW).kind;
    expect(['open', 'remediating', 'awaiting-approval'].map((s) => at(s as OpenIncident['status']))).toEqual([
      'fold',
      'fold',
      'fold',
    ]);
    // Handed to people, or closed: a broker alarm now is a fault of its own.
    expect(['escalated', 'resolved', 'suppressed'].map((s) => at(s as OpenIncident['status']))).toEqual([
      'new',
      'new',
      'new',
    ]);
  });

  it('an escalated cluster-wide incident does not take back an alarm it folded before: the re-fire opens its own incident', () => {
    const escalated = quorum({ status: 'escalated', fingerprints: ['zk-quorum', 'fp-b2'] });
    expect(correlate(brokerDown(), remediate, [escalated], AUTO, NOW)).toEqual({ kind: 'new' });
    // ... and joins an open broker incident like any broker alarm.
    expect(correlate(brokerDown({ brokerIds: [1] }), remediate, [escalated, incident()], AUTO, NOW)).toEqual({
      kind: 'join',
      incidentId: 'inc-brokers',
    });
  });

  it("never folds into another cluster's incident", () => {
    expect(
      correlate(brokerDown(), remediate, [quorum({ cluster: 'orders' }), site({ cluster: 'orders' })], AUTO, NOW),
    ).toEqual({ kind: 'new' });
  });

  it('a resolved alarm does not fold: it annotates the incident that holds its fingerprint, or nothing', () => {
    const resolved = brokerDown({ state: 'resolved' });
    const ignore: Decision = { action: 'ignore', incidentType: 'broker-failure', severity: 'SEV-4', reasons: [] };
    expect(correlate(resolved, ignore, [quorum({ fingerprints: ['zk-quorum', 'fp-b2'] })], AUTO, NOW)).toEqual({
      kind: 'join',
      incidentId: 'inc-quorum',
    });
    expect(correlate(resolved, ignore, [quorum()], AUTO, NOW)).toEqual({ kind: 'new' });
  });

  it('an alarm folded into a quorum loss that was then escalated, fired again and got its own incident: its OK notice goes to that newer incident', () => {
    const resolved = brokerDown({ state: 'resolved' });
    const ignore: Decision = { action: 'ignore', incidentType: 'broker-failure', severity: 'SEV-4', reasons: [] };
    const escalatedQuorum = quorum({ status: 'escalated', fingerprints: ['zk-quorum', 'fp-b2'] });
    const own = incident({ id: 'inc-b2', fingerprints: ['fp-b2'], openedAt: ago(5_000) });
    expect(correlate(resolved, ignore, [escalatedQuorum, own], AUTO, NOW)).toEqual({
      kind: 'join',
      incidentId: 'inc-b2',
    });
    expect(correlate(resolved, ignore, [own, escalatedQuorum], AUTO, NOW)).toEqual({
      kind: 'join',
      incidentId: 'inc-b2',
    });
    // Opened in the same millisecond: the id decides, the same way for every classifier.
    const twin = incident({ id: 'inc-b2-twin', fingerprints: ['fp-b2'], openedAt: ago(5_000) });
    expect(correlate(resolved, ignore, [own, twin], AUTO, NOW)).toEqual({ kind: 'join', incidentId: 'inc-b2-twin' });
    expect(correlate(resolved, ignore, [twin, own], AUTO, NOW)).toEqual({ kind: 'join', incidentId: 'inc-b2-twin' });
  });

  it('severity ordering: a signal more severe than the cluster-wide incident keeps its own incident; equal or less severe folds', () => {
    const sev2 = quorum({ severity: 'SEV-2' });
    expect(correlate(brokerDown(), decision('cascade-failure', 'SEV-1'), [sev2], AUTO, NOW)).toEqual({ kind: 'new' });
    expect(correlate(brokerDown(), decision('broker-failure', 'SEV-2'), [sev2], AUTO, NOW)).toMatchObject({
      kind: 'fold',
      incidentId: 'inc-quorum',
    });
    expect(correlate(brokerDown(), decision('under-replication', 'SEV-3'), [sev2], AUTO, NOW)).toMatchObject({
      kind: 'fold',
      incidentId: 'inc-quorum',
    });
  });

  it('folds before a broker incident still open on the cluster could grow (it would page again) and before a re-fire joins it', () => {
    const cascade = incident({
      type: 'cascade-failure',
      severity: 'SEV-1',
      status: 'escalated',
      fingerprints: ['fp-b2'],
    });
    expect(
      correlate(brokerDown({ brokerIds: [3], fingerprint: 'fp-b3' }), remediate, [cascade, quorum()], AUTO, NOW),
    ).toMatchObject({ kind: 'fold', incidentId: 'inc-quorum' });
    expect(correlate(brokerDown(), remediate, [cascade, quorum()], AUTO, NOW)).toMatchObject({
      kind: 'fold',
      incidentId: 'inc-quorum',
    });
  });

  it('with a site failure and a quorum loss both open, the earlier opened one takes the signal', () => {
    expect(correlate(brokerDown(), remediate, [site(), quorum()], AUTO, NOW)).toMatchObject({
      kind: 'fold',
      incidentId: 'inc-quorum',
    });
    expect(correlate(brokerDown(), remediate, [site({ openedAt: ago(40_000) }), quorum()], AUTO, NOW)).toMatchObject({
      kind: 'fold',
      incidentId: 'inc-site',
    });
    // Opened in the same millisecond: the id decides, so every classifier picks the same one.
    expect(correlate(brokerDown(), remediate, [site({ openedAt: ago(30_000) }), quorum()], AUTO, NOW)).toMatchObject({
      kind: 'fold',
      incidentId: 'inc-quorum',
    });
    expect(
      correlate(brokerDown(), remediate, [quorum({ id: 'inc-z-quorum' }), site({ openedAt: ago(30_000) })], AUTO, NOW),
    ).toMatchObject({ kind: 'fold', incidentId: 'inc-site' });
  });

  it('the fold entry states what the signal would have done on its own, whatever that was', () => {
    const own = (d: Decision, over: Partial<Signal> = {}) =>
      foldEntry(brokerDown(over), d, quorum()).detail.replace(/^.*\(on its own: (.*)\)$/, '$1');
    const window = { start: '2026-11-22T00:00:00Z', end: '2026-11-22T06:00:00Z' };
    expect(
      own({
        action: 'ignore',
        incidentType: 'broker-failure',
        severity: 'SEV-2',
        reasons: [],
        suppressed: { by: 'maintenance-window', window },
      }),
    ).toBe('broker-failure SEV-2, suppressed');
    expect(own({ action: 'ignore', incidentType: 'under-replication', severity: 'SEV-4', reasons: [] })).toBe(
      'under-replication SEV-4, no action',
    );
    expect(
      own({ action: 'escalate', incidentType: 'offline-partitions', severity: 'SEV-1', page: false, reasons: [] }),
    ).toBe('offline-partitions SEV-1, escalate');
    expect(own({ ...remediate, action: 'await-approval', plan: { ...remediate.plan, brokerIds: [] } })).toBe(
      'broker-failure SEV-2, await-approval with broker-recovery',
    );
    // A cluster-wide alarm (brokers found by tag) names no broker.
    expect(foldEntry(brokerDown({ brokerIds: [] }), remediate, quorum()).detail).toMatch(
      /^cloudwatch signal kafka-heal-prod-payments-broker-down-b2 \(broker-down\) folded into this quorum-loss/,
    );
  });

  it('a cluster-wide signal itself is never folded: it joins or opens its own incident', () => {
    const zk = signal({ kind: 'quorum-loss', brokerIds: [], fingerprint: 'zk-quorum-2' });
    expect(correlate(zk, decision('quorum-loss', 'SEV-1'), [quorum()], AUTO, NOW)).toEqual({
      kind: 'join',
      incidentId: 'inc-quorum',
    });
    expect(
      correlate(
        signal({ kind: 'site-down', brokerIds: [], fingerprint: 'site' }),
        decision('site-failure', 'SEV-1'),
        [quorum()],
        AUTO,
        NOW,
      ),
    ).toEqual({ kind: 'new' });
  });
});
