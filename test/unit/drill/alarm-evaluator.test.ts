// The local alarm evaluator applies the deployed alarm specs (same statistic, evaluation periods,
// datapoints to alarm, comparison, threshold, missing-data rule) with shorter periods, and emits
// the EventBridge event the ingest normalizer turns into the same Signal as in AWS. An alarm over
// every broker (a query grouped by "Broker ID") evaluates each broker's series on its own and
// emits each broker's transition as a contributor state change.
import { describe, expect, it } from 'vitest';
import { normalize } from '#domain/normalize/index.js';
import { clusterAlarmSpecs, type AlarmSpec } from '#infra/constructs/alarm-specs.js';
import { validateConfig } from '#infra/config/schema.js';
import {
  AlarmEvaluator,
  UnsupportedQueryError,
  alarmStateChangeEvent,
  contributorId,
  groupValuesFor,
  localPeriodMs,
  parseInsightsQuery,
  valuesFor,
  type AlarmTransition,
  type MetricSample,
} from '#local/drill/alarm-evaluator.js';

const inst = (id: number) => `i-${String(id * 10).padStart(17, '0')}`;
const config = validateConfig(
  {
    deployment: 'drill',
    region: 'eu-west-1',
    clusters: [
      {
        name: 'c1',
        platform: 'ec2',
        ec2: {
          metadataMode: 'kraft',
          brokers: [1, 2, 3].map((id) => ({ id, instanceId: inst(id) })),
          kafkaServiceName: 'kafka',
        },
        brokerCount: 3,
        bootstrapServers: ['127.0.0.1:9092'],
        probe: {
          vpcId: 'vpc-0123456789abcdef0',
          subnetIds: ['subnet-0123456789abcdef0'],
          securityGroupId: 'sg-0123456789abcdef0',
        },
        consumerGroups: [{ name: 'g1', topics: ['t'], maxOffsetLag: 1000 }],
      },
    ],
  },
  'test',
);
const specs = clusterAlarmSpecs('drill', config.clusters[0]!);
const byKind = (kind: string) => specs.find((s) => s.alarmKind === kind) as AlarmSpec;
const CLUSTER = { 'Cluster Name': 'c1' };
const reachable = (id: number, v: number): MetricSample => ({
  namespace: 'KafkaHeal/drill',
  name: 'BrokerReachable',
  dimensions: { ...CLUSTER, 'Broker ID': String(id) },
  value: v,
});
const heartbeat: MetricSample = { namespace: 'KafkaHeal/drill', name: 'ProbeHeartbeat', dimensions: CLUSTER, value: 1 };
const healthy = (): MetricSample[] => [
  heartbeat,
  reachable(1, 1),
  reachable(2, 1),
  reachable(3, 1),
  { namespace: 'KafkaHeal/drill', name: 'OfflinePartitions', dimensions: CLUSTER, value: 0 },
];
const shown = (trs: AlarmTransition[]) =>
  trs.map((t) => `${t.contributor ? `b${t.contributor.attributes['Broker ID']}` : 'alarm'}:${t.from}->${t.to}`);

// Periods are 1 s locally (60 s in CloudWatch); time starts on a period boundary.
const T0 = Date.parse('2026-11-22T04:00:00Z');

describe('AlarmEvaluator: one alarm over every broker', () => {
  it("another deployment's series of a cluster with the same name does not feed this deployment's alarm", () => {
    const ev = new AlarmEvaluator([byKind('broker-down')], { periodSeconds: 1, startMs: T0 });
    const foreign = (id: number, v: number): MetricSample => ({ ...reachable(id, v), namespace: 'KafkaHeal/staging' });
    ev.observe(T0 + 100, healthy());
    ev.observe(T0 + 1100, healthy());
    expect(shown(ev.evaluate(T0 + 2000))).toEqual(['alarm:INSUFFICIENT_DATA->OK']);
    for (const t of [2100, 3100, 4100])
      ev.observe(T0 + t, [reachable(2, 1), foreign(2, 0), { ...foreign(2, 0), namespace: 'KafkaHeal' }]);
    expect(ev.evaluate(T0 + 3000)).toEqual([]);
    expect(ev.evaluate(T0 + 4000)).toEqual([]);
    expect(ev.contributorState(byKind('broker-down').alarmName, '2')).toBe('OK');
  });

  it("broker-down: 2 of 2 periods with Minimum BrokerReachable < 1 -> that broker's contributor goes to ALARM, and the alarm with it", () => {
    const ev = new AlarmEvaluator([byKind('broker-down')], { periodSeconds: 1, startMs: T0 });
    ev.observe(T0 + 100, healthy());
    ev.observe(T0 + 1100, healthy());
    // Contributors start OK without an event; the alarm leaves INSUFFICIENT_DATA.
    expect(shown(ev.evaluate(T0 + 2000))).toEqual(['alarm:INSUFFICIENT_DATA->OK']);
    ev.observe(T0 + 2100, [reachable(2, 1)]);
    ev.observe(T0 + 2600, [reachable(2, 0)]); // Minimum of the period is 0: breaching
    expect(ev.evaluate(T0 + 3000)).toEqual([]); // 1 of 2
    ev.observe(T0 + 3200, [reachable(2, 0), reachable(1, 1)]);
    const fired = ev.evaluate(T0 + 4000);
    expect(shown(fired)).toEqual(['b2:OK->ALARM', 'alarm:OK->ALARM']);
    expect(fired[0]).toMatchObject({
      datapoints: [0, 0],
      contributor: {
        id: contributorId(byKind('broker-down').alarmName, { 'Broker ID': '2' }),
        attributes: { 'Broker ID': '2' },
      },
    });
    expect(ev.contributorState(byKind('broker-down').alarmName, '2')).toBe('ALARM');
    expect(ev.contributorState(byKind('broker-down').alarmName, '1')).toBe('OK');
    // A second broker failing while the first is down is its own transition (a cascade is seen).
    ev.observe(T0 + 4100, [reachable(2, 0), reachable(3, 0)]);
    ev.observe(T0 + 5100, [reachable(2, 0), reachable(3, 0)]);
    expect(shown(ev.evaluate(T0 + 6000))).toEqual(['b3:OK->ALARM']);
    // Each comes back on its own; the alarm returns to OK with the last one.
    ev.observe(T0 + 6100, [reachable(2, 1), reachable(3, 0)]);
    expect(shown(ev.evaluate(T0 + 7000))).toEqual(['b2:ALARM->OK']);
    ev.observe(T0 + 7100, [reachable(3, 1)]);
    expect(shown(ev.evaluate(T0 + 8000))).toEqual(['b3:ALARM->OK', 'alarm:ALARM->OK']);
  });

  it('the edge: BrokerReachable exactly 1 is not below the threshold 1', () => {
    const ev = new AlarmEvaluator([byKind('broker-down')], { periodSeconds: 1, startMs: T0 });
    ev.observe(T0 + 10, [reachable(1, 1)]);
    ev.observe(T0 + 1010, [reachable(1, 0.999)]);
    expect(shown(ev.evaluate(T0 + 2000))).toEqual(['alarm:INSUFFICIENT_DATA->OK']);
    ev.observe(T0 + 2010, [reachable(1, 0.999)]);
    expect(shown(ev.evaluate(T0 + 3000))).toEqual(['b1:OK->ALARM', 'alarm:OK->ALARM']);
  });

  it('a broker series that stops has no data to breach: its contributor returns to OK', () => {
    const ev = new AlarmEvaluator([byKind('broker-down')], { periodSeconds: 1, startMs: T0 });
    ev.observe(T0 + 100, [reachable(2, 0)]);
    ev.observe(T0 + 1100, [reachable(2, 0)]);
    expect(shown(ev.evaluate(T0 + 2000))).toEqual(['b2:OK->ALARM', 'alarm:INSUFFICIENT_DATA->ALARM']);
    expect(shown(ev.evaluate(T0 + 4000))).toEqual(['b2:ALARM->OK', 'alarm:ALARM->OK']);
  });

  it('disk: the fullest mount of each broker host, by the cluster and broker dimensions the agent adds', () => {
    const disk = byKind('disk-critical');
    const host = (broker: number, path: string, v: number): MetricSample => ({
      namespace: 'CWAgent',
      name: 'disk_used_percent',
      dimensions: { InstanceId: inst(broker), path, ...CLUSTER, 'Broker ID': String(broker) },
      value: v,
    });
    const other: MetricSample = {
      namespace: 'CWAgent',
      name: 'disk_used_percent',
      dimensions: { InstanceId: inst(9), path: '/', 'Cluster Name': 'other', 'Broker ID': '2' },
      value: 99,
    };
    expect(groupValuesFor(disk, [host(2, '/', 40), host(2, '/data', 93), host(3, '/', 50), other])).toEqual(
      new Map([
        ['2', 93],
        ['3', 50],
      ]),
    );
    expect(groupValuesFor(byKind('under-replicated'), [host(2, '/', 40)])).toEqual(new Map());
  });

  it("force() fires one broker's contributor (and the alarm) once; the next evaluation of healthy data clears it", () => {
    const ev = new AlarmEvaluator([byKind('broker-down')], { periodSeconds: 1, startMs: T0 });
    expect(ev.force((s) => s.alarmKind === 'broker-down', T0 + 500, 'injected')).toEqual([]); // which broker?
    const fired = ev.force((s) => s.alarmKind === 'broker-down', T0 + 500, 'injected', '2');
    expect(shown(fired)).toEqual(['b2:OK->ALARM', 'alarm:INSUFFICIENT_DATA->ALARM']);
    expect(fired[0]).toMatchObject({ reason: 'injected', datapoints: [0] });
    expect(ev.force((s) => s.alarmKind === 'broker-down', T0 + 600, 'again', '2')).toEqual([]);
    ev.observe(T0 + 700, [reachable(2, 1)]);
    ev.observe(T0 + 1700, [reachable(2, 1)]);
    expect(shown(ev.evaluate(T0 + 2000))).toEqual(['b2:ALARM->OK', 'alarm:ALARM->OK']);
  });
});

describe('AlarmEvaluator: alarms on one series', () => {
  it('missing data: notBreaching alarms stay OK; the heartbeat (breaching) fires on silence', () => {
    const ev = new AlarmEvaluator([byKind('offline-partitions'), byKind('probe-heartbeat')], {
      periodSeconds: 1,
      startMs: T0,
    });
    const out = ev.evaluate(T0 + 3000);
    expect(out.map((t) => `${t.spec.alarmKind}:${t.to}`).sort()).toEqual([
      'offline-partitions:OK',
      'probe-heartbeat:ALARM',
    ]);
  });

  it('the heartbeat counts probe runs (OfflinePartitions samples, whatever their value): a run a period keeps it OK', () => {
    const ev = new AlarmEvaluator([byKind('probe-heartbeat')], { periodSeconds: 1, startMs: T0 });
    const offline = (v: number): MetricSample => ({
      namespace: 'KafkaHeal/drill',
      name: 'OfflinePartitions',
      dimensions: CLUSTER,
      value: v,
    });
    // 0 offline partitions is still a run: SampleCount 1, not below the threshold 1.
    ev.observe(T0 + 100, [offline(0)]);
    ev.observe(T0 + 1100, [offline(0)]);
    ev.observe(T0 + 2100, [offline(3)]);
    expect(ev.evaluate(T0 + 3000)).toEqual([expect.objectContaining({ to: 'OK', datapoints: [1, 1, 1] })]);
    // Three silent periods.
    expect(ev.evaluate(T0 + 6000)).toEqual([expect.objectContaining({ from: 'OK', to: 'ALARM' })]);
  });

  it('a 300 s period scales with the 60 s one (5 local seconds per period here)', () => {
    const spec: AlarmSpec = {
      ...byKind('offline-partitions'),
      periodSeconds: 300,
      evaluationPeriods: 1,
      datapointsToAlarm: 1,
    };
    const ev = new AlarmEvaluator([spec], { periodSeconds: 1, startMs: T0 });
    ev.observe(T0 + 100, [{ namespace: 'KafkaHeal/drill', name: 'OfflinePartitions', dimensions: CLUSTER, value: 2 }]);
    expect(ev.evaluate(T0 + 4900)).toEqual([]);
    expect(ev.evaluate(T0 + 5000)).toEqual([expect.objectContaining({ to: 'ALARM' })]);
  });

  it('exact dimension sets: a per-broker series does not feed a cluster-level alarm', () => {
    const urp = byKind('under-replicated');
    expect(
      valuesFor(urp, [
        {
          namespace: 'KafkaHeal/drill',
          name: 'UnderReplicatedPartitions',
          dimensions: { ...CLUSTER, 'Broker ID': '1' },
          value: 5,
        },
      ]),
    ).toEqual([]);
    expect(
      valuesFor(urp, [
        { namespace: 'KafkaHeal/drill', name: 'UnderReplicatedPartitions', dimensions: CLUSTER, value: 5 },
      ]),
    ).toEqual([5]);
    // The per-broker query reads only series with exactly its schema's dimensions.
    expect(
      groupValuesFor(byKind('broker-down'), [
        { namespace: 'KafkaHeal/drill', name: 'BrokerReachable', dimensions: CLUSTER, value: 0 },
      ]),
    ).toEqual(new Map());
  });

  it('a query the evaluator cannot read is reported as not evaluated locally, not silently dropped', () => {
    const odd: AlarmSpec = {
      ...byKind('offline-partitions'),
      alarmName: 'q',
      source: { type: 'insights', query: 'SELECT COUNT(x) FROM y', label: 'x' },
    };
    const ev = new AlarmEvaluator([odd], { periodSeconds: 1, startMs: T0 });
    expect(ev.skipped).toEqual([
      { alarmName: 'q', reason: 'cannot evaluate Metrics Insights query locally: SELECT COUNT(x) FROM y' },
    ]);
    expect(() => valuesFor(odd, [])).toThrow(UnsupportedQueryError);
  });

  it('force() fires a spurious alarm once; the next evaluation of healthy data clears it', () => {
    const ev = new AlarmEvaluator([byKind('offline-partitions')], { periodSeconds: 1, startMs: T0 });
    const fired = ev.force((s) => s.alarmKind === 'offline-partitions', T0 + 500, 'injected');
    expect(fired).toEqual([
      expect.objectContaining({ from: 'INSUFFICIENT_DATA', to: 'ALARM', reason: 'injected', datapoints: [1] }),
    ]);
    expect(ev.force((s) => s.alarmKind === 'offline-partitions', T0 + 600, 'again')).toEqual([]);
    expect(ev.evaluate(T0 + 2000)).toEqual([expect.objectContaining({ from: 'ALARM', to: 'OK' })]);
  });
});

describe('local periods', () => {
  it('scale 60 s periods; sustained (>= 10 min) windows keep the floor; shorter ones do not', () => {
    const urp = byKind('under-replicated'); // 15 x 60 s
    expect(localPeriodMs(urp, { periodSeconds: 2 })).toBe(2000);
    expect(localPeriodMs(urp, { periodSeconds: 2, sustainedWindowSeconds: 120 })).toBe(8000);
    expect(localPeriodMs(byKind('broker-down'), { periodSeconds: 2, sustainedWindowSeconds: 120 })).toBe(2000);
    // 9 minutes is not sustained: 9 x 60 s stays scaled.
    expect(
      localPeriodMs({ periodSeconds: 60, evaluationPeriods: 9 }, { periodSeconds: 2, sustainedWindowSeconds: 120 }),
    ).toBe(2000);
    expect(
      localPeriodMs({ periodSeconds: 60, evaluationPeriods: 10 }, { periodSeconds: 2, sustainedWindowSeconds: 120 }),
    ).toBe(12000);
    // A leader election takes real seconds: the quorum and controller alarms keep a 30 s local window.
    expect(
      localPeriodMs(
        { periodSeconds: 60, evaluationPeriods: 2, alarmKind: 'quorum-lost' },
        { periodSeconds: 2, electionWindowSeconds: 30 },
      ),
    ).toBe(15000);
    expect(
      localPeriodMs(
        { periodSeconds: 60, evaluationPeriods: 3, alarmKind: 'controller-missing' },
        { periodSeconds: 2, electionWindowSeconds: 30 },
      ),
    ).toBe(10000);
    expect(
      localPeriodMs(
        { periodSeconds: 60, evaluationPeriods: 2, alarmKind: 'broker-down' },
        { periodSeconds: 2, electionWindowSeconds: 30 },
      ),
    ).toBe(2000);
  });

  it('a grace keeps a period open for late samples', () => {
    const ev = new AlarmEvaluator([byKind('broker-down')], { periodSeconds: 1, startMs: T0, graceFraction: 0.5 });
    ev.observe(T0 + 100, [reachable(2, 0)]);
    ev.observe(T0 + 1100, [reachable(2, 0)]);
    expect(ev.evaluate(T0 + 2400)).toEqual([]);
    expect(shown(ev.evaluate(T0 + 2500))).toEqual(['b2:OK->ALARM', 'alarm:INSUFFICIENT_DATA->ALARM']);
  });
});

describe('parseInsightsQuery', () => {
  it('reads the SCHEMA form, the bare namespace form and a GROUP BY with its ORDER BY', () => {
    expect(
      parseInsightsQuery(
        `SELECT MIN(BrokerReachable) FROM SCHEMA("KafkaHeal", "Cluster Name", "Broker ID") WHERE "Cluster Name" = 'c1' GROUP BY "Broker ID" ORDER BY MIN() ASC`,
      ),
    ).toEqual({
      aggregate: 'MIN',
      metricName: 'BrokerReachable',
      namespace: 'KafkaHeal',
      schemaKeys: ['Cluster Name', 'Broker ID'],
      where: { 'Cluster Name': 'c1' },
      groupBy: 'Broker ID',
    });
    expect(
      parseInsightsQuery(`SELECT AVG(cpu_usage_active) FROM CWAgent WHERE "Cluster Name" = 'c1' AND cpu = 'cpu-total'`),
    ).toEqual({
      aggregate: 'AVG',
      metricName: 'cpu_usage_active',
      namespace: 'CWAgent',
      where: { 'Cluster Name': 'c1', cpu: 'cpu-total' },
    });
  });

  it('refuses what it cannot evaluate', () => {
    expect(() => parseInsightsQuery('SELECT COUNT(x) FROM y')).toThrow(UnsupportedQueryError);
    expect(() => parseInsightsQuery(`SELECT MAX(x) FROM y WHERE a != 'b'`)).toThrow(/cannot evaluate the condition/);
  });
});

describe('alarmStateChangeEvent -> the real normalizer', () => {
  const facts = [
    {
      name: 'c1',
      aliases: [],
      platform: 'ec2' as const,
      metadataMode: 'kraft' as const,
      brokerCount: 3,
      hasDr: false,
      automaticFailover: false,
    },
  ];
  const ctx = { clusters: facts, receivedAt: new Date(T0 + 2000).toISOString(), deployment: 'drill' };
  const down = () => {
    const ev = new AlarmEvaluator([byKind('broker-down')], { periodSeconds: 1, startMs: T0 });
    ev.observe(T0 + 100, [reachable(2, 0), reachable(1, 1)]);
    ev.observe(T0 + 1100, [reachable(2, 0), reachable(1, 1)]);
    return ev.evaluate(T0 + 2000);
  };

  it("broker 2's contributor event becomes a firing broker-down signal for broker 2 of c1, its datapoint the value", () => {
    const [tr] = down();
    const event = alarmStateChangeEvent(tr!, { region: 'eu-west-1', account: '123456789012' });
    expect(event['detail-type']).toBe('CloudWatch Alarm Contributor State Change');
    const r = normalize(event, ctx);
    expect(r.outcome).toBe('signals');
    if (r.outcome !== 'signals') return;
    expect(r.signals[0]).toMatchObject({
      source: 'cloudwatch',
      cluster: 'c1',
      kind: 'broker-down',
      brokerIds: [2],
      state: 'firing',
      value: 0,
      threshold: 1,
    });
    expect(r.signals[0]?.fingerprint).toMatch(/:alarm:kafka-heal-drill\.c1-broker-down#[0-9a-f]{16}$/);
  });

  it("the alarm's own change only counts its contributors: ignored", () => {
    const [, parent] = down();
    const r = normalize(alarmStateChangeEvent(parent!, { region: 'eu-west-1', account: '123456789012' }), ctx);
    expect(r).toMatchObject({
      outcome: 'ignored',
      reason: expect.stringMatching(/contributors' state changes name the brokers/),
    });
  });

  it('an alarm on one series is an alarm state change with reason data', () => {
    const ev = new AlarmEvaluator([byKind('offline-partitions')], { periodSeconds: 1, startMs: T0 });
    ev.observe(T0 + 100, [{ namespace: 'KafkaHeal/drill', name: 'OfflinePartitions', dimensions: CLUSTER, value: 4 }]);
    const [tr] = ev.evaluate(T0 + 1000);
    const r = normalize(alarmStateChangeEvent(tr!, { region: 'eu-west-1', account: '123456789012' }), ctx);
    expect(r).toMatchObject({
      outcome: 'signals',
      signals: [{ kind: 'offline-partitions', brokerIds: [], value: 4, threshold: 0 }],
    });
  });
});
