// Typed errors of the recovery workflows' step Lambdas. Each `name` is interface: the ASL files
// in statemachines/ match them in Retry/Catch (`"ErrorEquals": ["BrokerNotHealthy"]`). Never
// rename one; add a new class instead.

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
 * The workflow cannot tell what to act on: the cluster is not configured for this workflow, the
 * incident names no broker, or no instance runs the broker. Permanent: escalate, do not retry.
 */
export class RecoveryTargetError extends Error {
  override readonly name = 'RecoveryTargetError';
}
