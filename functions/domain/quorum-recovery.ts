// The decisions of the quorum-recovery workflow (ZooKeeper split brain or loss of quorum, KRaft
// controller loss), as values its ASL Choice states branch on. Pure: reads probe snapshots and
// the kafka-cli-action describe-quorum result, never acts.
//
// - confirmQuorumLoss: safety rule 1 before a procedure that stops every broker. In ZooKeeper
//   mode the probe sees the controller (ZooKeeper elects it), so a healthy cluster with a known
//   controller is a false alarm. In KRaft mode brokers keep serving stale metadata while the
//   controller quorum is gone and the probe cannot see the quorum at all: a healthy-looking
//   probe only means "ask the quorum" (describe-quorum decides).
// - recoveryRestartOrder: brokers one at a time, ascending, the active controller last (rule 2).
// - verifyQuorumRestored: every expected broker registered and answering, nothing offline or
//   under-replicated, and in ZooKeeper mode one known active controller.
// - readQuorumStatus: a describe-quorum result names a leader (leaderId >= 0).
import { snapshotSummary } from './broker-recovery.js';
import type { ClusterSnapshot, MetadataMode } from './snapshot.js';

export type QuorumVerdict = 'quorum-lost' | 'check-quorum' | 'false-alarm';

export interface QuorumConfirmation {
  verdict: QuorumVerdict;
  controllerId: number | null;
  summary: string;
}

function knownController(s: ClusterSnapshot): number | null {
  return s.controller.known && s.controller.id !== null && s.controller.id >= 0 ? s.controller.id : null;
}

export function confirmQuorumLoss(s: ClusterSnapshot, mode: MetadataMode): QuorumConfirmation {
  const controllerId = knownController(s);
  const summary = snapshotSummary(s);
  if (s.status !== 'healthy') return { verdict: 'quorum-lost', controllerId, summary: `the cluster is ${s.status} (${summary})` };
  if (mode === 'kraft') {
    return { verdict: 'check-quorum', controllerId, summary: `brokers look healthy (${summary}), but they serve the last metadata they had: the KRaft quorum itself must be asked` };
  }
  if (controllerId === null) return { verdict: 'quorum-lost', controllerId, summary: `no active controller is registered in ZooKeeper (${summary})` };
  return { verdict: 'false-alarm', controllerId, summary: `broker ${controllerId} is the active controller and the cluster is healthy (${summary})` };
}

/** Every broker once, ascending, the active controller (when known) last. */
export function recoveryRestartOrder(brokerIds: readonly number[], controllerId: number | null): number[] {
  const unique = [...new Set(brokerIds)].sort((a, b) => a - b);
  return [...unique.filter((id) => id !== controllerId), ...unique.filter((id) => id === controllerId)];
}

export interface QuorumVerification {
  restored: boolean;
  controllerId: number | null;
  summary: string;
}

export function verifyQuorumRestored(s: ClusterSnapshot, mode: MetadataMode): QuorumVerification {
  const controllerId = knownController(s);
  const summary = snapshotSummary(s);
  if (s.status !== 'healthy') return { restored: false, controllerId, summary: `the cluster is not healthy yet (${summary})` };
  if (mode === 'zookeeper' && controllerId === null) return { restored: false, controllerId, summary: `no active controller yet (${summary})` };
  const controller = controllerId === null ? 'controller per the KRaft quorum' : `active controller ${controllerId}`;
  return { restored: true, controllerId, summary: `every broker is back and in sync, ${controller} (${summary})` };
}

export interface QuorumStatus {
  led: boolean;
  leaderId: number | null;
  summary: string;
}

const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

/** Reads a kafka-cli-action describe-quorum result line (already parsed). */
export function readQuorumStatus(out: Record<string, unknown>): QuorumStatus {
  if (out['result'] !== 'ok') {
    const why = typeof out['message'] === 'string' ? out['message'] : 'no result';
    return { led: false, leaderId: null, summary: `describe-quorum failed: ${why}` };
  }
  const leaderId = num(out['leaderId']);
  if (leaderId === null || leaderId < 0) return { led: false, leaderId: null, summary: 'the KRaft quorum has no leader' };
  const epoch = num(out['leaderEpoch']);
  const lag = num(out['maxFollowerLag']);
  const voters = typeof out['currentVoters'] === 'string' ? `, voters ${out['currentVoters']}` : '';
  return { led: true, leaderId, summary: `KRaft quorum led by ${leaderId} (epoch ${epoch ?? 'unknown'}, max follower lag ${lag ?? 'unknown'}${voters})` };
}
