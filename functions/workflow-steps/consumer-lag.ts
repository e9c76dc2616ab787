// Incident-side steps of the consumer-lag workflow (called through the workflow steps Lambda,
// functions/workflow-steps/handler.ts): resolve which group to evaluate and who owns it from the
// deployed configuration, and write the start to the incident timeline (`start`); then act on a
// judged window (`act-on-lag`): the evaluation on the timeline, the owning team told, the scale
// hook called, each result on the timeline, and the run stopped for people where the runbook says
// so (a dry run, SEV-1 lag, a group nobody owns, a team that could not be told).
//
// What the stack tells the Lambda per cluster (WORKFLOW_TARGETS_FILE, `consumerGroups`): each
// configured group's owning team and its SNS topic, the lag limit its alarm uses, and the optional
// scale hook (a Lambda function or an SNS topic, off by default). A group that is not configured
// is still evaluated; it has no owner to notify, so anything wrong goes to the operators.
import { InvokeCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import { PublishCommand, type SNSClient } from '@aws-sdk/client-sns';
import * as z from 'zod';
import { DEFAULT_THRESHOLDS } from '../domain/policy.js';
import type { LagThresholds } from '../domain/lag.js';
import { RecoveryStopped, RecoveryTargetError, parseRecoveryInput } from '../shared/recovery-errors.js';
import type { Timeline } from '../shared/store/index.js';

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

// --------------------------------------------------------------------------- act-on-lag

/** The services the act-on-lag step calls: SNS (the owning team, an SNS scale hook) and Lambda (a function scale hook). */
export interface LagActionClients {
  sns: Pick<SNSClient, 'send'>;
  lambda: Pick<LambdaClient, 'send'>;
}

/** A scale hook function gets as long as the workflow's own Task gave it before (60 s). */
export const SCALE_HOOK_TIMEOUT_MS = 60_000;

/** Why a dry run stops: the plan is on the timeline, nobody was told or scaled, so the lag is people's. */
export const LAG_DRY_RUN_REASON =
  'dry run: the owning team notification and the scale hook were planned and recorded, not performed';

/** The act-on-lag step's fields: the run's target (from `start`) and the judged window (the cluster steps' `lag`). */
export const ActOnLagFields = {
  cluster: z.string().min(1),
  target: z.looseObject({
    group: z.string().min(1),
    ownerTeam: z.string().min(1).nullable(),
    ownerTopicArn: arn('sns').nullable(),
    scaleHook: z.discriminatedUnion('kind', [
      z.object({ kind: z.literal('none'), target: z.null() }),
      z.object({ kind: z.literal('lambda'), target: arn('lambda') }),
      z.object({ kind: z.literal('sns'), target: arn('sns') }),
    ]),
    maxOffsetLag: z.number(),
    dryRun: z.boolean(),
  }),
  lag: z.looseObject({
    status: z.string(),
    severity: z.string(),
    totalLag: z.number(),
    summary: z.string(),
    evidence: z.array(z.string()),
    at: z.string(),
  }),
};
/** The step as the workflow steps handler's schema (WorkflowStepSchema) parsed it. */
export type ActOnLag = z.infer<z.ZodObject<typeof ActOnLagFields>> & { incidentId: string };

export interface LagActed {
  teamNotified: boolean;
  scaleHook: 'none' | 'called' | 'failed';
}

/** The error name as a Step Functions service integration reports it (`SNS.NotFoundException`). */
function integrationError(service: 'SNS' | 'Lambda', err: unknown): string {
  return `${service}.${err instanceof Error && err.name ? err.name : 'Error'}`;
}

/** The scale request, the same for a hook function and a hook topic. */
function scaleRequest(s: ActOnLag) {
  return {
    kind: 'kafka-heal/consumer-lag-scale',
    incidentId: s.incidentId,
    cluster: s.cluster,
    group: s.target.group,
    status: s.lag.status,
    severity: s.lag.severity,
    totalLag: s.lag.totalLag,
    maxOffsetLag: s.target.maxOffsetLag,
    summary: s.lag.summary,
  };
}

/**
 * Calls the group's scale hook: undefined when it answered, else the error's name (a function's
 * own errorType, or the service error as `Lambda.X` / `SNS.X`). A failed hook does not stop the run.
 */
async function callScaleHook(clients: LagActionClients, s: ActOnLag): Promise<string | undefined> {
  const hook = s.target.scaleHook;
  const request = JSON.stringify(scaleRequest(s));
  if (hook.kind === 'sns') {
    try {
      await clients.sns.send(new PublishCommand({ TopicArn: hook.target, Message: request }));
      return undefined;
    } catch (err) {
      return integrationError('SNS', err);
    }
  }
  if (hook.kind !== 'lambda') return undefined;
  try {
    const out = await clients.lambda.send(
      new InvokeCommand({ FunctionName: hook.target, InvocationType: 'RequestResponse', Payload: request }),
      { abortSignal: AbortSignal.timeout(SCALE_HOOK_TIMEOUT_MS) },
    );
    if (out.FunctionError === undefined) return undefined;
    // The function threw: its errorType, as lambda:invoke names the error.
    try {
      const body = JSON.parse(new TextDecoder().decode(out.Payload)) as { errorType?: unknown };
      if (typeof body.errorType === 'string' && body.errorType) return body.errorType;
    } catch {
      // No JSON body: the kind of failure Lambda reports is all there is.
    }
    return out.FunctionError;
  } catch (err) {
    return integrationError('Lambda', err);
  }
}

/**
 * Acts on a window the cluster steps judged as real lag: the evaluation goes to the timeline first;
 * a dry run records what it would do and stops (RecoveryStopped, the dry-run reason). Otherwise
 * the owning team's topic gets the evidence (a team that cannot be told stops the run: the
 * operators are told instead), the scale hook is called (a failure is recorded, not fatal), and
 * SEV-1 lag and a group nobody owns stop the run for the operators; the rest returns, and the
 * workflow gives the consumers time and re-evaluates. Each reason is the escalation reason as written.
 */
export async function actOnLag(
  timeline: Pick<Timeline, 'appendTimeline'>,
  clients: () => LagActionClients,
  s: ActOnLag,
): Promise<LagActed> {
  const { target: t, lag } = s;
  const record = (action: string, detail: string, result: string) =>
    timeline.appendTimeline(s.incidentId, { actor: 'workflow:consumer-lag', action, detail, result });
  const hook = `${t.scaleHook.kind} ${t.scaleHook.target}`;
  await record('lag-evaluated', `${lag.summary}; worst partitions: ${JSON.stringify(lag.evidence)}`, lag.status);
  if (t.dryRun) {
    await record(
      'planned-action',
      `would publish the lag evidence to the owning team ${t.ownerTeam} on ${t.ownerTopicArn}, ` +
        `call the scale hook (${hook}), re-evaluate with backoff and escalate by severity (${lag.severity})`,
      'dry-run',
    );
    throw new RecoveryStopped(LAG_DRY_RUN_REASON);
  }
  const c = clients();
  let teamNotified = false;
  if (t.ownerTopicArn !== null) {
    const notice = {
      kind: 'kafka-heal/consumer-lag',
      incidentId: s.incidentId,
      cluster: s.cluster,
      group: t.group,
      ownerTeam: t.ownerTeam,
      status: lag.status,
      severity: lag.severity,
      totalLag: lag.totalLag,
      maxOffsetLag: t.maxOffsetLag,
      summary: lag.summary,
      evidence: lag.evidence,
      evaluatedAt: lag.at,
    };
    let messageId: string | undefined;
    try {
      const out = await c.sns.send(
        new PublishCommand({
          TopicArn: t.ownerTopicArn,
          Subject: `[${lag.severity}] kafka-heal: consumer group lag ${lag.status}`,
          Message: JSON.stringify(notice),
        }),
      );
      messageId = out.MessageId;
    } catch (err) {
      throw new RecoveryStopped(
        `the owning team ${t.ownerTeam} could not be notified on ${t.ownerTopicArn} (${integrationError('SNS', err)}): ${lag.summary}`,
      );
    }
    teamNotified = true;
    await record(
      'team-notified',
      `lag evidence sent to ${t.ownerTeam} on ${t.ownerTopicArn} (message ${messageId})`,
      'success',
    );
  }
  let scaled: LagActed['scaleHook'] = 'none';
  if (t.scaleHook.kind !== 'none') {
    const failed = await callScaleHook(c, s);
    scaled = failed === undefined ? 'called' : 'failed';
    if (failed === undefined)
      await record(
        'scale-hook-called',
        `scale hook ${hook} called for group ${t.group} (${lag.status}, lag ${lag.totalLag})`,
        'success',
      );
    else await record('scale-hook-failed', `scale hook ${hook} failed: ${failed}`, 'failed');
  }
  if (lag.severity === 'SEV-1') throw new RecoveryStopped(`SEV-1 consumer lag: ${lag.summary}`);
  if (t.ownerTopicArn === null)
    throw new RecoveryStopped(`no owning team is configured for group ${t.group}: ${lag.summary}`);
  return { teamNotified, scaleHook: scaled };
}
