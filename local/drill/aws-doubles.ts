// The AWS services between the drill's handlers that have no local server: SQS (alarm events
// -> ingest, signals -> classify), Step Functions StartExecution (classify -> workflows) and
// Secrets Manager GetSecretValue (the probe's and cluster steps' credentials of a secured
// cluster). Each double keeps the service's semantics the handlers rely on: SQS delivers batches to
// the consumer Lambda in order, redelivers the items it reports in batchItemFailures and parks a
// message in a DLQ after maxReceiveCount; StartExecution refuses a second execution of the same
// name with ExecutionAlreadyExists and runs the state machine asynchronously; GetSecretValue
// answers the current SecretString of a name or ARN, ResourceNotFoundException otherwise. A step
// Lambda's own SNS Publish and Lambda Invoke (consumer-lag's owning team and scale hook) reach the
// same topics and functions as the workflows' sns:publish and lambda:invoke Tasks do.
import { randomUUID } from 'node:crypto';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { findLocalFunction, type Json, type LocalFunction, type RunResult } from '../stepfunctions/index.js';

type Consumer = (event: SQSEvent) => Promise<SQSBatchResponse>;

interface Message {
  id: string;
  body: string;
  sentAt: number;
  receives: number;
}

export interface LocalQueueOptions {
  arn: string;
  consumer: Consumer;
  /** Receives before a message moves to the DLQ (the stack's redrive policy). */
  maxReceiveCount?: number;
  /** Delay before a failed message is visible again (ms). */
  retryDelayMs?: number;
  /** Batches delivered at once (the event source's maxConcurrency); default 1. */
  concurrency?: number;
  onError?: (err: unknown) => void;
}

/** A queue feeding one Lambda consumer, one message per batch, in arrival order, up to `concurrency` batches at once. */
export class LocalQueue {
  readonly dlq: { body: string; receives: number }[] = [];
  private readonly waiting: Message[] = [];
  private readonly workers = new Set<Promise<void>>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private closed = false;
  delivered = 0;

  constructor(private readonly opts: LocalQueueOptions) {}

  get url(): string {
    const name = this.opts.arn.split(':').at(-1) ?? 'queue';
    return `https://sqs.local/000000000000/${name}`;
  }

  send(body: string): void {
    if (this.closed) return;
    this.waiting.push({ id: randomUUID(), body, sentAt: Date.now(), receives: 0 });
    this.pump();
  }

  /** Resolves when nothing is waiting or being delivered. */
  async idle(): Promise<void> {
    while (this.workers.size > 0 || this.waiting.length > 0 || this.timers.size > 0) {
      await (this.workers.size > 0 ? Promise.race(this.workers) : new Promise((r) => setTimeout(r, 50)));
    }
  }

  close(): void {
    this.closed = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.waiting.length = 0;
  }

  private pump(): void {
    if (this.closed || this.workers.size >= (this.opts.concurrency ?? 1)) return;
    const worker: Promise<void> = (async () => {
      while (!this.closed && this.waiting.length > 0) {
        const msg = this.waiting.shift() as Message;
        msg.receives++;
        const record = {
          messageId: msg.id,
          receiptHandle: msg.id,
          body: msg.body,
          attributes: {
            ApproximateReceiveCount: String(msg.receives),
            SentTimestamp: String(msg.sentAt),
            SenderId: 'local',
            ApproximateFirstReceiveTimestamp: String(Date.now()),
          },
          messageAttributes: {},
          md5OfBody: '',
          eventSource: 'aws:sqs',
          eventSourceARN: this.opts.arn,
          awsRegion: 'local',
        } as SQSRecord;
        let failed = false;
        try {
          const res = await this.opts.consumer({ Records: [record] });
          failed = res.batchItemFailures.some((f) => f.itemIdentifier === msg.id);
        } catch (err) {
          failed = true;
          this.opts.onError?.(err);
        }
        this.delivered++;
        if (failed) this.retry(msg);
      }
    })().finally(() => {
      this.workers.delete(worker);
      if (this.waiting.length > 0) this.pump();
    });
    this.workers.add(worker);
    if (this.waiting.length > 0) this.pump();
  }

  private retry(msg: Message): void {
    if (msg.receives >= (this.opts.maxReceiveCount ?? 5)) {
      this.dlq.push({ body: msg.body, receives: msg.receives });
      return;
    }
    const t = setTimeout(() => {
      this.timers.delete(t);
      if (this.closed) return;
      this.waiting.push(msg);
      this.pump();
    }, this.opts.retryDelayMs ?? 1000);
    this.timers.add(t);
  }
}

/** The subset of SQSClient.send the ingest Lambda uses (SendMessageBatch), delivering to a LocalQueue. */
export function sqsClientDouble(queues: Record<string, LocalQueue>): { send: (command: unknown) => Promise<unknown> } {
  return {
    send: (command: unknown) => {
      const c = command as {
        constructor: { name: string };
        input: { QueueUrl?: string; Entries?: { Id?: string; MessageBody?: string }[]; MessageBody?: string };
      };
      const queue = c.input.QueueUrl !== undefined ? queues[c.input.QueueUrl] : undefined;
      if (!queue)
        return Promise.reject(
          Object.assign(new Error(`queue ${c.input.QueueUrl ?? '(none)'} does not exist`), {
            name: 'QueueDoesNotExist',
          }),
        );
      if (c.constructor.name === 'SendMessageBatchCommand') {
        const ok = (c.input.Entries ?? []).map((e) => {
          queue.send(e.MessageBody ?? '');
          return { Id: e.Id, MessageId: randomUUID() };
        });
        return Promise.resolve({ Successful: ok, Failed: [] });
      }
      if (c.constructor.name === 'SendMessageCommand') {
        queue.send(c.input.MessageBody ?? '');
        return Promise.resolve({ MessageId: randomUUID() });
      }
      return Promise.reject(new Error(`the local SQS double does not implement ${c.constructor.name}`));
    },
  };
}

/**
 * SNSClient.send for Publish, handing { TopicArn, Message, Subject? } to `publish` (the function an
 * sns:publish binding calls: the drill's outbox, a test's record) and answering its MessageId. An
 * error `publish` throws as the integration names it (`SNS.NotFoundException`) surfaces as the
 * SDK names it (`NotFoundException`).
 */
export function snsClientDouble(publish: (input: Json) => Json | Promise<Json>): {
  send: (command: unknown) => Promise<{ MessageId?: string }>;
} {
  return {
    send: async (command: unknown) => {
      const c = command as { constructor: { name: string }; input: Record<string, unknown> };
      if (c.constructor.name !== 'PublishCommand')
        throw new Error(`the local SNS double does not implement ${c.constructor.name}`);
      const { TopicArn, Message, Subject } = c.input;
      try {
        const out = (await publish({
          TopicArn: String(TopicArn),
          Message: String(Message),
          ...(typeof Subject === 'string' ? { Subject } : {}),
        })) as { MessageId?: string } | null;
        return { ...(typeof out?.MessageId === 'string' ? { MessageId: out.MessageId } : {}) };
      } catch (err) {
        const e = err instanceof Error ? err : new Error(String(err));
        throw Object.assign(new Error(e.message), { name: e.name.replace(/^SNS\./, '') });
      }
    },
  };
}

/**
 * LambdaClient.send for a RequestResponse Invoke of a function run in process (looked up as
 * lambda:invoke looks it up). As Lambda answers: the function's result as the Payload bytes; a
 * function that throws gives FunctionError `Unhandled` and { errorType, errorMessage } as the
 * Payload; an unknown function is a ResourceNotFoundException.
 */
export function lambdaClientDouble(functions: Record<string, LocalFunction>): {
  send: (command: unknown) => Promise<{ StatusCode: number; FunctionError?: string; Payload: Uint8Array }>;
} {
  const bytes = (v: unknown) => new TextEncoder().encode(JSON.stringify(v ?? null));
  return {
    send: async (command: unknown) => {
      const c = command as {
        constructor: { name: string };
        input: { FunctionName?: string; InvocationType?: string; Payload?: string | Uint8Array };
      };
      if (c.constructor.name !== 'InvokeCommand' || (c.input.InvocationType ?? 'RequestResponse') !== 'RequestResponse')
        throw new Error(`the local Lambda double implements RequestResponse Invoke only, not ${c.constructor.name}`);
      const name = c.input.FunctionName ?? '';
      const fn = findLocalFunction(functions, name);
      if (!fn) throw Object.assign(new Error(`Function not found: ${name}`), { name: 'ResourceNotFoundException' });
      const raw = c.input.Payload;
      const text = raw === undefined ? 'null' : typeof raw === 'string' ? raw : new TextDecoder().decode(raw);
      try {
        return { StatusCode: 200, Payload: bytes(await fn(JSON.parse(text) as Json)) };
      } catch (err) {
        const e = err instanceof Error ? err : new Error(String(err));
        return {
          StatusCode: 200,
          FunctionError: 'Unhandled',
          Payload: bytes({ errorType: e.name || 'Error', errorMessage: e.message }),
        };
      }
    },
  };
}

export interface LocalExecution {
  executionArn: string;
  stateMachineArn: string;
  name: string;
  input: unknown;
  startedAt: number;
  finishedAt?: number;
  result?: RunResult;
  done: Promise<RunResult>;
  /** StopExecution aborts the run through it. */
  stop: AbortController;
}

export type ExecutionRunner = (e: {
  stateMachineArn: string;
  executionArn: string;
  name: string;
  input: unknown;
  signal: AbortSignal;
}) => Promise<RunResult>;

/** StartExecution (and DescribeExecution) over local runs of the ASL files. */
export class SfnDouble {
  readonly executions: LocalExecution[] = [];

  constructor(private readonly runner: ExecutionRunner) {}

  send(command: unknown): Promise<unknown> {
    const c = command as {
      constructor: { name: string };
      input: { stateMachineArn?: string; name?: string; input?: string; executionArn?: string };
    };
    if (c.constructor.name === 'StartExecutionCommand') {
      const stateMachineArn = c.input.stateMachineArn ?? '';
      const name = c.input.name ?? randomUUID();
      if (this.executions.some((e) => e.stateMachineArn === stateMachineArn && e.name === name)) {
        return Promise.reject(
          Object.assign(new Error(`Execution Already Exists: '${name}'`), { name: 'ExecutionAlreadyExists' }),
        );
      }
      const executionArn = `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${name}`;
      const input: unknown = JSON.parse(c.input.input ?? '{}');
      const exec: LocalExecution = {
        executionArn,
        stateMachineArn,
        name,
        input,
        startedAt: Date.now(),
        done: Promise.resolve(undefined as unknown as RunResult),
        stop: new AbortController(),
      };
      const execution = { id: executionArn, name, stateMachineArn, taskToken: '' };
      exec.done = Promise.resolve()
        .then(() => this.runner({ stateMachineArn, executionArn, name, input, signal: exec.stop.signal }))
        // An execution that cannot even start (e.g. a Task without a local binding) fails as in AWS.
        .catch((err: unknown): RunResult => ({
          status: 'FAILED',
          error: err instanceof Error ? err.name : 'Error',
          cause: err instanceof Error ? err.message : String(err),
          events: [],
          execution,
        }))
        .then((r) => {
          exec.result = r;
          exec.finishedAt = Date.now();
          return r;
        });
      this.executions.push(exec);
      return Promise.resolve({ executionArn, startDate: new Date(exec.startedAt) });
    }
    if (c.constructor.name === 'DescribeExecutionCommand') {
      const e = this.executions.find((x) => x.executionArn === c.input.executionArn);
      if (!e)
        return Promise.reject(Object.assign(new Error('Execution Does Not Exist'), { name: 'ExecutionDoesNotExist' }));
      return Promise.resolve({
        executionArn: e.executionArn,
        stateMachineArn: e.stateMachineArn,
        name: e.name,
        status: e.result?.status ?? 'RUNNING',
        input: JSON.stringify(e.input),
      });
    }
    if (c.constructor.name === 'StopExecutionCommand') {
      const e = this.executions.find((x) => x.executionArn === c.input.executionArn);
      if (!e)
        return Promise.reject(Object.assign(new Error('Execution Does Not Exist'), { name: 'ExecutionDoesNotExist' }));
      // As in AWS: stopping an execution that already ended changes nothing.
      if (!e.result) e.stop.abort(new Error((c.input as { cause?: string }).cause ?? 'stopped'));
      return Promise.resolve({ stopDate: new Date() });
    }
    return Promise.reject(new Error(`the local Step Functions double does not implement ${c.constructor.name}`));
  }

  /** Resolves when every execution started so far has ended. */
  async settled(): Promise<void> {
    let n = -1;
    while (n !== this.executions.length) {
      n = this.executions.length;
      await Promise.allSettled(this.executions.map((e) => e.done));
    }
  }

  running(): LocalExecution[] {
    return this.executions.filter((e) => e.result === undefined);
  }
}

/**
 * GetSecretValue over what the operators keep in Secrets Manager (id -> SecretString), looked up by
 * name or by an ARN of that name. `put` changes a value as an operator's update (or a rotation) would.
 */
export class SecretsManagerDouble {
  readonly reads: string[] = [];
  private readonly values: Map<string, string>;

  constructor(values: Record<string, string>) {
    this.values = new Map(Object.entries(values));
  }

  put(id: string, value: string): void {
    this.values.set(id, value);
  }

  send(command: unknown): Promise<unknown> {
    const c = command as { constructor: { name: string }; input: { SecretId?: string } };
    if (c.constructor.name !== 'GetSecretValueCommand')
      return Promise.reject(new Error(`the local Secrets Manager double does not implement ${c.constructor.name}`));
    const id = c.input.SecretId ?? '';
    const name = /:secret:(.+?)(?:-[A-Za-z0-9]{6})?$/.exec(id)?.[1] ?? id;
    this.reads.push(name);
    const value = this.values.get(name);
    if (value === undefined)
      return Promise.reject(
        Object.assign(new Error("Secrets Manager can't find the specified secret."), {
          name: 'ResourceNotFoundException',
        }),
      );
    return Promise.resolve({ Name: name, SecretString: value });
  }
}
