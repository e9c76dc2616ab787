// Alarm storm through the real classify handler and the real incident store on DynamoDB Local
// (Step Functions mocked): many concurrent invocations for one fault open one incident and start
// one execution. Starts are counted at the double (an execution created, stopped later or not),
// not as executions left running.
import { SFNClient, StartExecutionCommand, StopExecutionCommand } from '@aws-sdk/client-sfn';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ScanCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { SQSEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createClassifyHandler, type ClassifyDeps } from '#functions/classify/handler.js';
import { DEFAULT_POLICY } from '#domain/policy.js';
import type { ClusterFacts, Signal } from '#domain/types.js';
import { documentClient } from '#shared/clients.js';
import { IncidentStore } from '#tools/incident-store.js';
import { createIncidentTable, startDynamoDbLocal, type DynamoDbLocal } from '#local/dynamodb-local.js';
import { storePieces } from '../support/store-pieces.js';

const ARN = (name: string) => `arn:aws:states:eu-west-1:123456789012:stateMachine:kafka-heal-prod-${name}`;
const ORDERS: ClusterFacts = {
  name: 'orders',
  aliases: [],
  platform: 'ec2',
  metadataMode: 'kraft',
  brokerCount: 6,
  hasDr: false,
  automaticFailover: false,
};
/** As the storm bench's cluster: 3 brokers of 9 lost together stay under the blast radius (40%). */
const BIG: ClusterFacts = { ...ORDERS, name: 'big', brokerCount: 9 };
/** ZooKeeper mode: a lost ensemble opens quorum-loss (quorum-recovery, approval). */
const ZK: ClusterFacts = { ...ORDERS, name: 'zk', metadataMode: 'zookeeper' };
const sfnMock = mockClient(SFNClient);

let ddb: DynamoDbLocal;
let raw: DynamoDBClient;
let doc: DynamoDBDocumentClient;
let tableNo = 0;
let tableName: string;
let deps: ClassifyDeps;
const clock = new Date('2026-11-22T01:00:00.000Z');
const executions = new Set<string>();

beforeAll(async () => {
  ddb = await startDynamoDbLocal();
  process.stderr.write(`DynamoDB Local start: ${ddb.startMs} ms\n`);
  raw = ddb.client();
  doc = documentClient(raw);
});

afterAll(async () => {
  raw?.destroy();
  await ddb?.stop();
});

beforeEach(async () => {
  sfnMock.reset();
  // Like Step Functions: a name is used once; a second start with it is refused.
  executions.clear();
  sfnMock.on(StartExecutionCommand).callsFake((input: { stateMachineArn: string; name: string }) => {
    if (executions.has(input.name))
      throw Object.assign(new Error(`Execution Already Exists: ${input.name}`), { name: 'ExecutionAlreadyExists' });
    executions.add(input.name);
    return { executionArn: `${input.stateMachineArn.replace(':stateMachine:', ':execution:')}:${input.name}` };
  });
  tableName = `storm-${++tableNo}`;
  await createIncidentTable(raw, tableName);
  deps = {
    ...storePieces(new IncidentStore({ client: doc, tableName, now: () => clock })),
    sfn: new SFNClient({ region: 'eu-west-1' }),
    policies: {
      get: async () => ({
        policy: { ...DEFAULT_POLICY, mode: 'auto' },
        origin: 'ssm',
        parameterName: '/kafka-heal/prod/clusters/orders/policy',
      }),
    },
    clusters: [ORDERS, BIG, ZK],
    workflowArns: {
      WORKFLOW_ARN_BROKER_RECOVERY: ARN('broker-recovery'),
      WORKFLOW_ARN_CASCADE_RECOVERY: ARN('cascade-recovery'),
      WORKFLOW_ARN_ESCALATION: ARN('escalation'),
      WORKFLOW_ARN_QUORUM_RECOVERY: ARN('quorum-recovery'),
    },
    now: () => clock,
  };
});

function signal(i: number, broker: number, cluster = 'orders'): Signal {
  return {
    id: `sig-${broker}-${i}`,
    source: i % 2 ? 'alertmanager' : 'cloudwatch',
    cluster,
    kind: 'broker-down',
    brokerIds: [broker],
    state: 'firing',
    observedAt: new Date(clock.getTime() - 60_000 + (i % 7) * 1000).toISOString(),
    name: `alarm ${i} for broker ${broker}`,
    fingerprint: `fp-${broker}-${i % 25}`,
    labels: {},
  };
}

const one = (s: Signal): SQSEvent => batch([s]);
const batch = (signals: Signal[]): SQSEvent => ({
  Records: signals.map((s) => ({
    messageId: s.id,
    receiptHandle: 'r',
    body: JSON.stringify(s),
    attributes: {
      ApproximateReceiveCount: '1',
      SentTimestamp: '1',
      SenderId: 's',
      ApproximateFirstReceiveTimestamp: '1',
    },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:eu-west-1:123456789012:kafka-heal-signals',
    awsRegion: 'eu-west-1',
  })),
});

async function metaItems() {
  const res = await doc.send(new ScanCommand({ TableName: tableName, ConsistentRead: true }));
  return (res.Items ?? []).filter((i) => String(i.pk).startsWith('INCIDENT#') && i.sk === 'META');
}

describe('alarm storm through classify on DynamoDB Local', () => {
  it('50 concurrent invocations for one broker fault: one incident, one execution', async () => {
    const handle = createClassifyHandler(deps);
    const signals = Array.from({ length: 50 }, (_, i) => signal(i, 2));
    const results = await Promise.all(signals.map((s) => handle(one(s))));
    expect(results.flatMap((r) => r.batchItemFailures)).toEqual([]);

    const metas = await metaItems();
    expect(metas).toHaveLength(1);
    expect(metas[0]).toMatchObject({ type: 'broker-failure', status: 'remediating', signalCount: 50 });
    expect(executions.size).toBe(1);
    const [name] = executions;
    const starts = sfnMock.commandCalls(StartExecutionCommand).map((c) => c.args[0].input);
    expect(starts[0]!.stateMachineArn).toBe(ARN('broker-recovery'));
    expect(metas[0]!.executionArn).toBe(`${ARN('broker-recovery').replace(':stateMachine:', ':execution:')}:${name}`);
  });

  it('a storm over two brokers becomes one cascade incident, one execution', async () => {
    const handle = createClassifyHandler(deps);
    const signals = Array.from({ length: 40 }, (_, i) => signal(i, i % 2 ? 3 : 2));
    const results = await Promise.all(signals.map((s) => handle(one(s))));
    expect(results.flatMap((r) => r.batchItemFailures)).toEqual([]);

    const metas = await metaItems();
    expect(metas).toHaveLength(1);
    expect(metas[0]).toMatchObject({ type: 'cascade-failure', severity: 'SEV-1', signalCount: 40 });
    expect(Object.keys(metas[0]!.brokers as object).sort()).toEqual(['2', '3']);
    // Two brokers are a cascade (cascade-recovery). The first signal may have started
    // broker-recovery before the incident grew; the upgrade then stops it before cascade-recovery
    // starts: exactly one execution is left running, and it is the cascade's.
    const stopped = sfnMock.commandCalls(StopExecutionCommand).map((c) => c.args[0].input.executionArn ?? '');
    const live = [...executions].filter((name) => !stopped.some((arn) => arn.endsWith(`:${name}`)));
    expect(live).toHaveLength(1);
    expect(live[0]).toMatch(/-cascade-recovery-1$/);
    // Both the upgrade and the starter may stop the superseded one: stopping twice is harmless.
    expect(executions.size - live.length).toBe(new Set(stopped).size);
  });

  it('a storm over three brokers in SQS batches of 10, 10 batches at once: the final runbook starts once and nothing is stopped', async () => {
    // The event source mapping's shape (batch size 10, maximum concurrency 10). Every batch holds
    // signals of all three brokers, so whichever batch acts first decides on the grown incident.
    const handle = createClassifyHandler(deps);
    const signals = Array.from({ length: 100 }, (_, i) => signal(i, 1 + (i % 3), 'big'));
    const batches = Array.from({ length: 10 }, (_, b) => batch(signals.slice(b * 10, b * 10 + 10)));
    expect(
      batches.every((e) => new Set(e.Records.map((r) => (JSON.parse(r.body) as Signal).brokerIds[0])).size === 3),
    ).toBe(true);
    const results = await Promise.all(batches.map((e) => handle(e)));
    // A signal that met another in flight is retried by SQS; the retry changes nothing.
    const retry = results
      .flatMap((r) => r.batchItemFailures)
      .map((f) => signals.find((s) => s.id === f.itemIdentifier)!);
    if (retry.length) expect((await handle(batch(retry))).batchItemFailures).toEqual([]);

    const metas = await metaItems();
    expect(metas).toHaveLength(1);
    expect(metas[0]).toMatchObject({ type: 'cascade-failure', severity: 'SEV-1', status: 'awaiting-approval' });
    expect(Object.keys(metas[0]!.brokers as object).sort()).toEqual(['1', '2', '3']);
    expect(executions.size).toBe(1);
    expect(sfnMock.commandCalls(StopExecutionCommand)).toHaveLength(0);
    const created = sfnMock
      .commandCalls(StartExecutionCommand)
      .map((c) => c.args[0].input)
      .filter((i) => [...executions][0] === i.name);
    expect(created[0]!.stateMachineArn).toBe(ARN('cascade-recovery'));
    expect(JSON.parse(created[0]!.input!)).toMatchObject({
      action: 'await-approval',
      brokerIds: [1, 2, 3],
      incidentType: 'cascade-failure',
    });
  });

  it('a storm of broker alarms while a quorum loss is handled: every one folds into it, once per alarm on the timeline; no other incident, no second execution', async () => {
    const handle = createClassifyHandler(deps);
    const quorum: Signal = {
      ...signal(0, 1, 'zk'),
      id: 'sig-zk',
      source: 'alertmanager',
      kind: 'quorum-loss',
      brokerIds: [],
      name: 'ZookeeperQuorumLost',
      fingerprint: 'zk-quorum',
    };
    expect((await handle(one(quorum))).batchItemFailures).toEqual([]);
    // 90 alarms over three of the six brokers, 75 distinct (the rest fire again), 10 concurrent batches of 9, one batch redelivered.
    const signals = Array.from({ length: 90 }, (_, i) => signal(i, 1 + (i % 3), 'zk'));
    const batches = Array.from({ length: 10 }, (_, b) => batch(signals.slice(b * 9, b * 9 + 9)));
    const results = await Promise.all([...batches, batches[0]!].map((e) => handle(e)));
    const retry = results
      .flatMap((r) => r.batchItemFailures)
      .map((f) => signals.find((s) => s.id === f.itemIdentifier)!);
    if (retry.length) expect((await handle(batch(retry))).batchItemFailures).toEqual([]);

    const metas = await metaItems();
    expect(metas).toHaveLength(1);
    expect(metas[0]).toMatchObject({
      type: 'quorum-loss',
      severity: 'SEV-1',
      status: 'awaiting-approval',
      signalCount: 91,
      brokers: {},
    });
    expect(executions.size).toBe(1);
    expect([...executions][0]).toMatch(/-quorum-recovery-1$/);
    expect(sfnMock.commandCalls(StopExecutionCommand)).toHaveLength(0);
    const timeline = (await deps.incidents.get(metas[0]!.id as string)).timeline;
    const folded = timeline.filter((e) => e.action === 'signal-folded');
    expect(new Set(signals.map((s) => s.fingerprint)).size).toBe(75);
    expect(folded).toHaveLength(75);
    expect(
      folded.every(
        (e) =>
          e.result === 'folded' &&
          /^(cloudwatch|alertmanager) signal alarm \d+ for broker \d \(broker-down, brokers \d\) folded into this quorum-loss: no (broker|cascade)-failure incident opened, no page, no workflow started/.test(
            e.detail ?? '',
          ),
      ),
    ).toBe(true);
  });
});
