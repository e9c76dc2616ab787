// The HTTPS endpoint for Alertmanager webhooks: API Gateway REST API, POST /alertmanager.
//
// Authentication: a TOKEN authorizer Lambda (functions/webhook-authorizer) compares the
// `Authorization: Bearer <token>` header with the token in Secrets Manager in constant time.
// API Gateway first drops requests whose header is not shaped like a bearer token (401, no
// Lambda call) and caches a decision for a minute per token.
//
// Integration: Lambda proxy to the webhook handler (functions/ingest/webhook.ts), which checks
// the size (413 above 256 KB), parses and normalizes the alert group, stores malformed input raw
// with the error (400 with the reason, never dropped) and queues the signals for classify. It
// answers 202 only once SQS has the signals and 503 when the queue or table is unavailable, which
// Alertmanager retries, so an alert is never acknowledged and then lost.
//
// PagerDuty Webhooks v3 (functions/lifecycle/pagerduty-webhook.ts), when given: POST /pagerduty,
// no authorizer (PagerDuty cannot send our bearer token; the X-PagerDuty-Signature HMAC over the
// body, checked in constant time against the subscription's secret, is the credential), with a
// method throttle of its own (PAGERDUTY_RATE_LIMIT), so a flood of unsigned posts cannot use up
// Alertmanager's. API Gateway's REST payload limit (10 MB) is fixed; the handler answers 413 above
// 256 KB (PagerDuty's own maximum) before reading the body.
//
// Requests are throttled per method (rate and burst) and every request is access-logged as JSON.
import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import {
  AccessLogFormat,
  AuthorizationType,
  EndpointType,
  LambdaIntegration,
  LogGroupLogDestination,
  MethodLoggingLevel,
  ResponseType,
  RestApi,
  TokenAuthorizer,
  type IResource,
} from 'aws-cdk-lib/aws-apigateway';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import type { HealerFunction } from './healer-function.js';

/**
 * The TOKEN authorizer's identity validation: API Gateway answers 401 without calling the
 * authorizer when the Authorization header does not match (the local webhook applies the same).
 */
export const BEARER_HEADER_PATTERN = '^[Bb]earer [^\\s]+$';

/** Requests per second to POST /pagerduty (burst twice that): PagerDuty sends one per incident change. */
export const PAGERDUTY_RATE_LIMIT = 10;

export interface WebhookApiProps {
  deployment: string;
  /** The webhook handler (Lambda proxy integration). */
  handler: HealerFunction;
  authorizer: HealerFunction;
  /** The PagerDuty Webhooks v3 handler: POST /pagerduty, signature-verified by the handler. */
  pagerDuty?: HealerFunction;
  /** Steady-state requests per second. @default 50 */
  rateLimit?: number;
  /** @default 100 */
  burstLimit?: number;
}

/** The access log line every API of the stack writes: JSON with the standard fields people filter on. */
export function jsonAccessLogFormat(): AccessLogFormat {
  return AccessLogFormat.jsonWithStandardFields({
    caller: false,
    httpMethod: true,
    ip: true,
    protocol: true,
    requestTime: true,
    resourcePath: true,
    responseLength: true,
    status: true,
    user: true,
  });
}

export class WebhookApi extends Construct {
  readonly api: RestApi;
  readonly alertmanager: IResource;
  readonly pagerDuty: IResource | undefined;
  readonly accessLogs: LogGroup;

  constructor(scope: Construct, id: string, props: WebhookApiProps) {
    super(scope, id);
    this.accessLogs = new LogGroup(this, 'AccessLogs', {
      retention: RetentionDays.THREE_MONTHS,
      removalPolicy: RemovalPolicy.RETAIN,
    });

    this.api = new RestApi(this, 'Api', {
      restApiName: `kafka-heal-${props.deployment}-webhooks`,
      description: `kafka-heal ${props.deployment}: webhooks (Alertmanager${props.pagerDuty ? ', PagerDuty' : ''})`,
      endpointConfiguration: { types: [EndpointType.REGIONAL] },
      // API Gateway's account logging role, which this stage's access logs need, is set (or
      // required) once per stack by ApiGatewayAccount (config apiGatewayCloudWatchRole), not by
      // each API.
      cloudWatchRole: false,
      deployOptions: {
        stageName: 'v1',
        tracingEnabled: true,
        throttlingRateLimit: props.rateLimit ?? 50,
        throttlingBurstLimit: props.burstLimit ?? 100,
        ...(props.pagerDuty
          ? {
              methodOptions: {
                '/pagerduty/POST': {
                  throttlingRateLimit: PAGERDUTY_RATE_LIMIT,
                  throttlingBurstLimit: PAGERDUTY_RATE_LIMIT * 2,
                },
              },
            }
          : {}),
        loggingLevel: MethodLoggingLevel.OFF,
        accessLogDestination: new LogGroupLogDestination(this.accessLogs),
        accessLogFormat: jsonAccessLogFormat(),
      },
    });

    const authorizer = new TokenAuthorizer(this, 'BearerToken', {
      handler: props.authorizer.fn,
      identitySource: 'method.request.header.Authorization',
      validationRegex: BEARER_HEADER_PATTERN,
      resultsCacheTtl: Duration.minutes(1),
    });

    // API Gateway only checks that the Authorization header is present; the body is checked by
    // the webhook handler, which keeps what it rejects (a body model here would drop it unseen).
    const validator = this.api.addRequestValidator('AuthorizationHeader', {
      requestValidatorName: 'authorization-header',
      validateRequestBody: false,
      validateRequestParameters: true,
    });

    this.alertmanager = this.api.root.addResource('alertmanager');
    this.alertmanager.addMethod(
      'POST',
      new LambdaIntegration(props.handler.fn, { proxy: true, allowTestInvoke: false }),
      {
        authorizer,
        requestValidator: validator,
        requestParameters: { 'method.request.header.Authorization': true },
      },
    );

    if (props.pagerDuty) {
      this.pagerDuty = this.api.root.addResource('pagerduty');
      const method = this.pagerDuty.addMethod(
        'POST',
        new LambdaIntegration(props.pagerDuty.fn, { proxy: true, allowTestInvoke: false }),
        { authorizationType: AuthorizationType.NONE },
      );
      Validations.of(method).acknowledge({
        id: 'AwsSolutions-APIG4',
        reason:
          'PagerDuty Webhooks v3 cannot send a bearer token: the X-PagerDuty-Signature HMAC-SHA256 over the body under the subscription secret (Secrets Manager) is the credential, checked in constant time by the handler, with a replay window and event-id deduplication; unsigned bodies are answered 401 and not stored.',
      });
    } else {
      this.pagerDuty = undefined;
    }

    const json = { 'application/json': '{"message": $context.error.messageString}' };
    // Gateway responses say why in JSON: a missing or malformed Authorization header 401, a
    // wrong token 403.
    this.api.addGatewayResponse('Unauthorized', {
      type: ResponseType.UNAUTHORIZED,
      statusCode: '401',
      templates: json,
    });
    this.api.addGatewayResponse('AccessDenied', {
      type: ResponseType.ACCESS_DENIED,
      statusCode: '403',
      templates: json,
    });

    Validations.of(this).acknowledge(
      {
        id: 'AwsSolutions-APIG2',
        reason:
          'Parameters are validated (the Authorization header is required). The body is validated by the webhook handler instead of an API Gateway model, because a rejected body must be stored raw with the reason and answered 400, not dropped by the gateway unseen.',
      },
      {
        id: 'AwsSolutions-APIG6',
        reason:
          "Every request is access-logged as JSON (APIG1) and traced with X-Ray; execution logging (a line per integration step, billed per GB) adds nothing the handler's own logs and the access log do not say.",
      },
      {
        id: 'AwsSolutions-APIG3',
        reason:
          'Machine callers only (Alertmanager with a bearer token, PagerDuty with a signed body), each checked in constant time, with per-method throttling and a body-size limit. A WAF web ACL per deployment adds fixed monthly cost for little gain here; operators who want one can associate it with the stage.',
      },
      {
        id: 'AwsSolutions-COG4',
        reason:
          'The callers are machines: Alertmanager can only send a static bearer token (the Lambda TOKEN authorizer checks it against Secrets Manager), PagerDuty only an HMAC signature of the body (checked by its handler): a Cognito user pool fits neither.',
      },
    );
  }
}
