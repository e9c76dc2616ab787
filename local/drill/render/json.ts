// report.json: the drill report with its keys in a fixed order (the stable interface first, in the
// order report-types.ts documents it), so two runs diff cleanly and scripts can rely on the shape.
// Keys a newer runner adds are kept, after the known ones, sorted by name.
import type { DrillReport } from '../report-types.js';

const REPORT_KEYS = [
  'scenario',
  'passed',
  'mttdSeconds',
  'mttrSeconds',
  'oracleMttrSeconds',
  'mttrRatio',
  'rpoSeconds',
  'rtoSeconds',
  'messagesProduced',
  'messagesConsumed',
  'messagesLost',
  'actions',
  'timeline',
  'description',
  'startedAt',
  'finishedAt',
  'cluster',
  'incidents',
  'expectations',
  'notes',
] as const;

/** Key order of the nested records (anything else follows, sorted). */
const NESTED_KEYS: Record<string, readonly string[]> = {
  actions: ['at', 'offsetSeconds', 'actor', 'action', 'target', 'result', 'dryRun'],
  timeline: ['at', 'offsetSeconds', 'source', 'event', 'detail'],
  cluster: ['name', 'mode', 'brokers', 'kafkaVersion'],
  incidents: [
    'id',
    'type',
    'severity',
    'status',
    'workflow',
    'executionStatus',
    'openedAt',
    'mttaSeconds',
    'acknowledgedBy',
    'resolvedAt',
  ],
  expectations: ['name', 'expected', 'actual', 'passed'],
};

function orderKeys(value: Record<string, unknown>, known: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of known) if (value[k] !== undefined) out[k] = value[k];
  for (const k of Object.keys(value)
    .filter((k) => !known.includes(k))
    .sort())
    if (value[k] !== undefined) out[k] = value[k];
  return out;
}

function orderNested(key: string, value: unknown): unknown {
  const known = NESTED_KEYS[key];
  if (!known) return value;
  const one = (v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v) ? orderKeys(v as Record<string, unknown>, known) : v;
  return Array.isArray(value) ? value.map(one) : one(value);
}

/** The report as a plain object with stable key order (what report.json holds). */
export function toStableJson(report: DrillReport): Record<string, unknown> {
  const top = orderKeys(report as unknown as Record<string, unknown>, REPORT_KEYS);
  for (const k of Object.keys(top)) top[k] = orderNested(k, top[k]);
  return top;
}

/** report.json text: two-space indented, ending with a newline. */
export function renderJson(report: DrillReport): string {
  return `${JSON.stringify(toStableJson(report), null, 2)}\n`;
}
