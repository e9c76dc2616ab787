// Ingest and webhook handlers with the AWS SDK mocked (aws-sdk-client-mock): real normalize(),
// real IncidentStore code path for raw storage, SQS and DynamoDB calls asserted.
import { CloudWatchClient, ListTagsForResourceCommand } from '@aws-sdk/client-cloudwatch';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ClusterFacts, Signal } from '#domain/types.js';
import { createIngestHandler, type IngestDeps } from '#functions/ingest/handler.js';
import { MAX_WEBHOOK_BYTES, createWebhookHandler } from '#functions/ingest/webhook.js';
import { normalize } from '#domain/normalize/index.js';
import { documentClient } from '#shared/clients.js';
import { IncidentStore } from '#tools/incident-store.js';
import { storePieces } from '../support/store-pieces.js';

const QUEUE = 'https://sqs.eu-west-1.amazonaws.com/123456789012/kafka-heal-signals';
const ORDERS: ClusterFacts = {
  name: 'orders',
  aliases: ['orders-msk'],
  platform: 'msk',
  metadataMode: 'kraft',
  brokerCount: 3,
  hasDr: false,
  automaticFailover: false,
};
const fixture = (name: string) => readFileSync(new URL(`../fixtures/events/${name}`, import.meta.url), 'utf8');

const sqsMock = mockClient(SQSClient);
const cwMock = mockClient(CloudWatchClient);
const ddbMock = mockClient(DynamoDBDocumentClient);
let deps: IngestDeps;

function record(body: string, messageId = 'm-1'): SQSRecord {
  return {
    messageId,
    receiptHandle: 'r',
    body,
    attributes: {
      ApproximateReceiveCount: '1',
      SentTimestamp: String(Date.parse('2026-11-22T01:00:00Z')),
      SenderId: 's',
      ApproximateFirstReceiveTimestamp: '1',
    },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:eu-west-1:123456789012:kafka-heal-ingest',
    awsRegion: 'eu-west-1',
  };
}
const batch = (...records: SQSRecord[]): SQSEvent => ({ Records: records });

function queuedSignals(): Signal[] {
  return sqsMock
    .commandCalls(SendMessageBatchCommand)
    .flatMap((c) => c.args[0].input.Entries ?? [])
    .map((e) => JSON.parse(e.MessageBody!) as Signal);
}

beforeEach(() => {
  sqsMock.reset();
  ddbMock.reset();
  sqsMock.on(SendMessageBatchCommand).resolves({ Successful: [], Failed: [] });
  ddbMock.on(PutCommand).resolves({});
  deps = {
    sqs: new SQSClient({ region: 'eu-west-1' }),
    signalsQueueUrl: QUEUE,
    ...storePieces(
      new IncidentStore({
        client: documentClient(new DynamoDBClient({ region: 'eu-west-1' })),
        tableName: 'incidents',
        now: () => new Date('2026-11-22T01:00:05Z'),
      }),
    ),
    clusters: [ORDERS],
    now: () => new Date('2026-11-22T01:00:05Z'),
  };
});

afterEach(() => {
  sqsMock.reset();
  ddbMock.reset();
});

describe('ingest handler (SQS batch)', () => {
  it('turns a CloudWatch alarm event into a signal on the signals queue', async () => {
    const res = await createIngestHandler(deps)(batch(record(fixture('cloudwatch-single-metric.json'))));
    expect(res.batchItemFailures).toEqual([]);
    expect(sqsMock).toHaveReceivedCommandTimes(SendMessageBatchCommand, 1);
    expect(sqsMock).toHaveReceivedCommandWith(SendMessageBatchCommand, { QueueUrl: QUEUE });
    const [s] = queuedSignals();
    expect(s).toMatchObject({
      source: 'cloudwatch',
      cluster: 'orders',
      kind: 'disk-usage',
      brokerIds: [2],
      state: 'firing',
    });
    expect(ddbMock).not.toHaveReceivedCommand(PutCommand);
  });

  it('accepts AMP alerts in an SNS envelope and Alertmanager bodies inside an API Gateway request', async () => {
    const am = fixture('alertmanager-firing.json');
    const apigw = JSON.stringify({
      httpMethod: 'POST',
      requestContext: {},
      isBase64Encoded: true,
      body: Buffer.from(am).toString('base64'),
    });
    const res = await createIngestHandler(deps)(
      batch(record(fixture('amp-sns-notification.json'), 'a'), record(apigw, 'b')),
    );
    expect(res.batchItemFailures).toEqual([]);
    const sources = new Set(queuedSignals().map((s) => s.source));
    expect(sources).toEqual(new Set(['amp', 'alertmanager']));
  });

  it('stores a malformed record raw with the error and does not retry it', async () => {
    const res = await createIngestHandler(deps)(
      batch(record('{"not":"an alarm"', 'bad-json'), record('{"hello":"world"}', 'unknown')),
    );
    expect(res.batchItemFailures).toEqual([]);
    expect(sqsMock).not.toHaveReceivedCommand(SendMessageBatchCommand);
    expect(ddbMock).toHaveReceivedCommandTimes(PutCommand, 2);
    const items = ddbMock.commandCalls(PutCommand).map((c) => c.args[0].input.Item!);
    expect(items[0]).toMatchObject({
      pk: 'RAW#2026-11-22',
      errorName: 'MalformedEventError',
      body: '{"not":"an alarm"',
      truncated: false,
    });
    expect(items[1]).toMatchObject({ errorName: 'UnknownSourceError', body: '{"hello":"world"}' });
    expect(String(items[0]!.sk)).toMatch(/^2026-11-22T01:00:00.000Z#/);
  });

  it('reports a transient SQS failure in batchItemFailures for that record only', async () => {
    sqsMock
      .on(SendMessageBatchCommand)
      .resolvesOnce({ Successful: [{ Id: '0', MessageId: 'x', MD5OfMessageBody: '' }] })
      .rejectsOnce(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }))
      .resolvesOnce({ Failed: [{ Id: '0', Code: 'InternalError', SenderFault: false, Message: 'try again' }] });
    const cw = fixture('cloudwatch-single-metric.json');
    const res = await createIngestHandler(deps)(
      batch(record(cw, 'ok'), record(cw, 'throttled'), record(cw, 'partial')),
    );
    expect(res.batchItemFailures).toEqual([{ itemIdentifier: 'throttled' }, { itemIdentifier: 'partial' }]);
  });

  it('retries (never drops) malformed input when it cannot be stored', async () => {
    ddbMock.on(PutCommand).rejects(Object.assign(new Error('service unavailable'), { name: 'ServiceUnavailable' }));
    const res = await createIngestHandler(deps)(batch(record('not json', 'bad')));
    expect(res.batchItemFailures).toEqual([{ itemIdentifier: 'bad' }]);
  });

  it('ignores configuration-change events without storing or retrying them', async () => {
    const res = await createIngestHandler(deps)(batch(record(fixture('cloudwatch-configuration-change.json'))));
    expect(res.batchItemFailures).toEqual([]);
    expect(sqsMock).not.toHaveReceivedCommand(SendMessageBatchCommand);
    expect(ddbMock).not.toHaveReceivedCommand(PutCommand);
  });

  it('runs through the house middy chain as the deployed handler', async () => {
    process.env.SIGNALS_QUEUE_URL = QUEUE;
    process.env.INCIDENT_TABLE_NAME = 'incidents';
    // The cluster facts come in a file bundled beside the code, as the stack deploys them.
    const root = mkdtempSync(join(tmpdir(), 'kh-ingest-'));
    writeFileSync(join(root, 'clusters.json'), JSON.stringify([ORDERS]));
    process.env.CLUSTERS_FILE = 'clusters.json';
    process.env.LAMBDA_TASK_ROOT = root;
    process.env.AWS_REGION = 'eu-west-1';
    process.env.DEPLOYMENT = 'prod';
    process.env.STACK_NAME = 'KafkaHeal-prod';
    // The alarm's CloudFormation stack-name tag names this stack (functions/ingest/alarm-owner.ts).
    cwMock
      .on(ListTagsForResourceCommand)
      .resolves({ Tags: [{ Key: 'aws:cloudformation:stack-name', Value: 'KafkaHeal-prod' }] });
    const { handler } = await import('#functions/ingest/handler.js');
    const context = {
      functionName: 'ingest',
      awsRequestId: 'req-1',
      invokedFunctionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:ingest',
      memoryLimitInMB: '256',
      functionVersion: '$LATEST',
      getRemainingTimeInMillis: () => 30_000,
    } as unknown as Context;
    const res = await handler(batch(record(fixture('cloudwatch-single-metric.json'))), context);
    expect(res.batchItemFailures).toEqual([]);
    expect(queuedSignals()).toHaveLength(1);
    expect(cwMock).toHaveReceivedCommandWith(ListTagsForResourceCommand, {
      ResourceARN: 'arn:aws:cloudwatch:us-east-1:123456789012:alarm:kafka-heal-prod-orders-disk-critical-broker-2',
    });
  });
});

describe('webhook handler (API Gateway proxy)', () => {
  const body = (b: string, isBase64Encoded = false) => ({ body: b, isBase64Encoded });

  it('answers 202 with the queued signal ids', async () => {
    const res = await createWebhookHandler(deps)(body(fixture('alertmanager-firing.json')));
    expect(res.statusCode).toBe(202);
    const ids = (JSON.parse(res.body) as { signalIds: string[] }).signalIds;
    expect(ids.length).toBeGreaterThan(0);
    expect(ids).toEqual(queuedSignals().map((s) => s.id));
  });

  it("reads alerts with the deployment's routing: a configured alert name, broker label and broker host", async () => {
    const alerts = (labels: Record<string, string>[]) =>
      JSON.stringify({
        version: '4',
        groupKey: '{}:{}',
        status: 'firing',
        alerts: labels.map((l, i) => ({
          status: 'firing',
          labels: l,
          annotations: {},
          startsAt: '2026-11-22T01:00:00Z',
          fingerprint: `f${i}`,
        })),
      });
    const routing = {
      kinds: { ourbrokergone: 'broker-down' as const },
      brokerLabel: 'kafka_node',
      brokerHosts: { orders: { 'kafka-2.internal': 2 } },
    };
    const res = await createWebhookHandler({ ...deps, routing })(
      body(
        alerts([
          { alertname: 'OurBrokerGone', cluster: 'orders', kafka_node: '3' },
          { alertname: 'HostHighCpuLoad', instance: 'kafka-2.internal:9100' },
        ]),
      ),
    );
    expect(res.statusCode).toBe(202);
    expect(queuedSignals().map((s) => [s.kind, s.cluster, s.brokerIds])).toEqual([
      ['broker-down', 'orders', [3]],
      ['cpu-high', 'orders', [2]],
    ]);
    // The ingest queue path (AMP through SNS) reads them the same way.
    sqsMock.resetHistory();
    await createIngestHandler({ ...deps, routing })(
      batch(record(alerts([{ alertname: 'our-broker-gone', cluster: 'orders', kafka_node: 'kafka-2.internal' }]))),
    );
    expect(queuedSignals().map((s) => [s.kind, s.brokerIds])).toEqual([['broker-down', [2]]]);
  });

  it('answers 400 with the reason for malformed input and keeps it raw', async () => {
    const res = await createWebhookHandler(deps)(body('{"alerts": '));
    expect(res.statusCode).toBe(400);
    expect(JSON.parse(res.body)).toMatchObject({ error: 'MalformedEventError' });
    expect(JSON.parse(res.body).message).toMatch(/not valid JSON/);
    expect(ddbMock).toHaveReceivedCommandWith(PutCommand, {
      Item: expect.objectContaining({ source: 'webhook:alertmanager', body: '{"alerts": ' }),
    });
    expect((await createWebhookHandler(deps)(body(''))).statusCode).toBe(400);
  });

  it('answers 400 to a body nested 120,000 levels deep (under 256 KB), on the webhook and on the queue, and keeps it raw', async () => {
    // Where the previous code quoted the bad value with JSON.stringify, which overflowed the stack (a 5xx).
    const deep = `{"version":${'['.repeat(120_000)}${']'.repeat(120_000)},"alerts":[]}`;
    expect(Buffer.byteLength(deep)).toBeLessThan(MAX_WEBHOOK_BYTES);
    const res = await createWebhookHandler(deps)(body(deep));
    expect(res.statusCode).toBe(400);
    expect(JSON.parse(res.body)).toEqual({
      error: 'MalformedEventError',
      message: 'request body nests deeper than 64 levels',
    });
    expect(ddbMock).toHaveReceivedCommandWith(PutCommand, {
      Item: expect.objectContaining({ source: 'webhook:alertmanager', errorName: 'MalformedEventError' }),
    });
    // A deep value where a message quotes what it got: described, never stringified.
    const wrongVersion = await createWebhookHandler(deps)(
      body(`{"version":${'['.repeat(40)}${']'.repeat(40)},"alerts":[]}`),
    );
    expect(JSON.parse(wrongVersion.body)).toMatchObject({ error: 'MalformedEventError' });
    const queued = await createIngestHandler(deps)(batch(record(deep, 'deep')));
    expect(queued.batchItemFailures).toEqual([]);
    expect(ddbMock.commandCalls(PutCommand).at(-1)?.args[0].input.Item).toMatchObject({
      errorName: 'MalformedEventError',
      error: 'queue message body nests deeper than 64 levels',
    });
  });

  it('answers 413 above 256 KB and checks the size before parsing (both sides of the limit)', async () => {
    const atLimit = ' '.repeat(MAX_WEBHOOK_BYTES - 2) + '{}';
    expect(Buffer.byteLength(atLimit)).toBe(MAX_WEBHOOK_BYTES);
    expect((await createWebhookHandler(deps)(body(atLimit))).statusCode).toBe(400); // parsed: valid JSON, unknown source
    const over = atLimit + ' ';
    const res = await createWebhookHandler(deps)(body(Buffer.from(over).toString('base64'), true));
    expect(res.statusCode).toBe(413);
  });

  it.each([
    ['cloudwatch-single-metric.json', 'a CloudWatch alarm event'],
    ['cloudwatch-configuration-change.json', 'a CloudWatch alarm event'],
    ['probe-result.json', 'a kafka-heal probe result'],
    ['amp-sns-notification.json', 'an SNS message'],
    ['amp-sns-lambda.json', 'an SNS message'],
  ])(
    'refuses %s: the webhook accepts only the Alertmanager shape (400, kept raw, nothing queued)',
    async (name, shape) => {
      // Each of these has its own path that binds it to this deployment (EventBridge with the alarm's
      // stack tag, the probe, the AMP topic); the webhook token must not stand in for them.
      const res = await createWebhookHandler(deps)(body(fixture(name)));
      expect(res.statusCode).toBe(400);
      expect(JSON.parse(res.body)).toEqual({
        error: 'UnknownSourceError',
        message: `the webhook accepts only Alertmanager webhook payloads (version "4", alerts[]), got ${shape}`,
      });
      expect(queuedSignals()).toEqual([]);
      expect(ddbMock).toHaveReceivedCommandWith(PutCommand, {
        Item: expect.objectContaining({ source: 'webhook:alertmanager', errorName: 'UnknownSourceError' }),
      });
      // The same body on its own path is read.
      expect(
        normalize(JSON.parse(fixture(name)), { clusters: deps.clusters, receivedAt: '2026-11-22T02:00:00.000Z' })
          .outcome,
      ).toMatch(/^(signals|ignored)$/);
    },
  );

  it('answers 503 when the signals cannot be queued, so Alertmanager retries', async () => {
    sqsMock.on(SendMessageBatchCommand).rejects(new Error('queue down'));
    const res = await createWebhookHandler(deps)(body(fixture('alertmanager-firing.json')));
    expect(res.statusCode).toBe(503);
  });
});
