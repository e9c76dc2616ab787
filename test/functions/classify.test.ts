// Classify handler with Step Functions and SSM mocked (aws-sdk-client-mock), the real pure core
// (classify, correlate, incident ids) and an in-memory incident store.
import { DescribeExecutionCommand, SFNClient, StartExecutionCommand, StopExecutionCommand } from '@aws-sdk/client-sfn';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import type { SQSEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { beforeEach, describe, expect, it } from 'vitest';
import { createClassifyHandler, type ClassifyDeps } from '#functions/classify/handler.js';
import { executionName, incidentIdFor } from '#domain/incident-id.js';
import type { ClusterFacts, Signal } from '#domain/types.js';
import { SsmPolicySource } from '#shared/policy-source.js';
import { FakeIncidentStore } from './fake-incident-store.js';
import { storePieces } from '../support/store-pieces.js';

const ARN = (name: string) => `arn:aws:states:eu-west-1:123456789012:stateMachine:kafka-heal-prod-${name}`;
const ORDERS: ClusterFacts = {
  name: 'orders',
  aliases: [],
  platform: 'msk',
  metadataMode: 'kraft',
  brokerCount: 3,
  hasDr: false,
  automaticFailover: false,
};
const PREFIX = '/kafka-heal/prod/clusters';

const sfnMock = mockClient(SFNClient);
const ssmMock = mockClient(SSMClient);
let clock: Date;
let store: FakeIncidentStore;
let deps: ClassifyDeps;

function signal(over: Partial<Signal> = {}): Signal {
  return {
    id: 'sig-1',
    source: 'cloudwatch',
    cluster: 'orders',
    kind: 'broker-down',
    brokerIds: [2],
    state: 'firing',
    observedAt: '2026-11-22T00:59:30.000Z',
    name: 'kafka-heal-prod-orders-broker-2-down',
    fingerprint: 'alarm:broker-2-down',
    labels: {},
    ...over,
  };
}

const event = (...bodies: string[]): SQSEvent => ({
  Records: bodies.map((body, i) => ({
    messageId: `m-${i}`,
    receiptHandle: 'r',
    body,
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

function policy(value: object | string) {
  ssmMock
    .on(GetParameterCommand, { Name: `${PREFIX}/orders/policy` })
    .resolves({ Parameter: { Value: typeof value === 'string' ? value : JSON.stringify(value) } });
}

function starts() {
  return sfnMock.commandCalls(StartExecutionCommand).map((c) => c.args[0].input);
}

beforeEach(() => {
  sfnMock.reset();
  ssmMock.reset();
  clock = new Date('2026-11-22T01:00:00.000Z');
  store = new FakeIncidentStore(() => clock);
  sfnMock.on(StartExecutionCommand).callsFake((input: { stateMachineArn: string; name: string }) => ({
    executionArn: `${input.stateMachineArn.replace(':stateMachine:', ':execution:')}:${input.name}`,
    startDate: clock,
  }));
  deps = {
    ...storePieces(store),
    sfn: new SFNClient({ region: 'eu-west-1' }),
    policies: new SsmPolicySource(new SSMClient({ region: 'eu-west-1' }), PREFIX, () => clock.getTime()),
    clusters: [ORDERS],
    workflowArns: {
      WORKFLOW_ARN_MSK_BROKER_RECOVERY: ARN('msk-broker-recovery'),
      WORKFLOW_ARN_ESCALATION: ARN('escalation'),
    },
    now: () => clock,
    lockTtlSeconds: 900,
  };
});

describe('classify handler', () => {
  it('pages for a cluster the deployment does not watch, without reading a policy it may not read', async () => {
    // The role may read its clusters' parameters only: any other read is denied.
    ssmMock.on(GetParameterCommand).callsFake((input: { Name: string }) => {
      if (input.Name === `${PREFIX}/orders/policy`) return { Parameter: { Value: JSON.stringify({ mode: 'auto' }) } };
      throw Object.assign(new Error(`not authorized to perform ssm:GetParameter on ${input.Name}`), {
        name: 'AccessDeniedException',
      });
    });
    const s = signal({ id: 'sig-typo', cluster: 'ordres', fingerprint: 'alarm:ordres' });
    const res = await createClassifyHandler(deps)(event(JSON.stringify(s)));
    expect(res.batchItemFailures).toEqual([]);
    const id = incidentIdFor(s, 'broker-failure');
    expect(store.incidents.get(id)).toMatchObject({ cluster: 'ordres', status: 'escalated', severity: 'SEV-2' });
    expect(starts().map((x) => x.stateMachineArn)).toEqual([ARN('escalation')]);
    expect(JSON.parse(starts()[0]!.input!).reasons[0]).toMatch(/cluster "ordres" is not configured/);
    expect(store.timelines.get(id)?.find((e) => e.action === 'policy-fallback')?.detail).toMatch(
      /cluster "ordres" is not configured in this deployment: no runtime policy is read for it; automation off/,
    );
    expect(ssmMock).not.toHaveReceivedCommand(GetParameterCommand);
  });

  it('keeps a signal that names no cluster raw, counted as rejected (the RejectedSignals alarm pages)', async () => {
    const res = await createClassifyHandler(deps)(event(JSON.stringify(signal({ cluster: '' }))));
    expect(res.batchItemFailures).toEqual([]);
    expect(store.raws).toEqual([
      expect.objectContaining({
        errorName: 'InputValidationError',
        error: expect.stringMatching(/^signal message is not a Signal: cluster: /),
      }),
    ]);
    expect(store.incidents.size).toBe(0);
  });

  it('starts exactly one execution named from the incident id, under the cluster lock', async () => {
    policy({ mode: 'auto' });
    const s = signal();
    const res = await createClassifyHandler(deps)(event(JSON.stringify(s)));
    expect(res.batchItemFailures).toEqual([]);

    const id = incidentIdFor(s, 'broker-failure');
    expect(sfnMock).toHaveReceivedCommandTimes(StartExecutionCommand, 1);
    expect(sfnMock).toHaveReceivedCommandWith(StartExecutionCommand, {
      stateMachineArn: ARN('msk-broker-recovery'),
      name: executionName(id, 'msk-broker-recovery'),
    });
    const input = JSON.parse(starts()[0]!.input!);
    expect(input).toMatchObject({
      incidentId: id,
      cluster: 'orders',
      action: 'remediate',
      dryRun: false,
      brokerIds: [2],
    });
    expect(input.reasons.length).toBeGreaterThan(0);

    expect(store.locks.get('orders')).toMatchObject({ owner: id, expiresAt: clock.getTime() / 1000 + 900 });
    const inc = store.incidents.get(id)!;
    expect(inc.status).toBe('remediating');
    expect(inc.executionArn).toMatch(/:execution:kafka-heal-prod-msk-broker-recovery:/);
    expect(store.actions(id)).toEqual(['incident-opened', 'lock-acquired', 'workflow-started']);
    expect(store.markers.get(s.id)?.acted).toBe(true);

    // The same signal again (SQS redelivery): a no-op, no second start.
    await createClassifyHandler(deps)(event(JSON.stringify(s)));
    expect(sfnMock).toHaveReceivedCommandTimes(StartExecutionCommand, 1);
  });

  it('treats ExecutionAlreadyExists as a harmless duplicate start', async () => {
    policy({ mode: 'auto' });
    sfnMock
      .on(StartExecutionCommand)
      .rejects(Object.assign(new Error('Execution Already Exists'), { name: 'ExecutionAlreadyExists' }));
    const s = signal();
    const res = await createClassifyHandler(deps)(event(JSON.stringify(s)));
    expect(res.batchItemFailures).toEqual([]);
    const id = incidentIdFor(s, 'broker-failure');
    const name = executionName(id, 'msk-broker-recovery');
    expect(store.incidents.get(id)!.executionArn).toBe(
      `arn:aws:states:eu-west-1:123456789012:execution:kafka-heal-prod-msk-broker-recovery:${name}`,
    );
    expect(store.actions(id)).toContain('workflow-already-started');
  });

  it('starts no remediation when the policy is off: people are told instead', async () => {
    policy({ mode: 'off' });
    await createClassifyHandler(deps)(event(JSON.stringify(signal())));
    expect(sfnMock).toHaveReceivedCommandTimes(StartExecutionCommand, 1);
    expect(sfnMock).not.toHaveReceivedCommandWith(StartExecutionCommand, {
      stateMachineArn: ARN('msk-broker-recovery'),
    });
    expect(sfnMock).toHaveReceivedCommandWith(StartExecutionCommand, { stateMachineArn: ARN('escalation') });
    expect(store.locks.size).toBe(0);
    const [inc] = store.incidents.values();
    expect(inc!.status).toBe('escalated');
  });

  it('falls back to the safest policy (off) when the parameter does not parse; classifies from a 30 s cache and re-reads it before acting', async () => {
    policy('{"mode": "yolo"');
    const handle = createClassifyHandler(deps);
    await handle(event(JSON.stringify(signal())));
    expect(starts().map((s) => s.stateMachineArn)).toEqual([ARN('escalation')]);
    const [inc] = store.incidents.values();
    const tl = store.timelines.get(inc!.id)!;
    expect(tl.find((e) => e.action === 'policy-fallback')?.detail).toMatch(/is invalid.*automation is off/);
    // One read to classify (cache miss), one fresh read before starting the workflow.
    expect(ssmMock).toHaveReceivedCommandTimes(GetParameterCommand, 2);

    // The same alarm again joins the incident and acts on nothing: classified from the cache.
    clock = new Date(clock.getTime() + 29_999);
    await handle(event(JSON.stringify(signal({ id: 'sig-2' }))));
    expect(ssmMock).toHaveReceivedCommandTimes(GetParameterCommand, 2);
    clock = new Date(clock.getTime() + 1);
    await handle(event(JSON.stringify(signal({ id: 'sig-3' }))));
    expect(ssmMock).toHaveReceivedCommandTimes(GetParameterCommand, 3);
    expect(store.incidents.size).toBe(1);
    expect(starts()).toHaveLength(1);
  });

  it('uses the default dry-run policy when the parameter is missing: plans only, no lock', async () => {
    ssmMock.on(GetParameterCommand).rejects(Object.assign(new Error('not found'), { name: 'ParameterNotFound' }));
    await createClassifyHandler(deps)(event(JSON.stringify(signal())));
    expect(starts()).toHaveLength(1);
    expect(starts()[0]!.stateMachineArn).toBe(ARN('msk-broker-recovery'));
    expect(JSON.parse(starts()[0]!.input!)).toMatchObject({ dryRun: true });
    expect(store.locks.size).toBe(0);
  });

  it('escalates instead when the remediation workflow is not deployed, and says so in the timeline', async () => {
    policy({ mode: 'auto' });
    delete deps.workflowArns.WORKFLOW_ARN_MSK_BROKER_RECOVERY;
    await createClassifyHandler(deps)(event(JSON.stringify(signal())));
    expect(starts().map((s) => s.stateMachineArn)).toEqual([ARN('escalation')]);
    const [inc] = store.incidents.values();
    const fallback = store.timelines.get(inc!.id)!.find((e) => e.action === 'workflow-fallback');
    expect(fallback?.detail).toMatch(/msk-broker-recovery is not deployed \(WORKFLOW_ARN_MSK_BROKER_RECOVERY unset\)/);
    expect(inc!.status).toBe('escalated');
  });

  it('escalates instead of remediating concurrently when another incident holds the cluster lock', async () => {
    policy({ mode: 'auto' });
    await store.acquireLock('orders', 'inc-other', 600);
    await createClassifyHandler(deps)(event(JSON.stringify(signal())));
    expect(starts().map((s) => s.stateMachineArn)).toEqual([ARN('escalation')]);
    const [inc] = store.incidents.values();
    expect(store.actions(inc!.id)).toEqual(
      expect.arrayContaining(['lock-held', 'workflow-fallback', 'workflow-started']),
    );
    expect(store.locks.get('orders')!.owner).toBe('inc-other');
  });

  it('a run that waits for approval holds the cluster lock too: a second incident on the cluster escalates instead of restarting concurrently', async () => {
    policy({ mode: 'approval' });
    deps.workflowArns.WORKFLOW_ARN_DISK_PRESSURE = ARN('disk-pressure');
    const handle = createClassifyHandler(deps);
    const first = signal();
    await handle(event(JSON.stringify(first)));
    const id = incidentIdFor(first, 'broker-failure');
    expect(JSON.parse(starts()[0]!.input!)).toMatchObject({ action: 'await-approval', dryRun: false });
    expect(store.incidents.get(id)!.status).toBe('awaiting-approval');
    expect(store.locks.get('orders')?.owner).toBe(id);
    expect(store.actions(id)).toEqual(['incident-opened', 'lock-acquired', 'workflow-started']);

    clock = new Date(clock.getTime() + 5_000);
    await handle(
      event(
        JSON.stringify(
          signal({
            id: 'sig-disk',
            kind: 'disk-usage',
            brokerIds: [3],
            value: 95,
            threshold: 90,
            fingerprint: 'alarm:disk-3',
            observedAt: clock.toISOString(),
          }),
        ),
      ),
    );
    const second = [...store.incidents.values()].find((i) => i.id !== id)!;
    expect(starts().map((s) => s.stateMachineArn)).toEqual([ARN('msk-broker-recovery'), ARN('escalation')]);
    expect(store.actions(second.id)).toEqual(expect.arrayContaining(['lock-held', 'workflow-fallback']));
    expect(store.locks.get('orders')?.owner).toBe(id);
  });

  it('keeps a malformed signal message raw without retrying it', async () => {
    policy({ mode: 'auto' });
    const res = await createClassifyHandler(deps)(event('{"id": 1}', 'nope'));
    expect(res.batchItemFailures).toEqual([]);
    expect(store.raws.map((r) => r.errorName)).toEqual(['InputValidationError', 'InputValidationError']);
    expect(sfnMock).not.toHaveReceivedCommand(StartExecutionCommand);
  });

  it('retries a failed start and finishes the actions on redelivery', async () => {
    policy({ mode: 'auto' });
    sfnMock
      .on(StartExecutionCommand)
      .rejectsOnce(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }));
    const s = signal();
    const handle = createClassifyHandler(deps);
    const first = await handle(event(JSON.stringify(s)));
    expect(first.batchItemFailures).toEqual([{ itemIdentifier: 'm-0' }]);
    expect(store.markers.get(s.id)?.acted).toBe(false);

    sfnMock.on(StartExecutionCommand).callsFake((input: { stateMachineArn: string; name: string }) => ({
      executionArn: `${input.stateMachineArn}:${input.name}`,
    }));
    const again = await handle(event(JSON.stringify(s)));
    expect(again.batchItemFailures).toEqual([]);
    const id = incidentIdFor(s, 'broker-failure');
    expect(starts().map((x) => x.name)).toEqual([
      executionName(id, 'msk-broker-recovery'),
      executionName(id, 'msk-broker-recovery'),
    ]);
    expect(store.actions(id)).toContain('actions-resumed');
    expect(store.markers.get(s.id)?.acted).toBe(true);
    expect(store.incidents.get(id)!.signalCount).toBe(1);
  });

  it('re-decides when a second broker upgrades the incident to a cascade (2 of 3 brokers: blast radius -> people)', async () => {
    policy({ mode: 'auto' });
    const handle = createClassifyHandler(deps);
    await handle(event(JSON.stringify(signal())));
    // 20 s after the clock (50 s after the first signal's observedAt): within the 60 s simultaneous
    // window, so both brokers failed together (one after another would be a cascade-recovery).
    clock = new Date(clock.getTime() + 20_000);
    await handle(
      event(
        JSON.stringify(
          signal({ id: 'sig-b3', brokerIds: [3], fingerprint: 'alarm:broker-3-down', observedAt: clock.toISOString() }),
        ),
      ),
    );

    expect(store.incidents.size).toBe(1);
    const [inc] = store.incidents.values();
    expect(inc).toMatchObject({ type: 'cascade-failure', severity: 'SEV-1' });
    expect(starts().map((x) => x.stateMachineArn)).toEqual([ARN('msk-broker-recovery'), ARN('escalation')]);
    expect(starts()[1]!.name).toBe(executionName(inc!.id, 'escalation'));
    expect(inc!.status).toBe('escalated');
    // The broker recovery already running is stopped before people take over: no automation keeps acting.
    const firstArn = `${ARN('msk-broker-recovery').replace(':stateMachine:', ':execution:')}:${executionName(inc!.id, 'msk-broker-recovery')}`;
    expect(sfnMock).toHaveReceivedCommandWith(StopExecutionCommand, { executionArn: firstArn, error: 'Superseded' });
    // The stopped run cannot release the cluster lock any more: handed to people, the incident frees it.
    expect(store.actions(inc!.id).slice(-4)).toEqual([
      'workflow-started',
      'workflow-superseded',
      'lock-released',
      'workflow-started',
    ]);
    expect(store.locks.get('orders')).toBeUndefined();
  });

  it('a superseded run hands the lock back only if its incident holds it', async () => {
    policy({ mode: 'auto' });
    const handle = createClassifyHandler(deps);
    await handle(event(JSON.stringify(signal())));
    const [inc] = store.incidents.values();
    // Someone else holds the lock by now (e.g. it expired and another incident took it).
    store.locks.set('orders', {
      cluster: 'orders',
      owner: 'inc-other',
      acquiredAt: clock.toISOString(),
      expiresAt: Math.floor(clock.getTime() / 1000) + 600,
    });
    clock = new Date(clock.getTime() + 20_000);
    await handle(
      event(
        JSON.stringify(
          signal({ id: 'sig-b3', brokerIds: [3], fingerprint: 'alarm:broker-3-down', observedAt: clock.toISOString() }),
        ),
      ),
    );
    expect(store.locks.get('orders')?.owner).toBe('inc-other');
    expect(store.actions(inc!.id)).not.toContain('lock-released');
    expect(inc!.status).toBe('escalated');
  });

  it('stops the running broker recovery before cascade-recovery takes over a grown incident (one remediation per incident)', async () => {
    policy({ mode: 'auto' });
    deps.workflowArns = { ...deps.workflowArns, WORKFLOW_ARN_CASCADE_RECOVERY: ARN('cascade-recovery') };
    const stopped: string[] = [];
    sfnMock.on(StopExecutionCommand).callsFake((input: { executionArn: string }) => {
      stopped.push(input.executionArn);
      return { stopDate: clock };
    });
    const handle = createClassifyHandler(deps);
    await handle(event(JSON.stringify(signal())));
    // Two minutes later: one after another (outside the simultaneous window, inside the cascade window).
    clock = new Date(clock.getTime() + 120_000);
    await handle(
      event(
        JSON.stringify(
          signal({ id: 'sig-b3', brokerIds: [3], fingerprint: 'alarm:broker-3-down', observedAt: clock.toISOString() }),
        ),
      ),
    );

    const [inc] = store.incidents.values();
    expect(inc).toMatchObject({ type: 'cascade-failure' });
    expect(starts().map((x) => x.stateMachineArn)).toEqual([ARN('msk-broker-recovery'), ARN('cascade-recovery')]);
    expect(stopped).toEqual([
      `${ARN('msk-broker-recovery').replace(':stateMachine:', ':execution:')}:${executionName(inc!.id, 'msk-broker-recovery')}`,
    ]);
    // Stopped before the new start, and the lock stays with the incident for the new run.
    expect(store.actions(inc!.id).slice(-3)).toEqual(['workflow-superseded', 'lock-acquired', 'workflow-started']);
    expect(store.locks.get('orders')?.owner).toBe(inc!.id);
    expect(JSON.parse(starts()[1]!.input!)).toMatchObject({ brokerIds: [2, 3] });
  });

  it('takes over when the superseded execution is already gone (ExecutionDoesNotExist), and says so', async () => {
    policy({ mode: 'auto' });
    deps.workflowArns = { ...deps.workflowArns, WORKFLOW_ARN_CASCADE_RECOVERY: ARN('cascade-recovery') };
    sfnMock
      .on(StopExecutionCommand)
      .rejects(Object.assign(new Error('Execution Does Not Exist'), { name: 'ExecutionDoesNotExist' }));
    const handle = createClassifyHandler(deps);
    await handle(event(JSON.stringify(signal())));
    clock = new Date(clock.getTime() + 120_000);
    await handle(
      event(
        JSON.stringify(
          signal({ id: 'sig-b3', brokerIds: [3], fingerprint: 'alarm:broker-3-down', observedAt: clock.toISOString() }),
        ),
      ),
    );
    const [inc] = store.incidents.values();
    expect(starts().map((x) => x.stateMachineArn)).toEqual([ARN('msk-broker-recovery'), ARN('cascade-recovery')]);
    expect(store.timelines.get(inc!.id)?.find((e) => e.action === 'workflow-superseded')?.result).toBe('not found');
  });

  it('does not open an incident for an ignored signal', async () => {
    policy({ mode: 'auto' });
    await createClassifyHandler(deps)(event(JSON.stringify(signal({ state: 'resolved' }))));
    expect(store.incidents.size).toBe(0);
    expect(sfnMock).not.toHaveReceivedCommand(StartExecutionCommand);
  });
});

describe('a site failure and the broker-level run that got the lock first', () => {
  const siteDown = (over: Partial<Signal> = {}) =>
    signal({
      id: 'sig-site',
      kind: 'site-down',
      brokerIds: [],
      name: 'kafka-heal-prod-orders-site-down',
      fingerprint: 'alarm:site-down',
      ...over,
    });

  const brokerId = () => incidentIdFor(signal(), 'broker-failure');
  const siteId = () => incidentIdFor(siteDown(), 'site-failure');
  /** A broker recovery takes the lock first; `meanwhile` changes its incident; then the site goes down. */
  async function brokerRunThenSiteDown(
    meanwhile: (holder: { status: string; type: string }) => void = () => undefined,
  ): Promise<void> {
    policy({ mode: 'auto' });
    const handle = createClassifyHandler(deps);
    await handle(event(JSON.stringify(signal())));
    expect(store.locks.get('orders')?.owner).toBe(brokerId());
    meanwhile(store.incidents.get(brokerId())!);
    await handle(event(JSON.stringify(siteDown())));
  }

  beforeEach(() => {
    deps.clusters = [{ ...ORDERS, hasDr: true }];
    deps.workflowArns = { ...deps.workflowArns, WORKFLOW_ARN_DR_FAILOVER: ARN('dr-failover') };
    sfnMock.on(StopExecutionCommand).resolves({ stopDate: clock });
    sfnMock.on(DescribeExecutionCommand).resolves({ status: 'RUNNING' });
  });

  it('takes the cluster lock from a running broker recovery: stops it, closes its incident as suppressed, starts dr-failover', async () => {
    await brokerRunThenSiteDown();
    expect(starts().map((x) => x.stateMachineArn)).toEqual([ARN('msk-broker-recovery'), ARN('dr-failover')]);
    expect(sfnMock).toHaveReceivedCommandWith(StopExecutionCommand, {
      executionArn: store.incidents.get(brokerId())!.executionArn!,
      error: 'Superseded',
    });
    expect(store.locks.get('orders')?.owner).toBe(siteId());
    expect(store.incidents.get(brokerId())!.status).toBe('suppressed');
    expect(store.actions(brokerId()).slice(-2)).toEqual(['workflow-superseded', 'lock-taken-over']);
    expect(store.incidents.get(brokerId())!.fencedRuns).toEqual([store.incidents.get(brokerId())!.executionArn]);
    expect(store.incidents.get(siteId())!.status).toBe('awaiting-approval');
    expect(store.actions(siteId())).toEqual(['incident-opened', 'lock-acquired', 'workflow-started']);
    expect(store.timelines.get(siteId())?.find((e) => e.action === 'lock-acquired')?.detail).toMatch(
      new RegExp(`taken over from ${brokerId()} \\(broker-failure\\)`),
    );
  });

  it('takes over from a holder still reading open (its start raced an upgrade and was stopped before its status was set)', async () => {
    await brokerRunThenSiteDown((holder) => (holder.status = 'open'));
    expect(store.locks.get('orders')?.owner).toBe(siteId());
    expect(store.incidents.get(brokerId())!.status).toBe('suppressed');
  });

  it('an escalated holder only loses the lock: its paging ladder keeps running and it stays escalated', async () => {
    // Escalating stopped its broker recovery (the run the lock names).
    sfnMock.on(DescribeExecutionCommand).resolves({ status: 'ABORTED' });
    await brokerRunThenSiteDown((holder) => {
      holder.status = 'escalated';
      (holder as { executionArn?: string }).executionArn =
        `${ARN('escalation').replace(':stateMachine:', ':execution:')}:${executionName(brokerId(), 'escalation')}`;
    });
    expect(store.locks.get('orders')?.owner).toBe(siteId());
    expect(store.incidents.get(brokerId())!.status).toBe('escalated');
    expect(sfnMock).not.toHaveReceivedCommand(StopExecutionCommand);
    expect(starts().map((x) => x.stateMachineArn)).toEqual([ARN('msk-broker-recovery'), ARN('dr-failover')]);
  });

  it('leaves any other holder alone: a site failure on a cluster locked by disk pressure escalates', async () => {
    // The lock holder is remediating something a site failure does not make pointless.
    await brokerRunThenSiteDown((holder) => (holder.type = 'disk-pressure'));
    expect(starts().map((x) => x.stateMachineArn)).toEqual([ARN('msk-broker-recovery'), ARN('escalation')]);
    expect(store.locks.get('orders')?.owner).toBe(brokerId());
    expect(store.incidents.get(brokerId())!.status).toBe('remediating');
    expect(store.actions(siteId())).toContain('lock-held');
    expect(sfnMock).not.toHaveReceivedCommand(StopExecutionCommand);
  });

  it('a broker-level signal never takes the lock from a site failure: it folds into it (no incident of its own, no page)', async () => {
    policy({ mode: 'auto' });
    const handle = createClassifyHandler(deps);
    await handle(event(JSON.stringify(siteDown())));
    await handle(event(JSON.stringify(signal())));
    expect(store.locks.get('orders')?.owner).toBe(siteId());
    expect(starts().map((x) => x.stateMachineArn)).toEqual([ARN('dr-failover')]);
    expect(sfnMock).not.toHaveReceivedCommand(StopExecutionCommand);
    expect([...store.incidents.keys()]).toEqual([siteId()]);
    expect(store.actions(siteId())).toEqual(['incident-opened', 'lock-acquired', 'workflow-started', 'signal-folded']);
    const folded = store.timelines.get(siteId())!.at(-1)!;
    expect(folded).toMatchObject({
      actor: 'classifier',
      result: 'folded',
      detail:
        'cloudwatch signal kafka-heal-prod-orders-broker-2-down (broker-down, brokers 2) folded into this site-failure: no broker-failure incident opened, no page, no workflow started (on its own: broker-failure SEV-2, remediate with msk-broker-recovery for brokers 2)',
    });
    expect(folded.reasons?.[0]).toBe(
      `The site of orders is down (incident ${siteId()}, awaiting-approval): no broker of it answers, so broker-level alarms are symptoms of the site failure, and its incident is the response.`,
    );
    expect(store.markers.get('sig-1')).toMatchObject({ incidentId: siteId(), outcome: 'joined', acted: true });
  });
});

describe('a quorum loss and the broker-level run that got the lock first', () => {
  // ZooKeeper mode on EC2: brokers blocked on ZooKeeper calls stop answering the probe, so a
  // broker-down alarm can be classified before the ensemble's own alert.
  const quorumLost = () =>
    signal({
      id: 'sig-zk',
      kind: 'quorum-loss',
      brokerIds: [],
      name: 'ZookeeperQuorumLost',
      fingerprint: 'zk-quorum-orders-1',
    });
  beforeEach(() => {
    deps.clusters = [{ ...ORDERS, platform: 'ec2', metadataMode: 'zookeeper' }];
    deps.workflowArns = {
      ...deps.workflowArns,
      WORKFLOW_ARN_BROKER_RECOVERY: ARN('broker-recovery'),
      WORKFLOW_ARN_QUORUM_RECOVERY: ARN('quorum-recovery'),
    };
    sfnMock.on(StopExecutionCommand).resolves({ stopDate: clock });
  });

  it('quorum-recovery takes the cluster lock over: the broker recovery is stopped and its incident suppressed', async () => {
    policy({ mode: 'auto' });
    const handle = createClassifyHandler(deps);
    await handle(event(JSON.stringify(signal())));
    const brokerId = incidentIdFor(signal(), 'broker-failure');
    const quorumId = incidentIdFor(quorumLost(), 'quorum-loss');
    expect(store.locks.get('orders')?.owner).toBe(brokerId);
    await handle(event(JSON.stringify(quorumLost())));
    expect(starts().map((x) => x.stateMachineArn)).toEqual([ARN('broker-recovery'), ARN('quorum-recovery')]);
    expect(sfnMock).toHaveReceivedCommandWith(StopExecutionCommand, {
      executionArn: store.incidents.get(brokerId)!.executionArn!,
      error: 'Superseded',
    });
    expect(store.locks.get('orders')?.owner).toBe(quorumId);
    expect(store.incidents.get(brokerId)!.status).toBe('suppressed');
    expect(store.timelines.get(quorumId)?.find((e) => e.action === 'lock-acquired')?.detail).toMatch(
      new RegExp(`taken over from ${brokerId} \\(broker-failure\\)`),
    );
  });

  it('a broker-level signal never takes the lock from a quorum recovery: it folds into the quorum loss', async () => {
    policy({ mode: 'auto' });
    const handle = createClassifyHandler(deps);
    await handle(event(JSON.stringify(quorumLost())));
    await handle(event(JSON.stringify(signal())));
    expect(store.locks.get('orders')?.owner).toBe(incidentIdFor(quorumLost(), 'quorum-loss'));
    expect(starts().map((x) => x.stateMachineArn)).toEqual([ARN('quorum-recovery')]);
    expect(sfnMock).not.toHaveReceivedCommand(StopExecutionCommand);
    expect(store.incidents.size).toBe(1);
  });
});

describe('broker-level alarms while a quorum loss is handled fold into its incident', () => {
  // The zk-split-brain drill's shape: ZooKeeper-mode brokers on EC2 stop answering the probe while
  // the ensemble has no quorum, and quorum-recovery stops every broker on purpose.
  const quorumLost = () =>
    signal({
      id: 'sig-zk',
      kind: 'quorum-loss',
      brokerIds: [],
      name: 'ZookeeperQuorumLost',
      fingerprint: 'zk-quorum-orders-1',
    });
  const brokerDown = (b: number, over: Partial<Signal> = {}) =>
    signal({
      id: `sig-b${b}`,
      brokerIds: [b],
      name: `kafka-heal-prod-orders-broker-down-b${b}`,
      fingerprint: `alarm:broker-${b}-down`,
      ...over,
    });
  const underMinIsr = () =>
    signal({
      id: 'sig-isr',
      kind: 'under-min-isr',
      brokerIds: [],
      name: 'kafka-heal-prod-orders-under-min-isr',
      fingerprint: 'alarm:under-min-isr',
    });
  const quorumId = () => incidentIdFor(quorumLost(), 'quorum-loss');
  const folds = (id = quorumId()) => (store.timelines.get(id) ?? []).filter((e) => e.action === 'signal-folded');

  beforeEach(() => {
    deps.clusters = [{ ...ORDERS, platform: 'ec2', metadataMode: 'zookeeper' }];
    deps.workflowArns = {
      ...deps.workflowArns,
      WORKFLOW_ARN_BROKER_RECOVERY: ARN('broker-recovery'),
      WORKFLOW_ARN_QUORUM_RECOVERY: ARN('quorum-recovery'),
    };
    sfnMock.on(StopExecutionCommand).resolves({ stopDate: clock });
    policy({ mode: 'auto' });
  });

  it('records the alarm on the quorum-loss timeline and nothing else: no incident, no page, no workflow, no lock', async () => {
    const handle = createClassifyHandler(deps);
    await handle(event(JSON.stringify(quorumLost())));
    const res = await handle(event(JSON.stringify(brokerDown(2)), JSON.stringify(underMinIsr())));
    expect(res.batchItemFailures).toEqual([]);

    expect([...store.incidents.keys()]).toEqual([quorumId()]);
    expect(starts().map((x) => x.stateMachineArn)).toEqual([ARN('quorum-recovery')]);
    expect(store.locks.get('orders')?.owner).toBe(quorumId());
    expect(store.incidents.get(quorumId())).toMatchObject({
      type: 'quorum-loss',
      severity: 'SEV-1',
      status: 'awaiting-approval',
      signalCount: 3,
      brokers: [],
    });
    expect(store.actions(quorumId())).toEqual([
      'incident-opened',
      'lock-acquired',
      'workflow-started',
      'signal-folded',
      'signal-folded',
    ]);
    expect(folds().map((e) => e.detail)).toEqual([
      'cloudwatch signal kafka-heal-prod-orders-broker-down-b2 (broker-down, brokers 2) folded into this quorum-loss: no broker-failure incident opened, no page, no workflow started (on its own: broker-failure SEV-2, remediate with broker-recovery for brokers 2)',
      'cloudwatch signal kafka-heal-prod-orders-under-min-isr (under-min-isr) folded into this quorum-loss: no under-replication incident opened, no page, no workflow started (on its own: under-replication SEV-2, escalate with a page)',
    ]);
    expect(folds()[0]!.reasons).toEqual([
      `The metadata quorum of orders is lost (incident ${quorumId()}, awaiting-approval): brokers cannot register, elect a controller or change their ISRs, so broker-level alarms are symptoms of the loss, and quorum-recovery restarts every broker itself.`,
      '1 of 3 brokers failing within 300 s (33.3%): broker 2.',
      '1 broker down: standard recovery with broker-recovery, one broker at a time (SEV-2).',
    ]);
    expect(['sig-b2', 'sig-isr'].map((id) => store.markers.get(id)?.acted)).toEqual([true, true]);
  });

  it('one batch with the quorum alert first and every broker after it: one incident, one start, one entry per alarm', async () => {
    await createClassifyHandler(deps)(
      event(...[quorumLost(), brokerDown(1), brokerDown(2), brokerDown(3)].map((s) => JSON.stringify(s))),
    );
    expect(store.incidents.size).toBe(1);
    expect(starts().map((x) => x.stateMachineArn)).toEqual([ARN('quorum-recovery')]);
    // Folded before the quorum loss's own decision: the incident still read open then.
    expect(folds().map((e) => e.reasons?.[0])).toEqual(
      Array(3).fill(expect.stringContaining(`(incident ${quorumId()}, open)`)),
    );
    expect(folds().map((e) => e.detail?.split(' folded')[0])).toEqual(
      [1, 2, 3].map((b) => `cloudwatch signal kafka-heal-prod-orders-broker-down-b${b} (broker-down, brokers ${b})`),
    );
  });

  it('duplicates: a redelivered alarm is a no-op; the same alarm firing again only counts', async () => {
    const handle = createClassifyHandler(deps);
    await handle(event(JSON.stringify(quorumLost())));
    await handle(event(JSON.stringify(brokerDown(2))));
    await handle(event(JSON.stringify(brokerDown(2))));
    expect(store.incidents.get(quorumId())!.signalCount).toBe(2);
    clock = new Date(clock.getTime() + 30_000);
    await handle(event(JSON.stringify(brokerDown(2, { id: 'sig-b2-again', observedAt: clock.toISOString() }))));
    expect(store.incidents.get(quorumId())!.signalCount).toBe(3);
    expect(folds()).toHaveLength(1);
    expect(store.incidents.size).toBe(1);
    expect(starts()).toHaveLength(1);
  });

  it('an alarm classified before the quorum alert opens its own incident, which the quorum loss takes over; the next one folds', async () => {
    const handle = createClassifyHandler(deps);
    await handle(event(JSON.stringify(brokerDown(3)), JSON.stringify(quorumLost())));
    const brokerId = incidentIdFor(brokerDown(3), 'broker-failure');
    expect(starts().map((x) => x.stateMachineArn)).toEqual([ARN('broker-recovery'), ARN('quorum-recovery')]);
    expect(store.incidents.get(brokerId)!.status).toBe('suppressed');
    expect(store.locks.get('orders')?.owner).toBe(quorumId());

    clock = new Date(clock.getTime() + 4_000);
    await handle(
      event(
        JSON.stringify(brokerDown(1, { observedAt: clock.toISOString() })),
        JSON.stringify(brokerDown(2, { observedAt: clock.toISOString() })),
      ),
    );
    expect(store.incidents.size).toBe(2);
    expect(starts()).toHaveLength(2);
    expect(folds()).toHaveLength(2);
  });

  it('an escalated quorum loss folds nothing: the next broker alarm is a fault of its own and opens its incident', async () => {
    const handle = createClassifyHandler(deps);
    await handle(event(JSON.stringify(quorumLost())));
    await handle(event(JSON.stringify(brokerDown(2))));
    // quorum-recovery gave up (or its approval timed out): people own the quorum loss, the lock is free.
    store.incidents.get(quorumId())!.status = 'escalated';
    store.locks.delete('orders');

    clock = new Date(clock.getTime() + 60_000);
    // The alarm it folded fires again (after an OK), and another broker's fires.
    await handle(event(JSON.stringify(brokerDown(2, { id: 'sig-b2-again', observedAt: clock.toISOString() }))));
    const own = incidentIdFor(brokerDown(2, { id: 'sig-b2-again', observedAt: clock.toISOString() }), 'broker-failure');
    expect(store.incidents.get(own)).toMatchObject({
      type: 'broker-failure',
      severity: 'SEV-2',
      status: 'remediating',
    });
    expect(starts().map((x) => x.stateMachineArn)).toEqual([ARN('quorum-recovery'), ARN('broker-recovery')]);
    expect(store.locks.get('orders')?.owner).toBe(own);
    expect(folds()).toHaveLength(1);
  });

  it('a resolved quorum loss folds nothing: the next broker alarm opens its own incident and remediates', async () => {
    const handle = createClassifyHandler(deps);
    await handle(event(JSON.stringify(quorumLost())));
    store.incidents.get(quorumId())!.status = 'resolved';
    store.locks.delete('orders');
    await handle(event(JSON.stringify(brokerDown(2))));
    expect(store.incidents.get(incidentIdFor(brokerDown(2), 'broker-failure'))?.status).toBe('remediating');
    expect(starts().map((x) => x.stateMachineArn)).toEqual([ARN('quorum-recovery'), ARN('broker-recovery')]);
    expect(folds()).toEqual([]);
  });

  it('a broker alarm of another cluster never folds into this quorum loss', async () => {
    deps.clusters = [...deps.clusters, { ...ORDERS, name: 'payments', platform: 'ec2', metadataMode: 'zookeeper' }];
    ssmMock
      .on(GetParameterCommand, { Name: `${PREFIX}/payments/policy` })
      .resolves({ Parameter: { Value: JSON.stringify({ mode: 'auto' }) } });
    const handle = createClassifyHandler(deps);
    await handle(event(JSON.stringify(quorumLost())));
    const other = brokerDown(2, {
      cluster: 'payments',
      name: 'kafka-heal-prod-payments-broker-down-b2',
      fingerprint: 'alarm:payments-broker-2-down',
    });
    await handle(event(JSON.stringify(other)));
    expect(store.incidents.get(incidentIdFor(other, 'broker-failure'))).toMatchObject({
      cluster: 'payments',
      status: 'remediating',
    });
    expect(store.locks.get('payments')?.owner).toBe(incidentIdFor(other, 'broker-failure'));
    expect(starts().map((x) => x.stateMachineArn)).toEqual([ARN('quorum-recovery'), ARN('broker-recovery')]);
    expect(folds()).toEqual([]);
  });

  it('a quorum loss on MSK is escalated at once (AWS manages the quorum): broker alarms after that open their own incidents', async () => {
    deps.clusters = [ORDERS];
    const handle = createClassifyHandler(deps);
    await handle(event(JSON.stringify(quorumLost())));
    expect(store.incidents.get(quorumId())!.status).toBe('escalated');
    await handle(event(JSON.stringify(brokerDown(2))));
    expect(store.incidents.size).toBe(2);
    expect(starts().map((x) => x.stateMachineArn)).toEqual([ARN('escalation'), ARN('msk-broker-recovery')]);
  });
});
