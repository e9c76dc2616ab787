// SDK clients shared by the handlers. Created once per Lambda process (outside the handler) so
// connections are reused across invocations.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createStore, type Store } from './store/index.js';
import { requireEnv } from './env.js';

export function documentClient(client: DynamoDBClient = new DynamoDBClient({})): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(client, {
    marshallOptions: { removeUndefinedValues: true },
  });
}

/** The incident store's pieces over INCIDENT_TABLE_NAME. */
export function storeFromEnv(env: NodeJS.ProcessEnv = process.env): Store {
  return createStore({ client: documentClient(), tableName: requireEnv('INCIDENT_TABLE_NAME', env) });
}
