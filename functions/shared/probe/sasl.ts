// SASL authentication over the Kafka protocol (SaslHandshake v1 + SaslAuthenticate v1, KIP-152),
// for the probe's own connections: PLAIN (RFC 4616), SCRAM-SHA-256/512 (RFC 5802, RFC 7677: the
// server's signature is verified, so a listener that does not know the password cannot pass as one
// that does) and OAUTHBEARER (RFC 7628, Kafka's KIP-255 framing; MSK IAM tokens travel this way).
//
// Every failure is a SaslAuthenticationError (outcome auth-failed): a broker that refuses the
// probe's credentials is alive and answering, and the probe never reads it as down. Messages name
// the mechanism, the listener and the broker's reason; never a password or a token.
// node:crypto is loaded on the first SCRAM exchange, not with the library (most probes need none).
const crypto = () => process.getBuiltinModule('node:crypto');
import { saslAuthenticate, saslHandshake } from './requests.js';
import { SaslAuthenticationError, type BrokerConnection } from './wire.js';

export type ScramMechanism = 'SCRAM-SHA-256' | 'SCRAM-SHA-512';

/** The probe's SASL credentials for one cluster. */
export type SaslSettings =
  | { mechanism: 'PLAIN' | ScramMechanism; username: string; password: string }
  | {
      mechanism: 'OAUTHBEARER';
      /** A bearer token (a JWT, or an MSK IAM token); called for every (re-)authentication. */
      token: () => Promise<string>;
      /** SASL extensions (RFC 7628 key=value pairs), e.g. for a logical cluster id. */
      extensions?: Record<string, string>;
    };

const SASL_AUTHENTICATION_FAILED = 58;
const UNSUPPORTED_SASL_MECHANISM = 33;
/** Kafka's own floor for SCRAM iterations; a server asking for fewer is not a Kafka broker. */
const MIN_SCRAM_ITERATIONS = 4096;

/**
 * Authenticates the connection; returns the session lifetime the broker gave (0: none). Used for
 * the first authentication and for every re-authentication (KIP-368) alike.
 */
export async function authenticate(
  conn: Pick<BrokerConnection, 'host' | 'port'>,
  send: BrokerConnection['send'],
  sasl: SaslSettings,
  timeoutMs: number,
): Promise<number> {
  const where = `${conn.host}:${conn.port}`;
  const hs = await saslHandshake(send, sasl.mechanism, timeoutMs);
  if (hs.errorCode !== 0) {
    const enabled = hs.mechanisms.length > 0 ? hs.mechanisms.join(', ') : 'none';
    const why =
      hs.errorCode === UNSUPPORTED_SASL_MECHANISM
        ? `the listener does not enable ${sasl.mechanism} (it enables ${enabled})`
        : `SaslHandshake error ${hs.errorCode}`;
    throw new SaslAuthenticationError(`SASL ${sasl.mechanism} with ${where} refused: ${why}`);
  }
  const round = async (bytes: Buffer) => {
    const a = await saslAuthenticate(send, bytes, timeoutMs);
    if (a.errorCode !== 0) {
      const reason =
        a.errorMessage ??
        (a.errorCode === SASL_AUTHENTICATION_FAILED ? 'authentication failed' : `error ${a.errorCode}`);
      throw new SaslAuthenticationError(
        `SASL ${sasl.mechanism} with ${where} refused: ${reason} (error ${a.errorCode})`,
      );
    }
    return a;
  };
  switch (sasl.mechanism) {
    case 'PLAIN': {
      const a = await round(Buffer.from(`\u0000${sasl.username}\u0000${sasl.password}`, 'utf8'));
      return a.sessionLifetimeMs;
    }
    case 'SCRAM-SHA-256':
    case 'SCRAM-SHA-512': {
      const scram = new ScramClient(sasl.mechanism, sasl.username, sasl.password);
      const serverFirst = await round(scram.clientFirst());
      let final: Buffer;
      try {
        final = scram.clientFinal(serverFirst.authBytes);
      } catch (err) {
        throw new SaslAuthenticationError(`SASL ${sasl.mechanism} with ${where}: ${(err as Error).message}`);
      }
      const serverFinal = await round(final);
      try {
        scram.verifyServerFinal(serverFinal.authBytes);
      } catch (err) {
        throw new SaslAuthenticationError(`SASL ${sasl.mechanism} with ${where}: ${(err as Error).message}`);
      }
      return serverFinal.sessionLifetimeMs;
    }
    case 'OAUTHBEARER': {
      let token: string;
      try {
        token = await sasl.token();
      } catch (err) {
        throw new SaslAuthenticationError(`SASL OAUTHBEARER with ${where}: no token: ${(err as Error).message}`);
      }
      const a = await round(oauthBearerClientFirst(token, sasl.extensions));
      if (a.authBytes.length > 0) {
        // KIP-255: a refused token comes back as a JSON error challenge, answered with a lone %x01;
        // the broker then fails the exchange.
        const challenge = a.authBytes.toString('utf8').slice(0, 300);
        await round(Buffer.from([1])).catch((err: unknown) => {
          throw new SaslAuthenticationError(`${(err as Error).message}; the broker's challenge: ${challenge}`);
        });
        throw new SaslAuthenticationError(`SASL OAUTHBEARER with ${where} refused the token: ${challenge}`);
      }
      return a.sessionLifetimeMs;
    }
  }
}

/** RFC 7628 client initial response with Kafka's GS2 header: `n,,^Aauth=Bearer <token>^A[k=v^A]...^A`. */
export function oauthBearerClientFirst(token: string, extensions: Record<string, string> = {}): Buffer {
  const kv = Object.entries(extensions)
    .map(([k, v]) => `${k}=${v}\u0001`)
    .join('');
  return Buffer.from(`n,,\u0001auth=Bearer ${token}\u0001${kv}\u0001`, 'utf8');
}

/** RFC 5802 saslname: `=` and `,` are escaped. */
function saslName(name: string): string {
  return name.replace(/=/g, '=3D').replace(/,/g, '=2C');
}

function attributes(message: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of message.split(',')) {
    const eq = part.indexOf('=');
    if (eq === 1) out.set(part[0] as string, part.slice(2));
  }
  return out;
}

/**
 * The client side of one SCRAM exchange (RFC 5802 without channel binding, as Kafka speaks it).
 * The password is used as UTF-8 without SASLprep (the same as Kafka's Java client).
 */
export class ScramClient {
  private readonly hash: 'sha256' | 'sha512';
  private readonly clientFirstBare: string;
  private serverSignature: Buffer | undefined;

  constructor(
    readonly mechanism: ScramMechanism,
    username: string,
    private readonly password: string,
    private readonly nonce: string = crypto().randomBytes(24).toString('base64'),
  ) {
    this.hash = mechanism === 'SCRAM-SHA-256' ? 'sha256' : 'sha512';
    this.clientFirstBare = `n=${saslName(username)},r=${nonce}`;
  }

  clientFirst(): Buffer {
    return Buffer.from(`n,,${this.clientFirstBare}`, 'utf8');
  }

  /** From the server-first message (r, s, i), the client-final message with the proof. */
  clientFinal(serverFirstBytes: Buffer): Buffer {
    const serverFirst = serverFirstBytes.toString('utf8');
    const a = attributes(serverFirst);
    if (a.has('m')) throw new Error('the server asks for a mandatory SCRAM extension the probe does not know');
    const combined = a.get('r');
    const salt = a.get('s');
    const iterations = Number(a.get('i'));
    if (combined === undefined || salt === undefined || !Number.isInteger(iterations))
      throw new Error('the server-first message is not SCRAM (no r, s or i)');
    if (!combined.startsWith(this.nonce) || combined.length <= this.nonce.length)
      throw new Error('the server nonce does not extend the client nonce');
    if (iterations < MIN_SCRAM_ITERATIONS)
      throw new Error(`the server asks for ${iterations} iterations, fewer than ${MIN_SCRAM_ITERATIONS}`);
    const keyLength = this.hash === 'sha256' ? 32 : 64;
    const salted = crypto().pbkdf2Sync(
      Buffer.from(this.password, 'utf8'),
      Buffer.from(salt, 'base64'),
      iterations,
      keyLength,
      this.hash,
    );
    const clientKey = this.hmac(salted, 'Client Key');
    const storedKey = crypto().createHash(this.hash).update(clientKey).digest();
    const withoutProof = `c=biws,r=${combined}`;
    const authMessage = `${this.clientFirstBare},${serverFirst},${withoutProof}`;
    const clientSignature = this.hmac(storedKey, authMessage);
    const proof = Buffer.alloc(clientKey.length);
    for (let i = 0; i < proof.length; i++) proof[i] = (clientKey[i] as number) ^ (clientSignature[i] as number);
    this.serverSignature = this.hmac(this.hmac(salted, 'Server Key'), authMessage);
    return Buffer.from(`${withoutProof},p=${proof.toString('base64')}`, 'utf8');
  }

  /** The server-final message must carry the server signature this exchange expects. */
  verifyServerFinal(serverFinalBytes: Buffer): void {
    const a = attributes(serverFinalBytes.toString('utf8'));
    const error = a.get('e');
    if (error !== undefined) throw new Error(`the server ended the exchange: ${error}`);
    const v = a.get('v');
    const expected = this.serverSignature;
    if (expected === undefined) throw new Error('the server-final message came before the client-final one');
    const got = v === undefined ? Buffer.alloc(0) : Buffer.from(v, 'base64');
    if (got.length !== expected.length || !crypto().timingSafeEqual(got, expected)) {
      throw new Error(
        'the server signature does not match: the listener does not hold this password (or the exchange was tampered with)',
      );
    }
  }

  private hmac(key: Buffer, data: string): Buffer {
    return crypto().createHmac(this.hash, key).update(data, 'utf8').digest();
  }
}
