// What the stack tells the workflow steps Lambda about each cluster: the bundled
// WORKFLOW_TARGETS_FILE, one entry per configured cluster, written by the CDK app
// (infra/constructs/cluster-targets.ts) and read by every workflow's steps. Each workflow's own
// fields are defined next to the steps that read them and gathered here.
import * as z from 'zod';
import { ConfigurationError } from '../shared/errors.js';
import { CascadeTargetFields } from '../workflow-steps/cascade.js';
import { ConsumerGroupTargetSchema, LagThresholdsSchema } from '../workflow-steps/consumer-lag.js';
import { DiskTargetFields } from '../workflow-steps/disk-pressure.js';
import { DrTargetConfigSchema } from '../workflow-steps/dr-target.js';
import { DEFAULT_BROKER_ID_TAG } from '../workflow-steps/instances.js';
import { QuorumTargetSchema } from '../workflow-steps/quorum-recovery.js';

/** The path rule the runbooks' allowedPattern applies (absolute, plain segments, no `..`). */
const absolutePath = z
  .string()
  .regex(/^(\/\.?[a-zA-Z0-9_-][a-zA-Z0-9._-]{0,63}){1,16}$/, 'expected an absolute path of plain segments');

/** What the stack tells this Lambda about each cluster (the bundled WORKFLOW_TARGETS_FILE). */
export const ClusterTargetSchema = z.object({
  cluster: z.string().min(1),
  platform: z.enum(['ec2', 'msk']),
  /** Name or ARN of the cluster steps Lambda that can reach this cluster's brokers. */
  clusterStepsFunction: z.string().min(1),
  brokers: z
    .array(
      z.object({
        id: z.number().int().nonnegative(),
        instanceId: z.string().regex(/^i-[0-9a-f]{8,17}$/),
        /** Per-broker paths where hosts differ (the local runtime runs several brokers on one machine). */
        serverProperties: absolutePath.optional(),
        appLogDir: absolutePath.optional(),
        listenerPort: z.number().int().min(1).max(65535).optional(),
      }),
    )
    .default([]),
  /** Brokers found by EC2 tag: the instances are resolved at `start` (instances.ts), not listed. */
  brokerTag: z
    .object({
      key: z.string().min(1),
      value: z.string(),
      brokerIdKey: z.string().min(1).default(DEFAULT_BROKER_ID_TAG),
    })
    .optional(),
  serviceName: z
    .string()
    .regex(/^[a-zA-Z0-9_][a-zA-Z0-9@._-]{0,63}$/)
    .default('kafka'),
  listenerPort: z.number().int().min(1).max(65535).default(9092),
  /** The broker's server.properties on its host (the runbooks read node.id and log.dirs from it). */
  serverProperties: absolutePath.default('/etc/kafka/server.properties'),
  /** The broker's application log directory (server.log). */
  appLogDir: absolutePath.default('/var/log/kafka'),
  mskClusterArn: z.string().startsWith('arn:').optional(),
  /** Kafka's CLI tools on the hosts connect with this client properties file (--command-config) to a secured listener. */
  commandConfig: absolutePath.optional(),
  /** cascade-recovery: where Kafka's CLI lives and the producer throttle while brokers recover. */
  ...CascadeTargetFields,
  /** disk-pressure: heap dump dirs (EC2), storage growth (MSK). */
  ...DiskTargetFields,
  /** consumer-lag: owners, limits and scale hooks of the configured groups. */
  consumerGroups: z.array(ConsumerGroupTargetSchema).optional(),
  lagThresholds: LagThresholdsSchema.optional(),
  /** quorum-recovery: metadata mode and quorum hosts (EC2 clusters). */
  quorum: QuorumTargetSchema.optional(),
  /** dr-failover / dr-failback: the DR peer and the bootstrap record (dr-target.ts). */
  dr: DrTargetConfigSchema.optional(),
});
/** A cluster target as configured (defaults not yet applied). */
export type ClusterTargetConfig = z.input<typeof ClusterTargetSchema>;
export type ClusterTarget = z.output<typeof ClusterTargetSchema>;

function parseJson(text: string | undefined, what: string): unknown {
  if (!text) throw new ConfigurationError(`${what} is empty`);
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new ConfigurationError(`${what} is not JSON`);
  }
}

/**
 * The targets of the bundled file WORKFLOW_TARGETS_FILE (functions/shared/bundled-file.ts: it
 * grows with the brokers, past Lambda's 4 KB environment), each completed with its cluster steps
 * function from CLUSTER_STEPS_FUNCTIONS ({"<cluster>": "<function ARN>"}, in the environment: the
 * ARNs are only known at deploy time, one per cluster).
 */
export function parseTargets(text: string | undefined, clusterStepsFunctions?: string): ClusterTarget[] {
  const raw = parseJson(text, 'WORKFLOW_TARGETS_FILE');
  const steps = clusterStepsFunctions === undefined ? {} : parseJson(clusterStepsFunctions, 'CLUSTER_STEPS_FUNCTIONS');
  const parsedSteps = z.record(z.string(), z.string().min(1)).safeParse(steps);
  if (!parsedSteps.success)
    throw new ConfigurationError('CLUSTER_STEPS_FUNCTIONS: expected {"<cluster>": "<function ARN>"}');
  const withSteps = Array.isArray(raw)
    ? raw.map((t: unknown) => {
        const cluster = typeof t === 'object' && t !== null ? (t as { cluster?: unknown }).cluster : undefined;
        const fn = typeof cluster === 'string' ? parsedSteps.data[cluster] : undefined;
        return fn === undefined ? t : { clusterStepsFunction: fn, ...(t as object) };
      })
    : raw;
  const parsed = z.array(ClusterTargetSchema).safeParse(withSteps);
  if (!parsed.success)
    throw new ConfigurationError(
      `WORKFLOW_TARGETS_FILE: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    );
  return parsed.data;
}
