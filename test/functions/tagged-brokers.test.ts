// Brokers found by EC2 tag (config ec2.brokerTag): the workflow steps Lambda resolves a broker's
// instance when a run starts, from the instances carrying the cluster's broker tag and the
// deployment's tag, each broker id read from its broker-id tag. EC2 is mocked
// (aws-sdk-client-mock); the handler, the store double and the resolution are real.
import { DescribeInstancesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { beforeEach, describe, expect, it } from 'vitest';
import { WorkflowStepSchema, makeWorkflowStepsHandler } from '#functions/workflow-steps/handler.js';
import { type ClusterTargetConfig } from '#contracts/workflow-targets.js';
import {
  DEPLOYMENT_TAG,
  ec2InstanceFinder,
  taggedBrokers,
  type InstanceFinder,
} from '#functions/workflow-steps/instances.js';
import { MemoryStore } from '../statemachines/recovery-fixtures.js';
import { storePieces } from '../support/store-pieces.js';

const TAG = { key: 'kafka-heal:cluster', value: 'events', brokerIdKey: 'kafka-heal:broker-id' };
const EVENTS: ClusterTargetConfig = {
  cluster: 'events',
  platform: 'ec2',
  clusterStepsFunction: 'steps-events',
  brokers: [],
  brokerTag: TAG,
  serviceName: 'kafka',
  listenerPort: 9092,
};
const tags = (id?: string) => ({
  [TAG.key]: TAG.value,
  [DEPLOYMENT_TAG]: 'events',
  ...(id === undefined ? {} : { [TAG.brokerIdKey]: id }),
});

const ec2Mock = mockClient(EC2Client);
beforeEach(() => ec2Mock.reset());

describe('taggedBrokers', () => {
  it("asks for the cluster's broker tag and the deployment's tag, and maps each instance to its broker id", async () => {
    const asked: Record<string, string>[] = [];
    const find: InstanceFinder = async (t) => (
      asked.push(t),
      [
        { instanceId: 'i-0000000000000000b', tags: tags('2') },
        { instanceId: 'i-0000000000000000a', tags: tags('1') },
      ]
    );
    await expect(taggedBrokers(find, 'events', 'events', TAG)).resolves.toEqual([
      { id: 1, instanceId: 'i-0000000000000000a' },
      { id: 2, instanceId: 'i-0000000000000000b' },
    ]);
    expect(asked).toEqual([{ 'kafka-heal:cluster': 'events', 'kafka-heal:deployment': 'events' }]);
  });

  it('refuses to guess: an instance without a broker id, or two instances with one id', async () => {
    const find =
      (list: { instanceId: string; tags: Record<string, string> }[]): InstanceFinder =>
      async () =>
        list;
    await expect(taggedBrokers(find([{ instanceId: 'i-1', tags: tags() }]), 'events', 'events', TAG)).rejects.toThrow(
      'instance i-1 of cluster events (tag kafka-heal:cluster=events) has no broker id in its tag kafka-heal:broker-id',
    );
    await expect(
      taggedBrokers(find([{ instanceId: 'i-1', tags: tags('two') }]), 'events', 'events', TAG),
    ).rejects.toThrow(/has no broker id in its tag kafka-heal:broker-id \(got "two"\)/);
    await expect(
      taggedBrokers(
        find([
          { instanceId: 'i-1', tags: tags('3') },
          { instanceId: 'i-2', tags: tags('3') },
        ]),
        'events',
        'events',
        TAG,
      ),
    ).rejects.toMatchObject({
      name: 'RecoveryTargetError',
      message:
        'instances i-1 and i-2 of cluster events both claim broker 3 (tag kafka-heal:broker-id): refusing to guess which to act on',
    });
  });
});

describe('ec2InstanceFinder', () => {
  it('filters on every tag and on instances that still exist, reading every page', async () => {
    ec2Mock
      .on(DescribeInstancesCommand)
      .resolvesOnce({
        Reservations: [
          {
            Instances: [
              { InstanceId: 'i-0000000000000000a', Tags: [{ Key: TAG.brokerIdKey, Value: '1' }, { Key: 'Name' }] },
              {},
            ],
          },
        ],
        NextToken: 'page-2',
      })
      .resolvesOnce({ Reservations: [{ Instances: [{ InstanceId: 'i-0000000000000000b' }] }, {}] });
    const found = await ec2InstanceFinder(new EC2Client({ region: 'eu-west-1' }))({
      'kafka-heal:cluster': 'events',
      'kafka-heal:deployment': 'events',
    });
    expect(found).toEqual([
      { instanceId: 'i-0000000000000000a', tags: { 'kafka-heal:broker-id': '1', Name: '' } },
      { instanceId: 'i-0000000000000000b', tags: {} },
    ]);
    const calls = ec2Mock.commandCalls(DescribeInstancesCommand).map((c) => c.args[0].input);
    const filters = [
      { Name: 'tag:kafka-heal:cluster', Values: ['events'] },
      { Name: 'tag:kafka-heal:deployment', Values: ['events'] },
      { Name: 'instance-state-name', Values: ['pending', 'running', 'stopping', 'stopped'] },
    ];
    // (The paginator reuses one input object: both calls show its last state.)
    expect(calls).toHaveLength(2);
    for (const c of calls) expect(c.Filters).toEqual(filters);
    expect(calls[1]?.NextToken).toBe('page-2');
  });
});

describe('workflow steps: a cluster whose brokers are found by tag', () => {
  const handler = (findInstances?: InstanceFinder) => {
    const store = new MemoryStore('inc-1', 'events', true);
    const handle = makeWorkflowStepsHandler({
      ...storePieces(store),
      targets: () => [EVENTS],
      now: () => new Date('2026-01-01T00:10:00Z'),
      diskCriticalPercent: 90,
      deployment: 'events',
      ...(findInstances ? { findInstances } : {}),
    });
    return (payload: unknown) => handle(WorkflowStepSchema.parse(payload));
  };
  const start = {
    step: 'start',
    workflow: 'broker-recovery',
    input: { incidentId: 'inc-1', cluster: 'events', brokerIds: [2] },
  };

  it('broker-recovery acts on the instance EC2 names for the broker (no instance in the config)', async () => {
    const step = handler(async () => [
      { instanceId: 'i-0000000000000000b', tags: tags('2') },
      { instanceId: 'i-0000000000000000c', tags: tags('3') },
    ]);
    await expect(step(start)).resolves.toMatchObject({
      cluster: 'events',
      brokerId: 2,
      instanceId: 'i-0000000000000000b',
    });
  });

  it('a broker no instance is tagged for is named, and the run escalates before acting', async () => {
    const step = handler(async () => [{ instanceId: 'i-0000000000000000c', tags: tags('3') }]);
    await expect(step(start)).rejects.toMatchObject({
      name: 'RecoveryTargetError',
      message: expect.stringContaining('no instance is configured for broker 2 of events'),
    });
  });

  it('a function that cannot look instances up says so (never a silent skip)', async () => {
    await expect(handler()(start)).rejects.toThrow(
      'cluster events finds its brokers by EC2 tag, and this function cannot look them up',
    );
  });

  it('disk-pressure and cascade-recovery see the resolved brokers too', async () => {
    const step = handler(async () =>
      [1, 2, 3].map((id) => ({ instanceId: `i-000000000000000${id}a`, tags: tags(String(id)) })),
    );
    await expect(
      step({
        step: 'start',
        workflow: 'disk-pressure',
        input: { incidentId: 'inc-1', cluster: 'events', brokerIds: [3] },
      }),
    ).resolves.toMatchObject({
      brokers: [expect.objectContaining({ brokerId: 3, instanceId: 'i-0000000000000003a' })],
    });
    await expect(
      step({
        step: 'start',
        workflow: 'cascade-recovery',
        input: { incidentId: 'inc-1', cluster: 'events', brokerIds: [1, 2] },
      }),
    ).resolves.toMatchObject({ cli: { available: true, instanceId: 'i-0000000000000003a' } });
  });
});
