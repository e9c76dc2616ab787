// Security: values that came from an alarm (names, labels, annotations) must never reach a host
// shell unvalidated. For every parameter of every document, every hostile payload is rejected
// by the same validation SSM applies, before a script is rendered. Then, as defence in depth,
// the shell's own re-validation refuses values that a broken validator let through.

import { afterAll, describe, expect, it } from 'vitest';
import { existsSync, rmSync } from 'node:fs';
import {
  InvalidRunbookParameters,
  listRunbooks,
  loadRunbook,
  renderCommands,
  validateParameters,
} from '#infra/runbooks.js';
import type { RunbookDocument } from '#infra/runbooks.js';
import { HOSTILE, REQUIRED } from '../security/hostile-values.js';
import { runScript, tempDir } from './sandbox.js';

const DOCS: RunbookDocument[] = listRunbooks().map((name) => loadRunbook(name));
const CASES = DOCS.flatMap((doc) =>
  Object.keys(doc.parameters).flatMap((parameter) =>
    HOSTILE.map(([label, value]) => ({ doc, parameter, label, value })),
  ),
);

describe('hostile parameter values', () => {
  it('covers every parameter of every document', () => {
    const parameters = DOCS.reduce((n, doc) => n + Object.keys(doc.parameters).length, 0);
    expect(parameters).toBeGreaterThanOrEqual(30);
    expect(CASES.length).toBe(parameters * HOSTILE.length);
  });

  it.each(CASES.map((c) => [c.doc.name, c.parameter, c.label, c] as const))(
    '%s %s rejects %s',
    (_name, _parameter, _label, c) => {
      const params = { ...REQUIRED[c.doc.name], [c.parameter]: c.value };
      let caught: unknown;
      try {
        renderCommands(c.doc, params);
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(InvalidRunbookParameters);
      const error = caught as InvalidRunbookParameters;
      expect(error.name).toBe('InvalidRunbookParameters');
      expect(error.parameter).toBe(c.parameter);
      expect(error.value).toBe(c.value);
      expect(error.document).toBe(c.doc.name);
      // The same value given in SSM's API shape (a one-element list) is rejected too.
      expect(() => validateParameters(c.doc, { ...REQUIRED[c.doc.name], [c.parameter]: [c.value] })).toThrow(
        InvalidRunbookParameters,
      );
    },
  );

  it('keeps long hostile values out of error messages', () => {
    const doc = loadRunbook('kafka-restart-broker');
    expect(() => validateParameters(doc, { ServiceName: `$(id)${'x'.repeat(10_000)}` })).toThrow(
      /ServiceName .*\(10005 chars\)/,
    );
  });
});

// A broken validator must still not hand the shell a weapon: substitute values naively (as a
// bug would) and check the script's own checks stop before acting. Only values that keep the
// quoted assignment intact are meaningful here; the rest cannot pass any allowedPattern.
describe('shell re-validation (defence in depth)', () => {
  const work = tempDir();
  afterAll(() => rmSync(work, { recursive: true, force: true }));
  const marker = `${work}/expanded`;
  // Command substitution would run at the assignment itself, before any re-check, if the value were expanded there.
  const SLIPPED = [
    'a b',
    '../etc',
    '/var/log/../../etc',
    'x;y',
    'x|y',
    '-rf',
    '1\n2',
    `$(touch ${marker})`,
    `\`touch ${marker}\``,
    '${HOME}',
  ];

  const naive = (doc: RunbookDocument, params: Record<string, string>): string =>
    doc.steps[0]!.runCommand.join('\n').replace(
      /\{\{\s*([^{}\s]+)\s*\}\}/g,
      (_m, name: string) => params[name] ?? (doc.parameters[name]?.default as string | undefined) ?? '',
    );

  const cases = DOCS.flatMap((doc) =>
    Object.keys(doc.parameters).map((parameter) => [doc.name, parameter, doc] as const),
  );
  it.each(cases)('%s re-checks %s in bash', (_name, parameter, doc) => {
    for (const value of SLIPPED) {
      const params = { ...REQUIRED[doc.name], [parameter]: value };
      const result = runScript(naive(doc, params), { cwd: work });
      expect(result.status, `${parameter}=${JSON.stringify(value)}: ${result.stderr}`).toBe(2);
      expect(result.stderr).toContain(`invalid parameter ${parameter}`);
      expect(result.json?.['result'] ?? result.json?.['error']).toBeDefined();
      expect(existsSync(marker), `${parameter}=${JSON.stringify(value)} ran a command`).toBe(false);
    }
  });
});
