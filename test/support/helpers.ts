// Small helpers shared by test files: a CLI output capture and a port nothing listens on.
import { createServer } from 'node:net';
import type { CommandIO } from '#cli/args.js';

/** A CommandIO that keeps what a command prints, for assertions. */
export function captureIO(): CommandIO & { out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, stdout: (t) => out.push(t), stderr: (t) => err.push(t) };
}

/** A 127.0.0.1 port that was just free: bound, read and closed again (connections are refused). */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as { port: number }).port;
  await new Promise((r) => server.close(r));
  return port;
}
