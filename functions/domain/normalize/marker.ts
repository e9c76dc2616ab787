// The marker this project's alarms carry in their AlarmDescription, so a state change names its
// deployment, cluster, kind, broker and consumer group without guessing from dimensions:
//   [kafka-heal deployment=prod cluster=orders kind=broker-down broker=2 group=billing threshold=1]
// `deployment` binds the alarm to the stack that made it: the normalizer of another deployment
// rejects it (functions/domain/normalize/cloudwatch.ts). `threshold` is the alarm's own, for the
// contributor events of a per-broker alarm, which carry no reason data. Values never contain
// spaces or "]" (names are slugs; group names with spaces are rejected by alarmMarker).
import { MalformedEventError } from '../errors.js';
import type { SignalKind } from '../types.js';
import { brokerId, numeric, signalKind } from './common.js';

export interface MarkerFields {
  deployment?: string;
  cluster: string;
  kind: SignalKind;
  brokerId?: number;
  consumerGroup?: string;
  threshold?: number;
}

const SAFE_VALUE = /^[^\s\]=[]{1,200}$/;

function checkValue(value: string, field: string): void {
  if (!SAFE_VALUE.test(value))
    throw new RangeError(`alarmMarker: ${field} "${value}" must be 1-200 characters without spaces, "=", "[" or "]"`);
}

export function alarmMarker(m: MarkerFields): string {
  const parts = [
    ...(m.deployment === undefined ? [] : [`deployment=${m.deployment}`]),
    `cluster=${m.cluster}`,
    `kind=${m.kind}`,
  ];
  if (m.brokerId !== undefined) parts.push(`broker=${m.brokerId}`);
  if (m.consumerGroup !== undefined) parts.push(`group=${m.consumerGroup}`);
  if (m.threshold !== undefined) parts.push(`threshold=${m.threshold}`);
  if (m.deployment !== undefined) checkValue(m.deployment, 'deployment');
  checkValue(m.cluster, 'cluster');
  if (m.consumerGroup !== undefined) checkValue(m.consumerGroup, 'consumerGroup');
  if (m.brokerId !== undefined && !(Number.isSafeInteger(m.brokerId) && m.brokerId >= 0)) {
    throw new RangeError(`alarmMarker: brokerId must be a non-negative integer, got ${m.brokerId}`);
  }
  if (m.threshold !== undefined && !Number.isFinite(m.threshold))
    throw new RangeError(`alarmMarker: threshold must be a finite number, got ${m.threshold}`);
  return `[kafka-heal ${parts.join(' ')}]`;
}

/** Reads the marker from a description; undefined when there is none. */
export function parseMarker(description: string | undefined, where: string): MarkerFields | undefined {
  if (description === undefined) return undefined;
  const m = /\[kafka-heal((?:\s+[a-z]+=[^\s\]]*)*)\s*\]/.exec(description);
  if (!m) return undefined;
  const fields: Record<string, string> = {};
  for (const pair of String(m[1]).trim().split(/\s+/)) {
    const eq = pair.indexOf('=');
    fields[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  const field = (k: string) => `description marker ${k}`;
  if (fields.cluster === undefined || fields.cluster === '')
    throw new MalformedEventError(`${where}: ${field('cluster')} is missing`);
  const out: MarkerFields = { cluster: fields.cluster, kind: signalKind(fields.kind, field('kind'), where) };
  if (fields.deployment !== undefined && fields.deployment !== '') out.deployment = fields.deployment;
  if (fields.broker !== undefined) out.brokerId = brokerId(fields.broker, field('broker'), where);
  if (fields.group !== undefined && fields.group !== '') out.consumerGroup = fields.group;
  if (fields.threshold !== undefined) {
    const t = numeric(fields.threshold);
    if (t === undefined)
      throw new MalformedEventError(
        `${where}: ${field('threshold')} must be a number, got ${JSON.stringify(fields.threshold.slice(0, 40))}`,
      );
    out.threshold = t;
  }
  return out;
}
