import { describe, expect, it } from 'vitest';
import { resolveCascadeTarget, type CascadeClusterTarget } from '#functions/workflow-steps/cascade.js';
import { resolveDiskTarget, type DiskClusterTarget } from '#functions/workflow-steps/disk-pressure.js';
import { isNestedState } from '#functions/workflow-steps/nested.js';

const EC2: CascadeClusterTarget = {
  cluster: 'orders',
  platform: 'ec2',
  clusterStepsFunction: 'steps',
  brokers: [1, 2, 3].map((id) => ({ id, instanceId: `i-0123456789abcdef${id}` })),
  listenerPort: 9092,
  kafkaHome: '/opt/kafka',
  throttleProducerByteRate: 1_048_576,
};
const input = (over: Record<string, unknown> = {}) => ({
  incidentId: 'inc-1',
  cluster: 'orders',
  brokerIds: [3, 2, 2],
  ...over,
});

describe('resolveCascadeTarget', () => {
  it('sorts and dedups the brokers; the CLI runs on the first broker outside the incident; approval from 3 brokers', () => {
    const t = resolveCascadeTarget(input(), () => EC2);
    expect(t).toMatchObject({
      brokerIds: [2, 3],
      brokerIdsText: '2, 3',
      needsApproval: false,
      severity: 'SEV-1',
      incidentType: 'cascade-failure',
      dryRun: false,
    });
    expect(t.cli).toMatchObject({
      available: true,
      instanceId: 'i-0123456789abcdef1',
      bootstrapServer: 'localhost:9092',
      producerByteRate: '1048576',
    });
    expect(t.approval.actions[0]).toMatch(/^Throttle producers on orders: producer_byte_rate=1048576/);
    const all = resolveCascadeTarget(input({ brokerIds: [1, 2, 3] }), () => EC2);
    expect(all.needsApproval).toBe(true);
    expect(all.cli).toMatchObject({
      available: false,
      reason: expect.stringMatching(/no configured broker of orders outside the incident/),
    });
  });

  it('a secured listener: the CLI gets the configured client properties file (a path), else none', () => {
    expect(resolveCascadeTarget(input(), () => EC2).cli.commandConfig).toBe('none');
    expect(
      resolveCascadeTarget(input(), () => ({ ...EC2, commandConfig: '/etc/kafka/client.properties' })).cli
        .commandConfig,
    ).toBe('/etc/kafka/client.properties');
  });

  it('MSK: no CLI host; an ARN is required', () => {
    const msk = {
      ...EC2,
      platform: 'msk' as const,
      brokers: [],
      mskClusterArn: 'arn:aws:kafka:eu-west-1:123456789012:cluster/orders/x',
    };
    expect(resolveCascadeTarget(input(), () => msk).cli).toMatchObject({
      available: false,
      reason: expect.stringMatching(/^MSK: no broker host/),
    });
    expect(() => resolveCascadeTarget(input(), () => ({ ...msk, mskClusterArn: undefined }))).toThrow(
      /no MSK cluster ARN/,
    );
  });

  it('refuses bad input and brokers without an instance (RecoveryTargetError)', () => {
    expect(() => resolveCascadeTarget(input({ brokerIds: [] }), () => EC2)).toThrow(
      expect.objectContaining({ name: 'RecoveryTargetError', message: expect.stringMatching(/brokerIds/) }),
    );
    expect(() => resolveCascadeTarget(input({ brokerIds: [7, 9] }), () => EC2)).toThrow(
      /no instance is configured for brokers 7, 9 of orders/,
    );
  });
});

describe('resolveDiskTarget', () => {
  const NOW = new Date('2026-11-22T05:00:00.000Z');
  const DISK: DiskClusterTarget = {
    ...EC2,
    serviceName: 'kafka',
    serverProperties: '/etc/kafka/server.properties',
    appLogDir: '/var/log/kafka',
    diskPressure: { storageGrowthPercent: 25, maxVolumeGb: 16_384 },
  };

  it('named brokers, or every configured broker for a cluster-wide alarm; heap dumps default to the app log dir', () => {
    const t = resolveDiskTarget(input({ brokerIds: [2], signal: { value: 91 } }), () => DISK, 85, NOW);
    // The re-measurement window before an MSK storage update: the last 10 minutes.
    expect(t).toMatchObject({
      platform: 'ec2',
      brokerIdsText: '2',
      thresholdPercent: 85,
      usedPercent: 91,
      measureSince: '2026-11-22T04:50:00.000Z',
      measureUntil: '2026-11-22T05:00:00.000Z',
    });
    expect(t.brokers).toEqual([
      {
        brokerId: 2,
        instanceId: 'i-0123456789abcdef2',
        serviceName: 'kafka',
        listenerPort: '9092',
        serverProperties: '/etc/kafka/server.properties',
        appLogDir: '/var/log/kafka',
        heapDumpDirs: '/var/log/kafka',
      },
    ]);
    const all = resolveDiskTarget(
      input({ brokerIds: [] }),
      () => ({ ...DISK, diskPressure: { ...DISK.diskPressure, heapDumpDirs: ['/var/tmp', '/data/dumps'] } }),
      85,
      NOW,
    );
    expect(all.brokers.map((b) => b.brokerId)).toEqual([1, 2, 3]);
    expect(all.brokers[0]?.heapDumpDirs).toBe('/var/tmp,/data/dumps');
    expect(all.brokerIdsText).toBe('all');
  });

  it('refuses unknown brokers, MSK without an ARN, malformed input', () => {
    expect(() => resolveDiskTarget(input({ brokerIds: [8] }), () => DISK, 85, NOW)).toThrow(
      /no instance is configured for broker 8/,
    );
    expect(() => resolveDiskTarget(input(), () => ({ ...DISK, platform: 'msk' }), 85, NOW)).toThrow(
      /no MSK cluster ARN/,
    );
    expect(() => resolveDiskTarget({ cluster: 'orders' }, () => DISK, 85, NOW)).toThrow(
      /not a disk-pressure request: incidentId/,
    );
  });
});

describe('isNestedState', () => {
  it('only a parentWorkflow other than none is nested', () => {
    expect(isNestedState({ parentWorkflow: 'cascade-recovery' })).toBe(true);
    for (const s of [{ parentWorkflow: 'none' }, {}, null, 'x', { parentWorkflow: true }])
      expect(isNestedState(s)).toBe(false);
  });
});
