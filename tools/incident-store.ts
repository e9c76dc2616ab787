// The incident store as one object, for operator tools, drills, benches and store tests that use
// every part of it: a thin facade over the pieces in ./store/ (one module per aggregate). Lambda
// handlers do not use it: their deps name the pieces they use.
import type { Correlation } from '../functions/domain/correlate.js';
import type { LifecycleVia } from '../functions/domain/lifecycle.js';
import type { Decision, HealRecord, IncidentStatus, OpenIncident, Signal } from '../functions/domain/types.js';
import type { ClusterLock } from '../functions/shared/store/cluster-lock.js';
import type { HealHistory } from '../functions/shared/store/heal-history.js';
import { createStore, type Store, type StoreOptions } from '../functions/shared/store/index.js';
import type { IncidentRepo } from '../functions/shared/store/incidents.js';
import type { RawInbox, RawInput } from '../functions/shared/store/raw-inbox.js';
import type { SignalLedger } from '../functions/shared/store/signal-ledger.js';
import type { Timeline, TimelineEntry } from '../functions/shared/store/timeline.js';

export * from '../functions/shared/store/index.js';

export type IncidentStoreOptions = StoreOptions;

export class IncidentStore implements Store {
  readonly incidents: IncidentRepo;
  readonly timeline: Timeline;
  readonly signals: SignalLedger;
  readonly lock: ClusterLock;
  readonly heals: HealHistory;
  readonly rawInbox: RawInbox;
  readonly tableName: string;

  constructor(opts: IncidentStoreOptions) {
    const s = createStore(opts);
    this.incidents = s.incidents;
    this.timeline = s.timeline;
    this.signals = s.signals;
    this.lock = s.lock;
    this.heals = s.heals;
    this.rawInbox = s.rawInbox;
    this.tableName = opts.tableName;
  }

  recordSignal(
    signal: Signal,
    decision: Decision,
    correlation: Correlation,
    recorrelate?: (open: OpenIncident[]) => Correlation,
  ) {
    return this.incidents.recordSignal(signal, decision, correlation, recorrelate);
  }
  get(id: string) {
    return this.incidents.get(id);
  }
  listOpen(cluster: string) {
    return this.incidents.listOpen(cluster);
  }
  listRecentlyResolved(cluster: string, since: Date) {
    return this.incidents.listRecentlyResolved(cluster, since);
  }
  list(filter: { cluster?: string; status?: IncidentStatus } = {}) {
    return this.incidents.list(filter);
  }
  setStatus(...a: Parameters<IncidentRepo['setStatus']>) {
    return this.incidents.setStatus(...a);
  }
  acknowledge(id: string, by: string, via: LifecycleVia, detail?: string) {
    return this.incidents.acknowledge(id, by, via, detail);
  }
  resolveBy(...a: Parameters<IncidentRepo['resolveBy']>) {
    return this.incidents.resolveBy(...a);
  }
  reopenBy(id: string, by: string, via: LifecycleVia, detail: string) {
    return this.incidents.reopenBy(id, by, via, detail);
  }
  addNote(id: string, by: string, via: LifecycleVia, text: string) {
    return this.incidents.addNote(id, by, via, text);
  }
  markPaged(id: string, at: string) {
    return this.incidents.markPaged(id, at);
  }
  markPagerDutySynced(id: string, what: 'acknowledged' | 'resolved', at: string) {
    return this.incidents.markPagerDutySynced(id, what, at);
  }
  claimRenotify(id: string, minSeconds?: number) {
    return this.incidents.claimRenotify(id, minSeconds);
  }
  setExecution(id: string, executionArn: string) {
    return this.incidents.setExecution(id, executionArn);
  }
  appendTimeline(id: string, entry: Omit<TimelineEntry, 'at'> & { at?: string }) {
    return this.timeline.appendTimeline(id, entry);
  }
  markSignalActed(signalId: string) {
    return this.signals.markSignalActed(signalId);
  }
  checkRun(id: string, run: string) {
    return this.lock.checkRun(id, run);
  }
  designateRun(id: string, run: string) {
    return this.lock.designateRun(id, run);
  }
  fenceRun(id: string, run: string) {
    return this.lock.fenceRun(id, run);
  }
  acquireLock(cluster: string, owner: string, ttlSeconds: number, run?: string) {
    return this.lock.acquireLock(cluster, owner, ttlSeconds, run);
  }
  holdLockForRun(cluster: string, owner: string, run: string, ttlSeconds: number) {
    return this.lock.holdLockForRun(cluster, owner, run, ttlSeconds);
  }
  renewLock(cluster: string, owner: string, ttlSeconds: number) {
    return this.lock.renewLock(cluster, owner, ttlSeconds);
  }
  releaseLock(cluster: string, owner: string, run?: string) {
    return this.lock.releaseLock(cluster, owner, run);
  }
  getLock(cluster: string) {
    return this.lock.getLock(cluster);
  }
  recordHeal(incidentId: string, heal: HealRecord) {
    return this.heals.recordHeal(incidentId, heal);
  }
  recentHeals(cluster: string, since: Date) {
    return this.heals.recentHeals(cluster, since);
  }
  storeRaw(raw: RawInput) {
    return this.rawInbox.storeRaw(raw);
  }
}
