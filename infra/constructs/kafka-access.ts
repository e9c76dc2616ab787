// What the functions that speak Kafka (the per-cluster probe and cluster steps) need to reach a
// secured listener, granted with the reference they are given, so the two cannot drift apart:
//
// - the bundled cluster file's `security` (CLUSTERS_FILE): protocol, mechanism, secrets by name or
//   ARN (never a value), and for AWS_MSK_IAM the region tokens are signed for (functions/shared/kafka-security.ts reads it);
// - secretsmanager:GetSecretValue on exactly the named secrets, kms:Decrypt on the configured key
//   only through Secrets Manager (kms:ViaService);
// - AWS_MSK_IAM: the kafka-cluster:* actions each function's requests need, on the cluster's ARN
//   and its own topic and group ARNs: the probe describes (Metadata, DescribeConfigs, ListOffsets,
//   the watched groups' offsets); the cluster steps also read any group's offsets (lag, DR backup)
//   and, for a DR pair, write and read the healer's own two topics and read the replicated
//   heartbeats.
import { Aws, Validations } from 'aws-cdk-lib';
import { Effect, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { SecurityRef } from '#shared/kafka-security.js';
import type { ClusterConfig } from '../config/schema.js';
import type { HealerFunction } from './healer-function.js';

/** The topics the DR steps write (functions/cluster-steps/dr.ts BACKUP_TOPIC, CANARY_TOPIC). */
const DR_TOPICS = ['kafka-heal.dr-backups', 'kafka-heal.canary'];

/** The cluster file's security reference for the cluster; undefined for PLAINTEXT. */
export function securityRef(cluster: ClusterConfig): SecurityRef | undefined {
  const s = cluster.security;
  if (s.protocol === 'PLAINTEXT') return undefined;
  const tls = s.tls
    ? {
        ...(s.tls.caSecret !== undefined ? { caSecret: s.tls.caSecret } : {}),
        ...(s.tls.serverName !== undefined ? { serverName: s.tls.serverName } : {}),
        ...(s.tls.clientCertificateSecret !== undefined
          ? { clientCertificateSecret: s.tls.clientCertificateSecret }
          : {}),
      }
    : undefined;
  const region =
    cluster.platform === 'msk' && s.mechanism === 'AWS_MSK_IAM' ? cluster.msk.clusterArn.split(':')[3] : undefined;
  return {
    protocol: s.protocol,
    ...(s.mechanism !== undefined ? { mechanism: s.mechanism } : {}),
    ...(s.credentialsSecret !== undefined ? { credentialsSecret: s.credentialsSecret } : {}),
    ...(tls && Object.keys(tls).length > 0 ? { tls } : {}),
    ...(region !== undefined ? { region } : {}),
  };
}

/** The secrets a cluster's clients read (name or ARN, as configured). */
export function clusterSecrets(cluster: ClusterConfig): string[] {
  const s = cluster.security;
  return [s.credentialsSecret, s.tls?.caSecret, s.tls?.clientCertificateSecret].filter(
    (x): x is string => x !== undefined,
  );
}

/**
 * The IAM resource of a secret: an ARN as given (a complete one ends in the random six-character
 * suffix), a name with that suffix left open (`-??????` matches exactly six characters).
 */
export function secretResourceArn(ref: string): string {
  if (ref.startsWith('arn:')) return /-[A-Za-z0-9]{6}$/.test(ref) ? ref : `${ref}-??????`;
  return `arn:${Aws.PARTITION}:secretsmanager:${Aws.REGION}:${Aws.ACCOUNT_ID}:secret:${ref}-??????`;
}

/** `arn:...:cluster/<name>/<uuid>` -> the same cluster's `topic/<name>/<uuid>/<topic>` (or group). */
function mskResource(clusterArn: string, kind: 'topic' | 'group', name: string): string {
  return `${clusterArn.replace(':cluster/', `:${kind}/`)}/${name}`;
}

/** Grants `fn` what reaching the cluster's listener needs (see the header); nothing for PLAINTEXT. */
export function grantKafkaAccess(fn: HealerFunction, cluster: ClusterConfig, role: 'probe' | 'cluster-steps'): void {
  const s = cluster.security;
  const secrets = clusterSecrets(cluster);
  if (secrets.length > 0) {
    fn.role.addToPrincipalPolicy(
      new PolicyStatement({
        effect: Effect.ALLOW,
        actions: ['secretsmanager:GetSecretValue'],
        resources: secrets.map(secretResourceArn),
      }),
    );
  }
  if (s.kmsKeyArn !== undefined) {
    fn.role.addToPrincipalPolicy(
      new PolicyStatement({
        effect: Effect.ALLOW,
        actions: ['kms:Decrypt'],
        resources: [s.kmsKeyArn],
        conditions: { StringEquals: { 'kms:ViaService': `secretsmanager.${Aws.REGION}.amazonaws.com` } },
      }),
    );
  }
  if (cluster.platform !== 'msk' || s.mechanism !== 'AWS_MSK_IAM') return;
  const arn = cluster.msk.clusterArn;
  const allTopics = mskResource(arn, 'topic', '*');
  const allGroups = mskResource(arn, 'group', '*');
  const add = (actions: string[], resources: string[]) =>
    fn.role.addToPrincipalPolicy(new PolicyStatement({ effect: Effect.ALLOW, actions, resources }));
  add(
    ['kafka-cluster:Connect', 'kafka-cluster:DescribeCluster', 'kafka-cluster:DescribeClusterDynamicConfiguration'],
    [arn],
  );
  // Metadata and ListOffsets of every topic, min.insync.replicas of every topic.
  add(['kafka-cluster:DescribeTopic', 'kafka-cluster:DescribeTopicDynamicConfiguration'], [allTopics]);
  const groups = role === 'probe' ? cluster.consumerGroups.map((g) => mskResource(arn, 'group', g.name)) : [allGroups];
  if (groups.length > 0) add(['kafka-cluster:DescribeGroup'], groups);
  const wild = [allTopics, ...(role === 'cluster-steps' ? [allGroups] : [])];
  if (role === 'cluster-steps' && cluster.dr !== undefined) {
    add(
      ['kafka-cluster:CreateTopic', 'kafka-cluster:WriteData', 'kafka-cluster:ReadData'],
      DR_TOPICS.map((t) => mskResource(arn, 'topic', t)),
    );
    // MirrorMaker 2's replicated heartbeats, `<source alias>.heartbeats` (the alias is the peer's name at run time).
    const heartbeats = mskResource(arn, 'topic', '*.heartbeats');
    add(['kafka-cluster:ReadData'], [heartbeats]);
    wild.push(heartbeats);
  }
  for (const resource of wild) {
    Validations.of(fn).acknowledge({
      id: `AwsSolutions-IAM5[Resource::${resource}]`,
      reason: `Read-only kafka-cluster actions on the topics and groups of MSK cluster ${cluster.msk.clusterName} only: the probe and the cluster steps read every topic's metadata and configuration (and the steps any group's offsets), whose names are known only at run time.`,
    });
  }
}
