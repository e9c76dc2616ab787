// `kafka-heal approve|reject`: bad input is refused before anything is read; the happy path runs
// against DynamoDB Local and the local approval server in test/integration/approval-page.test.ts.
import { describe, expect, it } from 'vitest';
import { describeOutcome } from '#cli/commands/approve.js';
import { main } from '#cli/main.js';
import type { ApprovalRecord } from '#functions/approvals/store.js';
import { captureIO } from '../support/helpers.js';

const ID = 'Zm9vYmFyYmF6cXV4MTIzNA';

describe('kafka-heal approve|reject', () => {
  it.each([
    [['approve'], 'expected exactly one approval id, got none'],
    [['reject', 'a', 'b'], 'expected exactly one approval id, got a b'],
    [['approve', 'not/an id'], 'not an approval id'],
    [
      ['approve', ID, '--sfn-endpoint', 'nope', '--table', 't1x', '--endpoint', 'http://127.0.0.1:1'],
      '--sfn-endpoint must be a URL',
    ],
    [['approve', ID, '--sfn-endpoint', 'ftp://x', '--table', 't1x'], '--sfn-endpoint must be an http(s) URL'],
    [['reject', ID, '--reason', 'x'.repeat(501)], '--reason is limited to 500 characters'],
    [['reject', ID, '--by', ''], '--by must be 1-100 printable characters'],
    [['approve', ID, '--bogus'], "Unknown option '--bogus'"],
    [['approve', ID], 'no incident table'],
  ])('%j -> exit 2: %s', async (argv, message) => {
    const io = captureIO();
    const env = process.env.KAFKA_HEAL_TABLE;
    delete process.env.KAFKA_HEAL_TABLE;
    try {
      expect(await main(argv, io)).toBe(2);
    } finally {
      if (env !== undefined) process.env.KAFKA_HEAL_TABLE = env;
    }
    expect(io.err.join('\n')).toContain(message);
  });

  it('--help names the approval id, the local endpoints and the exit codes', async () => {
    const io = captureIO();
    expect(await main(['approve', '--help'], io)).toBe(0);
    const text = io.out.join('\n');
    expect(text).toContain('kafka-heal approve <approval-id> [--reason TEXT]');
    expect(text).toContain('--sfn-endpoint URL');
    expect(text).toContain('exit 0 recorded');
  });

  it('says what happened for every outcome, exit 0 only when recorded', () => {
    const record: ApprovalRecord = {
      approvalId: ID,
      incidentId: 'inc-1',
      workflow: 'dr-failover',
      summary: 's',
      actions: ['UPSERT kafka.example.com -> dr'],
      taskToken: 't',
      requestedAt: '2026-11-22T05:00:00.000Z',
      linkExpires: Date.parse('2026-11-22T06:00:00.000Z') / 1000,
      status: 'approved',
      decidedBy: 'alice',
      decidedAt: '2026-11-22T05:10:00.000Z',
    };
    expect(describeOutcome({ outcome: 'recorded', record }, 'approved')).toEqual({
      code: 0,
      text: 'approved dr-failover for incident inc-1: the workflow continues\nactions: \n  1. UPSERT kafka.example.com -> dr',
    });
    expect(describeOutcome({ outcome: 'recorded', record }, 'rejected').text).toContain('the workflow escalates');
    expect(describeOutcome({ outcome: 'already-decided', record }, 'rejected')).toEqual({
      code: 1,
      text: 'dr-failover for incident inc-1 was already approved by alice at 2026-11-22T05:10:00.000Z; nothing changed',
    });
    expect(describeOutcome({ outcome: 'expired', record }, 'approved')).toEqual({
      code: 1,
      text: 'the approval for dr-failover for incident inc-1 expired at 2026-11-22T06:00:00.000Z; the workflow escalated',
    });
    expect(describeOutcome({ outcome: 'task-closed', record }, 'approved').code).toBe(1);
  });
});
