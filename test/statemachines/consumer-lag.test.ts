import { describe, expect, it } from 'vitest';
import {
  RESOURCES,
  parseDefinition,
  taskResources,
  walkStates,
  type AslDefinition,
} from '#local/stepfunctions/index.js';
import {
  HOOK_FUNCTION,
  HOOK_TOPIC,
  TEAM_TOPIC,
  CRITICAL_TOPIC,
  LAG_SUBSTITUTIONS,
  actions,
  clusterTarget,
  expectLockReleasedLast,
  finalState,
  runH4,
  withGroup,
} from './lag-quorum-fixtures.js';
import { expectHouseStyle, expectLockReleasedOnEveryPath, expectValidAsl } from '../support/asl.js';
import { SNAPSHOTS, aslText } from './recovery-fixtures.js';

const TEXT = aslText('consumer-lag');
const healthy = SNAPSHOTS.healthy;
// One partition of "payments": [committed, end] per reading.
const behind1 = withGroup(healthy, [[1000, 12_000]]);
const behind2 = withGroup(healthy, [[1500, 13_000]]); // offsets move, lag grows: WARN, 11,500 = SEV-3
const stillBehind = withGroup(healthy, [[2000, 14_000]]);
const caughtUp = withGroup(healthy, [[14_000, 14_000]]);
/** payments owned by its team (its topic) with a scale hook function, limit 1000. */
const ownedWithHook = () =>
  clusterTarget({
    consumerGroups: [
      {
        name: 'payments',
        ownerTeam: 'payments',
        ownerTopicArn: TEAM_TOPIC,
        maxOffsetLag: 1000,
        scaleHook: { kind: 'lambda', functionArn: HOOK_FUNCTION },
      },
    ],
  });

describe('statemachines/consumer-lag.asl.json: definition', () => {
  it('passes asl-validator as written and as rendered; rendering leaves no ${', () => {
    expectValidAsl(TEXT, LAG_SUBSTITUTIONS);
  });

  it('house style: Title Case, Comments on Choices and catches, States.ALL last and alone, bounded Tasks, no literal ARNs', () => {
    expectHouseStyle(TEXT);
  });

  it('uses only integrations the local runtime binds (the team and the hook are told by act-on-lag); re-evaluation backs off 60 s x2 capped at 600 s, 4 attempts', async () => {
    expect(taskResources(parseDefinition(TEXT, LAG_SUBSTITUTIONS))).toEqual([
      RESOURCES.lambdaInvoke,
      RESOURCES.startExecutionSync2,
    ]);
    const check = walkStates(JSON.parse(TEXT) as AslDefinition).find((s) => s.name === 'Check Lag Recovered')?.state;
    expect(check?.Retry?.[0]).toMatchObject({
      ErrorEquals: ['LagNotRecovered'],
      IntervalSeconds: 60,
      BackoffRate: 2,
      MaxDelaySeconds: 600,
      MaxAttempts: 4,
    });
    const { DEFAULT_LOCK_TTL_SECONDS } = await import('#functions/classify/handler.js');
    expect((JSON.parse(TEXT) as AslDefinition).TimeoutSeconds).toBeLessThan(DEFAULT_LOCK_TTL_SECONDS);
  });

  it('every path into a terminal state (other than bad input) passes Release Cluster Lock', () => {
    expectLockReleasedOnEveryPath(TEXT);
  });
});

describe('consumer-lag runs (aws-local-stepfunctions, per-Resource bindings)', () => {
  it('happy path: WARN over the window -> team notified with the evidence, scale hook called, recovered on re-evaluation -> resolved', async () => {
    const target = ownedWithHook();
    const run = await runH4({
      workflow: 'consumer-lag',
      target,
      input: { signal: { consumerGroup: 'payments' } },
      probes: [behind1, behind2, caughtUp],
    });
    expect(run.result.status).toBe('SUCCEEDED');
    expect(finalState(run)).toBe('Lag Recovered');
    // The happy path top to bottom: sampled until judged, acted on in one step, rechecked, resolved.
    expect(run.states).toEqual([
      'Check Input',
      'Record Start',
      'Handle Consumer Lag',
      'Sample Consumer Lag',
      'Is Lag Window Complete',
      'Wait Between Lag Samples',
      'Sample Consumer Lag',
      'Is Lag Window Complete',
      'Act On Lag',
      'Give Consumers Time',
      'Check Lag Recovered',
      'Resolve Incident',
      'Release Cluster Lock',
      'Choose Final State',
      'Lag Recovered',
    ]);
    expect(run.probeSteps).toEqual(['lag', 'lag', 'lag']);
    expect(run.published).toHaveLength(1);
    const notice = run.published[0] as { TopicArn: string; Subject: string; Message: string };
    expect(notice.TopicArn).toBe(TEAM_TOPIC);
    expect(notice.Subject).toBe('[SEV-3] kafka-heal: consumer group lag WARN');
    expect(JSON.parse(notice.Message)).toMatchObject({
      incidentId: 'inc-orders-h4',
      group: 'payments',
      ownerTeam: 'payments',
      status: 'WARN',
      severity: 'SEV-3',
      totalLag: 11_500,
      maxOffsetLag: 1000,
      evidence: [expect.stringMatching(/^payments-0: lag 11500, WARN/)],
    });
    expect(run.hookCalls).toEqual([
      expect.objectContaining({
        kind: 'kafka-heal/consumer-lag-scale',
        group: 'payments',
        status: 'WARN',
        totalLag: 11_500,
      }),
    ]);
    expect(actions(run)).toEqual([
      'recovery-started',
      'lag-evaluated',
      'team-notified',
      'scale-hook-called',
      'status-changed',
      'lock-released',
    ]);
    expect(run.store.timeline[1]?.detail).toMatch(
      /group payments WARN \(SEV-3\): total lag 11500 \(limit 1000\).*worst partitions: \["payments-0: lag 11500, WARN/,
    );
    expect(run.store.status).toBe('resolved');
    expect(run.store.heals).toEqual([expect.objectContaining({ cluster: 'orders', brokerIds: [] })]);
    expect(run.escalations).toEqual([]);
    expectLockReleasedLast(run);
  });

  it('false alarm: the group is within its limit over the window -> resolved, nobody notified, no hook', async () => {
    const run = await runH4({
      workflow: 'consumer-lag',
      input: { consumerGroup: 'payments' },
      probes: [withGroup(healthy, [[100, 600]]), withGroup(healthy, [[500, 700]])],
    });
    expect(finalState(run)).toBe('False Alarm Resolved');
    expect(run.probeSteps).toEqual(['lag', 'lag']);
    expect(run.published).toEqual([]);
    expect(run.store.heals).toEqual([]);
    expect(run.store.timeline.find((e) => e.action === 'status-changed')?.detail).toMatch(
      /false alarm: group payments recovered/,
    );
    expectLockReleasedLast(run);
  });

  it('retries exhausted: still behind after every re-evaluation -> escalated to the operators (1 + 4 attempts)', async () => {
    const run = await runH4({
      workflow: 'consumer-lag',
      input: { consumerGroup: 'payments' },
      probes: [behind1, behind2, stillBehind],
    });
    expect(finalState(run)).toBe('Handed To Operators');
    expect(run.calls.filter((c) => c.stateName === 'Check Lag Recovered').map((c) => c.error)).toEqual(
      Array(5).fill('LagNotRecovered'),
    );
    expect(run.published.map((p) => p.TopicArn)).toEqual([TEAM_TOPIC]);
    expect(run.store.status).toBe('escalated');
    expect(run.store.timeline.find((e) => e.action === 'status-changed')?.detail).toMatch(
      /^remediating -> escalated: LagNotRecovered: group payments WARN/,
    );
    expect(run.escalations).toEqual([expect.objectContaining({ TopicArn: CRITICAL_TOPIC })]);
    expectLockReleasedLast(run);
  });

  it('SEV-1 lag: the team is told and the operators are paged at once, no waiting', async () => {
    const run = await runH4({
      workflow: 'consumer-lag',
      input: { consumerGroup: 'payments' },
      probes: [withGroup(healthy, [[0, 2_000_000]]), withGroup(healthy, [[100, 2_100_000]])],
    });
    expect(finalState(run)).toBe('Handed To Operators');
    expect(run.states).not.toContain('Check Lag Recovered');
    expect(run.published.map((p) => p.TopicArn)).toEqual([TEAM_TOPIC]);
    expect(run.store.timeline.find((e) => e.action === 'status-changed')?.detail).toMatch(
      /SEV-1 consumer lag: group payments WARN \(SEV-1\)/,
    );
    expect(run.escalations).toHaveLength(1);
  });

  it('a STOP group (no members, no commits) is ERR; the SNS scale hook gets the request', async () => {
    const target = clusterTarget({
      consumerGroups: [
        {
          name: 'payments',
          ownerTopicArn: TEAM_TOPIC,
          maxOffsetLag: 1000,
          scaleHook: { kind: 'sns', topicArn: HOOK_TOPIC },
        },
      ],
    });
    const run = await runH4({
      workflow: 'consumer-lag',
      target,
      input: { consumerGroup: 'payments' },
      probes: [withGroup(healthy, [[1000, 12_000]], 0), withGroup(healthy, [[1000, 12_500]], 0), caughtUp],
    });
    expect(finalState(run)).toBe('Lag Recovered');
    expect(run.published.map((p) => p.TopicArn)).toEqual([TEAM_TOPIC, HOOK_TOPIC]);
    expect(JSON.parse(run.published[1]?.Message ?? '{}')).toMatchObject({
      kind: 'kafka-heal/consumer-lag-scale',
      status: 'ERR',
    });
    expect(run.store.timeline.find((e) => e.action === 'lag-evaluated')?.result).toBe('ERR');
  });

  it('a failing scale hook is recorded and does not stop the workflow', async () => {
    const target = clusterTarget({
      consumerGroups: [
        {
          name: 'payments',
          ownerTopicArn: TEAM_TOPIC,
          maxOffsetLag: 1000,
          scaleHook: { kind: 'lambda', functionArn: HOOK_FUNCTION },
        },
      ],
    });
    const run = await runH4({
      workflow: 'consumer-lag',
      target,
      input: { consumerGroup: 'payments' },
      probes: [behind1, behind2, caughtUp],
      scaleHookFails: true,
    });
    expect(finalState(run)).toBe('Lag Recovered');
    expect(run.store.timeline.find((e) => e.action === 'scale-hook-failed')).toMatchObject({
      result: 'failed',
      detail: expect.stringMatching(/failed: ScalerError/),
    });
  });

  it('a group nobody owns: no team notification, escalated to the operators', async () => {
    const run = await runH4({
      workflow: 'consumer-lag',
      input: { consumerGroup: 'payments' },
      target: clusterTarget({ consumerGroups: [] }),
      probes: [behind1, behind2],
    });
    expect(finalState(run)).toBe('Handed To Operators');
    expect(run.published).toEqual([]);
    expect(run.store.timeline.find((e) => e.action === 'status-changed')?.detail).toMatch(
      /no owning team is configured for group payments/,
    );
    expect(run.escalations).toHaveLength(1);
  });

  it("the team's topic fails -> the operators are told instead, and the scale hook is not called", async () => {
    const run = await runH4({
      workflow: 'consumer-lag',
      target: ownedWithHook(),
      input: { consumerGroup: 'payments' },
      probes: [behind1, behind2],
      snsDown: [TEAM_TOPIC],
    });
    expect(finalState(run)).toBe('Handed To Operators');
    expect(run.hookCalls).toEqual([]);
    expect(actions(run)).toEqual(['recovery-started', 'lag-evaluated', 'status-changed', 'lock-released']);
    expect(run.store.timeline.find((e) => e.action === 'status-changed')?.detail).toMatch(
      /the owning team payments could not be notified on .*payments-team \(SNS.NotFoundException\)/,
    );
    expectLockReleasedLast(run);
  });

  it('dryRun: evaluates (read-only), records the notification and hook as planned, makes ZERO mutating calls', async () => {
    const target = ownedWithHook();
    const run = await runH4({
      workflow: 'consumer-lag',
      target,
      input: { consumerGroup: 'payments', dryRun: true },
      probes: [behind1, behind2],
    });
    expect(run.result.status).toBe('SUCCEEDED');
    expect(run.published).toEqual([]);
    expect(run.hookCalls).toEqual([]);
    expect(run.calls.filter((c) => c.resource === RESOURCES.snsPublish)).toEqual([]);
    expect(run.calls.filter((c) => (c.input as { FunctionName?: string }).FunctionName === HOOK_FUNCTION)).toEqual([]);
    const planned = run.store.timeline.filter((e) => e.action === 'planned-action');
    expect(planned).toEqual([
      expect.objectContaining({
        result: 'dry-run',
        detail: `would publish the lag evidence to the owning team payments on ${TEAM_TOPIC}, call the scale hook (lambda ${HOOK_FUNCTION}), re-evaluate with backoff and escalate by severity (SEV-3)`,
      }),
    ]);
    expect(run.store.timeline[0]?.detail).toMatch(/dry run/);
    expect(run.store.status).toBe('escalated');
    expect(run.store.timeline.find((e) => e.action === 'status-changed')?.detail).toBe(
      'remediating -> escalated: dry run: the owning team notification and the scale hook were planned and recorded, not performed',
    );
    expect(actions(run)).toEqual([
      'recovery-started',
      'lag-evaluated',
      'planned-action',
      'status-changed',
      'lock-released',
    ]);
    expect(run.store.timeline.at(-1)).toMatchObject({ action: 'lock-released', result: 'false' });
  });

  it('no consumer group in the input -> escalated from Record Start, lock released', async () => {
    const run = await runH4({ workflow: 'consumer-lag', probes: [behind1] });
    expect(finalState(run)).toBe('Handed To Operators');
    expect(run.probeSteps).toEqual([]);
    expect(run.store.timeline.find((e) => e.action === 'status-changed')?.detail).toMatch(
      /RecoveryTargetError: incident inc-orders-h4 names no consumer group/,
    );
    expectLockReleasedLast(run);
  });

  it('the group cannot be read -> retried, then escalated', async () => {
    const run = await runH4({ workflow: 'consumer-lag', input: { consumerGroup: 'ghost' }, probes: [behind1] });
    expect(finalState(run)).toBe('Handed To Operators');
    expect(run.calls.filter((c) => c.stateName === 'Sample Consumer Lag').map((c) => c.error)).toEqual(
      Array(3).fill('ConsumerGroupUnreadable'),
    );
    expect(run.store.timeline.find((e) => e.action === 'status-changed')?.detail).toMatch(
      /ConsumerGroupUnreadable: group ghost on orders could not be read/,
    );
  });
});
