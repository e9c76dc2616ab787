// Workflow steps Lambda (glue): the incident-side steps of the recovery workflows, one small
// discriminated `step` per ASL Task so the Step Functions console reads as the runbook does.
// It talks to the incident table only (no VPC, no Kafka); probing Kafka is the cluster steps
// Lambda's job (functions/cluster-steps), which runs inside each cluster's VPC.
//
//   start          validate the execution input, resolve the recovery target (broker, instance,
//                  service, MSK cluster, which cluster-steps function probes it), timeline entry
//   record         append one timeline entry (planned actions in dry runs, results of actions);
//                  with `stop`, then end the recovery with that reason (RecoveryStopped)
//   record-approval the outcome of an approval gate as one timeline entry; a rejection or a
//                  timeout then stops the recovery (approval-decision.ts)
//   read-diagnosis parse the kafka-diagnose-host output into a decision value, timeline entry;
//                  a diagnosis that says people, not a restart, stops the recovery with its reason
//   resolve        close the incident as resolved (a real recovery also records a heal for the
//                  flap breaker; a false alarm does not)
//   escalate       mark the incident escalated with the reason read from the workflow state
//   release-lock   release the cluster's remediation lock if this incident holds it
//   act-on-lag     consumer-lag: record the evaluation, tell the owning team, call the scale hook,
//                  record each result, stop for people where the runbook says (consumer-lag.ts)
//   quorum-plan    quorum-recovery: reads the latest check (a describe-quorum answer too); when the
//                  quorum is lost, the approvals and per-host commands of each phase (quorum-recovery.ts)
//   quorum-record  quorum-recovery: the timeline line of one approval or command of the plan
//   cascade-refresh cascade-recovery: re-read the incident's brokers; brokers that joined since
//                  the last pass are planned too (cascade.ts)
// consumer-lag, quorum-recovery and the DR workflows resolve their own targets at `start`
// (consumer-lag.ts, quorum-recovery.ts, dr-target.ts).
import { EC2Client } from '@aws-sdk/client-ec2';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { SNSClient } from '@aws-sdk/client-sns';
import type { Context } from 'aws-lambda';
import * as z from 'zod';
import {
  decideFromDiagnosis,
  escalationReason,
  recoveryApproval,
  type DiagnosisDecision,
} from '../domain/broker-recovery.js';
import { DEFAULT_THRESHOLDS } from '../domain/policy.js';
import type { IncidentType, Severity } from '../domain/types.js';
import { ladderStarterFromEnv, type LadderRequest, type LadderStarter } from '../escalation/start-ladder.js';
import { storeFromEnv } from '../shared/clients.js';
import { ConfigurationError, IncidentStatusConflict, LockNotOwnedError, RunSupersededError } from '../shared/errors.js';
import {
  ACTIVE_STATUSES,
  LOCK_TTL_SECONDS,
  type ClusterLock,
  type HealHistory,
  type IncidentRepo,
  type Store,
  type Timeline,
} from '../shared/store/index.js';
import { readBundledFile } from '../shared/bundled-file.js';
import { withHouseMiddleware } from '../shared/middy.js';
import { MetricUnit, logger, metrics } from '../shared/powertools.js';
import { RecoveryStopped, RecoveryTargetError } from '../shared/recovery-errors.js';
import { RecordApprovalFields, recordApproval } from './approval-decision.js';
import { RunbookOutputError, parseRunbookOutput } from '../shared/runbook-output.js';
import { DEFAULT_BROKER_ID_TAG, ec2InstanceFinder, taggedBrokers, type InstanceFinder } from './instances.js';
import { CascadeRefreshFields, refreshCascade, startCascade, type CascadeTarget } from './cascade.js';
import {
  CleanupOutcomeFields,
  ReadDiskFields,
  StoragePlanFields,
  StorageUpdateFields,
  cleanupOutcome,
  diskStartDetail,
  readDisk,
  resolveDiskTarget,
  storagePlan,
  storageUpdate,
  type DiskReading,
  type DiskTarget,
  type StorageDecision,
} from './disk-pressure.js';
import {
  ClusterTargetSchema,
  parseTargets,
  type ClusterTarget,
  type ClusterTargetConfig,
} from '../contracts/workflow-targets.js';
import { isNestedState, nestedEscalate, nestedReleaseLock, nestedResolve } from './nested.js';
import { resolveDrTarget, type DrTarget, type DrWorkflow } from './dr-target.js';
import {
  ActOnLagFields,
  actOnLag,
  lagStartDetail,
  resolveLagTarget,
  type LagActed,
  type LagActionClients,
  type LagTarget,
} from './consumer-lag.js';
import {
  QuorumPlanStepFields,
  QuorumRecordStepFields,
  planFromCheck,
  planStepOutcome,
  quorumStartDetail,
  resolveQuorumTarget,
  type PlannedCheck,
  type QuorumTarget,
} from './quorum-recovery.js';

export const RECOVERY_WORKFLOWS = [
  'broker-recovery',
  'msk-broker-recovery',
  'consumer-lag',
  'quorum-recovery',
  'dr-failover',
  'dr-failback',
  'cascade-recovery',
  'disk-pressure',
] as const;
export type RecoveryWorkflow = (typeof RECOVERY_WORKFLOWS)[number];

/** The execution input the classifier (or an operator, or a drill) starts a recovery with. */
export const RecoveryInputSchema = z.looseObject({
  incidentId: z.string().min(1).max(80),
  cluster: z.string().min(1),
  brokerIds: z.array(z.number().int().nonnegative()),
  dryRun: z.boolean().default(false),
  severity: z.string().optional(),
  incidentType: z.string().optional(),
  /** Overrides the configured instance (drills, manual starts). */
  instanceId: z
    .string()
    .regex(/^i-[0-9a-f]{8,17}$/)
    .optional(),
  /** The classifier's decision; `await-approval` makes a top-level run ask a person before acting. */
  action: z.string().optional(),
  /** `none` for a top-level run, else the workflow that started this one (it asked any approval). */
  parentWorkflow: z.string().optional(),
});

const workflow = z.enum(RECOVERY_WORKFLOWS);
const incidentId = z.string().min(1).max(80);
/** `$$.Execution.Id` of the run taking the step: the steps that lock or close the incident are fenced by it (run-fencing.ts). */
const execution = z.string().min(1).max(2048).optional();
/** `none` for a top-level run, else the workflow that started this one as a nested execution. */
const parentWorkflow = z
  .string()
  .regex(/^(none|[a-z][a-z0-9-]{1,63})$/)
  .default('none');

export const WorkflowStepSchema = z.discriminatedUnion('step', [
  z.object({ step: z.literal('start'), workflow, input: z.unknown(), execution }),
  z.object({
    step: z.literal('record'),
    workflow,
    incidentId,
    action: z.string().regex(/^[a-z][a-z0-9-]{1,63}$/),
    detail: z.string().max(2000).optional(),
    result: z.string().max(500).optional(),
    at: z.string().optional(),
    /** After the entry, stop the recovery with this reason (a dry run's plan recorded). */
    stop: z.string().min(1).max(2000).optional(),
  }),
  z.object({ step: z.literal('record-approval'), workflow, incidentId, ...RecordApprovalFields }),
  z.object({
    step: z.literal('read-diagnosis'),
    workflow,
    incidentId,
    stdout: z.string(),
    status: z.string().optional(),
  }),
  z.object({
    step: z.literal('resolve'),
    workflow,
    incidentId,
    cluster: z.string().min(1),
    /** The broker healed (broker recovery); workflows that heal several, or none, pass brokerIds. */
    brokerId: z.number().int().nonnegative().optional(),
    brokerIds: z.array(z.number().int().nonnegative()).optional(),
    falseAlarm: z.boolean().default(false),
    summary: z.string().max(2000),
    /** A run nested in another workflow names it; it records its outcome and leaves the incident to the parent (nested.ts). */
    parentWorkflow,
    execution,
  }),
  z.object({ step: z.literal('escalate'), workflow, incidentId, state: z.unknown(), execution }),
  z.object({
    step: z.literal('release-lock'),
    workflow,
    incidentId,
    cluster: z.string().min(1),
    parentWorkflow,
    execution,
  }),
  z.object({ step: z.literal('read-disk'), workflow, incidentId, ...ReadDiskFields }),
  z.object({ step: z.literal('cleanup-outcome'), workflow, incidentId, ...CleanupOutcomeFields }),
  z.object({ step: z.literal('storage-plan'), workflow, incidentId, ...StoragePlanFields }),
  z.object({ step: z.literal('storage-update'), workflow, incidentId, ...StorageUpdateFields }),
  z.object({ step: z.literal('quorum-plan'), workflow, incidentId, ...QuorumPlanStepFields }),
  z.object({ step: z.literal('quorum-record'), workflow, incidentId, ...QuorumRecordStepFields }),
  z.object({ step: z.literal('cascade-refresh'), workflow, incidentId, ...CascadeRefreshFields }),
  z.object({ step: z.literal('act-on-lag'), workflow: z.literal('consumer-lag'), incidentId, ...ActOnLagFields }),
]);
export type WorkflowStep = z.infer<typeof WorkflowStepSchema>;

export interface RecoveryTarget {
  incidentId: string;
  cluster: string;
  platform: 'ec2' | 'msk';
  brokerId: number;
  /** SSM parameters are strings: the broker id and port as the runbooks take them. */
  brokerIdText: string;
  instanceId: string | null;
  serviceName: string;
  listenerPort: string;
  serverProperties: string;
  appLogDir: string;
  mskClusterArn: string | null;
  clusterStepsFunction: string;
  dryRun: boolean;
  /** Ask a person before acting (the decision was await-approval; not a nested run). */
  needsApproval: boolean;
  /** What the approval request shows: one line and the exact actions. */
  approval: { summary: string; actions: string[] };
}

export type StepResult =
  | RecoveryTarget
  | CascadeTarget
  | DiskTarget
  | DiskReading
  | StorageDecision
  | { text: string; falseAlarm: boolean }
  | DrTarget
  | LagTarget
  | LagActed
  | QuorumTarget
  | PlannedCheck
  | DiagnosisDecision
  | { recorded: true }
  | { recorded: true; approved: boolean }
  | { result: 'resolved' | 'false-alarm'; incidentId: string }
  | {
      result: 'escalated';
      reason: string;
      summary: string;
      severity: Severity;
      incidentType: IncidentType | string;
      reasons: string[];
    }
  | { released: boolean; note: string };

/** The incident store's pieces the workflow steps use, each narrowed to its calls. */
export interface WorkflowStepsStore {
  incidents: Pick<IncidentRepo, 'get' | 'setStatus'>;
  timeline: Pick<Timeline, 'appendTimeline'>;
  heals: Pick<HealHistory, 'recordHeal'> & Partial<Pick<HealHistory, 'recentHeals'>>;
  /** holdLockForRun: only a top-level live broker recovery needs it (holdRunLock says so when absent). */
  lock: Pick<ClusterLock, 'releaseLock' | 'checkRun'> & Partial<Pick<ClusterLock, 'holdLockForRun'>>;
}

export interface WorkflowStepsDeps extends WorkflowStepsStore {
  targets: () => ClusterTargetConfig[];
  now: () => Date;
  /** Data disk usage at which a diagnosis hands the broker to disk-pressure (policy threshold). */
  diskCriticalPercent: number;
  /** disk-pressure ends with the data disk below this (policy warning level). Default 85. */
  diskWarnPercent?: number;
  /** Hands an escalated incident to the escalation ladder (PagerDuty, ack waits); absent when not deployed. */
  startEscalation?: LadderStarter;
  /** This deployment (the instances of a tag-found cluster carry it in kafka-heal:deployment). */
  deployment?: string;
  /** Finds the instances of a cluster whose brokers are found by EC2 tag; absent: none can be. */
  findInstances?: InstanceFinder;
  /** SNS and Lambda for consumer-lag's owning team and scale hook (act-on-lag); absent: that step cannot act. */
  lagClients?: LagActionClients;
}

/**
 * The targets with the brokers of `cluster` resolved when it finds them by EC2 tag (instances.ts):
 * every step that acts then sees them as if the config had listed them.
 */
async function withTaggedBrokers(deps: WorkflowStepsDeps, cluster: unknown): Promise<ClusterTargetConfig[]> {
  const targets = deps.targets();
  const i = targets.findIndex((t) => t.cluster === cluster);
  const t = targets[i];
  if (!t?.brokerTag || (t.brokers?.length ?? 0) > 0) return targets;
  if (!deps.findInstances || deps.deployment === undefined)
    throw new RecoveryTargetError(
      `cluster ${t.cluster} finds its brokers by EC2 tag, and this function cannot look them up`,
    );
  const tag = {
    key: t.brokerTag.key,
    value: t.brokerTag.value,
    brokerIdKey: t.brokerTag.brokerIdKey ?? DEFAULT_BROKER_ID_TAG,
  };
  const brokers = await taggedBrokers(deps.findInstances, deps.deployment, t.cluster, tag);
  return targets.map((x, j) => (j === i ? { ...x, brokers } : x));
}

const actor = (wf: string) => `workflow:${wf}`;

/**
 * One remediation per cluster (safety rule 2) also for a run nobody classified: a broker recovery
 * started by hand (Step Functions console, a game day) holds the cluster lock from its start step
 * on. The lock the classifier took for this incident and run stays as it is; a free or expired
 * lock is taken and said on the timeline; a lock held by another incident (or by another run of
 * this one) fails the step with LockHeldError, so the run escalates before any action (and its
 * release step leaves that lock alone). A run the classifier superseded or stopped fails with
 * RunSupersededError instead, checked in the same write (run-fencing.ts): it never takes the lock
 * back. Dry runs change nothing and nested runs act under their parent's lock: neither takes it.
 */
async function holdRunLock(
  store: Pick<WorkflowStepsStore, 'timeline' | 'lock'>,
  workflow: string,
  cluster: string,
  incidentId: string,
  run: string,
): Promise<void> {
  if (!store.lock.holdLockForRun)
    throw new ConfigurationError('the workflow steps store cannot take the cluster lock (holdLockForRun)');
  const held = await fenced(store, workflow, incidentId, run, () =>
    store.lock.holdLockForRun!(cluster, incidentId, run, LOCK_TTL_SECONDS),
  );
  if (!held.taken) return;
  await store.timeline.appendTimeline(incidentId, {
    actor: actor(workflow),
    action: 'lock-acquired',
    detail: `remediation lock for ${cluster} taken by the run itself (no classifier's lock for this incident and run: started by hand, or the lock expired) until ${new Date(held.lock.expiresAt * 1000).toISOString()}`,
  });
}

/**
 * Runs a write that is refused to a superseded run; on refusal says so on the timeline (the run
 * stops there: the ASL catches RunSupersededError and ends quietly) and rethrows.
 */
async function fenced<T>(
  store: Pick<WorkflowStepsStore, 'timeline'>,
  workflow: string,
  incidentId: string,
  run: string,
  write: () => Promise<T>,
): Promise<T> {
  try {
    return await write();
  } catch (err) {
    if (!(err instanceof RunSupersededError)) throw err;
    await store.timeline.appendTimeline(incidentId, {
      actor: actor(workflow),
      action: 'run-superseded',
      detail: `${err.reason}; execution ${run} stops without changing the incident or the lock`,
      result: 'stopped',
    });
    metrics.addMetric('SupersededRunsFenced', MetricUnit.Count, 1);
    throw err;
  }
}

/**
 * Starts the escalation ladder for the incident (idempotent by name). A failure to start it is on
 * the timeline but does not fail the escalation: the workflow's own notification still goes out.
 */
async function handToLadder(
  start: LadderStarter,
  store: Pick<WorkflowStepsStore, 'timeline'>,
  wf: string,
  request: LadderRequest,
): Promise<void> {
  try {
    const started = await start(request);
    await store.timeline.appendTimeline(request.incidentId, {
      actor: actor(wf),
      action: 'escalation-ladder-started',
      detail: started.executionName,
      result: started.started ? 'started' : 'already running',
    });
  } catch (err) {
    logger.error('escalation ladder not started', { incidentId: request.incidentId, error: err as Error });
    await store.timeline.appendTimeline(request.incidentId, {
      actor: actor(wf),
      action: 'escalation-ladder-not-started',
      detail: err instanceof Error ? `${err.name}: ${err.message}` : String(err),
    });
  }
}

/** The configured target of a cluster, defaults applied; a cluster the stack does not know is a RecoveryTargetError. */
function configuredTarget(targets: ClusterTargetConfig[], cluster: string): ClusterTarget {
  const configured = targets.find((t) => t.cluster === cluster);
  if (!configured) throw new RecoveryTargetError(`cluster ${cluster} is not configured for recovery workflows`);
  return ClusterTargetSchema.parse(configured);
}

function resolveTarget(wf: RecoveryWorkflow, raw: unknown, targets: ClusterTargetConfig[]): RecoveryTarget {
  const parsed = RecoveryInputSchema.safeParse(raw);
  if (!parsed.success) {
    throw new RecoveryTargetError(
      `execution input is not a recovery request: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(input)'}: ${i.message}`).join('; ')}`,
    );
  }
  const input = parsed.data;
  const configured = targets.find((t) => t.cluster === input.cluster);
  if (!configured) throw new RecoveryTargetError(`cluster ${input.cluster} is not configured for recovery workflows`);
  const target = ClusterTargetSchema.parse(configured);
  const wanted = wf === 'msk-broker-recovery' ? 'msk' : 'ec2';
  if (target.platform !== wanted)
    throw new RecoveryTargetError(`${wf} recovers ${wanted} clusters; ${input.cluster} is ${target.platform}`);
  // Brokers are recovered one at a time (safety rule 2): this execution takes the first one.
  const brokerId = input.brokerIds[0];
  if (brokerId === undefined) throw new RecoveryTargetError(`incident ${input.incidentId} names no broker to recover`);
  let instanceId: string | null = null;
  const broker = target.brokers.find((b) => b.id === brokerId);
  if (wanted === 'ec2') {
    instanceId = input.instanceId ?? broker?.instanceId ?? null;
    if (instanceId === null)
      throw new RecoveryTargetError(
        `no instance is configured for broker ${brokerId} of ${input.cluster} (brokers: [{id, instanceId}] in the config)`,
      );
  }
  if (wanted === 'msk' && !target.mskClusterArn)
    throw new RecoveryTargetError(`cluster ${input.cluster} has no MSK cluster ARN configured`);
  const { needsApproval, ...approval } = recoveryApproval({
    platform: wanted,
    cluster: input.cluster,
    brokerId,
    where: instanceId ?? target.mskClusterArn ?? '',
    action: input.action,
    parentWorkflow: input.parentWorkflow,
    severity: input.severity,
    incidentType: input.incidentType,
  });
  return {
    incidentId: input.incidentId,
    cluster: input.cluster,
    platform: target.platform,
    brokerId,
    brokerIdText: String(brokerId),
    instanceId,
    serviceName: target.serviceName,
    listenerPort: String(broker?.listenerPort ?? target.listenerPort),
    serverProperties: broker?.serverProperties ?? target.serverProperties,
    appLogDir: broker?.appLogDir ?? target.appLogDir,
    mskClusterArn: target.mskClusterArn ?? null,
    clusterStepsFunction: target.clusterStepsFunction,
    dryRun: input.dryRun,
    needsApproval,
    approval,
  };
}

/** What a workflow's `start` step is given. */
interface StartContext {
  deps: WorkflowStepsDeps;
  workflow: RecoveryWorkflow;
  input: unknown;
  /** The configured targets, with brokers found by tag resolved for the input's cluster. */
  all: ClusterTargetConfig[];
  targetOf: (cluster: string) => ClusterTarget;
  /** The parent workflow that started this one as a nested run, or 'none'. */
  topLevel: unknown;
  execution: string | undefined;
}

/** The start entry on the timeline, then the target the workflow runs with. */
async function started<T extends { incidentId: string }>(c: StartContext, target: T, detail: string): Promise<T> {
  await c.deps.timeline.appendTimeline(target.incidentId, {
    actor: actor(c.workflow),
    action: 'recovery-started',
    detail,
  });
  return target;
}

const dryRunNote = (dryRun: boolean) => (dryRun ? ' (dry run: plans and records, mutates nothing)' : '');

/** A broker recovery (EC2 or MSK) takes the cluster lock for its run at start, unless nested or a dry run. */
async function startBrokerRecovery(c: StartContext): Promise<RecoveryTarget> {
  const target = resolveTarget(c.workflow, c.input, c.all);
  if (!target.dryRun && c.topLevel === 'none')
    await holdRunLock(
      c.deps,
      c.workflow,
      target.cluster,
      target.incidentId,
      c.execution ?? `manual:${target.incidentId}`,
    );
  const where = target.instanceId ? `instance ${target.instanceId}` : `MSK cluster ${target.mskClusterArn}`;
  const approval = target.needsApproval
    ? '; the decision asked for approval, so nothing changes before a person approves'
    : '';
  return started(
    c,
    target,
    `${c.workflow} for broker ${target.brokerId} of ${target.cluster} on ${where}${approval}${dryRunNote(target.dryRun)}`,
  );
}

/** How each workflow starts: its target, its start entry, and whether it takes the lock itself (else the run is checked for a fence). */
const STARTERS: Record<RecoveryWorkflow, { start: (c: StartContext) => Promise<StepResult>; takesLock: boolean }> = {
  'broker-recovery': { start: startBrokerRecovery, takesLock: true },
  'msk-broker-recovery': { start: startBrokerRecovery, takesLock: true },
  'disk-pressure': {
    takesLock: false,
    start: (c) => {
      const t = resolveDiskTarget(
        c.input,
        c.targetOf,
        c.deps.diskWarnPercent ?? DEFAULT_THRESHOLDS.diskWarnPercent,
        c.deps.now(),
      );
      return started(c, t, diskStartDetail(t));
    },
  },
  'cascade-recovery': { takesLock: false, start: (c) => startCascade(c.deps, c.targetOf, c.input) },
  'dr-failover': { takesLock: false, start: (c) => startDr(c) },
  'dr-failback': { takesLock: false, start: (c) => startDr(c) },
  'consumer-lag': {
    takesLock: false,
    start: (c) => {
      const t = resolveLagTarget(c.input, c.targetOf);
      return started(c, t, lagStartDetail(t));
    },
  },
  'quorum-recovery': {
    takesLock: false,
    start: (c) => {
      const t = resolveQuorumTarget(c.input, c.targetOf);
      return started(c, t, quorumStartDetail(t));
    },
  },
};

function startDr(c: StartContext): Promise<DrTarget> {
  const t = resolveDrTarget(c.workflow as DrWorkflow, c.input, c.all);
  return started(c, t, `${t.summary}${dryRunNote(t.dryRun)}`);
}

export function makeWorkflowStepsHandler(deps: WorkflowStepsDeps) {
  return async (step: WorkflowStep): Promise<StepResult> => {
    switch (step.step) {
      case 'start': {
        const all = await withTaggedBrokers(deps, (step.input as { cluster?: unknown } | null)?.cluster);
        const topLevel = (step.input as { parentWorkflow?: unknown } | null)?.parentWorkflow ?? 'none';
        const inputId = (step.input as { incidentId?: unknown } | null)?.incidentId;
        const starter = STARTERS[step.workflow];
        // A superseded run stops at its first step (broker recoveries check it while taking the lock).
        if (step.execution !== undefined && topLevel === 'none' && typeof inputId === 'string' && !starter.takesLock) {
          const run = step.execution;
          await fenced(deps, step.workflow, inputId, run, () => deps.lock.checkRun(inputId, run));
        }
        return starter.start({
          deps,
          workflow: step.workflow,
          input: step.input,
          all,
          targetOf: (cluster) => configuredTarget(all, cluster),
          topLevel,
          execution: step.execution,
        });
      }
      case 'record': {
        await deps.timeline.appendTimeline(step.incidentId, {
          actor: actor(step.workflow),
          action: step.action,
          ...(step.detail !== undefined ? { detail: step.detail } : {}),
          ...(step.result !== undefined ? { result: step.result } : {}),
          ...(step.at !== undefined ? { at: step.at } : {}),
        });
        if (step.stop !== undefined) throw new RecoveryStopped(step.stop);
        return { recorded: true };
      }
      case 'record-approval':
        return recordApproval(
          (line) => deps.timeline.appendTimeline(step.incidentId, { actor: actor(step.workflow), ...line }),
          step,
        );
      case 'read-diagnosis': {
        let decision: DiagnosisDecision;
        try {
          decision = decideFromDiagnosis(parseRunbookOutput(step.stdout), deps.diskCriticalPercent);
        } catch (err) {
          if (!(err instanceof RunbookOutputError)) throw err;
          decision = {
            action: 'escalate',
            reason: `the host diagnosis printed no result: ${err.message}`,
            summary: 'no diagnosis',
          };
        }
        await deps.timeline.appendTimeline(step.incidentId, {
          actor: actor(step.workflow),
          action: 'host-diagnosed',
          detail: decision.summary,
          result: decision.action,
          reasons: [decision.reason],
        });
        if (decision.action === 'escalate') throw new RecoveryStopped(decision.reason);
        return decision;
      }
      case 'resolve': {
        if (step.parentWorkflow !== 'none') return nestedResolve(deps, step);
        const detail = step.falseAlarm ? `false alarm: ${step.summary}` : step.summary;
        const note = { actor: actor(step.workflow), detail, via: 'workflow' as const };
        const run = step.execution;
        const resolved =
          run === undefined
            ? await deps.incidents.setStatus(step.incidentId, 'resolved', ACTIVE_STATUSES, note)
            : await fenced(deps, step.workflow, step.incidentId, run, () =>
                deps.incidents.setStatus(step.incidentId, 'resolved', ACTIVE_STATUSES, note, run),
              );
        // Recovery outcomes for the dashboard (infra/constructs/dashboard.ts): MTTR and resolved vs escalated.
        metrics.addMetric(step.falseAlarm ? 'FalseAlarms' : 'IncidentsResolved', MetricUnit.Count, 1);
        if (!step.falseAlarm && resolved.mttrSeconds !== undefined)
          metrics.addMetric('MttrSeconds', MetricUnit.Seconds, resolved.mttrSeconds);
        if (!step.falseAlarm) {
          const incident = await deps.incidents.get(step.incidentId);
          const brokerIds = step.brokerIds ?? (step.brokerId === undefined ? [] : [step.brokerId]);
          await deps.heals.recordHeal(step.incidentId, {
            cluster: step.cluster,
            type: incident.type,
            brokerIds,
            finishedAt: deps.now().toISOString(),
          });
        }
        return { result: step.falseAlarm ? 'false-alarm' : 'resolved', incidentId: step.incidentId };
      }
      case 'escalate': {
        if (isNestedState(step.state)) return nestedEscalate(deps, step);
        const reason = escalationReason(step.state);
        const incident = await deps.incidents.get(step.incidentId);
        try {
          const note = { actor: actor(step.workflow), detail: reason };
          const run = step.execution;
          if (run === undefined) await deps.incidents.setStatus(step.incidentId, 'escalated', ACTIVE_STATUSES, note);
          else
            await fenced(deps, step.workflow, step.incidentId, run, () =>
              deps.incidents.setStatus(step.incidentId, 'escalated', ACTIVE_STATUSES, note, run),
            );
          metrics.addMetric('IncidentsEscalated', MetricUnit.Count, 1);
        } catch (err) {
          // Closed meanwhile (resolved by an operator): still tell people why automation stopped.
          if (!(err instanceof IncidentStatusConflict)) throw err;
          logger.warn('incident closed before it could be escalated', { incidentId: step.incidentId, reason });
          await deps.timeline.appendTimeline(step.incidentId, {
            actor: actor(step.workflow),
            action: 'escalation-recorded',
            detail: reason,
            result: err.actual ?? 'unknown',
          });
        }
        const summary = `${step.workflow} stopped on ${incident.cluster}: ${reason}`;
        if (deps.startEscalation)
          await handToLadder(deps.startEscalation, deps, step.workflow, {
            incidentId: step.incidentId,
            cluster: incident.cluster,
            incidentType: incident.type,
            severity: incident.severity,
            summary,
            reasons: [reason],
            dryRun: (step.state as { dryRun?: unknown } | null)?.dryRun === true,
          });
        return {
          result: 'escalated',
          reason,
          summary,
          severity: incident.severity,
          incidentType: incident.type,
          reasons: [reason],
        };
      }
      case 'release-lock': {
        if (step.parentWorkflow !== 'none') return nestedReleaseLock(deps, step);
        try {
          const released = await deps.lock.releaseLock(step.cluster, step.incidentId, step.execution);
          const note = released
            ? `remediation lock for ${step.cluster} released`
            : `no remediation lock was held for ${step.cluster} (dry run, or expired)`;
          await deps.timeline.appendTimeline(step.incidentId, {
            actor: actor(step.workflow),
            action: 'lock-released',
            detail: note,
            result: String(released),
          });
          return { released, note };
        } catch (err) {
          if (!(err instanceof LockNotOwnedError)) throw err;
          // The lock expired and another incident took it, or the classifier moved it to another run: not ours to release.
          const note = `remediation lock for ${step.cluster} is held by another incident or run now; left in place`;
          await deps.timeline.appendTimeline(step.incidentId, {
            actor: actor(step.workflow),
            action: 'lock-not-owned',
            detail: note,
          });
          return { released: false, note };
        }
      }
      case 'act-on-lag':
        return actOnLag(
          deps.timeline,
          () => {
            if (!deps.lagClients)
              throw new ConfigurationError('the workflow steps Lambda has no SNS and Lambda clients (lagClients)');
            return deps.lagClients;
          },
          step,
        );
      case 'read-disk':
        return readDisk(deps, step);
      case 'cleanup-outcome':
        return cleanupOutcome(step);
      case 'storage-update':
        return storageUpdate(deps, step);
      case 'cascade-refresh': {
        const all = await withTaggedBrokers(deps, (step.input as { cluster?: unknown } | null)?.cluster);
        return refreshCascade(deps, (cluster) => configuredTarget(all, cluster), step);
      }
      case 'storage-plan':
        return storagePlan(
          {
            timeline: deps.timeline,
            heals: { recentHeals: deps.heals.recentHeals?.bind(deps.heals) ?? (async () => []) },
          },
          deps.now(),
          step,
        );
      case 'quorum-plan':
        return planFromCheck(
          (line) => deps.timeline.appendTimeline(step.incidentId, { actor: actor(step.workflow), ...line }),
          step,
        );
      case 'quorum-record': {
        const outcome = planStepOutcome(step.item, step.answer);
        await deps.timeline.appendTimeline(step.incidentId, { actor: actor(step.workflow), ...outcome.line });
        if (outcome.stop !== undefined) throw new RecoveryStopped(outcome.stop);
        return { recorded: true };
      }
    }
  };
}

let targetsCache: ClusterTarget[] | undefined;
let storeCache: Store | undefined;

function envNumber(name: string, fallback: number): number {
  const v = Number(process.env[name]);
  return Number.isFinite(v) && v > 0 ? v : fallback;
}

const startEscalation = ladderStarterFromEnv();

// Only a deployment with a cluster whose brokers are found by tag may describe instances.
const findInstances = process.env.FIND_TAGGED_BROKERS === 'true' ? ec2InstanceFinder(new EC2Client({})) : undefined;

// consumer-lag tells owning teams and calls scale hooks from here (act-on-lag).
const lagClients: LagActionClients = { sns: new SNSClient({}), lambda: new LambdaClient({}) };

const stepsHandler = (event: WorkflowStep) =>
  makeWorkflowStepsHandler({
    ...(startEscalation ? { startEscalation } : {}),
    lagClients,
    ...(findInstances ? { findInstances } : {}),
    ...(process.env.DEPLOYMENT ? { deployment: process.env.DEPLOYMENT } : {}),
    ...(storeCache ??= storeFromEnv()),
    targets: () =>
      (targetsCache ??= parseTargets(readBundledFile('WORKFLOW_TARGETS_FILE'), process.env.CLUSTER_STEPS_FUNCTIONS)),
    now: () => new Date(),
    diskCriticalPercent: envNumber('DISK_CRITICAL_PERCENT', DEFAULT_THRESHOLDS.diskCriticalPercent),
  })(event);

export const handler = withHouseMiddleware<WorkflowStep, StepResult>(
  (event: WorkflowStep, _context: Context) => stepsHandler(event),
  { schema: WorkflowStepSchema },
);
