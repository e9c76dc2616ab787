// Starting a runbook workflow for an incident. The execution name is derived from the incident
// id (and workflow, attempt), so a second start for the same incident is harmless: Step Functions
// either returns the running execution (same input) or refuses with ExecutionAlreadyExists,
// which is treated as success here.
import {
  DescribeExecutionCommand,
  StartExecutionCommand,
  StopExecutionCommand,
  type SFNClient,
} from '@aws-sdk/client-sfn';
import type { RunState } from '../domain/run-fencing.js';
import { executionName } from '../domain/incident-id.js';
import type { Workflow } from '../domain/types.js';

export interface StartedWorkflow {
  executionArn: string;
  executionName: string;
  /** False when an execution with this name already existed (a duplicate start). */
  started: boolean;
}

/** The ARN an execution of `stateMachineArn` named `name` has (arn:...:stateMachine:X -> arn:...:execution:X:name). */
export function executionArnFor(stateMachineArn: string, name: string): string {
  return `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${name}`;
}

export async function startWorkflow(
  sfn: SFNClient,
  stateMachineArn: string,
  incidentId: string,
  input: unknown,
  opts: { workflow: Workflow; attempt?: number },
): Promise<StartedWorkflow> {
  const name = executionName(incidentId, opts.workflow, opts.attempt ?? 1);
  try {
    const res = await sfn.send(new StartExecutionCommand({ stateMachineArn, name, input: JSON.stringify(input) }));
    return {
      executionArn: res.executionArn ?? executionArnFor(stateMachineArn, name),
      executionName: name,
      started: true,
    };
  } catch (err) {
    if (err instanceof Error && err.name === 'ExecutionAlreadyExists') {
      return { executionArn: executionArnFor(stateMachineArn, name), executionName: name, started: false };
    }
    throw err;
  }
}

/** Environment variable holding a workflow's state machine ARN: broker-recovery -> WORKFLOW_ARN_BROKER_RECOVERY. */
export function workflowArnEnvName(workflow: Workflow): string {
  return `WORKFLOW_ARN_${workflow.toUpperCase().replace(/-/g, '_')}`;
}

/**
 * Stops an incident's running execution that another workflow supersedes (e.g. broker-recovery
 * when the incident grows into a cascade), so one incident never has two remediations at once.
 * False when the execution no longer exists; stopping one that already ended changes nothing.
 */
export async function stopWorkflow(sfn: SFNClient, executionArn: string, cause: string): Promise<boolean> {
  try {
    await sfn.send(new StopExecutionCommand({ executionArn, error: 'Superseded', cause: cause.slice(0, 32_768) }));
    return true;
  } catch (err) {
    if (err instanceof Error && err.name === 'ExecutionDoesNotExist') return false;
    throw err;
  }
}

/** Whether an execution still runs (run-fencing.ts RunState); `unknown` when Step Functions cannot say (throttled, denied). */
export async function runState(sfn: SFNClient, executionArn: string): Promise<RunState> {
  try {
    const res = await sfn.send(new DescribeExecutionCommand({ executionArn }));
    return res.status === 'RUNNING' || res.status === 'PENDING_REDRIVE' ? 'live' : 'ended';
  } catch (err) {
    if (err instanceof Error && err.name === 'ExecutionDoesNotExist') return 'missing';
    return 'unknown';
  }
}
