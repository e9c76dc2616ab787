// The escalation ladder (statemachines/escalation.asl.json) and its steps Lambda
// (functions/escalation/handler.ts), plus the approvals: the request Lambda, the HTTPS approval
// endpoint (API Gateway REST API, GET/POST /approvals/{approvalId}, no authorizer: the HMAC-signed
// link is the credential) and the signing key secret.
//
// Who can decide what (docs/aws-stack.md, threat model): a link decides one approval, one way,
// until it expires, once; the links go to people only (never into execution history or logs). The
// endpoint may answer task tokens of this deployment's workflows that ask a person and nothing
// else (allowDecisionsOn), and a WAF rate-based rule limits each source address, so a flood from
// one place cannot starve on-call behind a stage-wide throttle.
//
// How the escalation workflows relate:
//   - escalation (this ladder) is the classifier's `escalation` workflow (WORKFLOW_ARN_ESCALATION):
//     PagerDuty -> SNS -> retry queue through the notify chain, ack-wait ladder, status updates.
//   - escalation-notify stays the short, bounded SNS notification the recovery workflows run as a
//     nested child when they escalate; the ladder runs it as its broadcast when nobody
//     acknowledged, so SNS-per-severity routing lives in one ASL file.
import { ArnFormat, Duration, RemovalPolicy, Stack, Validations, type CfnElement } from 'aws-cdk-lib';
import {
  EndpointType,
  LambdaIntegration,
  LogGroupLogDestination,
  MethodLoggingLevel,
  RestApi,
} from 'aws-cdk-lib/aws-apigateway';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { Effect, Policy, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { CfnWebACL, CfnWebACLAssociation } from 'aws-cdk-lib/aws-wafv2';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { Secret, type ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import type { IStateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import type { IStringParameter } from 'aws-cdk-lib/aws-ssm';
import { Construct } from 'constructs';
import { LEVEL_SECRET_PREFIX } from '#domain/policy.js';
import { NOTIFY_ENV } from '#shared/notify.js';
import type { ClusterFacts } from '#domain/types.js';
import { AutoResolver } from './auto-resolver.js';
import { HealerFunction } from './healer-function.js';
import { IncidentLifecycle } from './incident-lifecycle.js';
import { admitOnlySenders, WorkQueue } from './queues.js';
import { jsonAccessLogFormat } from './webhook-api.js';
import { HealerWorkflow, aslFile } from './workflows.js';
import { nagArnPrefix } from './nag-ids.js';

export const ESCALATION_ASL = aslFile('escalation');

/** Requests one source address may send to the approval API per 5 minutes (WAF rate-based rule). */
export const APPROVAL_REQUESTS_PER_SOURCE = 100;
/** The approval stage's own throttle (requests/s, burst twice that): a backstop for many sources at once. */
export const APPROVAL_STAGE_RATE_LIMIT = 50;

/** The substitutions escalation.asl.json needs. */
export function escalationSubstitutions(s: {
  escalationFunctionArn: string;
  escalationNotifyStateMachineArn: string;
}): Record<string, string> {
  return {
    EscalationFunctionArn: s.escalationFunctionArn,
    EscalationNotifyStateMachineArn: s.escalationNotifyStateMachineArn,
  };
}

export interface EscalationProps {
  deployment: string;
  table: ITable;
  /** The escalation-notify state machine: the ladder's broadcast when nobody acknowledged. */
  escalationNotify: IStateMachine;
  /** State machine name of escalation-notify (its child executions are followed by .sync:2). */
  escalationNotifyName: string;
  /** SNS topics of the notification chain (critical: SEV-1/2, warning: SEV-3/4). */
  critical: ITopic;
  warning: ITopic;
  /** The PagerDuty Events v2 routing key secret (first link of the chain). */
  pagerDutyRoutingKey: ISecret;
  /** The clusters' runtime policy parameters: the ladder reads each cluster's escalation targets. */
  policies?: { parameters: IStringParameter[]; prefix: string };
  /**
   * The auto-resolver (needs the policies): resolves incidents that recovered without the healer
   * and tells PagerDuty through this notification chain.
   */
  autoResolve?: { clusters: ClusterFacts[]; alarmNamePrefix: string };
}

/** Escalation levels' own SNS topics must be named so: the ladder may publish to these only. */
export function levelTopicPrefix(deployment: string): string {
  return `kafka-heal-${deployment}-escalation-`;
}

export class Escalation extends Construct {
  readonly stepsFn: HealerFunction;
  readonly workflow: HealerWorkflow;
  /** Notifications PagerDuty and SNS both refused wait here (with a DLQ) for redelivery. */
  readonly retryQueue: WorkQueue;
  readonly redeliverFn: HealerFunction;
  readonly approvalRequestFn: HealerFunction;
  readonly approvalEndpointFn: HealerFunction;
  readonly signingKey: Secret;
  readonly api: RestApi;
  /** Per-source rate limit in front of the approval API (WAF rate-based rule on the stage). */
  readonly webAcl: CfnWebACL;
  readonly accessLogs: LogGroup;
  readonly autoResolver: AutoResolver | undefined;
  /** Acknowledge / resolve / reopen / note: the CLI's function, the incident page, the PagerDuty webhook. */
  readonly lifecycle: IncidentLifecycle;

  constructor(scope: Construct, id: string, props: EscalationProps) {
    super(scope, id);
    const d = props.deployment;
    const stack = Stack.of(this);

    // --- Notification chain: PagerDuty -> SNS -> retry queue (+ DLQ) -------------------------------
    const redeliverTimeout = Duration.seconds(60);
    this.retryQueue = new WorkQueue(this, 'NotifyRetry', {
      queueName: `kafka-heal-${d}-notify-retry`,
      visibilityTimeout: Duration.seconds(redeliverTimeout.toSeconds() * 6),
    });
    const notifying: HealerFunction[] = [];
    const bindNotify = (fn: HealerFunction): HealerFunction => {
      Validations.of(fn).acknowledge({
        id: 'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]',
        reason:
          'Publishing to the KMS-encrypted topics needs kms:GenerateDataKey* (GenerateDataKey and its WithoutPlaintext variant) on the topic key; the grant names that one key, not *.',
      });
      notifying.push(fn);
      return fn
        .bindSecret(props.pagerDutyRoutingKey, NOTIFY_ENV.routingKeySecret)
        .bindTopic(props.critical, NOTIFY_ENV.criticalTopic)
        .bindTopic(props.warning, NOTIFY_ENV.warningTopic)
        .bindQueue(this.retryQueue.queue, 'send', NOTIFY_ENV.retryQueue);
    };
    this.redeliverFn = bindNotify(
      new HealerFunction(this, 'Redeliver', {
        name: 'escalation',
        file: 'redeliver.ts',
        serviceName: 'notify-redeliver',
        description: `kafka-heal ${d}: redelivers notifications PagerDuty and SNS refused (retry queue consumer)`,
        timeout: redeliverTimeout,
      }).bindTable(props.table, 'rw'),
    ).bindQueue(this.retryQueue.queue, 'consume', 'NOTIFY_RETRY_QUEUE_ARN');
    this.redeliverFn.fn.addEventSource(
      new SqsEventSource(this.retryQueue.queue, {
        batchSize: 5,
        maxBatchingWindow: Duration.seconds(5),
        reportBatchItemFailures: true,
      }),
    );

    // --- Escalation ladder ---------------------------------------------------------------------
    this.stepsFn = bindNotify(
      new HealerFunction(this, 'Steps', {
        name: 'escalation',
        description: `kafka-heal ${d}: escalation ladder steps (who is paged when; PagerDuty -> SNS -> retry queue)`,
        timeout: Duration.seconds(90),
      }).bindTable(props.table, 'rw'),
    );
    this.workflow = new HealerWorkflow(this, 'Ladder', {
      name: 'escalation',
      stateMachineName: `kafka-heal-${d}-escalation-ladder`,
      substitutions: (bind) =>
        escalationSubstitutions({
          escalationFunctionArn: bind.lambda(this.stepsFn.fn, 'the ladder steps function'),
          // The ladder's broadcast when nobody acknowledged (nested, .sync:2).
          escalationNotifyStateMachineArn: bind.nested({
            stateMachine: props.escalationNotify,
            stateMachineName: props.escalationNotifyName,
          }),
        }),
      timeout: Duration.days(1),
    });

    // --- Approvals -----------------------------------------------------------------------------
    this.signingKey = new Secret(this, 'ApprovalSigningKey', {
      description: `kafka-heal ${d}: HMAC-SHA256 key that signs approve/reject links`,
      generateSecretString: { passwordLength: 64, excludePunctuation: true, includeSpace: false },
      removalPolicy: RemovalPolicy.DESTROY,
    });
    Validations.of(this.signingKey).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'Rotating the link signing key invalidates links already sent; operators rotate it by hand between approvals (the Lambdas pick a new value up within five minutes).',
    });

    this.accessLogs = new LogGroup(this, 'ApprovalAccessLogs', {
      retention: RetentionDays.THREE_MONTHS,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.api = new RestApi(this, 'ApprovalApi', {
      restApiName: `kafka-heal-${d}-approvals`,
      description: `kafka-heal ${d}: approval page (signed approve/reject links)`,
      endpointConfiguration: { types: [EndpointType.REGIONAL] },
      // The account logging role its access logs need: ApiGatewayAccount (config apiGatewayCloudWatchRole).
      cloudWatchRole: false,
      deployOptions: {
        stageName: 'v1',
        tracingEnabled: true,
        // A backstop for the whole stage (a flood from many addresses); each single address is
        // held far lower by the WAF rule below, so one source cannot use this up.
        throttlingRateLimit: APPROVAL_STAGE_RATE_LIMIT,
        throttlingBurstLimit: APPROVAL_STAGE_RATE_LIMIT * 2,
        loggingLevel: MethodLoggingLevel.OFF,
        accessLogDestination: new LogGroupLogDestination(this.accessLogs),
        accessLogFormat: jsonAccessLogFormat(),
      },
    });
    // The link itself carries `?decision=...&expires=...&sig=...`: the base URL for links is the stage URL.
    const baseUrl = this.api.url.replace(/\/$/, '');

    this.approvalRequestFn = bindNotify(
      new HealerFunction(this, 'ApprovalRequest', {
        name: 'approvals',
        file: 'request.ts',
        serviceName: 'approval-request',
        description: `kafka-heal ${d}: stores an approval request and its task token, sends signed approve/reject links`,
        timeout: Duration.seconds(90),
        environment: { APPROVAL_BASE_URL: baseUrl },
      })
        .bindTable(props.table, 'rw')
        .bindSecret(this.signingKey, 'APPROVAL_SIGNING_KEY_SECRET'),
    );
    this.approvalEndpointFn = new HealerFunction(this, 'ApprovalEndpoint', {
      name: 'approvals',
      file: 'endpoint.ts',
      serviceName: 'approval-endpoint',
      description: `kafka-heal ${d}: approval page; records a decision once and answers the waiting workflow`,
      timeout: Duration.seconds(15),
    })
      .bindTable(props.table, 'rw')
      .bindSecret(this.signingKey, 'APPROVAL_SIGNING_KEY_SECRET');

    // One source address may send APPROVAL_REQUESTS_PER_SOURCE requests per 5 minutes (a person
    // deciding needs a handful: open the page, post once); more is blocked at the edge, before the
    // stage throttle, Lambda or the table see it.
    this.webAcl = new CfnWebACL(this, 'ApprovalWebAcl', {
      name: `kafka-heal-${d}-approvals`,
      description: `kafka-heal ${d}: per-source rate limit on the approval page`,
      scope: 'REGIONAL',
      defaultAction: { allow: {} },
      visibilityConfig: {
        cloudWatchMetricsEnabled: true,
        metricName: `kafka-heal-${d}-approvals`,
        sampledRequestsEnabled: true,
      },
      rules: [
        {
          name: 'per-source-rate-limit',
          priority: 0,
          action: { block: {} },
          statement: {
            rateBasedStatement: {
              aggregateKeyType: 'IP',
              limit: APPROVAL_REQUESTS_PER_SOURCE,
              evaluationWindowSec: 300,
            },
          },
          visibilityConfig: {
            cloudWatchMetricsEnabled: true,
            metricName: `kafka-heal-${d}-approvals-rate-limited`,
            sampledRequestsEnabled: true,
          },
        },
      ],
    });
    new CfnWebACLAssociation(this, 'ApprovalWebAclAssociation', {
      resourceArn: this.api.deploymentStage.stageArn,
      webAclArn: this.webAcl.attrArn,
    });

    const approval = this.api.root.addResource('approvals').addResource('{approvalId}');
    const integration = new LambdaIntegration(this.approvalEndpointFn.fn, { proxy: true, allowTestInvoke: false });
    const validator = this.api.addRequestValidator('ApprovalPath', {
      requestValidatorName: 'approval-path',
      validateRequestParameters: true,
      validateRequestBody: false,
    });
    for (const method of ['GET', 'POST']) {
      approval.addMethod(method, integration, {
        requestValidator: validator,
        requestParameters: { 'method.request.path.approvalId': true },
      });
    }
    // --- Escalation levels that reach someone new (the runtime policy's `escalation`) -----------
    // The ladder reads each cluster's targets, pages a level's own PagerDuty service (a routing key
    // under kafka-heal/pagerduty/) or SNS topic (kafka-heal-<deployment>-escalation-*), and puts
    // the incident's signed acknowledge / resolve links on its pages. The retry queue's consumer
    // redelivers a parked level page to the same target, so it reads the same secrets.
    if (props.policies)
      this.stepsFn.bindParameters(props.policies.parameters, 'POLICY_PARAMETER_PREFIX', props.policies.prefix);
    this.stepsFn
      .bindSecret(this.signingKey, 'APPROVAL_SIGNING_KEY_SECRET')
      .setEnv('APPROVAL_BASE_URL', baseUrl)
      .setEnv('LEVEL_TOPIC_PREFIX', levelTopicPrefix(d));
    const levelSecrets = stack.formatArn({
      service: 'secretsmanager',
      resource: 'secret',
      resourceName: `${LEVEL_SECRET_PREFIX}*`,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    const levelTopics = stack.formatArn({
      service: 'sns',
      resource: `${levelTopicPrefix(d)}*`,
      region: stack.region,
      account: stack.account,
    });
    for (const f of [this.stepsFn, this.redeliverFn]) {
      f.fn.addToRolePolicy(
        new PolicyStatement({
          effect: Effect.ALLOW,
          actions: ['secretsmanager:GetSecretValue'],
          resources: [levelSecrets],
        }),
      );
      f.fn.addToRolePolicy(
        new PolicyStatement({ effect: Effect.ALLOW, actions: ['sns:Publish'], resources: [levelTopics] }),
      );
      Validations.of(f).acknowledge(
        {
          id: `AwsSolutions-IAM5[Resource::${nagArnPrefix(this, 'secretsmanager')}:secret:${LEVEL_SECRET_PREFIX}*]`,
          reason:
            'Escalation levels name their own PagerDuty routing key secrets in the runtime policy, which changes without a deploy; the grant is limited to the kafka-heal/pagerduty/ prefix the policy validator enforces.',
        },
        {
          id: `AwsSolutions-IAM5[Resource::${nagArnPrefix(this, 'sns')}:${levelTopicPrefix(d)}*]`,
          reason:
            "Escalation levels name their own SNS topics in the runtime policy; the grant is limited to this deployment's escalation topic prefix, and the ladder refuses any other topic.",
        },
      );
    }
    // --- Auto-resolve: incidents that recovered without the healer (a resolve tells PagerDuty) -----
    this.autoResolver =
      props.autoResolve && props.policies
        ? new AutoResolver(this, 'AutoResolve', {
            deployment: d,
            table: props.table,
            clusters: props.autoResolve.clusters,
            alarmNamePrefix: props.autoResolve.alarmNamePrefix,
            policies: props.policies,
          })
        : undefined;
    if (this.autoResolver) bindNotify(this.autoResolver.fn);
    // --- Incident lifecycle: the page sits on this API, where the ladder's links point ----------
    // A resolve or acknowledge from the CLI or the page tells PagerDuty through the chain; the
    // PagerDuty webhook's route is on the webhook API (the stack passes pagerDutyFn to WebhookApi).
    this.lifecycle = new IncidentLifecycle(this, 'Lifecycle', {
      deployment: d,
      table: props.table,
      signingKey: this.signingKey,
      approvalApi: this.api,
    });
    bindNotify(this.lifecycle.commandFn);
    bindNotify(this.lifecycle.pageFn);
    // Closed queue: only the notifying functions (bindNotify) may queue a notification (a page, with links).
    admitOnlySenders(this.retryQueue.queue, { roles: notifying.map((f) => f.role) });

    for (const f of [this.stepsFn, this.redeliverFn, this.approvalRequestFn, this.approvalEndpointFn]) {
      Validations.of(f).acknowledge({
        id: `AwsSolutions-IAM5[Resource::<${stack.getLogicalId(props.table.node.defaultChild as CfnElement)}.Arn>/index/*]`,
        reason:
          'Read/write on the incident table includes its indexes (<table>/index/*), as CDK grants it; these functions read and write incident and approval items by key.',
      });
    }
    Validations.of(this.api).acknowledge(
      {
        id: 'AwsSolutions-APIG2',
        reason:
          'The path parameter is required by the gateway; the form body is verified by the endpoint (HMAC signature, expiry), which must answer a wrong or expired link with a page, not a gateway error.',
      },
      {
        id: 'AwsSolutions-APIG4',
        reason:
          'The approval page is opened from a link in a page or e-mail by a person on call: the HMAC-SHA256 signature over approval id, decision and expiry is the credential (checked in constant time), and a decision is single-use by conditional write.',
      },
      {
        id: 'AwsSolutions-COG4',
        reason:
          'People open approval links from PagerDuty or e-mail on a phone at night; the signed, expiring, single-use link is the authorization, a Cognito login is not required.',
      },
      {
        id: 'AwsSolutions-APIG6',
        reason:
          "Every request is access-logged as JSON and traced; execution logging (billed per GB) adds nothing the endpoint's own logs and the access log do not say.",
      },
    );
  }

  /**
   * Lets the approval endpoint answer the task tokens of these state machines (the workflows that
   * ask a person) and of no other: SendTaskSuccess/Failure on their ARNs, never on `*`.
   */
  allowDecisionsOn(stateMachines: IStateMachine[]): this {
    const role = this.approvalEndpointFn.fn.role;
    if (stateMachines.length === 0 || !role) return this;
    // A policy of its own, not the role's default one: the function does not wait for it, which
    // would close a cycle (state machine -> request function -> API stage -> endpoint -> policy).
    new Policy(this, 'AnswerOwnApprovals', {
      statements: [
        new PolicyStatement({
          effect: Effect.ALLOW,
          actions: ['states:SendTaskSuccess', 'states:SendTaskFailure'],
          resources: stateMachines.map((sm) => sm.stateMachineArn),
        }),
      ],
      roles: [role],
    });
    return this;
  }

  /** Every function of this construct, for self-monitoring. */
  get functions(): { fn: HealerFunction; name: string }[] {
    return [
      { fn: this.stepsFn, name: 'escalation-steps' },
      { fn: this.redeliverFn, name: 'notify-redeliver' },
      { fn: this.approvalRequestFn, name: 'approval-request' },
      { fn: this.approvalEndpointFn, name: 'approval-endpoint' },
      ...(this.autoResolver ? [{ fn: this.autoResolver.fn, name: 'auto-resolve' }] : []),
      ...this.lifecycle.functions,
    ];
  }

  /** The ladder as the classifier's escalation workflow. */
  get stateMachine(): IStateMachine {
    return this.workflow.stateMachine;
  }
}
