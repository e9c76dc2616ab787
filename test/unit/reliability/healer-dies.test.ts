// Reliability: the healer's own steps die in the middle of a broker-recovery run (a step Lambda
// times out or its process crashes). The run must still end with the incident escalated (never
// left in "remediating"), the cluster lock released, and a second run of the same input must not
// act twice. Runs the real ASL on the local runtime with the real step handlers (test harness in
// test/statemachines/recovery-fixtures.ts).
import { describe, expect, it } from 'vitest';
import {
  SNAPSHOTS,
  SUBSTITUTIONS,
  diagnosisLine,
  ok,
  runScenario,
  workflowStepsCalled,
  type Scenario,
} from '#test/statemachines/recovery-fixtures.js';

const DIAG = SUBSTITUTIONS.DiagnoseDocumentName;
const RESTART = SUBSTITUTIONS.RestartDocumentName;
const restarted = ok(
  '{"result":"restarted","pid":4242,"previousPid":0,"service":"kafka","listenerPort":9092,"waitedSeconds":7}\n',
);

/** What a Lambda integration reports when the function ran out of time or its process died. */
const died = (name: 'Sandbox.Timedout' | 'Runtime.ExitError' | 'Lambda.Unknown') => () => {
  throw Object.assign(new Error(`${name}: the function did not return`), { name });
};

const base: Scenario = {
  workflow: 'broker-recovery',
  probes: [SNAPSHOTS.brokerTwoCrashed, SNAPSHOTS.brokerTwoCrashed, SNAPSHOTS.healthy],
  commands: { [DIAG]: ok(diagnosisLine()), [RESTART]: restarted },
};

describe('the healer dies mid-workflow', () => {
  it.each([
    ['the confirm step times out (Sandbox.Timedout)', [died('Sandbox.Timedout')], 0],
    ['the safety check crashes (Runtime.ExitError)', [SNAPSHOTS.brokerTwoCrashed, died('Runtime.ExitError')], 0],
    [
      'verify dies after the restart (Lambda.Unknown)',
      [SNAPSHOTS.brokerTwoCrashed, SNAPSHOTS.brokerTwoCrashed, died('Lambda.Unknown')],
      1,
    ],
  ] as const)(
    '%s: the incident ends escalated, never remediating, and the lock is released',
    async (_label, probes, restarts) => {
      const run = await runScenario({ ...base, probes: [...probes] });
      expect(run.store.status).toBe('escalated');
      expect(run.store.lock).toBeUndefined();
      expect(workflowStepsCalled(run).at(-1)).toBe('release-lock');
      expect(run.commands.filter((c) => c.documentName === RESTART)).toHaveLength(restarts);
      // People are told (the nested escalation publishes), and the timeline says why.
      expect(run.published.length).toBeGreaterThan(0);
      expect(run.store.timeline.some((e) => e.action === 'status-changed' && /-> escalated/.test(e.detail ?? ''))).toBe(
        true,
      );
      expect(run.store.heals).toEqual([]);
    },
  );

  // Re-running (by the operator, or a redrive) starts again from Confirm Broker Is Down: the probe,
  // not the previous run's progress, decides whether anything is still to do.
  it('re-running the same input after a death, with the broker back meanwhile: nothing runs on the host, no heal is counted', async () => {
    const again = await runScenario({
      ...base,
      probes: [SNAPSHOTS.healthy],
      incidentStatus: 'escalated',
      holdLock: false,
    });
    expect(again.result.status).toBe('SUCCEEDED');
    expect(again.commands).toEqual([]);
    expect(again.store.heals).toEqual([]);
    expect(again.store.lock).toBeUndefined();
  });

  it('re-running the same input after a death, with the broker still down: the recovery is done once, the heal counted once', async () => {
    const again = await runScenario({ ...base, incidentStatus: 'escalated', holdLock: false });
    expect(again.commands.filter((c) => c.documentName === RESTART)).toHaveLength(1);
    expect(again.store.heals).toHaveLength(1);
    expect(again.store.status).toBe('resolved');
    expect(workflowStepsCalled(again).filter((x) => x === 'release-lock')).toHaveLength(1);
  });
});
