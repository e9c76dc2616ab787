// Taking an execution off an incident: the classifier supersedes a run when the incident grows
// into another runbook or a site failure takes the lock over; a person resolving the incident
// (CLI, incident page, PagerDuty) stops the run still acting for it. Both fence first (from then
// on none of the run's steps may take the lock or change the incident: run-fencing.ts), then
// stop, so a step still in flight (StopExecution does not abort it) cannot undo what follows.
import type { SFNClient } from '@aws-sdk/client-sfn';
import { executionName } from '../domain/incident-id.js';
import type { Workflow } from '../domain/types.js';
import { LockNotOwnedError } from './errors.js';
import type { ClusterLock, Timeline } from './store/index.js';
import { MetricUnit, metrics } from './powertools.js';
import { stopWorkflow } from './workflows.js';

export interface RunDeps {
  timeline: Pick<Timeline, 'appendTimeline'>;
  lock: Pick<ClusterLock, 'fenceRun' | 'releaseLock'>;
  sfn: SFNClient;
}

/** The execution name of an incident's run of `workflow`: attempt n after n - 1 reopenings. */
export function runName(incident: { id: string; reopenCount?: number | undefined }, workflow: Workflow): string {
  return executionName(incident.id, workflow, (incident.reopenCount ?? 0) + 1);
}

/** Whether an execution ARN is an incident's paging ladder (any attempt): it holds no lock and is never fenced for one. */
export function isLadderRun(executionArn: string, incidentId: string): boolean {
  const tail = executionArn.split(':').at(-1) ?? '';
  for (let attempt = 1; attempt <= 20; attempt++)
    if (tail === executionName(incidentId, 'escalation', attempt)) return true;
  return false;
}

/** Stops an execution and says so on the incident timeline (`actor`: who stops it). */
export async function stopRun(
  incidentId: string,
  executionArn: string,
  cause: string,
  deps: RunDeps,
  actor = 'classifier',
): Promise<void> {
  const stopped = await stopWorkflow(deps.sfn, executionArn, cause);
  await deps.timeline.appendTimeline(incidentId, {
    actor,
    action: 'workflow-superseded',
    detail: `${executionArn} stopped: ${cause}`,
    result: stopped ? 'stopped' : 'not found',
  });
  metrics.addMetric('WorkflowsSuperseded', MetricUnit.Count, 1);
}

/** Supersedes an incident's execution: fenced, then stopped. */
export async function supersede(
  incidentId: string,
  executionArn: string,
  cause: string,
  deps: RunDeps,
  actor = 'classifier',
): Promise<void> {
  await deps.lock.fenceRun(incidentId, executionArn);
  await stopRun(incidentId, executionArn, cause, deps, actor);
}

/** Releases the cluster lock if this incident holds it, and says so; a lock held by another incident stays. */
export async function releaseLockOf(
  cluster: string,
  incidentId: string,
  deps: RunDeps,
  why: string,
  actor = 'classifier',
): Promise<void> {
  try {
    if (await deps.lock.releaseLock(cluster, incidentId)) {
      await deps.timeline.appendTimeline(incidentId, {
        actor,
        action: 'lock-released',
        detail: `remediation lock for ${cluster} released: ${why}`,
      });
    }
  } catch (err) {
    if (!(err instanceof LockNotOwnedError)) throw err;
  }
}
