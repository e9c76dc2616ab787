// The cascade-recovery workflow (statemachines/cascade-recovery.asl.json): brokers lost one after
// another are recovered one at a time by nested executions of the single-broker workflows the
// recovery construct deploys (broker-recovery on EC2, msk-broker-recovery on MSK), with producer
// throttling and a preferred leader election through the kafka-cli-action runbook on a healthy
// broker host, and an approval when 3 or more brokers are down.
//
// IAM, written by hand (DefinitionBody.fromFile hides the Tasks from CDK):
// - no ssm:SendCommand of its own: Kafka's CLI runs in the nested ssm-run workflow, which may send
//   kafka-cli-action besides its documents, on the broker instances it already reaches (the
//   configured ones by id, or tag-matched ones by ssm:resourceTag condition);
// - states:StartExecution only on the nested recovery state machines, ssm-run (EC2) and the
//   escalation workflow, plus what .sync:2 needs to follow those executions;
// - lambda:InvokeFunction only on the step Lambdas and the approval request Lambda.
// Each comes with the substitution that names what it allows (WorkflowBinder).
// kafka:RebootBroker stays with msk-broker-recovery: this role cannot reboot anything itself.
import type { Construct } from 'constructs';
import type { ClusterConfig } from '../config/schema.js';
import { RECOVERY_TIMEOUT, runbookDocumentName } from './recovery-workflows.js';
import { approvalArn, escalationArn, type RecoveryContext } from './workflow-context.js';
import { HealerWorkflow, RunbookWorkflow, type WorkflowBinder } from './workflows.js';

/** The runbook cascade-recovery runs on a healthy broker host (throttle, leader election). */
export const CASCADE_RUNBOOK = 'kafka-cli-action';

const stateMachineName = (deployment: string, workflow: string) => `kafka-heal-${deployment}-${workflow}`;

/** The substitutions cascade-recovery.asl.json needs. */
export function cascadeRecoverySubstitutions(s: {
  deployment: string;
  workflowStepsFunctionArn: string;
  escalationStateMachineArn: string;
  approvalFunctionArn: string;
  brokerRecoveryStateMachineArn: string;
  mskBrokerRecoveryStateMachineArn: string;
  /** @default the deployment's kafka-cli-action document */
  cliActionDocumentName?: string;
  /** ssm-run, which runs each Kafka CLI command to its end (nested). */
  ssmRunStateMachineArn: string;
}): Record<string, string> {
  return {
    SsmRunStateMachineArn: s.ssmRunStateMachineArn,
    WorkflowStepsFunctionArn: s.workflowStepsFunctionArn,
    EscalationStateMachineArn: s.escalationStateMachineArn,
    ApprovalFunctionArn: s.approvalFunctionArn,
    CliActionDocumentName: s.cliActionDocumentName ?? runbookDocumentName(s.deployment, CASCADE_RUNBOOK),
    BrokerRecoveryStateMachineArn: s.brokerRecoveryStateMachineArn,
    MskBrokerRecoveryStateMachineArn: s.mskBrokerRecoveryStateMachineArn,
  };
}

export class CascadeRecoveryWorkflow extends RunbookWorkflow {
  readonly workflow: HealerWorkflow;

  constructor(scope: Construct, id: string, ctx: RecoveryContext) {
    super(scope, id, 'cascade-recovery');
    const d = ctx.deployment;
    const recovery = ctx.recovery;
    if (!recovery.brokerRecovery && !recovery.mskBrokerRecovery)
      throw new Error('cascade-recovery needs broker-recovery or msk-broker-recovery: the deployment has no cluster');
    const ec2Clusters = ctx.clusters.filter(
      (c): c is Extract<ClusterConfig, { platform: 'ec2' }> => c.platform === 'ec2',
    );
    // Nested recoveries: start only the deployed single-broker workflows, follow their executions.
    // A platform without clusters has no child; its ARN is a name that cannot exist, never granted.
    const childArn = (bind: WorkflowBinder, child: HealerWorkflow | undefined, workflow: string) =>
      child ? bind.nested(child) : bind.absent(stateMachineName(d, workflow));

    this.workflow = new HealerWorkflow(this, 'CascadeRecovery', {
      name: 'cascade-recovery',
      stateMachineName: stateMachineName(d, 'cascade-recovery'),
      substitutions: (bind) =>
        cascadeRecoverySubstitutions({
          deployment: d,
          workflowStepsFunctionArn: recovery.stepsArn(bind, ctx.clusters),
          escalationStateMachineArn: escalationArn(ctx, bind),
          approvalFunctionArn: approvalArn(ctx, bind),
          // No EC2 cluster, no ssm-run: its name stands in, and no CLI command is ever run (MSK has no host).
          ssmRunStateMachineArn: recovery.ssmRunArn(bind),
          brokerRecoveryStateMachineArn: childArn(bind, recovery.brokerRecovery, 'broker-recovery'),
          mskBrokerRecoveryStateMachineArn: childArn(bind, recovery.mskBrokerRecovery, 'msk-broker-recovery'),
        }),
      timeout: RECOVERY_TIMEOUT,
    });

    const ssmRun = recovery.ssmRun;
    if (ec2Clusters.length > 0 && ssmRun) {
      // ssm-run reaches the broker instances already (broker-recovery's); the CLI document is cascade's.
      recovery.allowDocuments(ssmRun.workflow, 'SendCascadeCliRunbook', [CASCADE_RUNBOOK]);
    }
  }
}
