// Security properties of every example stack, as `cdk synth` writes them: least-privilege IAM
// (no wildcard actions; nothing mutating on "*" except the few actions AWS cannot scope; the
// dangerous APIs (SSM SendCommand, MSK RebootBroker, Route 53 changes, SNS publish, secret reads)
// only on configured resources), encryption at rest of every topic, queue and table, and secrets
// only in Secrets Manager (never a literal in the template or a function's environment).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { synthesizeExampleStacks, type ExampleStacks } from './example-stacks.js';

type Resource = { Type: string; Properties?: Record<string, unknown> };
interface Statement {
  stack: string;
  policy: string;
  actions: string[];
  resources: unknown[];
  condition: unknown;
}

/**
 * Actions AWS does not let a policy scope to a resource, each with why it is needed; a mutating
 * action on "*" outside this list fails the test.
 */
const UNSCOPABLE: Record<string, string> = {
  'xray:PutTraceSegments': 'active tracing (Lambda, Step Functions)',
  'xray:PutTelemetryRecords': 'active tracing',
  'xray:GetSamplingRules': 'Step Functions tracing',
  'xray:GetSamplingTargets': 'Step Functions tracing',
  'logs:CreateLogDelivery': 'Step Functions execution logs (vended log delivery)',
  'logs:GetLogDelivery': 'Step Functions execution logs',
  'logs:UpdateLogDelivery': 'Step Functions execution logs',
  'logs:DeleteLogDelivery': 'Step Functions execution logs',
  'logs:ListLogDeliveries': 'Step Functions execution logs',
  'logs:PutResourcePolicy': 'Step Functions execution logs',
  'logs:DescribeResourcePolicies': 'Step Functions execution logs',
  'logs:DescribeLogGroups': 'Step Functions execution logs',
  'ec2:CreateNetworkInterface': 'VPC Lambda ENIs (probe, cluster steps)',
  'ec2:DescribeNetworkInterfaces': 'VPC Lambda ENIs',
  'ec2:DescribeSubnets': 'VPC Lambda ENIs',
  'ec2:DeleteNetworkInterface': 'VPC Lambda ENIs',
  'ec2:AssignPrivateIpAddresses': 'VPC Lambda ENIs',
  'ec2:UnassignPrivateIpAddresses': 'VPC Lambda ENIs',
  'ssm:GetCommandInvocation': 'read-only; SSM has no resource type for it',
  'kafka:DescribeClusterOperation': 'read-only; MSK operations have no ARN before they exist',
  'cloudwatch:GetMetricData': 'read-only; disk-pressure re-measures MSK disk usage (no resource-level permissions)',
  'ec2:DescribeInstances':
    'read-only, no resource-level permissions: finds the instances of brokers found by tag (workflow steps)',
};

let ex: ExampleStacks;
const statements: Statement[] = [];
const resources = new Map<string, Record<string, Resource>>();

beforeAll(() => {
  ex = synthesizeExampleStacks('kh-security-');
  for (const stack of ex.stacks) {
    const template = ex.template(stack.config.deployment).toJSON() as { Resources: Record<string, Resource> };
    resources.set(stack.stackName, template.Resources);
    for (const [id, r] of Object.entries(template.Resources)) {
      const docs =
        r.Type === 'AWS::IAM::Policy' || r.Type === 'AWS::IAM::ManagedPolicy'
          ? [r.Properties?.['PolicyDocument']]
          : r.Type === 'AWS::IAM::Role'
            ? ((r.Properties?.['Policies'] as { PolicyDocument: unknown }[] | undefined) ?? []).map(
                (p) => p.PolicyDocument,
              )
            : [];
      for (const doc of docs) {
        for (const st of (
          doc as { Statement: { Effect: string; Action: unknown; Resource: unknown; Condition?: unknown }[] }
        ).Statement) {
          if (st.Effect !== 'Allow') continue;
          statements.push({
            stack: stack.stackName,
            policy: id,
            actions: [st.Action].flat() as string[],
            resources: [st.Resource].flat(),
            condition: st.Condition,
          });
        }
      }
    }
  }
}, 300_000);

afterAll(() => ex?.cleanup());

const ofType = (type: string) =>
  [...resources.entries()].flatMap(([stack, rs]) =>
    Object.entries(rs)
      .filter(([, r]) => r.Type === type)
      .map(([id, r]) => ({ stack, id, r })),
  );
const granting = (action: string) => statements.filter((s) => s.actions.includes(action));
const text = (v: unknown) => JSON.stringify(v);

describe('IAM: least privilege in every example stack', () => {
  it('synthesizes the three example stacks with policies to check', () => {
    expect(ex.synthError).toBeUndefined();
    expect(resources.size).toBe(3);
    expect(statements.length).toBeGreaterThan(50);
  });

  it('no statement grants a wildcard action (`*` or `service:*`)', () => {
    const wild = statements.flatMap((s) =>
      s.actions.filter((a) => a === '*' || /:\*$/.test(a)).map((a) => `${s.stack}/${s.policy}: ${a}`),
    );
    expect(wild).toEqual([]);
  });

  it('nothing is granted on Resource "*" except the actions AWS cannot scope (each with its reason)', () => {
    const onStar = statements
      .filter((s) => s.resources.includes('*'))
      .flatMap((s) => s.actions.filter((a) => !(a in UNSCOPABLE)).map((a) => `${s.stack}/${s.policy}: ${a}`));
    expect(onStar).toEqual([]);
  });

  it("ssm:SendCommand only with the stack's own documents, on configured instances or tag-matched ones under a tag condition", () => {
    const sends = granting('ssm:SendCommand');
    expect(sends.length).toBeGreaterThan(0);
    for (const s of sends) {
      for (const r of s.resources) {
        const arn = text(r);
        expect(arn, `${s.stack}/${s.policy}`).not.toBe('"*"');
        const deployment = s.stack.replace(/^KafkaHeal-/, '');
        const document = arn.includes(':document/') && arn.includes(`document/kafka-heal-${deployment}-`);
        const instance = /:instance\/i-[0-9a-f]{8,17}"/.test(arn);
        // Instance-wide only under the deployment's own tag (another deployment's instances never qualify).
        const tagged =
          arn.includes(':instance/*') &&
          text(s.condition).includes(`"ssm:resourceTag/kafka-heal:deployment":"${deployment}"`);
        expect(document || instance || tagged, `${s.stack}/${s.policy}: ${arn}`).toBe(true);
      }
    }
  });

  it('kafka:RebootBroker only on the configured MSK cluster ARNs', () => {
    const configured = new Set(
      ex.configs.flatMap((c) => c.clusters.flatMap((k) => (k.platform === 'msk' && k.msk ? [k.msk.clusterArn] : []))),
    );
    const reboots = granting('kafka:RebootBroker');
    expect(reboots.length).toBeGreaterThan(0);
    for (const s of reboots)
      for (const r of s.resources) expect(configured.has(r as string), `${s.stack}/${s.policy}: ${text(r)}`).toBe(true);
  });

  it('states:StopExecution only on executions: the classifier (superseding a runbook) and the incident lifecycle (a resolve stops the run still acting) in every stack, and state machines following their .sync children', () => {
    const stops = granting('states:StopExecution');
    for (const who of ['Classify', 'EscalationLifecycleStopRuns'])
      expect(new Set(stops.filter((s) => s.policy.startsWith(who)).map((s) => s.stack)).size, who).toBe(
        ex.stacks.length,
      );
    for (const s of stops) {
      expect(s.policy, s.stack).toMatch(/^Classify|^EscalationLifecycleStopRuns|StateMachineRole/);
      for (const r of s.resources) expect(text(r), `${s.stack}/${s.policy}`).toMatch(/:execution:/);
    }
  });

  it('route53:ChangeResourceRecordSets only on hosted zones, limited to the configured record names', () => {
    const changes = granting('route53:ChangeResourceRecordSets');
    expect(changes.length).toBeGreaterThan(0);
    for (const s of changes) {
      for (const r of s.resources) expect(text(r), `${s.stack}/${s.policy}`).toMatch(/hostedzone\//);
      expect(text(s.condition), `${s.stack}/${s.policy}`).toMatch(/ChangeResourceRecordSetsNormalizedRecordNames/);
    }
  });

  it('sns:Publish only on named topics, secretsmanager:GetSecretValue only on named secrets', () => {
    for (const action of ['sns:Publish', 'secretsmanager:GetSecretValue']) {
      const grants = granting(action);
      expect(grants.length, action).toBeGreaterThan(0);
      for (const s of grants) {
        for (const r of s.resources) {
          expect(text(r), `${s.stack}/${s.policy}: ${action}`).not.toBe('"*"');
          expect(text(r), `${s.stack}/${s.policy}: ${action}`).toMatch(
            action === 'sns:Publish' ? /arn:aws:sns:|"Ref"/ : /secretsmanager|"Ref"/,
          );
        }
      }
    }
  });
});

describe('encryption at rest and secrets', () => {
  it('every SNS topic uses a KMS key; every SQS queue KMS or SQS-managed encryption; every table server-side encryption', () => {
    const topics = ofType('AWS::SNS::Topic');
    const queues = ofType('AWS::SQS::Queue');
    const tables = ofType('AWS::DynamoDB::Table');
    expect(topics.length * queues.length * tables.length).toBeGreaterThan(0);
    for (const t of topics) expect(t.r.Properties?.['KmsMasterKeyId'], `${t.stack}/${t.id}`).toBeDefined();
    for (const q of queues)
      expect(
        q.r.Properties?.['KmsMasterKeyId'] !== undefined || q.r.Properties?.['SqsManagedSseEnabled'] === true,
        `${q.stack}/${q.id}`,
      ).toBe(true);
    for (const t of tables)
      expect(t.r.Properties?.['SSESpecification'], `${t.stack}/${t.id}`).toMatchObject({ SSEEnabled: true });
  });

  it('no secret value in the template: secrets are generated or set outside, functions get only their ARN', () => {
    for (const s of ofType('AWS::SecretsManager::Secret'))
      expect(s.r.Properties?.['SecretString'], `${s.stack}/${s.id}`).toBeUndefined();
    for (const f of ofType('AWS::Lambda::Function')) {
      const vars = ((f.r.Properties?.['Environment'] as { Variables?: Record<string, unknown> } | undefined)
        ?.Variables ?? {}) as Record<string, unknown>;
      for (const [name, value] of Object.entries(vars)) {
        if (!/TOKEN|SECRET|PASSWORD|ROUTING_KEY|SIGNING/i.test(name)) continue;
        // A reference to a secret (Ref / an ARN built with Fn::Join) or a plain number setting.
        const ok =
          typeof value === 'object' ||
          /^arn:aws[a-z-]*:secretsmanager:/.test(String(value)) ||
          /^\d+$/.test(String(value));
        expect(ok, `${f.stack}/${f.id} ${name}=${text(value).slice(0, 80)}`).toBe(true);
      }
    }
    // Runtime policy parameters hold policy, not credentials.
    for (const p of ofType('AWS::SSM::Parameter'))
      expect(text(p.r.Properties?.['Value']), `${p.stack}/${p.id}`).not.toMatch(/token|password|routing.?key|secret/i);
  });
});
