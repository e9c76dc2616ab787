// Builds the probe Lambda layer: the probe library bundled into one ESM file at
// <outDir>/nodejs/node_modules/@kafka-heal/probe/index.mjs (Lambda puts /opt/nodejs/node_modules
// on the module path), so functions and workflow steps can `import { probeCluster } from
// '@kafka-heal/probe'` without bundling it themselves. The probe speaks the Kafka protocol with
// node built-ins only; kafkajs is bundled too when a future probe module imports it.
import { buildSync } from 'esbuild';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const PROBE_ENTRY = join(ROOT, 'functions', 'shared', 'probe', 'index.ts');
export const LAYER_PACKAGE = '@kafka-heal/probe';

export interface LayerBuild {
  /** Absolute path of the bundled module. */
  file: string;
  bytes: number;
}

export function buildProbeLayer(outDir: string): LayerBuild {
  const pkgDir = join(outDir, 'nodejs', 'node_modules', ...LAYER_PACKAGE.split('/'));
  mkdirSync(pkgDir, { recursive: true });
  const file = join(pkgDir, 'index.mjs');
  const result = buildSync({
    entryPoints: [PROBE_ENTRY],
    outfile: file,
    bundle: true,
    platform: 'node',
    target: 'node22',
    format: 'esm',
    minify: false,
    sourcemap: false,
    legalComments: 'none',
    // CommonJS dependencies (kafkajs) call require(); ESM bundles need it defined.
    banner: { js: "import { createRequire as __khCreateRequire } from 'node:module'; const require = __khCreateRequire(import.meta.url);" },
    metafile: true,
    logLevel: 'silent',
  });
  writeFileSync(join(pkgDir, 'package.json'), `${JSON.stringify({ name: LAYER_PACKAGE, version: '0.1.0', type: 'module', main: 'index.mjs', exports: { '.': './index.mjs' } }, null, 2)}\n`);
  const out = result.metafile?.outputs ? Object.values(result.metafile.outputs)[0] : undefined;
  return { file, bytes: out?.bytes ?? 0 };
}
