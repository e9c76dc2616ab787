// Amazon MSK broker storage on the local runtime: `kafka:describeCluster` (state, current
// version, broker EBS volume size), `cloudwatch:getMetricData` for the brokers' data disk usage
// (the one query disk-pressure sends: the maximum of `KafkaDataLogsDiskUsed` over the cluster's
// brokers, newest first) and `kafka:updateBrokerStorage`, with the service's rules:
// the cluster must be ACTIVE, CurrentVersion must match, the new size must be larger, and MSK
// accepts one storage update per cluster every 6 hours (BadRequestException otherwise). An update
// moves the cluster to UPDATING; it becomes ACTIVE with the new size and a new version after
// `updateMs` (0: on the next describe).
//
// This describeCluster answers for the clusters given here; a run that also reboots brokers
// (mskBindings) binds one of the two, or passes `state` to share the cluster state.
import { randomUUID } from 'node:crypto';
import { RESOURCES } from './bindings.js';
import { TaskError, type BindingRegistry, type Json } from './runtime.js';

export const KAFKA_UPDATE_BROKER_STORAGE = 'arn:aws:states:::aws-sdk:kafka:updateBrokerStorage';
export const CLOUDWATCH_GET_METRIC_DATA = 'arn:aws:states:::aws-sdk:cloudwatch:getMetricData';

/** The Metrics Insights query disk-pressure re-measures an MSK cluster's data disks with. */
const DISK_QUERY =
  /^SELECT MAX\(KafkaDataLogsDiskUsed\) FROM SCHEMA\("AWS\/Kafka", "Broker ID", "Cluster Name"\) WHERE "Cluster Name" = '([A-Za-z0-9-]{1,64})'$/;

/** The cluster name in an MSK cluster ARN (`...:cluster/<name>/<uuid>`). */
export const mskClusterName = (arn: string): string => arn.split('/')[1] ?? arn;

/** MSK: at most one storage update per cluster in this window. */
export const STORAGE_UPDATE_INTERVAL_MS = 6 * 3_600_000;

export interface LocalMskCluster {
  state: string;
  currentVersion: string;
  volumeGb: number;
  /** When the last storage update was accepted (ms since epoch). */
  lastStorageUpdateAt?: number;
  /** The highest broker data disk usage CloudWatch has for the cluster now (percent); absent: no datapoint. */
  diskUsedPercent?: number;
}

export interface MskStorageOptions {
  /** Cluster ARN -> its model; mutated by updates. */
  clusters: Record<string, LocalMskCluster>;
  /** How long an update keeps the cluster UPDATING. Default 0. */
  updateMs?: number;
  now?: () => number;
  /** Called when an update completes (a drill may grow the local broker's disk). */
  onUpdated?: (clusterArn: string, volumeGb: number) => void;
}

export interface MskStorageBindings {
  registry: BindingRegistry;
  updates: { clusterArn: string; volumeGb: number; operationArn: string; stateName: string }[];
}

function params(input: Json, what: string): Record<string, Json> {
  if (typeof input !== 'object' || input === null || Array.isArray(input))
    throw new TaskError('States.Runtime', `${what}: parameters must be an object`);
  return input;
}

export function mskStorageBindings(opts: MskStorageOptions): MskStorageBindings {
  const now = opts.now ?? Date.now;
  const pending = new Map<string, { volumeGb: number; doneAt: number }>();
  const updates: MskStorageBindings['updates'] = [];
  const cluster = (arn: unknown): [string, LocalMskCluster] => {
    if (typeof arn !== 'string' || arn === '')
      throw new TaskError('Kafka.BadRequestException', 'ClusterArn is required');
    const c = opts.clusters[arn];
    if (!c) throw new TaskError('Kafka.NotFoundException', `cluster ${arn} not found`);
    const p = pending.get(arn);
    if (p && now() >= p.doneAt) {
      pending.delete(arn);
      c.volumeGb = p.volumeGb;
      c.state = 'ACTIVE';
      c.currentVersion = `K${randomUUID().slice(0, 12).toUpperCase()}`;
      opts.onUpdated?.(arn, p.volumeGb);
    }
    return [arn, c];
  };
  return {
    updates,
    registry: {
      [RESOURCES.kafkaDescribeCluster]: (input) => {
        const [arn, c] = cluster(params(input, 'kafka:describeCluster').ClusterArn);
        return {
          ClusterInfo: {
            ClusterArn: arn,
            ClusterName: mskClusterName(arn),
            State: c.state,
            CurrentVersion: c.currentVersion,
            BrokerNodeGroupInfo: { StorageInfo: { EbsStorageInfo: { VolumeSize: c.volumeGb } } },
          },
        };
      },
      [CLOUDWATCH_GET_METRIC_DATA]: (input) => {
        const p = params(input, 'cloudwatch:getMetricData');
        const [start, end] = [Date.parse(String(p.StartTime)), Date.parse(String(p.EndTime))];
        if (!(start < end))
          throw new TaskError(
            'CloudWatch.InvalidParameterValueException',
            `StartTime ${String(p.StartTime)} must be before EndTime ${String(p.EndTime)}`,
          );
        const queries = Array.isArray(p.MetricDataQueries) ? (p.MetricDataQueries as Record<string, Json>[]) : [];
        const [q] = queries;
        const name = DISK_QUERY.exec(String(q?.Expression))?.[1];
        if (queries.length !== 1 || !q || name === undefined || q.Period !== 60 || p.ScanBy !== 'TimestampDescending') {
          throw new TaskError(
            'CloudWatch.InvalidParameterValueException',
            `expected one Metrics Insights query of KafkaDataLogsDiskUsed for one cluster, Period 60, newest first; got ${JSON.stringify(p)}`,
          );
        }
        const c = Object.entries(opts.clusters).find(([arn]) => mskClusterName(arn) === name)?.[1];
        const used = c?.diskUsedPercent;
        // CloudWatch returns one datapoint per period that has one; none is an empty series, not an error.
        const at = new Date(Math.floor(Math.min(end, now()) / 60_000) * 60_000).toISOString();
        return {
          MetricDataResults: [
            {
              Id: String(q.Id),
              Label: 'used',
              StatusCode: 'Complete',
              Timestamps: used === undefined ? [] : [at],
              Values: used === undefined ? [] : [used],
            },
          ],
          Messages: [],
        };
      },
      [KAFKA_UPDATE_BROKER_STORAGE]: (input, call) => {
        const p = params(input, 'kafka:updateBrokerStorage');
        const [arn, c] = cluster(p.ClusterArn);
        const targets = p.TargetBrokerEBSVolumeInfo;
        const target =
          Array.isArray(targets) && targets.length === 1 ? (targets[0] as Record<string, Json>) : undefined;
        const size = target?.VolumeSizeGB;
        if (!target || target.KafkaBrokerNodeId !== 'All' || typeof size !== 'number' || !Number.isInteger(size)) {
          throw new TaskError(
            'Kafka.BadRequestException',
            'TargetBrokerEBSVolumeInfo must be [{ KafkaBrokerNodeId: "All", VolumeSizeGB: <whole GiB> }]',
          );
        }
        if (c.state !== 'ACTIVE')
          throw new TaskError('Kafka.BadRequestException', `cluster ${arn} is ${c.state}, not ACTIVE`);
        if (p.CurrentVersion !== c.currentVersion)
          throw new TaskError(
            'Kafka.BadRequestException',
            `CurrentVersion ${String(p.CurrentVersion)} does not match ${c.currentVersion}`,
          );
        if (c.lastStorageUpdateAt !== undefined && now() - c.lastStorageUpdateAt < STORAGE_UPDATE_INTERVAL_MS) {
          throw new TaskError(
            'Kafka.BadRequestException',
            'The broker storage of this cluster was updated less than 6 hours ago; try again later',
          );
        }
        if (size <= c.volumeGb)
          throw new TaskError(
            'Kafka.BadRequestException',
            `VolumeSizeGB ${size} must be larger than the current ${c.volumeGb}`,
          );
        c.state = 'UPDATING';
        c.lastStorageUpdateAt = now();
        pending.set(arn, { volumeGb: size, doneAt: now() + (opts.updateMs ?? 0) });
        const operationArn = `${arn.replace(':cluster/', ':cluster-operation/')}/${randomUUID()}`;
        updates.push({ clusterArn: arn, volumeGb: size, operationArn, stateName: call.stateName });
        return { ClusterArn: arn, ClusterOperationArn: operationArn };
      },
    },
  };
}
