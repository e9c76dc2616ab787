// The cluster lock when another incident holds it: the takeover rule (run-fencing.ts lockTakeover)
// carried out, fence, stop, release and take, in rounds against concurrent classifiers.
import type { Decision } from '../domain/types.js';
import { RUN_ACTING_STATUSES, lockTakeover, type RunState } from '../domain/run-fencing.js';
import { LockHeldError, LockNotOwnedError } from '../shared/errors.js';
import { metrics, MetricUnit } from '../shared/powertools.js';
import { isLadderRun, stopRun } from '../shared/runs.js';
import { runState } from '../shared/workflows.js';
import { DEFAULT_LOCK_TTL_SECONDS, type ClassifyDeps } from './deps.js';

/** Rounds of takeOverLock: another classifier may take the freed lock first, and then it is asked again. */
const TAKEOVER_ROUNDS = 3;

/**
 * The lock is held by another incident: take it over when lockTakeover (run-fencing.ts, the rule
 * table in docs/incident-store.md) says so. When a site dies, its broker-down and site-down alarms
 * fire together, and whichever is classified first must not decide the outcome: with no broker
 * reachable no broker-level runbook can succeed, and DR failover is the runbook that helps (a
 * quorum loss likewise outranks them: quorum-recovery restarts every broker itself). A lock whose
 * run has ended (or never started) is stale and taken by anyone. The holder's run is fenced first,
 * then stopped (StopExecution does not abort a step in flight; the fence makes that step refused),
 * then the lock is released and taken with this incident's run. An escalated holder keeps its
 * status and paging, a closed one stays closed; a holder automation still worked on is closed as
 * suppressed. Returns undefined once taken, else who holds it and why it stays.
 */
export async function takeOverLock(
  cluster: string,
  incidentId: string,
  decision: Decision,
  run: string,
  deps: ClassifyDeps,
): Promise<{ owner: string | undefined; why: string } | undefined> {
  let refused: { owner: string | undefined; why: string } = {
    owner: undefined,
    why: 'another classifier took it first',
  };
  for (let round = 0; round < TAKEOVER_ROUNDS; round++) {
    const held = await deps.lock.getLock(cluster);
    const now = deps.now();
    if (held === undefined || held.owner === incidentId || held.expiresAt < Math.floor(now.getTime() / 1000)) {
      if (await tryAcquire(cluster, incidentId, run, `remediation lock for ${cluster}`, deps)) return undefined;
      continue;
    }
    const owner = held.owner;
    // A holder that cannot be read is not taken over.
    const holder = await deps.incidents.get(owner).catch(() => undefined);
    const heldRun = held.run ?? holder?.executionArn;
    // The paging ladder never holds a lock and is never stopped for one (an older lock may name no run but the ladder's).
    const ladder = heldRun !== undefined && isLadderRun(heldRun, owner);
    const state: RunState = heldRun === undefined || ladder ? 'missing' : await runState(deps.sfn, heldRun);
    const lockAgeSeconds = Math.max(0, Math.round((now.getTime() - Date.parse(held.acquiredAt)) / 1000));
    const verdict = lockTakeover(
      decision.incidentType,
      cluster,
      holder && { type: holder.type, status: holder.status, cluster: holder.cluster, run: state, lockAgeSeconds },
    );
    if (!verdict.take) return { owner, why: verdict.reason };
    const why = `${decision.incidentType} ${incidentId} takes the remediation lock for ${cluster} over from ${owner}: ${verdict.reason}`;
    if (heldRun !== undefined && !ladder) {
      await deps.lock.fenceRun(owner, heldRun);
      if (verdict.stopRun) await stopRun(owner, heldRun, why, deps);
    }
    try {
      await deps.lock.releaseLock(cluster, owner);
    } catch (err) {
      // Moved on meanwhile (released and taken by someone else): ask again.
      if (!(err instanceof LockNotOwnedError)) throw err;
      refused = { owner, why: 'the lock changed hands during the takeover' };
      continue;
    }
    await deps.timeline.appendTimeline(owner, {
      actor: 'classifier',
      action: 'lock-taken-over',
      detail: why,
      result: incidentId,
    });
    if (
      !(await tryAcquire(
        cluster,
        incidentId,
        run,
        `remediation lock for ${cluster} taken over from ${owner} (${holder?.type})`,
        deps,
      ))
    )
      continue;
    if (verdict.suppressHolder) {
      try {
        await deps.incidents.setStatus(owner, 'suppressed', RUN_ACTING_STATUSES, { actor: 'classifier', detail: why });
      } catch (err) {
        // Escalated or closed meanwhile by its own run: that status stands.
        if (!(err instanceof Error && err.name === 'IncidentStatusConflict')) throw err;
      }
    }
    metrics.addMetric('LockTakeovers', MetricUnit.Count, 1);
    return undefined;
  }
  return refused;
}

/** Takes the lock for this incident's run; false when another incident holds it. */
async function tryAcquire(
  cluster: string,
  incidentId: string,
  run: string,
  what: string,
  deps: ClassifyDeps,
): Promise<boolean> {
  try {
    const lock = await deps.lock.acquireLock(cluster, incidentId, deps.lockTtlSeconds ?? DEFAULT_LOCK_TTL_SECONDS, run);
    await deps.timeline.appendTimeline(incidentId, {
      actor: 'classifier',
      action: 'lock-acquired',
      detail: `${what} until ${new Date(lock.expiresAt * 1000).toISOString()}`,
    });
    return true;
  } catch (err) {
    if (err instanceof LockHeldError) return false;
    throw err;
  }
}
