// Opens the incident store for CLI commands (`incidents`, `postmortem`): the deployed table in
// AWS (credentials and region from the environment, as the AWS CLI finds them), or DynamoDB
// Local with --endpoint. The table is --table or KAFKA_HEAL_TABLE.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { documentClient } from '../functions/shared/clients.js';
import { IncidentNotFoundError } from '../functions/shared/errors.js';
import { IncidentStore } from '../tools/incident-store.js';
import { UsageError, type CommandIO } from './args.js';

/** parseFlags options every store-reading command accepts. */
export const STORE_FLAGS = {
  table: { type: 'string' },
  endpoint: { type: 'string' },
  region: { type: 'string' },
} as const;

export const STORE_USAGE = '[--table NAME] [--endpoint URL] [--region R]';
export const STORE_HELP = [
  'The incident table is --table or $KAFKA_HEAL_TABLE (the stack output IncidentTableName).',
  'Without --endpoint: AWS, with credentials and region from the environment (--region overrides).',
  'With --endpoint http://127.0.0.1:PORT: DynamoDB Local (any credentials work).',
].join('\n');

export interface StoreFlagValues {
  table?: string | undefined;
  endpoint?: string | undefined;
  region?: string | undefined;
}

export interface OpenedStore {
  store: IncidentStore;
  /** The same table's document client, for other items in it (approval records). */
  documentClient: DynamoDBDocumentClient;
  tableName: string;
  /** Where the table is, for messages: `DynamoDB Local at http://...` or `AWS eu-west-1`. */
  where: string;
  close(): void;
}

export function openStore(flags: StoreFlagValues, env: NodeJS.ProcessEnv = process.env): OpenedStore {
  const tableName = flags.table ?? env.KAFKA_HEAL_TABLE;
  if (tableName === undefined || tableName === '') {
    throw new UsageError(
      'no incident table: give --table NAME or set KAFKA_HEAL_TABLE (the stack output IncidentTableName)',
    );
  }
  if (!/^[A-Za-z0-9_.-]{3,255}$/.test(tableName))
    throw new UsageError(`--table must be a DynamoDB table name (3-255 of A-Z a-z 0-9 _ . -), got "${tableName}"`);
  const region = flags.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
  if (region !== undefined && !/^[a-z]{2}(-[a-z]+)+-\d$/.test(region))
    throw new UsageError(`--region must be an AWS region like eu-west-1, got "${region}"`);
  let client: DynamoDBClient;
  let where: string;
  if (flags.endpoint !== undefined) {
    let url: URL;
    try {
      url = new URL(flags.endpoint);
    } catch {
      throw new UsageError(`--endpoint must be a URL like http://127.0.0.1:8000, got "${flags.endpoint}"`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:')
      throw new UsageError(`--endpoint must be an http(s) URL, got "${flags.endpoint}"`);
    const hasKeys = env.AWS_ACCESS_KEY_ID !== undefined && env.AWS_SECRET_ACCESS_KEY !== undefined;
    client = new DynamoDBClient({
      endpoint: flags.endpoint,
      region: region ?? 'us-east-1',
      // DynamoDB Local accepts any key; don't make people export fake credentials.
      ...(hasKeys ? {} : { credentials: { accessKeyId: 'local', secretAccessKey: 'local' } }),
      maxAttempts: 2,
    });
    where = `DynamoDB Local at ${flags.endpoint}`;
  } else {
    if (region === undefined)
      throw new UsageError('no AWS region: give --region or set AWS_REGION (or --endpoint for DynamoDB Local)');
    client = new DynamoDBClient({ region });
    where = `AWS ${region}`;
  }
  const doc = documentClient(client);
  return {
    store: new IncidentStore({ client: doc, tableName }),
    documentClient: doc,
    tableName,
    where,
    close: () => client.destroy(),
  };
}

/**
 * Runs `fn` with the store open and turns what can go wrong at 3 a.m. into one line and exit 1:
 * an unknown incident, a missing table, no connection, no credentials. Usage errors still exit 2.
 */
export async function withStore(
  io: CommandIO,
  command: string,
  flags: StoreFlagValues,
  fn: (opened: OpenedStore) => Promise<number>,
): Promise<number> {
  const opened = openStore(flags);
  try {
    return await fn(opened);
  } catch (err) {
    if (err instanceof UsageError) throw err;
    io.stderr(`kafka-heal ${command}: ${describeStoreError(err, opened)}`);
    return 1;
  } finally {
    opened.close();
  }
}

export function describeStoreError(err: unknown, opened: Pick<OpenedStore, 'tableName' | 'where'>): string {
  const e = err as Error & { code?: string; cause?: { code?: string } };
  if (err instanceof IncidentNotFoundError)
    return `no incident ${err.incidentId} in table ${opened.tableName} (${opened.where}); list them with kafka-heal incidents list`;
  if (e.name === 'ResourceNotFoundException')
    return `table ${opened.tableName} not found (${opened.where}): check --table / KAFKA_HEAL_TABLE and the region`;
  const code = e.code ?? e.cause?.code;
  if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'ETIMEDOUT')
    return `cannot reach ${opened.where} (${code})`;
  if (e.name === 'CredentialsProviderError')
    return `no AWS credentials (${e.message}); set AWS_PROFILE or AWS_ACCESS_KEY_ID`;
  return `${e.name}: ${e.message} (${opened.where}, table ${opened.tableName})`;
}
