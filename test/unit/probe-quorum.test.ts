// The probe's view of the metadata quorum, piece by piece: srvr and mntr answers read, the
// ensemble's verdict from each server's answer, the four-letter-word conversations against fake
// servers on 127.0.0.1 (bounded, concurrency-limited), DescribeQuorum v1 decoded from bytes in
// Kafka's flexible encoding, and the metrics the quorum and controller alarms read.
import { createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { ClusterSnapshot } from '#domain/snapshot.js';
import { quorumMetrics } from '#functions/probe/metrics.js';
import { probeCluster, quorumObservation } from '#shared/probe/index.js';
import { DESCRIBE_QUORUM_VERSION, describeQuorum } from '#shared/probe/requests.js';
import { KafkaProtocolError, Reader, Writer, type BrokerConnection } from '#shared/probe/wire.js';
import {
  ensembleReport,
  observeZookeeper,
  parseMntr,
  parseSrvr,
  reportZookeeperServer,
  type ZkServerReport,
  type ZkServerState,
} from '#shared/zookeeper.js';

const SRVR_LEADER =
  'Zookeeper version: 3.8.4-9316c2a7a97e1666d8f4593f34dd6fc36ecc436c, built on 2024-02-12 22:16 UTC\nLatency min/avg/max: 0/0.25/3\nReceived: 120\nSent: 119\nConnections: 2\nOutstanding: 0\nZxid: 0x10000002a\nMode: leader\nNode count: 38\nProposal sizes last/min/max: 48/48/328\n';
const MNTR_LEADER =
  'zk_version\t3.8.4-9316c2a7a97e1666d8f4593f34dd6fc36ecc436c, built on 2024-02-12 22:16 UTC\nzk_server_state\tleader\nzk_znode_count\t38\nzk_followers\t2\nzk_synced_followers\t2\nzk_pending_syncs\t0\nzk_quorum_size\t3\n';
const NOT_ALLOWED = (w: string) => `${w} is not executed because it is not in the whitelist.\n`;
const NOT_SERVING = 'This ZooKeeper instance is not currently serving requests\n';

describe('srvr and mntr answers', () => {
  it('srvr: the mode and zxid; a refusal, a TLS record, a LOOKING server and silence each say what they are', () => {
    expect(parseSrvr(SRVR_LEADER)).toEqual({ state: 'leader', zxid: '0x10000002a' });
    expect(parseSrvr('Zookeeper version: 3.9.2\nMode: follower\n')).toEqual({ state: 'follower' });
    expect(parseSrvr(NOT_ALLOWED('srvr'))).toEqual({ state: 'not-allowed' });
    expect(parseSrvr('\u0015\u0003\u0003\u0000\u0002\u0002P')).toEqual({ state: 'tls-port' });
    expect(parseSrvr(NOT_SERVING)).toEqual({ state: 'not-serving' });
    expect(parseSrvr('', true)).toEqual({ state: 'silent' });
    expect(parseSrvr('')).toEqual({ state: 'not-serving' });
    expect(parseSrvr('HTTP/1.1 400 Bad Request\r\n')).toEqual({ state: 'unreachable' });
  });

  it('mntr: tab-separated zk_ keys; nothing from a refusal or a server without quorum', () => {
    expect(parseMntr(MNTR_LEADER)).toMatchObject({
      zk_server_state: 'leader',
      zk_synced_followers: '2',
      zk_quorum_size: '3',
    });
    expect(parseMntr(NOT_ALLOWED('mntr'))).toEqual({});
    expect(parseMntr(NOT_SERVING)).toEqual({});
  });
});

const reports = (...states: ZkServerState[]): ZkServerReport[] =>
  states.map((state, i) => ({ server: `zk-${i + 1}:2181`, state }));

describe('the ensemble verdict', () => {
  it.each<[string, ZkServerState[], boolean | null, number, number]>([
    ['one leader, all serving', ['leader', 'follower', 'follower'], true, 1, 3],
    ['one leader, a majority serving (one server down)', ['leader', 'follower', 'unreachable'], true, 1, 2],
    ['the leader down, the rest LOOKING: no quorum', ['unreachable', 'not-serving', 'not-serving'], false, 0, 0],
    ['a majority down: no quorum even with a leader claimed', ['leader', 'unreachable', 'unreachable'], false, 1, 1],
    ['two leaders: split brain', ['leader', 'leader', 'follower', 'follower', 'follower'], false, 2, 5],
    ['a hung server does not count as serving', ['leader', 'silent', 'silent'], false, 1, 1],
    [
      'refusals that cannot tip it: the quorum is proven by the others',
      ['leader', 'follower', 'not-allowed'],
      true,
      1,
      2,
    ],
    ['refusals that could tip it: unknown, never down', ['not-allowed', 'not-allowed', 'follower'], null, 0, 1],
    ['a TLS-only port is not asked either', ['tls-port', 'tls-port', 'tls-port'], null, 0, 0],
    [
      'too few even if every refusing server served: no quorum',
      ['not-allowed', 'unreachable', 'unreachable'],
      false,
      0,
      0,
    ],
    ['a lone standalone server is its own quorum', ['standalone'], true, 1, 1],
    ['observers do not vote', ['leader', 'follower', 'unreachable', 'observer', 'observer'], true, 1, 2],
  ])('%s', (_what, states, quorum, leaders, serving) => {
    const r = ensembleReport(reports(...states));
    expect({ quorum: r.quorum, leaders: r.leaders, serving: r.serving }).toEqual({ quorum, leaders, serving });
    expect(r.size).toBe(states.filter((s) => s !== 'observer').length);
    expect(r.summary).toMatch(
      quorum === true ? /has a quorum/ : quorum === false ? /no quorum|split brain/ : /cannot be judged/,
    );
  });
});

const servers: Server[] = [];
const sockets: Socket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await Promise.all(servers.splice(0).map((s) => new Promise<void>((r) => s.close(() => r()))));
});

async function listen(onWord: (word: string, sock: Socket) => void): Promise<string> {
  const s = createServer((sock) => {
    sockets.push(sock);
    sock.on('error', () => undefined);
    sock.once('data', (d: Buffer) => onWord(d.toString(), sock));
  });
  servers.push(s);
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  return `127.0.0.1:${(s.address() as { port: number }).port}`;
}

describe('four-letter-word conversations', () => {
  it('asks the leader mntr for its synced followers; a whitelist without mntr leaves them out; a silent server is bounded', async () => {
    const leader = await listen((w, sock) => sock.end(w === 'srvr' ? SRVR_LEADER : MNTR_LEADER));
    const srvrOnly = await listen((w, sock) => sock.end(w === 'srvr' ? SRVR_LEADER : NOT_ALLOWED(w)));
    const silent = await listen(() => undefined);
    expect(await reportZookeeperServer(leader, 500)).toEqual({
      server: leader,
      state: 'leader',
      zxid: '0x10000002a',
      syncedFollowers: 2,
    });
    expect(await reportZookeeperServer(srvrOnly, 500)).toEqual({
      server: srvrOnly,
      state: 'leader',
      zxid: '0x10000002a',
    });
    const t0 = Date.now();
    expect((await reportZookeeperServer(silent, 300)).state).toBe('silent');
    expect(Date.now() - t0).toBeLessThan(2000);
  });

  it('a refused port is unreachable (with why); srvr refused by the whitelist is not-allowed', async () => {
    const closed = await listen(() => undefined);
    await new Promise<void>((r) => (servers.pop() as Server).close(() => r()));
    const refusing = await listen((w, sock) => sock.end(NOT_ALLOWED(w)));
    const down = await reportZookeeperServer(closed, 500);
    expect(down.state).toBe('unreachable');
    expect(down.error).toMatch(/ECONNREFUSED/);
    expect((await reportZookeeperServer(refusing, 500)).state).toBe('not-allowed');
  });

  it('asks at most `concurrency` servers at a time, each once, and keeps the configured order', async () => {
    let open = 0;
    let most = 0;
    const answer = (mode: string) => (w: string, sock: Socket) => {
      open++;
      most = Math.max(most, open);
      setTimeout(() => {
        open--;
        sock.end(w === 'srvr' ? `Mode: ${mode}\n` : MNTR_LEADER);
      }, 50);
    };
    const list = [await listen(answer('leader'))];
    for (let i = 0; i < 6; i++) list.push(await listen(answer('follower')));
    const r = await observeZookeeper(list, { timeoutMs: 1000, concurrency: 2 });
    expect(most).toBeLessThanOrEqual(2);
    expect(r.servers.map((s) => s.server)).toEqual(list);
    expect(r).toMatchObject({ quorum: true, leaders: 1, serving: 7, size: 7 });
  });
});

/** A DescribeQuorum v1 response body as a KRaft broker sends it, tagged fields included. */
function quorumResponse(leaderId: number, errorCode = 0, partitionError = 0): Buffer {
  const replica = (w: Writer, [id, leo]: [number, bigint]) =>
    w.int32(id).int64(leo).int64(1_700_000_000_000n).int64(1_700_000_000_000n).noTags();
  return (
    new Writer()
      .int16(errorCode)
      .compactArray(['__cluster_metadata'], (w, t) =>
        w
          .compactString(t)
          .compactArray([0], (p) =>
            p
              .int32(0)
              .int16(partitionError)
              .int32(leaderId)
              .int32(7)
              .int64(1000n)
              .compactArray<[number, bigint]>(
                [
                  [1, 1000n],
                  [2, 990n],
                  [3, 400n],
                ],
                replica,
              )
              .compactArray<[number, bigint]>([[4, 1000n]], replica)
              .noTags(),
          )
          .noTags(),
      )
      // One tagged field this client does not know: skipped.
      .uvarint(1)
      .uvarint(9)
      .uvarint(3)
      .int8(1)
      .int8(2)
      .int8(3)
      .build()
  );
}

function connAnswering(
  body: Buffer,
  seen: { key?: number; version?: number; flexible?: boolean; request?: Buffer } = {},
): BrokerConnection {
  return {
    request: (key: number, version: number, request: Buffer, _t: number, flexible?: boolean) => {
      Object.assign(seen, { key, version, flexible, request });
      return Promise.resolve(new Reader(body));
    },
  } as unknown as BrokerConnection;
}

describe('DescribeQuorum v1', () => {
  it("asks for __cluster_metadata-0 in the flexible encoding and reads leader, epoch and each voter's end offset", async () => {
    const seen: { key?: number; version?: number; flexible?: boolean; request?: Buffer } = {};
    const q = await describeQuorum(connAnswering(quorumResponse(2), seen), 1000);
    expect(seen).toMatchObject({ key: 55, version: DESCRIBE_QUORUM_VERSION, flexible: true });
    // topics [ "__cluster_metadata" [ partition 0, no tags ], no tags ], no tags.
    expect(seen.request?.toString('hex')).toBe(
      `02${(19).toString(16).padStart(2, '0')}${Buffer.from('__cluster_metadata').toString('hex')}0200000000000000`,
    );
    expect(q).toMatchObject({ leaderId: 2, leaderEpoch: 7, highWatermark: 1000 });
    expect(q.voters.map((v) => [v.replicaId, v.logEndOffset])).toEqual([
      [1, 1000],
      [2, 990],
      [3, 400],
    ]);
    expect(q.observers.map((v) => v.replicaId)).toEqual([4]);
  });

  it('an error code, top-level or for the partition, is a KafkaProtocolError with its code', async () => {
    await expect(describeQuorum(connAnswering(quorumResponse(-1, 31)), 1000)).rejects.toMatchObject({ code: 31 });
    await expect(describeQuorum(connAnswering(quorumResponse(-1, 0, 6)), 1000)).rejects.toMatchObject({ code: 6 });
  });

  it("what an answer or its failure says of the quorum: led, leaderless, or unknown (never a loss from the observer's failure)", async () => {
    const led = quorumObservation(await describeQuorum(connAnswering(quorumResponse(2)), 1000));
    expect(led).toMatchObject({
      state: 'led',
      leaderId: 2,
      maxVoterLag: 600,
      voters: [
        { id: 1, lag: 0 },
        { id: 2, lag: 10 },
        { id: 3, lag: 600 },
      ],
    });
    expect(quorumObservation(await describeQuorum(connAnswering(quorumResponse(-1)), 1000))).toMatchObject({
      state: 'leaderless',
      leaderId: null,
    });
    expect(quorumObservation(new Error('no answer from 10.0.0.1:9092 to api 55 v1 within 2500 ms'))).toMatchObject({
      state: 'leaderless',
    });
    expect(quorumObservation(new KafkaProtocolError('x', 7))).toMatchObject({ state: 'leaderless' });
    expect(quorumObservation(new KafkaProtocolError('x', 31))).toMatchObject({
      state: 'unknown',
      note: expect.stringMatching(/DESCRIBE on CLUSTER/),
    });
    expect(quorumObservation(new KafkaProtocolError('x', 35))).toMatchObject({ state: 'unknown' });
    expect(quorumObservation(new Error('connection to 10.0.0.1:9092 closed by the probe'))).toMatchObject({
      state: 'unknown',
    });
  });
});

/**
 * A KRaft broker on 127.0.0.1 that answers ApiVersions (advertising DescribeQuorum 0-2) and
 * Metadata v5 (itself, after `metadataDelayMs`) and never answers DescribeQuorum: what a broker
 * with no active controller to forward to does.
 */
async function brokerWithoutController(metadataDelayMs: number): Promise<number> {
  let port = 0;
  const s = createServer((sock) => {
    sockets.push(sock);
    sock.on('error', () => undefined);
    let buf = Buffer.alloc(0);
    sock.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 4 && buf.length >= 4 + buf.readInt32BE(0)) {
        const r = new Reader(buf.subarray(4, 4 + buf.readInt32BE(0)));
        buf = buf.subarray(4 + buf.readInt32BE(0));
        const key = r.int16();
        r.int16();
        const correlation = r.int32();
        const reply = (body: Buffer) => {
          const frame = new Writer()
            .int32(body.length + 4)
            .int32(correlation)
            .build();
          sock.write(Buffer.concat([frame, body]));
        };
        if (key === 18)
          reply(
            new Writer()
              .int16(0)
              .array(
                [
                  [18, 0, 3],
                  [3, 0, 12],
                  [55, 0, 2],
                ],
                (w, [k, lo, hi]) =>
                  w
                    .int16(k as number)
                    .int16(lo as number)
                    .int16(hi as number),
              )
              .build(),
          );
        if (key === 3) {
          const body = new Writer()
            .int32(0)
            .array([1], (w) => w.int32(1).string('127.0.0.1').int32(port).string(null))
            .string('c')
            .int32(1)
            .array([], () => undefined)
            .build();
          setTimeout(() => reply(body), metadataDelayMs);
        }
      }
    });
  });
  servers.push(s);
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  port = (s.address() as { port: number }).port;
  return port;
}

describe('DescribeQuorum unanswered', () => {
  it('by a broker that answered everything else, within a full step bound: leaderless (no active controller)', async () => {
    const port = await brokerWithoutController(0);
    const s = await probeCluster({ bootstrapServers: [`127.0.0.1:${port}`], timeoutMs: 2000, stepTimeoutMs: 300 });
    expect(s.metadataMode).toBe('kraft');
    expect(s.quorum).toMatchObject({ state: 'leaderless', leaderId: null });
    expect(byName(quorumMetrics(s))).toEqual({ ActiveControllerCount: 0, QuorumHealthy: 0, QuorumLeaders: 0 });
  });

  it("within a bound the probe's own deadline cut short: never leaderless, nothing published", async () => {
    const port = await brokerWithoutController(700);
    const s = await probeCluster({ bootstrapServers: [`127.0.0.1:${port}`], timeoutMs: 1200, stepTimeoutMs: 1000 });
    // The request's timer and the whole probe's bound end together: either the probe ends first
    // (no quorum observation) or the request does (unknown).
    expect(s.quorum?.state ?? 'not observed').toMatch(/^(unknown|not observed)$/);
    expect(quorumMetrics(s)).toEqual([]);
  });
});

function snapshot(over: Partial<ClusterSnapshot>): ClusterSnapshot {
  return {
    takenAt: '2026-01-01T00:00:00.000Z',
    durationMs: 10,
    status: 'healthy',
    bootstrapReachable: true,
    registeredBrokers: [1, 2, 3],
    brokers: [],
    controller: { id: null, known: false, note: '' },
    partitions: { total: 0, offline: 0, underReplicated: 0, underMinIsr: 0, details: [] },
    perBroker: {},
    consumerGroups: [],
    errors: [],
    ...over,
  };
}

const byName = (points: { name: string; value: number }[]) => Object.fromEntries(points.map((p) => [p.name, p.value]));

describe('the quorum and controller metrics', () => {
  it('ZooKeeper mode: the controller from the metadata, only when the metadata was read', () => {
    expect(
      byName(quorumMetrics(snapshot({ metadataMode: 'zookeeper', controller: { id: 2, known: true, note: '' } }))),
    ).toEqual({ ActiveControllerCount: 1 });
    expect(byName(quorumMetrics(snapshot({ metadataMode: 'zookeeper' })))).toEqual({ ActiveControllerCount: 0 });
    expect(quorumMetrics(snapshot({ metadataMode: 'zookeeper', registeredBrokers: [], status: 'down' }))).toEqual([]);
  });

  it('ZooKeeper ensemble: healthy, lost, split brain, and refusals published apart and never as a loss', () => {
    const s = snapshot({ metadataMode: 'zookeeper', controller: { id: 2, known: true, note: '' } });
    expect(byName(quorumMetrics(s, ensembleReport(reports('leader', 'follower', 'follower'))))).toEqual({
      ActiveControllerCount: 1,
      QuorumHealthy: 1,
      QuorumLeaders: 1,
      QuorumServersServing: 3,
      QuorumSize: 3,
    });
    expect(
      byName(quorumMetrics(s, ensembleReport(reports('unreachable', 'unreachable', 'not-serving')))),
    ).toMatchObject({ QuorumHealthy: 0, QuorumLeaders: 0, QuorumServersServing: 0 });
    expect(
      byName(quorumMetrics(s, ensembleReport(reports('leader', 'leader', 'follower', 'follower', 'follower')))),
    ).toMatchObject({ QuorumHealthy: 0, QuorumLeaders: 2 });
    const refused = byName(quorumMetrics(s, ensembleReport(reports('not-allowed', 'not-allowed', 'follower'))));
    expect(refused).toMatchObject({ ZooKeeperServersUnasked: 2, QuorumLeaders: 0 });
    expect(refused.QuorumHealthy).toBeUndefined();
  });

  it('KRaft: led, leaderless (both alarms read 0), unknown (nothing published)', () => {
    const led = snapshot({
      metadataMode: 'kraft',
      quorum: {
        state: 'led',
        leaderId: 1,
        voters: [
          { id: 1, lag: 0 },
          { id: 2, lag: 5 },
          { id: 3, lag: 0 },
        ],
        maxVoterLag: 5,
        note: '',
      },
    });
    expect(byName(quorumMetrics(led))).toEqual({
      ActiveControllerCount: 1,
      QuorumHealthy: 1,
      QuorumLeaders: 1,
      QuorumSize: 3,
      QuorumMaxVoterLag: 5,
    });
    const leaderless = snapshot({
      metadataMode: 'kraft',
      quorum: { state: 'leaderless', leaderId: null, voters: [], maxVoterLag: null, note: '' },
    });
    expect(byName(quorumMetrics(leaderless))).toEqual({ ActiveControllerCount: 0, QuorumHealthy: 0, QuorumLeaders: 0 });
    expect(
      quorumMetrics(
        snapshot({
          metadataMode: 'kraft',
          quorum: { state: 'unknown', leaderId: null, voters: [], maxVoterLag: null, note: '' },
        }),
      ),
    ).toEqual([]);
    expect(quorumMetrics(snapshot({ metadataMode: 'kraft' }))).toEqual([]);
  });
});
