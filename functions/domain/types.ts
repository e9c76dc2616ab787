// The shared vocabulary of the healer: signals, incidents, decisions and runtime policy.
// Pure types only; no AWS imports. Every other module (handlers, CDK, local runtime) speaks
// in these shapes, so changing one is an interface change.

/** Where a signal came from. */
export type SignalSource = 'cloudwatch' | 'alertmanager' | 'amp' | 'probe';

export type SignalState = 'firing' | 'resolved';

/**
 * What a signal says is wrong. One kind per distinct symptom a runbook reacts to; the
 * classifier maps kinds (plus context) to incident types.
 */
export const SIGNAL_KINDS = [
  'broker-down', // a broker is unreachable or not registered
  'controller-missing', // ActiveControllerCount < 1 / no KRaft or ZooKeeper controller
  'quorum-loss', // ZooKeeper ensemble or KRaft quorum lost its majority / split brain
  'offline-partitions',
  'under-min-isr',
  'under-replicated',
  'disk-usage',
  'cpu-high',
  'heap-high',
  'consumer-lag', // offset lag (messages)
  'consumer-time-lag', // time lag (seconds)
  'error-rate',
  'dlq-growth',
  'traffic-spike',
  'site-down', // a whole cluster/site is unreachable
  'replication-lag', // MirrorMaker 2 / DR replication behind
  'monitoring-gap', // the probe stopped reporting, metrics missing
  'security-event',
  // The healer's own probe is refused by the cluster (DESIGN.md safety rule 11: the observer's
  // failure, never read as the cluster's): its SASL authentication, or its TLS handshake.
  'auth-failed',
  'tls-failed',
  'certificate-expiry', // a broker's TLS certificate expires soon (value: days left)
  'unknown',
] as const;
export type SignalKind = (typeof SIGNAL_KINDS)[number];

/** One normalized observation from any source. */
export interface Signal {
  /** Deterministic id: the same source event delivered twice yields the same id. */
  id: string;
  source: SignalSource;
  /** Cluster name as configured (aliases such as the MSK cluster name are resolved). */
  cluster: string;
  kind: SignalKind;
  /** Brokers the signal is about; empty when cluster-wide. Sorted ascending, unique. */
  brokerIds: number[];
  state: SignalState;
  /** Observed value and the threshold it was compared with, when the source says. */
  value?: number;
  threshold?: number;
  consumerGroup?: string;
  topic?: string;
  /** When the source observed the state change (ISO 8601). */
  observedAt: string;
  /** The alarm name or alert name, for people. */
  name: string;
  /** Stable identity of the alarm/alert across state changes (dedup key). */
  fingerprint: string;
  /** Extra labels from the source (Alertmanager labels, alarm dimensions). */
  labels: Record<string, string>;
  /** Human text from the source (alarm reason, alert summary), trimmed. */
  summary?: string;
}

export type Severity = 'SEV-1' | 'SEV-2' | 'SEV-3' | 'SEV-4';

export const INCIDENT_TYPES = [
  'broker-failure',
  'cascade-failure',
  'controller-loss',
  'quorum-loss',
  'offline-partitions',
  'under-replication',
  'disk-pressure',
  'consumer-lag',
  'error-rate',
  'dlq-growth',
  'resource-pressure', // CPU / heap
  'traffic-spike',
  'site-failure',
  'replication-lag',
  'monitoring-outage',
  'security-event',
  'access-failure', // the probe is refused (credentials, certificates, ACLs): people, never a restart
  'certificate-expiry',
  'unknown',
] as const;
export type IncidentType = (typeof INCIDENT_TYPES)[number];

export type IncidentStatus = 'open' | 'remediating' | 'awaiting-approval' | 'resolved' | 'escalated' | 'suppressed';

/** The state machines the classifier can start (one per runbook). */
export const WORKFLOWS = [
  'broker-recovery',
  'msk-broker-recovery',
  'cascade-recovery',
  'disk-pressure',
  'consumer-lag',
  'quorum-recovery',
  'dr-failover',
  'dr-failback',
  'escalation',
] as const;
export type Workflow = (typeof WORKFLOWS)[number];

export type DecisionAction = 'ignore' | 'remediate' | 'await-approval' | 'escalate';

/** What a workflow will be asked to do. */
export interface Plan {
  workflow: Workflow;
  brokerIds: number[];
  /** True when the automation mode is dry-run: the workflow plans and records, mutates nothing. */
  dryRun: boolean;
  /** Human-readable steps, shown in approvals and the timeline. */
  steps: string[];
}

interface DecisionBase {
  incidentType: IncidentType;
  severity: Severity;
  /** Why, in order: every rule that shaped the decision says so here (goes to the timeline). */
  reasons: string[];
}

export type Decision =
  | (DecisionBase & {
      action: 'ignore';
      /** Set when a plan existed but a maintenance window suppressed it (the timeline must say so). */
      suppressed?: { by: 'maintenance-window'; window: MaintenanceWindow };
    })
  | (DecisionBase & { action: 'remediate'; plan: Plan })
  | (DecisionBase & { action: 'await-approval'; plan: Plan })
  | (DecisionBase & { action: 'escalate'; page: boolean });

export type AutomationMode = 'auto' | 'approval' | 'dry-run' | 'off';

/** A recurring or one-off window during which automatic actions are suppressed. */
export interface MaintenanceWindow {
  /** ISO start and end (UTC). */
  start: string;
  end: string;
  reason?: string;
}

/** Runtime policy for one cluster, read from SSM Parameter Store at decision time. */
export interface RuntimePolicy {
  mode: AutomationMode;
  maintenanceWindows: MaintenanceWindow[];
  /** Seconds after a remediation of the same type before another automatic one may start. */
  cooldownSeconds: number;
  /** Flap breaker: this many heals of the same broker or type within the window stop automation. */
  flapMaxHeals: number;
  flapWindowSeconds: number;
  /** Brokers failing within this many seconds of each other form a cascade. */
  cascadeWindowSeconds: number;
  /**
   * Brokers first seen failing within this many seconds of each other failed together: only they
   * count for the blast-radius and emergency gates (one after another is a cascade). Default 60.
   */
  simultaneousWindowSeconds: number;
  /** Fraction of brokers (0-1) whose joint failure is treated as infrastructure-wide. */
  blastRadiusFraction: number;
  /** Optional absolute broker count for the blast-radius gate (whichever is smaller wins). */
  blastRadiusBrokers?: number;
  thresholds: Thresholds;
  /**
   * An open or escalated incident whose alarms are all back to OK, and whose cluster has been
   * healthy, for this long resolves itself as recovered without the healer. 0 = never. Default 900.
   */
  autoResolveSeconds: number;
  /**
   * A fault that fires again within this many seconds of its incident being resolved without the
   * healer (auto-resolved, or by a person) reopens that incident instead of opening a new one.
   * 0 = never. Default 1800.
   */
  reopenSeconds: number;
  /** Who the escalation ladder pages at each level. */
  escalation: EscalationTargets;
}

/**
 * Where the escalation ladder's levels page:
 * - `pagerduty` (default): PagerDuty's own escalation policy moves the page up; the ladder pages
 *   once (the deployment's routing key) and then only posts status updates. No level re-pages the
 *   same PagerDuty incident pretending to escalate.
 * - `levels`: each level pages its own target (a PagerDuty routing key of another service, or an
 *   SNS topic), level 1 first; a level is paged only when its acknowledgement window passed.
 */
export interface EscalationTargets {
  mode: 'pagerduty' | 'levels';
  /** `levels` mode: level n's target is levels[n-1]. */
  levels: EscalationLevel[];
}

/**
 * One level's target: a Secrets Manager secret (under `kafka-heal/pagerduty/`) holding an Events
 * v2 routing key, or an SNS topic ARN; neither (level 1 only) is the deployment's routing key.
 */
export interface EscalationLevel {
  routingKeySecret?: string;
  snsTopicArn?: string;
}

export interface Thresholds {
  diskWarnPercent: number; // 85
  diskCriticalPercent: number; // 90
  lagSev3: number; // 10_000
  lagSev2: number; // 100_000
  lagSev1: number; // 1_000_000
  errorRateSev3: number; // 0.01
  errorRateSev2: number; // 0.10
  errorRateSev1: number; // 0.20
  dlqPerMinuteSev3: number; // 10
  dlqPerMinuteSev2: number; // 100 (above: SEV-2, or SEV-1 with other evidence)
  certExpiryWarnDays: number; // 30: a broker certificate expiring in fewer days is SEV-3
  certExpiryCriticalDays: number; // 7: fewer days (or expired) is SEV-2
}

/** Deploy-time facts about a cluster the classifier needs (from the config file). */
export interface ClusterFacts {
  name: string;
  /** Other names signals may carry for this cluster (e.g. the MSK cluster name). */
  aliases: string[];
  platform: 'msk' | 'ec2';
  metadataMode: 'kraft' | 'zookeeper';
  brokerCount: number;
  /** The cluster has a configured DR peer and Route 53 record. */
  hasDr: boolean;
  /** DR failover may run without approval (policy in the config). */
  automaticFailover: boolean;
}

/** What the classifier needs to know about an open incident. */
export interface OpenIncident {
  id: string;
  cluster: string;
  type: IncidentType;
  severity: Severity;
  status: IncidentStatus;
  /** Broker ids involved so far, each with the first time it was seen failing (ISO). */
  brokers: { id: number; firstSeenAt: string }[];
  openedAt: string;
  /** Keys (incident-id.ts fingerprintKey) of the fingerprints of the signals already joined to the incident. */
  fingerprints: string[];
}

/** A finished remediation, for the flap breaker and cooldowns. */
export interface HealRecord {
  cluster: string;
  type: IncidentType;
  brokerIds: number[];
  finishedAt: string;
}
