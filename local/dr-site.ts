// A DR site next to a local primary cluster, with everything the DR workflows touch: a second
// real cluster, MirrorMaker 2 replicating primary -> DR (local/kafka/mirror.ts), a local Route 53
// zone file whose bootstrap record points at the primary (local/stepfunctions/route53.ts), the
// resolver clients use to follow the record, and the pieces a healer needs to run dr-failover and
// dr-failback on the local runtime: the `dr` sections of the config file and of the workflow
// steps targets, the Route 53 bindings, and the DR cluster steps bound to the zone.
//
// Names: the MM2 aliases are the cluster names (the workflows read `<primary>.heartbeats` on DR).
// The record `kafka.<zone>` is a CNAME to `primary.kafka.<zone>` or `dr.kafka.<zone>`, and the
// resolver maps those two names to each cluster's listeners.
import { join } from 'node:path';
import kafkajs, { type Kafka } from 'kafkajs';
import { makeDrStepsHandler, type DrStep, type DrStepResult } from '../functions/cluster-steps/dr.js';
import type { ProbeClusterConfig } from '../functions/contracts/clusters-file.js';
import { probeCluster } from '../functions/shared/probe/index.js';
import type { DrTargetConfig } from '../functions/workflow-steps/dr-target.js';
import { startCluster, type LocalCluster } from './kafka/cluster.js';
import { startMirror, type LocalMirror } from './kafka/mirror.js';
import { LocalZone, route53Bindings, zoneResolver } from './stepfunctions/route53.js';
import type { BindingRegistry } from './stepfunctions/runtime.js';

export interface DrSiteOptions {
  primary: LocalCluster;
  /** A running DR cluster; without it one is started (3 KRaft nodes) and stopped with the site. */
  dr?: LocalCluster;
  /** Name of the DR cluster started here; default `<primary>-dr`. */
  drName?: string;
  /** Folder for the zone file. */
  workDir: string;
  /** Default `drill.local`. */
  zoneName?: string;
  /** Default ZLOCALDRILL01 (the config's hosted zone id pattern). */
  hostedZoneId?: string;
  /** The bootstrap record's TTL in seconds; default 1 (clients follow a switch within a second). */
  recordTtl?: number;
  /** How long a change stays PENDING; default 2000 ms. */
  propagationMs?: number;
  /** Topics MM2 replicates (regex); default all. */
  topics?: string;
  log?: (line: string) => void;
}

export interface DrSettings {
  automaticFailover: boolean;
  maxReplicationLagSeconds: number;
}

export interface DrSite {
  readonly primary: LocalCluster;
  readonly dr: LocalCluster;
  readonly mirror: LocalMirror;
  readonly zone: LocalZone;
  readonly hostedZoneId: string;
  /** The bootstrap record, without the trailing dot. */
  readonly recordName: string;
  readonly endpoints: { primary: string; dr: string };
  /** Bootstrap servers behind a name (`kafka.drill.local:9092`), through the zone. */
  resolve(hostPort: string): string[];
  /** kafkajs `brokers` that follows the record on every (re)connect. */
  viaRecord(): () => Promise<string[]>;
  /** Which cluster the record leads to now (by the name servers' answer). */
  currentTarget(): 'primary' | 'dr' | 'unknown';
  /** The `dr` section of each cluster in a healer config file (makes the classifier's hasDr true). */
  configDr(s: DrSettings): { primary: Record<string, unknown>; dr: Record<string, unknown> };
  /** The `dr` entries of the workflow steps targets (WORKFLOW_TARGETS_FILE). */
  targetsDr(s: DrSettings): { primary: DrTargetConfig; dr: DrTargetConfig };
  /** `route53:*` bindings on the zone. */
  bindings(): BindingRegistry;
  /** The DR cluster steps (prerequisites, backup, canary) with the record resolved through the zone. */
  drSteps(
    clusters: ProbeClusterConfig[],
    kafka?: (brokers: string[] | (() => Promise<string[]>)) => Kafka,
  ): (event: DrStep) => Promise<DrStepResult>;
  /** Stops MM2, and the DR cluster when this site started it. */
  stop(): Promise<void>;
}

export async function startDrSite(opts: DrSiteOptions): Promise<DrSite> {
  const log = opts.log ?? (() => undefined);
  const zoneName = (opts.zoneName ?? 'drill.local').replace(/\.$/, '');
  const hostedZoneId = opts.hostedZoneId ?? 'ZLOCALDRILL01';
  const ttl = opts.recordTtl ?? 1;
  const recordName = `kafka.${zoneName}`;
  const endpoints = { primary: `primary.kafka.${zoneName}`, dr: `dr.kafka.${zoneName}` };
  const ownsDr = opts.dr === undefined;
  const dr = opts.dr ?? (await startCluster({ name: opts.drName ?? `${opts.primary.name}-dr`, diskLimitMb: 0, log }));
  let mirror: LocalMirror | undefined;
  try {
    mirror = await startMirror({
      name: `${opts.primary.name}-to-${dr.name}`,
      source: { alias: opts.primary.name, bootstrapServers: opts.primary.bootstrapServers },
      target: { alias: dr.name, bootstrapServers: dr.bootstrapServers },
      ...(opts.topics !== undefined ? { topics: opts.topics } : {}),
      log,
    });
  } catch (err) {
    if (ownsDr) await dr.stop();
    throw err;
  }
  const zone = new LocalZone({
    file: join(opts.workDir, 'route53-zone.json'),
    hostedZoneId,
    zoneName,
    records: [{ Name: recordName, Type: 'CNAME', TTL: ttl, ResourceRecords: [{ Value: endpoints.primary }] }],
    propagationMs: opts.propagationMs ?? 2000,
  });
  const resolver = zoneResolver({
    zone,
    endpoints: {
      [endpoints.primary]: opts.primary.bootstrapServers.split(','),
      [endpoints.dr]: dr.bootstrapServers.split(','),
    },
  });
  const defaultKafka = (brokers: string[] | (() => Promise<string[]>)) =>
    new kafkajs.Kafka({
      clientId: 'kafka-heal-cluster-steps',
      brokers,
      logLevel: kafkajs.logLevel.NOTHING,
      connectionTimeout: 2000,
      retry: { retries: 5, initialRetryTime: 200 },
    });
  const entry = (endpoint: string, peer: string, s: DrSettings): DrTargetConfig => ({
    peer,
    hostedZoneId,
    recordName,
    ttl,
    endpoint,
    bootstrapPort: 9092,
    automaticFailover: s.automaticFailover,
    maxReplicationLagSeconds: s.maxReplicationLagSeconds,
  });
  const site: DrSite = {
    primary: opts.primary,
    dr,
    mirror,
    zone,
    hostedZoneId,
    recordName,
    endpoints,
    resolve: (hostPort) => resolver.resolve(hostPort),
    viaRecord: () => () => Promise.resolve(resolver.resolve(`${recordName}:9092`)),
    currentTarget: () => {
      const value = zone.lookup(recordName, 'CNAME')?.ResourceRecords[0]?.Value;
      return value === endpoints.primary ? 'primary' : value === endpoints.dr ? 'dr' : 'unknown';
    },
    configDr: (s) => {
      const route53 = { hostedZoneId, recordName, ttl };
      return {
        primary: {
          peer: dr.name,
          route53,
          automaticFailover: s.automaticFailover,
          maxReplicationLagSeconds: s.maxReplicationLagSeconds,
        },
        dr: {
          peer: opts.primary.name,
          route53,
          automaticFailover: s.automaticFailover,
          maxReplicationLagSeconds: s.maxReplicationLagSeconds,
        },
      };
    },
    targetsDr: (s) => ({
      primary: entry(endpoints.primary, dr.name, s),
      dr: entry(endpoints.dr, opts.primary.name, s),
    }),
    bindings: () => route53Bindings(zone),
    drSteps: (clusters, kafka = defaultKafka) =>
      makeDrStepsHandler({
        clusters: () => clusters,
        probe: probeCluster,
        kafka,
        bootstrapFor: async (name, port) => resolver.resolve(`${name}:${port}`),
        now: () => new Date(),
        timeoutMs: 5000,
      }),
    stop: async () => {
      await mirror?.stop();
      if (ownsDr) await dr.stop();
    },
  };
  return site;
}
