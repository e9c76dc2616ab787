import { describe, expect, it } from 'vitest';
import { parseDefinition, taskResources, type AslDefinition, type AslState } from '#local/stepfunctions/index.js';
import {
  CASCADE_SUBSTITUTIONS,
  CLI,
  RESTART,
  cascadeSteps,
  cliActions,
  instanceOf,
  mutatingCommands,
  runCascade,
  type CascadeRun,
  type FakeCluster,
} from './cascade-fixtures.js';
import { expectHouseStyle, expectLockReleasedOnEveryPath, expectValidAsl } from '../support/asl.js';
import { aslText } from './recovery-fixtures.js';

const TEXT = aslText('cascade-recovery');

function expectLockReleasedLast(run: CascadeRun): void {
  const steps = cascadeSteps(run)
    .filter((s) => s.workflow === 'cascade-recovery')
    .map((s) => s.step);
  expect(steps.at(-1), 'release-lock is the last step on every path').toBe('release-lock');
  expect(steps.filter((s) => s === 'release-lock')).toHaveLength(1);
  expect(run.store.lock).toBeUndefined();
}

/** The throttle is removed whenever it was set: every set-producer-quota is followed by a remove. */
function expectThrottleRemoved(run: CascadeRun): void {
  const actions = cliActions(run);
  const set = actions.indexOf('set-producer-quota');
  if (set >= 0) expect(actions.slice(set)).toContain('remove-producer-quota');
  expect(actions.at(-1) === 'set-producer-quota').toBe(false);
}

const restarts = (run: CascadeRun) => run.commands.filter((c) => c.documentName === RESTART).map((c) => c.instanceId);
const actionsOf = (run: CascadeRun) => run.store.timeline.map((e) => e.action);
const statusDetail = (run: CascadeRun) => run.store.timeline.find((e) => e.action === 'status-changed')?.detail;

describe('statemachines/cascade-recovery.asl.json: definition', () => {
  it('passes asl-validator as written and as rendered, leaves no ${, follows the house style (Map states included)', () => {
    expectValidAsl(TEXT, CASCADE_SUBSTITUTIONS);
    expectHouseStyle(TEXT);
    const map = (JSON.parse(TEXT) as AslDefinition).States['Recover Brokers One At A Time'] as AslState & {
      ItemProcessor: AslDefinition;
    };
    expectHouseStyle(
      JSON.stringify({
        Comment:
          'the per-broker loop of cascade-recovery (one nested single-broker recovery per item), checked with the same house rules as the top level',
        ...map.ItemProcessor,
      }),
    );
  });

  it('recovers one broker at a time through nested executions; approval and verification follow the seed numbers', () => {
    const def = JSON.parse(TEXT) as AslDefinition;
    const map = def.States['Recover Brokers One At A Time'] as AslState & {
      MaxConcurrency: number;
      ItemProcessor: AslDefinition;
    };
    expect(map.Type).toBe('Map');
    expect(map.MaxConcurrency).toBe(1);
    expect((map.ItemProcessor.States['Recover Broker'] as AslState).Resource).toBe(
      'arn:${Partition}:states:::states:startExecution.sync:2',
    );
    const approval = def.States['Request Approval'] as AslState;
    expect(approval).toMatchObject({
      Resource: 'arn:${Partition}:states:::lambda:invoke.waitForTaskToken',
      TimeoutSeconds: 900,
    });
    expect(approval.Catch?.map((c) => c.ErrorEquals[0])).toEqual(['ApprovalRejected', 'States.Timeout', 'States.ALL']);
    const verify = def.States['Verify Cluster Recovered'] as AslState;
    expect(verify.Retry?.[0]).toMatchObject({
      ErrorEquals: ['ClusterNotRecovered'],
      IntervalSeconds: 10,
      BackoffRate: 1.5,
      MaxDelaySeconds: 120,
      MaxAttempts: 3,
    });
    expect(def.TimeoutSeconds).toBe(3300);
    // Kafka's CLI runs through the nested ssm-run workflow: no SSM call of its own.
    expect(taskResources(parseDefinition(TEXT, CASCADE_SUBSTITUTIONS))).toEqual([
      'arn:aws:states:::lambda:invoke',
      'arn:aws:states:::lambda:invoke.waitForTaskToken',
      'arn:aws:states:::states:startExecution.sync:2',
    ]);
  });

  it('every path into a terminal state (other than bad input) passes Release Cluster Lock', () => {
    expectLockReleasedOnEveryPath(TEXT);
  });
});

describe('cascade-recovery runs (aws-local-stepfunctions, nested broker-recovery, per-Resource bindings)', () => {
  it('happy path, 2 brokers: throttle, recover 2 then 3 by nested broker-recovery, elect leaders, remove throttle, verify, resolve', async () => {
    const run = await runCascade({ brokerIds: [2, 3] });
    expect(run.result.status).toBe('SUCCEEDED');
    expect(run.states.at(-1)).toBe('Cascade Recovered');
    expect(run.approvals).toEqual([]);
    expect(cliActions(run)).toEqual(['set-producer-quota', 'preferred-leader-election', 'remove-producer-quota']);
    const cli = run.commands.filter((c) => c.documentName === CLI);
    expect(cli.every((c) => c.instanceId === instanceOf(1))).toBe(true);
    expect(cli[0]?.parameters).toEqual({
      Action: ['set-producer-quota'],
      KafkaHome: ['/opt/kafka'],
      BootstrapServer: ['localhost:9091'],
      CommandConfig: ['none'],
      ProducerByteRate: ['2048'],
      EntityType: ['clients'],
      EntityName: ['default'],
    });
    expect(restarts(run)).toEqual([instanceOf(2), instanceOf(3)]);
    // one broker at a time: broker 3's child starts only after broker 2's finished
    const childStarts = run.states.filter((s) => s === 'broker-recovery/Check Input').length;
    expect(childStarts).toBe(2);
    expect(run.cluster.up).toEqual(new Set([1, 2, 3]));
    expect([...run.cluster.leaders.values()]).toEqual([1, 2, 3]);
    expect(run.store.status).toBe('resolved');
    expect(run.store.heals).toEqual([expect.objectContaining({ cluster: 'orders', brokerIds: [2, 3] })]);
    expect(actionsOf(run)).toEqual([
      'recovery-started',
      'recovery-planned',
      'producers-throttled',
      'recovery-started',
      'host-diagnosed',
      'broker-restarted',
      'nested-recovered',
      'lock-kept',
      'recovery-started',
      'host-diagnosed',
      'broker-restarted',
      'nested-recovered',
      'lock-kept',
      'leaders-elected',
      'throttle-removed',
      'status-changed',
      'lock-released',
    ]);
    expect(run.published).toEqual([]);
    expectLockReleasedLast(run);
  });

  it('orders the recovery with the known active controller last', async () => {
    const run = await runCascade({ brokerIds: [2, 3], setup: (c) => (c.controller = 2) });
    expect(run.states.at(-1)).toBe('Cascade Recovered');
    expect(restarts(run)).toEqual([instanceOf(3), instanceOf(2)]);
    expect(run.store.timeline.find((e) => e.action === 'recovery-planned')?.detail).toBe(
      'recover brokers 3, 2 one at a time, active controller 2 last',
    );
  });

  it('3 brokers down: approval granted -> recovered (the request names the exact actions)', async () => {
    const run = await runCascade({ brokerIds: [1, 2, 3], down: [2, 3] });
    expect(run.approvals).toHaveLength(1);
    expect(run.approvals[0]).toMatchObject({
      workflow: 'cascade-recovery',
      incidentId: 'inc-orders-broker-2',
      cluster: 'orders',
      severity: 'SEV-1',
      timeoutSeconds: 900,
    });
    // no host outside the incident: no CLI actions offered or run
    expect(run.approvals[0]?.actions).toEqual([
      'Recover brokers 1, 2, 3 one at a time, the active controller last, each with broker-recovery (diagnose, then restart the Kafka service through SSM)',
      'Verify: all brokers up, partitions in sync and balanced, consumer lag below 1000',
    ]);
    expect(actionsOf(run)).toContain('approval-granted');
    expect(actionsOf(run)).toContain('throttle-skipped');
    expect(cliActions(run)).toEqual([]);
    // broker 1 is up: left alone; 2 and 3 restarted
    expect(restarts(run)).toEqual([instanceOf(2), instanceOf(3)]);
    expect(run.states.at(-1)).toBe('Handed To Operators');
    // without an election, leadership stays on broker 1: verification fails -> escalated (seed: balanced partitions)
    expect(statusDetail(run)).toMatch(/ClusterNotRecovered: not recovered: leadership unbalanced/);
    expectLockReleasedLast(run);
  });

  it('approval rejected -> nothing changed, approval-rejected recorded, escalated and paged', async () => {
    const run = await runCascade({
      brokerIds: [1, 2, 3],
      down: [1, 2, 3],
      decide: () => ({ decision: 'rejected', by: 'oncall@example.com', reason: 'doing it by hand' }),
    });
    expect(run.result.status).toBe('SUCCEEDED');
    expect(run.states.at(-1)).toBe('Handed To Operators');
    expect(mutatingCommands(run)).toEqual([]);
    expect(run.reboots).toEqual([]);
    expect(actionsOf(run)).toContain('approval-rejected');
    expect(run.store.status).toBe('escalated');
    expect(statusDetail(run)).toMatch(/ApprovalRejected/);
    expect(run.published).toHaveLength(1);
    expectLockReleasedLast(run);
  });

  it('approval timed out -> approval-timed-out recorded, escalated, nothing changed', async () => {
    const run = await runCascade({ brokerIds: [1, 2, 3], down: [1, 2, 3], decide: () => 'never' });
    expect(run.states.at(-1)).toBe('Handed To Operators');
    expect(mutatingCommands(run)).toEqual([]);
    expect(actionsOf(run)).toContain('approval-timed-out');
    expect(statusDetail(run)).toMatch(/States.Timeout/);
    expectLockReleasedLast(run);
  });

  it('retries exhausted: a broker never rejoins -> its nested run stops, the next broker is not touched, the throttle is removed, escalated', async () => {
    const run = await runCascade({ brokerIds: [2, 3], setup: (c) => c.broken.add(2) });
    expect(run.result.status).toBe('SUCCEEDED');
    expect(run.states.at(-1)).toBe('Handed To Operators');
    expect(restarts(run)).toEqual([instanceOf(2)]);
    // The failed iteration fails the Map as in AWS: broker 3's nested run is never started (the
    // local runtime once started it beside the escalation path).
    expect(run.calls.filter((c) => c.stateName === 'Recover Broker')).toHaveLength(1);
    expect(run.states.filter((s) => s === 'broker-recovery/Check Input')).toHaveLength(1);
    expect(run.calls.filter((c) => c.stateName === 'Verify Broker Rejoined').map((c) => c.error)).toEqual(
      Array(4).fill('BrokerNotHealthy'),
    );
    expect(cliActions(run)).toEqual(['set-producer-quota', 'remove-producer-quota']);
    expect(actionsOf(run)).toContain('nested-stopped');
    expect(statusDetail(run)).toMatch(/a nested broker recovery did not bring its broker back/);
    expect(run.store.heals).toEqual([]);
    // one page, from the cascade (the nested run does not page)
    expect(run.published).toHaveLength(1);
    expectThrottleRemoved(run);
    expectLockReleasedLast(run);
  });

  it('verification failure (consumer lag stays at 1,000) -> escalated after 1 + 3 attempts, throttle removed first', async () => {
    const run = await runCascade({ brokerIds: [2, 3], setup: (c) => (c.lag = 1000) });
    expect(run.states.at(-1)).toBe('Handed To Operators');
    expect(run.calls.filter((c) => c.stateName === 'Verify Cluster Recovered').map((c) => c.error)).toEqual(
      Array(4).fill('ClusterNotRecovered'),
    );
    expect(cliActions(run)).toEqual(['set-producer-quota', 'preferred-leader-election', 'remove-producer-quota']);
    expect(statusDetail(run)).toMatch(/consumer lag not below 1000: orders-app \(1000\)/);
    expectLockReleasedLast(run);
  });

  it('verification succeeds once lag drops below 1,000 on a retry', async () => {
    // Consumers catch up only once every broker is back and leads its share again (after the election).
    const caughtUp = (c: FakeCluster) => c.up.size === 3 && [...c.leaders.values()].join() === '1,2,3';
    const run = await runCascade({
      brokerIds: [2, 3],
      setup: (c) => (c.lag = 1500),
      afterProbe: (c) => (c.lag = caughtUp(c) ? Math.max(0, c.lag - 600) : c.lag),
    });
    expect(run.states.at(-1)).toBe('Cascade Recovered');
    expect(run.calls.filter((c) => c.stateName === 'Verify Cluster Recovered').map((c) => c.error)).toEqual([
      'ClusterNotRecovered',
      undefined,
    ]);
    expect(run.store.timeline.find((e) => e.action === 'status-changed')?.detail).toMatch(/max consumer lag 900$/);
  });

  it('the leader election fails -> throttle still removed, escalated with the tool output', async () => {
    const run = await runCascade({
      brokerIds: [2, 3],
      cli: {
        'preferred-leader-election': {
          status: 'Failed',
          responseCode: 4,
          stdout:
            '{"result":"failed","action":"preferred-leader-election","exitCode":4,"message":"kafka-leader-election.sh exited with 1","output":""}\n',
          stderr: '',
        },
      },
    });
    expect(run.states.at(-1)).toBe('Handed To Operators');
    expect(cliActions(run)).toEqual(['set-producer-quota', 'preferred-leader-election', 'remove-producer-quota']);
    expect(statusDetail(run)).toMatch(/the preferred leader election ended Failed \(exit code 4\)/);
    expectLockReleasedLast(run);
  });

  it('the throttle command fails -> the quota is removed all the same, escalated with what the command printed', async () => {
    const run = await runCascade({
      brokerIds: [2, 3],
      cli: {
        'set-producer-quota': { status: 'Failed', responseCode: 3, stdout: '{"result":"failed"}\n', stderr: '' },
      },
    });
    expect(run.states.at(-1)).toBe('Handed To Operators');
    expect(cliActions(run)).toEqual(['set-producer-quota', 'remove-producer-quota']);
    expect(run.states).toContain('Was Throttle Sent');
    expect(restarts(run)).toEqual([]);
    expect(statusDetail(run)).toMatch(/CommandFailed: the producer throttle command ended Failed \(exit code 3\)/);
    expectThrottleRemoved(run);
    expectLockReleasedLast(run);
  });

  it('the CLI host is unreachable -> no throttle, nothing restarted, nothing to remove, escalated with the host', async () => {
    const run = await runCascade({ brokerIds: [2, 3], offline: [1] });
    expect(run.states.at(-1)).toBe('Handed To Operators');
    expect(run.commands).toEqual([]);
    expect(run.states).not.toContain('Remove Producer Throttle');
    expect(statusDetail(run)).toMatch(
      /HostUnreachable: the broker host i-0123456789abcdef1 is unreachable through SSM \(stopped, terminated or agent offline\)/,
    );
    expectLockReleasedLast(run);
  });

  it('the throttle cannot be removed -> escalated with the manual command', async () => {
    const run = await runCascade({
      brokerIds: [2, 3],
      cli: {
        'remove-producer-quota': { status: 'Failed', responseCode: 4, stdout: '{"result":"failed"}\n', stderr: '' },
      },
    });
    expect(run.states.at(-1)).toBe('Handed To Operators');
    expect(statusDetail(run)).toMatch(/the producer throttle on orders could not be removed: remove it by hand/);
    expectLockReleasedLast(run);
  });

  it('dryRun: records every planned action (approval, throttle, each broker, election), ZERO mutating calls, escalates', async () => {
    const run = await runCascade({ brokerIds: [2, 3], dryRun: true });
    expect(run.result.status).toBe('SUCCEEDED');
    expect(mutatingCommands(run)).toEqual([]);
    expect(run.reboots).toEqual([]);
    expect(run.approvals).toEqual([]);
    const planned = run.store.timeline.filter((e) => e.action === 'planned-action').map((e) => e.detail);
    expect(planned).toEqual([
      `would run ${CLI} on ${instanceOf(1)} (Action set-producer-quota, ProducerByteRate 2048, EntityType clients, EntityName default, BootstrapServer localhost:9091) to throttle producers while brokers 2, 3 recover, then remove-producer-quota`,
      `would run ${RESTART} on ${instanceOf(2)} (ServiceName kafka, ListenerPort 9092, ExpectedBrokerId 2) to restart broker 2, then verify it rejoins the ISR`,
      `would run ${RESTART} on ${instanceOf(3)} (ServiceName kafka, ListenerPort 9093, ExpectedBrokerId 3) to restart broker 3, then verify it rejoins the ISR`,
      `would run ${CLI} on ${instanceOf(1)} (Action preferred-leader-election, BootstrapServer localhost:9091) after the brokers recover`,
    ]);
    expect(run.store.status).toBe('escalated');
    expect(statusDetail(run)).toMatch(/dry run: the cascade recovery was planned and recorded, not performed/);
    expect(run.store.timeline.at(-1)).toMatchObject({ action: 'lock-released', result: 'false' });
  });

  it('dryRun with 3 brokers records the approval it would ask for and asks nobody', async () => {
    const run = await runCascade({ brokerIds: [1, 2, 3], dryRun: true });
    expect(run.approvals).toEqual([]);
    expect(run.store.timeline.find((e) => e.action === 'approval-planned')?.detail).toBe(
      'would ask for approval: Cascade on orders: 3 brokers down (1, 2, 3); recover them one at a time',
    );
    expect(mutatingCommands(run)).toEqual([]);
  });

  it('every broker came back by itself -> resolved as a false alarm, nothing run', async () => {
    const run = await runCascade({ brokerIds: [2, 3], down: [] });
    expect(run.states.at(-1)).toBe('False Alarm Resolved');
    expect(run.commands).toEqual([]);
    expect(run.store.heals).toEqual([]);
    expectLockReleasedLast(run);
  });

  it('an await-approval decision with 2 brokers (e.g. offline partitions open) asks a person before anything changes', async () => {
    const run = await runCascade({
      brokerIds: [2, 3],
      action: 'await-approval',
      decide: () => ({ decision: 'rejected', by: 'oncall@example.com', reason: 'not now' }),
    });
    expect(run.approvals).toHaveLength(1);
    expect(run.store.timeline[0]?.detail).toMatch(/the decision asked for approval, so the recovery waits for it/);
    expect(mutatingCommands(run)).toEqual([]);
    expect(run.states.at(-1)).toBe('Handed To Operators');
    expectLockReleasedLast(run);
  });

  it('MSK: no throttle or election (recorded why), brokers rebooted one at a time by nested msk-broker-recovery', async () => {
    const run = await runCascade({ brokerIds: [2, 3], platform: 'msk' });
    expect(run.reboots.map((r) => r.brokerIds)).toEqual([['2'], ['3']]);
    expect(run.commands).toEqual([]);
    expect(run.store.timeline.find((e) => e.action === 'throttle-skipped')?.detail).toMatch(/^MSK: no broker host/);
    expect(run.states.filter((st) => st === 'msk-broker-recovery/Reboot Broker')).toHaveLength(2);
    expect(run.states.at(-1)).toBe('Cascade Recovered');
    expect(run.store.status).toBe('resolved');
    expectLockReleasedLast(run);
  });
});

describe('cascade-recovery when the cascade grows while it runs (the incident gains brokers; the run re-reads it)', () => {
  const five = [1, 2, 3, 4, 5];
  const order = (run: CascadeRun, ...actions: string[]) => actions.map((a) => actionsOf(run).indexOf(a));
  /** Brokers 4 and 5 down; broker 3 joins the incident right after broker 5's restart (`fault` says what happens to it). */
  const joinAfterBroker5 = (fault: (c: FakeCluster) => void) =>
    runCascade({
      brokerIds: [4, 5],
      clusterBrokers: five,
      afterRestart: (broker, c, store) => {
        if (broker !== 5) return;
        fault(c);
        store.brokers = [3, 4, 5];
      },
    });

  it('a third broker joins before the first restart: re-planned, one approval for all three before any broker is touched, throttle set once', async () => {
    const run = await runCascade({
      brokerIds: [4, 5],
      clusterBrokers: five,
      down: [3, 4, 5],
      // broker 3's alarm lands after the run planned 4 and 5
      afterProbe: (_c, n, store) => {
        if (n === 1) store.brokers = [3, 4, 5];
      },
    });
    expect(run.states.at(-1)).toBe('Cascade Recovered');
    expect(run.approvals).toHaveLength(1);
    expect(run.approvals[0]?.summary).toBe('Cascade on orders: 3 brokers down (3, 4, 5); recover them one at a time');
    expect(run.store.timeline.find((e) => e.action === 'cascade-grown')).toMatchObject({
      detail:
        'brokers 3 joined the cascade while cascade-recovery ran: re-planning for brokers 3, 4, 5; 3 brokers down, so the recovery waits for approval',
      result: 'approval-needed',
    });
    const [grown, granted, restarted] = order(run, 'cascade-grown', 'approval-granted', 'broker-restarted');
    expect(grown).toBeGreaterThanOrEqual(0);
    expect(granted).toBeGreaterThan(grown as number);
    expect(restarted).toBeGreaterThan(granted as number);
    expect(restarts(run)).toEqual([instanceOf(3), instanceOf(4), instanceOf(5)]);
    expect(cliActions(run)).toEqual(['set-producer-quota', 'preferred-leader-election', 'remove-producer-quota']);
    expect(run.cluster.up).toEqual(new Set(five));
    expect(run.store.heals).toEqual([expect.objectContaining({ brokerIds: [3, 4, 5] })]);
    expect(run.store.status).toBe('resolved');
    expectThrottleRemoved(run);
    expectLockReleasedLast(run);
  });

  it('a third broker joined between the decision and the start: the first plan and the one approval cover all three', async () => {
    const run = await runCascade({
      brokerIds: [4, 5],
      clusterBrokers: five,
      down: [3, 4, 5],
      incidentBrokers: [3, 4, 5],
    });
    expect(run.states.at(-1)).toBe('Cascade Recovered');
    expect(run.approvals.map((a) => a.summary)).toEqual([
      'Cascade on orders: 3 brokers down (3, 4, 5); recover them one at a time',
    ]);
    expect(actionsOf(run)).not.toContain('cascade-grown');
    expect(restarts(run)).toEqual([instanceOf(3), instanceOf(4), instanceOf(5)]);
  });

  it('a third broker fails while the first two are recovered: asked for after them, recovered by the same run, then the election and verification', async () => {
    const run = await joinAfterBroker5((c) => c.crash(3));
    expect(run.states.at(-1)).toBe('Cascade Recovered');
    expect(restarts(run)).toEqual([instanceOf(4), instanceOf(5), instanceOf(3)]);
    expect(run.approvals).toHaveLength(1);
    // 4 and 5 were a cascade of two (no approval); broker 3 made it three: approved before it was touched
    const restartedAt = run.store.timeline.flatMap((e, i) => (e.action === 'broker-restarted' ? [i] : []));
    const [granted] = order(run, 'approval-granted');
    expect(restartedAt[1]).toBeLessThan(granted as number);
    expect(restartedAt[2]).toBeGreaterThan(granted as number);
    expect(run.states.filter((st) => st === 'Refresh Brokers After Recovery')).toHaveLength(2);
    expect(cliActions(run)).toEqual(['set-producer-quota', 'preferred-leader-election', 'remove-producer-quota']);
    expect([...run.cluster.leaders.values()]).toEqual(five);
    expect(run.store.heals).toEqual([expect.objectContaining({ brokerIds: [3, 4, 5] })]);
    expectLockReleasedLast(run);
  });

  it('a broker that joined the incident but is up on the fresh probe is left alone: no approval, on to the election, resolved (not a false alarm)', async () => {
    const run = await joinAfterBroker5(() => undefined);
    expect(run.states.at(-1)).toBe('Cascade Recovered');
    expect(run.approvals).toEqual([]);
    expect(restarts(run)).toEqual([instanceOf(4), instanceOf(5)]);
    expect(run.store.timeline.filter((e) => e.action === 'recovery-planned').map((e) => e.detail)).toEqual([
      'recover brokers 4, 5 one at a time',
      'no broker of 3, 4, 5 is down any more; up again, left alone: 3, 4, 5',
    ]);
    expect(run.store.status).toBe('resolved');
    expectLockReleasedLast(run);
  });

  it('an approved cascade of three grows to four: the new broker is asked for again before it is touched', async () => {
    const run = await runCascade({
      brokerIds: [3, 4, 5],
      clusterBrokers: five,
      afterRestart: (broker, c, store) => {
        if (broker !== 5) return;
        c.crash(2);
        store.brokers = [2, 3, 4, 5];
      },
    });
    expect(run.states.at(-1)).toBe('Cascade Recovered');
    expect(run.approvals.map((a) => a.summary)).toEqual([
      'Cascade on orders: 3 brokers down (3, 4, 5); recover them one at a time',
      'Cascade on orders: 4 brokers down (2, 3, 4, 5); recover them one at a time',
    ]);
    expect(restarts(run)).toEqual([instanceOf(3), instanceOf(4), instanceOf(5), instanceOf(2)]);
    const granted = run.store.timeline.flatMap((e, i) => (e.action === 'approval-granted' ? [i] : []));
    const restarted = run.store.timeline.flatMap((e, i) => (e.action === 'broker-restarted' ? [i] : []));
    expect(restarted[3]).toBeGreaterThan(granted[1] as number);
    expect(run.store.heals).toEqual([expect.objectContaining({ brokerIds: [2, 3, 4, 5] })]);
    expectThrottleRemoved(run);
    expectLockReleasedLast(run);
  });

  it('the cascade grows after the throttle and the new approval is rejected: the throttle is removed before escalating', async () => {
    const run = await runCascade({
      brokerIds: [4, 5],
      clusterBrokers: five,
      decide: () => ({ decision: 'rejected', by: 'oncall@example.com', reason: 'no' }),
      afterRestart: (broker, c, store) => {
        if (broker !== 5) return;
        c.crash(3);
        store.brokers = [3, 4, 5];
      },
    });
    expect(run.states.at(-1)).toBe('Handed To Operators');
    expect(restarts(run)).toEqual([instanceOf(4), instanceOf(5)]);
    expect(cliActions(run)).toEqual(['set-producer-quota', 'remove-producer-quota']);
    const [rejected, removed] = order(run, 'approval-rejected', 'throttle-removed');
    expect(removed).toBeGreaterThan(rejected as number);
    expect(statusDetail(run)).toMatch(/ApprovalRejected/);
    expectThrottleRemoved(run);
    expectLockReleasedLast(run);
  });

  it('the cascade grows before the first restart and every broker is back on the new plan: the throttle is removed, then a false alarm', async () => {
    const run = await runCascade({
      brokerIds: [4, 5],
      clusterBrokers: five,
      afterProbe: (c, n, store) => {
        if (n !== 1) return;
        store.brokers = [3, 4, 5];
        c.restart(4);
        c.restart(5);
      },
    });
    expect(run.states.at(-1)).toBe('False Alarm Resolved');
    expect(restarts(run)).toEqual([]);
    expect(cliActions(run)).toEqual(['set-producer-quota', 'remove-producer-quota']);
    expect(run.store.heals).toEqual([]);
    expectThrottleRemoved(run);
    expectLockReleasedLast(run);
  });

  it('a joined broker without a configured instance: the throttle is removed and the run escalates', async () => {
    const run = await runCascade({
      brokerIds: [2, 3],
      afterProbe: (_c, n, store) => {
        if (n === 1) store.brokers = [2, 3, 9];
      },
    });
    expect(run.states.at(-1)).toBe('Handed To Operators');
    expect(mutatingCommands(run).filter((c) => c.documentName === RESTART)).toEqual([]);
    expect(statusDetail(run)).toMatch(/no instance is configured for broker 9 of orders/);
    expectThrottleRemoved(run);
    expectLockReleasedLast(run);
  });
});
