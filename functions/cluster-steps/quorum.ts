// Cluster-side steps of the quorum-recovery workflow (called through the cluster steps Lambda,
// functions/cluster-steps/handler.ts), each on a fresh probe:
//
//   quorum-confirm  is the quorum really lost? quorum-lost | check-quorum (KRaft: ask the quorum)
//                   | false-alarm, with the broker restart order (the active controller last); when
//                   the probe cannot tell (ensemble-unreachable, probe-refused) it throws
//                   RecoveryStopped with the reason people are paged with
//   quorum-verify   every broker back and in sync, and (ZooKeeper) one active controller; else
//                   throws QuorumNotRestored so the workflow's Retry waits with backoff
// In ZooKeeper mode both also weigh the ensemble's own answer when the caller could ask it
// (ensemble: each server's srvr mode, functions/shared/zookeeper.ts).
import * as z from 'zod';
import {
  confirmQuorumLoss,
  recoveryRestartOrder,
  verifyQuorumRestored,
  type EnsembleObservation,
  type QuorumVerdict,
} from '../domain/quorum-recovery.js';
import type { ClusterSnapshot } from '../domain/snapshot.js';
import { RecoveryStopped } from '../shared/recovery-errors.js';

/** The cluster is not whole again after the restarts (brokers missing, partitions offline, no controller). */
export class QuorumNotRestored extends Error {
  override readonly name = 'QuorumNotRestored';
}

export const QuorumStepSchema = z.object({
  step: z.enum(['quorum-confirm', 'quorum-verify']),
  cluster: z.string().min(1),
  metadataMode: z.enum(['zookeeper', 'kraft']),
  brokerIds: z.array(z.number().int().nonnegative()).min(1),
});
export type QuorumStep = z.infer<typeof QuorumStepSchema>;

export type QuorumStepResult =
  | {
      step: 'quorum-confirm';
      verdict: Exclude<QuorumVerdict, 'ensemble-unreachable' | 'probe-refused'>;
      controllerId: number | null;
      order: number[];
      summary: string;
      at: string;
    }
  | { step: 'quorum-verify'; restored: true; controllerId: number | null; summary: string; at: string };

export function quorumStep(
  event: QuorumStep,
  snapshot: ClusterSnapshot,
  ensemble?: EnsembleObservation,
): QuorumStepResult {
  const at = snapshot.takenAt;
  if (event.step === 'quorum-confirm') {
    const c = confirmQuorumLoss(snapshot, event.metadataMode, ensemble);
    // A dead ensemble and a blocked port look alike from here, and a probe the cluster refuses
    // (auth-failed, tls-failed) sees nothing (safety rule 11): people decide, nothing is stopped.
    if (c.verdict === 'ensemble-unreachable')
      throw new RecoveryStopped(
        `the ZooKeeper ensemble cannot be asked, so the quorum loss can be neither confirmed nor ruled out: ${c.summary}`,
      );
    if (c.verdict === 'probe-refused')
      throw new RecoveryStopped(
        `the cluster refuses the probe of the healer, so the quorum loss can be neither confirmed nor ruled out: ${c.summary}`,
      );
    return {
      step: 'quorum-confirm',
      verdict: c.verdict,
      controllerId: c.controllerId,
      order: recoveryRestartOrder(event.brokerIds, c.controllerId),
      summary: c.summary,
      at,
    };
  }
  const v = verifyQuorumRestored(snapshot, event.metadataMode, ensemble);
  if (!v.restored) throw new QuorumNotRestored(v.summary);
  return { step: 'quorum-verify', restored: true, controllerId: v.controllerId, summary: v.summary, at };
}
