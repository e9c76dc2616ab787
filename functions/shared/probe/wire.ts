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
// FindCoordinator v1, DescribeGroups v1, DescribeConfigs v1. The integration tests check them
// against what real KRaft (4.x) and ZooKeeper-mode (3.9) brokers advertise.
import { Socket } from 'node:net';

export const API = {
  ListOffsets: 2,
  Metadata: 3,
  OffsetFetch: 9,
  FindCoordinator: 10,
  DescribeGroups: 15,
  ApiVersions: 18,
  DescribeConfigs: 32,
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

  array<T>(items: T[] | null, each: (w: this, item: T) => void): this {
    if (items === null) return this.int32(-1);
    this.int32(items.length);
    for (const item of items) each(this, item);
    return this;
  }

  build(): Buffer {
    return Buffer.concat(this.parts);
  }
}

export class Reader {
  private pos = 0;

  constructor(private readonly buf: Buffer) {}

  private need(n: number): void {
    if (this.pos + n > this.buf.length) throw new Error(`truncated Kafka response at byte ${this.pos} (need ${n} of ${this.buf.length})`);
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
}

interface Pending {
  resolve: (r: Reader) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

/** One TCP connection to one broker; requests may overlap, answers are matched by correlation id. */
export class BrokerConnection {
  private readonly socket = new Socket();
  private received: Buffer = Buffer.alloc(0);
  private readonly pending = new Map<number, Pending>();
  private nextCorrelation = 1;
  private closedWith: Error | undefined;
  connected = false;

  private constructor(
    readonly host: string,
    readonly port: number,
  ) {
    this.socket.setNoDelay(true);
    this.socket.on('data', (chunk: Buffer) => {
      try {
        this.onData(chunk);
      } catch (err) {
        this.fail(new Error(`bad answer from ${host}:${port}: ${(err as Error).message}`));
      }
    });
    this.socket.on('error', (err: NodeJS.ErrnoException) => this.fail(new Error(err.code ? `${err.code} ${host}:${port}` : err.message)));
    this.socket.on('close', () => this.fail(new Error(`connection to ${host}:${port} closed`)));
  }

  /** Resolves once the TCP connection is made; rejects on error or after timeoutMs. */
  static open(host: string, port: number, timeoutMs: number): Promise<BrokerConnection> {
    const conn = new BrokerConnection(host, port);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        conn.close();
        reject(new Error(`no TCP connection to ${host}:${port} within ${Math.round(timeoutMs)} ms`));
      }, timeoutMs);
      conn.socket.once('connect', () => {
        clearTimeout(timer);
        conn.connected = true;
        resolve(conn);
      });
      conn.socket.once('error', (err: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        reject(new Error(err.code ? `${err.code} ${host}:${port}` : err.message));
      });
      conn.socket.connect({ host, port });
    });
  }

  get alive(): boolean {
    return this.closedWith === undefined;
  }

  request(apiKey: number, apiVersion: number, body: Buffer, timeoutMs: number): Promise<Reader> {
    if (this.closedWith) return Promise.reject(this.closedWith);
    const correlationId = this.nextCorrelation++;
    const header = new Writer().int16(apiKey).int16(apiVersion).int32(correlationId).string(CLIENT_ID).build();
    const size = Buffer.alloc(4);
    size.writeInt32BE(header.length + body.length, 0);
    return new Promise<Reader>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(correlationId);
        reject(new Error(`no answer from ${this.host}:${this.port} to api ${apiKey} v${apiVersion} within ${Math.round(timeoutMs)} ms`));
      }, timeoutMs);
      this.pending.set(correlationId, { resolve, reject, timer });
      this.socket.write(Buffer.concat([size, header, body]));
    });
  }

  close(): void {
    this.fail(new Error(`connection to ${this.host}:${this.port} closed by the probe`));
  }

  private onData(chunk: Buffer): void {
    this.received = this.received.length === 0 ? chunk : Buffer.concat([this.received, chunk]);
    while (this.received.length >= 4) {
      const size = this.received.readInt32BE(0);
      if (this.received.length < 4 + size) return;
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
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(err);
    }
    this.pending.clear();
    this.socket.destroy();
  }
}
