// The auto-resolver with doubles (the DynamoDB Local run is test/integration/auto-resolve.test.ts):
// which incidents it judges and resolves, what it never reads or writes, one failure never stopping
// the others, and the CloudWatch alarm reader (only this deployment's alarms of this cluster, paged).
import { CloudWatchClient, DescribeAlarmsCommand, type MetricAlarm } from '@aws-sdk/client-cloudwatch';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { alarmMarker } from '#domain/normalize/marker.js';
import { parsePolicy } from '#domain/policy.js';
import type { AlarmStatus } from '#domain/lifecycle.js';
import { runAutoResolve, type AutoResolveDeps } from '#functions/lifecycle/auto-resolve.js';
import { cloudWatchAlarmSource, MAX_ALARM_PAGES } from '#functions/lifecycle/cluster-alarms.js';
import { ConditionalWriteConflict } from '#shared/errors.js';
import type { IncidentRecord } from '#tools/incident-store.js';
import { storePieces } from '../support/store-pieces.js';
import type { LoadedPolicy } from '#shared/policy-source.js';

const NOW = new Date('2026-11-22T03:00:00.000Z');
const ago = (s: number) => new Date(NOW.getTime() - s * 1000).toISOString();
const POLICY = parsePolicy({ mode: 'auto', autoResolveSeconds: 900 });

const incident = (id: string, over: Partial<IncidentRecord> = {}): IncidentRecord => ({
  id,
  cluster: 'orders',
  type: 'broker-failure',
  severity: 'SEV-2',
  status: 'escalated',
  brokers: [{ id: 2, firstSeenAt: ago(3600) }],
  openedAt: ago(3600),
  fingerprints: ['alarm:b2'],
  signalCount: 2,
  detectedAt: ago(3600),
  lastSignalAt: ago(1000),
  alarms: { 'alarm:b2': { state: 'ok', at: ago(1000) } },
  version: 4,
  ...over,
});

const okAlarms = (since = ago(1000)): AlarmStatus[] => [
  { name: 'kafka-heal-prod.orders-broker-down', state: 'OK', since, probe: true },
  { name: 'kafka-heal-prod.orders-probe-heartbeat', state: 'OK', since: ago(5000), probe: true },
];

function deps(open: Record<string, IncidentRecord[]>, maxIncidents?: number) {
  const store = {
    listOpen: vi.fn(async (cluster: string) => open[cluster] ?? []),
    resolveBy: vi.fn(
      async (
        id: string,
      ): Promise<{
        outcome: 'resolved' | 'already-closed';
        incident: IncidentRecord;
        from?: IncidentRecord['status'];
      }> => ({
        outcome: 'resolved',
        incident: incident(id, { status: 'resolved', firstPagedAt: ago(3500) }),
        from: 'escalated',
      }),
    ),
    acknowledge: vi.fn(),
    reopenBy: vi.fn(),
    addNote: vi.fn(),
    appendTimeline: vi.fn(async (_id: string, e: object) => ({ at: 'now', ...e }) as never),
    fenceRun: vi.fn(),
    releaseLock: vi.fn(),
    markPagerDutySynced: vi.fn(async () => undefined),
  };
  const policies = {
    get: vi.fn(async (): Promise<LoadedPolicy> => ({ policy: POLICY, origin: 'ssm', parameterName: '/p' })),
  };
  const alarms = { alarms: vi.fn(async (_cluster: string) => okAlarms()) };
  const notify = vi.fn(async () => ({
    delivered: true,
    via: 'pagerduty' as const,
    attempts: [{ channel: 'pagerduty' as const, outcome: 'delivered' as const, at: 'now' }],
  }));
  const d = {
    ...storePieces(store),
    policies,
    alarms,
    notify,
    clusters: Object.keys(open),
    now: () => NOW,
    ...(maxIncidents === undefined ? {} : { maxIncidents }),
  };
  return { ...(d satisfies AutoResolveDeps), store };
}

describe('runAutoResolve', () => {
  it('resolves an escalated incident quiet for the window at the version it judged, says why, and tells PagerDuty', async () => {
    const d = deps({ orders: [incident('inc-1')] });
    const r = await runAutoResolve(d);
    expect(r).toMatchObject({
      clusters: 1,
      checked: 1,
      resolved: 1,
      skipped: 0,
      failed: 0,
      deferred: 0,
      failedClusters: [],
    });
    const [id, by, via, reason, version] = d.store.resolveBy.mock.calls[0] as unknown as [
      string,
      string,
      string,
      string,
      number,
    ];
    expect([id, by, via, version]).toEqual(['inc-1', 'auto-resolve', 'auto-resolve', 4]);
    expect(reason).toBe(
      `recovered without the healer: its 1 alarm(s) back to OK (alarm:b2 since ${ago(1000)}), none firing for 900 s, and the cluster healthy since ${ago(1000)} ` +
        `(all 2 alarms OK, the last back kafka-heal-prod.orders-broker-down at ${ago(1000)}; the probe healthy since ${ago(1000)} (its 2 alarm(s) OK))`,
    );
    expect(d.notify).toHaveBeenCalledWith(expect.objectContaining({ kind: 'resolve', incidentId: 'inc-1' }));
    expect(d.store.markPagerDutySynced).toHaveBeenCalledWith('inc-1', 'resolved', NOW.toISOString());
  });

  it('acknowledged and open incidents count too; remediating and awaiting approval are left to their run', async () => {
    const d = deps({
      orders: [
        incident('a', { status: 'open', acknowledgedAt: ago(2000) }),
        incident('b', { status: 'remediating' }),
        incident('c', { status: 'awaiting-approval' }),
      ],
    });
    const r = await runAutoResolve(d);
    expect(r).toMatchObject({ checked: 1, resolved: 1 });
    expect(d.store.resolveBy.mock.calls.map((c) => c[0])).toEqual(['a']);
  });

  it('writes nothing for an incident not yet eligible, and reads no alarm when no incident of the cluster could close', async () => {
    const d = deps({
      orders: [
        incident('firing', { alarms: { 'alarm:b2': { state: 'firing', at: ago(5000) } } }),
        incident('recent', { alarms: { 'alarm:b2': { state: 'ok', at: ago(899) } } }),
        incident('held', { holdOpen: true }),
      ],
    });
    const r = await runAutoResolve(d);
    expect(r).toMatchObject({ checked: 3, resolved: 0, skipped: 3, failed: 0 });
    expect(r.incidents.map((i) => i.reason)).toEqual([
      '1 alarm(s) still firing: alarm:b2',
      'the last alarm change was 899 s ago (quiet period 900 s)',
      'a person reopened it: a person resolves it',
    ]);
    expect(d.alarms.alarms).not.toHaveBeenCalled();
    expect(d.store.resolveBy).not.toHaveBeenCalled();
    expect(d.store.appendTimeline).not.toHaveBeenCalled();
    expect(d.notify).not.toHaveBeenCalled();
  });

  it('a cluster alarm firing, or healthy for less than the window, holds every incident of that cluster open', async () => {
    const firing = deps({ orders: [incident('inc-1')] });
    firing.alarms.alarms.mockResolvedValue([
      ...okAlarms(),
      { name: 'kafka-heal-prod.orders-under-replicated', state: 'ALARM', since: ago(10) },
    ]);
    expect((await runAutoResolve(firing)).incidents[0]).toMatchObject({
      outcome: 'skipped',
      reason: 'the cluster is not healthy: kafka-heal-prod.orders-under-replicated ALARM',
    });
    const recent = deps({ orders: [incident('inc-1')] });
    recent.alarms.alarms.mockResolvedValue(okAlarms(ago(600)));
    expect((await runAutoResolve(recent)).incidents[0]).toMatchObject({
      outcome: 'skipped',
      reason: 'the cluster is healthy for 600 s only (quiet period 900 s)',
    });
    const none = deps({ orders: [incident('inc-1')] });
    none.alarms.alarms.mockResolvedValue([]);
    expect((await runAutoResolve(none)).incidents[0]).toMatchObject({
      outcome: 'skipped',
      reason: 'the cluster is not healthy: no alarm of the cluster was found',
    });
    for (const d of [firing, recent, none]) expect(d.store.resolveBy).not.toHaveBeenCalled();
  });

  it("follows each cluster's policy: autoResolveSeconds 0 is off; an unusable policy closes nothing", async () => {
    const d = deps({ orders: [incident('inc-1')], payments: [incident('inc-2', { cluster: 'payments' })] });
    d.policies.get.mockImplementation(async (...args: unknown[]) =>
      args[0] === 'orders'
        ? { policy: { ...POLICY, autoResolveSeconds: 0 }, origin: 'ssm', parameterName: '/p' }
        : { policy: POLICY, origin: 'fallback-off', parameterName: '/p', problem: 'bad json' },
    );
    const r = await runAutoResolve(d);
    expect(r).toMatchObject({ checked: 2, resolved: 0, skipped: 2 });
    expect(r.incidents.map((i) => i.reason).sort()).toEqual([
      'auto-resolve is off (policy.autoResolveSeconds 0)',
      'the runtime policy is unusable (bad json): nothing is closed on its say-so',
    ]);
    expect(d.alarms.alarms).not.toHaveBeenCalled();
  });

  it('an incident changed after it was judged, or closed by someone first, is skipped; an error on one never stops the others', async () => {
    const d = deps({
      orders: [incident('changed'), incident('closed'), incident('broken'), incident('fine')],
      payments: [incident('p-1', { cluster: 'payments' })],
      down: [],
    });
    d.store.listOpen.mockImplementation(async (cluster: string) => {
      if (cluster === 'down') throw new Error('throttled');
      return cluster === 'payments'
        ? [incident('p-1', { cluster: 'payments' })]
        : [incident('changed'), incident('closed'), incident('broken'), incident('fine')];
    });
    d.store.resolveBy.mockImplementation(async (id: string) => {
      if (id === 'changed') throw new ConditionalWriteConflict('INCIDENT#changed', 1);
      if (id === 'broken') throw new Error('ProvisionedThroughputExceeded');
      if (id === 'closed')
        return {
          outcome: 'already-closed',
          incident: incident(id, { status: 'resolved', resolvedBy: 'operator:ada' }),
        };
      return { outcome: 'resolved', incident: incident(id, { status: 'resolved' }), from: 'escalated' };
    });
    const r = await runAutoResolve(d);
    expect(r).toMatchObject({ clusters: 3, checked: 5, resolved: 2, skipped: 2, failed: 1, failedClusters: ['down'] });
    expect(Object.fromEntries(r.incidents.map((i) => [i.incidentId, i.reason]))).toMatchObject({
      changed: 'it changed after it was judged; judged again next run',
      closed: 'already resolved (by operator:ada)',
      broken: 'ProvisionedThroughputExceeded',
    });
  });

  it('a cluster whose alarms cannot be read is counted and the rest go on', async () => {
    const d = deps({ orders: [incident('inc-1')], payments: [incident('inc-2', { cluster: 'payments' })] });
    d.alarms.alarms.mockImplementation(async (cluster: string) => {
      if (cluster === 'orders') throw new Error('AccessDenied');
      return okAlarms();
    });
    const r = await runAutoResolve(d);
    expect(r).toMatchObject({ resolved: 1, failedClusters: ['orders'] });
  });

  it('judges at most maxIncidents per run; the rest wait for the next', async () => {
    const many = Array.from({ length: 7 }, (_, i) => incident(`inc-${i}`));
    const d = deps({ orders: many }, 5);
    const r = await runAutoResolve(d);
    expect(r).toMatchObject({ checked: 5, resolved: 5, deferred: 2 });
  });
});

describe('cloudWatchAlarmSource', () => {
  const cw = mockClient(CloudWatchClient);
  beforeEach(() => cw.reset());
  const marker = (cluster: string, deployment = 'prod') =>
    `text ${alarmMarker({ deployment, cluster, kind: 'broker-down' })}`;
  const alarm = (over: Partial<MetricAlarm>): MetricAlarm => ({
    AlarmName: 'kafka-heal-prod.orders-broker-down',
    AlarmDescription: marker('orders'),
    StateValue: 'OK',
    StateTransitionedTimestamp: new Date(ago(700)),
    StateUpdatedTimestamp: new Date(ago(10)),
    ...over,
  });

  it("reads this deployment's alarms of this cluster, page by page, with since when they hold their state and whether they watch the probe", async () => {
    cw.on(DescribeAlarmsCommand)
      .resolvesOnce({
        MetricAlarms: [
          alarm({ Namespace: 'KafkaHeal/prod' }),
          alarm({
            AlarmName: 'kafka-heal-prod.orders-heartbeat',
            Metrics: [
              {
                Id: 'm',
                MetricStat: {
                  Metric: { Namespace: 'KafkaHeal/prod', MetricName: 'ProbeHeartbeat' },
                  Period: 60,
                  Stat: 'Sum',
                },
              },
            ],
          }),
          alarm({ AlarmName: 'kafka-heal-prod.orders-eu-broker-down', AlarmDescription: marker('orders-eu') }),
          alarm({ AlarmName: 'kafka-heal-prod.orders-x', AlarmDescription: marker('orders', 'staging') }),
          alarm({ AlarmName: 'kafka-heal-prod.orders-hand-made', AlarmDescription: 'no marker' }),
          alarm({
            AlarmName: 'kafka-heal-prod.orders-bad',
            AlarmDescription: '[kafka-heal cluster=orders kind=nonsense]',
          }),
        ],
        NextToken: 't1',
      })
      .resolvesOnce({
        MetricAlarms: [
          alarm({
            AlarmName: 'kafka-heal-prod.orders-offline',
            StateValue: 'ALARM',
            Metrics: [
              { Id: 'q', Expression: 'SELECT MAX(OfflinePartitions) FROM SCHEMA("KafkaHeal/prod", Cluster, Broker)' },
            ],
          }),
          alarm({
            AlarmName: 'kafka-heal-prod.orders-msk',
            Namespace: 'AWS/Kafka',
            StateValue: 'INSUFFICIENT_DATA',
            StateTransitionedTimestamp: undefined,
          }),
          alarm({
            AlarmName: 'kafka-heal-prod.orders-msk-query',
            Metrics: [
              { Id: 'q', Expression: 'SELECT MAX(KafkaDataLogsDiskUsed) FROM SCHEMA("AWS/Kafka", "Cluster Name")' },
            ],
          }),
        ],
      });
    const got = await cloudWatchAlarmSource(new CloudWatchClient({}), {
      deployment: 'prod',
      alarmNamePrefix: 'kafka-heal-prod.',
    }).alarms('orders');
    expect(got).toEqual([
      { name: 'kafka-heal-prod.orders-broker-down', state: 'OK', since: ago(700), probe: true },
      { name: 'kafka-heal-prod.orders-heartbeat', state: 'OK', since: ago(700), probe: true },
      { name: 'kafka-heal-prod.orders-offline', state: 'ALARM', since: ago(700), probe: true },
      { name: 'kafka-heal-prod.orders-msk', state: 'INSUFFICIENT_DATA', since: ago(10) },
      { name: 'kafka-heal-prod.orders-msk-query', state: 'OK', since: ago(700) },
    ]);
    const calls = cw.commandCalls(DescribeAlarmsCommand).map((c) => c.args[0].input);
    expect(calls).toEqual([
      { AlarmNamePrefix: 'kafka-heal-prod.orders-', AlarmTypes: ['MetricAlarm'], MaxRecords: 100 },
      { AlarmNamePrefix: 'kafka-heal-prod.orders-', AlarmTypes: ['MetricAlarm'], MaxRecords: 100, NextToken: 't1' },
    ]);
  });

  it('refuses to judge a cluster with more alarms than it reads in one run', async () => {
    cw.on(DescribeAlarmsCommand).resolves({ MetricAlarms: [], NextToken: 'more' });
    await expect(
      cloudWatchAlarmSource(new CloudWatchClient({}), {
        deployment: 'prod',
        alarmNamePrefix: 'kafka-heal-prod.',
      }).alarms('orders'),
    ).rejects.toThrow(
      `cluster orders: more than ${MAX_ALARM_PAGES * 100} alarms under kafka-heal-prod.orders-; its health cannot be read in one run`,
    );
  });
});
