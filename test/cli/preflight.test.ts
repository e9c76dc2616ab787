// `kafka-heal preflight`: every check's PASS and FAIL (and WARN where it has one) against the AWS
// SDK mocked with aws-sdk-client-mock, the exit codes, bad input, and the plan read from the
// synthesized stack.
import { APIGatewayClient, GetAccountCommand } from '@aws-sdk/client-api-gateway';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { CloudWatchLogsClient, DescribeLogGroupsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { DescribeInstancesCommand, EC2Client, type Instance } from '@aws-sdk/client-ec2';
import { GetRoleCommand, IAMClient } from '@aws-sdk/client-iam';
import { DescribeClusterCommand, KafkaClient, type ClusterInfo } from '@aws-sdk/client-kafka';
import { ListResourceRecordSetsCommand, Route53Client } from '@aws-sdk/client-route-53';
import { DescribeSecretCommand, GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import {
  DescribeStateMachineCommand,
  ListStateMachinesCommand,
  SFNClient,
  ValidateStateMachineDefinitionCommand,
} from '@aws-sdk/client-sfn';
import {
  DescribeDocumentCommand,
  DescribeInstanceInformationCommand,
  GetParameterCommand,
  GetParametersCommand,
  SSMClient,
} from '@aws-sdk/client-ssm';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { GetTopicAttributesCommand, SNSClient } from '@aws-sdk/client-sns';
import { GetQueueUrlCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { makePreflightCommand } from '#cli/commands/preflight.js';
import { main } from '#cli/main.js';
import {
  apiGatewayLogging,
  trustsApiGateway,
  bootstrap,
  credentials,
  deployedStack,
  drRecords,
  ec2Brokers,
  leftBehind,
  mskAuthMismatch,
  mskClusters,
  nameCollisions,
  pagerDutySecret,
  ssmDocuments,
  stack,
  stateMachines,
  type PreflightClients,
  type PreflightContext,
} from '#cli/preflight/checks.js';
import { planFor, type DeploymentPlan } from '#cli/preflight/plan.js';
import { formatResult, type CheckResult } from '#cli/preflight/result.js';
import { runChecks } from '#cli/preflight/run.js';
import { loadConfigFile, type HealerConfig, type SecurityConfig } from '#infra/config/schema.js';
import { captureIO } from '../support/helpers.js';

const sts = mockClient(STSClient);
const ssm = mockClient(SSMClient);
const apigw = mockClient(APIGatewayClient);
const cfn = mockClient(CloudFormationClient);
const logs = mockClient(CloudWatchLogsClient);
const ddb = mockClient(DynamoDBClient);
const secrets = mockClient(SecretsManagerClient);
const sfn = mockClient(SFNClient);
const kafka = mockClient(KafkaClient);
const ec2 = mockClient(EC2Client);
const route53 = mockClient(Route53Client);
const sqs = mockClient(SQSClient);
const sns = mockClient(SNSClient);
const iam = mockClient(IAMClient);

const fake = { region: 'eu-west-1', credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' } };
const clients: PreflightClients = {
  sts: new STSClient(fake),
  ssm: new SSMClient(fake),
  apiGateway: new APIGatewayClient(fake),
  cloudFormation: new CloudFormationClient(fake),
  logs: new CloudWatchLogsClient(fake),
  dynamodb: new DynamoDBClient(fake),
  secrets: new SecretsManagerClient(fake),
  sfn: new SFNClient(fake),
  kafka: new KafkaClient(fake),
  ec2: new EC2Client(fake),
  route53: new Route53Client(fake),
  sqs: new SQSClient(fake),
  sns: new SNSClient(fake),
  iam: new IAMClient(fake),
};

const MSK = loadConfigFile('examples/config/msk.yaml');
const IAM_ON = { Sasl: { Iam: { Enabled: true } } };
const EC2 = loadConfigFile('examples/config/ec2-zookeeper.yaml');
const DR = loadConfigFile('examples/config/dr-pair.yaml');
const MSK_ARN = MSK.clusters[0]?.platform === 'msk' ? MSK.clusters[0].msk.clusterArn : '';

const PLAN: DeploymentPlan = {
  deployment: 'prod-eu',
  region: 'eu-west-1',
  stackName: 'KafkaHeal-prod-eu',
  description: 'kafka-heal prod-eu: self-healing for Apache Kafka (orders)',
  bootstrap: { parameter: '/cdk-bootstrap/hnb659fds/version', minVersion: 6 },
  stateMachines: ['kafka-heal-prod-eu-escalation', 'kafka-heal-prod-eu-msk-broker-recovery'],
  documents: ['kafka-heal-prod-eu-diagnose-host', 'kafka-heal-prod-eu-restart-broker'],
  parameters: ['/kafka-heal/prod-eu/clusters/orders/policy'],
  queues: ['kafka-heal-prod-eu-ingest', 'kafka-heal-prod-eu-notify-retry'],
  topics: ['kafka-heal-prod-eu-critical'],
  createdSecrets: [],
  logGroupPrefixes: ['/aws/vendedlogs/states/kafka-heal-prod-eu-', 'KafkaHeal-prod-eu-'],
  tablePrefix: 'KafkaHeal-prod-eu-',
};

function ctx(config: HealerConfig = MSK, plan: Partial<DeploymentPlan> = {}, profileRegion?: string): PreflightContext {
  return { config, plan: { ...PLAN, ...plan }, clients, profileRegion };
}

function awsError(name: string, message = `${name} from AWS`): Error {
  return Object.assign(new Error(message), { name, $metadata: {} });
}

const statuses = (results: CheckResult[]) => results.map((r) => r.status);
const lines = (results: CheckResult[]) => results.map(formatResult).join('\n');

beforeEach(() => {
  for (const m of [sts, ssm, apigw, cfn, logs, ddb, secrets, sfn, kafka, ec2, route53, sqs, sns, iam]) m.reset();
});

describe('credentials', () => {
  it('PASS names the caller and the region the stack goes to', async () => {
    sts
      .on(GetCallerIdentityCommand)
      .resolves({ Account: '123456789012', Arn: 'arn:aws:sts::123456789012:assumed-role/Deployer/me' });
    const r = await credentials(ctx());
    expect(statuses(r)).toEqual(['PASS']);
    expect(r[0]?.detail).toBe(
      'arn:aws:sts::123456789012:assumed-role/Deployer/me in account 123456789012; the stack deploys to eu-west-1 (config `region`)',
    );
  });

  it("FAIL when the account is not the config's", async () => {
    sts.on(GetCallerIdentityCommand).resolves({ Account: '999999999999', Arn: 'arn:aws:iam::999999999999:user/x' });
    const r = await credentials(ctx({ ...MSK, account: '123456789012' }));
    expect(statuses(r)).toEqual(['FAIL']);
    expect(r[0]?.detail).toContain("the config's account is 123456789012");
    expect(r[0]?.fix).toContain('`account`');
  });

  it('WARN when the profile names another region', async () => {
    sts.on(GetCallerIdentityCommand).resolves({ Account: '123456789012', Arn: 'arn:aws:iam::123456789012:user/x' });
    const r = await credentials(ctx(MSK, {}, 'us-east-1'));
    expect(statuses(r)).toEqual(['PASS', 'WARN']);
    expect(r[1]?.fix).toBe('export AWS_REGION=eu-west-1 while working on this deployment');
  });

  it('FAIL, never a throw, without credentials or when refused', async () => {
    sts
      .on(GetCallerIdentityCommand)
      .rejects(awsError('CredentialsProviderError', 'Could not load credentials from any providers'));
    expect(lines(await credentials(ctx()))).toBe(
      'FAIL  credentials: sts:GetCallerIdentity: no valid AWS credentials (CredentialsProviderError) (fix: set AWS_PROFILE or log in (aws sso login), then run preflight again)',
    );
    sts.on(GetCallerIdentityCommand).rejects(awsError('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:443'));
    expect((await credentials(ctx()))[0]?.detail).toBe(
      'sts:GetCallerIdentity: cannot reach the AWS API (connect ECONNREFUSED 127.0.0.1:443)',
    );
  });
});

describe('cdk bootstrap', () => {
  it('PASS at or above the version the app needs', async () => {
    ssm.on(GetParameterCommand, { Name: '/cdk-bootstrap/hnb659fds/version' }).resolves({ Parameter: { Value: '6' } });
    expect(lines(await bootstrap(ctx()))).toBe(
      'PASS  cdk bootstrap: version 6 in eu-west-1 (/cdk-bootstrap/hnb659fds/version; the app needs 6 or later)',
    );
  });

  it('FAIL when not bootstrapped or too old, with the bootstrap command', async () => {
    ssm.on(GetParameterCommand).rejects(awsError('ParameterNotFound'));
    const none = await bootstrap(ctx({ ...MSK, account: '123456789012' }));
    expect(lines(none)).toBe(
      'FAIL  cdk bootstrap: eu-west-1 is not bootstrapped (no /cdk-bootstrap/hnb659fds/version) (fix: npx cdk bootstrap aws://123456789012/eu-west-1)',
    );
    ssm.on(GetParameterCommand).resolves({ Parameter: { Value: '5' } });
    expect((await bootstrap(ctx()))[0]?.detail).toBe('bootstrap version 5 in eu-west-1, the app needs at least 6');
    ssm.on(GetParameterCommand).resolves({ Parameter: { Value: 'x' } });
    expect(statuses(await bootstrap(ctx()))).toEqual(['FAIL']);
  });

  it('FAIL naming the permission when the read is refused', async () => {
    ssm.on(GetParameterCommand).rejects(awsError('AccessDeniedException'));
    expect(lines(await bootstrap(ctx()))).toBe(
      'FAIL  cdk bootstrap: not allowed to call ssm:GetParameter (AccessDeniedException) (fix: grant ssm:GetParameter to the identity running preflight (docs/deploying.md#permissions))',
    );
  });
});

describe('api gateway logging role', () => {
  const role = 'arn:aws:iam::123456789012:role/platform-apigw-logs';
  const trust = (service: unknown, extra: Record<string, unknown> = {}) =>
    encodeURIComponent(
      JSON.stringify({
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Principal: { Service: service }, Action: 'sts:AssumeRole', ...extra }],
      }),
    );
  it('existing: PASS when set to a role API Gateway may assume, FAIL when not set', async () => {
    const existing = { ...MSK, apiGatewayCloudWatchRole: 'existing' as const };
    apigw.on(GetAccountCommand).resolves({ cloudwatchRoleArn: role });
    iam.on(GetRoleCommand, { RoleName: 'platform-apigw-logs' }).resolves({
      Role: {
        RoleName: 'platform-apigw-logs',
        Path: '/',
        Arn: role,
        RoleId: 'AROA1',
        CreateDate: new Date(0),
        AssumeRolePolicyDocument: trust('apigateway.amazonaws.com'),
      },
    });
    expect(lines(await apiGatewayLogging(ctx(existing)))).toBe(
      `PASS  api gateway logging role: set to ${role}, which API Gateway may assume (config: existing)`,
    );
    apigw.on(GetAccountCommand).resolves({});
    const r = await apiGatewayLogging(ctx(existing));
    expect(statuses(r)).toEqual(['FAIL']);
    expect(r[0]?.fix).toContain('`apiGatewayCloudWatchRole: create`');
  });

  it('existing: FAIL when the role the setting names is gone, or API Gateway may not assume it; the refused read names iam:GetRole', async () => {
    const existing = { ...MSK, apiGatewayCloudWatchRole: 'existing' as const };
    const pathed = 'arn:aws:iam::123456789012:role/platform/logging/apigw-logs';
    apigw.on(GetAccountCommand).resolves({ cloudwatchRoleArn: pathed });
    iam.on(GetRoleCommand).rejects(awsError('NoSuchEntityException'));
    let r = await apiGatewayLogging(ctx(existing));
    expect(lines(r)).toContain(
      `FAIL  api gateway logging role: set to ${pathed}, but that role does not exist (config: existing)`,
    );
    expect(r[0]?.fix).toContain('trust apigateway.amazonaws.com');
    // The role name is the ARN's last path segment.
    expect(iam.commandCalls(GetRoleCommand).at(-1)?.args[0].input).toEqual({ RoleName: 'apigw-logs' });
    iam.on(GetRoleCommand).resolves({
      Role: {
        RoleName: 'apigw-logs',
        Path: '/platform/logging/',
        Arn: pathed,
        RoleId: 'AROA1',
        CreateDate: new Date(0),
        AssumeRolePolicyDocument: trust('lambda.amazonaws.com'),
      },
    });
    r = await apiGatewayLogging(ctx(existing));
    expect(lines(r)).toContain('whose trust policy does not let apigateway.amazonaws.com assume it');
    iam.on(GetRoleCommand).rejects(awsError('AccessDenied'));
    expect((await apiGatewayLogging(ctx(existing)))[0]?.detail).toBe('not allowed to call iam:GetRole (AccessDenied)');
  });

  it('trust policies: API Gateway as one of several services, a list of statements, Deny, other actions, junk', () => {
    expect(trustsApiGateway(trust(['lambda.amazonaws.com', 'apigateway.amazonaws.com']))).toBe(true);
    expect(trustsApiGateway(trust('apigateway.amazonaws.com', { Action: ['sts:TagSession', 'sts:AssumeRole'] }))).toBe(
      true,
    );
    expect(
      trustsApiGateway(
        encodeURIComponent(
          JSON.stringify({
            Statement: {
              Effect: 'Allow',
              Principal: { Service: 'apigateway.amazonaws.com' },
              Action: 'sts:AssumeRole',
            },
          }),
        ),
      ),
    ).toBe(true);
    expect(trustsApiGateway(trust('apigateway.amazonaws.com', { Effect: 'Deny' }))).toBe(false);
    expect(trustsApiGateway(trust('apigateway.amazonaws.com', { Action: 'sts:TagSession' }))).toBe(false);
    expect(
      trustsApiGateway(
        encodeURIComponent(
          JSON.stringify({ Statement: [{ Effect: 'Allow', Principal: '*', Action: 'sts:AssumeRole' }, null] }),
        ),
      ),
    ).toBe(false);
    expect(trustsApiGateway('%7Bnot json')).toBe(false);
    expect(trustsApiGateway(undefined)).toBe(false);
  });

  it('create: PASS when unset or set by a kafka-heal stack, WARN when another role would be replaced', async () => {
    apigw.on(GetAccountCommand).resolves({});
    expect(lines(await apiGatewayLogging(ctx()))).toBe(
      'PASS  api gateway logging role: not set yet; the stack sets it (config: create)',
    );
    apigw.on(GetAccountCommand).resolves({
      cloudwatchRoleArn: 'arn:aws:iam::123456789012:role/KafkaHeal-prod-eu-ApiGatewayAccountCloudWatchRole-ABC',
    });
    expect(statuses(await apiGatewayLogging(ctx()))).toEqual(['PASS']);
    apigw.on(GetAccountCommand).resolves({ cloudwatchRoleArn: role });
    const r = await apiGatewayLogging(ctx());
    expect(statuses(r)).toEqual(['WARN']);
    expect(r[0]?.fix).toBe('set `apiGatewayCloudWatchRole: existing` to leave the setting as it is');
  });

  it('FAIL naming the permission when refused', async () => {
    apigw.on(GetAccountCommand).rejects(awsError('AccessDeniedException'));
    expect((await apiGatewayLogging(ctx()))[0]?.detail).toBe(
      'not allowed to call apigateway:GET on /account (AccessDeniedException)',
    );
  });
});

const noStack = () =>
  cfn.on(DescribeStacksCommand).rejects(awsError('ValidationError', 'Stack with id KafkaHeal-prod-eu does not exist'));

describe('stack', () => {
  it('PASS when absent or an update of the same deployment', async () => {
    noStack();
    expect(lines(await stack(ctx()))).toBe('PASS  stack KafkaHeal-prod-eu: does not exist yet; cdk deploy creates it');
    cfn.on(DescribeStacksCommand).resolves({
      Stacks: [
        {
          StackName: 'KafkaHeal-prod-eu',
          StackStatus: 'UPDATE_COMPLETE',
          Description: PLAN.description,
          CreationTime: new Date(),
        },
      ],
    });
    expect(statuses(await stack(ctx()))).toEqual(['PASS']);
  });

  it("WARN when the stack is another config's", async () => {
    cfn.on(DescribeStacksCommand).resolves({
      Stacks: [
        {
          StackName: 'KafkaHeal-prod-eu',
          StackStatus: 'CREATE_COMPLETE',
          Description: 'kafka-heal prod-eu: self-healing for Apache Kafka (payments)',
          CreationTime: new Date(),
        },
      ],
    });
    const r = await stack(ctx());
    expect(statuses(r)).toEqual(['WARN']);
    expect(r[0]?.detail).toContain(
      'for other clusters: "kafka-heal prod-eu: self-healing for Apache Kafka (payments)"',
    );
    expect(r[0]?.fix).toContain('`deployment`');
  });

  it.each([
    ['ROLLBACK_COMPLETE', 'delete-stack'],
    ['DELETE_FAILED', 'delete-stack'],
    ['UPDATE_IN_PROGRESS', 'wait'],
  ])('FAIL when %s', async (status, fix) => {
    cfn.on(DescribeStacksCommand).resolves({
      Stacks: [{ StackName: 'KafkaHeal-prod-eu', StackStatus: status as never, CreationTime: new Date() }],
    });
    const r = await stack(ctx());
    expect(statuses(r)).toEqual(['FAIL']);
    expect(r[0]?.fix).toContain(fix);
  });

  it('FAIL naming the permission when refused', async () => {
    cfn.on(DescribeStacksCommand).rejects(awsError('AccessDenied'));
    expect((await stack(ctx()))[0]?.detail).toBe('not allowed to call cloudformation:DescribeStacks (AccessDenied)');
  });
});

describe('names that would collide', () => {
  const nothingLeft = () => {
    logs.on(DescribeLogGroupsCommand).resolves({ logGroups: [] });
    ddb.on(ListTablesCommand).resolves({ TableNames: ['orders-archive'] });
  };
  const free = () => {
    noStack();
    sfn.on(ListStateMachinesCommand).resolves({
      stateMachines: [
        {
          name: 'other-app',
          stateMachineArn: 'arn:aws:states:eu-west-1:123456789012:stateMachine:other-app',
          type: 'STANDARD',
          creationDate: new Date(),
        },
      ],
    });
    ssm.on(DescribeDocumentCommand).rejects(awsError('InvalidDocument'));
    ssm.on(GetParametersCommand).resolves({ Parameters: [], InvalidParameters: PLAN.parameters });
    sqs.on(GetQueueUrlCommand).rejects(awsError('QueueDoesNotExist'));
    sts
      .on(GetCallerIdentityCommand)
      .resolves({ Account: '123456789012', Arn: 'arn:aws:sts::123456789012:assumed-role/Deployer/me' });
    sns.on(GetTopicAttributesCommand).rejects(awsError('NotFoundException'));
    nothingLeft();
  };

  it('PASS when the stack exists (the names are its own)', async () => {
    cfn.on(DescribeStacksCommand).resolves({
      Stacks: [{ StackName: 'KafkaHeal-prod-eu', StackStatus: 'CREATE_COMPLETE', CreationTime: new Date() }],
    });
    expect(lines(await nameCollisions(ctx()))).toBe(
      'PASS  names: the names the stack uses belong to KafkaHeal-prod-eu',
    );
  });

  it('PASS for each kind of name when none is taken', async () => {
    free();
    const r = await nameCollisions(ctx());
    expect(r.map((x) => `${x.status} ${x.check}`)).toEqual([
      'PASS names: state machines',
      'PASS names: ssm documents',
      'PASS names: ssm parameters',
      'PASS names: sqs queues',
      'PASS names: sns topics',
      'PASS kept from an earlier stack',
    ]);
  });

  it('FAIL for a queue or a topic of the same name left behind (a second config with the same deployment name, or a failed delete)', async () => {
    free();
    sqs
      .on(GetQueueUrlCommand, { QueueName: 'kafka-heal-prod-eu-notify-retry' })
      .resolves({ QueueUrl: 'https://sqs.eu-west-1.amazonaws.com/123456789012/kafka-heal-prod-eu-notify-retry' });
    sns
      .on(GetTopicAttributesCommand, { TopicArn: 'arn:aws:sns:eu-west-1:123456789012:kafka-heal-prod-eu-critical' })
      .resolves({ Attributes: {} });
    const r = await nameCollisions(ctx());
    const queues = r.find((x) => x.check === 'names: sqs queues');
    expect(queues).toMatchObject({ status: 'FAIL', detail: 'already taken: kafka-heal-prod-eu-notify-retry' });
    expect(queues?.fix).toContain("SQS frees a deleted queue's name after 60 s");
    expect(r.find((x) => x.check === 'names: sns topics')).toMatchObject({
      status: 'FAIL',
      detail: 'already taken: kafka-heal-prod-eu-critical',
    });
    sqs.on(GetQueueUrlCommand).rejects(awsError('AccessDenied'));
    expect((await nameCollisions(ctx())).find((x) => x.check === 'names: sqs queues')?.detail).toBe(
      'not allowed to call sqs:GetQueueUrl (AccessDenied)',
    );
  });

  it('FAIL for state machines, documents and parameters left behind', async () => {
    free();
    sfn.on(ListStateMachinesCommand).resolves({
      stateMachines: [
        {
          name: 'kafka-heal-prod-eu-escalation',
          stateMachineArn: 'arn:aws:states:eu-west-1:123456789012:stateMachine:kafka-heal-prod-eu-escalation',
          type: 'STANDARD',
          creationDate: new Date(),
        },
      ],
    });
    ssm
      .on(DescribeDocumentCommand, { Name: 'kafka-heal-prod-eu-restart-broker' })
      .resolves({ Document: { Name: 'kafka-heal-prod-eu-restart-broker' } });
    ssm.on(GetParametersCommand).resolves({ Parameters: [{ Name: '/kafka-heal/prod-eu/clusters/orders/policy' }] });
    const r = await nameCollisions(ctx());
    expect(statuses(r)).toEqual(['FAIL', 'FAIL', 'FAIL', 'PASS', 'PASS', 'PASS']);
    expect(r[0]?.detail).toBe('already taken: kafka-heal-prod-eu-escalation');
    expect(r[1]?.detail).toBe('already taken: kafka-heal-prod-eu-restart-broker');
    expect(r[2]?.fix).toContain('aws ssm delete-parameter --name /kafka-heal/prod-eu/clusters/orders/policy');
  });

  it('a named secret: PASS when free, FAIL when it exists or waits out its recovery window', async () => {
    free();
    const withName = {
      createdSecrets: [{ name: 'kafka-heal/prod-eu/alertmanager', field: 'alertmanager.tokenSecretName' }],
    };
    secrets.on(DescribeSecretCommand).rejects(awsError('ResourceNotFoundException'));
    expect((await nameCollisions(ctx(MSK, withName))).map(formatResult)).toContain(
      'PASS  names: secret kafka-heal/prod-eu/alertmanager: free',
    );
    secrets
      .on(DescribeSecretCommand)
      .resolves({ Name: 'kafka-heal/prod-eu/alertmanager', DeletedDate: new Date('2027-01-05T00:00:00Z') });
    const pending = (await nameCollisions(ctx(MSK, withName))).find((x) => x.check.includes('secret'));
    expect(pending?.status).toBe('FAIL');
    expect(pending?.detail).toBe(
      'is scheduled for deletion on 2027-01-05T00:00:00.000Z and blocks the name until then (`alertmanager.tokenSecretName`)',
    );
    expect(pending?.fix).toContain('aws secretsmanager restore-secret --secret-id kafka-heal/prod-eu/alertmanager');
    secrets.on(DescribeSecretCommand).resolves({ Name: 'kafka-heal/prod-eu/alertmanager' });
    expect((await nameCollisions(ctx(MSK, withName))).find((x) => x.check.includes('secret'))?.detail).toBe(
      'already exists (`alertmanager.tokenSecretName`); the stack creates it',
    );
  });

  it('FAIL naming the permission when a listing is refused', async () => {
    free();
    sfn.on(ListStateMachinesCommand).rejects(awsError('AccessDeniedException'));
    expect((await nameCollisions(ctx()))[0]?.detail).toBe(
      'not allowed to call states:ListStateMachines (AccessDeniedException)',
    );
  });

  it('kept from an earlier stack: WARN listing retained log groups and the incident table', async () => {
    logs
      .on(DescribeLogGroupsCommand, { logGroupNamePrefix: '/aws/vendedlogs/states/kafka-heal-prod-eu-' })
      .resolves({ logGroups: [{ logGroupName: '/aws/vendedlogs/states/kafka-heal-prod-eu-escalation-1a2b' }] });
    logs
      .on(DescribeLogGroupsCommand, { logGroupNamePrefix: 'KafkaHeal-prod-eu-' })
      .resolves({ logGroups: [{ logGroupName: 'KafkaHeal-prod-eu-IngestLogs-XYZ' }] });
    ddb.on(ListTablesCommand, { ExclusiveStartTableName: 'KafkaHeal-prod-eu-' }).resolves({
      TableNames: ['KafkaHeal-prod-eu-IncidentsTable-QRS'],
      LastEvaluatedTableName: 'KafkaHeal-prod-eu-IncidentsTable-QRS',
    });
    ddb
      .on(ListTablesCommand, { ExclusiveStartTableName: 'KafkaHeal-prod-eu-IncidentsTable-QRS' })
      .resolves({ TableNames: ['KafkaHeal-prod-eu-IncidentsTable-TUV', 'zzz'], LastEvaluatedTableName: 'zzz' });
    const r = await leftBehind(ctx());
    expect(statuses(r)).toEqual(['WARN']);
    expect(r[0]?.detail).toBe(
      "incident table KafkaHeal-prod-eu-IncidentsTable-QRS, KafkaHeal-prod-eu-IncidentsTable-TUV; 2 log groups (/aws/vendedlogs/states/kafka-heal-prod-eu-escalation-1a2b, KafkaHeal-prod-eu-IngestLogs-XYZ): retained on destroy as the audit record, they block no deploy (the new stack's names differ)",
    );
    expect(ddb).toHaveReceivedCommandTimes(ListTablesCommand, 2);
  });

  it('kept from an earlier stack: FAIL naming the permission when refused', async () => {
    logs.on(DescribeLogGroupsCommand).resolves({ logGroups: [] });
    ddb.on(ListTablesCommand).rejects(awsError('AccessDeniedException'));
    expect((await leftBehind(ctx()))[0]?.detail).toBe(
      'not allowed to call dynamodb:ListTables (AccessDeniedException)',
    );
  });
});

describe('msk clusters', () => {
  it('PASS when ACTIVE with the configured broker count', async () => {
    kafka.on(DescribeClusterCommand, { ClusterArn: MSK_ARN }).resolves({
      ClusterInfo: {
        State: 'ACTIVE',
        NumberOfBrokerNodes: MSK.clusters[0]?.brokerCount,
        EnhancedMonitoring: 'PER_BROKER',
        ClientAuthentication: IAM_ON,
      },
    });
    expect(lines(await mskClusters(ctx()))).toBe(
      `PASS  msk orders: ACTIVE, ${MSK.clusters[0]?.brokerCount} brokers, monitoring PER_BROKER (${MSK_ARN})`,
    );
  });

  it('FAIL when missing, failed or counted wrong; WARN while an operation runs', async () => {
    kafka.on(DescribeClusterCommand).rejects(awsError('NotFoundException'));
    const missing = await mskClusters(ctx());
    expect(statuses(missing)).toEqual(['FAIL']);
    expect(missing[0]?.fix).toContain('`clusters[0].msk.clusterArn`');
    kafka.on(DescribeClusterCommand).resolves({ ClusterInfo: { State: 'FAILED' } });
    expect(statuses(await mskClusters(ctx()))).toEqual(['FAIL']);
    kafka.on(DescribeClusterCommand).resolves({ ClusterInfo: { State: 'ACTIVE', NumberOfBrokerNodes: 99 } });
    expect((await mskClusters(ctx()))[0]?.fix).toBe('set `clusters[0].brokerCount` to 99');
    kafka.on(DescribeClusterCommand).resolves({ ClusterInfo: { State: 'UPDATING' } });
    expect(statuses(await mskClusters(ctx()))).toEqual(['WARN']);
    kafka.on(DescribeClusterCommand).resolves({
      ClusterInfo: {
        State: 'ACTIVE',
        NumberOfBrokerNodes: MSK.clusters[0]?.brokerCount,
        EnhancedMonitoring: 'DEFAULT',
        ClientAuthentication: IAM_ON,
      },
    });
    expect((await mskClusters(ctx()))[0]?.fix).toContain('--enhanced-monitoring PER_BROKER');
  });

  it("FAIL when the config's authentication is not one the cluster has enabled (the example uses IAM on 9098)", async () => {
    kafka.on(DescribeClusterCommand).resolves({
      ClusterInfo: {
        State: 'ACTIVE',
        NumberOfBrokerNodes: MSK.clusters[0]?.brokerCount,
        EnhancedMonitoring: 'PER_BROKER',
        ClientAuthentication: { Sasl: { Scram: { Enabled: true } } },
      },
    });
    const [r] = await mskClusters(ctx());
    expect(r?.status).toBe('FAIL');
    expect(r?.detail).toBe(
      'ACTIVE, but security.mechanism is AWS_MSK_IAM while IAM client authentication is not enabled: every probe would fail to connect and page access-failure',
    );
    expect(r?.fix).toContain('`clusters[0].security`');
  });

  it.each([
    [{ protocol: 'SASL_SSL', mechanism: 'AWS_MSK_IAM' }, { ClientAuthentication: IAM_ON }, undefined],
    [
      { protocol: 'SASL_SSL', mechanism: 'AWS_MSK_IAM' },
      {},
      'security.mechanism is AWS_MSK_IAM while IAM client authentication is not enabled',
    ],
    [
      { protocol: 'SASL_SSL', mechanism: 'SCRAM-SHA-512' },
      { ClientAuthentication: { Sasl: { Scram: { Enabled: true } } } },
      undefined,
    ],
    [
      { protocol: 'SASL_SSL', mechanism: 'SCRAM-SHA-512' },
      { ClientAuthentication: IAM_ON },
      'security.mechanism is SCRAM-SHA-512 while SASL/SCRAM client authentication is not enabled',
    ],
    [
      { protocol: 'SSL', tls: { clientCertificateSecret: 'kafka/client' } },
      {
        ClientAuthentication: {
          Tls: { CertificateAuthorityArnList: ['arn:aws:acm-pca:eu-west-1:123456789012:certificate-authority/x'] },
        },
      },
      undefined,
    ],
    [
      { protocol: 'SSL', tls: { clientCertificateSecret: 'kafka/client' } },
      { ClientAuthentication: { Tls: { Enabled: true } } },
      undefined,
    ],
    [
      { protocol: 'SSL', tls: { clientCertificateSecret: 'kafka/client' } },
      {},
      'security.tls.clientCertificateSecret is set while TLS client authentication (mTLS) is not enabled',
    ],
    [
      { protocol: 'SSL' },
      { EncryptionInfo: { EncryptionInTransit: { ClientBroker: 'PLAINTEXT' } } },
      "security.protocol is SSL while the cluster's client-broker encryption is PLAINTEXT",
    ],
    [{ protocol: 'PLAINTEXT' }, {}, 'security.protocol is PLAINTEXT while the cluster accepts TLS only'],
    [
      { protocol: 'PLAINTEXT' },
      { EncryptionInfo: { EncryptionInTransit: { ClientBroker: 'TLS_PLAINTEXT' } } },
      undefined,
    ],
    [{ protocol: 'SSL' }, { EncryptionInfo: { EncryptionInTransit: { ClientBroker: 'TLS_PLAINTEXT' } } }, undefined],
  ])('mskAuthMismatch %j against %j', (security, info, expected) => {
    expect(
      mskAuthMismatch({ allowPlaintextCredentials: false, ...security } as SecurityConfig, info as ClusterInfo),
    ).toBe(expected);
  });

  it('FAIL naming the permission when refused; nothing asked for EC2 clusters', async () => {
    kafka.on(DescribeClusterCommand).rejects(awsError('AccessDeniedException'));
    expect((await mskClusters(ctx()))[0]?.detail).toBe(
      'not allowed to call kafka:DescribeCluster (AccessDeniedException)',
    );
    expect(await mskClusters(ctx(EC2))).toEqual([]);
  });
});

function instance(id: string, state = 'running', tags: Record<string, string> = {}): Instance {
  return {
    InstanceId: id,
    State: { Name: state as never },
    Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })),
  };
}

describe('ec2 brokers', () => {
  const ec2c = EC2.clusters[0];
  const brokerIds = ec2c?.platform === 'ec2' ? (ec2c.ec2.brokers ?? []).map((b) => b.instanceId) : [];
  const zkIds = ec2c?.platform === 'ec2' ? (ec2c.ec2.zookeeper?.instanceIds ?? []) : [];
  const listed = (brokers: Instance[], zk: Instance[] = zkIds.map((i) => instance(i))) => {
    ec2
      .on(DescribeInstancesCommand, { Filters: [{ Name: 'instance-id', Values: brokerIds }] })
      .resolves({ Reservations: [{ Instances: brokers }] });
    ec2
      .on(DescribeInstancesCommand, { Filters: [{ Name: 'instance-id', Values: zkIds }] })
      .resolves({ Reservations: [{ Instances: zk }] });
  };
  const online = (ids: string[]) =>
    ssm
      .on(DescribeInstanceInformationCommand)
      .resolves({ InstanceInformationList: ids.map((InstanceId) => ({ InstanceId, PingStatus: 'Online' })) });

  it('by id: PASS when every broker and ZooKeeper host is running and online in SSM', async () => {
    listed(brokerIds.map((i) => instance(i)));
    online([...brokerIds, ...zkIds]);
    expect(lines(await ec2Brokers(ctx(EC2)))).toBe(
      'PASS  ec2 payments: 3 broker and 3 ZooKeeper hosts found, running and online in SSM',
    );
  });

  it('by id: FAIL naming the missing, stopped and offline hosts', async () => {
    listed([instance(brokerIds[0] as string), instance(brokerIds[1] as string, 'stopped')]);
    online([brokerIds[0] as string]);
    const r = await ec2Brokers(ctx(EC2));
    expect(statuses(r)).toEqual(['FAIL']);
    expect(r[0]?.detail).toBe(
      `not found: ${brokerIds[2]}; not running: ${brokerIds[1]} (stopped); not online in SSM (SendCommand cannot reach them): ${zkIds.join(', ')}`,
    );
    expect(r[0]?.fix).toContain('AmazonSSMManagedInstanceCore');
  });

  const tagged = (n: number, tags: (i: number) => Record<string, string>) =>
    ec2.on(DescribeInstancesCommand, { Filters: [{ Name: 'tag:kafka-heal:cluster', Values: ['events'] }] }).resolves({
      Reservations: [
        {
          Instances: Array.from({ length: n }, (_, i) =>
            instance(`i-0${String(i).padStart(16, 'a')}`, 'running', tags(i)),
          ),
        },
      ],
    });
  const full = (i: number) => ({
    'kafka-heal:cluster': 'events',
    'kafka-heal:deployment': 'events',
    'kafka-heal:broker-id': String(i + 1),
  });

  it('by tag: PASS when the tag finds brokerCount instances with broker ids and the deployment tag', async () => {
    tagged(6, full);
    ec2
      .on(DescribeInstancesCommand, { Filters: [{ Name: 'tag:kafka-heal:cluster', Values: ['events-dr'] }] })
      .resolves({ Reservations: [] });
    ssm.on(DescribeInstanceInformationCommand).callsFake((input: { Filters: { Values: string[] }[] }) => ({
      InstanceInformationList: (input.Filters[0]?.Values ?? []).map((InstanceId) => ({
        InstanceId,
        PingStatus: 'Online',
      })),
    }));
    const r = await ec2Brokers(ctx(DR));
    expect(r[0]).toEqual({
      status: 'PASS',
      check: 'ec2 events',
      detail: '6 broker hosts found, running and online in SSM',
    });
    expect(r[1]?.status).toBe('FAIL');
    expect(r[1]?.detail).toBe('0 instances tagged kafka-heal:cluster=events-dr, the config counts 6');
  });

  it('by tag: FAIL when broker ids or the deployment tag are missing', async () => {
    tagged(6, (i) => (i === 0 ? { 'kafka-heal:cluster': 'events' } : full(i)));
    ssm.on(DescribeInstanceInformationCommand).callsFake((input: { Filters: { Values: string[] }[] }) => ({
      InstanceInformationList: (input.Filters[0]?.Values ?? []).map((InstanceId) => ({
        InstanceId,
        PingStatus: 'Online',
      })),
    }));
    const r = await ec2Brokers(ctx({ ...DR, clusters: DR.clusters.slice(0, 1) }));
    expect(r[0]?.detail).toBe(
      'no broker id in tag kafka-heal:broker-id on i-0aaaaaaaaaaaaaaa0; without tag kafka-heal:deployment=events: i-0aaaaaaaaaaaaaaa0',
    );
  });

  it('at 1,000 listed brokers: asks in batches, needs the deployment tag, prints one line', async () => {
    const c = EC2.clusters[0] as Extract<HealerConfig['clusters'][number], { platform: 'ec2' }>;
    const ids = Array.from({ length: 1000 }, (_, i) => `i-${i.toString(16).padStart(17, '0')}`);
    const big = {
      ...EC2,
      clusters: [
        { ...c, brokerCount: 1000, ec2: { ...c.ec2, brokers: ids.map((instanceId, id) => ({ id, instanceId })) } },
      ],
    } as HealerConfig;
    const tags = (id: string): Record<string, string> =>
      id.endsWith('7') ? {} : { 'kafka-heal:deployment': 'prod-us' };
    ec2.on(DescribeInstancesCommand).callsFake((input: { Filters: { Values: string[] }[] }) => ({
      Reservations: [{ Instances: (input.Filters[0]?.Values ?? []).map((id) => instance(id, 'running', tags(id))) }],
    }));
    ssm.on(DescribeInstanceInformationCommand).callsFake((input: { Filters: { Values: string[] }[] }) => ({
      InstanceInformationList: (input.Filters[0]?.Values ?? []).map((InstanceId) => ({
        InstanceId,
        PingStatus: 'Online',
      })),
    }));
    const r = await ec2Brokers(ctx(big));
    expect(ec2).toHaveReceivedCommandTimes(DescribeInstancesCommand, 6);
    expect(ssm).toHaveReceivedCommandTimes(DescribeInstanceInformationCommand, 21);
    expect(r).toHaveLength(1);
    expect(r[0]?.detail).toBe(
      'without tag kafka-heal:deployment=prod-us: i-00000000000000007, i-00000000000000017, i-00000000000000027, i-00000000000000037, i-00000000000000047 and 58 more',
    );
    expect(formatResult(r[0] as CheckResult).length).toBeLessThan(300);
  });

  it('FAIL naming the permission when refused', async () => {
    ec2.on(DescribeInstancesCommand).rejects(awsError('UnauthorizedOperation'));
    expect((await ec2Brokers(ctx(EC2)))[0]?.detail).toBe(
      'not allowed to call ec2:DescribeInstances (UnauthorizedOperation)',
    );
    listed(brokerIds.map((i) => instance(i)));
    ssm.on(DescribeInstanceInformationCommand).rejects(awsError('AccessDeniedException'));
    expect((await ec2Brokers(ctx(EC2)))[0]?.detail).toBe(
      'not allowed to call ssm:DescribeInstanceInformation (AccessDeniedException)',
    );
  });
});

describe('pagerduty secret', () => {
  const KEY = 'R0UT1NGKEYVALUE0123456789abcdef';
  it('PASS when it holds a key, plain or JSON, and never prints it', async () => {
    secrets.on(GetSecretValueCommand, { SecretId: 'kafka-heal/pagerduty' }).resolves({ SecretString: KEY });
    const plain = lines(await pagerDutySecret(ctx()));
    expect(plain).toBe('PASS  pagerduty secret kafka-heal/pagerduty: exists and holds a routing key');
    secrets.on(GetSecretValueCommand).resolves({ SecretString: JSON.stringify({ routingKey: KEY }) });
    expect(lines(await pagerDutySecret(ctx()))).toBe(plain);
  });

  it('FAIL when missing, empty or pending deletion', async () => {
    secrets.on(GetSecretValueCommand).rejects(awsError('ResourceNotFoundException'));
    const missing = await pagerDutySecret(ctx());
    expect(statuses(missing)).toEqual(['FAIL']);
    expect(missing[0]?.fix).toContain(
      "aws secretsmanager create-secret --name kafka-heal/pagerduty --secret-string '<routing key>' --region eu-west-1",
    );
    secrets.on(GetSecretValueCommand).resolves({ SecretString: JSON.stringify({ routingKey: '' }) });
    expect((await pagerDutySecret(ctx()))[0]?.detail).toBe(
      'exists but holds no routing key: pages would fail over to SNS',
    );
    secrets.on(GetSecretValueCommand).resolves({ SecretString: '  ' });
    expect(statuses(await pagerDutySecret(ctx()))).toEqual(['FAIL']);
    secrets
      .on(GetSecretValueCommand)
      .rejects(
        awsError(
          'InvalidRequestException',
          `You can't perform this operation on the secret because it was marked for deletion. ${KEY}`,
        ),
      );
    const pending = lines(await pagerDutySecret(ctx()));
    expect(pending).toContain('is scheduled for deletion');
    expect(pending).not.toContain(KEY);
  });

  it('FAIL naming the permission when refused', async () => {
    secrets.on(GetSecretValueCommand).rejects(awsError('AccessDeniedException'));
    expect((await pagerDutySecret(ctx()))[0]?.detail).toBe(
      'not allowed to call secretsmanager:GetSecretValue (AccessDeniedException)',
    );
  });
});

describe('route 53 record of a DR pair', () => {
  it('PASS when the record exists, asked once for the pair', async () => {
    route53.on(ListResourceRecordSetsCommand).resolves({
      ResourceRecordSets: [
        {
          Name: 'kafka.example.com.',
          Type: 'CNAME',
          TTL: 60,
          ResourceRecords: [{ Value: 'kafka-1.events.example.com' }],
        },
      ],
      IsTruncated: false,
      MaxItems: 10,
    });
    expect(lines(await drRecords(ctx(DR)))).toBe(
      'PASS  route 53 kafka.example.com: exists in zone Z0123456789ABCDEFGHIJ (CNAME kafka-1.events.example.com)',
    );
    expect(route53).toHaveReceivedCommandTimes(ListResourceRecordSetsCommand, 1);
    expect(await drRecords(ctx(MSK))).toEqual([]);
  });

  it('FAIL when the record or the zone is missing, or the call refused', async () => {
    route53
      .on(ListResourceRecordSetsCommand)
      .resolves({ ResourceRecordSets: [{ Name: 'kafkb.example.com.', Type: 'A' }], IsTruncated: false, MaxItems: 10 });
    expect((await drRecords(ctx(DR)))[0]?.detail).toBe(
      'no record in zone Z0123456789ABCDEFGHIJ: dr-failover would have nothing to move',
    );
    route53.on(ListResourceRecordSetsCommand).rejects(awsError('NoSuchHostedZone'));
    expect((await drRecords(ctx(DR)))[0]?.fix).toBe('check `clusters[0].dr.route53.hostedZoneId`');
    route53.on(ListResourceRecordSetsCommand).rejects(awsError('AccessDenied'));
    expect((await drRecords(ctx(DR)))[0]?.detail).toBe(
      'not allowed to call route53:ListResourceRecordSets (AccessDenied)',
    );
  });
});

describe('after deploy', () => {
  it('stack: PASS when complete, FAIL when absent or rolled back', async () => {
    cfn.on(DescribeStacksCommand).resolves({
      Stacks: [{ StackName: 'KafkaHeal-prod-eu', StackStatus: 'CREATE_COMPLETE', CreationTime: new Date() }],
    });
    expect(statuses(await deployedStack(ctx()))).toEqual(['PASS']);
    cfn.on(DescribeStacksCommand).resolves({
      Stacks: [{ StackName: 'KafkaHeal-prod-eu', StackStatus: 'UPDATE_ROLLBACK_COMPLETE', CreationTime: new Date() }],
    });
    expect(statuses(await deployedStack(ctx()))).toEqual(['FAIL']);
    noStack();
    expect((await deployedStack(ctx()))[0]?.fix).toBe(
      'npx cdk deploy KafkaHeal-prod-eu -c kafka-heal:configFiles=<this config>',
    );
  });

  it('ssm documents: PASS when all exist, FAIL naming the missing', async () => {
    ssm.on(DescribeDocumentCommand).resolves({ Document: {} });
    expect(lines(await ssmDocuments(ctx()))).toBe('PASS  ssm documents: all 2 exist');
    ssm.on(DescribeDocumentCommand, { Name: 'kafka-heal-prod-eu-diagnose-host' }).rejects(awsError('InvalidDocument'));
    expect((await ssmDocuments(ctx()))[0]?.detail).toBe('missing: kafka-heal-prod-eu-diagnose-host');
    ssm.on(DescribeDocumentCommand).rejects(awsError('AccessDeniedException'));
    expect((await ssmDocuments(ctx()))[0]?.detail).toBe(
      'not allowed to call ssm:DescribeDocument (AccessDeniedException)',
    );
  });

  const arn = (name: string) => `arn:aws:states:eu-west-1:123456789012:stateMachine:${name}`;
  const deployed = () => {
    sfn.on(ListStateMachinesCommand).resolves({
      stateMachines: PLAN.stateMachines.map((name) => ({
        name,
        stateMachineArn: arn(name),
        type: 'STANDARD',
        creationDate: new Date(),
      })),
    });
    for (const name of PLAN.stateMachines)
      sfn.on(DescribeStateMachineCommand, { stateMachineArn: arn(name) }).resolves({
        name,
        stateMachineArn: arn(name),
        status: 'ACTIVE',
        type: 'STANDARD',
        definition: `{"Comment":"${name}"}`,
        roleArn: 'r',
        creationDate: new Date(),
      });
  };

  it('state machines: PASS when each deployed definition validates, sending Step Functions the deployed text', async () => {
    deployed();
    sfn.on(ValidateStateMachineDefinitionCommand).resolves({ result: 'OK', diagnostics: [] });
    expect(statuses(await stateMachines(ctx()))).toEqual(['PASS', 'PASS']);
    expect(sfn).toHaveReceivedCommandWith(ValidateStateMachineDefinitionCommand, {
      definition: '{"Comment":"kafka-heal-prod-eu-msk-broker-recovery"}',
      type: 'STANDARD',
    });
  });

  it('state machines: FAIL when missing or invalid, WARN on warnings', async () => {
    deployed();
    sfn
      .on(ValidateStateMachineDefinitionCommand, { definition: '{"Comment":"kafka-heal-prod-eu-escalation"}' })
      .resolves({
        result: 'FAIL',
        diagnostics: [
          {
            severity: 'ERROR',
            code: 'SCHEMA_VALIDATION_FAILED',
            message: 'The field "Resource" is not supported',
            location: '/States/Notify',
          },
        ],
      });
    sfn
      .on(ValidateStateMachineDefinitionCommand, { definition: '{"Comment":"kafka-heal-prod-eu-msk-broker-recovery"}' })
      .resolves({
        result: 'OK',
        diagnostics: [
          { severity: 'WARNING', code: 'NO_DOLLAR', message: 'field looks like a path', location: '/States/A' },
        ],
      });
    const r = await stateMachines(ctx());
    expect(statuses(r)).toEqual(['FAIL', 'WARN']);
    expect(r[0]?.detail).toBe(
      'its definition does not validate: SCHEMA_VALIDATION_FAILED at /States/Notify: The field "Resource" is not supported',
    );
    sfn.on(ListStateMachinesCommand).resolves({ stateMachines: [] });
    expect((await stateMachines(ctx())).map(formatResult)[0]).toBe(
      'FAIL  state machine kafka-heal-prod-eu-escalation: does not exist (fix: npx cdk deploy KafkaHeal-prod-eu)',
    );
  });

  it('state machines: FAIL naming the permission when validation is refused', async () => {
    deployed();
    sfn.on(ValidateStateMachineDefinitionCommand).rejects(awsError('AccessDeniedException'));
    expect((await stateMachines(ctx()))[0]?.detail).toBe(
      'not allowed to call states:ValidateStateMachineDefinition (AccessDeniedException)',
    );
  });
});

describe('running the checks', () => {
  it('stops after a credentials FAIL without reading the stack', async () => {
    sts.on(GetCallerIdentityCommand).rejects(awsError('ExpiredToken'));
    const plan = vi.fn(() => PLAN);
    const out: string[] = [];
    const tally = await runChecks({ config: MSK, clients }, plan, [bootstrap], (l) => out.push(l));
    expect(tally).toEqual({ PASS: 0, WARN: 0, FAIL: 1 });
    expect(plan).not.toHaveBeenCalled();
    expect(out).toHaveLength(1);
  });

  it('turns a check that throws into a FAIL line', async () => {
    sts.on(GetCallerIdentityCommand).resolves({ Account: '123456789012', Arn: 'arn' });
    const out: string[] = [];
    const broken = async function broken(): Promise<CheckResult[]> {
      throw new TypeError('boom');
    };
    const tally = await runChecks(
      { config: MSK, clients },
      () => PLAN,
      [broken],
      (l) => out.push(l),
    );
    expect(tally.FAIL).toBe(1);
    expect(out[1]).toBe(
      'FAIL  broken: stopped unexpectedly: TypeError: boom (fix: run preflight again; report it if it persists)',
    );
  });
});

describe('kafka-heal preflight', () => {
  const command = makePreflightCommand({
    clients: () => clients,
    plan: () => PLAN,
    profileRegion: async () => undefined,
  });
  const run = async (...argv: string[]) => {
    const io = captureIO();
    const code = await main(['preflight', ...argv], io, [command]);
    return { code, out: io.out.join('\n').split('\n'), err: io.err.join('\n') };
  };
  const allPass = () => {
    sts
      .on(GetCallerIdentityCommand)
      .resolves({ Account: '123456789012', Arn: 'arn:aws:iam::123456789012:user/deployer' });
    ssm.on(GetParameterCommand).resolves({ Parameter: { Value: '30' } });
    apigw.on(GetAccountCommand).resolves({});
    noStack();
    sfn.on(ListStateMachinesCommand).resolves({ stateMachines: [] });
    ssm.on(DescribeDocumentCommand).rejects(awsError('InvalidDocument'));
    ssm.on(GetParametersCommand).resolves({ Parameters: [] });
    logs.on(DescribeLogGroupsCommand).resolves({ logGroups: [] });
    ddb.on(ListTablesCommand).resolves({ TableNames: [] });
    sqs.on(GetQueueUrlCommand).rejects(awsError('QueueDoesNotExist'));
    sns.on(GetTopicAttributesCommand).rejects(awsError('NotFoundException'));
    kafka.on(DescribeClusterCommand).resolves({
      ClusterInfo: {
        State: 'ACTIVE',
        NumberOfBrokerNodes: MSK.clusters[0]?.brokerCount,
        ClientAuthentication: IAM_ON,
      },
    });
    secrets.on(GetSecretValueCommand).resolves({ SecretString: 'key' });
  };

  it('before deploy: one line per finding as it completes, exit 0 when nothing FAILs', async () => {
    allPass();
    const r = await run('--config', 'examples/config/msk.yaml', '--deployment', 'prod-eu');
    expect(r.code).toBe(0);
    expect(r.out[0]).toBe(
      'preflight before deploy: deployment prod-eu, region eu-west-1, account 123456789012 (examples/config/msk.yaml)',
    );
    expect(r.out.slice(1, -1).map((l) => l.slice(0, 4))).toEqual(Array(r.out.length - 2).fill('PASS'));
    expect(r.out.at(-1)).toBe(
      `${r.out.length - 2} PASS, 0 WARN, 0 FAIL; next: npx cdk deploy KafkaHeal-prod-eu -c kafka-heal:configFiles=examples/config/msk.yaml`,
    );
  });

  it('exit 1 when a check FAILs; AWS text reaches the terminal without control characters', async () => {
    allPass();
    kafka.on(DescribeClusterCommand).rejects(awsError('InternalServerErrorException', 'bad \u001b[2J news'));
    const r = await run('--config', 'examples/config/msk.yaml');
    expect(r.code).toBe(1);
    const line = r.out.find((l) => l.startsWith('FAIL  msk orders'));
    expect(line).toContain('bad \\x1b[2J news');
    expect(r.out.at(-1)).toMatch(/, 1 FAIL; fix each FAIL and run preflight again$/);
  });

  it('--after-deploy runs the after-deploy checks', async () => {
    allPass();
    cfn.on(DescribeStacksCommand).resolves({
      Stacks: [{ StackName: 'KafkaHeal-prod-eu', StackStatus: 'CREATE_COMPLETE', CreationTime: new Date() }],
    });
    ssm.on(DescribeDocumentCommand).resolves({ Document: {} });
    const r = await run('--config', 'examples/config/msk.yaml', '--after-deploy');
    expect(r.code).toBe(1);
    expect(r.out[0]).toMatch(/^preflight after deploy:/);
    expect(r.out).toContain('PASS  stack KafkaHeal-prod-eu: CREATE_COMPLETE');
    expect(r.out).toContain(
      'FAIL  state machine kafka-heal-prod-eu-escalation: does not exist (fix: npx cdk deploy KafkaHeal-prod-eu)',
    );
  });

  it('exit 2 for bad input: no --config, an invalid file, another deployment', async () => {
    const none = await run();
    expect(none.code).toBe(2);
    expect(none.err).toBe('kafka-heal preflight: missing required flag --config');
    const invalid = await run('--config', 'no/such/file.yaml');
    expect(invalid.code).toBe(2);
    expect(invalid.err).toBe(
      'no/such/file.yaml: invalid configuration, 1 problem (kafka-heal config validate no/such/file.yaml):\ncannot read the configuration file: no such file',
    );
    const other = await run('--config', 'examples/config/msk.yaml', '--deployment', 'prod-us');
    expect(other.code).toBe(2);
    expect(other.err).toBe(
      'kafka-heal preflight: --deployment prod-us is not the deployment of examples/config/msk.yaml (prod-eu)',
    );
    expect(sts).toHaveReceivedCommandTimes(GetCallerIdentityCommand, 0);
  });
});

describe('the plan read from the synthesized stack', () => {
  it('names what the dr-pair stack creates and the bootstrap version it needs', () => {
    const plan = planFor(DR);
    expect(plan.stackName).toBe('KafkaHeal-events');
    expect(plan.description).toBe('kafka-heal events: self-healing for Apache Kafka (events, events-dr)');
    expect(plan.bootstrap).toEqual({ parameter: '/cdk-bootstrap/hnb659fds/version', minVersion: 6 });
    expect(plan.stateMachines).toEqual(
      expect.arrayContaining([
        'kafka-heal-events-escalation',
        'kafka-heal-events-broker-recovery',
        'kafka-heal-events-dr-failover',
      ]),
    );
    expect(plan.stateMachines.every((n) => n.startsWith('kafka-heal-events-'))).toBe(true);
    expect(plan.documents.length).toBeGreaterThan(0);
    expect(plan.documents.every((n) => n.startsWith('kafka-heal-events-'))).toBe(true);
    expect(plan.parameters).toEqual([
      '/kafka-heal/events/clusters/events/policy',
      '/kafka-heal/events/clusters/events-dr/policy',
    ]);
    expect(plan.createdSecrets).toEqual([]);
    expect(plan.queues).toEqual(expect.arrayContaining(['kafka-heal-events-notify-retry']));
    expect(plan.topics.length).toBeGreaterThan(0);
    expect([...plan.queues, ...plan.topics].every((n) => n.startsWith('kafka-heal-events-'))).toBe(true);
  });
});
