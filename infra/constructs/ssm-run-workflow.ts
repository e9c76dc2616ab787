// ssm-run (statemachines/ssm-run.asl.json): one SSM Command document on one instance, run to its
// end. Workflows that run commands on hosts start it nested (states:startExecution.sync:2) instead
// of each polling SSM in its own send / wait / get / check loop.
//
// IAM: only this state machine sends commands, and only the documents and instances its users
// grant it (RecoveryWorkflows.allowRunbooks; DiskPressureWorkflow adds kafka-free-disk,
// CascadeRecoveryWorkflow kafka-cli-action, QuorumRecoveryWorkflow the quorum runbooks and the
// ZooKeeper hosts); a parent may start it and follow its executions (arnFor: the
// SsmRunStateMachineArn substitution with its grant), nothing more. Its failed executions are not watched by self-monitoring: a
// command that fails is an outcome the parent escalates with, not a fault of the healer.
import { Construct } from 'constructs';
import { HealerWorkflow, type WorkflowBinder } from './workflows.js';

export class SsmRunWorkflow extends Construct {
  readonly workflow: HealerWorkflow;
  readonly stateMachineName: string;

  constructor(scope: Construct, id: string, props: { deployment: string }) {
    super(scope, id);
    this.stateMachineName = `kafka-heal-${props.deployment}-ssm-run`;
    this.workflow = new HealerWorkflow(this, 'Workflow', {
      name: 'ssm-run',
      stateMachineName: this.stateMachineName,
    });
  }

  get stateMachineArn(): string {
    return this.workflow.stateMachine.stateMachineArn;
  }

  /** ${SsmRunStateMachineArn} of a parent that runs commands through this workflow, with the right to (nested, .sync:2). */
  arnFor(bind: WorkflowBinder): string {
    return bind.nested(this.workflow);
  }
}
