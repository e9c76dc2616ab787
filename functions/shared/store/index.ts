// The incident store: one DynamoDB table (table.ts), one module per aggregate. Handlers take the
// pieces they use (`incidents`, `timeline`, `lock`...), each narrowed to the calls they make.
import { ClusterLock } from './cluster-lock.js';
import { HealHistory } from './heal-history.js';
import { IncidentRepo } from './incidents.js';
import type { IncidentRepoOptions } from './record-signal.js';
import { RawInbox } from './raw-inbox.js';
import { SignalLedger } from './signal-ledger.js';
import { storeTable, type StoreTableOptions } from './table.js';
import { Timeline } from './timeline.js';

export interface StoreOptions extends StoreTableOptions, IncidentRepoOptions {}

/** Every piece of the incident store over one table. */
export interface Store {
  incidents: IncidentRepo;
  timeline: Timeline;
  signals: SignalLedger;
  lock: ClusterLock;
  heals: HealHistory;
  rawInbox: RawInbox;
}

/** The store's pieces over one table and clock; the incidents write their lines through the same timeline. */
export function createStore(opts: StoreOptions): Store {
  const t = storeTable(opts);
  const timeline = new Timeline(t);
  const signals = new SignalLedger(t);
  return {
    incidents: new IncidentRepo(t, timeline, signals, opts),
    timeline,
    signals,
    lock: new ClusterLock(t),
    heals: new HealHistory(t),
    rawInbox: new RawInbox(t),
  };
}

export { ClusterLock, LOCK_TTL_SECONDS, type LockInfo } from './cluster-lock.js';
export { HEAL_TTL_SECONDS, HealHistory } from './heal-history.js';
export { IncidentRepo, RENOTIFY_MIN_SECONDS, type IncidentWithTimeline } from './incidents.js';
export {
  MAX_INCIDENT_FINGERPRINTS,
  MAX_TRACKED_ALARMS,
  type RecordOutcome,
  type RecordedOutcome,
} from './record-signal.js';
export { RAW_BODY_MAX_BYTES, RAW_TTL_SECONDS, RawInbox, truncateUtf8, type RawInput } from './raw-inbox.js';
export { SIGNAL_CLAIM_STALE_MS, SIGNAL_MARKER_TTL_SECONDS, SignalLedger } from './signal-ledger.js';
export {
  ACTIVE_STATUSES,
  CLOSED_STATUSES,
  INCIDENT_TABLE_SCHEMA,
  incidentFamily,
  keys,
  moreSevere,
  type IncidentRecord,
} from './table.js';
export { Timeline, type TimelineEntry } from './timeline.js';
