// Small items of the incident table the lifecycle keeps beside the incidents:
//   EXTERNAL#<source>#<event id> / EVENT   an external event handled once (PagerDuty webhook
//                                          deliveries repeat an event id on every retry); TTL
//   PDINC#<PagerDuty incident id> / MAP    which incident a PagerDuty incident is (PagerDuty's
//                                          note events name its incident, not our dedup key); TTL 30 days
//   LINK#<sha256 of the signature> / USED  a signed incident link that decided once; TTL its expiry
// Every claim is a put-if-absent: the first writer wins whoever races.
import { DeleteCommand, GetCommand, PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createHash } from 'node:crypto';
import { isConditionalCheckFailed } from '../shared/errors.js';

const DAY = 86_400;

export class LifecycleRecords {
  constructor(
    private readonly client: Pick<DynamoDBDocumentClient, 'send'>,
    readonly tableName: string,
  ) {}

  /** True the first time `source`/`eventId` is claimed (kept `ttlSeconds`); false for a repeat. */
  async claimEvent(source: string, eventId: string, ttlSeconds: number, now: Date): Promise<boolean> {
    return this.claim({
      pk: `EXTERNAL#${source}#${eventId}`,
      sk: 'EVENT',
      at: now.toISOString(),
      expiresAt: Math.floor(now.getTime() / 1000) + ttlSeconds,
    });
  }

  /** Gives a claim back (the event could not be applied: its retry must apply it). */
  async releaseEvent(source: string, eventId: string): Promise<void> {
    await this.client.send(
      new DeleteCommand({ TableName: this.tableName, Key: { pk: `EXTERNAL#${source}#${eventId}`, sk: 'EVENT' } }),
    );
  }

  /** Remembers which incident a PagerDuty incident is (first mapping wins). */
  async linkPagerDutyIncident(pagerDutyId: string, incidentId: string, now: Date): Promise<void> {
    await this.claim({
      pk: `PDINC#${pagerDutyId}`,
      sk: 'MAP',
      incidentId,
      at: now.toISOString(),
      expiresAt: Math.floor(now.getTime() / 1000) + 30 * DAY,
    });
  }

  async incidentForPagerDuty(pagerDutyId: string): Promise<string | undefined> {
    const out = await this.client.send(
      new GetCommand({
        TableName: this.tableName,
        Key: { pk: `PDINC#${pagerDutyId}`, sk: 'MAP' },
        ConsistentRead: true,
      }),
    );
    return typeof out.Item?.incidentId === 'string' ? out.Item.incidentId : undefined;
  }

  /**
   * Uses a signed link once: true the first time; false when it was used (by whom is in `usedBy`).
   * The key is a hash of the signature, so the table never holds a credential.
   */
  async useLink(
    signature: string,
    by: string,
    expires: number,
    now: Date,
  ): Promise<{ first: true } | { first: false; usedBy: string; usedAt: string }> {
    const pk = `LINK#${createHash('sha256').update(signature).digest('hex')}`;
    if (await this.claim({ pk, sk: 'USED', usedBy: by, at: now.toISOString(), expiresAt: expires + DAY }))
      return { first: true };
    const out = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: { pk, sk: 'USED' }, ConsistentRead: true }),
    );
    return { first: false, usedBy: String(out.Item?.usedBy ?? 'someone'), usedAt: String(out.Item?.at ?? '?') };
  }

  /** Gives a link back (what it was used for could not be recorded: the same button must work again). */
  async releaseLink(signature: string): Promise<void> {
    await this.client.send(
      new DeleteCommand({
        TableName: this.tableName,
        Key: { pk: `LINK#${createHash('sha256').update(signature).digest('hex')}`, sk: 'USED' },
      }),
    );
  }

  private async claim(item: Record<string, unknown>): Promise<boolean> {
    try {
      await this.client.send(
        new PutCommand({ TableName: this.tableName, Item: item, ConditionExpression: 'attribute_not_exists(pk)' }),
      );
      return true;
    } catch (err) {
      if (isConditionalCheckFailed(err)) return false;
      throw err;
    }
  }
}
