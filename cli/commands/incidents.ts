// `kafka-heal incidents list|show`: what the healer opened and did, read from the incident table
// (AWS or DynamoDB Local, see cli/store.ts). Written for someone paged at 3 a.m.: the state and
// the numbers first, then the timeline in time order with offsets from detection.
// `kafka-heal incidents ack|resolve|reopen|note`: the incident lifecycle (functions/lifecycle), the
// same path as the incident page and PagerDuty's webhooks.
import { userInfo } from 'node:os';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import type { LifecycleAction } from '#functions/lifecycle/actions.js';
import {
  makeLifecycleCommandHandler,
  type LifecycleCommand,
  type LifecycleCommandResult,
} from '#functions/lifecycle/command.js';
import { notify, type NotifyDeps } from '#shared/notify.js';
import { PagerDutyClient, staticRoutingKey } from '#shared/pagerduty.js';
import { formatDuration, formatOffset } from '#tools/report-text.js';
import {
  ACTIVE_STATUSES,
  CLOSED_STATUSES,
  type IncidentRecord,
  type IncidentWithTimeline,
} from '#shared/store/index.js';
import type { IncidentStatus } from '#domain/types.js';
import { parseFlags, UsageError, type Command } from '../args.js';
import { STORE_FLAGS, STORE_HELP, STORE_USAGE, withStore } from '../store.js';
import { table } from '../table.js';

export const INCIDENT_STATUSES: readonly IncidentStatus[] = [...ACTIVE_STATUSES, ...CLOSED_STATUSES];

function statusFlag(value: string | undefined): IncidentStatus | undefined {
  if (value === undefined) return undefined;
  if (!(INCIDENT_STATUSES as readonly string[]).includes(value))
    throw new UsageError(`--status must be one of ${INCIDENT_STATUSES.join(', ')}, got "${value}"`);
  return value as IncidentStatus;
}

/** One positional incident id, as the commands that act on one incident take it. */
export function incidentIdArg(positionals: string[]): string {
  if (positionals.length !== 1)
    throw new UsageError(
      `expected exactly one incident id, got ${positionals.length === 0 ? 'none' : positionals.join(' ')}`,
    );
  const id = positionals[0] as string;
  if (!/^[A-Za-z0-9][A-Za-z0-9._:#-]{0,199}$/.test(id)) throw new UsageError(`not an incident id: "${id}"`);
  return id;
}

/** `2026-11-22 02:00:03Z`: whole seconds, UTC said out loud. */
export function shortTime(iso: string | undefined): string {
  if (iso === undefined) return '-';
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return iso;
  return `${new Date(t).toISOString().slice(0, 19).replace('T', ' ')}Z`;
}

function ageOrMttr(i: IncidentRecord, now: Date): string {
  if (i.mttrSeconds !== undefined) return `mttr ${formatDuration(i.mttrSeconds)}`;
  const since = (now.getTime() - Date.parse(i.detectedAt)) / 1000;
  return Number.isFinite(since) ? `open ${formatDuration(since)}` : '-';
}

export function renderList(incidents: IncidentRecord[], now: Date): string {
  if (incidents.length === 0) return 'no incidents match';
  const rows = [['ID', 'CLUSTER', 'TYPE', 'SEVERITY', 'STATUS', 'OPENED (UTC)', 'BROKERS', 'MTTA', 'DURATION']];
  for (const i of incidents) {
    rows.push([
      i.id,
      i.cluster,
      i.type,
      i.severity,
      i.status,
      shortTime(i.openedAt),
      i.brokers.map((b) => b.id).join(',') || '-',
      i.mttaSeconds === undefined ? '-' : formatDuration(i.mttaSeconds),
      ageOrMttr(i, now),
    ]);
  }
  const active = incidents.filter((i) => ACTIVE_STATUSES.includes(i.status)).length;
  return [...table(rows), `${incidents.length} incident${incidents.length === 1 ? '' : 's'}, ${active} active`].join(
    '\n',
  );
}

export function renderIncident(i: IncidentWithTimeline, now: Date): string {
  const lines: string[] = [];
  lines.push(`incident ${i.id}`);
  lines.push(`  ${i.severity}  ${i.type}  on cluster ${i.cluster}  -- ${i.status.toUpperCase()}`);
  if (i.brokers.length > 0)
    lines.push(`  brokers: ${i.brokers.map((b) => `${b.id} (first seen ${shortTime(b.firstSeenAt)})`).join(', ')}`);
  lines.push(
    `  detected ${shortTime(i.detectedAt)}   opened ${shortTime(i.openedAt)}   paged ${shortTime(i.firstPagedAt)}   acknowledged ${shortTime(i.acknowledgedAt)}   resolved ${shortTime(i.resolvedAt)}`,
  );
  if (i.acknowledgedBy !== undefined)
    lines.push(`  acknowledged by ${i.acknowledgedBy}${i.acknowledgedVia ? ` (${i.acknowledgedVia})` : ''}`);
  if (i.resolvedBy !== undefined)
    lines.push(`  resolved by ${i.resolvedBy}${i.resolvedVia ? ` (${i.resolvedVia})` : ''}`);
  if (i.linkedTo !== undefined)
    lines.push(`  linked to escalated incident ${i.linkedTo} (its fault would have joined it)`);
  if (i.reopenCount !== undefined)
    lines.push(
      `  reopened ${i.reopenCount} time(s)${i.holdOpen ? '; held open for people (auto-resolve leaves it)' : ''}`,
    );
  const mttd = i.mttdSeconds !== undefined ? formatDuration(i.mttdSeconds) : 'n/a';
  const mtta =
    i.mttaSeconds !== undefined
      ? `${formatDuration(i.mttaSeconds)} from the ${i.mttaFrom === 'page' ? 'page' : 'detection'}`
      : 'n/a';
  const mttr = i.mttrSeconds !== undefined ? formatDuration(i.mttrSeconds) : `n/a (${ageOrMttr(i, now)})`;
  lines.push(
    `  MTTD ${mttd}   MTTA ${mtta}   MTTR ${mttr}   signals ${i.signalCount}   last signal ${shortTime(i.lastSignalAt)}`,
  );
  if (i.executionArn) lines.push(`  execution: ${i.executionArn}`);
  const detected = Date.parse(i.detectedAt);
  const entries = [...i.timeline].sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
  lines.push('', `timeline (${entries.length} entr${entries.length === 1 ? 'y' : 'ies'}; UTC, offset from detection):`);
  if (entries.length === 0) lines.push('  (empty)');
  const rows = [['TIME', 'OFFSET', 'ACTOR', 'ACTION', 'RESULT', 'DETAIL']];
  for (const e of entries) {
    const offset = Number.isNaN(detected) ? '' : formatOffset((Date.parse(e.at) - detected) / 1000);
    const detail = [e.detail, ...(e.reasons ?? [])].filter((x): x is string => x !== undefined && x !== '').join('; ');
    rows.push([shortTime(e.at).slice(11), offset, e.actor, e.action, e.result ?? '', detail]);
  }
  if (entries.length > 0) lines.push(...table(rows));
  return lines.join('\n');
}

export const incidentsList: Command = {
  path: ['incidents', 'list'],
  summary: 'list incidents (newest first) from the incident table, with status, MTTA and MTTR',
  usage: `kafka-heal incidents list [--cluster C] [--status ${INCIDENT_STATUSES.join('|')}] [--json] ${STORE_USAGE}\n${STORE_HELP}\nexit 0; 1 when the table cannot be read; 2 bad input`,
  async run(argv, io) {
    const { values } = parseFlags(argv, {
      ...STORE_FLAGS,
      cluster: { type: 'string' },
      status: { type: 'string' },
      json: { type: 'boolean', default: false },
    });
    const status = statusFlag(values.status);
    if (values.cluster === '') throw new UsageError('--cluster must not be empty');
    return withStore(io, 'incidents list', values, async ({ store }) => {
      const incidents = await store.list({
        ...(values.cluster !== undefined ? { cluster: values.cluster } : {}),
        ...(status ? { status } : {}),
      });
      io.stdout(values.json ? JSON.stringify(incidents, null, 2) : renderList(incidents, new Date()));
      return 0;
    });
  },
};

export const incidentsShow: Command = {
  path: ['incidents', 'show'],
  summary: 'one incident with its whole timeline (who did what, when, with what result)',
  usage: `kafka-heal incidents show <incident-id> [--json] ${STORE_USAGE}\n${STORE_HELP}\nexit 0; 1 when there is no such incident or the table cannot be read; 2 bad input`,
  async run(argv, io) {
    const { values, positionals } = parseFlags(
      argv,
      { ...STORE_FLAGS, json: { type: 'boolean', default: false } },
      true,
    );
    const id = incidentIdArg(positionals);
    return withStore(io, 'incidents show', values, async ({ store }) => {
      const incident = await store.get(id);
      io.stdout(values.json ? JSON.stringify(incident, null, 2) : renderIncident(incident, new Date()));
      return 0;
    });
  },
};

// ------------------------------------------------------------------ acknowledge, resolve, reopen, note

/** The words of each lifecycle command and the action it applies. */
const LIFECYCLE_VERBS: { verb: string; action: LifecycleAction; summary: string }[] = [
  {
    verb: 'ack',
    action: 'acknowledge',
    summary: 'acknowledge an incident (PagerDuty is told; the escalation ladder pages no further level)',
  },
  {
    verb: 'resolve',
    action: 'resolve',
    summary: 'resolve an incident by hand (a run still acting is stopped; PagerDuty is told)',
  },
  { verb: 'reopen', action: 'reopen', summary: 'reopen a resolved incident: escalated, held open for people' },
  { verb: 'note', action: 'note', summary: "add a note to an incident's timeline" },
];

/** One line for the person, and the exit code: 0 done, 1 nothing changed (already so) or no such incident. */
export function describeLifecycle(r: LifecycleCommandResult): { text: string; code: number } {
  const id = r.incidentId;
  const extra = r.notes.length ? `\n${r.notes.map((n) => `  ${n}`).join('\n')}` : '';
  switch (r.outcome) {
    case 'acknowledged':
      return {
        text: `acknowledged ${id}${r.mttaSeconds === undefined ? '' : ` (MTTA ${formatDuration(r.mttaSeconds)})`}${extra}`,
        code: 0,
      };
    case 'already-acknowledged':
      return {
        text: `${id} was already acknowledged by ${r.acknowledgedBy ?? '?'} at ${shortTime(r.acknowledgedAt)}; nothing changed`,
        code: 1,
      };
    case 'closed':
      return {
        text: `${id} is already ${r.status ?? 'closed'}${r.resolvedBy ? ` (by ${r.resolvedBy} at ${shortTime(r.resolvedAt)})` : ''}; nothing to acknowledge`,
        code: 1,
      };
    case 'resolved':
      return { text: `resolved ${id}${extra}`, code: 0 };
    case 'already-closed':
      return {
        text: `${id} is already ${r.status ?? 'closed'}${r.resolvedBy ? ` (by ${r.resolvedBy} at ${shortTime(r.resolvedAt)})` : ''}; nothing changed`,
        code: 1,
      };
    case 'reopened':
      return {
        text: `reopened ${id}: escalated and held open for people (it closes when someone resolves it)${extra}`,
        code: 0,
      };
    case 'not-resolved':
      return { text: `${id} is ${r.status ?? '?'}, not resolved; nothing to reopen`, code: 1 };
    case 'noted':
      return { text: `note added to ${id}`, code: 0 };
    case 'not-found':
      return { text: `no incident ${id}; list them with kafka-heal incidents list`, code: 1 };
  }
}

function urlFlag(value: string | undefined, flag: string): string | undefined {
  if (value === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UsageError(`--${flag} must be a URL like http://127.0.0.1:8080, got "${value}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new UsageError(`--${flag} must be an http(s) URL, got "${value}"`);
  return value;
}

/**
 * Against DynamoDB Local (--endpoint) the action runs here: PagerDuty is told through
 * --pagerduty-url (the local Events v2 receiver), and a run is fenced (there is no Step Functions
 * to stop it locally). Against AWS it runs in the deployment's lifecycle Lambda (--function).
 */
function lifecycleCommand(verb: string, action: LifecycleAction, summary: string): Command {
  return {
    path: ['incidents', verb],
    summary,
    usage: [
      `kafka-heal incidents ${verb} <incident-id> ${action === 'note' ? '--reason TEXT' : '[--reason TEXT]'} [--by NAME] [--function NAME] [--pagerduty-url URL] ${STORE_USAGE}`,
      STORE_HELP,
      'In AWS the action runs in the lifecycle Lambda: --function or $KAFKA_HEAL_LIFECYCLE_FUNCTION (the stack output IncidentLifecycleFunctionName).',
      'With --endpoint it runs here; --pagerduty-url URL tells a local Events v2 receiver (drills).',
      '--by: who (default operator:<your user name>); --reason: why (resolve, reopen) or the note itself.',
      'exit 0 done; 1 nothing changed (already acknowledged, already resolved, not resolved), no such incident, or the table/Lambda cannot be reached; 2 bad input',
    ].join('\n'),
    async run(argv, io) {
      const { values, positionals } = parseFlags(
        argv,
        {
          ...STORE_FLAGS,
          reason: { type: 'string' },
          by: { type: 'string' },
          function: { type: 'string' },
          'pagerduty-url': { type: 'string' },
          json: { type: 'boolean', default: false },
        },
        true,
      );
      const incidentId = incidentIdArg(positionals);
      if (values.reason !== undefined && values.reason.length > 1000)
        throw new UsageError('--reason is limited to 1000 characters');
      if (action === 'note' && (values.reason === undefined || values.reason.trim() === ''))
        throw new UsageError('a note needs --reason TEXT');
      if (values.by !== undefined && !/^[\x20-\x7e]{1,100}$/.test(values.by))
        throw new UsageError('--by must be 1-100 printable characters');
      const pagerDutyUrl = urlFlag(values['pagerduty-url'], 'pagerduty-url');
      const by = values.by ?? `operator:${userInfo().username}`;
      const cmd: LifecycleCommand = {
        incidentId,
        action,
        by,
        ...(values.reason === undefined ? {} : { reason: values.reason }),
      };
      const print = (r: LifecycleCommandResult): number => {
        const { text, code } = describeLifecycle(r);
        if (values.json) io.stdout(JSON.stringify(r, null, 2));
        else (code === 0 ? io.stdout : io.stderr)(code === 0 ? text : `kafka-heal incidents ${verb}: ${text}`);
        return code;
      };
      if (values.endpoint === undefined) {
        const fn = values.function ?? process.env.KAFKA_HEAL_LIFECYCLE_FUNCTION;
        if (fn === undefined || fn === '')
          throw new UsageError(
            'in AWS the action runs in the lifecycle Lambda: give --function NAME or set KAFKA_HEAL_LIFECYCLE_FUNCTION (the stack output IncidentLifecycleFunctionName), or --endpoint for DynamoDB Local',
          );
        if (pagerDutyUrl !== undefined)
          throw new UsageError('--pagerduty-url is for DynamoDB Local (--endpoint); in AWS the Lambda tells PagerDuty');
        const region = values.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION;
        if (region === undefined)
          throw new UsageError('no AWS region: give --region or set AWS_REGION (or --endpoint for DynamoDB Local)');
        const lambda = new LambdaClient({ region });
        try {
          return print(await invokeLifecycle(lambda, fn, cmd));
        } catch (err) {
          io.stderr(
            `kafka-heal incidents ${verb}: ${(err as Error).name}: ${(err as Error).message} (function ${fn}, AWS ${region})`,
          );
          return 1;
        } finally {
          lambda.destroy();
        }
      }
      return withStore(io, `incidents ${verb}`, values, async ({ store }) => {
        const notifyDeps = pagerDutyUrl === undefined ? undefined : localPagerDuty(pagerDutyUrl);
        const handler = makeLifecycleCommandHandler({
          ...store,
          now: () => new Date(),
          ...(notifyDeps ? { notify: (n) => notify(n, notifyDeps) } : {}),
        });
        return print(await handler(cmd));
      });
    },
  };
}

/** Invokes the deployment's lifecycle Lambda; its answer, or the function's error as an Error. */
export async function invokeLifecycle(
  lambda: Pick<LambdaClient, 'send'>,
  functionName: string,
  cmd: LifecycleCommand,
): Promise<LifecycleCommandResult> {
  const out = await lambda.send(
    new InvokeCommand({ FunctionName: functionName, Payload: new TextEncoder().encode(JSON.stringify(cmd)) }),
  );
  const text = out.Payload === undefined ? '' : new TextDecoder().decode(out.Payload);
  if (out.FunctionError !== undefined) {
    let message = text;
    try {
      const e = JSON.parse(text) as { errorType?: string; errorMessage?: string };
      message = `${e.errorType ?? 'Error'}: ${e.errorMessage ?? text}`;
    } catch {
      // Not JSON: show it as it came.
    }
    throw new Error(`the lifecycle Lambda failed (${out.FunctionError}): ${message}`);
  }
  return JSON.parse(text) as LifecycleCommandResult;
}

/** The notification chain with only PagerDuty (a local Events v2 receiver): no SNS or retry queue here. */
function localPagerDuty(url: string): NotifyDeps {
  const none = (what: string) => ({
    send: () => Promise.reject(new Error(`${what} is not available locally (PagerDuty only, through --pagerduty-url)`)),
  });
  return {
    pagerDuty: new PagerDutyClient({
      routingKey: staticRoutingKey('local'.padEnd(32, '0')),
      endpoint: url,
      retry: { maxAttempts: 2, totalBudgetMs: 5_000 },
    }),
    sns: none('SNS') as unknown as NotifyDeps['sns'],
    sqs: none('the notification retry queue') as unknown as NotifyDeps['sqs'],
    snsTopicArns: { critical: 'local', warning: 'local' },
    retryQueueUrl: 'local',
  };
}

export const [incidentsAck, incidentsResolve, incidentsReopen, incidentsNote] = LIFECYCLE_VERBS.map((v) =>
  lifecycleCommand(v.verb, v.action, v.summary),
) as [Command, Command, Command, Command];
