// The drill report: what one drill run measured and decided, in the shape every renderer (JSON,
// Markdown, post-mortem draft, HTML with an SVG timeline) and the mttr benchmark read. The keys
// `scenario passed mttdSeconds mttrSeconds oracleMttrSeconds messagesProduced messagesConsumed
// messagesLost actions timeline` are a stable interface: scripts and CI parse them.

/** Where a timeline entry came from. */
export type DrillSource =
  | 'drill'
  | 'fault'
  | 'workload'
  | 'probe'
  | 'alarm'
  | 'classifier'
  | 'workflow'
  | 'state'
  | 'approval'
  | 'notification'
  | 'oracle';

export interface DrillTimelineEntry {
  /** ISO time. */
  at: string;
  /** Seconds since the drill's first fault (negative before it). */
  offsetSeconds: number;
  source: DrillSource;
  /** Short machine-friendly event, e.g. `fault:crash`, `alarm:ALARM`, `state:entered`, `incident:opened`. */
  event: string;
  /** One human sentence (state name, alarm name, reason). */
  detail?: string;
}

/** An action the healer took (or, in a dry run, planned), as recorded in the incident timeline. */
export interface DrillAction {
  at: string;
  offsetSeconds: number;
  /** classifier | the workflow name | an operator (approvals). */
  actor: string;
  /** Timeline action, e.g. `broker-restarted`, `throttle-applied`, `approval-requested`. */
  action: string;
  /** Broker id, instance, record name... */
  target?: string;
  result?: string;
  dryRun?: boolean;
}

export interface DrillIncident {
  id: string;
  type: string;
  severity: string;
  status: string;
  workflow?: string;
  executionStatus?: string;
  openedAt: string;
  resolvedAt?: string;
  /** Page (or detection) to acknowledgement, and who acknowledged from where. */
  mttaSeconds?: number;
  acknowledgedBy?: string;
}

export interface DrillExpectationResult {
  /** e.g. `incident type`, `max MTTR`, `no data loss`, `action not taken: broker-restarted`. */
  name: string;
  expected: string;
  actual: string;
  passed: boolean;
}

export interface DrillReport {
  scenario: string;
  description: string;
  passed: boolean;
  startedAt: string;
  finishedAt: string;
  cluster: { name: string; mode: 'kraft' | 'zookeeper'; brokers: number; kafkaVersion: string };
  /** Fault to incident opened. Null when no incident opened (e.g. a false alarm that never fired). */
  mttdSeconds: number | null;
  /** Fault to incident resolved with the cluster healthy again. Null when it never recovered. */
  mttrSeconds: number | null;
  /** The same fault healed by an immediate manual restart in the same run (Kafka's own floor). */
  oracleMttrSeconds: number | null;
  /** mttrSeconds / oracleMttrSeconds, when both exist. */
  mttrRatio: number | null;
  /** Site failure only: data written to the primary and never mirrored (seconds of replication lag). */
  rpoSeconds?: number | null;
  /** Site failure only: fault to clients producing through the DR cluster. */
  rtoSeconds?: number | null;
  /** Acknowledged (acks=all) produces. */
  messagesProduced: number;
  /** Distinct acknowledged messages read back by the drill's consumer. */
  messagesConsumed: number;
  /** Acknowledged messages never read back. */
  messagesLost: number;
  incidents: DrillIncident[];
  actions: DrillAction[];
  timeline: DrillTimelineEntry[];
  expectations: DrillExpectationResult[];
  /** How the local run differs from AWS (shortened alarm periods, time scale...), stated plainly. */
  notes: string[];
}
