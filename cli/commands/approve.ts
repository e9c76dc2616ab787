// `kafka-heal approve|reject <approval-id> [--reason ...]`: the same decision the approval page
// records (functions/approvals/decide.ts): once, by conditional write on the approval record,
// then SendTaskSuccess / SendTaskFailure(ApprovalRejected) to the waiting workflow.
//
// In AWS the record is in the incident table and the workflow waits in Step Functions (region
// and credentials from the environment). Locally: --endpoint for DynamoDB Local and
// --sfn-endpoint for the local approval server, which answers Step Functions' callback API from
// the local runtime's task-token registry (local/approval-server.ts).
import { userInfo } from 'node:os';
import { SFNClient } from '@aws-sdk/client-sfn';
import { decideApproval, type DecideOutcome } from '#functions/approvals/decide.js';
import { sfnCallbacks } from '#functions/approvals/endpoint.js';
import type { ApprovalVerdict } from '#functions/approvals/schema.js';
import { ApprovalNotFound, ApprovalStore } from '#functions/approvals/store.js';
import { parseFlags, UsageError, type Command } from '../args.js';
import { STORE_FLAGS, STORE_HELP, STORE_USAGE, withStore } from '../store.js';

const APPROVAL_ID = /^[A-Za-z0-9_-]{16,64}$/;

function approvalIdArg(positionals: string[]): string {
  if (positionals.length !== 1)
    throw new UsageError(
      `expected exactly one approval id, got ${positionals.length === 0 ? 'none' : positionals.join(' ')}`,
    );
  const id = positionals[0] as string;
  if (!APPROVAL_ID.test(id))
    throw new UsageError(
      `not an approval id: "${id}" (the id in the approval link or notification, 16-64 of A-Z a-z 0-9 _ -)`,
    );
  return id;
}

function sfnEndpointFlag(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UsageError(`--sfn-endpoint must be a URL like http://127.0.0.1:8080, got "${value}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new UsageError(`--sfn-endpoint must be an http(s) URL, got "${value}"`);
  return value;
}

export function describeOutcome(result: DecideOutcome, verdict: ApprovalVerdict): { text: string; code: number } {
  const r = result.record;
  const what = `${r.workflow} for incident ${r.incidentId}`;
  switch (result.outcome) {
    case 'recorded':
      return {
        text: `${verdict} ${what}${verdict === 'approved' ? ': the workflow continues' : ': the workflow escalates'}\nactions: ${r.actions.map((a, i) => `\n  ${i + 1}. ${a}`).join('')}`,
        code: 0,
      };
    case 'already-decided':
      return {
        text: `${what} was already ${r.status} by ${r.decidedBy ?? 'someone'} at ${r.decidedAt ?? '?'}; nothing changed`,
        code: 1,
      };
    case 'expired':
      return {
        text: `the approval for ${what} expired at ${new Date(r.linkExpires * 1000).toISOString()}; the workflow escalated`,
        code: 1,
      };
    case 'task-closed':
      return { text: `recorded, but ${what} no longer waits for a decision (it timed out and escalated)`, code: 1 };
  }
}

function decisionCommand(verb: 'approve' | 'reject', verdict: ApprovalVerdict): Command {
  return {
    path: [verb],
    summary: `${verb} a pending approval by its id (as the approval page does)`,
    usage: [
      `kafka-heal ${verb} <approval-id> [--reason TEXT] [--by NAME] [--sfn-endpoint URL] ${STORE_USAGE}`,
      'The approval id is in the approval link (/approvals/<id>) and in the notification.',
      STORE_HELP,
      '--sfn-endpoint URL: a local approval server (drills); default: Step Functions in AWS.',
      '--by: who decides (default cli:<your user name>).',
      'exit 0 recorded; 1 already decided, expired, no such approval, or the table/Step Functions cannot be reached; 2 bad input',
    ].join('\n'),
    async run(argv, io) {
      const { values, positionals } = parseFlags(
        argv,
        { ...STORE_FLAGS, reason: { type: 'string' }, by: { type: 'string' }, 'sfn-endpoint': { type: 'string' } },
        true,
      );
      const approvalId = approvalIdArg(positionals);
      const sfnEndpoint = sfnEndpointFlag(values['sfn-endpoint']);
      if (values.reason !== undefined && values.reason.length > 500)
        throw new UsageError('--reason is limited to 500 characters');
      if (values.by !== undefined && !/^[\x20-\x7e]{1,100}$/.test(values.by))
        throw new UsageError('--by must be 1-100 printable characters');
      const by = values.by ?? `cli:${userInfo().username}`;
      return withStore(io, verb, values, async ({ store, documentClient, tableName }) => {
        const region = values.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1';
        const sfn = new SFNClient(
          sfnEndpoint === undefined
            ? { region }
            : {
                region,
                endpoint: sfnEndpoint,
                credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
                maxAttempts: 2,
              },
        );
        try {
          const result = await decideApproval(
            {
              approvals: new ApprovalStore(documentClient, tableName),
              incidents: store.incidents,
              timeline: store.timeline,
              callbacks: sfnCallbacks(sfn),
              now: () => new Date(),
            },
            approvalId,
            {
              decision: verdict,
              by,
              ...(values.reason === undefined || values.reason === '' ? {} : { reason: values.reason }),
            },
          );
          const { text, code } = describeOutcome(result, verdict);
          (code === 0 ? io.stdout : io.stderr)(code === 0 ? text : `kafka-heal ${verb}: ${text}`);
          return code;
        } catch (err) {
          if (err instanceof ApprovalNotFound) {
            io.stderr(`kafka-heal ${verb}: no approval ${approvalId} in table ${tableName}`);
            return 1;
          }
          throw err;
        } finally {
          sfn.destroy();
        }
      });
    },
  };
}

export const approveCommand = decisionCommand('approve', 'approved');
export const rejectCommand = decisionCommand('reject', 'rejected');
