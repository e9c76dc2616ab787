// Rules every ASL file under statemachines/ keeps, checked over the directory (a new workflow is
// covered without editing this file): what a first deployment into a real account needs from a
// definition that CDK cannot check, because DefinitionBody.fromFile ships it as an opaque asset.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { HealerWorkflow, STATEMACHINES_DIR, definitionTimeoutSeconds } from '../../infra/constructs/workflows.js';
import { walkStates, type AslDefinition } from '../../local/stepfunctions/index.js';

const FILES = readdirSync(STATEMACHINES_DIR).filter((f) => f.endsWith('.asl.json')).sort();
const text = (file: string) => readFileSync(join(STATEMACHINES_DIR, file), 'utf8');

describe('every ASL file', () => {
  it('there are definitions to check', () => {
    expect(FILES.length).toBeGreaterThanOrEqual(10);
  });

  it.each(FILES)('%s has a top-level TimeoutSeconds (CDK\'s timeout is ignored with DefinitionBody.fromFile)', (file) => {
    const def = JSON.parse(text(file)) as AslDefinition;
    expect(def.TimeoutSeconds, `${file}: without it an execution can run a year and its timed-out alarm never fires`).toBeTypeOf('number');
    expect(def.TimeoutSeconds).toBeGreaterThan(0);
  });

  it.each(FILES)('%s names no partition: integrations are arn:${Partition}:states:::... (aws-cn, aws-us-gov deploy the same file)', (file) => {
    const t = text(file);
    expect(t.match(/arn:aws[a-z-]*:/g) ?? [], file).toEqual([]);
    const def = JSON.parse(t) as AslDefinition;
    const resources = walkStates(def).flatMap(({ state }) => (state.Resource === undefined ? [] : [state.Resource]));
    expect(resources.length, file).toBeGreaterThan(0);
    for (const r of resources) expect(r, file).toMatch(/^arn:\$\{Partition\}:states:::/);
  });
});

describe('HealerWorkflow', () => {
  it('substitutes the stack\'s partition and checks the run time limit against the file', () => {
    const stack = new Stack(new App(), 'S');
    const wf = new HealerWorkflow(stack, 'W', { name: 'escalation-notify', stateMachineName: 'n', substitutions: { CriticalTopicArn: 'c', WarningTopicArn: 'w' } });
    expect(wf.timeout.toSeconds()).toBe(definitionTimeoutSeconds('escalation-notify'));
    const sm = Object.values(Template.fromStack(stack).findResources('AWS::StepFunctions::StateMachine'))[0] as { Properties: { DefinitionSubstitutions: Record<string, unknown> } };
    expect(sm.Properties.DefinitionSubstitutions['Partition']).toEqual({ Ref: 'AWS::Partition' });
    expect(() => new HealerWorkflow(stack, 'X', { name: 'escalation-notify', stateMachineName: 'x', substitutions: {}, timeout: wf.timeout.plus(wf.timeout) })).toThrow(/TimeoutSeconds is 900, the construct expects 1800/);
  });
});
