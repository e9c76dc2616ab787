// A cluster's alarms as auto-resolve reads them: the CloudWatch alarms this deployment made for the
// cluster (infra/constructs/alarm-specs.ts), each with its state and since when it holds it. For a
// self-managed cluster most of them watch the probe's own metrics (namespace KafkaHeal), so "every
// alarm OK" includes "the probe reports and finds the cluster healthy"; for MSK they watch AWS/Kafka
// and the probe's heartbeat.
//
// One DescribeAlarms per 100 alarms, by the name prefix `kafka-heal-<deployment>.<cluster>-`, and
// only alarms whose description marker names this deployment and this cluster count (cluster
// `orders` must not read `orders-eu`'s alarms, which share the name prefix).
import { DescribeAlarmsCommand, type CloudWatchClient, type MetricAlarm } from '@aws-sdk/client-cloudwatch';
import type { AlarmStatus } from '../domain/lifecycle.js';
import { parseMarker } from '../domain/normalize/marker.js';
import { isHealerNamespace } from '../probe/metrics.js';

/** The alarms of one cluster, with their states; empty when none was found. */
export interface ClusterAlarmSource {
  alarms(cluster: string): Promise<AlarmStatus[]>;
}

/** Pages of DescribeAlarms read per cluster at most (100 alarms each): a cluster has tens. */
export const MAX_ALARM_PAGES = 20;

const STATES = new Set<AlarmStatus['state']>(['OK', 'ALARM', 'INSUFFICIENT_DATA']);

function watchesProbe(a: MetricAlarm): boolean {
  if (isHealerNamespace(a.Namespace)) return true;
  return (a.Metrics ?? []).some(
    (m) =>
      isHealerNamespace(m.MetricStat?.Metric?.Namespace) ||
      [...(m.Expression ?? '').matchAll(/SCHEMA\("([^"]+)"/g)].some((s) => isHealerNamespace(s[1])),
  );
}

function ownedBy(a: MetricAlarm, deployment: string, cluster: string): boolean {
  try {
    const marker = parseMarker(a.AlarmDescription, `alarm ${a.AlarmName ?? '?'}`);
    return marker !== undefined && marker.deployment === deployment && marker.cluster === cluster;
  } catch {
    return false;
  }
}

function toStatus(a: MetricAlarm): AlarmStatus {
  const state = STATES.has(a.StateValue as AlarmStatus['state'])
    ? (a.StateValue as AlarmStatus['state'])
    : 'INSUFFICIENT_DATA';
  // StateTransitionedTimestamp: the last change of the state itself (StateUpdatedTimestamp also moves on evaluation-state changes).
  const since = a.StateTransitionedTimestamp ?? a.StateUpdatedTimestamp;
  return {
    name: a.AlarmName ?? '?',
    state,
    since: (since ?? new Date()).toISOString(),
    ...(watchesProbe(a) ? { probe: true } : {}),
  };
}

/** Reads a cluster's alarms from CloudWatch (cloudwatch:DescribeAlarms on the deployment's alarm names). */
export function cloudWatchAlarmSource(
  client: CloudWatchClient,
  opts: { deployment: string; alarmNamePrefix: string },
): ClusterAlarmSource {
  return {
    async alarms(cluster) {
      const found: AlarmStatus[] = [];
      let token: string | undefined;
      let pages = 0;
      do {
        const out = await client.send(
          new DescribeAlarmsCommand({
            AlarmNamePrefix: `${opts.alarmNamePrefix}${cluster}-`,
            AlarmTypes: ['MetricAlarm'],
            MaxRecords: 100,
            ...(token ? { NextToken: token } : {}),
          }),
        );
        for (const a of out.MetricAlarms ?? []) if (ownedBy(a, opts.deployment, cluster)) found.push(toStatus(a));
        token = out.NextToken;
        pages += 1;
      } while (token && pages < MAX_ALARM_PAGES);
      if (token)
        throw new Error(
          `cluster ${cluster}: more than ${MAX_ALARM_PAGES * 100} alarms under ${opts.alarmNamePrefix}${cluster}-; its health cannot be read in one run`,
        );
      return found;
    },
  };
}
