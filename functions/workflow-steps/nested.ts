// Incident-side steps of a recovery run nested in another workflow (cascade-recovery runs
// broker-recovery / msk-broker-recovery once per broker; broker-recovery hands a full disk to
// disk-pressure). The child shares the parent's incident, so it must not close it, escalate it or
// release the parent's cluster lock: it records its outcome on the timeline and returns it, and the
// parent decides (and pages) once for the whole incident. Heals are recorded by the parent too,
// so the flap breaker counts one heal per incident, not one per child.
import { escalationReason } from '../domain/broker-recovery.js';
import type { IncidentType, Severity } from '../domain/types.js';
import type { IncidentRepo, Timeline } from '../shared/store/index.js';

interface Store {
  incidents: Pick<IncidentRepo, 'get'>;
  timeline: Pick<Timeline, 'appendTimeline'>;
}
const actor = (wf: string) => `workflow:${wf}`;

/** True when a workflow state (the `escalate` step's `state`) belongs to a nested run. */
export function isNestedState(state: unknown): boolean {
  if (typeof state !== 'object' || state === null) return false;
  const parent = (state as { parentWorkflow?: unknown }).parentWorkflow;
  return typeof parent === 'string' && parent !== 'none';
}

export async function nestedResolve(
  store: Pick<Store, 'timeline'>,
  s: { workflow: string; incidentId: string; falseAlarm: boolean; summary: string },
) {
  await store.timeline.appendTimeline(s.incidentId, {
    actor: actor(s.workflow),
    action: s.falseAlarm ? 'nested-false-alarm' : 'nested-recovered',
    detail: `${s.falseAlarm ? 'nothing to do' : 'recovered'} (nested run: the parent workflow closes the incident): ${s.summary}`,
    result: s.falseAlarm ? 'false-alarm' : 'resolved',
  });
  return { result: s.falseAlarm ? ('false-alarm' as const) : ('resolved' as const), incidentId: s.incidentId };
}

export async function nestedEscalate(store: Store, s: { workflow: string; incidentId: string; state: unknown }) {
  const reason = escalationReason(s.state);
  const incident = await store.incidents.get(s.incidentId);
  await store.timeline.appendTimeline(s.incidentId, {
    actor: actor(s.workflow),
    action: 'nested-stopped',
    detail: `${reason} (nested run: the parent workflow escalates)`,
    result: 'escalated',
  });
  const summary = `${s.workflow} stopped on ${incident.cluster}: ${reason}`;
  return {
    result: 'escalated' as const,
    reason,
    summary,
    severity: incident.severity as Severity,
    incidentType: incident.type as IncidentType | string,
    reasons: [reason],
  };
}

export async function nestedReleaseLock(
  store: Pick<Store, 'timeline'>,
  s: { workflow: string; incidentId: string; cluster: string },
) {
  const note = `nested run: the parent workflow holds the remediation lock for ${s.cluster}`;
  await store.timeline.appendTimeline(s.incidentId, {
    actor: actor(s.workflow),
    action: 'lock-kept',
    detail: note,
    result: 'false',
  });
  return { released: false, note };
}
