// Alarm storm: 10,000 signal deliveries for ONE fault (brokers 1, 2 and 3 of a 9-broker cluster
// gone), from CloudWatch alarm state changes and Alertmanager webhooks, a fifth of them delivered
// twice as EventBridge and SQS may redeliver. They go through the real ingest handler (normalize,
// publish) and the real classify handler (policy, open incidents, classify, correlate, conditional
// writes, lock, StartExecution) on DynamoDB Local, with 10 concurrent classifier instances (the
// stack's maxConcurrency) reading the signals queue in batches of 10 and SQS's retry of failed
// batch items. Doubles stand in only for SQS, SSM and Step Functions (which, like the real one,
// refuses a second execution with the same name). The run must end with exactly one incident and
// one execution started.
// Then the pure classifier alone, in process, over the same signals (target >= 5,000 signals/s).
//   npm run bench -- storm [deliveries]
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SFNClient } from '@aws-sdk/client-sfn';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import type { SQSEvent, SQSRecord } from 'aws-lambda';
import { PROJECT_ROOT } from '../infra/constructs/healer-function.js';
import { sqsRecord } from '../test/support/sqs.js';
import type { ClusterFacts, OpenIncident, Signal } from '../functions/domain/types.js';
import { BenchFailure, verdict } from './stats.js';

export const STORM_CLUSTER: ClusterFacts = { name: 'orders', aliases: [], platform: 'ec2', metadataMode: 'kraft', brokerCount: 9, hasDr: false, automaticFailover: false };
export const STORM_BROKERS = [1, 2, 3];
export const MIN_CLASSIFIER_RATE = 5000;
const CLASSIFIERS = 10;
const BATCH = 10;
const REDELIVERED_SHARE = 0.2;
const STATE_MACHINE = (wf: string) => `arn:aws:states:eu-west-1:123456789012:stateMachine:kafka-heal-prod-${wf}`;

/** One CloudWatch alarm state change (the probe's BrokerReachable alarm for one broker) or Alertmanager webhook per event. */
export function stormEvents(count: number, at: Date): string[] {
  const cw = JSON.parse(readFileSync(join(PROJECT_ROOT, 'test/fixtures/events/cloudwatch-single-metric.json'), 'utf8')) as {
    detail: { alarmName: string; configuration: { description: string; metrics: { metricStat: { metric: { dimensions: Record<string, string>; name: string; namespace: string } } }[] }; state: { timestamp: string } };
    resources: string[];
  };
  const am = JSON.parse(readFileSync(join(PROJECT_ROOT, 'test/fixtures/events/alertmanager-firing.json'), 'utf8')) as {
    alerts: { labels: Record<string, string>; startsAt: string; fingerprint: string }[];
  };
  const events: string[] = [];
  for (let i = 0; i < count; i++) {
    const broker = STORM_BROKERS[i % STORM_BROKERS.length] as number;
    // Every event is a distinct observation (its own time), all within the last minute.
    const observed = new Date(at.getTime() - 60_000 + (i % 50_000)).toISOString();
    if (i % 2 === 0) {
      const name = `kafka-heal-prod-orders-broker-${broker}-unreachable`;
      cw.detail.alarmName = name;
      cw.resources = [`arn:aws:cloudwatch:eu-west-1:123456789012:alarm:${name}`];
      cw.detail.configuration.description = `The probe cannot reach broker ${broker}`;
      const metric = cw.detail.configuration.metrics[0]!.metricStat.metric;
      metric.namespace = 'KafkaHeal';
      metric.name = 'BrokerReachable';
      metric.dimensions = { 'Cluster Name': STORM_CLUSTER.name, 'Broker ID': String(broker) };
      cw.detail.state.timestamp = observed;
      events.push(JSON.stringify(cw));
    } else {
      const alert = am.alerts[0]!;
      alert.labels = { ...alert.labels, cluster: STORM_CLUSTER.name, broker: String(broker) };
      alert.startsAt = observed;
      alert.fingerprint = `storm-${broker}-${i}`;
      events.push(JSON.stringify(am));
    }
  }
  return events;
}

/** An in-memory queue with SQS's at-least-once behaviour: a failed batch item comes back later. */
class Queue {
  private items: SQSRecord[] = [];
  private waiters: (() => void)[] = [];
  received = 0;
  retried = 0;
  push(record: SQSRecord): void {
    this.items.push(record);
    this.received++;
    this.waiters.splice(0).forEach((w) => w());
  }
  retry(record: SQSRecord): void {
    this.retried++;
    const count = Number(record.attributes.ApproximateReceiveCount) + 1;
    // Visibility timeout stand-in: the retry goes to the back of the queue.
    this.items.push({ ...record, attributes: { ...record.attributes, ApproximateReceiveCount: String(count) } });
    this.waiters.splice(0).forEach((w) => w());
  }
  take(n: number): SQSRecord[] {
    return this.items.splice(0, n);
  }
  get size(): number {
    return this.items.length;
  }
  wait(): Promise<void> {
    return new Promise((r) => this.waiters.push(r));
  }
}

export interface StormResult {
  deliveries: number;
  distinctEvents: number;
  signalsQueued: number;
  classifyRetries: number;
  incidents: Record<string, unknown>[];
  startCalls: number;
  executions: string[];
  wallMs: number;
}

/** Runs the storm through ingest and classify on the given DynamoDB Local table. */
export async function runStorm(opts: { deliveries: number; endpoint: string; tableName: string; now: Date }): Promise<StormResult> {
  // Quiet handlers: the storm would print a log line and a metrics document per signal.
  process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
  const { createIngestHandler } = await import('../functions/ingest/handler.js');
  const { createClassifyHandler } = await import('../functions/classify/handler.js');
  const { DEFAULT_POLICY } = await import('../functions/domain/policy.js');
  const { documentClient } = await import('../functions/shared/clients.js');
  const { IncidentStore } = await import('../functions/shared/incident-store.js');
  const { localClient } = await import('../local/dynamodb-local.js');

  const raw = localClient(opts.endpoint);
  const doc = documentClient(raw);
  const now = () => opts.now;
  const store = new IncidentStore({ client: doc, tableName: opts.tableName, now });
  const signals = new Queue();

  // SQS double for the ingest -> classify queue: every SendMessageBatch entry becomes a message.
  const sqs = {
    send: async (cmd: { input: { Entries?: { Id?: string; MessageBody?: string }[] } }) => {
      for (const e of cmd.input.Entries ?? []) signals.push(sqsRecord(e.MessageBody ?? '', { queue: 'signals' }));
      return { Successful: (cmd.input.Entries ?? []).map((e) => ({ Id: e.Id, MessageId: randomUUID(), MD5OfMessageBody: '' })), Failed: [] };
    },
  } as unknown as SQSClient;

  // Step Functions double: one execution per name, a second start is ExecutionAlreadyExists.
  const executions = new Set<string>();
  let startCalls = 0;
  const sfn = {
    send: async (cmd: { input: { stateMachineArn: string; name: string } }) => {
      startCalls++;
      if (executions.has(cmd.input.name)) throw Object.assign(new Error(`Execution Already Exists: ${cmd.input.name}`), { name: 'ExecutionAlreadyExists' });
      executions.add(cmd.input.name);
      return { executionArn: `${cmd.input.stateMachineArn.replace(':stateMachine:', ':execution:')}:${cmd.input.name}`, startDate: new Date() };
    },
  } as unknown as SFNClient;

  const ingest = createIngestHandler({ sqs, signalsQueueUrl: 'https://sqs.eu-west-1.amazonaws.com/123456789012/signals', store, clusters: [STORM_CLUSTER], now });
  const classify = createClassifyHandler({
    store,
    sfn,
    policies: { get: async () => ({ policy: { ...DEFAULT_POLICY, mode: 'auto' }, origin: 'ssm', parameterName: '/kafka-heal/prod/clusters/orders/policy' }) },
    clusters: [STORM_CLUSTER],
    workflowArns: Object.fromEntries(['BROKER_RECOVERY', 'CASCADE_RECOVERY', 'ESCALATION', 'DISK_PRESSURE', 'CONSUMER_LAG', 'QUORUM_RECOVERY'].map((w) => [`WORKFLOW_ARN_${w}`, STATE_MACHINE(w.toLowerCase().replace(/_/g, '-'))])),
    now,
  });

  // Deliveries: every distinct event once, the first REDELIVERED_SHARE of them twice, shuffled.
  const distinct = Math.round(opts.deliveries / (1 + REDELIVERED_SHARE));
  const events = stormEvents(distinct, opts.now);
  const deliveries = [...events, ...events.slice(0, opts.deliveries - distinct)];
  for (let i = deliveries.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [deliveries[i], deliveries[j]] = [deliveries[j] as string, deliveries[i] as string];
  }

  const t0 = performance.now();
  let ingestDone = false;
  const ingestWorkers = Array.from({ length: CLASSIFIERS }, async (_, w) => {
    for (let i = w * BATCH; i < deliveries.length; i += CLASSIFIERS * BATCH) {
      const event: SQSEvent = { Records: deliveries.slice(i, i + BATCH).map((b) => sqsRecord(b, { queue: 'ingest' })) };
      const res = await ingest(event);
      if (res.batchItemFailures.length > 0) throw new Error(`ingest failed ${res.batchItemFailures.length} records`);
    }
  });
  let busy = 0;
  const classifyWorkers = Array.from({ length: CLASSIFIERS }, async () => {
    for (;;) {
      const batch = signals.take(BATCH);
      if (batch.length === 0) {
        if (ingestDone && busy === 0) return;
        await Promise.race([signals.wait(), new Promise((r) => setTimeout(r, 20))]);
        continue;
      }
      busy++;
      try {
        const res = await classify({ Records: batch });
        const failed = new Set(res.batchItemFailures.map((f) => f.itemIdentifier));
        for (const r of batch) if (failed.has(r.messageId)) signals.retry(r);
      } finally {
        busy--;
      }
    }
  });
  await Promise.all(ingestWorkers);
  ingestDone = true;
  await Promise.all(classifyWorkers);
  const wallMs = performance.now() - t0;

  // Every page: the table holds a dedup marker per signal, far more than one 1 MB scan page.
  const incidents: Record<string, unknown>[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const page = await doc.send(
      new ScanCommand({
        TableName: opts.tableName,
        ConsistentRead: true,
        FilterExpression: 'begins_with(pk, :incident) AND sk = :meta',
        ExpressionAttributeValues: { ':incident': 'INCIDENT#', ':meta': 'META' },
        ...(start ? { ExclusiveStartKey: start } : {}),
      }),
    );
    incidents.push(...(page.Items ?? []));
    start = page.LastEvaluatedKey;
  } while (start);
  raw.destroy();
  return { deliveries: deliveries.length, distinctEvents: distinct, signalsQueued: signals.received, classifyRetries: signals.retried, incidents, startCalls, executions: [...executions], wallMs };
}

/** The pure classifier over `signals`: classify() alone, and normalize + classify + correlate per event. */
export async function pureRates(events: string[], now: Date): Promise<{ classifyPerS: number; pipelinePerS: number; signals: number }> {
  const { classify } = await import('../functions/domain/classify.js');
  const { correlate } = await import('../functions/domain/correlate.js');
  const { normalize } = await import('../functions/domain/normalize/index.js');
  const { DEFAULT_POLICY } = await import('../functions/domain/policy.js');
  const policy = { ...DEFAULT_POLICY, mode: 'auto' as const };
  const receivedAt = now.toISOString();
  const signals: Signal[] = [];
  const tn = performance.now();
  for (const e of events) {
    const r = normalize(JSON.parse(e) as unknown, { clusters: [STORM_CLUSTER], receivedAt });
    if (r.outcome === 'signals') signals.push(...r.signals);
  }
  const normalizeMs = performance.now() - tn;
  // The incident the storm converges to, as classify sees it mid-storm.
  const first = classify({ signal: signals[0] as Signal, cluster: STORM_CLUSTER, openIncidents: [], recentHeals: [], policy, now });
  const seen = new Date(now.getTime() - 60_000).toISOString();
  const open: OpenIncident[] = [
    {
      id: 'inc-storm',
      cluster: STORM_CLUSTER.name,
      type: first.incidentType,
      severity: first.severity,
      status: 'remediating',
      brokers: STORM_BROKERS.map((id) => ({ id, firstSeenAt: seen })),
      openedAt: seen,
      fingerprints: [...new Set(signals.map((s) => s.fingerprint))].slice(0, 100),
    },
  ];
  const time = (fn: (s: Signal) => void): number => {
    for (const s of signals.slice(0, 500)) fn(s); // warm-up
    const t = performance.now();
    for (const s of signals) fn(s);
    return performance.now() - t;
  };
  const classifyMs = time((signal) => void classify({ signal, cluster: STORM_CLUSTER, openIncidents: open, recentHeals: [], policy, now }));
  const correlateMs = time((signal) => {
    const d = classify({ signal, cluster: STORM_CLUSTER, openIncidents: open, recentHeals: [], policy, now });
    correlate(signal, d, open, policy, now);
  });
  return { classifyPerS: (signals.length / classifyMs) * 1000, pipelinePerS: (signals.length / (normalizeMs + correlateMs)) * 1000, signals: signals.length };
}

export async function run(args: string[]): Promise<string> {
  const deliveries = Number(args[0] ?? 10_000);
  const { createIncidentTable, startDynamoDbLocal } = await import('../local/dynamodb-local.js');
  const now = new Date();
  const ddb = await startDynamoDbLocal();
  console.log(`DynamoDB Local: ${ddb.endpoint} (started in ${ddb.startMs} ms)`);
  let result: StormResult;
  try {
    const client = ddb.client();
    await createIncidentTable(client, 'storm');
    client.destroy();
    result = await runStorm({ deliveries, endpoint: ddb.endpoint, tableName: 'storm', now });
  } finally {
    await ddb.stop();
  }
  const rate = (result.deliveries / result.wallMs) * 1000;
  console.log(`deliveries: ${result.deliveries} (${result.distinctEvents} distinct events, ${result.deliveries - result.distinctEvents} redelivered) over brokers ${STORM_BROKERS.join(', ')} of ${STORM_CLUSTER.brokerCount}`);
  console.log(`signals queued by ingest: ${result.signalsQueued}; classify batch items retried (as SQS would): ${result.classifyRetries}`);
  console.log(`end to end: ${(result.wallMs / 1000).toFixed(1)} s, ${rate.toFixed(0)} signals/s with ${CLASSIFIERS} ingest and ${CLASSIFIERS} classify instances`);
  for (const i of result.incidents) console.log(`incident ${String(i.id)}: ${String(i.type)} ${String(i.severity)} ${String(i.status)}, brokers ${Object.keys((i.brokers as object) ?? {}).join(',')}, ${String(i.signalCount)} signals, execution ${String(i.executionArn)}`);
  console.log(`StartExecution calls: ${result.startCalls}; executions started: ${result.executions.length} (${result.executions.join(', ')})`);

  const pure = await pureRates(stormEvents(deliveries, now), now);
  console.log(`pure classifier in process over ${pure.signals} signals: classify ${pure.classifyPerS.toFixed(0)} signals/s; normalize + classify + correlate ${pure.pipelinePerS.toFixed(0)} signals/s`);

  if (result.incidents.length !== 1 || result.executions.length !== 1) {
    throw new BenchFailure(
      `${result.deliveries} signals -> ${result.incidents.length} incident(s) and ${result.executions.length} executions (${result.executions.join(', ')}), expected exactly 1 and 1; ` +
        `${rate.toFixed(0)} signals/s end to end; classifier ${pure.classifyPerS.toFixed(0)} signals/s (target >= ${MIN_CLASSIFIER_RATE}: ${verdict(pure.classifyPerS >= MIN_CLASSIFIER_RATE)})`,
    );
  }
  const inc = result.incidents[0] as Record<string, unknown>;
  return (
    `${result.deliveries} signals -> ${result.incidents.length} incident (${String(inc.type)}, ${String(inc.signalCount)} distinct signals joined), ${result.executions.length} execution (${result.startCalls} StartExecution calls); ` +
    `${rate.toFixed(0)} signals/s end to end on DynamoDB Local; classifier ${pure.classifyPerS.toFixed(0)} signals/s (target >= ${MIN_CLASSIFIER_RATE}: ${verdict(pure.classifyPerS >= MIN_CLASSIFIER_RATE)})`
  );
}
