import { describe, expect, it } from 'vitest';
import {
  DEFAULT_ESCALATION_POLICY,
  LADDER_HORIZON_MS,
  EscalationStateError,
  formatDuration,
  nextEscalationStep,
  recordStep,
} from '#domain/escalation.js';
import type { EscalationPolicy, EscalationState, EscalationStep } from '#domain/escalation.js';
import type { Severity } from '#domain/types.js';

const T0 = Date.parse('2026-11-22T02:00:00.000Z');
const MIN = 60_000;
const H = 60 * MIN;
const at = (ms: number) => new Date(T0 + ms);
const iso = (ms: number) => at(ms).toISOString();

function state(severity: Severity, patch: Partial<EscalationState> = {}): EscalationState {
  return { severity, startedAt: iso(0), status: 'unacknowledged', level: 0, ...patch };
}

describe('seed policy', () => {
  it('is the documented ladder and cadence', () => {
    expect(DEFAULT_ESCALATION_POLICY).toEqual({
      'SEV-1': { page: true, ackTimeoutMs: 15 * MIN, levels: 3, statusUpdateEveryMs: 30 * MIN },
      'SEV-2': { page: true, ackTimeoutMs: 30 * MIN, levels: 2, statusUpdateEveryMs: 60 * MIN },
      'SEV-3': { page: true, ackTimeoutMs: 4 * H, levels: 2, statusUpdateEveryMs: 4 * H },
      'SEV-4': { page: false, ackTimeoutMs: 0, levels: 0, statusUpdateEveryMs: 0 },
    });
  });
});

describe('resolved', () => {
  it.each(['SEV-1', 'SEV-2', 'SEV-3', 'SEV-4'] as const)('%s resolved stops at once, whatever else is due', (sev) => {
    expect(nextEscalationStep(state(sev, { status: 'resolved', level: 1, lastPagedAt: iso(0) }), at(10 * H))).toEqual({
      action: 'stop',
      outcome: 'resolved',
      reason: 'incident resolved: escalation ends',
    });
  });
});

describe('paging ladder', () => {
  it.each(['SEV-1', 'SEV-2', 'SEV-3'] as const)('%s pages level 1 at once', (sev) => {
    expect(nextEscalationStep(state(sev), at(0))).toEqual({
      action: 'page',
      level: 1,
      reason: `${sev}: page level 1 at once`,
    });
  });

  it.each([
    ['SEV-1', 15 * MIN],
    ['SEV-2', 30 * MIN],
    ['SEV-3', 4 * H],
  ] as const)(
    '%s: level 1 has %i ms to acknowledge (1 ms before: wait; at the deadline: page level 2)',
    (sev, window) => {
      const paged = state(sev, { level: 1, lastPagedAt: iso(0), lastStatusUpdateAt: iso(0) });
      const before = nextEscalationStep(paged, at(window - 1));
      expect(before).toEqual({
        action: 'wait',
        until: iso(window),
        waitMs: 1,
        reason: 'waiting for the acknowledgement deadline of level 1',
      });
      const onEdge = nextEscalationStep(paged, at(window));
      expect(onEdge).toEqual({
        action: 'page',
        level: 2,
        reason: `level 1 did not acknowledge within ${formatDuration(window)}: page level 2`,
      });
    },
  );

  it.each([
    ['SEV-1', 15 * MIN, 3],
    ['SEV-2', 30 * MIN, 2],
    ['SEV-3', 4 * H, 2],
  ] as const)(
    '%s: the top level (%i ms window, %i levels) unacknowledged exhausts the ladder at the deadline, not before',
    (sev, window, levels) => {
      const top = state(sev, { level: levels, lastPagedAt: iso(0), lastStatusUpdateAt: iso(0) });
      expect(nextEscalationStep(top, at(window - 1))).toMatchObject({ action: 'wait', until: iso(window) });
      expect(nextEscalationStep(top, at(window))).toEqual({
        action: 'stop',
        outcome: 'ladder-exhausted',
        reason: `top level ${levels} did not acknowledge within ${formatDuration(window)}: ladder exhausted, broadcast and hand to humans`,
      });
    },
  );

  it('the ack window runs from the last page, not from the start', () => {
    const s = state('SEV-1', { level: 2, lastPagedAt: iso(20 * MIN), lastStatusUpdateAt: iso(20 * MIN) });
    expect(nextEscalationStep(s, at(35 * MIN - 1))).toMatchObject({ action: 'wait', until: iso(35 * MIN) });
    expect(nextEscalationStep(s, at(35 * MIN))).toMatchObject({ action: 'page', level: 3 });
  });

  it('paging outranks a status update due at the same instant', () => {
    // Level 2 paged at 15 min: its deadline (30 min) coincides with the first status update.
    const s = state('SEV-1', { level: 2, lastPagedAt: iso(15 * MIN) });
    expect(nextEscalationStep(s, at(30 * MIN))).toMatchObject({ action: 'page', level: 3 });
  });

  it('a level above the policy’s levels (after a downgrade) exhausts at its deadline', () => {
    const s = state('SEV-2', { level: 3, lastPagedAt: iso(0), lastStatusUpdateAt: iso(0) });
    expect(nextEscalationStep(s, at(30 * MIN))).toMatchObject({ action: 'stop', outcome: 'ladder-exhausted' });
  });

  it('an upgrade to SEV-1 shortens the window of the level already paged', () => {
    const paged = { level: 1, lastPagedAt: iso(0), lastStatusUpdateAt: iso(0) };
    expect(nextEscalationStep(state('SEV-3', paged), at(20 * MIN))).toMatchObject({
      action: 'wait',
      until: iso(4 * H),
    });
    expect(nextEscalationStep(state('SEV-1', paged), at(20 * MIN))).toMatchObject({ action: 'page', level: 2 });
  });
});

describe('status-update cadence', () => {
  it.each([
    ['SEV-1', 30 * MIN],
    ['SEV-2', 60 * MIN],
    ['SEV-3', 4 * H],
  ] as const)(
    '%s: first update %i ms after the start (edge to the millisecond), then every period after the last',
    (sev, every) => {
      const acked = state(sev, { status: 'acknowledged', level: 1, lastPagedAt: iso(0) });
      expect(nextEscalationStep(acked, at(every - 1))).toEqual({
        action: 'wait',
        until: iso(every),
        waitMs: 1,
        reason: 'waiting for the next status update',
      });
      expect(nextEscalationStep(acked, at(every))).toEqual({
        action: 'status-update',
        reason: `${sev} status update due every ${formatDuration(every)}`,
      });

      const sentLate = { ...acked, lastStatusUpdateAt: iso(every + 5 * MIN) };
      expect(nextEscalationStep(sentLate, at(2 * every + 5 * MIN - 1))).toMatchObject({
        action: 'wait',
        until: iso(2 * every + 5 * MIN),
        waitMs: 1,
      });
      expect(nextEscalationStep(sentLate, at(2 * every + 5 * MIN))).toMatchObject({ action: 'status-update' });
    },
  );

  it('while unacknowledged the earlier of ack deadline and status update is waited for', () => {
    // SEV-2 level 1 paged at 50 min: ack deadline 80 min, status update due at 60 min.
    const s = state('SEV-2', { level: 1, lastPagedAt: iso(50 * MIN) });
    expect(nextEscalationStep(s, at(55 * MIN))).toEqual({
      action: 'wait',
      until: iso(60 * MIN),
      waitMs: 5 * MIN,
      reason: 'waiting for the next status update',
    });
    expect(nextEscalationStep(s, at(60 * MIN))).toMatchObject({ action: 'status-update' });
  });

  it('acknowledged with no cadence in the policy stops', () => {
    const policy: EscalationPolicy = {
      ...DEFAULT_ESCALATION_POLICY,
      'SEV-3': { page: true, ackTimeoutMs: 4 * H, levels: 2, statusUpdateEveryMs: 0 },
    };
    const s = state('SEV-3', { status: 'acknowledged', level: 1, lastPagedAt: iso(0) });
    expect(nextEscalationStep(s, at(10 * H), policy)).toEqual({
      action: 'stop',
      outcome: 'acknowledged',
      reason: 'acknowledged; SEV-3 has no status-update cadence',
    });
  });

  it('unacknowledged with no cadence waits for the ack deadline only', () => {
    const policy: EscalationPolicy = {
      ...DEFAULT_ESCALATION_POLICY,
      'SEV-3': { page: true, ackTimeoutMs: 4 * H, levels: 2, statusUpdateEveryMs: 0 },
    };
    const s = state('SEV-3', { level: 1, lastPagedAt: iso(0) });
    expect(nextEscalationStep(s, at(1), policy)).toMatchObject({
      action: 'wait',
      until: iso(4 * H),
      waitMs: 4 * H - 1,
    });
  });
});

describe('SEV-4: no page', () => {
  it('sends one SNS notification, then stops', () => {
    const s = state('SEV-4');
    const first = nextEscalationStep(s, at(0));
    expect(first).toEqual({
      action: 'notify',
      reason: 'SEV-4 does not page: one SNS notification, handled next business day',
    });
    const after = recordStep(s, first, at(0));
    expect(after.notifiedAt).toBe(iso(0));
    expect(nextEscalationStep(after, at(1))).toEqual({
      action: 'stop',
      outcome: 'notified',
      reason: 'SEV-4 notified; nothing further is scheduled',
    });
  });

  it('acknowledging a SEV-4 before the notification still notifies (the record must exist)', () => {
    expect(nextEscalationStep(state('SEV-4', { status: 'acknowledged' }), at(0))).toMatchObject({ action: 'notify' });
  });

  it('a no-page policy with a cadence sends status updates after the notification', () => {
    const policy: EscalationPolicy = {
      ...DEFAULT_ESCALATION_POLICY,
      'SEV-4': { page: false, ackTimeoutMs: 0, levels: 0, statusUpdateEveryMs: 8 * H },
    };
    const s = state('SEV-4', { notifiedAt: iso(0) });
    expect(nextEscalationStep(s, at(8 * H - 1), policy)).toMatchObject({
      action: 'wait',
      until: iso(8 * H),
      reason: 'waiting for the next status update',
    });
    expect(nextEscalationStep(s, at(8 * H), policy)).toMatchObject({ action: 'status-update' });
  });
});

describe('inconsistent state', () => {
  it.each([
    [{ startedAt: 'yesterday' }, 'startedAt is not a valid ISO 8601 time: "yesterday"'],
    [{ level: 1 }, 'level 1 was paged but lastPagedAt is missing'],
    [{ level: 1, lastPagedAt: 'soon' }, 'lastPagedAt is not a valid ISO 8601 time: "soon"'],
    [
      { status: 'acknowledged' as const, level: 1, lastPagedAt: iso(0), lastStatusUpdateAt: '' },
      'lastStatusUpdateAt is not a valid ISO 8601 time: ""',
    ],
  ])('%j -> EscalationStateError', (patch, message) => {
    const err = (() => {
      try {
        nextEscalationStep(state('SEV-1', patch), at(0));
      } catch (e) {
        return e;
      }
      return undefined;
    })() as Error;
    expect(err).toBeInstanceOf(EscalationStateError);
    expect(err.name).toBe('EscalationStateError');
    expect(err.message).toBe(message);
  });
});

describe('recordStep', () => {
  const s = state('SEV-1', { level: 1, lastPagedAt: iso(0) });
  it('records pages, notifications and status updates at now', () => {
    expect(recordStep(s, { action: 'page', level: 2, reason: '' }, at(15 * MIN))).toEqual({
      ...s,
      level: 2,
      lastPagedAt: iso(15 * MIN),
    });
    expect(recordStep(s, { action: 'notify', reason: '' }, at(1))).toEqual({ ...s, notifiedAt: iso(1) });
    expect(recordStep(s, { action: 'status-update', reason: '' }, at(30 * MIN))).toEqual({
      ...s,
      lastStatusUpdateAt: iso(30 * MIN),
    });
  });
  it('waits and stops change nothing', () => {
    expect(recordStep(s, { action: 'wait', until: iso(1), waitMs: 1, reason: '' }, at(0))).toBe(s);
    expect(recordStep(s, { action: 'stop', outcome: 'resolved', reason: '' }, at(0))).toBe(s);
  });
});

describe('formatDuration', () => {
  it('uses hours, minutes or seconds, whichever divides evenly', () => {
    expect(formatDuration(4 * H)).toBe('4 h');
    expect(formatDuration(15 * MIN)).toBe('15 min');
    expect(formatDuration(90 * 1000)).toBe('90 s');
    expect(formatDuration(1500)).toBe('1.5 s');
  });
});

describe('a whole unacknowledged SEV-1, driven the way the workflow drives it', () => {
  it('pages levels 1, 2, 3 at 0, 15 and 30 min, updates stakeholders at 30 min, exhausts at 45 min', () => {
    let s = state('SEV-1');
    let now = 0;
    const log: [number, string][] = [];
    for (let i = 0; i < 20; i++) {
      const step: EscalationStep = nextEscalationStep(s, at(now));
      if (step.action === 'wait') {
        now = Date.parse(step.until) - T0;
        continue;
      }
      log.push([
        now / MIN,
        step.action === 'page' ? `page ${step.level}` : step.action === 'stop' ? `stop ${step.outcome}` : step.action,
      ]);
      if (step.action === 'stop') break;
      s = recordStep(s, step, at(now));
    }
    expect(log).toEqual([
      [0, 'page 1'],
      [15, 'page 2'],
      [30, 'page 3'],
      [30, 'status-update'],
      [45, 'stop ladder-exhausted'],
    ]);
  });

  it('an acknowledgement at 20 min stops the paging; updates continue every 30 min until resolved', () => {
    let s = state('SEV-1');
    let now = 0;
    const log: [number, string][] = [];
    for (let i = 0; i < 20; i++) {
      if (now >= 20 * MIN && s.status === 'unacknowledged') s = { ...s, status: 'acknowledged' };
      if (now >= 100 * MIN) s = { ...s, status: 'resolved' };
      const step = nextEscalationStep(s, at(now));
      if (step.action === 'wait') {
        // Wake at the deadline or at the two external events, whichever comes first.
        now = Math.min(Date.parse(step.until) - T0, ...[20 * MIN, 100 * MIN].filter((x) => x > now));
        continue;
      }
      log.push([
        now / MIN,
        step.action === 'page' ? `page ${step.level}` : step.action === 'stop' ? `stop ${step.outcome}` : step.action,
      ]);
      if (step.action === 'stop') break;
      s = recordStep(s, step, at(now));
    }
    expect(log).toEqual([
      [0, 'page 1'],
      [15, 'page 2'],
      [30, 'status-update'],
      [60, 'status-update'],
      [90, 'status-update'],
      [100, 'stop resolved'],
    ]);
  });
});

describe('levels that reach someone new', () => {
  it('PagerDuty escalates by its own policy: level 1 is paged once, then only status updates; nothing is exhausted', () => {
    const s = state('SEV-1', { pagerDutyEscalates: true });
    expect(nextEscalationStep(s, at(0))).toMatchObject({ action: 'page', level: 1 });
    const paged = { ...s, level: 1, lastPagedAt: iso(0) };
    expect(nextEscalationStep(paged, at(15 * MIN))).toEqual({
      action: 'wait',
      until: iso(30 * MIN),
      waitMs: 15 * MIN,
      reason: 'waiting for the next status update',
    });
    expect(nextEscalationStep(paged, at(30 * MIN))).toMatchObject({ action: 'status-update' });
    expect(nextEscalationStep({ ...paged, lastStatusUpdateAt: iso(30 * MIN) }, at(45 * MIN))).toMatchObject({
      action: 'wait',
      until: iso(60 * MIN),
    });
  });

  it('an incident nobody closes: the ladder ends at its 20 h horizon, and no wait reaches past it', () => {
    expect(LADDER_HORIZON_MS).toBe(20 * H);
    const paged = state('SEV-3', {
      pagerDutyEscalates: true,
      level: 1,
      lastPagedAt: iso(0),
      lastStatusUpdateAt: iso(16 * H),
    });
    // SEV-3's next update would be due at 20 h: the horizon comes first.
    expect(nextEscalationStep(paged, at(17 * H))).toEqual({
      action: 'wait',
      until: iso(20 * H),
      waitMs: 3 * H,
      reason: "waiting for the ladder's 20 h horizon",
    });
    expect(nextEscalationStep(paged, at(20 * H))).toEqual({
      action: 'stop',
      outcome: 'updates-ended',
      reason:
        'still unresolved 20 h after the ladder started: no further pages or status updates; the incident stays open for a human',
    });
    expect(nextEscalationStep({ ...paged, status: 'acknowledged' }, at(21 * H))).toMatchObject({
      outcome: 'updates-ended',
    });
    expect(nextEscalationStep({ ...paged, status: 'resolved' }, at(21 * H))).toMatchObject({ outcome: 'resolved' });
  });

  it('with PagerDuty escalating and no status cadence, the ladder hands over after the page', () => {
    const quiet: EscalationPolicy = {
      ...DEFAULT_ESCALATION_POLICY,
      'SEV-2': { ...DEFAULT_ESCALATION_POLICY['SEV-2'], statusUpdateEveryMs: 0 },
    };
    expect(
      nextEscalationStep(state('SEV-2', { pagerDutyEscalates: true, level: 1, lastPagedAt: iso(0) }), at(5 * H), quiet),
    ).toEqual({
      action: 'stop',
      outcome: 'handed-to-pagerduty',
      reason: "paged; PagerDuty's escalation policy moves it up and SEV-2 has no status-update cadence",
    });
    expect(
      nextEscalationStep(state('SEV-2', { status: 'acknowledged', level: 1, lastPagedAt: iso(0) }), at(5 * H), quiet),
    ).toMatchObject({ action: 'stop', outcome: 'acknowledged' });
  });

  it('maxLevel: only levels with a target of their own are paged; past the last one the ladder is exhausted', () => {
    const two = state('SEV-1', { maxLevel: 2, level: 2, lastPagedAt: iso(0), lastStatusUpdateAt: iso(0) });
    expect(nextEscalationStep(two, at(15 * MIN))).toMatchObject({
      action: 'stop',
      outcome: 'ladder-exhausted',
      reason: expect.stringMatching(/^top level 2 did not acknowledge/),
    });
    expect(nextEscalationStep({ ...two, level: 1 }, at(15 * MIN))).toMatchObject({ action: 'page', level: 2 });
    // More targets than the severity's levels: the severity's ladder still ends at its own top.
    expect(
      nextEscalationStep(
        state('SEV-2', { maxLevel: 5, level: 2, lastPagedAt: iso(0), lastStatusUpdateAt: iso(0) }),
        at(30 * MIN),
      ),
    ).toMatchObject({ outcome: 'ladder-exhausted' });
  });
});
