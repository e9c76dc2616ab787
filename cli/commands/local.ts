// `kafka-heal local up|status|fault|down`: a real local Kafka cluster for trying and drilling
// the healer. `up` starts the JVMs detached and returns; the others act on the running cluster
// through its state file, so they work from any shell.
import { UsageError, intFlag, parseFlags, requireFlag, type Command, type CommandIO } from '../args.js';
import {
  FAULT_ACTIONS,
  ZK_FAULT_ACTIONS,
  attachCluster,
  runningClusters,
  startCluster,
  type ClusterStatus,
  type FaultAction,
  type ZkFaultAction,
} from '#local/kafka/cluster.js';
import { CLUSTER_NAME } from '#local/kafka/state.js';

function nameFlag(value: string | undefined): string {
  const name = value ?? 'primary';
  if (!CLUSTER_NAME.test(name))
    throw new UsageError(
      `--name must be lowercase letters, digits and dashes, starting with a letter (at most 40), got "${name}"`,
    );
  return name;
}

/** Errors of the supervisor (no such cluster, already running, no disk mount...) end with exit 1. */
async function runtime(io: CommandIO, path: string, fn: () => Promise<number>): Promise<number> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof UsageError) throw err;
    const e = err as Error;
    io.stderr(`kafka-heal ${path}: ${e.name === 'Error' ? '' : `${e.name}: `}${e.message}`);
    return 1;
  }
}

export const localUp: Command = {
  path: ['local', 'up'],
  summary: 'start a local Kafka cluster (real brokers on 127.0.0.1) and leave it running',
  usage: 'kafka-heal local up [--brokers 3-5] [--mode kraft|zookeeper] [--name primary] [--disk-limit-mb 256] [--json]',
  async run(argv, io) {
    const { values } = parseFlags(argv, {
      brokers: { type: 'string' },
      mode: { type: 'string' },
      name: { type: 'string' },
      'disk-limit-mb': { type: 'string' },
      json: { type: 'boolean' },
    });
    const brokers = intFlag(values.brokers, 'brokers', 3, 5) ?? 3;
    const mode = values.mode ?? 'kraft';
    if (mode !== 'kraft' && mode !== 'zookeeper')
      throw new UsageError(`--mode must be kraft or zookeeper, got "${mode}"`);
    const name = nameFlag(values.name);
    const diskLimitMb = intFlag(values['disk-limit-mb'], 'disk-limit-mb', 0, 4096);
    return runtime(io, 'local up', async () => {
      const started = Date.now();
      const cluster = await startCluster({
        name,
        brokers,
        mode,
        detached: true,
        log: io.stderr,
        ...(diskLimitMb !== undefined ? { diskLimitMb } : {}),
      });
      const ms = Date.now() - started;
      if (values.json)
        io.stdout(
          JSON.stringify({
            name,
            mode,
            brokers,
            bootstrapServers: cluster.bootstrapServers,
            startMs: ms,
            workDir: cluster.workDir,
          }),
        );
      else {
        io.stdout(cluster.bootstrapServers);
        io.stdout(
          `started ${name} (${mode}, ${brokers} brokers) in ${(ms / 1000).toFixed(1)} s; logs in ${cluster.workDir}; stop with: kafka-heal local down --name ${name}`,
        );
      }
      return 0;
    });
  },
};

function renderStatus(s: ClusterStatus): string {
  const lines = [`cluster ${s.name} (${s.mode}) bootstrap ${s.bootstrapServers}`];
  for (const b of s.brokers) {
    const disk = b.disk ? ` disk ${b.disk.usedPercent}% of ${b.disk.sizeMb} MiB` : '';
    lines.push(
      `  broker ${b.id}  ${b.host}:${b.port}  pid ${b.pid ?? '-'}  ${b.state.padEnd(7)}  ${b.registered ? 'registered' : 'NOT registered'}${disk}`,
    );
  }
  for (const z of s.zookeeper)
    lines.push(
      `  zookeeper ${z.id}  ${z.host}:${z.port}  pid ${z.pid ?? '-'}  ${z.state.padEnd(7)}  ${z.serving ?? 'not serving'}`,
    );
  const h = s.health;
  lines.push(
    h.error !== undefined && h.registered.length === 0
      ? `  health: unknown (${h.error})`
      : `  health: ${h.healthy ? 'healthy' : 'NOT healthy'}; registered ${h.registered.join(',') || 'none'}; ${h.partitions} partitions, ${h.underReplicated} under-replicated, ${h.offline} offline`,
  );
  return lines.join('\n');
}

export const localStatus: Command = {
  path: ['local', 'status'],
  summary: 'process state, registration and under-replicated partitions of a local cluster',
  usage: 'kafka-heal local status [--name primary] [--json]',
  async run(argv, io) {
    const { values } = parseFlags(argv, { name: { type: 'string' }, json: { type: 'boolean' } });
    const name = nameFlag(values.name);
    return runtime(io, 'local status', async () => {
      const status = await attachCluster(name, io.stderr).status();
      io.stdout(values.json ? JSON.stringify(status) : renderStatus(status));
      return 0;
    });
  },
};

export const localFault: Command = {
  path: ['local', 'fault'],
  summary: 'inject a fault into one broker (or ZooKeeper node) of a local cluster',
  usage: `kafka-heal local fault <${FAULT_ACTIONS.join('|')}> (--broker <id> | --zookeeper <id>) [--percent 95] [--name primary]`,
  async run(argv, io) {
    const { values, positionals } = parseFlags(
      argv,
      {
        broker: { type: 'string' },
        zookeeper: { type: 'string' },
        percent: { type: 'string' },
        name: { type: 'string' },
      },
      true,
    );
    if (positionals.length !== 1)
      throw new UsageError(
        `give exactly one fault (${FAULT_ACTIONS.join(', ')}), got ${positionals.length === 0 ? 'none' : positionals.join(' ')}`,
      );
    const action = positionals[0] as string;
    if (!(FAULT_ACTIONS as readonly string[]).includes(action))
      throw new UsageError(`unknown fault "${action}"; one of ${FAULT_ACTIONS.join(', ')}`);
    const name = nameFlag(values.name);
    if (values.broker !== undefined && values.zookeeper !== undefined)
      throw new UsageError('give --broker or --zookeeper, not both');
    const percent = intFlag(values.percent, 'percent', 1, 99);
    if (percent !== undefined && action !== 'fill-disk') throw new UsageError('--percent only applies to fill-disk');
    if (values.zookeeper !== undefined) {
      const zkId = intFlag(values.zookeeper, 'zookeeper', 1, 3) as number;
      if (!(ZK_FAULT_ACTIONS as readonly string[]).includes(action))
        throw new UsageError(
          `fault "${action}" does not apply to ZooKeeper nodes; one of ${ZK_FAULT_ACTIONS.join(', ')}`,
        );
      return runtime(io, 'local fault', async () => {
        await attachCluster(name, io.stderr).zkFault(action as ZkFaultAction, zkId);
        io.stdout(`${action}: zookeeper ${zkId} of ${name}`);
        return 0;
      });
    }
    const brokerId = intFlag(requireFlag(values.broker, 'broker'), 'broker', 0, 1_000_000) as number;
    return runtime(io, 'local fault', async () => {
      const cluster = attachCluster(name, io.stderr);
      await cluster.fault(action as FaultAction, brokerId, percent !== undefined ? { percent } : {});
      const b = cluster.brokers.find((x) => x.id === brokerId);
      const disk =
        action === 'fill-disk' || action === 'free-disk' ? `; disk ${cluster.disk(brokerId).usedPercent}% used` : '';
      io.stdout(
        `${action}: broker ${brokerId} of ${name} is ${b?.state ?? 'unknown'}${b?.pid !== undefined ? ` (pid ${b.pid})` : ''}${disk}`,
      );
      return 0;
    });
  },
};

export const localDown: Command = {
  path: ['local', 'down'],
  summary: 'stop a local cluster: kill its JVMs, unmount its disks (idempotent)',
  usage: 'kafka-heal local down [--name primary | --all]',
  async run(argv, io) {
    const { values } = parseFlags(argv, { name: { type: 'string' }, all: { type: 'boolean' } });
    if (values.all && values.name !== undefined) throw new UsageError('give --name or --all, not both');
    const names = values.all ? runningClusters().map((s) => s.name) : [nameFlag(values.name)];
    return runtime(io, 'local down', async () => {
      for (const name of names) {
        if (!runningClusters().some((s) => s.name === name)) {
          io.stderr(`kafka-heal local down: no local cluster named "${name}"; nothing to do`);
          continue;
        }
        await attachCluster(name, io.stderr).stop();
        io.stdout(`stopped ${name}`);
      }
      if (names.length === 0) io.stderr('kafka-heal local down: no local clusters');
      return 0;
    });
  },
};
