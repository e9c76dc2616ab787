// Lambda bundles as `cdk synth` builds them: the example configs' stacks are synthesized with
// bundling on (CDK runs esbuild with the house construct's options, infra/constructs/
// healer-function.ts), then per distinct bundle: its size, its gzip size, and its module init
// time, the median over fresh `node` processes (default 20) that load the bundle the way the
// Lambda runtime loads a CommonJS handler, with `require` (the function's own environment,
// NODE_OPTIONS included, the probe layer on the module path), and check that it exports a
// `handler`. The AWS SDK is external to the bundles (the nodejs22.x runtime provides it), so its
// load is part of the measured time here too.
//   npm run bench -- bundles [runs]
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { App } from 'aws-cdk-lib';
import { addHealerStacks, DEFAULT_CONFIG_FILES, loadConfigs } from '../infra/app-builder.js';
import { BUNDLE_FILE, PROJECT_ROOT } from '../infra/constructs/healer-function.js';
import { median } from './stats.js';

export const MAX_BUNDLE_KB = 250;
export const MAX_INIT_MS = 150;

type Resources = Record<string, { Type: string; Properties: Record<string, unknown> }>;

export interface BuiltBundle {
  /** The asset folder holding the bundle, BUNDLE_FILE (one per distinct bundle). */
  dir: string;
  /** Powertools service names of the functions deployed from it, over all stacks. */
  services: string[];
  /** The environment of its first function (string values only; references become placeholders). */
  environment: Record<string, string>;
}

export interface BuiltApp {
  outdir: string;
  bundles: BuiltBundle[];
  /** The probe layer's asset folder, when a stack has one. */
  layerDir: string | undefined;
  cleanup(): void;
}

function assetDir(outdir: string, code: unknown): string {
  const key = (code as { S3Key: string }).S3Key;
  return join(outdir, `asset.${key.replace(/\.zip$/, '')}`);
}

/** Synthesizes every example stack with bundling on, inside the project (so @aws-sdk/* resolves). */
export function buildBundles(configFiles: string[] = DEFAULT_CONFIG_FILES): BuiltApp {
  const base = join(PROJECT_ROOT, '.cache', 'bench-bundles');
  mkdirSync(base, { recursive: true });
  const outdir = mkdtempSync(join(base, 'cdk-'));
  const app = new App({ outdir });
  addHealerStacks(app, loadConfigs(configFiles), { nag: false });
  const assembly = app.synth();
  const byDir = new Map<string, BuiltBundle>();
  let layerDir: string | undefined;
  for (const stack of assembly.stacks) {
    const resources = (stack.template as { Resources: Resources }).Resources;
    for (const r of Object.values(resources)) {
      if (r.Type === 'AWS::Lambda::LayerVersion') layerDir ??= assetDir(outdir, r.Properties['Content']);
      if (r.Type !== 'AWS::Lambda::Function') continue;
      const vars = ((r.Properties['Environment'] as { Variables?: Record<string, unknown> } | undefined)?.Variables ??
        {}) as Record<string, unknown>;
      const service = String(vars['POWERTOOLS_SERVICE_NAME'] ?? stack.stackName);
      const dir = assetDir(outdir, r.Properties['Code']);
      const entry = byDir.get(dir);
      if (entry) {
        if (!entry.services.includes(service)) entry.services.push(service);
        continue;
      }
      const environment = Object.fromEntries(
        Object.entries(vars).map(([k, v]) => [k, typeof v === 'string' ? v : `placeholder-${k.toLowerCase()}`]),
      );
      byDir.set(dir, { dir, services: [service], environment });
    }
  }
  // The bundles are CommonJS .js files; Lambda's /var/task has no package.json, but this folder is
  // inside the project, whose package.json says "type": "module": this one says what Lambda assumes.
  writeFileSync(join(outdir, 'package.json'), `${JSON.stringify({ type: 'commonjs' })}\n`);
  if (layerDir) {
    // Lambda mounts a layer's nodejs/node_modules on the module path; here it sits beside the bundles.
    cpSync(join(layerDir, 'nodejs', 'node_modules'), join(outdir, 'node_modules'), { recursive: true });
  }
  return {
    outdir,
    bundles: [...byDir.values()],
    layerDir,
    cleanup: () => rmSync(outdir, { recursive: true, force: true }),
  };
}

// A CommonJS script: the runtime requires a CommonJS handler file.
const LOAD_AND_TIME = [
  'const t0 = performance.now();',
  'const c0 = process.cpuUsage();',
  'const m = require(process.argv[1]);',
  'const ms = performance.now() - t0;',
  'const cpu = process.cpuUsage(c0);',
  "if (typeof m.handler !== 'function') { console.error('no handler export'); process.exit(3); }",
  'console.log(ms.toFixed(2), ((cpu.user + cpu.system) / 1000).toFixed(2));',
].join(' ');

export interface InitTime {
  /** Wall-clock milliseconds of the load (what a cold start waits for on an idle machine). */
  wallMs: number;
  /** CPU milliseconds the load used (user + system): what other processes on a busy machine cannot inflate. */
  cpuMs: number;
}

/** How long loading `file` took in one fresh node process with `env`. */
export function initOnce(file: string, env: Record<string, string>): InitTime {
  const nodeOptions = env['NODE_OPTIONS'] ?? '';
  const res = spawnSync(process.execPath, [...nodeOptions.split(' ').filter(Boolean), '-e', LOAD_AND_TIME, file], {
    encoding: 'utf8',
    cwd: PROJECT_ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      // What the Lambda runtime sets for every function.
      AWS_REGION: 'us-east-1',
      AWS_DEFAULT_REGION: 'us-east-1',
      AWS_LAMBDA_FUNCTION_NAME: 'bench',
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '512',
      AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs22.x',
      POWERTOOLS_LOG_LEVEL: 'SILENT',
      ...Object.fromEntries(Object.entries(env).filter(([k]) => k !== 'NODE_OPTIONS')),
    },
  });
  const [wallMs, cpuMs] = (res.stdout.trim().split('\n').pop() ?? '').split(' ').map(Number);
  if (res.status !== 0 || !Number.isFinite(wallMs) || !Number.isFinite(cpuMs))
    throw new Error(`loading ${file} failed (exit ${res.status}): ${res.stderr.trim().slice(0, 2000)}`);
  return { wallMs: wallMs as number, cpuMs: cpuMs as number };
}

export interface BundleFigures {
  services: string[];
  kb: number;
  gzipKb: number;
  initMs: number;
  initCpuMs: number;
}

export function measure(bundle: BuiltBundle, runs: number): BundleFigures {
  const file = join(bundle.dir, BUNDLE_FILE);
  const bytes = statSync(file).size;
  const gzipKb = gzipSync(readFileSync(file)).length / 1024;
  const times = Array.from({ length: runs }, () => initOnce(file, bundle.environment));
  return {
    services: bundle.services,
    kb: bytes / 1024,
    gzipKb,
    initMs: median(times.map((t) => t.wallMs)),
    initCpuMs: median(times.map((t) => t.cpuMs)),
  };
}

export async function run(args: string[]): Promise<string> {
  const runs = Number(args[0] ?? 20);
  const t0 = Date.now();
  const built = buildBundles();
  console.log(
    `synthesized ${DEFAULT_CONFIG_FILES.length} example stacks with bundling in ${Date.now() - t0} ms: ${built.bundles.length} distinct bundles`,
  );
  try {
    const figures = built.bundles.map((b) => measure(b, runs)).sort((a, b) => b.kb - a.kb);
    console.log(
      `load average before measuring: ${loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')} on ${cpus().length} CPUs (wall times grow with other processes' load; CPU times much less)`,
    );
    console.log(
      `${'function(s)'.padEnd(60)} ${'KB'.padStart(7)} ${'gzip KB'.padStart(8)} ${'init ms'.padStart(8)} ${'init CPU ms'.padStart(12)}  (medians of ${runs} fresh processes)`,
    );
    for (const f of figures) {
      console.log(
        `${f.services.join(', ').slice(0, 60).padEnd(60)} ${f.kb.toFixed(1).padStart(7)} ${f.gzipKb.toFixed(1).padStart(8)} ${f.initMs.toFixed(1).padStart(8)} ${f.initCpuMs.toFixed(1).padStart(12)}`,
      );
    }
    if (built.layerDir) {
      const layerFile = join(built.outdir, 'node_modules', '@kafka-heal', 'probe', 'index.mjs');
      console.log(
        `probe layer (@kafka-heal/probe, loaded by the probe and cluster-steps bundles): ${(statSync(layerFile).size / 1024).toFixed(1)} KB`,
      );
    }
    const maxKb = Math.max(...figures.map((f) => f.kb));
    const maxInit = Math.max(...figures.map((f) => f.initMs));
    const largest = figures[0]?.services[0] ?? '-';
    const slowest = [...figures].sort((a, b) => b.initMs - a.initMs)[0]?.services[0] ?? '-';
    const overSize = figures.filter((f) => f.kb > MAX_BUNDLE_KB).length;
    const overInit = figures.filter((f) => f.initMs > MAX_INIT_MS).length;
    const maxCpu = Math.max(...figures.map((f) => f.initCpuMs));
    const overCpu = figures.filter((f) => f.initCpuMs > MAX_INIT_MS).length;
    const load = loadavg()[0] ?? 0;
    return (
      `${figures.length} bundles; largest ${maxKb.toFixed(1)} KB (${largest}); slowest init ${maxInit.toFixed(1)} ms wall (${slowest}), ${maxCpu.toFixed(1)} ms CPU, medians of ${runs}, load ${load.toFixed(1)}; ` +
      `size <= ${MAX_BUNDLE_KB} KB: ${overSize ? `MISSED by ${overSize}` : 'met'}; init <= ${MAX_INIT_MS} ms: wall ${overInit ? `MISSED by ${overInit}` : 'met'}, CPU ${overCpu ? `MISSED by ${overCpu}` : 'met'}`
    );
  } finally {
    built.cleanup();
  }
}
