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
// kafka:RebootBroker stays with msk-broker-recovery: this role cannot reboot anything itself.
import { ArnFormat, Stack, Validations } from 'aws-cdk-lib';
import { Effect, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { IStateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import type { ClusterConfig } from '../config/schema.js';
import { RECOVERY_TIMEOUT, runbookDocumentName, type RecoveryWorkflows } from './recovery-workflows.js';
import { HealerWorkflow, RunbookWorkflow } from './workflows.js';
import { nagArnPrefix } from './nag-ids.js';

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
  /** ssm-run, which runs each Kafka CLI command to its end (nested). */
  ssmRunStateMachineArn: string;
}): Record<string, string> {
  return {
    SsmRunStateMachineArn: s.ssmRunStateMachineArn,
    WorkflowStepsFunctionArn: s.workflowStepsFunctionArn,
    EscalationStateMachineArn: s.escalationStateMachineArn,
    ApprovalFunctionArn: s.approvalFunctionArn,
    CliActionDocumentName: runbookDocumentName(s.deployment, CASCADE_RUNBOOK),
    BrokerRecoveryStateMachineArn: s.brokerRecoveryStateMachineArn,
    MskBrokerRecoveryStateMachineArn: s.mskBrokerRecoveryStateMachineArn,
  };
}

export interface CascadeRecoveryWorkflowProps {
  deployment: string;
  clusters: ClusterConfig[];
  recovery: RecoveryWorkflows;
  escalation: IStateMachine;
  /** @default kafka-heal-<deployment>-escalation */
  escalationStateMachineName?: string;
  /** The approval request Lambda (lambda:invoke.waitForTaskToken). */
  approvalFunction: IFunction;
}

export class CascadeRecoveryWorkflow extends RunbookWorkflow {
  readonly workflow: HealerWorkflow;

  constructor(scope: Construct, id: string, props: CascadeRecoveryWorkflowProps) {
    super(scope, id, 'cascade-recovery');
    const d = props.deployment;
    const stack = Stack.of(this);
    if (!props.recovery.brokerRecovery && !props.recovery.mskBrokerRecovery)
      throw new Error('cascade-recovery needs broker-recovery or msk-broker-recovery: the deployment has no cluster');
    // A platform without clusters has no child; its ARN is a name that cannot exist, never granted.
    const arnOf = (child: HealerWorkflow | undefined, workflow: string) =>
      child?.stateMachine.stateMachineArn ??
      stack.formatArn({
        service: 'states',
        resource: 'stateMachine',
        resourceName: stateMachineName(d, workflow),
        arnFormat: ArnFormat.COLON_RESOURCE_NAME,
      });

    this.workflow = new HealerWorkflow(this, 'CascadeRecovery', {
      name: 'cascade-recovery',
      stateMachineName: stateMachineName(d, 'cascade-recovery'),
      substitutions: cascadeRecoverySubstitutions({
        deployment: d,
        workflowStepsFunctionArn: props.recovery.workflowSteps.fn.functionArn,
        escalationStateMachineArn: props.escalation.stateMachineArn,
        approvalFunctionArn: props.approvalFunction.functionArn,
        brokerRecoveryStateMachineArn: arnOf(props.recovery.brokerRecovery, 'broker-recovery'),
        mskBrokerRecoveryStateMachineArn: arnOf(props.recovery.mskBrokerRecovery, 'msk-broker-recovery'),
        // No EC2 cluster, no ssm-run: its name stands in, and no CLI command is ever run (MSK has no host).
        ssmRunStateMachineArn:
          props.recovery.ssmRun?.stateMachineArn ??
          stack.formatArn({
            service: 'states',
            resource: 'stateMachine',
            resourceName: stateMachineName(d, 'ssm-run'),
            arnFormat: ArnFormat.COLON_RESOURCE_NAME,
          }),
      }),
      timeout: RECOVERY_TIMEOUT,
    });
    const wf = this.workflow;
    props.recovery.allowSteps(wf, props.clusters);
    props.recovery.allowEscalation(
      wf,
      props.escalation,
      props.escalationStateMachineName ?? stateMachineName(d, 'escalation'),
    );
    props.recovery.allowApproval(wf, props.approvalFunction);

    const ec2Clusters = props.clusters.filter(
      (c): c is Extract<ClusterConfig, { platform: 'ec2' }> => c.platform === 'ec2',
    );
    const ssmRun = props.recovery.ssmRun;
    if (ec2Clusters.length > 0 && ssmRun) {
      // ssm-run reaches the broker instances already (broker-recovery's); the CLI document is cascade's.
      ssmRun.workflow.stateMachine.addToRolePolicy(
        new PolicyStatement({
          sid: 'SendCascadeCliRunbook',
          effect: Effect.ALLOW,
          actions: ['ssm:SendCommand'],
          resources: [
            stack.formatArn({
              service: 'ssm',
              resource: 'document',
              resourceName: props.recovery.runbookDocument(CASCADE_RUNBOOK).name as string,
            }),
          ],
        }),
      );
      ssmRun.allowStartBy(wf);
    }

    // Nested recoveries: start only the deployed single-broker workflows, follow their executions.
    for (const [child, name] of [
      [props.recovery.brokerRecovery, 'broker-recovery'],
      [props.recovery.mskBrokerRecovery, 'msk-broker-recovery'],
    ] as const) {
      if (!child) continue;
      child.stateMachine.grantStartExecution(wf.stateMachine);
      const executions = stack.formatArn({
        service: 'states',
        resource: 'execution',
        resourceName: `${stateMachineName(d, name)}:*`,
        arnFormat: ArnFormat.COLON_RESOURCE_NAME,
      });
      wf.stateMachine.addToRolePolicy(
        new PolicyStatement({
          effect: Effect.ALLOW,
          actions: ['states:DescribeExecution', 'states:StopExecution'],
          resources: [executions],
        }),
      );
      Validations.of(wf).acknowledge({
        id: `AwsSolutions-IAM5[Resource::${nagArnPrefix(this, 'states')}:execution:${stateMachineName(d, name)}:*]`,
        reason: `startExecution.sync:2 must describe and stop the ${name} executions it starts (one per broker); their names are generated at run time.`,
      });
    }
  }
}
