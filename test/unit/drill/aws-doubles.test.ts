// The drill's SQS, Step Functions and Secrets Manager doubles keep the semantics the handlers rely on: batch item
// failures are redelivered and parked in a DLQ after maxReceiveCount; concurrency is bounded;
// StartExecution refuses a duplicate name with ExecutionAlreadyExists, as the classifier expects.
// The SNS and Lambda doubles answer a step Lambda's own Publish and Invoke as the services do.
import { GetSecretValueCommand, PutSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import { DescribeExecutionCommand, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { InvokeCommand } from '@aws-sdk/client-lambda';
import { PublishCommand } from '@aws-sdk/client-sns';
import type { SQSEvent } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import {
  LocalQueue,
  SecretsManagerDouble,
  SfnDouble,
  lambdaClientDouble,
  snsClientDouble,
  sqsClientDouble,
} from '#local/drill/aws-doubles.js';
import { TaskError, type Json, type RunResult } from '#local/stepfunctions/index.js';

describe('SNS and Lambda client doubles', () => {
  it('Publish hands TopicArn, Message and Subject to the publish binding and answers its MessageId; its SNS.X error is the SDK X', async () => {
    const got: Json[] = [];
    const sns = snsClientDouble((m) => {
      if ((m as { TopicArn: string }).TopicArn.endsWith(':gone')) throw new TaskError('SNS.NotFoundException', 'gone');
      got.push(m);
      return { MessageId: 'm-1' };
    });
    await expect(
      sns.send(new PublishCommand({ TopicArn: 'arn:aws:sns:eu-west-1:123456789012:t', Message: '{}', Subject: 's' })),
    ).resolves.toEqual({ MessageId: 'm-1' });
    await sns.send(new PublishCommand({ TopicArn: 'arn:aws:sns:eu-west-1:123456789012:t', Message: 'x' }));
    expect(got).toEqual([
      { TopicArn: 'arn:aws:sns:eu-west-1:123456789012:t', Message: '{}', Subject: 's' },
      { TopicArn: 'arn:aws:sns:eu-west-1:123456789012:t', Message: 'x' },
    ]);
    await expect(
      sns.send(new PublishCommand({ TopicArn: 'arn:aws:sns:eu-west-1:123456789012:gone', Message: 'x' })),
    ).rejects.toMatchObject({ name: 'NotFoundException', message: 'gone' });
    await expect(sns.send(new InvokeCommand({ FunctionName: 'f' }))).rejects.toThrow(
      /does not implement InvokeCommand/,
    );
  });

  it('Invoke runs the function by ARN or name: its result as Payload, a throw as FunctionError with its errorType, an unknown one ResourceNotFoundException', async () => {
    const lambda = lambdaClientDouble({
      scaler: (p) => ({ got: p }),
      broken: () => {
        throw Object.assign(new Error('no capacity'), { name: 'ScalerError' });
      },
    });
    const text = (b: Uint8Array) => JSON.parse(new TextDecoder().decode(b)) as unknown;
    const ok = await lambda.send(
      new InvokeCommand({ FunctionName: 'arn:aws:lambda:eu-west-1:123456789012:function:scaler', Payload: '{"a":1}' }),
    );
    expect([ok.StatusCode, ok.FunctionError, text(ok.Payload)]).toEqual([200, undefined, { got: { a: 1 } }]);
    const failed = await lambda.send(new InvokeCommand({ FunctionName: 'broken', Payload: '{}' }));
    expect([failed.FunctionError, text(failed.Payload)]).toEqual([
      'Unhandled',
      { errorType: 'ScalerError', errorMessage: 'no capacity' },
    ]);
    await expect(lambda.send(new InvokeCommand({ FunctionName: 'other' }))).rejects.toMatchObject({
      name: 'ResourceNotFoundException',
    });
    await expect(lambda.send(new InvokeCommand({ FunctionName: 'scaler', InvocationType: 'Event' }))).rejects.toThrow(
      /RequestResponse Invoke only/,
    );
  });
});

describe('SecretsManagerDouble', () => {
  it('answers GetSecretValue by name or ARN, ResourceNotFoundException otherwise; put changes a value', async () => {
    const sm = new SecretsManagerDouble({ 'kafka-heal/c/credentials': '{"username":"u","password":"p"}' });
    await expect(sm.send(new GetSecretValueCommand({ SecretId: 'kafka-heal/c/credentials' }))).resolves.toMatchObject({
      SecretString: '{"username":"u","password":"p"}',
    });
    await expect(
      sm.send(
        new GetSecretValueCommand({
          SecretId: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:kafka-heal/c/credentials-AbCdEf',
        }),
      ),
    ).resolves.toMatchObject({ Name: 'kafka-heal/c/credentials' });
    await expect(sm.send(new GetSecretValueCommand({ SecretId: 'other' }))).rejects.toMatchObject({
      name: 'ResourceNotFoundException',
    });
    sm.put('other', 'v');
    await expect(sm.send(new GetSecretValueCommand({ SecretId: 'other' }))).resolves.toMatchObject({
      SecretString: 'v',
    });
    expect(sm.reads).toEqual(['kafka-heal/c/credentials', 'kafka-heal/c/credentials', 'other', 'other']);
    await expect(sm.send(new PutSecretValueCommand({ SecretId: 'x', SecretString: 'y' }))).rejects.toThrow(
      'does not implement PutSecretValueCommand',
    );
  });
});

describe('LocalQueue', () => {
  it('delivers in order with concurrency 1, redelivers failed items and parks them after maxReceiveCount', async () => {
    const seen: string[] = [];
    const q = new LocalQueue({
      arn: 'arn:aws:sqs:eu-west-1:123456789012:q',
      retryDelayMs: 1,
      maxReceiveCount: 3,
      consumer: async (e: SQSEvent) => {
        const r = e.Records[0]!;
        seen.push(`${r.body}#${r.attributes.ApproximateReceiveCount}`);
        return { batchItemFailures: r.body === 'bad' ? [{ itemIdentifier: r.messageId }] : [] };
      },
    });
    q.send('a');
    q.send('bad');
    q.send('b');
    await q.idle();
    expect(seen).toEqual(['a#1', 'bad#1', 'b#1', 'bad#2', 'bad#3']);
    expect(q.dlq).toEqual([{ body: 'bad', receives: 3 }]);
    expect(q.url).toBe('https://sqs.local/000000000000/q');
  });

  it('a consumer that throws fails the batch (redelivered), never the queue', async () => {
    let calls = 0;
    const errors: unknown[] = [];
    const q = new LocalQueue({
      arn: 'arn:x:q',
      retryDelayMs: 1,
      onError: (e) => errors.push(e),
      consumer: async () => (++calls === 1 ? Promise.reject(new Error('boom')) : { batchItemFailures: [] }),
    });
    q.send('x');
    await q.idle();
    expect(calls).toBe(2);
    expect(errors).toHaveLength(1);
  });

  it('runs at most `concurrency` batches at once', async () => {
    let active = 0;
    let peak = 0;
    const q = new LocalQueue({
      arn: 'arn:x:q',
      concurrency: 3,
      consumer: async () => {
        peak = Math.max(peak, ++active);
        await new Promise((r) => setTimeout(r, 5));
        active--;
        return { batchItemFailures: [] };
      },
    });
    for (let i = 0; i < 10; i++) q.send(String(i));
    await q.idle();
    expect(peak).toBe(3);
    expect(q.delivered).toBe(10);
  });

  it('the SQS client double puts SendMessageBatch entries on the named queue, and refuses an unknown queue', async () => {
    const bodies: string[] = [];
    const q = new LocalQueue({
      arn: 'arn:x:signals',
      consumer: async (e) => (bodies.push(e.Records[0]!.body), { batchItemFailures: [] }),
    });
    const sqs = sqsClientDouble({ [q.url]: q });
    const res = (await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: q.url,
        Entries: [
          { Id: '0', MessageBody: 's1' },
          { Id: '1', MessageBody: 's2' },
        ],
      }),
    )) as { Successful: unknown[]; Failed: unknown[] };
    expect(res.Failed).toEqual([]);
    await q.idle();
    expect(bodies).toEqual(['s1', 's2']);
    await expect(sqs.send(new SendMessageBatchCommand({ QueueUrl: 'nope', Entries: [] }))).rejects.toMatchObject({
      name: 'QueueDoesNotExist',
    });
  });
});

describe('SfnDouble', () => {
  const SM = 'arn:aws:states:eu-west-1:123456789012:stateMachine:kafka-heal-drill-broker-recovery';
  const ok = (id: string): RunResult => ({
    status: 'SUCCEEDED',
    output: null,
    events: [],
    execution: { id, name: 'n', stateMachineArn: SM, taskToken: 't' },
  });

  it('StartExecution runs the state machine once per name; a duplicate gets ExecutionAlreadyExists', async () => {
    const runs: unknown[] = [];
    const sfn = new SfnDouble(async (e) => (runs.push(e.input), ok(e.executionArn)));
    const r = (await sfn.send(
      new StartExecutionCommand({ stateMachineArn: SM, name: 'inc-1', input: '{"incidentId":"inc-1"}' }),
    )) as { executionArn: string };
    expect(r.executionArn).toBe(
      'arn:aws:states:eu-west-1:123456789012:execution:kafka-heal-drill-broker-recovery:inc-1',
    );
    await expect(
      sfn.send(new StartExecutionCommand({ stateMachineArn: SM, name: 'inc-1', input: '{}' })),
    ).rejects.toMatchObject({ name: 'ExecutionAlreadyExists' });
    await sfn.settled();
    expect(runs).toEqual([{ incidentId: 'inc-1' }]);
    expect(await sfn.send(new DescribeExecutionCommand({ executionArn: r.executionArn }))).toMatchObject({
      status: 'SUCCEEDED',
    });
    expect(sfn.running()).toEqual([]);
  });

  it('an execution that cannot start (no binding) ends FAILED instead of rejecting unheard', async () => {
    const sfn = new SfnDouble(() =>
      Promise.reject(Object.assign(new Error('no local binding for: x'), { name: 'UnboundResourceError' })),
    );
    await sfn.send(new StartExecutionCommand({ stateMachineArn: SM, name: 'inc-2', input: '{}' }));
    await sfn.settled();
    expect(sfn.executions[0]?.result).toMatchObject({
      status: 'FAILED',
      error: 'UnboundResourceError',
      cause: 'no local binding for: x',
    });
  });
});
