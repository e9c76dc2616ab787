// The local MSK double (local/kafka/msk-double.ts): MSK's control plane for one cluster ARN over a
// local cluster. RebootBroker restarts that broker and nothing else; refusals restart nothing.
import { describe, expect, it } from 'vitest';
import { localMskDouble, mskClusterArnFor } from '#local/kafka/msk-double.js';
import { RESOURCES, type TaskCall } from '#local/stepfunctions/index.js';
import type { LocalCluster } from '#local/kafka/cluster.js';

const ARN = mskClusterArnFor('orders', 'eu-west-1', '123456789012');
const call = { stateName: 'Reboot Broker' } as TaskCall;

function localCluster(): Pick<LocalCluster, 'bootstrapServers' | 'brokers' | 'fault'> & { faults: [string, number][] } {
  const faults: [string, number][] = [];
  return {
    faults,
    bootstrapServers: '127.0.0.1:1',
    brokers: [1, 2, 3].map((id) => ({ id, state: 'running' })) as unknown as LocalCluster['brokers'],
    fault: (action, id) => {
      faults.push([action, id]);
      return Promise.resolve();
    },
  };
}

async function errorOf(fn: () => unknown): Promise<{ name: string; message: string } | undefined> {
  try {
    await fn();
  } catch (err) {
    return { name: (err as Error).name, message: (err as Error).message };
  }
  return undefined;
}

describe('local MSK double', () => {
  it('its ARN is a valid MSK cluster ARN naming the cluster', () => {
    expect(ARN).toMatch(/^arn:aws:kafka:eu-west-1:123456789012:cluster\/orders\/[0-9a-f-]+-1$/);
  });

  it('DescribeCluster: ACTIVE for its ARN, NotFoundException for any other', async () => {
    const msk = localMskDouble(localCluster(), { clusterArn: ARN });
    const describe = msk.registry[RESOURCES.kafkaDescribeCluster]!;
    expect(await describe({ ClusterArn: ARN }, call)).toMatchObject({
      ClusterInfo: { ClusterArn: ARN, ClusterName: 'orders', State: 'ACTIVE' },
    });
    expect((await errorOf(() => describe({ ClusterArn: ARN.replace('orders', 'other') }, call)))?.name).toBe(
      'Kafka.NotFoundException',
    );
  });

  it('RebootBroker restarts that local broker; the operation completes once it is back in service, fails if it never is', async () => {
    const c = localCluster();
    let back: () => void = () => undefined;
    const msk = localMskDouble(c, {
      clusterArn: ARN,
      waitBack: (id) =>
        id === 2 ? new Promise<void>((r) => (back = r)) : Promise.reject(new Error(`broker ${id} never came back`)),
    });
    const state = async (arn: string) =>
      (
        (await msk.registry[RESOURCES.kafkaDescribeClusterOperation]!({ ClusterOperationArn: arn }, call)) as {
          ClusterOperationInfo: { OperationState: string; ErrorInfo?: unknown };
        }
      ).ClusterOperationInfo;
    const r = (await msk.registry[RESOURCES.kafkaRebootBroker]!({ ClusterArn: ARN, BrokerIds: ['2'] }, call)) as {
      ClusterOperationArn: string;
    };
    await new Promise((res) => setTimeout(res, 10));
    expect(c.faults).toEqual([['restart', 2]]);
    expect((await state(r.ClusterOperationArn)).OperationState).toBe('UPDATE_IN_PROGRESS');
    back();
    const other = (await msk.registry[RESOURCES.kafkaRebootBroker]!({ ClusterArn: ARN, BrokerIds: ['3'] }, call)) as {
      ClusterOperationArn: string;
    };
    await msk.settled();
    expect(await state(r.ClusterOperationArn)).toMatchObject({ OperationState: 'UPDATE_COMPLETE' });
    expect(await state(other.ClusterOperationArn)).toMatchObject({
      OperationState: 'UPDATE_FAILED',
      ErrorInfo: { ErrorString: 'broker 3 never came back' },
    });
  });

  it('RebootBroker and storage share one cluster state: a cluster mid-update refuses the reboot', async () => {
    const c = localCluster();
    const msk = localMskDouble(c, { clusterArn: ARN });
    msk.model.state = 'UPDATING';
    expect(await msk.registry[RESOURCES.kafkaDescribeCluster]!({ ClusterArn: ARN }, call)).toMatchObject({
      ClusterInfo: { State: 'UPDATING' },
    });
    expect(
      (await errorOf(() => msk.registry[RESOURCES.kafkaRebootBroker]!({ ClusterArn: ARN, BrokerIds: ['2'] }, call)))
        ?.name,
    ).toBe('Kafka.BadRequestException');
    expect(c.faults).toEqual([]);
  });

  it('a broker id the cluster does not have, or a double told to refuse: BadRequestException, nothing restarted', async () => {
    const c = localCluster();
    const unknown = await errorOf(() =>
      localMskDouble(c, { clusterArn: ARN }).registry[RESOURCES.kafkaRebootBroker]!(
        { ClusterArn: ARN, BrokerIds: ['7'] },
        call,
      ),
    );
    expect(unknown).toEqual({
      name: 'Kafka.BadRequestException',
      message: `broker 7 is not a broker of ${ARN} (brokers 1, 2, 3)`,
    });
    const refusing = localMskDouble(c, { clusterArn: ARN, refuseReboot: 'the reboot was refused' });
    expect(
      await errorOf(() => refusing.registry[RESOURCES.kafkaRebootBroker]!({ ClusterArn: ARN, BrokerIds: ['2'] }, call)),
    ).toEqual({ name: 'Kafka.BadRequestException', message: 'the reboot was refused' });
    await refusing.settled();
    expect(refusing.reboots).toEqual([]);
    expect(c.faults).toEqual([]);
  });
});
