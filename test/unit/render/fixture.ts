// A drill report shaped like a real broker-crash run (3-node KRaft cluster, broker 2 killed,
// broker-recovery restarts it), for the renderer tests and the Chromium page test.
import { expect } from 'vitest';
import type { DrillReport, DrillSource, DrillTimelineEntry } from '../../../local/drill/report-types.js';

const T0 = Date.parse('2026-11-22T03:00:00.000Z');
const at = (offset: number) => new Date(T0 + offset * 1000).toISOString();
const entry = (offsetSeconds: number, source: DrillSource, event: string, detail?: string): DrillTimelineEntry => ({
  at: at(offsetSeconds),
  offsetSeconds,
  source,
  event,
  ...(detail !== undefined ? { detail } : {}),
});

export function brokerCrashReport(): DrillReport {
  return {
    scenario: 'broker-crash',
    description: 'One broker is killed (SIGKILL) under load; broker-recovery restarts it through the SSM documents.',
    passed: true,
    startedAt: at(-25),
    finishedAt: at(95),
    cluster: { name: 'drill-broker-crash', mode: 'kraft', brokers: 3, kafkaVersion: '4.1.0' },
    mttdSeconds: 12.4,
    mttrSeconds: 41.8,
    oracleMttrSeconds: 31.2,
    mttrRatio: 41.8 / 31.2,
    messagesProduced: 18240,
    messagesConsumed: 18240,
    messagesLost: 0,
    incidents: [
      {
        id: 'inc-drill-broker-crash-broker-failure-2',
        type: 'broker-failure',
        severity: 'SEV-2',
        status: 'resolved',
        workflow: 'broker-recovery',
        executionStatus: 'SUCCEEDED',
        openedAt: at(12.4),
        resolvedAt: at(41.8),
      },
    ],
    actions: [
      { at: at(14.1), offsetSeconds: 14.1, actor: 'classifier', action: 'workflow-started', target: 'broker-recovery' },
      { at: at(17.5), offsetSeconds: 17.5, actor: 'broker-recovery', action: 'host-diagnosed', target: 'broker 2', result: 'restart' },
      { at: at(19.2), offsetSeconds: 19.2, actor: 'broker-recovery', action: 'broker-restarted', target: 'broker 2', result: 'Success' },
    ],
    timeline: [
      entry(-25, 'drill', 'drill:started', 'cluster drill-broker-crash up, 3 brokers'),
      entry(-20, 'workload', 'workload:started', 'producer 200 msg/s acks=all, 1 consumer group'),
      entry(0, 'fault', 'fault:crash', 'broker 2 SIGKILL'),
      entry(6.2, 'probe', 'probe:broker-down', 'broker 2 unreachable'),
      entry(11.9, 'alarm', 'alarm:ALARM', 'KafkaBrokerDown broker 2 (2 of 2 datapoints)'),
      entry(12.4, 'classifier', 'incident:opened', 'broker-failure SEV-2, remediate with broker-recovery'),
      entry(14.1, 'workflow', 'workflow:started', 'broker-recovery'),
      entry(14.3, 'state', 'state:entered', 'Confirm Broker Down'),
      entry(15.9, 'state', 'state:exited', 'Confirm Broker Down'),
      entry(16.0, 'state', 'state:entered', 'Diagnose Host'),
      entry(17.5, 'state', 'state:exited', 'Diagnose Host'),
      entry(17.6, 'state', 'state:entered', 'Restart Broker'),
      entry(19.2, 'state', 'state:exited', 'Restart Broker'),
      entry(19.3, 'state', 'state:entered', 'Verify Broker Rejoined'),
      entry(40.9, 'state', 'state:exited', 'Verify Broker Rejoined'),
      entry(41.8, 'workflow', 'incident:resolved', 'broker 2 back in ISR for all partitions'),
      entry(42.0, 'alarm', 'alarm:OK', 'KafkaBrokerDown broker 2'),
      entry(60.0, 'oracle', 'oracle:crash', 'broker 2 killed again and restarted by hand at once'),
      entry(91.2, 'oracle', 'oracle:healthy', 'broker 2 back in ISR after 31.2 s'),
    ],
    expectations: [
      { name: 'incident type', expected: 'broker-failure', actual: 'broker-failure', passed: true },
      { name: 'severity', expected: 'SEV-2', actual: 'SEV-2', passed: true },
      { name: 'action taken: broker-restarted', expected: 'yes', actual: 'yes', passed: true },
      { name: 'max MTTR', expected: '<= 120 s', actual: '41.8 s', passed: true },
      { name: 'no data loss', expected: '0 lost', actual: '0 lost', passed: true },
      { name: 'final health', expected: 'healthy', actual: 'healthy', passed: true },
    ],
    notes: ['Alarm period shortened to 5 s locally (60 s in AWS), same 2 of 2 datapoints.'],
  };
}

/** Strings that break naive HTML, SVG or Markdown rendering. */
export const HOSTILE = {
  script: '<script>alert(1)</script>',
  svgClose: '</svg><img src=x onerror=alert(2)>',
  pipes: 'a | b || c',
  markdown: '# heading *bold* _it_ [link](http://x) `code` ~~s~~ <b>raw</b> &amp; $x$',
  quote: `"'><iframe>`,
  newline: 'line one\n## line two\r\n| not a row |',
};

/** The broker-crash report with hostile text in every free-text field. */
export function hostileReport(): DrillReport {
  const r = brokerCrashReport();
  const all = Object.values(HOSTILE).join(' ');
  r.scenario = `crash ${HOSTILE.script}`;
  r.description = `${HOSTILE.markdown} ${HOSTILE.newline}`;
  r.passed = false;
  r.cluster.name = HOSTILE.svgClose;
  r.timeline = r.timeline.map((t, i) => ({ ...t, event: i % 2 ? HOSTILE.svgClose : t.event, detail: `${t.detail ?? ''} ${all}` }));
  r.actions = r.actions.map((a) => ({ ...a, action: HOSTILE.script, target: HOSTILE.pipes, result: HOSTILE.quote }));
  r.incidents = r.incidents.map((i) => ({ ...i, id: HOSTILE.pipes, type: HOSTILE.script }));
  r.expectations = [{ name: HOSTILE.pipes, expected: HOSTILE.markdown, actual: HOSTILE.newline, passed: false }];
  r.notes = [all];
  return r;
}

/** Pipes that would split a Markdown table cell: those not preceded by a backslash. */
export const unescapedPipes = (line: string): number => (line.match(/(?<!\\)\|/g) ?? []).length;

/** Table rows of a Markdown document whose column count differs from their table's header. */
export function brokenTableRows(markdown: string): string[] {
  const broken: string[] = [];
  let columns = 0;
  for (const line of markdown.split('\n')) {
    if (!line.startsWith('|')) {
      columns = 0;
      continue;
    }
    if (columns === 0) columns = unescapedPipes(line);
    else if (unescapedPipes(line) !== columns) broken.push(line);
  }
  return broken;
}

/** The broker-crash report as if the broker never came back: failed, no MTTR, the MTTR expectation failed. */
export function neverRecoveredReport(): DrillReport {
  const report: DrillReport = { ...brokerCrashReport(), passed: false, mttrSeconds: null, mttrRatio: null };
  report.expectations[3] = { name: 'max MTTR', expected: '<= 120 s', actual: 'never recovered', passed: false };
  return report;
}

/** Asserts that `text` contains every one of `parts`. */
export function expectToContainAll(text: string, parts: readonly string[]): void {
  for (const part of parts) expect(text).toContain(part);
}
