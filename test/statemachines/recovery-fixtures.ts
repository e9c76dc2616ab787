// Shared set-up for the recovery workflow tests: the real step handlers (called in process through
// the lambda:invoke binding, their input validated by the same zod schema middy applies), an
// in-memory incident store, scripted probe snapshots, SSM/MSK bindings with the services'
// asynchronous semantics, and the real escalation-notify ASL as the nested escalation workflow.
import { readFileSync } from 'node:fs';
import type { ApprovalRequest } from '#functions/approvals/schema.js';
import { ClusterStepSchema, makeClusterStepsHandler } from '#functions/cluster-steps/handler.js';
import type { BrokerObservation, ClusterSnapshot } from '#domain/snapshot.js';
import type { HealRecord, IncidentStatus } from '#domain/types.js';
import { runMayAct } from '#domain/run-fencing.js';
import {
  IncidentNotFoundError,
  IncidentStatusConflict,
  LockHeldError,
  LockNotOwnedError,
  RunSupersededError,
} from '#shared/errors.js';
import type { IncidentWithTimeline, LockInfo, TimelineEntry } from '#tools/incident-store.js';
import { summarizePartitions, type RawPartition } from '#shared/probe/analyze.js';
import {
  WorkflowStepSchema,
  makeWorkflowStepsHandler,
  type WorkflowStepsStore,
} from '#functions/workflow-steps/handler.js';
import { type ClusterTargetConfig } from '#contracts/workflow-targets.js';
import { ESCALATION_NOTIFY_ASL, definitionText, escalationNotifySubstitutions } from '#infra/constructs/workflows.js';
import {
  RESOURCES,
  TaskError,
  lambdaInvokeBinding,
  mskBindings,
  parseDefinition,
  recordCalls,
  runWorkflow,
  ssmBindings,
  startExecutionSyncBinding,
  type BindingRegistry,
  type ChildRunner,
  type CommandOutcome,
  type CommandRun,
  type Json,
  type MskBindings,
  type LocalFunction,
  type RunEvent,
  type RunResult,
  type TaskBinding,
} from '#local/stepfunctions/index.js';
import { APPROVAL_RESOURCE, approvalBinding, type DecideAnswer } from '#local/stepfunctions/approvals.js';
import { storePieces } from '../support/store-pieces.js';

export const ACCOUNT = 'arn:aws:lambda:eu-west-1:123456789012:function';
export const SUBSTITUTIONS = {
  WorkflowStepsFunctionArn: `${ACCOUNT}:kafka-heal-test-workflow-steps`,
  ApprovalFunctionArn: `${ACCOUNT}:kafka-heal-test-approval-request`,
  DiagnoseDocumentName: 'kafka-heal-test-kafka-diagnose-host',
  RestartDocumentName: 'kafka-heal-test-kafka-restart-broker',
  EscalationStateMachineArn: 'arn:aws:states:eu-west-1:123456789012:stateMachine:kafka-heal-test-escalation',
  DiskPressureStateMachineArn: 'arn:aws:states:eu-west-1:123456789012:stateMachine:kafka-heal-test-disk-pressure',
  SsmRunStateMachineArn: 'arn:aws:states:eu-west-1:123456789012:stateMachine:kafka-heal-test-ssm-run',
};
export const CLUSTER_STEPS = `${ACCOUNT}:kafka-heal-test-cluster-steps-orders`;
export const MSK_ARN = 'arn:aws:kafka:eu-west-1:123456789012:cluster/orders/0b6f6a3c-1111-2222-3333-444455556666-2';
export const INSTANCE = 'i-0123456789abcdef2';

export function aslText(name: string): string {
  return definitionText(name);
}

// ------------------------------------------------------------------ snapshots

type BrokerState = 'up' | 'crashed' | 'hung';
const p = (partition: number, leader: number, isr: number[], replicas = [1, 2, 3]): RawPartition => ({
  topic: 'orders',
  partition,
  leader,
  replicas,
  isr,
  offlineReplicas: [],
});

export function snapshot(
  brokers: Record<number, BrokerState>,
  partitions: RawPartition[],
  status: ClusterSnapshot['status'],
): ClusterSnapshot {
  const obs: BrokerObservation[] = Object.entries(brokers).map(([id, st]) => ({
    id: Number(id),
    host: st === 'crashed' ? '' : '127.0.0.1',
    port: st === 'crashed' ? 0 : 9092,
    registered: st !== 'crashed',
    reachable: st === 'up',
  }));
  const dead = new Set(obs.filter((b) => !b.registered || !b.reachable).map((b) => b.id));
  const { summary, perBroker } = summarizePartitions(
    partitions,
    () => 2,
    obs.map((b) => b.id),
    dead,
    new Set(obs.filter((b) => b.registered).map((b) => b.id)),
  );
  return {
    takenAt: new Date().toISOString(),
    durationMs: 3,
    status,
    bootstrapReachable: true,
    expectedBrokers: 3,
    registeredBrokers: obs.filter((b) => b.registered).map((b) => b.id),
    brokers: obs,
    controller: { id: null, known: false, note: 'KRaft' },
    partitions: summary,
    perBroker,
    consumerGroups: [],
    errors: [],
  };
}

export const SNAPSHOTS = {
  healthy: () => snapshot({ 1: 'up', 2: 'up', 3: 'up' }, [p(0, 1, [1, 2, 3]), p(1, 2, [2, 3, 1])], 'healthy'),
  brokerTwoCrashed: () => snapshot({ 1: 'up', 2: 'crashed', 3: 'up' }, [p(0, 1, [1, 3]), p(1, 3, [3, 1])], 'degraded'),
  /** Broker 2 came back, broker 3 fell over: restarting 2 now would leave partitions with ISR 1 < min 2. */
  brokerTwoNeededNow: () =>
    snapshot({ 1: 'up', 2: 'up', 3: 'crashed' }, [p(0, 1, [1, 2]), p(1, 2, [2, 1])], 'degraded'),
  /** Broker 2 is back but not yet in the ISR. */
  brokerTwoCatchingUp: () => snapshot({ 1: 'up', 2: 'up', 3: 'up' }, [p(0, 1, [1, 3]), p(1, 3, [3, 1])], 'degraded'),
};

// ------------------------------------------------------------------ incident store

/** Every call the workflow steps make, in one object (each piece of WorkflowStepsStore at once: storePieces). */
type WorkflowStepsCalls = WorkflowStepsStore['incidents'] &
  WorkflowStepsStore['timeline'] &
  WorkflowStepsStore['heals'] &
  WorkflowStepsStore['lock'];

export class MemoryStore implements WorkflowStepsCalls {
  status: IncidentStatus = 'remediating';
  timeline: TimelineEntry[] = [];
  heals: HealRecord[] = [];
  lock: LockInfo | undefined;
  /** As the real incident item (run-fencing.ts): the designated run and the fenced ones. */
  activeRun: string | undefined;
  fencedRuns: string[] = [];
  /** A status the table cannot take (the write fails as an unavailable table would). */
  unwritableStatus: IncidentStatus | undefined;

  constructor(
    readonly incidentId: string,
    readonly cluster: string,
    holdLock: boolean,
  ) {
    if (holdLock)
      this.lock = {
        cluster,
        owner: incidentId,
        acquiredAt: new Date().toISOString(),
        expiresAt: Math.floor(Date.now() / 1000) + 3600,
      };
  }

  private check(id: string): void {
    if (id !== this.incidentId) throw new IncidentNotFoundError(id);
  }

  async checkRun(id: string, run: string): Promise<void> {
    this.check(id);
    const verdict = runMayAct({ status: this.status, activeRun: this.activeRun, fencedRuns: this.fencedRuns }, run);
    if (!verdict.mayAct) throw new RunSupersededError(id, run, verdict.reason);
  }

  async appendTimeline(id: string, entry: Omit<TimelineEntry, 'at'> & { at?: string }): Promise<TimelineEntry> {
    this.check(id);
    const full = { ...entry, at: entry.at ?? new Date().toISOString() };
    this.timeline.push(full);
    return full;
  }

  async setStatus(
    id: string,
    status: IncidentStatus,
    expected: readonly IncidentStatus[],
    note?: { actor: string; detail?: string },
    run?: string,
  ) {
    this.check(id);
    if (run !== undefined) await this.checkRun(id, run);
    if (!expected.includes(this.status)) throw new IncidentStatusConflict(id, expected, this.status);
    if (status === this.unwritableStatus) throw new Error(`the incident table is unavailable (setting ${status})`);
    this.timeline.push({
      at: new Date().toISOString(),
      actor: note?.actor ?? 'system',
      action: 'status-changed',
      detail: `${this.status} -> ${status}${note?.detail ? `: ${note.detail}` : ''}`,
    });
    this.status = status;
    return (await this.get(id)) as never;
  }

  async recordHeal(id: string, heal: HealRecord): Promise<void> {
    this.check(id);
    this.heals.push(heal);
  }

  async getLock(cluster: string): Promise<LockInfo | undefined> {
    return this.lock?.cluster === cluster ? this.lock : undefined;
  }

  /** As the real store: kept when this incident and run (or no run) hold it, taken when free or expired, else LockHeldError. */
  async holdLockForRun(
    cluster: string,
    owner: string,
    run: string,
    ttlSeconds: number,
  ): Promise<{ taken: boolean; lock: LockInfo }> {
    await this.checkRun(owner, run);
    const nowS = Math.floor(Date.now() / 1000);
    const held = this.lock;
    if (held && held.expiresAt >= nowS) {
      if (held.owner === owner && (held.run === undefined || held.run === run)) return { taken: false, lock: held };
      throw new LockHeldError(cluster, held.owner, held.expiresAt);
    }
    this.lock = { cluster, owner, acquiredAt: new Date().toISOString(), expiresAt: nowS + ttlSeconds, run };
    return { taken: true, lock: this.lock };
  }

  async releaseLock(cluster: string, owner: string, run?: string): Promise<boolean> {
    if (!this.lock || this.lock.cluster !== cluster) return false;
    if (this.lock.owner !== owner || (run !== undefined && this.lock.run !== undefined && this.lock.run !== run))
      throw new LockNotOwnedError(cluster, owner);
    this.lock = undefined;
    return true;
  }

  async get(id: string): Promise<IncidentWithTimeline> {
    this.check(id);
    const at = '2026-01-01T00:00:00.000Z';
    return {
      id,
      cluster: this.cluster,
      type: 'broker-failure',
      severity: 'SEV-2',
      status: this.status,
      brokers: [{ id: 2, firstSeenAt: at }],
      openedAt: at,
      fingerprints: [],
      signalCount: 1,
      detectedAt: at,
      lastSignalAt: at,
      version: 1,
      timeline: this.timeline,
    };
  }
}

// ------------------------------------------------------------------ the harness

/**
 * The real ssm-run ASL as the nested workflow every SSM command runs in, with the parent's
 * (recorded) bindings; `timeScale` as the parent's (its poll is a 5 s Wait).
 */
export function ssmRunChild(bindings: () => BindingRegistry, timeScale = 0.0005): ChildRunner {
  const definition = parseDefinition(aslText('ssm-run'), {});
  return (childInput) => runWorkflow({ definition, input: childInput, bindings: bindings(), timeScale });
}

/**
 * Watches a run as its execution history would show it: the approval states invoke `request` (the
 * real approval request Lambda; its response is what the history keeps as TaskSubmitted output)
 * and `event` gets every event with its state's input and output.
 */
export interface HistoryWatch {
  request: LocalFunction;
  event: (e: RunEvent) => void;
}

/** What a fixture passes to approvalBinding and runWorkflow when a HistoryWatch is given. */
export const watchApprovals = (h: HistoryWatch | undefined) => (h ? { request: h.request } : {});
export const watchRun = (h: HistoryWatch | undefined) => (h ? { history: true } : {});

export const diagnosisLine = (over: Record<string, unknown> = {}) =>
  `KAFKA_HEAL_DIAGNOSIS ${JSON.stringify({ v: 1, host: 'b2', service: 'kafka', serviceActive: false, serviceState: 'failed', serviceResult: 'exit-code', mainPid: 0, listenerPort: 9092, listenerUp: false, diskUsedPercent: 41, disks: [], memUsedPercent: 30, oomKilled: false, oomEvidence: [], jvmOutOfMemory: false, logFile: null, lastErrors: [], missingTools: [], ...over })}\n`;

export const ok = (stdout: string): CommandOutcome => ({ status: 'Success', responseCode: 0, stdout, stderr: '' });

export interface Scenario {
  workflow: 'broker-recovery' | 'msk-broker-recovery';
  input?: Record<string, unknown>;
  /** Snapshots the probe returns, in order; the last one repeats. */
  probes: (() => ClusterSnapshot)[];
  /** SSM document name -> outcome (EC2). */
  commands?: Record<string, CommandOutcome | (() => Promise<CommandOutcome>)>;
  managed?: boolean;
  /** MSK cluster states, in order of describeCluster calls; the last one repeats. */
  clusterStates?: string[];
  rebootFails?: boolean;
  /** MSK's control plane (e.g. the local MSK double); by default one scripted by clusterStates and rebootFails. */
  msk?: MskBindings;
  /** The SNS publish of the escalation fails (every topic). */
  snsDown?: boolean;
  /** Writing this status to the incident fails (the table is unavailable for it). */
  unwritableStatus?: IncidentStatus;
  holdLock?: boolean;
  incidentStatus?: IncidentStatus;
  /** The configured platform of the cluster; by default the one the workflow recovers. */
  platform?: 'ec2' | 'msk';
  /** Nested workflows by state machine ARN (e.g. disk-pressure), run with this scenario's bindings. */
  children?: Record<string, (input: Json, bindings: Record<string, TaskBinding>) => Promise<RunResult>>;
  /** A person's answer to an approval request (default: approved by test:approver); 'never' lets it time out. */
  decide?: (r: ApprovalRequest) => DecideAnswer;
  history?: HistoryWatch;
}

export interface ScenarioRun {
  result: RunResult;
  store: MemoryStore;
  calls: ReturnType<typeof recordCalls>['calls'];
  commands: (CommandRun & { commandId: string; stateName: string })[];
  reboots: { clusterArn: string; brokerIds: string[] }[];
  published: Json[];
  probeSteps: string[];
  states: string[];
  /** Approval requests the run sent, in order. */
  approvals: ApprovalRequest[];
}

export async function runScenario(s: Scenario): Promise<ScenarioRun> {
  const input = {
    incidentId: 'inc-orders-broker-2',
    cluster: 'orders',
    brokerIds: [2],
    dryRun: false,
    severity: 'SEV-2',
    incidentType: 'broker-failure',
    ...s.input,
  };
  const store = new MemoryStore('inc-orders-broker-2', 'orders', s.holdLock ?? !input.dryRun);
  store.unwritableStatus = s.unwritableStatus;
  if (s.incidentStatus) store.status = s.incidentStatus;
  const platform = s.platform ?? (s.workflow === 'msk-broker-recovery' ? 'msk' : 'ec2');
  const target: ClusterTargetConfig = {
    cluster: 'orders',
    platform,
    clusterStepsFunction: CLUSTER_STEPS,
    brokers: [
      { id: 1, instanceId: 'i-0123456789abcdef1' },
      { id: 2, instanceId: INSTANCE, serverProperties: '/srv/kafka-2/server.properties' },
    ],
    serviceName: 'kafka',
    listenerPort: 9092,
    ...(platform === 'msk' ? { mskClusterArn: MSK_ARN } : {}),
  };
  const workflowSteps = makeWorkflowStepsHandler({
    ...storePieces(store),
    targets: () => [target],
    now: () => new Date(),
    diskCriticalPercent: 90,
  });
  let probeIndex = 0;
  const probeSteps: string[] = [];
  const clusterSteps = makeClusterStepsHandler({
    clusters: () => [{ name: 'orders', bootstrapServers: ['127.0.0.1:9092'], brokerCount: 3 }],
    probe: async () => {
      const make = s.probes[Math.min(probeIndex++, s.probes.length - 1)];
      if (!make) throw new Error('no probe snapshots scripted');
      return make();
    },
    timeoutMs: 1000,
  });
  const ssm = ssmBindings({
    invisibleForPolls: 1,
    isManaged: () => s.managed ?? true,
    run: async (cmd) => {
      const outcome = s.commands?.[cmd.documentName];
      if (outcome === undefined) throw new Error(`no outcome scripted for ${cmd.documentName}`);
      return typeof outcome === 'function' ? outcome() : outcome;
    },
  });
  let clusterStateIndex = 0;
  const msk =
    s.msk ??
    mskBindings({
      clusterState: (arn) => {
        if (arn !== MSK_ARN) return undefined;
        const states = s.clusterStates ?? ['ACTIVE'];
        return states[Math.min(clusterStateIndex++, states.length - 1)];
      },
      reboot: async () => {
        if (s.rebootFails) throw new Error('broker did not come back');
      },
    });
  const published: Json[] = [];
  const escalation = parseDefinition(
    readFileSync(ESCALATION_NOTIFY_ASL, 'utf8'),
    escalationNotifySubstitutions({
      criticalTopicArn: 'arn:aws:sns:eu-west-1:123456789012:critical',
      warningTopicArn: 'arn:aws:sns:eu-west-1:123456789012:warning',
    }),
  );
  const lambdas = {
    [SUBSTITUTIONS.WorkflowStepsFunctionArn]: (payload: Json) => workflowSteps(WorkflowStepSchema.parse(payload)),
    [CLUSTER_STEPS]: async (payload: Json) => {
      const step = ClusterStepSchema.parse(payload);
      probeSteps.push(step.step);
      return clusterSteps(step);
    },
  };
  const registry = {
    [RESOURCES.lambdaInvoke]: lambdaInvokeBinding(lambdas),
    ...ssm.registry,
    ...msk.registry,
    [RESOURCES.startExecutionSync2]: startExecutionSyncBinding({
      [SUBSTITUTIONS.SsmRunStateMachineArn]: ssmRunChild(recordedRegistry),
      ...Object.fromEntries(
        Object.entries(s.children ?? {}).map(([arn, run]) => [
          arn,
          (childInput: Json) => run(childInput, recordedRegistry()),
        ]),
      ),
      [SUBSTITUTIONS.EscalationStateMachineArn]: (childInput) =>
        runWorkflow({
          definition: escalation,
          input: childInput,
          timeScale: 0,
          bindings: {
            [RESOURCES.snsPublish]: (msg) => {
              if (s.snsDown) throw new TaskError('SNS.InternalErrorException', 'SNS is down');
              published.push(msg);
              return { MessageId: `m-${published.length}` };
            },
          },
        }),
    }),
  };
  const approvals: ApprovalRequest[] = [];
  const recorded = recordCalls({
    ...registry,
    [APPROVAL_RESOURCE]: approvalBinding({
      decide: async (r) => {
        approvals.push(r);
        return s.decide ? s.decide(r) : { decision: 'approved', by: 'test:approver' };
      },
      timeScale: 0.0005,
      ...watchApprovals(s.history),
    }),
  });
  function recordedRegistry() {
    return recorded.registry;
  }
  const definition = parseDefinition(aslText(s.workflow), { ...SUBSTITUTIONS });
  const states: string[] = [];
  const result = await runWorkflow({
    definition,
    input: input as Json,
    bindings: recorded.registry,
    // A few ms per Wait and retry: the polling loops and the verify backoff really run, quickly.
    timeScale: 0.0005,
    ...watchRun(s.history),
    onEvent: (e) => {
      s.history?.event(e);
      if (e.type === 'StateEntered' && e.stateName) states.push(e.stateName);
    },
  });
  await ssm.settled();
  await msk.settled();
  return {
    result,
    store,
    calls: recorded.calls,
    commands: ssm.commands,
    reboots: msk.reboots,
    published,
    probeSteps,
    states,
    approvals,
  };
}

/** Names of the workflow-steps Lambda steps called, in order. */
export function workflowStepsCalled(run: ScenarioRun): string[] {
  return run.calls
    .filter(
      (c) =>
        c.resource === RESOURCES.lambdaInvoke &&
        (c.input as { FunctionName?: string }).FunctionName === SUBSTITUTIONS.WorkflowStepsFunctionArn,
    )
    .map((c) => (c.input as { Payload: { step: string } }).Payload.step);
}

/** The terminal state the run ended in. */
export function finalState(run: ScenarioRun): string | undefined {
  return run.states.at(-1);
}
