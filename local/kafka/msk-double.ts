// A local Kafka cluster presented as an Amazon MSK cluster: MSK's control plane as the recovery
// workflows call it (kafka:describeCluster, kafka:rebootBroker, kafka:describeClusterOperation,
// and disk-pressure's storage calls, bound by the local Step Functions runtime) answers for one
// cluster ARN, one cluster state shared by both, and RebootBroker restarts the real local broker
// of that id (MSK numbers its brokers 1..N, as the local cluster does).
// Only the control plane's bookkeeping is simulated: the broker that goes down and comes back is
// a real JVM, and every check before and after the reboot probes the real cluster.
import { probeCluster } from '#shared/probe/index.js';
import { mskBindings, type MskBindings } from '../stepfunctions/bindings.js';
import { mskStorageBindings, type LocalMskCluster, type MskStorageBindings } from '../stepfunctions/msk-storage.js';
import type { LocalCluster } from './cluster.js';

/** The ARN of an MSK cluster named `name` (the uuid suffix is fixed: one local cluster per name). */
export function mskClusterArnFor(name: string, region: string, account: string): string {
  return `arn:aws:kafka:${region}:${account}:cluster/${name}/0d0d0d0d-1111-2222-3333-444455556666-1`;
}

export interface MskDoubleOptions {
  /** The MSK cluster ARN the local cluster answers to; any other ARN is NotFoundException. */
  clusterArn: string;
  /**
   * MSK refuses every RebootBroker with this BadRequestException message (as it does for a
   * cluster that is mid-update or a role that may not reboot): nothing is restarted.
   */
  refuseReboot?: string;
  /** Each broker's EBS volume (GiB) as DescribeCluster reports it. Default 1000. */
  volumeGb?: number;
  /**
   * Resolves once the restarted broker is back in service, rejects if it never is (the operation
   * then ends UPDATE_FAILED). Default: the probe sees it registered and reachable, within 180 s.
   */
  waitBack?: (brokerId: number) => Promise<void>;
}

/** How long a reboot operation waits for its broker before it fails. */
const REBOOT_BOUND_MS = 180_000;

/** Polls the cluster (the healer's own probe) until broker `id` is registered and reachable. */
async function brokerBack(cluster: Pick<LocalCluster, 'bootstrapServers' | 'brokers'>, id: number): Promise<void> {
  const deadline = Date.now() + REBOOT_BOUND_MS;
  while (Date.now() < deadline) {
    const s = await probeCluster({
      bootstrapServers: cluster.bootstrapServers.split(','),
      expectedBrokers: cluster.brokers.length,
      timeoutMs: 3000,
    });
    if (s.brokers.some((b) => b.id === id && b.registered && b.reachable)) return;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`broker ${id} was not back in service within ${REBOOT_BOUND_MS / 1000} s of its reboot`);
}

export interface MskDouble extends MskBindings {
  /** The cluster as MSK describes it (state, version, volume size); storage updates change it. */
  model: LocalMskCluster;
  /** Storage updates MSK accepted. */
  storageUpdates: MskStorageBindings['updates'];
}

/** MSK's bindings for `cluster` as the MSK cluster `clusterArn`. */
export function localMskDouble(
  cluster: Pick<LocalCluster, 'bootstrapServers' | 'brokers' | 'fault'>,
  opts: MskDoubleOptions,
): MskDouble {
  const model: LocalMskCluster = { state: 'ACTIVE', currentVersion: 'K0D0D0D0D0D0D', volumeGb: opts.volumeGb ?? 1000 };
  const storage = mskStorageBindings({ clusters: { [opts.clusterArn]: model } });
  const reboots = mskBindings({
    clusterState: (arn) => (arn === opts.clusterArn ? model.state : undefined),
    refuse: (_arn, ids) => {
      if (opts.refuseReboot !== undefined) return opts.refuseReboot;
      const id = Number(ids[0]);
      // MSK answers an id that is none of the cluster's brokers at once; no operation starts.
      return cluster.brokers.some((b) => b.id === id)
        ? undefined
        : `broker ${ids[0]} is not a broker of ${opts.clusterArn} (brokers ${cluster.brokers.map((b) => b.id).join(', ')})`;
    },
    // MSK's REBOOT_NODE operation completes once the broker is back in service, not when its
    // process starts (as kafka-restart-broker waits for the listener on EC2).
    reboot: async (_arn, ids) => {
      const id = Number(ids[0]);
      await cluster.fault('restart', id);
      await (opts.waitBack ?? ((b: number) => brokerBack(cluster, b)))(id);
    },
  });
  // One describeCluster for both (the storage model's: state, version, volume size).
  return { ...reboots, registry: { ...reboots.registry, ...storage.registry }, model, storageUpdates: storage.updates };
}
