// The approvals code with doubles: link signing and verification (edges to the second), the
// endpoint's answers for every kind of link, the single decision and its hand-over to Step
// Functions, the request handler's record/timeline/notification. DynamoDB Local, the local
// approval server and Chromium run the same code in test/integration/approval-page.test.ts.
import { verifyIncidentLink } from '#functions/lifecycle/links.js';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { describe, expect, it } from 'vitest';
import { decideApproval, type DecideDeps } from '#functions/approvals/decide.js';
import { makeApprovalEndpoint, PAGE_HEADERS, type ApprovalHttpEvent } from '#functions/approvals/endpoint.js';
import {
  SigningKeyError,
  approvalLink,
  sign,
  signingKeyFromSecret,
  staticSigningKey,
  verify,
} from '#functions/approvals/links.js';
import { approvalPage, escapeHtml, noticePage } from '#functions/approvals/page.js';
import { evidenceFrom, makeApprovalRequestHandler } from '#functions/approvals/request.js';
import { answerTask, type TaskCallbacks } from '#functions/approvals/schema.js';
import {
  ApprovalAlreadyDecided,
  ApprovalExpired,
  ApprovalNotFound,
  type ApprovalRecord,
} from '#functions/approvals/store.js';
import { IncidentStatusConflict } from '#shared/errors.js';
import type { IncidentWithTimeline, TimelineEntry } from '#tools/incident-store.js';

const KEY = Buffer.alloc(32, 7);
const NOW = Date.parse('2026-11-22T05:00:00.000Z');
const EXPIRES = NOW / 1000 + 3600;
const ID = 'QUJDREVGR0hJSktMTU5PUA';

describe('signed links', () => {
  const claims = { approvalId: ID, decision: 'approve' as const, expires: EXPIRES };
  const sig = sign(KEY, claims);
  const raw = { approvalId: ID, decision: 'approve', expires: String(EXPIRES), sig };

  it('verify accepts its own signature until 1 ms before expiry, and says expired from the expiry on', () => {
    expect(verify(KEY, raw, EXPIRES * 1000 - 1)).toEqual({ ok: true, claims });
    expect(verify(KEY, raw, EXPIRES * 1000)).toEqual({ ok: false, why: 'expired', claims });
  });

  it('a changed decision, expiry, id or key does not verify', () => {
    expect(verify(KEY, { ...raw, decision: 'reject' }, NOW)).toMatchObject({ ok: false, why: 'bad-signature' });
    expect(verify(KEY, { ...raw, expires: String(EXPIRES + 1) }, NOW)).toMatchObject({
      ok: false,
      why: 'bad-signature',
    });
    expect(verify(KEY, { ...raw, approvalId: `${ID}x` }, NOW)).toMatchObject({ ok: false, why: 'bad-signature' });
    expect(verify(Buffer.alloc(32, 8), raw, NOW)).toMatchObject({ ok: false, why: 'bad-signature' });
  });

  it.each([
    [{ approvalId: 'short' }],
    [{ decision: 'maybe' }],
    [{ expires: '-1' }],
    [{ expires: undefined }],
    [{ sig: 'abc' }],
    [{ sig: undefined }],
  ])('malformed %j', (change) => {
    expect(verify(KEY, { ...raw, ...change }, NOW)).toEqual({ ok: false, why: 'malformed' });
  });

  it('links carry the decision, expiry and signature under /approvals/<id>', () => {
    expect(approvalLink('https://x.execute-api.eu-west-1.amazonaws.com/v1/', KEY, claims)).toBe(
      `https://x.execute-api.eu-west-1.amazonaws.com/v1/approvals/${ID}?decision=approve&expires=${EXPIRES}&sig=${sig}`,
    );
  });

  it('the key comes from Secrets Manager, is cached, and must be at least 32 bytes', async () => {
    const sm = mockClient(SecretsManagerClient);
    sm.on(GetSecretValueCommand).resolves({ SecretString: 'k'.repeat(48) });
    let t = 0;
    const source = signingKeyFromSecret({
      client: new SecretsManagerClient({}),
      secretId: 'approval-key',
      ttlMs: 1000,
      now: () => t,
    });
    expect((await source.get()).toString()).toBe('k'.repeat(48));
    await source.get();
    expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(1);
    t = 1000;
    sm.on(GetSecretValueCommand).resolves({ SecretString: 'short' });
    await expect(source.get()).rejects.toBeInstanceOf(SigningKeyError);
    sm.on(GetSecretValueCommand).resolves({});
    await expect(source.get()).rejects.toThrow(/no string value/);
    expect(() => staticSigningKey(Buffer.alloc(8))).toThrow(SigningKeyError);
    sm.restore();
  });
});

function record(overrides: Partial<ApprovalRecord> = {}): ApprovalRecord {
  return {
    approvalId: ID,
    incidentId: 'inc-orders-1',
    workflow: 'quorum-recovery',
    summary: 'Stop brokers 1-3 <script>',
    actions: ['Stop kafka.service on broker 1', 'Back up metadata'],
    taskToken: 'token-1',
    cluster: 'orders',
    severity: 'SEV-1',
    incidentType: 'quorum-loss',
    evidence: ['split brain: two controllers'],
    requestedAt: new Date(NOW).toISOString(),
    linkExpires: EXPIRES,
    status: 'pending',
    ...overrides,
  };
}

/** An in-memory approval table with the conditional write's semantics, and recorded callbacks. */
function harness(opts: { rec?: ApprovalRecord; sendFails?: string; statusConflict?: boolean } = {}) {
  const items = new Map<string, ApprovalRecord>(opts.rec ? [[opts.rec.approvalId, opts.rec]] : []);
  const timeline: (Omit<TimelineEntry, 'at'> & { at?: string })[] = [];
  const sent: string[] = [];
  let clock = NOW;
  const callbacks: TaskCallbacks = {
    sendTaskSuccess: async (token, output) => {
      if (opts.sendFails) throw Object.assign(new Error(opts.sendFails), { name: opts.sendFails });
      sent.push(`success ${token} ${output}`);
    },
    sendTaskFailure: async (token, error, cause) => {
      if (opts.sendFails) throw Object.assign(new Error(opts.sendFails), { name: opts.sendFails });
      sent.push(`failure ${token} ${error} ${cause}`);
    },
  };
  const approvals = {
    find: async (id: string) => items.get(id),
    get: async (id: string) => {
      const r = items.get(id);
      if (!r) throw new ApprovalNotFound(id);
      return r;
    },
    decide: async (id: string, d: { decision: 'approved' | 'rejected'; by: string; reason?: string }, now: Date) => {
      const r = items.get(id);
      if (!r) throw new ApprovalNotFound(id);
      if (r.status !== 'pending') throw new ApprovalAlreadyDecided(r);
      if (r.linkExpires <= Math.floor(now.getTime() / 1000)) throw new ApprovalExpired(r);
      const next = {
        ...r,
        status: d.decision,
        decidedBy: d.by,
        decidedAt: now.toISOString(),
        ...(d.reason ? { reason: d.reason } : {}),
      };
      items.set(id, next);
      return next;
    },
    setDelivery: async (id: string, delivery: ApprovalRecord['delivery']) => {
      const r = items.get(id);
      if (r && delivery) items.set(id, { ...r, delivery });
    },
  };
  const incidents = {
    appendTimeline: async (_id: string, e: Omit<TimelineEntry, 'at'> & { at?: string }) => {
      timeline.push(e);
      return { ...e, at: '' } as TimelineEntry;
    },
    setStatus: async () => {
      if (opts.statusConflict) throw new IncidentStatusConflict('inc-orders-1', ['awaiting-approval'], 'escalated');
      return {} as never;
    },
  };
  const deps: DecideDeps & { approvals: typeof approvals } = {
    approvals,
    incidents,
    timeline: incidents,
    callbacks,
    now: () => new Date(clock),
  };
  return { items, timeline, sent, deps, advance: (ms: number) => (clock += ms) };
}

describe('decideApproval', () => {
  it('records once, sends the decision as the task output, timeline and status follow', async () => {
    const h = harness({ rec: record() });
    const r = await decideApproval(h.deps, ID, { decision: 'approved', by: 'alice', reason: 'ok' });
    expect(r.outcome).toBe('recorded');
    expect(h.sent).toEqual(['success token-1 {"decision":"approved","by":"alice","reason":"ok"}']);
    expect(h.items.get(ID)?.delivery).toBe('delivered');
    expect(h.timeline[0]).toMatchObject({
      actor: 'operator:alice',
      action: 'approval-decided',
      result: 'approved',
      reasons: record().actions,
    });
    expect((await decideApproval(h.deps, ID, { decision: 'rejected', by: 'bob' })).outcome).toBe('already-decided');
    expect(h.sent).toHaveLength(1);
  });

  it('a rejection fails the task with ApprovalRejected; a status conflict does not stop it', async () => {
    const h = harness({ rec: record(), statusConflict: true });
    expect((await decideApproval(h.deps, ID, { decision: 'rejected', by: 'bob', reason: 'peak' })).outcome).toBe(
      'recorded',
    );
    expect(h.sent).toEqual(['failure token-1 ApprovalRejected {"decision":"rejected","by":"bob","reason":"peak"}']);
    const h2 = harness({ rec: record(), statusConflict: true });
    expect((await decideApproval(h2.deps, ID, { decision: 'approved', by: 'a' })).outcome).toBe('recorded');
  });

  it('expired: nothing is written or sent', async () => {
    const h = harness({ rec: record() });
    h.advance(3600_000);
    expect((await decideApproval(h.deps, ID, { decision: 'approved', by: 'a' })).outcome).toBe('expired');
    expect(h.sent).toEqual([]);
    expect(h.items.get(ID)?.status).toBe('pending');
  });

  it('the workflow no longer waits (TaskTimedOut): task-closed, said on the timeline', async () => {
    const h = harness({ rec: record(), sendFails: 'TaskTimedOut' });
    expect((await decideApproval(h.deps, ID, { decision: 'approved', by: 'a' })).outcome).toBe('task-closed');
    expect(h.items.get(ID)?.delivery).toBe('task-closed');
    expect(h.timeline[0]).toMatchObject({ action: 'approval-decision-late' });
  });

  it('a failed hand-over keeps the decision and lets the same decision be sent again, not another one', async () => {
    const rec = record();
    const h = harness({ rec, sendFails: 'ServiceUnavailable' });
    await expect(decideApproval(h.deps, ID, { decision: 'approved', by: 'a' })).rejects.toThrow('ServiceUnavailable');
    expect(h.items.get(ID)).toMatchObject({ status: 'approved', delivery: 'failed' });
    const retry = harness({ rec: h.items.get(ID) as ApprovalRecord });
    expect((await decideApproval(retry.deps, ID, { decision: 'rejected', by: 'b' })).outcome).toBe('already-decided');
    expect((await decideApproval(retry.deps, ID, { decision: 'approved', by: 'b' })).outcome).toBe('recorded');
    expect(retry.sent).toEqual(['success token-1 {"decision":"approved","by":"a"}']);
  });

  it('answerTask maps approved to success and rejected to ApprovalRejected', async () => {
    const calls: string[] = [];
    const cb: TaskCallbacks = {
      sendTaskSuccess: async (t, o) => void calls.push(`${t}:${o}`),
      sendTaskFailure: async (t, e) => void calls.push(`${t}:${e}`),
    };
    await answerTask(cb, 't', { decision: 'approved', by: 'x', reason: '' });
    await answerTask(cb, 't', { decision: 'rejected', by: 'x' });
    expect(calls).toEqual(['t:{"decision":"approved","by":"x"}', 't:ApprovalRejected']);
  });
});

describe('approval endpoint', () => {
  const endpoint = (h: ReturnType<typeof harness>) =>
    makeApprovalEndpoint({ ...h.deps, signingKey: staticSigningKey(KEY) });
  const get = (q: Record<string, string> | null, id = ID): ApprovalHttpEvent => ({
    httpMethod: 'GET',
    pathParameters: { approvalId: id },
    queryStringParameters: q,
    body: null,
    isBase64Encoded: false,
  });
  const link = (decision: 'approve' | 'reject', expires = EXPIRES) => ({
    decision,
    expires: String(expires),
    sig: sign(KEY, { approvalId: ID, decision, expires }),
  });
  const post = (form: Record<string, string>, base64 = false): ApprovalHttpEvent => {
    const body = new URLSearchParams(form).toString();
    return {
      httpMethod: 'POST',
      pathParameters: { approvalId: ID },
      queryStringParameters: null,
      body: base64 ? Buffer.from(body).toString('base64') : body,
      isBase64Encoded: base64,
    };
  };
  /** What the page of a `decision` link posts: that link's own claims and signature. */
  const form = (decision: 'approve' | 'reject', extra: Record<string, string> = {}) => ({
    ...link(decision),
    ...extra,
  });
  /** The hidden fields of a served page (what its form would post). */
  const hidden = (html: string) =>
    Object.fromEntries(
      [...html.matchAll(/<input type="hidden" name="([a-z_]+)" value="([^"]*)">/g)].map((m) => [
        m[1] as string,
        m[2] as string,
      ]),
    );

  it('GET with a valid link: 200, the page with incident, escaped summary, actions and the one button the link grants, locked-down headers', async () => {
    const res = await endpoint(harness({ rec: record() }))(get(link('reject')));
    expect(res.statusCode).toBe(200);
    expect(res.headers).toMatchObject(PAGE_HEADERS);
    expect(res.body).toContain('Stop brokers 1-3 &lt;script&gt;');
    expect(res.body).not.toContain('<script>');
    expect(res.body).toContain('<li>Stop kafka.service on broker 1</li><li>Back up metadata</li>');
    expect(res.body).toContain('<button class="reject" type="submit">Reject</button>');
    expect(res.body).not.toContain('Approve</button>');
    expect(res.body).toContain('This link can only reject.');
    const approvePage = await endpoint(harness({ rec: record() }))(get(link('approve')));
    expect(approvePage.body).toContain('<button class="approve" type="submit">Approve</button>');
    expect(approvePage.body).not.toContain('Reject</button>');
  });

  it('a link signs exactly one decision: the page of a reject link carries no approve signature, and what it carries cannot approve', async () => {
    const h = harness({ rec: record() });
    const e = endpoint(h);
    const page = (await e(get(link('reject')))).body;
    const fields = hidden(page);
    // Only the reject link's own claims, carried back unchanged.
    expect(fields).toEqual(link('reject'));
    const approveSig = sign(KEY, { approvalId: ID, decision: 'approve', expires: EXPIRES });
    expect(page).not.toContain(approveSig);
    // Posting approve with what the page holds is refused and decides nothing.
    const forged = await e(post({ ...fields, decision: 'approve' }));
    expect(forged.statusCode).toBe(403);
    expect(h.sent).toEqual([]);
    expect(h.items.get(ID)?.status).toBe('pending');
    // The page's own form rejects.
    const res = await e(post({ ...fields, reason: 'not now' }));
    expect(res.statusCode).toBe(200);
    expect(h.sent).toEqual([
      'failure token-1 ApprovalRejected {"decision":"rejected","by":"approval-link","reason":"not now"}',
    ]);
  });

  it('GET answers 403 tampered, 404 unknown, 410 expired or used, 405 other methods', async () => {
    const h = harness({ rec: record() });
    const e = endpoint(h);
    expect(
      (await e(get({ ...link('approve'), sig: sign(KEY, { approvalId: ID, decision: 'reject', expires: EXPIRES }) })))
        .statusCode,
    ).toBe(403);
    expect((await e(get(null))).statusCode).toBe(403);
    const other = 'WldaWldaWldaWldaWldaWg';
    expect(
      (
        await e(
          get(
            {
              decision: 'approve',
              expires: String(EXPIRES),
              sig: sign(KEY, { approvalId: other, decision: 'approve', expires: EXPIRES }),
            },
            other,
          ),
        )
      ).statusCode,
    ).toBe(404);
    h.advance(3600_000);
    const expired = await e(get(link('approve')));
    expect(expired.statusCode).toBe(410);
    expect(expired.body).toContain('This approval link has expired');
    const used = harness({
      rec: record({ status: 'approved', decidedBy: 'alice', decidedAt: '2026-11-22T05:01:00.000Z' }),
    });
    const res = await endpoint(used)(get(link('approve')));
    expect(res.statusCode).toBe(410);
    expect(res.body).toContain('already approved by alice at 2026-11-22T05:01:00.000Z');
    expect((await e({ ...get(null), httpMethod: 'DELETE' })).statusCode).toBe(405);
  });

  it('POST approves once with the name and reason from the form (base64 bodies too); the second POST is 410', async () => {
    const h = harness({ rec: record() });
    const e = endpoint(h);
    const res = await e(post(form('approve', { by: '  Night Owl ', reason: ' fine ' }), true));
    expect(res.statusCode).toBe(200);
    expect(res.body).toContain('Approved');
    expect(h.sent).toEqual([
      'success token-1 {"decision":"approved","by":"Night Owl (approval link)","reason":"fine"}',
    ]);
    expect((await e(post(form('reject')))).statusCode).toBe(410);
  });

  it('POST with a wrong signature is 403 and decides nothing; expired is 410; an unavailable Step Functions is 503', async () => {
    const h = harness({ rec: record() });
    expect((await endpoint(h)(post(form('approve', { sig: 'A'.repeat(43) })))).statusCode).toBe(403);
    expect((await endpoint(h)(post({ decision: 'maybe' }))).statusCode).toBe(403);
    expect(h.items.get(ID)?.status).toBe('pending');
    h.advance(3600_000);
    expect((await endpoint(h)(post(form('reject')))).statusCode).toBe(410);
    const down = harness({ rec: record(), sendFails: 'ServiceUnavailable' });
    const res = await endpoint(down)(post(form('reject')));
    expect(res.statusCode).toBe(503);
    expect(res.body).toContain('Try the same button again');
    const late = harness({ rec: record(), sendFails: 'TaskTimedOut' });
    expect((await endpoint(late)(post(form('approve')))).body).toContain('The workflow stopped waiting');
  });

  it('the pages escape every value', () => {
    expect(escapeHtml(`<a href="x">'&'</a>`)).toBe('&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
    expect(approvalPage(record({ evidence: [] }), { decision: 'approve', expires: EXPIRES, sig: 's' })).toContain(
      'No evidence was attached',
    );
    expect(noticePage('invalid')).toContain('not valid');
    expect(noticePage('recorded', record({ status: 'rejected' }))).toContain('the workflow escalates instead');
  });
});

describe('approval request handler', () => {
  const incident: IncidentWithTimeline = {
    id: 'inc-orders-1',
    cluster: 'orders',
    type: 'quorum-loss',
    severity: 'SEV-1',
    status: 'remediating',
    brokers: [{ id: 1, firstSeenAt: '2026-11-22T04:59:00.000Z' }],
    openedAt: '2026-11-22T04:59:10.000Z',
    fingerprints: [],
    signalCount: 1,
    detectedAt: '2026-11-22T04:59:00.000Z',
    lastSignalAt: '2026-11-22T04:59:00.000Z',
    version: 1,
    timeline: [
      {
        at: '2026-11-22T04:59:10.000Z',
        actor: 'classifier',
        action: 'incident-opened',
        reasons: ['two active controllers'],
      },
    ],
  };

  it('stores the token, records the exact actions, marks awaiting-approval, sends signed links that expire with the timeout', async () => {
    const created: ApprovalRecord[] = [];
    const timeline: (Omit<TimelineEntry, 'at'> & { at?: string })[] = [];
    const statuses: string[] = [];
    const sent: { details?: Record<string, unknown>; summary: string; kind: string }[] = [];
    const paged: string[] = [];
    const handler = makeApprovalRequestHandler({
      approvals: { create: async (r) => void created.push(r) },
      incidents: {
        get: async () => incident,
        setStatus: async (_id, status) => {
          statuses.push(status);
          throw new IncidentStatusConflict('inc-orders-1', ['open', 'remediating'], 'escalated');
        },
        markPaged: async (_id, at) => void paged.push(at),
      },
      timeline: {
        appendTimeline: async (_id, e) => {
          timeline.push(e);
          return { ...e, at: '' } as TimelineEntry;
        },
      },
      signingKey: staticSigningKey(KEY),
      notify: async (n) => {
        sent.push(n as never);
        return {
          delivered: true,
          via: 'pagerduty',
          attempts: [
            { channel: 'pagerduty', outcome: 'delivered', at: '', detail: 'dedup_key=inc-orders-1 requests=1' },
          ],
        };
      },
      baseUrl: 'https://approvals.example/v1',
      now: () => new Date(NOW),
      newId: () => ID,
    });
    const out = await handler({
      incidentId: 'inc-orders-1',
      workflow: 'quorum-recovery',
      summary: 'Stop brokers',
      actions: ['Stop broker 1', 'Stop broker 2'],
      taskToken: 'tok',
      timeoutSeconds: 900,
    });
    // Only the id goes back to Step Functions (its history keeps this output): no link, nothing signed.
    expect(out).toEqual({ approvalId: ID });
    expect(created[0]).toMatchObject({
      taskToken: 'tok',
      status: 'pending',
      linkExpires: NOW / 1000 + 900,
      cluster: 'orders',
      severity: 'SEV-1',
      incidentType: 'quorum-loss',
    });
    expect(created[0]?.evidence).toEqual(evidenceFrom(incident));
    expect(evidenceFrom(incident)[1]).toContain('two active controllers');
    expect(timeline[0]).toMatchObject({
      action: 'approval-requested',
      reasons: ['Stop broker 1', 'Stop broker 2'],
      detail: 'Stop brokers. Actions if approved: 1) Stop broker 1; 2) Stop broker 2',
    });
    expect(timeline[1]).toMatchObject({ actor: 'notifier', action: 'notify-pagerduty', result: 'delivered' });
    expect(statuses).toEqual(['awaiting-approval']);
    expect(sent[0]?.summary).toBe('Approval needed (quorum-recovery): Stop brokers');
    const approve = String(sent[0]?.details?.approve);
    const url = new URL(approve);
    expect(
      verify(
        KEY,
        {
          approvalId: ID,
          decision: url.searchParams.get('decision') ?? '',
          expires: url.searchParams.get('expires') ?? '',
          sig: url.searchParams.get('sig') ?? '',
        },
        NOW,
      ),
    ).toMatchObject({ ok: true });
    // The incident's own acknowledge and resolve links ride along, each granting its one action.
    const ack = new URL(String(sent[0]?.details?.acknowledge));
    expect(ack.pathname).toBe('/v1/incidents/inc-orders-1');
    expect(
      verifyIncidentLink(
        KEY,
        {
          incidentId: 'inc-orders-1',
          action: ack.searchParams.get('action') ?? '',
          expires: ack.searchParams.get('expires') ?? '',
          sig: ack.searchParams.get('sig') ?? '',
        },
        NOW,
      ),
    ).toMatchObject({ ok: true, claims: { action: 'acknowledge' } });
    expect(new URL(String(sent[0]?.details?.resolve)).searchParams.get('action')).toBe('resolve');
    // PagerDuty took the page: MTTA counts from it.
    expect(paged).toEqual([new Date(NOW).toISOString()]);
  });
});
