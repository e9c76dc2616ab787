// The Kafka-side steps of the DR workflows (dr-failover, dr-failback), run by the cluster steps
// Lambda of the cluster that is to take the clients (it sits in that cluster's VPC), except
// dr-site-probe, which the primary's own cluster steps Lambda runs from inside the primary's VPC:
//
//   dr-site-probe     one fresh probe of the primary, judged against what the switch needs
//                     (failover: unreachable; failback: healthy). The workflow repeats it, so
//                     no single alert or probe moves the clients.
//   dr-prerequisites  is the cluster healthy and reachable, and did MirrorMaker 2 keep it within
//                     the allowed replication lag? Throws DrPrerequisitesNotMet otherwise, so the
//                     workflow's Retry gives a settling cluster time before escalating.
//   dr-backup         topic configs (non-default entries) and committed consumer group offsets,
//                     written as one JSON record keyed by incident id into the compacted topic
//                     kafka-heal.dr-backups on the same cluster, so the state the switch started
//                     from survives beside the data it describes.
//   dr-canary         through the bootstrap DNS name: which cluster answers (its cluster id must be
//                     the expected one, asked through the cluster's own bootstrap servers), and a
//                     canary record produced and read back. Throws CanaryFailed otherwise.
//
// Results are small summaries; the backup itself never travels through Step Functions.
import { randomUUID } from 'node:crypto';
import type { Kafka } from 'kafkajs';
import * as z from 'zod';
import {
  canaryVerdict,
  drReadiness,
  heartbeatLag,
  siteProbeVerdict,
  type HeartbeatReading,
  type SiteProbeVerdict,
} from '../domain/dr.js';
import type { ClusterSnapshot } from '../domain/snapshot.js';
import {
  connectBroker,
  metadata,
  parseHostPort,
  type BrokerConnection,
  type ProbeOptions,
  type ProbeSecurity,
} from '@kafka-heal/probe';
import { UnknownClusterError, type ProbeClusterConfig } from '../contracts/clusters-file.js';
import { probeOptionsFor } from '../shared/cluster-access.js';
import type { SecurityLoader } from '../shared/kafka-security.js';
import { heartbeatSentAt, readNewestRecords, readRecordAt } from './heartbeats.js';

export const BACKUP_TOPIC = 'kafka-heal.dr-backups';
export const CANARY_TOPIC = 'kafka-heal.canary';

/** The standby is not fit to take the clients (unhealthy, unreachable, lag too high or unknown). */
export class DrPrerequisitesNotMet extends Error {
  override readonly name = 'DrPrerequisitesNotMet';
}

/** The DNS name does not lead to the expected cluster, or the canary did not make the round trip. */
export class CanaryFailed extends Error {
  override readonly name = 'CanaryFailed';
}

const cluster = z.string().min(1);
export const DrStepSchema = z.discriminatedUnion('step', [
  z.object({
    step: z.literal('dr-prerequisites'),
    cluster,
    sourceAlias: z.string().min(1),
    maxLagSeconds: z.number().int().positive(),
  }),
  z.object({ step: z.literal('dr-backup'), cluster, incidentId: z.string().min(1).max(80) }),
  z.object({
    step: z.literal('dr-canary'),
    cluster,
    recordName: z.string().min(1),
    port: z.number().int().min(1).max(65_535),
  }),
  z.object({ step: z.literal('dr-site-probe'), cluster, expect: z.enum(['unreachable', 'healthy']) }),
]);
export type DrStep = z.infer<typeof DrStepSchema>;

export type DrStepResult =
  | { step: 'dr-prerequisites'; ready: true; healthy: boolean; lagSeconds: number | null; summary: string; at: string }
  | {
      step: 'dr-backup';
      topic: string;
      key: string;
      topics: number;
      groups: number;
      bytes: number;
      summary: string;
      at: string;
    }
  | { step: 'dr-canary'; ok: true; clusterId: string; roundTripMs: number; summary: string; at: string }
  | {
      step: 'dr-site-probe';
      verdict: SiteProbeVerdict;
      status: ClusterSnapshot['status'];
      summary: string;
      at: string;
    };

export interface DrStepsDeps {
  clusters: () => ProbeClusterConfig[];
  probe: (opts: ProbeOptions) => Promise<ClusterSnapshot>;
  /** A kafkajs client for these bootstrap servers (static list or resolved on every connect), with the cluster's security. */
  kafka: (brokers: string[] | (() => Promise<string[]>), security?: ProbeSecurity) => Kafka;
  /** The cluster's security settings loader (secrets read at run time); absent or undefined: plaintext. */
  security?: (c: ProbeClusterConfig) => SecurityLoader | undefined;
  /** Bootstrap servers behind a DNS name. In Lambda the name itself (DNS resolves it); locally the zone. */
  bootstrapFor: (recordName: string, port: number) => Promise<string[]>;
  now: () => Date;
  timeoutMs: number;
}

function servers(c: ProbeClusterConfig): string[] {
  return (typeof c.bootstrapServers === 'string' ? c.bootstrapServers.split(',') : c.bootstrapServers).map((s) =>
    s.trim(),
  );
}

/** The cluster id answered by the first of `list` that answers (null: none did). */
async function clusterIdVia(list: string[], timeoutMs: number, security?: ProbeSecurity): Promise<string | null> {
  for (const s of list) {
    const { host, port } = parseHostPort(s);
    let conn: BrokerConnection | undefined;
    try {
      conn = await connectBroker(host, port, timeoutMs, security);
      return (await metadata(conn, timeoutMs)).clusterId;
    } catch {
      // try the next one
    } finally {
      conn?.close();
    }
  }
  return null;
}

async function ensureTopic(
  kafka: Kafka,
  topic: string,
  configEntries: { name: string; value: string }[],
  brokers: number,
): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    if ((await admin.listTopics()).includes(topic)) return;
    // Not waitForLeaders: kafkajs asks for the new topic's metadata once and gives up on
    // UNKNOWN_TOPIC_OR_PARTITION; the producer that follows retries until the leader is known.
    await admin.createTopics({
      waitForLeaders: false,
      topics: [{ topic, numPartitions: 1, replicationFactor: Math.min(3, brokers), configEntries }],
    });
  } finally {
    await admin.disconnect();
  }
}

export function makeDrStepsHandler(deps: DrStepsDeps) {
  const find = (name: string) => {
    const c = deps.clusters().find((x) => x.name === name);
    if (!c) throw new UnknownClusterError(`cluster "${name}" is not in CLUSTERS_FILE`);
    return c;
  };
  return async (event: DrStep): Promise<DrStepResult> => {
    const config = find(event.cluster);
    const list = servers(config);
    const loader = deps.security?.(config);
    const security = loader ? await loader.load() : undefined;
    switch (event.step) {
      case 'dr-prerequisites': {
        const snapshot = await deps.probe({
          ...probeOptionsFor(config, deps.timeoutMs),
          ...(security ? { security } : {}),
        });
        const topic = `${event.sourceAlias}.heartbeats`;
        let readings: HeartbeatReading[] = [];
        let readError: string | undefined;
        try {
          readings = (await readNewestRecords(list.map(parseHostPort), topic, deps.timeoutMs, security)).map((r) => ({
            timestampType: r.timestampType,
            timestamp: r.timestamp,
            sentAt: r.value !== null && r.value.length === 10 ? heartbeatSentAt(r.value) : null,
          }));
        } catch (err) {
          readError = (err as Error).message;
        }
        const lag =
          readError !== undefined
            ? ({ kind: 'unknown', reason: `cannot read ${topic}: ${readError}` } as const)
            : heartbeatLag(readings, topic);
        const verdict = drReadiness({
          cluster: event.cluster,
          status: snapshot.status,
          bootstrapReachable: snapshot.bootstrapReachable,
          lag,
          maxLagSeconds: event.maxLagSeconds,
        });
        if (!verdict.ready) throw new DrPrerequisitesNotMet(verdict.summary);
        return {
          step: 'dr-prerequisites',
          ready: true,
          healthy: verdict.healthy,
          lagSeconds: verdict.lagSeconds,
          summary: verdict.summary,
          at: snapshot.takenAt,
        };
      }
      case 'dr-backup': {
        const kafka = deps.kafka(list, security);
        const admin = kafka.admin();
        await admin.connect();
        let doc: {
          incidentId: string;
          cluster: string;
          takenAt: string;
          topics: Record<string, Record<string, string>>;
          groups: Record<string, { topic: string; partition: number; offset: string }[]>;
        };
        try {
          const topics = (await admin.listTopics()).filter((t) => !t.startsWith('__') && t !== BACKUP_TOPIC).sort();
          const described =
            topics.length === 0
              ? { resources: [] }
              : await admin.describeConfigs({
                  includeSynonyms: false,
                  resources: topics.map((name) => ({ type: 2, name })),
                });
          const configs: Record<string, Record<string, string>> = {};
          for (const r of described.resources) {
            configs[r.resourceName] = Object.fromEntries(
              r.configEntries
                .filter((e) => !e.isDefault && e.configValue !== null)
                .map((e) => [e.configName, e.configValue]),
            );
          }
          const groups: Record<string, { topic: string; partition: number; offset: string }[]> = {};
          for (const g of (await admin.listGroups()).groups.map((x) => x.groupId).sort()) {
            const offsets = await admin.fetchOffsets({ groupId: g });
            groups[g] = offsets.flatMap((t) =>
              t.partitions
                .filter((p) => p.offset !== '-1')
                .map((p) => ({ topic: t.topic, partition: p.partition, offset: p.offset })),
            );
          }
          doc = {
            incidentId: event.incidentId,
            cluster: event.cluster,
            takenAt: deps.now().toISOString(),
            topics: configs,
            groups,
          };
        } finally {
          await admin.disconnect();
        }
        await ensureTopic(kafka, BACKUP_TOPIC, [{ name: 'cleanup.policy', value: 'compact' }], list.length);
        const value = JSON.stringify(doc);
        const producer = kafka.producer({ allowAutoTopicCreation: false });
        await producer.connect();
        try {
          await producer.send({ topic: BACKUP_TOPIC, acks: -1, messages: [{ key: event.incidentId, value }] });
        } finally {
          await producer.disconnect();
        }
        const t = Object.keys(doc.topics).length;
        const g = Object.keys(doc.groups).length;
        return {
          step: 'dr-backup',
          topic: BACKUP_TOPIC,
          key: event.incidentId,
          topics: t,
          groups: g,
          bytes: Buffer.byteLength(value),
          summary: `${t} topic configs and ${g} consumer groups of ${event.cluster} backed up to ${BACKUP_TOPIC} key ${event.incidentId}`,
          at: doc.takenAt,
        };
      }
      case 'dr-canary': {
        const started = Date.now();
        const expectedClusterId = await clusterIdVia(list, deps.timeoutMs, security);
        const viaDns = await deps.bootstrapFor(event.recordName, event.port);
        const reachedClusterId = await clusterIdVia(viaDns, deps.timeoutMs, security);
        const sent = `kafka-heal canary ${randomUUID()} ${deps.now().toISOString()}`;
        let received: string | null = null;
        if (reachedClusterId !== null && reachedClusterId === expectedClusterId) {
          const kafka = deps.kafka(() => deps.bootstrapFor(event.recordName, event.port), security);
          await ensureTopic(kafka, CANARY_TOPIC, [{ name: 'retention.ms', value: '3600000' }], list.length);
          const producer = kafka.producer({ allowAutoTopicCreation: false });
          await producer.connect();
          try {
            const [meta] = await producer.send({ topic: CANARY_TOPIC, acks: -1, messages: [{ value: sent }] });
            if (meta) {
              const record = await readRecordAt(
                viaDns.map(parseHostPort),
                CANARY_TOPIC,
                meta.partition,
                Number(meta.baseOffset),
                deps.timeoutMs,
                security,
              );
              received = record?.value?.toString('utf8') ?? null;
            }
          } finally {
            await producer.disconnect();
          }
        }
        const verdict = canaryVerdict({
          recordName: event.recordName,
          expectedClusterId,
          reachedClusterId,
          sent,
          received,
        });
        if (!verdict.ok) throw new CanaryFailed(verdict.summary);
        return {
          step: 'dr-canary',
          ok: true,
          clusterId: expectedClusterId as string,
          roundTripMs: Date.now() - started,
          summary: verdict.summary,
          at: deps.now().toISOString(),
        };
      }
      case 'dr-site-probe': {
        const snapshot = await deps.probe(probeOptionsFor(config, deps.timeoutMs));
        const v = siteProbeVerdict({
          cluster: event.cluster,
          expect: event.expect,
          status: snapshot.status,
          bootstrapReachable: snapshot.bootstrapReachable,
        });
        return {
          step: 'dr-site-probe',
          verdict: v.verdict,
          status: snapshot.status,
          summary: v.summary,
          at: snapshot.takenAt,
        };
      }
    }
  };
}
