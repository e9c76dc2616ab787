// Disk pressure rules (seed runbook: disk pressure). Pure: values in, decisions out.
//
// - diskVerdict: is a broker's data disk (the fullest Kafka data directory the host diagnosis
//   saw) at or above the threshold? Unknown usage is never "fine".
// - planStorageUpdate (MSK): grow the broker EBS volumes by a percentage, at most to the
//   maximum, never twice within the minimum interval (MSK allows one storage update per 6 hours),
//   and only while the cluster is ACTIVE. The projected usage after the update is what the
//   workflow verifies against the threshold (MSK reports disk usage through CloudWatch only).

export interface DiskVerdict {
  usedPercent: number | null;
  /** At or above the threshold, or unknown. */
  above: boolean;
  summary: string;
}

export function diskVerdict(
  usedPercent: number | null | undefined,
  thresholdPercent: number,
  where: string,
): DiskVerdict {
  if (usedPercent === null || usedPercent === undefined || !Number.isFinite(usedPercent)) {
    return { usedPercent: null, above: true, summary: `${where}: data disk usage unknown (treated as full)` };
  }
  const above = usedPercent >= thresholdPercent;
  return {
    usedPercent,
    above,
    summary: `${where}: data disk ${usedPercent}% ${above ? '>=' : '<'} ${thresholdPercent}%`,
  };
}

export interface StoragePolicy {
  /** Grow by this many percent of the current size (rounded up to whole GiB). */
  growthPercent: number;
  maxVolumeGb: number;
  /** MSK: one storage update per 6 hours. */
  minIntervalHours: number;
}

export const DEFAULT_STORAGE_POLICY: StoragePolicy = { growthPercent: 25, maxVolumeGb: 16_384, minIntervalHours: 6 };

export interface StoragePlanInput {
  clusterState: string;
  currentVolumeGb: number;
  /** Disk usage that raised the alarm (percent), when known. */
  usedPercent: number | null;
  thresholdPercent: number;
  /** Finish times (ISO) of earlier storage updates of this cluster. */
  earlierUpdates: string[];
  now: Date;
  policy: StoragePolicy;
}

export type StoragePlan =
  | { allowed: true; targetVolumeGb: number; projectedPercent: number | null; reason: string }
  | { allowed: false; targetVolumeGb: number; projectedPercent: number | null; reason: string };

export function planStorageUpdate(i: StoragePlanInput): StoragePlan {
  const { policy } = i;
  const target = Math.min(policy.maxVolumeGb, Math.ceil(i.currentVolumeGb * (1 + policy.growthPercent / 100)));
  const projected =
    i.usedPercent === null ? null : Math.round(((i.usedPercent * i.currentVolumeGb) / target) * 10) / 10;
  const no = (reason: string): StoragePlan => ({
    allowed: false,
    targetVolumeGb: target,
    projectedPercent: projected,
    reason,
  });
  if (i.clusterState !== 'ACTIVE')
    return no(`the cluster is ${i.clusterState}, not ACTIVE: MSK accepts no storage update now`);
  const intervalMs = policy.minIntervalHours * 3_600_000;
  const recent = i.earlierUpdates
    .map((t) => Date.parse(t))
    .filter((t) => !Number.isNaN(t) && i.now.getTime() - t < intervalMs)
    .sort((a, b) => b - a);
  if (recent.length > 0) {
    const next = new Date((recent[0] as number) + intervalMs).toISOString();
    return no(
      `a storage update finished ${new Date(recent[0] as number).toISOString()}, less than ${policy.minIntervalHours} h ago: MSK allows one per ${policy.minIntervalHours} h (next possible ${next})`,
    );
  }
  if (target <= i.currentVolumeGb)
    return no(`the volumes are already at the configured maximum of ${policy.maxVolumeGb} GiB`);
  const projection = projected === null ? '' : `; projected usage ${projected}% (threshold ${i.thresholdPercent}%)`;
  return {
    allowed: true,
    targetVolumeGb: target,
    projectedPercent: projected,
    reason: `grow broker storage from ${i.currentVolumeGb} to ${target} GiB (+${policy.growthPercent}%, max ${policy.maxVolumeGb})${projection}`,
  };
}
