// The drill's ZooKeeper exporter + Prometheus rule + Alertmanager stand-in: the rule's `for`
// window to the millisecond, one notification per state change, and a payload the shipped
// ingest normalizer turns into the quorum-loss signal of the right cluster (firing and resolved).
import { describe, expect, it } from 'vitest';
import { classify } from '#domain/classify.js';
import { normalize } from '#domain/normalize/index.js';
import { parsePolicy } from '#domain/policy.js';
import type { EnsembleObservation, ZkServerMode } from '#domain/quorum-recovery.js';
import type { ClusterFacts } from '#domain/types.js';
import { ZookeeperQuorumRule, ZK_QUORUM_ALERT } from '#local/drill/zookeeper-alerts.js';

const ens = (...modes: ZkServerMode[]): EnsembleObservation => ({
  servers: modes.map((mode, i) => ({ server: `127.0.0.1:${2181 + i}`, mode })),
});
const LOST = ens('not-serving', 'not-serving', 'leader');
const LED = ens('follower', 'leader', 'follower');
const FACTS: ClusterFacts = {
  name: 'zk-orders',
  aliases: [],
  platform: 'ec2',
  metadataMode: 'zookeeper',
  brokerCount: 3,
  hasDr: false,
  automaticFailover: false,
};

describe('ZookeeperQuorumRule', () => {
  it('pending at the first scrape without a quorum, firing once the condition held for the whole window, not a millisecond before', () => {
    const rule = new ZookeeperQuorumRule('zk-orders', 2000);
    expect(rule.evaluate(10_000, LED)).toBeUndefined();
    expect(rule.evaluate(11_000, LOST)).toMatchObject({
      from: 'inactive',
      to: 'pending',
      summary: expect.stringMatching(/^ZooKeeper ensemble has no quorum: 1 of 3/),
    });
    expect(rule.evaluate(11_000, LOST)?.payload).toBeUndefined();
    expect(rule.evaluate(12_999, LOST)).toBeUndefined();
    const fired = rule.evaluate(13_000, LOST);
    expect(fired).toMatchObject({ from: 'pending', to: 'firing' });
    expect(fired?.payload?.status).toBe('firing');
    expect(rule.current).toBe('firing');
    // Still lost: no repeat notification (the ingest path deduplicates re-sends anyway).
    expect(rule.evaluate(14_000, LOST)).toBeUndefined();
  });

  it('a blip shorter than the window never notifies; recovery of a firing alert notifies resolved with the same fingerprint', () => {
    const rule = new ZookeeperQuorumRule('zk-orders', 2000);
    expect(rule.evaluate(0, LOST)?.to).toBe('pending');
    expect(rule.evaluate(1999, LED)).toMatchObject({ from: 'pending', to: 'inactive' });
    expect(rule.evaluate(1999, LED)?.payload).toBeUndefined();
    rule.evaluate(5000, LOST);
    const firing = rule.evaluate(7000, LOST)?.payload;
    const resolved = rule.evaluate(9000, LED);
    expect(resolved).toMatchObject({
      from: 'firing',
      to: 'inactive',
      summary: expect.stringMatching(/^ZooKeeper ensemble led by/),
    });
    expect(resolved?.payload?.alerts[0]).toMatchObject({
      status: 'resolved',
      fingerprint: firing?.alerts[0]?.fingerprint,
      endsAt: new Date(9000).toISOString(),
      startsAt: new Date(7000).toISOString(),
    });
    // A later loss is a new alert.
    rule.evaluate(20_000, LOST);
    expect(rule.evaluate(22_000, LOST)?.payload?.alerts[0]?.fingerprint).not.toBe(firing?.alerts[0]?.fingerprint);
  });

  it('the payload is what ingest turns into a quorum-loss signal of the cluster, which the classifier sends to quorum-recovery with approval (SEV-1)', () => {
    const rule = new ZookeeperQuorumRule('zk-orders', 0);
    const firing = rule.evaluate(Date.parse('2026-11-22T08:00:00Z'), LOST)?.payload;
    expect(firing?.alerts[0]?.labels.alertname).toBe(ZK_QUORUM_ALERT);
    const result = normalize(JSON.parse(JSON.stringify(firing)), {
      clusters: [FACTS],
      receivedAt: '2026-11-22T08:00:01Z',
    });
    expect(result.outcome).toBe('signals');
    const signal = result.outcome === 'signals' ? result.signals[0] : undefined;
    expect(signal).toMatchObject({
      source: 'alertmanager',
      cluster: 'zk-orders',
      kind: 'quorum-loss',
      state: 'firing',
      brokerIds: [],
      value: 1,
      threshold: 2,
    });
    const decision = classify({
      signal: signal as NonNullable<typeof signal>,
      cluster: FACTS,
      openIncidents: [],
      recentHeals: [],
      policy: parsePolicy({ mode: 'auto' }),
      now: new Date('2026-11-22T08:00:01Z'),
    });
    expect(decision).toMatchObject({
      action: 'await-approval',
      severity: 'SEV-1',
      incidentType: 'quorum-loss',
      plan: { workflow: 'quorum-recovery' },
    });

    const resolved = rule.evaluate(Date.parse('2026-11-22T08:01:00Z'), LED)?.payload;
    const back = normalize(JSON.parse(JSON.stringify(resolved)), {
      clusters: [FACTS],
      receivedAt: '2026-11-22T08:01:01Z',
    });
    expect(back.outcome === 'signals' ? back.signals[0] : undefined).toMatchObject({
      kind: 'quorum-loss',
      state: 'resolved',
      fingerprint: signal?.fingerprint,
    });
  });
});
