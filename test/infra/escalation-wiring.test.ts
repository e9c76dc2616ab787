// CDK assertions for the escalation ladder and the approvals as the real healer stacks create
// them (HealerStack.ladder), synthesized once with the cdk-nag AwsSolutions plugin.
import type { Template } from 'aws-cdk-lib/assertions';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { APPROVAL_REQUESTS_PER_SOURCE, APPROVAL_STAGE_RATE_LIMIT } from '#infra/constructs/escalation.js';
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
  ex = synthesizeExampleStacks('kh-escalation-test-');
  d = ex.configs[0]?.deployment ?? '';
  t = ex.template(d);
}, 240_000);

afterAll(() => ex?.cleanup());

function logicalIdOf(type: string, props: Record<string, unknown>): string {
  const found = Object.keys(t.findResources(type, { Properties: props }));
  expect(found, JSON.stringify(props)).toHaveLength(1);
  return found[0] as string;
}

/** Statements of the policies attached to the role with logical id `roleId`. */
function statementsOfRole(roleId: string, template: Template = t): Statement[] {
  const policies = template.findResources('AWS::IAM::Policy') as Resources;
  return Object.values(policies)
    .filter((p) => JSON.stringify(p.Properties.Roles).includes(`"${roleId}"`))
    .flatMap((p) => (p.Properties.PolicyDocument as { Statement: Statement[] }).Statement);
}

function roleOfFunction(description: RegExp, template: Template = t): string {
  const fns = template.findResources('AWS::Lambda::Function') as Resources;
  const fn = Object.values(fns).find((f) => description.test(String(f.Properties.Description)));
  expect(fn, String(description)).toBeDefined();
  return /"([A-Za-z0-9]+)","Arn"/.exec(JSON.stringify(fn?.Properties.Role))?.[1] ?? '';
}

function envOfFunction(description: RegExp): Record<string, unknown> {
  const fns = t.findResources('AWS::Lambda::Function') as Resources;
  const fn = Object.values(fns).find((f) => description.test(String(f.Properties.Description)));
  return ((fn?.Properties.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables ??
    {}) as Record<string, unknown>;
}

describe('escalation ladder and approvals wiring', () => {
  it('synthesizes every example config', () => {
    expect(ex.synthError).toBeUndefined();
  });

  it('the classifier starts the ladder as its escalation workflow (WORKFLOW_ARN_ESCALATION)', () => {
    const ladder = logicalIdOf('AWS::StepFunctions::StateMachine', {
      StateMachineName: `kafka-heal-${d}-escalation-ladder`,
    });
    const env = envOfFunction(/correlates signals with open incidents/);
    expect(JSON.stringify(env.WORKFLOW_ARN_ESCALATION)).toContain(ladder);
  });

  it('recovery escalations reach the ladder: the workflow steps Lambda has WORKFLOW_ARN_ESCALATION and may start only that', () => {
    const ladder = logicalIdOf('AWS::StepFunctions::StateMachine', {
      StateMachineName: `kafka-heal-${d}-escalation-ladder`,
    });
    const desc = /incident-side steps of the recovery workflows/;
    expect(JSON.stringify(envOfFunction(desc).WORKFLOW_ARN_ESCALATION)).toContain(ladder);
    const start = statementsOfRole(roleOfFunction(desc)).filter((s) =>
      actionsOf([s]).includes('states:StartExecution'),
    );
    expect(start.map((s) => JSON.stringify(s.Resource))).toEqual([JSON.stringify({ Ref: ladder })]);
  });

  it('the ladder may invoke only its steps function and run escalation-notify as its broadcast child', () => {
    const ladder = t.findResources('AWS::StepFunctions::StateMachine', {
      Properties: { StateMachineName: `kafka-heal-${d}-escalation-ladder` },
    }) as Resources;
    const roleId =
      /"([A-Za-z0-9]+)","Arn"/.exec(JSON.stringify(Object.values(ladder)[0]?.Properties.RoleArn))?.[1] ?? '';
    const statements = statementsOfRole(roleId);
    const invoke = statements.filter((s) => actionsOf([s]).includes('lambda:InvokeFunction'));
    expect(invoke).toHaveLength(1);
    expect(JSON.stringify(invoke[0]?.Resource)).toMatch(/EscalationSteps/);
    const start = statements.find((s) => actionsOf([s]).includes('states:StartExecution'));
    expect(JSON.stringify(start?.Resource)).toMatch(/EscalationNotify/);
    expect(actionsOf(statements)).not.toContain('sns:Publish');
  });

  it('the steps and approval request functions get the notification chain: PagerDuty secret, both topics, the retry queue', () => {
    for (const fn of [/escalation ladder steps/, /stores an approval request/]) {
      const env = envOfFunction(fn);
      for (const v of [
        'PAGERDUTY_ROUTING_KEY_SECRET',
        'SNS_CRITICAL_TOPIC_ARN',
        'SNS_WARNING_TOPIC_ARN',
        'NOTIFY_RETRY_QUEUE_URL',
        'INCIDENT_TABLE_NAME',
      ])
        expect(env, `${String(fn)} ${v}`).toHaveProperty(v);
      const actions = actionsOf(statementsOfRole(roleOfFunction(fn)));
      expect(actions).toEqual(
        expect.arrayContaining(['sns:Publish', 'sqs:SendMessage', 'secretsmanager:GetSecretValue']),
      );
      expect(actions).not.toContain('states:SendTaskSuccess');
    }
    expect(envOfFunction(/stores an approval request/)).toHaveProperty('APPROVAL_SIGNING_KEY_SECRET');
  });

  it("the ladder reads each cluster's escalation targets and may page only level targets of this deployment", () => {
    const env = envOfFunction(/escalation ladder steps/);
    for (const v of ['POLICY_PARAMETER_PREFIX', 'APPROVAL_SIGNING_KEY_SECRET', 'APPROVAL_BASE_URL'])
      expect(env, v).toHaveProperty(v);
    expect(env.LEVEL_TOPIC_PREFIX).toBe(`kafka-heal-${d}-escalation-`);
    for (const fn of [/escalation ladder steps/, /redelivers notifications/]) {
      const statements = statementsOfRole(roleOfFunction(fn));
      const resourcesFor = (action: string) =>
        JSON.stringify(statements.filter((st) => actionsOf([st]).includes(action)).map((st) => st.Resource));
      expect(resourcesFor('secretsmanager:GetSecretValue'), String(fn)).toContain(':secret:kafka-heal/pagerduty/*');
      expect(resourcesFor('sns:Publish'), String(fn)).toContain(`:kafka-heal-${d}-escalation-*`);
      // Never any secret or any topic.
      expect(resourcesFor('secretsmanager:GetSecretValue')).not.toMatch(/:secret:\*"/);
      expect(resourcesFor('sns:Publish')).not.toMatch(/:\*"/);
    }
    expect(actionsOf(statementsOfRole(roleOfFunction(/escalation ladder steps/)))).toContain('ssm:GetParameter');
  });

  it("only the endpoint may answer task tokens, only those of this deployment's workflows that ask a person, and it may not notify", () => {
    for (const config of ex.configs) {
      const tt = ex.template(config.deployment);
      const statements = statementsOfRole(roleOfFunction(/approval page; records a decision once/), tt);
      const callback = statements.filter((s) => actionsOf([s]).some((a) => a.startsWith('states:')));
      expect(actionsOf(callback).sort()).toEqual(['states:SendTaskFailure', 'states:SendTaskSuccess']);
      // Exactly the state machines with an approval state (their definitions take ApprovalFunctionArn): never "*".
      const asking = Object.entries(tt.findResources('AWS::StepFunctions::StateMachine') as Resources)
        .filter(
          ([, sm]) =>
            (sm.Properties.DefinitionSubstitutions as Record<string, unknown>).ApprovalFunctionArn !== undefined,
        )
        .map(([id]) => ({ Ref: id }));
      expect(asking.length, config.deployment).toBeGreaterThanOrEqual(2);
      expect(callback.flatMap((s) => (Array.isArray(s.Resource) ? s.Resource : [s.Resource]))).toEqual(asking);
      expect(actionsOf(statements)).not.toContain('sns:Publish');
    }
    expect(envOfFunction(/approval page; records a decision once/)).toHaveProperty('APPROVAL_SIGNING_KEY_SECRET');
  });

  it('no task token or workflow data in CloudWatch Logs: every state machine of every example stack logs its events without execution data', () => {
    for (const config of ex.configs) {
      const machines = Object.values(
        ex.template(config.deployment).findResources('AWS::StepFunctions::StateMachine') as Resources,
      );
      expect(machines.length).toBeGreaterThan(5);
      for (const sm of machines)
        expect(sm.Properties.LoggingConfiguration, String(sm.Properties.StateMachineName)).toMatchObject({
          Level: 'ALL',
          IncludeExecutionData: false,
        });
    }
  });

  it('a per-source rate limit guards the approval API: a REGIONAL WAF web ACL with an IP rate-based rule, associated with the v1 stage; the stage throttle is only a backstop', () => {
    const acls = t.findResources('AWS::WAFv2::WebACL') as Resources;
    expect(Object.keys(acls)).toHaveLength(1);
    const [aclId, acl] = Object.entries(acls)[0] as [string, Resources[string]];
    expect(acl.Properties).toMatchObject({
      Name: `kafka-heal-${d}-approvals`,
      Scope: 'REGIONAL',
      DefaultAction: { Allow: {} },
      Rules: [
        {
          Name: 'per-source-rate-limit',
          Action: { Block: {} },
          Statement: {
            RateBasedStatement: {
              AggregateKeyType: 'IP',
              Limit: APPROVAL_REQUESTS_PER_SOURCE,
              EvaluationWindowSec: 300,
            },
          },
        },
      ],
    });
    const stageId = logicalIdOf('AWS::ApiGateway::Stage', {
      StageName: 'v1',
      RestApiId: Match.objectLike({ Ref: Match.stringLikeRegexp('EscalationApprovalApi') }),
    });
    const assoc = Object.values(t.findResources('AWS::WAFv2::WebACLAssociation') as Resources);
    expect(assoc).toHaveLength(1);
    expect(assoc[0]?.Properties.WebACLArn).toEqual({ 'Fn::GetAtt': [aclId, 'Arn'] });
    expect(JSON.stringify(assoc[0]?.Properties.ResourceArn)).toContain(`"Ref":"${stageId}"`);
    t.hasResourceProperties('AWS::ApiGateway::Stage', {
      StageName: 'v1',
      RestApiId: Match.objectLike({ Ref: Match.stringLikeRegexp('EscalationApprovalApi') }),
      MethodSettings: Match.arrayWith([
        Match.objectLike({
          ThrottlingRateLimit: APPROVAL_STAGE_RATE_LIMIT,
          ThrottlingBurstLimit: 2 * APPROVAL_STAGE_RATE_LIMIT,
        }),
      ]),
    });
    expect(APPROVAL_STAGE_RATE_LIMIT).toBeGreaterThan(5);
  });

  it('serves GET and POST /approvals/{approvalId} through a Lambda proxy, throttled, without an authorizer (the signed link is the credential)', () => {
    const methods = t.findResources('AWS::ApiGateway::Method', {
      Properties: { RequestParameters: { 'method.request.path.approvalId': true } },
    }) as Resources;
    expect(
      Object.values(methods)
        .map((m) => m.Properties.HttpMethod)
        .sort(),
    ).toEqual(['GET', 'POST']);
    for (const m of Object.values(methods)) {
      expect(m.Properties.AuthorizationType).toBe('NONE');
      expect(m.Properties.Integration).toMatchObject({ Type: 'AWS_PROXY' });
    }
    t.hasOutput('ApprovalApiUrl', {});
  });

  it('the signing key is a generated secret of 64 characters', () => {
    t.hasResourceProperties('AWS::SecretsManager::Secret', {
      Description: Match.stringLikeRegexp('signs approve/reject links'),
      GenerateSecretString: Match.objectLike({ PasswordLength: 64 }),
    });
  });

  it('the retry queue has a DLQ and a consumer that reports batch item failures; the DLQ alarms', () => {
    t.hasResourceProperties('AWS::SQS::Queue', {
      QueueName: `kafka-heal-${d}-notify-retry`,
      RedrivePolicy: Match.objectLike({ maxReceiveCount: 5 }),
    });
    t.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      BatchSize: 5,
    });
    const alarms = t.findResources('AWS::CloudWatch::Alarm') as Resources;
    expect(Object.values(alarms).some((a) => /notify-retry-dlq/.test(String(a.Properties.AlarmName)))).toBe(true);
  });

  it('the auto-resolver runs every minute on a schedule named per deployment, with its own least-privilege role', () => {
    const fnId = logicalIdOf('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('resolves incidents whose alarms and cluster stayed healthy'),
    });
    t.hasResourceProperties('AWS::Events::Rule', {
      Name: `kafka-heal-${d}-auto-resolve`,
      ScheduleExpression: 'rate(1 minute)',
      State: 'ENABLED',
      Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [fnId, 'Arn'] }, RetryPolicy: { MaximumRetryAttempts: 0 } })],
    });
    const env = envOfFunction(/resolves incidents whose alarms and cluster stayed healthy/);
    expect(env).toMatchObject({
      DEPLOYMENT: d,
      ALARM_NAME_PREFIX: `kafka-heal-${d}.`,
      POLICY_PARAMETER_PREFIX: `/kafka-heal/${d}/clusters`,
      CLUSTERS_FILE: 'clusters.json',
      INCIDENT_TABLE_NAME: expect.anything(),
      PAGERDUTY_ROUTING_KEY_SECRET: expect.anything(),
      SNS_CRITICAL_TOPIC_ARN: expect.anything(),
      NOTIFY_RETRY_QUEUE_URL: expect.anything(),
      POWERTOOLS_SERVICE_NAME: 'kafka-heal-auto-resolve',
    });
    const statements = statementsOfRole(roleOfFunction(/resolves incidents whose alarms and cluster stayed healthy/));
    const actions = actionsOf(statements);
    // Reads alarm states, never changes them; reads the policies; resolves incidents; tells PagerDuty / SNS / the retry queue.
    expect(actions).toEqual(
      expect.arrayContaining([
        'cloudwatch:DescribeAlarms',
        'ssm:GetParameter',
        'dynamodb:UpdateItem',
        'dynamodb:Query',
        'sns:Publish',
        'sqs:SendMessage',
        'secretsmanager:GetSecretValue',
      ]),
    );
    expect(actions.filter((a) => /^cloudwatch:|^states:|^ssm:Put|^dynamodb:DeleteTable/.test(a))).toEqual([
      'cloudwatch:DescribeAlarms',
    ]);
    const describe = statements.find((x) => actionsOf([x]).includes('cloudwatch:DescribeAlarms'));
    expect(JSON.stringify(describe?.Resource)).toContain(`:alarm:kafka-heal-${d}.*`);
    // Only X-Ray is granted on * (it has no resource-level permissions).
    for (const st of statements)
      if (st.Resource === '*')
        expect(
          actionsOf([st]).every((a) => a.startsWith('xray:')),
          JSON.stringify(st.Action),
        ).toBe(true);
  });

  it('cdk-nag reports no unacknowledged error for the escalation and approval resources', () => {
    const stack = ex.stacks.find((s) => s.config.deployment === d);
    if (!stack) throw new Error('no stack');
    const errors = Annotations.fromStack(stack).findError('*', Match.stringLikeRegexp('AwsSolutions-'));
    expect(errors.filter((e) => /Escalation/.test(e.id)).map((e) => `${e.id}: ${String(e.entry.data)}`)).toEqual([]);
  });
});
