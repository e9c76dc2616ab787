// report.md: the drill report for a terminal, a pull request or a chat message: verdict and
// figures first, then expectations (pass/fail), incidents, actions, timeline and notes.
import { escapeMarkdown, formatOffset, markdownList, markdownTable } from '#tools/report-text.js';
import type { DrillReport } from '../report-types.js';
import { byOffset, expectationCounts, mttaText, summaryFacts, verdict } from './summary.js';

export function renderMarkdown(report: DrillReport): string {
  const counts = expectationCounts(report);
  const expectations = report.expectations.length
    ? markdownTable(
        ['Result', 'Expectation', 'Expected', 'Actual'],
        report.expectations.map((e) => [e.passed ? 'pass' : 'FAIL', e.name, e.expected, e.actual]),
      )
    : '_No expectations were declared._';
  const incidents = report.incidents.length
    ? markdownTable(
        ['Incident', 'Type', 'Severity', 'Status', 'Workflow', 'Execution', 'Opened', 'MTTA', 'Resolved'],
        report.incidents.map((i) => [
          i.id,
          i.type,
          i.severity,
          i.status,
          i.workflow ?? '',
          i.executionStatus ?? '',
          i.openedAt,
          mttaText(i),
          i.resolvedAt ?? 'not resolved',
        ]),
      )
    : '_No incident was opened._';
  const actions = report.actions.length
    ? markdownTable(
        ['Offset', 'Actor', 'Action', 'Target', 'Result', 'Dry run'],
        byOffset(report.actions).map((a) => [
          formatOffset(a.offsetSeconds),
          a.actor,
          a.action,
          a.target ?? '',
          a.result ?? '',
          a.dryRun ? 'yes' : 'no',
        ]),
      )
    : '_No action was taken._';
  const timeline = report.timeline.length
    ? markdownTable(
        ['Offset', 'Time (UTC)', 'Source', 'Event', 'Detail'],
        byOffset(report.timeline).map((t) => [formatOffset(t.offsetSeconds), t.at, t.source, t.event, t.detail ?? '']),
      )
    : '_The timeline is empty._';
  return [
    `# Drill ${escapeMarkdown(report.scenario)}: ${verdict(report)}`,
    '',
    report.description ? escapeMarkdown(report.description) : '',
    '',
    markdownTable(['Measure', 'Value'], summaryFacts(report)),
    '',
    `## Expectations (${counts.passed} passed, ${counts.failed} failed)`,
    '',
    expectations,
    '',
    '## Incidents',
    '',
    incidents,
    '',
    '## Actions',
    '',
    actions,
    '',
    '## Timeline',
    '',
    timeline,
    '',
    '## Notes',
    '',
    markdownList(report.notes, 'None.'),
    '',
  ].join('\n');
}
