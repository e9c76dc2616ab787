// The record-approval step: one timeline line for what became of a workflow's approval gate, so
// the workflow needs one state after its approval Task instead of a record state per answer.
//
//   dry run (no answer, none asked)   approval-planned / dry-run   "would ask for approval: <summary>"
//   automatic (the policy asks none)  approval-not-required / automatic <summary>
//   approved                          approval-granted / approved  "approved by <who>"
//   ApprovalRejected                  approval-rejected / rejected <the rejection's Cause>
//   States.Timeout                    approval-timed-out / timed-out "no decision within <n> s"
//
// A rejection or a timeout then stops the recovery (RecoveryStopped) with the reason the
// escalation path has always read from the approval Task's error (escalationReason).
// classifyApproval is that classification for every approval gate; each workflow passes its own
// wording of the lines (quorum-recovery's record step words them with the phase it approves).
import * as z from 'zod';
import { escalationReason } from '../domain/broker-recovery.js';
import type { TimelineEntry } from '../shared/store/index.js';
import { RecoveryStopped } from '../shared/recovery-errors.js';

/**
 * The step's fields: `approval` is the run's approval request as the start step planned it, with
 * the approval Task's `answer` (the decision it returned, or the error its Catch caught); no
 * answer in a dry run, which asks nobody.
 */
export const RecordApprovalFields = {
  approval: z
    .object({
      /** The approval request's summary (what a dry run would have asked). */
      summary: z.string().max(2000),
      /** The cluster's policy lets the run act without asking (dr-failover's dr.automaticFailover): no answer is expected. */
      automatic: z.boolean().optional(),
      answer: z
        .union([
          z.object({ decision: z.literal('approved'), by: z.string() }).loose(),
          z.object({ Error: z.string(), Cause: z.string().optional() }).loose(),
        ])
        .optional(),
    })
    .loose(),
  /** The approval Task's TimeoutSeconds, for the timed-out line. */
  timeoutSeconds: z.number().int().positive(),
  /** The workflow's own wording of the timed-out line (the DR switch names the record it left alone). */
  timedOutDetail: z.string().max(2000).optional(),
};
export type RecordApproval = z.infer<z.ZodObject<typeof RecordApprovalFields>>;

/** An approval Task's answer as the classifier reads it: who approved, or the error its Catch caught. */
export type ApprovalAnswer = { approvedBy: string } | { Error: string; Cause?: string | null | undefined };

/** Each workflow's own wording of the three timeline lines; what each line means is shared. */
export interface ApprovalWording {
  granted: (by: string) => string;
  /** The rejection's detail from its Cause; undefined leaves the line without one. */
  rejected: (cause: string | null | undefined) => string | undefined;
  timedOut: string;
}

/**
 * What became of an approval: approved (approval-granted), rejected (approval-rejected) or not
 * answered in time (States.Timeout: approval-timed-out). The last two stop the recovery with the
 * reason the escalation path reads from the approval Task's error (escalationReason).
 */
export function classifyApproval(
  answer: ApprovalAnswer,
  wording: ApprovalWording,
): { line: Omit<TimelineEntry, 'actor' | 'at'>; stop?: string } {
  if ('approvedBy' in answer)
    return { line: { action: 'approval-granted', result: 'approved', detail: wording.granted(answer.approvedBy) } };
  const stop = escalationReason({ error: answer });
  if (answer.Error === 'States.Timeout')
    return { line: { action: 'approval-timed-out', result: 'timed-out', detail: wording.timedOut }, stop };
  const detail = wording.rejected(answer.Cause);
  return {
    line: { action: 'approval-rejected', result: 'rejected', ...(detail === undefined ? {} : { detail }) },
    stop,
  };
}

/** The timeline line of the gate's outcome, and the reason to stop when the answer was not yes. */
export function approvalLine(step: RecordApproval): { line: Omit<TimelineEntry, 'actor' | 'at'>; stop?: string } {
  const answer = step.approval.answer;
  if (answer === undefined && step.approval.automatic === true)
    return { line: { action: 'approval-not-required', result: 'automatic', detail: step.approval.summary } };
  if (answer === undefined)
    return {
      line: {
        action: 'approval-planned',
        result: 'dry-run',
        detail: `would ask for approval: ${step.approval.summary}`,
      },
    };
  return classifyApproval('decision' in answer ? { approvedBy: String(answer.by) } : answer, {
    granted: (by) => `approved by ${by}`,
    rejected: (cause) => cause || undefined,
    timedOut: step.timedOutDetail ?? `no decision within ${step.timeoutSeconds} s`,
  });
}

/** Writes the line, then stops the run when the answer was not yes. */
export async function recordApproval(
  append: (line: Omit<TimelineEntry, 'actor' | 'at'>) => Promise<unknown>,
  step: RecordApproval,
): Promise<{ recorded: true; approved: boolean }> {
  const { line, stop } = approvalLine(step);
  await append(line);
  if (stop !== undefined) throw new RecoveryStopped(stop);
  return { recorded: true, approved: line.action === 'approval-granted' };
}
