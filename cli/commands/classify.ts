// `kafka-heal classify --event <file.json> [--config <clusters file>] [--now <ISO time>]`:
// runs one raw event (any supported source) through the same pure core the Lambdas use
// (normalize -> classify) and prints what the healer would decide. No AWS calls, no incidents:
// every signal is classified as if nothing else were open.
import { readFileSync } from 'node:fs';
import { parseFlags, requireFlag, UsageError, type Command } from '../args.js';
import {
  ConfigError,
  alertRouting,
  clusterFacts,
  formatIssue,
  loadConfigFile,
  type HealerConfig,
} from '#infra/config/schema.js';
import { classify } from '#domain/classify.js';
import { MalformedEventError, PolicyError, UnknownSourceError } from '#domain/errors.js';
import { normalize } from '#domain/normalize/index.js';
import { DEFAULT_POLICY, parsePolicy } from '#domain/policy.js';
import { isMoreSevere } from '#domain/severity.js';
import type { ClusterFacts, Decision, RuntimePolicy, Signal } from '#domain/types.js';

const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:\d{2})$/;

/** Facts used without --config; the CLI says so in `notes`. */
export const INFERRED_BROKER_COUNT = 3;

export interface ClassifyOutput {
  signals: Signal[];
  /** The decision for the most severe firing signal (the first one on ties). */
  decision: Decision;
  /** One decision per signal, in the order of `signals`. */
  decisions: (Decision & { signalId: string })[];
  notes: string[];
}

export const classifyCommand: Command = {
  path: ['classify'],
  summary: 'normalize and classify one raw event (no AWS calls); prints signals and the decision as JSON',
  usage: 'kafka-heal classify --event <file.json> [--config <clusters file>] [--now <ISO time>]',
  async run(argv, io) {
    const { values } = parseFlags(argv, {
      event: { type: 'string' },
      config: { type: 'string' },
      now: { type: 'string' },
    });
    const eventFile = requireFlag(values.event, 'event');
    const now = parseNow(values.now);
    const raw = readEvent(eventFile);
    const config = values.config === undefined ? undefined : readConfig(values.config);
    io.stdout(JSON.stringify(classifyEvent(raw, { config, now, source: eventFile }), null, 2));
    return 0;
  },
};

export function classifyEvent(
  raw: unknown,
  opts: { config: HealerConfig | undefined; now: Date; source: string },
): ClassifyOutput {
  const notes: string[] = [];
  const facts = opts.config ? clusterFacts(opts.config) : [];
  let result;
  try {
    result = normalize(raw, {
      clusters: facts,
      receivedAt: opts.now.toISOString(),
      ...(opts.config ? { routing: alertRouting(opts.config) } : {}),
    });
  } catch (err) {
    if (err instanceof MalformedEventError || err instanceof UnknownSourceError)
      throw new UsageError(`${opts.source}: ${err.message}`);
    throw err;
  }
  if (result.outcome === 'ignored') {
    const decision: Decision = {
      action: 'ignore',
      incidentType: 'unknown',
      severity: 'SEV-4',
      reasons: [result.reason],
    };
    return { signals: [], decision, decisions: [], notes };
  }
  if (!opts.config) {
    notes.push(
      `No --config: each cluster is assumed to be as the signal suggests (MSK for AWS/Kafka metrics, else EC2; KRaft; ${INFERRED_BROKER_COUNT} brokers; no DR) with the default policy (mode ${DEFAULT_POLICY.mode}).`,
    );
  }
  const decisions = result.signals.map((signal) => {
    const cluster = opts.config ? facts.find((c) => c.name === signal.cluster) : inferFacts(signal);
    const policy = cluster ? policyFor(opts.config, cluster.name) : DEFAULT_POLICY;
    const decision = classify({ signal, cluster, openIncidents: [], recentHeals: [], policy, now: opts.now });
    return { signalId: signal.id, ...decision };
  });
  return { signals: result.signals, decision: primary(result.signals, decisions), decisions, notes };
}

function primary(signals: Signal[], decisions: (Decision & { signalId: string })[]): Decision {
  let best: Decision | undefined;
  signals.forEach((s, i) => {
    const d = decisions[i] as Decision & { signalId: string };
    if (s.state === 'firing' && (best === undefined || isMoreSevere(d.severity, best.severity))) best = d;
  });
  const { signalId: _id, ...decision } = (best ?? decisions[0]) as Decision & { signalId: string };
  return decision as Decision;
}

function inferFacts(signal: Signal): ClusterFacts | undefined {
  if (signal.cluster === '') return undefined;
  return {
    name: signal.cluster,
    aliases: [],
    platform: signal.labels.namespace === 'AWS/Kafka' ? 'msk' : 'ec2',
    metadataMode: 'kraft',
    brokerCount: INFERRED_BROKER_COUNT,
    hasDr: false,
    automaticFailover: false,
  };
}

function policyFor(config: HealerConfig | undefined, cluster: string): RuntimePolicy {
  const c = config?.clusters.find((x) => x.name === cluster);
  if (!c) return DEFAULT_POLICY;
  try {
    return parsePolicy(c.policy);
  } catch (err) {
    if (err instanceof PolicyError) throw new UsageError(`--config: cluster ${cluster}: ${err.message}`);
    throw err;
  }
}

function parseNow(value: string | undefined): Date {
  if (value === undefined) return new Date();
  const t = Date.parse(value);
  if (!ISO_TIME.test(value) || Number.isNaN(t))
    throw new UsageError(`--now must be an ISO 8601 time like 2026-11-22T02:00:00Z, got "${value}"`);
  return new Date(t);
}

function readEvent(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new UsageError(
      `cannot read --event ${file}: ${code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : (err as Error).message}`,
    );
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new UsageError(`${file}: not valid JSON (${(err as Error).message})`);
  }
}

function readConfig(file: string): HealerConfig {
  try {
    return loadConfigFile(file);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    const first = err.issues[0];
    const more =
      err.issues.length > 1 ? ` (and ${err.issues.length - 1} more; run kafka-heal config validate ${file})` : '';
    throw new UsageError(
      `--config ${file}: invalid configuration: ${first ? formatIssue(first) : 'unknown problem'}${more}`,
    );
  }
}
