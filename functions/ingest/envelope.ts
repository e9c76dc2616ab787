// What the ingest queue carries, unwrapped to the event normalize() understands:
//   - an EventBridge event (CloudWatch Alarm State Change, probe results): as is
//   - an SNS notification (AMP alerts via an SNS -> SQS subscription): as is, normalize reads Message
//   - an Alertmanager webhook body put on the queue by the API Gateway integration: as is
//   - a whole API Gateway proxy request: its body (base64-decoded when flagged)
import { MalformedEventError } from '../domain/errors.js';
import { parseJsonDocument as parseJson } from '../domain/normalize/common.js';

function isApiGatewayProxyRequest(v: unknown): v is { body: string | null; isBase64Encoded?: boolean } {
  return (
    typeof v === 'object' &&
    v !== null &&
    'body' in v &&
    'requestContext' in v &&
    ('httpMethod' in v || 'routeKey' in v)
  );
}

export function unwrapRecordBody(body: string): unknown {
  const parsed = parseJson(body, 'queue message body');
  if (isApiGatewayProxyRequest(parsed)) {
    if (typeof parsed.body !== 'string' || parsed.body === '')
      throw new MalformedEventError('API Gateway request has no body');
    const text = parsed.isBase64Encoded ? Buffer.from(parsed.body, 'base64').toString('utf8') : parsed.body;
    return parseJson(text, 'API Gateway request body');
  }
  return parsed;
}

/** Errors that retrying the same input cannot fix: the input is kept raw instead of retried. */
export function isPermanentInputError(err: unknown): boolean {
  return (
    err instanceof Error &&
    ['MalformedEventError', 'UnknownSourceError', 'InputValidationError', 'ForeignAlarmError'].includes(err.name)
  );
}
