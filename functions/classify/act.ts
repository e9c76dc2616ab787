// Step 2 of the classify Lambda, arbitrate()'s steps carried out (carryOut): note, supersede,
// release the lock, hold back, or take the cluster lock (lock.ts), designate the run and start
// the workflow.
import type { Decision, OpenIncident, Signal, Workflow } from '../domain/types.js';
import type { ArbitrationStep } from '../domain/arbitrate.js';
import { LockHeldError } from '../shared/errors.js';
import { ACTIVE_STATUSES, type IncidentRecord } from '../shared/store/index.js';
import type { LoadedPolicy } from '../shared/policy-source.js';
import { MetricUnit, logger, metrics } from '../shared/powertools.js';
import { releaseLockOf, runName, supersede } from '../shared/runs.js';
import { executionArnFor, startWorkflow, workflowArnEnvName } from '../shared/workflows.js';
import { DEFAULT_LOCK_TTL_SECONDS, type ClassifyDeps } from './deps.js';
import { takeOverLock } from './lock.js';

/** Carries out one of arbitrate()'s steps for the incident as it stands now. */
export async function carryOut(
  step: ArbitrationStep,
  current: IncidentRecord,
  signal: Signal,
  loaded: LoadedPolicy,
  deps: ClassifyDeps,
): Promise<void> {
  switch (step.step) {
    case 'note':
      await deps.timeline.appendTimeline(current.id, {
        actor: 'classifier',
        action: step.action,
        detail: step.detail,
        result: step.result,
        ...(step.reasons ? { reasons: step.reasons } : {}),
      });
      return;
    case 'hold-back':
      return holdBack(current, step, deps);
    case 'supersede':
      return supersede(current.id, step.run, step.cause, deps);
    case 'release-lock':
      return releaseLockOf(current.cluster, current.id, deps, step.reason);
    case 'start':
      return act(current, signal, step.decision, loaded, deps);
  }
}

/**
 * The decision on the incident is to do nothing (a maintenance window suppressed the automatic
 * action, or the fresh policy no longer calls for one): say so on the timeline, and close an
 * incident that nothing is working on as suppressed, so its slot is free for the next signal.
 */
export async function holdBack(
  current: OpenIncident,
  step: Extract<ArbitrationStep, { step: 'hold-back' }>,
  deps: ClassifyDeps,
): Promise<void> {
  await deps.timeline.appendTimeline(current.id, {
    actor: 'classifier',
    action: step.action,
    detail: step.detail,
    result: 'ignore',
    reasons: step.reasons,
  });
  metrics.addMetric('ActionsSuppressed', MetricUnit.Count, 1);
  if (!step.closeAsSuppressed) return;
  try {
    await deps.incidents.setStatus(current.id, 'suppressed', ['open'], { actor: 'classifier', detail: step.why });
  } catch (err) {
    // Another classifier acted on it meanwhile: its action stands.
    if (!(err instanceof Error && err.name === 'IncidentStatusConflict')) throw err;
  }
}

export async function act(
  incident: IncidentRecord,
  signal: Signal,
  decision: Exclude<Decision, { action: 'ignore' }>,
  loaded: LoadedPolicy,
  deps: ClassifyDeps,
): Promise<void> {
  const incidentId = incident.id;
  const attempt = (incident.reopenCount ?? 0) + 1;
  const requested: Workflow = decision.action === 'escalate' ? 'escalation' : decision.plan.workflow;
  let workflow: Workflow = requested;
  let arn = deps.workflowArns[workflowArnEnvName(requested)];
  const notes: string[] = [];

  if (!arn && requested !== 'escalation') {
    notes.push(`workflow ${requested} is not deployed (${workflowArnEnvName(requested)} unset); escalating instead`);
    workflow = 'escalation';
    arn = deps.workflowArns[workflowArnEnvName('escalation')];
    metrics.addMetric('WorkflowFallbacks', MetricUnit.Count, 1);
  }

  // One remediation per cluster (safety rule 2): a run that waits for approval holds the lock too,
  // since once approved it restarts brokers like any other; without it two incidents' workflows
  // could restart the same broker at once. A dry run changes nothing, so it holds no lock. The lock
  // names the run that may act under it (run-fencing.ts).
  if (
    arn &&
    (decision.action === 'remediate' || decision.action === 'await-approval') &&
    !decision.plan.dryRun &&
    workflow !== 'escalation'
  ) {
    const run = executionArnFor(arn, runName(incident, workflow));
    try {
      const lock = await deps.lock.acquireLock(
        signal.cluster,
        incidentId,
        deps.lockTtlSeconds ?? DEFAULT_LOCK_TTL_SECONDS,
        run,
      );
      await deps.timeline.appendTimeline(incidentId, {
        actor: 'classifier',
        action: 'lock-acquired',
        detail: `remediation lock for ${signal.cluster} until ${new Date(lock.expiresAt * 1000).toISOString()}`,
      });
    } catch (err) {
      if (!(err instanceof LockHeldError)) throw err;
      // A site failure or a quorum loss takes the lock from a broker-level run; anyone takes a stale one (takeOverLock).
      const refused = await takeOverLock(signal.cluster, incidentId, decision, run, deps);
      if (refused !== undefined) {
        // One remediation per cluster: this one goes to people instead of waiting silently.
        notes.push(
          `remediation lock for ${signal.cluster} is held by ${refused.owner ?? 'another incident'} (${refused.why}); escalating instead of remediating concurrently`,
        );
        await deps.timeline.appendTimeline(incidentId, {
          actor: 'classifier',
          action: 'lock-held',
          detail: `${err.message}; ${refused.why}`,
          result: 'escalate',
        });
        metrics.addMetric('LockContention', MetricUnit.Count, 1);
        workflow = 'escalation';
        arn = deps.workflowArns[workflowArnEnvName('escalation')];
      }
    }
  }

  if (!arn) {
    const detail = `no state machine to start: ${[...notes, `${workflowArnEnvName(workflow)} unset`].join('; ')}`;
    logger.error('no workflow deployed for the decision', { incidentId, requested, detail });
    metrics.addMetric('WorkflowMissing', MetricUnit.Count, 1);
    await deps.timeline.appendTimeline(incidentId, {
      actor: 'classifier',
      action: 'workflow-missing',
      detail,
      result: 'not started',
      reasons: decision.reasons,
    });
    return;
  }
  for (const note of notes)
    await deps.timeline.appendTimeline(incidentId, {
      actor: 'classifier',
      action: 'workflow-fallback',
      detail: note,
      result: workflow,
    });

  const plan = decision.action === 'escalate' ? undefined : decision.plan;
  const input = {
    incidentId,
    cluster: signal.cluster,
    incidentType: decision.incidentType,
    severity: decision.severity,
    action: decision.action,
    requestedWorkflow: requested,
    dryRun: plan?.dryRun ?? loaded.policy.mode === 'dry-run',
    brokerIds: plan?.brokerIds ?? signal.brokerIds,
    plan: plan ?? null,
    page: decision.action === 'escalate' ? decision.page : true,
    reasons: [...decision.reasons, ...notes],
    signal,
  };
  // Designated before it starts, so its first step may act (and no run this replaces can).
  await deps.lock.designateRun(incidentId, executionArnFor(arn, runName(incident, workflow)));
  const started = await startWorkflow(deps.sfn, arn, incidentId, input, { workflow, attempt });
  await deps.incidents.setExecution(incidentId, started.executionArn);
  if (
    started.started &&
    workflow !== 'escalation' &&
    (await supersededWhileStarting(incidentId, workflow, decision, started.executionArn, deps))
  )
    return;
  await deps.timeline.appendTimeline(incidentId, {
    actor: 'classifier',
    action: started.started ? 'workflow-started' : 'workflow-already-started',
    detail: `${workflow} execution ${started.executionName}`,
    result: started.executionArn,
    reasons: input.reasons,
  });
  metrics.addMetric(started.started ? 'WorkflowsStarted' : 'DuplicateStarts', MetricUnit.Count, 1);

  const status =
    workflow === 'escalation'
      ? 'escalated'
      : decision.action === 'await-approval'
        ? 'awaiting-approval'
        : 'remediating';
  try {
    await deps.incidents.setStatus(incidentId, status, ACTIVE_STATUSES, {
      actor: 'classifier',
      detail: `${workflow} started`,
    });
  } catch (err) {
    // Closed meanwhile (e.g. resolved by a fast workflow): the timeline already has the start.
    if (!(err instanceof Error && err.name === 'IncidentStatusConflict')) throw err;
    logger.warn('incident closed before its status could be set', { incidentId, status });
  }
}

/**
 * A concurrent signal may grow the incident into a cascade while this start was in flight, before
 * the upgrade could see (and stop) this execution; then the upgrade's runbook owns the incident and
 * this execution is stopped at once, so one incident never has two remediations running.
 */
async function supersededWhileStarting(
  incidentId: string,
  workflow: Workflow,
  decision: Decision,
  executionArn: string,
  deps: ClassifyDeps,
): Promise<boolean> {
  const current = await deps.incidents.get(incidentId);
  if (current.type === decision.incidentType || current.type !== 'cascade-failure' || workflow === 'cascade-recovery')
    return false;
  const cause = `incident ${incidentId} grew into ${current.type} while ${workflow} was starting; the cascade's runbook takes over`;
  await supersede(incidentId, executionArn, cause, deps);
  return true;
}
