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

/** The raw `srvr` answer, or undefined when the server did not answer within the bound. */
export function srvr(host: string, port: number, timeoutMs = 1000): Promise<string | undefined> {
  return new Promise((resolve) => {
    let out = '';
    const sock = connect({ host, port });
    const done = (v: string | undefined) => {
      sock.destroy();
      resolve(v);
    };
    sock.setTimeout(timeoutMs, () => done(undefined));
    sock.on('error', () => done(undefined));
    sock.on('connect', () => sock.write('srvr'));
    sock.on('data', (d: Buffer) => (out += d.toString()));
    sock.on('end', () => done(out));
  });
}

/** One server's mode; 'not-serving' covers LOOKING, hung, down and unreachable alike. */
export async function zookeeperMode(host: string, port: number, timeoutMs = 1000): Promise<ZkServerMode> {
  const mode = (await srvr(host, port, timeoutMs))?.match(/^Mode: (\S+)/m)?.[1];
  return mode !== undefined && MODES.has(mode) ? (mode as ZkServerMode) : 'not-serving';
}

/** Every configured server (host:port, an IPv6 host in brackets), asked in parallel. */
export async function observeEnsemble(servers: readonly string[], timeoutMs = 1000): Promise<EnsembleObservation> {
  const modes = await Promise.all(
    servers.map((s) => {
      const i = s.lastIndexOf(':');
      return zookeeperMode(s.slice(0, i).replace(/^\[(.*)\]$/, '$1'), Number(s.slice(i + 1)), timeoutMs);
    }),
  );
  return { servers: servers.map((server, i) => ({ server, mode: modes[i] ?? 'not-serving' })) };
}
