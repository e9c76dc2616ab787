// What a person does to an incident, from wherever they work (the CLI, the incident page, a
// PagerDuty webhook) and what auto-resolve does: acknowledge, resolve, reopen, note. One path
// for all of them, so each writes the same timeline (who, when, where from) and syncs the other
// side the same way:
//   acknowledge  first one wins (MTTA); PagerDuty is told (Events v2 acknowledge) unless it told us;
//                the incident's very first one publishes its MTTA (recordMtta, once per incident)
//   resolve      first one wins (racing the workflow's own resolve: one final state); a run still
//                acting for the incident is fenced, then stopped (runs.ts supersede) and its lock
//                released, so it cannot undo the resolution; PagerDuty is told (Events v2 resolve)
//                unless it told us
//   reopen       a resolved incident becomes escalated and held open for people (no page)
//   note         a timeline line (Events v2 has no notes: PagerDuty is not told)
// The escalation ladder reads the incident at its next step: an acknowledgement stops its paging,
// a resolution ends it (it tells PagerDuty only what nobody told it yet: pagerDutySynced).
import type { SFNClient } from '@aws-sdk/client-sfn';
import type { LifecycleVia } from '../domain/lifecycle.js';
import type { Severity } from '../domain/types.js';
import { RUN_BUSY_STATUSES } from '../domain/run-fencing.js';
import type { ClusterLock, IncidentRecord, IncidentRepo, Timeline } from '../shared/store/index.js';
import {
  incidentNotification,
  notifyTimelineEntries,
  type IncidentNotification,
  type NotifyResult,
} from '../shared/notify.js';
import { isLadderRun, releaseLockOf, supersede } from '../shared/runs.js';

export const LIFECYCLE_ACTIONS = ['acknowledge', 'resolve', 'reopen', 'note'] as const;
export type LifecycleAction = (typeof LIFECYCLE_ACTIONS)[number];

export interface LifecycleRequest {
  incidentId: string;
  action: LifecycleAction;
  /** Who: `operator:<name>`, `pagerduty:<user>`, `auto-resolve`. */
  by: string;
  /** Where from. */
  via: LifecycleVia;
  /** Why (resolve, reopen), the text of a note. */
  reason?: string;
  /** Only if the incident is still at this version (auto-resolve read it; anything newer wins). */
  version?: number;
}

export type LifecycleOutcome =
  | 'acknowledged'
  | 'already-acknowledged'
  | 'closed'
  | 'resolved'
  | 'already-closed'
  | 'reopened'
  | 'not-resolved'
  | 'noted';

export interface LifecycleResult {
  outcome: LifecycleOutcome;
  incident: IncidentRecord;
  /** What else happened, for the person (run stopped, PagerDuty told or not). */
  notes: string[];
}

export interface LifecycleDeps {
  incidents: Pick<IncidentRepo, 'acknowledge' | 'resolveBy' | 'reopenBy' | 'addNote' | 'markPagerDutySynced'>;
  timeline: Pick<Timeline, 'appendTimeline'>;
  lock: Pick<ClusterLock, 'fenceRun' | 'releaseLock'>;
  /** Stops a run still acting after a person's resolve; without it the run is fenced only. */
  sfn?: SFNClient;
  /** The notification chain (PagerDuty first); without it PagerDuty is told by the ladder at its next step. */
  notify?: (n: IncidentNotification) => Promise<NotifyResult>;
  now: () => Date;
  /**
   * Called once per incident, at the acknowledgement that recorded its MTTA: the Lambdas publish
   * the MttaSeconds metric (mtta-metric.ts); absent where no metrics go anywhere (the CLI on
   * DynamoDB Local, drills).
   */
  recordMtta?: (severity: Severity, seconds: number) => void;
}

/** Applies one lifecycle action; an unknown incident throws IncidentNotFoundError. */
export async function applyLifecycle(deps: LifecycleDeps, req: LifecycleRequest): Promise<LifecycleResult> {
  const notes: string[] = [];
  switch (req.action) {
    case 'acknowledge': {
      const r = await deps.incidents.acknowledge(req.incidentId, req.by, req.via, req.reason);
      if (r.firstMtta !== undefined) deps.recordMtta?.(r.incident.severity, r.firstMtta.seconds);
      if (r.outcome === 'acknowledged') await tellPagerDuty(deps, r.incident, 'acknowledge', req, notes);
      return { outcome: r.outcome, incident: r.incident, notes };
    }
    case 'resolve': {
      const r = await deps.incidents.resolveBy(
        req.incidentId,
        req.by,
        req.via,
        req.reason ?? 'resolved by hand',
        req.version,
      );
      if (r.outcome === 'resolved') {
        if (r.from !== undefined && RUN_BUSY_STATUSES.includes(r.from))
          await stopActingRun(deps, r.incident, req, notes);
        await tellPagerDuty(deps, r.incident, 'resolve', req, notes);
      }
      return { outcome: r.outcome, incident: r.incident, notes };
    }
    case 'reopen': {
      const r = await deps.incidents.reopenBy(req.incidentId, req.by, req.via, req.reason ?? 'reopened by hand');
      return { outcome: r.outcome, incident: r.incident, notes };
    }
    case 'note': {
      const incident = await deps.incidents.addNote(req.incidentId, req.by, req.via, req.reason ?? '');
      return { outcome: 'noted', incident, notes };
    }
  }
}

/**
 * The run that was remediating (or waiting for approval) when a person resolved the incident:
 * fenced, then stopped, then the cluster lock it held released. Its designated status check
 * already refuses its next write (the incident is resolved); stopping it keeps it from running
 * one more host command.
 */
async function stopActingRun(
  deps: LifecycleDeps,
  incident: IncidentRecord,
  req: LifecycleRequest,
  notes: string[],
): Promise<void> {
  const run = incident.activeRun;
  if (run === undefined || isLadderRun(run, incident.id)) return;
  const cause = `incident ${incident.id} resolved by ${req.by} from ${req.via}: the run no longer acts for it`;
  if (deps.sfn === undefined) {
    await deps.lock.fenceRun(incident.id, run);
    await deps.timeline.appendTimeline(incident.id, {
      actor: req.by,
      action: 'workflow-fenced',
      detail: `${run} fenced (not stopped: no Step Functions access here): ${cause}`,
    });
    notes.push(`run ${run} fenced (its next step is refused) but not stopped: no Step Functions access here`);
    return;
  }
  await supersede(incident.id, run, cause, { timeline: deps.timeline, lock: deps.lock, sfn: deps.sfn }, req.by);
  await releaseLockOf(
    incident.cluster,
    incident.id,
    { timeline: deps.timeline, lock: deps.lock, sfn: deps.sfn },
    'the incident was resolved by hand',
    req.by,
  );
  notes.push(`run ${run} stopped`);
}

/** Tells PagerDuty (Events v2, dedup key = incident id) what a person did here; PagerDuty's own news is not echoed. */
async function tellPagerDuty(
  deps: LifecycleDeps,
  incident: IncidentRecord,
  kind: 'acknowledge' | 'resolve',
  req: LifecycleRequest,
  notes: string[],
): Promise<void> {
  const what = kind === 'acknowledge' ? 'acknowledged' : 'resolved';
  const at = deps.now().toISOString();
  if (req.via === 'pagerduty') {
    await deps.incidents.markPagerDutySynced(incident.id, what, at);
    return;
  }
  if (incident.firstPagedAt === undefined) {
    notes.push('nobody was paged for it: PagerDuty has nothing to update');
    return;
  }
  if (deps.notify === undefined) {
    notes.push(`PagerDuty not told from here: the escalation ladder tells it at its next step`);
    return;
  }
  const n = incidentNotification(
    incident,
    kind,
    `${what} by ${req.by} (${req.via})${req.reason ? `: ${req.reason}` : ''}`,
  );
  const result = await deps.notify(n);
  for (const entry of notifyTimelineEntries(kind, result.attempts))
    await deps.timeline.appendTimeline(incident.id, entry);
  if (result.via === 'pagerduty') {
    await deps.incidents.markPagerDutySynced(incident.id, what, at);
    notes.push(`PagerDuty ${what} (Events v2 ${kind})`);
  } else {
    notes.push(
      `PagerDuty did not take the ${kind} (${result.via === undefined ? 'undelivered' : `sent via ${result.via}`}); the escalation ladder retries at its next step`,
    );
  }
}
