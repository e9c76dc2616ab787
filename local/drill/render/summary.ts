// The facts every drill rendering leads with (Markdown, post-mortem, HTML), worded once.
import { formatDuration } from '#tools/report-text.js';
import type { DrillAction, DrillIncident, DrillReport, DrillTimelineEntry } from '../report-types.js';

export const verdict = (report: DrillReport): 'PASSED' | 'FAILED' => (report.passed ? 'PASSED' : 'FAILED');

/** `1.42x`, or `n/a` when either MTTR is missing. */
export function formatRatio(ratio: number | null | undefined): string {
  return ratio === null || ratio === undefined || !Number.isFinite(ratio) ? 'n/a' : `${ratio.toFixed(2)}x`;
}

/** An incident's MTTA (`4.2 s`), or `-` when nobody acknowledged it. */
export function mttaText(i: DrillIncident): string {
  return i.mttaSeconds === undefined ? '-' : formatDuration(i.mttaSeconds);
}

export function clusterText(report: DrillReport): string {
  const c = report.cluster;
  return `${c.name} (${c.mode}, ${c.brokers} broker${c.brokers === 1 ? '' : 's'}, Kafka ${c.kafkaVersion})`;
}

/** Label/value pairs of the summary table, in reading order. */
export function summaryFacts(report: DrillReport): Array<[string, string]> {
  const facts: Array<[string, string]> = [
    ['Result', verdict(report)],
    ['Scenario', report.scenario],
    ['Cluster', clusterText(report)],
    ['Started', report.startedAt],
    ['Finished', report.finishedAt],
    ['MTTD (fault to incident opened)', formatDuration(report.mttdSeconds)],
    ['MTTR (fault to healthy)', formatDuration(report.mttrSeconds)],
    ['Oracle MTTR (manual restart)', formatDuration(report.oracleMttrSeconds)],
    ['MTTR / oracle', formatRatio(report.mttrRatio)],
  ];
  if (report.rpoSeconds !== undefined) facts.push(['RPO (replication lag lost)', formatDuration(report.rpoSeconds)]);
  if (report.rtoSeconds !== undefined) facts.push(['RTO (fault to DR serving)', formatDuration(report.rtoSeconds)]);
  facts.push(
    ['Messages produced (acks=all)', String(report.messagesProduced)],
    ['Messages consumed', String(report.messagesConsumed)],
    ['Messages lost', String(report.messagesLost)],
  );
  return facts;
}

export function expectationCounts(report: DrillReport): { passed: number; failed: number } {
  const passed = report.expectations.filter((e) => e.passed).length;
  return { passed, failed: report.expectations.length - passed };
}

/** Entries in time order (offset, then original order for ties). */
export function byOffset<T extends DrillTimelineEntry | DrillAction>(entries: readonly T[]): T[] {
  return entries
    .map((e, i) => ({ e, i }))
    .sort((a, b) => a.e.offsetSeconds - b.e.offsetSeconds || a.i - b.i)
    .map(({ e }) => e);
}

export function actionText(a: DrillAction): string {
  return `${a.action}${a.target ? ` ${a.target}` : ''}${a.dryRun ? ' (planned, dry run)' : ''}${a.result ? `: ${a.result}` : ''}`;
}
