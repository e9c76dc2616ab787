// Puts normalized signals on the signals queue for the classify Lambda. Ten per SendMessageBatch
// (the SQS limit); any entry SQS refuses fails the whole call with SignalPublishError, so the
// source record is retried. Resending the ones that did go through is harmless: the classify side
// deduplicates by signal id.
import { SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { Signal } from '../domain/types.js';
import { SignalPublishError } from '../shared/errors.js';

export async function publishSignals(sqs: SQSClient, queueUrl: string, signals: Signal[]): Promise<void> {
  const fifo = queueUrl.endsWith('.fifo');
  const failed: string[] = [];
  const reasons: string[] = [];
  for (let i = 0; i < signals.length; i += 10) {
    const chunk = signals.slice(i, i + 10);
    const res = await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: chunk.map((s, j) => ({
          Id: String(j),
          MessageBody: JSON.stringify(s),
          MessageAttributes: {
            cluster: { DataType: 'String', StringValue: s.cluster },
            kind: { DataType: 'String', StringValue: s.kind },
          },
          // A FIFO queue orders per cluster and drops exact redeliveries for five minutes.
          ...(fifo ? { MessageGroupId: s.cluster, MessageDeduplicationId: s.id.slice(0, 128) } : {}),
        })),
      }),
    );
    for (const f of res.Failed ?? []) {
      const s = chunk[Number(f.Id)];
      if (s) failed.push(s.id);
      reasons.push(`${f.Code ?? 'error'}: ${f.Message ?? ''}`.trim());
    }
  }
  if (failed.length > 0) {
    throw new SignalPublishError(
      `${failed.length} of ${signals.length} signals were not queued (${[...new Set(reasons)].join('; ')})`,
      failed,
    );
  }
}
