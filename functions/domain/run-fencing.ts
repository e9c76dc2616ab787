// Who may act for an incident, and when a cluster's remediation lock changes hands. Pure: the
// incident store enforces runMayAct in the same conditional write that takes the lock or changes
// the incident's status (functions/shared/store/cluster-lock.ts states it as a DynamoDB condition;
// test/integration/run-fencing.test.ts holds both to the same table), and the classifier asks
// lockTakeover before it moves a lock from one incident to another.
//
// Why: a Step Functions execution that was stopped can still finish the Lambda step it was in
// (StopExecution does not abort an invocation in flight), and a run superseded by another can
// have its first step queued behind the decision that superseded it. Such a run must not take the
// cluster lock, close or escalate its incident, or release a lock that is no longer its own.
// The classifier therefore designates the run that acts for an incident before starting it and
// fences a run (marks it superseded) before stopping it; every step that writes names its run.
import { CLUSTER_WIDE_TYPES, FOLD_STATUSES } from './correlate.js';
import type { IncidentStatus, IncidentType } from './types.js';

/**
 * Statuses in which automation works on the incident, so its designated run may (still) act: the
 * classifier sets remediating/awaiting-approval only after the start, so open counts too.
 */
export const RUN_ACTING_STATUSES: readonly IncidentStatus[] = FOLD_STATUSES;
/** Statuses in which the incident's designated run is at work: no other run may act for it meanwhile. */
export const RUN_BUSY_STATUSES: readonly IncidentStatus[] = ['remediating', 'awaiting-approval'];

/** What the incident item says about its runs. */
export interface RunFacts {
  status: IncidentStatus;
  /** The execution (ARN) the classifier started for the incident, if it started one. */
  activeRun?: string | undefined;
  /** Executions superseded or stopped by the classifier: they never act for the incident again. */
  fencedRuns?: readonly string[] | undefined;
}

export type RunVerdict = { mayAct: true } | { mayAct: false; reason: string };

/**
 * May execution `run` act for the incident (take or keep the cluster lock, close or escalate it)?
 * - no incident item: a run started by hand for an incident the classifier never saw: yes;
 * - a fenced run: never (superseded or stopped by the classifier);
 * - the designated run: while the incident is open, remediating or awaiting approval;
 * - any other run (started by hand): unless the designated run is at work (remediating or
 *   awaiting approval), as before designation existed.
 */
export function runMayAct(incident: RunFacts | undefined, run: string): RunVerdict {
  if (incident === undefined) return { mayAct: true };
  if (incident.fencedRuns?.includes(run))
    return { mayAct: false, reason: `run ${run} was superseded or stopped by the classifier` };
  if (incident.activeRun === undefined) return { mayAct: true };
  if (incident.activeRun === run) {
    return RUN_ACTING_STATUSES.includes(incident.status)
      ? { mayAct: true }
      : { mayAct: false, reason: `the incident is ${incident.status}: its run no longer acts` };
  }
  return RUN_BUSY_STATUSES.includes(incident.status)
    ? { mayAct: false, reason: `run ${incident.activeRun} acts for the incident (${incident.status})` }
    : { mayAct: true };
}

/** A run's execution as Step Functions reports it; `missing` when no execution of that name exists (yet). */
export type RunState = 'live' | 'ended' | 'missing' | 'unknown';

/** Incident types whose runbooks act on single brokers: none of them can work while the site is down or the quorum lost. */
export const BROKER_LEVEL_TYPES: readonly IncidentType[] = ['broker-failure', 'cascade-failure'];
/**
 * A lock whose run does not exist is young while the classifier that took it may still be about
 * to start that run (acquire, designate, StartExecution: well under a second, retried by SQS for a
 * few minutes at most); older, it belongs to a start that never happened.
 */
export const LOCK_STARTING_GRACE_SECONDS = 300;

export interface LockHolder {
  type: IncidentType;
  status: IncidentStatus;
  cluster: string;
  /** State of the run the lock names (the lock's run, else the holder's execution). */
  run: RunState;
  /** Seconds since the lock was taken. */
  lockAgeSeconds: number;
}

export type Takeover =
  | { take: false; reason: string }
  | {
      take: true;
      /** Stop the holder's run first (it may still be running); fenced either way. */
      stopRun: boolean;
      /** Close the holder as suppressed (it was still being worked on by automation). */
      suppressHolder: boolean;
      reason: string;
    };

/**
 * May incident type `claimant` on `cluster` take the cluster lock from `holder`? (docs/incident-store.md, "Lock takeover")
 * 1. An unreadable holder, or one of another cluster, keeps it.
 * 2. A site failure or quorum loss takes it from any broker-level holder, whatever its status
 *    (no broker runbook can work then): stopping the holder's run unless it has ended, closing the
 *    holder as suppressed while automation still worked on it (open, remediating, awaiting approval;
 *    an escalated incident keeps its status and its paging, a closed one stays closed).
 * 3. Anyone takes a stale lock: its run has ended, or never started within the grace.
 * 4. Otherwise the holder keeps it (the claimant escalates: one remediation per cluster).
 */
export function lockTakeover(claimant: IncidentType, cluster: string, holder: LockHolder | undefined): Takeover {
  if (holder === undefined) return { take: false, reason: 'the lock holder cannot be read' };
  if (holder.cluster !== cluster) return { take: false, reason: `the lock holder is an incident of ${holder.cluster}` };
  const stale =
    holder.run === 'ended' || (holder.run === 'missing' && holder.lockAgeSeconds > LOCK_STARTING_GRACE_SECONDS);
  if (CLUSTER_WIDE_TYPES.includes(claimant) && BROKER_LEVEL_TYPES.includes(holder.type)) {
    return {
      take: true,
      stopRun: holder.run !== 'ended',
      suppressHolder: RUN_ACTING_STATUSES.includes(holder.status),
      reason: `${claimant} outranks ${holder.type} (${holder.status}, run ${holder.run}): no broker-level runbook can work while the ${claimant === 'site-failure' ? 'site is down' : 'quorum is lost'}`,
    };
  }
  if (stale) {
    return {
      take: true,
      stopRun: false,
      suppressHolder: false,
      reason: `stale lock: the ${holder.type} holder's run ${holder.run === 'ended' ? 'has ended' : `never started in ${holder.lockAgeSeconds} s`} without releasing it`,
    };
  }
  return {
    take: false,
    reason: `the ${holder.type} holder's run is ${holder.run === 'live' ? 'running' : holder.run === 'missing' ? 'starting' : 'in an unknown state'}`,
  };
}
