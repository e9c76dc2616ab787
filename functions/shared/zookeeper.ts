// What each ZooKeeper server says of itself, through the `srvr` four-letter word on its client
// port (in ZooKeeper's default whitelist): "Mode: leader|follower|standalone|observer", or "This
// ZooKeeper instance is not currently serving requests" while it has no quorum (LOOKING). A hung
// or partitioned server accepts the TCP connection and answers nothing: the bound decides.
// This is what a ZooKeeper exporter scrapes for Prometheus' quorum alerts, what the probe asks every
// round (observeZookeeper, below), and what the cluster steps ask before and after quorum-recovery:
// Kafka brokers keep serving the metadata they last had while the ensemble is lost, so the Kafka
// requests alone cannot see the loss.
import { connect } from 'node:net';
import type { EnsembleObservation, ZkServerMode } from '../domain/quorum-recovery.js';

const MODES = new Set<string>(['leader', 'follower', 'standalone', 'observer']);

/** What one `srvr` conversation gave: no TCP connection at all, or the bytes read before the server closed or the bound ran out. */
export type SrvrReply = { connected: false } | { connected: true; answer: string };

/** One `srvr` conversation, bounded by `timeoutMs` from the start. */
export async function askSrvr(host: string, port: number, timeoutMs = 1000): Promise<SrvrReply> {
  const r = await askFourLetterWord(host, port, 'srvr', timeoutMs);
  return r.connected ? { connected: true, answer: r.answer } : { connected: false };
}

const NOT_SERVING = /not currently serving requests/;

/**
 * One server's mode. 'not-serving': it said so (LOOKING), or it took the connection and stayed
 * silent (hung, partitioned) or closed it without a word. 'unreachable': this process could not
 * ask it: no TCP connection (refused, filtered, no route: the server may be down, or a security
 * group or firewall keeps this function out), or an answer that is not srvr's (the four-letter
 * word is not whitelisted, a TLS-only port).
 */
export async function zookeeperMode(host: string, port: number, timeoutMs = 1000): Promise<ZkServerMode> {
  const r = await askSrvr(host, port, timeoutMs);
  if (!r.connected) return 'unreachable';
  const mode = r.answer.match(/^Mode: (\S+)/m)?.[1];
  if (mode !== undefined && MODES.has(mode)) return mode as ZkServerMode;
  if (r.answer === '' || NOT_SERVING.test(r.answer)) return 'not-serving';
  return 'unreachable';
}

/** Every configured server (host:port, an IPv6 host in brackets), asked in parallel. */
export async function observeEnsemble(servers: readonly string[], timeoutMs = 1000): Promise<EnsembleObservation> {
  const modes = await Promise.all(
    servers.map((s) => {
      const { host, port } = splitServer(s);
      return zookeeperMode(host, port, timeoutMs);
    }),
  );
  return { servers: servers.map((server, i) => ({ server, mode: modes[i] ?? 'unreachable' })) };
}

// ---------------------------------------------------------------- the probe's ensemble view
//
// The probe asks every configured server `srvr` (mode, zxid; in ZooKeeper's default
// 4lw.commands.whitelist) and the leader `mntr` (synced followers; only when the whitelist allows
// it: 4lw.commands.whitelist=srvr,mntr). Plain TCP on the client port only: a server that
// speaks TLS only there (secureClientPort with no clientPort) answers the plain request with a TLS
// record or nothing, and is reported as `tls-port`, never as down.

/** What one server told the probe. `not-allowed`: it refused the word (4lw.commands.whitelist). */
export type ZkServerState = ZkServerMode | 'not-allowed' | 'tls-port' | 'silent';

export interface ZkServerReport {
  server: string;
  state: ZkServerState;
  /** The last transaction id the server has seen (srvr's Zxid), as hex text. */
  zxid?: string;
  /** mntr's zk_synced_followers, asked of the leader only. */
  syncedFollowers?: number;
  error?: string;
}

export interface ZkEnsembleReport {
  servers: ZkServerReport[];
  /** Voters (not observers) that serve: leader, follower, standalone. */
  serving: number;
  /** Voters saying `leader` (a lone standalone server counts as its own leader). */
  leaders: number;
  /** The voting servers configured (listed servers not known to be observers). */
  size: number;
  /** Servers that refused the four-letter word, or speak only TLS on the port: alive, mode unknown. */
  unasked: number;
  /**
   * true: one leader and a strict majority of voters serving. false: proven otherwise (no leader
   * among servers that all answered, two leaders, or too few serving even if every unasked one
   * served). null: servers that could not be asked could tip it either way.
   */
  quorum: boolean | null;
  summary: string;
}

const NOT_ALLOWED = /is not executed because it is not in the whitelist/;
const isTlsRecord = (s: string) =>
  s.length >= 2 && (s.charCodeAt(0) === 0x15 || s.charCodeAt(0) === 0x16) && s.charCodeAt(1) === 0x03;

/** One four-letter-word conversation, bounded by `timeoutMs`; `timedOut` when the bound ran out first. */
export function askFourLetterWord(
  host: string,
  port: number,
  word: string,
  timeoutMs = 1000,
): Promise<{ connected: false; error: string } | { connected: true; answer: string; timedOut: boolean }> {
  return new Promise((resolve) => {
    let out = '';
    let connected = false;
    let finished = false;
    const sock = connect({ host, port });
    const done = (timedOut: boolean, error?: Error) => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      sock.destroy();
      resolve(
        connected
          ? { connected, answer: out, timedOut }
          : { connected, error: error?.message ?? `no connection within ${timeoutMs} ms` },
      );
    };
    const timer = setTimeout(() => done(true), timeoutMs);
    sock.on('error', (err) => done(false, err));
    sock.on('connect', () => {
      connected = true;
      sock.write(word);
    });
    sock.on('data', (d: Buffer) => (out += d.toString('latin1')));
    sock.on('end', () => done(false));
  });
}

/**
 * srvr's answer read: the mode and zxid, or why there is none. Nothing said: `silent` when the
 * bound ran out first (hung, partitioned), `not-serving` when the server closed without a word.
 */
export function parseSrvr(answer: string, timedOut = false): { state: ZkServerState; zxid?: string } {
  if (answer === '') return { state: timedOut ? 'silent' : 'not-serving' };
  if (NOT_ALLOWED.test(answer)) return { state: 'not-allowed' };
  if (isTlsRecord(answer)) return { state: 'tls-port' };
  if (NOT_SERVING.test(answer)) return { state: 'not-serving' };
  const mode = answer.match(/^Mode: (\S+)/m)?.[1];
  const zxid = answer.match(/^Zxid: (0x[0-9a-fA-F]+)/m)?.[1];
  if (mode !== undefined && MODES.has(mode)) return { state: mode as ZkServerMode, ...(zxid ? { zxid } : {}) };
  return { state: 'unreachable' };
}

/** mntr's answer as key -> value (tab-separated lines); empty for a refusal or a non-serving server. */
export function parseMntr(answer: string): Record<string, string> {
  if (NOT_ALLOWED.test(answer) || NOT_SERVING.test(answer)) return {};
  const out: Record<string, string> = {};
  for (const line of answer.split('\n')) {
    const m = /^(zk_\w+)\t(.*)$/.exec(line.trimEnd());
    if (m) out[m[1] as string] = m[2] as string;
  }
  return out;
}

function splitServer(s: string): { host: string; port: number } {
  const i = s.lastIndexOf(':');
  return { host: s.slice(0, i).replace(/^\[(.*)\]$/, '$1'), port: Number(s.slice(i + 1)) };
}

/** One server: srvr, and mntr when it leads. */
export async function reportZookeeperServer(server: string, timeoutMs = 1000): Promise<ZkServerReport> {
  const { host, port } = splitServer(server);
  const r = await askFourLetterWord(host, port, 'srvr', timeoutMs);
  if (!r.connected) return { server, state: 'unreachable', error: r.error };
  const parsed = parseSrvr(r.answer, r.timedOut);
  const report: ZkServerReport = { server, ...parsed };
  if (parsed.state === 'leader') {
    const m = await askFourLetterWord(host, port, 'mntr', timeoutMs);
    const synced = m.connected ? Number(parseMntr(m.answer).zk_synced_followers) : Number.NaN;
    if (Number.isInteger(synced)) report.syncedFollowers = synced;
  }
  return report;
}

/** The ensemble's verdict from each server's report (see ZkEnsembleReport.quorum). */
export function ensembleReport(servers: ZkServerReport[]): ZkEnsembleReport {
  const voters = servers.filter((x) => x.state !== 'observer');
  const size = voters.length;
  const unasked = voters.filter((x) => x.state === 'not-allowed' || x.state === 'tls-port').length;
  const serving = voters.filter(
    (x) => x.state === 'leader' || x.state === 'follower' || x.state === 'standalone',
  ).length;
  const leaders = voters.filter((x) => x.state === 'leader' || (x.state === 'standalone' && size === 1)).length;
  const majority = Math.floor(size / 2) + 1;
  let quorum: boolean | null;
  if (leaders > 1) quorum = false;
  else if (leaders === 1 && serving >= majority) quorum = true;
  else if (serving + unasked < majority) quorum = false;
  else if (unasked > 0) quorum = null;
  else quorum = false;
  const states = servers.map((x) => `${x.server} ${x.state}`).join(', ');
  const verdict =
    quorum === true
      ? 'has a quorum'
      : quorum === false
        ? leaders > 1
          ? `has ${leaders} leaders (split brain)`
          : 'has no quorum'
        : 'cannot be judged (servers refused the four-letter word)';
  return {
    servers,
    serving,
    leaders,
    size,
    unasked,
    quorum,
    summary: `ZooKeeper ensemble ${verdict}: ${serving} of ${size} voters serving, ${leaders} leader(s) (${states})`,
  };
}

/** Every configured server (host:port), at most `concurrency` at a time, each bounded by `timeoutMs` per word. */
export async function observeZookeeper(
  servers: readonly string[],
  opts: { timeoutMs?: number; concurrency?: number } = {},
): Promise<ZkEnsembleReport> {
  const out: ZkServerReport[] = new Array<ZkServerReport>(servers.length);
  let next = 0;
  const worker = async () => {
    while (next < servers.length) {
      const i = next++;
      out[i] = await reportZookeeperServer(servers[i] as string, opts.timeoutMs);
    }
  };
  await Promise.all(Array.from({ length: Math.min(opts.concurrency ?? 8, servers.length) }, worker));
  return ensembleReport(out);
}
