// The approval page end to end on the local runtime: a workflow reaches its approval state, the
// real request handler stores the token in DynamoDB Local and pages the real local PagerDuty
// receiver with signed links, the real endpoint handler serves the page from a local HTTP server,
// headless Chromium opens the link from the page, reads the incident and actions, clicks
// Approve, and the workflow continues to success. A second visit says the link was used; an
// expired link says it expired; a rejection through the page fails the task with ApprovalRejected;
// a reject link's page cannot be turned into an approval.
import { randomBytes } from 'node:crypto';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SFNClient } from '@aws-sdk/client-sfn';
import { makeApprovalEndpoint, sfnCallbacks } from '#functions/approvals/endpoint.js';
import { staticSigningKey } from '#functions/approvals/links.js';
import { makeApprovalRequestHandler } from '#functions/approvals/request.js';
import { APPROVAL_RESOURCE, ApprovalRequestSchema } from '#functions/approvals/schema.js';
import { ApprovalExpired, ApprovalStore } from '#functions/approvals/store.js';
import { decideApproval } from '#functions/approvals/decide.js';
import { correlate } from '#domain/correlate.js';
import { DEFAULT_POLICY } from '#domain/policy.js';
import type { Decision, Signal } from '#domain/types.js';
import { documentClient } from '#shared/clients.js';
import { IncidentStore } from '#tools/incident-store.js';
import { notify } from '#shared/notify.js';
import { PagerDutyClient, staticRoutingKey } from '#shared/pagerduty.js';
import { startApprovalServer, type ApprovalServer } from '#local/approval-server.js';
import { createIncidentTable, startDynamoDbLocal, type DynamoDbLocal } from '#local/dynamodb-local.js';
import { start as startReceiver, type PagerDutyReceiver } from '#local/pagerduty-receiver.js';
import {
  LocalTaskTokens,
  approvalBinding,
  parseDefinition,
  runWorkflow,
  type RunResult,
} from '#local/stepfunctions/index.js';
import { main } from '#cli/main.js';
import { launchChromium } from '../support/chromium.js';
import { captureIO } from '../support/helpers.js';

const tableName = 'approval-page';
const ACTIONS = [
  'Set producer quota producer_byte_rate=1048576 on cluster orders',
  'Restart kafka.service on broker 1 (i-0a1b2c3d4e5f60001)',
  'Restart kafka.service on broker 2 (i-0a1b2c3d4e5f60002)',
];

/** A workflow with one approval step, as the contract in functions/approvals/schema.ts writes it. */
const definition = parseDefinition(
  JSON.stringify({
    Comment: 'Approval page test: ask, then run the approved actions or escalate',
    StartAt: 'Ask For Approval',
    States: {
      'Ask For Approval': {
        Type: 'Task',
        Comment: 'Three brokers lost in a row: a person approves the cascade recovery.',
        Resource: APPROVAL_RESOURCE,
        Parameters: {
          FunctionName: '${ApprovalFunctionArn}',
          Payload: {
            'incidentId.$': '$.incidentId',
            workflow: 'cascade-recovery',
            summary: 'Recover brokers 1, 2 and 3 of orders one at a time behind a producer throttle',
            'actions.$': '$.actions',
            'taskToken.$': '$$.Task.Token',
          },
        },
        TimeoutSeconds: 3600,
        ResultPath: '$.approval',
        Catch: [
          { ErrorEquals: ['ApprovalRejected'], ResultPath: '$.approvalError', Next: 'Escalate Rejected' },
          { ErrorEquals: ['States.Timeout'], ResultPath: '$.approvalError', Next: 'Escalate Timed Out' },
        ],
        Next: 'Run Approved Actions',
      },
      'Run Approved Actions': { Type: 'Pass', Result: 'ran', ResultPath: '$.ran', Next: 'Recovered' },
      Recovered: { Type: 'Succeed' },
      'Escalate Rejected': { Type: 'Fail', Error: 'Escalated', Cause: 'approval rejected' },
      'Escalate Timed Out': { Type: 'Fail', Error: 'Escalated', Cause: 'approval timed out' },
    },
  }),
  { ApprovalFunctionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:kafka-heal-local-approval-request' },
);

let ddb: DynamoDbLocal;
let raw: DynamoDBClient;
let store: IncidentStore;
let approvals: ApprovalStore;
let receiver: PagerDutyReceiver;
let server: ApprovalServer;
let browser: Browser;
const tokens = new LocalTaskTokens();
/** The endpoint's clock: moved forward to expire links. */
let clockOffsetMs = 0;
const now = () => new Date(Date.now() + clockOffsetMs);
let signalNo = 0;

async function openIncident(cluster: string): Promise<string> {
  const s: Signal = {
    id: `sig-${cluster}-${++signalNo}`,
    source: 'cloudwatch',
    cluster,
    kind: 'broker-down',
    brokerIds: [1, 2, 3],
    state: 'firing',
    observedAt: new Date().toISOString(),
    name: `kafka-heal-local-${cluster}-brokers-down`,
    fingerprint: `alarm:${cluster}-brokers-down`,
    labels: {},
  };
  const decision: Decision = {
    action: 'await-approval',
    incidentType: 'cascade-failure',
    severity: 'SEV-1',
    reasons: ['3 brokers lost one after another: cascade recovery with approval'],
    plan: { workflow: 'cascade-recovery', brokerIds: [1, 2, 3], dryRun: false, steps: ['throttle', 'recover brokers'] },
  } as Decision;
  const r = await store.recordSignal(s, decision, correlate(s, decision, [], DEFAULT_POLICY, new Date()));
  if (r.outcome !== 'created') throw new Error(`expected a new incident, got ${r.outcome}`);
  return r.incident.id;
}

/** Starts the workflow and resolves once its approval request has gone out, with the links. */
async function startRun(incidentId: string, timeoutMs = 120_000) {
  const binding = approvalBinding({ tokens, request: requestHandler, timeoutMs });
  const result = runWorkflow({
    definition,
    input: { incidentId, actions: ACTIONS },
    bindings: { [APPROVAL_RESOURCE]: binding },
  });
  const open = await tokens.whenOpened((t) => binding.requests.some((r) => r.taskToken === t.taskToken));
  const page = receiver.events.filter((e) => e.action === 'trigger' && e.dedupKey === incidentId).pop();
  const details = (
    page?.body.payload as { custom_details?: { approve?: string; reject?: string; approvalId?: string } } | undefined
  )?.custom_details;
  if (!details?.approve || !details.reject || !details.approvalId)
    throw new Error(`no approval page in PagerDuty: ${JSON.stringify(receiver.events)}`);
  return {
    result,
    approveUrl: details.approve,
    rejectUrl: details.reject,
    approvalId: details.approvalId,
    taskToken: open.taskToken,
  };
}

let requestHandler: (payload: unknown) => Promise<unknown>;

beforeAll(async () => {
  ddb = await startDynamoDbLocal();
  raw = ddb.client();
  await createIncidentTable(raw, tableName);
  const doc = documentClient(raw);
  store = new IncidentStore({ client: doc, tableName });
  approvals = new ApprovalStore(doc, tableName);
  receiver = await startReceiver();
  const signingKey = staticSigningKey(randomBytes(32));
  server = await startApprovalServer({
    endpoint: makeApprovalEndpoint({
      approvals,
      incidents: store.incidents,
      timeline: store.timeline,
      callbacks: tokens,
      signingKey,
      now,
    }),
    callbacks: tokens,
    stage: '/v1',
  });
  const pagerDuty = new PagerDutyClient({
    routingKey: staticRoutingKey('0123456789abcdef0123456789abcdef'),
    endpoint: receiver.url,
  });
  const unused = { send: () => Promise.reject(new Error('PagerDuty took the page; SNS and SQS are not used here')) };
  const handler = makeApprovalRequestHandler({
    approvals,
    incidents: store.incidents,
    timeline: store.timeline,
    signingKey,
    notify: (n) =>
      notify(n, {
        pagerDuty,
        sns: unused,
        sqs: unused,
        snsTopicArns: { critical: 'c', warning: 'w' },
        retryQueueUrl: 'q',
      }),
    baseUrl: server.baseUrl,
    now,
  });
  requestHandler = (payload) => handler(ApprovalRequestSchema.parse(payload));
  browser = await launchChromium();
}, 300_000);

afterAll(async () => {
  await browser?.close();
  await server?.stop();
  await receiver?.close();
  raw?.destroy();
  await ddb?.stop();
});

describe('approval page in headless Chromium', () => {
  it('shows the incident and the exact actions; Approve continues the workflow; a second visit says the link was used', async () => {
    const incidentId = await openIncident('orders');
    const run = await startRun(incidentId);
    expect(run.approveUrl).toMatch(
      /^http:\/\/127\.0\.0\.1:\d+\/v1\/approvals\/[A-Za-z0-9_-]{22}\?decision=approve&expires=\d+&sig=/,
    );

    const page = await browser.newPage();
    const response = await page.goto(run.approveUrl);
    expect(response?.status()).toBe(200);
    expect(await page.getByTestId('summary').textContent()).toContain('Recover brokers 1, 2 and 3 of orders');
    expect(await page.getByTestId('incident').textContent()).toBe(incidentId);
    expect(await page.getByTestId('type').textContent()).toBe('cascade-failure');
    expect(await page.getByTestId('severity').textContent()).toBe('SEV-1');
    expect(await page.getByTestId('cluster').textContent()).toBe('orders');
    expect(await page.getByTestId('evidence').textContent()).toContain('3 brokers lost one after another');
    expect(await page.getByTestId('actions').locator('li').allTextContents()).toEqual(ACTIONS);
    // The approve link's page decides one thing only.
    expect(await page.getByRole('button').allTextContents()).toEqual(['Approve']);

    await page.fill('#by', 'Night Owl');
    await page.fill('#reason', 'throttle first, as the runbook says');
    await Promise.all([page.waitForURL(/approvals/), page.getByRole('button', { name: 'Approve' }).click()]);
    expect(await page.getByTestId('notice-title').textContent()).toBe('Approved');

    const result: RunResult = await run.result;
    expect(result.status).toBe('SUCCEEDED');
    expect(result.status === 'SUCCEEDED' && result.output).toMatchObject({
      approval: {
        decision: 'approved',
        by: 'Night Owl (approval link)',
        reason: 'throttle first, as the runbook says',
      },
      ran: 'ran',
    });

    const again = await page.goto(run.approveUrl);
    expect(again?.status()).toBe(410);
    expect(await page.getByTestId('notice-title').textContent()).toBe('This approval link was already used');
    expect(await page.getByTestId('notice').textContent()).toContain('already approved by Night Owl (approval link)');
    const viaReject = await page.goto(run.rejectUrl);
    expect(viaReject?.status()).toBe(410);
    await page.close();

    const incident = await store.get(incidentId);
    const actions = incident.timeline.map((e) => e.action);
    expect(actions).toContain('approval-requested');
    expect(actions).toContain('approval-decided');
    expect(incident.timeline.find((e) => e.action === 'approval-requested')?.reasons).toEqual(ACTIONS);
    expect(incident.timeline.find((e) => e.action === 'approval-decided')).toMatchObject({
      actor: 'operator:Night Owl (approval link)',
      result: 'approved',
    });
    expect(incident.status).toBe('remediating');
    expect((await approvals.get(run.approvalId)).delivery).toBe('delivered');
  });

  it('Reject through the page fails the approval task with ApprovalRejected and the workflow escalates', async () => {
    const run = await startRun(await openIncident('payments'));
    const page = await browser.newPage();
    await page.goto(run.rejectUrl);
    await page.fill('#reason', 'peak traffic; wait for the morning');
    await Promise.all([page.waitForURL(/approvals/), page.getByRole('button', { name: 'Reject' }).click()]);
    expect(await page.getByTestId('notice-title').textContent()).toBe('Rejected');
    await page.close();
    const result = await run.result;
    expect(result).toMatchObject({ status: 'FAILED', error: 'Escalated', cause: 'approval rejected' });
  });

  it('a reject link cannot approve: its page has only Reject and no approve signature; its form edited to approve is refused (403), and the approval stays pending', async () => {
    const run = await startRun(await openIncident('ledger'));
    const page = await browser.newPage();
    const opened = await page.goto(run.rejectUrl);
    expect(opened?.status()).toBe(200);
    expect(await page.getByRole('button').allTextContents()).toEqual(['Reject']);
    expect(await page.getByTestId('one-decision').textContent()).toContain('This link can only reject.');
    // Everything the page's form can post: the reject link's own claims, nothing signed for approve.
    const hidden = page.locator('form input[type=hidden]');
    const fields: Record<string, string | null> = {};
    for (const input of await hidden.all()) fields[(await input.getAttribute('name')) ?? ''] = await input.inputValue();
    expect(fields).toEqual({
      decision: 'reject',
      expires: new URL(run.rejectUrl).searchParams.get('expires'),
      sig: new URL(run.rejectUrl).searchParams.get('sig'),
    });
    const approveSig = new URL(run.approveUrl).searchParams.get('sig') ?? '';
    expect(await page.content()).not.toContain(approveSig);
    // Whoever holds only the reject link edits the form to approve and submits it.
    await page
      .locator('form input[name=decision]')
      .evaluate((e: { setAttribute(name: string, value: string): void }) => e.setAttribute('value', 'approve'));
    const [forged] = await Promise.all([
      page.waitForResponse((r) => r.request().method() === 'POST'),
      page.getByRole('button', { name: 'Reject' }).click(),
    ]);
    expect(forged.status()).toBe(403);
    expect(await page.getByTestId('notice-title').textContent()).toBe('This approval link is not valid');
    expect((await approvals.get(run.approvalId)).status).toBe('pending');
    expect(tokens.pending().some((t) => t.taskToken === run.taskToken)).toBe(true);
    // The link still does what it signs.
    await page.goto(run.rejectUrl);
    await Promise.all([page.waitForURL(/approvals/), page.getByRole('button', { name: 'Reject' }).click()]);
    expect(await page.getByTestId('notice-title').textContent()).toBe('Rejected');
    await page.close();
    expect(await run.result).toMatchObject({ status: 'FAILED', error: 'Escalated', cause: 'approval rejected' });
    expect((await approvals.get(run.approvalId)).status).toBe('rejected');
  });

  it('an expired link says so (410) and decides nothing; a tampered link is refused (403)', async () => {
    const run = await startRun(await openIncident('billing'), 3_000);
    const page = await browser.newPage();
    const tampered = await page.goto(run.approveUrl.replace(/sig=[A-Za-z0-9_-]{4}/, 'sig=AAAA'));
    expect(tampered?.status()).toBe(403);
    clockOffsetMs = 2 * 3600_000;
    try {
      const expired = await page.goto(run.approveUrl);
      expect(expired?.status()).toBe(410);
      expect(await page.getByTestId('notice-title').textContent()).toBe('This approval link has expired');
    } finally {
      clockOffsetMs = 0;
    }
    await page.close();
    const result = await run.result;
    expect(result).toMatchObject({ status: 'FAILED', error: 'Escalated', cause: 'approval timed out' });
    expect((await approvals.get(run.approvalId)).status).toBe('pending');
  });

  it('kafka-heal approve <id> over DynamoDB Local and the local approval server continues the workflow; a second call says it was decided', async () => {
    const run = await startRun(await openIncident('search'));
    const flags = ['--endpoint', ddb.endpoint, '--table', tableName, '--sfn-endpoint', server.sfnEndpoint];
    const io = captureIO();
    expect(
      await main(['approve', run.approvalId, '--reason', 'from the terminal', '--by', 'cli:oncall', ...flags], io),
    ).toBe(0);
    expect(io.out.join('\n')).toContain('approved cascade-recovery for incident');
    const result = await run.result;
    expect(result.status === 'SUCCEEDED' && result.output).toMatchObject({
      approval: { decision: 'approved', by: 'cli:oncall', reason: 'from the terminal' },
    });
    const again = captureIO();
    expect(await main(['reject', run.approvalId, ...flags], again)).toBe(1);
    expect(again.err.join('\n')).toContain('was already approved by cli:oncall');
    // The local callback API answers as Step Functions does, error names included.
    const sfn = new SFNClient({
      region: 'us-east-1',
      endpoint: server.sfnEndpoint,
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      maxAttempts: 1,
    });
    await expect(sfnCallbacks(sfn).sendTaskSuccess('no-such-token', '{}')).rejects.toMatchObject({
      name: 'TaskDoesNotExist',
    });
    await expect(sfnCallbacks(sfn).sendTaskSuccess(run.taskToken, '{}')).rejects.toMatchObject({
      name: 'TaskTimedOut',
    });
    sfn.destroy();
    const unknown = captureIO();
    expect(await main(['approve', 'AAAAAAAAAAAAAAAAAAAAAA', ...flags], unknown)).toBe(1);
    expect(unknown.err.join('\n')).toContain('no approval AAAAAAAAAAAAAAAAAAAAAA');
  });

  it('two decisions racing for one approval: the conditional write lets exactly one through, and only it reaches the workflow', async () => {
    const run = await startRun(await openIncident('racing'));
    const deps = { approvals, incidents: store.incidents, timeline: store.timeline, callbacks: tokens, now };
    const outcomes = await Promise.all([
      decideApproval(deps, run.approvalId, { decision: 'approved', by: 'alice' }),
      decideApproval(deps, run.approvalId, { decision: 'rejected', by: 'bob' }),
      decideApproval(deps, run.approvalId, { decision: 'approved', by: 'carol' }),
    ]);
    expect(outcomes.filter((o) => o.outcome === 'recorded')).toHaveLength(1);
    expect(outcomes.filter((o) => o.outcome === 'already-decided')).toHaveLength(2);
    const winner = outcomes.find((o) => o.outcome === 'recorded')?.record;
    const result = await run.result;
    if (winner?.status === 'approved')
      expect(result.status === 'SUCCEEDED' && result.output).toMatchObject({ approval: { by: winner.decidedBy } });
    else expect(result).toMatchObject({ status: 'FAILED', cause: 'approval rejected' });
    // After its window, the store refuses a decision by itself too (not only the link check).
    const late = await startRun(await openIncident('late'), 2_000);
    await expect(
      approvals.decide(late.approvalId, { decision: 'approved', by: 'x' }, new Date(Date.now() + 2 * 3600_000)),
    ).rejects.toBeInstanceOf(ApprovalExpired);
    expect(await late.result).toMatchObject({ status: 'FAILED', cause: 'approval timed out' });
  });
});
