// The broker instances of a cluster whose brokers are found by EC2 tag (config ec2.brokerTag): the
// config names no instance, so before a workflow acts the workflow steps Lambda asks EC2
// (ec2:DescribeInstances, read-only) for the instances carrying the cluster's broker tag AND the
// deployment's tag (kafka-heal:deployment=<deployment>), and reads each one's broker id from its
// broker-id tag (brokerTag.brokerIdKey, default kafka-heal:broker-id). The SendCommand grant
// requires the same two tags (infra/constructs/recovery-workflows.ts grantInstances), so an
// instance found here is one the workflow may act on, and nothing else is.
import { paginateDescribeInstances, type EC2Client } from '@aws-sdk/client-ec2';
import { RecoveryTargetError } from '../shared/recovery-errors.js';

export const DEPLOYMENT_TAG = 'kafka-heal:deployment';
export const DEFAULT_BROKER_ID_TAG = 'kafka-heal:broker-id';

export interface BrokerTagTarget {
  key: string;
  value: string;
  /** The tag holding each instance's Kafka broker id. */
  brokerIdKey: string;
}

export interface TaggedInstance {
  instanceId: string;
  tags: Record<string, string>;
}

/** Instances matching every tag given (and not terminated), with their tags. */
export type InstanceFinder = (tags: Record<string, string>) => Promise<TaggedInstance[]>;

/** The brokers of a tag-found cluster, by broker id; an instance without a usable id, or an id claimed twice, is a RecoveryTargetError. */
export async function taggedBrokers(
  find: InstanceFinder,
  deployment: string,
  cluster: string,
  tag: BrokerTagTarget,
): Promise<{ id: number; instanceId: string }[]> {
  const instances = await find({ [tag.key]: tag.value, [DEPLOYMENT_TAG]: deployment });
  const byId = new Map<number, string>();
  for (const i of instances) {
    const raw = i.tags[tag.brokerIdKey];
    if (raw === undefined || !/^\d{1,10}$/.test(raw)) {
      throw new RecoveryTargetError(
        `instance ${i.instanceId} of cluster ${cluster} (tag ${tag.key}=${tag.value}) has no broker id in its tag ${tag.brokerIdKey}${raw === undefined ? '' : ` (got ${JSON.stringify(raw.slice(0, 20))})`}`,
      );
    }
    const id = Number(raw);
    const other = byId.get(id);
    if (other !== undefined)
      throw new RecoveryTargetError(
        `instances ${other} and ${i.instanceId} of cluster ${cluster} both claim broker ${id} (tag ${tag.brokerIdKey}): refusing to guess which to act on`,
      );
    byId.set(id, i.instanceId);
  }
  return [...byId].sort(([a], [b]) => a - b).map(([id, instanceId]) => ({ id, instanceId }));
}

/** Finds instances through EC2 DescribeInstances (tag filters, every page). */
export function ec2InstanceFinder(client: EC2Client): InstanceFinder {
  return async (tags) => {
    const filters = [
      ...Object.entries(tags).map(([k, v]) => ({ Name: `tag:${k}`, Values: [v] })),
      { Name: 'instance-state-name', Values: ['pending', 'running', 'stopping', 'stopped'] },
    ];
    const out: TaggedInstance[] = [];
    for await (const page of paginateDescribeInstances({ client }, { Filters: filters })) {
      for (const r of page.Reservations ?? []) {
        for (const i of r.Instances ?? []) {
          if (i.InstanceId === undefined) continue;
          out.push({
            instanceId: i.InstanceId,
            tags: Object.fromEntries(
              (i.Tags ?? []).flatMap((t) => (t.Key === undefined ? [] : [[t.Key, t.Value ?? '']])),
            ),
          });
        }
      }
    }
    return out;
  };
}
