// Ingest Lambda (glue): SQS batch of raw events -> normalize() -> signals queue.
// A CloudWatch alarm's signals go on only when the alarm is this stack's (alarm-owner.ts: its
// marker names this DEPLOYMENT and its CloudFormation stack-name tag is STACK_NAME).
// Permanent errors (malformed or unknown input, another deployment's alarm) are stored raw in the
// incident table with the error, logged and counted, and NOT retried. Transient errors (the signals queue or the table
// is unavailable) fail only that record through batchItemFailures, so SQS retries it and after
// maxReceiveCount moves it to the DLQ. Nothing is dropped silently.
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { normalize } from '../domain/normalize/index.js';
import type { AlertRouting } from '../domain/normalize/index.js';
import type { ClusterFacts } from '../domain/types.js';
import type { RawInbox } from '../shared/store/index.js';
import { storeFromEnv } from '../shared/clients.js';
import { alertRoutingFromEnv, clustersFromEnv, requireEnv } from '../shared/env.js';
import { withHouseMiddleware } from '../shared/middy.js';
import { MetricUnit, logger, metrics } from '../shared/powertools.js';
import { AlarmOwnership, cloudWatchTagReader } from './alarm-owner.js';
import { isPermanentInputError, unwrapRecordBody } from './envelope.js';
import { publishSignals } from './publish.js';

export interface IngestDeps {
  sqs: SQSClient;
  signalsQueueUrl: string;
  rawInbox: Pick<RawInbox, 'storeRaw'>;
  clusters: ClusterFacts[];
  /** How Alertmanager alerts are read (the bundled ALERT_ROUTING_FILE); none: the built-in names and labels only. */
  routing?: AlertRouting;
  now: () => Date;
  /** This deployment: alarm markers naming another (or none) are rejected. */
  deployment?: string;
  /** Checks a CloudWatch alarm was made by this stack before its signals go on. */
  alarms?: AlarmOwnership;
}

/** The alarm an EventBridge CloudWatch event is about: its ARN (set by AWS) and name. */
function alarmOf(raw: unknown): { arn: string | undefined; name: string } | undefined {
  if (typeof raw !== 'object' || raw === null) return undefined;
  const e = raw as { source?: unknown; resources?: unknown; detail?: { alarmName?: unknown } };
  if (e.source !== 'aws.cloudwatch') return undefined;
  const arn = Array.isArray(e.resources) && typeof e.resources[0] === 'string' ? e.resources[0] : undefined;
  return { arn, name: typeof e.detail?.alarmName === 'string' ? e.detail.alarmName.slice(0, 256) : '(unnamed)' };
}

function receivedAt(record: SQSRecord, now: () => Date): string {
  const sent = Number(record.attributes?.SentTimestamp);
  return (Number.isFinite(sent) && sent > 0 ? new Date(sent) : now()).toISOString();
}

async function ingestRecord(record: SQSRecord, deps: IngestDeps): Promise<void> {
  const at = receivedAt(record, deps.now);
  let result: ReturnType<typeof normalize>;
  try {
    const raw = unwrapRecordBody(record.body);
    result = normalize(raw, {
      clusters: deps.clusters,
      receivedAt: at,
      ...(deps.routing ? { routing: deps.routing } : {}),
      ...(deps.deployment === undefined ? {} : { deployment: deps.deployment }),
    });
    const alarm = result.outcome === 'signals' ? alarmOf(raw) : undefined;
    if (alarm && deps.alarms) await deps.alarms.verify(alarm.arn, alarm.name);
  } catch (err) {
    if (!isPermanentInputError(err)) throw err;
    const e = err as Error;
    const stored = await deps.rawInbox.storeRaw({
      source: `sqs:${record.eventSourceARN}`,
      body: record.body,
      error: e.message,
      errorName: e.name,
      receivedAt: at,
    });
    logger.error('input rejected and stored raw', {
      messageId: record.messageId,
      error: e.name,
      reason: e.message,
      rawKey: stored,
    });
    metrics.addMetric('RejectedEvents', MetricUnit.Count, 1);
    return;
  }
  if (result.outcome === 'ignored') {
    logger.info('event ignored', { messageId: record.messageId, reason: result.reason });
    metrics.addMetric('IgnoredEvents', MetricUnit.Count, 1);
    return;
  }
  await publishSignals(deps.sqs, deps.signalsQueueUrl, result.signals);
  logger.info('signals queued', {
    messageId: record.messageId,
    signals: result.signals.map((s) => ({ id: s.id, cluster: s.cluster, kind: s.kind, state: s.state })),
  });
  metrics.addMetric('SignalsQueued', MetricUnit.Count, result.signals.length);
}

export function createIngestHandler(deps: IngestDeps): (event: SQSEvent) => Promise<SQSBatchResponse> {
  return async (event) => {
    const batchItemFailures: SQSBatchResponse['batchItemFailures'] = [];
    for (const record of event.Records) {
      try {
        await ingestRecord(record, deps);
      } catch (err) {
        logger.warn('record failed, SQS will retry it', { messageId: record.messageId, error: err as Error });
        metrics.addMetric('IngestRetries', MetricUnit.Count, 1);
        batchItemFailures.push({ itemIdentifier: record.messageId });
      }
    }
    return { batchItemFailures };
  };
}

let deps: IngestDeps | undefined;
function depsFromEnv(): IngestDeps {
  return {
    sqs: new SQSClient({}),
    signalsQueueUrl: requireEnv('SIGNALS_QUEUE_URL'),
    rawInbox: storeFromEnv().rawInbox,
    clusters: clustersFromEnv(),
    routing: alertRoutingFromEnv(),
    now: () => new Date(),
    deployment: requireEnv('DEPLOYMENT'),
    alarms: new AlarmOwnership(requireEnv('STACK_NAME'), cloudWatchTagReader(new CloudWatchClient({}))),
  };
}

export const handler = withHouseMiddleware((event: SQSEvent) => createIngestHandler((deps ??= depsFromEnv()))(event));
