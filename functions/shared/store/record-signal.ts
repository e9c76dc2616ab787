// Recording a classified signal on an incident exactly once: the incidents aggregate's write path
// (IncidentRepo.recordSignal). Claims the signal id in the SignalLedger, then creates, joins,
// folds into, upgrades or reopens the incident the correlation names, each a conditional write
// (or a transaction with the fault family's open slot), so concurrent classifiers converge.
import { GetCommand, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { FOLD_STATUSES, type Correlation, type FoldEntry } from '#domain/correlate.js';
import { fingerprintKey, incidentIdFor } from '#domain/incident-id.js';
import type { Decision, IncidentType, OpenIncident, Severity, Signal } from '#domain/types.js';
import { ConditionalWriteConflict, isConditionalCheckFailed } from '../errors.js';
import type { DuplicateSignal, SignalLedger } from './signal-ledger.js';
import {
  ACTIVE_STATUSES,
  CLOSED_STATUSES,
  backoff,
  decodeAlarms,
  encodeAlarm,
  findIncident,
  getIncident,
  keys,
  lessSevere,
  moreSevere,
  toIncident,
  type IncidentRecord,
  type Item,
  type StoreTable,
} from './table.js';
import type { Timeline } from './timeline.js';

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
const FINGERPRINT_ROOM =
  '(attribute_not_exists(fingerprints) OR size(fingerprints) < :fpCap OR contains(fingerprints, :fpk))';

/** A suffix keeps a recurring fault's new incident distinct from the closed one with the same id. */
function recurrenceId(baseId: string, n: number): string {
  const suffix = `-r${n}`;
  return `${baseId.slice(0, 80 - suffix.length)}${suffix}`;
}

export class SignalRecorder {
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
    let correlation: Correlation =
      first.kind === 'upgrade' && signal.state === 'resolved' ? { kind: 'join', incidentId: first.incidentId } : first;
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
          correlation =
            holder && ACTIVE_STATUSES.includes(holder.status) && recorrelate ? recorrelate([holder]) : { kind: 'new' };
          if (correlation.kind === 'reopen') correlation = { kind: 'join', incidentId: reopened.holder };
          continue;
        }
        return reopened;
      }
      if (correlation.kind !== 'new') {
        const applied =
          correlation.kind === 'upgrade'
            ? await this.tryUpgrade(correlation.incidentId, signal, decision, {
                to: correlation.to,
                severity: correlation.severity,
              })
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
        correlation =
          again.kind === 'new' || again.kind === 'reopen' || (again.kind === 'upgrade' && signal.state === 'resolved')
            ? { kind: 'join', incidentId: holderId }
            : again;
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
    const alarms = {
      [fingerprintKey(signal.fingerprint)]: encodeAlarm(signal.state === 'firing' ? 'firing' : 'ok', signal.observedAt),
    };
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
                  ? {
                      ConditionExpression: 'attribute_not_exists(pk) OR incidentId = :stale',
                      ExpressionAttributeValues: { ':stale': takeOverSlotFrom },
                    }
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
        const res = await this.t.client.send(
          new GetCommand({ TableName: this.t.tableName, Key: slot, ConsistentRead: true }),
        );
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
  private async tryFold(
    id: string,
    into: IncidentType,
    signal: Signal,
    entry: FoldEntry,
  ): Promise<RecordedOutcome | 'closed'> {
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
    const line = this.timeline.timelineItem(id, {
      actor: 'classifier',
      action: 'signal-folded',
      detail: entry.detail,
      result: 'folded',
      reasons: entry.reasons,
    });
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
                ExpressionAttributeValues: {
                  ...values,
                  ':fp': new Set([key]),
                  ':fpk': key,
                  ':fpCap': this.maxFingerprints,
                },
              },
            },
            { Put: { TableName: this.t.tableName, Item: line, ConditionExpression: 'attribute_not_exists(pk)' } },
          ],
        }),
      );
      return {
        outcome: 'joined',
        incident: await getIncident(this.t, id),
        newFingerprint: true,
        newBrokers: [],
        folded: true,
      };
    } catch (err) {
      // A known fingerprint (re-fire, redelivery, a concurrent classifier won), or no longer foldable.
      if (!(err instanceof Error) || err.name !== 'TransactionCanceledException') throw err;
    }
    // Repeats of a folded alarm only count.
    const old = await this.countWithFingerprint(id, signal.fingerprint, { sets, condition: foldable, names, values });
    if (old === 'closed') return 'closed';
    return {
      outcome: 'joined',
      incident: await getIncident(this.t, id),
      newFingerprint: false,
      newBrokers: [],
      folded: true,
    };
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
          ConditionExpression:
            'attribute_exists(alarms) AND ((attribute_not_exists(alarms.#k) AND size(alarms) < :cap) OR alarms.#k < :v)',
          ExpressionAttributeNames: { '#k': key },
          ExpressionAttributeValues: { ':v': encodeAlarm(state, signal.observedAt), ':cap': this.maxTrackedAlarms },
        }),
      );
    } catch (err) {
      // A later state is already there (signals delivered out of order), or the map filled meanwhile.
      if (!isConditionalCheckFailed(err)) throw err;
      const now = await findIncident(this.t, id);
      if (
        now?.alarms !== undefined &&
        now.alarms[key] === undefined &&
        Object.keys(now.alarms).length >= this.maxTrackedAlarms &&
        !now.alarmsUntracked
      )
        await this.flagUntracked(id);
    }
  }

  private async flagUntracked(id: string): Promise<void> {
    await this.t.client.send(
      new UpdateCommand({
        TableName: this.t.tableName,
        Key: keys.incident(id),
        UpdateExpression: 'SET alarmsUntracked = :t',
        ExpressionAttributeValues: { ':t': true },
      }),
    );
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
  private async tryReopen(
    id: string,
    signal: Signal,
    decision: Decision,
    why: string,
  ): Promise<RecordedOutcome | 'closed' | 'conflict' | { holder: string }> {
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
            {
              Put: {
                TableName: this.t.tableName,
                Item: { ...slot, incidentId: id, cluster: current.cluster, createdAt: now },
                ConditionExpression: 'attribute_not_exists(pk) OR incidentId = :id',
                ExpressionAttributeValues: { ':id': id },
              },
            },
          ],
        }),
      );
    } catch (err) {
      if (!(err instanceof Error) || err.name !== 'TransactionCanceledException') throw err;
      const reasons = (err as Error & { CancellationReasons?: { Code?: string }[] }).CancellationReasons ?? [];
      if (reasons[0]?.Code === 'ConditionalCheckFailed') return 'closed';
      if (reasons[1]?.Code === 'ConditionalCheckFailed') {
        const res = await this.t.client.send(
          new GetCommand({ TableName: this.t.tableName, Key: slot, ConsistentRead: true }),
        );
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
          ExpressionAttributeValues: {
            ':sev': severity,
            ':one': 1,
            ...Object.fromEntries(more.map((s, i) => [`:l${i}`, s])),
          },
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
      const sets = [
        '#type = :to',
        'severity = :sev',
        'signalCount = signalCount + :one',
        '#v = #v + :one',
        'lastSignalAt = :at',
      ];
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
      await this.trackAlarm(
        id,
        {
          alarms:
            current.alarms === undefined
              ? undefined
              : Object.fromEntries(Object.entries(current.alarms).map(([k, a]) => [k, encodeAlarm(a.state, a.at)])),
        },
        signal,
      );
      await this.timeline.appendTimeline(id, {
        actor: 'classifier',
        action: 'incident-upgraded',
        detail: `${current.type} ${current.severity} -> ${to.to} ${severity} by ${signal.source} signal ${signal.name} (${signal.kind}${signal.brokerIds.length ? `, brokers ${signal.brokerIds.join(',')}` : ''})`,
        result: decision.action,
        reasons: decision.reasons,
      });
      return {
        outcome: 'upgraded',
        incident: await getIncident(this.t, id),
        from: { type: current.type, severity: current.severity },
      };
    }
    throw new ConditionalWriteConflict(keys.incidentPk(id), MAX_CONFLICT_RETRIES);
  }
}
