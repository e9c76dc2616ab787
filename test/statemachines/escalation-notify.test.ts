import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { INCIDENT_TYPES } from '#domain/types.js';
import { ESCALATION_NOTIFY_ASL, escalationNotifySubstitutions, renderDefinition } from '#infra/constructs/workflows.js';

// asl-validator ships no type declarations: describe the one call used here.
type AslValidator = (definition: unknown) => { isValid: boolean; errorsText: (separator?: string) => string };
const aslValidator = createRequire(import.meta.url)('asl-validator') as AslValidator;

const TEXT = readFileSync(ESCALATION_NOTIFY_ASL, 'utf8');
const SUBS = escalationNotifySubstitutions({
  criticalTopicArn: 'arn:aws:sns:eu-west-1:123456789012:kafka-heal-prod-critical',
  warningTopicArn: 'arn:aws:sns:eu-west-1:123456789012:kafka-heal-prod-warning',
});
/** The stack substitutes the partition of every service integration too (HealerWorkflow). */
const DEPLOYED = { Partition: 'aws', ...SUBS };

interface State {
  Type: string;
  Comment?: string;
  Next?: string;
  Default?: string;
  Resource?: string;
  Parameters?: Record<string, unknown>;
  Choices?: { Next: string }[];
  Retry?: { ErrorEquals: string[] }[];
  Catch?: { ErrorEquals: string[]; Next: string }[];
}
interface Definition {
  Comment?: string;
  StartAt: string;
  States: Record<string, State>;
}

describe('statemachines/escalation-notify.asl.json', () => {
  it('lives where the stack loads it from', () => {
    expect(ESCALATION_NOTIFY_ASL).toBe(join(process.cwd(), 'statemachines', 'escalation-notify.asl.json'));
  });

  it('passes asl-validator as written and as rendered', () => {
    // As written, with only the partition placeholder the validator cannot read rendered.
    const raw = JSON.parse(TEXT.replaceAll('${Partition}', 'aws')) as Definition;
    // asl-validator mutates its input: hand it a clone.
    const asWritten = aslValidator(structuredClone(raw));
    expect(asWritten.errorsText('\n')).toBe('');
    expect(asWritten.isValid).toBe(true);
    const rendered = aslValidator(JSON.parse(renderDefinition(TEXT, DEPLOYED)));
    expect(rendered.errorsText('\n')).toBe('');
    expect(rendered.isValid).toBe(true);
  });

  it('the validator does catch a broken definition (so the check above can fail)', () => {
    const broken = JSON.parse(TEXT.replaceAll('${Partition}', 'aws')) as Definition;
    const publish = broken.States['Publish To Critical Topic'];
    if (publish) publish.Next = 'No Such State';
    expect(aslValidator(broken).isValid).toBe(false);
  });

  it('rendered with the stack substitutions leaves no ${ and uses each substitution', () => {
    const rendered = renderDefinition(TEXT, DEPLOYED);
    expect(rendered).not.toContain('${');
    for (const [key, value] of Object.entries(DEPLOYED)) {
      expect(TEXT).toContain(`\${${key}}`);
      expect(rendered).toContain(value);
    }
  });

  it('rendering refuses a placeholder that has no substitution', () => {
    expect(() => renderDefinition(TEXT, { Partition: 'aws', CriticalTopicArn: 'x' })).toThrow(/WarningTopicArn/);
  });

  it('follows the house style: top-level Comment, Title Case names, no literal ARNs, specific errors before States.ALL', () => {
    const def = JSON.parse(TEXT) as Definition;
    expect(def.Comment?.length).toBeGreaterThan(40);
    for (const [name, state] of Object.entries(def.States)) {
      expect(name, name).toMatch(/^[A-Z][a-z]*(?: (?:[A-Z][a-z]*|[A-Z]+|To|By|As|After|On))*$/);
      for (const list of [state.Retry ?? [], state.Catch ?? []]) {
        list.forEach((r, i) => {
          if (r.ErrorEquals.includes('States.ALL')) {
            expect(r.ErrorEquals, `${name}: States.ALL alone`).toEqual(['States.ALL']);
            expect(i, `${name}: States.ALL last`).toBe(list.length - 1);
          }
        });
      }
      if (state.Type === 'Choice') expect(state.Comment, `${name} says why`).toBeTruthy();
      for (const c of state.Catch ?? [])
        expect((c as { Comment?: string }).Comment, `${name} catch says why`).toBeTruthy();
    }
    expect(TEXT).not.toMatch(/arn:aws:(?!states:::)/);
  });

  it("every SNS Subject fits SNS's 100-character limit for the longest incident type and cluster name", () => {
    const def = JSON.parse(TEXT) as Definition;
    const longestType = Math.max(...INCIDENT_TYPES.map((t) => t.length));
    const longestCluster = 40; // config: a lowercase letter then up to 39 characters
    const formats = Object.values(def.States)
      .map((st) => st.Parameters?.['Subject.$'])
      .filter((x): x is string => typeof x === 'string');
    expect(formats).toHaveLength(3);
    for (const f of formats) {
      const template = /^States\.Format\('(.*)', \$\.severity, \$\.incidentType, \$\.cluster\)$/.exec(f)?.[1];
      expect(template, f).toBeDefined();
      const rendered = (template as string)
        .replace('{}', 'SEV-1')
        .replace('{}', 'x'.repeat(longestType))
        .replace('{}', 'c'.repeat(longestCluster));
      expect(rendered.length, rendered).toBeLessThanOrEqual(100);
    }
  });

  it('routes SEV-1/SEV-2 to the critical topic and everything else to the warning topic', () => {
    const def = JSON.parse(renderDefinition(TEXT, DEPLOYED)) as Definition;
    const choose = def.States['Choose Topic By Severity'];
    expect(JSON.stringify(choose?.Choices)).toContain('SEV-1');
    expect(JSON.stringify(choose?.Choices)).toContain('SEV-2');
    expect(choose?.Choices?.[0]?.Next).toBe('Publish To Critical Topic');
    expect(choose?.Default).toBe('Publish To Warning Topic');
    expect(def.States['Publish To Critical Topic']?.Parameters?.['TopicArn']).toBe(SUBS['CriticalTopicArn']);
    expect(def.States['Publish To Warning Topic']?.Parameters?.['TopicArn']).toBe(SUBS['WarningTopicArn']);
    expect(def.States['Publish To Warning Topic As Fallback']?.Parameters?.['TopicArn']).toBe(SUBS['WarningTopicArn']);
    // Every transition names a state that exists.
    for (const state of Object.values(def.States)) {
      const targets = [
        state.Next,
        state.Default,
        ...(state.Choices ?? []).map((c) => c.Next),
        ...(state.Catch ?? []).map((c) => c.Next),
      ];
      for (const t of targets) if (t !== undefined) expect(def.States).toHaveProperty([t]);
    }
    expect(def.States).toHaveProperty([def.StartAt]);
  });
});
