// The probe (and the cluster steps' kafkajs clients) against real Kafka with secured listeners:
// SSL, mTLS, SASL_SSL with SCRAM-SHA-512, and SASL_SSL with OAUTHBEARER (Kafka's unsecured JWS
// validator). Each mode is one 3-broker KRaft cluster (local/kafka/cluster.ts `security`), started
// in turn: healthy, one broker crashed, wrong credentials -> auth-failed, untrusted or expired
// certificate -> tls-failed, never down, and the certificates' days to expiry. Figures print with a
// "[secured-figures]" prefix.
import { readFileSync } from 'node:fs';
import kafkajs from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClusterSnapshot } from '#domain/snapshot.js';
import { probeMetricDocuments } from '#functions/probe/metrics.js';
import { kafkajsSecurity } from '#shared/kafka-security.js';
import {
  connectBroker,
  describeProblems,
  mskIamTokenProvider,
  probeCluster,
  type ProbeSecurity,
} from '#shared/probe/index.js';
import { apiVersions, REQUEST_VERSIONS } from '#shared/probe/requests.js';
import { API } from '#shared/probe/wire.js';
import { startCluster, type LocalCluster, type LocalSecurityOptions } from '#local/kafka/cluster.js';

const TIMEOUT_MS = 5000;
const pem = (f: string) => readFileSync(f, 'utf8');

function probe(
  c: LocalCluster,
  security: ProbeSecurity,
  servers = c.security?.bootstrapServers ?? '',
): Promise<ClusterSnapshot> {
  return probeCluster({ bootstrapServers: servers.split(','), expectedBrokers: 3, timeoutMs: TIMEOUT_MS, security });
}

/** What every refused snapshot must say: the listeners answered, nothing is down, no broker alarm can follow. */
function expectRefused(s: ClusterSnapshot, outcome: 'auth-failed' | 'tls-failed'): void {
  expect(s.status, JSON.stringify(s.errors)).toBe(outcome);
  expect(s.bootstrapReachable).toBe(true);
  expect(s.security?.refused.length).toBe(3);
  expect(s.security?.refused.every((r) => r.outcome === outcome)).toBe(true);
  const docs = probeMetricDocuments('it', s, [1, 2, 3]);
  expect(docs.filter((d) => 'Broker ID' in d.dimensions)).toEqual([]);
  const cluster = Object.fromEntries(docs[0]?.metrics.map((m) => [m.name, m.value]) ?? []);
  expect(cluster).toMatchObject({
    ClusterReachable: 1,
    [outcome === 'auth-failed' ? 'ProbeAuthFailures' : 'ProbeTlsFailures']: 3,
  });
  expect(cluster).not.toHaveProperty('UnreachableBrokers');
}

/** A cluster of one security mode for a describe block; `shared` is filled in beforeAll. */
function secured(name: string, security: LocalSecurityOptions): { c: () => LocalCluster } {
  let cluster: LocalCluster | undefined;
  beforeAll(async () => {
    cluster = await startCluster({ name, brokers: 3, diskLimitMb: 0, security, log: () => undefined });
  }, 240_000);
  afterAll(async () => {
    await cluster?.stop();
  }, 60_000);
  return {
    c: () => {
      if (!cluster) throw new Error('cluster not started');
      return cluster;
    },
  };
}

/**
 * Brings a crashed broker back and waits until the probe, through the secured listener, says
 * healthy: the harness's own health check reads the PLAINTEXT listener, and a broker restarted
 * within broker.session.timeout.ms is still listed under its old registration before its new
 * process serves anything.
 */
async function restart(c: LocalCluster, broker: number): Promise<void> {
  await c.fault('start', broker);
  await c.waitHealthy(120_000);
  const until = Date.now() + 120_000;
  for (;;) {
    const s = await probe(c, c.security?.probeSecurity() ?? {});
    if (s.status === 'healthy') return;
    if (Date.now() > until)
      throw new Error(
        `not healthy through the secured listener after a restart: ${s.status} ${JSON.stringify(s.errors)}`,
      );
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** Crashes a broker, waits until the metadata no longer lists it (its listeners closed for sure), checks a probe. */
async function crashed(c: LocalCluster, broker: number, check: (s: ClusterSnapshot) => void): Promise<void> {
  await c.fault('crash', broker);
  try {
    await c.waitUnregistered(broker, 30_000);
    const s = await probe(c, c.security?.probeSecurity() ?? {});
    expect(s.status).toBe('degraded');
    expect(s.brokers.find((b) => b.id === broker)).toMatchObject({ registered: false, reachable: false });
    expect(s.security?.refused).toEqual([]);
    check(s);
  } finally {
    await restart(c, broker);
  }
}

/** kafkajs with the same settings as the cluster steps (DR backup and canary) lists the topics. */
async function kafkajsLists(c: LocalCluster): Promise<string[]> {
  const admin = new kafkajs.Kafka({
    clientId: 'kafka-heal-it',
    brokers: (c.security?.bootstrapServers ?? '').split(','),
    logLevel: kafkajs.logLevel.NOTHING,
    retry: { retries: 1 },
    ...kafkajsSecurity(c.security?.probeSecurity()),
  }).admin();
  await admin.connect();
  try {
    return await admin.listTopics();
  } finally {
    await admin.disconnect();
  }
}

describe('SASL_SSL with SCRAM-SHA-512', () => {
  // Sessions last 8 s: the probe's and kafkajs's connections must re-authenticate to live longer.
  const { c } = secured('it-sec-scram', { protocol: 'SASL_SSL', mechanism: 'SCRAM-SHA-512', reauthMs: 8000 });

  it('healthy, through SaslHandshake and SaslAuthenticate versions every broker serves', async () => {
    const t = Date.now();
    const s = await probe(c(), c().security?.probeSecurity() ?? {});
    console.log(`[secured-figures] SASL_SSL/SCRAM-SHA-512 probe: ${s.durationMs} ms (${Date.now() - t} ms wall)`);
    expect(s.status, JSON.stringify(s.errors)).toBe('healthy');
    expect(s.security).toMatchObject({ tls: true, sasl: 'SCRAM-SHA-512', refused: [] });
    // DescribeQuorum (a flexible request version) over the same authenticated TLS session.
    expect(s.quorum, s.quorum?.note).toMatchObject({ state: 'led' });
    const conn = await connectBroker(
      '127.0.0.1',
      Number((c().security?.bootstrapServers ?? '').split(',')[0]?.split(':')[1]),
      TIMEOUT_MS,
      c().security?.probeSecurity(),
    );
    try {
      const apis = (await apiVersions(conn, TIMEOUT_MS)).apis;
      for (const key of [API.SaslHandshake, API.SaslAuthenticate]) {
        const r = apis.find((a) => a.key === key);
        expect(
          r && r.min <= (REQUEST_VERSIONS[key] as number) && (REQUEST_VERSIONS[key] as number) <= r.max,
          `api ${key}`,
        ).toBe(true);
      }
    } finally {
      conn.close();
    }
  });

  it('a wrong password is auth-failed on every listener, not down; also with a broker crashed', async () => {
    const wrong = {
      ...c().security?.probeSecurity(),
      sasl: { mechanism: 'SCRAM-SHA-512' as const, username: 'kafka-heal', password: 'not-the-password' },
    };
    const s = await probe(c(), wrong);
    expectRefused(s, 'auth-failed');
    expect(describeProblems(s)[0]).toMatch(
      /^auth-failed: SASL SCRAM-SHA-512 with 127\.0\.0\.1:\d+ refused: Authentication failed/,
    );
    await c().fault('crash', 3);
    try {
      await c().waitUnregistered(3, 30_000);
      const both = await probe(c(), wrong);
      expect(both.status, JSON.stringify(both.errors)).toBe('auth-failed');
      expect(both.security?.refused).toHaveLength(2);
      expect(probeMetricDocuments('it', both, [1, 2, 3]).filter((d) => 'Broker ID' in d.dimensions)).toEqual([]);
    } finally {
      await restart(c(), 3);
    }
  });

  it('one broker crashed: degraded, the crashed broker down and the others authenticated', async () => {
    await crashed(c(), 2, (s) => expect(s.brokers.filter((b) => b.reachable).map((b) => b.id)).toEqual([1, 3]));
  });

  it('the expired listener: tls-failed with negative days to expiry; the good one reports its days', async () => {
    const s = await probe(c(), c().security?.probeSecurity() ?? {}, c().security?.expiredBootstrapServers);
    expectRefused(s, 'tls-failed');
    expect(s.security?.refused[0]?.error).toMatch(/certificate has expired \(CERT_HAS_EXPIRED\)/);
    expect(s.security?.minDaysToExpiry).toBeLessThan(0);
    const good = await probe(c(), c().security?.probeSecurity() ?? {});
    const expected = (c().security!.certificates.brokerNotAfter - Date.parse(good.takenAt)) / 86_400_000;
    expect(good.security?.minDaysToExpiry).toBeCloseTo(expected, 1);
    expect(good.security?.certificates.map((x) => x.brokerId).sort()).toEqual([1, 2, 3]);
    console.log(`[secured-figures] days to expiry reported: ${good.security?.minDaysToExpiry}`);
  });

  it('re-authenticates when the broker gives the session a lifetime: a connection outlives it', async () => {
    const [host, port] = (c().security?.bootstrapServers ?? '').split(',')[0]?.split(':') ?? [];
    const conn = await connectBroker(host as string, Number(port), TIMEOUT_MS, c().security?.probeSecurity());
    try {
      await new Promise((r) => setTimeout(r, 11_000));
      expect((await apiVersions(conn, TIMEOUT_MS)).errorCode).toBe(0);
      expect(conn.alive).toBe(true);
    } finally {
      conn.close();
    }
  }, 60_000);

  it("kafkajs with the cluster steps' settings (kafkajsSecurity) authenticates", async () => {
    expect(await kafkajsLists(c())).toContain('__consumer_offsets');
  });

  it('a password rotated on the brokers refuses the old one at once (auth-failed); the new one works', async () => {
    const old = c().security?.probeSecurity() ?? {};
    await c().security?.rotatePassword();
    expectRefused(await probe(c(), old), 'auth-failed');
    expect((await probe(c(), c().security?.probeSecurity() ?? {})).status).toBe('healthy');
  });
});

describe('SSL (TLS, server authentication)', () => {
  const { c } = secured('it-sec-ssl', { protocol: 'SSL' });

  it('healthy with the local CA; days to expiry of every broker', async () => {
    const s = await probe(c(), c().security?.probeSecurity() ?? {});
    console.log(`[secured-figures] SSL probe: ${s.durationMs} ms`);
    expect(s.status, JSON.stringify(s.errors)).toBe('healthy');
    expect(s.quorum, s.quorum?.note).toMatchObject({ state: 'led' });
    expect(s.security?.certificates).toHaveLength(3);
    expect(s.security?.minDaysToExpiry).toBeGreaterThan(40);
  });

  it('an untrusted CA: tls-failed; the expired listener: tls-failed; never down', async () => {
    expectRefused(await probe(c(), { tls: { ca: pem(c().security!.certificates.untrustedCa) } }), 'tls-failed');
    expectRefused(
      await probe(c(), c().security?.probeSecurity() ?? {}, c().security?.expiredBootstrapServers),
      'tls-failed',
    );
    // The system trust store does not know the local CA either.
    expectRefused(await probe(c(), { tls: {} }), 'tls-failed');
  });

  it('a plaintext probe of the TLS listener (security.protocol left out) is tls-failed, not a dead cluster', async () => {
    const s = await probeCluster({
      bootstrapServers: (c().security?.bootstrapServers ?? '').split(','),
      expectedBrokers: 3,
      timeoutMs: 3000,
    });
    expect(s.status, JSON.stringify(s.errors)).toBe('tls-failed');
    expect(s.security?.refused[0]?.error).toContain('the listener expects TLS');
    expect(s.bootstrapReachable).toBe(true);
  });

  it('one broker crashed: degraded, only that broker down', async () => {
    await crashed(c(), 1, (s) => expect(s.brokers.filter((b) => !b.reachable).map((b) => b.id)).toEqual([1]));
  });
});

describe('mTLS (SSL with client certificates required)', () => {
  const { c } = secured('it-sec-mtls', { protocol: 'SSL', clientAuth: true });

  it('healthy with the client certificate; kafkajs with it too', async () => {
    const s = await probe(c(), c().security?.probeSecurity() ?? {});
    expect(s.status, JSON.stringify(s.errors)).toBe('healthy');
    expect(await kafkajsLists(c())).toContain('__consumer_offsets');
  });

  it("no client certificate, or one from an untrusted CA: tls-failed (the broker's TLS alert), never down", async () => {
    const certs = c().security!.certificates;
    const none = await probe(c(), { tls: { ca: pem(certs.ca) } });
    expectRefused(none, 'tls-failed');
    expect(none.security?.refused[0]?.error).toMatch(/ALERT/);
    expectRefused(
      await probe(c(), {
        tls: { ca: pem(certs.ca), cert: pem(certs.untrustedClientCert), key: pem(certs.untrustedClientKey) },
      }),
      'tls-failed',
    );
  });

  it('one broker crashed: degraded, only that broker down', async () => {
    await crashed(c(), 3, (s) => expect(s.brokers.filter((b) => !b.reachable).map((b) => b.id)).toEqual([3]));
  });
});

describe('SASL_SSL with OAUTHBEARER (unsecured JWS validator)', () => {
  const { c } = secured('it-sec-oauth', { protocol: 'SASL_SSL', mechanism: 'OAUTHBEARER' });

  it("healthy with an unsigned JWT; kafkajs's OAUTHBEARER provider too", async () => {
    const s = await probe(c(), c().security?.probeSecurity() ?? {});
    expect(s.status, JSON.stringify(s.errors)).toBe('healthy');
    expect(s.security?.sasl).toBe('OAUTHBEARER');
    expect(await kafkajsLists(c())).toContain('__consumer_offsets');
  });

  it("a refused token is auth-failed, with the broker's JSON challenge", async () => {
    const s = await probe(c(), {
      ...c().security?.probeSecurity(),
      sasl: { mechanism: 'OAUTHBEARER', token: () => Promise.resolve('not.a-jwt') },
    });
    expectRefused(s, 'auth-failed');
    expect(s.security?.refused[0]?.error).toContain('{"status":"invalid_token"}');
  });

  it("AWS_MSK_IAM framing: an MSK IAM token reaches Kafka's OAUTHBEARER validator as a bearer token (refused here: only MSK validates it)", async () => {
    const token = mskIamTokenProvider({
      region: 'eu-west-1',
      credentials: () =>
        Promise.resolve({ accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' }),
    });
    const s = await probe(c(), { ...c().security?.probeSecurity(), sasl: { mechanism: 'OAUTHBEARER', token } });
    // Parsed as an OAUTHBEARER client-first message: the validator answers its invalid_token challenge, not a protocol error.
    expectRefused(s, 'auth-failed');
    expect(s.security?.refused.every((r) => r.error.includes('{"status":"invalid_token"}'))).toBe(true);
  });

  it('one broker crashed: degraded, only that broker down', async () => {
    await crashed(c(), 2, (s) => expect(s.brokers.filter((b) => !b.reachable).map((b) => b.id)).toEqual([2]));
  });
});
