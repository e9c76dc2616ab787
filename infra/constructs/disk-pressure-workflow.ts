// The disk-pressure workflow (statemachines/disk-pressure.asl.json): on EC2 it frees disk safely
// on each broker host with the kafka-free-disk runbook (after the read-only diagnosis), on MSK it
// grows the broker storage with UpdateBrokerStorage. broker-recovery hands a broker whose data
// disk is full to it as a nested execution.
//
// IAM, written by hand (DefinitionBody.fromFile hides the Tasks from CDK):
// - no ssm:SendCommand of its own: the host commands run in the ssm-run workflow (nested), which
//   may send kafka-free-disk besides its documents, on the broker instances it already reaches
//   (the configured ones by id, or tag-matched ones by ssm:resourceTag condition); disk-pressure
//   may start ssm-run and follow its executions;
// - kafka:UpdateBrokerStorage and kafka:DescribeCluster only on the configured MSK cluster ARNs;
//   cloudwatch:GetMetricData (re-measuring the brokers' disk usage before any storage update; it
//   has no resource-level permissions, and reads metrics only);
// - lambda:InvokeFunction only on the step Lambdas; states:StartExecution only on the escalation
//   and ssm-run workflows; broker-recovery may start (and follow) this workflow and nothing else new.
// Each grant comes with the substitution that names what it allows (WorkflowBinder).
import { Validations } from 'aws-cdk-lib';
import { Effect, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { Construct } from 'constructs';
import type { ClusterConfig } from '../config/schema.js';
import { RECOVERY_RUNBOOKS, RECOVERY_TIMEOUT, runbookDocumentName } from './recovery-workflows.js';
import { escalationArn, type RecoveryContext } from './workflow-context.js';
import { HealerWorkflow, RunbookWorkflow } from './workflows.js';

/** The runbook that frees disk on a broker host (rotated logs, heap dumps; never Kafka data). */
export const FREE_DISK_RUNBOOK = 'kafka-free-disk';

/** The substitutions disk-pressure.asl.json needs. */
export function diskPressureSubstitutions(s: {
  deployment: string;
  workflowStepsFunctionArn: string;
  escalationStateMachineArn: string;
  /** ssm-run, which runs each host command to its end (nested). */
  ssmRunStateMachineArn: string;
}): Record<string, string> {
  return {
    WorkflowStepsFunctionArn: s.workflowStepsFunctionArn,
    EscalationStateMachineArn: s.escalationStateMachineArn,
    SsmRunStateMachineArn: s.ssmRunStateMachineArn,
    DiagnoseDocumentName: runbookDocumentName(s.deployment, RECOVERY_RUNBOOKS.diagnose),
    FreeDiskDocumentName: runbookDocumentName(s.deployment, FREE_DISK_RUNBOOK),
  };
}

export class DiskPressureWorkflow extends RunbookWorkflow {
  readonly workflow: HealerWorkflow;

  constructor(scope: Construct, id: string, ctx: RecoveryContext) {
    super(scope, id, 'disk-pressure');
    const d = ctx.deployment;
    const recovery = ctx.recovery;
    this.workflow = new HealerWorkflow(this, 'DiskPressure', {
      name: 'disk-pressure',
      stateMachineName: `kafka-heal-${d}-disk-pressure`,
      substitutions: (bind) =>
        diskPressureSubstitutions({
          deployment: d,
          workflowStepsFunctionArn: recovery.stepsArn(bind, ctx.clusters),
          escalationStateMachineArn: escalationArn(ctx, bind),
          // No EC2 cluster, no ssm-run: its name stands in, and the EC2 branch never runs.
          ssmRunStateMachineArn: recovery.ssmRunArn(bind),
        }),
      timeout: RECOVERY_TIMEOUT,
    });
    const wf = this.workflow;

    const ec2Clusters = ctx.clusters.filter(
      (c): c is Extract<ClusterConfig, { platform: 'ec2' }> => c.platform === 'ec2',
    );
    const mskClusters = ctx.clusters.filter(
      (c): c is Extract<ClusterConfig, { platform: 'msk' }> => c.platform === 'msk',
    );
    const ssmRun = recovery.ssmRun;
    if (ec2Clusters.length > 0 && ssmRun) {
      // ssm-run sends the diagnosis already (broker-recovery's) on the broker instances; the cleanup is disk-pressure's.
      recovery.allowDocuments(ssmRun.workflow, 'SendFreeDiskRunbook', [FREE_DISK_RUNBOOK]);
    }
    if (mskClusters.length > 0) {
      wf.stateMachine.addToRolePolicy(
        new PolicyStatement({
          sid: 'GrowConfiguredClustersOnly',
          effect: Effect.ALLOW,
          actions: ['kafka:UpdateBrokerStorage', 'kafka:DescribeCluster'],
          resources: mskClusters.map((c) => c.msk.clusterArn),
        }),
      );
      wf.stateMachine.addToRolePolicy(
        new PolicyStatement({
          sid: 'RemeasureDiskUsage',
          effect: Effect.ALLOW,
          actions: ['cloudwatch:GetMetricData'],
          resources: ['*'],
        }),
      );
      Validations.of(wf).acknowledge({
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason:
          'Step Functions log delivery and X-Ray, and cloudwatch:GetMetricData (disk-pressure re-measures MSK disk usage before growing storage; read-only), support no resource-level permissions.',
      });
    }

    // broker-recovery hands a full disk to this workflow (nested, .sync:2): it names it already.
    recovery.brokerRecovery?.grantNestedChild(wf);
  }
}
