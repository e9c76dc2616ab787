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
import { incidentFamily, mtta, type LifecycleVia, type ResolvedIncident, type TrackedAlarm } from '../domain/lifecycle.js';
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

export { incidentFamily } from '../domain/lifecycle.js';
/**
 * Alarms (fingerprint keys) whose state an incident tracks for auto-resolve; past it the incident
 * says alarmsUntracked and is resolved by hand (about 20 KB of the item at most).
 */
export const MAX_TRACKED_ALARMS = 200;
/** The same escalated incident's owner hears of a covered signal at most this often. */
export const RENOTIFY_MIN_SECONDS = 300;

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
  /** Resolved incidents by resolve time (gsi1), for reopening a fault that returns. */
  resolvedIndex: (cluster: string) => `CLUSTER#${cluster}#RESOLVED`,
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
  /** The first acknowledgement since the incident (re)opened: who, from where, and MTTA. */
  acknowledgedAt?: string;
  acknowledgedBy?: string;
  acknowledgedVia?: LifecycleVia;
  /** Time to acknowledge (the first acknowledgement ever), from the first page or from detection. */
  mttaSeconds?: number;
  mttaFrom?: 'page' | 'detection';
  /** When the first page about it went out (PagerDuty took a trigger). */
  firstPagedAt?: string;
  resolvedAt?: string;
  /** Who resolved it (the timeline actor) and from where; a fault returning after a resolution without the healer reopens it. */
  resolvedBy?: string;
  resolvedVia?: LifecycleVia;
  /** The escalated incident this one's fault would have joined but that did not cover it. */
  linkedTo?: string;
  /** Times it was reopened: runs of a reopened incident are attempt reopenCount + 1. */
  reopenCount?: number;
  /** The state of every alarm it heard of (fingerprint key -> latest state), for auto-resolve. */
  alarms?: Record<string, TrackedAlarm>;
  alarmsUntracked?: boolean;
  /** A person reopened it: it is theirs and only a person resolves it. */
  holdOpen?: boolean;
  /** When PagerDuty was told of the acknowledgement / the resolution (by whoever told it first). */
  pagerDutySynced?: { acknowledged?: string; resolved?: string };
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
  /** The fault returned soon after its incident was resolved without the healer: it is open again. */
  | { outcome: 'reopened'; incident: IncidentRecord }
  | {
      outcome: 'duplicate';
      incidentId?: string;
      /** What the first delivery did, and whether its follow-up actions (workflow start) completed. */
      firstOutcome?: 'created' | 'joined' | 'upgraded' | 'reopened';
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
  /** Alarms whose state an incident tracks (MAX_TRACKED_ALARMS); tests make it small. */
  maxTrackedAlarms?: number;
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
  for (const k of ['acknowledgedAt', 'acknowledgedBy', 'firstPagedAt', 'resolvedAt', 'resolvedBy', 'executionArn', 'activeRun', 'linkedTo'] as const) {
    if (typeof item[k] === 'string') rec[k] = item[k];
  }
  if (typeof item.acknowledgedVia === 'string') rec.acknowledgedVia = item.acknowledgedVia as LifecycleVia;
  if (typeof item.resolvedVia === 'string') rec.resolvedVia = item.resolvedVia as LifecycleVia;
  if (item.mttaFrom === 'page' || item.mttaFrom === 'detection') rec.mttaFrom = item.mttaFrom;
  const fenced = stringSet(item.fencedRuns);
  if (fenced.length) rec.fencedRuns = fenced.sort();
  for (const k of ['mttdSeconds', 'mttrSeconds', 'mttaSeconds', 'reopenCount'] as const) {
    if (typeof item[k] === 'number') rec[k] = item[k];
  }
  if (item.alarms !== undefined && typeof item.alarms === 'object' && item.alarms !== null) rec.alarms = decodeAlarms(item.alarms as Record<string, unknown>);
  if (item.alarmsUntracked === true) rec.alarmsUntracked = true;
  if (item.holdOpen === true) rec.holdOpen = true;
  const synced: { acknowledged?: string; resolved?: string } = {};
  if (typeof item.pdAckSyncedAt === 'string') synced.acknowledged = item.pdAckSyncedAt;
  if (typeof item.pdResolveSyncedAt === 'string') synced.resolved = item.pdResolveSyncedAt;
  if (Object.keys(synced).length > 0) rec.pagerDutySynced = synced;
  return rec;
}

/** An alarm's state as the item keeps it: `<observed ISO time>|firing` or `|ok`, so later states compare greater. */
function encodeAlarm(state: TrackedAlarm['state'], at: string): string {
  return `${at}|${state}`;
}

function decodeAlarms(raw: Record<string, unknown>): Record<string, TrackedAlarm> {
  const out: Record<string, TrackedAlarm> = {};
  for (const [k, v] of Object.entries(raw)) {
    if (typeof v !== 'string') continue;
    const cut = v.lastIndexOf('|');
    const state = v.slice(cut + 1);
    if (cut > 0 && (state === 'firing' || state === 'ok')) out[k] = { state, at: v.slice(0, cut) };
  }
  return out;
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
  private readonly maxTrackedAlarms: number;
  private seq = 0;

  constructor(opts: IncidentStoreOptions) {
    this.client = opts.client;
    this.tableName = opts.tableName;
    this.now = opts.now ?? (() => new Date());
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
      if (item.outcome === 'created' || item.outcome === 'joined' || item.outcome === 'upgraded' || item.outcome === 'reopened') result.firstOutcome = item.outcome;
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
          const holder = await this.findMeta(reopened.holder);
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
        const incident = await this.getMeta(id);
        await this.appendTimeline(id, {
          actor: 'classifier',
          action: 'incident-opened',
          detail: `${decision.incidentType} ${decision.severity} on ${signal.cluster} from ${signal.source} signal ${signal.name} (${signal.kind}${signal.brokerIds.length ? `, brokers ${signal.brokerIds.join(',')}` : ''})${linkedTo ? `; linked to escalated incident ${linkedTo.incidentId}: ${linkedTo.why}` : ''}`,
          result: decision.action,
          reasons: decision.reasons,
        });
        if (linkedTo) {
          await this.appendTimeline(linkedTo.incidentId, {
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
      const holder = await this.findMeta(holderId);
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
    const openedAt = this.now().toISOString();
    const brokers: Record<string, string> = {};
    if (signal.state === 'firing') for (const b of signal.brokerIds) brokers[String(b)] = signal.observedAt;
    const alarms = { [fingerprintKey(signal.fingerprint)]: encodeAlarm(signal.state === 'firing' ? 'firing' : 'ok', signal.observedAt) };
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
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
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
      const now = await this.findMeta(id);
      if (now?.alarms !== undefined && now.alarms[key] === undefined && Object.keys(now.alarms).length >= this.maxTrackedAlarms && !now.alarmsUntracked) await this.flagUntracked(id);
    }
  }

  private async flagUntracked(id: string): Promise<void> {
    await this.client.send(new UpdateCommand({ TableName: this.tableName, Key: keys.incident(id), UpdateExpression: 'SET alarmsUntracked = :t', ExpressionAttributeValues: { ':t': true } }));
    await this.appendTimeline(id, {
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
    const current = await this.findMeta(id);
    if (!current || current.status !== 'resolved' || current.resolvedAt === undefined) return 'closed';
    const now = this.now().toISOString();
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
      await this.client.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Update: {
                TableName: this.tableName,
                Key: keys.incident(id),
                UpdateExpression: `SET ${sets.join(', ')} REMOVE resolvedAt, resolvedBy, resolvedVia, mttrSeconds, acknowledgedAt, acknowledgedBy, acknowledgedVia, pdAckSyncedAt, pdResolveSyncedAt, holdOpen ADD ${adds.join(', ')}`,
                ConditionExpression: '#status = :resolved AND resolvedAt = :at',
                ExpressionAttributeNames: names,
                ExpressionAttributeValues: values,
              },
            },
            { Put: { TableName: this.tableName, Item: { ...slot, incidentId: id, cluster: current.cluster, createdAt: now }, ConditionExpression: 'attribute_not_exists(pk) OR incidentId = :id', ExpressionAttributeValues: { ':id': id } } },
          ],
        }),
      );
    } catch (err) {
      if (!(err instanceof Error) || err.name !== 'TransactionCanceledException') throw err;
      const reasons = (err as Error & { CancellationReasons?: { Code?: string }[] }).CancellationReasons ?? [];
      if (reasons[0]?.Code === 'ConditionalCheckFailed') return 'closed';
      if (reasons[1]?.Code === 'ConditionalCheckFailed') {
        const res = await this.client.send(new GetCommand({ TableName: this.tableName, Key: slot, ConsistentRead: true }));
        if (typeof res.Item?.incidentId === 'string') return { holder: res.Item.incidentId };
      }
      return 'conflict';
    }
    await this.appendTimeline(id, {
      actor: 'classifier',
      action: 'incident-reopened',
      detail: `${why}; ${decision.incidentType} ${decision.severity} gets a fresh decision (reopened ${(current.reopenCount ?? 0) + 1} time(s))`,
      result: decision.action,
      reasons: decision.reasons,
    });
    return { outcome: 'reopened', incident: await this.getMeta(id) };
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
      await this.trackAlarm(id, { alarms: current.alarms === undefined ? undefined : Object.fromEntries(Object.entries(current.alarms).map(([k, a]) => [k, encodeAlarm(a.state, a.at)])) }, signal);
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

  /** Incidents of a cluster resolved at or after `since`, newest first (for reopening a returning fault). */
  async listRecentlyResolved(cluster: string, since: Date): Promise<(IncidentRecord & ResolvedIncident)[]> {
    const items = await this.queryAll({
      TableName: this.tableName,
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
    const current = await this.getMeta(id);
    if (run !== undefined) this.assertRunMayAct(id, current, run);
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
    const now = this.now();
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
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
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
      const actual = await this.findMeta(id);
      if (!actual) throw new IncidentNotFoundError(id);
      if (run !== undefined) this.assertRunMayAct(id, actual, run);
      if (version !== undefined && actual.version !== version && expected.includes(actual.status)) throw new ConditionalWriteConflict(keys.incidentPk(id), 1);
      throw new IncidentStatusConflict(id, expected, actual.status);
    }
    if (CLOSED_STATUSES.includes(status) || status === 'escalated') await this.releaseSlot(id, current.cluster, current.type);
    await this.appendTimeline(id, {
      actor: note?.actor ?? 'system',
      action: 'status-changed',
      detail: `${current.status} -> ${status}${note?.detail ? `: ${note.detail}` : ''}`,
      ...(note?.via === undefined ? {} : { result: `via ${note.via}` }),
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
    const at = this.now().toISOString();
    const current = await this.getMeta(id);
    const t = mtta(at, current.detectedAt, current.firstPagedAt);
    let first: boolean;
    try {
      const out = await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
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
      const now = await this.getMeta(id);
      const closed = !ACTIVE_STATUSES.includes(now.status);
      await this.appendTimeline(id, {
        at,
        actor: by,
        action: closed ? 'acknowledge-after-close' : 'acknowledge-repeated',
        detail: `from ${via}${detail ? `: ${detail}` : ''}; ${closed ? `the incident is already ${now.status}${now.resolvedBy ? ` (by ${now.resolvedBy})` : ''}` : `already acknowledged by ${now.acknowledgedBy ?? '?'} at ${now.acknowledgedAt ?? '?'}`}: nothing changed`,
        result: 'no change',
      });
      return { outcome: closed ? 'closed' : 'already-acknowledged', incident: now };
    }
    await this.appendTimeline(id, { at, actor: by, action: 'acknowledged', detail: `from ${via}${detail ? `: ${detail}` : ''}; MTTA ${t.seconds} s from the ${t.from === 'page' ? 'first page' : 'detection'}`, result: `via ${via}` });
    return { outcome: 'acknowledged', incident: await this.getMeta(id), ...(first ? { firstMtta: t } : {}) };
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
    const before = await this.getMeta(id);
    const ignored = async (now: IncidentRecord) => {
      await this.appendTimeline(id, {
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
      return ignored(await this.getMeta(id));
    }
  }

  /**
   * A person reopens a resolved incident: it becomes escalated (theirs; it gives the fault family's
   * slot to no one), held open (auto-resolve leaves it alone), back on the open index, and its
   * resolve time, MTTR and acknowledgement are cleared (MTTA keeps the first). Not resolved: nothing changes.
   */
  async reopenBy(id: string, by: string, via: LifecycleVia, detail: string): Promise<{ outcome: 'reopened' | 'not-resolved'; incident: IncidentRecord }> {
    const current = await this.getMeta(id);
    const now = this.now().toISOString();
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
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
      const latest = await this.getMeta(id);
      await this.appendTimeline(id, { actor: by, action: 'reopen-ignored', detail: `from ${via}: ${detail}; the incident is ${latest.status}, not resolved: nothing changed`, result: 'no change' });
      return { outcome: 'not-resolved', incident: latest };
    }
    await this.appendTimeline(id, {
      actor: by,
      action: 'incident-reopened',
      detail: `from ${via}: ${detail}; resolved -> escalated, held open for people (auto-resolve leaves it; resolve it by hand)`,
      result: `via ${via}`,
    });
    return { outcome: 'reopened', incident: await this.getMeta(id) };
  }

  /** A note from a person (or PagerDuty) on the incident's timeline; the incident must exist. */
  async addNote(id: string, by: string, via: LifecycleVia, text: string): Promise<IncidentRecord> {
    const incident = await this.getMeta(id);
    await this.appendTimeline(id, { actor: by, action: 'note', detail: text, result: `via ${via}` });
    return incident;
  }

  /** The first page about the incident went out now (MTTA counts from it); later ones change nothing. */
  async markPaged(id: string, at: string): Promise<void> {
    await this.updateExisting(id, 'SET firstPagedAt = if_not_exists(firstPagedAt, :at), #v = #v + :one', { ':at': at });
  }

  /** PagerDuty was told of the acknowledgement or the resolution (so nobody tells it twice). */
  async markPagerDutySynced(id: string, what: 'acknowledged' | 'resolved', at: string): Promise<void> {
    await this.updateExisting(id, `SET ${what === 'acknowledged' ? 'pdAckSyncedAt' : 'pdResolveSyncedAt'} = if_not_exists(${what === 'acknowledged' ? 'pdAckSyncedAt' : 'pdResolveSyncedAt'}, :at), #v = #v + :one`, { ':at': at });
  }

  /**
   * Claims the right to re-notify the owner of an escalated incident: true at most once per
   * `minSeconds` (a conditional write, whoever races), so a flapping alarm does not page on every flap.
   */
  async claimRenotify(id: string, minSeconds: number = RENOTIFY_MIN_SECONDS): Promise<boolean> {
    const now = this.now();
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
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

