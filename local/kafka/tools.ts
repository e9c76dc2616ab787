// Kafka's own admin tools (kafka-tools jar) run as `java -cp` against a local cluster, for what
// kafkajs cannot do: the KRaft quorum leader (MetadataQuorumCommand) and leader elections
// (LeaderElectionCommand). On a real host the same classes run through the SSM documents.
import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cacheRoot, ensureJars } from '../maven.js';
import { JAR_SET, type ClusterMode } from './config.js';

export interface ToolResult {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Tools log warnings to stderr only, so stdout is the tool's answer. */
const TOOLS_LOG4J2 = `<?xml version="1.0" encoding="UTF-8"?>
<Configuration status="error">
  <Appenders><Console name="err" target="SYSTEM_ERR"><PatternLayout pattern="%p %m%n"/></Console></Appenders>
  <Loggers><Root level="warn"><AppenderRef ref="err"/></Root></Loggers>
</Configuration>
`;
const TOOLS_LOG4J = `log4j.rootLogger=WARN, stderr
log4j.appender.stderr=org.apache.log4j.ConsoleAppender
log4j.appender.stderr.Target=System.err
log4j.appender.stderr.layout=org.apache.log4j.PatternLayout
log4j.appender.stderr.layout.ConversionPattern=%p %m%n
`;

function logConfig(mode: ClusterMode): string[] {
  const dir = join(cacheRoot(), 'tools');
  mkdirSync(dir, { recursive: true });
  if (mode === 'kraft') {
    const f = join(dir, 'log4j2.xml');
    writeFileSync(f, TOOLS_LOG4J2);
    return [`-Dlog4j2.configurationFile=${f}`];
  }
  const f = join(dir, 'log4j.properties');
  writeFileSync(f, TOOLS_LOG4J);
  return [`-Dlog4j.configuration=file:${f}`];
}

/** Runs a Kafka tool main class with the jars of the cluster's mode; never throws for a non-zero exit. */
export async function runKafkaTool(
  mode: ClusterMode,
  mainClass: string,
  args: string[],
  timeoutMs = 60_000,
): Promise<ToolResult> {
  const jarDir = await ensureJars(JAR_SET[mode], () => undefined);
  const started = Date.now();
  const jvm = [
    '-Xmx256m',
    '-XX:TieredStopAtLevel=1',
    '-XX:+UseSerialGC',
    ...logConfig(mode),
    '-cp',
    join(jarDir, '*'),
    mainClass,
    ...args,
  ];
  return new Promise((resolve) => {
    execFile('java', jvm, { timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({
        code,
        stdout,
        stderr: err && err.killed ? `${stderr}\n(killed after ${timeoutMs} ms)` : stderr,
        ms: Date.now() - started,
      });
    });
  });
}

export interface QuorumStatus {
  leaderId: number;
  leaderEpoch: number;
  voters: number[];
  observers: number[];
}

function ids(line: string | undefined): number[] {
  return [...(line ?? '').matchAll(/"id":\s*(\d+)/g)].map((m) => Number(m[1]));
}

/** Parses `MetadataQuorumCommand describe --status` output. */
export function parseQuorumStatus(stdout: string): QuorumStatus {
  const field = (name: string) => stdout.match(new RegExp(`^${name}:\\s*(.*)$`, 'm'))?.[1]?.trim();
  const leader = field('LeaderId');
  if (leader === undefined || !/^-?\d+$/.test(leader))
    throw new Error(`no LeaderId in MetadataQuorumCommand output:\n${stdout}`);
  return {
    leaderId: Number(leader),
    leaderEpoch: Number(field('LeaderEpoch') ?? -1),
    voters: ids(field('CurrentVoters')),
    observers: ids(field('CurrentObservers')),
  };
}

/** The KRaft quorum as the controllers see it (leader, voters, observers). */
export async function describeQuorum(bootstrapServers: string, timeoutMs = 60_000): Promise<QuorumStatus> {
  const r = await runKafkaTool(
    'kraft',
    'org.apache.kafka.tools.MetadataQuorumCommand',
    ['--bootstrap-server', bootstrapServers, 'describe', '--status'],
    timeoutMs,
  );
  if (r.code !== 0)
    throw new Error(`MetadataQuorumCommand exited with ${r.code}: ${r.stderr.trim() || r.stdout.trim()}`);
  return parseQuorumStatus(r.stdout);
}

/** Moves leadership back to the preferred replicas of every partition (what a healer does after a restart). */
export async function electPreferredLeaders(
  mode: ClusterMode,
  bootstrapServers: string,
  timeoutMs = 60_000,
): Promise<ToolResult> {
  return runKafkaTool(
    mode,
    'org.apache.kafka.tools.LeaderElectionCommand',
    ['--bootstrap-server', bootstrapServers, '--election-type', 'preferred', '--all-topic-partitions'],
    timeoutMs,
  );
}
