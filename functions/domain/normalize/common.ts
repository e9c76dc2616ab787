// Helpers every normalizer shares: defensive field access that turns any odd shape into a
// MalformedEventError naming the field, length limits for hostile input, cluster alias
// resolution and the deterministic signal id.
import { createHash } from 'node:crypto';
import { MalformedEventError } from '../errors.js';
import {
  SIGNAL_KINDS,
  type ClusterFacts,
  type Signal,
  type SignalKind,
  type SignalSource,
  type SignalState,
} from '../types.js';
import type { AlertRouting } from './alert-names.js';

export const LIMITS = {
  name: 256,
  labelKey: 128,
  labelValue: 1024,
  labels: 128,
  summary: 1024,
  cluster: 256,
  alerts: 1000,
} as const;

export interface NormalizeContext {
  clusters: ClusterFacts[];
  /** When the event arrived (ISO); used when the source gives no usable time. */
  receivedAt: string;
  /** Alertmanager alerts: the configured alert names, labels and broker hosts (none by default). */
  routing?: AlertRouting;
  /** This deployment: an alarm marker naming another one (or none) is rejected. Unset: any. */
  deployment?: string;
}

export type Obj = Record<string, unknown>;

export function isObject(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Trims and cuts to `max` characters (input may be hostile). */
export function clip(s: string, max: number): string {
  const t = s.trim();
  return t.length > max ? t.slice(0, max) : t;
}

export function requireObject(v: unknown, field: string, where: string): Obj {
  if (!isObject(v)) throw new MalformedEventError(`${where}: ${field} must be an object`);
  return v;
}

export function optionalObject(v: unknown, field: string, where: string): Obj | undefined {
  if (v === undefined || v === null) return undefined;
  return requireObject(v, field, where);
}

export function requireString(v: unknown, field: string, where: string, max: number = LIMITS.name): string {
  if (typeof v !== 'string' || v.trim() === '')
    throw new MalformedEventError(`${where}: ${field} must be a non-empty string`);
  return clip(v, max);
}

export function optionalString(
  v: unknown,
  field: string,
  where: string,
  max: number = LIMITS.name,
): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw new MalformedEventError(`${where}: ${field} must be a string`);
  const t = clip(v, max);
  return t === '' ? undefined : t;
}

export function requireArray(v: unknown, field: string, where: string, max: number = LIMITS.alerts): unknown[] {
  if (!Array.isArray(v)) throw new MalformedEventError(`${where}: ${field} must be an array`);
  if (v.length > max)
    throw new MalformedEventError(`${where}: ${field} has ${v.length} entries, more than the limit of ${max}`);
  return v;
}

/** A finite number from a number or a numeric string ("12.5"); undefined otherwise. */
export function numeric(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (typeof v === 'string' && /^\s*[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?\s*$/.test(v)) return Number(v);
  return undefined;
}

/** A broker id: a non-negative safe integer, from a number or a digit string. */
export function brokerId(v: unknown, field: string, where: string): number {
  const s = typeof v === 'number' ? String(v) : typeof v === 'string' ? v.trim() : '';
  if (!/^\d{1,9}$/.test(s))
    throw new MalformedEventError(
      `${where}: ${field} must be a broker id (a non-negative integer), got ${describe(v)}`,
    );
  return Number(s);
}

export function sortedUnique(ids: number[]): number[] {
  return [...new Set(ids)].sort((a, b) => a - b);
}

/** ISO time from a timestamp string, or undefined when it is missing or not a real date. */
export function isoTime(v: unknown): string | undefined {
  if (typeof v !== 'string' || v.length > 64) return undefined;
  const t = Date.parse(v);
  // Year 1 is Alertmanager's "no end time" (0001-01-01T00:00:00Z); before 1971 is never real.
  if (Number.isNaN(t) || t < 31_536_000_000) return undefined;
  return new Date(t).toISOString();
}

export function signalKind(v: unknown, field: string, where: string): SignalKind {
  if (typeof v === 'string' && (SIGNAL_KINDS as readonly string[]).includes(v.trim())) return v.trim() as SignalKind;
  throw new MalformedEventError(`${where}: ${field} must be one of ${SIGNAL_KINDS.join(', ')}, got ${describe(v)}`);
}

/** Maps a cluster name as seen in the event to the configured name (aliases included). */
export function resolveCluster(seen: string, clusters: ClusterFacts[]): string {
  const name = clip(seen, LIMITS.cluster);
  const found = clusters.find((c) => c.name === name || c.aliases.includes(name));
  return found ? found.name : name;
}

/** Copies a string map, enforcing the label limits; non-string values are a malformed event. */
export function labelMap(v: unknown, field: string, where: string): Record<string, string> {
  if (v === undefined || v === null) return {};
  const o = requireObject(v, field, where);
  const keys = Object.keys(o);
  if (keys.length > LIMITS.labels)
    throw new MalformedEventError(
      `${where}: ${field} has ${keys.length} entries, more than the limit of ${LIMITS.labels}`,
    );
  const out: Record<string, string> = {};
  for (const k of keys) {
    const val = o[k];
    if (typeof val !== 'string' && typeof val !== 'number' && typeof val !== 'boolean') {
      throw new MalformedEventError(`${where}: ${field}.${clip(k, LIMITS.labelKey)} must be a string`);
    }
    // defineProperty, not assignment: a "__proto__" label stays a plain label.
    Object.defineProperty(out, clip(k, LIMITS.labelKey), {
      value: clip(String(val), LIMITS.labelValue),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return out;
}

/** Own-property lookup, so hostile keys such as "constructor" never reach Object.prototype. */
export function lookup<T>(table: Record<string, T>, key: string): T | undefined {
  return Object.hasOwn(table, key) ? table[key] : undefined;
}

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** Same source event -> same id, so a redelivery deduplicates. */
export function signalId(source: SignalSource, fingerprint: string, state: SignalState, observedAt: string): string {
  return `sig-${sha256(`${source}\n${fingerprint}\n${state}\n${observedAt}`).slice(0, 32)}`;
}

/** Builds a Signal with its id and drops absent optional fields (stable JSON). */
export function makeSignal(s: Omit<Signal, 'id'>): Signal {
  const out: Signal = {
    id: signalId(s.source, s.fingerprint, s.state, s.observedAt),
    ...s,
    brokerIds: sortedUnique(s.brokerIds),
  };
  for (const k of ['value', 'threshold', 'consumerGroup', 'topic', 'summary'] as const) {
    if (out[k] === undefined) delete out[k];
  }
  return out;
}

/** Deeper JSON than any source sends (an Alertmanager body nests 4 levels, a CloudWatch event 6). */
export const MAX_JSON_DEPTH = 64;

/**
 * JSON.parse for input from outside, refusing documents nested deeper than MAX_JSON_DEPTH before
 * parsing them: code that walks or prints a value (JSON.stringify in a message, a schema check)
 * recurses, and a 120,000-level body under 256 KB would overflow the stack into a 5xx that the
 * sender retries forever. Bad JSON and deep JSON are both a MalformedEventError (kept raw, 400).
 */
export function parseJsonDocument(text: string, what: string): unknown {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > MAX_JSON_DEPTH) throw new MalformedEventError(`${what} nests deeper than ${MAX_JSON_DEPTH} levels`);
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new MalformedEventError(`${what} is not valid JSON: ${(err as Error).message}`);
  }
}

export function describe(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return 'an object';
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 40 ? `${s.slice(0, 40)}...` : s;
}
