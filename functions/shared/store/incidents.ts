// Incidents (INCIDENT#<id> / META) and their fault families' open slots (OPEN#<cluster>#<family> /
// SLOT): recording a classified signal exactly once (create, join, fold, upgrade, reopen: its
// write path is record-signal.ts), reading incidents, and their lifecycle (status, acknowledge,
// resolve, reopen, notes). Every write that
// races another is a conditional write; the lines it leaves go through the Timeline, the signal's
// dedup marker through the SignalLedger.
import { DeleteCommand, ScanCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { Correlation } from '#domain/correlate.js';
import { mtta, type LifecycleVia, type ResolvedIncident } from '#domain/lifecycle.js';
import type { Decision, IncidentStatus, IncidentType, OpenIncident, Signal } from '#domain/types.js';
import {
  ConditionalWriteConflict,
  IncidentNotFoundError,
  IncidentStatusConflict,
  isConditionalCheckFailed,
} from '../errors.js';
import { assertRunMayAct, runCondition } from './cluster-lock.js';
import { SignalRecorder, type IncidentRepoOptions, type RecordOutcome } from './record-signal.js';
import type { SignalLedger } from './signal-ledger.js';
import {
  ACTIVE_STATUSES,
  CLOSED_STATUSES,
  INCIDENT_TABLE_SCHEMA,
  getIncident,
  findIncident,
  keys,
  queryAll,
  toIncident,
  updateExistingIncident,
  type IncidentRecord,
  type Item,
  type StoreTable,
} from './table.js';
import { toTimeline, type Timeline, type TimelineEntry } from './timeline.js';

/** The same escalated incident's owner hears of a covered signal at most this often. */
export const RENOTIFY_MIN_SECONDS = 300;

export interface IncidentWithTimeline extends IncidentRecord {
  timeline: TimelineEntry[];
}

export class IncidentRepo {
  private readonly recorder: SignalRecorder;

  constructor(
    private readonly t: StoreTable,
    private readonly timeline: Timeline,
    signals: SignalLedger,
    opts: IncidentRepoOptions = {},
  ) {
    this.recorder = new SignalRecorder(t, timeline, signals, opts);
  }

  // ---------------------------------------------------------------- signals and incidents

  /** Records one classified signal exactly once (SignalRecorder.recordSignal in record-signal.ts says how). */
  recordSignal(
    signal: Signal,
    decision: Decision,
    correlation: Correlation,
    recorrelate?: (open: OpenIncident[]) => Correlation,
  ): Promise<RecordOutcome> {
    return this.recorder.recordSignal(signal, decision, correlation, recorrelate);
  }

  // ---------------------------------------------------------------- reads

  /** The incident with its timeline in time order. */
  async get(id: string): Promise<IncidentWithTimeline> {
    const items = await queryAll(this.t, {
      TableName: this.t.tableName,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': keys.incidentPk(id) },
      ConsistentRead: true,
    });
    const meta = items.find((i) => i.sk === 'META');
    if (!meta) throw new IncidentNotFoundError(id);
    const timeline = items.filter((i) => typeof i.sk === 'string' && i.sk.startsWith('TL#')).map(toTimeline);
    return { ...toIncident(meta), timeline };
  }

  /** Active incidents of a cluster (open, remediating, awaiting approval, escalated), oldest first. */
  async listOpen(cluster: string): Promise<IncidentRecord[]> {
    const items = await queryAll(this.t, {
      TableName: this.t.tableName,
      IndexName: INCIDENT_TABLE_SCHEMA.gsi1.name,
      KeyConditionExpression: 'gsi1pk = :pk',
      ExpressionAttributeValues: { ':pk': keys.openIndex(cluster) },
    });
    return items.map(toIncident).filter((i) => ACTIVE_STATUSES.includes(i.status));
  }

  /** Incidents of a cluster resolved at or after `since`, newest first (for reopening a returning fault). */
  async listRecentlyResolved(cluster: string, since: Date): Promise<(IncidentRecord & ResolvedIncident)[]> {
    const items = await queryAll(this.t, {
      TableName: this.t.tableName,
      IndexName: INCIDENT_TABLE_SCHEMA.gsi1.name,
      KeyConditionExpression: 'gsi1pk = :pk AND gsi1sk >= :since',
      ExpressionAttributeValues: { ':pk': keys.resolvedIndex(cluster), ':since': since.toISOString() },
      ScanIndexForward: false,
    });
    return items
      .map(toIncident)
      .filter((i): i is IncidentRecord & ResolvedIncident => i.status === 'resolved' && i.resolvedAt !== undefined);
  }

  /**
   * Every incident, open or closed, newest first, optionally of one cluster and/or status: for
   * operators (`kafka-heal incidents list`), never on the alarm path (it scans the table).
   */
  async list(filter: { cluster?: string; status?: IncidentStatus } = {}): Promise<IncidentRecord[]> {
    const conditions = ['sk = :meta', 'begins_with(pk, :incident)'];
    const values: Record<string, unknown> = { ':meta': 'META', ':incident': 'INCIDENT#' };
    const names: Record<string, string> = {};
    if (filter.cluster !== undefined) {
      conditions.push('#cluster = :cluster');
      names['#cluster'] = 'cluster';
      values[':cluster'] = filter.cluster;
    }
    if (filter.status !== undefined) {
      conditions.push('#status = :status');
      names['#status'] = 'status';
      values[':status'] = filter.status;
    }
    const items: Item[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const res = await this.t.client.send(
        new ScanCommand({
          TableName: this.t.tableName,
          FilterExpression: conditions.join(' AND '),
          ExpressionAttributeValues: values,
          ...(Object.keys(names).length > 0 ? { ExpressionAttributeNames: names } : {}),
          ...(start ? { ExclusiveStartKey: start } : {}),
        }),
      );
      items.push(...((res.Items ?? []) as Item[]));
      start = res.LastEvaluatedKey;
    } while (start);
    return items
      .map(toIncident)
      .sort((a, b) => (a.openedAt < b.openedAt ? 1 : a.openedAt > b.openedAt ? -1 : a.id.localeCompare(b.id)));
  }

  // ---------------------------------------------------------------- writes

  /**
   * Moves an incident to `status` only if it is in one of `expected`. Closing statuses drop it
   * from the open index (a resolved incident moves to the cluster's resolved index, for reopening);
   * resolving computes MTTD (detect -> open) and MTTR (detect -> resolve) and records who resolved
   * it and from where. Closed and escalated incidents give up their fault family's open slot (an
   * escalated one belongs to people: the next fault of its family gets an incident of its own).
   */
  async setStatus(
    id: string,
    status: IncidentStatus,
    expected: readonly IncidentStatus[],
    note?: { actor: string; detail?: string; via?: LifecycleVia },
    /** The execution asking: refused with RunSupersededError unless runMayAct (run-fencing.ts), in the same write. */
    run?: string,
    /** Only if the incident is still at this version (nothing joined or changed since the caller read it). */
    version?: number,
  ): Promise<IncidentRecord> {
    const current = await getIncident(this.t, id);
    if (run !== undefined) assertRunMayAct(id, current, run);
    // Already there: nothing to write, nothing to add to the timeline.
    if (current.status === status) return current;
    return this.changeStatus(current, status, expected, note, run, version);
  }

  /** setStatus's conditional write from `current` as read: exactly one caller moves the incident (IncidentStatusConflict for the others). */
  private async changeStatus(
    current: IncidentRecord,
    status: IncidentStatus,
    expected: readonly IncidentStatus[],
    note: { actor: string; detail?: string; via?: LifecycleVia } | undefined,
    run: string | undefined,
    version: number | undefined,
  ): Promise<IncidentRecord> {
    const id = current.id;
    const now = this.t.now();
    const names: Record<string, string> = { '#status': 'status', '#v': 'version' };
    const values: Record<string, unknown> = {
      ':status': status,
      ':one': 1,
      ':now': now.toISOString(),
      ...(version === undefined ? {} : { ':expectedVersion': version }),
      ...Object.fromEntries(expected.map((s, i) => [`:e${i}`, s])),
    };
    const sets = ['#status = :status', '#v = #v + :one', 'updatedAt = :now'];
    let remove = '';
    if (status === 'suppressed') remove = ' REMOVE gsi1pk, gsi1sk';
    if (status === 'resolved') {
      const detected = Date.parse(current.detectedAt);
      sets.push(
        'resolvedAt = :now',
        'mttdSeconds = :mttd',
        'mttrSeconds = :mttr',
        'resolvedBy = :by',
        'gsi1pk = :rpk',
        'gsi1sk = :rsk',
      );
      values[':mttd'] = Math.max(0, Math.round((Date.parse(current.openedAt) - detected) / 1000));
      values[':mttr'] = Math.max(0, Math.round((now.getTime() - detected) / 1000));
      values[':by'] = note?.actor ?? 'system';
      values[':rpk'] = keys.resolvedIndex(current.cluster);
      values[':rsk'] = `${now.toISOString()}#${id}`;
      if (note?.via !== undefined) {
        sets.push('resolvedVia = :via');
        values[':via'] = note.via;
      }
    }
    try {
      await this.t.client.send(
        new UpdateCommand({
          TableName: this.t.tableName,
          Key: keys.incident(id),
          UpdateExpression: `SET ${sets.join(', ')}${remove}`,
          ConditionExpression: [
            expected.length
              ? `attribute_exists(pk) AND #status IN (${expected.map((_, i) => `:e${i}`).join(', ')})`
              : 'attribute_exists(pk)',
            ...(run === undefined ? [] : [runCondition(names, values, run)]),
            ...(version === undefined ? [] : ['#v = :expectedVersion']),
          ].join(' AND '),
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
        }),
      );
    } catch (err) {
      if (!isConditionalCheckFailed(err)) throw err;
      const actual = await findIncident(this.t, id);
      if (!actual) throw new IncidentNotFoundError(id);
      if (run !== undefined) assertRunMayAct(id, actual, run);
      if (version !== undefined && actual.version !== version && expected.includes(actual.status))
        throw new ConditionalWriteConflict(keys.incidentPk(id), 1);
      throw new IncidentStatusConflict(id, expected, actual.status);
    }
    if (CLOSED_STATUSES.includes(status) || status === 'escalated')
      await this.releaseSlot(id, current.cluster, current.type);
    await this.timeline.appendTimeline(id, {
      actor: note?.actor ?? 'system',
      action: 'status-changed',
      detail: `${current.status} -> ${status}${note?.detail ? `: ${note.detail}` : ''}`,
      ...(note?.via === undefined ? {} : { result: `via ${note.via}` }),
    });
    return getIncident(this.t, id);
  }

  private async releaseSlot(id: string, cluster: string, type: IncidentType): Promise<void> {
    try {
      await this.t.client.send(
        new DeleteCommand({
          TableName: this.t.tableName,
          Key: keys.slot(cluster, type),
          ConditionExpression: 'incidentId = :id',
          ExpressionAttributeValues: { ':id': id },
        }),
      );
    } catch (err) {
      // Already released, or another incident of the family holds it now.
      if (!isConditionalCheckFailed(err)) throw err;
    }
  }

  /**
   * A person acknowledges the incident: the first acknowledgement since it (re)opened wins (who,
   * from where, and MTTA from the first page or detection, kept from the very first one); a later
   * one, or one on a closed incident, changes nothing. Every one is on the timeline.
   * `firstMtta` is set only for the acknowledgement whose write recorded the incident's MTTA (its
   * very first one, told by the write itself: the item had no mttaSeconds before it), so a metric
   * published from it counts each incident once, whichever path acknowledged it and whoever raced it.
   */
  async acknowledge(
    id: string,
    by: string,
    via: LifecycleVia,
    detail?: string,
  ): Promise<{
    outcome: 'acknowledged' | 'already-acknowledged' | 'closed';
    incident: IncidentRecord;
    firstMtta?: { seconds: number; from: 'page' | 'detection' };
  }> {
    const at = this.t.now().toISOString();
    const current = await getIncident(this.t, id);
    const t = mtta(at, current.detectedAt, current.firstPagedAt);
    let first: boolean;
    try {
      const out = await this.t.client.send(
        new UpdateCommand({
          TableName: this.t.tableName,
          Key: keys.incident(id),
          UpdateExpression:
            'SET acknowledgedAt = :at, acknowledgedBy = :by, acknowledgedVia = :via, mttaSeconds = if_not_exists(mttaSeconds, :mtta), mttaFrom = if_not_exists(mttaFrom, :from), #v = #v + :one',
          ConditionExpression: `attribute_exists(pk) AND attribute_not_exists(acknowledgedAt) AND #status IN (${ACTIVE_STATUSES.map((_, i) => `:s${i}`).join(', ')})`,
          ExpressionAttributeNames: { '#v': 'version', '#status': 'status' },
          ExpressionAttributeValues: {
            ':at': at,
            ':by': by,
            ':via': via,
            ':mtta': t.seconds,
            ':from': t.from,
            ':one': 1,
            ...Object.fromEntries(ACTIVE_STATUSES.map((st, i) => [`:s${i}`, st])),
          },
          // The old values of the attributes it set: mttaSeconds is among them only if it was there.
          ReturnValues: 'UPDATED_OLD',
        }),
      );
      first = out.Attributes?.mttaSeconds === undefined;
    } catch (err) {
      if (!isConditionalCheckFailed(err)) throw err;
      const now = await getIncident(this.t, id);
      const closed = !ACTIVE_STATUSES.includes(now.status);
      await this.timeline.appendTimeline(id, {
        at,
        actor: by,
        action: closed ? 'acknowledge-after-close' : 'acknowledge-repeated',
        detail: `from ${via}${detail ? `: ${detail}` : ''}; ${closed ? `the incident is already ${now.status}${now.resolvedBy ? ` (by ${now.resolvedBy})` : ''}` : `already acknowledged by ${now.acknowledgedBy ?? '?'} at ${now.acknowledgedAt ?? '?'}`}: nothing changed`,
        result: 'no change',
      });
      return { outcome: closed ? 'closed' : 'already-acknowledged', incident: now };
    }
    await this.timeline.appendTimeline(id, {
      at,
      actor: by,
      action: 'acknowledged',
      detail: `from ${via}${detail ? `: ${detail}` : ''}; MTTA ${t.seconds} s from the ${t.from === 'page' ? 'first page' : 'detection'}`,
      result: `via ${via}`,
    });
    return { outcome: 'acknowledged', incident: await getIncident(this.t, id), ...(first ? { firstMtta: t } : {}) };
  }

  /**
   * A person (or auto-resolve) resolves the incident from wherever it is active. The first resolve
   * wins (one conditional write, racing the workflow's own resolve too); a later one, or one of a
   * closed incident, changes nothing and says so on the timeline.
   */
  async resolveBy(
    id: string,
    by: string,
    via: LifecycleVia,
    detail: string,
    /** Only if nothing changed since the caller read the incident at this version (auto-resolve): else ConditionalWriteConflict. */
    version?: number,
  ): Promise<{ outcome: 'resolved' | 'already-closed'; incident: IncidentRecord; from?: IncidentStatus }> {
    const before = await getIncident(this.t, id);
    const ignored = async (now: IncidentRecord) => {
      await this.timeline.appendTimeline(id, {
        actor: by,
        action: 'resolve-ignored',
        detail: `from ${via}: ${detail}; the incident is already ${now.status}${now.resolvedBy ? ` (by ${now.resolvedBy} at ${now.resolvedAt ?? '?'})` : ''}: nothing changed`,
        result: 'no change',
      });
      return { outcome: 'already-closed' as const, incident: now };
    };
    if (!ACTIVE_STATUSES.includes(before.status)) return ignored(before);
    try {
      const incident = await this.changeStatus(
        before,
        'resolved',
        ACTIVE_STATUSES,
        { actor: by, detail, via },
        undefined,
        version,
      );
      return { outcome: 'resolved', incident, from: before.status };
    } catch (err) {
      if (!(err instanceof IncidentStatusConflict)) throw err;
      return ignored(await getIncident(this.t, id));
    }
  }

  /**
   * A person reopens a resolved incident: it becomes escalated (theirs; it gives the fault family's
   * slot to no one), held open (auto-resolve leaves it alone), back on the open index, and its
   * resolve time, MTTR and acknowledgement are cleared (MTTA keeps the first). Not resolved: nothing changes.
   */
  async reopenBy(
    id: string,
    by: string,
    via: LifecycleVia,
    detail: string,
  ): Promise<{ outcome: 'reopened' | 'not-resolved'; incident: IncidentRecord }> {
    const current = await getIncident(this.t, id);
    const now = this.t.now().toISOString();
    try {
      await this.t.client.send(
        new UpdateCommand({
          TableName: this.t.tableName,
          Key: keys.incident(id),
          UpdateExpression:
            'SET #status = :esc, holdOpen = :t, reopenCount = if_not_exists(reopenCount, :zero) + :one, reopenedAt = :now, gsi1pk = :gpk, gsi1sk = :gsk, #v = #v + :one REMOVE resolvedAt, resolvedBy, resolvedVia, mttrSeconds, acknowledgedAt, acknowledgedBy, acknowledgedVia, pdAckSyncedAt, pdResolveSyncedAt',
          ConditionExpression: '#status = :resolved',
          ExpressionAttributeNames: { '#status': 'status', '#v': 'version' },
          ExpressionAttributeValues: {
            ':esc': 'escalated',
            ':t': true,
            ':zero': 0,
            ':one': 1,
            ':now': now,
            ':gpk': keys.openIndex(current.cluster),
            ':gsk': `${now}#${id}`,
            ':resolved': 'resolved',
          },
        }),
      );
    } catch (err) {
      if (!isConditionalCheckFailed(err)) throw err;
      const latest = await getIncident(this.t, id);
      await this.timeline.appendTimeline(id, {
        actor: by,
        action: 'reopen-ignored',
        detail: `from ${via}: ${detail}; the incident is ${latest.status}, not resolved: nothing changed`,
        result: 'no change',
      });
      return { outcome: 'not-resolved', incident: latest };
    }
    await this.timeline.appendTimeline(id, {
      actor: by,
      action: 'incident-reopened',
      detail: `from ${via}: ${detail}; resolved -> escalated, held open for people (auto-resolve leaves it; resolve it by hand)`,
      result: `via ${via}`,
    });
    return { outcome: 'reopened', incident: await getIncident(this.t, id) };
  }

  /** A note from a person (or PagerDuty) on the incident's timeline; the incident must exist. */
  async addNote(id: string, by: string, via: LifecycleVia, text: string): Promise<IncidentRecord> {
    const incident = await getIncident(this.t, id);
    await this.timeline.appendTimeline(id, { actor: by, action: 'note', detail: text, result: `via ${via}` });
    return incident;
  }

  /** The first page about the incident went out now (MTTA counts from it); later ones change nothing. */
  async markPaged(id: string, at: string): Promise<void> {
    await updateExistingIncident(this.t, id, 'SET firstPagedAt = if_not_exists(firstPagedAt, :at), #v = #v + :one', {
      ':at': at,
    });
  }

  /** PagerDuty was told of the acknowledgement or the resolution (so nobody tells it twice). */
  async markPagerDutySynced(id: string, what: 'acknowledged' | 'resolved', at: string): Promise<void> {
    await updateExistingIncident(
      this.t,
      id,
      `SET ${what === 'acknowledged' ? 'pdAckSyncedAt' : 'pdResolveSyncedAt'} = if_not_exists(${what === 'acknowledged' ? 'pdAckSyncedAt' : 'pdResolveSyncedAt'}, :at), #v = #v + :one`,
      { ':at': at },
    );
  }

  /**
   * Claims the right to re-notify the owner of an escalated incident: true at most once per
   * `minSeconds` (a conditional write, whoever races), so a flapping alarm does not page on every flap.
   */
  async claimRenotify(id: string, minSeconds: number = RENOTIFY_MIN_SECONDS): Promise<boolean> {
    const now = this.t.now();
    try {
      await this.t.client.send(
        new UpdateCommand({
          TableName: this.t.tableName,
          Key: keys.incident(id),
          UpdateExpression: 'SET lastRenotifiedAt = :now',
          ConditionExpression:
            'attribute_exists(pk) AND (attribute_not_exists(lastRenotifiedAt) OR lastRenotifiedAt <= :before)',
          ExpressionAttributeValues: {
            ':now': now.toISOString(),
            ':before': new Date(now.getTime() - minSeconds * 1000).toISOString(),
          },
        }),
      );
      return true;
    } catch (err) {
      if (isConditionalCheckFailed(err)) return false;
      throw err;
    }
  }

  async setExecution(id: string, executionArn: string): Promise<void> {
    await updateExistingIncident(this.t, id, 'SET executionArn = :arn, #v = #v + :one', { ':arn': executionArn });
  }
}
