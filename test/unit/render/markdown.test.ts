import { describe, expect, it } from 'vitest';
import { renderJson, renderMarkdown, toStableJson } from '#local/drill/render/index.js';
import {
  brokenTableRows,
  brokerCrashReport,
  expectToContainAll,
  HOSTILE,
  hostileReport,
  neverRecoveredReport,
} from './fixture.js';

/** Lines that Markdown reads as headings. */
const headings = (md: string) => md.split('\n').filter((l) => /^#{1,6}\s/.test(l));

describe('report.json', () => {
  it('puts the stable interface keys first, in the documented order', () => {
    const keys = Object.keys(toStableJson(brokerCrashReport()));
    expect(keys.slice(0, 11)).toEqual([
      'scenario',
      'passed',
      'mttdSeconds',
      'mttrSeconds',
      'oracleMttrSeconds',
      'mttrRatio',
      'messagesProduced',
      'messagesConsumed',
      'messagesLost',
      'actions',
      'timeline',
    ]);
  });

  it('orders keys the same whatever order the report object was built in', () => {
    const report = brokerCrashReport();
    const shuffled = Object.fromEntries(Object.entries(report).reverse()) as typeof report;
    shuffled.timeline = report.timeline.map((t) => Object.fromEntries(Object.entries(t).reverse()) as typeof t);
    shuffled.cluster = Object.fromEntries(Object.entries(report.cluster).reverse()) as typeof report.cluster;
    expect(renderJson(shuffled)).toBe(renderJson(report));
    const parsed = JSON.parse(renderJson(report)) as Record<string, unknown>;
    expect(Object.keys((parsed.timeline as object[])[2] as object)).toEqual([
      'at',
      'offsetSeconds',
      'source',
      'event',
      'detail',
    ]);
    expect(Object.keys(parsed.cluster as object)).toEqual(['name', 'mode', 'brokers', 'kafkaVersion']);
  });

  it('round-trips the report, keeps nulls, and keeps keys a newer runner adds (after the known ones)', () => {
    const report = { ...brokerCrashReport(), mttrSeconds: null, mttrRatio: null, zExtra: 1, aExtra: 2 };
    const text = renderJson(report);
    expect(text.endsWith('}\n')).toBe(true);
    const parsed = JSON.parse(text) as Record<string, unknown>;
    expect(parsed).toEqual(report);
    expect(parsed.mttrSeconds).toBeNull();
    expect(Object.keys(parsed).slice(-2)).toEqual(['aExtra', 'zExtra']);
  });
});

describe('report.md', () => {
  it('leads with the verdict and the figures', () => {
    const md = renderMarkdown(brokerCrashReport());
    expect(md.split('\n')[0]).toBe('# Drill broker-crash: PASSED');
    expectToContainAll(md, [
      '| MTTD (fault to incident opened) | 12.4 s |',
      '| MTTR (fault to healthy) | 41.8 s |',
      '| Oracle MTTR (manual restart) | 31.2 s |',
      '| MTTR / oracle | 1.34x |',
      '| Messages lost | 0 |',
      '## Expectations (6 passed, 0 failed)',
      '| pass | max MTTR | <= 120 s | 41.8 s |',
      '| T+19.2s | broker-recovery | broker-restarted | broker 2 | Success | no |',
      '| T+0s | 2026-11-22T03:00:00.000Z | fault | fault:crash | broker 2 |',
    ]);
    expect(headings(md)).toEqual([
      '# Drill broker-crash: PASSED',
      '## Expectations (6 passed, 0 failed)',
      '## Incidents',
      '## Actions',
      '## Timeline',
      '## Notes',
    ]);
  });

  it('lists the timeline in time order even when the runner appended out of order', () => {
    const report = brokerCrashReport();
    report.timeline.reverse();
    const md = renderMarkdown(report);
    expect(md.indexOf('| T-25s |')).toBeLessThan(md.indexOf('| T+0s |'));
    expect(md.indexOf('| T+0s |')).toBeLessThan(md.indexOf('| T+91.2s |'));
  });

  it('shows failures, null MTTR and empty sections plainly', () => {
    const report = {
      ...neverRecoveredReport(),
      oracleMttrSeconds: null,
      timeline: [],
      actions: [],
      incidents: [],
      notes: [],
    };
    const md = renderMarkdown(report);
    expect(md.split('\n')[0]).toBe('# Drill broker-crash: FAILED');
    expectToContainAll(md, [
      '| MTTR (fault to healthy) | n/a |',
      '| MTTR / oracle | n/a |',
      '## Expectations (5 passed, 1 failed)',
      '| FAIL | max MTTR | <= 120 s | never recovered |',
      '_The timeline is empty._',
      '_No action was taken._',
      '_No incident was opened._',
      '- None.',
    ]);
  });

  it('shows RPO and RTO only for the drills that measure them', () => {
    expect(renderMarkdown(brokerCrashReport())).not.toContain('RPO');
    const md = renderMarkdown({ ...brokerCrashReport(), rpoSeconds: 3.2, rtoSeconds: 75 });
    expect(md).toContain('| RPO (replication lag lost) | 3.2 s |');
    expect(md).toContain('| RTO (fault to DR serving) | 1 min 15 s |');
  });

  it('escapes hostile text: no raw HTML, no extra headings, no broken table rows', () => {
    const md = renderMarkdown(hostileReport());
    expect(md).not.toMatch(/(?<!\\)<(script|\/script|\/svg|img|iframe|b>)/);
    expect(md).toContain('crash \\<script>alert(1)\\</script>');
    expect(headings(md)).toEqual([
      '# Drill crash \\<script>alert(1)\\</script>: FAILED',
      '## Expectations (0 passed, 1 failed)',
      '## Incidents',
      '## Actions',
      '## Timeline',
      '## Notes',
    ]);
    expect(brokenTableRows(md)).toEqual([]);
    expect(md).toContain('| FAIL | a \\| b \\|\\| c |');
    expect(md).not.toContain(HOSTILE.newline);
  });

  it('is deterministic', () => {
    expect(renderMarkdown(brokerCrashReport())).toBe(renderMarkdown(brokerCrashReport()));
  });
});
