// What the schema allows must deploy: 1,000 brokers per cluster and ten clusters per deployment.
// CloudFormation takes at most 500 resources and a 1 MB template, Lambda a 4 KB environment
// (keys and values), IAM 10,240 characters of inline policy per role and 6,144 per managed policy.
// The stacks are synthesized as `cdk synth` does (bundling skipped: the bundled configuration
// files are checked through the constructs).
import { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildHealerApp } from '#infra/app-builder.js';
import { MAX_CLUSTERS, validateConfig, type HealerConfig } from '#infra/config/schema.js';
import type { HealerStack } from '#infra/stacks/healer-stack.js';

type Resource = { Type: string; Properties?: Record<string, unknown> };

const BROKERS = 1000;
const probe = {
  vpcId: 'vpc-0123456789abcdef0',
  subnetIds: ['subnet-0123456789abcdef0', 'subnet-0123456789abcdef1'],
  securityGroupId: 'sg-0123456789abcdef0',
};
const instance = (cluster: number, broker: number) => `i-${(cluster * 10_000 + broker).toString(16).padStart(17, '0')}`;

function ec2(k: number, listed: boolean): Record<string, unknown> {
  return {
    name: `payments-${k}`,
    platform: 'ec2',
    brokerCount: BROKERS,
    ec2: listed
      ? {
          metadataMode: 'zookeeper',
          brokers: Array.from({ length: BROKERS }, (_, i) => ({ id: i + 1, instanceId: instance(k, i + 1) })),
          zookeeper: {
            instanceIds: [1, 2, 3, 4, 5].map((z) => instance(k, 5000 + z)),
            connect: [1, 2, 3, 4, 5].map((z) => `zk-${z}.payments-${k}.example.com:2181`),
          },
        }
      : { metadataMode: 'kraft', brokerTag: { key: 'kafka-heal:cluster', value: `payments-${k}` } },
    bootstrapServers: [`kafka-1.payments-${k}.example.com:9092`],
    probe,
    consumerGroups: [{ name: 'ledger-writer', ownerTopicArn: 'arn:aws:sns:eu-west-1:123456789012:ledger-team' }],
  };
}

function msk(k: number): Record<string, unknown> {
  return {
    name: `orders-${k}`,
    platform: 'msk',
    brokerCount: BROKERS,
    msk: {
      clusterArn: `arn:aws:kafka:eu-west-1:123456789012:cluster/orders-${k}/6357e0b2-0e6a-4b86-a0b4-70df934c2e31-5`,
      clusterName: `orders-${k}`,
    },
    bootstrapServers: [`b-1.orders-${k}.example.com:9098`],
    // 9098 is MSK's IAM listener.
    security: { protocol: 'SASL_SSL', mechanism: 'AWS_MSK_IAM' },
    probe,
    consumerGroups: [{ name: 'billing', topics: ['orders'] }],
  };
}

const config = (deployment: string, clusters: Record<string, unknown>[]): HealerConfig =>
  validateConfig({ deployment, region: 'eu-west-1', dashboard: true, clusters }, 'scale test');

/** One EC2 cluster of 1,000 listed brokers (the case), and the largest deployment the schema allows. */
const ONE = config('one', [ec2(0, true)]);
const MAX = config(
  'widest',
  Array.from({ length: MAX_CLUSTERS }, (_, k) => (k < 4 ? ec2(k, true) : k < 6 ? ec2(k, false) : msk(k))),
);

/** The longest value each pseudo parameter resolves to (aws-us-gov is the longest partition; ap-southeast-7 a long region). */
const PSEUDO: Record<string, number> = {
  'AWS::Partition': 'aws-us-gov'.length,
  'AWS::Region': 'ap-southeast-7'.length,
  'AWS::AccountId': 12,
  'AWS::URLSuffix': 'amazonaws.com.cn'.length,
  'AWS::StackName': 128,
  'AWS::StackId': 140,
};

/**
 * A value as CloudFormation resolves it, with every intrinsic replaced by a placeholder of its
 * longest length: a pseudo parameter by the table above, a Ref or GetAtt of a resource (an ARN,
 * a queue URL, a generated name) by 130 characters (the longest here, a function ARN in
 * aws-us-gov with a 64-character name, is about 120), a name split out of an ARN by 80.
 */
function resolved(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(resolved);
  if (typeof v !== 'object' || v === null) return v;
  const o = v as Record<string, unknown>;
  const ref = o['Ref'];
  if (typeof ref === 'string') return 'x'.repeat(PSEUDO[ref] ?? 130);
  if ('Fn::GetAtt' in o) return 'x'.repeat(130);
  if ('Fn::Select' in o) return 'x'.repeat(80);
  const join = o['Fn::Join'] as [string, unknown[]] | undefined;
  if (join) return join[1].map((p) => String(resolved(p))).join(join[0]);
  if (Object.keys(o).some((k) => k.startsWith('Fn::'))) return 'x'.repeat(130);
  return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, resolved(x)]));
}

const resolvedLength = (v: unknown): number => {
  const r = resolved(v);
  return typeof r === 'string' ? Buffer.byteLength(r) : JSON.stringify(r).length;
};

let stacks: HealerStack[];
let templates: Map<string, Record<string, unknown>>;

beforeAll(() => {
  const app = buildHealerApp([ONE, MAX], { nag: false, appProps: { context: { 'aws:cdk:bundling-stacks': [] } } });
  stacks = app.stacks;
  templates = new Map(
    stacks.map((s) => [s.config.deployment, Template.fromStack(s).toJSON() as Record<string, unknown>]),
  );
}, 600_000);

describe.each(['one', 'widest'])('%s: 1,000 brokers per cluster', (deployment) => {
  const resources = () =>
    Object.entries((templates.get(deployment) as { Resources: Record<string, Resource> }).Resources);

  it("synthesizes under CloudFormation's 500 resources and 1 MB template", () => {
    expect(resources().length).toBeLessThan(500);
    expect(JSON.stringify(templates.get(deployment)).length).toBeLessThan(1_000_000);
  });

  it("every function's environment stays under Lambda's 4 KB: what grows with brokers and clusters is a bundled file", () => {
    const fns = resources().filter(([, r]) => r.Type === 'AWS::Lambda::Function');
    expect(fns.length).toBeGreaterThan(10);
    for (const [id, f] of fns) {
      const vars = ((f.Properties?.['Environment'] as { Variables?: Record<string, unknown> } | undefined)?.Variables ??
        {}) as Record<string, unknown>;
      const size = Object.entries(vars).reduce((n, [k, v]) => n + k.length + resolvedLength(v), 0);
      expect(size, id).toBeLessThan(4096);
    }
    // The workflow steps' targets name every broker's instance: 1,000 of each cluster, in its file.
    const stack = stacks.find((s) => s.config.deployment === deployment) as HealerStack;
    const targets = stack.recovery.workflowSteps.files.get('workflow-targets.json') as { brokers: unknown[] }[];
    expect(targets.reduce((n, t) => n + t.brokers.length, 0)).toBe(
      stack.config.clusters.filter((c) => c.platform === 'ec2' && c.ec2.brokers).length * BROKERS,
    );
    expect(JSON.stringify(targets).length).toBeGreaterThan(4096);
  });

  it("every role's policies stay within IAM's limits: no policy grows with the brokers", () => {
    const byRole = new Map<string, number>();
    for (const [id, r] of resources()) {
      if (r.Type === 'AWS::IAM::ManagedPolicy')
        expect.unreachable(`${id}: a managed overflow policy (a role's inline policy outgrew 10,240 characters)`);
      if (r.Type !== 'AWS::IAM::Policy') continue;
      const size = resolvedLength(r.Properties?.['PolicyDocument']);
      for (const role of (r.Properties?.['Roles'] as { Ref: string }[] | undefined) ?? [])
        byRole.set(role.Ref, (byRole.get(role.Ref) ?? 0) + size);
    }
    for (const [role, size] of byRole) expect(size, role).toBeLessThan(10_240);
  });

  it("SendCommand reaches the listed instances by the deployment's tag: 1,000 instance ARNs fit no IAM policy", () => {
    const sends = resources()
      .filter(([, r]) => r.Type === 'AWS::IAM::Policy')
      .flatMap(
        ([, r]) =>
          (
            r.Properties?.['PolicyDocument'] as {
              Statement: { Action: unknown; Resource: unknown; Condition?: unknown }[];
            }
          ).Statement,
      )
      .filter(
        (st) =>
          JSON.stringify(st.Action).includes('ssm:SendCommand') && JSON.stringify(st.Resource).includes(':instance/'),
      );
    expect(sends.length).toBeGreaterThan(0);
    for (const st of sends) {
      expect(JSON.stringify(st.Resource)).toContain('instance/*');
      expect(st.Condition).toMatchObject({ StringEquals: { 'ssm:resourceTag/kafka-heal:deployment': deployment } });
    }
  });

  it('has as many cluster alarms as a 3-broker deployment of the same clusters', () => {
    const alarms = resources().filter(([, r]) => r.Type === 'AWS::CloudWatch::Alarm').length;
    const stack = stacks.find((s) => s.config.deployment === deployment) as HealerStack;
    const perCluster = stack.clusterAlarms.map((a) => a.alarms.length);
    // Three brokers: the same specs (alarm-specs.ts) with brokerCount 3.
    const small = stack.config.clusters.map((c) =>
      c.platform === 'ec2' && c.ec2.brokers
        ? { ...c, brokerCount: 3, ec2: { ...c.ec2, brokers: c.ec2.brokers.slice(0, 3) } }
        : { ...c, brokerCount: 3 },
    );
    const smallStack = buildHealerApp(
      [{ ...stack.config, deployment: `${deployment}-small`, clusters: small as HealerConfig['clusters'] }],
      { nag: false, appProps: { context: { 'aws:cdk:bundling-stacks': [] } } },
    ).stacks[0] as HealerStack;
    expect(smallStack.clusterAlarms.map((a) => a.alarms.length)).toEqual(perCluster);
    expect(alarms).toBeLessThan(300);
  });
});

describe('the schema', () => {
  it(`refuses an 11th cluster, naming the limit and the way out`, () => {
    expect(() =>
      config(
        'wider',
        Array.from({ length: MAX_CLUSTERS + 1 }, (_, k) => msk(k)),
      ),
    ).toThrow(
      /clusters: expected at most 10 clusters per deployment \(CloudFormation allows a stack 500 resources\): split the file into several deployments/,
    );
  });
});
