import { describe, expect, it } from 'vitest';
import type { ClusterSnapshot } from '#domain/snapshot.js';
import { APPROVAL_RESOURCE } from '#local/stepfunctions/approvals.js';
import {
  RESOURCES,
  parseDefinition,
  taskResources,
  walkStates,
  type AslState,
  type CommandOutcome,
  type CommandRun,
} from '#local/stepfunctions/index.js';
import { expectHouseStyle, expectLockReleasedOnEveryPath, expectValidAsl } from '../support/asl.js';
import {
  BROKER_INSTANCES,
  CRITICAL_TOPIC,
  QUORUM_SUBSTITUTIONS as SUBS,
  ZK_INSTANCES,
  actions,
  clusterTarget,
  expectLockReleasedLast,
  finalState,
  runH4,
  type H4Run,
} from './lag-quorum-fixtures.js';
import { SNAPSHOTS, aslText, ok } from './recovery-fixtures.js';

const TEXT = aslText('quorum-recovery');
const withController = (base: () => ClusterSnapshot, id: number | null) => () => ({
  ...base(),
  controller: { id, known: id !== null, note: 'ZooKeeper' },
});
const splitBrain = withController(SNAPSHOTS.brokerTwoCrashed, null);
const zkHealthy = (controller: number) => withController(SNAPSHOTS.healthy, controller);
const kraftHealthy = SNAPSHOTS.healthy;

const stopped = ok('{"result":"stopped","forced":false,"pid":4242,"service":"kafka","waitedSeconds":3}\n');
const backedUp = ok(
  '{"result":"backed-up","mode":"zookeeper","path":"/var/backups/kafka-heal/a.tar.gz","sha256":"00","bytes":10,"entries":3,"changedWhileReading":false}\n',
);
const restarted = ok(
  '{"result":"restarted","pid":4243,"previousPid":0,"service":"kafka","listenerPort":9092,"waitedSeconds":7}\n',
);
const quorumLed = ok(
  '{"result":"ok","action":"describe-quorum","exitCode":0,"bootstrapServer":"localhost:9092","leaderId":1,"leaderEpoch":4,"highWatermark":90,"maxFollowerLag":0,"maxFollowerLagTimeMs":0,"currentVoters":"[1,2,3]","currentObservers":"[]","output":""}\n',
);
const noQuorum: CommandOutcome = {
  status: 'Failed',
  responseCode: 124,
  stdout:
    '{"result":"failed","action":"describe-quorum","exitCode":124,"message":"kafka-metadata-quorum.sh timed out after 60s","output":""}\n',
  stderr: '',
};

const ZK_COMMANDS = {
  [SUBS.StopDocumentName]: stopped,
  [SUBS.BackupDocumentName]: backedUp,
  [SUBS.RestartDocumentName]: restarted,
};
const kraftTarget = () =>
  clusterTarget({ quorum: { metadataMode: 'kraft', brokerMetadataLogDirs: { '1': '/srv/kafka-1/data' } } });

function commandsOf(run: H4Run, doc: string): CommandRun[] {
  return run.commands.filter((c) => c.documentName === doc);
}
function mutatingCommands(run: H4Run): CommandRun[] {
  return run.commands.filter((c) => c.documentName !== SUBS.CliDocumentName);
}
describe('statemachines/quorum-recovery.asl.json: definition', () => {
  it('passes asl-validator as written and as rendered; rendering leaves no ${', () => {
    expectValidAsl(TEXT, SUBS);
  });

  it('house style: Title Case, Comments on Choices and catches, States.ALL last and alone, bounded Tasks, no literal ARNs', () => {
    expectHouseStyle(TEXT);
  });

  it('every path into a terminal state (other than bad input) passes Release Cluster Lock', () => {
    expectLockReleasedOnEveryPath(TEXT);
  });

  it('uses only integrations the local runtime binds; SSM commands run in the nested ssm-run workflow', () => {
    // SendCommand and GetCommandInvocation run in ssm-run (its own test checks its integrations).
    expect(taskResources(parseDefinition(TEXT, SUBS))).toEqual(
      [APPROVAL_RESOURCE, RESOURCES.lambdaInvoke, RESOURCES.startExecutionSync2].sort(),
    );
    const ssmRun = walkStates(parseDefinition(TEXT, SUBS)).filter(
      ({ state }) =>
        state.Resource === RESOURCES.startExecutionSync2 &&
        state.Parameters?.['StateMachineArn'] === SUBS.SsmRunStateMachineArn,
    );
    expect(ssmRun.map((v) => [v.name, v.parents])).toEqual([
      ['Describe Quorum Status', ['Recover Quorum']],
      ['Run Host Command', ['Recover Quorum', 'Run Recovery Plan']],
    ]);
  });

  it('the phases are one Map over the plan, one step at a time; an approval (contract 2) is a step of it', () => {
    const def = parseDefinition(TEXT, SUBS);
    const all = walkStates(def);
    const map = all.find((v) => v.name === 'Run Recovery Plan')?.state as AslState;
    expect(map).toMatchObject({
      Type: 'Map',
      ItemsPath: '$.check.plan.steps',
      MaxConcurrency: 1,
      ItemProcessor: { ProcessorConfig: { Mode: 'INLINE' } },
    });
    expect(map.Catch, 'a failed step fails the Map, and the Parallel escalates').toBeUndefined();
    const approvals = all.filter((v) => v.state.Resource === APPROVAL_RESOURCE);
    expect(approvals.map((v) => [v.name, v.parents])).toEqual([
      ['Approve Next Phase', ['Recover Quorum', 'Run Recovery Plan']],
    ]);
    const approve = approvals[0]?.state as AslState;
    expect(approve.TimeoutSeconds).toBe(3600);
    expect(approve.Parameters).toMatchObject({
      FunctionName: SUBS.ApprovalFunctionArn,
      Payload: { workflow: 'quorum-recovery', 'taskToken.$': '$$.Task.Token', 'actions.$': '$.step.actions' },
    });
    // A refusal is recorded first; the record step then stops the recovery with the approval's error.
    expect((approve.Catch ?? []).map((c) => [c.ErrorEquals, c.Next])).toEqual([
      [['ApprovalRejected', 'States.Timeout'], 'Record Plan Step'],
    ]);
    const verify = all.find((v) => v.name === 'Verify Quorum Restored')?.state as AslState;
    expect(verify.Retry?.[0]).toMatchObject({
      ErrorEquals: ['QuorumNotRestored'],
      IntervalSeconds: 10,
      BackoffRate: 1.5,
      MaxDelaySeconds: 120,
      MaxAttempts: 3,
    });
  });
});

/** Approvals and host commands in the order they reached the outside world. */
function procedure(run: H4Run): string[] {
  return run.calls.flatMap((c) => {
    if (c.resource === APPROVAL_RESOURCE) return ['approval'];
    if (c.resource !== RESOURCES.ssmSendCommand) return [];
    const p = c.input as { DocumentName: string; InstanceIds: string[] };
    return [`${p.DocumentName.replace('kafka-heal-test-kafka-', '')} ${p.InstanceIds[0]}`];
  });
}

describe('quorum-recovery runs, ZooKeeper mode (aws-local-stepfunctions, per-Resource bindings)', () => {
  it('happy path: three approvals granted; stop, back up, restore the ensemble, restart one at a time, validate -> resolved', async () => {
    const run = await runH4({ workflow: 'quorum-recovery', probes: [splitBrain, zkHealthy(1)], commands: ZK_COMMANDS });
    expect(run.result.status).toBe('SUCCEEDED');
    expect(finalState(run)).toBe('Quorum Restored');
    expect(run.probeSteps).toEqual(['quorum-confirm', 'quorum-verify']);
    const b = BROKER_INSTANCES;
    expect(run.commands.map((c) => [c.documentName, c.instanceId])).toEqual([
      [SUBS.StopDocumentName, b[1]],
      [SUBS.StopDocumentName, b[2]],
      [SUBS.StopDocumentName, b[3]],
      ...ZK_INSTANCES.map((i) => [SUBS.BackupDocumentName, i]),
      ...ZK_INSTANCES.map((i) => [SUBS.RestartDocumentName, i]),
      [SUBS.RestartDocumentName, b[1]],
      [SUBS.RestartDocumentName, b[2]],
      [SUBS.RestartDocumentName, b[3]],
    ]);
    expect(commandsOf(run, SUBS.StopDocumentName)[1]?.parameters).toEqual({
      ServiceName: ['kafka'],
      TimeoutSeconds: ['120'],
      ExpectedBrokerId: ['2'],
      ServerProperties: ['/srv/kafka-2/server.properties'],
    });
    expect(commandsOf(run, SUBS.BackupDocumentName)[0]?.parameters).toEqual({
      Mode: ['zookeeper'],
      DataDir: ['/var/lib/zookeeper'],
      TxnLogDir: ['none'],
      BackupDir: ['/var/backups/kafka-heal'],
    });
    expect(commandsOf(run, SUBS.RestartDocumentName)[0]?.parameters).toEqual({
      ServiceName: ['zookeeper'],
      ListenerPort: ['2181'],
      ExpectedBrokerId: ['any'],
      TimeoutSeconds: ['300'],
    });
    expect(commandsOf(run, SUBS.RestartDocumentName)[5]?.parameters).toEqual({
      ServiceName: ['kafka'],
      ListenerPort: ['9092'],
      ExpectedBrokerId: ['3'],
      TimeoutSeconds: ['600'],
      ServerProperties: ['/srv/kafka-3/server.properties'],
    });
    // An approval before each destructive phase, and each approval named exactly the commands that then ran.
    expect(procedure(run)).toEqual([
      'approval',
      ...[1, 2, 3].map((i) => `stop-broker ${b[i]}`),
      ...ZK_INSTANCES.map((i) => `backup-metadata ${i}`),
      'approval',
      ...ZK_INSTANCES.map((i) => `restart-broker ${i}`),
      'approval',
      ...[1, 2, 3].map((i) => `restart-broker ${b[i]}`),
    ]);
    expect(run.approvals.map((a) => a.request.summary)).toEqual([
      'Stop every broker of orders so none acts on a split or lost quorum while it is restored',
      'Restart the ZooKeeper servers of orders one at a time so the minority side rejoins the majority (brokers stay stopped; metadata backed up)',
      'Start the brokers of orders one at a time, the active controller last, then validate the quorum',
    ]);
    // The commands run in the nested ssm-run workflow, never in quorum-recovery itself.
    expect(new Set(run.commands.map((c) => c.stateName))).toEqual(new Set(['Send Command']));
    expect(run.approvals[0]?.request.actions).toEqual(
      [1, 2, 3].map(
        (id) =>
          `${SUBS.StopDocumentName} on ${b[id]}: stop broker ${id} (ServiceName kafka, ExpectedBrokerId ${id}, SIGKILL after 120 s)`,
      ),
    );
    expect(run.approvals[1]?.request.actions).toHaveLength(3);
    expect(run.approvals[2]?.request).toMatchObject({
      incidentId: 'inc-orders-h4',
      workflow: 'quorum-recovery',
      cluster: 'orders',
      summary: expect.stringContaining('one at a time'),
    });
    expect(actions(run)).toEqual([
      'recovery-started',
      'recovery-planned',
      'approval-granted',
      'broker-stopped',
      'broker-stopped',
      'broker-stopped',
      'metadata-backed-up',
      'metadata-backed-up',
      'metadata-backed-up',
      'approval-granted',
      'quorum-member-restarted',
      'quorum-member-restarted',
      'quorum-member-restarted',
      'approval-granted',
      'broker-restarted',
      'broker-restarted',
      'broker-restarted',
      'status-changed',
      'lock-released',
    ]);
    expect(run.store.timeline.find((e) => e.action === 'approval-granted')?.detail).toBe(
      'test:operator approved stopping every broker',
    );
    expect(run.store.status).toBe('resolved');
    expect(run.store.heals).toEqual([expect.objectContaining({ cluster: 'orders', brokerIds: [1, 2, 3] })]);
    expect(run.escalations).toEqual([]);
    expectLockReleasedLast(run);
  });

  it('the active controller is stopped and restarted last', async () => {
    const run = await runH4({
      workflow: 'quorum-recovery',
      probes: [withController(SNAPSHOTS.brokerTwoCrashed, 1), zkHealthy(2)],
      commands: ZK_COMMANDS,
    });
    expect(finalState(run)).toBe('Quorum Restored');
    const ids = (doc: string) =>
      commandsOf(run, doc)
        .filter((c) => c.parameters.ServiceName?.[0] === 'kafka')
        .map((c) => c.parameters.ExpectedBrokerId?.[0]);
    expect(ids(SUBS.StopDocumentName)).toEqual(['2', '3', '1']);
    expect(ids(SUBS.RestartDocumentName)).toEqual(['2', '3', '1']);
    expect(run.approvals[2]?.request.actions.at(-1)).toMatch(/start broker 1 .*, the controller, last$/);
  });

  it('false alarm: healthy with one active controller -> resolved, no approval asked, nothing run', async () => {
    const run = await runH4({ workflow: 'quorum-recovery', probes: [zkHealthy(2)] });
    expect(finalState(run)).toBe('False Alarm Resolved');
    expect(run.commands).toEqual([]);
    expect(run.approvals).toEqual([]);
    expect(run.store.timeline.find((e) => e.action === 'status-changed')?.detail).toMatch(
      /false alarm: broker 2 is the active controller/,
    );
    expectLockReleasedLast(run);
  });

  it('no ZooKeeper server answers the cluster steps while the brokers look whole -> escalated, no approval asked, nothing run', async () => {
    const unreachable = {
      servers: ['zk1:2181', 'zk2:2181', 'zk3:2181'].map((server) => ({ server, mode: 'unreachable' as const })),
    };
    const run = await runH4({ workflow: 'quorum-recovery', probes: [zkHealthy(2)], ensemble: unreachable });
    expect(run.calls.find((c) => c.stateName === 'Confirm Quorum Loss')?.error).toBe('RecoveryStopped');
    expect(finalState(run)).toBe('Handed To Operators');
    expect(run.commands).toEqual([]);
    expect(run.approvals).toEqual([]);
    expect(run.store.status).toBe('escalated');
    expect(run.store.timeline.map((e) => e.detail ?? '').join('\n')).toMatch(
      /the ZooKeeper ensemble cannot be asked.*no ZooKeeper server could be asked \(zk1:2181, zk2:2181, zk3:2181/,
    );
    expectLockReleasedLast(run);
  });

  it('the cluster refuses the probe (auth-failed) -> escalated as such, no approval asked, nothing stopped (safety rule 11)', async () => {
    const refused = (): ClusterSnapshot => ({
      ...SNAPSHOTS.healthy(),
      status: 'auth-failed',
      registeredBrokers: [],
      brokers: [],
      controller: { id: null, known: false, note: 'metadata mode unknown: no broker answered' },
    });
    const run = await runH4({ workflow: 'quorum-recovery', probes: [refused] });
    expect(run.calls.find((c) => c.stateName === 'Confirm Quorum Loss')?.error).toBe('RecoveryStopped');
    expect(finalState(run)).toBe('Handed To Operators');
    expect(run.commands).toEqual([]);
    expect(run.approvals).toEqual([]);
    expect(run.store.timeline.map((e) => e.detail ?? '').join('\n')).toMatch(
      /the cluster refuses the probe of the healer, so the quorum loss can be neither confirmed nor ruled out/,
    );
    expectLockReleasedLast(run);
  });

  it('one server unreachable, the others answer without a quorum, the brokers look whole -> quorum lost: the stop is put to approval', async () => {
    const lost = {
      servers: [
        { server: 'zk1:2181', mode: 'not-serving' as const },
        { server: 'zk2:2181', mode: 'unreachable' as const },
        { server: 'zk3:2181', mode: 'not-serving' as const },
      ],
    };
    const run = await runH4({
      workflow: 'quorum-recovery',
      probes: [zkHealthy(2)],
      ensemble: lost,
      approvals: [{ decision: 'rejected', by: 'oncall@example.com', reason: 'checking first' }],
    });
    expect(run.approvals.map((a) => a.request.summary)).toEqual([
      expect.stringMatching(/^Stop every broker of orders/),
    ]);
    expect(run.states).toContain('Plan Quorum Recovery');
    expect(run.commands).toEqual([]);
  });

  it('approval rejected before the stop -> approval-rejected recorded, no broker touched, escalated', async () => {
    const run = await runH4({
      workflow: 'quorum-recovery',
      probes: [splitBrain],
      commands: ZK_COMMANDS,
      approvals: [{ decision: 'rejected', by: 'oncall@example.com', reason: 'investigating first' }],
    });
    expect(finalState(run)).toBe('Handed To Operators');
    expect(run.commands).toEqual([]);
    expect(run.store.timeline.find((e) => e.action === 'approval-rejected')).toMatchObject({
      result: 'rejected',
      detail: expect.stringMatching(/^stopping every broker was rejected: .*oncall@example.com.*investigating first/),
    });
    expect(run.store.status).toBe('escalated');
    expect(run.escalations).toEqual([expect.objectContaining({ TopicArn: CRITICAL_TOPIC })]);
    expectLockReleasedLast(run);
  });

  it('approval timed out before the broker restarts -> approval-timed-out recorded, no broker restarted, escalated', async () => {
    const run = await runH4({
      workflow: 'quorum-recovery',
      probes: [splitBrain],
      commands: ZK_COMMANDS,
      approvals: [{ decision: 'approved', by: 'a' }, { decision: 'approved', by: 'b' }, 'never'],
    });
    expect(finalState(run)).toBe('Handed To Operators');
    expect(commandsOf(run, SUBS.StopDocumentName)).toHaveLength(3);
    expect(commandsOf(run, SUBS.RestartDocumentName).map((c) => c.instanceId)).toEqual(ZK_INSTANCES);
    expect(run.store.timeline.find((e) => e.action === 'approval-timed-out')).toMatchObject({
      result: 'timed-out',
      detail: 'nobody approved restarting the brokers within the approval window (1 hour)',
    });
    expect(run.store.timeline.find((e) => e.action === 'status-changed')?.detail).toMatch(/escalated: States.Timeout/);
    expectLockReleasedLast(run);
  });

  it('retries exhausted: the cluster is not whole after the restarts -> escalated after 1 + 3 validations', async () => {
    const run = await runH4({ workflow: 'quorum-recovery', probes: [splitBrain, splitBrain], commands: ZK_COMMANDS });
    expect(finalState(run)).toBe('Handed To Operators');
    expect(run.calls.filter((c) => c.stateName === 'Verify Quorum Restored').map((c) => c.error)).toEqual(
      Array(4).fill('QuorumNotRestored'),
    );
    expect(run.store.timeline.find((e) => e.action === 'status-changed')?.detail).toMatch(
      /QuorumNotRestored: the cluster is not healthy yet/,
    );
    expect(run.store.heals).toEqual([]);
    expectLockReleasedLast(run);
  });

  it('a broker that will not stop -> escalated with the document output, the next broker is not touched', async () => {
    const stop = (cmd: CommandRun): CommandOutcome =>
      cmd.parameters.ExpectedBrokerId?.[0] === '2'
        ? {
            status: 'Failed',
            responseCode: 6,
            stdout:
              '{"result":"failed","stage":"kill","service":"kafka","message":"kafka (pid 7) is still running after SIGKILL"}\n',
            stderr: '',
          }
        : stopped;
    const run = await runH4({
      workflow: 'quorum-recovery',
      probes: [splitBrain],
      commands: { ...ZK_COMMANDS, [SUBS.StopDocumentName]: stop },
    });
    expect(finalState(run)).toBe('Handed To Operators');
    expect(run.commands.map((c) => c.parameters.ExpectedBrokerId?.[0])).toEqual(['1', '2']);
    expect(run.store.timeline.find((e) => e.action === 'status-changed')?.detail).toMatch(
      /stopping the broker on i-0123456789abcdef2 ended Failed \(exit code 6\): .*still running after SIGKILL/,
    );
  });

  it('a failed metadata backup stops the procedure before anything is restarted', async () => {
    const run = await runH4({
      workflow: 'quorum-recovery',
      probes: [splitBrain],
      commands: {
        ...ZK_COMMANDS,
        [SUBS.BackupDocumentName]: {
          status: 'Failed',
          responseCode: 6,
          stdout: '{"result":"failed","mode":"zookeeper","message":"not enough space"}\n',
          stderr: '',
        },
      },
    });
    expect(finalState(run)).toBe('Handed To Operators');
    expect(commandsOf(run, SUBS.RestartDocumentName)).toEqual([]);
    expect(run.approvals).toHaveLength(1);
    expect(run.store.timeline.find((e) => e.action === 'status-changed')?.detail).toMatch(
      /backing up the metadata on i-00000000000000a01 ended Failed .*not enough space/,
    );
  });

  it('a broker host SSM cannot reach mid-procedure -> escalated as host unreachable', async () => {
    const run = await runH4({
      workflow: 'quorum-recovery',
      probes: [splitBrain],
      commands: ZK_COMMANDS,
      managed: (id) => id !== BROKER_INSTANCES[3],
    });
    expect(finalState(run)).toBe('Handed To Operators');
    expect(run.store.timeline.find((e) => e.action === 'status-changed')?.detail).toMatch(
      /host i-0123456789abcdef3 is unreachable through SSM/,
    );
  });

  it('dryRun: probes, records the plan and the approvals it would ask for, makes ZERO mutating calls', async () => {
    const run = await runH4({
      workflow: 'quorum-recovery',
      input: { dryRun: true },
      probes: [splitBrain],
      commands: ZK_COMMANDS,
    });
    expect(run.result.status).toBe('SUCCEEDED');
    expect(run.commands).toEqual([]);
    expect(run.approvals).toEqual([]);
    expect(
      run.calls.filter((c) => c.resource === APPROVAL_RESOURCE || c.resource === RESOURCES.ssmSendCommand),
    ).toEqual([]);
    expect(run.store.timeline.find((e) => e.action === 'approval-planned')).toMatchObject({ result: 'dry-run' });
    expect(run.store.timeline.find((e) => e.action === 'planned-action')?.detail).toMatch(
      /^would stop brokers 1, 2, 3; back up zookeeper metadata on 3 host\(s\); restart ZooKeeper on .* one at a time; restart brokers 1, 2, 3 one at a time; validate$/,
    );
    expect(run.store.status).toBe('escalated');
    expect(run.store.timeline.at(-1)).toMatchObject({ action: 'lock-released', result: 'false' });
  });

  it('an MSK cluster or a cluster without quorum configuration -> escalated from Record Start', async () => {
    const run = await runH4({
      workflow: 'quorum-recovery',
      probes: [splitBrain],
      target: clusterTarget({ quorum: undefined }),
    });
    expect(finalState(run)).toBe('Handed To Operators');
    expect(run.probeSteps).toEqual([]);
    expect(run.store.timeline.find((e) => e.action === 'status-changed')?.detail).toMatch(
      /RecoveryTargetError: cluster orders has no quorum configuration/,
    );
    expectLockReleasedLast(run);
  });
});

describe('quorum-recovery runs, KRaft mode', () => {
  it('brokers look healthy but describe-quorum finds no leader -> two approvals, stop, back up the metadata log, restart, quorum led again -> resolved', async () => {
    let describes = 0;
    const cli = (): CommandOutcome => (describes++ === 0 ? noQuorum : quorumLed);
    const run = await runH4({
      workflow: 'quorum-recovery',
      target: kraftTarget(),
      probes: [kraftHealthy, kraftHealthy],
      commands: { ...ZK_COMMANDS, [SUBS.CliDocumentName]: cli },
    });
    expect(finalState(run)).toBe('Quorum Restored');
    expect(commandsOf(run, SUBS.CliDocumentName).map((c) => c.parameters)).toEqual(
      Array(2).fill({
        Action: ['describe-quorum'],
        KafkaHome: ['/opt/kafka'],
        BootstrapServer: ['localhost:9092'],
        CommandConfig: ['none'],
        TimeoutSeconds: ['60'],
      }),
    );
    expect(run.approvals.map((a) => a.request.summary)).toEqual([
      expect.stringMatching(/^Stop every broker of orders/),
      expect.stringMatching(/^Start the brokers of orders/),
    ]);
    expect(
      commandsOf(run, SUBS.BackupDocumentName).map((c) => [
        c.instanceId,
        c.parameters.Mode?.[0],
        c.parameters.DataDir?.[0],
      ]),
    ).toEqual([
      [BROKER_INSTANCES[1], 'kraft', '/srv/kafka-1/data'],
      [BROKER_INSTANCES[2], 'kraft', '/var/lib/kafka/data'],
      [BROKER_INSTANCES[3], 'kraft', '/var/lib/kafka/data'],
    ]);
    expect(commandsOf(run, SUBS.RestartDocumentName).map((c) => c.instanceId)).toEqual(
      [1, 2, 3].map((i) => BROKER_INSTANCES[i]),
    );
    expect(run.store.timeline.filter((e) => e.action === 'quorum-described').map((e) => e.result)).toEqual([
      'no-leader',
      'led',
    ]);
    expect(run.store.status).toBe('resolved');
  });

  it('false alarm: the quorum has a leader -> resolved, nothing but the read-only describe ran (also in a dry run)', async () => {
    for (const dryRun of [false, true]) {
      const run = await runH4({
        workflow: 'quorum-recovery',
        input: { dryRun },
        target: kraftTarget(),
        probes: [kraftHealthy],
        commands: { [SUBS.CliDocumentName]: quorumLed },
      });
      expect(finalState(run)).toBe('False Alarm Resolved');
      expect(mutatingCommands(run)).toEqual([]);
      expect(run.store.timeline.find((e) => e.action === 'status-changed')?.detail).toMatch(
        /false alarm: KRaft quorum led by 1 \(epoch 4, max follower lag 0, voters \[1,2,3\]\)/,
      );
    }
  });

  it('verification failure: brokers back but the quorum still has no leader -> escalated', async () => {
    const run = await runH4({
      workflow: 'quorum-recovery',
      target: kraftTarget(),
      probes: [kraftHealthy],
      commands: { ...ZK_COMMANDS, [SUBS.CliDocumentName]: noQuorum },
    });
    expect(finalState(run)).toBe('Handed To Operators');
    expect(commandsOf(run, SUBS.RestartDocumentName)).toHaveLength(3);
    expect(run.store.timeline.find((e) => e.action === 'status-changed')?.detail).toMatch(
      /the brokers are back but the KRaft quorum has no leader: describe-quorum failed: kafka-metadata-quorum.sh timed out/,
    );
    expectLockReleasedLast(run);
  });
});
