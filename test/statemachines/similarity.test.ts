// No two ASL files under statemachines/ are near copies: a workflow that differs from another only
// in names or direction is one file rendered twice (see RENDERED_WORKFLOWS), so a fix lands once.
//
// Similarity of two files, line-based: each file is parsed and printed again as JSON with 2-space
// indentation (so formatting does not count), every line trimmed, blank lines dropped; then
// similarity = 2 * LCS / (a + b), where LCS is the length of the longest common subsequence of
// the two line lists and a, b their lengths (1 for identical files, 0 for files with no line in
// common; the ratio Python's difflib reports). Shared boilerplate (Lambda retry blocks, the lock
// release tail) puts unrelated workflows at 0.55-0.70; near copies sit above 0.9.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { STATEMACHINES_DIR, aslFileNames } from '#infra/constructs/workflows.js';

const LIMIT = 0.8;

/**
 * Pairs allowed above LIMIT, each up to the figure measured when it was listed (it may only go
 * down). Key: the two file names, sorted, joined by ' + '.
 */
const EXCEPTIONS: Record<string, number> = {
  // Measured 0.8301 once both broker recoveries became one Parallel with typed stops (0.8661
  // before): the EC2 and MSK runbooks differ in their middle (SSM diagnosis, disk hand-off and
  // restart against MSK's cluster checks and RebootBroker) and share the rest: the next pair to
  // become one template.
  'broker-recovery.asl.json + msk-broker-recovery.asl.json': 0.831,
};

/** The lines compared: the definition printed as 2-space JSON, each line trimmed, blank lines dropped. */
export function normalizedLines(text: string): string[] {
  return JSON.stringify(JSON.parse(text), null, 2)
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '');
}

/** Length of the longest common subsequence of two line lists (dynamic programming, two rows). */
function lcsLength(a: string[], b: string[]): number {
  let prev = new Int32Array(b.length + 1);
  let cur = new Int32Array(b.length + 1);
  for (const x of a) {
    for (let j = 0; j < b.length; j++)
      cur[j + 1] = x === b[j] ? (prev[j] as number) + 1 : Math.max(prev[j + 1] as number, cur[j] as number);
    [prev, cur] = [cur, prev];
  }
  return prev[b.length] as number;
}

/** 2 * LCS / (a + b) over the two texts' normalized lines. */
export function similarity(textA: string, textB: string): number {
  const a = normalizedLines(textA);
  const b = normalizedLines(textB);
  return a.length + b.length === 0 ? 1 : (2 * lcsLength(a, b)) / (a.length + b.length);
}

const FILES = aslFileNames().map((n) => `${n}.asl.json`);
const TEXT = new Map(FILES.map((f) => [f, readFileSync(join(STATEMACHINES_DIR, f), 'utf8')]));
const PAIRS = FILES.flatMap((a, i) => FILES.slice(i + 1).map((b) => [a, b] as const));

describe('the similarity measure', () => {
  it('is 1 for the same definition however it is formatted, 0 without a common line, 2*LCS/(a+b) between', () => {
    const def = { StartAt: 'A', States: { A: { Type: 'Pass', End: true } } };
    expect(similarity(JSON.stringify(def), JSON.stringify(def, null, 4))).toBe(1);
    expect(similarity('["a","b"]', '{"c":1,"d":2}')).toBe(0);
    // ["[", "\"a\",", "\"b\",", "\"c\"", "]"] against ["[", "\"a\",", "\"x\",", "\"c\"", "]"]: LCS 4 of 5 + 5 lines.
    expect(similarity('["a","b","c"]', '["a","x","c"]')).toBeCloseTo(0.8, 10);
  });
});

describe('no two ASL files under statemachines/ are more than 80% alike', () => {
  it('there are pairs to compare', () => {
    expect(PAIRS.length).toBeGreaterThanOrEqual(28);
  });

  it.each(PAIRS)('%s and %s', (a, b) => {
    const s = similarity(TEXT.get(a) as string, TEXT.get(b) as string);
    const allowed = EXCEPTIONS[`${a} + ${b}`] ?? LIMIT;
    expect(
      s,
      `${a} and ${b} are ${(s * 100).toFixed(1)}% alike (line-based 2*LCS/(a+b)); the limit is ${(allowed * 100).toFixed(1)}%`,
    ).toBeLessThanOrEqual(allowed);
  });

  it('every exception names two files that exist', () => {
    for (const key of Object.keys(EXCEPTIONS)) expect(PAIRS.map(([a, b]) => `${a} + ${b}`)).toContain(key);
  });
});
