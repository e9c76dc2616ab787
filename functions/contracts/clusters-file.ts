// The cluster file (CLUSTERS_FILE) every Lambda that talks to Kafka is bundled with: one entry per
// configured cluster (bootstrap servers, expected brokers, watched consumer groups, listener
// security by secret reference, metadata mode, ZooKeeper servers). Written by the CDK app
// (infra/constructs/probes.ts), read by the probe and the cluster steps.
import * as z from 'zod';
import { SecurityRefSchema } from '../shared/kafka-security.js';

export const ClusterEntrySchema = z.object({
  name: z.string().min(1),
  bootstrapServers: z.union([z.array(z.string().min(1)).min(1), z.string().min(1)]),
  brokerCount: z.number().int().min(1).optional(),
  brokerIds: z.array(z.number().int().min(0)).optional(),
  consumerGroups: z
    .array(
      z.union([
        z.string().min(1),
        z.object({ name: z.string().min(1), topics: z.array(z.string().min(1)).optional() }).loose(),
      ]),
    )
    .optional(),
  /** How to reach the listener: protocol, mechanism, secrets by reference (functions/shared/kafka-security.ts). */
  security: SecurityRefSchema.optional(),
  /** The configured metadata mode (self-managed clusters): the probe then skips detecting it. */
  metadataMode: z.enum(['kraft', 'zookeeper']).optional(),
  /** ZooKeeper mode: each ensemble server's client address (host:port), asked with srvr/mntr every round. */
  zookeeper: z
    .array(z.string().regex(/^(\[[^\]]+\]|[^:\s]+):\d{1,5}$/, 'expected host:port'))
    .min(1)
    .optional(),
});
export type ProbeClusterConfig = z.infer<typeof ClusterEntrySchema>;

/** The cluster file (CLUSTERS_FILE) is missing or malformed: a deployment error, not a Kafka one. */
export class ProbeConfigError extends Error {
  override readonly name = 'ProbeConfigError';
}

/** The event names a cluster that the cluster file does not describe. */
export class UnknownClusterError extends Error {
  override readonly name = 'UnknownClusterError';
}

export function parseClustersJson(text: string | undefined): ProbeClusterConfig[] {
  if (!text) throw new ProbeConfigError('the cluster file (CLUSTERS_FILE) is empty');
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new ProbeConfigError(`CLUSTERS_FILE is not JSON: ${(err as Error).message}`);
  }
  const parsed = z.array(ClusterEntrySchema).safeParse(raw);
  if (!parsed.success) {
    throw new ProbeConfigError(
      `CLUSTERS_FILE: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`,
    );
  }
  return parsed.data;
}
