// One drill, end to end: a real local cluster and DynamoDB Local, the healer wired in process
// (healer.ts), traffic with acks=all, the scenario's faults at their times, then the outcome:
// incidents, actions, MTTD/MTTR, data loss, and the oracle (the same fault healed by an
// immediate manual restart, in the same run, on the same cluster) for the MTTR ratio.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { probeCluster } from '#shared/probe/index.js';
import type { IncidentWithTimeline } from '#shared/store/index.js';
import { startDrSite, type DrSite } from '../dr-site.js';
import { startDynamoDbLocal, type DynamoDbLocal } from '../dynamodb-local.js';
import { startCluster, type LocalCluster } from '../kafka/cluster.js';
import { planExporters, type ExporterPlan } from '../monitoring/exporters.js';
import type { DecideAnswer } from '../stepfunctions/approvals.js';
import {
  LADDER_TIME_FACTOR,
  ZK_ELECTION_FLOOR_MS,
  startLocalHealer,
  type HealerEvent,
  type LocalHealer,
} from './healer.js';
import {
  assembleReport,
  offlineReadings,
  primaryIncident,
  type DrObservations,
  type ObservedEvent,
  type ObservedExecution,
} from './report.js';
import type { DrillReport } from './report-types.js';
import { writeReports } from './render/index.js';
import {
  isAlarmFault,
  isAlertFault,
  isBrokerFault,
  isCredentialFault,
  isSiteFault,
  isZkFault,
  type BrokerFault,
  type Fault,
  type Scenario,
} from './scenario.js';
import { warmIncidentStore } from './warm-up.js';
import { startWorkload, type Workload } from './workload.js';

export interface RunDrillOptions {
  /** Progress lines (phase, alarms, states entered/exited, elapsed); default: none. */
  progress?: (line: string) => void;
  /** Leave the cluster and DynamoDB Local running (and say where). */
  keep?: boolean;
  /** Write the report files here (report.json, and the rendered ones when the renderers exist). */
  reportDir?: string;
  /** A running cluster to drill on (shared between drills in one test file); its shape must match the scenario. */
  cluster?: LocalCluster;
  /** A running DynamoDB Local to use (each drill gets its own table). */
  dynamo?: DynamoDbLocal;
  /** Cluster name when the drill starts its own; default `drill-<scenario>`. */
  clusterName?: string;
  /** A running 3-broker KRaft cluster to use as the DR site (scenarios with a dr section); default: one is started. */
  drCluster?: LocalCluster;
  /**
   * Scenarios with a `prometheus` section on a shared `cluster`: the exporters it was started with
   * (planExporters' nodeExtras). A cluster the drill starts itself gets its own.
   */
  exporters?: ExporterPlan;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** How the drill tells a finished incident from one still in progress. */
const TERMINAL = new Set(['resolved', 'escalated', 'suppressed']);

function fmt(ms: number): string {
  return `${ms < 0 ? '-' : '+'}${(Math.abs(ms) / 1000).toFixed(1)}s`;
}

async function createTopics(cluster: LocalCluster, scenario: Scenario): Promise<void> {
  const kafka = new Kafka({
    clientId: 'kafka-heal-drill-admin',
    brokers: cluster.bootstrapServers.split(','),
    logLevel: logLevel.NOTHING,
  });
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const rf = Math.min(3, scenario.cluster.brokers);
    const topics = [];
    if (!existing.has(scenario.workload.topic))
      topics.push({
        topic: scenario.workload.topic,
        numPartitions: scenario.workload.partitions,
        replicationFactor: rf,
      });
    for (const t of scenario.topics) {
      if (existing.has(t.name)) continue;
      // A topic with fewer replicas than the cluster's min.insync.replicas (2) would be under min ISR from birth.
      const replicaCount = t.replicas?.length ?? t.replicationFactor;
      const configEntries = replicaCount < 2 ? [{ name: 'min.insync.replicas', value: '1' }] : [];
      if (t.replicas) {
        const replicas = t.replicas;
        topics.push({
          topic: t.name,
          configEntries,
          replicaAssignment: Array.from({ length: t.partitions }, (_, partition) => ({ partition, replicas })),
        });
      } else
        topics.push({
          topic: t.name,
          configEntries,
          numPartitions: t.partitions,
          replicationFactor: t.replicationFactor,
        });
    }
    // kafkajs's own waitForLeaders can reject outside the returned promise on a busy cluster: poll instead.
    if (topics.length > 0) await admin.createTopics({ waitForLeaders: false, topics });
    const names = [scenario.workload.topic, ...scenario.topics.map((t) => t.name)];
    const deadline = Date.now() + 60_000;
    for (;;) {
      try {
        const meta = await admin.fetchTopicMetadata({ topics: names });
        if (meta.topics.every((t) => t.partitions.length > 0 && t.partitions.every((p) => p.leader >= 0))) break;
      } catch (err) {
        if (Date.now() > deadline) throw err;
      }
      if (Date.now() > deadline) throw new Error(`topics ${names.join(', ')} have no leaders after 60 s`);
      await sleep(250);
    }
  } finally {
    await admin.disconnect();
  }
}

async function deleteTopics(cluster: LocalCluster, topics: string[]): Promise<void> {
  const admin = new Kafka({
    clientId: 'kafka-heal-drill-admin',
    brokers: cluster.bootstrapServers.split(','),
    logLevel: logLevel.NOTHING,
  }).admin();
  await admin.connect();
  try {
    await admin.deleteTopics({ topics, timeout: 30_000 });
  } finally {
    await admin.disconnect();
  }
}

/** What a person would do first by hand for this fault (the oracle's repair). */
function manualRepair(f: Fault): 'restart' | 'free-disk' | undefined {
  if (!isBrokerFault(f)) return undefined;
  if (f.action === 'crash' || f.action === 'hang' || f.action === 'stop') return 'restart';
  if (f.action === 'fill-disk') return 'free-disk';
  return undefined;
}

/** Brings every broker and ZooKeeper node back (after escalated drills), then waits for a healthy cluster. */
async function restoreCluster(cluster: LocalCluster, faults: Fault[], progress: (l: string) => void): Promise<void> {
  for (const b of cluster.brokers) {
    if (b.state === 'hung') await cluster.fault('resume', b.id);
    else if (b.state === 'crashed' || b.state === 'stopped') await cluster.fault('start', b.id);
  }
  for (const f of faults)
    if (isBrokerFault(f) && f.action === 'fill-disk') await cluster.fault('free-disk', f.broker).catch(() => undefined);
  for (const z of cluster.zookeeper?.nodes ?? []) {
    if (z.state === 'hung') await cluster.zkFault('resume', z.id);
    else if (z.state !== 'running') await cluster.zkFault('start', z.id);
  }
  const ms = await cluster.waitHealthy(180_000);
  progress(`cluster healthy again after ${(ms / 1000).toFixed(1)} s`);
}

/**
 * Polls the probe (as the drill's health measure does) until the cluster is healthy; returns when.
 * Healthy counts only once every broker in `replaced` runs as a new process (not its old pid):
 * a hung JVM that is resumed to be stopped answers again until it exits, and must not read as
 * the repaired broker. Healthy means every broker registered and every ISR full, so it is the
 * restarted brokers back in every ISR.
 */
async function probeUntilHealthy(
  cluster: LocalCluster,
  intervalMs: number,
  timeoutMs: number,
  replaced: { brokerId: number; oldPid: number | undefined }[] = [],
): Promise<number | null> {
  const servers = cluster.bootstrapServers.split(',');
  const deadline = Date.now() + timeoutMs;
  const isNew = () =>
    replaced.every((r) => {
      const b = cluster.brokers.find((x) => x.id === r.brokerId);
      return b?.state === 'running' && b.pid !== undefined && b.pid !== r.oldPid;
    });
  while (Date.now() < deadline) {
    const started = Date.now();
    if (isNew()) {
      const s = await probeCluster({
        bootstrapServers: servers,
        expectedBrokers: cluster.brokers.length,
        timeoutMs: 3000,
      });
      if (s.status === 'healthy' && isNew()) return Date.now();
    }
    await sleep(Math.max(0, intervalMs - (Date.now() - started)));
  }
  return null;
}

/** Runs the scenario and returns its report; never throws for a drill that merely failed its expectations. */
export async function runDrill(scenario: Scenario, opts: RunDrillOptions = {}): Promise<DrillReport> {
  const startedAt = Date.now();
  const print = opts.progress ?? (() => undefined);
  const events: ObservedEvent[] = [];
  const notes: string[] = [];
  let faultAt = Number.NaN;
  const stamp = (at: number) =>
    `[${fmt(at - startedAt)}${Number.isNaN(faultAt) ? '' : ` | fault ${fmt(at - faultAt)}`}]`;
  const progress = (line: string) => print(`${stamp(Date.now())} ${line}`);
  const record = (e: ObservedEvent) => {
    events.push(e);
    print(`${stamp(e.at)} ${e.source.padEnd(12)} ${e.event}${e.detail ? `  ${e.detail}` : ''}`);
  };

  let dynamo = opts.dynamo;
  let cluster = opts.cluster;
  let healer: LocalHealer | undefined;
  let workload: Workload | undefined;
  let site: DrSite | undefined;
  let ownDrCluster: Promise<LocalCluster> | undefined;
  const ownDynamo = !dynamo;
  const ownCluster = !cluster;
  // kafkajs (admin waits, consumer rebalances during a broker crash) can reject promises nobody
  // holds; during a drill they are recorded, not fatal.
  const stray = (reason: unknown) =>
    record({
      at: Date.now(),
      source: 'workload',
      event: 'client:error',
      detail: reason instanceof Error ? `${reason.name}: ${reason.message}` : String(reason),
    });
  process.on('unhandledRejection', stray);
  try {
    progress(`phase setup: scenario ${scenario.name}: ${scenario.description.trim().split('\n')[0] ?? ''}`);
    if (!dynamo) {
      progress('phase setup: starting DynamoDB Local (incident table)');
      dynamo = await startDynamoDbLocal({ log: progress });
      // A cold DynamoDB Local JVM would add seconds to the first incident that AWS does not (warm-up.ts).
      progress(`phase setup: incident store warmed up in ${await warmIncidentStore(dynamo.client())} ms`);
    }
    // A DR site's cluster starts beside the primary (two clusters in parallel: 40-54 s here, not 80+).
    const drName = `${(opts.clusterName ?? `drill-${scenario.name}`).slice(0, 37)}-dr`;
    if (scenario.dr && !opts.drCluster) ownDrCluster = startCluster({ name: drName, diskLimitMb: 0, log: progress });
    let exporters = opts.exporters;
    if (scenario.prometheus && opts.cluster && !exporters) {
      throw new Error(
        `scenario ${scenario.name} is watched by Prometheus: the shared cluster must run the exporters (start it with planExporters(...).nodeExtras and pass the plan as exporters)`,
      );
    }
    if (!cluster) {
      if (scenario.prometheus)
        exporters = await planExporters({
          brokers: scenario.cluster.brokers,
          zookeepers: scenario.cluster.mode === 'zookeeper' ? 3 : 0,
          log: progress,
        });
      progress(
        `phase setup: starting a ${scenario.cluster.brokers}-broker ${scenario.cluster.mode} cluster (jars from Maven Central on first use)`,
      );
      cluster = await startCluster({
        name: opts.clusterName ?? `drill-${scenario.name}`.slice(0, 40),
        brokers: scenario.cluster.brokers,
        mode: scenario.cluster.mode,
        ...(scenario.cluster.security ? { security: scenario.cluster.security } : {}),
        log: progress,
        ...(exporters ? { nodeExtras: exporters.nodeExtras } : {}),
      });
    } else {
      if (cluster.brokers.length !== scenario.cluster.brokers || cluster.mode !== scenario.cluster.mode) {
        throw new Error(
          `the shared cluster has ${cluster.brokers.length} ${cluster.mode} brokers; scenario ${scenario.name} needs ${scenario.cluster.brokers} ${scenario.cluster.mode}`,
        );
      }
      const has = cluster.security
        ? `${cluster.security.protocol}${cluster.security.mechanism ? `/${cluster.security.mechanism}` : ''}`
        : 'PLAINTEXT';
      const wants = scenario.cluster.security
        ? `${scenario.cluster.security.protocol}${scenario.cluster.security.mechanism ? `/${scenario.cluster.security.mechanism}` : ''}`
        : 'PLAINTEXT';
      if (has !== wants)
        throw new Error(`the shared cluster's healer listener is ${has}; scenario ${scenario.name} needs ${wants}`);
      await cluster.waitHealthy(180_000);
    }
    const c = cluster;
    await createTopics(c, scenario);
    // A group and message tag of this run's own: drills sharing a cluster never read each other's traffic.
    const runId = startedAt.toString(36);
    const consumerGroup = `${scenario.workload.consumerGroup}-${runId}`;
    await c.waitHealthy(120_000);
    if (scenario.dr) {
      const drCluster = opts.drCluster ?? (await ownDrCluster);
      if (!drCluster) throw new Error('no DR cluster');
      progress(`phase setup: DR site: cluster ${drCluster.name}, MirrorMaker 2 from ${c.name}, a local Route 53 zone`);
      site = await startDrSite({
        primary: c,
        dr: drCluster,
        workDir: mkdtempSync(join(tmpdir(), `kh-drill-${scenario.name}-`)),
        recordTtl: scenario.dr.recordTtlSeconds,
        propagationMs: scenario.dr.propagationSeconds * 1000,
        log: progress,
      });
      // MM2 needs 75 s on an idle 2-core machine to start and replicate, minutes under load.
      const ms = await site.mirror.waitCaughtUp([scenario.workload.topic], 300_000);
      progress(
        `DR site: ${scenario.workload.topic} and ${site.mirror.heartbeatsTopic} replicated to ${site.dr.name} after ${(ms / 1000).toFixed(1)} s; ${site.recordName} -> ${site.endpoints.primary}`,
      );
    }
    const drSite = site;
    // A DR drill whose primary site fails heals by moving the clients; one with only a (false) alert
    // for it heals, or stays healthy, in place.
    const failsOver = drSite !== undefined && scenario.faults.some(isSiteFault);

    const decide = async (): Promise<DecideAnswer> => {
      const a = scenario.approvals;
      if (a.decision === 'never') return 'never';
      await sleep(a.afterSeconds * 1000);
      return a.decision === 'approve'
        ? {
            decision: 'approved',
            by: 'operator:drill',
            reason: `scenario ${scenario.name} approves after ${a.afterSeconds} s`,
          }
        : { decision: 'rejected', by: 'operator:drill', reason: `scenario ${scenario.name} rejects` };
    };
    healer = await startLocalHealer({
      cluster: c,
      dynamo,
      policy: scenario.policy,
      alarmPeriodSeconds: scenario.alarms.periodSeconds,
      sustainedWindowSeconds: scenario.alarms.sustainedWindowSeconds,
      probeIntervalMs: scenario.alarms.probeIntervalSeconds * 1000,
      consumerGroup: {
        name: consumerGroup,
        topic: scenario.workload.topic,
        maxOffsetLag: scenario.workload.maxOffsetLag,
      },
      approvals: { decide },
      onEvent: (e: HealerEvent) => record(e),
      ...(drSite && scenario.dr
        ? {
            dr: {
              site: drSite,
              settings: {
                automaticFailover: scenario.dr.automaticFailover,
                maxReplicationLagSeconds: scenario.dr.maxReplicationLagSeconds,
              },
            },
          }
        : {}),
      ...(scenario.prometheus && exporters
        ? { prometheus: { exporters, cloudwatchAlarms: scenario.prometheus.cloudwatchAlarms } }
        : {}),
      ...(scenario.pagerDuty
        ? {
            pagerDuty: {
              acknowledgeAfterMs: scenario.pagerDuty.acknowledgeAfterSeconds * 1000,
              responder: scenario.pagerDuty.responder,
            },
          }
        : {}),
      ...(scenario.cluster.platform === 'msk'
        ? {
            msk:
              scenario.cluster.mskRefusesReboot === undefined
                ? {}
                : { refuseReboot: scenario.cluster.mskRefusesReboot },
          }
        : {}),
    });
    const h = healer;
    notes.push(
      `CloudWatch periods are shortened: every 60 s period is evaluated over ${scenario.alarms.periodSeconds} s locally (300 s periods scale alike); evaluation periods, datapoints to alarm, statistics, thresholds and missing-data rules are the deployed alarms' (infra/constructs/alarm-specs.ts).`,
      `Alarms that watch 10 minutes or more (under-replication, 15 x 1 min) keep a local window of at least ${scenario.alarms.sustainedWindowSeconds} s: they exist to ignore restart blips, and a broker restart takes the same real seconds locally as in AWS.`,
      `The probe runs every ${scenario.alarms.probeIntervalSeconds} s (the probe Lambda runs every minute); the same probe code and metric mapping feed the alarms.`,
      'Workflow Wait states and retry pauses run at 1/20 of their ASL seconds; the broker verify backoff polls every second; the whole-cluster checks after a cascade or a quorum recovery keep real seconds (3 x 15 s, the ASL has 10 + 15 + 22.5 s).',
      `The escalation ladder's acknowledgement timeouts are divided by ${LADDER_TIME_FACTOR} (SEV-1: 15 min to acknowledge becomes ${((15 * 60) / LADDER_TIME_FACTOR).toFixed(2)} s) and it posts no status updates; nobody acknowledges, so the ladder runs to its end (in the default pagerduty mode: one page, then PagerDuty's own escalation). PagerDuty is the local Events v2 receiver over HTTP; SNS is an outbox.`,
      `Runtime policy (SSM Parameter Store in AWS): ${JSON.stringify(scenario.policy)}.`,
      `Traffic: kafkajs producer with acks=all${scenario.workload.idempotent ? ', idempotent' : ' (not idempotent: the idempotent producer lost one acknowledged message per broker crash in earlier drills)'}; lost = acknowledged and absent from the topic.`,
    );
    if (c.security) {
      notes.push(
        `Secured listener: the healer (probe, cluster steps, Kafka's CLI on the hosts) speaks ${c.security.protocol}${c.security.mechanism ? ` with ${c.security.mechanism}` : ''}${c.security.clientAuth ? ' and a client certificate' : ''} to the brokers' SECURED listener, its credentials and CA bundle read at run time from the drill's Secrets Manager double; the drill's own traffic uses the PLAINTEXT listener.`,
      );
    }
    if (scenario.cluster.platform === 'msk') {
      notes.push(
        `Amazon MSK: the healer's configuration deploys ${c.name} as platform msk (${h.mskClusterArn ?? ''}, brokers 1..${c.brokers.length} are the local brokers), so the MSK alarm set is evaluated; its AWS/Kafka series are not simulated (no data, those alarms stay quiet), the probe's BrokerReachable per broker is. MSK's control plane (DescribeCluster, RebootBroker, DescribeClusterOperation) is the local MSK double: RebootBroker restarts the local broker${scenario.cluster.mskRefusesReboot === undefined ? '' : `; in this drill it refuses every reboot (BadRequestException: ${scenario.cluster.mskRefusesReboot})`}.`,
      );
    }
    if (drSite && scenario.dr) {
      notes.push(
        `DR pair: ${c.name} -> ${drSite.dr.name} by MirrorMaker 2 (connect-mirror, dedicated mode, 1 s heartbeats and offset syncs); the workload's clients resolve ${drSite.recordName}:9092 through the local Route 53 zone (TTL ${scenario.dr.recordTtlSeconds} s, a change is PENDING for ${scenario.dr.propagationSeconds} s). automaticFailover ${scenario.dr.automaticFailover}, maxReplicationLagSeconds ${scenario.dr.maxReplicationLagSeconds}.`,
        'RPO is the replication lag at failure: DR append time minus send time of the newest heartbeat MirrorMaker 2 replicated before the site died (read on DR afterwards). RTO is fault to the record INSYNC on DR with the canary produced and read back through the DNS name. Lost = acknowledged by the primary and absent from DR.',
      );
    }
    for (const s of h.evaluator.skipped) notes.push(`Alarm ${s.alarmName} is not evaluated locally: ${s.reason}.`);
    if (h.monitoring) {
      notes.push(
        `Prometheus ${h.monitoring.stack.prometheusUrl} scrapes the brokers' JMX exporter agents${c.mode === 'zookeeper' ? " and the ZooKeeper servers' own metrics providers" : ''} every ${Math.max(0.5, scenario.alarms.periodSeconds / 2)} s and evaluates the shipped rules (monitoring/prometheus/rules) with every minute of \`for:\` scaled to ${scenario.alarms.periodSeconds} s (controller and quorum rules at least ${ZK_ELECTION_FLOOR_MS / 1000} s, 10-minute rules at least ${scenario.alarms.sustainedWindowSeconds} s); Alertmanager posts to the webhook ${h.monitoring.webhook.url} with the bearer token from a file, through the webhook authorizer and handler.`,
        scenario.prometheus?.cloudwatchAlarms === false
          ? 'The CloudWatch-style alarms on the probe are off: Prometheus is the only detector (the probe still measures health).'
          : 'The CloudWatch-style alarms on the probe run as well, as in an EC2 deployment that also runs Prometheus.',
      );
    } else if (c.mode === 'zookeeper') {
      notes.push(
        `ZooKeeper ensemble: watched as self-managed clusters do, by a ZooKeeper exporter (srvr on every server), the Prometheus rule ZookeeperQuorumLost held for ${Math.max(scenario.alarms.periodSeconds, ZK_ELECTION_FLOOR_MS / 1000)} s (1 minute in production; at least ${ZK_ELECTION_FLOOR_MS / 1000} s here, as a leader election takes real seconds) and Alertmanager's webhook into ingest.`,
      );
    }
    if (h.workflows.missing.length > 0)
      notes.push(
        `Workflows not available locally (the classifier escalates instead): ${h.workflows.missing.join('; ')}.`,
      );

    progress(
      `phase baseline: probing every ${scenario.alarms.probeIntervalSeconds} s, ${h.evaluator.specs.length} alarms evaluated every ${scenario.alarms.periodSeconds} s-period; workload ${scenario.workload.ratePerSecond} msg/s acks=all on ${scenario.workload.topic}`,
    );
    h.startMonitoring();
    workload = startWorkload({
      bootstrapServers: drSite ? drSite.viaRecord() : c.bootstrapServers.split(','),
      topic: scenario.workload.topic,
      ratePerSecond: scenario.workload.ratePerSecond,
      consumerGroup,
      runId,
      log: progress,
      idempotent: scenario.workload.idempotent,
    });
    await workload.start();
    await sleep(scenario.workload.warmupSeconds * 1000);

    // Faults at their times (seconds from the end of the warm-up).
    const t0 = Date.now();
    faultAt = t0 + (scenario.faults[0]?.at ?? 0) * 1000;
    progress(`phase faults: ${scenario.faults.length} fault(s) scheduled`);
    const w = workload;
    const apply = async (f: Fault) => {
      const detail =
        'broker' in f && f.broker !== undefined
          ? `broker ${f.broker}`
          : 'zookeeper' in f
            ? `zookeeper ${f.zookeeper}`
            : '';
      record({
        at: Date.now(),
        source: 'fault',
        event: `fault:${f.action}`,
        detail:
          [detail, 'alarm' in f ? `alarm ${f.alarm}` : '', 'alert' in f ? `alert ${f.alert}` : '']
            .filter(Boolean)
            .join(' ') || undefined,
      });
      if (isAlarmFault(f)) {
        const n = h.fireAlarm(
          (spec) => spec.alarmKind === f.alarm,
          `Injected by drill ${scenario.name}: a spurious ${f.alarm} alarm while the cluster is healthy.`,
          f.broker,
        );
        if (n === 0)
          notes.push(`fire-alarm ${f.alarm}: no such alarm is evaluated locally (or it was already in ALARM).`);
      } else if (isAlertFault(f))
        h.sendAlert(f.alert, `Injected by drill ${scenario.name}: a ${f.alert} alert, whatever the cluster's state.`);
      else if (f.action === 'pause-consumer') w.pauseConsumer();
      else if (f.action === 'resume-consumer') w.resumeConsumer();
      else if (isSiteFault(f)) await Promise.all(c.brokers.map((b) => c.fault('crash', b.id)));
      else if (isCredentialFault(f)) {
        if (!c.security) throw new Error('the cluster has no secured listener to rotate a password on');
        await c.security.rotatePassword();
      } else if (isZkFault(f))
        await c.zkFault(f.action.replace(/^zk-/, '') as Parameters<LocalCluster['zkFault']>[0], f.zookeeper);
      else if (isBrokerFault(f))
        await c.fault(f.action, f.broker, f.percent === undefined ? undefined : { percent: f.percent });
    };
    for (const f of [...scenario.faults].sort((a, b) => a.at - b.at)) {
      const wait = t0 + f.at * 1000 - Date.now();
      if (wait > 0) await sleep(wait);
      await apply(f).catch((err: unknown) =>
        record({ at: Date.now(), source: 'fault', event: 'fault:failed', detail: (err as Error).message }),
      );
    }

    // Outcome: every incident closed (resolved, escalated, suppressed), nothing running, quiet for a while.
    progress('phase heal: waiting for the alarms, the classifier and the workflows');
    const deadline = startedAt + scenario.timeoutSeconds * 1000;
    const quietMs = Math.max(8000, 5 * scenario.alarms.periodSeconds * 1000);
    let lastChange = Date.now();
    let lastSeen = '';
    let timedOut = false;
    // A DR drill heals by moving the clients: healthy means the record leads to DR and DR is healthy.
    let drHealthyAt: number | null = null;
    const drServing = async (): Promise<boolean> => {
      if (!drSite || !failsOver || drSite.currentTarget() !== 'dr') return false;
      const s = await probeCluster({
        bootstrapServers: drSite.resolve(`${drSite.recordName}:9092`),
        expectedBrokers: drSite.dr.brokers.length,
        timeoutMs: 3000,
      });
      return s.status === 'healthy';
    };
    for (;;) {
      const all = await h.store.list({ cluster: c.name });
      const running = h.sfn.running().length;
      const view = `${all.map((i) => `${i.id}:${i.status}`).join(',')}|${running}|${h.alarmTransitions.length}`;
      if (view !== lastSeen) {
        lastSeen = view;
        lastChange = Date.now();
      }
      const lastProbe = h.probeLog.at(-1);
      const closed = all.every((i) => TERMINAL.has(i.status)) && running === 0;
      if (drSite && drHealthyAt === null && (await drServing())) drHealthyAt = Date.now();
      const healthy = failsOver ? drHealthyAt !== null : lastProbe?.status === 'healthy';
      const healthyOrHandedOver =
        healthy || all.some((i) => i.status === 'escalated') || scenario.expect.finalHealth === 'any';
      const enough = scenario.expect.noIncident ? true : all.length > 0;
      if (closed && enough && healthyOrHandedOver && Date.now() - lastChange >= quietMs) break;
      if (Date.now() > deadline) {
        timedOut = true;
        notes.push(
          `The drill timed out after ${scenario.timeoutSeconds} s with incidents ${all.map((i) => `${i.type}:${i.status}`).join(', ') || '(none)'} and ${running} execution(s) running.`,
        );
        break;
      }
      await sleep(500);
    }
    await h.stopMonitoring();
    if (!timedOut) await h.settled();
    const finishedHealing = Date.now();

    // Health measure: the first healthy probe after the last unhealthy one since the fault.
    const afterFault = h.probeLog.filter((p) => p.at >= faultAt);
    const lastBad = [...afterFault].reverse().find((p) => p.status !== 'healthy');
    const finalHealthy = failsOver ? await drServing() : afterFault.at(-1)?.status === 'healthy';
    const healthyAt = failsOver
      ? finalHealthy
        ? drHealthyAt
        : null
      : finalHealthy
        ? (afterFault.find((p) => p.status === 'healthy' && (lastBad === undefined || p.at > lastBad.at))?.at ?? null)
        : null;
    // The newest heartbeat that reached DR before the site died: read before anything restarts the primary.
    const heartbeat = failsOver ? await drSite.mirror.heartbeatLag().catch(() => undefined) : undefined;

    // Brokers the healer left down (an escalated drill) come back first: an acknowledged message on
    // a replica that is down is unavailable, not lost, and its partition cannot be read without a leader.
    // A site failure's primary stays down until the data is checked on DR (failback is another runbook).
    let restored = false;
    if (!failsOver && (!finalHealthy || c.brokers.some((b) => b.state !== 'running'))) {
      progress('phase restore: bringing the cluster back before the data is checked (and for the next drill)');
      await restoreCluster(c, scenario.faults, progress);
      restored = true;
    }

    progress('phase data: draining the consumer group');
    // The data check reads the topic back (through the record in a DR drill); if the cluster cannot
    // be read at all the drill still reports, counting what the group had read.
    const counts = await workload.finish(30_000).catch((err: unknown) => {
      notes.push(
        `The data check could not re-read ${scenario.workload.topic} (${(err as Error).message}): lost counts acknowledged messages the consumer group never read.`,
      );
      return w.counts();
    });
    workload = undefined;
    progress(
      `workload: ${counts.produced} acknowledged, ${counts.consumed} read back, ${counts.lost} lost, ${counts.failedSends} sends failed (not acknowledged)`,
    );
    if (counts.lost > 0) {
      notes.push(
        `Acknowledged but not found in the topic (re-read from the beginning): ${counts.lostSamples.map((l) => `#${l.seq} sent ${fmt(l.sentAt - faultAt)} acked ${fmt(l.ackedAt - faultAt)} from the fault`).join('; ')}${counts.lost > counts.lostSamples.length ? ` and ${counts.lost - counts.lostSamples.length} more` : ''}.`,
      );
    }

    const records = await h.store.list({ cluster: c.name });
    const incidents: IncidentWithTimeline[] = [];
    for (const r of records) incidents.push(await h.store.get(r.id));
    const executions: ObservedExecution[] = h.sfn.executions.map((e) => {
      const input = e.input as { incidentId?: string };
      const wf = h.workflowOf(e.stateMachineArn);
      const x: ObservedExecution = { workflow: wf, status: e.result?.status ?? 'RUNNING' };
      if (input.incidentId !== undefined) x.incidentId = input.incidentId;
      return x;
    });

    // Oracle: the same faults on the same schedule, each repaired by hand at once, measured with
    // the same probe (a cascade's oracle restarts every broker the cascade broke, not only the first).
    let oracleMs: number | null = null;
    const repairable = [...scenario.faults]
      .sort((a, b) => a.at - b.at)
      .filter((f): f is BrokerFault => manualRepair(f) !== undefined);
    const first = repairable[0];
    // After a site failure the primary stays down, as it would be: bringing it back is dr-failback's job.
    if (failsOver)
      notes.push(
        `The primary site (${c.name}) is left down after the drill: failback is dr-failback's runbook, not part of this drill.`,
      );
    else if (!restored && c.brokers.some((b) => b.state !== 'running')) {
      progress('phase restore: bringing the cluster back for the next drill');
      await restoreCluster(c, scenario.faults, progress);
    }
    if (scenario.oracle && first) {
      await c.waitHealthy(180_000);
      const what = repairable.map((f) => `${f.action} broker ${f.broker} at +${f.at - first.at} s`).join(', ');
      progress(`phase oracle: ${what}, each repaired by hand at once`);
      const at = Date.now();
      const replaced: { brokerId: number; oldPid: number | undefined }[] = [];
      for (const f of repairable) {
        const wait = at + (f.at - first.at) * 1000 - Date.now();
        if (wait > 0) await sleep(wait);
        const repair = manualRepair(f) as 'restart' | 'free-disk';
        if (repair === 'restart')
          replaced.push({ brokerId: f.broker, oldPid: c.brokers.find((b) => b.id === f.broker)?.pid });
        await c.fault(f.action, f.broker, f.percent === undefined ? undefined : { percent: f.percent });
        await c.fault(repair, f.broker);
      }
      const healthy = await probeUntilHealthy(c, scenario.alarms.probeIntervalSeconds * 1000, 180_000, replaced);
      oracleMs = healthy === null ? null : healthy - at;
      const done =
        replaced.length > 0
          ? `${replaced.length === 1 ? 'broker' : 'brokers'} ${replaced.map((r) => r.brokerId).join(', ')} restarted and back in every ISR, cluster`
          : 'cluster';
      record({
        at: healthy ?? Date.now(),
        source: 'oracle',
        event: healthy === null ? 'oracle:not-healthy' : 'oracle:healthy',
        detail:
          oracleMs === null
            ? 'not healthy within 180 s'
            : `manual repair (${what}): ${done} healthy ${(oracleMs / 1000).toFixed(1)} s after the first fault`,
      });
    } else if (scenario.oracle) {
      notes.push('No oracle: the scenario has no broker fault a manual restart repairs.');
    }

    const primary = primaryIncident(incidents, scenario.expect.incident, scenario.expect.incidentType);
    let dr: DrObservations | undefined;
    if (drSite && failsOver) {
      const canary = primary?.timeline.find((e) => e.action === 'canary-verified');
      const switched = primary?.timeline.find((e) => e.action === 'route53-upsert');
      dr = {
        rpoSeconds: heartbeat ? Math.round(heartbeat.lagMs / 100) / 10 : null,
        rtoSeconds: canary ? Math.round((Date.parse(canary.at) - faultAt) / 100) / 10 : null,
        oldestLostAgeSeconds:
          counts.oldestLostAckedAt === null ? null : Math.round((faultAt - counts.oldestLostAckedAt) / 100) / 10,
      };
      if (heartbeat)
        notes.push(
          `Newest heartbeat on DR: sent ${fmt(heartbeat.sentAt - faultAt)} from the fault, appended on DR ${heartbeat.lagMs} ms later.`,
        );
      else notes.push('No replicated heartbeat could be read on DR: RPO not measured.');
      const firstOnDr = switched ? w.firstAckAfter(Date.parse(switched.at)) : undefined;
      if (firstOnDr !== undefined)
        notes.push(
          `The workload's producer, following ${drSite.recordName}, had its first write acknowledged by DR ${fmt(firstOnDr - faultAt)} from the fault.`,
        );
    }
    if (incidents.length > 1) {
      notes.push(
        `${incidents.length} incidents opened: ${incidents.map((i) => `${i.type} ${i.severity} ${i.status}`).join('; ')}. Expectations and MTTR refer to ${primary ? `${primary.type} ${primary.id}` : 'none'}.`,
      );
    }
    if (primary?.status === 'escalated')
      notes.push(`Incident ${primary.id} was handed to people (escalated); MTTR is not measured for it.`);
    const report = assembleReport({
      scenario,
      startedAt,
      finishedAt: Date.now(),
      cluster: {
        name: c.name,
        mode: c.mode,
        brokers: c.brokers.length,
        kafkaVersion: c.mode === 'zookeeper' ? '3.9' : '4',
      },
      faultAt,
      events,
      incidents,
      executions,
      workload: counts,
      healthyAt,
      finalHealthy,
      oracleMs,
      ...(dr ? { dr } : {}),
      offlinePartitions: offlineReadings(h.probeLog, faultAt),
      notes: [
        ...notes,
        `Healing phase ended ${((finishedHealing - faultAt) / 1000).toFixed(1)} s after the first fault; ${h.probeRuns} probe runs; ${h.pagerDuty.events.length} PagerDuty event(s) received; ${h.outbox.length} SNS message(s) in the outbox; ${h.retryQueue.length} on the retry queue; ${h.approvals.requests.length} approval request(s).`,
      ],
    });
    if (opts.reportDir) await writeReport(report, opts.reportDir, progress);
    return report;
  } finally {
    await workload?.close();
    await healer?.close();
    if (site && !opts.keep) await site.stop();
    if (!ownCluster && cluster && scenario.topics.length > 0) {
      // A shared cluster goes back as it came: the next drill must not inherit a fragile topic.
      await deleteTopics(
        cluster,
        scenario.topics.map((t) => t.name),
      ).catch((err: unknown) => print(`could not delete topics: ${(err as Error).message}`));
    }
    if (opts.keep) {
      if (ownCluster && cluster)
        print(`kept: cluster ${cluster.name} at ${cluster.bootstrapServers} (kafka-heal local down to stop it)`);
      if (ownDynamo && dynamo) print(`kept: DynamoDB Local at ${dynamo.endpoint}`);
      if (site)
        print(
          `kept: DR cluster ${site.dr.name} at ${site.dr.bootstrapServers}, MirrorMaker 2 pid ${site.mirror.pid}, zone file ${site.zone.file}`,
        );
    } else {
      if (ownCluster) await cluster?.stop();
      if (ownDrCluster) await (await ownDrCluster.catch(() => undefined))?.stop();
      if (ownDynamo) await dynamo?.stop();
    }
    // Last: clients closed above can still reject what they had in flight.
    process.off('unhandledRejection', stray);
  }
}

/** Writes report.json, report.md, postmortem.md and report.html (local/drill/render) into `dir`. */
export async function writeReport(
  report: DrillReport,
  dir: string,
  progress: (l: string) => void = () => undefined,
): Promise<string[]> {
  const paths = Object.values(await writeReports(report, dir));
  progress(`report: ${paths.join(', ')}`);
  return paths;
}
