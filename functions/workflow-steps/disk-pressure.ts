// Incident-side steps of the disk-pressure workflow (called through the workflow steps Lambda,
// functions/workflow-steps/handler.ts):
//   start         which brokers, where their logs and heap dumps are (EC2), the MSK cluster and
//                 the storage growth policy, the threshold the disk must end below, and (MSK)
//                 from when the workflow re-measures the brokers' disk usage before it grows
//                 anything: the alarm's word is not enough for an irreversible, billed change
//   read-disk     the kafka-diagnose-host line -> the broker's data disk usage vs the threshold
//   storage-plan  MSK: may the broker storage grow now (cluster ACTIVE, none in the last 6 h:
//                 the heals of earlier disk-pressure runs on the cluster), and to what size
// Each writes what it decided to the incident timeline.
import * as z from 'zod';
import {
  diskVerdict,
  planStorageUpdate,
  DEFAULT_STORAGE_POLICY,
  type DiskVerdict,
  type StoragePlan,
} from '../domain/disk-pressure.js';
import type { HealRecord } from '../domain/types.js';
import type { HealHistory, Timeline } from '../shared/store/index.js';
import { RecoveryTargetError } from '../shared/recovery-errors.js';
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

export const ReadDiskFields = {
  stdout: z.string(),
  brokerId: z.number().int().nonnegative(),
  thresholdPercent: z.number().min(1).max(100),
  phase: z.enum(['before', 'after']),
};
export const StoragePlanFields = {
  cluster: z.string().min(1),
  clusterState: z.string().min(1),
  currentVolumeGb: z.number().int().positive(),
  usedPercent: z.number().nullable(),
  thresholdPercent: z.number().min(1).max(100),
  growthPercent: z.number().int().min(1).max(100),
  maxVolumeGb: z.number().int().positive(),
};

interface Store {
  timeline: Pick<Timeline, 'appendTimeline'>;
  heals: Pick<HealHistory, 'recentHeals'>;
}

export async function readDisk(
  store: Pick<Store, 'timeline'>,
  s: {
    workflow: string;
    incidentId: string;
    stdout: string;
    brokerId: number;
    thresholdPercent: number;
    phase: 'before' | 'after';
  },
): Promise<DiskVerdict> {
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
  await store.timeline.appendTimeline(s.incidentId, {
    actor: `workflow:${s.workflow}`,
    action: s.phase === 'before' ? 'disk-diagnosed' : 'disk-rechecked',
    detail: v.summary,
    result: v.above ? 'above' : 'below',
  });
  return v;
}

export async function storagePlan(
  store: Store,
  now: Date,
  s: { workflow: string; incidentId: string } & {
    cluster: string;
    clusterState: string;
    currentVolumeGb: number;
    usedPercent: number | null;
    thresholdPercent: number;
    growthPercent: number;
    maxVolumeGb: number;
  },
): Promise<StoragePlan> {
  const since = new Date(now.getTime() - 6 * 3_600_000);
  // On MSK the only disk-pressure remediation is a storage update: its heals are the updates.
  const heals: HealRecord[] = (await store.heals.recentHeals(s.cluster, since)).filter(
    (h) => h.type === 'disk-pressure',
  );
  const plan = planStorageUpdate({
    clusterState: s.clusterState,
    currentVolumeGb: s.currentVolumeGb,
    usedPercent: s.usedPercent,
    thresholdPercent: s.thresholdPercent,
    earlierUpdates: heals.map((h) => h.finishedAt),
    now,
    policy: {
      growthPercent: s.growthPercent,
      maxVolumeGb: s.maxVolumeGb,
      minIntervalHours: DEFAULT_STORAGE_POLICY.minIntervalHours,
    },
  });
  await store.timeline.appendTimeline(s.incidentId, {
    actor: `workflow:${s.workflow}`,
    action: plan.allowed ? 'storage-update-planned' : 'storage-update-skipped',
    detail: plan.reason,
    result: plan.allowed ? String(plan.targetVolumeGb) : 'skipped',
  });
  return plan;
}
