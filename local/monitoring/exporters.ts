// The Prometheus exporters of a monitored local cluster, as a self-managed team runs them:
//   brokers    the JMX exporter java agent (io.prometheus.jmx:jmx_prometheus_javaagent 1.0.1) in
//              every broker JVM, with the shipped monitoring/prometheus/jmx-exporter/kafka-broker.yml,
//              serving /metrics on 127.0.0.1:<port>
//   ZooKeeper  ZooKeeper's own Prometheus metrics provider (zookeeper-prometheus-metrics on the
//              ensemble's classpath, metricsProvider.* in zoo.cfg), on 127.0.0.1:<port>
// The plan is made before the cluster starts (startCluster's nodeExtras) and names the scrape
// targets afterwards. The jars come from Maven Central like the others (local/maven/prometheus-exporters).
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePorts, type StartOptions } from '../kafka/cluster.js';
import { ensureJars } from '../maven.js';

export const EXPORTER_JAR_SET = 'prometheus-exporters';
export const JMX_AGENT_JAR = 'jmx_prometheus_javaagent-1.0.1.jar';
export const ZK_METRICS_PROVIDER = 'org.apache.zookeeper.metrics.prometheus.PrometheusMetricsProvider';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const MONITORING_DIR = join(repoRoot, 'monitoring', 'prometheus');
export const JMX_EXPORTER_CONFIG = join(MONITORING_DIR, 'jmx-exporter', 'kafka-broker.yml');

export interface ExporterPlan {
  /** /metrics port of broker id's JMX exporter. */
  brokerPorts: Map<number, number>;
  /** /metrics port of ZooKeeper server id's metrics provider. */
  zookeeperPorts: Map<number, number>;
  /** Pass to startCluster. */
  nodeExtras: NonNullable<StartOptions['nodeExtras']>;
}

/** The JVM flag that starts the JMX exporter agent on 127.0.0.1:port with the shipped config. */
export function jmxAgentArg(jarDir: string, port: number, config = JMX_EXPORTER_CONFIG): string {
  return `-javaagent:${join(jarDir, JMX_AGENT_JAR)}=127.0.0.1:${port}:${config}`;
}

/** zoo.cfg entries that start ZooKeeper's Prometheus metrics provider on 127.0.0.1:port. */
export function zookeeperMetricsConfig(port: number): Record<string, string> {
  return {
    'metricsProvider.className': ZK_METRICS_PROVIDER,
    'metricsProvider.httpHost': '127.0.0.1',
    'metricsProvider.httpPort': String(port),
    'metricsProvider.exportJvmInfo': 'false',
  };
}

/** Fetches the exporter jars (once) and assigns each broker and ZooKeeper server a metrics port. */
export async function planExporters(opts: {
  brokers: number;
  zookeepers: number;
  log?: (line: string) => void;
}): Promise<ExporterPlan> {
  const jarDir = await ensureJars(EXPORTER_JAR_SET, opts.log);
  const ports = await freePorts(opts.brokers + opts.zookeepers);
  const brokerPorts = new Map<number, number>();
  const zookeeperPorts = new Map<number, number>();
  for (let id = 1; id <= opts.brokers; id++) brokerPorts.set(id, ports[id - 1] as number);
  for (let id = 1; id <= opts.zookeepers; id++) zookeeperPorts.set(id, ports[opts.brokers + id - 1] as number);
  const port = (m: Map<number, number>, id: number, what: string) => {
    const p = m.get(id);
    if (p === undefined)
      throw new RangeError(`no metrics port planned for ${what} ${id} (planned: ${[...m.keys()].join(', ')})`);
    return p;
  };
  return {
    brokerPorts,
    zookeeperPorts,
    nodeExtras: {
      broker: (id) => ({ jvmArgs: [jmxAgentArg(jarDir, port(brokerPorts, id, 'broker'))] }),
      zookeeper: (id) => ({
        classpath: [jarDir],
        config: zookeeperMetricsConfig(port(zookeeperPorts, id, 'ZooKeeper server')),
      }),
    },
  };
}
