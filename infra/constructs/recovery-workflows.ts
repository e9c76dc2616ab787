// The broker recovery workflows and everything they call: the host runbooks they run (SSM
// Command documents from runbooks/), the workflow steps Lambda (incident table, outside any VPC),
// one cluster steps Lambda per cluster (inside the cluster's VPC, reads Kafka only), and the two
// state machines (broker-recovery for EC2 clusters, msk-broker-recovery for MSK clusters).
//
// IAM is written by hand, because DefinitionBody.fromFile hides the Tasks from CDK:
// - ssm:SendCommand only by the ssm-run workflow broker-recovery, disk-pressure, quorum-recovery
//   and cascade-recovery run their commands through (SsmRunWorkflow), only with the documents those
//   parents grant it (broker-recovery: diagnose and restart), and only on the configured broker
//   instances (by id, up to 50) or on instances carrying the deployment's tag (and, for brokers found
//   by tag, the cluster's broker tag): ssm:resourceTag conditions (grantInstances);
// - kafka:RebootBroker and kafka:DescribeCluster only on the configured MSK cluster ARNs;
// - lambda:InvokeFunction only on the step functions above and the approval request function;
//   states:StartExecution only on the escalation workflow and ssm-run (plus what .sync:2 needs to
//   follow those executions). Each comes with the ARN it makes callable: the workflows bind them
//   with a WorkflowBinder (stepsArn, ssmRunArn below; workflow-context.ts for the shared ones).
//
// The stack (infra/stacks/healer-stack.ts) creates it, binds it to the classifier
// (WORKFLOW_ARN_BROKER_RECOVERY / _MSK_BROKER_RECOVERY + StartExecution) and to self-monitoring.
import { Annotations, Duration, Fn, Stack, Validations, type CfnElement } from 'aws-cdk-lib';
import { SecurityGroup, Subnet, Vpc } from 'aws-cdk-lib/aws-ec2';
import { Effect, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { CfnDocument } from 'aws-cdk-lib/aws-ssm';
import { Construct } from 'constructs';
import { loadRunbook } from '../runbooks.js';
import { workflowArnEnvName } from '#shared/workflows.js';
import type { ClusterTargetConfig } from '#contracts/workflow-targets.js';
// The tag every broker (and ZooKeeper) instance of a large or tag-found deployment carries: `kafka-heal:deployment=<deployment>`.
import { DEPLOYMENT_TAG } from '#functions/workflow-steps/instances.js';
import { zookeeperConnect, type ClusterConfig } from '../config/schema.js';
import { HealerFunction } from './healer-function.js';
import { clusterTarget } from './cluster-targets.js';
import { grantKafkaAccess } from './kafka-access.js';
import { ProbeLayer } from './probe-layer.js';
import { probeClusterEnv } from './probes.js';
import type { SelfMonitoring } from './self-monitoring.js';
import { SsmRunWorkflow } from './ssm-run-workflow.js';
import { approvalArn, escalationArn, type RecoveryContext, type WorkflowContext } from './workflow-context.js';
import { HealerWorkflow, type WorkflowBinder } from './workflows.js';
import { nagArnPrefix } from './nag-ids.js';

/** The host runbooks the broker recovery runs, by file name under runbooks/. */
export const RECOVERY_RUNBOOKS = { diagnose: 'kafka-diagnose-host', restart: 'kafka-restart-broker' } as const;

/** Matches the ASL TimeoutSeconds: inside the classifier's 60-minute remediation lock TTL. */
export const RECOVERY_TIMEOUT = Duration.seconds(3300);

export function runbookDocumentName(deployment: string, runbook: string): string {
  return `kafka-heal-${deployment}-${runbook}`;
}

/**
 * How many instances a SendCommand grant names by id. IAM caps a role's inline policies at 10,240
 * characters (an instance ARN is about 60): a deployment listing more instances than this is
 * granted the instances carrying its deployment tag instead.
 */
export const MAX_NAMED_INSTANCES = 50;

/**
 * ssm:SendCommand on the instances a workflow may run the project's documents on (which documents
 * is a separate statement): the listed instances by id while there are at most
 * MAX_NAMED_INSTANCES, else every instance tagged `kafka-heal:deployment=<deployment>`; and for a
 * cluster whose brokers are found by tag, the instances with BOTH its broker tag and the
 * deployment tag, so another deployment's cluster of the same name (same broker tag) is never a
 * target. The workflows only ever address the instances the config lists or the tags resolve
 * (functions/workflow-steps/instances.ts).
 */
export function grantInstances(
  wf: HealerWorkflow,
  deployment: string,
  listed: string[],
  brokerTags: { key: string; value: string }[],
  /** Prefixes the statement ids, for a second grant on the same role (ids are unique per policy). */
  sidPrefix = '',
): void {
  const stack = Stack.of(wf);
  const role = wf.stateMachine;
  const ids = [...new Set(listed)];
  const anyInstance = stack.formatArn({ service: 'ec2', resource: 'instance', resourceName: '*' });
  const deploymentTag = { [`ssm:resourceTag/${DEPLOYMENT_TAG}`]: deployment };
  if (ids.length > 0 && ids.length <= MAX_NAMED_INSTANCES) {
    role.addToRolePolicy(
      new PolicyStatement({
        sid: `${sidPrefix}SendToConfiguredInstances`,
        effect: Effect.ALLOW,
        actions: ['ssm:SendCommand'],
        resources: ids.map((i) => stack.formatArn({ service: 'ec2', resource: 'instance', resourceName: i })),
      }),
    );
  } else if (ids.length > 0) {
    role.addToRolePolicy(
      new PolicyStatement({
        sid: `${sidPrefix}SendToDeploymentInstances`,
        effect: Effect.ALLOW,
        actions: ['ssm:SendCommand'],
        resources: [anyInstance],
        conditions: { StringEquals: deploymentTag },
      }),
    );
  }
  brokerTags.forEach((t, i) => {
    role.addToRolePolicy(
      new PolicyStatement({
        sid: `${sidPrefix}SendToTaggedBrokers${i}`,
        effect: Effect.ALLOW,
        actions: ['ssm:SendCommand'],
        resources: [anyInstance],
        conditions: { StringEquals: { ...deploymentTag, [`ssm:resourceTag/${t.key}`]: t.value } },
      }),
    );
  });
  if (ids.length > MAX_NAMED_INSTANCES || brokerTags.length > 0) {
    Validations.of(wf).acknowledge({
      id: `AwsSolutions-IAM5[Resource::${nagArnPrefix(wf, 'ec2')}:instance/*]`,
      reason: `SendCommand on instances is limited by ssm:resourceTag conditions: the deployment tag ${DEPLOYMENT_TAG}=${deployment} (and a tag-found cluster's broker tag), and to the project's documents by a separate statement.`,
    });
  }
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
  /** ssm-run, which runs each SSM command to its end (nested). */
  ssmRunStateMachineArn: string;
}): Record<string, string> {
  return {
    SsmRunStateMachineArn: s.ssmRunStateMachineArn,
    WorkflowStepsFunctionArn: s.workflowStepsFunctionArn,
    EscalationStateMachineArn: s.escalationStateMachineArn,
    ApprovalFunctionArn: s.approvalFunctionArn,
    DiskPressureStateMachineArn:
      s.diskPressureStateMachineArn ??
      `arn:aws:states:local:000000000000:stateMachine:kafka-heal-${s.deployment}-disk-pressure`,
    DiagnoseDocumentName: runbookDocumentName(s.deployment, RECOVERY_RUNBOOKS.diagnose),
    RestartDocumentName: runbookDocumentName(s.deployment, RECOVERY_RUNBOOKS.restart),
  };
}

/** The substitutions msk-broker-recovery.asl.json needs. */
export function mskBrokerRecoverySubstitutions(s: {
  workflowStepsFunctionArn: string;
  escalationStateMachineArn: string;
  approvalFunctionArn: string;
}): Record<string, string> {
  return {
    WorkflowStepsFunctionArn: s.workflowStepsFunctionArn,
    EscalationStateMachineArn: s.escalationStateMachineArn,
    ApprovalFunctionArn: s.approvalFunctionArn,
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
  /** Runs the host runbooks for broker-recovery (EC2 clusters only): the one state machine that sends SSM commands here. */
  readonly ssmRun?: SsmRunWorkflow;
  /** The context this construct was built from, with it: what the workflows built on its step Lambdas take. */
  readonly context: RecoveryContext;

  constructor(scope: Construct, id: string, props: WorkflowContext) {
    super(scope, id);
    this.context = { ...props, recovery: this };
    const d = props.deployment;
    const ec2Clusters = props.clusters.filter(
      (c): c is Extract<ClusterConfig, { platform: 'ec2' }> => c.platform === 'ec2',
    );
    const mskClusters = props.clusters.filter(
      (c): c is Extract<ClusterConfig, { platform: 'msk' }> => c.platform === 'msk',
    );

    // --- Host runbooks: the repository's files, deployed as SSM Command documents ----------
    this.deployment = d;
    if (ec2Clusters.length > 0) {
      for (const runbook of Object.values(RECOVERY_RUNBOOKS)) this.runbookDocument(runbook);
    }

    // --- Cluster steps: one per cluster, in its VPC ------------------------------------------
    const targets: Omit<ClusterTargetConfig, 'clusterStepsFunction'>[] = [];
    const stepsFunctions: Record<string, string> = {};
    for (const cluster of props.clusters) {
      // Imported by id, no lookups (synth needs no credentials); the subnets are given explicitly.
      const vpc = Vpc.fromVpcAttributes(this, `Vpc-${cluster.name}`, {
        vpcId: cluster.probe.vpcId,
        availabilityZones: Fn.getAzs(),
      });
      Annotations.of(vpc).acknowledgeWarning(
        '@aws-cdk/aws-ec2:vpcAttributeIsListTokenavailabilityZones',
        "The function names its subnets explicitly; the VPC's zone list is never read.",
      );
      const subnets = cluster.probe.subnetIds.map((s, i) => {
        const subnet = Subnet.fromSubnetId(this, `Subnet-${cluster.name}-${i}`, s);
        Annotations.of(subnet).acknowledgeWarning(
          '@aws-cdk/aws-ec2:noSubnetRouteTableId',
          'Only Lambda VPC placement uses the subnet; nothing reads its route table.',
        );
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
          securityGroups: [
            SecurityGroup.fromSecurityGroupId(this, `Sg-${cluster.name}`, cluster.probe.securityGroupId, {
              mutable: false,
            }),
          ],
        },
        // The probe library comes from the stack's probe layer, not the bundle.
        layers: [ProbeLayer.of(this).binding],
        environment: { DEPLOYMENT: d, ...clusterStepsZookeeperEnv(cluster) },
        files: [{ env: 'CLUSTERS_FILE', name: 'clusters.json', json: [probeClusterEnv(cluster)] }],
      });
      grantKafkaAccess(fn, cluster, 'cluster-steps');
      this.clusterSteps.set(cluster.name, fn);
      // The function ARN is known at deploy time only: it goes into the environment, one per cluster.
      const { clusterStepsFunction: _arn, ...target } = clusterTarget(cluster, '');
      targets.push(target);
      stepsFunctions[cluster.name] = fn.fn.functionArn;
    }

    // --- Workflow steps: incident table only -------------------------------------------------
    // The targets grow with the brokers (every broker's instance): a file bundled with the code,
    // not the 4 KB environment (functions/shared/bundled-file.ts).
    this.workflowSteps = new HealerFunction(this, 'WorkflowSteps', {
      name: 'workflow-steps',
      description: `kafka-heal ${d}: incident-side steps of the recovery workflows (start, record, read diagnosis, resolve, escalate, release lock)`,
      // consumer-lag's act-on-lag waits up to 60 s for a scale hook function (SCALE_HOOK_TIMEOUT_MS);
      // every other step's Task stops at 30 s.
      timeout: Duration.seconds(90),
      environment: { DEPLOYMENT: d, CLUSTER_STEPS_FUNCTIONS: Stack.of(this).toJsonString(stepsFunctions) },
      files: [{ env: 'WORKFLOW_TARGETS_FILE', name: 'workflow-targets.json', json: targets }],
    }).bindTable(props.table, 'rw');
    if (ec2Clusters.some((c) => c.ec2.brokerTag)) this.findsTaggedBrokers();
    Validations.of(this.workflowSteps).acknowledge({
      id: `AwsSolutions-IAM5[Resource::${ref(this, props.table)}/index/*]`,
      reason:
        'Read/write on the incident table includes its indexes (<table>/index/*): the store reads incidents through gsi1.',
    });

    if (ec2Clusters.length > 0) {
      const ssmRun = new SsmRunWorkflow(this, 'SsmRun', { deployment: d });
      this.allowRunbooks(ssmRun.workflow, Object.values(RECOVERY_RUNBOOKS), ec2Clusters);
      this.ssmRun = ssmRun;
      this.brokerRecovery = new HealerWorkflow(this, 'BrokerRecovery', {
        name: 'broker-recovery',
        stateMachineName: `kafka-heal-${d}-broker-recovery`,
        substitutions: (bind) =>
          brokerRecoverySubstitutions({
            workflowStepsFunctionArn: this.stepsArn(bind, ec2Clusters),
            escalationStateMachineArn: escalationArn(props, bind),
            approvalFunctionArn: approvalArn(props, bind),
            ssmRunStateMachineArn: ssmRun.arnFor(bind),
            deployment: d,
            // Named, not referenced: disk-pressure is created after this workflow and grants itself to it.
            diskPressureStateMachineArn: bind.nestedCreatedLater(`kafka-heal-${d}-disk-pressure`),
          }),
        timeout: RECOVERY_TIMEOUT,
      });
    }

    if (mskClusters.length > 0) {
      const wf = new HealerWorkflow(this, 'MskBrokerRecovery', {
        name: 'msk-broker-recovery',
        stateMachineName: `kafka-heal-${d}-msk-broker-recovery`,
        substitutions: (bind) =>
          mskBrokerRecoverySubstitutions({
            workflowStepsFunctionArn: this.stepsArn(bind, mskClusters),
            escalationStateMachineArn: escalationArn(props, bind),
            approvalFunctionArn: approvalArn(props, bind),
          }),
        timeout: RECOVERY_TIMEOUT,
      });
      wf.stateMachine.addToRolePolicy(
        new PolicyStatement({
          sid: 'RebootConfiguredClustersOnly',
          effect: Effect.ALLOW,
          actions: ['kafka:RebootBroker', 'kafka:DescribeCluster'],
          resources: mskClusters.map((c) => c.msk.clusterArn),
        }),
      );
      wf.stateMachine.addToRolePolicy(
        new PolicyStatement({
          sid: 'ReadClusterOperations',
          effect: Effect.ALLOW,
          actions: ['kafka:DescribeClusterOperation'],
          resources: ['*'],
        }),
      );
      Validations.of(wf).acknowledge({
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason:
          'kafka:DescribeClusterOperation is read-only and addressed by an operation ARN only known at run time; log delivery and X-Ray also need *.',
      });
      this.mskBrokerRecovery = wf;
    }
  }

  /**
   * Brokers found by EC2 tag: the workflow steps Lambda looks their instances up
   * (functions/workflow-steps/instances.ts). ec2:DescribeInstances is read-only and supports no
   * resource-level permissions; the instances acted on are still only those SendCommand's tag
   * conditions admit.
   */
  private findsTaggedBrokers(): void {
    this.workflowSteps.setEnv('FIND_TAGGED_BROKERS', 'true');
    this.workflowSteps.role.addToPrincipalPolicy(
      new PolicyStatement({
        sid: 'FindTaggedBrokers',
        effect: Effect.ALLOW,
        actions: ['ec2:DescribeInstances'],
        resources: ['*'],
      }),
    );
    Validations.of(this.workflowSteps).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'ec2:DescribeInstances (read-only) supports no resource-level permissions: it finds the instances of the clusters whose brokers are found by tag. X-Ray (active tracing) also needs *.',
    });
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
   * ssm:SendCommand with these runbooks' documents (each deployed once per stack), in one statement
   * named `sid`. Which instances is a separate grant (grantInstances): SendCommand authorizes the
   * document and the instances apart.
   */
  allowDocuments(wf: HealerWorkflow, sid: string, runbooks: string[]): void {
    const stack = Stack.of(this);
    wf.stateMachine.addToRolePolicy(
      new PolicyStatement({
        sid,
        effect: Effect.ALLOW,
        actions: ['ssm:SendCommand'],
        resources: runbooks.map((r) =>
          stack.formatArn({
            service: 'ssm',
            resource: 'document',
            resourceName: this.runbookDocument(r).name as string,
          }),
        ),
      }),
    );
  }

  /**
   * Lets the workflow send the given runbooks (only those documents) to the clusters' broker
   * instances (grantInstances below).
   */
  allowRunbooks(
    wf: HealerWorkflow,
    runbooks: string[],
    ec2Clusters: Extract<ClusterConfig, { platform: 'ec2' }>[],
  ): void {
    const role = wf.stateMachine;
    this.allowDocuments(wf, 'SendProjectRunbooksOnly', runbooks);
    grantInstances(
      wf,
      this.deployment,
      ec2Clusters.flatMap((c) => (c.ec2.brokers ?? []).map((b) => b.instanceId)),
      ec2Clusters.flatMap((c) => (c.ec2.brokerTag ? [c.ec2.brokerTag] : [])),
    );
    role.addToRolePolicy(
      new PolicyStatement({
        sid: 'ReadCommandResults',
        effect: Effect.ALLOW,
        actions: ['ssm:GetCommandInvocation'],
        resources: ['*'],
      }),
    );
    // ssm:GetCommandInvocation has no resource-level permissions: it reads the output of commands
    // this role sent. Resource * is acknowledged by HealerWorkflow (logging and tracing need it too).
  }

  /**
   * ${WorkflowStepsFunctionArn}: the workflow steps Lambda, invoked with the cluster steps Lambdas of
   * `clusters` (the Tasks invoke those by the ARN the workflow targets name).
   */
  stepsArn(bind: WorkflowBinder, clusters: ClusterConfig[]): string {
    return bind.lambda(
      this.workflowSteps.fn,
      'a step function',
      clusters.flatMap((c) => this.clusterSteps.get(c.name)?.fn ?? []),
    );
  }

  /**
   * ${SsmRunStateMachineArn}: ssm-run, run nested, or where the deployment has no EC2 cluster (no
   * ssm-run) its name, for a branch that never runs.
   */
  ssmRunArn(bind: WorkflowBinder): string {
    return this.ssmRun?.arnFor(bind) ?? bind.absent(`kafka-heal-${this.deployment}-ssm-run`);
  }

  /** Lets the classifier start these workflows (WORKFLOW_ARN_BROKER_RECOVERY, WORKFLOW_ARN_MSK_BROKER_RECOVERY). */
  bindTo(fn: HealerFunction): this {
    if (this.brokerRecovery)
      fn.bindStateMachine(this.brokerRecovery.stateMachine, workflowArnEnvName('broker-recovery'));
    if (this.mskBrokerRecovery)
      fn.bindStateMachine(this.mskBrokerRecovery.stateMachine, workflowArnEnvName('msk-broker-recovery'));
    return this;
  }

  /** Failed executions and step Lambda errors alarm straight to the operators. */
  watch(monitoring: SelfMonitoring): this {
    monitoring.watchFunction(this.workflowSteps, 'workflow-steps');
    for (const [name, fn] of this.clusterSteps) monitoring.watchFunction(fn, `cluster-steps-${name}`);
    if (this.brokerRecovery) monitoring.watchStateMachine(this.brokerRecovery.stateMachine, 'broker-recovery');
    if (this.mskBrokerRecovery)
      monitoring.watchStateMachine(this.mskBrokerRecovery.stateMachine, 'msk-broker-recovery');
    return this;
  }
}
