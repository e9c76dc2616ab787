// Persisted state of local clusters, one JSON file per cluster name under
// <cache>/clusters/<name>.json: ports, pids, folders and mode. Separate `kafka-heal local`
// invocations act on a running cluster through it, and a later run finds (and kills) the
// JVMs of a run that died without tearing down.
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cacheRoot } from '../maven.js';
import type { ClusterMode, NodeExtras } from './config.js';

export type NodeState = 'running' | 'stopped' | 'hung' | 'crashed';

export interface BrokerRecord {
  id: number;
  port: number;
  /** The SECURED listener (secured clusters) and, with TLS, the EXPIRED one. */
  securedPort?: number;
  expiredPort?: number;
  controllerPort?: number;
  roles: 'broker,controller' | 'broker';
  dir: string;
  dataDir: string;
  config: string;
  /** Size-limited tmpfs mounted on dataDir, when the cluster was started with a disk limit. */
  mount?: { sizeMb: number };
  pid?: number;
  /** What the supervisor last did to it; status() reconciles this with /proc. */
  state: NodeState;
  marker: string;
  /** Added to the JVM at every start (StartOptions.nodeExtras). */
  extras?: NodeExtras;
}

export interface ZkRecord {
  id: number;
  clientPort: number;
  peerPort: number;
  electionPort: number;
  dir: string;
  config: string;
  pid?: number;
  state: NodeState;
  marker: string;
  extras?: NodeExtras;
}

export interface ClusterState {
  name: string;
  mode: ClusterMode;
  jarSet: string;
  jarDir: string;
  workDir: string;
  clusterId?: string;
  /** ZooKeeper chroot of the brokers (zookeeper mode). */
  chroot?: string;
  /** Process that started the cluster; for in-process clusters its death means the cluster is stale. */
  ownerPid: number;
  /** Start time of the owner (procStartTime), so a reused pid is not taken for the owner. */
  ownerStart?: number;
  /** Started by `kafka-heal local up`: outlives its owner until `local down`. */
  detached: boolean;
  createdAt: string;
  brokers: BrokerRecord[];
  zookeeper: ZkRecord[];
  /** A secured cluster: its listener settings, certificate folder and the SASL user (local test credentials). */
  security?: SecurityRecord;
}

export interface SecurityRecord {
  protocol: 'SSL' | 'SASL_SSL' | 'SASL_PLAINTEXT';
  mechanism?: 'PLAIN' | 'SCRAM-SHA-256' | 'SCRAM-SHA-512' | 'OAUTHBEARER';
  clientAuth: boolean;
  reauthMs?: number;
  /** Where local/kafka/tls.ts made the certificates (under the cache). */
  certDir: string;
  username: string;
  password: string;
  /** The client properties file for Kafka's CLI tools on the secured listener. */
  clientProperties: string;
}

export function stateDir(): string {
  return join(cacheRoot(), 'clusters');
}

export function statePath(name: string): string {
  return join(stateDir(), `${name}.json`);
}

/** Cluster names are file and path components: keep them plain. */
export const CLUSTER_NAME = /^[a-z][a-z0-9-]{0,39}$/;

export function readState(name: string): ClusterState | undefined {
  const p = statePath(name);
  if (!existsSync(p)) return undefined;
  try {
    return JSON.parse(readFileSync(p, 'utf8')) as ClusterState;
  } catch {
    return undefined;
  }
}

/** Atomic write (temp file + rename), so a concurrent reader never sees half a file. */
export function writeState(state: ClusterState): void {
  mkdirSync(stateDir(), { recursive: true });
  const p = statePath(state.name);
  const tmp = `${p}.tmp-${process.pid}`;
  writeFileSync(tmp, `${JSON.stringify(state, null, 2)}\n`);
  renameSync(tmp, p);
}

export function removeState(name: string): void {
  rmSync(statePath(name), { force: true });
}

export function listStates(): ClusterState[] {
  if (!existsSync(stateDir())) return [];
  return readdirSync(stateDir())
    .filter((f) => f.endsWith('.json'))
    .map((f) => readState(f.slice(0, -'.json'.length)))
    .filter((s): s is ClusterState => s !== undefined);
}
