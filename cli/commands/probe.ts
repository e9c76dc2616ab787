// `kafka-heal probe`: one bounded-time health snapshot of any reachable Kafka cluster, as the
// probe Lambda and the workflows' verify steps see it.
// Exit codes: 0 the cluster is healthy; 1 it is not (degraded, down, or unknown because part of
// the probe failed: only a fully answered, clean probe counts as healthy); 2 bad input.
import type { ClusterSnapshot } from '#domain/snapshot.js';
import {
  BootstrapFormatError,
  describeProblems,
  parseHostPort,
  probeCluster,
  type ProbeOptions,
} from '#shared/probe/index.js';
import { UsageError, intFlag, parseFlags, requireFlag, type Command, type CommandIO } from '../args.js';
import { table } from '../table.js';

const MAX_DETAILS = 20;

export function renderSnapshot(s: ClusterSnapshot): string {
  const lines: string[] = [];
  lines.push(
    `status: ${s.status}  (probe ${s.durationMs} ms at ${s.takenAt}${s.metadataMode ? `, ${s.metadataMode} mode` : ''})`,
  );
  lines.push(`controller: ${s.controller.known ? `broker ${s.controller.id}` : 'unknown'}  (${s.controller.note})`);
  const expected = s.expectedBrokers !== undefined ? ` of ${s.expectedBrokers} expected` : '';
  lines.push(`brokers: ${s.registeredBrokers.length} registered${expected}`);
  if (s.brokers.length > 0) {
    const rows = [['ID', 'ADDRESS', 'REGISTERED', 'REACHABLE', 'LATENCY', 'LEADS', 'REPLICAS', 'URP', 'OFFLINE']];
    for (const b of s.brokers) {
      const c = s.perBroker[b.id];
      rows.push([
        String(b.id),
        b.host ? `${b.host}:${b.port}` : '-',
        b.registered ? 'yes' : 'no',
        b.reachable ? 'yes' : 'no',
        b.latencyMs !== undefined ? `${b.latencyMs} ms` : '-',
        String(c?.leaderFor ?? 0),
        String(c?.replicaFor ?? 0),
        String(c?.underReplicated ?? 0),
        String(c?.offline ?? 0),
      ]);
    }
    lines.push(...table(rows));
  }
  const p = s.partitions;
  lines.push(
    `partitions: ${p.total} total, ${p.offline} offline, ${p.underReplicated} under-replicated, ${p.underMinIsr} under min ISR`,
  );
  if (p.details.length > 0) {
    const rows = [['TOPIC', 'PARTITION', 'LEADER', 'REPLICAS', 'ISR', 'MIN-ISR']];
    for (const d of p.details.slice(0, MAX_DETAILS)) {
      rows.push([
        d.topic,
        String(d.partition),
        d.leader < 0 ? 'none' : String(d.leader),
        d.replicas.join(','),
        d.isr.join(',') || '-',
        String(d.minIsr),
      ]);
    }
    lines.push(...table(rows));
    if (p.details.length > MAX_DETAILS) lines.push(`  ... ${p.details.length - MAX_DETAILS} more (use --json)`);
  }
  for (const g of s.consumerGroups) {
    const members = g.members !== undefined ? `, ${g.members} member(s)` : '';
    lines.push(
      `group ${g.group}: ${g.error ? `error: ${g.error}` : `total lag ${g.totalLag}`}${g.state ? ` (${g.state}${members})` : ''}`,
    );
    if (g.partitions.length > 0) {
      const rows = [['TOPIC', 'PARTITION', 'COMMITTED', 'END', 'LAG']];
      for (const x of g.partitions.slice(0, MAX_DETAILS))
        rows.push([
          x.topic,
          String(x.partition),
          x.committedOffset === null ? '-' : String(x.committedOffset),
          String(x.endOffset),
          String(x.lag),
        ]);
      lines.push(...table(rows));
    }
  }
  const problems = describeProblems(s);
  if (problems.length > 0) lines.push('problems:', ...problems.map((x) => `  - ${x}`));
  if (s.errors.length > 0) lines.push('errors:', ...s.errors.map((x) => `  - ${x}`));
  return lines.join('\n');
}

export const probeCommand: Command = {
  path: ['probe'],
  summary: 'One bounded-time health snapshot of a Kafka cluster (brokers, partitions, lag)',
  usage:
    'kafka-heal probe --bootstrap <host:port,...> [--expect-brokers N] [--group G ...] [--timeout-ms N] [--json]\n' +
    'exit 0 healthy; 1 degraded, down or unknown; 2 bad input',
  async run(argv: string[], io: CommandIO): Promise<number> {
    const { values } = parseFlags(argv, {
      bootstrap: { type: 'string' },
      'expect-brokers': { type: 'string' },
      group: { type: 'string', multiple: true },
      'timeout-ms': { type: 'string' },
      json: { type: 'boolean', default: false },
    });
    const servers = requireFlag(values.bootstrap, 'bootstrap')
      .split(',')
      .map((x) => x.trim())
      .filter((x) => x !== '');
    if (servers.length === 0) throw new UsageError('--bootstrap needs at least one host:port');
    for (const s of servers) {
      try {
        parseHostPort(s);
      } catch (err) {
        if (err instanceof BootstrapFormatError) throw new UsageError(err.message);
        throw err;
      }
    }
    const opts: ProbeOptions = {
      bootstrapServers: servers,
      timeoutMs: intFlag(values['timeout-ms'], 'timeout-ms', 100, 120_000) ?? 5000,
    };
    const expected = intFlag(values['expect-brokers'], 'expect-brokers', 1, 1000);
    if (expected !== undefined) opts.expectedBrokers = expected;
    const groups = (values.group ?? []).filter((g) => g !== '');
    if (groups.length > 0) opts.consumerGroups = groups;
    const snapshot = await probeCluster(opts);
    io.stdout(values.json ? JSON.stringify(snapshot, null, 2) : renderSnapshot(snapshot));
    return snapshot.status === 'healthy' ? 0 : 1;
  },
};
