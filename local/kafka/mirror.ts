// MirrorMaker 2 between two local clusters: the DR half of the local runtime. Runs Kafka's own
// connect-mirror in dedicated mode (org.apache.kafka.connect.mirror.MirrorMaker, jar set
// "kafka-mirror") as one JVM that replicates topics and consumer group offsets from a source
// (primary) cluster to a target (DR) cluster on 127.0.0.1, like an MM2 deployment next to the DR
// site does in production.
//
// Choices that matter for failover:
// - IdentityReplicationPolicy by default: topics keep their names on the DR cluster, and
//   MirrorCheckpointConnector writes translated offsets into the DR cluster's group offsets
//   (sync.group.offsets.enabled), so clients that follow the bootstrap DNS record to DR keep
//   their topic names and resume near their committed positions. (Groups only get synced offsets
//   while they have no active member on DR.)
// - Heartbeats: MM2 runs the reverse herder (target->source) only for its heartbeat connector, which
//   writes into the source's `heartbeats` topic every second; the flow replicates it to the
//   target as `<source>.heartbeats`. That topic is switched to LogAppendTime on the target, so
//   each replicated heartbeat carries both times: the source's send time in its value and the DR
//   broker's append time as its timestamp. Their difference is the replication lag, and it stays
//   readable after the source site is gone (the RPO at failure). MM2 never syncs
//   message.timestamp.type (its default config property filter excludes it).
import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureJars } from '../maven.js';
import { heartbeatSentAt, readNewestRecords } from '#functions/cluster-steps/heartbeats.js';
import { LOG4J2_XML, extraJvmOpts, markerProp, renderProps } from './config.js';
import { NodeFailedError } from './errors.js';
import { newAdmin } from './health.js';
import { delay, isOurs, killGroupNow, stopGracefully } from './processes.js';

export const MIRROR_JAR_SET = 'kafka-mirror';
export const MIRROR_MAIN_CLASS = 'org.apache.kafka.connect.mirror.MirrorMaker';

export interface MirrorCluster {
  /** The MM2 cluster alias (prefix of remote topics under the default policy, of `<alias>.heartbeats`). */
  alias: string;
  bootstrapServers: string;
}

export interface MirrorOptions {
  /** Names the JVM marker and the work folder; default `<source>-to-<target>`. */
  name?: string;
  source: MirrorCluster;
  target: MirrorCluster;
  /** Topic and group allow-lists (MM2 regexes); default everything but internal topics. */
  topics?: string;
  groups?: string;
  /** `identity` keeps topic names (DNS failover); `default` prefixes them with the source alias. */
  replicationPolicy?: 'identity' | 'default';
  /** Replication factor of replicated topics and MM2's internal topics; default 3. */
  replicationFactor?: number;
  /** Seconds between heartbeats, checkpoints, offset syncs and topic/group refreshes; default 1. */
  intervalSeconds?: number;
  /** Folder for mm2.properties and mm2.log; default <tmpdir>/kafka-heal/<name>-mm2. Wiped at start. */
  workDir?: string;
  log?: (line: string) => void;
}

export interface PartitionLag {
  topic: string;
  partition: number;
  sourceEnd: number;
  targetEnd: number;
  behind: number;
}

export interface HeartbeatLag {
  /** DR append time minus the source's send time of the newest replicated heartbeat. */
  lagMs: number;
  /** The source's send time of that heartbeat (ms since epoch). */
  sentAt: number;
  /** When the DR cluster appended it (ms since epoch). */
  appendedAt: number;
}

export interface LocalMirror {
  readonly name: string;
  readonly pid: number;
  readonly workDir: string;
  readonly source: MirrorCluster;
  readonly target: MirrorCluster;
  /** The topic a source topic is replicated into on the target. */
  remoteTopic(topic: string): string;
  /** `<source>.heartbeats` on the target. */
  readonly heartbeatsTopic: string;
  /** Records each partition of `topics` still has to copy (source end offset minus target end offset). */
  offsetLag(topics: string[]): Promise<PartitionLag[]>;
  /**
   * Polls until every topic exists on the target with the source's end offsets, and the
   * heartbeats topic is replicated and set to LogAppendTime; returns ms waited.
   */
  waitCaughtUp(topics: string[], timeoutMs?: number): Promise<number>;
  /**
   * The newest replicated heartbeat on the target (read there, so it works after the source is
   * gone): the replication lag at that moment and when it was sent. Undefined before the first.
   */
  heartbeatLag(timeoutMs?: number): Promise<HeartbeatLag | undefined>;
  /** True while the MM2 JVM runs. */
  running(): boolean;
  /** Stops MM2 (SIGTERM, then SIGKILL). Idempotent. */
  stop(): Promise<void>;
}

const MIRROR_HEAP = ['-Xms128m', '-Xmx512m'];

/** The dedicated-mode MM2 configuration for a one-way source -> target flow. */
export function mirrorProperties(opts: MirrorOptions): Record<string, string> {
  const { source: s, target: t } = opts;
  const rf = String(opts.replicationFactor ?? 3);
  const every = String(opts.intervalSeconds ?? 1);
  const flow = `${s.alias}->${t.alias}`;
  return {
    clusters: `${s.alias}, ${t.alias}`,
    [`${s.alias}.bootstrap.servers`]: s.bootstrapServers,
    [`${t.alias}.bootstrap.servers`]: t.bootstrapServers,
    [`${flow}.enabled`]: 'true',
    [`${flow}.topics`]: opts.topics ?? '.*',
    [`${flow}.groups`]: opts.groups ?? '.*',
    // The reverse herder still runs for its heartbeat connector (into the source's `heartbeats`).
    [`${t.alias}->${s.alias}.enabled`]: 'false',
    'replication.policy.class':
      (opts.replicationPolicy ?? 'identity') === 'identity'
        ? 'org.apache.kafka.connect.mirror.IdentityReplicationPolicy'
        : 'org.apache.kafka.connect.mirror.DefaultReplicationPolicy',
    'replication.factor': rf,
    'checkpoints.topic.replication.factor': rf,
    'heartbeats.topic.replication.factor': rf,
    'offset-syncs.topic.replication.factor': rf,
    'offset.storage.replication.factor': rf,
    'status.storage.replication.factor': rf,
    'config.storage.replication.factor': rf,
    'emit.heartbeats.interval.seconds': every,
    'emit.checkpoints.enabled': 'true',
    'emit.checkpoints.interval.seconds': every,
    'sync.group.offsets.enabled': 'true',
    'sync.group.offsets.interval.seconds': every,
    'refresh.topics.interval.seconds': every,
    'refresh.groups.interval.seconds': every,
    // An offset sync for every record: translated group offsets are exact, not up to 100 behind.
    'offset.lag.max': '0',
    'tasks.max': '1',
    // Dedicated mode on one machine: no REST server between workers.
    'dedicated.mode.enable.internal.rest': 'false',
  };
}

/** The replicated heartbeat's send time (the same reader the DR prerequisites step uses). */
export { heartbeatSentAt };

const live = new Set<{ pid: number; marker: string }>();
let hooked = false;

function hookExit(): void {
  if (hooked) return;
  hooked = true;
  // A mirror started in-process dies with the process, like the local clusters.
  process.on('exit', () => {
    for (const m of live) if (isOurs(m.pid, m.marker)) killGroupNow(m.pid);
  });
}

async function endOffsets(bootstrap: string, topics: string[]): Promise<Map<string, number>> {
  const admin = newAdmin(bootstrap.split(','), 5000);
  const out = new Map<string, number>();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    for (const topic of topics) {
      if (!existing.has(topic)) continue;
      for (const p of await admin.fetchTopicOffsets(topic)) out.set(`${topic}/${p.partition}`, Number(p.high));
    }
  } finally {
    await admin.disconnect();
  }
  return out;
}

/** Starts MM2 for source -> target and returns once its JVM runs (replication starts within seconds). */
export async function startMirror(opts: MirrorOptions): Promise<LocalMirror> {
  const log = opts.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const name = opts.name ?? `${opts.source.alias}-to-${opts.target.alias}`;
  const workDir = opts.workDir ?? join(tmpdir(), 'kafka-heal', `${name}-mm2`);
  rmSync(workDir, { recursive: true, force: true });
  mkdirSync(workDir, { recursive: true });
  const jarDir = await ensureJars(MIRROR_JAR_SET, log);
  const propsFile = join(workDir, 'mm2.properties');
  writeFileSync(propsFile, renderProps(mirrorProperties(opts)));
  const logConfig = join(workDir, 'log4j2.xml');
  writeFileSync(logConfig, LOG4J2_XML);
  const marker = markerProp(name, 'mm2');
  const logFile = join(workDir, 'mm2.log');
  const fd = openSync(logFile, 'a');
  let pid: number;
  try {
    writeSync(fd, `===== kafka-heal: starting MirrorMaker 2 ${name} at ${new Date().toISOString()} =====\n`);
    const args = [
      ...MIRROR_HEAP,
      '-XX:+UseG1GC',
      '-XX:+ExitOnOutOfMemoryError',
      '-Djava.awt.headless=true',
      ...extraJvmOpts(),
      marker,
      `-Dlog4j2.configurationFile=${logConfig}`,
      '-cp',
      join(jarDir, '*'),
      MIRROR_MAIN_CLASS,
      propsFile,
    ];
    const child = spawn('java', args, { cwd: workDir, detached: true, stdio: ['ignore', fd, fd] });
    child.on('error', (err) => log(`kafka-heal: cannot start java for MirrorMaker 2: ${err.message}`));
    child.unref();
    if (child.pid === undefined)
      throw new NodeFailedError(`MirrorMaker 2 ${name} did not start (is java on PATH?)`, logFile);
    pid = child.pid;
  } finally {
    closeSync(fd);
  }
  const entry = { pid, marker };
  live.add(entry);
  hookExit();
  const policy = opts.replicationPolicy ?? 'identity';
  const remoteTopic = (topic: string) => (policy === 'identity' ? topic : `${opts.source.alias}.${topic}`);
  const heartbeatsTopic = `${opts.source.alias}.heartbeats`;

  const offsetLag = async (topics: string[]): Promise<PartitionLag[]> => {
    const [src, dst] = await Promise.all([
      endOffsets(opts.source.bootstrapServers, topics),
      endOffsets(opts.target.bootstrapServers, topics.map(remoteTopic)),
    ]);
    const out: PartitionLag[] = [];
    for (const [key, sourceEnd] of src) {
      const [topic, partition] = [key.slice(0, key.lastIndexOf('/')), Number(key.slice(key.lastIndexOf('/') + 1))];
      const targetEnd = dst.get(`${remoteTopic(topic)}/${partition}`) ?? 0;
      out.push({ topic, partition, sourceEnd, targetEnd, behind: Math.max(0, sourceEnd - targetEnd) });
    }
    return out;
  };

  let heartbeatsReady = false;
  const prepareHeartbeats = async (): Promise<boolean> => {
    if (heartbeatsReady) return true;
    const admin = newAdmin(opts.target.bootstrapServers.split(','), 5000);
    await admin.connect();
    try {
      if (!(await admin.listTopics()).includes(heartbeatsTopic)) return false;
      const current = await admin.describeConfigs({
        includeSynonyms: false,
        resources: [{ type: 2, name: heartbeatsTopic, configNames: ['message.timestamp.type'] }],
      });
      const type = current.resources[0]?.configEntries.find(
        (e) => e.configName === 'message.timestamp.type',
      )?.configValue;
      if (type !== 'LogAppendTime') {
        // The DR copy's own append time, beside the source's send time in the value.
        await admin.alterConfigs({
          validateOnly: false,
          resources: [
            {
              type: 2,
              name: heartbeatsTopic,
              configEntries: [{ name: 'message.timestamp.type', value: 'LogAppendTime' }],
            },
          ],
        });
      }
      heartbeatsReady = true;
      return true;
    } finally {
      await admin.disconnect();
    }
  };

  const mirror: LocalMirror = {
    name,
    pid,
    workDir,
    source: opts.source,
    target: opts.target,
    remoteTopic,
    heartbeatsTopic,
    offsetLag,
    running: () => isOurs(pid, marker),
    async waitCaughtUp(topics, timeoutMs = 120_000) {
      const started = Date.now();
      let last = 'not asked yet';
      for (;;) {
        if (!isOurs(pid, marker)) throw new NodeFailedError(`MirrorMaker 2 ${name} exited`, logFile);
        try {
          const lag = await offsetLag(topics);
          const missing = topics.filter((t) => !lag.some((l) => l.topic === t));
          const behind = lag.filter((l) => l.behind > 0 || l.targetEnd < l.sourceEnd);
          const hb = await prepareHeartbeats();
          if (missing.length === 0 && behind.length === 0 && hb) return Date.now() - started;
          last = `missing on source ${missing.join(',') || '-'}, behind ${behind.map((b) => `${b.topic}/${b.partition}:${b.behind}`).join(',') || '-'}, ${heartbeatsTopic} ${hb ? 'ready' : 'not replicated yet'}`;
        } catch (err) {
          last = (err as Error).message;
        }
        if (Date.now() - started > timeoutMs)
          throw new NodeFailedError(`MirrorMaker 2 ${name} did not catch up within ${timeoutMs} ms (${last})`, logFile);
        await delay(500);
      }
    },
    async heartbeatLag(timeoutMs = 5000) {
      const bootstrap = opts.target.bootstrapServers.split(',').map((hp) => {
        const i = hp.lastIndexOf(':');
        return { host: hp.slice(0, i), port: Number(hp.slice(i + 1)) };
      });
      let newest: HeartbeatLag | undefined;
      for (const r of await readNewestRecords(bootstrap, heartbeatsTopic, timeoutMs)) {
        // Only LogAppendTime carries DR's clock; a CreateTime timestamp is the source's own.
        if (r.timestampType !== 'LogAppendTime' || r.value === null) continue;
        const sentAt = heartbeatSentAt(r.value);
        if (newest === undefined || sentAt > newest.sentAt)
          newest = { lagMs: r.timestamp - sentAt, sentAt, appendedAt: r.timestamp };
      }
      return newest;
    },
    async stop() {
      if (isOurs(pid, marker)) await stopGracefully(pid, 10_000);
      live.delete(entry);
    },
  };
  return mirror;
}
