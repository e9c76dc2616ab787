// Recording a human's decision and handing it to the waiting workflow: the one path the approval
// page (POST) and `kafka-heal approve|reject` share.
//
//   1. conditional write on the approval record (pending and not expired -> decided), so the
//      decision is made once whoever races for it;
//   2. SendTaskSuccess (approved: the decision is the task output) or
//      SendTaskFailure(ApprovalRejected);
//   3. the incident timeline gets `approval-decided` (who, what, why, the actions it allows).
// If Step Functions no longer waits (the approval state timed out: `TaskTimedOut`), the record
// says so (`task-closed`) and the caller tells the person their decision came too late. If the
// send fails for another reason, the record keeps the decision with delivery `failed` and the
// same decision may be sent again (a retry of the page's POST or the CLI).
import { IncidentStatusConflict } from '../shared/errors.js';
import type { IncidentRepo, Timeline } from '../shared/store/index.js';
import { answerTask, type ApprovalVerdict, type TaskCallbacks } from './schema.js';
import { ApprovalAlreadyDecided, ApprovalExpired, type ApprovalRecord, type ApprovalStore } from './store.js';

export interface DecideDeps {
  approvals: Pick<ApprovalStore, 'get' | 'decide' | 'setDelivery'>;
  incidents: Pick<IncidentRepo, 'setStatus'>;
  timeline: Pick<Timeline, 'appendTimeline'>;
  callbacks: TaskCallbacks;
  now: () => Date;
}

export interface DecisionInput {
  decision: ApprovalVerdict;
  by: string;
  reason?: string;
}

export type DecideOutcome =
  | { outcome: 'recorded'; record: ApprovalRecord }
  | { outcome: 'already-decided'; record: ApprovalRecord }
  | { outcome: 'expired'; record: ApprovalRecord }
  | { outcome: 'task-closed'; record: ApprovalRecord };

/** Step Functions' answers for a token nobody waits on any more. */
const TASK_CLOSED_ERRORS = new Set(['TaskTimedOut', 'TaskDoesNotExist']);

export async function decideApproval(
  deps: DecideDeps,
  approvalId: string,
  input: DecisionInput,
): Promise<DecideOutcome> {
  let record: ApprovalRecord;
  try {
    record = await deps.approvals.decide(approvalId, input, deps.now());
  } catch (err) {
    if (err instanceof ApprovalExpired) return { outcome: 'expired', record: err.record };
    if (!(err instanceof ApprovalAlreadyDecided)) throw err;
    const prior = err.record;
    // The same decision whose hand-over failed may be handed over again; anything else is final.
    if (!(prior.delivery === 'failed' && prior.status === input.decision))
      return { outcome: 'already-decided', record: prior };
    record = prior;
  }
  const decided = {
    decision: input.decision,
    by: record.decidedBy ?? input.by,
    ...(record.reason === undefined ? {} : { reason: record.reason }),
  };
  try {
    await answerTask(deps.callbacks, record.taskToken, decided);
  } catch (err) {
    const name = err instanceof Error ? err.name : '';
    if (TASK_CLOSED_ERRORS.has(name)) {
      await deps.approvals.setDelivery(approvalId, 'task-closed');
      await deps.timeline.appendTimeline(record.incidentId, {
        actor: `operator:${decided.by}`,
        action: 'approval-decision-late',
        detail: `${input.decision} for ${record.workflow} arrived after the workflow stopped waiting (${name})`,
        result: input.decision,
      });
      return { outcome: 'task-closed', record: { ...record, delivery: 'task-closed' } };
    }
    await deps.approvals.setDelivery(approvalId, 'failed');
    throw err;
  }
  await deps.approvals.setDelivery(approvalId, 'delivered');
  await deps.timeline.appendTimeline(record.incidentId, {
    actor: `operator:${decided.by}`,
    action: 'approval-decided',
    detail: `${input.decision} ${record.workflow}: ${record.summary}${decided.reason === undefined ? '' : ` (reason: ${decided.reason})`}`,
    result: input.decision,
    reasons: record.actions,
  });
  if (input.decision === 'approved') {
    try {
      await deps.incidents.setStatus(record.incidentId, 'remediating', ['awaiting-approval'], {
        actor: `operator:${decided.by}`,
        detail: `approved ${record.workflow}`,
      });
    } catch (err) {
      // Not waiting in the incident's status (an operator changed it): the workflow still continues.
      if (!(err instanceof IncidentStatusConflict)) throw err;
    }
  }
  return { outcome: 'recorded', record: { ...record, delivery: 'delivered' } };
}
