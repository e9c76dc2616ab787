// Counts of the active incidents for the dashboard's "open incidents by severity" gauge. Pure.
import type { IncidentStatus, OpenIncident, Severity } from './types.js';

export const SEVERITY_LEVELS: readonly Severity[] = ['SEV-1', 'SEV-2', 'SEV-3', 'SEV-4'];

/** Statuses in which an incident still needs someone or something (the store's active set). */
const ACTIVE: ReadonlySet<IncidentStatus> = new Set(['open', 'remediating', 'awaiting-approval', 'escalated']);

export interface OpenIncidentCounts {
  /** Every severity is present, zero included, so the gauge drops to 0 instead of going silent. */
  bySeverity: Record<Severity, number>;
  awaitingApproval: number;
  total: number;
}

export function countOpenIncidents(
  incidents: readonly Pick<OpenIncident, 'severity' | 'status'>[],
): OpenIncidentCounts {
  const bySeverity = Object.fromEntries(SEVERITY_LEVELS.map((s) => [s, 0])) as Record<Severity, number>;
  let awaitingApproval = 0;
  let total = 0;
  for (const i of incidents) {
    if (!ACTIVE.has(i.status)) continue;
    bySeverity[i.severity] += 1;
    total += 1;
    if (i.status === 'awaiting-approval') awaitingApproval += 1;
  }
  return { bySeverity, awaitingApproval, total };
}
