/* eslint-disable @typescript-eslint/no-explicit-any -- tests mutate raw JSON fixtures by path; the normalizer under test is what checks shapes */
import { describe, expect, it } from 'vitest';
import { MalformedEventError, UnknownSourceError } from '#domain/errors.js';
import {
  alarmMarker,
  normalize,
  normalizeWebhook,
  parseMarker,
  type NormalizeResult,
} from '#domain/normalize/index.js';
import { normalizeCloudWatch } from '#domain/normalize/cloudwatch.js';
import {
  MAX_JSON_DEPTH,
  clip,
  describe as describeValue,
  isoTime,
  numeric,
  parseJsonDocument,
} from '#domain/normalize/common.js';
import type { Signal } from '#domain/types.js';
import { CLUSTERS, loadEvent } from './fixtures.js';

const ctx = { clusters: CLUSTERS, receivedAt: '2026-11-22T02:00:00.000Z' };

function signals(r: NormalizeResult): Signal[] {
  if (r.outcome !== 'signals') throw new Error(`expected signals, got ignored: ${r.reason}`);
  return r.signals;
}

function only(raw: unknown): Signal {
  const s = signals(normalize(raw, ctx));
  expect(s).toHaveLength(1);
  return s[0]!;
}

function malformed(raw: unknown, message: string | RegExp) {
  let err: unknown;
  try {
    normalize(raw, ctx);
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(MalformedEventError);
  expect((err as Error).name).toBe('MalformedEventError');
  expect((err as Error).message).toMatch(message);
}

/** Deep clone of a fixture with a mutation applied. */
function mutate(name: string, fn: (e: any) => void): unknown {
  const e = structuredClone(loadEvent(name));
  fn(e);
  return e;
}

describe('normalize: CloudWatch alarm state changes (EventBridge)', () => {
  it('single-metric MSK disk alarm: cluster alias resolved, broker and value from dimensions and reasonData', () => {
    const s = only(loadEvent('cloudwatch-single-metric.json'));
    expect(s).toMatchObject({
      source: 'cloudwatch',
      cluster: 'orders',
      kind: 'disk-usage',
      brokerIds: [2],
      state: 'firing',
      value: 91.5,
      threshold: 90,
      observedAt: '2019-10-02T17:04:40.989Z',
      name: 'kafka-heal-prod-orders-disk-critical-broker-2',
      fingerprint: 'arn:aws:cloudwatch:us-east-1:123456789012:alarm:kafka-heal-prod-orders-disk-critical-broker-2',
    });
    expect(s.labels).toMatchObject({
      alarmType: 'single-metric',
      namespace: 'AWS/Kafka',
      metric: 'KafkaDataLogsDiskUsed',
      region: 'us-east-1',
      account: '123456789012',
    });
    expect(s.summary).toMatch(/^Threshold Crossed/);
    expect(s.id).toMatch(/^sig-[0-9a-f]{32}$/);
  });

  it('metric math CpuUser + CpuSystem -> cpu-high of broker 1', () => {
    const s = only(loadEvent('cloudwatch-metric-math.json'));
    expect(s).toMatchObject({ cluster: 'orders', kind: 'cpu-high', brokerIds: [1], value: 72.5, threshold: 60 });
    expect(s.labels.alarmType).toBe('metric-math');
    expect(s.labels.metric).toBe('CpuUser,CpuSystem');
  });

  it('anomaly detection on BytesInPerSec -> traffic-spike; the upper band is the threshold', () => {
    const s = only(loadEvent('cloudwatch-anomaly-detection.json'));
    expect(s).toMatchObject({
      kind: 'traffic-spike',
      cluster: 'orders',
      brokerIds: [1],
      value: 98_000_000,
      threshold: 31_000_000,
    });
    expect(s.labels.alarmType).toBe('anomaly-detection');
  });

  it('anomaly detection marked only by thresholdMetricId, on a metric without a kind -> unknown', () => {
    const s = only(
      mutate('cloudwatch-anomaly-detection.json', (e) => {
        e.detail.configuration.metrics = [e.detail.configuration.metrics[0]];
        e.detail.configuration.metrics[0].metricStat.metric.name = 'FetchConsumerTotalTimeMsMean';
        e.detail.configuration.thresholdMetricId = 'ad1';
      }),
    );
    expect(s.labels.alarmType).toBe('anomaly-detection');
    expect(s.kind).toBe('unknown');
  });

  it('anomaly detection of a non-traffic AWS/Kafka metric without a mapping stays unknown', () => {
    const s = only(
      mutate(
        'cloudwatch-anomaly-detection.json',
        (e) => (e.detail.configuration.metrics[0].metricStat.metric.name = 'ProduceTotalTimeMsMean'),
      ),
    );
    expect(s.kind).toBe('unknown');
  });

  it('Metrics Insights query alarm (no metricStat): the marker says what and where', () => {
    const s = only(
      mutate('cloudwatch-single-metric.json', (e) => {
        e.detail.configuration.description = '[kafka-heal cluster=payments kind=broker-down]';
        e.detail.configuration.metrics = [
          {
            id: 'q1',
            expression:
              'SELECT MIN(BrokerReachable) FROM SCHEMA(KafkaHeal, "Cluster Name", "Broker ID") WHERE "Cluster Name" = \'payments\'',
            period: 60,
            returnData: true,
          },
        ];
      }),
    );
    expect(s).toMatchObject({ cluster: 'payments', kind: 'broker-down', brokerIds: [] });
    expect(s.labels.alarmType).toBe('metrics-insights');
    expect(s.labels.metric).toBeUndefined();
  });

  it('composite alarm: the description marker gives cluster, kind and broker', () => {
    const s = only(loadEvent('cloudwatch-composite.json'));
    expect(s).toMatchObject({
      cluster: 'orders',
      kind: 'broker-down',
      brokerIds: [3],
      state: 'firing',
      observedAt: '2022-07-22T15:57:45.394Z',
    });
    expect(s.labels.alarmType).toBe('composite');
    expect(s.labels.alarmRule).toContain('broker-3-unreachable');
    expect(s.value).toBeUndefined();
  });

  it('composite alarm without a marker: kind and cluster from the alarm name', () => {
    const s = only(mutate('cloudwatch-composite.json', (e) => delete e.detail.configuration.description));
    expect(s).toMatchObject({ cluster: 'orders', kind: 'broker-down', brokerIds: [] });
  });

  it('composite alarm name with no known kind or cluster -> unknown kind, no cluster', () => {
    const s = only(
      mutate('cloudwatch-composite.json', (e) => {
        delete e.detail.configuration.description;
        e.detail.alarmName = 'ServiceAggregatedAlarm';
      }),
    );
    expect(s).toMatchObject({ cluster: '', kind: 'unknown' });
  });

  it('alarm name match prefers the longest kind and cluster alias', () => {
    const s = normalize(
      mutate('cloudwatch-composite.json', (e) => {
        delete e.detail.configuration.description;
        e.detail.alarmName = 'kafka-heal-prod-orders-msk-consumer-time-lag-billing';
      }),
      ctx,
    );
    expect(signals(s)[0]).toMatchObject({ cluster: 'orders', kind: 'consumer-time-lag' });
  });

  it('two kinds in an alarm name: the longest wins', () => {
    const s = only(
      mutate('cloudwatch-composite.json', (e) => {
        delete e.detail.configuration.description;
        e.detail.alarmName = 'kafka-heal-orders-disk-usage-under-min-isr';
      }),
    );
    expect(s.kind).toBe('under-min-isr');
  });

  it('a blank description is no description', () => {
    const s = only(mutate('cloudwatch-composite.json', (e) => (e.detail.configuration.description = '   ')));
    expect(s.brokerIds).toEqual([]);
  });

  it('marker wins over dimensions; consumer group from the marker', () => {
    const s = only(
      mutate('cloudwatch-single-metric.json', (e) => {
        e.detail.configuration.description = 'lag [kafka-heal cluster=payments kind=consumer-lag group=billing]';
      }),
    );
    expect(s).toMatchObject({ cluster: 'payments', kind: 'consumer-lag', consumerGroup: 'billing', brokerIds: [2] });
  });

  it('consumer group and topic dimensions (MaxOffsetLag)', () => {
    const s = only(
      mutate('cloudwatch-single-metric.json', (e) => {
        e.detail.configuration.metrics[0].metricStat.metric = {
          namespace: 'AWS/Kafka',
          name: 'MaxOffsetLag',
          dimensions: { 'Cluster Name': 'orders-msk', 'Consumer Group': 'billing', Topic: 'orders' },
        };
      }),
    );
    expect(s).toMatchObject({ kind: 'consumer-lag', consumerGroup: 'billing', topic: 'orders', brokerIds: [] });
  });

  it.each([
    ['AWS/Kafka', 'ActiveControllerCount', 'controller-missing'],
    ['AWS/Kafka', 'OfflinePartitionsCount', 'offline-partitions'],
    ['AWS/Kafka', 'UnderMinIsrPartitionCount', 'under-min-isr'],
    ['AWS/Kafka', 'UnderReplicatedPartitions', 'under-replicated'],
    ['AWS/Kafka', 'HeapMemoryAfterGC', 'heap-high'],
    ['AWS/Kafka', 'SumOffsetLag', 'consumer-lag'],
    ['AWS/Kafka', 'EstimatedMaxTimeLag', 'consumer-time-lag'],
    ['KafkaHeal', 'BrokerReachable', 'broker-down'],
    ['KafkaHeal', 'ProbeHeartbeat', 'monitoring-gap'],
    ['KafkaHeal', 'OfflinePartitions', 'offline-partitions'],
    ['KafkaHeal', 'UnderReplicatedPartitions', 'under-replicated'],
    ['KafkaHeal', 'UnderMinIsrPartitions', 'under-min-isr'],
    ['KafkaHeal', 'ConsumerLag', 'consumer-lag'],
    ['KafkaHeal', 'ProbeAuthFailures', 'auth-failed'],
    ['KafkaHeal', 'ProbeTlsFailures', 'tls-failed'],
    ['KafkaHeal', 'CertificateDaysToExpiry', 'certificate-expiry'],
    // A deployment's own namespace (KafkaHeal/<deployment>) reads as the probe's.
    ['KafkaHeal/prod', 'BrokerReachable', 'broker-down'],
    ['KafkaHeal/staging-eu', 'QuorumHealthy', 'quorum-loss'],
    ['KafkaHealth', 'BrokerReachable', 'unknown'],
    ['AWS/EC2', 'CPUUtilization', 'unknown'],
  ])('%s %s -> %s', (namespace, name, kind) => {
    const s = only(
      mutate('cloudwatch-single-metric.json', (e) =>
        Object.assign(e.detail.configuration.metrics[0].metricStat.metric, { namespace, name }),
      ),
    );
    expect(s.kind).toBe(kind);
  });

  it('the unchanged AWS sample (EC2 CPU) normalizes with no cluster and an unknown kind', () => {
    const s = only(loadEvent('cloudwatch-single-metric-aws-sample.json'));
    expect(s).toMatchObject({ cluster: '', kind: 'unknown', brokerIds: [], value: 99.50160229693434, threshold: 50 });
  });

  it('an unknown cluster name is kept as seen', () => {
    const s = only(
      mutate(
        'cloudwatch-single-metric.json',
        (e) => (e.detail.configuration.metrics[0].metricStat.metric.dimensions['Cluster Name'] = 'stranger'),
      ),
    );
    expect(s.cluster).toBe('stranger');
  });

  it('OK -> resolved', () => {
    const s = only(mutate('cloudwatch-single-metric.json', (e) => (e.detail.state.value = 'OK')));
    expect(s.state).toBe('resolved');
  });

  it('INSUFFICIENT_DATA -> ignored with a reason', () => {
    const r = normalize(
      mutate('cloudwatch-single-metric.json', (e) => (e.detail.state.value = 'INSUFFICIENT_DATA')),
      ctx,
    );
    expect(r).toEqual({
      outcome: 'ignored',
      reason: expect.stringMatching(/INSUFFICIENT_DATA: missing data alone is not a fault/),
    });
  });

  it('Configuration Change -> ignored, not an error', () => {
    const r = normalize(loadEvent('cloudwatch-configuration-change.json'), ctx);
    expect(r).toEqual({
      outcome: 'ignored',
      reason: expect.stringMatching(/^CloudWatch Alarm Configuration Change for ServerCpuTooHigh: /),
    });
    const noDetail = normalize(
      mutate('cloudwatch-configuration-change.json', (e) => delete e.detail),
      ctx,
    );
    expect(noDetail).toMatchObject({ outcome: 'ignored', reason: expect.stringContaining('for an alarm') });
  });

  it('unknown detail-type from aws.cloudwatch -> UnknownSourceError', () => {
    expect(() =>
      normalize(
        mutate('cloudwatch-single-metric.json', (e) => (e['detail-type'] = 'CloudWatch Metric Stream')),
        ctx,
      ),
    ).toThrow(UnknownSourceError);
  });

  it('time falls back from state.timestamp to the event time to receivedAt', () => {
    expect(only(mutate('cloudwatch-single-metric.json', (e) => delete e.detail.state.timestamp)).observedAt).toBe(
      '2019-10-02T17:04:40.000Z',
    );
    expect(
      only(
        mutate('cloudwatch-single-metric.json', (e) => {
          e.detail.state.timestamp = 'yesterday';
          delete e.time;
        }),
      ).observedAt,
    ).toBe(ctx.receivedAt);
  });

  it('without resources the fingerprint is the alarm name; without configuration the kind is unknown', () => {
    const s = only(
      mutate('cloudwatch-single-metric.json', (e) => {
        delete e.resources;
        delete e.detail.configuration;
        delete e.region;
        delete e.account;
      }),
    );
    expect(s.fingerprint).toBe('alarm:kafka-heal-prod-orders-disk-critical-broker-2');
    expect(s.kind).toBe('unknown'); // no metrics, and the name holds no kind
  });

  it('reasonData that is absent, not JSON, not an object or without datapoints gives no value', () => {
    for (const reasonData of [undefined, '{not json', '[1,2]', '{"recentDatapoints":[]}', 42, 'x'.repeat(70_000)]) {
      const s = only(mutate('cloudwatch-single-metric.json', (e) => (e.detail.state.reasonData = reasonData)));
      expect(s.value).toBeUndefined();
      expect(s.threshold).toBeUndefined();
    }
    const stringy = only(
      mutate(
        'cloudwatch-single-metric.json',
        (e) => (e.detail.state.reasonData = '{"recentDatapoints":["88.5"],"threshold":"85"}'),
      ),
    );
    expect(stringy).toMatchObject({ value: 88.5, threshold: 85 });
  });

  it('same event twice -> same id; different state -> different id', () => {
    const a = only(loadEvent('cloudwatch-single-metric.json'));
    const b = only(loadEvent('cloudwatch-single-metric.json'));
    const c = only(mutate('cloudwatch-single-metric.json', (e) => (e.detail.state.value = 'OK')));
    expect(a.id).toBe(b.id);
    expect(c.id).not.toBe(a.id);
  });

  it('hostile lengths are cut', () => {
    const s = only(
      mutate('cloudwatch-single-metric.json', (e) => {
        e.detail.alarmName = `  ${'a'.repeat(5000)}  `;
        e.detail.state.reason = 'r'.repeat(5000);
      }),
    );
    expect(s.name).toHaveLength(256);
    expect(s.summary).toHaveLength(1024);
  });

  it.each([
    [(e: any) => (e.detail = 'x'), /cloudwatch event: detail must be an object/],
    [(e: any) => delete e.detail.alarmName, /detail\.alarmName must be a non-empty string/],
    [(e: any) => (e.detail.alarmName = '   '), /detail\.alarmName must be a non-empty string/],
    [(e: any) => (e.detail.state = []), /detail\.state must be an object/],
    [
      (e: any) => (e.detail.state.value = 'ALARMING'),
      /detail\.state\.value must be ALARM, OK or INSUFFICIENT_DATA, got "ALARMING"/,
    ],
    [(e: any) => (e.detail.configuration = 5), /detail\.configuration must be an object/],
    [(e: any) => (e.detail.configuration.description = 5), /detail\.configuration\.description must be a string/],
    [(e: any) => (e.detail.configuration.metrics = {}), /detail\.configuration\.metrics must be an array/],
    [
      (e: any) => (e.detail.configuration.metrics = new Array(101).fill({})),
      /metrics has 101 entries, more than the limit of 100/,
    ],
    [(e: any) => (e.detail.configuration.metrics[0] = null), /metrics\[0\] must be an object/],
    [
      (e: any) => (e.detail.configuration.metrics[0].expression = 7),
      /metrics\[0\]\.expression must be a non-empty string/,
    ],
    [(e: any) => (e.detail.configuration.metrics[0].metricStat = 'm'), /metrics\[0\]\.metricStat must be an object/],
    [
      (e: any) => delete e.detail.configuration.metrics[0].metricStat.metric,
      /metrics\[0\]\.metricStat\.metric must be an object/,
    ],
    [
      (e: any) => delete e.detail.configuration.metrics[0].metricStat.metric.namespace,
      /metric\.namespace must be a non-empty string/,
    ],
    [
      (e: any) => (e.detail.configuration.metrics[0].metricStat.metric.name = ''),
      /metric\.name must be a non-empty string/,
    ],
    [
      (e: any) => (e.detail.configuration.metrics[0].metricStat.metric.dimensions = 'x'),
      /metric\.dimensions must be an object/,
    ],
    [
      (e: any) => (e.detail.configuration.metrics[0].metricStat.metric.dimensions.Extra = { a: 1 }),
      /metric\.dimensions\.Extra must be a string/,
    ],
    [
      (e: any) => (e.detail.configuration.metrics[0].metricStat.metric.dimensions['Broker ID'] = 'b-1'),
      /"Broker ID" #0 must be a broker id \(a non-negative integer\), got "b-1"/,
    ],
    [(e: any) => (e.detail.state.reason = 3), /detail\.state\.reason must be a string/],
    [
      (e: any) => (e.detail.configuration.description = '[kafka-heal kind=broker-down]'),
      /description marker cluster is missing/,
    ],
    [
      (e: any) => (e.detail.configuration.description = '[kafka-heal cluster=orders kind=bogus]'),
      /description marker kind must be one of/,
    ],
    [
      (e: any) => (e.detail.configuration.description = '[kafka-heal cluster=orders kind=broker-down broker=x]'),
      /description marker broker must be a broker id/,
    ],
  ])('malformed CloudWatch event %#', (fn, message) => {
    malformed(mutate('cloudwatch-single-metric.json', fn), message);
  });

  it('too many dimensions is malformed', () => {
    const dims = Object.fromEntries(Array.from({ length: 129 }, (_, i) => [`d${i}`, 'v']));
    malformed(
      mutate(
        'cloudwatch-single-metric.json',
        (e) => (e.detail.configuration.metrics[0].metricStat.metric.dimensions = dims),
      ),
      /has 129 entries, more than the limit of 128/,
    );
  });
});

describe('normalize: Alertmanager webhook v4', () => {
  it('firing broker-down alert', () => {
    const s = only(loadEvent('alertmanager-firing.json'));
    expect(s).toMatchObject({
      source: 'alertmanager',
      cluster: 'orders',
      kind: 'broker-down',
      brokerIds: [2],
      state: 'firing',
      value: 0,
      observedAt: '2026-11-22T01:58:30.123Z',
      name: 'KafkaBrokerDown',
      fingerprint: '4f1c2b3a9d8e7f60',
      summary: 'Kafka broker 2 of orders is down',
    });
    expect(s.labels.groupKey).toContain('KafkaBrokerDown');
    expect(s.labels.severity).toBe('critical');
  });

  it('resolved alert observed at endsAt, with a different id than the firing one', () => {
    const firing = only(loadEvent('alertmanager-firing.json'));
    const s = only(loadEvent('alertmanager-resolved.json'));
    expect(s).toMatchObject({
      state: 'resolved',
      observedAt: '2026-11-22T02:04:10.500Z',
      fingerprint: firing.fingerprint,
    });
    expect(s.id).not.toBe(firing.id);
  });

  it('resolved alert without a usable endsAt falls back to startsAt, then to receivedAt', () => {
    expect(
      only(mutate('alertmanager-resolved.json', (e) => (e.alerts[0].endsAt = '0001-01-01T00:00:00Z'))).observedAt,
    ).toBe('2026-11-22T01:58:30.123Z');
    expect(
      only(
        mutate('alertmanager-resolved.json', (e) => {
          delete e.alerts[0].endsAt;
          delete e.alerts[0].startsAt;
        }),
      ).observedAt,
    ).toBe(ctx.receivedAt);
  });

  it('grouped payload yields one signal per alert, firing and resolved', () => {
    const s = signals(normalize(loadEvent('alertmanager-grouped.json'), ctx));
    expect(s.map((x) => [x.kind, x.state, x.brokerIds])).toEqual([
      ['consumer-lag', 'firing', []],
      ['under-replicated', 'firing', [1]],
      ['disk-usage', 'resolved', [3]],
    ]);
    expect(s[0]).toMatchObject({ consumerGroup: 'billing', topic: 'orders', value: 250_000, threshold: 100_000 });
    expect(s[2]).toMatchObject({ summary: 'Disk usage back below 85%', observedAt: '2026-11-22T01:59:00.000Z' });
    expect(new Set(s.map((x) => x.id)).size).toBe(3);
  });

  it('kafka_heal_kind label wins; label variants for cluster, broker and group', () => {
    const s = only(
      mutate('alertmanager-firing.json', (e) => {
        e.alerts[0].labels = {
          alertname: 'SomethingCustom',
          kafka_heal_kind: 'dlq-growth',
          kafka_cluster: 'orders-msk',
          broker_id: 5,
          consumer_group: 'g1',
        };
      }),
    );
    expect(s).toMatchObject({ kind: 'dlq-growth', cluster: 'orders', brokerIds: [5], consumerGroup: 'g1' });
    expect(
      only(mutate('alertmanager-firing.json', (e) => (e.alerts[0].labels = { alertname: 'x', group: 'g2' })))
        .consumerGroup,
    ).toBe('g2');
  });

  it('unknown alert names fall back to unknown; known names are case-insensitive', () => {
    expect(only(mutate('alertmanager-firing.json', (e) => (e.alerts[0].labels.alertname = 'NodeDiskFull'))).kind).toBe(
      'unknown',
    );
    expect(
      only(mutate('alertmanager-firing.json', (e) => (e.alerts[0].labels.alertname = 'zookeeperquorumlost'))).kind,
    ).toBe('quorum-loss');
    expect(only(mutate('alertmanager-firing.json', (e) => delete e.alerts[0].labels.alertname)).name).toBe(
      'unnamed-alert',
    );
  });

  it('a broker label nobody can read keeps the alert, names no broker and says which label it was', () => {
    const s = only(mutate('alertmanager-firing.json', (e) => (e.alerts[0].labels.broker = 'two')));
    expect(s).toMatchObject({ kind: 'broker-down', brokerIds: [] });
    expect(s.labels.kafkaHealBrokerUnresolved).toBe('broker=two');
  });

  it('instance: MSK broker host and bare ids give the broker; scrape addresses do not', () => {
    const withInstance = (instance: string) =>
      only(
        mutate('alertmanager-firing.json', (e) => {
          delete e.alerts[0].labels.broker;
          e.alerts[0].labels.instance = instance;
        }),
      ).brokerIds;
    expect(withInstance('b-12.orders.abc.c2.kafka.eu-west-1.amazonaws.com:11001')).toEqual([12]);
    expect(withInstance('4')).toEqual([4]);
    expect(withInstance('10.0.1.12:9308')).toEqual([]);
    expect(
      only(mutate('alertmanager-firing.json', (e) => (e.alerts[0].labels = { alertname: 'KafkaBrokerDown' })))
        .brokerIds,
    ).toEqual([]);
  });

  it('missing fingerprint: a stable hash of the labels', () => {
    const a = only(mutate('alertmanager-firing.json', (e) => delete e.alerts[0].fingerprint));
    const b = only(
      mutate('alertmanager-firing.json', (e) => {
        delete e.alerts[0].fingerprint;
        e.alerts[0].labels = Object.fromEntries(Object.entries(e.alerts[0].labels).reverse());
      }),
    );
    expect(a.fingerprint).toMatch(/^labels:[0-9a-f]{64}$/);
    expect(b.fingerprint).toBe(a.fingerprint);
  });

  it('non-numeric annotation value is no value; no annotations at all is fine', () => {
    expect(
      only(mutate('alertmanager-firing.json', (e) => (e.alerts[0].annotations.value = 'high'))).value,
    ).toBeUndefined();
    const s = only(mutate('alertmanager-firing.json', (e) => delete e.alerts[0].annotations));
    expect(s.summary).toBeUndefined();
  });

  it('without version but with groupKey it is still an Alertmanager payload; no groupKey label then', () => {
    const s = only(mutate('alertmanager-firing.json', (e) => delete e.version));
    expect(s.kind).toBe('broker-down');
    const t = only(mutate('alertmanager-firing.json', (e) => delete e.groupKey));
    expect(t.labels.groupKey).toBeUndefined();
  });

  it('truncated alerts are flagged on every signal of the group', () => {
    const s = signals(
      normalize(
        mutate('alertmanager-grouped.json', (e) => (e.truncatedAlerts = 4)),
        ctx,
      ),
    );
    expect(s.map((x) => x.labels.truncatedAlerts)).toEqual(['4', '4', '4']);
    expect(only(loadEvent('alertmanager-firing.json')).labels.truncatedAlerts).toBeUndefined();
  });

  it('an empty group is ignored', () => {
    expect(
      normalize(
        mutate('alertmanager-firing.json', (e) => (e.alerts = [])),
        ctx,
      ),
    ).toEqual({ outcome: 'ignored', reason: 'the event carries no alerts or findings' });
  });

  it.each([
    [(e: any) => (e.version = '3'), /alertmanager payload: version must be "4", got "3"/],
    [(e: any) => (e.alerts = {}), /alertmanager payload: alerts must be an array/],
    [(e: any) => (e.alerts = new Array(1001).fill(0)), /alerts has 1001 entries, more than the limit of 1000/],
    [(e: any) => (e.groupKey = 5), /groupKey must be a string/],
    [(e: any) => e.alerts.push(e.alerts[0], 'x'), /alertmanager payload: alerts\[2\] must be an object/],
    [(e: any) => (e.alerts[0].status = 'pending'), /alerts\[0\]\.status must be "firing" or "resolved", got "pending"/],
    [(e: any) => delete e.alerts[0].labels, /alerts\[0\]\.labels must be an object/],
    [(e: any) => (e.alerts[0].labels = ['a']), /alerts\[0\]\.labels must be an object/],
    [(e: any) => (e.alerts[0].labels.cluster = null), /alerts\[0\]\.labels\.cluster must be a string/],
    [(e: any) => (e.alerts[0].annotations = 'x'), /alerts\[0\]\.annotations must be an object/],
    [
      (e: any) => (e.alerts[0].labels.kafka_heal_kind = 'meltdown'),
      /alerts\[0\]\.labels\.kafka_heal_kind must be one of/,
    ],
    [(e: any) => (e.alerts[0].fingerprint = {}), /alerts\[0\]\.fingerprint must be a string/],
  ])('malformed Alertmanager payload %#', (fn, message) => {
    malformed(mutate('alertmanager-firing.json', fn), message);
  });
});

describe('normalize: AMP alerts through SNS', () => {
  it('SNS Lambda event: the message is the Alertmanager payload; source amp; alias resolved', () => {
    const s = only(loadEvent('amp-sns-lambda.json'));
    expect(s).toMatchObject({
      source: 'amp',
      cluster: 'orders',
      kind: 'offline-partitions',
      value: 4,
      state: 'firing',
      fingerprint: '9c8b7a6f5e4d3c2b',
    });
  });

  it('bare SNS notification gives the same signal', () => {
    const a = only(loadEvent('amp-sns-lambda.json'));
    const b = only(loadEvent('amp-sns-notification.json'));
    expect(b).toEqual(a);
  });

  it('several records are flattened', () => {
    const e = mutate('amp-sns-lambda.json', (x) => x.Records.push(x.Records[0])) as any;
    expect(signals(normalize(e, ctx))).toHaveLength(2);
  });

  it.each([
    ['amp-sns-lambda.json', (e: any) => (e.Records = []), /amp sns event: Records must not be empty/],
    ['amp-sns-lambda.json', (e: any) => (e.Records = [1]), /amp sns event: Records\[0\] must be an object/],
    ['amp-sns-lambda.json', (e: any) => delete e.Records[0].Sns, /Records\[0\]\.Sns must be an object/],
    ['amp-sns-lambda.json', (e: any) => (e.Records[0].Sns.Message = 5), /Records\[0\]\.Sns\.Message must be a string/],
    [
      'amp-sns-lambda.json',
      (e: any) => (e.Records[0].Sns.Message = 'Alert: KafkaOfflinePartitions firing'),
      /Records\[0\]\.Sns\.Message is not JSON/,
    ],
    [
      'amp-sns-lambda.json',
      (e: any) => (e.Records[0].Sns.Message = '[1]'),
      /Records\[0\]\.Sns\.Message must be an Alertmanager payload object/,
    ],
    [
      'amp-sns-lambda.json',
      (e: any) => (e.Records[0].Sns.Message = 'x'.repeat(262_145)),
      /longer than 262144 characters/,
    ],
    [
      'amp-sns-notification.json',
      (e: any) => (e.Message = JSON.stringify({ version: '4', alerts: [{ status: 'firing', labels: 'x' }] })),
      /amp sns event Message: alerts\[0\]\.labels must be an object/,
    ],
  ])('malformed SNS-wrapped alert %#', (file, fn, message) => {
    malformed(mutate(file, fn), message);
  });
});

describe('normalize: probe results', () => {
  it('each finding becomes a signal', () => {
    const s = signals(normalize(loadEvent('probe-result.json'), ctx));
    expect(s).toHaveLength(2);
    expect(s[0]).toMatchObject({
      source: 'probe',
      cluster: 'orders',
      kind: 'broker-down',
      brokerIds: [2],
      state: 'firing',
      name: 'probe:broker-down',
      fingerprint: 'probe|orders|broker-down|2||',
    });
    expect(s[1]).toMatchObject({
      kind: 'consumer-lag',
      value: 1_500_000,
      threshold: 100_000,
      consumerGroup: 'billing',
      topic: 'orders',
      fingerprint: 'probe|orders|consumer-lag||billing|orders',
    });
  });

  it('EventBridge envelope with the result as detail; brokerIds sorted and unique; alias resolved', () => {
    const s = only({
      source: 'kafka-heal.probe',
      'detail-type': 'Probe Result',
      detail: {
        cluster: 'orders-msk',
        observedAt: '2026-11-22T02:00:00Z',
        findings: [{ kind: 'broker-down', brokerIds: [3, 1, 3], state: 'resolved', value: '2' }],
      },
    });
    expect(s).toMatchObject({
      cluster: 'orders',
      brokerIds: [1, 3],
      state: 'resolved',
      value: 2,
      fingerprint: 'probe|orders|broker-down|1,3||',
    });
  });

  it('a finding without brokerIds is cluster-wide; an empty findings list is ignored', () => {
    const base = { source: 'kafka-heal.probe', cluster: 'orders', observedAt: '2026-11-22T02:00:00Z' };
    expect(only({ ...base, findings: [{ kind: 'monitoring-gap', state: 'firing', value: null }] }).brokerIds).toEqual(
      [],
    );
    expect(normalize({ ...base, findings: [] }, ctx).outcome).toBe('ignored');
  });

  it.each([
    [{ detail: 'x' }, /probe event: detail must be an object/],
    [{ cluster: '' }, /probe event: cluster must be a non-empty string/],
    [{ observedAt: 'soon' }, /probe event: observedAt must be an ISO 8601 time/],
    [{ findings: 'x' }, /probe event: findings must be an array/],
    [{ findings: [null] }, /findings\[0\] must be an object/],
    [{ findings: [{ kind: 'boom', state: 'firing' }] }, /findings\[0\]\.kind must be one of/],
    [{ findings: [{ kind: 'broker-down', state: 'on' }] }, /findings\[0\]\.state must be "firing" or "resolved"/],
    [
      { findings: [{ kind: 'broker-down', state: 'firing', brokerIds: 1 }] },
      /findings\[0\]\.brokerIds must be an array/,
    ],
    [
      { findings: [{ kind: 'broker-down', state: 'firing', brokerIds: [-1] }] },
      /findings\[0\]\.brokerIds\[0\] must be a broker id/,
    ],
    [
      { findings: [{ kind: 'broker-down', state: 'firing', brokerIds: [1.5] }] },
      /findings\[0\]\.brokerIds\[0\] must be a broker id/,
    ],
    [
      { findings: [{ kind: 'broker-down', state: 'firing', brokerIds: [null] }] },
      /findings\[0\]\.brokerIds\[0\] must be a broker id \(a non-negative integer\), got null/,
    ],
    [{ findings: [{ kind: 'consumer-lag', state: 'firing', value: 'lots' }] }, /findings\[0\]\.value must be a number/],
    [
      { findings: [{ kind: 'consumer-lag', state: 'firing', threshold: Number.NaN }] },
      /findings\[0\]\.threshold must be a number/,
    ],
    [
      { findings: [{ kind: 'consumer-lag', state: 'firing', consumerGroup: 3 }] },
      /findings\[0\]\.consumerGroup must be a string/,
    ],
    [{ findings: [{ kind: 'consumer-lag', state: 'firing', topic: [] }] }, /findings\[0\]\.topic must be a string/],
  ])('malformed probe event %#', (over, message) => {
    malformed({ ...loadEvent('probe-result.json'), ...over }, message);
  });
});

describe('normalize: source detection and odd shapes', () => {
  it.each([null, 'text', 42, [], true])('a non-object (%j) is malformed', (raw) => {
    malformed(raw, 'event must be a JSON object');
  });

  it('unrecognised objects are an UnknownSourceError', () => {
    expect(() => normalize({ hello: 'world' }, ctx)).toThrow(UnknownSourceError);
    expect(() => normalize({ alerts: [] }, ctx)).toThrow(/matches no supported source/);
    try {
      normalize({}, ctx);
    } catch (e) {
      expect((e as Error).name).toBe('UnknownSourceError');
    }
  });

  it('a detail-type starting with "CloudWatch Alarm" but another source is still CloudWatch', () => {
    const s = only(mutate('cloudwatch-single-metric.json', (e) => (e.source = 'custom.forwarder')));
    expect(s.kind).toBe('disk-usage');
  });

  it('SNS notification without Type Notification is not SNS', () => {
    expect(() => normalize({ Type: 'SubscriptionConfirmation', Message: 'x' }, ctx)).toThrow(UnknownSourceError);
  });

  it('a bad receivedAt is a programming error (RangeError), not a malformed event', () => {
    expect(() => normalize(loadEvent('probe-result.json'), { clusters: [], receivedAt: 'now' })).toThrow(RangeError);
  });

  it('prototype-named keys are plain data', () => {
    const am = JSON.parse(
      '{"version":"4","groupKey":"g","alerts":[{"status":"firing","labels":{"alertname":"constructor","__proto__":"x","cluster":"toString"},"annotations":{"value":"1"}}]}',
    ) as unknown;
    const s = only(am);
    expect(s.kind).toBe('unknown');
    expect(s.cluster).toBe('toString');
    expect(Object.hasOwn(s.labels, '__proto__')).toBe(true);
    expect(Object.getPrototypeOf(s.labels)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).x).toBeUndefined();
    const cw = only(
      mutate('cloudwatch-single-metric.json', (e) =>
        Object.assign(e.detail.configuration.metrics[0].metricStat.metric, { namespace: 'constructor', name: 'name' }),
      ),
    );
    expect(cw.kind).toBe('unknown');
    const cw2 = only(
      mutate('cloudwatch-single-metric.json', (e) =>
        Object.assign(e.detail.configuration.metrics[0].metricStat.metric, {
          namespace: 'AWS/Kafka',
          name: 'toString',
        }),
      ),
    );
    expect(cw2.kind).toBe('unknown');
  });

  it('never throws a TypeError on hostile shapes', () => {
    const hostile: unknown[] = [
      {
        'detail-type': 'CloudWatch Alarm State Change',
        detail: {
          alarmName: 'a',
          state: { value: 'ALARM' },
          configuration: { metrics: [{ metricStat: { metric: { namespace: 'n', name: 'm', dimensions: null } } }] },
        },
      },
      { 'detail-type': 'CloudWatch Alarm State Change', detail: null },
      { Records: [{ Sns: null }] },
      { Records: 'x' },
      { Type: 'Notification', Message: null },
      { version: '4', alerts: [{ status: 'firing', labels: { alertname: {} } }] },
      { source: 'kafka-heal.probe', cluster: 5 },
      { version: '4', alerts: null },
      Object.create(null),
    ];
    for (const raw of hostile) {
      try {
        normalize(raw, ctx);
      } catch (e) {
        expect(e).not.toBeInstanceOf(TypeError);
        expect(['MalformedEventError', 'UnknownSourceError']).toContain((e as Error).name);
      }
    }
  });
});

describe('edges reached only through their own entry points', () => {
  it('a CloudWatch event whose detail-type is not a string is an unknown source, described', () => {
    expect(() => normalizeCloudWatch({ source: 'aws.cloudwatch', 'detail-type': 42, detail: {} }, ctx)).toThrow(
      new UnknownSourceError(
        'cloudwatch event: detail-type 42 is not supported (expected "CloudWatch Alarm State Change" or "CloudWatch Alarm Contributor State Change")',
      ),
    );
  });

  it('an AMP SNS message nested too deep is refused as such, not as "not JSON"', () => {
    const message = `${'['.repeat(MAX_JSON_DEPTH + 1)}${']'.repeat(MAX_JSON_DEPTH + 1)}`;
    expect(() => normalize({ Type: 'Notification', Message: message }, ctx)).toThrow(
      new MalformedEventError('amp sns event: Message nests deeper than 64 levels'),
    );
    expect(() => normalize({ Type: 'Notification', Message: '{' }, ctx)).toThrow(
      /is not JSON \(configure the AMP alert manager/,
    );
  });
});

describe('normalizeWebhook: Alertmanager payloads only', () => {
  it('reads an Alertmanager payload as normalize does, with the routing', () => {
    const raw = loadEvent('alertmanager-firing.json');
    expect(normalizeWebhook(raw, ctx)).toEqual(normalize(raw, ctx));
    expect(normalizeWebhook({ version: '4', groupKey: 'g', alerts: [] }, ctx)).toEqual({
      outcome: 'ignored',
      reason: 'the event carries no alerts or findings',
    });
    const routed = normalizeWebhook(
      {
        version: '4',
        alerts: [{ status: 'firing', labels: { alertname: 'OurGone', cluster: 'orders', broker: '2' } }],
      },
      { ...ctx, routing: { kinds: { ourgone: 'broker-down' }, brokerHosts: {} } },
    );
    expect(routed.outcome === 'signals' && routed.signals.map((x) => x.kind)).toEqual(['broker-down']);
  });

  it.each([
    ['cloudwatch-single-metric.json', 'a CloudWatch alarm event'],
    ['probe-result.json', 'a kafka-heal probe result'],
    ['amp-sns-lambda.json', 'an SNS message'],
    ['amp-sns-notification.json', 'an SNS message'],
  ])('refuses %s, naming its shape', (name, shape) => {
    expect(() => normalizeWebhook(loadEvent(name), ctx)).toThrow(
      new UnknownSourceError(
        `the webhook accepts only Alertmanager webhook payloads (version "4", alerts[]), got ${shape}`,
      ),
    );
  });

  it('refuses other objects, non-objects and a bad receive time', () => {
    expect(() => normalizeWebhook({ alerts: [] }, ctx)).toThrow(/got another shape$/);
    expect(() => normalizeWebhook({ hello: 1 }, ctx)).toThrow(/got another shape$/);
    expect(() => normalizeWebhook('x', ctx)).toThrow(new MalformedEventError('event must be a JSON object'));
    expect(() => normalizeWebhook({}, { ...ctx, receivedAt: 'yesterday' })).toThrow(RangeError);
  });
});

describe('alarm marker', () => {
  it('builds and parses back', () => {
    const m = alarmMarker({ cluster: 'orders', kind: 'consumer-lag', brokerId: 2, consumerGroup: 'billing' });
    expect(m).toBe('[kafka-heal cluster=orders kind=consumer-lag broker=2 group=billing]');
    expect(parseMarker(`Lag too high ${m} more`, 'w')).toEqual({
      cluster: 'orders',
      kind: 'consumer-lag',
      brokerId: 2,
      consumerGroup: 'billing',
    });
    expect(alarmMarker({ cluster: 'orders', kind: 'controller-missing' })).toBe(
      '[kafka-heal cluster=orders kind=controller-missing]',
    );
  });

  it('parse: no marker, empty group', () => {
    expect(parseMarker(undefined, 'w')).toBeUndefined();
    expect(parseMarker('plain text', 'w')).toBeUndefined();
    expect(parseMarker('[kafka-heal cluster=a kind=broker-down group=]', 'w')).toEqual({
      cluster: 'a',
      kind: 'broker-down',
    });
    expect(() => parseMarker('[kafka-heal cluster= kind=broker-down]', 'w')).toThrow(/cluster is missing/);
  });

  it('rejects values that would break the marker', () => {
    expect(() => alarmMarker({ cluster: 'has space', kind: 'broker-down' })).toThrow(RangeError);
    expect(() => alarmMarker({ cluster: 'ok', kind: 'broker-down', consumerGroup: 'a]b' })).toThrow(/consumerGroup/);
    expect(() => alarmMarker({ cluster: 'ok', kind: 'broker-down', brokerId: -1 })).toThrow(/brokerId/);
    expect(() => alarmMarker({ cluster: 'ok', kind: 'broker-down', brokerId: 1.5 })).toThrow(/brokerId/);
  });
});

describe('common helpers', () => {
  it('numeric accepts numbers and numeric strings only', () => {
    expect(numeric(' 1e3 ')).toBe(1000);
    expect(numeric('.5')).toBe(0.5);
    expect(numeric(Infinity)).toBeUndefined();
    expect(numeric('12abc')).toBeUndefined();
    expect(numeric(true)).toBeUndefined();
  });

  it('isoTime rejects year 1, garbage and very long strings', () => {
    expect(isoTime('0001-01-01T00:00:00Z')).toBeUndefined();
    expect(isoTime('x'.repeat(65))).toBeUndefined();
    expect(isoTime(5)).toBeUndefined();
    expect(isoTime('2026-11-22T02:00:00+01:00')).toBe('2026-11-22T01:00:00.000Z');
  });

  it('clip trims and cuts', () => {
    expect(clip('  abc  ', 2)).toBe('ab');
  });

  it('describe renders values for messages', () => {
    expect(describeValue(undefined)).toBe('nothing');
    expect(describeValue(null)).toBe('null');
    expect(describeValue([])).toBe('an array');
    expect(describeValue({})).toBe('an object');
    expect(describeValue('x'.repeat(50))).toMatch(/\.\.\.$/);
    expect(describeValue(() => 1)).toBe('() => 1');
  });
});

describe('parseJsonDocument: JSON from outside, bounded in depth', () => {
  it('parses up to 64 levels and refuses 65 before parsing, whatever brackets strings hold', () => {
    const nest = (n: number) => `${'['.repeat(n)}${']'.repeat(n)}`;
    expect(parseJsonDocument(nest(MAX_JSON_DEPTH), 'body')).toBeInstanceOf(Array);
    expect(() => parseJsonDocument(nest(MAX_JSON_DEPTH + 1), 'body')).toThrow(
      new MalformedEventError('body nests deeper than 64 levels'),
    );
    // Brackets inside strings, escaped quotes and backslashes do not count.
    const text = `{"a":"${'['.repeat(100)}\\"${'{'.repeat(100)}\\\\","b":[1]}`;
    expect(parseJsonDocument(text, 'body')).toEqual({ a: `${'['.repeat(100)}"${'{'.repeat(100)}\\`, b: [1] });
    expect(() => parseJsonDocument('{"a": ', 'body')).toThrow(/^body is not valid JSON: /);
    expect(() => parseJsonDocument('{"a": ', 'body')).toThrow(MalformedEventError);
  });
});
