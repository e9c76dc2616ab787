// What the workflow steps Lambda is told about each cluster: one entry of its bundled
// WORKFLOW_TARGETS_FILE per configured cluster, built from the deployment config. Each workflow's
// fields (consumer-lag owners and hooks, the quorum hosts, the DR switch) are built here from the
// config, in one place, so the workflow constructs depend on this module and never on each other.
import type { ConsumerGroupTargetConfig } from '#functions/workflow-steps/consumer-lag.js';
import type { DrTargetConfig } from '#functions/workflow-steps/dr-target.js';
import type { ClusterTargetConfig } from '#contracts/workflow-targets.js';
import type { QuorumTargetConfig } from '#functions/workflow-steps/quorum-recovery.js';
import { parseHostPort } from '#shared/probe/index.js';
import { brokerHostPaths, type ClusterConfig } from '../config/schema.js';

// MSK has no host paths; the target schema wants values, which no MSK step reads.
const MSK_NO_HOST_PATHS = { serverProperties: '/opt/kafka/config/server.properties', appLogDir: '/opt/kafka/logs' };

/** What the workflow steps Lambda is told about one cluster (an entry of its WORKFLOW_TARGETS_FILE). */
export function clusterTarget(cluster: ClusterConfig, clusterStepsFunction: string): ClusterTargetConfig {
  const first = cluster.bootstrapServers[0];
  const listenerPort = first === undefined ? 9092 : parseHostPort(first).port;
  const dr = drTargetConfig(cluster);
  if (cluster.platform === 'msk') {
    return {
      cluster: cluster.name,
      platform: 'msk',
      clusterStepsFunction,
      brokers: [],
      serviceName: 'kafka',
      listenerPort,
      ...MSK_NO_HOST_PATHS,
      mskClusterArn: cluster.msk.clusterArn,
      ...(dr ? { dr } : {}),
      ...consumerLagTargetFields(cluster),
    };
  }
  const paths = brokerHostPaths(cluster.ec2);
  return {
    ...(dr ? { dr } : {}),
    ...consumerLagTargetFields(cluster),
    ...quorumTargetFields(cluster),
    cluster: cluster.name,
    platform: 'ec2',
    clusterStepsFunction,
    brokers: (cluster.ec2.brokers ?? []).map((b) => ({ id: b.id, instanceId: b.instanceId })),
    // Brokers found by tag: the workflow steps resolve their instances when a run starts.
    ...(cluster.ec2.brokerTag ? { brokerTag: cluster.ec2.brokerTag } : {}),
    serviceName: cluster.ec2.kafkaServiceName.replace(/\.service$/, ''),
    listenerPort,
    // Where Kafka's CLI runs for cascade-recovery (throttle, leader election); the runbook's default otherwise.
    ...(cluster.ec2.kafkaHome ? { kafkaHome: cluster.ec2.kafkaHome } : {}),
    // A secured listener: Kafka's CLI connects with this file on the host (only its path travels).
    ...(cluster.ec2.clientPropertiesFile ? { commandConfig: cluster.ec2.clientPropertiesFile } : {}),
    // server.properties and the log dir: the config's, else the kafkaHome (tarball) layout.
    serverProperties: paths.serverProperties,
    appLogDir: paths.logDir,
  };
}

/** The cluster's consumer-lag fields of WORKFLOW_TARGETS_FILE: owners, limits, scale hooks, lag bands. */
export function consumerLagTargetFields(cluster: ClusterConfig): {
  consumerGroups: ConsumerGroupTargetConfig[];
  lagThresholds?: { lagSev3?: number; lagSev2?: number; lagSev1?: number };
} {
  const consumerGroups = cluster.consumerGroups.map((g): ConsumerGroupTargetConfig => {
    const hook = g.scaleHook?.lambdaFunctionArn
      ? { kind: 'lambda' as const, functionArn: g.scaleHook.lambdaFunctionArn }
      : g.scaleHook?.snsTopicArn
        ? { kind: 'sns' as const, topicArn: g.scaleHook.snsTopicArn }
        : undefined;
    return {
      name: g.name,
      maxOffsetLag: g.maxOffsetLag,
      ...(g.topics ? { topics: g.topics } : {}),
      ...(g.ownerTeam ? { ownerTeam: g.ownerTeam } : {}),
      ...(g.ownerTopicArn ? { ownerTopicArn: g.ownerTopicArn } : {}),
      ...(hook ? { scaleHook: hook } : {}),
    };
  });
  const t = cluster.policy.thresholds;
  const lagThresholds = t
    ? Object.fromEntries(
        Object.entries({ lagSev3: t.lagSev3, lagSev2: t.lagSev2, lagSev1: t.lagSev1 }).filter(
          ([, v]) => v !== undefined,
        ),
      )
    : {};
  return { consumerGroups, ...(Object.keys(lagThresholds).length > 0 ? { lagThresholds } : {}) };
}

/** A record name as Route 53 compares it: lower case, without the trailing dot. */
export const bare = (name: string) => name.toLowerCase().replace(/\.$/, '');

/**
 * The record value that sends clients to this cluster: the host of its first bootstrap server
 * that is not the record itself (a cluster whose only bootstrap server is the record has none).
 */
export function drEndpoint(cluster: ClusterConfig, recordName: string): string | undefined {
  return cluster.bootstrapServers.map((s) => bare(parseHostPort(s).host)).find((h) => h !== bare(recordName));
}

/** The cluster's `dr` entry of WORKFLOW_TARGETS_FILE, or undefined without a Route 53 record. */
export function drTargetConfig(cluster: ClusterConfig): DrTargetConfig | undefined {
  const dr = cluster.dr;
  if (!dr?.route53) return undefined;
  const endpoint = drEndpoint(cluster, dr.route53.recordName);
  const first = cluster.bootstrapServers[0];
  return {
    peer: dr.peer,
    hostedZoneId: dr.route53.hostedZoneId,
    recordName: bare(dr.route53.recordName),
    ttl: dr.route53.ttl,
    ...(endpoint ? { endpoint } : {}),
    bootstrapPort: first === undefined ? 9092 : parseHostPort(first).port,
    automaticFailover: dr.automaticFailover,
    maxReplicationLagSeconds: dr.maxReplicationLagSeconds,
  };
}

/** The cluster's `quorum` entry of WORKFLOW_TARGETS_FILE (EC2 clusters only). */
export function quorumTargetFields(cluster: ClusterConfig): { quorum?: QuorumTargetConfig } {
  if (cluster.platform !== 'ec2') return {};
  const e = cluster.ec2;
  const zk = e.zookeeper;
  const quorum: QuorumTargetConfig = {
    metadataMode: e.metadataMode,
    ...(zk
      ? {
          zookeeper: zk.instanceIds.map((instanceId) => ({
            instanceId,
            ...(zk.serviceName ? { serviceName: zk.serviceName.replace(/\.service$/, '') } : {}),
            ...(zk.clientPort ? { clientPort: zk.clientPort } : {}),
            ...(zk.dataDir ? { dataDir: zk.dataDir } : {}),
            ...(zk.txnLogDir ? { txnLogDir: zk.txnLogDir } : {}),
          })),
        }
      : {}),
    ...(e.metadataLogDir ? { metadataLogDir: e.metadataLogDir } : {}),
    ...(e.kafkaHome ? { kafkaHome: e.kafkaHome } : {}),
  };
  return { quorum };
}
