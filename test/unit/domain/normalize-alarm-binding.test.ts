// The CloudWatch normalizer's view of the healer's own alarms: per-broker alarms (one Metrics
// Insights query grouped by "Broker ID") whose contributors' state changes are the signals, and
// the marker that binds an alarm to its deployment (another deployment's alarm is refused).
import { describe, expect, it } from 'vitest';
import { ForeignAlarmError, MalformedEventError, UnknownSourceError } from '#domain/errors.js';
import { alarmMarker, normalize, parseMarker } from '#domain/normalize/index.js';
import { CLUSTERS } from './fixtures.js';

const ctx = { clusters: CLUSTERS, receivedAt: '2026-11-22T02:00:00.000Z', deployment: 'prod' };
const ARN = 'arn:aws:cloudwatch:eu-west-1:123456789012:alarm:kafka-heal-prod.orders-disk-critical';
const QUERY = `SELECT MAX(KafkaDataLogsDiskUsed) FROM SCHEMA("AWS/Kafka", "Cluster Name", "Broker ID") WHERE "Cluster Name" = 'orders-msk' GROUP BY "Broker ID" ORDER BY MAX() DESC`;
const MARKER = '[kafka-heal deployment=prod cluster=orders kind=disk-usage threshold=90]';

/** A contributor state change as CloudWatch sends it (the developer guide's example, our alarm). */
function contributorEvent(
  over: { state?: string; reason?: unknown; attributes?: unknown; contributor?: unknown; description?: string } = {},
): Record<string, unknown> {
  return {
    version: '0',
    id: '6d226bbc-07f0-9a31-3359-1736968f8ded',
    'detail-type': 'CloudWatch Alarm Contributor State Change',
    source: 'aws.cloudwatch',
    account: '123456789012',
    time: '2026-11-22T01:59:58Z',
    region: 'eu-west-1',
    resources: [ARN],
    detail: {
      alarmName: 'kafka-heal-prod.orders-disk-critical',
      alarmContributor: over.contributor ?? {
        id: '6d442278dba546f6',
        attributes: over.attributes ?? { 'Broker ID': '3' },
      },
      state: {
        value: over.state ?? 'ALARM',
        reason:
          over.reason ??
          'Threshold Crossed: 3 datapoints were greater than or equal to the threshold (90.0). The most recent datapoint which crossed the threshold: [93.25 (22/11/26 01:59:00)].',
        timestamp: '2026-11-22T01:59:58.919+0000',
      },
      configuration: {
        metrics: [{ id: 'm1', expression: QUERY, returnData: true, period: 60 }],
        description:
          over.description ??
          `Kafka cluster orders, each broker: KafkaDataLogsDiskUsed (%) >= 90 for 3 minutes. ${MARKER}`,
      },
    },
  };
}

function parentEvent(description = `x ${MARKER}`): Record<string, unknown> {
  const e = contributorEvent({ description });
  e['detail-type'] = 'CloudWatch Alarm State Change';
  const detail = e['detail'] as Record<string, unknown>;
  delete detail['alarmContributor'];
  detail['state'] = {
    value: 'ALARM',
    reason: '1 out of 3 time series evaluated to ALARM',
    timestamp: '2026-11-22T01:59:58.919+0000',
  };
  return e;
}

describe('per-broker alarms: contributor state changes', () => {
  it("a broker going into ALARM is a firing signal for that broker, its datapoint the value, the alarm's threshold the threshold", () => {
    const r = normalize(contributorEvent(), ctx);
    expect(r).toMatchObject({
      outcome: 'signals',
      signals: [
        {
          source: 'cloudwatch',
          cluster: 'orders',
          kind: 'disk-usage',
          brokerIds: [3],
          state: 'firing',
          value: 93.25,
          threshold: 90,
          fingerprint: `${ARN}#6d442278dba546f6`,
          labels: { alarmType: 'metrics-insights', contributor: '6d442278dba546f6' },
          observedAt: '2026-11-22T01:59:58.919Z',
        },
      ],
    });
  });

  it('the same broker back to OK resolves with the same fingerprint; another broker is another fault', () => {
    const firing = normalize(contributorEvent(), ctx);
    const ok = normalize(
      contributorEvent({
        state: 'OK',
        reason: 'Threshold Crossed: no datapoints were greater than or equal to the threshold (90.0).',
      }),
      ctx,
    );
    const other = normalize(
      contributorEvent({ contributor: { id: 'aaaabbbbccccdddd', attributes: { 'Broker ID': '1' } } }),
      ctx,
    );
    const one = (r: typeof firing) => (r.outcome === 'signals' ? r.signals[0] : undefined);
    expect(one(ok)).toMatchObject({ state: 'resolved', brokerIds: [3], threshold: 90 });
    expect(one(ok)?.value).toBeUndefined();
    expect(one(ok)?.fingerprint).toBe(one(firing)?.fingerprint);
    expect(one(other)?.fingerprint).not.toBe(one(firing)?.fingerprint);
    expect(one(other)?.brokerIds).toEqual([1]);
  });

  it('an unreadable reason is not fatal: no value, the threshold from the marker (or none)', () => {
    const r = normalize(contributorEvent({ reason: 'Unknown' }), ctx);
    expect(r.outcome === 'signals' && r.signals[0]).toMatchObject({ brokerIds: [3], threshold: 90 });
    expect(r.outcome === 'signals' && r.signals[0]?.value).toBeUndefined();
    const bare = normalize(
      contributorEvent({
        reason: 'no numbers here',
        description: '[kafka-heal deployment=prod cluster=orders kind=disk-usage]',
      }),
      ctx,
    );
    expect(bare.outcome === 'signals' && bare.signals[0]?.threshold).toBeUndefined();
    const noReason = contributorEvent();
    delete ((noReason['detail'] as Record<string, unknown>)['state'] as Record<string, unknown>)['reason'];
    const r2 = normalize(noReason, ctx);
    expect(r2.outcome === 'signals' && r2.signals[0]).toMatchObject({ brokerIds: [3], threshold: 90 });
  });

  it('a contributor without a broker names none; its other attributes are not dimensions the normalizer reads', () => {
    const r = normalize(contributorEvent({ attributes: { InstanceId: 'i-0123456789abcdef0', 'Broker ID': '' } }), ctx);
    expect(r.outcome === 'signals' && r.signals[0]?.brokerIds).toEqual([]);
  });

  it('a malformed contributor is malformed input, naming the field', () => {
    expect(() => normalize(contributorEvent({ contributor: 'x' }), ctx)).toThrow(
      new MalformedEventError('cloudwatch event: detail.alarmContributor must be an object'),
    );
    expect(() => normalize(contributorEvent({ contributor: { attributes: {} } }), ctx)).toThrow(
      /detail\.alarmContributor\.id must be a non-empty string/,
    );
    expect(() => normalize(contributorEvent({ attributes: { 'Broker ID': { nested: 1 } } }), ctx)).toThrow(
      /detail\.alarmContributor\.attributes\.Broker ID must be a string/,
    );
    expect(() => normalize(contributorEvent({ attributes: { 'Broker ID': 'two' } }), ctx)).toThrow(
      /must be a broker id/,
    );
  });

  it('the alarm-level change of a grouped alarm only counts its contributors: ignored with the reason', () => {
    expect(normalize(parentEvent(), ctx)).toEqual({
      outcome: 'ignored',
      reason:
        "alarm kafka-heal-prod.orders-disk-critical evaluates each series of its grouped query on its own: its contributors' state changes name the brokers; this alarm-level change (ALARM) only counts them",
    });
  });

  it('an unsupported detail-type names both supported ones', () => {
    const e = contributorEvent();
    e['detail-type'] = 'CloudWatch Alarm Something Else';
    expect(() => normalize(e, ctx)).toThrow(UnknownSourceError);
    expect(() => normalize(e, ctx)).toThrow(
      /"CloudWatch Alarm State Change" or "CloudWatch Alarm Contributor State Change"/,
    );
  });
});

describe('alarms bound to their deployment', () => {
  it('a marker naming another deployment is a ForeignAlarmError, never a signal', () => {
    const e = contributorEvent({ description: '[kafka-heal deployment=prod-eu cluster=orders kind=disk-usage]' });
    expect(() => normalize(e, ctx)).toThrow(ForeignAlarmError);
    expect(() => normalize(e, ctx)).toThrow(
      'cloudwatch event: alarm kafka-heal-prod.orders-disk-critical: its marker names deployment "prod-eu", not prod: another deployment\'s alarm is never acted on',
    );
  });

  it('a marker naming no deployment is refused too; without a marker the alarm is read by its metrics', () => {
    expect(() =>
      normalize(contributorEvent({ description: '[kafka-heal cluster=orders kind=disk-usage]' }), ctx),
    ).toThrow(/its marker names no deployment, not prod/);
    // A hand-made alarm under the prefix: the cluster from its name (the `.` delimits), the broker
    // from its contributor; the kind is not in the name. The stack-name check in ingest still applies.
    const r = normalize(contributorEvent({ description: 'a hand-made alarm' }), ctx);
    expect(r.outcome === 'signals' && r.signals[0]).toMatchObject({
      cluster: 'orders',
      kind: 'unknown',
      brokerIds: [3],
    });
  });

  it('a normalizer that is told no deployment (the CLI) reads any marker', () => {
    const { deployment: _d, ...anyDeployment } = ctx;
    const r = normalize(
      contributorEvent({ description: '[kafka-heal deployment=elsewhere cluster=orders kind=disk-usage]' }),
      anyDeployment,
    );
    expect(r.outcome).toBe('signals');
  });
});

describe('alarm marker: deployment and threshold', () => {
  it('builds and parses back', () => {
    const m = alarmMarker({
      deployment: 'prod',
      cluster: 'orders',
      kind: 'disk-usage',
      consumerGroup: 'g',
      threshold: 90.5,
    });
    expect(m).toBe('[kafka-heal deployment=prod cluster=orders kind=disk-usage group=g threshold=90.5]');
    expect(parseMarker(m, 'w')).toEqual({
      deployment: 'prod',
      cluster: 'orders',
      kind: 'disk-usage',
      consumerGroup: 'g',
      threshold: 90.5,
    });
    expect(parseMarker('[kafka-heal deployment= cluster=o kind=broker-down]', 'w')).toEqual({
      cluster: 'o',
      kind: 'broker-down',
    });
  });

  it('refuses what would break it, and reads a bad threshold as malformed', () => {
    expect(() => alarmMarker({ deployment: 'a b', cluster: 'o', kind: 'broker-down' })).toThrow(/deployment "a b"/);
    expect(() => alarmMarker({ cluster: 'o', kind: 'broker-down', threshold: Number.NaN })).toThrow(
      /threshold must be a finite number/,
    );
    expect(() => parseMarker('[kafka-heal cluster=o kind=broker-down threshold=lots]', 'w')).toThrow(
      new MalformedEventError('w: description marker threshold must be a number, got "lots"'),
    );
  });
});
