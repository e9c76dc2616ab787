// The probe's TLS and SASL handling without a JVM: a fake broker (test/support/fake-broker.ts) over
// TCP or TLS with certificates made by the local runtime (local/kafka/tls.ts), and the SCRAM and
// OAUTHBEARER exchanges against their RFC test vectors. What matters most: a refusal of the probe's
// TLS handshake or credentials is its own outcome (auth-failed / tls-failed) and never "down".
// Real Kafka: test/integration/probe-secured.test.ts.
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { describeProblems, probeCluster, type ProbeOptions } from '#shared/probe/index.js';
import { verdict } from '#shared/probe/analyze.js';
import { authenticate, oauthBearerClientFirst, ScramClient } from '#shared/probe/sasl.js';
import { BrokerConnection, TlsHandshakeError } from '#shared/probe/wire.js';
import { makeLocalCertificates, type LocalCertificates } from '#local/kafka/tls.js';
import { startFakeBroker, type FakeBroker } from '../support/fake-broker.js';

let certs: LocalCertificates;
const NOW = Date.now();
const pem = (file: string) => readFileSync(file, 'utf8');
const brokers: FakeBroker[] = [];
const servers: Server[] = [];

beforeAll(() => {
  certs = makeLocalCertificates(join(mkdtempSync(join(tmpdir(), 'kh-tls-')), 'certs'), { now: NOW });
});

afterEach(async () => {
  await Promise.all(brokers.splice(0).map((b) => b.close()));
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

async function broker(opts: Parameters<typeof startFakeBroker>[0] = {}): Promise<FakeBroker> {
  const b = await startFakeBroker(opts);
  brokers.push(b);
  return b;
}

function probe(b: { port: number }, extra: Partial<ProbeOptions> = {}) {
  return probeCluster({
    bootstrapServers: [`127.0.0.1:${b.port}`],
    timeoutMs: 3000,
    expectedBrokers: 1,
    now: () => NOW,
    ...extra,
  });
}

const plain = (user: string, password: string) => ({
  mechanism: 'PLAIN',
  answer: (_round: number, bytes: Buffer): { error: string } | { bytes?: Buffer } =>
    bytes.toString() === `\u0000${user}\u0000${password}`
      ? {}
      : { error: 'Authentication failed: Invalid username or password' },
});

describe('SASL against a fake broker', () => {
  it('PLAIN with the right password: healthy, and the probe authenticates before anything but ApiVersions', async () => {
    const b = await broker({ sasl: plain('kafka-heal', 'secret') });
    const s = await probe(b, {
      security: { sasl: { mechanism: 'PLAIN', username: 'kafka-heal', password: 'secret' } },
    });
    expect(s.status).toBe('healthy');
    expect(s.security).toEqual({ tls: false, sasl: 'PLAIN', refused: [], certificates: [], minDaysToExpiry: null });
    expect(b.requests.slice(0, 3).map((r) => r.apiKey)).toEqual([18, 17, 36]);
  });

  it('PLAIN with a wrong password: auth-failed, the broker counted as answering, never down; no secret in the text', async () => {
    const b = await broker({ sasl: plain('kafka-heal', 'secret') });
    const s = await probe(b, {
      security: { sasl: { mechanism: 'PLAIN', username: 'kafka-heal', password: 'wrong-password' } },
    });
    expect(s.status).toBe('auth-failed');
    expect(s.bootstrapReachable).toBe(true);
    expect(s.security?.refused).toEqual([
      {
        server: `127.0.0.1:${b.port}`,
        outcome: 'auth-failed',
        error: expect.stringContaining('Invalid username or password'),
      },
    ]);
    expect(describeProblems(s)[0]).toMatch(/^auth-failed: SASL PLAIN with 127\.0\.0\.1:\d+ refused/);
    expect(JSON.stringify(s)).not.toContain('wrong-password');
  });

  it('a mechanism the listener does not enable: auth-failed naming what it enables', async () => {
    const b = await broker({ sasl: plain('u', 'p') });
    const s = await probe(b, { security: { sasl: { mechanism: 'SCRAM-SHA-512', username: 'u', password: 'p' } } });
    expect(s.status).toBe('auth-failed');
    expect(s.errors.join('\n')).toContain('does not enable SCRAM-SHA-512 (it enables PLAIN)');
  });

  it('a plaintext probe of a SASL listener is closed before the metadata: not auth-failed, and the listener is not read as healthy', async () => {
    const b = await broker({ sasl: plain('u', 'p') });
    const s = await probe(b);
    expect(s.status).toBe('unknown');
    expect(s.security).toBeUndefined();
  });

  it('OAUTHBEARER: the RFC 7628 framing on the wire; a refused token comes back as a JSON challenge, answered with %x01', async () => {
    const b = await broker({
      sasl: {
        mechanism: 'OAUTHBEARER',
        answer: (round, bytes) =>
          round === 0 && bytes.toString().includes('good-token')
            ? {}
            : round === 0
              ? { bytes: Buffer.from('{"status":"invalid_token"}') }
              : {
                  error:
                    'Authentication failed during authentication due to invalid credentials with SASL mechanism OAUTHBEARER',
                },
      },
    });
    const ok = await probe(b, {
      security: {
        sasl: {
          mechanism: 'OAUTHBEARER',
          token: () => Promise.resolve('good-token'),
          extensions: { logicalCluster: 'lkc-1' },
        },
      },
    });
    expect(ok.status).toBe('healthy');
    expect(b.requests.find((r) => r.apiKey === 36)?.authBytes?.toString()).toBe(
      'n,,\u0001auth=Bearer good-token\u0001logicalCluster=lkc-1\u0001\u0001',
    );
    const bad = await probe(b, {
      security: { sasl: { mechanism: 'OAUTHBEARER', token: () => Promise.resolve('expired-token') } },
    });
    expect(bad.status).toBe('auth-failed');
    expect(bad.errors.join('\n')).toContain('{"status":"invalid_token"}');
    expect(b.requests.filter((r) => r.apiKey === 36).at(-1)?.authBytes).toEqual(Buffer.from([1]));
    const noToken = await probe(b, {
      security: {
        sasl: { mechanism: 'OAUTHBEARER', token: () => Promise.reject(new Error('the token endpoint answered 503')) },
      },
    });
    expect(noToken.status).toBe('auth-failed');
    expect(noToken.errors.join('\n')).toContain('no token: the token endpoint answered 503');
  });

  it('credentials that cannot be loaded: auth-failed (or tls-failed for TLS material) without a connection; bootstrapReachable stays false', async () => {
    const b = await broker({ sasl: plain('u', 'p') });
    const s = await probe(b, {
      security: () =>
        Promise.reject(new Error('AccessDeniedException: not authorized to perform secretsmanager:GetSecretValue')),
    });
    expect(s.status).toBe('auth-failed');
    expect(s.bootstrapReachable).toBe(false);
    expect(b.requests).toEqual([]);
    expect(s.security?.refused[0]).toMatchObject({
      server: 'probe credentials',
      outcome: 'auth-failed',
      error: expect.stringContaining('could not load its credentials: AccessDeniedException'),
    });
    const t = await probe(b, {
      security: () => Promise.reject(new TlsHandshakeError('CA bundle secret kafka/ca is not PEM')),
    });
    expect(t.status).toBe('tls-failed');
    expect(t.errors[0]).toContain('could not load its TLS material');
  });

  it('re-authenticates when the broker gives the session a lifetime, holding requests back meanwhile', async () => {
    const b = await broker({ sasl: { ...plain('u', 'p'), sessionLifetimeMs: 300 } });
    const conn = await BrokerConnection.open('127.0.0.1', b.port, 1000);
    try {
      const sasl = { mechanism: 'PLAIN' as const, username: 'u', password: 'p' };
      const lifetime = await authenticate(conn, (...a) => conn.send(...a), sasl, 1000);
      expect(lifetime).toBe(300);
      conn.whenReauthenticationDue(lifetime, (send) => authenticate(conn, send, sasl, 1000));
      await new Promise((r) => setTimeout(r, 700));
      // Two re-authentications at 85% of 300 ms, then a request on the same session still works.
      expect(b.requests.filter((r) => r.apiKey === 17).length).toBeGreaterThanOrEqual(3);
      const meta = await conn.request(3, 5, Buffer.from([255, 255, 255, 255, 0]), 1000);
      expect(meta.int32()).toBe(0);
    } finally {
      conn.close();
    }
  });
});

describe('SCRAM (RFC 5802 / RFC 7677)', () => {
  // RFC 7677 section 3: user "user", password "pencil".
  const nonce = 'rOprNGfwEbeRWgbNEkqO';
  const serverFirst = 'r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096';

  it('produces the RFC 7677 client messages and accepts its server signature', () => {
    const c = new ScramClient('SCRAM-SHA-256', 'user', 'pencil', nonce);
    expect(c.clientFirst().toString()).toBe('n,,n=user,r=rOprNGfwEbeRWgbNEkqO');
    expect(c.clientFinal(Buffer.from(serverFirst)).toString()).toBe(
      'c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=',
    );
    expect(() => c.verifyServerFinal(Buffer.from('v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4='))).not.toThrow();
  });

  it('refuses a server that does not know the password, a foreign nonce, too few iterations, an error or a mandatory extension', () => {
    const c = new ScramClient('SCRAM-SHA-256', 'user', 'pencil', nonce);
    c.clientFinal(Buffer.from(serverFirst));
    expect(() => c.verifyServerFinal(Buffer.from('v=AAAATRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4='))).toThrow(
      'server signature does not match',
    );
    expect(() => c.verifyServerFinal(Buffer.from('e=invalid-proof'))).toThrow(
      'the server ended the exchange: invalid-proof',
    );
    expect(() =>
      new ScramClient('SCRAM-SHA-256', 'user', 'pencil', nonce).verifyServerFinal(Buffer.from('v=x')),
    ).toThrow('before the client-final');
    const fresh = () => new ScramClient('SCRAM-SHA-512', 'user', 'pencil', nonce);
    expect(() => fresh().clientFinal(Buffer.from('r=someone-else,s=QQ==,i=4096'))).toThrow(
      'does not extend the client nonce',
    );
    expect(() => fresh().clientFinal(Buffer.from(`r=${nonce}x,s=QQ==,i=1024`))).toThrow(
      '1024 iterations, fewer than 4096',
    );
    expect(() => fresh().clientFinal(Buffer.from(`m=ext,r=${nonce}x,s=QQ==,i=4096`))).toThrow(
      'mandatory SCRAM extension',
    );
    expect(() => fresh().clientFinal(Buffer.from('hello'))).toThrow('not SCRAM');
  });

  it('escapes = and , in the user name', () => {
    expect(new ScramClient('SCRAM-SHA-512', 'a=b,c', 'p', 'n').clientFirst().toString()).toBe('n,,n=a=3Db=2Cc,r=n');
  });

  it('a SCRAM exchange with a broker that does not hold the password is auth-failed (the server signature is checked)', async () => {
    const b = await broker({
      sasl: {
        mechanism: 'SCRAM-SHA-512',
        answer: (round, bytes) =>
          round === 0
            ? { bytes: Buffer.from(`r=${/r=([^,]+)/.exec(bytes.toString())?.[1] ?? ''}srv,s=QQ==,i=4096`) }
            : { bytes: Buffer.from('v=bm90IHRoZSBzaWduYXR1cmU=') },
      },
    });
    const s = await probe(b, { security: { sasl: { mechanism: 'SCRAM-SHA-512', username: 'u', password: 'p' } } });
    expect(s.status).toBe('auth-failed');
    expect(s.errors.join('\n')).toContain('server signature does not match');
  });

  it('OAUTHBEARER framing without extensions', () => {
    expect(oauthBearerClientFirst('t').toString()).toBe('n,,\u0001auth=Bearer t\u0001\u0001');
  });
});

describe('TLS against a fake broker', () => {
  const tlsBroker = (cert: 'broker' | 'expired', extra: Record<string, unknown> = {}) =>
    broker({ tls: { key: pem(join(certs.dir, `${cert}.key`)), cert: pem(join(certs.dir, `${cert}.pem`)), ...extra } });

  it('a trusted certificate: healthy, with the certificate and its days to expiry', async () => {
    const b = await tlsBroker('broker');
    const s = await probe(b, { security: { tls: { ca: pem(certs.ca) } } });
    expect(s.status).toBe('healthy');
    expect(s.security?.tls).toBe(true);
    expect(s.security?.certificates).toEqual([
      {
        server: `127.0.0.1:${b.port}`,
        brokerId: 1,
        subject: 'CN=localhost',
        notAfter: new Date(certs.brokerNotAfter).toISOString(),
        daysToExpiry: expect.closeTo(45, 0),
      },
    ]);
    expect(s.security?.minDaysToExpiry).toBeCloseTo(45, 0);
  });

  it('a certificate from an untrusted CA: tls-failed, the broker counted as answering, the certificate still read', async () => {
    const b = await tlsBroker('broker');
    const s = await probe(b, { security: { tls: { ca: pem(certs.untrustedCa) } } });
    expect(s.status).toBe('tls-failed');
    expect(s.bootstrapReachable).toBe(true);
    expect(s.security?.refused[0]?.error).toMatch(/not accepted: the certificate does not chain to a trusted CA/);
    expect(s.security?.certificates).toHaveLength(1);
  });

  it('an expired certificate: tls-failed, with negative days to expiry', async () => {
    const b = await tlsBroker('expired');
    const s = await probe(b, { security: { tls: { ca: pem(certs.ca) } } });
    expect(s.status).toBe('tls-failed');
    expect(s.security?.refused[0]?.error).toMatch(/certificate has expired/i);
    expect(s.security?.minDaysToExpiry).toBeLessThan(0);
    expect(describeProblems(s).join('\n')).toMatch(/certificate of 127\.0\.0\.1:\d+ expired/);
  });

  it('a certificate for another name than serverName: tls-failed', async () => {
    const b = await tlsBroker('broker');
    const s = await probe(b, { security: { tls: { ca: pem(certs.ca), serverName: 'kafka.example.com' } } });
    expect(s.status).toBe('tls-failed');
    expect(s.errors.join('\n')).toMatch(/kafka\.example\.com/);
  });

  it('mTLS: a broker that requires a client certificate refuses a probe without one (tls-failed) and accepts the right one', async () => {
    const b = await tlsBroker('broker', { requestCert: true, rejectUnauthorized: true, ca: pem(certs.ca) });
    const none = await probe(b, { security: { tls: { ca: pem(certs.ca) } } });
    expect(none.status).toBe('tls-failed');
    const rogue = await probe(b, {
      security: {
        tls: { ca: pem(certs.ca), cert: pem(certs.untrustedClientCert), key: pem(certs.untrustedClientKey) },
      },
    });
    expect(rogue.status).toBe('tls-failed');
    const ok = await probe(b, {
      security: { tls: { ca: pem(certs.ca), cert: pem(certs.clientCert), key: pem(certs.clientKey) } },
    });
    expect(ok.status).toBe('healthy');
  });

  it('TLS to a listener that does not speak TLS: tls-failed, not down', async () => {
    const b = await broker();
    const s = await probe(b, { security: { tls: { ca: pem(certs.ca) } } });
    expect(s.status).toBe('tls-failed');
    expect(s.bootstrapReachable).toBe(true);
  });

  it('a reset with no TLS word is a refusal only when nothing let the probe in (else a broker dying mid-handshake)', async () => {
    const good = await tlsBroker('broker');
    const resetting = await broker();
    const s = await probe(good, {
      bootstrapServers: [`127.0.0.1:${resetting.port}`, `127.0.0.1:${good.port}`],
      security: { tls: { ca: pem(certs.ca) } },
    });
    expect(s.security?.refused).toEqual([]);
    expect(s.status).not.toBe('tls-failed');
    const alone = await probe(resetting, { security: { tls: { ca: pem(certs.ca) } } });
    expect(alone.status).toBe('tls-failed');
    expect(alone.security?.refused[0]?.error).toMatch(/TLS handshake with 127\.0\.0\.1:\d+ broken off/);
  });

  it('a plaintext probe of a TLS listener (it closes without a word): tls-failed, not down', async () => {
    const b = await tlsBroker('broker');
    const s = await probe(b);
    expect(s.status).toBe('tls-failed');
    expect(s.errors.join('\n')).toContain('the listener expects TLS (check security.protocol)');
  });

  it('a listener that accepts TCP and never completes the handshake (a hung broker) is down, not tls-failed', async () => {
    const held: Socket[] = [];
    const server = createServer((sock) => held.push(sock));
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const port = (server.address() as { port: number }).port;
    const s = await probe({ port }, { security: { tls: { ca: pem(certs.ca) } }, timeoutMs: 1500 });
    held.forEach((x) => x.destroy());
    expect(s.status).toBe('down');
    expect(s.errors.join('\n')).toContain('no TLS handshake');
  });
});

describe('verdict with refusals', () => {
  const base = {
    bootstrapReachable: true,
    metadataRead: true,
    registeredBrokers: [1],
    brokers: [{ id: 1, host: 'h', port: 1, registered: true, reachable: true }],
    partitions: { total: 0, offline: 0, underReplicated: 0, underMinIsr: 0, details: [] },
    errors: [],
  };
  it('a refusal is the verdict unless the probe saw something really wrong; TLS outranks SASL', () => {
    expect(verdict({ ...base, refused: ['auth-failed'] })).toBe('auth-failed');
    expect(verdict({ ...base, refused: ['auth-failed', 'tls-failed'] })).toBe('tls-failed');
    expect(verdict({ ...base, metadataRead: false, refused: ['auth-failed'] })).toBe('auth-failed');
    expect(verdict({ ...base, bootstrapReachable: false, refused: ['tls-failed'] })).toBe('tls-failed');
    expect(verdict({ ...base, refused: ['auth-failed'], partitions: { ...base.partitions, underReplicated: 1 } })).toBe(
      'degraded',
    );
    expect(verdict({ ...base, bootstrapReachable: false })).toBe('down');
  });
});
