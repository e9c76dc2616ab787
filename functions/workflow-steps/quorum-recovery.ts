// Incident-side steps of the quorum-recovery workflow (called through the workflow steps Lambda,
// functions/workflow-steps/handler.ts):
//
//   start         resolve the cluster's brokers, metadata mode and quorum hosts from the deployed
//                 configuration (every broker of the cluster takes part, not only the alarmed one)
//   quorum-plan   turn the restart order (the cluster steps' fresh probe: controller last) into the
//                 exact per-host commands of each phase -- stop, back up, restore the majority
//                 side, restart -- and the action lines every approval shows; timeline entry
//   read-quorum   read a kafka-cli-action describe-quorum result (KRaft): is there a leader?
//
// Restoring the majority side: in ZooKeeper mode the ZooKeeper servers are restarted one at a
// time (kafka-restart-broker with the ZooKeeper unit and client port), so members cut off on the
// minority side rejoin the ensemble and sync from the leader the majority elects; the brokers are
// stopped meanwhile, so no broker acts on a minority view. In KRaft mode (combined nodes) the
// controllers are the brokers: the quorum is restored by the broker restarts themselves.
import * as z from 'zod';
import { readQuorumStatus, recoveryRestartOrder, type QuorumStatus } from '../domain/quorum-recovery.js';
import type { MetadataMode } from '../domain/snapshot.js';
import { RecoveryTargetError, parseRecoveryInput } from '../shared/recovery-errors.js';
import { RunbookOutputError, parseRunbookOutput } from '../shared/runbook-output.js';

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

export const QuorumPlanStepFields = {
  target: z.custom<QuorumTarget>(
    (v) => typeof v === 'object' && v !== null && Array.isArray((v as QuorumTarget).brokers),
    'expected the target the start step returned',
  ),
  order: z.array(z.number().int().nonnegative()),
  controllerId: z.number().int().nullable().optional(),
  documents: QuorumDocumentsSchema,
};

export interface QuorumPlan {
  stop: (QuorumBroker & { timeoutSeconds: string })[];
  backup: { instanceId: string; mode: MetadataMode; dataDir: string; txnLogDir: string; backupDir: string }[];
  restore: QuorumMember[];
  restart: QuorumBroker[];
  hasRestore: boolean;
  actions: { stop: string[]; backup: string[]; restore: string[]; restart: string[] };
  summary: string;
}

export function planQuorumRecovery(
  target: QuorumTarget,
  order: readonly number[],
  controllerId: number | null,
  docs: QuorumDocuments,
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
  return {
    stop: ordered.map((b) => ({ ...b, timeoutSeconds: '120' })),
    backup,
    restore,
    restart: ordered,
    hasRestore: restore.length > 0,
    actions,
    summary,
  };
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
