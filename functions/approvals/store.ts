// Approval records in the incident table (one item per approval Task, beside the incident's own
// items): the request as the workflow sent it, the task token Step Functions waits on, the link
// expiry, and the decision once someone made it.
//
// A decision is a conditional write (`status = pending AND link not expired`), so two clicks, a
// click and a CLI call, or a replayed link record exactly one decision; the loser learns who won.
// The record outlives the link by 30 days (the table's TTL) for the post-mortem.
import { GetCommand, PutCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { isConditionalCheckFailed } from '../shared/errors.js';
import type { ApprovalVerdict } from './schema.js';

export const APPROVAL_RECORD_TTL_SECONDS = 30 * 86_400;

export const approvalKey = (approvalId: string) => ({ pk: `APPROVAL#${approvalId}`, sk: 'APPROVAL' });

export type ApprovalStatus = 'pending' | ApprovalVerdict;

/** What happened to the decision at Step Functions: delivered, or the task had already ended. */
export type DeliveryState = 'delivered' | 'task-closed' | 'failed';

export interface ApprovalRecord {
  approvalId: string;
  incidentId: string;
  workflow: string;
  summary: string;
  actions: string[];
  taskToken: string;
  cluster?: string;
  severity?: string;
  incidentType?: string;
  evidence?: string[];
  executionArn?: string;
  requestedAt: string;
  /** Epoch seconds: links stop deciding at this instant (the approval's timeout). */
  linkExpires: number;
  status: ApprovalStatus;
  decidedBy?: string;
  decidedAt?: string;
  reason?: string;
  delivery?: DeliveryState;
}

export class ApprovalNotFound extends Error {
  override readonly name = 'ApprovalNotFound';
  constructor(readonly approvalId: string) {
    super(`approval ${approvalId} does not exist`);
  }
}

/** The approval was decided before (by the record's decidedBy); nothing was written. */
export class ApprovalAlreadyDecided extends Error {
  override readonly name = 'ApprovalAlreadyDecided';
  constructor(readonly record: ApprovalRecord) {
    super(
      `approval ${record.approvalId} was already ${record.status} by ${record.decidedBy ?? 'someone'} at ${record.decidedAt ?? 'an unknown time'}`,
    );
  }
}

/** The approval's window closed before a decision was made. */
export class ApprovalExpired extends Error {
  override readonly name = 'ApprovalExpired';
  constructor(readonly record: ApprovalRecord) {
    super(`approval ${record.approvalId} expired at ${new Date(record.linkExpires * 1000).toISOString()}`);
  }
}

export class ApprovalStore {
  constructor(
    private readonly client: Pick<DynamoDBDocumentClient, 'send'>,
    readonly tableName: string,
  ) {}

  async create(record: ApprovalRecord): Promise<void> {
    await this.client.send(
      new PutCommand({
        TableName: this.tableName,
        Item: {
          ...approvalKey(record.approvalId),
          ...record,
          expiresAt: record.linkExpires + APPROVAL_RECORD_TTL_SECONDS,
        },
        ConditionExpression: 'attribute_not_exists(pk)',
      }),
    );
  }

  async find(approvalId: string): Promise<ApprovalRecord | undefined> {
    const out = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: approvalKey(approvalId), ConsistentRead: true }),
    );
    if (!out.Item) return undefined;
    const { pk: _pk, sk: _sk, expiresAt: _ttl, ...record } = out.Item;
    return record as ApprovalRecord;
  }

  async get(approvalId: string): Promise<ApprovalRecord> {
    const record = await this.find(approvalId);
    if (!record) throw new ApprovalNotFound(approvalId);
    return record;
  }

  /**
   * Records the decision exactly once: only a pending approval whose links have not expired at
   * `now` changes. Throws ApprovalAlreadyDecided or ApprovalExpired (with the stored record) else.
   */
  async decide(
    approvalId: string,
    d: { decision: ApprovalVerdict; by: string; reason?: string },
    now: Date,
  ): Promise<ApprovalRecord> {
    try {
      const out = await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: approvalKey(approvalId),
          UpdateExpression: `SET #status = :decision, decidedBy = :by, decidedAt = :at${d.reason ? ', reason = :reason' : ''}`,
          ConditionExpression: 'attribute_exists(pk) AND #status = :pending AND linkExpires > :nowSeconds',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: {
            ':decision': d.decision,
            ':by': d.by,
            ':at': now.toISOString(),
            ':pending': 'pending',
            ':nowSeconds': Math.floor(now.getTime() / 1000),
            ...(d.reason ? { ':reason': d.reason } : {}),
          },
          ReturnValues: 'ALL_NEW',
        }),
      );
      const { pk: _pk, sk: _sk, expiresAt: _ttl, ...record } = out.Attributes ?? {};
      return record as ApprovalRecord;
    } catch (err) {
      if (!isConditionalCheckFailed(err)) throw err;
      const record = await this.get(approvalId);
      if (record.status !== 'pending') throw new ApprovalAlreadyDecided(record);
      throw new ApprovalExpired(record);
    }
  }

  async setDelivery(approvalId: string, delivery: DeliveryState): Promise<void> {
    await this.client.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: approvalKey(approvalId),
        UpdateExpression: 'SET delivery = :d',
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeValues: { ':d': delivery },
      }),
    );
  }
}
