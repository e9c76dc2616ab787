// classify(): one Signal + cluster facts + open incidents + recent heals + policy + now ->
// a Decision value (ignore | remediate with a plan | await-approval with a plan | escalate).
// Pure: the clock is injected, nothing is read or written. Every rule that shapes the decision
// appends a sentence to `reasons`, which the incident timeline shows verbatim.
//
// Brokers down: simultaneous failure vs cascade (the team's decision, see docs/operations.md).
//   Each failing broker has a first-seen time: the signal's own brokers at signal.observedAt (now
//   when unreadable), the brokers of open broker incidents of the cluster at their firstSeenAt;
//   only brokers first seen within the cascade window (default 300 s) count at all.
//   together   the largest group of failing brokers whose first-seen times all lie within
//              policy.simultaneousWindowSeconds (default 60 s) of each other: they failed at once.
//   Only `together` counts for the infrastructure-wide gates:
//     together / B > 50%                     -> emergency: escalate SEV-1, page
//     together > min(fraction * B, brokers)  -> blast radius: escalate SEV-1, page
//   Brokers failing one after another inside the cascade window are a cascade:
//     N >= 3 -> cascade-recovery, awaits approval, SEV-1 (the approval request pages at once)
//     N = 2  -> cascade-recovery automatically, SEV-1
//     N = 1  -> broker-recovery / msk-broker-recovery, SEV-2
//   So 3 brokers of 5 lost one after another wait for a person, and 3 of 5 lost at once are an
//   emergency. Open offline partitions always make the recovery wait for approval.
//
// Rule order:
//   1. resolved signals -> ignore (the incident store resolves/annotates the incident)
//   2. unknown cluster -> escalate SEV-2 with page; unknown kind -> escalate SEV-3
//   3. the kind's rule gives incident type, severity and a proposal (plan or escalation)
//   4. gates on a plan, in order: maintenance window, flap breaker, cooldown, automation mode
//
// Edges (thresholds from policy.thresholds; "[a, b]" inclusive):
//   consumer lag (messages)  > lagSev1 SEV-1 | [lagSev2, lagSev1] SEV-2 | [lagSev3, lagSev2) SEV-3 | below: ignore
//   error rate               a fraction 0-1; a value above 1 is read as a percentage (20 = 20%),
//                            so 1 means 100%. > errorRateSev1 SEV-1 | [Sev2, Sev1] SEV-2 |
//                            [Sev3, Sev2) SEV-3 | below: ignore. Always escalated (people fix it).
//   DLQ growth (per minute)  > dlqPerMinuteSev2: SEV-1 when an error-rate incident is open on the
//                            cluster, else SEV-2 | [Sev3, Sev2] SEV-3 | below: ignore. Escalated.
//   disk (%)                 >= diskCriticalPercent SEV-2 | >= diskWarnPercent SEV-3 | below: ignore
//   certificate (days left)  < certExpiryCriticalDays SEV-2 | < certExpiryWarnDays SEV-3 | else ignore
//   auth-failed, tls-failed  the probe itself is refused: SEV-2 page, never a plan (safety rule 11)
//   cascade window           a broker of an open incident counts when first seen <= window ago
//   simultaneous window      first-seen times with a span <= window failed together (inclusive)
//   flap window              a heal counts when it finished <= flapWindowSeconds ago
//   cooldown                 a heal of the same type finished < cooldownSeconds ago -> approval
//   maintenance window       start <= now < end: the plan is dropped (ignore, marked `suppressed`
//                            so the handler records it); SEV-1 escalates with a page instead.
//                            Escalations are never suppressed.
//   mode                     auto: as planned | approval: remediate -> await-approval |
//                            dry-run: plan.dryRun = true, action kept | off: escalate (page SEV-1/2)
//   missing value            lag, disk, error rate, DLQ growth without a value count as SEV-3
import { pages } from './severity.js';
import type {
  ClusterFacts,
  Decision,
  HealRecord,
  IncidentType,
  OpenIncident,
  RuntimePolicy,
  Severity,
  Signal,
  SignalKind,
  Workflow,
} from './types.js';

export interface ClassifyInput {
  signal: Signal;
  cluster: ClusterFacts | undefined;
  openIncidents: OpenIncident[];
  recentHeals: HealRecord[];
  policy: RuntimePolicy;
  now: Date;
}

export const KIND_TO_TYPE: Record<SignalKind, IncidentType> = {
  'broker-down': 'broker-failure',
  'controller-missing': 'controller-loss',
  'quorum-loss': 'quorum-loss',
  'offline-partitions': 'offline-partitions',
  'under-min-isr': 'under-replication',
  'under-replicated': 'under-replication',
  'disk-usage': 'disk-pressure',
  'cpu-high': 'resource-pressure',
  'heap-high': 'resource-pressure',
  'consumer-lag': 'consumer-lag',
  'consumer-time-lag': 'consumer-lag',
  'error-rate': 'error-rate',
  'dlq-growth': 'dlq-growth',
  'traffic-spike': 'traffic-spike',
  'site-down': 'site-failure',
  'replication-lag': 'replication-lag',
  'monitoring-gap': 'monitoring-outage',
  'security-event': 'security-event',
  'auth-failed': 'access-failure',
  'tls-failed': 'access-failure',
  'certificate-expiry': 'certificate-expiry',
  unknown: 'unknown',
};

/** Incident types that are about brokers being down (the broker-count matrix applies). */
const BROKER_TYPES: IncidentType[] = ['broker-failure', 'cascade-failure'];

type Proposal =
  | { kind: 'plan'; action: 'remediate' | 'await-approval'; workflow: Workflow; brokerIds: number[] }
  | { kind: 'escalate'; page: boolean }
  | { kind: 'ignore' };

interface Assessment {
  incidentType: IncidentType;
  severity: Severity;
  proposal: Proposal;
}

export function classify(input: ClassifyInput): Decision {
  const { signal, cluster } = input;
  const reasons: string[] = [];
  const type = KIND_TO_TYPE[signal.kind];

  if (signal.state === 'resolved') {
    reasons.push(`${signal.name} resolved: no action; the incident store resolves or annotates the matching incident.`);
    return { action: 'ignore', incidentType: type, severity: 'SEV-4', reasons };
  }
  if (cluster === undefined) {
    const seen =
      signal.cluster === '' ? 'the signal names no cluster' : `cluster "${signal.cluster}" is not configured`;
    reasons.push(`${seen}: the healer has no facts or policy for it, so people must look (escalating, SEV-2).`);
    return { action: 'escalate', incidentType: type, severity: 'SEV-2', page: true, reasons };
  }
  const a = assess(input, cluster, reasons);
  return applyGates(input, cluster, a, reasons);
}

function assess(input: ClassifyInput, cluster: ClusterFacts, reasons: string[]): Assessment {
  const { signal, policy } = input;
  const t = policy.thresholds;
  const type = KIND_TO_TYPE[signal.kind];
  const v = signal.value;
  const escalate = (severity: Severity, page = pages(severity)): Assessment => ({
    incidentType: type,
    severity,
    proposal: { kind: 'escalate', page },
  });
  const ignore = (): Assessment => ({ incidentType: type, severity: 'SEV-4', proposal: { kind: 'ignore' } });
  const plan = (
    severity: Severity,
    workflow: Workflow,
    brokerIds: number[],
    action: 'remediate' | 'await-approval' = 'remediate',
  ): Assessment => ({
    incidentType: type,
    severity,
    proposal: { kind: 'plan', action, workflow, brokerIds },
  });

  switch (signal.kind) {
    case 'broker-down':
      return brokerMatrix(input, cluster, reasons);

    case 'offline-partitions': {
      const down = failingBrokers(input, cluster, signal.brokerIds);
      reasons.push(
        'Offline partitions: data-loss risk; automation stops and a person must approve (unclean leader election is never automatic) (SEV-1).',
      );
      if (down.length === 0) {
        reasons.push('No failing broker is known, so there is nothing to recover automatically; escalating.');
        return escalate('SEV-1');
      }
      reasons.push(`Brokers ${down.join(', ')} are failing; their recovery waits for approval.`);
      return plan('SEV-1', recoveryWorkflow(cluster, down.length), down, 'await-approval');
    }

    case 'under-min-isr': {
      const down = failingBrokers(input, cluster, []);
      if (down.length > 0) {
        // The brokers are known only from their own open incident, and that incident recovers
        // them (one remediation per cluster). Planning the same recovery here raced it for the
        // cluster lock: when this symptom won, a cascade was recovered one broker short and its
        // own incident escalated on the held lock (seen in the cascade-approval drill).
        reasons.push(
          `Partitions under min.insync.replicas while brokers ${down.join(', ')} are down: producers with acks=all are failing until they are back (SEV-1). ` +
            'Their recovery belongs to the incident of those brokers; this one pages and takes no lock.',
        );
        return escalate('SEV-1');
      }
      reasons.push(
        'Partitions under min.insync.replicas: producers with acks=all are failing; no broker is known to be down, so people must look (SEV-2).',
      );
      return escalate('SEV-2');
    }

    case 'under-replicated':
      reasons.push(
        'Under-replicated partitions with no broker down: usually a slow or recovering broker; notifying (SEV-3).',
      );
      return escalate('SEV-3');

    case 'controller-missing':
    case 'quorum-loss': {
      const what =
        signal.kind === 'controller-missing'
          ? 'No active controller'
          : `${cluster.metadataMode === 'kraft' ? 'KRaft' : 'ZooKeeper'} quorum lost`;
      if (cluster.platform === 'msk') {
        reasons.push(
          `${what} on MSK: AWS manages the controllers, so there is no host runbook; escalating to people and AWS support (SEV-1).`,
        );
        return escalate('SEV-1');
      }
      reasons.push(
        `${what}: the cluster cannot elect leaders; quorum recovery is risky and waits for approval (SEV-1).`,
      );
      return plan('SEV-1', 'quorum-recovery', signal.brokerIds, 'await-approval');
    }

    case 'disk-usage': {
      if (v === undefined) {
        reasons.push(`Disk usage alarm without a value: treated as a warning (>= ${t.diskWarnPercent}%) (SEV-3).`);
        return plan('SEV-3', 'disk-pressure', signal.brokerIds);
      }
      if (v >= t.diskCriticalPercent) {
        reasons.push(`Disk usage ${v}% >= critical ${t.diskCriticalPercent}% (SEV-2).`);
        return plan('SEV-2', 'disk-pressure', signal.brokerIds);
      }
      if (v >= t.diskWarnPercent) {
        reasons.push(`Disk usage ${v}% >= warning ${t.diskWarnPercent}% (SEV-3).`);
        return plan('SEV-3', 'disk-pressure', signal.brokerIds);
      }
      reasons.push(`Disk usage ${v}% is below the warning level ${t.diskWarnPercent}%: no action (SEV-4).`);
      return ignore();
    }

    case 'consumer-lag': {
      const group = signal.consumerGroup === undefined ? 'a consumer group' : `group ${signal.consumerGroup}`;
      if (v === undefined) {
        reasons.push(`Consumer lag alarm for ${group} without a value: treated as SEV-3.`);
        return plan('SEV-3', 'consumer-lag', []);
      }
      const sev = lagSeverity(v, policy);
      reasons.push(`Consumer lag of ${group} is ${v} messages: ${lagRule(sev, policy)} (${sev}).`);
      return sev === 'SEV-4' ? ignore() : plan(sev, 'consumer-lag', []);
    }

    case 'consumer-time-lag': {
      const group = signal.consumerGroup === undefined ? 'a consumer group' : `group ${signal.consumerGroup}`;
      const limit = signal.threshold === undefined ? '' : ` (limit ${signal.threshold} s)`;
      reasons.push(
        `Consumer time lag of ${group} is ${v ?? 'unknown'} s${limit}: consumers are falling behind (SEV-3).`,
      );
      return plan('SEV-3', 'consumer-lag', []);
    }

    case 'error-rate': {
      if (v === undefined) {
        reasons.push('Error-rate alarm without a value: treated as SEV-3.');
        return escalate('SEV-3');
      }
      const rate = v > 1 ? v / 100 : v;
      const pct = `${Math.round(rate * 10_000) / 100}%`;
      if (rate > t.errorRateSev1) reasons.push(`Error rate ${pct} > ${t.errorRateSev1 * 100}% (SEV-1).`);
      else if (rate >= t.errorRateSev2)
        reasons.push(`Error rate ${pct} within ${t.errorRateSev2 * 100}-${t.errorRateSev1 * 100}% (SEV-2).`);
      else if (rate >= t.errorRateSev3)
        reasons.push(`Error rate ${pct} within ${t.errorRateSev3 * 100}-${t.errorRateSev2 * 100}% (SEV-3).`);
      else {
        reasons.push(`Error rate ${pct} is below ${t.errorRateSev3 * 100}%: no action (SEV-4).`);
        return ignore();
      }
      const sev: Severity = rate > t.errorRateSev1 ? 'SEV-1' : rate >= t.errorRateSev2 ? 'SEV-2' : 'SEV-3';
      reasons.push('Error rates need a person (producer/consumer faults are not healed on the brokers).');
      return escalate(sev);
    }

    case 'dlq-growth': {
      if (v === undefined) {
        reasons.push('DLQ growth alarm without a value: treated as SEV-3.');
        return escalate('SEV-3');
      }
      if (v > t.dlqPerMinuteSev2) {
        const errorsOpen = input.openIncidents.some(
          (i) => i.cluster === cluster.name && i.status !== 'resolved' && i.type === 'error-rate',
        );
        if (errorsOpen) {
          reasons.push(
            `DLQ growing ${v}/min > ${t.dlqPerMinuteSev2}/min with an open error-rate incident on ${cluster.name} (SEV-1).`,
          );
          return escalate('SEV-1');
        }
        reasons.push(`DLQ growing ${v}/min > ${t.dlqPerMinuteSev2}/min; no open error-rate incident (SEV-2).`);
        return escalate('SEV-2');
      }
      if (v >= t.dlqPerMinuteSev3) {
        reasons.push(`DLQ growing ${v}/min within ${t.dlqPerMinuteSev3}-${t.dlqPerMinuteSev2}/min (SEV-3).`);
        return escalate('SEV-3');
      }
      reasons.push(`DLQ growing ${v}/min, below ${t.dlqPerMinuteSev3}/min: no action (SEV-4).`);
      return ignore();
    }

    case 'cpu-high':
    case 'heap-high':
      reasons.push(
        `${signal.kind === 'cpu-high' ? 'CPU' : 'Heap after GC'} high${v === undefined ? '' : ` (${v}%)`}: capacity problem for people, no automatic action (SEV-3).`,
      );
      return escalate('SEV-3');

    case 'traffic-spike':
      reasons.push('Traffic spike: quotas and scaling are decided by people; notifying (SEV-3).');
      return escalate('SEV-3');

    case 'site-down': {
      if (!cluster.hasDr) {
        reasons.push(`Cluster ${cluster.name} is unreachable and has no DR peer: escalating (SEV-1).`);
        return escalate('SEV-1');
      }
      if (cluster.automaticFailover) {
        reasons.push(`Cluster ${cluster.name} is unreachable; automatic DR failover is enabled in the config (SEV-1).`);
        return plan('SEV-1', 'dr-failover', []);
      }
      reasons.push(
        `Cluster ${cluster.name} is unreachable; DR failover is destructive and waits for approval (SEV-1).`,
      );
      return plan('SEV-1', 'dr-failover', [], 'await-approval');
    }

    case 'replication-lag':
      reasons.push(
        `DR replication is behind${v === undefined ? '' : ` (${v})`}: a failover now would lose data; notifying (SEV-3).`,
      );
      return escalate('SEV-3');

    case 'monitoring-gap':
      reasons.push('Monitoring gap: the healer cannot see the cluster, so it cannot heal it; paging (SEV-2).');
      return escalate('SEV-2');

    case 'security-event':
      reasons.push('Security event: never automated; paging (SEV-1).');
      return escalate('SEV-1');

    case 'auth-failed':
    case 'tls-failed': {
      const what =
        signal.kind === 'auth-failed'
          ? 'authenticate (SASL): check the credentials secret (a rotated password not yet in Secrets Manager, or the reverse), the mechanism and the ACLs'
          : "complete a TLS handshake: check the brokers' certificates (expired, untrusted or for another name), the CA bundle and the client certificate";
      reasons.push(
        `The healer's probe cannot ${what} on ${cluster.name}. This is the observer's failure, not the cluster's: no restart, reboot or failover follows from it, and while it lasts the healer cannot see broker failures there (SEV-2).`,
      );
      return escalate('SEV-2');
    }

    case 'certificate-expiry': {
      if (v === undefined) {
        reasons.push(
          `Broker certificate expiry alarm without a value: treated as a warning (fewer than ${t.certExpiryWarnDays} days) (SEV-3).`,
        );
        return escalate('SEV-3');
      }
      const left = v <= 0 ? `has expired (${v} days)` : `expires in ${v} days`;
      if (v < t.certExpiryCriticalDays) {
        reasons.push(
          `A broker certificate of ${cluster.name} ${left}, fewer than ${t.certExpiryCriticalDays}: clients will refuse the brokers; renew it now (SEV-2).`,
        );
        return escalate('SEV-2');
      }
      if (v < t.certExpiryWarnDays) {
        reasons.push(
          `A broker certificate of ${cluster.name} ${left}, fewer than ${t.certExpiryWarnDays}: plan its renewal (SEV-3).`,
        );
        return escalate('SEV-3');
      }
      reasons.push(
        `The broker certificates of ${cluster.name} expire in ${v} days, not fewer than ${t.certExpiryWarnDays}: no action (SEV-4).`,
      );
      return ignore();
    }

    case 'unknown':
      reasons.push(`${signal.name}: the signal kind is unknown, so no runbook applies; notifying people (SEV-3).`);
      return escalate('SEV-3');
  }
}

/** Lag edges: > lagSev1 SEV-1; [lagSev2, lagSev1] SEV-2; [lagSev3, lagSev2) SEV-3; below SEV-4. */
export function lagSeverity(lag: number, policy: RuntimePolicy): Severity {
  const t = policy.thresholds;
  if (lag > t.lagSev1) return 'SEV-1';
  if (lag >= t.lagSev2) return 'SEV-2';
  if (lag >= t.lagSev3) return 'SEV-3';
  return 'SEV-4';
}

function lagRule(sev: Severity, policy: RuntimePolicy): string {
  const t = policy.thresholds;
  if (sev === 'SEV-1') return `above ${t.lagSev1}`;
  if (sev === 'SEV-2') return `within ${t.lagSev2}-${t.lagSev1}`;
  if (sev === 'SEV-3') return `within ${t.lagSev3}-${t.lagSev2}`;
  return `below ${t.lagSev3}: no action`;
}

/**
 * Brokers failing now, each with the time it was first seen failing (ms): the signal's brokers at
 * signal.observedAt (now when unreadable), plus those of open broker incidents on the cluster first
 * seen within the cascade window (age <= window, inclusive). The earliest time wins.
 */
export function failingBrokerTimes(
  input: ClassifyInput,
  cluster: ClusterFacts,
  fromSignal: number[],
): Map<number, number> {
  const windowMs = input.policy.cascadeWindowSeconds * 1000;
  const now = input.now.getTime();
  const observed = Date.parse(input.signal.observedAt);
  const signalAt = Number.isNaN(observed) ? now : observed;
  const seen = new Map<number, number>(fromSignal.map((id) => [id, signalAt]));
  for (const inc of input.openIncidents) {
    if (inc.cluster !== cluster.name || inc.status === 'resolved' || !BROKER_TYPES.includes(inc.type)) continue;
    for (const b of inc.brokers) {
      const at = Date.parse(b.firstSeenAt);
      if (Number.isNaN(at) || now - at > windowMs) continue;
      seen.set(b.id, Math.min(at, seen.get(b.id) ?? at));
    }
  }
  return seen;
}

/** The failing brokers' ids, sorted. */
export function failingBrokers(input: ClassifyInput, cluster: ClusterFacts, fromSignal: number[]): number[] {
  return [...failingBrokerTimes(input, cluster, fromSignal).keys()].sort((x, y) => x - y);
}

/**
 * How many brokers failed together: the largest number of first-seen times that all lie within
 * `windowMs` of each other (the span between the earliest and the latest is <= windowMs).
 */
export function simultaneousCount(times: number[], windowMs: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  let best = 0;
  let start = 0;
  for (let end = 0; end < sorted.length; end++) {
    while ((sorted[end] as number) - (sorted[start] as number) > windowMs) start++;
    best = Math.max(best, end - start + 1);
  }
  return best;
}

function recoveryWorkflow(cluster: ClusterFacts, brokers: number): Workflow {
  if (brokers >= 2) return 'cascade-recovery';
  return cluster.platform === 'msk' ? 'msk-broker-recovery' : 'broker-recovery';
}

/**
 * The seed decision matrix for brokers down (N failing within the cascade window of B brokers,
 * T of them failed together within the simultaneous window):
 *   T/B > 50%                      -> emergency: escalate, SEV-1, page
 *   T > min(fraction*B, brokers)   -> blast radius, infrastructure-wide: escalate, SEV-1, page
 *   offline partitions open        -> data-loss risk: await approval, SEV-1
 *   N >= 3                         -> await approval, cascade-recovery, SEV-1
 *   N = 2 (cascade)                -> remediate, cascade-recovery, SEV-1
 *   N = 1                          -> remediate, broker-recovery, SEV-2
 * N >= 2 within the cascade window makes the incident a cascade-failure.
 */
function brokerMatrix(input: ClassifyInput, cluster: ClusterFacts, reasons: string[]): Assessment {
  const { signal, policy } = input;
  if (signal.brokerIds.length === 0) {
    reasons.push('Broker-down signal names no broker, so no recovery can be planned; escalating (SEV-2).');
    return { incidentType: 'broker-failure', severity: 'SEV-2', proposal: { kind: 'escalate', page: true } };
  }
  const times = failingBrokerTimes(input, cluster, signal.brokerIds);
  const down = [...times.keys()].sort((x, y) => x - y);
  const n = down.length;
  const total = Math.max(cluster.brokerCount, n);
  const pct = (k: number) => Math.round((k / total) * 1000) / 10;
  const together = simultaneousCount([...times.values()], policy.simultaneousWindowSeconds * 1000);
  reasons.push(
    `${n} of ${total} brokers failing within ${policy.cascadeWindowSeconds} s (${pct(n)}%): broker${n > 1 ? 's' : ''} ${down.join(', ')}.`,
  );
  const type: IncidentType = n >= 2 ? 'cascade-failure' : 'broker-failure';
  if (n >= 2) {
    reasons.push(
      `Cascade: ${n} distinct brokers failed within ${policy.cascadeWindowSeconds} s; ${together} of them together (first seen within ${policy.simultaneousWindowSeconds} s of each other, ${pct(together)}%), which is what the blast-radius and emergency gates count.`,
    );
  }
  const escalate = (severity: Severity): Assessment => ({
    incidentType: type,
    severity,
    proposal: { kind: 'escalate', page: true },
  });

  if (together / total > 0.5) {
    reasons.push(
      'More than half of the brokers failed together: emergency, no automatic action, paging immediately (SEV-1).',
    );
    return escalate('SEV-1');
  }
  const byFraction = policy.blastRadiusFraction * total;
  const limit = policy.blastRadiusBrokers === undefined ? byFraction : Math.min(byFraction, policy.blastRadiusBrokers);
  if (together > limit) {
    reasons.push(
      `Blast radius: ${together} brokers failed together, exceeding the limit of ${Math.round(limit * 100) / 100} (${policy.blastRadiusFraction * 100}% of ${total}${policy.blastRadiusBrokers === undefined ? '' : ` or ${policy.blastRadiusBrokers} brokers`}); treated as infrastructure-wide, no automatic action (SEV-1).`,
    );
    return escalate('SEV-1');
  }
  const workflow = recoveryWorkflow(cluster, n);
  const offline = input.openIncidents.some(
    (i) => i.cluster === cluster.name && i.status !== 'resolved' && i.type === 'offline-partitions',
  );
  if (offline) {
    reasons.push(
      'Offline partitions are open on this cluster: data-loss risk, automation stops and the recovery waits for approval (SEV-1).',
    );
    return {
      incidentType: type,
      severity: 'SEV-1',
      proposal: { kind: 'plan', action: 'await-approval', workflow, brokerIds: down },
    };
  }
  if (n >= 3) {
    reasons.push(
      `${n} brokers down: cascade recovery needs approval; the approval request pages the on-call at once (SEV-1).`,
    );
    return {
      incidentType: type,
      severity: 'SEV-1',
      proposal: { kind: 'plan', action: 'await-approval', workflow, brokerIds: down },
    };
  }
  const severity: Severity = n === 2 ? 'SEV-1' : 'SEV-2';
  reasons.push(
    `${n} broker${n > 1 ? 's' : ''} down: ${n > 1 ? 'cascade' : 'standard'} recovery with ${workflow}, one broker at a time (${severity}).`,
  );
  return { incidentType: type, severity, proposal: { kind: 'plan', action: 'remediate', workflow, brokerIds: down } };
}

function applyGates(input: ClassifyInput, cluster: ClusterFacts, a: Assessment, reasons: string[]): Decision {
  const { incidentType, severity, proposal } = a;
  if (proposal.kind === 'ignore') return { action: 'ignore', incidentType, severity, reasons };
  if (proposal.kind === 'escalate') return { action: 'escalate', incidentType, severity, page: proposal.page, reasons };

  const { policy, now } = input;
  const nowMs = now.getTime();

  const win = policy.maintenanceWindows.find((w) => Date.parse(w.start) <= nowMs && nowMs < Date.parse(w.end));
  if (win) {
    const why = `Maintenance window ${win.start} to ${win.end}${win.reason ? ` (${win.reason})` : ''}: automatic action suppressed`;
    if (severity === 'SEV-1') {
      reasons.push(`${why}; SEV-1 still pages people.`);
      return { action: 'escalate', incidentType, severity, page: true, reasons };
    }
    reasons.push(`${why}.`);
    return { action: 'ignore', incidentType, severity, reasons, suppressed: { by: 'maintenance-window', window: win } };
  }

  const ageMs = (h: HealRecord) => nowMs - Date.parse(h.finishedAt);
  const heals = input.recentHeals.filter((h) => h.cluster === cluster.name && !Number.isNaN(Date.parse(h.finishedAt)));
  const flapping = heals.filter(
    (h) =>
      ageMs(h) <= policy.flapWindowSeconds * 1000 &&
      (h.type === incidentType || h.brokerIds.some((b) => proposal.brokerIds.includes(b))),
  );
  if (flapping.length >= policy.flapMaxHeals) {
    reasons.push(
      `Flap breaker: ${flapping.length} heals of the same broker or incident type within ${policy.flapWindowSeconds} s (limit ${policy.flapMaxHeals}); automatic action stopped, escalating.`,
    );
    return { action: 'escalate', incidentType, severity, page: true, reasons };
  }

  let action = proposal.action;
  const cooling = heals.filter((h) => h.type === incidentType && ageMs(h) < policy.cooldownSeconds * 1000);
  if (cooling.length > 0) {
    reasons.push(
      `Cooldown: a ${incidentType} heal finished less than ${policy.cooldownSeconds} s ago; another run needs approval.`,
    );
    action = 'await-approval';
  }

  let dryRun = false;
  switch (policy.mode) {
    case 'off':
      reasons.push(`Automation mode is off: would run ${proposal.workflow}; notifying people instead.`);
      return { action: 'escalate', incidentType, severity, page: pages(severity), reasons };
    case 'approval':
      if (action === 'remediate') reasons.push('Automation mode is approval: the run waits for a person.');
      action = 'await-approval';
      break;
    case 'dry-run':
      reasons.push('Automation mode is dry-run: the workflow plans and records every action and changes nothing.');
      dryRun = true;
      break;
    case 'auto':
      break;
  }
  const plan = {
    workflow: proposal.workflow,
    brokerIds: proposal.brokerIds,
    dryRun,
    steps: planSteps(proposal.workflow, cluster, input.signal, proposal.brokerIds),
  };
  return { action, incidentType, severity, plan, reasons };
}

function planSteps(workflow: Workflow, cluster: ClusterFacts, signal: Signal, brokerIds: number[]): string[] {
  const brokers =
    brokerIds.length === 0
      ? 'the affected brokers'
      : `broker${brokerIds.length > 1 ? 's' : ''} ${brokerIds.join(', ')}`;
  const group = signal.consumerGroup === undefined ? 'the consumer group' : `group ${signal.consumerGroup}`;
  const steps: Record<Workflow, string[]> = {
    'broker-recovery': [
      `Restart ${brokers} through SSM Run Command, one at a time, the active controller last.`,
      'Wait for each broker to rejoin the ISR.',
      'Verify no under-replicated or offline partitions remain.',
    ],
    'msk-broker-recovery': [
      `Reboot ${brokers} with MSK RebootBroker, one at a time, the active controller last.`,
      'Poll the cluster operation until it completes.',
      'Verify no under-replicated or offline partitions remain.',
    ],
    'cascade-recovery': [
      `Order ${brokers} for recovery, the active controller last.`,
      'Recover one broker at a time, checking min.insync.replicas before each step.',
      'Verify the cluster is healthy.',
    ],
    'disk-pressure': [
      `Diagnose disk usage on ${brokers} (largest partitions and log segments).`,
      'Free disk safely (no retention change without approval).',
      'Verify disk usage is below the warning level.',
    ],
    'consumer-lag': [
      `Evaluate the lag of ${group} over a window of readings (Burrow statuses).`,
      "Notify the owning team with the evidence; call the group's scale hook if one is configured.",
      'Re-evaluate with backoff until the lag is within its limit; escalate by severity if it is not.',
    ],
    'quorum-recovery': [
      'Stop every broker (after approval) so none acts on a split or lost quorum.',
      'Back up the ZooKeeper/KRaft metadata.',
      'Restore the majority side (after approval), then restart the brokers one at a time, the active controller last (after approval).',
      'Validate: every broker back, one active controller, the quorum led.',
    ],
    'dr-failover': [
      'Check DR replication lag is within the allowed maximum.',
      'Switch the Route 53 record to the DR peer.',
      'Verify clients reach the peer.',
    ],
    'dr-failback': [
      'Check the primary site is healthy and caught up.',
      'Switch the Route 53 record back to the primary.',
      'Verify clients reach the primary.',
    ],
    escalation: ['Notify the on-call people.'],
  };
  return [
    `Re-probe ${cluster.name} to confirm the fault is still present (a stale alarm resolves the incident with no action).`,
    ...steps[workflow],
  ];
}

/** Exposed for correlation: a broker-failure becomes a cascade at this severity. */
export const CASCADE_SEVERITY: Severity = 'SEV-1';
