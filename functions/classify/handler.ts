// Classify Lambda (glue): SQS batch of Signals from the ingest Lambda.
//   1. per signal (record.ts): policy (SSM, cached) + cluster facts (env) + open incidents + recent heals
//      -> classify() -> correlate() -> store.recordSignal(); a broker-level signal that correlate()
//      folds into an open site-failure or quorum-loss incident is only recorded on its timeline
//   2. per incident the batch opened or upgraded (or whose first delivery did not finish acting),
//      here: the pure arbitrate() says what to do, act.ts and lock.ts (the takeover) carry it out:
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
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { arbitrate } from '../domain/arbitrate.js';
import { classify } from '../domain/classify.js';
import { storeFromEnv } from '../shared/clients.js';
import { clustersFromEnv, requireEnv } from '../shared/env.js';
import { ACTIVE_STATUSES } from '../shared/store/index.js';
import { withHouseMiddleware } from '../shared/middy.js';
import { NOTIFY_ENV, notify, notifyDepsFromEnv } from '../shared/notify.js';
import { SsmPolicySource } from '../shared/policy-source.js';
import { MetricUnit, logger, metrics } from '../shared/powertools.js';
import { runName } from '../shared/runs.js';
import { carryOut } from './act.js';
import { DEFAULT_LOCK_TTL_SECONDS, policyNote, policyOf, type ClassifyDeps, type Pending } from './deps.js';
import { recordRecord } from './record.js';

export { DEFAULT_LOCK_TTL_SECONDS, parseSignal, type ClassifyDeps, type ClassifyStore } from './deps.js';

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
  const current = await deps.incidents.get(incidentId);
  if (!ACTIVE_STATUSES.includes(current.status)) {
    // Closed meanwhile (e.g. a fast workflow resolved it): nothing is left to start.
    logger.info('incident closed before its decision', { incidentId, status: current.status });
    return;
  }
  // The signal that gave the incident its current type leads (the latest one of the batch).
  const lead = [...group].reverse().find((p) => p.decision.incidentType === current.type) ?? (group.at(-1) as Pending);
  const loaded = await policyOf(current.cluster, deps, true);
  const open = await deps.incidents.listOpen(current.cluster);
  const others = open.filter((o) => o.id !== incidentId);
  const cluster = deps.clusters.find((c) => c.name === current.cluster);
  const acting = classify({
    signal: lead.signal,
    cluster,
    openIncidents: [...others, current],
    recentHeals: lead.recentHeals,
    policy: loaded.policy,
    now: deps.now(),
  });
  const steps = arbitrate({
    incident: current,
    decided: lead.decision,
    acting,
    runNameOf: (w) => runName(current, w),
    batchSize: group.length,
    policyNote: policyNote(loaded),
  });
  for (const step of steps) await carryOut(step, current, lead.signal, loaded, deps);
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
        for (const p of group) await deps.signals.markSignalActed(p.signal.id);
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
    ...storeFromEnv(),
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
