// Auto-resolve Lambda, scheduled every minute (infra/constructs/auto-resolver.ts): an open or
// escalated incident (acknowledged or not) whose alarms are all back to OK on a cluster whose own
// alarms (the probe's among them) have all been OK for policy.autoResolveSeconds resolves as
// "recovered without the healer" (autoResolveVerdict in functions/domain/lifecycle.ts).
//
// Per run, per configured cluster: one Query of the open-incidents index (never a table scan), the
// runtime policy, and, only when an incident there could be closed, the cluster's alarms (one
// DescribeAlarms page per 100). An eligible incident is resolved through the same lifecycle path
// as `kafka-heal incidents resolve` (actions.ts): the timeline says why, PagerDuty is told (Events
// v2 resolve) when it was paged, and the resolve is conditional on the version judged, so a signal
// that joined meanwhile, or a person or workflow resolving first, leaves one final state.
// An incident not yet eligible gets nothing written. One incident's or cluster's failure never
// stops the others; the run logs checked / resolved / skipped / failed counts.
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { SSMClient } from '@aws-sdk/client-ssm';
import {
  AUTO_RESOLVE_STATUSES,
  autoResolveVerdict,
  clusterHealthFromAlarms,
  type ClusterHealth,
} from '../domain/lifecycle.js';
import { storeFromEnv } from '../shared/clients.js';
import { clustersFromEnv, requireEnv } from '../shared/env.js';
import { ConditionalWriteConflict } from '../shared/errors.js';
import type { IncidentRecord, IncidentRepo } from '../shared/store/index.js';
import { withHouseMiddleware } from '../shared/middy.js';
import { notify, notifyDepsFromEnv } from '../shared/notify.js';
import { SsmPolicySource, type PolicySource } from '../shared/policy-source.js';
import { logger, MetricUnit, metrics } from '../shared/powertools.js';
import { applyLifecycle, type LifecycleDeps } from './actions.js';
import { cloudWatchAlarmSource, type ClusterAlarmSource } from './cluster-alarms.js';

/** The timeline actor and `resolvedBy` of an auto-resolution. */
export const AUTO_RESOLVE_ACTOR = 'auto-resolve';
/** Incidents judged per run at most (the rest wait for the next run, a minute later). */
export const MAX_INCIDENTS_PER_RUN = 500;
/** Clusters worked on at once. */
export const CLUSTER_CONCURRENCY = 4;

export interface AutoResolveDeps {
  incidents: Pick<IncidentRepo, 'listOpen'> & LifecycleDeps['incidents'];
  timeline: LifecycleDeps['timeline'];
  lock: LifecycleDeps['lock'];
  clusters: readonly string[];
  policies: PolicySource;
  alarms: ClusterAlarmSource;
  /** The notification chain: PagerDuty is told of the resolution, as for a resolve by hand. */
  notify?: LifecycleDeps['notify'];
  now: () => Date;
  maxIncidents?: number;
}

export type IncidentVerdict =
  | { incidentId: string; cluster: string; outcome: 'resolved'; reason: string }
  | { incidentId: string; cluster: string; outcome: 'skipped'; reason: string }
  | { incidentId: string; cluster: string; outcome: 'failed'; reason: string };

export interface AutoResolveReport {
  clusters: number;
  /** Open or escalated incidents judged. */
  checked: number;
  resolved: number;
  /** Not eligible yet, or someone else changed or closed it first. */
  skipped: number;
  failed: number;
  /** Left for the next run (past maxIncidents). */
  deferred: number;
  /** Clusters whose incidents or alarms could not be read. */
  failedClusters: string[];
  incidents: IncidentVerdict[];
}

/** A cluster healthy forever: judges only the incident's own side of the rule. */
const ANY_HEALTH: ClusterHealth = { healthy: true, since: new Date(0).toISOString(), detail: '' };

async function eachLimited<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await work(items[next++] as T);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

export async function runAutoResolve(deps: AutoResolveDeps): Promise<AutoResolveReport> {
  const report: AutoResolveReport = {
    clusters: deps.clusters.length,
    checked: 0,
    resolved: 0,
    skipped: 0,
    failed: 0,
    deferred: 0,
    failedClusters: [],
    incidents: [],
  };
  let budget = deps.maxIncidents ?? MAX_INCIDENTS_PER_RUN;
  const add = (v: IncidentVerdict) => {
    report.incidents.push(v);
    report[v.outcome] += 1;
  };

  await eachLimited(deps.clusters, CLUSTER_CONCURRENCY, async (cluster) => {
    let candidates: IncidentRecord[];
    try {
      candidates = (await deps.incidents.listOpen(cluster)).filter((i) => AUTO_RESOLVE_STATUSES.includes(i.status));
    } catch (err) {
      report.failedClusters.push(cluster);
      logger.error('auto-resolve: open incidents not read', { cluster, error: err as Error });
      return;
    }
    if (candidates.length === 0) return;
    const taken = candidates.slice(0, Math.max(0, budget));
    budget -= taken.length;
    report.deferred += candidates.length - taken.length;
    if (taken.length === 0) return;
    report.checked += taken.length;

    try {
      const loaded = await deps.policies.get(cluster);
      if (loaded.origin === 'fallback-off') {
        for (const i of taken)
          add({
            incidentId: i.id,
            cluster,
            outcome: 'skipped',
            reason: `the runtime policy is unusable (${loaded.problem ?? 'invalid'}): nothing is closed on its say-so`,
          });
        return;
      }
      const policy = loaded.policy;
      // The incidents' own side first (status, held open, their alarms): the cluster's alarms are
      // read only when one of them could close.
      const open: IncidentRecord[] = [];
      for (const i of taken) {
        const own = autoResolveVerdict(i, ANY_HEALTH, policy, deps.now());
        if (own.resolve) open.push(i);
        else add({ incidentId: i.id, cluster, outcome: 'skipped', reason: own.reason });
      }
      if (open.length === 0) return;
      const health = clusterHealthFromAlarms(await deps.alarms.alarms(cluster), deps.now());
      for (const incident of open) {
        const verdict = autoResolveVerdict(incident, health, policy, deps.now());
        if (!verdict.resolve) {
          add({ incidentId: incident.id, cluster, outcome: 'skipped', reason: verdict.reason });
          continue;
        }
        add(await resolveOne(deps, incident, verdict.reason));
      }
    } catch (err) {
      report.failedClusters.push(cluster);
      logger.error('auto-resolve: cluster not judged', { cluster, error: err as Error });
    }
  });

  if (report.resolved > 0) metrics.addMetric('IncidentsAutoResolved', MetricUnit.Count, report.resolved);
  if (report.failed + report.failedClusters.length > 0)
    metrics.addMetric('AutoResolveFailures', MetricUnit.Count, report.failed + report.failedClusters.length);
  return report;
}

/** Resolves one incident at the version judged; its failure is its own. */
async function resolveOne(deps: AutoResolveDeps, incident: IncidentRecord, reason: string): Promise<IncidentVerdict> {
  const base = { incidentId: incident.id, cluster: incident.cluster };
  try {
    const r = await applyLifecycle(
      {
        incidents: deps.incidents,
        timeline: deps.timeline,
        lock: deps.lock,
        now: deps.now,
        ...(deps.notify ? { notify: deps.notify } : {}),
      },
      {
        incidentId: incident.id,
        action: 'resolve',
        by: AUTO_RESOLVE_ACTOR,
        via: 'auto-resolve',
        reason,
        version: incident.version,
      },
    );
    if (r.outcome === 'resolved') {
      logger.info('auto-resolve: incident resolved', { ...base, reason, notes: r.notes });
      return { ...base, outcome: 'resolved', reason };
    }
    return {
      ...base,
      outcome: 'skipped',
      reason: `already ${r.incident.status}${r.incident.resolvedBy ? ` (by ${r.incident.resolvedBy})` : ''}`,
    };
  } catch (err) {
    // Something joined or changed it after it was judged: the next run judges it afresh.
    if (err instanceof ConditionalWriteConflict)
      return { ...base, outcome: 'skipped', reason: 'it changed after it was judged; judged again next run' };
    logger.error('auto-resolve: incident not resolved', { ...base, error: err as Error });
    return { ...base, outcome: 'failed', reason: (err as Error).message };
  }
}

let deps: AutoResolveDeps | undefined;

function fromEnv(): AutoResolveDeps {
  const notifyDeps = notifyDepsFromEnv(process.env);
  const store = storeFromEnv();
  return {
    incidents: store.incidents,
    timeline: store.timeline,
    lock: store.lock,
    clusters: clustersFromEnv().map((c) => c.name),
    policies: new SsmPolicySource(new SSMClient({}), requireEnv('POLICY_PARAMETER_PREFIX')),
    alarms: cloudWatchAlarmSource(new CloudWatchClient({}), {
      deployment: requireEnv('DEPLOYMENT'),
      alarmNamePrefix: requireEnv('ALARM_NAME_PREFIX'),
    }),
    notify: (n) => notify(n, notifyDeps),
    now: () => new Date(),
  };
}

export const handler = withHouseMiddleware(async () => {
  deps ??= fromEnv();
  const report = await runAutoResolve(deps);
  const { incidents, ...counts } = report;
  logger.info('auto-resolve run', { ...counts, acted: incidents.filter((i) => i.outcome !== 'skipped') });
  return counts;
});
