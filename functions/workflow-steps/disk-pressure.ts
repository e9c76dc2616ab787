// Incident-side steps of the disk-pressure workflow (called through the workflow steps Lambda,
// functions/workflow-steps/handler.ts):
//   start           which brokers, where their logs and heap dumps are (EC2), the MSK cluster and
//                   the storage growth policy, the threshold the disk must end below, and (MSK)
//                   from when the workflow re-measures the brokers' disk usage before it grows
//                   anything: the alarm's word is not enough for an irreversible, billed change
//   read-disk       EC2: the kafka-diagnose-host line -> the broker's data disk usage vs the
//                   threshold; before the cleanup it says whether to clean (a dry run records the
//                   cleanup it would run instead), after it a disk still full stops the recovery
//   cleanup-outcome EC2, every broker done: the summary the incident resolves with (a dry run stops)
//   storage-plan    MSK: the re-measured usage -> a false alarm, or may the broker storage grow
//                   now (cluster ACTIVE, none in the last 6 h: the heals of earlier disk-pressure
//                   runs on the cluster), and to what size; a dry run records the update it would make
//   storage-update  MSK: records the UpdateBrokerStorage call (started, or refused by MSK)
// Each writes what it decided to the incident timeline; where the runbook says stop, it throws
// RecoveryStopped with the reason people read (the workflow's one Catch escalates with it).
import * as z from 'zod';
import { diskVerdict, planStorageUpdate, DEFAULT_STORAGE_POLICY, type DiskVerdict } from '../domain/disk-pressure.js';
import type { HealRecord } from '../domain/types.js';
import type { HealHistory, Timeline } from '../shared/store/index.js';
import { escalationReason } from '../domain/broker-recovery.js';
import { RecoveryStopped, RecoveryTargetError } from '../shared/recovery-errors.js';
import { RunbookOutputError, parseRunbookOutput } from '../shared/runbook-output.js';

const hostPath = z
  .string()
  .regex(/^(\/\.?[a-zA-Z0-9_-][a-zA-Z0-9._-]{0,63}){1,16}$/, 'expected an absolute path of plain segments');

/** Per-cluster settings disk-pressure reads from the cluster's target entry (spread into ClusterTargetSchema). */
export const DiskTargetFields = {
  diskPressure: z
    .object({
      /** Where the JVM writes heap dumps (-XX:HeapDumpPath); default: the broker's app log dir. */
      heapDumpDirs: z.array(hostPath).max(8).optional(),
      /** MSK storage growth per run, the volume ceiling and MSK's one-update-per-6-h rule. */
      storageGrowthPercent: z.number().int().min(1).max(100).default(DEFAULT_STORAGE_POLICY.growthPercent),
      maxVolumeGb: z.number().int().min(1).max(16_384).default(DEFAULT_STORAGE_POLICY.maxVolumeGb),
    })
    .default({
      storageGrowthPercent: DEFAULT_STORAGE_POLICY.growthPercent,
      maxVolumeGb: DEFAULT_STORAGE_POLICY.maxVolumeGb,
    }),
};

export const DiskInputSchema = z.looseObject({
  incidentId: z.string().min(1).max(80),
  cluster: z.string().min(1),
  brokerIds: z.array(z.number().int().nonnegative()).default([]),
  dryRun: z.boolean().default(false),
  signal: z.looseObject({ value: z.number().optional() }).optional(),
});

/** What disk-pressure needs from a cluster's target entry. */
export interface DiskClusterTarget {
  cluster: string;
  platform: 'ec2' | 'msk';
  brokers: {
    id: number;
    instanceId: string;
    serverProperties?: string | undefined;
    appLogDir?: string | undefined;
    listenerPort?: number | undefined;
  }[];
  serviceName: string;
  listenerPort: number;
  serverProperties: string;
  appLogDir: string;
  mskClusterArn?: string | undefined;
  diskPressure: { heapDumpDirs?: string[] | undefined; storageGrowthPercent: number; maxVolumeGb: number };
}

export interface DiskBroker {
  brokerId: number;
  instanceId: string;
  serviceName: string;
  listenerPort: string;
  serverProperties: string;
  appLogDir: string;
  heapDumpDirs: string;
}

export interface DiskTarget {
  incidentId: string;
  cluster: string;
  platform: 'ec2' | 'msk';
  brokerIdsText: string;
  /** EC2: the brokers to clean, one at a time. */
  brokers: DiskBroker[];
  mskClusterArn: string | null;
  /** The disk must end below this (the warning level). */
  thresholdPercent: number;
  /** Usage that raised the alarm, when it said. */
  usedPercent: number | null;
  /** MSK: the window the usage is re-measured over (the MEASURE_WINDOW_MS before this step), ISO. */
  measureSince: string;
  measureUntil: string;
  storage: { growthPercent: number; maxVolumeGb: number };
  dryRun: boolean;
}

/** MSK re-measures its data disks over the last 10 minutes (1-minute datapoints), newest first. */
export const MEASURE_WINDOW_MS = 10 * 60_000;

export function resolveDiskTarget(
  raw: unknown,
  targetOf: (cluster: string) => DiskClusterTarget,
  thresholdPercent: number,
  now: Date,
): DiskTarget {
  const parsed = DiskInputSchema.safeParse(raw);
  if (!parsed.success) {
    throw new RecoveryTargetError(
      `execution input is not a disk-pressure request: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(input)'}: ${i.message}`).join('; ')}`,
    );
  }
  const input = parsed.data;
  const t = targetOf(input.cluster);
  if (t.platform === 'msk' && !t.mskClusterArn)
    throw new RecoveryTargetError(`cluster ${input.cluster} has no MSK cluster ARN configured`);
  const ids = [...new Set(input.brokerIds)].sort((a, b) => a - b);
  const brokers: DiskBroker[] = [];
  if (t.platform === 'ec2') {
    // No broker named (a cluster-wide alarm): every configured broker is checked.
    const wanted = ids.length > 0 ? ids : t.brokers.map((b) => b.id).sort((a, b) => a - b);
    for (const id of wanted) {
      const b = t.brokers.find((x) => x.id === id);
      if (!b)
        throw new RecoveryTargetError(
          `no instance is configured for broker ${id} of ${input.cluster} (brokers: [{id, instanceId}] in the config)`,
        );
      const appLogDir = b.appLogDir ?? t.appLogDir;
      brokers.push({
        brokerId: id,
        instanceId: b.instanceId,
        serviceName: t.serviceName,
        listenerPort: String(b.listenerPort ?? t.listenerPort),
        serverProperties: b.serverProperties ?? t.serverProperties,
        appLogDir,
        heapDumpDirs: (t.diskPressure.heapDumpDirs ?? [appLogDir]).join(','),
      });
    }
  }
  return {
    incidentId: input.incidentId,
    cluster: input.cluster,
    platform: t.platform,
    brokerIdsText: ids.length > 0 ? ids.join(', ') : 'all',
    brokers,
    mskClusterArn: t.mskClusterArn ?? null,
    thresholdPercent,
    usedPercent: input.signal?.value ?? null,
    measureSince: new Date(now.getTime() - MEASURE_WINDOW_MS).toISOString(),
    measureUntil: now.toISOString(),
    storage: { growthPercent: t.diskPressure.storageGrowthPercent, maxVolumeGb: t.diskPressure.maxVolumeGb },
    dryRun: input.dryRun,
  };
}

export function diskStartDetail(t: DiskTarget): string {
  const where =
    t.platform === 'msk'
      ? `MSK cluster ${t.mskClusterArn}`
      : `brokers ${t.brokers.map((b) => `${b.brokerId} (${b.instanceId})`).join(', ')}`;
  return `disk-pressure on ${t.cluster}: ${where}; the data disk must end below ${t.thresholdPercent}%${t.dryRun ? ' (dry run: plans and records, mutates nothing)' : ''}`;
}

/** Why a dry run ends with people: the plan is on the timeline and nothing was changed. */
export const DRY_RUN_REASON = 'dry run: the disk cleanup was planned and recorded, not performed';

export const ReadDiskFields = {
  stdout: z.string(),
  brokerId: z.number().int().nonnegative(),
  thresholdPercent: z.number().min(1).max(100),
  phase: z.enum(['before', 'after']),
  dryRun: z.boolean().default(false),
  /** The planned-action line a dry run records for a broker it would clean (written by the workflow, which knows the document). */
  plannedCleanup: z.string().max(2000).optional(),
};
export const CleanupOutcomeFields = {
  brokerIdsText: z.string().min(1).max(2000),
  thresholdPercent: z.number().min(1).max(100),
  dryRun: z.boolean(),
};
export const StoragePlanFields = {
  cluster: z.string().min(1),
  clusterState: z.string().min(1),
  currentVolumeGb: z.number().int().positive(),
  /** KafkaDataLogsDiskUsed of the cluster's brokers as re-measured, newest first (empty: no datapoint). */
  measured: z.array(z.number()),
  /** The MSK cluster's name (the metric's dimension) and ARN, and the start of the window measured. */
  mskClusterName: z.string().min(1),
  mskClusterArn: z.string().min(1),
  measureSince: z.string().min(1),
  thresholdPercent: z.number().min(1).max(100),
  growthPercent: z.number().int().min(1).max(100),
  maxVolumeGb: z.number().int().positive(),
  dryRun: z.boolean().default(false),
};
export const StorageUpdateFields = {
  mskClusterArn: z.string().min(1),
  targetVolumeGb: z.number().int().positive(),
  /** UpdateBrokerStorage's answer: its operation, or the error MSK refused with (Kafka.BadRequestException). */
  update: z.union([
    z.object({ operationArn: z.string() }),
    z.object({ Error: z.string(), Cause: z.string().optional() }),
  ]),
};

interface Store {
  timeline: Pick<Timeline, 'appendTimeline'>;
  heals: Pick<HealHistory, 'recentHeals'>;
}

/** What a broker's disk reading means for the workflow: clean it now (at or above the threshold, not a dry run). */
export type DiskReading = DiskVerdict & { clean: boolean };

export async function readDisk(
  store: Pick<Store, 'timeline'>,
  s: {
    workflow: string;
    incidentId: string;
    stdout: string;
    brokerId: number;
    thresholdPercent: number;
    phase: 'before' | 'after';
    dryRun: boolean;
    plannedCleanup?: string | undefined;
  },
): Promise<DiskReading> {
  let used: number | null = null;
  try {
    const diag = parseRunbookOutput(s.stdout) as { diskUsedPercent?: number | null };
    used = diag.diskUsedPercent ?? null;
  } catch (err) {
    if (!(err instanceof RunbookOutputError)) throw err;
  }
  const v = diskVerdict(
    used,
    s.thresholdPercent,
    `broker ${s.brokerId} ${s.phase === 'before' ? 'before' : 'after'} cleanup`,
  );
  const actor = `workflow:${s.workflow}`;
  await store.timeline.appendTimeline(s.incidentId, {
    actor,
    action: s.phase === 'before' ? 'disk-diagnosed' : 'disk-rechecked',
    detail: v.summary,
    result: v.above ? 'above' : 'below',
  });
  if (s.phase === 'after' && v.above) {
    // The safe cleanup was not enough; what is left (retention, more disk) is for people.
    throw new RecoveryStopped(
      `rotated logs and heap dumps were removed but a data disk is still at or above ${s.thresholdPercent}%: shortening topic retention deletes data and needs a person (or add disk)`,
    );
  }
  if (s.phase === 'before' && v.above && s.dryRun) {
    await store.timeline.appendTimeline(s.incidentId, {
      actor,
      action: 'planned-action',
      result: 'dry-run',
      ...(s.plannedCleanup !== undefined ? { detail: s.plannedCleanup } : {}),
    });
  }
  return { ...v, clean: s.phase === 'before' && v.above && !s.dryRun };
}

/** Every broker is below the threshold: the summary the incident resolves with. A dry run stops here, with people. */
export function cleanupOutcome(s: { brokerIdsText: string; thresholdPercent: number; dryRun: boolean }) {
  if (s.dryRun) throw new RecoveryStopped(DRY_RUN_REASON);
  return {
    text: `every data disk of brokers ${s.brokerIdsText} is below ${s.thresholdPercent}% (rotated logs and heap dumps removed where needed)`,
    falseAlarm: false,
  };
}

/** What the MSK branch does next: grow the storage (update), or nothing (a false alarm); `summary` is what the incident resolves with. */
export interface StorageDecision {
  update: boolean;
  falseAlarm: boolean;
  targetVolumeGb: number | null;
  projectedPercent: number | null;
  reason: string;
  summary: string;
  /** The escalation reason if, after the update, the projected usage is not below the threshold. */
  stillAboveReason: string;
}

export async function storagePlan(
  store: Store,
  now: Date,
  s: { workflow: string; incidentId: string } & {
    cluster: string;
    clusterState: string;
    currentVolumeGb: number;
    measured: number[];
    mskClusterName: string;
    mskClusterArn: string;
    measureSince: string;
    thresholdPercent: number;
    growthPercent: number;
    maxVolumeGb: number;
    dryRun: boolean;
  },
): Promise<StorageDecision> {
  const used = s.measured[0];
  if (used === undefined) {
    throw new RecoveryStopped(
      `broker storage not updated: no KafkaDataLogsDiskUsed datapoint for MSK cluster ${s.mskClusterName} since ${s.measureSince}, so the usage the alarm reported could not be confirmed`,
    );
  }
  if (used < s.thresholdPercent) {
    // The alarm was stale, flapping or forged: resolved as a false alarm, no heal recorded, so the
    // 6-hour storage rule and the flap breaker do not count it.
    const summary = `re-measured: the highest broker data disk usage of MSK cluster ${s.mskClusterName} is ${used}% (below ${s.thresholdPercent}%); broker storage not grown`;
    return {
      update: false,
      falseAlarm: true,
      targetVolumeGb: null,
      projectedPercent: null,
      reason: summary,
      summary,
      stillAboveReason: '',
    };
  }
  const since = new Date(now.getTime() - 6 * 3_600_000);
  // On MSK the only disk-pressure remediation is a storage update: its heals are the updates.
  const heals: HealRecord[] = (await store.heals.recentHeals(s.cluster, since)).filter(
    (h) => h.type === 'disk-pressure',
  );
  const plan = planStorageUpdate({
    clusterState: s.clusterState,
    currentVolumeGb: s.currentVolumeGb,
    usedPercent: used,
    thresholdPercent: s.thresholdPercent,
    earlierUpdates: heals.map((h) => h.finishedAt),
    now,
    policy: {
      growthPercent: s.growthPercent,
      maxVolumeGb: s.maxVolumeGb,
      minIntervalHours: DEFAULT_STORAGE_POLICY.minIntervalHours,
    },
  });
  const actor = `workflow:${s.workflow}`;
  await store.timeline.appendTimeline(s.incidentId, {
    actor,
    action: plan.allowed ? 'storage-update-planned' : 'storage-update-skipped',
    detail: plan.reason,
    result: plan.allowed ? String(plan.targetVolumeGb) : 'skipped',
  });
  // Skipped updates go to people (who may free space or wait for the 6-hour window).
  if (!plan.allowed) throw new RecoveryStopped(`broker storage not updated: ${plan.reason}`);
  if (s.dryRun) {
    await store.timeline.appendTimeline(s.incidentId, {
      actor,
      action: 'planned-action',
      result: 'dry-run',
      detail: `would call kafka:UpdateBrokerStorage on ${s.mskClusterArn} (all brokers to ${plan.targetVolumeGb} GiB): ${plan.reason}`,
    });
    throw new RecoveryStopped(DRY_RUN_REASON);
  }
  return {
    update: true,
    falseAlarm: false,
    targetVolumeGb: plan.targetVolumeGb,
    projectedPercent: plan.projectedPercent,
    reason: plan.reason,
    summary: `broker storage grew to ${plan.targetVolumeGb} GiB; projected data disk usage ${plan.projectedPercent}% (below ${s.thresholdPercent}%)`,
    stillAboveReason: `broker storage grew to ${plan.targetVolumeGb} GiB but the projected usage (${plan.projectedPercent}%) is not known to be below ${s.thresholdPercent}%`,
  };
}

/** Records the UpdateBrokerStorage call; a refusal by MSK (within 6 h, a version or state change) stops the recovery with MSK's reason. */
export async function storageUpdate(
  store: Pick<Store, 'timeline'>,
  s: {
    workflow: string;
    incidentId: string;
    mskClusterArn: string;
    targetVolumeGb: number;
    update: { operationArn: string } | { Error: string; Cause?: string | undefined };
  },
): Promise<{ recorded: true }> {
  const actor = `workflow:${s.workflow}`;
  if ('Error' in s.update) {
    await store.timeline.appendTimeline(s.incidentId, {
      actor,
      action: 'storage-update-skipped',
      result: 'refused',
      detail: `MSK refused UpdateBrokerStorage: ${s.update.Cause ?? ''}`,
    });
    throw new RecoveryStopped(escalationReason({ error: s.update }));
  }
  await store.timeline.appendTimeline(s.incidentId, {
    actor,
    action: 'storage-update-started',
    result: 'started',
    detail: `kafka:UpdateBrokerStorage on ${s.mskClusterArn} to ${s.targetVolumeGb} GiB (operation ${s.update.operationArn})`,
  });
  return { recorded: true };
}
