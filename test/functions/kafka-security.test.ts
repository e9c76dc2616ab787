// A cluster's security reference turned into the probe's and kafkajs's settings, with the secrets
// read from Secrets Manager (mocked) at run time and cached with a TTL; an OAuth client-credentials
// grant against a token endpoint on 127.0.0.1. Refusals name the secret, never its content.
import { createServer, type Server } from 'node:http';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  SecretCache,
  clientCredentialsToken,
  kafkajsSecurity,
  securityLoader,
  type SecurityRef,
} from '#shared/kafka-security.js';
import { SaslAuthenticationError, TlsHandshakeError } from '#shared/probe/wire.js';

const sm = mockClient(SecretsManagerClient);
const CA = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
let now = 1_000_000;

beforeEach(() => {
  sm.reset();
  now = 1_000_000;
});

function secrets(values: Record<string, string>): SecretCache {
  for (const [id, v] of Object.entries(values))
    sm.on(GetSecretValueCommand, { SecretId: id }).resolves({ SecretString: v });
  return new SecretCache(new SecretsManagerClient({}), 300_000, () => now);
}

const reads = (id: string) => sm.commandCalls(GetSecretValueCommand, { SecretId: id }).length;

describe('SecretCache', () => {
  it('reads a secret once per TTL, again after it or after forget; a failed read is not kept', async () => {
    const c = secrets({ a: 'one' });
    expect(await c.get('a')).toBe('one');
    now += 299_999;
    expect(await c.get('a')).toBe('one');
    expect(reads('a')).toBe(1);
    now += 1;
    await c.get('a');
    expect(reads('a')).toBe(2);
    c.forget('a');
    await c.get('a');
    expect(reads('a')).toBe(3);
    sm.on(GetSecretValueCommand, { SecretId: 'gone' })
      .rejectsOnce(
        Object.assign(new Error('Secrets Manager can not find the specified secret'), {
          name: 'ResourceNotFoundException',
        }),
      )
      .resolves({ SecretString: 'back' });
    await expect(c.get('gone')).rejects.toThrow('can not find');
    expect(await c.get('gone')).toBe('back');
    sm.on(GetSecretValueCommand, { SecretId: 'binary' }).resolves({ SecretBinary: new Uint8Array([1]) });
    await expect(c.get('binary')).rejects.toThrow('secret binary has no string value');
  });
});

describe('securityLoader', () => {
  it('PLAINTEXT (or no reference) has no loader', () => {
    expect(securityLoader(undefined, secrets({}))).toBeUndefined();
    expect(securityLoader({ protocol: 'PLAINTEXT' }, secrets({}))).toBeUndefined();
  });

  it('SASL_SSL + SCRAM: the CA bundle, the server name and the credentials from their secrets', async () => {
    const ref: SecurityRef = {
      protocol: 'SASL_SSL',
      mechanism: 'SCRAM-SHA-512',
      credentialsSecret: 'creds',
      tls: { caSecret: 'ca', serverName: 'kafka.example.com' },
    };
    const loader = securityLoader(ref, secrets({ creds: '{"username":"kafka-heal","password":"s3cret"}', ca: CA }));
    expect(await loader?.load()).toEqual({
      tls: { ca: CA, serverName: 'kafka.example.com' },
      sasl: { mechanism: 'SCRAM-SHA-512', username: 'kafka-heal', password: 's3cret' },
    });
    await loader?.load();
    expect(reads('creds')).toBe(1);
    loader?.forget();
    await loader?.load();
    expect(reads('creds')).toBe(2);
    expect(reads('ca')).toBe(2);
  });

  it('SSL with the system trust store and an mTLS client certificate', async () => {
    const loader = securityLoader(
      { protocol: 'SSL', tls: { clientCertificateSecret: 'cert' } },
      secrets({ cert: '{"certificate":"C","privateKey":"K","passphrase":"P"}' }),
    );
    expect(await loader?.load()).toEqual({ tls: { cert: 'C', key: 'K', passphrase: 'P' } });
    expect(await securityLoader({ protocol: 'SSL' }, secrets({}))?.load()).toEqual({ tls: {} });
  });

  it('AWS_MSK_IAM: OAUTHBEARER with a signed token, no secret read', async () => {
    const loaded = await securityLoader(
      { protocol: 'SASL_SSL', mechanism: 'AWS_MSK_IAM', region: 'eu-west-1' },
      secrets({}),
    )?.load();
    expect(loaded?.sasl?.mechanism).toBe('OAUTHBEARER');
    expect(loaded?.tls).toEqual({});
    expect(sm.calls()).toHaveLength(0);
  });

  it('OAUTHBEARER: a static token, or a client-credentials grant', async () => {
    const loaded = await securityLoader(
      { protocol: 'SASL_SSL', mechanism: 'OAUTHBEARER', credentialsSecret: 'tok' },
      secrets({ tok: '{"token":"eyJhbGciOiJub25lIn0.e30."}' }),
    )?.load();
    expect(loaded?.sasl?.mechanism === 'OAUTHBEARER' && (await loaded.sasl.token())).toBe('eyJhbGciOiJub25lIn0.e30.');
  });

  it.each([
    [
      { protocol: 'SASL_SSL', mechanism: 'PLAIN', credentialsSecret: 'creds' },
      { creds: 'user=u password=hunter2' },
      SaslAuthenticationError,
      'cannot load the SASL credentials: secret creds is not JSON (expected {"username": ..., "password": ...})',
    ],
    [
      { protocol: 'SASL_SSL', mechanism: 'PLAIN', credentialsSecret: 'creds' },
      { creds: '{"username":"u","pass":"hunter2"}' },
      SaslAuthenticationError,
      'secret creds has no password string',
    ],
    [
      { protocol: 'SASL_SSL', mechanism: 'OAUTHBEARER', credentialsSecret: 'creds' },
      { creds: '{"clientId":"c"}' },
      SaslAuthenticationError,
      'secret creds has no tokenEndpoint, clientSecret string',
    ],
    [
      { protocol: 'SASL_SSL', mechanism: 'AWS_MSK_IAM' },
      {},
      SaslAuthenticationError,
      'no region to sign MSK IAM tokens for',
    ],
    [
      { protocol: 'SASL_SSL', mechanism: 'PLAIN' },
      {},
      SaslAuthenticationError,
      'mechanism PLAIN needs a credentialsSecret',
    ],
    [
      { protocol: 'SSL', tls: { caSecret: 'ca' } },
      { ca: 'hunter2' },
      TlsHandshakeError,
      'cannot load the TLS material: secret ca does not hold a PEM CA bundle',
    ],
    [
      { protocol: 'SSL', tls: { clientCertificateSecret: 'cert' } },
      { cert: '{"certificate":"C"}' },
      TlsHandshakeError,
      'secret cert has no privateKey string',
    ],
  ] as [SecurityRef, Record<string, string>, typeof SaslAuthenticationError | typeof TlsHandshakeError, string][])(
    "a secret not in the documented shape: the probe's own refusal, naming the secret, not its content (%#)",
    async (ref, values, type, message) => {
      const err = await securityLoader(ref, secrets(values))
        ?.load()
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(type);
      expect((err as Error).message).toContain(message);
      expect((err as Error).message).not.toContain('hunter2');
    },
  );

  it('a secret that cannot be read is refused as such (AccessDenied)', async () => {
    sm.on(GetSecretValueCommand).rejects(
      Object.assign(new Error('User is not authorized to perform: secretsmanager:GetSecretValue'), {
        name: 'AccessDeniedException',
      }),
    );
    const err = await securityLoader(
      { protocol: 'SASL_SSL', mechanism: 'SCRAM-SHA-512', credentialsSecret: 'creds' },
      new SecretCache(new SecretsManagerClient({})),
    )
      ?.load()
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SaslAuthenticationError);
    expect((err as Error).message).toMatch(/cannot load the SASL credentials: User is not authorized/);
  });
});

describe('OAuth client-credentials grant', () => {
  let server: Server;
  let port = 0;
  const seen: { auth?: string; body: string }[] = [];
  let status = 200;
  let issued = 0;

  beforeEach(async () => {
    seen.length = 0;
    status = 200;
    issued = 0;
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        seen.push({ ...(req.headers.authorization ? { auth: req.headers.authorization } : {}), body });
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(
          status === 200
            ? JSON.stringify({ access_token: `token-${++issued}`, token_type: 'Bearer', expires_in: 300 })
            : '{}',
        );
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    port = (server.address() as { port: number }).port;
  });
  afterEach(() => new Promise((r) => server.close(r)));

  it('posts the grant with HTTP Basic client authentication and reuses the token until a minute before it expires', async () => {
    const token = clientCredentialsToken(
      {
        tokenEndpoint: `http://127.0.0.1:${port}/token`,
        clientId: 'kafka-heal',
        clientSecret: 's:e/cret',
        scope: 'kafka',
      },
      { now: () => now },
    );
    expect(await token()).toBe('token-1');
    expect(seen[0]).toEqual({
      auth: `Basic ${Buffer.from('kafka-heal:s%3Ae%2Fcret').toString('base64')}`,
      body: 'grant_type=client_credentials&scope=kafka',
    });
    now += 239_999;
    expect(await token()).toBe('token-1');
    now += 1;
    expect(await token()).toBe('token-2');
  });

  it('through the loader; an endpoint that refuses is named', async () => {
    const loader = securityLoader(
      { protocol: 'SASL_SSL', mechanism: 'OAUTHBEARER', credentialsSecret: 'grant' },
      secrets({
        grant: JSON.stringify({ tokenEndpoint: `http://127.0.0.1:${port}/token`, clientId: 'c', clientSecret: 's' }),
      }),
      { now: () => now },
    );
    const sasl = (await loader?.load())?.sasl;
    expect(sasl?.mechanism === 'OAUTHBEARER' && (await sasl.token())).toBe('token-1');
    status = 401;
    const again = (await loader?.load())?.sasl;
    now += 300_000;
    await expect(again?.mechanism === 'OAUTHBEARER' ? again.token() : Promise.resolve('')).rejects.toThrow(
      `the token endpoint http://127.0.0.1:${port}/token answered HTTP 401`,
    );
  });
});

describe('kafkajsSecurity', () => {
  it('maps TLS and each SASL mechanism to kafkajs options; nothing for plaintext', async () => {
    expect(kafkajsSecurity(undefined)).toEqual({});
    expect(
      kafkajsSecurity({ tls: { ca: CA, cert: 'C', key: 'K', passphrase: 'P', serverName: 'kafka.example.com' } }),
    ).toEqual({
      ssl: {
        rejectUnauthorized: true,
        ca: [CA],
        cert: 'C',
        key: 'K',
        passphrase: 'P',
        servername: 'kafka.example.com',
      },
    });
    expect(kafkajsSecurity({ tls: {} })).toEqual({ ssl: { rejectUnauthorized: true } });
    expect(kafkajsSecurity({ sasl: { mechanism: 'SCRAM-SHA-512', username: 'u', password: 'p' } })).toEqual({
      sasl: { mechanism: 'scram-sha-512', username: 'u', password: 'p' },
      reauthenticationThreshold: 1000,
    });
    expect(
      kafkajsSecurity({ sasl: { mechanism: 'SCRAM-SHA-256', username: 'u', password: 'p' } }).sasl?.mechanism,
    ).toBe('scram-sha-256');
    expect(kafkajsSecurity({ sasl: { mechanism: 'PLAIN', username: 'u', password: 'p' } }).sasl?.mechanism).toBe(
      'plain',
    );
    const oauth = kafkajsSecurity({ sasl: { mechanism: 'OAUTHBEARER', token: () => Promise.resolve('t') } }).sasl as {
      mechanism: string;
      oauthBearerProvider: () => Promise<{ value: string }>;
    };
    expect(oauth.mechanism).toBe('oauthbearer');
    expect(await oauth.oauthBearerProvider()).toEqual({ value: 't' });
  });
});
