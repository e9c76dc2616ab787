// Assembles the DrillReport (report-types.ts) from what one run observed, and checks the
// scenario's expectations against it. Pure: every time and count comes in as data.
import type { IncidentWithTimeline } from '#shared/store/index.js';
import type {
  DrillAction,
  DrillExpectationResult,
  DrillIncident,
  DrillReport,
  DrillSource,
  DrillTimelineEntry,
} from './report-types.js';
import { isBrokerFault, isSiteFault, type Scenario } from './scenario.js';

/** The auto-resolver's actor on the timeline (AUTO_RESOLVE of functions/lifecycle/auto-resolve.ts, whose AWS clients this pure module does not load). */
export const AUTO_RESOLVE = 'auto-resolve';

export interface ObservedEvent {
  at: number;
  source: DrillSource;
  event: string;
  detail?: string;
}

export interface ObservedExecution {
  workflow: string;
  incidentId?: string;
  status: string;
}

export interface DrillObservations {
  scenario: Scenario;
  startedAt: number;
  finishedAt: number;
  cluster: DrillReport['cluster'];
  /** The first fault (ms); the timeline's zero. */
  faultAt: number;
  events: ObservedEvent[];
  incidents: IncidentWithTimeline[];
  executions: ObservedExecution[];
  workload: { produced: number; consumed: number; lost: number };
  /** When the cluster was seen healthy again (every broker registered, every ISR full) after the faults, or null. */
  healthyAt: number | null;
  /** Whether the cluster was healthy when the drill ended. */
  finalHealthy: boolean;
  oracleMs: number | null;
  /** Site failure (scenario dr): what the DR side measured. */
  dr?: DrObservations;
  /**
   * Partitions the probe saw with no leader (Kafka's own leader -1) after the first fault, with
   * the ISR Kafka kept for them: the evidence an offline-partitions incident is weighed against.
   */
  offlinePartitions?: OfflineReading[];
  notes: string[];
}

export interface OfflineReading {
  at: number;
  topic: string;
  partition: number;
  /** The ISR Kafka kept for it, or (an empty ISR, as eligible leader replicas leave it) the last ISR seen while it had a leader; empty: unknown or full. */
  isr: number[];
}

/** A partition as one probe run saw it (only partitions in trouble are kept). */
export interface ProbedPartition {
  topic: string;
  partition: number;
  leader: number;
  isr: number[];
}

/**
 * The leaderless partitions (Kafka's leader -1) of the probe runs from `since` on, each with the
 * ISR that explains it: its own, or when Kafka emptied it, the last one seen while it still had a
 * leader. A partition absent from an earlier run was healthy then (its ISR full): no ISR is given.
 */
export function offlineReadings(
  log: readonly { at: number; troubled?: ProbedPartition[] }[],
  since: number,
): OfflineReading[] {
  const out: OfflineReading[] = [];
  log.forEach((entry, i) => {
    if (entry.at < since) return;
    for (const p of entry.troubled ?? []) {
      if (p.leader >= 0) continue;
      let isr = p.isr;
      for (let j = i - 1; isr.length === 0 && j >= 0; j--) {
        const before = log[j]?.troubled?.find((q) => q.topic === p.topic && q.partition === p.partition);
        if (!before) break;
        if (before.leader >= 0 || before.isr.length > 0) isr = before.isr;
      }
      out.push({ at: entry.at, topic: p.topic, partition: p.partition, isr: [...isr] });
    }
  });
  return out;
}

/** The brokers the scenario's faults take down (every broker for a site failure); undefined: unknown. */
function faultedBrokers(scenario: Scenario): Set<number> | undefined {
  const out = new Set<number>();
  for (const f of scenario.faults) {
    if (isSiteFault(f)) return undefined;
    if (isBrokerFault(f)) out.add(f.broker);
  }
  return out;
}

/**
 * Why Kafka itself took partitions offline, when it did: each partition the probe saw leaderless
 * kept only faulted brokers in its ISR, so no in-sync replica was alive to lead it (unclean
 * election is off). That happens when a follower fell out of the ISR before the fault (a loaded
 * machine: replica.lag.time.max.ms); the offline-partitions incident is then right, not a misreading
 * of the crash. Undefined when there is no such reading or any offline partition had a live ISR member.
 */
export function offlineExplainedByIsr(
  o: Pick<DrillObservations, 'scenario' | 'offlinePartitions'>,
): string | undefined {
  const readings = o.offlinePartitions ?? [];
  const faulted = faultedBrokers(o.scenario);
  if (readings.length === 0 || !faulted || faulted.size === 0) return undefined;
  if (!readings.every((r) => r.isr.length > 0 && r.isr.every((b) => faulted.has(b)))) return undefined;
  const names = [...new Set(readings.map((r) => `${r.topic}-${r.partition} (ISR ${r.isr.join(',')})`))];
  return `Kafka took ${names.length} partition(s) offline itself: ${names.slice(0, 5).join('; ')}${names.length > 5 ? '; ...' : ''}: their ISR held only the faulted broker(s), so no live in-sync replica could lead`;
}

export interface DrObservations {
  /** Replication lag at failure: DR append time minus send time of the newest replicated heartbeat (s). */
  rpoSeconds: number | null;
  /** Fault to the bootstrap record INSYNC on DR with the canary proven through it (s). */
  rtoSeconds: number | null;
  /** How long before the failure the oldest lost message was acknowledged (s); null when none is lost. */
  oldestLostAgeSeconds: number | null;
}

/**
 * What the heartbeat lag cannot see: it is read from the newest heartbeat (MM2 emits one a second)
 * and data flows through another connector task polled every second, so data written up to 2 s
 * before the RPO window may still be in flight when the site dies.
 */
export const RPO_SLACK_SECONDS = 2;

const round1 = (n: number) => Math.round(n * 10) / 10;
const secondsBetween = (from: number, to: number) => round1((to - from) / 1000);

/**
 * The incident the expectations and MTTD/MTTR talk about: of the incidents of the expected type
 * (all incidents when the scenario names no type), the first or the last opened.
 */
export function primaryIncident(
  incidents: IncidentWithTimeline[],
  which: 'first' | 'last',
  type?: string,
): IncidentWithTimeline | undefined {
  const sorted = [...incidents].sort((a, b) => Date.parse(a.openedAt) - Date.parse(b.openedAt));
  const ofType = type === undefined ? sorted : sorted.filter((i) => i.type === type);
  const pool = ofType.length > 0 ? ofType : sorted;
  return which === 'first' ? pool[0] : pool.at(-1);
}

function isAction(actor: string): boolean {
  return (
    actor === 'classifier' || actor === AUTO_RESOLVE || actor.startsWith('workflow:') || actor.startsWith('operator:')
  );
}

export function incidentActions(incidents: IncidentWithTimeline[], faultAt: number): DrillAction[] {
  const out: DrillAction[] = [];
  for (const inc of incidents) {
    const brokers = inc.brokers.map((b) => b.id).join(',');
    for (const e of inc.timeline) {
      if (!isAction(e.actor)) continue;
      const at = Date.parse(e.at);
      const a: DrillAction = {
        at: e.at,
        offsetSeconds: secondsBetween(faultAt, at),
        actor: e.actor.replace(/^workflow:/, ''),
        action: e.action,
      };
      if (brokers !== '') a.target = `broker ${brokers}`;
      if (e.result !== undefined) a.result = e.result;
      if (/dry run|planned/i.test(`${e.action} ${e.detail ?? ''}`)) a.dryRun = true;
      out.push(a);
    }
  }
  return out.sort((x, y) => Date.parse(x.at) - Date.parse(y.at));
}

function timeline(o: DrillObservations): DrillTimelineEntry[] {
  const entries: DrillTimelineEntry[] = o.events.map((e) => {
    const t: DrillTimelineEntry = {
      at: new Date(e.at).toISOString(),
      offsetSeconds: secondsBetween(o.faultAt, e.at),
      source: e.source,
      event: e.event,
    };
    if (e.detail !== undefined) t.detail = e.detail;
    return t;
  });
  for (const inc of o.incidents) {
    for (const e of inc.timeline) {
      const at = Date.parse(e.at);
      const source: DrillSource =
        e.actor === 'classifier' || e.actor === AUTO_RESOLVE
          ? 'classifier'
          : e.actor.startsWith('workflow:')
            ? 'workflow'
            : e.actor.startsWith('operator:')
              ? 'approval'
              : 'alarm';
      // The classifier's reasons say why (e.g. the flap breaker), so they travel with the entry.
      const why = e.reasons && e.reasons.length > 0 ? `why: ${e.reasons.join(' ')}` : undefined;
      const detail = [e.detail, e.result === undefined ? undefined : `result: ${e.result}`, why]
        .filter((x) => x !== undefined)
        .join('; ');
      entries.push({
        at: e.at,
        offsetSeconds: secondsBetween(o.faultAt, at),
        source,
        event: `incident:${e.action}`,
        ...(detail === '' ? {} : { detail: `${inc.id}: ${detail}` }),
      });
    }
  }
  return entries.sort((a, b) => Date.parse(a.at) - Date.parse(b.at));
}

function check(name: string, expected: string, actual: string, passed: boolean): DrillExpectationResult {
  return { name, expected, actual, passed };
}

export function evaluateExpectations(
  o: DrillObservations,
  m: { mttrSeconds: number | null; ratio: number | null },
): DrillExpectationResult[] {
  const ex = o.scenario.expect;
  const out: DrillExpectationResult[] = [];
  const inc = primaryIncident(o.incidents, ex.incident, ex.incidentType);
  const none = '(no incident)';
  if (ex.noIncident)
    out.push(
      check(
        'no incident',
        'no incident opened',
        o.incidents.length === 0 ? 'none' : o.incidents.map((i) => `${i.type} ${i.status}`).join(', '),
        o.incidents.length === 0,
      ),
    );
  for (const type of ex.incidentTypesNotOpened ?? []) {
    const opened = o.incidents.filter((i) => i.type === type);
    const actual = opened.length === 0 ? 'not opened' : opened.map((i) => `${i.severity} ${i.status}`).join(', ');
    // The expectation is that the healer does not misread a crash as offline partitions; when
    // Kafka really had leaderless partitions (their ISR had shrunk to the crashed broker), the incident is right.
    const explained = opened.length > 0 && type === 'offline-partitions' ? offlineExplainedByIsr(o) : undefined;
    out.push(
      check(
        `no ${type} incident`,
        'not opened',
        explained ? `${actual}; not a misreading: ${explained}` : actual,
        opened.length === 0 || explained !== undefined,
      ),
    );
  }
  if (ex.incidentType)
    out.push(check('incident type', ex.incidentType, inc?.type ?? none, inc?.type === ex.incidentType));
  if (ex.severity) out.push(check('severity', ex.severity, inc?.severity ?? none, inc?.severity === ex.severity));
  if (ex.status) out.push(check('incident status', ex.status, inc?.status ?? none, inc?.status === ex.status));
  if (ex.workflow) {
    const ran = o.executions
      .filter((e) => inc === undefined || e.incidentId === undefined || e.incidentId === inc.id)
      .map((e) => e.workflow);
    out.push(check('workflow', ex.workflow, ran.join(', ') || '(none started)', ran.includes(ex.workflow)));
  }
  // Actions of the incident under test (a flapping drill's earlier incidents did restart the broker).
  const taken = new Set(
    (inc ? [inc] : []).flatMap((i) => i.timeline.filter((e) => isAction(e.actor)).map((e) => e.action)),
  );
  for (const a of ex.actionsTaken)
    out.push(check(`action taken: ${a}`, 'taken', taken.has(a) ? 'taken' : 'not taken', taken.has(a)));
  for (const a of ex.actionsNotTaken)
    out.push(check(`action not taken: ${a}`, 'not taken', taken.has(a) ? 'taken' : 'not taken', !taken.has(a)));
  if (ex.acknowledged) {
    const ackAt = inc?.acknowledgedAt === undefined ? undefined : Date.parse(inc.acknowledgedAt);
    const pagedAfter =
      ackAt === undefined
        ? []
        : (inc?.timeline ?? []).filter((e) => e.action === 'escalation-paged' && Date.parse(e.at) > ackAt);
    const stopped = (inc?.timeline ?? []).some((e) => e.action === 'escalation-acknowledged');
    const actual =
      ackAt === undefined
        ? 'not acknowledged'
        : `acknowledged by ${inc?.acknowledgedBy ?? '?'} via ${inc?.acknowledgedVia ?? '?'}, MTTA ${inc?.mttaSeconds ?? '?'} s; ${pagedAfter.length} page(s) after it; ladder ${stopped ? 'stopped' : 'did not note it'}`;
    out.push(
      check(
        'acknowledged',
        'acknowledged via PagerDuty, MTTA measured, no page after it',
        actual,
        ackAt !== undefined &&
          inc?.acknowledgedVia === 'pagerduty' &&
          inc.mttaSeconds !== undefined &&
          pagedAfter.length === 0 &&
          stopped,
      ),
    );
  }
  if (ex.autoResolved !== undefined) {
    const auto = o.incidents.filter((i) => i.status === 'resolved' && i.resolvedBy === AUTO_RESOLVE);
    out.push(
      check(
        'auto-resolved',
        `${ex.autoResolved} incident(s) recovered without the healer`,
        auto.length === 0 ? 'none' : auto.map((i) => `${i.type} ${i.id}`).join(', '),
        auto.length === ex.autoResolved,
      ),
    );
  }
  if (ex.maxMttrSeconds !== undefined) {
    out.push(
      check(
        'max MTTR',
        `<= ${ex.maxMttrSeconds} s`,
        m.mttrSeconds === null ? 'never recovered' : `${m.mttrSeconds} s`,
        m.mttrSeconds !== null && m.mttrSeconds <= ex.maxMttrSeconds,
      ),
    );
  }
  if (ex.maxMttrRatio !== undefined) {
    out.push(
      check(
        'MTTR / oracle',
        `<= ${ex.maxMttrRatio}`,
        m.ratio === null ? 'not measured' : String(m.ratio),
        m.ratio !== null && m.ratio <= ex.maxMttrRatio,
      ),
    );
  }
  if (ex.noDataLoss)
    out.push(
      check(
        'no data loss',
        '0 acknowledged messages lost',
        `${o.workload.lost} lost of ${o.workload.produced}`,
        o.workload.lost === 0 && o.workload.produced > 0,
      ),
    );
  if (ex.maxRpoSeconds !== undefined) {
    const rpo = o.dr?.rpoSeconds ?? null;
    out.push(
      check(
        'max RPO',
        `<= ${ex.maxRpoSeconds} s`,
        rpo === null ? 'not measured' : `${rpo} s`,
        rpo !== null && rpo <= ex.maxRpoSeconds,
      ),
    );
  }
  if (ex.maxRtoSeconds !== undefined) {
    const rto = o.dr?.rtoSeconds ?? null;
    out.push(
      check(
        'max RTO',
        `<= ${ex.maxRtoSeconds} s`,
        rto === null ? 'never switched' : `${rto} s`,
        rto !== null && rto <= ex.maxRtoSeconds,
      ),
    );
  }
  if (ex.lossWithinRpo) {
    const rpo = o.dr?.rpoSeconds ?? null;
    const age = o.dr?.oldestLostAgeSeconds ?? null;
    const bound = rpo === null ? null : round1(rpo + RPO_SLACK_SECONDS);
    const actual =
      o.workload.lost === 0
        ? `0 lost of ${o.workload.produced}`
        : `${o.workload.lost} lost of ${o.workload.produced}, oldest acknowledged ${age} s before the failure`;
    const held = o.workload.produced > 0 && (o.workload.lost === 0 || (bound !== null && age !== null && age <= bound));
    out.push(
      check(
        'loss within RPO',
        bound === null
          ? 'RPO measured'
          : `lost messages acknowledged at most ${bound} s (RPO + ${RPO_SLACK_SECONDS} s) before the failure`,
        actual,
        held,
      ),
    );
  }
  if (ex.finalHealth === 'healthy')
    out.push(check('final health', 'healthy', o.finalHealthy ? 'healthy' : 'not healthy', o.finalHealthy));
  return out;
}

export function assembleReport(o: DrillObservations): DrillReport {
  const inc = primaryIncident(o.incidents, o.scenario.expect.incident, o.scenario.expect.incidentType);
  const mttdSeconds = inc ? secondsBetween(o.faultAt, Date.parse(inc.openedAt)) : null;
  let mttrSeconds: number | null = null;
  if (inc?.status === 'resolved' && inc.resolvedAt !== undefined) {
    const resolved = Date.parse(inc.resolvedAt);
    // Recovered means resolved AND the cluster healthy: whichever came last.
    if (o.healthyAt !== null) mttrSeconds = secondsBetween(o.faultAt, Math.max(resolved, o.healthyAt));
  }
  const oracleMttrSeconds = o.oracleMs === null ? null : round1(o.oracleMs / 1000);
  const mttrRatio =
    mttrSeconds !== null && oracleMttrSeconds !== null && oracleMttrSeconds > 0
      ? Math.round((mttrSeconds / oracleMttrSeconds) * 100) / 100
      : null;
  const expectations = evaluateExpectations(o, { mttrSeconds, ratio: mttrRatio });
  const incidents: DrillIncident[] = [...o.incidents]
    .sort((a, b) => Date.parse(a.openedAt) - Date.parse(b.openedAt))
    .map((i) => {
      // The incident's remediation: the first of its executions not stopped as superseded (an
      // incident that grew into a cascade first started broker-recovery, which the classifier stopped).
      const ofIncident = o.executions.filter((e) => e.incidentId === i.id);
      const exec = ofIncident.find((e) => e.status !== 'ABORTED') ?? ofIncident[0];
      const d: DrillIncident = { id: i.id, type: i.type, severity: i.severity, status: i.status, openedAt: i.openedAt };
      if (exec) {
        d.workflow = exec.workflow;
        d.executionStatus = exec.status;
      }
      if (i.resolvedAt !== undefined) d.resolvedAt = i.resolvedAt;
      if (i.mttaSeconds !== undefined) d.mttaSeconds = i.mttaSeconds;
      if (i.acknowledgedBy !== undefined)
        d.acknowledgedBy = `${i.acknowledgedBy}${i.acknowledgedVia === undefined ? '' : ` (${i.acknowledgedVia})`}`;
      return d;
    });
  return {
    scenario: o.scenario.name,
    description: o.scenario.description,
    passed: expectations.every((e) => e.passed),
    startedAt: new Date(o.startedAt).toISOString(),
    finishedAt: new Date(o.finishedAt).toISOString(),
    cluster: o.cluster,
    mttdSeconds,
    mttrSeconds,
    oracleMttrSeconds,
    mttrRatio,
    ...(o.dr ? { rpoSeconds: o.dr.rpoSeconds, rtoSeconds: o.dr.rtoSeconds } : {}),
    messagesProduced: o.workload.produced,
    messagesConsumed: o.workload.consumed,
    messagesLost: o.workload.lost,
    incidents,
    actions: incidentActions(o.incidents, o.faultAt),
    timeline: timeline(o),
    expectations,
    notes: o.notes,
  };
}
