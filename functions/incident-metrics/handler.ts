// Incident metrics Lambda (glue), scheduled every 5 minutes: counts the active incidents of every
// configured cluster (one Query of the open-incidents index per cluster) and publishes the
// dashboard's gauges: OpenIncidents per Severity (zeros included) and AwaitingApproval.
// Counts of events (opened, resolved, escalated) come from the classify and workflow-steps
// handlers; only a gauge says how many are open right now.
import { countOpenIncidents, SEVERITY_LEVELS, type OpenIncidentCounts } from '../domain/incident-counts.js';
import { storeFromEnv } from '../shared/clients.js';
import { clustersFromEnv } from '../shared/env.js';
import type { OpenIncident } from '../domain/types.js';
import { withHouseMiddleware } from '../shared/middy.js';
import { MetricUnit, metrics } from '../shared/powertools.js';

export interface IncidentMetricsDeps {
  /** Only severity and status are read: the real store's records, or any narrower source. */
  incidents: { listOpen(cluster: string): Promise<Pick<OpenIncident, 'severity' | 'status'>[]> };
  clusters: string[];
}

export async function publishIncidentMetrics(deps: IncidentMetricsDeps): Promise<OpenIncidentCounts> {
  const open = (await Promise.all(deps.clusters.map((c) => deps.incidents.listOpen(c)))).flat();
  const counts = countOpenIncidents(open);
  for (const severity of SEVERITY_LEVELS) {
    // Its own EMF document: the Severity dimension set differs from the function's default one.
    const gauge = metrics.singleMetric();
    gauge.addDimension('Severity', severity);
    gauge.addMetric('OpenIncidents', MetricUnit.Count, counts.bySeverity[severity]);
  }
  metrics.addMetric('AwaitingApproval', MetricUnit.Count, counts.awaitingApproval);
  return counts;
}

let deps: IncidentMetricsDeps | undefined;

export const handler = withHouseMiddleware(async () => {
  deps ??= { incidents: storeFromEnv().incidents, clusters: clustersFromEnv().map((c) => c.name) };
  return publishIncidentMetrics(deps);
});
