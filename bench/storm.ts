// Alarm storm: 10,000 signal deliveries for ONE fault (brokers 1, 2 and 3 of a 9-broker cluster
// gone), from CloudWatch alarm state changes and Alertmanager webhooks, a fifth of them delivered
// twice as EventBridge and SQS may redeliver. They go through the real ingest handler (normalize,
// publish) and the real classify handler (policy, open incidents, classify, correlate, conditional
// writes, lock, StartExecution) on DynamoDB Local, with 10 concurrent classifier instances (the
// stack's maxConcurrency) reading the signals queue in batches of 10 and SQS's retry of failed
// batch items. Doubles stand in only for SQS, SSM and Step Functions (which, like the real one,
// refuses a second execution with the same name). The run must end with exactly one incident and
// ONE execution started (counted at the double: StartExecution calls that created an execution,
// whether or not one was stopped later), none stopped, and that one the fault's final runbook:
// cascade-recovery for brokers 1, 2 and 3, awaiting approval (3 brokers one after another).
// With `runs` > 1 the storm is repeated on fresh tables and the summary says in how many runs
// that held (the classifier decides once per incident and batch on the incident as it then
// stands; a batch that acts before another batch's first signal of a broker lands would decide
// on fewer brokers, which this counts rather than hides).
// Then the pure classifier alone, in process, over the same signals (target >= 5,000 signals/s).
//   npm run bench -- storm [deliveries] [runs]
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { StartExecutionCommand, StopExecutionCommand, type SFNClient } from '@aws-sdk/client-sfn';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import type { SQSEvent, SQSRecord } from 'aws-lambda';
import { PROJECT_ROOT } from '../infra/constructs/healer-function.js';
import { sqsRecord } from '../test/support/sqs.js';
import type { ClusterFacts, OpenIncident, Signal } from '../functions/domain/types.js';
import { BenchFailure, verdict } from './stats.js';

export const STORM_CLUSTER: ClusterFacts = {
  name: 'orders',
  aliases: [],
  platform: 'ec2',
  metadataMode: 'kraft',
  brokerCount: 9,
  hasDr: false,
  automaticFailover: false,
};
export const STORM_BROKERS = [1, 2, 3];
export const MIN_CLASSIFIER_RATE = 5000;
const CLASSIFIERS = 10;
const BATCH = 10;
const REDELIVERED_SHARE = 0.2;
const STATE_MACHINE = (wf: string) => `arn:aws:states:eu-west-1:123456789012:stateMachine:kafka-heal-prod-${wf}`;

/** One CloudWatch alarm state change (the probe's BrokerReachable alarm for one broker) or Alertmanager webhook per event. */
export function stormEvents(count: number, at: Date): string[] {
  const cw = JSON.parse(
    readFileSync(join(PROJECT_ROOT, 'test/fixtures/events/cloudwatch-single-metric.json'), 'utf8'),
  ) as {
    detail: {
      alarmName: string;
      configuration: {
        description: string;
        metrics: { metricStat: { metric: { dimensions: Record<string, string>; name: string; namespace: string } } }[];
      };
      state: { timestamp: string };
    };
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
      metric.namespace = 'KafkaHeal/prod';
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
  /** Executions the double created, by name, with their input. */
  executions: { name: string; stateMachineArn: string; input: Record<string, unknown> }[];
  /** Executions stopped (StopExecution: superseded). */
  stopped: string[];
  wallMs: number;
}

/** What the storm must end with: one execution of the fault's final runbook, never stopped. */
export function stormVerdict(r: Pick<StormResult, 'incidents' | 'executions' | 'stopped'>): {
  ok: boolean;
  why: string;
} {
  const problems: string[] = [];
  if (r.incidents.length !== 1) problems.push(`${r.incidents.length} incidents`);
  if (r.executions.length !== 1)
    problems.push(`${r.executions.length} executions started (${r.executions.map((e) => e.name).join(', ')})`);
  if (r.stopped.length > 0) problems.push(`${r.stopped.length} stopped`);
  const only = r.executions.length === 1 ? r.executions[0] : undefined;
  if (only) {
    const got = {
      workflow: only.stateMachineArn.split(':').at(-1),
      action: only.input.action,
      brokerIds: only.input.brokerIds,
    };
    const want = { workflow: 'kafka-heal-prod-cascade-recovery', action: 'await-approval', brokerIds: STORM_BROKERS };
    if (JSON.stringify(got) !== JSON.stringify(want))
      problems.push(`the execution is ${JSON.stringify(got)}, expected ${JSON.stringify(want)}`);
  }
  return {
    ok: problems.length === 0,
    why: problems.join('; ') || 'one incident, one execution: cascade-recovery for brokers 1,2,3 awaiting approval',
  };
}

/** Runs the storm through ingest and classify on the given DynamoDB Local table. */
export async function runStorm(opts: {
  deliveries: number;
  endpoint: string;
  tableName: string;
  now: Date;
}): Promise<StormResult> {
  // Quiet handlers: the storm would print a log line and a metrics document per signal.
  process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
  const { createIngestHandler } = await import('../functions/ingest/handler.js');
  const { createClassifyHandler } = await import('../functions/classify/handler.js');
  const { DEFAULT_POLICY } = await import('../functions/domain/policy.js');
  const { documentClient } = await import('../functions/shared/clients.js');
  const { IncidentStore } = await import('../tools/incident-store.js');
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
      return {
        Successful: (cmd.input.Entries ?? []).map((e) => ({ Id: e.Id, MessageId: randomUUID(), MD5OfMessageBody: '' })),
        Failed: [],
      };
    },
  } as unknown as SQSClient;

  // Step Functions double: one execution per name, a second start is ExecutionAlreadyExists.
  const executions = new Map<string, { name: string; stateMachineArn: string; input: Record<string, unknown> }>();
  const stopped: string[] = [];
  let startCalls = 0;
  const sfn = {
    send: async (cmd: unknown) => {
      if (cmd instanceof StopExecutionCommand) {
        stopped.push(cmd.input.executionArn ?? '');
        return { stopDate: new Date() };
      }
      if (!(cmd instanceof StartExecutionCommand))
        throw new Error(`the storm's Step Functions double does not answer ${(cmd as object).constructor.name}`);
      startCalls++;
      const { name = '', stateMachineArn = '', input = '{}' } = cmd.input;
      if (executions.has(name))
        throw Object.assign(new Error(`Execution Already Exists: ${name}`), { name: 'ExecutionAlreadyExists' });
      executions.set(name, { name, stateMachineArn, input: JSON.parse(input) as Record<string, unknown> });
      return {
        executionArn: `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${name}`,
        startDate: new Date(),
      };
    },
  } as unknown as SFNClient;

  const ingest = createIngestHandler({
    sqs,
    signalsQueueUrl: 'https://sqs.eu-west-1.amazonaws.com/123456789012/signals',
    ...store,
    clusters: [STORM_CLUSTER],
    now,
  });
  const classify = createClassifyHandler({
    ...store,
    sfn,
    policies: {
      get: async () => ({
        policy: { ...DEFAULT_POLICY, mode: 'auto' },
        origin: 'ssm',
        parameterName: '/kafka-heal/prod/clusters/orders/policy',
      }),
    },
    clusters: [STORM_CLUSTER],
    workflowArns: Object.fromEntries(
      ['BROKER_RECOVERY', 'CASCADE_RECOVERY', 'ESCALATION', 'DISK_PRESSURE', 'CONSUMER_LAG', 'QUORUM_RECOVERY'].map(
        (w) => [`WORKFLOW_ARN_${w}`, STATE_MACHINE(w.toLowerCase().replace(/_/g, '-'))],
      ),
    ),
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
  return {
    deliveries: deliveries.length,
    distinctEvents: distinct,
    signalsQueued: signals.received,
    classifyRetries: signals.retried,
    incidents,
    startCalls,
    executions: [...executions.values()],
    stopped,
    wallMs,
  };
}

/** The pure classifier over `signals`: classify() alone, and normalize + classify + correlate per event. */
export async function pureRates(
  events: string[],
  now: Date,
): Promise<{ classifyPerS: number; pipelinePerS: number; signals: number }> {
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
  const first = classify({
    signal: signals[0] as Signal,
    cluster: STORM_CLUSTER,
    openIncidents: [],
    recentHeals: [],
    policy,
    now,
  });
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
  const classifyMs = time(
    (signal) => void classify({ signal, cluster: STORM_CLUSTER, openIncidents: open, recentHeals: [], policy, now }),
  );
  const correlateMs = time((signal) => {
    const d = classify({ signal, cluster: STORM_CLUSTER, openIncidents: open, recentHeals: [], policy, now });
    correlate(signal, d, open, policy, now);
  });
  return {
    classifyPerS: (signals.length / classifyMs) * 1000,
    pipelinePerS: (signals.length / (normalizeMs + correlateMs)) * 1000,
    signals: signals.length,
  };
}

export async function run(args: string[]): Promise<string> {
  const deliveries = Number(args[0] ?? 10_000);
  const runs = Number(args[1] ?? 1);
  if (!Number.isSafeInteger(deliveries) || deliveries < 1 || !Number.isSafeInteger(runs) || runs < 1)
    throw new Error(`usage: storm [deliveries >= 1] [runs >= 1], got ${args.join(' ')}`);
  const { createIncidentTable, startDynamoDbLocal } = await import('../local/dynamodb-local.js');
  const now = new Date();
  const ddb = await startDynamoDbLocal();
  console.log(`DynamoDB Local: ${ddb.endpoint} (started in ${ddb.startMs} ms)`);
  const results: StormResult[] = [];
  try {
    for (let i = 1; i <= runs; i++) {
      const client = ddb.client();
      await createIncidentTable(client, `storm-${i}`);
      client.destroy();
      const result = await runStorm({ deliveries, endpoint: ddb.endpoint, tableName: `storm-${i}`, now });
      results.push(result);
      const rate = (result.deliveries / result.wallMs) * 1000;
      if (i === 1) {
        console.log(
          `deliveries: ${result.deliveries} (${result.distinctEvents} distinct events, ${result.deliveries - result.distinctEvents} redelivered) over brokers ${STORM_BROKERS.join(', ')} of ${STORM_CLUSTER.brokerCount}`,
        );
        console.log(`signals queued by ingest: ${result.signalsQueued}`);
      }
      console.log(
        `run ${i}/${runs}: ${(result.wallMs / 1000).toFixed(1)} s, ${rate.toFixed(0)} signals/s with ${CLASSIFIERS} ingest and ${CLASSIFIERS} classify instances; classify batch items retried (as SQS would): ${result.classifyRetries}`,
      );
      for (const inc of result.incidents)
        console.log(
          `  incident ${String(inc.id)}: ${String(inc.type)} ${String(inc.severity)} ${String(inc.status)}, brokers ${Object.keys((inc.brokers as object) ?? {}).join(',')}, ${String(inc.signalCount)} signals, execution ${String(inc.executionArn)}`,
        );
      console.log(
        `  StartExecution calls: ${result.startCalls}; executions started: ${result.executions.length} (${result.executions.map((e) => `${e.name} ${String(e.input.action)} [${String(e.input.brokerIds)}]`).join(', ')}); stopped: ${result.stopped.length}`,
      );
      console.log(`  ${stormVerdict(result).ok ? 'held' : 'FAILED'}: ${stormVerdict(result).why}`);
    }
  } finally {
    await ddb.stop();
  }

  const pure = await pureRates(stormEvents(deliveries, now), now);
  console.log(
    `pure classifier in process over ${pure.signals} signals: classify ${pure.classifyPerS.toFixed(0)} signals/s; normalize + classify + correlate ${pure.pipelinePerS.toFixed(0)} signals/s`,
  );

  const held = results.filter((r) => stormVerdict(r).ok).length;
  const rate = (results.reduce((a, r) => a + r.deliveries, 0) / results.reduce((a, r) => a + r.wallMs, 0)) * 1000;
  const first = results[0] as StormResult;
  const inc = first.incidents[0] as Record<string, unknown> | undefined;
  const figures = `${rate.toFixed(0)} signals/s end to end on DynamoDB Local; classifier ${pure.classifyPerS.toFixed(0)} signals/s (target >= ${MIN_CLASSIFIER_RATE}: ${verdict(pure.classifyPerS >= MIN_CLASSIFIER_RATE)})`;
  if (held < runs) {
    const failures = results.map((r, i) => ({ i: i + 1, v: stormVerdict(r) })).filter((x) => !x.v.ok);
    throw new BenchFailure(
      `${deliveries} signals x ${runs} runs: one incident and one execution in ${held} of ${runs} runs (${failures.map((f) => `run ${f.i}: ${f.v.why}`).join(' | ')}); ${figures}`,
    );
  }
  return (
    `${deliveries} signals x ${runs} run(s) -> 1 incident (${String(inc?.type)}, ${String(inc?.signalCount)} distinct signals joined) and 1 execution started in ${held} of ${runs} runs ` +
    `(${first.executions[0]?.name.replace(/^.*-(cascade-recovery-\d+)$/, '$1')} awaiting approval for brokers ${STORM_BROKERS.join(',')}; ${results.reduce((a, r) => a + r.startCalls, 0)} StartExecution calls in all, the repeats refused as already started); ${figures}`
  );
}
