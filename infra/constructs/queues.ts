// The house SQS queue: SSE-SQS encryption, TLS-only access, and (for work queues) a dead-letter
// queue after a bounded number of receives, so no message is ever dropped silently.
import { Duration } from 'aws-cdk-lib';
import { AnyPrincipal, Effect, PolicyStatement, type IRole } from 'aws-cdk-lib/aws-iam';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

/**
 * Closes a queue to every sender but this stack's: `roles` (the functions that send to it, by
 * aws:PrincipalArn) and `sources` (the EventBridge rules and SNS topics that deliver to it, by
 * aws:SourceArn). A Deny in the queue policy: an identity policy granting sqs:SendMessage on * in
 * the account (or another rule or topic pointed at the queue) cannot override it, so nobody can put
 * a signal past normalization or a page on the retry queue. A condition key absent from a request
 * (no source for a role, no principal ARN for a service) matches "not equal", so each sender is
 * admitted by exactly one of the two lists. DLQ redrive into such a queue sends as the operator
 * and is refused too (docs/troubleshooting.md).
 */
export function admitOnlySenders(queue: Queue, senders: { roles?: IRole[]; sources?: string[] }): PolicyStatement {
  const notEquals: Record<string, string[]> = {};
  if (senders.roles?.length) notEquals['aws:PrincipalArn'] = senders.roles.map((r) => r.roleArn);
  if (senders.sources?.length) notEquals['aws:SourceArn'] = senders.sources;
  const statement = new PolicyStatement({
    sid: 'OnlyThisStacksSenders',
    effect: Effect.DENY,
    principals: [new AnyPrincipal()],
    actions: ['sqs:SendMessage'],
    resources: [queue.queueArn],
    conditions: { ArnNotEquals: notEquals },
  });
  queue.addToResourcePolicy(statement);
  return statement;
}

/** SQS keeps a message at most 14 days: DLQs keep it that long for a human to look at. */
export const DLQ_RETENTION = Duration.days(14);

/** A dead-letter queue (the end of the line: it has no DLQ of its own). */
export function deadLetterQueue(scope: Construct, id: string, queueName: string): Queue {
  return new Queue(scope, id, {
    queueName,
    encryption: QueueEncryption.SQS_MANAGED,
    enforceSSL: true,
    retentionPeriod: DLQ_RETENTION,
  });
}

export interface WorkQueueProps {
  queueName: string;
  /** At least 6x the consuming function's timeout (AWS guidance for Lambda event sources). */
  visibilityTimeout: Duration;
  /** Receives before a message moves to the DLQ. @default 5 */
  maxReceiveCount?: number;
  /** @default 256 KiB */
  maxMessageSizeBytes?: number;
}

/** A work queue with its own DLQ. */
export class WorkQueue extends Construct {
  readonly queue: Queue;
  readonly dlq: Queue;

  constructor(scope: Construct, id: string, props: WorkQueueProps) {
    super(scope, id);
    this.dlq = deadLetterQueue(this, 'Dlq', `${props.queueName}-dlq`);
    this.queue = new Queue(this, 'Queue', {
      queueName: props.queueName,
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      visibilityTimeout: props.visibilityTimeout,
      retentionPeriod: Duration.days(4),
      maxMessageSizeBytes: props.maxMessageSizeBytes ?? 262_144,
      deadLetterQueue: { queue: this.dlq, maxReceiveCount: props.maxReceiveCount ?? 5 },
    });
  }
}
