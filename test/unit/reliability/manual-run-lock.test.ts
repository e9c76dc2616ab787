// Reliability: a broker recovery started by hand (Step Functions console, a game day) has no
// classifier behind it, so no cluster lock was taken for it. The run takes the lock itself at its
// start step and releases it at the end; a lock held by another incident stops it before any
// action (escalated); a dry run and a nested run (its parent holds the lock) take none. Runs the
// real ASL on the local runtime with the real step handlers (test/statemachines/recovery-fixtures.ts).
import { describe, expect, it } from 'vitest';
import { WorkflowStepSchema, makeWorkflowStepsHandler } from '#functions/workflow-steps/handler.js';
import { type ClusterTargetConfig } from '#contracts/workflow-targets.js';
import {
  MemoryStore,
  SNAPSHOTS,
  SUBSTITUTIONS,
  diagnosisLine,
  ok,
  runScenario,
  type Scenario,
} from '#test/statemachines/recovery-fixtures.js';
import { storePieces } from '#test/support/store-pieces.js';

const DIAG = SUBSTITUTIONS.DiagnoseDocumentName;
const RESTART = SUBSTITUTIONS.RestartDocumentName;
const restarted = ok(
  '{"result":"restarted","pid":4242,"previousPid":0,"service":"kafka","listenerPort":9092,"waitedSeconds":7}\n',
);

/** As an operator starts it in the console: no classifier, so no lock for the incident. */
const byHand: Scenario = {
  workflow: 'broker-recovery',
  probes: [SNAPSHOTS.brokerTwoCrashed, SNAPSHOTS.brokerTwoCrashed, SNAPSHOTS.healthy],
  commands: { [DIAG]: ok(diagnosisLine()), [RESTART]: restarted },
  holdLock: false,
};

describe('a broker recovery started by hand', () => {
  it('takes the cluster lock at its start, restarts under it, and releases it at the end', async () => {
    const run = await runScenario(byHand);
    expect(run.result.status).toBe('SUCCEEDED');
    expect(run.commands.map((c) => c.documentName)).toEqual([DIAG, RESTART]);
    const actions = run.store.timeline.map((e) => e.action);
    expect(actions.indexOf('lock-acquired')).toBeGreaterThanOrEqual(0);
    expect(actions.indexOf('lock-acquired')).toBeLessThan(actions.indexOf('recovery-started'));
    expect(run.store.timeline.find((e) => e.action === 'lock-acquired')?.detail).toMatch(/taken by the run itself/);
    expect(actions).toContain('lock-released');
    expect(run.store.lock).toBeUndefined();
  });

  it('keeps the lock the classifier took for the incident (no second entry)', async () => {
    const run = await runScenario({ ...byHand, holdLock: true });
    expect(run.result.status).toBe('SUCCEEDED');
    expect(run.store.timeline.map((e) => e.action)).not.toContain('lock-acquired');
    expect(run.store.lock).toBeUndefined();
  });

  it('a dry run takes no lock and changes nothing', async () => {
    const run = await runScenario({ ...byHand, input: { dryRun: true } });
    expect(run.result.status).toBe('SUCCEEDED');
    expect(run.commands.filter((c) => c.documentName === RESTART)).toEqual([]);
    expect(run.store.timeline.map((e) => e.action)).not.toContain('lock-acquired');
  });

  it('msk-broker-recovery started by hand takes it too', async () => {
    const run = await runScenario({
      workflow: 'msk-broker-recovery',
      probes: [SNAPSHOTS.brokerTwoCrashed, SNAPSHOTS.brokerTwoCrashed, SNAPSHOTS.healthy],
      holdLock: false,
    });
    expect(run.store.timeline.map((e) => e.action)).toContain('lock-acquired');
    expect(run.reboots.length).toBeGreaterThan(0);
    expect(run.store.lock).toBeUndefined();
  });
});

describe('the start step when another incident holds the cluster lock', () => {
  const target: ClusterTargetConfig = {
    cluster: 'orders',
    platform: 'ec2',
    clusterStepsFunction: 'steps-orders',
    brokers: [{ id: 2, instanceId: 'i-0123456789abcdef2' }],
    serviceName: 'kafka',
    listenerPort: 9092,
  };
  const setup = () => {
    const store = new MemoryStore('inc-1', 'orders', false);
    store.lock = {
      cluster: 'orders',
      owner: 'inc-other',
      acquiredAt: new Date().toISOString(),
      expiresAt: Math.floor(Date.now() / 1000) + 600,
    };
    const handle = makeWorkflowStepsHandler({
      ...storePieces(store),
      targets: () => [target],
      now: () => new Date(),
      diskCriticalPercent: 90,
    });
    return {
      store,
      start: (input: Record<string, unknown>) =>
        handle(
          WorkflowStepSchema.parse({
            step: 'start',
            workflow: 'broker-recovery',
            input: { incidentId: 'inc-1', cluster: 'orders', brokerIds: [2], ...input },
          }),
        ),
    };
  };

  it('refuses a top-level live run with LockHeldError (the ASL catches it and escalates before any action) and leaves the lock alone', async () => {
    const { store, start } = setup();
    await expect(start({ parentWorkflow: 'none' })).rejects.toMatchObject({
      name: 'LockHeldError',
      owner: 'inc-other',
    });
    expect(store.lock?.owner).toBe('inc-other');
    expect(store.timeline).toEqual([]);
  });

  it('lets a nested run (its parent holds the lock) and a dry run start', async () => {
    const { store, start } = setup();
    await expect(start({ parentWorkflow: 'cascade-recovery' })).resolves.toMatchObject({ brokerId: 2 });
    await expect(start({ parentWorkflow: 'none', dryRun: true })).resolves.toMatchObject({ dryRun: true });
    expect(store.lock?.owner).toBe('inc-other');
  });

  it('takes a lock another incident let expire', async () => {
    const { store, start } = setup();
    store.lock!.expiresAt = Math.floor(Date.now() / 1000) - 1;
    await expect(start({ parentWorkflow: 'none' })).resolves.toMatchObject({ brokerId: 2 });
    expect(store.lock?.owner).toBe('inc-1');
  });
});
