// `kafka-heal incidents list|show`: what the healer opened and did, read from the incident table
// (AWS or DynamoDB Local, see cli/store.ts). Written for someone paged at 3 a.m.: the state and
// the numbers first, then the timeline in time order with offsets from detection.
import { formatDuration, formatOffset } from '../../functions/shared/report-text.js';
import { ACTIVE_STATUSES, CLOSED_STATUSES, type IncidentRecord, type IncidentWithTimeline } from '../../functions/shared/incident-store.js';
import type { IncidentStatus } from '../../functions/domain/types.js';
import { parseFlags, UsageError, type Command } from '../args.js';
import { STORE_FLAGS, STORE_HELP, STORE_USAGE, withStore } from '../store.js';
import { table } from '../table.js';

export const INCIDENT_STATUSES: readonly IncidentStatus[] = [...ACTIVE_STATUSES, ...CLOSED_STATUSES];

function statusFlag(value: string | undefined): IncidentStatus | undefined {
  if (value === undefined) return undefined;
  if (!(INCIDENT_STATUSES as readonly string[]).includes(value)) throw new UsageError(`--status must be one of ${INCIDENT_STATUSES.join(', ')}, got "${value}"`);
  return value as IncidentStatus;
}

/** One positional incident id, as the commands that act on one incident take it. */
export function incidentIdArg(positionals: string[]): string {
  if (positionals.length !== 1) throw new UsageError(`expected exactly one incident id, got ${positionals.length === 0 ? 'none' : positionals.join(' ')}`);
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
  const rows = [['ID', 'CLUSTER', 'TYPE', 'SEVERITY', 'STATUS', 'OPENED (UTC)', 'BROKERS', 'DURATION']];
  for (const i of incidents) {
    rows.push([i.id, i.cluster, i.type, i.severity, i.status, shortTime(i.openedAt), i.brokers.map((b) => b.id).join(',') || '-', ageOrMttr(i, now)]);
  }
  const active = incidents.filter((i) => ACTIVE_STATUSES.includes(i.status)).length;
  return [...table(rows), `${incidents.length} incident${incidents.length === 1 ? '' : 's'}, ${active} active`].join('\n');
}

export function renderIncident(i: IncidentWithTimeline, now: Date): string {
  const lines: string[] = [];
  lines.push(`incident ${i.id}`);
  lines.push(`  ${i.severity}  ${i.type}  on cluster ${i.cluster}  -- ${i.status.toUpperCase()}`);
  if (i.brokers.length > 0) lines.push(`  brokers: ${i.brokers.map((b) => `${b.id} (first seen ${shortTime(b.firstSeenAt)})`).join(', ')}`);
  lines.push(`  detected ${shortTime(i.detectedAt)}   opened ${shortTime(i.openedAt)}   acknowledged ${shortTime(i.acknowledgedAt)}   resolved ${shortTime(i.resolvedAt)}`);
  const mttd = i.mttdSeconds !== undefined ? formatDuration(i.mttdSeconds) : 'n/a';
  const mttr = i.mttrSeconds !== undefined ? formatDuration(i.mttrSeconds) : `n/a (${ageOrMttr(i, now)})`;
  lines.push(`  MTTD ${mttd}   MTTR ${mttr}   signals ${i.signalCount}   last signal ${shortTime(i.lastSignalAt)}`);
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
  summary: 'list incidents (newest first) from the incident table, with status and MTTR',
  usage: `kafka-heal incidents list [--cluster C] [--status ${INCIDENT_STATUSES.join('|')}] [--json] ${STORE_USAGE}\n${STORE_HELP}\nexit 0; 1 when the table cannot be read; 2 bad input`,
  async run(argv, io) {
    const { values } = parseFlags(argv, { ...STORE_FLAGS, cluster: { type: 'string' }, status: { type: 'string' }, json: { type: 'boolean', default: false } });
    const status = statusFlag(values.status);
    if (values.cluster === '') throw new UsageError('--cluster must not be empty');
    return withStore(io, 'incidents list', values, async ({ store }) => {
      const incidents = await store.list({ ...(values.cluster !== undefined ? { cluster: values.cluster } : {}), ...(status ? { status } : {}) });
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
    const { values, positionals } = parseFlags(argv, { ...STORE_FLAGS, json: { type: 'boolean', default: false } }, true);
    const id = incidentIdArg(positionals);
    return withStore(io, 'incidents show', values, async ({ store }) => {
      const incident = await store.get(id);
      io.stdout(values.json ? JSON.stringify(incident, null, 2) : renderIncident(incident, new Date()));
      return 0;
    });
  },
};
