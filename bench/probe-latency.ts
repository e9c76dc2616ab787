// Probe latency on a real 3-broker KRaft cluster with 100+ partitions: starts a local cluster,
// creates a 120-partition RF=3 topic, runs the probe N times back to back and prints p50, p95
// and max, plus the same with a watched consumer group. The cluster also has a SASL_SSL listener
// with SCRAM-SHA-512 (local/kafka/cluster.ts `security`), so the same brokers are probed both ways
// in one run, the two series interleaved (load drifts alike): latency, CPU time per probe, and
// connections (and TLS handshakes, SASL exchanges) per round.
// Run: npm run bench -- probe-latency [N]
import { loadavg } from 'node:os';
import { Kafka, logLevel } from 'kafkajs';
import { BrokerConnection, probeCluster, type ProbeOptions } from '../functions/shared/probe/index.js';
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
  const cluster = await startCluster({
    name: 'probe-bench',
    security: { protocol: 'SASL_SSL', mechanism: 'SCRAM-SHA-512' },
    log: () => undefined,
  });
  console.log(`cluster start: ${Date.now() - t0} ms (${cluster.bootstrapServers})`);
  try {
    const kafka = new Kafka({
      clientId: 'probe-bench',
      brokers: cluster.bootstrapServers.split(','),
      logLevel: logLevel.NOTHING,
    });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({
      waitForLeaders: false,
      topics: [{ topic: 'bench', numPartitions: 120, replicationFactor: 3 }],
    });
    await admin.disconnect();
    await cluster.waitHealthy(120_000);
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({
      topic: 'bench',
      messages: Array.from({ length: 500 }, (_, i) => ({ key: String(i), value: 'x' })),
    });
    await producer.disconnect();
    const consumer = kafka.consumer({ groupId: 'bench-group' });
    await consumer.connect();
    await consumer.subscribe({ topic: 'bench', fromBeginning: true });
    let seen = 0;
    await consumer.run({ autoCommitInterval: 200, eachMessage: async () => void seen++ });
    while (seen < 500) await new Promise((r) => setTimeout(r, 200));
    await new Promise((r) => setTimeout(r, 1000));

    const servers = cluster.bootstrapServers.split(',');
    const sec = cluster.security;
    if (!sec) throw new Error('the bench cluster has no secured listener');
    const plainOpts: ProbeOptions = { bootstrapServers: servers, expectedBrokers: 3 };
    const securedOpts: ProbeOptions = {
      bootstrapServers: sec.bootstrapServers.split(','),
      expectedBrokers: 3,
      security: sec.probeSecurity(),
    };
    const first = await probeCluster(plainOpts);
    const firstSecured = await probeCluster(securedOpts);
    console.log(
      `snapshot: status ${first.status} (plaintext) / ${firstSecured.status} (SASL_SSL), ${first.partitions.total} partitions, mode ${first.metadataMode}`,
    );
    if (first.status !== 'healthy' || firstSecured.status !== 'healthy')
      throw new Error(`the cluster is not healthy both ways: ${first.status} / ${firstSecured.status}`);

    // Connections per round: every BrokerConnection.open of one probe (TLS ones are handshakes).
    const open = BrokerConnection.open.bind(BrokerConnection);
    let opened = 0;
    BrokerConnection.open = (...a: Parameters<typeof BrokerConnection.open>) => {
      opened++;
      return open(...a);
    };
    const cpu: Record<string, number[]> = { plain: [], secured: [] };
    const measured = (key: 'plain' | 'secured', opts: ProbeOptions) => async () => {
      const c0 = process.cpuUsage();
      await probeCluster(opts);
      const c = process.cpuUsage(c0);
      cpu[key]?.push((c.user + c.system) / 1000);
    };
    opened = 0;
    await probeCluster(plainOpts);
    const plainConns = opened;
    opened = 0;
    await probeCluster(securedOpts);
    const securedConns = opened;
    BrokerConnection.open = open;

    // Interleaved, so both series see the same machine load.
    const plain: number[] = [];
    const secured: number[] = [];
    for (let i = 0; i < n; i++) {
      plain.push(...(await series(1, measured('plain', plainOpts))));
      secured.push(...(await series(1, measured('secured', securedOpts))));
    }
    plain.sort((a, b) => a - b);
    secured.sort((a, b) => a - b);
    const withGroup = await series(n, () => probeCluster({ ...plainOpts, consumerGroups: ['bench-group'] }));
    const fmt = (xs: number[]) =>
      `p50 ${pct(xs, 50).toFixed(1)} ms, p95 ${pct(xs, 95).toFixed(1)} ms, max ${(xs[xs.length - 1] ?? NaN).toFixed(1)} ms`;
    const cpuP50 = (k: string) =>
      pct(
        [...(cpu[k] ?? [])].sort((a, b) => a - b),
        50,
      );
    const ratio = pct(secured, 50) / pct(plain, 50);
    console.log(
      `probe x${n} (3 brokers, ${first.partitions.total} partitions), plaintext: ${fmt(plain)}; CPU p50 ${cpuP50('plain').toFixed(1)} ms; ${plainConns} connections per round`,
    );
    console.log(
      `probe x${n}, SASL_SSL + SCRAM-SHA-512: ${fmt(secured)}; CPU p50 ${cpuP50('secured').toFixed(1)} ms; ${securedConns} connections per round, each a TLS handshake and a SCRAM exchange (SaslHandshake + 2 SaslAuthenticate)`,
    );
    console.log(
      `TLS+SCRAM / plaintext: p50 x${ratio.toFixed(2)}, p95 x${(pct(secured, 95) / pct(plain, 95)).toFixed(2)}, CPU x${(cpuP50('secured') / cpuP50('plain')).toFixed(2)} (load average ${loadavg()[0]?.toFixed(1)})`,
    );
    console.log(`probe x${n} with lag of one group over 120 partitions: ${fmt(withGroup)}`);
    await consumer.disconnect();
    return `${n} probes of 3 brokers / ${first.partitions.total} partitions: plaintext p50 ${pct(plain, 50).toFixed(1)} ms, p95 ${pct(plain, 95).toFixed(1)} ms; SASL_SSL+SCRAM p50 ${pct(secured, 50).toFixed(1)} ms, p95 ${pct(secured, 95).toFixed(1)} ms (x${ratio.toFixed(2)}), ${securedConns} connections per round both ways; with one group's lag p50 ${pct(withGroup, 50).toFixed(1)} ms`;
  } finally {
    await cluster.stop();
  }
}
