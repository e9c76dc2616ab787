// The lifecycle path with doubles (the DynamoDB Local and real-HTTP runs are in
// test/integration/incident-lifecycle.test.ts and pagerduty-webhook.test.ts): telling PagerDuty
// and stopping the run still acting after a resolve, the webhook's signature check, its secret,
// and giving an event back when it could not be applied; the MTTA metric, once per incident from
// each of the three places a person acknowledges.
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SFNClient, StopExecutionCommand } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { sign as signApproval, staticSigningKey } from '#functions/approvals/links.js';
import { applyLifecycle, type LifecycleDeps } from '#functions/lifecycle/actions.js';
import { makeIncidentEndpoint } from '#functions/lifecycle/incident-endpoint.js';
import { MTTA_METRIC, publishMtta } from '#functions/lifecycle/mtta-metric.js';
import { incidentLinks, signIncidentLink, verifyIncidentLink } from '#functions/lifecycle/links.js';
import { makeLifecycleCommandHandler } from '#functions/lifecycle/command.js';
import {
  makePagerDutyWebhookHandler,
  signPagerDuty,
  verifyPagerDutySignature,
  webhookSecretFromSecret,
} from '#functions/lifecycle/pagerduty-webhook.js';
import { IncidentNotFoundError } from '#shared/errors.js';
import type { IncidentRecord } from '#tools/incident-store.js';
import type { NotifyResult } from '#shared/notify.js';
import { metrics } from '#shared/powertools.js';
import { storePieces } from '../support/store-pieces.js';

const RUN = 'arn:aws:states:eu-west-1:123456789012:execution:kafka-heal-prod-broker-recovery:inc-1-broker-recovery-1';
const incident = (over: Partial<IncidentRecord> = {}): IncidentRecord => ({
  id: 'inc-1',
  cluster: 'orders',
  type: 'broker-failure',
  severity: 'SEV-2',
  status: 'resolved',
  brokers: [],
  openedAt: '2026-11-22T02:00:00.000Z',
  fingerprints: [],
  signalCount: 1,
  detectedAt: '2026-11-22T02:00:00.000Z',
  lastSignalAt: '2026-11-22T02:00:00.000Z',
  version: 3,
  firstPagedAt: '2026-11-22T02:00:10.000Z',
  activeRun: RUN,
  ...over,
});

function deps(over: Omit<Partial<LifecycleDeps>, 'store'> = {}) {
  const store = {
    acknowledge: vi.fn(async () => ({ outcome: 'acknowledged' as const, incident: incident({ status: 'escalated' }) })),
    resolveBy: vi.fn(
      async (): Promise<{
        outcome: 'resolved' | 'already-closed';
        incident: IncidentRecord;
        from?: IncidentRecord['status'];
      }> => ({ outcome: 'resolved', incident: incident(), from: 'remediating' }),
    ),
    reopenBy: vi.fn(async () => ({ outcome: 'reopened' as const, incident: incident({ status: 'escalated' }) })),
    addNote: vi.fn(async () => incident()),
    appendTimeline: vi.fn(async (_id: string, e: object) => ({ at: 'now', ...e }) as never),
    fenceRun: vi.fn(async () => undefined),
    releaseLock: vi.fn(async () => true),
    markPagerDutySynced: vi.fn(async () => undefined),
  };
  const pieces = {
    ...storePieces(store),
    now: () => new Date('2026-11-22T02:05:00.000Z'),
    ...over,
  } satisfies LifecycleDeps;
  return { ...pieces, store };
}

const delivered = (via: NotifyResult['via']): NotifyResult => ({
  delivered: via !== undefined,
  via,
  attempts: [{ channel: 'pagerduty', outcome: via === 'pagerduty' ? 'delivered' : 'failed', at: 'now' }],
});

describe('applyLifecycle', () => {
  const sfn = mockClient(SFNClient);
  beforeEach(() => sfn.reset());

  it('a resolve from the CLI fences, then stops the run that was remediating, releases its lock and tells PagerDuty', async () => {
    sfn.on(StopExecutionCommand).resolves({});
    const notify = vi.fn(async () => delivered('pagerduty'));
    const d = deps({ sfn: new SFNClient({}), notify });
    const r = await applyLifecycle(d, {
      incidentId: 'inc-1',
      action: 'resolve',
      by: 'operator:ada',
      via: 'cli',
      reason: 'fixed',
    });
    expect(r.notes).toEqual([`run ${RUN} stopped`, 'PagerDuty resolved (Events v2 resolve)']);
    expect(d.store.fenceRun).toHaveBeenCalledWith('inc-1', RUN);
    expect(sfn.commandCalls(StopExecutionCommand)[0]?.args[0].input).toMatchObject({
      executionArn: RUN,
      error: 'Superseded',
    });
    expect(d.store.fenceRun.mock.invocationCallOrder[0]).toBeLessThan(
      d.store.releaseLock.mock.invocationCallOrder[0] as number,
    );
    expect(notify).toHaveBeenCalledWith(
      expect.objectContaining({
        kind: 'resolve',
        incidentId: 'inc-1',
        summary: 'resolved by operator:ada (cli): fixed',
      }),
    );
    expect(d.store.markPagerDutySynced).toHaveBeenCalledWith('inc-1', 'resolved', '2026-11-22T02:05:00.000Z');
    expect(d.store.appendTimeline).toHaveBeenCalledWith(
      'inc-1',
      expect.objectContaining({ actor: 'operator:ada', action: 'workflow-superseded' }),
    );
  });

  it('the paging ladder is not stopped by a resolve (it ends itself), nor is a run of an incident that was only open', async () => {
    const d = deps({ sfn: new SFNClient({}) });
    d.store.resolveBy.mockResolvedValueOnce({
      outcome: 'resolved',
      incident: incident({ activeRun: `${RUN.replace('broker-recovery-1', 'escalation-1')}` }),
      from: 'remediating',
    });
    await applyLifecycle(d, { incidentId: 'inc-1', action: 'resolve', by: 'operator:ada', via: 'page' });
    d.store.resolveBy.mockResolvedValueOnce({ outcome: 'resolved', incident: incident(), from: 'escalated' });
    await applyLifecycle(d, { incidentId: 'inc-1', action: 'resolve', by: 'operator:ada', via: 'page' });
    d.store.resolveBy.mockResolvedValueOnce({
      outcome: 'resolved',
      incident: incident({ activeRun: undefined }),
      from: 'remediating',
    });
    await applyLifecycle(d, { incidentId: 'inc-1', action: 'resolve', by: 'operator:ada', via: 'page' });
    expect(d.store.fenceRun).not.toHaveBeenCalled();
    expect(sfn.commandCalls(StopExecutionCommand)).toHaveLength(0);
  });

  it('PagerDuty not taking the news, or no notification chain here, is said; nothing is marked synced', async () => {
    const viaSns = await applyLifecycle(deps({ notify: async () => delivered('sns') }), {
      incidentId: 'inc-1',
      action: 'acknowledge',
      by: 'operator:ada',
      via: 'cli',
    });
    expect(viaSns.notes).toEqual([
      'PagerDuty did not take the acknowledge (sent via sns); the escalation ladder retries at its next step',
    ]);
    const lost = await applyLifecycle(deps({ notify: async () => delivered(undefined) }), {
      incidentId: 'inc-1',
      action: 'acknowledge',
      by: 'operator:ada',
      via: 'cli',
    });
    expect(lost.notes).toEqual([
      'PagerDuty did not take the acknowledge (undelivered); the escalation ladder retries at its next step',
    ]);
    const none = deps();
    expect(
      (await applyLifecycle(none, { incidentId: 'inc-1', action: 'acknowledge', by: 'operator:ada', via: 'cli' }))
        .notes,
    ).toEqual(['PagerDuty not told from here: the escalation ladder tells it at its next step']);
    expect(none.store.markPagerDutySynced).not.toHaveBeenCalled();
  });

  it('reopen and note pass through; their defaults say what happened', async () => {
    const d = deps();
    expect(
      (await applyLifecycle(d, { incidentId: 'inc-1', action: 'reopen', by: 'operator:ada', via: 'cli' })).outcome,
    ).toBe('reopened');
    expect(d.store.reopenBy).toHaveBeenCalledWith('inc-1', 'operator:ada', 'cli', 'reopened by hand');
    expect(
      (await applyLifecycle(d, { incidentId: 'inc-1', action: 'note', by: 'operator:ada', via: 'cli' })).outcome,
    ).toBe('noted');
    expect(d.store.resolveBy).not.toHaveBeenCalled();
  });

  it('the command Lambda summarizes; an unknown incident is not-found, other errors propagate', async () => {
    const d = deps();
    const handler = makeLifecycleCommandHandler(d);
    expect(await handler({ incidentId: 'inc-1', action: 'acknowledge', by: 'operator:ada' })).toMatchObject({
      outcome: 'acknowledged',
      status: 'escalated',
      notes: [expect.any(String)],
    });
    d.store.acknowledge.mockRejectedValueOnce(new IncidentNotFoundError('inc-1'));
    expect(await handler({ incidentId: 'inc-1', action: 'acknowledge', by: 'operator:ada' })).toEqual({
      outcome: 'not-found',
      incidentId: 'inc-1',
      notes: [],
    });
    d.store.acknowledge.mockRejectedValueOnce(new Error('throttled'));
    await expect(handler({ incidentId: 'inc-1', action: 'acknowledge', by: 'operator:ada' })).rejects.toThrow(
      'throttled',
    );
  });
});

describe('the PagerDuty webhook', () => {
  it('verifies v1 signatures in constant time, any of several; other versions and shapes never match', () => {
    const key = Buffer.from('s3cret');
    const sig = signPagerDuty(key, '{}');
    expect(verifyPagerDutySignature(key, '{}', sig)).toBe(true);
    expect(verifyPagerDutySignature(key, '{}', ` v1=${'0'.repeat(64)} , ${sig}`)).toBe(true);
    expect(verifyPagerDutySignature(key, '{}', undefined)).toBe(false);
    expect(verifyPagerDutySignature(key, '{}', sig.replace('v1=', 'v2='))).toBe(false);
    expect(verifyPagerDutySignature(key, '{ }', sig)).toBe(false);
  });

  it('reads its secret from Secrets Manager, trimmed; an empty secret is WebhookSecretError', async () => {
    const sm = mockClient(SecretsManagerClient);
    sm.on(GetSecretValueCommand).resolvesOnce({ SecretString: ' abc \n' }).resolvesOnce({ SecretString: '' });
    expect(
      (
        await webhookSecretFromSecret({
          client: new SecretsManagerClient({}),
          secretId: 'kafka-heal/prod/pagerduty-webhook',
        }).get()
      ).toString(),
    ).toBe('abc');
    await expect(
      webhookSecretFromSecret({ client: new SecretsManagerClient({}), secretId: 'x' }).get(),
    ).rejects.toMatchObject({ name: 'WebhookSecretError', message: 'secret x has no string value' });
  });

  it("an event that could not be applied is given back, so PagerDuty's retry applies it", async () => {
    const key = Buffer.from('k');
    const records = {
      claimEvent: vi.fn(async () => true),
      releaseEvent: vi.fn(async () => undefined),
      linkPagerDutyIncident: vi.fn(async () => undefined),
      incidentForPagerDuty: vi.fn(async () => undefined),
    };
    const d = deps();
    d.store.acknowledge.mockRejectedValueOnce(new Error('ProvisionedThroughputExceededException'));
    const handler = makePagerDutyWebhookHandler({
      ...storePieces({ ...d.store, storeRaw: vi.fn() }),
      records,
      secret: { get: async () => key },
      now: () => new Date('2026-11-22T02:05:00.000Z'),
    });
    const body = JSON.stringify({
      event: {
        id: 'ev-1',
        event_type: 'incident.acknowledged',
        occurred_at: '2026-11-22T02:04:59Z',
        agent: null,
        data: { id: 'P1', type: 'incident', incident_key: 'inc-1' },
      },
    });
    await expect(
      handler({ headers: { 'X-PagerDuty-Signature': signPagerDuty(key, body) }, body, isBase64Encoded: false }),
    ).rejects.toThrow('ProvisionedThroughputExceededException');
    expect(records.releaseEvent).toHaveBeenCalledWith('pagerduty', 'ev-1');
    // Base64-encoded bodies (API Gateway binary media types) verify on the decoded bytes; an agent with no name is "someone".
    d.store.acknowledge.mockClear();
    const ok = await handler({
      headers: { 'x-pagerduty-signature': signPagerDuty(key, body) },
      body: Buffer.from(body).toString('base64'),
      isBase64Encoded: true,
    });
    expect(ok.statusCode).toBe(202);
    expect(d.store.acknowledge).toHaveBeenCalledWith(
      'inc-1',
      'pagerduty:someone',
      'pagerduty',
      'PagerDuty incident P1 acknowledged',
    );
  });
});

describe('incident links', () => {
  const key = Buffer.alloc(32, 7);
  const nowMs = Date.parse('2026-11-22T02:00:00.000Z');
  const good = { incidentId: 'inc-orders-broker-failure-1', action: 'acknowledge', expires: String(nowMs / 1000 + 60) };
  const sig = signIncidentLink(key, { ...good, action: 'acknowledge', expires: Number(good.expires) });

  it('verify: a good link; malformed parts; another key; the expiry to the second', () => {
    expect(verifyIncidentLink(key, { ...good, sig }, nowMs)).toEqual({
      ok: true,
      claims: { incidentId: good.incidentId, action: 'acknowledge', expires: Number(good.expires) },
    });
    for (const bad of [
      { incidentId: '../x' },
      { incidentId: undefined },
      { action: 'approve' },
      { expires: '12a' },
      { sig: 'short' },
    ]) {
      expect(verifyIncidentLink(key, { ...good, sig, ...bad }, nowMs)).toEqual({ ok: false, why: 'malformed' });
    }
    expect(verifyIncidentLink(Buffer.alloc(32, 8), { ...good, sig }, nowMs)).toEqual({
      ok: false,
      why: 'bad-signature',
    });
    expect(verifyIncidentLink(key, { ...good, action: 'resolve', sig }, nowMs)).toEqual({
      ok: false,
      why: 'bad-signature',
    });
    expect(verifyIncidentLink(key, { ...good, sig }, nowMs + 59_999).ok).toBe(true);
    expect(verifyIncidentLink(key, { ...good, sig }, nowMs + 60_000)).toMatchObject({ ok: false, why: 'expired' });
  });

  it('an approval signature is never an incident link (their own domain prefixes)', () => {
    const approvalSig = signApproval(key, {
      approvalId: good.incidentId,
      decision: 'approve',
      expires: Number(good.expires),
    });
    expect(verifyIncidentLink(key, { ...good, sig: approvalSig }, nowMs)).toEqual({ ok: false, why: 'bad-signature' });
  });

  it('the links of a page: acknowledge and resolve, expiring together (24 h by default)', () => {
    const links = incidentLinks('https://x.example/v1/', key, 'inc-1', new Date(nowMs));
    expect(links.linksExpireAt).toBe('2026-11-23T02:00:00.000Z');
    expect(links.acknowledge.startsWith('https://x.example/v1/incidents/inc-1?action=acknowledge&expires=')).toBe(true);
    expect(links.resolve).toContain('action=resolve');
  });
});

describe('the MTTA metric', () => {
  const KEY = Buffer.alloc(32, 7);
  const NOW = new Date('2026-11-22T02:05:00.000Z');
  type Store = ReturnType<typeof deps>['store'];
  /** One acknowledgement through each deployed function, with the Lambdas' recordMtta and the house metrics. */
  const paths: Record<'cli' | 'page' | 'pagerduty', (store: Store) => () => Promise<unknown>> = {
    cli: (store) => {
      const handler = makeLifecycleCommandHandler({
        ...storePieces(store),
        now: () => NOW,
        recordMtta: (s, sec) => publishMtta(metrics, s, sec),
      });
      return () => handler({ incidentId: 'inc-1', action: 'acknowledge', by: 'operator:ada' });
    },
    page: (store) => {
      const endpoint = makeIncidentEndpoint({
        ...storePieces({ ...store, get: vi.fn(async () => ({ ...incident({ status: 'escalated' }), timeline: [] })) }),
        records: { useLink: vi.fn(async () => ({ first: true as const })), releaseLink: vi.fn(async () => undefined) },
        signingKey: staticSigningKey(KEY),
        now: () => NOW,
        recordMtta: (s, sec) => publishMtta(metrics, s, sec),
      });
      const link = new URL(incidentLinks('https://approvals.example', KEY, 'inc-1', NOW).acknowledge);
      // The page's form posts the link's fields and the name typed.
      link.searchParams.set('by', 'Ada');
      return () =>
        endpoint({
          httpMethod: 'POST',
          pathParameters: { incidentId: 'inc-1' },
          queryStringParameters: null,
          body: link.searchParams.toString(),
          isBase64Encoded: false,
        });
    },
    pagerduty: (store) => {
      const key = Buffer.from('k');
      const records = {
        claimEvent: vi.fn(async () => true),
        releaseEvent: vi.fn(async () => undefined),
        linkPagerDutyIncident: vi.fn(async () => undefined),
        incidentForPagerDuty: vi.fn(async () => undefined),
      };
      const handler = makePagerDutyWebhookHandler({
        ...storePieces({ ...store, storeRaw: vi.fn() }),
        records,
        secret: { get: async () => key },
        now: () => NOW,
        recordMtta: (s, sec) => publishMtta(metrics, s, sec),
      });
      let n = 0;
      return () => {
        const body = JSON.stringify({
          event: {
            id: `ev-${++n}`,
            event_type: 'incident.acknowledged',
            occurred_at: '2026-11-22T02:04:59Z',
            agent: null,
            data: { id: 'P1', type: 'incident', incident_key: 'inc-1' },
          },
        });
        return handler({
          headers: { 'X-PagerDuty-Signature': signPagerDuty(key, body) },
          body,
          isBase64Encoded: false,
        });
      };
    },
  };

  it.each(Object.keys(paths) as (keyof typeof paths)[])(
    'from %s: one document at the first acknowledgement (Severity only, seconds); none for a repeated one or a later one after a reopen',
    async (path) => {
      const store = deps().store;
      const acked = incident({ status: 'escalated', severity: 'SEV-1' });
      store.acknowledge
        .mockResolvedValueOnce({
          outcome: 'acknowledged',
          incident: acked,
          firstMtta: { seconds: 50, from: 'page' },
        } as never)
        .mockResolvedValueOnce({ outcome: 'already-acknowledged', incident: acked } as never)
        // Acknowledged again after a reopen: the store kept the first MTTA and says this one did not record it.
        .mockResolvedValueOnce({ outcome: 'acknowledged', incident: acked });
      const ack = paths[path](store);
      const lines: string[] = [];
      const spy = vi
        .spyOn(process.stdout, 'write')
        .mockImplementation((chunk: unknown) => (lines.push(String(chunk)), true));
      const emitted = () =>
        lines
          .join('')
          .split('\n')
          .filter((l) => l.includes(MTTA_METRIC))
          .map((l) => JSON.parse(l) as Record<string, unknown> & { _aws: { CloudWatchMetrics: unknown[] } });
      try {
        await ack();
        expect(emitted()).toHaveLength(1);
        await ack();
        await ack();
      } finally {
        spy.mockRestore();
      }
      expect(store.acknowledge).toHaveBeenCalledTimes(3);
      const docs = emitted();
      expect(docs).toHaveLength(1);
      expect(docs[0]).toEqual({
        _aws: {
          Timestamp: expect.any(Number),
          CloudWatchMetrics: [
            { Namespace: 'KafkaHeal', Dimensions: [['Severity']], Metrics: [{ Name: 'MttaSeconds', Unit: 'Seconds' }] },
          ],
        },
        Severity: 'SEV-1',
        MttaSeconds: 50,
      });
    },
  );
});
