// The drill's traffic: a kafkajs producer writing sequence-numbered messages with acks=all at a
// steady rate, and a consumer group reading them back. At the end the drill knows which
// acknowledged messages were never read back (data loss).
import { Kafka, logLevel, type Consumer, type Producer } from 'kafkajs';

export interface WorkloadOptions {
  /** Fixed servers, or a resolver (a DR drill's clients follow the bootstrap DNS record on every reconnect). */
  bootstrapServers: string[] | (() => Promise<string[]>);
  topic: string;
  ratePerSecond: number;
  consumerGroup: string;
  /** kafkajs idempotent producer (default false: see the scenario's workload.idempotent). */
  idempotent?: boolean;
  /** Tags every message, so a topic shared between drills never counts another run's messages. */
  runId: string;
  /** At most this many sends in flight (a slow cluster slows the producer, as with real clients). */
  maxInFlight?: number;
  log?: (line: string) => void;
}

export interface WorkloadCounts {
  produced: number;
  consumed: number;
  lost: number;
  failedSends: number;
  /** The first lost messages: sequence number, when the send started and when it was acknowledged (ms epoch). */
  lostSamples: { seq: number; sentAt: number; ackedAt: number }[];
  /** When the earliest-acknowledged lost message was acknowledged (ms epoch); null when none is lost. */
  oldestLostAckedAt: number | null;
}

export interface Workload {
  start(): Promise<void>;
  pauseConsumer(): void;
  resumeConsumer(): void;
  /** Stops producing, waits (bounded) until every acknowledged message was read back, stops. */
  finish(drainTimeoutMs?: number): Promise<WorkloadCounts>;
  counts(): WorkloadCounts;
  /** When the first send acknowledged after `ms` (epoch) was acknowledged, if any yet. */
  firstAckAfter(ms: number): number | undefined;
  /** Stops everything now (error paths). */
  close(): Promise<void>;
}

export function startWorkload(opts: WorkloadOptions): Workload {
  const kafka = new Kafka({
    clientId: 'kafka-heal-drill',
    brokers: opts.bootstrapServers,
    logLevel: logLevel.NOTHING,
    retry: { retries: 8, initialRetryTime: 200, maxRetryTime: 3000 },
  });
  const producer: Producer = kafka.producer({
    allowAutoTopicCreation: false,
    idempotent: opts.idempotent ?? false,
    maxInFlightRequests: 1,
  });
  const consumer: Consumer = kafka.consumer({
    groupId: opts.consumerGroup,
    sessionTimeout: 10_000,
    heartbeatInterval: 1000,
    retry: { retries: 20 },
  });
  const acked = new Map<number, { sentAt: number; ackedAt: number }>();
  const seen = new Set<number>();
  let failedSends = 0;
  let seq = 0;
  let producing = false;
  let inFlight = 0;
  let timer: NodeJS.Timeout | undefined;
  const pending = new Set<Promise<void>>();
  const maxInFlight = opts.maxInFlight ?? 20;

  const sendOne = () => {
    if (!producing || inFlight >= maxInFlight) return;
    const n = ++seq;
    const sentAt = Date.now();
    inFlight++;
    const p = producer
      .send({ topic: opts.topic, acks: -1, messages: [{ key: String(n % 64), value: `${opts.runId}:${n}` }] })
      .then(
        () => void acked.set(n, { sentAt, ackedAt: Date.now() }),
        () => void failedSends++,
      )
      .finally(() => {
        inFlight--;
        pending.delete(p);
      });
    pending.add(p);
  };

  const counts = (): WorkloadCounts => {
    const lostSamples: WorkloadCounts['lostSamples'] = [];
    let lost = 0;
    let oldestLostAckedAt: number | null = null;
    for (const [n, t] of acked) {
      if (seen.has(n)) continue;
      lost++;
      if (lostSamples.length < 10) lostSamples.push({ seq: n, ...t });
      if (oldestLostAckedAt === null || t.ackedAt < oldestLostAckedAt) oldestLostAckedAt = t.ackedAt;
    }
    return {
      produced: acked.size,
      consumed: [...seen].filter((n) => acked.has(n)).length,
      lost,
      failedSends,
      lostSamples,
      oldestLostAckedAt,
    };
  };

  return {
    async start() {
      await producer.connect();
      await consumer.connect();
      await consumer.subscribe({ topic: opts.topic, fromBeginning: true });
      await consumer.run({
        eachMessage: async ({ message }) => {
          const [run, seq] = (message.value?.toString() ?? '').split(':');
          const n = Number(seq);
          if (run === opts.runId && Number.isInteger(n)) seen.add(n);
        },
      });
      producing = true;
      const every = Math.max(1, Math.round(1000 / opts.ratePerSecond));
      const perTick = Math.max(1, Math.round((opts.ratePerSecond * every) / 1000));
      timer = setInterval(() => {
        for (let i = 0; i < perTick; i++) sendOne();
      }, every);
    },
    pauseConsumer() {
      consumer.pause([{ topic: opts.topic }]);
    },
    resumeConsumer() {
      consumer.resume([{ topic: opts.topic }]);
    },
    async finish(drainTimeoutMs = 60_000) {
      producing = false;
      if (timer) clearInterval(timer);
      await Promise.allSettled([...pending]);
      consumer.resume([{ topic: opts.topic }]);
      const deadline = Date.now() + drainTimeoutMs;
      while (Date.now() < deadline && counts().lost > 0) await new Promise((r) => setTimeout(r, 250));
      await this.close();
      if (counts().lost > 0) {
        // The group may just be slow (stale metadata after leaders moved): read the whole topic
        // once more with a fresh consumer up to the end offsets, so "lost" means not in the log.
        opts.log?.(
          `workload: ${counts().lost} acknowledged message(s) not read back by the group yet; re-reading ${opts.topic} from the beginning`,
        );
        for (const n of await readAll(kafka, opts.topic, opts.runId, 60_000)) seen.add(n);
      }
      return counts();
    },
    counts,
    firstAckAfter(ms) {
      let first: number | undefined;
      for (const t of acked.values())
        if (t.ackedAt > ms && (first === undefined || t.ackedAt < first)) first = t.ackedAt;
      return first;
    },
    async close() {
      producing = false;
      if (timer) clearInterval(timer);
      await Promise.allSettled([producer.disconnect(), consumer.disconnect()]);
    },
  };
}

/** Every sequence number of this run in the topic, read from the beginning to the current end offsets. */
async function readAll(kafka: Kafka, topic: string, runId: string, timeoutMs: number): Promise<Set<number>> {
  const admin = kafka.admin();
  await admin.connect();
  const ends = await admin.fetchTopicOffsets(topic).finally(() => admin.disconnect());
  const remaining = new Map(ends.filter((p) => Number(p.high) > 0).map((p) => [p.partition, Number(p.high)]));
  const found = new Set<number>();
  const reader = kafka.consumer({ groupId: `kafka-heal-drill-verify-${runId}-${Date.now()}` });
  await reader.connect();
  try {
    await reader.subscribe({ topic, fromBeginning: true });
    let done: () => void = () => undefined;
    const finished = new Promise<void>((r) => (done = r));
    if (remaining.size === 0) done();
    await reader.run({
      eachMessage: async ({ partition, message }) => {
        const [run, seq] = (message.value?.toString() ?? '').split(':');
        if (run === runId && Number.isInteger(Number(seq))) found.add(Number(seq));
        if (Number(message.offset) + 1 >= (remaining.get(partition) ?? 0)) {
          remaining.delete(partition);
          if (remaining.size === 0) done();
        }
      },
    });
    await Promise.race([finished, new Promise((r) => setTimeout(r, timeoutMs))]);
  } finally {
    await reader.disconnect();
  }
  return found;
}
