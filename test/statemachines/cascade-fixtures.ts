// Harness for cascade-recovery runs: the real step handlers, the real broker-recovery and
// msk-broker-recovery ASL as nested children, the real escalation-notify, the approvals binding,
// and a small stateful cluster the SSM / MSK bindings act on (a restart brings a broker back, the
// preferred leader election moves leadership back), so each probe sees what the actions did.
import { readFileSync } from 'node:fs';
import { ClusterStepSchema, makeClusterStepsHandler } from '#functions/cluster-steps/handler.js';
import type { ClusterSnapshot } from '#domain/snapshot.js';
import type { IncidentWithTimeline } from '#tools/incident-store.js';
import type { RawPartition } from '#shared/probe/analyze.js';
import { WorkflowStepSchema, makeWorkflowStepsHandler } from '#functions/workflow-steps/handler.js';
import { type ClusterTargetConfig } from '#contracts/workflow-targets.js';
import { ESCALATION_NOTIFY_ASL, escalationNotifySubstitutions } from '#infra/constructs/workflows.js';
import {
  APPROVAL_RESOURCE,
  RESOURCES,
  TaskError,
  approvalBinding,
  lambdaInvokeBinding,
  mskBindings,
  parseDefinition,
  recordCalls,
  runWorkflow,
  ssmBindings,
  startExecutionSyncBinding,
  type CommandOutcome,
  type DecideAnswer,
  type Json,
  type RunResult,
} from '#local/stepfunctions/index.js';
import type { ApprovalRequest } from '#functions/approvals/schema.js';
import {
  CLUSTER_STEPS,
  MSK_ARN,
  MemoryStore,
  SUBSTITUTIONS,
  aslText,
  diagnosisLine,
  ok,
  snapshot,
  ssmRunChild,
  watchApprovals,
  watchRun,
  type HistoryWatch,
} from './recovery-fixtures.js';
import { storePieces } from '../support/store-pieces.js';

export const CASCADE_SUBSTITUTIONS = {
  WorkflowStepsFunctionArn: SUBSTITUTIONS.WorkflowStepsFunctionArn,
  EscalationStateMachineArn: SUBSTITUTIONS.EscalationStateMachineArn,
  SsmRunStateMachineArn: SUBSTITUTIONS.SsmRunStateMachineArn,
  ApprovalFunctionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:kafka-heal-test-approval-request',
  CliActionDocumentName: 'kafka-heal-test-kafka-cli-action',
  BrokerRecoveryStateMachineArn: 'arn:aws:states:eu-west-1:123456789012:stateMachine:kafka-heal-test-broker-recovery',
  MskBrokerRecoveryStateMachineArn:
    'arn:aws:states:eu-west-1:123456789012:stateMachine:kafka-heal-test-msk-broker-recovery',
};
export const CLI = CASCADE_SUBSTITUTIONS.CliActionDocumentName;
export const DIAG = SUBSTITUTIONS.DiagnoseDocumentName;
export const RESTART = SUBSTITUTIONS.RestartDocumentName;
export const instanceOf = (id: number) => `i-0123456789abcdef${id}`;

/**
 * A topic with one partition per broker, each broker the preferred leader of one (three replicas,
 * rotated: 1,2,3 / 2,3,1 / 3,1,2 on three brokers), plus a watched consumer group.
 */
export class FakeCluster {
  readonly up: Set<number>;
  readonly leaders = new Map<number, number>();
  readonly replicas: number[][];
  lag = 0;
  controller: number | null = null;
  /** Brokers that never come back, whatever is done to them. */
  readonly broken = new Set<number>();

  constructor(
    readonly brokers: number[],
    down: number[],
  ) {
    this.replicas = brokers.map((_, p) => [0, 1, 2].map((k) => brokers[(p + k) % brokers.length] as number));
    this.up = new Set(brokers.filter((b) => !down.includes(b)));
    this.replicas.forEach((r, p) => this.leaders.set(p, r.find((b) => this.up.has(b)) ?? -1));
  }

  restart(id: number): void {
    if (!this.broken.has(id)) this.up.add(id);
    this.moveLeadersOffDownBrokers();
  }

  crash(id: number): void {
    this.up.delete(id);
    this.moveLeadersOffDownBrokers();
  }

  private moveLeadersOffDownBrokers(): void {
    this.replicas.forEach((r, p) => {
      if (!this.up.has(this.leaders.get(p) ?? -1)) this.leaders.set(p, r.find((b) => this.up.has(b)) ?? -1);
    });
  }

  electPreferred(): void {
    this.replicas.forEach((r, p) => {
      if (this.up.has(r[0] as number)) this.leaders.set(p, r[0] as number);
    });
  }

  snapshot(): ClusterSnapshot {
    const state = Object.fromEntries(this.brokers.map((b) => [b, this.up.has(b) ? 'up' : 'crashed'])) as Record<
      number,
      'up' | 'crashed'
    >;
    const parts: RawPartition[] = this.replicas.map((r, p) => ({
      topic: 'orders',
      partition: p,
      leader: this.leaders.get(p) ?? -1,
      replicas: r,
      isr: r.filter((b) => this.up.has(b)),
      offlineReplicas: [],
    }));
    const s = snapshot(state, parts, this.up.size === this.brokers.length ? 'healthy' : 'degraded');
    s.expectedBrokers = this.brokers.length;
    s.consumerGroups = [{ group: 'orders-app', totalLag: this.lag, partitions: [] }];
    if (this.controller !== null) s.controller = { id: this.controller, known: true, note: 'ZooKeeper' };
    return s;
  }
}

/** The incident's brokers as the classifier records them: a test grows them while the run goes on. */
export class CascadeStore extends MemoryStore {
  constructor(
    incidentId: string,
    cluster: string,
    holdLock: boolean,
    public brokers: number[],
  ) {
    super(incidentId, cluster, holdLock);
  }

  override async get(id: string): Promise<IncidentWithTimeline> {
    const incident = await super.get(id);
    return {
      ...incident,
      type: 'cascade-failure',
      severity: 'SEV-1',
      brokers: this.brokers.map((b) => ({ id: b, firstSeenAt: incident.openedAt })),
    };
  }
}

export interface CascadeScenario {
  brokerIds: number[];
  history?: HistoryWatch;
  /** The cluster's brokers (default 1, 2, 3). */
  clusterBrokers?: number[];
  /** The incident's brokers when the run starts (default: brokerIds). */
  incidentBrokers?: number[];
  /** The classifier's decision in the input (default none: an operator's start). */
  action?: 'remediate' | 'await-approval';
  down?: number[];
  platform?: 'ec2' | 'msk';
  dryRun?: boolean;
  decide?: (r: ApprovalRequest) => Promise<DecideAnswer> | DecideAnswer;
  /** Brokers whose host SSM cannot reach (stopped, or its agent offline). */
  offline?: number[];
  /** CLI action -> outcome override (e.g. a failed election). */
  cli?: Partial<Record<string, CommandOutcome>>;
  /** Called after every probe, to change the cluster (or the incident) between steps. */
  afterProbe?: (c: FakeCluster, n: number, store: CascadeStore) => void;
  /** Called after a broker is restarted (SSM restart or MSK reboot). */
  afterRestart?: (broker: number, c: FakeCluster, store: CascadeStore) => void;
  setup?: (c: FakeCluster) => void;
}

export interface CascadeRun {
  result: RunResult;
  store: CascadeStore;
  cluster: FakeCluster;
  calls: ReturnType<typeof recordCalls>['calls'];
  commands: ReturnType<typeof ssmBindings>['commands'];
  reboots: { clusterArn: string; brokerIds: string[] }[];
  approvals: ApprovalRequest[];
  published: Json[];
  states: string[];
  probeSteps: string[];
}

export async function runCascade(s: CascadeScenario): Promise<CascadeRun> {
  const platform = s.platform ?? 'ec2';
  const input = {
    incidentId: 'inc-orders-broker-2',
    cluster: 'orders',
    brokerIds: s.brokerIds,
    dryRun: s.dryRun ?? false,
    severity: 'SEV-1',
    incidentType: 'cascade-failure',
    ...(s.action ? { action: s.action } : {}),
  };
  const store = new CascadeStore('inc-orders-broker-2', 'orders', !input.dryRun, [
    ...(s.incidentBrokers ?? s.brokerIds),
  ]);
  const ids = s.clusterBrokers ?? [1, 2, 3];
  const cluster = new FakeCluster(ids, s.down ?? s.brokerIds);
  s.setup?.(cluster);
  const target: ClusterTargetConfig = {
    cluster: 'orders',
    platform,
    clusterStepsFunction: CLUSTER_STEPS,
    brokers: platform === 'ec2' ? ids.map((id) => ({ id, instanceId: instanceOf(id), listenerPort: 9090 + id })) : [],
    kafkaHome: '/opt/kafka',
    throttleProducerByteRate: 2048,
    ...(platform === 'msk' ? { mskClusterArn: MSK_ARN } : {}),
  };
  const workflowSteps = makeWorkflowStepsHandler({
    ...storePieces(store),
    targets: () => [target],
    now: () => new Date(),
    diskCriticalPercent: 90,
  });
  let probes = 0;
  const probeSteps: string[] = [];
  const clusterSteps = makeClusterStepsHandler({
    clusters: () => [{ name: 'orders', bootstrapServers: ['127.0.0.1:9092'], brokerCount: ids.length }],
    probe: async () => {
      const snap = cluster.snapshot();
      s.afterProbe?.(cluster, ++probes, store);
      return snap;
    },
    timeoutMs: 1000,
  });
  const ssm = ssmBindings({
    invisibleForPolls: 1,
    isManaged: (instanceId) => !(s.offline ?? []).some((b) => instanceOf(b) === instanceId),
    run: async (cmd) => {
      const broker = Number(cmd.instanceId.slice(-1));
      if (cmd.documentName === DIAG) return ok(diagnosisLine());
      if (cmd.documentName === RESTART) {
        cluster.restart(broker);
        s.afterRestart?.(broker, cluster, store);
        return ok(
          '{"result":"restarted","pid":4242,"previousPid":0,"service":"kafka","listenerPort":9092,"waitedSeconds":7}\n',
        );
      }
      if (cmd.documentName === CLI) {
        const action = cmd.parameters.Action?.[0] ?? '';
        const override = s.cli?.[action];
        if (override) return override;
        if (action === 'preferred-leader-election') cluster.electPreferred();
        return ok(
          `{"result":"ok","action":"${action}","exitCode":0,"bootstrapServer":"${cmd.parameters.BootstrapServer?.[0]}","output":""}\n`,
        );
      }
      throw new Error(`unexpected document ${cmd.documentName}`);
    },
  });
  const msk = mskBindings({
    clusterState: (arn) => (arn === MSK_ARN ? 'ACTIVE' : undefined),
    // MSK brokers run with auto.leader.rebalance.enable: leadership moves back on its own.
    reboot: async (_arn, brokerIds) => {
      cluster.restart(Number(brokerIds[0]));
      s.afterRestart?.(Number(brokerIds[0]), cluster, store);
      cluster.electPreferred();
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
  const approvals: ApprovalRequest[] = [];
  const approval = approvalBinding({
    decide: async (r) => {
      approvals.push(r);
      return s.decide ? s.decide(r) : { decision: 'approved', by: 'test:approver' };
    },
    timeScale: 0.0005,
    ...watchApprovals(s.history),
  });
  const states: string[] = [];
  // eslint-disable-next-line prefer-const -- bound after the registry that the children share
  let registry: ReturnType<typeof recordCalls>['registry'];
  const child = (name: 'broker-recovery' | 'msk-broker-recovery') => (childInput: Json) =>
    runWorkflow({
      definition: parseDefinition(aslText(name), { ...SUBSTITUTIONS }),
      input: childInput,
      bindings: registry,
      timeScale: 0.0005,
      onEvent: (e) => {
        if (e.type === 'StateEntered' && e.stateName) states.push(`${name}/${e.stateName}`);
      },
    });
  const recorded = recordCalls({
    [RESOURCES.lambdaInvoke]: lambdaInvokeBinding({
      [SUBSTITUTIONS.WorkflowStepsFunctionArn]: (payload: Json) => workflowSteps(WorkflowStepSchema.parse(payload)),
      [CLUSTER_STEPS]: async (payload: Json) => {
        const step = ClusterStepSchema.parse(payload);
        probeSteps.push(step.step);
        return clusterSteps(step);
      },
    }),
    [APPROVAL_RESOURCE]: approval,
    ...ssm.registry,
    ...msk.registry,
    [RESOURCES.startExecutionSync2]: startExecutionSyncBinding({
      [CASCADE_SUBSTITUTIONS.BrokerRecoveryStateMachineArn]: child('broker-recovery'),
      [CASCADE_SUBSTITUTIONS.MskBrokerRecoveryStateMachineArn]: child('msk-broker-recovery'),
      [SUBSTITUTIONS.SsmRunStateMachineArn]: ssmRunChild(() => registry),
      [SUBSTITUTIONS.EscalationStateMachineArn]: (childInput) =>
        runWorkflow({
          definition: escalation,
          input: childInput,
          timeScale: 0,
          bindings: {
            [RESOURCES.snsPublish]: (msg) => {
              if (msg === null) throw new TaskError('SNS.InvalidParameterException', 'no message');
              published.push(msg);
              return { MessageId: `m-${published.length}` };
            },
          },
        }),
    }),
  });
  registry = recorded.registry;
  const result = await runWorkflow({
    definition: parseDefinition(aslText('cascade-recovery'), CASCADE_SUBSTITUTIONS),
    input: input as Json,
    bindings: registry,
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
    cluster,
    calls: recorded.calls,
    commands: ssm.commands,
    reboots: msk.reboots,
    approvals,
    published,
    states,
    probeSteps,
  };
}

/** SSM commands that change something (everything but the read-only diagnosis). */
export function mutatingCommands(run: CascadeRun) {
  return run.commands.filter((c) => c.documentName !== DIAG);
}

export function cliActions(run: CascadeRun): string[] {
  return run.commands.filter((c) => c.documentName === CLI).map((c) => c.parameters.Action?.[0] ?? '?');
}

/** Steps the cascade itself called on the workflow steps Lambda (children excluded). */
export function cascadeSteps(run: CascadeRun): { step: string; workflow: string }[] {
  return run.calls
    .filter(
      (c) =>
        c.resource === RESOURCES.lambdaInvoke &&
        (c.input as { FunctionName?: string }).FunctionName === SUBSTITUTIONS.WorkflowStepsFunctionArn,
    )
    .map((c) => (c.input as { Payload: { step: string; workflow: string } }).Payload);
}
