// Reads the newest record of each partition of a topic without a consumer group: ListOffsets for
// the end offset, then one Fetch v4 of that last record from the partition leader. Used to read
// MirrorMaker 2's replicated heartbeats on the DR cluster (`<source>.heartbeats`, set to
// LogAppendTime there): the record timestamp is when DR appended it, the value holds when the
// source sent it, and the difference is the replication lag, readable even after the source
// site is gone. Read-only; nothing is committed, no group is created.
//
// Fetch v4 is the oldest version Kafka 4 still serves (KIP-896) and every broker since 0.11
// serves it; record batches are format v2 (magic 2). Compressed batches are refused: MM2's
// heartbeats are produced uncompressed by default.
import {
  Writer,
  connectBroker,
  latestOffsets,
  metadata,
  type BrokerConnection,
  type ProbeSecurity,
} from '@kafka-heal/probe';

const FETCH = 1;

export interface NewestRecord {
  topic: string;
  partition: number;
  offset: number;
  /** CreateTime (the producer's clock) or LogAppendTime (the broker's clock at append). */
  timestampType: 'CreateTime' | 'LogAppendTime';
  timestamp: number;
  value: Buffer | null;
}

/** A MirrorMaker 2 heartbeat's value: its Heartbeat struct, int16 version then int64 send time (ms). */
export function heartbeatSentAt(value: Buffer): number {
  if (value.length < 10) throw new TopicReadError(`a heartbeat value has 10 bytes, got ${value.length}`);
  return Number(value.readBigInt64BE(2));
}

/** Thrown when the topic cannot be read (missing, no leader, compressed, no answer). */
export class TopicReadError extends Error {
  override readonly name = 'TopicReadError';
}

/** Zigzag varint (Kafka record fields), as a JS number (exact up to 2^53). */
function varint(buf: Buffer, at: { pos: number }): number {
  let result = 0;
  let shift = 1;
  for (;;) {
    if (at.pos >= buf.length) throw new TopicReadError('truncated varint in a record batch');
    const b = buf[at.pos++] as number;
    result += (b & 0x7f) * shift;
    if ((b & 0x80) === 0) break;
    shift *= 128;
  }
  return result % 2 === 0 ? result / 2 : -(result + 1) / 2;
}

/** Parses the record batches of one partition (format v2) and returns every record's offset, timestamp and value. */
export function parseRecordBatches(
  buf: Buffer,
): { offset: number; timestampType: NewestRecord['timestampType']; timestamp: number; value: Buffer | null }[] {
  const out: {
    offset: number;
    timestampType: NewestRecord['timestampType'];
    timestamp: number;
    value: Buffer | null;
  }[] = [];
  let pos = 0;
  while (buf.length - pos >= 12) {
    const baseOffset = Number(buf.readBigInt64BE(pos));
    const batchLength = buf.readInt32BE(pos + 8);
    const end = pos + 12 + batchLength;
    if (end > buf.length) break; // a partial batch at the end of the fetch
    const magic = buf.readInt8(pos + 16);
    if (magic !== 2) throw new TopicReadError(`record batch format v${magic} is not supported (v2 only)`);
    const attributes = buf.readInt16BE(pos + 21);
    if ((attributes & 0x07) !== 0) throw new TopicReadError('compressed record batches are not supported');
    const timestampType = (attributes & 0x08) !== 0 ? 'LogAppendTime' : 'CreateTime';
    const baseTimestamp = Number(buf.readBigInt64BE(pos + 27));
    const maxTimestamp = Number(buf.readBigInt64BE(pos + 35));
    const count = buf.readInt32BE(pos + 57);
    const at = { pos: pos + 61 };
    for (let i = 0; i < count; i++) {
      const length = varint(buf, at);
      const recordEnd = at.pos + length;
      at.pos += 1; // attributes
      const timestampDelta = varint(buf, at);
      const offsetDelta = varint(buf, at);
      const keyLength = varint(buf, at);
      if (keyLength > 0) at.pos += keyLength;
      const valueLength = varint(buf, at);
      const value = valueLength < 0 ? null : buf.subarray(at.pos, at.pos + valueLength);
      at.pos = recordEnd; // headers are not needed
      out.push({
        offset: baseOffset + offsetDelta,
        timestampType,
        timestamp: timestampType === 'LogAppendTime' ? maxTimestamp : baseTimestamp + timestampDelta,
        value,
      });
    }
    pos = end;
  }
  return out;
}

async function fetchAt(
  conn: BrokerConnection,
  topic: string,
  partition: number,
  offset: number,
  timeoutMs: number,
): Promise<Buffer> {
  const body = new Writer()
    .int32(-1) // replica id: a client
    .int32(0) // max wait: answer at once
    .int32(0) // min bytes
    .int32(1_048_576)
    .int8(0) // read uncommitted
    .array([topic], (w, t) =>
      w.string(t).array([partition], (w2, p) => w2.int32(p).int64(BigInt(offset)).int32(1_048_576)),
    )
    .build();
  const r = await conn.request(FETCH, 4, body, timeoutMs);
  r.int32(); // throttle
  let records: Buffer | null = null;
  let errorCode = 0;
  r.array((x) => {
    x.string();
    x.array((y) => {
      y.int32();
      errorCode = y.int16();
      y.int64(); // high watermark
      y.int64(); // last stable offset
      y.array((z) => [z.int64(), z.int64()]); // aborted transactions
      records = y.bytes();
    });
  });
  if (errorCode !== 0)
    throw new TopicReadError(`fetch of ${topic}/${partition} at ${offset} failed with Kafka error ${errorCode}`);
  return records ?? Buffer.alloc(0);
}

/** Opens the bootstrap connection, reads the topic's metadata, and hands over a way to reach each partition leader. */
async function withTopic<T>(
  bootstrap: { host: string; port: number }[],
  topic: string,
  timeoutMs: number,
  security: ProbeSecurity | undefined,
  work: (partitions: number[], leaderOf: (partition: number) => Promise<BrokerConnection>) => Promise<T>,
): Promise<T> {
  const opened: BrokerConnection[] = [];
  const open = async (host: string, port: number) => {
    const c = await connectBroker(host, port, timeoutMs, security);
    opened.push(c);
    return c;
  };
  try {
    let first: BrokerConnection | undefined;
    const errors: string[] = [];
    for (const b of bootstrap) {
      try {
        first = await open(b.host, b.port);
        break;
      } catch (err) {
        errors.push((err as Error).message);
      }
    }
    if (!first) throw new TopicReadError(`no bootstrap server answered: ${errors.join('; ')}`);
    const meta = await metadata(first, timeoutMs);
    const t = meta.topics.find((x) => x.name === topic);
    if (!t || t.errorCode !== 0) throw new TopicReadError(`topic ${topic} does not exist on the cluster`);
    return await work(
      t.partitions.map((p) => p.partition),
      async (partition) => {
        const p = t.partitions.find((x) => x.partition === partition);
        const leader = meta.brokers.find((b) => b.id === p?.leader);
        if (!leader) throw new TopicReadError(`${topic}/${partition} has no leader`);
        return open(leader.host, leader.port);
      },
    );
  } finally {
    for (const c of opened) c.close();
  }
}

/**
 * The newest record of every non-empty partition of `topic`, newest first. Throws
 * TopicReadError when the topic does not exist or a partition has no leader.
 */
export function readNewestRecords(
  bootstrap: { host: string; port: number }[],
  topic: string,
  timeoutMs: number,
  security?: ProbeSecurity,
): Promise<NewestRecord[]> {
  return withTopic(bootstrap, topic, timeoutMs, security, async (partitions, leaderOf) => {
    const out: NewestRecord[] = [];
    for (const partition of partitions) {
      const conn = await leaderOf(partition);
      const [end] = await latestOffsets(conn, [{ topic, partition }], timeoutMs);
      if (!end || end.errorCode !== 0)
        throw new TopicReadError(`no end offset for ${topic}/${partition} (Kafka error ${end?.errorCode ?? 'none'})`);
      if (end.offset <= 0) continue;
      const records = parseRecordBatches(await fetchAt(conn, topic, partition, end.offset - 1, timeoutMs));
      const last = records.find((r) => r.offset === end.offset - 1);
      if (last) out.push({ topic, partition, ...last });
    }
    return out.sort((a, b) => b.timestamp - a.timestamp);
  });
}

/** The record at one offset (undefined when the partition does not hold it). */
export function readRecordAt(
  bootstrap: { host: string; port: number }[],
  topic: string,
  partition: number,
  offset: number,
  timeoutMs: number,
  security?: ProbeSecurity,
): Promise<NewestRecord | undefined> {
  return withTopic(bootstrap, topic, timeoutMs, security, async (_partitions, leaderOf) => {
    const records = parseRecordBatches(await fetchAt(await leaderOf(partition), topic, partition, offset, timeoutMs));
    const hit = records.find((r) => r.offset === offset);
    return hit ? { topic, partition, ...hit } : undefined;
  });
}
