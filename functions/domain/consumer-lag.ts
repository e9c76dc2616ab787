// The decisions of the consumer-lag workflow, as values its ASL Choice states branch on. Pure:
// reads the group's offsets as the probe saw them and an injected evaluation time.
//
// The workflow samples the group a few times (a Burrow evaluation needs a window, not one
// reading), carrying the window in its own state between samples. A reading is kept compact
// ([topic, partition, committed, end] per partition) because Step Functions state is limited to
// 256 KB. The window is judged with lag.ts (Burrow statuses per partition, ERR/WARN/OK for the
// group) and the classifier's lag severity bands.
//
// "Recovered" is stricter than Burrow's OK: the group is OK *and* its total lag is within the
// group's configured limit (maxOffsetLag, the same limit its alarm uses), so a group that is
// catching up from a million messages behind is not called healthy before it is back under it.
import {
  evaluateGroup,
  type GroupLagStatus,
  type LagSample,
  type LagThresholds,
  type PartitionLagStatus,
} from './lag.js';
import type { Severity } from './types.js';
import type { ConsumerGroupLag } from './snapshot.js';

/** One reading of a group's offsets: `[topic, partition, committedOffset, endOffset]` per partition. */
export interface GroupLagReading {
  /** Epoch milliseconds. */
  at: number;
  /** Active members when the coordinator answered; absent when unknown. */
  members?: number;
  offsets: [string, number, number, number][];
}

/** The compact reading of one probe's view of a group. A partition without a commit counts as read from 0 (all of it is lag). */
export function readingFrom(group: ConsumerGroupLag, takenAt: string): GroupLagReading {
  const reading: GroupLagReading = {
    at: Date.parse(takenAt),
    offsets: group.partitions.map((p) => [
      p.topic,
      p.partition,
      p.committedOffset ?? Math.max(0, p.endOffset - p.lag),
      p.endOffset,
    ]),
  };
  if (group.members !== undefined) reading.members = group.members;
  return reading;
}

/** The window with `reading` appended, oldest dropped beyond `maxSamples`. */
export function appendReading(
  window: readonly GroupLagReading[],
  reading: GroupLagReading,
  maxSamples: number,
): GroupLagReading[] {
  return [...window, reading].slice(-Math.max(1, maxSamples));
}

export interface LagAssessmentOptions {
  thresholds: LagThresholds;
  /** The group's lag limit (its alarm threshold): recovered means at or below it. */
  maxOffsetLag: number;
  /** Readings needed before the window is judged; default 2. */
  minSamples?: number;
  /** Evaluation time (epoch ms); default the newest reading's time. */
  now?: number;
  /** How many of the worst partitions to name as evidence; default 5. */
  evidenceLimit?: number;
}

export interface LagAssessment {
  group: string;
  status: GroupLagStatus;
  severity: Severity;
  totalLag: number;
  /** The window holds at least minSamples readings. */
  complete: boolean;
  /** OK and total lag within maxOffsetLag, on a complete window (or no lag at all). */
  recovered: boolean;
  samples: number;
  members: number | null;
  /** Partition count per Burrow status, only the statuses present. */
  counts: Partial<Record<PartitionLagStatus, number>>;
  /** The worst partitions, one line each, for the owning team and the timeline. */
  evidence: string[];
  /** One line for the timeline and notifications. */
  summary: string;
}

/** Longest evidence line, in characters (topic names alone may be 249). */
export const EVIDENCE_LINE_MAX = 200;

const STATUS_RANK: Record<PartitionLagStatus, number> = { STOP: 0, STALL: 1, REWIND: 2, WARN: 3, OK: 4 };

export function assessLag(
  group: string,
  window: readonly GroupLagReading[],
  opts: LagAssessmentOptions,
): LagAssessment {
  const minSamples = opts.minSamples ?? 2;
  const windows = new Map<string, { topic: string; partition: number; samples: LagSample[] }>();
  for (const reading of window) {
    for (const [topic, partition, committedOffset, endOffset] of reading.offsets) {
      const key = `${topic}/${partition}`;
      const entry = windows.get(key) ?? { topic, partition, samples: [] };
      const sample: LagSample = { at: reading.at, committedOffset, endOffset };
      if (reading.members !== undefined) sample.active = reading.members > 0;
      entry.samples.push(sample);
      windows.set(key, entry);
    }
  }
  const evaluation = evaluateGroup(group, windows, opts.thresholds, {
    minSamples,
    ...(opts.now === undefined ? {} : { now: opts.now }),
  });
  const complete = window.length >= minSamples;
  const recovered =
    evaluation.totalLag === 0 || (complete && evaluation.status === 'OK' && evaluation.totalLag <= opts.maxOffsetLag);
  const counts: Partial<Record<PartitionLagStatus, number>> = {};
  for (const p of evaluation.partitions) counts[p.status] = (counts[p.status] ?? 0) + 1;
  const worst = evaluation.partitions
    .filter((p) => p.lag > 0 || p.status !== 'OK')
    .sort((a, b) => STATUS_RANK[a.status] - STATUS_RANK[b.status] || b.lag - a.lag)
    .slice(0, opts.evidenceLimit ?? 5);
  // Bounded lines: the evidence goes into timeline entries (2,000 characters) and notifications.
  const evidence = worst.map((p) =>
    `${p.topic}-${p.partition}: lag ${p.lag}, ${p.status} (${p.reason})`.slice(0, EVIDENCE_LINE_MAX),
  );
  const newest = window[window.length - 1];
  const members = newest?.members ?? null;
  const countText = (Object.keys(STATUS_RANK) as PartitionLagStatus[])
    .filter((s) => counts[s] !== undefined)
    .map((s) => `${counts[s]} ${s}`)
    .join(', ');
  const verdict = recovered ? 'recovered' : complete ? `${evaluation.status}` : 'not yet judged';
  const summary =
    `group ${group} ${verdict} (${evaluation.severity}): total lag ${evaluation.totalLag} (limit ${opts.maxOffsetLag}) over ${evaluation.partitions.length} partition(s)` +
    `${countText ? ` [${countText}]` : ''}, ${members === null ? 'members unknown' : `${members} member(s)`}, ${window.length} sample(s)`;
  return {
    group,
    status: evaluation.status,
    severity: evaluation.severity,
    totalLag: evaluation.totalLag,
    complete,
    recovered,
    samples: window.length,
    members,
    counts,
    evidence,
    summary,
  };
}
