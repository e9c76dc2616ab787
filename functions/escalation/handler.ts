// Escalation steps Lambda (glue) for statemachines/escalation.asl.json, the escalation ladder.
// The ASL loops  next -> act -> next ... -> wait -> next ... -> finish;  every decision is the
// pure ladder of functions/domain/escalation.ts (who is paged when, status-update cadence), and
// every notification goes through the fallback chain of functions/shared/notify.ts
// (PagerDuty Events v2 with dedup_key = incident id and retries on 429/5xx -> SNS topic for the
// severity -> SQS retry queue). Each attempt lands on the incident timeline.
//
//   plan    dry run: record the ladder this severity would follow (`escalation-planned`), notify nobody
//   start   the ladder state (nobody paged yet) with the cluster's escalation targets from the
//           runtime policy (PagerDuty's own escalation, or a target per level), `escalation-started`
//   next    read the incident (acknowledged? resolved? this run fenced?) and return the next step;
//           an acknowledgement stops the paging (`escalation-acknowledged`, once); an acknowledge or
//           resolve seen in the incident is passed on to PagerDuty once, unless PagerDuty already knows
//           (it told us, or the lifecycle told it: pagerDutySynced)
//   act     carry out page | notify | status-update | acknowledge | resolve through notify(): each
//           level pages its own target, never the same one again; a page carries the incident's
//           signed acknowledge and resolve links; the first PagerDuty page is marked (MTTA);
//           NotificationLost (even the retry queue refused) is thrown for the ASL to retry
//   finish  record how the ladder ended (`escalation-finished`)
import type { Context } from 'aws-lambda';
import * as z from 'zod';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SSMClient } from '@aws-sdk/client-ssm';
import { signingKeyFromSecret } from '../approvals/links.js';
import {
  DEFAULT_ESCALATION_POLICY,
  formatDuration,
  nextEscalationStep,
  recordStep,
  type EscalationPolicy,
  type EscalationState,
  type EscalationStep,
} from '../domain/escalation.js';
import type { EscalationTargets, IncidentType, Severity } from '../domain/types.js';
import { incidentLinks } from '../lifecycle/links.js';
import { storeFromEnv } from '../shared/clients.js';
import type { IncidentRepo, IncidentWithTimeline, Timeline } from '../shared/store/index.js';
import { withHouseMiddleware } from '../shared/middy.js';
import {
  NotificationLost,
  notify,
  notifyDepsFromEnv,
  notifyTimelineEntries,
  type IncidentNotification,
  type NotifyResult,
} from '../shared/notify.js';
import { SsmPolicySource, type PolicySource } from '../shared/policy-source.js';

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
  /** PagerDuty's escalation policy moves the page up: the ladder pages level 1 only. */
  pagerDutyEscalates: z.boolean().optional(),
  /** `levels` mode: level n pages targets[n-1] (a routing key secret, an SNS topic, or {} for the deployment key). */
  targets: z
    .array(z.object({ routingKeySecret: z.string().optional(), snsTopicArn: z.string().optional() }))
    .optional(),
  maxLevel: z.number().int().positive().optional(),
  /** PagerDuty targets paged so far (`default` or a routing key secret): told of acknowledge and resolve. */
  pagedTargets: z.array(z.string()).optional(),
});
export type Ladder = z.infer<typeof LadderSchema>;

/** A ladder step, plus the two hand-overs to PagerDuty the ladder itself does not plan, and the end of a fenced (superseded) ladder. */
export type LadderStep =
  | EscalationStep
  | { action: 'acknowledge'; reason: string }
  | { action: 'resolve'; reason: string }
  | { action: 'stop'; outcome: 'superseded'; reason: string };

const stepSchema = z.looseObject({
  action: z.enum(['page', 'notify', 'status-update', 'acknowledge', 'resolve', 'wait', 'stop']),
  reason: z.string(),
});

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
  incidents: Pick<IncidentRepo, 'get'> & Partial<Pick<IncidentRepo, 'markPaged'>>;
  timeline: Pick<Timeline, 'appendTimeline'>;
  notify: (n: IncidentNotification) => Promise<NotifyResult>;
  now: () => Date;
  policy?: EscalationPolicy;
  /** The cluster's runtime policy (its `escalation` targets); without it PagerDuty escalates by itself. */
  policies?: PolicySource;
  /** The incident's signed acknowledge and resolve links, for the pages. */
  links?: (incidentId: string, now: Date) => Promise<Record<string, string>>;
  /** Level SNS topics must be named so (the IAM grant); another is refused and the severity's topic used. */
  levelTopicPrefix?: string;
}

/** The ladder's shape for the cluster's escalation targets (the runtime policy's `escalation`). */
export function ladderTargets(t: EscalationTargets): Pick<Ladder, 'pagerDutyEscalates' | 'targets' | 'maxLevel'> {
  if (t.mode === 'pagerduty') return { pagerDutyEscalates: true };
  return { targets: t.levels.map((l) => ({ ...l })), maxLevel: t.levels.length };
}

const ACTOR = 'workflow:escalation';

/** Who a level pages, in words. */
function targetText(
  t: { routingKeySecret?: string | undefined; snsTopicArn?: string | undefined } | undefined,
): string {
  if (t?.routingKeySecret !== undefined) return `PagerDuty (routing key ${t.routingKeySecret})`;
  if (t?.snsTopicArn !== undefined) return `SNS topic ${t.snsTopicArn.split(':').at(-1) ?? ''}`;
  return 'PagerDuty';
}

/** The ladder a severity follows, in words, for the dry-run plan and the start entry. */
export function describeLadder(
  sev: Severity,
  policy: EscalationPolicy = DEFAULT_ESCALATION_POLICY,
  targets: Pick<Ladder, 'pagerDutyEscalates' | 'targets' | 'maxLevel'> = {},
): string[] {
  const p = policy[sev];
  if (!p.page)
    return [`${sev} does not page: one SNS notification on the ${sev === 'SEV-4' ? 'warning' : 'severity'} topic`];
  const lines = [
    `page level 1 through ${targetText(targets.targets?.[0])} at once (fallback: SNS, then the retry queue)`,
  ];
  if (targets.pagerDutyEscalates) {
    lines.push("PagerDuty's escalation policy moves the page up; the ladder pages no level of its own again");
  } else {
    const levels = Math.min(p.levels, targets.maxLevel ?? p.levels);
    for (let level = 2; level <= levels; level++)
      lines.push(
        `no acknowledgement within ${formatDuration(p.ackTimeoutMs)}: page level ${level} through ${targetText(targets.targets?.[level - 1])}`,
      );
    lines.push(
      `no acknowledgement from level ${levels} within ${formatDuration(p.ackTimeoutMs)}: broadcast and leave the incident escalated`,
    );
  }
  if (p.statusUpdateEveryMs > 0)
    lines.push(`status update every ${formatDuration(p.statusUpdateEveryMs)} until resolved`);
  lines.push('an acknowledgement (PagerDuty, the CLI, the incident page) stops the paging');
  return lines;
}

/** The target a level pages: its own (levels mode), else the deployment's PagerDuty key. */
function levelTarget(ladder: Ladder, level: number): { routingKeySecret?: string; snsTopicArn?: string } {
  return ladder.targets?.[level - 1] ?? {};
}

function notificationFor(
  e: Extract<EscalationStepEvent, { step: 'act' }>,
  action: LadderStep['action'],
  level: number,
): IncidentNotification {
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
    case 'page': {
      const t = levelTarget(e.ladder, level);
      return {
        ...base,
        kind: 'trigger',
        level,
        ...(t.routingKeySecret === undefined ? {} : { routingKeySecret: t.routingKeySecret }),
        ...(t.snsTopicArn === undefined ? {} : { snsTopicArn: t.snsTopicArn }),
      };
    }
    case 'notify':
      return { ...base, kind: 'trigger', page: false };
    case 'status-update':
      return {
        ...base,
        kind: 'status-update',
        summary: `Status: ${summary} is still unresolved (escalation level ${level})`,
      };
    case 'acknowledge':
      return { ...base, kind: 'acknowledge' };
    default:
      return { ...base, kind: 'resolve', summary: `Resolved: ${summary}` };
  }
}

export function makeEscalationHandler(deps: EscalationDeps) {
  const policy = deps.policy ?? DEFAULT_ESCALATION_POLICY;

  /** The cluster's escalation targets; without a policy source PagerDuty escalates by itself. */
  const targetsFor = async (cluster: string): Promise<Pick<Ladder, 'pagerDutyEscalates' | 'targets' | 'maxLevel'>> =>
    ladderTargets(
      deps.policies ? (await deps.policies.get(cluster)).policy.escalation : { mode: 'pagerduty', levels: [] },
    );

  /** The acknowledgement stops the paging: said once, with who and from where. */
  const noteAcknowledged = async (
    e: Extract<EscalationStepEvent, { step: 'next' }>,
    incident: IncidentWithTimeline,
    ladder: Ladder,
  ): Promise<void> => {
    const cadence = policy[ladder.severity].statusUpdateEveryMs;
    await deps.timeline.appendTimeline(e.request.incidentId, {
      actor: ACTOR,
      action: 'escalation-acknowledged',
      detail: `acknowledged by ${incident.acknowledgedBy ?? 'someone'}${incident.acknowledgedVia ? ` (${incident.acknowledgedVia})` : ''} at ${incident.acknowledgedAt ?? '?'}: the ladder pages no further level (${ladder.level} paged)${cadence > 0 ? `; status updates every ${formatDuration(cadence)} until resolved` : ''}`,
      result: 'paging stopped',
    });
  };

  /**
   * The PagerDuty targets still to be told of an acknowledgement or resolution: every level's own
   * routing key paged (PagerDuty ignores a repeat), and the deployment's unless it already knows
   * (it told us, or the lifecycle told it).
   */
  const toTell = (ladder: Ladder, incident: IncidentWithTimeline, what: 'acknowledged' | 'resolved'): string[] => {
    const knows =
      incident.pagerDutySynced?.[what] !== undefined ||
      (what === 'acknowledged' ? incident.acknowledgedVia : incident.resolvedVia) === 'pagerduty';
    const paged = ladder.pagedTargets ?? ['default'];
    return paged.filter((t) => t !== 'default' || !knows);
  };

  /** Acknowledge or resolve on every target still to be told; the results merged for the timeline. */
  const tellTargets = async (
    ladder: Ladder,
    incident: IncidentWithTimeline,
    n: IncidentNotification,
  ): Promise<NotifyResult> => {
    const targets = toTell(ladder, incident, n.kind === 'acknowledge' ? 'acknowledged' : 'resolved');
    const results: NotifyResult[] = [];
    for (const t of targets)
      results.push(await deps.notify({ ...n, ...(t === 'default' ? {} : { routingKeySecret: t }) }));
    return {
      delivered: results.every((r) => r.delivered),
      via: results.every((r) => r.via === 'pagerduty') ? 'pagerduty' : results.find((r) => r.via !== 'pagerduty')?.via,
      attempts: results.flatMap((r) => r.attempts),
    };
  };

  return async (e: EscalationStepEvent): Promise<EscalationStepResult> => {
    switch (e.step) {
      case 'plan': {
        const planned = describeLadder(e.request.severity, policy, await targetsFor(e.request.cluster));
        await deps.timeline.appendTimeline(e.request.incidentId, {
          actor: ACTOR,
          action: 'escalation-planned',
          detail: `dry run: nobody is notified. ${e.request.severity} ladder: ${planned.join('; ')}`,
          reasons: planned,
        });
        return { planned };
      }
      case 'start': {
        const targets = await targetsFor(e.request.cluster);
        const ladder: Ladder = {
          severity: e.request.severity,
          startedAt: deps.now().toISOString(),
          status: 'unacknowledged',
          level: 0,
          ...targets,
        };
        await deps.timeline.appendTimeline(e.request.incidentId, {
          actor: ACTOR,
          action: 'escalation-started',
          detail: describeLadder(e.request.severity, policy, targets).join('; '),
          reasons: e.request.reasons ?? [],
        });
        return { ladder, step: null };
      }
      case 'next': {
        const incident = await deps.incidents.get(e.request.incidentId);
        // A reopened incident fences its earlier ladder: the new decision's own ladder pages now.
        if (e.executionArn !== undefined && incident.fencedRuns?.includes(e.executionArn)) {
          return {
            ladder: e.ladder,
            step: {
              action: 'stop',
              outcome: 'superseded',
              reason: `this ladder (${e.executionArn}) was superseded when the incident was reopened`,
            },
          };
        }
        const closed = incident.status === 'resolved' || incident.status === 'suppressed';
        const status: Ladder['status'] = closed
          ? 'resolved'
          : incident.acknowledgedAt !== undefined
            ? 'acknowledged'
            : e.ladder.status === 'resolved'
              ? 'resolved'
              : e.ladder.status;
        const ladder: Ladder = { ...e.ladder, status };
        if (status === 'acknowledged' && e.ladder.status === 'unacknowledged')
          await noteAcknowledged(e, incident, ladder);
        const paged = ladder.level > 0;
        if (status === 'resolved' && paged && !ladder.resolveSent && toTell(ladder, incident, 'resolved').length > 0)
          return {
            ladder,
            step: { action: 'resolve', reason: `incident ${incident.status}: close the PagerDuty alert` },
          };
        if (
          status === 'acknowledged' &&
          paged &&
          !ladder.acknowledgeSent &&
          toTell(ladder, incident, 'acknowledged').length > 0
        ) {
          return {
            ladder,
            step: {
              action: 'acknowledge',
              reason: `acknowledged at ${incident.acknowledgedAt ?? '?'}: acknowledge the PagerDuty alert`,
            },
          };
        }
        return { ladder, step: nextEscalationStep(ladder as EscalationState, deps.now(), policy) };
      }
      case 'act': {
        const action = e.action.action as LadderStep['action'];
        const level = action === 'page' ? Number(e.action.level ?? e.ladder.level + 1) : e.ladder.level;
        let notification = notificationFor(e, action, level);
        if (
          notification.snsTopicArn !== undefined &&
          deps.levelTopicPrefix !== undefined &&
          !(notification.snsTopicArn.split(':').at(-1) ?? '').startsWith(deps.levelTopicPrefix)
        ) {
          await deps.timeline.appendTimeline(e.request.incidentId, {
            actor: ACTOR,
            action: 'escalation-target-refused',
            detail: `level ${level} names SNS topic ${notification.snsTopicArn}, outside ${deps.levelTopicPrefix}* (the ladder may publish only there): paging the severity's topic instead`,
          });
          const { snsTopicArn: _refused, ...rest } = notification;
          notification = { ...rest, page: false };
        }
        if (action === 'page' && deps.links)
          notification = {
            ...notification,
            details: { ...notification.details, ...(await deps.links(e.request.incidentId, deps.now())) },
          };
        const incident =
          action === 'acknowledge' || action === 'resolve' ? await deps.incidents.get(e.request.incidentId) : undefined;
        let result: NotifyResult;
        try {
          result =
            incident === undefined
              ? await deps.notify(notification)
              : await tellTargets(e.ladder, incident, notification);
        } catch (err) {
          if (err instanceof NotificationLost) {
            for (const entry of notifyTimelineEntries(notification.kind, err.attempts))
              await deps.timeline.appendTimeline(e.request.incidentId, entry);
          }
          throw err;
        }
        const kind = notification.kind;
        for (const entry of notifyTimelineEntries(kind, result.attempts))
          await deps.timeline.appendTimeline(e.request.incidentId, entry);
        if (action === 'page' && result.via === 'pagerduty')
          await deps.incidents.markPaged?.(e.request.incidentId, deps.now().toISOString());
        await deps.timeline.appendTimeline(e.request.incidentId, {
          actor: ACTOR,
          action: action === 'page' ? 'escalation-paged' : `escalation-${action}`,
          detail: `${e.action.reason}${action === 'page' ? ` (level ${level})` : ''}`,
          result: result.via ?? 'undelivered',
        });
        let ladder: Ladder = { ...e.ladder };
        if (action === 'page' || action === 'notify' || action === 'status-update') {
          ladder = {
            ...ladder,
            ...recordStep(
              ladder as EscalationState,
              action === 'page' ? { action, level, reason: e.action.reason } : { action, reason: e.action.reason },
              deps.now(),
            ),
          };
        }
        if (action === 'page' && result.via === 'pagerduty')
          ladder.pagedTargets = [
            ...new Set([...(ladder.pagedTargets ?? []), notification.routingKeySecret ?? 'default']),
          ];
        if (action === 'acknowledge') ladder.acknowledgeSent = true;
        if (action === 'resolve') ladder.resolveSent = true;
        return { ladder, step: { action, reason: e.action.reason } as LadderStep, via: result.via };
      }
      case 'finish': {
        const outcome = typeof e.action.outcome === 'string' ? e.action.outcome : 'stopped';
        await deps.timeline.appendTimeline(e.request.incidentId, {
          actor: ACTOR,
          action: 'escalation-finished',
          detail: e.action.reason,
          result: outcome,
        });
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
  const prefix = process.env.POLICY_PARAMETER_PREFIX;
  const signingSecret = process.env.APPROVAL_SIGNING_KEY_SECRET;
  const baseUrl = process.env.APPROVAL_BASE_URL;
  const signingKey = signingSecret
    ? signingKeyFromSecret({ client: new SecretsManagerClient({}), secretId: signingSecret })
    : undefined;
  const store = storeFromEnv();
  return makeEscalationHandler({
    incidents: store.incidents,
    timeline: store.timeline,
    notify: (n) => notify(n, notifyDeps),
    now: () => new Date(),
    ...(prefix ? { policies: new SsmPolicySource(new SSMClient({}), prefix) } : {}),
    ...(signingKey && baseUrl
      ? { links: async (id: string, now: Date) => incidentLinks(baseUrl, await signingKey.get(), id, now) }
      : {}),
    ...(process.env.LEVEL_TOPIC_PREFIX ? { levelTopicPrefix: process.env.LEVEL_TOPIC_PREFIX } : {}),
  });
}

export const handler = withHouseMiddleware<EscalationStepEvent, EscalationStepResult>(
  (event: EscalationStepEvent, _context: Context) => (cached ??= fromEnv())(event),
  {
    schema: EscalationStepSchema,
  },
);
