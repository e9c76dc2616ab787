// A drill report shaped like a real broker-crash run as the drill runner assembles it (3-node KRaft
// cluster, broker 2 killed, broker-recovery restarts it; incident timeline entries become
// `incident:<action>` events and actions), for the renderer tests and the Chromium page test.
import { expect } from 'vitest';
import type { DrillAction, DrillReport, DrillSource, DrillTimelineEntry } from '#local/drill/report-types.js';

const T0 = Date.parse('2026-11-22T03:00:00.000Z');
const at = (offset: number) => new Date(T0 + offset * 1000).toISOString();
const entry = (offsetSeconds: number, source: DrillSource, event: string, detail?: string): DrillTimelineEntry => ({
  at: at(offsetSeconds),
  offsetSeconds,
  source,
  event,
  ...(detail !== undefined ? { detail } : {}),
});

const INCIDENT = 'inc-drill-broker-crash-broker-failure-2';
const action = (offsetSeconds: number, actor: string, name: string, result?: string): DrillAction => ({
  at: at(offsetSeconds),
  offsetSeconds,
  actor,
  action: name,
  target: 'broker 2',
  ...(result !== undefined ? { result } : {}),
});

export function brokerCrashReport(): DrillReport {
  return {
    scenario: 'broker-crash',
    description: 'One broker is killed (SIGKILL) under load; broker-recovery restarts it through the SSM documents.',
    passed: true,
    startedAt: at(-20),
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
        id: INCIDENT,
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
      action(12.4, 'classifier', 'incident-opened', 'remediate'),
      action(12.6, 'classifier', 'lock-acquired'),
      action(
        14.1,
        'classifier',
        'workflow-started',
        'arn:aws:states:local:000000000000:execution:broker-recovery:inc-1',
      ),
      action(14.2, 'classifier', 'status-changed'),
      action(14.4, 'broker-recovery', 'recovery-started'),
      action(17.5, 'broker-recovery', 'host-diagnosed', 'restart'),
      action(19.2, 'broker-recovery', 'broker-restarted', 'Success'),
      action(41.8, 'broker-recovery', 'status-changed'),
      action(42.1, 'broker-recovery', 'lock-released', 'true'),
    ],
    timeline: [
      entry(0, 'fault', 'fault:crash', 'broker 2'),
      entry(
        6.2,
        'alarm',
        'alarm:ALARM',
        'drill-broker-crash-broker-2-down (broker-down broker 2) 2 of 2 datapoints breached',
      ),
      entry(
        12.4,
        'classifier',
        'incident:incident-opened',
        `${INCIDENT}: cloudwatch signal drill-broker-crash-broker-2-down; result: remediate`,
      ),
      entry(12.6, 'classifier', 'incident:lock-acquired', `${INCIDENT}: remediation lock for drill-broker-crash`),
      entry(14.0, 'workflow', 'execution:started', `broker-recovery ${INCIDENT}`),
      entry(14.1, 'classifier', 'incident:workflow-started', `${INCIDENT}: broker-recovery execution ${INCIDENT}`),
      entry(14.2, 'classifier', 'incident:status-changed', `${INCIDENT}: open -> remediating: broker-recovery started`),
      entry(14.3, 'state', 'state:entered', 'broker-recovery: Confirm Broker Down'),
      entry(
        14.4,
        'workflow',
        'incident:recovery-started',
        `${INCIDENT}: broker-recovery for broker 2 of drill-broker-crash`,
      ),
      entry(15.9, 'state', 'state:exited', 'broker-recovery: Confirm Broker Down'),
      entry(16.0, 'state', 'state:entered', 'broker-recovery: Diagnose Host'),
      entry(17.5, 'state', 'state:exited', 'broker-recovery: Diagnose Host'),
      entry(17.5, 'workflow', 'incident:host-diagnosed', `${INCIDENT}: kafka.service failed; result: restart`),
      entry(17.6, 'state', 'state:entered', 'broker-recovery: Restart Broker'),
      entry(19.2, 'state', 'state:exited', 'broker-recovery: Restart Broker'),
      entry(
        19.2,
        'workflow',
        'incident:broker-restarted',
        `${INCIDENT}: kafka.service on drill-host-2; result: Success`,
      ),
      entry(19.3, 'state', 'state:entered', 'broker-recovery: Verify Broker Rejoined'),
      entry(40.9, 'state', 'state:exited', 'broker-recovery: Verify Broker Rejoined'),
      entry(
        41.8,
        'workflow',
        'incident:status-changed',
        `${INCIDENT}: remediating -> resolved: broker 2 back in ISR for all partitions`,
      ),
      entry(42.0, 'alarm', 'alarm:OK', 'drill-broker-crash-broker-2-down (broker-down broker 2) recovered'),
      entry(
        42.1,
        'workflow',
        'incident:lock-released',
        `${INCIDENT}: remediation lock for drill-broker-crash released; result: true`,
      ),
      entry(42.3, 'workflow', 'execution:succeeded', 'broker-recovery after 28.3 s'),
      entry(91.2, 'oracle', 'oracle:healthy', 'manual restart: healthy 31.2 s after the fault'),
    ],
    expectations: [
      { name: 'incident type', expected: 'broker-failure', actual: 'broker-failure', passed: true },
      { name: 'severity', expected: 'SEV-2', actual: 'SEV-2', passed: true },
      { name: 'action taken: broker-restarted', expected: 'taken', actual: 'taken', passed: true },
      { name: 'max MTTR', expected: '<= 120 s', actual: '41.8 s', passed: true },
      { name: 'no data loss', expected: '0 acknowledged messages lost', actual: '0 lost of 18240', passed: true },
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
  r.timeline = r.timeline.map((t, i) => ({
    ...t,
    event: i % 2 ? HOSTILE.svgClose : t.event,
    detail: `${t.detail ?? ''} ${all}`,
  }));
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
