// A workflow is read in the Step Functions console at 3 a.m. (DESIGN.md section 6: at most about
// 25 states, the happy path top to bottom). Each file has a budget of states, Map and Parallel
// bodies counted, that it may not exceed; a budget above 25 is the file's count when the budgets
// were set, to be lowered as the file is rewritten, never raised. A new file needs an entry.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { STATEMACHINES_DIR, aslFileNames } from '#infra/constructs/workflows.js';
import { walkStates, type AslDefinition } from '#local/stepfunctions/index.js';

/** The most states a console graph should show. */
export const READABLE_STATES = 25;

/** States per file (with Map and Parallel bodies) that a file may not exceed. */
export const STATE_BUDGETS: Record<string, number> = {
  'broker-recovery': 38,
  'cascade-recovery': 48,
  'consumer-lag': 24,
  'disk-pressure': 42,
  'dr-switch': 55,
  'escalation-notify': 9,
  escalation: 16,
  'msk-broker-recovery': 43,
  'quorum-recovery': 28,
  'ssm-run': 8,
};

const FILES = aslFileNames();

/** Every state a console graph draws: the top level and the bodies of Map and Parallel states. */
export function stateCount(name: string): number {
  const def = JSON.parse(readFileSync(join(STATEMACHINES_DIR, `${name}.asl.json`), 'utf8')) as AslDefinition;
  return walkStates(def).length;
}

describe('state budget per workflow', () => {
  it('every ASL file has a budget, and every budget a file', () => {
    expect(
      FILES.filter((f) => !Object.hasOwn(STATE_BUDGETS, f)),
      'files without a budget',
    ).toEqual([]);
    expect(
      Object.keys(STATE_BUDGETS).filter((f) => !FILES.includes(f)),
      'budgets without a file',
    ).toEqual([]);
  });

  it.each(FILES)('%s stays within its budget', (name) => {
    expect(stateCount(name), `${name}: ${stateCount(name)} states, budget ${STATE_BUDGETS[name]}`).toBeLessThanOrEqual(
      STATE_BUDGETS[name] ?? 0,
    );
  });

  it('counts the bodies of Parallel and Map states (a state hidden in a branch still shows in the console)', () => {
    const def: AslDefinition = {
      StartAt: 'P',
      States: {
        P: {
          Type: 'Parallel',
          Branches: [{ StartAt: 'A', States: { A: { Type: 'Pass', Next: 'B' }, B: { Type: 'Succeed' } } }],
          Next: 'M',
        },
        M: { Type: 'Map', ItemProcessor: { StartAt: 'C', States: { C: { Type: 'Succeed' } } }, End: true },
      },
    } as unknown as AslDefinition;
    expect(walkStates(def).length).toBe(5);
  });
});
