// CDK assertions for secured clusters (infra/constructs/kafka-access.ts): what the probe and the
// cluster steps are given (their bundled cluster file's security: references only) and granted (the named
// secrets, the KMS key through Secrets Manager, MSK IAM's kafka-cluster actions on the cluster's
// own ARNs), synthesized as `cdk synth` does with the cdk-nag AwsSolutions pack.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addHealerStacks } from '#infra/app-builder.js';
import { validateConfig } from '#infra/config/schema.js';
import type { HealerStack } from '#infra/stacks/healer-stack.js';

type Resources = Record<string, { Type: string; Properties: Record<string, unknown> }>;
type Statement = { Action: string | string[]; Resource: unknown; Condition?: unknown };

const KEY = 'arn:aws:kms:eu-west-1:123456789012:key/0a1b2c3d-1111-2222-3333-444455556666';
const CA_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:kafka/payments-ca-AbCdEf';
const MSK_ARN = 'arn:aws:kafka:eu-west-1:123456789012:cluster/orders-prod/6357e0b2-0e6a-4b86-a0b4-70df934c2e31-5';
const probe = {
  vpcId: 'vpc-0123456789abcdef0',
  subnetIds: ['subnet-0123456789abcdef0'],
  securityGroupId: 'sg-0123456789abcdef0',
};

const config = validateConfig(
  {
    deployment: 'sec',
    region: 'eu-west-1',
    notifications: {
      snsTopicArns: {
        critical: 'arn:aws:sns:eu-west-1:123456789012:kafka-critical',
        warning: 'arn:aws:sns:eu-west-1:123456789012:kafka-warning',
      },
    },
    clusters: [
      {
        name: 'payments',
        platform: 'ec2',
        ec2: {
          metadataMode: 'kraft',
          brokers: [{ id: 1, instanceId: 'i-0123456789abcdef1' }],
          clientPropertiesFile: '/etc/kafka/kafka-heal-client.properties',
        },
        brokerCount: 1,
        bootstrapServers: ['kafka-1.payments.example.com:9093'],
        security: {
          protocol: 'SASL_SSL',
          mechanism: 'SCRAM-SHA-512',
          credentialsSecret: 'kafka/payments-probe',
          kmsKeyArn: KEY,
          tls: { caSecret: CA_ARN, serverName: 'kafka.payments.example.com' },
        },
        probe,
      },
      {
        name: 'orders',
        platform: 'msk',
        msk: { clusterArn: MSK_ARN, clusterName: 'orders-prod' },
        brokerCount: 3,
        bootstrapServers: ['b-1.ordersprod.abc123.c2.kafka.eu-west-1.amazonaws.com:9098'],
        security: { protocol: 'SASL_SSL', mechanism: 'AWS_MSK_IAM' },
        consumerGroups: [{ name: 'billing' }],
        dr: { peer: 'orders-dr', route53: { hostedZoneId: 'Z0123456789ABCDEFGHIJ', recordName: 'kafka.example.com' } },
        probe,
      },
      {
        name: 'orders-dr',
        platform: 'ec2',
        ec2: { metadataMode: 'kraft', brokers: [{ id: 1, instanceId: 'i-0123456789abcdef9' }] },
        brokerCount: 1,
        bootstrapServers: ['kafka-dr.example.com:9092'],
        dr: { peer: 'orders', route53: { hostedZoneId: 'Z0123456789ABCDEFGHIJ', recordName: 'kafka.example.com' } },
        probe,
      },
    ],
  },
  'kafka-access test',
);

let outdir: string;
let t: Template;
let healer: HealerStack;
let synthError: unknown;

beforeAll(() => {
  outdir = mkdtempSync(join(tmpdir(), 'kh-kafka-access-'));
  const app = new App({ outdir, context: { 'aws:cdk:bundling-stacks': [] } });
  const [stack] = addHealerStacks(app, [config], { nag: true });
  try {
    app.synth();
  } catch (err) {
    synthError = err;
  }
  healer = stack as HealerStack;
  t = Template.fromStack(stack as never);
}, 240_000);

afterAll(() => rmSync(outdir, { recursive: true, force: true }));

function fn(service: string): { env: Record<string, string>; statements: Statement[] } {
  const fns = t.findResources('AWS::Lambda::Function') as Resources;
  const f = Object.values(fns).find(
    (x) =>
      (x.Properties['Environment'] as { Variables: Record<string, string> }).Variables['POWERTOOLS_SERVICE_NAME'] ===
      `kafka-heal-${service}`,
  );
  expect(f, service).toBeDefined();
  const roleId = /"([A-Za-z0-9]+)","Arn"/.exec(JSON.stringify(f?.Properties['Role']))?.[1] ?? '';
  const policies = t.findResources('AWS::IAM::Policy') as Resources;
  const statements = Object.values(policies)
    .filter((p) => JSON.stringify(p.Properties['Roles']).includes(`"${roleId}"`))
    .flatMap((p) => (p.Properties['PolicyDocument'] as { Statement: Statement[] }).Statement);
  return { env: (f?.Properties['Environment'] as { Variables: Record<string, string> }).Variables, statements };
}

/** The cluster file (CLUSTERS_FILE) bundled with a cluster's probe or cluster steps function. */
function clusterFile(service: string): { security?: unknown }[] {
  const cluster = service.replace(/^(probe|cluster-steps)-/, '');
  const f = service.startsWith('probe-')
    ? healer.probes.find((p) => p.fn.fn.node.path.includes(`Probe-${cluster}/`))?.fn
    : healer.recovery.clusterSteps.get(cluster);
  expect(fn(service).env['CLUSTERS_FILE']).toBe('clusters.json');
  return f?.files.get('clusters.json') as { security?: unknown }[];
}

const granting = (statements: Statement[], action: string) =>
  statements.filter((s) => [s.Action].flat().includes(action));
const resourcesOf = (statements: Statement[]) =>
  statements.flatMap((s) => [s.Resource].flat()).map((r) => JSON.stringify(r));

describe('secured clusters: what the functions are given and granted', () => {
  it('synthesizes with the cdk-nag pack', () => {
    expect(synthError).toBeUndefined();
  });

  it.each(['probe-payments', 'cluster-steps-payments'])(
    '%s: the cluster file carries the security by reference; the secrets are readable by ARN, nothing else',
    (service) => {
      const { env, statements } = fn(service);
      const [entry] = clusterFile(service);
      expect(JSON.stringify(env)).not.toMatch(/security|Secret/);
      expect(entry?.security).toEqual({
        protocol: 'SASL_SSL',
        mechanism: 'SCRAM-SHA-512',
        credentialsSecret: 'kafka/payments-probe',
        tls: { caSecret: CA_ARN, serverName: 'kafka.payments.example.com' },
      });
      const reads = granting(statements, 'secretsmanager:GetSecretValue');
      expect(reads).toHaveLength(1);
      const arns = resourcesOf(reads);
      expect(arns).toHaveLength(2);
      expect(arns[0]).toMatch(/secretsmanager:.*:secret:kafka\/payments-probe-\?\?\?\?\?\?/);
      expect(arns[1]).toBe(JSON.stringify(CA_ARN));
      const decrypt = granting(statements, 'kms:Decrypt');
      expect(decrypt).toHaveLength(1);
      expect(decrypt[0]?.Resource).toBe(KEY);
      expect(JSON.stringify(decrypt[0]?.Condition)).toMatch(/kms:ViaService.*secretsmanager\./);
      // No kafka-cluster action for a SCRAM cluster: its ACLs live in Kafka.
      expect(statements.flatMap((s) => [s.Action].flat()).filter((a) => a.startsWith('kafka-cluster:'))).toEqual([]);
    },
  );

  it('MSK IAM, probe: read-only kafka-cluster actions on the cluster, its topics and the watched groups; no secret', () => {
    const { statements } = fn('probe-orders');
    expect(clusterFile('probe-orders')[0]?.security).toEqual({
      protocol: 'SASL_SSL',
      mechanism: 'AWS_MSK_IAM',
      region: 'eu-west-1',
    });
    const kafka = statements.filter((s) => [s.Action].flat().some((a) => a.startsWith('kafka-cluster:')));
    expect(kafka.map((s) => [[s.Action].flat().sort(), s.Resource])).toEqual([
      [
        ['kafka-cluster:Connect', 'kafka-cluster:DescribeCluster', 'kafka-cluster:DescribeClusterDynamicConfiguration'],
        MSK_ARN,
      ],
      [
        ['kafka-cluster:DescribeTopic', 'kafka-cluster:DescribeTopicDynamicConfiguration'],
        MSK_ARN.replace(':cluster/', ':topic/') + '/*',
      ],
      [['kafka-cluster:DescribeGroup'], MSK_ARN.replace(':cluster/', ':group/') + '/billing'],
    ]);
    expect(granting(statements, 'secretsmanager:GetSecretValue')).toEqual([]);
  });

  it("MSK IAM, cluster steps of a DR cluster: any group's offsets, the healer's own DR topics written, heartbeats read; nothing else written", () => {
    const { statements } = fn('cluster-steps-orders');
    expect(resourcesOf(granting(statements, 'kafka-cluster:DescribeGroup'))).toEqual([
      JSON.stringify(MSK_ARN.replace(':cluster/', ':group/') + '/*'),
    ]);
    const topic = (name: string) => JSON.stringify(`${MSK_ARN.replace(':cluster/', ':topic/')}/${name}`);
    expect(resourcesOf(granting(statements, 'kafka-cluster:WriteData'))).toEqual([
      topic('kafka-heal.dr-backups'),
      topic('kafka-heal.canary'),
    ]);
    expect(resourcesOf(granting(statements, 'kafka-cluster:CreateTopic'))).toEqual([
      topic('kafka-heal.dr-backups'),
      topic('kafka-heal.canary'),
    ]);
    expect(resourcesOf(granting(statements, 'kafka-cluster:ReadData'))).toEqual([
      topic('kafka-heal.dr-backups'),
      topic('kafka-heal.canary'),
      topic('*.heartbeats'),
    ]);
    for (const a of [
      'kafka-cluster:AlterCluster',
      'kafka-cluster:DeleteTopic',
      'kafka-cluster:AlterGroup',
      'kafka-cluster:AlterTopic',
    ])
      expect(granting(statements, a)).toEqual([]);
  });

  it("Kafka's CLI on the hosts gets the client properties file path (kafka-cli-action CommandConfig), never a secret", () => {
    const targets = healer.recovery.workflowSteps.files.get('workflow-targets.json') as {
      cluster: string;
      commandConfig?: string;
    }[];
    expect(targets.filter((x) => x.commandConfig !== undefined)).toEqual([
      expect.objectContaining({ cluster: 'payments', commandConfig: '/etc/kafka/kafka-heal-client.properties' }),
    ]);
    expect(JSON.stringify(fn('workflow-steps').env)).not.toMatch(/commandConfig|client\.properties/);
  });

  it('a plaintext cluster gets no security reference and no grant', () => {
    const { statements } = fn('probe-orders-dr');
    expect(clusterFile('probe-orders-dr')[0]?.security).toBeUndefined();
    expect(granting(statements, 'secretsmanager:GetSecretValue')).toEqual([]);
    expect(statements.flatMap((s) => [s.Action].flat()).filter((a) => a.startsWith('kafka-cluster:'))).toEqual([]);
  });
});
