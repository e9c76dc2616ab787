// The local Kafka supervisor: starts real Apache Kafka brokers (jars from Maven Central) as JVM
// processes on 127.0.0.1, injects faults into them, and tears them down without leaving a
// process behind. KRaft mode runs Kafka 4.x with combined broker+controller nodes; ZooKeeper
// mode runs Kafka 3.9 brokers against a 3-node ZooKeeper ensemble from the same jars.
// Every JVM is spawned in its own process group and recorded in a state file (state.ts), so
// another process (`kafka-heal local fault|status|down`) can act on it and a later run can
// clean up after a crashed one.
import { execFile, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  rmSync,
  statSync,
  statfsSync,
  utimesSync,
  writeFileSync,
  writeSync,
  fstatSync,
} from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { isMainThread } from 'node:worker_threads';
import { cacheRoot, ensureJars } from '../maven.js';
import {
  BROKER_HEAP,
  JAR_SET,
  KRAFT_VOTERS,
  LOG4J2_XML,
  LOG4J_PROPERTIES,
  ZK_HEAP,
  ZK_SESSION_TIMEOUT_MS,
  clientProperties,
  jvmArgs,
  kraftBrokerProps,
  markerProp,
  newClusterId,
  renderProps,
  scramFormatArgs,
  unsecuredJwt,
  zkBrokerProps,
  zooCfg,
  type BrokerPlan,
  type ClusterMode,
  type LocalSecurityOptions,
  type NodeExtras,
  type SecuredListener,
  type ZkPlan,
} from './config.js';
import { localCertificates, makeLocalCertificates, type LocalCertificates } from './tls.js';
import { runKafkaTool } from './tools.js';
import type { ProbeSecurity } from '#shared/probe/index.js';
import type { SecurityRef } from '#shared/kafka-security.js';
import {
  ClusterNotFoundError,
  ClusterNotHealthyError,
  ClusterRunningError,
  DiskLimitError,
  NodeFailedError,
  NodeNotRunningError,
  UnknownFaultError,
  UnknownNodeError,
} from './errors.js';
import { checkHealth, touchOffsetsTopic, type HealthReport } from './health.js';
import { zookeeperMode } from '#shared/zookeeper.js';
import { zkExists } from './zk-client.js';
import {
  delay,
  isOurs,
  killGroupNow,
  procStartTime,
  procState,
  signalGroup,
  stopGracefully,
  waitExit,
  waitState,
} from './processes.js';
import {
  CLUSTER_NAME,
  listStates,
  readState,
  removeState,
  writeState,
  type BrokerRecord,
  type ClusterState,
  type NodeState,
  type SecurityRecord,
  type ZkRecord,
} from './state.js';

export type { ClusterMode, LocalSecurityOptions } from './config.js';
export type { NodeState } from './state.js';

export const FAULT_ACTIONS = ['crash', 'hang', 'resume', 'stop', 'start', 'restart', 'fill-disk', 'free-disk'] as const;
export type FaultAction = (typeof FAULT_ACTIONS)[number];
export const ZK_FAULT_ACTIONS = ['crash', 'hang', 'resume', 'stop', 'start', 'restart'] as const;
export type ZkFaultAction = (typeof ZK_FAULT_ACTIONS)[number];

/** Graceful stop: SIGTERM, then SIGKILL after this long (a broker without quorum blocks on SIGTERM). */
export const STOP_GRACE_MS = 10_000;
export const DEFAULT_DISK_LIMIT_MB = 256;
export const DEFAULT_FILL_PERCENT = 95;

export interface StartOptions {
  name?: string;
  /** 3-5 brokers; default 3. */
  brokers?: number;
  mode?: ClusterMode;
  /** Folder for configs, logs and data; default <tmpdir>/kafka-heal/<name>. Wiped at start. */
  workDir?: string;
  log?: (line: string) => void;
  /**
   * Size of a tmpfs mounted under each broker's log dir, for fill-disk/free-disk. Default 256
   * when running as root, else 0 (no mount; disk faults then fail with DiskLimitError).
   */
  diskLimitMb?: number;
  /**
   * Once healthy, the JVMs outlive this process (for `kafka-heal local up`); a start that fails
   * or is interrupted still kills them.
   */
  detached?: boolean;
  /** Readiness bound for the start; default 180 s. */
  readyTimeoutMs?: number;
  /**
   * Per-node additions, e.g. the Prometheus exporters of a monitored drill: JVM flags and
   * classpath folders (kept in the state, so restarts from any process keep them), and for
   * ZooKeeper extra zoo.cfg entries.
   */
  nodeExtras?: {
    broker?: (id: number) => NodeExtras;
    zookeeper?: (id: number) => NodeExtras & { config?: Record<string, string> };
  };
  /**
   * A secured listener (KRaft mode) for the healer's clients beside the PLAINTEXT one the brokers
   * and the test harness use: TLS, mTLS, SASL (SCRAM users made at format time, PLAIN, or
   * OAUTHBEARER with Kafka's unsecured JWS validator). Certificates are made into the cache.
   */
  security?: LocalSecurityOptions;
}

/** A secured cluster's listener, credentials and certificates (local test credentials only). */
export interface LocalClusterSecurity {
  protocol: LocalSecurityOptions['protocol'];
  mechanism?: LocalSecurityOptions['mechanism'];
  clientAuth: boolean;
  /** The SECURED listener of every broker. */
  bootstrapServers: string;
  /** TLS: the EXPIRED listener of every broker (same security, an expired certificate). */
  expiredBootstrapServers?: string;
  certificates: LocalCertificates;
  username: string;
  /** The password the brokers hold now (PLAIN, SCRAM). */
  password: string;
  /** The client properties file Kafka's CLI tools connect with (--command-config). */
  clientProperties: string;
  /** The probe's settings with what the brokers accept now. */
  probeSecurity(): ProbeSecurity;
  /** What a deployment would have: the security reference (secret ids) and the Secrets Manager contents. */
  secrets(): { ref: SecurityRef; values: Record<string, string> };
  /** SCRAM: a new password for the user on the brokers (kafka-configs, AlterUserScramCredentials); returns it. */
  rotatePassword(newPassword?: string): Promise<string>;
}

export interface BrokerView {
  id: number;
  host: string;
  port: number;
  /** A secured cluster: the broker's SECURED listener port. */
  securedPort?: number;
  pid?: number;
  state: NodeState;
}

export interface ZkView {
  id: number;
  host: string;
  port: number;
  pid?: number;
  state: NodeState;
}

export interface DiskUsage {
  sizeMb: number;
  usedPercent: number;
  ballastMb: number;
  /** The heap dump dir on this disk, where fill-disk's ballast (an old heap dump) lies. */
  heapDumpDir: string;
}

export interface ClusterStatus {
  name: string;
  mode: ClusterMode;
  bootstrapServers: string;
  brokers: (BrokerView & { registered: boolean; disk?: DiskUsage })[];
  zookeeper: (ZkView & { serving?: string })[];
  health: HealthReport;
}

export interface LocalCluster {
  readonly name: string;
  readonly mode: ClusterMode;
  readonly bootstrapServers: string;
  readonly workDir: string;
  /** Current view; process state is reconciled with /proc on every read. */
  readonly brokers: BrokerView[];
  readonly zookeeper?: { connect: string; nodes: ZkView[] };
  /** A secured cluster's listener and credentials (StartOptions.security). */
  readonly security?: LocalClusterSecurity;
  fault(action: FaultAction, brokerId: number, opts?: { percent?: number }): Promise<void>;
  zkFault(action: ZkFaultAction, zkId: number): Promise<void>;
  /** Polls until every broker is registered and every ISR is full; returns ms waited. */
  waitHealthy(timeoutMs?: number): Promise<number>;
  /** Polls until the broker is no longer in the cluster metadata; returns ms waited. */
  waitUnregistered(brokerId: number, timeoutMs?: number): Promise<number>;
  health(timeoutMs?: number): Promise<HealthReport>;
  status(): Promise<ClusterStatus>;
  disk(brokerId: number): DiskUsage;
  /** Pids of every JVM started for this cluster (for leak checks). */
  pids(): number[];
  /** Kills every JVM, unmounts the disks, forgets the state. Idempotent. */
  stop(): Promise<void>;
}

type Log = (line: string) => void;

// ---------------------------------------------------------------- ports, files, mounts

/** n distinct ports free on 127.0.0.1 now (also for the monitored drills' exporters and servers). */
export async function freePorts(n: number): Promise<number[]> {
  // Hold all listeners open together so the ports are distinct, then release them.
  const servers: Server[] = [];
  try {
    for (let i = 0; i < n; i++) {
      const s = createServer();
      await new Promise<void>((resolve, reject) => {
        s.once('error', reject);
        s.listen(0, '127.0.0.1', () => resolve());
      });
      servers.push(s);
    }
    return servers.map((s) => {
      const a = s.address();
      if (a === null || typeof a === 'string') throw new Error('no port');
      return a.port;
    });
  } finally {
    await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
  }
}

function tail(file: string, lines = 30): string {
  try {
    const fd = openSync(file, 'r');
    try {
      const size = fstatSync(fd).size;
      const len = Math.min(size, 16_384);
      const buf = Buffer.alloc(len);
      readSync(fd, buf, 0, len, size - len);
      return buf.toString('utf8').split('\n').slice(-lines).join('\n');
    } finally {
      closeSync(fd);
    }
  } catch {
    return '(no log)';
  }
}

function isMounted(dir: string): boolean {
  try {
    return readFileSync('/proc/mounts', 'utf8')
      .split('\n')
      .some((l) => l.split(' ')[1] === dir);
  } catch {
    return false;
  }
}

function mountTmpfs(dir: string, sizeMb: number, label: string): void {
  mkdirSync(dir, { recursive: true });
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    throw new DiskLimitError(
      `cannot mount a ${sizeMb} MiB tmpfs on ${dir}: mounting needs root (run as root, or start with diskLimitMb 0 and no disk faults)`,
    );
  }
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeMb}m,mode=0755`, label, dir], { stdio: 'pipe' });
  } catch (err) {
    const e = err as { stderr?: Buffer; message: string };
    throw new DiskLimitError(
      `cannot mount a ${sizeMb} MiB tmpfs on ${dir}: ${e.stderr?.toString().trim() || e.message}`,
    );
  }
}

function unmount(dir: string): void {
  if (!isMounted(dir)) return;
  try {
    execFileSync('umount', [dir], { stdio: 'pipe' });
  } catch {
    // busy (a process still has files open): detach it now, the kernel frees it when unused
    try {
      execFileSync('umount', ['-l', dir], { stdio: 'pipe' });
    } catch {
      // nothing more to do
    }
  }
}

/** The size-limited disk: the mount that holds the broker's data dir (`<disk>/data`). */
function diskDir(b: BrokerRecord): string {
  return dirname(b.dataDir);
}

/** Where the broker's JVM would write heap dumps on its data disk (-XX:HeapDumpPath). */
export function heapDumpDirOf(dataDir: string): string {
  return join(dirname(dataDir), 'dumps');
}

/**
 * The fill-disk ballast: a heap dump an earlier JVM left on the data disk, two hours old. That is
 * what fills a broker's data volume without being Kafka data, and what kafka-free-disk may
 * delete (old *.hprof in the heap dump dirs); segment files are never ballast.
 */
function ballastPath(b: BrokerRecord): string {
  return join(heapDumpDirOf(b.dataDir), `java_pid${b.id}.hprof`);
}

const BALLAST_AGE_MS = 2 * 3600_000;

function diskUsage(b: BrokerRecord): DiskUsage {
  if (!b.mount)
    throw new DiskLimitError(
      `broker ${b.id} has no size-limited disk; start the cluster with diskLimitMb > 0 (needs root)`,
    );
  const s = statfsSync(diskDir(b));
  const total = s.blocks * s.bsize;
  const used = (s.blocks - s.bfree) * s.bsize;
  const ballast = existsSync(ballastPath(b)) ? statSync(ballastPath(b)).size : 0;
  return {
    sizeMb: Math.round(total / 1048576),
    usedPercent: Math.round((used / total) * 1000) / 10,
    ballastMb: Math.round(ballast / 1048576),
    heapDumpDir: heapDumpDirOf(b.dataDir),
  };
}

/** Grows or shrinks the ballast file so the mount is `percent` full (writes real blocks). */
function fillDisk(b: BrokerRecord, percent: number): void {
  if (!b.mount)
    throw new DiskLimitError(
      `broker ${b.id} has no size-limited disk; start the cluster with diskLimitMb > 0 (needs root)`,
    );
  const p = ballastPath(b);
  rmSync(p, { force: true });
  mkdirSync(dirname(p), { recursive: true });
  const s = statfsSync(diskDir(b));
  const total = s.blocks * s.bsize;
  const used = (s.blocks - s.bfree) * s.bsize;
  const want = Math.max(0, Math.floor((total * percent) / 100) - used);
  const fd = openSync(p, 'w');
  try {
    const chunk = Buffer.alloc(1024 * 1024, 0x6b);
    let left = want;
    while (left > 0) {
      const n = Math.min(left, chunk.length);
      writeSync(fd, chunk, 0, n);
      left -= n;
    }
  } finally {
    closeSync(fd);
  }
  const old = new Date(Date.now() - BALLAST_AGE_MS);
  utimesSync(p, old, old);
}

/** ZooKeeper's own view: 'leader' | 'follower' | 'standalone', or undefined when not serving. */
export async function zkMode(port: number): Promise<string | undefined> {
  const mode = await zookeeperMode('127.0.0.1', port);
  return mode === 'not-serving' || mode === 'unreachable' ? undefined : mode;
}

// ---------------------------------------------------------------- exit hooks

const live = new Map<string, Supervisor>();
let hooksInstalled = false;

function installExitHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on('exit', () => {
    for (const s of live.values()) s.killNow();
  });
  if (!isMainThread) return;
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      for (const s of live.values()) s.killNow();
      process.exit(sig === 'SIGINT' ? 130 : 143);
    });
  }
}

// ---------------------------------------------------------------- the supervisor

class Supervisor implements LocalCluster {
  constructor(
    private st: ClusterState,
    private readonly log: Log,
  ) {}

  get name() {
    return this.st.name;
  }
  get mode() {
    return this.st.mode;
  }
  get workDir() {
    return this.st.workDir;
  }
  get bootstrapServers() {
    return this.st.brokers.map((b) => `127.0.0.1:${b.port}`).join(',');
  }

  /**
   * Adopts the state file when it describes this same cluster: another process (`kafka-heal
   * local fault`, a drill's systemctl shim) may have restarted a node and recorded its new pid.
   */
  private refresh(): void {
    const disk = readState(this.st.name);
    if (disk && disk.createdAt === this.st.createdAt && disk.ownerPid === this.st.ownerPid) this.st = disk;
  }

  private reconcile(): void {
    this.refresh();
    let changed = false;
    for (const n of [...this.st.brokers, ...this.st.zookeeper]) {
      const ps = procState(n.pid);
      const next: NodeState =
        ps === 'dead' ? (n.state === 'stopped' ? 'stopped' : 'crashed') : ps === 'stopped' ? 'hung' : 'running';
      if (next !== n.state) {
        n.state = next;
        changed = true;
      }
    }
    if (changed) this.save();
  }

  get brokers(): BrokerView[] {
    this.reconcile();
    return this.st.brokers.map((b) => ({
      id: b.id,
      host: '127.0.0.1',
      port: b.port,
      ...(b.securedPort !== undefined ? { securedPort: b.securedPort } : {}),
      ...(b.pid !== undefined ? { pid: b.pid } : {}),
      state: b.state,
    }));
  }

  get security(): LocalClusterSecurity | undefined {
    this.refresh();
    const rec = this.st.security;
    if (!rec) return undefined;
    const certificates = localCertificates(rec.certDir);
    const tls = rec.protocol !== 'SASL_PLAINTEXT';
    const list = (port: (b: BrokerRecord) => number | undefined) =>
      this.st.brokers.map((b) => `127.0.0.1:${port(b)}`).join(',');
    const secretId = (what: string) => `kafka-heal/${this.st.name}/${what}`;
    const readPem = (f: string) => readFileSync(f, 'utf8');
    const token = () => unsecuredJwt(rec.username, Date.now(), 24 * 3600_000);
    return {
      protocol: rec.protocol,
      ...(rec.mechanism !== undefined ? { mechanism: rec.mechanism } : {}),
      clientAuth: rec.clientAuth,
      bootstrapServers: list((b) => b.securedPort),
      ...(tls ? { expiredBootstrapServers: list((b) => b.expiredPort) } : {}),
      certificates,
      username: rec.username,
      password: rec.password,
      clientProperties: rec.clientProperties,
      probeSecurity: () => ({
        ...(tls
          ? {
              tls: {
                ca: readPem(certificates.ca),
                ...(rec.clientAuth
                  ? { cert: readPem(certificates.clientCert), key: readPem(certificates.clientKey) }
                  : {}),
              },
            }
          : {}),
        ...(rec.mechanism === 'OAUTHBEARER'
          ? { sasl: { mechanism: 'OAUTHBEARER' as const, token: () => Promise.resolve(token()) } }
          : rec.mechanism !== undefined
            ? { sasl: { mechanism: rec.mechanism, username: rec.username, password: rec.password } }
            : {}),
      }),
      secrets: () => {
        const values: Record<string, string> = {};
        const ref: SecurityRef = {
          protocol: rec.protocol,
          ...(rec.mechanism !== undefined ? { mechanism: rec.mechanism } : {}),
        };
        if (rec.mechanism !== undefined) {
          ref.credentialsSecret = secretId('credentials');
          values[ref.credentialsSecret] = JSON.stringify(
            rec.mechanism === 'OAUTHBEARER' ? { token: token() } : { username: rec.username, password: rec.password },
          );
        }
        if (tls) {
          ref.tls = { caSecret: secretId('ca') };
          values[ref.tls.caSecret as string] = readPem(certificates.ca);
          if (rec.clientAuth) {
            ref.tls.clientCertificateSecret = secretId('client-certificate');
            values[ref.tls.clientCertificateSecret] = JSON.stringify({
              certificate: readPem(certificates.clientCert),
              privateKey: readPem(certificates.clientKey),
            });
          }
        }
        return { ref, values };
      },
      rotatePassword: (newPassword) => this.rotatePassword(newPassword),
    };
  }

  /** SCRAM: sets a new password on the brokers through the PLAINTEXT listener, as an operator would with kafka-configs. */
  private async rotatePassword(newPassword = randomBytes(18).toString('base64url')): Promise<string> {
    this.refresh();
    const rec = this.st.security;
    if (rec?.mechanism !== 'SCRAM-SHA-256' && rec?.mechanism !== 'SCRAM-SHA-512')
      throw new RangeError(`cluster ${this.name} has no SCRAM listener to rotate a password on`);
    const r = await runKafkaTool(this.st.mode, 'kafka.admin.ConfigCommand', [
      '--bootstrap-server',
      this.runningBootstrap().join(','),
      '--alter',
      '--add-config',
      `${rec.mechanism}=[password=${newPassword}]`,
      '--entity-type',
      'users',
      '--entity-name',
      rec.username,
    ]);
    if (r.code !== 0)
      throw new Error(
        `kafka-configs could not set the SCRAM password of ${rec.username}: exit ${r.code}: ${r.stderr.trim().split('\n').slice(-3).join(' ')}`,
      );
    // Reading the cluster (above) reloads the state: change the record as it is now.
    this.refresh();
    const now = this.st.security ?? rec;
    now.password = newPassword;
    writeFileSync(
      now.clientProperties,
      renderProps(
        clientProperties(securedListenerOf(now), { keystore: localCertificates(now.certDir).clientKeystore }),
      ),
      { mode: 0o600 },
    );
    this.save();
    return newPassword;
  }

  get zookeeper() {
    if (this.st.mode !== 'zookeeper') return undefined;
    this.reconcile();
    return {
      connect: `${this.st.zookeeper.map((z) => `127.0.0.1:${z.clientPort}`).join(',')}/${this.st.chroot}`,
      nodes: this.st.zookeeper.map((z) => ({
        id: z.id,
        host: '127.0.0.1',
        port: z.clientPort,
        ...(z.pid !== undefined ? { pid: z.pid } : {}),
        state: z.state,
      })),
    };
  }

  private save(): void {
    writeState(this.st);
  }

  pids(): number[] {
    return [...this.st.brokers, ...this.st.zookeeper].map((n) => n.pid).filter((p): p is number => p !== undefined);
  }

  private broker(id: number): BrokerRecord {
    const b = this.st.brokers.find((x) => x.id === id);
    if (!b)
      throw new UnknownNodeError(
        `cluster ${this.name} has no broker ${id} (brokers: ${this.st.brokers.map((x) => x.id).join(', ')})`,
      );
    return b;
  }

  private zk(id: number): ZkRecord {
    const z = this.st.zookeeper.find((x) => x.id === id);
    if (!z)
      throw new UnknownNodeError(
        `cluster ${this.name} has no ZooKeeper node ${id} (nodes: ${this.st.zookeeper.map((x) => x.id).join(', ') || 'none'})`,
      );
    return z;
  }

  // -------- processes

  private javaArgs(node: BrokerRecord | ZkRecord, kind: 'broker' | 'zk'): string[] {
    const logConfig = join(this.st.workDir, this.st.mode === 'kraft' ? 'log4j2.xml' : 'log4j.properties');
    return jvmArgs({
      jarDir: this.st.jarDir,
      mode: this.st.mode,
      heap: kind === 'broker' ? BROKER_HEAP : ZK_HEAP,
      marker: node.marker,
      logConfig,
      mainClass: kind === 'broker' ? 'kafka.Kafka' : 'org.apache.zookeeper.server.quorum.QuorumPeerMain',
      args: [node.config],
      ...(node.extras ? { extras: node.extras } : {}),
    });
  }

  private spawnNode(node: BrokerRecord | ZkRecord, kind: 'broker' | 'zk'): void {
    if (isOurs(node.pid, node.marker)) return; // already running: start is a no-op
    const logFile = join(node.dir, 'server.log');
    const fd = openSync(logFile, 'a');
    try {
      writeSync(fd, `\n===== kafka-heal: starting ${kind} ${node.id} at ${new Date().toISOString()} =====\n`);
      const child = spawn('java', this.javaArgs(node, kind), {
        cwd: node.dir,
        detached: true,
        stdio: ['ignore', fd, fd],
      });
      child.on('error', (err) => this.log(`kafka-heal: cannot start java for ${kind} ${node.id}: ${err.message}`));
      child.unref();
      if (child.pid === undefined)
        throw new NodeFailedError(`${kind} ${node.id} did not start (is java on PATH?)`, tail(logFile));
      node.pid = child.pid;
      node.state = 'running';
    } finally {
      closeSync(fd);
    }
    this.save();
  }

  private async applyFault(node: BrokerRecord | ZkRecord, kind: 'broker' | 'zk', action: ZkFaultAction): Promise<void> {
    if (action === 'hang' && !isOurs(node.pid, node.marker))
      throw new NodeNotRunningError(`${kind} ${node.id} of ${this.name} is not running; cannot hang it`);
    const alive = isOurs(node.pid, node.marker);
    const pid = node.pid;
    // Waits below poll the cluster (probes, health checks, the systemctl shim), and each poll
    // reloads the state file: after a wait, act on the record as it is now, or the change lands
    // on a copy nobody saves (a restarted JVM nobody knows the pid of).
    const current = (): BrokerRecord | ZkRecord => (kind === 'broker' ? this.broker(node.id) : this.zk(node.id));
    switch (action) {
      case 'crash':
        if (alive && pid !== undefined) {
          killGroupNow(pid);
          await waitExit(pid, 10_000);
        }
        current().state = 'crashed';
        break;
      case 'hang':
        if (pid === undefined) break;
        signalGroup(pid, 'SIGSTOP');
        await waitState(pid, 'stopped', 5000);
        current().state = 'hung';
        break;
      case 'resume':
        if (alive && pid !== undefined) {
          signalGroup(pid, 'SIGCONT');
          await waitState(pid, 'running', 5000);
          current().state = 'running';
        }
        break;
      case 'stop':
        if (alive && pid !== undefined) {
          const how = await stopGracefully(pid, STOP_GRACE_MS);
          if (how === 'killed')
            this.log(`kafka-heal: ${kind} ${node.id} ignored SIGTERM for ${STOP_GRACE_MS / 1000} s; killed`);
        }
        current().state = 'stopped';
        break;
      case 'start':
        if (!alive) await this.awaitOldZkSession(node, kind);
        this.spawnNode(current(), kind);
        break;
      case 'restart': {
        // Like systemd's restart of a hung unit: SIGCONT+SIGTERM, SIGKILL after the grace time.
        let killed = false;
        if (alive && pid !== undefined) {
          const how = await stopGracefully(pid, STOP_GRACE_MS);
          killed = how === 'killed';
          if (killed) this.log(`kafka-heal: ${kind} ${node.id} ignored SIGTERM for ${STOP_GRACE_MS / 1000} s; killed`);
        }
        current().pid = undefined;
        // A graceful stop closed the ZooKeeper session; a crash or a kill left the registration behind.
        if (!alive || killed) await this.awaitOldZkSession(node, kind);
        this.spawnNode(current(), kind);
        break;
      }
    }
    this.save();
  }

  /**
   * ZooKeeper mode: a crashed (or killed) broker's registration, an ephemeral znode, lives until
   * its ZooKeeper session expires, and a broker started before that exits at once with
   * NodeExistsException. Wait until ZooKeeper itself says /brokers/ids/<id> is gone, bounded by
   * the session timeout plus a margin; a session can only expire once the ensemble has a leader,
   * so after a lost quorum this wait starts counting when the quorum is back. ZooKeeper is asked
   * directly because after every broker was stopped (quorum-recovery) there is no broker to
   * observe through; when no ZooKeeper server can tell (no quorum), it falls back to the running
   * brokers' metadata, and with neither it starts anyway (the log says so if it fails).
   * Returns the node's record as it is in the state after the wait: polling reloads the state
   * file, so the record passed in may no longer be the one that gets saved.
   */
  private async awaitOldZkSession<T extends BrokerRecord | ZkRecord>(node: T, kind: 'broker' | 'zk'): Promise<T> {
    if (kind !== 'broker' || this.st.mode !== 'zookeeper') return node;
    const path = `/${this.st.chroot ?? ''}/brokers/ids/${node.id}`.replace(/\/+/g, '/');
    const started = Date.now();
    const bound = ZK_SESSION_TIMEOUT_MS + 15_000;
    while (Date.now() - started < bound) {
      const answers = await Promise.all(
        this.st.zookeeper
          .filter((z) => procState(z.pid) === 'running')
          .map((z) => zkExists(z.clientPort, path, { timeoutMs: 1000 })),
      );
      if (answers.includes(false)) return this.broker(node.id) as T;
      if (!answers.includes(true)) {
        // No server can tell (no quorum): ask the running brokers, if any.
        const others = this.st.brokers.filter(
          (b) => b.id !== node.id && isOurs(b.pid, b.marker) && procState(b.pid) === 'running',
        );
        if (others.length === 0) break;
        try {
          await this.waitUnregistered(node.id, Math.max(1000, bound - (Date.now() - started)));
          return this.broker(node.id) as T;
        } catch {
          break;
        }
      }
      await delay(250);
    }
    this.log(
      `kafka-heal: broker ${node.id} may still be registered in ZooKeeper (${Date.now() - started} ms); starting it anyway`,
    );
    return this.broker(node.id) as T;
  }

  async fault(action: FaultAction, brokerId: number, opts: { percent?: number } = {}): Promise<void> {
    if (!(FAULT_ACTIONS as readonly string[]).includes(action))
      throw new UnknownFaultError(`unknown fault "${action}" (one of ${FAULT_ACTIONS.join(', ')})`);
    this.refresh();
    const b = this.broker(brokerId);
    if (action === 'fill-disk') {
      const percent = opts.percent ?? DEFAULT_FILL_PERCENT;
      if (!(percent > 0 && percent < 100))
        throw new RangeError(`fill percent must be between 0 and 100, got ${percent}`);
      fillDisk(b, percent);
      return;
    }
    if (action === 'free-disk') {
      if (!b.mount)
        throw new DiskLimitError(
          `broker ${b.id} has no size-limited disk; start the cluster with diskLimitMb > 0 (needs root)`,
        );
      rmSync(ballastPath(b), { force: true });
      return;
    }
    await this.applyFault(b, 'broker', action);
  }

  async zkFault(action: ZkFaultAction, zkId: number): Promise<void> {
    if (!(ZK_FAULT_ACTIONS as readonly string[]).includes(action))
      throw new UnknownFaultError(`unknown ZooKeeper fault "${action}" (one of ${ZK_FAULT_ACTIONS.join(', ')})`);
    this.refresh();
    await this.applyFault(this.zk(zkId), 'zk', action);
  }

  disk(brokerId: number): DiskUsage {
    return diskUsage(this.broker(brokerId));
  }

  // -------- health

  private runningBootstrap(): string[] {
    this.reconcile();
    return this.st.brokers.filter((b) => b.state === 'running').map((b) => `127.0.0.1:${b.port}`);
  }

  health(timeoutMs = 5000): Promise<HealthReport> {
    return checkHealth({ bootstrap: this.runningBootstrap(), expected: this.st.brokers.map((b) => b.id), timeoutMs });
  }

  /** Fails fast when a node that should run has died, with the end of its log. */
  private assertNodesAlive(): void {
    for (const [kind, nodes] of [
      ['broker', this.st.brokers],
      ['zookeeper', this.st.zookeeper],
    ] as const) {
      for (const n of nodes) {
        if (n.state === 'running' && procState(n.pid) === 'dead') {
          n.state = 'crashed';
          this.save();
          throw new NodeFailedError(
            `${kind} ${n.id} of cluster ${this.name} exited unexpectedly (log: ${join(n.dir, 'server.log')})`,
            tail(join(n.dir, 'server.log')),
          );
        }
      }
    }
  }

  async waitHealthy(timeoutMs = 120_000, opts: { requireOffsetsTopic?: boolean } = {}): Promise<number> {
    const started = Date.now();
    let last: HealthReport | undefined;
    for (;;) {
      this.assertNodesAlive();
      const bootstrap = this.runningBootstrap();
      if (opts.requireOffsetsTopic) await touchOffsetsTopic(bootstrap, 3000);
      last = await checkHealth({
        bootstrap,
        expected: this.st.brokers.map((b) => b.id),
        ...(opts.requireOffsetsTopic ? { requireTopics: ['__consumer_offsets'] } : {}),
        timeoutMs: 5000,
      });
      if (last.healthy) return Date.now() - started;
      if (Date.now() - started > timeoutMs) {
        throw new ClusterNotHealthyError(
          `cluster ${this.name} not healthy after ${Date.now() - started} ms: ${JSON.stringify(last)}`,
          last,
        );
      }
      await delay(250);
    }
  }

  async waitUnregistered(brokerId: number, timeoutMs = 30_000): Promise<number> {
    this.broker(brokerId);
    const started = Date.now();
    for (;;) {
      const r = await checkHealth({ bootstrap: this.runningBootstrap(), expected: [], timeoutMs: 3000 });
      if (r.error === undefined && !r.registered.includes(brokerId)) return Date.now() - started;
      if (Date.now() - started > timeoutMs)
        throw new ClusterNotHealthyError(`broker ${brokerId} still registered after ${Date.now() - started} ms`, r);
      await delay(100);
    }
  }

  async status(): Promise<ClusterStatus> {
    const health = await this.health(4000);
    const zkModes = await Promise.all(
      this.st.zookeeper.map((z) =>
        procState(z.pid) === 'running' ? zkMode(z.clientPort) : Promise.resolve(undefined),
      ),
    );
    return {
      name: this.name,
      mode: this.mode,
      bootstrapServers: this.bootstrapServers,
      brokers: this.brokers.map((b) => {
        const rec = this.broker(b.id);
        return { ...b, registered: health.registered.includes(b.id), ...(rec.mount ? { disk: diskUsage(rec) } : {}) };
      }),
      zookeeper: (this.zookeeper?.nodes ?? []).map((z, i) => ({
        ...z,
        ...(zkModes[i] !== undefined ? { serving: zkModes[i] } : {}),
      })),
      health,
    };
  }

  // -------- teardown

  /** Synchronous teardown for exit hooks: SIGCONT+SIGKILL every group, unmount, forget. */
  killNow(): void {
    const onDisk = readState(this.st.name);
    const nodes = [
      ...this.st.brokers,
      ...this.st.zookeeper,
      ...(onDisk && onDisk.createdAt === this.st.createdAt ? [...onDisk.brokers, ...onDisk.zookeeper] : []),
    ];
    for (const n of nodes) {
      if (n.pid !== undefined && isOurs(n.pid, n.marker)) killGroupNow(n.pid);
    }
    for (const b of this.st.brokers) if (b.mount) unmount(diskDir(b));
    removeState(this.st.name);
    live.delete(this.st.name);
  }

  async stop(): Promise<void> {
    const before = [...this.st.brokers, ...this.st.zookeeper];
    this.refresh();
    const pids = [
      ...new Set(
        [...before, ...this.st.brokers, ...this.st.zookeeper]
          .filter((n) => n.pid !== undefined && isOurs(n.pid, n.marker))
          .map((n) => n.pid as number),
      ),
    ];
    for (const pid of pids) killGroupNow(pid);
    await Promise.all(pids.map((pid) => waitExit(pid, 10_000)));
    for (const n of [...this.st.brokers, ...this.st.zookeeper]) n.state = 'stopped';
    for (const b of this.st.brokers) if (b.mount) unmount(diskDir(b));
    removeState(this.st.name);
    live.delete(this.st.name);
  }

  // -------- start

  /** Until untrack(), this process's exit (or SIGINT/SIGTERM) kills the cluster. */
  track(): void {
    live.set(this.st.name, this);
    installExitHooks();
  }

  /** A detached cluster, once healthy, outlives this process. */
  untrack(): void {
    live.delete(this.st.name);
  }

  async formatAll(): Promise<void> {
    if (this.st.mode !== 'kraft' || this.st.clusterId === undefined) return;
    const clusterId = this.st.clusterId;
    await Promise.all(
      this.st.brokers.map(
        (b) =>
          new Promise<void>((resolve, reject) => {
            const args = jvmArgs({
              jarDir: this.st.jarDir,
              mode: 'kraft',
              heap: ['-Xmx256m', '-XX:TieredStopAtLevel=1'],
              marker: `${b.marker}-format`,
              logConfig: join(this.st.workDir, 'log4j2.xml'),
              mainClass: 'kafka.tools.StorageTool',
              args: [
                'format',
                '-t',
                clusterId,
                '-c',
                b.config,
                ...scramFormatArgs(this.st.security ? securedListenerOf(this.st.security) : undefined),
              ],
            });
            execFile('java', args, { timeout: 120_000 }, (err, stdout, stderr) => {
              writeFileSync(join(b.dir, 'format.log'), `${stdout}${stderr}`);
              if (err)
                reject(new NodeFailedError(`formatting broker ${b.id} failed: ${err.message}`, `${stdout}${stderr}`));
              else resolve();
            });
          }),
      ),
    );
  }

  async waitZkQuorum(timeoutMs = 60_000): Promise<number> {
    const started = Date.now();
    for (;;) {
      this.assertNodesAlive();
      const modes = await Promise.all(this.st.zookeeper.map((z) => zkMode(z.clientPort)));
      if (modes.every((m) => m === 'leader' || m === 'follower')) return Date.now() - started;
      if (Date.now() - started > timeoutMs)
        throw new ClusterNotHealthyError(
          `ZooKeeper ensemble of ${this.name} has no quorum after ${timeoutMs} ms: ${modes.join(',')}`,
          modes,
        );
      await delay(200);
    }
  }

  startAll(kind: 'broker' | 'zk'): void {
    for (const n of kind === 'broker' ? this.st.brokers : this.st.zookeeper) this.spawnNode(n, kind);
  }
}

/** The broker-side settings of a recorded secured listener. */
function securedListenerOf(rec: SecurityRecord): SecuredListener {
  const c = localCertificates(rec.certDir);
  return {
    protocol: rec.protocol,
    ...(rec.mechanism !== undefined ? { mechanism: rec.mechanism } : {}),
    clientAuth: rec.clientAuth,
    ...(rec.reauthMs !== undefined ? { reauthMs: rec.reauthMs } : {}),
    keystore: c.brokerKeystore,
    expiredKeystore: c.expiredKeystore,
    truststore: c.ca,
    username: rec.username,
    password: rec.password,
  };
}

function checkSecurityOptions(sec: LocalSecurityOptions, mode: ClusterMode): void {
  if (mode !== 'kraft')
    throw new RangeError('secured local clusters run in KRaft mode (SCRAM users are made at format time)');
  const sasl = sec.protocol.startsWith('SASL_');
  if (sasl && sec.mechanism === undefined) throw new RangeError(`security.protocol ${sec.protocol} needs a mechanism`);
  if (!sasl && sec.mechanism !== undefined)
    throw new RangeError(`security.mechanism ${sec.mechanism} needs a SASL protocol`);
  if (sec.clientAuth && sec.protocol === 'SASL_PLAINTEXT')
    throw new RangeError('clientAuth (mTLS) needs a TLS protocol');
}

// ---------------------------------------------------------------- public entry points

function defaultDiskLimit(): number {
  return typeof process.getuid === 'function' && process.getuid() === 0 ? DEFAULT_DISK_LIMIT_MB : 0;
}

/** True when any JVM recorded in the state is still alive. */
function anyAlive(st: ClusterState): boolean {
  return [...st.brokers, ...st.zookeeper].some((n) => isOurs(n.pid, n.marker));
}

function ownerAlive(st: ClusterState): boolean {
  if (st.ownerPid === process.pid) return true;
  if (procState(st.ownerPid) === 'dead') return false;
  return st.ownerStart === undefined || procStartTime(st.ownerPid) === st.ownerStart;
}

/** A detached cluster's owner (`local up`) exits once the cluster is healthy; allow it the start. */
const DETACHED_START_GRACE_MS = 10 * 60_000;

/** Someone is using it: its owner is alive (and may still be formatting), or its JVMs run. */
function inUse(st: ClusterState): boolean {
  if (st.detached)
    return anyAlive(st) || (ownerAlive(st) && Date.now() - Date.parse(st.createdAt) < DETACHED_START_GRACE_MS);
  return ownerAlive(st);
}

/** Kills the JVMs and mounts of a recorded cluster, whoever started it. */
function destroyRecorded(st: ClusterState): void {
  new Supervisor(st, () => undefined).killNow();
}

/**
 * Kills what earlier runs left behind: clusters started in-process (tests) whose owner process
 * died without tearing down. Detached clusters (`local up`) are left alone: they are meant to
 * outlive their owner. Returns the names cleaned.
 */
export function cleanupStale(log: Log = () => undefined): string[] {
  const cleaned: string[] = [];
  for (const st of listStates()) {
    if (inUse(st)) continue;
    log(
      `kafka-heal: cleaning up stale cluster ${st.name} (owner pid ${st.ownerPid} gone${st.detached ? ', no JVM left' : ''})`,
    );
    destroyRecorded(st);
    cleaned.push(st.name);
  }
  return cleaned;
}

/** The running cluster of that name (from its state file), for acting on it from another process. */
export function attachCluster(name: string, log: Log = (l) => process.stderr.write(`${l}\n`)): LocalCluster {
  const st = readState(name);
  if (!st)
    throw new ClusterNotFoundError(
      `no local cluster named "${name}" (start one with: kafka-heal local up --name ${name})`,
    );
  return new Supervisor(st, log);
}

export function runningClusters(): ClusterState[] {
  return listStates();
}

export async function startCluster(opts: StartOptions = {}): Promise<LocalCluster> {
  const name = opts.name ?? 'primary';
  const mode = opts.mode ?? 'kraft';
  const count = opts.brokers ?? 3;
  const log = opts.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  if (!CLUSTER_NAME.test(name)) throw new RangeError(`cluster name "${name}" must match ${CLUSTER_NAME}`);
  if (!Number.isInteger(count) || count < 3 || count > 5)
    throw new RangeError(`brokers must be 3, 4 or 5, got ${count}`);
  if (mode !== 'kraft' && mode !== 'zookeeper')
    throw new RangeError(`mode must be kraft or zookeeper, got ${String(mode)}`);
  if (opts.security) checkSecurityOptions(opts.security, mode);
  let diskLimitMb = opts.diskLimitMb ?? defaultDiskLimit();
  const started = Date.now();

  cleanupStale(log);
  const existing = readState(name);
  if (existing) {
    if (anyAlive(existing) || inUse(existing)) {
      throw new ClusterRunningError(
        `local cluster "${name}" is already running (pids ${[...existing.brokers, ...existing.zookeeper].map((n) => n.pid).join(', ')}); stop it with: kafka-heal local down --name ${name}`,
      );
    }
    destroyRecorded(existing);
  }

  const jarSet = JAR_SET[mode];
  log(`kafka-heal: jars (${jarSet})`);
  const jarDir = await ensureJars(jarSet, log);

  const workDir = opts.workDir ?? join(tmpdir(), 'kafka-heal', name);
  mkdirSync(workDir, { recursive: true });
  for (let i = 1; i <= 5; i++) {
    unmount(join(workDir, `broker-${i}`, 'disk'));
    unmount(join(workDir, 'disks', `broker-${i}`));
    rmSync(join(workDir, `broker-${i}`), { recursive: true, force: true });
    rmSync(join(workDir, 'disks', `broker-${i}`), { recursive: true, force: true });
    rmSync(join(workDir, 'data', `broker-${i}`), { recursive: true, force: true });
    rmSync(join(workDir, `zk-${i}`), { recursive: true, force: true });
  }
  writeFileSync(
    join(workDir, mode === 'kraft' ? 'log4j2.xml' : 'log4j.properties'),
    mode === 'kraft' ? LOG4J2_XML : LOG4J_PROPERTIES,
  );
  if (diskLimitMb > 0 && opts.diskLimitMb === undefined) {
    // Root without the right to mount (e.g. an unprivileged container): start without the
    // size-limited disks rather than not at all; only disk faults are unavailable then.
    const probe = join(workDir, '.mount-probe');
    try {
      mountTmpfs(probe, 1, `kafka-heal-${name}-probe`);
      unmount(probe);
    } catch (err) {
      log(`kafka-heal: no size-limited broker disks (fill-disk unavailable): ${(err as Error).message}`);
      diskLimitMb = 0;
    }
    rmSync(probe, { recursive: true, force: true });
  }

  const zkCount = mode === 'zookeeper' ? 3 : 0;
  const voters = mode === 'kraft' ? Math.min(KRAFT_VOTERS, count) : 0;
  const sec = opts.security;
  const securedPorts = sec ? (sec.protocol === 'SASL_PLAINTEXT' ? 1 : 2) : 0;
  const ports = await freePorts(count * (1 + securedPorts) + voters + zkCount * 3);
  const next = () => {
    const p = ports.shift();
    if (p === undefined) throw new Error('ran out of planned ports');
    return p;
  };

  const plans: BrokerPlan[] = [];
  for (let id = 1; id <= count; id++) {
    const dir = join(workDir, `broker-${id}`);
    // The data lives outside the broker's own dir (server.log, server.properties), as on a host
    // where /var/log/kafka and the data volume are apart: kafka-free-disk refuses an app log dir
    // that contains a data dir.
    const dataDir =
      diskLimitMb > 0 ? join(workDir, 'disks', `broker-${id}`, 'data') : join(workDir, 'data', `broker-${id}`);
    plans.push({
      id,
      port: next(),
      ...(id <= voters ? { controllerPort: next() } : {}),
      ...(securedPorts > 0 ? { securedPort: next() } : {}),
      ...(securedPorts > 1 ? { expiredPort: next() } : {}),
      dir,
      dataDir,
    });
  }
  let secured: SecuredListener | undefined;
  let securityRecord: SecurityRecord | undefined;
  if (sec) {
    // Certificates into the cache (never the repository), made fresh for each start.
    const certs = makeLocalCertificates(join(cacheRoot(), 'tls', name));
    securityRecord = {
      protocol: sec.protocol,
      ...(sec.mechanism !== undefined ? { mechanism: sec.mechanism } : {}),
      clientAuth: sec.clientAuth ?? false,
      ...(sec.reauthMs !== undefined ? { reauthMs: sec.reauthMs } : {}),
      certDir: certs.dir,
      username: 'kafka-heal',
      password: randomBytes(18).toString('base64url'),
      clientProperties: join(certs.dir, 'client.properties'),
    };
    secured = securedListenerOf(securityRecord);
    writeFileSync(
      securityRecord.clientProperties,
      renderProps(clientProperties(secured, { keystore: certs.clientKeystore })),
      { mode: 0o600 },
    );
    log(
      `kafka-heal: secured listener ${sec.protocol}${sec.mechanism ? `/${sec.mechanism}` : ''}${sec.clientAuth ? ' with client certificates' : ''} (certificates in ${certs.dir})`,
    );
  }
  const zkPlans: ZkPlan[] = [];
  for (let id = 1; id <= zkCount; id++) {
    zkPlans.push({ id, clientPort: next(), peerPort: next(), electionPort: next(), dir: join(workDir, `zk-${id}`) });
  }
  const chroot = 'kafka-heal';

  const st: ClusterState = {
    name,
    mode,
    jarSet,
    jarDir,
    workDir,
    ...(mode === 'kraft' ? { clusterId: newClusterId(randomBytes) } : { chroot }),
    ownerPid: process.pid,
    ...(procStartTime(process.pid) !== undefined ? { ownerStart: procStartTime(process.pid) as number } : {}),
    detached: opts.detached ?? false,
    createdAt: new Date().toISOString(),
    brokers: [],
    zookeeper: [],
    ...(securityRecord ? { security: securityRecord } : {}),
  };
  const sup = new Supervisor(st, log);
  sup.track();

  try {
    for (const z of zkPlans) {
      mkdirSync(join(z.dir, 'data'), { recursive: true });
      writeFileSync(join(z.dir, 'data', 'myid'), `${z.id}\n`);
      const config = join(z.dir, 'zoo.cfg');
      const { config: zkExtraConfig, ...zkExtras } = opts.nodeExtras?.zookeeper?.(z.id) ?? {};
      writeFileSync(config, renderProps({ ...zooCfg(z, zkPlans), ...zkExtraConfig }));
      st.zookeeper.push({
        id: z.id,
        clientPort: z.clientPort,
        peerPort: z.peerPort,
        electionPort: z.electionPort,
        dir: z.dir,
        config,
        state: 'stopped',
        marker: markerProp(name, `zk-${z.id}`),
        ...(Object.keys(zkExtras).length > 0 ? { extras: zkExtras } : {}),
      });
    }
    for (const b of plans) {
      mkdirSync(b.dir, { recursive: true });
      const config = join(b.dir, 'server.properties');
      const props =
        mode === 'kraft'
          ? kraftBrokerProps(
              b,
              plans.filter((p) => p.controllerPort !== undefined),
              secured,
            )
          : zkBrokerProps(b, zkPlans, chroot);
      writeFileSync(config, renderProps(props));
      const rec: BrokerRecord = {
        id: b.id,
        port: b.port,
        ...(b.securedPort !== undefined ? { securedPort: b.securedPort } : {}),
        ...(b.expiredPort !== undefined ? { expiredPort: b.expiredPort } : {}),
        ...(b.controllerPort !== undefined ? { controllerPort: b.controllerPort } : {}),
        roles: b.controllerPort !== undefined ? 'broker,controller' : 'broker',
        dir: b.dir,
        dataDir: b.dataDir,
        config,
        ...(diskLimitMb > 0 ? { mount: { sizeMb: diskLimitMb } } : {}),
        state: 'stopped',
        marker: markerProp(name, `broker-${b.id}`),
        ...(opts.nodeExtras?.broker ? { extras: opts.nodeExtras.broker(b.id) } : {}),
      };
      st.brokers.push(rec);
      // Recorded before mounting so a failure below still unmounts it.
      writeState(st);
      if (diskLimitMb > 0) mountTmpfs(diskDir(rec), diskLimitMb, `kafka-heal-${name}-broker-${b.id}`);
      mkdirSync(b.dataDir, { recursive: true });
    }
    writeState(st);

    if (mode === 'kraft') {
      log(`kafka-heal: formatting ${count} KRaft nodes (cluster id ${st.clusterId})`);
      await sup.formatAll();
      log(`kafka-heal: formatted in ${((Date.now() - started) / 1000).toFixed(1)} s since start`);
    } else {
      log('kafka-heal: starting ZooKeeper ensemble (3 nodes)');
      sup.startAll('zk');
      const ms = await sup.waitZkQuorum();
      log(`kafka-heal: ZooKeeper quorum after ${ms} ms`);
    }
    for (const b of st.brokers)
      log(
        `kafka-heal: starting broker ${b.id} on 127.0.0.1:${b.port}${b.controllerPort ? ` (controller ${b.controllerPort})` : ''}`,
      );
    sup.startAll('broker');
    log(
      `kafka-heal: waiting for all brokers registered and every ISR full (${((Date.now() - started) / 1000).toFixed(1)} s since start)`,
    );
    await sup.waitHealthy(opts.readyTimeoutMs ?? 180_000, { requireOffsetsTopic: true });
    if (st.detached) sup.untrack();
    log(
      `kafka-heal: cluster ${name} (${mode}, ${count} brokers) healthy in ${((Date.now() - started) / 1000).toFixed(1)} s: ${sup.bootstrapServers}`,
    );
    return sup;
  } catch (err) {
    await sup.stop();
    throw err;
  }
}
