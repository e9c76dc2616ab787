// The loader reproduces SSM's own handling of a Command document: document checks, parameter
// validation (unknown, required, allowedValues, allowedPattern as a full match, String vs
// StringList) and plain-text substitution.

import { describe, expect, it } from 'vitest';
import {
  InvalidRunbookDocument,
  InvalidRunbookParameters,
  RunbookOutputError,
  loadRunbook,
  parseRunbook,
  parseRunbookOutput,
  renderCommands,
  renderSteps,
  validateParameters,
} from '#infra/runbooks.js';

const DOC = `
schemaVersion: '2.2'
description: test document
parameters:
  Name:
    type: String
    description: a name
    allowedPattern: '[a-z]{1,5}'
  Mode:
    type: String
    description: a mode
    default: slow
    allowedValues: [slow, fast]
  Hosts:
    type: StringList
    description: hosts
    default: [alpha]
    allowedPattern: '^[a-z]{1,10}$'
mainSteps:
  - action: aws:runShellScript
    name: one
    inputs:
      timeoutSeconds: '60'
      runCommand:
        - 'Name="{{Name}}"'
        - 'Mode="{{ Mode }}"'
        - 'Hosts="{{ Hosts }}"'
        - '{{ Hosts }}'
`;

const doc = parseRunbook(DOC, 'test-doc');

function rejection(fn: () => unknown): InvalidRunbookParameters {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidRunbookParameters);
    return error as InvalidRunbookParameters;
  }
  throw new Error('expected InvalidRunbookParameters');
}

describe('validateParameters', () => {
  it('applies defaults and returns SSM API shaped values', () => {
    expect(validateParameters(doc, { Name: 'abc' })).toEqual({ Name: ['abc'], Mode: ['slow'], Hosts: ['alpha'] });
    expect(validateParameters(doc, { Name: ['abc'], Mode: ['fast'], Hosts: ['a', 'b'] })).toEqual({
      Name: ['abc'],
      Mode: ['fast'],
      Hosts: ['a', 'b'],
    });
  });

  it('requires parameters without a default', () => {
    const error = rejection(() => validateParameters(doc, {}));
    expect(error.parameter).toBe('Name');
    expect(error.message).toContain('required');
    expect(rejection(() => validateParameters(doc, { Name: undefined })).parameter).toBe('Name');
  });

  it('rejects parameters the document does not declare', () => {
    const error = rejection(() => validateParameters(doc, { Name: 'abc', Extra: 'x' }));
    expect(error.parameter).toBe('Extra');
    expect(error.message).toContain('no such parameter');
    // Not fooled by names inherited from Object.prototype.
    expect(rejection(() => validateParameters(doc, { Name: 'abc', toString: 'x' })).parameter).toBe('toString');
  });

  it('matches allowedPattern against the whole value even when the pattern is not anchored', () => {
    expect(validateParameters(doc, { Name: 'abcde' }).Name).toEqual(['abcde']);
    const error = rejection(() => validateParameters(doc, { Name: 'abcdef' }));
    expect(error).toMatchObject({ parameter: 'Name', value: 'abcdef', document: 'test-doc' });
    expect(rejection(() => validateParameters(doc, { Name: 'x; id' })).value).toBe('x; id');
  });

  it('enforces allowedValues exactly (no case folding, no trimming)', () => {
    expect(rejection(() => validateParameters(doc, { Name: 'a', Mode: 'Fast' })).parameter).toBe('Mode');
    expect(rejection(() => validateParameters(doc, { Name: 'a', Mode: 'fast ' })).parameter).toBe('Mode');
  });

  it('takes exactly one value for a String and checks every value of a StringList', () => {
    expect(rejection(() => validateParameters(doc, { Name: ['a', 'b'] })).message).toContain('exactly one value');
    expect(rejection(() => validateParameters(doc, { Name: [] })).message).toContain('exactly one value');
    const error = rejection(() => validateParameters(doc, { Name: 'a', Hosts: ['ok', 'not ok'] }));
    expect(error).toMatchObject({ parameter: 'Hosts', value: 'not ok' });
  });

  it('rejects values that are not strings', () => {
    expect(rejection(() => validateParameters(doc, { Name: 5 as unknown as string })).message).toContain(
      'expected a string',
    );
    expect(rejection(() => validateParameters(doc, { Name: [5] as unknown as string[] })).message).toContain(
      'expected a string',
    );
  });
});

describe('renderSteps / renderCommands', () => {
  it('substitutes as plain text, joining lines with newlines, with or without blanks in the braces', () => {
    const script = renderCommands(doc, { Name: 'abc', Hosts: ['h', 'i'] });
    expect(script).toBe(['Name="abc"', 'Mode="slow"', 'Hosts="h,i"', 'h', 'i'].join('\n'));
  });

  it('validates before rendering', () => {
    expect(() => renderCommands(doc, { Name: '$(id)' })).toThrow(InvalidRunbookParameters);
  });

  it('keeps the step name and timeout', () => {
    expect(renderSteps(doc, { Name: 'a' })).toEqual([
      { name: 'one', timeoutSeconds: 60, script: expect.stringContaining('Name="a"') },
    ]);
  });

  it('refuses renderCommands on a multi-step document', () => {
    const two = parseRunbook(
      `${DOC}  - action: aws:runShellScript\n    name: two\n    inputs:\n      runCommand: ['echo two']\n`,
      'two-steps',
    );
    expect(renderSteps(two, { Name: 'a' })).toHaveLength(2);
    expect(() => renderCommands(two, { Name: 'a' })).toThrow(InvalidRunbookDocument);
  });
});

describe('parseRunbook rejects malformed documents', () => {
  const cases: [string, string, RegExp][] = [
    ['not YAML', 'a: [', /not YAML/],
    ['not a mapping', '- 1', /not a mapping/],
    ['wrong schema', DOC.replace("'2.2'", '2.2'), /schemaVersion/],
    ['no description', DOC.replace('description: test document', ''), /description is missing/],
    ['unsupported type', DOC.replace('type: StringList', 'type: MapList'), /type "MapList" is not supported/],
    ['bad pattern', DOC.replace("'[a-z]{1,5}'", "'[a-z'"), /not a valid regular expression/],
    ['empty allowedValues', DOC.replace('[slow, fast]', '[]'), /allowedValues/],
    ['numeric default', DOC.replace('default: slow', 'default: 5'), /default of a String must be a string/],
    ['default outside its rules', DOC.replace('default: slow', 'default: medium'), /default of Mode violates/],
    [
      'undeclared placeholder',
      DOC.replace("'{{ Hosts }}'", "'{{ Other }}'"),
      /\{\{ Other \}\} is used but not declared/,
    ],
    [
      'other action',
      DOC.replace('action: aws:runShellScript', 'action: aws:runPowerShellScript'),
      /must be aws:runShellScript/,
    ],
    ['no steps', DOC.replace(/mainSteps:[\s\S]*/, 'mainSteps: []'), /mainSteps must be a non-empty list/],
    ['bad timeout', DOC.replace("timeoutSeconds: '60'", "timeoutSeconds: 'soon'"), /timeoutSeconds is invalid/],
    ['bad parameter name', DOC.replace('  Mode:', '  "Mo de":'), /parameter name/],
    [
      'parameters not a mapping',
      DOC.replace(/parameters:[\s\S]*?mainSteps:/, 'parameters: [1]\nmainSteps:'),
      /parameters must be a mapping/,
    ],
    [
      'parameter not a mapping',
      DOC.replace(/ {2}Name:\n {4}type: String/, '  Name: 5\n  Other:\n    type: String'),
      /parameter Name: must be a mapping/,
    ],
    [
      'parameter without description',
      DOC.replace('description: a name', 'descr: a name'),
      /parameter Name: description is missing/,
    ],
    [
      'non-string pattern',
      DOC.replace("allowedPattern: '[a-z]{1,5}'", 'allowedPattern: 5'),
      /allowedPattern must be a string/,
    ],
    [
      'StringList default not a list',
      DOC.replace('default: [alpha]', 'default: alpha'),
      /default of a StringList must be a list/,
    ],
    ['step not a mapping', DOC.replace(/mainSteps:[\s\S]*/, 'mainSteps: [5]'), /mainSteps\[0\] is not a mapping/],
    ['step without name', DOC.replace('    name: one\n', ''), /mainSteps\[0\]\.name is missing/],
    [
      'step without commands',
      DOC.replace(/ {6}runCommand:[\s\S]*/, '      runCommand: []\n'),
      /runCommand must be a non-empty list/,
    ],
  ];
  it.each(cases)('%s', (_label, text, message) => {
    let caught: unknown;
    try {
      parseRunbook(text, 'broken');
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(InvalidRunbookDocument);
    expect((caught as InvalidRunbookDocument).name).toBe('InvalidRunbookDocument');
    expect((caught as Error).message).toMatch(message);
  });

  it('refuses document names that could escape the folder', () => {
    expect(() => loadRunbook('../package')).toThrow(InvalidRunbookDocument);
  });
});

describe('parseRunbookOutput', () => {
  it('reads the last stdout line, with or without the diagnosis prefix', () => {
    expect(parseRunbookOutput('{"result":"restarted","pid":12}\n')).toEqual({ result: 'restarted', pid: 12 });
    expect(parseRunbookOutput('noise\nKAFKA_HEAL_DIAGNOSIS {"serviceActive":true}\n\n')).toEqual({
      serviceActive: true,
    });
  });

  it('fails with RunbookOutputError when there is no JSON result', () => {
    expect(() => parseRunbookOutput('')).toThrow(RunbookOutputError);
    expect(() => parseRunbookOutput('half {"result"')).toThrow(/not JSON/);
    expect(() => parseRunbookOutput('[1,2]')).toThrow(/not a JSON object/);
  });
});
