// The cluster probe: one bounded-time, read-only snapshot of a Kafka cluster, shared by the probe
// Lambda (scheduled), the workflows' confirm/verify steps, the CLI and the local runtime.
//
// Steps, each under its own timeout and all under the whole-probe bound `timeoutMs`:
//   1. every bootstrap server: TCP connect (and the TLS handshake of a secured listener) +
//      ApiVersions (liveness needs an answer; a hung broker still completes the TCP handshake),
//      then SASL authentication when configured. The first ready server starts step 2 at once.
//      A TLS or SASL refusal is recorded as such (tls-failed / auth-failed): the broker answered.
//   2. Metadata (all topics) from that broker: registered brokers, partitions, controller id.
//   3. in parallel: the same on every registered broker's advertised listener (reachability,
//      metadata mode); min.insync.replicas of every topic (DescribeConfigs, falling back to the
//      broker's own value, then 1); per watched consumer group: coordinator, state, committed
//      offsets, and the end offsets of those partitions from their leaders; in KRaft mode the
//      metadata quorum (DescribeQuorum through the first broker: leader, voters' lag).
// When the bound expires, whatever was learned so far becomes the snapshot, with the missing parts
// in `errors` and status 'unknown' (or 'down' when nothing answered). Connections are closed in
// `finally`; no timer outlives the probe; no failure escapes as a rejection.
import { performance } from 'node:perf_hooks';
import type {
  BrokerObservation,
  ClusterSnapshot,
  ConsumerGroupLag,
  ControllerObservation,
  MetadataMode,
  PartitionLag,
  QuorumObservation,
} from '#domain/snapshot.js';
import { knownBrokerIds, summarizePartitions, verdict, type RawPartition } from './analyze.js';
import { Deadline, errorText, withTimeout } from './deadline.js';
import { authenticate, type SaslSettings } from './sasl.js';
import {
  DESCRIBE_QUORUM_VERSION,
  RESOURCE_BROKER,
  RESOURCE_TOPIC,
  apiVersions,
  describeQuorum,
  committedOffsets,
  describeConfigs,
  describeGroup,
  findGroupCoordinator,
  isZooKeeperMode,
  latestOffsets,
  metadata,
  type ApiVersionRange,
  type Metadata,
  type QuorumDescription,
} from './requests.js';
import {
  API,
  BrokerConnection,
  KafkaProtocolError,
  ProbeAccessError,
  TlsHandshakeError,
  type PeerCertificate,
  type TlsSettings,
} from './wire.js';
import type { AccessOutcome, SecurityObservation } from '#domain/snapshot.js';

export type { ClusterSnapshot } from '#domain/snapshot.js';
export type { SaslSettings } from './sasl.js';
export { ProbeAccessError, SaslAuthenticationError, TlsHandshakeError, type TlsSettings } from './wire.js';
export { mskIamTokenProvider, type MskIamTokenOptions } from './msk-iam.js';
export { describeProblems } from './analyze.js';
// The wire-level pieces the DR cluster steps read topics with; they reach the Lambda through the
// layer like the probe itself, so no bundle carries a second copy of the protocol code.
export { latestOffsets, metadata } from './requests.js';
export { BrokerConnection, Writer } from './wire.js';

export interface ConsumerGroupWatch {
  group: string;
  /** Only these topics count for the group's lag; all committed topics when absent. */
  topics?: string[];
}

/** How the probe reaches a secured listener: TLS (`tls: {}` is TLS with the system trust store), SASL, or both. */
export interface ProbeSecurity {
  tls?: TlsSettings;
  sasl?: SaslSettings;
}

export interface ProbeOptions {
  bootstrapServers: string[];
  /**
   * The listener's security, or a loader for it (secrets read at run time). A loader that throws
   * is the probe's own failure: the snapshot says auth-failed (or tls-failed for a
   * ProbeAccessError of that outcome), never down.
   */
  security?: ProbeSecurity | (() => Promise<ProbeSecurity>);
  expectedBrokers?: number;
  consumerGroups?: (string | ConsumerGroupWatch)[];
  /** Bound for the whole probe (default 5000 ms). */
  timeoutMs?: number;
  /** Bound for one network step (connect or one request); default min(2500, timeoutMs / 2). */
  stepTimeoutMs?: number;
  /** Wall clock for takenAt (injected in tests); budgets use a monotonic clock. */
  now?: () => number;
  /** Skip detection: the configured mode wins over what ApiVersions suggests. */
  metadataMode?: MetadataMode;
}

export const DEFAULT_PROBE_TIMEOUT_MS = 5000;
const MIN_ISR_KEY = 'min.insync.replicas';
/** COORDINATOR_LOAD_IN_PROGRESS, COORDINATOR_NOT_AVAILABLE, NOT_COORDINATOR. */
const COORDINATOR_MOVING = new Set([14, 15, 16]);
const KRAFT_NOTE = 'KRaft: quorum leader not exposed to clients';

/** Thrown for a bootstrap server that is not host:port. */
export class BootstrapFormatError extends Error {
  override readonly name = 'BootstrapFormatError';
}

export function parseHostPort(server: string): { host: string; port: number } {
  const m = /^\[?([^\]]+?)\]?:(\d{1,5})$/.exec(server.trim());
  const port = m ? Number(m[2]) : NaN;
  if (!m || !m[1] || port < 1 || port > 65535)
    throw new BootstrapFormatError(`bootstrap server "${server}" is not host:port`);
  return { host: m[1], port };
}

/** What one probe has learned so far; turned into a snapshot at the end or at the deadline. */
class Findings {
  bootstrapReachable = false;
  meta: Metadata | undefined;
  mode: MetadataMode | undefined;
  readonly reach = new Map<string, { ok: boolean; latencyMs?: number; error?: string }>();
  readonly minIsr = new Map<string, number>();
  brokerMinIsr: number | undefined;
  readonly groups = new Map<string, ConsumerGroupLag>();
  readonly errors: string[] = [];
  /** Listeners (host:port) that refused the probe's TLS handshake or credentials. */
  readonly refused = new Map<string, { outcome: AccessOutcome; error: string }>();
  /** The certificate each TLS listener presented. */
  readonly certificates = new Map<string, PeerCertificate>();
  /** Sessions established (TLS done, ApiVersions answered, authenticated). */
  sessions = 0;
  /** Listeners that reset or closed the connection with no TLS word (TlsHandshakeError.ambiguous). */
  readonly resets = new Map<string, string>();
  quorum: QuorumObservation | undefined;
}

/**
 * A listener that resets the connection with no TLS word refused the probe (a plaintext listener,
 * a refused client certificate) only when no listener let the probe in: if one did, the cluster
 * speaks what the probe speaks, and the reset is a broker crashing or shutting down (unreachable).
 */
function settleResets(f: Findings, servers: { host: string; port: number }[]): void {
  if (f.sessions > 0 || f.resets.size === 0) return;
  for (const [key, error] of f.resets) {
    f.refused.set(key, { outcome: 'tls-failed', error });
    f.reach.set(key, { ok: true, error });
  }
  if (servers.some((s) => f.resets.has(`${s.host}:${s.port}`))) f.bootstrapReachable = true;
  f.resets.clear();
}

export async function probeCluster(opts: ProbeOptions): Promise<ClusterSnapshot> {
  const wall = opts.now ?? Date.now;
  const takenAt = wall();
  const mono = () => performance.now();
  const startedMono = mono();
  const timeoutMs = opts.timeoutMs ?? DEFAULT_PROBE_TIMEOUT_MS;
  // Keep a small reserve so closing connections and building the answer fit in the bound.
  const deadline = new Deadline(startedMono + Math.max(50, timeoutMs - 100), mono);
  const stepMs = opts.stepTimeoutMs ?? Math.min(2500, Math.max(50, Math.floor(timeoutMs / 2)));
  const f = new Findings();
  if (opts.metadataMode) f.mode = opts.metadataMode;
  let security: ProbeSecurity | undefined | null;
  let pool: ConnectionPool | undefined;
  let servers: { host: string; port: number }[] = [];
  try {
    servers = opts.bootstrapServers.map(parseHostPort);
    security = await loadSecurity(opts.security, f, deadline);
    if (security !== null) {
      pool = new ConnectionPool(deadline, stepMs, security ?? {}, f);
      await withTimeout(run(opts, servers, f, pool, deadline, stepMs), deadline.remaining(), 'probe');
    }
  } catch (err) {
    f.errors.push(errorText(err));
  } finally {
    pool?.closeAll();
  }
  settleResets(f, servers);
  return buildSnapshot(opts, f, takenAt, Math.round(mono() - startedMono), security ?? undefined);
}

/** The security settings, loaded if need be; null (and the refusal recorded) when they cannot be. */
async function loadSecurity(
  given: ProbeOptions['security'],
  f: Findings,
  deadline: Deadline,
): Promise<ProbeSecurity | undefined | null> {
  if (typeof given !== 'function') return given;
  try {
    return await withTimeout(given(), deadline.remaining(), "loading the probe's TLS material and credentials");
  } catch (err) {
    const outcome = err instanceof ProbeAccessError ? err.outcome : 'auth-failed';
    const error = `the probe could not load its ${outcome === 'tls-failed' ? 'TLS material' : 'credentials'}: ${errorText(err)}`;
    f.refused.set('probe credentials', { outcome, error });
    f.errors.push(error);
    return null;
  }
}

/**
 * One connection to one broker for callers outside the probe (the DR steps' topic reads): TLS when
 * configured, SASL authenticated, re-authenticated when the broker asks. A refusal rejects with a
 * ProbeAccessError.
 */
export async function connectBroker(
  host: string,
  port: number,
  timeoutMs: number,
  security: ProbeSecurity = {},
): Promise<BrokerConnection> {
  const conn = await BrokerConnection.open(host, port, timeoutMs, security.tls);
  const sasl = security.sasl;
  if (sasl) {
    try {
      const lifetime = await authenticate(conn, (...a) => conn.send(...a), sasl, timeoutMs);
      conn.whenReauthenticationDue(lifetime, (send) => authenticate(conn, send, sasl, timeoutMs));
    } catch (err) {
      conn.close();
      throw err;
    }
  }
  return conn;
}

/** An open, ready connection: TLS done, ApiVersions answered, SASL authenticated. */
interface Session {
  conn: BrokerConnection;
  apis: ApiVersionRange[];
  /** From the start of the connect to the ApiVersions answer: what a broker's latency means. */
  answeredMs: number;
}

class ConnectionPool {
  private readonly sessions = new Map<string, Promise<Session>>();
  private closed = false;

  constructor(
    private readonly deadline: Deadline,
    private readonly stepMs: number,
    private readonly security: ProbeSecurity,
    private readonly f: Findings,
  ) {}

  session(host: string, port: number): Promise<Session> {
    if (this.closed) return Promise.reject(new Error('probe finished'));
    const key = `${host}:${port}`;
    let s = this.sessions.get(key);
    if (!s) {
      s = this.establish(host, port);
      s.catch(() => undefined);
      this.sessions.set(key, s);
    }
    return s;
  }

  get(host: string, port: number): Promise<BrokerConnection> {
    return this.session(host, port).then((s) => s.conn);
  }

  /**
   * Connect (TLS when configured), ApiVersions (liveness: allowed before authentication), then
   * SASL. A listener that refuses TLS or SASL is recorded as a refusal: it answered.
   */
  private async establish(host: string, port: number): Promise<Session> {
    const key = `${host}:${port}`;
    const started = performance.now();
    const { tls, sasl } = this.security;
    let conn: BrokerConnection | undefined;
    try {
      conn = await BrokerConnection.open(host, port, this.deadline.budget(this.stepMs), tls);
      if (conn.peerCertificate) this.f.certificates.set(key, conn.peerCertificate);
      const answer = await apiVersions(conn, this.deadline.budget(this.stepMs));
      const answeredMs = Math.round(performance.now() - started);
      if (sasl) {
        const c = conn;
        const lifetime = await authenticate(c, (...a) => c.send(...a), sasl, this.deadline.budget(this.stepMs));
        c.whenReauthenticationDue(lifetime, (send) => authenticate(c, send, sasl, this.stepMs));
      }
      this.f.sessions++;
      return { conn, apis: answer.apis, answeredMs };
    } catch (err) {
      const certificate = conn?.peerCertificate ?? (err instanceof TlsHandshakeError ? err.peerCertificate : undefined);
      if (certificate) this.f.certificates.set(key, certificate);
      if (err instanceof TlsHandshakeError && err.ambiguous) this.f.resets.set(key, err.message);
      else if (err instanceof ProbeAccessError) this.f.refused.set(key, { outcome: err.outcome, error: err.message });
      conn?.close();
      throw err;
    }
  }

  closeAll(): void {
    this.closed = true;
    for (const s of this.sessions.values())
      s.then(
        (x) => x.conn.close(),
        () => undefined,
      );
  }
}

async function checkListener(host: string, port: number, f: Findings, pool: ConnectionPool): Promise<Session> {
  const key = `${host}:${port}`;
  try {
    const s = await pool.session(host, port);
    f.reach.set(key, { ok: true, latencyMs: s.answeredMs });
    if (!f.mode) f.mode = isZooKeeperMode(s.apis) ? 'zookeeper' : 'kraft';
    return s;
  } catch (err) {
    const msg = errorText(err);
    // A refusal is an answer: the broker is alive; the refusal itself is reported as such. A reset
    // with no TLS word counts as silence unless nothing let the probe in (settleResets).
    if (err instanceof ProbeAccessError && !(err instanceof TlsHandshakeError && err.ambiguous))
      f.reach.set(key, { ok: true, error: msg });
    else f.reach.set(key, { ok: false, error: /no answer/.test(msg) ? `${msg} (TCP accepted: broker hung?)` : msg });
    throw err;
  }
}

async function run(
  opts: ProbeOptions,
  servers: { host: string; port: number }[],
  f: Findings,
  pool: ConnectionPool,
  deadline: Deadline,
  stepMs: number,
): Promise<void> {
  // 1. Bootstrap: the first server that answers is used for the cluster-wide reads.
  const checks = servers.map((s) => checkListener(s.host, s.port, f, pool));
  let seedSession: Session;
  try {
    seedSession = await Promise.any(checks);
  } catch {
    const detail = servers.map(
      (s) => `${s.host}:${s.port}: ${f.reach.get(`${s.host}:${s.port}`)?.error ?? 'no answer'}`,
    );
    // A listener that refused the probe answered: the cluster is there, the probe is not let in.
    const refused = servers.some((s) => f.refused.has(`${s.host}:${s.port}`) || f.resets.has(`${s.host}:${s.port}`));
    f.bootstrapReachable = servers.some((s) => f.refused.has(`${s.host}:${s.port}`));
    f.errors.push(
      `${refused ? 'no bootstrap server let the probe in' : 'no bootstrap server answered'} (${detail.join('; ')})`,
    );
    return;
  }
  f.bootstrapReachable = true;
  const seed = seedSession.conn;

  // 2. Metadata.
  let meta: Metadata;
  try {
    meta = await metadata(seed, deadline.budget(stepMs));
  } catch (err) {
    f.errors.push(`metadata: ${errorText(err)}`);
    await Promise.allSettled(checks);
    return;
  }
  f.meta = meta;

  // 3. Reachability of every registered broker, configs, consumer groups, all in parallel.
  const reachability = meta.brokers.map((b) =>
    f.reach.has(`${b.host}:${b.port}`)
      ? Promise.resolve()
      : checkListener(b.host, b.port, f, pool).then(() => undefined),
  );
  await Promise.allSettled([
    Promise.allSettled(checks),
    Promise.allSettled(reachability),
    readMinIsr(meta, seed, f, pool, deadline, stepMs),
    f.mode === 'kraft' ? readQuorum(seedSession, f, deadline, stepMs) : Promise.resolve(),
    ...(opts.consumerGroups ?? []).map((g) =>
      readGroup(typeof g === 'string' ? { group: g } : g, meta, seed, f, pool, deadline, stepMs),
    ),
  ]);
}

/** CLUSTER_AUTHORIZATION_FAILED, UNSUPPORTED_VERSION: the quorum was not asked, so nothing is known of it. */
const QUORUM_NOT_ASKED = new Map([
  [31, "the probe's principal may not describe the cluster (grant DESCRIBE on CLUSTER)"],
  [35, 'the broker does not serve DescribeQuorum v1'],
]);

/** KRaft: DescribeQuorum through the seed broker (see QuorumObservation for the reading). */
async function readQuorum(seed: Session, f: Findings, deadline: Deadline, stepMs: number): Promise<void> {
  const range = seed.apis.find((a) => a.key === API.DescribeQuorum);
  if (!range || range.min > DESCRIBE_QUORUM_VERSION || range.max < DESCRIBE_QUORUM_VERSION) {
    f.quorum = {
      state: 'unknown',
      leaderId: null,
      voters: [],
      maxVoterLag: null,
      note: 'the brokers do not serve DescribeQuorum v1 (Kafka 3.3 or later does)',
    };
    return;
  }
  const budget = deadline.budget(stepMs);
  try {
    f.quorum = quorumObservation(await describeQuorum(seed.conn, budget));
  } catch (err) {
    // Silence within a bound the probe's own deadline cut short says nothing of the controllers.
    f.quorum =
      budget < stepMs && /^no answer from/.test(errorText(err))
        ? {
            state: 'unknown',
            leaderId: null,
            voters: [],
            maxVoterLag: null,
            note: `the KRaft quorum could not be asked within the probe's remaining ${Math.round(budget)} ms`,
          }
        : quorumObservation(err);
  }
}

/** What a DescribeQuorum answer, or its failure, says of the KRaft quorum (QuorumObservation). */
export function quorumObservation(answer: QuorumDescription | unknown): QuorumObservation {
  const none = { leaderId: null, voters: [], maxVoterLag: null };
  if (!isQuorumDescription(answer)) {
    const msg = errorText(answer);
    const notAsked = answer instanceof KafkaProtocolError ? QUORUM_NOT_ASKED.get(answer.code) : undefined;
    // A broker that answered the probe forwards DescribeQuorum to the active controller: an error
    // code or silence from there means there is none. A lost connection means nothing.
    const leaderless = notAsked === undefined && (answer instanceof KafkaProtocolError || /^no answer from/.test(msg));
    return leaderless
      ? { state: 'leaderless', ...none, note: `no active KRaft controller answered: ${msg}` }
      : { state: 'unknown', ...none, note: `the KRaft quorum could not be asked: ${notAsked ?? msg}` };
  }
  if (answer.leaderId < 0)
    return {
      state: 'leaderless',
      ...none,
      leaderEpoch: answer.leaderEpoch,
      note: `the KRaft quorum has no leader (epoch ${answer.leaderEpoch})`,
    };
  const voters = answer.voters.map((v) => ({
    id: v.replicaId,
    lag: Math.max(0, answer.highWatermark - v.logEndOffset),
  }));
  const maxVoterLag = voters.reduce((mx, v) => Math.max(mx, v.lag), 0);
  return {
    state: 'led',
    leaderId: answer.leaderId,
    leaderEpoch: answer.leaderEpoch,
    voters,
    maxVoterLag,
    note: `KRaft quorum led by ${answer.leaderId} (epoch ${answer.leaderEpoch}), ${voters.length} voters, furthest ${maxVoterLag} records behind`,
  };
}

function isQuorumDescription(x: unknown): x is QuorumDescription {
  return typeof x === 'object' && x !== null && !(x instanceof Error) && 'leaderId' in x && 'voters' in x;
}

async function readMinIsr(
  meta: Metadata,
  seed: BrokerConnection,
  f: Findings,
  pool: ConnectionPool,
  deadline: Deadline,
  stepMs: number,
): Promise<void> {
  const topics = meta.topics.filter((t) => t.errorCode === 0).map((t) => ({ type: RESOURCE_TOPIC, name: t.name }));
  if (topics.length > 0) {
    try {
      const res = await describeConfigs(seed, topics, [MIN_ISR_KEY], deadline.budget(stepMs));
      for (const [name, r] of res) {
        const v = Number(r.values.get(MIN_ISR_KEY));
        if (r.errorCode === 0 && Number.isInteger(v) && v > 0) f.minIsr.set(name, v);
      }
      if (f.minIsr.size === topics.length) return;
    } catch (err) {
      f.errors.push(`topic configs: ${errorText(err)}`);
    }
  }
  // Fall back to a broker's own min.insync.replicas for topics whose config did not come back.
  for (const b of meta.brokers) {
    try {
      const conn = await pool.get(b.host, b.port);
      const res = await describeConfigs(
        conn,
        [{ type: RESOURCE_BROKER, name: String(b.id) }],
        [MIN_ISR_KEY],
        deadline.budget(stepMs),
      );
      const v = Number(res.get(String(b.id))?.values.get(MIN_ISR_KEY));
      if (Number.isInteger(v) && v > 0) {
        f.brokerMinIsr = v;
        return;
      }
    } catch (err) {
      f.errors.push(`broker ${b.id} config: ${errorText(err)}`);
    }
    if (deadline.expired()) return;
  }
}

async function readGroup(
  watch: ConsumerGroupWatch,
  meta: Metadata,
  seed: BrokerConnection,
  f: Findings,
  pool: ConnectionPool,
  deadline: Deadline,
  stepMs: number,
): Promise<void> {
  const entry: ConsumerGroupLag = { group: watch.group, totalLag: 0, partitions: [] };
  f.groups.set(watch.group, entry);
  try {
    // One fast retry when the coordinator moved or is still loading the group (a broker just
    // died or restarted): the only retry in the probe.
    const readFromCoordinator = async () => {
      const coord = await findGroupCoordinator(seed, watch.group, deadline.budget(stepMs));
      const conn = await pool.get(coord.host, coord.port);
      return Promise.all([
        describeGroup(conn, watch.group, deadline.budget(stepMs)).catch((err: unknown) => err as Error),
        committedOffsets(conn, watch.group, deadline.budget(stepMs)),
      ]);
    };
    let answer: Awaited<ReturnType<typeof readFromCoordinator>>;
    try {
      answer = await readFromCoordinator();
    } catch (err) {
      if (!(err instanceof KafkaProtocolError && COORDINATOR_MOVING.has(err.code)) || deadline.remaining() < 200)
        throw err;
      await new Promise((r) => setTimeout(r, 100));
      answer = await readFromCoordinator();
    }
    const [described, commits] = answer;
    let desc: { state: string; members: number } | undefined;
    if (described instanceof Error) f.errors.push(`group ${watch.group} describe: ${errorText(described)}`);
    else desc = described;
    if (desc) {
      entry.state = desc.state;
      entry.members = desc.members;
    }
    const wanted = watch.topics ? new Set(watch.topics) : undefined;
    const committed = new Map<string, number | null>();
    for (const c of commits) {
      if (wanted && !wanted.has(c.topic)) continue;
      committed.set(`${c.topic}\u0000${c.partition}`, c.errorCode === 0 && c.offset >= 0 ? c.offset : null);
    }
    // Watched topics count every partition, committed or not.
    for (const t of meta.topics) {
      if (!wanted?.has(t.name)) continue;
      for (const p of t.partitions) {
        const k = `${t.name}\u0000${p.partition}`;
        if (!committed.has(k)) committed.set(k, null);
      }
    }
    const leaders = leaderIndex(meta);
    const byLeader = new Map<number, { topic: string; partition: number }[]>();
    for (const k of committed.keys()) {
      const [topic = '', part = '0'] = k.split('\u0000');
      const partition = Number(part);
      const leader = leaders.get(k) ?? -1;
      if (leader < 0) {
        f.errors.push(`group ${watch.group}: ${topic}-${partition} has no leader; its end offset is unknown`);
        continue;
      }
      const list = byLeader.get(leader) ?? [];
      list.push({ topic, partition });
      byLeader.set(leader, list);
    }
    const ends = new Map<string, number>();
    await Promise.all(
      [...byLeader].map(async ([leader, parts]) => {
        const b = meta.brokers.find((x) => x.id === leader);
        try {
          if (!b) throw new Error(`leader ${leader} is not registered`);
          const lconn = await pool.get(b.host, b.port);
          for (const o of await latestOffsets(lconn, parts, deadline.budget(stepMs))) {
            if (o.errorCode === 0) ends.set(`${o.topic}\u0000${o.partition}`, o.offset);
            else f.errors.push(`group ${watch.group}: end offset of ${o.topic}-${o.partition}: error ${o.errorCode}`);
          }
        } catch (err) {
          f.errors.push(`group ${watch.group}: end offsets from broker ${leader}: ${errorText(err)}`);
        }
      }),
    );
    const partitions: PartitionLag[] = [];
    for (const [k, committedOffset] of committed) {
      const endOffset = ends.get(k);
      if (endOffset === undefined) continue;
      const [topic = '', part = '0'] = k.split('\u0000');
      const lag = Math.max(0, endOffset - (committedOffset ?? 0));
      partitions.push({ topic, partition: Number(part), committedOffset, endOffset, lag });
    }
    partitions.sort((a, b) => (a.topic === b.topic ? a.partition - b.partition : a.topic < b.topic ? -1 : 1));
    entry.partitions = partitions;
    entry.totalLag = partitions.reduce((s, p) => s + p.lag, 0);
  } catch (err) {
    entry.error = errorText(err);
    f.errors.push(`group ${watch.group}: ${entry.error}`);
  }
}

function leaderIndex(meta: Metadata): Map<string, number> {
  const m = new Map<string, number>();
  for (const t of meta.topics) for (const p of t.partitions) m.set(`${t.name}\u0000${p.partition}`, p.leader);
  return m;
}

const DAY_MS = 86_400_000;

function securityObservation(
  security: ProbeSecurity | undefined,
  f: Findings,
  takenAtMs: number,
  brokerAt: (server: string) => number | undefined,
): SecurityObservation | undefined {
  if (security?.tls === undefined && security?.sasl === undefined && f.refused.size === 0) return undefined;
  const certificates = [...f.certificates].map(([server, c]) => {
    const id = brokerAt(server);
    return {
      server,
      ...(id === undefined ? {} : { brokerId: id }),
      ...(c.subject === undefined ? {} : { subject: c.subject }),
      notAfter: new Date(c.notAfter).toISOString(),
      daysToExpiry: Math.round(((c.notAfter - takenAtMs) / DAY_MS) * 100) / 100,
    };
  });
  certificates.sort((a, b) => (a.server < b.server ? -1 : a.server > b.server ? 1 : 0));
  return {
    tls: security?.tls !== undefined,
    ...(security?.sasl ? { sasl: security.sasl.mechanism } : {}),
    refused: [...f.refused].map(([server, r]) => ({ server, outcome: r.outcome, error: r.error })),
    certificates,
    minDaysToExpiry: certificates.length === 0 ? null : Math.min(...certificates.map((c) => c.daysToExpiry)),
  };
}

function buildSnapshot(
  opts: ProbeOptions,
  f: Findings,
  takenAtMs: number,
  durationMs: number,
  security: ProbeSecurity | undefined,
): ClusterSnapshot {
  const takenAt = new Date(takenAtMs).toISOString();
  const meta = f.meta;
  const raw: RawPartition[] = [];
  for (const t of meta?.topics ?? []) {
    if (t.errorCode !== 0) {
      f.errors.push(`topic ${t.name}: metadata error ${t.errorCode}`);
      continue;
    }
    for (const p of t.partitions) {
      raw.push({
        topic: t.name,
        partition: p.partition,
        leader: p.leader,
        replicas: p.replicas,
        isr: p.isr,
        offlineReplicas: p.offlineReplicas,
      });
    }
  }
  const registeredBrokers = (meta?.brokers ?? []).map((b) => b.id).sort((a, b) => a - b);
  const ids = knownBrokerIds(registeredBrokers, raw);
  const brokers: BrokerObservation[] = ids.map((id) => {
    const b = meta?.brokers.find((x) => x.id === id);
    if (!b)
      return {
        id,
        host: '',
        port: 0,
        registered: false,
        reachable: false,
        error: 'not registered in cluster metadata',
      };
    const r = f.reach.get(`${b.host}:${b.port}`);
    const obs: BrokerObservation = { id, host: b.host, port: b.port, registered: true, reachable: r?.ok ?? false };
    const refusal = f.refused.get(`${b.host}:${b.port}`);
    if (refusal) {
      obs.access = refusal.outcome;
      obs.error = refusal.error;
    }
    if (r?.latencyMs !== undefined) obs.latencyMs = r.latencyMs;
    if (!r?.ok) obs.error = r?.error ?? 'not checked before the probe deadline';
    return obs;
  });
  const minIsrFor = (topic: string) => f.minIsr.get(topic) ?? f.brokerMinIsr ?? 1;
  // Confirmed dead: not registered, or registered and checked without an answer. A broker the
  // probe ran out of time to check is not counted against its partitions.
  const unreachable = new Set(
    brokers.filter((b) => !b.registered || f.reach.get(`${b.host}:${b.port}`)?.ok === false).map((b) => b.id),
  );
  const { summary, perBroker } = summarizePartitions(raw, minIsrFor, ids, unreachable, new Set(registeredBrokers));
  const controller: ControllerObservation =
    f.mode === 'zookeeper' && meta && meta.controllerId >= 0
      ? { id: meta.controllerId, known: true, note: 'ZooKeeper mode: active controller from metadata' }
      : f.mode === 'zookeeper'
        ? { id: null, known: false, note: 'ZooKeeper mode: no active controller in metadata' }
        : f.mode === 'kraft'
          ? { id: null, known: false, note: KRAFT_NOTE }
          : { id: null, known: false, note: 'metadata mode unknown: no broker answered' };
  const snapshot: ClusterSnapshot = {
    takenAt,
    durationMs,
    status: 'unknown',
    bootstrapReachable: f.bootstrapReachable,
    registeredBrokers,
    brokers,
    controller,
    partitions: summary,
    perBroker,
    consumerGroups: [...f.groups.values()].map((g) => ({ ...g, partitions: [...g.partitions] })),
    errors: [...f.errors],
  };
  if (opts.expectedBrokers !== undefined) snapshot.expectedBrokers = opts.expectedBrokers;
  if (f.mode) snapshot.metadataMode = f.mode;
  if (f.quorum) snapshot.quorum = f.quorum;
  const observed = securityObservation(
    security,
    f,
    takenAtMs,
    (server) => meta?.brokers.find((b) => `${b.host}:${b.port}` === server)?.id,
  );
  if (observed) snapshot.security = observed;
  snapshot.status = verdict({
    bootstrapReachable: f.bootstrapReachable,
    metadataRead: meta !== undefined,
    expectedBrokers: opts.expectedBrokers,
    registeredBrokers,
    brokers,
    partitions: summary,
    errors: f.errors,
    refused: [...f.refused.values()].map((r) => r.outcome),
  });
  return snapshot;
}
