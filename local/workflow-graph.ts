// Renders a workflow's console graph from its ASL file as an SVG under docs/img/ (no network, no
// graphviz). test/statemachines/workflow-graph.test.ts fails when a committed rendering no longer
// matches its file. Usage: npx tsx local/workflow-graph.ts broker-recovery
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { PROJECT_ROOT } from '../infra/constructs/healer-function.js';
import { aslFile } from '../infra/constructs/workflows.js';
import { walkStates, type AslDefinition } from './stepfunctions/definition.js';
import { workflowSvg } from './stepfunctions/graph-svg.js';

/** The workflows whose graph is in the docs. */
export const GRAPHED_WORKFLOWS = ['broker-recovery'] as const;

export const graphFile = (name: string): string => join(PROJECT_ROOT, 'docs', 'img', `${name}.svg`);

/** The SVG of statemachines/<name>.asl.json as written (placeholders and all: the graph does not depend on them). */
export function renderWorkflowGraph(name: string): string {
  const def = JSON.parse(readFileSync(aslFile(name), 'utf8')) as AslDefinition;
  return workflowSvg(def, `${name}: ${walkStates(def).length} states`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const names = process.argv.slice(2);
  for (const name of names.length > 0 ? names : GRAPHED_WORKFLOWS) {
    writeFileSync(graphFile(name), renderWorkflowGraph(name));
    console.log(`wrote ${graphFile(name)}`);
  }
}
