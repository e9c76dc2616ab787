import { describe, expect, it } from 'vitest';
import { canaryVerdict, drReadiness, heartbeatLag, siteProbeVerdict, type LagReading } from '#domain/dr.js';

const T = 1_800_000_000_000;
const measured = (lagMs: number): LagReading => ({ kind: 'measured', lagMs, sentAt: T - lagMs, appendedAt: T });

describe('heartbeatLag', () => {
  it('no heartbeat replicated yet: unknown', () => {
    expect(heartbeatLag([], 'primary.heartbeats')).toEqual({
      kind: 'unknown',
      reason: 'no MirrorMaker 2 heartbeat has been replicated into primary.heartbeats yet',
    });
  });

  it('takes the newest append time across partitions and subtracts the send time', () => {
    const lag = heartbeatLag(
      [
        { timestampType: 'LogAppendTime', timestamp: T - 5000, sentAt: T - 5100 },
        { timestampType: 'LogAppendTime', timestamp: T, sentAt: T - 250 },
      ],
      'primary.heartbeats',
    );
    expect(lag).toEqual({ kind: 'measured', lagMs: 250, sentAt: T - 250, appendedAt: T });
  });

  it('clocks a little apart never give a negative lag', () => {
    expect(heartbeatLag([{ timestampType: 'LogAppendTime', timestamp: T, sentAt: T + 40 }], 'h')).toMatchObject({
      kind: 'measured',
      lagMs: 0,
    });
  });

  it('CreateTime loses the arrival time: unknown, and says how to fix it', () => {
    expect(
      heartbeatLag([{ timestampType: 'CreateTime', timestamp: T, sentAt: T }], 'primary.heartbeats'),
    ).toMatchObject({ kind: 'unknown', reason: expect.stringContaining('message.timestamp.type=LogAppendTime') });
  });

  it('a record that is not a heartbeat: unknown', () => {
    expect(heartbeatLag([{ timestampType: 'LogAppendTime', timestamp: T, sentAt: null }], 'x.heartbeats')).toEqual({
      kind: 'unknown',
      reason: 'the newest record of x.heartbeats is not a MirrorMaker 2 heartbeat',
    });
  });
});

describe('drReadiness', () => {
  const base = { cluster: 'events-dr', status: 'healthy' as const, bootstrapReachable: true, maxLagSeconds: 60 };

  it('healthy, reachable, lag exactly at the bound: ready (the bound is inclusive, to the millisecond)', () => {
    const r = drReadiness({ ...base, lag: measured(60_000) });
    expect(r).toEqual({
      ready: true,
      healthy: true,
      lagSeconds: 60,
      reasons: [],
      summary: 'events-dr is healthy and reachable, replication lag 60.000 s (max 60 s)',
    });
  });

  it('one millisecond over the bound: not ready', () => {
    const r = drReadiness({ ...base, lag: measured(60_001) });
    expect(r.ready).toBe(false);
    expect(r.healthy).toBe(true);
    expect(r.reasons).toEqual(['replication lag 60.001 s exceeds the allowed 60 s']);
    expect(r.summary).toBe('events-dr is not ready: replication lag 60.001 s exceeds the allowed 60 s');
  });

  it('unreachable: a connectivity reason, not a status one', () => {
    const r = drReadiness({ ...base, status: 'down', bootstrapReachable: false, lag: measured(10) });
    expect(r).toMatchObject({
      ready: false,
      healthy: false,
      reasons: ['cannot reach events-dr: no bootstrap server answered'],
    });
  });

  it('reachable but degraded, lag unknown: both reasons', () => {
    const r = drReadiness({ ...base, status: 'degraded', lag: { kind: 'unknown', reason: 'no heartbeat' } });
    expect(r).toMatchObject({
      ready: false,
      healthy: false,
      lagSeconds: null,
      reasons: ['events-dr is degraded, not healthy', 'replication lag unknown: no heartbeat'],
    });
  });

  it('healthy but lag unknown: not ready, the summary says why', () => {
    expect(drReadiness({ ...base, lag: { kind: 'unknown', reason: 'x' } }).summary).toBe(
      'events-dr is not ready: replication lag unknown: x',
    );
  });
});

describe('canaryVerdict', () => {
  const base = { recordName: 'kafka.drill.local.', sent: 'c-1' };

  it('the expected cluster answered through the name and the canary came back: ok', () => {
    expect(canaryVerdict({ ...base, expectedClusterId: 'A', reachedClusterId: 'A', received: 'c-1' })).toEqual({
      ok: true,
      summary: 'kafka.drill.local. leads to cluster A; the canary made the round trip',
    });
  });

  it('the name still leads to the old cluster: not ok', () => {
    expect(canaryVerdict({ ...base, expectedClusterId: 'A', reachedClusterId: 'B', received: null })).toEqual({
      ok: false,
      summary: 'kafka.drill.local. leads to cluster B, expected A',
    });
  });

  it('the name leads nowhere: not ok', () => {
    expect(canaryVerdict({ ...base, expectedClusterId: 'A', reachedClusterId: null, received: null }).summary).toBe(
      'kafka.drill.local. leads to cluster nothing, expected A',
    );
  });

  it('the target itself did not answer: not ok', () => {
    expect(canaryVerdict({ ...base, expectedClusterId: null, reachedClusterId: null, received: null })).toEqual({
      ok: false,
      summary: 'the target cluster did not answer with its cluster id',
    });
  });

  it('the canary was lost or altered: not ok', () => {
    expect(canaryVerdict({ ...base, expectedClusterId: 'A', reachedClusterId: 'A', received: null }).summary).toBe(
      'the canary sent through kafka.drill.local. was not read back',
    );
    expect(canaryVerdict({ ...base, expectedClusterId: 'A', reachedClusterId: 'A', received: 'other' }).summary).toBe(
      'the canary sent through kafka.drill.local. was read back altered',
    );
  });
});

describe('siteProbeVerdict', () => {
  const failover = { cluster: 'events', expect: 'unreachable' as const };
  const failback = { cluster: 'events', expect: 'healthy' as const };

  it('failover: no broker answered confirms the site is down', () => {
    expect(siteProbeVerdict({ ...failover, status: 'down', bootstrapReachable: false })).toEqual({
      verdict: 'confirms',
      summary: 'no broker of events answered (down, no bootstrap server answered)',
    });
    // A bootstrap server that answers while no broker does (metadata lists brokers that do not answer) is still down.
    expect(siteProbeVerdict({ ...failover, status: 'down', bootstrapReachable: true })).toEqual({
      verdict: 'confirms',
      summary: 'no broker of events answered (down)',
    });
  });

  it('failover: a healthy answer makes the site-down signal a false alarm', () => {
    expect(siteProbeVerdict({ ...failover, status: 'healthy', bootstrapReachable: true })).toEqual({
      verdict: 'false-alarm',
      summary: 'events answered and is healthy',
    });
  });

  it('failover: an answer that is not healthy contradicts a site failure (degraded, unknown)', () => {
    for (const status of ['degraded', 'unknown'] as const) {
      expect(siteProbeVerdict({ ...failover, status, bootstrapReachable: true })).toEqual({
        verdict: 'contradicts',
        summary: `events answered (${status}): the site is not down, so it is not failed over`,
      });
    }
  });

  it('failback: only a healthy primary confirms; anything else contradicts', () => {
    expect(siteProbeVerdict({ ...failback, status: 'healthy', bootstrapReachable: true })).toEqual({
      verdict: 'confirms',
      summary: 'events answered and is healthy',
    });
    expect(siteProbeVerdict({ ...failback, status: 'degraded', bootstrapReachable: true })).toEqual({
      verdict: 'contradicts',
      summary: 'events is not healthy (degraded): clients are not moved back to it',
    });
    expect(siteProbeVerdict({ ...failback, status: 'down', bootstrapReachable: false })).toEqual({
      verdict: 'contradicts',
      summary: 'events is not healthy (down, no bootstrap server answered): clients are not moved back to it',
    });
  });
});
