// Consumer lag evaluation over a sliding window of samples, after Burrow's evaluation rules
// (LinkedIn Burrow wiki, "Consumer Lag Evaluation Rules"), adapted to samples taken by a probe at
// fixed intervals instead of every commit the consumer makes. Pure: time comes in as `now`.
//
// Per partition, with the window sorted by time and lag_i = max(0, end_i - committed_i):
//   1. OK      the lag at the newest sample is 0 (a caught-up partition is never in error);
//   -  OK      fewer than `minSamples` samples: not enough history to judge (complete: false);
//   2. STOP    the consumer stopped committing: the time since the current committed offset was
//              first seen is longer than the time the window spent reaching it (Burrow rule 4:
//              now - lastCommit > lastCommit - firstCommit), and the group has no active member
//              (or membership is unknown). Polling cannot see a consumer re-committing the same
//              offset, so group membership stands in for "still committing";
//   3. REWIND  the committed offset went backwards between two samples;
//   4. OK      the lag was 0 at some sample in the window (it caught up recently);
//   5. STALL   the committed offset did not change across the window although there is lag and
//              the group has active members: alive but stuck (Burrow rule 2);
//   6. WARN    the offsets move but the lag never decreased between consecutive samples: the
//              consumer is falling behind (Burrow rule 3);
//   7. OK      otherwise (the lag decreased at least once: catching up).
// A group is ERR when any partition is STOP, STALL or REWIND, WARN when any is WARN, else OK.
// Severity is a separate axis: the classifier's seed thresholds on the lag (classify.ts
// lagSeverity: above lagSev1 SEV-1, from lagSev2 SEV-2, from lagSev3 SEV-3, else SEV-4), reused
// here so the probe's view and the classifier's never disagree at an edge.
import { lagSeverity as classifyLagSeverity } from './classify.js';
import { DEFAULT_POLICY } from './policy.js';
import type { Severity, Thresholds } from './types.js';
import type { ClusterSnapshot } from './snapshot.js';

export interface LagSample {
  /** Sample time, epoch milliseconds. */
  at: number;
  committedOffset: number;
  endOffset: number;
  /** The group had active members when sampled; undefined when unknown. */
  active?: boolean;
}

export type PartitionLagStatus = 'OK' | 'WARN' | 'STOP' | 'STALL' | 'REWIND';
export type GroupLagStatus = 'OK' | 'WARN' | 'ERR';

export type LagThresholds = Pick<Thresholds, 'lagSev1' | 'lagSev2' | 'lagSev3'>;

export interface LagEvaluation {
  status: PartitionLagStatus;
  /** Lag at the newest sample. */
  lag: number;
  severity: Severity;
  /** The window held at least minSamples samples. */
  complete: boolean;
  reason: string;
}

export interface LagOptions {
  /** Evaluation time (epoch ms); defaults to the newest sample's time. */
  now?: number;
  /** Samples needed before anything but OK is reported; default 2. */
  minSamples?: number;
}

export const DEFAULT_MIN_SAMPLES = 2;

export function lagSeverity(lag: number, t: LagThresholds): Severity {
  return classifyLagSeverity(lag, { ...DEFAULT_POLICY, thresholds: { ...DEFAULT_POLICY.thresholds, ...t } });
}

export function sampleLag(s: LagSample): number {
  return Math.max(0, s.endOffset - s.committedOffset);
}

export function evaluateLag(window: LagSample[], thresholds: LagThresholds, opts: LagOptions = {}): LagEvaluation {
  const samples = [...window].sort((a, b) => a.at - b.at);
  const last = samples[samples.length - 1];
  const first = samples[0];
  if (!last || !first) return { status: 'OK', lag: 0, severity: 'SEV-4', complete: false, reason: 'no samples' };
  const lag = sampleLag(last);
  const severity = lagSeverity(lag, thresholds);
  const complete = samples.length >= (opts.minSamples ?? DEFAULT_MIN_SAMPLES);
  const result = (status: PartitionLagStatus, reason: string): LagEvaluation => ({
    status,
    lag,
    severity,
    complete,
    reason,
  });
  if (lag === 0) return result('OK', 'caught up: no lag at the newest sample');
  if (!complete) return result('OK', `window incomplete (${samples.length} sample(s))`);

  const now = opts.now ?? last.at;
  // When the current committed offset was first seen: the start of the trailing run of samples
  // that carry it.
  let lastCommitAt = last.at;
  for (let i = samples.length - 1; i >= 0 && samples[i]?.committedOffset === last.committedOffset; i--)
    lastCommitAt = (samples[i] as LagSample).at;
  const span = `${Math.round((now - lastCommitAt) / 1000)} s`;
  if (last.active !== true && now - lastCommitAt > lastCommitAt - first.at) {
    return result('STOP', `no new commit for ${span} (longer than the window's commit span) and no active consumer`);
  }
  let rewound = false;
  let moved = false;
  let lagNeverFell = true;
  let sawZero = false;
  for (let i = 0; i < samples.length; i++) {
    const s = samples[i] as LagSample;
    if (sampleLag(s) === 0) sawZero = true;
    const prev = samples[i - 1];
    if (!prev) continue;
    if (s.committedOffset < prev.committedOffset) rewound = true;
    if (s.committedOffset !== prev.committedOffset) moved = true;
    if (sampleLag(s) < sampleLag(prev)) lagNeverFell = false;
  }
  if (rewound) return result('REWIND', 'the committed offset went backwards');
  if (sawZero) return result('OK', 'lag was zero within the window');
  if (!moved)
    return result('STALL', `committed offset unchanged for ${span} with lag ${lag} while the group has active members`);
  if (lagNeverFell) return result('WARN', 'offsets move but the lag never decreased across the window');
  return result('OK', 'lag decreased within the window');
}

export interface GroupLagEvaluation {
  group: string;
  status: GroupLagStatus;
  totalLag: number;
  severity: Severity;
  partitions: (LagEvaluation & { topic: string; partition: number })[];
}

export function groupStatus(statuses: PartitionLagStatus[]): GroupLagStatus {
  if (statuses.some((s) => s === 'STOP' || s === 'STALL' || s === 'REWIND')) return 'ERR';
  if (statuses.includes('WARN')) return 'WARN';
  return 'OK';
}

/** Per-partition windows of one group, built from consecutive probe snapshots (oldest first). */
export function lagWindows(
  snapshots: ClusterSnapshot[],
  group: string,
  maxSamples: number,
): Map<string, { topic: string; partition: number; samples: LagSample[] }> {
  const out = new Map<string, { topic: string; partition: number; samples: LagSample[] }>();
  for (const snap of snapshots) {
    const g = snap.consumerGroups.find((x) => x.group === group);
    if (!g) continue;
    const at = Date.parse(snap.takenAt);
    for (const p of g.partitions) {
      if (p.committedOffset === null) continue;
      const key = `${p.topic}/${p.partition}`;
      const entry = out.get(key) ?? { topic: p.topic, partition: p.partition, samples: [] };
      const sample: LagSample = { at, committedOffset: p.committedOffset, endOffset: p.endOffset };
      if (g.members !== undefined) sample.active = g.members > 0;
      entry.samples.push(sample);
      if (entry.samples.length > maxSamples) entry.samples.shift();
      out.set(key, entry);
    }
  }
  return out;
}

export function evaluateGroup(
  group: string,
  windows: Map<string, { topic: string; partition: number; samples: LagSample[] }>,
  thresholds: LagThresholds,
  opts: LagOptions = {},
): GroupLagEvaluation {
  const partitions = [...windows.values()]
    .map((w) => ({ topic: w.topic, partition: w.partition, ...evaluateLag(w.samples, thresholds, opts) }))
    .sort((a, b) => (a.topic === b.topic ? a.partition - b.partition : a.topic < b.topic ? -1 : 1));
  const totalLag = partitions.reduce((s, p) => s + p.lag, 0);
  return {
    group,
    status: groupStatus(partitions.map((p) => p.status)),
    totalLag,
    severity: lagSeverity(totalLag, thresholds),
    partitions,
  };
}
