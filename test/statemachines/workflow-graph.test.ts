// The console graph in the docs (docs/img/<workflow>.svg) is rendered from the ASL file and must
// match it: change the workflow, run `npx tsx local/workflow-graph.ts`, commit both.
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { walkStates, type AslDefinition } from '#local/stepfunctions/index.js';
import { workflowSvg } from '#local/stepfunctions/graph-svg.js';
import { GRAPHED_WORKFLOWS, graphFile, renderWorkflowGraph } from '#local/workflow-graph.js';
import { aslText } from './recovery-fixtures.js';

describe.each(GRAPHED_WORKFLOWS)('docs/img/%s.svg', (name) => {
  it('is the rendering of the current ASL file (regenerate with npx tsx local/workflow-graph.ts)', () => {
    expect(existsSync(graphFile(name)), graphFile(name)).toBe(true);
    expect(
      readFileSync(graphFile(name), 'utf8') === renderWorkflowGraph(name),
      `${graphFile(name)} is stale: run npx tsx local/workflow-graph.ts`,
    ).toBe(true);
  });

  it('draws every state once, by name, and every catch as a dashed edge', () => {
    const def = JSON.parse(aslText(name)) as AslDefinition;
    const svg = readFileSync(graphFile(name), 'utf8');
    const states = walkStates(def);
    expect(svg.match(/<rect [^>]*stroke="#5a6b7b"/g)).toHaveLength(states.length);
    for (const { name: state } of states) expect(svg, state).toContain(`>${state}<`);
    const catches = new Set(
      states.flatMap(({ name: from, state }) => (state.Catch ?? []).map((c) => `${from}->${c.Next}`)),
    );
    expect(svg.match(/stroke-dasharray/g)).toHaveLength(catches.size);
  });
});

describe('workflowSvg', () => {
  const def = {
    StartAt: 'Work',
    States: {
      Work: {
        Type: 'Parallel',
        Branches: [
          {
            StartAt: 'Poll',
            States: {
              Poll: { Type: 'Task', Next: 'Done Yet' },
              'Done Yet': { Type: 'Choice', Choices: [{ Next: 'Poll' }], Default: 'Stop' },
              Stop: { Type: 'Succeed' },
            },
          },
        ],
        Catch: [{ ErrorEquals: ['States.ALL'], Next: 'Failed' }],
        Next: 'Ok',
      },
      Ok: { Type: 'Succeed' },
      Failed: { Type: 'Fail' },
    },
  } as unknown as AslDefinition;

  it('is deterministic and escapes text', () => {
    expect(workflowSvg(def, 'a <b> & "c"')).toBe(workflowSvg(def, 'a <b> & "c"'));
    expect(workflowSvg(def, 'a <b> & "c"')).toContain('a &lt;b&gt; &amp; &quot;c&quot;');
  });

  it('draws a Parallel body inside its state, a loop back on the right, the start first and the ends last', () => {
    const svg = workflowSvg(def, 't');
    const y = (label: string) => Number(new RegExp(`y="([0-9.]+)"[^>]*>${label}<`).exec(svg)?.[1]);
    expect(svg).toContain('>Work (Parallel)<');
    expect(y('Poll')).toBeLessThan(y('Done Yet'));
    expect(y('Done Yet')).toBeLessThan(y('Stop'));
    expect(y('Stop')).toBeLessThan(y('Ok'));
    // The loop Done Yet -> Poll leaves to the right (a curve, not a downward edge).
    expect(svg.match(/<path d="M[^"]+" fill="none"/g)).toHaveLength(5);
  });
});
