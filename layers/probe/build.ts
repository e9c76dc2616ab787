// Builds the probe Lambda layer: the probe library bundled into one ESM file at
// <outDir>/nodejs/node_modules/@kafka-heal/probe/index.mjs (Lambda puts /opt/nodejs/node_modules
// on the module path), so functions and workflow steps can `import { probeCluster } from
// '@kafka-heal/probe'` without bundling it themselves. The probe speaks the Kafka protocol with
// node built-ins only. The layer also carries kafkajs (one minified CommonJS file at
// <outDir>/nodejs/node_modules/kafkajs) for the cluster steps that produce and administer
// (DR backup and canary): kept out of their bundles, it would otherwise be about 260 KB of each.
//
// MSK IAM tokens come from AWS's signer (aws-msk-iam-sasl-signer-js), bundled with the library.
// The signer also offers credential paths the probe never takes (profiles, role assumption, a
// caller-identity debug log) through @aws-sdk/credential-providers and @aws-sdk/client-sts: those
// two are replaced by a stub that throws if called, instead of ~440 KB of SDK clients in every
// probe's cold start, or a dependency on which SDK packages the Lambda runtime happens to ship.
import { buildSync } from 'esbuild';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const PROBE_ENTRY = join(ROOT, 'functions', 'shared', 'probe', 'index.ts');
export const LAYER_PACKAGE = '@kafka-heal/probe';
/** Every module the layer provides: functions using the layer leave these out of their bundles. */
export const LAYER_MODULES = [LAYER_PACKAGE, 'kafkajs'];

/** SDK modules the signer requires for code paths the probe never calls (see the header). */
export const STUBBED_MODULES = ['@aws-sdk/credential-providers', '@aws-sdk/client-sts'];
/** What they become in the layer: any export called throws, naming itself. */
export const UNUSED_SDK_STUB = join(dirname(fileURLToPath(import.meta.url)), 'unused-sdk-stub.cjs');

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
    alias: Object.fromEntries(STUBBED_MODULES.map((m) => [m, UNUSED_SDK_STUB])),
    outfile: file,
    bundle: true,
    platform: 'node',
    target: 'node22',
    format: 'esm',
    minify: false,
    sourcemap: false,
    legalComments: 'none',
    // CommonJS dependencies (kafkajs) call require(); ESM bundles need it defined.
    banner: {
      js: "import { createRequire as __khCreateRequire } from 'node:module'; const require = __khCreateRequire(import.meta.url);",
    },
    metafile: true,
    logLevel: 'silent',
  });
  writeFileSync(
    join(pkgDir, 'package.json'),
    `${JSON.stringify({ name: LAYER_PACKAGE, version: '0.1.0', type: 'module', main: 'index.mjs', exports: { '.': './index.mjs' } }, null, 2)}\n`,
  );
  const out = result.metafile?.outputs ? Object.values(result.metafile.outputs)[0] : undefined;
  buildKafkajs(outDir);
  return { file, bytes: out?.bytes ?? 0 };
}

/** kafkajs as the project pins it, bundled and minified into the layer's nodejs/node_modules/kafkajs. */
export function buildKafkajs(outDir: string): LayerBuild {
  const require = createRequire(import.meta.url);
  const entry = require.resolve('kafkajs');
  const srcDir = dirname(entry);
  const pkg = JSON.parse(readFileSync(join(srcDir, 'package.json'), 'utf8')) as { version: string };
  const pkgDir = join(outDir, 'nodejs', 'node_modules', 'kafkajs');
  mkdirSync(pkgDir, { recursive: true });
  const file = join(pkgDir, 'index.js');
  const result = buildSync({
    entryPoints: [entry],
    outfile: file,
    bundle: true,
    platform: 'node',
    target: 'node22',
    format: 'cjs',
    minify: true,
    legalComments: 'none',
    metafile: true,
    logLevel: 'silent',
  });
  copyFileSync(join(srcDir, 'LICENSE'), join(pkgDir, 'LICENSE'));
  writeFileSync(
    join(pkgDir, 'package.json'),
    `${JSON.stringify({ name: 'kafkajs', version: pkg.version, license: 'MIT', main: 'index.js' }, null, 2)}\n`,
  );
  const out = result.metafile?.outputs ? Object.values(result.metafile.outputs)[0] : undefined;
  return { file, bytes: out?.bytes ?? 0 };
}
