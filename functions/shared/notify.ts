// The notification fallback chain (safety rule 9: notifications are never lost):
//
//   PagerDuty (Events v2, with its own bounded retries)
//     -> SNS topic for the severity (critical: SEV-1/SEV-2, warning: SEV-3/SEV-4)
//       -> SQS retry queue (which has a DLQ), redelivered later by `redeliverFromQueue`
//
// Each link is tried only when the one before failed (or does not apply: status updates and
// no-page severities skip PagerDuty). Every attempt is returned as a record for the incident
// timeline, so an operator sees that PagerDuty was throttled and SNS carried the page. When even
// the queue refuses the message, `NotificationLost` is thrown with the attempts attached, so the
// caller's own retry (Lambda / ASL Retry) tries again instead of continuing silently.
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { SQSClient, SendMessageCommand } from '@aws-sdk/client-sqs';
import type { IncidentType, Severity } from '../domain/types.js';
import { ConfigurationError } from './errors.js';
import type { TimelineEntry } from './store/index.js';
import { PagerDutyClient, executionConsoleUrl, routingKeyFromSecret } from './pagerduty.js';
import type { PagerDutyClientOptions } from './pagerduty.js';

export type NotificationKind = 'trigger' | 'acknowledge' | 'resolve' | 'status-update';
export type NotifyChannel = 'pagerduty' | 'sns' | 'retry-queue';

export interface IncidentNotification {
  incidentId: string;
  cluster: string;
  incidentType: IncidentType;
  severity: Severity;
  /** trigger opens/re-pages; acknowledge/resolve follow the incident; status-update informs stakeholders (never pages). */
  kind: NotificationKind;
  summary: string;
  /** Set false to not page (e.g. SEV-4); the notification goes to SNS. Default true. */
  page?: boolean;
  /** Escalation ladder level being paged (1 = primary on-call). */
  level?: number;
  /** PagerDuty payload.source; default `kafka-heal/<cluster>`. */
  source?: string;
  /** An escalation level's own PagerDuty service: the Secrets Manager name of its routing key (default: the deployment's). */
  routingKeySecret?: string;
  /** An escalation level's own SNS topic: a trigger pages through it instead of PagerDuty (other kinds fall back to it). */
  snsTopicArn?: string;
  executionArn?: string;
  details?: Record<string, unknown>;
}

/** The notification about a stored incident: its id, cluster, type and severity, with what to say. */
export function incidentNotification(
  incident: { id: string; cluster: string; type: IncidentType; severity: Severity },
  kind: NotificationKind,
  summary: string,
): IncidentNotification {
  return {
    incidentId: incident.id,
    cluster: incident.cluster,
    incidentType: incident.type,
    severity: incident.severity,
    kind,
    summary,
  };
}

export interface NotifyAttempt {
  channel: NotifyChannel;
  outcome: 'delivered' | 'failed' | 'skipped';
  /** When the outcome was known (ISO 8601). */
  at: string;
  /** What was delivered (dedup key and request count, message id) or why it was skipped. */
  detail?: string;
  errorName?: string;
  error?: string;
}

export interface NotifyResult {
  delivered: boolean;
  /** The channel that took the notification; `retry-queue` means it is parked for redelivery. */
  via: NotifyChannel | undefined;
  attempts: NotifyAttempt[];
}

/** PagerDuty, SNS and the retry queue all refused the notification. The caller must retry. */
export class NotificationLost extends Error {
  override readonly name = 'NotificationLost';
  constructor(
    readonly incidentId: string,
    readonly attempts: NotifyAttempt[],
  ) {
    super(
      `notification for incident ${incidentId} could not be delivered or queued: ${attempts.map((a) => `${a.channel} ${a.outcome}${a.error === undefined ? '' : ` (${a.error})`}`).join('; ')}`,
    );
  }
}

/** Redelivery from the retry queue failed again; thrown so SQS redelivers (and finally moves it to the DLQ). */
export class NotificationUndelivered extends Error {
  override readonly name = 'NotificationUndelivered';
  constructor(
    readonly incidentId: string,
    readonly attempts: NotifyAttempt[],
  ) {
    super(
      `notification for incident ${incidentId} still undelivered: ${attempts.map((a) => `${a.channel} ${a.outcome}${a.error === undefined ? '' : ` (${a.error})`}`).join('; ')}`,
    );
  }
}

export interface SnsTopicArns {
  /** SEV-1 and SEV-2. */
  critical: string;
  /** SEV-3 and SEV-4. */
  warning: string;
}

export interface NotifyDeps {
  /** Absent when no PagerDuty integration is configured: SNS is then the first channel. */
  pagerDuty?: Pick<PagerDutyClient, 'trigger' | 'acknowledge' | 'resolve'>;
  /** The client of an escalation level's own routing key (by its secret's name). */
  pagerDutyFor?: (routingKeySecret: string) => Pick<PagerDutyClient, 'trigger' | 'acknowledge' | 'resolve'>;
  sns: Pick<SNSClient, 'send'>;
  snsTopicArns: SnsTopicArns;
  sqs: Pick<SQSClient, 'send'>;
  retryQueueUrl: string;
  now?: () => Date;
}

/** Body of a retry-queue message. */
export interface RetryQueueMessage {
  version: 1;
  notification: IncidentNotification;
  /** Attempts made before the message was queued (for the timeline when it is finally delivered). */
  attempts: NotifyAttempt[];
}

export function snsTopicForSeverity(severity: Severity, arns: SnsTopicArns): string {
  return severity === 'SEV-1' || severity === 'SEV-2' ? arns.critical : arns.warning;
}

/** SNS subjects: ASCII printable, no line breaks, at most 100 characters. */
export function snsSubject(n: IncidentNotification): string {
  const label =
    n.kind === 'status-update'
      ? 'STATUS'
      : n.kind === 'trigger'
        ? 'TRIGGERED'
        : n.kind === 'acknowledge'
          ? 'ACKNOWLEDGED'
          : 'RESOLVED';
  const text = `[${n.severity}] ${label} kafka-heal ${n.cluster}: ${n.incidentType} - ${n.summary}`.replace(
    /[^\x20-\x7e]/g,
    '?',
  );
  return text.length <= 100 ? text : `${text.slice(0, 97)}...`;
}

const MAX_SNS_MESSAGE_CHARS = 200_000;

export function snsMessage(n: IncidentNotification, pagerDutyFailure: string | undefined): string {
  const lines = [
    n.summary,
    '',
    `Incident: ${n.incidentId}`,
    `Cluster: ${n.cluster}`,
    `Type: ${n.incidentType}`,
    `Severity: ${n.severity}`,
    `Event: ${n.kind}${n.level === undefined ? '' : ` (escalation level ${n.level})`}`,
  ];
  if (n.executionArn !== undefined) lines.push(`Workflow: ${executionConsoleUrl(n.executionArn)}`);
  if (pagerDutyFailure !== undefined) lines.push('', `PagerDuty could not take this notification: ${pagerDutyFailure}`);
  if (n.details !== undefined) lines.push('', 'Details:', JSON.stringify(n.details, null, 2));
  const text = lines.join('\n');
  return text.length <= MAX_SNS_MESSAGE_CHARS ? text : `${text.slice(0, MAX_SNS_MESSAGE_CHARS)}\n[truncated]`;
}

function errorFields(err: unknown): { errorName: string; error: string } {
  return err instanceof Error
    ? { errorName: err.name, error: err.message }
    : { errorName: 'Error', error: String(err) };
}

async function tryPagerDuty(n: IncidentNotification, deps: NotifyDeps, now: () => Date): Promise<NotifyAttempt> {
  const skip = (detail: string): NotifyAttempt => ({
    channel: 'pagerduty',
    outcome: 'skipped',
    at: now().toISOString(),
    detail,
  });
  if (n.kind === 'status-update') return skip('status updates go to SNS only');
  if (n.page === false) return skip('severity does not page');
  if (n.snsTopicArn !== undefined && n.routingKeySecret === undefined)
    return skip('this escalation level pages through its SNS topic');
  const pagerDuty = n.routingKeySecret === undefined ? deps.pagerDuty : deps.pagerDutyFor?.(n.routingKeySecret);
  if (pagerDuty === undefined)
    return skip(
      n.routingKeySecret === undefined
        ? 'PagerDuty is not configured'
        : `no PagerDuty client for routing key secret ${n.routingKeySecret}`,
    );
  try {
    const res =
      n.kind === 'trigger'
        ? await pagerDuty.trigger({
            incidentId: n.incidentId,
            summary: n.summary,
            severity: n.severity,
            source: n.source ?? `kafka-heal/${n.cluster}`,
            component: n.cluster,
            group: n.cluster,
            class: n.incidentType,
            customDetails: {
              ...n.details,
              incidentId: n.incidentId,
              ...(n.level === undefined ? {} : { escalationLevel: n.level }),
            },
            ...(n.executionArn === undefined ? {} : { executionArn: n.executionArn }),
          })
        : n.kind === 'acknowledge'
          ? await pagerDuty.acknowledge(n.incidentId)
          : await pagerDuty.resolve(n.incidentId);
    return {
      channel: 'pagerduty',
      outcome: 'delivered',
      at: now().toISOString(),
      detail: `dedup_key=${res.dedupKey} requests=${res.attempts}`,
    };
  } catch (err) {
    return { channel: 'pagerduty', outcome: 'failed', at: now().toISOString(), ...errorFields(err) };
  }
}

async function trySns(
  n: IncidentNotification,
  deps: NotifyDeps,
  now: () => Date,
  pagerDutyFailure: string | undefined,
): Promise<NotifyAttempt> {
  try {
    const out = await deps.sns.send(
      new PublishCommand({
        TopicArn: n.snsTopicArn ?? snsTopicForSeverity(n.severity, deps.snsTopicArns),
        Subject: snsSubject(n),
        Message: snsMessage(n, pagerDutyFailure),
        MessageAttributes: {
          incidentId: { DataType: 'String', StringValue: n.incidentId },
          severity: { DataType: 'String', StringValue: n.severity },
          cluster: { DataType: 'String', StringValue: n.cluster },
          kind: { DataType: 'String', StringValue: n.kind },
        },
      }),
    );
    return {
      channel: 'sns',
      outcome: 'delivered',
      at: now().toISOString(),
      detail: `messageId=${out.MessageId ?? 'unknown'}`,
    };
  } catch (err) {
    return { channel: 'sns', outcome: 'failed', at: now().toISOString(), ...errorFields(err) };
  }
}

/** Queue bodies stay well under SQS's 256 KiB message limit; oversized details are dropped first. */
const MAX_QUEUE_BODY_CHARS = 200_000;

export function retryQueueBody(n: IncidentNotification, attempts: NotifyAttempt[]): string {
  const full = JSON.stringify({ version: 1, notification: n, attempts } satisfies RetryQueueMessage);
  if (full.length <= MAX_QUEUE_BODY_CHARS) return full;
  const { details: _dropped, ...rest } = n;
  const slim: IncidentNotification = {
    ...rest,
    details: { detailsDropped: `details exceeded the retry queue limit (${full.length} characters)` },
  };
  return JSON.stringify({ version: 1, notification: slim, attempts } satisfies RetryQueueMessage);
}

async function tryQueue(
  n: IncidentNotification,
  deps: NotifyDeps,
  now: () => Date,
  attempts: NotifyAttempt[],
): Promise<NotifyAttempt> {
  try {
    const out = await deps.sqs.send(
      new SendMessageCommand({
        QueueUrl: deps.retryQueueUrl,
        MessageBody: retryQueueBody(n, attempts),
        MessageAttributes: {
          incidentId: { DataType: 'String', StringValue: n.incidentId },
          severity: { DataType: 'String', StringValue: n.severity },
        },
      }),
    );
    return {
      channel: 'retry-queue',
      outcome: 'delivered',
      at: now().toISOString(),
      detail: `messageId=${out.MessageId ?? 'unknown'}`,
    };
  } catch (err) {
    return { channel: 'retry-queue', outcome: 'failed', at: now().toISOString(), ...errorFields(err) };
  }
}

async function deliver(n: IncidentNotification, deps: NotifyDeps, useQueue: boolean): Promise<NotifyResult> {
  const now = deps.now ?? (() => new Date());
  const attempts: NotifyAttempt[] = [];

  const pd = await tryPagerDuty(n, deps, now);
  attempts.push(pd);
  if (pd.outcome === 'delivered') return { delivered: true, via: 'pagerduty', attempts };

  const sns = await trySns(n, deps, now, pd.outcome === 'failed' ? `${pd.errorName}: ${pd.error}` : undefined);
  attempts.push(sns);
  if (sns.outcome === 'delivered') return { delivered: true, via: 'sns', attempts };
  if (!useQueue) return { delivered: false, via: undefined, attempts };

  const queued = await tryQueue(n, deps, now, [...attempts]);
  attempts.push(queued);
  if (queued.outcome === 'delivered') return { delivered: true, via: 'retry-queue', attempts };
  throw new NotificationLost(n.incidentId, attempts);
}

/**
 * Delivers one incident notification through PagerDuty, else SNS, else the retry queue.
 * Resolves with every attempt (for the timeline); rejects with NotificationLost only when all
 * three refused it.
 */
export function notify(n: IncidentNotification, deps: NotifyDeps): Promise<NotifyResult> {
  return deliver(n, deps, true);
}

/** Parses and checks a retry-queue message body. */
export function parseRetryQueueMessage(body: string): RetryQueueMessage {
  const parsed = JSON.parse(body) as Partial<RetryQueueMessage>;
  const n = parsed.notification;
  if (
    parsed.version !== 1 ||
    typeof n !== 'object' ||
    n === null ||
    typeof n.incidentId !== 'string' ||
    typeof n.kind !== 'string'
  ) {
    throw new SyntaxError('not a kafka-heal notification retry message');
  }
  return { version: 1, notification: n, attempts: Array.isArray(parsed.attempts) ? parsed.attempts : [] };
}

/**
 * Redelivers a queued notification (the retry queue's consumer): PagerDuty, else SNS. Throws
 * NotificationUndelivered when both fail again, so SQS makes the message visible again and, after
 * the queue's maxReceiveCount, moves it to the DLQ, where it alarms; it is never dropped.
 */
export async function redeliverFromQueue(body: string, deps: NotifyDeps): Promise<NotifyResult> {
  const message = parseRetryQueueMessage(body);
  const result = await deliver(message.notification, deps, false);
  const attempts = [...message.attempts, ...result.attempts];
  if (!result.delivered) throw new NotificationUndelivered(message.notification.incidentId, attempts);
  return { ...result, attempts };
}

/**
 * The attempts as incident timeline entries (Timeline.appendTimeline), one per channel tried,
 * so a throttled PagerDuty and the SNS page that replaced it are both on the record. Works on
 * NotifyResult.attempts and on NotificationLost/NotificationUndelivered.attempts alike.
 */
export function notifyTimelineEntries(kind: NotificationKind, attempts: NotifyAttempt[]): TimelineEntry[] {
  return attempts.map((a) => {
    const entry: TimelineEntry = { at: a.at, actor: 'notifier', action: `notify-${a.channel}`, result: a.outcome };
    const detail = a.error === undefined ? a.detail : `${a.errorName ?? 'Error'}: ${a.error}`;
    entry.detail = detail === undefined ? kind : `${kind}: ${detail}`;
    return entry;
  });
}

/**
 * Environment a notifying Lambda needs (bound by the CDK construct that grants the matching IAM):
 * - PAGERDUTY_ROUTING_KEY_SECRET  Secrets Manager name/ARN of the Events v2 routing key (optional:
 *                                 without it notifications start at SNS)
 * - PAGERDUTY_EVENTS_URL          optional endpoint override (the local receiver in drills)
 * - SNS_CRITICAL_TOPIC_ARN, SNS_WARNING_TOPIC_ARN
 * - NOTIFY_RETRY_QUEUE_URL        the retry queue (it has a DLQ)
 */
export const NOTIFY_ENV = {
  routingKeySecret: 'PAGERDUTY_ROUTING_KEY_SECRET',
  eventsUrl: 'PAGERDUTY_EVENTS_URL',
  criticalTopic: 'SNS_CRITICAL_TOPIC_ARN',
  warningTopic: 'SNS_WARNING_TOPIC_ARN',
  retryQueue: 'NOTIFY_RETRY_QUEUE_URL',
} as const;

/**
 * Builds NotifyDeps from the environment, once per Lambda process (the routing key cache then
 * lives across invocations). Clients may be injected (tests, the local runtime).
 */
export function notifyDepsFromEnv(
  env: Record<string, string | undefined>,
  clients: {
    secretsManager?: SecretsManagerClient;
    sns?: SNSClient;
    sqs?: SQSClient;
    pagerDuty?: Partial<PagerDutyClientOptions>;
  } = {},
): NotifyDeps {
  const need = (name: string): string => {
    const value = env[name];
    if (value === undefined || value === '')
      throw new ConfigurationError(`environment variable ${name} is required for notifications`);
    return value;
  };
  const deps: NotifyDeps = {
    sns: clients.sns ?? new SNSClient({}),
    sqs: clients.sqs ?? new SQSClient({}),
    snsTopicArns: { critical: need(NOTIFY_ENV.criticalTopic), warning: need(NOTIFY_ENV.warningTopic) },
    retryQueueUrl: need(NOTIFY_ENV.retryQueue),
  };
  const secretId = env[NOTIFY_ENV.routingKeySecret];
  const endpoint = env[NOTIFY_ENV.eventsUrl];
  let secretsManager = clients.secretsManager;
  const client = (id: string) =>
    new PagerDutyClient({
      routingKey: routingKeyFromSecret({ client: (secretsManager ??= new SecretsManagerClient({})), secretId: id }),
      ...(endpoint === undefined || endpoint === '' ? {} : { endpoint }),
      ...clients.pagerDuty,
    });
  if (secretId !== undefined && secretId !== '') deps.pagerDuty = client(secretId);
  // Escalation levels' own routing keys, one client (and key cache) per secret.
  const levels = new Map<string, PagerDutyClient>();
  deps.pagerDutyFor = (id) => {
    let c = levels.get(id);
    if (c === undefined) levels.set(id, (c = client(id)));
    return c;
  };
  return deps;
}
