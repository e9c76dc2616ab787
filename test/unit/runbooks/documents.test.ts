// Static rules every host runbook must follow: it parses as an SSM Command document (2.2), every
// parameter is declared, constrained and used, and parameters reach the shell only as the
// right-hand side of a quoted assignment at the top of the script.

import { afterAll, describe, expect, it } from 'vitest';
import { rmSync } from 'node:fs';
import { listRunbooks, loadRunbook, placeholdersOf, renderCommands } from '#infra/runbooks.js';
import { bashSyntaxErrors, tempDir } from './sandbox.js';

const EXPECTED = [
  'kafka-backup-metadata',
  'kafka-cli-action',
  'kafka-diagnose-host',
  'kafka-free-disk',
  'kafka-restart-broker',
  'kafka-stop-broker',
];

/** Values that satisfy every document's required parameters, for rendering. */
const REQUIRED: Record<string, Record<string, string>> = {
  'kafka-cli-action': { Action: 'describe-quorum' },
  'kafka-backup-metadata': { Mode: 'kraft', DataDir: '/var/lib/kafka/data' },
};

/** The ERE a script passes to `kh_require <Name>`, with `$kh_path` expanded as bash would. */
function shellPattern(script: string, parameterName: string): string | undefined {
  const khPath = /^\s*kh_path='([^']*)'$/m.exec(script)?.[1];
  const line = new RegExp(`^\\s*kh_require ${parameterName} "\\$${parameterName}" (.*)$`, 'm').exec(script)?.[1];
  if (line === undefined) return undefined;
  if (line.startsWith("'")) return line.slice(1, -1);
  return line
    .slice(1, -1)
    .replaceAll('$kh_path', khPath ?? 'UNDEFINED')
    .replaceAll('\\$', '$');
}

const work = tempDir();
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('runbooks folder', () => {
  it('holds exactly the documents the workflows use', () => {
    expect(listRunbooks()).toEqual(EXPECTED);
  });
});

describe.each(EXPECTED)('%s', (name) => {
  const doc = loadRunbook(name);
  const script = doc.steps.flatMap((step) => step.runCommand).join('\n');
  const lines = script.split('\n');

  it('is a schema 2.2 document with a description and one aws:runShellScript step', () => {
    expect(doc.content['schemaVersion']).toBe('2.2');
    expect(doc.description.length).toBeGreaterThan(40);
    expect(doc.steps).toHaveLength(1);
    expect(doc.steps[0]?.action).toBe('aws:runShellScript');
    expect(doc.steps[0]?.timeoutSeconds).toBeGreaterThan(0);
  });

  it('constrains every parameter with allowedPattern or allowedValues and describes it', () => {
    expect(Object.keys(doc.parameters).length).toBeGreaterThan(0);
    for (const [parameterName, parameter] of Object.entries(doc.parameters)) {
      expect(parameter.allowedPattern ?? parameter.allowedValues, parameterName).toBeDefined();
      expect(parameter.description.length, parameterName).toBeGreaterThan(5);
      expect(parameter.type, parameterName).toBe('String');
      if (parameter.allowedPattern !== undefined) {
        // Anchored on both ends, so the meaning does not depend on full-match semantics.
        expect(parameter.allowedPattern, parameterName).toMatch(/^\^.*\$$/);
      }
    }
  });

  it('uses every declared parameter and declares every parameter it uses', () => {
    expect(new Set(placeholdersOf(doc))).toEqual(new Set(Object.keys(doc.parameters)));
  });

  it("substitutes parameters only as X='{{ X }}' assignments (single quotes: nothing in a value expands), before any other statement", () => {
    const withPlaceholder = lines.map((line, index) => ({ line, index })).filter(({ line }) => line.includes('{{'));
    expect(withPlaceholder.length).toBe(Object.keys(doc.parameters).length);
    for (const { line } of withPlaceholder) {
      expect(line, line).toMatch(/^\s*([A-Za-z_][A-Za-z0-9_]*)='\{\{ \1 \}\}'$/);
    }
    // Nothing but the shebang, the bash re-exec guard and comments may come before them.
    const firstAssignment = withPlaceholder[0]?.index ?? 0;
    for (const line of lines.slice(0, firstAssignment)) {
      expect(line, line).toMatch(/^(#.*|if \[ -z "\$\{BASH_VERSION:-\}" \]; then exec \/bin\/bash "\$0" "\$@"; fi)$/);
    }
    // The assignments form one block, and no `}}` is left anywhere else.
    const indexes = withPlaceholder.map(({ index }) => index);
    expect(indexes).toEqual(indexes.map((_, i) => firstAssignment + i));
    expect(lines.filter((line) => line.includes('}}')).length).toBe(withPlaceholder.length);
  });

  it('never evaluates a parameter variable as code', () => {
    for (const parameterName of Object.keys(doc.parameters)) {
      for (const line of lines) {
        expect(line).not.toMatch(new RegExp(`\\beval\\b.*\\b${parameterName}\\b`));
      }
    }
    expect(script).not.toMatch(/\beval\b/);
    // `bash -c` only with single-quoted code that takes values as positional arguments.
    expect(script).not.toMatch(/(bash|sh) -c "/);
    for (const match of script.matchAll(/(?:bash|sh) -c '([^']*)'/g)) {
      expect(match[1], match[0]).not.toMatch(/\$(?![0-9@])/);
    }
  });

  it('validates every parameter again in the shell', () => {
    for (const [parameterName, parameter] of Object.entries(doc.parameters)) {
      if (parameter.allowedValues !== undefined) {
        // A case statement listing exactly the allowed values.
        const casePattern = parameter.allowedValues.join('|');
        expect(script, parameterName).toContain(`case $${parameterName} in`);
        expect(script, parameterName).toContain(`${casePattern})`);
      } else {
        // The same regular expression as the document's allowedPattern, re-checked with [[ =~ ]].
        expect(shellPattern(script, parameterName), parameterName).toBe(parameter.allowedPattern);
      }
    }
  });

  it('has no jq dependency and runs under bash', () => {
    expect(script.split('\n')[0]).toBe('#!/bin/bash');
    expect(script).not.toMatch(/\bjq\s+[-.'"]/);
  });

  it('renders with its defaults to a script that bash -n accepts, with no placeholder left', () => {
    const rendered = renderCommands(doc, REQUIRED[name] ?? {});
    expect(rendered).not.toContain('{{');
    expect(bashSyntaxErrors(rendered, work)).toBe('');
  });
});
