import { App, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as sns from 'aws-cdk-lib/aws-sns';
import { describe, expect, it } from 'vitest';
import { normalize } from '#domain/normalize/index.js';
import {
  clusterFacts,
  loadConfigFile,
  validateConfig,
  type ClusterConfig,
  type HealerConfig,
} from '#infra/config/schema.js';
import {
  MAX_ALARM_NAME,
  alarmName,
  clusterAlarmSpecs,
  probeSeriesOfAlarms,
  type AlarmKind,
} from '#infra/constructs/alarm-specs.js';
import type { SignalKind } from '#domain/types.js';
import { ClusterAlarms, alarmNamePrefix } from '#infra/constructs/alarms.js';

type Props = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

function synth(config: HealerConfig, actions = false): Template {
  const app = new App();
  const stack = new Stack(app, 'AlarmsTest');
  const topic = actions ? new sns.Topic(stack, 'Ops') : undefined;
  for (const cluster of config.clusters)
    new ClusterAlarms(stack, `Alarms-${cluster.name}`, {
      deployment: config.deployment,
      cluster,
      ...(topic ? { actions: topic } : {}),
    });
  return Template.fromStack(stack);
}

function alarmsByName(t: Template): Map<string, Props> {
  const out = new Map<string, Props>();
  for (const r of Object.values(t.findResources('AWS::CloudWatch::Alarm')))
    out.set(r.Properties.AlarmName, r.Properties);
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
  it('start with the deployment prefix and follow <cluster>-<kind>[-<group>[-<topic>]]', () => {
    expect(alarmNamePrefix('prod-eu')).toBe('kafka-heal-prod-eu.');
    expect(alarmName('prod-eu', 'orders', 'under-replicated')).toBe('kafka-heal-prod-eu.orders-under-replicated');
    expect(alarmName('prod-eu', 'orders', 'consumer-lag', { group: 'billing', topic: 'refunds' })).toBe(
      'kafka-heal-prod-eu.orders-consumer-lag-billing-refunds',
    );
    for (const t of [mskT, ec2T, drT])
      for (const name of alarmsByName(t).keys()) expect(name).toMatch(/^kafka-heal-(prod-eu|prod-us|events)\./);
  });

  it("the prefix ends where a deployment name cannot go on: prod never matches prod-eu's alarms", () => {
    const prod = alarmNamePrefix('prod');
    for (const name of alarmsByName(mskT).keys()) expect(name.startsWith(prod), name).toBe(false);
    // No deployment name can hold the delimiter, so no prefix is another's prefix.
    expect(() => validateConfig({ ...msk, deployment: 'prod.eu' }, 't')).toThrow(
      /deployment: expected a deployment name/,
    );
  });

  it('two deployments in one account watching a cluster of the same name read disjoint probe series', () => {
    const cluster = ec2zk.clusters[0] as ClusterConfig;
    const staging = clusterAlarmSpecs('staging', cluster);
    const prod = clusterAlarmSpecs('prod', cluster);
    const sources = (specs: ReturnType<typeof clusterAlarmSpecs>) => specs.map((a) => JSON.stringify(a.source));
    // Every probe alarm names its deployment's namespace, never the other's nor the bare one.
    for (const [specs, own, other] of [
      [staging, 'KafkaHeal/staging', 'KafkaHeal/prod'],
      [prod, 'KafkaHeal/prod', 'KafkaHeal/staging'],
    ] as const) {
      const probe = sources(specs).filter((t) => t.includes('KafkaHeal'));
      expect(probe.length).toBeGreaterThan(5);
      for (const t of probe) {
        expect(t, t).toContain(own);
        expect(t, t).not.toContain(`${other}"`);
        expect(t, t).not.toMatch(/"KafkaHeal"|SCHEMA\(\\"KafkaHeal\\"/);
      }
    }
    // What the probe must publish is the same for both: the series kinds do not name a namespace.
    expect(probeSeriesOfAlarms(staging)).toEqual(probeSeriesOfAlarms(prod));
    expect(probeSeriesOfAlarms(prod).length).toBeGreaterThan(5);
  });

  it('are cut to 255 characters with a hash, keeping long names unique', () => {
    const a = alarmName('d'.repeat(24), 'c'.repeat(40), 'consumer-time-lag', { group: 'g'.repeat(249), topic: 't1' });
    const b = alarmName('d'.repeat(24), 'c'.repeat(40), 'consumer-time-lag', { group: 'g'.repeat(249), topic: 't2' });
    expect(a).toHaveLength(MAX_ALARM_NAME);
    expect(b).toHaveLength(MAX_ALARM_NAME);
    expect(a).not.toBe(b);
    expect(
      alarmName('d', 'c', 'cpu-high', { group: 'g'.repeat(255 - 'kafka-heal-d.c-cpu-high-'.length) }),
    ).toHaveLength(255);
    expect(alarmName('d', 'c', 'cpu-high', { group: 'g'.repeat(256 - 'kafka-heal-d.c-cpu-high-'.length) })).toMatch(
      /-[0-9a-f]{10}$/,
    );
  });

  it('refuses two alarms with one name instead of letting CloudFormation fail later', () => {
    const cfg = validateConfig(
      {
        deployment: 'd',
        region: 'eu-west-1',
        clusters: [
          {
            name: 'c',
            platform: 'ec2',
            ec2: { metadataMode: 'kraft', brokerTag: { key: 'k', value: 'v' } },
            brokerCount: 3,
            bootstrapServers: ['h:9092'],
            probe: { vpcId: 'vpc-01234567', subnetIds: ['subnet-01234567'], securityGroupId: 'sg-01234567' },
            consumerGroups: [
              { name: 'a-b', topics: ['c'] },
              { name: 'a', topics: ['b-c'] },
            ],
          },
        ],
      },
      't',
    );
    // EC2 lag alarms are per group (no topic part), so these two do not clash...
    expect(() => clusterAlarmSpecs('d', cfg.clusters[0] as ClusterConfig)).not.toThrow();
    // ...but on MSK the per-topic names would.
    const mskCluster = {
      ...(msk.clusters[0] as ClusterConfig),
      consumerGroups: (cfg.clusters[0] as ClusterConfig).consumerGroups,
    } as ClusterConfig;
    expect(() => clusterAlarmSpecs('d', mskCluster)).toThrow(
      /would share the name kafka-heal-d\.orders-consumer-lag-a-b-c/,
    );
  });
});

describe('MSK cluster alarms (examples/config/msk.yaml)', () => {
  const alarms = alarmsByName(mskT);
  const cluster = { 'Cluster Name': 'orders-prod' };
  const perBroker = (agg: string, metric: string, order = 'DESC') =>
    `SELECT ${agg}(${metric}) FROM SCHEMA("AWS/Kafka", "Cluster Name", "Broker ID") WHERE "Cluster Name" = 'orders-prod' GROUP BY "Broker ID" ORDER BY ${agg}() ${order}`;
  const query = (name: string) => (alarms.get(name) as Props).Metrics as Props[];

  it('creates 18 alarms: 2 cluster-wide, 7 over every broker (6 AWS/Kafka, broker-down from the probe), lag 2 x 2 topics + 2 for the all-topics group, 1 heartbeat, 2 for the IAM listener (probe refused: SASL, TLS)', () => {
    mskT.resourceCountIs('AWS::CloudWatch::Alarm', 18);
  });

  it("broker-down: the probe's BrokerReachable of every broker < 1 for 2 of 2 minutes, one query grouped by broker", () => {
    expect(query('kafka-heal-prod-eu.orders-broker-down')).toEqual([
      {
        Id: 'expr_1',
        Expression: `SELECT MIN(BrokerReachable) FROM SCHEMA("KafkaHeal/prod-eu", "Cluster Name", "Broker ID") WHERE "Cluster Name" = 'orders' GROUP BY "Broker ID" ORDER BY MIN() ASC`,
        Label: 'BrokerReachable per broker',
        Period: 60,
        ReturnData: true,
      },
    ]);
    mskT.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'kafka-heal-prod-eu.orders-broker-down',
      EvaluationPeriods: 2,
      DatapointsToAlarm: 2,
      ComparisonOperator: 'LessThanThreshold',
      Threshold: 1,
      TreatMissingData: 'notBreaching',
    });
  });

  it('ActiveControllerCount < 1 for 5 of 5 one-minute points', () => {
    mskT.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'kafka-heal-prod-eu.orders-controller-missing',
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
      AlarmName: 'kafka-heal-prod-eu.orders-offline-partitions',
      Namespace: 'AWS/Kafka',
      MetricName: 'OfflinePartitionsCount',
      Dimensions: dims(cluster),
      Period: 60,
      EvaluationPeriods: 1,
      ComparisonOperator: 'GreaterThanThreshold',
      Threshold: 0,
    });
  });

  it('every broker: UnderMinIsrPartitionCount >= 1 (1 min) and UnderReplicatedPartitions > 0 (15 min), one query grouped by broker each', () => {
    expect(query('kafka-heal-prod-eu.orders-under-min-isr')).toEqual([
      {
        Id: 'expr_1',
        Expression: perBroker('MAX', 'UnderMinIsrPartitionCount'),
        Label: 'UnderMinIsrPartitionCount per broker',
        Period: 60,
        ReturnData: true,
      },
    ]);
    mskT.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'kafka-heal-prod-eu.orders-under-min-isr',
      EvaluationPeriods: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      Threshold: 1,
    });
    expect(query('kafka-heal-prod-eu.orders-under-replicated')[0]?.Expression).toBe(
      perBroker('MAX', 'UnderReplicatedPartitions'),
    );
    mskT.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'kafka-heal-prod-eu.orders-under-replicated',
      EvaluationPeriods: 15,
      DatapointsToAlarm: 15,
      ComparisonOperator: 'GreaterThanThreshold',
      Threshold: 0,
    });
  });

  it('KafkaDataLogsDiskUsed >= 85 and >= 90, every broker', () => {
    for (const [kind, threshold] of [
      ['warning', 85],
      ['critical', 90],
    ] as const) {
      mskT.hasResourceProperties('AWS::CloudWatch::Alarm', {
        AlarmName: `kafka-heal-prod-eu.orders-disk-${kind}`,
        Period: Match.absent(),
        EvaluationPeriods: 3,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        Threshold: threshold,
      });
      expect(query(`kafka-heal-prod-eu.orders-disk-${kind}`)).toEqual([
        expect.objectContaining({ Expression: perBroker('MAX', 'KafkaDataLogsDiskUsed'), Period: 60 }),
      ]);
    }
  });

  it('CpuUser >= 60 and HeapMemoryAfterGC > 60, every broker, averaged over 5-minute periods for 15 minutes', () => {
    expect(query('kafka-heal-prod-eu.orders-cpu-high')).toEqual([
      expect.objectContaining({ Expression: perBroker('AVG', 'CpuUser'), Period: 300 }),
    ]);
    mskT.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'kafka-heal-prod-eu.orders-cpu-high',
      EvaluationPeriods: 3,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      Threshold: 60,
    });
    expect(query('kafka-heal-prod-eu.orders-heap-high')).toEqual([
      expect.objectContaining({ Expression: perBroker('AVG', 'HeapMemoryAfterGC'), Period: 300 }),
    ]);
    mskT.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'kafka-heal-prod-eu.orders-heap-high',
      EvaluationPeriods: 3,
      ComparisonOperator: 'GreaterThanThreshold',
      Threshold: 60,
    });
  });

  it('MaxOffsetLag and EstimatedMaxTimeLag per listed topic, thresholds from the group', () => {
    for (const topic of ['orders', 'refunds']) {
      const groupDims = dims({ 'Cluster Name': 'orders-prod', 'Consumer Group': 'billing', Topic: topic });
      mskT.hasResourceProperties('AWS::CloudWatch::Alarm', {
        AlarmName: `kafka-heal-prod-eu.orders-consumer-lag-billing-${topic}`,
        Namespace: 'AWS/Kafka',
        MetricName: 'MaxOffsetLag',
        Dimensions: groupDims,
        Period: 60,
        EvaluationPeriods: 5,
        ComparisonOperator: 'GreaterThanThreshold',
        Threshold: 100000,
      });
      mskT.hasResourceProperties('AWS::CloudWatch::Alarm', {
        AlarmName: `kafka-heal-prod-eu.orders-consumer-time-lag-billing-${topic}`,
        Namespace: 'AWS/Kafka',
        MetricName: 'EstimatedMaxTimeLag',
        Dimensions: groupDims,
        ComparisonOperator: 'GreaterThanThreshold',
        Threshold: 300,
      });
    }
  });

  it('a group without topics is watched across all its topics with one Metrics Insights query', () => {
    const a = alarms.get('kafka-heal-prod-eu.orders-consumer-time-lag-search-indexer') as Props;
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

  it('descriptions read as a sentence and carry the marker with the deployment', () => {
    expect(alarms.get('kafka-heal-prod-eu.orders-under-replicated')?.AlarmDescription).toBe(
      'Kafka cluster orders, each broker: UnderReplicatedPartitions > 0 for 15 minutes. [kafka-heal deployment=prod-eu cluster=orders kind=under-replicated threshold=0]',
    );
    expect(alarms.get('kafka-heal-prod-eu.orders-consumer-lag-billing-refunds')?.AlarmDescription).toBe(
      'Kafka cluster orders consumer group billing topic refunds: MaxOffsetLag (messages) > 100000 for 5 minutes. [kafka-heal deployment=prod-eu cluster=orders kind=consumer-lag group=billing threshold=100000]',
    );
  });
});

describe('EC2 + ZooKeeper cluster alarms (examples/config/ec2-zookeeper.yaml)', () => {
  const alarms = alarmsByName(ec2T);

  it("creates 11 alarms: 6 on the probe's cluster counts (with the quorum and the controller), 4 over every broker, 1 consumer group", () => {
    ec2T.resourceCountIs('AWS::CloudWatch::Alarm', 11);
  });

  it("quorum-lost: the probe's QuorumHealthy (srvr of each listed ZooKeeper server) < 1 for 2 of 2 minutes, classified quorum-loss", () => {
    const q = alarms.get('kafka-heal-prod-us.payments-quorum-lost') as Props;
    expect(q).toMatchObject({
      Namespace: 'KafkaHeal/prod-us',
      MetricName: 'QuorumHealthy',
      Statistic: 'Maximum',
      ComparisonOperator: 'LessThanThreshold',
      Threshold: 1,
      EvaluationPeriods: 2,
      DatapointsToAlarm: 2,
      TreatMissingData: 'notBreaching',
    });
    expect(q.Dimensions).toEqual([{ Name: 'Cluster Name', Value: 'payments' }]);
    expect(q.AlarmDescription).toMatch(
      /ZooKeeper leader.*\[kafka-heal deployment=prod-us cluster=payments kind=quorum-loss threshold=1\]$/,
    );
  });

  it('without ec2.zookeeper.connect the ensemble cannot be asked: the controller alarm only, no quorum alarm', () => {
    const cluster = ec2zk.clusters[0] as Extract<ClusterConfig, { platform: 'ec2' }>;
    const { connect: _omitted, ...zookeeper } = cluster.ec2.zookeeper as NonNullable<typeof cluster.ec2.zookeeper>;
    const kinds = clusterAlarmSpecs('prod-us', { ...cluster, ec2: { ...cluster.ec2, zookeeper } }).map(
      (a) => a.alarmKind,
    );
    expect(kinds).toContain('controller-missing');
    expect(kinds).not.toContain('quorum-lost');
  });

  it("controller-missing: the probe's ActiveControllerCount < 1 for 3 of 3 minutes (a minute after the quorum alarm, so a lost quorum opens one incident)", () => {
    const c = alarms.get('kafka-heal-prod-us.payments-controller-missing') as Props;
    expect(c).toMatchObject({
      Namespace: 'KafkaHeal/prod-us',
      MetricName: 'ActiveControllerCount',
      Statistic: 'Maximum',
      ComparisonOperator: 'LessThanThreshold',
      Threshold: 1,
      EvaluationPeriods: 3,
      DatapointsToAlarm: 3,
      TreatMissingData: 'notBreaching',
    });
    expect(c.AlarmDescription).toMatch(
      /\[kafka-heal deployment=prod-us cluster=payments kind=controller-missing threshold=1\]$/,
    );
  });

  it("watches the probe metrics in the deployment's own namespace (KafkaHeal/prod-us) under the configured cluster name", () => {
    ec2T.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'kafka-heal-prod-us.payments-broker-down',
      Metrics: [
        {
          Id: 'expr_1',
          Expression: `SELECT MIN(BrokerReachable) FROM SCHEMA("KafkaHeal/prod-us", "Cluster Name", "Broker ID") WHERE "Cluster Name" = 'payments' GROUP BY "Broker ID" ORDER BY MIN() ASC`,
          Label: 'BrokerReachable per broker',
          Period: 60,
          ReturnData: true,
        },
      ],
      EvaluationPeriods: 2,
      ComparisonOperator: 'LessThanThreshold',
      Threshold: 1,
      TreatMissingData: 'notBreaching',
    });
    ec2T.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'kafka-heal-prod-us.payments-offline-partitions',
      Namespace: 'KafkaHeal/prod-us',
      MetricName: 'OfflinePartitions',
      Dimensions: dims({ 'Cluster Name': 'payments' }),
      ComparisonOperator: 'GreaterThanThreshold',
      Threshold: 0,
    });
    ec2T.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'kafka-heal-prod-us.payments-under-min-isr',
      Namespace: 'KafkaHeal/prod-us',
      MetricName: 'UnderMinIsrPartitions',
      Dimensions: dims({ 'Cluster Name': 'payments' }),
      Period: 60,
      EvaluationPeriods: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      Threshold: 1,
    });
    // Under-replication is one cluster-wide alarm on the probe's count (its decision names no broker).
    ec2T.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'kafka-heal-prod-us.payments-under-replicated',
      Namespace: 'KafkaHeal/prod-us',
      MetricName: 'UnderReplicatedPartitions',
      Dimensions: dims({ 'Cluster Name': 'payments' }),
      Statistic: 'Maximum',
      EvaluationPeriods: 15,
      DatapointsToAlarm: 15,
      ComparisonOperator: 'GreaterThanThreshold',
      Threshold: 0,
    });
    expect([...alarms.keys()].filter((n) => n.includes('under-replicated'))).toEqual([
      'kafka-heal-prod-us.payments-under-replicated',
    ]);
    ec2T.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'kafka-heal-prod-us.payments-consumer-lag-ledger-writer',
      Namespace: 'KafkaHeal/prod-us',
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
      AlarmName: 'kafka-heal-prod-us.payments-probe-heartbeat',
      Namespace: 'KafkaHeal/prod-us',
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
      AlarmName: 'kafka-heal-prod-eu.orders-probe-heartbeat',
      Namespace: 'KafkaHeal/prod-eu',
      MetricName: 'ProbeHeartbeat',
      Dimensions: dims({ 'Cluster Name': 'orders' }),
      Statistic: 'Sum',
      EvaluationPeriods: 3,
      ComparisonOperator: 'LessThanThreshold',
      Threshold: 1,
      TreatMissingData: 'breaching',
    });
    const breaching = [...alarms.values()].filter((a) => a.TreatMissingData === 'breaching').map((a) => a.AlarmName);
    expect(breaching).toEqual(['kafka-heal-prod-us.payments-probe-heartbeat']);
  });

  it('disk and CPU read the CloudWatch agent series of every broker host, by the cluster and broker dimensions the agent adds', () => {
    const warn = alarms.get('kafka-heal-prod-us.payments-disk-warning') as Props;
    expect(warn.Threshold).toBe(80);
    expect(warn.ComparisonOperator).toBe('GreaterThanOrEqualToThreshold');
    expect(warn.Metrics).toEqual([
      {
        Id: 'expr_1',
        Expression: `SELECT MAX(disk_used_percent) FROM CWAgent WHERE "Cluster Name" = 'payments' GROUP BY "Broker ID" ORDER BY MAX() DESC`,
        Label: 'disk_used_percent per broker',
        Period: 60,
        ReturnData: true,
      },
    ]);
    expect(alarms.get('kafka-heal-prod-us.payments-disk-critical')?.Threshold).toBe(90);
    const cpu = alarms.get('kafka-heal-prod-us.payments-cpu-high') as Props;
    expect(cpu).toMatchObject({
      EvaluationPeriods: 3,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      Threshold: 60,
    });
    expect(cpu.Metrics).toEqual([
      expect.objectContaining({
        Expression: `SELECT AVG(cpu_usage_active) FROM CWAgent WHERE "Cluster Name" = 'payments' AND cpu = 'cpu-total' GROUP BY "Broker ID" ORDER BY AVG() DESC`,
        Period: 300,
      }),
    ]);
  });
});

describe('DR pair with brokers found by tag (examples/config/dr-pair.yaml)', () => {
  const alarms = alarmsByName(drT);

  it('creates 12 alarms for events (with its consumer group) and 11 for events-dr, site-down on both sides of the pair', () => {
    drT.resourceCountIs('AWS::CloudWatch::Alarm', 23);
    expect([...alarms.keys()].filter((n) => n.startsWith('kafka-heal-events.events-dr-'))).toHaveLength(11);
  });

  it("KRaft: quorum-lost reads DescribeQuorum's leader (QuorumHealthy), controller-missing the same leader a minute later", () => {
    expect(alarms.get('kafka-heal-events.events-quorum-lost')?.AlarmDescription).toMatch(
      /QuorumHealthy \(probe: DescribeQuorum names a KRaft leader\) < 1 for 2 minutes\. \[kafka-heal deployment=events cluster=events kind=quorum-loss threshold=1\]$/,
    );
    expect(alarms.get('kafka-heal-events.events-controller-missing')?.AlarmDescription).toMatch(
      /ActiveControllerCount \(probe: the KRaft quorum leader\) < 1 for 3 minutes\./,
    );
  });

  it("site-down: no bootstrap server answered the probe for 2 of 2 minutes (missing data is the heartbeat alarm's job)", () => {
    for (const cluster of ['events', 'events-dr']) {
      const site = alarms.get(`kafka-heal-events.${cluster}-site-down`) as Props;
      expect(site).toMatchObject({
        Namespace: 'KafkaHeal/events',
        MetricName: 'ClusterReachable',
        Statistic: 'Maximum',
        ComparisonOperator: 'LessThanThreshold',
        Threshold: 1,
        EvaluationPeriods: 2,
        DatapointsToAlarm: 2,
        TreatMissingData: 'notBreaching',
      });
      expect(site.Dimensions).toEqual([{ Name: 'Cluster Name', Value: cluster }]);
      expect(site.AlarmDescription).toMatch(
        new RegExp(`\\[kafka-heal deployment=events cluster=${cluster} kind=site-down threshold=1\\]$`),
      );
    }
    // Clusters without a DR pair have none.
    expect([...alarmsByName(ec2T).keys()].filter((n) => n.endsWith('-site-down'))).toEqual([]);
  });

  it("brokers found by tag get the same per-broker alarms: the broker ids are the series' own", () => {
    const down = alarms.get('kafka-heal-events.events-broker-down') as Props;
    expect(down.Metrics).toEqual([
      expect.objectContaining({
        Expression: `SELECT MIN(BrokerReachable) FROM SCHEMA("KafkaHeal/events", "Cluster Name", "Broker ID") WHERE "Cluster Name" = 'events' GROUP BY "Broker ID" ORDER BY MIN() ASC`,
      }),
    ]);
    expect(down).toMatchObject({
      ComparisonOperator: 'LessThanThreshold',
      Threshold: 1,
      EvaluationPeriods: 2,
      DatapointsToAlarm: 2,
      TreatMissingData: 'notBreaching',
    });
    expect(
      [...alarms.keys()].filter(
        (n) => n.startsWith('kafka-heal-events.events-') && !n.startsWith('kafka-heal-events.events-dr'),
      ),
    ).toEqual(expect.arrayContaining(['kafka-heal-events.events-disk-critical', 'kafka-heal-events.events-cpu-high']));
    const urp = alarms.get('kafka-heal-events.events-dr-under-replicated') as Props;
    expect(urp).toMatchObject({
      Namespace: 'KafkaHeal/events',
      MetricName: 'UnderReplicatedPartitions',
      Dimensions: [{ Name: 'Cluster Name', Value: 'events-dr' }],
    });
    expect(urp).toMatchObject({ ComparisonOperator: 'GreaterThanThreshold', Threshold: 0, EvaluationPeriods: 15 });
    expect(down.AlarmDescription).toMatch(
      /\[kafka-heal deployment=events cluster=events kind=broker-down threshold=1\]$/,
    );
  });
});

describe('the alarms of a cluster do not grow with its brokers', () => {
  const sized = (n: number, listed: boolean) =>
    validateConfig(
      {
        deployment: 'big',
        region: 'eu-west-1',
        clusters: [
          {
            name: 'c',
            platform: 'ec2',
            ec2: listed
              ? {
                  metadataMode: 'kraft',
                  brokers: Array.from({ length: n }, (_, i) => ({
                    id: i + 1,
                    instanceId: `i-${(i + 1).toString(16).padStart(17, '0')}`,
                  })),
                }
              : { metadataMode: 'kraft', brokerTag: { key: 'k', value: 'v' } },
            brokerCount: n,
            bootstrapServers: ['h:9092'],
            probe: { vpcId: 'vpc-01234567', subnetIds: ['subnet-01234567'], securityGroupId: 'sg-01234567' },
          },
          { ...msk.clusters[0], name: 'm', brokerCount: n },
        ],
      },
      't',
    );

  it.each([true, false])('3, 30 and 1,000 brokers have the same alarms (EC2 brokers listed: %s; MSK)', (listed) => {
    const names = (n: number) =>
      sized(n, listed)
        .clusters.flatMap((c) => clusterAlarmSpecs('big', c).map((a) => a.alarmName))
        .sort();
    expect(names(30)).toEqual(names(3));
    expect(names(1000)).toEqual(names(3));
    // 26 (the EC2 cluster's 11 with quorum-lost and controller-missing, MSK's 15), and two
    // (auth-failed, tls-failed) for the MSK example's IAM listener.
    expect(names(1000)).toHaveLength(28);
  });
});

describe('synthesis', () => {
  it('raises no CDK warning or error (math expressions and Metrics Insights queries are well formed)', () => {
    for (const config of [msk, ec2zk, drPair]) {
      const app = new App();
      const stack = new Stack(app, 'AnnotationsTest');
      for (const cluster of config.clusters)
        new ClusterAlarms(stack, cluster.name, { deployment: config.deployment, cluster });
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
  const secured = (
    platform: 'ec2' | 'msk',
    security: Record<string, unknown>,
    brokers: number,
    policy: Record<string, unknown> = {},
  ): ClusterConfig => {
    const base = platform === 'msk' ? msk : ec2zk;
    const c = structuredClone(base.clusters[0]) as Record<string, unknown>;
    if (platform === 'ec2') {
      (c['ec2'] as Record<string, unknown>)['clientPropertiesFile'] = '/etc/kafka/client.properties';
      (c['ec2'] as Record<string, unknown>)['brokers'] = Array.from({ length: brokers }, (_, i) => ({
        id: i + 1,
        instanceId: `i-0123456789abcd${(i + 1).toString(16).padStart(3, '0')}`,
      }));
      c['brokerCount'] = brokers;
    }
    c['security'] = security;
    c['policy'] = policy;
    return validateConfig({ deployment: 'prod', region: 'eu-west-1', clusters: [c] }, 'test')
      .clusters[0] as ClusterConfig;
  };
  const security = (specs: ReturnType<typeof clusterAlarmSpecs>) =>
    specs.filter((s) =>
      ['auth-failed', 'tls-failed', 'cert-expiry-warning', 'cert-expiry-critical'].includes(s.alarmKind),
    );

  it('SASL_SSL on EC2: refused SASL, refused TLS, certificate expiry at 30 and 7 days, one alarm each, for 3 or 300 brokers alike', () => {
    const sasl = { protocol: 'SASL_SSL', mechanism: 'SCRAM-SHA-512', credentialsSecret: 'kafka/probe' };
    const three = security(clusterAlarmSpecs('prod', secured('ec2', sasl, 3)));
    const many = security(clusterAlarmSpecs('prod', secured('ec2', sasl, 300)));
    expect(many).toEqual(three);
    expect(
      three.map((s) => [
        s.alarmKind,
        s.signalKind,
        s.comparison,
        s.threshold,
        s.evaluationPeriods,
        s.datapointsToAlarm,
        s.treatMissingData,
      ]),
    ).toEqual([
      ['auth-failed', 'auth-failed', 'GreaterThanOrEqualToThreshold', 1, 2, 2, 'notBreaching'],
      ['tls-failed', 'tls-failed', 'GreaterThanOrEqualToThreshold', 1, 2, 2, 'notBreaching'],
      ['cert-expiry-warning', 'certificate-expiry', 'LessThanThreshold', 30, 1, 1, 'notBreaching'],
      ['cert-expiry-critical', 'certificate-expiry', 'LessThanThreshold', 7, 1, 1, 'notBreaching'],
    ]);
    expect(three[2]?.source).toEqual({
      type: 'metric',
      metric: {
        namespace: 'KafkaHeal/prod',
        metricName: 'CertificateDaysToExpiry',
        dimensions: { 'Cluster Name': 'payments' },
        statistic: 'Minimum',
      },
    });
    // One series of the cluster each, never a query over the brokers.
    expect(
      three.map((s) => (s.source.type === 'metric' ? Object.keys(s.source.metric.dimensions) : s.source.query)),
    ).toEqual(three.map(() => ['Cluster Name']));
    expect(three.map((s) => s.alarmName)).toEqual(
      ['auth-failed', 'tls-failed', 'cert-expiry-warning', 'cert-expiry-critical'].map(
        (k) => `kafka-heal-prod.payments-${k}`,
      ),
    );
  });

  it('the thresholds follow policy.thresholds; SSL alone has no SASL alarm; PLAINTEXT none; MSK watches expiry only on request', () => {
    const ssl = security(
      clusterAlarmSpecs(
        'prod',
        secured('ec2', { protocol: 'SSL' }, 3, { thresholds: { certExpiryWarnDays: 45, certExpiryCriticalDays: 14 } }),
      ),
    );
    expect(ssl.map((s) => [s.alarmKind, s.threshold])).toEqual([
      ['tls-failed', 1],
      ['cert-expiry-warning', 45],
      ['cert-expiry-critical', 14],
    ]);
    expect(security(clusterAlarmSpecs('prod', secured('ec2', {}, 3)))).toEqual([]);
    expect(
      security(
        clusterAlarmSpecs('prod', secured('ec2', { protocol: 'SSL', tls: { certificateExpiryAlarms: false } }, 3)),
      ).map((s) => s.alarmKind),
    ).toEqual(['tls-failed']);
    const iam = { protocol: 'SASL_SSL', mechanism: 'AWS_MSK_IAM' };
    expect(security(clusterAlarmSpecs('prod', secured('msk', iam, 3))).map((s) => s.alarmKind)).toEqual([
      'auth-failed',
      'tls-failed',
    ]);
    expect(
      security(clusterAlarmSpecs('prod', secured('msk', { ...iam, tls: { certificateExpiryAlarms: true } }, 3))).map(
        (s) => s.alarmKind,
      ),
    ).toEqual(['auth-failed', 'tls-failed', 'cert-expiry-warning', 'cert-expiry-critical']);
  });

  it('the probe publishes exactly the security series these alarms read', () => {
    const keys = probeSeriesOfAlarms(
      clusterAlarmSpecs(
        'prod',
        secured('ec2', { protocol: 'SASL_SSL', mechanism: 'PLAIN', credentialsSecret: 'kafka/probe' }, 3),
      ),
    );
    expect(keys).toEqual(
      expect.arrayContaining([
        'ProbeAuthFailures|Cluster Name',
        'ProbeTlsFailures|Cluster Name',
        'CertificateDaysToExpiry|Cluster Name',
      ]),
    );
  });
});

/** What the ingest path must make of each alarm kind, written out independently of the specs. */
const EXPECTED_SIGNAL_KIND: Record<AlarmKind, SignalKind> = {
  'controller-missing': 'controller-missing',
  'quorum-lost': 'quorum-loss',
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
  // Build the events EventBridge would deliver for each synthesized alarm: its "CloudWatch Alarm
  // State Change", and for an alarm over every broker the "CloudWatch Alarm Contributor State
  // Change" of broker 2, and check the ingest path reads back the cluster, kind, broker and group.
  function metricsOf(p: Props): unknown[] {
    return p.Metrics
      ? (p.Metrics as Props[]).map((m) => ({
          id: m.Id,
          expression: m.Expression,
          label: m.Label,
          returnData: m.ReturnData,
          period: m.Period,
        }))
      : [
          {
            id: 'm1',
            metricStat: {
              metric: {
                namespace: p.Namespace,
                name: p.MetricName,
                dimensions: Object.fromEntries((p.Dimensions as Props[]).map((d) => [d.Name, d.Value])),
              },
              period: p.Period,
              stat: p.Statistic,
            },
            returnData: true,
          },
        ];
  }
  const envelope = (p: Props, detailType: string) => ({
    version: '0',
    id: 'c4c1c1c9-6542-e61b-6ef0-8c4d36933a92',
    'detail-type': detailType,
    source: 'aws.cloudwatch',
    account: '123456789012',
    time: '2026-11-22T02:00:00Z',
    region: 'eu-west-1',
    resources: [`arn:aws:cloudwatch:eu-west-1:123456789012:alarm:${p.AlarmName}`],
  });
  const stateChange = (p: Props) => ({
    ...envelope(p, 'CloudWatch Alarm State Change'),
    detail: {
      alarmName: p.AlarmName,
      state: { value: 'ALARM', reason: 'Threshold Crossed', timestamp: '2026-11-22T02:00:00.000+0000' },
      previousState: { value: 'OK', reason: 'ok', timestamp: '2026-11-22T01:00:00.000+0000' },
      configuration: { description: p.AlarmDescription, metrics: metricsOf(p) },
    },
  });
  const contributorChange = (p: Props, broker: string) => ({
    ...envelope(p, 'CloudWatch Alarm Contributor State Change'),
    detail: {
      alarmName: p.AlarmName,
      alarmContributor: { id: `c${broker}`, attributes: { 'Broker ID': broker } },
      state: {
        value: 'ALARM',
        reason: `Threshold Crossed: 1 datapoint was greater than the threshold (${p.Threshold}). The most recent datapoint which crossed the threshold: [97.5 (22/11/26 02:00:00)].`,
        timestamp: '2026-11-22T02:00:00.000+0000',
      },
      configuration: { description: p.AlarmDescription, metrics: metricsOf(p) },
    },
  });

  it.each([
    ['msk', msk],
    ['ec2-zookeeper', ec2zk],
    ['dr-pair', drPair],
  ] as const)('%s', (_name, config) => {
    const byName = new Map(
      config.clusters.flatMap((c) =>
        clusterAlarmSpecs(config.deployment, c).map((s) => [s.alarmName, { ...s, cluster: c.name }] as const),
      ),
    );
    const template = synth(config);
    const ctx = { clusters: clusterFacts(config), receivedAt: '2026-11-22T02:00:05Z', deployment: config.deployment };
    let perBroker = 0;
    for (const p of alarmsByName(template).values()) {
      const spec = byName.get(p.AlarmName);
      expect(spec, p.AlarmName).toBeDefined();
      const grouped = spec?.source.type === 'insights' && spec.source.contributors === 'Broker ID';
      const parent = normalize(stateChange(p), ctx);
      expect(parent.outcome, p.AlarmName).toBe(grouped ? 'ignored' : 'signals');
      const result = grouped ? normalize(contributorChange(p, '2'), ctx) : parent;
      expect(result.outcome).toBe('signals');
      const signal = result.outcome === 'signals' ? result.signals[0] : undefined;
      expect(signal?.cluster, p.AlarmName).toBe(spec?.cluster);
      expect(signal?.kind, p.AlarmName).toBe(EXPECTED_SIGNAL_KIND[spec?.alarmKind as AlarmKind]);
      expect(signal?.brokerIds, p.AlarmName).toEqual(grouped ? [2] : []);
      if (grouped) {
        perBroker++;
        expect(signal?.value, p.AlarmName).toBe(97.5);
        expect(signal?.threshold, p.AlarmName).toBe(p.Threshold);
      }
      expect(signal?.consumerGroup, p.AlarmName).toBe(spec?.consumerGroup);
      // Another deployment's healer rejects the same alarm.
      expect(
        () => normalize(grouped ? contributorChange(p, '2') : stateChange(p), { ...ctx, deployment: 'other' }),
        p.AlarmName,
      ).toThrow(/another deployment's alarm is never acted on/);
    }
    expect(perBroker).toBeGreaterThanOrEqual(4);
  });
});
