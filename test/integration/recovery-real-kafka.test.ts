// The msk-broker-recovery ASL on the local runtime against a REAL 3-node KRaft cluster: the
// cluster steps handler probes the real brokers (confirm, check-safety, verify with its backoff),
// and kafka:rebootBroker restarts the real broker process. Only the incident store is in memory
// and only MSK's control plane (cluster state, operation bookkeeping) is simulated.
// Figures are printed with a "[recovery-figures]" prefix.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeClusterStepsHandler, ClusterStepSchema } from '#functions/cluster-steps/handler.js';
import { probeCluster } from '#shared/probe/index.js';
import { WorkflowStepSchema, makeWorkflowStepsHandler } from '#functions/workflow-steps/handler.js';
import { aslFile } from '#infra/constructs/workflows.js';
import { startCluster, type LocalCluster } from '#local/kafka/cluster.js';
import { localMskDouble } from '#local/kafka/msk-double.js';
import {
  RESOURCES,
  TaskError,
  lambdaInvokeBinding,
  parseDefinition,
  recordCalls,
  runWorkflow,
  runbookRunner,
  ssmBindings,
  startExecutionSyncBinding,
  startSystemctlShim,
  type Json,
} from '#local/stepfunctions/index.js';
import { APPROVAL_RESOURCE, approvalBinding } from '#local/stepfunctions/approvals.js';
import { MemoryStore, ssmRunChild } from '../statemachines/recovery-fixtures.js';
import { storePieces } from '../support/store-pieces.js';

const MSK_ARN = 'arn:aws:kafka:eu-west-1:123456789012:cluster/wf-it/0b6f6a3c-1111-2222-3333-444455556666-2';
const STEPS = 'arn:aws:lambda:eu-west-1:123456789012:function:kafka-heal-it-workflow-steps';
const CLUSTER_STEPS = 'arn:aws:lambda:eu-west-1:123456789012:function:kafka-heal-it-cluster-steps-wf-it';
const ESCALATION = 'arn:aws:states:eu-west-1:123456789012:stateMachine:kafka-heal-it-escalation';
const SSM_RUN = 'arn:aws:states:eu-west-1:123456789012:stateMachine:kafka-heal-it-ssm-run';
const APPROVAL = 'arn:aws:lambda:eu-west-1:123456789012:function:kafka-heal-it-approval-request';
/** Both runs carry a remediate decision: the approval state must not be reached (asserted after each run). */
const noApprovalExpected = () =>
  approvalBinding({
    decide: () => {
      throw new TaskError('UnexpectedApproval', 'a remediate decision must not ask for approval');
    },
  });

let cluster: LocalCluster;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeAll(async () => {
  cluster = await startCluster({ name: 'wf-it', log: () => undefined });
  const kafka = new Kafka({
    clientId: 'wf-it',
    brokers: cluster.bootstrapServers.split(','),
    logLevel: logLevel.NOTHING,
  });
  const admin = kafka.admin();
  await admin.connect();
  // Leaders are awaited through the cluster's own readiness check below: kafkajs' waitForLeaders
  // can see UNKNOWN_TOPIC_OR_PARTITION from a broker that has not caught up with the new topic yet.
  await admin.createTopics({
    waitForLeaders: false,
    topics: [{ topic: 'orders', numPartitions: 6, replicationFactor: 3 }],
  });
  await admin.disconnect();
  await cluster.waitHealthy(120_000);
}, 300_000);

afterAll(async () => {
  await cluster?.stop();
}, 120_000);

describe('msk-broker-recovery against real Kafka', () => {
  it('a crashed broker is confirmed down, rebooted, verified back in the ISR, and the incident resolved', async () => {
    const servers = cluster.bootstrapServers.split(',');
    const probe = () => probeCluster({ bootstrapServers: servers, expectedBrokers: 3, timeoutMs: 5000 });
    const faultAt = Date.now();
    await cluster.fault('crash', 2);
    // Wait until the probe sees it (the alarm would fire about now).
    for (let i = 0; i < 60; i++) {
      const s = await probe();
      if (s.brokers.some((b) => b.id === 2 && (!b.registered || !b.reachable))) break;
      await sleep(500);
    }
    const detectedMs = Date.now() - faultAt;

    const store = new MemoryStore('inc-wf-it-2', 'wf-it', true);
    const workflowSteps = makeWorkflowStepsHandler({
      ...storePieces(store),
      targets: () => [
        {
          cluster: 'wf-it',
          platform: 'msk',
          clusterStepsFunction: CLUSTER_STEPS,
          brokers: [],
          serviceName: 'kafka',
          listenerPort: 9092,
          mskClusterArn: MSK_ARN,
        },
      ],
      now: () => new Date(),
      diskCriticalPercent: 90,
    });
    const clusterSteps = makeClusterStepsHandler({
      clusters: () => [{ name: 'wf-it', bootstrapServers: servers, brokerCount: 3 }],
      probe: probeCluster,
      timeoutMs: 5000,
    });
    // MSK completes a reboot operation once the broker process is back.
    const msk = localMskDouble(cluster, { clusterArn: MSK_ARN });
    const approvals = noApprovalExpected();
    const { registry, calls } = recordCalls({
      [RESOURCES.lambdaInvoke]: lambdaInvokeBinding({
        [STEPS]: (p: Json) => workflowSteps(WorkflowStepSchema.parse(p)),
        [CLUSTER_STEPS]: (p: Json) => clusterSteps(ClusterStepSchema.parse(p)),
      }),
      ...msk.registry,
      [APPROVAL_RESOURCE]: approvals,
      [RESOURCES.startExecutionSync2]: startExecutionSyncBinding({
        [ESCALATION]: () => {
          throw new TaskError('UnexpectedEscalation', 'the happy path must not escalate');
        },
      }),
    });
    const definition = parseDefinition(readFileSync(aslFile('msk-broker-recovery'), 'utf8'), {
      WorkflowStepsFunctionArn: STEPS,
      EscalationStateMachineArn: ESCALATION,
      // The classifier's remediate decision never asks; an await-approval one would (not run here).
      ApprovalFunctionArn: APPROVAL,
    });
    const progress: string[] = [];
    const started = Date.now();
    const result = await runWorkflow({
      definition,
      input: {
        incidentId: 'inc-wf-it-2',
        cluster: 'wf-it',
        brokerIds: [2],
        dryRun: false,
        severity: 'SEV-2',
        incidentType: 'broker-failure',
      },
      bindings: registry,
      // Short polling; the verify backoff keeps real seconds (5 s per retry) so the broker can catch up.
      timeScale: 0.05,
      retryOverrides: { 'Verify Broker Rejoined': [5000, -1] },
      onEvent: (e) => {
        if (e.type === 'StateEntered' && e.stateName)
          progress.push(`${((e.timestamp - started) / 1000).toFixed(1)}s ${e.stateName}`);
      },
    });
    await msk.settled();
    const mttrMs = Date.now() - faultAt;
    console.log(
      `[recovery-figures] detected after ${detectedMs} ms; workflow ${Date.now() - started} ms; fault to resolved ${mttrMs} ms; verify attempts ${calls.filter((c) => c.stateName === 'Verify Broker Rejoined').length}`,
    );
    console.log(`[recovery-figures] states: ${progress.join(' | ')}`);
    expect(result.status, JSON.stringify(result)).toBe('SUCCEEDED');
    expect(approvals.requests).toEqual([]);
    expect(progress.at(-1)).toMatch(/Broker Recovered$/);
    expect(msk.reboots.map((r) => r.brokerIds)).toEqual([['2']]);
    expect(store.status).toBe('resolved');
    expect(store.lock).toBeUndefined();
    const after = await probe();
    expect(after.brokers.find((b) => b.id === 2)).toMatchObject({ registered: true, reachable: true });
  }, 240_000);
});

describe('broker-recovery against real Kafka (the real SSM documents run with bash, systemctl drives the broker)', () => {
  it('a crashed broker is diagnosed, restarted by kafka-restart-broker, verified and the incident resolved', async () => {
    const servers = cluster.bootstrapServers.split(',');
    const probe = () => probeCluster({ bootstrapServers: servers, expectedBrokers: 3, timeoutMs: 5000 });
    await cluster.waitHealthy(120_000);
    const shim = await startSystemctlShim(cluster, 2);
    const shimCalls = shim.calls;
    try {
      const faultAt = Date.now();
      await cluster.fault('crash', 2);

      const INSTANCE = 'i-0123456789abcdef2';
      const brokerPort = cluster.brokers.find((b) => b.id === 2)?.port ?? 0;
      const store = new MemoryStore('inc-wf-it-ec2-2', 'wf-it', true);
      const workflowSteps = makeWorkflowStepsHandler({
        ...storePieces(store),
        targets: () => [
          {
            cluster: 'wf-it',
            platform: 'ec2',
            clusterStepsFunction: CLUSTER_STEPS,
            brokers: [
              {
                id: 2,
                instanceId: INSTANCE,
                listenerPort: brokerPort,
                serverProperties: join(cluster.workDir, 'broker-2', 'server.properties'),
                appLogDir: join(cluster.workDir, 'broker-2'),
              },
            ],
            serviceName: 'kafka',
          },
        ],
        now: () => new Date(),
        diskCriticalPercent: 90,
      });
      const clusterSteps = makeClusterStepsHandler({
        clusters: () => [{ name: 'wf-it', bootstrapServers: servers, brokerCount: 3 }],
        probe: probeCluster,
        timeoutMs: 5000,
      });
      const runner = runbookRunner({
        hosts: { [INSTANCE]: { binDirs: [shim.binDir], env: shim.env } },
        documentPrefix: 'kafka-heal-it-',
        maxStepMs: 180_000,
      });
      const ssm = ssmBindings({
        run: runner.run,
        validate: runner.validate,
        isManaged: runner.isManaged,
        invisibleForPolls: 1,
      });
      const approvals = noApprovalExpected();
      const { registry, calls } = recordCalls({
        [RESOURCES.lambdaInvoke]: lambdaInvokeBinding({
          [STEPS]: (p: Json) => workflowSteps(WorkflowStepSchema.parse(p)),
          [CLUSTER_STEPS]: (p: Json) => clusterSteps(ClusterStepSchema.parse(p)),
        }),
        ...ssm.registry,
        [APPROVAL_RESOURCE]: approvals,
        [RESOURCES.startExecutionSync2]: startExecutionSyncBinding({
          [ESCALATION]: () => {
            throw new TaskError('UnexpectedEscalation', 'the happy path must not escalate');
          },
          // Each SSM command runs to its end in the real ssm-run workflow, with these bindings.
          [SSM_RUN]: ssmRunChild(() => registry, 0.05),
        }),
      });
      const definition = parseDefinition(readFileSync(aslFile('broker-recovery'), 'utf8'), {
        SsmRunStateMachineArn: SSM_RUN,
        WorkflowStepsFunctionArn: STEPS,
        EscalationStateMachineArn: ESCALATION,
        // The classifier's remediate decision never asks; an await-approval one would (not run here).
        ApprovalFunctionArn: APPROVAL,
        DiagnoseDocumentName: 'kafka-heal-it-kafka-diagnose-host',
        RestartDocumentName: 'kafka-heal-it-kafka-restart-broker',
        // A full disk would be handed to disk-pressure; this crash never starts it (no binding for it here).
        DiskPressureStateMachineArn: 'arn:aws:states:eu-west-1:123456789012:stateMachine:kafka-heal-it-disk-pressure',
      });
      const progress: string[] = [];
      const started = Date.now();
      const result = await runWorkflow({
        definition,
        input: {
          incidentId: 'inc-wf-it-ec2-2',
          cluster: 'wf-it',
          brokerIds: [2],
          dryRun: false,
          severity: 'SEV-2',
          incidentType: 'broker-failure',
        },
        bindings: registry,
        timeScale: 0.05,
        retryOverrides: { 'Verify Broker Rejoined': [5000, -1] },
        onEvent: (e) => {
          if (e.type === 'StateEntered' && e.stateName)
            progress.push(`${((e.timestamp - started) / 1000).toFixed(1)}s ${e.stateName}`);
        },
      });
      await ssm.settled();
      console.log(
        `[recovery-figures] ec2: fault to resolved ${Date.now() - faultAt} ms; verify attempts ${calls.filter((c) => c.stateName === 'Verify Broker Rejoined').length}; systemctl calls ${shimCalls.length}`,
      );
      console.log(`[recovery-figures] ec2 states: ${progress.join(' | ')}`);
      expect(result.status, JSON.stringify(result)).toBe('SUCCEEDED');
      expect(approvals.requests).toEqual([]);
      expect(progress.at(-1)).toMatch(/Broker Recovered$/);
      expect(store.timeline.find((e) => e.action === 'host-diagnosed')).toMatchObject({ result: 'restart' });
      expect(store.timeline.find((e) => e.action === 'broker-restarted')?.detail).toMatch(/"result":"restarted"/);
      expect(shimCalls.some((l) => l.startsWith('restart'))).toBe(true);
      expect(shimCalls.some((l) => l.startsWith('show'))).toBe(true);
      expect(store.status).toBe('resolved');
      expect(store.lock).toBeUndefined();
      const after = await probe();
      expect(after.brokers.find((b) => b.id === 2)).toMatchObject({ registered: true, reachable: true });
    } finally {
      await shim.close();
    }
  }, 240_000);
});
