// Alertmanager webhook endpoint (API Gateway proxy integration, after the bearer-token
// authorizer): validates size and JSON, normalizes Alertmanager payloads (only those: other
// sources have paths of their own), queues the signals, answers 202 with their ids. 413 above
// 256 KB, 400 with the reason for malformed input or another source's shape (kept raw in the
// incident table), 503 when the queue or table is unavailable so Alertmanager retries.
import { SQSClient } from '@aws-sdk/client-sqs';
import type { APIGatewayProxyEvent, APIGatewayProxyEventV2, APIGatewayProxyResult } from 'aws-lambda';
import { parseJsonDocument } from '../domain/normalize/common.js';
import { normalizeWebhook } from '../domain/normalize/index.js';
import { storeFromEnv } from '../shared/clients.js';
import { alertRoutingFromEnv, clustersFromEnv, requireEnv } from '../shared/env.js';
import { withHouseMiddleware } from '../shared/middy.js';
import { MetricUnit, logger, metrics } from '../shared/powertools.js';
import type { IngestDeps } from './handler.js';
import { isPermanentInputError } from './envelope.js';
import { publishSignals } from './publish.js';

export const MAX_WEBHOOK_BYTES = 256 * 1024;

type ProxyEvent =
  Pick<APIGatewayProxyEvent, 'body' | 'isBase64Encoded'> | Pick<APIGatewayProxyEventV2, 'body' | 'isBase64Encoded'>;

function reply(statusCode: number, body: Record<string, unknown>): APIGatewayProxyResult {
  return { statusCode, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) };
}

export function createWebhookHandler(deps: IngestDeps): (event: ProxyEvent) => Promise<APIGatewayProxyResult> {
  return async (event) => {
    const at = deps.now().toISOString();
    if (event.body === undefined || event.body === null || event.body === '')
      return reply(400, { message: 'request body is empty' });
    const bytes = event.isBase64Encoded ? Buffer.from(event.body, 'base64') : Buffer.from(event.body, 'utf8');
    if (bytes.length > MAX_WEBHOOK_BYTES) {
      logger.warn('webhook body too large', { bytes: bytes.length });
      metrics.addMetric('RejectedEvents', MetricUnit.Count, 1);
      return reply(413, { message: `request body is ${bytes.length} bytes; the limit is ${MAX_WEBHOOK_BYTES}` });
    }
    const text = bytes.toString('utf8');
    let signals;
    try {
      const json = parseJsonDocument(text, 'request body');
      const result = normalizeWebhook(json, {
        clusters: deps.clusters,
        receivedAt: at,
        ...(deps.routing ? { routing: deps.routing } : {}),
      });
      if (result.outcome === 'ignored') return reply(202, { signalIds: [], ignored: result.reason });
      signals = result.signals;
    } catch (err) {
      if (!isPermanentInputError(err)) throw err;
      const e = err as Error;
      try {
        await deps.rawInbox.storeRaw({
          source: 'webhook:alertmanager',
          body: text,
          error: e.message,
          errorName: e.name,
          receivedAt: at,
        });
      } catch (storeErr) {
        logger.error('could not store rejected webhook body', { error: storeErr as Error });
      }
      logger.error('webhook input rejected', { error: e.name, reason: e.message });
      metrics.addMetric('RejectedEvents', MetricUnit.Count, 1);
      return reply(400, { message: e.message, error: e.name });
    }
    try {
      await publishSignals(deps.sqs, deps.signalsQueueUrl, signals);
    } catch (err) {
      logger.error('could not queue webhook signals', { error: err as Error });
      metrics.addMetric('IngestRetries', MetricUnit.Count, 1);
      return reply(503, { message: 'signals could not be queued; retry' });
    }
    metrics.addMetric('SignalsQueued', MetricUnit.Count, signals.length);
    return reply(202, { signalIds: signals.map((s) => s.id) });
  };
}

let deps: IngestDeps | undefined;
export const handler = withHouseMiddleware((event: ProxyEvent) =>
  createWebhookHandler(
    (deps ??= {
      sqs: new SQSClient({}),
      signalsQueueUrl: requireEnv('SIGNALS_QUEUE_URL'),
      rawInbox: storeFromEnv().rawInbox,
      clusters: clustersFromEnv(),
      routing: alertRoutingFromEnv(),
      now: () => new Date(),
    }),
  )(event),
);
