import { describe, expect, it } from 'vitest';
import {
  BYTES_PER_MB,
  CAPACITY_BOUNDS,
  CapacityInputError,
  ceilTolerant,
  describeBound,
  planCapacity,
  type CapacityInput,
} from '../../../functions/domain/capacity.js';

const base: CapacityInput = { messagesPerSecond: 10_000, messageBytes: 1024, consumerGroups: 3, retentionDays: 7, replicationFactor: 3 };

/** A workload whose peak is exactly `peakMB` MB/s (one-MB messages, multiplier 1). */
function peakOf(peakMB: number): CapacityInput {
  return { messagesPerSecond: peakMB, messageBytes: BYTES_PER_MB, consumerGroups: 1, retentionDays: 1, replicationFactor: 3, peakMultiplier: 1 };
}

describe('planCapacity', () => {
  it('derives every figure from the workload with the documented formulas (default peak multiplier 3)', () => {
    const p = planCapacity(base);
    const write = (10_000 * 1024) / (1024 * 1024); // 9.765625
    expect(p.writeMBps).toBe(write);
    expect(p.readMBps).toBe(write * 3);
    expect(p.peakMBps).toBe(write * 3);
    expect(p.storageTB).toBeCloseTo((write * 86_400 * 7 * 3) / (1024 * 1024), 12);
    expect(p.storageTB).toBeCloseTo(16.9, 1);
    expect(p.networkMBps).toBe(write * 3 * 3 + write * 3 * 3);
    expect(p.brokers).toBe(3);
    expect(p.partitionsPerTopic).toBe(3);
  });

  it('uses an explicit peak multiplier for peak and network, not for read or storage', () => {
    const p = planCapacity({ ...base, peakMultiplier: 1.5 });
    const write = 9.765625;
    expect(p.peakMBps).toBe(write * 1.5);
    expect(p.readMBps).toBe(write * 3);
    expect(p.networkMBps).toBe(write * 1.5 * 3 + write * 3 * 1.5);
    expect(p.storageTB).toBe(planCapacity(base).storageTB);
  });

  it('reads nothing when there are no consumer groups', () => {
    const p = planCapacity({ ...base, consumerGroups: 0 });
    expect(p.readMBps).toBe(0);
    expect(p.networkMBps).toBe(p.peakMBps * 3);
  });

  it('keeps at least 3 brokers and adds one per started 100 MB/s of peak (both sides of the edge)', () => {
    expect(planCapacity(peakOf(1)).brokers).toBe(3);
    expect(planCapacity(peakOf(300)).brokers).toBe(3);
    expect(planCapacity(peakOf(301)).brokers).toBe(4);
    expect(planCapacity(peakOf(400)).brokers).toBe(4);
    expect(planCapacity(peakOf(401)).brokers).toBe(5);
    // One KiB per second above 300 MB/s already needs the fourth broker.
    expect(planCapacity({ ...peakOf(1), messagesPerSecond: 300 * 1024 + 1, messageBytes: 1024 }).brokers).toBe(4);
    expect(planCapacity({ ...peakOf(1), messagesPerSecond: 300 * 1024, messageBytes: 1024 }).brokers).toBe(3);
  });

  it('gives one partition per started 10 MB/s of peak, never fewer than the brokers', () => {
    expect(planCapacity(peakOf(5)).partitionsPerTopic).toBe(3);
    expect(planCapacity(peakOf(30)).partitionsPerTopic).toBe(3);
    expect(planCapacity(peakOf(31)).partitionsPerTopic).toBe(4);
    expect(planCapacity(peakOf(300)).partitionsPerTopic).toBe(30);
    expect(planCapacity(peakOf(301)).partitionsPerTopic).toBe(31);
  });

  it('scales storage with retention and replication factor', () => {
    const one = planCapacity({ ...peakOf(1), replicationFactor: 1, retentionDays: 1 }).storageTB;
    expect(one).toBe(86_400 / (1024 * 1024));
    expect(planCapacity({ ...peakOf(1), replicationFactor: 3, retentionDays: 0.5 }).storageTB).toBe(one * 1.5);
  });

  it('is not pushed over an edge by floating-point noise', () => {
    expect(ceilTolerant(100.00000000001)).toBe(100);
    expect(ceilTolerant(100.000001)).toBe(101);
    expect(ceilTolerant(100)).toBe(100);
    // 100 MB/s x 1.1 is 110.00000000000001 in floating point: still 11 partitions, not 12.
    const p = planCapacity({ ...peakOf(1), messagesPerSecond: 102_400, messageBytes: 1024, peakMultiplier: 1.1 });
    expect(p.peakMBps).toBeGreaterThan(110);
    expect(p.partitionsPerTopic).toBe(11);
  });

  it('accepts every bound itself', () => {
    expect(() =>
      planCapacity({ messagesPerSecond: 1, messageBytes: 1, consumerGroups: 0, retentionDays: 0.001, replicationFactor: 1, peakMultiplier: 1 }),
    ).not.toThrow();
    expect(() =>
      planCapacity({ messagesPerSecond: 100_000_000, messageBytes: 100 * BYTES_PER_MB, consumerGroups: 10_000, retentionDays: 36_500, replicationFactor: 10, peakMultiplier: 100 }),
    ).not.toThrow();
  });

  it.each([
    ['messagesPerSecond', 0, 'expected a whole number from 1 to 100000000, got 0'],
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
