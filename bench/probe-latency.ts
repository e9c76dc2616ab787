// Probe latency on a real 3-broker KRaft cluster with 100+ partitions: starts a local cluster,
// creates a 120-partition RF=3 topic, runs the probe N times back to back and prints p50, p95
// and max, plus the same with a watched consumer group. Run: npm run bench -- probe-latency [N]
import { Kafka, logLevel } from 'kafkajs';
import { probeCluster } from '../functions/shared/probe/index.js';
import { startCluster } from '../local/kafka/cluster.js';

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}

async function series(n: number, run: () => Promise<unknown>): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await run();
    out.push(performance.now() - t);
  }
  return out.sort((a, b) => a - b);
}

export async function run(args: string[]): Promise<string> {
  const n = Number(args[0] ?? 50);
  const t0 = Date.now();
  const cluster = await startCluster({ name: 'probe-bench', log: () => undefined });
  console.log(`cluster start: ${Date.now() - t0} ms (${cluster.bootstrapServers})`);
  try {
    const kafka = new Kafka({ clientId: 'probe-bench', brokers: cluster.bootstrapServers.split(','), logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ waitForLeaders: false, topics: [{ topic: 'bench', numPartitions: 120, replicationFactor: 3 }] });
    await admin.disconnect();
    await cluster.waitHealthy(120_000);
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic: 'bench', messages: Array.from({ length: 500 }, (_, i) => ({ key: String(i), value: 'x' })) });
    await producer.disconnect();
    const consumer = kafka.consumer({ groupId: 'bench-group' });
    await consumer.connect();
    await consumer.subscribe({ topic: 'bench', fromBeginning: true });
    let seen = 0;
    await consumer.run({ autoCommitInterval: 200, eachMessage: async () => void seen++ });
    while (seen < 500) await new Promise((r) => setTimeout(r, 200));
    await new Promise((r) => setTimeout(r, 1000));

    const servers = cluster.bootstrapServers.split(',');
    const first = await probeCluster({ bootstrapServers: servers, expectedBrokers: 3 });
    console.log(`snapshot: status ${first.status}, ${first.partitions.total} partitions, mode ${first.metadataMode}`);
    const plain = await series(n, () => probeCluster({ bootstrapServers: servers, expectedBrokers: 3 }));
    const withGroup = await series(n, () => probeCluster({ bootstrapServers: servers, expectedBrokers: 3, consumerGroups: ['bench-group'] }));
    const fmt = (xs: number[]) => `p50 ${pct(xs, 50).toFixed(1)} ms, p95 ${pct(xs, 95).toFixed(1)} ms, max ${(xs[xs.length - 1] ?? NaN).toFixed(1)} ms`;
    console.log(`probe x${n} (3 brokers, ${first.partitions.total} partitions): ${fmt(plain)}`);
    console.log(`probe x${n} with lag of one group over 120 partitions: ${fmt(withGroup)}`);
    await consumer.disconnect();
    return `${n} probes of 3 brokers / ${first.partitions.total} partitions: p50 ${pct(plain, 50).toFixed(1)} ms, p95 ${pct(plain, 95).toFixed(1)} ms; with one group's lag p50 ${pct(withGroup, 50).toFixed(1)} ms`;
  } finally {
    await cluster.stop();
  }
}
