// consumer-lag against a REAL 3-node KRaft cluster: the ASL on the local runtime, the real step
// handlers and the real probe reading the group's committed and end offsets. A group stopped
// far behind is judged ERR (STOP), the owning team's topic gets the evidence, and "the team"
// (a real kafkajs consumer started when the notice arrives) catches up, so the re-evaluation
// finds the group recovered and the incident resolves. Only the incident store is in memory and
// SNS is an outbox (the workflow steps Lambda's act-on-lag publishes to it). One cluster for the file. Figures are printed with a "[lag-figures]" prefix.
import { readFileSync } from 'node:fs';
import { Kafka, logLevel, type Consumer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClusterStepsEventSchema, makeClusterStepsHandler } from '#functions/cluster-steps/handler.js';
import { probeCluster } from '#shared/probe/index.js';
import type { LagActionClients } from '#functions/workflow-steps/consumer-lag.js';
import { WorkflowStepSchema, makeWorkflowStepsHandler } from '#functions/workflow-steps/handler.js';
import { aslFile } from '#infra/constructs/workflows.js';
import { lambdaClientDouble, snsClientDouble } from '#local/drill/aws-doubles.js';
import { startCluster, type LocalCluster } from '#local/kafka/cluster.js';
import {
  RESOURCES,
  TaskError,
  lambdaInvokeBinding,
  parseDefinition,
  recordCalls,
  runWorkflow,
  startExecutionSyncBinding,
  type Json,
} from '#local/stepfunctions/index.js';
import { MemoryStore } from '../statemachines/recovery-fixtures.js';
import { storePieces } from '../support/store-pieces.js';

const NAME = 'it-consumer-lag';
const STEPS = 'arn:aws:lambda:eu-west-1:123456789012:function:kafka-heal-it-workflow-steps';
const CLUSTER_STEPS = 'arn:aws:lambda:eu-west-1:123456789012:function:kafka-heal-it-cluster-steps';
const ESCALATION = 'arn:aws:states:eu-west-1:123456789012:stateMachine:kafka-heal-it-escalation';
const TEAM_TOPIC = 'arn:aws:sns:eu-west-1:123456789012:payments-team';
const GROUP = 'payments-app';
const MESSAGES = 3000;

let cluster: LocalCluster;
let kafka: Kafka;
let consumer: Consumer | undefined;
/** Records in the topic: MESSAGES, or more when a retried send on a loaded machine wrote a batch twice. */
let backlog = 0;

beforeAll(async () => {
  cluster = await startCluster({ name: NAME, log: () => undefined });
  kafka = new Kafka({ clientId: NAME, brokers: cluster.bootstrapServers.split(','), logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  // Leaders are awaited through the cluster's own readiness check (kafkajs' waitForLeaders can see
  // UNKNOWN_TOPIC_OR_PARTITION from a broker that has not caught up with the new topic yet).
  await admin.createTopics({
    waitForLeaders: false,
    topics: [{ topic: 'payments', numPartitions: 3, replicationFactor: 3 }],
  });
  await cluster.waitHealthy(120_000);
  const producer = kafka.producer();
  await producer.connect();
  for (let i = 0; i < MESSAGES; i += 500) {
    await producer.send({
      topic: 'payments',
      acks: -1,
      messages: Array.from({ length: 500 }, (_, j) => ({ key: String(i + j), value: `payment-${i + j}` })),
    });
  }
  await producer.disconnect();
  backlog = (await admin.fetchTopicOffsets('payments')).reduce((sum, p) => sum + Number(p.high) - Number(p.low), 0);
  expect(backlog).toBeGreaterThanOrEqual(MESSAGES);
  // The group committed nothing past the start and has no member: it stopped, far behind.
  await admin.setOffsets({
    groupId: GROUP,
    topic: 'payments',
    partitions: [0, 1, 2].map((partition) => ({ partition, offset: '0' })),
  });
  await admin.disconnect();
  await cluster.waitHealthy(120_000);
}, 300_000);

afterAll(async () => {
  await consumer?.disconnect().catch(() => undefined);
  await cluster?.stop();
}, 120_000);

describe('consumer-lag against real Kafka', () => {
  it('a stopped group is judged ERR, the owning team is notified with the evidence, the group catches up and the incident resolves', async () => {
    const servers = cluster.bootstrapServers.split(',');
    const store = new MemoryStore('inc-it-lag', NAME, true);
    const notices: { TopicArn: string; Message: string }[] = [];
    let caughtUpAt = 0;
    // The owning team reacts to the notice: consumers start and drain the backlog.
    const teamReacts = async () => {
      consumer = kafka.consumer({ groupId: GROUP, sessionTimeout: 10_000, heartbeatInterval: 1000 });
      await consumer.connect();
      await consumer.subscribe({ topic: 'payments', fromBeginning: true });
      let seen = 0;
      await consumer.run({
        eachMessage: async () => {
          if (++seen === backlog) caughtUpAt = Date.now();
        },
      });
    };
    const publish = (msg: Json): Json => {
      notices.push(msg as { TopicArn: string; Message: string });
      void teamReacts();
      return { MessageId: `m-${notices.length}` };
    };
    const workflowSteps = makeWorkflowStepsHandler({
      ...storePieces(store),
      targets: () => [
        {
          cluster: NAME,
          platform: 'ec2',
          clusterStepsFunction: CLUSTER_STEPS,
          consumerGroups: [{ name: GROUP, ownerTeam: 'payments', ownerTopicArn: TEAM_TOPIC, maxOffsetLag: 100 }],
        },
      ],
      now: () => new Date(),
      diskCriticalPercent: 90,
      // act-on-lag tells the team through SNS (the outbox above); the group has no scale hook.
      lagClients: {
        sns: snsClientDouble(publish) as LagActionClients['sns'],
        lambda: lambdaClientDouble({}) as LagActionClients['lambda'],
      },
    });
    const clusterSteps = makeClusterStepsHandler({
      clusters: () => [{ name: NAME, bootstrapServers: servers, brokerCount: 3 }],
      probe: probeCluster,
      timeoutMs: 5000,
    });
    const { registry, calls } = recordCalls({
      [RESOURCES.lambdaInvoke]: lambdaInvokeBinding({
        [STEPS]: (p: Json) => workflowSteps(WorkflowStepSchema.parse(p)),
        [CLUSTER_STEPS]: (p: Json) =>
          clusterSteps(ClusterStepsEventSchema.parse(p) as Parameters<typeof clusterSteps>[0]),
      }),
      [RESOURCES.startExecutionSync2]: startExecutionSyncBinding({
        [ESCALATION]: () => {
          throw new TaskError('UnexpectedEscalation', 'the lag recovered: nothing to escalate');
        },
      }),
    });
    const definition = parseDefinition(readFileSync(aslFile('consumer-lag'), 'utf8'), {
      WorkflowStepsFunctionArn: STEPS,
      EscalationStateMachineArn: ESCALATION,
    });
    const progress: string[] = [];
    const started = Date.now();
    const result = await runWorkflow({
      definition,
      input: {
        incidentId: 'inc-it-lag',
        cluster: NAME,
        brokerIds: [],
        dryRun: false,
        severity: 'SEV-3',
        incidentType: 'consumer-lag',
        signal: { consumerGroup: GROUP },
      },
      bindings: registry,
      // Samples 3 s apart; re-evaluation every 5 s (the consumers need a few seconds to join and drain).
      timeScale: 0.1,
      retryOverrides: { 'Check Lag Recovered': [5000, -1] },
      onEvent: (e) => {
        if (e.type === 'StateEntered' && e.stateName)
          progress.push(`${((e.timestamp - started) / 1000).toFixed(1)}s ${e.stateName}`);
      },
    });
    const rechecks = calls.filter((c) => c.stateName === 'Check Lag Recovered').length;
    console.log(
      `[lag-figures] workflow ${Date.now() - started} ms; backlog ${backlog} records for ${MESSAGES} sent; team notified after ${progress.find((p) => p.endsWith('Act On Lag'))?.split('s ')[0]} s; backlog drained ${caughtUpAt ? caughtUpAt - started : -1} ms after start; re-evaluations ${rechecks}`,
    );
    console.log(`[lag-figures] states: ${progress.join(' | ')}`);
    expect(result.status, JSON.stringify(result)).toBe('SUCCEEDED');
    expect(progress.at(-1), progress.join('\n')).toMatch(/Lag Recovered$/);
    const evaluated = store.timeline.find((e) => e.action === 'lag-evaluated');
    expect(evaluated?.result).toBe('ERR');
    expect(evaluated?.detail).toMatch(
      new RegExp(
        `group ${GROUP} ERR \\(SEV-4\\): total lag ${backlog} \\(limit 100\\) over 3 partition\\(s\\) \\[3 STOP\\], 0 member\\(s\\), 2 sample\\(s\\)`,
      ),
    );
    expect(notices).toHaveLength(1);
    expect(notices[0]?.TopicArn).toBe(TEAM_TOPIC);
    expect(JSON.parse(notices[0]?.Message ?? '{}')).toMatchObject({
      group: GROUP,
      status: 'ERR',
      totalLag: backlog,
      evidence: expect.arrayContaining([expect.stringMatching(/^payments-\d: lag \d+, STOP/)]),
    });
    expect(store.status).toBe('resolved');
    expect(store.timeline.find((e) => e.action === 'status-changed')?.detail).toMatch(
      new RegExp(`group ${GROUP} recovered`),
    );
  }, 240_000);
});
