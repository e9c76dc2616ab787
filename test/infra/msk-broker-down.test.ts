// MSK broker loss is heard: AWS/Kafka has no liveness series (a stopped broker's metrics stop), so
// the probe of an MSK cluster reports brokers 1..brokerCount reachable or not, publishes that
// series (it is one the cluster's alarms read), and the broker-down alarm of the cluster classifies
// to msk-broker-recovery, as on EC2.
import { describe, expect, it } from 'vitest';
import { DEFAULT_POLICY } from '#domain/policy.js';
import { classify } from '#domain/classify.js';
import type { ClusterSnapshot } from '#domain/snapshot.js';
import type { Signal } from '#domain/types.js';
import { probeMetricDocuments, selectSeries } from '#functions/probe/metrics.js';
import { clusterFacts, loadConfigFile, type MskClusterConfig } from '#infra/config/schema.js';
import { clusterAlarmSpecs } from '#infra/constructs/alarm-specs.js';
import { probeClusterEnv, probeMetricSeries } from '#infra/constructs/probes.js';

const config = loadConfigFile('examples/config/msk.yaml');
const msk = config.clusters[0] as MskClusterConfig;

describe('MSK broker-down', () => {
  it('the probe is told every MSK broker id, 1..brokerCount, so a broker down at a cold start reads 0', () => {
    expect(probeClusterEnv(msk).brokerIds).toEqual(Array.from({ length: msk.brokerCount }, (_, i) => i + 1));
    expect(probeClusterEnv({ ...msk, brokerCount: 1000 }).brokerIds).toHaveLength(1000);
  });

  it('the probe publishes BrokerReachable per broker for MSK, 0 for a broker missing from the metadata', () => {
    const snapshot = {
      takenAt: '2026-01-01T00:00:00.000Z',
      durationMs: 40,
      status: 'degraded',
      bootstrapReachable: true,
      expectedBrokers: 3,
      registeredBrokers: [1, 3],
      brokers: [
        { id: 1, host: 'b-1.orders', port: 9098, registered: true, reachable: true, latencyMs: 3 },
        { id: 3, host: 'b-3.orders', port: 9098, registered: true, reachable: true, latencyMs: 3 },
      ],
      controller: { id: 1, known: true },
      partitions: { total: 3, offline: 0, underReplicated: 2, underMinIsr: 0, details: [] },
      consumerGroups: [],
      errors: [],
    } as unknown as ClusterSnapshot;
    const series = probeMetricSeries(config.deployment, msk);
    expect(series).toContain('BrokerReachable|Broker ID,Cluster Name');
    const published = selectSeries(
      probeMetricDocuments(msk.name, snapshot, probeClusterEnv(msk).brokerIds),
      new Set(series),
    );
    const reach = published
      .filter((d) => d.metrics.some((m) => m.name === 'BrokerReachable'))
      .map((d) => [d.dimensions['Broker ID'], d.metrics[0]?.value]);
    expect(reach).toEqual(Array.from({ length: msk.brokerCount }, (_, i) => [String(i + 1), i + 1 === 2 ? 0 : 1]));
  });

  it('the alarm signal of broker 2 classifies to msk-broker-recovery of broker 2', () => {
    const spec = clusterAlarmSpecs(config.deployment, msk).find((s) => s.alarmKind === 'broker-down');
    expect(spec?.signalKind).toBe('broker-down');
    const signal: Signal = {
      id: 's1',
      source: 'cloudwatch',
      kind: 'broker-down',
      cluster: msk.name,
      brokerIds: [2],
      state: 'firing',
      value: 0,
      threshold: 1,
      name: spec?.alarmName ?? '',
      observedAt: '2026-01-01T00:00:00.000Z',
      fingerprint: 'f',
      labels: {},
    };
    const facts = clusterFacts(config).find((c) => c.name === msk.name);
    const decision = classify({
      signal,
      cluster: facts,
      policy: { ...DEFAULT_POLICY, mode: 'auto' },
      openIncidents: [],
      recentHeals: [],
      now: new Date('2026-01-01T00:00:05.000Z'),
    });
    expect(decision).toMatchObject({
      action: 'remediate',
      incidentType: 'broker-failure',
      plan: { workflow: 'msk-broker-recovery', brokerIds: [2], dryRun: false },
    });
  });
});
