// Severity ordering shared by the classifier and correlation: SEV-1 is the most severe.
import type { Severity } from './types.js';

const RANK: Record<Severity, number> = { 'SEV-1': 1, 'SEV-2': 2, 'SEV-3': 3, 'SEV-4': 4 };

/** True when `a` is more severe than `b`. */
export function isMoreSevere(a: Severity, b: Severity): boolean {
  return RANK[a] < RANK[b];
}

/** The most severe of the given severities. */
export function mostSevere(first: Severity, ...rest: Severity[]): Severity {
  return rest.reduce((acc, s) => (isMoreSevere(s, acc) ? s : acc), first);
}

/** SEV-1 and SEV-2 page a person; SEV-3 and SEV-4 notify only. */
export function pages(s: Severity): boolean {
  return RANK[s] <= 2;
}
