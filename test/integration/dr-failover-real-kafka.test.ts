// DR against REAL Kafka: two 3-node KRaft clusters (primary "events", DR "events-dr") with
// MirrorMaker 2 (connect-mirror, dedicated mode) between them, one shared pair for this file.
//  1. MM2 replicates topic data and consumer group offsets; replication lag is measured two ways
//     (a timestamped canary's trip, and the replicated heartbeats' LogAppendTime lag).
//  2. Site failure: every primary broker is killed while a producer writes with acks=all; the
//     dr-failover ASL runs on the local runtime with the real workflow steps and cluster steps
//     (real probes of the dead primary, real probe of DR, real heartbeat read, real backup, real
//     canary) and a local Route 53 zone file,
//     flips the bootstrap record, and clients resolving the name through the zone reach the DR
//     cluster. RPO (acknowledged messages missing on DR, and the replication lag at failure) and
//     RTO (failure to clients served by DR) are printed with a "[dr-figures]" prefix.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import kafkajs from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DrStepSchema } from '#functions/cluster-steps/dr.js';
import { readNewestRecords } from '#functions/cluster-steps/heartbeats.js';
import { WorkflowStepSchema, makeWorkflowStepsHandler } from '#functions/workflow-steps/handler.js';
import { type ClusterTargetConfig } from '#contracts/workflow-targets.js';
import { definitionText } from '#infra/constructs/workflows.js';
import { startDrSite, type DrSite } from '#local/dr-site.js';
import { startCluster, type LocalCluster } from '#local/kafka/cluster.js';
import { heartbeatSentAt } from '#local/kafka/mirror.js';
import {
  APPROVAL_RESOURCE,
  RESOURCES,
  TaskError,
  approvalBinding,
  approveAfter,
  lambdaInvokeBinding,
  parseDefinition,
  recordCalls,
  runWorkflow,
  startExecutionSyncBinding,
  type Json,
} from '#local/stepfunctions/index.js';
import { MemoryStore } from '../statemachines/recovery-fixtures.js';
import { storePieces } from '../support/store-pieces.js';

const { Kafka, logLevel } = kafkajs;
const ACCOUNT = 'arn:aws:lambda:eu-west-1:123456789012:function';
const SUBS = {
  WorkflowStepsFunctionArn: `${ACCOUNT}:kafka-heal-it-workflow-steps`,
  ApprovalFunctionArn: `${ACCOUNT}:kafka-heal-it-approval-request`,
  EscalationStateMachineArn: 'arn:aws:states:eu-west-1:123456789012:stateMachine:kafka-heal-it-escalation',
  NotificationTopicArn: 'arn:aws:sns:eu-west-1:123456789012:kafka-heal-it-critical',
};
const PRIMARY = 'dr-it-events';
const DR = 'dr-it-events-dr';
const CS_PRIMARY = `${ACCOUNT}:kafka-heal-it-cluster-steps-${PRIMARY}`;
const CS_DR = `${ACCOUNT}:kafka-heal-it-cluster-steps-${DR}`;
const TOPIC = 'orders';
const GROUP = 'billing';

let primary: LocalCluster;
let drCluster: LocalCluster;
let site: DrSite;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const kafkaFor = (brokers: string[] | (() => Promise<string[]>), clientId = 'dr-it') =>
  new Kafka({
    clientId,
    brokers,
    logLevel: logLevel.NOTHING,
    connectionTimeout: 2000,
    retry: { retries: 5, initialRetryTime: 200 },
  });

async function produce(kafka: InstanceType<typeof Kafka>, from: number, count: number): Promise<void> {
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  for (let i = from; i < from + count; i++)
    await producer.send({
      topic: TOPIC,
      acks: -1,
      messages: [{ key: String(i), value: JSON.stringify({ seq: i, at: Date.now() }) }],
    });
  await producer.disconnect();
}

/** Every value of the topic from the beginning, read with a throwaway group. */
async function readAll(
  kafka: InstanceType<typeof Kafka>,
  expectAtLeast: number,
  timeoutMs = 30_000,
): Promise<{ seq: number; at: number }[]> {
  const consumer = kafka.consumer({ groupId: `dr-it-reader-${Date.now()}` });
  const out: { seq: number; at: number }[] = [];
  await consumer.connect();
  await consumer.subscribe({ topic: TOPIC, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => void out.push(JSON.parse(String(message.value)) as { seq: number; at: number }),
  });
  const until = Date.now() + timeoutMs;
  let last = -1;
  // Read until the count stops growing (and at least what is expected has come), or the bound.
  while (Date.now() < until && (out.length < expectAtLeast || out.length !== last)) {
    last = out.length;
    await sleep(1500);
  }
  await consumer.disconnect();
  return out;
}

beforeAll(async () => {
  [primary, drCluster] = await Promise.all([
    startCluster({ name: PRIMARY, diskLimitMb: 0, log: () => undefined }),
    startCluster({ name: DR, diskLimitMb: 0, log: () => undefined }),
  ]);
  const admin = kafkaFor(primary.bootstrapServers.split(',')).admin();
  await admin.connect();
  await admin.createTopics({
    waitForLeaders: false,
    topics: [{ topic: TOPIC, numPartitions: 3, replicationFactor: 3 }],
  });
  await admin.disconnect();
  await produce(kafkaFor(primary.bootstrapServers.split(',')), 0, 60);
  // A consumer group that read part of the topic on the primary and went away.
  const consumer = kafkaFor(primary.bootstrapServers.split(',')).consumer({ groupId: GROUP });
  await consumer.connect();
  await consumer.subscribe({ topic: TOPIC, fromBeginning: true });
  let seen = 0;
  await consumer.run({ autoCommitThreshold: 1, eachMessage: async () => void seen++ });
  for (let i = 0; i < 60 && seen < 60; i++) await sleep(500);
  await consumer.disconnect();
  // The DR site: a second cluster, MM2 primary -> DR, the zone with kafka.drill.local -> primary.
  site = await startDrSite({
    primary,
    dr: drCluster,
    workDir: mkdtempSync(join(tmpdir(), 'kh-dr-it-')),
    recordTtl: 1,
    propagationMs: 2000,
  });
  // MM2 needs 75 s to start and replicate on an idle 2-core machine, up to 4 minutes under load.
  await site.mirror.waitCaughtUp([TOPIC], 300_000);
}, 480_000);

afterAll(async () => {
  await site?.stop();
  await Promise.all([primary?.stop(), drCluster?.stop()]);
}, 120_000);

describe('MirrorMaker 2 between two real clusters', () => {
  it('replicates topic data (same names) and consumer group offsets; replication lag measured by a canary and by the replicated heartbeats', async () => {
    const lag = await site.mirror.offsetLag([TOPIC]);
    expect(lag.map((l) => l.behind)).toEqual([0, 0, 0]);
    expect(lag.reduce((n, l) => n + l.targetEnd, 0)).toBe(60);

    // Consumer offsets: the checkpoint connector writes the primary's committed positions into DR.
    const primaryAdmin = kafkaFor(primary.bootstrapServers.split(',')).admin();
    const drAdmin = kafkaFor(site.dr.bootstrapServers.split(',')).admin();
    await Promise.all([primaryAdmin.connect(), drAdmin.connect()]);
    const committed = (await primaryAdmin.fetchOffsets({ groupId: GROUP, topics: [TOPIC] }))[0]?.partitions ?? [];
    let synced: { partition: number; offset: string }[] = [];
    const syncStarted = Date.now();
    for (let i = 0; i < 60; i++) {
      synced = (await drAdmin.fetchOffsets({ groupId: GROUP, topics: [TOPIC] }))[0]?.partitions ?? [];
      if (synced.length === 3 && synced.every((p) => Number(p.offset) > 0)) break;
      await sleep(1000);
    }
    const syncMs = Date.now() - syncStarted;
    await Promise.all([primaryAdmin.disconnect(), drAdmin.disconnect()]);
    const total = (ps: { offset: string }[]) => ps.reduce((n, p) => n + Number(p.offset), 0);
    expect(total(committed)).toBe(60);
    // Translated offsets never run ahead of what the group committed (that would skip messages).
    for (const p of synced)
      expect(Number(p.offset)).toBeLessThanOrEqual(Number(committed.find((c) => c.partition === p.partition)?.offset));
    expect(total(synced)).toBeGreaterThan(0);

    // A timestamped canary: produced on the primary, polled for on DR.
    const sentAt = Date.now();
    await produce(kafkaFor(primary.bootstrapServers.split(',')), 60, 1);
    let canaryMs = -1;
    for (let i = 0; i < 200; i++) {
      if ((await site.mirror.offsetLag([TOPIC])).every((l) => l.behind === 0)) {
        canaryMs = Date.now() - sentAt;
        break;
      }
      await sleep(100);
    }
    expect(canaryMs).toBeGreaterThanOrEqual(0);

    // MM2 emits a heartbeat every second; on a loaded machine the newest one on DR can still be in
    // flight (or the topic's first one not yet replicated), so poll for it rather than read once.
    let newest: Awaited<ReturnType<typeof readNewestRecords>>[number] | undefined;
    for (const until = Date.now() + 30_000; newest?.timestampType !== 'LogAppendTime' && Date.now() < until;) {
      newest = (
        await readNewestRecords(
          site.dr.brokers.map((b) => ({ host: b.host, port: b.port })),
          site.mirror.heartbeatsTopic,
          5000,
        )
      )[0];
      if (newest?.timestampType !== 'LogAppendTime') await sleep(250);
    }
    expect(newest?.timestampType).toBe('LogAppendTime');
    const heartbeatLagMs = (newest?.timestamp ?? 0) - heartbeatSentAt(newest?.value as Buffer);
    expect(heartbeatLagMs).toBeGreaterThanOrEqual(0);
    expect(heartbeatLagMs).toBeLessThan(60_000);
    console.log(
      `[dr-figures] replication: canary primary->DR visible after ${canaryMs} ms (polled every 100 ms); newest heartbeat lag ${heartbeatLagMs} ms; group offsets synced within ${syncMs} ms (translated ${total(synced)} of ${total(committed)} committed)`,
    );
  }, 180_000);
});

describe('dr-failover against the real pair', () => {
  it('the primary site fails; the workflow checks DR, backs up, gets approval, flips the record, proves it with a canary; clients through the name reach DR', async () => {
    expect(site.currentTarget()).toBe('primary');
    const viaName = site.viaRecord();

    // Traffic through the name with acks=all until the site dies.
    const acked: { seq: number; at: number }[] = [];
    let stopTraffic = false;
    const traffic = (async () => {
      const producer = kafkaFor(viaName, 'dr-it-producer').producer({
        allowAutoTopicCreation: false,
        retry: { retries: 0 },
      });
      await producer.connect();
      for (let seq = 1000; !stopTraffic; seq++) {
        const at = Date.now();
        try {
          await producer.send({
            topic: TOPIC,
            acks: -1,
            timeout: 2000,
            messages: [{ key: String(seq), value: JSON.stringify({ seq, at }) }],
          });
          acked.push({ seq, at });
        } catch {
          break; // the site is gone
        }
        await sleep(20);
      }
      await producer.disconnect().catch(() => undefined);
    })();
    // At least 30 acknowledged writes through the name before the site dies (seconds, on a loaded machine).
    for (const until = Date.now() + 30_000; acked.length < 30 && Date.now() < until;) await sleep(100);
    const failedAt = Date.now();
    await Promise.all(primary.brokers.map((b) => primary.fault('crash', b.id)));
    stopTraffic = true;
    await traffic;
    const lastAcked = acked.at(-1);
    expect(acked.length).toBeGreaterThanOrEqual(30);

    const store = new MemoryStore('inc-events-site', PRIMARY, true);
    const dr = site.targetsDr({ automaticFailover: false, maxReplicationLagSeconds: 60 });
    const targets: ClusterTargetConfig[] = [
      { cluster: PRIMARY, platform: 'ec2', clusterStepsFunction: CS_PRIMARY, dr: dr.primary },
      { cluster: DR, platform: 'ec2', clusterStepsFunction: CS_DR, dr: dr.dr },
    ];
    const workflowSteps = makeWorkflowStepsHandler({
      ...storePieces(store),
      targets: () => targets,
      now: () => new Date(),
      diskCriticalPercent: 90,
    });
    const drSteps = site.drSteps([{ name: DR, bootstrapServers: site.dr.bootstrapServers.split(','), brokerCount: 3 }]);
    // The primary's own cluster steps confirm it down (real probes of the dead brokers) before anything else.
    const primarySteps = site.drSteps([
      { name: PRIMARY, bootstrapServers: primary.bootstrapServers.split(','), brokerCount: 3 },
    ]);
    const published: Json[] = [];
    const approval = approvalBinding({ decide: approveAfter(300, 'oncall@example.com', 'primary site lost') });
    const { registry, calls } = recordCalls({
      [RESOURCES.lambdaInvoke]: lambdaInvokeBinding({
        [SUBS.WorkflowStepsFunctionArn]: (p: Json) => workflowSteps(WorkflowStepSchema.parse(p)),
        [CS_DR]: (p: Json) => drSteps(DrStepSchema.parse(p)),
        [CS_PRIMARY]: (p: Json) => primarySteps(DrStepSchema.parse(p)),
      }),
      [APPROVAL_RESOURCE]: approval,
      ...site.bindings(),
      [RESOURCES.snsPublish]: (m: Json) => {
        published.push(m);
        return { MessageId: 'm-1' };
      },
      [RESOURCES.startExecutionSync2]: startExecutionSyncBinding({
        [SUBS.EscalationStateMachineArn]: () => {
          throw new TaskError('UnexpectedEscalation', 'the failover must not escalate');
        },
      }),
    });
    const progress: string[] = [];
    const started = Date.now();
    const result = await runWorkflow({
      definition: parseDefinition(definitionText('dr-failover'), SUBS),
      input: {
        incidentId: 'inc-events-site',
        cluster: PRIMARY,
        dryRun: false,
        severity: 'SEV-1',
        incidentType: 'site-failure',
      },
      bindings: registry,
      // Polling every 1 s instead of 5 s; canary retries 3 s apart instead of 15 s (the record's TTL here is 1 s).
      timeScale: 0.2,
      onEvent: (e) => {
        if (e.type === 'StateEntered' && e.stateName)
          progress.push(`${((e.timestamp - started) / 1000).toFixed(1)}s ${e.stateName}`);
      },
    });
    const switchedAt = Date.now();
    console.log(`[dr-figures] states: ${progress.join(' | ')}`);
    expect(result.status, JSON.stringify(result)).toBe('SUCCEEDED');
    expect(progress.at(-1)).toMatch(/Clients On Standby$/);
    expect(site.currentTarget()).toBe('dr');
    expect(store.status).toBe('resolved');
    expect(store.lock).toBeUndefined();
    expect(store.timeline.map((e) => e.action)).toEqual([
      'recovery-started',
      'primary-down-confirmed',
      'dr-prerequisites-met',
      'state-backed-up',
      'approval-granted',
      'route53-upsert',
      'canary-verified',
      'status-changed',
      'lock-released',
    ]);
    expect(store.timeline.find((e) => e.action === 'state-backed-up')?.detail).toMatch(
      new RegExp(`consumer groups of ${DR} backed up to kafka-heal.dr-backups key inc-events-site`),
    );
    expect(calls.filter((c) => c.resource.endsWith('changeResourceRecordSets'))).toHaveLength(1);
    expect(published).toHaveLength(1);
    const lagAtFailure = (store.timeline.find((e) => e.action === 'dr-prerequisites-met')?.detail ?? '').match(
      /replication lag ([\d.]+) s/,
    )?.[1];
    expect(lagAtFailure).toBeDefined();

    // Clients that resolve the name now reach DR: the group resumes from its synced offsets.
    const client = kafkaFor(viaName, 'dr-it-client');
    const admin = client.admin();
    await admin.connect();
    const reached = await admin.describeCluster();
    await admin.disconnect();
    expect(reached.brokers.map((b) => b.port).sort()).toEqual(site.dr.brokers.map((b) => b.port).sort());
    const servedAt = Date.now();

    // RPO: acknowledged writes on the primary that never reached DR.
    const onDr = new Set((await readAll(client, 60 + 1 + acked.length - 50)).map((m) => m.seq));
    const lost = acked.filter((m) => !onDr.has(m.seq));
    const lastReplicated = [...acked].reverse().find((m) => onDr.has(m.seq));
    const rpoWindowMs = lastAcked && lastReplicated ? lastAcked.at - lastReplicated.at : 0;
    console.log(
      `[dr-figures] RPO: ${lost.length} of ${acked.length} acknowledged messages lost (${rpoWindowMs} ms of writes before the failure); replication lag at failure ${lagAtFailure} s (heartbeats). RTO: failure to record INSYNC and canary proven ${switchedAt - failedAt} ms (workflow ${switchedAt - started} ms incl. 300 ms approval), to a client served by DR through the name ${servedAt - failedAt} ms`,
    );
    // Loss is bounded by the measured lag: nothing older than the lag (plus MM2's poll) is missing.
    for (const m of lost)
      expect(failedAt - m.at, `seq ${m.seq} was written ${failedAt - m.at} ms before the failure`).toBeLessThan(
        Number(lagAtFailure) * 1000 + 5000,
      );
  }, 300_000);
});
