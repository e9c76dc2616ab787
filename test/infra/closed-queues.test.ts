// Closed queues (issue 14): the ingest, signals and notify-retry queues (and the delivery DLQ)
// refuse sqs:SendMessage from anyone but this stack's senders, whatever an identity policy in the
// account grants; the topic key admits the services only on behalf of this account. The queue
// policies are read from the synthesized template and evaluated for sample requests with IAM's
// rules for this condition (a key absent from a request matches a negated operator).
import { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildHealerApp } from '../../infra/app-builder.js';
import { loadConfigFile } from '../../infra/config/schema.js';
import type { HealerStack } from '../../infra/stacks/healer-stack.js';

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
  stack = buildHealerApp([config], { nag: false, appProps: { context: { 'aws:cdk:bundling-stacks': [] } } }).stacks[0] as HealerStack;
  resources = Template.fromStack(stack).toJSON()['Resources'] as Record<string, Resource>;
}, 300_000);

/** The statements of the queue policy attached to `queueId`. */
function policyOf(queueId: string): Statement[] {
  const policies = Object.values(resources).filter((r) => r.Type === 'AWS::SQS::QueuePolicy' && JSON.stringify(r.Properties['Queues']).includes(`"${queueId}"`));
  expect(policies, queueId).toHaveLength(1);
  return (policies[0]?.Properties['PolicyDocument'] as { Statement: Statement[] }).Statement;
}

/** Whether the queue policy's Deny statements refuse a SendMessage with this request context (values as template intrinsics). */
function refused(statements: Statement[], ctx: { principalArn?: unknown; sourceArn?: unknown }): boolean {
  const key: Record<string, unknown> = { 'aws:PrincipalArn': ctx.principalArn, 'aws:SourceArn': ctx.sourceArn };
  return statements.some((s) => {
    if (s.Effect !== 'Deny' || ![s.Action].flat().includes('sqs:SendMessage')) return false;
    const notEquals = s.Condition?.['ArnNotEquals'];
    if (!notEquals) return false;
    return Object.entries(notEquals).every(([k, values]) => key[k] === undefined || ![values].flat().some((v) => JSON.stringify(v) === JSON.stringify(key[k])));
  });
}

const ATTACKER = 'arn:aws:iam::123456789012:role/has-sqs-SendMessage-on-star';
const FOREIGN_RULE = 'arn:aws:events:us-east-1:123456789012:rule/someone-elses-rule';

describe('closed queues', () => {
  it('ingest queue and delivery DLQ: only this stack\'s alarm rule and AMP topic deliver', () => {
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

  it('signals queue: only the ingest and webhook functions, past normalization', () => {
    const st = policyOf(id(stack.signalsQueue.queue));
    for (const f of [stack.ingestFn, stack.webhookFn]) expect(refused(st, { principalArn: arnOf(id(f.role)) }), f.node.path).toBe(false);
    expect(refused(st, { principalArn: arnOf(id(stack.classifyFn.role)) })).toBe(true);
    expect(refused(st, { principalArn: ATTACKER })).toBe(true);
    expect(refused(st, { sourceArn: FOREIGN_RULE })).toBe(true);
  });

  it('notify-retry queue: only the functions that notify (a forged page with links is refused)', () => {
    const st = policyOf(id(stack.ladder.retryQueue.queue));
    for (const f of [stack.ladder.stepsFn, stack.ladder.redeliverFn, stack.ladder.approvalRequestFn]) expect(refused(st, { principalArn: arnOf(id(f.role)) }), f.node.path).toBe(false);
    for (const f of [stack.ladder.approvalEndpointFn, stack.ingestFn]) expect(refused(st, { principalArn: arnOf(id(f.role)) }), f.node.path).toBe(true);
    expect(refused(st, { principalArn: ATTACKER })).toBe(true);
  });

  it('the topic key admits CloudWatch and Amazon Managed Prometheus only on behalf of this account', () => {
    const key = Object.values(resources).find((r) => r.Type === 'AWS::KMS::Key') as Resource;
    const statements = (key.Properties['KeyPolicy'] as { Statement: Statement[] }).Statement;
    const services = statements.filter((s) => JSON.stringify(s.Principal).includes('.amazonaws.com'));
    expect(services.map((s) => JSON.stringify(s.Principal)).sort()).toEqual(['{"Service":"aps.amazonaws.com"}', '{"Service":"cloudwatch.amazonaws.com"}']);
    for (const s of services) expect(s.Condition).toEqual({ StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } });
  });
});
