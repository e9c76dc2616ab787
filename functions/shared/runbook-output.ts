// The result contract of the runbooks (runbooks/README.md): every document prints exactly one
// JSON result line on stdout. Kept apart from runbooks.ts (documents, YAML) so that code reading
// results only does not load a YAML parser.

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Prefix of the diagnosis line printed by kafka-diagnose-host. */
export const DIAGNOSIS_PREFIX = 'KAFKA_HEAL_DIAGNOSIS ';

/** The document printed no parsable result line (the command failed before its end, or output was cut). */
export class RunbookOutputError extends Error {
  override readonly name = 'RunbookOutputError';
}

/**
 * The JSON result of a runbook run from its standard output: the last non-empty line, with the
 * `KAFKA_HEAL_DIAGNOSIS ` prefix removed when present. Every document prints exactly one such line
 * on stdout (progress goes to stderr), on success and on handled failures.
 */
export function parseRunbookOutput(stdout: string): Record<string, unknown> {
  const lines = stdout
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '');
  const last = lines.at(-1);
  if (last === undefined) throw new RunbookOutputError('the runbook printed nothing on stdout');
  const json = last.startsWith(DIAGNOSIS_PREFIX.trim()) ? last.slice(DIAGNOSIS_PREFIX.trim().length).trim() : last;
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    throw new RunbookOutputError(`the runbook's last stdout line is not JSON: ${last.slice(0, 200)}`);
  }
  if (!isRecord(parsed)) throw new RunbookOutputError('the runbook result is not a JSON object');
  return parsed;
}
