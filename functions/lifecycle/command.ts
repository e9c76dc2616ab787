// Incident lifecycle command Lambda (glue): `kafka-heal incidents ack|resolve|reopen|note` against a
// deployed stack invokes it (lambda:InvokeFunction on this one function is all an operator needs;
// CloudTrail records who invoked it). It runs actions.ts with the deployment's own clients: the
// incident table, Step Functions (to stop a run still acting after a resolve) and the notification
// chain (PagerDuty is told), none of which the operator's machine has to reach.
//
// Environment: INCIDENT_TABLE_NAME and the notification variables of NOTIFY_ENV.
import { SFNClient } from '@aws-sdk/client-sfn';
import type { Context } from 'aws-lambda';
import * as z from 'zod';
import { storeFromEnv } from '../shared/clients.js';
import { IncidentNotFoundError } from '../shared/errors.js';
import type { IncidentRecord } from '../shared/store/index.js';
import { withHouseMiddleware } from '../shared/middy.js';
import { metrics } from '../shared/powertools.js';
import { notify, notifyDepsFromEnv } from '../shared/notify.js';
import { LIFECYCLE_ACTIONS, applyLifecycle, type LifecycleDeps, type LifecycleOutcome } from './actions.js';
import { publishMtta } from './mtta-metric.js';

export const LifecycleCommandSchema = z.strictObject({
  incidentId: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._:#-]{0,199}$/, 'expected an incident id'),
  action: z.enum(LIFECYCLE_ACTIONS),
  by: z.string().regex(/^[\x20-\x7e]{1,120}$/, 'expected 1-120 printable characters'),
  reason: z.string().max(1000).optional(),
});
export type LifecycleCommand = z.infer<typeof LifecycleCommandSchema>;

/** What the CLI prints from: never the whole incident, just what a person needs to see. */
export interface LifecycleCommandResult {
  outcome: LifecycleOutcome | 'not-found';
  incidentId: string;
  status?: string;
  acknowledgedBy?: string;
  acknowledgedAt?: string;
  resolvedBy?: string;
  resolvedAt?: string;
  mttaSeconds?: number;
  notes: string[];
}

/** The summary of a lifecycle result, as the Lambda returns it and the CLI prints it. */
export function summarize(
  incidentId: string,
  outcome: LifecycleCommandResult['outcome'],
  incident: IncidentRecord | undefined,
  notes: string[],
): LifecycleCommandResult {
  const out: LifecycleCommandResult = { outcome, incidentId, notes };
  if (incident === undefined) return out;
  out.status = incident.status;
  for (const k of ['acknowledgedBy', 'acknowledgedAt', 'resolvedBy', 'resolvedAt'] as const)
    if (incident[k] !== undefined) out[k] = incident[k];
  if (incident.mttaSeconds !== undefined) out.mttaSeconds = incident.mttaSeconds;
  return out;
}

export function makeLifecycleCommandHandler(deps: LifecycleDeps) {
  return async (cmd: LifecycleCommand): Promise<LifecycleCommandResult> => {
    try {
      const r = await applyLifecycle(deps, {
        incidentId: cmd.incidentId,
        action: cmd.action,
        by: cmd.by,
        via: 'cli',
        ...(cmd.reason === undefined ? {} : { reason: cmd.reason }),
      });
      return summarize(cmd.incidentId, r.outcome, r.incident, r.notes);
    } catch (err) {
      if (err instanceof IncidentNotFoundError) return summarize(cmd.incidentId, 'not-found', undefined, []);
      throw err;
    }
  };
}

let cached: ((c: LifecycleCommand) => Promise<LifecycleCommandResult>) | undefined;

function fromEnv() {
  const notifyDeps = notifyDepsFromEnv(process.env);
  const store = storeFromEnv();
  return makeLifecycleCommandHandler({
    incidents: store.incidents,
    timeline: store.timeline,
    lock: store.lock,
    sfn: new SFNClient({}),
    notify: (n) => notify(n, notifyDeps),
    recordMtta: (severity, seconds) => publishMtta(metrics, severity, seconds),
    now: () => new Date(),
  });
}

export const handler = withHouseMiddleware<LifecycleCommand, LifecycleCommandResult>(
  (event: LifecycleCommand, _context: Context) => (cached ??= fromEnv())(event),
  {
    schema: LifecycleCommandSchema,
  },
);
