// A site failure must never be lost to a lock race (docs/incident-store.md, "Runs and the lock").
// The interleavings of a site dying (its broker-down alarms and its site-down alarm classified in
// either order, a superseded broker recovery's start step landing before or after the lock's
// release, the stop before or after that step) are driven one by one on the real incident store
// (DynamoDB Local) with the real classify and workflow-steps handlers. Step Functions is a double
// that keeps each execution's state, as DescribeExecution reports it; a "late step" is the real
// workflow-steps handler called for an execution at the chosen moment, as Step Functions runs a
// Lambda step that was in flight when StopExecution arrived. Each sequence ends with dr-failover
// started once and the cluster lock held by its run, never by a dead one.
import { DescribeExecutionCommand, SFNClient, StartExecutionCommand, StopExecutionCommand } from '@aws-sdk/client-sfn';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createClassifyHandler, type ClassifyDeps } from '#functions/classify/handler.js';
import { runMayAct, type RunFacts } from '#domain/run-fencing.js';
import type { ClusterFacts, IncidentStatus, Signal } from '#domain/types.js';
import { documentClient } from '#shared/clients.js';
import { IncidentStore, keys, type IncidentRecord } from '#tools/incident-store.js';
import { SsmPolicySource } from '#shared/policy-source.js';
import { WorkflowStepSchema, makeWorkflowStepsHandler } from '#functions/workflow-steps/handler.js';
import { type ClusterTargetConfig } from '#contracts/workflow-targets.js';
import { createIncidentTable, startDynamoDbLocal, type DynamoDbLocal } from '#local/dynamodb-local.js';
import { sqsEvent, sqsRecord } from '../support/sqs.js';
import { storePieces } from '../support/store-pieces.js';

const REGION = 'eu-west-1';
const ARN = (name: string) => `arn:aws:states:${REGION}:123456789012:stateMachine:kafka-heal-prod-${name}`;
const PRIMARY: ClusterFacts = {
  name: 'primary',
  aliases: [],
  platform: 'ec2',
  metadataMode: 'kraft',
  brokerCount: 3,
  hasDr: true,
  automaticFailover: false,
};
const TARGET: ClusterTargetConfig = {
  cluster: 'primary',
  platform: 'ec2',
  clusterStepsFunction: 'steps-primary',
  brokers: [1, 2, 3].map((id) => ({ id, instanceId: `i-0123456789abcdef${id}` })),
};
const PREFIX = '/kafka-heal/prod/clusters';
const sfnMock = mockClient(SFNClient);
const ssmMock = mockClient(SSMClient);

let ddb: DynamoDbLocal;
let raw: DynamoDBClient;
let doc: DynamoDBDocumentClient;
let tableNo = 0;
let tableName: string;
let store: IncidentStore;
let clock: Date;

interface Execution {
  arn: string;
  stateMachineArn: string;
  input: Record<string, unknown>;
  status: 'RUNNING' | 'ABORTED';
}
let executions: Execution[];
/** Runs inside StopExecution, before the execution reads ABORTED: a step that was in flight. */
let onStop: ((arn: string) => Promise<void>) | undefined;

beforeAll(async () => {
  ddb = await startDynamoDbLocal();
  raw = ddb.client();
  doc = documentClient(raw);
});

afterAll(async () => {
  raw?.destroy();
  await ddb?.stop();
});

beforeEach(async () => {
  sfnMock.reset();
  ssmMock.reset();
  executions = [];
  onStop = undefined;
  clock = new Date('2026-12-06T03:00:00.000Z');
  ssmMock
    .on(GetParameterCommand)
    .resolves({ Parameter: { Name: `${PREFIX}/primary/policy`, Value: JSON.stringify({ mode: 'auto' }) } });
  sfnMock.on(StartExecutionCommand).callsFake((input: { stateMachineArn: string; name: string; input: string }) => {
    const arn = `${input.stateMachineArn.replace(':stateMachine:', ':execution:')}:${input.name}`;
    if (executions.some((e) => e.arn === arn))
      throw Object.assign(new Error(`Execution Already Exists: ${input.name}`), { name: 'ExecutionAlreadyExists' });
    executions.push({
      arn,
      stateMachineArn: input.stateMachineArn,
      input: JSON.parse(input.input) as Record<string, unknown>,
      status: 'RUNNING',
    });
    return { executionArn: arn, startDate: clock };
  });
  sfnMock.on(StopExecutionCommand).callsFake(async (input: { executionArn: string }) => {
    const e = executions.find((x) => x.arn === input.executionArn);
    if (!e) throw Object.assign(new Error('Execution Does Not Exist'), { name: 'ExecutionDoesNotExist' });
    if (onStop) await onStop(e.arn);
    e.status = 'ABORTED';
    return { stopDate: clock };
  });
  sfnMock.on(DescribeExecutionCommand).callsFake((input: { executionArn: string }) => {
    const e = executions.find((x) => x.arn === input.executionArn);
    if (!e) throw Object.assign(new Error('Execution Does Not Exist'), { name: 'ExecutionDoesNotExist' });
    return { executionArn: e.arn, status: e.status };
  });
  tableName = `fencing-${++tableNo}`;
  await createIncidentTable(raw, tableName);
  store = new IncidentStore({ client: doc, tableName, now: () => clock });
});

/** One classifier process; `wrap` lets a sequence place a step between two of its store calls. */
function classifier(wrap: (s: IncidentStore) => IncidentStore = (s) => s) {
  const deps: ClassifyDeps = {
    ...storePieces(wrap(new IncidentStore({ client: doc, tableName, now: () => clock }))),
    sfn: new SFNClient({ region: REGION }),
    policies: new SsmPolicySource(new SSMClient({ region: REGION }), PREFIX, () => clock.getTime()),
    clusters: [PRIMARY],
    workflowArns: {
      WORKFLOW_ARN_BROKER_RECOVERY: ARN('broker-recovery'),
      WORKFLOW_ARN_CASCADE_RECOVERY: ARN('cascade-recovery'),
      WORKFLOW_ARN_DR_FAILOVER: ARN('dr-failover'),
      WORKFLOW_ARN_ESCALATION: ARN('escalation'),
    },
    now: () => clock,
  };
  const handle = createClassifyHandler(deps);
  return async (...signals: Signal[]) => {
    const res = await handle(sqsEvent(...signals.map((s) => sqsRecord(JSON.stringify(s), { messageId: `m-${s.id}` }))));
    expect(res.batchItemFailures).toEqual([]);
  };
}

/** A workflow-steps invocation for an execution, as its ASL makes it (run = $$.Execution.Id). */
async function step(body: Record<string, unknown>) {
  const handler = makeWorkflowStepsHandler({
    ...storePieces(new IncidentStore({ client: doc, tableName, now: () => clock })),
    targets: () => [TARGET],
    now: () => clock,
    diskCriticalPercent: 90,
  });
  return handler(WorkflowStepSchema.parse(body));
}

/** The Record Start step of an execution the classifier started, with the input it was given. */
const startStep = (e: Execution) =>
  step({ step: 'start', workflow: 'broker-recovery', input: e.input, execution: e.arn });

function brokerDown(broker: number): Signal {
  return {
    id: `sig-broker-${broker}`,
    source: 'cloudwatch',
    cluster: 'primary',
    kind: 'broker-down',
    brokerIds: [broker],
    state: 'firing',
    observedAt: new Date(clock.getTime() - 5_000).toISOString(),
    name: `kafka-heal-prod-primary-broker-${broker}-unreachable`,
    fingerprint: `alarm:kafka-heal-prod-primary-broker-${broker}-unreachable`,
    labels: {},
  };
}

const siteDown: () => Signal = () => ({
  ...brokerDown(0),
  id: 'sig-site',
  kind: 'site-down',
  brokerIds: [],
  name: 'kafka-heal-prod-primary-site-down',
  fingerprint: 'alarm:kafka-heal-prod-primary-site-down',
});

const runsOf = (workflow: string) => executions.filter((e) => e.stateMachineArn === ARN(workflow));

async function incidentOf(type: string): Promise<IncidentRecord> {
  const all = await store.list({ cluster: 'primary' });
  const found = all.find(
    (i) =>
      i.type === type || (type === 'broker-level' && (i.type === 'broker-failure' || i.type === 'cascade-failure')),
  );
  if (!found) throw new Error(`no ${type} incident among ${all.map((i) => i.type).join(', ')}`);
  return found;
}

/** How every sequence must end: dr-failover started once, the lock held by that live run. */
async function expectFailoverOwnsTheLock(): Promise<void> {
  const site = await incidentOf('site-failure');
  const [failover, ...more] = runsOf('dr-failover');
  expect(more).toEqual([]);
  expect(failover?.status).toBe('RUNNING');
  const lock = await store.getLock('primary');
  expect(lock).toMatchObject({ owner: site.id, run: failover?.arn });
  expect(site.status).toBe('awaiting-approval');
  expect(site.activeRun).toBe(failover?.arn);
}

async function actions(id: string): Promise<string[]> {
  return (await store.get(id)).timeline.map((e) => e.action);
}

describe('a site dies: broker-down alarms and site-down in every order', () => {
  it('the superseded broker recovery starts after its incident escalated and released the lock: it is refused, and the site failure fails over', async () => {
    // 5.1 s: the alarms fire together; b2 is classified first and its recovery is started.
    await classifier()(brokerDown(2));
    const [recovery] = runsOf('broker-recovery');
    expect(recovery).toBeDefined();
    const broker = await incidentOf('broker-failure');
    expect((await store.getLock('primary'))?.run).toBe(recovery!.arn);
    // b1 and b3 join: 3 of 3 brokers, revised to escalate; the recovery is superseded, the lock released.
    await classifier()(brokerDown(1), brokerDown(3));
    const escalated = await store.get(broker.id);
    expect(escalated.status).toBe('escalated');
    expect(escalated.fencedRuns).toEqual([recovery!.arn]);
    expect(await store.getLock('primary')).toBeUndefined();
    // The superseded run's own start step lands now (it was queued behind the decision).
    await expect(startStep(recovery!)).rejects.toMatchObject({ name: 'RunSupersededError' });
    expect(await store.getLock('primary')).toBeUndefined();
    expect((await store.get(broker.id)).timeline.find((e) => e.action === 'run-superseded')).toMatchObject({
      result: 'stopped',
      actor: 'workflow:broker-recovery',
    });
    // The site failure finds the lock free.
    await classifier()(siteDown());
    await expectFailoverOwnsTheLock();
  });

  it('the broker recovery retries its start step between the takeover releasing the lock and taking it: refused, the takeover completes', async () => {
    await classifier()(brokerDown(2));
    const [recovery] = runsOf('broker-recovery');
    await startStep(recovery!);
    // The site-down classifier releases the broker incident's lock; before it takes it, the run's step lands.
    let released = false;
    let injected = false;
    const late = classifier((s) => {
      const release = s.releaseLock.bind(s);
      s.releaseLock = async (...args: Parameters<IncidentStore['releaseLock']>) => {
        const r = await release(...args);
        released = true;
        return r;
      };
      const acquire = s.acquireLock.bind(s);
      s.acquireLock = async (...args: Parameters<IncidentStore['acquireLock']>) => {
        if (released && !injected) {
          injected = true;
          await expect(startStep(recovery!)).rejects.toMatchObject({ name: 'RunSupersededError' });
        }
        return acquire(...args);
      };
      return s;
    });
    await late(siteDown());
    expect(injected).toBe(true);
    await expectFailoverOwnsTheLock();
    const broker = await incidentOf('broker-failure');
    expect(broker.status).toBe('suppressed');
    expect(recovery!.status).toBe('ABORTED');
    expect(await actions(broker.id)).toEqual(
      expect.arrayContaining(['workflow-superseded', 'lock-taken-over', 'run-superseded']),
    );
  });

  it('the step in flight when StopExecution arrives (fenced before the stop): refused, the takeover completes', async () => {
    await classifier()(brokerDown(2));
    const [recovery] = runsOf('broker-recovery');
    onStop = async (arn) => {
      if (arn === recovery!.arn)
        await expect(startStep(recovery!)).rejects.toMatchObject({ name: 'RunSupersededError' });
    };
    await classifier()(siteDown());
    await expectFailoverOwnsTheLock();
  });

  it("the broker recovery started and holds the lock; site-down takes it over; the stopped run's late escalate and release steps change nothing", async () => {
    await classifier()(brokerDown(2));
    const [recovery] = runsOf('broker-recovery');
    await startStep(recovery!);
    await classifier()(siteDown());
    await expectFailoverOwnsTheLock();
    const broker = await incidentOf('broker-failure');
    // Its probe failed while it was being stopped: the escalate step and then its lock release.
    await expect(
      step({
        step: 'escalate',
        workflow: 'broker-recovery',
        incidentId: broker.id,
        state: { incidentId: broker.id, parentWorkflow: 'none' },
        execution: recovery!.arn,
      }),
    ).rejects.toMatchObject({ name: 'RunSupersededError' });
    await expect(
      step({
        step: 'resolve',
        workflow: 'broker-recovery',
        incidentId: broker.id,
        cluster: 'primary',
        brokerId: 2,
        summary: 'rejoined',
        execution: recovery!.arn,
      }),
    ).rejects.toMatchObject({ name: 'RunSupersededError' });
    await expect(
      step({
        step: 'release-lock',
        workflow: 'broker-recovery',
        incidentId: broker.id,
        cluster: 'primary',
        execution: recovery!.arn,
      }),
    ).resolves.toMatchObject({ released: false });
    expect((await store.get(broker.id)).status).toBe('suppressed');
    expect(await store.recentHeals('primary', new Date(0))).toEqual([]);
    await expectFailoverOwnsTheLock();
  });

  it('site-down classified first, a broker alarm classified on a stale view of the open incidents: the broker incident escalates, the failover keeps the lock', async () => {
    await classifier()(siteDown());
    await expectFailoverOwnsTheLock();
    // A concurrent classifier read the open incidents before the site failure existed.
    await classifier((s) => {
      s.listOpen = async () => [];
      return s;
    })(brokerDown(2));
    const broker = await incidentOf('broker-failure');
    expect(broker.status).toBe('escalated');
    expect(await actions(broker.id)).toContain('lock-held');
    expect(runsOf('broker-recovery')).toEqual([]);
    await expectFailoverOwnsTheLock();
  });

  it('site-down classified between the broker alarms: the cascade is taken over, the late broker alarm folds', async () => {
    await classifier()(brokerDown(2));
    await classifier()(siteDown());
    await classifier()(brokerDown(1), brokerDown(3));
    await expectFailoverOwnsTheLock();
    const site = await incidentOf('site-failure');
    expect(await actions(site.id)).toContain('signal-folded');
  });

  it('a lock left by a run that ended without releasing it (aborted by hand) is taken by the next broker failure', async () => {
    await classifier()(brokerDown(2));
    const [recovery] = runsOf('broker-recovery');
    await startStep(recovery!);
    recovery!.status = 'ABORTED';
    // The incident is closed by hand; its lock stays behind.
    const first = await incidentOf('broker-failure');
    await store.setStatus(first.id, 'resolved', ['remediating', 'open']);
    clock = new Date(clock.getTime() + 60_000);
    await classifier()({ ...brokerDown(3), id: 'sig-broker-3-later', observedAt: clock.toISOString() });
    const second = (await store.list({ cluster: 'primary' })).find((i) => i.id !== first.id);
    const lock = await store.getLock('primary');
    expect(lock?.owner).toBe(second?.id);
    expect(runsOf('broker-recovery')).toHaveLength(2);
    expect(lock?.run).toBe(runsOf('broker-recovery')[1]?.arn);
  });
});

describe('the store enforces runMayAct as the pure rule states it', () => {
  const ME = `${ARN('broker-recovery').replace(':stateMachine:', ':execution:')}:inc-x-broker-recovery-1`;
  const OTHER = `${ARN('cascade-recovery').replace(':stateMachine:', ':execution:')}:inc-x-cascade-recovery-1`;
  const cases: [string, RunFacts | undefined][] = [
    ['no incident', undefined],
    ['fenced', { status: 'remediating', activeRun: ME, fencedRuns: [ME] }],
    ['fenced, no designation', { status: 'escalated', fencedRuns: [ME] }],
    ['undesignated', { status: 'escalated' }],
    ['designated, open', { status: 'open', activeRun: ME }],
    ['designated, remediating', { status: 'remediating', activeRun: ME }],
    ['designated, awaiting approval', { status: 'awaiting-approval', activeRun: ME }],
    ['designated, escalated', { status: 'escalated', activeRun: ME }],
    ['designated, resolved', { status: 'resolved', activeRun: ME }],
    ['another run remediating', { status: 'remediating', activeRun: OTHER }],
    ['another run awaiting approval', { status: 'awaiting-approval', activeRun: OTHER }],
    ['another run, escalated', { status: 'escalated', activeRun: OTHER }],
    ['another run, open', { status: 'open', activeRun: OTHER, fencedRuns: [OTHER] }],
  ];
  it.each(cases)('%s: the lock-taking write agrees with runMayAct', async (_name, facts) => {
    const id = `inc-x-${tableNo}-${Math.random().toString(36).slice(2, 8)}`;
    if (facts) {
      await doc.send(
        new PutCommand({
          TableName: tableName,
          Item: {
            ...keys.incident(id),
            id,
            cluster: 'primary',
            type: 'broker-failure',
            severity: 'SEV-2',
            status: facts.status satisfies IncidentStatus,
            openedAt: clock.toISOString(),
            version: 1,
            ...(facts.activeRun ? { activeRun: facts.activeRun } : {}),
            ...(facts.fencedRuns?.length ? { fencedRuns: new Set(facts.fencedRuns) } : {}),
          },
        }),
      );
    }
    const expected = runMayAct(facts, ME).mayAct;
    const outcome = await store.holdLockForRun('primary', id, ME, 60).then(
      () => true,
      (err: Error) => (err.name === 'RunSupersededError' ? false : Promise.reject(err)),
    );
    expect(outcome).toBe(expected);
    await store.releaseLock('primary', id).catch(() => undefined);
  });
});
