// The probe: one Lambda per cluster (a function has exactly one VPC configuration, and each
// cluster's brokers live in their own VPC/subnets/security group from the config), run every
// minute by an EventBridge rule whose input names the cluster. It publishes the EMF metrics the
// cluster's alarms read (the self-managed clusters' health and lag; for MSK only what AWS/Kafka
// lacks) plus a heartbeat whose absence alarms (the heartbeat alarm itself is made with the
// cluster alarms), and what the dashboard graphs when the stack has one.
//
// The VPC, subnets and security group are imported by id (no lookups), so `cdk synth` needs no
// AWS credentials.
import { Duration, Fn, Validations } from 'aws-cdk-lib';
import { SecurityGroup, Subnet, Vpc } from 'aws-cdk-lib/aws-ec2';
import { Rule, RuleTargetInput, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { zookeeperConnect, type ClusterConfig } from '../config/schema.js';
import { clusterAlarmSpecs, probeSeriesOfAlarms } from './alarm-specs.js';
import { dashboardProbeSeries } from './dashboard.js';
import { HealerFunction } from './healer-function.js';
import { grantKafkaAccess, securityRef } from './kafka-access.js';
import { ProbeLayer } from './probe-layer.js';
import type { SecurityRef } from '#shared/kafka-security.js';
import { parseHostPort } from '#shared/probe/index.js';

/**
 * What the probe handler is told about its cluster: the file CLUSTERS_FILE, a one-element list in the
 * shape functions/contracts/clusters-file.ts defines (name, bootstrapServers, brokerCount, brokerIds,
 * consumerGroups, security, metadataMode, zookeeper). brokerIds lets a broker that is down from the first probe still
 * report 0. security holds references only (kafka-access.ts grants the reads they need).
 */
export interface ProbeClusterEnv {
  name: string;
  bootstrapServers: string[];
  brokerCount: number;
  brokerIds?: number[];
  consumerGroups: { name: string; topics?: string[] }[];
  security?: SecurityRef;
  /** Self-managed clusters: the configured metadata mode. */
  metadataMode?: 'kraft' | 'zookeeper';
  /** ZooKeeper mode with ec2.zookeeper.connect: each server's client address, asked with srvr/mntr. */
  zookeeper?: string[];
}

export function probeClusterEnv(cluster: ClusterConfig): ProbeClusterEnv {
  // MSK numbers its brokers 1..N (a replaced broker keeps its id): the probe reports each of them,
  // so a broker down from the first probe of a cold container still reads 0, never absent.
  const brokerIds =
    cluster.platform === 'ec2'
      ? cluster.ec2.brokers?.map((b) => b.id)
      : Array.from({ length: cluster.brokerCount }, (_, i) => i + 1);
  const security = securityRef(cluster);
  // Never the DR record: after a failover it names the peer, and the probe of this cluster would
  // watch the other one. The schema makes sure a DR pair member lists brokers of its own.
  const record = cluster.dr?.route53?.recordName;
  const zookeeper = zookeeperConnect(cluster);
  const own =
    record === undefined
      ? cluster.bootstrapServers
      : cluster.bootstrapServers.filter(
          (s) => parseHostPort(s).host.toLowerCase().replace(/\.$/, '') !== record.toLowerCase().replace(/\.$/, ''),
        );
  return {
    name: cluster.name,
    bootstrapServers: own,
    brokerCount: cluster.brokerCount,
    ...(brokerIds ? { brokerIds } : {}),
    consumerGroups: cluster.consumerGroups.map((g) => ({ name: g.name, ...(g.topics ? { topics: g.topics } : {}) })),
    ...(security ? { security } : {}),
    ...(cluster.platform === 'ec2' ? { metadataMode: cluster.ec2.metadataMode } : {}),
    ...(zookeeper ? { zookeeper } : {}),
  };
}

export interface ClusterProbeProps {
  deployment: string;
  cluster: ClusterConfig;
  /** @default one minute */
  interval?: Duration;
  /** The stack has the dashboard, which graphs probe series no alarm reads. @default false */
  dashboard?: boolean;
  /**
   * The ingest queue: with `probe.recheckSeconds` above 0 the probe puts its fast-detection findings
   * there (functions/probe/fast-detect.ts). @default none (fast detection off)
   */
  ingestQueue?: IQueue;
}

/**
 * PROBE_METRIC_SERIES: the series kinds the probe publishes, those the cluster's alarms read
 * (plus the dashboard's). For an MSK cluster that is the heartbeat and each broker's reachability
 * (and ClusterReachable for a DR pair): its other alarms watch AWS/Kafka, which MSK publishes at no
 * charge.
 */
export function probeMetricSeries(deployment: string, cluster: ClusterConfig, dashboard = false): string[] {
  const keys = new Set(probeSeriesOfAlarms(clusterAlarmSpecs(deployment, cluster)));
  if (dashboard) dashboardProbeSeries(cluster).forEach((k) => keys.add(k));
  return [...keys].sort();
}

export class ClusterProbe extends Construct {
  readonly fn: HealerFunction;
  readonly schedule: Rule;
  /** Fast detection is on: the probe sends to the ingest queue (its role must be admitted there). */
  readonly sendsFindings: boolean;

  constructor(scope: Construct, id: string, props: ClusterProbeProps) {
    super(scope, id);
    const { cluster } = props;
    const vpc = Vpc.fromVpcAttributes(this, 'Vpc', {
      vpcId: cluster.probe.vpcId,
      // The subnets are given explicitly below, so the VPC's zone list is never consulted; the
      // region's zones (resolved by CloudFormation, not looked up at synth) satisfy the API.
      availabilityZones: Fn.getAzs(),
    });
    Validations.of(vpc).acknowledge({
      id: 'Annotation::@aws-cdk/aws-ec2:vpcAttributeIsListTokenavailabilityZones',
      reason:
        "The imported VPC is only the parent of the probe's explicitly listed subnets; no construct selects subnets from it by zone.",
    });
    const subnets = cluster.probe.subnetIds.map((id, i) => {
      const subnet = Subnet.fromSubnetId(this, `Subnet${i}`, id);
      Validations.of(subnet).acknowledge({
        id: 'Annotation::@aws-cdk/aws-ec2:noSubnetRouteTableId',
        reason: 'The probe only places its network interfaces in these subnets; nothing reads their route tables.',
      });
      return subnet;
    });
    const securityGroup = SecurityGroup.fromSecurityGroupId(this, 'SecurityGroup', cluster.probe.securityGroupId, {
      // The security group belongs to the operator: never add rules to it from here.
      mutable: false,
    });

    this.fn = new HealerFunction(this, 'Probe', {
      name: 'probe',
      serviceName: `probe-${cluster.name}`,
      description: `kafka-heal ${props.deployment}: probes Kafka cluster ${cluster.name} (brokers, partitions, lag) and publishes metrics`,
      // A probe is bounded at a few seconds per call; the budget covers a sub-minute inner loop.
      timeout: Duration.seconds(55),
      memorySize: 256,
      vpc: { vpc, subnets, securityGroups: [securityGroup] },
      // The probe library comes from the stack's probe layer, not the bundle.
      layers: [ProbeLayer.of(this).binding],
      // Run by the schedule only (the workflows probe through cluster-steps, which stays actively
      // traced): active tracing made one single-segment X-Ray trace a minute per cluster (43,800 a
      // month, $0.22 at $5 per million) that told nothing the free AWS/Lambda Duration and Errors
      // metrics and the heartbeat alarm do not.
      traceOnlyWhenCallerTraces: true,
      environment: {
        DEPLOYMENT: props.deployment,
        PROBE_METRIC_SERIES: JSON.stringify(probeMetricSeries(props.deployment, cluster, props.dashboard)),
        PROBE_RECHECK_SECONDS: String(cluster.probe.recheckSeconds),
      },
      // The cluster with its broker ids (up to 1,000): a bundled file, not the 4 KB environment.
      files: [{ env: 'CLUSTERS_FILE', name: 'clusters.json', json: [probeClusterEnv(cluster)] }],
    });
    // Fast detection: a broker down at two looks goes straight to ingest (sqs:SendMessage on that
    // queue only; its URL is not a secret). Off (0 s): no grant, no URL, the alarm path alone.
    this.sendsFindings = props.ingestQueue !== undefined && cluster.probe.recheckSeconds > 0;
    if (props.ingestQueue && this.sendsFindings) this.fn.bindQueue(props.ingestQueue, 'send', 'INGEST_QUEUE_URL');
    grantKafkaAccess(this.fn, cluster, 'probe');
    // A failed run is superseded by the next one a minute later: no async retries that would
    // overlap it (a missing heartbeat alarms instead).
    this.fn.fn.configureAsyncInvoke({ retryAttempts: 0, maxEventAge: Duration.seconds(60) });

    this.schedule = new Rule(this, 'Schedule', {
      ruleName: `kafka-heal-${props.deployment}-probe-${cluster.name}`.slice(0, 64),
      description: `kafka-heal ${props.deployment}: probe cluster ${cluster.name} every minute`,
      schedule: Schedule.rate(props.interval ?? Duration.minutes(1)),
    });
    this.schedule.addTarget(
      new LambdaFunction(this.fn.fn, {
        event: RuleTargetInput.fromObject({ cluster: cluster.name }),
        retryAttempts: 0,
        maxEventAge: Duration.seconds(60),
      }),
    );
  }
}
