import { describe, expect, it } from 'vitest';
import {
  RESOURCES,
  taskResources,
  parseDefinition,
  walkStates,
  type AslDefinition,
} from '#local/stepfunctions/index.js';
import { expectHouseStyle, expectLockReleasedOnEveryPath, expectValidAsl } from '../support/asl.js';
import {
  INSTANCE,
  SNAPSHOTS,
  SUBSTITUTIONS,
  aslText,
  diagnosisLine,
  finalState,
  ok,
  runScenario,
  workflowStepsCalled,
  type ScenarioRun,
} from './recovery-fixtures.js';

const TEXT = aslText('broker-recovery');
const DIAG = SUBSTITUTIONS.DiagnoseDocumentName;
const RESTART = SUBSTITUTIONS.RestartDocumentName;
const restarted = ok(
  '{"result":"restarted","pid":4242,"previousPid":0,"service":"kafka","listenerPort":9092,"waitedSeconds":7}\n',
);

function expectLockReleasedLast(run: ScenarioRun): void {
  const steps = workflowStepsCalled(run);
  expect(steps.at(-1), 'release-lock is the last step on every path').toBe('release-lock');
  expect(steps.filter((s) => s === 'release-lock')).toHaveLength(1);
  expect(run.store.lock).toBeUndefined();
}

function restartCommands(run: ScenarioRun) {
  return run.commands.filter((c) => c.documentName === RESTART);
}

describe('statemachines/broker-recovery.asl.json: definition', () => {
  it('passes asl-validator as written and as rendered (every substitution used, no ${ left); follows the house style', () => {
    expectValidAsl(TEXT, SUBSTITUTIONS);
    expectHouseStyle(TEXT);
  });

  it('uses only the integrations the local runtime binds', () => {
    // SSM commands run in the nested ssm-run workflow (its own test checks its integrations).
    expect(taskResources(parseDefinition(TEXT, SUBSTITUTIONS))).toEqual([
      'arn:aws:states:::lambda:invoke',
      'arn:aws:states:::lambda:invoke.waitForTaskToken',
      'arn:aws:states:::states:startExecution.sync:2',
    ]);
  });

  it('the execution ends before the cluster lock the classifier took expires (and CDK says the same)', async () => {
    const { DEFAULT_LOCK_TTL_SECONDS } = await import('#functions/classify/handler.js');
    const { RECOVERY_TIMEOUT } = await import('#infra/constructs/recovery-workflows.js');
    for (const name of ['broker-recovery', 'msk-broker-recovery']) {
      const def = JSON.parse(aslText(name)) as AslDefinition;
      expect(def.TimeoutSeconds, name).toBeLessThan(DEFAULT_LOCK_TTL_SECONDS);
      expect(def.TimeoutSeconds, name).toBe(RECOVERY_TIMEOUT.toSeconds());
    }
  });

  it('verify retries BrokerNotHealthy with the seed backoff (10 s, x1.5, cap 120 s, 3 attempts)', () => {
    const verify = walkStates(JSON.parse(TEXT) as AslDefinition).find(
      (v) => v.name === 'Verify Broker Rejoined',
    )?.state;
    expect(verify?.Retry?.[0]).toMatchObject({
      ErrorEquals: ['BrokerNotHealthy'],
      IntervalSeconds: 10,
      BackoffRate: 1.5,
      MaxDelaySeconds: 120,
      MaxAttempts: 3,
    });
  });

  it('every path into a terminal state (other than bad input) passes Release Cluster Lock', () => {
    expectLockReleasedOnEveryPath(TEXT);
  });
});

describe('broker-recovery runs (aws-local-stepfunctions, per-Resource bindings)', () => {
  it('happy path: confirm, safe, diagnose, restart, verify, resolve, release', async () => {
    const run = await runScenario({
      workflow: 'broker-recovery',
      probes: [SNAPSHOTS.brokerTwoCrashed, SNAPSHOTS.brokerTwoCrashed, SNAPSHOTS.healthy],
      commands: { [DIAG]: ok(diagnosisLine()), [RESTART]: restarted },
    });
    expect(run.result.status).toBe('SUCCEEDED');
    expect(finalState(run)).toBe('Broker Recovered');
    expect(run.probeSteps).toEqual(['confirm', 'check-safety', 'verify']);
    expect(run.commands.map((c) => [c.documentName, c.instanceId])).toEqual([
      [DIAG, INSTANCE],
      [RESTART, INSTANCE],
    ]);
    expect(restartCommands(run)[0]?.parameters).toEqual({
      ServiceName: ['kafka'],
      ListenerPort: ['9092'],
      ExpectedBrokerId: ['2'],
      TimeoutSeconds: ['600'],
      ServerProperties: ['/srv/kafka-2/server.properties'],
    });
    expect(run.commands[0]?.parameters).toEqual({
      ServiceName: ['kafka'],
      ListenerPort: ['9092'],
      ServerProperties: ['/srv/kafka-2/server.properties'],
      AppLogDir: ['/var/log/kafka'],
    });
    // The invocation is invisible right after SendCommand: the Retry on InvocationDoesNotExist handled it.
    expect(run.calls.filter((c) => c.error === 'Ssm.InvocationDoesNotExistException').length).toBeGreaterThanOrEqual(2);
    expect(workflowStepsCalled(run)).toEqual(['start', 'read-diagnosis', 'record', 'resolve', 'release-lock']);
    expect(run.store.status).toBe('resolved');
    expect(run.store.heals).toEqual([
      expect.objectContaining({ cluster: 'orders', type: 'broker-failure', brokerIds: [2] }),
    ]);
    expect(run.store.timeline.map((e) => e.action)).toEqual([
      'recovery-started',
      'host-diagnosed',
      'broker-restarted',
      'status-changed',
      'lock-released',
    ]);
    expect(run.store.timeline[2]?.detail).toContain('"result":"restarted"');
    expectLockReleasedLast(run);
    expect(run.published).toEqual([]);
  });

  it('false alarm: healthy at confirm -> resolved, nothing run on the host, no heal counted', async () => {
    const run = await runScenario({ workflow: 'broker-recovery', probes: [SNAPSHOTS.healthy] });
    expect(finalState(run)).toBe('False Alarm Resolved');
    expect(run.commands).toEqual([]);
    expect(run.probeSteps).toEqual(['confirm']);
    expect(run.store.status).toBe('resolved');
    expect(run.store.heals).toEqual([]);
    expect(run.store.timeline.find((e) => e.action === 'status-changed')?.detail).toMatch(
      /false alarm: broker 2 is up and the cluster is healthy/,
    );
    expectLockReleasedLast(run);
  });

  it('broker up again but the cluster degraded at confirm: inconclusive -> escalate, no action', async () => {
    const run = await runScenario({ workflow: 'broker-recovery', probes: [SNAPSHOTS.brokerTwoNeededNow] });
    expect(finalState(run)).toBe('Handed To Operators');
    expect(run.commands).toEqual([]);
    expect(run.store.status).toBe('escalated');
    expectLockReleasedLast(run);
  });

  it('unsafe restart (the broker came back and is now needed for min ISR) -> escalate, nothing restarted', async () => {
    const run = await runScenario({
      workflow: 'broker-recovery',
      probes: [SNAPSHOTS.brokerTwoCrashed, SNAPSHOTS.brokerTwoNeededNow],
    });
    expect(run.result.status).toBe('SUCCEEDED');
    expect(finalState(run)).toBe('Handed To Operators');
    expect(run.commands).toEqual([]);
    expect(run.store.status).toBe('escalated');
    const escalated = run.store.timeline.find((e) => e.action === 'status-changed');
    expect(escalated?.detail).toMatch(
      /restart refused by the safety check: restarting live broker 2 would leave 2 partition\(s\) below min.insync.replicas/,
    );
    // The escalation went out through the real escalation-notify workflow.
    expect(run.published).toHaveLength(1);
    expect(run.published[0]).toMatchObject({ TopicArn: 'arn:aws:sns:eu-west-1:123456789012:critical' });
    expect(JSON.parse((run.published[0] as { Message: string }).Message)).toMatchObject({
      incidentId: 'inc-orders-broker-2',
      severity: 'SEV-2',
      summary: expect.stringContaining('restart refused'),
    });
    expectLockReleasedLast(run);
  });

  it('diagnosis says the data disk is full and disk-pressure cannot run (no such state machine here) -> no restart, escalated for disk pressure', async () => {
    const run = await runScenario({
      workflow: 'broker-recovery',
      probes: [SNAPSHOTS.brokerTwoCrashed],
      commands: { [DIAG]: ok(diagnosisLine({ diskUsedPercent: 97 })), [RESTART]: restarted },
    });
    expect(finalState(run)).toBe('Handed To Operators');
    expect(restartCommands(run)).toEqual([]);
    expect(run.store.timeline.find((e) => e.action === 'host-diagnosed')).toMatchObject({ result: 'disk-pressure' });
    expect(run.store.timeline.find((e) => e.action === 'status-changed')?.detail).toMatch(
      /disk pressure on the broker host, not restarted: a Kafka data disk is 97% full/,
    );
    expectLockReleasedLast(run);
  });

  it('the diagnosis could not run on the host -> no restart, escalated with its reason as written', async () => {
    const run = await runScenario({
      workflow: 'broker-recovery',
      probes: [SNAPSHOTS.brokerTwoCrashed],
      commands: { [DIAG]: ok(diagnosisLine({ error: 'df: command not found' })), [RESTART]: restarted },
    });
    expect(finalState(run)).toBe('Handed To Operators');
    expect(restartCommands(run)).toEqual([]);
    expect(run.store.timeline.find((e) => e.action === 'host-diagnosed')).toMatchObject({ result: 'escalate' });
    expect(run.store.timeline.find((e) => e.action === 'status-changed')?.detail).toBe(
      'remediating -> escalated: the host diagnosis could not run: df: command not found',
    );
    expectLockReleasedLast(run);
  });

  it('the broker is back but the incident cannot be closed -> lock released, the execution fails (Incident Not Updated)', async () => {
    const run = await runScenario({
      workflow: 'broker-recovery',
      probes: [SNAPSHOTS.brokerTwoCrashed, SNAPSHOTS.brokerTwoCrashed, SNAPSHOTS.healthy],
      commands: { [DIAG]: ok(diagnosisLine()), [RESTART]: restarted },
      unwritableStatus: 'resolved',
    });
    expect(run.result.status).toBe('FAILED');
    expect(finalState(run)).toBe('Incident Not Updated');
    expect(restartCommands(run)).toHaveLength(1);
    expect(run.store.status).toBe('remediating');
    expect(run.published).toEqual([]);
    expectLockReleasedLast(run);
  });

  it('retries exhausted at verify (broker never back in the ISR) -> escalate after 1 + 3 attempts', async () => {
    const run = await runScenario({
      workflow: 'broker-recovery',
      probes: [SNAPSHOTS.brokerTwoCrashed, SNAPSHOTS.brokerTwoCrashed, SNAPSHOTS.brokerTwoCatchingUp],
      commands: { [DIAG]: ok(diagnosisLine()), [RESTART]: restarted },
    });
    expect(finalState(run)).toBe('Handed To Operators');
    expect(run.probeSteps).toEqual(['confirm', 'check-safety', 'verify', 'verify', 'verify', 'verify']);
    expect(run.calls.filter((c) => c.stateName === 'Verify Broker Rejoined').map((c) => c.error)).toEqual(
      Array(4).fill('BrokerNotHealthy'),
    );
    expect(run.store.status).toBe('escalated');
    expect(run.store.timeline.find((e) => e.action === 'status-changed')?.detail).toMatch(
      /^remediating -> escalated: BrokerNotHealthy: broker 2 is up but not yet in sync for 2 partition/,
    );
    expect(run.store.heals).toEqual([]);
    expectLockReleasedLast(run);
  });

  it('verify succeeds on a retry once the broker catches up -> resolved', async () => {
    const run = await runScenario({
      workflow: 'broker-recovery',
      probes: [
        SNAPSHOTS.brokerTwoCrashed,
        SNAPSHOTS.brokerTwoCrashed,
        SNAPSHOTS.brokerTwoCatchingUp,
        SNAPSHOTS.healthy,
      ],
      commands: { [DIAG]: ok(diagnosisLine()), [RESTART]: restarted },
    });
    expect(finalState(run)).toBe('Broker Recovered');
    expect(run.probeSteps.filter((s) => s === 'verify')).toHaveLength(2);
  });

  it('restart command failed (listener never came up) -> escalate with the document output', async () => {
    const run = await runScenario({
      workflow: 'broker-recovery',
      probes: [SNAPSHOTS.brokerTwoCrashed],
      commands: {
        [DIAG]: ok(diagnosisLine()),
        [RESTART]: {
          status: 'Failed',
          responseCode: 7,
          stdout:
            '{"result":"failed","stage":"listener","service":"kafka","message":"port 9092 did not accept connections within 600s"}\n',
          stderr: '',
        },
      },
    });
    expect(finalState(run)).toBe('Handed To Operators');
    expect(run.probeSteps).toEqual(['confirm', 'check-safety']);
    expect(run.store.timeline.find((e) => e.action === 'status-changed')?.detail).toMatch(
      /the restart command ended Failed \(exit code 7\): .*did not accept connections/,
    );
    expectLockReleasedLast(run);
  });

  it('SSM cannot reach the host (agent offline) -> escalate as host unreachable', async () => {
    const run = await runScenario({
      workflow: 'broker-recovery',
      probes: [SNAPSHOTS.brokerTwoCrashed],
      managed: false,
    });
    expect(finalState(run)).toBe('Handed To Operators');
    // SendCommand runs in the nested ssm-run execution the diagnosis starts.
    expect(run.calls.find((c) => c.resource === RESOURCES.ssmSendCommand)?.error).toBe(
      'Ssm.InvalidInstanceIdException',
    );
    expect(run.calls.find((c) => c.stateName === 'Diagnose Broker Host')?.error).toBe('States.TaskFailed');
    expect(run.store.timeline.find((e) => e.action === 'status-changed')?.detail).toMatch(
      /the broker host i-0123456789abcdef2 is unreachable through SSM/,
    );
    expectLockReleasedLast(run);
  });

  it('dryRun: diagnoses (read-only), records the planned restart, makes ZERO mutating calls, escalates', async () => {
    const run = await runScenario({
      workflow: 'broker-recovery',
      input: { dryRun: true },
      probes: [SNAPSHOTS.brokerTwoCrashed],
      commands: { [DIAG]: ok(diagnosisLine()), [RESTART]: restarted },
    });
    expect(run.result.status).toBe('SUCCEEDED');
    expect(restartCommands(run)).toEqual([]);
    expect(run.commands.map((c) => c.documentName)).toEqual([DIAG]);
    const planned = run.store.timeline.filter((e) => e.action === 'planned-action');
    expect(planned).toHaveLength(1);
    expect(planned[0]).toMatchObject({
      result: 'dry-run',
      detail: `would run ${RESTART} on ${INSTANCE} (ServiceName kafka, ListenerPort 9092, ExpectedBrokerId 2) to restart broker 2, then verify it rejoins the ISR`,
    });
    expect(run.store.timeline[0]?.detail).toMatch(/dry run/);
    expect(run.store.status).toBe('escalated');
    expect(run.store.heals).toEqual([]);
    // A dry run holds no lock; releasing is a recorded no-op.
    expect(workflowStepsCalled(run).at(-1)).toBe('release-lock');
    expect(run.store.timeline.at(-1)).toMatchObject({ action: 'lock-released', result: 'false' });
  });

  it('the escalation notification cannot be delivered -> lock still released, execution fails (operators alarmed)', async () => {
    const run = await runScenario({
      workflow: 'broker-recovery',
      probes: [SNAPSHOTS.brokerTwoCrashed, SNAPSHOTS.brokerTwoNeededNow],
      snsDown: true,
    });
    expect(run.result).toMatchObject({ status: 'FAILED', error: 'EscalationNotDelivered' });
    expectLockReleasedLast(run);
  });

  it('a cluster not configured for recovery -> escalated from Record Start, lock released', async () => {
    const run = await runScenario({
      workflow: 'broker-recovery',
      input: { cluster: 'payments' },
      probes: [SNAPSHOTS.healthy],
    });
    expect(finalState(run)).toBe('Handed To Operators');
    expect(run.store.timeline.find((e) => e.action === 'status-changed')?.detail).toMatch(
      /RecoveryTargetError: cluster payments is not configured/,
    );
    expect(run.probeSteps).toEqual([]);
  });

  it('malformed input (no incident id) fails at once with no calls', async () => {
    const run = await runScenario({
      workflow: 'broker-recovery',
      input: { incidentId: 42 },
      probes: [SNAPSHOTS.healthy],
    });
    expect(run.result).toMatchObject({ status: 'FAILED', error: 'MalformedEventError' });
    expect(run.calls).toEqual([]);
  });
});

// The classifier decided await-approval (offline partitions: data-loss risk; a cooldown; the
// approval mode): the run asks a person after the confirmation and before anything changes.
describe('broker-recovery asks a person when the decision was await-approval', () => {
  const awaiting = { action: 'await-approval', severity: 'SEV-1' };
  const crashed = {
    workflow: 'broker-recovery' as const,
    probes: [SNAPSHOTS.brokerTwoCrashed, SNAPSHOTS.brokerTwoCrashed, SNAPSHOTS.healthy],
    commands: { [DIAG]: ok(diagnosisLine()), [RESTART]: restarted },
    incidentStatus: 'awaiting-approval' as const,
  };
  const actions = (run: ScenarioRun) => run.store.timeline.map((e) => e.action);

  it('granted: asks once after the confirmation, then checks safety, diagnoses, restarts and resolves', async () => {
    const run = await runScenario({ ...crashed, input: awaiting });
    expect(finalState(run)).toBe('Broker Recovered');
    expect(run.approvals).toHaveLength(1);
    expect(run.approvals[0]).toMatchObject({
      incidentId: 'inc-orders-broker-2',
      workflow: 'broker-recovery',
      cluster: 'orders',
      timeoutSeconds: 900,
      summary: `Restart the Kafka service of broker 2 of orders (SEV-1 broker-failure) on ${INSTANCE}`,
    });
    expect(run.approvals[0]?.actions).toHaveLength(3);
    expect(run.approvals[0]?.actions[1]).toContain('kafka-restart-broker');
    expect(run.approvals[0]?.evidence?.[0]).toMatch(/^broker 2 is down/);
    // Confirm before asking; safety check and diagnosis after the answer, on a fresh view.
    const order = [
      'Confirm Broker Is Down',
      'Request Approval',
      'Check Restart Is Safe',
      'Diagnose Broker Host',
      'Restart Kafka Service',
    ].map((s) => run.states.indexOf(s));
    expect(
      order.every((i, k) => i >= 0 && (k === 0 || i > (order[k - 1] ?? -1))),
      order.join(','),
    ).toBe(true);
    expect(actions(run)).toEqual([
      'recovery-started',
      'approval-granted',
      'host-diagnosed',
      'broker-restarted',
      'status-changed',
      'lock-released',
    ]);
    expect(run.store.timeline[0]?.detail).toMatch(/asked for approval/);
    expect(run.store.timeline[1]).toMatchObject({ result: 'approved', detail: 'approved by test:approver' });
    expect(restartCommands(run)).toHaveLength(1);
    expect(run.store.status).toBe('resolved');
    expectLockReleasedLast(run);
  });

  it('rejected: nothing runs on the host, the rejection is on the timeline, people own it', async () => {
    const run = await runScenario({
      ...crashed,
      input: awaiting,
      decide: () => ({ decision: 'rejected', by: 'ops@example.com', reason: 'replacing the host instead' }),
    });
    expect(run.result.status).toBe('SUCCEEDED');
    expect(finalState(run)).toBe('Handed To Operators');
    expect(run.commands).toEqual([]);
    expect(run.probeSteps).toEqual(['confirm']);
    expect(run.store.timeline.find((e) => e.action === 'approval-rejected')).toMatchObject({
      result: 'rejected',
      detail: expect.stringContaining('replacing the host instead'),
    });
    expect(run.store.status).toBe('escalated');
    expect(run.store.heals).toEqual([]);
    expect(run.published).toHaveLength(1);
    expectLockReleasedLast(run);
  });

  it('timed out: nobody answered, nothing runs, escalated', async () => {
    const run = await runScenario({ ...crashed, input: awaiting, decide: () => 'never' });
    expect(finalState(run)).toBe('Handed To Operators');
    expect(run.calls.find((c) => c.stateName === 'Request Approval')?.error).toBe('States.Timeout');
    expect(run.commands).toEqual([]);
    expect(run.store.timeline.find((e) => e.action === 'approval-timed-out')).toMatchObject({
      result: 'timed-out',
      detail: 'no decision within 900 s',
    });
    expect(run.store.status).toBe('escalated');
    expectLockReleasedLast(run);
  });

  it('dryRun: records the approval it would ask for, asks nobody, makes ZERO mutating calls', async () => {
    const run = await runScenario({ ...crashed, input: { ...awaiting, dryRun: true } });
    expect(run.approvals).toEqual([]);
    expect(run.calls.filter((c) => c.stateName === 'Request Approval')).toEqual([]);
    expect(run.store.timeline.find((e) => e.action === 'approval-planned')).toMatchObject({
      result: 'dry-run',
      detail: `would ask for approval: Restart the Kafka service of broker 2 of orders (SEV-1 broker-failure) on ${INSTANCE}`,
    });
    expect(restartCommands(run)).toEqual([]);
    expect(run.commands.map((c) => c.documentName)).toEqual([DIAG]);
    expect(run.store.status).toBe('escalated');
  });

  it('a nested run (cascade-recovery asked for the whole cascade) is not asked again', async () => {
    const run = await runScenario({
      ...crashed,
      input: { ...awaiting, parentWorkflow: 'cascade-recovery' },
      holdLock: false,
    });
    expect(run.approvals).toEqual([]);
    expect(run.states).not.toContain('Request Approval');
    expect(restartCommands(run)).toHaveLength(1);
    expect(run.store.timeline.map((e) => e.action)).toContain('broker-restarted');
  });

  it('a remediate decision (or a manual start without one) is not asked', async () => {
    for (const input of [{ action: 'remediate' }, {}]) {
      const run = await runScenario({ ...crashed, input, incidentStatus: 'remediating' });
      expect(run.approvals).toEqual([]);
      expect(finalState(run)).toBe('Broker Recovered');
    }
  });
});

// A nested run's broker can be back before its turn: a superseded top-level run's restart command
// was already on the host (stopping an execution does not cancel a sent command), or the broker
// restarted by itself. The cluster is still degraded by the rest of the cascade, so the top-level
// "inconclusive" escalation would end the whole cascade; a nested run verifies the broker instead.
describe.each(['broker-recovery', 'msk-broker-recovery'] as const)(
  '%s nested under cascade-recovery, broker already back at confirm',
  (workflow) => {
    const nested = { workflow, input: { parentWorkflow: 'cascade-recovery' }, holdLock: false };

    it('verifies it rejoined and returns recovered: nothing run on the host, no reboot, nothing escalated', async () => {
      const run = await runScenario({
        ...nested,
        probes: [SNAPSHOTS.brokerTwoNeededNow, SNAPSHOTS.brokerTwoNeededNow],
      });
      expect(run.result.status).toBe('SUCCEEDED');
      expect(finalState(run)).toBe('Broker Recovered');
      expect(run.states).toContain('Record Broker Already Back');
      expect(run.probeSteps).toEqual(['confirm', 'verify']);
      expect(run.commands).toEqual([]);
      expect(run.reboots).toEqual([]);
      expect(run.published).toEqual([]);
      expect(run.store.timeline.find((e) => e.action === 'broker-already-back')).toMatchObject({
        result: 'verifying',
        detail: expect.stringMatching(/^broker 2 answers but the cluster is degraded/),
      });
      expect(run.store.status).not.toBe('escalated');
    });

    it('still not in the ISR after the verify retries: handed to the parent as not recovered, nothing run on the host', async () => {
      const run = await runScenario({ ...nested, probes: [SNAPSHOTS.brokerTwoCatchingUp] });
      expect(finalState(run)).toBe('Handed To Operators');
      expect(run.probeSteps[0]).toBe('confirm');
      expect(run.probeSteps.slice(1).every((s) => s === 'verify')).toBe(true);
      expect(run.commands).toEqual([]);
      expect(run.reboots).toEqual([]);
    });

    it('a top-level run still escalates the same observation (not a single-broker failure it can fix)', async () => {
      const run = await runScenario({ workflow, probes: [SNAPSHOTS.brokerTwoNeededNow] });
      expect(finalState(run)).toBe('Handed To Operators');
      expect(run.states).not.toContain('Record Broker Already Back');
      expect(run.store.status).toBe('escalated');
    });
  },
);
