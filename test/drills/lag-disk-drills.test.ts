// The consumer-stall and disk-pressure drills end to end on ONE real 3-broker KRaft cluster and
// one DynamoDB Local (as builtin-drills.test.ts: each drill has its own incident table, consumer
// group and message tag; the runner restores the cluster between drills). The assertions are the
// scenarios' own expectations plus what each drill is about: consumer-lag tells the owning team
// (with the lag evidence) and calls the scale hook before the lag drains; disk-pressure frees the
// disk through kafka-free-disk without touching Kafka's segment files. Figures print with a
// "[drill-figures]" prefix.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { DrillReport } from '#local/drill/index.js';
import { sharedDrillCluster } from './shared-cluster.js';

const shared = sharedDrillCluster('drill-lag-disk', {}, { warmUp: false });
const drill = shared.drill;

const published = (r: DrillReport, topic: string) =>
  r.timeline.filter((t) => t.event === 'sns:published' && (t.detail ?? '').startsWith(`${topic}: `));

describe('consumer-lag and disk-pressure drills against a real cluster', () => {
  it('consumer-stall: consumer-lag tells the owning team with the lag evidence, calls the scale hook, and resolves once the lag drains', async () => {
    const r = await drill('consumer-stall');
    const incident = r.incidents.find((i) => i.type === 'consumer-lag');
    expect(incident).toMatchObject({ status: 'resolved', workflow: 'consumer-lag', executionStatus: 'SUCCEEDED' });
    const order = r.actions.map((a) => a.action);
    expect(order).toEqual(expect.arrayContaining(['lag-evaluated', 'team-notified', 'scale-hook-called']));
    // The team is told before the scale hook is called, and both before the consumers came back (40 s).
    expect(order.indexOf('team-notified')).toBeLessThan(order.indexOf('scale-hook-called'));
    const hook = r.actions.find((a) => a.action === 'scale-hook-called');
    expect(hook?.result).toBe('success');
    expect(hook?.offsetSeconds).toBeLessThan(40);

    // The owner topic got one notice, and it carries the evidence (the group, its lag over its limit).
    const toTeam = published(r, 'drill-team-alerts');
    expect(toTeam).toHaveLength(1);
    expect(toTeam[0]?.detail).toMatch(/consumer group lag/);
    const notice = JSON.parse((toTeam[0]?.detail ?? '').replace(/^[^{]*/, '')) as Record<string, unknown>;
    expect(notice).toMatchObject({ kind: 'kafka-heal/consumer-lag', ownerTeam: 'drill-team', maxOffsetLag: 100 });
    expect(notice.totalLag as number).toBeGreaterThan(100);
    expect(notice.evidence).toBeTruthy();
    // The SNS scale hook got the same evidence.
    expect(published(r, 'drill-consumers-scale')).toHaveLength(1);

    // The consumers came back (the scaled-up group) at 40 s, after the hook was called.
    expect(r.timeline.find((t) => t.event === 'fault:resume-consumer')?.offsetSeconds).toBeGreaterThanOrEqual(
      hook?.offsetSeconds ?? Number.POSITIVE_INFINITY,
    );
    expect(r.messagesLost).toBe(0);
    expect(r.messagesProduced).toBeGreaterThan(1000);
  }, 420_000);

  it("disk-pressure: a heap dump fills broker 2's data disk to 95%; kafka-free-disk deletes only it, the disk drops below the threshold, no segment file is touched", async () => {
    const dataDir = join(shared.cluster().workDir, 'disks', 'broker-2', 'data');
    const r = await drill('disk-pressure');
    const incident = r.incidents.find((i) => i.type === 'disk-pressure');
    expect(incident).toMatchObject({
      severity: 'SEV-2',
      status: 'resolved',
      workflow: 'disk-pressure',
      executionStatus: 'SUCCEEDED',
    });
    expect(r.actions.map((a) => a.action)).toContain('disk-freed');
    expect(r.actions.map((a) => a.action)).not.toContain('broker-restarted');

    // What kafka-free-disk did, from its own output (runbooks/README.md contract) on the timeline.
    const freed = r.timeline.find((t) => t.event === 'incident:disk-freed');
    expect(freed?.detail).toContain('kafka-heal-drill-kafka-free-disk');
    const out = JSON.parse(/(\{"result".*?\]\S*\})/.exec(freed?.detail ?? '')?.[1] ?? '{}') as {
      result?: string;
      filesDeleted?: number;
      bytesFreed?: number;
      files?: string[];
    };
    expect(out.result).toBe('freed');
    expect(out.filesDeleted).toBeGreaterThanOrEqual(1);
    expect(out.bytesFreed).toBeGreaterThan(100 * 1024 * 1024);
    // Only heap dumps went; nothing in a data dir, no segment, index or checkpoint file.
    expect(out.files?.length).toBeGreaterThan(0);
    for (const f of out.files ?? []) {
      expect(f).toMatch(/\.hprof$/);
      expect(f.startsWith(`${dataDir}/`)).toBe(false);
    }
    // The data disk is below the threshold now and the partitions' segments are still there.
    expect(shared.cluster().disk(2).usedPercent).toBeLessThan(85);
    expect(shared.cluster().disk(2).ballastMb).toBe(0);
    const segments = readdirSync(dataDir, { recursive: true })
      .map(String)
      .filter((f) => f.endsWith('.log'));
    expect(segments.length).toBeGreaterThan(0);
    expect(r.messagesLost).toBe(0);
    expect(r.messagesProduced).toBeGreaterThan(100);
  }, 420_000);
});
