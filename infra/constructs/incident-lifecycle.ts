// The incident lifecycle as people drive it (functions/lifecycle): acknowledge, resolve, reopen and
// note from the CLI, the incident page and PagerDuty, all through actions.ts.
//   - Command: `kafka-heal incidents ack|resolve|reopen|note` against AWS invokes it (stack output
//     IncidentLifecycleFunctionName); lambda:InvokeFunction on it is all an operator needs.
//   - Page: GET/POST /incidents/{incidentId} on the approval API, where the ladder's signed
//     acknowledge / resolve links point (APPROVAL_BASE_URL); the link is the credential.
//   - PagerDuty: Webhooks v3, POST /pagerduty on the webhook API (WebhookApi, no authorizer: the
//     X-PagerDuty-Signature HMAC is the credential). Its signing secret is a secret this stack
//     creates with a generated name, per stack; the operator pastes the subscription's secret in.
// Least privilege: read/write on the incident table; the approval signing key (page) or the
// webhook secret (PagerDuty) read; states:StopExecution on the executions of this deployment's
// workflows only (a resolve stops the run still acting; stopsRunsOf). The command and the page
// tell PagerDuty through the notification chain, bound by the Escalation construct that owns it;
// the webhook never does (PagerDuty told us).
import { ArnFormat, Duration, Fn, RemovalPolicy, Stack, Validations, type CfnElement } from 'aws-cdk-lib';
import { LambdaIntegration, type IResource, type RestApi } from 'aws-cdk-lib/aws-apigateway';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { Effect, Policy, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { Secret, type ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import type { IStateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { HealerFunction } from './healer-function.js';
import { nagArnPrefix } from './nag-ids.js';

export interface IncidentLifecycleProps {
  deployment: string;
  table: ITable;
  /** The approval signing key: incident links are signed with it (functions/lifecycle/links.ts). */
  signingKey: ISecret;
  /** The approval API: the incident page lives where the ladder's links point. */
  approvalApi: RestApi;
}

export class IncidentLifecycle extends Construct {
  readonly commandFn: HealerFunction;
  readonly pageFn: HealerFunction;
  readonly pagerDutyFn: HealerFunction;
  /** The PagerDuty webhook subscription's signing secret (the operator puts PagerDuty's value in). */
  readonly pagerDutyWebhookSecret: Secret;
  /** /incidents/{incidentId} on the approval API. */
  readonly page: IResource;

  constructor(scope: Construct, id: string, props: IncidentLifecycleProps) {
    super(scope, id);
    const d = props.deployment;
    const stack = Stack.of(this);

    this.commandFn = new HealerFunction(this, 'Command', {
      name: 'lifecycle',
      file: 'command.ts',
      serviceName: 'incident-lifecycle',
      description: `kafka-heal ${d}: acknowledges, resolves, reopens or notes an incident for the CLI (kafka-heal incidents ack|resolve|reopen|note)`,
      timeout: Duration.seconds(60),
    }).bindTable(props.table, 'rw');

    this.pageFn = new HealerFunction(this, 'Page', {
      name: 'lifecycle',
      file: 'incident-endpoint.ts',
      serviceName: 'incident-endpoint',
      description: `kafka-heal ${d}: incident page; acknowledges or resolves once per signed link`,
      timeout: Duration.seconds(30),
    })
      .bindTable(props.table, 'rw')
      .bindSecret(props.signingKey, 'APPROVAL_SIGNING_KEY_SECRET');

    // No name: CloudFormation generates one per stack (a second deployment never collides, a
    // deleted stack's secret in its recovery window never blocks a redeploy). A random value until
    // the operator puts the subscription's secret in: nothing verifies against it meanwhile.
    this.pagerDutyWebhookSecret = new Secret(this, 'PagerDutyWebhookSecret', {
      description: `kafka-heal ${d}: signing secret of the PagerDuty webhook subscription (put PagerDuty's value here)`,
      generateSecretString: { passwordLength: 64, excludePunctuation: true, includeSpace: false },
      removalPolicy: RemovalPolicy.DESTROY,
    });
    Validations.of(this.pagerDutyWebhookSecret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'PagerDuty generates the subscription signing secret; a rotation Lambda cannot change it there. Operators rotate it in PagerDuty and put the new value here (the handler accepts any of several signatures during the change and rereads the secret within five minutes).',
    });
    this.pagerDutyFn = new HealerFunction(this, 'PagerDutyWebhook', {
      name: 'lifecycle',
      file: 'pagerduty-webhook.ts',
      serviceName: 'pagerduty-webhook',
      description: `kafka-heal ${d}: PagerDuty Webhooks v3 (acknowledged, resolved, reassigned, escalated, annotated) onto our incidents`,
      timeout: Duration.seconds(15),
    })
      .bindTable(props.table, 'rw')
      .bindSecret(this.pagerDutyWebhookSecret, 'PAGERDUTY_WEBHOOK_SECRET');

    // The page: as the approvals' route (path parameter required, the link verified by the handler).
    this.page = props.approvalApi.root.addResource('incidents').addResource('{incidentId}');
    const integration = new LambdaIntegration(this.pageFn.fn, { proxy: true, allowTestInvoke: false });
    const validator = props.approvalApi.addRequestValidator('IncidentPath', {
      requestValidatorName: 'incident-path',
      validateRequestParameters: true,
      validateRequestBody: false,
    });
    for (const method of ['GET', 'POST']) {
      this.page.addMethod(method, integration, {
        requestValidator: validator,
        requestParameters: { 'method.request.path.incidentId': true },
      });
    }

    for (const f of this.functions) {
      Validations.of(f.fn).acknowledge({
        id: `AwsSolutions-IAM5[Resource::<${stack.getLogicalId(props.table.node.defaultChild as CfnElement)}.Arn>/index/*]`,
        reason:
          'Read/write on the incident table includes its indexes (<table>/index/*), as CDK grants it; these functions read and write incidents and their link / event records by key.',
      });
    }
  }

  /**
   * A person's resolve stops the run still acting for the incident (actions.ts stopActingRun):
   * states:StopExecution on the executions of these state machines, nothing else. A policy of its
   * own, not the roles' default ones: the page function must not wait for it, which would close a
   * cycle (state machine -> approval request function -> API stage -> incident page -> policy).
   */
  stopsRunsOf(stateMachines: IStateMachine[]): this {
    if (stateMachines.length === 0) return this;
    const stack = Stack.of(this);
    const executions = stateMachines.map((sm) =>
      stack.formatArn({
        service: 'states',
        resource: 'execution',
        resourceName: `${Fn.select(6, Fn.split(':', sm.stateMachineArn))}:*`,
        arnFormat: ArnFormat.COLON_RESOURCE_NAME,
      }),
    );
    const policy = new Policy(this, 'StopRuns', {
      statements: [
        new PolicyStatement({ effect: Effect.ALLOW, actions: ['states:StopExecution'], resources: executions }),
      ],
      roles: this.functions.map((f) => f.fn.role),
    });
    Validations.of(policy).acknowledge(
      ...stateMachines.map((sm) => ({
        id: `AwsSolutions-IAM5[Resource::${nagArnPrefix(this, 'states')}:execution:{"Fn::Select":[6,{"Fn::Split":[":",{"Ref":"${stack.getLogicalId(sm.node.defaultChild as CfnElement)}"}]}]}:*]`,
        reason:
          'StopExecution on the executions of one workflow of this deployment: a person resolving an incident stops the run still acting for it; execution names are derived from incident ids at run time.',
      })),
    );
    return this;
  }

  get functions(): { fn: HealerFunction; name: string }[] {
    return [
      { fn: this.commandFn, name: 'incident-lifecycle' },
      { fn: this.pageFn, name: 'incident-endpoint' },
      { fn: this.pagerDutyFn, name: 'pagerduty-webhook' },
    ];
  }
}
