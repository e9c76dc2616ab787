// CDK assertions for cascade-recovery: the state machine, its substitutions and its hand-written
// IAM, built beside the recovery construct it nests (broker-recovery / msk-broker-recovery) for
// the example clusters: EC2 with listed brokers, EC2 with a broker tag, MSK. Bundling skipped.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CASCADE_RUNBOOK, cascadeRecoverySubstitutions } from '#infra/constructs/cascade-workflow.js';
import { runbookDocumentName } from '#infra/constructs/recovery-workflows.js';
import { aslFile, renderDefinition } from '#infra/constructs/workflows.js';
import { arnText, build, cluster } from './workflow-stack.js';

describe('cascade-recovery wiring: EC2 with listed brokers (payments)', () => {
  const b = build([cluster('payments')]);

  it('creates the state machine with the 55-minute bound and deploys the kafka-cli-action runbook once', () => {
    b.t.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      StateMachineName: 'kafka-heal-test-cascade-recovery',
    });
    const docs = Object.values(b.json.Resources)
      .filter((r) => r.Type === 'AWS::SSM::Document')
      .map((r) => r.Properties.Name);
    expect(docs.filter((n) => n === runbookDocumentName('test', CASCADE_RUNBOOK))).toHaveLength(1);
  });

  it('sends no SSM command itself: ssm-run does, with kafka-cli-action besides its documents, only on the configured broker instances', () => {
    expect(b.allowing('ssm:SendCommand')).toEqual([]);
    expect(b.allowing('ssm:GetCommandInvocation')).toEqual([]);
    const ssmRun = b.recovery.ssmRun?.workflow.stateMachine;
    expect(ssmRun).toBeDefined();
    const send = b.allowingFor(ssmRun as never)('ssm:SendCommand');
    const cli = send.filter((s) => arnText(s.Resource).includes(':document/kafka-heal-test-kafka-cli-action'));
    expect(cli).toHaveLength(1);
    expect((cli[0] as { Sid?: string } | undefined)?.Sid).toBe('SendCascadeCliRunbook');
    const resources = send
      .map((s) => s.Resource)
      .flat()
      .map(arnText);
    for (const tail of [
      ':instance/i-0123456789abcdef1',
      ':instance/i-0123456789abcdef2',
      ':instance/i-0123456789abcdef3',
    ])
      expect(
        resources.filter((r) => r.includes(tail)),
        tail,
      ).toHaveLength(1);
    expect(send.some((s) => s.Condition)).toBe(false);
  });

  it('states:StartExecution only on the nested broker-recovery, ssm-run and the escalation workflow; no reboot of its own', () => {
    const start = b.allowing('states:StartExecution').map((s) => arnText(s.Resource));
    expect(start).toHaveLength(3);
    expect(start.some((r) => r.includes(b.idOf(b.recovery.brokerRecovery?.stateMachine as never)))).toBe(true);
    expect(start.some((r) => r.includes(b.idOf(b.recovery.ssmRun?.workflow.stateMachine as never)))).toBe(true);
    expect(start.some((r) => r.includes('Escalation'))).toBe(true);
    expect(b.allowing('kafka:RebootBroker')).toEqual([]);
    expect(b.allowing('kafka:UpdateBrokerStorage')).toEqual([]);
    const follow = b.allowing('states:DescribeExecution').map((s) => arnText(s.Resource));
    expect(follow.some((r) => r.includes('execution:kafka-heal-test-broker-recovery:*'))).toBe(true);
    expect(follow.some((r) => r.includes('execution:kafka-heal-test-ssm-run:*'))).toBe(true);
    expect(follow.some((r) => r.includes('msk-broker-recovery'))).toBe(false);
  });

  it('invokes only the step Lambdas and the approval request Lambda', () => {
    const invoked = b
      .allowing('lambda:InvokeFunction')
      .map((s) => arnText(s.Resource))
      .join(' ');
    expect(invoked).toContain(b.approvalId);
    expect(invoked).toContain(b.idOf(b.recovery.workflowSteps.fn as never));
    expect(invoked).toContain(b.idOf(b.recovery.clusterSteps.get('payments')?.fn as never));
    expect(invoked).not.toContain('Classify');
  });

  it('the classifier gets WORKFLOW_ARN_CASCADE_RECOVERY', () => {
    const fn = Object.values(b.json.Resources).find(
      (r) => r.Type === 'AWS::Lambda::Function' && arnText(r.Properties.Description) === '"classifier"',
    );
    const env = (fn?.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
    expect(arnText(env.WORKFLOW_ARN_CASCADE_RECOVERY)).toContain(b.idOf(b.cascade.workflow.stateMachine as never));
  });

  it('the definition renders with these substitutions: valid, no ${ left, the children named', () => {
    const subs = cascadeRecoverySubstitutions({
      deployment: 'test',
      workflowStepsFunctionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:steps',
      escalationStateMachineArn: 'arn:aws:states:eu-west-1:123456789012:stateMachine:esc',
      approvalFunctionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:approval',
      brokerRecoveryStateMachineArn:
        'arn:aws:states:eu-west-1:123456789012:stateMachine:kafka-heal-test-broker-recovery',
      mskBrokerRecoveryStateMachineArn:
        'arn:aws:states:eu-west-1:123456789012:stateMachine:kafka-heal-test-msk-broker-recovery',
      ssmRunStateMachineArn: 'arn:aws:states:eu-west-1:123456789012:stateMachine:kafka-heal-test-ssm-run',
    });
    const rendered = renderDefinition(readFileSync(aslFile('cascade-recovery'), 'utf8'), { Partition: 'aws', ...subs });
    expect(rendered).not.toContain('${');
    expect(rendered).toContain('kafka-heal-test-kafka-cli-action');
    expect(subs.SsmRunStateMachineArn).toBe(
      'arn:aws:states:eu-west-1:123456789012:stateMachine:kafka-heal-test-ssm-run',
    );
  });
});

describe('cascade-recovery wiring: EC2 brokers found by tag (events)', () => {
  it('ssm-run sends to instances only under the cluster tag condition; cascade-recovery sends nothing itself', () => {
    const b = build([cluster('events')]);
    expect(b.allowing('ssm:SendCommand')).toEqual([]);
    const tagged = b
      .allowingFor(b.recovery.ssmRun?.workflow.stateMachine as never)('ssm:SendCommand')
      .filter((s) => s.Condition);
    expect(tagged).toHaveLength(1);
    expect(tagged[0]?.Condition).toEqual({
      StringEquals: { 'ssm:resourceTag/kafka-heal:cluster': 'events', 'ssm:resourceTag/kafka-heal:deployment': 'test' },
    });
  });
});

describe('cascade-recovery wiring: MSK (orders)', () => {
  it('no SSM at all; starts only msk-broker-recovery (and escalation)', () => {
    const b = build([cluster('orders')]);
    expect(b.allowing('ssm:SendCommand')).toEqual([]);
    expect(b.recovery.ssmRun).toBeUndefined();
    const start = b.allowing('states:StartExecution').map((s) => arnText(s.Resource));
    expect(start).toHaveLength(2);
    expect(start.some((r) => r.includes(b.idOf(b.recovery.mskBrokerRecovery?.stateMachine as never)))).toBe(true);
    expect(b.allowing('kafka:RebootBroker')).toEqual([]);
  });
});
