// What a preflight check answers: one line per finding, PASS, WARN or FAIL, with what was
// checked and, unless it passed, the fix (a command or the config field to change).
export type Status = 'PASS' | 'WARN' | 'FAIL';

export interface CheckResult {
  status: Status;
  /** What was checked, e.g. `cdk bootstrap` or `msk orders`. */
  check: string;
  /** What was found. */
  detail: string;
  /** For WARN and FAIL: the command to run or the config field to change. */
  fix?: string;
}

export const pass = (check: string, detail: string): CheckResult => ({ status: 'PASS', check, detail });
export const warn = (check: string, detail: string, fix: string): CheckResult => ({
  status: 'WARN',
  check,
  detail,
  fix,
});
export const fail = (check: string, detail: string, fix: string): CheckResult => ({
  status: 'FAIL',
  check,
  detail,
  fix,
});

/** `FAIL  cdk bootstrap: version 14, the app needs 21 (fix: npx cdk bootstrap aws://...)` */
export function formatResult(r: CheckResult): string {
  return `${r.status}  ${r.check}: ${r.detail}${r.fix === undefined ? '' : ` (fix: ${r.fix})`}`;
}

const DENIED = new Set([
  'AccessDenied',
  'AccessDeniedException',
  'UnauthorizedOperation',
  'AuthorizationError',
  'UnauthorizedException',
  'ForbiddenException',
]);
const NO_CREDENTIALS = new Set([
  'CredentialsProviderError',
  'ExpiredToken',
  'ExpiredTokenException',
  'InvalidClientTokenId',
  'UnrecognizedClientException',
  'InvalidSignatureException',
  'SignatureDoesNotMatch',
]);

/** The error's AWS name (`AccessDeniedException`), or its JS name. */
export function errorName(err: unknown): string {
  return err instanceof Error ? err.name : 'Error';
}

/**
 * An AWS call that failed, as a FAIL line: a refused call names the permission the caller lacks,
 * missing or expired credentials say how to get them, anything else names the call and the error.
 */
export function awsFailure(check: string, action: string, err: unknown): CheckResult {
  const name = errorName(err);
  const message = err instanceof Error ? err.message.split('\n')[0] : String(err);
  if (DENIED.has(name))
    return fail(
      check,
      `not allowed to call ${action} (${name})`,
      `grant ${action} to the identity running preflight (docs/deploying.md#permissions)`,
    );
  if (NO_CREDENTIALS.has(name))
    return fail(
      check,
      `${action}: no valid AWS credentials (${name})`,
      'set AWS_PROFILE or log in (aws sso login), then run preflight again',
    );
  if (/\b(?:ECONNREFUSED|ENOTFOUND|ETIMEDOUT|ECONNRESET|EAI_AGAIN)\b/.test(message ?? ''))
    return fail(
      check,
      `${action}: cannot reach the AWS API (${message ?? name})`,
      'check the network, the proxy (HTTPS_PROXY) and the region',
    );
  return fail(
    check,
    `${action} failed: ${name}: ${message}`,
    'run preflight again; if it persists, check the call with the AWS CLI',
  );
}
