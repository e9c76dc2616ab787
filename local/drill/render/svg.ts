// The drill timeline as one self-contained SVG: one lane per source (fault, alarm, classifier,
// workflow, states, approvals, ...) plus a lane for the healer's actions, time on the x axis from
// the first fault, and dashed milestone lines for the fault, the incident opening, healthy again
// and the oracle. Made to be read at 3 a.m.: large type, high contrast in light and dark schemes,
// shapes as well as colours (diamond = fault or failure, square = action, circle = other), and
// every mark carries a <title> with its full text. Workflow states get one row per workflow: each
// state a segment from entered to exited, named where it is wide enough (polling loops stay one
// dense band instead of hundreds of labels). All text is escaped.
import { formatDuration, formatOffset } from '#tools/report-text.js';
import type { DrillAction, DrillReport, DrillSource, DrillTimelineEntry } from '../report-types.js';
import { escapeHtml } from './escape.js';
import { actionText, byOffset } from './summary.js';

/** Lane order: the causal flow of a drill. */
export const LANE_ORDER: readonly (DrillSource | 'action')[] = [
  'drill',
  'fault',
  'workload',
  'probe',
  'alarm',
  'classifier',
  'workflow',
  'state',
  'approval',
  'action',
  'notification',
  'oracle',
];

const LANE_LABELS: Record<DrillSource | 'action', string> = {
  drill: 'Drill',
  fault: 'Faults',
  workload: 'Workload',
  probe: 'Probe',
  alarm: 'Alarms',
  classifier: 'Classifier',
  workflow: 'Workflow',
  state: 'States',
  approval: 'Approvals',
  action: 'Actions',
  notification: 'Notifications',
  oracle: 'Oracle',
};

export type MarkKind = 'fault' | 'failure' | 'alarm' | 'opened' | 'resolved' | 'action' | 'approval' | 'state' | 'info';

/** The class every timeline mark carries (one per timeline entry and per action). */
export const MARK_CLASS = 'mark';

const WIDTH = 1200;
const LEFT = 150;
const RIGHT = 36;
const TOP = 64;
const BOTTOM = 44;
const ROW = 22;
const LANE_PAD = 10;
/** Label rows per lane (plus one row of unlabelled marks when they do not fit). */
const MAX_ROWS = 3;
/** Workflow rows in the States lane; executions beyond these share the last row. */
const MAX_WORKFLOW_ROWS = 6;
const CHAR_WIDTH = 7.4;
const LABEL_MAX_CHARS = 30;

/**
 * How an entry is drawn: failures and faults stand out, resolution reads as good news. `detail`
 * matters only for status changes recorded in the incident timeline (`... -> resolved`).
 */
export function markKind(source: DrillSource | 'action', event: string, detail = ''): MarkKind {
  const e = event.toLowerCase();
  const status = /status-changed/.test(e) ? (/-> (\w+)/.exec(detail)?.[1] ?? '') : '';
  if (source === 'fault') return 'fault';
  if (
    /escalat|fail|reject|timed-?out|timeout|lost|error|abort|not-healthy|unhealthy|unanswered/.test(e) ||
    status === 'escalated'
  )
    return 'failure';
  if (source === 'action') return 'action';
  if (/opened/.test(e)) return 'opened';
  if (/resolved|healthy|recovered|succeeded|:ok\b/.test(e) || status === 'resolved') return 'resolved';
  if (source === 'alarm') return 'alarm';
  if (source === 'approval') return 'approval';
  if (source === 'state') return 'state';
  return 'info';
}

interface Item {
  lane: DrillSource | 'action';
  offset: number;
  label: string;
  title: string;
  event: string;
  kind: MarkKind;
}

function entryTitle(t: DrillTimelineEntry): string {
  return `${formatOffset(t.offsetSeconds)} ${t.source} ${t.event}${t.detail ? `: ${t.detail}` : ''} (${t.at})`;
}

function timelineItem(t: DrillTimelineEntry): Item {
  // Incident timeline entries arrive as `incident:<action>`; in their lane the action says it all.
  const label = t.event.replace(/^incident:/, '');
  return {
    lane: t.source,
    offset: t.offsetSeconds,
    label,
    title: entryTitle(t),
    event: t.event,
    kind: markKind(t.source, t.event, t.detail),
  };
}

function actionItem(a: DrillAction): Item {
  const text = actionText(a);
  return {
    lane: 'action',
    offset: a.offsetSeconds,
    label: `${a.action}${a.target ? ` ${a.target}` : ''}`,
    title: `${formatOffset(a.offsetSeconds)} ${a.actor}: ${text} (${a.at})`,
    event: a.action,
    kind: markKind('action', a.action),
  };
}

function shorten(text: string): string {
  return text.length > LABEL_MAX_CHARS ? `${text.slice(0, LABEL_MAX_CHARS - 1)}\u2026` : text;
}

/** A tick step that gives at most about 10 ticks. */
export function tickStep(span: number): number {
  const steps = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200];
  return steps.find((s) => span / s <= 10) ?? Math.ceil(span / 10 / 3600) * 3600;
}

interface Placed extends Item {
  x: number;
  row: number;
  /** Where the label's text goes (`end`: it ends there, left of the mark); none when there is no room. */
  labelAt?: { x: number; anchor: 'start' | 'end' };
}

/**
 * Greedy rows: a mark goes on the first row where it and its label do not overlap what is already
 * there; near the right edge the label goes to the left of the mark.
 */
function placeLane(items: Item[], x: (s: number) => number, maxRows: number): { placed: Placed[]; rows: number } {
  const rowEnds: number[] = [];
  const placed: Placed[] = [];
  let overflow = false;
  for (const it of items) {
    const px = x(it.offset);
    const width = 12 + shorten(it.label).length * CHAR_WIDTH;
    const labelAt: NonNullable<Placed['labelAt']> =
      px + 11 + width > WIDTH - 4 ? { x: px - 11, anchor: 'end' } : { x: px + 11, anchor: 'start' };
    const start = labelAt.anchor === 'end' ? labelAt.x - width : px - 8;
    const end = labelAt.anchor === 'end' ? px + 8 : labelAt.x + width;
    let row = rowEnds.findIndex((e) => start > e + 6);
    if (row === -1 && rowEnds.length < maxRows) row = rowEnds.length;
    if (row === -1) {
      // No room for a label: the mark still shows (with its <title>, and in the tables), on a row
      // where it covers no label, else on one extra row of unlabelled marks under the labelled ones.
      const free = rowEnds.findIndex((e) => px - 8 > e + 2);
      if (free === -1) overflow = true;
      else rowEnds[free] = px + 8;
      placed.push({ ...it, x: px, row: free === -1 ? maxRows : free });
      continue;
    }
    rowEnds[row] = end;
    placed.push({ ...it, x: px, row, labelAt });
  }
  return { placed, rows: overflow ? maxRows + 1 : Math.max(1, rowEnds.length) };
}

interface StateRow {
  workflow: string;
  segments: Array<{ from: number; to: number; state: string; open: boolean }>;
  marks: DrillTimelineEntry[];
}

/**
 * The States lane's rows: one per workflow (the runner names states `<workflow>: <State Name>`),
 * each state a segment from its entry to its exit (to `end` when it never exited).
 */
export function stateRows(entries: readonly DrillTimelineEntry[], end: number): StateRow[] {
  const rows = new Map<string, StateRow & { open: Map<string, { from: number; state: string }> }>();
  for (const e of entries) {
    if (e.source !== 'state') continue;
    const detail = e.detail ?? '';
    const cut = detail.indexOf(': ');
    const workflow = cut === -1 ? '' : detail.slice(0, cut);
    const state = cut === -1 ? detail : detail.slice(cut + 2);
    const key = rows.has(workflow) || rows.size < MAX_WORKFLOW_ROWS ? workflow : ([...rows.keys()].at(-1) as string);
    const row = rows.get(key) ?? {
      workflow,
      segments: [],
      marks: [],
      open: new Map<string, { from: number; state: string }>(),
    };
    rows.set(key, row);
    row.marks.push(e);
    if (/exited/.test(e.event)) {
      const entered = row.open.get(detail);
      if (entered) {
        row.segments.push({ from: entered.from, to: e.offsetSeconds, state, open: false });
        row.open.delete(detail);
      }
    } else row.open.set(detail, { from: e.offsetSeconds, state });
  }
  return [...rows.values()].map(({ open, workflow, segments, marks }) => ({
    workflow,
    marks,
    segments: [
      ...segments,
      ...[...open.values()].map(({ from, state }) => ({ from, to: end, state, open: true })),
    ].sort((a, b) => a.from - b.from),
  }));
}

const STATE_ROW = 26;
const STATE_HEADER = 24;

/** The States lane: workflow names in the gutter, segments named where they are wide enough, a tick per state event. */
function renderStateLane(rows: StateRow[], x: (s: number) => number, top: number): { svg: string; height: number } {
  const parts: string[] = [];
  rows.forEach((row, r) => {
    const y = top + STATE_HEADER + r * STATE_ROW;
    const cy = y + STATE_ROW / 2;
    parts.push(
      `<text class="row-label" x="20" y="${(cy + 4.5).toFixed(1)}">${escapeHtml(shorten(row.workflow || 'workflow'))}</text>`,
    );
    row.segments.forEach((seg, i) => {
      const sx = x(seg.from);
      const width = Math.max(1, x(seg.to) - sx);
      parts.push(
        `<rect class="span ${i % 2 ? 'span-b' : 'span-a'}" x="${sx.toFixed(1)}" y="${(y + 4).toFixed(1)}" width="${width.toFixed(1)}" height="${STATE_ROW - 8}"><title>${escapeHtml(`${row.workflow ? `${row.workflow}: ` : ''}${seg.state}: ${formatDuration(seg.to - seg.from)}${seg.open ? ' (never exited)' : ''}`)}</title></rect>`,
      );
      const label = shorten(seg.state);
      if (width >= label.length * CHAR_WIDTH + 10)
        parts.push(
          `<text class="label" x="${(sx + 5).toFixed(1)}" y="${(cy + 4.5).toFixed(1)}">${escapeHtml(label)}</text>`,
        );
    });
    for (const m of row.marks) {
      parts.push(
        `<g class="${MARK_CLASS} k-state" data-lane="state" data-event="${escapeHtml(m.event)}"><title>${escapeHtml(entryTitle(m))}</title><rect x="${(x(m.offsetSeconds) - 1.5).toFixed(1)}" y="${(y + 2).toFixed(1)}" width="3" height="${STATE_ROW - 4}"/></g>`,
      );
    }
  });
  return { svg: parts.join(''), height: STATE_HEADER + rows.length * STATE_ROW + LANE_PAD };
}

function shape(kind: MarkKind, x: number, y: number): string {
  const f = (n: number) => n.toFixed(1);
  if (kind === 'fault' || kind === 'failure')
    return `<path d="M${f(x)} ${f(y - 8)}L${f(x + 8)} ${f(y)}L${f(x)} ${f(y + 8)}L${f(x - 8)} ${f(y)}Z"/>`;
  if (kind === 'action') return `<rect x="${f(x - 6)}" y="${f(y - 6)}" width="12" height="12"/>`;
  return `<circle cx="${f(x)}" cy="${f(y)}" r="6.5"/>`;
}

const STYLE = `
.tl{font:14px system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
.tl .bg{fill:#fff}.tl .lane-bg{fill:#f0f0f0}.tl text{fill:#000}.tl .lane-label{font-weight:700}
.tl .axis line,.tl .grid{stroke:#767676;stroke-width:1}.tl .grid{stroke-dasharray:2 4}
.tl .milestone line{stroke-width:2;stroke-dasharray:6 4}.tl .milestone text{font-weight:700;font-size:13px}
.tl .mark>*{stroke:#000;stroke-width:1.5}.tl .label{font-size:12.5px}
.tl .label,.tl .milestone text{paint-order:stroke;stroke:#fff;stroke-width:3px;stroke-linejoin:round}
.tl .k-fault>*,.tl .k-failure>*,.tl .m-fault line{fill:#c00018;stroke:#c00018}
.tl .k-alarm>*{fill:#d35400}.tl .k-opened>*,.tl .m-opened line{fill:#6a1b9a;stroke:#6a1b9a}
.tl .k-resolved>*,.tl .m-healthy line{fill:#0a7d32;stroke:#0a7d32}.tl .k-action>*{fill:#005fa3}
.tl .k-approval>*{fill:#8a5a00}.tl .k-state>*{fill:#555}.tl .k-info>*{fill:#fff}
.tl .m-oracle line{stroke:#444}.tl .span-a{fill:#c9c9c9}.tl .span-b{fill:#e2e2e2}.tl .k-state>*{stroke-width:0}
.tl .row-label{font-size:12.5px;font-style:italic}
@media (prefers-color-scheme:dark){
.tl .bg{fill:#0d0d0d}.tl .lane-bg{fill:#1c1c1c}.tl text{fill:#f5f5f5}.tl .mark>*{stroke:#f5f5f5}
.tl .label,.tl .milestone text{stroke:#0d0d0d}
.tl .k-fault>*,.tl .k-failure>*,.tl .m-fault line{fill:#ff6b6b;stroke:#ff6b6b}.tl .k-alarm>*{fill:#ffa94d}
.tl .k-opened>*,.tl .m-opened line{fill:#d4a5ff;stroke:#d4a5ff}.tl .k-resolved>*,.tl .m-healthy line{fill:#5fe08b;stroke:#5fe08b}
.tl .k-action>*{fill:#5cbcff}.tl .k-approval>*{fill:#ffd166}.tl .k-state>*{fill:#bdbdbd}.tl .k-info>*{fill:#0d0d0d}
.tl .m-oracle line{stroke:#bdbdbd}.tl .span-a{fill:#3d3d3d}.tl .span-b{fill:#2a2a2a}}
`;

/** The timeline SVG (`<svg class="tl">...</svg>`), sized by its viewBox, width 100%. */
export function renderTimelineSvg(report: DrillReport): string {
  const entries = byOffset(report.timeline);
  const lastOffset = Math.max(0, ...entries.map((e) => e.offsetSeconds));
  const items = [
    ...entries.filter((e) => e.source !== 'state').map(timelineItem),
    ...byOffset(report.actions).map(actionItem),
  ];
  const states = stateRows(entries, lastOffset);
  const markCount = items.length + states.reduce((n, r) => n + r.marks.length, 0);
  const milestones: Array<{ cls: string; at: number; label: string }> = [];
  if (entries.some((e) => e.source === 'fault')) milestones.push({ cls: 'm-fault', at: 0, label: 'fault' });
  if (report.mttdSeconds !== null)
    milestones.push({ cls: 'm-opened', at: report.mttdSeconds, label: `opened ${formatOffset(report.mttdSeconds)}` });
  if (report.oracleMttrSeconds !== null)
    milestones.push({
      cls: 'm-oracle',
      at: report.oracleMttrSeconds,
      label: `oracle ${formatDuration(report.oracleMttrSeconds)}`,
    });
  if (report.mttrSeconds !== null)
    milestones.push({ cls: 'm-healthy', at: report.mttrSeconds, label: `healthy ${formatOffset(report.mttrSeconds)}` });

  const offsets = [
    0,
    ...entries.map((e) => e.offsetSeconds),
    ...items.map((i) => i.offset),
    ...milestones.map((m) => m.at),
  ];
  let min = Math.min(...offsets);
  let max = Math.max(...offsets);
  if (max - min < 1) max = min + 1;
  const pad = (max - min) * 0.03;
  min -= pad;
  max += pad;
  const plotWidth = WIDTH - LEFT - RIGHT;
  const x = (s: number) => LEFT + ((s - min) / (max - min)) * plotWidth;

  const lanes = LANE_ORDER.filter((l) => (l === 'state' ? states.length > 0 : items.some((i) => i.lane === l)));
  const out: string[] = [];
  let y = TOP;
  const laneParts: string[] = [];
  lanes.forEach((lane, index) => {
    const { placed, rows } = placeLane(
      items.filter((i) => i.lane === lane),
      x,
      MAX_ROWS,
    );
    const stateLane = lane === 'state' ? renderStateLane(states, x, y) : undefined;
    const height = stateLane ? stateLane.height : rows * ROW + LANE_PAD * 2;
    const parts = [`<g class="lane" data-lane="${escapeHtml(lane)}">`];
    if (index % 2 === 0) parts.push(`<rect class="lane-bg" x="0" y="${y}" width="${WIDTH}" height="${height}"/>`);
    parts.push(`<text class="lane-label" x="12" y="${y + LANE_PAD + 15}">${escapeHtml(LANE_LABELS[lane])}</text>`);
    if (stateLane) parts.push(stateLane.svg);
    for (const p of placed) {
      const cy = y + LANE_PAD + p.row * ROW + ROW / 2;
      parts.push(
        `<g class="${MARK_CLASS} k-${p.kind}" data-lane="${escapeHtml(lane)}" data-event="${escapeHtml(p.event)}"><title>${escapeHtml(p.title)}</title>${shape(p.kind, p.x, cy)}</g>`,
      );
      if (p.labelAt) {
        parts.push(
          `<text class="label" x="${p.labelAt.x.toFixed(1)}" y="${(cy + 4.5).toFixed(1)}"${p.labelAt.anchor === 'end' ? ' text-anchor="end"' : ''}>${escapeHtml(shorten(p.label))}</text>`,
        );
      }
    }
    parts.push('</g>');
    laneParts.push(parts.join(''));
    y += height;
  });
  const plotBottom = lanes.length ? y : TOP + 40;
  const height = plotBottom + BOTTOM;

  out.push(
    `<svg class="tl" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${WIDTH} ${height}" width="100%" role="img" aria-labelledby="tl-title tl-desc" data-marks="${markCount}">`,
    `<title id="tl-title">${escapeHtml(`Drill ${report.scenario} timeline`)}</title>`,
    `<desc id="tl-desc">${escapeHtml(`${markCount} events in ${lanes.length} lanes; time in seconds from the first fault.`)}</desc>`,
    `<style>${STYLE}</style>`,
    `<rect class="bg" x="0" y="0" width="${WIDTH}" height="${height}"/>`,
  );

  // Grid and axis.
  const step = tickStep(max - min);
  const ticks: string[] = [];
  for (let t = Math.ceil(min / step) * step; t <= max; t += step) {
    const tx = x(t).toFixed(1);
    ticks.push(`<line class="grid" x1="${tx}" y1="${TOP}" x2="${tx}" y2="${plotBottom}"/>`);
    ticks.push(
      `<line x1="${tx}" y1="${plotBottom}" x2="${tx}" y2="${plotBottom + 6}"/><text x="${tx}" y="${plotBottom + 22}" text-anchor="middle">${escapeHtml(formatOffset(t))}</text>`,
    );
  }
  out.push(
    `<g class="axis"><line x1="${LEFT}" y1="${plotBottom}" x2="${WIDTH - RIGHT}" y2="${plotBottom}"/>${ticks.join('')}</g>`,
  );
  out.push(...laneParts);
  if (!lanes.length)
    out.push(`<text x="${WIDTH / 2}" y="${TOP + 24}" text-anchor="middle">No timeline entries were recorded.</text>`);

  // Milestones on top, labels staggered so close ones stay readable.
  milestones.forEach((m, i) => {
    const mx = x(m.at).toFixed(1);
    out.push(
      `<g class="milestone ${m.cls}"><line x1="${mx}" y1="${TOP - 6}" x2="${mx}" y2="${plotBottom}"/><text x="${mx}" y="${i % 2 === 0 ? 20 : 40}" text-anchor="middle">${escapeHtml(m.label)}</text></g>`,
    );
  });
  out.push('</svg>');
  return out.join('\n');
}
