// Typed errors of the local Kafka supervisor; the names are stable so the CLI and tests can
// tell them apart.

/** A cluster of that name is already running (its state file names live JVMs). */
export class ClusterRunningError extends Error {
  override readonly name = 'ClusterRunningError';
}

/** No state file for that cluster name: nothing to act on. */
export class ClusterNotFoundError extends Error {
  override readonly name = 'ClusterNotFoundError';
}

/** A broker or ZooKeeper id the cluster does not have. */
export class UnknownNodeError extends Error {
  override readonly name = 'UnknownNodeError';
}

/** A fault name the supervisor does not know. */
export class UnknownFaultError extends Error {
  override readonly name = 'UnknownFaultError';
}

/** A fault that needs a live process (hang) aimed at a node that is not running. */
export class NodeNotRunningError extends Error {
  override readonly name = 'NodeNotRunningError';
}

/** Disk faults need a size-limited mount (tmpfs, which needs root). */
export class DiskLimitError extends Error {
  override readonly name = 'DiskLimitError';
}

/** A JVM (format, broker, ZooKeeper) exited when it should be running; `logTail` says why. */
export class NodeFailedError extends Error {
  override readonly name = 'NodeFailedError';
  constructor(
    message: string,
    readonly logTail: string,
  ) {
    super(`${message}\n--- last lines of its log ---\n${logTail}`);
  }
}

/** The cluster did not become healthy in time; `detail` is the last health report. */
export class ClusterNotHealthyError extends Error {
  override readonly name = 'ClusterNotHealthyError';
  constructor(
    message: string,
    readonly detail: unknown,
  ) {
    super(message);
  }
}
