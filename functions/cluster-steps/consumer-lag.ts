// Cluster-side step of the consumer-lag workflow (called through the cluster steps Lambda,
// functions/cluster-steps/handler.ts): read the group's offsets with a fresh probe, append the
// reading to the window the workflow carries in its state, and judge the window with Burrow's
// rules (functions/domain/consumer-lag.ts). With `requireRecovered` the step throws
// LagNotRecovered while the group is still behind, so the workflow's Retry re-evaluates it with
// backoff before escalating.
import * as z from 'zod';
import {
  appendReading,
  assessLag,
  readingFrom,
  type GroupLagReading,
  type LagAssessment,
} from '../domain/consumer-lag.js';
import type { ClusterSnapshot } from '../domain/snapshot.js';

/** The group could not be read (coordinator unavailable, offsets fetch failed): nothing to judge. */
export class ConsumerGroupUnreadable extends Error {
  override readonly name = 'ConsumerGroupUnreadable';
}

/** The group is still behind (or not OK); Retry waits and re-evaluates. */
export class LagNotRecovered extends Error {
  override readonly name = 'LagNotRecovered';
}

const ReadingSchema = z.object({
  at: z.number(),
  members: z.number().int().nonnegative().optional(),
  offsets: z.array(z.tuple([z.string(), z.number().int(), z.number(), z.number()])),
});

export const LagStepSchema = z.object({
  step: z.literal('lag'),
  cluster: z.string().min(1),
  group: z.string().min(1),
  topics: z.array(z.string().min(1)).nullable().optional(),
  window: z.array(ReadingSchema).default([]),
  maxSamples: z.number().int().min(2).max(10).default(3),
  maxOffsetLag: z.number().int().positive(),
  thresholds: z.object({
    lagSev3: z.number().int().positive(),
    lagSev2: z.number().int().positive(),
    lagSev1: z.number().int().positive(),
  }),
  requireRecovered: z.boolean().default(false),
});
export type LagStep = z.infer<typeof LagStepSchema>;

export type LagStepResult = { step: 'lag'; window: GroupLagReading[]; at: string } & LagAssessment;

/** The probe watches only this group (and its configured topics). */
export function lagWatch(event: LagStep): { group: string; topics?: string[] } {
  return event.topics ? { group: event.group, topics: event.topics } : { group: event.group };
}

export function lagStep(event: LagStep, snapshot: ClusterSnapshot): LagStepResult {
  const g = snapshot.consumerGroups.find((x) => x.group === event.group);
  if (!g || g.error !== undefined) {
    throw new ConsumerGroupUnreadable(
      `group ${event.group} on ${event.cluster} could not be read (${g?.error ?? 'not in the probe result'}; probe ${snapshot.status})`,
    );
  }
  const window = appendReading(event.window, readingFrom(g, snapshot.takenAt), event.maxSamples);
  const assessment = assessLag(event.group, window, { thresholds: event.thresholds, maxOffsetLag: event.maxOffsetLag });
  if (event.requireRecovered && !assessment.recovered) throw new LagNotRecovered(assessment.summary);
  return { step: 'lag', ...assessment, window, at: snapshot.takenAt };
}
