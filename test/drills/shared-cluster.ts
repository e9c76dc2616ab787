// The harness of the drill test files: ONE real 3-broker KRaft cluster and one DynamoDB Local for
// the whole file (each drill gets its own incident table, consumer group and message tag; the
// runner restores the cluster between drills), and `drill(name)`, which runs a built-in scenario
// on them, prints its figures with a "[drill-figures]" prefix and fails with the progress log
// (the diagnosis) when an expectation did not hold.
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect } from 'vitest';
import { startDynamoDbLocal, type DynamoDbLocal } from '#local/dynamodb-local.js';
import { loadScenario, runDrill, type DrillReport } from '#local/drill/index.js';
import { warmIncidentStore } from '#local/drill/warm-up.js';
import { startCluster, type LocalCluster, type StartOptions } from '#local/kafka/cluster.js';

export interface SharedDrillCluster {
  cluster: () => LocalCluster;
  drill: (name: string) => Promise<DrillReport>;
  /** Everything a drill wrote to its report directory, as text. */
  reportText: (name: string) => string;
}

/** Registers the file's beforeAll/afterAll; `start` adds to the cluster's start options (e.g. security). */
export function sharedDrillCluster(
  name: string,
  start: Omit<StartOptions, 'name' | 'brokers' | 'log'> = {},
  opts: { warmUp?: boolean } = {},
): SharedDrillCluster {
  let cluster: LocalCluster | undefined;
  let dynamo: DynamoDbLocal | undefined;
  const reports = mkdtempSync(join(tmpdir(), `kh-${name}-`));
  beforeAll(async () => {
    [dynamo, cluster] = await Promise.all([
      startDynamoDbLocal(),
      startCluster({ name, brokers: 3, log: () => undefined, ...start }),
    ]);
    // As the runner does for a DynamoDB Local it starts itself: the first drill must not pay the cold JVM.
    if (opts.warmUp ?? true) await warmIncidentStore(dynamo.client());
  }, 300_000);
  afterAll(async () => {
    await Promise.allSettled([cluster?.stop(), dynamo?.stop()]);
  }, 120_000);
  const c = () => {
    if (!cluster || !dynamo) throw new Error('the shared drill cluster did not start');
    return { cluster, dynamo };
  };
  return {
    cluster: () => c().cluster,
    reportText: (scenario) =>
      readdirSync(join(reports, scenario), { recursive: true, withFileTypes: true })
        .filter((d) => d.isFile())
        .map((d) => readFileSync(join(d.parentPath, d.name), 'utf8'))
        .join('\n'),
    drill: async (scenario) => {
      const lines: string[] = [];
      const report = await runDrill(loadScenario(scenario), {
        ...c(),
        reportDir: join(reports, scenario),
        progress: (l) => lines.push(l),
      });
      console.log(
        `[drill-figures] ${scenario}: passed=${report.passed} mttd=${report.mttdSeconds} s mttr=${report.mttrSeconds} s oracle=${report.oracleMttrSeconds} s ratio=${report.mttrRatio} produced=${report.messagesProduced} lost=${report.messagesLost} incidents=${report.incidents.map((i) => `${i.type}/${i.severity}/${i.status}`).join(',')} actions=${report.actions.map((a) => a.action).join(',')}`,
      );
      const failed = report.expectations.filter((e) => !e.passed);
      expect(
        failed,
        `${failed.map((e) => `${e.name}: expected ${e.expected}, got ${e.actual}`).join('\n')}\n--- progress ---\n${lines.join('\n')}`,
      ).toEqual([]);
      expect(report.passed).toBe(true);
      return report;
    },
  };
}

/** What broker-crash is about, for any listener: the crashed broker restarted through the SSM documents, nothing acknowledged lost, the oracle measured. */
export function expectBrokerCrashHealed(r: DrillReport): void {
  const incident = r.incidents.find((i) => i.type === 'broker-failure');
  expect(incident).toMatchObject({ status: 'resolved', workflow: 'broker-recovery', executionStatus: 'SUCCEEDED' });
  expect(r.actions.map((a) => a.action)).toEqual(
    expect.arrayContaining(['workflow-started', 'host-diagnosed', 'broker-restarted']),
  );
  expect(r.mttdSeconds).toBeGreaterThan(0);
  expect(r.mttrSeconds).toBeGreaterThan(r.mttdSeconds ?? 0);
  expect(r.oracleMttrSeconds).toBeGreaterThan(0);
  expect(r.messagesProduced).toBeGreaterThan(100);
  expect(r.messagesLost).toBe(0);
  expect(r.timeline.some((t) => t.event === 'fault:crash' && t.offsetSeconds === 0)).toBe(true);
  // Broker 2's own contributor of the cluster's one broker-down alarm.
  expect(
    r.timeline.some((t) => t.event === 'alarm:ALARM' && /-broker-down \(broker-down broker 2\)/.test(t.detail ?? '')),
  ).toBe(true);
}
