// Notification retry queue consumer (glue): the last link of the fallback chain (safety rule 9).
// Each SQS message is a notification PagerDuty and SNS both refused earlier; it is tried again
// through PagerDuty, else SNS. The attempts go on the incident timeline. A message that is still
// undeliverable is reported as a batch item failure, so SQS makes it visible again and, after the
// queue's maxReceiveCount, moves it to the DLQ, which alarms: it is never dropped.
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { storeFromEnv } from '../shared/clients.js';
import type { Timeline } from '../shared/store/index.js';
import { withHouseMiddleware } from '../shared/middy.js';
import { logger } from '../shared/powertools.js';
import {
  NotificationUndelivered,
  notifyDepsFromEnv,
  notifyTimelineEntries,
  parseRetryQueueMessage,
  redeliverFromQueue,
  type NotifyDeps,
} from '../shared/notify.js';

export interface RedeliverDeps {
  notify: NotifyDeps;
  timeline: Pick<Timeline, 'appendTimeline'>;
}

export function makeRedeliverHandler(deps: RedeliverDeps) {
  return async (event: SQSEvent): Promise<SQSBatchResponse> => {
    const batchItemFailures: SQSBatchResponse['batchItemFailures'] = [];
    for (const record of event.Records) {
      let incidentId: string;
      let kind: Parameters<typeof notifyTimelineEntries>[0];
      try {
        const message = parseRetryQueueMessage(record.body);
        incidentId = message.notification.incidentId;
        kind = message.notification.kind;
      } catch (err) {
        // Not ours and never deliverable: leave it to the DLQ (it alarms) rather than drop it.
        logger.error('retry queue message is not a notification', { messageId: record.messageId, error: err as Error });
        batchItemFailures.push({ itemIdentifier: record.messageId });
        continue;
      }
      try {
        const result = await redeliverFromQueue(record.body, deps.notify);
        for (const entry of notifyTimelineEntries(kind, result.attempts.slice(-2)))
          await deps.timeline.appendTimeline(incidentId, entry);
      } catch (err) {
        if (err instanceof NotificationUndelivered) {
          for (const entry of notifyTimelineEntries(kind, err.attempts.slice(-2)))
            await deps.timeline.appendTimeline(incidentId, entry).catch(() => undefined);
        } else {
          logger.error('redelivery failed', { messageId: record.messageId, error: err as Error });
        }
        batchItemFailures.push({ itemIdentifier: record.messageId });
      }
    }
    return { batchItemFailures };
  };
}

let cached: ((e: SQSEvent) => Promise<SQSBatchResponse>) | undefined;

export const handler = withHouseMiddleware<SQSEvent, SQSBatchResponse>((event: SQSEvent, _context: Context) =>
  (cached ??= makeRedeliverHandler({ notify: notifyDepsFromEnv(process.env), timeline: storeFromEnv().timeline }))(
    event,
  ),
);
