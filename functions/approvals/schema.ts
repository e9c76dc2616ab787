// The approval contract between the workflows and the approvals Lambdas (DESIGN.md safety rule 7).
//
// A state that needs a human is a `lambda:invoke.waitForTaskToken` Task whose Payload is an
// ApprovalRequest. Step Functions parks the execution until someone answers through the approval
// page, the `kafka-heal approve|reject` CLI or the local approval server:
//   approved  -> SendTaskSuccess with an ApprovalDecision as the task's output
//   rejected  -> SendTaskFailure with Error `ApprovalRejected` (the workflow catches it)
//   no answer -> the state's TimeoutSeconds ends the task with `States.Timeout`
// These names and shapes are interface: the ASL files catch on them and the tests assert them.
import * as z from 'zod';

/** The Task resource every approval state uses, as the ASL files write it (the stack substitutes the partition). */
export const APPROVAL_RESOURCE_TEMPLATE = 'arn:${Partition}:states:::lambda:invoke.waitForTaskToken';

/** The same resource in the `aws` partition, as the local runtime renders the definitions. */
export const APPROVAL_RESOURCE = APPROVAL_RESOURCE_TEMPLATE.replace('${Partition}', 'aws');

/** The error a rejected approval fails its Task with. */
export const APPROVAL_REJECTED = 'ApprovalRejected';

/** Default approval window when a workflow has no reason to choose another (seconds). */
export const DEFAULT_APPROVAL_TIMEOUT_SECONDS = 3600;

/** What a workflow's approval state sends (its Parameters.Payload). */
export const ApprovalRequestSchema = z.looseObject({
  incidentId: z.string().min(1).max(80),
  /** The workflow id that asks (`cascade-recovery`, `dr-failover`...). */
  workflow: z.string().regex(/^[a-z][a-z0-9-]{1,63}$/, 'expected a workflow id'),
  /** One line for people: what will happen if they approve. */
  summary: z.string().min(1).max(500),
  /** The exact actions that will run after approval, in order, as people read them. */
  actions: z.array(z.string().min(1).max(500)).min(1, 'an approval must name the actions it would allow').max(50),
  taskToken: z.string().min(1).max(2048),
  /** Optional context the page shows (cluster, severity, evidence), when the workflow has it. */
  cluster: z.string().min(1).optional(),
  severity: z.string().optional(),
  incidentType: z.string().optional(),
  evidence: z.array(z.string().max(1000)).max(50).optional(),
  /** The approval state's TimeoutSeconds, so the links expire with it. Default 3600. */
  timeoutSeconds: z
    .number()
    .int()
    .min(60)
    .max(7 * 86_400)
    .optional(),
});
export type ApprovalRequest = z.infer<typeof ApprovalRequestSchema>;

export type ApprovalVerdict = 'approved' | 'rejected';

/** A human's answer; the task output when approved, the failure Cause (JSON) when rejected. */
export interface ApprovalDecision {
  decision: ApprovalVerdict;
  /** Who decided (an e-mail, an operator name, `cli:<user>`). */
  by: string;
  reason?: string;
}

/** Task output for an approval: what Step Functions places at the state's ResultPath. */
export function approvalOutput(d: ApprovalDecision): ApprovalDecision {
  return { decision: d.decision, by: d.by, ...(d.reason !== undefined && d.reason !== '' ? { reason: d.reason } : {}) };
}

/** The Cause of an ApprovalRejected failure: who rejected it and why, as JSON. */
export function rejectionCause(d: Pick<ApprovalDecision, 'by' | 'reason'>): string {
  return JSON.stringify({
    decision: 'rejected',
    by: d.by,
    ...(d.reason !== undefined && d.reason !== '' ? { reason: d.reason } : {}),
  });
}

/**
 * What the approvals code needs from Step Functions' callback API: the AWS SFN client in AWS,
 * the local task-token registry locally. Errors keep the service's names (`TaskTimedOut` for a
 * task that already finished or timed out, `TaskDoesNotExist`, `InvalidToken`).
 */
export interface TaskCallbacks {
  sendTaskSuccess(taskToken: string, output: string): Promise<void>;
  sendTaskFailure(taskToken: string, error: string, cause: string): Promise<void>;
}

/** Sends a decision through the callback API: SendTaskSuccess when approved, else SendTaskFailure(ApprovalRejected). */
export async function answerTask(
  callbacks: TaskCallbacks,
  taskToken: string,
  d: Pick<ApprovalDecision, 'decision' | 'by' | 'reason'>,
): Promise<void> {
  if (d.decision === 'approved') await callbacks.sendTaskSuccess(taskToken, JSON.stringify(approvalOutput(d)));
  else await callbacks.sendTaskFailure(taskToken, APPROVAL_REJECTED, rejectionCause(d));
}
