// CDK assertions for disk-pressure: its hand-written IAM for EC2 (diagnose + free-disk documents
// on the configured brokers only) and MSK (UpdateBrokerStorage only on the configured cluster),
// and broker-recovery's right to hand a full disk to it. Bundling skipped.
import { describe, expect, it } from 'vitest';
import { arnText, build, cluster } from './workflow-stack.js';

describe('disk-pressure wiring: EC2 with listed brokers (payments)', () => {
  const b = build([cluster('payments')]);
  const allowing = b.allowingFor(b.disk.workflow.stateMachine);

  it('sends no SSM command itself: ssm-run does, with the documents of its parents (free-disk among them) only on the configured broker instances', () => {
    expect(allowing('ssm:SendCommand')).toEqual([]);
    expect(allowing('ssm:GetCommandInvocation')).toEqual([]);
    const ssmRun = b.recovery.ssmRun?.workflow.stateMachine;
    expect(ssmRun).toBeDefined();
    const resources = b
      .allowingFor(ssmRun as never)('ssm:SendCommand')
      .map((s) => s.Resource)
      .flat()
      .map(arnText);
    // broker-recovery's two documents, cascade-recovery's CLI, disk-pressure's cleanup, the three brokers.
    expect(resources).toHaveLength(7);
    for (const tail of [
      ':document/kafka-heal-test-kafka-diagnose-host',
      ':document/kafka-heal-test-kafka-restart-broker',
      ':document/kafka-heal-test-kafka-cli-action',
      ':document/kafka-heal-test-kafka-free-disk',
      ':instance/i-0123456789abcdef1',
      ':instance/i-0123456789abcdef2',
      ':instance/i-0123456789abcdef3',
    ]) {
      expect(
        resources.filter((r) => r.includes(tail)),
        tail,
      ).toHaveLength(1);
    }
    expect(allowing('kafka:UpdateBrokerStorage')).toEqual([]);
    expect(allowing('cloudwatch:GetMetricData')).toEqual([]);
  });

  it('broker-recovery may start disk-pressure (the full-disk hand-off) and follow its executions', () => {
    const parent = b.allowingFor(b.recovery.brokerRecovery?.stateMachine as never);
    expect(
      parent('states:StartExecution')
        .map((s) => arnText(s.Resource))
        .some((r) => r.includes(b.idOf(b.disk.workflow.stateMachine as never))),
    ).toBe(true);
    expect(
      parent('states:DescribeExecution')
        .map((s) => arnText(s.Resource))
        .some((r) => r.includes('execution:kafka-heal-test-disk-pressure:*')),
    ).toBe(true);
  });

  it('the classifier gets WORKFLOW_ARN_DISK_PRESSURE; disk-pressure starts only the escalation and ssm-run workflows', () => {
    const fn = Object.values(b.json.Resources).find(
      (r) => r.Type === 'AWS::Lambda::Function' && arnText(r.Properties.Description) === '"classifier"',
    );
    const env = (fn?.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
    expect(arnText(env.WORKFLOW_ARN_DISK_PRESSURE)).toContain(b.idOf(b.disk.workflow.stateMachine as never));
    const start = allowing('states:StartExecution').map((s) => arnText(s.Resource));
    expect(start).toHaveLength(2);
    expect(start.filter((r) => r.includes('Escalation'))).toHaveLength(1);
    expect(start.filter((r) => r.includes(b.idOf(b.recovery.ssmRun?.workflow.stateMachine as never)))).toHaveLength(1);
    expect(allowing('states:DescribeExecution').map((s) => arnText(s.Resource))).toContainEqual(
      expect.stringContaining('execution:kafka-heal-test-ssm-run:*'),
    );
  });
});

describe('disk-pressure wiring: MSK (orders)', () => {
  it('kafka:UpdateBrokerStorage and DescribeCluster only on the configured cluster ARN; no SSM, no reboot', () => {
    const b = build([cluster('orders')]);
    const allowing = b.allowingFor(b.disk.workflow.stateMachine);
    const grow = allowing('kafka:UpdateBrokerStorage');
    expect(grow).toHaveLength(1);
    expect(grow[0]?.Resource).toEqual(
      cluster('orders').platform === 'msk'
        ? (cluster('orders') as { msk: { clusterArn: string } }).msk.clusterArn
        : undefined,
    );
    expect([grow[0]?.Action].flat().sort()).toEqual(['kafka:DescribeCluster', 'kafka:UpdateBrokerStorage']);
    expect(allowing('ssm:SendCommand')).toEqual([]);
    expect(allowing('kafka:RebootBroker')).toEqual([]);
    // It re-measures the disks before it grows them: reading metrics is all it gets from CloudWatch.
    expect(allowing('cloudwatch:GetMetricData').map((s) => [s.Action, s.Resource])).toEqual([
      ['cloudwatch:GetMetricData', '*'],
    ]);
  });
});
