// The local alarm evaluator applies the deployed alarm specs (same statistic, evaluation periods,
// datapoints to alarm, comparison, threshold, missing-data rule) with shorter periods, and emits
// the EventBridge event the ingest normalizer turns into the same Signal as in AWS.
import { describe, expect, it } from 'vitest';
import { normalize } from '../../../functions/domain/normalize/index.js';
import { clusterAlarmSpecs, type AlarmSpec } from '../../../infra/constructs/alarm-specs.js';
import { validateConfig } from '../../../infra/config/schema.js';
import { AlarmEvaluator, UnsupportedQueryError, alarmStateChangeEvent, localPeriodMs, parseInsightsQuery, valuesFor, type MetricSample } from '../../../local/drill/alarm-evaluator.js';

const inst = (id: number) => `i-${String(id * 10).padStart(17, '0')}`;
const config = validateConfig(
  {
    deployment: 'drill',
    region: 'eu-west-1',
    clusters: [
      {
        name: 'c1',
        platform: 'ec2',
        ec2: { metadataMode: 'kraft', brokers: [1, 2, 3].map((id) => ({ id, instanceId: inst(id) })), kafkaServiceName: 'kafka' },
        brokerCount: 3,
        bootstrapServers: ['127.0.0.1:9092'],
        probe: { vpcId: 'vpc-0123456789abcdef0', subnetIds: ['subnet-0123456789abcdef0'], securityGroupId: 'sg-0123456789abcdef0' },
        consumerGroups: [{ name: 'g1', topics: ['t'], maxOffsetLag: 1000 }],
      },
    ],
  },
  'test',
);
const specs = clusterAlarmSpecs('drill', config.clusters[0]!);
const byKind = (kind: string, brokerId?: number) => specs.find((s) => s.alarmKind === kind && s.brokerId === brokerId) as AlarmSpec;
const CLUSTER = { 'Cluster Name': 'c1' };
const reachable = (id: number, v: number): MetricSample => ({ namespace: 'KafkaHeal', name: 'BrokerReachable', dimensions: { ...CLUSTER, 'Broker ID': String(id) }, value: v });
const heartbeat: MetricSample = { namespace: 'KafkaHeal', name: 'ProbeHeartbeat', dimensions: CLUSTER, value: 1 };
const healthy = (): MetricSample[] => [heartbeat, reachable(1, 1), reachable(2, 1), reachable(3, 1), { namespace: 'KafkaHeal', name: 'OfflinePartitions', dimensions: CLUSTER, value: 0 }];

// Periods are 1 s locally (60 s in CloudWatch); time starts on a period boundary.
const T0 = Date.parse('2026-11-22T04:00:00Z');

describe('AlarmEvaluator', () => {
  it('broker-down: 2 of 2 periods with Minimum BrokerReachable < 1 -> ALARM, not after one', () => {
    const ev = new AlarmEvaluator([byKind('broker-down', 2)], { periodSeconds: 1, startMs: T0 });
    ev.observe(T0 + 100, healthy());
    ev.observe(T0 + 1100, [reachable(2, 1)]);
    expect(ev.evaluate(T0 + 2000).map((t) => `${t.from}->${t.to}`)).toEqual(['INSUFFICIENT_DATA->OK']);
    ev.observe(T0 + 2100, [reachable(2, 1)]);
    ev.observe(T0 + 2600, [reachable(2, 0)]); // Minimum of the period is 0: breaching
    expect(ev.evaluate(T0 + 3000)).toEqual([]); // 1 of 2
    ev.observe(T0 + 3200, [reachable(2, 0)]);
    const [t] = ev.evaluate(T0 + 4000);
    expect(t).toMatchObject({ from: 'OK', to: 'ALARM', datapoints: [0, 0] });
    expect(ev.state(byKind('broker-down', 2).alarmName)).toBe('ALARM');
    // Back to OK once fewer than 2 of the last 2 breach.
    ev.observe(T0 + 4100, [reachable(2, 1)]);
    expect(ev.evaluate(T0 + 5000)).toEqual([expect.objectContaining({ from: 'ALARM', to: 'OK', datapoints: [0, 1] })]);
  });

  it('the edge: BrokerReachable exactly 1 is not below the threshold 1', () => {
    const ev = new AlarmEvaluator([byKind('broker-down', 1)], { periodSeconds: 1, startMs: T0 });
    ev.observe(T0 + 10, [reachable(1, 1)]);
    ev.observe(T0 + 1010, [reachable(1, 0.999)]);
    expect(ev.evaluate(T0 + 2000)).toEqual([expect.objectContaining({ to: 'OK', datapoints: [1, 0.999] })]);
  });

  it('missing data: notBreaching alarms stay OK; the heartbeat (breaching) fires on silence', () => {
    const ev = new AlarmEvaluator([byKind('broker-down', 3), byKind('probe-heartbeat')], { periodSeconds: 1, startMs: T0 });
    const out = ev.evaluate(T0 + 3000);
    expect(out.map((t) => `${t.spec.alarmKind}:${t.to}`).sort()).toEqual(['broker-down:OK', 'probe-heartbeat:ALARM']);
  });

  it('the heartbeat counts probe runs (OfflinePartitions samples, whatever their value): a run a period keeps it OK', () => {
    const ev = new AlarmEvaluator([byKind('probe-heartbeat')], { periodSeconds: 1, startMs: T0 });
    const offline = (v: number): MetricSample => ({ namespace: 'KafkaHeal', name: 'OfflinePartitions', dimensions: CLUSTER, value: v });
    // 0 offline partitions is still a run: SampleCount 1, not below the threshold 1.
    ev.observe(T0 + 100, [offline(0)]);
    ev.observe(T0 + 1100, [offline(0)]);
    ev.observe(T0 + 2100, [offline(3)]);
    expect(ev.evaluate(T0 + 3000)).toEqual([expect.objectContaining({ to: 'OK', datapoints: [1, 1, 1] })]);
    // Three silent periods.
    expect(ev.evaluate(T0 + 6000)).toEqual([expect.objectContaining({ from: 'OK', to: 'ALARM' })]);
  });

  it('a 300 s period scales with the 60 s one (5 local seconds per period here)', () => {
    const spec: AlarmSpec = { ...byKind('broker-down', 1), periodSeconds: 300, evaluationPeriods: 1, datapointsToAlarm: 1 };
    const ev = new AlarmEvaluator([spec], { periodSeconds: 1, startMs: T0 });
    ev.observe(T0 + 100, [reachable(1, 0)]);
    expect(ev.evaluate(T0 + 4900)).toEqual([]);
    expect(ev.evaluate(T0 + 5000)).toEqual([expect.objectContaining({ to: 'ALARM' })]);
  });

  it('exact dimension sets: a per-broker series does not feed a cluster-level alarm, nor the other way round', () => {
    const urp = byKind('under-replicated');
    expect(valuesFor(urp, [{ namespace: 'KafkaHeal', name: 'UnderReplicatedPartitions', dimensions: { ...CLUSTER, 'Broker ID': '1' }, value: 5 }])).toEqual([]);
    expect(valuesFor(urp, [{ namespace: 'KafkaHeal', name: 'UnderReplicatedPartitions', dimensions: CLUSTER, value: 5 }])).toEqual([5]);
    const down = byKind('broker-down', 1);
    expect(valuesFor(down, [{ namespace: 'KafkaHeal', name: 'BrokerReachable', dimensions: CLUSTER, value: 0 }])).toEqual([]);
    expect(valuesFor(down, [reachable(1, 0)])).toEqual([0]);
  });

  it('Metrics Insights disk alarms read the CloudWatch agent series of the instance', () => {
    const disk = byKind('disk-critical', 2);
    const samples: MetricSample[] = [
      { namespace: 'CWAgent', name: 'disk_used_percent', dimensions: { InstanceId: inst(2) }, value: 93 },
      { namespace: 'CWAgent', name: 'disk_used_percent', dimensions: { InstanceId: inst(3) }, value: 99 },
    ];
    expect(valuesFor(disk, samples)).toEqual([93]);
  });

  it('metric math is reported as not evaluated locally, not silently dropped', () => {
    const math: AlarmSpec = { ...byKind('broker-down', 1), alarmName: 'm', source: { type: 'math', expression: 'a + b', label: 'x', metrics: {} } };
    const ev = new AlarmEvaluator([math], { periodSeconds: 1, startMs: T0 });
    expect(ev.skipped).toEqual([{ alarmName: 'm', reason: 'metric math (a + b) is not evaluated locally' }]);
    expect(() => valuesFor(math, [])).toThrow(UnsupportedQueryError);
  });

  it('force() fires a spurious alarm once; the next evaluation of healthy data clears it', () => {
    const ev = new AlarmEvaluator([byKind('broker-down', 2)], { periodSeconds: 1, startMs: T0 });
    const fired = ev.force((s) => s.alarmKind === 'broker-down', T0 + 500, 'injected');
    expect(fired).toEqual([expect.objectContaining({ from: 'INSUFFICIENT_DATA', to: 'ALARM', reason: 'injected' })]);
    expect(ev.force((s) => s.alarmKind === 'broker-down', T0 + 600, 'again')).toEqual([]);
    ev.observe(T0 + 700, [reachable(2, 1)]);
    ev.observe(T0 + 1700, [reachable(2, 1)]);
    expect(ev.evaluate(T0 + 2000)).toEqual([expect.objectContaining({ from: 'ALARM', to: 'OK' })]);
  });
});

describe('local periods', () => {
  it('scale 60 s periods; sustained (>= 10 min) windows keep the floor; shorter ones do not', () => {
    const urp = byKind('under-replicated'); // 15 x 60 s
    expect(localPeriodMs(urp, { periodSeconds: 2 })).toBe(2000);
    expect(localPeriodMs(urp, { periodSeconds: 2, sustainedWindowSeconds: 120 })).toBe(8000);
    expect(localPeriodMs(byKind('broker-down', 1), { periodSeconds: 2, sustainedWindowSeconds: 120 })).toBe(2000);
    // 9 minutes is not sustained: 9 x 60 s stays scaled.
    expect(localPeriodMs({ periodSeconds: 60, evaluationPeriods: 9 }, { periodSeconds: 2, sustainedWindowSeconds: 120 })).toBe(2000);
    expect(localPeriodMs({ periodSeconds: 60, evaluationPeriods: 10 }, { periodSeconds: 2, sustainedWindowSeconds: 120 })).toBe(12000);
  });

  it('a grace keeps a period open for late samples', () => {
    const ev = new AlarmEvaluator([byKind('broker-down', 2)], { periodSeconds: 1, startMs: T0, graceFraction: 0.5 });
    ev.observe(T0 + 100, [reachable(2, 0)]);
    ev.observe(T0 + 1100, [reachable(2, 0)]);
    expect(ev.evaluate(T0 + 2400)).toEqual([]);
    expect(ev.evaluate(T0 + 2500)).toEqual([expect.objectContaining({ to: 'ALARM' })]);
  });
});

describe('parseInsightsQuery', () => {
  it('reads the SCHEMA form and the bare namespace form', () => {
    expect(parseInsightsQuery(`SELECT MIN(BrokerReachable) FROM SCHEMA("KafkaHeal", "Cluster Name", "Broker ID") WHERE "Cluster Name" = 'c1'`)).toEqual({
      aggregate: 'MIN',
      metricName: 'BrokerReachable',
      namespace: 'KafkaHeal',
      schemaKeys: ['Cluster Name', 'Broker ID'],
      where: { 'Cluster Name': 'c1' },
    });
    expect(parseInsightsQuery(`SELECT MAX(disk_used_percent) FROM CWAgent WHERE InstanceId = 'i-1'`)).toEqual({ aggregate: 'MAX', metricName: 'disk_used_percent', namespace: 'CWAgent', where: { InstanceId: 'i-1' } });
  });

  it('refuses what it cannot evaluate', () => {
    expect(() => parseInsightsQuery('SELECT AVG(x) FROM y GROUP BY z')).toThrow(UnsupportedQueryError);
  });
});

describe('alarmStateChangeEvent -> the real normalizer', () => {
  it('becomes a firing broker-down signal for broker 2 of c1 with the datapoint as value', () => {
    const ev = new AlarmEvaluator([byKind('broker-down', 2)], { periodSeconds: 1, startMs: T0 });
    ev.observe(T0 + 100, [reachable(2, 0)]);
    ev.observe(T0 + 1100, [reachable(2, 0)]);
    const [tr] = ev.evaluate(T0 + 2000);
    const event = alarmStateChangeEvent(tr!, { region: 'eu-west-1', account: '123456789012' });
    const facts = [{ name: 'c1', aliases: [], platform: 'ec2' as const, metadataMode: 'kraft' as const, brokerCount: 3, hasDr: false, automaticFailover: false }];
    const r = normalize(event, { clusters: facts, receivedAt: new Date(T0 + 2000).toISOString() });
    expect(r.outcome).toBe('signals');
    if (r.outcome !== 'signals') return;
    expect(r.signals[0]).toMatchObject({ source: 'cloudwatch', cluster: 'c1', kind: 'broker-down', brokerIds: [2], state: 'firing', value: 0, threshold: 1 });
  });
});
