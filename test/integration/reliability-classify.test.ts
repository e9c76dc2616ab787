// Reliability of the classifier on the real incident store (DynamoDB Local): what happens when
// SQS delivers a signal twice, to two classifier instances at once, when the classifier dies
// between opening an incident and starting its workflow, when an operator flips the runtime
// policy (kill switch `off`, `dry-run`) between two decisions, and when a maintenance window
// suppresses an automatic action. Step Functions and SSM are doubles;
// the Step Functions double refuses a second execution with the same name, as the service does.
import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ScanCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { SQSEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createClassifyHandler, type ClassifyDeps } from '#functions/classify/handler.js';
import type { ClusterFacts, Signal } from '#domain/types.js';
import { documentClient } from '#shared/clients.js';
import { IncidentStore } from '#tools/incident-store.js';
import { POLICY_CACHE_MS, SsmPolicySource } from '#shared/policy-source.js';
import { createIncidentTable, startDynamoDbLocal, type DynamoDbLocal } from '#local/dynamodb-local.js';
import { sqsEvent, sqsRecord } from '../support/sqs.js';
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
const PAYMENTS: ClusterFacts = { ...ORDERS, name: 'payments' };
const PREFIX = '/kafka-heal/prod/clusters';
const sfnMock = mockClient(SFNClient);
const ssmMock = mockClient(SSMClient);

let ddb: DynamoDbLocal;
let raw: DynamoDBClient;
let doc: DynamoDBDocumentClient;
let tableNo = 0;
let tableName: string;
let clock: Date;
const executions = new Set<string>();

beforeAll(async () => {
  ddb = await startDynamoDbLocal();
  raw = ddb.client();
  doc = documentClient(raw);
});

afterAll(async () => {
  raw?.destroy();
  await ddb?.stop();
});

function policy(mode: string, extra: object = {}): void {
  ssmMock
    .on(GetParameterCommand)
    .resolves({ Parameter: { Name: `${PREFIX}/orders/policy`, Value: JSON.stringify({ mode, ...extra }) } });
}

beforeEach(async () => {
  sfnMock.reset();
  ssmMock.reset();
  executions.clear();
  clock = new Date('2026-11-22T01:00:00.000Z');
  sfnMock.on(StartExecutionCommand).callsFake((input: { stateMachineArn: string; name: string }) => {
    if (executions.has(input.name))
      throw Object.assign(new Error(`Execution Already Exists: ${input.name}`), { name: 'ExecutionAlreadyExists' });
    executions.add(input.name);
    return {
      executionArn: `${input.stateMachineArn.replace(':stateMachine:', ':execution:')}:${input.name}`,
      startDate: clock,
    };
  });
  tableName = `reliability-${++tableNo}`;
  await createIncidentTable(raw, tableName);
});

/** One classifier instance (its own store object, policy cache and SDK clients), as one Lambda process. */
function classifier(): (e: SQSEvent) => ReturnType<ReturnType<typeof createClassifyHandler>> {
  const deps: ClassifyDeps = {
    ...storePieces(new IncidentStore({ client: doc, tableName, now: () => clock })),
    sfn: new SFNClient({ region: 'eu-west-1' }),
    policies: new SsmPolicySource(new SSMClient({ region: 'eu-west-1' }), PREFIX, () => clock.getTime()),
    clusters: [ORDERS, PAYMENTS],
    workflowArns: {
      WORKFLOW_ARN_BROKER_RECOVERY: ARN('broker-recovery'),
      WORKFLOW_ARN_DISK_PRESSURE: ARN('disk-pressure'),
      WORKFLOW_ARN_ESCALATION: ARN('escalation'),
    },
    now: () => clock,
  };
  return createClassifyHandler(deps);
}

function signal(over: Partial<Signal> = {}): Signal {
  return {
    id: 'sig-broker-2',
    source: 'cloudwatch',
    cluster: 'orders',
    kind: 'broker-down',
    brokerIds: [2],
    state: 'firing',
    observedAt: new Date(clock.getTime() - 30_000).toISOString(),
    name: 'kafka-heal-prod-orders-broker-2-unreachable',
    fingerprint: 'alarm:kafka-heal-prod-orders-broker-2-unreachable',
    labels: {},
    ...over,
  };
}

const delivery = (s: Signal, messageId = `m-${s.id}`): SQSEvent =>
  sqsEvent(sqsRecord(JSON.stringify(s), { messageId }));

async function incidents() {
  const res = await doc.send(new ScanCommand({ TableName: tableName, ConsistentRead: true }));
  return (res.Items ?? []).filter((i) => String(i.pk).startsWith('INCIDENT#') && i.sk === 'META');
}

async function timeline(id: string): Promise<string[]> {
  const inc = await new IncidentStore({ client: doc, tableName, now: () => clock }).get(id);
  return inc.timeline.map((e) => e.action);
}

const startsOf = (arn: string) =>
  sfnMock.commandCalls(StartExecutionCommand).filter((c) => c.args[0].input.stateMachineArn === arn);

describe('the same signal twice', () => {
  it('delivered to two classifier instances at the same moment: one incident, one execution, one start in the timeline', async () => {
    policy('auto');
    const s = signal();
    const [a, b] = await Promise.all([classifier()(delivery(s, 'm-1')), classifier()(delivery(s, 'm-2'))]);
    // One of them may have found the signal in flight: SQS retries it, and the retry is a no-op.
    const failed = [...a.batchItemFailures, ...b.batchItemFailures];
    expect(failed.length).toBeLessThanOrEqual(1);
    if (failed.length) expect((await classifier()(delivery(s, 'm-3'))).batchItemFailures).toEqual([]);

    const metas = await incidents();
    expect(metas).toHaveLength(1);
    expect(metas[0]).toMatchObject({ type: 'broker-failure', status: 'remediating', signalCount: 1 });
    expect(executions.size).toBe(1);
    expect(startsOf(ARN('broker-recovery'))).toHaveLength(1);
    const actions = await timeline(String(metas[0]!.id));
    expect(actions.filter((x) => x === 'workflow-started')).toHaveLength(1);
    expect(actions.filter((x) => x === 'incident-opened')).toHaveLength(1);
  });

  it('redelivered after the first classifier died between opening the incident and starting its workflow: the redelivery finishes the job once', async () => {
    policy('auto');
    const s = signal();
    sfnMock
      .on(StartExecutionCommand)
      .rejectsOnce(Object.assign(new Error('Service Unavailable'), { name: 'ServiceUnavailable' }));
    const first = await classifier()(delivery(s));
    expect(first.batchItemFailures).toEqual([{ itemIdentifier: `m-${s.id}` }]);
    const [opened] = await incidents();
    expect(opened).toMatchObject({ status: 'open' });
    expect(executions.size).toBe(0);

    sfnMock.on(StartExecutionCommand).callsFake((input: { stateMachineArn: string; name: string }) => {
      if (executions.has(input.name))
        throw Object.assign(new Error('Execution Already Exists'), { name: 'ExecutionAlreadyExists' });
      executions.add(input.name);
      return { executionArn: `${input.stateMachineArn.replace(':stateMachine:', ':execution:')}:${input.name}` };
    });
    // SQS redelivers the failed record; a third copy (EventBridge at-least-once) changes nothing.
    expect((await classifier()(delivery(s))).batchItemFailures).toEqual([]);
    expect((await classifier()(delivery(s, 'm-again'))).batchItemFailures).toEqual([]);

    const metas = await incidents();
    expect(metas).toHaveLength(1);
    expect(metas[0]).toMatchObject({ status: 'remediating', signalCount: 1 });
    expect(executions.size).toBe(1);
    const actions = await timeline(String(metas[0]!.id));
    expect(actions).toContain('actions-resumed');
    expect(actions.filter((x) => x === 'workflow-started')).toHaveLength(1);
  });
});

describe('runtime policy flipped by an operator between two decisions', () => {
  const disk = (n: number) =>
    signal({
      id: `sig-disk-${n}`,
      kind: 'disk-usage',
      brokerIds: [3],
      value: 93,
      threshold: 90,
      name: 'kafka-heal-prod-orders-disk-critical-broker-3',
      fingerprint: `alarm:disk-3-${n}`,
    });

  it('kill switch off: the very next decision (inside the 30 s policy cache) remediates nothing and says so; dry-run: plans only, takes no lock', async () => {
    policy('auto');
    const handle = classifier();
    expect((await handle(delivery(signal()))).batchItemFailures).toEqual([]);
    expect(startsOf(ARN('broker-recovery'))).toHaveLength(1);

    // The operator turns automation off one second later, well inside the cache time: the same
    // classifier process still holds 'auto' in its cache, and its very next decision that would
    // act reads the parameter afresh and honours the switch.
    policy('off');
    clock = new Date(clock.getTime() + 1000);
    expect(1000).toBeLessThan(POLICY_CACHE_MS);
    expect((await handle(delivery(disk(1)))).batchItemFailures).toEqual([]);
    expect(startsOf(ARN('disk-pressure'))).toHaveLength(0);
    expect(startsOf(ARN('escalation'))).toHaveLength(1);
    const off = (await incidents()).find((i) => i.type === 'disk-pressure');
    expect(off).toMatchObject({ status: 'escalated' });
    const offTimeline = await new IncidentStore({ client: doc, tableName, now: () => clock }).get(String(off!.id));
    const started = offTimeline.timeline.find((e) => e.action === 'workflow-started');
    expect(started?.detail).toMatch(/^escalation execution/);
    expect(JSON.stringify(started?.reasons)).toMatch(/\boff\b/);

    // dry-run: the next decision (a broker of another cluster) plans its workflow with dryRun and takes no lock.
    policy('dry-run');
    clock = new Date(clock.getTime() + 1000);
    const other = signal({
      id: 'sig-payments-5',
      cluster: 'payments',
      brokerIds: [5],
      fingerprint: 'alarm:payments-b5',
      observedAt: new Date(clock.getTime() - 1000).toISOString(),
    });
    expect((await handle(delivery(other))).batchItemFailures).toEqual([]);
    const dry = startsOf(ARN('broker-recovery')).at(-1)!.args[0].input;
    expect(JSON.parse(dry.input!)).toMatchObject({ cluster: 'payments', dryRun: true, action: 'remediate' });
    expect(await new IncidentStore({ client: doc, tableName, now: () => clock }).getLock('payments')).toBeUndefined();
  });
});

describe('maintenance window', () => {
  it('suppresses the automatic action and says so in the timeline; after the window the next signal acts', async () => {
    const start = new Date(clock.getTime() - 10 * 60_000).toISOString();
    const end = new Date(clock.getTime() + 5 * 60_000).toISOString();
    // Set by the operator a second before the signal, while the classifier still caches 'auto' without it.
    policy('auto');
    const handle = classifier();
    expect(
      (await handle(delivery(signal({ id: 'sig-warmup', fingerprint: 'alarm:warmup', state: 'resolved' }))))
        .batchItemFailures,
    ).toEqual([]);
    policy('auto', { maintenanceWindows: [{ start, end, reason: 'broker patching CHG-1234' }] });
    clock = new Date(clock.getTime() + 1000);

    expect((await handle(delivery(signal()))).batchItemFailures).toEqual([]);
    expect(sfnMock.commandCalls(StartExecutionCommand)).toHaveLength(0);
    const [suppressed] = await incidents();
    expect(suppressed).toMatchObject({ type: 'broker-failure', severity: 'SEV-2', status: 'suppressed' });
    const inc = await new IncidentStore({ client: doc, tableName, now: () => clock }).get(String(suppressed!.id));
    const entry = inc.timeline.find((e) => e.action === 'automatic-action-suppressed');
    expect(entry?.detail).toContain(
      `Maintenance window ${start} to ${end} (broker patching CHG-1234): automatic action suppressed`,
    );
    expect(inc.timeline.map((e) => e.action)).toEqual(
      expect.arrayContaining(['incident-opened', 'automatic-action-suppressed', 'status-changed']),
    );
    expect(await new IncidentStore({ client: doc, tableName, now: () => clock }).getLock('orders')).toBeUndefined();

    // The fault outlives the window: the next alarm after its end opens a new incident and remediates.
    clock = new Date(Date.parse(end) + 1000);
    const later = signal({
      id: 'sig-broker-2-later',
      observedAt: new Date(clock.getTime() - 1000).toISOString(),
      fingerprint: 'alarm:kafka-heal-prod-orders-broker-2-unreachable#2',
    });
    expect((await handle(delivery(later))).batchItemFailures).toEqual([]);
    expect(startsOf(ARN('broker-recovery'))).toHaveLength(1);
    const all = await incidents();
    expect(all.map((i) => i.status).sort()).toEqual(['remediating', 'suppressed']);
  });
});
