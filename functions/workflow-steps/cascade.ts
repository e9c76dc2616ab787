// Incident-side steps of the cascade-recovery workflow (called through the workflow steps Lambda,
// functions/workflow-steps/handler.ts): resolve what the run acts on from the deployed
// configuration, and the exact actions a person approves when three or more brokers are down.
//
// Producer throttling and the preferred leader election run Kafka's own CLI through the
// kafka-cli-action document on a broker host that is NOT being recovered (the first configured
// broker outside the incident). MSK has no such host: both steps are skipped there, with the
// reason on the timeline (MSK rebalances leaders itself, auto.leader.rebalance.enable).
import * as z from 'zod';
import { RecoveryTargetError } from '../shared/recovery-errors.js';

/** Three or more brokers down: the seed decision matrix needs a person (DESIGN.md rule 4). */
export const CASCADE_APPROVAL_BROKERS = 3;

/** The SSM document (runbooks/kafka-cli-action.yaml) that runs Kafka's CLI on a broker host. */
const cliDocument = 'kafka-cli-action';

/** Per-cluster settings cascade-recovery reads from the cluster's target entry (spread into ClusterTargetSchema). */
export const CascadeTargetFields = {
  /** Kafka installation on the broker hosts (bin/kafka-configs.sh, bin/kafka-leader-election.sh). */
  kafkaHome: z.string().regex(/^(\/\.?[a-zA-Z0-9_-][a-zA-Z0-9._-]{0,63}){1,16}$/, 'expected an absolute path of plain segments').default('/opt/kafka'),
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
});

/** What cascade-recovery needs from a cluster's target entry (WORKFLOW_TARGETS_JSON). */
export interface CascadeClusterTarget {
  cluster: string;
  platform: 'ec2' | 'msk';
  clusterStepsFunction: string;
  brokers: { id: number; instanceId: string; listenerPort?: number | undefined }[];
  listenerPort: number;
  kafkaHome: string;
  throttleProducerByteRate: number;
  mskClusterArn?: string | undefined;
}

export interface CascadeTarget {
  incidentId: string;
  cluster: string;
  platform: 'ec2' | 'msk';
  brokerIds: number[];
  brokerIdsText: string;
  needsApproval: boolean;
  severity: string;
  incidentType: string;
  dryRun: boolean;
  clusterStepsFunction: string;
  mskClusterArn: string | null;
  /** Where Kafka's CLI runs (throttle, leader election); available false on MSK or with no healthy host. */
  cli: { available: boolean; instanceId: string; bootstrapServer: string; kafkaHome: string; producerByteRate: string; reason: string };
  approval: { summary: string; actions: string[] };
}

export function resolveCascadeTarget(raw: unknown, targetOf: (cluster: string) => CascadeClusterTarget): CascadeTarget {
  const parsed = CascadeInputSchema.safeParse(raw);
  if (!parsed.success) {
    throw new RecoveryTargetError(`execution input is not a cascade-recovery request: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(input)'}: ${i.message}`).join('; ')}`);
  }
  const input = parsed.data;
  const t = targetOf(input.cluster);
  if (t.platform === 'msk' && !t.mskClusterArn) throw new RecoveryTargetError(`cluster ${input.cluster} has no MSK cluster ARN configured`);
  const brokerIds = [...new Set(input.brokerIds)].sort((a, b) => a - b);
  if (t.platform === 'ec2') {
    const missing = brokerIds.filter((id) => !t.brokers.some((b) => b.id === id));
    if (missing.length > 0) throw new RecoveryTargetError(`no instance is configured for broker${missing.length > 1 ? 's' : ''} ${missing.join(', ')} of ${input.cluster} (brokers: [{id, instanceId}] in the config)`);
  }
  const healthy = t.platform === 'ec2' ? t.brokers.find((b) => !brokerIds.includes(b.id)) : undefined;
  const cli = healthy
    ? {
        available: true,
        instanceId: healthy.instanceId,
        bootstrapServer: `localhost:${healthy.listenerPort ?? t.listenerPort}`,
        kafkaHome: t.kafkaHome,
        producerByteRate: String(t.throttleProducerByteRate),
        reason: `Kafka's CLI runs on broker ${healthy.id} (${healthy.instanceId}), which is not being recovered`,
      }
    : {
        available: false,
        instanceId: 'none',
        bootstrapServer: 'none',
        kafkaHome: t.kafkaHome,
        producerByteRate: String(t.throttleProducerByteRate),
        reason:
          t.platform === 'msk'
            ? 'MSK: no broker host to run Kafka\'s CLI on; producers are not throttled and MSK rebalances leaders itself'
            : `no configured broker of ${input.cluster} outside the incident to run Kafka's CLI on; producers are not throttled and leaders are not re-elected`,
      };
  const list = brokerIds.join(', ');
  const child = t.platform === 'msk' ? 'msk-broker-recovery (MSK RebootBroker)' : 'broker-recovery (diagnose, then restart the Kafka service through SSM)';
  const actions = [
    ...(cli.available ? [`Throttle producers on ${input.cluster}: producer_byte_rate=${cli.producerByteRate} bytes/s for the default client (${cliDocument} set-producer-quota on ${cli.instanceId})`] : []),
    `Recover brokers ${list} one at a time, the active controller last, each with ${child}`,
    ...(cli.available ? [`Run a preferred leader election for all partitions (${cliDocument} on ${cli.instanceId})`, `Remove the producer throttle (${cliDocument} remove-producer-quota on ${cli.instanceId})`] : []),
    'Verify: all brokers up, partitions in sync and balanced, consumer lag below 1000',
  ];
  return {
    incidentId: input.incidentId,
    cluster: input.cluster,
    platform: t.platform,
    brokerIds,
    brokerIdsText: list,
    needsApproval: brokerIds.length >= CASCADE_APPROVAL_BROKERS,
    severity: input.severity,
    incidentType: input.incidentType,
    dryRun: input.dryRun,
    clusterStepsFunction: t.clusterStepsFunction,
    mskClusterArn: t.mskClusterArn ?? null,
    cli,
    approval: { summary: `Cascade on ${input.cluster}: ${brokerIds.length} brokers down (${list}); recover them one at a time`, actions },
  };
}

export function cascadeStartDetail(t: CascadeTarget): string {
  const approval = t.needsApproval ? `; ${t.brokerIds.length} brokers down, so the recovery waits for approval` : '';
  return `cascade-recovery for brokers ${t.brokerIdsText} of ${t.cluster} (${t.platform})${approval}; ${t.cli.reason}${t.dryRun ? ' (dry run: plans and records, mutates nothing)' : ''}`;
}
