// DR failover and failback rules: when the standby cluster may take the clients (it is healthy,
// reachable, and MirrorMaker 2 kept it within the allowed replication lag), and whether a canary
// sent through the bootstrap DNS name proved the switch. Pure: the cluster steps Lambda reads
// the facts (probe snapshot, replicated heartbeats, canary round trip) and acts on the verdict.
import type { SnapshotStatus } from './snapshot.js';

/**
 * MirrorMaker 2's replicated heartbeat as read on the standby: its record timestamp (the standby's
 * append time once the topic uses LogAppendTime) and the source's send time from its value.
 */
export interface HeartbeatReading {
  timestampType: 'CreateTime' | 'LogAppendTime';
  timestamp: number;
  /** The source cluster's send time, or null when the value is not an MM2 heartbeat. */
  sentAt: number | null;
}

export type LagReading =
  { kind: 'measured'; lagMs: number; sentAt: number; appendedAt: number } | { kind: 'unknown'; reason: string };

/**
 * Replication lag from the newest replicated heartbeat: standby append time minus source send
 * time. It describes the moment the last heartbeat crossed, so it stays meaningful after the
 * source site is gone: it is the RPO at failure. With CreateTime the append time is lost, so the
 * lag is unknown rather than guessed.
 */
export function heartbeatLag(readings: HeartbeatReading[], topic: string): LagReading {
  const newest = [...readings].sort((a, b) => b.timestamp - a.timestamp)[0];
  if (!newest) return { kind: 'unknown', reason: `no MirrorMaker 2 heartbeat has been replicated into ${topic} yet` };
  if (newest.timestampType !== 'LogAppendTime') {
    return {
      kind: 'unknown',
      reason: `${topic} keeps the source's CreateTime; set message.timestamp.type=LogAppendTime on it so the standby records when each heartbeat arrived`,
    };
  }
  if (newest.sentAt === null)
    return { kind: 'unknown', reason: `the newest record of ${topic} is not a MirrorMaker 2 heartbeat` };
  return {
    kind: 'measured',
    lagMs: Math.max(0, newest.timestamp - newest.sentAt),
    sentAt: newest.sentAt,
    appendedAt: newest.timestamp,
  };
}

export interface ReadinessInput {
  /** The cluster that is to take the clients (DR on failover, the primary on failback). */
  cluster: string;
  status: SnapshotStatus;
  bootstrapReachable: boolean;
  lag: LagReading;
  maxLagSeconds: number;
}

export interface Readiness {
  ready: boolean;
  healthy: boolean;
  lagSeconds: number | null;
  reasons: string[];
  summary: string;
}

/** Prerequisites of a switch: connectivity, a healthy target, replication lag within the bound (inclusive). */
export function drReadiness(x: ReadinessInput): Readiness {
  const reasons: string[] = [];
  if (!x.bootstrapReachable) reasons.push(`cannot reach ${x.cluster}: no bootstrap server answered`);
  else if (x.status !== 'healthy') reasons.push(`${x.cluster} is ${x.status}, not healthy`);
  let lagSeconds: number | null = null;
  if (x.lag.kind === 'unknown') reasons.push(`replication lag unknown: ${x.lag.reason}`);
  else {
    lagSeconds = x.lag.lagMs / 1000;
    if (x.lag.lagMs > x.maxLagSeconds * 1000)
      reasons.push(`replication lag ${lagSeconds.toFixed(3)} s exceeds the allowed ${x.maxLagSeconds} s`);
  }
  const healthy = x.bootstrapReachable && x.status === 'healthy';
  const ready = reasons.length === 0;
  const lagText =
    lagSeconds === null ? 'lag unknown' : `replication lag ${lagSeconds.toFixed(3)} s (max ${x.maxLagSeconds} s)`;
  const summary = ready
    ? `${x.cluster} is healthy and reachable, ${lagText}`
    : `${x.cluster} is not ready: ${reasons.join('; ')}`;
  return { ready, healthy, lagSeconds, reasons, summary };
}

export interface CanaryObservation {
  recordName: string;
  /** The cluster id of the cluster the switch should reach, asked through its own bootstrap servers. */
  expectedClusterId: string | null;
  /** The cluster id answered through the DNS name. */
  reachedClusterId: string | null;
  /** The canary value sent through the DNS name, and what was read back (null: nothing). */
  sent: string;
  received: string | null;
}

/** A switch is proven only when the DNS name leads to the expected cluster and a canary makes the round trip. */
export function canaryVerdict(c: CanaryObservation): { ok: boolean; summary: string } {
  if (c.expectedClusterId === null)
    return { ok: false, summary: `the target cluster did not answer with its cluster id` };
  if (c.reachedClusterId !== c.expectedClusterId) {
    return {
      ok: false,
      summary: `${c.recordName} leads to cluster ${c.reachedClusterId ?? 'nothing'}, expected ${c.expectedClusterId}`,
    };
  }
  if (c.received !== c.sent)
    return {
      ok: false,
      summary: `the canary sent through ${c.recordName} was ${c.received === null ? 'not read back' : 'read back altered'}`,
    };
  return {
    ok: true,
    summary: `${c.recordName} leads to cluster ${c.expectedClusterId}; the canary made the round trip`,
  };
}

/**
 * What a DR switch needs the primary to be before the record moves (trust no single signal):
 * failover needs it unreachable, failback needs it healthy, each on several consecutive probes.
 */
export type SiteExpectation = 'unreachable' | 'healthy';

export interface SiteProbeInput {
  /** The primary cluster, probed from inside its own VPC. */
  cluster: string;
  expect: SiteExpectation;
  status: SnapshotStatus;
  bootstrapReachable: boolean;
}

/**
 * One probe of the primary against what the switch needs:
 * - confirms      the probe found what the switch needs (no broker answered; or healthy)
 * - false-alarm   failover only: the primary answered and is healthy, the site-down signal was wrong
 * - contradicts   anything else: the primary answered but is not healthy (failover: not a site
 *                 failure, the broker runbooks or people own it), or it is not healthy (failback)
 */
export type SiteProbeVerdict = 'confirms' | 'false-alarm' | 'contradicts';

export function siteProbeVerdict(p: SiteProbeInput): { verdict: SiteProbeVerdict; summary: string } {
  const seen = p.bootstrapReachable ? p.status : `${p.status}, no bootstrap server answered`;
  if (p.expect === 'unreachable') {
    if (p.status === 'down') return { verdict: 'confirms', summary: `no broker of ${p.cluster} answered (${seen})` };
    if (p.status === 'healthy') return { verdict: 'false-alarm', summary: `${p.cluster} answered and is healthy` };
    return {
      verdict: 'contradicts',
      summary: `${p.cluster} answered (${seen}): the site is not down, so it is not failed over`,
    };
  }
  if (p.status === 'healthy') return { verdict: 'confirms', summary: `${p.cluster} answered and is healthy` };
  return { verdict: 'contradicts', summary: `${p.cluster} is not healthy (${seen}): clients are not moved back to it` };
}
