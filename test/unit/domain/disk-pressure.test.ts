import { describe, expect, it } from 'vitest';
import {
  DEFAULT_STORAGE_POLICY,
  diskVerdict,
  planStorageUpdate,
  type StoragePlanInput,
} from '#domain/disk-pressure.js';

const NOW = new Date('2026-11-22T06:00:00.000Z');
const hoursAgo = (h: number, ms = 0) => new Date(NOW.getTime() - h * 3_600_000 - ms).toISOString();
const plan = (over: Partial<StoragePlanInput> = {}) =>
  planStorageUpdate({
    clusterState: 'ACTIVE',
    currentVolumeGb: 1000,
    usedPercent: 92,
    thresholdPercent: 85,
    earlierUpdates: [],
    now: NOW,
    policy: DEFAULT_STORAGE_POLICY,
    ...over,
  });

describe('diskVerdict', () => {
  it('threshold edge: 84.99 below, 85 at or above; unknown counts as full', () => {
    expect(diskVerdict(84.99, 85, 'broker 2')).toEqual({
      usedPercent: 84.99,
      above: false,
      summary: 'broker 2: data disk 84.99% < 85%',
    });
    expect(diskVerdict(85, 85, 'broker 2')).toEqual({
      usedPercent: 85,
      above: true,
      summary: 'broker 2: data disk 85% >= 85%',
    });
    for (const v of [null, undefined, Number.NaN])
      expect(diskVerdict(v, 85, 'b')).toEqual({
        usedPercent: null,
        above: true,
        summary: 'b: data disk usage unknown (treated as full)',
      });
  });
});

describe('planStorageUpdate', () => {
  it('grows by 25% (rounded up) with the projected usage', () => {
    expect(plan()).toEqual({
      allowed: true,
      targetVolumeGb: 1250,
      projectedPercent: 73.6,
      reason: 'grow broker storage from 1000 to 1250 GiB (+25%, max 16384); projected usage 73.6% (threshold 85%)',
    });
    expect(plan({ currentVolumeGb: 101 }).targetVolumeGb).toBe(127);
    expect(plan({ usedPercent: null })).toMatchObject({
      allowed: true,
      projectedPercent: null,
      reason: 'grow broker storage from 1000 to 1250 GiB (+25%, max 16384)',
    });
  });

  it('one update per 6 h: 5 h 59 min 59.999 s ago blocks, exactly 6 h ago does not; the newest update counts', () => {
    const blocked = plan({ earlierUpdates: [hoursAgo(6, -1), hoursAgo(1), 'garbage'] });
    expect(blocked.allowed).toBe(false);
    expect(blocked.reason).toBe(
      `a storage update finished ${hoursAgo(1)}, less than 6 h ago: MSK allows one per 6 h (next possible ${hoursAgo(-5)})`,
    );
    expect(plan({ earlierUpdates: [hoursAgo(6)] }).allowed).toBe(true);
    expect(plan({ earlierUpdates: [hoursAgo(7)] }).allowed).toBe(true);
  });

  it('only while ACTIVE, and never past the maximum', () => {
    expect(plan({ clusterState: 'UPDATING' })).toMatchObject({
      allowed: false,
      reason: 'the cluster is UPDATING, not ACTIVE: MSK accepts no storage update now',
    });
    expect(plan({ currentVolumeGb: 16_000 })).toMatchObject({ allowed: true, targetVolumeGb: 16_384 });
    expect(plan({ currentVolumeGb: 16_384 })).toMatchObject({
      allowed: false,
      targetVolumeGb: 16_384,
      reason: 'the volumes are already at the configured maximum of 16384 GiB',
    });
  });
});
