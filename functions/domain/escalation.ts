// The escalation ladder: who gets paged when, and when stakeholders hear from us, as a pure
// function of the escalation state and `now`. The escalation workflow loops:
//   step = nextEscalationStep(state, now)  ->  do it (notify.ts)  ->  state = recordStep(state, step, now)
// and on `wait` sleeps until `step.until` (an ASL Wait with TimestampPath), or ends on `stop`.
// Acknowledge and resolve arrive from outside (PagerDuty webhook, operator, the remediation
// workflow) and only change `state.status`; the next step honours them.
//
// Seed ladder and cadence (DEFAULT_ESCALATION_POLICY), chosen from the runbooks' severity table:
//   SEV-1  page level 1 at once; 15 min to acknowledge, then level 2, then level 3 (3 levels);
//          stakeholder status update every 30 min until resolved.
//   SEV-2  page level 1 at once; 30 min to acknowledge, then level 2 (2 levels);
//          status update every 60 min.
//   SEV-3  page level 1 at once (PagerDuty severity `warning`, low urgency); 4 h to acknowledge,
//          then level 2 (2 levels); status update every 4 h.
//   SEV-4  never pages: one SNS notification on the warning topic, handled next business day
//          from the ticket queue; no status updates.
// Levels are ladder positions (1 = primary on-call, 2 = secondary, 3 = incident commander /
// engineering manager); the workflow maps each to a routing target from the runtime policy.
// When the top level has not acknowledged within its window the ladder is exhausted: the step is
// `stop` with outcome `ladder-exhausted`, and the workflow broadcasts on the critical SNS topic and
// leaves the incident `escalated` for a human. Paging outranks a status update due at the same
// instant. Every deadline is inclusive: at exactly deadline the action is due, 1 ms before it waits.
// No level re-pages the same target pretending to escalate (the runtime policy's `escalation`):
//   - pagerDutyEscalates: PagerDuty's own escalation policy moves the page up; the ladder pages
//     level 1 once and then only posts status updates (no ack deadline of its own, no exhaustion);
//   - maxLevel: the levels that have a target of their own; the ladder pages no further.
// An acknowledgement stops the paging at any level; status updates go on until resolved, but not
// past LADDER_HORIZON_MS after the ladder started: then it stops with outcome `updates-ended` and
// the incident stays open for a human (the escalation execution times out after 1 day, and an
// incident nobody closed in 20 h is not helped by more automatic updates).
import type { Severity } from './types.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

/** How long a ladder may run after it started: below the escalation execution's 1-day timeout. */
export const LADDER_HORIZON_MS = 20 * HOUR;

export interface SeverityEscalation {
  /** False: never page, send one SNS notification instead. */
  page: boolean;
  /** How long each paged level has to acknowledge before the next level is paged. */
  ackTimeoutMs: number;
  /** Number of ladder levels that may be paged. */
  levels: number;
  /** Stakeholder status update cadence while unresolved; 0 = none. */
  statusUpdateEveryMs: number;
}

export type EscalationPolicy = Readonly<Record<Severity, SeverityEscalation>>;

export const DEFAULT_ESCALATION_POLICY: EscalationPolicy = {
  'SEV-1': { page: true, ackTimeoutMs: 15 * MINUTE, levels: 3, statusUpdateEveryMs: 30 * MINUTE },
  'SEV-2': { page: true, ackTimeoutMs: 30 * MINUTE, levels: 2, statusUpdateEveryMs: 60 * MINUTE },
  'SEV-3': { page: true, ackTimeoutMs: 4 * HOUR, levels: 2, statusUpdateEveryMs: 4 * HOUR },
  'SEV-4': { page: false, ackTimeoutMs: 0, levels: 0, statusUpdateEveryMs: 0 },
};

export interface EscalationState {
  severity: Severity;
  /** When escalation began (ISO 8601): the origin of the status-update cadence. */
  startedAt: string;
  status: 'unacknowledged' | 'acknowledged' | 'resolved';
  /** Highest ladder level paged so far; 0 = nobody paged yet. */
  level: number;
  /** When `level` was paged (required once level > 0). */
  lastPagedAt?: string;
  lastStatusUpdateAt?: string;
  /** No-page severities: when the single SNS notification went out. */
  notifiedAt?: string;
  /** PagerDuty's escalation policy moves the page up: the ladder pages level 1 only. */
  pagerDutyEscalates?: boolean;
  /** The last level with a target of its own (fewer than the severity's levels): paging stops there. */
  maxLevel?: number;
}

export type EscalationStep =
  | { action: 'page'; level: number; reason: string }
  | { action: 'notify'; reason: string }
  | { action: 'status-update'; reason: string }
  | { action: 'wait'; until: string; waitMs: number; reason: string }
  | {
      action: 'stop';
      outcome: 'resolved' | 'acknowledged' | 'notified' | 'ladder-exhausted' | 'handed-to-pagerduty' | 'updates-ended';
      reason: string;
    };

/** The escalation state is inconsistent (bad timestamp, paged level without a time). */
export class EscalationStateError extends Error {
  override readonly name = 'EscalationStateError';
}

function time(iso: string, field: string): number {
  const t = Date.parse(iso);
  if (Number.isNaN(t)) throw new EscalationStateError(`${field} is not a valid ISO 8601 time: ${JSON.stringify(iso)}`);
  return t;
}

/** "15 min", "4 h", "90 s": durations as people read them in the timeline. */
export function formatDuration(ms: number): string {
  if (ms % HOUR === 0) return `${ms / HOUR} h`;
  if (ms % MINUTE === 0) return `${ms / MINUTE} min`;
  return `${ms / 1000} s`;
}

/** What the escalation workflow should do now, given the state and the policy. */
export function nextEscalationStep(
  state: EscalationState,
  now: Date,
  policy: EscalationPolicy = DEFAULT_ESCALATION_POLICY,
): EscalationStep {
  const p = policy[state.severity];
  const t = now.getTime();
  const started = time(state.startedAt, 'startedAt');

  if (state.status === 'resolved') {
    return { action: 'stop', outcome: 'resolved', reason: 'incident resolved: escalation ends' };
  }
  const horizon = started + LADDER_HORIZON_MS;
  if (t >= horizon) {
    return {
      action: 'stop',
      outcome: 'updates-ended',
      reason: `still unresolved ${formatDuration(LADDER_HORIZON_MS)} after the ladder started: no further pages or status updates; the incident stays open for a human`,
    };
  }

  let ackDeadline: number | undefined;
  if (!p.page) {
    if (state.notifiedAt === undefined) {
      return {
        action: 'notify',
        reason: `${state.severity} does not page: one SNS notification, handled next business day`,
      };
    }
  } else if (state.status === 'unacknowledged') {
    if (state.level === 0) {
      return { action: 'page', level: 1, reason: `${state.severity}: page level 1 at once` };
    }
    if (state.lastPagedAt === undefined) {
      throw new EscalationStateError(`level ${state.level} was paged but lastPagedAt is missing`);
    }
    // PagerDuty escalates by its own policy: no deadline of ours.
    if (!state.pagerDutyEscalates) ackDeadline = time(state.lastPagedAt, 'lastPagedAt') + p.ackTimeoutMs;
    const levels = Math.min(p.levels, state.maxLevel ?? p.levels);
    if (ackDeadline !== undefined && t >= ackDeadline) {
      const window = formatDuration(p.ackTimeoutMs);
      if (state.level < levels) {
        return {
          action: 'page',
          level: state.level + 1,
          reason: `level ${state.level} did not acknowledge within ${window}: page level ${state.level + 1}`,
        };
      }
      return {
        action: 'stop',
        outcome: 'ladder-exhausted',
        reason: `top level ${state.level} did not acknowledge within ${window}: ladder exhausted, broadcast and hand to humans`,
      };
    }
  }

  let statusDue: number | undefined;
  if (p.statusUpdateEveryMs > 0) {
    const last =
      state.lastStatusUpdateAt === undefined ? started : time(state.lastStatusUpdateAt, 'lastStatusUpdateAt');
    statusDue = last + p.statusUpdateEveryMs;
    if (t >= statusDue) {
      return {
        action: 'status-update',
        reason: `${state.severity} status update due every ${formatDuration(p.statusUpdateEveryMs)}`,
      };
    }
  }

  const due = Math.min(ackDeadline ?? Infinity, statusDue ?? Infinity);
  if (due === Infinity) {
    if (!p.page)
      return {
        action: 'stop',
        outcome: 'notified',
        reason: `${state.severity} notified; nothing further is scheduled`,
      };
    return state.status === 'acknowledged'
      ? {
          action: 'stop',
          outcome: 'acknowledged',
          reason: `acknowledged; ${state.severity} has no status-update cadence`,
        }
      : {
          action: 'stop',
          outcome: 'handed-to-pagerduty',
          reason: `paged; PagerDuty's escalation policy moves it up and ${state.severity} has no status-update cadence`,
        };
  }
  const next = Math.min(due, horizon);
  const what =
    next === horizon
      ? `ladder's ${formatDuration(LADDER_HORIZON_MS)} horizon`
      : next === ackDeadline
        ? `acknowledgement deadline of level ${state.level}`
        : 'next status update';
  return { action: 'wait', until: new Date(next).toISOString(), waitMs: next - t, reason: `waiting for the ${what}` };
}

/** The state after the workflow carried out `step` at `now` (waits and stops change nothing). */
export function recordStep(state: EscalationState, step: EscalationStep, now: Date): EscalationState {
  const at = now.toISOString();
  switch (step.action) {
    case 'page':
      return { ...state, level: step.level, lastPagedAt: at };
    case 'notify':
      return { ...state, notifiedAt: at };
    case 'status-update':
      return { ...state, lastStatusUpdateAt: at };
    default:
      return state;
  }
}
