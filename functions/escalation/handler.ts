// Escalation steps Lambda (glue) for statemachines/escalation.asl.json, the escalation ladder.
// The ASL loops  next -> act -> next ... -> wait -> next ... -> finish;  every decision is the
// pure ladder of functions/domain/escalation.ts (who is paged when, status-update cadence), and
// every notification goes through the fallback chain of functions/shared/notify.ts
// (PagerDuty Events v2 with dedup_key = incident id and retries on 429/5xx -> SNS topic for the
// severity -> SQS retry queue). Each attempt lands on the incident timeline.
//
//   plan    dry run: record the ladder this severity would follow (`escalation-planned`), notify nobody
//   start   the ladder state (nobody paged yet), `escalation-started`
//   next    read the incident (acknowledged? resolved?) and return the next step; an acknowledge or
//           resolve seen in the incident is passed on to PagerDuty once (acknowledge / resolve)
//   act     carry out page | notify | status-update | acknowledge | resolve through notify();
//           NotificationLost (even the retry queue refused) is thrown for the ASL to retry
//   finish  record how the ladder ended (`escalation-finished`)
import type { Context } from 'aws-lambda';
import * as z from 'zod';
import { DEFAULT_ESCALATION_POLICY, formatDuration, nextEscalationStep, recordStep, type EscalationPolicy, type EscalationState, type EscalationStep } from '../domain/escalation.js';
import type { IncidentType, Severity } from '../domain/types.js';
import { incidentStoreFromEnv } from '../shared/clients.js';
import type { IncidentStore } from '../shared/incident-store.js';
import { withHouseMiddleware } from '../shared/middy.js';
import { NotificationLost, notify, notifyDepsFromEnv, notifyTimelineEntries, type IncidentNotification, type NotifyResult } from '../shared/notify.js';

const severity = z.enum(['SEV-1', 'SEV-2', 'SEV-3', 'SEV-4']);

/** The escalation's execution input, as the classifier (or an operator, or a drill) starts it. */
export const EscalationRequestSchema = z.looseObject({
  incidentId: z.string().min(1).max(80),
  cluster: z.string().min(1),
  incidentType: z.string().min(1),
  severity,
  summary: z.string().max(1000).optional(),
  reasons: z.array(z.string()).optional(),
});
const IncidentFields = { request: EscalationRequestSchema, executionArn: z.string().optional() };

export const LadderSchema = z.object({
  severity,
  startedAt: z.string(),
  status: z.enum(['unacknowledged', 'acknowledged', 'resolved']),
  level: z.number().int().nonnegative(),
  lastPagedAt: z.string().optional(),
  lastStatusUpdateAt: z.string().optional(),
  notifiedAt: z.string().optional(),
  /** PagerDuty was told about the acknowledgement / resolution (each sent once). */
  acknowledgeSent: z.boolean().optional(),
  resolveSent: z.boolean().optional(),
});
export type Ladder = z.infer<typeof LadderSchema>;

/** A ladder step, plus the two hand-overs to PagerDuty the ladder itself does not plan. */
export type LadderStep = EscalationStep | { action: 'acknowledge'; reason: string } | { action: 'resolve'; reason: string };

const stepSchema = z.looseObject({ action: z.enum(['page', 'notify', 'status-update', 'acknowledge', 'resolve', 'wait', 'stop']), reason: z.string() });

export const EscalationStepSchema = z.discriminatedUnion('step', [
  z.object({ step: z.literal('plan'), ...IncidentFields }),
  z.object({ step: z.literal('start'), ...IncidentFields }),
  z.object({ step: z.literal('next'), ...IncidentFields, ladder: LadderSchema }),
  z.object({ step: z.literal('act'), ...IncidentFields, ladder: LadderSchema, action: stepSchema }),
  z.object({ step: z.literal('finish'), ...IncidentFields, ladder: LadderSchema, action: stepSchema }),
]);
export type EscalationStepEvent = z.infer<typeof EscalationStepSchema>;

export type EscalationStepResult =
  | { planned: string[] }
  | { ladder: Ladder; step: LadderStep | null; via?: string | undefined }
  | { outcome: string; reason: string; summary: string };

export interface EscalationDeps {
  store: Pick<IncidentStore, 'get' | 'appendTimeline'>;
  notify: (n: IncidentNotification) => Promise<NotifyResult>;
  now: () => Date;
  policy?: EscalationPolicy;
}

const ACTOR = 'workflow:escalation';

/** The ladder a severity follows, in words, for the dry-run plan and the start entry. */
export function describeLadder(sev: Severity, policy: EscalationPolicy = DEFAULT_ESCALATION_POLICY): string[] {
  const p = policy[sev];
  if (!p.page) return [`${sev} does not page: one SNS notification on the ${sev === 'SEV-4' ? 'warning' : 'severity'} topic`];
  const lines = ['page level 1 through PagerDuty at once (fallback: SNS, then the retry queue)'];
  for (let level = 2; level <= p.levels; level++) lines.push(`no acknowledgement within ${formatDuration(p.ackTimeoutMs)}: page level ${level}`);
  lines.push(`no acknowledgement from level ${p.levels} within ${formatDuration(p.ackTimeoutMs)}: broadcast and leave the incident escalated`);
  if (p.statusUpdateEveryMs > 0) lines.push(`status update every ${formatDuration(p.statusUpdateEveryMs)} until resolved`);
  return lines;
}

function notificationFor(e: Extract<EscalationStepEvent, { step: 'act' }>, action: LadderStep['action'], level: number): IncidentNotification {
  const summary = e.request.summary ?? `${e.request.incidentType} on ${e.request.cluster}`;
  const base = {
    incidentId: e.request.incidentId,
    cluster: e.request.cluster,
    incidentType: e.request.incidentType as IncidentType,
    severity: e.request.severity,
    summary,
    ...(e.executionArn === undefined ? {} : { executionArn: e.executionArn }),
    details: { reasons: e.request.reasons ?? [], escalation: action },
  };
  switch (action) {
    case 'page':
      return { ...base, kind: 'trigger', level };
    case 'notify':
      return { ...base, kind: 'trigger', page: false };
    case 'status-update':
      return { ...base, kind: 'status-update', summary: `Status: ${summary} is still unresolved (escalation level ${level})` };
    case 'acknowledge':
      return { ...base, kind: 'acknowledge' };
    default:
      return { ...base, kind: 'resolve', summary: `Resolved: ${summary}` };
  }
}

export function makeEscalationHandler(deps: EscalationDeps) {
  const policy = deps.policy ?? DEFAULT_ESCALATION_POLICY;
  return async (e: EscalationStepEvent): Promise<EscalationStepResult> => {
    switch (e.step) {
      case 'plan': {
        const planned = describeLadder(e.request.severity, policy);
        await deps.store.appendTimeline(e.request.incidentId, { actor: ACTOR, action: 'escalation-planned', detail: `dry run: nobody is notified. ${e.request.severity} ladder: ${planned.join('; ')}`, reasons: planned });
        return { planned };
      }
      case 'start': {
        const ladder: Ladder = { severity: e.request.severity, startedAt: deps.now().toISOString(), status: 'unacknowledged', level: 0 };
        await deps.store.appendTimeline(e.request.incidentId, { actor: ACTOR, action: 'escalation-started', detail: describeLadder(e.request.severity, policy).join('; '), reasons: e.request.reasons ?? [] });
        return { ladder, step: null };
      }
      case 'next': {
        const incident = await deps.store.get(e.request.incidentId);
        const closed = incident.status === 'resolved' || incident.status === 'suppressed';
        const status: Ladder['status'] = closed ? 'resolved' : incident.acknowledgedAt !== undefined ? 'acknowledged' : e.ladder.status === 'resolved' ? 'resolved' : e.ladder.status;
        const ladder: Ladder = { ...e.ladder, status };
        const paged = ladder.level > 0;
        if (status === 'resolved' && paged && !ladder.resolveSent) return { ladder, step: { action: 'resolve', reason: `incident ${incident.status}: close the PagerDuty alert` } };
        if (status === 'acknowledged' && paged && !ladder.acknowledgeSent) {
          return { ladder, step: { action: 'acknowledge', reason: `acknowledged at ${incident.acknowledgedAt ?? '?'}: acknowledge the PagerDuty alert` } };
        }
        return { ladder, step: nextEscalationStep(ladder as EscalationState, deps.now(), policy) };
      }
      case 'act': {
        const action = e.action.action as LadderStep['action'];
        const level = action === 'page' ? Number(e.action.level ?? e.ladder.level + 1) : e.ladder.level;
        let result: NotifyResult;
        try {
          result = await deps.notify(notificationFor(e, action, level));
        } catch (err) {
          if (err instanceof NotificationLost) {
            for (const entry of notifyTimelineEntries(notificationFor(e, action, level).kind, err.attempts)) await deps.store.appendTimeline(e.request.incidentId, entry);
          }
          throw err;
        }
        const kind = notificationFor(e, action, level).kind;
        for (const entry of notifyTimelineEntries(kind, result.attempts)) await deps.store.appendTimeline(e.request.incidentId, entry);
        await deps.store.appendTimeline(e.request.incidentId, {
          actor: ACTOR,
          action: action === 'page' ? 'escalation-paged' : `escalation-${action}`,
          detail: `${e.action.reason}${action === 'page' ? ` (level ${level})` : ''}`,
          result: result.via ?? 'undelivered',
        });
        let ladder: Ladder = { ...e.ladder };
        if (action === 'page' || action === 'notify' || action === 'status-update') {
          ladder = { ...ladder, ...recordStep(ladder as EscalationState, action === 'page' ? { action, level, reason: e.action.reason } : { action, reason: e.action.reason }, deps.now()) };
        }
        if (action === 'acknowledge') ladder.acknowledgeSent = true;
        if (action === 'resolve') ladder.resolveSent = true;
        return { ladder, step: { action, reason: e.action.reason } as LadderStep, via: result.via };
      }
      case 'finish': {
        const outcome = typeof e.action.outcome === 'string' ? e.action.outcome : 'stopped';
        await deps.store.appendTimeline(e.request.incidentId, { actor: ACTOR, action: 'escalation-finished', detail: e.action.reason, result: outcome });
        const summary =
          outcome === 'ladder-exhausted'
            ? `Nobody acknowledged ${e.request.severity} ${e.request.incidentType} on ${e.request.cluster} after ${e.ladder.level} escalation level(s): ${e.action.reason}`
            : `${e.request.severity} ${e.request.incidentType} on ${e.request.cluster}: escalation ${outcome}`;
        return { outcome, reason: e.action.reason, summary };
      }
    }
  };
}

let cached: ((e: EscalationStepEvent) => Promise<EscalationStepResult>) | undefined;

function fromEnv() {
  const notifyDeps = notifyDepsFromEnv(process.env);
  return makeEscalationHandler({ store: incidentStoreFromEnv(), notify: (n) => notify(n, notifyDeps), now: () => new Date() });
}

export const handler = withHouseMiddleware<EscalationStepEvent, EscalationStepResult>((event: EscalationStepEvent, _context: Context) => (cached ??= fromEnv())(event), {
  schema: EscalationStepSchema,
});
