// Handing an escalated incident to the escalation ladder (statemachines/escalation.asl.json) from
// a recovery workflow's `escalate` step, so a failed recovery pages people through PagerDuty with
// the ack-wait ladder exactly as a classifier escalation does. The execution name comes from the
// incident id (startWorkflow), so a second hand-over for the same incident is harmless.
import { SFNClient } from '@aws-sdk/client-sfn';
import { startWorkflow, workflowArnEnvName, type StartedWorkflow } from '../shared/workflows.js';

export interface LadderRequest {
  incidentId: string;
  cluster: string;
  incidentType: string;
  severity: string;
  summary: string;
  reasons: string[];
  dryRun: boolean;
}

export type LadderStarter = (request: LadderRequest) => Promise<StartedWorkflow>;

/** The starter when WORKFLOW_ARN_ESCALATION is set (the stack binds it), else undefined. */
export function ladderStarterFromEnv(
  env: NodeJS.ProcessEnv = process.env,
  client?: SFNClient,
): LadderStarter | undefined {
  const arn = env[workflowArnEnvName('escalation')];
  if (arn === undefined || arn === '') return undefined;
  let sfn = client;
  return (request) =>
    startWorkflow((sfn ??= new SFNClient({})), arn, request.incidentId, request, { workflow: 'escalation' });
}
