import { describe, expect, it } from 'vitest';
import {
  brokerIsDown,
  confirmBrokerDown,
  decideFromDiagnosis,
  diagnosisSummary,
  escalationReason,
  recoveryApproval,
  snapshotSummary,
  verifyBrokerRecovered,
} from '#domain/broker-recovery.js';
import type { BrokerObservation, ClusterSnapshot } from '#domain/snapshot.js';
import { summarizePartitions, type RawPartition } from '#shared/probe/analyze.js';

type BrokerState = 'up' | 'crashed' | 'hung';

function snapshot(opts: {
  brokers: Record<number, BrokerState>;
  partitions: RawPartition[];
  status: ClusterSnapshot['status'];
  expected?: number;
  minIsr?: number;
}): ClusterSnapshot {
  const brokers: BrokerObservation[] = Object.entries(opts.brokers).map(([id, st]) => ({
    id: Number(id),
    host: st === 'crashed' ? '' : '127.0.0.1',
    port: st === 'crashed' ? 0 : 9000 + Number(id),
    registered: st !== 'crashed',
    reachable: st === 'up',
    ...(st === 'hung' ? { error: 'no ApiVersions answer' } : {}),
  }));
  const dead = new Set(brokers.filter((b) => !b.registered || !b.reachable).map((b) => b.id));
  const { summary, perBroker } = summarizePartitions(
    opts.partitions,
    () => opts.minIsr ?? 2,
    brokers.map((b) => b.id),
    dead,
  );
  return {
    takenAt: '2026-01-01T00:00:00.000Z',
    durationMs: 5,
    status: opts.status,
    bootstrapReachable: opts.status !== 'down',
    ...(opts.expected !== undefined ? { expectedBrokers: opts.expected } : {}),
    registeredBrokers: brokers.filter((b) => b.registered).map((b) => b.id),
    brokers,
    controller: { id: null, known: false, note: 'KRaft' },
    partitions: summary,
    perBroker,
    consumerGroups: [],
    errors: [],
  };
}

const p = (partition: number, leader: number, isr: number[], replicas = [1, 2, 3]): RawPartition => ({
  topic: 'orders',
  partition,
  leader,
  replicas,
  isr,
  offlineReplicas: [],
});
const healthy = snapshot({
  brokers: { 1: 'up', 2: 'up', 3: 'up' },
  partitions: [p(0, 1, [1, 2, 3])],
  status: 'healthy',
  expected: 3,
});
const twoCrashed = snapshot({
  brokers: { 1: 'up', 2: 'crashed', 3: 'up' },
  partitions: [p(0, 1, [1, 3])],
  status: 'degraded',
  expected: 3,
});
const twoHung = snapshot({
  brokers: { 1: 'up', 2: 'hung', 3: 'up' },
  partitions: [p(0, 1, [1, 2, 3])],
  status: 'degraded',
});
const twoBackNotInIsr = snapshot({
  brokers: { 1: 'up', 2: 'up', 3: 'up' },
  partitions: [p(0, 1, [1, 3]), p(1, 3, [3, 1]), p(2, 1, [1, 3]), p(3, 3, [3, 1])],
  status: 'degraded',
});
const offlineOnTwo = snapshot({
  brokers: { 1: 'up', 2: 'up', 3: 'up' },
  partitions: [p(0, -1, [2], [2])],
  status: 'degraded',
  minIsr: 1,
});
const down = snapshot({ brokers: {}, partitions: [], status: 'down' });

describe('snapshotSummary', () => {
  it('names status, registered count, down brokers and unhealthy partitions', () => {
    expect(snapshotSummary(healthy)).toBe('healthy: 3 broker(s) registered of 3 expected');
    expect(snapshotSummary(twoCrashed)).toBe(
      'degraded: 2 broker(s) registered of 3 expected; down 2; partitions offline 0, under-replicated 1, under min ISR 0',
    );
    expect(snapshotSummary(down)).toBe('down: 0 broker(s) registered');
  });
});

describe('brokerIsDown / confirmBrokerDown', () => {
  it('a crashed or hung broker is down: go on', () => {
    expect(confirmBrokerDown(twoCrashed, 2)).toMatchObject({
      verdict: 'broker-down',
      brokerId: 2,
      clusterStatus: 'degraded',
    });
    expect(confirmBrokerDown(twoHung, 2).verdict).toBe('broker-down');
    expect(confirmBrokerDown(twoCrashed, 2).summary).toMatch(/^broker 2 is down \(degraded/);
  });

  it('a cluster with no broker answering counts every broker as down', () => {
    expect(brokerIsDown(down, 7)).toBe(true);
    expect(confirmBrokerDown(down, 1).verdict).toBe('broker-down');
  });

  it('healthy cluster with the broker up: false alarm', () => {
    expect(confirmBrokerDown(healthy, 2)).toMatchObject({
      verdict: 'false-alarm',
      summary: expect.stringContaining('healthy'),
    });
  });

  it('broker up but the cluster degraded or unknown: inconclusive, never a false alarm', () => {
    expect(confirmBrokerDown(twoCrashed, 1).verdict).toBe('inconclusive');
    const unknown = { ...healthy, status: 'unknown' as const };
    expect(confirmBrokerDown(unknown, 1).verdict).toBe('inconclusive');
  });

  it('a probe the cluster refuses (auth-failed, tls-failed) confirms nothing: inconclusive, never broker-down', () => {
    // No metadata: the probe was refused by every listener.
    const blind = { ...healthy, status: 'auth-failed' as const, registeredBrokers: [], brokers: [] };
    expect(confirmBrokerDown(blind, 2)).toMatchObject({
      verdict: 'inconclusive',
      summary: expect.stringMatching(
        /^the cluster refuses the healer's probe \(auth-failed\): broker 2 cannot be judged/,
      ),
    });
    // A broker that refused the probe's certificate check answered: it is not down.
    const refusedBy2 = {
      ...healthy,
      status: 'tls-failed' as const,
      brokers: healthy.brokers.map((b) => (b.id === 2 ? { ...b, access: 'tls-failed' as const } : b)),
    };
    expect(confirmBrokerDown(refusedBy2, 2).verdict).toBe('inconclusive');
  });

  it('a broker absent from the metadata is down only when fewer brokers than expected are registered', () => {
    expect(brokerIsDown(healthy, 9)).toBe(false);
    const missing = { ...twoCrashed, brokers: twoCrashed.brokers.filter((b) => b.id !== 2) };
    expect(brokerIsDown(missing, 2)).toBe(true);
    const noExpectation = { ...missing, expectedBrokers: undefined };
    expect(brokerIsDown(noExpectation, 2)).toBe(false);
    const noMetadata = { ...missing, registeredBrokers: [] };
    expect(brokerIsDown(noMetadata, 2)).toBe(false);
  });
});

describe('verifyBrokerRecovered', () => {
  it('recovered: registered, reachable, in the ISR of all its partitions', () => {
    expect(verifyBrokerRecovered(healthy, 2)).toMatchObject({ recovered: true, laggingPartitions: 0 });
  });

  it('not recovered while missing, unregistered or unreachable', () => {
    expect(verifyBrokerRecovered(healthy, 9).summary).toBe('broker 9 is not in the cluster metadata');
    expect(verifyBrokerRecovered(twoCrashed, 2)).toMatchObject({
      recovered: false,
      summary: 'broker 2 is not registered',
    });
    expect(verifyBrokerRecovered(twoHung, 2).summary).toBe('broker 2 does not answer (no ApiVersions answer)');
    const hungNoError = { ...twoHung, brokers: twoHung.brokers.map((b) => ({ ...b, error: undefined })) };
    expect(verifyBrokerRecovered(hungNoError, 2).summary).toBe('broker 2 does not answer (unreachable)');
  });

  it('not recovered while it is up but still catching up (not in the ISR), listing up to 3 partitions', () => {
    const v = verifyBrokerRecovered(twoBackNotInIsr, 2);
    expect(v).toMatchObject({ recovered: false, laggingPartitions: 4 });
    expect(v.summary).toBe('broker 2 is up but not yet in sync for 4 partition(s): orders-0, orders-1, orders-2');
  });

  it("an offline partition it holds keeps it unrecovered; another broker's partitions do not", () => {
    expect(verifyBrokerRecovered(offlineOnTwo, 2)).toMatchObject({ recovered: false, laggingPartitions: 1 });
    expect(verifyBrokerRecovered(offlineOnTwo, 1)).toMatchObject({ recovered: true });
  });

  it('an ISR member the probe could not reach does not count', () => {
    const stale = snapshot({
      brokers: { 1: 'up', 2: 'up', 3: 'up' },
      partitions: [p(0, 1, [1, 2, 3])],
      status: 'degraded',
    });
    stale.partitions.details = [
      {
        topic: 'orders',
        partition: 0,
        leader: 1,
        replicas: [1, 2, 3],
        isr: [1, 2, 3],
        offlineReplicas: [],
        minIsr: 2,
        unreachableIsr: [2],
      },
    ];
    expect(verifyBrokerRecovered(stale, 2).recovered).toBe(false);
    expect(verifyBrokerRecovered(stale, 3).recovered).toBe(true);
  });
});

const diag = (over: Record<string, unknown> = {}) => ({
  v: 1,
  host: 'b2',
  service: 'kafka',
  serviceActive: false,
  serviceState: 'failed',
  serviceResult: 'exit-code',
  listenerUp: false,
  diskUsedPercent: 42,
  oomKilled: false,
  jvmOutOfMemory: false,
  lastErrors: [],
  ...over,
});

describe('decideFromDiagnosis', () => {
  it('a stopped or failed service: restart', () => {
    expect(decideFromDiagnosis(diag(), 90)).toEqual({
      action: 'restart',
      reason: 'the service is not running: restart the Kafka service',
      summary: 'service kafka failed (result exit-code), listener down, disk 42%',
    });
  });

  it('a running service whose broker does not serve (hung): restart', () => {
    const d = decideFromDiagnosis(
      diag({ serviceActive: true, serviceState: 'active', serviceResult: 'success', listenerUp: true }),
      90,
    );
    expect(d.action).toBe('restart');
    expect(d.reason).toMatch(/hung/);
    expect(d.summary).toBe('service kafka active, listener up, disk 42%');
  });

  it('disk at the critical threshold: disk pressure; one below: restart (both sides of the edge)', () => {
    expect(decideFromDiagnosis(diag({ diskUsedPercent: 90 }), 90).action).toBe('disk-pressure');
    expect(decideFromDiagnosis(diag({ diskUsedPercent: 89 }), 90).action).toBe('restart');
    expect(decideFromDiagnosis(diag({ diskUsedPercent: 90 }), 90).reason).toMatch(/90% full \(critical at 90%\)/);
  });

  it('unknown disk usage does not block a restart', () => {
    const d = decideFromDiagnosis(diag({ diskUsedPercent: null }), 90);
    expect(d.action).toBe('restart');
    expect(d.summary).toContain('disk unknown');
  });

  it('a diagnosis that could not run, or of another shape: escalate', () => {
    expect(decideFromDiagnosis({ v: 1, error: 'invalid parameter LogDirs' }, 90)).toMatchObject({
      action: 'escalate',
      reason: expect.stringContaining('invalid parameter LogDirs'),
    });
    expect(decideFromDiagnosis({ v: 2, serviceActive: true }, 90).action).toBe('escalate');
    expect(decideFromDiagnosis({ v: 1 }, 90).action).toBe('escalate');
  });

  it('summary mentions OOM evidence and error lines', () => {
    expect(
      diagnosisSummary(
        diag({ oomKilled: true, jvmOutOfMemory: true, lastErrors: ['ERROR x', 'ERROR y'], serviceResult: 'oom-kill' }),
      ),
    ).toBe(
      'service kafka failed (result oom-kill), listener down, disk 42%, killed by the OOM killer, JVM OutOfMemoryError in the log, 2 recent error line(s)',
    );
    expect(diagnosisSummary({})).toBe('service kafka unknown, listener down, disk unknown');
  });
});

describe('escalationReason', () => {
  it('prefers an explicit reason', () => {
    expect(escalationReason({ escalation: { reason: 'restart is unsafe' }, error: { Error: 'X' } })).toBe(
      'restart is unsafe',
    );
  });

  it('reads a Lambda error Cause (JSON with errorMessage) or a plain Cause', () => {
    expect(
      escalationReason({
        error: {
          Error: 'BrokerNotHealthy',
          Cause: JSON.stringify({ errorType: 'BrokerNotHealthy', errorMessage: 'broker 2 not in ISR' }),
        },
      }),
    ).toBe('BrokerNotHealthy: broker 2 not in ISR');
    expect(escalationReason({ error: { Error: 'Ssm.InvalidInstanceIdException', Cause: 'agent offline' } })).toBe(
      'Ssm.InvalidInstanceIdException: agent offline',
    );
    expect(escalationReason({ error: { Error: 'States.Timeout', Cause: '{"other":1}' } })).toBe(
      'States.Timeout: {"other":1}',
    );
    expect(escalationReason({ error: { Cause: 42 } })).toBe('Error');
    expect(escalationReason({ escalation: { reason: 5 }, error: {} })).toBe('Error');
  });

  it('reads the error of a failed nested execution (States.TaskFailed describing the child) as the reason', () => {
    const child = (Error: unknown, Cause?: unknown) => ({
      error: {
        Error: 'States.TaskFailed',
        Cause: JSON.stringify({ ExecutionArn: 'arn:x', Status: 'FAILED', Error, Cause }),
      },
    });
    expect(
      escalationReason(child('CommandFailed', 'the restart command ended Failed (exit code 7): no listener')),
    ).toBe('CommandFailed: the restart command ended Failed (exit code 7): no listener');
    expect(
      escalationReason(
        child('Boom', JSON.stringify({ errorType: 'Boom', errorMessage: 'a Lambda in the child failed' })),
      ),
    ).toBe('Boom: a Lambda in the child failed');
    expect(escalationReason(child('States.Timeout'))).toBe('States.Timeout');
    // Not a child's description: the Cause is kept as it is.
    expect(escalationReason({ error: { Error: 'States.TaskFailed', Cause: '{"Status":"FAILED"}' } })).toBe(
      'States.TaskFailed: {"Status":"FAILED"}',
    );
    expect(escalationReason({ error: { Error: 'Other', Cause: '{"Error":"X","Cause":"y"}' } })).toBe(
      'Other: {"Error":"X","Cause":"y"}',
    );
    expect(escalationReason({ error: { Error: 'States.TaskFailed', Cause: 'null' } })).toBe('States.TaskFailed: null');
  });

  it('takes the message of RecoveryStopped as the reason, from a Lambda, a Fail state or a child run', () => {
    const lambda = { errorType: 'RecoveryStopped', errorMessage: 'restart refused by the safety check: last ISR' };
    expect(escalationReason({ error: { Error: 'RecoveryStopped', Cause: JSON.stringify(lambda) } })).toBe(
      'restart refused by the safety check: last ISR',
    );
    expect(escalationReason({ error: { Error: 'RecoveryStopped', Cause: 'dry run: the restart was planned' } })).toBe(
      'dry run: the restart was planned',
    );
    const child = { Status: 'FAILED', Error: 'RecoveryStopped', Cause: 'the disk was not freed' };
    expect(escalationReason({ error: { Error: 'States.TaskFailed', Cause: JSON.stringify(child) } })).toBe(
      'the disk was not freed',
    );
    // Without a message the name is all there is to say.
    expect(escalationReason({ error: { Error: 'RecoveryStopped', Cause: '' } })).toBe('RecoveryStopped');
  });

  it('says so when nothing explains it', () => {
    expect(escalationReason(undefined)).toBe('the workflow could not continue (no reason recorded)');
    expect(escalationReason({ escalation: null })).toBe('the workflow could not continue (no reason recorded)');
  });
});

describe('recoveryApproval', () => {
  const base = { cluster: 'orders', brokerId: 2 };
  it('asks only for an await-approval decision in a top-level run', () => {
    const ec2 = { ...base, platform: 'ec2' as const, where: 'i-0123456789abcdef2' };
    expect(recoveryApproval({ ...ec2, action: 'await-approval' }).needsApproval).toBe(true);
    expect(recoveryApproval({ ...ec2, action: 'await-approval', parentWorkflow: 'none' }).needsApproval).toBe(true);
    expect(
      recoveryApproval({ ...ec2, action: 'await-approval', parentWorkflow: 'cascade-recovery' }).needsApproval,
    ).toBe(false);
    expect(recoveryApproval({ ...ec2, action: 'remediate' }).needsApproval).toBe(false);
    expect(recoveryApproval(ec2).needsApproval).toBe(false);
  });

  it('names what will run: EC2 restart through the runbooks, MSK reboot; severity and type when known', () => {
    const ec2 = recoveryApproval({
      ...base,
      platform: 'ec2',
      where: 'i-0123456789abcdef2',
      severity: 'SEV-1',
      incidentType: 'broker-failure',
    });
    expect(ec2.summary).toBe(
      'Restart the Kafka service of broker 2 of orders (SEV-1 broker-failure) on i-0123456789abcdef2',
    );
    expect(ec2.actions).toHaveLength(3);
    expect(ec2.actions.join(' ')).toMatch(/kafka-diagnose-host.*kafka-restart-broker.*disk-pressure.*ISR/);
    const msk = recoveryApproval({
      ...base,
      platform: 'msk',
      where: 'arn:aws:kafka:eu-west-1:1:cluster/orders/x',
      incidentType: 'broker-failure',
    });
    expect(msk.summary).toBe('Reboot broker 2 of orders (broker-failure) with MSK RebootBroker');
    expect(msk.actions.join(' ')).toMatch(/ACTIVE.*RebootBroker.*ISR/);
    expect(recoveryApproval({ ...base, platform: 'msk', where: 'arn' }).summary).toBe(
      'Reboot broker 2 of orders with MSK RebootBroker',
    );
  });
});
