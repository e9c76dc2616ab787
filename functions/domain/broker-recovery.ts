// The decisions of the broker recovery workflows (broker-recovery on EC2, msk-broker-recovery on
// MSK), as values the ASL Choice states branch on. Pure: reads probe snapshots and the host
// diagnosis, never acts.
//
// - confirmBrokerDown: safety rule 1, confirm before acting. A fresh probe decides between
//   `broker-down` (go on), `false-alarm` (the cluster is healthy: resolve, no action) and
//   `inconclusive` (something is wrong but not this broker, or the probe could not tell: people).
// - verifyBrokerRecovered: the broker is registered, answers, and is back in the ISR of every
//   partition it replicates; no partition it holds is offline.
// - decideFromDiagnosis: what to do with a broker host, from the kafka-diagnose-host result.
// - recoveryApproval: whether the run asks a person first (the decision was await-approval and
//   the run is not nested) and the summary and actions they approve.
import { isBrokerDown } from './safety.js';
import { isAccessOutcome, type ClusterSnapshot, type PartitionDetail } from './snapshot.js';

export type ConfirmVerdict = 'broker-down' | 'false-alarm' | 'inconclusive';

export interface BrokerConfirmation {
  brokerId: number;
  verdict: ConfirmVerdict;
  /** The cluster's overall probe status. */
  clusterStatus: ClusterSnapshot['status'];
  /** One line for the timeline. */
  summary: string;
}

/** One line describing a snapshot: status, brokers, unhealthy partitions. */
export function snapshotSummary(s: ClusterSnapshot): string {
  const down = s.brokers.filter(isBrokerDown).map((b) => b.id);
  const expected = s.expectedBrokers === undefined ? '' : ` of ${s.expectedBrokers} expected`;
  const parts = [`${s.status}: ${s.registeredBrokers.length} broker(s) registered${expected}`];
  if (down.length > 0) parts.push(`down ${down.join(',')}`);
  const p = s.partitions;
  if (p.offline + p.underReplicated + p.underMinIsr > 0)
    parts.push(
      `partitions offline ${p.offline}, under-replicated ${p.underReplicated}, under min ISR ${p.underMinIsr}`,
    );
  return parts.join('; ');
}

/** True when the snapshot says this broker is not serving: missing, unregistered or unreachable. */
export function brokerIsDown(s: ClusterSnapshot, brokerId: number): boolean {
  if (s.status === 'down') return true;
  const b = s.brokers.find((x) => x.id === brokerId);
  if (b) return isBrokerDown(b);
  // Not even known as a replica: down only if the metadata is there and the broker is expected.
  return (
    s.registeredBrokers.length > 0 && s.expectedBrokers !== undefined && s.registeredBrokers.length < s.expectedBrokers
  );
}

export function confirmBrokerDown(s: ClusterSnapshot, brokerId: number): BrokerConfirmation {
  const summary = snapshotSummary(s);
  const base = { brokerId, clusterStatus: s.status };
  if (brokerIsDown(s, brokerId))
    return { ...base, verdict: 'broker-down', summary: `broker ${brokerId} is down (${summary})` };
  if (s.status === 'healthy')
    return {
      ...base,
      verdict: 'false-alarm',
      summary: `broker ${brokerId} is up and the cluster is healthy (${summary})`,
    };
  if (isAccessOutcome(s.status)) {
    // Safety rule 11: the probe is refused (its credentials or TLS), so it cannot see this broker.
    return {
      ...base,
      verdict: 'inconclusive',
      summary: `the cluster refuses the healer's probe (${s.status}): broker ${brokerId} cannot be judged from here and is not restarted on the probe's word (${summary})`,
    };
  }
  return {
    ...base,
    verdict: 'inconclusive',
    summary: `broker ${brokerId} answers but the cluster is ${s.status} (${summary}): not a single-broker failure this workflow can fix`,
  };
}

export interface BrokerVerification {
  brokerId: number;
  recovered: boolean;
  /** Partitions the broker replicates that are offline or whose live ISR lacks it. */
  laggingPartitions: number;
  summary: string;
}

function liveIsr(p: PartitionDetail): number[] {
  return p.isr.filter((b) => !(p.unreachableIsr ?? []).includes(b));
}

/**
 * A broker is back when it is registered, answers and is in the live ISR of every partition it
 * replicates. Exception: a partition with no leader while another of its replicas is down waits
 * for that broker (after a cascade, Kafka keeps such a partition offline until its last in-sync
 * replica returns); this broker cannot fix it, and cascade-recovery recovers the other one next.
 */
export function verifyBrokerRecovered(s: ClusterSnapshot, brokerId: number): BrokerVerification {
  const b = s.brokers.find((x) => x.id === brokerId);
  const down = new Set(s.brokers.filter(isBrokerDown).map((x) => x.id));
  const waiting = (p: PartitionDetail) => p.leader === -1 && p.replicas.some((r) => r !== brokerId && down.has(r));
  const mine = s.partitions.details.filter((p) => p.replicas.includes(brokerId));
  const waitingFor = [
    ...new Set(mine.filter(waiting).flatMap((p) => p.replicas.filter((r) => r !== brokerId && down.has(r)))),
  ].sort((x, y) => x - y);
  const lagging = mine.filter((p) => !waiting(p) && (p.leader === -1 || !liveIsr(p).includes(brokerId)));
  const base = { brokerId, laggingPartitions: lagging.length };
  if (!b || isBrokerDown(b)) {
    const why = !b
      ? 'is not in the cluster metadata'
      : !b.registered
        ? 'is not registered'
        : `does not answer (${b.error ?? 'unreachable'})`;
    return { ...base, recovered: false, summary: `broker ${brokerId} ${why}` };
  }
  if (lagging.length > 0) {
    const examples = lagging
      .slice(0, 3)
      .map((p) => `${p.topic}-${p.partition}`)
      .join(', ');
    return {
      ...base,
      recovered: false,
      summary: `broker ${brokerId} is up but not yet in sync for ${lagging.length} partition(s): ${examples}`,
    };
  }
  const others =
    waitingFor.length > 0
      ? `; ${mine.filter(waiting).length} partition(s) without a leader wait for brokers ${waitingFor.join(', ')}, still down`
      : '';
  return {
    ...base,
    recovered: true,
    summary: `broker ${brokerId} is registered, answers and is in the ISR of all its partitions${others === '' ? '' : ' that have a leader'} (${snapshotSummary(s)})${others}`,
  };
}

export type DiagnosisAction = 'restart' | 'disk-pressure' | 'escalate';

export interface DiagnosisDecision {
  action: DiagnosisAction;
  reason: string;
  /** The diagnosis in one line, for the timeline. */
  summary: string;
}

function field<T>(d: Record<string, unknown>, key: string, guard: (v: unknown) => v is T): T | undefined {
  const v = d[key];
  return guard(v) ? v : undefined;
}
const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isBool = (v: unknown): v is boolean => typeof v === 'boolean';
const isStr = (v: unknown): v is string => typeof v === 'string';

/** One line from a kafka-diagnose-host result. */
export function diagnosisSummary(d: Record<string, unknown>): string {
  const service = field(d, 'service', isStr) ?? 'kafka';
  const state = field(d, 'serviceState', isStr) ?? 'unknown';
  const result = field(d, 'serviceResult', isStr);
  const disk = field(d, 'diskUsedPercent', isNum);
  const parts = [`service ${service} ${state}${result && result !== 'success' ? ` (result ${result})` : ''}`];
  parts.push(`listener ${field(d, 'listenerUp', isBool) === true ? 'up' : 'down'}`);
  parts.push(`disk ${disk === undefined ? 'unknown' : `${disk}%`}`);
  if (field(d, 'oomKilled', isBool) === true) parts.push('killed by the OOM killer');
  if (field(d, 'jvmOutOfMemory', isBool) === true) parts.push('JVM OutOfMemoryError in the log');
  const errors = field(d, 'lastErrors', Array.isArray) ?? [];
  if (errors.length > 0) parts.push(`${errors.length} recent error line(s)`);
  return parts.join(', ');
}

/**
 * What to do with the broker host. A data disk at or above `diskCriticalPercent` is disk pressure:
 * a restart would only crash again on a full log dir. Everything else a restart can fix (crashed,
 * failed, OOM-killed, hung with the process still there). A diagnosis that could not run, or is
 * not the documented shape, goes to people.
 */
export function decideFromDiagnosis(d: Record<string, unknown>, diskCriticalPercent: number): DiagnosisDecision {
  const error = field(d, 'error', isStr);
  if (error !== undefined)
    return {
      action: 'escalate',
      reason: `the host diagnosis could not run: ${error}`,
      summary: `diagnosis failed: ${error}`,
    };
  if (field(d, 'v', isNum) !== 1 || field(d, 'serviceActive', isBool) === undefined) {
    return {
      action: 'escalate',
      reason: 'the host diagnosis is not in the documented shape (v 1 with serviceActive)',
      summary: 'unreadable diagnosis',
    };
  }
  const summary = diagnosisSummary(d);
  const disk = field(d, 'diskUsedPercent', isNum);
  if (disk !== undefined && disk >= diskCriticalPercent) {
    return {
      action: 'disk-pressure',
      reason: `a Kafka data disk is ${disk}% full (critical at ${diskCriticalPercent}%): a restart would fail again; free disk first`,
      summary,
    };
  }
  const active = field(d, 'serviceActive', isBool) === true;
  const how = active ? 'the service runs but the broker does not serve (hung)' : 'the service is not running';
  return { action: 'restart', reason: `${how}: restart the Kafka service`, summary };
}

/**
 * Why a workflow is escalating, from its state: an explicit `escalation.reason` wins, else the
 * caught error (`{ Error, Cause }`, where a Lambda's Cause is JSON with errorMessage).
 */
export function escalationReason(state: unknown): string {
  const s = (typeof state === 'object' && state !== null ? state : {}) as Record<string, unknown>;
  const esc = s['escalation'];
  if (typeof esc === 'object' && esc !== null && typeof (esc as Record<string, unknown>)['reason'] === 'string') {
    return (esc as Record<string, string>)['reason'] as string;
  }
  const err = s['error'];
  if (typeof err === 'object' && err !== null)
    return describeError((err as Record<string, unknown>)['Error'], (err as Record<string, unknown>)['Cause']);
  return 'the workflow could not continue (no reason recorded)';
}

/**
 * The error a step (or a Fail state) ends a recovery with when the runbook says stop and hand the
 * incident to people: its message is the escalation reason as written, without the error's name
 * (functions/shared/recovery-errors.ts RecoveryStopped; docs/architecture.md, "Workflow style").
 */
export const RECOVERY_STOPPED = 'RecoveryStopped';

/**
 * `Error: message` of a caught error (the message alone for RecoveryStopped). A Lambda's Cause is JSON with its errorMessage. A nested
 * execution (states:startExecution.sync:2) that failed surfaces as States.TaskFailed whose Cause
 * describes the child execution: its own Error and Cause are the reason (e.g. the ssm-run
 * workflow's `CommandFailed: the restart command ended Failed (exit code 7): ...`).
 */
function describeError(error: unknown, cause: unknown): string {
  const name = String(error ?? 'Error');
  let message = typeof cause === 'string' ? cause : '';
  let parsed: unknown;
  try {
    parsed = JSON.parse(message) as unknown;
  } catch {
    // A plain-text cause stays as it is.
  }
  if (typeof parsed === 'object' && parsed !== null) {
    const p = parsed as Record<string, unknown>;
    if (typeof p['errorMessage'] === 'string') message = p['errorMessage'];
    else if (name === 'States.TaskFailed' && typeof p['Error'] === 'string')
      return describeError(p['Error'], p['Cause']);
  }
  if (name === RECOVERY_STOPPED && message) return message.slice(0, 500);
  return message ? `${name}: ${message.slice(0, 500)}` : name;
}

/** What a person approves before a single-broker recovery acts (the approval request's summary and actions). */
export interface RecoveryApproval {
  /** True when the run must ask: the classifier's decision was await-approval and no parent workflow approved already. */
  needsApproval: boolean;
  summary: string;
  actions: string[];
}

export interface RecoveryApprovalInput {
  platform: 'ec2' | 'msk';
  cluster: string;
  brokerId: number;
  /** The classifier's decision (`remediate`, `await-approval`); absent for a manual start. */
  action?: string;
  /** `none` (or absent) for a top-level run; a nested run's parent asked its own approval. */
  parentWorkflow?: string;
  severity?: string;
  incidentType?: string;
  /** Where the broker runs: the EC2 instance id, or the MSK cluster ARN. */
  where: string;
}

/**
 * Whether a broker-recovery / msk-broker-recovery run asks a person before it changes anything,
 * and what it asks. The classifier decides await-approval when automation must not act alone
 * (offline partitions open: data-loss risk; a cooldown; the approval mode); the workflow honours
 * that decision. A nested run (cascade-recovery recovers its brokers one run each) never asks: its
 * parent asked for the whole cascade before starting it.
 */
export function recoveryApproval(x: RecoveryApprovalInput): RecoveryApproval {
  const nested = x.parentWorkflow !== undefined && x.parentWorkflow !== 'none';
  const needsApproval = x.action === 'await-approval' && !nested;
  const what =
    x.incidentType === undefined ? '' : ` (${[x.severity, x.incidentType].filter((v) => v !== undefined).join(' ')})`;
  const verify = `Verify broker ${x.brokerId} is back in the ISR of all its partitions; escalate if it is not.`;
  if (x.platform === 'msk') {
    return {
      needsApproval,
      summary: `Reboot broker ${x.brokerId} of ${x.cluster}${what} with MSK RebootBroker`,
      actions: [
        `Wait until MSK cluster ${x.where} is ACTIVE and re-check that rebooting broker ${x.brokerId} leaves every partition at its min ISR.`,
        `Reboot broker ${x.brokerId} (kafka:RebootBroker) and poll the cluster operation to its end.`,
        verify,
      ],
    };
  }
  return {
    needsApproval,
    summary: `Restart the Kafka service of broker ${x.brokerId} of ${x.cluster}${what} on ${x.where}`,
    actions: [
      `Re-check that restarting broker ${x.brokerId} leaves every partition at its min ISR, and diagnose its host (${x.where}) with the kafka-diagnose-host document.`,
      `Restart the Kafka service on ${x.where} with the kafka-restart-broker document if the diagnosis finds it down, failed or hung; if a data disk is full, free it first with disk-pressure (safe cleanup only).`,
      verify,
    ],
  };
}
