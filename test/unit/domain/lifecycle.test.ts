// The incident lifecycle's pure rules: no fault swallowed by an escalated incident (the rule table
// of docs/incident-store.md), reopening, auto-resolve, cluster health from alarms, MTTA.
import { describe, expect, it } from 'vitest';
import { correlate } from '#domain/correlate.js';
import {
  autoResolveVerdict,
  clusterHealthFromAlarms,
  escalatedCoverage,
  incidentFamily,
  mtta,
  reopenTarget,
  UNPUBLISHED_METRIC_MS,
  type AlarmStatus,
  type AutoResolveFacts,
  type ResolvedIncident,
} from '#domain/lifecycle.js';
import type { Decision, IncidentType, OpenIncident, Severity, Signal } from '#domain/types.js';
import { AUTO, NOW, ago, signal } from './fixtures.js';

/** Broker 2's incident, escalated (the flap breaker stopped automation for it). */
function escalated(over: Partial<OpenIncident> = {}): OpenIncident {
  return {
    id: 'inc-b2',
    cluster: 'payments',
    type: 'broker-failure',
    severity: 'SEV-2',
    status: 'escalated',
    brokers: [{ id: 2, firstSeenAt: ago(600_000) }],
    openedAt: ago(600_000),
    fingerprints: ['broker-down-b2'],
    ...over,
  };
}

function remediate(
  incidentType: IncidentType = 'broker-failure',
  severity: Severity = 'SEV-2',
  brokerIds = [3],
): Decision {
  return {
    action: 'remediate',
    incidentType,
    severity,
    reasons: [],
    plan: { workflow: 'broker-recovery', brokerIds, dryRun: false, steps: [] },
  };
}

function escalate(incidentType: IncidentType, severity: Severity = 'SEV-3'): Decision {
  return { action: 'escalate', incidentType, severity, page: false, reasons: [] };
}

const IGNORE: Decision = { action: 'ignore', incidentType: 'broker-failure', severity: 'SEV-4', reasons: [] };
const down = (brokerIds: number[], fingerprint: string, over: Partial<Signal> = {}) =>
  signal({ brokerIds, fingerprint, name: fingerprint, ...over });

describe('no fault swallowed: the rule table (escalatedCoverage)', () => {
  it.each([
    [
      'a broker the incident does not have',
      down([3], 'broker-down-b3'),
      remediate(),
      false,
      /broker 3: not covered by escalated incident inc-b2 \(brokers 2\)/,
    ],
    [
      "the incident's own alarm firing again",
      down([2], 'broker-down-b2'),
      remediate('broker-failure', 'SEV-2', [2]),
      true,
      /alarm broker-down-b2 of escalated incident inc-b2 fired again/,
    ],
    [
      'its own alarm, now more severe (the severity rises on the incident)',
      down([2], 'broker-down-b2'),
      remediate('broker-failure', 'SEV-1', [2]),
      true,
      /fired again/,
    ],
    [
      'another alarm about its broker',
      down([2], 'prom-KafkaBrokerDown-b2'),
      remediate('broker-failure', 'SEV-2', [2]),
      true,
      /broker 2: covered by escalated incident inc-b2 \(brokers 2\)/,
    ],
    [
      'another alarm about its broker, more severe',
      down([2], 'offline-b2', { kind: 'offline-partitions' }),
      escalate('offline-partitions', 'SEV-1'),
      false,
      /offline-partitions SEV-1 is more severe than escalated incident inc-b2 \(broker-failure SEV-2\)/,
    ],
    ['two brokers, one new', down([2, 3], 'broker-down-b2b3'), remediate(), false, /brokers 2,3: not covered/],
  ])('%s', (_what, s, d, covered, why) => {
    const c = escalatedCoverage(escalated(), s, d);
    expect(c.covered).toBe(covered);
    expect(c.why).toMatch(why);
  });

  const cluster = escalated({
    id: 'inc-urp',
    type: 'under-replication',
    severity: 'SEV-3',
    brokers: [],
    fingerprints: ['urp-cw'],
  });
  it.each([
    [
      'the same cluster-wide fault from another alarm',
      signal({ kind: 'under-replicated', brokerIds: [], fingerprint: 'urp-prom' }),
      escalate('under-replication'),
      true,
      /the same cluster-wide under-replication/,
    ],
    [
      'another cluster-wide fault',
      signal({ kind: 'traffic-spike', brokerIds: [], fingerprint: 'spike' }),
      escalate('traffic-spike'),
      false,
      /traffic-spike is not the fault of escalated incident inc-urp \(under-replication\)/,
    ],
    [
      'an unknown alert (never covered by type)',
      signal({ kind: 'unknown', brokerIds: [], fingerprint: 'odd' }),
      escalate('unknown'),
      false,
      /two unknown alerts are two things nobody classified/,
    ],
    [
      'a consumer group it never had',
      signal({ kind: 'consumer-lag', brokerIds: [], fingerprint: 'lag-b', consumerGroup: 'billing' }),
      escalate('under-replication'),
      false,
      /consumer group billing: alarm probe:broker-down is not one of/,
    ],
    [
      'a topic it never had',
      signal({ kind: 'dlq-growth', brokerIds: [], fingerprint: 'dlq', topic: 'orders.dlq' }),
      escalate('under-replication'),
      false,
      /topic orders\.dlq: alarm/,
    ],
  ])('cluster-level incident: %s', (_what, s, d, covered, why) => {
    const c = escalatedCoverage(cluster, s, d);
    expect(c.covered).toBe(covered);
    expect(c.why).toMatch(why);
  });

  it('a consumer group alarm the incident already had is covered by its fingerprint', () => {
    const lag = escalated({ id: 'inc-lag', type: 'consumer-lag', brokers: [], fingerprints: ['lag-billing'] });
    expect(
      escalatedCoverage(
        lag,
        signal({ kind: 'consumer-lag', brokerIds: [], consumerGroup: 'billing', fingerprint: 'lag-billing' }),
        escalate('consumer-lag'),
      ).covered,
    ).toBe(true);
  });
});

describe('correlate with escalated incidents', () => {
  it("broker 3 crashing after broker 2 escalated gets its own incident, linked to broker 2's (outside the cascade window)", () => {
    expect(correlate(down([3], 'broker-down-b3'), remediate(), [escalated()], AUTO, NOW)).toEqual({
      kind: 'new',
      linkedTo: { incidentId: 'inc-b2', why: 'broker 3: not covered by escalated incident inc-b2 (brokers 2)' },
    });
  });

  it("within the cascade window too: the escalated incident is not grown into a cascade behind people's backs", () => {
    const recent = escalated({ brokers: [{ id: 2, firstSeenAt: ago(60_000) }] });
    expect(correlate(down([3], 'broker-down-b3'), remediate(), [recent], AUTO, NOW)).toMatchObject({
      kind: 'new',
      linkedTo: { incidentId: 'inc-b2' },
    });
  });

  it('broker 2 firing again joins its escalated incident and re-notifies the owner', () => {
    expect(
      correlate(down([2], 'broker-down-b2'), remediate('broker-failure', 'SEV-2', [2]), [escalated()], AUTO, NOW),
    ).toEqual({
      kind: 'join',
      incidentId: 'inc-b2',
      renotify: 'alarm broker-down-b2 of escalated incident inc-b2 fired again',
    });
    expect(
      correlate(down([2], 'prom-b2'), remediate('broker-failure', 'SEV-2', [2]), [escalated()], AUTO, NOW),
    ).toMatchObject({ kind: 'join', incidentId: 'inc-b2', renotify: expect.stringMatching(/covered/) });
  });

  it("a covering escalated incident takes its broker's alarm before an incident automation works on could absorb it", () => {
    const working = escalated({
      id: 'inc-b3',
      status: 'remediating',
      brokers: [{ id: 3, firstSeenAt: ago(30_000) }],
      fingerprints: ['broker-down-b3'],
      openedAt: ago(30_000),
    });
    expect(correlate(down([2], 'prom-b2'), remediate(), [working, escalated()], AUTO, NOW)).toMatchObject({
      kind: 'join',
      incidentId: 'inc-b2',
      renotify: expect.any(String),
    });
  });

  it('with a linked incident at work, the next new broker joins it (automation works on it) and never the escalated one', () => {
    const linked = escalated({
      id: 'inc-b3',
      status: 'remediating',
      brokers: [{ id: 3, firstSeenAt: ago(30_000) }],
      fingerprints: ['broker-down-b3'],
      openedAt: ago(30_000),
    });
    expect(correlate(down([4], 'broker-down-b4'), remediate(), [escalated(), linked], AUTO, NOW)).toMatchObject({
      kind: 'upgrade',
      incidentId: 'inc-b3',
      to: 'cascade-failure',
    });
  });

  it('an alarm the escalated incident had, now naming a broker it does not have, goes where automation works, else opens a linked incident', () => {
    const shared = down([2, 3], 'cluster-urp', { kind: 'under-replicated' });
    const worked = escalated({
      id: 'inc-urp',
      type: 'under-replication',
      status: 'open',
      brokers: [],
      fingerprints: [],
      openedAt: ago(10_000),
    });
    expect(
      correlate(
        shared,
        escalate('under-replication'),
        [escalated({ fingerprints: ['cluster-urp'] }), worked],
        AUTO,
        NOW,
      ),
    ).toEqual({ kind: 'join', incidentId: 'inc-urp' });
    expect(
      correlate(shared, escalate('under-replication'), [escalated({ fingerprints: ['cluster-urp'] })], AUTO, NOW),
    ).toMatchObject({ kind: 'new', linkedTo: { incidentId: 'inc-b2' } });
  });

  it('a resolved (OK) signal still annotates the escalated incident that has its alarm, or the one it would have joined', () => {
    const ok = down([2], 'broker-down-b2', { state: 'resolved' });
    expect(correlate(ok, IGNORE, [escalated()], AUTO, NOW)).toEqual({ kind: 'join', incidentId: 'inc-b2' });
    expect(correlate(down([3], 'other', { state: 'resolved' }), IGNORE, [escalated()], AUTO, NOW)).toEqual({
      kind: 'join',
      incidentId: 'inc-b2',
    });
  });

  it('an ignore decision opens nothing, linked or not', () => {
    expect(
      correlate(down([3], 'broker-down-b3'), { ...IGNORE, incidentType: 'broker-failure' }, [escalated()], AUTO, NOW),
    ).toEqual({ kind: 'new' });
  });

  it('two escalated incidents covering the same broker: the newest owns it; opened in the same millisecond, the id decides', () => {
    const older = escalated({ id: 'inc-b2-a', openedAt: ago(900_000) });
    const newer = escalated({ id: 'inc-b2-b' });
    expect(correlate(down([2], 'prom-b2'), remediate(), [older, newer], AUTO, NOW)).toMatchObject({
      kind: 'join',
      incidentId: 'inc-b2-b',
    });
    const twin = escalated({ id: 'inc-b2-c' });
    expect(correlate(down([2], 'prom-b2'), remediate(), [twin, newer], AUTO, NOW)).toMatchObject({
      kind: 'join',
      incidentId: 'inc-b2-c',
    });
    expect(correlate(down([2], 'prom-b2'), remediate(), [newer, twin], AUTO, NOW)).toMatchObject({
      kind: 'join',
      incidentId: 'inc-b2-c',
    });
  });

  it('suppressed incidents are never candidates', () => {
    expect(
      correlate(down([2], 'broker-down-b2'), remediate(), [escalated({ status: 'suppressed' })], AUTO, NOW),
    ).toEqual({ kind: 'new' });
  });
});

/** Broker 2's incident, auto-resolved 10 min ago. */
function resolved(over: Partial<ResolvedIncident> = {}): ResolvedIncident {
  return { ...escalated(), status: 'resolved', resolvedAt: ago(600_000), resolvedVia: 'auto-resolve', ...over };
}

describe('reopening a fault that returns (reopenTarget)', () => {
  const refire = down([2], 'broker-down-b2');
  const d = remediate('broker-failure', 'SEV-2', [2]);

  it('its own alarm firing again within reopenSeconds reopens the incident resolved without the healer', () => {
    expect(reopenTarget(refire, d, [resolved()], AUTO, NOW)?.id).toBe('inc-b2');
    for (const via of ['cli', 'page', 'pagerduty'] as const)
      expect(reopenTarget(refire, d, [resolved({ resolvedVia: via })], AUTO, NOW)?.id).toBe('inc-b2');
    expect(correlate(refire, d, [], AUTO, NOW, [resolved()])).toEqual({
      kind: 'reopen',
      incidentId: 'inc-b2',
      why: 'probe signal broker-down-b2 fired again 600 s after incident inc-b2 was resolved (auto-resolve); within reopenSeconds 1800',
    });
  });

  it('window edge: resolved exactly reopenSeconds ago reopens, 1 ms more opens a new incident; a resolve time in the future never', () => {
    expect(reopenTarget(refire, d, [resolved({ resolvedAt: ago(1_800_000) })], AUTO, NOW)?.id).toBe('inc-b2');
    expect(reopenTarget(refire, d, [resolved({ resolvedAt: ago(1_800_001) })], AUTO, NOW)).toBeUndefined();
    expect(reopenTarget(refire, d, [resolved({ resolvedAt: ago(-1) })], AUTO, NOW)).toBeUndefined();
  });

  it('healed by a workflow (or closed by the classifier, or by an unknown hand): a new incident, so every heal counts on its own', () => {
    for (const via of ['workflow', 'classifier', undefined] as const)
      expect(reopenTarget(refire, d, [resolved({ resolvedVia: via })], AUTO, NOW)).toBeUndefined();
    expect(correlate(refire, d, [], AUTO, NOW, [resolved({ resolvedVia: 'workflow' })])).toEqual({ kind: 'new' });
  });

  it('the same brokers in the same family reopen; another broker, another family, another cluster do not', () => {
    expect(
      reopenTarget(down([2], 'prom-b2'), remediate('cascade-failure', 'SEV-1', [2]), [resolved()], AUTO, NOW)?.id,
    ).toBe('inc-b2');
    expect(reopenTarget(down([3], 'broker-down-b3'), remediate(), [resolved()], AUTO, NOW)).toBeUndefined();
    expect(
      reopenTarget(
        down([2], 'disk-b2', { kind: 'disk-usage' }),
        remediate('disk-pressure', 'SEV-3', [2]),
        [resolved()],
        AUTO,
        NOW,
      ),
    ).toBeUndefined();
    expect(
      reopenTarget(signal({ brokerIds: [], fingerprint: 'urp' }), escalate('broker-failure'), [resolved()], AUTO, NOW),
    ).toBeUndefined();
    expect(
      reopenTarget(down([2], 'broker-down-b2', { cluster: 'orders' }), d, [resolved()], AUTO, NOW),
    ).toBeUndefined();
  });

  it('the most recently resolved wins; an OK notice, an ignore decision or reopenSeconds 0 reopen nothing', () => {
    const older = resolved({ id: 'inc-b2-old', resolvedAt: ago(900_000) });
    expect(reopenTarget(refire, d, [older, resolved()], AUTO, NOW)?.id).toBe('inc-b2');
    expect(reopenTarget(refire, d, [resolved({ id: 'inc-a' }), resolved({ id: 'inc-b' })], AUTO, NOW)?.id).toBe(
      'inc-b',
    );
    expect(
      reopenTarget(down([2], 'broker-down-b2', { state: 'resolved' }), d, [resolved()], AUTO, NOW),
    ).toBeUndefined();
    expect(reopenTarget(refire, IGNORE, [resolved()], AUTO, NOW)).toBeUndefined();
    expect(reopenTarget(refire, d, [resolved()], { ...AUTO, reopenSeconds: 0 }, NOW)).toBeUndefined();
  });

  it('an active incident of the fault takes the signal before any reopening', () => {
    const working = escalated({ id: 'inc-now', status: 'remediating', fingerprints: [] });
    expect(correlate(refire, d, [working], AUTO, NOW, [resolved()])).toEqual({ kind: 'join', incidentId: 'inc-now' });
  });

  it('a cascade is a broker failure that spread (one family)', () => {
    expect(incidentFamily('cascade-failure')).toBe('broker-failure');
    expect(incidentFamily('disk-pressure')).toBe('disk-pressure');
  });
});

describe('cluster health from its alarms', () => {
  const ok = (name: string, since: string): AlarmStatus => ({ name, state: 'OK', since });

  it('healthy since the last alarm returned to OK', () => {
    expect(clusterHealthFromAlarms([ok('a', ago(300_000)), ok('b', ago(60_000)), ok('c', ago(900_000))], NOW)).toEqual({
      healthy: true,
      since: ago(60_000),
      detail: `all 3 alarms OK, the last back b at ${ago(60_000)}`,
    });
  });

  it('says since when the probe is healthy when the probe watches the cluster', () => {
    const alarms: AlarmStatus[] = [
      ok('msk', ago(60_000)),
      { ...ok('heartbeat', ago(300_000)), probe: true },
      { ...ok('broker-down', ago(200_000)), probe: true },
    ];
    expect(clusterHealthFromAlarms(alarms, NOW)).toEqual({
      healthy: true,
      since: ago(60_000),
      detail: `all 3 alarms OK, the last back msk at ${ago(60_000)}; the probe healthy since ${ago(200_000)} (its 2 alarm(s) OK)`,
    });
  });

  it('an alarm in ALARM or without data (a silent probe), or no alarm at all, is not healthy', () => {
    expect(clusterHealthFromAlarms([], NOW)).toEqual({ healthy: false, reason: 'no alarm of the cluster was found' });
    expect(
      clusterHealthFromAlarms(
        [
          ok('a', ago(1)),
          { name: 'b', state: 'ALARM', since: ago(1) },
          { name: 'c', state: 'INSUFFICIENT_DATA', since: ago(1) },
        ],
        NOW,
      ),
    ).toEqual({
      healthy: false,
      reason: 'b ALARM, c INSUFFICIENT_DATA',
    });
    const many = Array.from({ length: 7 }, (_, i): AlarmStatus => ({ name: `x${i}`, state: 'ALARM', since: ago(1) }));
    expect(clusterHealthFromAlarms(many, NOW)).toEqual({
      healthy: false,
      reason: 'x0 ALARM, x1 ALARM, x2 ALARM, x3 ALARM, x4 ALARM and 2 more',
    });
  });

  it("a platform alarm without data for a day (a metric nobody publishes) is left out; the probe's never is", () => {
    const DAY = UNPUBLISHED_METRIC_MS;
    const disk = (since: string): AlarmStatus => ({ name: 'disk', state: 'INSUFFICIENT_DATA', since });
    // A day exactly: left out, and named.
    expect(clusterHealthFromAlarms([ok('a', ago(60_000)), disk(ago(DAY))], NOW)).toEqual({
      healthy: true,
      since: ago(60_000),
      detail: `all 1 alarms OK, the last back a at ${ago(60_000)}; left out, without data for a day or more (a metric nobody publishes): disk`,
    });
    // A second short of it: it still counts (a metric gone quiet during the incident).
    expect(clusterHealthFromAlarms([ok('a', ago(60_000)), disk(ago(DAY - 1000))], NOW)).toEqual({
      healthy: false,
      reason: 'disk INSUFFICIENT_DATA',
    });
    // The probe's alarms without data mean a silent probe, however long.
    expect(
      clusterHealthFromAlarms([ok('a', ago(60_000)), { ...disk(ago(3 * DAY)), name: 'heartbeat', probe: true }], NOW),
    ).toEqual({ healthy: false, reason: 'heartbeat INSUFFICIENT_DATA' });
    // Nothing left to judge by.
    expect(clusterHealthFromAlarms([disk(ago(DAY)), { ...disk(ago(2 * DAY)), name: 'lag' }], NOW)).toEqual({
      healthy: false,
      reason: 'none of its 2 alarm(s) has had data for a day',
    });
    const four = ['d1', 'd2', 'd3', 'd4'].map((n) => ({ ...disk(ago(DAY)), name: n }));
    expect((clusterHealthFromAlarms([ok('a', ago(60_000)), ...four], NOW) as { detail: string }).detail).toMatch(
      /: d1, d2, d3 and 1 more$/,
    );
  });
});

describe('auto-resolve (autoResolveVerdict)', () => {
  const QUIET = { ...AUTO, autoResolveSeconds: 900 };
  const facts = (over: Partial<AutoResolveFacts> = {}): AutoResolveFacts => ({
    status: 'escalated',
    alarms: { 'broker-down-b2': { state: 'ok', at: ago(1_000_000) } },
    ...over,
  });
  const healthy = { healthy: true as const, since: ago(900_000), detail: 'all 9 alarms OK' };

  it('resolves an escalated or open incident whose alarms are OK on a healthy cluster, both for the quiet period (inclusive)', () => {
    const v = autoResolveVerdict(facts(), healthy, QUIET, NOW);
    expect(v).toEqual({
      resolve: true,
      reason: `recovered without the healer: its 1 alarm(s) back to OK (broker-down-b2 since ${ago(1_000_000)}), none firing for 900 s, and the cluster healthy since ${ago(900_000)} (all 9 alarms OK)`,
    });
    const four = Object.fromEntries(
      ['a', 'b', 'c', 'd'].map((k, i) => [k, { state: 'ok' as const, at: ago(1_000_000 + i) }]),
    );
    expect(autoResolveVerdict(facts({ alarms: four }), healthy, QUIET, NOW).reason).toContain(
      `its 4 alarm(s) back to OK (a since ${ago(1_000_000)}, b since ${ago(1_000_001)}, c since ${ago(1_000_002)} and 1 more)`,
    );
    expect(autoResolveVerdict(facts({ status: 'open' }), healthy, QUIET, NOW).resolve).toBe(true);
    expect(autoResolveVerdict(facts({ alarms: {} }), healthy, QUIET, NOW)).toMatchObject({
      resolve: true,
      reason: expect.stringMatching(/no alarm of its own is firing/),
    });
  });

  it('quiet period edges: 1 ms short of it on the alarms or the cluster health holds it open', () => {
    expect(
      autoResolveVerdict(facts({ alarms: { a: { state: 'ok', at: ago(899_999) } } }), healthy, QUIET, NOW),
    ).toEqual({ resolve: false, reason: 'the last alarm change was 900 s ago (quiet period 900 s)' });
    expect(
      autoResolveVerdict(facts({ alarms: { a: { state: 'ok', at: ago(900_000) } } }), healthy, QUIET, NOW).resolve,
    ).toBe(true);
    expect(autoResolveVerdict(facts(), { ...healthy, since: ago(899_999) }, QUIET, NOW)).toEqual({
      resolve: false,
      reason: 'the cluster is healthy for 900 s only (quiet period 900 s)',
    });
  });

  it('holds it open while anything says so', () => {
    const no = (f: Partial<AutoResolveFacts>, h = healthy as Parameters<typeof autoResolveVerdict>[1], p = QUIET) =>
      autoResolveVerdict(facts(f), h, p, NOW).reason;
    expect(no({}, healthy, { ...QUIET, autoResolveSeconds: 0 })).toBe(
      'auto-resolve is off (policy.autoResolveSeconds 0)',
    );
    expect(no({ status: 'remediating' })).toBe('the incident is remediating');
    expect(no({ status: 'resolved' })).toBe('the incident is resolved');
    expect(no({ holdOpen: true })).toBe('a person reopened it: a person resolves it');
    expect(no({ alarms: undefined })).toBe('the incident does not track all its alarms: resolve it by hand');
    expect(no({ alarmsUntracked: true })).toBe('the incident does not track all its alarms: resolve it by hand');
    expect(
      no({ alarms: { b2: { state: 'firing', at: ago(5_000_000) }, b3: { state: 'ok', at: ago(5_000_000) } } }),
    ).toBe('1 alarm(s) still firing: b2');
    expect(no({}, { healthy: false, reason: 'x ALARM' })).toBe('the cluster is not healthy: x ALARM');
  });
});

describe('MTTA', () => {
  it('from the first page when one went out, else from detection; never negative', () => {
    expect(mtta(ago(0), ago(600_000), ago(540_000))).toEqual({ seconds: 540, from: 'page' });
    expect(mtta(ago(0), ago(600_000))).toEqual({ seconds: 600, from: 'detection' });
    expect(mtta(ago(10_000), ago(0))).toEqual({ seconds: 0, from: 'detection' });
  });
});
