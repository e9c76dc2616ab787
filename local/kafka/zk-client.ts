// Just enough of ZooKeeper's client protocol (jute over TCP) to ask one question of one server:
// does this znode exist? The supervisor needs it in ZooKeeper mode: a broker that died leaves its
// registration (/brokers/ids/<id>, an ephemeral znode) until its ZooKeeper session expires, and a
// broker started before that exits at once with NodeExistsException. When no other broker runs
// (every broker was stopped, e.g. by quorum-recovery), only ZooKeeper itself can say whether the
// old registration is gone.
//
// One short session per question: ConnectRequest, ExistsRequest (no watch), CloseSession.
// A server that is not serving (no quorum: LOOKING) closes the connection on the handshake; that,
// a timeout or any protocol surprise answers `undefined` ("cannot tell"), never throws.
import { connect } from 'node:net';

const OP_EXISTS = 3;
const OP_CLOSE = -11;
const ERR_OK = 0;
const ERR_NONODE = -101;

function frame(body: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeInt32BE(body.length);
  return Buffer.concat([len, body]);
}

/** ConnectRequest: protocolVersion, lastZxidSeen, timeOut, sessionId, passwd (16 zero bytes), readOnly. */
export function connectRequest(sessionTimeoutMs: number): Buffer {
  const b = Buffer.alloc(4 + 8 + 4 + 8 + 4 + 16 + 1);
  let o = 0;
  o = b.writeInt32BE(0, o);
  o = b.writeBigInt64BE(0n, o);
  o = b.writeInt32BE(sessionTimeoutMs, o);
  o = b.writeBigInt64BE(0n, o);
  o = b.writeInt32BE(16, o);
  b.fill(0, o, o + 16);
  o += 16;
  b.writeUInt8(0, o);
  return frame(b);
}

/** RequestHeader {xid, type=exists} + ExistsRequest {path, watch=false}. */
export function existsRequest(xid: number, path: string): Buffer {
  const p = Buffer.from(path, 'utf8');
  const b = Buffer.alloc(4 + 4 + 4 + p.length + 1);
  let o = b.writeInt32BE(xid, 0);
  o = b.writeInt32BE(OP_EXISTS, o);
  o = b.writeInt32BE(p.length, o);
  o += p.copy(b, o);
  b.writeUInt8(0, o);
  return frame(b);
}

function closeRequest(xid: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeInt32BE(xid, 0);
  b.writeInt32BE(OP_CLOSE, 4);
  return frame(b);
}

/** Splits complete length-prefixed frames off the front of buf. */
function takeFrames(buf: Buffer): { frames: Buffer[]; rest: Buffer } {
  const frames: Buffer[] = [];
  let rest: Buffer = buf;
  while (rest.length >= 4) {
    const len = rest.readInt32BE(0);
    if (len < 0 || rest.length < 4 + len) break;
    frames.push(rest.subarray(4, 4 + len));
    rest = rest.subarray(4 + len);
  }
  return { frames, rest };
}

/**
 * true when the znode exists, false when the server says it does not (NoNode), undefined when the
 * server cannot tell (not serving, unreachable, timed out).
 */
export function zkExists(
  port: number,
  path: string,
  opts: { host?: string; timeoutMs?: number } = {},
): Promise<boolean | undefined> {
  const timeoutMs = opts.timeoutMs ?? 2000;
  return new Promise((resolve) => {
    const sock = connect({ host: opts.host ?? '127.0.0.1', port });
    let buf: Buffer = Buffer.alloc(0);
    let connected = false;
    let settled = false;
    const done = (v: boolean | undefined) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (connected) sock.end(closeRequest(2));
      else sock.destroy();
      resolve(v);
    };
    const timer = setTimeout(() => done(undefined), timeoutMs);
    sock.on('error', () => done(undefined));
    sock.on('close', () => done(undefined));
    sock.on('connect', () => sock.write(connectRequest(Math.max(timeoutMs, 2000))));
    sock.on('data', (d: Buffer) => {
      const { frames, rest } = takeFrames(Buffer.concat([buf, d]));
      buf = rest;
      for (const f of frames) {
        if (!connected) {
          // ConnectResponse: protocolVersion, timeOut, sessionId. A zero timeout means no session.
          if (f.length < 16 || f.readInt32BE(4) <= 0) return done(undefined);
          connected = true;
          sock.write(existsRequest(1, path));
          continue;
        }
        // ReplyHeader: xid, zxid, err (the Stat that follows on success is not needed).
        if (f.length < 16 || f.readInt32BE(0) !== 1) continue;
        const err = f.readInt32BE(12);
        return done(err === ERR_OK ? true : err === ERR_NONODE ? false : undefined);
      }
    });
  });
}
