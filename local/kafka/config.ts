// Configuration files of a local cluster: server.properties per broker (KRaft or ZooKeeper
// mode), zoo.cfg per ZooKeeper node, the logging setup, and the JVM command lines. Pure
// functions of the planned layout, so they are tested without starting anything.
import { join } from 'node:path';

/** zookeeper.session.timeout.ms of ZooKeeper-mode brokers: how long a crashed broker stays registered. */
export const ZK_SESSION_TIMEOUT_MS = 6000;

export type ClusterMode = 'kraft' | 'zookeeper';

/** Jar set (local/maven/<set>/pom.xml) that runs each mode. */
export const JAR_SET: Record<ClusterMode, string> = { kraft: 'kafka-4', zookeeper: 'kafka-3.9' };

/**
 * KRaft quorum size. With 4 or 5 nodes the first three are combined broker+controller voters and
 * the rest are broker-only: a fourth voter tolerates no more failures than three, and keeping
 * three voters matches the usual production shape (3 controllers) and keeps quorum traffic on
 * 2 cores small.
 */
export const KRAFT_VOTERS = 3;

export interface BrokerPlan {
  id: number;
  /** The PLAINTEXT listener: inter-broker traffic and the test harness (health checks, workloads). */
  port: number;
  /** A secured cluster: the SECURED listener the healer's clients use (see securedListenerProps). */
  securedPort?: number;
  /** A TLS cluster: the EXPIRED listener, same security with an expired certificate (for tests). */
  expiredPort?: number;
  /** KRaft voters only. */
  controllerPort?: number;
  /** Folder of the node: config, stdout log. */
  dir: string;
  /** Kafka's log.dirs (the data), possibly a size-limited mount. */
  dataDir: string;
}

export interface ZkPlan {
  id: number;
  clientPort: number;
  peerPort: number;
  electionPort: number;
  dir: string;
}

/** Settings shared by both modes: production-like replication, test-friendly timings. */
export function commonBrokerProps(): Record<string, string> {
  return {
    'default.replication.factor': '3',
    'min.insync.replicas': '2',
    'offsets.topic.replication.factor': '3',
    'offsets.topic.num.partitions': '3',
    'transaction.state.log.replication.factor': '3',
    'transaction.state.log.min.isr': '2',
    'transaction.state.log.num.partitions': '3',
    'group.initial.rebalance.delay.ms': '0',
    'auto.create.topics.enable': 'false',
    'replica.lag.time.max.ms': '5000',
    'num.network.threads': '2',
    'num.io.threads': '2',
    'num.replica.fetchers': '1',
    'background.threads': '2',
    'log.cleaner.dedupe.buffer.size': '2097152',
    'log.cleaner.threads': '1',
    // Small segments so a filled disk is reached in seconds and retention has work to do.
    'log.segment.bytes': String(16 * 1024 * 1024),
  };
}

export function kraftBrokerProps(
  b: BrokerPlan,
  voters: BrokerPlan[],
  secured?: SecuredListener,
): Record<string, string> {
  const isVoter = b.controllerPort !== undefined;
  const quorum = voters.map((v) => `${v.id}@127.0.0.1:${v.controllerPort}`).join(',');
  const listeners = isVoter
    ? `PLAINTEXT://127.0.0.1:${b.port},CONTROLLER://127.0.0.1:${b.controllerPort}`
    : `PLAINTEXT://127.0.0.1:${b.port}`;
  const base: Record<string, string> = {
    'process.roles': isVoter ? 'broker,controller' : 'broker',
    'node.id': String(b.id),
    'controller.quorum.voters': quorum,
    listeners,
    'advertised.listeners': `PLAINTEXT://127.0.0.1:${b.port}`,
    'listener.security.protocol.map': 'PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
    'controller.listener.names': 'CONTROLLER',
    'inter.broker.listener.name': 'PLAINTEXT',
    'log.dirs': b.dataDir,
    'broker.heartbeat.interval.ms': '500',
    'broker.session.timeout.ms': '3000',
    ...commonBrokerProps(),
  };
  return secured ? { ...base, ...securedListenerProps(b, base, secured) } : base;
}

export type LocalSecurityProtocol = 'SSL' | 'SASL_SSL' | 'SASL_PLAINTEXT';
export type LocalSaslMechanism = 'PLAIN' | 'SCRAM-SHA-256' | 'SCRAM-SHA-512' | 'OAUTHBEARER';

/** A secured listener of a local cluster, as the healer's clients meet it in production. */
export interface LocalSecurityOptions {
  protocol: LocalSecurityProtocol;
  /** Required with SASL_*. SCRAM users are created at format time (KRaft). */
  mechanism?: LocalSaslMechanism;
  /** mTLS: the listener requires a client certificate from the local CA. */
  clientAuth?: boolean;
  /** connections.max.reauth.ms of the SASL listener: sessions not re-authenticated within it are closed. */
  reauthMs?: number;
}

/** What the broker properties of a secured listener need: the options, PEM files, the SASL user. */
export interface SecuredListener extends LocalSecurityOptions {
  keystore: string;
  expiredKeystore: string;
  truststore: string;
  username: string;
  password: string;
}

/** JAAS line of the broker side of each mechanism (the unsecured JWS validator for OAUTHBEARER). */
function jaas(s: SecuredListener): string {
  switch (s.mechanism) {
    case 'PLAIN':
      return `org.apache.kafka.common.security.plain.PlainLoginModule required user_${s.username}="${s.password}";`;
    case 'OAUTHBEARER':
      return 'org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required unsecuredLoginStringClaim_sub="kafka-broker";';
    default:
      return 'org.apache.kafka.common.security.scram.ScramLoginModule required;';
  }
}

/**
 * The SECURED listener (the healer's clients: probe, cluster steps) and, with TLS, an EXPIRED
 * listener with the same security and an expired certificate (what a probe must report as
 * tls-failed). Inter-broker and controller traffic stay on PLAINTEXT, as the test harness does,
 * so the secured listeners can be broken on purpose without the cluster noticing.
 */
export function securedListenerProps(
  b: BrokerPlan,
  base: Record<string, string>,
  s: SecuredListener,
): Record<string, string> {
  const tls = s.protocol !== 'SASL_PLAINTEXT';
  const names: [string, number | undefined, string][] = [
    ['SECURED', b.securedPort, s.keystore],
    ...(tls ? ([['EXPIRED', b.expiredPort, s.expiredKeystore]] as [string, number | undefined, string][]) : []),
  ];
  const out: Record<string, string> = {};
  const listeners = names.map(([n, port]) => `${n}://127.0.0.1:${port}`).join(',');
  out.listeners = `${base.listeners},${listeners}`;
  out['advertised.listeners'] = `${base['advertised.listeners']},${listeners}`;
  out['listener.security.protocol.map'] =
    `${base['listener.security.protocol.map']},${names.map(([n]) => `${n}:${s.protocol}`).join(',')}`;
  for (const [n, , keystore] of names) {
    const p = `listener.name.${n.toLowerCase()}`;
    if (tls) {
      out[`${p}.ssl.keystore.type`] = 'PEM';
      out[`${p}.ssl.keystore.location`] = keystore;
      out[`${p}.ssl.truststore.type`] = 'PEM';
      out[`${p}.ssl.truststore.location`] = s.truststore;
      out[`${p}.ssl.client.auth`] = s.clientAuth ? 'required' : 'none';
    }
    if (s.mechanism !== undefined) {
      const m = s.mechanism.toLowerCase();
      out[`${p}.sasl.enabled.mechanisms`] = s.mechanism;
      out[`${p}.${m}.sasl.jaas.config`] = jaas(s);
      if (s.reauthMs !== undefined) out[`${p}.${m}.connections.max.reauth.ms`] = String(s.reauthMs);
    }
  }
  return out;
}

/** StorageTool format arguments that create the SCRAM user (KRaft keeps SCRAM credentials in its metadata). */
export function scramFormatArgs(s: SecuredListener | undefined): string[] {
  if (s?.mechanism !== 'SCRAM-SHA-256' && s?.mechanism !== 'SCRAM-SHA-512') return [];
  return ['--add-scram', `${s.mechanism}=[name=${s.username},password=${s.password}]`];
}

/** An unsigned JWT (alg none) that Kafka's unsecured OAUTHBEARER validator accepts: sub, iat, exp. */
export function unsecuredJwt(sub: string, nowMs: number, lifetimeMs: number): string {
  const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const iat = Math.floor(nowMs / 1000);
  return `${b64({ alg: 'none' })}.${b64({ sub, iat, exp: iat + Math.floor(lifetimeMs / 1000) })}.`;
}

/**
 * The client properties Kafka's CLI tools use for the secured listener (their --command-config):
 * what `clusters[].ec2.clientPropertiesFile` points at on a real host.
 */
export function clientProperties(s: SecuredListener, clientCert?: { keystore: string }): Record<string, string> {
  const out: Record<string, string> = { 'security.protocol': s.protocol };
  if (s.protocol !== 'SASL_PLAINTEXT') {
    out['ssl.truststore.type'] = 'PEM';
    out['ssl.truststore.location'] = s.truststore;
    if (s.clientAuth && clientCert) {
      out['ssl.keystore.type'] = 'PEM';
      out['ssl.keystore.location'] = clientCert.keystore;
    }
  }
  if (s.mechanism === 'PLAIN')
    out['sasl.jaas.config'] =
      `org.apache.kafka.common.security.plain.PlainLoginModule required username="${s.username}" password="${s.password}";`;
  if (s.mechanism === 'SCRAM-SHA-256' || s.mechanism === 'SCRAM-SHA-512')
    out['sasl.jaas.config'] =
      `org.apache.kafka.common.security.scram.ScramLoginModule required username="${s.username}" password="${s.password}";`;
  if (s.mechanism === 'OAUTHBEARER')
    out['sasl.jaas.config'] =
      `org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required unsecuredLoginStringClaim_sub="${s.username}";`;
  if (s.mechanism !== undefined) out['sasl.mechanism'] = s.mechanism;
  return out;
}

export function zkBrokerProps(b: BrokerPlan, zk: ZkPlan[], chroot: string): Record<string, string> {
  return {
    'broker.id': String(b.id),
    listeners: `PLAINTEXT://127.0.0.1:${b.port}`,
    'advertised.listeners': `PLAINTEXT://127.0.0.1:${b.port}`,
    'log.dirs': b.dataDir,
    'zookeeper.connect': `${zk.map((z) => `127.0.0.1:${z.clientPort}`).join(',')}/${chroot}`,
    'zookeeper.session.timeout.ms': String(ZK_SESSION_TIMEOUT_MS),
    'zookeeper.connection.timeout.ms': '10000',
    ...commonBrokerProps(),
  };
}

export function zooCfg(z: ZkPlan, all: ZkPlan[]): Record<string, string> {
  const servers = Object.fromEntries(all.map((o) => [`server.${o.id}`, `127.0.0.1:${o.peerPort}:${o.electionPort}`]));
  return {
    tickTime: '1000',
    initLimit: '10',
    syncLimit: '5',
    dataDir: join(z.dir, 'data'),
    clientPort: String(z.clientPort),
    clientPortAddress: '127.0.0.1',
    '4lw.commands.whitelist': 'ruok,mntr,stat,srvr,conf,isro',
    // Otherwise every node starts an AdminServer on port 8080 and all but one fail.
    'admin.enableServer': 'false',
    ...servers,
  };
}

export function renderProps(props: Record<string, string>): string {
  return `${Object.entries(props)
    .map(([k, v]) => `${k}=${v}`)
    .join('\n')}\n`;
}

/** Kafka 4.x logs through log4j2: everything to stdout, which the supervisor sends to a file. */
export const LOG4J2_XML = `<?xml version="1.0" encoding="UTF-8"?>
<Configuration status="warn">
  <Appenders>
    <Console name="out" target="SYSTEM_OUT">
      <PatternLayout pattern="[%d] %p %m (%c)%n"/>
    </Console>
  </Appenders>
  <Loggers>
    <Logger name="kafka.request.logger" level="warn"/>
    <Logger name="state.change.logger" level="warn"/>
    <Logger name="org.apache.kafka.clients.NetworkClient" level="warn"/>
    <Root level="info"><AppenderRef ref="out"/></Root>
  </Loggers>
</Configuration>
`;

/** Kafka 3.9 and ZooKeeper log through reload4j. */
export const LOG4J_PROPERTIES = `log4j.rootLogger=INFO, stdout
log4j.appender.stdout=org.apache.log4j.ConsoleAppender
log4j.appender.stdout.layout=org.apache.log4j.PatternLayout
log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka.request.logger=WARN
log4j.logger.state.change.logger=WARN
log4j.logger.org.apache.zookeeper=INFO
`;

/**
 * Heap per JVM. Kafka's own scripts use 1 GiB; five brokers plus three ZooKeeper nodes, with
 * other clusters of other test files possibly running, fit 24 GiB better with 768 MiB and a
 * small initial heap. G1 with a short pause target keeps latency steady on 2 cores.
 */
export const BROKER_HEAP = ['-Xms256m', '-Xmx768m'];
export const ZK_HEAP = ['-Xms64m', '-Xmx256m'];

/** System property that marks every JVM of a cluster, so stale processes are recognised. */
export function markerProp(cluster: string, node: string): string {
  return `-Dkafka-heal.node=${cluster}/${node}`;
}

/** Extra JVM flags for every node, from KAFKA_HEAL_JVM_OPTS (space-separated). */
export function extraJvmOpts(env: NodeJS.ProcessEnv = process.env): string[] {
  return (env.KAFKA_HEAL_JVM_OPTS ?? '').split(/\s+/).filter((o) => o !== '');
}

/**
 * What a caller adds to one node's JVM (e.g. a Prometheus exporter): flags before the main class
 * and folders whose jars join the classpath. Kept in the cluster state, so every restart has them.
 */
export interface NodeExtras {
  jvmArgs?: string[];
  classpath?: string[];
}

export function jvmArgs(opts: {
  jarDir: string;
  mode: ClusterMode;
  heap: string[];
  marker: string;
  logConfig: string;
  mainClass: string;
  args: string[];
  extras?: NodeExtras;
}): string[] {
  const logging =
    opts.mode === 'kraft'
      ? [`-Dlog4j2.configurationFile=${opts.logConfig}`]
      : [`-Dlog4j.configuration=file:${opts.logConfig}`];
  return [
    ...opts.heap,
    '-XX:+UseG1GC',
    '-XX:MaxGCPauseMillis=20',
    '-XX:+ExitOnOutOfMemoryError',
    '-Djava.awt.headless=true',
    ...extraJvmOpts(),
    ...(opts.extras?.jvmArgs ?? []),
    opts.marker,
    ...logging,
    '-cp',
    [opts.jarDir, ...(opts.extras?.classpath ?? [])].map((d) => join(d, '*')).join(':'),
    opts.mainClass,
    ...opts.args,
  ];
}

/** A KRaft cluster id: 16 random bytes, base64url without padding, never starting with '-'. */
export function newClusterId(random: (n: number) => Buffer): string {
  for (;;) {
    const id = random(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}
