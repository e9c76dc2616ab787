// A workflow's graph as the Step Functions console draws it, rendered from the ASL alone (no
// network, no graphviz): states top to bottom in the order they run, Map and Parallel bodies
// drawn inside their state, Next / Choice edges solid, Catch edges dashed, terminal states
// coloured by outcome. Deterministic, so a committed rendering can be checked against the file.
//
// Layout: each (sub)graph is layered by the longest path from StartAt over its forward edges (an
// edge back to a state on the current depth-first path is a loop, drawn on the right); states of
// a layer sit side by side in first-visit order, each layer centred.
import { stateBodies, type AslDefinition, type AslState } from './definition.js';

const FONT = 12;
const CHAR = 7.2;
const PAD_X = 14;
const NODE_H = 30;
const GAP_X = 24;
const GAP_Y = 42;
const FRAME = 16;
const TITLE = 20;

interface Edge {
  from: string;
  to: string;
  kind: 'next' | 'choice' | 'catch';
}

interface Box {
  name: string;
  state: AslState;
  w: number;
  h: number;
  x: number;
  y: number;
  /** Map and Parallel bodies, laid out relative to the box. */
  inner: Graph[];
}

interface Graph {
  boxes: Map<string, Box>;
  edges: Edge[];
  back: Set<string>;
  w: number;
  h: number;
}

function edgesOf(name: string, s: AslState): Edge[] {
  const out: Edge[] = [];
  if (s.Next) out.push({ from: name, to: s.Next, kind: 'next' });
  for (const c of s.Choices ?? []) out.push({ from: name, to: c.Next, kind: 'choice' });
  if (s.Default) out.push({ from: name, to: s.Default, kind: 'choice' });
  for (const c of s.Catch ?? []) out.push({ from: name, to: c.Next, kind: 'catch' });
  // One edge per target and kind: many catches into one state are one line in the console.
  return out.filter((e, i) => out.findIndex((o) => o.to === e.to && o.kind === e.kind) === i);
}

function layout(def: AslDefinition): Graph {
  const names = Object.keys(def.States);
  const edges = names
    .flatMap((n) => edgesOf(n, def.States[n] as AslState))
    .filter((e) => Object.hasOwn(def.States, e.to));
  // Depth-first from StartAt (then any state not reached): visit order and loop edges.
  const order: string[] = [];
  const back = new Set<string>();
  const onPath = new Set<string>();
  const visit = (n: string) => {
    if (order.includes(n)) return;
    order.push(n);
    onPath.add(n);
    for (const e of edges.filter((x) => x.from === n)) {
      if (onPath.has(e.to)) back.add(`${e.from}->${e.to}`);
      else visit(e.to);
    }
    onPath.delete(n);
  };
  visit(def.StartAt);
  for (const n of names) visit(n);
  const forward = edges.filter((e) => !back.has(`${e.from}->${e.to}`));
  // Longest path layering over the forward edges (a DAG), in visit order.
  const layer = new Map<string, number>(order.map((n) => [n, 0]));
  for (let changed = true; changed;) {
    changed = false;
    for (const e of forward) {
      const next = (layer.get(e.from) ?? 0) + 1;
      if (next > (layer.get(e.to) ?? 0)) {
        layer.set(e.to, next);
        changed = true;
      }
    }
  }
  const boxes = new Map<string, Box>();
  for (const n of order) {
    const state = def.States[n] as AslState;
    const inner = stateBodies(state).map(layout);
    const label = Math.max(n.length, state.Type.length + 2) * CHAR + 2 * PAD_X;
    const innerW = inner.reduce((a, g) => a + g.w, 0) + GAP_X * Math.max(0, inner.length - 1);
    const innerH = inner.reduce((a, g) => Math.max(a, g.h), 0);
    const w = inner.length > 0 ? Math.max(label, innerW + 2 * FRAME) : label;
    const h = inner.length > 0 ? TITLE + innerH + 2 * FRAME : NODE_H;
    boxes.set(n, { name: n, state, w, h, x: 0, y: 0, inner });
  }
  const layers: string[][] = [];
  for (const n of order) (layers[layer.get(n) ?? 0] ??= []).push(n);
  const rows = layers.filter((l) => l !== undefined);
  const rowW = rows.map((l) => l.reduce((a, n) => a + (boxes.get(n)?.w ?? 0), 0) + GAP_X * (l.length - 1));
  const width = Math.max(...rowW, 0);
  let y = 0;
  rows.forEach((l, i) => {
    let x = (width - (rowW[i] ?? 0)) / 2;
    const rowH = Math.max(...l.map((n) => boxes.get(n)?.h ?? 0));
    for (const n of l) {
      const b = boxes.get(n) as Box;
      b.x = x;
      b.y = y;
      x += b.w + GAP_X;
    }
    y += rowH + GAP_Y;
  });
  // Room on the right for the loops drawn there.
  return { boxes, edges, back, w: width + (back.size > 0 ? GAP_X * 2 : 0), h: Math.max(0, y - GAP_Y) };
}

const esc = (t: string) => t.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const r1 = (n: number) => Math.round(n * 10) / 10;

function fill(s: AslState): string {
  if (s.Type === 'Succeed') return '#e3f4e1';
  if (s.Type === 'Fail') return '#fbe3e1';
  if (s.Type === 'Choice') return '#fff5d6';
  if (s.Type === 'Parallel' || s.Type === 'Map') return '#f2f5fa';
  return '#ffffff';
}

function draw(g: Graph, ox: number, oy: number, out: string[]): void {
  for (const b of g.boxes.values()) {
    const x = ox + b.x;
    const y = oy + b.y;
    const rx = b.state.Type === 'Choice' ? 14 : 4;
    out.push(`<g><title>${esc(`${b.name} (${b.state.Type})${b.state.Comment ? `: ${b.state.Comment}` : ''}`)}</title>`);
    out.push(
      `<rect x="${r1(x)}" y="${r1(y)}" width="${r1(b.w)}" height="${r1(b.h)}" rx="${rx}" fill="${fill(b.state)}" stroke="#5a6b7b"/>`,
    );
    if (b.inner.length === 0) {
      out.push(`<text x="${r1(x + b.w / 2)}" y="${r1(y + NODE_H / 2 + 4)}" text-anchor="middle">${esc(b.name)}</text>`);
    } else {
      out.push(
        `<text x="${r1(x + b.w / 2)}" y="${r1(y + 15)}" text-anchor="middle" font-weight="bold">${esc(b.name)}</text>`,
      );
      let ix =
        x + FRAME + (b.w - 2 * FRAME - (b.inner.reduce((a, i) => a + i.w, 0) + GAP_X * (b.inner.length - 1))) / 2;
      for (const inner of b.inner) {
        draw(inner, ix, y + TITLE + FRAME, out);
        ix += inner.w + GAP_X;
      }
    }
    out.push('</g>');
  }
  for (const e of g.edges) {
    const a = g.boxes.get(e.from) as Box;
    const b = g.boxes.get(e.to) as Box;
    const dash = e.kind === 'catch' ? ' stroke-dasharray="5 4"' : '';
    const colour = e.kind === 'catch' ? '#c0504d' : '#5a6b7b';
    let d: string;
    if (g.back.has(`${e.from}->${e.to}`)) {
      // A loop: out of the right side, up, and into the right side of the target.
      const x1 = ox + a.x + a.w;
      const y1 = oy + a.y + a.h / 2;
      const x2 = ox + b.x + b.w;
      const y2 = oy + b.y + b.h / 2;
      const side = Math.max(x1, x2) + GAP_X * 1.5;
      d = `M${r1(x1)},${r1(y1)} C${r1(side)},${r1(y1)} ${r1(side)},${r1(y2)} ${r1(x2 + 6)},${r1(y2)}`;
    } else {
      const x1 = ox + a.x + a.w / 2;
      const y1 = oy + a.y + a.h;
      const x2 = ox + b.x + b.w / 2;
      const y2 = oy + b.y - 6;
      const bend = Math.max(20, (y2 - y1) / 2);
      d = `M${r1(x1)},${r1(y1)} C${r1(x1)},${r1(y1 + bend)} ${r1(x2)},${r1(y2 - bend)} ${r1(x2)},${r1(y2)}`;
    }
    out.push(
      `<path d="${d}" fill="none" stroke="${colour}"${dash} marker-end="url(#arrow-${e.kind === 'catch' ? 'catch' : 'next'})"/>`,
    );
  }
}

/** The console graph of a definition as a standalone SVG document. */
export function workflowSvg(def: AslDefinition, title: string): string {
  const g = layout(def);
  const margin = 20;
  const head = 28;
  const w = Math.ceil(g.w + 2 * margin);
  const h = Math.ceil(g.h + 2 * margin + head + 18);
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" font-family="Helvetica, Arial, sans-serif" font-size="${FONT}">`,
    '<defs>',
    '<marker id="arrow-next" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#5a6b7b"/></marker>',
    '<marker id="arrow-catch" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#c0504d"/></marker>',
    '</defs>',
    `<rect width="${w}" height="${h}" fill="#fafbfc"/>`,
    `<text x="${margin}" y="${margin + 6}" font-size="15" font-weight="bold">${esc(title)}</text>`,
    `<text x="${margin}" y="${h - 10}" fill="#5a6b7b">solid: Next and Choice; dashed: Catch; green: succeeds; red: fails; yellow: Choice</text>`,
  ];
  draw(g, margin, margin + head, out);
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
