// The cascade drills end to end on ONE real 5-broker KRaft cluster and one DynamoDB Local (each
// drill has its own incident table, consumer group and message tag; the runner restores the
// cluster between drills): brokers crash one after another, the shipped alarms, ingest and
// classify handlers open a cascade-failure incident, and cascade-recovery recovers the brokers one
// at a time through nested broker-recovery executions and the real SSM documents -- by itself for
// 2 of 5, after a person's approval for 3 of 5. Figures print with a "[drill-figures]" prefix; each
// drill's progress log is written next to its report (the directory is printed first).
//
// Timing the premises rest on (each scenario's comment says more): the crashes come close together
// so the cascade reaches the classifier before the first broker's own broker-recovery restarts it
// (that run is then stopped as superseded), and a broker whose alarm lands after cascade-recovery
// started is picked up by the run itself (before its first restart, or after the brokers it
// started with: then it asks before touching the newcomer). One thing a busy machine can
// still change: if the probe stalls across all three crashes of cascade-approval, their alarms fire
// in one evaluation, the classifier counts three brokers failing together (an emergency, escalated
// untouched), and the drill fails on that decision, which is the right one for what the alarms saw.
import { appendFileSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDynamoDbLocal, type DynamoDbLocal } from '#local/dynamodb-local.js';
import { loadScenario, runDrill, type DrillReport, type DrillTimelineEntry } from '#local/drill/index.js';
import { startCluster, type LocalCluster } from '#local/kafka/cluster.js';

let cluster: LocalCluster;
let dynamo: DynamoDbLocal;
const reports = mkdtempSync(join(tmpdir(), 'kh-cascade-drills-'));
console.log(`[drill-figures] reports and progress logs in ${reports}`);

beforeAll(async () => {
  [dynamo, cluster] = await Promise.all([
    startDynamoDbLocal(),
    startCluster({ name: 'cascade-it', brokers: 5, log: () => undefined }),
  ]);
}, 300_000);

afterAll(async () => {
  await Promise.allSettled([cluster?.stop(), dynamo?.stop()]);
}, 120_000);

async function drill(name: string): Promise<DrillReport> {
  const dir = join(reports, name);
  mkdirSync(dir, { recursive: true });
  const log = join(dir, 'progress.log');
  const lines: string[] = [];
  const report = await runDrill(loadScenario(name), {
    cluster,
    dynamo,
    reportDir: dir,
    progress: (l) => {
      lines.push(l);
      appendFileSync(log, `${l}\n`);
    },
  });
  console.log(
    `[drill-figures] ${name}: passed=${report.passed} mttd=${report.mttdSeconds} s mttr=${report.mttrSeconds} s oracle=${report.oracleMttrSeconds} s ratio=${report.mttrRatio} produced=${report.messagesProduced} lost=${report.messagesLost} incidents=${report.incidents.map((i) => `${i.type}/${i.severity}/${i.status}/${i.workflow ?? '-'}`).join(',')}`,
  );
  const failed = report.expectations.filter((e) => !e.passed);
  expect(
    failed,
    `${failed.map((e) => `${e.name}: expected ${e.expected}, got ${e.actual}`).join('\n')}\n--- progress ---\n${lines.join('\n')}`,
  ).toEqual([]);
  expect(report.passed).toBe(true);
  return report;
}

/** The nested single-broker recoveries cascade-recovery started: [start, return] offsets, in start order. */
function nestedRecoveries(
  timeline: DrillTimelineEntry[],
): { name: string; started: number; startedAt: string; returned: number | undefined }[] {
  const nested = (e: DrillTimelineEntry, event: string) =>
    e.source === 'workflow' &&
    e.event === event &&
    /^broker-recovery \S+-broker-recovery-\d+ \(nested\)$/.test(e.detail ?? '');
  const nameOf = (e: DrillTimelineEntry) => (e.detail ?? '').split(' ')[1] ?? '';
  return timeline
    .filter((e) => nested(e, 'execution:started'))
    .map((s) => ({
      name: nameOf(s),
      started: s.offsetSeconds,
      startedAt: s.at,
      returned: timeline.find((e) => nested(e, 'execution:returned') && nameOf(e) === nameOf(s))?.offsetSeconds,
    }));
}

/** Facts both cascades share: cascade-recovery resolved the incident, one broker at a time, each restarted through the runbook; nothing acknowledged was lost. */
function expectCascadeRecovered(r: DrillReport, brokers: number[]): void {
  const cascade = r.incidents.find((i) => i.type === 'cascade-failure');
  expect(cascade).toMatchObject({
    severity: 'SEV-1',
    status: 'resolved',
    workflow: 'cascade-recovery',
    executionStatus: 'SUCCEEDED',
  });
  // One nested broker-recovery per crashed broker, each returning before the next starts (MaxConcurrency 1).
  const runs = nestedRecoveries(r.timeline);
  expect(runs).toHaveLength(brokers.length);
  for (const [i, run] of runs.entries()) {
    expect(run.returned, `${run.name} returned`).toBeDefined();
    const next = runs[i + 1];
    if (next) expect(run.returned ?? Number.POSITIVE_INFINITY).toBeLessThanOrEqual(next.started);
  }
  // One restart per crashed broker recorded on the cascade incident (its target lists the crashed brokers).
  const onCascade = (target: string | undefined) =>
    [...(target ?? '').replace(/^broker /, '').split(',')].map(Number).sort().join(',') ===
    [...brokers].sort().join(',');
  // Each crashed broker is either restarted by its nested run or found already back by it. The
  // latter only when a single-broker run, superseded when the incident grew into the cascade, had
  // already sent its restart command (stopping an execution does not cancel a sent command); the
  // nested run then verifies the broker rejoined (broker-already-back), or finds the cluster healthy
  // and has nothing to do (nested-false-alarm) -- seen in CI: broker 5, 2 restarts + 1 back.
  const restarted = r.actions.filter((a) => a.action === 'broker-restarted' && onCascade(a.target));
  const alreadyBack = r.actions.filter(
    (a) => ['broker-already-back', 'nested-false-alarm'].includes(a.action) && onCascade(a.target),
  );
  expect(restarted.length + alreadyBack.length).toBe(brokers.length);
  expect(restarted.length).toBeGreaterThanOrEqual(brokers.length - 1);
  if (alreadyBack.length > 0) expect(r.actions.some((a) => a.action === 'workflow-superseded')).toBe(true);
  expect(r.actions.map((a) => a.action)).toContain('recovery-planned');
  expect(r.mttdSeconds).toBeGreaterThan(0);
  expect(r.mttrSeconds).toBeGreaterThan(r.mttdSeconds ?? 0);
  expect(r.messagesProduced).toBeGreaterThan(100);
  expect(r.messagesLost).toBe(0);
}

describe('cascade drills against a real 5-broker cluster', () => {
  it('cascade: 2 of 5 brokers one after another -> cascade-recovery recovers both automatically, one at a time; nothing acknowledged is lost', async () => {
    const r = await drill('cascade');
    expectCascadeRecovered(r, [4, 5]);
    // Two brokers: no person is asked.
    expect(r.timeline.some((t) => t.event === 'approval:requested')).toBe(false);
    expect(r.actions.map((a) => a.action)).not.toContain('approval-granted');
  }, 600_000);

  it('cascade-approval: 3 of 5 brokers -> cascade-recovery asks for approval first, recovers them one at a time once approved; nothing acknowledged is lost', async () => {
    const r = await drill('cascade-approval');
    expectCascadeRecovered(r, [3, 4, 5]);
    const requested = r.timeline.filter((t) => t.event === 'approval:requested');
    expect(requested).toHaveLength(1);
    expect(requested[0]?.detail).toMatch(/^cascade-recovery: /);
    const granted = r.actions.find((a) => a.action === 'approval-granted');
    expect(granted?.actor).toBe('cascade-recovery');
    // No broker beyond the two an automatic decision may recover is touched before the approval.
    // Usually broker 3's alarm reaches the incident before the run's first restart and the run asks
    // before touching any broker. Its alarm can also land one period later, after the first nested
    // run started (0.05 s after, in one CI run): the run then began on a cascade of two,
    // which needs no approval, recovers those two, finds the cascade grown and asks before the third.
    const runs = nestedRecoveries(r.timeline);
    const at = (iso: string) => Date.parse(iso);
    const askedAt = at(requested[0]?.at ?? '9999-12-31T00:00:00Z');
    const beforeAsk = runs.filter((x) => at(x.startedAt) < askedAt);
    expect(beforeAsk.length).toBeLessThanOrEqual(2);
    if (beforeAsk.length > 0) {
      // When each broker first alarmed (an alarm that went OK and fired again counts once).
      const firstAlarms = [3, 4, 5].map((b) =>
        Math.min(
          ...r.timeline
            .filter((t) => t.event === 'alarm:ALARM' && (t.detail ?? '').includes(`(broker-down broker ${b})`))
            .map((t) => at(t.at)),
        ),
      );
      expect(firstAlarms.every(Number.isFinite), 'every crashed broker alarmed').toBe(true);
      const lastAlarm = Math.max(...firstAlarms);
      expect(lastAlarm, 'the third broker alarmed only after the first restart began').toBeGreaterThan(
        at(beforeAsk[0]?.startedAt ?? ''),
      );
      const grown = r.actions.find((a) => a.action === 'cascade-grown');
      expect(grown).toMatchObject({ actor: 'cascade-recovery', result: 'approval-needed' });
      expect(at(grown?.at ?? '')).toBeLessThanOrEqual(askedAt);
    }
    const afterAsk = runs.filter((x) => at(x.startedAt) >= askedAt);
    expect(afterAsk.length).toBe(3 - beforeAsk.length);
    for (const x of afterAsk) expect(at(x.startedAt)).toBeGreaterThanOrEqual(at(granted?.at ?? '9999-12-31T00:00:00Z'));
  }, 600_000);
});
