// The broker recovery workflows and everything they call: the host runbooks they run (SSM
// Command documents from runbooks/), the workflow steps Lambda (incident table, outside any VPC),
// one cluster steps Lambda per cluster (inside the cluster's VPC, reads Kafka only), and the two
// state machines (broker-recovery for EC2 clusters, msk-broker-recovery for MSK clusters).
//
// IAM is written by hand, because DefinitionBody.fromFile hides the Tasks from CDK:
// - ssm:SendCommand only with the project's two documents, and only on the configured broker
//   instances (by id) or on instances carrying the cluster's broker tag (ssm:resourceTag condition);
// - kafka:RebootBroker and kafka:DescribeClusterV2 only on the configured MSK cluster ARNs;
// - lambda:InvokeFunction only on the step functions above and the approval request function;
//   states:StartExecution only on the escalation workflow (plus what .sync:2 needs to follow that execution).
//
// The stack (infra/stacks/healer-stack.ts) creates it, binds it to the classifier
// (WORKFLOW_ARN_BROKER_RECOVERY / _MSK_BROKER_RECOVERY + StartExecution) and to self-monitoring.
import { Annotations, ArnFormat, Duration, Fn, Stack, Validations, type CfnElement } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { SecurityGroup, Subnet, Vpc } from 'aws-cdk-lib/aws-ec2';
import { Effect, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { CfnDocument } from 'aws-cdk-lib/aws-ssm';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { IStateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { loadRunbook } from '../../functions/shared/runbooks.js';
import { parseHostPort } from '../../functions/shared/probe/index.js';
import { workflowArnEnvName } from '../../functions/shared/workflows.js';
import type { ClusterTargetConfig } from '../../functions/workflow-steps/handler.js';
import { zookeeperConnect, type ClusterConfig } from '../config/schema.js';
import { consumerLagTargetFields } from './consumer-lag-workflow.js';
import { drTargetConfig } from './dr-workflows.js';
import { HealerFunction } from './healer-function.js';
import { grantKafkaAccess } from './kafka-access.js';
import { ProbeLayer } from './probe-layer.js';
import { probeClusterEnv } from './probes.js';
import { quorumTargetFields } from './quorum-recovery-workflow.js';
import type { SelfMonitoring } from './self-monitoring.js';
import { HealerWorkflow } from './workflows.js';

/** The host runbooks the broker recovery runs, by file name under runbooks/. */
export const RECOVERY_RUNBOOKS = { diagnose: 'kafka-diagnose-host', restart: 'kafka-restart-broker' } as const;

/** Matches the ASL TimeoutSeconds: inside the classifier's 60-minute remediation lock TTL. */
export const RECOVERY_TIMEOUT = Duration.seconds(3300);

export function runbookDocumentName(deployment: string, runbook: string): string {
  return `kafka-heal-${deployment}-${runbook}`;
}

/** The substitutions broker-recovery.asl.json needs. */
export function brokerRecoverySubstitutions(s: {
  workflowStepsFunctionArn: string;
  escalationStateMachineArn: string;
  /** The approval request Lambda (lambda:invoke.waitForTaskToken) a run asks when the decision was await-approval. */
  approvalFunctionArn: string;
  deployment: string;
  /** disk-pressure, which a full data disk is handed to (nested). Default: its ARN in a local account (the drills bind it by this ARN). */
  diskPressureStateMachineArn?: string;
}): Record<string, string> {
  return {
    WorkflowStepsFunctionArn: s.workflowStepsFunctionArn,
    EscalationStateMachineArn: s.escalationStateMachineArn,
    ApprovalFunctionArn: s.approvalFunctionArn,
    DiskPressureStateMachineArn: s.diskPressureStateMachineArn ?? `arn:aws:states:local:000000000000:stateMachine:kafka-heal-${s.deployment}-disk-pressure`,
    DiagnoseDocumentName: runbookDocumentName(s.deployment, RECOVERY_RUNBOOKS.diagnose),
    RestartDocumentName: runbookDocumentName(s.deployment, RECOVERY_RUNBOOKS.restart),
  };
}

/** The substitutions msk-broker-recovery.asl.json needs. */
export function mskBrokerRecoverySubstitutions(s: { workflowStepsFunctionArn: string; escalationStateMachineArn: string; approvalFunctionArn: string }): Record<string, string> {
  return { WorkflowStepsFunctionArn: s.workflowStepsFunctionArn, EscalationStateMachineArn: s.escalationStateMachineArn, ApprovalFunctionArn: s.approvalFunctionArn };
}

const DEFAULT_SERVER_PROPERTIES = '/etc/kafka/server.properties';
const DEFAULT_APP_LOG_DIR = '/var/log/kafka';

/** What the workflow steps Lambda is told about one cluster (WORKFLOW_TARGETS_JSON entry). */
export function clusterTarget(cluster: ClusterConfig, clusterStepsFunction: string): ClusterTargetConfig {
  const first = cluster.bootstrapServers[0];
  const listenerPort = first === undefined ? 9092 : parseHostPort(first).port;
  const dr = drTargetConfig(cluster);
  if (cluster.platform === 'msk') {
    return { cluster: cluster.name, platform: 'msk', clusterStepsFunction, brokers: [], serviceName: 'kafka', listenerPort, serverProperties: DEFAULT_SERVER_PROPERTIES, appLogDir: DEFAULT_APP_LOG_DIR, mskClusterArn: cluster.msk.clusterArn, ...(dr ? { dr } : {}), ...consumerLagTargetFields(cluster) };
  }
  return {
    ...(dr ? { dr } : {}),
    ...consumerLagTargetFields(cluster),
    ...quorumTargetFields(cluster),
    cluster: cluster.name,
    platform: 'ec2',
    clusterStepsFunction,
    brokers: (cluster.ec2.brokers ?? []).map((b) => ({ id: b.id, instanceId: b.instanceId })),
    serviceName: cluster.ec2.kafkaServiceName.replace(/\.service$/, ''),
    listenerPort,
    // Where Kafka's CLI runs for cascade-recovery (throttle, leader election); the runbook's default otherwise.
    ...(cluster.ec2.kafkaHome ? { kafkaHome: cluster.ec2.kafkaHome } : {}),
    // A secured listener: Kafka's CLI connects with this file on the host (only its path travels).
    ...(cluster.ec2.clientPropertiesFile ? { commandConfig: cluster.ec2.clientPropertiesFile } : {}),
    // The runbooks' own defaults; the config file does not name these paths (yet).
    serverProperties: DEFAULT_SERVER_PROPERTIES,
    appLogDir: DEFAULT_APP_LOG_DIR,
  };
}

/**
 * ZOOKEEPER_CONNECT for a self-managed ZooKeeper-mode cluster that lists its ensemble's client
 * addresses (ec2.zookeeper.connect): quorum-recovery's confirm and verify steps ask each server
 * (srvr on the client port) from the function's VPC placement, so the probe's security group must
 * be allowed into the ZooKeeper client port. Absent otherwise: the steps then judge by the probe.
 */
export function clusterStepsZookeeperEnv(cluster: ClusterConfig): { ZOOKEEPER_CONNECT?: string } {
  const servers = zookeeperConnect(cluster);
  return servers ? { ZOOKEEPER_CONNECT: servers.join(',') } : {};
}

export interface RecoveryWorkflowsProps {
  deployment: string;
  clusters: ClusterConfig[];
  table: ITable;
  escalation: IStateMachine;
  /** Name of the escalation state machine (its executions are followed by .sync:2). @default kafka-heal-<deployment>-escalation */
  escalationStateMachineName?: string;
  /** The approval request Lambda: a recovery the classifier decided await-approval asks a person through it. */
  approvalFunction: IFunction;
}

/** `<LogicalId>` as cdk-nag prints a resource reference in a finding id. */
function ref(scope: Construct, resource: Construct): string {
  return `<${Stack.of(scope).getLogicalId(resource.node.defaultChild as CfnElement)}.Arn>`;
}

export class RecoveryWorkflows extends Construct {
  readonly workflowSteps: HealerFunction;
  readonly clusterSteps = new Map<string, HealerFunction>();
  readonly documents = new Map<string, CfnDocument>();
  private readonly deployment: string;
  readonly brokerRecovery?: HealerWorkflow;
  readonly mskBrokerRecovery?: HealerWorkflow;

  constructor(scope: Construct, id: string, props: RecoveryWorkflowsProps) {
    super(scope, id);
    const d = props.deployment;
    const ec2Clusters = props.clusters.filter((c): c is Extract<ClusterConfig, { platform: 'ec2' }> => c.platform === 'ec2');
    const mskClusters = props.clusters.filter((c): c is Extract<ClusterConfig, { platform: 'msk' }> => c.platform === 'msk');

    // --- Host runbooks: the repository's files, deployed as SSM Command documents ----------
    this.deployment = d;
    if (ec2Clusters.length > 0) {
      for (const runbook of Object.values(RECOVERY_RUNBOOKS)) this.runbookDocument(runbook);
    }

    // --- Cluster steps: one per cluster, in its VPC ------------------------------------------
    const targets: ClusterTargetConfig[] = [];
    for (const cluster of props.clusters) {
      // Imported by id, no lookups (synth needs no credentials); the subnets are given explicitly.
      const vpc = Vpc.fromVpcAttributes(this, `Vpc-${cluster.name}`, { vpcId: cluster.probe.vpcId, availabilityZones: Fn.getAzs() });
      Annotations.of(vpc).acknowledgeWarning('@aws-cdk/aws-ec2:vpcAttributeIsListTokenavailabilityZones', 'The function names its subnets explicitly; the VPC\'s zone list is never read.');
      const subnets = cluster.probe.subnetIds.map((s, i) => {
        const subnet = Subnet.fromSubnetId(this, `Subnet-${cluster.name}-${i}`, s);
        Annotations.of(subnet).acknowledgeWarning('@aws-cdk/aws-ec2:noSubnetRouteTableId', 'Only Lambda VPC placement uses the subnet; nothing reads its route table.');
        return subnet;
      });
      const fn = new HealerFunction(this, `ClusterSteps-${cluster.name}`, {
        name: 'cluster-steps',
        serviceName: `cluster-steps-${cluster.name}`,
        description: `kafka-heal ${d}: confirm/check-safety/verify probes of cluster ${cluster.name} for the recovery workflows`,
        timeout: Duration.seconds(30),
        memorySize: 256,
        vpc: {
          vpc,
          subnets,
          securityGroups: [SecurityGroup.fromSecurityGroupId(this, `Sg-${cluster.name}`, cluster.probe.securityGroupId, { mutable: false })],
        },
        // The probe library comes from the stack's probe layer, not the bundle.
        layers: [ProbeLayer.of(this).binding],
        environment: { DEPLOYMENT: d, CLUSTERS_JSON: JSON.stringify([probeClusterEnv(cluster)]), ...clusterStepsZookeeperEnv(cluster) },
      });
      grantKafkaAccess(fn, cluster, 'cluster-steps');
      this.clusterSteps.set(cluster.name, fn);
      targets.push(clusterTarget(cluster, fn.fn.functionArn));
    }

    // --- Workflow steps: incident table only -------------------------------------------------
    this.workflowSteps = new HealerFunction(this, 'WorkflowSteps', {
      name: 'workflow-steps',
      description: `kafka-heal ${d}: incident-side steps of the recovery workflows (start, record, read diagnosis, resolve, escalate, release lock)`,
      timeout: Duration.seconds(20),
      environment: { DEPLOYMENT: d, WORKFLOW_TARGETS_JSON: Stack.of(this).toJsonString(targets) },
    }).bindTable(props.table, 'rw');
    Validations.of(this.workflowSteps).acknowledge({
      id: `AwsSolutions-IAM5[Resource::${ref(this, props.table)}/index/*]`,
      reason: 'Read/write on the incident table includes its indexes (<table>/index/*): the store reads incidents through gsi1.',
    });

    const common = { workflowStepsFunctionArn: this.workflowSteps.fn.functionArn, escalationStateMachineArn: props.escalation.stateMachineArn, approvalFunctionArn: props.approvalFunction.functionArn };

    if (ec2Clusters.length > 0) {
      const wf = new HealerWorkflow(this, 'BrokerRecovery', {
        name: 'broker-recovery',
        stateMachineName: `kafka-heal-${d}-broker-recovery`,
        substitutions: brokerRecoverySubstitutions({
          ...common,
          deployment: d,
          // Named, not referenced: disk-pressure is created after this workflow and may start it back.
          diskPressureStateMachineArn: Stack.of(this).formatArn({ service: 'states', resource: 'stateMachine', resourceName: `kafka-heal-${d}-disk-pressure`, arnFormat: ArnFormat.COLON_RESOURCE_NAME }),
        }),
        timeout: RECOVERY_TIMEOUT,
      });
      this.allowSteps(wf, ec2Clusters);
      this.allowEscalation(wf, props.escalation, props.escalationStateMachineName ?? `kafka-heal-${d}-escalation`);
      this.allowApproval(wf, props.approvalFunction);
      this.allowRunbooks(wf, Object.values(RECOVERY_RUNBOOKS), ec2Clusters);
      this.brokerRecovery = wf;
    }

    if (mskClusters.length > 0) {
      const wf = new HealerWorkflow(this, 'MskBrokerRecovery', {
        name: 'msk-broker-recovery',
        stateMachineName: `kafka-heal-${d}-msk-broker-recovery`,
        substitutions: mskBrokerRecoverySubstitutions(common),
        timeout: RECOVERY_TIMEOUT,
      });
      this.allowSteps(wf, mskClusters);
      this.allowEscalation(wf, props.escalation, props.escalationStateMachineName ?? `kafka-heal-${d}-escalation`);
      this.allowApproval(wf, props.approvalFunction);
      wf.stateMachine.addToRolePolicy(
        new PolicyStatement({
          sid: 'RebootConfiguredClustersOnly',
          effect: Effect.ALLOW,
          actions: ['kafka:RebootBroker', 'kafka:DescribeClusterV2'],
          resources: mskClusters.map((c) => c.msk.clusterArn),
        }),
      );
      wf.stateMachine.addToRolePolicy(new PolicyStatement({ sid: 'ReadClusterOperations', effect: Effect.ALLOW, actions: ['kafka:DescribeClusterOperationV2'], resources: ['*'] }));
      Validations.of(wf).acknowledge({
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason: 'kafka:DescribeClusterOperationV2 is read-only and addressed by an operation ARN only known at run time; log delivery and X-Ray also need *.',
      });
      this.mskBrokerRecovery = wf;
    }
  }

  /** Runs the SSM Command document of a runbook under runbooks/, created once per stack on first use. */
  runbookDocument(runbook: string): CfnDocument {
    const existing = this.documents.get(runbook);
    if (existing) return existing;
    const doc = new CfnDocument(this, `Runbook-${runbook}`, {
      name: runbookDocumentName(this.deployment, runbook),
      documentType: 'Command',
      documentFormat: 'YAML',
      content: loadRunbook(runbook).content,
      updateMethod: 'NewVersion',
    });
    this.documents.set(runbook, doc);
    return doc;
  }

  /**
   * Lets the workflow send the given runbooks (only those documents) to the clusters' broker
   * instances: listed instances by id, tag-found ones under an ssm:resourceTag condition.
   */
  allowRunbooks(wf: HealerWorkflow, runbooks: string[], ec2Clusters: Extract<ClusterConfig, { platform: 'ec2' }>[]): void {
    const stack = Stack.of(this);
    const role = wf.stateMachine;
    role.addToRolePolicy(
      new PolicyStatement({
        sid: 'SendProjectRunbooksOnly',
        effect: Effect.ALLOW,
        actions: ['ssm:SendCommand'],
        resources: runbooks.map((r) => stack.formatArn({ service: 'ssm', resource: 'document', resourceName: this.runbookDocument(r).name as string })),
      }),
    );
    const listed = ec2Clusters.flatMap((c) => (c.ec2.brokers ?? []).map((b) => stack.formatArn({ service: 'ec2', resource: 'instance', resourceName: b.instanceId })));
    if (listed.length > 0) {
      role.addToRolePolicy(new PolicyStatement({ sid: 'SendToConfiguredBrokers', effect: Effect.ALLOW, actions: ['ssm:SendCommand'], resources: listed }));
    }
    if (ec2Clusters.some((c) => c.ec2.brokerTag)) {
      Validations.of(wf).acknowledge({
        id: 'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ec2:<AWS::Region>:<AWS::AccountId>:instance/*]',
        reason: 'Brokers found by tag: SendCommand on instances is limited by an ssm:resourceTag condition on the cluster\'s broker tag (and to the project\'s documents by a separate statement).',
      });
    }
    for (const c of ec2Clusters) {
      if (!c.ec2.brokerTag) continue;
      role.addToRolePolicy(
        new PolicyStatement({
          effect: Effect.ALLOW,
          actions: ['ssm:SendCommand'],
          resources: [stack.formatArn({ service: 'ec2', resource: 'instance', resourceName: '*' })],
          conditions: { StringEquals: { [`ssm:resourceTag/${c.ec2.brokerTag.key}`]: c.ec2.brokerTag.value } },
        }),
      );
    }
    role.addToRolePolicy(new PolicyStatement({ sid: 'ReadCommandResults', effect: Effect.ALLOW, actions: ['ssm:GetCommandInvocation'], resources: ['*'] }));
    // ssm:GetCommandInvocation has no resource-level permissions: it reads the output of commands
    // this role sent. Resource * is acknowledged by HealerWorkflow (logging and tracing need it too).
  }

  /** Lets the workflow invoke the workflow steps Lambda and the clusters' cluster steps Lambdas. */
  allowSteps(wf: HealerWorkflow, clusters: ClusterConfig[]): void {
    const fns = [this.workflowSteps, ...clusters.flatMap((c) => this.clusterSteps.get(c.name) ?? [])];
    for (const f of fns) {
      f.fn.grantInvoke(wf.stateMachine);
      Validations.of(wf).acknowledge({
        id: `AwsSolutions-IAM5[Resource::${ref(this, f.fn)}:*]`,
        reason: 'lambda:InvokeFunction on a step function includes its versions and aliases (<function arn>:*), as CDK grants it.',
      });
    }
  }

  /** Lets the workflow ask for approval through the approval request Lambda (lambda:invoke.waitForTaskToken). */
  allowApproval(wf: HealerWorkflow, approvalFunction: IFunction): void {
    approvalFunction.grantInvoke(wf.stateMachine);
    const approvalResource = approvalFunction.node.defaultChild;
    if (approvalResource) {
      Validations.of(wf).acknowledge({
        id: `AwsSolutions-IAM5[Resource::<${Stack.of(this).getLogicalId(approvalResource as never)}.Arn>:*]`,
        reason: 'lambda:InvokeFunction on the approval request function includes its versions and aliases (<function arn>:*), as CDK grants it.',
      });
    }
  }

  /** Lets the workflow run the escalation workflow as a nested execution (.sync:2). */
  allowEscalation(wf: HealerWorkflow, escalation: IStateMachine, escalationName: string): void {
    const stack = Stack.of(this);
    escalation.grantStartExecution(wf.stateMachine);
    // startExecution.sync:2 follows the child: describe/stop it and the managed EventBridge rule.
    const executions = stack.formatArn({ service: 'states', resource: 'execution', resourceName: `${escalationName}:*`, arnFormat: ArnFormat.COLON_RESOURCE_NAME });
    wf.stateMachine.addToRolePolicy(new PolicyStatement({ effect: Effect.ALLOW, actions: ['states:DescribeExecution', 'states:StopExecution'], resources: [executions] }));
    Validations.of(wf).acknowledge({
      id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:${escalationName}:*]`,
      reason: 'startExecution.sync:2 must describe and stop the escalation executions it starts; their names are generated at run time, so the grant names the escalation state machine and any execution of it.',
    });
    wf.stateMachine.addToRolePolicy(
      new PolicyStatement({
        effect: Effect.ALLOW,
        actions: ['events:PutTargets', 'events:PutRule', 'events:DescribeRule'],
        resources: [stack.formatArn({ service: 'events', resource: 'rule', resourceName: 'StepFunctionsGetEventsForStepFunctionsExecutionRule' })],
      }),
    );
  }

  /** Lets the classifier start these workflows (WORKFLOW_ARN_BROKER_RECOVERY, WORKFLOW_ARN_MSK_BROKER_RECOVERY). */
  bindTo(fn: HealerFunction): this {
    if (this.brokerRecovery) fn.bindStateMachine(this.brokerRecovery.stateMachine, workflowArnEnvName('broker-recovery'));
    if (this.mskBrokerRecovery) fn.bindStateMachine(this.mskBrokerRecovery.stateMachine, workflowArnEnvName('msk-broker-recovery'));
    return this;
  }

  /** Failed executions and step Lambda errors alarm straight to the operators. */
  watch(monitoring: SelfMonitoring): this {
    monitoring.watchFunction(this.workflowSteps, 'workflow-steps');
    for (const [name, fn] of this.clusterSteps) monitoring.watchFunction(fn, `cluster-steps-${name}`);
    if (this.brokerRecovery) monitoring.watchStateMachine(this.brokerRecovery.stateMachine, 'broker-recovery');
    if (this.mskBrokerRecovery) monitoring.watchStateMachine(this.mskBrokerRecovery.stateMachine, 'msk-broker-recovery');
    return this;
  }
}
