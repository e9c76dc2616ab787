// Runs DynamoDB Local (Maven Central `software.amazon.dynamodb:DynamoDBLocal`, jar set
// `dynamodb-local`) as a JVM child process on a free 127.0.0.1 port, so the incident store's real
// SDK code path (conditional writes, queries, the GSI) runs without AWS.
//
// - sqlite4java loads its native library by its unversioned name (libsqlite4java-linux-amd64.so);
//   Maven delivers versioned files, so they are copied once into a sibling `-native` folder that
//   goes on -Djava.library.path.
// - It listens on 127.0.0.1 only: DynamoDB Local has no listen-address option and binds every
//   interface, so it runs through LoopbackServerRunner (dynamodb-local/LoopbackServerRunner.java,
//   compiled once with javac into a sibling `-launcher` folder), which binds its connector to
//   the loopback address before starting it.
// - Readiness is a ListTables poll, never a sleep.
// - stop() sends SIGTERM, then SIGKILL after a grace period; a process-exit hook kills any server
//   still running, so a failing test run leaves no JVM behind.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  CreateTableCommand,
  DynamoDBClient,
  ListTablesCommand,
  UpdateTimeToLiveCommand,
  waitUntilTableExists,
} from '@aws-sdk/client-dynamodb';
import { classpath, ensureJars } from './maven.js';
import { INCIDENT_TABLE_SCHEMA } from '../functions/shared/store/table.js';

/** DynamoDB Local's own ServerRunner with its connector bound to 127.0.0.1 (see the file's comment). */
export const LOOPBACK_MAIN = 'LoopbackServerRunner';
const LOOPBACK_SOURCE = fileURLToPath(new URL('./dynamodb-local/LoopbackServerRunner.java', import.meta.url));

export interface DynamoDbLocal {
  endpoint: string;
  port: number;
  pid: number;
  /** Milliseconds from spawn to the first successful ListTables. */
  startMs: number;
  /** A client bound to this server (fake credentials; nothing leaves 127.0.0.1). */
  client(): DynamoDBClient;
  stop(): Promise<void>;
}

export interface StartOptions {
  log?: (line: string) => void;
  readyTimeoutMs?: number;
  /** JVM heap cap; DynamoDB Local in memory is small. */
  heap?: string;
}

export class DynamoDbLocalStartError extends Error {
  override readonly name = 'DynamoDbLocalStartError';
  constructor(
    message: string,
    readonly pid: number | undefined,
    readonly exitedEarly: boolean,
  ) {
    super(message);
  }
}

const running = new Set<ChildProcess>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const child of running) child.kill('SIGKILL');
  });
}

/** Copies the sqlite4java native libraries under the names sqlite4java looks for. */
export function nativeLibDir(jars: string): string {
  const dir = `${jars}-native`;
  mkdirSync(dir, { recursive: true });
  for (const file of readdirSync(jars)) {
    const m = /^(.*sqlite4java-[a-z0-9_-]+?)-\d+(?:\.\d+)*\.(so|dylib|dll)$/.exec(file);
    if (!m) continue;
    const target = join(dir, `${m[1]}.${m[2]}`);
    if (!existsSync(target)) copyFileSync(join(jars, file), target);
  }
  return dir;
}

/** Compiles LoopbackServerRunner against the jar set once (again when its source changes); returns its class folder. */
export function loopbackLauncher(jars: string): string {
  const dir = `${jars}-launcher`;
  const source = readFileSync(LOOPBACK_SOURCE);
  const digest = createHash('sha256').update(source).digest('hex');
  const stamp = join(dir, 'source.sha256');
  if (existsSync(join(dir, `${LOOPBACK_MAIN}.class`)) && existsSync(stamp) && readFileSync(stamp, 'utf8') === digest)
    return dir;
  mkdirSync(dir, { recursive: true });
  execFileSync('javac', ['-nowarn', '-cp', classpath(jars), '-d', dir, LOOPBACK_SOURCE], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  writeFileSync(stamp, digest);
  return dir;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export function localClient(endpoint: string): DynamoDBClient {
  return new DynamoDBClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 1,
  });
}

function waitExit(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

export async function startDynamoDbLocal(opts: StartOptions = {}): Promise<DynamoDbLocal> {
  const log = opts.log ?? (() => undefined);
  const jars = await ensureJars('dynamodb-local', log);
  const natives = nativeLibDir(jars);
  const launcher = loopbackLauncher(jars);
  let lastError: unknown;
  for (let attempt = 1; attempt <= 3; attempt++) {
    const port = await freePort();
    try {
      return await launch(`${launcher}:${classpath(jars)}`, natives, port, opts, log);
    } catch (err) {
      // A port taken between probing and binding surfaces as an early exit: try another port.
      if (!(err instanceof DynamoDbLocalStartError) || !err.exitedEarly) throw err;
      lastError = err;
      log(`dynamodb-local: start on port ${port} failed (${(err as Error).message}), retrying`);
    }
  }
  throw lastError instanceof Error ? lastError : new Error(String(lastError));
}

async function launch(
  cp: string,
  natives: string,
  port: number,
  opts: StartOptions,
  log: (l: string) => void,
): Promise<DynamoDbLocal> {
  installExitHook();
  const started = Date.now();
  const child = spawn(
    'java',
    [
      `-Xmx${opts.heap ?? '256m'}`,
      `-Djava.library.path=${natives}`,
      '-cp',
      cp,
      LOOPBACK_MAIN,
      '-inMemory',
      '-port',
      String(port),
      '-disableTelemetry',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  running.add(child);
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-4000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  let exited = false;
  child.once('exit', () => {
    exited = true;
    running.delete(child);
  });

  const endpoint = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (exited) return;
    child.kill('SIGTERM');
    if (!(await waitExit(child, 5000))) {
      child.kill('SIGKILL');
      await waitExit(child, 5000);
    }
    running.delete(child);
  };

  const probe = localClient(endpoint);
  const deadline = started + (opts.readyTimeoutMs ?? 120_000);
  try {
    for (;;) {
      if (exited)
        throw new DynamoDbLocalStartError(
          `DynamoDB Local (pid ${child.pid}) exited before it was ready:\n${output}`,
          child.pid,
          true,
        );
      try {
        await probe.send(new ListTablesCommand({}), { abortSignal: AbortSignal.timeout(1000) });
        break;
      } catch {
        if (Date.now() > deadline)
          throw new DynamoDbLocalStartError(
            `DynamoDB Local (pid ${child.pid}) not ready on ${endpoint} after ${Date.now() - started} ms:\n${output}`,
            child.pid,
            false,
          );
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  } catch (err) {
    probe.destroy();
    await stop();
    throw err;
  }
  probe.destroy();
  const startMs = Date.now() - started;
  log(`dynamodb-local: ready on ${endpoint} in ${startMs} ms (pid ${child.pid})`);
  return {
    endpoint,
    port,
    pid: child.pid ?? -1,
    startMs,
    client: () => localClient(endpoint),
    stop,
  };
}

/** Creates the incident table with the same keys, GSI and TTL attribute as the CDK stack. */
export async function createIncidentTable(client: DynamoDBClient, tableName: string): Promise<void> {
  const s = INCIDENT_TABLE_SCHEMA;
  await client.send(
    new CreateTableCommand({
      TableName: tableName,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [
        { AttributeName: s.partitionKey, AttributeType: 'S' },
        { AttributeName: s.sortKey, AttributeType: 'S' },
        { AttributeName: s.gsi1.partitionKey, AttributeType: 'S' },
        { AttributeName: s.gsi1.sortKey, AttributeType: 'S' },
      ],
      KeySchema: [
        { AttributeName: s.partitionKey, KeyType: 'HASH' },
        { AttributeName: s.sortKey, KeyType: 'RANGE' },
      ],
      GlobalSecondaryIndexes: [
        {
          IndexName: s.gsi1.name,
          KeySchema: [
            { AttributeName: s.gsi1.partitionKey, KeyType: 'HASH' },
            { AttributeName: s.gsi1.sortKey, KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'ALL' },
        },
      ],
    }),
  );
  await waitUntilTableExists({ client, maxWaitTime: 30 }, { TableName: tableName });
  await client.send(
    new UpdateTimeToLiveCommand({
      TableName: tableName,
      TimeToLiveSpecification: { AttributeName: s.ttlAttribute, Enabled: true },
    }),
  );
}
