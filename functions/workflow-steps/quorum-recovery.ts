// Incident-side steps of the quorum-recovery workflow (called through the workflow steps Lambda,
// functions/workflow-steps/handler.ts):
//
//   start         resolve the cluster's brokers, metadata mode and quorum hosts from the deployed
//                 configuration (every broker of the cluster takes part, not only the alarmed one)
//   quorum-plan   read the latest check: a kafka-cli-action describe-quorum result (KRaft) when the
//                 quorum itself was asked (is there a leader? after the restarts none is a failed
//                 recovery: RecoveryStopped); when the check before acting says the quorum is lost,
//                 turn the restart order (the cluster steps' fresh probe: controller last) into the
//                 exact per-host commands of each phase -- stop, back up, restore the majority
//                 side, restart -- and the approval before each destructive phase, as one list the
//                 workflow's Map runs in order; timeline entry. A dry run records the approvals
//                 and commands it would run and stops there (RecoveryStopped).
//   quorum-record the timeline line of one step of that list once it has run: the approval's
//                 answer (a refusal stops the recovery) or the command's output
//
// Restoring the majority side: in ZooKeeper mode the ZooKeeper servers are restarted one at a
// time (kafka-restart-broker with the ZooKeeper unit and client port), so members cut off on the
// minority side rejoin the ensemble and sync from the leader the majority elects; the brokers are
// stopped meanwhile, so no broker acts on a minority view. In KRaft mode (combined nodes) the
// controllers are the brokers: the quorum is restored by the broker restarts themselves.
import * as z from 'zod';
import { escalationReason } from '../domain/broker-recovery.js';
import { readQuorumStatus, recoveryRestartOrder, type QuorumStatus } from '../domain/quorum-recovery.js';
import type { MetadataMode } from '../domain/snapshot.js';
import { RecoveryStopped, RecoveryTargetError, parseRecoveryInput } from '../shared/recovery-errors.js';
import { RunbookOutputError, parseRunbookOutput } from '../shared/runbook-output.js';
import type { TimelineEntry } from '../shared/store/index.js';
import { classifyApproval } from './approval-decision.js';

const hostPath = z
  .string()
  .regex(/^(\/\.?[a-zA-Z0-9_-][a-zA-Z0-9._-]{0,63}){1,16}$/, 'expected an absolute path of plain segments');
const instanceId = z.string().regex(/^i-[0-9a-f]{8,17}$/);
const unit = z.string().regex(/^[a-zA-Z0-9_][a-zA-Z0-9@._-]{0,63}$/);

/** What the stack tells the workflow steps Lambda about a cluster's quorum (WORKFLOW_TARGETS_FILE `quorum`). */
export const QuorumTargetSchema = z.object({
  metadataMode: z.enum(['zookeeper', 'kraft']),
  zookeeper: z
    .array(
      z.object({
        instanceId,
        serviceName: unit.default('zookeeper'),
        clientPort: z.number().int().min(1).max(65535).default(2181),
        dataDir: hostPath.default('/var/lib/zookeeper'),
        txnLogDir: hostPath.optional(),
      }),
    )
    .default([]),
  /** The KRaft metadata log directory on broker hosts (metadata.log.dir or the first log.dirs). */
  metadataLogDir: hostPath.default('/var/lib/kafka/data'),
  /** Per-broker overrides of metadataLogDir (the local runtime runs several brokers on one machine). */
  brokerMetadataLogDirs: z.record(z.string().regex(/^\d+$/), hostPath).default({}),
  /** Kafka installation on the broker hosts (bin/kafka-metadata-quorum.sh). */
  kafkaHome: hostPath.default('/opt/kafka'),
  backupDir: hostPath.default('/var/backups/kafka-heal'),
});
export type QuorumTargetConfig = z.input<typeof QuorumTargetSchema>;

export const QuorumInputSchema = z.looseObject({
  incidentId: z.string().min(1).max(80),
  cluster: z.string().min(1),
  dryRun: z.boolean().default(false),
});

export interface QuorumBroker {
  brokerId: number;
  brokerIdText: string;
  instanceId: string;
  serviceName: string;
  listenerPort: string;
  serverProperties: string;
  metadataLogDir: string;
}

export interface QuorumMember {
  instanceId: string;
  serviceName: string;
  port: string;
  dataDir: string;
  txnLogDir: string;
}

export interface QuorumTarget {
  incidentId: string;
  cluster: string;
  metadataMode: MetadataMode;
  brokerIds: number[];
  brokers: QuorumBroker[];
  quorumMembers: QuorumMember[];
  clusterStepsFunction: string;
  /** The host that runs describe-quorum (the first broker's) and the listener it asks. */
  cliInstanceId: string;
  bootstrapServer: string;
  /** The client properties file Kafka's CLI connects with (a secured listener), or 'none'. */
  commandConfig: string;
  kafkaHome: string;
  backupDir: string;
  dryRun: boolean;
}

/** What the quorum start step needs from a cluster's target entry. */
export interface QuorumClusterTarget {
  cluster: string;
  platform: 'ec2' | 'msk';
  clusterStepsFunction: string;
  brokers: {
    id: number;
    instanceId: string;
    serverProperties?: string | undefined;
    listenerPort?: number | undefined;
  }[];
  serviceName: string;
  listenerPort: number;
  serverProperties: string;
  commandConfig?: string | undefined;
  quorum?: z.output<typeof QuorumTargetSchema> | undefined;
}

export function resolveQuorumTarget(raw: unknown, targetOf: (cluster: string) => QuorumClusterTarget): QuorumTarget {
  const input = parseRecoveryInput(QuorumInputSchema, raw, 'quorum-recovery');
  const t = targetOf(input.cluster);
  if (t.platform !== 'ec2')
    throw new RecoveryTargetError(
      `quorum-recovery runs on self-managed (ec2) clusters; ${input.cluster} is ${t.platform}: AWS manages its quorum`,
    );
  const q = t.quorum;
  if (!q)
    throw new RecoveryTargetError(
      `cluster ${input.cluster} has no quorum configuration (metadata mode, ZooKeeper hosts)`,
    );
  if (t.brokers.length === 0)
    throw new RecoveryTargetError(
      `cluster ${input.cluster} lists no brokers by instance id: a quorum recovery must reach every broker host`,
    );
  if (q.metadataMode === 'zookeeper' && q.zookeeper.length === 0)
    throw new RecoveryTargetError(`cluster ${input.cluster} is in ZooKeeper mode but lists no ZooKeeper hosts`);
  const brokers = [...t.brokers]
    .sort((a, b) => a.id - b.id)
    .map((b) => ({
      brokerId: b.id,
      brokerIdText: String(b.id),
      instanceId: b.instanceId,
      serviceName: t.serviceName,
      listenerPort: String(b.listenerPort ?? t.listenerPort),
      serverProperties: b.serverProperties ?? t.serverProperties,
      metadataLogDir: q.brokerMetadataLogDirs[String(b.id)] ?? q.metadataLogDir,
    }));
  const first = brokers[0] as QuorumBroker;
  return {
    incidentId: input.incidentId,
    cluster: input.cluster,
    metadataMode: q.metadataMode,
    brokerIds: brokers.map((b) => b.brokerId),
    brokers,
    quorumMembers: q.zookeeper.map((z) => ({
      instanceId: z.instanceId,
      serviceName: z.serviceName,
      port: String(z.clientPort),
      dataDir: z.dataDir,
      txnLogDir: z.txnLogDir ?? 'none',
    })),
    clusterStepsFunction: t.clusterStepsFunction,
    cliInstanceId: first.instanceId,
    bootstrapServer: `localhost:${first.listenerPort}`,
    commandConfig: t.commandConfig ?? 'none',
    kafkaHome: q.kafkaHome,
    backupDir: q.backupDir,
    dryRun: input.dryRun,
  };
}

export function quorumStartDetail(t: QuorumTarget): string {
  const quorum =
    t.metadataMode === 'zookeeper'
      ? `ZooKeeper hosts ${t.quorumMembers.map((m) => m.instanceId).join(', ')}`
      : 'KRaft (combined broker/controller nodes)';
  return `quorum-recovery for ${t.cluster}: brokers ${t.brokerIds.join(', ')}, ${quorum}${t.dryRun ? ' (dry run: plans and records, mutates nothing)' : ''}`;
}

/** SSM document names of each phase, as the workflow passes them (its definition substitutions). */
export const QuorumDocumentsSchema = z.object({
  stop: z.string().min(1),
  backup: z.string().min(1),
  restart: z.string().min(1),
});
export type QuorumDocuments = z.infer<typeof QuorumDocumentsSchema>;

/** Asks a person to approve the next phase (lambda:invoke.waitForTaskToken on the approval function). */
export interface QuorumApprovalStep {
  kind: 'approval';
  /** What is approved, as the timeline lines name it ('stopping every broker'). */
  subject: string;
  summary: string;
  actions: string[];
  evidence: string[];
}

/** Runs one SSM document on one host through the ssm-run workflow, then records its output. */
export interface QuorumCommandStep {
  kind: 'command';
  documentName: string;
  instanceId: string;
  /** The document's parameters, each a list of strings as SendCommand takes them. */
  parameters: Record<string, string[]>;
  /** What the command is, for people: ssm-run's failure cause starts with it. */
  label: string;
  hostKind: 'broker host' | 'ZooKeeper host';
  /** The timeline line once the command succeeded: its action, and the detail its output follows. */
  action: 'broker-stopped' | 'metadata-backed-up' | 'quorum-member-restarted' | 'broker-restarted';
  detail: string;
}

export type QuorumPlanStep = QuorumApprovalStep | QuorumCommandStep;

export interface QuorumPlan {
  /** What each approval shows, per phase; the plan's timeline entry lists them all. */
  actions: { stop: string[]; backup: string[]; restore: string[]; restart: string[] };
  summary: string;
  /** Every approval and host command, in the order they run: the workflow's Map, one at a time. */
  steps: QuorumPlanStep[];
}

/** What restarting a host of each kind means: the restart document serves both. */
const RESTART_BY_HOST_KIND = {
  'ZooKeeper host': {
    server: 'the ZooKeeper server',
    timeoutSeconds: '300',
    action: 'quorum-member-restarted',
    /** Several ZooKeeper units may share a host: the line names the unit. */
    detail: (doc: string, h: RestartHost) => `${doc} (${h.serviceName}) on ${h.instanceId}`,
  },
  'broker host': {
    server: 'the broker',
    timeoutSeconds: '600',
    action: 'broker-restarted',
    detail: (doc: string, h: RestartHost) => `${doc} on ${h.instanceId}`,
  },
} as const satisfies Record<
  QuorumCommandStep['hostKind'],
  {
    server: string;
    timeoutSeconds: string;
    action: QuorumCommandStep['action'];
    detail: (doc: string, h: RestartHost) => string;
  }
>;

/** The service the restart document starts on one host, and the broker id it must find there ('any': no broker). */
interface RestartHost {
  instanceId: string;
  serviceName: string;
  listenerPort: string;
  expectedBrokerId: string;
  /** Brokers only: the server.properties that names the broker id. */
  serverProperties?: string;
}

/** One restart of the plan (a ZooKeeper server rejoining the majority, or a broker), as the Map runs it. */
function restartStep(documentName: string, hostKind: QuorumCommandStep['hostKind'], h: RestartHost): QuorumCommandStep {
  const kind = RESTART_BY_HOST_KIND[hostKind];
  return {
    kind: 'command',
    documentName,
    instanceId: h.instanceId,
    parameters: {
      ServiceName: [h.serviceName],
      ListenerPort: [h.listenerPort],
      ExpectedBrokerId: [h.expectedBrokerId],
      TimeoutSeconds: [kind.timeoutSeconds],
      ...(h.serverProperties === undefined ? {} : { ServerProperties: [h.serverProperties] }),
    },
    label: `restarting ${kind.server} on ${h.instanceId}`,
    hostKind,
    action: kind.action,
    detail: kind.detail(documentName, h),
  };
}

export function planQuorumRecovery(
  target: QuorumTarget,
  order: readonly number[],
  controllerId: number | null,
  docs: QuorumDocuments,
  evidence: string,
): QuorumPlan {
  // Every configured broker takes part; the probe's order puts the controller last, and brokers
  // the probe did not report are added in id order before it.
  const ids = recoveryRestartOrder(
    [...order, ...target.brokerIds].filter((id) => target.brokerIds.includes(id)),
    controllerId,
  );
  const byId = new Map(target.brokers.map((b) => [b.brokerId, b]));
  const ordered = ids.map((id) => byId.get(id) as QuorumBroker);
  const backup =
    target.metadataMode === 'zookeeper'
      ? target.quorumMembers.map((m) => ({
          instanceId: m.instanceId,
          mode: 'zookeeper' as const,
          dataDir: m.dataDir,
          txnLogDir: m.txnLogDir,
          backupDir: target.backupDir,
        }))
      : ordered.map((b) => ({
          instanceId: b.instanceId,
          mode: 'kraft' as const,
          dataDir: b.metadataLogDir,
          txnLogDir: 'none',
          backupDir: target.backupDir,
        }));
  const restore = target.metadataMode === 'zookeeper' ? target.quorumMembers : [];
  const actions = {
    stop: ordered.map(
      (b) =>
        `${docs.stop} on ${b.instanceId}: stop broker ${b.brokerId} (ServiceName ${b.serviceName}, ExpectedBrokerId ${b.brokerId}, SIGKILL after 120 s)`,
    ),
    backup: backup.map(
      (x) => `${docs.backup} on ${x.instanceId}: archive the ${x.mode} metadata in ${x.dataDir} to ${x.backupDir}`,
    ),
    restore: restore.map(
      (m) =>
        `${docs.restart} on ${m.instanceId}: restart ZooKeeper (ServiceName ${m.serviceName}, client port ${m.port}) so it rejoins the majority`,
    ),
    restart: ordered.map(
      (b, i) =>
        `${docs.restart} on ${b.instanceId}: start broker ${b.brokerId} (ServiceName ${b.serviceName}, ListenerPort ${b.listenerPort})${i === ordered.length - 1 && controllerId === b.brokerId ? ', the controller, last' : ''}`,
    ),
  };
  const summary =
    `stop brokers ${ids.join(', ')}; back up ${target.metadataMode} metadata on ${backup.length} host(s); ` +
    `${restore.length > 0 ? `restart ZooKeeper on ${restore.map((m) => m.instanceId).join(', ')} one at a time` : 'the KRaft controllers restart with their brokers'}; ` +
    `restart brokers ${ids.join(', ')} one at a time${controllerId === null ? '' : ` (controller ${controllerId} last)`}; validate`;
  const backupHost = target.metadataMode === 'zookeeper' ? 'ZooKeeper host' : 'broker host';
  const approval = (subject: string, summary: string, lines: string[], shown: string[]): QuorumApprovalStep => ({
    kind: 'approval',
    subject,
    summary,
    actions: lines,
    evidence: shown,
  });
  const steps: QuorumPlanStep[] = [
    approval(
      'stopping every broker',
      `Stop every broker of ${target.cluster} so none acts on a split or lost quorum while it is restored`,
      actions.stop,
      [evidence],
    ),
    ...ordered.map((b): QuorumCommandStep => ({
      kind: 'command',
      documentName: docs.stop,
      instanceId: b.instanceId,
      parameters: {
        ServiceName: [b.serviceName],
        TimeoutSeconds: ['120'],
        ExpectedBrokerId: [b.brokerIdText],
        ServerProperties: [b.serverProperties],
      },
      label: `stopping the broker on ${b.instanceId}`,
      hostKind: 'broker host',
      action: 'broker-stopped',
      detail: `${docs.stop} on ${b.instanceId}`,
    })),
    ...backup.map((x): QuorumCommandStep => ({
      kind: 'command',
      documentName: docs.backup,
      instanceId: x.instanceId,
      parameters: { Mode: [x.mode], DataDir: [x.dataDir], TxnLogDir: [x.txnLogDir], BackupDir: [x.backupDir] },
      label: `backing up the metadata on ${x.instanceId}`,
      hostKind: backupHost,
      action: 'metadata-backed-up',
      detail: `${docs.backup} on ${x.instanceId}`,
    })),
    ...(restore.length > 0
      ? [
          approval(
            'restarting the ZooKeeper servers',
            `Restart the ZooKeeper servers of ${target.cluster} one at a time so the minority side rejoins the majority (brokers stay stopped; metadata backed up)`,
            actions.restore,
            actions.backup,
          ),
        ]
      : []),
    ...restore.map((m) =>
      restartStep(docs.restart, 'ZooKeeper host', {
        instanceId: m.instanceId,
        serviceName: m.serviceName,
        listenerPort: m.port,
        expectedBrokerId: 'any',
      }),
    ),
    approval(
      'restarting the brokers',
      `Start the brokers of ${target.cluster} one at a time, the active controller last, then validate the quorum`,
      actions.restart,
      actions.backup,
    ),
    ...ordered.map((b) =>
      restartStep(docs.restart, 'broker host', {
        instanceId: b.instanceId,
        serviceName: b.serviceName,
        listenerPort: b.listenerPort,
        expectedBrokerId: b.brokerIdText,
        serverProperties: b.serverProperties,
      }),
    ),
  ];
  return { actions, summary, steps };
}

export interface TimelineLine {
  action: string;
  detail: string;
  result: string;
}

/** The reason a dry run stops with, once its plan is on the timeline. */
export const QUORUM_DRY_RUN_REASON = 'dry run: the quorum recovery was planned and recorded, not performed';

/** The timeline lines of a dry run: the approvals it would ask for and the commands it would run. */
export function dryRunLines(plan: QuorumPlan): TimelineLine[] {
  return [
    {
      action: 'approval-planned',
      detail:
        'would ask a person to approve each destructive step: stopping the brokers, restoring the quorum, restarting the brokers',
      result: 'dry-run',
    },
    { action: 'planned-action', detail: `would ${plan.summary}`, result: 'dry-run' },
  ];
}

/** A step's failure as the Catch hands it on ({ Error, Cause }). */
const CaughtErrorSchema = z.object({ Error: z.string(), Cause: z.string().nullish() });

export const QuorumRecordStepFields = {
  item: z.custom<QuorumPlanStep>(
    (v) => typeof v === 'object' && v !== null && ['approval', 'command'].includes((v as QuorumPlanStep).kind),
    'expected one step of the quorum plan',
  ),
  /** The approval's answer (or its ApprovalRejected / States.Timeout error), or the command's output. */
  answer: z.union([CaughtErrorSchema, z.looseObject({ by: z.string() }), z.object({ stdout: z.string() })]),
};

/**
 * The timeline line of one step of the plan once it has run. An approval is classified as every
 * approval gate is (classifyApproval), in this workflow's wording: one rejected or not answered
 * in time stops the recovery, with the reason the escalation path reads from the approval's error.
 */
export function planStepOutcome(
  item: QuorumPlanStep,
  answer: z.infer<(typeof QuorumRecordStepFields)['answer']>,
): ReturnType<typeof classifyApproval> {
  if (item.kind === 'command') {
    const stdout = 'stdout' in answer ? answer.stdout : '';
    return { line: { action: item.action, detail: `${item.detail}: ${stdout}`.slice(0, 2000), result: 'success' } };
  }
  return classifyApproval(
    'Error' in answer
      ? (answer as z.infer<typeof CaughtErrorSchema>)
      : { approvedBy: 'by' in answer ? answer.by : 'someone' },
    {
      granted: (by) => `${by} approved ${item.subject}`,
      rejected: (cause) => `${item.subject} was rejected: ${cause ?? ''}`.slice(0, 2000),
      timedOut: `nobody approved ${item.subject} within the approval window (1 hour)`,
    },
  );
}

/**
 * The latest check of the quorum as the workflow carries it: the cluster steps' confirmation
 * (phase confirm: quorum-lost, check-quorum, false-alarm) or verification (phase validate:
 * verified), or the answer of describe-quorum to either (readQuorumCheck).
 */
export const QuorumCheckSchema = z.object({
  phase: z.enum(['confirm', 'validate']),
  verdict: z.string().max(40),
  controllerId: z.number().int().nullable(),
  order: z.array(z.number().int().nonnegative()),
  summary: z.string().max(30_000),
  at: z.string().max(40),
});
export type QuorumCheck = z.infer<typeof QuorumCheckSchema>;

/** What the ssm-run child running describe-quorum returned (its stdout), or how it failed (the Catch's { Error, Cause }). */
const DescribeQuorumCommandSchema = z.union([z.looseObject({ stdout: z.string() }), CaughtErrorSchema]);

export const QuorumPlanStepFields = {
  /** The cluster by name, as the approvals show it (the workflow keeps the target without it). */
  cluster: z.string().min(1),
  target: z.custom<QuorumTarget>(
    (v) => typeof v === 'object' && v !== null && Array.isArray((v as QuorumTarget).brokers),
    'expected the target the start step returned',
  ),
  /** The latest check, with describe-quorum's answer (command) when the quorum itself was asked. */
  check: QuorumCheckSchema.extend({ command: DescribeQuorumCommandSchema.optional() }),
  documents: QuorumDocumentsSchema,
};
export type QuorumPlanStepInput = z.infer<z.ZodObject<typeof QuorumPlanStepFields>> & { incidentId: string };

/** The check once read, and the plan when it says the quorum is lost (null otherwise). */
export type PlannedCheck = QuorumCheck & { plan: Pick<QuorumPlan, 'steps' | 'summary'> | null };

/**
 * The plan step: reads describe-quorum's answer when the check carries one (its line on the
 * timeline, then the check it answers: readQuorumCheck), and when the check before acting says
 * the quorum is lost, plans every approval and command, in order, with its timeline entry.
 * Safety rule 8: a dry run records the approvals and commands it would run and stops there
 * (RecoveryStopped). Any other check is returned as read, with no plan.
 */
export async function planFromCheck(
  append: (line: Omit<TimelineEntry, 'actor' | 'at'>) => Promise<unknown>,
  step: QuorumPlanStepInput,
): Promise<PlannedCheck> {
  const { command, ...asked } = step.check;
  let check: QuorumCheck = asked;
  if (command !== undefined) {
    const status = readQuorumOutput(describeQuorumOutput(command, step.target.cliInstanceId));
    await append({
      action: 'quorum-described',
      detail: status.summary,
      result: status.led ? 'led' : 'no-leader',
      reasons: [`phase: ${check.phase}`],
    });
    check = readQuorumCheck(check, status);
  }
  if (check.phase !== 'confirm' || check.verdict !== 'quorum-lost') return { ...check, plan: null };
  const plan = planQuorumRecovery(
    { ...step.target, cluster: step.cluster },
    check.order,
    check.controllerId,
    step.documents,
    check.summary,
  );
  await append({
    action: 'recovery-planned',
    detail: plan.summary,
    reasons: [...plan.actions.stop, ...plan.actions.backup, ...plan.actions.restore, ...plan.actions.restart],
  });
  if (step.target.dryRun) {
    for (const line of dryRunLines(plan)) await append(line);
    throw new RecoveryStopped(QUORUM_DRY_RUN_REASON);
  }
  return { ...check, plan: { steps: plan.steps, summary: plan.summary } };
}

/**
 * The check once the quorum itself has answered. Before acting (confirm): a leader means a false
 * alarm (its description is the summary the incident is resolved with), none a lost quorum (the
 * probe's summary stays: it is the evidence the stop approval shows). After the restarts
 * (validate): a leader means restored (the verification's summary stays), none stops the recovery.
 */
export function readQuorumCheck(check: QuorumCheck, status: QuorumStatus): QuorumCheck {
  if (check.phase === 'validate') {
    if (!status.led)
      throw new RecoveryStopped(`the brokers are back but the KRaft quorum has no leader: ${status.summary}`);
    return { ...check, verdict: 'restored' };
  }
  return status.led
    ? { ...check, verdict: 'false-alarm', summary: status.summary }
    : { ...check, verdict: 'quorum-lost' };
}

/**
 * The standard output of a describe-quorum run, whether it succeeded or failed: a failed describe
 * (no quorum answers) prints its result line like a successful one. ssm-run ends a failed command
 * in CommandFailed whose cause is '<label> ended <status> (exit code <n>): <stdout>'; the child's
 * error reaches the parent as States.TaskFailed describing the child execution. A host SSM cannot
 * reach, or any other failure, is no answer at all: the recovery stops with that reason.
 */
export function describeQuorumOutput(command: z.infer<typeof DescribeQuorumCommandSchema>, instanceId: string): string {
  if ('stdout' in command) return command.stdout;
  let child: { Error?: unknown; Cause?: unknown } = {};
  try {
    child = JSON.parse(command.Cause ?? '') as typeof child;
  } catch {
    // Not a child execution's failure: escalated as it is below.
  }
  if (command.Error === 'States.TaskFailed' && child.Error === 'CommandFailed' && typeof child.Cause === 'string') {
    const head = / ended \S+ \(exit code -?\d+\): /.exec(child.Cause);
    if (head) return child.Cause.slice(head.index + head[0].length);
  }
  if (command.Error === 'States.TaskFailed' && child.Error === 'HostUnreachable')
    throw new RecoveryStopped(`the quorum cannot be described: broker host ${instanceId} is unreachable through SSM`);
  throw new RecoveryStopped(escalationReason({ error: command }));
}

/** Reads describe-quorum output; an unreadable line is a failed check, not an error. */
export function readQuorumOutput(stdout: string): QuorumStatus {
  try {
    return readQuorumStatus(parseRunbookOutput(stdout));
  } catch (err) {
    if (!(err instanceof RunbookOutputError)) throw err;
    return { led: false, leaderId: null, summary: `describe-quorum printed no result: ${err.message}` };
  }
}
