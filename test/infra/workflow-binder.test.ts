// HealerWorkflow's WorkflowBinder: a deploy-time substitution comes with the IAM that makes it
// callable, in one call; a placeholder without a value, a deploy-time value without a binder, and a
// grant without a substitution all fail the synth.
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { Code, Function as LambdaFunction, Runtime } from 'aws-cdk-lib/aws-lambda';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { DefinitionBody, Pass, StateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { describe, expect, it } from 'vitest';
import { HealerWorkflow, placeholdersOf, definitionText } from '#infra/constructs/workflows.js';

type Statement = { Action: string | string[]; Resource: unknown };

function setup() {
  const app = new App();
  const stack = new Stack(app, 'Binder', { env: { account: '123456789012', region: 'eu-west-1' } });
  const critical = new Topic(stack, 'Critical');
  const warning = new Topic(stack, 'Warning');
  const steps = new LambdaFunction(stack, 'Steps', {
    runtime: Runtime.NODEJS_22_X,
    handler: 'index.handler',
    code: Code.fromInline('exports.handler = async () => ({})'),
  });
  const escalation = new StateMachine(stack, 'Escalation', {
    stateMachineName: 'kafka-heal-t-escalation',
    definitionBody: DefinitionBody.fromChainable(new Pass(stack, 'Notify')),
  });
  return { app, stack, critical, warning, steps, escalation };
}

const ref = (stack: Stack, c: { node: { defaultChild?: unknown } }) => stack.getLogicalId(c.node.defaultChild as never);

/** The role policy statements and the substitutions of one workflow. */
function rendered(stack: Stack, wf: HealerWorkflow) {
  const json = Template.fromStack(stack).toJSON() as {
    Resources: Record<string, { Type: string; Properties: Record<string, unknown> }>;
  };
  const roleId = ref(stack, wf.stateMachine.role as never);
  const statements = Object.values(json.Resources)
    .filter(
      (r) => r.Type === 'AWS::IAM::Policy' && JSON.stringify(r.Properties.Roles) === JSON.stringify([{ Ref: roleId }]),
    )
    .flatMap((r) => (r.Properties.PolicyDocument as { Statement: Statement[] }).Statement);
  const substitutions = json.Resources[ref(stack, wf.stateMachine)]?.Properties.DefinitionSubstitutions as Record<
    string,
    unknown
  >;
  return { statements, substitutions };
}

const allowing = (statements: Statement[], action: string) =>
  statements.filter((s) => [s.Action].flat().includes(action)).map((s) => s.Resource);

describe('WorkflowBinder', () => {
  it('a placeholder with no value fails, as the renderer does', () => {
    const { stack, critical } = setup();
    expect(placeholdersOf(definitionText('escalation-notify'))).toEqual(
      expect.arrayContaining(['CriticalTopicArn', 'WarningTopicArn']),
    );
    expect(
      () =>
        new HealerWorkflow(stack, 'W', {
          name: 'escalation-notify',
          stateMachineName: 'kafka-heal-t-notify',
          substitutions: (bind) => ({ CriticalTopicArn: bind.topic(critical) }),
        }),
    ).toThrow('statemachines/escalation-notify.asl.json: no substitution for ${WarningTopicArn}');
  });

  it('a deploy-time value (an ARN token) without a binder fails: it would reach the definition with no grant', () => {
    const { stack, critical, warning } = setup();
    expect(
      () =>
        new HealerWorkflow(stack, 'W', {
          name: 'escalation-notify',
          stateMachineName: 'kafka-heal-t-notify',
          substitutions: { CriticalTopicArn: critical.topicArn, WarningTopicArn: warning.topicArn },
        }),
    ).toThrow(/\$\{CriticalTopicArn\}, \$\{WarningTopicArn\} hold deploy-time values no WorkflowBinder made/);
  });

  it('a grant without its substitution fails, and so does a value for no placeholder', () => {
    const { stack, critical } = setup();
    expect(
      () =>
        new HealerWorkflow(stack, 'W', {
          name: 'escalation-notify',
          stateMachineName: 'kafka-heal-t-notify',
          substitutions: (bind) => {
            bind.topic(critical);
            return { CriticalTopicArn: 'c', WarningTopicArn: 'w' };
          },
        }),
    ).toThrow(/a WorkflowBinder grant has no substitution/);
    expect(
      () =>
        new HealerWorkflow(stack, 'X', {
          name: 'escalation-notify',
          stateMachineName: 'kafka-heal-t-notify',
          substitutions: { CriticalTopicArn: 'c', WarningTopicArn: 'w', OtherTopicArn: 'o' },
        }),
    ).toThrow('statemachines/escalation-notify.asl.json: OtherTopicArn never used in the definition');
  });

  it('binding a topic sets the substitution AND grants sns:Publish on that topic', () => {
    const { stack, critical, warning } = setup();
    const wf = new HealerWorkflow(stack, 'W', {
      name: 'escalation-notify',
      stateMachineName: 'kafka-heal-t-notify',
      substitutions: (bind) => ({ CriticalTopicArn: bind.topic(critical), WarningTopicArn: bind.topic(warning) }),
    });
    const { statements, substitutions } = rendered(stack, wf);
    expect(substitutions['CriticalTopicArn']).toEqual({ Ref: ref(stack, critical) });
    expect(substitutions['WarningTopicArn']).toEqual({ Ref: ref(stack, warning) });
    expect(allowing(statements, 'sns:Publish')).toEqual([{ Ref: ref(stack, critical) }, { Ref: ref(stack, warning) }]);
  });

  it('binding a Lambda and a nested state machine sets both substitutions AND grants invoke and .sync:2', () => {
    const { stack, steps, escalation } = setup();
    const wf = new HealerWorkflow(stack, 'W', {
      name: 'consumer-lag',
      stateMachineName: 'kafka-heal-t-consumer-lag',
      substitutions: (bind) => ({
        WorkflowStepsFunctionArn: bind.lambda(steps, 'a step function'),
        EscalationStateMachineArn: bind.nested({
          stateMachine: escalation,
          stateMachineName: 'kafka-heal-t-escalation',
        }),
      }),
    });
    const { statements, substitutions } = rendered(stack, wf);
    const stepsArn = { 'Fn::GetAtt': [ref(stack, steps), 'Arn'] };
    expect(substitutions['WorkflowStepsFunctionArn']).toEqual(stepsArn);
    expect(substitutions['EscalationStateMachineArn']).toEqual({ Ref: ref(stack, escalation) });
    expect(allowing(statements, 'lambda:InvokeFunction')).toEqual([[stepsArn, { 'Fn::Join': ['', [stepsArn, ':*']] }]]);
    expect(allowing(statements, 'states:StartExecution')).toEqual([{ Ref: ref(stack, escalation) }]);
    expect(JSON.stringify(allowing(statements, 'states:DescribeExecution'))).toContain(
      ':states:eu-west-1:123456789012:execution:kafka-heal-t-escalation:*',
    );
    expect(JSON.stringify(allowing(statements, 'events:PutRule'))).toContain(
      'rule/StepFunctionsGetEventsForStepFunctionsExecutionRule',
    );
  });

  it('a nested child named before it exists fails the synth until the child grants itself to its parent', () => {
    const make = (grant: boolean) => {
      const { app, stack, steps, escalation } = setup();
      const parent = new HealerWorkflow(stack, 'Parent', {
        name: 'consumer-lag',
        stateMachineName: 'kafka-heal-t-consumer-lag',
        substitutions: (bind) => ({
          WorkflowStepsFunctionArn: bind.lambda(steps, 'a step function'),
          EscalationStateMachineArn: bind.nestedCreatedLater('kafka-heal-t-escalation'),
        }),
      });
      if (grant) parent.grantNestedChild({ stateMachine: escalation, stateMachineName: 'kafka-heal-t-escalation' });
      return { app, stack, parent, escalation };
    };
    expect(() => make(false).app.synth()).toThrow(
      /kafka-heal-t-consumer-lag names the nested state machine kafka-heal-t-escalation, which was never granted to it/,
    );
    const { app, stack, parent, escalation } = make(true);
    expect(() => app.synth()).not.toThrow();
    expect(allowing(rendered(stack, parent).statements, 'states:StartExecution')).toEqual([
      { Ref: ref(stack, escalation) },
    ]);
    expect(() => parent.grantNestedChild({ stateMachine: escalation, stateMachineName: 'other' })).toThrow(
      'kafka-heal-t-consumer-lag does not name other',
    );
  });
});
