// An MSK drill's healer configuration: the local cluster deployed as platform msk, so the alarms,
// the classifier and the workflow target are the ones `cdk deploy` derives for an MSK cluster.
import { describe, expect, it } from 'vitest';
import { DEFAULT_POLICY } from '#domain/policy.js';
import { classify } from '#domain/classify.js';
import type { Signal } from '#domain/types.js';
import { clusterFacts } from '#infra/config/schema.js';
import { clusterAlarmSpecs } from '#infra/constructs/alarm-specs.js';
import { DEPLOYMENT, drillConfig } from '#local/drill/healer.js';
import type { LocalCluster } from '#local/kafka/cluster.js';

const cluster = {
  name: 'drill-it',
  mode: 'kraft',
  bootstrapServers: '127.0.0.1:19092,127.0.0.1:19093,127.0.0.1:19094',
  brokers: [1, 2, 3].map((id) => ({ id, port: 19091 + id, state: 'running' })),
} as unknown as LocalCluster;
const consumerGroup = { name: 'drill-readers-x', topic: 'drill-orders', maxOffsetLag: 100_000 };

describe('drillConfig for an MSK drill', () => {
  const config = drillConfig(cluster, { policyMode: 'auto', consumerGroup, msk: {} });
  const c = config.clusters[0];

  it('deploys the local cluster as MSK: its ARN and name, brokers 1..3, the local listeners', () => {
    expect(c).toMatchObject({
      name: 'drill-it',
      platform: 'msk',
      brokerCount: 3,
      bootstrapServers: cluster.bootstrapServers.split(','),
    });
    expect(c?.platform === 'msk' ? c.msk : undefined).toEqual({
      clusterArn: expect.stringMatching(/^arn:aws:kafka:eu-west-1:123456789012:cluster\/drill-it\//),
      clusterName: 'drill-it',
      metadataMode: 'kraft',
    });
  });

  it('gets the MSK alarm set, whose broker-down alarm reads the probe and classifies to msk-broker-recovery', () => {
    if (!c) throw new Error('no cluster');
    const specs = clusterAlarmSpecs(DEPLOYMENT, c);
    const down = specs.find((s) => s.alarmKind === 'broker-down');
    expect(down?.alarmName).toBe(`kafka-heal-${DEPLOYMENT}.drill-it-broker-down`);
    // The MSK set, not the EC2 one: AWS/Kafka series are among its sources.
    expect(JSON.stringify(specs)).toContain('AWS/Kafka');
    const signal: Signal = {
      id: 's',
      source: 'cloudwatch',
      kind: 'broker-down',
      cluster: 'drill-it',
      brokerIds: [2],
      state: 'firing',
      value: 0,
      threshold: 1,
      name: down?.alarmName ?? '',
      observedAt: '2026-01-01T00:00:00.000Z',
      fingerprint: 'f',
      labels: {},
    };
    const facts = clusterFacts(config).find((f) => f.name === 'drill-it');
    expect(
      classify({
        signal,
        cluster: facts,
        policy: { ...DEFAULT_POLICY, mode: 'auto' },
        openIncidents: [],
        recentHeals: [],
        now: new Date('2026-01-01T00:00:05.000Z'),
      }),
    ).toMatchObject({
      action: 'remediate',
      plan: { workflow: 'msk-broker-recovery', brokerIds: [2] },
    });
  });

  it('a secured, ZooKeeper or paired cluster is refused by name', () => {
    expect(() =>
      drillConfig({ ...cluster, mode: 'zookeeper' } as LocalCluster, { policyMode: 'auto', consumerGroup, msk: {} }),
    ).toThrow(/the MSK double presents a plain KRaft cluster with no DR peer; drill-it is zookeeper/);
  });
});
