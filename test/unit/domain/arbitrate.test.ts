import { describe, expect, it } from 'vitest';
import { arbitrate, workflowOf, type ArbitrationFacts, type ArbitrationStep } from '#domain/arbitrate.js';
import type { Decision, IncidentStatus, Workflow } from '#domain/types.js';

const ARN = 'arn:aws:states:eu-west-1:1:execution:kafka-heal-t';
const runNameOf = (w: Workflow) => `inc-1-${w}-1`;

function remediate(
  workflow: Workflow,
  brokerIds: number[],
  over: { dryRun?: boolean; action?: 'remediate' | 'await-approval'; type?: Decision['incidentType'] } = {},
): Decision {
  return {
    action: over.action ?? 'remediate',
    incidentType: over.type ?? 'broker-failure',
    severity: 'SEV-2',
    reasons: [`plan ${workflow}`],
    plan: { workflow, brokerIds, dryRun: over.dryRun ?? false, steps: [] },
  };
}
const escalate: Decision = {
  action: 'escalate',
  incidentType: 'cascade-failure',
  severity: 'SEV-1',
  reasons: ['3 of 3 brokers down'],
  page: true,
};
const suppressed: Decision = {
  action: 'ignore',
  incidentType: 'broker-failure',
  severity: 'SEV-2',
  reasons: ['broker 2 unreachable', 'maintenance window until 03:00'],
  suppressed: { by: 'maintenance-window', window: { start: '2026-11-22T01:00:00Z', end: '2026-11-22T03:00:00Z' } },
};
const nothing: Decision = { action: 'ignore', incidentType: 'broker-failure', severity: 'SEV-2', reasons: [] };

function facts(
  decided: Decision,
  acting: Decision,
  over: { status?: IncidentStatus; running?: string } = {},
): ArbitrationFacts {
  return {
    incident: { id: 'inc-1', type: acting.incidentType, status: over.status ?? 'open', executionArn: over.running },
    decided,
    acting,
    runNameOf,
    batchSize: 2,
    policyNote: 'policy /p/orders/policy: mode auto',
  };
}

const kinds = (steps: ArbitrationStep[]) =>
  steps.map((s) =>
    s.step === 'note'
      ? `note:${s.action}`
      : s.step === 'hold-back'
        ? `hold-back:${s.action}:${s.closeAsSuppressed ? 'close' : 'keep'}`
        : s.step,
  );

describe('arbitrate: the classifier steps for one incident of a batch', () => {
  const broker = remediate('broker-recovery', [2]);
  const cases: { name: string; f: ArbitrationFacts; steps: string[] }[] = [
    { name: 'a lone broker, nothing running: start', f: facts(broker, broker), steps: ['start'] },
    {
      name: 'its workflow already runs: say so, start nothing',
      f: facts(broker, broker, { running: `${ARN}:inc-1-broker-recovery-1`, status: 'remediating' }),
      steps: ['note:workflow-already-running'],
    },
    {
      name: 'grown into a cascade while broker-recovery runs: revise, supersede, start (the lock moves with the start)',
      f: facts(broker, remediate('cascade-recovery', [1, 2], { type: 'cascade-failure' }), {
        running: `${ARN}:inc-1-broker-recovery-1`,
        status: 'remediating',
      }),
      steps: ['note:decision-revised', 'supersede', 'start'],
    },
    {
      name: 'grown past the gates: revise, supersede, free the lock, start the ladder',
      f: facts(broker, escalate, { running: `${ARN}:inc-1-broker-recovery-1`, status: 'remediating' }),
      steps: ['note:decision-revised', 'supersede', 'release-lock', 'start'],
    },
    {
      name: 'now a dry run while a run remediates: supersede and free the lock',
      f: facts(broker, remediate('broker-recovery', [2, 3], { dryRun: true }), {
        running: `${ARN}:inc-1-broker-recovery-0`,
        status: 'remediating',
      }),
      steps: ['note:decision-revised', 'supersede', 'release-lock', 'start'],
    },
    {
      name: 'more brokers for the same plan: revise, start',
      f: facts(broker, remediate('broker-recovery', [2, 3])),
      steps: ['note:decision-revised', 'start'],
    },
    {
      name: 'approval now needed: revise, start',
      f: facts(broker, remediate('broker-recovery', [2], { action: 'await-approval' })),
      steps: ['note:decision-revised', 'start'],
    },
    {
      name: 'a maintenance window, open and idle: hold back and close as suppressed',
      f: facts(broker, suppressed),
      steps: ['note:decision-revised', 'hold-back:automatic-action-suppressed:close'],
    },
    {
      name: 'a maintenance window while a run works: hold back, the run is left to finish',
      f: facts(broker, suppressed, { running: `${ARN}:inc-1-broker-recovery-1`, status: 'remediating' }),
      steps: ['note:decision-revised', 'hold-back:automatic-action-suppressed:keep'],
    },
    {
      name: 'recorded as nothing to do, now a plan (the window ended): revise, start',
      f: facts(nothing, broker),
      steps: ['note:decision-revised', 'start'],
    },
    {
      name: 'nothing to do on an escalated incident: keep it',
      f: facts(nothing, nothing, { status: 'escalated' }),
      steps: ['hold-back:no-action:keep'],
    },
  ];
  it.each(cases)('$name', ({ f, steps }) => {
    expect(kinds(arbitrate(f))).toEqual(steps);
  });

  it('says what changed, where the policy came from and how many signals the batch had', () => {
    const [revised] = arbitrate(facts(broker, remediate('cascade-recovery', [1, 2], { type: 'cascade-failure' })));
    expect(revised).toEqual({
      step: 'note',
      action: 'decision-revised',
      detail:
        'remediate broker-recovery [2] -> remediate cascade-recovery [1,2] on the incident as it now stands (cascade-failure, 2 signal(s) of this batch, policy /p/orders/policy: mode auto)',
      result: 'remediate',
      reasons: ['plan cascade-recovery'],
    });
    expect(arbitrate(facts(remediate('broker-recovery', [2]), escalate))[0]).toMatchObject({
      detail: expect.stringContaining('remediate broker-recovery [2] -> escalate on the incident'),
    });
  });

  it('the supersede cause and the hold-back detail name the run and the reason', () => {
    const running = `${ARN}:inc-1-broker-recovery-1`;
    expect(arbitrate(facts(broker, escalate, { running })).find((s) => s.step === 'supersede')).toEqual({
      step: 'supersede',
      run: running,
      cause: 'incident inc-1 grew into cascade-failure; escalation takes over',
    });
    expect(arbitrate(facts(broker, suppressed, { running })).at(-1)).toMatchObject({
      detail: `maintenance window until 03:00 (the running ${running} is left to finish)`,
      why: 'maintenance window until 03:00',
    });
    expect(arbitrate(facts(nothing, nothing)).at(-1)).toMatchObject({
      detail: 'no action',
      why: 'no action',
      closeAsSuppressed: true,
    });
  });

  it('the start step carries the decision on the incident as it now stands', () => {
    const grown = remediate('cascade-recovery', [1, 2], { type: 'cascade-failure' });
    expect(arbitrate(facts(broker, grown)).at(-1)).toEqual({ step: 'start', decision: grown });
  });

  it('workflowOf: the plan, the ladder, or none', () => {
    expect(workflowOf(broker)).toBe('broker-recovery');
    expect(workflowOf(escalate)).toBe('escalation');
    expect(workflowOf(nothing)).toBeUndefined();
  });
});
