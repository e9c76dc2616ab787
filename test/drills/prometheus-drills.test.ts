// broker-crash-prometheus end to end on a real 3-broker KRaft cluster whose brokers run the JMX
// exporter java agent, with real Prometheus (the shipped rules) and real Alertmanager posting to
// the healer's webhook with the bearer token; the probe's CloudWatch-style alarms are off, so the
// incident can only come from the Prometheus alert. Also checked here: an unauthenticated post to
// the same webhook is refused, and no Prometheus or Alertmanager process outlives the drill.
// Figures print with a "[drill-figures]" prefix.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDynamoDbLocal, type DynamoDbLocal } from '#local/dynamodb-local.js';
import { loadScenario, runDrill } from '#local/drill/index.js';
import { warmIncidentStore } from '#local/drill/warm-up.js';
import { startCluster, type LocalCluster } from '#local/kafka/cluster.js';
import { planExporters, type ExporterPlan } from '#local/monitoring/exporters.js';
import { processesMentioning } from '../support/processes.js';

let cluster: LocalCluster;
let dynamo: DynamoDbLocal;
let exporters: ExporterPlan;
const reports = mkdtempSync(join(tmpdir(), 'kh-prom-drills-'));

beforeAll(async () => {
  exporters = await planExporters({ brokers: 3, zookeepers: 0, log: () => undefined });
  [dynamo, cluster] = await Promise.all([
    startDynamoDbLocal(),
    startCluster({ name: 'drill-prom', brokers: 3, nodeExtras: exporters.nodeExtras, log: () => undefined }),
  ]);
  await warmIncidentStore(dynamo.client());
}, 300_000);

afterAll(async () => {
  await Promise.allSettled([cluster?.stop(), dynamo?.stop()]);
}, 120_000);

describe('drills detected by real Prometheus and Alertmanager', () => {
  it('broker-crash-prometheus: KafkaBrokerDown through the webhook opens broker-failure; broker-recovery restarts the broker; nothing acknowledged is lost', async () => {
    const lines: string[] = [];
    const r = await runDrill(loadScenario('broker-crash-prometheus'), {
      cluster,
      dynamo,
      exporters,
      reportDir: join(reports, 'broker-crash-prometheus'),
      progress: (l) => lines.push(l),
    });
    const firing = r.timeline.find(
      (t) => t.event === 'alert:firing' && /KafkaBrokerDown broker 2/.test(t.detail ?? ''),
    );
    console.log(
      `[drill-figures] broker-crash-prometheus: passed=${r.passed} alert=${firing?.offsetSeconds} s mttd=${r.mttdSeconds} s mttr=${r.mttrSeconds} s oracle=${r.oracleMttrSeconds} s produced=${r.messagesProduced} lost=${r.messagesLost} incidents=${r.incidents.map((i) => `${i.type}/${i.severity}/${i.status}`).join(',')}`,
    );
    const failed = r.expectations.filter((e) => !e.passed);
    expect(
      failed,
      `${failed.map((e) => `${e.name}: expected ${e.expected}, got ${e.actual}`).join('\n')}\n--- progress ---\n${lines.join('\n')}`,
    ).toEqual([]);
    expect(r.passed).toBe(true);

    // The only detector was Prometheus: the alert reached the webhook (202) before the incident opened from it.
    expect(firing?.detail, lines.join('\n')).toMatch(/Alertmanager webhook 202/);
    expect(r.timeline.some((t) => t.event === 'alarm:ALARM')).toBe(false);
    const opened = r.timeline.find(
      (t) => t.event === 'incident:incident-opened' && /broker-failure/.test(t.detail ?? ''),
    );
    expect(opened?.detail).toMatch(/from alertmanager signal KafkaBrokerDown \(broker-down, brokers 2\)/);
    expect(firing!.offsetSeconds).toBeLessThanOrEqual(opened!.offsetSeconds);
    // Send_resolved: the alert clears once the restarted broker answers its scrape again.
    expect(
      r.timeline.some((t) => t.event === 'alert:resolved' && /KafkaBrokerDown broker 2/.test(t.detail ?? '')),
    ).toBe(true);
    expect(r.incidents.find((i) => i.type === 'broker-failure')).toMatchObject({
      status: 'resolved',
      workflow: 'broker-recovery',
      executionStatus: 'SUCCEEDED',
    });
    expect(r.messagesLost).toBe(0);
    expect(r.messagesProduced).toBeGreaterThan(100);
    expect(r.notes.join('\n')).toMatch(/Prometheus is the only detector/);

    // Prometheus and Alertmanager of the drill are gone with it.
    expect(processesMentioning(`${cluster.workDir}/monitoring-`)).toEqual([]);
  }, 420_000);
});
