// The incident table: one DynamoDB table, single-table design. Every write that races another
// (incident creation, joins, cascade upgrades, the per-cluster lock, signal dedup) is a
// conditional write, so concurrent classify invocations converge without a coordinator.
//
// Items (pk / sk):
//   INCIDENT#<id> / META              the incident; gsi1pk=CLUSTER#<cluster>#OPEN while active
//   OPEN#<cluster>#<family> / SLOT   the active incident of one fault family (created with it in one
//                                    transaction, deleted when it closes): concurrent creates converge
//   INCIDENT#<id> / TL#<iso>#<seq>    timeline entries, append-only (put-if-absent, never updated)
//   SIGNAL#<signal id> / SIGNAL       dedup marker: a redelivered signal is a no-op (TTL 7 days)
//   LOCK#<cluster> / LOCK             one active remediation per cluster (owner = incident id, TTL)
//   HEALS#<cluster> / <iso>#<id>      finished remediations, for the flap breaker and cooldowns (TTL 30 days)
//   RAW#<yyyy-mm-dd> / <iso>#<uuid>   raw input that could not be normalized, with the error (TTL 30 days)
import { randomUUID } from 'node:crypto';
import {
  DeleteCommand,
  GetCommand,
  PutCommand,
  QueryCommand,
  ScanCommand,
  TransactWriteCommand,
  UpdateCommand,
  type DynamoDBDocumentClient,
  type QueryCommandInput,
} from '@aws-sdk/lib-dynamodb';
import { fingerprintKey, incidentIdFor } from '../domain/incident-id.js';
import { FOLD_STATUSES, type Correlation, type FoldEntry } from '../domain/correlate.js';
import { RUN_ACTING_STATUSES, RUN_BUSY_STATUSES, runMayAct } from '../domain/run-fencing.js';
import type {
  Decision,
  HealRecord,
  IncidentStatus,
  IncidentType,
  OpenIncident,
  Severity,
  Signal,
} from '../domain/types.js';
import {
  ConditionalWriteConflict,
  IncidentNotFoundError,
  IncidentStatusConflict,
  LockHeldError,
  LockNotOwnedError,
  RunSupersededError,
  SignalInFlightError,
  isConditionalCheckFailed,
} from './errors.js';

/** Key names shared with the CDK table definition and DynamoDB Local. */
export const INCIDENT_TABLE_SCHEMA = {
  partitionKey: 'pk',
  sortKey: 'sk',
  ttlAttribute: 'expiresAt',
  gsi1: { name: 'gsi1', partitionKey: 'gsi1pk', sortKey: 'gsi1sk' },
} as const;

export const ACTIVE_STATUSES: readonly IncidentStatus[] = ['open', 'remediating', 'awaiting-approval', 'escalated'];
export const CLOSED_STATUSES: readonly IncidentStatus[] = ['resolved', 'suppressed'];

const DAY = 86_400;
export const SIGNAL_MARKER_TTL_SECONDS = 7 * DAY;
export const HEAL_TTL_SECONDS = 30 * DAY;
/** A remediation holds its cluster's lock at most this long unless renewed: longer than every workflow's 55-minute execution bound (the classifier's and a hand-started run's lock alike). */
export const LOCK_TTL_SECONDS = 3600;
export const RAW_TTL_SECONDS = 30 * DAY;
/** DynamoDB items are capped at 400 KB; raw bodies are cut here to leave room for the rest. */
export const RAW_BODY_MAX_BYTES = 350 * 1024;
/** A claim on a signal older than this is taken over (the claimer crashed before recording). */
export const SIGNAL_CLAIM_STALE_MS = 60_000;
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

/** Incident types that are one fault growing: a cascade is a broker failure that spread. */
export function incidentFamily(type: IncidentType): IncidentType {
  return type === 'cascade-failure' ? 'broker-failure' : type;
}

function backoff(attempt: number): Promise<void> {
  const ms = Math.min(150, 5 * 2 ** Math.min(attempt, 5)) * (0.5 + Math.random());
  return new Promise((r) => setTimeout(r, ms));
}

export const keys = {
  incident: (id: string) => ({ pk: `INCIDENT#${id}`, sk: 'META' }),
  incidentPk: (id: string) => `INCIDENT#${id}`,
  signal: (signalId: string) => ({ pk: `SIGNAL#${signalId}`, sk: 'SIGNAL' }),
  lock: (cluster: string) => ({ pk: `LOCK#${cluster}`, sk: 'LOCK' }),
  openIndex: (cluster: string) => `CLUSTER#${cluster}#OPEN`,
  /** At most one active incident per cluster and incident family; its item names the holder. */
  slot: (cluster: string, type: IncidentType) => ({ pk: `OPEN#${cluster}#${incidentFamily(type)}`, sk: 'SLOT' }),
  heals: (cluster: string) => `HEALS#${cluster}`,
  raw: (date: string) => `RAW#${date}`,
};

export interface TimelineEntry {
  at: string;
  /** Who or what acted: `classifier`, `workflow:<name>`, `operator:<user>`, a signal source. */
  actor: string;
  /** What happened, kebab-case verb phrase: `incident-opened`, `signal-joined`, `workflow-started`... */
  action: string;
  detail?: string;
  result?: string;
  reasons?: string[];
}

export interface IncidentRecord extends OpenIncident {
  signalCount: number;
  /** Observed time of the first signal (the fault as the sources saw it). */
  detectedAt: string;
  lastSignalAt: string;
  acknowledgedAt?: string;
  resolvedAt?: string;
  executionArn?: string;
  /** The execution the classifier designated to act for the incident (set before it starts it). */
  activeRun?: string;
  /** Executions the classifier superseded or stopped: never again act for the incident (run-fencing.ts). */
  fencedRuns?: string[];
  /** Detection delay: detectedAt -> openedAt, computed at resolve. */
  mttdSeconds?: number;
  /** Time to recover: detectedAt -> resolvedAt, computed at resolve. */
  mttrSeconds?: number;
  version: number;
}

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
  | {
      outcome: 'duplicate';
      incidentId?: string;
      /** What the first delivery did, and whether its follow-up actions (workflow start) completed. */
      firstOutcome?: 'created' | 'joined' | 'upgraded';
      acted?: boolean;
      decision?: Decision;
    };

export type RecordedOutcome = Exclude<RecordOutcome, { outcome: 'duplicate' }>;

export interface LockInfo {
  cluster: string;
  owner: string;
  acquiredAt: string;
  /** Epoch seconds (also the item's TTL). */
  expiresAt: number;
  /** The execution (ARN) allowed to act under the lock; absent for a lock taken without one. */
  run?: string;
}

export interface RawInput {
  source: string;
  body: string;
  error: string;
  errorName?: string;
  receivedAt: string;
}

export interface IncidentStoreOptions {
  client: DynamoDBDocumentClient;
  tableName: string;
  now?: () => Date;
  /** Fingerprint keys an incident keeps (MAX_INCIDENT_FINGERPRINTS); tests make it small. */
  maxFingerprints?: number;
}

const SEVERITY_RANK: Record<Severity, number> = { 'SEV-1': 1, 'SEV-2': 2, 'SEV-3': 3, 'SEV-4': 4 };

/** The more severe of two severities (SEV-1 is the most severe). */
export function moreSevere(a: Severity, b: Severity): Severity {
  return SEVERITY_RANK[a] <= SEVERITY_RANK[b] ? a : b;
}

function epochSeconds(d: Date): number {
  return Math.floor(d.getTime() / 1000);
}

/** Cuts a string to at most `maxBytes` of UTF-8 without splitting a character. */
export function truncateUtf8(text: string, maxBytes: number): { text: string; truncated: boolean; bytes: number } {
  const buf = Buffer.from(text, 'utf8');
  if (buf.length <= maxBytes) return { text, truncated: false, bytes: buf.length };
  let end = maxBytes;
  // Step back over UTF-8 continuation bytes (10xxxxxx) so the cut lands on a character boundary.
  while (end > 0 && ((buf[end] ?? 0) & 0xc0) === 0x80) end--;
  return { text: buf.subarray(0, end).toString('utf8'), truncated: true, bytes: buf.length };
}

type Item = Record<string, unknown>;

/** A DynamoDB string set as the document client returns it (a Set), or a list. */
function stringSet(value: unknown): string[] {
  return value instanceof Set ? [...(value as Set<string>)] : Array.isArray(value) ? (value as string[]) : [];
}

function toIncident(item: Item): IncidentRecord {
  const brokersMap = (item.brokers ?? {}) as Record<string, string>;
  const fingerprints = stringSet(item.fingerprints);
  const rec: IncidentRecord = {
    id: item.id as string,
    cluster: item.cluster as string,
    type: item.type as IncidentType,
    severity: item.severity as Severity,
    status: item.status as IncidentStatus,
    brokers: Object.entries(brokersMap)
      .map(([id, firstSeenAt]) => ({ id: Number(id), firstSeenAt }))
      .sort((a, b) => a.id - b.id),
    openedAt: item.openedAt as string,
    fingerprints: fingerprints.sort(),
    signalCount: Number(item.signalCount ?? 0),
    detectedAt: item.detectedAt as string,
    lastSignalAt: (item.lastSignalAt ?? item.openedAt) as string,
    version: Number(item.version ?? 0),
  };
  for (const k of ['acknowledgedAt', 'resolvedAt', 'executionArn', 'activeRun'] as const) {
    if (typeof item[k] === 'string') rec[k] = item[k];
  }
  const fenced = stringSet(item.fencedRuns);
  if (fenced.length) rec.fencedRuns = fenced.sort();
  if (typeof item.mttdSeconds === 'number') rec.mttdSeconds = item.mttdSeconds;
  if (typeof item.mttrSeconds === 'number') rec.mttrSeconds = item.mttrSeconds;
  return rec;
}

function toTimeline(item: Item): TimelineEntry {
  const e: TimelineEntry = { at: item.at as string, actor: item.actor as string, action: item.action as string };
  if (typeof item.detail === 'string') e.detail = item.detail;
  if (typeof item.result === 'string') e.result = item.result;
  if (Array.isArray(item.reasons)) e.reasons = item.reasons as string[];
  return e;
}

/** A suffix keeps a recurring fault's new incident distinct from the closed one with the same id. */
function recurrenceId(baseId: string, n: number): string {
  const suffix = `-r${n}`;
  return `${baseId.slice(0, 80 - suffix.length)}${suffix}`;
}

export class IncidentStore {
  private readonly client: DynamoDBDocumentClient;
  readonly tableName: string;
  private readonly now: () => Date;
  private readonly maxFingerprints: number;
  private seq = 0;

  constructor(opts: IncidentStoreOptions) {
    this.client = opts.client;
    this.tableName = opts.tableName;
    this.now = opts.now ?? (() => new Date());
    this.maxFingerprints = opts.maxFingerprints ?? MAX_INCIDENT_FINGERPRINTS;
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
    const claim = await this.claimSignal(signal.id);
    if (claim.duplicate) return claim.result;
    let result: RecordedOutcome;
    try {
      result = await this.applySignal(signal, decision, correlation, recorrelate);
    } catch (err) {
      // Let the redelivery try again from scratch.
      await this.client
        .send(
          new DeleteCommand({
            TableName: this.tableName,
            Key: keys.signal(signal.id),
            ConditionExpression: 'claimedAt = :mine',
            ExpressionAttributeValues: { ':mine': claim.claimedAt },
          }),
        )
        .catch(() => undefined);
      throw err;
    }
    await this.client.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: keys.signal(signal.id),
        UpdateExpression: 'SET #state = :recorded, incidentId = :id, outcome = :outcome, decision = :decision, acted = :false',
        ExpressionAttributeNames: { '#state': 'state' },
        ExpressionAttributeValues: {
          ':recorded': 'recorded',
          ':id': result.incident.id,
          ':outcome': result.outcome,
          ':decision': JSON.stringify(decision),
          ':false': false,
        },
      }),
    );
    return result;
  }

  /**
   * Marks that the actions following a recorded signal (lock, workflow start) completed. Until
   * then a redelivery of the signal reports `acted: false` so the handler can finish the job.
   */
  async markSignalActed(signalId: string): Promise<void> {
    await this.client.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: keys.signal(signalId),
        UpdateExpression: 'SET acted = :true',
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeValues: { ':true': true },
      }),
    );
  }

  private async claimSignal(
    signalId: string,
  ): Promise<{ duplicate: false; claimedAt: number } | { duplicate: true; result: Extract<RecordOutcome, { outcome: 'duplicate' }> }> {
    const now = this.now();
    const claimedAt = now.getTime();
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
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
    const existing = await this.client.send(new GetCommand({ TableName: this.tableName, Key: keys.signal(signalId), ConsistentRead: true }));
    const item = existing.Item;
    if (item?.state === 'recorded') {
      const result: Extract<RecordOutcome, { outcome: 'duplicate' }> = { outcome: 'duplicate', acted: item.acted === true };
      if (typeof item.incidentId === 'string') result.incidentId = item.incidentId;
      if (item.outcome === 'created' || item.outcome === 'joined' || item.outcome === 'upgraded') result.firstOutcome = item.outcome;
      if (typeof item.decision === 'string') result.decision = JSON.parse(item.decision) as Decision;
      return { duplicate: true, result };
    }
    throw new SignalInFlightError(signalId);
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
      const created = await this.tryCreate(id, signal, decision, takeOverSlotFrom);
      takeOverSlotFrom = undefined;
      if (created === 'created') {
        const incident = await this.getMeta(id);
        await this.appendTimeline(id, {
          actor: 'classifier',
          action: 'incident-opened',
          detail: `${decision.incidentType} ${decision.severity} on ${signal.cluster} from ${signal.source} signal ${signal.name} (${signal.kind}${signal.brokerIds.length ? `, brokers ${signal.brokerIds.join(',')}` : ''})`,
          result: decision.action,
          reasons: decision.reasons,
        });
        return { outcome: 'created', incident };
      }
      if (created === 'conflict') {
        await backoff(attempt);
        continue;
      }
      // Someone else holds the slot, or an incident with this id exists.
      const holderId = created.holder;
      const holder = await this.findMeta(holderId);
      if (holder && ACTIVE_STATUSES.includes(holder.status)) {
        // The world changed since the caller correlated: ask the pure core again with the incident that won.
        const again = recorrelate ? recorrelate([holder]) : { kind: 'join' as const, incidentId: holderId };
        correlation = again.kind === 'new' || (again.kind === 'upgrade' && signal.state === 'resolved') ? { kind: 'join', incidentId: holderId } : again;
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
  ): Promise<'created' | 'conflict' | { reason: 'slot' | 'id'; holder: string }> {
    const openedAt = this.now().toISOString();
    const brokers: Record<string, string> = {};
    if (signal.state === 'firing') for (const b of signal.brokerIds) brokers[String(b)] = signal.observedAt;
    const slot = keys.slot(signal.cluster, decision.incidentType);
    try {
      await this.client.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Put: {
                TableName: this.tableName,
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
                TableName: this.tableName,
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
        const res = await this.client.send(new GetCommand({ TableName: this.tableName, Key: slot, ConsistentRead: true }));
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
      await this.appendTimeline(id, {
        actor: 'classifier',
        action: signal.state === 'resolved' ? 'signal-resolved' : 'signal-joined',
        detail: `${signal.source} signal ${signal.name} (${signal.kind}${newBrokers.length ? `, new brokers ${newBrokers.join(',')}` : ''})`,
        result: decision.action,
        reasons: decision.reasons,
      });
    }
    return { outcome: 'joined', incident: await this.getMeta(id), newFingerprint, newBrokers };
  }

  /**
   * Atomic fold of a broker-level signal into a cluster-wide incident: the fingerprint is added
   * (a re-fire is recognized) and counted, and the first time the timeline says so; the incident's
   * brokers, severity and detection time stay as they are (the folded signal is a symptom, not a
   * fault of the incident's own). Conditional on the incident still being handled by the
   * automation: one escalated or closed meanwhile folds nothing ('closed': the signal opens its own).
   * A new fingerprint and its timeline line are written in one transaction: the line is the only
   * trace a folded alarm leaves (no incident, no page), so a retry after a later failure must never
   * find the fingerprint without it.
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
    const line = this.timelineItem(id, { actor: 'classifier', action: 'signal-folded', detail: entry.detail, result: 'folded', reasons: entry.reasons });
    try {
      await this.client.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Update: {
                TableName: this.tableName,
                Key: keys.incident(id),
                UpdateExpression: update,
                ConditionExpression: `${foldable} AND NOT contains(fingerprints, :fpk) AND ${FINGERPRINT_ROOM}`,
                ExpressionAttributeNames: names,
                ExpressionAttributeValues: { ...values, ':fp': new Set([key]), ':fpk': key, ':fpCap': this.maxFingerprints },
              },
            },
            { Put: { TableName: this.tableName, Item: line, ConditionExpression: 'attribute_not_exists(pk)' } },
          ],
        }),
      );
      return { outcome: 'joined', incident: await this.getMeta(id), newFingerprint: true, newBrokers: [], folded: true };
    } catch (err) {
      // A known fingerprint (re-fire, redelivery, a concurrent classifier won), or no longer foldable.
      if (!(err instanceof Error) || err.name !== 'TransactionCanceledException') throw err;
    }
    // Repeats of a folded alarm only count.
    const old = await this.countWithFingerprint(id, signal.fingerprint, { sets, condition: foldable, names, values });
    if (old === 'closed') return 'closed';
    return { outcome: 'joined', incident: await this.getMeta(id), newFingerprint: false, newBrokers: [], folded: true };
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
      await this.appendTimeline(id, {
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
      const res = await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
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

  private async lowerDetectedAt(id: string, observedAt: string): Promise<void> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
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
    const more = (Object.keys(SEVERITY_RANK) as Severity[]).filter((s) => SEVERITY_RANK[s] > SEVERITY_RANK[severity]);
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
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
      const current = await this.findMeta(id);
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
        await this.client.send(
          new UpdateCommand({
            TableName: this.tableName,
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
      await this.appendTimeline(id, {
        actor: 'classifier',
        action: 'incident-upgraded',
        detail: `${current.type} ${current.severity} -> ${to.to} ${severity} by ${signal.source} signal ${signal.name} (${signal.kind}${signal.brokerIds.length ? `, brokers ${signal.brokerIds.join(',')}` : ''})`,
        result: decision.action,
        reasons: decision.reasons,
      });
      return { outcome: 'upgraded', incident: await this.getMeta(id), from: { type: current.type, severity: current.severity } };
    }
    throw new ConditionalWriteConflict(keys.incidentPk(id), MAX_CONFLICT_RETRIES);
  }

  // ---------------------------------------------------------------- reads

  private async findMeta(id: string): Promise<IncidentRecord | undefined> {
    const res = await this.client.send(new GetCommand({ TableName: this.tableName, Key: keys.incident(id), ConsistentRead: true }));
    return res.Item ? toIncident(res.Item) : undefined;
  }

  private async getMeta(id: string): Promise<IncidentRecord> {
    const found = await this.findMeta(id);
    if (!found) throw new IncidentNotFoundError(id);
    return found;
  }

  private async queryAll(input: QueryCommandInput): Promise<Item[]> {
    const items: Item[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const res = await this.client.send(new QueryCommand({ ...input, ...(start ? { ExclusiveStartKey: start } : {}) }));
      items.push(...((res.Items ?? []) as Item[]));
      start = res.LastEvaluatedKey;
    } while (start);
    return items;
  }

  /** The incident with its timeline in time order. */
  async get(id: string): Promise<IncidentWithTimeline> {
    const items = await this.queryAll({
      TableName: this.tableName,
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
    const items = await this.queryAll({
      TableName: this.tableName,
      IndexName: INCIDENT_TABLE_SCHEMA.gsi1.name,
      KeyConditionExpression: 'gsi1pk = :pk',
      ExpressionAttributeValues: { ':pk': keys.openIndex(cluster) },
    });
    return items.map(toIncident).filter((i) => ACTIVE_STATUSES.includes(i.status));
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
      const res = await this.client.send(
        new ScanCommand({
          TableName: this.tableName,
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

  /** Remediations of a cluster finished at or after `since` (for the flap breaker and cooldowns). */
  async recentHeals(cluster: string, since: Date): Promise<HealRecord[]> {
    const items = await this.queryAll({
      TableName: this.tableName,
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

  // ---------------------------------------------------------------- writes

  /** Appends a timeline entry; entries are put-if-absent and never updated. */
  async appendTimeline(id: string, entry: Omit<TimelineEntry, 'at'> & { at?: string }): Promise<TimelineEntry> {
    const item = this.timelineItem(id, entry);
    await this.client.send(new PutCommand({ TableName: this.tableName, Item: item, ConditionExpression: 'attribute_not_exists(pk)' }));
    const { pk: _pk, sk: _sk, ...full } = item;
    return full;
  }

  /** A timeline item: its sort key orders entries by time (then by this process's sequence). */
  private timelineItem(id: string, entry: Omit<TimelineEntry, 'at'> & { at?: string }): TimelineEntry & { pk: string; sk: string } {
    const at = entry.at ?? this.now().toISOString();
    this.seq = (this.seq + 1) % 1_000_000;
    return { pk: keys.incidentPk(id), sk: `TL#${at}#${String(this.seq).padStart(6, '0')}-${randomUUID().slice(0, 8)}`, ...entry, at };
  }

  /**
   * Moves an incident to `status` only if it is in one of `expected`. Closing statuses drop it
   * from the open index; resolving computes MTTD (detect -> open) and MTTR (detect -> resolve).
   */
  async setStatus(
    id: string,
    status: IncidentStatus,
    expected: readonly IncidentStatus[],
    note?: { actor: string; detail?: string },
    /** The execution asking: refused with RunSupersededError unless runMayAct (run-fencing.ts), in the same write. */
    run?: string,
  ): Promise<IncidentRecord> {
    const current = await this.getMeta(id);
    if (run !== undefined) this.assertRunMayAct(id, current, run);
    // Already there: nothing to write, nothing to add to the timeline.
    if (current.status === status) return current;
    const now = this.now();
    const names: Record<string, string> = { '#status': 'status', '#v': 'version' };
    const values: Record<string, unknown> = {
      ':status': status,
      ':one': 1,
      ':now': now.toISOString(),
      ...Object.fromEntries(expected.map((s, i) => [`:e${i}`, s])),
    };
    const sets = ['#status = :status', '#v = #v + :one', 'updatedAt = :now'];
    let remove = '';
    if (CLOSED_STATUSES.includes(status)) remove = ' REMOVE gsi1pk, gsi1sk';
    if (status === 'resolved') {
      const detected = Date.parse(current.detectedAt);
      sets.push('resolvedAt = :now', 'mttdSeconds = :mttd', 'mttrSeconds = :mttr');
      values[':mttd'] = Math.max(0, Math.round((Date.parse(current.openedAt) - detected) / 1000));
      values[':mttr'] = Math.max(0, Math.round((now.getTime() - detected) / 1000));
    }
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: keys.incident(id),
          UpdateExpression: `SET ${sets.join(', ')}${remove}`,
          ConditionExpression: [
            expected.length ? `attribute_exists(pk) AND #status IN (${expected.map((_, i) => `:e${i}`).join(', ')})` : 'attribute_exists(pk)',
            ...(run === undefined ? [] : [runCondition(names, values, run)]),
          ].join(' AND '),
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
        }),
      );
    } catch (err) {
      if (!isConditionalCheckFailed(err)) throw err;
      const actual = await this.findMeta(id);
      if (!actual) throw new IncidentNotFoundError(id);
      if (run !== undefined) this.assertRunMayAct(id, actual, run);
      throw new IncidentStatusConflict(id, expected, actual.status);
    }
    if (CLOSED_STATUSES.includes(status)) await this.releaseSlot(id, current.cluster, current.type);
    await this.appendTimeline(id, {
      actor: note?.actor ?? 'system',
      action: 'status-changed',
      detail: `${current.status} -> ${status}${note?.detail ? `: ${note.detail}` : ''}`,
    });
    return this.getMeta(id);
  }

  private async releaseSlot(id: string, cluster: string, type: IncidentType): Promise<void> {
    try {
      await this.client.send(
        new DeleteCommand({
          TableName: this.tableName,
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

  /** First acknowledgement wins; later ones are recorded in the timeline only. */
  async acknowledge(id: string, by: string): Promise<IncidentRecord> {
    const at = this.now().toISOString();
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: keys.incident(id),
          UpdateExpression: 'SET acknowledgedAt = if_not_exists(acknowledgedAt, :at), acknowledgedBy = if_not_exists(acknowledgedBy, :by), #v = #v + :one',
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeNames: { '#v': 'version' },
          ExpressionAttributeValues: { ':at': at, ':by': by, ':one': 1 },
        }),
      );
    } catch (err) {
      if (isConditionalCheckFailed(err)) throw new IncidentNotFoundError(id);
      throw err;
    }
    await this.appendTimeline(id, { at, actor: by, action: 'acknowledged' });
    return this.getMeta(id);
  }

  /** RunSupersededError unless execution `run` may act for the incident (run-fencing.ts); an unknown incident lets it. */
  async checkRun(id: string, run: string): Promise<void> {
    const incident = await this.findMeta(id);
    if (incident) this.assertRunMayAct(id, incident, run);
  }

  private assertRunMayAct(id: string, incident: IncidentRecord, run: string): void {
    const verdict = runMayAct(incident, run);
    if (!verdict.mayAct) throw new RunSupersededError(id, run, verdict.reason);
  }

  /**
   * Names the execution that acts for the incident (run-fencing.ts), before it is started, so its
   * steps may take the cluster lock and close the incident while no later decision replaced it.
   */
  async designateRun(id: string, run: string): Promise<void> {
    await this.updateExisting(id, 'SET activeRun = :run, #v = #v + :one', { ':run': run });
  }

  /**
   * Marks an execution superseded: from this write on it can neither take nor keep the cluster
   * lock, nor close or escalate the incident. The classifier fences before it stops the execution
   * and releases its lock, so a step still in flight (StopExecution does not abort it) loses.
   */
  async fenceRun(id: string, run: string): Promise<void> {
    await this.updateExisting(id, 'SET #v = #v + :one ADD fencedRuns :run', { ':run': new Set([run]) });
  }

  private async updateExisting(id: string, update: string, values: Record<string, unknown>): Promise<void> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: keys.incident(id),
          UpdateExpression: update,
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeNames: { '#v': 'version' },
          ExpressionAttributeValues: { ...values, ':one': 1 },
        }),
      );
    } catch (err) {
      if (isConditionalCheckFailed(err)) throw new IncidentNotFoundError(id);
      throw err;
    }
  }

  async setExecution(id: string, executionArn: string): Promise<void> {
    await this.updateExisting(id, 'SET executionArn = :arn, #v = #v + :one', { ':arn': executionArn });
  }

  /** Records a finished remediation (the flap breaker counts these). */
  async recordHeal(incidentId: string, heal: HealRecord): Promise<void> {
    await this.client.send(
      new PutCommand({
        TableName: this.tableName,
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

  /** Keeps input that could not be normalized, with the reason, for 30 days. */
  async storeRaw(raw: RawInput): Promise<{ pk: string; sk: string; truncated: boolean }> {
    const cut = truncateUtf8(raw.body, RAW_BODY_MAX_BYTES);
    const pk = keys.raw(raw.receivedAt.slice(0, 10));
    const sk = `${raw.receivedAt}#${randomUUID()}`;
    await this.client.send(
      new PutCommand({
        TableName: this.tableName,
        Item: {
          pk,
          sk,
          source: raw.source,
          error: raw.error.slice(0, 4000),
          ...(raw.errorName ? { errorName: raw.errorName } : {}),
          receivedAt: raw.receivedAt,
          body: cut.text,
          bodyBytes: cut.bytes,
          truncated: cut.truncated,
          expiresAt: epochSeconds(this.now()) + RAW_TTL_SECONDS,
        },
      }),
    );
    return { pk, sk, truncated: cut.truncated };
  }

  // ---------------------------------------------------------------- the per-cluster lock

  /**
   * Takes the cluster's remediation lock for `owner` (an incident id), naming the execution `run`
   * that may act under it when given. Succeeds when the lock is free, expired, or already held by
   * the same owner (retries are safe; the run is replaced); otherwise LockHeldError.
   */
  async acquireLock(cluster: string, owner: string, ttlSeconds: number, run?: string): Promise<LockInfo> {
    const now = this.now();
    const lock: LockInfo = { cluster, owner, acquiredAt: now.toISOString(), expiresAt: epochSeconds(now) + ttlSeconds, ...(run === undefined ? {} : { run }) };
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
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
   * `taken` is false when the run already held it.
   */
  async holdLockForRun(cluster: string, owner: string, run: string, ttlSeconds: number): Promise<{ taken: boolean; lock: LockInfo }> {
    const now = this.now();
    const lock: LockInfo = { cluster, owner, acquiredAt: now.toISOString(), expiresAt: epochSeconds(now) + ttlSeconds, run };
    const held = await this.getLock(cluster);
    const ours = held !== undefined && held.owner === owner && (held.run === undefined || held.run === run) && held.expiresAt >= epochSeconds(now);
    const names: Record<string, string> = {};
    const values: Record<string, unknown> = {};
    const mayAct = `attribute_not_exists(pk) OR (${runCondition(names, values, run)})`;
    try {
      await this.client.send(
        new TransactWriteCommand({
          TransactItems: [
            { ConditionCheck: { TableName: this.tableName, Key: keys.incident(owner), ConditionExpression: mayAct, ExpressionAttributeNames: names, ExpressionAttributeValues: values } },
            {
              Put: {
                TableName: this.tableName,
                Item: { ...keys.lock(cluster), ...(ours && held ? { ...lock, acquiredAt: held.acquiredAt } : lock) },
                ConditionExpression: 'attribute_not_exists(pk) OR expiresAt < :now OR (#owner = :owner AND (attribute_not_exists(#run) OR #run = :run))',
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
        const incident = await this.findMeta(owner);
        if (incident) this.assertRunMayAct(owner, incident, run);
      }
      if (reasons[1]?.Code === 'ConditionalCheckFailed') {
        const now2 = await this.getLock(cluster);
        throw new LockHeldError(cluster, now2?.owner === owner ? `${owner} (run ${now2.run ?? 'unnamed'})` : now2?.owner, now2?.expiresAt);
      }
      // A condition that held again on the re-read, or a concurrent transaction: the step's retry re-reads.
      throw new ConditionalWriteConflict(`${keys.lock(cluster).pk} and ${keys.incidentPk(owner)}`, 1);
    }
  }

  /** Extends the owner's lock; refused (LockNotOwnedError) if someone else holds it or it is gone. */
  async renewLock(cluster: string, owner: string, ttlSeconds: number): Promise<LockInfo> {
    const now = this.now();
    const expiresAt = epochSeconds(now) + ttlSeconds;
    try {
      const res = await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: keys.lock(cluster),
          UpdateExpression: 'SET expiresAt = :exp',
          ConditionExpression: '#owner = :owner',
          ExpressionAttributeNames: { '#owner': 'owner' },
          ExpressionAttributeValues: { ':exp': expiresAt, ':owner': owner },
          ReturnValues: 'ALL_NEW',
        }),
      );
      const a = res.Attributes ?? {};
      return { cluster, owner, acquiredAt: a.acquiredAt as string, expiresAt, ...(typeof a.run === 'string' ? { run: a.run } : {}) };
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
      const res = await this.client.send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: keys.lock(cluster),
          ConditionExpression: run === undefined ? 'attribute_not_exists(pk) OR #owner = :owner' : 'attribute_not_exists(pk) OR (#owner = :owner AND (attribute_not_exists(#run) OR #run = :run))',
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
    const res = await this.client.send(new GetCommand({ TableName: this.tableName, Key: keys.lock(cluster), ConsistentRead: true }));
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

/** Room for one more fingerprint key (:fpk) on the incident, below :fpCap, or the key is known. */
const FINGERPRINT_ROOM = '(attribute_not_exists(fingerprints) OR size(fingerprints) < :fpCap OR contains(fingerprints, :fpk))';

/**
 * runMayAct (run-fencing.ts) as a DynamoDB condition on the incident item; adds its names and
 * values. Comparisons with a missing attribute are false in DynamoDB, hence the explicit
 * attribute_not_exists terms; NOT contains() on a missing set is true.
 */
function runCondition(names: Record<string, string>, values: Record<string, unknown>, run: string): string {
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

