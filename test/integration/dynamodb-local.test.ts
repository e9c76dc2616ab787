// The DynamoDB Local runner: readiness by polling, a clean stop, and no JVM left behind when the
// server does not become ready in time.
import { ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DynamoDbLocalStartError, startDynamoDbLocal } from '#local/dynamodb-local.js';

/** Local addresses listening on `port`, from the kernel's socket tables (no traffic sent). */
function listeners(port: number): string[] {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  return ['/proc/net/tcp', '/proc/net/tcp6'].flatMap((file) =>
    readFileSync(file, 'utf8')
      .split('\n')
      .slice(1)
      .map((line) => line.trim().split(/\s+/))
      // st 0A = LISTEN
      .filter((f) => f[1]?.endsWith(`:${hexPort}`) && f[3] === '0A')
      .map((f) => (f[1] as string).split(':')[0] as string),
  );
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('DynamoDB Local runner', () => {
  it('is ready when it answers ListTables and leaves no process after stop()', async () => {
    const ddb = await startDynamoDbLocal();
    try {
      expect(ddb.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(alive(ddb.pid)).toBe(true);
      const client = ddb.client();
      await expect(client.send(new ListTablesCommand({}))).resolves.toMatchObject({ TableNames: [] });
      client.destroy();
      // Loopback only (127.0.0.1, or its IPv4-mapped IPv6 form), never every interface.
      const bound = listeners(ddb.port);
      expect(bound.length).toBeGreaterThan(0);
      expect(bound.every((a) => a === '0100007F' || a === '0000000000000000FFFF00000100007F')).toBe(true);
    } finally {
      await ddb.stop();
    }
    expect(alive(ddb.pid)).toBe(false);
    await ddb.stop(); // idempotent
  });

  it('kills the server when it is not ready within the timeout', async () => {
    const err = await startDynamoDbLocal({ readyTimeoutMs: 1 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DynamoDbLocalStartError);
    expect((err as DynamoDbLocalStartError).message).toMatch(/not ready/);
    const pid = (err as DynamoDbLocalStartError).pid!;
    expect(pid).toBeGreaterThan(0);
    expect(alive(pid)).toBe(false);
  });
});
