// CDK assertions for cascade-recovery: the state machine, its substitutions and its hand-written
// IAM, built beside the recovery construct it nests (broker-recovery / msk-broker-recovery) for
// the example clusters: EC2 with listed brokers, EC2 with a broker tag, MSK. Bundling skipped.
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AttributeType, TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { Code, Function as LambdaFunction, Runtime } from 'aws-cdk-lib/aws-lambda';
import { Pass, StateMachine, DefinitionBody } from 'aws-cdk-lib/aws-stepfunctions';
import { describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG_FILES, loadConfigs } from '../../infra/app-builder.js';
import type { ClusterConfig } from '../../infra/config/schema.js';
import { CASCADE_RUNBOOK, CascadeRecoveryWorkflow, cascadeRecoverySubstitutions } from '../../infra/constructs/cascade-workflow.js';
import { HealerFunction } from '../../infra/constructs/healer-function.js';
import { RecoveryWorkflows, runbookDocumentName } from '../../infra/constructs/recovery-workflows.js';
import { aslFile, renderDefinition } from '../../infra/constructs/workflows.js';
import { readFileSync } from 'node:fs';

type Statement = { Action: string | string[]; Resource: unknown; Condition?: Record<string, Record<string, string>> };

const clusters = loadConfigs(DEFAULT_CONFIG_FILES).flatMap((c) => c.clusters);
const cluster = (name: string) => {
  const c = clusters.find((x) => x.name === name);
  if (!c) throw new Error(`no example cluster ${name}`);
  return c;
};

function build(picked: ClusterConfig[]) {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new Stack(app, 'CascadeWiring', { env: { account: '123456789012', region: 'eu-west-1' } });
  const table = new TableV2(stack, 'Incidents', { partitionKey: { name: 'pk', type: AttributeType.STRING } });
  const escalation = new StateMachine(stack, 'Escalation', { stateMachineName: 'kafka-heal-test-escalation', definitionBody: DefinitionBody.fromChainable(new Pass(stack, 'Notify')) });
  const approval = new LambdaFunction(stack, 'ApprovalRequest', { runtime: Runtime.NODEJS_22_X, handler: 'index.handler', code: Code.fromInline('exports.handler = async () => ({})') });
  const recovery = new RecoveryWorkflows(stack, 'Recovery', { deployment: 'test', clusters: picked, table, escalation });
  const classify = new HealerFunction(stack, 'Classify', { name: 'classify', description: 'classifier' });
  const cascade = new CascadeRecoveryWorkflow(stack, 'Cascade', { deployment: 'test', clusters: picked, recovery, escalation, approvalFunction: approval }).bindTo(classify);
  const t = Template.fromStack(stack);
  const json = t.toJSON() as { Resources: Record<string, { Type: string; Properties: Record<string, unknown> }> };
  const idOf = (construct: { node: { defaultChild?: unknown } }) => stack.getLogicalId(construct.node.defaultChild as never);
  const roleId = idOf(cascade.workflow.stateMachine.role as never);
  const statements = Object.values(json.Resources)
    .filter((r) => r.Type === 'AWS::IAM::Policy' && JSON.stringify(r.Properties.Roles) === JSON.stringify([{ Ref: roleId }]))
    .flatMap((r) => (r.Properties.PolicyDocument as { Statement: Statement[] }).Statement);
  const allowing = (action: string) => statements.filter((s) => [s.Action].flat().includes(action));
  return { t, json, stack, recovery, cascade, classify, allowing, idOf, approvalId: idOf(approval) };
}

const arnText = (v: unknown) => JSON.stringify(v);

describe('cascade-recovery wiring: EC2 with listed brokers (payments)', () => {
  const b = build([cluster('payments')]);

  it('creates the state machine with the 55-minute bound and deploys the kafka-cli-action runbook once', () => {
    b.t.hasResourceProperties('AWS::StepFunctions::StateMachine', { StateMachineName: 'kafka-heal-test-cascade-recovery' });
    const docs = Object.values(b.json.Resources).filter((r) => r.Type === 'AWS::SSM::Document').map((r) => r.Properties.Name);
    expect(docs.filter((n) => n === runbookDocumentName('test', CASCADE_RUNBOOK))).toHaveLength(1);
  });

  it('ssm:SendCommand only with the kafka-cli-action document and only on the configured broker instances', () => {
    const send = b.allowing('ssm:SendCommand');
    const resources = send.map((s) => s.Resource).flat().map(arnText);
    expect(resources).toHaveLength(4);
    for (const tail of [':document/kafka-heal-test-kafka-cli-action', ':instance/i-0123456789abcdef1', ':instance/i-0123456789abcdef2', ':instance/i-0123456789abcdef3']) {
      expect(resources.filter((r) => r.includes(tail)), tail).toHaveLength(1);
    }
    expect(send.every((s) => !arnText(s.Resource).includes('kafka-restart-broker'))).toBe(true);
    expect(send.some((s) => s.Condition)).toBe(false);
  });

  it('states:StartExecution only on the nested broker-recovery and the escalation workflow; no reboot of its own', () => {
    const start = b.allowing('states:StartExecution').map((s) => arnText(s.Resource));
    expect(start).toHaveLength(2);
    expect(start.some((r) => r.includes(b.idOf(b.recovery.brokerRecovery?.stateMachine as never)))).toBe(true);
    expect(start.some((r) => r.includes('Escalation'))).toBe(true);
    expect(b.allowing('kafka:RebootBroker')).toEqual([]);
    expect(b.allowing('kafka:UpdateBrokerStorage')).toEqual([]);
    const follow = b.allowing('states:DescribeExecution').map((s) => arnText(s.Resource));
    expect(follow.some((r) => r.includes('execution:kafka-heal-test-broker-recovery:*'))).toBe(true);
    expect(follow.some((r) => r.includes('msk-broker-recovery'))).toBe(false);
  });

  it('invokes only the step Lambdas and the approval request Lambda', () => {
    const invoked = b.allowing('lambda:InvokeFunction').map((s) => arnText(s.Resource)).join(' ');
    expect(invoked).toContain(b.approvalId);
    expect(invoked).toContain(b.idOf(b.recovery.workflowSteps.fn as never));
    expect(invoked).toContain(b.idOf(b.recovery.clusterSteps.get('payments')?.fn as never));
    expect(invoked).not.toContain('Classify');
  });

  it('the classifier gets WORKFLOW_ARN_CASCADE_RECOVERY', () => {
    const fn = Object.values(b.json.Resources).find((r) => r.Type === 'AWS::Lambda::Function' && arnText(r.Properties.Description) === '"classifier"');
    const env = (fn?.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
    expect(arnText(env.WORKFLOW_ARN_CASCADE_RECOVERY)).toContain(b.idOf(b.cascade.workflow.stateMachine as never));
  });

  it('the definition renders with these substitutions: valid, no ${ left, the children named', () => {
    const subs = cascadeRecoverySubstitutions({
      deployment: 'test',
      workflowStepsFunctionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:steps',
      escalationStateMachineArn: 'arn:aws:states:eu-west-1:123456789012:stateMachine:esc',
      approvalFunctionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:approval',
      brokerRecoveryStateMachineArn: 'arn:aws:states:eu-west-1:123456789012:stateMachine:kafka-heal-test-broker-recovery',
      mskBrokerRecoveryStateMachineArn: 'arn:aws:states:eu-west-1:123456789012:stateMachine:kafka-heal-test-msk-broker-recovery',
    });
    const rendered = renderDefinition(readFileSync(aslFile('cascade-recovery'), 'utf8'), subs);
    expect(rendered).not.toContain('${');
    expect(rendered).toContain('"DocumentName": "kafka-heal-test-kafka-cli-action"');
  });
});

describe('cascade-recovery wiring: EC2 brokers found by tag (events)', () => {
  it('SendCommand on instances only under the cluster tag condition', () => {
    const b = build([cluster('events')]);
    const tagged = b.allowing('ssm:SendCommand').filter((s) => s.Condition);
    expect(tagged).toHaveLength(1);
    expect(tagged[0]?.Condition).toEqual({ StringEquals: { 'ssm:resourceTag/kafka-heal:cluster': 'events' } });
  });
});

describe('cascade-recovery wiring: MSK (orders)', () => {
  it('no SSM at all; starts only msk-broker-recovery (and escalation)', () => {
    const b = build([cluster('orders')]);
    expect(b.allowing('ssm:SendCommand')).toEqual([]);
    const start = b.allowing('states:StartExecution').map((s) => arnText(s.Resource));
    expect(start).toHaveLength(2);
    expect(start.some((r) => r.includes(b.idOf(b.recovery.mskBrokerRecovery?.stateMachine as never)))).toBe(true);
    expect(b.allowing('kafka:RebootBroker')).toEqual([]);
  });
});
