// Amazon Managed Prometheus alerts arrive through SNS. AMP's alert manager sends the
// Alertmanager webhook JSON as the SNS message body. Two envelopes are accepted:
//   - the SNS Lambda event: { Records: [ { EventSource: "aws:sns", Sns: { Message, ... } } ] }
//   - a bare SNS notification (HTTP/SQS delivery): { Type: "Notification", Message, ... }
import { MalformedEventError } from '../errors.js';
import type { Signal } from '../types.js';
import { normalizeAlertmanager } from './alertmanager.js';
import { isObject, parseJsonDocument, requireArray, requireObject, type NormalizeContext, type Obj } from './common.js';

/** SNS messages are at most 256 KiB. */
const MAX_MESSAGE = 262_144;

export function isSnsLambdaEvent(raw: Obj): boolean {
  return Array.isArray(raw.Records);
}

export function isSnsNotification(raw: Obj): boolean {
  return raw.Type === 'Notification' && 'Message' in raw;
}

export function normalizeSnsLambdaEvent(raw: Obj, ctx: NormalizeContext): Signal[] {
  const where = 'amp sns event';
  const records = requireArray(raw.Records, 'Records', where, 100);
  if (records.length === 0) throw new MalformedEventError(`${where}: Records must not be empty`);
  return records.flatMap((r, i) => {
    const record = requireObject(r, `Records[${i}]`, where);
    const sns = requireObject(record.Sns, `Records[${i}].Sns`, where);
    return fromMessage(sns.Message, `Records[${i}].Sns.Message`, ctx);
  });
}

export function normalizeSnsNotification(raw: Obj, ctx: NormalizeContext): Signal[] {
  return fromMessage(raw.Message, 'Message', ctx);
}

function fromMessage(message: unknown, field: string, ctx: NormalizeContext): Signal[] {
  const where = 'amp sns event';
  if (typeof message !== 'string') throw new MalformedEventError(`${where}: ${field} must be a string`);
  if (message.length > MAX_MESSAGE)
    throw new MalformedEventError(`${where}: ${field} is longer than ${MAX_MESSAGE} characters`);
  let body: unknown;
  try {
    body = parseJsonDocument(message, `${where}: ${field}`);
  } catch (err) {
    if (/nests deeper/.test((err as Error).message)) throw err;
    throw new MalformedEventError(
      `${where}: ${field} is not JSON (configure the AMP alert manager to send the webhook JSON payload)`,
    );
  }
  if (!isObject(body)) throw new MalformedEventError(`${where}: ${field} must be an Alertmanager payload object`);
  return normalizeAlertmanager(body, ctx, 'amp', `${where} ${field}`);
}
