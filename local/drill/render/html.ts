// report.html: one self-contained page (no scripts, no external assets: a Content-Security-Policy
// forbids loading anything) for the person reading a drill result at 3 a.m.: the verdict in
// words and colour at the top, the figures that matter, the SVG timeline, then the tables.
// Every value from the report is escaped.
import { formatDuration, formatOffset } from '#tools/report-text.js';
import type { DrillReport } from '../report-types.js';
import { escapeHtml } from './escape.js';
import { byOffset, clusterText, expectationCounts, formatRatio, mttaText, summaryFacts, verdict } from './summary.js';
import { renderTimelineSvg } from './svg.js';

const CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:";
/** Longer timelines (a real run has hundreds of state events) start folded under their heading. */
const OPEN_TIMELINE_MAX = 60;

const STYLE = `
:root{color-scheme:light dark;--bg:#fff;--fg:#000;--muted:#333;--line:#767676;--card:#f3f3f3;--pass:#0a7d32;--fail:#c00018;--on:#fff}
@media (prefers-color-scheme:dark){:root{--bg:#0d0d0d;--fg:#f5f5f5;--muted:#d0d0d0;--line:#8a8a8a;--card:#1c1c1c;--pass:#5fe08b;--fail:#ff6b6b;--on:#000}}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--fg);font:16px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
main{max-width:1240px;margin:0 auto;padding:16px 20px 40px}
.verdict{padding:18px 20px;border-radius:6px;color:var(--on)}
.verdict.pass{background:var(--pass)}.verdict.fail{background:var(--fail)}
.verdict h1{margin:0;font-size:34px;letter-spacing:.02em}.verdict p{margin:6px 0 0;font-size:17px}
.figures{display:grid;grid-template-columns:repeat(auto-fit,minmax(170px,1fr));gap:10px;margin:16px 0}
.figure{background:var(--card);border:1px solid var(--line);border-radius:6px;padding:10px 12px}
.figure .k{font-size:13px;color:var(--muted);text-transform:uppercase;letter-spacing:.04em}
.figure .v{font-size:26px;font-weight:700;font-variant-numeric:tabular-nums}
.figure.bad .v{color:var(--fail)}
h2{font-size:22px;margin:28px 0 8px;border-bottom:2px solid var(--line);padding-bottom:4px}
table{border-collapse:collapse;width:100%;font-size:15px}
th,td{border:1px solid var(--line);padding:5px 8px;text-align:left;vertical-align:top;overflow-wrap:break-word}
th{white-space:nowrap}
th{background:var(--card)}
td.num{font-variant-numeric:tabular-nums;white-space:nowrap}
.ok{color:var(--pass);font-weight:700}.no{color:var(--fail);font-weight:700}
.timeline{border:1px solid var(--line);border-radius:6px;overflow:hidden}
.empty{color:var(--muted);font-style:italic}
footer{margin-top:32px;color:var(--muted);font-size:13px}
summary{cursor:pointer;font-weight:700;padding:6px 0}
`;

function table(
  headers: readonly string[],
  rows: readonly (readonly string[])[],
  numeric: readonly number[] = [],
): string {
  const head = `<tr>${headers.map((h) => `<th scope="col">${escapeHtml(h)}</th>`).join('')}</tr>`;
  const body = rows
    .map((r) => `<tr>${r.map((c, i) => `<td${numeric.includes(i) ? ' class="num"' : ''}>${c}</td>`).join('')}</tr>`)
    .join('\n');
  return `<table><thead>${head}</thead><tbody>\n${body}\n</tbody></table>`;
}

const e = escapeHtml;
const empty = (text: string) => `<p class="empty">${escapeHtml(text)}</p>`;
const passFail = (passed: boolean) =>
  passed ? '<span class="ok">&#10004; pass</span>' : '<span class="no">&#10008; FAIL</span>';

function figure(label: string, value: string, bad = false): string {
  return `<div class="figure${bad ? ' bad' : ''}"><div class="k">${e(label)}</div><div class="v">${e(value)}</div></div>`;
}

export function renderHtml(report: DrillReport): string {
  const counts = expectationCounts(report);
  const figures = [
    figure('MTTD', formatDuration(report.mttdSeconds)),
    figure('MTTR', formatDuration(report.mttrSeconds), report.mttrSeconds === null),
    figure('Oracle MTTR', formatDuration(report.oracleMttrSeconds)),
    figure('MTTR / oracle', formatRatio(report.mttrRatio)),
    figure('Messages lost', String(report.messagesLost), report.messagesLost > 0),
    figure('Expectations', `${counts.passed}/${report.expectations.length}`, counts.failed > 0),
  ];
  if (report.rpoSeconds !== undefined) figures.push(figure('RPO', formatDuration(report.rpoSeconds)));
  if (report.rtoSeconds !== undefined) figures.push(figure('RTO', formatDuration(report.rtoSeconds)));

  const expectations = report.expectations.length
    ? table(
        ['Result', 'Expectation', 'Expected', 'Actual'],
        report.expectations.map((x) => [passFail(x.passed), e(x.name), e(x.expected), e(x.actual)]),
      )
    : empty('No expectations were declared.');
  const incidents = report.incidents.length
    ? table(
        ['Incident', 'Type', 'Severity', 'Status', 'Workflow', 'Execution', 'Opened', 'MTTA', 'Resolved'],
        report.incidents.map((i) => [
          e(i.id),
          e(i.type),
          e(i.severity),
          e(i.status),
          e(i.workflow ?? ''),
          e(i.executionStatus ?? ''),
          e(i.openedAt),
          e(mttaText(i)),
          e(i.resolvedAt ?? 'not resolved'),
        ]),
      )
    : empty('No incident was opened.');
  const actions = report.actions.length
    ? table(
        ['Offset', 'Actor', 'Action', 'Target', 'Result', 'Dry run'],
        byOffset(report.actions).map((a) => [
          e(formatOffset(a.offsetSeconds)),
          e(a.actor),
          e(a.action),
          e(a.target ?? ''),
          e(a.result ?? ''),
          a.dryRun ? 'yes' : 'no',
        ]),
        [0],
      )
    : empty('No action was taken.');
  const timeline = report.timeline.length
    ? table(
        ['Offset', 'Time (UTC)', 'Source', 'Event', 'Detail'],
        byOffset(report.timeline).map((t) => [
          e(formatOffset(t.offsetSeconds)),
          e(t.at),
          e(t.source),
          e(t.event),
          e(t.detail ?? ''),
        ]),
        [0, 1],
      )
    : empty('The timeline is empty.');
  const notes = report.notes.length
    ? `<ul>${report.notes.map((n) => `<li>${e(n)}</li>`).join('')}</ul>`
    : empty('None.');

  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${CSP}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${e(`Drill ${report.scenario}: ${verdict(report)}`)}</title>
<style>${STYLE}</style>
</head>
<body>
<main>
<header class="verdict ${report.passed ? 'pass' : 'fail'}" id="verdict">
<h1>${e(`${verdict(report)}: drill ${report.scenario}`)}</h1>
<p>${e(report.description)}</p>
<p>${e(`${clusterText(report)} \u00b7 ${report.startedAt} to ${report.finishedAt} \u00b7 ${counts.passed} of ${report.expectations.length} expectations held`)}</p>
</header>
<section class="figures" aria-label="Key figures">
${figures.join('\n')}
</section>
<h2>Timeline</h2>
<div class="timeline">
${renderTimelineSvg(report)}
</div>
<h2>Expectations</h2>
${expectations}
<h2>Incidents</h2>
${incidents}
<h2>Actions</h2>
${actions}
<h2>Timeline entries</h2>
${
  report.timeline.length > OPEN_TIMELINE_MAX
    ? `<details><summary>${e(`All ${report.timeline.length} timeline entries (state by state)`)}</summary>
${timeline}
</details>`
    : timeline
}
<h2>Summary</h2>
${table(
  ['Measure', 'Value'],
  summaryFacts(report).map(([k, v]) => [e(k), e(v)]),
)}
<h2>Notes</h2>
${notes}
<footer>${e(`Drill report for ${report.scenario}, generated from report.json of the same run.`)}</footer>
</main>
</body>
</html>
`;
}
