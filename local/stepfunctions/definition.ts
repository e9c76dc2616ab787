// Loading an ASL file the way Step Functions does with definitionSubstitutions, and walking it.
//
// The same file runs in AWS (CDK DefinitionBody.fromFile + definitionSubstitutions) and here, so
// rendering must behave like the deploy: every ${Placeholder} needs a value, and nothing of the
// form ${...} may survive. The walk visits every state, including the bodies of Map
// (ItemProcessor / Iterator) and Parallel (Branches) states, because aws-local-stepfunctions
// keys its overrides by state name wherever the state sits.
import { readFileSync } from 'node:fs';
import { renderDefinition } from '#infra/constructs/workflows.js';

/** The parts of an ASL state the local runtime reads. */
export interface AslState {
  Type: string;
  Comment?: string;
  Resource?: string;
  Parameters?: Record<string, unknown>;
  Seconds?: number;
  SecondsPath?: string;
  Timestamp?: string;
  TimestampPath?: string;
  Retry?: {
    ErrorEquals: string[];
    IntervalSeconds?: number;
    BackoffRate?: number;
    MaxAttempts?: number;
    MaxDelaySeconds?: number;
  }[];
  Catch?: { ErrorEquals: string[]; Next: string; ResultPath?: string }[];
  Next?: string;
  Default?: string;
  Choices?: { Next: string; [rule: string]: unknown }[];
  Branches?: AslDefinition[];
  ItemProcessor?: AslDefinition;
  Iterator?: AslDefinition;
  TimeoutSeconds?: number;
  [other: string]: unknown;
}

export interface AslDefinition {
  Comment?: string;
  StartAt: string;
  States: Record<string, AslState>;
  TimeoutSeconds?: number;
}

/** A state found by the walk, with where it sits (`Map Brokers > Restart One`). */
export interface VisitedState {
  name: string;
  state: AslState;
  /** Names of the enclosing Map/Parallel states, outermost first; empty at the top level. */
  parents: string[];
}

export class DefinitionError extends Error {
  override readonly name = 'DefinitionError';
}

/**
 * The partition the local runtime plays: every ASL file writes its service integrations as
 * `arn:${Partition}:states:::...` (the stack substitutes the deployment's partition, aws-cn in
 * China), and the local bindings are keyed by the `aws` form.
 */
export const LOCAL_PARTITION = 'aws';

/** Renders `${Name}` placeholders (every one must have a value; `${Partition}` is the local one) and parses the result. */
export function parseDefinition(
  text: string,
  substitutions: Record<string, string>,
  source = 'definition',
): AslDefinition {
  const rendered = renderDefinition(text, { Partition: LOCAL_PARTITION, ...substitutions });
  const leftover = /\$\{[^}]*\}/.exec(rendered);
  if (leftover)
    throw new DefinitionError(
      `${source}: ${leftover[0]} is still present after rendering (not a valid placeholder name)`,
    );
  let parsed: unknown;
  try {
    parsed = JSON.parse(rendered);
  } catch (err) {
    throw new DefinitionError(`${source}: rendered definition is not JSON: ${(err as Error).message}`);
  }
  const def = parsed as Partial<AslDefinition>;
  if (
    typeof def !== 'object' ||
    def === null ||
    typeof def.StartAt !== 'string' ||
    typeof def.States !== 'object' ||
    def.States === null
  ) {
    throw new DefinitionError(`${source}: not an ASL definition (StartAt and States are required)`);
  }
  return def as AslDefinition;
}

export function loadDefinition(file: string, substitutions: Record<string, string>): AslDefinition {
  return parseDefinition(readFileSync(file, 'utf8'), substitutions, file);
}

/** The definitions nested in a state: a Parallel's branches, a Map's item processor (or Iterator). */
export function stateBodies(state: AslState): AslDefinition[] {
  return [
    ...(state.Branches ?? []),
    ...(state.ItemProcessor ? [state.ItemProcessor] : []),
    ...(state.Iterator ? [state.Iterator] : []),
  ];
}

/** Every state of the definition, depth first, nested Map and Parallel bodies included. */
export function walkStates(def: AslDefinition, parents: string[] = []): VisitedState[] {
  const out: VisitedState[] = [];
  for (const [name, state] of Object.entries(def.States)) {
    out.push({ name, state, parents });
    for (const body of stateBodies(state)) out.push(...walkStates(body, [...parents, name]));
  }
  return out;
}

/** Every distinct Task Resource in the definition (nested bodies included), sorted. */
export function taskResources(def: AslDefinition): string[] {
  return [
    ...new Set(walkStates(def).flatMap((v) => (v.state.Type === 'Task' && v.state.Resource ? [v.state.Resource] : []))),
  ].sort();
}
