import { describe, expect, it } from 'vitest';
import {
  DEFAULT_MAX_CONSUMER_LAG,
  LEADER_IMBALANCE_PER_BROKER,
  cascadeOrder,
  verifyClusterRecovered,
} from '#domain/cascade.js';
import type { ClusterSnapshot, ConsumerGroupLag } from '#domain/snapshot.js';
import type { RawPartition } from '#shared/probe/analyze.js';
import { snapshot } from '#test/statemachines/recovery-fixtures.js';

const p = (partition: number, leader: number, isr: number[], replicas = [1, 2, 3]): RawPartition => ({
  topic: 't',
  partition,
  leader,
  replicas,
  isr,
  offlineReplicas: [],
});
const balanced = [p(0, 1, [1, 2, 3]), p(1, 2, [2, 3, 1], [2, 3, 1]), p(2, 3, [3, 1, 2], [3, 1, 2])];
const group = (name: string, totalLag: number, over: Partial<ConsumerGroupLag> = {}): ConsumerGroupLag => ({
  group: name,
  totalLag,
  partitions: [],
  ...over,
});
const withGroups = (s: ClusterSnapshot, groups: ConsumerGroupLag[]): ClusterSnapshot => ({
  ...s,
  consumerGroups: groups,
});

describe('cascadeOrder', () => {
  it('recovers the requested brokers still down, crashed before hung, by id', () => {
    const s = snapshot({ 1: 'up', 2: 'hung', 3: 'crashed', 4: 'crashed', 5: 'up' }, balanced, 'degraded');
    expect(cascadeOrder(s, [2, 3, 4])).toEqual({
      order: [3, 4, 2],
      alreadyUp: [],
      summary: 'recover brokers 3, 4, 2 one at a time',
    });
  });

  it('puts the known active controller last and leaves brokers that came back alone', () => {
    const s = {
      ...snapshot({ 1: 'crashed', 2: 'crashed', 3: 'up' }, balanced, 'degraded'),
      controller: { id: 1, known: true, note: 'ZooKeeper' },
    };
    expect(cascadeOrder(s, [1, 2, 3])).toEqual({
      order: [2, 1],
      alreadyUp: [3],
      summary: 'recover brokers 2, 1 one at a time, active controller 1 last; up again, left alone: 3',
    });
  });

  it('a requested broker unknown to the metadata is down (crashed and forgotten): first', () => {
    const s = snapshot({ 1: 'up', 2: 'hung', 3: 'up' }, balanced, 'degraded');
    expect(cascadeOrder(s, [2, 9]).order).toEqual([9, 2]);
    expect(cascadeOrder(s, [12, 2, 9]).order).toEqual([9, 12, 2]);
  });

  it('nothing down any more', () => {
    const s = snapshot({ 1: 'up', 2: 'up', 3: 'up' }, balanced, 'healthy');
    expect(cascadeOrder(s, [1, 2])).toEqual({
      order: [],
      alreadyUp: [1, 2],
      summary: 'no broker of 1, 2 is down any more; up again, left alone: 1, 2',
    });
    expect(cascadeOrder({ ...s, controller: { id: 7, known: true, note: '' } }, [1]).summary).toBe(
      'no broker of 1 is down any more; up again, left alone: 1',
    );
  });
});

describe('verifyClusterRecovered', () => {
  const healthy = () => snapshot({ 1: 'up', 2: 'up', 3: 'up' }, balanced, 'healthy');

  it('healthy, balanced, no group watched -> recovered', () => {
    const v = verifyClusterRecovered(healthy());
    expect(v).toEqual({
      recovered: true,
      problems: [],
      maxConsumerLag: 0,
      leaderSpread: 0,
      notPreferredLeaders: 0,
      summary:
        'all 3 brokers up, 3 partitions in sync, leadership balanced (0 partition(s) off their preferred leader; leaders per broker 1:1 2:1 3:1), no consumer group watched',
    });
  });

  it('consumer lag edge: 999 is below the limit of 1,000, 1,000 is not', () => {
    expect(DEFAULT_MAX_CONSUMER_LAG).toBe(1000);
    const ok = verifyClusterRecovered(withGroups(healthy(), [group('a', 999), group('b', 3)]));
    expect(ok).toMatchObject({ recovered: true, maxConsumerLag: 999 });
    expect(ok.summary).toMatch(/max consumer lag 999$/);
    const behind = verifyClusterRecovered(withGroups(healthy(), [group('a', 1000)]));
    expect(behind).toMatchObject({ recovered: false, problems: ['consumer lag not below 1000: a (1000)'] });
    expect(verifyClusterRecovered(withGroups(healthy(), [group('a', 50)]), 50).recovered).toBe(false);
    expect(verifyClusterRecovered(withGroups(healthy(), [group('a', 49)]), 50).recovered).toBe(true);
  });

  it('a group whose lag could not be read is not recovered', () => {
    expect(verifyClusterRecovered(withGroups(healthy(), [group('a', 0, { error: 'timeout' })])).problems).toEqual([
      'consumer lag unknown for a',
    ]);
  });

  it('brokers down, missing registrations, unusable probe, partitions out of sync', () => {
    const s = snapshot({ 1: 'up', 2: 'crashed', 3: 'up' }, [p(0, 1, [1, 3]), p(1, 3, [3, 1], [3, 1, 2])], 'degraded');
    const v = verifyClusterRecovered(s);
    expect(v.recovered).toBe(false);
    expect(v.problems).toEqual(['brokers 2 are down', '2 of 3 brokers registered', '2 under-replicated partition(s)']);
    expect(v.summary).toBe(
      'not recovered: brokers 2 are down; 2 of 3 brokers registered; 2 under-replicated partition(s)',
    );
    const offline = snapshot({ 1: 'up', 2: 'up', 3: 'up' }, [p(0, -1, [], [1])], 'unknown');
    expect(verifyClusterRecovered(offline).problems).toEqual([
      'the probe says the cluster is unknown',
      '1 offline partition(s)',
      '1 under-replicated partition(s)',
      '1 partition(s) under min.insync.replicas',
      // a partition without a leader is not led by its preferred leader either
      'leadership unbalanced: broker 1 leads 0 of the 1 partition(s) it is the preferred leader of (more than 10% off)',
    ]);
    const noExpectation = { ...healthy(), expectedBrokers: undefined };
    expect(verifyClusterRecovered(noExpectation).recovered).toBe(true);
  });

  it('leadership: every live broker leads its preferred partitions (Kafka: leader.imbalance.per.broker.percentage 10); edge at 10% off', () => {
    expect(LEADER_IMBALANCE_PER_BROKER).toBe(0.1);
    // broker 1 is the preferred leader of all three and leads only one of them
    const offTwo = snapshot(
      { 1: 'up', 2: 'up', 3: 'up' },
      [p(0, 1, [1, 2, 3]), p(1, 2, [1, 2, 3]), p(2, 3, [1, 2, 3])],
      'healthy',
    );
    const v = verifyClusterRecovered(offTwo);
    expect(v).toMatchObject({ recovered: false, leaderSpread: 0, notPreferredLeaders: 2 });
    expect(v.problems).toEqual([
      'leadership unbalanced: broker 1 leads 1 of the 3 partition(s) it is the preferred leader of (more than 10% off)',
    ]);
    // 10 preferred, 1 led elsewhere: exactly 10% is balanced; 9 preferred, 1 elsewhere (11%) is not
    const many = (n: number) => Array.from({ length: n }, (_, i) => p(i, i === 0 ? 2 : 1, [1, 2, 3]));
    expect(verifyClusterRecovered(snapshot({ 1: 'up', 2: 'up', 3: 'up' }, many(10), 'healthy'))).toMatchObject({
      recovered: true,
      notPreferredLeaders: 1,
    });
    expect(verifyClusterRecovered(snapshot({ 1: 'up', 2: 'up', 3: 'up' }, many(9), 'healthy'))).toMatchObject({
      recovered: false,
      notPreferredLeaders: 1,
    });
  });

  it('an uneven preferred assignment (9 partitions on 5 brokers) led by its preferred leaders is balanced, whatever the spread', () => {
    const leaders = [1, 2, 2, 2, 3, 3, 4, 4, 5];
    const s = snapshot(
      { 1: 'up', 2: 'up', 3: 'up', 4: 'up', 5: 'up' },
      leaders.map((l, i) => p(i, l, [l, (l % 5) + 1], [l, (l % 5) + 1])),
      'healthy',
    );
    const v = verifyClusterRecovered({ ...s, expectedBrokers: 5 });
    expect(v).toMatchObject({ recovered: true, leaderSpread: 2, notPreferredLeaders: 0 });
    expect(v.summary).toMatch(
      /leadership balanced \(0 partition\(s\) off their preferred leader; leaders per broker 1:1 2:3 3:2 4:2 5:1\)/,
    );
  });

  it('the partitions of a down broker are judged by the down broker, not as imbalance; unknown placement is not balanced', () => {
    const s = snapshot(
      { 1: 'up', 2: 'crashed', 3: 'up' },
      [p(0, 1, [1, 3], [2, 1, 3]), p(1, 1, [1, 3], [1, 3, 2])],
      'degraded',
    );
    expect(verifyClusterRecovered(s).problems.filter((x) => x.startsWith('leadership'))).toEqual([]);
    const unknown: ClusterSnapshot = {
      ...healthy(),
      partitions: { ...healthy().partitions, preferredLeaders: undefined },
    };
    expect(verifyClusterRecovered(unknown)).toMatchObject({
      recovered: false,
      problems: ['leadership balance unknown: the probe reported no preferred leaders'],
    });
  });

  it('brokers holding no replica and missing per-broker counts do not count for the spread', () => {
    const s = healthy();
    const noCounts: ClusterSnapshot = { ...s, perBroker: {} };
    expect(verifyClusterRecovered(noCounts)).toMatchObject({ recovered: true, leaderSpread: 0 });
    const partial: ClusterSnapshot = {
      ...s,
      perBroker: {
        1: { leaderFor: 0, replicaFor: 1, underReplicated: 0, offline: 0, isrCritical: 0 },
        2: { leaderFor: 0, replicaFor: 0, underReplicated: 0, offline: 0, isrCritical: 0 },
      },
    };
    expect(verifyClusterRecovered(partial)).toMatchObject({ recovered: true, leaderSpread: 0 });
  });
});
