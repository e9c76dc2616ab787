// Fast detection end to end through the shipped pieces (doubles for AWS only): the probe's finding
// (functions/probe/fast-detect.ts) normalized as ingest normalizes it, then the broker-down alarm of
// the deployed specs (its contributor event as CloudWatch sends it) for the same broker, both through
// the real classify handler on the in-memory incident store. One fault, one incident, one workflow.
import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import type { SQSEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { createClassifyHandler, type ClassifyDeps } from '#functions/classify/handler.js';
import { normalize } from '#domain/normalize/index.js';
import type { Signal } from '#domain/types.js';
import { brokerDown, probeResult } from '#functions/probe/fast-detect.js';
import { SsmPolicySource } from '#shared/policy-source.js';
import { workflowArnEnvName } from '#shared/workflows.js';
import { clusterFacts, loadConfigFile } from '#infra/config/schema.js';
import { clusterAlarmSpecs } from '#infra/constructs/alarm-specs.js';
import { alarmStateChangeEvent, contributorId } from '#local/drill/alarm-evaluator.js';
import { sqsEvent, sqsRecord } from '../support/sqs.js';
import { FakeIncidentStore } from './fake-incident-store.js';
import { storePieces } from '../support/store-pieces.js';

const config = loadConfigFile('examples/config/dr-pair.yaml');
const facts = clusterFacts(config);
const cluster = config.clusters.find((c) => c.name === 'events');
if (!cluster) throw new Error('examples/config/dr-pair.yaml has no cluster "events"');
const brokerDownSpec = clusterAlarmSpecs(config.deployment, cluster).find((s) => s.alarmKind === 'broker-down');
if (!brokerDownSpec) throw new Error('the events cluster has no broker-down alarm');
const PREFIX = '/kafka-heal/events/clusters';
const ARN = (w: string) => `arn:aws:states:us-east-1:123456789012:stateMachine:kafka-heal-events-${w}`;

const sfnMock = mockClient(SFNClient);
const ssmMock = mockClient(SSMClient);
let clock: Date;
let store: FakeIncidentStore;
let deps: ClassifyDeps;

/** The signals as the signals queue delivers them to classify. */
const signalsBatch = (signals: Signal[]): SQSEvent => sqsEvent(...signals.map((s) => sqsRecord(JSON.stringify(s))));

/** What ingest puts on the signals queue for a raw event. */
function ingest(raw: unknown): Signal[] {
  const r = normalize(raw, { clusters: facts, receivedAt: clock.toISOString(), deployment: config.deployment });
  if (r.outcome !== 'signals') throw new Error(`ignored: ${r.reason}`);
  return r.signals;
}

/** The deployed broker-down alarm's contributor for `broker` changing state, as EventBridge delivers it. */
function alarmEvent(broker: number, to: 'ALARM' | 'OK'): unknown {
  const attributes = { 'Broker ID': String(broker) };
  return alarmStateChangeEvent(
    {
      spec: brokerDownSpec as NonNullable<typeof brokerDownSpec>,
      from: to === 'ALARM' ? 'OK' : 'ALARM',
      to,
      at: clock.getTime(),
      reason: 'Threshold Crossed: 2 datapoints were less than the threshold (1.0).',
      datapoints: [0, 0],
      contributor: { id: contributorId(brokerDownSpec?.alarmName ?? '', attributes), attributes },
    },
    { region: 'us-east-1', account: '123456789012' },
  );
}

const starts = () => sfnMock.commandCalls(StartExecutionCommand).map((c) => c.args[0].input);

beforeEach(() => {
  sfnMock.reset();
  ssmMock.reset();
  clock = new Date('2026-12-07T10:01:12.000Z');
  store = new FakeIncidentStore(() => clock);
  ssmMock.on(GetParameterCommand).resolves({ Parameter: { Value: JSON.stringify({ mode: 'auto' }) } });
  sfnMock.on(StartExecutionCommand).callsFake((input: { stateMachineArn: string; name: string }) => ({
    executionArn: `${input.stateMachineArn.replace(':stateMachine:', ':execution:')}:${input.name}`,
    startDate: clock,
  }));
  deps = {
    ...storePieces(store),
    sfn: new SFNClient({ region: 'us-east-1' }),
    policies: new SsmPolicySource(new SSMClient({ region: 'us-east-1' }), PREFIX, () => clock.getTime()),
    clusters: facts,
    workflowArns: Object.fromEntries(
      (['broker-recovery', 'cascade-recovery', 'escalation', 'dr-failover'] as const).map((w) => [
        workflowArnEnvName(w),
        ARN(w),
      ]),
    ),
    now: () => clock,
    lockTtlSeconds: 900,
  };
});

describe('fast detection and the broker-down alarm: one fault, one incident', () => {
  it("the probe's finding opens the incident; the alarm for the same broker two minutes later joins it, starting nothing more", async () => {
    const classify = createClassifyHandler(deps);
    const direct = ingest(probeResult('events', '2026-12-07T10:01:00.000Z', [brokerDown([2], 'firing')]));
    expect(direct).toEqual([
      expect.objectContaining({
        source: 'probe',
        cluster: 'events',
        kind: 'broker-down',
        brokerIds: [2],
        state: 'firing',
      }),
    ]);
    expect((await classify(signalsBatch(direct))).batchItemFailures).toEqual([]);
    expect(store.incidents.size).toBe(1);
    expect(starts().map((s) => s.stateMachineArn)).toEqual([ARN('broker-recovery')]);

    clock = new Date('2026-12-07T10:03:01.000Z');
    const alarm = ingest(alarmEvent(2, 'ALARM'));
    expect(alarm).toEqual([
      expect.objectContaining({ source: 'cloudwatch', kind: 'broker-down', brokerIds: [2], state: 'firing' }),
    ]);
    expect((await classify(signalsBatch(alarm))).batchItemFailures).toEqual([]);
    expect(store.incidents.size).toBe(1);
    const [incident] = [...store.incidents.values()];
    expect(incident).toMatchObject({ type: 'broker-failure', brokers: [expect.objectContaining({ id: 2 })] });
    // Both sources are on the one incident; still one execution.
    expect(incident?.fingerprints).toHaveLength(2);
    expect(starts()).toHaveLength(1);
  });

  it("the probe's resolved finding and the alarm's OK annotate that incident, never open another", async () => {
    const classify = createClassifyHandler(deps);
    await classify(
      signalsBatch(ingest(probeResult('events', '2026-12-07T10:01:00.000Z', [brokerDown([2], 'firing')]))),
    );
    clock = new Date('2026-12-07T10:03:01.000Z');
    await classify(signalsBatch(ingest(alarmEvent(2, 'ALARM'))));
    clock = new Date('2026-12-07T10:05:00.000Z');
    await classify(
      signalsBatch([
        ...ingest(probeResult('events', '2026-12-07T10:05:00.000Z', [brokerDown([2], 'resolved')])),
        ...ingest(alarmEvent(2, 'OK')),
      ]),
    );
    expect(store.incidents.size).toBe(1);
    expect(starts()).toHaveLength(1);
  });

  it('every broker down at both looks is at most what the broker-down alarm gives: escalated as an emergency, never a site failure nor a DR failover', async () => {
    const all = [1, 2, 3, 4, 5, 6];
    const signals = ingest(probeResult('events', '2026-12-07T10:01:00.000Z', [brokerDown(all, 'firing')]));
    expect(signals.map((s) => s.kind)).toEqual(['broker-down']);
    await createClassifyHandler(deps)(signalsBatch(signals));
    const [incident] = [...store.incidents.values()];
    // Several brokers in one finding are the broker-count matrix's (more than half at once: an emergency, no action).
    expect(incident).toMatchObject({ type: 'cascade-failure', severity: 'SEV-1', status: 'escalated' });
    expect(starts().map((s) => s.stateMachineArn)).toEqual([ARN('escalation')]);
  });

  it("a site that went down whole: the probe's earlier emergency does not swallow the site-down alarm, which still starts dr-failover", async () => {
    const classify = createClassifyHandler(deps);
    await classify(
      signalsBatch(
        ingest(probeResult('events', '2026-12-07T10:01:00.000Z', [brokerDown([1, 2, 3, 4, 5, 6], 'firing')])),
      ),
    );
    expect(starts().map((s) => s.stateMachineArn)).toEqual([ARN('escalation')]);
    // Two minutes later the site-down alarm (no bootstrap server answered for 2 of 2 minutes) fires.
    clock = new Date('2026-12-07T10:03:01.000Z');
    const siteSpec = clusterAlarmSpecs(config.deployment, cluster).find((x) => x.alarmKind === 'site-down');
    if (!siteSpec) throw new Error('the events cluster has no site-down alarm');
    const site = ingest(
      alarmStateChangeEvent(
        {
          spec: siteSpec,
          from: 'OK',
          to: 'ALARM',
          at: clock.getTime(),
          reason: 'Threshold Crossed: 2 datapoints were less than the threshold (1.0).',
          datapoints: [0, 0],
        },
        { region: 'us-east-1', account: '123456789012' },
      ),
    );
    expect(site).toEqual([expect.objectContaining({ kind: 'site-down', cluster: 'events', state: 'firing' })]);
    expect((await classify(signalsBatch(site))).batchItemFailures).toEqual([]);
    const byType = new Map([...store.incidents.values()].map((i) => [i.type, i]));
    expect(byType.get('site-failure')).toMatchObject({ severity: 'SEV-1' });
    expect(starts().map((s) => s.stateMachineArn)).toEqual([ARN('escalation'), ARN('dr-failover')]);
  });
});
