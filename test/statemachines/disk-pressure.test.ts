import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { HealRecord } from '#domain/types.js';
import { WorkflowStepSchema, makeWorkflowStepsHandler } from '#functions/workflow-steps/handler.js';
import { type ClusterTargetConfig } from '#contracts/workflow-targets.js';
import { ESCALATION_NOTIFY_ASL, escalationNotifySubstitutions } from '#infra/constructs/workflows.js';
import {
  CLOUDWATCH_GET_METRIC_DATA,
  KAFKA_UPDATE_BROKER_STORAGE,
  RESOURCES,
  lambdaInvokeBinding,
  mskStorageBindings,
  parseDefinition,
  recordCalls,
  runWorkflow,
  ssmBindings,
  startExecutionSyncBinding,
  taskResources,
  walkStates,
  type AslDefinition,
  type Json,
  type LocalMskCluster,
} from '#local/stepfunctions/index.js';
import { expectHouseStyle, expectLockReleasedOnEveryPath, expectValidAsl } from '../support/asl.js';
import {
  CLUSTER_STEPS,
  MSK_ARN,
  MemoryStore,
  SUBSTITUTIONS,
  aslText,
  diagnosisLine,
  ok,
  ssmRunChild,
} from './recovery-fixtures.js';
import { storePieces } from '../support/store-pieces.js';

const TEXT = aslText('disk-pressure');
const DISK_SUBSTITUTIONS = {
  WorkflowStepsFunctionArn: SUBSTITUTIONS.WorkflowStepsFunctionArn,
  EscalationStateMachineArn: SUBSTITUTIONS.EscalationStateMachineArn,
  DiagnoseDocumentName: SUBSTITUTIONS.DiagnoseDocumentName,
  FreeDiskDocumentName: 'kafka-heal-test-kafka-free-disk',
  SsmRunStateMachineArn: SUBSTITUTIONS.SsmRunStateMachineArn,
};
const FREE = DISK_SUBSTITUTIONS.FreeDiskDocumentName;
const DIAG = DISK_SUBSTITUTIONS.DiagnoseDocumentName;
const instanceOf = (id: number) => `i-0123456789abcdef${id}`;

/** The in-memory store, plus the heals of earlier runs the MSK 6-hour rule reads. */
class DiskStore extends MemoryStore {
  earlier: HealRecord[] = [];
  async recentHeals(cluster: string, since: Date): Promise<HealRecord[]> {
    return [...this.earlier, ...this.heals].filter(
      (h) => h.cluster === cluster && Date.parse(h.finishedAt) >= since.getTime(),
    );
  }
}

interface DiskScenario {
  platform?: 'ec2' | 'msk';
  brokerIds?: number[];
  dryRun?: boolean;
  /** EC2: data disk usage per broker, and how many points a cleanup frees. */
  usage?: Record<number, number>;
  freedPoints?: number;
  cleanupFails?: boolean;
  /** The MSK model; its diskUsedPercent (default 92) is what CloudWatch answers when re-measured. */
  msk?: Partial<LocalMskCluster>;
  /** What the alarm said (the execution input's signal value). */
  signalValue?: number;
  earlierHeals?: HealRecord[];
}

async function runDisk(s: DiskScenario) {
  const platform = s.platform ?? 'ec2';
  const input = {
    incidentId: 'inc-orders-broker-2',
    cluster: 'orders',
    brokerIds: s.brokerIds ?? [2],
    dryRun: s.dryRun ?? false,
    signal: { value: s.signalValue ?? 92 },
  };
  const store = new DiskStore('inc-orders-broker-2', 'orders', !input.dryRun);
  store.earlier = s.earlierHeals ?? [];
  const target: ClusterTargetConfig = {
    cluster: 'orders',
    platform,
    clusterStepsFunction: CLUSTER_STEPS,
    brokers:
      platform === 'ec2'
        ? [1, 2, 3].map((id) => ({ id, instanceId: instanceOf(id), appLogDir: `/srv/kafka-${id}/logs` }))
        : [],
    ...(platform === 'msk' ? { mskClusterArn: MSK_ARN } : {}),
  };
  const steps = makeWorkflowStepsHandler({
    ...storePieces(store),
    targets: () => [target],
    now: () => new Date(),
    diskCriticalPercent: 90,
  });
  const usage = { ...(s.usage ?? { 2: 92 }) };
  const ssm = ssmBindings({
    invisibleForPolls: 1,
    run: async (cmd) => {
      const broker = Number(cmd.instanceId.slice(-1));
      if (cmd.documentName === DIAG) return ok(diagnosisLine({ diskUsedPercent: usage[broker] ?? 40 }));
      if (cmd.documentName === FREE && s.cleanupFails)
        return {
          status: 'Failed',
          responseCode: 3,
          stdout: '{"result":"refused","message":"refusing: AppLogDir lies inside a Kafka data directory"}\n',
          stderr: '',
        };
      if (cmd.documentName === FREE) {
        usage[broker] = (usage[broker] ?? 40) - (s.freedPoints ?? 20);
        return ok(
          '{"result":"freed","dryRun":false,"filesDeleted":3,"bytesFreed":1048576,"candidates":3,"candidateBytes":1048576,"failed":0,"files":[],"filesTruncated":false}\n',
        );
      }
      throw new Error(`unexpected document ${cmd.documentName}`);
    },
  });
  const msk: LocalMskCluster = {
    state: 'ACTIVE',
    currentVersion: 'K3AEGXETSR30VB',
    volumeGb: 1000,
    diskUsedPercent: 92,
    ...s.msk,
  };
  const storage = mskStorageBindings({ clusters: { [MSK_ARN]: msk } });
  const published: Json[] = [];
  const escalation = parseDefinition(
    readFileSync(ESCALATION_NOTIFY_ASL, 'utf8'),
    escalationNotifySubstitutions({
      criticalTopicArn: 'arn:aws:sns:eu-west-1:123456789012:critical',
      warningTopicArn: 'arn:aws:sns:eu-west-1:123456789012:warning',
    }),
  );
  const recorded = recordCalls({
    [RESOURCES.lambdaInvoke]: lambdaInvokeBinding({
      [SUBSTITUTIONS.WorkflowStepsFunctionArn]: (payload: Json) => steps(WorkflowStepSchema.parse(payload)),
    }),
    ...ssm.registry,
    ...storage.registry,
    [RESOURCES.startExecutionSync2]: startExecutionSyncBinding({
      // Every SSM command runs in the real ssm-run workflow, nested, on the same recorded bindings.
      [SUBSTITUTIONS.SsmRunStateMachineArn]: ssmRunChild(() => recorded.registry),
      [SUBSTITUTIONS.EscalationStateMachineArn]: (childInput) =>
        runWorkflow({
          definition: escalation,
          input: childInput,
          timeScale: 0,
          bindings: { [RESOURCES.snsPublish]: (msg) => (published.push(msg), { MessageId: 'm' }) },
        }),
    }),
  });
  const states: string[] = [];
  const result = await runWorkflow({
    definition: parseDefinition(TEXT, DISK_SUBSTITUTIONS),
    input: input as Json,
    bindings: recorded.registry,
    timeScale: 0.0005,
    onEvent: (e) => {
      if (e.type === 'StateEntered' && e.stateName) states.push(e.stateName);
    },
  });
  await ssm.settled();
  console.log(
    'DBG',
    JSON.stringify({
      states,
      status: store.timeline
        .filter((e) => e.action === 'status-changed' || e.action === 'nested-stopped')
        .map((e) => e.detail),
      actions: store.timeline.map((e) => e.action),
    }),
  );
  const timeline = (action: string) => store.timeline.filter((e) => e.action === action);
  return {
    result,
    store,
    states,
    calls: recorded.calls,
    commands: ssm.commands,
    updates: storage.updates,
    msk,
    published,
    usage,
    timeline,
    final: states.at(-1),
  };
}

const statusDetail = (run: Awaited<ReturnType<typeof runDisk>>) => run.timeline('status-changed')[0]?.detail;

describe('statemachines/disk-pressure.asl.json: definition', () => {
  it('passes asl-validator as written and rendered, leaves no ${, follows the house style, releases the lock on every path', () => {
    expectValidAsl(TEXT, DISK_SUBSTITUTIONS);
    // The house rules walk the Parallel and its Map body (the per-broker loop) too.
    expectHouseStyle(TEXT);
    expect(walkStates(JSON.parse(TEXT) as AslDefinition).map((v) => v.parents.join(' > '))).toContain(
      'Relieve Disk Pressure > Free Disk On Each Broker',
    );
    expectLockReleasedOnEveryPath(TEXT);
    expect(taskResources(parseDefinition(TEXT, DISK_SUBSTITUTIONS))).toEqual([
      CLOUDWATCH_GET_METRIC_DATA,
      'arn:aws:states:::aws-sdk:kafka:describeCluster',
      KAFKA_UPDATE_BROKER_STORAGE,
      // SSM commands run in the nested ssm-run workflow (its own test checks its integrations).
      'arn:aws:states:::lambda:invoke',
      'arn:aws:states:::states:startExecution.sync:2',
    ]);
  });

  it('the cleanup document is asked to delete (DryRun false) only on the real path, and never with a data directory', () => {
    const states = walkStates(JSON.parse(TEXT) as AslDefinition);
    const free = states.find((v) => v.name === 'Free Broker Disk')?.state as {
      Parameters?: { Input?: { documentName?: string; parameters?: Record<string, unknown> } };
    };
    expect(free.Parameters?.Input?.documentName).toBe('${FreeDiskDocumentName}');
    expect(free.Parameters?.Input?.parameters).toEqual({
      'AppLogDir.$': 'States.Array($.broker.appLogDir)',
      'HeapDumpDirs.$': 'States.Array($.broker.heapDumpDirs)',
      'ServerProperties.$': 'States.Array($.broker.serverProperties)',
      DryRun: ['false'],
    });
    // The one state that sends it: the dry run only records what it would run.
    expect(
      states.filter(
        (v) => v.state.Type === 'Task' && JSON.stringify(v.state).includes('"documentName":"${FreeDiskDocumentName}"'),
      ),
    ).toHaveLength(1);
  });
});

describe('disk-pressure runs on EC2 (kafka-diagnose-host + kafka-free-disk)', () => {
  it('happy path: broker 2 at 92% -> rotated logs and heap dumps freed -> 72% < 85% -> resolved', async () => {
    const run = await runDisk({});
    expect(run.result.status).toBe('SUCCEEDED');
    expect(run.final).toBe('Disk Pressure Relieved');
    expect(run.commands.map((c) => [c.documentName, c.instanceId])).toEqual([
      [DIAG, instanceOf(2)],
      [FREE, instanceOf(2)],
      [DIAG, instanceOf(2)],
    ]);
    // Each command ran to its end in a nested ssm-run execution: diagnose, clean, diagnose again to verify.
    expect(
      run.calls
        .filter((c) => c.resource === RESOURCES.startExecutionSync2)
        .map((c) => [c.stateName, (c.input as { Input: { documentName?: string } }).Input.documentName]),
    ).toEqual([
      ['Diagnose Broker Disk', DIAG],
      ['Free Broker Disk', FREE],
      ['Diagnose Broker Disk', DIAG],
    ]);
    expect(run.states).toEqual([
      'Check Input',
      'Mark Top Level Run',
      'Record Start',
      'Relieve Disk Pressure',
      'Choose Platform',
      'Free Disk On Each Broker',
      'Diagnose Broker Disk',
      'Read Disk Usage',
      'Is Cleanup Needed',
      'Free Broker Disk',
      'Record Disk Freed',
      'Diagnose Broker Disk',
      'Read Disk Usage',
      'Is Cleanup Needed',
      'Broker Disk Below Threshold',
      'Conclude Host Cleanup',
      'Resolve Incident',
      'Release Cluster Lock',
      'Choose Final State',
      'Disk Pressure Relieved',
    ]);
    expect(run.commands[1]?.parameters).toEqual({
      AppLogDir: ['/srv/kafka-2/logs'],
      HeapDumpDirs: ['/srv/kafka-2/logs'],
      ServerProperties: ['/etc/kafka/server.properties'],
      DryRun: ['false'],
    });
    expect(run.store.timeline.map((e) => e.action)).toEqual([
      'recovery-started',
      'disk-diagnosed',
      'disk-freed',
      'disk-rechecked',
      'status-changed',
      'lock-released',
    ]);
    expect(run.timeline('disk-rechecked')[0]?.detail).toBe('broker 2 after cleanup: data disk 72% < 85%');
    expect(run.store.status).toBe('resolved');
    expect(run.store.heals).toHaveLength(1);
    expect(run.store.lock).toBeUndefined();
  });

  it('a broker already below the threshold is left alone (threshold edge: 84 ok, 85 cleaned)', async () => {
    const run = await runDisk({ brokerIds: [1, 2], usage: { 1: 84, 2: 85 } });
    expect(run.final).toBe('Disk Pressure Relieved');
    expect(run.commands.filter((c) => c.documentName === FREE).map((c) => c.instanceId)).toEqual([instanceOf(2)]);
  });

  it('verification failure: still at or above the threshold after the cleanup -> escalated (retention is for people), the next broker not touched', async () => {
    const run = await runDisk({ brokerIds: [2, 3], usage: { 2: 97, 3: 95 }, freedPoints: 5 });
    expect(run.final).toBe('Handed To Operators');
    expect(run.commands.filter((c) => c.documentName === FREE).map((c) => c.instanceId)).toEqual([instanceOf(2)]);
    expect(statusDetail(run)).toBe(
      'remediating -> escalated: rotated logs and heap dumps were removed but a data disk is still at or above 85%: shortening topic retention deletes data and needs a person (or add disk)',
    );
    expect(run.published).toHaveLength(1);
    expect(run.store.lock).toBeUndefined();
  });

  it('the cleanup document fails (refused: exit 3) -> escalated, nothing rechecked, lock released', async () => {
    const run = await runDisk({ usage: { 2: 95 }, cleanupFails: true });
    expect(run.final).toBe('Handed To Operators');
    expect(run.commands.map((c) => c.documentName)).toEqual([DIAG, FREE]);
    expect(statusDetail(run)).toBe(
      'remediating -> escalated: a broker host could not be diagnosed or cleaned (see the timeline); the brokers after it were not touched',
    );
    expect(run.states.slice(-7)).toEqual([
      'Broker Disk Not Freed',
      'Escalate Incident',
      'Is Nested Escalation',
      'Notify Operators',
      'Release Cluster Lock',
      'Choose Final State',
      'Handed To Operators',
    ]);
    expect(run.store.lock).toBeUndefined();
  });

  it('dryRun: diagnoses (read-only), records the planned cleanup, ZERO mutating calls', async () => {
    const run = await runDisk({ dryRun: true, usage: { 2: 95 } });
    expect(run.result.status).toBe('SUCCEEDED');
    expect(run.commands.map((c) => c.documentName)).toEqual([DIAG]);
    expect(run.timeline('planned-action').map((e) => e.detail)).toEqual([
      `would run ${FREE} on ${instanceOf(2)} (AppLogDir /srv/kafka-2/logs, HeapDumpDirs /srv/kafka-2/logs, DryRun false) to delete rotated application logs and old heap dumps of broker 2, never Kafka data`,
    ]);
    expect(statusDetail(run)).toBe(
      'remediating -> escalated: dry run: the disk cleanup was planned and recorded, not performed',
    );
    expect(run.store.timeline.map((e) => e.action)).toEqual([
      'recovery-started',
      'disk-diagnosed',
      'planned-action',
      'status-changed',
      'lock-released',
    ]);
    expect(run.store.timeline.at(-1)).toMatchObject({ action: 'lock-released', result: 'false' });
  });
});

describe('disk-pressure runs on MSK (UpdateBrokerStorage, one per 6 h)', () => {
  it('happy path: 1000 -> 1250 GiB, waits for UPDATING -> ACTIVE, projected 73.6% < 85% -> resolved', async () => {
    const run = await runDisk({ platform: 'msk' });
    expect(run.final, JSON.stringify(run.result)).toBe('Disk Pressure Relieved');
    expect(run.updates.map((u) => u.volumeGb)).toEqual([1250]);
    expect(run.msk).toMatchObject({ state: 'ACTIVE', volumeGb: 1250 });
    expect(run.commands).toEqual([]);
    expect(run.timeline('storage-update-planned')[0]?.detail).toBe(
      'grow broker storage from 1000 to 1250 GiB (+25%, max 16384); projected usage 73.6% (threshold 85%)',
    );
    expect(statusDetail(run)).toMatch(/broker storage grew to 1250 GiB; projected data disk usage 73.6% \(below 85%\)/);
    expect(run.store.timeline.map((e) => e.action)).toEqual([
      'recovery-started',
      'storage-update-planned',
      'storage-update-started',
      'status-changed',
      'lock-released',
    ]);
    expect(run.states.slice(4, 15)).toEqual([
      'Choose Platform',
      'Describe Msk Cluster',
      'Measure Disk Usage',
      'Plan Storage Update',
      'Is Storage Update Needed',
      'Update Broker Storage',
      'Record Storage Update',
      'Wait For Storage Update',
      'Check Storage Update',
      'Is Storage Update Done',
      'Describe Storage Outcome',
    ]);
    expect(run.store.heals).toEqual([expect.objectContaining({ cluster: 'orders' })]);
  });

  it('a storage update within the last 6 h (an earlier disk-pressure heal) -> skipped with the reason recorded, escalated', async () => {
    const earlier = new Date(Date.now() - 5 * 3_600_000).toISOString();
    const run = await runDisk({
      platform: 'msk',
      earlierHeals: [{ cluster: 'orders', type: 'disk-pressure', brokerIds: [], finishedAt: earlier }],
    });
    expect(run.final).toBe('Handed To Operators');
    expect(run.updates).toEqual([]);
    expect(run.timeline('storage-update-skipped')[0]?.detail).toMatch(/less than 6 h ago: MSK allows one per 6 h/);
    expect(statusDetail(run)).toMatch(/broker storage not updated: a storage update finished/);
  });

  it('MSK itself refuses (updated outside the healer within 6 h) -> the refusal recorded, escalated', async () => {
    const run = await runDisk({ platform: 'msk', msk: { lastStorageUpdateAt: Date.now() - 3_600_000 } });
    expect(run.final).toBe('Handed To Operators');
    expect(run.calls.find((c) => c.stateName === 'Update Broker Storage')?.error).toBe('Kafka.BadRequestException');
    expect(run.timeline('storage-update-skipped')[0]?.detail).toMatch(
      /MSK refused UpdateBrokerStorage: .*less than 6 hours ago/,
    );
    // The escalation reason is MSK's error as it was caught.
    expect(statusDetail(run)).toMatch(/^remediating -> escalated: Kafka\.BadRequestException: .*less than 6 hours ago/);
  });

  it('cluster not ACTIVE -> skipped, nothing updated', async () => {
    const run = await runDisk({ platform: 'msk', msk: { state: 'MAINTENANCE' } });
    expect(run.updates).toEqual([]);
    expect(statusDetail(run)).toMatch(/the cluster is MAINTENANCE, not ACTIVE/);
  });

  it('verification failure: even after growing, the projected usage stays above the threshold -> escalated', async () => {
    const run = await runDisk({ platform: 'msk', msk: { volumeGb: 16_000, diskUsedPercent: 99 } });
    expect(run.updates.map((u) => u.volumeGb)).toEqual([16_384]);
    expect(run.final).toBe('Handed To Operators');
    expect(statusDetail(run)).toMatch(
      /broker storage grew to 16384 GiB but the projected usage \(96.7%\) is not known to be below 85%/,
    );
  });

  it('re-measures before growing anything: an alarm at 95% while the brokers are at 60% is a false alarm, nothing updated, no heal', async () => {
    const run = await runDisk({ platform: 'msk', signalValue: 95, msk: { diskUsedPercent: 60 } });
    expect(run.final).toBe('False Alarm Resolved');
    expect(run.updates).toEqual([]);
    expect(run.calls.filter((c) => c.resource === KAFKA_UPDATE_BROKER_STORAGE)).toEqual([]);
    expect(run.timeline('storage-update-planned')).toEqual([]);
    expect(statusDetail(run)).toBe(
      'remediating -> resolved: false alarm: re-measured: the highest broker data disk usage of MSK cluster orders is 60% (below 85%); broker storage not grown',
    );
    expect(run.store.heals, 'no heal: the 6-hour rule and the flap breaker do not count it').toEqual([]);
    // The query: the cluster's brokers' maximum over the last 10 minutes, newest first.
    const query = run.calls.find((c) => c.resource === CLOUDWATCH_GET_METRIC_DATA)?.input as {
      StartTime: string;
      EndTime: string;
      ScanBy: string;
      MetricDataQueries: { Expression: string; Period: number }[];
    };
    expect(query.MetricDataQueries).toEqual([
      expect.objectContaining({
        Expression: `SELECT MAX(KafkaDataLogsDiskUsed) FROM SCHEMA("AWS/Kafka", "Broker ID", "Cluster Name") WHERE "Cluster Name" = 'orders'`,
        Period: 60,
      }),
    ]);
    expect(Date.parse(query.EndTime) - Date.parse(query.StartTime)).toBe(600_000);
    expect(Math.abs(Date.now() - Date.parse(query.EndTime))).toBeLessThan(30_000);
  });

  it('the threshold edge when re-measured: 84.9% is below (false alarm), 85% grows the storage with the measured usage', async () => {
    const below = await runDisk({ platform: 'msk', msk: { diskUsedPercent: 84.9 } });
    expect(below.final).toBe('False Alarm Resolved');
    expect(below.updates).toEqual([]);
    const at = await runDisk({ platform: 'msk', signalValue: 99, msk: { diskUsedPercent: 85 } });
    expect(at.updates.map((u) => u.volumeGb)).toEqual([1250]);
    // The plan rests on the measurement, not on the alarm's 99%.
    expect(at.timeline('storage-update-planned')[0]?.detail).toMatch(/projected usage 68% \(threshold 85%\)/);
    expect(at.final).toBe('Disk Pressure Relieved');
  });

  it('no datapoint in the last 10 minutes: usage unknown, nothing grown, escalated', async () => {
    const run = await runDisk({ platform: 'msk', msk: { diskUsedPercent: undefined } });
    expect(run.final).toBe('Handed To Operators');
    expect(run.updates).toEqual([]);
    expect(statusDetail(run)).toMatch(
      /broker storage not updated: no KafkaDataLogsDiskUsed datapoint for MSK cluster orders since .*could not be confirmed/,
    );
  });

  it('dryRun: ZERO UpdateBrokerStorage calls, the planned update on the timeline', async () => {
    const run = await runDisk({ platform: 'msk', dryRun: true });
    expect(run.updates).toEqual([]);
    expect(run.calls.filter((c) => c.resource === KAFKA_UPDATE_BROKER_STORAGE)).toEqual([]);
    expect(run.timeline('planned-action')[0]?.detail).toMatch(
      /^would call kafka:UpdateBrokerStorage on .* \(all brokers to 1250 GiB\)/,
    );
  });
});
