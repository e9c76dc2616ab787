// DR steps without Kafka: target resolution refusals, the record-batch parser on hand-built
// batches, and the cluster steps' refusals. The real-Kafka paths run in
// test/integration/dr-failover-real-kafka.test.ts.
import { describe, expect, it, vi } from 'vitest';
import { makeClusterStepsHandler } from '#functions/cluster-steps/handler.js';
import { makeDrStepsHandler } from '#functions/cluster-steps/dr.js';
import { TopicReadError, parseRecordBatches } from '#functions/cluster-steps/heartbeats.js';
import { UnknownClusterError } from '#contracts/clusters-file.js';
import { RecoveryTargetError } from '#shared/recovery-errors.js';
import { isDrWorkflow, resolveDrTarget, type DrClusterEntry } from '#functions/workflow-steps/dr-target.js';

const dr = (over: Record<string, unknown> = {}) => ({
  peer: 'events-dr',
  hostedZoneId: 'Z0123456789ABCDEFGHIJ',
  recordName: 'Kafka.Example.com',
  endpoint: 'kafka-primary.example.com',
  ...over,
});
const entries = (
  primaryDr: DrClusterEntry['dr'],
  peerDr: DrClusterEntry['dr'] | null = dr({ peer: 'events', endpoint: 'kafka-dr.example.com.' }),
): DrClusterEntry[] => [
  { cluster: 'events', clusterStepsFunction: 'cs-events', dr: primaryDr },
  { cluster: 'events-dr', clusterStepsFunction: 'cs-events-dr', ...(peerDr === null ? {} : { dr: peerDr }) },
];
const input = { incidentId: 'inc-1', cluster: 'events' };

describe('resolveDrTarget', () => {
  it('failover: to the peer, with defaults, names normalized', () => {
    expect(resolveDrTarget('dr-failover', input, entries(dr()))).toMatchObject({
      fromCluster: 'events',
      toCluster: 'events-dr',
      toClusterStepsFunction: 'cs-events-dr',
      sourceAlias: 'events',
      recordName: 'kafka.example.com.',
      toValue: 'kafka-dr.example.com',
      ttl: 60,
      bootstrapPort: 9092,
      automatic: false,
      maxReplicationLagSeconds: 60,
      dryRun: false,
      // The primary is confirmed from inside its own VPC: unreachable before a failover...
      site: { cluster: 'events', clusterStepsFunction: 'cs-events', expect: 'unreachable' },
    });
    // ...and healthy before a failback (the switch's target is then the primary itself).
    expect(resolveDrTarget('dr-failback', input, entries(dr()))).toMatchObject({
      toCluster: 'events',
      site: { cluster: 'events', clusterStepsFunction: 'cs-events', expect: 'healthy' },
    });
    expect(isDrWorkflow('dr-failback')).toBe(true);
    expect(isDrWorkflow('broker-recovery')).toBe(false);
  });

  it('refuses what cannot be switched safely, each with its reason', () => {
    const refusal = (fn: () => unknown) => {
      try {
        fn();
      } catch (err) {
        expect(err).toBeInstanceOf(RecoveryTargetError);
        return (err as Error).message;
      }
      throw new Error('expected a refusal');
    };
    expect(refusal(() => resolveDrTarget('dr-failover', { cluster: 'events' }, entries(dr())))).toMatch(
      /execution input is not a DR request: incidentId/,
    );
    expect(refusal(() => resolveDrTarget('dr-failover', { ...input, cluster: 'nope' }, entries(dr())))).toMatch(
      /cluster nope is not configured/,
    );
    expect(refusal(() => resolveDrTarget('dr-failover', input, entries(undefined)))).toMatch(
      /has no DR pair with a Route 53 record/,
    );
    expect(refusal(() => resolveDrTarget('dr-failover', input, entries(dr({ peer: 'elsewhere' }))))).toMatch(
      /the DR peer elsewhere of events is not configured/,
    );
    expect(refusal(() => resolveDrTarget('dr-failover', input, entries(dr(), null)))).toMatch(
      /no endpoint is known for events-dr/,
    );
    expect(refusal(() => resolveDrTarget('dr-failback', input, entries(dr({ endpoint: undefined }))))).toMatch(
      /no endpoint is known for events/,
    );
  });
});

/** One record batch (format v2), uncompressed unless attributes say otherwise. */
function batch(opts: {
  baseOffset: number;
  baseTimestamp: number;
  maxTimestamp: number;
  attributes?: number;
  magic?: number;
  records: { offsetDelta: number; timestampDelta: number; value: Buffer | null }[];
}): Buffer {
  const zigzag = (n: number) => {
    let v = n >= 0 ? n * 2 : -n * 2 - 1;
    const out: number[] = [];
    do {
      let b = v % 128;
      v = Math.floor(v / 128);
      if (v > 0) b |= 0x80;
      out.push(b);
    } while (v > 0);
    return Buffer.from(out);
  };
  const records = opts.records.map((r) => {
    const body = Buffer.concat([
      Buffer.from([0]),
      zigzag(r.timestampDelta),
      zigzag(r.offsetDelta),
      zigzag(-1),
      r.value === null ? zigzag(-1) : Buffer.concat([zigzag(r.value.length), r.value]),
      zigzag(0),
    ]);
    return Buffer.concat([zigzag(body.length), body]);
  });
  const header = Buffer.alloc(61);
  header.writeBigInt64BE(BigInt(opts.baseOffset), 0);
  header.writeInt8(opts.magic ?? 2, 16);
  header.writeInt16BE(opts.attributes ?? 0, 21);
  header.writeBigInt64BE(BigInt(opts.baseTimestamp), 27);
  header.writeBigInt64BE(BigInt(opts.maxTimestamp), 35);
  header.writeInt32BE(opts.records.length, 57);
  const all = Buffer.concat([header, ...records]);
  all.writeInt32BE(all.length - 12, 8);
  return all;
}

describe('parseRecordBatches', () => {
  it('CreateTime: each record its own timestamp; LogAppendTime: the broker time for all; a partial batch at the end is skipped', () => {
    const hb = Buffer.alloc(10);
    hb.writeBigInt64BE(1_700_000_000_000n, 2);
    const a = batch({
      baseOffset: 10,
      baseTimestamp: 1000,
      maxTimestamp: 1005,
      records: [
        { offsetDelta: 0, timestampDelta: 0, value: Buffer.from('a') },
        { offsetDelta: 1, timestampDelta: 5, value: null },
      ],
    });
    const b = batch({
      baseOffset: 12,
      baseTimestamp: 1_700_000_000_000,
      maxTimestamp: 1_700_000_000_250,
      attributes: 0x08,
      records: [{ offsetDelta: 0, timestampDelta: 0, value: hb }],
    });
    const parsed = parseRecordBatches(Buffer.concat([a, b, b.subarray(0, 30)]));
    expect(parsed.map((r) => [r.offset, r.timestampType, r.timestamp, r.value?.length ?? null])).toEqual([
      [10, 'CreateTime', 1000, 1],
      [11, 'CreateTime', 1005, null],
      [12, 'LogAppendTime', 1_700_000_000_250, 10],
    ]);
    expect(parsed[2]?.value?.readBigInt64BE(2)).toBe(1_700_000_000_000n);
  });

  it('refuses compressed batches and old formats', () => {
    expect(() =>
      parseRecordBatches(batch({ baseOffset: 0, baseTimestamp: 0, maxTimestamp: 0, attributes: 1, records: [] })),
    ).toThrow(TopicReadError);
    expect(() =>
      parseRecordBatches(batch({ baseOffset: 0, baseTimestamp: 0, maxTimestamp: 0, magic: 1, records: [] })),
    ).toThrow(/format v1/);
  });
});

describe('DR cluster steps refusals', () => {
  it('an unknown cluster is refused before anything is asked', async () => {
    const steps = makeDrStepsHandler({
      clusters: () => [],
      probe: () => Promise.reject(new Error('must not probe')),
      kafka: () => {
        throw new Error('must not connect');
      },
      bootstrapFor: () => Promise.reject(new Error('must not resolve')),
      now: () => new Date(),
      timeoutMs: 100,
    });
    await expect(steps({ step: 'dr-backup', cluster: 'nope', incidentId: 'i' })).rejects.toBeInstanceOf(
      UnknownClusterError,
    );
  });

  it('prerequisites: an unreachable cluster with no heartbeats readable is not ready (DrPrerequisitesNotMet with both reasons)', async () => {
    const steps = makeDrStepsHandler({
      clusters: () => [{ name: 'events-dr', bootstrapServers: ['127.0.0.1:1'], brokerCount: 3 }],
      probe: async () => ({ status: 'down', bootstrapReachable: false, takenAt: new Date().toISOString() }) as never,
      kafka: () => {
        throw new Error('must not connect');
      },
      bootstrapFor: () => Promise.reject(new Error('must not resolve')),
      now: () => new Date(),
      timeoutMs: 200,
    });
    await expect(
      steps({ step: 'dr-prerequisites', cluster: 'events-dr', sourceAlias: 'events', maxLagSeconds: 60 }),
    ).rejects.toMatchObject({
      name: 'DrPrerequisitesNotMet',
      message: expect.stringMatching(
        /cannot reach events-dr.*replication lag unknown: cannot read events.heartbeats: no bootstrap server answered/,
      ),
    });
  });
});

describe('cluster steps of a secured cluster', () => {
  const sec = { sasl: { mechanism: 'SCRAM-SHA-512' as const, username: 'u', password: 'p' } };
  const refused = {
    status: 'auth-failed',
    bootstrapReachable: true,
    takenAt: '2026-01-01T00:00:00.000Z',
    registeredBrokers: [],
    brokers: [],
    partitions: { total: 0, offline: 0, underReplicated: 0, underMinIsr: 0, details: [] },
    security: {
      tls: false,
      refused: [{ server: 'b:9096', outcome: 'auth-failed', error: 'refused' }],
      certificates: [],
      minDaysToExpiry: null,
    },
  } as never;

  it("confirm: the probe gets the cluster's security; a refusal confirms nothing (inconclusive) and makes the secrets be read again", async () => {
    const loader = { load: vi.fn(() => Promise.resolve(sec)), forget: vi.fn() };
    let given: unknown;
    const steps = makeClusterStepsHandler({
      clusters: () => [{ name: 'events', bootstrapServers: ['b:9096'], brokerCount: 3 }],
      security: () => loader,
      probe: async (o) => {
        given = o.security;
        return refused;
      },
      timeoutMs: 100,
    });
    const r = await steps({ step: 'confirm', cluster: 'events', brokerId: 2 });
    expect(given).toBe(loader.load);
    expect(r).toMatchObject({
      step: 'confirm',
      verdict: 'inconclusive',
      brokerDown: false,
      clusterStatus: 'auth-failed',
    });
    expect(loader.forget).toHaveBeenCalledOnce();
  });

  it('DR steps: the kafkajs clients get the loaded security', async () => {
    const kafka = vi.fn(() => {
      throw new Error('stop here');
    });
    const steps = makeDrStepsHandler({
      clusters: () => [{ name: 'events-dr', bootstrapServers: ['127.0.0.1:1'], brokerCount: 3 }],
      security: () => ({ load: () => Promise.resolve(sec), forget: () => undefined }),
      probe: () => Promise.reject(new Error('must not probe')),
      kafka,
      bootstrapFor: () => Promise.reject(new Error('must not resolve')),
      now: () => new Date(),
      timeoutMs: 100,
    });
    await expect(steps({ step: 'dr-backup', cluster: 'events-dr', incidentId: 'i' })).rejects.toThrow('stop here');
    expect(kafka).toHaveBeenCalledWith(['127.0.0.1:1'], sec);
  });
});

describe('dr-site-probe: one fresh probe of the primary against what the switch needs', () => {
  const probeAnswering = (status: 'healthy' | 'degraded' | 'down') => {
    const opts: unknown[] = [];
    const steps = makeDrStepsHandler({
      clusters: () => [{ name: 'events', bootstrapServers: ['127.0.0.1:1', '127.0.0.1:2'], brokerCount: 3 }],
      probe: async (o) => {
        opts.push(o);
        return { status, bootstrapReachable: status !== 'down', takenAt: '2030-01-01T00:00:00.000Z' } as never;
      },
      kafka: () => {
        throw new Error('must not connect');
      },
      bootstrapFor: () => Promise.reject(new Error('must not resolve')),
      now: () => new Date(),
      timeoutMs: 250,
    });
    return { steps, opts };
  };

  it('failover: down confirms, healthy is a false alarm, degraded contradicts; the probe uses the configured servers and timeout', async () => {
    const down = probeAnswering('down');
    expect(await down.steps({ step: 'dr-site-probe', cluster: 'events', expect: 'unreachable' })).toEqual({
      step: 'dr-site-probe',
      verdict: 'confirms',
      status: 'down',
      summary: 'no broker of events answered (down, no bootstrap server answered)',
      at: '2030-01-01T00:00:00.000Z',
    });
    expect(down.opts).toEqual([
      expect.objectContaining({ bootstrapServers: ['127.0.0.1:1', '127.0.0.1:2'], expectedBrokers: 3, timeoutMs: 250 }),
    ]);
    expect(
      await probeAnswering('healthy').steps({ step: 'dr-site-probe', cluster: 'events', expect: 'unreachable' }),
    ).toMatchObject({ verdict: 'false-alarm', status: 'healthy' });
    expect(
      await probeAnswering('degraded').steps({ step: 'dr-site-probe', cluster: 'events', expect: 'unreachable' }),
    ).toMatchObject({ verdict: 'contradicts', status: 'degraded' });
  });

  it('failback: healthy confirms, anything else contradicts', async () => {
    expect(
      await probeAnswering('healthy').steps({ step: 'dr-site-probe', cluster: 'events', expect: 'healthy' }),
    ).toMatchObject({ verdict: 'confirms' });
    expect(
      await probeAnswering('down').steps({ step: 'dr-site-probe', cluster: 'events', expect: 'healthy' }),
    ).toMatchObject({ verdict: 'contradicts' });
  });
});

describe('probe metrics for the site-down alarm', () => {
  it('ClusterReachable is 1 when a bootstrap server answered, 0 when none did', async () => {
    const { probeMetricDocuments } = await import('#functions/probe/metrics.js');
    const { SNAPSHOTS } = await import('../statemachines/recovery-fixtures.js');
    const reachable = (bootstrapReachable: boolean) =>
      probeMetricDocuments('events', { ...SNAPSHOTS.healthy(), bootstrapReachable })[0]?.metrics.find(
        (m) => m.name === 'ClusterReachable',
      )?.value;
    expect(reachable(true)).toBe(1);
    expect(reachable(false)).toBe(0);
  });
});
