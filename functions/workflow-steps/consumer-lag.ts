// Incident-side steps of the consumer-lag workflow (called through the workflow steps Lambda,
// functions/workflow-steps/handler.ts): resolve which group to evaluate and who owns it from the
// deployed configuration, and write the start to the incident timeline.
//
// What the stack tells the Lambda per cluster (WORKFLOW_TARGETS_FILE, `consumerGroups`): each
// configured group's owning team and its SNS topic, the lag limit its alarm uses, and the optional
// scale hook (a Lambda function or an SNS topic, off by default). A group that is not configured
// is still evaluated; it has no owner to notify, so anything wrong goes to the operators.
import * as z from 'zod';
import { DEFAULT_THRESHOLDS } from '../domain/policy.js';
import type { LagThresholds } from '../domain/lag.js';
import { RecoveryTargetError, parseRecoveryInput } from '../shared/recovery-errors.js';

const arn = (service: string) =>
  z
    .string()
    .regex(
      new RegExp(`^arn:aws[a-z-]*:${service}:[a-z0-9-]+:\\d{12}:[A-Za-z0-9_.:/-]+$`),
      `expected an ${service} ARN`,
    );

export const ScaleHookSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('lambda'), functionArn: arn('lambda') }),
  z.object({ kind: z.literal('sns'), topicArn: arn('sns') }),
]);
export type ScaleHook = z.infer<typeof ScaleHookSchema>;

export const ConsumerGroupTargetSchema = z.object({
  name: z.string().min(1),
  topics: z.array(z.string().min(1)).optional(),
  ownerTeam: z.string().min(1).optional(),
  ownerTopicArn: arn('sns').optional(),
  maxOffsetLag: z.number().int().positive().default(10_000),
  scaleHook: ScaleHookSchema.optional(),
});
export type ConsumerGroupTargetConfig = z.input<typeof ConsumerGroupTargetSchema>;

export const LagThresholdsSchema = z.object({
  lagSev3: z.number().int().positive().optional(),
  lagSev2: z.number().int().positive().optional(),
  lagSev1: z.number().int().positive().optional(),
});

/** The execution input: the classifier passes the signal (which names the group); people may name it directly. */
export const ConsumerLagInputSchema = z.looseObject({
  incidentId: z.string().min(1).max(80),
  cluster: z.string().min(1),
  dryRun: z.boolean().default(false),
  consumerGroup: z.string().min(1).optional(),
  signal: z.looseObject({ consumerGroup: z.string().min(1).optional() }).optional(),
});

export interface LagTarget {
  incidentId: string;
  cluster: string;
  group: string;
  /** Topics to watch; null = every topic the group commits to. */
  topics: string[] | null;
  ownerTeam: string | null;
  /** SNS topic of the owning team; null when none is configured (the operators are told instead). */
  ownerTopicArn: string | null;
  scaleHook: { kind: 'none' | 'lambda' | 'sns'; target: string | null };
  maxOffsetLag: number;
  thresholds: LagThresholds;
  clusterStepsFunction: string;
  dryRun: boolean;
}

/** What the consumer-lag start step needs from a cluster's target entry. */
export interface LagClusterTarget {
  cluster: string;
  clusterStepsFunction: string;
  consumerGroups?: z.output<typeof ConsumerGroupTargetSchema>[] | undefined;
  lagThresholds?: z.output<typeof LagThresholdsSchema> | undefined;
}

export function resolveLagTarget(raw: unknown, targetOf: (cluster: string) => LagClusterTarget): LagTarget {
  const input = parseRecoveryInput(ConsumerLagInputSchema, raw, 'consumer-lag');
  const group = input.consumerGroup ?? input.signal?.consumerGroup;
  if (group === undefined)
    throw new RecoveryTargetError(
      `incident ${input.incidentId} names no consumer group (consumerGroup or signal.consumerGroup)`,
    );
  const target = targetOf(input.cluster);
  const configured = (target.consumerGroups ?? []).find((g) => g.name === group);
  const hook = configured?.scaleHook;
  return {
    incidentId: input.incidentId,
    cluster: input.cluster,
    group,
    topics: configured?.topics ?? null,
    ownerTeam: configured?.ownerTeam ?? null,
    ownerTopicArn: configured?.ownerTopicArn ?? null,
    scaleHook:
      hook === undefined
        ? { kind: 'none', target: null }
        : { kind: hook.kind, target: hook.kind === 'lambda' ? hook.functionArn : hook.topicArn },
    maxOffsetLag: configured?.maxOffsetLag ?? 10_000,
    thresholds: {
      lagSev3: target.lagThresholds?.lagSev3 ?? DEFAULT_THRESHOLDS.lagSev3,
      lagSev2: target.lagThresholds?.lagSev2 ?? DEFAULT_THRESHOLDS.lagSev2,
      lagSev1: target.lagThresholds?.lagSev1 ?? DEFAULT_THRESHOLDS.lagSev1,
    },
    clusterStepsFunction: target.clusterStepsFunction,
    dryRun: input.dryRun,
  };
}

/** The start line for the timeline. */
export function lagStartDetail(t: LagTarget): string {
  const owner = t.ownerTeam === null ? 'no owning team configured' : `owned by ${t.ownerTeam}`;
  const hook = t.scaleHook.kind === 'none' ? 'no scale hook' : `scale hook ${t.scaleHook.kind} ${t.scaleHook.target}`;
  return `consumer-lag for group ${t.group} of ${t.cluster} (${owner}, limit ${t.maxOffsetLag}, ${hook})${t.dryRun ? ' (dry run: plans and records, mutates nothing)' : ''}`;
}
