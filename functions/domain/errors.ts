// Typed errors of the pure core. Their `name`s are interface: handlers map them to DLQ records
// and ASL Retry/Catch match on them, so never rename one.

/** The event has a supported source but a shape we cannot trust; `message` names the field. */
export class MalformedEventError extends Error {
  override readonly name = 'MalformedEventError';
  constructor(
    message: string,
    readonly detail?: string,
  ) {
    super(message);
  }
}

/** The event is valid JSON but comes from no source the healer understands. */
export class UnknownSourceError extends Error {
  override readonly name = 'UnknownSourceError';
}

/**
 * A CloudWatch alarm that is not this deployment's: its marker names another deployment (or none),
 * or it was not made by this stack. Kept raw and never acted on.
 */
export class ForeignAlarmError extends Error {
  override readonly name = 'ForeignAlarmError';
}

/** A runtime policy (SSM parameter or config `policy` block) is invalid; lists every bad field. */
export class PolicyError extends Error {
  override readonly name = 'PolicyError';
  constructor(readonly issues: { path: string; message: string }[]) {
    super(`invalid policy: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`);
  }
}
