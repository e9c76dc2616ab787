import { describe, expect, it } from 'vitest';
import { countOpenIncidents } from '#domain/incident-counts.js';
import type { IncidentStatus, Severity } from '#domain/types.js';

const i = (severity: Severity, status: IncidentStatus) => ({ severity, status });

describe('countOpenIncidents', () => {
  it('counts active incidents per severity, with zeros for the rest', () => {
    expect(countOpenIncidents([])).toEqual({
      bySeverity: { 'SEV-1': 0, 'SEV-2': 0, 'SEV-3': 0, 'SEV-4': 0 },
      awaitingApproval: 0,
      total: 0,
    });
    const counts = countOpenIncidents([
      i('SEV-1', 'awaiting-approval'),
      i('SEV-2', 'open'),
      i('SEV-2', 'remediating'),
      i('SEV-3', 'escalated'),
      i('SEV-1', 'resolved'),
      i('SEV-4', 'suppressed'),
    ]);
    expect(counts).toEqual({
      bySeverity: { 'SEV-1': 1, 'SEV-2': 2, 'SEV-3': 1, 'SEV-4': 0 },
      awaitingApproval: 1,
      total: 4,
    });
  });
});
