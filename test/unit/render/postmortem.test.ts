import { describe, expect, it } from 'vitest';
import type { IncidentWithTimeline, TimelineEntry } from '#tools/incident-store.js';
import {
  POSTMORTEM_SECTIONS,
  postmortemDraftFromIncident,
  postmortemFromIncident,
  renderPostmortem,
} from '#tools/postmortem.js';
import { drillPostmortemDraft, renderDrillPostmortem } from '#local/drill/render/index.js';
import { brokenTableRows, brokerCrashReport, expectToContainAll, HOSTILE, hostileReport } from './fixture.js';

const headings = (md: string) => md.split('\n').filter((l) => /^#{1,6}\s/.test(l));
const section = (md: string, name: string) => {
  const start = md.indexOf(`## ${name}\n`);
  const next = md.indexOf('\n## ', start + 4);
  return md.slice(start, next === -1 ? undefined : next);
};

/** Asserts each named section of the draft contains the given lines. */
function expectSections(md: string, want: Partial<Record<(typeof POSTMORTEM_SECTIONS)[number], string[]>>): void {
  for (const [name, parts] of Object.entries(want)) expectToContainAll(section(md, name), parts);
}

function incident(overrides: Partial<IncidentWithTimeline> = {}): IncidentWithTimeline {
  const timeline: TimelineEntry[] = [
    {
      at: '2026-11-22T03:00:12.000Z',
      actor: 'classifier',
      action: 'incident-opened',
      detail: 'cloudwatch signal KafkaBrokerDown (broker-down, brokers 2)',
      result: 'remediate',
      reasons: ['1 of 3 brokers down: standard recovery'],
    },
    {
      at: '2026-11-22T03:00:12.500Z',
      actor: 'classifier',
      action: 'lock-acquired',
      detail: 'remediation lock for prod-a until 2026-11-22T04:00:12.000Z',
    },
    {
      at: '2026-11-22T03:00:13.000Z',
      actor: 'classifier',
      action: 'workflow-started',
      detail: 'broker-recovery execution inc-1',
      result: 'arn:aws:states:eu-west-1:123456789012:execution:broker-recovery:inc-1',
    },
    {
      at: '2026-11-22T03:00:13.100Z',
      actor: 'classifier',
      action: 'status-changed',
      detail: 'open -> remediating: broker-recovery started',
    },
    {
      at: '2026-11-22T03:00:14.000Z',
      actor: 'workflow:broker-recovery',
      action: 'recovery-started',
      detail: 'broker-recovery for broker 2 of prod-a on instance i-0abc',
    },
    {
      at: '2026-11-22T03:00:17.000Z',
      actor: 'workflow:broker-recovery',
      action: 'host-diagnosed',
      detail: 'kafka.service failed; disk 41%',
      result: 'restart',
      reasons: ['the service is down and the disk is fine'],
    },
    {
      at: '2026-11-22T03:00:19.000Z',
      actor: 'workflow:broker-recovery',
      action: 'broker-restarted',
      detail: 'kafka.service on i-0abc',
      result: 'Success',
    },
    {
      at: '2026-11-22T03:00:42.000Z',
      actor: 'workflow:broker-recovery',
      action: 'status-changed',
      detail: 'remediating -> resolved: broker 2 back in ISR',
    },
    {
      at: '2026-11-22T03:00:42.500Z',
      actor: 'workflow:broker-recovery',
      action: 'lock-released',
      detail: 'remediation lock for prod-a released',
      result: 'true',
    },
  ];
  return {
    id: 'inc-1',
    cluster: 'prod-a',
    type: 'broker-failure',
    severity: 'SEV-2',
    status: 'resolved',
    brokers: [{ id: 2, firstSeenAt: '2026-11-22T03:00:00.000Z' }],
    openedAt: '2026-11-22T03:00:12.000Z',
    fingerprints: ['KafkaBrokerDown'],
    signalCount: 3,
    detectedAt: '2026-11-22T03:00:00.000Z',
    lastSignalAt: '2026-11-22T03:00:30.000Z',
    resolvedAt: '2026-11-22T03:00:42.000Z',
    executionArn: 'arn:aws:states:eu-west-1:123456789012:execution:broker-recovery:inc-1',
    mttdSeconds: 12,
    mttrSeconds: 42,
    version: 5,
    timeline,
    ...overrides,
  };
}

describe('postmortemFromIncident', () => {
  it('fills the seed template in order', () => {
    const md = postmortemFromIncident(incident());
    expect(headings(md)).toEqual([
      '# Post-mortem: broker-failure on prod-a (inc-1)',
      ...POSTMORTEM_SECTIONS.map((s) => `## ${s}`),
    ]);
    expectSections(md, {
      Summary: [
        '| MTTR | 42 s |',
        '| Workflow | broker-recovery |',
        'SEV-2 broker-failure on cluster prod-a (broker 2), detected at 2026-11-22T03:00:00.000Z from 3 signals. The classifier started broker-recovery. It was resolved 42 s after detection.',
      ],
      Timeline: [
        '| 2026-11-22T03:00:19.000Z | T+19s | workflow:broker-recovery | broker-restarted | kafka.service on i-0abc \\| result: Success |',
      ],
      'Root cause': [
        '_To fill:',
        '- host-diagnosed: kafka.service failed; disk 41% \\| result: restart \\| reasons: the service is down and the disk is fine',
      ],
      Resolution: [
        '- workflow:broker-recovery broker-restarted: kafka.service on i-0abc (Success)',
        '- Resolved by workflow:broker-recovery at 2026-11-22T03:00:42.000Z: remediating -> resolved: broker 2 back in ISR',
      ],
      'What went well': [
        '- Automation resolved the incident without paging anyone.',
        '- 3 signals were correlated into this one incident.',
      ],
    });
    expect(section(md, 'Resolution')).not.toContain('lock-released');
    expect(section(md, 'Action items')).toMatch(/^- \[ \] Fill in the root cause/m);
    expect(brokenTableRows(md)).toEqual([]);
  });

  it('names who acknowledged and who resolved it, from where, and MTTA', () => {
    const md = postmortemFromIncident(
      incident({
        acknowledgedAt: '2026-11-22T03:00:30.000Z',
        acknowledgedBy: 'pagerduty:Ada',
        acknowledgedVia: 'pagerduty',
        mttaSeconds: 20,
        mttaFrom: 'page',
        resolvedBy: 'operator:bob',
        resolvedVia: 'cli',
      }),
    );
    expectSections(md, {
      Summary: [
        '| Acknowledged | 2026-11-22T03:00:30.000Z by pagerduty:Ada (pagerduty) |',
        '| Resolved | 2026-11-22T03:00:42.000Z by operator:bob (cli) |',
        '| MTTA | 20 s from the first page |',
      ],
    });
    expect(section(md, 'What went well')).not.toContain('without paging');
    const plain = postmortemFromIncident(incident());
    expectSections(plain, {
      Summary: ['| Acknowledged | not acknowledged |', '| MTTA | n/a |', '| Resolved | 2026-11-22T03:00:42.000Z |'],
    });
    const auto = postmortemFromIncident(
      incident({
        status: 'resolved',
        resolvedBy: 'auto-resolve',
        resolvedVia: 'auto-resolve',
        mttaSeconds: 300,
        mttaFrom: 'detection',
      }),
    );
    expectSections(auto, {
      Summary: [
        '| Resolved | 2026-11-22T03:00:42.000Z by auto-resolve (auto-resolve) |',
        '| MTTA | 5 min from detection |',
      ],
      'What went well': [
        '- The fault cleared without the healer; auto-resolve closed the incident once its alarms and the cluster stayed healthy for the quiet period.',
      ],
    });
    expect(section(auto, 'What went well')).not.toContain('without paging');
  });

  it('is deterministic and orders the timeline by time, stored order for ties', () => {
    const base = incident();
    const shuffled = incident({ timeline: [...base.timeline].reverse() });
    expect(postmortemFromIncident(shuffled)).toBe(postmortemFromIncident(base));
    const tie = incident({
      timeline: [
        { at: '2026-11-22T03:00:05.000Z', actor: 'a', action: 'first' },
        { at: '2026-11-22T03:00:05.000Z', actor: 'a', action: 'second' },
      ],
    });
    const md = postmortemFromIncident(tie);
    expect(md.indexOf('| first |')).toBeLessThan(md.indexOf('| second |'));
  });

  it('says what to improve when automation escalated, and what is still open', () => {
    const escalated = incident({
      status: 'escalated',
      resolvedAt: undefined,
      mttrSeconds: undefined,
      timeline: [
        ...incident().timeline.slice(0, 6),
        {
          at: '2026-11-22T03:02:00.000Z',
          actor: 'workflow:broker-recovery',
          action: 'status-changed',
          detail: 'remediating -> escalated: the broker did not rejoin after 3 attempts',
        },
      ],
    });
    const md = postmortemFromIncident(escalated);
    expect(section(md, 'Summary')).toContain('Automation stopped and escalated it to people.');
    expect(section(md, 'Summary')).toContain('| MTTR | n/a |');
    expect(section(md, 'Impact')).toContain('Not resolved when this draft was generated');
    expect(section(md, 'What to improve')).toContain(
      '- Automation could not finish: remediating -> escalated: the broker did not rejoin after 3 attempts.',
    );
    expect(section(md, 'Action items')).toContain('- [ ] Find out why automation could not heal this');
    expect(section(md, 'Action items')).toContain('- [ ] Check why nobody acknowledged the page.');
    expect(section(md, 'What went well')).not.toContain('without paging');
  });

  it('recognises a false alarm and a dry run', () => {
    const md = postmortemFromIncident(
      incident({
        signalCount: 1,
        timeline: [
          {
            at: '2026-11-22T03:00:13.000Z',
            actor: 'classifier',
            action: 'workflow-started',
            detail: 'broker-recovery execution inc-1',
          },
          {
            at: '2026-11-22T03:00:16.000Z',
            actor: 'workflow:broker-recovery',
            action: 'planned-action',
            detail: 'restart kafka.service on i-0abc',
          },
          {
            at: '2026-11-22T03:00:20.000Z',
            actor: 'workflow:broker-recovery',
            action: 'status-changed',
            detail: 'remediating -> resolved: false alarm: cluster healthy on re-probe',
          },
        ],
      }),
    );
    expect(section(md, 'Summary')).toContain('resolved as a false alarm');
    expect(section(md, 'Summary')).toContain('from 1 signal.');
    expect(section(md, 'Resolution')).toContain(
      '- workflow:broker-recovery planned (dry run): restart kafka.service on i-0abc',
    );
    expect(section(md, 'What went well')).toContain('changed nothing on a healthy cluster');
    expect(section(md, 'What to improve')).toContain('review its threshold');
    expect(section(md, 'Action items')).toContain('Tune or replace the alarm');
  });

  it('handles an open incident with an empty timeline', () => {
    const md = postmortemFromIncident(
      incident({
        status: 'open',
        brokers: [],
        timeline: [],
        resolvedAt: undefined,
        mttdSeconds: undefined,
        mttrSeconds: undefined,
        executionArn: undefined,
      }),
    );
    expect(section(md, 'Timeline')).toContain('_No timeline entries were recorded._');
    expect(section(md, 'Summary')).toContain('(no specific broker)');
    expect(section(md, 'Summary')).toContain(
      'No recovery workflow was started. It was still open when this draft was generated.',
    );
    expect(section(md, 'Summary')).toContain('| MTTD | 12 s |');
    expect(section(md, 'Resolution')).toContain('- None recorded.');
    expect(section(md, 'What to improve')).toContain('- To fill.');
    expect(headings(md)).toHaveLength(POSTMORTEM_SECTIONS.length + 1);
  });

  it('escapes hostile text from alarms and hosts', () => {
    const hostile = incident({
      cluster: HOSTILE.pipes,
      timeline: [
        {
          at: '2026-11-22T03:00:17.000Z',
          actor: HOSTILE.script,
          action: 'host-diagnosed',
          detail: HOSTILE.newline,
          reasons: [HOSTILE.markdown],
        },
        { at: '2026-11-22T03:00:18.000Z', actor: 'workflow:x', action: 'broker-restarted', detail: HOSTILE.svgClose },
      ],
    });
    const md = postmortemFromIncident(hostile);
    expect(md).not.toMatch(/(?<!\\)<(script|\/script|\/svg|img|b>)/);
    expect(headings(md)).toHaveLength(POSTMORTEM_SECTIONS.length + 1);
    expect(brokenTableRows(md)).toEqual([]);
    expect(md).toContain('# Post-mortem: broker-failure on a \\| b \\|\\| c (inc-1)');
  });

  it('exposes the draft for other renderers', () => {
    const draft = postmortemDraftFromIncident(incident());
    expect(draft.timeline).toHaveLength(9);
    expect(draft.timeline[0]).toMatchObject({ offsetSeconds: 12, who: 'classifier', what: 'incident-opened' });
    expect(renderPostmortem(draft)).toBe(postmortemFromIncident(incident()));
  });
});

describe('drill postmortem.md', () => {
  it('uses the same seed template, filled from the drill', () => {
    const md = renderDrillPostmortem(brokerCrashReport());
    // State transitions stay in report.md and report.html; the summary says where they are.
    expect(section(md, 'Timeline')).not.toContain('state:entered');
    expect(section(md, 'Summary')).toContain(
      'The 8 workflow state transitions are in report.md and report.html, not in the timeline below.',
    );
    // Record keeping (opening, locks, status changes, findings) is in the timeline, not under Resolution.
    expect(section(md, 'Resolution')).not.toMatch(/lock-acquired|status-changed|incident-opened|host-diagnosed/);
    expect(headings(md)).toEqual([
      '# Post-mortem: drill broker-crash on drill-broker-crash',
      ...POSTMORTEM_SECTIONS.map((s) => `## ${s}`),
    ]);
    expectSections(md, {
      Summary: [
        'Faults injected: fault:crash (broker 2).',
        'opened 12.4 s after the fault and ended resolved.',
        "healthy again 41.8 s after the fault (1.34x the oracle's 31.2 s)",
      ],
      Timeline: ['| 2026-11-22T03:00:00.000Z | T+0s | fault | fault:crash | broker 2 |'],
      Impact: ['- 18240 acknowledged messages produced, 18240 read back, 0 lost.'],
      'Root cause': ['- Injected fault:crash: broker 2 at 2026-11-22T03:00:00.000Z'],
      Resolution: [
        '- classifier: workflow-started broker 2: arn:aws:states:local:000000000000:execution:broker-recovery:inc-1',
        '- broker-recovery: broker-restarted broker 2: Success',
      ],
      'What went well': ['- MTTR within 1.5x the oracle (1.34x).'],
      'What to improve': ['- To fill.'],
      'Action items': ['- [ ] Keep broker-crash in CI'],
    });
  });

  it('turns failed expectations, slow recovery and data loss into improvements and action items', () => {
    const report = { ...brokerCrashReport(), passed: false, mttrSeconds: 80, mttrRatio: 80 / 31.2, messagesLost: 7 };
    report.expectations = [
      ...report.expectations.slice(0, 3),
      { name: 'no data loss', expected: '0 lost', actual: '7 lost', passed: false },
    ];
    const draft = drillPostmortemDraft(report);
    expect(draft.toImprove).toEqual([
      'no data loss: expected 0 lost, got 7 lost.',
      'MTTR is 2.56x the oracle (target 1.5x).',
      '7 acknowledged messages were lost.',
    ]);
    expect(draft.actionItems[0]).toBe('Make "no data loss" hold: expected 0 lost, got 7 lost.');
    expect(draft.wentWell).not.toContain('No acknowledged message was lost.');
  });

  it('handles a drill where nothing opened and nothing recovered', () => {
    const report = {
      ...brokerCrashReport(),
      passed: false,
      mttdSeconds: null,
      mttrSeconds: null,
      oracleMttrSeconds: null,
      mttrRatio: null,
      incidents: [],
      actions: [],
      timeline: [],
      notes: [],
    };
    const md = renderDrillPostmortem(report);
    expect(section(md, 'Summary')).toContain(
      'No fault was injected. No incident was opened. The cluster did not recover during the drill.',
    );
    expect(section(md, 'Timeline')).toContain('_No timeline entries were recorded._');
    expect(section(md, 'Impact')).toContain('stayed unhealthy');
  });

  it('escapes hostile drill text', () => {
    const md = renderDrillPostmortem(hostileReport());
    expect(md).not.toMatch(/(?<!\\)<(script|\/script|\/svg|img|iframe|b>)/);
    expect(headings(md)).toHaveLength(POSTMORTEM_SECTIONS.length + 1);
    expect(brokenTableRows(md)).toEqual([]);
  });
});
