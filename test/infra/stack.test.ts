// CDK assertions on the synthesized healer stacks, one per example config. The app is
// synthesized ONCE for the whole file (beforeAll), with the cdk-nag AwsSolutions pack as a
// validation plugin, exactly as `cdk synth` does; Lambda bundling is skipped through CDK's own
// `aws:cdk:bundling-stacks` context (test/infra/bundling.test.ts bundles for real).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Stack, Validations } from 'aws-cdk-lib';
import type { Template } from 'aws-cdk-lib/assertions';
import { Match } from 'aws-cdk-lib/assertions';
import { Subnet } from 'aws-cdk-lib/aws-ec2';
import { Queue } from 'aws-cdk-lib/aws-sqs';
import { AwsSolutionsChecks } from 'cdk-nag';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alertRouting, clusterFacts, zookeeperConnect, type HealerConfig } from '#infra/config/schema.js';
import { ensembleReport } from '#shared/zookeeper.js';
import { synthesizeExampleStacks, type ExampleStacks } from './example-stacks.js';
import { alarmNamePrefix, clusterAlarmSpecs } from '#infra/constructs/alarms.js';
import { selfAlarmPrefix } from '#infra/constructs/self-monitoring.js';
import { probeRunsMetric, probeSeriesOfAlarms } from '#infra/constructs/alarm-specs.js';
import { dashboardProbeSeries } from '#infra/constructs/dashboard.js';
import { probeMetricDocuments, selectSeries, seriesKey } from '#functions/probe/metrics.js';
import type { ClusterSnapshot } from '#domain/snapshot.js';

type Resources = Record<string, { Type: string; Properties?: Record<string, unknown> }>;

/** The Violations of a cloud assembly's validation report (cdk-nag 3 writes its findings there). */
interface ValidationReport {
  pluginReports: {
    pluginName: string;
    violations: { ruleName: string; severity: string; violatingConstructs: { constructPath: string }[] }[];
  }[];
}

function readReport(dir: string): ValidationReport {
  return JSON.parse(readFileSync(join(dir, 'validation-report.json'), 'utf8')) as ValidationReport;
}

let ex: ExampleStacks;

beforeAll(() => {
  ex = synthesizeExampleStacks('kh-stack-test-');
}, 240_000);

afterAll(() => ex?.cleanup());

function template(deployment: string): Template {
  return ex.template(deployment);
}

function resources(t: Template, type: string): Resources {
  return t.findResources(type) as Resources;
}

/** Logical id of the only resource of `type` whose properties match. */
function logicalId(t: Template, type: string, props: Record<string, unknown>): string {
  const ids = Object.keys(t.findResources(type, { Properties: props }));
  expect(ids, `${type} ${JSON.stringify(props)}`).toHaveLength(1);
  return ids[0] as string;
}

const DEPLOYMENTS = ['prod-eu', 'prod-us', 'events'];

/** A reachable cluster snapshot with nothing wrong: brokers and groups are filled in per cluster. */
const SNAPSHOT_ALL_REPORTING = {
  status: 'healthy',
  bootstrapReachable: true,
  durationMs: 12,
  controllerId: 1,
  partitions: { total: 0, offline: 0, underReplicated: 0, underMinIsr: 0, details: [] },
  errors: [],
};

describe('the app', () => {
  it("has one stack per example config, named KafkaHeal-<deployment>, in the config's region (and account where given)", () => {
    expect(ex.synthError).toBeUndefined();
    expect(ex.configs.map((c) => c.deployment)).toEqual(DEPLOYMENTS);
    expect(ex.stacks.map((s) => s.stackName)).toEqual(DEPLOYMENTS.map((d) => `KafkaHeal-${d}`));
    expect(ex.stacks.map((s) => s.region)).toEqual(['eu-west-1', 'us-east-1', 'us-east-1']);
    expect(ex.stacks[0]?.account).toBe('123456789012');
    // No account in the other two: the deploying credentials' account, still no lookups.
    for (const s of ex.stacks.slice(1)) expect(s.account).toMatch(/^\$\{Token/);
  });

  it('cdk-nag AwsSolutions: no unacknowledged finding (errors or warnings) in any stack', () => {
    expect(ex.synthError).toBeUndefined();
    const report = readReport(ex.outdir);
    const findings = report.pluginReports.flatMap((p) =>
      p.violations.flatMap((v) =>
        v.violatingConstructs.map((c) => `${v.severity} ${v.ruleName} at ${c.constructPath}`),
      ),
    );
    expect(findings).toEqual([]);
  });

  it('no CDK warning or error annotations remain in any stack (imported-subnet warnings are acknowledged with reasons)', () => {
    // Read from the assembly already synthesized (Annotations.fromStack would synthesize again).
    expect(ex.assembly).toBeDefined();
    for (const stack of ex.stacks) {
      const messages = ex.assembly?.getStackArtifact(stack.artifactId).messages ?? [];
      expect(
        messages.filter((m) => m.level !== 'info').map((m) => `${m.level} ${m.id}: ${String(m.entry.data)}`),
        stack.stackName,
      ).toEqual([]);
    }
  });

  it('an imported subnet without the acknowledgment would warn (so the check above can fail)', () => {
    const app = new App({ outdir: mkdtempSync(join(tmpdir(), 'kh-annot-guard-')) });
    const stack = new Stack(app, 'Guard');
    new Queue(stack, 'Queue');
    expect(Subnet.fromSubnetId(stack, 'Subnet', 'subnet-0123456789abcdef0').routeTable.routeTableId).toBeUndefined();
    const messages = app.synth().getStackArtifact(stack.artifactId).messages;
    expect(messages.some((m) => m.level === 'warning' && String(m.entry.data).includes('routeTableId'))).toBe(true);
    rmSync(app.outdir, { recursive: true, force: true });
  });

  it('the nag check can fail: an unencrypted queue without a DLQ is reported', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kh-nag-guard-'));
    try {
      const app = new App({ outdir: dir });
      const stack = new Stack(app, 'Guard');
      new Queue(stack, 'Plain', { enforceSSL: false });
      Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
      expect(() => app.synth()).toThrow(/AwsSolutions-SQS/);
      const rules = readReport(dir).pluginReports.flatMap((p) => p.violations.map((v) => v.ruleName));
      expect(rules).toEqual(expect.arrayContaining(['AwsSolutions-SQS3', 'AwsSolutions-SQS4']));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe.each(DEPLOYMENTS)('KafkaHeal-%s', (deployment) => {
  const config = () => ex.configs.find((c) => c.deployment === deployment) as HealerConfig;
  // broker-recovery exists when the deployment has an EC2 cluster, msk-broker-recovery when it has an MSK one.
  const recoveryWorkflowNames = () => [
    ...(config().clusters.some((c) => c.platform === 'ec2') ? ['broker-recovery'] : []),
    ...(config().clusters.some((c) => c.platform === 'msk') ? ['msk-broker-recovery'] : []),
    // cascade-recovery nests whichever of the two exists, so every deployment with a cluster has it.
    'cascade-recovery',
    'disk-pressure',
    // consumer-lag runs for every cluster; quorum-recovery where an EC2 cluster lists its brokers.
    'consumer-lag',
    ...(config().clusters.some((c) => c.platform === 'ec2' && (c.ec2.brokers?.length ?? 0) > 0)
      ? ['quorum-recovery']
      : []),
    // dr-failover and dr-failback exist when a cluster is paired (dr.peer) with a Route 53 record.
    ...(config().clusters.some((c) => c.dr?.route53 && config().clusters.some((p) => p.name === c.dr?.peer))
      ? ['dr-failover', 'dr-failback']
      : []),
  ];

  it("routes this account's state changes of this deployment's alarms (by name prefix) and their brokers (contributors) to the ingest queue, with a DLQ and retries", () => {
    const t = template(deployment);
    const ingestQueue = logicalId(t, 'AWS::SQS::Queue', { QueueName: `kafka-heal-${deployment}-ingest` });
    const deliveryDlq = logicalId(t, 'AWS::SQS::Queue', { QueueName: `kafka-heal-${deployment}-delivery-dlq` });
    t.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        source: ['aws.cloudwatch'],
        account: [{ Ref: 'AWS::AccountId' }],
        'detail-type': ['CloudWatch Alarm State Change', 'CloudWatch Alarm Contributor State Change'],
        detail: { alarmName: [{ prefix: alarmNamePrefix(deployment) }] },
      },
      State: 'ENABLED',
      Targets: [
        Match.objectLike({
          Arn: { 'Fn::GetAtt': [ingestQueue, 'Arn'] },
          DeadLetterConfig: { Arn: { 'Fn::GetAtt': [deliveryDlq, 'Arn'] } },
          RetryPolicy: { MaximumEventAgeInSeconds: 86400, MaximumRetryAttempts: 185 },
        }),
      ],
    });
    expect(alarmNamePrefix(deployment)).toBe(`kafka-heal-${deployment}.`);
  });

  it('incident table: pk/sk strings, on-demand, KMS encryption, PITR, TTL expiresAt, open-incidents index gsi1', () => {
    const t = template(deployment);
    t.resourceCountIs('AWS::DynamoDB::Table', 1);
    t.hasResource('AWS::DynamoDB::Table', {
      DeletionPolicy: 'Retain',
      Properties: {
        KeySchema: [
          { AttributeName: 'pk', KeyType: 'HASH' },
          { AttributeName: 'sk', KeyType: 'RANGE' },
        ],
        AttributeDefinitions: Match.arrayWith([
          { AttributeName: 'pk', AttributeType: 'S' },
          { AttributeName: 'sk', AttributeType: 'S' },
          { AttributeName: 'gsi1pk', AttributeType: 'S' },
          { AttributeName: 'gsi1sk', AttributeType: 'S' },
        ]),
        BillingMode: 'PAY_PER_REQUEST',
        // SSE on with no key id: the AWS managed KMS key (aws/dynamodb), as chosen in incident-table.ts.
        SSESpecification: { SSEEnabled: true, KMSMasterKeyId: Match.absent(), SSEType: Match.absent() },
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
        GlobalSecondaryIndexes: [
          {
            IndexName: 'gsi1',
            KeySchema: [
              { AttributeName: 'gsi1pk', KeyType: 'HASH' },
              { AttributeName: 'gsi1sk', KeyType: 'RANGE' },
            ],
            Projection: { ProjectionType: 'ALL' },
          },
        ],
      },
    });
  });

  it('webhook: POST /alertmanager behind a TOKEN authorizer on the Authorization header, Lambda proxy, throttled and access-logged', () => {
    const t = template(deployment);
    const authorizerFn = logicalId(t, 'AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ POWERTOOLS_SERVICE_NAME: 'kafka-heal-webhook-authorizer' }) },
    });
    const webhookFn = logicalId(t, 'AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ POWERTOOLS_SERVICE_NAME: 'kafka-heal-ingest-webhook' }) },
    });
    const authorizer = logicalId(t, 'AWS::ApiGateway::Authorizer', {
      Type: 'TOKEN',
      IdentitySource: 'method.request.header.Authorization',
      AuthorizerResultTtlInSeconds: 60,
      IdentityValidationExpression: '^[Bb]earer [^\\s]+$',
      AuthorizerUri: Match.objectLike({ 'Fn::Join': ['', Match.arrayWith([{ 'Fn::GetAtt': [authorizerFn, 'Arn'] }])] }),
    });
    t.hasResourceProperties('AWS::ApiGateway::Resource', { PathPart: 'alertmanager' });
    t.hasResourceProperties('AWS::ApiGateway::Method', {
      HttpMethod: 'POST',
      AuthorizationType: 'CUSTOM',
      AuthorizerId: { Ref: authorizer },
      RequestParameters: { 'method.request.header.Authorization': true },
      Integration: Match.objectLike({
        Type: 'AWS_PROXY',
        Uri: Match.objectLike({ 'Fn::Join': ['', Match.arrayWith([{ 'Fn::GetAtt': [webhookFn, 'Arn'] }])] }),
      }),
    });
    // The webhook API has two methods: POST /alertmanager behind the authorizer, and POST /pagerduty
    // without one (its signed body is the credential: test/infra/lifecycle-wiring.test.ts). (The
    // approval API's pages are authorized by their signed links: test/infra/escalation-wiring.test.ts.)
    const webhookApi = logicalId(t, 'AWS::ApiGateway::RestApi', { Name: `kafka-heal-${deployment}-webhooks` });
    const pathOf = Object.fromEntries(
      Object.entries(resources(t, 'AWS::ApiGateway::Resource')).map(([id, r]) => [
        id,
        String(r.Properties?.['PathPart']),
      ]),
    );
    const methods = Object.values(resources(t, 'AWS::ApiGateway::Method')).filter(
      (m) => JSON.stringify(m.Properties?.['RestApiId']) === JSON.stringify({ Ref: webhookApi }),
    );
    const byPath = methods
      .map(
        (m) =>
          `${m.Properties?.['HttpMethod']} /${pathOf[(m.Properties?.['ResourceId'] as { Ref: string }).Ref]}: ${m.Properties?.['AuthorizationType']}`,
      )
      .sort();
    expect(byPath).toEqual(['POST /alertmanager: CUSTOM', 'POST /pagerduty: NONE']);
    t.hasResourceProperties('AWS::ApiGateway::Stage', {
      StageName: 'v1',
      TracingEnabled: true,
      AccessLogSetting: { DestinationArn: Match.anyValue(), Format: Match.stringLikeRegexp('requestId') },
      MethodSettings: Match.arrayWith([
        Match.objectLike({ ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100, HttpMethod: '*', ResourcePath: '/*' }),
      ]),
    });
    t.hasResourceProperties('AWS::ApiGateway::RestApi', { EndpointConfiguration: { Types: ['REGIONAL'] } });
    // The bearer token lives in Secrets Manager, generated by the stack, under a name
    // CloudFormation generates per stack (no config names one).
    t.hasResourceProperties('AWS::SecretsManager::Secret', {
      Name: Match.absent(),
      GenerateSecretString: Match.objectLike({ PasswordLength: 48, ExcludePunctuation: true }),
    });
  });

  it('AMP alerts: KMS-encrypted amp-alerts topic that aps.amazonaws.com may publish to, subscribed by the ingest queue with a DLQ', () => {
    const t = template(deployment);
    const topic = logicalId(t, 'AWS::SNS::Topic', { TopicName: `kafka-heal-${deployment}-amp-alerts` });
    const ingestQueue = logicalId(t, 'AWS::SQS::Queue', { QueueName: `kafka-heal-${deployment}-ingest` });
    const deliveryDlq = logicalId(t, 'AWS::SQS::Queue', { QueueName: `kafka-heal-${deployment}-delivery-dlq` });
    t.hasResourceProperties('AWS::SNS::Topic', {
      TopicName: `kafka-heal-${deployment}-amp-alerts`,
      KmsMasterKeyId: Match.anyValue(),
    });
    t.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'sqs',
      TopicArn: { Ref: topic },
      Endpoint: { 'Fn::GetAtt': [ingestQueue, 'Arn'] },
      RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': [deliveryDlq, 'Arn'] } },
    });
    t.hasResourceProperties('AWS::SNS::TopicPolicy', {
      Topics: [{ Ref: topic }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Allow',
            Principal: { Service: 'aps.amazonaws.com' },
            Action: ['sns:Publish', 'sns:GetTopicAttributes'],
          }),
        ]),
      },
    });
  });

  it('every queue is encrypted and TLS-only, and every queue that is not a DLQ has a RedrivePolicy', () => {
    const t = template(deployment);
    const queues = resources(t, 'AWS::SQS::Queue');
    const dlqIds = new Set<string>();
    for (const q of Object.values(queues)) {
      const target = (
        q.Properties?.['RedrivePolicy'] as { deadLetterTargetArn?: { 'Fn::GetAtt': [string, string] } } | undefined
      )?.deadLetterTargetArn;
      if (target) dlqIds.add(target['Fn::GetAtt'][0]);
    }
    const deliveryDlq = logicalId(t, 'AWS::SQS::Queue', { QueueName: `kafka-heal-${deployment}-delivery-dlq` });
    dlqIds.add(deliveryDlq);
    expect(Object.keys(queues)).toHaveLength(7); // ingest, signals, notify-retry, and four DLQs
    for (const [id, q] of Object.entries(queues)) {
      expect(q.Properties?.['SqsManagedSseEnabled'], id).toBe(true);
      if (!dlqIds.has(id))
        expect(q.Properties?.['RedrivePolicy'], `${id} has a DLQ`).toMatchObject({ maxReceiveCount: 5 });
      else expect(q.Properties?.['MessageRetentionPeriod'], `${id} keeps messages 14 days`).toBe(1_209_600);
    }
    const policies = Object.values(resources(t, 'AWS::SQS::QueuePolicy'));
    for (const id of Object.keys(queues)) {
      const covering = policies.filter((p) => JSON.stringify(p.Properties?.['Queues']).includes(`"${id}"`));
      expect(JSON.stringify(covering), `${id} denies non-TLS`).toContain('"aws:SecureTransport":"false"');
    }
  });

  it('writes one runtime policy parameter per cluster with the full initial policy', () => {
    const t = template(deployment);
    const params = Object.values(resources(t, 'AWS::SSM::Parameter'));
    expect(params.map((p) => p.Properties?.['Name']).sort()).toEqual(
      config()
        .clusters.map((c) => `/kafka-heal/${deployment}/clusters/${c.name}/policy`)
        .sort(),
    );
    for (const cluster of config().clusters) {
      const p = params.find(
        (x) => x.Properties?.['Name'] === `/kafka-heal/${deployment}/clusters/${cluster.name}/policy`,
      );
      expect(p?.Properties?.['Type']).toBe('String');
      const policy = JSON.parse(String(p?.Properties?.['Value'])) as Record<string, unknown>;
      expect(policy['mode']).toBe(cluster.policy.mode);
      expect(policy).toHaveProperty('thresholds.diskCriticalPercent');
      expect(policy).toHaveProperty('cooldownSeconds');
      expect(Array.isArray(policy['maintenanceWindows'])).toBe(true);
    }
  });

  it('alarms: every cluster alarm of the config plus the self-monitoring set; self-monitoring never matches the ingestion prefix', () => {
    const t = template(deployment);
    const clusterAlarmCount = config().clusters.reduce((n, c) => n + clusterAlarmSpecs(deployment, c).length, 0);
    // ingest, ingest-webhook, classify, webhook-authorizer, workflow-steps, and per cluster a probe and
    // cluster-steps: errors (throttles surface as DLQ, failed-execution, heartbeat or 5xx alarms,
    // infra/constructs/self-monitoring.ts); escalation and each recovery workflow: failed + timed out;
    // three DLQs; webhook 5xx. Escalation: the ladder (failed + timed out), its steps, redelivery and
    // the two approval functions, the auto-resolver and the three lifecycle functions (errors), the
    // notify-retry DLQ, approvals API 5xx.
    // The incident-metrics function (errors) feeds the dashboard's open-incident gauges (opt-in).
    // Rejected input (kept raw): one alarm over the ingest, webhook and classify counts.
    const selfCount =
      5 +
      2 * config().clusters.length +
      (1 + recoveryWorkflowNames().length) * 2 +
      3 +
      1 +
      (2 + 5 + 3 + 1 + 1) +
      1 +
      (config().dashboard ? 1 : 0);
    const alarms = Object.values(resources(t, 'AWS::CloudWatch::Alarm'));
    expect(alarms).toHaveLength(clusterAlarmCount + selfCount);
    const names = alarms.map((a) => String(a.Properties?.['AlarmName']));
    const self = names.filter((n) => n.startsWith(selfAlarmPrefix(deployment)));
    expect(self).toHaveLength(selfCount);
    expect(names.filter((n) => n.startsWith(alarmNamePrefix(deployment)))).toHaveLength(clusterAlarmCount);
    // Every self-monitoring alarm (and each probe heartbeat) notifies the critical topic.
    const withActions = alarms.filter((a) => Array.isArray(a.Properties?.['AlarmActions']));
    expect(withActions).toHaveLength(selfCount + config().clusters.length);
    const heartbeats = alarms.filter((a) => String(a.Properties?.['AlarmName']).endsWith('-probe-heartbeat'));
    expect(heartbeats).toHaveLength(config().clusters.length);
    for (const h of heartbeats) expect(h.Properties?.['AlarmActions']).toHaveLength(1);
  });

  it('rejected input (kept raw: no cluster, an unknown shape) pages the operators, from every function that rejects it', () => {
    const t = template(deployment);
    const alarm = Object.values(resources(t, 'AWS::CloudWatch::Alarm')).find(
      (a) => a.Properties?.['AlarmName'] === `${selfAlarmPrefix(deployment)}rejected-input`,
    );
    expect(alarm?.Properties).toMatchObject({
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
      EvaluationPeriods: 1,
      TreatMissingData: 'notBreaching',
    });
    const metrics =
      (alarm?.Properties?.['Metrics'] as {
        Expression?: string;
        MetricStat?: {
          Metric: { MetricName: string; Namespace: string; Dimensions: { Name: string; Value: string }[] };
        };
      }[]) ?? [];
    expect(metrics.find((m) => m.Expression)?.Expression).toBe('FILL(r0, 0) + FILL(r1, 0) + FILL(r2, 0)');
    expect(
      metrics
        .filter((m) => m.MetricStat)
        .map(
          (m) =>
            `${m.MetricStat!.Metric.Namespace} ${m.MetricStat!.Metric.MetricName} ${m.MetricStat!.Metric.Dimensions[0]?.Value}`,
        ),
    ).toEqual([
      `KafkaHeal/${deployment} RejectedEvents kafka-heal-ingest`,
      `KafkaHeal/${deployment} RejectedEvents kafka-heal-ingest-webhook`,
      `KafkaHeal/${deployment} RejectedSignals kafka-heal-classify`,
    ]);
    expect(alarm?.Properties?.['AlarmActions']).toHaveLength(1);
  });

  it("every function publishes its metrics to this deployment's namespace (a second deployment in the account never shares a series)", () => {
    const fns = Object.values(resources(template(deployment), 'AWS::Lambda::Function')) as {
      Properties?: { Environment?: { Variables?: Record<string, unknown> } };
    }[];
    const ours = fns.filter((f) => f.Properties?.Environment?.Variables?.['POWERTOOLS_SERVICE_NAME'] !== undefined);
    expect(ours.length).toBeGreaterThan(10);
    for (const f of ours)
      expect(f.Properties?.Environment?.Variables?.['POWERTOOLS_METRICS_NAMESPACE']).toBe(`KafkaHeal/${deployment}`);
  });

  it('self-monitoring alarms go to the critical topic (created, or the configured ARN)', () => {
    const t = template(deployment);
    const configured = config().notifications.snsTopicArns.critical;
    const expected = configured ?? {
      Ref: logicalId(t, 'AWS::SNS::Topic', { TopicName: `kafka-heal-${deployment}-critical` }),
    };
    const dlqAlarm = Object.values(resources(t, 'AWS::CloudWatch::Alarm')).find(
      (a) => a.Properties?.['AlarmName'] === `${selfAlarmPrefix(deployment)}ingest-dlq-not-empty`,
    );
    expect(dlqAlarm?.Properties).toMatchObject({
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Namespace: 'AWS/SQS',
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
      AlarmActions: [expected],
      OKActions: [expected],
    });
    if (!configured)
      t.hasResourceProperties('AWS::SNS::Topic', {
        TopicName: `kafka-heal-${deployment}-critical`,
        KmsMasterKeyId: Match.anyValue(),
      });
    else
      expect(
        Object.keys(
          t.findResources('AWS::SNS::Topic', { Properties: { TopicName: `kafka-heal-${deployment}-critical` } }),
        ),
      ).toHaveLength(0);
  });

  it('escalation workflow: STANDARD, logs ALL without execution data, X-Ray, topic ARNs substituted', () => {
    const t = template(deployment);
    t.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      StateMachineName: `kafka-heal-${deployment}-escalation`,
      StateMachineType: 'STANDARD',
      TracingConfiguration: { Enabled: true },
      LoggingConfiguration: { Level: 'ALL', IncludeExecutionData: false, Destinations: [Match.anyValue()] },
      DefinitionS3Location: Match.anyValue(),
      DefinitionSubstitutions: { CriticalTopicArn: Match.anyValue(), WarningTopicArn: Match.anyValue() },
    });
    const configured = config().notifications.snsTopicArns;
    const sm = Object.values(resources(t, 'AWS::StepFunctions::StateMachine'))[0];
    const subs = sm?.Properties?.['DefinitionSubstitutions'] as Record<string, unknown>;
    if (configured.critical) expect(subs['CriticalTopicArn']).toBe(configured.critical);
    if (configured.warning) expect(subs['WarningTopicArn']).toBe(configured.warning);
  });

  it('IAM: the classify role may start exactly the escalation and recovery state machines, read exactly the policy parameters', () => {
    const t = template(deployment);
    // The classifier's escalation workflow is the escalation ladder.
    const sm = logicalId(t, 'AWS::StepFunctions::StateMachine', {
      StateMachineName: `kafka-heal-${deployment}-escalation-ladder`,
    });
    const classifyFn = Object.values(resources(t, 'AWS::Lambda::Function')).find(
      (f) =>
        (f.Properties?.['Environment'] as { Variables: Record<string, unknown> }).Variables[
          'POWERTOOLS_SERVICE_NAME'
        ] === 'kafka-heal-classify',
    );
    const roleRef = (classifyFn?.Properties?.['Role'] as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
    const policies = Object.values(resources(t, 'AWS::IAM::Policy')).filter((p) =>
      JSON.stringify(p.Properties?.['Roles']).includes(`"${roleRef}"`),
    );
    const statements = policies.flatMap(
      (p) =>
        (p.Properties?.['PolicyDocument'] as { Statement: { Action: string | string[]; Resource: unknown }[] })
          .Statement,
    );
    const actions = (s: { Action: string | string[] }) => (Array.isArray(s.Action) ? s.Action : [s.Action]);

    const start = statements.filter((s) => actions(s).includes('states:StartExecution'));
    const startable = start.flatMap((s) => (Array.isArray(s.Resource) ? s.Resource : [s.Resource]));
    const recovery = recoveryWorkflowNames().map((name) => ({
      Ref: logicalId(t, 'AWS::StepFunctions::StateMachine', { StateMachineName: `kafka-heal-${deployment}-${name}` }),
    }));
    expect(startable).toEqual(expect.arrayContaining([{ Ref: sm }, ...recovery]));
    expect(startable).toHaveLength(1 + recovery.length);
    const env = (classifyFn?.Properties?.['Environment'] as { Variables: Record<string, unknown> }).Variables;
    expect(env['WORKFLOW_ARN_ESCALATION']).toEqual({ Ref: sm });
    for (const [i, name] of recoveryWorkflowNames().entries())
      expect(env[`WORKFLOW_ARN_${name.toUpperCase().replace(/-/g, '_')}`]).toEqual(recovery[i]);

    const ssm = statements.filter((s) => actions(s).includes('ssm:GetParameter'));
    const ssmResources = ssm.flatMap((s) => (Array.isArray(s.Resource) ? s.Resource : [s.Resource]));
    expect(ssmResources).toHaveLength(config().clusters.length);
    // Each resource is the ARN of one of this deployment's policy parameters (arn:...:parameter + its name).
    const paramIds = Object.keys(resources(t, 'AWS::SSM::Parameter'));
    const referenced = ssmResources.map((r) => {
      const parts = (r as { 'Fn::Join': [string, unknown[]] })['Fn::Join'][1];
      // `:ssm:<region>:<account>:parameter`, the region a literal now that the stack has one.
      expect(parts.some((p) => typeof p === 'string' && p.endsWith(':parameter'))).toBe(true);
      return (parts[parts.length - 1] as { Ref: string }).Ref;
    });
    expect(referenced.sort()).toEqual(paramIds.sort());
    expect(
      (classifyFn?.Properties?.['Environment'] as { Variables: Record<string, unknown> }).Variables[
        'POLICY_PARAMETER_PREFIX'
      ],
    ).toBe(`/kafka-heal/${deployment}/clusters`);

    // Nowhere in the stack may anything start executions of *, or answer the task tokens of *.
    for (const p of Object.values(resources(t, 'AWS::IAM::Policy'))) {
      for (const s of (
        p.Properties?.['PolicyDocument'] as { Statement: { Action: string | string[]; Resource: unknown }[] }
      ).Statement) {
        if (actions(s).some((a) => a.startsWith('states:'))) expect(JSON.stringify(s.Resource)).not.toContain('"*"');
      }
    }
  });

  it('IAM: Resource * appears only for actions without resource-level permissions (X-Ray, ENIs, log delivery, command/operation polling)', () => {
    // Guards the broad AwsSolutions-IAM5[Resource::*] acknowledgments on the house constructs and the
    // recovery workflows (polling a command invocation or an MSK cluster operation names no resource known in advance).
    const allowedOnStar =
      /^(xray:(PutTraceSegments|PutTelemetryRecords|GetSamplingRules|GetSamplingTargets)|ec2:(CreateNetworkInterface|DescribeNetworkInterfaces|DeleteNetworkInterface|DescribeSubnets|AssignPrivateIpAddresses|UnassignPrivateIpAddresses)|logs:(CreateLogDelivery|DeleteLogDelivery|DescribeLogGroups|DescribeResourcePolicies|GetLogDelivery|ListLogDeliveries|PutResourcePolicy|UpdateLogDelivery)|ssm:GetCommandInvocation|kafka:DescribeClusterOperation|cloudwatch:GetMetricData|ec2:DescribeInstances)$/;
    const t = template(deployment);
    let starStatements = 0;
    for (const [id, p] of Object.entries(resources(t, 'AWS::IAM::Policy'))) {
      for (const st of (
        p.Properties?.['PolicyDocument'] as { Statement: { Action: string | string[]; Resource: unknown }[] }
      ).Statement) {
        const res = Array.isArray(st.Resource) ? st.Resource : [st.Resource];
        if (!res.includes('*')) continue;
        starStatements++;
        for (const a of Array.isArray(st.Action) ? st.Action : [st.Action])
          expect(a, `${id}: ${a} on *`).toMatch(allowedOnStar);
      }
    }
    expect(starStatements).toBeGreaterThan(0);
  });

  it('Lambda functions: Node 22 on ARM64, traced, JSON logs to their own log group, bound environment', () => {
    const t = template(deployment);
    const fns = Object.values(resources(t, 'AWS::Lambda::Function'));
    // ingest, ingest-webhook, classify, webhook-authorizer, workflow-steps; escalation steps, notify
    // redelivery, approval request and endpoint, the auto-resolver; the incident lifecycle command,
    // incident page and PagerDuty webhook; per cluster a probe and cluster-steps.
    // ... and incident-metrics (the dashboard's open-incident gauges) when the dashboard is on.
    expect(fns).toHaveLength(5 + 5 + 3 + (config().dashboard ? 1 : 0) + 2 * config().clusters.length);
    for (const f of fns) {
      // Every function is actively traced but the scheduled probe: nothing upstream of its schedule
      // is traced, so it is traced only when a traced caller invokes it (no trace a minute per cluster).
      const service = String(
        (f.Properties?.['Environment'] as { Variables: Record<string, unknown> }).Variables['POWERTOOLS_SERVICE_NAME'],
      );
      expect(f.Properties?.['TracingConfig'], service).toEqual({
        Mode:
          service.startsWith('kafka-heal-probe-') || service === 'kafka-heal-auto-resolve' ? 'PassThrough' : 'Active',
      });
      expect(f.Properties).toMatchObject({
        Runtime: 'nodejs22.x',
        Architectures: ['arm64'],
        Handler: 'index.handler',
        LoggingConfig: { LogFormat: 'JSON', LogGroup: { Ref: expect.any(String) } },
      });
      // Its own log group, with a retention period.
      const group = (f.Properties?.['LoggingConfig'] as { LogGroup: { Ref: string } }).LogGroup.Ref;
      expect(resources(t, 'AWS::Logs::LogGroup')[group]?.Properties?.['RetentionInDays']).toBe(30);
      const env = (f.Properties?.['Environment'] as { Variables: Record<string, unknown> }).Variables;
      expect(env['NODE_OPTIONS']).toBe('--enable-source-maps');
    }
    const byService = (name: string) =>
      (
        fns.find(
          (f) =>
            (f.Properties?.['Environment'] as { Variables: Record<string, unknown> }).Variables[
              'POWERTOOLS_SERVICE_NAME'
            ] === `kafka-heal-${name}`,
        )?.Properties?.['Environment'] as { Variables: Record<string, unknown> }
      ).Variables;
    const table = logicalId(t, 'AWS::DynamoDB::Table', {});
    const signals = logicalId(t, 'AWS::SQS::Queue', { QueueName: `kafka-heal-${deployment}-signals` });
    const stack = ex.stacks.find((st) => st.config.deployment === deployment);
    for (const svc of ['ingest', 'ingest-webhook', 'classify']) {
      // The cluster facts are a file bundled with the code (it grows with the clusters), named in the environment.
      expect(byService(svc)).toMatchObject({ INCIDENT_TABLE_NAME: { Ref: table }, CLUSTERS_FILE: 'clusters.json' });
      expect(byService(svc)['CLUSTERS_JSON']).toBeUndefined();
    }
    for (const svc of ['ingest', 'ingest-webhook'])
      expect(byService(svc)).toMatchObject({ SIGNALS_QUEUE_URL: { Ref: signals } });
    for (const f of [stack?.ingestFn, stack?.webhookFn, stack?.classifyFn])
      expect(f?.files.get('clusters.json')).toEqual(clusterFacts(config()));
    for (const f of [stack?.ingestFn, stack?.webhookFn])
      expect(f?.files.get('alert-routing.json')).toEqual(alertRouting(config()));
    for (const svc of ['ingest', 'ingest-webhook'])
      expect(byService(svc)).toMatchObject({ ALERT_ROUTING_FILE: 'alert-routing.json' });
    expect(byService('classify')['ALERT_ROUTING_FILE']).toBeUndefined();
    expect(byService('classify')).toMatchObject({ INCIDENT_TABLE_NAME: { Ref: table } });
    const secret = logicalId(t, 'AWS::SecretsManager::Secret', {
      GenerateSecretString: Match.objectLike({ PasswordLength: 48 }),
    });
    expect(byService('webhook-authorizer')).toMatchObject({ TOKEN_SECRET_ARN: { Ref: secret } });
    // SQS event sources report partial batch failures.
    const mappings = Object.values(resources(t, 'AWS::Lambda::EventSourceMapping'));
    expect(mappings).toHaveLength(3); // ingest, classify, notify redelivery
    for (const m of mappings) expect(m.Properties?.['FunctionResponseTypes']).toEqual(['ReportBatchItemFailures']);
  });

  it("probe: one function per cluster in the cluster's subnets and security group, run every minute with the cluster name", () => {
    const t = template(deployment);
    for (const cluster of config().clusters) {
      const fnId = logicalId(t, 'AWS::Lambda::Function', {
        Environment: { Variables: Match.objectLike({ POWERTOOLS_SERVICE_NAME: `kafka-heal-probe-${cluster.name}` }) },
      });
      const fn = resources(t, 'AWS::Lambda::Function')[fnId];
      expect(fn?.Properties?.['VpcConfig']).toEqual({
        SubnetIds: cluster.probe.subnetIds,
        SecurityGroupIds: [cluster.probe.securityGroupId],
      });
      const env = (fn?.Properties?.['Environment'] as { Variables: Record<string, string> }).Variables;
      expect(env['CLUSTERS_FILE']).toBe('clusters.json');
      const probe = ex.stacks
        .find((st) => st.config.deployment === deployment)
        ?.probes.find((p) => p.fn.fn.node.path.includes(`Probe-${cluster.name}/`));
      expect(probe?.fn.files.get('clusters.json')).toEqual([
        expect.objectContaining({
          name: cluster.name,
          bootstrapServers: cluster.bootstrapServers,
          brokerCount: cluster.brokerCount,
        }),
      ]);
      t.hasResourceProperties('AWS::Events::Rule', {
        ScheduleExpression: 'rate(1 minute)',
        Targets: [
          Match.objectLike({ Arn: { 'Fn::GetAtt': [fnId, 'Arn'] }, Input: JSON.stringify({ cluster: cluster.name }) }),
        ],
      });
    }
  });

  it("probe: publishes exactly the series its cluster's alarms read (and the dashboard's when it is on), nothing billed for no reader", () => {
    const t = template(deployment);
    for (const cluster of config().clusters) {
      const fnId = logicalId(t, 'AWS::Lambda::Function', {
        Environment: { Variables: Match.objectLike({ POWERTOOLS_SERVICE_NAME: `kafka-heal-probe-${cluster.name}` }) },
      });
      const env = (
        resources(t, 'AWS::Lambda::Function')[fnId]?.Properties?.['Environment'] as {
          Variables: Record<string, string>;
        }
      ).Variables;
      const series = new Set(JSON.parse(env['PROBE_METRIC_SERIES'] as string) as string[]);
      // What a probe of a cluster with every broker and group reporting publishes under this list.
      const ids = Array.from({ length: cluster.brokerCount }, (_, i) => i + 1);
      const snapshot = {
        ...SNAPSHOT_ALL_REPORTING,
        brokers: ids.map((id) => ({ id, host: 'h', port: 9092, registered: true, reachable: true })),
        registeredBrokers: ids,
        // The controller and the quorum as the probe sees them: metadata in ZooKeeper mode, DescribeQuorum in KRaft.
        ...(cluster.platform === 'ec2'
          ? {
              metadataMode: cluster.ec2.metadataMode,
              controller: { id: 1, known: cluster.ec2.metadataMode === 'zookeeper', note: '' },
              quorum: { state: 'led', leaderId: 1, voters: [{ id: 1, lag: 0 }], maxVoterLag: 0, note: '' },
            }
          : {}),
        consumerGroups: cluster.consumerGroups.map((g) => ({
          group: g.name,
          state: 'Stable',
          partitions: [{ topic: 't', partition: 0, lag: 1 }],
        })),
        // A secured cluster's refusal series exist only while the probe is refused: show both.
        ...(cluster.security.protocol === 'PLAINTEXT'
          ? {}
          : {
              security: {
                tls: true,
                refused: [
                  { server: 'h:1', outcome: 'auth-failed', error: 'x' },
                  { server: 'h:2', outcome: 'tls-failed', error: 'x' },
                ],
                certificates: [],
                minDaysToExpiry: 40,
              },
            }),
      } as unknown as ClusterSnapshot;
      const zk = zookeeperConnect(cluster);
      const ensemble = zk
        ? ensembleReport(zk.map((server, i) => ({ server, state: i === 0 ? 'leader' : 'follower' })))
        : undefined;
      const published = selectSeries(probeMetricDocuments(cluster.name, snapshot, ids, ensemble), series);
      const publishedKeys = new Set(
        published.flatMap((d) => d.metrics.map((m) => seriesKey(m.name, Object.keys(d.dimensions)))),
      );
      expect(publishedKeys, cluster.name).toEqual(series);
      // Every probe metric an alarm reads is published; nothing else is, unless the dashboard graphs it.
      const read = new Set(probeSeriesOfAlarms(clusterAlarmSpecs(deployment, cluster)));
      for (const k of read) expect(series.has(k), `${cluster.name}: ${k}`).toBe(true);
      const extra = [...series].filter((k) => !read.has(k));
      if (config().dashboard)
        expect(
          extra.every((k) => dashboardProbeSeries(cluster).includes(k)),
          extra.join(' '),
        ).toBe(true);
      else expect(extra).toEqual([]);
      // A probe run is counted on a series the cluster's other alarms read (OfflinePartitions) on
      // EC2; ProbeHeartbeat is published only for MSK, whose alarms read no other probe series.
      expect(series.has(seriesKey('ProbeHeartbeat', ['Cluster Name'])), cluster.name).toBe(cluster.platform === 'msk');
      expect(
        series.has(seriesKey(probeRunsMetric(config().deployment, cluster).metricName, ['Cluster Name'])),
        cluster.name,
      ).toBe(true);
      if (cluster.platform === 'msk' && !config().dashboard) {
        // Besides the heartbeat only the refusals of a secured listener, published only while they last.
        const refusals =
          cluster.security.protocol === 'PLAINTEXT'
            ? []
            : [seriesKey('ProbeAuthFailures', ['Cluster Name']), seriesKey('ProbeTlsFailures', ['Cluster Name'])];
        expect([...series].sort()).toEqual([seriesKey('ProbeHeartbeat', ['Cluster Name']), ...refusals].sort());
      }
    }
  });

  it('dashboard and incident-metrics gauges only when the config asks for them (opt-in)', () => {
    const t = template(deployment);
    expect(Object.keys(resources(t, 'AWS::CloudWatch::Dashboard'))).toHaveLength(config().dashboard ? 1 : 0);
    const gauges = Object.values(resources(t, 'AWS::Lambda::Function')).filter(
      (f) =>
        (f.Properties?.['Environment'] as { Variables: Record<string, unknown> }).Variables[
          'POWERTOOLS_SERVICE_NAME'
        ] === 'kafka-heal-incident-metrics',
    );
    expect(gauges).toHaveLength(config().dashboard ? 1 : 0);
  });

  it('probe layer: one per stack (Node 22, ARM64), attached to every probe and cluster-steps function and to no other', () => {
    const t = template(deployment);
    const layers = resources(t, 'AWS::Lambda::LayerVersion');
    expect(Object.keys(layers)).toHaveLength(1);
    const [layerId, layer] = Object.entries(layers)[0] as [string, Resources[string]];
    expect(layer.Properties).toMatchObject({ CompatibleRuntimes: ['nodejs22.x'], CompatibleArchitectures: ['arm64'] });
    const probing = new Set(
      config().clusters.flatMap((c) => [`kafka-heal-probe-${c.name}`, `kafka-heal-cluster-steps-${c.name}`]),
    );
    let attached = 0;
    for (const f of Object.values(resources(t, 'AWS::Lambda::Function'))) {
      const service = (f.Properties?.['Environment'] as { Variables: Record<string, string> }).Variables[
        'POWERTOOLS_SERVICE_NAME'
      ] as string;
      if (probing.has(service)) {
        expect(f.Properties?.['Layers'], service).toEqual([{ Ref: layerId }]);
        attached++;
      } else {
        expect(f.Properties?.['Layers'], service).toBeUndefined();
      }
    }
    expect(attached).toBe(2 * config().clusters.length);
  });
});
