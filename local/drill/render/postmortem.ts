// postmortem.md for a drill: the same seed template and renderer as an incident's post-mortem
// (tools/postmortem.ts), filled from what the drill measured. In a drill the cause is
// known (the injected fault), so it is listed as evidence; the section stays for people to write.
import { isRecordKeeping, renderPostmortem, type PostmortemDraft } from '#tools/postmortem.js';
import { formatDuration } from '#tools/report-text.js';
import type { DrillReport } from '../report-types.js';
import { actionText, byOffset, expectationCounts, formatRatio, mttaText, summaryFacts } from './summary.js';

/** The MTTR ratio to the oracle the project aims for (issue 5: broker-crash within 1.5x). */
export const TARGET_MTTR_RATIO = 1.5;

export function drillPostmortemDraft(report: DrillReport): PostmortemDraft {
  const timeline = byOffset(report.timeline);
  const faults = timeline.filter((t) => t.source === 'fault');
  const counts = expectationCounts(report);
  const failed = report.expectations.filter((e) => !e.passed);
  const first = report.incidents[0];

  const summary = [
    `Drill ${report.scenario} on ${report.cluster.name}.${report.description ? ` ${report.description}` : ''}`,
    faults.length
      ? `Faults injected: ${faults.map((f) => `${f.event}${f.detail ? ` (${f.detail})` : ''}`).join(', ')}.`
      : 'No fault was injected.',
    first
      ? `Incident ${first.id} (${first.type}, ${first.severity}) opened ${formatDuration(report.mttdSeconds)} after the fault and ended ${first.status}.`
      : 'No incident was opened.',
    report.mttrSeconds !== null
      ? `The cluster was healthy again ${formatDuration(report.mttrSeconds)} after the fault (${formatRatio(report.mttrRatio)} the oracle's ${formatDuration(report.oracleMttrSeconds)}).`
      : 'The cluster did not recover during the drill.',
    `Verdict: ${report.passed ? 'passed' : 'failed'} (${counts.passed} of ${report.expectations.length} expectations held).`,
  ];

  const stateEvents = timeline.filter((t) => t.source === 'state').length;
  if (stateEvents > 0)
    summary.push(
      `The ${stateEvents} workflow state transitions are in report.md and report.html, not in the timeline below.`,
    );

  const impact = [
    `${report.messagesProduced} acknowledged messages produced, ${report.messagesConsumed} read back, ${report.messagesLost} lost.`,
    report.mttrSeconds !== null
      ? `Fault to healthy: ${formatDuration(report.mttrSeconds)}.`
      : 'The cluster stayed unhealthy until the drill ended.',
  ];
  if (report.rpoSeconds !== undefined)
    impact.push(`RPO (replication lag at failover): ${formatDuration(report.rpoSeconds)}.`);
  if (report.rtoSeconds !== undefined)
    impact.push(`RTO (fault to clients served by the DR cluster): ${formatDuration(report.rtoSeconds)}.`);

  const resolution = [
    ...byOffset(report.actions)
      .filter((a) => !isRecordKeeping(a.action))
      .map((a) => `${a.actor}: ${actionText(a)}`),
    ...report.incidents.map(
      (i) =>
        `Incident ${i.id} ended ${i.status}${i.workflow ? ` (${i.workflow}${i.executionStatus ? ` ${i.executionStatus}` : ''})` : ''}${i.resolvedAt ? ` at ${i.resolvedAt}` : ''}${i.acknowledgedBy ? `; acknowledged by ${i.acknowledgedBy}, MTTA ${mttaText(i)}` : '; not acknowledged'}.`,
    ),
  ];

  const wentWell = report.expectations.filter((e) => e.passed).map((e) => `${e.name}: ${e.actual}.`);
  if (report.messagesLost === 0 && report.messagesProduced > 0) wentWell.push('No acknowledged message was lost.');
  if (report.mttrRatio !== null && report.mttrRatio <= TARGET_MTTR_RATIO)
    wentWell.push(`MTTR within ${TARGET_MTTR_RATIO}x the oracle (${formatRatio(report.mttrRatio)}).`);

  const toImprove = failed.map((e) => `${e.name}: expected ${e.expected}, got ${e.actual}.`);
  if (report.mttrRatio !== null && report.mttrRatio > TARGET_MTTR_RATIO)
    toImprove.push(`MTTR is ${formatRatio(report.mttrRatio)} the oracle (target ${TARGET_MTTR_RATIO}x).`);
  if (report.messagesLost > 0) toImprove.push(`${report.messagesLost} acknowledged messages were lost.`);

  const actionItems = failed.map((e) => `Make "${e.name}" hold: expected ${e.expected}, got ${e.actual}.`);
  if (failed.length === 0)
    actionItems.push(`Keep ${report.scenario} in CI so a regression shows up as a failed drill.`);
  actionItems.push('Record what the drill taught about the runbook in its document.');

  return {
    title: `drill ${report.scenario} on ${report.cluster.name}`,
    facts: [
      ...summaryFacts(report),
      ...report.incidents.map((i): [string, string] => [`Incident ${i.id}`, `${i.type}, ${i.severity}, ${i.status}`]),
    ],
    summary,
    // State-by-state transitions (hundreds in a real run) are in report.md and report.html; a
    // post-mortem reads better with the events people act on.
    timeline: timeline
      .filter((t) => t.source !== 'state')
      .map((t) => ({
        at: t.at,
        offsetSeconds: t.offsetSeconds,
        who: t.source,
        what: t.event,
        ...(t.detail !== undefined ? { detail: t.detail } : {}),
      })),
    impact,
    rootCauseEvidence: [
      ...faults.map((f) => `Injected ${f.event}${f.detail ? `: ${f.detail}` : ''} at ${f.at}`),
      ...report.notes.map((n) => `Drill note: ${n}`),
    ],
    resolution,
    wentWell,
    toImprove,
    actionItems,
  };
}

export function renderDrillPostmortem(report: DrillReport): string {
  return renderPostmortem(drillPostmortemDraft(report));
}
