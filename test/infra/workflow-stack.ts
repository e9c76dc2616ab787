// A small stack with the recovery construct and the workflows nested in or beside it
// (cascade-recovery, disk-pressure) for chosen example clusters, and helpers that read a
// workflow role's IAM statements. Bundling skipped. Used by the *-wiring tests.
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AttributeType, TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { Code, Function as LambdaFunction, Runtime } from 'aws-cdk-lib/aws-lambda';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { DefinitionBody, Pass, StateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { DEFAULT_CONFIG_FILES, loadConfigs } from '#infra/app-builder.js';
import type { ClusterConfig } from '#infra/config/schema.js';
import { CascadeRecoveryWorkflow } from '#infra/constructs/cascade-workflow.js';
import { DiskPressureWorkflow } from '#infra/constructs/disk-pressure-workflow.js';
import { HealerFunction } from '#infra/constructs/healer-function.js';
import { RecoveryWorkflows } from '#infra/constructs/recovery-workflows.js';

export type Statement = {
  Action: string | string[];
  Resource: unknown;
  Condition?: Record<string, Record<string, string>>;
};

export const clusters = loadConfigs(DEFAULT_CONFIG_FILES).flatMap((c) => c.clusters);
export const cluster = (name: string) => {
  const c = clusters.find((x) => x.name === name);
  if (!c) throw new Error(`no example cluster ${name}`);
  return c;
};

export function build(picked: ClusterConfig[]) {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new Stack(app, 'CascadeWiring', { env: { account: '123456789012', region: 'eu-west-1' } });
  const table = new TableV2(stack, 'Incidents', { partitionKey: { name: 'pk', type: AttributeType.STRING } });
  const escalation = new StateMachine(stack, 'Escalation', {
    stateMachineName: 'kafka-heal-test-escalation',
    definitionBody: DefinitionBody.fromChainable(new Pass(stack, 'Notify')),
  });
  const approval = new LambdaFunction(stack, 'ApprovalRequest', {
    runtime: Runtime.NODEJS_22_X,
    handler: 'index.handler',
    code: Code.fromInline('exports.handler = async () => ({})'),
  });
  const recovery = new RecoveryWorkflows(stack, 'Recovery', {
    deployment: 'test',
    clusters: picked,
    table,
    escalation: { stateMachine: escalation, stateMachineName: 'kafka-heal-test-escalation' },
    approvalFunction: approval,
    // Imported: no resource of its own (the DR workflows, which publish to it, are not built here).
    notificationTopic: Topic.fromTopicArn(stack, 'Critical', 'arn:aws:sns:eu-west-1:123456789012:critical'),
  });
  const classify = new HealerFunction(stack, 'Classify', { name: 'classify', description: 'classifier' });
  const cascade = new CascadeRecoveryWorkflow(stack, 'Cascade', recovery.context).bindTo(classify);
  const disk = new DiskPressureWorkflow(stack, 'Disk', recovery.context).bindTo(classify);
  const t = Template.fromStack(stack);
  const json = t.toJSON() as { Resources: Record<string, { Type: string; Properties: Record<string, unknown> }> };
  const idOf = (construct: { node: { defaultChild?: unknown } }) =>
    stack.getLogicalId(construct.node.defaultChild as never);
  /** Statements of the policies on a state machine's role that allow `action`. */
  const allowingFor = (machine: StateMachine) => (action: string) => {
    const roleId = idOf(machine.role as never);
    return Object.values(json.Resources)
      .filter(
        (r) =>
          r.Type === 'AWS::IAM::Policy' && JSON.stringify(r.Properties.Roles) === JSON.stringify([{ Ref: roleId }]),
      )
      .flatMap((r) => (r.Properties.PolicyDocument as { Statement: Statement[] }).Statement)
      .filter((st) => [st.Action].flat().includes(action));
  };
  return {
    t,
    json,
    stack,
    recovery,
    cascade,
    disk,
    classify,
    allowing: allowingFor(cascade.workflow.stateMachine),
    allowingFor,
    idOf,
    approvalId: idOf(approval),
  };
}

export const arnText = (v: unknown) => JSON.stringify(v);
