// The probe reports, per preferred leader (first replica), how many partitions it is preferred
// for and how many of those it does not lead: what cascade-recovery's verification judges leader
// balance on (functions/domain/cascade.ts), as Kafka's own leader.imbalance.per.broker.percentage does.
import { describe, expect, it } from 'vitest';
import { summarizePartitions, type RawPartition } from '#shared/probe/analyze.js';

const p = (partition: number, leader: number, replicas: number[]): RawPartition => ({
  topic: 't',
  partition,
  leader,
  replicas,
  isr: replicas,
  offlineReplicas: [],
});

describe('summarizePartitions: preferred leaders', () => {
  it('counts per first replica; a partition led by another broker or by none is not led by its preferred leader', () => {
    const { summary } = summarizePartitions(
      [p(0, 1, [1, 2, 3]), p(1, 3, [2, 3, 1]), p(2, 3, [3, 1, 2]), p(3, -1, [2, 1, 3]), p(4, 1, [1, 3, 2])],
      () => 1,
      [1, 2, 3],
    );
    expect(summary.preferredLeaders).toEqual({
      1: { preferredFor: 2, notLed: 0 },
      2: { preferredFor: 2, notLed: 2 },
      3: { preferredFor: 1, notLed: 0 },
    });
  });

  it('an unbalanced preferred assignment is still fully led by its preferred leaders', () => {
    // 9 partitions on 5 brokers as Kafka placed them on a drill cluster: leaders 1:1 2:3 3:2 4:2 5:1
    const leaders = [1, 2, 2, 2, 3, 3, 4, 4, 5];
    const { summary, perBroker } = summarizePartitions(
      leaders.map((l, i) => p(i, l, [l, (l % 5) + 1])),
      () => 1,
      [1, 2, 3, 4, 5],
    );
    expect(Object.values(summary.preferredLeaders ?? {}).every((x) => x.notLed === 0)).toBe(true);
    expect([1, 2, 3, 4, 5].map((b) => perBroker[b]?.leaderFor)).toEqual([1, 3, 2, 2, 1]);
  });

  it('no partitions: no preferred leaders', () => {
    expect(summarizePartitions([], () => 1, [1]).summary.preferredLeaders).toEqual({});
  });
});
