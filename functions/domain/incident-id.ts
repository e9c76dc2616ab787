// Incident ids and Step Functions execution names. Both are deterministic, so a redelivered
// signal maps to the same incident and a duplicate StartExecution fails harmlessly with
// ExecutionAlreadyExists. Execution names allow 1-80 characters of [A-Za-z0-9-_].
import { createHash } from 'node:crypto';
import type { IncidentType, Signal, Workflow } from './types.js';

const MAX_NAME = 80;

function hash(text: string, n: number): string {
  return createHash('sha256').update(text).digest('hex').slice(0, n);
}

function slug(s: string, max: number): string {
  const out = s
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, max)
    .replace(/-+$/, '');
  return out === '' ? 'x' : out;
}

/**
 * `inc-<cluster>-<type>-<yyyymmddThhmmssZ>-<hash>`: readable in the console, at most 72
 * characters; the hash covers cluster, type, fingerprint and observed time, so different
 * faults never share an id even when the readable parts are cut.
 */
export function incidentIdFor(signal: Signal, type: IncidentType): string {
  const t = Date.parse(signal.observedAt);
  const stamp = Number.isNaN(t)
    ? 'notime'
    : new Date(t)
        .toISOString()
        .replace(/[-:]/g, '')
        .replace(/\.\d+Z$/, 'Z');
  const h = hash(`${signal.cluster}\n${type}\n${signal.fingerprint}\n${signal.observedAt}`, 10);
  return `inc-${slug(signal.cluster, 20)}-${type}-${stamp}-${h}`;
}

/** `<incident>-<workflow>-<attempt>`, shortened with a hash of the incident id when too long. */
export function executionName(incidentId: string, workflow: Workflow, attempt = 1): string {
  if (!Number.isSafeInteger(attempt) || attempt < 1)
    throw new RangeError(`executionName: attempt must be a whole number >= 1, got ${attempt}`);
  const safeId = incidentId.replace(/[^A-Za-z0-9_-]/g, '-');
  const tail = `-${workflow}-${attempt}`;
  const room = MAX_NAME - tail.length;
  if (safeId.length > 0 && safeId.length <= room && safeId === incidentId) return `${safeId}${tail}`;
  const h = hash(incidentId, 10);
  return `${safeId.slice(0, room - h.length - 1)}-${h}${tail}`;
}

/** Fingerprints up to this long are kept as they are on the incident; longer ones as a hash. */
export const FINGERPRINT_KEY_MAX = 64;

/**
 * How an incident keeps a signal's fingerprint: readable when short, `sha256:<32 hex>` when long,
 * so a thousand distinct 1 KiB fingerprints cost 39 KB of the incident item, not a megabyte.
 * Correlation compares keys (correlate.ts), never raw fingerprints.
 */
export function fingerprintKey(fingerprint: string): string {
  return fingerprint.length <= FINGERPRINT_KEY_MAX ? fingerprint : `sha256:${hash(fingerprint, 32)}`;
}
