// What each ZooKeeper server says of itself, through the `srvr` four-letter word on its client
// port (in ZooKeeper's default whitelist): "Mode: leader|follower|standalone|observer", or "This
// ZooKeeper instance is not currently serving requests" while it has no quorum (LOOKING). A hung
// or partitioned server accepts the TCP connection and answers nothing: the bound decides.
// This is what a ZooKeeper exporter scrapes for Prometheus' quorum alerts, and what the cluster
// steps ask before and after quorum-recovery: Kafka brokers keep serving the metadata they last
// had while the ensemble is lost, so the Kafka probe alone cannot see the loss.
import { connect } from 'node:net';
import type { EnsembleObservation, ZkServerMode } from '../domain/quorum-recovery.js';

const MODES = new Set<string>(['leader', 'follower', 'standalone', 'observer']);

/** What one `srvr` conversation gave: no TCP connection at all, or the bytes read before the server closed or the bound ran out. */
export type SrvrReply = { connected: false } | { connected: true; answer: string };

/** One `srvr` conversation, bounded by `timeoutMs` from the start. */
export function askSrvr(host: string, port: number, timeoutMs = 1000): Promise<SrvrReply> {
  return new Promise((resolve) => {
    let out = '';
    let connected = false;
    const sock = connect({ host, port });
    const done = () => {
      sock.destroy();
      resolve(connected ? { connected, answer: out } : { connected });
    };
    sock.setTimeout(timeoutMs, done);
    sock.on('error', done);
    sock.on('connect', () => {
      connected = true;
      sock.write('srvr');
    });
    sock.on('data', (d: Buffer) => (out += d.toString()));
    sock.on('end', done);
  });
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
      const i = s.lastIndexOf(':');
      return zookeeperMode(s.slice(0, i).replace(/^\[(.*)\]$/, '$1'), Number(s.slice(i + 1)), timeoutMs);
    }),
  );
  return { servers: servers.map((server, i) => ({ server, mode: modes[i] ?? 'unreachable' })) };
}
