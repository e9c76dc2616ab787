// Ingest acts on a CloudWatch alarm only when it is this deployment's: its marker names the
// deployment, and CloudFormation's aws:cloudformation:stack-name tag, which no user can set, names
// this stack. CloudWatch is mocked (aws-sdk-client-mock); normalize() and the store's raw path are real.
import { CloudWatchClient, ListTagsForResourceCommand, ResourceNotFoundException } from '@aws-sdk/client-cloudwatch';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { beforeEach, describe, expect, it } from 'vitest';
import { ForeignAlarmError } from '#domain/errors.js';
import type { ClusterFacts } from '#domain/types.js';
import { AlarmOwnership, OWNER_CACHE_MS, STACK_NAME_TAG, cloudWatchTagReader } from '#functions/ingest/alarm-owner.js';
import { createIngestHandler } from '#functions/ingest/handler.js';
import { documentClient } from '#shared/clients.js';
import { IncidentStore } from '#tools/incident-store.js';
import { sqsRecord } from '../support/sqs.js';
import { storePieces } from '../support/store-pieces.js';

const ORDERS: ClusterFacts = {
  name: 'orders',
  aliases: ['orders-msk'],
  platform: 'msk',
  metadataMode: 'kraft',
  brokerCount: 3,
  hasDr: false,
  automaticFailover: false,
};
const STACK = 'KafkaHeal-prod';
const arnOf = (name: string) => `arn:aws:cloudwatch:eu-west-1:123456789012:alarm:${name}`;

const cwMock = mockClient(CloudWatchClient);
const sqsMock = mockClient(SQSClient);
const ddbMock = mockClient(DynamoDBDocumentClient);

beforeEach(() => {
  cwMock.reset();
  sqsMock.reset();
  ddbMock.reset();
  sqsMock.on(SendMessageBatchCommand).resolves({ Successful: [], Failed: [] });
  ddbMock.on(PutCommand).resolves({});
});

describe('AlarmOwnership', () => {
  const reader = cloudWatchTagReader(new CloudWatchClient({ region: 'eu-west-1' }));

  it("passes an alarm whose stack-name tag is this stack; refuses another stack's, an untagged or a deleted one", async () => {
    cwMock.on(ListTagsForResourceCommand, { ResourceARN: arnOf('ours') }).resolves({
      Tags: [
        { Key: STACK_NAME_TAG, Value: STACK },
        { Key: 'team', Value: 'kafka' },
      ],
    });
    cwMock
      .on(ListTagsForResourceCommand, { ResourceARN: arnOf('theirs') })
      .resolves({ Tags: [{ Key: STACK_NAME_TAG, Value: 'KafkaHeal-prod-eu' }] });
    cwMock.on(ListTagsForResourceCommand, { ResourceARN: arnOf('hand-made') }).resolves({});
    cwMock
      .on(ListTagsForResourceCommand, { ResourceARN: arnOf('gone') })
      .rejects(new ResourceNotFoundException({ message: 'no alarm', $metadata: {} }));
    const owners = new AlarmOwnership(STACK, reader);
    await expect(owners.verify(arnOf('ours'), 'ours')).resolves.toBeUndefined();
    await expect(owners.verify(arnOf('theirs'), 'theirs')).rejects.toThrow(
      new ForeignAlarmError('alarm theirs belongs to stack KafkaHeal-prod-eu, not KafkaHeal-prod: never acted on'),
    );
    await expect(owners.verify(arnOf('hand-made'), 'hand-made')).rejects.toThrow(
      /has no stack-name tag \(not made by CloudFormation, or deleted\)/,
    );
    await expect(owners.verify(arnOf('gone'), 'gone')).rejects.toThrow(ForeignAlarmError);
    await expect(owners.verify(undefined, 'anonymous')).rejects.toThrow(
      'alarm anonymous: the event names no alarm ARN, so its owner cannot be checked',
    );
  });

  it('asks CloudWatch once per alarm in ten minutes, then again', async () => {
    cwMock.on(ListTagsForResourceCommand).resolves({ Tags: [{ Key: STACK_NAME_TAG, Value: STACK }] });
    let now = 0;
    const owners = new AlarmOwnership(STACK, reader, () => now);
    for (let i = 0; i < 50; i++) await owners.verify(arnOf('ours'), 'ours');
    expect(cwMock).toHaveReceivedCommandTimes(ListTagsForResourceCommand, 1);
    now = OWNER_CACHE_MS;
    await owners.verify(arnOf('ours'), 'ours');
    expect(cwMock).toHaveReceivedCommandTimes(ListTagsForResourceCommand, 1);
    now = OWNER_CACHE_MS + 1;
    await owners.verify(arnOf('ours'), 'ours');
    expect(cwMock).toHaveReceivedCommandTimes(ListTagsForResourceCommand, 2);
  });

  it('a throttled or failed lookup is not an answer: it throws, and SQS retries the record', async () => {
    cwMock
      .on(ListTagsForResourceCommand)
      .rejects(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }));
    await expect(new AlarmOwnership(STACK, reader).verify(arnOf('ours'), 'ours')).rejects.toThrow('Rate exceeded');
  });
});

describe("ingest: only this deployment's alarms go on", () => {
  const event = (name: string, description: string) =>
    JSON.stringify({
      version: '0',
      id: 'e',
      'detail-type': 'CloudWatch Alarm State Change',
      source: 'aws.cloudwatch',
      account: '123456789012',
      time: '2026-11-22T01:00:00Z',
      region: 'eu-west-1',
      resources: [arnOf(name)],
      detail: {
        alarmName: name,
        state: { value: 'ALARM', reason: 'Threshold Crossed', timestamp: '2026-11-22T01:00:00.000+0000' },
        configuration: {
          description,
          metrics: [
            {
              id: 'm1',
              metricStat: {
                metric: {
                  namespace: 'AWS/Kafka',
                  name: 'OfflinePartitionsCount',
                  dimensions: { 'Cluster Name': 'orders-msk' },
                },
                period: 60,
                stat: 'Maximum',
              },
              returnData: true,
            },
          ],
        },
      },
    });
  const record = (body: string, messageId: string) => sqsRecord(body, { messageId, queue: 'kafka-heal-prod-ingest' });

  it("prod acts on its own alarm, keeps prod-eu's (marker) and a forged one with prod's marker (tag) raw, and acts on neither", async () => {
    cwMock
      .on(ListTagsForResourceCommand, { ResourceARN: arnOf('kafka-heal-prod.orders-offline-partitions') })
      .resolves({ Tags: [{ Key: STACK_NAME_TAG, Value: STACK }] });
    cwMock
      .on(ListTagsForResourceCommand, { ResourceARN: arnOf('kafka-heal-prod.orders-forged') })
      .resolves({ Tags: [] });
    const handler = createIngestHandler({
      sqs: new SQSClient({ region: 'eu-west-1' }),
      signalsQueueUrl: 'https://sqs.eu-west-1.amazonaws.com/123456789012/kafka-heal-prod-signals',
      ...storePieces(
        new IncidentStore({
          client: documentClient(new DynamoDBClient({ region: 'eu-west-1' })),
          tableName: 'incidents',
          now: () => new Date('2026-11-22T01:00:05Z'),
        }),
      ),
      clusters: [ORDERS],
      now: () => new Date('2026-11-22T01:00:05Z'),
      deployment: 'prod',
      alarms: new AlarmOwnership(STACK, cloudWatchTagReader(new CloudWatchClient({ region: 'eu-west-1' }))),
    });
    const res = await handler({
      Records: [
        record(
          event(
            'kafka-heal-prod.orders-offline-partitions',
            'x [kafka-heal deployment=prod cluster=orders kind=offline-partitions]',
          ),
          'own',
        ),
        record(
          event(
            'kafka-heal-prod-eu.orders-offline-partitions',
            'x [kafka-heal deployment=prod-eu cluster=orders kind=offline-partitions]',
          ),
          'other-deployment',
        ),
        record(
          event(
            'kafka-heal-prod.orders-forged',
            'x [kafka-heal deployment=prod cluster=orders kind=offline-partitions]',
          ),
          'forged',
        ),
      ],
    });
    expect(res.batchItemFailures).toEqual([]);
    const queued = sqsMock.commandCalls(SendMessageBatchCommand).flatMap((c) => c.args[0].input.Entries ?? []);
    expect(queued.map((e) => (JSON.parse(e.MessageBody as string) as { name: string }).name)).toEqual([
      'kafka-heal-prod.orders-offline-partitions',
    ]);
    // Both refused events are kept raw with the reason (never dropped), and never retried.
    const raw = ddbMock
      .commandCalls(PutCommand)
      .map((c) => c.args[0].input.Item as { errorName: string; error: string });
    expect(raw.map((r) => r.errorName)).toEqual(['ForeignAlarmError', 'ForeignAlarmError']);
    expect(raw[0]?.error).toMatch(/names deployment "prod-eu", not prod/);
    expect(raw[1]?.error).toMatch(/alarm kafka-heal-prod\.orders-forged has no stack-name tag/);
    // The marker refusal needs no CloudWatch call; the owned and the forged alarm one each.
    expect(cwMock).toHaveReceivedCommandTimes(ListTagsForResourceCommand, 2);
  });
});
