import { describe, expect, it } from 'vitest';
import type { LocalCluster } from '#local/kafka/cluster.js';
import { localMskDouble } from '#local/kafka/msk-double.js';
import { parseDefinition, taskResources, walkStates } from '#local/stepfunctions/index.js';
import { expectHouseStyle, expectLockReleasedOnEveryPath, expectValidAsl } from '../support/asl.js';
import {
  MSK_ARN,
  SNAPSHOTS,
  SUBSTITUTIONS,
  aslText,
  finalState,
  runScenario,
  workflowStepsCalled,
  type ScenarioRun,
} from './recovery-fixtures.js';

const TEXT = aslText('msk-broker-recovery');
// The MSK workflow runs no SSM documents: only the substitutions it names.
const SUBS = {
  WorkflowStepsFunctionArn: SUBSTITUTIONS.WorkflowStepsFunctionArn,
  EscalationStateMachineArn: SUBSTITUTIONS.EscalationStateMachineArn,
  ApprovalFunctionArn: SUBSTITUTIONS.ApprovalFunctionArn,
};

function expectLockReleasedLast(run: ScenarioRun): void {
  expect(workflowStepsCalled(run).at(-1)).toBe('release-lock');
  expect(workflowStepsCalled(run).filter((s) => s === 'release-lock')).toHaveLength(1);
  expect(run.store.lock).toBeUndefined();
}

const describeCalls = (run: ScenarioRun) => run.calls.filter((c) => c.stateName === 'Check Cluster Active').length;

describe('statemachines/msk-broker-recovery.asl.json: definition', () => {
  it('passes asl-validator as written and as rendered (every substitution used, no ${ left); house style; the lock released on every path', () => {
    expectValidAsl(TEXT, SUBS);
    expect(() => parseDefinition(TEXT, { WorkflowStepsFunctionArn: 'x' })).toThrow(/EscalationStateMachineArn/);
    expectHouseStyle(TEXT);
    expectLockReleasedOnEveryPath(TEXT);
  });

  it('uses MSK integrations for the cluster and the same verify backoff', () => {
    const def = parseDefinition(TEXT, SUBS);
    expect(taskResources(def)).toEqual([
      'arn:aws:states:::aws-sdk:kafka:describeCluster',
      'arn:aws:states:::aws-sdk:kafka:describeClusterOperation',
      'arn:aws:states:::aws-sdk:kafka:rebootBroker',
      'arn:aws:states:::lambda:invoke',
      'arn:aws:states:::lambda:invoke.waitForTaskToken',
      'arn:aws:states:::states:startExecution.sync:2',
    ]);
    expect(walkStates(def).find((v) => v.name === 'Verify Broker Rejoined')?.state.Retry?.[0]).toMatchObject({
      ErrorEquals: ['BrokerNotHealthy'],
      IntervalSeconds: 10,
      BackoffRate: 1.5,
      MaxDelaySeconds: 120,
      MaxAttempts: 3,
    });
  });
});

describe('msk-broker-recovery runs', () => {
  it('happy path: ACTIVE cluster, one RebootBroker, operation polled to UPDATE_COMPLETE, verified, resolved', async () => {
    const run = await runScenario({
      workflow: 'msk-broker-recovery',
      probes: [SNAPSHOTS.brokerTwoCrashed, SNAPSHOTS.brokerTwoCrashed, SNAPSHOTS.healthy],
    });
    expect(run.result.status).toBe('SUCCEEDED');
    expect(finalState(run)).toBe('Broker Recovered');
    expect(run.reboots).toEqual([
      expect.objectContaining({ clusterArn: MSK_ARN, brokerIds: ['2'], stateName: 'Reboot Broker' }),
    ]);
    expect(run.states).toContain('Get Reboot Operation');
    expect(run.store.status).toBe('resolved');
    expect(run.store.timeline.map((e) => e.action)).toEqual([
      'recovery-started',
      'broker-rebooted',
      'status-changed',
      'lock-released',
    ]);
    expectLockReleasedLast(run);
  });

  it('false alarm: no cluster call, no reboot', async () => {
    const run = await runScenario({ workflow: 'msk-broker-recovery', probes: [SNAPSHOTS.healthy] });
    expect(finalState(run)).toBe('False Alarm Resolved');
    expect(describeCalls(run)).toBe(0);
    expect(run.reboots).toEqual([]);
    expectLockReleasedLast(run);
  });

  it('cluster busy (MAINTENANCE) then ACTIVE: waits and goes on', async () => {
    const run = await runScenario({
      workflow: 'msk-broker-recovery',
      probes: [SNAPSHOTS.brokerTwoCrashed, SNAPSHOTS.brokerTwoCrashed, SNAPSHOTS.healthy],
      clusterStates: ['MAINTENANCE', 'MAINTENANCE', 'ACTIVE'],
    });
    expect(finalState(run)).toBe('Broker Recovered');
    expect(describeCalls(run)).toBe(3);
    expect(run.reboots).toHaveLength(1);
  });

  it('cluster never ACTIVE: 1 + 5 checks, then escalate without rebooting', async () => {
    const run = await runScenario({
      workflow: 'msk-broker-recovery',
      probes: [SNAPSHOTS.brokerTwoCrashed],
      clusterStates: ['REBOOTING_BROKER'],
    });
    expect(finalState(run)).toBe('Handed To Operators');
    expect(describeCalls(run)).toBe(6);
    expect(run.reboots).toEqual([]);
    expect(run.store.timeline.find((e) => e.action === 'status-changed')?.detail).toMatch(
      /the MSK cluster stayed REBOOTING_BROKER for 5 minutes/,
    );
    expectLockReleasedLast(run);
  });

  it('unsafe reboot -> escalate, no reboot', async () => {
    const run = await runScenario({
      workflow: 'msk-broker-recovery',
      probes: [SNAPSHOTS.brokerTwoCrashed, SNAPSHOTS.brokerTwoNeededNow],
    });
    expect(finalState(run)).toBe('Handed To Operators');
    expect(run.reboots).toEqual([]);
    expectLockReleasedLast(run);
  });

  it('reboot operation fails (UPDATE_FAILED) -> escalate, nothing verified', async () => {
    const run = await runScenario({
      workflow: 'msk-broker-recovery',
      probes: [SNAPSHOTS.brokerTwoCrashed],
      rebootFails: true,
    });
    expect(finalState(run)).toBe('Handed To Operators');
    expect(run.probeSteps).toEqual(['confirm', 'check-safety']);
    expect(run.store.timeline.find((e) => e.action === 'status-changed')?.detail).toMatch(
      /the MSK reboot of broker 2 ended UPDATE_FAILED/,
    );
    expectLockReleasedLast(run);
  });

  it('MSK refuses RebootBroker (BadRequestException, the local MSK double) -> one call, escalated, nothing restarted, no loop', async () => {
    const restarted: number[] = [];
    const cluster = {
      bootstrapServers: '127.0.0.1:1',
      brokers: [1, 2, 3].map((id) => ({ id, state: 'running' })) as unknown as LocalCluster['brokers'],
      fault: (_a: string, id: number) => Promise.resolve(void restarted.push(id)),
    };
    const msk = localMskDouble(cluster, {
      clusterArn: MSK_ARN,
      refuseReboot: 'This operation cannot be performed on the cluster: another operation is in progress',
    });
    const run = await runScenario({ workflow: 'msk-broker-recovery', probes: [SNAPSHOTS.brokerTwoCrashed], msk });
    expect(finalState(run)).toBe('Handed To Operators');
    expect(run.calls.filter((c) => c.stateName === 'Reboot Broker')).toHaveLength(1);
    expect(run.states).not.toContain('Get Reboot Operation');
    expect(run.states).not.toContain('Verify Broker Rejoined');
    expect(restarted).toEqual([]);
    expect(run.store.status).toBe('escalated');
    expect(run.store.timeline.find((e) => e.action === 'status-changed')?.detail).toMatch(
      /another operation is in progress/,
    );
    expectLockReleasedLast(run);
  });

  it('retries exhausted at verify -> escalate', async () => {
    const run = await runScenario({
      workflow: 'msk-broker-recovery',
      probes: [SNAPSHOTS.brokerTwoCrashed, SNAPSHOTS.brokerTwoCrashed, SNAPSHOTS.brokerTwoCatchingUp],
    });
    expect(finalState(run)).toBe('Handed To Operators');
    expect(run.probeSteps.filter((s) => s === 'verify')).toHaveLength(4);
    expect(run.store.status).toBe('escalated');
    expectLockReleasedLast(run);
  });

  it('dryRun: ZERO RebootBroker calls, the planned reboot on the timeline, escalated', async () => {
    const run = await runScenario({
      workflow: 'msk-broker-recovery',
      input: { dryRun: true },
      probes: [SNAPSHOTS.brokerTwoCrashed],
    });
    expect(run.result.status).toBe('SUCCEEDED');
    expect(run.reboots).toEqual([]);
    expect(run.calls.filter((c) => c.resource.endsWith(':rebootBroker'))).toEqual([]);
    const planned = run.store.timeline.filter((e) => e.action === 'planned-action');
    expect(planned).toEqual([
      expect.objectContaining({
        result: 'dry-run',
        detail: `would call kafka:RebootBroker for broker 2 of ${MSK_ARN}, poll the cluster operation, then verify it rejoins the ISR`,
      }),
    ]);
    expect(run.store.status).toBe('escalated');
    expect(workflowStepsCalled(run).at(-1)).toBe('release-lock');
  });

  it('an EC2 cluster sent to the MSK workflow -> escalated from Record Start, nothing probed or rebooted', async () => {
    const run = await runScenario({
      workflow: 'msk-broker-recovery',
      platform: 'ec2',
      probes: [SNAPSHOTS.brokerTwoCrashed],
    });
    expect(finalState(run)).toBe('Handed To Operators');
    expect(run.probeSteps).toEqual([]);
    expect(run.reboots).toEqual([]);
    expect(run.store.timeline.find((e) => e.action === 'status-changed')?.detail).toMatch(
      /RecoveryTargetError: msk-broker-recovery recovers msk clusters; orders is ec2/,
    );
    expectLockReleasedLast(run);
  });
});

// The classifier decided await-approval: the MSK reboot waits for a person as the EC2 restart does.
describe('msk-broker-recovery asks a person when the decision was await-approval', () => {
  const crashed = {
    workflow: 'msk-broker-recovery' as const,
    probes: [SNAPSHOTS.brokerTwoCrashed, SNAPSHOTS.brokerTwoCrashed, SNAPSHOTS.healthy],
    incidentStatus: 'awaiting-approval' as const,
  };
  const awaiting = { action: 'await-approval', severity: 'SEV-1' };

  it('granted: asks after the confirmation, then checks the cluster and safety, reboots, resolves', async () => {
    const run = await runScenario({ ...crashed, input: awaiting });
    expect(finalState(run)).toBe('Broker Recovered');
    expect(run.approvals).toHaveLength(1);
    expect(run.approvals[0]).toMatchObject({
      workflow: 'msk-broker-recovery',
      summary: 'Reboot broker 2 of orders (SEV-1 broker-failure) with MSK RebootBroker',
    });
    expect(run.approvals[0]?.actions[0]).toContain(MSK_ARN);
    expect(run.states.indexOf('Request Approval')).toBeGreaterThan(run.states.indexOf('Confirm Broker Is Down'));
    expect(run.states.indexOf('Check Cluster Active')).toBeGreaterThan(run.states.indexOf('Request Approval'));
    expect(run.reboots).toHaveLength(1);
    expect(run.store.timeline.map((e) => e.action)).toEqual([
      'recovery-started',
      'approval-granted',
      'broker-rebooted',
      'status-changed',
      'lock-released',
    ]);
    expectLockReleasedLast(run);
  });

  it('rejected or timed out: no reboot, no cluster call, escalated', async () => {
    for (const [decide, recorded] of [
      [() => ({ decision: 'rejected' as const, by: 'ops' }), 'approval-rejected'],
      [() => 'never' as const, 'approval-timed-out'],
    ] as const) {
      const run = await runScenario({ ...crashed, input: awaiting, decide });
      expect(finalState(run)).toBe('Handed To Operators');
      expect(run.reboots).toEqual([]);
      expect(describeCalls(run)).toBe(0);
      expect(run.store.timeline.map((e) => e.action)).toContain(recorded);
      expect(run.store.status).toBe('escalated');
      expectLockReleasedLast(run);
    }
  });

  it('dryRun: approval-planned, nobody asked, no reboot', async () => {
    const run = await runScenario({ ...crashed, input: { ...awaiting, dryRun: true } });
    expect(run.approvals).toEqual([]);
    expect(run.reboots).toEqual([]);
    expect(run.store.timeline.find((e) => e.action === 'approval-planned')).toMatchObject({ result: 'dry-run' });
  });

  it('a nested run is not asked again', async () => {
    const run = await runScenario({
      ...crashed,
      input: { ...awaiting, parentWorkflow: 'cascade-recovery' },
      holdLock: false,
    });
    expect(run.approvals).toEqual([]);
    expect(run.reboots).toHaveLength(1);
  });
});
