// The folder layout docs/architecture.md describes: functions/ holds Lambda code only. Every
// module under it is bundled into at least one Lambda (a module only the CLI, the drills or the
// CDK app import lives in tools/, local/ or infra/), and nothing under it imports those folders.
import { readFileSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..', '..');

function tsFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts') && !e.name.endsWith('.d.ts'))
    .map((e) => relative(ROOT, join(e.parentPath, e.name)))
    .sort();
}

/** A Lambda entry is a module that exports `handler` (infra binds each by folder and file name). */
const entries = tsFiles('functions').filter((f) =>
  /^export const handler\b/m.test(readFileSync(join(ROOT, f), 'utf8')),
);

describe('functions/ holds Lambda code only', () => {
  it('finds the Lambda entries', () => {
    expect(entries).toContain('functions/workflow-steps/handler.ts');
    expect(entries.length).toBeGreaterThanOrEqual(16);
  });

  it('every module under functions/ is bundled into some Lambda', async () => {
    const result = await build({
      absWorkingDir: ROOT,
      entryPoints: entries,
      bundle: true,
      write: false,
      metafile: true,
      platform: 'node',
      format: 'cjs',
      packages: 'external',
      outdir: 'out',
      logLevel: 'silent',
    });
    const bundled = new Set(Object.keys(result.metafile.inputs));
    const unbundled = tsFiles('functions').filter((f) => !bundled.has(f));
    expect(unbundled, 'move modules no Lambda imports to tools/, local/ or infra/').toEqual([]);
  });

  it('no module under functions/ imports the CDK app, the local runtime, the CLI, tools, benches or tests', () => {
    const outward = /from '(?:(?:\.\.\/)+|#)(?:infra|local|cli|tools|bench|test|layers)\//;
    const offenders = tsFiles('functions').filter((f) => outward.test(readFileSync(join(ROOT, f), 'utf8')));
    expect(offenders).toEqual([]);
  });
});
