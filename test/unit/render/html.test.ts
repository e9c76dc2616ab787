import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { escapeHtml } from '#local/drill/render/escape.js';
import { renderHtml, renderJson, renderTimelineSvg, writeReports } from '#local/drill/render/index.js';
import { markKind, stateRows, tickStep } from '#local/drill/render/svg.js';
import type { DrillTimelineEntry } from '#local/drill/report-types.js';
import { brokerCrashReport, expectToContainAll, HOSTILE, hostileReport, neverRecoveredReport } from './fixture.js';

const count = (text: string, pattern: RegExp) => (text.match(pattern) ?? []).length;

describe('escapeHtml', () => {
  it('escapes markup and attribute quotes and drops characters XML forbids', () => {
    expect(escapeHtml(`<a href="x" title='y'>&</a>`)).toBe(
      '&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;',
    );
    expect(escapeHtml('a\u0000b\u0008c\u001fd\ufffe')).toBe('abcd');
    expect(escapeHtml('tab\tand\nnewline')).toBe('tab\tand\nnewline');
    expect(escapeHtml(null)).toBe('');
    expect(escapeHtml(3)).toBe('3');
  });
});

describe('timeline SVG', () => {
  it('draws one mark per timeline entry and per action, in lanes by source', () => {
    const report = brokerCrashReport();
    const svg = renderTimelineSvg(report);
    const marks = report.timeline.length + report.actions.length;
    expect(count(svg, /<g class="mark /g)).toBe(marks);
    expect(svg).toContain(`data-marks="${marks}"`);
    const lanes = [...svg.matchAll(/<g class="lane" data-lane="([a-z]+)">/g)].map((m) => m[1]);
    expect(lanes).toEqual(['fault', 'alarm', 'classifier', 'workflow', 'state', 'action', 'oracle']);
    expect(count(svg, /class="mark k-fault"/g)).toBe(1);
    expect(count(svg, /class="mark k-action"/g)).toBe(9);
    expect(count(svg, /class="mark k-opened" data-lane="classifier" data-event="incident:incident-opened"/g)).toBe(1);
    // The incident's status change to resolved reads as good news, the one to remediating does not.
    expect(count(svg, /class="mark k-resolved" data-lane="workflow" data-event="incident:status-changed"/g)).toBe(1);
    expect(count(svg, /class="mark k-info" data-lane="classifier" data-event="incident:status-changed"/g)).toBe(1);
    // Milestones: fault, opened, oracle, healthy.
    expect(count(svg, /<g class="milestone /g)).toBe(4);
    expect(svg).toContain('>healthy T+41.8s<');
    expect(svg).toContain('>opened T+12.4s<');
    // One row per workflow; each state a segment from entered to exited, named where it fits.
    expect(count(svg, /<text class="row-label"/g)).toBe(1);
    expect(svg).toContain('>broker-recovery</text>');
    expect(count(svg, /<rect class="span span-[ab]"/g)).toBe(4);
    expect(svg).toContain('<title>broker-recovery: Verify Broker Rejoined: 21.6 s</title>');
    expect(svg).toContain('>Verify Broker Rejoined</text>');
    expect(count(svg, /class="mark k-state" data-lane="state"/g)).toBe(8);
  });

  it('is one balanced, self-contained SVG element', () => {
    const svg = renderTimelineSvg(brokerCrashReport());
    expect(svg.startsWith('<svg class="tl" xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(count(svg, /<svg\b/g)).toBe(1);
    expect(count(svg, /<\/svg>/g)).toBe(1);
    expect(count(svg, /<g\b/g)).toBe(count(svg, /<\/g>/g));
    expect(svg).not.toMatch(/href|url\(|@import|<image|<script/);
  });

  it('renders an empty timeline and missing milestones without failing', () => {
    const svg = renderTimelineSvg({
      ...brokerCrashReport(),
      timeline: [],
      actions: [],
      mttdSeconds: null,
      mttrSeconds: null,
      oracleMttrSeconds: null,
      mttrRatio: null,
    });
    expect(count(svg, /<g class="mark /g)).toBe(0);
    expect(count(svg, /<g class="milestone /g)).toBe(0);
    expect(svg).toContain('No timeline entries were recorded.');
    expect(svg).not.toMatch(/NaN|Infinity/);
  });

  it('draws a state that never exited up to the end of the timeline', () => {
    const report = brokerCrashReport();
    report.timeline = report.timeline.filter(
      (t) => !(t.event === 'state:exited' && t.detail === 'broker-recovery: Verify Broker Rejoined'),
    );
    const svg = renderTimelineSvg(report);
    expect(svg).toContain('<title>broker-recovery: Verify Broker Rejoined: 1 min 12 s (never exited)</title>');
  });

  it('escapes every text and attribute, so hostile strings cannot close the SVG or add elements', () => {
    const svg = renderTimelineSvg(hostileReport());
    expect(count(svg, /<\/svg>/g)).toBe(1);
    expect(svg).not.toMatch(/<(script|img|iframe|b)\b/);
    expect(svg).toContain('&lt;/svg&gt;&lt;img src=x onerror=alert(2)&gt;');
    expect(svg).not.toMatch(/data-event="[^"]*"[^ >]/);
  });

  it.each([
    ['fault', 'fault:crash', 'fault'],
    ['workflow', 'workflow:escalated', 'failure'],
    ['approval', 'approval:rejected', 'failure'],
    ['action', 'broker-restarted', 'action'],
    ['classifier', 'incident:opened', 'opened'],
    ['workflow', 'incident:resolved', 'resolved'],
    ['alarm', 'alarm:OK', 'resolved'],
    ['alarm', 'alarm:ALARM', 'alarm'],
    ['approval', 'approval:requested', 'approval'],
    ['state', 'state:entered', 'state'],
    ['probe', 'probe:ok', 'resolved'],
    ['oracle', 'oracle:not-healthy', 'failure'],
    ['oracle', 'oracle:healthy', 'resolved'],
    ['workflow', 'execution:succeeded', 'resolved'],
    ['workflow', 'execution:failed', 'failure'],
    ['approval', 'approval:unanswered', 'failure'],
    ['workload', 'workload:started', 'info'],
  ] as const)('draws %s %s as a %s mark', (source, event, kind) => {
    expect(markKind(source, event)).toBe(kind);
  });

  it('reads incident status changes by their target status', () => {
    expect(markKind('workflow', 'incident:status-changed', 'inc-1: remediating -> resolved: back in ISR')).toBe(
      'resolved',
    );
    expect(markKind('workflow', 'incident:status-changed', 'inc-1: remediating -> escalated: 3 attempts')).toBe(
      'failure',
    );
    expect(markKind('classifier', 'incident:status-changed', 'inc-1: open -> remediating: started')).toBe('info');
    expect(markKind('workflow', 'incident:recovery-started', 'inc-1: -> resolved')).toBe('info');
  });

  it('gives each workflow a row of state segments; loops repeat a state, unnamed states and extra workflows still land', () => {
    const st = (offsetSeconds: number, event: string, detail: string): DrillTimelineEntry => ({
      at: '',
      offsetSeconds,
      source: 'state',
      event,
      detail,
    });
    const rows = stateRows(
      [
        st(1, 'state:entered', 'escalation: Page'),
        st(2, 'state:entered', 'broker-recovery: Poll'),
        st(3, 'state:exited', 'broker-recovery: Poll'),
        st(3, 'state:entered', 'broker-recovery: Poll'),
        st(4, 'state:exited', 'broker-recovery: Poll'),
        st(5, 'state:exited', 'escalation: Page'),
        st(6, 'state:entered', 'No Prefix'),
        st(7, 'state:exited', 'broker-recovery: Never Entered'),
        ...['w3', 'w4', 'w5', 'w6', 'w7'].map((w, i) => st(8 + i, 'state:entered', `${w}: Run`)),
      ],
      20,
    );
    expect(rows.map((r) => r.workflow)).toEqual(['escalation', 'broker-recovery', '', 'w3', 'w4', 'w5']);
    expect(rows[0]?.segments).toEqual([{ from: 1, to: 5, state: 'Page', open: false }]);
    expect(rows[1]?.segments).toEqual([
      { from: 2, to: 3, state: 'Poll', open: false },
      { from: 3, to: 4, state: 'Poll', open: false },
    ]);
    expect(rows[1]?.marks).toHaveLength(5);
    expect(rows[2]?.segments).toEqual([{ from: 6, to: 20, state: 'No Prefix', open: true }]);
    // A seventh workflow shares the last row rather than growing the lane without bound.
    expect(rows[5]?.segments.map((s) => s.from)).toEqual([10, 11, 12]);
    expect(rows.reduce((n, r) => n + r.marks.length, 0)).toBe(13);
  });

  it('picks tick steps that keep the axis to about ten labels', () => {
    expect(tickStep(8)).toBe(1);
    expect(tickStep(120)).toBe(15);
    expect(tickStep(130)).toBe(15);
    expect(tickStep(3000)).toBe(300);
    expect(tickStep(200_000)).toBe(21_600);
  });
});

describe('report.html', () => {
  it('is one self-contained page: no scripts, no external assets, a CSP that forbids loading any', () => {
    const html = renderHtml(brokerCrashReport());
    expect(html.startsWith('<!doctype html>')).toBe(true);
    expect(html).toContain(
      `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">`,
    );
    expect(html).not.toMatch(/<script|<link|<img|<iframe|src=|href=|@import|url\(/);
    expect(count(html, /<svg\b/g)).toBe(1);
  });

  it('leads with the verdict and the figures', () => {
    const html = renderHtml(brokerCrashReport());
    expect(html).toContain('<title>Drill broker-crash: PASSED</title>');
    expect(html).toContain('<header class="verdict pass" id="verdict">');
    expect(html).toContain('<h1>PASSED: drill broker-crash</h1>');
    expect(html).toContain('<div class="k">MTTR</div><div class="v">41.8 s</div>');
    expect(html).toContain('<div class="k">MTTR / oracle</div><div class="v">1.34x</div>');
    expect(html).toContain('<div class="figure"><div class="k">Expectations</div><div class="v">6/6</div></div>');
    expect(count(html, /&#10004; pass/g)).toBe(6);
  });

  it('marks failures in words, not colour alone', () => {
    const html = renderHtml({ ...neverRecoveredReport(), messagesLost: 3 });
    expectToContainAll(html, [
      '<header class="verdict fail" id="verdict">',
      '<h1>FAILED: drill broker-crash</h1>',
      '<div class="figure bad"><div class="k">MTTR</div><div class="v">n/a</div></div>',
      '<div class="figure bad"><div class="k">Messages lost</div><div class="v">3</div></div>',
      '<div class="figure bad"><div class="k">Expectations</div><div class="v">5/6</div></div>',
      '<td><span class="no">&#10008; FAIL</span></td><td>max MTTR</td><td>&lt;= 120 s</td><td>never recovered</td>',
    ]);
  });

  it('folds a long list of timeline entries, keeps a short one open', () => {
    expect(renderHtml(brokerCrashReport())).not.toContain('<details>');
    const report = brokerCrashReport();
    report.timeline = Array.from({ length: 61 }, (_, i) => ({ ...report.timeline[0]!, offsetSeconds: i }));
    const html = renderHtml(report);
    expect(html).toContain('<details><summary>All 61 timeline entries (state by state)</summary>');
    expect(count(html, /<td class="num">T\+\d+s<\/td>/g)).toBe(61);
  });

  it('says so when sections are empty', () => {
    const html = renderHtml({
      ...brokerCrashReport(),
      timeline: [],
      actions: [],
      incidents: [],
      expectations: [],
      notes: [],
    });
    expectToContainAll(
      html,
      [
        'The timeline is empty.',
        'No action was taken.',
        'No incident was opened.',
        'No expectations were declared.',
      ].map((t) => `<p class="empty">${t}</p>`),
    );
  });

  it('escapes every hostile string', () => {
    const html = renderHtml(hostileReport());
    expect(html).not.toMatch(/<(script|img|iframe|b)\b/);
    expect(count(html, /<\/svg>/g)).toBe(1);
    expect(html).toContain(escapeHtml(HOSTILE.script));
    expect(html).toContain(escapeHtml(HOSTILE.quote));
    expect(html).toContain('<title>Drill crash &lt;script&gt;alert(1)&lt;/script&gt;: FAILED</title>');
  });
});

describe('writeReports', () => {
  it('writes the four files and returns their paths', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'kh-reports-'));
    try {
      const report = brokerCrashReport();
      const paths = await writeReports(report, join(dir, 'nested', 'broker-crash'));
      expect(Object.values(paths).map((p) => p.slice(dir.length))).toEqual([
        '/nested/broker-crash/report.json',
        '/nested/broker-crash/report.md',
        '/nested/broker-crash/postmortem.md',
        '/nested/broker-crash/report.html',
      ]);
      expect(await readFile(paths.json, 'utf8')).toBe(renderJson(report));
      expect(await readFile(paths.markdown, 'utf8')).toMatch(/^# Drill broker-crash: PASSED\n/);
      expect(await readFile(paths.postmortem, 'utf8')).toMatch(/^# Post-mortem: drill broker-crash/);
      expect(await readFile(paths.html, 'utf8')).toBe(renderHtml(report));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
