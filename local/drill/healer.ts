// The healer as `cdk deploy` would create it, running in this process against a local cluster:
//
//   alarm evaluator (alarm-specs.ts specs over the real probe's metrics, shorter periods)
//     -> "CloudWatch Alarm State Change" -> queue -> REAL ingest handler -> signals queue
//   monitored self-managed drills (the `prometheus` option): REAL Prometheus evaluating the shipped
//     rules over the cluster's exporters -> REAL Alertmanager -> HTTP POST with the bearer token
//     -> the REAL authorizer and webhook handler (local/monitoring) -> signals queue
//     -> REAL classify handler (incident store on DynamoDB Local, runtime policy from the scenario)
//     -> StartExecution (Step Functions double) -> the SAME ASL files on the local runtime, every
//        Task bound by Resource: workflow-steps and cluster-steps handlers in process, the real
//        SSM documents run with bash and a systemctl shim per broker, nested escalation-notify,
//        SNS to an outbox, approvals through the local task-token registry.
//
// Only the wiring is local; every decision and action is the shipped code's.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { SFNClient } from '@aws-sdk/client-sfn';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { createClassifyHandler } from '#functions/classify/handler.js';
import { DEFAULT_ESCALATION_POLICY, type EscalationPolicy } from '#domain/escalation.js';
import { EscalationStepSchema, makeEscalationHandler } from '#functions/escalation/handler.js';
import { ClusterStepSchema, makeClusterStepsHandler } from '#functions/cluster-steps/handler.js';
import { DrStepSchema } from '#functions/cluster-steps/dr.js';
import { parsePolicy } from '#domain/policy.js';
import { WORKFLOWS, type RuntimePolicy, type Workflow } from '#domain/types.js';
import { AlarmOwnership, STACK_NAME_TAG } from '#functions/ingest/alarm-owner.js';
import { createIngestHandler } from '#functions/ingest/handler.js';
import { createWebhookHandler } from '#functions/ingest/webhook.js';
import type { ProbeClusterConfig } from '#contracts/clusters-file.js';
import { ingestQueueSender, makeProbeHandler } from '#functions/probe/handler.js';
import type { ProbeResultEvent } from '#domain/normalize/probe.js';
import { metricsNamespace, probeMetricDocuments, type MetricDocument } from '#functions/probe/metrics.js';
import { documentClient } from '#shared/clients.js';
import { IncidentStore } from '#tools/incident-store.js';
import { notify, type NotifyDeps } from '#shared/notify.js';
import { PagerDutyClient, staticRoutingKey } from '#shared/pagerduty.js';
import type { PolicySource } from '#shared/policy-source.js';
import { probeCluster } from '#shared/probe/index.js';
import { workflowArnEnvName } from '#shared/workflows.js';
import { WorkflowStepSchema, makeWorkflowStepsHandler } from '#functions/workflow-steps/handler.js';
import { type ClusterTargetConfig } from '#contracts/workflow-targets.js';
import type { LagActionClients } from '#functions/workflow-steps/consumer-lag.js';
import { clusterAlarmSpecs, type AlarmSpec } from '#infra/constructs/alarm-specs.js';
import { clusterTarget } from '#infra/constructs/cluster-targets.js';
import {
  brokerRecoverySubstitutions,
  mskBrokerRecoverySubstitutions,
  runbookDocumentName,
} from '#infra/constructs/recovery-workflows.js';
import { alertRouting, clusterFacts, validateConfig, type HealerConfig } from '#infra/config/schema.js';
import { escalationSubstitutions } from '#infra/constructs/escalation.js';
import {
  RENDERED_WORKFLOWS,
  aslFile,
  definitionText,
  escalationNotifySubstitutions,
} from '#infra/constructs/workflows.js';
import type { DrSettings, DrSite } from '../dr-site.js';
import { startPagerDutyReceiver, type PagerDutyReceiver, type ResponderOptions } from '../pagerduty-receiver.js';
import { startApiServer, type ApiServer } from '../api-server.js';
import { makePagerDutyWebhookHandler } from '#functions/lifecycle/pagerduty-webhook.js';
import { LifecycleRecords } from '#functions/lifecycle/records.js';
import { runAutoResolve } from '#functions/lifecycle/auto-resolve.js';
import type { ClusterAlarmSource } from '#functions/lifecycle/cluster-alarms.js';
import { createIncidentTable, type DynamoDbLocal } from '../dynamodb-local.js';
import type { LocalCluster } from '../kafka/cluster.js';
import { localMskDouble, mskClusterArnFor } from '../kafka/msk-double.js';
import {
  APPROVAL_RESOURCE,
  approvalBinding,
  type ApprovalTaskBinding,
  type DecideAnswer,
} from '../stepfunctions/approvals.js';
import {
  RESOURCES,
  lambdaInvokeBinding,
  mskBindings,
  mskStorageBindings,
  parseDefinition,
  recordCalls,
  runWorkflow,
  runbookRunner,
  ssmBindings,
  startExecutionSyncBinding,
  startSystemctlShim,
  walkStates,
  type AslDefinition,
  type BindingRegistry,
  type Json,
  type RecordedCall,
  type RunEvent,
  type RunResult,
  type ShimCluster,
  type SystemctlShim,
} from '../stepfunctions/index.js';
import { startAlertWebhook, type AlertWebhook, type WebhookRequestRecord } from '../monitoring/alert-webhook.js';
import type { ExporterPlan } from '../monitoring/exporters.js';
import { startMonitoringStack, type MonitoringStack } from '../monitoring/prometheus-stack.js';
import { writeKafkaHome } from './kafka-home.js';
import { ZookeeperQuorumRule, alertmanagerWebhook, type ZkRuleTransition } from './zookeeper-alerts.js';
import type { INJECTABLE_ALERTS } from './scenario.js';
import { observeEnsemble } from '#shared/zookeeper.js';
import { AlarmEvaluator, alarmStateChangeEvent, type AlarmTransition, type MetricSample } from './alarm-evaluator.js';
import {
  LocalQueue,
  SecretsManagerDouble,
  SfnDouble,
  lambdaClientDouble,
  snsClientDouble,
  sqsClientDouble,
} from './aws-doubles.js';
import type { ProbedPartition } from './report.js';
import { SecretCache, securityLoader, type SecurityLoader } from '#shared/kafka-security.js';

export const DEPLOYMENT = 'drill';
const REGION = 'eu-west-1';
const ACCOUNT = '123456789012';
const fnArn = (name: string) => `arn:aws:lambda:${REGION}:${ACCOUNT}:function:kafka-heal-${DEPLOYMENT}-${name}`;
const smArn = (name: string) => `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:kafka-heal-${DEPLOYMENT}-${name}`;
export const ARNS = {
  workflowSteps: fnArn('workflow-steps'),
  clusterSteps: (cluster: string) => fnArn(`cluster-steps-${cluster}`),
  approvalRequest: fnArn('approval-request'),
  escalationSteps: fnArn('escalation'),
  /** escalation-notify: the SNS broadcast, nested in the recovery workflows and the ladder. */
  escalation: smArn('escalation'),
  /** The escalation ladder: the classifier's escalation workflow (PagerDuty, then SNS, then a retry queue). */
  ladder: smArn('escalation-ladder'),
  /** ssm-run: one SSM command to its end, nested in the workflows that run commands on hosts. */
  ssmRun: smArn('ssm-run'),
  workflow: (w: Workflow) => smArn(w),
  criticalTopic: `arn:aws:sns:${REGION}:${ACCOUNT}:kafka-heal-${DEPLOYMENT}-critical`,
  warningTopic: `arn:aws:sns:${REGION}:${ACCOUNT}:kafka-heal-${DEPLOYMENT}-warning`,
  ownerTopic: `arn:aws:sns:${REGION}:${ACCOUNT}:drill-team-alerts`,
  scaleTopic: `arn:aws:sns:${REGION}:${ACCOUNT}:drill-consumers-scale`,
  alarmQueue: `arn:aws:sqs:${REGION}:${ACCOUNT}:kafka-heal-${DEPLOYMENT}-ingest`,
  signalsQueue: `arn:aws:sqs:${REGION}:${ACCOUNT}:kafka-heal-${DEPLOYMENT}-signals`,
};

/** The shortest `for` of the local ZookeeperQuorumLost rule: longer than a ZooKeeper leader election. */
export const ZK_ELECTION_FLOOR_MS = 10_000;

/**
 * The shortest local `for:` of the Prometheus rules on controllers and quorums (KafkaNoActiveController,
 * ZookeeperQuorumLost, KafkaKraftQuorumLost): a controller failover or a quorum election takes real
 * seconds, which the rules' one minute covers in production.
 */
export const ELECTION_FLOOR_SECONDS = ZK_ELECTION_FLOOR_MS / 1000;

/** The alerts of one Alertmanager webhook the healer answered, for the drill's timeline. */
export function webhookAlertEvents(r: WebhookRequestRecord): HealerEvent[] {
  let payload: {
    alerts?: { status?: string; labels?: Record<string, string>; annotations?: Record<string, string> }[];
  };
  try {
    payload = JSON.parse(r.body ?? '') as typeof payload;
  } catch {
    return [
      {
        at: r.at,
        source: 'alarm',
        event: 'alert:rejected',
        detail: `Alertmanager webhook answered ${r.status} (body not JSON)`,
      },
    ];
  }
  return (payload.alerts ?? []).map((a) => {
    const l = a.labels ?? {};
    const where = `${l.cluster ?? '?'} ${l.alertname ?? '?'}${l.broker === undefined ? '' : ` broker ${l.broker}`}`;
    const detail = `${where} (Prometheus rule, Alertmanager webhook ${r.status}): ${a.annotations?.summary ?? ''}`;
    return {
      at: r.at,
      source: 'alarm',
      event: r.status === 202 ? `alert:${a.status ?? 'unknown'}` : 'alert:rejected',
      detail,
    };
  });
}

/** ZooKeeper server n runs on the host of instanceIdFor(ZK_HOST_OFFSET + n). */
export const ZK_HOST_OFFSET = 100;

/** The Alertmanager alert name a drill's `send-alert` fault uses for each kind (docs/operations.md). */
const ALERT_NAMES: Record<(typeof INJECTABLE_ALERTS)[number], string> = { 'site-down': 'KafkaSiteDown' };

/** The ZooKeeper servers seen through the systemctl shim's broker-shaped view (quorum-recovery's hosts). */
export function zookeeperShimView(c: Pick<LocalCluster, 'zookeeper' | 'zkFault'>): ShimCluster {
  return {
    get brokers() {
      return (c.zookeeper?.nodes ?? []).map((n) => ({
        id: n.id,
        state: n.state,
        ...(n.pid !== undefined ? { pid: n.pid } : {}),
      }));
    },
    fault: (action, id) => c.zkFault(action, id),
  };
}

/** An instance id per local broker host (the runbooks' InstanceIds). */
export function instanceIdFor(brokerId: number): string {
  return `i-${(0xd7000000 + brokerId).toString(16).padStart(17, '0')}`;
}

export interface HealerEvent {
  at: number;
  source: 'alarm' | 'classifier' | 'workflow' | 'state' | 'approval' | 'notification' | 'probe';
  event: string;
  detail?: string;
}

export interface SnsMessage {
  at: number;
  topicArn: string;
  subject?: string;
  message: string;
}

export interface HealerOptions {
  cluster: LocalCluster;
  dynamo: DynamoDbLocal;
  policy: Record<string, unknown>;
  /** Local seconds per 60 s CloudWatch period. */
  alarmPeriodSeconds: number;
  /** Floor for the local window of alarms that watch 10 minutes or more (see AlarmEvaluator). */
  sustainedWindowSeconds: number;
  probeIntervalMs: number;
  consumerGroup: { name: string; topic: string; maxOffsetLag: number };
  approvals: { decide: () => Promise<DecideAnswer> };
  onEvent: (e: HealerEvent) => void;
  /** Wait/retry pauses of the workflows are multiplied by this (the verify backoff keeps its own). */
  timeScale?: number;
  /**
   * A DR pair for the cluster: the config pairs the two clusters (so the site-down alarm exists and
   * the classifier may start dr-failover), the workflow steps get both clusters' dr targets, and
   * dr-failover's Route 53 calls and DR cluster steps are bound to the site's zone and DR cluster.
   */
  dr?: { site: DrSite; settings: DrSettings };
  /**
   * Real Prometheus and Alertmanager (self-managed clusters): the cluster runs the exporters of
   * `exporters`; Alertmanager posts to the healer's webhook. It replaces the ZooKeeper stand-in
   * (zookeeper-alerts.ts); `cloudwatchAlarms: false` also leaves the probe's CloudWatch-style alarms
   * out, so Prometheus is the only detector (the probe still measures health).
   */
  prometheus?: { exporters: ExporterPlan; cloudwatchAlarms: boolean };
  /**
   * The cluster is deployed as Amazon MSK (config platform msk, its ARN from mskClusterArnFor):
   * the MSK alarm set, msk-broker-recovery, and MSK's control plane served by the local MSK double
   * (local/kafka/msk-double.ts), whose RebootBroker restarts the local broker. No hosts, no SSM.
   * `refuseReboot`: MSK refuses every RebootBroker with this BadRequestException message.
   */
  msk?: { refuseReboot?: string };
  /**
   * An on-call person acknowledges each page in (local) PagerDuty after `acknowledgeAfterMs`:
   * the receiver posts a signed Webhooks v3 incident.acknowledged to the healer's PagerDuty
   * webhook (the real handler, functions/lifecycle/pagerduty-webhook.ts), which acknowledges the
   * incident; the ladder then pages no further level.
   */
  pagerDuty?: { acknowledgeAfterMs: number; responder: string };
  /**
   * Fast detection as the deployed probe runs it (functions/probe/fast-detect.ts): a second look
   * after this many seconds at brokers found unreachable, the findings through the ingest queue.
   * Default off: the drills' shortened alarm periods would beat a real-seconds pause anyway.
   */
  recheckSeconds?: number;
}

/** What a workflow name maps to: its ASL file and definition substitutions. */
function workflowSubstitutions(): Record<string, string> {
  const subs: Record<string, string> = {
    ...brokerRecoverySubstitutions({
      workflowStepsFunctionArn: ARNS.workflowSteps,
      escalationStateMachineArn: ARNS.escalation,
      approvalFunctionArn: ARNS.approvalRequest,
      deployment: DEPLOYMENT,
      // broker-recovery hands a full data disk to disk-pressure: the drill's own state machine by its ARN.
      diskPressureStateMachineArn: ARNS.workflow('disk-pressure'),
      ssmRunStateMachineArn: ARNS.ssmRun,
    }),
    ...mskBrokerRecoverySubstitutions({
      workflowStepsFunctionArn: ARNS.workflowSteps,
      escalationStateMachineArn: ARNS.escalation,
      approvalFunctionArn: ARNS.approvalRequest,
    }),
    ...escalationNotifySubstitutions({ criticalTopicArn: ARNS.criticalTopic, warningTopicArn: ARNS.warningTopic }),
    ...escalationSubstitutions({
      escalationFunctionArn: ARNS.escalationSteps,
      escalationNotifyStateMachineArn: ARNS.escalation,
    }),
    ApprovalFunctionArn: ARNS.approvalRequest,
    NotificationTopicArn: ARNS.warningTopic,
    BrokerRecoveryStateMachineArn: ARNS.workflow('broker-recovery'),
    MskBrokerRecoveryStateMachineArn: ARNS.workflow('msk-broker-recovery'),
  };
  // Documents by the placeholder names the workflows use for them.
  const documents: Record<string, string> = {
    Cli: 'kafka-cli-action',
    CliAction: 'kafka-cli-action',
    Stop: 'kafka-stop-broker',
    Backup: 'kafka-backup-metadata',
    FreeDisk: 'kafka-free-disk',
  };
  for (const [k, runbook] of Object.entries(documents))
    subs[`${k}DocumentName`] ??= runbookDocumentName(DEPLOYMENT, runbook);
  return subs;
}

/**
 * The escalation ladder with every ack timeout divided by `factor`, and no status updates: in the
 * default `pagerduty` mode a ladder nobody acknowledges posts status updates until its incident is
 * resolved, which in a drill (an escalated incident stays escalated) kept executions running
 * until the drill's deadline. Without them the ladder pages and hands over to PagerDuty.
 */
export function scaledEscalationPolicy(
  factor: number,
  base: EscalationPolicy = DEFAULT_ESCALATION_POLICY,
): EscalationPolicy {
  return Object.fromEntries(
    Object.entries(base).map(([sev, e]) => [
      sev,
      { ...e, ackTimeoutMs: Math.round(e.ackTimeoutMs / factor), statusUpdateEveryMs: 0 },
    ]),
  ) as unknown as EscalationPolicy;
}

/**
 * Retriers whose backoff is the workflow's patience with the outside world (consumers catching
 * up after the scale hook): the local runtime's retry override is one fixed pause per retrier
 * (no BackoffRate), so a plain scaled interval would shrink 60+120+240+480 s to 4 x 3 s. These
 * keep their total backoff at the drill's time scale, spread evenly over the attempts.
 */
const PATIENT_RETRIES = ['Check Lag Recovered'];

/** Fixed per-retrier pauses (ms) whose sum over MaxAttempts equals the scaled ASL backoff; the states may sit in Parallel or Map bodies. */
export function totalPreservingRetries(
  def: AslDefinition,
  timeScale: number,
  states: string[] = PATIENT_RETRIES,
): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  const all = walkStates(def);
  for (const name of states) {
    const retriers = all.find((s) => s.name === name)?.state.Retry;
    if (!retriers) continue;
    out[name] = retriers.map((r) => {
      const attempts = r.MaxAttempts ?? 3;
      if (attempts <= 0) return -1;
      let total = 0;
      for (let k = 0; k < attempts; k++)
        total += Math.min(
          (r.IntervalSeconds ?? 1) * (r.BackoffRate ?? 2) ** k,
          r.MaxDelaySeconds ?? Number.POSITIVE_INFINITY,
        );
      return Math.round((total / attempts) * 1000 * timeScale);
    });
  }
  return out;
}

/** One probe run: its verdict, and the partitions it found in trouble (leaderless, under-replicated) with their leader and ISR. */
export interface ProbeLogEntry {
  at: number;
  status: string;
  problems: string[];
  troubled?: ProbedPartition[];
}

/**
 * The local window of the quorum-lost and controller-missing alarms (AlarmEvaluator's
 * electionWindowSeconds): a KRaft leader election after a hung or crashed leader reads as no
 * leader for a few real seconds, which the scaled 2 s periods would otherwise alarm on.
 */
export const ELECTION_WINDOW_SECONDS = 30;

/** How much faster the escalation ladder runs in a drill (SEV-1's 15 min to acknowledge become 0.75 s). */
export const LADDER_TIME_FACTOR = 1200;

/** The configuration file a deployment of this local cluster (and its DR peer, if any) would have. */
export function drillConfig(
  cluster: LocalCluster,
  opts: {
    policyMode: string;
    consumerGroup: HealerOptions['consumerGroup'];
    dr?: HealerOptions['dr'];
    msk?: HealerOptions['msk'];
  },
): HealerConfig {
  const hex = (p: string) => `${p}-0d0d0d0d0d0d0d0d0`;
  const probe = { vpcId: hex('vpc'), subnetIds: [hex('subnet')], securityGroupId: hex('sg') };
  const consumerGroups = [
    {
      name: opts.consumerGroup.name,
      topics: [opts.consumerGroup.topic],
      maxOffsetLag: opts.consumerGroup.maxOffsetLag,
    },
  ];
  if (opts.msk) {
    if (opts.dr || cluster.security || cluster.mode !== 'kraft')
      throw new Error(
        `the MSK double presents a plain KRaft cluster with no DR peer; ${cluster.name} is ${cluster.mode}${cluster.security ? ', secured' : ''}${opts.dr ? ', paired' : ''}`,
      );
    // MSK numbers its brokers 1..N and the local cluster likewise: broker n of the MSK cluster is local broker n.
    const msk = {
      clusterArn: mskClusterArnFor(cluster.name, REGION, ACCOUNT),
      clusterName: cluster.name,
      metadataMode: 'kraft',
    };
    const entry = {
      name: cluster.name,
      platform: 'msk',
      msk,
      brokerCount: cluster.brokers.length,
      bootstrapServers: cluster.bootstrapServers.split(','),
      probe,
      policy: { mode: opts.policyMode },
      consumerGroups,
    };
    return validateConfig({ deployment: DEPLOYMENT, region: REGION, clusters: [entry] }, 'drill configuration');
  }
  // Instance ids of the DR cluster's hosts are offset, so no two hosts of the pair share one.
  const entry = (c: LocalCluster, instanceOffset: number) => {
    const ids = c.brokers.map((b) => b.id);
    // A secured cluster: the healer speaks its SECURED listener, the secrets by id as in a deployment.
    const secured = c.security;
    const ref = secured?.secrets().ref;
    return {
      name: c.name,
      platform: 'ec2',
      ec2: {
        metadataMode: c.mode,
        brokers: ids.map((id) => ({ id, instanceId: instanceIdFor(instanceOffset + id) })),
        kafkaServiceName: 'kafka',
        ...(c.mode === 'zookeeper'
          ? {
              zookeeper: {
                instanceIds: (c.zookeeper?.nodes ?? []).map((z) =>
                  instanceIdFor(instanceOffset + ZK_HOST_OFFSET + z.id),
                ),
              },
            }
          : {}),
        ...(secured ? { clientPropertiesFile: secured.clientProperties } : {}),
      },
      ...(ref
        ? {
            security: {
              protocol: ref.protocol,
              ...(ref.mechanism ? { mechanism: ref.mechanism } : {}),
              ...(ref.credentialsSecret ? { credentialsSecret: ref.credentialsSecret } : {}),
              ...(ref.tls ? { tls: ref.tls } : {}),
            },
          }
        : {}),
      brokerCount: ids.length,
      bootstrapServers: (secured?.bootstrapServers ?? c.bootstrapServers).split(','),
      probe,
      policy: { mode: opts.policyMode },
    };
  };
  const primary = { ...entry(cluster, 0), consumerGroups };
  const dr = opts.dr ? opts.dr.site.configDr(opts.dr.settings) : undefined;
  const clusters =
    dr && opts.dr
      ? [
          { ...primary, dr: dr.primary },
          { ...entry(opts.dr.site.dr, 1000), dr: dr.dr },
        ]
      : [primary];
  return validateConfig({ deployment: DEPLOYMENT, region: REGION, clusters }, 'drill configuration');
}

export interface LocalHealer {
  store: IncidentStore;
  tableName: string;
  sfn: SfnDouble;
  evaluator: AlarmEvaluator;
  policy: RuntimePolicy;
  outbox: SnsMessage[];
  /** The local PagerDuty Events v2 receiver the ladder pages through. */
  pagerDuty: PagerDutyReceiver;
  /** Notifications parked on the retry queue (PagerDuty and SNS both failed). */
  retryQueue: string[];
  calls: RecordedCall[];
  approvals: ApprovalTaskBinding;
  /** The workflow id (WORKFLOWS) a local state machine ARN runs; the ladder and escalation-notify are both `escalation`. */
  workflowOf(stateMachineArn: string): string;
  /** Workflows with an ASL file that renders here, and those without. */
  workflows: { available: Workflow[]; missing: string[] };
  alarmTransitions: AlarmTransition[];
  /** ZooKeeper mode: the ZookeeperQuorumLost rule's transitions (zookeeper-alerts.ts). */
  zkAlerts: ZkRuleTransition[];
  /** With the `prometheus` option: the running Prometheus and Alertmanager, and the webhook they post to. */
  monitoring?: { stack: MonitoringStack; webhook: AlertWebhook };
  probeRuns: number;
  /** The `msk` option: the MSK cluster ARN the local cluster answers to. */
  mskClusterArn?: string;
  /** Every probe run's verdict, in order (the drill's health measure, the same probe the alarms read). */
  probeLog: ProbeLogEntry[];
  /** Starts probing and alarm evaluation. */
  startMonitoring(): void;
  /** Stops probing; running executions go on. */
  stopMonitoring(): Promise<void>;
  /** Puts matching alarms into ALARM now (a spurious alarm) through the normal event path. */
  /** Forces the alarms `match` picks into ALARM; a per-broker alarm only for `broker`. */
  fireAlarm(match: (spec: AlarmTransition['spec']) => boolean, why: string, broker?: number): number;
  /** One firing Alertmanager webhook alert for the cluster into ingest, as the webhook API delivers it. */
  sendAlert(alert: (typeof INJECTABLE_ALERTS)[number], why: string): void;
  /** Waits until the queues are empty and every execution ended. */
  settled(): Promise<void>;
  close(): Promise<void>;
}

export async function startLocalHealer(opts: HealerOptions): Promise<LocalHealer> {
  const { cluster } = opts;
  const emit = opts.onEvent;
  const policy = parsePolicy(opts.policy);
  const config = drillConfig(cluster, {
    policyMode: policy.mode,
    consumerGroup: opts.consumerGroup,
    ...(opts.dr ? { dr: opts.dr } : {}),
    ...(opts.msk ? { msk: opts.msk } : {}),
  });
  const clusterConfig = config.clusters[0];
  if (!clusterConfig) throw new Error('drill configuration has no cluster');
  const facts = clusterFacts(config);

  // Incident store: the real IncidentStore over DynamoDB Local.
  const tableName = `kafka-heal-drill-${cluster.name}-${Date.now()}`;
  const ddb = opts.dynamo.client();
  await createIncidentTable(ddb, tableName);
  const store = new IncidentStore({ client: documentClient(ddb), tableName });

  // Runtime policy: what the operator keeps in SSM Parameter Store, here from the scenario.
  const policies: PolicySource = {
    get: () =>
      Promise.resolve({
        policy,
        origin: 'ssm',
        parameterName: `/kafka-heal/${DEPLOYMENT}/clusters/${cluster.name}/policy`,
      }),
  };

  // Hosts: one systemctl shim per broker, so the SSM documents drive the local JVMs (MSK has no hosts).
  const shims = new Map<number, SystemctlShim>();
  if (!opts.msk) for (const b of cluster.brokers) shims.set(b.id, await startSystemctlShim(cluster, b.id));
  // ZooKeeper mode: a host per ZooKeeper server too (instance ids 100+), for quorum-recovery's runbooks.
  const zkNodes = cluster.zookeeper?.nodes ?? [];
  for (const z of zkNodes) shims.set(ZK_HOST_OFFSET + z.id, await startSystemctlShim(zookeeperShimView(cluster), z.id));
  const hosts = Object.fromEntries(
    [...shims].map(([id, shim]) => [instanceIdFor(id), { binDirs: [shim.binDir], env: shim.env }]),
  );
  const runner = runbookRunner({ hosts, documentPrefix: `kafka-heal-${DEPLOYMENT}-`, maxStepMs: 180_000 });
  const ssm = ssmBindings({
    run: runner.run,
    validate: runner.validate,
    isManaged: runner.isManaged,
    invisibleForPolls: 1,
  });

  // A secured cluster: the healer reaches the SECURED listener with what the operators keep in
  // Secrets Manager (here its double, read through the shipped loader and its cache).
  const secured = cluster.security?.secrets();
  const secretsManager = new SecretsManagerDouble(secured?.values ?? {});
  const secretCache = new SecretCache(secretsManager);
  const loaders = new Map<string, SecurityLoader | undefined>();
  const clusterSecurity = (c: ProbeClusterConfig) => {
    if (!loaders.has(c.name)) loaders.set(c.name, securityLoader(c.security, secretCache));
    return loaders.get(c.name);
  };
  const servers = (cluster.security?.bootstrapServers ?? cluster.bootstrapServers).split(',');
  const probeConfig: ProbeClusterConfig = {
    name: cluster.name,
    bootstrapServers: servers,
    brokerCount: cluster.brokers.length,
    brokerIds: cluster.brokers.map((b) => b.id),
    consumerGroups: [{ name: opts.consumerGroup.name, topics: [opts.consumerGroup.topic] }],
    ...(secured ? { security: secured.ref } : {}),
  };
  const heapDumpDirs: string[] = [];
  for (const b of cluster.brokers) {
    try {
      heapDumpDirs.push(cluster.disk(b.id).heapDumpDir);
    } catch {
      // No size-limited disk (not root): no dump dir on a data disk either.
    }
  }
  // The consumer-lag workflow's view of the drill's group: its owning team's topic and an SNS scale hook (both the outbox).
  const lagTarget = {
    consumerGroups: [
      {
        name: opts.consumerGroup.name,
        topics: [opts.consumerGroup.topic],
        ownerTeam: 'drill-team',
        ownerTopicArn: ARNS.ownerTopic,
        maxOffsetLag: opts.consumerGroup.maxOffsetLag,
        scaleHook: { kind: 'sns' as const, topicArn: ARNS.scaleTopic },
      },
    ],
    lagThresholds: {
      lagSev3: policy.thresholds.lagSev3,
      lagSev2: policy.thresholds.lagSev2,
      lagSev1: policy.thresholds.lagSev1,
    },
  };
  // MSK: the target the stack derives from the config (its cluster ARN, no hosts).
  const targets: ClusterTargetConfig[] =
    clusterConfig.platform === 'msk'
      ? [{ ...clusterTarget(clusterConfig, ARNS.clusterSteps(cluster.name)), ...lagTarget }]
      : [
          {
            cluster: cluster.name,
            platform: 'ec2',
            clusterStepsFunction: ARNS.clusterSteps(cluster.name),
            brokers: cluster.brokers.map((b) => ({
              id: b.id,
              instanceId: instanceIdFor(b.id),
              // Kafka's CLI on the host and the diagnosis's listener check use the listener the healer speaks.
              listenerPort: b.securedPort ?? b.port,
              serverProperties: join(cluster.workDir, `broker-${b.id}`, 'server.properties'),
              appLogDir: join(cluster.workDir, `broker-${b.id}`),
            })),
            serviceName: 'kafka',
            ...(cluster.security ? { commandConfig: cluster.security.clientProperties } : {}),
            // kafka-cli-action's KafkaHome on the local hosts: Kafka's tool scripts over the cluster's jars.
            kafkaHome: await writeKafkaHome(join(cluster.workDir, 'kafka-home'), cluster.mode),
            ...lagTarget,
            // Heap dumps land on each broker's data disk (where fill-disk leaves one). The "hosts" share
            // one filesystem here, so each broker's cleanup sees every broker's dump dir.
            ...(heapDumpDirs.length > 0 ? { diskPressure: { heapDumpDirs: heapDumpDirs.slice(0, 8) } } : {}),
            // quorum-recovery's view of the ensemble: each server's host, unit, client port and data dir.
            ...(cluster.mode === 'zookeeper'
              ? {
                  quorum: {
                    metadataMode: 'zookeeper' as const,
                    zookeeper: zkNodes.map((z) => ({
                      instanceId: instanceIdFor(ZK_HOST_OFFSET + z.id),
                      serviceName: 'zookeeper',
                      clientPort: z.port,
                      dataDir: join(cluster.workDir, `zk-${z.id}`, 'data'),
                    })),
                    backupDir: join(cluster.workDir, 'metadata-backups'),
                  },
                }
              : {}),
          },
        ];
  // dr-failover reads both ends of the pair: the primary's record and the DR cluster's steps.
  const drTargets = opts.dr ? opts.dr.site.targetsDr(opts.dr.settings) : undefined;
  const drName = opts.dr?.site.dr.name;
  if (drTargets && drName !== undefined && targets[0]) {
    targets[0].dr = drTargets.primary;
    targets.push({
      cluster: drName,
      platform: 'ec2',
      clusterStepsFunction: ARNS.clusterSteps(drName),
      dr: drTargets.dr,
    });
  }
  const drSteps = opts.dr?.site.drSteps([
    {
      name: opts.dr.site.dr.name,
      bootstrapServers: opts.dr.site.dr.bootstrapServers.split(','),
      brokerCount: opts.dr.site.dr.brokers.length,
    },
  ]);
  // The primary's own cluster steps take the DR workflows' dr-site-probe too, as the deployed function does (dr-* steps).
  const primaryDrSteps = opts.dr?.site.drSteps([probeConfig]);
  const outbox: SnsMessage[] = [];
  const sns = (input: Json): Json => {
    const p = (input ?? {}) as Record<string, Json>;
    const msg: SnsMessage = {
      at: Date.now(),
      topicArn: String(p.TopicArn),
      message: typeof p.Message === 'string' ? p.Message : JSON.stringify(p.Message),
    };
    if (typeof p.Subject === 'string') msg.subject = p.Subject;
    outbox.push(msg);
    // The subject and the message itself: what a subscriber got is part of the drill's evidence.
    emit({
      at: msg.at,
      source: 'notification',
      event: 'sns:published',
      detail: `${msg.topicArn.split(':').at(-1) ?? ''}: ${msg.subject === undefined ? '' : `${msg.subject} `}${msg.message.slice(0, 2000)}`,
    });
    return { MessageId: `local-${outbox.length}` };
  };
  // SNS (the outbox) for the Lambdas that publish themselves: consumer-lag's owning team and SNS
  // scale hook (act-on-lag), the notify chain's severity topics.
  const snsClient = snsClientDouble(sns);
  const workflowSteps = makeWorkflowStepsHandler({
    ...store,
    targets: () => targets,
    now: () => new Date(),
    diskCriticalPercent: policy.thresholds.diskCriticalPercent,
    // The drill's group has an SNS scale hook; a function hook would be unknown here, as to lambda:invoke.
    lagClients: {
      sns: snsClient as LagActionClients['sns'],
      lambda: lambdaClientDouble({}) as LagActionClients['lambda'],
    },
  });
  const zkServers = zkNodes.map((z) => `127.0.0.1:${z.port}`);
  const clusterSteps = makeClusterStepsHandler({
    clusters: () => [probeConfig],
    security: clusterSecurity,
    probe: probeCluster,
    timeoutMs: 5000,
    // ZooKeeper mode: quorum-recovery's confirm and verify also ask the ensemble itself.
    ...(zkServers.length > 0 ? { ensemble: () => observeEnsemble(zkServers) } : {}),
  });

  const approvals = approvalBinding({
    decide: async (request) => {
      emit({
        at: Date.now(),
        source: 'approval',
        event: 'approval:requested',
        detail: `${request.workflow}: ${request.summary}`,
      });
      const answer = await opts.approvals.decide();
      emit({
        at: Date.now(),
        source: 'approval',
        event: answer === 'never' ? 'approval:unanswered' : `approval:${answer.decision}`,
        detail: answer === 'never' ? 'nobody answers; the request times out' : `by ${answer.by}`,
      });
      return answer;
    },
    timeScale: opts.timeScale ?? 0.05,
  });

  // Notifications: PagerDuty Events v2 over HTTP to the local receiver, then SNS (the outbox),
  // then the retry queue, through the shipped notify() chain.
  // With an on-call responder: the PagerDuty webhook answers on loopback, signed with a secret made
  // for this drill (in AWS it lives in Secrets Manager).
  let pagerDutyApi: ApiServer | undefined;
  let responder: ResponderOptions | undefined;
  if (opts.pagerDuty) {
    const secret = randomBytes(32).toString('base64');
    const handler = makePagerDutyWebhookHandler({
      ...store,
      records: new LifecycleRecords(documentClient(ddb), tableName),
      secret: { get: () => Promise.resolve(Buffer.from(secret)) },
      now: () => new Date(),
    });
    pagerDutyApi = await startApiServer({ routes: [{ methods: ['POST'], path: '/pagerduty', handler }] });
    const who = opts.pagerDuty.responder;
    responder = {
      acknowledgeAfterMs: opts.pagerDuty.acknowledgeAfterMs,
      name: who,
      webhook: { url: `${pagerDutyApi.baseUrl}/pagerduty`, secret },
      onPost: (p) =>
        emit({
          at: Date.parse(p.at),
          source: 'notification',
          event: 'pagerduty:acknowledged',
          detail: `${who} acknowledged ${p.dedupKey} in PagerDuty; the webhook answered ${p.status ?? p.error ?? '?'}`,
        }),
    };
  }
  const pagerDuty: PagerDutyReceiver = await startPagerDutyReceiver(responder ? { responder } : {});
  const retryQueue: string[] = [];
  const notifyDeps: NotifyDeps = {
    pagerDuty: new PagerDutyClient({ routingKey: staticRoutingKey('drill'.padEnd(32, '0')), endpoint: pagerDuty.url }),
    sns: snsClient as NotifyDeps['sns'],
    snsTopicArns: { critical: ARNS.criticalTopic, warning: ARNS.warningTopic },
    sqs: {
      send: (cmd: unknown) => {
        retryQueue.push(String((cmd as { input: { MessageBody?: string } }).input.MessageBody));
        return Promise.resolve({ MessageId: `local-retry-${retryQueue.length}` });
      },
    } as NotifyDeps['sqs'],
    retryQueueUrl: `https://sqs.local/000000000000/kafka-heal-${DEPLOYMENT}-notify-retry`,
  };
  const escalationSteps = makeEscalationHandler({
    ...store,
    notify: async (n) => {
      const r = await notify(n, notifyDeps);
      emit({
        at: Date.now(),
        source: 'notification',
        event: `notify:${n.kind}`,
        detail: `${n.severity} ${n.incidentType} via ${r.via ?? 'nothing'}${n.level === undefined ? '' : ` (level ${n.level})`}`,
      });
      return r;
    },
    now: () => new Date(),
    policy: scaledEscalationPolicy(LADDER_TIME_FACTOR),
    policies,
  });

  const subs = workflowSubstitutions();
  const definitions = new Map<string, { workflow: Workflow | 'escalation' | 'ssm-run'; def: AslDefinition }>();
  const available: Workflow[] = [];
  const missing: string[] = [];
  // escalation-notify runs nested (recovery workflows, the ladder's broadcast); the classifier's
  // escalation workflow is the ladder when its ASL file exists.
  definitions.set(ARNS.escalation, {
    workflow: 'escalation',
    def: parseDefinition(readFileSync(aslFile('escalation-notify'), 'utf8'), subs),
  });
  definitions.set(ARNS.ssmRun, {
    workflow: 'ssm-run',
    def: parseDefinition(readFileSync(aslFile('ssm-run'), 'utf8'), subs),
  });
  const ladderFile = aslFile('escalation');
  const hasLadder = existsSync(ladderFile);
  for (const w of WORKFLOWS) {
    // A rendered workflow (dr-failover, dr-failback) comes from its template, rendered as the stack renders it.
    const file =
      w === 'escalation'
        ? hasLadder
          ? ladderFile
          : aslFile('escalation-notify')
        : aslFile(RENDERED_WORKFLOWS[w]?.template ?? w);
    if (!existsSync(file)) {
      missing.push(`${w}: no ${file.split('/').at(-1) ?? ''} yet`);
      continue;
    }
    try {
      definitions.set(w === 'escalation' ? (hasLadder ? ARNS.ladder : ARNS.escalation) : ARNS.workflow(w), {
        workflow: w,
        def: parseDefinition(w === 'escalation' ? readFileSync(file, 'utf8') : definitionText(w), subs, file),
      });
      available.push(w);
    } catch (err) {
      missing.push(`${w}: ${(err as Error).message}`);
    }
  }

  let registry: BindingRegistry = {};
  const run = (
    stateMachineArn: string,
    input: unknown,
    execution: { name: string; id: string; signal?: AbortSignal },
  ): Promise<RunResult> => {
    const entry = definitions.get(stateMachineArn);
    if (!entry) throw new Error(`no local state machine ${stateMachineArn}`);
    const started = Date.now();
    const label = stateMachineArn === ARNS.escalation ? 'escalation-notify' : entry.workflow;
    return runWorkflow({
      definition: entry.def,
      input,
      bindings: registry,
      timeScale: opts.timeScale ?? 0.05,
      // The verify backoffs keep real seconds so a restarted broker has time to catch up, polled often;
      // cascade-recovery's whole-cluster check keeps its ~47 s (10 + 15 + 22.5 s) for replication and lag after the throttle;
      // quorum-recovery's validation likewise (10 + 15 + 22.5 s in the ASL): three brokers started one after another
      // re-register and catch up in real seconds (at 1/20 a loaded machine escalated a recovery that was nearly done).
      retryOverrides: {
        ...totalPreservingRetries(entry.def, opts.timeScale ?? 0.05),
        'Verify Broker Rejoined': [1000, -1],
        'Verify Cluster Recovered': [15_000, -1],
        'Verify Quorum Restored': [15_000, -1],
      },
      // The ladder's waits run to timestamps; its scaled policy makes them short, polled here.
      waitOverrides: { 'Wait For Next Step': 250 },
      execution: { name: execution.name, id: execution.id, stateMachineArn },
      ...(execution.signal ? { signal: execution.signal } : {}),
      onEvent: (e: RunEvent) => {
        if ((e.type === 'StateEntered' || e.type === 'StateExited') && e.stateName) {
          emit({
            at: e.timestamp,
            source: 'state',
            event: e.type === 'StateEntered' ? 'state:entered' : 'state:exited',
            detail: `${label}: ${e.stateName}`,
          });
        } else if (e.type === 'ExecutionFailed' || e.type === 'ExecutionSucceeded' || e.type === 'ExecutionAborted') {
          emit({
            at: e.timestamp,
            source: 'workflow',
            event: `execution:${e.type.replace('Execution', '').toLowerCase()}`,
            detail: `${label} after ${((e.timestamp - started) / 1000).toFixed(1)} s${e.error ? `: ${e.error}` : ''}`,
          });
        }
      },
    });
  };
  /** A nested execution (states:startExecution.sync:2) of a drill state machine, named after its parent. */
  const nested = (arn: string, label: string, input: Json, parent: string): Promise<RunResult> => {
    const name = `${parent}-${label}-${Date.now()}`;
    emit({ at: Date.now(), source: 'workflow', event: 'execution:started', detail: `${label} ${name} (nested)` });
    // Named, so a parent's children can be told apart from a top-level run of the same workflow.
    return run(arn, input, { name, id: `${arn.replace(':stateMachine:', ':execution:')}:${name}` }).finally(() =>
      emit({ at: Date.now(), source: 'workflow', event: 'execution:returned', detail: `${label} ${name} (nested)` }),
    );
  };
  const recorded = recordCalls({
    [RESOURCES.lambdaInvoke]: lambdaInvokeBinding({
      [ARNS.workflowSteps]: (p: Json) => workflowSteps(WorkflowStepSchema.parse(p)),
      [ARNS.clusterSteps(cluster.name)]: (p: Json) =>
        primaryDrSteps && String((p as { step?: unknown } | null)?.step).startsWith('dr-')
          ? primaryDrSteps(DrStepSchema.parse(p))
          : clusterSteps(ClusterStepSchema.parse(p)),
      [ARNS.escalationSteps]: (p: Json) => escalationSteps(EscalationStepSchema.parse(p)),
      ...(drSteps && drName !== undefined
        ? { [ARNS.clusterSteps(drName)]: (p: Json) => drSteps(DrStepSchema.parse(p)) }
        : {}),
    }),
    // dr-failover's Route 53 calls change the site's zone, the one the drill's clients resolve.
    ...(opts.dr ? opts.dr.site.bindings() : {}),
    ...ssm.registry,
    // An MSK drill: MSK's control plane for the drill cluster's ARN, RebootBroker restarting the
    // local broker. An EC2 drill's cluster runs on "EC2" hosts: every MSK call (disk-pressure's
    // storage branch, msk-broker-recovery) answers as the service would for an unknown cluster.
    // Bound either way so those workflows start at all (the local runtime refuses unbound Tasks).
    ...(clusterConfig.platform === 'msk'
      ? localMskDouble(cluster, {
          clusterArn: clusterConfig.msk.clusterArn,
          ...(opts.msk?.refuseReboot === undefined ? {} : { refuseReboot: opts.msk.refuseReboot }),
        }).registry
      : {
          ...mskBindings({
            clusterState: () => undefined,
            reboot: (arn) => Promise.reject(new Error(`no MSK cluster ${arn} in a drill`)),
          }).registry,
          ...mskStorageBindings({ clusters: {} }).registry,
        }),
    [RESOURCES.snsPublish]: sns,
    [APPROVAL_RESOURCE]: approvals,
    [RESOURCES.startExecutionSync2]: startExecutionSyncBinding({
      [ARNS.escalation]: (input, call) => nested(ARNS.escalation, 'escalation', input, call.execution.name),
      [ARNS.ssmRun]: (input, call) => nested(ARNS.ssmRun, 'ssm-run', input, call.execution.name),
      // broker-recovery's hand-off of a full data disk (the DiskPressureStateMachineArn substitution).
      [ARNS.workflow('disk-pressure')]: (input, call) =>
        nested(ARNS.workflow('disk-pressure'), 'disk-pressure', input, call.execution.name),
      // cascade-recovery recovers each broker by a nested single-broker workflow (its BrokerRecoveryStateMachineArn / MskBrokerRecoveryStateMachineArn).
      [ARNS.workflow('broker-recovery')]: (input, call) =>
        nested(ARNS.workflow('broker-recovery'), 'broker-recovery', input, call.execution.name),
      [ARNS.workflow('msk-broker-recovery')]: (input, call) =>
        nested(ARNS.workflow('msk-broker-recovery'), 'msk-broker-recovery', input, call.execution.name),
    }),
  });
  registry = recorded.registry;

  const sfn = new SfnDouble(({ stateMachineArn, executionArn, name, input, signal }) => {
    emit({
      at: Date.now(),
      source: 'workflow',
      event: 'execution:started',
      detail: `${definitions.get(stateMachineArn)?.workflow ?? stateMachineArn} ${name}`,
    });
    return run(stateMachineArn, input, { name, id: executionArn, signal });
  });
  const workflowArns: Record<string, string> = {};
  for (const w of available)
    workflowArns[workflowArnEnvName(w)] =
      w === 'escalation' ? (hasLadder ? ARNS.ladder : ARNS.escalation) : ARNS.workflow(w);

  const classify = createClassifyHandler({
    ...store,
    sfn: sfn as unknown as SFNClient,
    policies,
    clusters: facts,
    workflowArns,
    now: () => new Date(),
  });
  const onError = (err: unknown) =>
    emit({
      at: Date.now(),
      source: 'classifier',
      event: 'handler:error',
      detail: err instanceof Error ? `${err.name}: ${err.message}` : String(err),
    });
  // As the stack's event sources: classify up to 10 batches at once (maxConcurrency 10), ingest likewise.
  const signals = new LocalQueue({ arn: ARNS.signalsQueue, consumer: classify, onError, concurrency: 10 });
  const sqs = sqsClientDouble({ [signals.url]: signals });
  // As in AWS, an alarm's signals go on only when it is this deployment's: its marker, and the
  // stack-name tag CloudFormation would have put on it (the evaluator's alarms are the stack's).
  const stackName = `KafkaHeal-${DEPLOYMENT}`;
  const ownTags = async (arn: string) =>
    specs.some((sp) => arn === `arn:aws:cloudwatch:${REGION}:${ACCOUNT}:alarm:${sp.alarmName}`)
      ? { [STACK_NAME_TAG]: stackName }
      : undefined;
  const routing = alertRouting(config);
  const ingest = createIngestHandler({
    sqs: sqs as unknown as SQSClient,
    signalsQueueUrl: signals.url,
    ...store,
    clusters: facts,
    routing,
    now: () => new Date(),
    deployment: DEPLOYMENT,
    alarms: new AlarmOwnership(stackName, ownTags),
  });
  const alarmQueue = new LocalQueue({ arn: ARNS.alarmQueue, consumer: ingest, onError, concurrency: 10 });
  // The probe's fast-detection findings: SendMessage to the ingest queue, as the deployed probe sends them.
  const sendProbeResult = ingestQueueSender(
    sqsClientDouble({ [alarmQueue.url]: alarmQueue }) as unknown as SQSClient,
    alarmQueue.url,
  );

  let monitoring = false;
  // Monitored drills: Alertmanager posts to the webhook (authorizer + handler) while monitoring is on;
  // before and after, it is answered 503 and Alertmanager retries, as with a webhook briefly down.
  let promStack: LocalHealer['monitoring'];
  if (opts.prometheus) {
    const webhookHandler = createWebhookHandler({
      sqs: sqs as unknown as SQSClient,
      signalsQueueUrl: signals.url,
      ...store,
      clusters: facts,
      routing,
      now: () => new Date(),
    });
    const dir = join(cluster.workDir, `monitoring-${Date.now()}`);
    mkdirSync(dir, { recursive: true });
    const webhook = await startAlertWebhook({
      tokenFile: join(dir, 'alertmanager-token'),
      handler: (e) =>
        monitoring
          ? webhookHandler(e)
          : Promise.resolve({ statusCode: 503, body: '{"message":"the drill is not monitoring"}' }),
      onRequest: (r) => {
        if (r.status === 503) return;
        for (const e of webhookAlertEvents(r)) emit(e);
      },
    });
    try {
      const stack = await startMonitoringStack({
        workDir: dir,
        targets: {
          cluster: cluster.name,
          brokers: opts.prometheus.exporters.brokerPorts,
          zookeepers: opts.prometheus.exporters.zookeeperPorts,
        },
        mode: cluster.mode,
        scale: {
          secondsPerMinute: opts.alarmPeriodSeconds,
          floorSeconds: { 'quorum-loss': ELECTION_FLOOR_SECONDS, 'controller-missing': ELECTION_FLOOR_SECONDS },
          sustainedSeconds: opts.sustainedWindowSeconds,
        },
        scrapeSeconds: Math.max(0.5, opts.alarmPeriodSeconds / 2),
        webhookUrl: webhook.url,
        tokenFile: webhook.tokenFile,
      });
      promStack = { stack, webhook };
    } catch (err) {
      await webhook.close();
      await Promise.allSettled([
        ...[...shims.values()].map((sh) => sh.close()),
        pagerDuty.close(),
        pagerDutyApi?.stop(),
      ]);
      ddb.destroy();
      throw err;
    }
  }
  const cloudwatchAlarms = opts.prometheus?.cloudwatchAlarms ?? true;

  // Alarms: the deployed specs, evaluated over the probe's metrics.
  const specs = clusterAlarmSpecs(DEPLOYMENT, clusterConfig);
  const evaluatorOptions = {
    periodSeconds: opts.alarmPeriodSeconds,
    sustainedWindowSeconds: opts.sustainedWindowSeconds,
    electionWindowSeconds: ELECTION_WINDOW_SECONDS,
    graceFraction: 0.5,
  };
  let evaluator = new AlarmEvaluator(specs, { ...evaluatorOptions, startMs: Date.now() });
  const alarmTransitions: AlarmTransition[] = [];
  // When each alarm entered its current state: auto-resolve reads it as CloudWatch's StateTransitionedTimestamp.
  const alarmSince = new Map<string, number>();
  let monitoringSince = Date.now();
  const deliver = (trs: AlarmTransition[]) => {
    for (const tr of trs) {
      alarmTransitions.push(tr);
      if (tr.contributor === undefined) alarmSince.set(tr.spec.alarmName, tr.at);
      // CloudWatch also reports INSUFFICIENT_DATA -> OK; it carries no fault and is left out.
      if (tr.from === 'INSUFFICIENT_DATA' && tr.to === 'OK') continue;
      // A grouped alarm's own change only counts its contributors: CloudWatch sends it, the normalizer ignores it.
      const broker = tr.contributor?.attributes['Broker ID'];
      emit({
        at: tr.at,
        source: 'alarm',
        event: `alarm:${tr.to}`,
        detail: `${tr.spec.alarmName} (${tr.spec.alarmKind}${broker === undefined ? '' : ` broker ${broker}`}) ${tr.reason}`,
      });
      alarmQueue.send(JSON.stringify(alarmStateChangeEvent(tr, { region: REGION, account: ACCOUNT })));
    }
  };

  const brokerIds = cluster.brokers.map((b) => b.id);
  // The probe publishes to the deployment's namespace, as the deployed probe does (POWERTOOLS_METRICS_NAMESPACE).
  const probeNs = metricsNamespace(DEPLOYMENT);
  const toSamples = (docs: MetricDocument[]): MetricSample[] =>
    docs.flatMap((d) =>
      d.metrics.map((m) => ({ namespace: probeNs, name: m.name, dimensions: d.dimensions, value: m.value })),
    );
  const probeHandler = makeProbeHandler({
    clusters: () => [probeConfig],
    security: clusterSecurity,
    probe: probeCluster,
    // What the handler publishes is rebuilt from its returned snapshot below (runs overlap here).
    publish: () => undefined,
    sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
    now: Date.now,
    rounds: 1,
    intervalMs: opts.probeIntervalMs,
    // The probe Lambda's default (PROBE_TIMEOUT_MS): a busy machine must not read as an unreachable broker.
    timeoutMs: 5000,
    ...(opts.recheckSeconds
      ? {
          recheckMs: opts.recheckSeconds * 1000,
          sendResult: async (event: ProbeResultEvent) => {
            const what = event.findings.map((f) => `${f.kind} ${f.state} brokers ${f.brokerIds.join(',')}`).join('; ');
            emit({
              at: Date.now(),
              source: 'probe',
              event: 'probe:finding',
              detail: `${what} (fast detection, observed ${event.observedAt})`,
            });
            await sendProbeResult(event);
          },
        }
      : {}),
  });
  const diskSamples = (): MetricSample[] => {
    const out: MetricSample[] = [];
    // MSK hosts run no CloudWatch agent (MSK's own disk series is AWS/Kafka KafkaDataLogsDiskUsed, not simulated).
    if (clusterConfig.platform === 'msk') return out;
    for (const b of cluster.brokers) {
      try {
        // As the agent configured by docs/deploying.md reports it: its instance, cluster and broker.
        out.push({
          namespace: 'CWAgent',
          name: 'disk_used_percent',
          dimensions: { InstanceId: instanceIdFor(b.id), 'Cluster Name': cluster.name, 'Broker ID': String(b.id) },
          value: cluster.disk(b.id).usedPercent,
        });
      } catch {
        // No size-limited disk for this broker (not root): the CloudWatch agent would see the host disk.
      }
    }
    return out;
  };

  let probeRuns = 0;
  const probeLog: LocalHealer['probeLog'] = [];
  let loop: Promise<void> | undefined;
  let evalTimer: NodeJS.Timeout | undefined;
  // The auto-resolver, on the schedule AWS runs it (every minute: one alarm period here), over the
  // evaluator's alarms as the deployed function reads CloudWatch's (functions/lifecycle/auto-resolve.ts).
  let autoResolveTimer: NodeJS.Timeout | undefined;
  let autoResolving: Promise<unknown> = Promise.resolve();
  const watchesProbe = (spec: AlarmSpec) =>
    spec.source.type === 'metric'
      ? spec.source.metric.namespace === probeNs
      : spec.source.query.includes(`SCHEMA("${probeNs}"`);
  const alarmSource: ClusterAlarmSource = {
    alarms: () =>
      Promise.resolve(
        evaluator.specs.map((spec) => ({
          name: spec.alarmName,
          state: evaluator.state(spec.alarmName) ?? 'INSUFFICIENT_DATA',
          since: new Date(alarmSince.get(spec.alarmName) ?? monitoringSince).toISOString(),
          ...(watchesProbe(spec) ? { probe: true } : {}),
        })),
      ),
  };
  const autoResolve = async () => {
    const report = await runAutoResolve({
      ...store,
      clusters: [cluster.name],
      policies,
      alarms: alarmSource,
      notify: (n) => notify(n, notifyDeps),
      now: () => new Date(),
    });
    for (const v of report.incidents)
      if (v.outcome !== 'skipped')
        emit({
          at: Date.now(),
          source: 'classifier',
          event: `auto-resolve:${v.outcome}`,
          detail: `${v.incidentId}: ${v.reason}`,
        });
  };
  // ZooKeeper mode: the exporter scrape + Prometheus rule + Alertmanager webhook stand-in
  // (zookeeper-alerts.ts), `for: 1m` as one local period but never under ZK_ELECTION_FLOOR_MS,
  // scraped twice a period. A ZooKeeper leader election takes real seconds whatever the drill's
  // time scale (restarting the leader during the recovery left the ensemble without a quorum for
  // ~5 s under load, which a 2 s window reported as a second loss); the minute covers it in production.
  const zkAlerts: ZkRuleTransition[] = [];
  const zkForMs = Math.max(opts.alarmPeriodSeconds * 1000, ZK_ELECTION_FLOOR_MS);
  let zkRule = new ZookeeperQuorumRule(cluster.name, zkForMs);
  // With real Prometheus, its ZookeeperQuorumLost rule watches the ensemble instead of the stand-in.
  const zkStandIn = zkServers.length > 0 && !opts.prometheus;
  let zkTimer: NodeJS.Timeout | undefined;
  let zkScraping = false;
  const scrapeZooKeeper = async () => {
    if (zkScraping || !monitoring) return;
    zkScraping = true;
    try {
      const tr = zkRule.evaluate(Date.now(), await observeEnsemble(zkServers));
      if (!tr || !monitoring) return;
      zkAlerts.push(tr);
      emit({
        at: tr.at,
        source: 'alarm',
        event: `alert:${tr.to}`,
        detail: `${cluster.name} ZookeeperQuorumLost (Alertmanager${tr.payload ? ' webhook' : ', not notified'}): ${tr.summary}`,
      });
      if (tr.payload) alarmQueue.send(JSON.stringify(tr.payload));
    } finally {
      zkScraping = false;
    }
  };
  // Probe runs start on a fixed schedule and may overlap (at most 6), like scheduled Lambda
  // invocations: a slow run (a hung broker's timeout, a loaded machine) never leaves a period
  // without a datapoint.
  const inFlight = new Set<Promise<void>>();
  const probeOnce = async () => {
    try {
      const r = await probeHandler({ cluster: cluster.name });
      probeRuns++;
      const troubled = r.snapshot.partitions.details.map((d) => ({
        topic: d.topic,
        partition: d.partition,
        leader: d.leader,
        isr: d.isr,
      }));
      probeLog.push({
        at: Date.now(),
        status: r.status,
        problems: r.problems,
        ...(troubled.length > 0 ? { troubled } : {}),
      });
      // EMF datapoints carry the time they are published (after the probe), as in AWS.
      if (monitoring)
        evaluator.observe(Date.now(), [
          ...toSamples(probeMetricDocuments(cluster.name, r.snapshot, brokerIds)),
          ...diskSamples(),
        ]);
    } catch (err) {
      emit({ at: Date.now(), source: 'probe', event: 'probe:error', detail: (err as Error).message });
    }
  };
  let probeTimer: NodeJS.Timeout | undefined;
  const probeLoop = () => {
    const launch = () => {
      if (!monitoring || inFlight.size >= 6) return;
      const p: Promise<void> = probeOnce().finally(() => inFlight.delete(p));
      inFlight.add(p);
    };
    launch();
    probeTimer = setInterval(launch, opts.probeIntervalMs);
    return Promise.resolve();
  };

  const healer: LocalHealer = {
    store,
    tableName,
    sfn,
    get evaluator() {
      return evaluator;
    },
    policy,
    outbox,
    pagerDuty,
    retryQueue,
    calls: recorded.calls,
    approvals,
    workflows: { available, missing },
    workflowOf: (arn) => definitions.get(arn)?.workflow ?? arn.split(':').at(-1) ?? arn,
    alarmTransitions,
    zkAlerts,
    ...(promStack ? { monitoring: promStack } : {}),
    ...(clusterConfig.platform === 'msk' ? { mskClusterArn: clusterConfig.msk.clusterArn } : {}),
    probeLog,
    get probeRuns() {
      return probeRuns;
    },
    startMonitoring() {
      if (monitoring) return;
      monitoring = true;
      evaluator = new AlarmEvaluator(specs, { ...evaluatorOptions, startMs: Date.now() });
      monitoringSince = Date.now();
      alarmSince.clear();
      loop = probeLoop();
      if (cloudwatchAlarms) {
        evalTimer = setInterval(
          () => deliver(evaluator.evaluate(Date.now())),
          Math.max(100, Math.round((opts.alarmPeriodSeconds * 1000) / 4)),
        );
        autoResolveTimer = setInterval(
          () => {
            // One run at a time, as a schedule with no overlap; a failed run is told and the next one tries again.
            autoResolving = autoResolving.then(autoResolve).catch((err: unknown) =>
              emit({
                at: Date.now(),
                source: 'classifier',
                event: 'auto-resolve:error',
                detail: (err as Error).message,
              }),
            );
          },
          Math.max(500, opts.alarmPeriodSeconds * 1000),
        );
      }
      if (zkStandIn) {
        zkRule = new ZookeeperQuorumRule(cluster.name, zkForMs);
        zkTimer = setInterval(
          () => void scrapeZooKeeper(),
          Math.max(100, Math.round((opts.alarmPeriodSeconds * 1000) / 2)),
        );
      }
    },
    async stopMonitoring() {
      monitoring = false;
      if (evalTimer) clearInterval(evalTimer);
      if (autoResolveTimer) clearInterval(autoResolveTimer);
      if (zkTimer) clearInterval(zkTimer);
      if (probeTimer) clearInterval(probeTimer);
      await loop;
      await Promise.allSettled([...inFlight, autoResolving]);
    },
    fireAlarm(match, why, broker) {
      const trs = evaluator.force(match, Date.now(), why, broker === undefined ? undefined : String(broker));
      deliver(trs);
      return trs.length;
    },
    sendAlert(alert, why) {
      const at = Date.now();
      const alertname = ALERT_NAMES[alert];
      const payload = alertmanagerWebhook({
        status: 'firing',
        groupLabels: { alertname, cluster: cluster.name },
        labels: { alertname, cluster: cluster.name, kafka_heal_kind: alert, severity: 'critical' },
        annotations: { summary: why },
        startsAt: at,
        generatorURL: 'http://127.0.0.1/prometheus/graph',
        fingerprint: `${alert}-${cluster.name}-${at}`,
      });
      emit({
        at,
        source: 'alarm',
        event: 'alert:firing',
        detail: `${cluster.name} ${alertname} (Alertmanager webhook, kafka_heal_kind ${alert}): ${why}`,
      });
      alarmQueue.send(JSON.stringify(payload));
    },
    async settled() {
      for (let i = 0; i < 3; i++) {
        await alarmQueue.idle();
        await signals.idle();
        await sfn.settled();
      }
      await ssm.settled();
    },
    async close() {
      await healer.stopMonitoring();
      if (promStack) {
        await Promise.allSettled([promStack.stack.stop(), promStack.webhook.close()]);
        // The evidence (configs, scaled rules, logs) stays; the time series do not.
        for (const d of ['prometheus-data', 'alertmanager-data'])
          rmSync(join(dirname(promStack.webhook.tokenFile), d), { recursive: true, force: true });
      }
      alarmQueue.close();
      signals.close();
      await Promise.allSettled([...shims.values()].map((s) => s.close()));
      await pagerDuty.close();
      await pagerDutyApi?.stop();
      ddb.destroy();
    },
  };
  return healer;
}
