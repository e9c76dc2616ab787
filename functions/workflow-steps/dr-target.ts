// What a DR failover or failback acts on, resolved by the workflow steps Lambda's `start` step
// from the deployed configuration (WORKFLOW_TARGETS_FILE, `dr` of each cluster): which cluster
// takes the clients, which cluster steps function probes it, the Route 53 record and the value
// it gets, and whether the cluster's policy lets the switch run without a human.
//
//   dr-failover  input.cluster is the primary: the record moves to its peer (the DR cluster).
//   dr-failback  input.cluster is the primary again: the record moves back to it from its peer.
//
// Before anything else both confirm the primary through its own cluster steps function (from
// inside its VPC, whatever the policy says): failover needs it unreachable on consecutive probes,
// failback needs it healthy on consecutive probes (`site`).
import * as z from 'zod';
import type { SiteExpectation } from '../domain/dr.js';
import { RecoveryTargetError } from '../shared/recovery-errors.js';

export const DR_WORKFLOWS = ['dr-failover', 'dr-failback'] as const;
export type DrWorkflow = (typeof DR_WORKFLOWS)[number];

export function isDrWorkflow(wf: string): wf is DrWorkflow {
  return (DR_WORKFLOWS as readonly string[]).includes(wf);
}

const dnsName = z
  .string()
  .regex(
    /^(?=.{1,253}\.?$)[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)+\.?$/,
    'expected a DNS name',
  );

/** A cluster's DR settings as the stack passes them (config `dr` plus the endpoint it derived). */
export const DrTargetConfigSchema = z.object({
  peer: z.string().min(1),
  hostedZoneId: z.string().regex(/^Z[A-Z0-9]{1,31}$/),
  /** The bootstrap record clients resolve. */
  recordName: dnsName,
  ttl: z.number().int().min(0).max(86_400).default(60),
  /** The record's value while this cluster serves the clients (its own DNS name); absent when unknown. */
  endpoint: dnsName.optional(),
  /** The port clients use with the record name. */
  bootstrapPort: z.number().int().min(1).max(65_535).default(9092),
  automaticFailover: z.boolean().default(false),
  maxReplicationLagSeconds: z.number().int().min(1).max(86_400).default(60),
});
export type DrTargetConfig = z.input<typeof DrTargetConfigSchema>;

/** The slice of a cluster target this module reads. */
export interface DrClusterEntry {
  cluster: string;
  clusterStepsFunction: string;
  dr?: DrTargetConfig | undefined;
}

export const DrInputSchema = z.looseObject({
  incidentId: z.string().min(1).max(80),
  cluster: z.string().min(1),
  dryRun: z.boolean().default(false),
  severity: z.string().optional(),
  incidentType: z.string().optional(),
});

export interface DrTarget {
  incidentId: string;
  cluster: string;
  dryRun: boolean;
  /** The cluster clients leave, and the one that takes them. */
  fromCluster: string;
  toCluster: string;
  /** The cluster steps function that reaches toCluster (probe, lag, backup, canary run there). */
  toClusterStepsFunction: string;
  /** MirrorMaker 2 alias of the cluster replicated into toCluster (its heartbeats are `<alias>.heartbeats`). */
  sourceAlias: string;
  hostedZoneId: string;
  recordName: string;
  recordType: 'CNAME';
  ttl: number;
  toValue: string;
  bootstrapPort: number;
  /** True when the policy lets the switch run without an approval. */
  automatic: boolean;
  maxReplicationLagSeconds: number;
  /** The primary as the switch needs it, probed from inside its VPC before the record moves. */
  site: { cluster: string; clusterStepsFunction: string; expect: SiteExpectation };
  /** One line for the approval request and the timeline. */
  summary: string;
  /** The exact actions the switch takes (shown in the approval request). */
  actions: string[];
}

const withDot = (n: string) => (n.endsWith('.') ? n : `${n}.`);

export function resolveDrTarget(workflow: DrWorkflow, raw: unknown, entries: DrClusterEntry[]): DrTarget {
  const parsed = DrInputSchema.safeParse(raw);
  if (!parsed.success)
    throw new RecoveryTargetError(
      `execution input is not a DR request: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(input)'}: ${i.message}`).join('; ')}`,
    );
  const input = parsed.data;
  const primary = entries.find((e) => e.cluster === input.cluster);
  if (!primary) throw new RecoveryTargetError(`cluster ${input.cluster} is not configured for recovery workflows`);
  if (!primary.dr)
    throw new RecoveryTargetError(
      `cluster ${input.cluster} has no DR pair with a Route 53 record configured (dr.peer and dr.route53)`,
    );
  const dr = DrTargetConfigSchema.parse(primary.dr);
  const peer = entries.find((e) => e.cluster === dr.peer);
  if (!peer)
    throw new RecoveryTargetError(
      `the DR peer ${dr.peer} of ${input.cluster} is not configured for recovery workflows`,
    );
  const peerDr = peer.dr ? DrTargetConfigSchema.parse(peer.dr) : undefined;
  const failover = workflow === 'dr-failover';
  const [from, to, toEndpoint] = failover ? [primary, peer, peerDr?.endpoint] : [peer, primary, dr.endpoint];
  if (toEndpoint === undefined) {
    throw new RecoveryTargetError(
      `no endpoint is known for ${to.cluster}: the record ${dr.recordName} needs a value that names ${to.cluster} itself (a bootstrap server other than the record)`,
    );
  }
  const recordName = withDot(dr.recordName.toLowerCase());
  const toValue = toEndpoint.toLowerCase().replace(/\.$/, '');
  return {
    incidentId: input.incidentId,
    cluster: input.cluster,
    dryRun: input.dryRun,
    fromCluster: from.cluster,
    toCluster: to.cluster,
    toClusterStepsFunction: to.clusterStepsFunction,
    sourceAlias: from.cluster,
    hostedZoneId: dr.hostedZoneId,
    recordName,
    recordType: 'CNAME',
    ttl: dr.ttl,
    toValue,
    bootstrapPort: dr.bootstrapPort,
    automatic: dr.automaticFailover,
    maxReplicationLagSeconds: dr.maxReplicationLagSeconds,
    site: {
      cluster: primary.cluster,
      clusterStepsFunction: primary.clusterStepsFunction,
      expect: failover ? 'unreachable' : 'healthy',
    },
    summary: `${workflow}: move clients of ${recordName} from ${from.cluster} to ${to.cluster}`,
    actions: [
      `Back up topic configs and consumer group offsets of ${to.cluster}`,
      `Route 53 UPSERT ${recordName} CNAME ${toValue} (TTL ${dr.ttl}) in hosted zone ${dr.hostedZoneId}, wait until INSYNC`,
      `Send a canary through ${recordName}:${dr.bootstrapPort}; roll the record back to its previous value if it does not reach ${to.cluster}`,
    ],
  };
}
