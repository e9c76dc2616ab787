// Step 1 of the classify Lambda: each signal of the batch classified, correlated and recorded on
// its incident (create, join, upgrade, fold, reopen); an escalated incident's owner re-notified.
import type { SQSRecord } from 'aws-lambda';
import { classify } from '../domain/classify.js';
import { correlate, type Correlation } from '../domain/correlate.js';
import type { OpenIncident, Signal } from '../domain/types.js';
import type { IncidentRecord } from '../shared/store/index.js';
import {
  notifyTimelineEntries,
  incidentNotification,
  type IncidentNotification,
  type NotifyResult,
} from '../shared/notify.js';
import { MetricUnit, logger, metrics } from '../shared/powertools.js';
import { parseSignal, policyNote, policyOf, type ClassifyDeps, type ClassifyStore, type Pending } from './deps.js';

/** Classifies one signal and records it on its incident; returns what is left to act on. */
async function recordSignal(signal: Signal, messageId: string, deps: ClassifyDeps): Promise<Pending | undefined> {
  const now = deps.now();
  const loaded = await policyOf(signal.cluster, deps);
  if (loaded.origin === 'fallback-off') {
    logger.error('runtime policy invalid, automation off for the cluster', {
      cluster: signal.cluster,
      problem: loaded.problem,
    });
    metrics.addMetric('PolicyFallbacks', MetricUnit.Count, 1);
  } else if (loaded.origin === 'default') {
    logger.warn('runtime policy missing, using the default', { cluster: signal.cluster, problem: loaded.problem });
  } else if (loaded.origin === 'unconfigured') {
    logger.warn('signal for a cluster this deployment does not watch', {
      cluster: signal.cluster,
      signalId: signal.id,
    });
    metrics.addMetric('UnknownClusterSignals', MetricUnit.Count, 1);
  }
  const policy = loaded.policy;
  const cluster = deps.clusters.find((c) => c.name === signal.cluster);
  const lookback = Math.max(policy.flapWindowSeconds, policy.cooldownSeconds) * 1000;
  const [open, recentHeals] = await Promise.all([
    deps.incidents.listOpen(signal.cluster),
    deps.heals.recentHeals(signal.cluster, new Date(now.getTime() - lookback)),
  ]);

  const decision = classify({ signal, cluster, openIncidents: open, recentHeals, policy, now });
  let resolved: Awaited<ReturnType<ClassifyStore['incidents']['listRecentlyResolved']>> = [];
  const bind = (o: OpenIncident[]): Correlation => correlate(signal, decision, o, policy, now, resolved);
  let correlation = bind(open);
  if (
    correlation.kind === 'new' &&
    !correlation.linkedTo &&
    signal.state === 'firing' &&
    decision.action !== 'ignore' &&
    policy.reopenSeconds > 0
  ) {
    // About to open a new incident: the fault may be one that returned (read only then, off the storm path).
    resolved = await deps.incidents.listRecentlyResolved(
      signal.cluster,
      new Date(now.getTime() - policy.reopenSeconds * 1000),
    );
    if (resolved.length > 0) correlation = bind(open);
  }
  metrics.addMetric('SignalsClassified', MetricUnit.Count, 1);

  if (decision.action === 'ignore' && correlation.kind === 'new' && !decision.suppressed) {
    // Nothing open to annotate and nothing to do: no incident for it.
    logger.info('signal ignored', {
      signalId: signal.id,
      cluster: signal.cluster,
      kind: signal.kind,
      reasons: decision.reasons,
    });
    metrics.addMetric('SignalsIgnored', MetricUnit.Count, 1);
    return undefined;
  }

  const recorded = await deps.incidents.recordSignal(signal, decision, correlation, bind);
  logger.info('signal recorded', {
    signalId: signal.id,
    outcome: recorded.outcome,
    correlation,
    action: decision.action,
  });

  if (recorded.outcome === 'duplicate') {
    metrics.addMetric('DuplicateSignals', MetricUnit.Count, 1);
    // A first delivery that opened or upgraded the incident but failed before its workflow started.
    if (
      !recorded.acted &&
      recorded.incidentId &&
      recorded.decision &&
      (recorded.firstOutcome === 'created' ||
        recorded.firstOutcome === 'upgraded' ||
        recorded.firstOutcome === 'reopened')
    ) {
      await deps.timeline.appendTimeline(recorded.incidentId, {
        actor: 'classifier',
        action: 'actions-resumed',
        detail: `redelivery of signal ${signal.id} completes the actions of its first delivery`,
      });
      return { incidentId: recorded.incidentId, signal, decision: recorded.decision, recentHeals, messageId };
    }
    return undefined;
  }

  const incidentId = recorded.incident.id;
  // Metric names spelled out in the call: the dashboard test reads them from addMetric.
  metrics.addMetric(
    recorded.outcome === 'created'
      ? 'IncidentsOpened'
      : recorded.outcome === 'upgraded'
        ? 'IncidentsUpgraded'
        : recorded.outcome === 'reopened'
          ? 'IncidentsReopened'
          : recorded.folded
            ? 'SignalsFolded'
            : 'SignalsJoined',
    MetricUnit.Count,
    1,
  );
  if (recorded.outcome === 'created') {
    // Per severity for the dashboard (infra/constructs/dashboard.ts): its own EMF document, as the dimension set differs.
    const bySeverity = metrics.singleMetric();
    bySeverity.addDimension('Severity', recorded.incident.severity);
    bySeverity.addMetric('IncidentsOpenedBySeverity', MetricUnit.Count, 1);
  }
  if (loaded.origin !== 'ssm' && recorded.outcome !== 'joined') {
    await deps.timeline.appendTimeline(incidentId, {
      actor: 'classifier',
      action: 'policy-fallback',
      detail: policyNote(loaded),
      result: `mode ${policy.mode}`,
    });
  }
  if (recorded.outcome === 'joined') {
    // Joined or folded: the incident's own decision stands; no new decision or workflow. A firing
    // signal an escalated incident covers re-notifies its owner (the automation the gates stopped
    // stays stopped).
    if (!recorded.folded && signal.state === 'firing' && recorded.incident.status === 'escalated') {
      await renotifyOwner(
        recorded.incident,
        signal,
        correlation.kind === 'join' ? correlation.renotify : undefined,
        deps,
      );
    }
    await deps.signals.markSignalActed(signal.id);
    return undefined;
  }
  return { incidentId, signal, decision, recentHeals, messageId };
}

/**
 * A signal the escalated incident covers fired: its owner hears of it through the notification
 * chain (a PagerDuty trigger with the incident's dedup key joins the same PagerDuty incident), at
 * most once per RENOTIFY_MIN_SECONDS per incident, and the timeline says so either way.
 */
async function renotifyOwner(
  incident: IncidentRecord,
  signal: Signal,
  why: string | undefined,
  deps: ClassifyDeps,
): Promise<void> {
  const what = `${signal.source} signal ${signal.name}${signal.brokerIds.length ? ` (brokers ${signal.brokerIds.join(',')})` : ''} fired while the incident is escalated${why ? ` (${why})` : ''}`;
  if (!(await deps.incidents.claimRenotify(incident.id))) {
    await deps.timeline.appendTimeline(incident.id, {
      actor: 'classifier',
      action: 'owner-renotify-skipped',
      detail: `${what}; the owner was notified less than 5 minutes ago`,
      result: 'skipped',
    });
    return;
  }
  if (!deps.notify) {
    await deps.timeline.appendTimeline(incident.id, {
      actor: 'classifier',
      action: 'owner-renotified',
      detail: `${what}; no notification channel is configured here`,
      result: 'undelivered',
    });
    return;
  }
  const n: IncidentNotification = {
    ...incidentNotification(
      incident,
      'trigger',
      `Still failing: ${signal.name} on ${incident.cluster} fired again; ${incident.type} is with people (escalated), no automatic action`,
    ),
    ...(incident.executionArn === undefined ? {} : { executionArn: incident.executionArn }),
    details: { renotify: what, acknowledgedBy: incident.acknowledgedBy ?? null },
  };
  let result: NotifyResult;
  try {
    result = await deps.notify(n);
  } catch (err) {
    await deps.timeline.appendTimeline(incident.id, {
      actor: 'classifier',
      action: 'owner-renotified',
      detail: `${what}; ${(err as Error).message}`,
      result: 'undelivered',
    });
    throw err;
  }
  for (const entry of notifyTimelineEntries('trigger', result.attempts))
    await deps.timeline.appendTimeline(incident.id, entry);
  await deps.timeline.appendTimeline(incident.id, {
    actor: 'classifier',
    action: 'owner-renotified',
    detail: what,
    result: result.via ?? 'undelivered',
  });
  metrics.addMetric('OwnersRenotified', MetricUnit.Count, 1);
}

export async function recordRecord(record: SQSRecord, deps: ClassifyDeps): Promise<Pending | undefined> {
  let signal: Signal;
  try {
    signal = parseSignal(record.body);
  } catch (err) {
    const e = err as Error;
    // A message no retry can fix: keep it raw with the reason, do not retry it.
    await deps.rawInbox.storeRaw({
      source: `sqs:${record.eventSourceARN}`,
      body: record.body,
      error: e.message,
      errorName: e.name,
      receivedAt: deps.now().toISOString(),
    });
    logger.error('signal message rejected and stored raw', { messageId: record.messageId, reason: e.message });
    metrics.addMetric('RejectedSignals', MetricUnit.Count, 1);
    return undefined;
  }
  return recordSignal(signal, record.messageId, deps);
}
