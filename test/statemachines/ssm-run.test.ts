// ssm-run: one SSM Command document on one instance, to its end, as the nested workflow the
// recovery workflows share. Run on the local runtime with the SSM bindings' asynchronous semantics,
// alone and nested under a parent through states:startExecution.sync:2, where its typed failures
// must reach the parent's escalation reason as they would in AWS (States.TaskFailed describing the
// child execution).
import { describe, expect, it } from 'vitest';
import { escalationReason } from '#domain/broker-recovery.js';
import {
  RESOURCES,
  parseDefinition,
  recordCalls,
  runWorkflow,
  ssmBindings,
  startExecutionSyncBinding,
  taskResources,
  type AslDefinition,
  type CommandOutcome,
  type Json,
} from '#local/stepfunctions/index.js';
import { expectHouseStyle, expectValidAsl } from '../support/asl.js';
import { aslText, ok } from './recovery-fixtures.js';

const TEXT = aslText('ssm-run');
const CHILD = 'arn:aws:states:eu-west-1:123456789012:stateMachine:kafka-heal-test-ssm-run';
const INSTANCE = 'i-0123456789abcdef2';
const INPUT = {
  documentName: 'kafka-heal-test-kafka-restart-broker',
  instanceId: INSTANCE,
  parameters: { ServiceName: ['kafka'], ListenerPort: ['9092'] },
  label: 'the restart command',
  hostKind: 'broker host',
};

function bindings(outcome: CommandOutcome, managed = true) {
  const ssm = ssmBindings({ invisibleForPolls: 1, isManaged: () => managed, run: async () => outcome });
  return { ssm, recorded: recordCalls(ssm.registry) };
}

function runChild(input: Json, registry: ReturnType<typeof recordCalls>['registry']) {
  return runWorkflow({ definition: parseDefinition(TEXT, {}), input, bindings: registry, timeScale: 0.0005 });
}

describe('statemachines/ssm-run.asl.json: definition', () => {
  it('passes asl-validator and follows the house style', () => {
    expectValidAsl(TEXT, {});
    expectHouseStyle(TEXT);
  });

  it('calls SSM only: the parent owns the incident, the lock and the paging', () => {
    expect(taskResources(parseDefinition(TEXT, {}))).toEqual([
      'arn:aws:states:::aws-sdk:ssm:getCommandInvocation',
      'arn:aws:states:::aws-sdk:ssm:sendCommand',
    ]);
  });
});

describe('ssm-run runs (aws-local-stepfunctions, SSM bindings)', () => {
  it('a command that succeeds: sent once to the one instance with the parameters as given, polled to Success, its output returned', async () => {
    const { ssm, recorded } = bindings(ok('{"result":"restarted"}\n'));
    const result = await runChild(INPUT, recorded.registry);
    expect(result.status).toBe('SUCCEEDED');
    expect(result.status === 'SUCCEEDED' && result.output).toEqual({
      status: 'Success',
      responseCode: 0,
      stdout: '{"result":"restarted"}\n',
      summary: 'the restart command ended Success (exit code 0): {"result":"restarted"}\n',
    });
    expect(ssm.commands.map((c) => [c.documentName, c.instanceId, c.parameters, c.timeoutSeconds])).toEqual([
      [INPUT.documentName, INSTANCE, INPUT.parameters, 120],
    ]);
    // Invisible right after SendCommand: the retry on InvocationDoesNotExist handled it.
    expect(recorded.calls.filter((c) => c.error === 'Ssm.InvocationDoesNotExistException')).toHaveLength(1);
  });

  it('a command that ends Failed fails the run with CommandFailed, the status, the exit code and the output in the cause', async () => {
    const { recorded } = bindings({
      status: 'Failed',
      responseCode: 7,
      stdout: 'port 9092 did not accept connections\n',
      stderr: '',
    });
    const result = await runChild(INPUT, recorded.registry);
    expect(result).toMatchObject({
      status: 'FAILED',
      error: 'CommandFailed',
      cause: 'the restart command ended Failed (exit code 7): port 9092 did not accept connections\n',
    });
  });

  it('an instance SSM cannot reach fails with HostUnreachable naming it; nothing is polled', async () => {
    const { ssm, recorded } = bindings(ok(''), false);
    const result = await runChild(INPUT, recorded.registry);
    expect(result).toMatchObject({
      status: 'FAILED',
      error: 'HostUnreachable',
      cause: `the broker host ${INSTANCE} is unreachable through SSM (stopped, terminated or agent offline): reboot or replace it`,
    });
    expect(ssm.commands).toEqual([]);
    expect(recorded.calls.map((c) => c.resource)).toEqual([RESOURCES.ssmSendCommand]);
  });
});

describe('ssm-run nested under a parent (states:startExecution.sync:2)', () => {
  const parent: AslDefinition = {
    Comment: 'A parent that runs the command as a child execution and escalates with whatever stopped it.',
    StartAt: 'Restart Kafka Service',
    TimeoutSeconds: 3300,
    States: {
      'Restart Kafka Service': {
        Type: 'Task',
        Resource: RESOURCES.startExecutionSync2,
        Parameters: { StateMachineArn: CHILD, 'Input.$': '$.command' },
        TimeoutSeconds: 1800,
        ResultSelector: { 'stdout.$': '$.Output.stdout' },
        ResultPath: '$.restart',
        Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'Escalate' }],
        Next: 'Done',
      },
      Escalate: { Type: 'Pass', End: true },
      Done: { Type: 'Succeed' },
    },
  } as unknown as AslDefinition;

  async function runParent(outcome: CommandOutcome, managed = true) {
    const { recorded } = bindings(outcome, managed);
    const registry = {
      ...recorded.registry,
      [RESOURCES.startExecutionSync2]: startExecutionSyncBinding({
        [CHILD]: (input) => runChild(input, recorded.registry),
      }),
    };
    return runWorkflow({ definition: parent, input: { command: INPUT }, bindings: registry, timeScale: 0.0005 });
  }

  it('the child output is the Task result (Output as JSON, the :2 variant)', async () => {
    const result = await runParent(ok('restarted\n'));
    expect(result.status === 'SUCCEEDED' && result.output).toMatchObject({ restart: { stdout: 'restarted\n' } });
  });

  it.each([
    [
      { status: 'TimedOut', responseCode: -1, stdout: 'still waiting\n', stderr: '' },
      true,
      'CommandFailed: the restart command ended TimedOut (exit code -1): still waiting\n',
    ],
    [
      ok(''),
      false,
      `HostUnreachable: the broker host ${INSTANCE} is unreachable through SSM (stopped, terminated or agent offline): reboot or replace it`,
    ],
  ] as const)(
    'a failed child reaches the parent as States.TaskFailed, and its error and cause are the escalation reason',
    async (outcome, managed, reason) => {
      const result = await runParent(outcome, managed);
      expect(result.status).toBe('SUCCEEDED');
      const state =
        result.status === 'SUCCEEDED' ? (result.output as { error: { Error: string; Cause: string } }) : undefined;
      expect(state?.error.Error).toBe('States.TaskFailed');
      expect(JSON.parse(state?.error.Cause ?? '{}')).toMatchObject({ Status: 'FAILED', StateMachineArn: CHILD });
      expect(escalationReason(state)).toBe(reason);
    },
  );
});
