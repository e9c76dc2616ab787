import { describe, expect, it } from 'vitest';
import {
  classify,
  failingBrokers,
  failingBrokerTimes,
  KIND_TO_TYPE,
  lagSeverity,
  simultaneousCount,
  type ClassifyInput,
} from '#domain/classify.js';
import { DEFAULT_POLICY } from '#domain/policy.js';
import { isMoreSevere, mostSevere, pages } from '#domain/severity.js';
import { SIGNAL_KINDS, type Decision, type HealRecord, type OpenIncident, type RuntimePolicy } from '#domain/types.js';
import { AUTO, NOW, ORDERS, PAYMENTS, ago, signal } from './fixtures.js';

function decide(over: Partial<ClassifyInput> = {}): Decision {
  return classify({
    signal: signal(),
    cluster: PAYMENTS,
    openIncidents: [],
    recentHeals: [],
    policy: AUTO,
    now: NOW,
    ...over,
  });
}

function incident(over: Partial<OpenIncident> = {}): OpenIncident {
  return {
    id: 'inc-1',
    cluster: 'payments',
    type: 'broker-failure',
    severity: 'SEV-2',
    status: 'remediating',
    brokers: [{ id: 2, firstSeenAt: ago(60_000) }],
    openedAt: ago(60_000),
    fingerprints: ['fp-other'],
    ...over,
  };
}

function heal(over: Partial<HealRecord> = {}): HealRecord {
  return { cluster: 'payments', type: 'broker-failure', brokerIds: [1], finishedAt: ago(1_000), ...over };
}

const policy = (over: Partial<RuntimePolicy>): RuntimePolicy => ({ ...AUTO, ...over });
const brokers = (...ids: number[]) => signal({ brokerIds: ids });
const text = (d: Decision) => d.reasons.join(' | ');

describe('classify: resolved, unknown cluster, unknown kind', () => {
  it('a resolved signal is ignored with a reason', () => {
    const d = decide({ signal: signal({ state: 'resolved' }) });
    expect(d).toMatchObject({ action: 'ignore', incidentType: 'broker-failure', severity: 'SEV-4' });
    expect(text(d)).toMatch(/resolved: no action; the incident store resolves/);
  });

  it('an unknown cluster escalates with a page', () => {
    const d = decide({ cluster: undefined, signal: signal({ cluster: 'stranger' }) });
    expect(d).toMatchObject({ action: 'escalate', severity: 'SEV-2', page: true, incidentType: 'broker-failure' });
    expect(text(d)).toMatch(/cluster "stranger" is not configured/);
    expect(text(decide({ cluster: undefined, signal: signal({ cluster: '' }) }))).toMatch(
      /the signal names no cluster/,
    );
  });

  it('an unknown kind escalates without a page', () => {
    const d = decide({ signal: signal({ kind: 'unknown', name: 'ServerCpuTooHigh' }) });
    expect(d).toMatchObject({ action: 'escalate', incidentType: 'unknown', severity: 'SEV-3', page: false });
    expect(text(d)).toMatch(/ServerCpuTooHigh: the signal kind is unknown/);
  });

  it('every kind maps to an incident type and gets a decision with reasons', () => {
    for (const kind of SIGNAL_KINDS) {
      const d = decide({ signal: signal({ kind, value: 50 }) });
      expect(KIND_TO_TYPE[kind]).toBeDefined();
      expect(d.reasons.length).toBeGreaterThan(0);
    }
  });
});

describe('classify: broker-count decision matrix', () => {
  it('1 broker down on EC2 -> remediate with broker-recovery, SEV-2', () => {
    const d = decide();
    expect(d).toMatchObject({ action: 'remediate', incidentType: 'broker-failure', severity: 'SEV-2' });
    if (d.action !== 'remediate') throw new Error('unreachable');
    expect(d.plan).toMatchObject({ workflow: 'broker-recovery', brokerIds: [1], dryRun: false });
    expect(d.plan.steps[0]).toMatch(/^Re-probe payments/);
    expect(d.plan.steps[1]).toMatch(/Restart broker 1 through SSM Run Command/);
    expect(text(d)).toMatch(/1 of 10 brokers failing within 300 s \(10%\): broker 1\./);
  });

  it('1 broker down on MSK -> msk-broker-recovery', () => {
    const d = decide({ cluster: ORDERS, signal: signal({ cluster: 'orders', brokerIds: [3] }) });
    expect(d).toMatchObject({
      action: 'remediate',
      severity: 'SEV-2',
      plan: { workflow: 'msk-broker-recovery', brokerIds: [3] },
    });
    expect(d.action === 'remediate' && d.plan.steps[1]).toMatch(/Reboot broker 3 with MSK RebootBroker/);
  });

  it('2 brokers down -> cascade-failure, cascade-recovery automatically, SEV-1', () => {
    const d = decide({ signal: brokers(1, 2) });
    expect(d).toMatchObject({
      action: 'remediate',
      incidentType: 'cascade-failure',
      severity: 'SEV-1',
      plan: { workflow: 'cascade-recovery', brokerIds: [1, 2] },
    });
    expect(text(d)).toMatch(/Cascade: 2 distinct brokers failed within 300 s/);
    expect(d.action === 'remediate' && d.plan.steps[1]).toMatch(/brokers 1, 2/);
  });

  it('3 brokers down (30%) -> await approval with cascade-recovery, SEV-1', () => {
    const d = decide({ signal: brokers(1, 2, 3) });
    expect(d).toMatchObject({
      action: 'await-approval',
      incidentType: 'cascade-failure',
      severity: 'SEV-1',
      plan: { workflow: 'cascade-recovery', brokerIds: [1, 2, 3] },
    });
    expect(text(d)).toMatch(/3 brokers down: cascade recovery needs approval/);
  });

  it('blast radius edge: 4 of 10 (exactly 40%) is not infrastructure-wide, 5 of 10 is', () => {
    expect(decide({ signal: brokers(1, 2, 3, 4) })).toMatchObject({ action: 'await-approval', severity: 'SEV-1' });
    const d = decide({ signal: brokers(1, 2, 3, 4, 5) });
    expect(d).toMatchObject({ action: 'escalate', severity: 'SEV-1', page: true, incidentType: 'cascade-failure' });
    expect(text(d)).toMatch(
      /Blast radius: 5 brokers failed together, exceeding the limit of 4 \(40% of 10\); treated as infrastructure-wide/,
    );
  });

  it('emergency edge: 5 of 10 (exactly 50%) is not an emergency, 6 of 10 is', () => {
    expect(text(decide({ signal: brokers(1, 2, 3, 4, 5) }))).not.toMatch(/More than half/);
    const d = decide({ signal: brokers(1, 2, 3, 4, 5, 6) });
    expect(d).toMatchObject({ action: 'escalate', severity: 'SEV-1', page: true });
    expect(text(d)).toMatch(/More than half of the brokers failed together: emergency/);
  });

  it('3-broker cluster: 1 down remediates, 2 down (67%) is an emergency', () => {
    const orders = (ids: number[]) =>
      decide({ cluster: ORDERS, signal: signal({ cluster: 'orders', brokerIds: ids }) });
    expect(orders([1]).action).toBe('remediate');
    expect(orders([1, 2])).toMatchObject({ action: 'escalate', severity: 'SEV-1', page: true });
  });

  it('blastRadiusBrokers smaller than the fraction wins: 2 ok, 3 infrastructure-wide', () => {
    const p = policy({ blastRadiusBrokers: 2 });
    expect(decide({ signal: brokers(1, 2), policy: p }).action).toBe('remediate');
    const d = decide({ signal: brokers(1, 2, 3), policy: p });
    expect(d).toMatchObject({ action: 'escalate', severity: 'SEV-1' });
    expect(text(d)).toMatch(/limit of 2 \(40% of 10 or 2 brokers\)/);
  });

  it('blastRadiusBrokers larger than the fraction: the fraction wins', () => {
    expect(decide({ signal: brokers(1, 2, 3, 4, 5), policy: policy({ blastRadiusBrokers: 8 }) }).action).toBe(
      'escalate',
    );
  });

  it('stale facts (fewer brokers configured than failing) count the failing ones', () => {
    const d = decide({ cluster: { ...PAYMENTS, brokerCount: 1 }, signal: brokers(1, 2) });
    expect(d).toMatchObject({ action: 'escalate', severity: 'SEV-1' });
    expect(text(d)).toMatch(/2 of 2 brokers/);
  });

  it('a broker-down signal without a broker id escalates', () => {
    const d = decide({ signal: brokers() });
    expect(d).toMatchObject({ action: 'escalate', incidentType: 'broker-failure', severity: 'SEV-2', page: true });
    expect(text(d)).toMatch(/names no broker/);
  });

  it('open offline partitions make a broker recovery wait for approval (data-loss risk)', () => {
    const d = decide({ openIncidents: [incident({ id: 'off', type: 'offline-partitions', brokers: [] })] });
    expect(d).toMatchObject({ action: 'await-approval', severity: 'SEV-1', plan: { workflow: 'broker-recovery' } });
    expect(text(d)).toMatch(/data-loss risk/);
    expect(
      decide({ openIncidents: [incident({ type: 'offline-partitions', brokers: [], status: 'resolved' })] }).action,
    ).toBe('remediate');
    expect(
      decide({ openIncidents: [incident({ type: 'offline-partitions', brokers: [], cluster: 'orders' })] }).action,
    ).toBe('remediate');
  });
});

describe('classify: cascade window (counting brokers of open incidents)', () => {
  it('a broker first seen exactly 300 s ago counts; 300.001 s ago does not', () => {
    const at = (ms: number) => decide({ openIncidents: [incident({ brokers: [{ id: 2, firstSeenAt: ago(ms) }] })] });
    expect(at(300_000)).toMatchObject({ incidentType: 'cascade-failure', plan: { brokerIds: [1, 2] } });
    expect(at(300_001)).toMatchObject({ incidentType: 'broker-failure', plan: { brokerIds: [1] } });
  });

  it('only open broker incidents of the same cluster with readable times count', () => {
    const none = [
      incident({ status: 'resolved' }),
      incident({ cluster: 'orders' }),
      incident({ type: 'disk-pressure' }),
      incident({ brokers: [{ id: 2, firstSeenAt: 'garbage' }] }),
    ];
    expect(decide({ openIncidents: none })).toMatchObject({ incidentType: 'broker-failure', plan: { brokerIds: [1] } });
    expect(
      decide({ openIncidents: [incident({ type: 'cascade-failure', status: 'awaiting-approval' })] }).incidentType,
    ).toBe('cascade-failure');
  });

  it('failingBrokers unions and sorts', () => {
    const input = {
      signal: brokers(5),
      cluster: PAYMENTS,
      openIncidents: [
        incident({
          brokers: [
            { id: 3, firstSeenAt: ago(0) },
            { id: 5, firstSeenAt: ago(0) },
          ],
        }),
      ],
      recentHeals: [],
      policy: AUTO,
      now: NOW,
    };
    expect(failingBrokers(input, PAYMENTS, [5, 1])).toEqual([1, 3, 5]);
  });
});

describe('classify: data-loss and metadata rules', () => {
  it('offline partitions with no failing broker known -> escalate SEV-1', () => {
    const d = decide({ signal: signal({ kind: 'offline-partitions', brokerIds: [] }) });
    expect(d).toMatchObject({ action: 'escalate', incidentType: 'offline-partitions', severity: 'SEV-1', page: true });
    expect(text(d)).toMatch(/unclean leader election is never automatic/);
  });

  it('offline partitions with failing brokers -> await approval for their recovery', () => {
    const d = decide({
      cluster: ORDERS,
      signal: signal({ cluster: 'orders', kind: 'offline-partitions', brokerIds: [2] }),
    });
    expect(d).toMatchObject({
      action: 'await-approval',
      severity: 'SEV-1',
      plan: { workflow: 'msk-broker-recovery', brokerIds: [2] },
    });
    const many = decide({
      signal: signal({ kind: 'offline-partitions', brokerIds: [] }),
      openIncidents: [
        incident({ type: 'cascade-failure', brokers: [1, 2, 3].map((id) => ({ id, firstSeenAt: ago(10_000) })) }),
      ],
    });
    expect(many).toMatchObject({
      action: 'await-approval',
      plan: { workflow: 'cascade-recovery', brokerIds: [1, 2, 3] },
    });
  });

  it('under-min-ISR with brokers down pages SEV-1 and leaves their recovery to their own incident (no plan, no lock race); without, SEV-2 escalation', () => {
    const alone = decide({ signal: signal({ kind: 'under-min-isr', brokerIds: [4] }) });
    expect(alone).toMatchObject({
      action: 'escalate',
      incidentType: 'under-replication',
      severity: 'SEV-2',
      page: true,
    });
    const withDown = decide({ signal: signal({ kind: 'under-min-isr', brokerIds: [4] }), openIncidents: [incident()] });
    expect(withDown).toMatchObject({
      action: 'escalate',
      incidentType: 'under-replication',
      severity: 'SEV-1',
      page: true,
    });
    expect(withDown).not.toHaveProperty('plan');
    expect(text(withDown)).toMatch(
      /while brokers 2 are down: producers with acks=all are failing .*Their recovery belongs to the incident of those brokers/,
    );
  });

  it('under-replicated alone notifies (SEV-3, no page)', () => {
    expect(decide({ signal: signal({ kind: 'under-replicated' }) })).toMatchObject({
      action: 'escalate',
      incidentType: 'under-replication',
      severity: 'SEV-3',
      page: false,
    });
  });

  it('controller loss: SEV-1; quorum recovery with approval on EC2, escalation on MSK', () => {
    const ec2 = decide({ signal: signal({ kind: 'controller-missing', brokerIds: [] }) });
    expect(ec2).toMatchObject({
      action: 'await-approval',
      incidentType: 'controller-loss',
      severity: 'SEV-1',
      plan: { workflow: 'quorum-recovery' },
    });
    expect(text(ec2)).toMatch(/No active controller: the cluster cannot elect leaders/);
    const msk = decide({
      cluster: ORDERS,
      signal: signal({ cluster: 'orders', kind: 'controller-missing', brokerIds: [] }),
    });
    expect(msk).toMatchObject({ action: 'escalate', incidentType: 'controller-loss', severity: 'SEV-1', page: true });
    expect(text(msk)).toMatch(/on MSK: AWS manages the controllers/);
  });

  it('quorum loss names ZooKeeper or KRaft', () => {
    const zk = decide({ signal: signal({ kind: 'quorum-loss', brokerIds: [] }) });
    expect(zk).toMatchObject({ action: 'await-approval', incidentType: 'quorum-loss', severity: 'SEV-1' });
    expect(text(zk)).toMatch(/ZooKeeper quorum lost/);
    expect(zk.action === 'await-approval' && zk.plan.steps.join(' ')).toMatch(/Back up the ZooKeeper\/KRaft metadata/);
    expect(
      text(decide({ cluster: { ...PAYMENTS, metadataMode: 'kraft' }, signal: signal({ kind: 'quorum-loss' }) })),
    ).toMatch(/KRaft quorum lost/);
  });
});

describe('classify: disk usage 85 / 90 %', () => {
  const disk = (value: number | undefined) => decide({ signal: signal({ kind: 'disk-usage', value, brokerIds: [3] }) });
  it.each([
    [84.99, 'ignore', 'SEV-4'],
    [85, 'remediate', 'SEV-3'],
    [89.99, 'remediate', 'SEV-3'],
    [90, 'remediate', 'SEV-2'],
    [97, 'remediate', 'SEV-2'],
  ])('%s%% -> %s %s', (value, action, severity) => {
    expect(disk(value)).toMatchObject({ action, severity, incidentType: 'disk-pressure' });
  });

  it('to the unit: 84 ignore, 85 warn, 89 warn, 90 critical', () => {
    expect([84, 85, 89, 90].map((v) => disk(v).severity)).toEqual(['SEV-4', 'SEV-3', 'SEV-3', 'SEV-2']);
  });

  it('the plan is disk-pressure on the broker; no value is a warning', () => {
    const d = disk(undefined);
    expect(d).toMatchObject({
      action: 'remediate',
      severity: 'SEV-3',
      plan: { workflow: 'disk-pressure', brokerIds: [3] },
    });
    expect(text(d)).toMatch(/without a value: treated as a warning/);
    expect(d.action === 'remediate' && d.plan.steps[1]).toMatch(/Diagnose disk usage on broker 3/);
  });
});

describe('classify: consumer lag', () => {
  const lag = (value: number | undefined, group: string | null = 'billing') =>
    decide({ signal: signal({ kind: 'consumer-lag', value, consumerGroup: group ?? undefined, brokerIds: [] }) });
  it.each([
    [9_999, 'SEV-4', 'ignore'],
    [10_000, 'SEV-3', 'remediate'],
    [99_999, 'SEV-3', 'remediate'],
    [100_000, 'SEV-2', 'remediate'],
    [999_999, 'SEV-2', 'remediate'],
    [1_000_000, 'SEV-2', 'remediate'],
    [1_000_001, 'SEV-1', 'remediate'],
  ])('lag %i -> %s (%s)', (value, severity, action) => {
    expect(lag(value)).toMatchObject({ severity, action, incidentType: 'consumer-lag' });
  });

  it('the plan is the consumer-lag workflow and names the group', () => {
    const d = lag(250_000);
    expect(d).toMatchObject({ plan: { workflow: 'consumer-lag', brokerIds: [] } });
    expect(text(d)).toMatch(/Consumer lag of group billing is 250000 messages: within 100000-1000000 \(SEV-2\)/);
    expect(d.action === 'remediate' && d.plan.steps[1]).toMatch(/group billing/);
    const anon = lag(50_000, null);
    expect(text(anon)).toMatch(/a consumer group is 50000 messages: within 10000-100000/);
    expect(anon.action === 'remediate' && anon.plan.steps[1]).toMatch(/the consumer group/);
    expect(text(lag(2_000_000))).toMatch(/above 1000000 \(SEV-1\)/);
    expect(text(lag(5))).toMatch(/below 10000: no action \(SEV-4\)/);
  });

  it('no value -> SEV-3', () => {
    expect(lag(undefined, null)).toMatchObject({ severity: 'SEV-3', action: 'remediate' });
  });

  it('lagSeverity follows the policy thresholds', () => {
    const p = policy({ thresholds: { ...AUTO.thresholds, lagSev3: 10, lagSev2: 20, lagSev1: 30 } });
    expect([9, 10, 19, 20, 30, 31].map((v) => lagSeverity(v, p))).toEqual([
      'SEV-4',
      'SEV-3',
      'SEV-3',
      'SEV-2',
      'SEV-2',
      'SEV-1',
    ]);
  });

  it('time lag -> consumer-lag workflow, SEV-3', () => {
    const d = decide({
      signal: signal({
        kind: 'consumer-time-lag',
        value: 600,
        threshold: 300,
        consumerGroup: 'billing',
        brokerIds: [],
      }),
    });
    expect(d).toMatchObject({
      action: 'remediate',
      incidentType: 'consumer-lag',
      severity: 'SEV-3',
      plan: { workflow: 'consumer-lag' },
    });
    expect(text(d)).toMatch(/group billing is 600 s \(limit 300 s\)/);
    expect(text(decide({ signal: signal({ kind: 'consumer-time-lag', brokerIds: [] }) }))).toMatch(
      /a consumer group is unknown s:/,
    );
  });
});

describe('classify: error rate (a fraction; values above 1 are percent)', () => {
  const rate = (value: number | undefined) => decide({ signal: signal({ kind: 'error-rate', value, brokerIds: [] }) });
  it.each([
    [0.0099, 'SEV-4', 'ignore'],
    [0.01, 'SEV-3', 'escalate'],
    [0.0999, 'SEV-3', 'escalate'],
    [0.1, 'SEV-2', 'escalate'],
    [0.2, 'SEV-2', 'escalate'],
    [0.2001, 'SEV-1', 'escalate'],
    [5, 'SEV-3', 'escalate'],
    [10, 'SEV-2', 'escalate'],
    [20, 'SEV-2', 'escalate'],
    [21, 'SEV-1', 'escalate'],
    [1, 'SEV-1', 'escalate'],
  ])('%s -> %s', (value, severity, action) => {
    expect(rate(value)).toMatchObject({ severity, action, incidentType: 'error-rate' });
  });

  it('pages for SEV-1/2 only; reasons say the band', () => {
    expect(rate(0.25)).toMatchObject({ page: true });
    expect(rate(0.15)).toMatchObject({ page: true });
    expect(rate(0.05)).toMatchObject({ page: false });
    expect(text(rate(0.25))).toMatch(/Error rate 25% > 20% \(SEV-1\)/);
    expect(text(rate(0.15))).toMatch(/Error rate 15% within 10-20% \(SEV-2\)/);
    expect(text(rate(0.05))).toMatch(/Error rate 5% within 1-10% \(SEV-3\)/);
    expect(text(rate(0.001))).toMatch(/below 1%: no action/);
  });

  it('no value -> SEV-3 escalation', () => {
    expect(rate(undefined)).toMatchObject({ action: 'escalate', severity: 'SEV-3', page: false });
  });
});

describe('classify: DLQ growth per minute', () => {
  const dlq = (value: number | undefined, openIncidents: OpenIncident[] = []) =>
    decide({ signal: signal({ kind: 'dlq-growth', value, brokerIds: [] }), openIncidents });
  const errors = incident({ id: 'err', type: 'error-rate', brokers: [] });
  it.each([
    [9, 'SEV-4', 'ignore'],
    [10, 'SEV-3', 'escalate'],
    [100, 'SEV-3', 'escalate'],
    [101, 'SEV-2', 'escalate'],
  ])('%i/min -> %s', (value, severity, action) => {
    expect(dlq(value)).toMatchObject({ severity, action, incidentType: 'dlq-growth' });
  });

  it('> 100/min with an open error-rate incident on the cluster -> SEV-1', () => {
    expect(dlq(101, [errors])).toMatchObject({ severity: 'SEV-1', page: true });
    expect(text(dlq(101, [errors]))).toMatch(/with an open error-rate incident on payments/);
    expect(dlq(100, [errors]).severity).toBe('SEV-3');
    expect(dlq(101, [{ ...errors, status: 'resolved' }]).severity).toBe('SEV-2');
    expect(dlq(101, [{ ...errors, cluster: 'orders' }]).severity).toBe('SEV-2');
  });

  it('no value -> SEV-3', () => {
    expect(dlq(undefined)).toMatchObject({ severity: 'SEV-3', action: 'escalate' });
  });
});

describe('classify: notify-only and DR kinds', () => {
  it.each([
    ['cpu-high', 'resource-pressure', 'SEV-3', false, /CPU high \(77%\)/],
    ['heap-high', 'resource-pressure', 'SEV-3', false, /Heap after GC high \(77%\)/],
    ['traffic-spike', 'traffic-spike', 'SEV-3', false, /Traffic spike/],
    ['replication-lag', 'replication-lag', 'SEV-3', false, /DR replication is behind \(77\)/],
    ['monitoring-gap', 'monitoring-outage', 'SEV-2', true, /cannot see the cluster/],
    ['security-event', 'security-event', 'SEV-1', true, /never automated/],
  ] as const)('%s -> escalate %s %s', (kind, incidentType, severity, page, reason) => {
    const d = decide({ signal: signal({ kind, value: 77 }) });
    expect(d).toMatchObject({ action: 'escalate', incidentType, severity, page });
    expect(text(d)).toMatch(reason);
  });

  it('values are optional in notify-only reasons', () => {
    expect(text(decide({ signal: signal({ kind: 'cpu-high' }) }))).toMatch(/CPU high: capacity/);
    expect(text(decide({ signal: signal({ kind: 'replication-lag' }) }))).toMatch(
      /DR replication is behind: a failover/,
    );
  });

  it('site down: escalate without DR, approval with DR, automatic only when configured', () => {
    expect(
      decide({ cluster: ORDERS, signal: signal({ cluster: 'orders', kind: 'site-down', brokerIds: [] }) }),
    ).toMatchObject({ action: 'escalate', incidentType: 'site-failure', severity: 'SEV-1', page: true });
    const dr = decide({ signal: signal({ kind: 'site-down', brokerIds: [] }) });
    expect(dr).toMatchObject({ action: 'await-approval', severity: 'SEV-1', plan: { workflow: 'dr-failover' } });
    expect(dr.action === 'await-approval' && dr.plan.steps.join(' ')).toMatch(
      /Switch the Route 53 record to the DR peer/,
    );
    expect(
      decide({
        cluster: { ...PAYMENTS, automaticFailover: true },
        signal: signal({ kind: 'site-down', brokerIds: [] }),
      }),
    ).toMatchObject({ action: 'remediate', plan: { workflow: 'dr-failover' } });
  });
});

describe('classify: the probe refused, certificates expiring (safety rule 11)', () => {
  it.each(['auth-failed', 'tls-failed'] as const)(
    '%s: an access-failure SEV-2 page; never a plan, whatever the mode or brokers',
    (kind) => {
      for (const mode of ['auto', 'approval', 'dry-run', 'off'] as const) {
        const d = decide({ policy: policy({ mode }), signal: signal({ kind, brokerIds: [1, 2, 3] }) });
        expect(d).toMatchObject({ action: 'escalate', incidentType: 'access-failure', severity: 'SEV-2', page: true });
        expect(d).not.toHaveProperty('plan');
        expect(text(d)).toMatch(/observer's failure, not the cluster's: no restart, reboot or failover/);
      }
      expect(text(decide({ signal: signal({ kind }) }))).toMatch(
        kind === 'auth-failed' ? /credentials secret/ : /certificates/,
      );
    },
  );

  it('also on a DR pair with automatic failover: no dr-failover', () => {
    const d = decide({
      cluster: { ...PAYMENTS, hasDr: true, automaticFailover: true },
      signal: signal({ kind: 'tls-failed', brokerIds: [] }),
    });
    expect(d).toMatchObject({ action: 'escalate', incidentType: 'access-failure' });
  });

  it('certificate expiry: fewer than certExpiryCriticalDays SEV-2 page, fewer than certExpiryWarnDays SEV-3, both edges exclusive', () => {
    const cert = (value: number | undefined) =>
      decide({
        signal: signal({ kind: 'certificate-expiry', brokerIds: [], ...(value === undefined ? {} : { value }) }),
      });
    expect(cert(6.99)).toMatchObject({
      action: 'escalate',
      incidentType: 'certificate-expiry',
      severity: 'SEV-2',
      page: true,
    });
    expect(text(cert(6.99))).toMatch(/expires in 6\.99 days, fewer than 7: clients will refuse/);
    expect(cert(7)).toMatchObject({ action: 'escalate', severity: 'SEV-3', page: false });
    expect(cert(29.99)).toMatchObject({ severity: 'SEV-3' });
    expect(text(cert(29.99))).toMatch(/fewer than 30: plan its renewal/);
    expect(cert(30)).toMatchObject({ action: 'ignore', severity: 'SEV-4' });
    expect(text(cert(-2))).toMatch(/has expired \(-2 days\)/);
    expect(cert(undefined)).toMatchObject({ action: 'escalate', severity: 'SEV-3' });
    expect(
      decide({
        policy: policy({ thresholds: { ...AUTO.thresholds, certExpiryCriticalDays: 14 } }),
        signal: signal({ kind: 'certificate-expiry', value: 10 }),
      }).severity,
    ).toBe('SEV-2');
  });
});

describe('classify: maintenance windows [start, end)', () => {
  const win = { start: '2026-11-22T01:00:00.000Z', end: '2026-11-22T03:00:00.000Z', reason: 'kernel patching' };
  const at = (iso: string, over: Partial<ClassifyInput> = {}) =>
    decide({ policy: policy({ maintenanceWindows: [win] }), now: new Date(iso), ...over });

  it('suppresses automatic action from start (inclusive) to end (exclusive), to the millisecond', () => {
    expect(at('2026-11-22T00:59:59.999Z').action).toBe('remediate');
    // Marked, so the classifier records the suppression on an incident instead of dropping the signal.
    expect(at('2026-11-22T01:00:00.000Z')).toMatchObject({
      action: 'ignore',
      severity: 'SEV-2',
      suppressed: { by: 'maintenance-window', window: win },
    });
    expect(at('2026-11-22T02:59:59.999Z').action).toBe('ignore');
    expect(at('2026-11-22T03:00:00.000Z').action).toBe('remediate');
    expect(text(at('2026-11-22T02:00:00.000Z'))).toMatch(
      /Maintenance window .* \(kernel patching\): automatic action suppressed\./,
    );
  });

  it('SEV-1 still pages during a window', () => {
    const d = at('2026-11-22T02:00:00.000Z', { signal: brokers(1, 2) });
    expect(d).toMatchObject({ action: 'escalate', severity: 'SEV-1', page: true });
    expect(text(d)).toMatch(/SEV-1 still pages people/);
    expect(d).not.toHaveProperty('suppressed');
  });

  it('a window without a reason; escalations are not suppressed', () => {
    const d = decide({ policy: policy({ maintenanceWindows: [{ start: win.start, end: win.end }] }) });
    expect(text(d)).toMatch(/03:00:00.000Z: automatic action suppressed/);
    expect(at('2026-11-22T02:00:00.000Z', { signal: signal({ kind: 'security-event' }) }).action).toBe('escalate');
  });
});

describe('classify: flap breaker (3 heals of the same broker or type within 1 h)', () => {
  const old = (ms: number, over: Partial<HealRecord> = {}) => heal({ finishedAt: ago(ms), ...over });

  it('3 heals within the window (oldest exactly 3600 s ago) stop automation', () => {
    const d = decide({ recentHeals: [old(600_000), old(700_000), old(3_600_000)] });
    expect(d).toMatchObject({ action: 'escalate', page: true, severity: 'SEV-2' });
    expect(text(d)).toMatch(/Flap breaker: 3 heals of the same broker or incident type within 3600 s \(limit 3\)/);
  });

  it('the oldest 1 ms outside the window leaves 2 heals: automation continues', () => {
    expect(decide({ recentHeals: [old(600_000), old(700_000), old(3_600_001)] }).action).toBe('remediate');
  });

  it('heals of the same broker under another type count; other brokers and types do not', () => {
    const sameBroker = [
      old(600_000, { type: 'disk-pressure' }),
      old(700_000, { type: 'disk-pressure' }),
      old(800_000, { type: 'disk-pressure' }),
    ];
    expect(decide({ recentHeals: sameBroker }).action).toBe('escalate');
    const unrelated = sameBroker.map((h) => ({ ...h, brokerIds: [7] }));
    expect(decide({ recentHeals: unrelated }).action).toBe('remediate');
  });

  it('heals of other clusters or with unreadable times are ignored', () => {
    const heals = [old(600_000), old(700_000), old(800_000, { cluster: 'orders' }), heal({ finishedAt: 'yesterday' })];
    expect(decide({ recentHeals: heals }).action).toBe('remediate');
  });

  it('the limit comes from the policy', () => {
    expect(decide({ recentHeals: [old(600_000)], policy: policy({ flapMaxHeals: 1 }) }).action).toBe('escalate');
  });
});

describe('classify: cooldown after a heal of the same type', () => {
  it('599.999 s after a heal the next run needs approval; at 600 s it is automatic again', () => {
    const d = decide({ recentHeals: [heal({ finishedAt: ago(599_999) })] });
    expect(d).toMatchObject({ action: 'await-approval', plan: { workflow: 'broker-recovery' } });
    expect(text(d)).toMatch(/Cooldown: a broker-failure heal finished less than 600 s ago/);
    expect(decide({ recentHeals: [heal({ finishedAt: ago(600_000) })] }).action).toBe('remediate');
  });

  it('a heal of another type does not cool this one down', () => {
    expect(
      decide({ recentHeals: [heal({ type: 'disk-pressure', brokerIds: [9], finishedAt: ago(1_000) })] }).action,
    ).toBe('remediate');
  });
});

describe('classify: automation mode', () => {
  it('auto remediates; approval waits; dry-run plans only; off notifies', () => {
    expect(decide({ policy: policy({ mode: 'auto' }) })).toMatchObject({
      action: 'remediate',
      plan: { dryRun: false },
    });
    const approval = decide({ policy: policy({ mode: 'approval' }) });
    expect(approval).toMatchObject({ action: 'await-approval', plan: { dryRun: false } });
    expect(text(approval)).toMatch(/Automation mode is approval/);
    const dry = decide({ policy: policy({ mode: 'dry-run' }) });
    expect(dry).toMatchObject({ action: 'remediate', plan: { dryRun: true } });
    expect(text(dry)).toMatch(/dry-run: the workflow plans and records every action and changes nothing/);
    const off = decide({ policy: policy({ mode: 'off' }) });
    expect(off).toMatchObject({ action: 'escalate', page: true, severity: 'SEV-2' });
    expect(text(off)).toMatch(/Automation mode is off: would run broker-recovery/);
  });

  it('off pages only for SEV-1/2', () => {
    expect(
      decide({ policy: policy({ mode: 'off' }), signal: signal({ kind: 'disk-usage', value: 86 }) }),
    ).toMatchObject({ action: 'escalate', page: false, severity: 'SEV-3' });
  });

  it('approval mode adds no sentence when the plan already waits for approval; dry-run keeps the approval', () => {
    const d = decide({ policy: policy({ mode: 'approval' }), signal: brokers(1, 2, 3) });
    expect(d.action).toBe('await-approval');
    expect(text(d)).not.toMatch(/Automation mode is approval/);
    expect(decide({ policy: policy({ mode: 'dry-run' }), signal: brokers(1, 2, 3) })).toMatchObject({
      action: 'await-approval',
      plan: { dryRun: true },
    });
  });

  it('the default policy is dry-run', () => {
    expect(decide({ policy: DEFAULT_POLICY })).toMatchObject({ action: 'remediate', plan: { dryRun: true } });
  });
});

describe('severity helpers', () => {
  it('orders severities', () => {
    expect(isMoreSevere('SEV-1', 'SEV-2')).toBe(true);
    expect(isMoreSevere('SEV-2', 'SEV-2')).toBe(false);
    expect(isMoreSevere('SEV-4', 'SEV-3')).toBe(false);
    expect(mostSevere('SEV-3', 'SEV-4', 'SEV-2')).toBe('SEV-2');
    expect(mostSevere('SEV-4')).toBe('SEV-4');
    expect([pages('SEV-1'), pages('SEV-2'), pages('SEV-3'), pages('SEV-4')]).toEqual([true, true, false, false]);
  });
});

describe('classify: brokers failing together (simultaneous window) vs one after another (cascade)', () => {
  // Signal brokers are first seen at signal.observedAt (= NOW in the fixtures); open incidents'
  // brokers at their firstSeenAt.
  const earlier = (entries: [id: number, msAgo: number][]) => [
    incident({ type: 'cascade-failure', brokers: entries.map(([id, ms]) => ({ id, firstSeenAt: ago(ms) })) }),
  ];
  const FIVE = { ...PAYMENTS, brokerCount: 5 };
  const five = (signalIds: number[], open: [number, number][], over: Partial<ClassifyInput> = {}) =>
    decide({ cluster: FIVE, signal: brokers(...signalIds), openIncidents: earlier(open), ...over });

  it('simultaneousCount: the largest group whose span is <= the window, edges inclusive to the millisecond', () => {
    expect(simultaneousCount([], 60_000)).toBe(0);
    expect(simultaneousCount([5], 0)).toBe(1);
    expect(simultaneousCount([0, 60_000], 60_000)).toBe(2);
    expect(simultaneousCount([0, 60_001], 60_000)).toBe(1);
    expect(simultaneousCount([120_000, 0, 60_000], 60_000)).toBe(2);
    expect(simultaneousCount([0, 10, 20, 100_000, 100_001], 60_000)).toBe(3);
    expect(simultaneousCount([7, 7, 7], 0)).toBe(3);
  });

  it('3 of 5 one after another (60.001 s apart) -> cascade-recovery awaiting approval, SEV-1', () => {
    const d = five(
      [3],
      [
        [1, 120_002],
        [2, 60_001],
      ],
    );
    expect(d).toMatchObject({
      action: 'await-approval',
      incidentType: 'cascade-failure',
      severity: 'SEV-1',
      plan: { workflow: 'cascade-recovery', brokerIds: [1, 2, 3] },
    });
    expect(text(d)).toMatch(
      /3 distinct brokers failed within 300 s; 1 of them together \(first seen within 60 s of each other, 20%\)/,
    );
    expect(text(d)).toMatch(
      /3 brokers down: cascade recovery needs approval; the approval request pages the on-call at once \(SEV-1\)/,
    );
  });

  it('3 of 5 with the first two exactly 60 s apart: 2 together (40%) is not a blast radius, still approval', () => {
    const d = five(
      [3],
      [
        [1, 180_000],
        [2, 120_000],
      ],
    );
    expect(d).toMatchObject({ action: 'await-approval', plan: { workflow: 'cascade-recovery' } });
    expect(text(d)).toMatch(/2 of them together/);
  });

  it('3 of 5 at once (all within 60 s, 60%) -> emergency; the edge: 60 s in, 60.001 s out', () => {
    const d = five(
      [3],
      [
        [1, 60_000],
        [2, 30_000],
      ],
    );
    expect(d).toMatchObject({ action: 'escalate', severity: 'SEV-1', page: true, incidentType: 'cascade-failure' });
    expect(text(d)).toMatch(/More than half of the brokers failed together: emergency/);
    expect(
      five(
        [3],
        [
          [1, 60_001],
          [2, 30_000],
        ],
      ),
    ).toMatchObject({ action: 'await-approval', plan: { workflow: 'cascade-recovery' } });
  });

  it('blast radius counts only brokers failing together: 5 of 10 at once escalates, 5 of 10 in two waves awaits approval', () => {
    expect(decide({ signal: brokers(1, 2, 3, 4, 5) })).toMatchObject({ action: 'escalate', severity: 'SEV-1' });
    const waves = decide({
      signal: brokers(4, 5),
      openIncidents: earlier([
        [1, 200_000],
        [2, 200_000],
        [3, 200_000],
      ]),
    });
    expect(waves).toMatchObject({
      action: 'await-approval',
      plan: { workflow: 'cascade-recovery', brokerIds: [1, 2, 3, 4, 5] },
    });
    expect(text(waves)).toMatch(/5 distinct brokers failed within 300 s; 3 of them together/);
    // 5 together exceed 4 (40% of 10); 4 together do not (the fraction edge is exclusive).
    const fourTogether = decide({
      signal: brokers(4),
      openIncidents: earlier([
        [1, 200_000],
        [2, 10_000],
        [3, 10_000],
        [5, 20_000],
      ]),
    });
    expect(fourTogether).toMatchObject({ action: 'await-approval' });
  });

  it('emergency counts only brokers failing together: 6 of 10 at once is an emergency, in two waves it is not', () => {
    expect(text(decide({ signal: brokers(1, 2, 3, 4, 5, 6) }))).toMatch(/emergency/);
    const waves = decide({
      signal: brokers(4, 5, 6),
      openIncidents: earlier([
        [1, 200_000],
        [2, 200_000],
        [3, 200_000],
      ]),
      policy: policy({ blastRadiusFraction: 1 }),
    });
    expect(waves).toMatchObject({ action: 'await-approval', plan: { workflow: 'cascade-recovery' } });
    expect(text(waves)).not.toMatch(/More than half/);
  });

  it('2 one after another on a 3-broker MSK cluster -> cascade-recovery automatically; at once (67%) -> emergency', () => {
    const orders = (open: [number, number][]) =>
      decide({
        cluster: ORDERS,
        signal: signal({ cluster: 'orders', brokerIds: [2] }),
        openIncidents: earlier(open).map((i) => ({ ...i, cluster: 'orders' })),
      });
    expect(orders([[1, 60_001]])).toMatchObject({
      action: 'remediate',
      severity: 'SEV-1',
      incidentType: 'cascade-failure',
      plan: { workflow: 'cascade-recovery', brokerIds: [1, 2] },
    });
    expect(orders([[1, 60_000]])).toMatchObject({ action: 'escalate', severity: 'SEV-1', page: true });
  });

  it('simultaneousWindowSeconds is a policy threshold: 0 means only identical first-seen times are together', () => {
    const p = policy({ simultaneousWindowSeconds: 0 });
    expect(
      five(
        [3],
        [
          [1, 1],
          [2, 2],
        ],
        { policy: p },
      ),
    ).toMatchObject({ action: 'await-approval' });
    expect(
      five(
        [3],
        [
          [1, 0],
          [2, 0],
        ],
        { policy: p },
      ),
    ).toMatchObject({ action: 'escalate' });
  });

  it('first-seen times: the earliest wins for a broker seen twice; an unreadable observedAt counts as now', () => {
    const input = {
      signal: signal({ brokerIds: [2], observedAt: 'not a time' }),
      cluster: PAYMENTS,
      openIncidents: earlier([[2, 90_000]]),
      recentHeals: [],
      policy: AUTO,
      now: NOW,
    };
    expect([...failingBrokerTimes(input, PAYMENTS, [2]).entries()]).toEqual([[2, NOW.getTime() - 90_000]]);
    expect([...failingBrokerTimes({ ...input, openIncidents: [] }, PAYMENTS, [2]).entries()]).toEqual([
      [2, NOW.getTime()],
    ]);
    const later = { ...input, signal: signal({ brokerIds: [2], observedAt: ago(100_000) }) };
    expect(failingBrokerTimes(later, PAYMENTS, [2]).get(2)).toBe(NOW.getTime() - 100_000);
  });
});
