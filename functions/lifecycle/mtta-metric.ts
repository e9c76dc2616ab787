// The MTTA metric: the time to acknowledge of each incident, published once, at its first
// acknowledgement (the store's conditional write that recorded mttaSeconds says which one that
// is), by whichever Lambda took it: the lifecycle command, the incident page or the PagerDuty
// webhook. Its only dimension is Severity, without the house `service` dimension: the three
// functions publish into the same series per severity, so the dashboard's average and p90 are
// over every incident, not per function (CloudWatch cannot merge percentiles of
// separate series). Four series at most (one per severity); CloudWatch bills a custom metric
// pro rata for the hours it receives data in, so nothing while nobody acknowledges, about
// $0.0004 for an hour with acknowledgements of a severity, $0.30 a month per severity at most.
import { MetricUnit, type Metrics } from '@aws-lambda-powertools/metrics';
import type { Severity } from '../domain/types.js';

export const MTTA_METRIC = 'MttaSeconds';
export const MTTA_DIMENSION = 'Severity';

/** One EMF document: MttaSeconds (Seconds) with the Severity dimension only. */
export function publishMtta(metrics: Pick<Metrics, 'singleMetric'>, severity: Severity, seconds: number): void {
  const m = metrics.singleMetric();
  m.clearDefaultDimensions();
  m.addDimension(MTTA_DIMENSION, severity);
  // A single metric is written as soon as it is added.
  m.addMetric(MTTA_METRIC, MetricUnit.Seconds, seconds);
}
