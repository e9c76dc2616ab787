// Small helpers shared by the benchmarks.

/** The median (mean of the middle two for an even count); NaN for no values. */
export function median(xs: number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

/** `met` or `MISSED` for a target that holds when `ok`. */
export function verdict(ok: boolean): string {
  return ok ? 'met' : 'MISSED';
}

/**
 * A benchmark whose run contradicts what it exists to show (e.g. a storm that opened two
 * incidents): the dispatcher prints the message as the summary line and exits 1.
 */
export class BenchFailure extends Error {
  override readonly name = 'BenchFailure';
}
