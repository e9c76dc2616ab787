// The probe publishes only the series kinds its deployment reads (PROBE_METRIC_SERIES): each
// distinct metric name + dimension values is a custom metric billed every month.
import { describe, expect, it } from 'vitest';
import {
  parseMetricSeries,
  ProbeMetricSeriesError,
  selectSeries,
  seriesKey,
  type MetricDocument,
} from '#functions/probe/metrics.js';

const docs: MetricDocument[] = [
  {
    dimensions: { 'Cluster Name': 'orders' },
    metrics: [
      { name: 'ProbeHeartbeat', value: 1, unit: 'Count' },
      { name: 'ProbeLatencyMs', value: 40, unit: 'Milliseconds' },
      { name: 'UnderReplicatedPartitions', value: 2, unit: 'Count' },
    ],
  },
  {
    dimensions: { 'Cluster Name': 'orders', 'Broker ID': '1' },
    metrics: [
      { name: 'BrokerReachable', value: 1, unit: 'Count' },
      { name: 'UnderReplicatedPartitions', value: 2, unit: 'Count' },
    ],
  },
  {
    dimensions: { 'Cluster Name': 'orders', 'Consumer Group': 'billing' },
    metrics: [{ name: 'ConsumerLag', value: 9, unit: 'Count' }],
  },
];

describe('seriesKey', () => {
  it('is the metric name and its dimension names, in any order', () => {
    expect(seriesKey('UnderReplicatedPartitions', ['Cluster Name', 'Broker ID'])).toBe(
      'UnderReplicatedPartitions|Broker ID,Cluster Name',
    );
    expect(seriesKey('UnderReplicatedPartitions', ['Broker ID', 'Cluster Name'])).toBe(
      seriesKey('UnderReplicatedPartitions', ['Cluster Name', 'Broker ID']),
    );
    expect(seriesKey('UnderReplicatedPartitions', ['Cluster Name'])).not.toBe(
      seriesKey('UnderReplicatedPartitions', ['Cluster Name', 'Broker ID']),
    );
  });
});

describe('selectSeries', () => {
  it('keeps a metric only at the dimension set named (URP per broker, not per cluster), drops emptied documents', () => {
    const keep = new Set([
      seriesKey('ProbeHeartbeat', ['Cluster Name']),
      seriesKey('UnderReplicatedPartitions', ['Cluster Name', 'Broker ID']),
    ]);
    expect(selectSeries(docs, keep)).toEqual([
      { dimensions: { 'Cluster Name': 'orders' }, metrics: [{ name: 'ProbeHeartbeat', value: 1, unit: 'Count' }] },
      {
        dimensions: { 'Cluster Name': 'orders', 'Broker ID': '1' },
        metrics: [{ name: 'UnderReplicatedPartitions', value: 2, unit: 'Count' }],
      },
    ]);
  });

  it('an empty list publishes nothing', () => {
    expect(selectSeries(docs, new Set())).toEqual([]);
  });
});

describe('PROBE_METRIC_SERIES', () => {
  it('unset or empty: undefined (publish every series, as the local runtime reads them all)', () => {
    expect(parseMetricSeries(undefined)).toBeUndefined();
    expect(parseMetricSeries('')).toBeUndefined();
  });

  it('a JSON array of keys', () => {
    expect(parseMetricSeries('["ProbeHeartbeat|Cluster Name"]')).toEqual(new Set(['ProbeHeartbeat|Cluster Name']));
    expect(parseMetricSeries('[]')).toEqual(new Set());
  });

  it('anything else is a typed deployment error', () => {
    for (const bad of ['{', '{"a":1}', '["ProbeHeartbeat"]', '[1]']) {
      expect(() => parseMetricSeries(bad), bad).toThrow(ProbeMetricSeriesError);
    }
  });
});
