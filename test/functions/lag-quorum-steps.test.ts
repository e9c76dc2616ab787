import { describe, expect, it } from 'vitest';
import { resolveLagTarget } from '../../functions/workflow-steps/consumer-lag.js';
import { planQuorumRecovery, readQuorumOutput, resolveQuorumTarget, type QuorumClusterTarget } from '../../functions/workflow-steps/quorum-recovery.js';

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
  quorum: { metadataMode: 'kraft', zookeeper: [], metadataLogDir: '/data', brokerMetadataLogDirs: { '2': '/data-2' }, kafkaHome: '/opt/kafka', backupDir: '/var/backups/kafka-heal' },
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
    expect(t).toMatchObject({ cliInstanceId: 'i-0000000000000000a', bootstrapServer: 'localhost:9093', quorumMembers: [], dryRun: false });
  });

  it('refuses MSK, missing quorum configuration, no listed brokers, ZooKeeper mode without hosts, bad input', () => {
    expect(() => resolveQuorumTarget(input, () => ({ ...base, platform: 'msk' }))).toThrow(/AWS manages its quorum/);
    expect(() => resolveQuorumTarget(input, () => ({ ...base, quorum: undefined }))).toThrow(/no quorum configuration/);
    expect(() => resolveQuorumTarget(input, () => ({ ...base, brokers: [] }))).toThrow(/lists no brokers by instance id/);
    expect(() => resolveQuorumTarget(input, () => ({ ...base, quorum: { ...(base.quorum as NonNullable<QuorumClusterTarget['quorum']>), metadataMode: 'zookeeper' } }))).toThrow(/lists no ZooKeeper hosts/);
    expect(() => resolveQuorumTarget({ cluster: 'c' }, () => base)).toThrow(expect.objectContaining({ name: 'RecoveryTargetError', message: expect.stringMatching(/not a quorum-recovery request: incidentId/) }));
  });

  it('plans brokers the probe did not order before the controller, and no restore phase in KRaft mode', () => {
    const plan = planQuorumRecovery(resolveQuorumTarget(input, () => base), [1], 1, { stop: 'stop', backup: 'backup', restart: 'restart' });
    expect(plan.restart.map((b) => b.brokerId)).toEqual([2, 1]);
    expect(plan.hasRestore).toBe(false);
    expect(plan.backup.map((b) => [b.mode, b.dataDir])).toEqual([['kraft', '/data-2'], ['kraft', '/data']]);
    expect(plan.actions.restart.at(-1)).toMatch(/start broker 1 .*, the controller, last$/);
    expect(plan.summary).toMatch(/the KRaft controllers restart with their brokers; restart brokers 2, 1 one at a time \(controller 1 last\); validate$/);
  });

  it('reads a describe-quorum line, and an unreadable one as no leader', () => {
    expect(readQuorumOutput('{"result":"ok","leaderId":3}\n')).toMatchObject({ led: true, leaderId: 3 });
    expect(readQuorumOutput('')).toMatchObject({ led: false, summary: expect.stringMatching(/^describe-quorum printed no result/) });
  });
});

describe('consumer-lag start', () => {
  it('takes the group from the input or the signal, owner and hook from the configuration, default bands', () => {
    const target = { cluster: 'c', clusterStepsFunction: 'fn', consumerGroups: [{ name: 'g', maxOffsetLag: 5, scaleHook: { kind: 'sns' as const, topicArn: 'arn:aws:sns:eu-west-1:123456789012:t' } }], lagThresholds: { lagSev3: 50 } };
    expect(resolveLagTarget({ ...input, signal: { consumerGroup: 'g' } }, () => target)).toMatchObject({
      group: 'g',
      ownerTeam: null,
      ownerTopicArn: null,
      maxOffsetLag: 5,
      scaleHook: { kind: 'sns', target: 'arn:aws:sns:eu-west-1:123456789012:t' },
      thresholds: { lagSev3: 50, lagSev2: 100_000, lagSev1: 1_000_000 },
    });
    expect(resolveLagTarget({ ...input, consumerGroup: 'other' }, () => ({ cluster: 'c', clusterStepsFunction: 'fn' }))).toMatchObject({ group: 'other', topics: null, scaleHook: { kind: 'none', target: null }, maxOffsetLag: 10_000 });
  });
});
