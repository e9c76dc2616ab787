// A `systemctl` for local broker hosts, so the host runbooks (runbooks/*.yaml) run unchanged in
// the local runtime. Each local "host" gets a bin directory holding a bash `systemctl` that
// forwards its arguments over 127.0.0.1 to this process, which answers from the local cluster
// supervisor and drives the real broker JVM (restart, stop, kill). It answers exactly the calls
// runbooks/README.md lists: is-active, show -p MainPID [-p Result], restart, stop,
// kill --signal=SIGKILL, status.
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** What the shim needs from the local cluster supervisor (local/kafka/cluster.ts LocalCluster). */
export interface ShimCluster {
  readonly brokers: readonly { id: number; pid?: number; state: string }[];
  fault(action: 'restart' | 'stop' | 'crash', brokerId: number): Promise<void>;
}

export interface SystemctlShim {
  /** Put first on the host's PATH (runbookRunner hosts[...].binDirs). */
  binDir: string;
  /** Add to the host's environment (runbookRunner hosts[...].env). */
  env: Record<string, string>;
  /** Every systemctl invocation, arguments joined by spaces, in order. */
  calls: string[];
  close(): Promise<void>;
}

const SCRIPT = `#!/bin/bash
# kafka-heal local systemctl: forwards the call to the local runtime (see systemctl-shim.ts).
exec 3<>"/dev/tcp/127.0.0.1/$KH_SYSTEMCTL_PORT" || { echo "systemctl shim: runtime not reachable" >&2; exit 1; }
printf '%s\\n' "$*" >&3
IFS= read -r first <&3
cat <&3
exec 3<&-
exit "\${first#EXIT }"
`;

/** The answer to one systemctl call: `EXIT <code>` then the output. */
export async function answerSystemctl(cluster: ShimCluster, brokerId: number, line: string): Promise<string> {
  const b = cluster.brokers.find((x) => x.id === brokerId);
  // A SIGSTOPped (hung) JVM is still the unit's main process: systemd calls the unit active
  // until a stop or restart ends it (SIGCONT+SIGTERM, SIGKILL after the stop timeout).
  const running = (b?.state === 'running' || b?.state === 'hung') && b.pid !== undefined;
  const words = line.trim().split(/\s+/);
  const verb = words.find((w) => !w.startsWith('-'));
  switch (verb) {
    case 'is-active':
      return running ? 'EXIT 0\nactive\n' : `EXIT 3\n${b?.state === 'crashed' ? 'failed' : 'inactive'}\n`;
    case 'show': {
      const lines = [`MainPID=${running ? String(b?.pid) : '0'}`];
      if (words.includes('Result')) lines.push(`Result=${b?.state === 'crashed' ? 'signal' : 'success'}`);
      return `EXIT 0\n${lines.join('\n')}\n`;
    }
    case 'restart':
      await cluster.fault('restart', brokerId);
      return 'EXIT 0\n';
    case 'stop':
      await cluster.fault('stop', brokerId);
      return 'EXIT 0\n';
    case 'kill':
      await cluster.fault('crash', brokerId);
      return 'EXIT 0\n';
    case 'status':
      return `EXIT ${running ? 0 : 3}\nkafka.service - local Kafka broker ${brokerId}\n   Active: ${running ? 'active (running)' : (b?.state ?? 'unknown')}${running ? `\n Main PID: ${String(b?.pid)}` : ''}\n`;
    default:
      return `EXIT 1\nsystemctl shim: unsupported call: ${line}\n`;
  }
}

/** Starts the shim for one broker host. Close it when the run ends. */
export function startSystemctlShim(cluster: ShimCluster, brokerId: number): Promise<SystemctlShim> {
  const binDir = mkdtempSync(join(tmpdir(), 'kh-systemctl-'));
  writeFileSync(join(binDir, 'systemctl'), SCRIPT);
  chmodSync(join(binDir, 'systemctl'), 0o755);
  const calls: string[] = [];
  const server = createServer((sock) => {
    let buf = '';
    sock.on('error', () => undefined);
    sock.on('data', (d: Buffer) => {
      buf += d.toString();
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      const line = buf.slice(0, nl);
      buf = '';
      calls.push(line);
      answerSystemctl(cluster, brokerId, line).then(
        (out) => sock.end(out),
        (err: unknown) => sock.end(`EXIT 1\nsystemctl shim: ${err instanceof Error ? err.message : String(err)}\n`),
      );
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as { port: number }).port;
      resolve({
        binDir,
        env: { KH_SYSTEMCTL_PORT: String(port) },
        calls,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            rmSync(binDir, { recursive: true, force: true });
          }),
      });
    });
  });
}
