// Signal ingestion: every source lands in ONE encrypted SQS queue, the ingest queue, which the
// ingest Lambda consumes with partial batch failures.
//
//   CloudWatch alarm (and contributor) state changes (this account's, this deployment's alarms, by name prefix)
//       -> EventBridge rule -> ingest queue              (target DLQ + 24 h of retries)
//   Amazon Managed Prometheus alerts
//       -> SNS topic amp-alerts (KMS) -> ingest queue    (subscription DLQ)
//   the probes' fast detection (a broker seen down twice, seconds apart)
//       -> ingest queue                                   (SendMessage by the probe's role)
//   ingest queue -> ingest Lambda; a message that fails 5 times -> ingest DLQ
//
// (Alertmanager webhooks arrive synchronously through API Gateway and the webhook handler, which
// answers 202 only once their signals are on the signals queue: see webhook-api.ts.)
//
// Why a queue in front of the Lambda rather than EventBridge -> Lambda: the queue is durable
// buffer for an alarm storm (the Lambda drains it at its own pace instead of being throttled
// into async-retry exhaustion), a message that cannot be processed stays in a DLQ for 14 days
// with its original body, and one consumer sees both sources in the same envelope. The ingest
// handler receives each source's own JSON as the SQS body (EventBridge event, SNS notification)
// and normalize() recognizes them by shape.
//
// Deliveries that never reach the ingest queue (EventBridge or SNS cannot write to it) go to the
// delivery DLQ; every DLQ has an alarm on depth > 0 (see SelfMonitoring).
import { Aws, Duration, Validations } from 'aws-cdk-lib';
import { Match, Rule } from 'aws-cdk-lib/aws-events';
import { SqsQueue } from 'aws-cdk-lib/aws-events-targets';
import { Effect, PolicyStatement, ServicePrincipal, type IRole } from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { SqsSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import type { Queue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { admitOnlySenders, deadLetterQueue, WorkQueue } from './queues.js';

export interface IngestionProps {
  deployment: string;
  /** Alarm names this deployment reacts to start with it (alarmNamePrefix(deployment)). */
  alarmNamePrefix: string;
  /** Encrypts the amp-alerts topic. */
  topicKey: IKey;
  /** The ingest Lambda's timeout; the queue's visibility timeout is six times it. */
  ingestTimeout: Duration;
}

export class Ingestion extends Construct {
  readonly ingest: WorkQueue;
  /** Where EventBridge and SNS put what they could not deliver to the ingest queue. */
  readonly deliveryDlq: Queue;
  readonly alarmRule: Rule;
  readonly ampTopic: Topic;

  constructor(scope: Construct, id: string, props: IngestionProps) {
    super(scope, id);
    const prefix = `kafka-heal-${props.deployment}`;
    this.ingest = new WorkQueue(this, 'Ingest', {
      queueName: `${prefix}-ingest`,
      visibilityTimeout: Duration.seconds(props.ingestTimeout.toSeconds() * 6),
      // EventBridge events, SNS messages and the webhook bodies are all at most 256 KB.
      maxMessageSizeBytes: 262_144,
    });
    this.deliveryDlq = deadLetterQueue(this, 'DeliveryDlq', `${prefix}-delivery-dlq`);
    Validations.of(this.deliveryDlq).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason:
        'This queue IS a dead-letter queue: the EventBridge target DLQ and the SNS subscription DLQ of the ingest path. A DLQ of a DLQ would only move the problem; its depth alarms instead.',
    });

    // This account's alarms of this deployment only: the prefix ends in a character no deployment
    // name has, so `prod` does not match `prod-eu`'s alarms. Contributor state changes are the
    // per-broker alarms' brokers (infra/constructs/alarm-specs.ts). The ingest Lambda then checks
    // each alarm's marker and stack-name tag (functions/ingest/alarm-owner.ts).
    this.alarmRule = new Rule(this, 'AlarmStateChanges', {
      ruleName: `${prefix}-alarm-state-changes`,
      description: `kafka-heal ${props.deployment}: state changes of the alarms named ${props.alarmNamePrefix}*`,
      eventPattern: {
        source: ['aws.cloudwatch'],
        account: [Aws.ACCOUNT_ID],
        detailType: ['CloudWatch Alarm State Change', 'CloudWatch Alarm Contributor State Change'],
        detail: { alarmName: Match.prefix(props.alarmNamePrefix) },
      },
    });
    this.alarmRule.addTarget(
      new SqsQueue(this.ingest.queue, {
        deadLetterQueue: this.deliveryDlq,
        retryAttempts: 185,
        maxEventAge: Duration.hours(24),
      }),
    );

    this.ampTopic = new Topic(this, 'AmpAlerts', {
      topicName: `${prefix}-amp-alerts`,
      displayName: `kafka-heal ${props.deployment}: Amazon Managed Prometheus alerts`,
      masterKey: props.topicKey,
      enforceSSL: true,
    });
    // The AMP workspace's alert manager publishes here (its SNS receiver names this topic).
    this.ampTopic.addToResourcePolicy(
      new PolicyStatement({
        sid: 'AllowAmazonManagedPrometheusPublish',
        effect: Effect.ALLOW,
        principals: [new ServicePrincipal('aps.amazonaws.com')],
        actions: ['sns:Publish', 'sns:GetTopicAttributes'],
        resources: [this.ampTopic.topicArn],
        conditions: { StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID } },
      }),
    );
    this.ampTopic.addSubscription(
      new SqsSubscription(this.ingest.queue, { rawMessageDelivery: false, deadLetterQueue: this.deliveryDlq }),
    );
  }

  /**
   * Closes the queues (the stack calls this once, after the probes exist): only the alarm rule and the
   * AMP topic deliver to the ingest queue and its delivery DLQ, and the probes whose fast detection is
   * on (`probeRoles`) put their probe results on the ingest queue (functions/probe/fast-detect.ts).
   */
  closeQueues(probeRoles: IRole[]): void {
    const sources = [this.alarmRule.ruleArn, this.ampTopic.topicArn];
    admitOnlySenders(this.ingest.queue, { sources, roles: probeRoles });
    admitOnlySenders(this.deliveryDlq, { sources });
  }
}
