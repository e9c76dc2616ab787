// Bindings for the Task resources the project's workflows use, with the semantics of the AWS
// service behind each one (result shapes, asynchronous completion, error names), parameterised
// by what actually does the work: a handler called in process, a runbook run for a host, a local
// broker restarted. Tests pass doubles for the work; the drills pass the real local actions.
//
// Error names follow Step Functions: a Lambda's error surfaces as its errorType with a JSON Cause;
// AWS SDK integrations as `<Service>.<Exception>` (e.g. `Ssm.InvocationDoesNotExistException`).
import { randomUUID } from 'node:crypto';
import {
  TaskError,
  type BindingRegistry,
  type Json,
  type RunResult,
  type TaskBinding,
  type TaskCall,
} from './runtime.js';

export const RESOURCES = {
  lambdaInvoke: 'arn:aws:states:::lambda:invoke',
  ssmSendCommand: 'arn:aws:states:::aws-sdk:ssm:sendCommand',
  ssmGetCommandInvocation: 'arn:aws:states:::aws-sdk:ssm:getCommandInvocation',
  kafkaDescribeCluster: 'arn:aws:states:::aws-sdk:kafka:describeCluster',
  kafkaRebootBroker: 'arn:aws:states:::aws-sdk:kafka:rebootBroker',
  kafkaDescribeClusterOperation: 'arn:aws:states:::aws-sdk:kafka:describeClusterOperation',
  startExecutionSync2: 'arn:aws:states:::states:startExecution.sync:2',
  snsPublish: 'arn:aws:states:::sns:publish',
} as const;

function obj(input: Json, what: string): Record<string, Json> {
  if (typeof input !== 'object' || input === null || Array.isArray(input))
    throw new TaskError('States.Runtime', `${what}: parameters must be an object`);
  return input;
}

function str(o: Record<string, Json>, key: string, service: string): string {
  const v = o[key];
  if (typeof v !== 'string' || v === '') throw new TaskError(`${service}.ValidationException`, `${key} is required`);
  return v;
}

/** The error a Lambda function threw, as Step Functions reports it from lambda:invoke. */
export function lambdaError(err: unknown): TaskError {
  const e = err instanceof Error ? err : new Error(String(err));
  const errorType = e.name || 'Error';
  return new TaskError(errorType, JSON.stringify({ errorType, errorMessage: e.message }));
}

export type LocalFunction = (payload: Json) => Promise<unknown> | unknown;

/** The local function a FunctionName names: the exact value, or the function name at the end of an ARN. */
export function findLocalFunction(functions: Record<string, LocalFunction>, name: string): LocalFunction | undefined {
  if (Object.hasOwn(functions, name)) return functions[name];
  const short = /:function:([^:]+)/.exec(name)?.[1];
  return short !== undefined && Object.hasOwn(functions, short) ? functions[short] : undefined;
}

/**
 * `lambda:invoke` calling handlers in process, looked up by FunctionName: the exact value, or the
 * function name at the end of an ARN. The result has the service integration's shape
 * ({ Payload, StatusCode, ExecutedVersion }); a thrown error surfaces under its `name`.
 */
export function lambdaInvokeBinding(functions: Record<string, LocalFunction>): TaskBinding {
  return async (input) => {
    const params = obj(input, 'lambda:invoke');
    const name = str(params, 'FunctionName', 'Lambda');
    const fn = findLocalFunction(functions, name);
    if (!fn) throw new TaskError('Lambda.ResourceNotFoundException', `Function not found: ${name}`);
    let payload: unknown;
    try {
      payload = await fn(params.Payload ?? null);
    } catch (err) {
      throw lambdaError(err);
    }
    return { ExecutedVersion: '$LATEST', Payload: (payload ?? null) as Json, StatusCode: 200 };
  };
}

// ------------------------------------------------------------------ SSM Run Command

export interface CommandRun {
  documentName: string;
  instanceId: string;
  /** SSM's API shape: every value a list of strings. */
  parameters: Record<string, string[]>;
  timeoutSeconds?: number;
}

export interface CommandOutcome {
  /** SSM's terminal statuses for one invocation. */
  status: 'Success' | 'Failed' | 'TimedOut' | 'Cancelled';
  responseCode: number;
  stdout: string;
  stderr: string;
}

export interface SsmBindingOptions {
  /** Runs the document on the host (the drill runs the runbook; tests return canned outcomes). */
  run: (cmd: CommandRun) => Promise<CommandOutcome>;
  /**
   * Checks SendCommand makes before anything runs (document exists, parameters valid); throw a
   * TaskError (`Ssm.InvalidDocumentException`, `Ssm.InvalidParametersException`) to refuse.
   */
  validate?: (cmd: CommandRun) => void;
  /** Instances SSM can reach; others get InvalidInstanceId as from an offline agent. */
  isManaged?: (instanceId: string) => boolean;
  /**
   * How many getCommandInvocation calls answer InvocationDoesNotExist before the invocation is
   * visible (SSM's eventual consistency right after SendCommand). Default 0.
   */
  invisibleForPolls?: number;
}

interface Invocation {
  cmd: CommandRun;
  polls: number;
  outcome?: CommandOutcome;
  error?: string;
}

export interface SsmBindings {
  registry: BindingRegistry;
  /** Every command sent, in order. */
  commands: (CommandRun & { commandId: string; stateName: string })[];
  /** Resolves when every command sent so far has finished. */
  settled: () => Promise<void>;
}

/** `ssm:sendCommand` + `ssm:getCommandInvocation` with SSM's asynchronous semantics. */
export function ssmBindings(opts: SsmBindingOptions): SsmBindings {
  const invocations = new Map<string, Invocation>();
  const running: Promise<unknown>[] = [];
  const commands: SsmBindings['commands'] = [];
  const sendCommand: TaskBinding = (input, call: TaskCall) => {
    const p = obj(input, 'ssm:sendCommand');
    const documentName = str(p, 'DocumentName', 'Ssm');
    const ids = p.InstanceIds;
    if (!Array.isArray(ids) || ids.length !== 1 || typeof ids[0] !== 'string') {
      throw new TaskError(
        'Ssm.ValidationException',
        'the workflows send each command to exactly one instance (InstanceIds with one id)',
      );
    }
    const instanceId = ids[0];
    if (opts.isManaged && !opts.isManaged(instanceId))
      throw new TaskError(
        'Ssm.InvalidInstanceIdException',
        `Instance ${instanceId} is not a managed node or its agent is offline`,
      );
    const parameters: Record<string, string[]> = {};
    for (const [k, v] of Object.entries(obj(p.Parameters ?? {}, 'Parameters'))) {
      if (!Array.isArray(v) || !v.every((x) => typeof x === 'string'))
        throw new TaskError('Ssm.InvalidParametersException', `parameter ${k} must be a list of strings`);
      parameters[k] = v as string[];
    }
    const cmd: CommandRun = { documentName, instanceId, parameters };
    if (typeof p.TimeoutSeconds === 'number') cmd.timeoutSeconds = p.TimeoutSeconds;
    opts.validate?.(cmd);
    const commandId = randomUUID();
    const inv: Invocation = { cmd, polls: 0 };
    invocations.set(`${commandId}/${instanceId}`, inv);
    commands.push({ ...cmd, commandId, stateName: call.stateName });
    running.push(
      opts.run(cmd).then(
        (outcome) => (inv.outcome = outcome),
        (err: unknown) =>
          (inv.outcome = {
            status: 'Failed',
            responseCode: -1,
            stdout: '',
            stderr: err instanceof Error ? err.message : String(err),
          }),
      ),
    );
    return {
      Command: {
        CommandId: commandId,
        DocumentName: documentName,
        InstanceIds: [instanceId],
        Status: 'Pending',
        Parameters: parameters,
      },
    };
  };
  const getCommandInvocation: TaskBinding = (input) => {
    const p = obj(input, 'ssm:getCommandInvocation');
    const commandId = str(p, 'CommandId', 'Ssm');
    const instanceId = str(p, 'InstanceId', 'Ssm');
    const inv = invocations.get(`${commandId}/${instanceId}`);
    if (!inv || inv.polls++ < (opts.invisibleForPolls ?? 0)) {
      throw new TaskError(
        'Ssm.InvocationDoesNotExistException',
        `no invocation of command ${commandId} on ${instanceId}`,
      );
    }
    const base = { CommandId: commandId, InstanceId: instanceId, DocumentName: inv.cmd.documentName };
    if (!inv.outcome)
      return {
        ...base,
        Status: 'InProgress',
        StatusDetails: 'InProgress',
        ResponseCode: -1,
        StandardOutputContent: '',
        StandardErrorContent: '',
      };
    const o = inv.outcome;
    return {
      ...base,
      Status: o.status,
      StatusDetails: o.status,
      ResponseCode: o.responseCode,
      StandardOutputContent: o.stdout,
      StandardErrorContent: o.stderr,
    };
  };
  return {
    registry: { [RESOURCES.ssmSendCommand]: sendCommand, [RESOURCES.ssmGetCommandInvocation]: getCommandInvocation },
    commands,
    settled: async () => {
      await Promise.allSettled(running);
    },
  };
}

// ------------------------------------------------------------------ Amazon MSK

export interface MskBindingOptions {
  /** Cluster ARN -> its state (`ACTIVE`, `REBOOTING_BROKER`, `MAINTENANCE`...), read on every call. */
  clusterState: (clusterArn: string) => string | undefined;
  /** Restarts the broker (a drill restarts the local broker); rejects when the reboot fails. */
  reboot: (clusterArn: string, brokerIds: string[]) => Promise<void>;
  /**
   * Why MSK refuses this RebootBroker at once (answered as `Kafka.BadRequestException`, no
   * operation started), or undefined to accept it. Asked after the request and the cluster state
   * are checked.
   */
  refuse?: (clusterArn: string, brokerIds: string[]) => string | undefined;
}

export interface MskBindings {
  registry: BindingRegistry;
  reboots: { clusterArn: string; brokerIds: string[]; operationArn: string; stateName: string }[];
  settled: () => Promise<void>;
}

/** `kafka:describeCluster`, `kafka:rebootBroker`, `kafka:describeClusterOperation`. */
export function mskBindings(opts: MskBindingOptions): MskBindings {
  const operations = new Map<string, { state: string; error?: string; clusterArn: string }>();
  const reboots: MskBindings['reboots'] = [];
  const running: Promise<unknown>[] = [];
  const notFound = (arn: string) => new TaskError('Kafka.NotFoundException', `cluster ${arn} not found`);
  return {
    reboots,
    settled: async () => {
      await Promise.allSettled(running);
    },
    registry: {
      [RESOURCES.kafkaDescribeCluster]: (input) => {
        const arn = str(obj(input, 'kafka:describeCluster'), 'ClusterArn', 'Kafka');
        const state = opts.clusterState(arn);
        if (state === undefined) throw notFound(arn);
        return { ClusterInfo: { ClusterArn: arn, State: state } };
      },
      [RESOURCES.kafkaRebootBroker]: (input, call) => {
        const p = obj(input, 'kafka:rebootBroker');
        const arn = str(p, 'ClusterArn', 'Kafka');
        const ids = p.BrokerIds;
        if (!Array.isArray(ids) || ids.length !== 1 || typeof ids[0] !== 'string') {
          // MSK itself accepts one broker id per RebootBroker call.
          throw new TaskError('Kafka.BadRequestException', 'BrokerIds must hold exactly one broker id');
        }
        if (!/^[0-9]{1,9}$/.test(ids[0])) {
          // As MSK answers an id that is not a broker's: nothing else reaches the local restart.
          throw new TaskError(
            'Kafka.BadRequestException',
            `BrokerIds: ${JSON.stringify(ids[0].slice(0, 64))} is not a broker id`,
          );
        }
        const state = opts.clusterState(arn);
        if (state === undefined) throw notFound(arn);
        if (state !== 'ACTIVE')
          throw new TaskError('Kafka.BadRequestException', `cluster ${arn} is ${state}, not ACTIVE`);
        const refused = opts.refuse?.(arn, ids as string[]);
        if (refused !== undefined) throw new TaskError('Kafka.BadRequestException', refused);
        const operationArn = `${arn.replace(':cluster/', ':cluster-operation/')}/${randomUUID()}`;
        const op: { state: string; error?: string; clusterArn: string } = {
          state: 'UPDATE_IN_PROGRESS',
          clusterArn: arn,
        };
        operations.set(operationArn, op);
        reboots.push({ clusterArn: arn, brokerIds: ids as string[], operationArn, stateName: call.stateName });
        running.push(
          opts.reboot(arn, ids as string[]).then(
            () => (op.state = 'UPDATE_COMPLETE'),
            (err: unknown) => {
              op.state = 'UPDATE_FAILED';
              op.error = err instanceof Error ? err.message : String(err);
            },
          ),
        );
        return { ClusterArn: arn, ClusterOperationArn: operationArn };
      },
      [RESOURCES.kafkaDescribeClusterOperation]: (input) => {
        const arn = str(obj(input, 'kafka:describeClusterOperation'), 'ClusterOperationArn', 'Kafka');
        const op = operations.get(arn);
        if (!op) throw new TaskError('Kafka.NotFoundException', `operation ${arn} not found`);
        return {
          ClusterOperationInfo: {
            ClusterArn: op.clusterArn,
            OperationArn: arn,
            OperationType: 'REBOOT_NODE',
            OperationState: op.state,
            ...(op.error ? { ErrorInfo: { ErrorCode: 'RebootFailed', ErrorString: op.error } } : {}),
          },
        };
      },
    },
  };
}

// ------------------------------------------------------------------ nested executions

/** Runs a child state machine by ARN (e.g. runWorkflow of another ASL file with its own bindings). */
export type ChildRunner = (input: Json, call: TaskCall) => Promise<RunResult>;

/**
 * `states:startExecution.sync:2`: runs the child to its end; the result has the integration's
 * shape with Output as JSON (the `:2` variant). A failed child fails the Task with
 * States.TaskFailed, as in AWS, with the child's error in the Cause.
 */
export function startExecutionSyncBinding(children: Record<string, ChildRunner>): TaskBinding {
  return async (input, call) => {
    const p = obj(input, 'states:startExecution.sync:2');
    const arn = str(p, 'StateMachineArn', 'Sfn');
    const child = Object.hasOwn(children, arn) ? children[arn] : undefined;
    if (!child) throw new TaskError('Sfn.StateMachineDoesNotExistException', `State Machine Does Not Exist: '${arn}'`);
    const childInput = p.Input ?? {};
    const result = await child(childInput, call);
    const base = {
      ExecutionArn: result.execution.id,
      StateMachineArn: arn,
      Name: result.execution.name,
      Input: childInput,
    };
    if (result.status === 'SUCCEEDED') return { ...base, Status: 'SUCCEEDED', Output: result.output };
    throw new TaskError(
      'States.TaskFailed',
      JSON.stringify({ ...base, Status: 'FAILED', Error: result.error, Cause: result.cause }),
    );
  };
}

// ------------------------------------------------------------------ call recording

export interface RecordedCall {
  resource: string;
  stateName: string;
  input: Json;
  /** The error name when the binding threw. */
  error?: string;
}

/** Wraps every binding so each call (and its outcome) is recorded, in order, for assertions. */
export function recordCalls(registry: BindingRegistry): { registry: BindingRegistry; calls: RecordedCall[] } {
  const calls: RecordedCall[] = [];
  const wrapped: BindingRegistry = {};
  for (const [resource, binding] of Object.entries(registry)) {
    wrapped[resource] = async (input, call) => {
      const rec: RecordedCall = { resource, stateName: call.stateName, input: structuredClone(input) };
      calls.push(rec);
      try {
        return await binding(input, call);
      } catch (err) {
        rec.error = err instanceof Error ? err.name : 'Error';
        throw err;
      }
    };
  }
  return { registry: wrapped, calls };
}
