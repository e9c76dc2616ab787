// The generated broker and ZooKeeper configuration of the local supervisor: the settings that
// make a local cluster production-like (replication, min ISR) and fast (timeouts), per mode.
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  clientProperties,
  jvmArgs,
  kraftBrokerProps,
  scramFormatArgs,
  unsecuredJwt,
  type SecuredListener,
  markerProp,
  newClusterId,
  renderProps,
  zkBrokerProps,
  zooCfg,
  type BrokerPlan,
  type ZkPlan,
} from '#local/kafka/config.js';
import { procState } from '#local/kafka/processes.js';

const voters: BrokerPlan[] = [1, 2, 3].map((id) => ({
  id,
  port: 9000 + id,
  controllerPort: 9100 + id,
  dir: `/w/broker-${id}`,
  dataDir: `/w/broker-${id}/data`,
}));
const brokerOnly: BrokerPlan = { id: 4, port: 9004, dir: '/w/broker-4', dataDir: '/w/broker-4/data' };
const zk: ZkPlan[] = [1, 2, 3].map((id) => ({
  id,
  clientPort: 2180 + id,
  peerPort: 2880 + id,
  electionPort: 3880 + id,
  dir: `/w/zk-${id}`,
}));

describe('KRaft broker properties', () => {
  const p = kraftBrokerProps(voters[0] as BrokerPlan, voters);

  it('makes a combined broker+controller voter with a static quorum and distinct listeners', () => {
    expect(p['process.roles']).toBe('broker,controller');
    expect(p['node.id']).toBe('1');
    expect(p['controller.quorum.voters']).toBe('1@127.0.0.1:9101,2@127.0.0.1:9102,3@127.0.0.1:9103');
    expect(p.listeners).toBe('PLAINTEXT://127.0.0.1:9001,CONTROLLER://127.0.0.1:9101');
    expect(p['advertised.listeners']).toBe('PLAINTEXT://127.0.0.1:9001');
    expect(p['controller.listener.names']).toBe('CONTROLLER');
    expect(p['inter.broker.listener.name']).toBe('PLAINTEXT');
    expect(p['log.dirs']).toBe('/w/broker-1/data');
  });

  it('replicates like production and times out like a test', () => {
    expect(p['default.replication.factor']).toBe('3');
    expect(p['min.insync.replicas']).toBe('2');
    expect(p['offsets.topic.replication.factor']).toBe('3');
    expect(p['transaction.state.log.min.isr']).toBe('2');
    expect(p['auto.create.topics.enable']).toBe('false');
    expect(p['broker.session.timeout.ms']).toBe('3000');
    expect(Number(p['broker.heartbeat.interval.ms'])).toBeLessThan(Number(p['broker.session.timeout.ms']));
    // replica.lag.time.max.ms must stay >= replica.fetch.wait.max.ms (default 500)
    expect(Number(p['replica.lag.time.max.ms'])).toBeGreaterThanOrEqual(500);
  });

  it('makes nodes beyond the three voters broker-only, still pointing at the quorum', () => {
    const b = kraftBrokerProps(brokerOnly, voters);
    expect(b['process.roles']).toBe('broker');
    expect(b.listeners).toBe('PLAINTEXT://127.0.0.1:9004');
    expect(b['controller.quorum.voters']).toBe('1@127.0.0.1:9101,2@127.0.0.1:9102,3@127.0.0.1:9103');
  });
});

describe('ZooKeeper mode', () => {
  it('points brokers at the whole ensemble under a chroot, with no KRaft settings', () => {
    const p = zkBrokerProps(voters[1] as BrokerPlan, zk, 'kafka-heal');
    expect(p['broker.id']).toBe('2');
    expect(p['zookeeper.connect']).toBe('127.0.0.1:2181,127.0.0.1:2182,127.0.0.1:2183/kafka-heal');
    expect(p['process.roles']).toBeUndefined();
    expect(p['min.insync.replicas']).toBe('2');
  });

  it('writes a 3-server zoo.cfg on loopback without AdminServer and with the 4lw commands the supervisor uses', () => {
    const c = zooCfg(zk[2] as ZkPlan, zk);
    expect(c['server.1']).toBe('127.0.0.1:2881:3881');
    expect(c['server.3']).toBe('127.0.0.1:2883:3883');
    expect(c.clientPort).toBe('2183');
    expect(c.clientPortAddress).toBe('127.0.0.1');
    expect(c['admin.enableServer']).toBe('false');
    expect(c['4lw.commands.whitelist']).toContain('srvr');
    expect(c.dataDir).toBe('/w/zk-3/data');
  });
});

describe('files and command lines', () => {
  it('renders properties one per line', () => {
    expect(renderProps({ a: '1', 'b.c': 'x=y' })).toBe('a=1\nb.c=x=y\n');
  });

  it('builds a JVM command line with the marker, heap, logging config per mode and the main class last', () => {
    const k = jvmArgs({
      jarDir: '/j',
      mode: 'kraft',
      heap: ['-Xmx1m'],
      marker: markerProp('c', 'broker-1'),
      logConfig: '/w/log4j2.xml',
      mainClass: 'kafka.Kafka',
      args: ['/w/s.properties'],
    });
    expect(k).toContain('-Dkafka-heal.node=c/broker-1');
    expect(k).toContain('-Dlog4j2.configurationFile=/w/log4j2.xml');
    expect(k.slice(-4)).toEqual(['-cp', '/j/*', 'kafka.Kafka', '/w/s.properties']);
    const z = jvmArgs({
      jarDir: '/j',
      mode: 'zookeeper',
      heap: [],
      marker: 'm',
      logConfig: '/w/log4j.properties',
      mainClass: 'Z',
      args: [],
    });
    expect(z).toContain('-Dlog4j.configuration=file:/w/log4j.properties');
  });

  it("adds a node's extras: JVM flags (a java agent) before the marker and classpath folders after the jar set", () => {
    const z = jvmArgs({
      jarDir: '/j',
      mode: 'zookeeper',
      heap: [],
      marker: 'm',
      logConfig: '/w/log4j.properties',
      mainClass: 'Z',
      args: ['/w/zoo.cfg'],
      extras: { jvmArgs: ['-javaagent:/a.jar=127.0.0.1:7071:/c.yml'], classpath: ['/p'] },
    });
    expect(z.indexOf('-javaagent:/a.jar=127.0.0.1:7071:/c.yml')).toBeLessThan(z.indexOf('m'));
    expect(z.slice(-4)).toEqual(['-cp', '/j/*:/p/*', 'Z', '/w/zoo.cfg']);
  });

  it('makes 22-character base64url cluster ids that never start with a dash', () => {
    let calls = 0;
    // First draw starts with '-' (0xfb... encodes to "-"), the second does not.
    const id = newClusterId((n) => (calls++ === 0 ? Buffer.alloc(n, 0xfb) : Buffer.alloc(n, 0x01)));
    expect(calls).toBe(2);
    expect(id).toMatch(/^[A-Za-z0-9_][A-Za-z0-9_-]{21}$/);
    for (let i = 0; i < 200; i++) expect(newClusterId(randomBytes)).toMatch(/^[A-Za-z0-9_][A-Za-z0-9_-]{21}$/);
  });
});

describe('process state from /proc', () => {
  it('sees this process running and an impossible pid as dead', () => {
    expect(procState(process.pid)).toBe('running');
    expect(procState(undefined)).toBe('dead');
    expect(procState(2 ** 22 + 1)).toBe('dead');
  });
});

describe('secured listeners (KRaft)', () => {
  const plan: BrokerPlan = { ...(voters[0] as BrokerPlan), securedPort: 9201, expiredPort: 9301 };
  const files = {
    keystore: '/c/broker-keystore.pem',
    expiredKeystore: '/c/expired-keystore.pem',
    truststore: '/c/ca.pem',
    username: 'kafka-heal',
    password: 'pw',
  };
  const secured = (o: Partial<SecuredListener>): SecuredListener => ({
    protocol: 'SASL_SSL',
    mechanism: 'SCRAM-SHA-512',
    ...files,
    ...o,
  });

  it('adds a SECURED and an EXPIRED listener beside PLAINTEXT, which keeps inter-broker and controller traffic', () => {
    const p = kraftBrokerProps(plan, voters, secured({ reauthMs: 8000 }));
    expect(p.listeners).toBe(
      'PLAINTEXT://127.0.0.1:9001,CONTROLLER://127.0.0.1:9101,SECURED://127.0.0.1:9201,EXPIRED://127.0.0.1:9301',
    );
    expect(p['advertised.listeners']).toBe(
      'PLAINTEXT://127.0.0.1:9001,SECURED://127.0.0.1:9201,EXPIRED://127.0.0.1:9301',
    );
    expect(p['listener.security.protocol.map']).toBe(
      'PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,SECURED:SASL_SSL,EXPIRED:SASL_SSL',
    );
    expect(p['inter.broker.listener.name']).toBe('PLAINTEXT');
    expect(p).toMatchObject({
      'listener.name.secured.ssl.keystore.type': 'PEM',
      'listener.name.secured.ssl.keystore.location': '/c/broker-keystore.pem',
      'listener.name.expired.ssl.keystore.location': '/c/expired-keystore.pem',
      'listener.name.secured.ssl.truststore.location': '/c/ca.pem',
      'listener.name.secured.ssl.client.auth': 'none',
      'listener.name.secured.sasl.enabled.mechanisms': 'SCRAM-SHA-512',
      'listener.name.secured.scram-sha-512.sasl.jaas.config':
        'org.apache.kafka.common.security.scram.ScramLoginModule required;',
      'listener.name.secured.scram-sha-512.connections.max.reauth.ms': '8000',
    });
    expect(kraftBrokerProps(plan, voters)['listeners']).toBe('PLAINTEXT://127.0.0.1:9001,CONTROLLER://127.0.0.1:9101');
  });

  it('mTLS requires client certificates; SASL_PLAINTEXT has no TLS settings and no EXPIRED listener; PLAIN and OAUTHBEARER have their login modules', () => {
    expect(
      kraftBrokerProps(plan, voters, secured({ protocol: 'SSL', mechanism: undefined, clientAuth: true }))[
        'listener.name.secured.ssl.client.auth'
      ],
    ).toBe('required');
    const plain = kraftBrokerProps(plan, voters, secured({ protocol: 'SASL_PLAINTEXT', mechanism: 'PLAIN' }));
    expect(plain.listeners).not.toContain('EXPIRED');
    expect(Object.keys(plain).some((k) => k.includes('.ssl.'))).toBe(false);
    expect(plain['listener.name.secured.plain.sasl.jaas.config']).toBe(
      'org.apache.kafka.common.security.plain.PlainLoginModule required user_kafka-heal="pw";',
    );
    expect(
      kraftBrokerProps(plan, voters, secured({ mechanism: 'OAUTHBEARER' }))[
        'listener.name.secured.oauthbearer.sasl.jaas.config'
      ],
    ).toContain('OAuthBearerLoginModule required unsecuredLoginStringClaim_sub="kafka-broker";');
  });

  it("SCRAM users at format time; the CLI tools' client properties; unsigned JWTs", () => {
    expect(scramFormatArgs(secured({}))).toEqual(['--add-scram', 'SCRAM-SHA-512=[name=kafka-heal,password=pw]']);
    expect(scramFormatArgs(secured({ mechanism: 'PLAIN' }))).toEqual([]);
    expect(scramFormatArgs(undefined)).toEqual([]);
    expect(clientProperties(secured({}))).toEqual({
      'security.protocol': 'SASL_SSL',
      'ssl.truststore.type': 'PEM',
      'ssl.truststore.location': '/c/ca.pem',
      'sasl.mechanism': 'SCRAM-SHA-512',
      'sasl.jaas.config':
        'org.apache.kafka.common.security.scram.ScramLoginModule required username="kafka-heal" password="pw";',
    });
    expect(
      clientProperties(secured({ protocol: 'SSL', mechanism: undefined, clientAuth: true }), {
        keystore: '/c/client-keystore.pem',
      }),
    ).toMatchObject({ 'ssl.keystore.type': 'PEM', 'ssl.keystore.location': '/c/client-keystore.pem' });
    const jwt = unsecuredJwt('kafka-heal', Date.parse('2026-01-01T00:00:00Z'), 3_600_000);
    const [header, payload, signature] = jwt.split('.');
    expect(JSON.parse(Buffer.from(header as string, 'base64url').toString())).toEqual({ alg: 'none' });
    expect(JSON.parse(Buffer.from(payload as string, 'base64url').toString())).toEqual({
      sub: 'kafka-heal',
      iat: 1767225600,
      exp: 1767229200,
    });
    expect(signature).toBe('');
  });
});
