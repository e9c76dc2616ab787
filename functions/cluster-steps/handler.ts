// Cluster steps Lambda (glue): the Kafka-side steps of the recovery workflows. One function per
// cluster, in the cluster's VPC beside its probe (a function has one VPC configuration); it reads
// Kafka only and holds no AWS permissions beyond its logs. Each step takes a fresh probe:
//
//   confirm       is the broker really down? -> broker-down | false-alarm | inconclusive
//   check-safety  may the broker be restarted now? (canRestart on a fresh snapshot, safety rule 3)
//   verify        is the broker back, answering and in the ISR of all its partitions? If not,
//                 throws BrokerNotHealthy so the workflow's Retry waits with backoff.
//
// Results are small summaries, never the snapshot (its partition details can exceed the 256 KB
// Step Functions payload limit on a large cluster with a broker down).
import type { Context } from 'aws-lambda';
import * as z from 'zod';
import { confirmBrokerDown, verifyBrokerRecovered, type ConfirmVerdict } from '../domain/broker-recovery.js';
import { canRestart } from '../domain/safety.js';
import type { ClusterSnapshot } from '../domain/snapshot.js';
import { UnknownClusterError, parseClustersJson, probeOptionsFor, type ProbeClusterConfig } from '../probe/handler.js';
import { withHouseMiddleware } from '../shared/middy.js';
import { logger } from '../shared/powertools.js';
// The probe library: from the stack's probe layer in Lambda (infra/constructs/probe-layer.ts),
// the source (functions/shared/probe) in the repository (tsconfig.json paths, vitest alias).
import { probeCluster, type ProbeOptions } from '@kafka-heal/probe';
import { BrokerNotHealthy } from '../shared/recovery-errors.js';

export const ClusterStepSchema = z.object({
  step: z.enum(['confirm', 'check-safety', 'verify']),
  cluster: z.string().min(1),
  brokerId: z.number().int().nonnegative(),
});
export type ClusterStep = z.infer<typeof ClusterStepSchema>;

export type ClusterStepResult =
  | { step: 'confirm'; verdict: ConfirmVerdict; brokerDown: boolean; healthy: boolean; clusterStatus: ClusterSnapshot['status']; summary: string; at: string }
  | { step: 'check-safety'; allowed: boolean; reason: string; order: number[]; at: string }
  | { step: 'verify'; recovered: true; summary: string; at: string };

export interface ClusterStepsDeps {
  clusters: () => ProbeClusterConfig[];
  probe: (opts: ProbeOptions) => Promise<ClusterSnapshot>;
  timeoutMs: number;
}

export function makeClusterStepsHandler(deps: ClusterStepsDeps) {
  return async (event: ClusterStep): Promise<ClusterStepResult> => {
    const config = deps.clusters().find((c) => c.name === event.cluster);
    if (!config) throw new UnknownClusterError(`cluster "${event.cluster}" is not in CLUSTERS_JSON`);
    const snapshot = await deps.probe(probeOptionsFor(config, deps.timeoutMs));
    const at = snapshot.takenAt;
    logger.info('cluster step', { step: event.step, cluster: event.cluster, brokerId: event.brokerId, status: snapshot.status, errors: snapshot.errors });
    switch (event.step) {
      case 'confirm': {
        const c = confirmBrokerDown(snapshot, event.brokerId);
        return { step: 'confirm', verdict: c.verdict, brokerDown: c.verdict === 'broker-down', healthy: c.verdict === 'false-alarm', clusterStatus: c.clusterStatus, summary: c.summary, at };
      }
      case 'check-safety': {
        const v = canRestart(event.brokerId, snapshot);
        return { step: 'check-safety', allowed: v.allowed, reason: v.reason, order: v.order, at };
      }
      case 'verify': {
        const v = verifyBrokerRecovered(snapshot, event.brokerId);
        if (!v.recovered) throw new BrokerNotHealthy(event.brokerId, v.summary);
        return { step: 'verify', recovered: true, summary: v.summary, at };
      }
    }
  };
}

let clustersCache: ProbeClusterConfig[] | undefined;

function envInt(name: string, fallback: number): number {
  const v = Number(process.env[name]);
  return Number.isInteger(v) && v > 0 ? v : fallback;
}

const clusterSteps = makeClusterStepsHandler({
  clusters: () => (clustersCache ??= parseClustersJson(process.env.CLUSTERS_JSON)),
  probe: probeCluster,
  timeoutMs: envInt('PROBE_TIMEOUT_MS', 5000),
});

export const handler = withHouseMiddleware<ClusterStep, ClusterStepResult>((event: ClusterStep, _context: Context) => clusterSteps(event), { schema: ClusterStepSchema });
