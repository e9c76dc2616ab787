// Typed infrastructure errors. Each `name` is interface: ASL Retry/Catch blocks match on it
// (`ErrorEquals: ["LockHeldError"]`), dashboards filter on it, tests assert it. Never rename one;
// add a new class instead. Domain errors (malformed events, bad policy) live in functions/domain.

/** Another incident holds the cluster's remediation lock and it has not expired. */
export class LockHeldError extends Error {
  override readonly name = 'LockHeldError';
  constructor(
    readonly cluster: string,
    readonly owner: string | undefined,
    readonly expiresAt: number | undefined,
  ) {
    super(
      `remediation lock for cluster ${cluster} is held by ${owner ?? 'another owner'}${expiresAt === undefined ? '' : ` until ${new Date(expiresAt * 1000).toISOString()}`}`,
    );
  }
}

/**
 * An execution that no longer acts for its incident (superseded or stopped by the classifier, or
 * the incident is no longer worked on by it: functions/domain/run-fencing.ts) tried to take the
 * cluster lock or change the incident's status. The ASL ends such a run quietly.
 */
export class RunSupersededError extends Error {
  override readonly name = 'RunSupersededError';
  constructor(
    readonly incidentId: string,
    readonly run: string,
    readonly reason: string,
  ) {
    super(`execution ${run} no longer acts for incident ${incidentId}: ${reason}`);
  }
}

/** The caller tried to renew or release a lock it does not own (or that no longer exists). */
export class LockNotOwnedError extends Error {
  override readonly name = 'LockNotOwnedError';
  constructor(
    readonly cluster: string,
    readonly caller: string,
  ) {
    super(`remediation lock for cluster ${cluster} is not held by ${caller}`);
  }
}

/**
 * A conditional write lost a race and could not be reconciled within the retry budget.
 * Transient: the caller (SQS redelivery, ASL Retry) should try again.
 */
export class ConditionalWriteConflict extends Error {
  override readonly name = 'ConditionalWriteConflict';
  constructor(
    readonly key: string,
    readonly attempts: number,
  ) {
    super(`conditional write on ${key} kept conflicting after ${attempts} attempts`);
  }
}

export class IncidentNotFoundError extends Error {
  override readonly name = 'IncidentNotFoundError';
  constructor(readonly incidentId: string) {
    super(`incident ${incidentId} does not exist`);
  }
}

/** A status change was refused because the incident is not in one of the expected statuses. */
export class IncidentStatusConflict extends Error {
  override readonly name = 'IncidentStatusConflict';
  constructor(
    readonly incidentId: string,
    readonly expected: readonly string[],
    readonly actual: string | undefined,
  ) {
    super(`incident ${incidentId} is ${actual ?? 'missing'}, expected one of: ${expected.join(', ')}`);
  }
}

/** A handler's input failed schema validation (permanent: retrying the same input cannot help). */
export class InputValidationError extends Error {
  override readonly name = 'InputValidationError';
  constructor(
    message: string,
    readonly issues: { path: string; message: string }[],
  ) {
    super(message);
  }
}

/** Required environment/configuration for a handler is missing or unusable. */
export class ConfigurationError extends Error {
  override readonly name = 'ConfigurationError';
}

/**
 * Another invocation claimed this signal moments ago and has not finished recording it.
 * Transient: redelivery later either sees it recorded (no-op) or takes over a stale claim.
 */
export class SignalInFlightError extends Error {
  override readonly name = 'SignalInFlightError';
  constructor(readonly signalId: string) {
    super(`signal ${signalId} is being recorded by another invocation`);
  }
}

/** True for the DynamoDB error a failed ConditionExpression raises. */
export function isConditionalCheckFailed(err: unknown): boolean {
  return err instanceof Error && err.name === 'ConditionalCheckFailedException';
}

/** Some signals could not be put on the signals queue. Transient: the source record is retried. */
export class SignalPublishError extends Error {
  override readonly name = 'SignalPublishError';
  constructor(
    message: string,
    readonly failedSignalIds: string[],
  ) {
    super(message);
  }
}
