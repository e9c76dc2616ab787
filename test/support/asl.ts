// Assertions every workflow's definition test makes (issue 4 acceptance, DESIGN.md section 6):
// valid ASL as written and as rendered with its substitutions, no `${` left, the house style, and
// every terminal state reached through the cluster lock release.
import { createRequire } from 'node:module';
import { expect } from 'vitest';
import { parseDefinition, type AslDefinition } from '../../local/stepfunctions/index.js';

type AslValidator = (definition: unknown) => { isValid: boolean; errorsText: (separator?: string) => string };
const aslValidator = createRequire(import.meta.url)('asl-validator') as AslValidator;

/** Title Case verb phrases; small joining words and acronyms (KRaft, DR) allowed. */
export const STATE_NAME = /^[A-Z][A-Za-z]*(?: (?:[A-Z][A-Za-z]*|To|As|From|Is|Before|Not|After|Up))*$/;

export function expectValidAsl(text: string, substitutions: Record<string, string>): AslDefinition {
  // asl-validator mutates its input: it gets clones.
  const asWritten = aslValidator(structuredClone(JSON.parse(text)));
  expect(asWritten.errorsText('\n')).toBe('');
  expect(asWritten.isValid).toBe(true);
  const rendered = parseDefinition(text, substitutions);
  expect(JSON.stringify(rendered)).not.toContain('${');
  const r = aslValidator(structuredClone(rendered));
  expect(r.errorsText('\n')).toBe('');
  expect(r.isValid).toBe(true);
  for (const key of Object.keys(substitutions)) expect(text, `\${${key}} is used`).toContain(`\${${key}}`);
  return rendered;
}

export function expectHouseStyle(text: string): void {
  const def = JSON.parse(text) as AslDefinition;
  expect(def.Comment?.length).toBeGreaterThan(100);
  for (const [name, state] of Object.entries(def.States)) {
    expect(name, name).toMatch(STATE_NAME);
    if (state.Type === 'Choice') expect(state.Comment, `${name} says why`).toBeTruthy();
    for (const list of [state.Retry ?? [], state.Catch ?? []]) {
      list.forEach((r, i) => {
        if (r.ErrorEquals.includes('States.ALL')) {
          expect(r.ErrorEquals, `${name}: States.ALL alone`).toEqual(['States.ALL']);
          expect(i, `${name}: States.ALL last`).toBe(list.length - 1);
        }
      });
    }
    for (const c of state.Catch ?? []) expect((c as { Comment?: string }).Comment, `${name} catch says why`).toBeTruthy();
    if (state.Type === 'Task') expect(state.TimeoutSeconds, `${name} bounds its time`).toBeGreaterThan(0);
  }
  expect(text).not.toMatch(/arn:aws:(?!states:::)/);
}

/** Every terminal state but `exempt` (bad input) is entered only from the final choice or the lock release. */
export function expectLockReleasedOnEveryPath(text: string, exempt = ['Reject Malformed Input']): void {
  const def = JSON.parse(text) as AslDefinition;
  const into = (target: string) =>
    Object.entries(def.States)
      .filter(([, s]) => [s.Next, s.Default, ...(s.Choices ?? []).map((c) => c.Next), ...(s.Catch ?? []).map((c) => c.Next)].includes(target))
      .map(([n]) => n);
  for (const [name, state] of Object.entries(def.States)) {
    if ((state.Type !== 'Succeed' && state.Type !== 'Fail') || exempt.includes(name)) continue;
    expect(into(name).every((n) => n === 'Choose Final State' || n === 'Release Cluster Lock'), name).toBe(true);
  }
}
