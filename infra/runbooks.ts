// Host runbooks: the SSM Command documents in runbooks/ that workflows run on broker hosts.
//
// In AWS, SSM itself validates a SendCommand's parameters against the document and substitutes
// `{{ Name }}` into the script as plain text. The local runtime runs the same documents, so this
// module reproduces exactly those rules: it loads and checks a document, validates parameters the
// way SSM does (unknown and missing parameters, allowedValues, allowedPattern as a full match,
// String vs StringList) and renders the shell script with the values substituted. Because the
// substitution is plain text, rendering always validates first: an unvalidated value never
// reaches a script.

import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

/** Folder holding the project's SSM Command documents (`<name>.yaml`). */
export const RUNBOOKS_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'runbooks');

/** Parameter types this project's documents may declare (a subset of SSM's). */
export type RunbookParameterType = 'String' | 'StringList';

export interface RunbookParameter {
  type: RunbookParameterType;
  description: string;
  /** Absent means the parameter is required. */
  default?: string | string[];
  allowedPattern?: string;
  allowedValues?: string[];
}

export interface RunbookStep {
  name: string;
  action: 'aws:runShellScript';
  /** `inputs.runCommand`: SSM writes these lines, joined by newlines, into the script it runs. */
  runCommand: string[];
  timeoutSeconds?: number;
}

export interface RunbookDocument {
  /** Document name: the file name without `.yaml` (the CDK stack names the SSM document after it). */
  name: string;
  description: string;
  parameters: Record<string, RunbookParameter>;
  steps: RunbookStep[];
  /** The parsed document exactly as written, for `AWS::SSM::Document` content. */
  content: Record<string, unknown>;
}

/** Values as a caller gives them: SSM's API shape (`string[]` per parameter) or plain strings. */
export type RunbookParameterInput = Record<string, string | string[] | undefined>;

/** Validated values with defaults applied, in SSM's API shape. */
export type ResolvedParameters = Record<string, string[]>;

/** The document file itself is malformed (a defect in the repository, not in a caller's input). */
export class InvalidRunbookDocument extends Error {
  override readonly name = 'InvalidRunbookDocument';
  constructor(
    readonly document: string,
    readonly problem: string,
  ) {
    super(`runbook ${document} is invalid: ${problem}`);
  }
}

/**
 * A SendCommand would be rejected by SSM (the local runtime rejects it the same way). `value` is
 * the offending value, shortened for messages; `parameter` is the parameter's name.
 */
export class InvalidRunbookParameters extends Error {
  override readonly name = 'InvalidRunbookParameters';
  constructor(
    readonly document: string,
    readonly parameter: string,
    readonly value: string | undefined,
    readonly reason: string,
  ) {
    super(
      `invalid parameter ${parameter} for ${document}${value === undefined ? '' : ` (value ${describeValue(value)})`}: ${reason}`,
    );
  }
}

function describeValue(value: string): string {
  const shown = value.length > 80 ? `${value.slice(0, 80)}... (${value.length} chars)` : value;
  return JSON.stringify(shown);
}

/** `{{ Name }}` as SSM recognises it (optional blanks inside the braces). */
const PLACEHOLDER = /\{\{\s*([^{}\s]+)\s*\}\}/g;
const PARAMETER_NAME = /^[a-zA-Z0-9_.-]{1,128}$/;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((v) => typeof v === 'string');
}

/** Parse and check one document's text. `name` is used in errors and as the document name. */
export function parseRunbook(text: string, name: string): RunbookDocument {
  const bad = (problem: string): never => {
    throw new InvalidRunbookDocument(name, problem);
  };
  let content: unknown;
  try {
    content = parse(text);
  } catch (error) {
    return bad(`not YAML: ${(error as Error).message}`);
  }
  if (!isRecord(content)) return bad('not a mapping');
  if (content['schemaVersion'] !== '2.2')
    bad(`schemaVersion must be the string "2.2", got ${JSON.stringify(content['schemaVersion'])}`);
  const description = content['description'];
  if (typeof description !== 'string' || description.trim() === '') bad('description is missing');

  const parameters: Record<string, RunbookParameter> = {};
  const rawParameters = content['parameters'] ?? {};
  if (!isRecord(rawParameters)) return bad('parameters must be a mapping');
  for (const [parameterName, raw] of Object.entries(rawParameters)) {
    if (!PARAMETER_NAME.test(parameterName)) bad(`parameter name ${JSON.stringify(parameterName)} is not allowed`);
    parameters[parameterName] = parseParameter(raw, (problem) => bad(`parameter ${parameterName}: ${problem}`));
  }

  const mainSteps = content['mainSteps'];
  if (!Array.isArray(mainSteps) || mainSteps.length === 0) return bad('mainSteps must be a non-empty list');
  const steps = mainSteps.map((raw, index): RunbookStep => {
    if (!isRecord(raw)) return bad(`mainSteps[${index}] is not a mapping`);
    const { action, name: stepName, inputs } = raw;
    if (action !== 'aws:runShellScript')
      return bad(`mainSteps[${index}].action must be aws:runShellScript, got ${JSON.stringify(action)}`);
    if (typeof stepName !== 'string' || !/^[a-zA-Z0-9_.-]{1,100}$/.test(stepName))
      return bad(`mainSteps[${index}].name is missing or invalid`);
    if (!isRecord(inputs) || !isStringArray(inputs['runCommand']) || inputs['runCommand'].length === 0) {
      return bad(`mainSteps[${index}].inputs.runCommand must be a non-empty list of strings`);
    }
    const step: RunbookStep = { name: stepName, action, runCommand: inputs['runCommand'] };
    const timeout = inputs['timeoutSeconds'];
    if (timeout !== undefined) {
      const seconds = Number(timeout);
      if (!Number.isInteger(seconds) || seconds < 1 || seconds > 172_800)
        bad(`mainSteps[${index}].inputs.timeoutSeconds is invalid`);
      step.timeoutSeconds = seconds;
    }
    return step;
  });

  const doc: RunbookDocument = { name, description: description as string, parameters, steps, content };
  // Every placeholder must name a declared parameter (SSM would refuse the document otherwise).
  for (const used of placeholdersOf(doc)) {
    if (!(used in parameters)) bad(`{{ ${used} }} is used but not declared`);
  }
  // Defaults must satisfy their own rules, or SendCommand without the parameter would fail.
  for (const [parameterName, parameter] of Object.entries(parameters)) {
    if (parameter.default === undefined) continue;
    try {
      checkValue(name, parameterName, parameter, parameter.default);
    } catch (error) {
      bad(`default of ${parameterName} violates its own rules: ${(error as Error).message}`);
    }
  }
  return doc;
}

function parseParameter(raw: unknown, bad: (problem: string) => never): RunbookParameter {
  if (!isRecord(raw)) return bad('must be a mapping');
  const type = raw['type'];
  if (type !== 'String' && type !== 'StringList')
    return bad(`type ${JSON.stringify(type)} is not supported (String or StringList)`);
  const description = raw['description'];
  if (typeof description !== 'string' || description.trim() === '') bad('description is missing');
  const parameter: RunbookParameter = { type, description: description as string };
  const allowedPattern = raw['allowedPattern'];
  if (allowedPattern !== undefined) {
    if (typeof allowedPattern !== 'string') bad('allowedPattern must be a string');
    try {
      new RegExp(allowedPattern as string);
    } catch {
      bad(`allowedPattern ${JSON.stringify(allowedPattern)} is not a valid regular expression`);
    }
    parameter.allowedPattern = allowedPattern as string;
  }
  const allowedValues = raw['allowedValues'];
  if (allowedValues !== undefined) {
    if (!isStringArray(allowedValues) || allowedValues.length === 0)
      bad('allowedValues must be a non-empty list of strings');
    parameter.allowedValues = allowedValues as string[];
  }
  const defaultValue = raw['default'];
  if (defaultValue !== undefined) {
    if (type === 'String' && typeof defaultValue !== 'string')
      bad('default of a String must be a string (quote numbers)');
    if (type === 'StringList' && !isStringArray(defaultValue)) bad('default of a StringList must be a list of strings');
    parameter.default = defaultValue as string | string[];
  }
  return parameter;
}

/** Names of the parameters a document's scripts reference, in order of first use. */
export function placeholdersOf(doc: Pick<RunbookDocument, 'steps'>): string[] {
  const names = new Set<string>();
  for (const step of doc.steps) {
    for (const line of step.runCommand) {
      for (const match of line.matchAll(PLACEHOLDER)) names.add(match[1] as string);
    }
  }
  return [...names];
}

/** Load `runbooks/<name>.yaml`. */
export function loadRunbook(name: string, dir: string = RUNBOOKS_DIR): RunbookDocument {
  if (!/^[a-z0-9][a-z0-9-]{0,99}$/.test(name))
    throw new InvalidRunbookDocument(name, 'document names are lower-case words joined by dashes');
  return parseRunbook(readFileSync(join(dir, `${name}.yaml`), 'utf8'), name);
}

/** Names of every document in the folder, sorted. */
export function listRunbooks(dir: string = RUNBOOKS_DIR): string[] {
  return readdirSync(dir)
    .filter((file) => file.endsWith('.yaml'))
    .map((file) => file.slice(0, -'.yaml'.length))
    .sort();
}

/** SSM's full-match semantics for allowedPattern, independent of the pattern's own anchors. */
function fullMatch(pattern: string, value: string): boolean {
  return new RegExp(`^(?:${pattern})$`).test(value);
}

function checkValue(
  document: string,
  parameterName: string,
  parameter: RunbookParameter,
  value: string | string[],
): string[] {
  const reject = (reason: string, shown?: string): never => {
    throw new InvalidRunbookParameters(document, parameterName, shown, reason);
  };
  let values: string[];
  if (typeof value === 'string') {
    values = [value];
  } else if (isStringArray(value)) {
    values = value;
  } else {
    return reject(`expected a string or a list of strings, got ${typeof value}`);
  }
  if (parameter.type === 'String' && values.length !== 1) {
    reject(`a String parameter takes exactly one value, got ${values.length}`, values.join(','));
  }
  for (const one of values) {
    if (parameter.allowedValues !== undefined && !parameter.allowedValues.includes(one)) {
      reject(`not one of the allowed values ${parameter.allowedValues.join(', ')}`, one);
    }
    if (parameter.allowedPattern !== undefined && !fullMatch(parameter.allowedPattern, one)) {
      reject(`does not match the allowed pattern ${parameter.allowedPattern}`, one);
    }
  }
  return values;
}

/**
 * Validate a SendCommand's parameters as SSM does: every given name must be declared, every
 * parameter without a default must be given, values must match allowedValues and allowedPattern
 * (a full match) and the parameter's type. Returns every parameter with defaults applied.
 * Throws InvalidRunbookParameters naming the first bad parameter and its value.
 */
export function validateParameters(doc: RunbookDocument, params: RunbookParameterInput): ResolvedParameters {
  const resolved: ResolvedParameters = {};
  for (const given of Object.keys(params)) {
    if (!Object.hasOwn(doc.parameters, given)) {
      throw new InvalidRunbookParameters(doc.name, given, undefined, 'the document declares no such parameter');
    }
  }
  for (const [parameterName, parameter] of Object.entries(doc.parameters)) {
    const given = Object.hasOwn(params, parameterName) ? params[parameterName] : undefined;
    const value = given ?? parameter.default;
    if (value === undefined)
      throw new InvalidRunbookParameters(doc.name, parameterName, undefined, 'the parameter is required');
    resolved[parameterName] = checkValue(doc.name, parameterName, parameter, value);
  }
  return resolved;
}

export interface RenderedStep {
  name: string;
  script: string;
  timeoutSeconds?: number;
}

/**
 * Every step's script with `{{ Name }}` replaced as SSM does it: plain text substitution. A
 * StringList used as a whole runCommand line expands into one line per value; inside a line it
 * is joined with commas. Parameters are validated first, always.
 */
export function renderSteps(doc: RunbookDocument, params: RunbookParameterInput): RenderedStep[] {
  const resolved = validateParameters(doc, params);
  return doc.steps.map((step) => {
    const lines: string[] = [];
    for (const line of step.runCommand) {
      const whole = /^\{\{\s*([^{}\s]+)\s*\}\}$/.exec(line);
      if (whole && doc.parameters[whole[1] as string]?.type === 'StringList') {
        lines.push(...(resolved[whole[1] as string] as string[]));
        continue;
      }
      lines.push(line.replace(PLACEHOLDER, (_match, name: string) => (resolved[name] as string[]).join(',')));
    }
    const rendered: RenderedStep = { name: step.name, script: lines.join('\n') };
    if (step.timeoutSeconds !== undefined) rendered.timeoutSeconds = step.timeoutSeconds;
    return rendered;
  });
}

/** The script of a single-step document (every document in runbooks/ has exactly one step). */
export function renderCommands(doc: RunbookDocument, params: RunbookParameterInput): string {
  const steps = renderSteps(doc, params);
  if (steps.length !== 1)
    throw new InvalidRunbookDocument(
      doc.name,
      `renderCommands needs exactly one step, found ${steps.length}; use renderSteps`,
    );
  return (steps[0] as RenderedStep).script;
}

// The result-line contract lives in its own module so the workflow steps Lambda, which only reads
// results, does not bundle the YAML parser this module needs for documents.
export { DIAGNOSIS_PREFIX, RunbookOutputError, parseRunbookOutput } from '../functions/shared/runbook-output.js';
