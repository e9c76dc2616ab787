import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  LocalZone,
  NameNotResolvedError,
  ROUTE53_RESOURCES,
  fqdn,
  route53Bindings,
  zoneResolver,
  type RecordSet,
} from '#local/stepfunctions/route53.js';
import { recordCalls, type Json, type TaskCall } from '#local/stepfunctions/index.js';

const ZONE = 'Z0123456789ABCDEFGHIJ';
const cname = (name: string, value: string, ttl = 5): RecordSet => ({
  Name: name,
  Type: 'CNAME',
  TTL: ttl,
  ResourceRecords: [{ Value: value }],
});
const upsert = (set: RecordSet, action = 'UPSERT') =>
  ({
    HostedZoneId: ZONE,
    ChangeBatch: { Comment: 'test', Changes: [{ Action: action, ResourceRecordSet: set }] },
  }) as unknown as Json;

function zone(opts: { propagationMs?: number; minPendingPolls?: number; clock?: { t: number } } = {}) {
  const clock = opts.clock ?? { t: 1_000 };
  const file = join(mkdtempSync(join(tmpdir(), 'kh-zone-')), 'zone.json');
  const z = new LocalZone({
    file,
    hostedZoneId: ZONE,
    zoneName: 'drill.local',
    records: [cname('kafka.drill.local', 'primary.drill.local')],
    propagationMs: opts.propagationMs ?? 1000,
    ...(opts.minPendingPolls !== undefined ? { minPendingPolls: opts.minPendingPolls } : {}),
    now: () => clock.t,
  });
  return { z, clock, file };
}

function errorOf(fn: () => unknown): { name: string; message: string } {
  try {
    fn();
  } catch (err) {
    return { name: (err as Error).name, message: (err as Error).message };
  }
  throw new Error('expected an error');
}

describe('local Route 53 zone', () => {
  it('UPSERT answers PENDING; getChange is PENDING until propagated, then INSYNC; resolvers see the value only then', () => {
    const { z, clock, file } = zone();
    const info = z.changeResourceRecordSets(upsert(cname('KAFKA.drill.local.', 'dr.drill.local'))).ChangeInfo;
    expect(info).toMatchObject({ Status: 'PENDING', Comment: 'test' });
    expect(info.Id).toMatch(/^\/change\/C[0-9A-F]{20}$/);
    expect(z.lookup('kafka.drill.local', 'CNAME')?.ResourceRecords).toEqual([{ Value: 'primary.drill.local' }]);
    expect(z.getChange({ Id: info.Id }).ChangeInfo.Status).toBe('PENDING');
    clock.t += 999;
    expect(z.getChange({ Id: info.Id.replace('/change/', '') }).ChangeInfo.Status).toBe('PENDING');
    clock.t += 1;
    expect(z.getChange({ Id: info.Id }).ChangeInfo.Status).toBe('INSYNC');
    expect(z.lookup('kafka.drill.local', 'CNAME')?.ResourceRecords).toEqual([{ Value: 'dr.drill.local' }]);
    // The zone is a file: another process (the drill's clients) reads the same state.
    expect(JSON.parse(readFileSync(file, 'utf8')).records).toEqual([
      { Name: 'kafka.drill.local.', Type: 'CNAME', TTL: 5, ResourceRecords: [{ Value: 'dr.drill.local' }] },
    ]);
  });

  it('a change is PENDING for at least one poll even when it propagated instantly', () => {
    const { z } = zone({ propagationMs: 0 });
    const { Id } = z.changeResourceRecordSets(upsert(cname('kafka.drill.local', 'dr.drill.local'))).ChangeInfo;
    expect(z.getChange({ Id }).ChangeInfo.Status).toBe('PENDING');
    expect(z.getChange({ Id }).ChangeInfo.Status).toBe('INSYNC');
  });

  it('refuses invalid change batches with Route 53 error names', () => {
    const { z } = zone();
    const cases: [Json, string, RegExp][] = [
      [
        upsert(cname('kafka.drill.local', 'x.drill.local'), 'CREATE'),
        'Route53.InvalidChangeBatchException',
        /already exists/,
      ],
      [
        upsert(cname('gone.drill.local', 'x.drill.local'), 'DELETE'),
        'Route53.InvalidChangeBatchException',
        /not found/,
      ],
      [
        upsert(cname('kafka.drill.local', 'other.drill.local'), 'DELETE'),
        'Route53.InvalidChangeBatchException',
        /do not match/,
      ],
      [
        upsert(cname('kafka.example.com', 'x.drill.local')),
        'Route53.InvalidChangeBatchException',
        /not permitted in zone drill.local./,
      ],
      [upsert(cname('drill.local', 'x.drill.local')), 'Route53.InvalidChangeBatchException', /apex/],
      [
        upsert({ ...cname('two.drill.local', 'a'), ResourceRecords: [{ Value: 'a' }, { Value: 'b' }] }),
        'Route53.InvalidChangeBatchException',
        /more than one value/,
      ],
      [
        upsert({ Name: 'kafka.drill.local', Type: 'A', TTL: 5, ResourceRecords: [{ Value: '127.0.0.1' }] }),
        'Route53.InvalidChangeBatchException',
        /conflicting RRSet of type CNAME/,
      ],
      [
        {
          HostedZoneId: ZONE,
          ChangeBatch: {
            Changes: [
              { Action: 'UPSERT', ResourceRecordSet: cname('a.drill.local', 'b') },
              { Action: 'UPSERT', ResourceRecordSet: cname('A.drill.local.', 'c') },
            ],
          },
        } as unknown as Json,
        'Route53.InvalidChangeBatchException',
        /more than one change/,
      ],
      [upsert(cname('kafka.drill.local', 'x'), 'REPLACE'), 'Route53.InvalidInputException', /CREATE, DELETE or UPSERT/],
      [upsert({ ...cname('kafka.drill.local', 'x'), TTL: -1 }), 'Route53.InvalidInputException', /TTL/],
      [
        upsert({ ...cname('kafka.drill.local', 'x'), ResourceRecords: [] }),
        'Route53.InvalidInputException',
        /at least one value/,
      ],
      [upsert({ ...cname('kafka.drill.local', 'x'), Type: 'MX' as never }), 'Route53.InvalidInputException', /Type/],
      [{ HostedZoneId: ZONE, ChangeBatch: { Changes: [] } }, 'Route53.InvalidInputException', /at least one change/],
      [
        { ...(upsert(cname('kafka.drill.local', 'x')) as object), HostedZoneId: 'ZNOPE' },
        'Route53.NoSuchHostedZoneException',
        /ZNOPE/,
      ],
    ];
    for (const [params, name, message] of cases) {
      const e = errorOf(() => z.changeResourceRecordSets(params));
      expect(e.name, JSON.stringify(params)).toBe(name);
      expect(e.message).toMatch(message);
    }
    // Nothing was applied by any refused batch.
    expect(z.listResourceRecordSets({ HostedZoneId: ZONE }).ResourceRecordSets).toEqual([
      { Name: 'kafka.drill.local.', Type: 'CNAME', TTL: 5, ResourceRecords: [{ Value: 'primary.drill.local' }] },
    ]);
    expect(errorOf(() => z.getChange({ Id: '/change/CNOPE' })).name).toBe('Route53.NoSuchChangeException');
  });

  it('validates a batch against accepted but not yet INSYNC changes', () => {
    const { z } = zone();
    z.changeResourceRecordSets(upsert(cname('new.drill.local', 'dr.drill.local'), 'CREATE'));
    expect(
      errorOf(() => z.changeResourceRecordSets(upsert(cname('new.drill.local', 'dr.drill.local'), 'CREATE'))).message,
    ).toMatch(/already exists/);
  });

  it('lists record sets in Route 53 order from a start name, with paging fields', () => {
    const { z } = zone({ propagationMs: 0, minPendingPolls: 0 });
    z.changeResourceRecordSets({
      HostedZoneId: ZONE,
      ChangeBatch: {
        Changes: [
          { Action: 'CREATE', ResourceRecordSet: cname('a.drill.local', 'x') },
          {
            Action: 'CREATE',
            ResourceRecordSet: { Name: 'z.drill.local', Type: 'TXT', TTL: 1, ResourceRecords: [{ Value: '"t"' }] },
          },
        ],
      },
    } as unknown as Json);
    const page = z.listResourceRecordSets({
      HostedZoneId: ZONE,
      StartRecordName: 'kafka.drill.local',
      StartRecordType: 'CNAME',
      MaxItems: '1',
    });
    expect(page).toMatchObject({
      IsTruncated: true,
      MaxItems: '1',
      NextRecordName: 'z.drill.local.',
      NextRecordType: 'TXT',
    });
    expect(page.ResourceRecordSets.map((r) => r.Name)).toEqual(['kafka.drill.local.']);
    expect(z.listResourceRecordSets({ HostedZoneId: ZONE }).ResourceRecordSets.map((r) => r.Name)).toEqual([
      'a.drill.local.',
      'kafka.drill.local.',
      'z.drill.local.',
    ]);
    expect(errorOf(() => z.listResourceRecordSets({ HostedZoneId: ZONE, StartRecordType: 'A' })).name).toBe(
      'Route53.InvalidInputException',
    );
    expect(errorOf(() => z.listResourceRecordSets({ HostedZoneId: ZONE, MaxItems: '0' })).name).toBe(
      'Route53.InvalidInputException',
    );
  });

  it('resolver: follows CNAMEs to an endpoint, caches for the TTL like a client, refuses names that lead nowhere', () => {
    const { z, clock } = zone({ propagationMs: 0, minPendingPolls: 0 });
    const r = zoneResolver({
      zone: z,
      endpoints: { 'primary.drill.local': ['127.0.0.1:1001'], 'dr.drill.local.': ['127.0.0.1:2001', '127.0.0.1:2002'] },
      now: () => clock.t,
    });
    expect(r.resolve('kafka.drill.local:9092')).toEqual(['127.0.0.1:1001']);
    z.changeResourceRecordSets(upsert(cname('kafka.drill.local', 'dr.drill.local')));
    expect(r.resolve('kafka.drill.local:9092'), 'cached for the 5 s TTL').toEqual(['127.0.0.1:1001']);
    clock.t += 5000;
    expect(r.resolve('kafka.drill.local')).toEqual(['127.0.0.1:2001', '127.0.0.1:2002']);
    r.flush();
    expect(r.resolve('dr.drill.local')).toEqual(['127.0.0.1:2001', '127.0.0.1:2002']);
    expect(() => r.resolve('nowhere.drill.local')).toThrow(NameNotResolvedError);
  });

  it('bindings: the three Route 53 resources act on the zone', async () => {
    const { z } = zone({ propagationMs: 0 });
    const { registry, calls } = recordCalls(route53Bindings(z));
    const call = {} as TaskCall;
    const change = (await registry[ROUTE53_RESOURCES.changeResourceRecordSets]?.(
      upsert(cname('kafka.drill.local', 'dr.drill.local')),
      call,
    )) as { ChangeInfo: { Id: string } };
    await registry[ROUTE53_RESOURCES.getChange]?.({ Id: change.ChangeInfo.Id }, call);
    const listed = (await registry[ROUTE53_RESOURCES.listResourceRecordSets]?.(
      { HostedZoneId: `/hostedzone/${ZONE}`, StartRecordName: 'kafka.drill.local', MaxItems: '1' },
      call,
    )) as unknown as { ResourceRecordSets: RecordSet[] };
    expect(listed.ResourceRecordSets[0]?.ResourceRecords).toEqual([{ Value: 'dr.drill.local' }]);
    expect(calls.map((c) => c.resource)).toEqual(Object.values(ROUTE53_RESOURCES));
    expect(fqdn(' Kafka.Drill.Local ')).toBe('kafka.drill.local.');
  });
});
