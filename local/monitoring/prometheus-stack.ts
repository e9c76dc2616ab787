// Real Prometheus and Alertmanager for a monitored local drill (Debian's prometheus 2.42 and
// prometheus-alertmanager 0.25, installed by scripts/prometheus.sh), both on 127.0.0.1 only:
//
//   Prometheus    scrapes the cluster's exporters (exporters.ts) every `scrapeSeconds`, labelled as
//                 the shipped rules expect (job kafka / zookeeper, cluster, broker), and evaluates
//                 the SHIPPED rule files with their `for:` scaled like the drill's CloudWatch
//                 periods (scaleRuleFile); it sends its alerts to the Alertmanager below
//   Alertmanager  groups them and posts version-4 webhooks to the healer's webhook URL with the
//                 bearer token read from a file (credentials_file), as monitoring/prometheus/
//                 alertmanager/kafka-heal.yml does in production; HA gossip is off (no 0.0.0.0:9094)
//
// Each binary runs in its own process group and is killed on stop() and when this process exits.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml, stringify as toYaml } from 'yaml';
import { freePorts } from '../kafka/cluster.js';
import { MONITORING_DIR } from './exporters.js';

/** The shipped rule files for a cluster in this metadata mode. */
export function ruleFilesFor(mode: 'kraft' | 'zookeeper'): string[] {
  return [
    join(MONITORING_DIR, 'rules', 'kafka.rules.yml'),
    join(MONITORING_DIR, 'rules', mode === 'kraft' ? 'kraft.rules.yml' : 'zookeeper.rules.yml'),
  ];
}

export interface RuleScale {
  /** Local seconds that stand for one minute of `for:` (the drill's CloudWatch period). */
  secondsPerMinute: number;
  /**
   * Shortest local `for:` per kafka_heal_kind: a controller or quorum election takes real seconds
   * whatever the drill's time scale, and a one-minute `for:` covers it in production.
   */
  floorSeconds?: Partial<Record<string, number>>;
  /** Rules whose `for:` is 10 minutes or more (they ignore restart blips) keep at least this. */
  sustainedSeconds?: number;
}

/** Seconds of a Prometheus duration ("90s", "1m", "1h30m", "500ms"). */
export function durationSeconds(d: string): number {
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h|d|w|y)/g;
  const unit: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86_400, w: 604_800, y: 31_536_000 };
  let total = 0;
  let consumed = 0;
  for (const m of d.matchAll(re)) {
    total += Number(m[1]) * (unit[m[2] as string] as number);
    consumed += m[0].length;
  }
  if (consumed === 0 || consumed !== d.trim().length)
    throw new RangeError(`not a Prometheus duration: ${JSON.stringify(d)}`);
  return total;
}

/** A duration Prometheus accepts, in whole milliseconds. */
function promDuration(seconds: number): string {
  return `${Math.max(1, Math.round(seconds * 1000))}ms`;
}

/**
 * A shipped rule file with every `for:` scaled to the drill's time (expressions, labels and
 * annotations untouched): for * secondsPerMinute / 60, at least the kind's floor, and at least
 * sustainedSeconds for a `for:` of 10 minutes or more.
 */
export function scaleRuleFile(text: string, scale: RuleScale): string {
  const doc = parseYaml(text) as { groups: { rules: { for?: string; labels?: Record<string, string> }[] }[] };
  for (const g of doc.groups) {
    for (const r of g.rules) {
      if (r.for === undefined) continue;
      const original = durationSeconds(r.for);
      let local = (original * scale.secondsPerMinute) / 60;
      const floor = scale.floorSeconds?.[r.labels?.kafka_heal_kind ?? ''];
      if (floor !== undefined) local = Math.max(local, floor);
      if (original >= 600 && scale.sustainedSeconds !== undefined) local = Math.max(local, scale.sustainedSeconds);
      r.for = promDuration(local);
    }
  }
  return toYaml(doc);
}

export interface StackTargets {
  cluster: string;
  /** broker id -> JMX exporter port. */
  brokers: Map<number, number>;
  /** ZooKeeper server id -> metrics port (ZooKeeper mode). */
  zookeepers: Map<number, number>;
}

export function prometheusConfig(opts: {
  targets: StackTargets;
  ruleFiles: string[];
  alertmanagerPort: number;
  scrapeSeconds: number;
}): Record<string, unknown> {
  const t = opts.targets;
  const interval = promDuration(opts.scrapeSeconds);
  const scrapeConfigs: Record<string, unknown>[] = [
    {
      job_name: 'kafka',
      static_configs: [...t.brokers].map(([id, port]) => ({
        targets: [`127.0.0.1:${port}`],
        labels: { cluster: t.cluster, broker: String(id) },
      })),
    },
  ];
  if (t.zookeepers.size > 0) {
    scrapeConfigs.push({
      job_name: 'zookeeper',
      static_configs: [
        { targets: [...t.zookeepers.values()].map((p) => `127.0.0.1:${p}`), labels: { cluster: t.cluster } },
      ],
    });
  }
  return {
    // A hung JVM never answers: the scrape must time out within its interval for up to read 0.
    global: { scrape_interval: interval, scrape_timeout: interval, evaluation_interval: interval },
    rule_files: opts.ruleFiles,
    alerting: { alertmanagers: [{ static_configs: [{ targets: [`127.0.0.1:${opts.alertmanagerPort}`] }] }] },
    scrape_configs: scrapeConfigs,
  };
}

export function alertmanagerConfig(opts: {
  webhookUrl: string;
  tokenFile: string;
  groupWaitSeconds: number;
  groupIntervalSeconds: number;
}): Record<string, unknown> {
  return {
    route: {
      receiver: 'kafka-heal',
      group_by: ['alertname', 'cluster', 'broker'],
      group_wait: promDuration(opts.groupWaitSeconds),
      group_interval: promDuration(opts.groupIntervalSeconds),
      repeat_interval: '4h',
    },
    receivers: [
      {
        name: 'kafka-heal',
        webhook_configs: [
          {
            url: opts.webhookUrl,
            send_resolved: true,
            max_alerts: 0,
            http_config: { authorization: { type: 'Bearer', credentials_file: opts.tokenFile } },
          },
        ],
      },
    ],
  };
}

export interface MonitoringStack {
  prometheusUrl: string;
  alertmanagerUrl: string;
  stop(): Promise<void>;
}

/** The folder holding prometheus, promtool and prometheus-alertmanager (installs them once when missing). */
export function prometheusBinDir(): string {
  const script = fileURLToPath(new URL('../../scripts/prometheus.sh', import.meta.url));
  const r = spawnSync('bash', [script], { encoding: 'utf8', timeout: 600_000 });
  if (r.status !== 0)
    throw new Error(
      `scripts/prometheus.sh failed (${r.status ?? r.signal}): ${r.stderr.trim().split('\n').slice(-3).join(' ')}`,
    );
  return r.stdout.trim();
}

const running = new Set<ChildProcess>();
let exitHook = false;
function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
}

function startProcess(bin: string, args: string[], logFile: string): ChildProcess {
  if (!exitHook) {
    exitHook = true;
    process.on('exit', () => {
      for (const c of running) killGroup(c, 'SIGKILL');
    });
  }
  const fd = openSync(logFile, 'a');
  try {
    const child = spawn(bin, args, { detached: true, stdio: ['ignore', fd, fd] });
    running.add(child);
    child.once('exit', () => running.delete(child));
    return child;
  } finally {
    closeSync(fd);
  }
}

async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  killGroup(child, 'SIGTERM');
  const timer = setTimeout(() => killGroup(child, 'SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

async function waitReady(
  url: string,
  child: ChildProcess,
  what: string,
  logFile: string,
  timeoutMs = 60_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null)
      throw new Error(
        `${what} exited with ${child.exitCode}: ${readFileSync(logFile, 'utf8').split('\n').slice(-5).join('\n')}`,
      );
    try {
      const r = await fetch(url, { signal: AbortSignal.timeout(1000) });
      if (r.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${what} not ready at ${url} after ${timeoutMs / 1000} s (log: ${logFile})`);
}

export interface StartStackOptions {
  workDir: string;
  targets: StackTargets;
  mode: 'kraft' | 'zookeeper';
  scale: RuleScale;
  /** Scrape and rule evaluation interval (seconds). */
  scrapeSeconds: number;
  webhookUrl: string;
  tokenFile: string;
  log?: (line: string) => void;
}

export async function startMonitoringStack(opts: StartStackOptions): Promise<MonitoringStack> {
  const bin = prometheusBinDir();
  mkdirSync(opts.workDir, { recursive: true });
  const [promPort, amPort] = (await freePorts(2)) as [number, number];
  const ruleFiles = ruleFilesFor(opts.mode).map((f) => {
    const out = join(opts.workDir, f.split('/').at(-1) as string);
    writeFileSync(out, scaleRuleFile(readFileSync(f, 'utf8'), opts.scale));
    return out;
  });
  const promConfig = join(opts.workDir, 'prometheus.yml');
  writeFileSync(
    promConfig,
    toYaml(
      prometheusConfig({
        targets: opts.targets,
        ruleFiles,
        alertmanagerPort: amPort,
        scrapeSeconds: opts.scrapeSeconds,
      }),
    ),
  );
  const amConfig = join(opts.workDir, 'alertmanager.yml');
  writeFileSync(
    amConfig,
    toYaml(
      alertmanagerConfig({
        webhookUrl: opts.webhookUrl,
        tokenFile: opts.tokenFile,
        groupWaitSeconds: opts.scrapeSeconds,
        groupIntervalSeconds: opts.scrapeSeconds * 2,
      }),
    ),
  );

  const amLog = join(opts.workDir, 'alertmanager.log');
  const am = startProcess(
    join(bin, 'prometheus-alertmanager'),
    [
      `--config.file=${amConfig}`,
      `--storage.path=${join(opts.workDir, 'alertmanager-data')}`,
      `--web.listen-address=127.0.0.1:${amPort}`,
      '--cluster.listen-address=',
      '--log.level=warn',
    ],
    amLog,
  );
  const promLog = join(opts.workDir, 'prometheus.log');
  const prom = startProcess(
    join(bin, 'prometheus'),
    [
      `--config.file=${promConfig}`,
      `--storage.tsdb.path=${join(opts.workDir, 'prometheus-data')}`,
      `--web.listen-address=127.0.0.1:${promPort}`,
      '--storage.tsdb.retention.time=2h',
      '--log.level=warn',
    ],
    promLog,
  );
  const prometheusUrl = `http://127.0.0.1:${promPort}`;
  const alertmanagerUrl = `http://127.0.0.1:${amPort}`;
  const stop = async () => {
    await Promise.all([stopProcess(prom), stopProcess(am)]);
  };
  try {
    await Promise.all([
      waitReady(`${alertmanagerUrl}/-/ready`, am, 'Alertmanager', amLog),
      waitReady(`${prometheusUrl}/-/ready`, prom, 'Prometheus', promLog),
    ]);
  } catch (err) {
    await stop();
    throw err;
  }
  opts.log?.(
    `kafka-heal: Prometheus ${prometheusUrl} (rules ${ruleFiles.map((f) => f.split('/').at(-1)).join(', ')}, scrape every ${opts.scrapeSeconds} s), Alertmanager ${alertmanagerUrl} -> ${opts.webhookUrl}`,
  );
  return {
    prometheusUrl,
    alertmanagerUrl,
    stop,
  };
}
