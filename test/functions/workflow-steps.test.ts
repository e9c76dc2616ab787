import { describe, expect, it } from 'vitest';
import { ClusterStepSchema, makeClusterStepsHandler } from '#functions/cluster-steps/handler.js';
import { IncidentNotFoundError } from '#shared/errors.js';
import { RecoveryStopped } from '#shared/recovery-errors.js';
import { WorkflowStepSchema, makeWorkflowStepsHandler } from '#functions/workflow-steps/handler.js';
import { parseTargets, type ClusterTargetConfig } from '#contracts/workflow-targets.js';
import { readBundledFile } from '#shared/bundled-file.js';
import { MemoryStore, SNAPSHOTS, diagnosisLine } from '../statemachines/recovery-fixtures.js';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { storePieces } from '../support/store-pieces.js';

const TARGET: ClusterTargetConfig = {
  cluster: 'orders',
  platform: 'ec2',
  clusterStepsFunction: 'steps-orders',
  brokers: [{ id: 2, instanceId: 'i-0123456789abcdef2' }],
  serviceName: 'kafka',
  listenerPort: 9093,
};
const MSK: ClusterTargetConfig = {
  cluster: 'events',
  platform: 'msk',
  clusterStepsFunction: 'steps-events',
  brokers: [],
  serviceName: 'kafka',
  listenerPort: 9098,
  mskClusterArn: 'arn:aws:kafka:eu-west-1:123456789012:cluster/events/x',
};

function setup(holdLock = true) {
  const store = new MemoryStore('inc-1', 'orders', holdLock);
  const handle = makeWorkflowStepsHandler({
    ...storePieces(store),
    targets: () => [TARGET, MSK],
    now: () => new Date('2026-01-01T00:10:00Z'),
    diskCriticalPercent: 90,
  });
  const step = (payload: unknown) => handle(WorkflowStepSchema.parse(payload));
  return { store, step };
}

describe('workflow steps: start', () => {
  it('resolves the EC2 target: first broker, its instance, strings for SSM, dry run defaulted to false', async () => {
    const { store, step } = setup();
    const target = await step({
      step: 'start',
      workflow: 'broker-recovery',
      input: { incidentId: 'inc-1', cluster: 'orders', brokerIds: [2, 3] },
    });
    expect(target).toEqual({
      incidentId: 'inc-1',
      cluster: 'orders',
      platform: 'ec2',
      brokerId: 2,
      brokerIdText: '2',
      instanceId: 'i-0123456789abcdef2',
      serviceName: 'kafka',
      listenerPort: '9093',
      serverProperties: '/etc/kafka/server.properties',
      appLogDir: '/var/log/kafka',
      mskClusterArn: null,
      clusterStepsFunction: 'steps-orders',
      dryRun: false,
      needsApproval: false,
      approval: {
        summary: 'Restart the Kafka service of broker 2 of orders on i-0123456789abcdef2',
        actions: expect.any(Array),
      },
    });
    expect(store.timeline[0]).toMatchObject({
      actor: 'workflow:broker-recovery',
      action: 'recovery-started',
      detail: 'broker-recovery for broker 2 of orders on instance i-0123456789abcdef2',
    });
  });

  it('an await-approval decision makes a top-level run ask (and say so); a nested run never asks', async () => {
    const { store, step } = setup();
    const input = {
      incidentId: 'inc-1',
      cluster: 'orders',
      brokerIds: [2],
      action: 'await-approval',
      severity: 'SEV-1',
      incidentType: 'broker-failure',
    };
    await expect(step({ step: 'start', workflow: 'broker-recovery', input })).resolves.toMatchObject({
      needsApproval: true,
      approval: { summary: expect.stringContaining('(SEV-1 broker-failure)') },
    });
    expect(store.timeline[0]?.detail).toMatch(/asked for approval, so nothing changes before a person approves/);
    await expect(
      step({ step: 'start', workflow: 'broker-recovery', input: { ...input, parentWorkflow: 'cascade-recovery' } }),
    ).resolves.toMatchObject({ needsApproval: false });
  });

  it('per-broker paths override the cluster defaults (several brokers on one local machine)', async () => {
    const store = new MemoryStore('inc-1', 'orders', true);
    const handle = makeWorkflowStepsHandler({
      ...storePieces(store),
      targets: () => [
        {
          ...TARGET,
          appLogDir: '/var/log/k',
          brokers: [
            {
              id: 2,
              instanceId: 'i-0123456789abcdef2',
              serverProperties: '/tmp/kh/b2/server.properties',
              listenerPort: 19092,
            },
          ],
        },
      ],
      now: () => new Date(),
      diskCriticalPercent: 90,
    });
    await expect(
      handle(
        WorkflowStepSchema.parse({
          step: 'start',
          workflow: 'broker-recovery',
          input: { incidentId: 'inc-1', cluster: 'orders', brokerIds: [2] },
        }),
      ),
    ).resolves.toMatchObject({
      serverProperties: '/tmp/kh/b2/server.properties',
      appLogDir: '/var/log/k',
      listenerPort: '19092',
    });
    expect(() => parseTargets(JSON.stringify([{ ...TARGET, serverProperties: '/etc/../x' }]))).toThrow(
      /serverProperties/,
    );
  });

  it('an instance id in the input wins (drills, manual starts); a malformed one is refused', async () => {
    const { step } = setup();
    await expect(
      step({
        step: 'start',
        workflow: 'broker-recovery',
        input: {
          incidentId: 'inc-1',
          cluster: 'orders',
          brokerIds: [7],
          instanceId: 'i-0aaaaaaaaaaaaaaa7',
          dryRun: true,
        },
      }),
    ).resolves.toMatchObject({ instanceId: 'i-0aaaaaaaaaaaaaaa7', brokerId: 7, dryRun: true });
    await expect(
      step({
        step: 'start',
        workflow: 'broker-recovery',
        input: { incidentId: 'inc-1', cluster: 'orders', brokerIds: [2], instanceId: 'i-1; reboot' },
      }),
    ).rejects.toMatchObject({ name: 'RecoveryTargetError' });
  });

  it('refuses what it cannot act on, with a typed error naming why', async () => {
    const { step } = setup();
    const start = (input: unknown, workflow = 'broker-recovery') => step({ step: 'start', workflow, input });
    await expect(start({ incidentId: 'inc-1', cluster: 'orders', brokerIds: [] })).rejects.toThrow(/names no broker/);
    await expect(start({ incidentId: 'inc-1', cluster: 'orders', brokerIds: [5] })).rejects.toThrow(
      /no instance is configured for broker 5/,
    );
    await expect(start({ incidentId: 'inc-1', cluster: 'nope', brokerIds: [1] })).rejects.toThrow(/not configured/);
    await expect(
      start({ incidentId: 'inc-1', cluster: 'orders', brokerIds: [2] }, 'msk-broker-recovery'),
    ).rejects.toThrow(/recovers msk clusters; orders is ec2/);
    await expect(start({ cluster: 'orders' })).rejects.toMatchObject({
      name: 'RecoveryTargetError',
      message: expect.stringContaining('incidentId'),
    });
  });

  it('MSK target carries the cluster ARN and no instance', async () => {
    const store = new MemoryStore('inc-1', 'events', true);
    const handle = makeWorkflowStepsHandler({
      ...storePieces(store),
      targets: () => [MSK],
      now: () => new Date(),
      diskCriticalPercent: 90,
    });
    await expect(
      handle(
        WorkflowStepSchema.parse({
          step: 'start',
          workflow: 'msk-broker-recovery',
          input: { incidentId: 'inc-1', cluster: 'events', brokerIds: [3] },
        }),
      ),
    ).resolves.toMatchObject({ instanceId: null, mskClusterArn: MSK.mskClusterArn });
    const noArn = makeWorkflowStepsHandler({
      ...storePieces(store),
      targets: () => [{ ...MSK, mskClusterArn: undefined }],
      now: () => new Date(),
      diskCriticalPercent: 90,
    });
    await expect(
      noArn(
        WorkflowStepSchema.parse({
          step: 'start',
          workflow: 'msk-broker-recovery',
          input: { incidentId: 'inc-1', cluster: 'events', brokerIds: [3] },
        }),
      ),
    ).rejects.toThrow(/no MSK cluster ARN/);
  });
});

describe('workflow steps: diagnosis, resolve, escalate, lock', () => {
  it('read-diagnosis returns the decision value and records it; garbage output is recorded, then stops the recovery with its reason', async () => {
    const { store, step } = setup();
    await expect(
      step({
        step: 'read-diagnosis',
        workflow: 'broker-recovery',
        incidentId: 'inc-1',
        stdout: `progress\n${diagnosisLine({ diskUsedPercent: 90 })}`,
      }),
    ).resolves.toMatchObject({ action: 'disk-pressure' });
    const stopped = step({ step: 'read-diagnosis', workflow: 'broker-recovery', incidentId: 'inc-1', stdout: '' });
    await expect(stopped).rejects.toBeInstanceOf(RecoveryStopped);
    await expect(stopped).rejects.toThrow(/^the host diagnosis printed no result: .*printed nothing/);
    expect(store.timeline.map((e) => e.result)).toEqual(['disk-pressure', 'escalate']);
  });

  it('resolve records a heal; a false alarm resolves without one', async () => {
    const a = setup();
    await expect(
      a.step({
        step: 'resolve',
        workflow: 'broker-recovery',
        incidentId: 'inc-1',
        cluster: 'orders',
        brokerId: 2,
        summary: 'back',
      }),
    ).resolves.toEqual({ result: 'resolved', incidentId: 'inc-1' });
    expect(a.store.heals).toEqual([
      { cluster: 'orders', type: 'broker-failure', brokerIds: [2], finishedAt: '2026-01-01T00:10:00.000Z' },
    ]);
    const b = setup();
    await expect(
      b.step({
        step: 'resolve',
        workflow: 'broker-recovery',
        incidentId: 'inc-1',
        cluster: 'orders',
        brokerId: 2,
        falseAlarm: true,
        summary: 'healthy',
      }),
    ).resolves.toEqual({ result: 'false-alarm', incidentId: 'inc-1' });
    expect(b.store.heals).toEqual([]);
    expect(b.store.status).toBe('resolved');
  });

  it('escalate reads the reason from the state and returns what the notification needs; an incident closed meanwhile is still explained', async () => {
    const { store, step } = setup();
    await expect(
      step({
        step: 'escalate',
        workflow: 'broker-recovery',
        incidentId: 'inc-1',
        state: { cluster: 'orders', escalation: { reason: 'unsafe' } },
      }),
    ).resolves.toEqual({
      result: 'escalated',
      reason: 'unsafe',
      summary: 'broker-recovery stopped on orders: unsafe',
      severity: 'SEV-2',
      incidentType: 'broker-failure',
      reasons: ['unsafe'],
    });
    store.status = 'resolved';
    await expect(
      step({ step: 'escalate', workflow: 'broker-recovery', incidentId: 'inc-1', state: {} }),
    ).resolves.toMatchObject({ result: 'escalated' });
    expect(store.timeline.at(-1)).toMatchObject({ action: 'escalation-recorded', result: 'resolved' });
    await expect(
      step({ step: 'escalate', workflow: 'broker-recovery', incidentId: 'other', state: {} }),
    ).rejects.toBeInstanceOf(IncidentNotFoundError);
  });

  it("release-lock: releases our lock, no-op without one, leaves another incident's lock alone", async () => {
    const a = setup(true);
    await expect(
      a.step({ step: 'release-lock', workflow: 'broker-recovery', incidentId: 'inc-1', cluster: 'orders' }),
    ).resolves.toMatchObject({ released: true });
    expect(a.store.lock).toBeUndefined();
    await expect(
      a.step({ step: 'release-lock', workflow: 'broker-recovery', incidentId: 'inc-1', cluster: 'orders' }),
    ).resolves.toMatchObject({ released: false, note: expect.stringContaining('no remediation lock') });
    const b = setup(true);
    b.store.lock = { cluster: 'orders', owner: 'inc-2', acquiredAt: '', expiresAt: 0 };
    await expect(
      b.step({ step: 'release-lock', workflow: 'broker-recovery', incidentId: 'inc-1', cluster: 'orders' }),
    ).resolves.toMatchObject({ released: false, note: expect.stringContaining('another incident') });
    expect(b.store.lock?.owner).toBe('inc-2');
  });

  it('record validates the action name (kebab-case) before anything is written', () => {
    expect(() =>
      WorkflowStepSchema.parse({
        step: 'record',
        workflow: 'broker-recovery',
        incidentId: 'inc-1',
        action: 'Planned Action',
      }),
    ).toThrow();
    expect(() => WorkflowStepSchema.parse({ step: 'nope', workflow: 'broker-recovery' })).toThrow();
  });
});

describe('parseTargets', () => {
  it('names the problem', () => {
    expect(() => parseTargets(undefined)).toThrow('WORKFLOW_TARGETS_FILE is empty');
    expect(() => parseTargets('{')).toThrow(/not JSON/);
    expect(() =>
      parseTargets(
        JSON.stringify([
          { cluster: 'a', platform: 'ec2', clusterStepsFunction: 'f', brokers: [{ id: 1, instanceId: 'bad' }] },
        ]),
      ),
    ).toThrow(/brokers.0.instanceId/);
    expect(parseTargets(JSON.stringify([{ cluster: 'a', platform: 'ec2', clusterStepsFunction: 'f' }]))).toEqual([
      {
        cluster: 'a',
        platform: 'ec2',
        clusterStepsFunction: 'f',
        brokers: [],
        serviceName: 'kafka',
        listenerPort: 9092,
        serverProperties: '/etc/kafka/server.properties',
        appLogDir: '/var/log/kafka',
        kafkaHome: '/opt/kafka',
        throttleProducerByteRate: 1_048_576,
        diskPressure: { storageGrowthPercent: 25, maxVolumeGb: 16_384 },
      },
    ]);
  });

  it('completes each target with its cluster steps function from CLUSTER_STEPS_FUNCTIONS (known at deploy time only)', () => {
    const file = JSON.stringify([
      { cluster: 'a', platform: 'ec2' },
      { cluster: 'b', platform: 'msk', clusterStepsFunction: 'own' },
    ]);
    const steps = JSON.stringify({ a: 'arn:aws:lambda:eu-west-1:123456789012:function:steps-a', b: 'ignored' });
    expect(parseTargets(file, steps).map((t) => [t.cluster, t.clusterStepsFunction])).toEqual([
      ['a', 'arn:aws:lambda:eu-west-1:123456789012:function:steps-a'],
      ['b', 'own'],
    ]);
    expect(() => parseTargets(file, '{"a": 1}')).toThrow(
      'CLUSTER_STEPS_FUNCTIONS: expected {"<cluster>": "<function ARN>"}',
    );
    expect(() => parseTargets(file, '[')).toThrow('CLUSTER_STEPS_FUNCTIONS is not JSON');
    expect(() => parseTargets(file)).toThrow(/WORKFLOW_TARGETS_FILE: 0\.clusterStepsFunction/);
  });
});

describe('readBundledFile', () => {
  it('reads the file the variable names from the function directory; names the variable when it cannot', () => {
    const root = mkdtempSync(join(tmpdir(), 'kh-bundled-'));
    writeFileSync(join(root, 'targets.json'), '[1]');
    expect(readBundledFile('X_FILE', { X_FILE: 'targets.json', LAMBDA_TASK_ROOT: root })).toBe('[1]');
    expect(() => readBundledFile('X_FILE', { LAMBDA_TASK_ROOT: root })).toThrow(
      'environment variable X_FILE is not set (it names a file bundled with the function)',
    );
    expect(() => readBundledFile('X_FILE', { X_FILE: '../etc/passwd', LAMBDA_TASK_ROOT: root })).toThrow(
      'X_FILE: expected a file name in the function\'s directory, got "../etc/passwd"',
    );
    expect(() => readBundledFile('X_FILE', { X_FILE: 'missing.json', LAMBDA_TASK_ROOT: root })).toThrow(
      /X_FILE: cannot read .*missing\.json: ENOENT/,
    );
  });
});

describe('cluster steps', () => {
  const handler = (snap: () => ReturnType<typeof SNAPSHOTS.healthy>) =>
    makeClusterStepsHandler({
      clusters: () => [{ name: 'orders', bootstrapServers: ['127.0.0.1:9092'], brokerCount: 3 }],
      probe: async () => snap(),
      timeoutMs: 100,
    });

  it('confirm, check-safety and verify answer from a fresh probe with small results', async () => {
    const down = handler(SNAPSHOTS.brokerTwoCrashed);
    await expect(down({ step: 'confirm', cluster: 'orders', brokerId: 2 })).resolves.toMatchObject({
      verdict: 'broker-down',
      brokerDown: true,
      healthy: false,
    });
    await expect(down({ step: 'check-safety', cluster: 'orders', brokerId: 2 })).resolves.toMatchObject({
      allowed: true,
      order: [2],
    });
    await expect(down({ step: 'verify', cluster: 'orders', brokerId: 2 })).rejects.toMatchObject({
      name: 'BrokerNotHealthy',
      brokerId: 2,
    });
    const up = handler(SNAPSHOTS.healthy);
    await expect(up({ step: 'confirm', cluster: 'orders', brokerId: 2 })).resolves.toMatchObject({
      verdict: 'false-alarm',
      healthy: true,
    });
    await expect(up({ step: 'verify', cluster: 'orders', brokerId: 2 })).resolves.toMatchObject({ recovered: true });
    const result = await up({ step: 'confirm', cluster: 'orders', brokerId: 2 });
    expect(JSON.stringify(result)).not.toContain('partitions');
  });

  it('an unknown cluster is a typed error; the event schema refuses bad input', async () => {
    await expect(handler(SNAPSHOTS.healthy)({ step: 'confirm', cluster: 'x', brokerId: 1 })).rejects.toMatchObject({
      name: 'UnknownClusterError',
    });
    expect(() => ClusterStepSchema.parse({ step: 'restart', cluster: 'orders', brokerId: 1 })).toThrow();
  });
});
