// Harness for the consumer-lag and quorum-recovery workflow tests: the real step handlers in
// process (input validated by the same zod schemas middy applies), the in-memory incident store
// and snapshot helpers of recovery-fixtures.ts, SSM with its asynchronous semantics, the local
// approval binding (functions/approvals contract), SNS and the scale hook recorded (reached by the
// workflow steps Lambda's own SNS and Lambda clients, as in AWS), and the real escalation-notify
// ASL as the nested escalation.
import { readFileSync } from 'node:fs';
import { expect } from 'vitest';
import { ClusterStepsEventSchema, makeClusterStepsHandler } from '#functions/cluster-steps/handler.js';
import type { EnsembleObservation } from '#domain/quorum-recovery.js';
import type { ClusterSnapshot, ConsumerGroupLag } from '#domain/snapshot.js';
import { WorkflowStepSchema, makeWorkflowStepsHandler } from '#functions/workflow-steps/handler.js';
import { type ClusterTargetConfig } from '#contracts/workflow-targets.js';
import type { LagActionClients } from '#functions/workflow-steps/consumer-lag.js';
import { ESCALATION_NOTIFY_ASL, escalationNotifySubstitutions } from '#infra/constructs/workflows.js';
import { lambdaClientDouble, snsClientDouble } from '#local/drill/aws-doubles.js';
import { APPROVAL_RESOURCE, approvalBinding, type DecideAnswer } from '#local/stepfunctions/approvals.js';
import {
  RESOURCES,
  TaskError,
  lambdaInvokeBinding,
  parseDefinition,
  recordCalls,
  runWorkflow,
  ssmBindings,
  startExecutionSyncBinding,
  type CommandOutcome,
  type CommandRun,
  type Json,
  type RunResult,
} from '#local/stepfunctions/index.js';
import {
  ACCOUNT,
  CLUSTER_STEPS,
  MemoryStore,
  SUBSTITUTIONS as BROKER_SUBSTITUTIONS,
  aslText,
  ssmRunChild,
  watchApprovals,
  watchRun,
  type HistoryWatch,
} from './recovery-fixtures.js';
import { storePieces } from '../support/store-pieces.js';

export const INCIDENT = 'inc-orders-h4';
export const CRITICAL_TOPIC = 'arn:aws:sns:eu-west-1:123456789012:critical';
export const TEAM_TOPIC = 'arn:aws:sns:eu-west-1:123456789012:payments-team';
export const HOOK_TOPIC = 'arn:aws:sns:eu-west-1:123456789012:payments-scale';
export const HOOK_FUNCTION = `${ACCOUNT}:payments-scaler`;

export const LAG_SUBSTITUTIONS = {
  WorkflowStepsFunctionArn: BROKER_SUBSTITUTIONS.WorkflowStepsFunctionArn,
  EscalationStateMachineArn: BROKER_SUBSTITUTIONS.EscalationStateMachineArn,
};
export const QUORUM_SUBSTITUTIONS = {
  ...LAG_SUBSTITUTIONS,
  SsmRunStateMachineArn: BROKER_SUBSTITUTIONS.SsmRunStateMachineArn,
  ApprovalFunctionArn: `${ACCOUNT}:kafka-heal-test-approval-request`,
  StopDocumentName: 'kafka-heal-test-kafka-stop-broker',
  BackupDocumentName: 'kafka-heal-test-kafka-backup-metadata',
  RestartDocumentName: 'kafka-heal-test-kafka-restart-broker',
  CliDocumentName: 'kafka-heal-test-kafka-cli-action',
};

export const BROKER_INSTANCES: Record<number, string> = {
  1: 'i-0123456789abcdef1',
  2: 'i-0123456789abcdef2',
  3: 'i-0123456789abcdef3',
};
export const ZK_INSTANCES = ['i-00000000000000a01', 'i-00000000000000a02', 'i-00000000000000a03'];

export function clusterTarget(over: Partial<ClusterTargetConfig> = {}): ClusterTargetConfig {
  return {
    cluster: 'orders',
    platform: 'ec2',
    clusterStepsFunction: CLUSTER_STEPS,
    brokers: Object.entries(BROKER_INSTANCES).map(([id, instanceId]) => ({
      id: Number(id),
      instanceId,
      serverProperties: `/srv/kafka-${id}/server.properties`,
    })),
    serviceName: 'kafka',
    listenerPort: 9092,
    consumerGroups: [{ name: 'payments', ownerTeam: 'payments', ownerTopicArn: TEAM_TOPIC, maxOffsetLag: 1000 }],
    quorum: {
      metadataMode: 'zookeeper',
      zookeeper: ZK_INSTANCES.map((instanceId) => ({ instanceId, dataDir: '/var/lib/zookeeper' })),
    },
    ...over,
  };
}

/** The snapshot with the group's offsets: per partition [committed, end]. */
export function withGroup(
  base: () => ClusterSnapshot,
  offsets: [number, number][],
  members = 2,
  group = 'payments',
): () => ClusterSnapshot {
  return () => {
    const s = base();
    const g: ConsumerGroupLag = {
      group,
      members,
      state: members > 0 ? 'Stable' : 'Empty',
      totalLag: offsets.reduce((sum, [c, e]) => sum + Math.max(0, e - c), 0),
      partitions: offsets.map(([committedOffset, endOffset], partition) => ({
        topic: 'payments',
        partition,
        committedOffset,
        endOffset,
        lag: Math.max(0, endOffset - committedOffset),
      })),
    };
    return { ...s, consumerGroups: [g] };
  };
}

export interface H4Scenario {
  workflow: 'consumer-lag' | 'quorum-recovery';
  history?: HistoryWatch;
  input?: Record<string, unknown>;
  target?: ClusterTargetConfig;
  /** Snapshots the probe returns, in order; the last one repeats. */
  probes: (() => ClusterSnapshot)[];
  /** SSM document name -> outcome, or a function of the command. */
  commands?: Record<string, CommandOutcome | ((cmd: CommandRun) => CommandOutcome)>;
  managed?: (instanceId: string) => boolean;
  /** Answers of the approvals, in order; missing answers approve. */
  approvals?: DecideAnswer[];
  /** Topics whose publish fails. */
  snsDown?: string[];
  scaleHookFails?: boolean;
  holdLock?: boolean;
  /** ZooKeeper mode: what each ensemble server answers the cluster steps (absent: not configured). */
  ensemble?: EnsembleObservation;
}

export interface H4Run {
  result: RunResult;
  store: MemoryStore;
  calls: ReturnType<typeof recordCalls>['calls'];
  commands: (CommandRun & { commandId: string; stateName: string })[];
  /** SNS publishes of the workflow itself (team notifications, scale requests). */
  published: { TopicArn: string; Subject?: string; Message: string }[];
  /** Publishes of the nested escalation-notify (the operators). */
  escalations: Json[];
  hookCalls: Json[];
  approvals: ReturnType<typeof approvalBinding>['requests'];
  probeSteps: string[];
  states: string[];
}

export async function runH4(s: H4Scenario): Promise<H4Run> {
  const input = {
    incidentId: INCIDENT,
    cluster: 'orders',
    brokerIds: [],
    dryRun: false,
    severity: 'SEV-2',
    ...s.input,
  };
  const store = new MemoryStore(INCIDENT, 'orders', s.holdLock ?? !input.dryRun);
  const target = s.target ?? clusterTarget();
  const hookCalls: Json[] = [];
  const published: H4Run['published'] = [];
  const publish = (msg: Json): Json => {
    const m = msg as { TopicArn: string; Message: string };
    if (s.snsDown?.includes(m.TopicArn)) throw new TaskError('SNS.NotFoundException', 'Topic does not exist');
    published.push(m);
    return { MessageId: `m-${published.length}` };
  };
  const workflowSteps = makeWorkflowStepsHandler({
    ...storePieces(store),
    targets: () => [target],
    now: () => new Date(),
    diskCriticalPercent: 90,
    lagClients: {
      sns: snsClientDouble(publish) as LagActionClients['sns'],
      lambda: lambdaClientDouble({
        [HOOK_FUNCTION]: (payload: Json) => {
          hookCalls.push(payload);
          if (s.scaleHookFails) throw Object.assign(new Error('scaler is broken'), { name: 'ScalerError' });
          return { scaled: true };
        },
      }) as LagActionClients['lambda'],
    },
  });
  let probeIndex = 0;
  const probeSteps: string[] = [];
  const clusterSteps = makeClusterStepsHandler({
    clusters: () => [{ name: 'orders', bootstrapServers: ['127.0.0.1:9092'], brokerCount: 3 }],
    probe: async () => (s.probes[Math.min(probeIndex++, s.probes.length - 1)] as () => ClusterSnapshot)(),
    timeoutMs: 1000,
    ...(s.ensemble ? { ensemble: async () => s.ensemble } : {}),
  });
  const ssm = ssmBindings({
    invisibleForPolls: 1,
    isManaged: (id) => s.managed?.(id) ?? true,
    run: async (cmd) => {
      const outcome = s.commands?.[cmd.documentName];
      if (outcome === undefined) throw new Error(`no outcome scripted for ${cmd.documentName}`);
      return typeof outcome === 'function' ? outcome(cmd) : outcome;
    },
  });
  const escalations: Json[] = [];
  const escalation = parseDefinition(
    readFileSync(ESCALATION_NOTIFY_ASL, 'utf8'),
    escalationNotifySubstitutions({
      criticalTopicArn: CRITICAL_TOPIC,
      warningTopicArn: 'arn:aws:sns:eu-west-1:123456789012:warning',
    }),
  );
  const answers = [...(s.approvals ?? [])];
  const approval = approvalBinding({
    decide: () => answers.shift() ?? { decision: 'approved', by: 'test:operator' },
    timeoutMs: 300,
    ...watchApprovals(s.history),
  });
  const registry = {
    [RESOURCES.lambdaInvoke]: lambdaInvokeBinding({
      [LAG_SUBSTITUTIONS.WorkflowStepsFunctionArn]: (payload: Json) => workflowSteps(WorkflowStepSchema.parse(payload)),
      [CLUSTER_STEPS]: async (payload: Json) => {
        const step = ClusterStepsEventSchema.parse(payload);
        probeSteps.push(step.step);
        return clusterSteps(step as Parameters<typeof clusterSteps>[0]);
      },
    }),
    ...ssm.registry,
    [APPROVAL_RESOURCE]: approval,
    [RESOURCES.snsPublish]: publish,
    [RESOURCES.startExecutionSync2]: startExecutionSyncBinding({
      // Each SSM command runs to its end in the real ssm-run workflow, with the recorded bindings.
      [BROKER_SUBSTITUTIONS.SsmRunStateMachineArn]: ssmRunChild(() => recorded.registry),
      [LAG_SUBSTITUTIONS.EscalationStateMachineArn]: (childInput) =>
        runWorkflow({
          definition: escalation,
          input: childInput,
          timeScale: 0,
          bindings: {
            [RESOURCES.snsPublish]: (msg) => {
              escalations.push(msg);
              return { MessageId: `e-${escalations.length}` };
            },
          },
        }),
    }),
  };
  const recorded = recordCalls(registry);
  const subs = s.workflow === 'consumer-lag' ? LAG_SUBSTITUTIONS : QUORUM_SUBSTITUTIONS;
  const states: string[] = [];
  const result = await runWorkflow({
    definition: parseDefinition(aslText(s.workflow), subs),
    input: input as Json,
    bindings: recorded.registry,
    timeScale: 0.0005,
    ...watchRun(s.history),
    onEvent: (e) => {
      s.history?.event(e);
      if (e.type === 'StateEntered' && e.stateName) states.push(e.stateName);
    },
  });
  await ssm.settled();
  return {
    result,
    store,
    calls: recorded.calls,
    commands: ssm.commands,
    published,
    escalations,
    hookCalls,
    approvals: approval.requests,
    probeSteps,
    states,
  };
}

export function stepsCalled(run: H4Run): string[] {
  return run.calls
    .filter(
      (c) =>
        c.resource === RESOURCES.lambdaInvoke &&
        (c.input as { FunctionName?: string }).FunctionName === LAG_SUBSTITUTIONS.WorkflowStepsFunctionArn,
    )
    .map((c) => (c.input as { Payload: { step: string } }).Payload.step);
}

/** release-lock is the last step, called once, and the lock is gone. */
export function expectLockReleasedLast(run: H4Run): void {
  expect(stepsCalled(run).at(-1)).toBe('release-lock');
  expect(stepsCalled(run).filter((s) => s === 'release-lock')).toHaveLength(1);
  expect(run.store.lock).toBeUndefined();
}

export const actions = (run: H4Run) => run.store.timeline.map((e) => e.action);
export const finalState = (run: H4Run) => run.states.at(-1);
