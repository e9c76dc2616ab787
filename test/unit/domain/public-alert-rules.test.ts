// Alerts of the public Kafka rule sets teams already run, as Alertmanager delivers them, without any
// relabeling: each fixture in test/fixtures/alerts says which rule file its alerts come from and what
// the healer must read from them (kind, cluster, broker). Then the configuration's own mapping
// (alertmanager.kinds, brokerLabel, clusterLabel, broker hosts), the tolerant name matching, and
// what happens to an alert nobody maps: it is kept, classified unknown and notified, never dropped.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { describe, expect, it } from 'vitest';
import { classify } from '#domain/classify.js';
import { correlate } from '#domain/correlate.js';
import { BUILT_IN_ALERT_KINDS, alertKey, type AlertRouting } from '#domain/normalize/alert-names.js';
import { configuredCluster, hostOf } from '#domain/normalize/alert-labels.js';
import { normalize } from '#domain/normalize/index.js';
import { parsePolicy } from '#domain/policy.js';
import { SIGNAL_KINDS, type ClusterFacts, type OpenIncident, type Signal } from '#domain/types.js';

const FIXTURES = fileURLToPath(new URL('../../fixtures/alerts/', import.meta.url));

const CLUSTERS: ClusterFacts[] = [
  {
    name: 'my-cluster',
    aliases: [],
    platform: 'ec2',
    metadataMode: 'kraft',
    brokerCount: 5,
    hasDr: false,
    automaticFailover: false,
  },
  {
    name: 'orders',
    aliases: [
      'Orders-Prod',
      'arn:aws:kafka:eu-west-1:123456789012:cluster/Orders-Prod/0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d-2',
    ],
    platform: 'msk',
    metadataMode: 'kraft',
    brokerCount: 3,
    hasDr: false,
    automaticFailover: false,
  },
  {
    name: 'payments',
    aliases: [],
    platform: 'ec2',
    metadataMode: 'zookeeper',
    brokerCount: 3,
    hasDr: false,
    automaticFailover: false,
  },
];
const ROUTING: AlertRouting = {
  kinds: {},
  brokerHosts: { payments: { kafka1: 1, kafka2: 2, kafka3: 3, '10.0.1.12': 2, 'fd00::5': 3 } },
};
const receivedAt = '2026-11-22T02:00:00.000Z';

function signalsOf(payload: unknown, routing: AlertRouting = ROUTING, clusters = CLUSTERS): Signal[] {
  const r = normalize(payload, { clusters, receivedAt, routing });
  if (r.outcome !== 'signals') throw new Error(`expected signals, got ${r.reason}`);
  return r.signals;
}

function alert(labels: Record<string, string>, status: 'firing' | 'resolved' = 'firing') {
  return {
    version: '4',
    groupKey: '{}:{}',
    status,
    receiver: 'kafka-heal',
    alerts: [
      {
        status,
        labels,
        annotations: {},
        startsAt: '2026-11-22T01:59:00Z',
        endsAt: '0001-01-01T00:00:00Z',
        fingerprint: 'fp',
      },
    ],
  };
}
const one = (labels: Record<string, string>, routing?: AlertRouting) => signalsOf(alert(labels), routing)[0] as Signal;

interface Fixture {
  expect: { kind: string; cluster: string; brokerIds: number[]; topic?: string; consumerGroup?: string }[];
  payload: { alerts: unknown[] };
}

describe('public rule sets: each fixture classifies to the right kind, cluster and broker', () => {
  const files = readdirSync(FIXTURES).filter((f) => f.endsWith('.yaml'));

  it('covers Strimzi (Kafka, ZooKeeper, Kafka Exporter), awesome-prometheus-alerts, Confluent and MSK open monitoring', () => {
    expect(files.sort()).toEqual([
      'awesome-prometheus-alerts-kafka.yaml',
      'confluent-jmx-monitoring-stacks.yaml',
      'msk-open-monitoring.yaml',
      'strimzi-kafka.yaml',
      'strimzi-zookeeper-and-kafka-exporter.yaml',
    ]);
  });

  it.each(files)('%s', (file) => {
    const text = readFileSync(join(FIXTURES, file), 'utf8');
    expect(text, 'the fixture says which repository and rule file its alerts come from').toMatch(
      /repository [\w.-]+\/[\w.-]+/,
    );
    const f = parseYaml(text) as Fixture;
    const s = signalsOf(f.payload);
    expect(s).toHaveLength(f.payload.alerts.length);
    expect(
      s.map((x) => ({
        kind: x.kind,
        cluster: x.cluster,
        brokerIds: x.brokerIds,
        ...(x.topic === undefined ? {} : { topic: x.topic }),
        ...(x.consumerGroup === undefined ? {} : { consumerGroup: x.consumerGroup }),
      })),
    ).toEqual(
      f.expect.map((e) => ({
        kind: e.kind,
        cluster: e.cluster,
        brokerIds: e.brokerIds,
        ...(e.topic === undefined ? {} : { topic: e.topic }),
        ...(e.consumerGroup === undefined ? {} : { consumerGroup: e.consumerGroup }),
      })),
    );
    for (const x of s) expect(x.source).toBe('alertmanager');
  });

  it('every built-in name maps to a real kind, and none to unknown', () => {
    for (const [key, kind] of BUILT_IN_ALERT_KINDS) {
      expect(key).toBe(alertKey(key));
      for (const k of typeof kind === 'string' ? [kind] : [kind.withBroker, kind.otherwise]) {
        expect(SIGNAL_KINDS).toContain(k);
        expect(k).not.toBe('unknown');
      }
    }
  });
});

describe('tolerant names', () => {
  it.each([
    ['KafkaBrokerDown', 'kafkabrokerdown'],
    ['kafka_broker_down', 'kafkabrokerdown'],
    ['Kafka Broker Down', 'kafkabrokerdown'],
    ['ActiveControllerCount != 1', 'activecontrollercount'],
    ['OfflinePartitionCount>0', 'offlinepartitioncount'],
    ['Broker IO Activity < 0.4', 'brokerioactivity'],
    ['Broker IO Activity < 40%', 'brokerioactivity'],
    ['Disk >= -1.5', 'disk'],
    ['Under-Replicated Partitions', 'underreplicatedpartitions'],
  ])('%j is %j', (name, key) => expect(alertKey(name)).toBe(key));

  it('case and punctuation do not change the kind', () => {
    expect(one({ alertname: 'zookeeper-quorum-lost', cluster: 'payments' }).kind).toBe('quorum-loss');
    expect(one({ alertname: 'ABNORMAL_CONTROLLER_STATE', cluster: 'payments' }).kind).toBe('controller-missing');
    expect(one({ alertname: 'NodeDiskFull', cluster: 'payments' }).kind).toBe('unknown');
  });
});

describe('cluster from the usual labels', () => {
  it('the configured clusterLabel wins, then cluster / kafka_cluster / strimzi_io_cluster / cluster_name as written', () => {
    expect(
      one({ alertname: 'x', team_cluster: 'payments', cluster: 'orders' }, { ...ROUTING, clusterLabel: 'team_cluster' })
        .cluster,
    ).toBe('payments');
    expect(
      one({ alertname: 'x', team_cluster: '', cluster: 'orders' }, { ...ROUTING, clusterLabel: 'team_cluster' })
        .cluster,
    ).toBe('orders');
    expect(one({ alertname: 'x', strimzi_io_cluster: 'my-cluster' }).cluster).toBe('my-cluster');
    expect(one({ alertname: 'x', cluster_name: 'ORDERS-PROD' }).cluster).toBe('orders');
    // An unconfigured name is kept as written: the classifier escalates it as an unknown cluster.
    expect(one({ alertname: 'x', kafka_cluster: 'elsewhere' }).cluster).toBe('elsewhere');
  });

  it('hints count only when they name a configured cluster', () => {
    expect(one({ alertname: 'x', env: 'payments' }).cluster).toBe('payments');
    expect(one({ alertname: 'x', env: 'dev' }).cluster).toBe('');
    expect(one({ alertname: 'x', strimzi_io_name: 'my-cluster-zookeeper' }).cluster).toBe('my-cluster');
    expect(one({ alertname: 'x', strimzi_io_name: 'someone-else-kafka' }).cluster).toBe('');
    expect(one({ alertname: 'x', pod: 'my-cluster-zookeeper-2' }).cluster).toBe('my-cluster');
    expect(
      one({ alertname: 'x', instance: 'b-1.unknown-msk.abc.c2.kafka.eu-west-1.amazonaws.com:11001' }).cluster,
    ).toBe('');
    expect(one({ alertname: 'x', instance: '10.0.1.12:9404' }).cluster).toBe('payments');
    expect(one({ alertname: 'x' }).cluster).toBe('');
  });

  it('a host two clusters list names neither', () => {
    const shared: AlertRouting = {
      kinds: {},
      brokerHosts: { payments: { 'kafka.internal': 1 }, 'my-cluster': { 'kafka.internal': 1 } },
    };
    expect(one({ alertname: 'x', instance: 'kafka.internal:7071' }, shared)).toMatchObject({
      cluster: '',
      brokerIds: [],
    });
    expect(one({ alertname: 'x', cluster: 'payments', instance: 'kafka.internal:7071' }, shared)).toMatchObject({
      cluster: 'payments',
      brokerIds: [1],
    });
  });

  it('configuredCluster and hostOf', () => {
    expect(configuredCluster('orders-prod', CLUSTERS)).toBe('orders');
    expect(configuredCluster('nope', CLUSTERS)).toBeUndefined();
    expect(hostOf('Kafka-1.Example.com:9404')).toBe('kafka-1.example.com');
    expect(hostOf('[FD00::5]:9404')).toBe('fd00::5');
    expect(hostOf('[fd00::5]')).toBe('fd00::5');
    expect(hostOf('fd00::5')).toBe('fd00::5');
    expect(hostOf('kafka2')).toBe('kafka2');
  });
});

describe('broker from the usual labels', () => {
  it('id labels: broker, broker_id, brokerId, node_id, nodeId, kafka_broker_id', () => {
    for (const key of ['broker', 'broker_id', 'brokerId', 'node_id', 'nodeId', 'kafka_broker_id'])
      expect(one({ alertname: 'x', cluster: 'payments', [key]: '3' }).brokerIds, key).toEqual([3]);
  });

  it('pod ordinals of broker pods only', () => {
    expect(one({ alertname: 'x', kubernetes_pod_name: 'my-cluster-kafka-3' }).brokerIds).toEqual([3]);
    expect(one({ alertname: 'x', pod_name: 'my-cluster-kafka-0' }).brokerIds).toEqual([0]);
    expect(one({ alertname: 'x', pod: 'my-cluster-dual-role-7', strimzi_io_cluster: 'my-cluster' }).brokerIds).toEqual([
      7,
    ]);
    // Not brokers: ZooKeeper, exporters, operators; and a StatefulSet ordinal outside Strimzi says nothing.
    expect(one({ alertname: 'x', pod: 'my-cluster-zookeeper-1', strimzi_io_cluster: 'my-cluster' }).brokerIds).toEqual(
      [],
    );
    expect(
      one({ alertname: 'x', pod: 'my-cluster-cruise-control-1', strimzi_io_cluster: 'my-cluster' }).brokerIds,
    ).toEqual([]);
    expect(one({ alertname: 'x', pod: 'other-pool-2', strimzi_io_cluster: 'my-cluster' }).brokerIds).toEqual([]);
    expect(one({ alertname: 'x', pod: 'kafka-broker-1' }).brokerIds).toEqual([]);
    expect(one({ alertname: 'x', pod: 'my-cluster-kafka-exporter-5f6b7' }).brokerIds).toEqual([]);
    expect(one({ alertname: 'x', persistentvolumeclaim: 'data-my-cluster-kafka-2' }).brokerIds).toEqual([2]);
    expect(one({ alertname: 'x', persistentvolumeclaim: 'logs-my-cluster-kafka-2' }).brokerIds).toEqual([]);
  });

  it('hosts: MSK endpoints, bare ids, configured broker hosts (with or without port, IPv6 too)', () => {
    expect(
      one({ alertname: 'x', instance: 'b-3.orders-prod.7x9k2p.c2.kafka.eu-west-1.amazonaws.com:11001' }).brokerIds,
    ).toEqual([3]);
    expect(one({ alertname: 'x', hostname: 'kafka1' }).brokerIds).toEqual([1]);
    expect(one({ alertname: 'x', host: 'KAFKA3' }).brokerIds).toEqual([3]);
    expect(one({ alertname: 'x', instance: '[fd00::5]:9404' }).brokerIds).toEqual([3]);
    expect(one({ alertname: 'x', cluster: 'my-cluster', instance: '10.0.1.12:9404' }).brokerIds).toEqual([]);
    expect(one({ alertname: 'x', instance: '10.9.9.9:9404' }).brokerIds).toEqual([]);
  });

  it('the configured brokerLabel: an id, a host, or a name ending in the id; unreadable ones are reported', () => {
    const r = (v: string) =>
      one({ alertname: 'x', cluster: 'payments', kafka_node: v }, { ...ROUTING, brokerLabel: 'kafka_node' });
    expect(r('5').brokerIds).toEqual([5]);
    expect(r('kafka2').brokerIds).toEqual([2]);
    expect(r('kafka-broker-7').brokerIds).toEqual([7]);
    expect(r('primary').brokerIds).toEqual([]);
    expect(r('primary').labels.kafkaHealBrokerUnresolved).toBe('kafka_node=primary');
    // It is read first; an unreadable one does not hide a readable broker label.
    expect(
      one({ alertname: 'x', kafka_node: '5', broker: '1' }, { ...ROUTING, brokerLabel: 'kafka_node' }).brokerIds,
    ).toEqual([5]);
    expect(
      one({ alertname: 'x', kafka_node: 'primary', broker: '1' }, { ...ROUTING, brokerLabel: 'kafka_node' }),
    ).toMatchObject({ brokerIds: [1], labels: { kafkaHealBrokerUnresolved: 'kafka_node=primary' } });
    expect(one({ alertname: 'x', broker: 'my-cluster-kafka-4' }).brokerIds).toEqual([4]);
    // A configured label the alert does not carry: the usual labels still count.
    expect(one({ alertname: 'x', broker_id: '6' }, { ...ROUTING, brokerLabel: 'kafka_node' }).brokerIds).toEqual([6]);
    // The first unreadable label is the one reported.
    expect(one({ alertname: 'x', broker: 'left', node_id: 'right' }).labels.kafkaHealBrokerUnresolved).toBe(
      'broker=left',
    );
  });
});

describe('kinds from the configuration', () => {
  const routing: AlertRouting = {
    ...ROUTING,
    kinds: { [alertKey('OurBrokerVanished')]: 'broker-down', [alertKey('NoMessageForTooLong')]: 'error-rate' },
  };

  it('a configured name maps, tolerantly, and overrides a built-in one; kafka_heal_kind still wins', () => {
    expect(one({ alertname: 'our_broker_vanished', cluster: 'payments', broker: '2' }, routing)).toMatchObject({
      kind: 'broker-down',
      brokerIds: [2],
    });
    expect(one({ alertname: 'NoMessageForTooLong', cluster: 'payments' }, routing).kind).toBe('error-rate');
    expect(
      one({ alertname: 'OurBrokerVanished', cluster: 'payments', kafka_heal_kind: 'monitoring-gap' }, routing).kind,
    ).toBe('monitoring-gap');
    // A hostile name is only a key: no prototype lookups.
    expect(one({ alertname: 'constructor', cluster: 'payments' }, routing).kind).toBe('unknown');
  });

  it('ScrapeProblem without a broker is a monitoring gap', () => {
    expect(
      one({ alertname: 'ScrapeProblem', strimzi_io_cluster: 'my-cluster', kubernetes_pod_name: 'my-cluster-kafka-1' })
        .kind,
    ).toBe('broker-down');
    expect(one({ alertname: 'ScrapeProblem', strimzi_io_cluster: 'my-cluster' }).kind).toBe('monitoring-gap');
  });

  it('without routing (AMP, CLI) the built-in names still apply', () => {
    const r = normalize(
      alert({ alertname: 'TooLargeConsumerGroupLag', cluster: 'payments', consumergroup: 'billing' }),
      { clusters: CLUSTERS, receivedAt },
    );
    expect(r).toMatchObject({ outcome: 'signals', signals: [{ kind: 'consumer-lag', consumerGroup: 'billing' }] });
  });
});

describe('unknown alerts are kept and notified, never dropped', () => {
  const policy = parsePolicy({ mode: 'auto' });
  const cluster = CLUSTERS[2] as ClusterFacts;
  const now = new Date(receivedAt);
  const unknownAlert = (name: string, fingerprint: string): Signal => ({
    ...one({ alertname: name, cluster: 'payments' }),
    name,
    fingerprint,
    id: `sig-${fingerprint}`,
  });

  it('an unmapped alert becomes an unknown signal that escalates (SEV-3: notify people)', () => {
    const s = unknownAlert('UncleanLeaderElectionsPerSec > 0', 'u1');
    expect(s.kind).toBe('unknown');
    const d = classify({ signal: s, cluster, openIncidents: [], recentHeals: [], policy, now });
    expect(d).toMatchObject({ action: 'escalate', incidentType: 'unknown', severity: 'SEV-3', page: false });
    expect(d.reasons.join(' ')).toMatch(/notifying people/);
  });

  it('a second, different unknown alert opens its own incident (and notification) instead of joining the first one silently; the same alert again joins and re-notifies', () => {
    const first: OpenIncident = {
      id: 'inc-u1',
      cluster: 'payments',
      type: 'unknown',
      severity: 'SEV-3',
      status: 'escalated',
      brokers: [{ id: 2, firstSeenAt: receivedAt }],
      openedAt: receivedAt,
      fingerprints: ['u1'],
    };
    const other = { ...unknownAlert('OfflineLogDirectoryCount', 'u2'), brokerIds: [2] };
    const d = classify({ signal: other, cluster, openIncidents: [first], recentHeals: [], policy, now });
    expect(correlate(other, d, [first], policy, now)).toEqual({ kind: 'new' });
    const again = unknownAlert('UncleanLeaderElectionsPerSec > 0', 'u1');
    expect(
      correlate(
        again,
        classify({ signal: again, cluster, openIncidents: [first], recentHeals: [], policy, now }),
        [first],
        policy,
        now,
      ),
    ).toEqual({
      kind: 'join',
      incidentId: 'inc-u1',
      renotify: 'alarm UncleanLeaderElectionsPerSec > 0 of escalated incident inc-u1 fired again',
    });
  });
});
