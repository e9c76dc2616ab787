// Post-mortem drafts in the seed template: summary, timeline, impact, root cause (to fill),
// resolution, what went well / what to improve, action items. Pure and deterministic: the same
// incident and timeline give the same Markdown, byte for byte (no clock, stable ordering), so a
// draft can be regenerated and diffed. Two producers share the template: an incident record with
// its timeline (`kafka-heal postmortem <incident-id>`) and a drill report (local/drill/render).
// Everything that came from the outside (alarm names, reasons, host output) is escaped.
import type { IncidentWithTimeline, TimelineEntry } from '../functions/shared/store/index.js';
import {
  escapeMarkdown,
  formatDuration,
  formatOffset,
  markdownList,
  markdownTable,
  secondsBetween,
} from './report-text.js';

export interface PostmortemTimelineRow {
  /** ISO time. */
  at: string;
  /** Seconds from the fault (detection for incidents, the first injected fault for drills). */
  offsetSeconds?: number | null;
  who: string;
  what: string;
  detail?: string;
}

/** The template's content; each list is rendered as escaped bullets in this order. */
export interface PostmortemDraft {
  title: string;
  /** Label/value pairs shown as the summary table. */
  facts: Array<[string, string]>;
  summary: string[];
  timeline: PostmortemTimelineRow[];
  impact: string[];
  /** What the records already say about the cause (diagnoses, reasons); the cause itself is for people. */
  rootCauseEvidence: string[];
  resolution: string[];
  wentWell: string[];
  toImprove: string[];
  actionItems: string[];
}

export const POSTMORTEM_SECTIONS = [
  'Summary',
  'Timeline',
  'Impact',
  'Root cause',
  'Resolution',
  'What went well',
  'What to improve',
  'Action items',
] as const;

const TO_FILL = '_To fill: what failed first and why, and why it was not prevented or caught earlier._';

/** Renders a draft as Markdown in the seed template. */
export function renderPostmortem(draft: PostmortemDraft): string {
  const timeline = draft.timeline.length
    ? markdownTable(
        ['Time (UTC)', 'Offset', 'Who', 'What', 'Detail'],
        draft.timeline.map((r) => [
          r.at,
          r.offsetSeconds === null || r.offsetSeconds === undefined ? '' : formatOffset(r.offsetSeconds),
          r.who,
          r.what,
          r.detail ?? '',
        ]),
      )
    : '_No timeline entries were recorded._';
  const evidence = draft.rootCauseEvidence.length
    ? `\n\nRecorded evidence:\n\n${markdownList(draft.rootCauseEvidence)}`
    : '';
  const actionItems = draft.actionItems.length
    ? draft.actionItems.map((a) => `- [ ] ${escapeMarkdown(a)}`).join('\n')
    : '- [ ] _To fill._';
  const sections: Array<[string, string]> = [
    [
      'Summary',
      [markdownTable(['Field', 'Value'], draft.facts), draft.summary.map(escapeMarkdown).join(' ')]
        .filter(Boolean)
        .join('\n\n'),
    ],
    ['Timeline', timeline],
    ['Impact', markdownList(draft.impact)],
    ['Root cause', `${TO_FILL}${evidence}`],
    ['Resolution', markdownList(draft.resolution)],
    ['What went well', markdownList(draft.wentWell, 'To fill.')],
    ['What to improve', markdownList(draft.toImprove, 'To fill.')],
    ['Action items', actionItems],
  ];
  return [
    `# Post-mortem: ${escapeMarkdown(draft.title)}`,
    '',
    '> Draft generated from the recorded timeline. Fill in the root cause and review every section before sharing.',
    '',
    ...sections.flatMap(([heading, body]) => [`## ${heading}`, '', body, '']),
  ].join('\n');
}

// ------------------------------------------------------------------ from an incident record

function describeEntry(e: TimelineEntry): string {
  const parts = [
    e.detail,
    e.result ? `result: ${e.result}` : undefined,
    e.reasons?.length ? `reasons: ${e.reasons.join('; ')}` : undefined,
  ];
  return parts.filter((p): p is string => Boolean(p)).join(' | ');
}

/** Timeline in time order; entries with the same time keep their stored order. */
function ordered(timeline: readonly TimelineEntry[]): TimelineEntry[] {
  return timeline
    .map((e, i) => ({ e, i, t: Date.parse(e.at) }))
    .sort((a, b) => (a.t === b.t || Number.isNaN(a.t) || Number.isNaN(b.t) ? a.i - b.i : a.t - b.t))
    .map(({ e }) => e);
}

/** Timeline actions that record the incident's own bookkeeping or findings, not a change made to the cluster. */
const RECORD_KEEPING = new Set([
  'incident-opened',
  'incident-upgraded',
  'signal-joined',
  'signal-resolved',
  'lock-acquired',
  'lock-released',
  'lock-not-owned',
  'status-changed',
  'recovery-started',
  'host-diagnosed',
  'escalation-recorded',
]);

/** Whether a timeline action is record keeping (incident, lock, status, findings) rather than an action on the cluster. */
export function isRecordKeeping(action: string): boolean {
  return RECORD_KEEPING.has(action);
}

const find = (tl: readonly TimelineEntry[], action: string) => tl.find((e) => e.action === action);
const findAll = (tl: readonly TimelineEntry[], pattern: RegExp) => tl.filter((e) => pattern.test(e.action));

function incidentMttd(i: IncidentWithTimeline): number | null {
  return i.mttdSeconds ?? secondsBetween(i.detectedAt, i.openedAt);
}

function incidentMttr(i: IncidentWithTimeline): number | null {
  return i.mttrSeconds ?? (i.resolvedAt ? secondsBetween(i.detectedAt, i.resolvedAt) : null);
}

/** ` by <who> (<where from>)`, or nothing when the record does not say. */
function whoAndWhere(by: string | undefined, via: string | undefined): string {
  return by === undefined ? '' : ` by ${by}${via === undefined ? '' : ` (${via})`}`;
}

function outcomeSentence(i: IncidentWithTimeline, falseAlarm: boolean): string {
  switch (i.status) {
    case 'resolved':
      return falseAlarm
        ? `It was resolved as a false alarm after ${formatDuration(incidentMttr(i))}: the cluster was healthy when re-probed and nothing was changed.`
        : `It was resolved ${formatDuration(incidentMttr(i))} after detection.`;
    case 'escalated':
      return 'Automation stopped and escalated it to people.';
    case 'suppressed':
      return 'It was suppressed (no action by policy).';
    default:
      return `It was still ${i.status} when this draft was generated.`;
  }
}

/** The post-mortem draft content for an incident and its timeline. */
export function postmortemDraftFromIncident(incident: IncidentWithTimeline): PostmortemDraft {
  const tl = ordered(incident.timeline);
  const brokers = incident.brokers.map((b) => b.id);
  const brokerText = brokers.length
    ? `broker${brokers.length > 1 ? 's' : ''} ${brokers.join(', ')}`
    : 'no specific broker';
  const started = find(tl, 'workflow-started');
  const workflow = started?.detail?.split(' ')[0];
  const resolvedEntry = tl.find((e) => e.action === 'status-changed' && / -> resolved/.test(e.detail ?? ''));
  const falseAlarm = /false alarm/i.test(resolvedEntry?.detail ?? '');
  const escalations = tl.filter(
    (e) =>
      (e.action === 'status-changed' && / -> escalated/.test(e.detail ?? '')) || e.action === 'escalation-recorded',
  );
  const planned = findAll(tl, /^planned-/);
  const approvals = findAll(tl, /^approval-/);
  const actionsTaken = tl.filter(
    (e) => e.actor.startsWith('workflow:') && !isRecordKeeping(e.action) && !/^(planned|approval)-/.test(e.action),
  );
  const mttd = incidentMttd(incident);
  const mttr = incidentMttr(incident);

  const facts: Array<[string, string]> = [
    ['Incident', incident.id],
    ['Cluster', incident.cluster],
    ['Type', incident.type],
    ['Severity', incident.severity],
    ['Status', incident.status],
    ['Brokers', brokers.length ? brokers.join(', ') : 'none'],
    ['Detected', incident.detectedAt],
    ['Opened', incident.openedAt],
    [
      'Acknowledged',
      incident.acknowledgedAt
        ? `${incident.acknowledgedAt}${whoAndWhere(incident.acknowledgedBy, incident.acknowledgedVia)}`
        : 'not acknowledged',
    ],
    [
      'Resolved',
      incident.resolvedAt
        ? `${incident.resolvedAt}${whoAndWhere(incident.resolvedBy, incident.resolvedVia)}`
        : 'not resolved',
    ],
    ['MTTD', formatDuration(mttd)],
    [
      'MTTA',
      incident.mttaSeconds === undefined
        ? 'n/a'
        : `${formatDuration(incident.mttaSeconds)} from ${incident.mttaFrom === 'page' ? 'the first page' : 'detection'}`,
    ],
    ['MTTR', formatDuration(mttr)],
    ['Signals', String(incident.signalCount)],
  ];
  if (workflow) facts.push(['Workflow', workflow]);
  if (incident.executionArn) facts.push(['Execution', incident.executionArn]);

  const summary = [
    `${incident.severity} ${incident.type} on cluster ${incident.cluster} (${brokerText}), detected at ${incident.detectedAt} from ${incident.signalCount} signal${incident.signalCount === 1 ? '' : 's'}.`,
    workflow ? `The classifier started ${workflow}.` : 'No recovery workflow was started.',
    outcomeSentence(incident, falseAlarm),
  ];

  const impact = [
    `Cluster ${incident.cluster}: ${incident.type} affecting ${brokerText}.`,
    mttr !== null
      ? `Duration from detection to resolution: ${formatDuration(mttr)}.`
      : 'Not resolved when this draft was generated; the impact window is still open.',
    'To fill: client-visible effect (produce/consume errors, latency, lag, data loss) and who was affected.',
  ];

  const rootCauseEvidence = tl
    .filter((e) => e.action === 'host-diagnosed' || e.action === 'incident-opened' || e.action === 'incident-upgraded')
    .map((e) => `${e.action}: ${describeEntry(e)}`);

  const resolution: string[] = [
    ...actionsTaken.map(
      (e) => `${e.actor} ${e.action}${e.detail ? `: ${e.detail}` : ''}${e.result ? ` (${e.result})` : ''}`,
    ),
    ...planned.map((e) => `${e.actor} planned (dry run): ${e.detail ?? e.action}`),
    ...approvals.map((e) => `${e.actor} ${e.action}${e.detail ? `: ${e.detail}` : ''}`),
    ...escalations.map((e) => `Escalated by ${e.actor}: ${e.detail ?? e.action}`),
  ];
  if (resolvedEntry)
    resolution.push(
      `Resolved by ${resolvedEntry.actor} at ${resolvedEntry.at}${resolvedEntry.detail ? `: ${resolvedEntry.detail}` : ''}`,
    );

  const wentWell: string[] = [];
  const toImprove: string[] = [];
  if (mttd !== null) wentWell.push(`Detected and opened ${formatDuration(mttd)} after the first signal.`);
  if (incident.status === 'resolved' && incident.resolvedVia === 'auto-resolve') {
    wentWell.push(
      'The fault cleared without the healer; auto-resolve closed the incident once its alarms and the cluster stayed healthy for the quiet period.',
    );
  } else if (
    incident.status === 'resolved' &&
    escalations.length === 0 &&
    (incident.resolvedVia === undefined || incident.resolvedVia === 'workflow' || incident.resolvedVia === 'classifier')
  ) {
    wentWell.push(
      falseAlarm
        ? 'The workflow re-probed before acting and changed nothing on a healthy cluster.'
        : 'Automation resolved the incident without paging anyone.',
    );
  }
  if (incident.signalCount > 1)
    wentWell.push(`${incident.signalCount} signals were correlated into this one incident.`);
  for (const e of escalations) toImprove.push(`Automation could not finish: ${e.detail ?? e.action}.`);
  for (const e of tl.filter((x) =>
    ['lock-held', 'workflow-missing', 'policy-fallback', 'lock-not-owned'].includes(x.action),
  )) {
    toImprove.push(`${e.action}: ${e.detail ?? ''}`.trim());
  }
  for (const e of approvals.filter((a) => /rejected|timed-out/.test(a.action)))
    toImprove.push(`${e.action}${e.detail ? `: ${e.detail}` : ''}.`);
  if (falseAlarm) toImprove.push('The alarm fired on a healthy cluster: review its threshold and evaluation window.');

  const actionItems = ['Fill in the root cause above and link the evidence (logs, metrics, host diagnosis).'];
  if (escalations.length)
    actionItems.push('Find out why automation could not heal this and fix the workflow, runbook or policy.');
  if (falseAlarm) actionItems.push('Tune or replace the alarm that fired without a fault.');
  if (!incident.acknowledgedAt && incident.status !== 'resolved' && incident.status !== 'suppressed')
    actionItems.push('Check why nobody acknowledged the page.');
  actionItems.push('Decide whether a test or drill scenario should reproduce this incident.');

  return {
    title: `${incident.type} on ${incident.cluster} (${incident.id})`,
    facts,
    summary,
    timeline: tl.map((e) => ({
      at: e.at,
      offsetSeconds: secondsBetween(incident.detectedAt, e.at),
      who: e.actor,
      what: e.action,
      detail: describeEntry(e),
    })),
    impact,
    rootCauseEvidence,
    resolution,
    wentWell,
    toImprove,
    actionItems,
  };
}

/** The Markdown post-mortem draft for an incident and its timeline. */
export function postmortemFromIncident(incident: IncidentWithTimeline): string {
  return renderPostmortem(postmortemDraftFromIncident(incident));
}
