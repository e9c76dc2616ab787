import { describe, expect, it } from 'vitest';
import { approvalLine, classifyApproval, recordApproval } from '#functions/workflow-steps/approval-decision.js';
import { planStepOutcome, type QuorumApprovalStep } from '#functions/workflow-steps/quorum-recovery.js';
import { RecoveryStopped } from '#shared/recovery-errors.js';

const summary = 'Restart the Kafka service of broker 2 of orders';
const rejected = {
  Error: 'ApprovalRejected',
  Cause: '{"decision":"rejected","by":"ops","reason":"replacing the host"}',
};

describe('record-approval: one line per approval gate', () => {
  it.each([
    [
      'a dry run (nobody asked)',
      undefined,
      { action: 'approval-planned', result: 'dry-run', detail: `would ask for approval: ${summary}` },
      undefined,
    ],
    [
      'approved',
      { decision: 'approved' as const, by: 'ops@example.com' },
      { action: 'approval-granted', result: 'approved', detail: 'approved by ops@example.com' },
      undefined,
    ],
    [
      'rejected',
      rejected,
      { action: 'approval-rejected', result: 'rejected', detail: rejected.Cause },
      `ApprovalRejected: ${rejected.Cause}`,
    ],
    [
      'unanswered',
      { Error: 'States.Timeout' },
      { action: 'approval-timed-out', result: 'timed-out', detail: 'no decision within 900 s' },
      'States.Timeout',
    ],
    [
      'rejected without a cause',
      { Error: 'ApprovalRejected' },
      { action: 'approval-rejected', result: 'rejected' },
      'ApprovalRejected',
    ],
  ])('%s', (_what, answer, line, stop) => {
    expect(approvalLine({ approval: { summary, ...(answer ? { answer } : {}) }, timeoutSeconds: 900 })).toEqual({
      line,
      ...(stop === undefined ? {} : { stop }),
    });
  });

  it("a policy that asks nobody (automatic) says so; a workflow's own timed-out wording is kept as written", () => {
    expect(approvalLine({ approval: { summary, automatic: true }, timeoutSeconds: 900 })).toEqual({
      line: { action: 'approval-not-required', result: 'automatic', detail: summary },
    });
    expect(approvalLine({ approval: { summary, automatic: false }, timeoutSeconds: 900 }).line.action).toBe(
      'approval-planned',
    );
    const timedOutDetail = 'no approval decision within 3600 s; the record was not changed';
    expect(
      approvalLine({
        approval: { summary, answer: { Error: 'States.Timeout' } },
        timeoutSeconds: 3600,
        timedOutDetail,
      }),
    ).toEqual({
      line: { action: 'approval-timed-out', result: 'timed-out', detail: timedOutDetail },
      stop: 'States.Timeout',
    });
  });

  it('writes the line first, then stops the run with the reason when the answer was not yes', async () => {
    const lines: unknown[] = [];
    const append = async (l: unknown) => void lines.push(l);
    await expect(
      recordApproval(append, {
        approval: { summary, answer: { decision: 'approved', by: 'ops' } },
        timeoutSeconds: 900,
      }),
    ).resolves.toEqual({ recorded: true, approved: true });
    await expect(recordApproval(append, { approval: { summary }, timeoutSeconds: 900 })).resolves.toEqual({
      recorded: true,
      approved: false,
    });
    const stopped = recordApproval(append, { approval: { summary, answer: rejected }, timeoutSeconds: 900 });
    await expect(stopped).rejects.toBeInstanceOf(RecoveryStopped);
    await expect(stopped).rejects.toThrow(`ApprovalRejected: ${rejected.Cause}`);
    expect(lines.map((l) => (l as { action: string }).action)).toEqual([
      'approval-granted',
      'approval-planned',
      'approval-rejected',
    ]);
  });
});

describe('one approval classifier, each workflow its own wording', () => {
  const wording = {
    granted: (by: string) => `granted by ${by}`,
    rejected: (cause: string | null | undefined) => (cause ? `no: ${cause}` : undefined),
    timedOut: 'too late',
  };
  it.each([
    ['approved', { approvedBy: 'ops' }, { action: 'approval-granted', result: 'approved', detail: 'granted by ops' }],
    [
      'rejected',
      rejected,
      { action: 'approval-rejected', result: 'rejected', detail: `no: ${rejected.Cause}` },
      `ApprovalRejected: ${rejected.Cause}`,
    ],
    [
      'rejected, wording without a detail',
      { Error: 'ApprovalRejected' },
      { action: 'approval-rejected', result: 'rejected' },
      'ApprovalRejected',
    ],
    [
      'unanswered',
      { Error: 'States.Timeout' },
      { action: 'approval-timed-out', result: 'timed-out', detail: 'too late' },
      'States.Timeout',
    ],
  ])('%s', (_what, answer, line, stop?: string) => {
    expect(classifyApproval(answer, wording)).toEqual({ line, ...(stop === undefined ? {} : { stop }) });
  });

  // quorum-recovery's wording, the cases its own tests do not reach.
  const step: QuorumApprovalStep = {
    kind: 'approval',
    subject: 'restarting the brokers',
    summary: 's',
    actions: [],
    evidence: [],
  };
  it.each([
    [
      'a rejection whose Cause is null',
      { Error: 'ApprovalRejected', Cause: null },
      { action: 'approval-rejected', result: 'rejected', detail: 'restarting the brokers was rejected: ' },
      'ApprovalRejected',
    ],
    [
      'an answer that names nobody',
      { stdout: '' },
      { action: 'approval-granted', result: 'approved', detail: 'someone approved restarting the brokers' },
    ],
    [
      'a rejection with a long Cause (the line is cut at 2,000 characters, the reason at 500)',
      { Error: 'ApprovalRejected', Cause: 'x'.repeat(3000) },
      {
        action: 'approval-rejected',
        result: 'rejected',
        detail: `restarting the brokers was rejected: ${'x'.repeat(3000)}`.slice(0, 2000),
      },
      `ApprovalRejected: ${'x'.repeat(500)}`,
    ],
  ])('quorum-recovery: %s', (_what, answer, line, stop?: string) => {
    expect(planStepOutcome(step, answer)).toEqual({ line, ...(stop === undefined ? {} : { stop }) });
  });
});
