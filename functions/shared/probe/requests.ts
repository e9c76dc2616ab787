// The probe's read-only Kafka requests: encoders and decoders for one version each (see wire.ts
// for why these versions). Each function sends one request on an open connection and returns
// plain data; Kafka error codes become KafkaProtocolError or per-item error fields.
import { API, KafkaProtocolError, Writer, type BrokerConnection, type Reader } from './wire.js';

const LEADER_AND_ISR_KEY = 4;

/** The request versions this module sends, by API key (checked against real brokers in tests). */
export const REQUEST_VERSIONS: Record<number, number> = {
  [API.ApiVersions]: 0,
  [API.Metadata]: 5,
  [API.ListOffsets]: 4,
  [API.OffsetFetch]: 2,
  [API.FindCoordinator]: 1,
  [API.DescribeGroups]: 1,
  [API.DescribeConfigs]: 1,
  [API.SaslHandshake]: 1,
  [API.SaslAuthenticate]: 1,
};

export interface ApiVersionRange {
  key: number;
  min: number;
  max: number;
}

/** ApiVersions v0: the liveness check (needs an answer, not just a TCP handshake). */
export async function apiVersions(
  conn: BrokerConnection,
  timeoutMs: number,
): Promise<{ errorCode: number; apis: ApiVersionRange[] }> {
  const r = await conn.request(API.ApiVersions, 0, Buffer.alloc(0), timeoutMs);
  const errorCode = r.int16();
  const apis = r.array((x) => ({ key: x.int16(), min: x.int16(), max: x.int16() }));
  return { errorCode, apis };
}

/**
 * ZooKeeper-mode brokers advertise the controller-to-broker API LeaderAndIsr (key 4) on their
 * listeners; KRaft brokers never do (Kafka 4 removed it).
 */
export function isZooKeeperMode(apis: ApiVersionRange[]): boolean {
  return apis.some((a) => a.key === LEADER_AND_ISR_KEY);
}

export interface MetadataBroker {
  id: number;
  host: string;
  port: number;
}

export interface MetadataPartition {
  errorCode: number;
  partition: number;
  leader: number;
  replicas: number[];
  isr: number[];
  offlineReplicas: number[];
}

export interface MetadataTopic {
  errorCode: number;
  name: string;
  internal: boolean;
  partitions: MetadataPartition[];
}

export interface Metadata {
  brokers: MetadataBroker[];
  clusterId: string | null;
  controllerId: number;
  topics: MetadataTopic[];
}

/** Metadata v5 for all topics; keeps per-partition error codes instead of failing on them. */
export async function metadata(conn: BrokerConnection, timeoutMs: number): Promise<Metadata> {
  const body = new Writer()
    .array<string>(null, (w, t) => w.string(t))
    .bool(false)
    .build();
  const r = await conn.request(API.Metadata, 5, body, timeoutMs);
  r.int32(); // throttle
  const brokers = r.array((x) => {
    const id = x.int32();
    const host = x.string() ?? '';
    const port = x.int32();
    x.string(); // rack
    return { id, host, port };
  });
  const clusterId = r.string();
  const controllerId = r.int32();
  const ints = (x: Reader) => x.array((y) => y.int32());
  const topics = r.array((x) => ({
    errorCode: x.int16(),
    name: x.string() ?? '',
    internal: x.bool(),
    partitions: x.array((y) => ({
      errorCode: y.int16(),
      partition: y.int32(),
      leader: y.int32(),
      replicas: ints(y),
      isr: ints(y),
      offlineReplicas: ints(y),
    })),
  }));
  return { brokers, clusterId, controllerId, topics };
}

/**
 * ListOffsets v4 with timestamp -1: the log end offset of each partition this broker leads.
 * (every broker since Kafka 2.1 serves v4).
 */
export async function latestOffsets(
  conn: BrokerConnection,
  partitions: { topic: string; partition: number }[],
  timeoutMs: number,
): Promise<{ topic: string; partition: number; errorCode: number; offset: number }[]> {
  const byTopic = groupByTopic(partitions);
  const body = new Writer()
    .int32(-1) // replica id: a client
    .int8(0) // isolation level: read uncommitted (the high watermark)
    .array([...byTopic], (w, [topic, ps]) => {
      w.string(topic).array(ps, (w2, p) => w2.int32(p).int32(-1).int64(-1n)); // no leader epoch, latest
    })
    .build();
  const r = await conn.request(API.ListOffsets, 4, body, timeoutMs);
  r.int32(); // throttle
  const out: { topic: string; partition: number; errorCode: number; offset: number }[] = [];
  r.array((x) => {
    const topic = x.string() ?? '';
    x.array((y) => {
      const partition = y.int32();
      const errorCode = y.int16();
      y.int64(); // timestamp
      const offset = y.int64();
      y.int32(); // leader epoch
      out.push({ topic, partition, errorCode, offset });
    });
  });
  return out;
}

/** FindCoordinator v1 for a consumer group. */
export async function findGroupCoordinator(
  conn: BrokerConnection,
  group: string,
  timeoutMs: number,
): Promise<MetadataBroker> {
  const r = await conn.request(API.FindCoordinator, 1, new Writer().string(group).int8(0).build(), timeoutMs);
  r.int32(); // throttle
  const errorCode = r.int16();
  const message = r.string();
  const id = r.int32();
  const host = r.string() ?? '';
  const port = r.int32();
  if (errorCode !== 0)
    throw new KafkaProtocolError(
      `FindCoordinator for group ${group}: error ${errorCode}${message ? ` (${message})` : ''}`,
      errorCode,
    );
  return { id, host, port };
}

/** OffsetFetch v2 with null topics: every committed offset of the group. */
export async function committedOffsets(
  conn: BrokerConnection,
  group: string,
  timeoutMs: number,
): Promise<{ topic: string; partition: number; offset: number; errorCode: number }[]> {
  const body = new Writer()
    .string(group)
    .array<string>(null, (w, t) => w.string(t))
    .build();
  const r = await conn.request(API.OffsetFetch, 2, body, timeoutMs);
  const out: { topic: string; partition: number; offset: number; errorCode: number }[] = [];
  r.array((x) => {
    const topic = x.string() ?? '';
    x.array((y) => {
      const partition = y.int32();
      const offset = y.int64();
      y.string(); // metadata
      out.push({ topic, partition, offset, errorCode: y.int16() });
    });
  });
  const errorCode = r.int16();
  if (errorCode !== 0) throw new KafkaProtocolError(`OffsetFetch for group ${group}: error ${errorCode}`, errorCode);
  return out;
}

/** DescribeGroups v1: state and member count. */
export async function describeGroup(
  conn: BrokerConnection,
  group: string,
  timeoutMs: number,
): Promise<{ state: string; members: number }> {
  const body = new Writer().array([group], (w, g) => w.string(g)).build();
  const r = await conn.request(API.DescribeGroups, 1, body, timeoutMs);
  r.int32(); // throttle
  const groups = r.array((x) => {
    const errorCode = x.int16();
    x.string(); // group id
    const state = x.string() ?? '';
    x.string(); // protocol type
    x.string(); // protocol
    const members = x.array((y) => {
      y.string();
      y.string();
      y.string();
      y.bytes();
      y.bytes();
      return 1;
    }).length;
    return { errorCode, state, members };
  });
  const g = groups[0];
  if (!g) throw new Error(`DescribeGroups for group ${group}: empty answer`);
  if (g.errorCode !== 0)
    throw new KafkaProtocolError(`DescribeGroups for group ${group}: error ${g.errorCode}`, g.errorCode);
  return { state: g.state, members: g.members };
}

export const RESOURCE_TOPIC = 2;
export const RESOURCE_BROKER = 4;

/** DescribeConfigs v1 for some keys of many resources; returns name -> key -> value. */
export async function describeConfigs(
  conn: BrokerConnection,
  resources: { type: number; name: string }[],
  keys: string[],
  timeoutMs: number,
): Promise<Map<string, { errorCode: number; values: Map<string, string | null> }>> {
  const body = new Writer()
    .array(resources, (w, res) => {
      w.int8(res.type)
        .string(res.name)
        .array(keys, (w2, k) => w2.string(k));
    })
    .bool(false)
    .build();
  const r = await conn.request(API.DescribeConfigs, 1, body, timeoutMs);
  r.int32(); // throttle
  const out = new Map<string, { errorCode: number; values: Map<string, string | null> }>();
  r.array((x) => {
    const errorCode = x.int16();
    x.string(); // error message
    x.int8(); // resource type
    const name = x.string() ?? '';
    const values = new Map<string, string | null>();
    x.array((y) => {
      const key = y.string() ?? '';
      const value = y.string();
      y.bool(); // read only
      y.int8(); // source
      y.bool(); // sensitive
      y.array((z) => {
        z.string();
        z.string();
        z.int8();
      });
      values.set(key, value);
    });
    out.set(name, { errorCode, values });
  });
  return out;
}

function groupByTopic(partitions: { topic: string; partition: number }[]): Map<string, number[]> {
  const m = new Map<string, number[]>();
  for (const p of partitions) {
    const list = m.get(p.topic) ?? [];
    list.push(p.partition);
    m.set(p.topic, list);
  }
  return m;
}

/** SaslHandshake v1: asks for a mechanism; the broker lists the ones it enables. */
export async function saslHandshake(
  send: BrokerConnection['send'],
  mechanism: string,
  timeoutMs: number,
): Promise<{ errorCode: number; mechanisms: string[] }> {
  const r = await send(API.SaslHandshake, 1, new Writer().string(mechanism).build(), timeoutMs);
  const errorCode = r.int16();
  const mechanisms = r.array((x) => x.string() ?? '');
  return { errorCode, mechanisms };
}

export interface SaslAuthenticateAnswer {
  errorCode: number;
  errorMessage: string | null;
  authBytes: Buffer;
  /** 0 when the broker sets no session lifetime (connections.max.reauth.ms unset). */
  sessionLifetimeMs: number;
}

/** SaslAuthenticate v1: one round of the mechanism's exchange. */
export async function saslAuthenticate(
  send: BrokerConnection['send'],
  authBytes: Buffer,
  timeoutMs: number,
): Promise<SaslAuthenticateAnswer> {
  const r = await send(API.SaslAuthenticate, 1, new Writer().bytes(authBytes).build(), timeoutMs);
  const errorCode = r.int16();
  const errorMessage = r.string();
  const bytes = r.bytes() ?? Buffer.alloc(0);
  const sessionLifetimeMs = r.int64();
  return { errorCode, errorMessage, authBytes: Buffer.from(bytes), sessionLifetimeMs };
}

/** KRaft's metadata log: the one partition DescribeQuorum is asked about. */
export const METADATA_TOPIC = '__cluster_metadata';
/** DescribeQuorum v1 (KIP-836, Kafka 3.3+: brokers forward it to the active controller). */
export const DESCRIBE_QUORUM_VERSION = 1;

export interface QuorumReplica {
  replicaId: number;
  logEndOffset: number;
  /** Leader's clock, ms since the epoch; -1 when unknown. */
  lastCaughtUpTimestamp: number;
}

export interface QuorumDescription {
  leaderId: number;
  leaderEpoch: number;
  highWatermark: number;
  voters: QuorumReplica[];
  observers: QuorumReplica[];
}

/**
 * DescribeQuorum v1 for the metadata partition. A top-level or partition error code becomes a
 * KafkaProtocolError (CLUSTER_AUTHORIZATION_FAILED 31: the principal lacks DESCRIBE on CLUSTER).
 */
export async function describeQuorum(conn: BrokerConnection, timeoutMs: number): Promise<QuorumDescription> {
  const body = new Writer()
    .compactArray([METADATA_TOPIC], (w, t) =>
      w
        .compactString(t)
        .compactArray([0], (p, i) => p.int32(i).noTags())
        .noTags(),
    )
    .noTags()
    .build();
  const r = await conn.request(API.DescribeQuorum, DESCRIBE_QUORUM_VERSION, body, timeoutMs, true);
  const errorCode = r.int16();
  if (errorCode !== 0) throw new KafkaProtocolError(`DescribeQuorum failed with error code ${errorCode}`, errorCode);
  const replica = (x: Reader): QuorumReplica => {
    const replicaId = x.int32();
    const logEndOffset = x.int64();
    x.int64(); // last fetch timestamp
    const lastCaughtUpTimestamp = x.int64();
    x.skipTags();
    return { replicaId, logEndOffset, lastCaughtUpTimestamp };
  };
  const partitions = r
    .compactArray((t) => {
      t.compactString();
      const parts = t.compactArray((x) => {
        x.int32(); // partition index
        const code = x.int16();
        const leaderId = x.int32();
        const leaderEpoch = x.int32();
        const highWatermark = x.int64();
        const voters = x.compactArray(replica);
        const observers = x.compactArray(replica);
        x.skipTags();
        return { code, leaderId, leaderEpoch, highWatermark, voters, observers };
      });
      t.skipTags();
      return parts;
    })
    .flat();
  const p = partitions[0];
  if (!p) throw new Error('DescribeQuorum answered without the metadata partition');
  if (p.code !== 0)
    throw new KafkaProtocolError(`DescribeQuorum failed for ${METADATA_TOPIC}-0 with error code ${p.code}`, p.code);
  return {
    leaderId: p.leaderId,
    leaderEpoch: p.leaderEpoch,
    highWatermark: p.highWatermark,
    voters: p.voters,
    observers: p.observers,
  };
}
