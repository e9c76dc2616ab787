// Typed errors of the recovery workflows' step Lambdas. Each `name` is interface: the ASL files
// in statemachines/ match them in Retry/Catch (`"ErrorEquals": ["BrokerNotHealthy"]`). Never
// rename one; add a new class instead.
import { RECOVERY_STOPPED } from '../domain/broker-recovery.js';

/**
 * The broker is not (yet) back: not registered, not answering, or not in the ISR of all its
 * partitions. Thrown by the verify step so the workflow's Retry gives it time with backoff
 * (10 s, x1.5, capped at 120 s, 3 attempts) before the Catch escalates.
 */
export class BrokerNotHealthy extends Error {
  override readonly name = 'BrokerNotHealthy';
  constructor(
    readonly brokerId: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * After a cascade recovery the cluster is not (yet) whole: a broker down, partitions out of sync,
 * leadership unbalanced or consumers 1,000 messages or more behind. Thrown by the verify-cluster
 * step so the workflow's Retry gives it time with backoff before the Catch escalates.
 */
export class ClusterNotRecovered extends Error {
  override readonly name = 'ClusterNotRecovered';
}

/**
 * The runbook says stop here and hand the incident to people: the restart is unsafe, the
 * diagnosis says a restart would not help, the confirmation was inconclusive, a dry run has
 * recorded its plan. The message is the escalation reason, written on the timeline as it is
 * (escalationReason, functions/domain/broker-recovery.ts). A step throws it, or an ASL Fail state
 * ends a Parallel branch with it; the Parallel's one Catch takes the run to its escalation path.
 */
export class RecoveryStopped extends Error {
  override readonly name = RECOVERY_STOPPED;
}

/**
 * The workflow cannot tell what to act on: the cluster is not configured for this workflow, the
 * incident names no broker, or no instance runs the broker. Permanent: escalate, do not retry.
 */
export class RecoveryTargetError extends Error {
  override readonly name = 'RecoveryTargetError';
}

/** Parses a workflow's execution input with `schema`; a mismatch is a RecoveryTargetError naming every bad field. */
export function parseRecoveryInput<T>(
  schema: {
    safeParse: (
      v: unknown,
    ) => { success: true; data: T } | { success: false; error: { issues: { path: PropertyKey[]; message: string }[] } };
  },
  raw: unknown,
  what: string,
): T {
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    throw new RecoveryTargetError(
      `execution input is not a ${what} request: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(input)'}: ${i.message}`).join('; ')}`,
    );
  }
  return parsed.data;
}
