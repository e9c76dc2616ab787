// The two ZooKeeper conversations the project has, each against a fake server on 127.0.0.1 that
// speaks the real wire format: `srvr` (functions/shared/zookeeper.ts: the ensemble observation)
// and an exists() session (local/kafka/zk-client.ts: is a killed broker still registered?).
import { createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { observeEnsemble, zookeeperMode } from '#shared/zookeeper.js';
import { existsRequest, zkExists } from '#local/kafka/zk-client.js';

const servers: Server[] = [];
const sockets: Socket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await Promise.all(servers.splice(0).map((s) => new Promise<void>((r) => s.close(() => r()))));
});

async function listen(onConn: (sock: Socket) => void, host = '127.0.0.1'): Promise<number> {
  const s = createServer((sock) => {
    sockets.push(sock);
    sock.on('error', () => undefined);
    onConn(sock);
  });
  servers.push(s);
  await new Promise<void>((r) => s.listen(0, host, () => r()));
  return (s.address() as { port: number }).port;
}

const srvrServer = (answer: string, host?: string) =>
  listen(
    (sock) => sock.once('data', (d: Buffer) => (d.toString() === 'srvr' ? sock.end(answer) : sock.destroy())),
    host,
  );

describe('srvr: what each ZooKeeper server says of itself', () => {
  it('reads the mode; a server without quorum, a silent (hung) one and one that closes without a word are not serving', async () => {
    const follower = await srvrServer(
      'Zookeeper version: 3.8.4\nLatency min/avg/max: 0/0.1/2\nMode: follower\nNode count: 42\n',
    );
    const leader = await srvrServer('Zookeeper version: 3.8.4\nMode: leader\n');
    const looking = await srvrServer('This ZooKeeper instance is not currently serving requests\n');
    const silent = await listen(() => undefined);
    const closed = await listen((sock) => sock.destroy());
    expect(await zookeeperMode('127.0.0.1', follower)).toBe('follower');
    const t0 = Date.now();
    const obs = await observeEnsemble(
      [`127.0.0.1:${leader}`, `127.0.0.1:${looking}`, `127.0.0.1:${silent}`, `127.0.0.1:${closed}`],
      300,
    );
    expect(Date.now() - t0).toBeLessThan(3000);
    expect(obs.servers.map((s) => s.mode)).toEqual(['leader', 'not-serving', 'not-serving', 'not-serving']);
    expect(obs.servers[0]?.server).toBe(`127.0.0.1:${leader}`);
  });

  it('a server that cannot be asked is unreachable, not "not serving": refused port, four-letter word not whitelisted, a TLS or other non-srvr answer', async () => {
    const refused = await listen(() => undefined);
    await new Promise<void>((r) => (servers.pop() as Server).close(() => r()));
    const notWhitelisted = await srvrServer('srvr is not executed because it is not in the whitelist.\n');
    const tls = await listen((sock) =>
      sock.once('data', () => sock.end(Buffer.from([0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x50]))),
    );
    const obs = await observeEnsemble([`127.0.0.1:${refused}`, `127.0.0.1:${notWhitelisted}`, `127.0.0.1:${tls}`], 300);
    expect(obs.servers.map((s) => s.mode)).toEqual(['unreachable', 'unreachable', 'unreachable']);
  });

  it('an IPv6 server, written in brackets as ZOOKEEPER_CONNECT carries it, is asked at its address', async () => {
    const leader = await srvrServer('Zookeeper version: 3.8.4\nMode: leader\n', '::1');
    const obs = await observeEnsemble([`[::1]:${leader}`], 1000);
    expect(obs.servers).toEqual([{ server: `[::1]:${leader}`, mode: 'leader' }]);
  });
});

/** A fake ZooKeeper: answers the ConnectRequest, then one exists() with `err`; records what it read. */
function fakeZk(err: number, seen: { timeOut?: number; xid?: number; type?: number; path?: string; closed?: boolean }) {
  return listen((sock) => {
    let buf = Buffer.alloc(0);
    let phase = 0;
    sock.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 4 && buf.length >= 4 + buf.readInt32BE(0)) {
        const body = buf.subarray(4, 4 + buf.readInt32BE(0));
        buf = buf.subarray(4 + body.length);
        if (phase === 0) {
          seen.timeOut = body.readInt32BE(12);
          const r = Buffer.alloc(4 + 4 + 8 + 4 + 16 + 1);
          r.writeInt32BE(0, 0);
          r.writeInt32BE(seen.timeOut, 4);
          r.writeBigInt64BE(77n, 8);
          r.writeInt32BE(16, 16);
          const len = Buffer.alloc(4);
          len.writeInt32BE(r.length);
          sock.write(Buffer.concat([len, r]));
        } else if (phase === 1) {
          seen.xid = body.readInt32BE(0);
          seen.type = body.readInt32BE(4);
          seen.path = body.subarray(12, 12 + body.readInt32BE(8)).toString();
          const r = Buffer.alloc(4 + 4 + 8 + 4 + (err === 0 ? 80 : 0));
          r.writeInt32BE(r.length - 4, 0);
          r.writeInt32BE(seen.xid, 4);
          r.writeBigInt64BE(5n, 8);
          r.writeInt32BE(err, 16);
          sock.write(r);
        } else if (body.readInt32BE(4) === -11) seen.closed = true;
        phase++;
      }
    });
  });
}

describe('exists() over one short ZooKeeper session', () => {
  it('encodes the request as jute does: length, xid, type 3, path, no watch', () => {
    const b = existsRequest(1, '/kafka-heal/brokers/ids/2');
    expect(b.readInt32BE(0)).toBe(b.length - 4);
    expect([b.readInt32BE(4), b.readInt32BE(8), b.readInt32BE(12)]).toEqual([1, 3, 25]);
    expect(b.subarray(16, 41).toString()).toBe('/kafka-heal/brokers/ids/2');
    expect(b.readUInt8(41)).toBe(0);
  });

  it('true when the znode exists, false on NoNode, then closes the session', async () => {
    const seen: Parameters<typeof fakeZk>[1] = {};
    expect(await zkExists(await fakeZk(0, seen), '/kafka-heal/brokers/ids/1', { timeoutMs: 3000 })).toBe(true);
    expect(seen).toMatchObject({ timeOut: 3000, xid: 1, type: 3, path: '/kafka-heal/brokers/ids/1' });
    const gone: Parameters<typeof fakeZk>[1] = {};
    expect(await zkExists(await fakeZk(-101, gone), '/kafka-heal/brokers/ids/1')).toBe(false);
    for (let i = 0; i < 50 && !gone.closed; i++) await new Promise((r) => setTimeout(r, 20));
    expect(gone.closed).toBe(true);
  });

  it('cannot tell (undefined) when the server drops the handshake (no quorum), stays silent, or errs otherwise', async () => {
    expect(await zkExists(await listen((sock) => sock.destroy()), '/x')).toBeUndefined();
    expect(await zkExists(await listen(() => undefined), '/x', { timeoutMs: 200 })).toBeUndefined();
    expect(await zkExists(await fakeZk(-4, {}), '/x')).toBeUndefined();
  });
});
