// The checks of `kafka-heal preflight`, each a small function of the config, the deployment's
// plan (plan.ts) and injected AWS SDK clients, answering PASS / WARN / FAIL lines. They only read:
// Get*, Describe*, List* and Step Functions' ValidateStateMachineDefinition, which checks a
// definition without creating anything. A refused or failed call is a FAIL line (result.ts).
import { APIGatewayClient, GetAccountCommand } from '@aws-sdk/client-api-gateway';
import { CloudFormationClient, DescribeStacksCommand, type Stack } from '@aws-sdk/client-cloudformation';
import { CloudWatchLogsClient, DescribeLogGroupsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { DynamoDBClient, ListTablesCommand, type ListTablesCommandOutput } from '@aws-sdk/client-dynamodb';
import { DescribeInstancesCommand, EC2Client, type Filter, type Instance } from '@aws-sdk/client-ec2';
import { GetRoleCommand, IAMClient } from '@aws-sdk/client-iam';
import { DescribeClusterCommand, KafkaClient, type ClusterInfo } from '@aws-sdk/client-kafka';
import { ListResourceRecordSetsCommand, Route53Client } from '@aws-sdk/client-route-53';
import { GetTopicAttributesCommand, SNSClient } from '@aws-sdk/client-sns';
import { GetQueueUrlCommand, SQSClient } from '@aws-sdk/client-sqs';
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
import type { Ec2ClusterConfig, HealerConfig, SecurityConfig } from '#infra/config/schema.js';
import { DEFAULT_BROKER_ID_TAG, DEPLOYMENT_TAG } from '#functions/workflow-steps/instances.js';
import { MAX_NAMED_INSTANCES } from '#infra/constructs/recovery-workflows.js';
import type { DeploymentPlan } from './plan.js';
import { awsFailure, errorName, fail, pass, warn, type CheckResult } from './result.js';

export interface PreflightClients {
  sts: STSClient;
  ssm: SSMClient;
  apiGateway: APIGatewayClient;
  cloudFormation: CloudFormationClient;
  logs: CloudWatchLogsClient;
  dynamodb: DynamoDBClient;
  secrets: SecretsManagerClient;
  sfn: SFNClient;
  kafka: KafkaClient;
  ec2: EC2Client;
  route53: Route53Client;
  sqs: SQSClient;
  sns: SNSClient;
  iam: IAMClient;
}

/** Clients for the config's region, with the default credential chain (AWS_PROFILE, SSO, environment). */
export function defaultClients(region: string): PreflightClients {
  const c = { region };
  return {
    sts: new STSClient(c),
    ssm: new SSMClient(c),
    apiGateway: new APIGatewayClient(c),
    cloudFormation: new CloudFormationClient(c),
    logs: new CloudWatchLogsClient(c),
    dynamodb: new DynamoDBClient(c),
    secrets: new SecretsManagerClient(c),
    sfn: new SFNClient(c),
    kafka: new KafkaClient(c),
    ec2: new EC2Client(c),
    // Route 53 is global; the SDK finds its endpoint from any region of the partition.
    route53: new Route53Client(c),
    sqs: new SQSClient(c),
    sns: new SNSClient(c),
    // IAM is global; the SDK finds its endpoint from any region of the partition.
    iam: new IAMClient(c),
  };
}

export interface PreflightContext {
  config: HealerConfig;
  plan: DeploymentPlan;
  clients: PreflightClients;
  /** The region the caller's profile or environment names, when it names one. */
  profileRegion?: string | undefined;
}

export type Check = (ctx: PreflightContext) => Promise<CheckResult[]>;

/** At most `n` items named, then how many more: a line stays readable at 1,000 brokers. */
export function some(items: string[], n = 5): string {
  return items.length <= n ? items.join(', ') : `${items.slice(0, n).join(', ')} and ${items.length - n} more`;
}

function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

// ---------------------------------------------------------------------------------------------
// Before deploy

/** Whose credentials these are, and whether account and region are the config's. */
export const credentials = async ({
  config,
  clients,
  profileRegion,
}: Omit<PreflightContext, 'plan'>): Promise<CheckResult[]> => {
  const check = 'credentials';
  let identity;
  try {
    identity = await clients.sts.send(new GetCallerIdentityCommand({}));
  } catch (err) {
    return [awsFailure(check, 'sts:GetCallerIdentity', err)];
  }
  const who = `${identity.Arn ?? 'unknown caller'} in account ${identity.Account ?? '?'}`;
  if (config.account !== undefined && identity.Account !== config.account) {
    return [
      fail(
        check,
        `${who}, but the config's account is ${config.account}: cdk deploy would refuse the stack's environment`,
        `use credentials of account ${config.account} (AWS_PROFILE=<profile of ${config.account}>), or change \`account\``,
      ),
    ];
  }
  const results = [pass(check, `${who}; the stack deploys to ${config.region} (config \`region\`)`)];
  if (profileRegion !== undefined && profileRegion !== config.region) {
    results.push(
      warn(
        'region',
        `your profile's region is ${profileRegion}, the config's is ${config.region}: cdk deploys to ${config.region}, but aws CLI commands you run without --region go to ${profileRegion}`,
        `export AWS_REGION=${config.region} while working on this deployment`,
      ),
    );
  }
  return results;
};

/** The CDK bootstrap stack of the region, at the version the app's assets need. */
export const bootstrap: Check = async ({ config, plan, clients }) => {
  const check = 'cdk bootstrap';
  const { parameter, minVersion } = plan.bootstrap;
  const fix = `npx cdk bootstrap aws://${config.account ?? '<account>'}/${config.region}`;
  let value: string | undefined;
  try {
    value = (await clients.ssm.send(new GetParameterCommand({ Name: parameter }))).Parameter?.Value;
  } catch (err) {
    if (errorName(err) === 'ParameterNotFound')
      return [fail(check, `${config.region} is not bootstrapped (no ${parameter})`, fix)];
    return [awsFailure(check, 'ssm:GetParameter', err)];
  }
  const version = Number(value);
  if (!Number.isInteger(version))
    return [fail(check, `${parameter} holds "${value ?? ''}", not a version number`, fix)];
  if (version < minVersion)
    return [fail(check, `bootstrap version ${version} in ${config.region}, the app needs at least ${minVersion}`, fix)];
  return [pass(check, `version ${version} in ${config.region} (${parameter}; the app needs ${minVersion} or later)`)];
};

/** Whether an IAM trust policy (URL-encoded JSON, as GetRole returns it) lets API Gateway assume the role. */
export function trustsApiGateway(encoded: string | undefined): boolean {
  if (!encoded) return false;
  let doc: unknown;
  try {
    doc = JSON.parse(decodeURIComponent(encoded));
  } catch {
    return false;
  }
  const statements = (doc as { Statement?: unknown }).Statement;
  const list = Array.isArray(statements) ? statements : [statements];
  return list.some((st) => {
    if (typeof st !== 'object' || st === null) return false;
    const { Effect, Action, Principal } = st as {
      Effect?: unknown;
      Action?: unknown;
      Principal?: { Service?: unknown } | string;
    };
    const actions = Array.isArray(Action) ? Action : [Action];
    const services =
      typeof Principal === 'object' && Principal !== null
        ? Array.isArray(Principal.Service)
          ? Principal.Service
          : [Principal.Service]
        : [];
    return (
      Effect === 'Allow' &&
      actions.some((a) => a === 'sts:AssumeRole' || a === 'sts:*' || a === '*') &&
      services.includes('apigateway.amazonaws.com')
    );
  });
}

/**
 * The role API Gateway's account setting names, when the config says it exists: the setting
 * outlives the role (a deleted stack or a cleaned-up role leaves the ARN behind), and a role API
 * Gateway may not assume fails every stage's logging as surely as no role.
 */
async function existingLoggingRole(check: string, arn: string, iam: IAMClient): Promise<CheckResult> {
  const name = arn.split('/').at(-1) ?? arn;
  const fix = `point the setting at a role API Gateway can assume (trust apigateway.amazonaws.com, policy AmazonAPIGatewayPushToCloudWatchLogs), or set \`apiGatewayCloudWatchRole: create\``;
  let trust: string | undefined;
  try {
    trust = (await iam.send(new GetRoleCommand({ RoleName: name }))).Role?.AssumeRolePolicyDocument;
  } catch (err) {
    if (errorName(err) === 'NoSuchEntityException' || errorName(err) === 'NoSuchEntity')
      return fail(
        check,
        `set to ${arn}, but that role does not exist (config: existing): the APIs' stages would fail to create`,
        fix,
      );
    return awsFailure(check, 'iam:GetRole', err);
  }
  return trustsApiGateway(trust)
    ? pass(check, `set to ${arn}, which API Gateway may assume (config: existing)`)
    : fail(
        check,
        `set to ${arn}, whose trust policy does not let apigateway.amazonaws.com assume it (config: existing): the APIs' stages would fail to create`,
        fix,
      );
}

/** API Gateway's account-level CloudWatch Logs role, as the config's `apiGatewayCloudWatchRole` expects it. */
export const apiGatewayLogging: Check = async ({ config, clients }) => {
  const check = 'api gateway logging role';
  let role: string | undefined;
  try {
    role = (await clients.apiGateway.send(new GetAccountCommand({}))).cloudwatchRoleArn;
  } catch (err) {
    return [awsFailure(check, 'apigateway:GET on /account', err)];
  }
  const set = role !== undefined && role !== '';
  const current = role ?? '';
  if (config.apiGatewayCloudWatchRole === 'existing') {
    return set
      ? [await existingLoggingRole(check, current, clients.iam)]
      : [
          fail(
            check,
            `not set in ${config.region}, and the config says it exists (apiGatewayCloudWatchRole: existing): the APIs' stages would fail to create`,
            `set \`apiGatewayCloudWatchRole: create\`, or aws apigateway update-account --patch-operations op=replace,path=/cloudwatchRoleArn,value=<role arn> --region ${config.region}`,
          ),
        ];
  }
  return set && !current.includes(':role/KafkaHeal-')
    ? [
        warn(
          check,
          `already set to ${role}; with apiGatewayCloudWatchRole: create the stack points this region-wide setting at its own role (any working role serves every API)`,
          'set `apiGatewayCloudWatchRole: existing` to leave the setting as it is',
        ),
      ]
    : [pass(check, set ? `set to ${role} (config: create)` : `not set yet; the stack sets it (config: create)`)];
};

const STACK_BLOCKED: Record<string, string> = {
  ROLLBACK_COMPLETE: 'a first create that rolled back: it can only be deleted',
  ROLLBACK_FAILED: 'a first create whose rollback failed',
  DELETE_FAILED: 'a delete that failed',
  UPDATE_ROLLBACK_FAILED: 'an update whose rollback failed',
};

/** The deployment's stack as CloudFormation has it, or undefined when there is none. */
export async function describeStack(clients: PreflightClients, stackName: string): Promise<Stack | undefined> {
  try {
    return (await clients.cloudFormation.send(new DescribeStacksCommand({ StackName: stackName }))).Stacks?.[0];
  } catch (err) {
    if (errorName(err) === 'ValidationError' && /does not exist/.test((err as Error).message)) return undefined;
    throw err;
  }
}

/** The stack itself: absent, an update of this deployment, another config's, or stuck. */
export const stack: Check = async ({ plan, clients }) => {
  const check = `stack ${plan.stackName}`;
  let found: Stack | undefined;
  try {
    found = await describeStack(clients, plan.stackName);
  } catch (err) {
    return [awsFailure(check, 'cloudformation:DescribeStacks', err)];
  }
  if (found === undefined) return [pass(check, 'does not exist yet; cdk deploy creates it')];
  const status = found.StackStatus ?? 'UNKNOWN';
  const blocked = STACK_BLOCKED[status];
  if (blocked !== undefined) {
    return [
      fail(
        check,
        `is ${status} (${blocked}); a deploy cannot proceed`,
        `read its events (aws cloudformation describe-stack-events --stack-name ${plan.stackName}), then aws cloudformation delete-stack --stack-name ${plan.stackName}`,
      ),
    ];
  }
  if (status.endsWith('_IN_PROGRESS'))
    return [
      fail(
        check,
        `is ${status}: another operation is running`,
        `wait for it: aws cloudformation wait stack-update-complete --stack-name ${plan.stackName} (or stack-create-complete)`,
      ),
    ];
  if ((found.Description ?? '') !== plan.description) {
    return [
      warn(
        check,
        `exists (${status}) for other clusters: "${found.Description ?? ''}"; deploying this file makes it "${plan.description}"`,
        'if that stack belongs to another config file, give this one another `deployment` name; if you changed the clusters on purpose, go on',
      ),
    ];
  }
  return [pass(check, `exists (${status}) for the same clusters; cdk deploy updates it`)];
};

/**
 * Names the stack creates that the account already holds, outside any stack of this deployment:
 * left behind by a destroy or made by hand, each makes the create fail with "already exists".
 * Only asked when the stack does not exist (its own resources carry these names otherwise).
 */
export const nameCollisions: Check = async ({ config, plan, clients }) => {
  const check = 'names';
  try {
    if ((await describeStack(clients, plan.stackName)) !== undefined)
      return [pass(check, `the names the stack uses belong to ${plan.stackName}`)];
  } catch (err) {
    return [awsFailure(check, 'cloudformation:DescribeStacks', err)];
  }
  const results: CheckResult[] = [];
  const taken = async (
    label: string,
    action: string,
    find: () => Promise<string[]>,
    fix: (names: string[]) => string,
  ): Promise<void> => {
    try {
      const found = await find();
      results.push(
        found.length === 0
          ? pass(`${check}: ${label}`, "none of the stack's names is taken")
          : fail(`${check}: ${label}`, `already taken: ${some(found)}`, fix(found)),
      );
    } catch (err) {
      results.push(awsFailure(`${check}: ${label}`, action, err));
    }
  };
  const other = 'or give this config another `deployment` name';
  await taken(
    'state machines',
    'states:ListStateMachines',
    async () => {
      const wanted = new Set(plan.stateMachines);
      const found: string[] = [];
      let nextToken: string | undefined;
      do {
        const page = await clients.sfn.send(new ListStateMachinesCommand({ nextToken }));
        for (const sm of page.stateMachines ?? [])
          if (sm.name !== undefined && wanted.has(sm.name)) found.push(sm.name);
        nextToken = page.nextToken;
      } while (nextToken);
      return found;
    },
    (names) => `aws stepfunctions delete-state-machine --state-machine-arn <arn of ${names[0]}> for each, ${other}`,
  );
  await taken(
    'ssm documents',
    'ssm:DescribeDocument',
    async () => {
      const found: string[] = [];
      for (const name of plan.documents) {
        try {
          await clients.ssm.send(new DescribeDocumentCommand({ Name: name }));
          found.push(name);
        } catch (err) {
          if (errorName(err) !== 'InvalidDocument') throw err;
        }
      }
      return found;
    },
    (names) => `aws ssm delete-document --name ${names[0]} for each, ${other}`,
  );
  await taken(
    'ssm parameters',
    'ssm:GetParameters',
    async () => {
      const found: string[] = [];
      for (const batch of chunks(plan.parameters, 10)) {
        const r = await clients.ssm.send(new GetParametersCommand({ Names: batch }));
        for (const p of r.Parameters ?? []) if (p.Name !== undefined) found.push(p.Name);
      }
      return found;
    },
    (names) =>
      `aws ssm delete-parameter --name ${names[0]} for each (copy the policy first if you want it back), ${other}`,
  );
  if (plan.queues.length > 0) {
    await taken(
      'sqs queues',
      'sqs:GetQueueUrl',
      async () => {
        const found: string[] = [];
        for (const name of plan.queues) {
          try {
            await clients.sqs.send(new GetQueueUrlCommand({ QueueName: name }));
            found.push(name);
          } catch (err) {
            if (!/NonExistentQueue|QueueDoesNotExist/.test(errorName(err))) throw err;
          }
        }
        return found;
      },
      (names) =>
        `aws sqs delete-queue --queue-url $(aws sqs get-queue-url --queue-name ${names[0]} --query QueueUrl --output text) for each (SQS frees a deleted queue's name after 60 s), ${other}`,
    );
  }
  if (plan.topics.length > 0) {
    await taken(
      'sns topics',
      'sns:GetTopicAttributes',
      async () => {
        // A topic ARN is partition, region, account and name: the account is the caller's.
        const caller = await clients.sts.send(new GetCallerIdentityCommand({}));
        const partition = caller.Arn?.split(':')[1] ?? 'aws';
        const found: string[] = [];
        for (const name of plan.topics) {
          try {
            await clients.sns.send(
              new GetTopicAttributesCommand({
                TopicArn: `arn:${partition}:sns:${config.region}:${caller.Account ?? ''}:${name}`,
              }),
            );
            found.push(name);
          } catch (err) {
            if (errorName(err) !== 'NotFoundException' && errorName(err) !== 'NotFound') throw err;
          }
        }
        return found;
      },
      (names) =>
        `aws sns delete-topic --topic-arn arn:aws:sns:${config.region}:<account>:${names[0]} for each (its subscriptions go with it), ${other}`,
    );
  }
  for (const secret of plan.createdSecrets) {
    const label = `secret ${secret.name}`;
    try {
      const s = await clients.secrets.send(new DescribeSecretCommand({ SecretId: secret.name }));
      results.push(
        s.DeletedDate !== undefined
          ? fail(
              `${check}: ${label}`,
              `is scheduled for deletion on ${s.DeletedDate.toISOString()} and blocks the name until then (\`${secret.field}\`)`,
              `aws secretsmanager restore-secret --secret-id ${secret.name} && aws secretsmanager delete-secret --secret-id ${secret.name} --force-delete-without-recovery, or leave \`${secret.field}\` out (a generated name never collides)`,
            )
          : fail(
              `${check}: ${label}`,
              `already exists (\`${secret.field}\`); the stack creates it`,
              `aws secretsmanager delete-secret --secret-id ${secret.name} --force-delete-without-recovery, or leave \`${secret.field}\` out (a generated name never collides)`,
            ),
      );
    } catch (err) {
      results.push(
        errorName(err) === 'ResourceNotFoundException'
          ? pass(`${check}: ${label}`, 'free')
          : awsFailure(`${check}: ${label}`, 'secretsmanager:DescribeSecret', err),
      );
    }
  }
  results.push(...(await leftBehind({ config, plan, clients })));
  return results;
};

/**
 * What a destroyed stack of this deployment kept (log groups, the incident table): it blocks no
 * redeploy (their names are generated per stack) but still costs and holds the record.
 */
export const leftBehind: Check = async ({ plan, clients }) => {
  const check = 'kept from an earlier stack';
  const found: string[] = [];
  try {
    for (const prefix of plan.logGroupPrefixes) {
      let nextToken: string | undefined;
      do {
        const page = await clients.logs.send(new DescribeLogGroupsCommand({ logGroupNamePrefix: prefix, nextToken }));
        for (const g of page.logGroups ?? []) if (g.logGroupName !== undefined) found.push(g.logGroupName);
        nextToken = page.nextToken;
      } while (nextToken);
    }
  } catch (err) {
    return [awsFailure(check, 'logs:DescribeLogGroups', err)];
  }
  const tables: string[] = [];
  try {
    // Table names sort: start listing just before the prefix, stop at the first name past it.
    let start: string | undefined = plan.tablePrefix;
    for (;;) {
      const page: ListTablesCommandOutput = await clients.dynamodb.send(
        new ListTablesCommand({ ExclusiveStartTableName: start }),
      );
      const names = page.TableNames ?? [];
      tables.push(...names.filter((n) => n.startsWith(plan.tablePrefix)));
      if (page.LastEvaluatedTableName === undefined || names.some((n) => !n.startsWith(plan.tablePrefix))) break;
      start = page.LastEvaluatedTableName;
    }
  } catch (err) {
    return [awsFailure(check, 'dynamodb:ListTables', err)];
  }
  if (found.length === 0 && tables.length === 0)
    return [pass(check, 'no log group or incident table of an earlier stack of this deployment')];
  const what = [
    tables.length > 0 ? `incident table ${some(tables)}` : '',
    found.length > 0 ? `${found.length} log group${found.length === 1 ? '' : 's'} (${some(found, 3)})` : '',
  ]
    .filter((s) => s !== '')
    .join('; ');
  const remove = [
    found.length > 0 ? 'aws logs delete-log-group --log-group-name <name>' : '',
    tables.length > 0
      ? 'aws dynamodb update-table --table-name <name> --no-deletion-protection-enabled, then delete-table'
      : '',
  ]
    .filter((x) => x !== '')
    .join('; ');
  return [
    warn(
      check,
      `${what}: retained on destroy as the audit record, they block no deploy (the new stack's names differ)`,
      `keep them, or delete them when no longer needed (${remove})`,
    ),
  ];
};

const MSK_TRANSIENT = new Set(['UPDATING', 'MAINTENANCE', 'REBOOTING_BROKER', 'HEALING', 'CREATING']);

/**
 * Why the config's security block cannot connect to this MSK cluster, by what DescribeCluster says
 * is enabled (client authentication and client-broker encryption); undefined when it can.
 */
export function mskAuthMismatch(security: SecurityConfig, info: ClusterInfo | undefined): string | undefined {
  const auth = info?.ClientAuthentication;
  const inTransit = info?.EncryptionInfo?.EncryptionInTransit?.ClientBroker ?? 'TLS';
  const tls = security.protocol === 'SSL' || security.protocol === 'SASL_SSL';
  if (tls && inTransit === 'PLAINTEXT')
    return `security.protocol is ${security.protocol} while the cluster's client-broker encryption is PLAINTEXT`;
  if (!tls && inTransit === 'TLS')
    return `security.protocol is ${security.protocol} while the cluster accepts TLS only`;
  if (security.mechanism === 'AWS_MSK_IAM' && auth?.Sasl?.Iam?.Enabled !== true)
    return 'security.mechanism is AWS_MSK_IAM while IAM client authentication is not enabled';
  if (security.mechanism?.startsWith('SCRAM-') === true && auth?.Sasl?.Scram?.Enabled !== true)
    return `security.mechanism is ${security.mechanism} while SASL/SCRAM client authentication is not enabled`;
  if (
    security.tls?.clientCertificateSecret !== undefined &&
    auth?.Tls?.Enabled !== true &&
    (auth?.Tls?.CertificateAuthorityArnList ?? []).length === 0
  ) {
    return 'security.tls.clientCertificateSecret is set while TLS client authentication (mTLS) is not enabled';
  }
  return undefined;
}

/** Every MSK cluster of the config exists, is ACTIVE, has the brokers the config counts and per-broker metrics. */
export const mskClusters: Check = async ({ config, clients }) => {
  const results: CheckResult[] = [];
  for (const [i, cluster] of config.clusters.entries()) {
    if (cluster.platform !== 'msk') continue;
    const check = `msk ${cluster.name}`;
    try {
      const info = (await clients.kafka.send(new DescribeClusterCommand({ ClusterArn: cluster.msk.clusterArn })))
        .ClusterInfo;
      const state = info?.State ?? 'UNKNOWN';
      const brokers = info?.NumberOfBrokerNodes;
      if (state !== 'ACTIVE') {
        const detail = `is ${state}, not ACTIVE`;
        results.push(
          MSK_TRANSIENT.has(state)
            ? warn(
                check,
                `${detail}: the workflows wait or escalate until it is`,
                'run preflight again once the operation has finished',
              )
            : fail(
                check,
                detail,
                `check \`clusters[${i}].msk.clusterArn\` (aws kafka describe-cluster --cluster-arn ${cluster.msk.clusterArn})`,
              ),
        );
      } else if (brokers !== undefined && brokers !== cluster.brokerCount) {
        results.push(
          fail(
            check,
            `ACTIVE with ${brokers} brokers, the config says ${cluster.brokerCount}: the blast-radius and quorum rules would count wrong`,
            `set \`clusters[${i}].brokerCount\` to ${brokers}`,
          ),
        );
      } else if (mskAuthMismatch(cluster.security, info) !== undefined) {
        results.push(
          fail(
            check,
            `ACTIVE, but ${mskAuthMismatch(cluster.security, info)}: every probe would fail to connect and page access-failure`,
            `set \`clusters[${i}].security\` to a listener the cluster has enabled, or enable it (aws kafka update-security --cluster-arn ${cluster.msk.clusterArn} ...)`,
          ),
        );
      } else if (info?.EnhancedMonitoring === 'DEFAULT') {
        results.push(
          fail(
            check,
            'ACTIVE with enhanced monitoring DEFAULT: the per-broker AWS/Kafka metrics the alarms read do not exist',
            `aws kafka update-monitoring --cluster-arn ${cluster.msk.clusterArn} --current-version <version> --enhanced-monitoring PER_BROKER`,
          ),
        );
      } else {
        results.push(
          pass(
            check,
            `ACTIVE${brokers === undefined ? '' : `, ${brokers} brokers`}, monitoring ${info?.EnhancedMonitoring ?? 'unknown'} (${cluster.msk.clusterArn})`,
          ),
        );
      }
    } catch (err) {
      results.push(
        errorName(err) === 'NotFoundException'
          ? fail(
              check,
              `no cluster ${cluster.msk.clusterArn} in ${config.region}`,
              `check \`clusters[${i}].msk.clusterArn\` (aws kafka list-clusters-v2 --region ${config.region})`,
            )
          : awsFailure(check, 'kafka:DescribeCluster', err),
      );
    }
  }
  return results;
};

async function describeInstances(ec2: EC2Client, filters: Filter[]): Promise<Instance[]> {
  const out: Instance[] = [];
  let NextToken: string | undefined;
  do {
    const page = await ec2.send(new DescribeInstancesCommand({ Filters: filters, NextToken, MaxResults: 1000 }));
    for (const r of page.Reservations ?? []) out.push(...(r.Instances ?? []));
    NextToken = page.NextToken;
  } while (NextToken);
  return out;
}

/** Instances by id, as a filter (an unknown id is simply absent, not an error for the whole call), 200 ids a call. */
async function byId(ec2: EC2Client, ids: string[]): Promise<Instance[]> {
  const out: Instance[] = [];
  for (const batch of chunks(ids, 200))
    out.push(...(await describeInstances(ec2, [{ Name: 'instance-id', Values: batch }])));
  return out;
}

async function onlineInSsm(ssm: SSMClient, ids: string[]): Promise<Set<string>> {
  const online = new Set<string>();
  for (const batch of chunks(ids, 50)) {
    let NextToken: string | undefined;
    do {
      const page = await ssm.send(
        new DescribeInstanceInformationCommand({
          Filters: [{ Key: 'InstanceIds', Values: batch }],
          NextToken,
          MaxResults: 50,
        }),
      );
      for (const info of page.InstanceInformationList ?? [])
        if (info.InstanceId !== undefined && info.PingStatus === 'Online') online.add(info.InstanceId);
      NextToken = page.NextToken;
    } while (NextToken);
  }
  return online;
}

const tagOf = (instance: Instance, key: string) => instance.Tags?.find((t) => t.Key === key)?.Value;

/** One EC2 cluster's hosts: found, running, online in SSM, tagged as the workflows need. */
async function ec2Cluster(
  config: HealerConfig,
  cluster: Ec2ClusterConfig,
  i: number,
  clients: PreflightClients,
  largeDeployment: boolean,
): Promise<CheckResult> {
  const check = `ec2 ${cluster.name}`;
  const ec2 = cluster.ec2;
  const zk = ec2.zookeeper?.instanceIds ?? [];
  let step = 'ec2:DescribeInstances';
  try {
    const listed = ec2.brokers?.map((b) => b.instanceId) ?? [];
    const instances = ec2.brokerTag
      ? await describeInstances(clients.ec2, [{ Name: `tag:${ec2.brokerTag.key}`, Values: [ec2.brokerTag.value] }])
      : await byId(clients.ec2, listed);
    const zkInstances = await byId(clients.ec2, zk);
    const all = [...instances, ...zkInstances].filter((x) => x.State?.Name !== 'terminated');
    const seen = new Set(all.map((x) => x.InstanceId));
    const problems: string[] = [];
    const fixes: string[] = [];
    if (ec2.brokerTag) {
      const tag = `${ec2.brokerTag.key}=${ec2.brokerTag.value}`;
      const brokers = instances.filter((x) => x.State?.Name !== 'terminated');
      if (brokers.length !== cluster.brokerCount) {
        problems.push(`${brokers.length} instances tagged ${tag}, the config counts ${cluster.brokerCount}`);
        fixes.push(`tag every broker ${tag} or set \`clusters[${i}].brokerCount\``);
      }
      const idKey = ec2.brokerTag.brokerIdKey ?? DEFAULT_BROKER_ID_TAG;
      const noId = brokers.filter((x) => !/^\d+$/.test(tagOf(x, idKey) ?? '')).map((x) => x.InstanceId ?? '?');
      if (noId.length > 0) {
        problems.push(`no broker id in tag ${idKey} on ${some(noId)}`);
        fixes.push(`tag each broker ${idKey}=<its broker.id>`);
      }
    }
    const missing = [...listed, ...zk].filter((id) => !seen.has(id));
    if (missing.length > 0) {
      problems.push(`not found: ${some(missing)}`);
      fixes.push(`check \`clusters[${i}].ec2\` instance ids`);
    }
    // The workflows act on tag-found brokers, and on every host of a large deployment, by this tag only.
    if (ec2.brokerTag || largeDeployment) {
      const untagged = all
        .filter((x) => tagOf(x, DEPLOYMENT_TAG) !== config.deployment)
        .map((x) => x.InstanceId ?? '?');
      if (untagged.length > 0) {
        problems.push(`without tag ${DEPLOYMENT_TAG}=${config.deployment}: ${some(untagged)}`);
        fixes.push(`aws ec2 create-tags --resources <ids> --tags Key=${DEPLOYMENT_TAG},Value=${config.deployment}`);
      }
    }
    const stopped = all
      .filter((x) => x.State?.Name !== 'running')
      .map((x) => `${x.InstanceId ?? '?'} (${x.State?.Name ?? 'unknown'})`);
    if (stopped.length > 0) {
      problems.push(`not running: ${some(stopped)}`);
      fixes.push('start them or correct the config');
    }
    step = 'ssm:DescribeInstanceInformation';
    const running = all.filter((x) => x.State?.Name === 'running').map((x) => x.InstanceId as string);
    const online = await onlineInSsm(clients.ssm, running);
    const offline = running.filter((id) => !online.has(id));
    if (offline.length > 0) {
      problems.push(`not online in SSM (SendCommand cannot reach them): ${some(offline)}`);
      fixes.push('run the SSM agent with an instance profile that has AmazonSSMManagedInstanceCore');
    }
    const hosts = `${instances.length} broker${zkInstances.length > 0 ? ` and ${zkInstances.length} ZooKeeper` : ''} host${all.length === 1 ? '' : 's'}`;
    return problems.length === 0
      ? pass(check, `${hosts} found, running and online in SSM`)
      : fail(check, problems.join('; '), fixes.join('; '));
  } catch (err) {
    return awsFailure(check, step, err);
  }
}

/** Every EC2 broker (and ZooKeeper host), by instance id or by tag. */
export const ec2Brokers: Check = async ({ config, clients }) => {
  const listed = config.clusters.flatMap((c) =>
    c.platform === 'ec2'
      ? [...(c.ec2.brokers ?? []).map((b) => b.instanceId), ...(c.ec2.zookeeper?.instanceIds ?? [])]
      : [],
  );
  const large = new Set(listed).size > MAX_NAMED_INSTANCES;
  const results: CheckResult[] = [];
  for (const [i, cluster] of config.clusters.entries())
    if (cluster.platform === 'ec2') results.push(await ec2Cluster(config, cluster, i, clients, large));
  return results;
};

/** The PagerDuty routing key secret exists and holds a value (never printed). */
export const pagerDutySecret: Check = async ({ config, clients }) => {
  const name = config.notifications.pagerDutyRoutingKeySecretName;
  const check = `pagerduty secret ${name}`;
  const create = `aws secretsmanager create-secret --name ${name} --secret-string '<routing key>' --region ${config.region}`;
  try {
    const s = await clients.secrets.send(new GetSecretValueCommand({ SecretId: name }));
    let value = s.SecretString ?? (s.SecretBinary ? Buffer.from(s.SecretBinary).toString('utf8') : '');
    try {
      const parsed: unknown = JSON.parse(value);
      if (typeof parsed === 'object' && parsed !== null && 'routingKey' in parsed)
        value = String((parsed as { routingKey: unknown }).routingKey ?? '');
    } catch {
      // the plain key
    }
    return value.trim() === ''
      ? [
          fail(
            check,
            'exists but holds no routing key: pages would fail over to SNS',
            `aws secretsmanager put-secret-value --secret-id ${name} --secret-string '<routing key>'`,
          ),
        ]
      : [pass(check, 'exists and holds a routing key')];
  } catch (err) {
    const n = errorName(err);
    if (n === 'ResourceNotFoundException')
      return [
        fail(
          check,
          `no such secret in ${config.region}: nobody would be paged through PagerDuty`,
          `${create} (or set \`notifications.pagerDutyRoutingKeySecretName\`)`,
        ),
      ];
    if (n === 'InvalidRequestException')
      return [fail(check, 'is scheduled for deletion', `aws secretsmanager restore-secret --secret-id ${name}`)];
    return [awsFailure(check, 'secretsmanager:GetSecretValue', err)];
  }
};

/** The Route 53 record each DR pair moves exists (the failover changes it, it does not create it). */
export const drRecords: Check = async ({ config, clients }) => {
  const results: CheckResult[] = [];
  const seen = new Set<string>();
  for (const [i, cluster] of config.clusters.entries()) {
    const r = cluster.dr?.route53;
    if (r === undefined) continue;
    const fqdn = `${r.recordName.toLowerCase().replace(/\.$/, '')}.`;
    if (seen.has(`${r.hostedZoneId} ${fqdn}`)) continue;
    seen.add(`${r.hostedZoneId} ${fqdn}`);
    const check = `route 53 ${fqdn.slice(0, -1)}`;
    try {
      const page = await clients.route53.send(
        new ListResourceRecordSetsCommand({ HostedZoneId: r.hostedZoneId, StartRecordName: fqdn, MaxItems: 10 }),
      );
      const records = (page.ResourceRecordSets ?? []).filter(
        (s) => s.Name?.toLowerCase() === fqdn && s.Type !== 'NS' && s.Type !== 'SOA',
      );
      results.push(
        records.length === 0
          ? fail(
              check,
              `no record in zone ${r.hostedZoneId}: dr-failover would have nothing to move`,
              `create it pointing at the primary's bootstrap (\`clusters[${i}].dr.route53.recordName\`)`,
            )
          : pass(
              check,
              `exists in zone ${r.hostedZoneId} (${some(
                records.map((s) =>
                  `${s.Type ?? '?'} ${(s.ResourceRecords ?? []).map((v) => v.Value).join(' ') || s.AliasTarget?.DNSName || ''}`.trim(),
                ),
                2,
              )})`,
            ),
      );
    } catch (err) {
      results.push(
        errorName(err) === 'NoSuchHostedZone'
          ? fail(check, `no hosted zone ${r.hostedZoneId}`, `check \`clusters[${i}].dr.route53.hostedZoneId\``)
          : awsFailure(check, 'route53:ListResourceRecordSets', err),
      );
    }
  }
  return results;
};

// ---------------------------------------------------------------------------------------------
// After deploy

/** The stack is deployed and complete. */
export const deployedStack: Check = async ({ plan, clients }) => {
  const check = `stack ${plan.stackName}`;
  try {
    const s = await describeStack(clients, plan.stackName);
    if (s === undefined)
      return [
        fail(check, 'does not exist', `npx cdk deploy ${plan.stackName} -c kafka-heal:configFiles=<this config>`),
      ];
    const status = s.StackStatus ?? 'UNKNOWN';
    return status === 'CREATE_COMPLETE' || status === 'UPDATE_COMPLETE'
      ? [pass(check, status)]
      : [
          fail(
            check,
            `is ${status}`,
            `read its events: aws cloudformation describe-stack-events --stack-name ${plan.stackName}`,
          ),
        ];
  } catch (err) {
    return [awsFailure(check, 'cloudformation:DescribeStacks', err)];
  }
};

/** Every SSM document the workflows run exists. */
export const ssmDocuments: Check = async ({ plan, clients }) => {
  const check = 'ssm documents';
  const missing: string[] = [];
  try {
    for (const name of plan.documents) {
      try {
        await clients.ssm.send(new DescribeDocumentCommand({ Name: name }));
      } catch (err) {
        if (errorName(err) !== 'InvalidDocument') throw err;
        missing.push(name);
      }
    }
  } catch (err) {
    return [awsFailure(check, 'ssm:DescribeDocument', err)];
  }
  return missing.length === 0
    ? [pass(check, `all ${plan.documents.length} exist`)]
    : [fail(check, `missing: ${some(missing)}`, `npx cdk deploy ${plan.stackName} (the stack creates them)`)];
};

/** Every state machine exists, and its deployed definition passes Step Functions' own validator. */
export const stateMachines: Check = async ({ plan, clients }) => {
  const results: CheckResult[] = [];
  const arns = new Map<string, string>();
  try {
    let nextToken: string | undefined;
    do {
      const page = await clients.sfn.send(new ListStateMachinesCommand({ nextToken }));
      for (const sm of page.stateMachines ?? [])
        if (sm.name !== undefined && sm.stateMachineArn !== undefined) arns.set(sm.name, sm.stateMachineArn);
      nextToken = page.nextToken;
    } while (nextToken);
  } catch (err) {
    return [awsFailure('state machines', 'states:ListStateMachines', err)];
  }
  for (const name of plan.stateMachines) {
    const check = `state machine ${name}`;
    const arn = arns.get(name);
    if (arn === undefined) {
      results.push(fail(check, 'does not exist', `npx cdk deploy ${plan.stackName}`));
      continue;
    }
    let step = 'states:DescribeStateMachine';
    try {
      const described = await clients.sfn.send(new DescribeStateMachineCommand({ stateMachineArn: arn }));
      step = 'states:ValidateStateMachineDefinition';
      const v = await clients.sfn.send(
        new ValidateStateMachineDefinitionCommand({
          definition: described.definition ?? '',
          type: described.type ?? 'STANDARD',
        }),
      );
      const diagnostics = v.diagnostics ?? [];
      const text = (severity: string) =>
        diagnostics
          .filter((d) => d.severity === severity)
          .map((d) => `${d.code ?? ''} at ${d.location ?? '/'}: ${d.message ?? ''}`);
      if (v.result !== 'OK' || text('ERROR').length > 0)
        results.push(
          fail(
            check,
            `its definition does not validate: ${some(text('ERROR'), 3)}`,
            `fix statemachines/*.asl.json and npx cdk deploy ${plan.stackName}`,
          ),
        );
      else if (text('WARNING').length > 0)
        results.push(
          warn(
            check,
            `exists, validates with warnings: ${some(text('WARNING'), 3)}`,
            'read the warnings against statemachines/*.asl.json',
          ),
        );
      else results.push(pass(check, `${described.status ?? 'exists'}, definition validated by Step Functions`));
    } catch (err) {
      results.push(awsFailure(check, step, err));
    }
  }
  return results;
};

/** The checks before a deploy, in the order a failure is worth fixing. */
export const BEFORE_DEPLOY: Check[] = [
  bootstrap,
  apiGatewayLogging,
  stack,
  nameCollisions,
  mskClusters,
  ec2Brokers,
  pagerDutySecret,
  drRecords,
];

/** The checks after a deploy. */
export const AFTER_DEPLOY: Check[] = [
  deployedStack,
  ssmDocuments,
  stateMachines,
  pagerDutySecret,
  drRecords,
  mskClusters,
  ec2Brokers,
];
