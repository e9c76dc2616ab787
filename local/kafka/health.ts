// One bounded-time look at a local cluster through the Kafka protocol (kafkajs admin): which
// brokers are registered and whether every partition's ISR equals its replica set. The
// supervisor polls this for readiness; it never sleeps a fixed time instead.
import kafkajs from 'kafkajs';
import type { Admin } from 'kafkajs';

const { Kafka, logLevel } = kafkajs;

export interface HealthReport {
  healthy: boolean;
  /** Broker ids in the cluster metadata (registered and unfenced). */
  registered: number[];
  expected: number[];
  topics: number;
  partitions: number;
  /** Partitions whose ISR is smaller than the replica set. */
  underReplicated: number;
  /** Partitions without a leader. */
  offline: number;
  /** Set when the cluster could not be asked at all. */
  error?: string;
}

export interface HealthOptions {
  bootstrap: string[];
  expected: number[];
  /** Topics that must exist (e.g. __consumer_offsets once a group coordinator was asked for). */
  requireTopics?: string[];
  timeoutMs?: number;
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

export function newAdmin(bootstrap: string[], requestTimeoutMs = 3000): Admin {
  const kafka = new Kafka({
    clientId: 'kafka-heal-local',
    brokers: bootstrap,
    connectionTimeout: 1000,
    requestTimeout: requestTimeoutMs,
    retry: { retries: 0 },
    logLevel: logLevel.NOTHING,
  });
  return kafka.admin();
}

/** Asks the cluster once; never throws, never takes much longer than timeoutMs. */
export async function checkHealth(opts: HealthOptions): Promise<HealthReport> {
  const timeoutMs = opts.timeoutMs ?? 5000;
  const expected = [...opts.expected].sort((a, b) => a - b);
  const base: HealthReport = {
    healthy: false,
    registered: [],
    expected,
    topics: 0,
    partitions: 0,
    underReplicated: 0,
    offline: 0,
  };
  if (opts.bootstrap.length === 0) return { ...base, error: 'no broker is running' };
  const admin = newAdmin(opts.bootstrap, Math.min(3000, timeoutMs));
  try {
    return await withTimeout(
      (async () => {
        await admin.connect();
        const cluster = await admin.describeCluster();
        const registered = cluster.brokers.map((b) => b.nodeId).sort((a, b) => a - b);
        const names = await admin.listTopics();
        const meta = names.length > 0 ? await admin.fetchTopicMetadata({ topics: names }) : { topics: [] };
        let partitions = 0;
        let underReplicated = 0;
        let offline = 0;
        for (const t of meta.topics) {
          for (const p of t.partitions) {
            partitions++;
            if (p.leader < 0) offline++;
            if (p.isr.length < p.replicas.length) underReplicated++;
          }
        }
        const missing = (opts.requireTopics ?? []).filter((t) => !names.includes(t));
        const allRegistered = expected.every((id) => registered.includes(id));
        const report: HealthReport = {
          ...base,
          registered,
          topics: names.length,
          partitions,
          underReplicated,
          offline,
          ...(missing.length > 0 ? { error: `topics not created yet: ${missing.join(', ')}` } : {}),
        };
        report.healthy = allRegistered && underReplicated === 0 && offline === 0 && missing.length === 0;
        return report;
      })(),
      timeoutMs,
      'health check',
    );
  } catch (err) {
    return { ...base, error: (err as Error).message };
  } finally {
    void admin.disconnect().catch(() => undefined);
  }
}

/**
 * Asks for a group coordinator, which makes the brokers create __consumer_offsets (an internal
 * topic), so readiness covers it and the first consumer group of a test does not wait for it.
 */
export async function touchOffsetsTopic(bootstrap: string[], timeoutMs = 5000): Promise<void> {
  const admin = newAdmin(bootstrap, Math.min(3000, timeoutMs));
  try {
    await withTimeout(
      (async () => {
        await admin.connect();
        // Fills kafkajs's broker pool; without it the coordinator lookup finds no broker.
        await admin.listTopics();
        await admin.describeGroups(['kafka-heal-readiness']);
      })(),
      timeoutMs,
      'coordinator lookup',
    );
  } catch {
    // not ready yet; the caller polls
  } finally {
    void admin.disconnect().catch(() => undefined);
  }
}
