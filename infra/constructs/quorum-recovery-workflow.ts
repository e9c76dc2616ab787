// The quorum-recovery workflow for self-managed (EC2) clusters that list their brokers by
// instance id (a quorum recovery must reach every broker host; MSK manages its own quorum). It
// reuses the recovery workflows' step Lambdas; the workflow steps Lambda reads each cluster's
// `quorum` entry of WORKFLOW_TARGETS_FILE (quorumTargetFields in cluster-targets.ts).
//
// IAM, written by hand (DefinitionBody.fromFile hides the Tasks from CDK):
// - no SSM of its own: every host command runs in the nested ssm-run workflow, which it may start
//   and follow (grantNestedRun); ssm-run may send the quorum documents (stop, back up metadata,
//   Kafka CLI; restart it sends for broker-recovery already) to the configured ZooKeeper hosts
//   besides the broker hosts;
// - lambda:InvokeFunction on the step Lambdas and the approval request Lambda;
// - the nested escalation workflow as broker-recovery.
// Each grant on this workflow comes with the substitution that names what it allows (WorkflowBinder).
import { Duration } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import type { ClusterConfig, Ec2ClusterConfig } from '../config/schema.js';
import { RECOVERY_RUNBOOKS, grantInstances, runbookDocumentName } from './recovery-workflows.js';
import { approvalArn, escalationArn, type RecoveryContext } from './workflow-context.js';
import { HealerWorkflow, RunbookWorkflow } from './workflows.js';

/** 55 minutes of automation plus three approval windows of one hour (the ASL TimeoutSeconds). */
export const QUORUM_RECOVERY_TIMEOUT = Duration.seconds(14_100);

export const QUORUM_RUNBOOKS = {
  stop: 'kafka-stop-broker',
  backup: 'kafka-backup-metadata',
  cli: 'kafka-cli-action',
} as const;

/** The substitutions quorum-recovery.asl.json needs. */
export function quorumRecoverySubstitutions(s: {
  workflowStepsFunctionArn: string;
  escalationStateMachineArn: string;
  approvalFunctionArn: string;
  ssmRunStateMachineArn: string;
  deployment: string;
}): Record<string, string> {
  return {
    SsmRunStateMachineArn: s.ssmRunStateMachineArn,
    WorkflowStepsFunctionArn: s.workflowStepsFunctionArn,
    EscalationStateMachineArn: s.escalationStateMachineArn,
    ApprovalFunctionArn: s.approvalFunctionArn,
    StopDocumentName: runbookDocumentName(s.deployment, QUORUM_RUNBOOKS.stop),
    BackupDocumentName: runbookDocumentName(s.deployment, QUORUM_RUNBOOKS.backup),
    RestartDocumentName: runbookDocumentName(s.deployment, RECOVERY_RUNBOOKS.restart),
    CliDocumentName: runbookDocumentName(s.deployment, QUORUM_RUNBOOKS.cli),
  };
}

/** Clusters quorum-recovery can run on: EC2, brokers listed by instance id. */
export function quorumClusters(clusters: ClusterConfig[]): Ec2ClusterConfig[] {
  return clusters.filter((c): c is Ec2ClusterConfig => c.platform === 'ec2' && (c.ec2.brokers?.length ?? 0) > 0);
}

export class QuorumRecoveryWorkflow extends RunbookWorkflow {
  readonly workflow: HealerWorkflow | undefined;

  constructor(scope: Construct, id: string, ctx: RecoveryContext) {
    super(scope, id, 'quorum-recovery');
    const d = ctx.deployment;
    const recovery = ctx.recovery;
    const clusters = quorumClusters(ctx.clusters);
    // EC2 clusters have the restart runbook and the ssm-run workflow (RecoveryWorkflows).
    const ssmRun = recovery.ssmRun;
    if (clusters.length === 0 || !recovery.documents.get(RECOVERY_RUNBOOKS.restart) || !ssmRun) return;

    const wf = new HealerWorkflow(this, 'QuorumRecovery', {
      name: 'quorum-recovery',
      stateMachineName: `kafka-heal-${d}-quorum-recovery`,
      substitutions: (bind) =>
        quorumRecoverySubstitutions({
          workflowStepsFunctionArn: recovery.stepsArn(bind, clusters),
          escalationStateMachineArn: escalationArn(ctx, bind),
          approvalFunctionArn: approvalArn(ctx, bind),
          ssmRunStateMachineArn: ssmRun.arnFor(bind),
          deployment: d,
        }),
      timeout: QUORUM_RECOVERY_TIMEOUT,
    });
    // ssm-run sends the restart runbook to the broker hosts already; the quorum runbooks and the
    // ZooKeeper hosts are added to it here, by id (or, many of them, by the deployment tag).
    // The recovery construct deploys each runbook once per stack (cascade-recovery shares the CLI one).
    recovery.allowDocuments(ssmRun.workflow, 'SendQuorumRunbooksOnly', Object.values(QUORUM_RUNBOOKS));
    grantInstances(
      ssmRun.workflow,
      d,
      clusters.flatMap((c) => [
        ...(c.ec2.brokers ?? []).map((b) => b.instanceId),
        ...(c.ec2.zookeeper?.instanceIds ?? []),
      ]),
      [],
      'Quorum',
    );
    this.workflow = wf;
  }
}
