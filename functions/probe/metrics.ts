// Maps one probe snapshot to the EMF metrics the self-managed-cluster alarms watch
// (infra/constructs/alarm-specs.ts PROBE_METRICS: names and dimension sets must match exactly).
// Each dimension set is its own EMF document with no default `service` dimension, because a
// CloudWatch alarm matches a metric only on the exact dimension set.
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { ClusterSnapshot } from '../domain/snapshot.js';
import type { ZkEnsembleReport } from '../shared/zookeeper.js';
import { isBlind, isBrokerReachable, reportedBrokerIds } from './fast-detect.js';

import { NAMESPACE } from '../domain/metrics-namespace.js';

export { NAMESPACE, isHealerNamespace, metricsNamespace } from '../domain/metrics-namespace.js';
export const DIM_CLUSTER = 'Cluster Name';
export const DIM_BROKER = 'Broker ID';
export const DIM_GROUP = 'Consumer Group';

export interface MetricPoint {
  name: string;
  value: number;
  unit: (typeof MetricUnit)[keyof typeof MetricUnit];
}

export interface MetricDocument {
  dimensions: Record<string, string>;
  metrics: MetricPoint[];
}

/**
 * The documents for one snapshot. `brokerIds` lists brokers to report even when the snapshot
 * does not name them (configured ids, or ids seen by earlier probes): a dead cluster has no
 * metadata, and a missing BrokerReachable series would never breach its alarm.
 */
export function probeMetricDocuments(
  cluster: string,
  s: ClusterSnapshot,
  brokerIds: number[] = [],
  ensemble?: ZkEnsembleReport,
): MetricDocument[] {
  const clusterDims = { [DIM_CLUSTER]: cluster };
  const ids = reportedBrokerIds(s, brokerIds);
  const reachable = (id: number): boolean => isBrokerReachable(s, id);
  // Refused before it could read the metadata, the probe knows nothing of the brokers: it reports
  // no broker as unreachable (safety rule 11: never a broker-down alarm from the observer's failure),
  // and a site it never reached is not reported as down either.
  const blind = isBlind(s);
  const refused = (outcome: string) => (s.security?.refused ?? []).filter((r) => r.outcome === outcome).length;
  const docs: MetricDocument[] = [
    {
      dimensions: clusterDims,
      metrics: [
        { name: 'ProbeHeartbeat', value: 1, unit: MetricUnit.Count },
        // 0 when no bootstrap server answered: the whole site is unreachable (DR pairs alarm on it).
        ...(blind && !s.bootstrapReachable
          ? []
          : [{ name: 'ClusterReachable', value: s.bootstrapReachable ? 1 : 0, unit: MetricUnit.Count }]),
        { name: 'ProbeLatencyMs', value: s.durationMs, unit: MetricUnit.Milliseconds },
        { name: 'OfflinePartitions', value: s.partitions.offline, unit: MetricUnit.Count },
        { name: 'UnderReplicatedPartitions', value: s.partitions.underReplicated, unit: MetricUnit.Count },
        { name: 'UnderMinIsrPartitions', value: s.partitions.underMinIsr, unit: MetricUnit.Count },
        // The brokers below whose BrokerReachable is 0, as one series: what the broker-down alarm of
        // a cluster whose brokers are found by tag reads (one custom metric instead of one per broker).
        ...(blind
          ? []
          : [{ name: 'UnreachableBrokers', value: ids.filter((id) => !reachable(id)).length, unit: MetricUnit.Count }]),
        // Listeners that refused the probe, published only while some do (no idle custom metric).
        ...(refused('auth-failed') > 0
          ? [{ name: 'ProbeAuthFailures', value: refused('auth-failed'), unit: MetricUnit.Count }]
          : []),
        ...(refused('tls-failed') > 0
          ? [{ name: 'ProbeTlsFailures', value: refused('tls-failed'), unit: MetricUnit.Count }]
          : []),
        // The broker certificate closest to its expiry: one series per cluster however many brokers.
        ...(s.security && s.security.minDaysToExpiry !== null
          ? [{ name: 'CertificateDaysToExpiry', value: s.security.minDaysToExpiry, unit: MetricUnit.Count }]
          : []),
        ...quorumMetrics(s, ensemble),
      ],
    },
  ];
  for (const id of blind ? [] : ids) {
    docs.push({
      dimensions: { ...clusterDims, [DIM_BROKER]: String(id) },
      metrics: [{ name: 'BrokerReachable', value: reachable(id) ? 1 : 0, unit: MetricUnit.Count }],
    });
  }
  for (const g of s.consumerGroups) {
    if (g.error !== undefined) continue;
    const maxLag = g.partitions.reduce((mx, p) => Math.max(mx, p.lag), 0);
    docs.push({
      dimensions: { ...clusterDims, [DIM_GROUP]: g.group },
      metrics: [{ name: 'ConsumerLag', value: maxLag, unit: MetricUnit.Count }],
    });
  }
  return docs;
}

const count = (name: string, value: number): MetricPoint => ({ name, value, unit: MetricUnit.Count });

/**
 * The controller and the metadata quorum, published only when the probe could tell:
 * - ActiveControllerCount (0/1): ZooKeeper mode, the controller the metadata names (the metadata
 *   was read); KRaft, the quorum leader DescribeQuorum named (quorum led or leaderless, not unknown).
 * - QuorumHealthy (0/1), QuorumLeaders, QuorumSize: KRaft from DescribeQuorum (healthy = led);
 *   ZooKeeper from the ensemble's own answers (srvr), with QuorumServersServing, and
 *   ZooKeeperServersUnasked while servers refuse the four-letter word (never counted as down).
 *   QuorumHealthy is absent when unasked servers could tip the verdict.
 * - QuorumMaxVoterLag: KRaft, the furthest voter behind the leader's high watermark (records).
 */
export function quorumMetrics(s: ClusterSnapshot, ensemble?: ZkEnsembleReport): MetricPoint[] {
  const out: MetricPoint[] = [];
  if (s.metadataMode === 'zookeeper' && s.registeredBrokers.length > 0)
    out.push(count('ActiveControllerCount', s.controller.known ? 1 : 0));
  const q = s.metadataMode === 'kraft' ? s.quorum : undefined;
  if (q && q.state !== 'unknown') {
    const led = q.state === 'led' ? 1 : 0;
    out.push(count('ActiveControllerCount', led), count('QuorumHealthy', led), count('QuorumLeaders', led));
    if (q.state === 'led')
      out.push(count('QuorumSize', q.voters.length), count('QuorumMaxVoterLag', q.maxVoterLag ?? 0));
  }
  if (ensemble) {
    if (ensemble.quorum !== null) out.push(count('QuorumHealthy', ensemble.quorum ? 1 : 0));
    out.push(
      count('QuorumLeaders', ensemble.leaders),
      count('QuorumServersServing', ensemble.serving),
      count('QuorumSize', ensemble.size),
    );
    if (ensemble.unasked > 0) out.push(count('ZooKeeperServersUnasked', ensemble.unasked));
  }
  return out;
}

/**
 * Series the probe publishes only while something is wrong (listeners refusing it): no datapoint,
 * so no custom metric billed, while the cluster lets it in.
 */
export const FAILURE_ONLY_METRICS: readonly string[] = [
  'ProbeAuthFailures',
  'ProbeTlsFailures',
  'ZooKeeperServersUnasked',
];

/**
 * One kind of series: a metric name with its dimension names, e.g.
 * `BrokerReachable|Broker ID,Cluster Name`. CloudWatch bills every distinct name and
 * dimension values as one custom metric, so the deployment tells the probe which kinds to publish
 * (PROBE_METRIC_SERIES, set by infra/constructs/probes.ts from the alarms and the dashboard).
 */
export function seriesKey(name: string, dimensionNames: Iterable<string>): string {
  return `${name}|${[...dimensionNames].sort().join(',')}`;
}

/** The documents restricted to the series kinds in `keep`; a document left with no metric is dropped. */
export function selectSeries(docs: MetricDocument[], keep: ReadonlySet<string>): MetricDocument[] {
  return docs.flatMap((doc) => {
    const dims = Object.keys(doc.dimensions);
    const metrics = doc.metrics.filter((m) => keep.has(seriesKey(m.name, dims)));
    return metrics.length > 0 ? [{ dimensions: doc.dimensions, metrics }] : [];
  });
}

/** PROBE_METRIC_SERIES is malformed: a deployment error. */
export class ProbeMetricSeriesError extends Error {
  override readonly name = 'ProbeMetricSeriesError';
}

/**
 * PROBE_METRIC_SERIES: a JSON array of seriesKey strings. Unset means every series (the local
 * runtime and drills read all of them); an empty array means none but what the array names.
 */
export function parseMetricSeries(text: string | undefined): ReadonlySet<string> | undefined {
  if (text === undefined || text === '') return undefined;
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new ProbeMetricSeriesError(`PROBE_METRIC_SERIES is not JSON: ${(err as Error).message}`);
  }
  if (!Array.isArray(raw) || !raw.every((k): k is string => typeof k === 'string' && k.includes('|'))) {
    throw new ProbeMetricSeriesError(
      'PROBE_METRIC_SERIES must be a JSON array of "<metric>|<dimension names>" strings',
    );
  }
  return new Set(raw);
}

/** Writes each document as one EMF line through Powertools Metrics (stdout in Lambda), in the deployment's namespace (POWERTOOLS_METRICS_NAMESPACE). */
export function publish(
  docs: MetricDocument[],
  namespace = process.env.POWERTOOLS_METRICS_NAMESPACE ?? NAMESPACE,
): void {
  for (const doc of docs) {
    const m = new Metrics({ namespace });
    m.clearDefaultDimensions();
    m.addDimensions(doc.dimensions);
    for (const p of doc.metrics) m.addMetric(p.name, p.unit, p.value);
    m.publishStoredMetrics();
  }
}
