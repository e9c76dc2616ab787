// The mttr bench's split of each MTTR (detect, decide, restart to healthy) and the ratio a repair
// as fast as the oracle's would score after this detection. The restart state is found by name in
// the report, so the test also pins that name to the shipped ASL: a rename there must not silently
// blank the split.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { walkStates, type AslDefinition } from '#local/stepfunctions/definition.js';
import { figures, phases } from '#bench/mttr.js';
import type { DrillReport, DrillTimelineEntry } from '#local/drill/report-types.js';
import { loadScenario } from '#local/drill/index.js';

const entry = (offsetSeconds: number, event: string, detail?: string): DrillTimelineEntry => ({
  at: new Date(Date.parse('2026-11-22T10:00:00Z') + offsetSeconds * 1000).toISOString(),
  offsetSeconds,
  source: event.startsWith('state:') ? 'state' : 'workflow',
  event,
  ...(detail !== undefined ? { detail } : {}),
});

function report(
  mttd: number | null,
  restartAt: number | null,
  mttr: number | null,
  oracle: number | null,
): DrillReport {
  const timeline = [entry(0.5, 'state:entered', 'broker-recovery: Diagnose Broker Host')];
  if (restartAt !== null)
    timeline.push(
      entry(restartAt, 'state:entered', 'broker-recovery: Restart Kafka Service'),
      entry(restartAt + 0.1, 'state:exited', 'broker-recovery: Restart Kafka Service'),
    );
  return {
    scenario: 'broker-crash',
    description: '',
    passed: mttr !== null,
    startedAt: '2026-11-22T09:59:50Z',
    finishedAt: '2026-11-22T10:01:00Z',
    cluster: { name: 'c', mode: 'kraft', brokers: 3, kafkaVersion: '4' },
    mttdSeconds: mttd,
    mttrSeconds: mttr,
    oracleMttrSeconds: oracle,
    mttrRatio: mttr !== null && oracle !== null ? Math.round((mttr / oracle) * 100) / 100 : null,
    messagesProduced: 10,
    messagesConsumed: 10,
    messagesLost: 0,
    incidents: [],
    actions: [],
    timeline,
    expectations: [],
    notes: [],
  };
}

describe('mttr bench: where the MTTR goes', () => {
  it('splits MTTR into detect (fault -> incident), decide (-> first restart command) and restart to healthy', () => {
    expect(phases(report(5.4, 6.6, 11.4, 3.6))).toEqual({ detectSeconds: 5.4, decideSeconds: 1.2, repairSeconds: 4.8 });
  });

  it('leaves a phase unmeasured instead of inventing it: no restart state, or no recovery', () => {
    expect(phases(report(5.4, null, 11.4, 3.6))).toEqual({
      detectSeconds: 5.4,
      decideSeconds: null,
      repairSeconds: null,
    });
    expect(phases(report(5.4, 6.6, null, 3.6))).toEqual({
      detectSeconds: 5.4,
      decideSeconds: 1.2,
      repairSeconds: null,
    });
    expect(phases(report(null, null, null, null))).toEqual({
      detectSeconds: null,
      decideSeconds: null,
      repairSeconds: null,
    });
  });

  it('takes medians per scenario and states what detection alone makes of the ratio, (MTTD + oracle) / oracle', () => {
    const f = figures(loadScenario('broker-crash'), [
      report(5.4, 6.6, 11.4, 3.6),
      report(3.8, 5.6, 17.1, 4.1),
      report(4.2, 5.0, 12.0, 4.0),
    ]);
    expect(f).toMatchObject({
      runs: 3,
      passed: 3,
      mttd: 4.2,
      mttr: 12,
      oracle: 4,
      decideSeconds: 1.2,
      repairSeconds: 7,
    });
    expect(f.detectionRatio).toBeCloseTo((4.2 + 4) / 4, 2);
    expect(f.ratio).toBe(3.17); // the median of the per-run ratios (3.17, 4.17, 3), not 12 / 4
  });

  it('looks for the state broker-recovery really enters to restart the broker', () => {
    const asl = JSON.parse(readFileSync('statemachines/broker-recovery.asl.json', 'utf8')) as AslDefinition;
    const restart = walkStates(asl).find((v) => v.name === 'Restart Kafka Service')?.state;
    expect(restart?.Type).toBe('Task');
    expect(JSON.stringify(restart?.Parameters)).toMatch(/\$\{RestartDocumentName\}/);
  });
});
