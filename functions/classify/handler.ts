// Classify Lambda (glue): SQS batch of Signals from the ingest Lambda.
//   1. per signal: policy (SSM, cached) + cluster facts (env) + open incidents + recent heals
//      -> classify() -> correlate() -> store.recordSignal(); a broker-level signal that correlate()
//      folds into an open site-failure or quorum-loss incident is only recorded on its timeline
//   2. per incident the batch opened or upgraded (or whose first delivery did not finish acting):
//      re-read the incident and the policy (fresh), decide once on the incident as it now stands,
//      then take the cluster lock (remediate or await-approval, not a dry run) and start the plan's workflow, named from the
//      incident id; a maintenance window's suppression is recorded and closes the incident as
//      suppressed.
// Every decision and action goes to the incident timeline with its reasons. A redelivered signal
// is a no-op, except that actions a failed first delivery did not finish are completed.
// Escalated incidents never swallow a new fault (correlate's "no fault swallowed" rule): a signal
// one covers joins it and its owner is re-notified (at most every RENOTIFY_MIN_SECONDS); one it
// does not cover opens its own incident, linked to it, with its own decision. A fault returning
// soon after its incident was resolved without the healer reopens that incident (a fresh decision;
// its runs are attempt reopenCount + 1).
import { SFNClient } from '@aws-sdk/client-sfn';
import { SSMClient } from '@aws-sdk/client-ssm';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { arbitrate, type ArbitrationStep } from '../domain/arbitrate.js';
import { classify } from '../domain/classify.js';
import { correlate, type Correlation } from '../domain/correlate.js';
import { RUN_ACTING_STATUSES, lockTakeover, type RunState } from '../domain/run-fencing.js';
import type { ClusterFacts, Decision, HealRecord, OpenIncident, Signal, Workflow } from '../domain/types.js';
import { incidentStoreFromEnv } from '../shared/clients.js';
import { clustersFromEnv, requireEnv } from '../shared/env.js';
import { InputValidationError, LockHeldError, LockNotOwnedError } from '../shared/errors.js';
import { ACTIVE_STATUSES, LOCK_TTL_SECONDS, type IncidentRecord, type IncidentStore } from '../shared/incident-store.js';
import { withHouseMiddleware } from '../shared/middy.js';
import { NOTIFY_ENV, notify, notifyDepsFromEnv, notifyTimelineEntries, incidentNotification, type IncidentNotification, type NotifyResult } from '../shared/notify.js';
import { SsmPolicySource, unconfiguredPolicy, type LoadedPolicy, type PolicySource } from '../shared/policy-source.js';
import { MetricUnit, logger, metrics } from '../shared/powertools.js';
import { signalSchema } from '../shared/schemas.js';
import { isLadderRun, releaseLockOf, runName, stopRun, supersede } from '../shared/runs.js';
import { executionArnFor, runState, startWorkflow, workflowArnEnvName } from '../shared/workflows.js';

/** A remediation holds its cluster's lock at most this long unless the workflow renews it (LOCK_TTL_SECONDS). */
export const DEFAULT_LOCK_TTL_SECONDS = LOCK_TTL_SECONDS;

export type ClassifyStore = Pick<
  IncidentStore,
  | 'listOpen'
  | 'recentHeals'
  | 'recordSignal'
  | 'markSignalActed'
  | 'appendTimeline'
  | 'acquireLock'
  | 'getLock'
  | 'releaseLock'
  | 'setExecution'
  | 'designateRun'
  | 'fenceRun'
  | 'setStatus'
  | 'storeRaw'
  | 'get'
  | 'listRecentlyResolved'
  | 'claimRenotify'
>;

export interface ClassifyDeps {
  store: ClassifyStore;
  sfn: SFNClient;
  policies: PolicySource;
  clusters: ClusterFacts[];
  /** Where WORKFLOW_ARN_<WORKFLOW> are read from. */
  workflowArns: Record<string, string | undefined>;
  now: () => Date;
  lockTtlSeconds?: number;
  /** The notification chain (PagerDuty, SNS, retry queue): re-notifies an escalated incident's owner. */
  notify?: (n: IncidentNotification) => Promise<NotifyResult>;
}

export function parseSignal(body: string): Signal {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch (err) {
    throw new InputValidationError(`signal message is not JSON: ${(err as Error).message}`, [{ path: '(body)', message: 'not JSON' }]);
  }
  const parsed = signalSchema.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => ({ path: i.path.map(String).join('.') || '(signal)', message: i.message }));
    throw new InputValidationError(`signal message is not a Signal: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`, issues);
  }
  return parsed.data;
}

function policyNote(loaded: LoadedPolicy): string {
  return loaded.problem ?? `policy ${loaded.parameterName}: mode ${loaded.policy.mode}`;
}

/**
 * A signal whose incident this batch opened or grew, or whose first delivery did not finish
 * acting. Acting waits until every signal of the batch is recorded, so one decision per incident
 * is taken on the incident as the whole batch (and any concurrent classifier) left it.
 */
interface Pending {
  incidentId: string;
  signal: Signal;
  /** The signal's own decision, as recorded with it. */
  decision: Decision;
  recentHeals: HealRecord[];
  messageId: string;
}

/** Classifies one signal and records it on its incident; returns what is left to act on. */
/** The cluster's runtime policy; nothing is read for a cluster the deployment does not watch (unconfiguredPolicy). */
function policyOf(cluster: string, deps: ClassifyDeps, fresh = false): Promise<LoadedPolicy> {
  if (!deps.clusters.some((c) => c.name === cluster)) return Promise.resolve(unconfiguredPolicy(cluster));
  return deps.policies.get(cluster, fresh ? { fresh } : undefined);
}

async function recordSignal(signal: Signal, messageId: string, deps: ClassifyDeps): Promise<Pending | undefined> {
  const now = deps.now();
  const loaded = await policyOf(signal.cluster, deps);
  if (loaded.origin === 'fallback-off') {
    logger.error('runtime policy invalid, automation off for the cluster', { cluster: signal.cluster, problem: loaded.problem });
    metrics.addMetric('PolicyFallbacks', MetricUnit.Count, 1);
  } else if (loaded.origin === 'default') {
    logger.warn('runtime policy missing, using the default', { cluster: signal.cluster, problem: loaded.problem });
  } else if (loaded.origin === 'unconfigured') {
    logger.warn('signal for a cluster this deployment does not watch', { cluster: signal.cluster, signalId: signal.id });
    metrics.addMetric('UnknownClusterSignals', MetricUnit.Count, 1);
  }
  const policy = loaded.policy;
  const cluster = deps.clusters.find((c) => c.name === signal.cluster);
  const lookback = Math.max(policy.flapWindowSeconds, policy.cooldownSeconds) * 1000;
  const [open, recentHeals] = await Promise.all([deps.store.listOpen(signal.cluster), deps.store.recentHeals(signal.cluster, new Date(now.getTime() - lookback))]);

  const decision = classify({ signal, cluster, openIncidents: open, recentHeals, policy, now });
  let resolved: Awaited<ReturnType<ClassifyStore['listRecentlyResolved']>> = [];
  const bind = (o: OpenIncident[]): Correlation => correlate(signal, decision, o, policy, now, resolved);
  let correlation = bind(open);
  if (correlation.kind === 'new' && !correlation.linkedTo && signal.state === 'firing' && decision.action !== 'ignore' && policy.reopenSeconds > 0) {
    // About to open a new incident: the fault may be one that returned (read only then, off the storm path).
    resolved = await deps.store.listRecentlyResolved(signal.cluster, new Date(now.getTime() - policy.reopenSeconds * 1000));
    if (resolved.length > 0) correlation = bind(open);
  }
  metrics.addMetric('SignalsClassified', MetricUnit.Count, 1);

  if (decision.action === 'ignore' && correlation.kind === 'new' && !decision.suppressed) {
    // Nothing open to annotate and nothing to do: no incident for it.
    logger.info('signal ignored', { signalId: signal.id, cluster: signal.cluster, kind: signal.kind, reasons: decision.reasons });
    metrics.addMetric('SignalsIgnored', MetricUnit.Count, 1);
    return undefined;
  }

  const recorded = await deps.store.recordSignal(signal, decision, correlation, bind);
  logger.info('signal recorded', { signalId: signal.id, outcome: recorded.outcome, correlation, action: decision.action });

  if (recorded.outcome === 'duplicate') {
    metrics.addMetric('DuplicateSignals', MetricUnit.Count, 1);
    // A first delivery that opened or upgraded the incident but failed before its workflow started.
    if (!recorded.acted && recorded.incidentId && recorded.decision && (recorded.firstOutcome === 'created' || recorded.firstOutcome === 'upgraded' || recorded.firstOutcome === 'reopened')) {
      await deps.store.appendTimeline(recorded.incidentId, { actor: 'classifier', action: 'actions-resumed', detail: `redelivery of signal ${signal.id} completes the actions of its first delivery` });
      return { incidentId: recorded.incidentId, signal, decision: recorded.decision, recentHeals, messageId };
    }
    return undefined;
  }

  const incidentId = recorded.incident.id;
  // Metric names spelled out in the call: the dashboard test reads them from addMetric.
  metrics.addMetric(recorded.outcome === 'created' ? 'IncidentsOpened' : recorded.outcome === 'upgraded' ? 'IncidentsUpgraded' : recorded.outcome === 'reopened' ? 'IncidentsReopened' : recorded.folded ? 'SignalsFolded' : 'SignalsJoined', MetricUnit.Count, 1);
  if (recorded.outcome === 'created') {
    // Per severity for the dashboard (infra/constructs/dashboard.ts): its own EMF document, as the dimension set differs.
    const bySeverity = metrics.singleMetric();
    bySeverity.addDimension('Severity', recorded.incident.severity);
    bySeverity.addMetric('IncidentsOpenedBySeverity', MetricUnit.Count, 1);
  }
  if (loaded.origin !== 'ssm' && recorded.outcome !== 'joined') {
    await deps.store.appendTimeline(incidentId, { actor: 'classifier', action: 'policy-fallback', detail: policyNote(loaded), result: `mode ${policy.mode}` });
  }
  if (recorded.outcome === 'joined') {
    // Joined or folded: the incident's own decision stands; no new decision or workflow. A firing
    // signal an escalated incident covers re-notifies its owner (the automation the gates stopped
    // stays stopped).
    if (!recorded.folded && signal.state === 'firing' && recorded.incident.status === 'escalated') {
      await renotifyOwner(recorded.incident, signal, correlation.kind === 'join' ? correlation.renotify : undefined, deps);
    }
    await deps.store.markSignalActed(signal.id);
    return undefined;
  }
  return { incidentId, signal, decision, recentHeals, messageId };
}

/**
 * A signal the escalated incident covers fired: its owner hears of it through the notification
 * chain (a PagerDuty trigger with the incident's dedup key joins the same PagerDuty incident), at
 * most once per RENOTIFY_MIN_SECONDS per incident, and the timeline says so either way.
 */
async function renotifyOwner(incident: IncidentRecord, signal: Signal, why: string | undefined, deps: ClassifyDeps): Promise<void> {
  const what = `${signal.source} signal ${signal.name}${signal.brokerIds.length ? ` (brokers ${signal.brokerIds.join(',')})` : ''} fired while the incident is escalated${why ? ` (${why})` : ''}`;
  if (!(await deps.store.claimRenotify(incident.id))) {
    await deps.store.appendTimeline(incident.id, { actor: 'classifier', action: 'owner-renotify-skipped', detail: `${what}; the owner was notified less than 5 minutes ago`, result: 'skipped' });
    return;
  }
  if (!deps.notify) {
    await deps.store.appendTimeline(incident.id, { actor: 'classifier', action: 'owner-renotified', detail: `${what}; no notification channel is configured here`, result: 'undelivered' });
    return;
  }
  const n: IncidentNotification = {
    ...incidentNotification(incident, 'trigger', `Still failing: ${signal.name} on ${incident.cluster} fired again; ${incident.type} is with people (escalated), no automatic action`),
    ...(incident.executionArn === undefined ? {} : { executionArn: incident.executionArn }),
    details: { renotify: what, acknowledgedBy: incident.acknowledgedBy ?? null },
  };
  let result: NotifyResult;
  try {
    result = await deps.notify(n);
  } catch (err) {
    await deps.store.appendTimeline(incident.id, { actor: 'classifier', action: 'owner-renotified', detail: `${what}; ${(err as Error).message}`, result: 'undelivered' });
    throw err;
  }
  for (const entry of notifyTimelineEntries('trigger', result.attempts)) await deps.store.appendTimeline(incident.id, entry);
  await deps.store.appendTimeline(incident.id, { actor: 'classifier', action: 'owner-renotified', detail: what, result: result.via ?? 'undelivered' });
  metrics.addMetric('OwnersRenotified', MetricUnit.Count, 1);
}

/**
 * One decision per incident and batch, taken on the incident as it stands now (re-read after
 * every signal of the batch was recorded, and after any concurrent classifier's writes that
 * landed meanwhile) with the runtime policy read afresh, so a kill switch (`off`, `dry-run`) or a
 * new maintenance window is honoured by the very next decision that would act. A storm whose
 * signals are already here (one batch, or concurrent batches that wrote first) thus starts its
 * final runbook once, instead of starting the first signal's and superseding it; a lone broker's
 * recovery is not delayed (nothing waits for signals that have not arrived).
 */
async function decideAndAct(group: Pending[], deps: ClassifyDeps): Promise<void> {
  const first = group[0] as Pending;
  const incidentId = first.incidentId;
  const current = await deps.store.get(incidentId);
  if (!ACTIVE_STATUSES.includes(current.status)) {
    // Closed meanwhile (e.g. a fast workflow resolved it): nothing is left to start.
    logger.info('incident closed before its decision', { incidentId, status: current.status });
    return;
  }
  // The signal that gave the incident its current type leads (the latest one of the batch).
  const lead = [...group].reverse().find((p) => p.decision.incidentType === current.type) ?? (group.at(-1) as Pending);
  const loaded = await policyOf(current.cluster, deps, true);
  const open = await deps.store.listOpen(current.cluster);
  const others = open.filter((o) => o.id !== incidentId);
  const cluster = deps.clusters.find((c) => c.name === current.cluster);
  const acting = classify({ signal: lead.signal, cluster, openIncidents: [...others, current], recentHeals: lead.recentHeals, policy: loaded.policy, now: deps.now() });
  const steps = arbitrate({ incident: current, decided: lead.decision, acting, runNameOf: (w) => runName(current, w), batchSize: group.length, policyNote: policyNote(loaded) });
  for (const step of steps) {
    switch (step.step) {
      case 'note':
        await deps.store.appendTimeline(incidentId, { actor: 'classifier', action: step.action, detail: step.detail, result: step.result, ...(step.reasons ? { reasons: step.reasons } : {}) });
        break;
      case 'hold-back':
        await holdBack(current, step, deps);
        break;
      case 'supersede':
        await supersede(incidentId, step.run, step.cause, deps);
        break;
      case 'release-lock':
        await releaseLockOf(current.cluster, incidentId, deps, step.reason);
        break;
      case 'start':
        await act(current, lead.signal, step.decision, loaded, deps);
        break;
    }
  }
}

/**
 * The decision on the incident is to do nothing (a maintenance window suppressed the automatic
 * action, or the fresh policy no longer calls for one): say so on the timeline, and close an
 * incident that nothing is working on as suppressed, so its slot is free for the next signal.
 */
async function holdBack(current: OpenIncident, step: Extract<ArbitrationStep, { step: 'hold-back' }>, deps: ClassifyDeps): Promise<void> {
  await deps.store.appendTimeline(current.id, { actor: 'classifier', action: step.action, detail: step.detail, result: 'ignore', reasons: step.reasons });
  metrics.addMetric('ActionsSuppressed', MetricUnit.Count, 1);
  if (!step.closeAsSuppressed) return;
  try {
    await deps.store.setStatus(current.id, 'suppressed', ['open'], { actor: 'classifier', detail: step.why });
  } catch (err) {
    // Another classifier acted on it meanwhile: its action stands.
    if (!(err instanceof Error && err.name === 'IncidentStatusConflict')) throw err;
  }
}

async function act(incident: IncidentRecord, signal: Signal, decision: Exclude<Decision, { action: 'ignore' }>, loaded: LoadedPolicy, deps: ClassifyDeps): Promise<void> {
  const incidentId = incident.id;
  const attempt = (incident.reopenCount ?? 0) + 1;
  const store = deps.store;
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
  if (arn && (decision.action === 'remediate' || decision.action === 'await-approval') && !decision.plan.dryRun && workflow !== 'escalation') {
    const run = executionArnFor(arn, runName(incident, workflow));
    try {
      const lock = await store.acquireLock(signal.cluster, incidentId, deps.lockTtlSeconds ?? DEFAULT_LOCK_TTL_SECONDS, run);
      await store.appendTimeline(incidentId, { actor: 'classifier', action: 'lock-acquired', detail: `remediation lock for ${signal.cluster} until ${new Date(lock.expiresAt * 1000).toISOString()}` });
    } catch (err) {
      if (!(err instanceof LockHeldError)) throw err;
      // A site failure or a quorum loss takes the lock from a broker-level run; anyone takes a stale one (takeOverLock).
      const refused = await takeOverLock(signal.cluster, incidentId, decision, run, deps);
      if (refused !== undefined) {
        // One remediation per cluster: this one goes to people instead of waiting silently.
        notes.push(`remediation lock for ${signal.cluster} is held by ${refused.owner ?? 'another incident'} (${refused.why}); escalating instead of remediating concurrently`);
        await store.appendTimeline(incidentId, { actor: 'classifier', action: 'lock-held', detail: `${err.message}; ${refused.why}`, result: 'escalate' });
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
    await store.appendTimeline(incidentId, { actor: 'classifier', action: 'workflow-missing', detail, result: 'not started', reasons: decision.reasons });
    return;
  }
  for (const note of notes) await store.appendTimeline(incidentId, { actor: 'classifier', action: 'workflow-fallback', detail: note, result: workflow });

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
  await store.designateRun(incidentId, executionArnFor(arn, runName(incident, workflow)));
  const started = await startWorkflow(deps.sfn, arn, incidentId, input, { workflow, attempt });
  await store.setExecution(incidentId, started.executionArn);
  if (started.started && workflow !== 'escalation' && (await supersededWhileStarting(incidentId, workflow, decision, started.executionArn, deps))) return;
  await store.appendTimeline(incidentId, {
    actor: 'classifier',
    action: started.started ? 'workflow-started' : 'workflow-already-started',
    detail: `${workflow} execution ${started.executionName}`,
    result: started.executionArn,
    reasons: input.reasons,
  });
  metrics.addMetric(started.started ? 'WorkflowsStarted' : 'DuplicateStarts', MetricUnit.Count, 1);

  const status = workflow === 'escalation' ? 'escalated' : decision.action === 'await-approval' ? 'awaiting-approval' : 'remediating';
  try {
    await store.setStatus(incidentId, status, ACTIVE_STATUSES, { actor: 'classifier', detail: `${workflow} started` });
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
async function supersededWhileStarting(incidentId: string, workflow: Workflow, decision: Decision, executionArn: string, deps: ClassifyDeps): Promise<boolean> {
  const current = await deps.store.get(incidentId);
  if (current.type === decision.incidentType || current.type !== 'cascade-failure' || workflow === 'cascade-recovery') return false;
  const cause = `incident ${incidentId} grew into ${current.type} while ${workflow} was starting; the cascade's runbook takes over`;
  await supersede(incidentId, executionArn, cause, deps);
  return true;
}

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
async function takeOverLock(cluster: string, incidentId: string, decision: Decision, run: string, deps: ClassifyDeps): Promise<{ owner: string | undefined; why: string } | undefined> {
  let refused: { owner: string | undefined; why: string } = { owner: undefined, why: 'another classifier took it first' };
  for (let round = 0; round < TAKEOVER_ROUNDS; round++) {
    const held = await deps.store.getLock(cluster);
    const now = deps.now();
    if (held === undefined || held.owner === incidentId || held.expiresAt < Math.floor(now.getTime() / 1000)) {
      if (await tryAcquire(cluster, incidentId, run, `remediation lock for ${cluster}`, deps)) return undefined;
      continue;
    }
    const owner = held.owner;
    // A holder that cannot be read is not taken over.
    const holder = await deps.store.get(owner).catch(() => undefined);
    const heldRun = held.run ?? holder?.executionArn;
    // The paging ladder never holds a lock and is never stopped for one (an older lock may name no run but the ladder's).
    const ladder = heldRun !== undefined && isLadderRun(heldRun, owner);
    const state: RunState = heldRun === undefined || ladder ? 'missing' : await runState(deps.sfn, heldRun);
    const lockAgeSeconds = Math.max(0, Math.round((now.getTime() - Date.parse(held.acquiredAt)) / 1000));
    const verdict = lockTakeover(decision.incidentType, cluster, holder && { type: holder.type, status: holder.status, cluster: holder.cluster, run: state, lockAgeSeconds });
    if (!verdict.take) return { owner, why: verdict.reason };
    const why = `${decision.incidentType} ${incidentId} takes the remediation lock for ${cluster} over from ${owner}: ${verdict.reason}`;
    if (heldRun !== undefined && !ladder) {
      await deps.store.fenceRun(owner, heldRun);
      if (verdict.stopRun) await stopRun(owner, heldRun, why, deps);
    }
    try {
      await deps.store.releaseLock(cluster, owner);
    } catch (err) {
      // Moved on meanwhile (released and taken by someone else): ask again.
      if (!(err instanceof LockNotOwnedError)) throw err;
      refused = { owner, why: 'the lock changed hands during the takeover' };
      continue;
    }
    await deps.store.appendTimeline(owner, { actor: 'classifier', action: 'lock-taken-over', detail: why, result: incidentId });
    if (!(await tryAcquire(cluster, incidentId, run, `remediation lock for ${cluster} taken over from ${owner} (${holder?.type})`, deps))) continue;
    if (verdict.suppressHolder) {
      try {
        await deps.store.setStatus(owner, 'suppressed', RUN_ACTING_STATUSES, { actor: 'classifier', detail: why });
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
async function tryAcquire(cluster: string, incidentId: string, run: string, what: string, deps: ClassifyDeps): Promise<boolean> {
  try {
    const lock = await deps.store.acquireLock(cluster, incidentId, deps.lockTtlSeconds ?? DEFAULT_LOCK_TTL_SECONDS, run);
    await deps.store.appendTimeline(incidentId, { actor: 'classifier', action: 'lock-acquired', detail: `${what} until ${new Date(lock.expiresAt * 1000).toISOString()}` });
    return true;
  } catch (err) {
    if (err instanceof LockHeldError) return false;
    throw err;
  }
}

async function recordRecord(record: SQSRecord, deps: ClassifyDeps): Promise<Pending | undefined> {
  let signal: Signal;
  try {
    signal = parseSignal(record.body);
  } catch (err) {
    const e = err as Error;
    // A message no retry can fix: keep it raw with the reason, do not retry it.
    await deps.store.storeRaw({ source: `sqs:${record.eventSourceARN}`, body: record.body, error: e.message, errorName: e.name, receivedAt: deps.now().toISOString() });
    logger.error('signal message rejected and stored raw', { messageId: record.messageId, reason: e.message });
    metrics.addMetric('RejectedSignals', MetricUnit.Count, 1);
    return undefined;
  }
  return recordSignal(signal, record.messageId, deps);
}

export function createClassifyHandler(deps: ClassifyDeps): (event: SQSEvent) => Promise<SQSBatchResponse> {
  return async (event) => {
    const failed = new Set<string>();
    const fail = (messageId: string, err: unknown) => {
      logger.warn('signal failed, SQS will retry it', { messageId, error: err as Error });
      metrics.addMetric('ClassifyRetries', MetricUnit.Count, 1);
      failed.add(messageId);
    };
    // Record every signal of the batch first, then decide once per incident they touched.
    const pending = new Map<string, Pending[]>();
    for (const record of event.Records) {
      try {
        const p = await recordRecord(record, deps);
        if (p) pending.set(p.incidentId, [...(pending.get(p.incidentId) ?? []), p]);
      } catch (err) {
        fail(record.messageId, err);
      }
    }
    for (const group of pending.values()) {
      try {
        await decideAndAct(group, deps);
        for (const p of group) await deps.store.markSignalActed(p.signal.id);
      } catch (err) {
        // Recorded but not acted on: the redelivery finds them unacted and finishes the job.
        for (const p of group) fail(p.messageId, err);
      }
    }
    return { batchItemFailures: [...failed].map((itemIdentifier) => ({ itemIdentifier })) };
  };
}

let deps: ClassifyDeps | undefined;
function depsFromEnv(): ClassifyDeps {
  const ttl = Number(process.env.LOCK_TTL_SECONDS ?? DEFAULT_LOCK_TTL_SECONDS);
  const d: ClassifyDeps = {
    store: incidentStoreFromEnv(),
    sfn: new SFNClient({}),
    policies: new SsmPolicySource(new SSMClient({}), requireEnv('POLICY_PARAMETER_PREFIX')),
    clusters: clustersFromEnv(),
    workflowArns: process.env,
    now: () => new Date(),
    lockTtlSeconds: Number.isFinite(ttl) && ttl > 0 ? ttl : DEFAULT_LOCK_TTL_SECONDS,
  };
  // Re-notifying an escalated incident's owner needs the notification chain (bound with it by the stack).
  if (process.env[NOTIFY_ENV.criticalTopic]) {
    const notifyDeps = notifyDepsFromEnv(process.env);
    d.notify = (n) => notify(n, notifyDeps);
  }
  return d;
}

export const handler = withHouseMiddleware((event: SQSEvent) => createClassifyHandler((deps ??= depsFromEnv()))(event));
