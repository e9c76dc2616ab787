// One stack per deployment config: KafkaHeal-<deployment>, in the config's region (and account,
// when given). No lookups, so `cdk synth` runs offline with no AWS credentials.
//
//   sources -> ingest queue -> ingest Lambda -> classify queue -> classify Lambda -> workflows
//
// Hand-off from ingest to classify is an SQS queue, the signals queue (SIGNALS_QUEUE_URL), not a
// direct invoke:
// classification reads and writes DynamoDB and starts executions, and any of that can fail or
// throttle in an alarm storm. The queue buffers the storm, retries each signal on its own
// (partial batch failures) and keeps a signal that keeps failing in a DLQ instead of losing it;
// the classify event source caps concurrency so a storm cannot starve the account.
//
// Workflows the classifier may start arrive as WORKFLOW_ARN_<WORKFLOW> environment variables
// (WORKFLOW_ARN_ESCALATION, later WORKFLOW_ARN_BROKER_RECOVERY ...; see workflowArnEnvName in
// functions/shared/workflows.ts), each with states:StartExecution on that one state machine.
import { CfnOutput, Duration, Stack, type StackProps } from 'aws-cdk-lib';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { Validations } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { alertRouting, clusterFacts, type HealerConfig } from '../config/schema.js';
import { alarmNamePrefix, ClusterAlarms } from '../constructs/alarms.js';
import { HealerDashboard, stateMachinesOf } from '../constructs/dashboard.js';
import { CascadeRecoveryWorkflow } from '../constructs/cascade-workflow.js';
import { DiskPressureWorkflow } from '../constructs/disk-pressure-workflow.js';
import { Escalation } from '../constructs/escalation.js';
import { HealerFunction, METRICS_NAMESPACE_CONTEXT } from '../constructs/healer-function.js';
import { metricsNamespace } from '#domain/metrics-namespace.js';
import { IncidentTable } from '../constructs/incident-table.js';
import { IncidentMetrics } from '../constructs/incident-metrics.js';
import { Ingestion } from '../constructs/ingestion.js';
import { Notifications } from '../constructs/notifications.js';
import { ClusterProbe } from '../constructs/probes.js';
import { ConsumerLagWorkflow } from '../constructs/consumer-lag-workflow.js';
import { DrWorkflows } from '../constructs/dr-workflows.js';
import { QuorumRecoveryWorkflow } from '../constructs/quorum-recovery-workflow.js';
import { admitOnlySenders, WorkQueue } from '../constructs/queues.js';
import { RuntimePolicyParameters } from '../constructs/runtime-policy.js';
import { RecoveryWorkflows } from '../constructs/recovery-workflows.js';
import { SelfMonitoring } from '../constructs/self-monitoring.js';
import { WebhookApi } from '../constructs/webhook-api.js';
import type { WorkflowContext } from '../constructs/workflow-context.js';
import { ApiGatewayAccount } from '../constructs/api-gateway-account.js';
import { approvalStateMachines, escalationNotifySubstitutions, HealerWorkflow } from '../constructs/workflows.js';
import { workflowArnEnvName } from '#shared/workflows.js';

export function stackNameFor(deployment: string): string {
  return `KafkaHeal-${deployment}`;
}

export interface HealerStackProps extends StackProps {
  config: HealerConfig;
}

export class HealerStack extends Stack {
  readonly config: HealerConfig;
  readonly table: IncidentTable;
  readonly notifications: Notifications;
  readonly ingestion: Ingestion;
  readonly webhook: WebhookApi;
  readonly signalsQueue: WorkQueue;
  readonly ingestFn: HealerFunction;
  readonly classifyFn: HealerFunction;
  readonly authorizerFn: HealerFunction;
  readonly webhookFn: HealerFunction;
  readonly policies: RuntimePolicyParameters;
  readonly escalation: HealerWorkflow;
  /** The escalation ladder (the classifier's escalation workflow) and the approvals. */
  readonly ladder: Escalation;
  readonly recovery: RecoveryWorkflows;
  /** cascade-recovery (brokers failing one after another). */
  readonly cascade: CascadeRecoveryWorkflow;
  /** disk-pressure (every cluster). */
  readonly diskPressure: DiskPressureWorkflow;
  readonly probes: ClusterProbe[] = [];
  readonly clusterAlarms: ClusterAlarms[] = [];
  /** consumer-lag (every cluster) and quorum-recovery (EC2 clusters listing their brokers). */
  readonly consumerLag: ConsumerLagWorkflow;
  readonly quorumRecovery: QuorumRecoveryWorkflow;
  /** dr-failover / dr-failback (only created for clusters with dr.peer and dr.route53). */
  readonly dr: DrWorkflows;
  readonly monitoring: SelfMonitoring;
  /** The operators' dashboard and the gauges it graphs: only with `dashboard: true` in the config. */
  readonly dashboard: HealerDashboard | undefined;
  readonly incidentMetrics: IncidentMetrics | undefined;

  constructor(scope: Construct, id: string, props: HealerStackProps) {
    super(scope, id, {
      description: `kafka-heal ${props.config.deployment}: self-healing for Apache Kafka (${props.config.clusters.map((c) => c.name).join(', ')})`,
      ...props,
    });
    const config = props.config;
    this.config = config;
    const d = config.deployment;
    // Every function publishes to this deployment's namespace: a second deployment in the account never shares a series.
    this.node.setContext(METRICS_NAMESPACE_CONTEXT, metricsNamespace(d));
    // What the ingest, classify and webhook functions know of the clusters: a bundled file (it grows
    // with the clusters; Lambda's environment stops at 4 KB), functions/shared/bundled-file.ts.
    const clusters = clusterFacts(config);
    const clustersFile = [{ env: 'CLUSTERS_FILE', name: 'clusters.json', json: clusters }];
    // How Alertmanager alerts are read (configured names, labels, broker hosts: it grows with the
    // brokers too): ingest (AMP via SNS) and the webhook.
    const alertRoutingFile = { env: 'ALERT_ROUTING_FILE', name: 'alert-routing.json', json: alertRouting(config) };

    this.table = new IncidentTable(this, 'Incidents');
    this.notifications = new Notifications(this, 'Notifications', {
      deployment: d,
      notifications: config.notifications,
    });
    this.monitoring = new SelfMonitoring(this, 'SelfMonitoring', { deployment: d, topic: this.notifications.critical });

    // --- Ingestion -------------------------------------------------------------------------
    const ingestTimeout = Duration.seconds(30);
    this.ingestion = new Ingestion(this, 'Ingestion', {
      deployment: d,
      alarmNamePrefix: alarmNamePrefix(d),
      topicKey: this.notifications.key,
      ingestTimeout,
    });

    const classifyTimeout = Duration.seconds(60);
    this.signalsQueue = new WorkQueue(this, 'SignalsQueue', {
      queueName: `kafka-heal-${d}-signals`,
      visibilityTimeout: Duration.seconds(classifyTimeout.toSeconds() * 6),
    });

    this.ingestFn = new HealerFunction(this, 'Ingest', {
      name: 'ingest',
      description: `kafka-heal ${d}: normalizes alarm state changes and AMP alerts into signals`,
      timeout: ingestTimeout,
      environment: { DEPLOYMENT: d },
      files: [...clustersFile, alertRoutingFile],
    })
      // Input that cannot be normalized is stored raw in the table (never dropped).
      .bindTable(this.table.table, 'rw')
      .bindQueue(this.signalsQueue.queue, 'send', 'SIGNALS_QUEUE_URL')
      // Only this stack's alarms are acted on: their CloudFormation stack-name tag says so.
      .checksAlarmOwner(alarmNamePrefix(d));
    this.ingestFn.fn.addEventSource(
      new SqsEventSource(this.ingestion.ingest.queue, {
        batchSize: 10,
        maxBatchingWindow: Duration.seconds(1),
        reportBatchItemFailures: true,
      }),
    );

    // --- Webhook endpoint ------------------------------------------------------------------
    const token = new Secret(this, 'AlertmanagerToken', {
      // No name unless the config gives one: CloudFormation's generated name is per stack.
      ...(config.alertmanager.tokenSecretName === undefined ? {} : { secretName: config.alertmanager.tokenSecretName }),
      description: `kafka-heal ${d}: bearer token Alertmanager sends to the webhook (Authorization: Bearer <value>)`,
      generateSecretString: { passwordLength: 48, excludePunctuation: true, includeSpace: false },
    });
    Validations.of(token).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        "The token is shared with Alertmanager's configuration, which a rotation Lambda cannot update; operators rotate it by hand (put a new value, update Alertmanager; the authorizer picks it up within its one-minute cache).",
    });
    this.authorizerFn = new HealerFunction(this, 'WebhookAuthorizer', {
      name: 'webhook-authorizer',
      description: `kafka-heal ${d}: checks the Alertmanager bearer token against Secrets Manager`,
      timeout: Duration.seconds(10),
      memorySize: 256,
      environment: { TOKEN_CACHE_SECONDS: '60' },
    }).bindSecret(token, 'TOKEN_SECRET_ARN');
    this.webhookFn = new HealerFunction(this, 'IngestWebhook', {
      name: 'ingest',
      file: 'webhook.ts',
      serviceName: 'ingest-webhook',
      description: `kafka-heal ${d}: receives Alertmanager webhooks, queues their signals`,
      timeout: Duration.seconds(15),
      environment: { DEPLOYMENT: d },
      files: [...clustersFile, alertRoutingFile],
    })
      .bindTable(this.table.table, 'rw')
      .bindQueue(this.signalsQueue.queue, 'send', 'SIGNALS_QUEUE_URL');
    // Closed queue: signals come from the ingest and webhook functions only, past normalization.
    admitOnlySenders(this.signalsQueue.queue, { roles: [this.ingestFn.role, this.webhookFn.role] });

    // --- Runtime policy, workflows, classification ------------------------------------------
    this.policies = new RuntimePolicyParameters(this, 'RuntimePolicy', { deployment: d, clusters: config.clusters });

    this.escalation = new HealerWorkflow(this, 'EscalationNotify', {
      name: 'escalation-notify',
      stateMachineName: `kafka-heal-${d}-escalation`,
      substitutions: (bind) =>
        escalationNotifySubstitutions({
          criticalTopicArn: bind.topic(this.notifications.critical),
          warningTopicArn: bind.topic(this.notifications.warning),
        }),
      timeout: Duration.minutes(15),
    });
    this.ladder = new Escalation(this, 'Escalation', {
      deployment: d,
      table: this.table.table,
      escalationNotify: this.escalation.stateMachine,
      escalationNotifyName: `kafka-heal-${d}-escalation`,
      critical: this.notifications.critical,
      warning: this.notifications.warning,
      pagerDutyRoutingKey: this.notifications.pagerDutyRoutingKey,
      policies: this.policies,
      autoResolve: { clusters, alarmNamePrefix: alarmNamePrefix(d) },
    });
    // The webhook API: Alertmanager (bearer token) and PagerDuty Webhooks v3 (signed body).
    this.webhook = new WebhookApi(this, 'Webhook', {
      deployment: d,
      handler: this.webhookFn,
      authorizer: this.authorizerFn,
      pagerDuty: this.ladder.lifecycle.pagerDutyFn,
    });

    this.classifyFn = new HealerFunction(this, 'Classify', {
      name: 'classify',
      description: `kafka-heal ${d}: correlates signals with open incidents, decides, starts workflows`,
      timeout: classifyTimeout,
      environment: { DEPLOYMENT: d },
      files: clustersFile,
    })
      .bindTable(this.table.table, 'rw')
      .bindParameters(this.policies.parameters, 'POLICY_PARAMETER_PREFIX', this.policies.prefix)
      // A grown incident's new runbook supersedes the running one (functions/classify/handler.ts).
      .stopsWhatItStarts()
      .bindStateMachine(this.ladder.stateMachine, workflowArnEnvName('escalation'));
    this.classifyFn.fn.addEventSource(
      new SqsEventSource(this.signalsQueue.queue, {
        batchSize: 10,
        maxBatchingWindow: Duration.seconds(1),
        reportBatchItemFailures: true,
        maxConcurrency: 10,
      }),
    );

    // --- Recovery workflows (broker-recovery on EC2, msk-broker-recovery on MSK) --------------
    // What every workflow below shares: the deployment, the incident table, and what they call.
    const workflows: WorkflowContext = {
      deployment: d,
      clusters: config.clusters,
      table: this.table.table,
      escalation: this.escalation,
      approvalFunction: this.ladder.approvalRequestFn.fn,
      notificationTopic: this.notifications.critical,
    };
    this.recovery = new RecoveryWorkflows(this, 'Recovery', workflows).bindTo(this.classifyFn).watch(this.monitoring);
    // The same context with the recovery's step Lambdas and ssm-run, which the workflows below reuse.
    const recovery = this.recovery.context;
    // A recovery that escalates hands the incident to the escalation ladder (PagerDuty, ack waits).
    this.recovery.workflowSteps.bindStateMachine(this.ladder.stateMachine, workflowArnEnvName('escalation'));
    // Brokers lost one after another: recovered one at a time by nested broker recoveries.
    this.cascade = new CascadeRecoveryWorkflow(this, 'Cascade', recovery)
      .bindTo(this.classifyFn)
      .watch(this.monitoring);
    // Disk pressure: free disk safely on EC2 hosts, grow MSK storage; broker-recovery hands full disks to it.
    this.diskPressure = new DiskPressureWorkflow(this, 'DiskPressure', recovery)
      .bindTo(this.classifyFn)
      .watch(this.monitoring);

    // --- Per cluster: alarms, probe ----------------------------------------------------------
    for (const cluster of config.clusters) {
      const alarms = new ClusterAlarms(this, `Alarms-${cluster.name}`, { deployment: d, cluster });
      this.clusterAlarms.push(alarms);
      // A silent probe is a monitoring outage: the heartbeat alarm goes to the healer (its name
      // has the ingestion prefix) AND straight to the operators, in case the healer is what broke.
      alarms.specs.forEach((spec, i) => {
        const alarm = alarms.alarms[i];
        if (spec.alarmKind === 'probe-heartbeat' && alarm) this.monitoring.notify(alarm);
      });
      const probe = new ClusterProbe(this, `Probe-${cluster.name}`, {
        deployment: d,
        cluster,
        dashboard: config.dashboard,
        ingestQueue: this.ingestion.ingest.queue,
      });
      this.probes.push(probe);
      this.monitoring.watchFunction(probe.fn, `probe-${cluster.name}`);
    }
    // Closed queues: the alarm rule, the AMP topic and the probes that send their fast-detection findings.
    this.ingestion.closeQueues(this.probes.filter((p) => p.sendsFindings).map((p) => p.fn.role));

    // --- Consumer lag and quorum loss: owners told first; every destructive step approved ------
    this.consumerLag = new ConsumerLagWorkflow(this, 'ConsumerLag', recovery)
      .bindTo(this.classifyFn)
      .watch(this.monitoring);
    this.quorumRecovery = new QuorumRecoveryWorkflow(this, 'QuorumRecovery', recovery)
      .bindTo(this.classifyFn)
      .watch(this.monitoring);

    // --- Site failure: DR failover / failback for clusters paired with a Route 53 record ------
    this.dr = new DrWorkflows(this, 'Dr', recovery).bindTo(this.classifyFn).watch(this.monitoring);

    // The approval endpoint answers task tokens of this deployment's workflows that ask a person, no other.
    this.ladder.allowDecisionsOn(approvalStateMachines(this));
    // A person's resolve stops the run still acting: the workflows the classifier starts, not the
    // ladder (a resolve ends it at its next step; actions.ts never stops it).
    this.ladder.lifecycle.stopsRunsOf(
      this.classifyFn.startedStateMachines.filter((sm) => sm !== this.ladder.stateMachine),
    );

    // --- Self-monitoring ---------------------------------------------------------------------
    this.monitoring
      .watchFunction(this.ingestFn, 'ingest')
      .watchFunction(this.classifyFn, 'classify')
      .watchFunction(this.webhookFn, 'ingest-webhook')
      .watchFunction(this.authorizerFn, 'webhook-authorizer')
      .watchStateMachine(this.escalation.stateMachine, 'escalation')
      .watchStateMachine(this.ladder.workflow.stateMachine, 'escalation-ladder')
      .watchDeadLetterQueue(this.ladder.retryQueue.dlq, 'notify-retry-dlq')
      .watchApi(this.ladder.api, 'approvals')
      .watchDeadLetterQueue(this.ingestion.ingest.dlq, 'ingest-dlq')
      .watchDeadLetterQueue(this.ingestion.deliveryDlq, 'delivery-dlq')
      .watchDeadLetterQueue(this.signalsQueue.dlq, 'signals-dlq')
      .watchApi(this.webhook.api, 'webhook')
      .watchRejectedInput([
        { functionName: 'ingest', metricName: 'RejectedEvents' },
        { functionName: 'ingest-webhook', metricName: 'RejectedEvents' },
        { functionName: 'classify', metricName: 'RejectedSignals' },
      ]);

    for (const { fn, name } of this.ladder.functions) this.monitoring.watchFunction(fn, name);

    // Table grants include the index ARN (<table>/index/*): the store queries gsi1.
    for (const f of [this.ingestFn, this.webhookFn, this.classifyFn]) {
      Validations.of(f).acknowledge({
        id: `AwsSolutions-IAM5[Resource::<${this.getLogicalId(this.table.table.node.defaultChild as never)}.Arn>/index/*]`,
        reason:
          'Read/write on the incident table includes its indexes (<table>/index/*): the store queries the open-incidents index gsi1.',
      });
    }

    // Both APIs access-log every request: their stages need API Gateway's account logging role.
    new ApiGatewayAccount(this, 'ApiGatewayAccount', { mode: config.apiGatewayCloudWatchRole })
      .before(this.webhook.api)
      .before(this.ladder.api);

    // --- Operators: open-incident gauges, dashboard, the table name the CLI reads --------------
    // Opt-in (config `dashboard`): most of a small deployment's idle cost, and no alarm needs it.
    this.incidentMetrics = config.dashboard
      ? new IncidentMetrics(this, 'IncidentMetrics', { deployment: d, table: this.table.table, clusters })
      : undefined;
    if (this.incidentMetrics) this.monitoring.watchFunction(this.incidentMetrics.fn, 'incident-metrics');
    // Last, so every state machine created above is on the dashboard.
    this.dashboard = !config.dashboard
      ? undefined
      : new HealerDashboard(this, 'Dashboard', {
          deployment: d,
          clusters: config.clusters,
          clusterAlarms: this.clusterAlarms.map((a) => a.alarms),
          stateMachines: stateMachinesOf(this, d),
          topics: [
            { label: 'critical', topic: this.notifications.critical },
            { label: 'warning', topic: this.notifications.warning },
          ],
        });
    new CfnOutput(this, 'ApprovalApiUrl', {
      value: this.ladder.api.url,
      description: 'Base URL of the approval page (signed links: <this>approvals/<id>?decision=...)',
    });
    new CfnOutput(this, 'AlertmanagerTokenSecretArn', {
      value: token.secretArn,
      description:
        'The secret holding the bearer token Alertmanager sends to the webhook (aws secretsmanager get-secret-value --secret-id <this>)',
    });
    new CfnOutput(this, 'WebhookUrl', {
      value: `${this.webhook.api.url}alertmanager`,
      description: 'Alertmanager webhook_configs url (Authorization: Bearer <the token in AlertmanagerTokenSecretArn>)',
    });
    new CfnOutput(this, 'IncidentLifecycleFunctionName', {
      value: this.ladder.lifecycle.commandFn.fn.functionName,
      description:
        'kafka-heal incidents ack|resolve|reopen|note against AWS invoke it: export KAFKA_HEAL_LIFECYCLE_FUNCTION=<this>',
    });
    new CfnOutput(this, 'PagerDutyWebhookUrl', {
      value: `${this.webhook.api.url}pagerduty`,
      description:
        'PagerDuty Webhooks v3 subscription URL (events incident.acknowledged, resolved, reassigned, escalated, annotated)',
    });
    new CfnOutput(this, 'PagerDutyWebhookSecretArn', {
      value: this.ladder.lifecycle.pagerDutyWebhookSecret.secretArn,
      description:
        "Put the PagerDuty webhook subscription's signing secret here: aws secretsmanager put-secret-value --secret-id <this> --secret-string '<secret>'",
    });
    new CfnOutput(this, 'IncidentTableName', {
      value: this.table.table.tableName,
      description: 'The incident table: kafka-heal incidents list --table <this> (or KAFKA_HEAL_TABLE)',
    });
  }
}
