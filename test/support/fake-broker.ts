// A one-node stand-in for a Kafka broker, for unit tests of the probe's TLS and SASL handling
// without a JVM: it answers ApiVersions v0, SaslHandshake v1, SaslAuthenticate v1, Metadata v5
// (itself, no topics) and DescribeConfigs v1 (min.insync.replicas), over TCP or TLS. Real Kafka
// is in test/integration.
import { createServer as createTcpServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer, type TlsOptions } from 'node:tls';
import { Reader, Writer } from '#shared/probe/wire.js';

export interface FakeBrokerOptions {
  tls?: TlsOptions;
  /** SASL: the one enabled mechanism and how each SaslAuthenticate round is answered. */
  sasl?: {
    mechanism: string;
    /** Round n (0-based) of one exchange: an error message refuses; bytes answer (a challenge or final). */
    answer: (round: number, authBytes: Buffer) => { error: string } | { bytes?: Buffer };
    sessionLifetimeMs?: number;
  };
}

export interface FakeBroker {
  port: number;
  /** Every request received, in order: api key and, for SaslAuthenticate, the bytes. */
  requests: { apiKey: number; authBytes?: Buffer }[];
  close(): Promise<void>;
}

function frame(correlationId: number, body: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeInt32BE(body.length + 4, 0);
  head.writeInt32BE(correlationId, 4);
  return Buffer.concat([head, body]);
}

export async function startFakeBroker(opts: FakeBrokerOptions = {}): Promise<FakeBroker> {
  const requests: FakeBroker['requests'] = [];
  const sockets = new Set<Socket>();
  let port = 0;
  const onConnection = (sock: Socket) => {
    sockets.add(sock);
    sock.on('close', () => sockets.delete(sock));
    sock.on('error', () => undefined);
    let buf = Buffer.alloc(0);
    let round = 0;
    let authenticated = opts.sasl === undefined;
    sock.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      // Kafka closes a connection whose first four bytes announce more than socket.request.max.bytes
      // (a TLS ClientHello on a plaintext listener reads as about 369 MB).
      if (buf.length >= 4 && buf.readInt32BE(0) > 100 * 1024 * 1024) {
        sock.destroy();
        return;
      }
      while (buf.length >= 4 && buf.length >= 4 + buf.readInt32BE(0)) {
        const size = buf.readInt32BE(0);
        const r = new Reader(buf.subarray(4, 4 + size));
        buf = buf.subarray(4 + size);
        const apiKey = r.int16();
        r.int16(); // version
        const correlationId = r.int32();
        r.string(); // client id
        const w = new Writer();
        if (apiKey === 18) {
          w.int16(0).array([3, 17, 18, 32, 36], (x, k) => x.int16(k).int16(0).int16(12));
          requests.push({ apiKey });
        } else if (apiKey === 17) {
          const mechanism = r.string();
          requests.push({ apiKey });
          round = 0;
          const ok = opts.sasl !== undefined && mechanism === opts.sasl.mechanism;
          w.int16(ok ? 0 : 33).array(opts.sasl ? [opts.sasl.mechanism] : [], (x, m) => x.string(m));
        } else if (apiKey === 36) {
          const bytes = Buffer.from(r.bytes() ?? Buffer.alloc(0));
          requests.push({ apiKey, authBytes: bytes });
          const a = opts.sasl?.answer(round++, bytes) ?? { error: 'no SASL here' };
          if ('error' in a) {
            sock.write(
              frame(correlationId, new Writer().int16(58).string(a.error).bytes(Buffer.alloc(0)).int64(0n).build()),
            );
            sock.end();
            continue;
          }
          if (a.bytes === undefined || a.bytes.length === 0 || /^v=/.test(a.bytes.toString())) authenticated = true;
          w.int16(0)
            .string(null)
            .bytes(a.bytes ?? Buffer.alloc(0))
            .int64(BigInt(opts.sasl?.sessionLifetimeMs ?? 0));
        } else if (!authenticated) {
          // Kafka closes a SASL connection that sends anything else before authenticating.
          requests.push({ apiKey });
          sock.destroy();
          return;
        } else if (apiKey === 3) {
          requests.push({ apiKey });
          w.int32(0)
            .array([1], (x) => x.int32(1).string('127.0.0.1').int32(port).string(null))
            .string('fake-cluster')
            .int32(1)
            .array([], () => undefined);
        } else if (apiKey === 32) {
          requests.push({ apiKey });
          w.int32(0).array([1], (x) =>
            x
              .int16(0)
              .string(null)
              .int8(4)
              .string('1')
              .array(['min.insync.replicas'], (y, k) =>
                y
                  .string(k)
                  .string('1')
                  .bool(false)
                  .int8(5)
                  .bool(false)
                  .array([], () => undefined),
              ),
          );
        } else {
          requests.push({ apiKey });
          sock.destroy();
          return;
        }
        sock.write(frame(correlationId, w.build()));
      }
    });
  };
  const server: Server = opts.tls ? createTlsServer(opts.tls, onConnection) : createTcpServer(onConnection);
  if (opts.tls) server.on('tlsClientError', () => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  port = (server.address() as { port: number }).port;
  return {
    port,
    requests,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}
