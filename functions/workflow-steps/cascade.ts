// Incident-side steps of the cascade-recovery workflow (called through the workflow steps Lambda,
// functions/workflow-steps/handler.ts): resolve what the run acts on from the deployed
// configuration, and the exact actions a person approves when three or more brokers are down.
//
// A cascade can grow while its recovery runs: a broker that fails later joins the open incident
// (the classifier records it; the run it started keeps going). cascade-recovery re-reads the
// incident's brokers before it recovers anything and again after the last broker
// (refreshCascadeTarget): brokers that joined are planned and recovered by the same run, and a
// cascade that reached three brokers asks a person before it recovers any broker not yet approved.
//
// Producer throttling and the preferred leader election run Kafka's own CLI through the
// kafka-cli-action document on a broker host that is NOT being recovered (the first configured
// broker outside the incident). MSK has no such host: both steps are skipped there, with the
// reason on the timeline (MSK rebalances leaders itself, auto.leader.rebalance.enable).
import * as z from 'zod';
import type { IncidentRepo, Timeline } from '../shared/store/index.js';

/** The store pieces the cascade steps use. */
interface CascadeStore {
  incidents: Pick<IncidentRepo, 'get'>;
  timeline: Pick<Timeline, 'appendTimeline'>;
}
import { RecoveryTargetError } from '../shared/recovery-errors.js';

/** Three or more brokers down: the seed decision matrix needs a person (DESIGN.md rule 4). */
export const CASCADE_APPROVAL_BROKERS = 3;

/** The SSM document (runbooks/kafka-cli-action.yaml) that runs Kafka's CLI on a broker host. */
const cliDocument = 'kafka-cli-action';

/** Per-cluster settings cascade-recovery reads from the cluster's target entry (spread into ClusterTargetSchema). */
export const CascadeTargetFields = {
  /** Kafka installation on the broker hosts (bin/kafka-configs.sh, bin/kafka-leader-election.sh). */
  kafkaHome: z
    .string()
    .regex(/^(\/\.?[a-zA-Z0-9_-][a-zA-Z0-9._-]{0,63}){1,16}$/, 'expected an absolute path of plain segments')
    .default('/opt/kafka'),
  /** producer_byte_rate for the default client while brokers are recovered (kafka-cli-action refuses below 1024). */
  throttleProducerByteRate: z.number().int().min(1024).default(1_048_576),
};

export const CascadeInputSchema = z.looseObject({
  incidentId: z.string().min(1).max(80),
  cluster: z.string().min(1),
  brokerIds: z.array(z.number().int().nonnegative()).min(1),
  dryRun: z.boolean().default(false),
  severity: z.string().default('SEV-1'),
  incidentType: z.string().default('cascade-failure'),
  /** The classifier's decision; `await-approval` (offline partitions, cooldown, approval mode) asks a person whatever the broker count. */
  action: z.string().optional(),
  /** Carried between passes (refreshCascadeTarget): the decision asked for approval. */
  approvalRequired: z.boolean().optional(),
  /** Brokers a person has approved recovering in this run; a broker that joins later needs a new approval. */
  approvedBrokerIds: z.array(z.number().int().nonnegative()).default([]),
});

/** What cascade-recovery needs from a cluster's target entry (WORKFLOW_TARGETS_FILE). */
export interface CascadeClusterTarget {
  cluster: string;
  platform: 'ec2' | 'msk';
  clusterStepsFunction: string;
  brokers: { id: number; instanceId: string; listenerPort?: number | undefined }[];
  listenerPort: number;
  kafkaHome: string;
  throttleProducerByteRate: number;
  mskClusterArn?: string | undefined;
  commandConfig?: string | undefined;
}

export interface CascadeTarget {
  incidentId: string;
  cluster: string;
  platform: 'ec2' | 'msk';
  brokerIds: number[];
  brokerIdsText: string;
  needsApproval: boolean;
  /** The decision that started the run asked for approval (carried to later passes). */
  approvalRequired: boolean;
  /** Brokers already approved in this run (see CascadeInputSchema). */
  approvedBrokerIds: number[];
  severity: string;
  incidentType: string;
  dryRun: boolean;
  clusterStepsFunction: string;
  mskClusterArn: string | null;
  /** Where Kafka's CLI runs (throttle, leader election); available false on MSK or with no healthy host. */
  cli: {
    available: boolean;
    instanceId: string;
    bootstrapServer: string;
    kafkaHome: string;
    commandConfig: string;
    producerByteRate: string;
    reason: string;
  };
  approval: { summary: string; actions: string[] };
}

export function resolveCascadeTarget(raw: unknown, targetOf: (cluster: string) => CascadeClusterTarget): CascadeTarget {
  const parsed = CascadeInputSchema.safeParse(raw);
  if (!parsed.success) {
    throw new RecoveryTargetError(
      `execution input is not a cascade-recovery request: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(input)'}: ${i.message}`).join('; ')}`,
    );
  }
  return cascadeTarget(parsed.data, targetOf);
}

function cascadeTarget(
  input: z.output<typeof CascadeInputSchema>,
  targetOf: (cluster: string) => CascadeClusterTarget,
): CascadeTarget {
  const t = targetOf(input.cluster);
  if (t.platform === 'msk' && !t.mskClusterArn)
    throw new RecoveryTargetError(`cluster ${input.cluster} has no MSK cluster ARN configured`);
  const brokerIds = [...new Set(input.brokerIds)].sort((a, b) => a - b);
  if (t.platform === 'ec2') {
    const missing = brokerIds.filter((id) => !t.brokers.some((b) => b.id === id));
    if (missing.length > 0)
      throw new RecoveryTargetError(
        `no instance is configured for broker${missing.length > 1 ? 's' : ''} ${missing.join(', ')} of ${input.cluster} (brokers: [{id, instanceId}] in the config)`,
      );
  }
  const healthy = t.platform === 'ec2' ? t.brokers.find((b) => !brokerIds.includes(b.id)) : undefined;
  const cli = healthy
    ? {
        available: true,
        instanceId: healthy.instanceId,
        bootstrapServer: `localhost:${healthy.listenerPort ?? t.listenerPort}`,
        kafkaHome: t.kafkaHome,
        commandConfig: t.commandConfig ?? 'none',
        producerByteRate: String(t.throttleProducerByteRate),
        reason: `Kafka's CLI runs on broker ${healthy.id} (${healthy.instanceId}), which is not being recovered`,
      }
    : {
        available: false,
        instanceId: 'none',
        bootstrapServer: 'none',
        kafkaHome: t.kafkaHome,
        commandConfig: 'none',
        producerByteRate: String(t.throttleProducerByteRate),
        reason:
          t.platform === 'msk'
            ? "MSK: no broker host to run Kafka's CLI on; producers are not throttled and MSK rebalances leaders itself"
            : `no configured broker of ${input.cluster} outside the incident to run Kafka's CLI on; producers are not throttled and leaders are not re-elected`,
      };
  const approvalRequired = input.approvalRequired ?? input.action === 'await-approval';
  const approvedBrokerIds = [...new Set(input.approvedBrokerIds)].sort((a, b) => a - b);
  const list = brokerIds.join(', ');
  const child =
    t.platform === 'msk'
      ? 'msk-broker-recovery (MSK RebootBroker)'
      : 'broker-recovery (diagnose, then restart the Kafka service through SSM)';
  const actions = [
    ...(cli.available
      ? [
          `Throttle producers on ${input.cluster}: producer_byte_rate=${cli.producerByteRate} bytes/s for the default client (${cliDocument} set-producer-quota on ${cli.instanceId})`,
        ]
      : []),
    `Recover brokers ${list} one at a time, the active controller last, each with ${child}`,
    ...(cli.available
      ? [
          `Run a preferred leader election for all partitions (${cliDocument} on ${cli.instanceId})`,
          `Remove the producer throttle (${cliDocument} remove-producer-quota on ${cli.instanceId})`,
        ]
      : []),
    'Verify: all brokers up, partitions in sync and balanced, consumer lag below 1000',
  ];
  return {
    incidentId: input.incidentId,
    cluster: input.cluster,
    platform: t.platform,
    brokerIds,
    brokerIdsText: list,
    needsApproval:
      (brokerIds.length >= CASCADE_APPROVAL_BROKERS || approvalRequired) &&
      brokerIds.some((id) => !approvedBrokerIds.includes(id)),
    approvalRequired,
    approvedBrokerIds,
    severity: input.severity,
    incidentType: input.incidentType,
    dryRun: input.dryRun,
    clusterStepsFunction: t.clusterStepsFunction,
    mskClusterArn: t.mskClusterArn ?? null,
    cli,
    approval: {
      summary: `Cascade on ${input.cluster}: ${brokerIds.length} brokers down (${list}); recover them one at a time`,
      actions,
    },
  };
}

function approvalNote(t: CascadeTarget): string {
  if (!t.needsApproval) return '';
  return t.brokerIds.length >= CASCADE_APPROVAL_BROKERS
    ? `; ${t.brokerIds.length} brokers down, so the recovery waits for approval`
    : '; the decision asked for approval, so the recovery waits for it';
}

export function cascadeStartDetail(t: CascadeTarget): string {
  const approval = approvalNote(t);
  return `cascade-recovery for brokers ${t.brokerIdsText} of ${t.cluster} (${t.platform})${approval}; ${t.cli.reason}${t.dryRun ? ' (dry run: plans and records, mutates nothing)' : ''}`;
}

/** The run's target after re-reading the incident: `grown` says whether brokers joined since the last pass. */
export interface CascadeRefresh extends CascadeTarget {
  grown: 'yes' | 'no';
  /** Brokers of the incident that the run had not planned yet. */
  added: number[];
  /** The single-broker workflow that recovers each broker of this cluster (when `children` was given). */
  childArn?: string;
}

/** The single-broker recovery workflows, by platform (the cascade's BrokerRecovery / MskBrokerRecovery ARNs). */
const CascadeChildrenSchema = z.object({ ec2: z.string().min(1), msk: z.string().min(1) });

export const CascadeRefreshFields = {
  /** The run's current target (incidentId, cluster, brokerIds, dryRun, severity, incidentType, approvalRequired, approvedBrokerIds). */
  input: z.unknown(),
  /**
   * The refresh before the recovery: the run's brokers have just passed the approval gate (a
   * person approved them, or a dry run recorded the approval it would ask for), so they are the
   * approved ones from now on. A broker that joins later is asked for again.
   */
  passedApproval: z.boolean().optional(),
  /** The refresh before the recovery: which workflow recovers a broker; the platform's one comes back as childArn. */
  children: CascadeChildrenSchema.optional(),
};

/**
 * The cascade as the incident now stands: the run's brokers plus every broker recorded on the
 * incident since (pure; the incident's brokers are passed in).
 */
export function refreshCascadeTarget(
  raw: unknown,
  incidentBrokers: number[],
  targetOf: (cluster: string) => CascadeClusterTarget,
  pass: { passedApproval?: boolean | undefined; children?: z.output<typeof CascadeChildrenSchema> | undefined } = {},
): CascadeRefresh {
  const parsed = CascadeInputSchema.safeParse(raw);
  if (!parsed.success) {
    throw new RecoveryTargetError(
      `cascade-refresh input is not a cascade target: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(input)'}: ${i.message}`).join('; ')}`,
    );
  }
  const input = pass.passedApproval ? { ...parsed.data, approvedBrokerIds: parsed.data.brokerIds } : parsed.data;
  const added = [...new Set(incidentBrokers)].filter((id) => !input.brokerIds.includes(id)).sort((a, b) => a - b);
  const target = cascadeTarget({ ...input, brokerIds: [...input.brokerIds, ...added] }, targetOf);
  const child = pass.children ? { childArn: target.platform === 'msk' ? pass.children.msk : pass.children.ec2 } : {};
  return { ...target, grown: added.length > 0 ? 'yes' : 'no', added, ...child };
}

export function cascadeGrownDetail(r: CascadeRefresh): string {
  const approval = r.needsApproval ? approvalNote(r) : '; no approval needed';
  return `brokers ${r.added.join(', ')} joined the cascade while cascade-recovery ran: re-planning for brokers ${r.brokerIdsText}${approval}`;
}

/**
 * The start step: the requested brokers plus those that joined the incident between the decision
 * and this start (alarms for brokers failing close together land one after another), so the first
 * plan, and the first approval, already cover them.
 */
export async function startCascade(
  store: CascadeStore,
  targetOf: (cluster: string) => CascadeClusterTarget,
  raw: unknown,
): Promise<CascadeTarget> {
  const requested = resolveCascadeTarget(raw, targetOf);
  const incident = await store.incidents.get(requested.incidentId);
  const {
    grown: _grown,
    added,
    ...t
  } = refreshCascadeTarget(
    raw,
    incident.brokers.map((b) => b.id),
    targetOf,
  );
  const joined =
    added.length > 0 ? `; brokers ${added.join(', ')} joined the incident after the decision and are included` : '';
  await store.timeline.appendTimeline(t.incidentId, {
    actor: 'workflow:cascade-recovery',
    action: 'recovery-started',
    detail: `${cascadeStartDetail(t)}${joined}`,
  });
  return t;
}

/**
 * The cascade-refresh step: re-reads the incident's brokers; a grown cascade goes on the timeline.
 * Before the recovery it also takes the approval the brokers just passed and names the
 * single-broker workflow to run for each (`passedApproval`, `children`).
 */
export async function refreshCascade(
  store: CascadeStore,
  targetOf: (cluster: string) => CascadeClusterTarget,
  step: {
    workflow: string;
    incidentId: string;
    input: unknown;
    passedApproval?: boolean | undefined;
    children?: z.output<typeof CascadeChildrenSchema> | undefined;
  },
): Promise<CascadeRefresh> {
  const incident = await store.incidents.get(step.incidentId);
  const r = refreshCascadeTarget(
    step.input,
    incident.brokers.map((b) => b.id),
    targetOf,
    step,
  );
  if (r.grown === 'yes')
    await store.timeline.appendTimeline(step.incidentId, {
      actor: `workflow:${step.workflow}`,
      action: 'cascade-grown',
      detail: cascadeGrownDetail(r),
      result: r.needsApproval ? 'approval-needed' : 'continue',
    });
  return r;
}
