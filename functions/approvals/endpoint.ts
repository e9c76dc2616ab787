// Approval endpoint Lambda (glue, API Gateway proxy): GET /approvals/{approvalId} serves the
// approval page for a valid signed link; POST records the decision once and hands it to the
// waiting workflow (decide.ts). GET never decides anything, so mail scanners and link previews
// that fetch the link change nothing. The page can post only the decision its link signs: it
// carries the link's own signature back, and this endpoint signs nothing.
//
//   200 page / decision recorded      403 link not valid (bad signature, malformed)
//   404 unknown approval               405 other methods
//   410 link expired, already used, or the workflow stopped waiting
//   503 the decision could not be handed over (same button again retries it)
//
// Environment: INCIDENT_TABLE_NAME, APPROVAL_SIGNING_KEY_SECRET.
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SFNClient, SendTaskFailureCommand, SendTaskSuccessCommand } from '@aws-sdk/client-sfn';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { documentClient, storeFromEnv } from '../shared/clients.js';
import { requireEnv } from '../shared/env.js';
import { withHouseMiddleware } from '../shared/middy.js';
import { logger } from '../shared/powertools.js';
import { decideApproval, type DecideDeps } from './decide.js';
import { signingKeyFromSecret, verify, type SigningKeySource } from './links.js';
import { approvalPage, noticePage, type NoticeKind } from './page.js';
import type { TaskCallbacks } from './schema.js';
import { ApprovalStore } from './store.js';

export interface ApprovalEndpointDeps extends DecideDeps {
  approvals: Pick<ApprovalStore, 'find' | 'get' | 'decide' | 'setDelivery'>;
  signingKey: SigningKeySource;
}

/** Only the fields of the proxy event the endpoint reads (the local approval server builds these). */
export type ApprovalHttpEvent = Pick<
  APIGatewayProxyEvent,
  'httpMethod' | 'pathParameters' | 'queryStringParameters' | 'body' | 'isBase64Encoded'
>;

export const PAGE_HEADERS: Record<string, string> = {
  'content-type': 'text/html; charset=utf-8',
  'cache-control': 'no-store',
  'referrer-policy': 'no-referrer',
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'content-security-policy':
    "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
};

const STATUS: Record<NoticeKind, number> = {
  recorded: 200,
  used: 410,
  expired: 410,
  'task-closed': 410,
  invalid: 403,
  'not-found': 404,
  unavailable: 503,
};

function html(statusCode: number, body: string, extra: Record<string, string> = {}): APIGatewayProxyResult {
  return { statusCode, headers: { ...PAGE_HEADERS, ...extra }, body };
}

const notice = (kind: NoticeKind, record?: Parameters<typeof noticePage>[1]) =>
  html(STATUS[kind], noticePage(kind, record));

function formBody(event: ApprovalHttpEvent): URLSearchParams {
  const raw = event.body ?? '';
  return new URLSearchParams(event.isBase64Encoded ? Buffer.from(raw, 'base64').toString('utf8') : raw);
}

/** `by` from the form: what the person typed (trimmed, printable), said to come from the link. */
function decidedBy(typed: string | null): string {
  const name = (typed ?? '')
    .replace(/[^\x20-\x7e\u00a0-\uffff]/g, '')
    .trim()
    .slice(0, 100);
  return name === '' ? 'approval-link' : `${name} (approval link)`;
}

export function makeApprovalEndpoint(deps: ApprovalEndpointDeps) {
  return async (event: ApprovalHttpEvent): Promise<APIGatewayProxyResult> => {
    const approvalId = event.pathParameters?.approvalId;
    const method = event.httpMethod.toUpperCase();
    if (method !== 'GET' && method !== 'POST') return html(405, noticePage('invalid'), { allow: 'GET, POST' });
    const key = await deps.signingKey.get();
    const nowMs = deps.now().getTime();

    if (method === 'GET') {
      const q = event.queryStringParameters ?? {};
      const check = verify(key, { approvalId, decision: q.decision, expires: q.expires, sig: q.sig }, nowMs);
      if (!check.ok && check.why !== 'expired') return notice('invalid');
      const record = await deps.approvals.find(approvalId as string);
      if (!record) return notice('not-found');
      if (record.status !== 'pending')
        return notice(record.delivery === 'task-closed' ? 'task-closed' : 'used', record);
      if (!check.ok) return notice('expired', record);
      // The page posts back exactly what the link carries: a link signs one decision, and the
      // page of a reject link holds no approve signature (nothing is signed here).
      return html(
        200,
        approvalPage(record, { decision: check.claims.decision, expires: check.claims.expires, sig: q.sig as string }),
      );
    }

    const form = formBody(event);
    const check = verify(
      key,
      {
        approvalId,
        decision: form.get('decision') ?? undefined,
        expires: form.get('expires') ?? undefined,
        sig: form.get('sig') ?? undefined,
      },
      nowMs,
    );
    if (!check.ok && check.why !== 'expired') return notice('invalid');
    if (!check.ok) return notice('expired', await deps.approvals.find(approvalId as string));
    const reason = (form.get('reason') ?? '').trim().slice(0, 500);
    try {
      const result = await decideApproval(deps, check.claims.approvalId, {
        decision: check.claims.decision === 'approve' ? 'approved' : 'rejected',
        by: decidedBy(form.get('by')),
        ...(reason === '' ? {} : { reason }),
      });
      const kinds: Record<typeof result.outcome, NoticeKind> = {
        recorded: 'recorded',
        'already-decided': 'used',
        expired: 'expired',
        'task-closed': 'task-closed',
      };
      return notice(kinds[result.outcome], result.record);
    } catch (err) {
      if (err instanceof Error && err.name === 'ApprovalNotFound') return notice('not-found');
      logger.error('approval decision not handed over', { approvalId, error: err as Error });
      return notice('unavailable');
    }
  };
}

/** Step Functions' callback API through the SDK client (AWS, or a local endpoint). */
export function sfnCallbacks(client: Pick<SFNClient, 'send'>): TaskCallbacks {
  return {
    async sendTaskSuccess(taskToken, output) {
      await client.send(new SendTaskSuccessCommand({ taskToken, output }));
    },
    async sendTaskFailure(taskToken, error, cause) {
      await client.send(new SendTaskFailureCommand({ taskToken, error, cause }));
    },
  };
}

let cached: ((e: ApprovalHttpEvent) => Promise<APIGatewayProxyResult>) | undefined;

function fromEnv() {
  const store = storeFromEnv();
  return makeApprovalEndpoint({
    approvals: new ApprovalStore(documentClient(), requireEnv('INCIDENT_TABLE_NAME')),
    incidents: store.incidents,
    timeline: store.timeline,
    callbacks: sfnCallbacks(new SFNClient({})),
    signingKey: signingKeyFromSecret({
      client: new SecretsManagerClient({}),
      secretId: requireEnv('APPROVAL_SIGNING_KEY_SECRET'),
    }),
    now: () => new Date(),
  });
}

export const handler = withHouseMiddleware<APIGatewayProxyEvent, APIGatewayProxyResult>(
  (event: APIGatewayProxyEvent, _context: Context) => (cached ??= fromEnv())(event),
);
