import { describe, expect, it } from 'vitest';
import {
  ConfigError,
  alertRouting,
  clusterFacts,
  configFieldPaths,
  configJsonSchema,
  formatIssue,
  loadConfigFile,
  parseConfig,
  previewValue,
  validateConfig,
  zookeeperConnect,
  type HealerConfig,
} from '#infra/config/schema.js';

type Doc = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const ARN = 'arn:aws:kafka:eu-west-1:123456789012:cluster/orders-prod/6357e0b2-0e6a-4b86-a0b4-70df934c2e31-5';
const probe = {
  vpcId: 'vpc-0123456789abcdef0',
  subnetIds: ['subnet-0123456789abcdef0'],
  securityGroupId: 'sg-0123456789abcdef0',
};

function mskCluster(name = 'orders'): Doc {
  return {
    name,
    platform: 'msk',
    msk: { clusterArn: ARN, clusterName: 'orders-prod' },
    brokerCount: 3,
    bootstrapServers: ['b-1.ordersprod.abc123.c2.kafka.eu-west-1.amazonaws.com:9098'],
    // Port 9098 is MSK's IAM listener: the security block must say so.
    security: { protocol: 'SASL_SSL', mechanism: 'AWS_MSK_IAM' },
    probe: structuredClone(probe),
  };
}

function ec2Cluster(name = 'payments'): Doc {
  return {
    name,
    platform: 'ec2',
    ec2: {
      metadataMode: 'kraft',
      brokers: [
        { id: 1, instanceId: 'i-0123456789abcdef1' },
        { id: 2, instanceId: 'i-0123456789abcdef2' },
      ],
    },
    brokerCount: 2,
    bootstrapServers: ['kafka-1.example.com:9092'],
    probe: structuredClone(probe),
  };
}

function base(): Doc {
  return { deployment: 'prod-eu', region: 'eu-west-1', clusters: [mskCluster(), ec2Cluster()] };
}

/** Apply `edit` to a valid document and return the one-line issues (empty when valid). */
function issues(edit: (doc: Doc) => void): string[] {
  const doc = base();
  edit(doc);
  try {
    validateConfig(doc, 'test.yaml');
    return [];
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).issues.map(formatIssue);
  }
}

function valid(edit: (doc: Doc) => void): HealerConfig {
  const doc = base();
  edit(doc);
  return validateConfig(doc, 'test.yaml');
}

describe('config schema: the base document', () => {
  it('is valid and gets the documented defaults', () => {
    const cfg = valid(() => {});
    expect(cfg.notifications).toEqual({ pagerDutyRoutingKeySecretName: 'kafka-heal/pagerduty', snsTopicArns: {} });
    // No secret name by default: the stack's secret gets a generated, per-stack name.
    expect(cfg.alertmanager).toEqual({ kinds: {} });
    // The dashboard is opt-in (idle cost, docs/aws-stack.md#cost).
    expect(cfg.dashboard).toBe(false);
    // A first deploy into a fresh account works: the stack sets API Gateway's logging role.
    expect(cfg.apiGatewayCloudWatchRole).toBe('create');
    const [msk, ec2] = cfg.clusters;
    expect(msk?.policy).toEqual({ mode: 'dry-run' });
    expect(msk?.consumerGroups).toEqual([]);
    expect(msk?.platform === 'msk' && msk.msk.metadataMode).toBe('kraft');
    expect(ec2?.platform === 'ec2' && ec2.ec2.kafkaServiceName).toBe('kafka');
  });

  it('fills consumer group and DR defaults', () => {
    const cfg = valid((d) => {
      d.clusters[0].consumerGroups = [{ name: 'billing' }];
      d.clusters[0].dr = {
        peer: 'payments',
        route53: { hostedZoneId: 'Z0123456789ABCDEFGHIJ', recordName: 'kafka.example.com' },
      };
    });
    expect(cfg.clusters[0]?.consumerGroups).toEqual([
      { name: 'billing', maxOffsetLag: 10_000, maxTimeLagSeconds: 300 },
    ]);
    expect(cfg.clusters[0]?.dr).toEqual({
      peer: 'payments',
      route53: { hostedZoneId: 'Z0123456789ABCDEFGHIJ', recordName: 'kafka.example.com', ttl: 60 },
      automaticFailover: false,
      maxReplicationLagSeconds: 60,
    });
  });
});

describe('config schema: names and formats', () => {
  it.each([
    [
      'deployment',
      (d: Doc) => (d.deployment = 'prod-eu-1'),
      (d: Doc) => (d.deployment = 'Prod'),
      'deployment: expected a deployment name: a lowercase letter, then up to 23 lowercase letters, digits or hyphens, got "Prod"',
    ],
    [
      'deployment length (24 ok, 25 not)',
      (d: Doc) => (d.deployment = 'a'.repeat(24)),
      (d: Doc) => (d.deployment = 'a'.repeat(25)),
      `deployment: expected a deployment name: a lowercase letter, then up to 23 lowercase letters, digits or hyphens, got "${'a'.repeat(25)}"`,
    ],
    [
      'region',
      (d: Doc) => {
        d.region = 'us-gov-west-1';
        d.clusters = [d.clusters[1]];
      },
      (d: Doc) => (d.region = 'eu-west'),
      'region: expected an AWS region like eu-west-1 (where the stack and its alarms live), got "eu-west"',
    ],
    [
      'account',
      (d: Doc) => (d.account = '123456789012'),
      (d: Doc) => (d.account = 123456789012),
      'account: expected a 12-digit AWS account id like 123456789012, got 123456789012',
    ],
    [
      'apiGatewayCloudWatchRole',
      (d: Doc) => (d.apiGatewayCloudWatchRole = 'existing'),
      (d: Doc) => (d.apiGatewayCloudWatchRole = 'none'),
      'apiGatewayCloudWatchRole: expected one of create | existing, got "none"',
    ],
    [
      'server.properties path',
      (d: Doc) => (d.clusters[1].ec2.serverProperties = '/etc/kafka/server.properties'),
      (d: Doc) => (d.clusters[1].ec2.serverProperties = 'config/server.properties'),
      'clusters[1].ec2.serverProperties: expected an absolute path of plain segments like /var/lib/zookeeper (letters, digits, ._-), got "config/server.properties"',
    ],
    [
      'log dir',
      (d: Doc) => (d.clusters[1].ec2.logDir = '/var/log/kafka'),
      (d: Doc) => (d.clusters[1].ec2.logDir = '/var/log/../kafka'),
      'clusters[1].ec2.logDir: expected an absolute path of plain segments like /var/lib/zookeeper (letters, digits, ._-), got "/var/log/../kafka"',
    ],
    [
      'cluster name',
      (d: Doc) => (d.clusters[0].name = 'a'.repeat(40)),
      (d: Doc) => (d.clusters[0].name = '1orders'),
      'clusters[0].name: expected a cluster name: a lowercase letter, then up to 39 lowercase letters, digits or hyphens, got "1orders"',
    ],
    [
      'MSK ARN',
      () => {},
      (d: Doc) => (d.clusters[0].msk.clusterArn = 'foo'),
      'clusters[0].msk.clusterArn: expected an MSK cluster ARN like arn:aws:kafka:<region>:<account>:cluster/<name>/<uuid>, got "foo"',
    ],
    [
      'MSK name matches the ARN',
      () => {},
      (d: Doc) => (d.clusters[0].msk.clusterName = 'orders'),
      'clusters[0].msk.clusterName: expected the cluster name in clusterArn (orders-prod), got "orders"',
    ],
    [
      'vpc id',
      (d: Doc) => (d.clusters[0].probe.vpcId = 'vpc-01234567'),
      (d: Doc) => (d.clusters[0].probe.vpcId = 'vpc-123'),
      'clusters[0].probe.vpcId: expected a VPC id like vpc-0123456789abcdef0, got "vpc-123"',
    ],
    [
      'subnet id',
      (d: Doc) => d.clusters[0].probe.subnetIds.push('subnet-01234567'),
      (d: Doc) => d.clusters[0].probe.subnetIds.push('subnet-XYZ'),
      'clusters[0].probe.subnetIds[1]: expected a subnet id like subnet-0123456789abcdef0, got "subnet-XYZ"',
    ],
    [
      'security group id',
      () => {},
      (d: Doc) => (d.clusters[0].probe.securityGroupId = 'sg-0123456789abcdef'),
      'clusters[0].probe.securityGroupId: expected a security group id like sg-0123456789abcdef0, got "sg-0123456789abcdef"',
    ],
    [
      'probe recheck pause',
      (d: Doc) => (d.clusters[0].probe.recheckSeconds = 0),
      (d: Doc) => (d.clusters[0].probe.recheckSeconds = 31),
      "clusters[0].probe.recheckSeconds: expected a whole number of seconds from 0 to 30: the probe's two looks and the send must fit its 55 s timeout, got 31",
    ],
    [
      'instance id',
      () => {},
      (d: Doc) => (d.clusters[1].ec2.brokers[0].instanceId = 'i-12345'),
      'clusters[1].ec2.brokers[0].instanceId: expected an EC2 instance id like i-0123456789abcdef0, got "i-12345"',
    ],
    [
      'bootstrap host:port',
      (d: Doc) => (d.clusters[1].bootstrapServers = ['10.0.0.1:9092', '[fd00::1]:65535']),
      (d: Doc) => (d.clusters[1].bootstrapServers = ['kafka.example.com']),
      'clusters[1].bootstrapServers[0]: expected a bootstrap server as host:port like b-1.orders.abc123.c2.kafka.eu-west-1.amazonaws.com:9092, got "kafka.example.com"',
    ],
    [
      'bootstrap port range',
      (d: Doc) => (d.clusters[0].bootstrapServers = ['h:1']),
      (d: Doc) => (d.clusters[0].bootstrapServers = ['h:65536']),
      'clusters[0].bootstrapServers[0]: expected a bootstrap server as host:port like b-1.orders.abc123.c2.kafka.eu-west-1.amazonaws.com:9092, got "h:65536"',
    ],
    [
      'SNS topic ARN',
      (d: Doc) => (d.notifications = { snsTopicArns: { warning: 'arn:aws:sns:us-east-1:123456789012:warn' } }),
      (d: Doc) => (d.notifications = { snsTopicArns: { critical: 'arn:aws:sqs:us-east-1:123456789012:x' } }),
      'notifications.snsTopicArns.critical: expected an SNS topic ARN like arn:aws:sns:<region>:<account>:<topic>, got "arn:aws:sqs:us-east-1:123456789012:x"',
    ],
    [
      'secret name',
      (d: Doc) => (d.alertmanager = { tokenSecretName: 'team/am-token' }),
      (d: Doc) => (d.alertmanager = { tokenSecretName: 'bad name!' }),
      'alertmanager.tokenSecretName: expected a Secrets Manager secret name (letters, digits and /_+=.@-), got "bad name!"',
    ],
    [
      'hosted zone id',
      (d: Doc) =>
        (d.clusters[0].dr = { peer: 'payments', route53: { hostedZoneId: 'Z1', recordName: 'kafka.example.com' } }),
      (d: Doc) =>
        (d.clusters[0].dr = { peer: 'payments', route53: { hostedZoneId: 'z1', recordName: 'kafka.example.com' } }),
      'clusters[0].dr.route53.hostedZoneId: expected a Route 53 hosted zone id like Z0123456789ABCDEFGHIJ, got "z1"',
    ],
    [
      'record name',
      (d: Doc) =>
        (d.clusters[0].dr = { peer: 'payments', route53: { hostedZoneId: 'Z1', recordName: 'kafka.example.com.' } }),
      (d: Doc) => (d.clusters[0].dr = { peer: 'payments', route53: { hostedZoneId: 'Z1', recordName: 'kafka' } }),
      'clusters[0].dr.route53.recordName: expected a DNS name like kafka.example.com, got "kafka"',
    ],
    [
      'consumer group name (MSK skips names with a colon)',
      (d: Doc) => (d.clusters[0].consumerGroups = [{ name: 'billing.v2_x-y' }]),
      (d: Doc) => (d.clusters[0].consumerGroups = [{ name: 'billing:v2' }]),
      'clusters[0].consumerGroups[0].name: expected a consumer group name of 1-249 letters, digits, dots, underscores or hyphens, got "billing:v2"',
    ],
    [
      'topic name',
      (d: Doc) => (d.clusters[0].consumerGroups = [{ name: 'g', topics: ['orders.v1'] }]),
      (d: Doc) => (d.clusters[0].consumerGroups = [{ name: 'g', topics: ['orders v1'] }]),
      'clusters[0].consumerGroups[0].topics[0]: expected a Kafka topic name of 1-249 letters, digits, dots, underscores or hyphens, got "orders v1"',
    ],
    [
      'service name',
      (d: Doc) => (d.clusters[1].ec2.kafkaServiceName = 'confluent-server.service'),
      (d: Doc) => (d.clusters[1].ec2.kafkaServiceName = 'kafka; reboot'),
      'clusters[1].ec2.kafkaServiceName: expected a systemd unit name like kafka or kafka.service, got "kafka; reboot"',
    ],
    [
      'tag key',
      (d: Doc) => {
        d.clusters[1].ec2 = { metadataMode: 'kraft', brokerTag: { key: 'kafka-heal:cluster', value: 'payments' } };
      },
      (d: Doc) => {
        d.clusters[1].ec2 = { metadataMode: 'kraft', brokerTag: { key: 'aws:cluster', value: 'payments' } };
      },
      'clusters[1].ec2.brokerTag.key: expected an EC2 tag key of 1-128 characters (letters, digits, spaces, _.:/=+-@), not starting with aws:, got "aws:cluster"',
    ],
  ])('%s: valid passes, invalid names the field and value', (_name, ok, bad, line) => {
    expect(issues(ok)).toEqual([]);
    expect(issues(bad)).toEqual([line]);
  });

  it('rejects unknown fields, naming each one', () => {
    expect(
      issues((d) => {
        d.clusters[0].brokercount = 3;
        d.extra = { a: 1 };
      }),
    ).toEqual([
      'extra: unknown field (check the spelling and the indentation), got {"a":1}',
      'clusters[0].brokercount: unknown field (check the spelling and the indentation), got 3',
    ]);
  });

  it('reports missing required fields as missing', () => {
    expect(issues((d) => delete d.clusters[0].probe)).toEqual([
      'clusters[0].probe: expected a mapping of fields, but it is missing',
    ]);
    expect(issues((d) => delete d.deployment)).toEqual([
      'deployment: expected a deployment name: a lowercase letter, then up to 23 lowercase letters, digits or hyphens, but it is missing',
    ]);
    // Without it `cdk deploy --all` would send the stack to whatever region the profile names.
    expect(issues((d) => delete d.region)).toEqual([
      'region: expected an AWS region like eu-west-1 (where the stack and its alarms live), but it is missing',
    ]);
    expect(issues((d) => (d.clusters = []))).toEqual(['clusters: expected at least one cluster, got []']);
    expect(issues((d) => (d.clusters = 'orders'))).toEqual(['clusters: expected a list of clusters, got "orders"']);
  });

  it('checks brokerCount range on both sides of the edge', () => {
    expect(issues((d) => (d.clusters[0].brokerCount = 1))).toEqual([]);
    expect(issues((d) => (d.clusters[0].brokerCount = 1000))).toEqual([]);
    expect(issues((d) => (d.clusters[0].brokerCount = 0))).toEqual([
      'clusters[0].brokerCount: expected the number of brokers: a whole number from 1 to 1000, got 0',
    ]);
    expect(issues((d) => (d.clusters[0].brokerCount = 1001))).toEqual([
      'clusters[0].brokerCount: expected the number of brokers: a whole number from 1 to 1000, got 1001',
    ]);
    expect(issues((d) => (d.clusters[0].brokerCount = 2.5))).toEqual([
      'clusters[0].brokerCount: expected the number of brokers: a whole number from 1 to 1000, got 2.5',
    ]);
    expect(issues((d) => (d.clusters[0].brokerCount = '3'))).toEqual([
      'clusters[0].brokerCount: expected the number of brokers: a whole number from 1 to 1000, got "3"',
    ]);
  });
});

describe('config schema: cross-field rules', () => {
  it('a DR pair member lists brokers of its own besides the DR record (the record moves to the peer on failover)', () => {
    const route53 = { hostedZoneId: 'Z0123456789ABCDEFGHIJ', recordName: 'kafka.example.com' };
    const pair = (d: Doc, servers: string[]) => {
      d.clusters[0].dr = { peer: 'payments', route53 };
      d.clusters[0].bootstrapServers = servers;
    };
    expect(issues((d) => pair(d, ['kafka.example.com:9098', 'b-1.ordersprod.example.com:9098']))).toEqual([]);
    expect(issues((d) => pair(d, ['KAFKA.Example.com:9098']))).toEqual([
      'clusters[0].bootstrapServers: expected at least one of this cluster\'s own brokers besides the DR record kafka.example.com: the record points at the peer after a failover, so the probe would watch the wrong cluster and failback could not reach this one, got ["KAFKA.Example.com:9098"]',
    ]);
    // A peer without a record is not a DR pair yet: nothing to check.
    expect(
      issues((d) => {
        d.clusters[0].dr = { peer: 'payments' };
        d.clusters[0].bootstrapServers = ['kafka.example.com:9098'];
      }),
    ).toEqual([]);
  });

  it("an MSK cluster is in the stack's region: its AWS/Kafka metrics and alarms are regional", () => {
    expect(issues((d) => (d.region = 'eu-central-1'))).toEqual([
      'clusters[0].msk.clusterArn: expected a cluster in the stack\'s region eu-central-1 (its AWS/Kafka metrics and alarms are regional), not eu-west-1, got "arn:aws:kafka:eu-west-1:123456789012:cluster/orders-prod/6357e0b2-0e6a-4b86-a0…',
    ]);
  });

  it('platform msk requires msk and forbids ec2', () => {
    expect(issues((d) => delete d.clusters[0].msk)).toEqual([
      'clusters[0].msk: required when platform is msk, but it is missing',
    ]);
    expect(issues((d) => (d.clusters[0].ec2 = { metadataMode: 'kraft' }))).toEqual([
      'clusters[0].ec2: not allowed when platform is msk (use the msk section), got {"metadataMode":"kraft"}',
    ]);
  });

  it('platform ec2 requires ec2 and forbids msk', () => {
    expect(issues((d) => delete d.clusters[1].ec2)).toEqual([
      'clusters[1].ec2: required when platform is ec2, but it is missing',
    ]);
    expect(issues((d) => (d.clusters[1].msk = { clusterArn: ARN, clusterName: 'orders-prod' }))).toEqual([
      `clusters[1].msk: not allowed when platform is ec2 (use the ec2 section), got ${JSON.stringify({ clusterArn: ARN, clusterName: 'orders-prod' }).slice(0, 79)}…`,
    ]);
  });

  it('an unknown platform says which are known', () => {
    expect(issues((d) => (d.clusters[0].platform = 'confluent'))).toEqual([
      'clusters[0].platform: expected platform: msk | ec2, got "confluent"',
    ]);
  });

  it('ec2 needs exactly one of brokers and brokerTag', () => {
    expect(issues((d) => delete d.clusters[1].ec2.brokers)).toEqual([
      'clusters[1].ec2: expected exactly one of brokers (a list of {id, instanceId}) or brokerTag ({key, value}), got {"metadataMode":"kraft"}',
    ]);
    expect(issues((d) => (d.clusters[1].ec2.brokerTag = { key: 'k', value: 'v' }))).toEqual([
      'clusters[1].ec2.brokerTag: expected exactly one of brokers or brokerTag, not both, got {"key":"k","value":"v"}',
    ]);
  });

  it('brokerCount must match the brokers listed', () => {
    expect(issues((d) => (d.clusters[1].brokerCount = 3))).toEqual([
      'clusters[1].brokerCount: expected 2, the number of brokers listed in ec2.brokers, got 3',
    ]);
    expect(
      issues((d) => {
        d.clusters[1].ec2 = { metadataMode: 'kraft', brokerTag: { key: 'k', value: 'v' } };
        d.clusters[1].brokerCount = 9;
      }),
    ).toEqual([]);
  });

  it('broker ids and instance ids are unique', () => {
    expect(issues((d) => (d.clusters[1].ec2.brokers[1].id = 1))).toEqual([
      'clusters[1].ec2.brokers[1].id: broker ids must be unique (already used at index 0), got 1',
    ]);
    expect(issues((d) => (d.clusters[1].ec2.brokers[1].instanceId = 'i-0123456789abcdef1'))).toEqual([
      'clusters[1].ec2.brokers[1].instanceId: broker instance ids must be unique (already used at index 0), got "i-0123456789abcdef1"',
    ]);
  });

  it('zookeeper mode requires the ZooKeeper hosts; kraft forbids them', () => {
    expect(issues((d) => (d.clusters[1].ec2.metadataMode = 'zookeeper'))).toEqual([
      'clusters[1].ec2.zookeeper: required when metadataMode is zookeeper: the ZooKeeper hosts as {instanceIds: [...]}, but it is missing',
    ]);
    expect(
      issues((d) => {
        d.clusters[1].ec2.metadataMode = 'zookeeper';
        d.clusters[1].ec2.zookeeper = { instanceIds: ['i-0fedcba9876543211'] };
      }),
    ).toEqual([]);
    expect(issues((d) => (d.clusters[1].ec2.zookeeper = { instanceIds: ['i-0fedcba9876543211'] }))).toEqual([
      'clusters[1].ec2.zookeeper: only allowed when metadataMode is zookeeper, got {"instanceIds":["i-0fedcba9876543211"]}',
    ]);
    expect(
      issues((d) => {
        d.clusters[1].ec2.metadataMode = 'zookeeper';
        d.clusters[1].ec2.zookeeper = { instanceIds: ['i-0fedcba9876543211', 'i-0fedcba9876543211'] };
      }),
    ).toEqual([
      'clusters[1].ec2.zookeeper.instanceIds[1]: ZooKeeper instance ids must be unique (already used at index 0), got "i-0fedcba9876543211"',
    ]);
  });

  it('ec2.zookeeper.connect: one client address per ZooKeeper server, host or host:port, the port defaulting to clientPort', () => {
    const zk =
      (connect: unknown, extra: Doc = {}) =>
      (d: Doc) => {
        d.clusters[1].ec2.metadataMode = 'zookeeper';
        d.clusters[1].ec2.zookeeper = {
          instanceIds: ['i-0fedcba9876543211', 'i-0fedcba9876543212', 'i-0fedcba9876543213'],
          connect,
          ...extra,
        };
      };
    const connectOf = (edit: (d: Doc) => void) => zookeeperConnect(valid(edit).clusters[1]!);
    // Written with and without ports, DNS names, IPv4 and bracketed IPv6: every one ends up host:port.
    expect(connectOf(zk(['zk-1.payments.example.com:2181', 'zk-2.payments.example.com', '10.0.3.7:2182']))).toEqual([
      'zk-1.payments.example.com:2181',
      'zk-2.payments.example.com:2181',
      '10.0.3.7:2182',
    ]);
    expect(connectOf(zk(['zk-1', 'zk-2', '[fd00::7]'], { clientPort: 2281 }))).toEqual([
      'zk-1:2281',
      'zk-2:2281',
      '[fd00::7]:2281',
    ]);
    expect(connectOf(zk(['[fd00::7]:2181', 'zk-2:1', 'zk-3:65535']))).toEqual([
      '[fd00::7]:2181',
      'zk-2:1',
      'zk-3:65535',
    ]);
    // Left out: nothing to ask; KRaft and MSK clusters have none.
    expect(zookeeperConnect(valid(zk(undefined)).clusters[1]!)).toBeUndefined();
    expect(zookeeperConnect(valid(() => undefined).clusters[1]!)).toBeUndefined();
    expect(zookeeperConnect(valid(() => undefined).clusters[0]!)).toBeUndefined();

    const ADDRESS = 'expected a ZooKeeper client address as host or host:port like zk-1.payments.example.com:2181';
    expect(issues(zk(['zk-1:2181', 'zk-2:0', 'zk-3:65536']))).toEqual([
      `clusters[1].ec2.zookeeper.connect[1]: ${ADDRESS}, got "zk-2:0"`,
      `clusters[1].ec2.zookeeper.connect[2]: ${ADDRESS}, got "zk-3:65536"`,
    ]);
    expect(issues(zk(['zk-1:2181', 'zk 2:2181', 'zk-3:port']))).toEqual([
      `clusters[1].ec2.zookeeper.connect[1]: ${ADDRESS}, got "zk 2:2181"`,
      `clusters[1].ec2.zookeeper.connect[2]: ${ADDRESS}, got "zk-3:port"`,
    ]);
    expect(issues(zk(['zk-1:2181', 'zk-2:2181', 42]))).toEqual([
      `clusters[1].ec2.zookeeper.connect[2]: ${ADDRESS}, got 42`,
    ]);
    // Kafka's zookeeper.connect pasted as it is: the list, a chroot, or the whole string in one item.
    expect(issues(zk('zk-1:2181,zk-2:2181,zk-3:2181/kafka'))).toEqual([
      'clusters[1].ec2.zookeeper.connect: expected a list of ZooKeeper client addresses like [zk-1.example.com:2181, zk-2.example.com:2181], got "zk-1:2181,zk-2:2181,zk-3:2181/kafka"',
    ]);
    expect(issues(zk(['zk-1:2181', 'zk-2:2181', 'zk-3:2181/kafka']))).toEqual([
      'clusters[1].ec2.zookeeper.connect[2]: expected host:port without a chroot path: each server is asked for its own state, not through the brokers\' chroot, got "zk-3:2181/kafka"',
    ]);
    expect(issues(zk(['zk-1:2181,zk-2:2181', 'zk-3:2181', 'zk-4:2181']))).toEqual([
      'clusters[1].ec2.zookeeper.connect[0]: expected one ZooKeeper server per list item (split Kafka\'s zookeeper.connect at the commas), got "zk-1:2181,zk-2:2181"',
    ]);
    // The whole ensemble, each server once (zk-1 and zk-1:2181 are the same server).
    expect(issues(zk(['zk-1:2181', 'zk-2:2181']))).toEqual([
      'clusters[1].ec2.zookeeper.connect: expected one address per ZooKeeper server: instanceIds lists 3, connect lists 2, got ["zk-1:2181","zk-2:2181"]',
    ]);
    expect(issues(zk(['zk-1', 'zk-2:2181', 'zk-1:2181']))).toEqual([
      'clusters[1].ec2.zookeeper.connect[2]: ZooKeeper client addresses must be unique (already used at index 0), got "zk-1:2181"',
    ]);
    expect(issues(zk(['zk-1', 'zk-2', 'zk-1:2181'], { clientPort: 2281 }))).toEqual([]);
    expect(issues(zk([]))).toEqual([
      'clusters[1].ec2.zookeeper.connect: expected one address per ZooKeeper server: instanceIds lists 3, connect lists 0, got []',
    ]);
  });

  it('cluster names are unique across the file', () => {
    expect(issues((d) => (d.clusters[1].name = 'orders'))).toEqual([
      'clusters[1].name: cluster names must be unique (already used by clusters[0]), got "orders"',
    ]);
  });

  it('consumer group names are unique per cluster, not across clusters', () => {
    expect(issues((d) => (d.clusters[0].consumerGroups = [{ name: 'g' }, { name: 'g' }]))).toEqual([
      'clusters[0].consumerGroups[1].name: consumer group names in a cluster must be unique (already used at index 0), got "g"',
    ]);
    expect(
      issues((d) => {
        d.clusters[0].consumerGroups = [{ name: 'g' }];
        d.clusters[1].consumerGroups = [{ name: 'g' }];
      }),
    ).toEqual([]);
    expect(issues((d) => (d.clusters[0].consumerGroups = [{ name: 'g', topics: ['a', 'a'] }]))).toEqual([
      'clusters[0].consumerGroups[0].topics[1]: topics must be unique (already used at index 0), got "a"',
    ]);
  });

  it('dr.peer names another cluster in the file, not itself, and pairs point at each other', () => {
    expect(
      issues((d) => {
        d.clusters[0].dr = { peer: 'payments' };
        d.clusters[1].dr = { peer: 'orders' };
      }),
    ).toEqual([]);
    expect(issues((d) => (d.clusters[0].dr = { peer: 'orders-dr' }))).toEqual([
      'clusters[0].dr.peer: expected the name of another cluster in this file (orders, payments), got "orders-dr"',
    ]);
    expect(issues((d) => (d.clusters[0].dr = { peer: 'orders' }))).toEqual([
      'clusters[0].dr.peer: expected another cluster: a cluster cannot be its own DR peer, got "orders"',
    ]);
    expect(
      issues((d) => {
        d.clusters.push(ec2Cluster('third'));
        d.clusters[0].dr = { peer: 'payments' };
        d.clusters[1].dr = { peer: 'third' };
      }),
    ).toEqual(['clusters[0].dr.peer: expected a pair: payments names third as its peer, not orders, got "payments"']);
  });

  it('reports cross-cluster rules alongside field errors in the same run', () => {
    expect(
      issues((d) => {
        d.clusters[0].probe.vpcId = 'nope';
        d.clusters[1].name = 'orders';
        d.clusters[1].brokerCount = 5;
      }),
    ).toEqual([
      'clusters[0].probe.vpcId: expected a VPC id like vpc-0123456789abcdef0, got "nope"',
      'clusters[1].brokerCount: expected 2, the number of brokers listed in ec2.brokers, got 5',
      'clusters[1].name: cluster names must be unique (already used by clusters[0]), got "orders"',
    ]);
  });
});

describe('config schema: policy', () => {
  it('mode is one of auto | approval | dry-run | off, default dry-run', () => {
    for (const mode of ['auto', 'approval', 'dry-run', 'off'])
      expect(valid((d) => (d.clusters[0].policy = { mode })).clusters[0]?.policy.mode).toBe(mode);
    expect(issues((d) => (d.clusters[0].policy = { mode: 'yolo' }))).toEqual([
      'clusters[0].policy.mode: expected one of auto | approval | dry-run | off, got "yolo"',
    ]);
  });

  it('maintenance windows are ISO times with end after start (to the second)', () => {
    const w = (start: string, end: string) => (d: Doc) =>
      (d.clusters[0].policy = { maintenanceWindows: [{ start, end, reason: 'upgrade' }] });
    expect(issues(w('2026-12-05T22:00:00Z', '2026-12-05T22:00:01Z'))).toEqual([]);
    expect(issues(w('2026-12-05T22:00:00+01:00', '2026-12-05T21:30:00Z'))).toEqual([]);
    expect(issues(w('2026-12-05T22:00:00Z', '2026-12-05T22:00:00Z'))).toEqual([
      'clusters[0].policy.maintenanceWindows[0].end: expected a time after start (2026-12-05T22:00:00Z), got "2026-12-05T22:00:00Z"',
    ]);
    expect(issues(w('tomorrow', '2026-12-05T22:00:00Z'))).toEqual([
      'clusters[0].policy.maintenanceWindows[0].start: expected an ISO 8601 time with a zone like 2026-01-31T22:00:00Z, got "tomorrow"',
    ]);
  });

  it('numeric fields are range-checked on both sides', () => {
    expect(
      issues((d) => (d.clusters[0].policy = { blastRadiusFraction: 1, cooldownSeconds: 0, flapMaxHeals: 1 })),
    ).toEqual([]);
    expect(issues((d) => (d.clusters[0].policy = { blastRadiusFraction: 0 }))).toEqual([
      'clusters[0].policy.blastRadiusFraction: expected a fraction above 0 and at most 1 (0.4 = 40% of brokers), got 0',
    ]);
    expect(issues((d) => (d.clusters[0].policy = { blastRadiusFraction: 1.01 }))).toEqual([
      'clusters[0].policy.blastRadiusFraction: expected a fraction above 0 and at most 1 (0.4 = 40% of brokers), got 1.01',
    ]);
    expect(issues((d) => (d.clusters[0].policy = { cooldownSeconds: -1 }))).toEqual([
      'clusters[0].policy.cooldownSeconds: expected whole seconds from 0 to 86400, got -1',
    ]);
    expect(issues((d) => (d.clusters[0].policy = { blastRadiusBrokers: 3 }))).toEqual([]);
    expect(issues((d) => (d.clusters[0].policy = { blastRadiusBrokers: 4 }))).toEqual([
      'clusters[0].policy.blastRadiusBrokers: expected at most brokerCount (3), got 4',
    ]);
  });

  it('threshold ladders rise with severity', () => {
    expect(
      issues((d) => (d.clusters[0].policy = { thresholds: { diskWarnPercent: 80, diskCriticalPercent: 81 } })),
    ).toEqual([]);
    expect(
      issues((d) => (d.clusters[0].policy = { thresholds: { diskWarnPercent: 90, diskCriticalPercent: 90 } })),
    ).toEqual([
      'clusters[0].policy.thresholds.diskCriticalPercent: expected a value above diskWarnPercent (90), got 90',
    ]);
    expect(issues((d) => (d.clusters[0].policy = { thresholds: { lagSev3: 10, lagSev2: 5, lagSev1: 1 } }))).toEqual([
      'clusters[0].policy.thresholds.lagSev2: expected a value above lagSev3 (10), got 5',
      'clusters[0].policy.thresholds.lagSev1: expected a value above lagSev2 (5), got 1',
    ]);
    expect(issues((d) => (d.clusters[0].policy = { thresholds: { diskWarnPercent: 101 } }))).toEqual([
      'clusters[0].policy.thresholds.diskWarnPercent: expected a percentage above 0 and at most 100, got 101',
    ]);
  });

  it('consumer-group thresholds are checked on both sides', () => {
    expect(
      issues((d) => (d.clusters[0].consumerGroups = [{ name: 'g', maxOffsetLag: 1, maxTimeLagSeconds: 604_800 }])),
    ).toEqual([]);
    expect(issues((d) => (d.clusters[0].consumerGroups = [{ name: 'g', maxOffsetLag: 0 }]))).toEqual([
      'clusters[0].consumerGroups[0].maxOffsetLag: expected a whole number of messages, at least 1, got 0',
    ]);
    expect(issues((d) => (d.clusters[0].consumerGroups = [{ name: 'g', maxTimeLagSeconds: 604_801 }]))).toEqual([
      'clusters[0].consumerGroups[0].maxTimeLagSeconds: expected whole seconds from 1 to 604800, got 604801',
    ]);
  });
});

describe('config schema: security', () => {
  const SCRAM_SECRET = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:AmazonMSK_kafka-heal-AbCdEf';
  const KEY = 'arn:aws:kms:eu-west-1:123456789012:key/0a1b2c3d-1111-2222-3333-444455556666';
  const ec2 = (security: Doc) => (d: Doc) => {
    d.clusters[1].security = security;
    d.clusters[1].ec2.clientPropertiesFile = '/etc/kafka/kafka-heal-client.properties';
  };
  const msk = (port: number, security: Doc) => (d: Doc) => {
    d.clusters[0].bootstrapServers = [`b-1.ordersprod.abc123.c2.kafka.eu-west-1.amazonaws.com:${port}`];
    d.clusters[0].security = security;
  };

  it('defaults to PLAINTEXT; each protocol and mechanism of an EC2 cluster validates with what it needs', () => {
    expect(valid(() => {}).clusters[1]?.security).toEqual({ protocol: 'PLAINTEXT', allowPlaintextCredentials: false });
    for (const security of [
      { protocol: 'SSL' },
      {
        protocol: 'SSL',
        tls: {
          caSecret: 'kafka/ca',
          serverName: 'kafka.internal.example.com',
          clientCertificateSecret: 'kafka/probe-cert',
          certificateExpiryAlarms: false,
        },
      },
      { protocol: 'SASL_SSL', mechanism: 'SCRAM-SHA-512', credentialsSecret: 'kafka/probe', kmsKeyArn: KEY },
      { protocol: 'SASL_SSL', mechanism: 'SCRAM-SHA-256', credentialsSecret: 'kafka/probe' },
      { protocol: 'SASL_SSL', mechanism: 'PLAIN', credentialsSecret: 'kafka/probe' },
      { protocol: 'SASL_SSL', mechanism: 'OAUTHBEARER', credentialsSecret: 'kafka/oauth-client' },
      { protocol: 'SASL_PLAINTEXT', mechanism: 'SCRAM-SHA-512', credentialsSecret: 'kafka/probe' },
      {
        protocol: 'SASL_PLAINTEXT',
        mechanism: 'PLAIN',
        credentialsSecret: 'kafka/probe',
        allowPlaintextCredentials: true,
      },
    ]) {
      expect(issues(ec2(security)), JSON.stringify(security)).toEqual([]);
    }
  });

  it.each([
    [
      'a SASL protocol without a mechanism',
      { protocol: 'SASL_SSL' },
      'clusters[1].security.mechanism: required when protocol is SASL_SSL: one of PLAIN | SCRAM-SHA-256 | SCRAM-SHA-512 | OAUTHBEARER | AWS_MSK_IAM, but it is missing',
    ],
    [
      'a mechanism without SASL',
      { protocol: 'SSL', mechanism: 'PLAIN' },
      'clusters[1].security.mechanism: only allowed with protocol SASL_PLAINTEXT or SASL_SSL (protocol is SSL), got "PLAIN"',
    ],
    [
      'a SASL mechanism without credentials',
      { protocol: 'SASL_SSL', mechanism: 'SCRAM-SHA-512' },
      "clusters[1].security.credentialsSecret: required with mechanism SCRAM-SHA-512: the Secrets Manager secret holding the probe's credentials, but it is missing",
    ],
    [
      'PLAIN without TLS',
      { protocol: 'SASL_PLAINTEXT', mechanism: 'PLAIN', credentialsSecret: 'kafka/probe' },
      'clusters[1].security.protocol: expected SASL_SSL: PLAIN over SASL_PLAINTEXT sends the password unencrypted (set allowPlaintextCredentials: true to accept that), got "SASL_PLAINTEXT"',
    ],
    [
      'a bearer token without TLS',
      { protocol: 'SASL_PLAINTEXT', mechanism: 'OAUTHBEARER', credentialsSecret: 'kafka/oauth' },
      'clusters[1].security.protocol: expected SASL_SSL: OAUTHBEARER over SASL_PLAINTEXT sends the bearer token unencrypted (set allowPlaintextCredentials: true to accept that), got "SASL_PLAINTEXT"',
    ],
    [
      'the opt-in where it means nothing',
      { protocol: 'SASL_SSL', mechanism: 'PLAIN', credentialsSecret: 'kafka/probe', allowPlaintextCredentials: true },
      'clusters[1].security.allowPlaintextCredentials: only meaningful with protocol SASL_PLAINTEXT, got true',
    ],
    [
      'TLS settings without TLS',
      { protocol: 'PLAINTEXT', tls: { caSecret: 'kafka/ca' } },
      'clusters[1].security.tls: only allowed with protocol SSL or SASL_SSL (protocol is PLAINTEXT), got {"caSecret":"kafka/ca"}',
    ],
    [
      'IAM on EC2',
      { protocol: 'SASL_SSL', mechanism: 'AWS_MSK_IAM' },
      'clusters[1].security.mechanism: AWS_MSK_IAM is only for platform msk (IAM authentication is an MSK feature), got "AWS_MSK_IAM"',
    ],
    [
      'an unknown protocol',
      { protocol: 'TLS' },
      'clusters[1].security.protocol: expected one of PLAINTEXT | SSL | SASL_PLAINTEXT | SASL_SSL, got "TLS"',
    ],
    [
      'a bad secret reference',
      { protocol: 'SSL', tls: { caSecret: 'arn:aws:s3:::bucket' } },
      'clusters[1].security.tls.caSecret: expected a Secrets Manager secret name (letters, digits and /_+=.@-) or ARN like arn:aws:secretsmanager:<region>:<account>:secret:<name>-AbCdEf, got "arn:aws:s3:::bucket"',
    ],
    [
      'a key with nothing to decrypt',
      { protocol: 'SSL', kmsKeyArn: KEY },
      `clusters[1].security.kmsKeyArn: only meaningful with a secret to decrypt (credentialsSecret, tls.caSecret or tls.clientCertificateSecret), got "${KEY}"`,
    ],
  ])('%s is refused, naming the field and value', (_what, security, line) => {
    expect(issues(ec2(security))).toEqual([line]);
  });

  it("a secured EC2 cluster names the client properties file Kafka's CLI runs with on its hosts (a path, never a secret)", () => {
    expect(issues((d) => (d.clusters[1].security = { protocol: 'SSL' }))).toEqual([
      "clusters[1].ec2.clientPropertiesFile: required when security.protocol is SSL: the client properties file on the broker hosts that Kafka's CLI tools (kafka-cli-action) connect with; only its path is passed, never a secret, but it is missing",
    ]);
    expect(issues((d) => (d.clusters[1].ec2.clientPropertiesFile = 'kafka.properties'))).toEqual([
      'clusters[1].ec2.clientPropertiesFile: expected an absolute path of plain segments like /var/lib/zookeeper (letters, digits, ._-), got "kafka.properties"',
    ]);
    expect(issues((d) => (d.clusters[1].ec2.clientPropertiesFile = '/etc/kafka/client.properties'))).toEqual([]);
  });

  it('an MSK bootstrap port says which listener, so which protocol and mechanism', () => {
    expect(issues(msk(9092, {}))).toEqual([]);
    expect(issues(msk(9094, { protocol: 'SSL' }))).toEqual([]);
    expect(
      issues(
        msk(9096, {
          protocol: 'SASL_SSL',
          mechanism: 'SCRAM-SHA-512',
          credentialsSecret: SCRAM_SECRET,
          kmsKeyArn: KEY,
        }),
      ),
    ).toEqual([]);
    expect(issues(msk(9198, { protocol: 'SASL_SSL', mechanism: 'AWS_MSK_IAM' }))).toEqual([]);
    expect(
      issues(
        msk(9098, {
          protocol: 'SASL_SSL',
          mechanism: 'SCRAM-SHA-512',
          credentialsSecret: SCRAM_SECRET,
          kmsKeyArn: KEY,
        }),
      ),
    ).toEqual([
      'clusters[0].bootstrapServers[0]: MSK port 9098 is the IAM listener: expected security.protocol SASL_SSL with mechanism AWS_MSK_IAM, but security says protocol SASL_SSL with mechanism SCRAM-SHA-512, got "b-1.ordersprod.abc123.c2.kafka.eu-west-1.amazonaws.com:9098"',
    ]);
    expect(issues(msk(9096, { protocol: 'SASL_SSL', mechanism: 'AWS_MSK_IAM' }))).toEqual([
      'clusters[0].bootstrapServers[0]: MSK port 9096 is the SASL/SCRAM listener: expected security.protocol SASL_SSL with mechanism SCRAM-SHA-512, but security says protocol SASL_SSL with mechanism AWS_MSK_IAM, got "b-1.ordersprod.abc123.c2.kafka.eu-west-1.amazonaws.com:9096"',
    ]);
    expect(issues(msk(9094, {}))).toEqual([
      'clusters[0].bootstrapServers[0]: MSK port 9094 is the TLS listener: expected security.protocol SSL, but security says protocol PLAINTEXT, got "b-1.ordersprod.abc123.c2.kafka.eu-west-1.amazonaws.com:9094"',
    ]);
    // A port MSK does not use (a proxy, an NLB) says nothing.
    expect(issues(msk(19092, { protocol: 'SSL' }))).toEqual([]);
  });

  it('MSK SCRAM: SHA-512 only, a secret named AmazonMSK_* and a customer managed key', () => {
    expect(
      issues(msk(9096, { protocol: 'SASL_SSL', mechanism: 'SCRAM-SHA-512', credentialsSecret: 'kafka-heal/probe' })),
    ).toEqual([
      'clusters[0].security.credentialsSecret: expected a secret whose name starts with AmazonMSK_ (MSK associates SCRAM secrets by that prefix only), got "kafka-heal/probe"',
      'clusters[0].security.kmsKeyArn: required with MSK SCRAM: MSK refuses secrets encrypted with the default key, so the secret has a customer managed key and the functions need kms:Decrypt on it, but it is missing',
    ]);
    expect(
      issues(
        msk(19096, {
          protocol: 'SASL_SSL',
          mechanism: 'SCRAM-SHA-256',
          credentialsSecret: 'AmazonMSK_probe',
          kmsKeyArn: KEY,
        }),
      ),
    ).toEqual([
      'clusters[0].security.mechanism: expected SCRAM-SHA-512: MSK supports SASL/SCRAM with SHA-512 only, got "SCRAM-SHA-256"',
    ]);
  });

  it('certificate expiry thresholds count down: critical below warning', () => {
    expect(
      issues((d) => (d.clusters[1].policy = { thresholds: { certExpiryWarnDays: 14, certExpiryCriticalDays: 3 } })),
    ).toEqual([]);
    expect(
      issues((d) => (d.clusters[1].policy = { thresholds: { certExpiryWarnDays: 7, certExpiryCriticalDays: 7 } })),
    ).toEqual([
      'clusters[1].policy.thresholds.certExpiryWarnDays: expected a value above certExpiryCriticalDays (7), got 7',
    ]);
  });
});

describe('parseConfig and loadConfigFile', () => {
  it('reads YAML and JSON alike', () => {
    const json = JSON.stringify(base());
    expect(parseConfig(json, 'c.json')).toEqual(validateConfig(base(), 'x'));
  });

  it('reports YAML syntax errors with their line, and an empty file', () => {
    const err = (() => {
      try {
        parseConfig('deployment: a\ndeployment: b\n', 'dup.yaml');
      } catch (e) {
        return e as ConfigError;
      }
      throw new Error('expected a ConfigError');
    })();
    expect(err.name).toBe('ConfigError');
    expect(err.issues[0]?.path).toBe('');
    expect(err.issues[0]?.message).toMatch(/^not valid YAML or JSON \(line 2, column 1\): .*unique/i);
    expect(() => parseConfig('', 'empty.yaml')).toThrow(
      /empty.yaml: invalid kafka-heal configuration \(1 problem\):\n {2}expected a configuration document, the file is empty/,
    );
  });

  it('the error message lists each bad field and value', () => {
    expect(() => validateConfig({ deployment: 'X', region: 'eu-west-1', clusters: [] }, 'bad.yaml')).toThrow(
      'bad.yaml: invalid kafka-heal configuration (2 problems):\n  deployment: expected a deployment name: a lowercase letter, then up to 23 lowercase letters, digits or hyphens, got "X"\n  clusters: expected at least one cluster, got []',
    );
  });

  it('a document that is not a mapping says what it got', () => {
    expect(() => parseConfig('- a\n- b\n', 'list.yaml')).toThrow(
      /list.yaml: invalid kafka-heal configuration \(1 problem\):\n {2}\(document\): expected a mapping of fields, got \["a","b"\]$/,
    );
  });

  it('an unreadable file is a ConfigError naming the file', () => {
    expect(() => loadConfigFile('/nonexistent/kh.yaml')).toThrow(
      /^\/nonexistent\/kh.yaml: invalid kafka-heal configuration \(1 problem\):\n {2}cannot read the configuration file: no such file$/,
    );
    expect(() => loadConfigFile('examples/config')).toThrow(
      /cannot read the configuration file: is a directory, not a file/,
    );
  });

  it('long values are cut so one issue stays on one line', () => {
    expect(previewValue('x'.repeat(200))).toHaveLength(80);
    expect(previewValue('x'.repeat(200)).endsWith('…')).toBe(true);
    expect(previewValue('short')).toBe('"short"');
  });
});

describe('clusterFacts', () => {
  it('maps each example cluster to the facts the classifier needs', () => {
    expect(clusterFacts(loadConfigFile('examples/config/msk.yaml'))).toEqual([
      {
        name: 'orders',
        aliases: ['orders-prod', ARN],
        platform: 'msk',
        metadataMode: 'kraft',
        brokerCount: 3,
        hasDr: false,
        automaticFailover: false,
      },
    ]);
    expect(clusterFacts(loadConfigFile('examples/config/ec2-zookeeper.yaml'))).toEqual([
      {
        name: 'payments',
        aliases: [],
        platform: 'ec2',
        metadataMode: 'zookeeper',
        brokerCount: 3,
        hasDr: false,
        automaticFailover: false,
      },
    ]);
    expect(clusterFacts(loadConfigFile('examples/config/dr-pair.yaml'))).toEqual([
      {
        name: 'events',
        aliases: [],
        platform: 'ec2',
        metadataMode: 'kraft',
        brokerCount: 6,
        hasDr: true,
        automaticFailover: false,
      },
      {
        name: 'events-dr',
        aliases: [],
        platform: 'ec2',
        metadataMode: 'kraft',
        brokerCount: 6,
        hasDr: true,
        automaticFailover: false,
      },
    ]);
  });

  it('a DR peer without a Route 53 record is not a DR pair yet; automaticFailover follows the config', () => {
    const cfg = valid((d) => {
      d.clusters[0].dr = { peer: 'payments', automaticFailover: true };
    });
    expect(clusterFacts(cfg)[0]).toMatchObject({ hasDr: false, automaticFailover: true });
  });
});

describe('alertmanager mapping and broker hosts', () => {
  it("become the webhook's routing: names by their matching key, labels, each EC2 cluster's hosts in lowercase", () => {
    const cfg = valid((d) => {
      d.alertmanager = {
        kinds: { 'Our Broker Gone': 'broker-down', 'LagTooHigh > 1000': 'consumer-lag' },
        brokerLabel: 'kafka_node',
        clusterLabel: 'team_cluster',
      };
      d.clusters[1].ec2.brokers[0].host = 'Kafka-1.Example.com';
      d.clusters[1].ec2.brokers[1].host = '10.0.1.12';
    });
    expect(alertRouting(cfg)).toEqual({
      kinds: { ourbrokergone: 'broker-down', lagtoohigh: 'consumer-lag' },
      brokerLabel: 'kafka_node',
      clusterLabel: 'team_cluster',
      brokerHosts: { payments: { 'kafka-1.example.com': 1, '10.0.1.12': 2 } },
    });
    expect(alertRouting(valid(() => {}))).toEqual({ kinds: {}, brokerHosts: {} });
  });

  it.each([
    [
      (d: Doc) => (d.alertmanager = { kinds: { X: 'unknown' } }),
      /^alertmanager\.kinds\.X: expected one of broker-down \| .* \| security-event \| auth-failed \| tls-failed \| certificate-expiry, got "unknown"$/,
    ],
    [
      (d: Doc) => (d.alertmanager = { kinds: { 'A b': 'broker-down', a_b: 'disk-usage' } }),
      /^alertmanager\.kinds\.a_b: expected one kind per alert name: "A b" is the same name \(case and punctuation aside\) with kind broker-down, got "disk-usage"$/,
    ],
    [
      (d: Doc) => (d.alertmanager = { kinds: { '> 0': 'broker-down' } }),
      /^alertmanager\.kinds\.> 0: expected an alert name with letters or digits/,
    ],
    [
      (d: Doc) => (d.alertmanager = { brokerLabel: 'broker-id' }),
      /^alertmanager\.brokerLabel: expected a Prometheus label name/,
    ],
    [
      (d: Doc) => (d.alertmanager = { clusterLabel: '' }),
      /^alertmanager\.clusterLabel: expected a Prometheus label name/,
    ],
    [
      (d: Doc) => (d.clusters[1].ec2.brokers[0].host = 'kafka-1:9092'),
      /^clusters\[1\]\.ec2\.brokers\[0\]\.host: expected the broker host as the monitoring labels it, without a port/,
    ],
    [
      (d: Doc) => {
        d.clusters[1].ec2.brokers[0].host = 'kafka-1';
        d.clusters[1].ec2.brokers[1].host = 'KAFKA-1';
      },
      /^clusters\[1\]\.ec2\.brokers\[1\]\.host: broker hosts must be unique \(already used at index 0\), got "KAFKA-1"$/,
    ],
  ])('a bad mapping names the field and the rule %#', (edit, message) => {
    const found = issues(edit);
    expect(found, found.join('\n')).toHaveLength(1);
    expect(found[0]).toMatch(message);
  });

  it('IPv6 and single-label hosts are hosts', () => {
    expect(
      issues((d) => {
        d.clusters[1].ec2.brokers[0].host = 'fd00::5';
        d.clusters[1].ec2.brokers[1].host = 'kafka2';
      }),
    ).toEqual([]);
  });
});

describe('configFieldPaths', () => {
  it('lists every key the schema accepts, nested lists included, and nothing forbidden', () => {
    const paths = configFieldPaths();
    for (const p of [
      'deployment',
      'notifications.snsTopicArns.critical',
      'clusters[].msk.clusterArn',
      'clusters[].ec2.brokers[].instanceId',
      'clusters[].ec2.zookeeper.instanceIds',
      'clusters[].consumerGroups[].maxTimeLagSeconds',
      'clusters[].dr.route53.ttl',
      'clusters[].policy.maintenanceWindows[].end',
      'clusters[].policy.thresholds.diskCriticalPercent',
    ]) {
      expect(paths).toContain(p);
    }
    expect(new Set(paths).size).toBe(paths.length);
    expect(paths).toEqual([...paths].sort());
    expect(paths.filter((p) => !p.startsWith('clusters'))).toEqual([
      'account',
      'alertmanager',
      'alertmanager.brokerLabel',
      'alertmanager.clusterLabel',
      'alertmanager.kinds',
      'alertmanager.tokenSecretName',
      'apiGatewayCloudWatchRole',
      'dashboard',
      'deployment',
      'notifications',
      'notifications.pagerDutyRoutingKeySecretName',
      'notifications.snsTopicArns',
      'notifications.snsTopicArns.critical',
      'notifications.snsTopicArns.warning',
      'region',
    ]);
  });

  it('every key used in the examples is a documented path', () => {
    const paths = new Set(configFieldPaths());
    const keys = (v: unknown, prefix: string, out: string[]) => {
      if (Array.isArray(v)) v.forEach((e) => keys(e, `${prefix}[]`, out));
      else if (v && typeof v === 'object')
        for (const [k, c] of Object.entries(v)) {
          const p = prefix ? `${prefix}.${k}` : k;
          out.push(p);
          keys(c, p, out);
        }
      return out;
    };
    for (const f of ['msk', 'ec2-zookeeper', 'dr-pair']) {
      for (const k of keys(loadConfigFile(`examples/config/${f}.yaml`), '', [])) expect(paths, k).toContain(k);
    }
  });
});

describe('configJsonSchema', () => {
  it('describes the same shape for editors: strict objects, both platforms, the field patterns', () => {
    const schema = configJsonSchema() as Doc;
    expect(schema.type).toBe('object');
    expect(schema.additionalProperties).toBe(false);
    expect(schema.required).toEqual(['deployment', 'region', 'clusters']);
    expect(schema.properties.deployment.pattern).toBe('^[a-z][a-z0-9-]{0,23}$');
    const options = schema.properties.clusters.items.oneOf as Doc[];
    expect(options.map((o) => o.properties.platform.const)).toEqual(['msk', 'ec2']);
    expect(options[0]?.properties.msk.properties.clusterArn.pattern).toMatch(/^\^arn:aws/);
    expect(JSON.parse(JSON.stringify(schema))).toEqual(schema);
  });
});
