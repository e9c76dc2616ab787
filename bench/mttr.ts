// Detection and recovery time on the real local cluster: the built-in drills broker-crash,
// broker-hang and cascade (drills/scenarios), each run N times (default 3) with the drill runner
// (local/drill: real Kafka, the real probe, the deployed alarm definitions on shortened periods,
// the real ingest/classify handlers on DynamoDB Local, the real ASL on the local Step Functions
// runtime, the real SSM documents through the systemctl shim). Per scenario: the medians of MTTD,
// MTTR, the oracle (the same broker faults on the same schedule, each repaired by hand at once, in
// the same run, after the drill's traffic stopped) and MTTR/oracle.
// Targets: MTTR/oracle <= 1.5; MTTD <= the broker-down alarm's window (its evaluation periods at
// the drill's local period) + 5 s. MTTR counts from the fault and the oracle starts repairing at
// the fault, so a healer whose repair took exactly the oracle's time would score
// (MTTD + oracle) / oracle: detection's share of the ratio (the oracle is its own noisy trial, so a
// single run can beat it). The bench prints it and splits each MTTR into detect, decide and
// restart-to-healthy.
//   npm run bench -- mttr [runs] [scenario...]
import type { DrillReport, Scenario } from '../local/drill/index.js';
import { join } from 'node:path';
import { median, verdict } from './stats.js';

const REPORT_ROOT = join('reports', 'bench', 'mttr');

export const MAX_RATIO = 1.5;
export const MTTD_SLACK_SECONDS = 5;
/** The broker-down alarm watches 2 periods of 60 s (infra/constructs/alarm-specs.ts TWO_MINUTES). */
export const BROKER_DOWN_EVALUATION_PERIODS = 2;
export const SCENARIOS = ['broker-crash', 'broker-hang', 'cascade'];

export interface ScenarioFigures {
  scenario: string;
  runs: number;
  passed: number;
  mttd: number | null;
  mttr: number | null;
  oracle: number | null;
  ratio: number | null;
  alarmWindowSeconds: number;
  /** Medians of the phases (see phases()). */
  decideSeconds: number | null;
  repairSeconds: number | null;
  /** MTTR/oracle of a repair as fast as the oracle's after this detection: (MTTD + oracle) / oracle. */
  detectionRatio: number | null;
}

/** Where one run's MTTR went: fault -> incident (detect), -> first restart command (decide), -> healthy (repair). */
export interface Phases {
  detectSeconds: number | null;
  decideSeconds: number | null;
  repairSeconds: number | null;
}

/** The state that sends the restart command in broker-recovery (cascade-recovery nests it). */
const RESTART_STATE = /: Restart Kafka Service$/;

export function phases(report: DrillReport): Phases {
  const detect = report.mttdSeconds;
  const restart = report.timeline.find(
    (e) => e.source === 'state' && e.event === 'state:entered' && RESTART_STATE.test(e.detail ?? ''),
  );
  const restartAt = restart ? restart.offsetSeconds : null;
  const round = (x: number) => Math.round(x * 10) / 10;
  return {
    detectSeconds: detect,
    decideSeconds: detect !== null && restartAt !== null ? round(restartAt - detect) : null,
    repairSeconds: restartAt !== null && report.mttrSeconds !== null ? round(report.mttrSeconds - restartAt) : null,
  };
}

const med = (xs: (number | null)[]): number | null => {
  const v = xs.filter((x): x is number => x !== null && Number.isFinite(x));
  return v.length === 0 ? null : median(v);
};
const s = (x: number | null, digits = 1) => (x === null ? 'n/a' : x.toFixed(digits));

export function figures(scenario: Scenario, reports: DrillReport[]): ScenarioFigures {
  const ph = reports.map(phases);
  const mttd = med(reports.map((r) => r.mttdSeconds));
  const oracle = med(reports.map((r) => r.oracleMttrSeconds));
  return {
    scenario: scenario.name,
    runs: reports.length,
    passed: reports.filter((r) => r.passed).length,
    mttd,
    mttr: med(reports.map((r) => r.mttrSeconds)),
    oracle,
    ratio: med(reports.map((r) => r.mttrRatio)),
    alarmWindowSeconds: BROKER_DOWN_EVALUATION_PERIODS * scenario.alarms.periodSeconds,
    decideSeconds: med(ph.map((p) => p.decideSeconds)),
    repairSeconds: med(ph.map((p) => p.repairSeconds)),
    detectionRatio:
      mttd !== null && oracle !== null && oracle > 0 ? Math.round(((mttd + oracle) / oracle) * 100) / 100 : null,
  };
}

export async function run(args: string[]): Promise<string> {
  const runs = args[0] !== undefined && /^\d+$/.test(args[0]) ? Number(args[0]) : 3;
  const names = args.filter((a) => !/^\d+$/.test(a));
  // The handlers the drills run log every step; the bench prints its own lines (set before the
  // drill modules create their loggers).
  process.env.POWERTOOLS_LOG_LEVEL ??= 'SILENT';
  process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
  const { loadScenario, runDrill } = await import('../local/drill/index.js');
  const results: ScenarioFigures[] = [];
  for (const name of names.length ? names : SCENARIOS) {
    const scenario = loadScenario(name);
    const reports: DrillReport[] = [];
    for (let i = 1; i <= runs; i++) {
      const t0 = Date.now();
      // Every run leaves its full report (timeline, incidents, notes): a failed run must be explainable afterwards.
      const reportDir = join(REPORT_ROOT, `${name}-${i}`);
      const report = await runDrill(scenario, { clusterName: `bench-mttr-${name}`, reportDir });
      reports.push(report);
      const p = phases(report);
      console.log(
        `${name} run ${i}/${runs} (report in ${reportDir}): ${report.passed ? 'passed' : 'FAILED'} in ${((Date.now() - t0) / 1000).toFixed(0)} s; MTTD ${s(report.mttdSeconds)} s, MTTR ${s(report.mttrSeconds)} s, oracle ${s(report.oracleMttrSeconds)} s, ratio ${s(report.mttrRatio, 2)} (detect ${s(p.detectSeconds)} s, decide ${s(p.decideSeconds)} s, restart to healthy ${s(p.repairSeconds)} s)` +
          (report.passed
            ? ''
            : `; failed expectations: ${report.expectations
                .filter((e) => !e.passed)
                .map((e) => `${e.name} (expected ${e.expected}, got ${e.actual})`)
                .join('; ')}`),
      );
    }
    const f = figures(scenario, reports);
    results.push(f);
    console.log(
      `${name}: median of ${runs}: MTTD ${s(f.mttd)} s (alarm window ${f.alarmWindowSeconds} s + ${MTTD_SLACK_SECONDS} s), MTTR ${s(f.mttr)} s, oracle ${s(f.oracle)} s, MTTR/oracle ${s(f.ratio, 2)}; ${f.passed}/${runs} drills passed`,
    );
    console.log(
      `${name}: where the MTTR goes (medians): detect ${s(f.mttd)} s (fault -> incident), decide ${s(f.decideSeconds)} s (incident -> first restart command), restart to healthy ${s(f.repairSeconds)} s (the oracle's whole repair: ${s(f.oracle)} s); ` +
        `a repair as fast as the oracle's after this detection would score (MTTD + oracle) / oracle = ${s(f.detectionRatio, 2)}`,
    );
  }
  const ratioOk = results.every((r) => r.ratio !== null && r.ratio <= MAX_RATIO);
  const mttdOk = results.every((r) => r.mttd !== null && r.mttd <= r.alarmWindowSeconds + MTTD_SLACK_SECONDS);
  return (
    results
      .map(
        (r) =>
          `${r.scenario} MTTD ${s(r.mttd)} s, MTTR ${s(r.mttr)} s, oracle ${s(r.oracle)} s, ratio ${s(r.ratio, 2)} (${r.passed}/${r.runs} passed; detection alone ${s(r.detectionRatio, 2)})`,
      )
      .join('; ') +
    `; ratio <= ${MAX_RATIO}: ${verdict(ratioOk)}; MTTD <= alarm window + ${MTTD_SLACK_SECONDS} s: ${verdict(mttdOk)}`
  );
}
