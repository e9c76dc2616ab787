// Incident page endpoint Lambda (glue, API Gateway proxy on the approval API): GET
// /incidents/{incidentId} serves the incident page for a valid signed link (links.ts); POST
// acknowledges or resolves through the lifecycle path (actions.ts) once per link. GET never acts
// (mail scanners and link previews fetch links). The page posts back the link's own claims and
// signature; this endpoint signs nothing, so an acknowledge link's page cannot resolve.
//
//   200 page / recorded     403 link not valid     404 unknown incident     405 other methods
//   410 link expired, already used, or the incident already acknowledged / closed
//   503 it could not be recorded (the same button retries it: the link is given back)
//
// Environment: INCIDENT_TABLE_NAME, APPROVAL_SIGNING_KEY_SECRET, and the notification variables
// of NOTIFY_ENV (PagerDuty is told).
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SFNClient } from '@aws-sdk/client-sfn';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { PAGE_HEADERS } from '../approvals/endpoint.js';
import { signingKeyFromSecret, type SigningKeySource } from '../approvals/links.js';
import { documentClient, storeFromEnv } from '../shared/clients.js';
import { requireEnv } from '../shared/env.js';
import { IncidentNotFoundError } from '../shared/errors.js';
import type { IncidentRepo } from '../shared/store/index.js';
import { withHouseMiddleware } from '../shared/middy.js';
import { notify, notifyDepsFromEnv } from '../shared/notify.js';
import { logger, metrics } from '../shared/powertools.js';
import { applyLifecycle, type LifecycleDeps } from './actions.js';
import { publishMtta } from './mtta-metric.js';
import { incidentNotice, incidentPage, type IncidentNoticeKind } from './incident-page.js';
import { verifyIncidentLink } from './links.js';
import { LifecycleRecords } from './records.js';

export interface IncidentEndpointDeps extends Omit<LifecycleDeps, 'incidents'> {
  incidents: LifecycleDeps['incidents'] & Pick<IncidentRepo, 'get'>;
  records: Pick<LifecycleRecords, 'useLink' | 'releaseLink'>;
  signingKey: SigningKeySource;
}

export type IncidentHttpEvent = Pick<
  APIGatewayProxyEvent,
  'httpMethod' | 'pathParameters' | 'queryStringParameters' | 'body' | 'isBase64Encoded'
>;

const STATUS: Record<IncidentNoticeKind, number> = {
  acknowledged: 200,
  resolved: 200,
  'already-acknowledged': 410,
  closed: 410,
  used: 410,
  expired: 410,
  invalid: 403,
  'not-found': 404,
  unavailable: 503,
};

const html = (statusCode: number, body: string, extra: Record<string, string> = {}): APIGatewayProxyResult => ({
  statusCode,
  headers: { ...PAGE_HEADERS, ...extra },
  body,
});
const notice = (kind: IncidentNoticeKind, detail?: Parameters<typeof incidentNotice>[1]) =>
  html(STATUS[kind], incidentNotice(kind, detail));

/** `by` from the form: what the person typed (printable, trimmed), said to come from the link. */
function typedBy(typed: string | null): string {
  const name = (typed ?? '')
    .replace(/[^\x20-\x7e\u00a0-\uffff]/g, '')
    .trim()
    .slice(0, 100);
  return `operator:${name === '' ? 'someone' : name} (incident link)`;
}

export function makeIncidentEndpoint(deps: IncidentEndpointDeps) {
  return async (event: IncidentHttpEvent): Promise<APIGatewayProxyResult> => {
    const method = event.httpMethod.toUpperCase();
    if (method !== 'GET' && method !== 'POST') return html(405, incidentNotice('invalid'), { allow: 'GET, POST' });
    const incidentId = event.pathParameters?.incidentId;
    const key = await deps.signingKey.get();
    const now = deps.now();
    const form =
      method === 'POST'
        ? new URLSearchParams(
            event.isBase64Encoded ? Buffer.from(event.body ?? '', 'base64').toString('utf8') : (event.body ?? ''),
          )
        : undefined;
    const q = event.queryStringParameters ?? {};
    const raw = form
      ? {
          action: form.get('action') ?? undefined,
          expires: form.get('expires') ?? undefined,
          sig: form.get('sig') ?? undefined,
        }
      : { action: q.action, expires: q.expires, sig: q.sig };
    const check = verifyIncidentLink(key, { incidentId, ...raw }, now.getTime());
    if (!check.ok && check.why !== 'expired') return notice('invalid');
    if (!check.ok)
      return notice('expired', { incidentId, at: new Date((check.claims?.expires ?? 0) * 1000).toISOString() });
    const { claims } = check;
    const sig = raw.sig as string;
    let incident;
    try {
      incident = await deps.incidents.get(claims.incidentId);
    } catch (err) {
      if (err instanceof IncidentNotFoundError) return notice('not-found');
      throw err;
    }
    const closed = incident.status === 'resolved' || incident.status === 'suppressed';
    if (closed)
      return notice('closed', {
        incidentId: incident.id,
        status: incident.status,
        ...(incident.resolvedBy ? { who: incident.resolvedBy } : {}),
        ...(incident.resolvedAt ? { at: incident.resolvedAt } : {}),
      });
    if (method === 'GET') {
      if (claims.action === 'acknowledge' && incident.acknowledgedAt !== undefined)
        return notice('already-acknowledged', {
          incidentId: incident.id,
          who: incident.acknowledgedBy ?? '?',
          at: incident.acknowledgedAt,
        });
      return html(200, incidentPage(incident, { action: claims.action, expires: claims.expires, sig }));
    }
    const by = typedBy(form?.get('by') ?? null);
    const used = await deps.records.useLink(sig, by, claims.expires, now);
    if (!used.first) return notice('used', { incidentId: incident.id, who: used.usedBy, at: used.usedAt });
    const reason = (form?.get('reason') ?? '').trim().slice(0, 500);
    try {
      const r = await applyLifecycle(deps, {
        incidentId: incident.id,
        action: claims.action,
        by,
        via: 'page',
        ...(reason === '' ? {} : { reason }),
      });
      const kinds: Partial<Record<typeof r.outcome, IncidentNoticeKind>> = {
        acknowledged: 'acknowledged',
        'already-acknowledged': 'already-acknowledged',
        resolved: 'resolved',
        closed: 'closed',
        'already-closed': 'closed',
      };
      const kind = kinds[r.outcome] ?? 'closed';
      const who =
        kind === 'already-acknowledged' ? r.incident.acknowledgedBy : kind === 'closed' ? r.incident.resolvedBy : by;
      const at =
        kind === 'already-acknowledged'
          ? r.incident.acknowledgedAt
          : kind === 'closed'
            ? r.incident.resolvedAt
            : undefined;
      return notice(kind, {
        incidentId: incident.id,
        status: r.incident.status,
        ...(who ? { who } : {}),
        ...(at ? { at } : {}),
      });
    } catch (err) {
      // Not recorded: the same button must work again.
      await deps.records.releaseLink(sig).catch(() => undefined);
      logger.error('incident link action not recorded', { incidentId: incident.id, error: err as Error });
      return notice('unavailable');
    }
  };
}

let cached: ((e: IncidentHttpEvent) => Promise<APIGatewayProxyResult>) | undefined;

function fromEnv() {
  const notifyDeps = notifyDepsFromEnv(process.env);
  const store = storeFromEnv();
  return makeIncidentEndpoint({
    incidents: store.incidents,
    timeline: store.timeline,
    lock: store.lock,
    records: new LifecycleRecords(documentClient(), requireEnv('INCIDENT_TABLE_NAME')),
    signingKey: signingKeyFromSecret({
      client: new SecretsManagerClient({}),
      secretId: requireEnv('APPROVAL_SIGNING_KEY_SECRET'),
    }),
    sfn: new SFNClient({}),
    notify: (n) => notify(n, notifyDeps),
    recordMtta: (severity, seconds) => publishMtta(metrics, severity, seconds),
    now: () => new Date(),
  });
}

export const handler = withHouseMiddleware<APIGatewayProxyEvent, APIGatewayProxyResult>(
  (event: APIGatewayProxyEvent, _context: Context) => (cached ??= fromEnv())(event),
);
