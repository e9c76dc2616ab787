// CDK assertions for the incident lifecycle as the real healer stacks deploy it (HealerStack.ladder
// .lifecycle): the CLI's command function, the incident page on the approval API, the PagerDuty
// webhook on the webhook API, their least-privilege roles and the stack outputs the docs promise.
import { Annotations, Match, type Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PAGERDUTY_RATE_LIMIT } from '#infra/constructs/webhook-api.js';
import {
  actionsOf,
  synthesizeExampleStacks,
  type ExampleStacks,
  type Resources,
  type Statement,
} from './example-stacks.js';

let ex: ExampleStacks;
let d: string;
let t: Template;

beforeAll(() => {
  ex = synthesizeExampleStacks('kh-lifecycle-test-');
  d = ex.configs[0]?.deployment ?? '';
  t = ex.template(d);
}, 240_000);

afterAll(() => ex?.cleanup());

const SERVICES = {
  command: 'kafka-heal-incident-lifecycle',
  page: 'kafka-heal-incident-endpoint',
  pagerDuty: 'kafka-heal-pagerduty-webhook',
} as const;

function fnOf(service: string, template: Template = t): [string, Resources[string]] {
  const fns = Object.entries(
    template.findResources('AWS::Lambda::Function', {
      Properties: { Environment: { Variables: Match.objectLike({ POWERTOOLS_SERVICE_NAME: service }) } },
    }) as Resources,
  );
  expect(fns, service).toHaveLength(1);
  return fns[0] as [string, Resources[string]];
}

const envOf = (service: string) =>
  (fnOf(service)[1].Properties.Environment as { Variables: Record<string, unknown> }).Variables;

function statementsOf(service: string): Statement[] {
  const roleId = /"([A-Za-z0-9]+)","Arn"/.exec(JSON.stringify(fnOf(service)[1].Properties.Role))?.[1] ?? '';
  return Object.values(t.findResources('AWS::IAM::Policy') as Resources)
    .filter((p) => JSON.stringify(p.Properties.Roles).includes(`"${roleId}"`))
    .flatMap((p) => (p.Properties.PolicyDocument as { Statement: Statement[] }).Statement);
}

const logicalIdOf = (type: string, props: Record<string, unknown>) => {
  const found = Object.keys(t.findResources(type, { Properties: props }));
  expect(found, JSON.stringify(props)).toHaveLength(1);
  return found[0] as string;
};

describe('incident lifecycle wiring', () => {
  it('synthesizes every example config', () => {
    expect(ex.synthError).toBeUndefined();
  });

  it('serves GET and POST /incidents/{incidentId} on the approval API (where the ladder links point), Lambda proxy, no authorizer', () => {
    const [pageFn] = fnOf(SERVICES.page);
    const approvalApi = logicalIdOf('AWS::ApiGateway::RestApi', { Name: `kafka-heal-${d}-approvals` });
    const methods = t.findResources('AWS::ApiGateway::Method', {
      Properties: { RequestParameters: { 'method.request.path.incidentId': true } },
    }) as Resources;
    expect(
      Object.values(methods)
        .map((m) => m.Properties.HttpMethod)
        .sort(),
    ).toEqual(['GET', 'POST']);
    for (const m of Object.values(methods)) {
      expect(m.Properties).toMatchObject({
        AuthorizationType: 'NONE',
        RestApiId: { Ref: approvalApi },
        Integration: { Type: 'AWS_PROXY' },
      });
      expect(JSON.stringify(m.Properties.Integration)).toContain(`"${pageFn}","Arn"`);
    }
    t.hasResourceProperties('AWS::ApiGateway::Resource', { PathPart: 'incidents', RestApiId: { Ref: approvalApi } });
    // The ladder's pages link to the same API's stage URL.
    const steps = fnOf('kafka-heal-escalation')[1].Properties.Environment as { Variables: Record<string, unknown> };
    expect(JSON.stringify(steps.Variables['APPROVAL_BASE_URL'])).toContain(`"Ref":"${approvalApi}"`);
  });

  it('serves POST /pagerduty on the webhook API without an authorizer, with a method throttle of its own', () => {
    const [pdFn] = fnOf(SERVICES.pagerDuty);
    const webhookApi = logicalIdOf('AWS::ApiGateway::RestApi', { Name: `kafka-heal-${d}-webhooks` });
    const resource = logicalIdOf('AWS::ApiGateway::Resource', {
      PathPart: 'pagerduty',
      RestApiId: { Ref: webhookApi },
    });
    const methods = Object.values(
      t.findResources('AWS::ApiGateway::Method', { Properties: { ResourceId: { Ref: resource } } }) as Resources,
    );
    expect(methods).toHaveLength(1);
    expect(methods[0]?.Properties).toMatchObject({
      HttpMethod: 'POST',
      AuthorizationType: 'NONE',
      Integration: { Type: 'AWS_PROXY' },
    });
    expect(methods[0]?.Properties.AuthorizerId).toBeUndefined();
    expect(JSON.stringify(methods[0]?.Properties.Integration)).toContain(`"${pdFn}","Arn"`);
    t.hasResourceProperties('AWS::ApiGateway::Stage', {
      RestApiId: { Ref: webhookApi },
      MethodSettings: Match.arrayWith([
        Match.objectLike({
          ResourcePath: '/~1pagerduty',
          HttpMethod: 'POST',
          ThrottlingRateLimit: PAGERDUTY_RATE_LIMIT,
          ThrottlingBurstLimit: 2 * PAGERDUTY_RATE_LIMIT,
        }),
      ]),
    });
    // Never on the approval API, whose per-source WAF limit would drop PagerDuty's bursts.
    expect(
      Object.keys(t.findResources('AWS::ApiGateway::Resource', { Properties: { PathPart: 'pagerduty' } })),
    ).toEqual([resource]);
  });

  it('binds each function the environment its handler reads: names and ARNs, never a secret value', () => {
    const webhookSecret = logicalIdOf('AWS::SecretsManager::Secret', {
      Description: Match.stringLikeRegexp('signing secret of the PagerDuty webhook subscription'),
    });
    const signingKey = logicalIdOf('AWS::SecretsManager::Secret', {
      Description: Match.stringLikeRegexp('signs approve/reject links'),
    });
    const notify = {
      PAGERDUTY_ROUTING_KEY_SECRET: expect.anything(),
      SNS_CRITICAL_TOPIC_ARN: expect.anything(),
      SNS_WARNING_TOPIC_ARN: expect.anything(),
      NOTIFY_RETRY_QUEUE_URL: expect.anything(),
    };
    expect(envOf(SERVICES.command)).toMatchObject({ INCIDENT_TABLE_NAME: expect.anything(), ...notify });
    expect(envOf(SERVICES.page)).toMatchObject({
      INCIDENT_TABLE_NAME: expect.anything(),
      APPROVAL_SIGNING_KEY_SECRET: { Ref: signingKey },
      ...notify,
    });
    const pd = envOf(SERVICES.pagerDuty);
    expect(pd).toMatchObject({
      INCIDENT_TABLE_NAME: expect.anything(),
      PAGERDUTY_WEBHOOK_SECRET: { Ref: webhookSecret },
    });
    // PagerDuty told us: the webhook never notifies it back.
    expect(Object.keys(pd).filter((k) => /ROUTING_KEY|TOPIC|QUEUE/.test(k))).toEqual([]);
    // The webhook secret: generated, under a name CloudFormation makes per stack.
    t.hasResourceProperties('AWS::SecretsManager::Secret', {
      Description: Match.stringLikeRegexp('PagerDuty webhook'),
      Name: Match.absent(),
      GenerateSecretString: Match.objectLike({ PasswordLength: 64 }),
    });
  });

  it("least privilege: the table, its own secret, StopExecution on this deployment's workflows (not the ladder), the notify chain for command and page only", () => {
    const webhookSecret = logicalIdOf('AWS::SecretsManager::Secret', {
      Description: Match.stringLikeRegexp('signing secret of the PagerDuty webhook subscription'),
    });
    const signingKey = logicalIdOf('AWS::SecretsManager::Secret', {
      Description: Match.stringLikeRegexp('signs approve/reject links'),
    });
    const ladder = logicalIdOf('AWS::StepFunctions::StateMachine', {
      StateMachineName: `kafka-heal-${d}-escalation-ladder`,
    });
    const classifyStarts = (
      statementsOf('kafka-heal-classify')
        .filter((s) => actionsOf([s]).includes('states:StartExecution'))
        .flatMap((s) => (Array.isArray(s.Resource) ? s.Resource : [s.Resource])) as { Ref: string }[]
    )
      .map((r) => r.Ref)
      .filter((id) => id !== ladder)
      .sort();
    expect(classifyStarts.length).toBeGreaterThan(3);
    for (const service of Object.values(SERVICES)) {
      const statements = statementsOf(service);
      const actions = actionsOf(statements);
      expect(actions, service).toEqual(
        expect.arrayContaining(['dynamodb:UpdateItem', 'dynamodb:GetItem', 'states:StopExecution']),
      );
      // Only StopExecution of Step Functions, on the executions of the classifier's workflows but the ladder.
      expect(
        actions.filter((a) => a.startsWith('states:')),
        service,
      ).toEqual(['states:StopExecution']);
      const stop = statements.find((s) => actionsOf([s]).includes('states:StopExecution'));
      const stopped = (JSON.stringify(stop?.Resource).match(/\{"Ref":"([A-Za-z0-9]+)"\}/g) ?? [])
        .map((r) => r.slice(8, -2))
        .sort();
      expect(stopped, service).toEqual(classifyStarts);
      expect(JSON.stringify(stop?.Resource)).toContain(':execution:');
      // Secrets: the page reads the signing key, the webhook its webhook secret, command and page
      // the PagerDuty routing key (the notify chain); nothing else.
      const secretReads = statements
        .filter((s) => actionsOf([s]).includes('secretsmanager:GetSecretValue'))
        .map((s) => JSON.stringify(s.Resource));
      expect(
        secretReads.some((r) => r.includes(`"${webhookSecret}"`)),
        service,
      ).toBe(service === SERVICES.pagerDuty);
      expect(
        secretReads.some((r) => r.includes(`"${signingKey}"`)),
        service,
      ).toBe(service === SERVICES.page);
      const notifies = actions.includes('sns:Publish') && actions.includes('sqs:SendMessage');
      expect(notifies, service).toBe(service !== SERVICES.pagerDuty);
      for (const st of statements) {
        if (st.Resource === '*')
          expect(
            actionsOf([st]).every((a) => a.startsWith('xray:')),
            JSON.stringify(st.Action),
          ).toBe(true);
        expect(
          actionsOf([st]).filter((a) => /^(iam|lambda|ssm|ec2|cloudwatch):|:\*$|^\*$/.test(a)),
          service,
        ).toEqual([]);
      }
    }
  });

  it('outputs the lifecycle function name, the PagerDuty webhook URL and its secret, as the docs say', () => {
    const [commandFn] = fnOf(SERVICES.command);
    const webhookApi = logicalIdOf('AWS::ApiGateway::RestApi', { Name: `kafka-heal-${d}-webhooks` });
    const outputs = t.findOutputs('*');
    expect(outputs['IncidentLifecycleFunctionName']?.['Value']).toEqual({ Ref: commandFn });
    expect(JSON.stringify(outputs['PagerDutyWebhookUrl']?.['Value'])).toContain(`"Ref":"${webhookApi}"`);
    expect(JSON.stringify(outputs['PagerDutyWebhookUrl']?.['Value'])).toMatch(/pagerduty"\]\]\}$/);
    expect(JSON.stringify(outputs['PagerDutyWebhookSecretArn']?.['Value'])).toMatch(/PagerDutyWebhookSecret/);
  });

  it('a second deployment in the account gets its own names: no fixed function or secret names, per-deployment API names', () => {
    const deployments = ex.configs.map((c) => c.deployment);
    expect(deployments.length).toBeGreaterThan(1);
    for (const dep of deployments) {
      const tt = ex.template(dep);
      for (const service of Object.values(SERVICES))
        expect(fnOf(service, tt)[1].Properties.FunctionName, `${dep} ${service}`).toBeUndefined();
      tt.hasResourceProperties('AWS::SecretsManager::Secret', {
        Description: `kafka-heal ${dep}: signing secret of the PagerDuty webhook subscription (put PagerDuty's value here)`,
        Name: Match.absent(),
      });
      tt.hasResourceProperties('AWS::ApiGateway::RestApi', { Name: `kafka-heal-${dep}-webhooks` });
    }
  });

  it('self-monitoring watches the three functions, and cdk-nag reports no unacknowledged error for them', () => {
    const names = Object.values(t.findResources('AWS::CloudWatch::Alarm') as Resources).map((a) =>
      String(a.Properties.AlarmName),
    );
    for (const n of ['incident-lifecycle', 'incident-endpoint', 'pagerduty-webhook'])
      expect(
        names.some((a) => a.includes(n)),
        n,
      ).toBe(true);
    const stack = ex.stacks.find((s) => s.config.deployment === d);
    if (!stack) throw new Error('no stack');
    const errors = Annotations.fromStack(stack).findError('*', Match.stringLikeRegexp('AwsSolutions-'));
    expect(errors.filter((e) => /Lifecycle|Webhook/.test(e.id)).map((e) => `${e.id}: ${String(e.entry.data)}`)).toEqual(
      [],
    );
  });
});
