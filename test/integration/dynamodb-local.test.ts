// The DynamoDB Local runner: readiness by polling, a clean stop, and no JVM left behind when the
// server does not become ready in time.
import { ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import { DynamoDbLocalStartError, startDynamoDbLocal } from '../../local/dynamodb-local.js';

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
