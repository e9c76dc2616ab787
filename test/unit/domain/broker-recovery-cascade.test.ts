// verifyBrokerRecovered after a cascade: a restarted broker cannot bring back a partition whose
// last in-sync replica is another broker still down (Kafka keeps it offline until that one
// returns); it is back once it is in the ISR of every partition that has a leader.
import { describe, expect, it } from 'vitest';
import { verifyBrokerRecovered } from '#domain/broker-recovery.js';
import type { RawPartition } from '#shared/probe/analyze.js';
import { snapshot } from '#test/statemachines/recovery-fixtures.js';

const p = (partition: number, leader: number, isr: number[], replicas: number[]): RawPartition => ({
  topic: 't',
  partition,
  leader,
  replicas,
  isr,
  offlineReplicas: [],
});

describe('verifyBrokerRecovered during a cascade', () => {
  // brokers 4 and 5 still down; broker 3 restarted first
  const state = { 1: 'up', 2: 'up', 3: 'up', 4: 'crashed', 5: 'crashed' } as const;

  it('a leaderless partition that waits for another down broker does not hold the restarted broker back', () => {
    const s = snapshot(
      state,
      [p(0, 3, [3], [3, 4, 5]), p(1, -1, [5], [5, 3, 4]), p(2, 1, [1, 3], [1, 3, 4])],
      'degraded',
    );
    const v = verifyBrokerRecovered(s, 3);
    expect(v).toMatchObject({ recovered: true, laggingPartitions: 0 });
    expect(v.summary).toMatch(
      /^broker 3 is registered, answers and is in the ISR of all its partitions that have a leader \(.*\); 1 partition\(s\) without a leader wait for brokers 4, 5, still down$/,
    );
  });

  it('still lagging where a leader exists, and leaderless with every other replica up', () => {
    const behind = snapshot(state, [p(0, 1, [1], [1, 3, 4])], 'degraded');
    expect(verifyBrokerRecovered(behind, 3)).toMatchObject({ recovered: false, laggingPartitions: 1 });
    const stuck = snapshot(state, [p(0, -1, [2], [1, 2, 3])], 'degraded');
    expect(verifyBrokerRecovered(stuck, 3)).toMatchObject({
      recovered: false,
      laggingPartitions: 1,
      summary: expect.stringMatching(/^broker 3 is up but not yet in sync for 1 partition\(s\): t-0$/),
    });
    const healthy = snapshot({ 1: 'up', 2: 'up', 3: 'up' }, [p(0, 3, [3, 1, 2], [3, 1, 2])], 'healthy');
    const ok = verifyBrokerRecovered(healthy, 3);
    expect(ok.summary).toMatch(/^broker 3 is registered, answers and is in the ISR of all its partitions \(/);
    expect(ok.summary).not.toMatch(/that have a leader|wait for/);
  });
});
