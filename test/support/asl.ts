// The one checker of the ASL house rules (issue 4 acceptance, DESIGN.md section 6) every workflow's
// definition test uses: valid ASL as written and as rendered with its substitutions (every one
// used, no `${` left), the house style, and every terminal state reached through the cluster lock
// release. Each check returns its violations as a list, so one failing assertion shows all of them;
// the expect* helpers assert the lists are empty.
import { createRequire } from 'node:module';
import { expect } from 'vitest';
import { parseDefinition, stateBodies, walkStates, type AslDefinition } from '#local/stepfunctions/index.js';

type AslValidator = (definition: unknown) => { isValid: boolean; errorsText: (separator?: string) => string };
/** asl-validator (no type declarations of its own). It mutates its input: hand it clones. */
export const aslValidator = createRequire(import.meta.url)('asl-validator') as AslValidator;

/** Title Case verb phrases: every word capitalized (joining words too: To, As, Is...); acronyms (KRaft, DNS, DR) allowed. */
export const STATE_NAME = /^[A-Z][A-Za-z0-9]*(?: [A-Z][A-Za-z0-9]*)*$/;

/** asl-validator on the file and on its rendering; every substitution used, none left over. */
export function aslProblems(text: string, substitutions: Record<string, string>): string[] {
  const problems: string[] = [];
  const check = (what: string, def: unknown) => {
    const r = aslValidator(structuredClone(def));
    if (!r.isValid) problems.push(`${what}: ${r.errorsText('; ')}`);
  };
  // The service integrations name the partition by placeholder (arn:${Partition}:states:::...),
  // which the validator cannot read: the file is checked with only that one rendered.
  check('as written', JSON.parse(text.replaceAll('${Partition}', 'aws')));
  const rendered = parseDefinition(text, substitutions);
  check('rendered', rendered);
  if (JSON.stringify(rendered).includes('${')) problems.push('rendered: a ${...} placeholder is left');
  for (const key of Object.keys(substitutions))
    if (!text.includes(`\${${key}}`)) problems.push(`substitution ${key} is never used`);
  return problems;
}

/** Title Case names, Comments on Choices and catches, States.ALL alone and last, bounded Tasks, no literal ARNs. */
export function styleProblems(text: string, name = STATE_NAME): string[] {
  const def = JSON.parse(text) as AslDefinition;
  const problems: string[] = [];
  if ((def.Comment ?? '').length < 100) problems.push('the top-level Comment does not say what the workflow does');
  for (const { name: state, state: s } of walkStates(def)) {
    if (!name.test(state)) problems.push(`${state}: not a Title Case name`);
    if (s.Type === 'Choice' && !s.Comment) problems.push(`${state}: a Choice without a Comment saying why`);
    if (s.Type === 'Task' && !(Number(s.TimeoutSeconds) > 0)) problems.push(`${state}: a Task without TimeoutSeconds`);
    for (const [kind, list] of [
      ['Retry', s.Retry ?? []],
      ['Catch', s.Catch ?? []],
    ] as const) {
      list.forEach((r, i) => {
        if (r.ErrorEquals.includes('States.ALL') && (r.ErrorEquals.length > 1 || i !== list.length - 1))
          problems.push(`${state}: ${kind} States.ALL must be alone and last`);
      });
    }
    for (const c of s.Catch ?? [])
      if (!(c as { Comment?: string }).Comment) problems.push(`${state}: a Catch without a Comment saying why`);
  }
  if (/arn:aws/.test(text))
    problems.push('a literal ARN or partition (use a ${Placeholder}; integrations are arn:${Partition}:states:::...)');
  return problems;
}

/** Where a run the classifier superseded ends (docs/incident-store.md, "Runs and the lock"): it holds no lock to release. */
export const SUPERSEDED_STATE = 'Stop As Superseded';

/**
 * Terminal states reached other than through Choose Final State / Release Cluster Lock. The bad
 * input state may be reached only from Check Input, the superseded end only by a Catch of
 * RunSupersededError; `exempt` states are not checked at all. Every step that takes the lock or
 * changes the incident (start, resolve, escalate, release-lock) names its run, and all but the
 * release catch RunSupersededError into the superseded end, ahead of any other catch.
 */
export function lockProblems(text: string, badInput = 'Reject Malformed Input', exempt: string[] = []): string[] {
  const def = JSON.parse(text) as AslDefinition;
  const into = (target: string, catches = true) =>
    Object.entries(def.States)
      .filter(([, s]) =>
        [
          s.Next,
          s.Default,
          ...(s.Choices ?? []).map((c) => c.Next),
          ...(catches ? (s.Catch ?? []) : []).map((c) => c.Next),
        ].includes(target),
      )
      .map(([n]) => n);
  const problems: string[] = [];
  for (const [state, s] of Object.entries(def.States)) {
    if ((s.Type !== 'Succeed' && s.Type !== 'Fail') || exempt.includes(state)) continue;
    if (state === SUPERSEDED_STATE) {
      for (const f of into(state, false))
        problems.push(`${state} is reached from ${f} other than by a RunSupersededError catch`);
      for (const [n, from] of Object.entries(def.States)) {
        for (const c of from.Catch ?? [])
          if (c.Next === state && (c.ErrorEquals.length !== 1 || c.ErrorEquals[0] !== 'RunSupersededError'))
            problems.push(`${n}: only RunSupersededError may lead to ${state}`);
      }
      continue;
    }
    const allowed = state === badInput ? ['Check Input'] : ['Choose Final State', 'Release Cluster Lock'];
    for (const f of into(state))
      if (!allowed.includes(f)) problems.push(`${state} is reached from ${f}, not through Release Cluster Lock`);
  }
  const firstCatchesSuperseded = (s: AslDefinition['States'][string]) =>
    s.Catch?.[0]?.ErrorEquals.join() === 'RunSupersededError' && s.Catch[0].Next === SUPERSEDED_STATE;
  for (const { name: state, state: s, parents } of walkStates(def)) {
    const payload = (s as { Parameters?: { Payload?: Record<string, unknown> } }).Parameters?.Payload;
    const step = payload?.step;
    if (typeof step !== 'string' || !['start', 'resolve', 'escalate', 'release-lock'].includes(step)) continue;
    if (payload?.['execution.$'] !== '$$.Execution.Id')
      problems.push(`${state}: the ${step} step does not name its run (execution.$: $$.Execution.Id)`);
    if (step === 'release-lock') {
      if (parents.length) problems.push(`${state}: the lock is released at the top level, not inside ${parents[0]}`);
      continue;
    }
    if (!parents.length) {
      if (!firstCatchesSuperseded(s))
        problems.push(`${state}: the ${step} step must first catch RunSupersededError into ${SUPERSEDED_STATE}`);
      continue;
    }
    // Inside a Parallel or Map a Catch cannot leave the body: the error must reach the enclosing
    // top-level state, whose first Catch takes it to the superseded end.
    if (
      (s.Catch ?? []).some((c) => c.ErrorEquals.includes('RunSupersededError') || c.ErrorEquals.includes('States.ALL'))
    )
      problems.push(`${state}: inside ${parents[0]} the ${step} step must leave RunSupersededError to ${parents[0]}`);
    if (!firstCatchesSuperseded(def.States[parents[0] as string]!))
      problems.push(
        `${parents[0]}: holds a ${step} step, so it must first catch RunSupersededError into ${SUPERSEDED_STATE}`,
      );
  }
  // A Fail in a body, or a step's error, ends the Parallel or Map: without a States.ALL catch the
  // run would end there, lock held.
  for (const [state, s] of Object.entries(def.States)) {
    if (stateBodies(s).length && !(s.Catch ?? []).some((c) => c.ErrorEquals.includes('States.ALL')))
      problems.push(`${state}: a ${s.Type} needs a States.ALL catch to the escalation path (the lock is held)`);
  }
  return problems;
}

/** Valid as written and rendered (see aslProblems); returns the rendered definition. */
export function expectValidAsl(text: string, substitutions: Record<string, string>): AslDefinition {
  expect(aslProblems(text, substitutions)).toEqual([]);
  return parseDefinition(text, substitutions);
}

export function expectHouseStyle(text: string): void {
  expect(styleProblems(text)).toEqual([]);
}

/** Every terminal state but bad input (and `exempt`) is entered only from the final choice or the lock release. */
export function expectLockReleasedOnEveryPath(text: string, exempt: string[] = []): void {
  expect(lockProblems(text, 'Reject Malformed Input', exempt)).toEqual([]);
}

/** All three, as one assertion per kind. */
export function expectWellFormedWorkflow(text: string, substitutions: Record<string, string>): void {
  expect(aslProblems(text, substitutions)).toEqual([]);
  expect(styleProblems(text)).toEqual([]);
  expect(lockProblems(text)).toEqual([]);
}
