// One bounded-time observation of a Kafka cluster, as the probe saw it. Pure types only: the
// probe (functions/shared/probe) fills it in, and the domain (safety checks, lag evaluation,
// classification of probe results) reads it. Changing a field is an interface change.

/**
 * Overall verdict of one probe.
 * - healthy: every call answered, all expected brokers registered and reachable, no offline,
 *   under-replicated or under-min-ISR partition.
 * - degraded: the cluster answered, and something is wrong (a broker missing or unreachable,
 *   offline / under-replicated / under-min-ISR partitions).
 * - down: no bootstrap server answered, or no broker answered at all.
 * - unknown: the cluster answered in part, but a call the verdict depends on failed or timed out,
 *   and nothing seen so far is wrong. Never treat `unknown` as healthy.
 */
export type SnapshotStatus = 'healthy' | 'degraded' | 'down' | 'unknown' | AccessOutcome;

/**
 * The listener answered and refused the probe itself: its TLS handshake failed (untrusted,
 * expired or misnamed certificate, a client certificate the broker rejects, a listener that does
 * not speak TLS) or its SASL authentication failed (credentials, mechanism, ACLs; or the probe
 * could not load its own credentials). The observer's failure, never the cluster's (DESIGN.md
 * safety rule 11): a snapshot with this status says nothing about the brokers' health.
 * - auth-failed / tls-failed as a status: no broker let the probe in far enough to read the
 *   metadata (or every refusal it saw was of this kind and nothing else is wrong).
 */
export type AccessOutcome = 'auth-failed' | 'tls-failed';

export function isAccessOutcome(status: string): status is AccessOutcome {
  return status === 'auth-failed' || status === 'tls-failed';
}

export type MetadataMode = 'kraft' | 'zookeeper';

export interface BrokerObservation {
  id: number;
  /** Advertised host and port; '' and 0 when the broker is known only as a replica id. */
  host: string;
  port: number;
  /** Present in the cluster metadata (registered with the controller / ZooKeeper). */
  registered: boolean;
  /**
   * Answered on its advertised listener within the timeout: an ApiVersions answer, or a definite
   * TLS or SASL refusal of the probe (then `access` says which: the broker process is alive).
   */
  reachable: boolean;
  /** The broker refused the probe's TLS handshake or credentials: the observer's failure, not the broker's. */
  access?: AccessOutcome;
  latencyMs?: number;
  error?: string;
}

/** What the probe learned about the cluster's listener security (present when it probed with TLS or SASL). */
export interface SecurityObservation {
  tls: boolean;
  /** The SASL mechanism spoken on the wire (AWS_MSK_IAM travels as OAUTHBEARER). */
  sasl?: string;
  /** Every listener (host:port) that refused the probe, with why. */
  refused: { server: string; outcome: AccessOutcome; error: string }[];
  /** The certificate each TLS listener presented: expiry, days left at takenAt (negative: expired). */
  certificates: { server: string; brokerId?: number; subject?: string; notAfter: string; daysToExpiry: number }[];
  /** The fewest days to expiry among those certificates; null when none was read. */
  minDaysToExpiry: number | null;
}

export interface ControllerObservation {
  /** The active controller's broker id when knowable (ZooKeeper mode), else null. */
  id: number | null;
  known: boolean;
  note: string;
}

/**
 * One partition that is offline, under-replicated or under its min ISR, judged on the live ISR:
 * the metadata's ISR minus brokers confirmed unreachable by this probe (the metadata lags behind
 * a hung broker's session timeout, and does not change at all while the KRaft quorum is lost).
 */
export interface PartitionDetail {
  topic: string;
  partition: number;
  /** Leader broker id per the metadata, -1 when the partition has no leader (offline). */
  leader: number;
  replicas: number[];
  isr: number[];
  offlineReplicas: number[];
  /** Effective min.insync.replicas for the topic (topic config, else broker default, else 1). */
  minIsr: number;
  /**
   * ISR members (per the metadata) that did not answer the probe. They do not count: a partition
   * is judged on isr minus these (a silent leader leaves it under-replicated, and offline only
   * once the metadata no longer lists that leader).
   */
  unreachableIsr?: number[];
  /**
   * The metadata names a leader that it still lists but that did not answer the probe (crashed or
   * hung, not yet fenced; or the quorum is lost and nothing can be fenced): clients cannot use the
   * partition, yet Kafka does not count it offline. Absent otherwise.
   */
  leaderUnreachable?: true;
}

export interface PartitionSummary {
  total: number;
  /**
   * Partitions Kafka itself counts offline (OfflinePartitionsCount): no leader, or a leader the
   * metadata no longer lists. A leader that is listed but silent is counted in leaderUnreachable.
   */
  offline: number;
  /**
   * Partitions whose listed leader did not answer (unavailable to clients until the controller
   * fences it and elects another; under-replicated too). Absent in snapshots built before the
   * field existed: read it as 0.
   */
  leaderUnreachable?: number;
  underReplicated: number;
  underMinIsr: number;
  /** Only the unhealthy partitions, sorted by topic then partition. */
  details: PartitionDetail[];
  /**
   * Per broker that is the preferred leader (first replica) of at least one partition: how many
   * it is preferred for, and how many of those it does not lead (what a preferred leader election
   * moves back). Kafka judges leader balance this way (leader.imbalance.per.broker.percentage).
   * Absent in snapshots built before the field existed.
   */
  preferredLeaders?: Record<number, PreferredLeadership>;
}

export interface PreferredLeadership {
  preferredFor: number;
  notLed: number;
}

export interface BrokerPartitionCounts {
  /** Partitions this broker leads (per the metadata). */
  leaderFor: number;
  /** Partitions this broker holds a replica of (led or followed). */
  replicaFor: number;
  /** Under-replicated partitions this broker holds a replica of. */
  underReplicated: number;
  /** Offline partitions this broker holds a replica of. */
  offline: number;
  /**
   * Partitions whose ISR contains this broker and would fall below their min ISR without it
   * (ISR size - 1 < minIsr): restarting this broker while it is live would hurt them.
   */
  isrCritical: number;
}

export interface PartitionLag {
  topic: string;
  partition: number;
  /** The group's committed offset; null when the group has no commit for the partition. */
  committedOffset: number | null;
  /** Log end offset (high watermark). */
  endOffset: number;
  /** endOffset - committedOffset, never negative; for no commit, endOffset (all unread). */
  lag: number;
}

export interface ConsumerGroupLag {
  group: string;
  /** Group state as the coordinator reports it (Stable, Empty, Dead, PreparingRebalance...). */
  state?: string;
  /** Active members when the coordinator answered describeGroups. */
  members?: number;
  totalLag: number;
  partitions: PartitionLag[];
  /** Set when the group's offsets could not be read. */
  error?: string;
}

export interface ClusterSnapshot {
  /** When the probe started (ISO 8601). */
  takenAt: string;
  durationMs: number;
  status: SnapshotStatus;
  bootstrapReachable: boolean;
  expectedBrokers?: number;
  /** Metadata mode as detected from ApiVersions (or given), undefined when no broker answered. */
  metadataMode?: MetadataMode;
  /** Broker ids present in the cluster metadata, ascending. */
  registeredBrokers: number[];
  /** Every broker known from metadata or as a replica, ascending by id. */
  brokers: BrokerObservation[];
  controller: ControllerObservation;
  partitions: PartitionSummary;
  perBroker: Record<number, BrokerPartitionCounts>;
  consumerGroups: ConsumerGroupLag[];
  /** Everything that failed or timed out, one line each, for people and the timeline. */
  errors: string[];
  /** TLS and SASL: what was refused and which certificates were seen (absent for a plaintext probe). */
  security?: SecurityObservation;
  /** KRaft: the metadata quorum as DescribeQuorum described it (absent in ZooKeeper mode, or when no broker answered). */
  quorum?: QuorumObservation;
}

/**
 * The KRaft metadata quorum, asked through a broker (DescribeQuorum v1, forwarded to the active
 * controller; the probe's principal needs DESCRIBE on CLUSTER).
 * - led: the quorum named a leader (the active controller, leaderId).
 * - leaderless: the broker answered the probe but the quorum named no leader, answered with an
 *   error, or gave no answer within the step bound (a broker forwards the request to the active
 *   controller; with none, it waits): no active controller.
 * - unknown: the quorum could not be asked (Kafka before 3.3, DESCRIBE on CLUSTER not granted,
 *   the connection lost): says nothing either way, and no quorum metric is published.
 */
export interface QuorumObservation {
  state: 'led' | 'leaderless' | 'unknown';
  leaderId: number | null;
  leaderEpoch?: number;
  /** Each voter: its lag behind the leader's high watermark in metadata records. */
  voters: { id: number; lag: number }[];
  /** The largest voter lag (records); null when not led. */
  maxVoterLag: number | null;
  note: string;
}
