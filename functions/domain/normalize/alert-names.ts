// Alert names -> signal kinds: the project's own rules (monitoring/prometheus/rules, which also
// carry kafka_heal_kind), and the public Kafka rule sets teams already run, so their alerts need no
// relabeling. Only the names and labels of those rule sets are used here, as facts; each block
// says which rule file it comes from. Names match case- and punctuation-tolerantly (alertKey).
// An alert a block does not list, or lists without a kind because no runbook fits it (e.g. an
// offline log directory, a ZooKeeper latency), stays `unknown`: the classifier notifies people.
import type { SignalKind } from '../types.js';

/**
 * How the deployment's configuration widens what alerts say (infra/config/schema.ts alertRouting:
 * `alertmanager.kinds`, `alertmanager.brokerLabel`, `alertmanager.clusterLabel`, and the broker
 * hosts of `clusters[].ec2.brokers[].host`).
 */
export interface AlertRouting {
  /** Alert name key (alertKey) -> kind; wins over the built-in names. */
  kinds: Record<string, SignalKind>;
  /** A label naming the broker (an id, a pod name with the id as ordinal, or a broker host); read first. */
  brokerLabel?: string;
  /** A label naming the cluster (its configured name or an alias); read first. */
  clusterLabel?: string;
  /** Per configured cluster: broker host as monitoring labels it (lowercase, no port) -> broker id. */
  brokerHosts: Record<string, Record<string, number>>;
}

export const NO_ROUTING: AlertRouting = { kinds: {}, brokerHosts: {} };

/**
 * A kind, or one that depends on whether the alert names a broker: Strimzi's ScrapeProblem means a
 * Kafka pod's metrics endpoint is gone (the broker, when the pod is known), else a monitoring gap.
 */
export type AlertKind = SignalKind | { withBroker: SignalKind; otherwise: SignalKind };

/**
 * The matching key of an alert name: a trailing comparison is dropped ("OfflinePartitionCount > 0",
 * "ActiveControllerCount != 1", "Broker IO Activity < 40%"), then case and every character other
 * than a letter or digit: "KafkaBrokerDown", "kafka_broker_down" and "Kafka Broker Down" are one.
 */
export function alertKey(name: string): string {
  return name
    .replace(/\s*(?:==|!=|>=|<=|>|<)\s*[-+]?\d+(?:\.\d+)?\s*%?\s*$/, '')
    .toLowerCase()
    .replace(/[^a-z0-9]/g, '');
}

/** The project's own names (monitoring/prometheus/rules and earlier conventions). */
const KAFKA_HEAL: Record<string, SignalKind> = {
  KafkaBrokerDown: 'broker-down',
  KafkaBrokerUnreachable: 'broker-down',
  KafkaBrokerOffline: 'broker-down',
  KafkaNoActiveController: 'controller-missing',
  KafkaActiveControllerMissing: 'controller-missing',
  ZookeeperQuorumLost: 'quorum-loss',
  KafkaKraftQuorumLost: 'quorum-loss',
  KafkaSplitBrain: 'quorum-loss',
  KafkaOfflinePartitions: 'offline-partitions',
  KafkaUnderMinIsr: 'under-min-isr',
  KafkaUnderMinIsrPartitions: 'under-min-isr',
  KafkaUnderReplicatedPartitions: 'under-replicated',
  KafkaDiskUsage: 'disk-usage',
  KafkaDiskUsageHigh: 'disk-usage',
  KafkaCpuHigh: 'cpu-high',
  KafkaHeapHigh: 'heap-high',
  KafkaConsumerLag: 'consumer-lag',
  KafkaConsumerGroupLag: 'consumer-lag',
  KafkaConsumerTimeLag: 'consumer-time-lag',
  KafkaErrorRate: 'error-rate',
  KafkaProducerErrorRate: 'error-rate',
  KafkaDlqGrowth: 'dlq-growth',
  KafkaTrafficSpike: 'traffic-spike',
  KafkaClusterUnreachable: 'site-down',
  KafkaSiteDown: 'site-down',
  KafkaMirrorMakerLag: 'replication-lag',
  KafkaReplicationLag: 'replication-lag',
  KafkaHealProbeMissing: 'monitoring-gap',
  KafkaExporterDown: 'monitoring-gap',
  KafkaAuthenticationFailures: 'security-event',
  KafkaSecurityEvent: 'security-event',
};

// Strimzi's example PrometheusRules, repository strimzi/strimzi-kafka-operator:
//   packaging/examples/metrics/prometheus-install/prometheus-rules/prometheus-kafka-rules.yaml (group kafka)
//   packaging/examples/metrics/prometheus-install/prometheus-rules.yaml (the earlier single file:
//     groups kafka, zookeeper, kafkaExporter; KafkaBrokerContainersDown before its rename)
// Labels there: strimzi_io_cluster / strimzi_io_name (the Kafka resource), kubernetes_pod_name and
// pod (my-cluster-kafka-1: the ordinal is the broker id), namespace. Not mapped (notified as
// unknown): OfflineLogDirectoryCount, KafkaContainerRestartedInTheLast5Minutes,
// ClusterOperatorContainerDown, and in the zookeeper group AvgRequestLatency, OutstandingRequests,
// ZookeeperRunningOutOfSpace, ZookeeperContainerRestartedInTheLast5Minutes.
const STRIMZI: Record<string, AlertKind> = {
  KafkaRunningOutOfSpace: 'disk-usage',
  UnderReplicatedPartitions: 'under-replicated',
  AbnormalControllerState: 'controller-missing',
  OfflinePartitions: 'offline-partitions',
  UnderMinIsrPartitionCount: 'under-min-isr',
  ScrapeProblem: { withBroker: 'broker-down', otherwise: 'monitoring-gap' },
  // "All `kafka` containers down": the whole cluster is gone.
  KafkaNodeContainersDown: 'site-down',
  KafkaBrokerContainersDown: 'site-down',
  // "All `zookeeper` containers ... down": no ensemble, no quorum.
  ZookeeperContainersDown: 'quorum-loss',
};

// Strimzi's Kafka Exporter rules, repository strimzi/strimzi-kafka-operator:
//   packaging/examples/metrics/prometheus-install/prometheus-rules/prometheus-kafka-exporter-topic-rules-group.yaml
// Labels: topic, partition, consumergroup. Not mapped: NoMessageForTooLong (a quiet topic).
const STRIMZI_KAFKA_EXPORTER: Record<string, AlertKind> = {
  UnderReplicatedPartition: 'under-replicated',
  TooLargeConsumerGroupLag: 'consumer-lag',
};

// The Kafka rules of the common public collection, repository samber/awesome-prometheus-alerts:
//   dist/rules/kafka/danielqsj-kafka-exporter.yml (group DanielqsjKafkaExporter; labels topic, consumergroup)
//   dist/rules/kafka/linkedin-kafka-exporter.yml (Burrow; KafkaConsumerLag is already a kafka-heal name;
//     KafkaTopicOffsetDecreased is not mapped)
const AWESOME_KAFKA: Record<string, AlertKind> = {
  KafkaTopicsReplicas: 'under-replicated',
  KafkaConsumersGroup: 'consumer-lag',
};

// Confluent's jmx-monitoring-stacks, repository confluentinc/jmx-monitoring-stacks:
//   jmxexporter-prometheus-grafana/assets/prometheus/prometheus-alerts/broker-alerts.yml
// Its alert names are the conditions themselves ("ActiveControllerCount != 1"); alertKey drops the
// comparison. Labels: env (the cluster, per its prometheus.yml), instance and hostname (the broker
// host). Not mapped: "UncleanLeaderElectionsPerSec > 0" (data already lost: people decide).
const CONFLUENT: Record<string, AlertKind> = {
  'ActiveControllerCount != 1': 'controller-missing',
  'OfflinePartitionCount > 0': 'offline-partitions',
  'UnderReplicatedPartitions > 0': 'under-replicated',
  'UnderMinIsrPartitionCount > 0': 'under-min-isr',
  // The request handler pool is nearly always busy.
  'Broker IO Activity < 40%': 'cpu-high',
};

// Amazon MSK open monitoring exposes the JMX exporter on port 11001 and the node exporter on port
// 11002 of every broker (targets b-<id>.<cluster>.<suffix>.kafka.<region>.amazonaws.com:11001/11002,
// as aws-samples/msk-open-monitoring prometheus-setup-cft.yaml builds them from ListNodes); AWS ships
// no alert rules for it. Teams alert on the JMX names with the rule sets above and on the hosts
// with the node exporter rules of samber/awesome-prometheus-alerts:
//   dist/rules/host-and-hardware/node-exporter.yml (group NodeExporter; label instance)
// The broker and cluster come from the MSK host name in `instance` (alertmanager.ts).
const NODE_EXPORTER: Record<string, AlertKind> = {
  HostOutOfDiskSpace: 'disk-usage',
  HostDiskWillFillIn24Hours: 'disk-usage',
  HostHighCpuLoad: 'cpu-high',
};

/** Every built-in name by its key; a later block never overrides an earlier one. */
export const BUILT_IN_ALERT_KINDS: ReadonlyMap<string, AlertKind> = (() => {
  const out = new Map<string, AlertKind>();
  for (const block of [KAFKA_HEAL, STRIMZI, STRIMZI_KAFKA_EXPORTER, AWESOME_KAFKA, CONFLUENT, NODE_EXPORTER]) {
    for (const [name, kind] of Object.entries(block)) if (!out.has(alertKey(name))) out.set(alertKey(name), kind);
  }
  return out;
})();
