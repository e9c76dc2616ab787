// The drill timeline as one self-contained SVG: one lane per source (fault, alarm, classifier,
// workflow, states, approvals, ...) plus a lane for the healer's actions, time on the x axis from
// the first fault, and dashed milestone lines for the fault, the incident opening, healthy again
// and the oracle. Made to be read at 3 a.m.: large type, high contrast in light and dark schemes,
// shapes as well as colours (diamond = fault or failure, square = action, circle = other), and
// every mark carries a <title> with its full text. All text is escaped.
import { formatDuration, formatOffset } from '../../../functions/shared/report-text.js';
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
/** Label rows per lane; states get more because a workflow passes through many in a few seconds. */
const MAX_ROWS = 3;
const MAX_STATE_ROWS = 8;
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
  if (/escalat|fail|reject|timed-?out|timeout|lost|error|abort|not-healthy|unhealthy|unanswered/.test(e) || status === 'escalated') return 'failure';
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
  /** A state's exit offset: the entered mark owns a bar up to it, on its own row. */
  until?: number;
  /** The exited mark of a state sits on the row of its entered mark, unlabelled. */
  follows?: Item;
}

function timelineItem(t: DrillTimelineEntry): Item {
  const title = `${formatOffset(t.offsetSeconds)} ${t.source} ${t.event}${t.detail ? `: ${t.detail}` : ''} (${t.at})`;
  // Incident timeline entries arrive as `incident:<action>`; in their lane the action says it all.
  const label = t.event.replace(/^incident:/, '');
  return { lane: t.source, offset: t.offsetSeconds, label, title, event: t.event, kind: markKind(t.source, t.event, t.detail) };
}

/**
 * Timeline items; in the States lane an entered mark is labelled with the state's name and owns a
 * bar to the matching exit (or to the end when the state never exited), whose mark shares its row.
 */
function timelineItems(entries: readonly DrillTimelineEntry[], end: number): Item[] {
  const items = entries.map(timelineItem);
  const open = new Map<string, Item>();
  entries.forEach((e, i) => {
    const item = items[i] as Item;
    if (e.source !== 'state') return;
    const name = e.detail ?? '';
    if (/entered/.test(e.event)) {
      // The runner names states `<workflow>: <State Name>`; the state's name is the label, the title has all.
      item.label = name.split(': ').at(-1) || e.event;
      item.until = end;
      open.set(name, item);
    } else if (/exited/.test(e.event) && open.has(name)) {
      const entered = open.get(name) as Item;
      entered.until = e.offsetSeconds;
      item.follows = entered;
      item.label = '';
      open.delete(name);
    }
  });
  return items;
}

function actionItem(a: DrillAction): Item {
  const text = actionText(a);
  return { lane: 'action', offset: a.offsetSeconds, label: `${a.action}${a.target ? ` ${a.target}` : ''}`, title: `${formatOffset(a.offsetSeconds)} ${a.actor}: ${text} (${a.at})`, event: a.action, kind: markKind('action', a.action) };
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
 * Greedy rows: a mark goes on the first row where it and its label (or its state bar) do not
 * overlap what is already there. A label sits right of its mark, left of it near the right edge,
 * and after the bar's end when a state was too short for its name to fit inside the bar.
 */
function placeLane(items: Item[], x: (s: number) => number, maxRows: number): { placed: Placed[]; rows: number } {
  const rowEnds: number[] = [];
  const placed: Placed[] = [];
  const rowOf = new Map<Item, number>();
  let overflow = false;
  for (const it of items) {
    const px = x(it.offset);
    if (it.follows) {
      placed.push({ ...it, x: px, row: rowOf.get(it.follows) ?? 0 });
      continue;
    }
    const width = 12 + shorten(it.label).length * CHAR_WIDTH;
    const barEnd = it.until === undefined ? px : x(it.until);
    const afterBar = barEnd - px > 8 && barEnd - px < width + 8;
    let labelAt: Placed['labelAt'] = { x: (afterBar ? barEnd : px) + 11, anchor: 'start' };
    if (labelAt.x + width > WIDTH - 4) labelAt = { x: px - 11, anchor: 'end' };
    const start = labelAt.anchor === 'end' ? labelAt.x - width : px - 8;
    const end = Math.max(labelAt.anchor === 'end' ? px + 8 : labelAt.x + width, barEnd + 8);
    let row = rowEnds.findIndex((e) => start > e + 6);
    if (row === -1 && rowEnds.length < maxRows) row = rowEnds.length;
    if (row === -1) {
      // No room for a label: the mark still shows (with its <title>, and in the tables), on a row
      // where it covers no label, else on one extra row of unlabelled marks under the labelled
      // ones; never with a bar that would run through labels.
      const free = rowEnds.findIndex((e) => px - 8 > e + 2);
      if (free === -1) overflow = true;
      else rowEnds[free] = px + 8;
      placed.push({ ...it, x: px, row: free === -1 ? maxRows : free, until: undefined });
      continue;
    }
    rowEnds[row] = end;
    rowOf.set(it, row);
    placed.push({ ...it, x: px, row, ...(it.label ? { labelAt } : {}) });
  }
  return { placed, rows: overflow ? maxRows + 1 : Math.max(1, rowEnds.length) };
}

function shape(kind: MarkKind, x: number, y: number, end: boolean): string {
  const f = (n: number) => n.toFixed(1);
  // A state's exit closes its bar: a bar-end tick keeps the state's name readable above it.
  if (end) return `<rect x="${f(x - 2)}" y="${f(y - 8)}" width="4" height="16"/>`;
  if (kind === 'fault' || kind === 'failure') return `<path d="M${f(x)} ${f(y - 8)}L${f(x + 8)} ${f(y)}L${f(x)} ${f(y + 8)}L${f(x - 8)} ${f(y)}Z"/>`;
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
.tl .m-oracle line{stroke:#444}.tl .span{fill:#555;opacity:.25}
@media (prefers-color-scheme:dark){
.tl .bg{fill:#0d0d0d}.tl .lane-bg{fill:#1c1c1c}.tl text{fill:#f5f5f5}.tl .mark>*{stroke:#f5f5f5}
.tl .label,.tl .milestone text{stroke:#0d0d0d}
.tl .k-fault>*,.tl .k-failure>*,.tl .m-fault line{fill:#ff6b6b;stroke:#ff6b6b}.tl .k-alarm>*{fill:#ffa94d}
.tl .k-opened>*,.tl .m-opened line{fill:#d4a5ff;stroke:#d4a5ff}.tl .k-resolved>*,.tl .m-healthy line{fill:#5fe08b;stroke:#5fe08b}
.tl .k-action>*{fill:#5cbcff}.tl .k-approval>*{fill:#ffd166}.tl .k-state>*{fill:#bdbdbd}.tl .k-info>*{fill:#0d0d0d}
.tl .m-oracle line{stroke:#bdbdbd}.tl .span{fill:#bdbdbd}}
`;

/** The timeline SVG (`<svg class="tl">...</svg>`), sized by its viewBox, width 100%. */
export function renderTimelineSvg(report: DrillReport): string {
  const entries = byOffset(report.timeline);
  const lastOffset = Math.max(0, ...entries.map((e) => e.offsetSeconds));
  const items = [...timelineItems(entries, lastOffset), ...byOffset(report.actions).map(actionItem)];
  const milestones: Array<{ cls: string; at: number; label: string }> = [];
  if (entries.some((e) => e.source === 'fault')) milestones.push({ cls: 'm-fault', at: 0, label: 'fault' });
  if (report.mttdSeconds !== null) milestones.push({ cls: 'm-opened', at: report.mttdSeconds, label: `opened ${formatOffset(report.mttdSeconds)}` });
  if (report.oracleMttrSeconds !== null) milestones.push({ cls: 'm-oracle', at: report.oracleMttrSeconds, label: `oracle ${formatDuration(report.oracleMttrSeconds)}` });
  if (report.mttrSeconds !== null) milestones.push({ cls: 'm-healthy', at: report.mttrSeconds, label: `healthy ${formatOffset(report.mttrSeconds)}` });

  const offsets = [0, ...items.map((i) => i.offset), ...milestones.map((m) => m.at)];
  let min = Math.min(...offsets);
  let max = Math.max(...offsets);
  if (max - min < 1) max = min + 1;
  const pad = (max - min) * 0.03;
  min -= pad;
  max += pad;
  const plotWidth = WIDTH - LEFT - RIGHT;
  const x = (s: number) => LEFT + ((s - min) / (max - min)) * plotWidth;

  const lanes = LANE_ORDER.filter((l) => items.some((i) => i.lane === l));
  const out: string[] = [];
  let y = TOP;
  const laneParts: string[] = [];
  lanes.forEach((lane, index) => {
    const { placed, rows } = placeLane(
      items.filter((i) => i.lane === lane),
      x,
      lane === 'state' ? MAX_STATE_ROWS : MAX_ROWS,
    );
    const height = rows * ROW + LANE_PAD * 2;
    const parts = [`<g class="lane" data-lane="${escapeHtml(lane)}">`];
    if (index % 2 === 0) parts.push(`<rect class="lane-bg" x="0" y="${y}" width="${WIDTH}" height="${height}"/>`);
    parts.push(`<text class="lane-label" x="12" y="${y + LANE_PAD + 15}">${escapeHtml(LANE_LABELS[lane])}</text>`);
    for (const p of placed) {
      const cy = y + LANE_PAD + p.row * ROW + ROW / 2;
      if (p.until !== undefined) {
        const width = Math.max(1, x(p.until) - p.x);
        parts.push(
          `<rect class="span" x="${p.x.toFixed(1)}" y="${(cy - ROW / 2 + 3).toFixed(1)}" width="${width.toFixed(1)}" height="${ROW - 6}"><title>${escapeHtml(`${p.label}: ${formatDuration(p.until - p.offset)}`)}</title></rect>`,
        );
      }
      parts.push(
        `<g class="${MARK_CLASS} k-${p.kind}" data-lane="${escapeHtml(lane)}" data-event="${escapeHtml(p.event)}"><title>${escapeHtml(p.title)}</title>${shape(p.kind, p.x, cy, p.follows !== undefined)}</g>`,
      );
      if (p.labelAt) {
        parts.push(`<text class="label" x="${p.labelAt.x.toFixed(1)}" y="${(cy + 4.5).toFixed(1)}"${p.labelAt.anchor === 'end' ? ' text-anchor="end"' : ''}>${escapeHtml(shorten(p.label))}</text>`);
      }
    }
    parts.push('</g>');
    laneParts.push(parts.join(''));
    y += height;
  });
  const plotBottom = lanes.length ? y : TOP + 40;
  const height = plotBottom + BOTTOM;

  out.push(
    `<svg class="tl" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${WIDTH} ${height}" width="100%" role="img" aria-labelledby="tl-title tl-desc" data-marks="${items.length}">`,
    `<title id="tl-title">${escapeHtml(`Drill ${report.scenario} timeline`)}</title>`,
    `<desc id="tl-desc">${escapeHtml(`${items.length} events in ${lanes.length} lanes; time in seconds from the first fault.`)}</desc>`,
    `<style>${STYLE}</style>`,
    `<rect class="bg" x="0" y="0" width="${WIDTH}" height="${height}"/>`,
  );

  // Grid and axis.
  const step = tickStep(max - min);
  const ticks: string[] = [];
  for (let t = Math.ceil(min / step) * step; t <= max; t += step) {
    const tx = x(t).toFixed(1);
    ticks.push(`<line class="grid" x1="${tx}" y1="${TOP}" x2="${tx}" y2="${plotBottom}"/>`);
    ticks.push(`<line x1="${tx}" y1="${plotBottom}" x2="${tx}" y2="${plotBottom + 6}"/><text x="${tx}" y="${plotBottom + 22}" text-anchor="middle">${escapeHtml(formatOffset(t))}</text>`);
  }
  out.push(`<g class="axis"><line x1="${LEFT}" y1="${plotBottom}" x2="${WIDTH - RIGHT}" y2="${plotBottom}"/>${ticks.join('')}</g>`);
  out.push(...laneParts);
  if (!lanes.length) out.push(`<text x="${WIDTH / 2}" y="${TOP + 24}" text-anchor="middle">No timeline entries were recorded.</text>`);

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
