// Bad input and failure paths of the incident-reading commands and their store; the happy paths
// run against DynamoDB Local in test/integration/cli-incidents.test.ts.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { renderIncident, renderList, shortTime } from '#cli/commands/incidents.js';
import { main } from '#cli/main.js';
import { describeStoreError, openStore } from '#cli/store.js';
import { IncidentNotFoundError } from '#shared/errors.js';
import type { IncidentWithTimeline } from '#tools/incident-store.js';
import { captureIO, closedPort } from '../support/helpers.js';

async function cli(...argv: string[]) {
  const io = captureIO();
  const code = await main(argv, io);
  return { code, out: io.out, err: io.err };
}

beforeEach(() => {
  vi.stubEnv('KAFKA_HEAL_TABLE', undefined);
  vi.stubEnv('AWS_REGION', undefined);
  vi.stubEnv('AWS_DEFAULT_REGION', undefined);
});
afterEach(() => {
  vi.unstubAllEnvs();
});

const incident: IncidentWithTimeline = {
  id: 'broker-failure-orders-b2',
  cluster: 'orders',
  type: 'broker-failure',
  severity: 'SEV-2',
  status: 'remediating',
  brokers: [{ id: 2, firstSeenAt: '2026-11-22T02:00:00.000Z' }],
  openedAt: '2026-11-22T02:00:05.000Z',
  fingerprints: ['alarm:broker-2-down'],
  signalCount: 3,
  detectedAt: '2026-11-22T02:00:00.000Z',
  lastSignalAt: '2026-11-22T02:00:30.000Z',
  executionArn:
    'arn:aws:states:eu-west-1:123456789012:execution:kafka-heal-prod-broker-recovery:broker-failure-orders-b2',
  version: 3,
  timeline: [
    {
      at: '2026-11-22T02:00:40.000Z',
      actor: 'workflow:broker-recovery',
      action: 'host-diagnosed',
      detail: 'service failed',
      reasons: ['OOM killer'],
    },
    { at: '2026-11-22T02:00:05.000Z', actor: 'classifier', action: 'incident-opened', result: 'remediate' },
  ],
};

describe('incidents rendering', () => {
  it('shows an active incident with its age, execution and the timeline sorted by time', () => {
    const text = renderIncident(incident, new Date('2026-11-22T02:10:00.000Z'));
    expect(text).toContain('SEV-2  broker-failure  on cluster orders  -- REMEDIATING');
    expect(text).toContain('brokers: 2 (first seen 2026-11-22 02:00:00Z)');
    expect(text).toContain('paged -   acknowledged -   resolved -');
    expect(text).toContain('MTTD n/a   MTTA n/a   MTTR n/a (open 10 min)   signals 3');
    expect(text).not.toContain('acknowledged by');
    expect(text).toContain(`execution: ${incident.executionArn}`);
    const rows = text.split('\n').slice(-2);
    expect(rows[0]).toMatch(/^ {2}02:00:05Z +T\+5s +classifier +incident-opened +remediate$/);
    expect(rows[1]).toMatch(
      /^ {2}02:00:40Z +T\+40s +workflow:broker-recovery +host-diagnosed +service failed; OOM killer$/,
    );
  });

  it('says when the timeline is empty and copes with an unparseable detection time', () => {
    const text = renderIncident(
      {
        ...incident,
        brokers: [],
        executionArn: undefined,
        detectedAt: 'garbage',
        timeline: [],
      } as unknown as IncidentWithTimeline,
      new Date(),
    );
    expect(text).toContain('timeline (0 entries; UTC, offset from detection):\n  (empty)');
    expect(text).not.toContain('brokers:');
    expect(text).toContain('detected garbage');
    expect(text).toContain('MTTR n/a (-)');
    const one = renderIncident(
      { ...incident, detectedAt: 'garbage', timeline: incident.timeline.slice(0, 1) },
      new Date(),
    );
    expect(one).toContain('timeline (1 entry;');
    expect(one).toMatch(/02:00:40Z {10}workflow/);
  });

  it('lists incidents with MTTR once resolved, and says when none match', () => {
    const resolved = { ...incident, id: 'x', status: 'resolved' as const, mttrSeconds: 95, brokers: [] };
    const text = renderList([incident, resolved], new Date('2026-11-22T03:00:00.000Z'));
    expect(text.split('\n')[1]).toMatch(
      /broker-failure-orders-b2 +orders +broker-failure +SEV-2 +remediating +2026-11-22 02:00:05Z +2 +- +open 1 h$/,
    );
    expect(text.split('\n')[2]).toMatch(/resolved +2026-11-22 02:00:05Z +- +- +mttr 1 min 35 s$/);
    expect(text.split('\n')[3]).toBe('2 incidents, 1 active');
    expect(renderList([resolved], new Date()).split('\n')[2]).toBe('1 incident, 0 active');
    expect(renderList([], new Date())).toBe('no incidents match');
  });

  it('shows who acknowledged and resolved it, from where, MTTA, the link and reopenings', () => {
    const done = {
      ...incident,
      status: 'escalated' as const,
      firstPagedAt: '2026-11-22T02:00:06.000Z',
      acknowledgedAt: '2026-11-22T02:02:06.000Z',
      acknowledgedBy: 'pagerduty:Ada Lovelace',
      acknowledgedVia: 'pagerduty' as const,
      mttaSeconds: 120,
      mttaFrom: 'page' as const,
      resolvedBy: 'auto-resolve',
      resolvedVia: 'auto-resolve' as const,
      linkedTo: 'inc-orders-b1',
      reopenCount: 1,
      holdOpen: true,
    };
    const text = renderIncident(done, new Date('2026-11-22T02:10:00.000Z'));
    expect(text).toContain('paged 2026-11-22 02:00:06Z   acknowledged 2026-11-22 02:02:06Z');
    expect(text).toContain('acknowledged by pagerduty:Ada Lovelace (pagerduty)');
    expect(text).toContain('resolved by auto-resolve (auto-resolve)');
    expect(text).toContain('linked to escalated incident inc-orders-b1');
    expect(text).toContain('reopened 1 time(s); held open for people');
    expect(text).toContain('MTTA 2 min from the page');
    expect(
      renderIncident(
        { ...done, mttaFrom: 'detection', acknowledgedVia: undefined, resolvedVia: undefined, holdOpen: undefined },
        new Date(),
      ),
    ).toMatch(/MTTA 2 min from the detection[\s\S]*/);
    expect(renderList([done], new Date('2026-11-22T02:10:00.000Z')).split('\n')[1]).toMatch(/ 2 min +open 10 min$/);
  });

  it('prints times in UTC to the second', () => {
    expect(shortTime('2026-11-22T02:00:05.123+01:00')).toBe('2026-11-22 01:00:05Z');
    expect(shortTime(undefined)).toBe('-');
    expect(shortTime('yesterday')).toBe('yesterday');
  });
});

describe('store flags', () => {
  it.each([
    [
      ['incidents', 'list'],
      'kafka-heal incidents list: no incident table: give --table NAME or set KAFKA_HEAL_TABLE (the stack output IncidentTableName)',
    ],
    [
      ['incidents', 'list', '--table', 'x'],
      'kafka-heal incidents list: --table must be a DynamoDB table name (3-255 of A-Z a-z 0-9 _ . -), got "x"',
    ],
    [
      ['incidents', 'list', '--table', 'incidents'],
      'kafka-heal incidents list: no AWS region: give --region or set AWS_REGION (or --endpoint for DynamoDB Local)',
    ],
    [
      ['incidents', 'list', '--table', 'incidents', '--region', 'Europe'],
      'kafka-heal incidents list: --region must be an AWS region like eu-west-1, got "Europe"',
    ],
    [
      ['incidents', 'list', '--table', 'incidents', '--endpoint', 'localhost'],
      'kafka-heal incidents list: --endpoint must be a URL like http://127.0.0.1:8000, got "localhost"',
    ],
    [
      ['incidents', 'list', '--table', 'incidents', '--endpoint', 'ftp://127.0.0.1:8000'],
      'kafka-heal incidents list: --endpoint must be an http(s) URL, got "ftp://127.0.0.1:8000"',
    ],
    [
      ['incidents', 'list', '--status', 'closed'],
      'kafka-heal incidents list: --status must be one of open, remediating, awaiting-approval, escalated, resolved, suppressed, got "closed"',
    ],
    [['incidents', 'list', '--cluster', ''], 'kafka-heal incidents list: --cluster must not be empty'],
    [['incidents', 'show'], 'kafka-heal incidents show: expected exactly one incident id, got none'],
    [['incidents', 'show', 'a', 'b'], 'kafka-heal incidents show: expected exactly one incident id, got a b'],
    [['incidents', 'show', '../etc/passwd'], 'kafka-heal incidents show: not an incident id: "../etc/passwd"'],
    [['postmortem'], 'kafka-heal postmortem: expected exactly one incident id, got none'],
    [['postmortem', 'x-1', '--out', ''], 'kafka-heal postmortem: --out must name a file'],
  ])('%j -> exit 2, one line', async (argv, line) => {
    const r = await cli(...argv);
    expect(r.code).toBe(2);
    expect(r.out).toEqual([]);
    expect(r.err).toEqual([line]);
  });

  it('takes the region from AWS_REGION, then AWS_DEFAULT_REGION; --region wins', () => {
    vi.stubEnv('AWS_DEFAULT_REGION', 'us-west-2');
    expect(openStore({ table: 'incidents' }).where).toBe('AWS us-west-2');
    vi.stubEnv('AWS_REGION', 'eu-west-1');
    const opened = openStore({ table: 'incidents' });
    expect(opened.where).toBe('AWS eu-west-1');
    expect(opened.tableName).toBe('incidents');
    opened.close();
    expect(openStore({ table: 'incidents', region: 'ap-southeast-2' }).where).toBe('AWS ap-southeast-2');
    vi.stubEnv('KAFKA_HEAL_TABLE', 'from-env');
    expect(openStore({}).tableName).toBe('from-env');
    expect(openStore({ endpoint: 'http://127.0.0.1:8000' }).where).toBe('DynamoDB Local at http://127.0.0.1:8000');
  });

  it('says in one line, exit 1, when DynamoDB Local is not there', async () => {
    const port = await closedPort();
    for (const [name, argv] of [
      ['incidents list', ['incidents', 'list']],
      ['incidents show', ['incidents', 'show', 'x-1']],
      ['postmortem', ['postmortem', 'x-1']],
    ] as const) {
      const r = await cli(...argv, '--endpoint', `http://127.0.0.1:${port}`, '--table', 'incidents');
      expect(r.code).toBe(1);
      expect(r.err).toEqual([
        `kafka-heal ${name}: cannot reach DynamoDB Local at http://127.0.0.1:${port} (ECONNREFUSED)`,
      ]);
    }
  });

  it('explains store errors in words', () => {
    const where = { tableName: 'incidents', where: 'AWS eu-west-1' };
    expect(describeStoreError(new IncidentNotFoundError('x-1'), where)).toBe(
      'no incident x-1 in table incidents (AWS eu-west-1); list them with kafka-heal incidents list',
    );
    expect(
      describeStoreError(Object.assign(new Error('gone'), { name: 'ResourceNotFoundException' }), where),
    ).toContain('table incidents not found (AWS eu-west-1)');
    expect(describeStoreError(Object.assign(new Error('x'), { code: 'ENOTFOUND' }), where)).toBe(
      'cannot reach AWS eu-west-1 (ENOTFOUND)',
    );
    expect(
      describeStoreError(
        Object.assign(new Error('Could not load credentials'), { name: 'CredentialsProviderError' }),
        where,
      ),
    ).toBe('no AWS credentials (Could not load credentials); set AWS_PROFILE or AWS_ACCESS_KEY_ID');
    expect(describeStoreError(new TypeError('boom'), where)).toBe('TypeError: boom (AWS eu-west-1, table incidents)');
  });
});
