// Probe Lambda: scheduled every minute per cluster ({ cluster }), and invoked by workflows to
// confirm an alarm or verify a repair ({ cluster, rounds: 1 }). Glue only: look up the cluster,
// run the probe library, publish EMF metrics, return the last snapshot.
//
// Sub-minute probing: PROBE_ROUNDS (default 1) probes per invocation, PROBE_INTERVAL_SECONDS
// (default 15) apart. The alarms use 1-minute periods with Minimum/Maximum statistics, so extra
// rounds let a short outage inside a minute show up in that minute's datapoint and cut the time
// from fault to datapoint from up to 60 s to up to 15 s; the cost is a Lambda that runs ~50 s of
// every minute instead of ~1-2 s (about 30x the compute, a few dollars per cluster per month at
// 128 MB) and a schedule that must not overlap itself. One round is the default; set 4 for
// clusters where 45 s of faster detection is worth that.
//
// Fast detection (fast-detect.ts; scheduled runs only, never a workflow's `rounds`): a round that
// finds a broker unreachable looks again after PROBE_RECHECK_SECONDS (default 10, 0 = off) and puts
// the brokers down both times on the ingest queue (INGEST_QUEUE_URL) as a probe result, so an
// incident opens about a minute after a crash instead of after the broker-down alarm's two
// one-minute datapoints. The metrics and alarms are unchanged; a failed send is logged and counted
// (FastDetectionSendFailures) and never fails the run.
import type { Context } from 'aws-lambda';
import * as z from 'zod';
import type { ClusterSnapshot } from '../domain/snapshot.js';
import { readBundledFile } from '../shared/bundled-file.js';
import { withHouseMiddleware } from '../shared/middy.js';
import { MetricUnit, logger, metrics } from '../shared/powertools.js';
// The probe library: from the stack's probe layer in Lambda (infra/constructs/probe-layer.ts),
// the source (functions/shared/probe) in the repository (tsconfig.json paths, vitest alias).
import { describeProblems, probeCluster, type ProbeOptions } from '@kafka-heal/probe';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { ProbeResultEvent } from '../domain/normalize/probe.js';
import {
  ProbeConfigError,
  UnknownClusterError,
  parseClustersJson,
  type ProbeClusterConfig,
} from '../contracts/clusters-file.js';
import { clusterSecurity, probeOptionsFor } from '../shared/cluster-access.js';
import type { SecurityLoader } from '../shared/kafka-security.js';
import { observeZookeeper, type ZkEnsembleReport } from '../shared/zookeeper.js';
import { parseMetricSeries, probeMetricDocuments, publish, selectSeries, type MetricDocument } from './metrics.js';
import {
  MAX_RECHECK_SECONDS,
  ReportedFaults,
  SEND_BUDGET_MS,
  brokerDown,
  probeResult,
  unreachableBrokers,
} from './fast-detect.js';

export const ProbeEventSchema = z.object({
  cluster: z.string().min(1),
  rounds: z.number().int().min(1).max(6).optional(),
});
export type ProbeEvent = z.infer<typeof ProbeEventSchema>;

export interface ProbeDeps {
  clusters: () => ProbeClusterConfig[];
  /** The cluster's security settings loader (secrets read at run time), undefined for plaintext. */
  security?: (c: ProbeClusterConfig) => SecurityLoader | undefined;
  probe: (opts: ProbeOptions) => Promise<ClusterSnapshot>;
  /** Asks a ZooKeeper ensemble (srvr, mntr); run beside the Kafka probe when the cluster lists its servers. */
  zookeeper?: (servers: string[]) => Promise<ZkEnsembleReport>;
  publish: (docs: MetricDocument[]) => void;
  sleep: (ms: number) => Promise<void>;
  now: () => number;
  rounds: number;
  intervalMs: number;
  timeoutMs: number;
  /** Fast detection: the pause (ms) before a second look at brokers found unreachable; 0 or absent: off. */
  recheckMs?: number;
  /** Puts a probe result on the ingest queue (fast detection); absent: off. */
  sendResult?: (event: ProbeResultEvent) => Promise<void>;
}

/** What fast detection did in one invocation (scheduled runs with it on). */
export interface FastDetectionOutcome {
  /** Brokers found unreachable, not yet reported, and looked at again. */
  rechecked: number[];
  /** Of those, the ones still down on the second look: sent firing. */
  confirmed: number[];
  /** Findings sent resolved (their brokers answer again). */
  resolved: number[][];
  /** Sends that failed (logged and counted; the next run tries again). */
  failed: number;
  /** Why a second look was not taken, if it was needed. */
  skipped?: string;
}

export interface ProbeResult {
  cluster: string;
  rounds: number;
  status: ClusterSnapshot['status'];
  problems: string[];
  snapshot: ClusterSnapshot;
  /** The ZooKeeper ensemble as it answered in the last round (clusters that list their servers). */
  zookeeper?: ZkEnsembleReport;
  /** Fast detection's outcome, when a broker was down or a reported one came back. */
  fastDetection?: FastDetectionOutcome;
}

/** Broker ids seen per cluster in this Lambda container, so a dead cluster still reports them as 0. */
const seenBrokers = new Map<string, Set<number>>();

export function makeProbeHandler(deps: ProbeDeps) {
  // What this container reported down and has not yet reported back (fast detection).
  const reported = new ReportedFaults();
  return async (event: ProbeEvent, context?: Pick<Context, 'getRemainingTimeInMillis'>): Promise<ProbeResult> => {
    const config = deps.clusters().find((c) => c.name === event.cluster);
    if (!config) throw new UnknownClusterError(`cluster "${event.cluster}" is not in CLUSTERS_FILE`);
    const rounds = event.rounds ?? deps.rounds;
    const loader = deps.security?.(config);
    const opts = probeOptionsFor(config, deps.timeoutMs);
    if (loader) opts.security = loader.load;
    const seen = seenBrokers.get(config.name) ?? new Set(config.brokerIds ?? []);
    seenBrokers.set(config.name, seen);
    let last: ClusterSnapshot | undefined;
    let ensemble: ZkEnsembleReport | undefined;
    let done = 0;
    let fast: FastDetectionOutcome | undefined;
    // Workflow confirm/verify probes ask for their rounds: they never send (fast-detect.ts).
    const detecting = event.rounds === undefined && deps.sendResult !== undefined && (deps.recheckMs ?? 0) > 0;
    const start = deps.now();
    for (let i = 0; i < rounds; i++) {
      if (i > 0) {
        // Keep to the schedule's slots, and never start a round that could outlive the invocation.
        const wait = start + i * deps.intervalMs - deps.now();
        const left = context ? context.getRemainingTimeInMillis() : Number.POSITIVE_INFINITY;
        if (left < Math.max(0, wait) + deps.timeoutMs + 1000) break;
        if (wait > 0) await deps.sleep(wait);
      }
      const zk = config.zookeeper && deps.zookeeper ? deps.zookeeper(config.zookeeper) : undefined;
      last = await deps.probe(opts);
      ensemble = await zk;
      done++;
      // Refused: read the secrets again next round (a rotation may have happened meanwhile).
      if (last.security?.refused.length) loader?.forget();
      for (const b of last.brokers) seen.add(b.id);
      deps.publish(probeMetricDocuments(config.name, last, [...seen], ensemble));
      const problems = describeProblems(last);
      logger.info('probe', {
        cluster: config.name,
        round: i + 1,
        status: last.status,
        durationMs: last.durationMs,
        problems,
        errors: last.errors,
        ...(last.quorum ? { quorum: last.quorum.note } : {}),
        ...(ensemble ? { zookeeper: ensemble.summary } : {}),
      });
      if (detecting) fast = merge(fast, await fastDetect(deps, opts, config.name, last, seen, reported, context));
    }
    const snapshot = last as ClusterSnapshot;
    return {
      cluster: config.name,
      rounds: done,
      status: snapshot.status,
      problems: describeProblems(snapshot),
      snapshot,
      ...(ensemble ? { zookeeper: ensemble } : {}),
      ...(fast ? { fastDetection: fast } : {}),
    };
  };
}

function merge(
  a: FastDetectionOutcome | undefined,
  b: FastDetectionOutcome | undefined,
): FastDetectionOutcome | undefined {
  if (!a || !b) return a ?? b;
  const skipped = b.skipped ?? a.skipped;
  return {
    rechecked: [...a.rechecked, ...b.rechecked],
    confirmed: [...a.confirmed, ...b.confirmed],
    resolved: [...a.resolved, ...b.resolved],
    failed: a.failed + b.failed,
    ...(skipped ? { skipped } : {}),
  };
}

/**
 * After a scheduled round: resolve the findings whose brokers answer again, and look a second time at
 * brokers newly found unreachable; those still down are sent as one broker-down finding. Undefined
 * when there was nothing to do (every broker answers and nothing is open: the idle case).
 */
async function fastDetect(
  deps: ProbeDeps,
  opts: ProbeOptions,
  cluster: string,
  first: ClusterSnapshot,
  seen: Set<number>,
  reported: ReportedFaults,
  context: Pick<Context, 'getRemainingTimeInMillis'> | undefined,
): Promise<FastDetectionOutcome | undefined> {
  const send = deps.sendResult as (event: ProbeResultEvent) => Promise<void>;
  const out: FastDetectionOutcome = { rechecked: [], confirmed: [], resolved: [], failed: 0 };
  const deliver = async (event: ProbeResultEvent): Promise<boolean> => {
    try {
      await send(event);
      return true;
    } catch (err) {
      out.failed++;
      // Counted and logged; the metrics of the round are already published and the alarm path stands.
      metrics.addMetric('FastDetectionSendFailures', MetricUnit.Count, 1);
      logger.error('fast detection: the probe result could not be queued; the broker-down alarm still applies', {
        cluster,
        findings: event.findings,
        error: err as Error,
      });
      return false;
    }
  };
  for (const ids of reported.recovered(cluster, first)) {
    if (await deliver(probeResult(cluster, first.takenAt, [brokerDown(ids, 'resolved')]))) {
      reported.remove(cluster, ids);
      out.resolved.push(ids);
    }
  }
  const open = reported.brokers(cluster);
  const fresh = unreachableBrokers(first, seen).filter((id) => !open.has(id));
  if (fresh.length === 0) return out.resolved.length + out.failed > 0 ? out : undefined;
  const recheckMs = deps.recheckMs as number;
  const left = context ? context.getRemainingTimeInMillis() : Number.POSITIVE_INFINITY;
  if (left < recheckMs + deps.timeoutMs + SEND_BUDGET_MS) {
    out.skipped = `brokers ${fresh.join(',')} unreachable, but ${left} ms left is too little for a second look after ${recheckMs} ms (the alarm path still applies)`;
    logger.warn('fast detection: no second look', { cluster, reason: out.skipped });
    return out;
  }
  out.rechecked = fresh;
  await deps.sleep(recheckMs);
  const second = await deps.probe(opts);
  for (const b of second.brokers) seen.add(b.id);
  const stillDown = new Set(unreachableBrokers(second, seen));
  out.confirmed = fresh.filter((id) => stillDown.has(id));
  logger.info('fast detection: second look', {
    cluster,
    pauseMs: recheckMs,
    rechecked: fresh,
    confirmed: out.confirmed,
    status: second.status,
  });
  if (out.confirmed.length === 0) return out;
  // Observed when the first look saw them down; confirmed by the second.
  if (await deliver(probeResult(cluster, first.takenAt, [brokerDown(out.confirmed, 'firing')])))
    reported.add(cluster, out.confirmed);
  return out;
}

function envInt(name: string, fallback: number): number {
  const v = Number(process.env[name]);
  return Number.isInteger(v) && v > 0 ? v : fallback;
}

let clustersCache: ProbeClusterConfig[] | undefined;

/** The series kinds the deployment's alarms (and dashboard, when on) read; every other one would be a custom metric nobody reads. */
const publishedSeries = parseMetricSeries(process.env.PROBE_METRIC_SERIES);

/** Fast detection's pause, PROBE_RECHECK_SECONDS (0-30, default 10; 0 turns it off). */
export function recheckSeconds(text: string | undefined): number {
  if (text === undefined || text === '') return 10;
  const v = Number(text);
  if (!Number.isInteger(v) || v < 0 || v > MAX_RECHECK_SECONDS)
    throw new ProbeConfigError(
      `PROBE_RECHECK_SECONDS must be a whole number of seconds from 0 to ${MAX_RECHECK_SECONDS}, got ${JSON.stringify(text)}`,
    );
  return v;
}

/** Sends probe results to the ingest queue, bounded well inside the probe's invocation. */
export function ingestQueueSender(
  sqs: Pick<SQSClient, 'send'>,
  queueUrl: string,
  timeoutMs = SEND_BUDGET_MS - 1000,
): (event: ProbeResultEvent) => Promise<void> {
  return async (event) => {
    await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: JSON.stringify(event) }), {
      abortSignal: AbortSignal.timeout(timeoutMs),
    });
  };
}

const ingestQueueUrl = process.env.INGEST_QUEUE_URL;

export const probeHandler = makeProbeHandler({
  clusters: () => (clustersCache ??= parseClustersJson(readBundledFile('CLUSTERS_FILE'))),
  security: clusterSecurity,
  probe: probeCluster,
  zookeeper: (servers) => observeZookeeper(servers, { timeoutMs: Math.min(2000, envInt('PROBE_TIMEOUT_MS', 5000)) }),
  publish: (docs) => publish(publishedSeries ? selectSeries(docs, publishedSeries) : docs),
  sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
  now: Date.now,
  rounds: envInt('PROBE_ROUNDS', 1),
  intervalMs: envInt('PROBE_INTERVAL_SECONDS', 15) * 1000,
  timeoutMs: envInt('PROBE_TIMEOUT_MS', 5000),
  recheckMs: recheckSeconds(process.env.PROBE_RECHECK_SECONDS) * 1000,
  // No queue URL (the local runtime wires its own, older stacks): fast detection is off.
  ...(ingestQueueUrl ? { sendResult: ingestQueueSender(new SQSClient({ maxAttempts: 2 }), ingestQueueUrl) } : {}),
});

export const handler = withHouseMiddleware<ProbeEvent, ProbeResult>((event, context) => probeHandler(event, context), {
  schema: ProbeEventSchema,
});
