// Incidents (INCIDENT#<id> / META) and their fault families' open slots (OPEN#<cluster>#<family> /
// SLOT): recording a classified signal exactly once (create, join, fold, upgrade, reopen), reading
// incidents, and their lifecycle (status, acknowledge, resolve, reopen, notes). Every write that
// races another is a conditional write; the lines it leaves go through the Timeline, the signal's
// dedup marker through the SignalLedger.
import { DeleteCommand, GetCommand, ScanCommand, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { FOLD_STATUSES, type Correlation, type FoldEntry } from '../../domain/correlate.js';
import { fingerprintKey, incidentIdFor } from '../../domain/incident-id.js';
import { mtta, type LifecycleVia, type ResolvedIncident } from '../../domain/lifecycle.js';
import type { Decision, IncidentStatus, IncidentType, OpenIncident, Severity, Signal } from '../../domain/types.js';
import { ConditionalWriteConflict, IncidentNotFoundError, IncidentStatusConflict, isConditionalCheckFailed } from '../errors.js';
import { assertRunMayAct, runCondition } from './cluster-lock.js';
import type { DuplicateSignal, SignalLedger } from './signal-ledger.js';
import {
  ACTIVE_STATUSES,
  CLOSED_STATUSES,
  INCIDENT_TABLE_SCHEMA,
  backoff,
  decodeAlarms,
  encodeAlarm,
  findIncident,
  getIncident,
  keys,
  lessSevere,
  moreSevere,
  queryAll,
  toIncident,
  updateExistingIncident,
  type IncidentRecord,
  type Item,
  type StoreTable,
} from './table.js';
import { toTimeline, type Timeline, type TimelineEntry } from './timeline.js';

/** Compare-and-set rounds before giving up with ConditionalWriteConflict (the signal is then retried by SQS). */
const MAX_CONFLICT_RETRIES = 8;
/**
 * Fingerprint keys an incident keeps (each at most 71 characters: fingerprintKey), about 145 KB at
 * most of the 400 KB item. Past it a new fingerprint is only counted (fingerprintOverflow) and
 * correlation falls back to the fault family; the timeline says so once (fingerprints-capped).
 */
export const MAX_INCIDENT_FINGERPRINTS = 2_000;
/** Rounds of applySignal: transaction conflicts under an alarm storm back off and retry (about 6 s at most). */
const MAX_APPLY_ROUNDS = 40;
/**
 * Alarms (fingerprint keys) whose state an incident tracks for auto-resolve; past it the incident
 * says alarmsUntracked and is resolved by hand (about 20 KB of the item at most).
 */
export const MAX_TRACKED_ALARMS = 200;
/** The same escalated incident's owner hears of a covered signal at most this often. */
export const RENOTIFY_MIN_SECONDS = 300;

export interface IncidentWithTimeline extends IncidentRecord {
  timeline: TimelineEntry[];
}

export type RecordOutcome =
  | { outcome: 'created'; incident: IncidentRecord }
  | {
      outcome: 'joined';
      incident: IncidentRecord;
      newFingerprint: boolean;
      newBrokers: number[];
      /** Set when the signal was folded into this cluster-wide incident (correlate's rule 0): nothing is left to act on. */
      folded?: true;
    }
  | { outcome: 'upgraded'; incident: IncidentRecord; from: { type: IncidentType; severity: Severity } }
  /** The fault returned soon after its incident was resolved without the healer: it is open again. */
  | { outcome: 'reopened'; incident: IncidentRecord }
  | DuplicateSignal;

export type RecordedOutcome = Exclude<RecordOutcome, { outcome: 'duplicate' }>;

export interface IncidentRepoOptions {
  /** Fingerprint keys an incident keeps (MAX_INCIDENT_FINGERPRINTS); tests make it small. */
  maxFingerprints?: number;
  /** Alarms whose state an incident tracks (MAX_TRACKED_ALARMS); tests make it small. */
  maxTrackedAlarms?: number;
}

/** Room for one more fingerprint key (:fpk) on the incident, below :fpCap, or the key is known. */
const FINGERPRINT_ROOM = '(attribute_not_exists(fingerprints) OR size(fingerprints) < :fpCap OR contains(fingerprints, :fpk))';

/** A suffix keeps a recurring fault's new incident distinct from the closed one with the same id. */
function recurrenceId(baseId: string, n: number): string {
  const suffix = `-r${n}`;
  return `${baseId.slice(0, 80 - suffix.length)}${suffix}`;
}

export class IncidentRepo {
  private readonly maxFingerprints: number;
  private readonly maxTrackedAlarms: number;

  constructor(
    private readonly t: StoreTable,
    private readonly timeline: Timeline,
    private readonly signals: SignalLedger,
    opts: IncidentRepoOptions = {},
  ) {
    this.maxFingerprints = opts.maxFingerprints ?? MAX_INCIDENT_FINGERPRINTS;
    this.maxTrackedAlarms = opts.maxTrackedAlarms ?? MAX_TRACKED_ALARMS;
  }

  // ---------------------------------------------------------------- signals and incidents

  /**
   * Records one classified signal exactly once: claims the signal id, then creates, joins or
   * upgrades the incident the correlation names, then marks the signal recorded.
   *
   * `correlation` was computed from a possibly stale view of the open incidents. When creation
   * loses the race for the fault's open slot, `recorrelate` (the pure correlate() bound to this
   * signal, decision and policy) is asked again with the incident that won, so two brokers failing
   * at once still become a cascade rather than two incidents. Without it the signal joins the winner.
   */
  async recordSignal(
    signal: Signal,
    decision: Decision,
    correlation: Correlation,
    recorrelate?: (open: OpenIncident[]) => Correlation,
  ): Promise<RecordOutcome> {
    const claim = await this.signals.claimSignal(signal.id);
    if (claim.duplicate) return claim.result;
    let result: RecordedOutcome;
    try {
      result = await this.applySignal(signal, decision, correlation, recorrelate);
    } catch (err) {
      // Let the redelivery try again from scratch.
      await this.signals.dropClaim(signal.id, claim.claimedAt);
      throw err;
    }
    await this.signals.markSignalRecorded(signal.id, result.incident.id, result.outcome, decision);
    return result;
  }

  private async applySignal(
    signal: Signal,
    decision: Decision,
    first: Correlation,
    recorrelate: ((open: OpenIncident[]) => Correlation) | undefined,
  ): Promise<RecordedOutcome> {
    // A resolved signal annotates its incident; it never upgrades one.
    let correlation: Correlation = first.kind === 'upgrade' && signal.state === 'resolved' ? { kind: 'join', incidentId: first.incidentId } : first;
    let recurrence = 1;
    const baseId = incidentIdFor(signal, decision.incidentType);
    let takeOverSlotFrom: string | undefined;
    for (let attempt = 1; attempt <= MAX_APPLY_ROUNDS; attempt++) {
      if (correlation.kind === 'reopen') {
        const reopened = await this.tryReopen(correlation.incidentId, signal, decision, correlation.why);
        if (reopened === 'conflict') {
          await backoff(attempt);
          continue;
        }
        if (reopened === 'closed') {
          // Reopened, or taken on, by someone else meanwhile, or too late: a new incident.
          correlation = { kind: 'new' };
          continue;
        }
        if ('holder' in reopened) {
          // Another incident of the fault family is active: the signal belongs with it.
          const holder = await findIncident(this.t, reopened.holder);
          correlation = holder && ACTIVE_STATUSES.includes(holder.status) && recorrelate ? recorrelate([holder]) : { kind: 'new' };
          if (correlation.kind === 'reopen') correlation = { kind: 'join', incidentId: reopened.holder };
          continue;
        }
        return reopened;
      }
      if (correlation.kind !== 'new') {
        const applied =
          correlation.kind === 'upgrade'
            ? await this.tryUpgrade(correlation.incidentId, signal, decision, { to: correlation.to, severity: correlation.severity })
            : correlation.kind === 'fold'
              ? await this.tryFold(correlation.incidentId, correlation.into, signal, correlation.entry)
              : await this.tryJoin(correlation.incidentId, signal, decision);
        if (applied !== 'closed') return applied;
        // The incident closed under us (or, for a fold, was escalated): this signal starts a new one.
        correlation = { kind: 'new' };
        continue;
      }
      const id = recurrence === 1 ? baseId : recurrenceId(baseId, recurrence);
      const linkedTo = correlation.linkedTo;
      const created = await this.tryCreate(id, signal, decision, takeOverSlotFrom, linkedTo?.incidentId);
      takeOverSlotFrom = undefined;
      if (created === 'created') {
        const incident = await getIncident(this.t, id);
        await this.timeline.appendTimeline(id, {
          actor: 'classifier',
          action: 'incident-opened',
          detail: `${decision.incidentType} ${decision.severity} on ${signal.cluster} from ${signal.source} signal ${signal.name} (${signal.kind}${signal.brokerIds.length ? `, brokers ${signal.brokerIds.join(',')}` : ''})${linkedTo ? `; linked to escalated incident ${linkedTo.incidentId}: ${linkedTo.why}` : ''}`,
          result: decision.action,
          reasons: decision.reasons,
        });
        if (linkedTo) {
          await this.timeline.appendTimeline(linkedTo.incidentId, {
            actor: 'classifier',
            action: 'incident-linked',
            detail: `${signal.source} signal ${signal.name} fired while this incident is escalated, and it does not cover it (${linkedTo.why}): it has its own incident ${id}, with its own decision and page`,
            result: id,
          });
        }
        return { outcome: 'created', incident };
      }
      if (created === 'conflict') {
        await backoff(attempt);
        continue;
      }
      // Someone else holds the slot, or an incident with this id exists.
      const holderId = created.holder;
      const holder = await findIncident(this.t, holderId);
      if (created.reason === 'slot' && holder?.status === 'escalated') {
        // An escalated incident no longer holds its family's slot (people own it); one that still
        // does (it escalated before the slot was released on escalation) gives it up.
        takeOverSlotFrom = holderId;
        continue;
      }
      if (holder && ACTIVE_STATUSES.includes(holder.status)) {
        // The world changed since the caller correlated: ask the pure core again with the incident that won.
        const again = recorrelate ? recorrelate([holder]) : { kind: 'join' as const, incidentId: holderId };
        correlation = again.kind === 'new' || again.kind === 'reopen' || (again.kind === 'upgrade' && signal.state === 'resolved') ? { kind: 'join', incidentId: holderId } : again;
        continue;
      }
      if (created.reason === 'slot') {
        // The slot points at a closed or vanished incident (its release was lost): take it over.
        takeOverSlotFrom = holderId;
      } else {
        // This fault's deterministic id is taken by a closed incident: it recurred.
        recurrence++;
      }
    }
    throw new ConditionalWriteConflict(keys.incidentPk(baseId), MAX_APPLY_ROUNDS);
  }

  /**
   * Creates the incident and claims its open slot (cluster + incident family) in one transaction,
   * so concurrent "new" decisions for one fault create exactly one incident.
   */
  private async tryCreate(
    id: string,
    signal: Signal,
    decision: Decision,
    takeOverSlotFrom: string | undefined,
    linkedTo?: string,
  ): Promise<'created' | 'conflict' | { reason: 'slot' | 'id'; holder: string }> {
    const openedAt = this.t.now().toISOString();
    const brokers: Record<string, string> = {};
    if (signal.state === 'firing') for (const b of signal.brokerIds) brokers[String(b)] = signal.observedAt;
    const alarms = { [fingerprintKey(signal.fingerprint)]: encodeAlarm(signal.state === 'firing' ? 'firing' : 'ok', signal.observedAt) };
    const slot = keys.slot(signal.cluster, decision.incidentType);
    try {
      await this.t.client.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Put: {
                TableName: this.t.tableName,
                Item: {
                  ...keys.incident(id),
                  id,
                  cluster: signal.cluster,
                  type: decision.incidentType,
                  severity: decision.severity,
                  status: 'open',
                  brokers,
                  fingerprints: new Set([fingerprintKey(signal.fingerprint)]),
                  signalCount: 1,
                  detectedAt: signal.observedAt,
                  openedAt,
                  lastSignalAt: signal.observedAt,
                  alarms,
                  ...(linkedTo === undefined ? {} : { linkedTo }),
                  decisionAction: decision.action,
                  slotPk: slot.pk,
                  version: 1,
                  gsi1pk: keys.openIndex(signal.cluster),
                  gsi1sk: `${openedAt}#${id}`,
                },
                ConditionExpression: 'attribute_not_exists(pk)',
              },
            },
            {
              Put: {
                TableName: this.t.tableName,
                Item: { ...slot, incidentId: id, cluster: signal.cluster, createdAt: openedAt },
                ...(takeOverSlotFrom
                  ? { ConditionExpression: 'attribute_not_exists(pk) OR incidentId = :stale', ExpressionAttributeValues: { ':stale': takeOverSlotFrom } }
                  : { ConditionExpression: 'attribute_not_exists(pk)' }),
              },
            },
          ],
        }),
      );
      return 'created';
    } catch (err) {
      if (!(err instanceof Error) || err.name !== 'TransactionCanceledException') throw err;
      const reasons = (err as Error & { CancellationReasons?: { Code?: string }[] }).CancellationReasons ?? [];
      if (reasons[0]?.Code === 'ConditionalCheckFailed') return { reason: 'id', holder: id };
      if (reasons[1]?.Code === 'ConditionalCheckFailed') {
        const res = await this.t.client.send(new GetCommand({ TableName: this.t.tableName, Key: slot, ConsistentRead: true }));
        if (typeof res.Item?.incidentId === 'string') return { reason: 'slot', holder: res.Item.incidentId };
      }
      // TransactionConflict (a concurrent transaction on the same items) or a slot that vanished: retry.
      return 'conflict';
    }
  }

  /** Atomic join: fingerprints are a string set, brokers a map set only if absent, so joins never conflict. */
  private async tryJoin(id: string, signal: Signal, decision: Decision): Promise<RecordedOutcome | 'closed'> {
    const names: Record<string, string> = { '#status': 'status', '#v': 'version' };
    const values: Record<string, unknown> = {
      ':one': 1,
      ':at': signal.observedAt,
      ...Object.fromEntries(ACTIVE_STATUSES.map((s, i) => [`:s${i}`, s])),
    };
    const sets = ['signalCount = signalCount + :one', '#v = #v + :one', 'lastSignalAt = :at'];
    if (signal.state === 'firing') {
      signal.brokerIds.forEach((b, i) => {
        names[`#b${i}`] = String(b);
        sets.push(`brokers.#b${i} = if_not_exists(brokers.#b${i}, :at)`);
      });
    }
    const active = `attribute_exists(pk) AND #status IN (${ACTIVE_STATUSES.map((_, i) => `:s${i}`).join(', ')})`;
    const old = await this.countWithFingerprint(id, signal.fingerprint, { sets, condition: active, names, values });
    if (old === 'closed') return 'closed';
    await this.trackAlarm(id, old, signal);
    const before = toIncident(old);
    const newFingerprint = !before.fingerprints.includes(fingerprintKey(signal.fingerprint));
    const known = new Set(before.brokers.map((b) => b.id));
    const newBrokers = signal.state === 'firing' ? signal.brokerIds.filter((b) => !known.has(b)) : [];
    // A more severe signal raises the incident's severity (never lowers it).
    if (moreSevere(decision.severity, before.severity) !== before.severity) {
      await this.raiseSeverity(id, decision.severity);
    }
    // Detection time is the earliest observation, whichever signal won the race to create.
    if (signal.state === 'firing' && Date.parse(signal.observedAt) < Date.parse(before.detectedAt)) {
      await this.lowerDetectedAt(id, signal.observedAt);
    }
    // Repeats of a known alarm only count; anything new is worth a timeline line.
    if (newFingerprint || newBrokers.length > 0 || signal.state === 'resolved') {
      await this.timeline.appendTimeline(id, {
        actor: 'classifier',
        action: signal.state === 'resolved' ? 'signal-resolved' : 'signal-joined',
        detail: `${signal.source} signal ${signal.name} (${signal.kind}${newBrokers.length ? `, new brokers ${newBrokers.join(',')}` : ''})`,
        result: decision.action,
        reasons: decision.reasons,
      });
    }
    return { outcome: 'joined', incident: await getIncident(this.t, id), newFingerprint, newBrokers };
  }

  /**
   * Atomic fold of a broker-level signal into a cluster-wide incident: the fingerprint is added
   * (a re-fire is recognized) and counted, and the first time the timeline says so; the incident's
   * brokers, severity and detection time stay as they are (the folded signal is a symptom, not a
   * fault of the incident's own). Conditional on the incident still being handled by the
   * automation: one escalated or closed meanwhile folds nothing ('closed': the signal opens its own).
   * A new fingerprint and its timeline line are written in one transaction: the line is the only
   * trace a folded alarm leaves (no incident, no page), so a retry after a later failure must never
   * find the fingerprint without it. That transaction (incident item and timeline line) lives here,
   * with the incident it guards; the line's item comes from Timeline.timelineItem.
   */
  private async tryFold(id: string, into: IncidentType, signal: Signal, entry: FoldEntry): Promise<RecordedOutcome | 'closed'> {
    const names = { '#status': 'status', '#type': 'type', '#v': 'version' };
    const key = fingerprintKey(signal.fingerprint);
    const values = {
      ':one': 1,
      ':at': signal.observedAt,
      ':into': into,
      ...Object.fromEntries(FOLD_STATUSES.map((s, i) => [`:f${i}`, s])),
    };
    const sets = ['signalCount = signalCount + :one', '#v = #v + :one', 'lastSignalAt = :at'];
    const update = `SET ${sets.join(', ')} ADD fingerprints :fp`;
    const foldable = `attribute_exists(pk) AND #type = :into AND #status IN (${FOLD_STATUSES.map((_, i) => `:f${i}`).join(', ')})`;
    const line = this.timeline.timelineItem(id, { actor: 'classifier', action: 'signal-folded', detail: entry.detail, result: 'folded', reasons: entry.reasons });
    try {
      await this.t.client.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Update: {
                TableName: this.t.tableName,
                Key: keys.incident(id),
                UpdateExpression: update,
                ConditionExpression: `${foldable} AND NOT contains(fingerprints, :fpk) AND ${FINGERPRINT_ROOM}`,
                ExpressionAttributeNames: names,
                ExpressionAttributeValues: { ...values, ':fp': new Set([key]), ':fpk': key, ':fpCap': this.maxFingerprints },
              },
            },
            { Put: { TableName: this.t.tableName, Item: line, ConditionExpression: 'attribute_not_exists(pk)' } },
          ],
        }),
      );
      return { outcome: 'joined', incident: await getIncident(this.t, id), newFingerprint: true, newBrokers: [], folded: true };
    } catch (err) {
      // A known fingerprint (re-fire, redelivery, a concurrent classifier won), or no longer foldable.
      if (!(err instanceof Error) || err.name !== 'TransactionCanceledException') throw err;
    }
    // Repeats of a folded alarm only count.
    const old = await this.countWithFingerprint(id, signal.fingerprint, { sets, condition: foldable, names, values });
    if (old === 'closed') return 'closed';
    return { outcome: 'joined', incident: await getIncident(this.t, id), newFingerprint: false, newBrokers: [], folded: true };
  }

  /**
   * Counts a signal on the incident (`sets` under `condition`) and adds its fingerprint key while
   * the incident keeps fewer than MAX_INCIDENT_FINGERPRINTS (or knows it already). Past the cap the
   * signal is counted in fingerprintOverflow instead, and the first such signal puts one
   * fingerprints-capped line on the timeline. Returns the item as it was, or 'closed'.
   */
  private async countWithFingerprint(
    id: string,
    fingerprint: string,
    u: { sets: string[]; condition: string; names: Record<string, string>; values: Record<string, unknown> },
  ): Promise<Item | 'closed'> {
    const key = fingerprintKey(fingerprint);
    const withKey = await this.updateReturningOld(id, {
      update: `SET ${u.sets.join(', ')} ADD fingerprints :fp`,
      condition: `${u.condition} AND ${FINGERPRINT_ROOM}`,
      names: u.names,
      values: { ...u.values, ':fp': new Set([key]), ':fpk': key, ':fpCap': this.maxFingerprints },
    });
    if (withKey !== 'closed') return withKey;
    const counted = await this.updateReturningOld(id, {
      update: `SET ${u.sets.join(', ')}, fingerprintOverflow = if_not_exists(fingerprintOverflow, :zero) + :one`,
      condition: u.condition,
      names: u.names,
      values: { ...u.values, ':zero': 0, ':one': 1 },
    });
    if (counted !== 'closed' && counted.fingerprintOverflow === undefined) {
      await this.timeline.appendTimeline(id, {
        actor: 'classifier',
        action: 'fingerprints-capped',
        detail: `the incident keeps ${this.maxFingerprints} distinct signal fingerprints; further new ones are counted only (signals still join by their fault family)`,
      });
    }
    return counted;
  }

  /** A conditional update of the incident item that returns what it held before, or 'closed' when the condition fails. */
  private async updateReturningOld(
    id: string,
    u: { update: string; condition: string; names: Record<string, string>; values: Record<string, unknown> },
  ): Promise<Item | 'closed'> {
    try {
      const res = await this.t.client.send(
        new UpdateCommand({
          TableName: this.t.tableName,
          Key: keys.incident(id),
          UpdateExpression: u.update,
          ConditionExpression: u.condition,
          ExpressionAttributeNames: u.names,
          ExpressionAttributeValues: u.values,
          ReturnValues: 'ALL_OLD',
        }),
      );
      return res.Attributes ?? {};
    } catch (err) {
      if (isConditionalCheckFailed(err)) return 'closed';
      throw err;
    }
  }

  /**
   * Keeps the signal's alarm state on the incident (for auto-resolve), given the item as it was
   * before the signal counted: written only when it changes the state (storms of one alarm cost
   * one write), never to an older state (the condition compares the `<time>|state` strings), and
   * only while the incident tracks fewer than MAX_TRACKED_ALARMS (else alarmsUntracked, once).
   */
  private async trackAlarm(id: string, before: Item, signal: Signal): Promise<void> {
    const raw = before.alarms;
    if (raw === undefined || raw === null || typeof raw !== 'object') return;
    const key = fingerprintKey(signal.fingerprint);
    const state = signal.state === 'firing' ? 'firing' : 'ok';
    const prev = decodeAlarms(raw as Record<string, unknown>)[key];
    if (prev !== undefined && prev.state === state) return;
    if (prev === undefined && Object.keys(raw).length >= this.maxTrackedAlarms) {
      if (before.alarmsUntracked !== true) await this.flagUntracked(id);
      return;
    }
    try {
      await this.t.client.send(
        new UpdateCommand({
          TableName: this.t.tableName,
          Key: keys.incident(id),
          UpdateExpression: 'SET alarms.#k = :v',
          ConditionExpression: 'attribute_exists(alarms) AND ((attribute_not_exists(alarms.#k) AND size(alarms) < :cap) OR alarms.#k < :v)',
          ExpressionAttributeNames: { '#k': key },
          ExpressionAttributeValues: { ':v': encodeAlarm(state, signal.observedAt), ':cap': this.maxTrackedAlarms },
        }),
      );
    } catch (err) {
      // A later state is already there (signals delivered out of order), or the map filled meanwhile.
      if (!isConditionalCheckFailed(err)) throw err;
      const now = await findIncident(this.t, id);
      if (now?.alarms !== undefined && now.alarms[key] === undefined && Object.keys(now.alarms).length >= this.maxTrackedAlarms && !now.alarmsUntracked) await this.flagUntracked(id);
    }
  }

  private async flagUntracked(id: string): Promise<void> {
    await this.t.client.send(new UpdateCommand({ TableName: this.t.tableName, Key: keys.incident(id), UpdateExpression: 'SET alarmsUntracked = :t', ExpressionAttributeValues: { ':t': true } }));
    await this.timeline.appendTimeline(id, {
      actor: 'classifier',
      action: 'alarms-untracked',
      detail: `the incident tracks the state of ${this.maxTrackedAlarms} alarms; more joined, so it cannot tell when all are OK: it does not resolve itself (resolve it by hand)`,
    });
  }

  /**
   * A firing signal reopens an incident resolved without the healer (correlate's reopen rule):
   * in one transaction the incident goes back to open (still resolved, by a person or auto-resolve,
   * and not after `reopenSeconds`: the caller checked; the condition re-checks it was not reopened
   * meanwhile) and claims its family's open slot. The signal counts on it; its acknowledgement is
   * cleared (a returning fault needs someone again; MTTA keeps the first), its resolve time and MTTR
   * are dropped, reopenCount grows (its runs are attempt reopenCount + 1) and its last run is fenced.
   */
  private async tryReopen(id: string, signal: Signal, decision: Decision, why: string): Promise<RecordedOutcome | 'closed' | 'conflict' | { holder: string }> {
    const current = await findIncident(this.t, id);
    if (!current || current.status !== 'resolved' || current.resolvedAt === undefined) return 'closed';
    const now = this.t.now().toISOString();
    const slot = keys.slot(current.cluster, current.type);
    const key = fingerprintKey(signal.fingerprint);
    const names: Record<string, string> = { '#status': 'status', '#v': 'version' };
    const values: Record<string, unknown> = {
      ':open': 'open',
      ':resolved': 'resolved',
      ':at': current.resolvedAt,
      ':one': 1,
      ':zero': 0,
      ':obs': signal.observedAt,
      ':gpk': keys.openIndex(current.cluster),
      ':gsk': `${now}#${id}`,
      ':now': now,
    };
    const sets = [
      '#status = :open',
      '#v = #v + :one',
      'signalCount = signalCount + :one',
      'lastSignalAt = :obs',
      'reopenCount = if_not_exists(reopenCount, :zero) + :one',
      'gsi1pk = :gpk',
      'gsi1sk = :gsk',
      'reopenedAt = :now',
    ];
    if (current.alarms !== undefined) {
      names['#k'] = key;
      values[':alarm'] = encodeAlarm('firing', signal.observedAt);
      sets.push('alarms.#k = :alarm');
    }
    signal.brokerIds.forEach((b, i) => {
      names[`#b${i}`] = String(b);
      sets.push(`brokers.#b${i} = if_not_exists(brokers.#b${i}, :obs)`);
    });
    const adds: string[] = [];
    if (current.fingerprints.length < this.maxFingerprints || current.fingerprints.includes(key)) {
      values[':fp'] = new Set([key]);
      adds.push('fingerprints :fp');
    } else adds.push('fingerprintOverflow :one');
    if (current.executionArn !== undefined) {
      values[':run'] = new Set([current.executionArn]);
      adds.push('fencedRuns :run');
    }
    try {
      await this.t.client.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Update: {
                TableName: this.t.tableName,
                Key: keys.incident(id),
                UpdateExpression: `SET ${sets.join(', ')} REMOVE resolvedAt, resolvedBy, resolvedVia, mttrSeconds, acknowledgedAt, acknowledgedBy, acknowledgedVia, pdAckSyncedAt, pdResolveSyncedAt, holdOpen ADD ${adds.join(', ')}`,
                ConditionExpression: '#status = :resolved AND resolvedAt = :at',
                ExpressionAttributeNames: names,
                ExpressionAttributeValues: values,
              },
            },
            { Put: { TableName: this.t.tableName, Item: { ...slot, incidentId: id, cluster: current.cluster, createdAt: now }, ConditionExpression: 'attribute_not_exists(pk) OR incidentId = :id', ExpressionAttributeValues: { ':id': id } } },
          ],
        }),
      );
    } catch (err) {
      if (!(err instanceof Error) || err.name !== 'TransactionCanceledException') throw err;
      const reasons = (err as Error & { CancellationReasons?: { Code?: string }[] }).CancellationReasons ?? [];
      if (reasons[0]?.Code === 'ConditionalCheckFailed') return 'closed';
      if (reasons[1]?.Code === 'ConditionalCheckFailed') {
        const res = await this.t.client.send(new GetCommand({ TableName: this.t.tableName, Key: slot, ConsistentRead: true }));
        if (typeof res.Item?.incidentId === 'string') return { holder: res.Item.incidentId };
      }
      return 'conflict';
    }
    await this.timeline.appendTimeline(id, {
      actor: 'classifier',
      action: 'incident-reopened',
      detail: `${why}; ${decision.incidentType} ${decision.severity} gets a fresh decision (reopened ${(current.reopenCount ?? 0) + 1} time(s))`,
      result: decision.action,
      reasons: decision.reasons,
    });
    return { outcome: 'reopened', incident: await getIncident(this.t, id) };
  }

  private async lowerDetectedAt(id: string, observedAt: string): Promise<void> {
    try {
      await this.t.client.send(
        new UpdateCommand({
          TableName: this.t.tableName,
          Key: keys.incident(id),
          UpdateExpression: 'SET detectedAt = :obs',
          ConditionExpression: 'detectedAt > :obs',
          ExpressionAttributeValues: { ':obs': observedAt },
        }),
      );
    } catch (err) {
      // An even earlier signal got there first.
      if (!isConditionalCheckFailed(err)) throw err;
    }
  }

  private async raiseSeverity(id: string, severity: Severity): Promise<void> {
    const more = lessSevere(severity);
    try {
      await this.t.client.send(
        new UpdateCommand({
          TableName: this.t.tableName,
          Key: keys.incident(id),
          UpdateExpression: 'SET severity = :sev, #v = #v + :one',
          ConditionExpression: `severity IN (${more.map((_, i) => `:l${i}`).join(', ')})`,
          ExpressionAttributeNames: { '#v': 'version' },
          ExpressionAttributeValues: { ':sev': severity, ':one': 1, ...Object.fromEntries(more.map((s, i) => [`:l${i}`, s])) },
        }),
      );
    } catch (err) {
      // Someone raised it at least as far already.
      if (!isConditionalCheckFailed(err)) throw err;
    }
  }

  /**
   * Upgrade (e.g. to a cascade): type and severity change under a compare-and-set on the values
   * read, so a concurrent upgrade is re-read and re-applied, and severity is never lowered.
   */
  private async tryUpgrade(
    id: string,
    signal: Signal,
    decision: Decision,
    to: { to: IncidentType; severity: Severity },
  ): Promise<RecordedOutcome | 'closed'> {
    for (let attempt = 1; attempt <= MAX_CONFLICT_RETRIES; attempt++) {
      const current = await findIncident(this.t, id);
      if (!current || CLOSED_STATUSES.includes(current.status)) return 'closed';
      const severity = moreSevere(moreSevere(current.severity, to.severity), decision.severity);
      if (current.type === to.to && severity === current.severity) return this.tryJoin(id, signal, decision);
      const names: Record<string, string> = { '#status': 'status', '#v': 'version', '#type': 'type' };
      const sets = ['#type = :to', 'severity = :sev', 'signalCount = signalCount + :one', '#v = #v + :one', 'lastSignalAt = :at'];
      if (signal.state === 'firing') {
        signal.brokerIds.forEach((b, i) => {
          names[`#b${i}`] = String(b);
          sets.push(`brokers.#b${i} = if_not_exists(brokers.#b${i}, :at)`);
        });
      }
      // Upgrades are few (a type or a severity more), so the read incident's size decides the key.
      const key = fingerprintKey(signal.fingerprint);
      const room = current.fingerprints.length < this.maxFingerprints || current.fingerprints.includes(key);
      try {
        await this.t.client.send(
          new UpdateCommand({
            TableName: this.t.tableName,
            Key: keys.incident(id),
            UpdateExpression: `SET ${sets.join(', ')}${room ? ' ADD fingerprints :fp' : ''}`,
            ConditionExpression: `#type = :oldType AND severity = :oldSev AND #status IN (${ACTIVE_STATUSES.map((_, i) => `:s${i}`).join(', ')})`,
            ExpressionAttributeNames: names,
            ExpressionAttributeValues: {
              ':to': to.to,
              ':sev': severity,
              ':one': 1,
              ':at': signal.observedAt,
              ...(room ? { ':fp': new Set([key]) } : {}),
              ':oldType': current.type,
              ':oldSev': current.severity,
              ...Object.fromEntries(ACTIVE_STATUSES.map((s, i) => [`:s${i}`, s])),
            },
          }),
        );
      } catch (err) {
        if (!isConditionalCheckFailed(err)) throw err;
        await backoff(attempt);
        continue;
      }
      await this.trackAlarm(id, { alarms: current.alarms === undefined ? undefined : Object.fromEntries(Object.entries(current.alarms).map(([k, a]) => [k, encodeAlarm(a.state, a.at)])) }, signal);
      await this.timeline.appendTimeline(id, {
        actor: 'classifier',
        action: 'incident-upgraded',
        detail: `${current.type} ${current.severity} -> ${to.to} ${severity} by ${signal.source} signal ${signal.name} (${signal.kind}${signal.brokerIds.length ? `, brokers ${signal.brokerIds.join(',')}` : ''})`,
        result: decision.action,
        reasons: decision.reasons,
      });
      return { outcome: 'upgraded', incident: await getIncident(this.t, id), from: { type: current.type, severity: current.severity } };
    }
    throw new ConditionalWriteConflict(keys.incidentPk(id), MAX_CONFLICT_RETRIES);
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
    return items.map(toIncident).filter((i): i is IncidentRecord & ResolvedIncident => i.status === 'resolved' && i.resolvedAt !== undefined);
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
    return items.map(toIncident).sort((a, b) => (a.openedAt < b.openedAt ? 1 : a.openedAt > b.openedAt ? -1 : a.id.localeCompare(b.id)));
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
      sets.push('resolvedAt = :now', 'mttdSeconds = :mttd', 'mttrSeconds = :mttr', 'resolvedBy = :by', 'gsi1pk = :rpk', 'gsi1sk = :rsk');
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
            expected.length ? `attribute_exists(pk) AND #status IN (${expected.map((_, i) => `:e${i}`).join(', ')})` : 'attribute_exists(pk)',
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
      if (version !== undefined && actual.version !== version && expected.includes(actual.status)) throw new ConditionalWriteConflict(keys.incidentPk(id), 1);
      throw new IncidentStatusConflict(id, expected, actual.status);
    }
    if (CLOSED_STATUSES.includes(status) || status === 'escalated') await this.releaseSlot(id, current.cluster, current.type);
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
  ): Promise<{ outcome: 'acknowledged' | 'already-acknowledged' | 'closed'; incident: IncidentRecord; firstMtta?: { seconds: number; from: 'page' | 'detection' } }> {
    const at = this.t.now().toISOString();
    const current = await getIncident(this.t, id);
    const t = mtta(at, current.detectedAt, current.firstPagedAt);
    let first: boolean;
    try {
      const out = await this.t.client.send(
        new UpdateCommand({
          TableName: this.t.tableName,
          Key: keys.incident(id),
          UpdateExpression: 'SET acknowledgedAt = :at, acknowledgedBy = :by, acknowledgedVia = :via, mttaSeconds = if_not_exists(mttaSeconds, :mtta), mttaFrom = if_not_exists(mttaFrom, :from), #v = #v + :one',
          ConditionExpression: `attribute_exists(pk) AND attribute_not_exists(acknowledgedAt) AND #status IN (${ACTIVE_STATUSES.map((_, i) => `:s${i}`).join(', ')})`,
          ExpressionAttributeNames: { '#v': 'version', '#status': 'status' },
          ExpressionAttributeValues: { ':at': at, ':by': by, ':via': via, ':mtta': t.seconds, ':from': t.from, ':one': 1, ...Object.fromEntries(ACTIVE_STATUSES.map((st, i) => [`:s${i}`, st])) },
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
    await this.timeline.appendTimeline(id, { at, actor: by, action: 'acknowledged', detail: `from ${via}${detail ? `: ${detail}` : ''}; MTTA ${t.seconds} s from the ${t.from === 'page' ? 'first page' : 'detection'}`, result: `via ${via}` });
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
      const incident = await this.changeStatus(before, 'resolved', ACTIVE_STATUSES, { actor: by, detail, via }, undefined, version);
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
  async reopenBy(id: string, by: string, via: LifecycleVia, detail: string): Promise<{ outcome: 'reopened' | 'not-resolved'; incident: IncidentRecord }> {
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
          ExpressionAttributeValues: { ':esc': 'escalated', ':t': true, ':zero': 0, ':one': 1, ':now': now, ':gpk': keys.openIndex(current.cluster), ':gsk': `${now}#${id}`, ':resolved': 'resolved' },
        }),
      );
    } catch (err) {
      if (!isConditionalCheckFailed(err)) throw err;
      const latest = await getIncident(this.t, id);
      await this.timeline.appendTimeline(id, { actor: by, action: 'reopen-ignored', detail: `from ${via}: ${detail}; the incident is ${latest.status}, not resolved: nothing changed`, result: 'no change' });
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
    await updateExistingIncident(this.t, id, 'SET firstPagedAt = if_not_exists(firstPagedAt, :at), #v = #v + :one', { ':at': at });
  }

  /** PagerDuty was told of the acknowledgement or the resolution (so nobody tells it twice). */
  async markPagerDutySynced(id: string, what: 'acknowledged' | 'resolved', at: string): Promise<void> {
    await updateExistingIncident(this.t, id, `SET ${what === 'acknowledged' ? 'pdAckSyncedAt' : 'pdResolveSyncedAt'} = if_not_exists(${what === 'acknowledged' ? 'pdAckSyncedAt' : 'pdResolveSyncedAt'}, :at), #v = #v + :one`, { ':at': at });
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
          ConditionExpression: 'attribute_exists(pk) AND (attribute_not_exists(lastRenotifiedAt) OR lastRenotifiedAt <= :before)',
          ExpressionAttributeValues: { ':now': now.toISOString(), ':before': new Date(now.getTime() - minSeconds * 1000).toISOString() },
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
