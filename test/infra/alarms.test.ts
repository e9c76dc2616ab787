import { App, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as sns from 'aws-cdk-lib/aws-sns';
import { describe, expect, it } from 'vitest';
import { normalize } from '../../functions/domain/normalize/index.js';
import { clusterFacts, loadConfigFile, validateConfig, type ClusterConfig, type HealerConfig } from '../../infra/config/schema.js';
import { MAX_ALARM_NAME, alarmName, clusterAlarmSpecs, probeSeriesOfAlarms, type AlarmKind } from '../../infra/constructs/alarm-specs.js';
import type { SignalKind } from '../../functions/domain/types.js';
import { ClusterAlarms, alarmNamePrefix } from '../../infra/constructs/alarms.js';

type Props = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

function synth(config: HealerConfig, actions = false): Template {
  const app = new App();
  const stack = new Stack(app, 'AlarmsTest');
  const topic = actions ? new sns.Topic(stack, 'Ops') : undefined;
  for (const cluster of config.clusters) new ClusterAlarms(stack, `Alarms-${cluster.name}`, { deployment: config.deployment, cluster, ...(topic ? { actions: topic } : {}) });
  return Template.fromStack(stack);
}

function alarmsByName(t: Template): Map<string, Props> {
  const out = new Map<string, Props>();
  for (const r of Object.values(t.findResources('AWS::CloudWatch::Alarm'))) out.set(r.Properties.AlarmName, r.Properties);
  return out;
}

const msk = loadConfigFile('examples/config/msk.yaml');
const ec2zk = loadConfigFile('examples/config/ec2-zookeeper.yaml');
const drPair = loadConfigFile('examples/config/dr-pair.yaml');
const mskT = synth(msk);
const ec2T = synth(ec2zk);
const drT = synth(drPair);

const dims = (m: Record<string, string>) => Object.entries(m).map(([Name, Value]) => ({ Name, Value }));

describe('alarm names', () => {
  it('start with the deployment prefix and follow <cluster>-<kind>[-b<id>][-<group>]', () => {
    expect(alarmNamePrefix('prod-eu')).toBe('kafka-heal-prod-eu-');
    expect(alarmName('prod-eu', 'orders', 'under-replicated', { brokerId: 2 })).toBe('kafka-heal-prod-eu-orders-under-replicated-b2');
    expect(alarmName('prod-eu', 'orders', 'consumer-lag', { group: 'billing', topic: 'refunds' })).toBe('kafka-heal-prod-eu-orders-consumer-lag-billing-refunds');
    for (const t of [mskT, ec2T, drT]) for (const name of alarmsByName(t).keys()) expect(name).toMatch(/^kafka-heal-(prod-eu|prod-us|events)-/);
  });

  it('are cut to 255 characters with a hash, keeping long names unique', () => {
    const a = alarmName('d'.repeat(24), 'c'.repeat(40), 'consumer-time-lag', { group: 'g'.repeat(249), topic: 't1' });
    const b = alarmName('d'.repeat(24), 'c'.repeat(40), 'consumer-time-lag', { group: 'g'.repeat(249), topic: 't2' });
    expect(a).toHaveLength(MAX_ALARM_NAME);
    expect(b).toHaveLength(MAX_ALARM_NAME);
    expect(a).not.toBe(b);
    expect(alarmName('d', 'c', 'cpu-high', { group: 'g'.repeat(255 - 'kafka-heal-d-c-cpu-high-'.length) })).toHaveLength(255);
    expect(alarmName('d', 'c', 'cpu-high', { group: 'g'.repeat(256 - 'kafka-heal-d-c-cpu-high-'.length) })).toMatch(/-[0-9a-f]{10}$/);
  });

  it('refuses two alarms with one name instead of letting CloudFormation fail later', () => {
    const cfg = validateConfig(
      {
        deployment: 'd',
        clusters: [
          {
            name: 'c',
            platform: 'ec2',
            ec2: { metadataMode: 'kraft', brokerTag: { key: 'k', value: 'v' } },
            brokerCount: 3,
            bootstrapServers: ['h:9092'],
            probe: { vpcId: 'vpc-01234567', subnetIds: ['subnet-01234567'], securityGroupId: 'sg-01234567' },
            consumerGroups: [{ name: 'a-b', topics: ['c'] }, { name: 'a', topics: ['b-c'] }],
          },
        ],
      },
      't',
    );
    // EC2 lag alarms are per group (no topic part), so these two do not clash...
    expect(() => clusterAlarmSpecs('d', cfg.clusters[0] as ClusterConfig)).not.toThrow();
    // ...but on MSK the per-topic names would.
    const mskCluster = { ...(msk.clusters[0] as ClusterConfig), consumerGroups: (cfg.clusters[0] as ClusterConfig).consumerGroups } as ClusterConfig;
    expect(() => clusterAlarmSpecs('d', mskCluster)).toThrow(/would share the name kafka-heal-d-orders-consumer-lag-a-b-c/);
  });
});

describe('MSK cluster alarms (examples/config/msk.yaml)', () => {
  const alarms = alarmsByName(mskT);
  const cluster = { 'Cluster Name': 'orders-prod' };
  const broker = (id: number) => ({ 'Broker ID': String(id), 'Cluster Name': 'orders-prod' });

  it('creates 29 alarms: 2 cluster-wide, 6 per broker x 3, lag 2 x 2 topics + 2 for the all-topics group, 1 heartbeat, 2 for the IAM listener (probe refused: SASL, TLS)', () => {
    mskT.resourceCountIs('AWS::CloudWatch::Alarm', 29);
  });

  it('ActiveControllerCount < 1 for 5 of 5 one-minute points', () => {
    mskT.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'kafka-heal-prod-eu-orders-controller-missing',
      Namespace: 'AWS/Kafka',
      MetricName: 'ActiveControllerCount',
      Dimensions: dims(cluster),
      Statistic: 'Maximum',
      Period: 60,
      EvaluationPeriods: 5,
      DatapointsToAlarm: 5,
      ComparisonOperator: 'LessThanThreshold',
      Threshold: 1,
      TreatMissingData: 'notBreaching',
    });
  });

  it('OfflinePartitionsCount > 0 within one minute', () => {
    mskT.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'kafka-heal-prod-eu-orders-offline-partitions',
      Namespace: 'AWS/Kafka',
      MetricName: 'OfflinePartitionsCount',
      Dimensions: dims(cluster),
      Period: 60,
      EvaluationPeriods: 1,
      ComparisonOperator: 'GreaterThanThreshold',
      Threshold: 0,
    });
  });

  it.each([1, 2, 3])('broker %i: UnderMinIsrPartitionCount >= 1 (1 min) and UnderReplicatedPartitions > 0 (15 min)', (id) => {
    mskT.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: `kafka-heal-prod-eu-orders-under-min-isr-b${id}`,
      Namespace: 'AWS/Kafka',
      MetricName: 'UnderMinIsrPartitionCount',
      Dimensions: dims(broker(id)),
      Period: 60,
      EvaluationPeriods: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      Threshold: 1,
    });
    mskT.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: `kafka-heal-prod-eu-orders-under-replicated-b${id}`,
      Namespace: 'AWS/Kafka',
      MetricName: 'UnderReplicatedPartitions',
      Dimensions: dims(broker(id)),
      Period: 60,
      EvaluationPeriods: 15,
      DatapointsToAlarm: 15,
      ComparisonOperator: 'GreaterThanThreshold',
      Threshold: 0,
    });
  });

  it('KafkaDataLogsDiskUsed >= 85 and >= 90 per broker', () => {
    for (const [kind, threshold] of [['warning', 85], ['critical', 90]] as const) {
      mskT.hasResourceProperties('AWS::CloudWatch::Alarm', {
        AlarmName: `kafka-heal-prod-eu-orders-disk-${kind}-b2`,
        Namespace: 'AWS/Kafka',
        MetricName: 'KafkaDataLogsDiskUsed',
        Dimensions: dims(broker(2)),
        Statistic: 'Maximum',
        Period: 60,
        EvaluationPeriods: 3,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        Threshold: threshold,
      });
    }
  });

  it('CpuUser + CpuSystem >= 60 is one metric math expression over both metrics of the broker', () => {
    const a = alarms.get('kafka-heal-prod-eu-orders-cpu-high-b3') as Props;
    expect(a.ComparisonOperator).toBe('GreaterThanOrEqualToThreshold');
    expect(a.Threshold).toBe(60);
    expect(a.EvaluationPeriods).toBe(3);
    expect(a.MetricName).toBeUndefined();
    const [expr, ...inputs] = a.Metrics as Props[];
    expect(expr).toMatchObject({ Expression: 'cpuUser + cpuSystem', ReturnData: true });
    expect(inputs).toEqual([
      { Id: 'cpuUser', ReturnData: false, MetricStat: { Metric: { Namespace: 'AWS/Kafka', MetricName: 'CpuUser', Dimensions: dims(broker(3)) }, Period: 300, Stat: 'Average' } },
      { Id: 'cpuSystem', ReturnData: false, MetricStat: { Metric: { Namespace: 'AWS/Kafka', MetricName: 'CpuSystem', Dimensions: dims(broker(3)) }, Period: 300, Stat: 'Average' } },
    ]);
  });

  it('HeapMemoryAfterGC > 60 per broker, sustained 15 minutes', () => {
    mskT.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'kafka-heal-prod-eu-orders-heap-high-b1',
      Namespace: 'AWS/Kafka',
      MetricName: 'HeapMemoryAfterGC',
      Dimensions: dims(broker(1)),
      Period: 300,
      EvaluationPeriods: 3,
      ComparisonOperator: 'GreaterThanThreshold',
      Threshold: 60,
    });
  });

  it('MaxOffsetLag and EstimatedMaxTimeLag per listed topic, thresholds from the group', () => {
    for (const topic of ['orders', 'refunds']) {
      const groupDims = dims({ 'Cluster Name': 'orders-prod', 'Consumer Group': 'billing', Topic: topic });
      mskT.hasResourceProperties('AWS::CloudWatch::Alarm', {
        AlarmName: `kafka-heal-prod-eu-orders-consumer-lag-billing-${topic}`,
        Namespace: 'AWS/Kafka',
        MetricName: 'MaxOffsetLag',
        Dimensions: groupDims,
        Period: 60,
        EvaluationPeriods: 5,
        ComparisonOperator: 'GreaterThanThreshold',
        Threshold: 100000,
      });
      mskT.hasResourceProperties('AWS::CloudWatch::Alarm', {
        AlarmName: `kafka-heal-prod-eu-orders-consumer-time-lag-billing-${topic}`,
        Namespace: 'AWS/Kafka',
        MetricName: 'EstimatedMaxTimeLag',
        Dimensions: groupDims,
        ComparisonOperator: 'GreaterThanThreshold',
        Threshold: 300,
      });
    }
  });

  it('a group without topics is watched across all its topics with one Metrics Insights query', () => {
    const a = alarms.get('kafka-heal-prod-eu-orders-consumer-time-lag-search-indexer') as Props;
    expect(a.Threshold).toBe(900);
    expect(a.Metrics).toEqual([
      {
        Id: 'expr_1',
        Expression: `SELECT MAX(EstimatedMaxTimeLag) FROM SCHEMA("AWS/Kafka", "Cluster Name", "Consumer Group", "Topic") WHERE "Cluster Name" = 'orders-prod' AND "Consumer Group" = 'search-indexer'`,
        Label: 'EstimatedMaxTimeLag, search-indexer, all topics',
        Period: 60,
        ReturnData: true,
      },
    ]);
  });

  it('descriptions read as a sentence and carry the marker', () => {
    expect(alarms.get('kafka-heal-prod-eu-orders-under-replicated-b2')?.AlarmDescription).toBe(
      'Kafka cluster orders broker 2: UnderReplicatedPartitions > 0 for 15 minutes. [kafka-heal cluster=orders kind=under-replicated broker=2]',
    );
    expect(alarms.get('kafka-heal-prod-eu-orders-consumer-lag-billing-refunds')?.AlarmDescription).toBe(
      'Kafka cluster orders consumer group billing topic refunds: MaxOffsetLag (messages) > 100000 for 5 minutes. [kafka-heal cluster=orders kind=consumer-lag group=billing]',
    );
  });
});

describe('EC2 + ZooKeeper cluster alarms (examples/config/ec2-zookeeper.yaml)', () => {
  const alarms = alarmsByName(ec2T);
  const broker = (id: number) => ({ 'Broker ID': String(id), 'Cluster Name': 'payments' });

  it('creates 17 alarms: 4 cluster-wide, 4 per broker x 3, 1 consumer group', () => {
    ec2T.resourceCountIs('AWS::CloudWatch::Alarm', 17);
    expect([...alarms.keys()].filter((n) => n.includes('-b2'))).toEqual([
      'kafka-heal-prod-us-payments-broker-down-b2',
      'kafka-heal-prod-us-payments-disk-warning-b2',
      'kafka-heal-prod-us-payments-disk-critical-b2',
      'kafka-heal-prod-us-payments-cpu-high-b2',
    ]);
  });

  it('watches the probe metrics in the KafkaHeal namespace under the configured cluster name', () => {
    ec2T.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'kafka-heal-prod-us-payments-broker-down-b1',
      Namespace: 'KafkaHeal',
      MetricName: 'BrokerReachable',
      Dimensions: dims(broker(1)),
      Statistic: 'Minimum',
      Period: 60,
      EvaluationPeriods: 2,
      ComparisonOperator: 'LessThanThreshold',
      Threshold: 1,
      TreatMissingData: 'notBreaching',
    });
    ec2T.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'kafka-heal-prod-us-payments-offline-partitions',
      Namespace: 'KafkaHeal',
      MetricName: 'OfflinePartitions',
      Dimensions: dims({ 'Cluster Name': 'payments' }),
      ComparisonOperator: 'GreaterThanThreshold',
      Threshold: 0,
    });
    ec2T.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'kafka-heal-prod-us-payments-under-min-isr',
      Namespace: 'KafkaHeal',
      MetricName: 'UnderMinIsrPartitions',
      Dimensions: dims({ 'Cluster Name': 'payments' }),
      Period: 60,
      EvaluationPeriods: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      Threshold: 1,
    });
    // Under-replication is one cluster-wide alarm on the probe's count (its decision names no broker).
    ec2T.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'kafka-heal-prod-us-payments-under-replicated',
      Namespace: 'KafkaHeal',
      MetricName: 'UnderReplicatedPartitions',
      Dimensions: dims({ 'Cluster Name': 'payments' }),
      Statistic: 'Maximum',
      EvaluationPeriods: 15,
      DatapointsToAlarm: 15,
      ComparisonOperator: 'GreaterThanThreshold',
      Threshold: 0,
    });
    expect([...alarms.keys()].filter((n) => n.includes('under-replicated'))).toEqual(['kafka-heal-prod-us-payments-under-replicated']);
    ec2T.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'kafka-heal-prod-us-payments-consumer-lag-ledger-writer',
      Namespace: 'KafkaHeal',
      MetricName: 'ConsumerLag',
      Dimensions: dims({ 'Cluster Name': 'payments', 'Consumer Group': 'ledger-writer' }),
      ComparisonOperator: 'GreaterThanThreshold',
      Threshold: 50000,
    });
  });

  it('the probe heartbeat alarm counts probe runs by the OfflinePartitions samples and treats missing data as breaching', () => {
    // Every completed run publishes OfflinePartitions (the offline-partitions alarm reads it), so
    // the heartbeat needs no ProbeHeartbeat series of its own on EC2.
    ec2T.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'kafka-heal-prod-us-payments-probe-heartbeat',
      Namespace: 'KafkaHeal',
      MetricName: 'OfflinePartitions',
      Dimensions: dims({ 'Cluster Name': 'payments' }),
      Statistic: 'SampleCount',
      Period: 60,
      EvaluationPeriods: 3,
      ComparisonOperator: 'LessThanThreshold',
      Threshold: 1,
      TreatMissingData: 'breaching',
    });
    // MSK publishes nothing else an alarm reads: ProbeHeartbeat.
    mskT.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'kafka-heal-prod-eu-orders-probe-heartbeat',
      Namespace: 'KafkaHeal',
      MetricName: 'ProbeHeartbeat',
      Dimensions: dims({ 'Cluster Name': 'orders' }),
      Statistic: 'Sum',
      EvaluationPeriods: 3,
      ComparisonOperator: 'LessThanThreshold',
      Threshold: 1,
      TreatMissingData: 'breaching',
    });
    const breaching = [...alarms.values()].filter((a) => a.TreatMissingData === 'breaching').map((a) => a.AlarmName);
    expect(breaching).toEqual(['kafka-heal-prod-us-payments-probe-heartbeat']);
  });

  it('disk uses the CloudWatch agent (thresholds from the policy) and CPU uses AWS/EC2, per broker instance', () => {
    const warn = alarms.get('kafka-heal-prod-us-payments-disk-warning-b1') as Props;
    expect(warn.Threshold).toBe(80);
    expect(warn.ComparisonOperator).toBe('GreaterThanOrEqualToThreshold');
    expect(warn.Metrics).toEqual([
      { Id: 'expr_1', Expression: "SELECT MAX(disk_used_percent) FROM CWAgent WHERE InstanceId = 'i-0123456789abcdef1'", Label: 'disk_used_percent, i-0123456789abcdef1', Period: 60, ReturnData: true },
    ]);
    expect(alarms.get('kafka-heal-prod-us-payments-disk-critical-b1')?.Threshold).toBe(90);
    ec2T.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'kafka-heal-prod-us-payments-cpu-high-b2',
      Namespace: 'AWS/EC2',
      MetricName: 'CPUUtilization',
      Dimensions: dims({ InstanceId: 'i-0123456789abcdef2' }),
      Period: 300,
      EvaluationPeriods: 3,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      Threshold: 60,
    });
  });
});

describe('DR pair with brokers found by tag (examples/config/dr-pair.yaml)', () => {
  const alarms = alarmsByName(drT);

  it('creates 7 alarms for events (with its consumer group) and 6 for events-dr, site-down on both sides of the pair', () => {
    drT.resourceCountIs('AWS::CloudWatch::Alarm', 13);
    expect([...alarms.keys()].filter((n) => n.startsWith('kafka-heal-events-events-dr-'))).toHaveLength(6);
  });

  it('site-down: no bootstrap server answered the probe for 2 of 2 minutes (missing data is the heartbeat alarm\'s job)', () => {
    for (const cluster of ['events', 'events-dr']) {
      const site = alarms.get(`kafka-heal-events-${cluster}-site-down`) as Props;
      expect(site).toMatchObject({ Namespace: 'KafkaHeal', MetricName: 'ClusterReachable', Statistic: 'Maximum', ComparisonOperator: 'LessThanThreshold', Threshold: 1, EvaluationPeriods: 2, DatapointsToAlarm: 2, TreatMissingData: 'notBreaching' });
      expect(site.Dimensions).toEqual([{ Name: 'Cluster Name', Value: cluster }]);
      expect(site.AlarmDescription).toMatch(new RegExp(`\\[kafka-heal cluster=${cluster} kind=site-down\\]$`));
    }
    // Clusters without a DR pair have none.
    expect([...alarmsByName(ec2T).keys()].filter((n) => n.endsWith('-site-down'))).toEqual([]);
  });

  it('watches the probe\'s cluster-wide counts when broker ids are unknown at synth time (one series each, not one per broker)', () => {
    const down = alarms.get('kafka-heal-events-events-broker-down') as Props;
    expect(down).toMatchObject({
      Namespace: 'KafkaHeal',
      MetricName: 'UnreachableBrokers',
      Dimensions: [{ Name: 'Cluster Name', Value: 'events' }],
      Statistic: 'Maximum',
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      Threshold: 1,
      EvaluationPeriods: 2,
      DatapointsToAlarm: 2,
      TreatMissingData: 'notBreaching',
    });
    const urp = alarms.get('kafka-heal-events-events-dr-under-replicated') as Props;
    expect(urp).toMatchObject({ Namespace: 'KafkaHeal', MetricName: 'UnderReplicatedPartitions', Dimensions: [{ Name: 'Cluster Name', Value: 'events-dr' }] });
    expect(urp).toMatchObject({ ComparisonOperator: 'GreaterThanThreshold', Threshold: 0, EvaluationPeriods: 15 });
    expect(down.AlarmDescription).toMatch(/\[kafka-heal cluster=events kind=broker-down\]$/);
    // No alarm of a tag-found cluster reads a per-broker series.
    for (const a of alarms.values()) expect(JSON.stringify(a)).not.toContain('Broker ID');
  });
});

describe('synthesis', () => {
  it('raises no CDK warning or error (math expressions and Metrics Insights queries are well formed)', () => {
    for (const config of [msk, ec2zk, drPair]) {
      const app = new App();
      const stack = new Stack(app, 'AnnotationsTest');
      for (const cluster of config.clusters) new ClusterAlarms(stack, cluster.name, { deployment: config.deployment, cluster });
      const annotations = Annotations.fromStack(stack);
      expect(annotations.findWarning('*', Match.anyValue())).toEqual([]);
      expect(annotations.findError('*', Match.anyValue())).toEqual([]);
    }
  });
});

describe('alarm actions', () => {
  it('has none unless a topic is given; then ALARM and OK notify it', () => {
    const plain = alarmsByName(ec2T);
    for (const a of plain.values()) {
      expect(a.AlarmActions).toBeUndefined();
      expect(a.OKActions).toBeUndefined();
    }
    const withTopic = synth(ec2zk, true);
    withTopic.allResourcesProperties('AWS::CloudWatch::Alarm', {
      AlarmActions: [{ Ref: Match.stringLikeRegexp('^Ops') }],
      OKActions: [{ Ref: Match.stringLikeRegexp('^Ops') }],
    });
  });
});

describe('secured listeners: alarms that do not grow with the broker count', () => {
  const secured = (platform: 'ec2' | 'msk', security: Record<string, unknown>, brokers: number, policy: Record<string, unknown> = {}): ClusterConfig => {
    const base = platform === 'msk' ? msk : ec2zk;
    const c = structuredClone(base.clusters[0]) as Record<string, unknown>;
    if (platform === 'ec2') {
      (c['ec2'] as Record<string, unknown>)['clientPropertiesFile'] = '/etc/kafka/client.properties';
      (c['ec2'] as Record<string, unknown>)['brokers'] = Array.from({ length: brokers }, (_, i) => ({ id: i + 1, instanceId: `i-0123456789abcd${(i + 1).toString(16).padStart(3, '0')}` }));
      c['brokerCount'] = brokers;
    }
    c['security'] = security;
    c['policy'] = policy;
    return validateConfig({ deployment: 'prod', clusters: [c] }, 'test').clusters[0] as ClusterConfig;
  };
  const security = (specs: ReturnType<typeof clusterAlarmSpecs>) => specs.filter((s) => ['auth-failed', 'tls-failed', 'cert-expiry-warning', 'cert-expiry-critical'].includes(s.alarmKind));

  it('SASL_SSL on EC2: refused SASL, refused TLS, certificate expiry at 30 and 7 days, one alarm each, for 3 or 300 brokers alike', () => {
    const sasl = { protocol: 'SASL_SSL', mechanism: 'SCRAM-SHA-512', credentialsSecret: 'kafka/probe' };
    const three = security(clusterAlarmSpecs('prod', secured('ec2', sasl, 3)));
    const many = security(clusterAlarmSpecs('prod', secured('ec2', sasl, 300)));
    expect(many).toEqual(three);
    expect(three.map((s) => [s.alarmKind, s.signalKind, s.comparison, s.threshold, s.evaluationPeriods, s.datapointsToAlarm, s.treatMissingData])).toEqual([
      ['auth-failed', 'auth-failed', 'GreaterThanOrEqualToThreshold', 1, 2, 2, 'notBreaching'],
      ['tls-failed', 'tls-failed', 'GreaterThanOrEqualToThreshold', 1, 2, 2, 'notBreaching'],
      ['cert-expiry-warning', 'certificate-expiry', 'LessThanThreshold', 30, 1, 1, 'notBreaching'],
      ['cert-expiry-critical', 'certificate-expiry', 'LessThanThreshold', 7, 1, 1, 'notBreaching'],
    ]);
    expect(three[2]?.source).toEqual({ type: 'metric', metric: { namespace: 'KafkaHeal', metricName: 'CertificateDaysToExpiry', dimensions: { 'Cluster Name': 'payments' }, statistic: 'Minimum' } });
    expect(three.every((s) => s.brokerId === undefined)).toBe(true);
  });

  it('the thresholds follow policy.thresholds; SSL alone has no SASL alarm; PLAINTEXT none; MSK watches expiry only on request', () => {
    const ssl = security(clusterAlarmSpecs('prod', secured('ec2', { protocol: 'SSL' }, 3, { thresholds: { certExpiryWarnDays: 45, certExpiryCriticalDays: 14 } })));
    expect(ssl.map((s) => [s.alarmKind, s.threshold])).toEqual([['tls-failed', 1], ['cert-expiry-warning', 45], ['cert-expiry-critical', 14]]);
    expect(security(clusterAlarmSpecs('prod', secured('ec2', {}, 3)))).toEqual([]);
    expect(security(clusterAlarmSpecs('prod', secured('ec2', { protocol: 'SSL', tls: { certificateExpiryAlarms: false } }, 3))).map((s) => s.alarmKind)).toEqual(['tls-failed']);
    const iam = { protocol: 'SASL_SSL', mechanism: 'AWS_MSK_IAM' };
    expect(security(clusterAlarmSpecs('prod', secured('msk', iam, 3))).map((s) => s.alarmKind)).toEqual(['auth-failed', 'tls-failed']);
    expect(security(clusterAlarmSpecs('prod', secured('msk', { ...iam, tls: { certificateExpiryAlarms: true } }, 3))).map((s) => s.alarmKind)).toEqual(['auth-failed', 'tls-failed', 'cert-expiry-warning', 'cert-expiry-critical']);
  });

  it('the probe publishes exactly the security series these alarms read', () => {
    const keys = probeSeriesOfAlarms(clusterAlarmSpecs('prod', secured('ec2', { protocol: 'SASL_SSL', mechanism: 'PLAIN', credentialsSecret: 'kafka/probe' }, 3)));
    expect(keys).toEqual(expect.arrayContaining(['ProbeAuthFailures|Cluster Name', 'ProbeTlsFailures|Cluster Name', 'CertificateDaysToExpiry|Cluster Name']));
  });
});

/** What the ingest path must make of each alarm kind, written out independently of the specs. */
const EXPECTED_SIGNAL_KIND: Record<AlarmKind, SignalKind> = {
  'controller-missing': 'controller-missing',
  'offline-partitions': 'offline-partitions',
  'under-min-isr': 'under-min-isr',
  'under-replicated': 'under-replicated',
  'disk-warning': 'disk-usage',
  'disk-critical': 'disk-usage',
  'cpu-high': 'cpu-high',
  'heap-high': 'heap-high',
  'consumer-lag': 'consumer-lag',
  'consumer-time-lag': 'consumer-time-lag',
  'broker-down': 'broker-down',
  'probe-heartbeat': 'monitoring-gap',
  'site-down': 'site-down',
  'auth-failed': 'auth-failed',
  'tls-failed': 'tls-failed',
  'cert-expiry-warning': 'certificate-expiry',
  'cert-expiry-critical': 'certificate-expiry',
};

describe('every alarm round-trips through normalize', () => {
  // Build the "CloudWatch Alarm State Change" event EventBridge would deliver for each synthesized
  // alarm, and check the ingest path reads back the cluster, kind, broker and group intended.
  function stateChange(p: Props): unknown {
    const metrics = p.Metrics
      ? (p.Metrics as Props[]).map((m) =>
          m.Expression
            ? { id: m.Id, expression: m.Expression, label: m.Label, returnData: m.ReturnData }
            : {
                id: m.Id,
                metricStat: {
                  metric: { namespace: m.MetricStat.Metric.Namespace, name: m.MetricStat.Metric.MetricName, dimensions: Object.fromEntries((m.MetricStat.Metric.Dimensions as Props[]).map((d) => [d.Name, d.Value])) },
                  period: m.MetricStat.Period,
                  stat: m.MetricStat.Stat,
                },
                returnData: m.ReturnData,
              },
        )
      : [{ id: 'm1', metricStat: { metric: { namespace: p.Namespace, name: p.MetricName, dimensions: Object.fromEntries((p.Dimensions as Props[]).map((d) => [d.Name, d.Value])) }, period: p.Period, stat: p.Statistic }, returnData: true }];
    return {
      version: '0',
      id: 'c4c1c1c9-6542-e61b-6ef0-8c4d36933a92',
      'detail-type': 'CloudWatch Alarm State Change',
      source: 'aws.cloudwatch',
      account: '123456789012',
      time: '2026-11-22T02:00:00Z',
      region: 'eu-west-1',
      resources: [`arn:aws:cloudwatch:eu-west-1:123456789012:alarm:${p.AlarmName}`],
      detail: {
        alarmName: p.AlarmName,
        state: { value: 'ALARM', reason: 'Threshold Crossed', timestamp: '2026-11-22T02:00:00.000+0000' },
        previousState: { value: 'OK', reason: 'ok', timestamp: '2026-11-22T01:00:00.000+0000' },
        configuration: { description: p.AlarmDescription, metrics },
      },
    };
  }

  it.each([
    ['msk', msk],
    ['ec2-zookeeper', ec2zk],
    ['dr-pair', drPair],
  ] as const)('%s', (_name, config) => {
    const byName = new Map(config.clusters.flatMap((c) => clusterAlarmSpecs(config.deployment, c).map((s) => [s.alarmName, { ...s, cluster: c.name }] as const)));
    const template = synth(config);
    const ctx = { clusters: clusterFacts(config), receivedAt: '2026-11-22T02:00:05Z' };
    for (const p of alarmsByName(template).values()) {
      const spec = byName.get(p.AlarmName);
      expect(spec, p.AlarmName).toBeDefined();
      const result = normalize(stateChange(p), ctx);
      expect(result.outcome).toBe('signals');
      const signal = result.outcome === 'signals' ? result.signals[0] : undefined;
      expect(signal?.cluster, p.AlarmName).toBe(spec?.cluster);
      expect(signal?.kind, p.AlarmName).toBe(EXPECTED_SIGNAL_KIND[spec?.alarmKind as AlarmKind]);
      const brokerInName = /-(?:under-min-isr|under-replicated|disk-warning|disk-critical|cpu-high|heap-high|broker-down)-b(\d+)$/.exec(p.AlarmName)?.[1];
      expect(signal?.brokerIds, p.AlarmName).toEqual(brokerInName === undefined ? [] : [Number(brokerInName)]);
      expect(signal?.consumerGroup, p.AlarmName).toBe(spec?.consumerGroup);
    }
  });
});
