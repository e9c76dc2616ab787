// Leak checks for tests that start processes outside the cluster supervisor (Prometheus, Alertmanager).
import { readFileSync, readdirSync } from 'node:fs';

/** Pids of live processes whose command line mentions `needle` (e.g. a drill's monitoring folder). */
export function processesMentioning(needle: string): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (readFileSync(`/proc/${d}/cmdline`, 'utf8').includes(needle)) out.push(Number(d));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}
