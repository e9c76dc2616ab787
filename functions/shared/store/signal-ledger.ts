// The signal ledger: one marker per signal id (SIGNAL#<signal id> / SIGNAL, TTL 7 days) so a
// redelivered signal is recorded once. A delivery claims the id, IncidentRepo.recordSignal applies
// it to an incident, then the marker says what it did; a redelivery reads that back (and whether
// the actions after it, lock and workflow start, completed).
import { DeleteCommand, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { Decision } from '#domain/types.js';
import { SignalInFlightError, isConditionalCheckFailed } from '../errors.js';
import { DAY, epochSeconds, keys, type StoreTable } from './table.js';

export const SIGNAL_MARKER_TTL_SECONDS = 7 * DAY;
/** A claim on a signal older than this is taken over (the claimer crashed before recording). */
export const SIGNAL_CLAIM_STALE_MS = 60_000;

/** What the first delivery of a signal did, as a redelivery finds it. */
export interface DuplicateSignal {
  outcome: 'duplicate';
  incidentId?: string;
  /** What the first delivery did, and whether its follow-up actions (workflow start) completed. */
  firstOutcome?: 'created' | 'joined' | 'upgraded' | 'reopened';
  acted?: boolean;
  decision?: Decision;
}

export class SignalLedger {
  constructor(private readonly t: StoreTable) {}

  /**
   * Claims a signal id for this delivery (free, or a stale claim of a crashed one). A signal
   * already recorded is a duplicate; one claimed by a live delivery is SignalInFlightError.
   */
  async claimSignal(
    signalId: string,
  ): Promise<{ duplicate: false; claimedAt: number } | { duplicate: true; result: DuplicateSignal }> {
    const now = this.t.now();
    const claimedAt = now.getTime();
    try {
      await this.t.client.send(
        new PutCommand({
          TableName: this.t.tableName,
          Item: {
            ...keys.signal(signalId),
            state: 'claimed',
            claimedAt,
            expiresAt: epochSeconds(now) + SIGNAL_MARKER_TTL_SECONDS,
          },
          ConditionExpression: 'attribute_not_exists(pk) OR (#state = :claimed AND claimedAt < :stale)',
          ExpressionAttributeNames: { '#state': 'state' },
          ExpressionAttributeValues: { ':claimed': 'claimed', ':stale': claimedAt - SIGNAL_CLAIM_STALE_MS },
        }),
      );
      return { duplicate: false, claimedAt };
    } catch (err) {
      if (!isConditionalCheckFailed(err)) throw err;
    }
    const existing = await this.t.client.send(
      new GetCommand({ TableName: this.t.tableName, Key: keys.signal(signalId), ConsistentRead: true }),
    );
    const item = existing.Item;
    if (item?.state === 'recorded') {
      const result: DuplicateSignal = { outcome: 'duplicate', acted: item.acted === true };
      if (typeof item.incidentId === 'string') result.incidentId = item.incidentId;
      if (
        item.outcome === 'created' ||
        item.outcome === 'joined' ||
        item.outcome === 'upgraded' ||
        item.outcome === 'reopened'
      )
        result.firstOutcome = item.outcome;
      if (typeof item.decision === 'string') result.decision = JSON.parse(item.decision) as Decision;
      return { duplicate: true, result };
    }
    throw new SignalInFlightError(signalId);
  }

  /** Gives up this delivery's claim (recording failed), so the redelivery tries again from scratch. */
  async dropClaim(signalId: string, claimedAt: number): Promise<void> {
    await this.t.client
      .send(
        new DeleteCommand({
          TableName: this.t.tableName,
          Key: keys.signal(signalId),
          ConditionExpression: 'claimedAt = :mine',
          ExpressionAttributeValues: { ':mine': claimedAt },
        }),
      )
      .catch(() => undefined);
  }

  /** The signal is recorded: which incident, what it did to it, and the decision; not yet acted on. */
  async markSignalRecorded(
    signalId: string,
    incidentId: string,
    outcome: NonNullable<DuplicateSignal['firstOutcome']>,
    decision: Decision,
  ): Promise<void> {
    await this.t.client.send(
      new UpdateCommand({
        TableName: this.t.tableName,
        Key: keys.signal(signalId),
        UpdateExpression:
          'SET #state = :recorded, incidentId = :id, outcome = :outcome, decision = :decision, acted = :false',
        ExpressionAttributeNames: { '#state': 'state' },
        ExpressionAttributeValues: {
          ':recorded': 'recorded',
          ':id': incidentId,
          ':outcome': outcome,
          ':decision': JSON.stringify(decision),
          ':false': false,
        },
      }),
    );
  }

  /**
   * Marks that the actions following a recorded signal (lock, workflow start) completed. Until
   * then a redelivery of the signal reports `acted: false` so the handler can finish the job.
   */
  async markSignalActed(signalId: string): Promise<void> {
    await this.t.client.send(
      new UpdateCommand({
        TableName: this.t.tableName,
        Key: keys.signal(signalId),
        UpdateExpression: 'SET acted = :true',
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeValues: { ':true': true },
      }),
    );
  }
}
