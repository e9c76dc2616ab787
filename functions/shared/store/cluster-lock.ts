// The per-cluster remediation lock (LOCK#<cluster> / LOCK, owner = incident id, TTL) and run
// fencing: which execution may act for an incident (activeRun, fencedRuns on the incident item,
// judged by runMayAct in functions/domain/run-fencing.ts). Safety rule 2, one remediation per
// cluster at a time, rests on the conditional writes here.
import { DeleteCommand, GetCommand, PutCommand, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { RUN_ACTING_STATUSES, RUN_BUSY_STATUSES, runMayAct } from '#domain/run-fencing.js';
import type { IncidentStatus } from '#domain/types.js';
import {
  ConditionalWriteConflict,
  LockHeldError,
  LockNotOwnedError,
  RunSupersededError,
  isConditionalCheckFailed,
} from '../errors.js';
import {
  epochSeconds,
  findIncident,
  keys,
  updateExistingIncident,
  type IncidentRecord,
  type StoreTable,
} from './table.js';

/** A remediation holds its cluster's lock at most this long unless renewed: longer than every workflow's 55-minute execution bound (the classifier's and a hand-started run's lock alike). */
export const LOCK_TTL_SECONDS = 3600;

export interface LockInfo {
  cluster: string;
  owner: string;
  acquiredAt: string;
  /** Epoch seconds (also the item's TTL). */
  expiresAt: number;
  /** The execution (ARN) allowed to act under the lock; absent for a lock taken without one. */
  run?: string;
}

/** RunSupersededError unless execution `run` may act for the incident as read (runMayAct). */
export function assertRunMayAct(id: string, incident: IncidentRecord, run: string): void {
  const verdict = runMayAct(incident, run);
  if (!verdict.mayAct) throw new RunSupersededError(id, run, verdict.reason);
}

/**
 * runMayAct (run-fencing.ts) as a DynamoDB condition on the incident item; adds its names and
 * values. Comparisons with a missing attribute are false in DynamoDB, hence the explicit
 * attribute_not_exists terms; NOT contains() on a missing set is true. Used by holdLockForRun
 * here and by IncidentRepo.setStatus for a run's own status change.
 */
export function runCondition(names: Record<string, string>, values: Record<string, unknown>, run: string): string {
  names['#status'] = 'status';
  names['#fenced'] = 'fencedRuns';
  names['#active'] = 'activeRun';
  values[':runMe'] = run;
  const list = (prefix: string, statuses: readonly IncidentStatus[]) =>
    statuses.map((st, i) => {
      values[`:${prefix}${i}`] = st;
      return `:${prefix}${i}`;
    });
  const acting = list('ra', RUN_ACTING_STATUSES).join(', ');
  const busy = list('rb', RUN_BUSY_STATUSES).join(', ');
  return `NOT contains(#fenced, :runMe) AND (attribute_not_exists(#active) OR (#active = :runMe AND #status IN (${acting})) OR (#active <> :runMe AND NOT (#status IN (${busy}))))`;
}

export class ClusterLock {
  constructor(private readonly t: StoreTable) {}

  // ---------------------------------------------------------------- run fencing

  /** RunSupersededError unless execution `run` may act for the incident (run-fencing.ts); an unknown incident lets it. */
  async checkRun(id: string, run: string): Promise<void> {
    const incident = await findIncident(this.t, id);
    if (incident) assertRunMayAct(id, incident, run);
  }

  /**
   * Names the execution that acts for the incident (run-fencing.ts), before it is started, so its
   * steps may take the cluster lock and close the incident while no later decision replaced it.
   */
  async designateRun(id: string, run: string): Promise<void> {
    await updateExistingIncident(this.t, id, 'SET activeRun = :run, #v = #v + :one', { ':run': run });
  }

  /**
   * Marks an execution superseded: from this write on it can neither take nor keep the cluster
   * lock, nor close or escalate the incident. The classifier fences before it stops the execution
   * and releases its lock, so a step still in flight (StopExecution does not abort it) loses.
   */
  async fenceRun(id: string, run: string): Promise<void> {
    await updateExistingIncident(this.t, id, 'SET #v = #v + :one ADD fencedRuns :run', { ':run': new Set([run]) });
  }

  // ---------------------------------------------------------------- the per-cluster lock

  /**
   * Takes the cluster's remediation lock for `owner` (an incident id), naming the execution `run`
   * that may act under it when given. Succeeds when the lock is free, expired, or already held by
   * the same owner (retries are safe; the run is replaced); otherwise LockHeldError.
   */
  async acquireLock(cluster: string, owner: string, ttlSeconds: number, run?: string): Promise<LockInfo> {
    const now = this.t.now();
    const lock: LockInfo = {
      cluster,
      owner,
      acquiredAt: now.toISOString(),
      expiresAt: epochSeconds(now) + ttlSeconds,
      ...(run === undefined ? {} : { run }),
    };
    try {
      await this.t.client.send(
        new PutCommand({
          TableName: this.t.tableName,
          Item: { ...keys.lock(cluster), ...lock },
          ConditionExpression: 'attribute_not_exists(pk) OR expiresAt < :now OR #owner = :owner',
          ExpressionAttributeNames: { '#owner': 'owner' },
          ExpressionAttributeValues: { ':now': epochSeconds(now), ':owner': owner },
        }),
      );
      return lock;
    } catch (err) {
      if (!isConditionalCheckFailed(err)) throw err;
      const held = await this.getLock(cluster);
      throw new LockHeldError(cluster, held?.owner, held?.expiresAt);
    }
  }

  /**
   * A run's own hold on the lock (its start step): keeps a lock that names this incident and run
   * (or this incident and no run), else takes a free or expired one, in one transaction with the
   * check that the incident still lets the run act (runMayAct). RunSupersededError when it does
   * not; LockHeldError when another incident, or another run of this incident, holds the lock.
   * `taken` is false when the run already held it. The one transaction over two aggregates (the
   * lock item and a condition on the incident item) lives here, with the lock it guards.
   */
  async holdLockForRun(
    cluster: string,
    owner: string,
    run: string,
    ttlSeconds: number,
  ): Promise<{ taken: boolean; lock: LockInfo }> {
    const now = this.t.now();
    const lock: LockInfo = {
      cluster,
      owner,
      acquiredAt: now.toISOString(),
      expiresAt: epochSeconds(now) + ttlSeconds,
      run,
    };
    const held = await this.getLock(cluster);
    const ours =
      held !== undefined &&
      held.owner === owner &&
      (held.run === undefined || held.run === run) &&
      held.expiresAt >= epochSeconds(now);
    const names: Record<string, string> = {};
    const values: Record<string, unknown> = {};
    const mayAct = `attribute_not_exists(pk) OR (${runCondition(names, values, run)})`;
    try {
      await this.t.client.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              ConditionCheck: {
                TableName: this.t.tableName,
                Key: keys.incident(owner),
                ConditionExpression: mayAct,
                ExpressionAttributeNames: names,
                ExpressionAttributeValues: values,
              },
            },
            {
              Put: {
                TableName: this.t.tableName,
                Item: { ...keys.lock(cluster), ...(ours && held ? { ...lock, acquiredAt: held.acquiredAt } : lock) },
                ConditionExpression:
                  'attribute_not_exists(pk) OR expiresAt < :now OR (#owner = :owner AND (attribute_not_exists(#run) OR #run = :run))',
                ExpressionAttributeNames: { '#owner': 'owner', '#run': 'run' },
                ExpressionAttributeValues: { ':now': epochSeconds(now), ':owner': owner, ':run': run },
              },
            },
          ],
        }),
      );
      return { taken: !ours, lock };
    } catch (err) {
      const reasons = (err as { CancellationReasons?: { Code?: string }[] }).CancellationReasons;
      if (!reasons) throw err;
      if (reasons[0]?.Code === 'ConditionalCheckFailed') {
        const incident = await findIncident(this.t, owner);
        if (incident) assertRunMayAct(owner, incident, run);
      }
      if (reasons[1]?.Code === 'ConditionalCheckFailed') {
        const now2 = await this.getLock(cluster);
        throw new LockHeldError(
          cluster,
          now2?.owner === owner ? `${owner} (run ${now2.run ?? 'unnamed'})` : now2?.owner,
          now2?.expiresAt,
        );
      }
      // A condition that held again on the re-read, or a concurrent transaction: the step's retry re-reads.
      throw new ConditionalWriteConflict(`${keys.lock(cluster).pk} and ${keys.incidentPk(owner)}`, 1);
    }
  }

  /** Extends the owner's lock; refused (LockNotOwnedError) if someone else holds it or it is gone. */
  async renewLock(cluster: string, owner: string, ttlSeconds: number): Promise<LockInfo> {
    const now = this.t.now();
    const expiresAt = epochSeconds(now) + ttlSeconds;
    try {
      const res = await this.t.client.send(
        new UpdateCommand({
          TableName: this.t.tableName,
          Key: keys.lock(cluster),
          UpdateExpression: 'SET expiresAt = :exp',
          ConditionExpression: '#owner = :owner',
          ExpressionAttributeNames: { '#owner': 'owner' },
          ExpressionAttributeValues: { ':exp': expiresAt, ':owner': owner },
          ReturnValues: 'ALL_NEW',
        }),
      );
      const a = res.Attributes ?? {};
      return {
        cluster,
        owner,
        acquiredAt: a.acquiredAt as string,
        expiresAt,
        ...(typeof a.run === 'string' ? { run: a.run } : {}),
      };
    } catch (err) {
      if (isConditionalCheckFailed(err)) throw new LockNotOwnedError(cluster, owner);
      throw err;
    }
  }

  /**
   * Releases the lock if `owner` holds it (and, when `run` is given, the lock names that run or
   * none: a superseded run never releases the lock its successor of the same incident holds);
   * false if there was no lock; LockNotOwnedError otherwise.
   */
  async releaseLock(cluster: string, owner: string, run?: string): Promise<boolean> {
    try {
      const res = await this.t.client.send(
        new DeleteCommand({
          TableName: this.t.tableName,
          Key: keys.lock(cluster),
          ConditionExpression:
            run === undefined
              ? 'attribute_not_exists(pk) OR #owner = :owner'
              : 'attribute_not_exists(pk) OR (#owner = :owner AND (attribute_not_exists(#run) OR #run = :run))',
          ExpressionAttributeNames: { '#owner': 'owner', ...(run === undefined ? {} : { '#run': 'run' }) },
          ExpressionAttributeValues: { ':owner': owner, ...(run === undefined ? {} : { ':run': run }) },
          ReturnValues: 'ALL_OLD',
        }),
      );
      return res.Attributes !== undefined;
    } catch (err) {
      if (isConditionalCheckFailed(err)) throw new LockNotOwnedError(cluster, owner);
      throw err;
    }
  }

  async getLock(cluster: string): Promise<LockInfo | undefined> {
    const res = await this.t.client.send(
      new GetCommand({ TableName: this.t.tableName, Key: keys.lock(cluster), ConsistentRead: true }),
    );
    if (!res.Item) return undefined;
    return {
      cluster,
      owner: res.Item.owner as string,
      acquiredAt: res.Item.acquiredAt as string,
      expiresAt: Number(res.Item.expiresAt),
      ...(typeof res.Item.run === 'string' ? { run: res.Item.run } : {}),
    };
  }
}
