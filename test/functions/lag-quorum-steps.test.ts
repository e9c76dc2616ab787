import { describe, expect, it } from 'vitest';
import {
  clusterStepsDepsFromEnv,
  makeClusterStepsHandler,
  parseZookeeperConnect,
} from '#functions/cluster-steps/handler.js';
import type { EnsembleObservation } from '#domain/quorum-recovery.js';
import { resolveLagTarget } from '#functions/workflow-steps/consumer-lag.js';
import {
  describeQuorumOutput,
  planFromCheck,
  planQuorumRecovery,
  planStepOutcome,
  readQuorumCheck,
  readQuorumOutput,
  resolveQuorumTarget,
  type QuorumCheck,
  type QuorumClusterTarget,
} from '#functions/workflow-steps/quorum-recovery.js';
import { SNAPSHOTS } from '../statemachines/recovery-fixtures.js';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const base: QuorumClusterTarget = {
  cluster: 'c',
  platform: 'ec2',
  clusterStepsFunction: 'fn',
  brokers: [
    { id: 2, instanceId: 'i-0000000000000000b' },
    { id: 1, instanceId: 'i-0000000000000000a', listenerPort: 9093, serverProperties: '/srv/1/server.properties' },
  ],
  serviceName: 'kafka',
  listenerPort: 9092,
  serverProperties: '/etc/kafka/server.properties',
  quorum: {
    metadataMode: 'kraft',
    zookeeper: [],
    metadataLogDir: '/data',
    brokerMetadataLogDirs: { '2': '/data-2' },
    kafkaHome: '/opt/kafka',
    backupDir: '/var/backups/kafka-heal',
  },
};
const input = { incidentId: 'inc-1', cluster: 'c' };

describe('quorum-recovery start', () => {
  it('resolves every broker in id order, the first one runs the CLI', () => {
    const t = resolveQuorumTarget(input, () => base);
    expect(t.brokerIds).toEqual([1, 2]);
    expect(t.brokers.map((b) => [b.brokerId, b.listenerPort, b.serverProperties, b.metadataLogDir])).toEqual([
      [1, '9093', '/srv/1/server.properties', '/data'],
      [2, '9092', '/etc/kafka/server.properties', '/data-2'],
    ]);
    expect(t).toMatchObject({
      cliInstanceId: 'i-0000000000000000a',
      bootstrapServer: 'localhost:9093',
      commandConfig: 'none',
      quorumMembers: [],
      dryRun: false,
    });
    expect(
      resolveQuorumTarget(input, () => ({ ...base, commandConfig: '/etc/kafka/client.properties' })).commandConfig,
    ).toBe('/etc/kafka/client.properties');
  });

  it('refuses MSK, missing quorum configuration, no listed brokers, ZooKeeper mode without hosts, bad input', () => {
    expect(() => resolveQuorumTarget(input, () => ({ ...base, platform: 'msk' }))).toThrow(/AWS manages its quorum/);
    expect(() => resolveQuorumTarget(input, () => ({ ...base, quorum: undefined }))).toThrow(/no quorum configuration/);
    expect(() => resolveQuorumTarget(input, () => ({ ...base, brokers: [] }))).toThrow(
      /lists no brokers by instance id/,
    );
    expect(() =>
      resolveQuorumTarget(input, () => ({
        ...base,
        quorum: { ...(base.quorum as NonNullable<QuorumClusterTarget['quorum']>), metadataMode: 'zookeeper' },
      })),
    ).toThrow(/lists no ZooKeeper hosts/);
    expect(() => resolveQuorumTarget({ cluster: 'c' }, () => base)).toThrow(
      expect.objectContaining({
        name: 'RecoveryTargetError',
        message: expect.stringMatching(/not a quorum-recovery request: incidentId/),
      }),
    );
  });

  it('plans brokers the probe did not order before the controller, and no restore phase in KRaft mode', () => {
    const plan = planQuorumRecovery(
      resolveQuorumTarget(input, () => base),
      [1],
      1,
      { stop: 'stop', backup: 'backup', restart: 'restart' },
      'the probe saw no controller',
    );
    const commands = (action: string) =>
      plan.steps.flatMap((s) => (s.kind === 'command' && s.action === action ? [s.parameters] : []));
    expect(commands('broker-restarted').map((p) => p.ExpectedBrokerId)).toEqual([['2'], ['1']]);
    expect(commands('quorum-member-restarted')).toEqual([]);
    expect(plan.steps.filter((s) => s.kind === 'approval').map((s) => s.subject)).toEqual([
      'stopping every broker',
      'restarting the brokers',
    ]);
    expect(commands('metadata-backed-up').map((p) => [p.Mode, p.DataDir])).toEqual([
      [['kraft'], ['/data-2']],
      [['kraft'], ['/data']],
    ]);
    expect(plan.actions.restart.at(-1)).toMatch(/start broker 1 .*, the controller, last$/);
    expect(plan.summary).toMatch(
      /the KRaft controllers restart with their brokers; restart brokers 2, 1 one at a time \(controller 1 last\); validate$/,
    );
  });

  it('lists the steps the Map runs: the stop approval, the stops, the backups, the restart approval, the restarts (KRaft: no restore phase)', () => {
    const plan = planQuorumRecovery(
      resolveQuorumTarget(input, () => base),
      [1],
      1,
      { stop: 'stop', backup: 'backup', restart: 'restart' },
      'the probe saw no controller',
    );
    expect(
      plan.steps.map((s) => (s.kind === 'approval' ? `approve ${s.subject}` : `${s.documentName} ${s.instanceId}`)),
    ).toEqual([
      'approve stopping every broker',
      'stop i-0000000000000000b',
      'stop i-0000000000000000a',
      'backup i-0000000000000000b',
      'backup i-0000000000000000a',
      'approve restarting the brokers',
      'restart i-0000000000000000b',
      'restart i-0000000000000000a',
    ]);
    expect(plan.steps[0]).toMatchObject({
      summary: 'Stop every broker of c so none acts on a split or lost quorum while it is restored',
      actions: plan.actions.stop,
      evidence: ['the probe saw no controller'],
    });
    expect(plan.steps[5]).toMatchObject({ actions: plan.actions.restart, evidence: plan.actions.backup });
    expect(plan.steps.at(-1)).toEqual({
      kind: 'command',
      documentName: 'restart',
      instanceId: 'i-0000000000000000a',
      parameters: {
        ServiceName: ['kafka'],
        ListenerPort: ['9093'],
        ExpectedBrokerId: ['1'],
        TimeoutSeconds: ['600'],
        ServerProperties: ['/srv/1/server.properties'],
      },
      label: 'restarting the broker on i-0000000000000000a',
      hostKind: 'broker host',
      action: 'broker-restarted',
      detail: 'restart on i-0000000000000000a',
    });
  });

  it('restarts ZooKeeper servers and brokers with one restart document, parameters per host kind', () => {
    const zk = resolveQuorumTarget(input, () => ({
      ...base,
      quorum: {
        ...(base.quorum as NonNullable<QuorumClusterTarget['quorum']>),
        metadataMode: 'zookeeper',
        zookeeper: [
          { instanceId: 'i-00000000000000a01', serviceName: 'zk', clientPort: 2182, dataDir: '/var/lib/zookeeper' },
        ],
      },
    }));
    const plan = planQuorumRecovery(zk, [1, 2], 1, { stop: 'stop', backup: 'backup', restart: 'restart' }, 'e');
    const restarts = plan.steps.filter((s) => s.kind === 'command' && s.documentName === 'restart');
    expect(restarts).toEqual([
      {
        kind: 'command',
        documentName: 'restart',
        instanceId: 'i-00000000000000a01',
        parameters: { ServiceName: ['zk'], ListenerPort: ['2182'], ExpectedBrokerId: ['any'], TimeoutSeconds: ['300'] },
        label: 'restarting the ZooKeeper server on i-00000000000000a01',
        hostKind: 'ZooKeeper host',
        action: 'quorum-member-restarted',
        detail: 'restart (zk) on i-00000000000000a01',
      },
      {
        kind: 'command',
        documentName: 'restart',
        instanceId: 'i-0000000000000000b',
        parameters: {
          ServiceName: ['kafka'],
          ListenerPort: ['9092'],
          ExpectedBrokerId: ['2'],
          TimeoutSeconds: ['600'],
          ServerProperties: ['/etc/kafka/server.properties'],
        },
        label: 'restarting the broker on i-0000000000000000b',
        hostKind: 'broker host',
        action: 'broker-restarted',
        detail: 'restart on i-0000000000000000b',
      },
      expect.objectContaining({
        instanceId: 'i-0000000000000000a',
        parameters: expect.objectContaining({ ExpectedBrokerId: ['1'] }),
      }),
    ]);
  });

  it('records each step: a granted approval, a refusal (which stops with the approval error), a command output', () => {
    const plan = planQuorumRecovery(
      resolveQuorumTarget(input, () => base),
      [],
      null,
      { stop: 'stop', backup: 'backup', restart: 'restart' },
      'e',
    );
    const [approval, stop] = plan.steps;
    if (approval?.kind !== 'approval') throw new Error('the plan starts with an approval');
    expect(planStepOutcome(approval, { by: 'ops@example.com', decision: 'approved' })).toEqual({
      line: {
        action: 'approval-granted',
        detail: 'ops@example.com approved stopping every broker',
        result: 'approved',
      },
    });
    expect(planStepOutcome(approval, { Error: 'ApprovalRejected', Cause: 'rejected by ops: not now' })).toEqual({
      line: {
        action: 'approval-rejected',
        detail: 'stopping every broker was rejected: rejected by ops: not now',
        result: 'rejected',
      },
      stop: 'ApprovalRejected: rejected by ops: not now',
    });
    expect(planStepOutcome(approval, { Error: 'States.Timeout' })).toEqual({
      line: {
        action: 'approval-timed-out',
        detail: 'nobody approved stopping every broker within the approval window (1 hour)',
        result: 'timed-out',
      },
      stop: 'States.Timeout',
    });
    if (stop?.kind !== 'command') throw new Error('a stop follows the approval');
    expect(planStepOutcome(stop, { stdout: '{"result":"stopped"}' })).toEqual({
      line: {
        action: 'broker-stopped',
        detail: 'stop on i-0000000000000000a: {"result":"stopped"}',
        result: 'success',
      },
    });
  });

  it("reads describe-quorum from ssm-run: its output, a failed command's output from the error, an unreachable host stops", () => {
    const line = '{"result":"failed","action":"describe-quorum","exitCode":124,"message":"timed out"}';
    expect(describeQuorumOutput({ stdout: line }, 'i-1')).toBe(line);
    const childFailed = (error: string, cause: string) => ({
      Error: 'States.TaskFailed',
      Cause: JSON.stringify({ Status: 'FAILED', Error: error, Cause: cause }),
    });
    expect(
      describeQuorumOutput(
        childFailed('CommandFailed', `describe-quorum ended Failed (exit code 124): ${line}\n`),
        'i-1',
      ),
    ).toBe(`${line}\n`);
    expect(() =>
      describeQuorumOutput(childFailed('HostUnreachable', 'the broker host i-1 is unreachable through SSM'), 'i-1'),
    ).toThrow(
      expect.objectContaining({
        name: 'RecoveryStopped',
        message: 'the quorum cannot be described: broker host i-1 is unreachable through SSM',
      }),
    );
    expect(() => describeQuorumOutput({ Error: 'States.Timeout', Cause: 'late' }, 'i-1')).toThrow(
      expect.objectContaining({ name: 'RecoveryStopped', message: 'States.Timeout: late' }),
    );
  });

  it('answers the check with the quorum: before acting led is a false alarm, after the restarts none stops', () => {
    const check: QuorumCheck = {
      phase: 'confirm',
      verdict: 'check-quorum',
      controllerId: null,
      order: [1],
      summary: 'probe',
      at: 't',
    };
    const led = { led: true, leaderId: 1, summary: 'KRaft quorum led by 1' };
    const none = { led: false, leaderId: null, summary: 'the KRaft quorum has no leader' };
    expect(readQuorumCheck(check, led)).toEqual({ ...check, verdict: 'false-alarm', summary: 'KRaft quorum led by 1' });
    expect(readQuorumCheck(check, none)).toEqual({ ...check, verdict: 'quorum-lost' });
    const verified: QuorumCheck = { ...check, phase: 'validate', verdict: 'verified', summary: 'all back' };
    expect(readQuorumCheck(verified, led)).toEqual({ ...verified, verdict: 'restored' });
    expect(() => readQuorumCheck(verified, none)).toThrow(
      'the brokers are back but the KRaft quorum has no leader: the KRaft quorum has no leader',
    );
  });

  it('the plan step reads describe-quorum when asked, and plans only a quorum lost before acting', async () => {
    const lines: { action: string; result?: string }[] = [];
    const append = async (l: { action: string; result?: string }) => void lines.push(l);
    const target = resolveQuorumTarget(input, () => base);
    const documents = { stop: 'stop', backup: 'backup', restart: 'restart' };
    const check: QuorumCheck = {
      phase: 'confirm',
      verdict: 'check-quorum',
      controllerId: 1,
      order: [1],
      summary: 'probe',
      at: 't',
    };
    const led = { stdout: '{"result":"ok","leaderId":1}\n' };
    const none = { stdout: '{"result":"failed","message":"timed out"}\n' };
    const step = (c: Parameters<typeof planFromCheck>[1]['check']) => ({
      incidentId: 'inc-1',
      cluster: 'c',
      target,
      documents,
      check: c,
    });

    await expect(planFromCheck(append, step({ ...check, command: led }))).resolves.toMatchObject({
      verdict: 'false-alarm',
      plan: null,
    });
    const lost = await planFromCheck(append, step({ ...check, command: none }));
    expect(lost).toMatchObject({ verdict: 'quorum-lost', summary: 'probe' });
    expect(lost.plan?.steps.map((s) => s.kind)).toEqual(
      planQuorumRecovery(target, [1], 1, documents, 'probe').steps.map((s) => s.kind),
    );
    const validate = { ...check, phase: 'validate' as const, verdict: 'verified' };
    await expect(planFromCheck(append, step({ ...validate, command: led }))).resolves.toMatchObject({
      verdict: 'restored',
      plan: null,
    });
    await expect(planFromCheck(append, step({ ...validate, command: none }))).rejects.toThrow(
      /the KRaft quorum has no leader/,
    );
    expect(lines.map((l) => `${l.action} ${l.result ?? ''}`.trim())).toEqual([
      'quorum-described led',
      'quorum-described no-leader',
      'recovery-planned',
      'quorum-described led',
      'quorum-described no-leader',
    ]);

    lines.length = 0;
    await expect(
      planFromCheck(append, { ...step({ ...check, verdict: 'quorum-lost' }), target: { ...target, dryRun: true } }),
    ).rejects.toThrow(
      expect.objectContaining({
        name: 'RecoveryStopped',
        message: 'dry run: the quorum recovery was planned and recorded, not performed',
      }),
    );
    expect(lines.map((l) => l.action)).toEqual(['recovery-planned', 'approval-planned', 'planned-action']);
  });

  it('reads a describe-quorum line, and an unreadable one as no leader', () => {
    expect(readQuorumOutput('{"result":"ok","leaderId":3}\n')).toMatchObject({ led: true, leaderId: 3 });
    expect(readQuorumOutput('')).toMatchObject({
      led: false,
      summary: expect.stringMatching(/^describe-quorum printed no result/),
    });
  });
});

describe('consumer-lag start', () => {
  it('takes the group from the input or the signal, owner and hook from the configuration, default bands', () => {
    const target = {
      cluster: 'c',
      clusterStepsFunction: 'fn',
      consumerGroups: [
        {
          name: 'g',
          maxOffsetLag: 5,
          scaleHook: { kind: 'sns' as const, topicArn: 'arn:aws:sns:eu-west-1:123456789012:t' },
        },
      ],
      lagThresholds: { lagSev3: 50 },
    };
    expect(resolveLagTarget({ ...input, signal: { consumerGroup: 'g' } }, () => target)).toMatchObject({
      group: 'g',
      ownerTeam: null,
      ownerTopicArn: null,
      maxOffsetLag: 5,
      scaleHook: { kind: 'sns', target: 'arn:aws:sns:eu-west-1:123456789012:t' },
      thresholds: { lagSev3: 50, lagSev2: 100_000, lagSev1: 1_000_000 },
    });
    expect(
      resolveLagTarget({ ...input, consumerGroup: 'other' }, () => ({ cluster: 'c', clusterStepsFunction: 'fn' })),
    ).toMatchObject({ group: 'other', topics: null, scaleHook: { kind: 'none', target: null }, maxOffsetLag: 10_000 });
  });
});

describe('cluster steps: quorum-confirm and quorum-verify ask the ZooKeeper ensemble when they can', () => {
  const zkHealthy = () => ({
    ...SNAPSHOTS.healthy(),
    metadataMode: 'zookeeper' as const,
    controller: { id: 1, known: true, note: 'ZooKeeper mode' },
  });
  const lost = {
    servers: [
      { server: 'zk1:2181', mode: 'not-serving' as const },
      { server: 'zk2:2181', mode: 'not-serving' as const },
      { server: 'zk3:2181', mode: 'not-serving' as const },
    ],
  };
  const back = {
    servers: [
      { server: 'zk1:2181', mode: 'follower' as const },
      { server: 'zk2:2181', mode: 'leader' as const },
      { server: 'zk3:2181', mode: 'follower' as const },
    ],
  };
  const asked: string[] = [];
  const handler = (ensemble: EnsembleObservation | undefined) =>
    makeClusterStepsHandler({
      clusters: () => [{ name: 'orders', bootstrapServers: ['127.0.0.1:9092'], brokerCount: 3 }],
      probe: async () => zkHealthy(),
      timeoutMs: 100,
      ensemble: async (cluster) => {
        asked.push(cluster);
        return ensemble;
      },
    });
  const step = (s: 'quorum-confirm' | 'quorum-verify', metadataMode: 'zookeeper' | 'kraft' = 'zookeeper') => ({
    step: s,
    cluster: 'orders',
    metadataMode,
    brokerIds: [1, 2, 3],
  });

  it('healthy brokers with their last controller, but no ensemble quorum: lost, and not restored', async () => {
    await expect(handler(lost)(step('quorum-confirm'))).resolves.toMatchObject({
      verdict: 'quorum-lost',
      controllerId: 1,
      order: [2, 3, 1],
      summary: expect.stringMatching(/^ZooKeeper ensemble has no quorum/),
    });
    await expect(handler(lost)(step('quorum-verify'))).rejects.toMatchObject({ name: 'QuorumNotRestored' });
    expect(asked).toEqual(['orders', 'orders']);
  });
  it('the ensemble led again: confirm says false alarm, verify restored; KRaft never asks ZooKeeper; no observation keeps the probe view', async () => {
    asked.length = 0;
    await expect(handler(back)(step('quorum-confirm'))).resolves.toMatchObject({ verdict: 'false-alarm' });
    await expect(handler(back)(step('quorum-verify'))).resolves.toMatchObject({ restored: true, controllerId: 1 });
    await expect(handler(undefined)(step('quorum-confirm'))).resolves.toMatchObject({ verdict: 'false-alarm' });
    await expect(handler(lost)(step('quorum-confirm', 'kraft'))).resolves.toMatchObject({ verdict: 'check-quorum' });
    expect(asked).toEqual(['orders', 'orders', 'orders']);
  });
  it('no server could be asked while the brokers look whole: confirm stops the recovery with the reason people are paged with', async () => {
    const unreachable = {
      servers: ['zk1:2181', 'zk2:2181', 'zk3:2181'].map((server) => ({ server, mode: 'unreachable' as const })),
    };
    await expect(handler(unreachable)(step('quorum-confirm'))).rejects.toMatchObject({
      name: 'RecoveryStopped',
      message: expect.stringMatching(
        /^the ZooKeeper ensemble cannot be asked, so the quorum loss can be neither confirmed nor ruled out: /,
      ),
    });
  });
});

describe('cluster steps as deployed: ZOOKEEPER_CONNECT names the ensemble the quorum steps ask', () => {
  const zkHealthy = () => ({
    ...SNAPSHOTS.healthy(),
    metadataMode: 'zookeeper' as const,
    controller: { id: 1, known: true, note: 'ZooKeeper mode' },
  });
  // As deployed: the cluster in the file bundled beside the code (CLUSTERS_FILE in LAMBDA_TASK_ROOT).
  const root = mkdtempSync(join(tmpdir(), 'kh-cluster-steps-'));
  writeFileSync(
    join(root, 'clusters.json'),
    JSON.stringify([{ name: 'payments', bootstrapServers: ['kafka-1.payments.example.com:9092'], brokerCount: 3 }]),
  );
  const FILE = { CLUSTERS_FILE: 'clusters.json', LAMBDA_TASK_ROOT: root };
  const ZOOKEEPER_CONNECT = 'zk-1.payments.example.com:2181, zk-2.payments.example.com:2181,[fd00::3]:2181';
  const step = (s: 'quorum-confirm' | 'quorum-verify', metadataMode: 'zookeeper' | 'kraft' = 'zookeeper') => ({
    step: s,
    cluster: 'payments',
    metadataMode,
    brokerIds: [1, 2, 3],
  });
  /** The handler wired from `env` as the Lambda is, with doubles for the probe and the srvr round. */
  function deployed(env: NodeJS.ProcessEnv, modes: ('leader' | 'follower' | 'not-serving')[]) {
    const asked: (readonly string[])[] = [];
    const probed: string[][] = [];
    const handler = makeClusterStepsHandler(
      clusterStepsDepsFromEnv(env, {
        probe: async (opts) => (probed.push(opts.bootstrapServers), zkHealthy()),
        observe: async (servers) => {
          asked.push(servers);
          return { servers: servers.map((server, i) => ({ server, mode: modes[i] ?? 'not-serving' })) };
        },
      }),
    );
    return { handler, asked, probed };
  }

  it('asks every listed server: an ensemble without quorum makes healthy-looking brokers a lost quorum, and not restored', async () => {
    const { handler, asked, probed } = deployed({ ...FILE, ZOOKEEPER_CONNECT }, [
      'not-serving',
      'not-serving',
      'follower',
    ]);
    await expect(handler(step('quorum-confirm'))).resolves.toMatchObject({
      verdict: 'quorum-lost',
      order: [2, 3, 1],
      summary: expect.stringMatching(
        /^ZooKeeper ensemble has no quorum: 1 of 3 voters serving \(zk-1\.payments\.example\.com:2181 not-serving/,
      ),
    });
    await expect(handler(step('quorum-verify'))).rejects.toMatchObject({ name: 'QuorumNotRestored' });
    const servers = ['zk-1.payments.example.com:2181', 'zk-2.payments.example.com:2181', '[fd00::3]:2181'];
    expect(asked).toEqual([servers, servers]);
    expect(probed).toEqual([['kafka-1.payments.example.com:9092'], ['kafka-1.payments.example.com:9092']]);
  });

  it('an ensemble led again confirms a false alarm and lets verify pass', async () => {
    const { handler, asked } = deployed({ ...FILE, ZOOKEEPER_CONNECT }, ['follower', 'leader', 'follower']);
    await expect(handler(step('quorum-confirm'))).resolves.toMatchObject({ verdict: 'false-alarm', controllerId: 1 });
    await expect(handler(step('quorum-verify'))).resolves.toMatchObject({ restored: true, controllerId: 1 });
    expect(asked).toHaveLength(2);
  });

  it('without ZOOKEEPER_CONNECT (or empty) nothing is asked and the probe view stands; KRaft never asks', async () => {
    for (const env of [{ ...FILE }, { ...FILE, ZOOKEEPER_CONNECT: '' }]) {
      const { handler, asked } = deployed(env, []);
      await expect(handler(step('quorum-confirm'))).resolves.toMatchObject({ verdict: 'false-alarm' });
      expect(asked).toEqual([]);
    }
    const kraft = deployed({ ...FILE, ZOOKEEPER_CONNECT }, []);
    await expect(kraft.handler(step('quorum-confirm', 'kraft'))).resolves.toMatchObject({ verdict: 'check-quorum' });
    expect(kraft.asked).toEqual([]);
  });

  it('a malformed ZOOKEEPER_CONNECT fails the quorum steps by name; the other steps still run', async () => {
    const { handler, asked } = deployed({ ...FILE, ZOOKEEPER_CONNECT: 'zk-1:2181,zk-2:2181/kafka' }, []);
    await expect(handler(step('quorum-confirm'))).rejects.toMatchObject({
      name: 'ZookeeperConnectError',
      message: expect.stringContaining('"zk-2:2181/kafka" is not host:port'),
    });
    await expect(handler({ step: 'confirm', cluster: 'payments', brokerId: 2 })).resolves.toMatchObject({
      step: 'confirm',
      verdict: 'false-alarm',
    });
    expect(asked).toEqual([]);
  });

  it('parseZookeeperConnect: host:port entries, spaces trimmed, unset or empty is none', () => {
    expect(parseZookeeperConnect('a:1, b:2')).toEqual(['a:1', 'b:2']);
    expect(parseZookeeperConnect(undefined)).toBeUndefined();
    expect(parseZookeeperConnect(' ')).toBeUndefined();
    for (const bad of ['zk-1', 'zk-1:0', 'zk-1:70000', 'zk-1:2181,', ':2181'])
      expect(() => parseZookeeperConnect(bad), bad).toThrow(/ZOOKEEPER_CONNECT/);
  });
});
