// Finished remediations per cluster (HEALS#<cluster> / <iso>#<incident id>, TTL 30 days): what
// the flap breaker and the cooldowns count.
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import type { HealRecord, IncidentType } from '#domain/types.js';
import { DAY, epochSeconds, keys, queryAll, type StoreTable } from './table.js';

export const HEAL_TTL_SECONDS = 30 * DAY;

export class HealHistory {
  constructor(private readonly t: StoreTable) {}

  /** Records a finished remediation (the flap breaker counts these). */
  async recordHeal(incidentId: string, heal: HealRecord): Promise<void> {
    await this.t.client.send(
      new PutCommand({
        TableName: this.t.tableName,
        Item: {
          pk: keys.heals(heal.cluster),
          sk: `${heal.finishedAt}#${incidentId}`,
          incidentId,
          ...heal,
          expiresAt: epochSeconds(new Date(heal.finishedAt)) + HEAL_TTL_SECONDS,
        },
      }),
    );
  }

  /** Remediations of a cluster finished at or after `since` (for the flap breaker and cooldowns). */
  async recentHeals(cluster: string, since: Date): Promise<HealRecord[]> {
    const items = await queryAll(this.t, {
      TableName: this.t.tableName,
      KeyConditionExpression: 'pk = :pk AND sk >= :since',
      ExpressionAttributeValues: { ':pk': keys.heals(cluster), ':since': since.toISOString() },
    });
    return items.map((i) => ({
      cluster: i.cluster as string,
      type: i.type as IncidentType,
      brokerIds: (i.brokerIds ?? []) as number[],
      finishedAt: i.finishedAt as string,
    }));
  }
}
