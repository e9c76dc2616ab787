// Detection time at AWS's own time scale: a broker crash on a real local 3-broker KRaft cluster,
// watched by the healer as `cdk deploy` creates it (local/drill/healer.ts): the probe handler the
// Lambda runs, every 60 s, with fast detection on (functions/probe/fast-detect.ts, the default
// 10 s second look), its findings through the ingest queue double into the REAL ingest and classify
// handlers on DynamoDB Local; beside it the deployed alarm specs (infra/constructs/alarm-specs.ts)
// evaluated over the same probe's metrics at real one-minute periods (local/drill/alarm-evaluator.ts,
// no shortened period). Runtime policy mode `off`: the incident is escalated and the broker stays
// down, so the broker-down alarm fires too and its signal lands on the same incident.
// Per run, MTTD per path:
//   direct  fault -> the probe's finding queued, and -> the incident opened (its record's openedAt)
//   alarm   fault -> the broker-down alarm's contributor in ALARM, and -> its signal on the incident
// Runs: `worst` crashes the broker just after a probe round (the fault waits a whole probe period to
// be seen); `random` at a random point of the probe period. Each run gets a fresh healer (table,
// evaluator, probe), warmed up for two probe periods first so the alarm has its history.
// Then the idle cost with fast detection on and off, from the cost model (bench/cost.ts).
//   npm run bench -- detect [worst|random ...]     (default: worst random; about 6 minutes a run)
import { App } from 'aws-cdk-lib';
import { Kafka, logLevel } from 'kafkajs';
import { addHealerStacks, DEFAULT_CONFIG_FILES, loadConfigs } from '../infra/app-builder.js';
import type { HealerConfig } from '../infra/config/schema.js';
import { idleCost, PRICES } from './cost.js';
import { BenchFailure, verdict } from './stats.js';

/** The target: worst-case fault -> incident opened in AWS (issue "Detection", fast detection). */
export const MAX_WORST_MTTD_SECONDS = 75;
/** The deployed probe schedule: every minute. */
export const PROBE_PERIOD_SECONDS = 60;
/** The deployed default second-look pause (clusters[].probe.recheckSeconds). */
export const RECHECK_SECONDS = 10;
const CLUSTER = 'bench-detect';
const BROKER = 2;
/** Give up on a path this long after the fault (the alarm path needs about 3-4 minutes). */
const PATH_TIMEOUT_MS = 330_000;

export type Phase = 'worst' | 'random';

export interface DetectRun {
  phase: Phase;
  /** Seconds from the last probe round's end to the crash. */
  afterProbeSeconds: number;
  /** fault -> finding queued, fault -> incident opened (direct path). */
  directQueued: number | null;
  directOpened: number | null;
  /** fault -> broker-down contributor ALARM, fault -> its signal on the incident (alarm path). */
  alarmFired: number | null;
  alarmJoined: number | null;
  incidents: number;
  incidentType: string | null;
  /** The source of the signal that opened the incident (probe: the direct path won). */
  openedBy: string;
}

type Resource = { Type: string; Properties?: Record<string, unknown> };

/** Idle cost per stack of the example configs, fast detection on (as configured) and off (recheckSeconds 0). */
export function idleCostDelta(probeMs = 300): { stack: string; on: number; off: number }[] {
  const synth = (configs: HealerConfig[]) => {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const stacks = addHealerStacks(app, configs, { nag: false });
    const assembly = app.synth();
    return new Map(
      stacks.map((s) => [
        s.stackName,
        idleCost(
          s.stackName,
          (assembly.getStackByName(s.stackName).template as { Resources: Record<string, Resource> }).Resources,
          s.config,
          probeMs,
        ).total,
      ]),
    );
  };
  const configs = loadConfigs(DEFAULT_CONFIG_FILES);
  const on = synth(configs);
  const off = synth(
    configs.map((c) => ({
      ...c,
      clusters: c.clusters.map((cl) => ({ ...cl, probe: { ...cl.probe, recheckSeconds: 0 } })),
    })),
  );
  return [...on].map(([stack, usd]) => ({ stack, on: usd, off: off.get(stack) ?? NaN }));
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const secs = (ms: number | null) => (ms === null ? null : Math.round(ms / 100) / 10);
const show = (s: number | null) => (s === null ? 'n/a' : `${s.toFixed(1)} s`);

export async function run(args: string[]): Promise<string> {
  const phases = (args.length ? args : ['worst', 'random']).map((a) => {
    if (a !== 'worst' && a !== 'random') throw new Error(`unknown phase "${a}": expected worst or random`);
    return a;
  });
  // The handlers log every step; the bench prints its own lines (set before their loggers exist).
  process.env.POWERTOOLS_LOG_LEVEL ??= 'SILENT';
  process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
  const { startLocalHealer } = await import('../local/drill/healer.js');
  const { startDynamoDbLocal } = await import('../local/dynamodb-local.js');
  const { warmIncidentStore } = await import('../local/drill/warm-up.js');
  const { startCluster } = await import('../local/kafka/cluster.js');
  const t0 = Date.now();
  const progress = (line: string) => console.log(`[${((Date.now() - t0) / 1000).toFixed(0).padStart(4)} s] ${line}`);

  progress('starting DynamoDB Local and a 3-broker KRaft cluster (jars from Maven Central on first use)');
  const dynamo = await startDynamoDbLocal();
  const cluster = await startCluster({
    name: CLUSTER,
    brokers: 3,
    mode: 'kraft',
    diskLimitMb: 0,
    log: () => undefined,
  }).catch(async (err: unknown) => {
    await dynamo.stop();
    throw err;
  });
  const runs: DetectRun[] = [];
  try {
    progress(
      `incident store warmed up in ${await warmIncidentStore(dynamo.client())} ms; cluster ${cluster.bootstrapServers}`,
    );
    const kafka = new Kafka({
      clientId: 'bench-detect',
      brokers: cluster.bootstrapServers.split(','),
      logLevel: logLevel.NOTHING,
    });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({
      waitForLeaders: true,
      topics: [{ topic: 'bench-detect', numPartitions: 6, replicationFactor: 3 }],
    });
    await admin.disconnect();
    await cluster.waitHealthy(120_000);

    for (const phase of phases) {
      const events: { at: number; source: string; event: string; detail?: string }[] = [];
      const healer = await startLocalHealer({
        cluster,
        dynamo,
        policy: { mode: 'off' },
        alarmPeriodSeconds: 60,
        sustainedWindowSeconds: 600,
        probeIntervalMs: PROBE_PERIOD_SECONDS * 1000,
        consumerGroup: { name: 'bench-detect-readers', topic: 'bench-detect', maxOffsetLag: 1_000_000 },
        approvals: { decide: () => Promise.resolve('never') },
        onEvent: (e) => events.push(e),
        recheckSeconds: RECHECK_SECONDS,
      });
      try {
        healer.startMonitoring();
        progress(
          `${phase}: monitoring (probe every ${PROBE_PERIOD_SECONDS} s, second look after ${RECHECK_SECONDS} s, ${healer.evaluator.specs.length} alarms at 60 s periods); two probe periods of history before the fault`,
        );
        // Two full periods, then the end of the next probe round: the alarm has its history.
        while (healer.probeLog.length < 3) await sleep(250);
        if (healer.probeLog.some((p) => p.status !== 'healthy'))
          throw new BenchFailure(
            `the cluster is not healthy before the fault: ${JSON.stringify(healer.probeLog.at(-1))}`,
          );
        const lastProbe = (healer.probeLog.at(-1) as { at: number }).at;
        if (phase === 'random') {
          const wait = Math.random() * PROBE_PERIOD_SECONDS * 1000;
          progress(`random: crashing broker ${BROKER} ${(wait / 1000).toFixed(1)} s after the last probe round`);
          await sleep(Math.max(0, lastProbe + wait - Date.now()));
        }
        const faultAt = Date.now();
        await cluster.fault('crash', BROKER);
        progress(
          `${phase}: broker ${BROKER} killed (SIGKILL) ${((faultAt - lastProbe) / 1000).toFixed(1)} s after the last probe round; waiting for both paths (the alarm path takes minutes)`,
        );

        let directQueued: number | null = null;
        let directOpened: number | null = null;
        let alarmFired: number | null = null;
        let alarmJoined: number | null = null;
        let incidentType: string | null = null;
        let incidents = 0;
        let openedBy = 'none';
        let lastTick = Date.now();
        while (Date.now() - faultAt < PATH_TIMEOUT_MS && (incidentType === null || alarmJoined === null)) {
          await sleep(500);
          const finding = events.find(
            (e) => e.event === 'probe:finding' && e.at >= faultAt && (e.detail ?? '').includes('firing'),
          );
          if (finding && directQueued === null) {
            directQueued = finding.at - faultAt;
            progress(`${phase}: direct path: finding queued +${show(secs(directQueued))}: ${finding.detail ?? ''}`);
          }
          const list = await healer.store.list({ cluster: CLUSTER });
          incidents = list.length;
          const first = [...list].sort((a, b) => a.openedAt.localeCompare(b.openedAt))[0];
          if (first && incidentType === null) {
            incidentType = first.type;
            const opened = (await healer.store.get(first.id)).timeline.find((e) => e.action === 'incident-opened');
            openedBy = /from (\w+) signal/.exec(opened?.detail ?? '')?.[1] ?? 'unknown';
            // The direct path's figure only when the probe's finding opened it (else the alarm beat it).
            if (openedBy === 'probe') directOpened = Date.parse(first.openedAt) - faultAt;
            progress(
              `${phase}: incident ${first.id} opened +${show(secs(Date.parse(first.openedAt) - faultAt))} by the ${openedBy} signal (${first.type} ${first.severity}, ${first.status})`,
            );
          }
          const fired = healer.alarmTransitions.find(
            (tr) =>
              tr.spec.alarmKind === 'broker-down' &&
              tr.to === 'ALARM' &&
              tr.contributor?.attributes['Broker ID'] === String(BROKER) &&
              tr.at >= faultAt,
          );
          if (fired && alarmFired === null) {
            alarmFired = fired.at - faultAt;
            progress(`${phase}: alarm path: ${fired.spec.alarmName} broker ${BROKER} ALARM +${show(secs(alarmFired))}`);
          }
          if (first && alarmFired !== null && alarmJoined === null) {
            const timeline = (await healer.store.get(first.id)).timeline;
            const joined = timeline.find(
              (e) => e.action === 'signal-joined' && (e.detail ?? '').startsWith('cloudwatch signal'),
            );
            if (joined) {
              alarmJoined = Date.parse(joined.at) - faultAt;
              progress(
                `${phase}: alarm's signal joined incident ${first.id} +${show(secs(alarmJoined))} (${joined.detail ?? ''})`,
              );
            }
          }
          if (Date.now() - lastTick >= 30_000) {
            lastTick = Date.now();
            progress(
              `${phase}: +${((Date.now() - faultAt) / 1000).toFixed(0)} s after the fault: ${healer.probeLog.length} probe runs, alarm broker-down ${healer.evaluator.contributorState(healer.evaluator.specs.find((s) => s.alarmKind === 'broker-down')?.alarmName ?? '', String(BROKER)) ?? 'no data'}, ${incidents} incident(s)`,
            );
          }
        }
        runs.push({
          phase,
          afterProbeSeconds: Math.round((faultAt - lastProbe) / 100) / 10,
          directQueued: secs(directQueued),
          directOpened: secs(directOpened),
          alarmFired: secs(alarmFired),
          alarmJoined: secs(alarmJoined),
          incidents,
          incidentType,
          openedBy,
        });
      } finally {
        await healer.close();
        progress(`${phase}: restarting broker ${BROKER}`);
        await cluster.fault('start', BROKER);
        await cluster.waitHealthy(180_000);
      }
    }
  } finally {
    await cluster.stop();
    await dynamo.stop();
  }

  console.log('\nMTTD of a broker crash at AWS time scale (probe every 60 s, alarms at 60 s periods):');
  console.log(
    `  ${'run'.padEnd(8)} ${'crash after probe'.padEnd(18)} ${'direct: queued'.padEnd(15)} ${'direct: incident'.padEnd(17)} ${'alarm: ALARM'.padEnd(13)} ${'alarm: on incident'.padEnd(19)} incidents`,
  );
  for (const r of runs) {
    console.log(
      `  ${r.phase.padEnd(8)} ${`${r.afterProbeSeconds.toFixed(1)} s`.padEnd(18)} ${show(r.directQueued).padEnd(15)} ${show(r.directOpened).padEnd(17)} ${show(r.alarmFired).padEnd(13)} ${show(r.alarmJoined).padEnd(19)} ${r.incidents} (${r.incidentType ?? 'none'}, opened by the ${r.openedBy} signal)`,
    );
  }

  progress('idle cost from the cost model, fast detection on (recheckSeconds 10) and off (0)');
  const costs = idleCostDelta();
  for (const c of costs)
    console.log(
      `  ${c.stack.padEnd(22)} on $${c.on.toFixed(2)}  off $${c.off.toFixed(2)}  delta $${(c.on - c.off).toFixed(2)} per month`,
    );
  // Per fault: the second look keeps the 256 MB probe running for the pause, one SQS message, one ingest run.
  const perFault = RECHECK_SECONDS * 0.25 * PRICES.lambdaArmGbSecond + 2 * PRICES.sqsRequest + PRICES.lambdaRequest;
  console.log(
    `  per fault: about $${perFault.toFixed(6)} (${RECHECK_SECONDS} s more of the 256 MB probe, one SendMessage and its receive, one ingest invocation); ${PRICES.asOf}`,
  );

  const worst = runs.filter((r) => r.phase === 'worst');
  const incidentsOk = runs.every((r) => r.incidents === 1);
  if (runs.some((r) => r.incidents > 1))
    throw new BenchFailure(
      `one broker crash opened ${runs.map((r) => r.incidents).join('/')} incidents: the direct finding and the alarm must share one`,
    );
  const worstDirect = worst.length ? Math.max(...worst.map((r) => r.directOpened ?? Number.POSITIVE_INFINITY)) : null;
  const idleSame = costs.every((c) => Math.abs(c.on - c.off) < 0.005);
  return (
    runs
      .map(
        (r) =>
          `${r.phase} (crash ${r.afterProbeSeconds.toFixed(1)} s after a probe): direct ${show(r.directOpened)} to the incident, alarm ${show(r.alarmFired)} to ALARM, ${show(r.alarmJoined)} on the incident`,
      )
      .join('; ') +
    `; worst-case MTTD <= ${MAX_WORST_MTTD_SECONDS} s: ${worstDirect === null ? 'not measured' : verdict(worstDirect <= MAX_WORST_MTTD_SECONDS)}` +
    `; one incident per crash: ${verdict(incidentsOk)}; idle cost unchanged (${costs.map((c) => `${c.stack.replace(/^KafkaHeal-/, '')} delta $${(c.on - c.off).toFixed(2)}`).join(', ')}): ${verdict(idleSame)}`
  );
}
