// An in-memory stand-in for the incident store in handler tests: same method shapes and the
// semantics the handlers rely on (dedup by signal id, deterministic incident ids, re-entrant
// lock). The real store is tested against DynamoDB Local in test/integration.
import type { Correlation } from '#domain/correlate.js';
import { fingerprintKey, incidentIdFor } from '#domain/incident-id.js';
import type { Decision, HealRecord, IncidentStatus, Signal } from '#domain/types.js';
import type { ClassifyStore } from '#functions/classify/handler.js';
import { LockHeldError, LockNotOwnedError } from '#shared/errors.js';
import type { IncidentRecord, LockInfo, RawInput, RecordOutcome, TimelineEntry } from '#tools/incident-store.js';

/** Every call the classifier makes, in one object (each piece of ClassifyStore at once: storePieces). */
type ClassifyCalls = ClassifyStore['incidents'] &
  ClassifyStore['timeline'] &
  ClassifyStore['signals'] &
  ClassifyStore['lock'] &
  ClassifyStore['heals'] &
  ClassifyStore['rawInbox'];

export class FakeIncidentStore implements ClassifyCalls {
  incidents = new Map<string, IncidentRecord>();
  timelines = new Map<string, TimelineEntry[]>();
  markers = new Map<
    string,
    { incidentId: string; outcome: 'created' | 'joined' | 'upgraded' | 'reopened'; decision: Decision; acted: boolean }
  >();
  locks = new Map<string, LockInfo>();
  raws: RawInput[] = [];
  heals: HealRecord[] = [];

  constructor(private readonly now: () => Date) {}

  async listOpen(cluster: string) {
    return [...this.incidents.values()].filter(
      (i) => i.cluster === cluster && !['resolved', 'suppressed'].includes(i.status),
    );
  }
  async listRecentlyResolved(cluster: string, since: Date) {
    return [...this.incidents.values()]
      .filter(
        (i) =>
          i.cluster === cluster &&
          i.status === 'resolved' &&
          i.resolvedAt !== undefined &&
          Date.parse(i.resolvedAt) >= since.getTime(),
      )
      .map((i) => ({ ...i, resolvedAt: i.resolvedAt as string }));
  }
  renotified = new Map<string, number>();
  async claimRenotify(id: string, minSeconds = 300) {
    const last = this.renotified.get(id);
    if (last !== undefined && this.now().getTime() - last < minSeconds * 1000) return false;
    this.renotified.set(id, this.now().getTime());
    return true;
  }
  async recentHeals(cluster: string, since: Date) {
    return this.heals.filter((h) => h.cluster === cluster && Date.parse(h.finishedAt) >= since.getTime());
  }
  async recordSignal(signal: Signal, decision: Decision, correlation: Correlation): Promise<RecordOutcome> {
    const m = this.markers.get(signal.id);
    if (m)
      return {
        outcome: 'duplicate',
        incidentId: m.incidentId,
        firstOutcome: m.outcome,
        acted: m.acted,
        decision: m.decision,
      };
    let result: Exclude<RecordOutcome, { outcome: 'duplicate' }>;
    if (correlation.kind === 'reopen') {
      const inc = this.incidents.get(correlation.incidentId)!;
      inc.status = 'open';
      delete inc.resolvedAt;
      delete inc.acknowledgedAt;
      inc.reopenCount = (inc.reopenCount ?? 0) + 1;
      inc.signalCount++;
      await this.appendTimeline(inc.id, { actor: 'classifier', action: 'incident-reopened', detail: correlation.why });
      result = { outcome: 'reopened', incident: inc };
    } else if (correlation.kind === 'new') {
      const id = incidentIdFor(signal, decision.incidentType);
      const inc: IncidentRecord = {
        id,
        cluster: signal.cluster,
        type: decision.incidentType,
        severity: decision.severity,
        status: 'open',
        brokers: signal.brokerIds.map((b) => ({ id: b, firstSeenAt: signal.observedAt })),
        openedAt: this.now().toISOString(),
        fingerprints: [fingerprintKey(signal.fingerprint)],
        signalCount: 1,
        detectedAt: signal.observedAt,
        lastSignalAt: signal.observedAt,
        version: 1,
        ...(correlation.linkedTo ? { linkedTo: correlation.linkedTo.incidentId } : {}),
      };
      this.incidents.set(id, inc);
      await this.appendTimeline(id, { actor: 'classifier', action: 'incident-opened', reasons: decision.reasons });
      result = { outcome: 'created', incident: inc };
    } else {
      const inc = this.incidents.get(correlation.incidentId)!;
      inc.signalCount++;
      const newFingerprint = !inc.fingerprints.includes(fingerprintKey(signal.fingerprint));
      if (newFingerprint) inc.fingerprints.push(fingerprintKey(signal.fingerprint));
      if (correlation.kind === 'fold') {
        // As the real store: the first time only, on the cluster-wide incident's timeline.
        if (newFingerprint)
          await this.appendTimeline(inc.id, {
            actor: 'classifier',
            action: 'signal-folded',
            detail: correlation.entry.detail,
            result: 'folded',
            reasons: correlation.entry.reasons,
          });
        result = { outcome: 'joined', incident: inc, newFingerprint, newBrokers: [], folded: true };
      } else if (correlation.kind === 'upgrade') {
        const from = { type: inc.type, severity: inc.severity };
        inc.type = correlation.to;
        inc.severity = correlation.severity;
        result = { outcome: 'upgraded', incident: inc, from };
      } else {
        result = { outcome: 'joined', incident: inc, newFingerprint: true, newBrokers: [] };
      }
    }
    this.markers.set(signal.id, { incidentId: result.incident.id, outcome: result.outcome, decision, acted: false });
    return result;
  }
  async markSignalActed(signalId: string) {
    const m = this.markers.get(signalId);
    if (m) m.acted = true;
  }
  async appendTimeline(id: string, entry: Omit<TimelineEntry, 'at'> & { at?: string }) {
    const full = { ...entry, at: entry.at ?? this.now().toISOString() };
    this.timelines.set(id, [...(this.timelines.get(id) ?? []), full]);
    return full;
  }
  async acquireLock(cluster: string, owner: string, ttlSeconds: number, run?: string) {
    const held = this.locks.get(cluster);
    const nowS = Math.floor(this.now().getTime() / 1000);
    if (held && held.owner !== owner && held.expiresAt >= nowS)
      throw new LockHeldError(cluster, held.owner, held.expiresAt);
    const lock: LockInfo = {
      cluster,
      owner,
      acquiredAt: this.now().toISOString(),
      expiresAt: nowS + ttlSeconds,
      ...(run === undefined ? {} : { run }),
    };
    this.locks.set(cluster, lock);
    return lock;
  }
  async getLock(cluster: string) {
    return this.locks.get(cluster);
  }
  async designateRun(id: string, run: string) {
    this.incidents.get(id)!.activeRun = run;
  }
  async fenceRun(id: string, run: string) {
    const inc = this.incidents.get(id)!;
    inc.fencedRuns = [...new Set([...(inc.fencedRuns ?? []), run])];
  }
  async releaseLock(cluster: string, owner: string) {
    const held = this.locks.get(cluster);
    if (held && held.owner !== owner) throw new LockNotOwnedError(cluster, owner);
    return this.locks.delete(cluster);
  }
  async setExecution(id: string, arn: string) {
    this.incidents.get(id)!.executionArn = arn;
  }
  async setStatus(id: string, status: IncidentStatus) {
    const inc = this.incidents.get(id)!;
    inc.status = status;
    if (status === 'resolved') inc.resolvedAt = this.now().toISOString();
    return inc;
  }
  async storeRaw(raw: RawInput) {
    this.raws.push(raw);
    return { pk: `RAW#${raw.receivedAt.slice(0, 10)}`, sk: raw.receivedAt, truncated: false };
  }
  async get(id: string) {
    return { ...this.incidents.get(id)!, timeline: this.timelines.get(id) ?? [] };
  }
  actions(id: string): string[] {
    return (this.timelines.get(id) ?? []).map((e) => e.action);
  }
}
