// cascade-recovery's view of a growing cascade: the run re-reads its incident's brokers
// (functions/workflow-steps/cascade.ts refreshCascadeTarget / refreshCascade) and asks a person
// before recovering brokers once the cascade reaches three, or when the decision asked for it.
import { describe, expect, it } from 'vitest';
import {
  cascadeStartDetail,
  refreshCascade,
  refreshCascadeTarget,
  resolveCascadeTarget,
  startCascade,
  type CascadeClusterTarget,
} from '#functions/workflow-steps/cascade.js';
import { makeWorkflowStepsHandler, WorkflowStepSchema } from '#functions/workflow-steps/handler.js';
import type { IncidentWithTimeline, TimelineEntry } from '#tools/incident-store.js';
import { storePieces } from '../support/store-pieces.js';

const EC2: CascadeClusterTarget = {
  cluster: 'orders',
  platform: 'ec2',
  clusterStepsFunction: 'steps',
  brokers: [1, 2, 3, 4, 5].map((id) => ({ id, instanceId: `i-0123456789abcdef${id}` })),
  listenerPort: 9092,
  kafkaHome: '/opt/kafka',
  throttleProducerByteRate: 1_048_576,
};
const input = (over: Record<string, unknown> = {}) => ({
  incidentId: 'inc-1',
  cluster: 'orders',
  brokerIds: [4, 5],
  ...over,
});

function incidentStore(brokers: number[]) {
  const timeline: TimelineEntry[] = [];
  const at = '2026-01-01T00:00:00.000Z';
  return {
    timeline,
    get: async (id: string): Promise<IncidentWithTimeline> => ({
      id,
      cluster: 'orders',
      type: 'cascade-failure',
      severity: 'SEV-1',
      status: 'remediating',
      brokers: brokers.map((b) => ({ id: b, firstSeenAt: at })),
      openedAt: at,
      fingerprints: [],
      signalCount: brokers.length,
      detectedAt: at,
      lastSignalAt: at,
      version: 1,
      timeline,
    }),
    appendTimeline: async (_id: string, e: Omit<TimelineEntry, 'at'> & { at?: string }) => {
      const full = { ...e, at: e.at ?? at };
      timeline.push(full);
      return full;
    },
  };
}

describe('cascade approval rule', () => {
  it('two brokers run automatically; an await-approval decision asks whatever the count; approved brokers are not asked for again', () => {
    expect(resolveCascadeTarget(input(), () => EC2)).toMatchObject({
      needsApproval: false,
      approvalRequired: false,
      approvedBrokerIds: [],
    });
    const asked = resolveCascadeTarget(input({ action: 'await-approval' }), () => EC2);
    expect(asked).toMatchObject({ needsApproval: true, approvalRequired: true });
    expect(cascadeStartDetail(asked)).toMatch(/; the decision asked for approval, so the recovery waits for it;/);
    expect(resolveCascadeTarget(input({ action: 'remediate' }), () => EC2).needsApproval).toBe(false);
    // carried between passes: the flag wins over the (absent) action
    expect(resolveCascadeTarget(input({ approvalRequired: true }), () => EC2).needsApproval).toBe(true);
    expect(
      resolveCascadeTarget(input({ approvalRequired: true, approvedBrokerIds: [5, 4, 4] }), () => EC2),
    ).toMatchObject({ needsApproval: false, approvedBrokerIds: [4, 5] });
    const three = resolveCascadeTarget(input({ brokerIds: [3, 4, 5], approvedBrokerIds: [4, 5] }), () => EC2);
    expect(three.needsApproval).toBe(true);
    expect(cascadeStartDetail(three)).toMatch(/; 3 brokers down, so the recovery waits for approval;/);
    expect(
      resolveCascadeTarget(input({ brokerIds: [3, 4, 5], approvedBrokerIds: [3, 4, 5] }), () => EC2).needsApproval,
    ).toBe(false);
  });
});

describe('refreshCascadeTarget', () => {
  it('no broker joined: the same target, grown no', () => {
    const r = refreshCascadeTarget(input(), [5, 4], () => EC2);
    expect(r).toMatchObject({ grown: 'no', added: [], brokerIds: [4, 5], needsApproval: false });
    expect(r).toEqual({ ...resolveCascadeTarget(input(), () => EC2), grown: 'no', added: [] });
  });

  it('a third broker joined: planned too, and the cascade of three needs approval', () => {
    const r = refreshCascadeTarget(input(), [4, 5, 3, 3], () => EC2);
    expect(r).toMatchObject({
      grown: 'yes',
      added: [3],
      brokerIds: [3, 4, 5],
      brokerIdsText: '3, 4, 5',
      needsApproval: true,
    });
    expect(r.approval.summary).toBe('Cascade on orders: 3 brokers down (3, 4, 5); recover them one at a time');
    // the CLI host stays outside the (grown) cascade
    expect(r.cli.instanceId).toBe('i-0123456789abcdef1');
  });

  it('a broker joined after an approval of three: a new approval for the new one', () => {
    const r = refreshCascadeTarget(
      input({ brokerIds: [3, 4, 5], approvedBrokerIds: [3, 4, 5] }),
      [1, 3, 4, 5],
      () => EC2,
    );
    expect(r).toMatchObject({
      grown: 'yes',
      added: [1],
      brokerIds: [1, 3, 4, 5],
      needsApproval: true,
      approvedBrokerIds: [3, 4, 5],
    });
    expect(r.cli.instanceId).toBe('i-0123456789abcdef2');
  });

  it('before the recovery: brokers that passed the approval gate count as approved, and the platform names the child workflow', () => {
    const children = { ec2: 'arn:broker-recovery', msk: 'arn:msk-broker-recovery' };
    const approved = input({ brokerIds: [3, 4, 5], action: 'await-approval' });
    expect(refreshCascadeTarget(approved, [3, 4, 5], () => EC2, { passedApproval: true, children })).toMatchObject({
      grown: 'no',
      approvedBrokerIds: [3, 4, 5],
      needsApproval: false,
      childArn: 'arn:broker-recovery',
    });
    // without passedApproval (no gate on this pass) the approved brokers stay as they were
    expect(refreshCascadeTarget(approved, [3, 4, 5], () => EC2, { children })).toMatchObject({
      approvedBrokerIds: [],
      needsApproval: true,
    });
    const msk: CascadeClusterTarget = { ...EC2, platform: 'msk', brokers: [], mskClusterArn: 'arn:aws:kafka:x' };
    expect(refreshCascadeTarget(input(), [4, 5], () => msk, { children }).childArn).toBe('arn:msk-broker-recovery');
    expect(refreshCascadeTarget(input(), [4, 5], () => EC2)).not.toHaveProperty('childArn');
  });

  it('refuses a malformed target and a joined broker without an instance (RecoveryTargetError)', () => {
    expect(() => refreshCascadeTarget({ cluster: 'orders' }, [], () => EC2)).toThrow(
      expect.objectContaining({
        name: 'RecoveryTargetError',
        message: expect.stringMatching(/^cascade-refresh input is not a cascade target: incidentId/),
      }),
    );
    expect(() => refreshCascadeTarget(input(), [9], () => EC2)).toThrow(
      /no instance is configured for broker 9 of orders/,
    );
  });
});

describe('start step', () => {
  it('includes brokers that joined the incident between the decision and the start, and says so', async () => {
    const store = incidentStore([3, 4, 5]);
    const t = await startCascade(storePieces(store), () => EC2, input());
    expect(t).toMatchObject({ brokerIds: [3, 4, 5], needsApproval: true });
    expect(t).not.toHaveProperty('grown');
    expect(store.timeline[0]?.detail).toMatch(
      /^cascade-recovery for brokers 3, 4, 5 of orders \(ec2\); 3 brokers down, so the recovery waits for approval; .*; brokers 3 joined the incident after the decision and are included$/,
    );
    const same = incidentStore([4, 5]);
    expect((await startCascade(storePieces(same), () => EC2, input())).brokerIds).toEqual([4, 5]);
    expect(same.timeline[0]?.detail).not.toMatch(/joined/);
  });
});

describe('cascade-refresh step (workflow steps Lambda)', () => {
  it('reads the incident, records a grown cascade on the timeline, and says nothing when it did not grow', async () => {
    const grownStore = incidentStore([3, 4, 5]);
    const r = await refreshCascade(storePieces(grownStore), () => EC2, {
      workflow: 'cascade-recovery',
      incidentId: 'inc-1',
      input: input(),
    });
    expect(r.grown).toBe('yes');
    expect(grownStore.timeline).toEqual([
      {
        at: expect.any(String),
        actor: 'workflow:cascade-recovery',
        action: 'cascade-grown',
        detail:
          'brokers 3 joined the cascade while cascade-recovery ran: re-planning for brokers 3, 4, 5; 3 brokers down, so the recovery waits for approval',
        result: 'approval-needed',
      },
    ]);
    const approved = incidentStore([3, 4, 5]);
    await refreshCascade(storePieces(approved), () => EC2, {
      workflow: 'cascade-recovery',
      incidentId: 'inc-1',
      input: input({ brokerIds: [4], approvedBrokerIds: [3, 4, 5] }),
    });
    expect(approved.timeline[0]).toMatchObject({
      detail:
        'brokers 3, 5 joined the cascade while cascade-recovery ran: re-planning for brokers 3, 4, 5; no approval needed',
      result: 'continue',
    });
    const same = incidentStore([4, 5]);
    expect(
      (
        await refreshCascade(storePieces(same), () => EC2, {
          workflow: 'cascade-recovery',
          incidentId: 'inc-1',
          input: input(),
        })
      ).grown,
    ).toBe('no');
    expect(same.timeline).toEqual([]);
  });

  it('is a step of the workflow steps Lambda; an unknown cluster is a RecoveryTargetError', async () => {
    const store = incidentStore([3, 4, 5]);
    const steps = makeWorkflowStepsHandler({
      ...storePieces({
        ...store,
        setStatus: async () => ({}) as never,
        recordHeal: async () => undefined,
        releaseLock: async () => true,
        checkRun: async () => undefined,
      }),
      targets: () => [EC2],
      now: () => new Date(),
      diskCriticalPercent: 90,
    });
    const step = WorkflowStepSchema.parse({
      step: 'cascade-refresh',
      workflow: 'cascade-recovery',
      incidentId: 'inc-1',
      input: input(),
    });
    await expect(steps(step)).resolves.toMatchObject({ grown: 'yes', brokerIds: [3, 4, 5] });
    const unknown = WorkflowStepSchema.parse({
      step: 'cascade-refresh',
      workflow: 'cascade-recovery',
      incidentId: 'inc-1',
      input: input({ cluster: 'payments' }),
    });
    await expect(steps(unknown)).rejects.toMatchObject({
      name: 'RecoveryTargetError',
      message: 'cluster payments is not configured for recovery workflows',
    });
  });
});
