// Report assembly: MTTD/MTTR from the incident and the health measure, the oracle ratio, actions
// from the incident timeline, expectation checks on both sides of each edge.
import { AUTO_RESOLVE_ACTOR } from '#functions/lifecycle/auto-resolve.js';
import { describe, expect, it } from 'vitest';
import type { IncidentWithTimeline } from '#tools/incident-store.js';
import {
  AUTO_RESOLVE,
  assembleReport,
  offlineReadings,
  primaryIncident,
  type DrillObservations,
} from '#local/drill/report.js';
import { validateScenario } from '#local/drill/scenario.js';

const FAULT = Date.parse('2026-11-22T05:00:00.000Z');
const at = (s: number) => new Date(FAULT + s * 1000).toISOString();

function incident(
  over: Partial<IncidentWithTimeline> & Pick<IncidentWithTimeline, 'id' | 'type'>,
): IncidentWithTimeline {
  return {
    cluster: 'c',
    severity: 'SEV-2',
    status: 'resolved',
    brokers: [{ id: 2, firstSeenAt: at(1) }],
    openedAt: at(4),
    detectedAt: at(2),
    lastSignalAt: at(4),
    fingerprints: [],
    signalCount: 1,
    version: 1,
    resolvedAt: at(20),
    timeline: [
      { at: at(4), actor: 'classifier', action: 'incident-opened' },
      {
        at: at(5),
        actor: 'classifier',
        action: 'workflow-started',
        result: 'arn',
        reasons: ['1 of 3 brokers failing.'],
      },
      { at: at(7), actor: 'workflow:broker-recovery', action: 'host-diagnosed', result: 'restart' },
      { at: at(9), actor: 'workflow:broker-recovery', action: 'broker-restarted', detail: 'restarted' },
      { at: at(9.5), actor: 'notifier', action: 'notify-sns', result: 'delivered' },
      { at: at(20), actor: 'workflow:broker-recovery', action: 'incident-resolved' },
    ],
    ...over,
  };
}

function observations(
  over: Partial<DrillObservations> = {},
  expectations: Record<string, unknown> = {},
): DrillObservations {
  const scenario = validateScenario(
    {
      name: 'broker-crash',
      description: 'd',
      faults: [{ at: 0, action: 'crash', broker: 2 }],
      expect: {
        incidentType: 'broker-failure',
        workflow: 'broker-recovery',
        status: 'resolved',
        actionsTaken: ['broker-restarted'],
        actionsNotTaken: ['throttle-applied'],
        maxMttrSeconds: 30,
        maxMttrRatio: 1.5,
        ...expectations,
      },
    },
    't',
  );
  return {
    scenario,
    startedAt: FAULT - 30_000,
    finishedAt: FAULT + 60_000,
    cluster: { name: 'c', mode: 'kraft', brokers: 3, kafkaVersion: '4' },
    faultAt: FAULT,
    events: [
      { at: FAULT, source: 'fault', event: 'fault:crash', detail: 'broker 2' },
      { at: FAULT + 3000, source: 'alarm', event: 'alarm:ALARM', detail: 'broker-down-b2' },
    ],
    incidents: [incident({ id: 'inc-1', type: 'broker-failure' })],
    executions: [{ workflow: 'broker-recovery', incidentId: 'inc-1', status: 'SUCCEEDED' }],
    workload: { produced: 1000, consumed: 1000, lost: 0 },
    healthyAt: FAULT + 18_000,
    finalHealthy: true,
    oracleMs: 15_000,
    notes: ['n'],
    ...over,
  };
}

describe('assembleReport', () => {
  it('computes MTTD (fault -> opened), MTTR (fault -> resolved and healthy, whichever is later) and the oracle ratio', () => {
    const r = assembleReport(observations());
    expect(r).toMatchObject({
      scenario: 'broker-crash',
      mttdSeconds: 4,
      mttrSeconds: 20,
      oracleMttrSeconds: 15,
      mttrRatio: 1.33,
      messagesProduced: 1000,
      messagesConsumed: 1000,
      messagesLost: 0,
      passed: true,
    });
    // Healthy after the resolution: the later time counts.
    expect(assembleReport(observations({ healthyAt: FAULT + 25_000 })).mttrSeconds).toBe(25);
  });

  it("an incident's workflow is its remediation, not a run the classifier stopped when the incident grew (superseded, ABORTED)", () => {
    const executions = [
      { workflow: 'broker-recovery', incidentId: 'inc-1', status: 'ABORTED' },
      { workflow: 'cascade-recovery', incidentId: 'inc-1', status: 'SUCCEEDED' },
      { workflow: 'escalation', incidentId: 'inc-1', status: 'SUCCEEDED' },
    ];
    expect(assembleReport(observations({ executions })).incidents[0]).toMatchObject({
      workflow: 'cascade-recovery',
      executionStatus: 'SUCCEEDED',
    });
    // only stopped runs: the first one
    expect(assembleReport(observations({ executions: executions.slice(0, 1) })).incidents[0]).toMatchObject({
      workflow: 'broker-recovery',
      executionStatus: 'ABORTED',
    });
  });

  it('incidents are listed in the order they opened', () => {
    const later = incident({ id: 'inc-2', type: 'broker-failure', openedAt: at(60) });
    const r = assembleReport(observations({ incidents: [later, incident({ id: 'inc-1', type: 'broker-failure' })] }));
    expect(r.incidents.map((i) => i.id)).toEqual(['inc-1', 'inc-2']);
  });

  it('stable keys in the JSON', () => {
    const keys = Object.keys(JSON.parse(JSON.stringify(assembleReport(observations()))) as object);
    expect(keys).toEqual(
      expect.arrayContaining([
        'scenario',
        'passed',
        'mttdSeconds',
        'mttrSeconds',
        'oracleMttrSeconds',
        'messagesProduced',
        'messagesConsumed',
        'messagesLost',
        'actions',
        'timeline',
      ]),
    );
  });

  it('actions come from classifier and workflow entries (not notifier lines), with offsets from the fault', () => {
    const r = assembleReport(observations());
    expect(r.actions.map((a) => `${a.offsetSeconds}:${a.actor}:${a.action}`)).toEqual([
      '4:classifier:incident-opened',
      '5:classifier:workflow-started',
      '7:broker-recovery:host-diagnosed',
      '9:broker-recovery:broker-restarted',
      '20:broker-recovery:incident-resolved',
    ]);
    expect(r.actions[3]).toMatchObject({ target: 'broker 2' });
  });

  it('the timeline merges drill events and incident entries in time order', () => {
    const r = assembleReport(observations());
    expect(r.timeline[0]).toMatchObject({ offsetSeconds: 0, source: 'fault', event: 'fault:crash' });
    expect(r.timeline.map((t) => t.at)).toEqual([...r.timeline.map((t) => t.at)].sort());
    expect(r.timeline.find((t) => t.event === 'incident:broker-restarted')).toMatchObject({
      source: 'workflow',
      offsetSeconds: 9,
    });
    expect(r.timeline.find((t) => t.event === 'incident:workflow-started')?.detail).toBe(
      'inc-1: result: arn; why: 1 of 3 brokers failing.',
    );
  });

  it('MTTR at the edge: 30 s passes "<= 30", 30.1 s fails', () => {
    expect(
      assembleReport(
        observations({
          incidents: [incident({ id: 'i', type: 'broker-failure', resolvedAt: at(30) })],
          healthyAt: FAULT,
        }),
      ).expectations.find((e) => e.name === 'max MTTR')?.passed,
    ).toBe(true);
    const late = assembleReport(
      observations({
        incidents: [incident({ id: 'i', type: 'broker-failure', resolvedAt: at(30.1) })],
        healthyAt: FAULT,
      }),
    );
    expect(late.expectations.find((e) => e.name === 'max MTTR')).toMatchObject({ passed: false, actual: '30.1 s' });
    expect(late.passed).toBe(false);
  });

  it('an escalated incident has no MTTR; a missing oracle gives no ratio', () => {
    const r = assembleReport(
      observations({
        incidents: [incident({ id: 'inc-1', type: 'broker-failure', status: 'escalated' })],
        oracleMs: null,
      }),
    );
    expect(r).toMatchObject({ mttrSeconds: null, mttrRatio: null });
    expect(
      r.expectations
        .filter((e) => !e.passed)
        .map((e) => e.name)
        .sort(),
    ).toEqual(['MTTR / oracle', 'incident status', 'max MTTR']);
    expect(r.expectations.find((e) => e.name === 'max MTTR')?.actual).toBe('never recovered');
  });

  it('data loss, an action taken that must not be, and an unhealthy end fail their expectations', () => {
    const r = assembleReport(
      observations(
        { workload: { produced: 10, consumed: 9, lost: 1 }, finalHealthy: false },
        { actionsNotTaken: ['broker-restarted'] },
      ),
    );
    const failed = Object.fromEntries(r.expectations.filter((e) => !e.passed).map((e) => [e.name, e.actual]));
    expect(failed).toEqual({
      'no data loss': '1 lost of 10',
      'action not taken: broker-restarted': 'taken',
      'final health': 'not healthy',
    });
  });

  it('no traffic at all does not count as "no data loss"', () => {
    expect(
      assembleReport(observations({ workload: { produced: 0, consumed: 0, lost: 0 } })).expectations.find(
        (e) => e.name === 'no data loss',
      )?.passed,
    ).toBe(false);
  });

  it('noIncident: passes only when nothing opened', () => {
    const none = assembleReport(
      observations(
        { incidents: [], executions: [] },
        {
          noIncident: true,
          incidentType: undefined,
          workflow: undefined,
          status: undefined,
          actionsTaken: [],
          maxMttrSeconds: undefined,
          maxMttrRatio: undefined,
        },
      ),
    );
    expect(none.expectations.find((e) => e.name === 'no incident')?.passed).toBe(true);
    expect(none.mttdSeconds).toBeNull();
  });

  it('incidentTypesNotOpened: fails, naming severity and status, when such an incident opened', () => {
    const offline = incident({ id: 'o', type: 'offline-partitions', severity: 'SEV-1', status: 'escalated' });
    const crash = incident({ id: 'b', type: 'broker-failure' });
    const byName = (r: ReturnType<typeof assembleReport>) =>
      r.expectations.find((e) => e.name === 'no offline-partitions incident');
    expect(
      byName(
        assembleReport(
          observations({ incidents: [crash, offline] }, { incidentTypesNotOpened: ['offline-partitions'] }),
        ),
      ),
    ).toMatchObject({ passed: false, actual: 'SEV-1 escalated' });
    expect(
      byName(assembleReport(observations({ incidents: [crash] }, { incidentTypesNotOpened: ['offline-partitions'] }))),
    ).toMatchObject({ passed: true, actual: 'not opened' });
  });

  it('incidentTypesNotOpened offline-partitions: right, not a misreading, only when Kafka itself had no live in-sync replica to elect', () => {
    const offline = incident({ id: 'o', type: 'offline-partitions', severity: 'SEV-1', status: 'escalated' });
    const crash = incident({ id: 'b', type: 'broker-failure' });
    const check = (offlinePartitions: DrillObservations['offlinePartitions'], faults?: unknown[]) => {
      const o = observations(
        { incidents: [crash, offline], offlinePartitions },
        { incidentTypesNotOpened: ['offline-partitions'] },
      );
      // As parsed; a site failure's dr section does not matter here.
      if (faults) o.scenario = { ...o.scenario, faults: faults as DrillObservations['scenario']['faults'] };
      return assembleReport(o).expectations.find((e) => e.name === 'no offline-partitions incident');
    };
    // The crashed broker was the partitions' only in-sync replica: Kafka could not elect a leader.
    const shrunk = [
      { at: FAULT + 5000, topic: '__consumer_offsets', partition: 1, isr: [2] },
      { at: FAULT + 5500, topic: '__consumer_offsets', partition: 1, isr: [2] },
      { at: FAULT + 5500, topic: 'orders', partition: 0, isr: [2] },
    ];
    const r = check(shrunk);
    expect(r?.passed).toBe(true);
    expect(r?.actual).toBe(
      'SEV-1 escalated; not a misreading: Kafka took 2 partition(s) offline itself: __consumer_offsets-1 (ISR 2); orders-0 (ISR 2): their ISR held only the faulted broker(s), so no live in-sync replica could lead',
    );
    // One leaderless partition with a live broker in its ISR: not explained by the fault.
    expect(check([...shrunk, { at: FAULT + 6000, topic: 'orders', partition: 1, isr: [2, 3] }])).toMatchObject({
      passed: false,
      actual: 'SEV-1 escalated',
    });
    // An empty ISR, no reading at all, or a site failure (every broker): no explanation.
    expect(check([{ at: FAULT + 5000, topic: 'orders', partition: 0, isr: [] }])?.passed).toBe(false);
    expect(check([])?.passed).toBe(false);
    expect(check(undefined)?.passed).toBe(false);
    expect(check(shrunk, [{ at: 0, action: 'site-down' }])?.passed).toBe(false);
    // A spurious alarm faults no broker: nothing explains the incident.
    expect(check(shrunk, [{ at: 0, action: 'fire-alarm', alarm: 'offline-partitions', broker: 2 }])?.passed).toBe(
      false,
    );
    // Read from the probe log: Kafka kept the ISR, or emptied it (eligible leader replicas) and the last ISR with a leader tells.
    const log = [
      { at: FAULT - 500, troubled: [{ topic: 'o', partition: 0, leader: 2, isr: [2] }] },
      {
        at: FAULT + 500,
        troubled: [
          { topic: 'o', partition: 0, leader: 2, isr: [2] },
          { topic: 'o', partition: 1, leader: 3, isr: [3] },
        ],
      },
      {
        at: FAULT + 1000,
        troubled: [
          { topic: 'o', partition: 0, leader: -1, isr: [] },
          { topic: 'o', partition: 2, leader: -1, isr: [] },
        ],
      },
      {
        at: FAULT + 1500,
        troubled: [
          { topic: 'o', partition: 0, leader: -1, isr: [] },
          { topic: 'o', partition: 1, leader: -1, isr: [3] },
        ],
      },
      { at: FAULT + 2000 },
    ];
    expect(offlineReadings(log, FAULT)).toEqual([
      { at: FAULT + 1000, topic: 'o', partition: 0, isr: [2] },
      // Healthy (absent) in the run before: its ISR was full, nothing explains it.
      { at: FAULT + 1000, topic: 'o', partition: 2, isr: [] },
      // Two leaderless runs back to the last with a leader.
      { at: FAULT + 1500, topic: 'o', partition: 0, isr: [2] },
      { at: FAULT + 1500, topic: 'o', partition: 1, isr: [3] },
    ]);
    // Before the fault nothing counts; a log with no trouble has no readings.
    expect(
      offlineReadings(
        [{ at: FAULT - 1, troubled: [{ topic: 'o', partition: 0, leader: -1, isr: [2] }] }, { at: FAULT }],
        FAULT,
      ),
    ).toEqual([]);
    // The first run of all leaderless with an empty ISR: nothing earlier to read.
    expect(
      offlineReadings([{ at: FAULT, troubled: [{ topic: 'o', partition: 0, leader: -1, isr: [] }] }], FAULT),
    ).toEqual([{ at: FAULT, topic: 'o', partition: 0, isr: [] }]);
    // Several names are cut after five.
    const many = Array.from({ length: 7 }, (_, i) => ({ at: FAULT + 5000, topic: 't', partition: i, isr: [2] }));
    expect(check(many)?.actual).toMatch(
      /Kafka took 7 partition\(s\) offline itself: t-0 \(ISR 2\); t-1 .* t-4 \(ISR 2\); \.\.\.: their ISR/,
    );
  });
});

describe('acknowledged: through PagerDuty, MTTA measured, no page after it', () => {
  const acked = (over: Partial<IncidentWithTimeline>, extraTimeline: IncidentWithTimeline['timeline'] = []) =>
    incident({
      id: 'inc-1',
      type: 'broker-failure',
      status: 'escalated',
      acknowledgedAt: at(6),
      acknowledgedBy: 'pagerduty:on-call engineer',
      acknowledgedVia: 'pagerduty',
      mttaSeconds: 1,
      timeline: [
        { at: at(4), actor: 'classifier', action: 'incident-opened' },
        { at: at(5), actor: 'workflow:escalation', action: 'escalation-paged', result: 'pagerduty' },
        { at: at(7), actor: 'workflow:escalation', action: 'escalation-acknowledged', result: 'paging stopped' },
        ...extraTimeline,
      ],
      ...over,
    });
  const report = (inc: IncidentWithTimeline) => {
    const o = observations(
      { incidents: [inc] },
      { workflow: undefined, status: undefined, actionsTaken: [], maxMttrSeconds: undefined, maxMttrRatio: undefined },
    );
    return assembleReport({
      ...o,
      scenario: validateScenario(
        {
          ...o.scenario,
          pagerDuty: { acknowledgeAfterSeconds: 0.5 },
          expect: { ...o.scenario.expect, acknowledged: true },
        },
        't',
      ),
    });
  };
  const verdict = (inc: IncidentWithTimeline) => report(inc).expectations.find((e) => e.name === 'acknowledged');

  it('passes, and the report lists MTTA and who acknowledged', () => {
    expect(verdict(acked({}))).toMatchObject({
      passed: true,
      actual: 'acknowledged by pagerduty:on-call engineer via pagerduty, MTTA 1 s; 0 page(s) after it; ladder stopped',
    });
    expect(report(acked({})).incidents[0]).toMatchObject({
      mttaSeconds: 1,
      acknowledgedBy: 'pagerduty:on-call engineer (pagerduty)',
    });
  });

  it('fails when nobody acknowledged, when a level was paged after it, when it came from elsewhere, or when the ladder never noted it', () => {
    expect(verdict(acked({ acknowledgedAt: undefined, mttaSeconds: undefined }))).toMatchObject({
      passed: false,
      actual: 'not acknowledged',
    });
    expect(
      verdict(acked({}, [{ at: at(8), actor: 'workflow:escalation', action: 'escalation-paged', result: 'sns' }])),
    ).toMatchObject({ passed: false, actual: expect.stringContaining('1 page(s) after it') });
    expect(verdict(acked({ acknowledgedVia: 'cli' }))?.passed).toBe(false);
    const noNote = acked({});
    expect(
      verdict({ ...noNote, timeline: noNote.timeline.filter((e) => e.action !== 'escalation-acknowledged') }),
    ).toMatchObject({ passed: false, actual: expect.stringContaining('did not note it') });
  });

  it('a scenario expecting an acknowledgement needs someone to acknowledge', () => {
    expect(() =>
      validateScenario(
        {
          name: 'x',
          description: 'd',
          faults: [{ at: 0, action: 'crash', broker: 2 }],
          expect: { acknowledged: true },
        },
        't',
      ),
    ).toThrow(/expect.acknowledged: an acknowledgement needs a pagerDuty section/);
  });
});

describe('autoResolved: incidents the auto-resolver closed', () => {
  it('counts incidents resolved by the auto-resolver, and names the actor as the Lambda writes it', () => {
    expect(AUTO_RESOLVE).toBe(AUTO_RESOLVE_ACTOR);
    const auto = incident({
      id: 'inc-a',
      type: 'broker-failure',
      resolvedBy: AUTO_RESOLVE,
      timeline: [{ at: at(30), actor: AUTO_RESOLVE, action: 'resolved', detail: 'recovered without the healer' }],
    });
    const healed = incident({ id: 'inc-b', type: 'broker-failure', openedAt: at(40) });
    const r = (n: number) =>
      assembleReport(
        observations(
          { incidents: [auto, healed] },
          {
            autoResolved: n,
            workflow: undefined,
            status: undefined,
            actionsTaken: [],
            maxMttrSeconds: undefined,
            maxMttrRatio: undefined,
          },
        ),
      );
    expect(r(1).expectations.find((e) => e.name === 'auto-resolved')).toMatchObject({
      passed: true,
      actual: 'broker-failure inc-a',
    });
    expect(r(2).expectations.find((e) => e.name === 'auto-resolved')?.passed).toBe(false);
    expect(r(1).actions.map((a) => `${a.actor} ${a.action}`)).toContain('auto-resolve resolved');
  });
});

describe('primaryIncident', () => {
  const a = incident({ id: 'a', type: 'offline-partitions', openedAt: at(1) });
  const b = incident({ id: 'b', type: 'broker-failure', openedAt: at(3) });
  const c = incident({ id: 'c', type: 'broker-failure', openedAt: at(60) });
  it('picks the first or last of the expected type, else of all', () => {
    expect(primaryIncident([c, a, b], 'first', 'broker-failure')?.id).toBe('b');
    expect(primaryIncident([c, a, b], 'last', 'broker-failure')?.id).toBe('c');
    expect(primaryIncident([c, a, b], 'first')?.id).toBe('a');
    expect(primaryIncident([c, a, b], 'first', 'disk-pressure')?.id).toBe('a');
    expect(primaryIncident([], 'first')).toBeUndefined();
  });
});
