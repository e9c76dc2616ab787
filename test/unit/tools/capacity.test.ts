import { describe, expect, it } from 'vitest';
import {
  BYTES_PER_MB,
  CAPACITY_BOUNDS,
  CapacityInputError,
  describeBound,
  floorTolerant,
  planCapacity,
  type CapacityInput,
  type CapacityPlan,
} from '#tools/capacity.js';

// Expected figures below are literals worked out by hand (exact fractions), not the planner's own
// formulas: a changed formula or rounding fails here. Figures with a repeating decimal are
// compared to 9 decimals, the others exactly.
type Expected = { [K in keyof CapacityPlan]: CapacityPlan[K] | { approx: number } };

function expectPlan(input: CapacityInput, expected: Expected): void {
  const plan = planCapacity(input);
  expect(Object.keys(plan)).toEqual(Object.keys(expected));
  for (const [key, want] of Object.entries(expected)) {
    const got = plan[key as keyof CapacityPlan];
    if (want !== null && typeof want === 'object') expect(got, key).toBeCloseTo(want.approx, 9);
    else expect(got, key).toBe(want);
  }
}

const runbookExample: CapacityInput = {
  messagesPerSecond: 100_000,
  messageBytes: 1024,
  consumerGroups: 5,
  retentionDays: 7,
  replicationFactor: 3,
  peakMultiplier: 2.5,
  instanceMemoryGB: 64,
};

const base: CapacityInput = {
  messagesPerSecond: 10_000,
  messageBytes: 1024,
  consumerGroups: 3,
  retentionDays: 7,
  replicationFactor: 3,
};

/** A workload whose write rate is exactly `writeMB` MB/s (one-MB messages). */
function writeOf(writeMB: number, peakMultiplier = 1): CapacityInput {
  return {
    messagesPerSecond: writeMB,
    messageBytes: BYTES_PER_MB,
    consumerGroups: 1,
    retentionDays: 1,
    replicationFactor: 3,
    peakMultiplier,
  };
}

describe('planCapacity: the runbook calculator and the extra figures', () => {
  it("reproduces the runbook's worked example (100,000 msg/s of 1 KiB, 5 groups, 7 days, RF 3, peak 2.5)", () => {
    expectPlan(runbookExample, {
      writeMBps: 97.65625, // 100,000 x 1024 B / 2^20
      readMBps: 488.28125, // x 5 groups
      peakMBps: 244.140625, // x 2.5
      storageTB: 168.97916793823242, // 97.65625 x 86,400 x 7 x 3 / 2^20
      networkMBps: 781.25, // 488.28125 read + 195.3125 replication + 97.65625 write
      brokers: 3, // int(2.44140625) + 1
      partitionsPerTopic: 10, // int(9.765625) + 1
      peakNetworkMBps: 1953.125, // 781.25 x 2.5
      peakPartitionsPerTopic: 25, // int(24.4140625) + 1
      clusterBrokers: 3, // max(3, RF 3)
      diskPerBrokerTB: 70.40798664093018, // 168.979... x 1.25 / 3
      ingressPerBrokerMBps: 97.65625, // 97.65625 x 3 / 3
      egressPerBrokerMBps: { approx: 227.864583333 }, // (488.28125 + 195.3125) / 3
      nicGbps: { approx: 4.778666667 }, // 227.86 x 2.5 x 8 x 2^20 / 10^9
      nicClassGbps: 10,
      heapGB: 8, // floor(64 / 4) = 16, at most 8
      pageCacheGB: 56,
    });
  });

  it('plans a small workload at the default peak multiplier 3 (the runbook would give 1 broker; RF 3 needs 3)', () => {
    expectPlan(base, {
      writeMBps: 9.765625,
      readMBps: 29.296875,
      peakMBps: 29.296875,
      storageTB: 16.897916793823242,
      networkMBps: 58.59375, // 29.296875 + 19.53125 + 9.765625
      brokers: 1,
      partitionsPerTopic: 1,
      peakNetworkMBps: 175.78125,
      peakPartitionsPerTopic: 3,
      clusterBrokers: 3,
      diskPerBrokerTB: 7.040798664093018,
      ingressPerBrokerMBps: 9.765625,
      egressPerBrokerMBps: { approx: 16.276041667 },
      nicGbps: { approx: 0.4096 },
      nicClassGbps: 1,
      heapGB: null,
      pageCacheGB: null,
    });
  });

  it('plans a large workload on the brokers given, with another safety margin', () => {
    expectPlan(
      {
        messagesPerSecond: 500_000,
        messageBytes: 2048,
        consumerGroups: 2,
        retentionDays: 3,
        replicationFactor: 3,
        peakMultiplier: 2,
        brokers: 12,
        safetyMargin: 1.5,
        instanceMemoryGB: 128,
      },
      {
        writeMBps: 976.5625,
        readMBps: 1953.125,
        peakMBps: 1953.125,
        storageTB: 724.1964340209961,
        networkMBps: 4882.8125,
        brokers: 20, // int(19.53125) + 1
        partitionsPerTopic: 98, // int(97.65625) + 1
        peakNetworkMBps: 9765.625,
        peakPartitionsPerTopic: 196,
        clusterBrokers: 12, // as given, even below the 20 the throughput asks for
        diskPerBrokerTB: 90.52455425262451, // 724.196... x 1.5 / 12
        ingressPerBrokerMBps: 244.140625,
        egressPerBrokerMBps: { approx: 325.520833333 }, // (1953.125 + 1953.125) / 12
        nicGbps: { approx: 5.461333333 },
        nicClassGbps: 10,
        heapGB: 8,
        pageCacheGB: 120,
      },
    );
  });

  it('plans a trickle: RF 1, no consumers, half a day, a 15.25 GB instance', () => {
    expectPlan(
      {
        messagesPerSecond: 1000,
        messageBytes: 500,
        consumerGroups: 0,
        retentionDays: 0.5,
        replicationFactor: 1,
        peakMultiplier: 1,
        instanceMemoryGB: 15.25,
      },
      {
        writeMBps: 0.476837158203125,
        readMBps: 0,
        peakMBps: 0.476837158203125,
        storageTB: 0.01964508555829525,
        networkMBps: 0.476837158203125, // no readers, no replicas: the producers only
        brokers: 1,
        partitionsPerTopic: 1,
        peakNetworkMBps: 0.476837158203125,
        peakPartitionsPerTopic: 1,
        clusterBrokers: 1,
        diskPerBrokerTB: 0.024556356947869062,
        ingressPerBrokerMBps: 0.476837158203125,
        egressPerBrokerMBps: 0,
        nicGbps: { approx: 0.004 }, // 500,000 B/s x 8
        nicClassGbps: 1,
        heapGB: 4, // floor(15.25 / 4) = 3, at least 4
        pageCacheGB: 11.25,
      },
    );
  });
});

describe('planCapacity: rounding edges', () => {
  it('brokers: int(peak / 100) + 1, so exactly 100 and 200 MB/s already need the next broker', () => {
    expect(planCapacity(writeOf(99)).brokers).toBe(1);
    expect(planCapacity(writeOf(100)).brokers).toBe(2);
    expect(planCapacity(writeOf(199)).brokers).toBe(2);
    expect(planCapacity(writeOf(200)).brokers).toBe(3);
    // Four bytes per second below 200 MB/s stays at 2.
    expect(planCapacity({ ...writeOf(1), messagesPerSecond: 50 * BYTES_PER_MB - 1, messageBytes: 4 }).brokers).toBe(2);
    // The multiplier counts: 80 MB/s x 2.5 is exactly 200.
    expect(planCapacity(writeOf(80, 2.5)).brokers).toBe(3);
    expect(planCapacity(writeOf(79, 2.5)).brokers).toBe(2);
  });

  it('partitions per topic: int(write / 10) + 1 at the average rate, whatever the peak', () => {
    expect(planCapacity(writeOf(9, 5)).partitionsPerTopic).toBe(1);
    expect(planCapacity(writeOf(10, 5)).partitionsPerTopic).toBe(2);
    expect(planCapacity(writeOf(19)).partitionsPerTopic).toBe(2);
    expect(planCapacity(writeOf(20)).partitionsPerTopic).toBe(3);
    expect(
      planCapacity({ ...writeOf(1), messagesPerSecond: 20 * BYTES_PER_MB - 1, messageBytes: 1 }).partitionsPerTopic,
    ).toBe(2);
  });

  it('partitions at peak: int(peak / 10) + 1', () => {
    expect(planCapacity(writeOf(4, 2.5)).peakPartitionsPerTopic).toBe(2); // exactly 10 MB/s
    expect(planCapacity(writeOf(3, 3)).peakPartitionsPerTopic).toBe(1); // 9 MB/s
    expect(planCapacity(writeOf(8, 2.5)).peakPartitionsPerTopic).toBe(3); // exactly 20 MB/s
  });

  it('is not pulled below an edge by floating-point noise', () => {
    expect(floorTolerant(22.999999999999996)).toBe(23);
    expect(floorTolerant(22.9999999)).toBe(22);
    expect(floorTolerant(23)).toBe(23);
    // 100 MB/s x 2.3 is 229.99999999999997 in floating point: 230 MB/s, 24 partitions, not 23.
    const p = planCapacity(writeOf(100, 2.3));
    expect(p.peakMBps).toBeLessThan(230);
    expect(p.peakPartitionsPerTopic).toBe(24);
    // 1250 MB/s x 4.56 is 5699.999999999999: 5700 MB/s, 58 brokers, not 57.
    expect(planCapacity(writeOf(1250, 4.56)).brokers).toBe(58);
  });

  it('clusterBrokers: the runbook count, raised to the replication factor, unless brokers are given', () => {
    expect(planCapacity(writeOf(1)).clusterBrokers).toBe(3); // brokers 1, RF 3
    expect(planCapacity({ ...writeOf(300), replicationFactor: 3 }).clusterBrokers).toBe(4); // brokers 4 > RF 3
    expect(planCapacity({ ...writeOf(1), brokers: 3 }).clusterBrokers).toBe(3); // RF equal to brokers is fine
    expect(planCapacity({ ...writeOf(300), brokers: 3 }).clusterBrokers).toBe(3); // fewer than the 4 asked for: as given
  });

  it('picks the smallest NIC that carries the busier direction at peak, exactly at its speed included', () => {
    // RF 1, one broker, no consumers: ingress = write. 1,250,000,000 B/s is exactly 10 Gbit/s.
    const nic = (bytesPerSecond: number) =>
      planCapacity({
        messagesPerSecond: bytesPerSecond / 1000,
        messageBytes: 1000,
        consumerGroups: 0,
        retentionDays: 1,
        replicationFactor: 1,
        peakMultiplier: 1,
        brokers: 1,
      });
    expect(nic(1_250_000_000).nicGbps).toBeCloseTo(10, 12);
    expect(nic(1_250_000_000).nicClassGbps).toBe(10);
    expect(nic(1_250_001_000).nicClassGbps).toBe(25);
    expect(nic(125_000_000).nicClassGbps).toBe(1);
    expect(nic(125_001_000).nicClassGbps).toBe(10);
    expect(nic(50_000_000_000).nicClassGbps).toBe(400);
    expect(nic(50_000_001_000).nicClassGbps).toBeNull(); // above 400 Gbit/s: no NIC, more brokers
    // Egress is the busier direction with consumers: 2 groups + 2 replica copies out against 3 in.
    const p = planCapacity({ ...writeOf(100, 2), consumerGroups: 2, brokers: 3 });
    expect(p.egressPerBrokerMBps).toBeCloseTo(400 / 3, 12);
    expect(p.ingressPerBrokerMBps).toBe(100);
    expect(p.nicGbps).toBeCloseTo(((400 / 3) * 2 * BYTES_PER_MB * 8) / 1e9, 12);
  });

  it('heap: a quarter of the instance in whole GB, kept within 4-8 GB', () => {
    const heap = (instanceMemoryGB: number) => planCapacity({ ...base, instanceMemoryGB });
    expect(heap(8)).toMatchObject({ heapGB: 4, pageCacheGB: 4 });
    expect(heap(19.99)).toMatchObject({ heapGB: 4 });
    expect(heap(20)).toMatchObject({ heapGB: 5, pageCacheGB: 15 });
    expect(heap(31.9)).toMatchObject({ heapGB: 7 });
    expect(heap(32)).toMatchObject({ heapGB: 8, pageCacheGB: 24 });
    expect(heap(512)).toMatchObject({ heapGB: 8, pageCacheGB: 504 });
  });

  it('disk per broker scales with the safety margin (default 1.25)', () => {
    const p = planCapacity({ ...base, brokers: 5 });
    expect(p.diskPerBrokerTB).toBe((p.storageTB * 1.25) / 5);
    expect(planCapacity({ ...base, brokers: 5, safetyMargin: 1 }).diskPerBrokerTB).toBe(p.storageTB / 5);
  });
});

describe('planCapacity: bad input', () => {
  it('accepts every bound itself', () => {
    expect(() =>
      planCapacity({
        messagesPerSecond: 1,
        messageBytes: 1,
        consumerGroups: 0,
        retentionDays: 0.001,
        replicationFactor: 1,
        peakMultiplier: 1,
        brokers: 1,
        safetyMargin: 1,
        instanceMemoryGB: 8,
      }),
    ).not.toThrow();
    expect(() =>
      planCapacity({
        messagesPerSecond: 100_000_000,
        messageBytes: 100 * BYTES_PER_MB,
        consumerGroups: 10_000,
        retentionDays: 36_500,
        replicationFactor: 10,
        peakMultiplier: 100,
        brokers: 10_000,
        safetyMargin: 10,
        instanceMemoryGB: 24_576,
      }),
    ).not.toThrow();
  });

  it.each([
    ['messagesPerSecond', 0, 'expected a whole number from 1 to 100000000, got 0'],
    ['messagesPerSecond', -5, 'expected a whole number from 1 to 100000000, got -5'],
    ['messagesPerSecond', 100_000_001, 'expected a whole number from 1 to 100000000, got 100000001'],
    ['messagesPerSecond', 1.5, 'expected a whole number from 1 to 100000000, got 1.5'],
    ['messageBytes', 0, 'expected a whole number from 1 to 104857600, got 0'],
    ['messageBytes', 100 * BYTES_PER_MB + 1, 'expected a whole number from 1 to 104857600, got 104857601'],
    ['consumerGroups', -1, 'expected a whole number from 0 to 10000, got -1'],
    ['consumerGroups', 10_001, 'expected a whole number from 0 to 10000, got 10001'],
    ['retentionDays', 0, 'expected a number above 0 and at most 36500, got 0'],
    ['retentionDays', 36_500.5, 'expected a number above 0 and at most 36500, got 36500.5'],
    ['replicationFactor', 0, 'expected a whole number from 1 to 10, got 0'],
    ['replicationFactor', 11, 'expected a whole number from 1 to 10, got 11'],
    ['peakMultiplier', 0.99, 'expected a number from 1 to 100, got 0.99'],
    ['peakMultiplier', 100.01, 'expected a number from 1 to 100, got 100.01'],
    ['brokers', 0, 'expected a whole number from 1 to 10000, got 0'],
    ['brokers', 3.5, 'expected a whole number from 1 to 10000, got 3.5'],
    ['safetyMargin', 0.9, 'expected a number from 1 to 10, got 0.9'],
    ['instanceMemoryGB', 7.9, 'expected a number from 8 to 24576, got 7.9'],
    ['messagesPerSecond', Number.NaN, 'expected a whole number from 1 to 100000000, got NaN'],
    ['retentionDays', Number.POSITIVE_INFINITY, 'expected a number above 0 and at most 36500, got Infinity'],
  ] as const)('rejects %s = %s', (field, value, message) => {
    let caught: unknown;
    try {
      planCapacity({ ...base, [field]: value });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(CapacityInputError);
    const e = caught as CapacityInputError;
    expect(e.name).toBe('CapacityInputError');
    expect(e.issues).toEqual([{ field, message }]);
    expect(e.message).toBe(`${field}: ${message}`);
  });

  it('rejects a replication factor above the brokers given, and accepts it equal', () => {
    expect(() => planCapacity({ ...base, replicationFactor: 3, brokers: 2 })).toThrow(
      'replicationFactor: expected at most the 2 broker(s) given, got 3: every replica of a partition needs its own broker',
    );
    expect(() => planCapacity({ ...base, replicationFactor: 3, brokers: 3 })).not.toThrow();
  });

  it('lists every bad field at once', () => {
    expect(() => planCapacity({ ...base, messagesPerSecond: 0, replicationFactor: 0 })).toThrow(
      'messagesPerSecond: expected a whole number from 1 to 100000000, got 0; replicationFactor: expected a whole number from 1 to 10, got 0',
    );
  });

  it('describes bounds in words', () => {
    expect(describeBound(CAPACITY_BOUNDS.replicationFactor)).toBe('a whole number from 1 to 10');
    expect(describeBound(CAPACITY_BOUNDS.retentionDays)).toBe('a number above 0 and at most 36500');
  });
});
