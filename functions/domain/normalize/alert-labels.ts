// Which cluster and which broker an Alertmanager alert is about, from the labels the usual setups
// put on it, without relabeling:
//   cluster  the configured clusterLabel; cluster, kafka_cluster, strimzi_io_cluster, cluster_name
//            (taken as written: an unknown name escalates as an unconfigured cluster); then hints
//            taken only when they name a configured cluster (name or alias, any case): Strimzi's
//            strimzi_io_name (my-cluster-kafka), Confluent's env, the pod name prefix
//            (my-cluster-kafka-1, or a data volume claim data-0-my-cluster-kafka-1), the MSK broker host (b-1.<cluster>.<id>.c2.kafka.<region>...),
//            the one cluster a labelled host belongs to (clusters[].ec2.brokers[].host)
//   broker   the configured brokerLabel (an id, a pod or host name); broker, broker_id, brokerId,
//            node_id, nodeId, kafka_broker_id; the pod name's ordinal (Strimzi: my-cluster-kafka-1,
//            or a node pool pod my-cluster-pool-a-4 with strimzi_io_cluster; a volume claim
//            data-my-cluster-kafka-1 names its pod); instance, hostname or
//            host: an MSK broker host, a bare id, or a host matched against the configured brokers
// A broker label that says nothing readable is not an error: the alert keeps no broker id, and
// the signal's label kafkaHealBrokerUnresolved says which label could not be read.
import type { ClusterFacts } from '../types.js';
import type { AlertRouting } from './alert-names.js';
import { LIMITS, clip, lookup } from './common.js';

const CLUSTER_LABELS = ['cluster', 'kafka_cluster', 'strimzi_io_cluster', 'cluster_name'];
const BROKER_ID_LABELS = ['broker', 'broker_id', 'brokerId', 'node_id', 'nodeId', 'kafka_broker_id'];
const POD_LABELS = ['pod', 'kubernetes_pod_name', 'pod_name'];
const HOST_LABELS = ['instance', 'hostname', 'host'];

/** Pods of a Kafka deployment that are not brokers (their ordinal is no broker id). */
const NOT_A_BROKER =
  /(?:^|-)(?:zookeeper|zk|entity-operator|kafka-exporter|exporter|cruise-control|connect|bridge|mirror-?maker2?|mm2|operator)(?:-|$)/;
/** MSK broker endpoints: b-<id>.<cluster name>.<suffix>.c<n>.kafka.<region>.amazonaws.com[:port]. */
const MSK_HOST = /^b-(\d{1,9})\.([a-z0-9-]+)\./i;

type Labels = Record<string, string>;

function present(labels: Labels, key: string): string | undefined {
  const v = lookup(labels, key);
  return v === undefined || v.trim() === '' ? undefined : v.trim();
}

/** The configured cluster a name denotes (its name or an alias, any case), if any. */
export function configuredCluster(name: string, clusters: ClusterFacts[]): string | undefined {
  const exact = clusters.find((c) => c.name === name || c.aliases.includes(name));
  if (exact) return exact.name;
  const lower = name.toLowerCase();
  return clusters.find((c) => c.name.toLowerCase() === lower || c.aliases.some((a) => a.toLowerCase() === lower))?.name;
}

/** `host:port`, `[v6]:port` or a bare host -> the host, lowercase. */
export function hostOf(address: string): string {
  const v6 = /^\[([^\]]+)\](?::\d+)?$/.exec(address);
  if (v6) return (v6[1] as string).toLowerCase();
  const colons = address.split(':').length - 1;
  return (colons === 1 ? address.slice(0, address.lastIndexOf(':')) : address).toLowerCase();
}

/** Configured clusters whose broker hosts include this address's host, with the broker id. */
function hostMatches(address: string, routing: AlertRouting): { cluster: string; id: number }[] {
  const host = hostOf(address);
  const out: { cluster: string; id: number }[] = [];
  for (const [cluster, hosts] of Object.entries(routing.brokerHosts)) {
    const id = lookup(hosts, host);
    if (id !== undefined) out.push({ cluster, id });
  }
  return out;
}

export function alertCluster(labels: Labels, routing: AlertRouting, clusters: ClusterFacts[]): string {
  const strong = [routing.clusterLabel, ...CLUSTER_LABELS].filter((k): k is string => k !== undefined);
  for (const key of strong) {
    const v = present(labels, key);
    if (v !== undefined) return configuredCluster(clip(v, LIMITS.cluster), clusters) ?? clip(v, LIMITS.cluster);
  }
  const hints: string[] = [];
  const strimziName = present(labels, 'strimzi_io_name');
  if (strimziName !== undefined)
    hints.push(strimziName.replace(/-(?:kafka|zookeeper|kafka-exporter|entity-operator|cruise-control)$/, ''));
  const env = present(labels, 'env');
  if (env !== undefined) hints.push(env);
  for (const pod of pods(labels)) {
    const m = /^(.+)-(?:kafka|zookeeper)-\d{1,9}$/.exec(pod);
    if (m) hints.push(m[1] as string);
  }
  for (const key of HOST_LABELS) {
    const v = present(labels, key);
    if (v === undefined) continue;
    const msk = MSK_HOST.exec(v);
    if (msk) hints.push(msk[2] as string);
    const owners = [...new Set(hostMatches(v, routing).map((m) => m.cluster))];
    if (owners.length === 1) hints.push(owners[0] as string);
  }
  for (const h of hints) {
    const c = configuredCluster(h, clusters);
    if (c !== undefined) return c;
  }
  return '';
}

/** Pod names the labels give: the pod labels, and the pod of a data volume claim (data[-<n>]-<pod>). */
function pods(labels: Labels): string[] {
  const out = POD_LABELS.map((k) => present(labels, k)).filter((v): v is string => v !== undefined);
  const claim = /^data(?:-\d{1,9})?-(.+)$/.exec(present(labels, 'persistentvolumeclaim') ?? '');
  if (claim) out.push(claim[1] as string);
  return out;
}

/** A pod's ordinal when the pod is a broker (`-kafka-<n>`, or any Strimzi node pool pod of the cluster). */
function podOrdinal(pod: string, labels: Labels): number | undefined {
  const m = /-(\d{1,9})$/.exec(pod);
  if (!m || NOT_A_BROKER.test(pod)) return undefined;
  if (/-kafka-\d{1,9}$/.test(pod)) return Number(m[1]);
  const strimziCluster = present(labels, 'strimzi_io_cluster');
  return strimziCluster !== undefined && pod.startsWith(`${strimziCluster}-`) ? Number(m[1]) : undefined;
}

/** A broker id from a host-like value: an MSK broker host, a bare id, or a configured broker host. */
function brokerFromHost(value: string, cluster: string, routing: AlertRouting): number | undefined {
  const msk = MSK_HOST.exec(value);
  if (msk) return Number(msk[1]);
  if (/^\d{1,9}$/.test(value)) return Number(value);
  const matches = hostMatches(value, routing);
  const mine = cluster === '' ? matches : matches.filter((m) => m.cluster === cluster);
  return mine.length === 1 ? (mine[0] as { id: number }).id : undefined;
}

export interface AlertBroker {
  ids: number[];
  /** `label=value` of a broker label that could not be read. */
  unresolved?: string;
}

export function alertBroker(labels: Labels, routing: AlertRouting, cluster: string): AlertBroker {
  let unresolved: string | undefined;
  const fail = (key: string, v: string) => {
    unresolved ??= `${key}=${v}`.slice(0, LIMITS.labelValue);
  };
  const found = (id: number): AlertBroker => (unresolved === undefined ? { ids: [id] } : { ids: [id], unresolved });
  if (routing.brokerLabel !== undefined) {
    const v = present(labels, routing.brokerLabel);
    if (v !== undefined) {
      // The operator said this label names the broker: an id, a host, or any name ending in the id.
      const ordinal = /-(\d{1,9})$/.exec(v);
      const id = brokerFromHost(v, cluster, routing) ?? (ordinal ? Number(ordinal[1]) : undefined);
      if (id !== undefined) return found(id);
      fail(routing.brokerLabel, v);
    }
  }
  for (const key of BROKER_ID_LABELS) {
    const v = present(labels, key);
    if (v === undefined) continue;
    const id = brokerFromHost(v, cluster, routing) ?? podOrdinal(v, labels);
    if (id !== undefined) return found(id);
    fail(key, v);
  }
  for (const pod of pods(labels)) {
    const id = podOrdinal(pod, labels);
    if (id !== undefined) return found(id);
  }
  for (const key of HOST_LABELS) {
    const v = present(labels, key);
    const id = v === undefined ? undefined : brokerFromHost(v, cluster, routing);
    if (id !== undefined) return found(id);
  }
  return unresolved === undefined ? { ids: [] } : { ids: [], unresolved };
}
