// Every unit test file gets its own temporary directory, removed when the file is done: TMPDIR
// is what os.tmpdir() (the tests' mkdtemp calls) and CDK (an App without an outdir synthesizes to
// a new cdk.out* there) read. Without it each run of the unit tier left some hundred directories
// (CDK assemblies of several MB each, zone files, configs) behind in the machine's /tmp.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';

// A worker runs many files in one process: the first file's tmpdir() is the machine's.
const parent = (process.env.KH_TEST_TMPDIR_PARENT ??= tmpdir());
const dir = mkdtempSync(join(parent, 'kh-unit-'));
process.env.TMPDIR = dir;

afterAll(() => {
  process.env.TMPDIR = parent;
  rmSync(dir, { recursive: true, force: true });
});
