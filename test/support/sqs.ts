// SQS records and events as the Lambda event source delivers them, for handler tests and the
// storm bench (a redelivery is the same body under a new message id).
import { randomUUID } from 'node:crypto';
import type { SQSEvent, SQSRecord } from 'aws-lambda';

export function sqsRecord(
  body: string,
  opts: { messageId?: string; queue?: string; receiveCount?: number } = {},
): SQSRecord {
  const now = String(Date.now());
  return {
    messageId: opts.messageId ?? randomUUID(),
    receiptHandle: 'r',
    body,
    attributes: {
      ApproximateReceiveCount: String(opts.receiveCount ?? 1),
      SentTimestamp: now,
      SenderId: 'test',
      ApproximateFirstReceiveTimestamp: now,
    },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: `arn:aws:sqs:eu-west-1:123456789012:${opts.queue ?? 'kafka-heal-signals'}`,
    awsRegion: 'eu-west-1',
  };
}

export function sqsEvent(...records: SQSRecord[]): SQSEvent {
  return { Records: records };
}
