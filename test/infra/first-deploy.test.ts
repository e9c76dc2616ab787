// What a first `cdk deploy` into a real account meets that no local test sees: the names a second
// deployment in the same account must not share, what a `cdk destroy` keeps and whether it blocks
// the next deploy, and API Gateway's account-level logging role. Each stack is synthesized as
// `cdk synth` does (bundling skipped, no cdk-nag: test/infra/stack.test.ts runs the pack).
import { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildHealerApp } from '#infra/app-builder.js';
import { loadConfigFile, type HealerConfig } from '#infra/config/schema.js';

type Resources = Record<
  string,
  {
    Type: string;
    Properties?: Record<string, unknown>;
    DeletionPolicy?: string;
    UpdateReplacePolicy?: string;
    DependsOn?: string[];
  }
>;

/** The property of each resource type whose value must be unique in an account and region. */
const PHYSICAL_NAME: Record<string, string> = {
  'AWS::CloudWatch::Alarm': 'AlarmName',
  'AWS::CloudWatch::Dashboard': 'DashboardName',
  'AWS::DynamoDB::Table': 'TableName',
  'AWS::Events::Rule': 'Name',
  'AWS::IAM::Role': 'RoleName',
  'AWS::KMS::Alias': 'AliasName',
  'AWS::Lambda::Function': 'FunctionName',
  'AWS::Logs::LogGroup': 'LogGroupName',
  'AWS::SNS::Topic': 'TopicName',
  'AWS::SQS::Queue': 'QueueName',
  'AWS::SSM::Document': 'Name',
  'AWS::SSM::Parameter': 'Name',
  'AWS::SecretsManager::Secret': 'Name',
  'AWS::StepFunctions::StateMachine': 'StateMachineName',
};

/** A name that ends in the stack's own id is new with every create of the stack. */
const perStackInstance = (name: unknown) => JSON.stringify(name).includes('"AWS::StackId"');

function physicalNames(resources: Resources): Map<string, string> {
  const out = new Map<string, string>();
  for (const [id, r] of Object.entries(resources)) {
    const key = PHYSICAL_NAME[r.Type];
    const name = key === undefined ? undefined : r.Properties?.[key];
    if (name !== undefined && !perStackInstance(name)) out.set(`${r.Type} ${JSON.stringify(name)}`, id);
  }
  return out;
}

function synth(configs: HealerConfig[]): Resources[] {
  const { stacks } = buildHealerApp(configs, { nag: false, appProps: { context: { 'aws:cdk:bundling-stacks': [] } } });
  return stacks.map((s) => Template.fromStack(s).toJSON()['Resources'] as Resources);
}

const msk = loadConfigFile('examples/config/msk.yaml');
let alpha: Resources;
let beta: Resources;
let existing: Resources;

beforeAll(() => {
  [alpha, beta, existing] = synth([
    { ...msk, deployment: 'alpha' },
    { ...msk, deployment: 'beta' },
    { ...msk, deployment: 'gamma', apiGatewayCloudWatchRole: 'existing' },
  ]) as [Resources, Resources, Resources];
}, 300_000);

describe('two deployments in one account and region', () => {
  it('share no physical name (secrets, queues, topics, alarms, state machines, log groups, parameters...)', () => {
    const a = physicalNames(alpha);
    const b = physicalNames(beta);
    expect(a.size).toBeGreaterThan(20);
    expect([...a.keys()].filter((n) => b.has(n))).toEqual([]);
  });
});

describe('cdk destroy, then deploy again', () => {
  it('nothing the stack keeps has a fixed physical name: a kept resource never blocks the next create', () => {
    const kept = Object.entries(alpha).filter(
      ([, r]) => r.DeletionPolicy === 'Retain' || r.DeletionPolicy === 'RetainExceptOnCreate',
    );
    expect(kept.length).toBeGreaterThan(0);
    const blocking = kept.filter(([, r]) => {
      const key = PHYSICAL_NAME[r.Type];
      const name = key === undefined ? undefined : r.Properties?.[key];
      return name !== undefined && !perStackInstance(name);
    });
    expect(
      blocking.map(([id, r]) => `${id} ${r.Type} ${JSON.stringify(r.Properties?.[PHYSICAL_NAME[r.Type] as string])}`),
    ).toEqual([]);
  });

  it('state machine log groups end in the stack id and are removed when a first create rolls back', () => {
    const groups = Object.values(alpha).filter(
      (r) =>
        r.Type === 'AWS::Logs::LogGroup' &&
        JSON.stringify(r.Properties?.['LogGroupName'] ?? '').includes('/aws/vendedlogs/states/'),
    );
    expect(groups.length).toBeGreaterThanOrEqual(5);
    for (const g of groups) {
      expect(perStackInstance(g.Properties?.['LogGroupName'])).toBe(true);
      expect(g.DeletionPolicy).toBe('RetainExceptOnCreate');
    }
  });

  it('the secrets the stack creates (Alertmanager token, link signing key, PagerDuty webhook secret) have generated names and go with the stack', () => {
    const secrets = Object.values(alpha).filter((r) => r.Type === 'AWS::SecretsManager::Secret');
    expect(secrets).toHaveLength(3);
    for (const s of secrets) {
      expect(s.Properties?.['Name']).toBeUndefined();
      expect(s.DeletionPolicy).toBe('Delete');
    }
  });
});

describe('API Gateway logging (config apiGatewayCloudWatchRole)', () => {
  const accounts = (r: Resources) => Object.entries(r).filter(([, x]) => x.Type === 'AWS::ApiGateway::Account');

  it('create (default): the stack sets the account logging role before any stage that logs is created', () => {
    expect(msk.apiGatewayCloudWatchRole).toBe('create');
    const [account, ...more] = accounts(alpha);
    expect(more).toEqual([]);
    const [accountId, res] = account as [string, Resources[string]];
    const roleRef = (res.Properties?.['CloudWatchRoleArn'] as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
    const role = alpha[roleRef];
    expect(role?.Type).toBe('AWS::IAM::Role');
    expect(JSON.stringify(role?.Properties?.['AssumeRolePolicyDocument'])).toContain('apigateway.amazonaws.com');
    expect(JSON.stringify(role?.Properties?.['ManagedPolicyArns'])).toContain('AmazonAPIGatewayPushToCloudWatchLogs');
    // Kept with the stack's deletion: other APIs in the region may log through the setting.
    expect([res.DeletionPolicy, role?.DeletionPolicy]).toEqual(['Retain', 'Retain']);
    const stages = Object.values(alpha).filter((r) => r.Type === 'AWS::ApiGateway::Stage');
    expect(stages).toHaveLength(2);
    for (const stage of stages) {
      expect(stage.Properties?.['AccessLogSetting']).toBeDefined();
      expect(stage.DependsOn).toContain(accountId);
    }
  });

  it('existing: the stack leaves the account setting alone', () => {
    expect(accounts(existing)).toEqual([]);
    expect(Object.values(existing).filter((r) => r.Type === 'AWS::ApiGateway::Stage')).toHaveLength(2);
  });
});
