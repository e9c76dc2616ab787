// The decisions of the quorum-recovery workflow (ZooKeeper split brain or loss of quorum, KRaft
// controller loss), as values its ASL Choice states branch on. Pure: reads probe snapshots and
// the kafka-cli-action describe-quorum result, never acts.
//
// - confirmQuorumLoss: safety rule 1 before a procedure that stops every broker. In ZooKeeper
//   mode the ensemble's own answer (each server's `srvr` mode), when the caller could ask it,
//   decides first: brokers keep serving the metadata and the controller they last had while the
//   ensemble has no quorum, so a healthy-looking cluster proves nothing then. Without that answer
//   the probe's view stands: a healthy cluster with a known controller is a false alarm. When no
//   server could be asked at all and the brokers look whole, the verdict is ensemble-unreachable
//   (escalate): a dead ensemble and a blocked port look the same from here. In KRaft mode brokers keep serving stale metadata while the
//   controller quorum is gone and the probe cannot see the quorum at all: a healthy-looking
//   probe only means "ask the quorum" (describe-quorum decides). A probe the cluster refuses
//   (auth-failed, tls-failed) proves nothing either way: probe-refused (escalate).
// - recoveryRestartOrder: brokers one at a time, ascending, the active controller last (rule 2).
// - verifyQuorumRestored: every expected broker registered and answering, nothing offline or
//   under-replicated, and in ZooKeeper mode one known active controller (and, when observed, an
//   ensemble with a leader and a serving majority).
// - ensembleQuorum: does a ZooKeeper ensemble observation show a quorum?
// - readQuorumStatus: a describe-quorum result names a leader (leaderId >= 0).
import { snapshotSummary } from './broker-recovery.js';
import { isAccessOutcome, type ClusterSnapshot, type MetadataMode } from './snapshot.js';

export type QuorumVerdict = 'quorum-lost' | 'check-quorum' | 'false-alarm' | 'ensemble-unreachable' | 'probe-refused';

export interface QuorumConfirmation {
  verdict: QuorumVerdict;
  controllerId: number | null;
  summary: string;
}

function knownController(s: ClusterSnapshot): number | null {
  return s.controller.known && s.controller.id !== null && s.controller.id >= 0 ? s.controller.id : null;
}

/**
 * One ZooKeeper server as it describes itself. 'not-serving': LOOKING, or connected and silent
 * (hung). 'unreachable': it could not be asked (no connection, or an answer that is not srvr's):
 * down, or kept out by the network; it never counts as serving.
 */
export type ZkServerMode = 'leader' | 'follower' | 'standalone' | 'observer' | 'not-serving' | 'unreachable';

const SERVING: readonly ZkServerMode[] = ['leader', 'follower', 'standalone', 'observer'];

export interface EnsembleObservation {
  servers: { server: string; mode: ZkServerMode }[];
}

export interface EnsembleQuorum {
  hasQuorum: boolean;
  leader: string | null;
  summary: string;
}

/**
 * A quorum is one leader (or a standalone server alone) with a strict majority of the voting
 * servers serving; observers do not vote.
 */
export function ensembleQuorum(e: EnsembleObservation): EnsembleQuorum {
  const voters = e.servers.filter((x) => x.mode !== 'observer');
  const leaders = voters.filter((x) => x.mode === 'leader' || (x.mode === 'standalone' && voters.length === 1));
  const serving = voters.filter((x) => SERVING.includes(x.mode)).length;
  const modes = e.servers.map((x) => `${x.server} ${x.mode}`).join(', ');
  const only = leaders.length === 1 ? leaders[0] : undefined;
  if (only !== undefined && serving * 2 > voters.length)
    return {
      hasQuorum: true,
      leader: only.server,
      summary: `ZooKeeper ensemble led by ${only.server}, ${serving} of ${voters.length} voters serving (${modes})`,
    };
  return {
    hasQuorum: false,
    leader: null,
    summary: `ZooKeeper ensemble has no quorum: ${serving} of ${voters.length} voters serving (${modes})`,
  };
}

export function confirmQuorumLoss(
  s: ClusterSnapshot,
  mode: MetadataMode,
  ensemble?: EnsembleObservation,
): QuorumConfirmation {
  const controllerId = knownController(s);
  const summary = snapshotSummary(s);
  // No server could be asked at all (or none was listed): the ensemble's answer is missing, as if the caller had none.
  const observed = mode === 'zookeeper' && ensemble !== undefined && ensemble.servers.length > 0;
  const unheard = observed && ensemble.servers.every((x) => x.mode === 'unreachable');
  if (observed && !unheard) {
    const q = ensembleQuorum(ensemble);
    if (!q.hasQuorum)
      return {
        verdict: 'quorum-lost',
        controllerId,
        summary: `${q.summary}; the brokers serve the metadata they last had (${summary})`,
      };
  }
  if (unheard && s.status === 'healthy' && controllerId !== null) {
    // The brokers look whole, but they would also look whole on a dead ensemble (they keep their
    // last metadata), and a blocked port looks the same from here: the two call for opposite
    // actions, so people decide, and no stop-everything plan is offered.
    return {
      verdict: 'ensemble-unreachable',
      controllerId,
      summary: `no ZooKeeper server could be asked (${ensemble.servers.map((x) => x.server).join(', ')}: no connection, or no srvr answer) while broker ${controllerId} is the active controller and the cluster looks healthy (${summary}): the ensemble is down, or the network or ZooKeeper's four-letter-word whitelist keeps the cluster steps out`,
    };
  }
  if (isAccessOutcome(s.status)) {
    // Safety rule 11: a probe the cluster refuses cannot tell a lost quorum from a healthy one,
    // and stopping every broker on its word would be the worst reading of the observer's failure.
    return {
      verdict: 'probe-refused',
      controllerId,
      summary: `the cluster refuses the healer's probe (${s.status}), so the quorum loss can be neither confirmed nor ruled out from here (${summary})`,
    };
  }
  if (s.status !== 'healthy')
    return { verdict: 'quorum-lost', controllerId, summary: `the cluster is ${s.status} (${summary})` };
  if (mode === 'kraft') {
    return {
      verdict: 'check-quorum',
      controllerId,
      summary: `brokers look healthy (${summary}), but they serve the last metadata they had: the KRaft quorum itself must be asked`,
    };
  }
  if (controllerId === null)
    return {
      verdict: 'quorum-lost',
      controllerId,
      summary: `no active controller is registered in ZooKeeper (${summary})`,
    };
  return {
    verdict: 'false-alarm',
    controllerId,
    summary: `broker ${controllerId} is the active controller and the cluster is healthy (${summary})`,
  };
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

export function verifyQuorumRestored(
  s: ClusterSnapshot,
  mode: MetadataMode,
  ensemble?: EnsembleObservation,
): QuorumVerification {
  const controllerId = knownController(s);
  const summary = snapshotSummary(s);
  if (mode === 'zookeeper' && ensemble !== undefined && ensemble.servers.length > 0) {
    const q = ensembleQuorum(ensemble);
    if (!q.hasQuorum) return { restored: false, controllerId, summary: `${q.summary} (${summary})` };
  }
  if (s.status !== 'healthy')
    return { restored: false, controllerId, summary: `the cluster is not healthy yet (${summary})` };
  if (mode === 'zookeeper' && controllerId === null)
    return { restored: false, controllerId, summary: `no active controller yet (${summary})` };
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
  if (leaderId === null || leaderId < 0)
    return { led: false, leaderId: null, summary: 'the KRaft quorum has no leader' };
  const epoch = num(out['leaderEpoch']);
  const lag = num(out['maxFollowerLag']);
  const voters = typeof out['currentVoters'] === 'string' ? `, voters ${out['currentVoters']}` : '';
  return {
    led: true,
    leaderId,
    summary: `KRaft quorum led by ${leaderId} (epoch ${epoch ?? 'unknown'}, max follower lag ${lag ?? 'unknown'}${voters})`,
  };
}
