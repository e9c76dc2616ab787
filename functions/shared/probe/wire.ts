// A minimal Kafka wire-protocol client for the probe's read-only requests.
//
// Why not kafkajs for these reads: kafkajs 2.2.4 throws away a whole Metadata response as soon
// as any partition carries an error code (LEADER_NOT_AVAILABLE for an offline partition), and its
// admin calls (describeConfigs, fetchOffsets, fetchTopicOffsets) refresh metadata for all topics
// first. So during exactly the faults the probe exists to report (an offline partition anywhere in
// the cluster) every kafkajs admin read fails. The probe needs the raw per-partition state, one
// connection per broker with its own timeout, and nothing cached between probes; the handful of
// non-flexible request versions below do that in a few hundred lines with no dependency.
//
// Versions are non-flexible ones served by every broker from Kafka 2.1 to 4.x (4.0 removed the
// oldest versions, KIP-896): ApiVersions v0, Metadata v5, ListOffsets v4, OffsetFetch v2,
// FindCoordinator v1, DescribeGroups v1, DescribeConfigs v1, and for SASL listeners SaslHandshake
// v1 and SaslAuthenticate v1. The integration tests check them against what real KRaft (4.x) and
// ZooKeeper-mode (3.9) brokers advertise. TLS is node:tls underneath the same framing. One flexible
// version for KRaft only: DescribeQuorum v1 (Kafka 3.3+ brokers forward it to the controllers;
// DescribeQuorum has no non-flexible version), with the compact encodings below.
import { Socket, isIP } from 'node:net';
import type { TLSSocket } from 'node:tls';

/** node:tls, loaded on the first TLS connection: most probes speak plaintext, and loading it costs 5-10 ms of CPU. */
const tlsModule = () => process.getBuiltinModule('node:tls');

export const API = {
  ListOffsets: 2,
  Metadata: 3,
  OffsetFetch: 9,
  FindCoordinator: 10,
  DescribeGroups: 15,
  ApiVersions: 18,
  DescribeConfigs: 32,
  SaslHandshake: 17,
  SaslAuthenticate: 36,
  DescribeQuorum: 55,
} as const;

const CLIENT_ID = 'kafka-heal-probe';

/** A broker answered with a Kafka error code. */
export class KafkaProtocolError extends Error {
  override readonly name = 'KafkaProtocolError';
  constructor(
    message: string,
    readonly code: number,
  ) {
    super(message);
  }
}

/**
 * The listener answered and refused the probe: a TLS handshake that failed (`tls-failed`) or a
 * SASL authentication that failed (`auth-failed`). Never a sign that the broker is down (DESIGN.md
 * safety rule 11); the probe reports it as its own outcome.
 */
export class ProbeAccessError extends Error {
  override readonly name: string = 'ProbeAccessError';
  constructor(
    message: string,
    readonly outcome: 'auth-failed' | 'tls-failed',
  ) {
    super(message);
  }
}

/** The TLS handshake with a listener failed, or the broker sent a TLS alert (e.g. it rejected the client certificate). */
export class TlsHandshakeError extends ProbeAccessError {
  override readonly name = 'TlsHandshakeError';
  constructor(
    message: string,
    /** The certificate the broker presented, when the handshake got that far (an expired one, say). */
    readonly peerCertificate?: PeerCertificate,
    /**
     * The connection was reset or closed with no TLS word from the broker: a listener that does
     * not speak TLS (or refuses a client certificate) does that, and so does a broker that is
     * crashing or shutting down. The probe reads it as a refusal only when no listener let it in.
     */
    readonly ambiguous = false,
  ) {
    super(message, 'tls-failed');
  }
}

/** The broker refused the probe's SASL authentication (or the probe could not produce its credentials). */
export class SaslAuthenticationError extends ProbeAccessError {
  override readonly name = 'SaslAuthenticationError';
  constructor(message: string) {
    super(message, 'auth-failed');
  }
}

/**
 * TLS settings of one connection. Certificates are always verified (chain and name); there is no
 * option to skip verification.
 */
export interface TlsSettings {
  /** PEM CA bundle; absent: Node's bundled trust store. */
  ca?: string;
  /** mTLS: PEM certificate chain and private key presented to the broker. */
  cert?: string;
  key?: string;
  passphrase?: string;
  /** Name checked against the certificate and sent as SNI; absent: the host connected to. */
  serverName?: string;
}

/** The certificate a TLS listener presented. */
export interface PeerCertificate {
  subject?: string;
  /** notAfter in ms since the epoch. */
  notAfter: number;
}

export class Writer {
  private parts: Buffer[] = [];

  int8(v: number): this {
    const b = Buffer.alloc(1);
    b.writeInt8(v, 0);
    this.parts.push(b);
    return this;
  }

  int16(v: number): this {
    const b = Buffer.alloc(2);
    b.writeInt16BE(v, 0);
    this.parts.push(b);
    return this;
  }

  int32(v: number): this {
    const b = Buffer.alloc(4);
    b.writeInt32BE(v, 0);
    this.parts.push(b);
    return this;
  }

  int64(v: bigint): this {
    const b = Buffer.alloc(8);
    b.writeBigInt64BE(v, 0);
    this.parts.push(b);
    return this;
  }

  bool(v: boolean): this {
    return this.int8(v ? 1 : 0);
  }

  string(v: string | null): this {
    if (v === null) return this.int16(-1);
    const b = Buffer.from(v, 'utf8');
    this.int16(b.length);
    this.parts.push(b);
    return this;
  }

  /** Kafka BYTES: an int32 length, then the bytes (null: length -1). */
  bytes(v: Buffer | null): this {
    if (v === null) return this.int32(-1);
    this.int32(v.length);
    this.parts.push(v);
    return this;
  }

  array<T>(items: T[] | null, each: (w: this, item: T) => void): this {
    if (items === null) return this.int32(-1);
    this.int32(items.length);
    for (const item of items) each(this, item);
    return this;
  }

  /** Unsigned varint (flexible versions' lengths and tag counts). */
  uvarint(v: number): this {
    const bytes: number[] = [];
    let n = v >>> 0;
    while (n >= 0x80) {
      bytes.push((n & 0x7f) | 0x80);
      n >>>= 7;
    }
    bytes.push(n);
    this.parts.push(Buffer.from(bytes));
    return this;
  }

  /** COMPACT_STRING: length + 1 as a uvarint, then the bytes. */
  compactString(v: string): this {
    const b = Buffer.from(v, 'utf8');
    this.uvarint(b.length + 1);
    this.parts.push(b);
    return this;
  }

  /** COMPACT_ARRAY: length + 1 as a uvarint, then the items. */
  compactArray<T>(items: T[], each: (w: this, item: T) => void): this {
    this.uvarint(items.length + 1);
    for (const item of items) each(this, item);
    return this;
  }

  /** An empty tagged-field section (the probe sends no tagged fields). */
  noTags(): this {
    return this.uvarint(0);
  }

  build(): Buffer {
    return Buffer.concat(this.parts);
  }
}

export class Reader {
  private pos = 0;

  constructor(private readonly buf: Buffer) {}

  private need(n: number): void {
    if (this.pos + n > this.buf.length)
      throw new Error(`truncated Kafka response at byte ${this.pos} (need ${n} of ${this.buf.length})`);
  }

  int8(): number {
    this.need(1);
    const v = this.buf.readInt8(this.pos);
    this.pos += 1;
    return v;
  }

  int16(): number {
    this.need(2);
    const v = this.buf.readInt16BE(this.pos);
    this.pos += 2;
    return v;
  }

  int32(): number {
    this.need(4);
    const v = this.buf.readInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  int64(): number {
    this.need(8);
    const v = this.buf.readBigInt64BE(this.pos);
    this.pos += 8;
    return Number(v);
  }

  bool(): boolean {
    return this.int8() !== 0;
  }

  string(): string | null {
    const n = this.int16();
    if (n < 0) return null;
    this.need(n);
    const v = this.buf.toString('utf8', this.pos, this.pos + n);
    this.pos += n;
    return v;
  }

  bytes(): Buffer | null {
    const n = this.int32();
    if (n < 0) return null;
    this.need(n);
    const v = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }

  array<T>(each: (r: this) => T): T[] {
    const n = this.int32();
    const out: T[] = [];
    for (let i = 0; i < n; i++) out.push(each(this));
    return out;
  }

  uvarint(): number {
    let v = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      const b = this.int8() & 0xff;
      v += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) return v;
    }
    throw new Error(`malformed varint in Kafka response before byte ${this.pos}`);
  }

  compactString(): string | null {
    const n = this.uvarint() - 1;
    if (n < 0) return null;
    this.need(n);
    const v = this.buf.toString('utf8', this.pos, this.pos + n);
    this.pos += n;
    return v;
  }

  /** COMPACT_ARRAY; a null array reads as empty. */
  compactArray<T>(each: (r: this) => T): T[] {
    const n = this.uvarint() - 1;
    const out: T[] = [];
    for (let i = 0; i < n; i++) out.push(each(this));
    return out;
  }

  /** Skips a tagged-field section (fields this client does not read). */
  skipTags(): void {
    const count = this.uvarint();
    for (let i = 0; i < count; i++) {
      this.uvarint();
      const size = this.uvarint();
      this.need(size);
      this.pos += size;
    }
  }
}

interface Pending {
  resolve: (r: Reader) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
  /** Resolves when the request is answered, fails or times out (re-authentication waits for it). */
  settled: Promise<void>;
}

/** TLS error codes of a failed handshake or a TLS alert: a refusal, not a dead broker. */
function isTlsFailure(err: NodeJS.ErrnoException): boolean {
  const code = err.code ?? '';
  return (
    code.startsWith('ERR_SSL_') ||
    code.startsWith('ERR_TLS_') ||
    /CERT|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)|HOSTNAME|ALTNAME/.test(code)
  );
}

function errnoText(err: NodeJS.ErrnoException, host: string, port: number): string {
  return err.code ? `${err.code} ${host}:${port}` : err.message;
}

/**
 * One connection to one broker (TCP, or TLS over TCP); requests may overlap, answers are matched
 * by correlation id. A SASL session is set up by the caller (sasl.ts) through request(); when the
 * broker gives the session a lifetime, `whenReauthenticationDue` lets the caller re-authenticate
 * before it ends, with requests held back meanwhile (KIP-368).
 */
export class BrokerConnection {
  private received: Buffer = Buffer.alloc(0);
  private readonly pending = new Map<number, Pending>();
  private nextCorrelation = 1;
  private closedWith: Error | undefined;
  /** Requests wait for this (a re-authentication in progress). */
  private gate: Promise<void> = Promise.resolve();
  private reauthTimer: NodeJS.Timeout | undefined;
  connected = false;
  /** TLS: the certificate the broker presented (also when it failed verification). */
  peerCertificate: PeerCertificate | undefined;
  /** A whole Kafka response arrived on this connection. */
  private answered = false;
  /** A request was written on this connection. */
  private sent = false;

  private constructor(
    readonly host: string,
    readonly port: number,
    private readonly socket: Socket | TLSSocket,
    readonly tls: boolean,
    private readonly clientCertificate: boolean,
  ) {
    this.socket.setNoDelay(true);
    this.socket.on('data', (chunk: Buffer) => {
      try {
        this.onData(chunk);
      } catch (err) {
        this.fail(new Error(`bad answer from ${host}:${port}: ${(err as Error).message}`));
      }
    });
    this.socket.on('error', (err: NodeJS.ErrnoException) => {
      // After the handshake a TLS alert (TLS 1.3 reports a rejected client certificate this way) is a refusal too.
      if (tls && isTlsFailure(err))
        this.fail(new TlsHandshakeError(`TLS with ${host}:${port} failed: ${err.code ?? ''} ${err.message}`.trim()));
      else this.fail(this.refusedClientCertificate() ?? new Error(errnoText(err, host, port)));
    });
    this.socket.on('close', (hadError: boolean) =>
      this.fail(
        this.refusedClientCertificate() ??
          this.refusedPlaintext(hadError) ??
          new Error(`connection to ${host}:${port} closed`),
      ),
    );
  }

  /**
   * A TLS listener that gets a plaintext request closes the connection without a word; a dead
   * broker refuses the connection, a crashing one resets it, a hung one stays silent. So a
   * plaintext connection closed cleanly before it answered the first request is read as a
   * listener that expects TLS: the probe's configuration, not the broker (safety rule 11).
   */
  private refusedPlaintext(hadError: boolean): TlsHandshakeError | undefined {
    if (this.tls || hadError || this.answered || !this.sent || this.closedWith) return undefined;
    return new TlsHandshakeError(
      `${this.host}:${this.port} closed the connection without answering a plaintext request: the listener expects TLS (check security.protocol)`,
      undefined,
      true,
    );
  }

  /**
   * With TLS 1.3 the client certificate is judged after the client's handshake is done: a broker
   * that refuses it may send an alert (handled above) or just close the connection. A connection
   * that presented a client certificate and is closed before its first answer is read as that
   * refusal: a crashing broker would say so on the next connection (refused), while a healthy
   * broker read as down would be restarted.
   */
  private refusedClientCertificate(): TlsHandshakeError | undefined {
    if (!this.tls || !this.clientCertificate || this.answered || this.closedWith) return undefined;
    return new TlsHandshakeError(
      `TLS with ${this.host}:${this.port}: the broker closed the connection before answering anything: it refused the client certificate`,
      this.peerCertificate,
      true,
    );
  }

  /**
   * Resolves once the connection is made (and, with `tls`, the handshake done and the broker's
   * certificate verified: chain to `ca` and name); rejects on error or after timeoutMs. A TLS
   * failure rejects with TlsHandshakeError; a listener that accepts TCP and never completes the
   * handshake (a hung broker) times out like any other silent broker.
   */
  static open(host: string, port: number, timeoutMs: number, tls?: TlsSettings): Promise<BrokerConnection> {
    // Verification is done in the secureConnect handler below, before a single byte is sent, so
    // that the certificate of a broker that fails it (expired, untrusted) can still be read.
    const socket = tls
      ? tlsModule().connect({
          host,
          port,
          ...(tls.serverName !== undefined
            ? { servername: tls.serverName }
            : isIP(host) === 0
              ? { servername: host }
              : {}),
          ...(tls.ca !== undefined ? { ca: tls.ca } : {}),
          ...(tls.cert !== undefined ? { cert: tls.cert } : {}),
          ...(tls.key !== undefined ? { key: tls.key } : {}),
          ...(tls.passphrase !== undefined ? { passphrase: tls.passphrase } : {}),
          minVersion: 'TLSv1.2',
          rejectUnauthorized: false,
        })
      : new Socket();
    const conn = new BrokerConnection(host, port, socket, tls !== undefined, tls?.cert !== undefined);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        conn.close();
        reject(
          new Error(
            conn.connected && tls
              ? `no TLS handshake with ${host}:${port} within ${Math.round(timeoutMs)} ms`
              : `no TCP connection to ${host}:${port} within ${Math.round(timeoutMs)} ms`,
          ),
        );
      }, timeoutMs);
      socket.once('connect', () => {
        conn.connected = true;
        if (!tls) {
          clearTimeout(timer);
          resolve(conn);
        }
      });
      if (tls) {
        socket.once('secureConnect', () => {
          clearTimeout(timer);
          const t = socket as TLSSocket;
          conn.peerCertificate = readPeerCertificate(t);
          if (!t.authorized) {
            conn.close();
            reject(
              new TlsHandshakeError(
                `TLS with ${host}:${port}: the broker's certificate is not accepted: ${verificationText(t.authorizationError, tls.serverName ?? host)}`,
                conn.peerCertificate,
              ),
            );
            return;
          }
          resolve(conn);
        });
      }
      socket.once('error', (err: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        // TCP connected and the handshake broke off: the listener refused TLS (or does not speak it).
        if (tls && isTlsFailure(err))
          reject(
            new TlsHandshakeError(`TLS handshake with ${host}:${port} failed: ${err.code ?? ''} ${err.message}`.trim()),
          );
        else if (tls && conn.connected)
          reject(
            new TlsHandshakeError(
              `TLS handshake with ${host}:${port} broken off: ${err.code ?? ''} ${err.message}`.trim(),
              undefined,
              true,
            ),
          );
        else reject(new Error(errnoText(err, host, port)));
      });
      if (!tls) (socket as Socket).connect({ host, port });
    });
  }

  get alive(): boolean {
    return this.closedWith === undefined;
  }

  /**
   * `flexible`: the request version is a flexible one (request header v2, response header v1, both
   * with a tagged-field section); the Reader returned starts at the response body either way.
   */
  request(apiKey: number, apiVersion: number, body: Buffer, timeoutMs: number, flexible = false): Promise<Reader> {
    if (this.closedWith) return Promise.reject(this.closedWith);
    return this.gate.then(() => this.send(apiKey, apiVersion, body, timeoutMs, flexible));
  }

  /**
   * Calls `reauthenticate` when `sessionLifetimeMs` is nearly over (at 85%, as Kafka's own clients
   * do), holding back new requests until it is done. The timer is unref'd and cleared on close.
   */
  whenReauthenticationDue(
    sessionLifetimeMs: number,
    reauthenticate: (send: BrokerConnection['send']) => Promise<number>,
  ): void {
    clearTimeout(this.reauthTimer);
    if (!(sessionLifetimeMs > 0) || this.closedWith) return;
    this.reauthTimer = setTimeout(
      () => {
        this.gate = this.gate
          .then(() => this.drained())
          .then(() => reauthenticate((...args) => this.send(...args)))
          .then(
            (next) => this.whenReauthenticationDue(next, reauthenticate),
            (err: unknown) => this.fail(err instanceof Error ? err : new Error(String(err))),
          );
        this.gate.catch(() => undefined);
      },
      Math.max(1, Math.floor(sessionLifetimeMs * 0.85)),
    );
    this.reauthTimer.unref();
  }

  /** Resolves when no request is waiting for its answer. */
  private async drained(): Promise<void> {
    while (this.pending.size > 0 && !this.closedWith) {
      await Promise.allSettled([...this.pending.values()].map((p) => p.settled));
    }
  }

  /** Sends one request now, past the re-authentication gate (the SASL exchange itself uses this). */
  send(apiKey: number, apiVersion: number, body: Buffer, timeoutMs: number, flexible = false): Promise<Reader> {
    if (this.closedWith) return Promise.reject(this.closedWith);
    const correlationId = this.nextCorrelation++;
    const headerWriter = new Writer().int16(apiKey).int16(apiVersion).int32(correlationId).string(CLIENT_ID);
    const header = (flexible ? headerWriter.noTags() : headerWriter).build();
    const size = Buffer.alloc(4);
    size.writeInt32BE(header.length + body.length, 0);
    let settle: () => void = () => undefined;
    const settled = new Promise<void>((r) => (settle = r));
    return new Promise<Reader>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(correlationId);
        settle();
        reject(
          new Error(
            `no answer from ${this.host}:${this.port} to api ${apiKey} v${apiVersion} within ${Math.round(timeoutMs)} ms`,
          ),
        );
      }, timeoutMs);
      this.pending.set(correlationId, {
        resolve: (r) => {
          settle();
          if (flexible) {
            try {
              r.skipTags();
            } catch (err) {
              reject(err as Error);
              return;
            }
          }
          resolve(r);
        },
        reject: (e) => {
          settle();
          reject(e);
        },
        timer,
        settled,
      });
      this.sent = true;
      this.socket.write(Buffer.concat([size, header, body]));
    });
  }

  close(): void {
    this.fail(new Error(`connection to ${this.host}:${this.port} closed by the probe`));
  }

  private onData(chunk: Buffer): void {
    this.received = this.received.length === 0 ? chunk : Buffer.concat([this.received, chunk]);
    // A TLS record (alert 0x15 or handshake 0x16, version 3.x) where a Kafka frame should start: a
    // 350 MB frame is impossible, a TLS listener answering plaintext with an alert is not.
    if (
      !this.tls &&
      !this.answered &&
      this.received.length >= 2 &&
      (this.received[0] === 0x15 || this.received[0] === 0x16) &&
      this.received[1] === 0x03
    ) {
      this.fail(
        new TlsHandshakeError(
          `${this.host}:${this.port} answered a plaintext request with a TLS record: the listener expects TLS (check security.protocol)`,
        ),
      );
      return;
    }
    while (this.received.length >= 4) {
      const size = this.received.readInt32BE(0);
      if (this.received.length < 4 + size) return;
      this.answered = true;
      const frame = this.received.subarray(4, 4 + size);
      this.received = this.received.subarray(4 + size);
      const reader = new Reader(frame);
      const correlationId = reader.int32();
      const waiting = this.pending.get(correlationId);
      if (!waiting) continue;
      this.pending.delete(correlationId);
      clearTimeout(waiting.timer);
      waiting.resolve(reader);
    }
  }

  private fail(err: Error): void {
    if (this.closedWith) return;
    this.closedWith = err;
    clearTimeout(this.reauthTimer);
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(err);
    }
    this.pending.clear();
    this.socket.destroy();
  }
}

/** OpenSSL's and Node's verification codes, in words. */
const VERIFICATION: Record<string, string> = {
  CERT_HAS_EXPIRED: 'the certificate has expired',
  CERT_NOT_YET_VALID: 'the certificate is not valid yet',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'the certificate is self-signed and not trusted',
  SELF_SIGNED_CERT_IN_CHAIN: 'the chain ends in a CA that is not trusted',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'the certificate does not chain to a trusted CA (unable to verify the issuer)',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'the certificate does not chain to a trusted CA (issuer unknown)',
  ERR_TLS_CERT_ALTNAME_INVALID: 'the certificate is not for',
};

function verificationText(error: Error | string | undefined | null, name: string): string {
  const code = error instanceof Error ? ((error as NodeJS.ErrnoException).code ?? error.message) : String(error);
  const text = VERIFICATION[code];
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') return `${text} ${name} (${code})`;
  return text === undefined ? code : `${text} (${code})`;
}

function readPeerCertificate(socket: TLSSocket): PeerCertificate | undefined {
  const cert = socket.getPeerCertificate();
  const notAfter = cert && typeof cert.valid_to === 'string' ? Date.parse(cert.valid_to) : Number.NaN;
  if (Number.isNaN(notAfter)) return undefined;
  const cn = cert.subject?.CN;
  return { notAfter, ...(typeof cn === 'string' ? { subject: `CN=${cn}` } : {}) };
}
