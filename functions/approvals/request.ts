// Approval request Lambda (glue), invoked by a workflow's `lambda:invoke.waitForTaskToken` state:
// stores the task token with the request, puts `approval-requested` with the exact actions on
// the incident timeline, marks the incident awaiting-approval, mints single-use signed approve
// and reject links that expire with the approval's timeout, and sends the request to people
// through the notification chain (PagerDuty -> SNS -> retry queue, functions/shared/notify.ts).
// It returns at once; the workflow waits until the page or the CLI sends the decision.
//
// It returns the approval id and nothing else: Step Functions keeps a waitForTaskToken Lambda's
// response in the execution history (TaskSubmitted), which anyone with read access to the state
// machine can read, and a signed link there would let them decide. The links go to people only.
//
// Environment: INCIDENT_TABLE_NAME, APPROVAL_BASE_URL (the approval API's URL),
// APPROVAL_SIGNING_KEY_SECRET, and the notification variables of NOTIFY_ENV.
import { randomBytes } from 'node:crypto';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { Context } from 'aws-lambda';
import type { IncidentType, Severity } from '../domain/types.js';
import { documentClient, storeFromEnv } from '../shared/clients.js';
import { requireEnv } from '../shared/env.js';
import { IncidentStatusConflict } from '../shared/errors.js';
import type { IncidentRepo, IncidentWithTimeline, Timeline } from '../shared/store/index.js';
import { withHouseMiddleware } from '../shared/middy.js';
import {
  notify,
  notifyDepsFromEnv,
  notifyTimelineEntries,
  type IncidentNotification,
  type NotifyResult,
} from '../shared/notify.js';
import { incidentLinks } from '../lifecycle/links.js';
import { approvalLink, signingKeyFromSecret, type SigningKeySource } from './links.js';
import { ApprovalRequestSchema, DEFAULT_APPROVAL_TIMEOUT_SECONDS, type ApprovalRequest } from './schema.js';
import { ApprovalStore, type ApprovalRecord } from './store.js';

export interface ApprovalRequestDeps {
  approvals: Pick<ApprovalStore, 'create'>;
  incidents: Pick<IncidentRepo, 'get' | 'setStatus' | 'markPaged'>;
  timeline: Pick<Timeline, 'appendTimeline'>;
  signingKey: SigningKeySource;
  notify: (n: IncidentNotification) => Promise<NotifyResult>;
  /** Base URL of the approval endpoint (`https://.../v1`, or the local approval server). */
  baseUrl: string;
  now: () => Date;
  newId?: () => string;
}

/** What lands in the execution history: the id people and the CLI name the approval by, no link. */
export interface ApprovalRequested {
  approvalId: string;
}

/** 128 random bits, URL-safe: the approval id links and the CLI name. */
export const newApprovalId = (): string => randomBytes(16).toString('base64url');

/** What the page shows as evidence when the workflow sent none: the brokers and the incident's own record. */
export function evidenceFrom(incident: IncidentWithTimeline, max = 8): string[] {
  const brokers =
    incident.brokers.length === 0
      ? []
      : [`brokers involved: ${incident.brokers.map((b) => `${b.id} (since ${b.firstSeenAt})`).join(', ')}`];
  const entries = incident.timeline
    .filter((e) => e.detail !== undefined || e.reasons !== undefined)
    .slice(-max)
    .map(
      (e) =>
        `${e.at} ${e.actor} ${e.action}: ${[e.detail, ...(e.reasons ?? [])].filter((x) => x !== undefined).join('; ')}`,
    );
  return [...brokers, ...entries];
}

function numbered(actions: string[]): string {
  return actions.map((a, i) => `${i + 1}) ${a}`).join('; ');
}

export function makeApprovalRequestHandler(deps: ApprovalRequestDeps) {
  return async (request: ApprovalRequest): Promise<ApprovalRequested> => {
    const now = deps.now();
    const incident = await deps.incidents.get(request.incidentId);
    const approvalId = (deps.newId ?? newApprovalId)();
    const linkExpires = Math.floor(now.getTime() / 1000) + (request.timeoutSeconds ?? DEFAULT_APPROVAL_TIMEOUT_SECONDS);
    const record: ApprovalRecord = {
      approvalId,
      incidentId: request.incidentId,
      workflow: request.workflow,
      summary: request.summary,
      actions: request.actions,
      taskToken: request.taskToken,
      cluster: request.cluster ?? incident.cluster,
      severity: request.severity ?? incident.severity,
      incidentType: request.incidentType ?? incident.type,
      evidence: request.evidence ?? evidenceFrom(incident),
      ...(incident.executionArn === undefined ? {} : { executionArn: incident.executionArn }),
      requestedAt: now.toISOString(),
      linkExpires,
      status: 'pending',
    };
    await deps.approvals.create(record);
    await deps.timeline.appendTimeline(request.incidentId, {
      actor: `workflow:${request.workflow}`,
      action: 'approval-requested',
      detail: `${request.summary}. Actions if approved: ${numbered(request.actions)}`,
      result: approvalId,
      reasons: request.actions,
    });
    try {
      await deps.incidents.setStatus(request.incidentId, 'awaiting-approval', ['open', 'remediating'], {
        actor: `workflow:${request.workflow}`,
        detail: request.summary,
      });
    } catch (err) {
      // Escalated or closed meanwhile: the approval still stands, the status stays what people set.
      if (!(err instanceof IncidentStatusConflict)) throw err;
    }

    const key = await deps.signingKey.get();
    const approveUrl = approvalLink(deps.baseUrl, key, { approvalId, decision: 'approve', expires: linkExpires });
    const rejectUrl = approvalLink(deps.baseUrl, key, { approvalId, decision: 'reject', expires: linkExpires });
    const expiresAt = new Date(linkExpires * 1000).toISOString();
    const result = await deps.notify({
      incidentId: request.incidentId,
      cluster: record.cluster ?? incident.cluster,
      incidentType: (record.incidentType ?? incident.type) as IncidentType,
      severity: (record.severity ?? incident.severity) as Severity,
      kind: 'trigger',
      summary: `Approval needed (${request.workflow}): ${request.summary}`,
      // The incident's own acknowledge and resolve links (its page: functions/lifecycle), beside the approval's.
      details: {
        approvalId,
        approve: approveUrl,
        reject: rejectUrl,
        expiresAt,
        actions: request.actions,
        cli: `kafka-heal approve ${approvalId} --reason "..."`,
        ...incidentLinks(deps.baseUrl, key, request.incidentId, now),
      },
    });
    for (const entry of notifyTimelineEntries('trigger', result.attempts))
      await deps.timeline.appendTimeline(request.incidentId, entry);
    // The first page: MTTA counts from it.
    if (result.via === 'pagerduty') await deps.incidents.markPaged(request.incidentId, now.toISOString());
    return { approvalId };
  };
}

let cached: ((r: ApprovalRequest) => Promise<ApprovalRequested>) | undefined;

function fromEnv(): (r: ApprovalRequest) => Promise<ApprovalRequested> {
  const notifyDeps = notifyDepsFromEnv(process.env);
  const store = storeFromEnv();
  return makeApprovalRequestHandler({
    approvals: new ApprovalStore(documentClient(), requireEnv('INCIDENT_TABLE_NAME')),
    incidents: store.incidents,
    timeline: store.timeline,
    signingKey: signingKeyFromSecret({
      client: new SecretsManagerClient({}),
      secretId: requireEnv('APPROVAL_SIGNING_KEY_SECRET'),
    }),
    notify: (n) => notify(n, notifyDeps),
    baseUrl: requireEnv('APPROVAL_BASE_URL'),
    now: () => new Date(),
  });
}

export const handler = withHouseMiddleware<ApprovalRequest, ApprovalRequested>(
  (event: ApprovalRequest, _context: Context) => (cached ??= fromEnv())(event),
  {
    schema: ApprovalRequestSchema,
  },
);
