// Cluster steps Lambda (glue): the Kafka-side steps of the recovery workflows. One function per
// cluster, in the cluster's VPC beside its probe (a function has one VPC configuration); it reads
// Kafka only and holds no AWS permissions beyond its logs. Each step takes a fresh probe:
//
//   confirm       is the broker really down? -> broker-down | false-alarm | inconclusive
//   check-safety  may the broker be restarted now? (canRestart on a fresh snapshot, safety rule 3);
//                 with stopIfUnsafe a refusal throws RecoveryStopped with the safety check's reason
//   verify        is the broker back, answering and in the ISR of all its partitions? If not,
//                 throws BrokerNotHealthy so the workflow's Retry waits with backoff.
//   plan-order    cascade-recovery: which brokers of the incident are still down, in the order to
//                 recover them (crashed before hung, the active controller last)
//   lag           consumer-lag: append a reading of the group to the workflow's window and judge it
//                 with Burrow's rules (consumer-lag.ts); LagNotRecovered while still behind
//   quorum-confirm, quorum-verify   quorum-recovery (quorum.ts)
//   verify-cluster cascade-recovery: all brokers up, partitions in sync, leadership balanced,
//                 consumer lag below the limit; else throws ClusterNotRecovered (Retry backoff)
//
// dr-prerequisites, dr-backup and dr-canary (DR failover/failback) are in dr.ts.
//
// Environment: CLUSTERS_FILE (the bundled file of this function's one cluster, as the probe gets
// it, functions/shared/bundled-file.ts; with its security reference: the secrets are read at run
// time, functions/shared/kafka-security.ts), PROBE_TIMEOUT_MS,
// and for a self-managed ZooKeeper-mode cluster whose config lists them, ZOOKEEPER_CONNECT: the
// ensemble's client addresses (host:port,host:port,...) that quorum-confirm and quorum-verify ask
// (srvr, functions/shared/zookeeper.ts). Without it those steps judge by the probe alone.
//
// Results are small summaries, never the snapshot (its partition details can exceed the 256 KB
// Step Functions payload limit on a large cluster with a broker down).
import type { Context } from 'aws-lambda';
import * as z from 'zod';
import { confirmBrokerDown, verifyBrokerRecovered, type ConfirmVerdict } from '../domain/broker-recovery.js';
import {
  DEFAULT_MAX_CONSUMER_LAG,
  cascadeOrder,
  verifyClusterRecovered,
  type CascadeOrder,
} from '../domain/cascade.js';
import type { EnsembleObservation } from '../domain/quorum-recovery.js';
import { canRestart } from '../domain/safety.js';
import type { ClusterSnapshot } from '../domain/snapshot.js';
import { UnknownClusterError, parseClustersJson, type ProbeClusterConfig } from '../contracts/clusters-file.js';
import { clusterSecurity, probeOptionsFor } from '../shared/cluster-access.js';
import { readBundledFile } from '../shared/bundled-file.js';
import { kafkajsSecurity, type SecurityLoader } from '../shared/kafka-security.js';
import { withHouseMiddleware } from '../shared/middy.js';
import { logger } from '../shared/powertools.js';
// The probe library: from the stack's probe layer in Lambda (infra/constructs/probe-layer.ts),
// the source (functions/shared/probe) in the repository (tsconfig.json paths, vitest alias).
import { parseHostPort, probeCluster, type ProbeOptions } from '@kafka-heal/probe';
import kafkajs from 'kafkajs';
import { LagStepSchema, lagStep, lagWatch, type LagStepResult } from './consumer-lag.js';
import { QuorumStepSchema, quorumStep, type QuorumStepResult } from './quorum.js';
import { DrStepSchema, makeDrStepsHandler, type DrStep, type DrStepResult } from './dr.js';
import { BrokerNotHealthy, ClusterNotRecovered, RecoveryStopped } from '../shared/recovery-errors.js';
import { observeEnsemble } from '../shared/zookeeper.js';

export const ClusterStepSchema = z.discriminatedUnion('step', [
  z.object({
    step: z.enum(['confirm', 'check-safety', 'verify']),
    cluster: z.string().min(1),
    brokerId: z.number().int().nonnegative(),
    /** check-safety: a refused restart stops the recovery (RecoveryStopped) instead of answering allowed: false. */
    stopIfUnsafe: z.boolean().optional(),
  }),
  z.object({
    step: z.literal('plan-order'),
    cluster: z.string().min(1),
    brokerIds: z.array(z.number().int().nonnegative()).min(1),
  }),
  z.object({
    step: z.literal('verify-cluster'),
    cluster: z.string().min(1),
    maxConsumerLag: z.number().int().positive().default(DEFAULT_MAX_CONSUMER_LAG),
  }),
  LagStepSchema,
  QuorumStepSchema,
]);
export type ClusterStep = z.infer<typeof ClusterStepSchema>;

export type ClusterStepResult =
  | {
      step: 'confirm';
      verdict: ConfirmVerdict;
      brokerDown: boolean;
      healthy: boolean;
      clusterStatus: ClusterSnapshot['status'];
      summary: string;
      at: string;
    }
  | { step: 'check-safety'; allowed: boolean; reason: string; order: number[]; at: string }
  | { step: 'verify'; recovered: true; summary: string; at: string }
  | ({ step: 'plan-order'; at: string } & CascadeOrder)
  | {
      step: 'verify-cluster';
      recovered: true;
      summary: string;
      maxConsumerLag: number;
      leaderSpread: number;
      at: string;
    }
  | LagStepResult
  | QuorumStepResult;

export interface ClusterStepsDeps {
  clusters: () => ProbeClusterConfig[];
  /** The cluster's security settings loader (secrets read at run time), undefined for plaintext. */
  security?: (c: ProbeClusterConfig) => SecurityLoader | undefined;
  probe: (opts: ProbeOptions) => Promise<ClusterSnapshot>;
  timeoutMs: number;
  /**
   * ZooKeeper mode: each ensemble server's own answer (functions/shared/zookeeper.ts
   * observeEnsemble), for quorum-confirm and quorum-verify; absent, or resolving undefined, when
   * the cluster's ZooKeeper client addresses are not known to this function (ZOOKEEPER_CONNECT).
   */
  ensemble?: (cluster: string) => Promise<EnsembleObservation | undefined>;
}

export function makeClusterStepsHandler(deps: ClusterStepsDeps) {
  return async (event: ClusterStep): Promise<ClusterStepResult> => {
    const config = deps.clusters().find((c) => c.name === event.cluster);
    if (!config) throw new UnknownClusterError(`cluster "${event.cluster}" is not in CLUSTERS_FILE`);
    const options = probeOptionsFor(config, deps.timeoutMs);
    const loader = deps.security?.(config);
    if (loader) options.security = loader.load;
    // consumer-lag reads only the group it judges (configured or not).
    const snapshot = await deps.probe(
      event.step === 'lag' ? { ...options, consumerGroups: [lagWatch(event)] } : options,
    );
    if (snapshot.security?.refused.length) loader?.forget();
    const at = snapshot.takenAt;
    logger.info('cluster step', {
      step: event.step,
      cluster: event.cluster,
      status: snapshot.status,
      errors: snapshot.errors,
    });
    switch (event.step) {
      case 'confirm': {
        const c = confirmBrokerDown(snapshot, event.brokerId);
        return {
          step: 'confirm',
          verdict: c.verdict,
          brokerDown: c.verdict === 'broker-down',
          healthy: c.verdict === 'false-alarm',
          clusterStatus: c.clusterStatus,
          summary: c.summary,
          at,
        };
      }
      case 'check-safety': {
        const v = canRestart(event.brokerId, snapshot);
        if (!v.allowed && event.stopIfUnsafe)
          throw new RecoveryStopped(`restart refused by the safety check: ${v.reason}`);
        return { step: 'check-safety', allowed: v.allowed, reason: v.reason, order: v.order, at };
      }
      case 'verify': {
        const v = verifyBrokerRecovered(snapshot, event.brokerId);
        if (!v.recovered) throw new BrokerNotHealthy(event.brokerId, v.summary);
        return { step: 'verify', recovered: true, summary: v.summary, at };
      }
      case 'plan-order':
        return { step: 'plan-order', ...cascadeOrder(snapshot, event.brokerIds), at };
      case 'verify-cluster': {
        const v = verifyClusterRecovered(snapshot, event.maxConsumerLag);
        if (!v.recovered) throw new ClusterNotRecovered(v.summary);
        return {
          step: 'verify-cluster',
          recovered: true,
          summary: v.summary,
          maxConsumerLag: v.maxConsumerLag,
          leaderSpread: v.leaderSpread,
          at,
        };
      }
      case 'lag':
        return lagStep(event, snapshot);
      case 'quorum-confirm':
      case 'quorum-verify':
        return quorumStep(
          event,
          snapshot,
          event.metadataMode === 'zookeeper' ? await deps.ensemble?.(event.cluster) : undefined,
        );
    }
  };
}

/** ZOOKEEPER_CONNECT is malformed: a deployment error (the config validation refuses such addresses). */
export class ZookeeperConnectError extends Error {
  override readonly name = 'ZookeeperConnectError';
}

/** The servers of ZOOKEEPER_CONNECT (`host:port,host:port`); undefined when it is not set. */
export function parseZookeeperConnect(text: string | undefined): string[] | undefined {
  if (text === undefined || text.trim() === '') return undefined;
  return text.split(',').map((raw) => {
    const server = raw.trim();
    try {
      parseHostPort(server);
    } catch {
      throw new ZookeeperConnectError(
        `ZOOKEEPER_CONNECT: expected host:port[,host:port...], "${server}" is not host:port`,
      );
    }
    return server;
  });
}

function envInt(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const v = Number(env[name]);
  return Number.isInteger(v) && v > 0 ? v : fallback;
}

/** The deployed function's cluster-step dependencies, from its environment (see the header). */
export function clusterStepsDepsFromEnv(
  env: NodeJS.ProcessEnv,
  io: { probe: ClusterStepsDeps['probe']; observe: (servers: readonly string[]) => Promise<EnsembleObservation> } = {
    probe: probeCluster,
    observe: observeEnsemble,
  },
): ClusterStepsDeps {
  // Read once, at the first step that needs it: a malformed value fails the quorum steps by name
  // (ZookeeperConnectError) instead of every step of the function at cold start.
  let zookeeper: { servers: string[] | undefined } | undefined;
  const servers = () => (zookeeper ??= { servers: parseZookeeperConnect(env.ZOOKEEPER_CONNECT) }).servers;
  let clusters: ProbeClusterConfig[] | undefined;
  return {
    clusters: () => (clusters ??= parseClustersJson(readBundledFile('CLUSTERS_FILE', env))),
    security: clusterSecurity,
    probe: io.probe,
    timeoutMs: envInt(env, 'PROBE_TIMEOUT_MS', 5000),
    ensemble: async () => {
      const list = servers();
      return list === undefined ? undefined : io.observe(list);
    },
  };
}

const { Kafka, logLevel } = kafkajs;

const clusterSteps = makeClusterStepsHandler(clusterStepsDepsFromEnv(process.env));

let clustersCache: ProbeClusterConfig[] | undefined;

const drSteps = makeDrStepsHandler({
  clusters: () => (clustersCache ??= parseClustersJson(readBundledFile('CLUSTERS_FILE'))),
  probe: probeCluster,
  security: clusterSecurity,
  kafka: (brokers, security) =>
    new Kafka({
      clientId: 'kafka-heal-cluster-steps',
      brokers,
      connectionTimeout: 3000,
      requestTimeout: 10_000,
      retry: { retries: 2 },
      logLevel: logLevel.ERROR,
      ...kafkajsSecurity(security),
    }),
  // In the cluster's VPC the record name is resolved by DNS, as every client does.
  bootstrapFor: async (recordName, port) => [`${recordName.replace(/\.$/, '')}:${port}`],
  now: () => new Date(),
  timeoutMs: envInt(process.env, 'PROBE_TIMEOUT_MS', 5000),
});

/** Every step this Lambda takes: the broker and cluster steps above and the DR steps (dr.ts). */
export const ClusterStepsEventSchema = z.union([ClusterStepSchema, DrStepSchema]);
const isDrStep = (e: ClusterStep | DrStep): e is DrStep => e.step.startsWith('dr-');

export const handler = withHouseMiddleware<ClusterStep | DrStep, ClusterStepResult | DrStepResult>(
  (event: ClusterStep | DrStep, _context: Context) => (isDrStep(event) ? drSteps(event) : clusterSteps(event)),
  { schema: ClusterStepsEventSchema },
);
