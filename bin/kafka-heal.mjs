#!/usr/bin/env node
// Entry point of the `kafka-heal` CLI. The project targets Node 22; when started by an older
// node, re-run under the Node 22 that scripts/node22.sh provisions (or say how to get it).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { homedir, arch } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const major = Number(process.versions.node.split('.')[0]);

if (major < 22) {
  const version = process.env.KAFKA_HEAL_NODE_VERSION ?? '22.23.3';
  const cache = process.env.KAFKA_HEAL_CACHE ?? join(homedir(), '.cache', 'kafka-heal');
  const a = arch() === 'arm64' ? 'arm64' : 'x64';
  const node22 = join(cache, `node-v${version}-${a}`, 'node_modules', `node-linux-${a}`, 'bin', 'node');
  if (!existsSync(node22)) {
    console.error(
      `kafka-heal needs Node 22 (this is ${process.versions.node}). Run \`bash scripts/run.sh kafka-heal -- --help\` once to provision it, or install Node 22.`,
    );
    process.exit(2);
  }
  const r = spawnSync(node22, [fileURLToPath(import.meta.url), ...process.argv.slice(2)], { stdio: 'inherit' });
  process.exit(r.status ?? 1);
}

// A local drill prints its report on stdout. The handlers it runs create their Powertools logger
// and metrics when the CLI's modules load, and each reads its switch only then: silence both
// before anything loads (a variable the user set wins).
if (process.argv[2] === 'drill' && !process.argv.includes('--aws')) {
  process.env.POWERTOOLS_LOG_LEVEL ??= 'SILENT';
  process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
}

const { register } = await import('tsx/esm/api');
// The project's tsconfig.json whatever the working directory: its `paths` map the probe layer's
// module name (@kafka-heal/probe) to the library source, as in tests and type checks.
register({ tsconfig: join(here, '..', 'tsconfig.json') });
const { main } = await import(pathToFileURL(join(here, '..', 'cli', 'main.ts')).href);
process.exitCode = await main(process.argv.slice(2));
