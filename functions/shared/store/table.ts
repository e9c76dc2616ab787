// The incident table: one DynamoDB table, single-table design, shared by the store's aggregates
// (one module each, beside this one). Every write that races another (incident creation, joins,
// cascade upgrades, the per-cluster lock, signal dedup) is a conditional write, so concurrent
// classify invocations converge without a coordinator.
//
// Items (pk / sk), and the module that writes them:
//   INCIDENT#<id> / META              the incident; gsi1pk=CLUSTER#<cluster>#OPEN while active (incidents.ts, record-signal.ts)
//   OPEN#<cluster>#<family> / SLOT   the active incident of one fault family (created with it in one
//                                    transaction, deleted when it closes): concurrent creates converge (record-signal.ts, incidents.ts)
//   INCIDENT#<id> / TL#<iso>#<seq>    timeline entries, append-only (put-if-absent, never updated) (timeline.ts)
//   SIGNAL#<signal id> / SIGNAL       dedup marker: a redelivered signal is a no-op (TTL 7 days) (signal-ledger.ts)
//   LOCK#<cluster> / LOCK             one active remediation per cluster (owner = incident id, TTL) (cluster-lock.ts)
//   HEALS#<cluster> / <iso>#<id>      finished remediations, for the flap breaker and cooldowns (TTL 30 days) (heal-history.ts)
//   RAW#<yyyy-mm-dd> / <iso>#<uuid>   raw input that could not be normalized, with the error (TTL 30 days) (raw-inbox.ts)
//
// This module holds what they share: the key builders, the table wiring and the incident item's codec.
import {
  GetCommand,
  QueryCommand,
  UpdateCommand,
  type DynamoDBDocumentClient,
  type QueryCommandInput,
} from '@aws-sdk/lib-dynamodb';
import { incidentFamily, type LifecycleVia, type TrackedAlarm } from '#domain/lifecycle.js';
import type { IncidentStatus, IncidentType, OpenIncident, Severity } from '#domain/types.js';
import { IncidentNotFoundError, isConditionalCheckFailed } from '../errors.js';

/** Key names shared with the CDK table definition and DynamoDB Local. */
export const INCIDENT_TABLE_SCHEMA = {
  partitionKey: 'pk',
  sortKey: 'sk',
  ttlAttribute: 'expiresAt',
  gsi1: { name: 'gsi1', partitionKey: 'gsi1pk', sortKey: 'gsi1sk' },
} as const;

export const ACTIVE_STATUSES: readonly IncidentStatus[] = ['open', 'remediating', 'awaiting-approval', 'escalated'];
export const CLOSED_STATUSES: readonly IncidentStatus[] = ['resolved', 'suppressed'];

export const DAY = 86_400;

export { incidentFamily } from '#domain/lifecycle.js';

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

/** Where the store's aggregates read and write: the document client, the table and the clock. */
export interface StoreTable {
  client: DynamoDBDocumentClient;
  tableName: string;
  now: () => Date;
}

export interface StoreTableOptions {
  client: DynamoDBDocumentClient;
  tableName: string;
  now?: () => Date;
}

export function storeTable(opts: StoreTableOptions): StoreTable {
  return { client: opts.client, tableName: opts.tableName, now: opts.now ?? (() => new Date()) };
}

export type Item = Record<string, unknown>;

export function epochSeconds(d: Date): number {
  return Math.floor(d.getTime() / 1000);
}

/** A short randomized pause before a conditional write is tried again. */
export function backoff(attempt: number): Promise<void> {
  const ms = Math.min(150, 5 * 2 ** Math.min(attempt, 5)) * (0.5 + Math.random());
  return new Promise((r) => setTimeout(r, ms));
}

/** Every item a query returns, page by page. */
export async function queryAll(t: StoreTable, input: QueryCommandInput): Promise<Item[]> {
  const items: Item[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const res = await t.client.send(new QueryCommand({ ...input, ...(start ? { ExclusiveStartKey: start } : {}) }));
    items.push(...((res.Items ?? []) as Item[]));
    start = res.LastEvaluatedKey;
  } while (start);
  return items;
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

const SEVERITY_RANK: Record<Severity, number> = { 'SEV-1': 1, 'SEV-2': 2, 'SEV-3': 3, 'SEV-4': 4 };

/** The more severe of two severities (SEV-1 is the most severe). */
export function moreSevere(a: Severity, b: Severity): Severity {
  return SEVERITY_RANK[a] <= SEVERITY_RANK[b] ? a : b;
}

/** The severities less severe than `severity`. */
export function lessSevere(severity: Severity): Severity[] {
  return (Object.keys(SEVERITY_RANK) as Severity[]).filter((s) => SEVERITY_RANK[s] > SEVERITY_RANK[severity]);
}

/** A DynamoDB string set as the document client returns it (a Set), or a list. */
function stringSet(value: unknown): string[] {
  return value instanceof Set ? [...(value as Set<string>)] : Array.isArray(value) ? (value as string[]) : [];
}

/** The incident item (INCIDENT#<id> / META) as a record. */
export function toIncident(item: Item): IncidentRecord {
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
  for (const k of [
    'acknowledgedAt',
    'acknowledgedBy',
    'firstPagedAt',
    'resolvedAt',
    'resolvedBy',
    'executionArn',
    'activeRun',
    'linkedTo',
  ] as const) {
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
  if (item.alarms !== undefined && typeof item.alarms === 'object' && item.alarms !== null)
    rec.alarms = decodeAlarms(item.alarms as Record<string, unknown>);
  if (item.alarmsUntracked === true) rec.alarmsUntracked = true;
  if (item.holdOpen === true) rec.holdOpen = true;
  const synced: { acknowledged?: string; resolved?: string } = {};
  if (typeof item.pdAckSyncedAt === 'string') synced.acknowledged = item.pdAckSyncedAt;
  if (typeof item.pdResolveSyncedAt === 'string') synced.resolved = item.pdResolveSyncedAt;
  if (Object.keys(synced).length > 0) rec.pagerDutySynced = synced;
  return rec;
}

/** An alarm's state as the item keeps it: `<observed ISO time>|firing` or `|ok`, so later states compare greater. */
export function encodeAlarm(state: TrackedAlarm['state'], at: string): string {
  return `${at}|${state}`;
}

export function decodeAlarms(raw: Record<string, unknown>): Record<string, TrackedAlarm> {
  const out: Record<string, TrackedAlarm> = {};
  for (const [k, v] of Object.entries(raw)) {
    if (typeof v !== 'string') continue;
    const cut = v.lastIndexOf('|');
    const state = v.slice(cut + 1);
    if (cut > 0 && (state === 'firing' || state === 'ok')) out[k] = { state, at: v.slice(0, cut) };
  }
  return out;
}

/** The incident as stored now (a consistent read), or undefined. */
export async function findIncident(t: StoreTable, id: string): Promise<IncidentRecord | undefined> {
  const res = await t.client.send(
    new GetCommand({ TableName: t.tableName, Key: keys.incident(id), ConsistentRead: true }),
  );
  return res.Item ? toIncident(res.Item) : undefined;
}

/** The incident as stored now; IncidentNotFoundError when there is none. */
export async function getIncident(t: StoreTable, id: string): Promise<IncidentRecord> {
  const found = await findIncident(t, id);
  if (!found) throw new IncidentNotFoundError(id);
  return found;
}

/** An update of an existing incident item that also bumps its version; IncidentNotFoundError when there is none. */
export async function updateExistingIncident(
  t: StoreTable,
  id: string,
  update: string,
  values: Record<string, unknown>,
): Promise<void> {
  try {
    await t.client.send(
      new UpdateCommand({
        TableName: t.tableName,
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
