import { describe, expect, it } from 'vitest';
import {
  confirmQuorumLoss,
  ensembleQuorum,
  readQuorumStatus,
  recoveryRestartOrder,
  verifyQuorumRestored,
  type ZkServerMode,
} from '#domain/quorum-recovery.js';
import type { ClusterSnapshot } from '#domain/snapshot.js';

function snap(status: ClusterSnapshot['status'], controller: ClusterSnapshot['controller']): ClusterSnapshot {
  return {
    takenAt: '2026-01-01T00:00:00.000Z',
    durationMs: 1,
    status,
    bootstrapReachable: true,
    expectedBrokers: 3,
    registeredBrokers: [1, 2, 3],
    brokers: [1, 2, 3].map((id) => ({ id, host: '127.0.0.1', port: 9092, registered: true, reachable: true })),
    controller,
    partitions: { total: 1, offline: 0, underReplicated: 0, underMinIsr: 0, details: [] },
    perBroker: {},
    consumerGroups: [],
    errors: [],
  };
}
const zkController = (id: number | null) => ({ id, known: id !== null, note: 'ZooKeeper' });

describe('confirmQuorumLoss', () => {
  it('an unhealthy cluster has lost its quorum, in either mode', () => {
    expect(confirmQuorumLoss(snap('degraded', zkController(2)), 'zookeeper')).toMatchObject({
      verdict: 'quorum-lost',
      controllerId: 2,
      summary: expect.stringMatching(/^the cluster is degraded/),
    });
    expect(confirmQuorumLoss(snap('down', zkController(null)), 'kraft').verdict).toBe('quorum-lost');
  });
  it('ZooKeeper: healthy with an active controller is a false alarm; without one the quorum is lost', () => {
    expect(confirmQuorumLoss(snap('healthy', zkController(3)), 'zookeeper')).toMatchObject({
      verdict: 'false-alarm',
      controllerId: 3,
      summary: expect.stringMatching(/^broker 3 is the active controller/),
    });
    expect(confirmQuorumLoss(snap('healthy', zkController(null)), 'zookeeper')).toMatchObject({
      verdict: 'quorum-lost',
      controllerId: null,
    });
    expect(confirmQuorumLoss(snap('healthy', { id: -1, known: true, note: '' }), 'zookeeper').verdict).toBe(
      'quorum-lost',
    );
  });
  it('a probe the cluster refuses confirms nothing: probe-refused, in either mode, unless the ensemble itself says no quorum', () => {
    for (const status of ['auth-failed', 'tls-failed'] as const) {
      expect(confirmQuorumLoss(snap(status, zkController(null)), 'zookeeper')).toMatchObject({
        verdict: 'probe-refused',
        summary: expect.stringContaining(`refuses the healer's probe (${status})`),
      });
      expect(confirmQuorumLoss(snap(status, { id: null, known: false, note: 'KRaft' }), 'kraft').verdict).toBe(
        'probe-refused',
      );
    }
    const lost = {
      servers: [
        { server: 'zk-1:2181', mode: 'not-serving' as const },
        { server: 'zk-2:2181', mode: 'not-serving' as const },
        { server: 'zk-3:2181', mode: 'follower' as const },
      ],
    };
    expect(confirmQuorumLoss(snap('auth-failed', zkController(null)), 'zookeeper', lost).verdict).toBe('quorum-lost');
  });
  it('KRaft: healthy-looking brokers mean the quorum itself must be asked', () => {
    expect(confirmQuorumLoss(snap('healthy', { id: null, known: false, note: 'KRaft' }), 'kraft')).toMatchObject({
      verdict: 'check-quorum',
      controllerId: null,
    });
  });
});

describe('recoveryRestartOrder', () => {
  it('every broker once, ascending, the controller last', () => {
    expect(recoveryRestartOrder([3, 1, 2, 1], 1)).toEqual([2, 3, 1]);
    expect(recoveryRestartOrder([3, 1, 2], null)).toEqual([1, 2, 3]);
    expect(recoveryRestartOrder([3, 1], 7)).toEqual([1, 3]);
  });
});

describe('verifyQuorumRestored', () => {
  it('needs a healthy cluster, and in ZooKeeper mode an active controller', () => {
    expect(verifyQuorumRestored(snap('degraded', zkController(1)), 'zookeeper')).toMatchObject({
      restored: false,
      summary: expect.stringMatching(/^the cluster is not healthy yet/),
    });
    expect(verifyQuorumRestored(snap('healthy', zkController(null)), 'zookeeper')).toMatchObject({
      restored: false,
      summary: expect.stringMatching(/^no active controller yet/),
    });
    expect(verifyQuorumRestored(snap('healthy', zkController(2)), 'zookeeper')).toMatchObject({
      restored: true,
      controllerId: 2,
      summary: expect.stringContaining('active controller 2'),
    });
    expect(verifyQuorumRestored(snap('healthy', { id: null, known: false, note: 'KRaft' }), 'kraft')).toMatchObject({
      restored: true,
      summary: expect.stringContaining('controller per the KRaft quorum'),
    });
  });
});

describe('readQuorumStatus', () => {
  it('a leader id >= 0 means the quorum is led', () => {
    expect(
      readQuorumStatus({ result: 'ok', leaderId: 2, leaderEpoch: 7, maxFollowerLag: 0, currentVoters: '[1,2,3]' }),
    ).toEqual({
      led: true,
      leaderId: 2,
      summary: 'KRaft quorum led by 2 (epoch 7, max follower lag 0, voters [1,2,3])',
    });
    expect(readQuorumStatus({ result: 'ok', leaderId: 1, leaderEpoch: null })).toEqual({
      led: true,
      leaderId: 1,
      summary: 'KRaft quorum led by 1 (epoch unknown, max follower lag unknown)',
    });
  });
  it('no leader, or a failed tool, is not led', () => {
    expect(readQuorumStatus({ result: 'ok', leaderId: -1 })).toMatchObject({
      led: false,
      summary: 'the KRaft quorum has no leader',
    });
    expect(readQuorumStatus({ result: 'ok', leaderId: null })).toMatchObject({ led: false });
    expect(readQuorumStatus({ result: 'failed', message: 'timed out' })).toEqual({
      led: false,
      leaderId: null,
      summary: 'describe-quorum failed: timed out',
    });
    expect(readQuorumStatus({})).toMatchObject({ summary: 'describe-quorum failed: no result' });
  });
});

describe('the ZooKeeper ensemble observed (srvr on every server)', () => {
  const ens = (...modes: ZkServerMode[]) => ({
    servers: modes.map((mode, i) => ({ server: `zk${i + 1}:2181`, mode })),
  });
  it('a quorum is one leader with a strict majority of the voters serving; observers do not vote', () => {
    expect(ensembleQuorum(ens('follower', 'leader', 'not-serving'))).toEqual({
      hasQuorum: true,
      leader: 'zk2:2181',
      summary:
        'ZooKeeper ensemble led by zk2:2181, 2 of 3 voters serving (zk1:2181 follower, zk2:2181 leader, zk3:2181 not-serving)',
    });
    expect(ensembleQuorum(ens('standalone'))).toMatchObject({ hasQuorum: true, leader: 'zk1:2181' });
    expect(ensembleQuorum(ens('leader', 'not-serving', 'not-serving'))).toMatchObject({
      hasQuorum: false,
      leader: null,
      summary: expect.stringMatching(/^ZooKeeper ensemble has no quorum: 1 of 3 voters serving/),
    });
    expect(ensembleQuorum(ens('leader', 'leader', 'follower')).hasQuorum).toBe(false);
    expect(ensembleQuorum(ens('leader', 'observer', 'observer', 'not-serving')).hasQuorum).toBe(false);
    expect(ensembleQuorum(ens('leader', 'follower', 'observer', 'not-serving'))).toMatchObject({
      hasQuorum: true,
      summary: expect.stringContaining('2 of 3 voters serving'),
    });
  });
  it('confirm: a lost ensemble is a quorum loss even while the brokers look healthy with their last controller', () => {
    expect(
      confirmQuorumLoss(
        snap('healthy', zkController(3)),
        'zookeeper',
        ens('not-serving', 'not-serving', 'not-serving'),
      ),
    ).toMatchObject({
      verdict: 'quorum-lost',
      controllerId: 3,
      summary: expect.stringMatching(
        /^ZooKeeper ensemble has no quorum: 0 of 3 voters serving .*; the brokers serve the metadata they last had/,
      ),
    });
    expect(
      confirmQuorumLoss(snap('healthy', zkController(3)), 'zookeeper', ens('leader', 'follower', 'follower')).verdict,
    ).toBe('false-alarm');
    // KRaft has no ZooKeeper: an observation is not consulted.
    expect(
      confirmQuorumLoss(snap('healthy', { id: null, known: false, note: 'KRaft' }), 'kraft', ens('not-serving'))
        .verdict,
    ).toBe('check-quorum');
  });
  it('an unreachable server never counts as serving', () => {
    expect(ensembleQuorum(ens('leader', 'unreachable', 'unreachable'))).toMatchObject({
      hasQuorum: false,
      summary: expect.stringMatching(
        /^ZooKeeper ensemble has no quorum: 1 of 3 voters serving \(zk1:2181 leader, zk2:2181 unreachable, zk3:2181 unreachable\)/,
      ),
    });
    expect(ensembleQuorum(ens('leader', 'follower', 'unreachable')).hasQuorum).toBe(true);
  });
  it('confirm: no server could be asked while the brokers look whole -> ensemble-unreachable (people decide), never a quorum loss', () => {
    const c = confirmQuorumLoss(
      snap('healthy', zkController(3)),
      'zookeeper',
      ens('unreachable', 'unreachable', 'unreachable'),
    );
    expect(c).toMatchObject({ verdict: 'ensemble-unreachable', controllerId: 3 });
    expect(c.summary).toMatch(
      /^no ZooKeeper server could be asked \(zk1:2181, zk2:2181, zk3:2181: no connection, or no srvr answer\) while broker 3 is the active controller/,
    );
    // Unheard, the ensemble says nothing either way: the probe's view decides as without one.
    expect(
      confirmQuorumLoss(
        snap('degraded', zkController(3)),
        'zookeeper',
        ens('unreachable', 'unreachable', 'unreachable'),
      ),
    ).toMatchObject({ verdict: 'quorum-lost', summary: expect.stringMatching(/^the cluster is degraded/) });
    expect(
      confirmQuorumLoss(
        snap('healthy', { id: null, known: false, note: 'none' }),
        'zookeeper',
        ens('unreachable', 'unreachable', 'unreachable'),
      ),
    ).toMatchObject({ verdict: 'quorum-lost', summary: expect.stringMatching(/^no active controller/) });
    // One answer is enough to judge by the ensemble: two unreachable and one LOOKING is a loss.
    expect(
      confirmQuorumLoss(snap('healthy', zkController(3)), 'zookeeper', ens('unreachable', 'not-serving', 'unreachable'))
        .verdict,
    ).toBe('quorum-lost');
    // An empty observation is no observation.
    expect(confirmQuorumLoss(snap('healthy', zkController(3)), 'zookeeper', { servers: [] }).verdict).toBe(
      'false-alarm',
    );
  });
  it('verify: not restored until the ensemble has its quorum back, then the probe decides', () => {
    expect(
      verifyQuorumRestored(
        snap('healthy', zkController(2)),
        'zookeeper',
        ens('not-serving', 'follower', 'not-serving'),
      ),
    ).toMatchObject({ restored: false, summary: expect.stringMatching(/^ZooKeeper ensemble has no quorum: 1 of 3/) });
    expect(
      verifyQuorumRestored(snap('healthy', zkController(2)), 'zookeeper', ens('follower', 'leader', 'follower')),
    ).toMatchObject({ restored: true, controllerId: 2 });
    expect(
      verifyQuorumRestored(snap('degraded', zkController(2)), 'zookeeper', ens('follower', 'leader', 'follower'))
        .restored,
    ).toBe(false);
  });
});
