import { describe, expect, it } from 'vitest';
import {
  parseDefinition,
  taskResources,
  walkStates,
  type AslDefinition,
  type AslState,
} from '#local/stepfunctions/index.js';
import {
  CS_PRIMARY,
  DR_ENDPOINT,
  DR_SUBSTITUTIONS,
  PRIMARY_ENDPOINT,
  RECORD,
  ZONE_ID,
  mutatingCalls,
  recordValue,
  runDr,
  type DrRun,
} from './dr-fixtures.js';
import { aslProblems, expectWellFormedWorkflow, lockProblems, styleProblems } from '../support/asl.js';
import { aslText } from './recovery-fixtures.js';
import { DR_DIRECTIONS } from '#infra/constructs/dr-switch.js';
import { RENDERED_WORKFLOWS, renderTemplate, workflowNames } from '#infra/constructs/workflows.js';

const WORKFLOWS = ['dr-failover', 'dr-failback'] as const;

/** A state by name, top level or inside the runbook's Parallel (the object itself, so a test can break it). */
function stateNamed(def: AslDefinition, name: string): AslState {
  const found = walkStates(def).find((v) => v.name === name);
  if (!found) throw new Error(`no state ${name}`);
  return found.state;
}

function stepsCalled(run: DrRun): string[] {
  return run.calls
    .filter((c) => (c.input as { FunctionName?: string }).FunctionName === DR_SUBSTITUTIONS.WorkflowStepsFunctionArn)
    .map((c) => (c.input as { Payload: { step: string; action?: string } }).Payload)
    .map((p) => (p.step === 'record' ? `record:${p.action}` : p.step));
}

function expectLockReleasedLast(run: DrRun): void {
  const steps = stepsCalled(run);
  expect(steps.at(-1), 'release-lock is the last step on every path').toBe('release-lock');
  expect(steps.filter((s) => s === 'release-lock')).toHaveLength(1);
  expect(run.store.lock).toBeUndefined();
}

const changes = (run: DrRun) =>
  run.calls
    .filter((c) => c.resource.endsWith('route53:changeResourceRecordSets'))
    .map((c) => {
      const set = (
        c.input as {
          ChangeBatch: {
            Changes: {
              Action: string;
              ResourceRecordSet: { Name: string; TTL: number; ResourceRecords: { Value: string }[] };
            }[];
          };
        }
      ).ChangeBatch.Changes[0];
      return `${set?.Action} ${set?.ResourceRecordSet.Name} ${set?.ResourceRecordSet.ResourceRecords[0]?.Value} ${set?.ResourceRecordSet.TTL}`;
    });

describe.each(WORKFLOWS)('statemachines/%s.asl.json: definition', (name) => {
  const TEXT = aslText(name);

  it('passes asl-validator as written and as rendered, follows the house style, releases the lock before every terminal state', () => {
    expectWellFormedWorkflow(TEXT, DR_SUBSTITUTIONS);
    expect((JSON.parse(TEXT) as AslDefinition).TimeoutSeconds, 'inside the 60-minute cluster lock').toBe(3300);
  });

  it('uses only the integrations the local runtime binds', () => {
    expect(taskResources(parseDefinition(TEXT, DR_SUBSTITUTIONS))).toEqual([
      'arn:aws:states:::aws-sdk:route53:changeResourceRecordSets',
      'arn:aws:states:::aws-sdk:route53:getChange',
      'arn:aws:states:::aws-sdk:route53:listResourceRecordSets',
      'arn:aws:states:::lambda:invoke',
      'arn:aws:states:::lambda:invoke.waitForTaskToken',
      'arn:aws:states:::sns:publish',
      'arn:aws:states:::states:startExecution.sync:2',
    ]);
  });

  it('follows the approvals contract: literal timeout, exact actions, token, rejection and timeout caught first', () => {
    const def = JSON.parse(TEXT) as AslDefinition;
    const a = stateNamed(def, 'Request Approval') as AslState & {
      Parameters: { Payload: Record<string, unknown> };
    };
    expect(a.TimeoutSeconds).toBe(3600);
    expect(a.Parameters.Payload).toMatchObject({
      workflow: name,
      'actions.$': '$.target.actions',
      'taskToken.$': '$$.Task.Token',
      'summary.$': '$.target.summary',
    });
    // Rejection and timeout go to the step that records the answer; anything else to the runbook's one Catch.
    expect(a.Catch?.map((c) => [c.ErrorEquals[0], c.Next])).toEqual([
      ['ApprovalRejected', 'Record Approval Decision'],
      ['States.Timeout', 'Record Approval Decision'],
    ]);
    expect(walkStates(def).find((v) => v.name === 'Request Approval')?.parents).toEqual(['Switch Clients']);
    expect(def.States['Switch Clients']?.Catch?.at(-1)).toMatchObject({
      ErrorEquals: ['States.ALL'],
      Next: 'Escalate Incident',
    });
  });
});

describe('one definition, statemachines/dr-switch.asl.json, for both directions', () => {
  it('each direction is rendered from the template with every value of its table used and no template placeholder left', () => {
    for (const name of WORKFLOWS) {
      expect(RENDERED_WORKFLOWS[name]).toEqual({ template: 'dr-switch', substitutions: DR_DIRECTIONS[name] });
      const text = aslText(name);
      expect(text).not.toMatch(/\$\{Dr/);
      expect(JSON.parse(text)).toHaveProperty(['States', DR_DIRECTIONS[name].DrDoneState as string]);
    }
    expect(workflowNames()).toEqual(expect.arrayContaining([...WORKFLOWS]));
    expect(workflowNames()).not.toContain('dr-switch');
  });

  it('a template placeholder without a value, or a value the template never uses, fails the render', () => {
    expect(() => renderTemplate('{"a": "${DrOne} ${DrTwo} ${Partition}"}', { DrOne: '1' }, 't')).toThrow(
      't: no value for ${DrTwo}',
    );
    expect(() => renderTemplate('{"a": "${DrOne}"}', { DrOne: '1', DrExtra: 'x' }, 't')).toThrow(
      't: DrExtra never used in the template',
    );
    expect(renderTemplate('{"a": "${DrOne} ${Partition}"}', { DrOne: '1' }, 't')).toBe('{"a": "1 ${Partition}"}');
  });
});

describe('the definition checks catch what they are for', () => {
  it('a broken copy of dr-failover shows each violation', () => {
    const def = JSON.parse(aslText('dr-failover')) as AslDefinition;
    delete stateNamed(def, 'Is Dry Run').Comment;
    stateNamed(def, 'Get Change Status').TimeoutSeconds = undefined as unknown as number;
    (def.States['Resolve Incident'] as AslState).Next = 'Clients On Standby';
    def.States['Mark escalated'] = def.States['Describe Unrecorded Escalation'] as AslState;
    // Fencing (docs/incident-store.md, "Runs and the lock"): a step that does not name its run, a
    // superseded catch behind another one, a plain transition into the superseded end.
    const escalate = (
      def.States['Escalate Incident'] as AslState & { Parameters: { Payload: Record<string, unknown> } }
    ).Parameters.Payload;
    delete escalate['execution.$'];
    const start = def.States['Record Start'] as AslState;
    start.Catch = [...(start.Catch ?? []).slice(1), ...(start.Catch ?? []).slice(0, 1)];
    (def.States['Release Cluster Lock'] as AslState).Catch = [
      { ErrorEquals: ['States.ALL'], Next: 'Stop As Superseded', Comment: 'x' } as never,
    ];
    const text = JSON.stringify(def).replace('${NotificationTopicArn}', 'arn:aws:sns:eu-west-1:123456789012:x');
    expect(styleProblems(text)).toEqual([
      'Record Start: Catch States.ALL must be alone and last',
      'Is Dry Run: a Choice without a Comment saying why',
      'Get Change Status: a Task without TimeoutSeconds',
      'Mark escalated: not a Title Case name',
      'a literal ARN or partition (use a ${Placeholder}; integrations are arn:${Partition}:states:::...)',
    ]);
    expect(lockProblems(text)).toEqual([
      'Clients On Standby is reached from Resolve Incident, not through Release Cluster Lock',
      'Release Cluster Lock: only RunSupersededError may lead to Stop As Superseded',
      'Record Start: the start step must first catch RunSupersededError into Stop As Superseded',
      'Escalate Incident: the escalate step does not name its run (execution.$: $$.Execution.Id)',
    ]);
    expect(aslProblems(text, DR_SUBSTITUTIONS)).toContain('substitution NotificationTopicArn is never used');
  });
});

describe('dr-failover runs (aws-local-stepfunctions, per-Resource bindings, a local Route 53 zone)', () => {
  it('happy path with approval: prerequisites, backup, approval, UPSERT, PENDING -> INSYNC, canary through the name, notify, resolve', async () => {
    const run = await runDr({ workflow: 'dr-failover' });
    expect(run.result.status, JSON.stringify(run.result)).toBe('SUCCEEDED');
    expect(run.states.at(-1)).toBe('Clients On Standby');
    expect(recordValue(run.zone)).toBe(DR_ENDPOINT);
    expect(changes(run)).toEqual([`UPSERT ${RECORD} ${DR_ENDPOINT} 60`]);
    // getChange answered PENDING twice before INSYNC: the poll loop ran.
    expect(run.states.filter((s) => s === 'Get Change Status')).toHaveLength(3);
    // The primary confirmed down by 3 probes from inside its own VPC, before anything else.
    expect(run.clusterSteps.map((c) => `${c.fn === CS_PRIMARY ? 'primary' : 'dr'} ${c.step}`)).toEqual([
      'primary dr-site-probe',
      'primary dr-site-probe',
      'primary dr-site-probe',
      'dr dr-prerequisites',
      'dr dr-backup',
      'dr dr-canary',
    ]);
    expect(run.approvals).toHaveLength(1);
    expect(run.approvals[0]?.request).toMatchObject({
      workflow: 'dr-failover',
      cluster: 'events',
      incidentType: 'site-failure',
      summary: `dr-failover: move clients of ${RECORD} from events to events-dr`,
    });
    expect(run.approvals[0]?.request.actions).toEqual([
      'Back up topic configs and consumer group offsets of events-dr',
      `Route 53 UPSERT ${RECORD} CNAME ${DR_ENDPOINT} (TTL 60) in hosted zone ${ZONE_ID}, wait until INSYNC`,
      `Send a canary through ${RECORD}:9092; roll the record back to its previous value if it does not reach events-dr`,
    ]);
    expect(run.approvals[0]?.request.evidence?.[0]).toBe(
      'no broker of events answered (down, no bootstrap server answered)',
    );
    expect(run.approvals[0]?.request.evidence?.[1]).toMatch(/replication lag 0.042 s/);
    expect(run.store.timeline.map((e) => e.action)).toEqual([
      'recovery-started',
      'primary-down-confirmed',
      'dr-prerequisites-met',
      'state-backed-up',
      'approval-granted',
      'route53-upsert',
      'canary-verified',
      'status-changed',
      'lock-released',
    ]);
    expect(run.store.timeline.find((e) => e.action === 'route53-upsert')?.detail).toMatch(
      new RegExp(`^${RECORD} CNAME ${PRIMARY_ENDPOINT} -> ${DR_ENDPOINT} \\(change /change/C`),
    );
    expect(run.store.status).toBe('resolved');
    expect(run.store.heals).toEqual([expect.objectContaining({ cluster: 'events', brokerIds: [] })]);
    expect(run.published).toEqual([
      expect.objectContaining({
        TopicArn: DR_SUBSTITUTIONS.NotificationTopicArn,
        Subject: 'kafka-heal: events -> events-dr (dr-failover)',
      }),
    ]);
    expect((run.published[0] as { Message: string }).Message).toMatch(/Replication lag before the switch: 0.042 s/);
    expectLockReleasedLast(run);
  });

  it("automatic by the cluster's policy: no approval asked, the timeline says so", async () => {
    const run = await runDr({ workflow: 'dr-failover', automatic: true });
    expect(run.states.at(-1)).toBe('Clients On Standby');
    expect(run.approvals).toEqual([]);
    expect(run.store.timeline.map((e) => e.action)).toContain('approval-not-required');
    expect(recordValue(run.zone)).toBe(DR_ENDPOINT);
  });

  it('prerequisites still unmet after the retries -> escalate; nothing backed up, no approval, the record untouched', async () => {
    const run = await runDr({ workflow: 'dr-failover', prerequisitesFailures: Infinity });
    expect(run.states.at(-1)).toBe('Handed To Operators');
    expect(run.clusterSteps.map((c) => c.step)).toEqual([
      'dr-site-probe',
      'dr-site-probe',
      'dr-site-probe',
      'dr-prerequisites',
      'dr-prerequisites',
      'dr-prerequisites',
      'dr-prerequisites',
    ]);
    expect(mutatingCalls(run)).toEqual([]);
    expect(recordValue(run.zone)).toBe(PRIMARY_ENDPOINT);
    expect(run.store.status).toBe('escalated');
    expect(run.store.timeline.find((e) => e.action === 'status-changed')?.detail).toMatch(
      /DrPrerequisitesNotMet: events-dr is not ready: replication lag 75.000 s exceeds the allowed 60 s/,
    );
    expectLockReleasedLast(run);
  });

  it('prerequisites met on a retry: the switch goes ahead', async () => {
    const run = await runDr({ workflow: 'dr-failover', prerequisitesFailures: 2, automatic: true });
    expect(run.states.at(-1)).toBe('Clients On Standby');
    expect(run.clusterSteps.filter((c) => c.step === 'dr-prerequisites')).toHaveLength(3);
  });

  it('approval rejected -> recorded with who and why, escalated, the record untouched', async () => {
    const run = await runDr({
      workflow: 'dr-failover',
      approval: { decision: 'rejected', by: 'lead@example.com', reason: 'primary is coming back' },
    });
    expect(run.states.at(-1)).toBe('Handed To Operators');
    const rejected = run.store.timeline.find((e) => e.action === 'approval-rejected');
    expect(rejected?.detail).toMatch(/lead@example.com/);
    expect(rejected?.detail).toMatch(/primary is coming back/);
    expect(changes(run)).toEqual([]);
    expect(recordValue(run.zone)).toBe(PRIMARY_ENDPOINT);
    expect(run.store.status).toBe('escalated');
    expectLockReleasedLast(run);
  });

  it('approval timed out -> recorded, escalated, the record untouched', async () => {
    const run = await runDr({ workflow: 'dr-failover', approval: 'never' });
    expect(run.states.at(-1)).toBe('Handed To Operators');
    expect(run.store.timeline.map((e) => e.action)).toContain('approval-timed-out');
    expect(run.approvals[0]?.outcome).toBe('timed-out');
    expect(changes(run)).toEqual([]);
    expect(run.store.status).toBe('escalated');
    expectLockReleasedLast(run);
  });

  it('dryRun: reads (prerequisites, current record), records the approval and the switch it would make, ZERO mutating calls', async () => {
    const run = await runDr({ workflow: 'dr-failover', input: { dryRun: true } });
    expect(run.result.status).toBe('SUCCEEDED');
    expect(mutatingCalls(run)).toEqual([]);
    // The confirmation is read-only: it runs in a dry run too.
    expect(run.clusterSteps.map((c) => c.step)).toEqual([
      'dr-site-probe',
      'dr-site-probe',
      'dr-site-probe',
      'dr-prerequisites',
    ]);
    expect(run.approvals).toEqual([]);
    expect(recordValue(run.zone)).toBe(PRIMARY_ENDPOINT);
    const actions = run.store.timeline.map((e) => e.action);
    expect(actions).toEqual([
      'recovery-started',
      'primary-down-confirmed',
      'dr-prerequisites-met',
      'approval-planned',
      'planned-action',
      'status-changed',
      'lock-released',
    ]);
    expect(run.store.timeline.find((e) => e.action === 'planned-action')).toMatchObject({
      result: 'dry-run',
      detail: `would back up events-dr, then UPSERT ${RECORD} CNAME ${PRIMARY_ENDPOINT} -> ${DR_ENDPOINT} (TTL 60) in ${ZONE_ID}, wait for INSYNC, send a canary through ${RECORD}:9092 and roll back to ${PRIMARY_ENDPOINT} if it does not reach events-dr`,
    });
    expect(run.store.timeline[0]?.detail).toMatch(/dry run/);
    expect(run.store.status).toBe('escalated');
    expect(run.store.timeline.at(-1)).toMatchObject({ action: 'lock-released', result: 'false' });
  });

  it('dryRun with an automatic policy records no approval-planned', async () => {
    const run = await runDr({ workflow: 'dr-failover', input: { dryRun: true }, automatic: true });
    expect(mutatingCalls(run)).toEqual([]);
    expect(run.store.timeline.map((e) => e.action)).not.toContain('approval-planned');
  });

  it('canary fails through the name -> the record is rolled back to the value read before the switch, escalated', async () => {
    const run = await runDr({ workflow: 'dr-failover', canaryBroken: true, automatic: true });
    expect(run.states.at(-1)).toBe('Handed To Operators');
    expect(
      run.clusterSteps.filter((c) => c.step === 'dr-canary'),
      'first try + 4 retries',
    ).toHaveLength(5);
    expect(changes(run)).toEqual([`UPSERT ${RECORD} ${DR_ENDPOINT} 60`, `UPSERT ${RECORD} ${PRIMARY_ENDPOINT} 60`]);
    // The rollback is accepted; once it propagates the name servers answer the old value again.
    expect(
      run.zone.listResourceRecordSets({ HostedZoneId: ZONE_ID, StartRecordName: RECORD, MaxItems: '1' })
        .ResourceRecordSets[0]?.ResourceRecords,
    ).toEqual([{ Value: PRIMARY_ENDPOINT }]);
    expect(run.store.timeline.map((e) => e.action)).toEqual([
      'recovery-started',
      'primary-down-confirmed',
      'dr-prerequisites-met',
      'state-backed-up',
      'approval-not-required',
      'route53-upsert',
      'route53-rollback',
      'status-changed',
      'lock-released',
    ]);
    expect(run.store.timeline.find((e) => e.action === 'status-changed')?.detail).toMatch(
      new RegExp(`was not validated \\(CanaryFailed: .*rolled back to ${PRIMARY_ENDPOINT}`),
    );
    expect(run.published).toHaveLength(1); // the escalation page, no "done" notice
    expect((run.published[0] as { TopicArn: string }).TopicArn).toBe('arn:aws:sns:eu-west-1:123456789012:critical');
    expectLockReleasedLast(run);
  });

  it('the record is missing from the zone -> escalated before anything changes', async () => {
    const run = await runDr({ workflow: 'dr-failover', recordValue: null, automatic: true });
    expect(run.states.at(-1)).toBe('Handed To Operators');
    expect(mutatingCalls(run)).toEqual([]);
    expect(run.store.timeline.find((e) => e.action === 'status-changed')?.detail).toMatch(
      /the record kafka.example.com. \(CNAME\) is not in hosted zone/,
    );
  });

  it('a cluster without a DR pair -> escalated from Record Start', async () => {
    const run = await runDr({ workflow: 'dr-failover', input: { cluster: 'payments' } });
    expect(run.states.at(-1)).toBe('Handed To Operators');
    expect(run.store.timeline.find((e) => e.action === 'status-changed')?.detail).toMatch(
      /RecoveryTargetError: cluster payments is not configured/,
    );
    expect(run.clusterSteps).toEqual([]);
  });

  it('malformed input (no incident id) fails at once with no calls', async () => {
    const run = await runDr({ workflow: 'dr-failover', input: { incidentId: 42 } });
    expect(run.result).toMatchObject({ status: 'FAILED', error: 'MalformedEventError' });
    expect(run.calls).toEqual([]);
  });
});

describe('dr-failover confirms the primary down from inside its VPC before any DNS change, whatever the policy says', () => {
  /** Calls that touched Route 53 at all (reads included): a false alarm makes none. */
  const route53 = (run: DrRun) => run.calls.filter((c) => c.resource.includes(':route53:')).map((c) => c.stateName);
  const page = (run: DrRun) =>
    run.published.find((m) => String((m as { Subject?: string }).Subject).includes('SEV-2')) as
      { TopicArn: string; Subject: string; Message: string } | undefined;

  it('a site-down signal with a healthy primary (automatic failover on): resolved as a false alarm on the first probe, paged, no DNS call, nothing else asked', async () => {
    const run = await runDr({ workflow: 'dr-failover', automatic: true, primaryProbes: ['healthy'] });
    expect(run.result.status, JSON.stringify(run.result)).toBe('SUCCEEDED');
    expect(run.states.at(-1)).toBe('False Site Alarm Resolved');
    expect(run.clusterSteps).toEqual([{ fn: CS_PRIMARY, step: 'dr-site-probe' }]);
    expect(route53(run)).toEqual([]);
    expect(recordValue(run.zone)).toBe(PRIMARY_ENDPOINT);
    expect(run.approvals).toEqual([]);
    expect(run.store.status).toBe('resolved');
    expect(run.store.heals, 'a false alarm is no heal for the flap breaker').toEqual([]);
    const resolved = run.store.timeline.find((e) => e.action === 'status-changed');
    expect(resolved?.detail).toBe(
      'remediating -> resolved: false alarm: a site-down signal arrived for events but the primary answered on probe 1 from inside its VPC (events answered and is healthy); the record was not changed',
    );
    // The page: escalation-notify on the critical topic (SEV-2), saying what happened.
    expect(page(run)).toMatchObject({
      TopicArn: 'arn:aws:sns:eu-west-1:123456789012:critical',
      Subject: '[kafka-heal] SEV-2 site-failure on events',
    });
    expect(JSON.parse(page(run)?.Message ?? '{}')).toMatchObject({
      incidentId: 'inc-events-site',
      summary: expect.stringContaining('a site-down signal arrived for events but the primary answered'),
      reasons: ['events answered and is healthy'],
    });
    expect(run.published).toHaveLength(1);
    expectLockReleasedLast(run);
  });

  it('the primary answers on the 2nd of 3 probes: a false alarm after 2 probes, no DNS change', async () => {
    const run = await runDr({ workflow: 'dr-failover', automatic: true, primaryProbes: ['down', 'healthy'] });
    expect(run.states.at(-1)).toBe('False Site Alarm Resolved');
    expect(run.states.filter((s) => s === 'Probe Primary From Its VPC')).toHaveLength(2);
    expect(run.states.filter((s) => s === 'Wait Before Next Probe')).toHaveLength(1);
    expect(run.clusterSteps.map((c) => c.step)).toEqual(['dr-site-probe', 'dr-site-probe']);
    expect(route53(run)).toEqual([]);
    expect(mutatingCalls(run)).toEqual([]);
    expect(run.store.timeline.find((e) => e.action === 'status-changed')?.detail).toMatch(
      /answered on probe 2 from inside its VPC/,
    );
    expect(page(run)).toBeDefined();
    expectLockReleasedLast(run);
  });

  it('down on all 3 probes, 10 s apart: confirmed, then the switch goes ahead', async () => {
    const run = await runDr({ workflow: 'dr-failover', automatic: true, primaryProbes: ['down', 'down', 'down'] });
    expect(run.states.at(-1)).toBe('Clients On Standby');
    const wait = stateNamed(
      JSON.parse(aslText('dr-failover')) as AslDefinition,
      'Wait Before Next Probe',
    ) as AslState & {
      Seconds: number;
    };
    expect(wait.Seconds * (run.states.filter((s) => s === 'Wait Before Next Probe').length + 1), 'about 30 s').toBe(30);
    expect(run.store.timeline.find((e) => e.action === 'primary-down-confirmed')).toMatchObject({
      result: 'confirmed',
      detail:
        '3 consecutive probes from inside the VPC of events, 10 s apart; the last: no broker of events answered (down, no bootstrap server answered)',
    });
  });

  it('the primary answers but is not healthy (3rd probe degraded): not a site failure, escalated, nothing switched', async () => {
    const run = await runDr({ workflow: 'dr-failover', automatic: true, primaryProbes: ['down', 'down', 'degraded'] });
    expect(run.states.at(-1)).toBe('Handed To Operators');
    expect(route53(run)).toEqual([]);
    expect(run.store.status).toBe('escalated');
    expect(run.store.timeline.find((e) => e.action === 'status-changed')?.detail).toMatch(
      /probe 3 of 3 from inside the VPC of events: events answered \(degraded\): the site is not down/,
    );
    expectLockReleasedLast(run);
  });

  it("the primary's cluster steps function fails: the observer's failure is not the site's, escalated, nothing switched", async () => {
    const run = await runDr({ workflow: 'dr-failover', automatic: true, primaryProbes: ['down', 'error'] });
    expect(run.states.at(-1)).toBe('Handed To Operators');
    expect(route53(run)).toEqual([]);
    expect(run.clusterSteps.map((c) => c.step)).toEqual(['dr-site-probe', 'dr-site-probe']);
    expect(run.store.timeline.find((e) => e.action === 'status-changed')?.detail).toMatch(/timed out/);
  });

  it('with approval required, a healthy primary asks nobody: the false alarm comes first', async () => {
    const run = await runDr({ workflow: 'dr-failover', primaryProbes: ['healthy'] });
    expect(run.states.at(-1)).toBe('False Site Alarm Resolved');
    expect(run.approvals).toEqual([]);
  });
});

describe('dr-failback runs', () => {
  it("failback never takes failover's false-alarm path: a probe answering false-alarm escalates, nothing resolved or switched", async () => {
    const run = await runDr({ workflow: 'dr-failback', automatic: true, probeVerdict: 'false-alarm' });
    expect(run.states).not.toContain('Describe False Site Alarm');
    expect(run.states.at(-1)).toBe('Handed To Operators');
    expect(run.states).toContain('Primary Not Stable');
    expect(changes(run)).toEqual([]);
    expect(recordValue(run.zone)).toBe(DR_ENDPOINT);
    expect(run.store.status).toBe('escalated');
    expectLockReleasedLast(run);
  });

  it('the primary is not healthy on every probe: escalated, the clients stay on DR', async () => {
    const run = await runDr({ workflow: 'dr-failback', automatic: true, primaryProbes: ['healthy', 'down'] });
    expect(run.states.at(-1)).toBe('Handed To Operators');
    expect(changes(run)).toEqual([]);
    expect(recordValue(run.zone)).toBe(DR_ENDPOINT);
    expect(run.store.timeline.find((e) => e.action === 'status-changed')?.detail).toMatch(
      /probe 2 of 3 from inside the VPC of events: events is not healthy \(down, no bootstrap server answered\): clients are not moved back to it/,
    );
    expectLockReleasedLast(run);
  });

  it('happy path: the primary is checked (reverse replication from events-dr), the record goes back to it', async () => {
    const run = await runDr({ workflow: 'dr-failback' });
    expect(run.states.at(-1)).toBe('Clients Back On Primary');
    expect(recordValue(run.zone)).toBe(PRIMARY_ENDPOINT);
    expect(changes(run)).toEqual([`UPSERT ${RECORD} ${PRIMARY_ENDPOINT} 60`]);
    expect(run.clusterSteps.every((c) => c.fn.endsWith('cluster-steps-events'))).toBe(true);
    expect(run.clusterSteps.map((c) => c.step).slice(0, 4)).toEqual([
      'dr-site-probe',
      'dr-site-probe',
      'dr-site-probe',
      'dr-prerequisites',
    ]);
    expect(run.store.timeline.map((e) => e.action)).toContain('primary-up-confirmed');
    const prereq = run.calls.find((c) => c.stateName === 'Check Prerequisites')?.input as {
      Payload: Record<string, unknown>;
    };
    expect(prereq.Payload).toEqual({
      step: 'dr-prerequisites',
      cluster: 'events',
      sourceAlias: 'events-dr',
      maxLagSeconds: 60,
    });
    expect(run.published[0]).toMatchObject({ Subject: 'kafka-heal: events-dr -> events (dr-failback)' });
    expectLockReleasedLast(run);
  });

  it('validation failure -> rolled back to DR, escalated', async () => {
    const run = await runDr({ workflow: 'dr-failback', canaryBroken: true, automatic: true });
    expect(changes(run)).toEqual([`UPSERT ${RECORD} ${PRIMARY_ENDPOINT} 60`, `UPSERT ${RECORD} ${DR_ENDPOINT} 60`]);
    expect(run.store.status).toBe('escalated');
    expectLockReleasedLast(run);
  });

  it('dryRun: ZERO mutating calls', async () => {
    const run = await runDr({ workflow: 'dr-failback', input: { dryRun: true } });
    expect(mutatingCalls(run)).toEqual([]);
    expect(recordValue(run.zone)).toBe(DR_ENDPOINT);
  });
});
