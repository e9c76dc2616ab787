// `npm run bench -- <name> [args]`: runs one benchmark. Each benchmark prints its figures as it
// measures them and returns one summary line, printed last, which says whether its target held.
// A benchmark whose target was missed still exits 0 (it measured something); one whose run
// contradicts what it shows (BenchFailure, e.g. a storm that started two executions) prints that as
// its summary line and exits 1, as does one that crashed.
import { BenchFailure } from './stats.js';
/** What every benchmark module exports. */
export interface Bench {
  /** One line: the figures and, per target, `met` or `MISSED`. */
  run(args: string[]): Promise<string>;
}

export const BENCHES: Record<string, { file: string; what: string }> = {
  mttr: {
    file: './mttr.js',
    what: 'drill MTTD/MTTR vs the oracle on the real local cluster (broker-crash, broker-hang, cascade; median of 3)',
  },
  storm: {
    file: './storm.js',
    what: '10,000 duplicated signals for one fault through ingest + classify on DynamoDB Local: one incident, one execution',
  },
  bundles: {
    file: './bundles.js',
    what: 'each Lambda bundle as CDK builds it: size and module init time (median of 20 fresh node processes)',
  },
  cost: {
    file: './cost.js',
    what: 'idle cost per monitored cluster per month and cost per incident, from the synthesized templates',
  },
  'probe-latency': { file: './probe-latency.js', what: 'probe latency on a real 3-broker cluster with 120 partitions' },
  detect: {
    file: './detect.js',
    what: 'broker-crash MTTD per path (probe fast detection, broker-down alarm) at AWS time scale on the real local cluster; idle-cost delta',
  },
};

function usage(): string {
  return [
    'usage: npm run bench -- <name> [args]',
    '',
    ...Object.entries(BENCHES).map(([n, b]) => `  ${n.padEnd(14)} ${b.what}`),
  ].join('\n');
}

async function main(argv: string[]): Promise<number> {
  const [name, ...args] = argv;
  if (name === undefined || name === '--help' || name === '-h') {
    console.log(usage());
    return name === undefined ? 2 : 0;
  }
  const entry = BENCHES[name];
  if (!entry) {
    console.error(`unknown benchmark: ${name}\n\n${usage()}`);
    return 2;
  }
  const mod = (await import(new URL(entry.file, import.meta.url).href)) as Bench;
  try {
    const summary = await mod.run(args);
    console.log(`bench ${name}: ${summary}`);
    return 0;
  } catch (err) {
    if (!(err instanceof BenchFailure)) throw err;
    console.log(`bench ${name}: FAILED: ${err.message}`);
    return 1;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  },
);
