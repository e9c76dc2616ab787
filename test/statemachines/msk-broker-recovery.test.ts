import { describe, expect, it } from 'vitest';
import { parseDefinition, taskResources, type AslDefinition, type AslState } from '../../local/stepfunctions/index.js';
import { MSK_ARN, SNAPSHOTS, SUBSTITUTIONS, aslText, aslValidator, finalState, runScenario, workflowStepsCalled, type ScenarioRun } from './recovery-fixtures.js';

const TEXT = aslText('msk-broker-recovery');
// The MSK workflow runs no SSM documents: only the substitutions it names.
const SUBS = { WorkflowStepsFunctionArn: SUBSTITUTIONS.WorkflowStepsFunctionArn, EscalationStateMachineArn: SUBSTITUTIONS.EscalationStateMachineArn };

function expectLockReleasedLast(run: ScenarioRun): void {
  expect(workflowStepsCalled(run).at(-1)).toBe('release-lock');
  expect(workflowStepsCalled(run).filter((s) => s === 'release-lock')).toHaveLength(1);
  expect(run.store.lock).toBeUndefined();
}

const describeCalls = (run: ScenarioRun) => run.calls.filter((c) => c.stateName === 'Check Cluster Active').length;

describe('statemachines/msk-broker-recovery.asl.json: definition', () => {
  it('passes asl-validator as written and as rendered; rendering leaves no ${', () => {
    const asWritten = aslValidator(structuredClone(JSON.parse(TEXT)));
    expect(asWritten.errorsText('\n')).toBe('');
    expect(asWritten.isValid).toBe(true);
    const rendered = parseDefinition(TEXT, SUBS);
    expect(JSON.stringify(rendered)).not.toContain('${');
    expect(aslValidator(structuredClone(rendered)).isValid).toBe(true);
    expect(() => parseDefinition(TEXT, { WorkflowStepsFunctionArn: 'x' })).toThrow(/EscalationStateMachineArn/);
  });

  it('house style: Title Case, Comments on Choices and catches, States.ALL last and alone, bounded Tasks, no literal ARNs', () => {
    const def = JSON.parse(TEXT) as AslDefinition;
    for (const [name, state] of Object.entries(def.States)) {
      expect(name, name).toMatch(/^[A-Z][a-z]*(?: (?:[A-Z][a-z]*|To|As|From|Is|Before|Not))*$/);
      if (state.Type === 'Choice') expect(state.Comment, `${name} says why`).toBeTruthy();
      for (const list of [state.Retry ?? [], state.Catch ?? []]) {
        list.forEach((r, i) => {
          if (r.ErrorEquals.includes('States.ALL')) {
            expect(r.ErrorEquals).toEqual(['States.ALL']);
            expect(i).toBe(list.length - 1);
          }
        });
      }
      for (const c of state.Catch ?? []) expect((c as { Comment?: string }).Comment, `${name} catch says why`).toBeTruthy();
      if (state.Type === 'Task') expect(state.TimeoutSeconds, name).toBeGreaterThan(0);
    }
    expect(TEXT).not.toMatch(/arn:aws:(?!states:::)/);
  });

  it('uses MSK integrations for the cluster and the same verify backoff', () => {
    const def = parseDefinition(TEXT, SUBS);
    expect(taskResources(def)).toEqual([
      'arn:aws:states:::aws-sdk:kafka:describeClusterOperationV2',
      'arn:aws:states:::aws-sdk:kafka:describeClusterV2',
      'arn:aws:states:::aws-sdk:kafka:rebootBroker',
      'arn:aws:states:::lambda:invoke',
      'arn:aws:states:::states:startExecution.sync:2',
    ]);
    expect((def.States['Verify Broker Rejoined'] as AslState).Retry?.[0]).toMatchObject({ ErrorEquals: ['BrokerNotHealthy'], IntervalSeconds: 10, BackoffRate: 1.5, MaxDelaySeconds: 120, MaxAttempts: 3 });
  });
});

describe('msk-broker-recovery runs', () => {
  it('happy path: ACTIVE cluster, one RebootBroker, operation polled to UPDATE_COMPLETE, verified, resolved', async () => {
    const run = await runScenario({ workflow: 'msk-broker-recovery', probes: [SNAPSHOTS.brokerTwoCrashed, SNAPSHOTS.brokerTwoCrashed, SNAPSHOTS.healthy] });
    expect(run.result.status).toBe('SUCCEEDED');
    expect(finalState(run)).toBe('Broker Recovered');
    expect(run.reboots).toEqual([expect.objectContaining({ clusterArn: MSK_ARN, brokerIds: ['2'], stateName: 'Reboot Broker' })]);
    expect(run.states).toContain('Get Reboot Operation');
    expect(run.store.status).toBe('resolved');
    expect(run.store.timeline.map((e) => e.action)).toEqual(['recovery-started', 'broker-rebooted', 'status-changed', 'lock-released']);
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
    const run = await runScenario({ workflow: 'msk-broker-recovery', probes: [SNAPSHOTS.brokerTwoCrashed, SNAPSHOTS.brokerTwoCrashed, SNAPSHOTS.healthy], clusterStates: ['MAINTENANCE', 'MAINTENANCE', 'ACTIVE'] });
    expect(finalState(run)).toBe('Broker Recovered');
    expect(describeCalls(run)).toBe(3);
    expect(run.reboots).toHaveLength(1);
  });

  it('cluster never ACTIVE: 1 + 5 checks, then escalate without rebooting', async () => {
    const run = await runScenario({ workflow: 'msk-broker-recovery', probes: [SNAPSHOTS.brokerTwoCrashed], clusterStates: ['REBOOTING_BROKER'] });
    expect(finalState(run)).toBe('Handed To Operators');
    expect(describeCalls(run)).toBe(6);
    expect(run.reboots).toEqual([]);
    expect(run.store.timeline.find((e) => e.action === 'status-changed')?.detail).toMatch(/the MSK cluster stayed REBOOTING_BROKER for 5 minutes/);
    expectLockReleasedLast(run);
  });

  it('unsafe reboot -> escalate, no reboot', async () => {
    const run = await runScenario({ workflow: 'msk-broker-recovery', probes: [SNAPSHOTS.brokerTwoCrashed, SNAPSHOTS.brokerTwoNeededNow] });
    expect(finalState(run)).toBe('Handed To Operators');
    expect(run.reboots).toEqual([]);
    expectLockReleasedLast(run);
  });

  it('reboot operation fails (UPDATE_FAILED) -> escalate, nothing verified', async () => {
    const run = await runScenario({ workflow: 'msk-broker-recovery', probes: [SNAPSHOTS.brokerTwoCrashed], rebootFails: true });
    expect(finalState(run)).toBe('Handed To Operators');
    expect(run.probeSteps).toEqual(['confirm', 'check-safety']);
    expect(run.store.timeline.find((e) => e.action === 'status-changed')?.detail).toMatch(/the MSK reboot of broker 2 ended UPDATE_FAILED/);
    expectLockReleasedLast(run);
  });

  it('retries exhausted at verify -> escalate', async () => {
    const run = await runScenario({ workflow: 'msk-broker-recovery', probes: [SNAPSHOTS.brokerTwoCrashed, SNAPSHOTS.brokerTwoCrashed, SNAPSHOTS.brokerTwoCatchingUp] });
    expect(finalState(run)).toBe('Handed To Operators');
    expect(run.probeSteps.filter((s) => s === 'verify')).toHaveLength(4);
    expect(run.store.status).toBe('escalated');
    expectLockReleasedLast(run);
  });

  it('dryRun: ZERO RebootBroker calls, the planned reboot on the timeline, escalated', async () => {
    const run = await runScenario({ workflow: 'msk-broker-recovery', input: { dryRun: true }, probes: [SNAPSHOTS.brokerTwoCrashed] });
    expect(run.result.status).toBe('SUCCEEDED');
    expect(run.reboots).toEqual([]);
    expect(run.calls.filter((c) => c.resource.endsWith(':rebootBroker'))).toEqual([]);
    const planned = run.store.timeline.filter((e) => e.action === 'planned-action');
    expect(planned).toEqual([expect.objectContaining({ result: 'dry-run', detail: `would call kafka:RebootBroker for broker 2 of ${MSK_ARN}, poll the cluster operation, then verify it rejoins the ISR` })]);
    expect(run.store.status).toBe('escalated');
    expect(workflowStepsCalled(run).at(-1)).toBe('release-lock');
  });

  it('an EC2 cluster sent to the MSK workflow -> escalated from Record Start, nothing probed or rebooted', async () => {
    const run = await runScenario({ workflow: 'msk-broker-recovery', platform: 'ec2', probes: [SNAPSHOTS.brokerTwoCrashed] });
    expect(finalState(run)).toBe('Handed To Operators');
    expect(run.probeSteps).toEqual([]);
    expect(run.reboots).toEqual([]);
    expect(run.store.timeline.find((e) => e.action === 'status-changed')?.detail).toMatch(/RecoveryTargetError: msk-broker-recovery recovers msk clusters; orders is ec2/);
    expectLockReleasedLast(run);
  });
});
