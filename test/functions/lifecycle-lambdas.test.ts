// The three deployed Lambdas that acknowledge (the lifecycle command, the incident page, the
// PagerDuty webhook), each through its exported handler: its own wiring from the environment and
// the house middleware, the table and secrets behind aws-sdk-client-mock. Each publishes
// MttaSeconds when the store's write is the incident's first acknowledgement (the item had no
// mttaSeconds before it: UPDATED_OLD) and nothing when it is not.
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { handler as commandHandler } from '#functions/lifecycle/command.js';
import { handler as pageHandler } from '#functions/lifecycle/incident-endpoint.js';
import { incidentLinks } from '#functions/lifecycle/links.js';
import { MTTA_METRIC } from '#functions/lifecycle/mtta-metric.js';
import { handler as webhookHandler, signPagerDuty } from '#functions/lifecycle/pagerduty-webhook.js';

const ddb = mockClient(DynamoDBDocumentClient);
const sm = mockClient(SecretsManagerClient);
const SIGNING_KEY = 'k'.repeat(48);
const WEBHOOK_SECRET = 'pagerduty-webhook-secret';
const context = { functionName: 'f', awsRequestId: 'r' } as never;

const meta = {
  pk: 'INCIDENT#inc-1',
  sk: 'META',
  id: 'inc-1',
  cluster: 'orders',
  type: 'broker-failure',
  severity: 'SEV-1',
  status: 'escalated',
  openedAt: '2026-11-22T02:00:00.000Z',
  detectedAt: '2026-11-22T02:00:00.000Z',
  lastSignalAt: '2026-11-22T02:00:00.000Z',
  signalCount: 1,
  version: 3,
};

beforeAll(() => {
  vi.stubEnv('INCIDENT_TABLE_NAME', 'incidents');
  vi.stubEnv('SNS_CRITICAL_TOPIC_ARN', 'arn:aws:sns:eu-west-1:123456789012:critical');
  vi.stubEnv('SNS_WARNING_TOPIC_ARN', 'arn:aws:sns:eu-west-1:123456789012:warning');
  vi.stubEnv('NOTIFY_RETRY_QUEUE_URL', 'https://sqs.eu-west-1.amazonaws.com/123456789012/retry');
  vi.stubEnv('APPROVAL_SIGNING_KEY_SECRET', 'signing-key');
  vi.stubEnv('PAGERDUTY_WEBHOOK_SECRET', 'webhook-secret');
});
afterAll(() => vi.unstubAllEnvs());

beforeEach(() => {
  ddb.reset();
  sm.reset();
  sm.on(GetSecretValueCommand, { SecretId: 'signing-key' }).resolves({ SecretString: SIGNING_KEY });
  sm.on(GetSecretValueCommand, { SecretId: 'webhook-secret' }).resolves({ SecretString: WEBHOOK_SECRET });
  ddb.on(GetCommand).resolves({ Item: meta });
  ddb.on(QueryCommand).resolves({ Items: [meta] });
  ddb.on(PutCommand).resolves({});
});

const acknowledgements: Record<string, () => Promise<unknown>> = {
  'lifecycle command': () =>
    commandHandler({ incidentId: 'inc-1', action: 'acknowledge', by: 'operator:ada' }, context),
  'incident page': () => {
    const link = new URL(
      incidentLinks('https://approvals.example', Buffer.from(SIGNING_KEY), 'inc-1', new Date()).acknowledge,
    );
    link.searchParams.set('by', 'Ada');
    return pageHandler(
      {
        httpMethod: 'POST',
        pathParameters: { incidentId: 'inc-1' },
        queryStringParameters: null,
        body: link.searchParams.toString(),
        isBase64Encoded: false,
      } as never,
      context,
    );
  },
  'PagerDuty webhook': () => {
    const body = JSON.stringify({
      event: {
        id: `ev-${Math.random()}`,
        event_type: 'incident.acknowledged',
        occurred_at: new Date().toISOString(),
        agent: null,
        data: { id: 'P1', type: 'incident', incident_key: 'inc-1' },
      },
    });
    return webhookHandler(
      {
        headers: { 'X-PagerDuty-Signature': signPagerDuty(Buffer.from(WEBHOOK_SECRET), body) },
        body,
        isBase64Encoded: false,
      } as never,
      context,
    );
  },
};

async function mttaDocuments(ack: () => Promise<unknown>): Promise<unknown[]> {
  const lines: string[] = [];
  const spy = vi
    .spyOn(process.stdout, 'write')
    .mockImplementation((chunk: unknown) => (lines.push(String(chunk)), true));
  try {
    await ack();
  } finally {
    spy.mockRestore();
  }
  return lines
    .join('')
    .split('\n')
    .filter((l) => l.includes(`"${MTTA_METRIC}"`))
    .map((l) => JSON.parse(l) as unknown);
}

describe.each(Object.keys(acknowledgements))('the %s Lambda', (name) => {
  const ack = acknowledgements[name] as () => Promise<unknown>;

  it("publishes MttaSeconds (Severity only) for the incident's first acknowledgement", async () => {
    ddb.on(UpdateCommand).resolves({ Attributes: { version: 3 } });
    const docs = await mttaDocuments(ack);
    expect(ddb.commandCalls(UpdateCommand).some((c) => c.args[0].input.ReturnValues === 'UPDATED_OLD')).toBe(true);
    expect(docs).toEqual([
      {
        _aws: {
          Timestamp: expect.any(Number),
          CloudWatchMetrics: [
            { Namespace: 'KafkaHeal', Dimensions: [['Severity']], Metrics: [{ Name: MTTA_METRIC, Unit: 'Seconds' }] },
          ],
        },
        Severity: 'SEV-1',
        [MTTA_METRIC]: expect.any(Number),
      },
    ]);
  });

  it('publishes nothing when the write found an MTTA already there (acknowledged again after a reopen)', async () => {
    ddb.on(UpdateCommand).resolves({ Attributes: { mttaSeconds: 30, mttaFrom: 'page', version: 3 } });
    expect(await mttaDocuments(ack)).toEqual([]);
    expect(ddb.commandCalls(UpdateCommand).some((c) => c.args[0].input.ReturnValues === 'UPDATED_OLD')).toBe(true);
  });
});
