// Where people hear from the healer: the `critical` and `warning` SNS topics (created here
// unless the config names existing ones), the KMS key that encrypts the topics this stack
// creates, and a reference to the PagerDuty routing-key secret (read by the notifying functions of
// the escalation ladder and the approvals, infra/constructs/escalation.ts, which are granted it).
import { Aws, Duration, RemovalPolicy } from 'aws-cdk-lib';
import { ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import { Secret, type ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import { Topic, type ITopic } from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import type { HealerConfig } from '../config/schema.js';

export interface NotificationsProps {
  deployment: string;
  notifications: HealerConfig['notifications'];
}

export class Notifications extends Construct {
  /** Encrypts every topic this stack creates (critical, warning, amp-alerts). */
  readonly key: Key;
  readonly critical: ITopic;
  readonly warning: ITopic;
  readonly pagerDutyRoutingKey: ISecret;

  constructor(scope: Construct, id: string, props: NotificationsProps) {
    super(scope, id);
    this.key = new Key(this, 'TopicKey', {
      description: `kafka-heal ${props.deployment}: encrypts the healer's SNS topics`,
      enableKeyRotation: true,
      // It only encrypts this stack's topics, deleted with it: retained, it would bill $1 a month
      // for every destroyed deployment. Deletion is scheduled 30 days out, the longest window.
      pendingWindow: Duration.days(30),
      removalPolicy: RemovalPolicy.DESTROY,
    });
    // Services that publish to the topics need the key: CloudWatch (alarm actions to critical
    // and warning) and Amazon Managed Prometheus (alert manager to amp-alerts). The AWS managed
    // SNS key cannot be used by either, hence a customer managed key.
    // Only on behalf of this account (aws:SourceAccount): another account's alarm or workspace
    // cannot use the key through the service (confused deputy).
    for (const service of ['cloudwatch.amazonaws.com', 'aps.amazonaws.com']) {
      this.key.grant(
        new ServicePrincipal(service).withConditions({ StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID } }),
        'kms:Decrypt',
        'kms:GenerateDataKey*',
      );
    }

    const arns = props.notifications.snsTopicArns;
    this.critical = arns.critical
      ? Topic.fromTopicArn(this, 'CriticalTopic', arns.critical)
      : this.topic(
          'CriticalTopic',
          `kafka-heal-${props.deployment}-critical`,
          `kafka-heal ${props.deployment}: critical (SEV-1/SEV-2 and the healer's own failures)`,
        );
    this.warning = arns.warning
      ? Topic.fromTopicArn(this, 'WarningTopic', arns.warning)
      : this.topic(
          'WarningTopic',
          `kafka-heal-${props.deployment}-warning`,
          `kafka-heal ${props.deployment}: warning (SEV-3/SEV-4)`,
        );

    this.pagerDutyRoutingKey = Secret.fromSecretNameV2(
      this,
      'PagerDutyRoutingKey',
      props.notifications.pagerDutyRoutingKeySecretName,
    );
  }

  /** A KMS-encrypted topic that refuses non-TLS publishes. */
  topic(id: string, topicName: string, displayName: string): Topic {
    return new Topic(this, id, {
      topicName,
      displayName: displayName.slice(0, 100),
      masterKey: this.key,
      enforceSSL: true,
    });
  }
}
