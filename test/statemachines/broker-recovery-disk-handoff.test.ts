// broker-recovery's full-disk path: the diagnosis finds a data disk at the critical threshold, the
// broker is handed to disk-pressure as a nested execution (the real ASL, same bindings), and is
// restarted only once the disk is below the threshold.
import { describe, expect, it } from 'vitest';
import {
  CLOUDWATCH_GET_METRIC_DATA,
  KAFKA_UPDATE_BROKER_STORAGE,
  mskStorageBindings,
  parseDefinition,
  runWorkflow,
  type Json,
  type TaskBinding,
} from '#local/stepfunctions/index.js';
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
} from './recovery-fixtures.js';

const storage = mskStorageBindings({ clusters: {} }).registry;
const mskOnly: Record<string, TaskBinding> = {
  [KAFKA_UPDATE_BROKER_STORAGE]: storage[KAFKA_UPDATE_BROKER_STORAGE] as TaskBinding,
  [CLOUDWATCH_GET_METRIC_DATA]: storage[CLOUDWATCH_GET_METRIC_DATA] as TaskBinding,
};

const FREE = 'kafka-heal-test-kafka-free-disk';
const DIAG = SUBSTITUTIONS.DiagnoseDocumentName;
const RESTART = SUBSTITUTIONS.RestartDocumentName;
const restarted = ok(
  '{"result":"restarted","pid":4242,"previousPid":0,"service":"kafka","listenerPort":9092,"waitedSeconds":7}\n',
);

function scenario(opts: { freedPoints: number; dryRun?: boolean }) {
  let used = 97;
  return runScenario({
    workflow: 'broker-recovery',
    input: { dryRun: opts.dryRun ?? false },
    probes: [SNAPSHOTS.brokerTwoCrashed, SNAPSHOTS.brokerTwoCrashed, SNAPSHOTS.healthy],
    commands: {
      [DIAG]: async () => ok(diagnosisLine({ diskUsedPercent: used })),
      [FREE]: async () => {
        used -= opts.freedPoints;
        return ok(
          '{"result":"freed","dryRun":false,"filesDeleted":2,"bytesFreed":4096,"candidates":2,"candidateBytes":4096,"failed":0,"files":[],"filesTruncated":false}\n',
        );
      },
      [RESTART]: restarted,
    },
    children: {
      [SUBSTITUTIONS.DiskPressureStateMachineArn]: (input: Json, bindings) =>
        runWorkflow({
          definition: parseDefinition(aslText('disk-pressure'), {
            WorkflowStepsFunctionArn: SUBSTITUTIONS.WorkflowStepsFunctionArn,
            EscalationStateMachineArn: SUBSTITUTIONS.EscalationStateMachineArn,
            DiagnoseDocumentName: DIAG,
            FreeDiskDocumentName: FREE,
            SsmRunStateMachineArn: SUBSTITUTIONS.SsmRunStateMachineArn,
          }),
          input,
          // EC2 cluster: the MSK storage integrations are bound (every Resource must be) but never called.
          bindings: { ...mskOnly, ...bindings },
          timeScale: 0.0005,
        }),
    },
  });
}

describe('broker-recovery hands a full data disk to disk-pressure (nested)', () => {
  it('disk freed below the threshold -> the broker is restarted, verified and the incident resolved once', async () => {
    const run = await scenario({ freedPoints: 30 });
    expect(run.result.status).toBe('SUCCEEDED');
    expect(finalState(run)).toBe('Broker Recovered');
    expect(run.commands.map((c) => c.documentName)).toEqual([DIAG, DIAG, FREE, DIAG, RESTART]);
    expect(run.commands.every((c) => c.instanceId === INSTANCE)).toBe(true);
    const actions = run.store.timeline.map((e) => e.action);
    expect(actions).toEqual([
      'recovery-started',
      'host-diagnosed',
      'recovery-started',
      'disk-diagnosed',
      'disk-freed',
      'disk-rechecked',
      'nested-recovered',
      'lock-kept',
      'broker-restarted',
      'status-changed',
      'lock-released',
    ]);
    expect(run.store.status).toBe('resolved');
    expect(run.store.heals).toHaveLength(1);
    expect(workflowStepsCalled(run).filter((s) => s === 'release-lock')).toHaveLength(2);
    expect(run.store.lock).toBeUndefined();
  });

  it('the cleanup is not enough -> no restart, escalated once (the nested run does not page)', async () => {
    const run = await scenario({ freedPoints: 5 });
    expect(finalState(run)).toBe('Handed To Operators');
    expect(run.commands.map((c) => c.documentName)).not.toContain(RESTART);
    expect(run.store.timeline.find((e) => e.action === 'nested-stopped')?.detail).toMatch(/still at or above 85%/);
    expect(run.store.timeline.find((e) => e.action === 'status-changed')?.detail).toMatch(
      /disk pressure on the broker host, not restarted: a Kafka data disk is 97% full/,
    );
    expect(run.published).toHaveLength(1);
    expect(run.store.lock).toBeUndefined();
  });

  it('dryRun: the nested cleanup and the restart are both only planned; ZERO mutating commands', async () => {
    const run = await scenario({ freedPoints: 30, dryRun: true });
    expect(run.result.status).toBe('SUCCEEDED');
    expect(run.commands.map((c) => c.documentName)).toEqual([DIAG, DIAG]);
    expect(run.store.timeline.filter((e) => e.action === 'planned-action').map((e) => e.detail)).toEqual([
      expect.stringMatching(new RegExp(`^would run ${FREE} on ${INSTANCE} `)),
      expect.stringMatching(new RegExp(`^would run ${RESTART} on ${INSTANCE} `)),
    ]);
    expect(run.store.status).toBe('escalated');
  });
});
