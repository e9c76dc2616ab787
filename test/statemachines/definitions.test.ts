// Rules every workflow keeps, checked over statemachines/ (a new workflow is covered without
// editing this file; a workflow rendered from a shared template is checked as rendered): what a
// first deployment into a real account needs from a definition that CDK cannot check, because
// DefinitionBody.fromFile ships it as an opaque asset.
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import {
  HealerWorkflow,
  definitionText,
  definitionTimeoutSeconds,
  workflowNames,
} from '#infra/constructs/workflows.js';
import { walkStates, type AslDefinition } from '#local/stepfunctions/index.js';

const FILES = workflowNames();
const text = (name: string) => definitionText(name);

describe('every ASL file', () => {
  it('there are definitions to check', () => {
    expect(FILES.length).toBeGreaterThanOrEqual(10);
  });

  it.each(FILES)(
    "%s has a top-level TimeoutSeconds (CDK's timeout is ignored with DefinitionBody.fromFile)",
    (file) => {
      const def = JSON.parse(text(file)) as AslDefinition;
      expect(
        def.TimeoutSeconds,
        `${file}: without it an execution can run a year and its timed-out alarm never fires`,
      ).toBeTypeOf('number');
      expect(def.TimeoutSeconds).toBeGreaterThan(0);
    },
  );

  it.each(FILES)(
    '%s names no partition: integrations are arn:${Partition}:states:::... (aws-cn, aws-us-gov deploy the same file)',
    (file) => {
      const t = text(file);
      expect(t.match(/arn:aws[a-z-]*:/g) ?? [], file).toEqual([]);
      const def = JSON.parse(t) as AslDefinition;
      const resources = walkStates(def).flatMap(({ state }) => (state.Resource === undefined ? [] : [state.Resource]));
      expect(resources.length, file).toBeGreaterThan(0);
      for (const r of resources) expect(r, file).toMatch(/^arn:\$\{Partition\}:states:::/);
    },
  );
});

describe('HealerWorkflow', () => {
  it("substitutes the stack's partition and checks the run time limit against the file", () => {
    const stack = new Stack(new App(), 'S');
    const wf = new HealerWorkflow(stack, 'W', {
      name: 'escalation-notify',
      stateMachineName: 'n',
      substitutions: { CriticalTopicArn: 'c', WarningTopicArn: 'w' },
    });
    expect(wf.timeout.toSeconds()).toBe(definitionTimeoutSeconds('escalation-notify'));
    const sm = Object.values(Template.fromStack(stack).findResources('AWS::StepFunctions::StateMachine'))[0] as {
      Properties: { DefinitionSubstitutions: Record<string, unknown> };
    };
    expect(sm.Properties.DefinitionSubstitutions['Partition']).toEqual({ Ref: 'AWS::Partition' });
    expect(
      () =>
        new HealerWorkflow(stack, 'X', {
          name: 'escalation-notify',
          stateMachineName: 'x',
          substitutions: {},
          timeout: wf.timeout.plus(wf.timeout),
        }),
    ).toThrow(/TimeoutSeconds is 900, the construct expects 1800/);
  });
});

/**
 * The AWS SDK integrations the workflows call, each checked against Step Functions' documented list
 * of supported AWS SDK service integrations (developer guide, "AWS SDK service integrations":
 * Amazon MSK `kafka`, Route 53 `route53`, Systems Manager `ssm` and CloudWatch `cloudwatch`, all supported since
 * 2021-09-30). An SDK integration exposes the service's API actions as of the SDK version Step
 * Functions integrated, so an action is listed here only when it is older than that date.
 * DescribeClusterV2 (2021-11, MSK Serverless) and DescribeClusterOperationV2 (2024) are not: the
 * workflows use the MSK API 1.0 DescribeCluster and DescribeClusterOperation, which answer the
 * same questions (state, version, EBS size; operation state) for the provisioned clusters healed.
 */
const SUPPORTED_SDK_ACTIONS: Record<string, string> = {
  'kafka:describeCluster': 'MSK API 1.0 (2018)',
  'kafka:describeClusterOperation': 'MSK API 1.0 (2019)',
  'cloudwatch:getMetricData': 'CloudWatch API 2010-08-01 (GetMetricData 2017)',
  'kafka:rebootBroker': 'MSK API 1.0 (2020)',
  'kafka:updateBrokerStorage': 'MSK API 1.0 (2019)',
  'route53:changeResourceRecordSets': 'Route 53 API 2013-04-01',
  'route53:getChange': 'Route 53 API 2013-04-01',
  'route53:listResourceRecordSets': 'Route 53 API 2013-04-01',
  'ssm:sendCommand': 'Systems Manager Run Command (2015)',
  'ssm:getCommandInvocation': 'Systems Manager Run Command (2016)',
};

describe('AWS SDK integrations', () => {
  const used = new Map<string, string[]>();
  for (const file of FILES) {
    for (const { state } of walkStates(JSON.parse(text(file)) as AslDefinition)) {
      const m = /^arn:\$\{Partition\}:states:::aws-sdk:([a-z0-9]+:[A-Za-z0-9]+)(?:\.\w+)?$/.exec(state.Resource ?? '');
      if (m?.[1]) used.set(m[1], [...(used.get(m[1]) ?? []), file]);
    }
  }

  it('every aws-sdk action a workflow calls is one Step Functions documents as integrated', () => {
    expect(used.size).toBeGreaterThan(5);
    const unsupported = [...used]
      .filter(([action]) => !Object.hasOwn(SUPPORTED_SDK_ACTIONS, action))
      .map(([action, files]) => `${action} (${[...new Set(files)].join(', ')})`);
    expect(unsupported).toEqual([]);
  });
});
