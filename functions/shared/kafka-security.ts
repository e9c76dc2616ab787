// How the healer's Kafka clients (the probe, the cluster steps' kafkajs clients) reach a secured
// listener, from the cluster's security reference in its bundled cluster file (CLUSTERS_FILE): the
// protocol, the mechanism and the Secrets Manager secrets by name or ARN. The values are read
// here, at run time, and held in this module's cache for a few minutes (a rotation is picked up
// after that, or at once after the brokers refused what was cached). Secret values never leave
// memory: no environment variable, log line, error message or function result carries one.
import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { KafkaConfig, SASLOptions } from 'kafkajs';
import * as z from 'zod';
// From the stack's probe layer in Lambda (infra/constructs/probe-layer.ts), the source in the repository.
import {
  SaslAuthenticationError,
  TlsHandshakeError,
  mskIamTokenProvider,
  type ProbeSecurity,
  type SaslSettings,
  type TlsSettings,
} from '@kafka-heal/probe';

export const SecurityRefSchema = z.object({
  protocol: z.enum(['PLAINTEXT', 'SSL', 'SASL_PLAINTEXT', 'SASL_SSL']),
  mechanism: z.enum(['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512', 'OAUTHBEARER', 'AWS_MSK_IAM']).optional(),
  credentialsSecret: z.string().min(1).optional(),
  tls: z
    .object({
      caSecret: z.string().min(1).optional(),
      serverName: z.string().min(1).optional(),
      clientCertificateSecret: z.string().min(1).optional(),
    })
    .optional(),
  /** AWS_MSK_IAM: the region tokens are signed for (the MSK cluster's). */
  region: z.string().min(1).optional(),
});
/** A cluster's security as the cluster file (CLUSTERS_FILE) carries it: references only, never a secret value. */
export type SecurityRef = z.infer<typeof SecurityRefSchema>;

/** How long a secret read from Secrets Manager is reused. */
export const SECRET_TTL_MS = 5 * 60_000;

/** Secrets Manager reads, each value kept for `ttlMs`; a failed read is not kept. */
export class SecretCache {
  private readonly entries = new Map<string, { at: number; value: Promise<string> }>();

  constructor(
    private readonly client: Pick<SecretsManagerClient, 'send'>,
    private readonly ttlMs = SECRET_TTL_MS,
    private readonly now: () => number = Date.now,
  ) {}

  get(secretId: string): Promise<string> {
    const hit = this.entries.get(secretId);
    if (hit && this.now() - hit.at < this.ttlMs) return hit.value;
    const value = this.client.send(new GetSecretValueCommand({ SecretId: secretId })).then((out) => {
      if (typeof out.SecretString !== 'string' || out.SecretString.trim() === '')
        throw new Error(`secret ${secretId} has no string value`);
      return out.SecretString;
    });
    this.entries.set(secretId, { at: this.now(), value });
    value.catch(() => this.entries.delete(secretId));
    return value;
  }

  /** Read it again next time (the brokers refused what it held: maybe a rotation). */
  forget(secretId: string): void {
    this.entries.delete(secretId);
  }
}

/** Loads a cluster's security settings for one connection attempt; `forget` drops the cached secrets. */
export interface SecurityLoader {
  load: () => Promise<ProbeSecurity>;
  forget: () => void;
}

/** The shape error of a secret, without a word of its content (a parser's message would quote it). */
function jsonSecret(text: string, secretId: string, fields: string[]): Record<string, string> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new Error(`secret ${secretId} is not JSON (expected {${fields.map((f) => `"${f}": ...`).join(', ')}})`);
  }
  const o =
    typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : {};
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(o)) if (typeof v === 'string') out[k] = v;
  return out;
}

function required(o: Record<string, string>, secretId: string, ...fields: string[]): void {
  const missing = fields.filter((f) => !o[f]);
  if (missing.length > 0) throw new Error(`secret ${secretId} has no ${missing.join(', ')} string`);
}

/** An OAuth 2.0 client-credentials grant (RFC 6749 section 4.4): the token reused until a minute before it expires. */
export function clientCredentialsToken(
  grant: { tokenEndpoint: string; clientId: string; clientSecret: string; scope?: string },
  deps: { fetch?: typeof fetch; now?: () => number } = {},
): () => Promise<string> {
  const doFetch = deps.fetch ?? fetch;
  const now = deps.now ?? Date.now;
  let cached: { token: string; expiresAt: number } | undefined;
  return async () => {
    if (cached && now() < cached.expiresAt - 60_000) return cached.token;
    const body = new URLSearchParams({
      grant_type: 'client_credentials',
      ...(grant.scope ? { scope: grant.scope } : {}),
    });
    const res = await doFetch(grant.tokenEndpoint, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`${encodeURIComponent(grant.clientId)}:${encodeURIComponent(grant.clientSecret)}`).toString('base64')}`,
      },
      body,
      signal: AbortSignal.timeout(5000),
    });
    if (!res.ok) throw new Error(`the token endpoint ${grant.tokenEndpoint} answered HTTP ${res.status}`);
    const json = (await res.json().catch(() => ({}))) as { access_token?: unknown; expires_in?: unknown };
    if (typeof json.access_token !== 'string' || json.access_token === '')
      throw new Error(`the token endpoint ${grant.tokenEndpoint} returned no access_token`);
    const lifetime = typeof json.expires_in === 'number' && json.expires_in > 0 ? json.expires_in * 1000 : 300_000;
    cached = { token: json.access_token, expiresAt: now() + lifetime };
    return json.access_token;
  };
}

/**
 * The loader of a cluster's security settings; undefined for PLAINTEXT. A secret that cannot be
 * read or is not in the documented shape is the probe's own failure: TlsHandshakeError for the
 * TLS material, SaslAuthenticationError for the credentials (probe outcome tls-failed /
 * auth-failed), naming the secret and never its content.
 */
export function securityLoader(
  ref: SecurityRef | undefined,
  secrets: SecretCache,
  deps: { fetch?: typeof fetch; now?: () => number } = {},
): SecurityLoader | undefined {
  if (ref === undefined || ref.protocol === 'PLAINTEXT') return undefined;
  const tlsOn = ref.protocol === 'SSL' || ref.protocol === 'SASL_SSL';
  let iamToken: (() => Promise<string>) | undefined;
  let grantToken: { key: string; token: () => Promise<string> } | undefined;
  const used = [ref.credentialsSecret, ref.tls?.caSecret, ref.tls?.clientCertificateSecret].filter(
    (s): s is string => s !== undefined,
  );

  const loadTls = async (): Promise<TlsSettings> => {
    const tls: TlsSettings = {};
    const t = ref.tls ?? {};
    try {
      if (t.caSecret !== undefined) {
        const ca = await secrets.get(t.caSecret);
        if (!ca.includes('-----BEGIN CERTIFICATE-----'))
          throw new Error(`secret ${t.caSecret} does not hold a PEM CA bundle (no BEGIN CERTIFICATE)`);
        tls.ca = ca;
      }
      if (t.clientCertificateSecret !== undefined) {
        const o = jsonSecret(await secrets.get(t.clientCertificateSecret), t.clientCertificateSecret, [
          'certificate',
          'privateKey',
        ]);
        required(o, t.clientCertificateSecret, 'certificate', 'privateKey');
        tls.cert = o['certificate'] as string;
        tls.key = o['privateKey'] as string;
        if (o['passphrase']) tls.passphrase = o['passphrase'];
      }
    } catch (err) {
      throw new TlsHandshakeError(`cannot load the TLS material: ${(err as Error).message}`);
    }
    if (t.serverName !== undefined) tls.serverName = t.serverName;
    return tls;
  };

  const loadSasl = async (): Promise<SaslSettings | undefined> => {
    const m = ref.mechanism;
    if (m === undefined || !ref.protocol.startsWith('SASL_')) return undefined;
    try {
      if (m === 'AWS_MSK_IAM') {
        if (ref.region === undefined) throw new Error('no region to sign MSK IAM tokens for');
        iamToken ??= mskIamTokenProvider({ region: ref.region, ...(deps.now ? { now: deps.now } : {}) });
        return { mechanism: 'OAUTHBEARER', token: iamToken };
      }
      const id = ref.credentialsSecret;
      if (id === undefined) throw new Error(`mechanism ${m} needs a credentialsSecret`);
      const text = await secrets.get(id);
      if (m === 'OAUTHBEARER') {
        const o = jsonSecret(text, id, ['token']);
        if (o['token']) {
          const token = o['token'];
          return { mechanism: m, token: () => Promise.resolve(token) };
        }
        required(o, id, 'tokenEndpoint', 'clientId', 'clientSecret');
        // One grant per credentials version: a rotated client secret starts a new token.
        const key = `${o['tokenEndpoint']}\u0000${o['clientId']}\u0000${o['clientSecret']}`;
        if (grantToken?.key !== key) {
          grantToken = {
            key,
            token: clientCredentialsToken(
              {
                tokenEndpoint: o['tokenEndpoint'] as string,
                clientId: o['clientId'] as string,
                clientSecret: o['clientSecret'] as string,
                ...(o['scope'] ? { scope: o['scope'] } : {}),
              },
              deps,
            ),
          };
        }
        return { mechanism: m, token: grantToken.token };
      }
      const o = jsonSecret(text, id, ['username', 'password']);
      required(o, id, 'username', 'password');
      return { mechanism: m, username: o['username'] as string, password: o['password'] as string };
    } catch (err) {
      throw new SaslAuthenticationError(`cannot load the SASL credentials: ${(err as Error).message}`);
    }
  };

  return {
    load: async () => {
      const [tls, sasl] = await Promise.all([tlsOn ? loadTls() : Promise.resolve(undefined), loadSasl()]);
      return { ...(tls ? { tls } : {}), ...(sasl ? { sasl } : {}) };
    },
    forget: () => {
      for (const id of used) secrets.forget(id);
      grantToken = undefined;
    },
  };
}

const KAFKAJS_MECHANISM = {
  PLAIN: 'plain',
  'SCRAM-SHA-256': 'scram-sha-256',
  'SCRAM-SHA-512': 'scram-sha-512',
} as const;

/**
 * kafkajs re-authenticates this long before the broker's session lifetime ends. Its default
 * (10 s) re-authenticates before every request once the lifetime is shorter, and kafkajs 2.2.4's
 * re-authentication is refused by Kafka 4 (ILLEGAL_SASL_STATE, seen in
 * test/integration/probe-secured.test.ts); the cluster steps' clients live for seconds, so they
 * re-authenticate as late as possible instead (the probe does its own, KIP-368).
 */
export const KAFKAJS_REAUTH_THRESHOLD_MS = 1000;

/** The same settings as kafkajs options (`ssl`, `sasl`), for the cluster steps' producers and admin clients. */
export function kafkajsSecurity(
  sec: ProbeSecurity | undefined,
): Pick<KafkaConfig, 'ssl' | 'sasl' | 'reauthenticationThreshold'> {
  if (sec === undefined) return {};
  const out: Pick<KafkaConfig, 'ssl' | 'sasl' | 'reauthenticationThreshold'> = {};
  if (sec.tls) {
    const t = sec.tls;
    out.ssl = {
      rejectUnauthorized: true,
      ...(t.ca !== undefined ? { ca: [t.ca] } : {}),
      ...(t.cert !== undefined ? { cert: t.cert } : {}),
      ...(t.key !== undefined ? { key: t.key } : {}),
      ...(t.passphrase !== undefined ? { passphrase: t.passphrase } : {}),
      ...(t.serverName !== undefined ? { servername: t.serverName } : {}),
    };
  }
  const s = sec.sasl;
  if (s) out.reauthenticationThreshold = KAFKAJS_REAUTH_THRESHOLD_MS;
  if (s?.mechanism === 'OAUTHBEARER') {
    const token = s.token;
    out.sasl = { mechanism: 'oauthbearer', oauthBearerProvider: async () => ({ value: await token() }) } as SASLOptions;
  } else if (s) {
    out.sasl = { mechanism: KAFKAJS_MECHANISM[s.mechanism], username: s.username, password: s.password } as SASLOptions;
  }
  return out;
}
