// Closed queues (issue 14): the ingest, signals and notify-retry queues (and the delivery DLQ)
// refuse sqs:SendMessage from anyone but this stack's senders, whatever an identity policy in the
// account grants; the topic key admits the services only on behalf of this account. The queue
// policies are read from the synthesized template and evaluated for sample requests with IAM's
// rules for this condition (a key absent from a request matches a negated operator).
import { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildHealerApp } from '#infra/app-builder.js';
import { loadConfigFile } from '#infra/config/schema.js';
import type { HealerStack } from '#infra/stacks/healer-stack.js';

type Resource = { Type: string; Properties: Record<string, unknown> };
interface Statement {
  Sid?: string;
  Effect: string;
  Principal?: unknown;
  Action: string | string[];
  Condition?: Record<string, Record<string, unknown>>;
}

let stack: HealerStack;
let resources: Record<string, Resource>;
const id = (c: { node: { defaultChild?: unknown } }) => stack.getLogicalId(c.node.defaultChild as never);
const arnOf = (logicalId: string) => ({ 'Fn::GetAtt': [logicalId, 'Arn'] });

beforeAll(() => {
  const config = loadConfigFile('examples/config/ec2-zookeeper.yaml');
  stack = buildHealerApp([config], { nag: false, appProps: { context: { 'aws:cdk:bundling-stacks': [] } } })
    .stacks[0] as HealerStack;
  resources = Template.fromStack(stack).toJSON()['Resources'] as Record<string, Resource>;
}, 300_000);

/** The statements of the queue policy attached to `queueId`. */
function policyOf(queueId: string): Statement[] {
  const policies = Object.values(resources).filter(
    (r) => r.Type === 'AWS::SQS::QueuePolicy' && JSON.stringify(r.Properties['Queues']).includes(`"${queueId}"`),
  );
  expect(policies, queueId).toHaveLength(1);
  return (policies[0]?.Properties['PolicyDocument'] as { Statement: Statement[] }).Statement;
}

/** The SQS statements of the identity policies attached to `role` (Action and Resource). */
function sqsStatements(role: { node: { defaultChild?: unknown } }): { Action: unknown; Resource: unknown }[] {
  const roleId = id(role);
  return Object.values(resources)
    .filter((r) => r.Type === 'AWS::IAM::Policy' && JSON.stringify(r.Properties['Roles']).includes(`"${roleId}"`))
    .flatMap((r) => (r.Properties['PolicyDocument'] as { Statement: (Statement & { Resource: unknown })[] }).Statement)
    .filter((st) => [st.Action].flat().some((a) => String(a).startsWith('sqs:')))
    .map((st) => ({ Action: st.Action, Resource: st.Resource }));
}

/** Whether the queue policy's Deny statements refuse a SendMessage with this request context (values as template intrinsics). */
function refused(statements: Statement[], ctx: { principalArn?: unknown; sourceArn?: unknown }): boolean {
  const key: Record<string, unknown> = { 'aws:PrincipalArn': ctx.principalArn, 'aws:SourceArn': ctx.sourceArn };
  return statements.some((s) => {
    if (s.Effect !== 'Deny' || ![s.Action].flat().includes('sqs:SendMessage')) return false;
    const notEquals = s.Condition?.['ArnNotEquals'];
    if (!notEquals) return false;
    return Object.entries(notEquals).every(
      ([k, values]) =>
        key[k] === undefined || ![values].flat().some((v) => JSON.stringify(v) === JSON.stringify(key[k])),
    );
  });
}

const ATTACKER = 'arn:aws:iam::123456789012:role/has-sqs-SendMessage-on-star';
const FOREIGN_RULE = 'arn:aws:events:us-east-1:123456789012:rule/someone-elses-rule';

describe('closed queues', () => {
  it("ingest queue and delivery DLQ: only this stack's alarm rule and AMP topic deliver", () => {
    const rule = arnOf(id(stack.ingestion.alarmRule));
    const topic = { Ref: id(stack.ingestion.ampTopic) };
    for (const q of [stack.ingestion.ingest.queue, stack.ingestion.deliveryDlq]) {
      const st = policyOf(id(q));
      expect(refused(st, { sourceArn: rule })).toBe(false);
      expect(refused(st, { sourceArn: topic })).toBe(false);
      expect(refused(st, { sourceArn: FOREIGN_RULE })).toBe(true);
      expect(refused(st, { principalArn: ATTACKER })).toBe(true);
      // Not even this stack's own functions put raw events here: they are not its senders.
      expect(refused(st, { principalArn: arnOf(id(stack.ingestFn.role)) })).toBe(true);
    }
  });

  it('ingest queue: each probe puts its fast-detection findings there (its role admitted, SendMessage on that queue only); the delivery DLQ refuses it', () => {
    const ingest = id(stack.ingestion.ingest.queue);
    expect(stack.probes.length).toBeGreaterThan(0);
    for (const probe of stack.probes) {
      const role = arnOf(id(probe.fn.role));
      expect(refused(policyOf(ingest), { principalArn: role }), probe.node.path).toBe(false);
      expect(refused(policyOf(id(stack.ingestion.deliveryDlq)), { principalArn: role }), probe.node.path).toBe(true);
      const fn = resources[id(probe.fn.fn)] as Resource;
      const env = (fn.Properties['Environment'] as { Variables: Record<string, unknown> }).Variables;
      expect(env['INGEST_QUEUE_URL']).toEqual({ Ref: ingest });
      expect(env['PROBE_RECHECK_SECONDS']).toBe('10');
      expect(sqsStatements(probe.fn.role)).toEqual([
        { Action: ['sqs:SendMessage', 'sqs:GetQueueAttributes', 'sqs:GetQueueUrl'], Resource: arnOf(ingest) },
      ]);
    }
    // The signals queue stays closed to it: its findings are normalized by ingest like every other source.
    for (const probe of stack.probes)
      expect(refused(policyOf(id(stack.signalsQueue.queue)), { principalArn: arnOf(id(probe.fn.role)) })).toBe(true);
  });

  it('signals queue: only the ingest and webhook functions, past normalization', () => {
    const st = policyOf(id(stack.signalsQueue.queue));
    for (const f of [stack.ingestFn, stack.webhookFn])
      expect(refused(st, { principalArn: arnOf(id(f.role)) }), f.node.path).toBe(false);
    expect(refused(st, { principalArn: arnOf(id(stack.classifyFn.role)) })).toBe(true);
    expect(refused(st, { principalArn: ATTACKER })).toBe(true);
    expect(refused(st, { sourceArn: FOREIGN_RULE })).toBe(true);
  });

  it('fast detection off (probe.recheckSeconds 0): no queue URL, no SQS grant, and the ingest queue refuses the probe', () => {
    const config = loadConfigFile('examples/config/ec2-zookeeper.yaml');
    for (const c of config.clusters) c.probe.recheckSeconds = 0;
    const off = buildHealerApp([config], { nag: false, appProps: { context: { 'aws:cdk:bundling-stacks': [] } } })
      .stacks[0] as HealerStack;
    const offResources = Template.fromStack(off).toJSON()['Resources'] as Record<string, Resource>;
    const offId = (c: { node: { defaultChild?: unknown } }) => off.getLogicalId(c.node.defaultChild as never);
    const ingest = offId(off.ingestion.ingest.queue);
    const policy = Object.values(offResources).find(
      (r) => r.Type === 'AWS::SQS::QueuePolicy' && JSON.stringify(r.Properties['Queues']).includes(`"${ingest}"`),
    ) as Resource;
    const statements = (policy.Properties['PolicyDocument'] as { Statement: Statement[] }).Statement;
    for (const probe of off.probes) {
      expect(probe.sendsFindings).toBe(false);
      const env = (
        (offResources[offId(probe.fn.fn)] as Resource).Properties['Environment'] as {
          Variables: Record<string, unknown>;
        }
      ).Variables;
      expect(env['INGEST_QUEUE_URL']).toBeUndefined();
      expect(env['PROBE_RECHECK_SECONDS']).toBe('0');
      expect(refused(statements, { principalArn: { 'Fn::GetAtt': [offId(probe.fn.role), 'Arn'] } })).toBe(true);
      const roleId = offId(probe.fn.role);
      const grants = Object.values(offResources).filter(
        (r) =>
          r.Type === 'AWS::IAM::Policy' &&
          JSON.stringify(r.Properties['Roles']).includes(`"${roleId}"`) &&
          JSON.stringify(r.Properties['PolicyDocument']).includes('sqs:'),
      );
      expect(grants).toEqual([]);
    }
  }, 120_000);

  it('notify-retry queue: only the functions that notify (a forged page with links is refused)', () => {
    const st = policyOf(id(stack.ladder.retryQueue.queue));
    for (const f of [stack.ladder.stepsFn, stack.ladder.redeliverFn, stack.ladder.approvalRequestFn])
      expect(refused(st, { principalArn: arnOf(id(f.role)) }), f.node.path).toBe(false);
    for (const f of [stack.ladder.approvalEndpointFn, stack.ingestFn])
      expect(refused(st, { principalArn: arnOf(id(f.role)) }), f.node.path).toBe(true);
    expect(refused(st, { principalArn: ATTACKER })).toBe(true);
  });

  it('the topic key admits CloudWatch and Amazon Managed Prometheus only on behalf of this account', () => {
    const key = Object.values(resources).find((r) => r.Type === 'AWS::KMS::Key') as Resource;
    const statements = (key.Properties['KeyPolicy'] as { Statement: Statement[] }).Statement;
    const services = statements.filter((s) => JSON.stringify(s.Principal).includes('.amazonaws.com'));
    expect(services.map((s) => JSON.stringify(s.Principal)).sort()).toEqual([
      '{"Service":"aps.amazonaws.com"}',
      '{"Service":"cloudwatch.amazonaws.com"}',
    ]);
    for (const s of services)
      expect(s.Condition).toEqual({ StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } });
  });
});
