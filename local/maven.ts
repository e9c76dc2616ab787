// Fetches jar sets from Maven Central with the poms kept in local/maven/<set>/pom.xml and
// caches them outside the repo ($KAFKA_HEAL_CACHE or ~/.cache/kafka-heal/jars/<set>). A set
// is fetched once; later calls return the cached folder. The stamp records the pom's hash,
// so editing a pom refetches its set.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..');

export function cacheRoot(): string {
  return process.env.KAFKA_HEAL_CACHE ?? join(homedir(), '.cache', 'kafka-heal');
}

export function pomPath(set: string): string {
  return join(repoRoot, 'local', 'maven', set, 'pom.xml');
}

/** Folder holding the jars of a set, whether fetched yet or not. */
export function jarDir(set: string): string {
  return join(cacheRoot(), 'jars', set);
}

function run(cmd: string, args: string[], log: (line: string) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let tail = '';
    const keep = (chunk: Buffer) => {
      tail = (tail + chunk.toString()).slice(-4000);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.on('error', (err) => reject(new Error(`cannot run ${cmd}: ${err.message} (is Maven installed?)`)));
    child.on('close', (code) => {
      if (code === 0) resolve();
      else {
        log(tail);
        reject(new Error(`${cmd} ${args.join(' ')} exited with ${code}:\n${tail}`));
      }
    });
  });
}

/**
 * Ensures the jars of `set` are in the cache and returns their folder. Safe to call from
 * several processes: the fetch goes to a temporary folder that is renamed into place.
 */
export async function ensureJars(
  set: string,
  log: (line: string) => void = (l) => process.stderr.write(`${l}\n`),
): Promise<string> {
  const pom = pomPath(set);
  if (!existsSync(pom)) throw new Error(`no pom for jar set "${set}" at ${pom}`);
  const hash = createHash('sha256').update(readFileSync(pom)).digest('hex');
  const dir = jarDir(set);
  const stamp = join(dir, '.pom.sha256');
  if (existsSync(stamp) && readFileSync(stamp, 'utf8') === hash) return dir;

  log(`kafka-heal: fetching ${set} jars from Maven Central into ${dir} (once)`);
  const tmp = `${dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(dirname(dir), { recursive: true });
  const started = Date.now();
  await run(
    'mvn',
    [
      '-B',
      '-q',
      '-f',
      pom,
      'dependency:copy-dependencies',
      `-DoutputDirectory=${tmp}`,
      '-DincludeScope=runtime',
      '-Dmdep.useRepositoryLayout=false',
    ],
    log,
  );
  writeFileSync(join(tmp, '.pom.sha256'), hash);
  rmSync(dir, { recursive: true, force: true });
  renameSync(tmp, dir);
  log(
    `kafka-heal: ${set} jars ready (${readdirSync(dir).length - 1} files, ${((Date.now() - started) / 1000).toFixed(1)} s)`,
  );
  return dir;
}

/** A Java classpath of every jar in the set's folder. */
export function classpath(dir: string): string {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.jar'))
    .sort()
    .map((f) => join(dir, f))
    .join(':');
}
