// SDK clients shared by the handlers. Created once per Lambda process (outside the handler) so
// connections are reused across invocations.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { IncidentStore } from './incident-store.js';
import { requireEnv } from './env.js';

export function documentClient(client: DynamoDBClient = new DynamoDBClient({})): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(client, {
    marshallOptions: { removeUndefinedValues: true },
  });
}

/** The incident store over INCIDENT_TABLE_NAME. */
export function incidentStoreFromEnv(env: NodeJS.ProcessEnv = process.env): IncidentStore {
  return new IncidentStore({ client: documentClient(), tableName: requireEnv('INCIDENT_TABLE_NAME', env) });
}
