// escalation-notify.asl.json executed on aws-local-stepfunctions (the project's local runtime),
// with an sns:publish binding that records every publish and can refuse by topic.
import { describe, expect, it } from 'vitest';
import { ESCALATION_NOTIFY_ASL, escalationNotifySubstitutions } from '#infra/constructs/workflows.js';
import { RESOURCES, TaskError, loadDefinition, runWorkflow, type Json } from '#local/stepfunctions/index.js';

const CRITICAL = 'arn:aws:sns:eu-west-1:123456789012:kafka-heal-prod-eu-critical';
const WARNING = 'arn:aws:sns:eu-west-1:123456789012:kafka-heal-prod-eu-warning';
const definition = loadDefinition(
  ESCALATION_NOTIFY_ASL,
  escalationNotifySubstitutions({ criticalTopicArn: CRITICAL, warningTopicArn: WARNING }),
);

interface Publish {
  TopicArn: string;
  Subject: string;
  Message: string;
  MessageAttributes: Record<string, { DataType: string; StringValue: string }>;
}

/** Each topic answers from its script (an error name, or 'ok'); 'ok' once the script runs out. */
function sns(script: Record<string, string[]> = {}) {
  const calls: Publish[] = [];
  const binding = (input: Json): Json => {
    const p = input as unknown as Publish;
    calls.push(p);
    const next = script[p.TopicArn]?.shift() ?? 'ok';
    if (next !== 'ok') throw new TaskError(next, `${next} from ${p.TopicArn}`);
    return { MessageId: `msg-${calls.length}` };
  };
  return { calls, bindings: { [RESOURCES.snsPublish]: binding } };
}

const incident = (severity: string): Json => ({
  incidentId: 'inc-orders-broker-failure-1',
  cluster: 'orders',
  severity,
  incidentType: 'broker-failure',
  summary: 'broker 2 unreachable',
  reasons: ['1 broker down: standard recovery'],
});

async function run(input: Json, script?: Record<string, string[]>) {
  const s = sns(script);
  const result = await runWorkflow({ definition, input, bindings: s.bindings, timeScale: 0.001 });
  return { result, calls: s.calls };
}

describe('escalation-notify on the local runtime', () => {
  it.each(['SEV-1', 'SEV-2'])(
    '%s goes to the critical topic, once, with subject, attributes and the incident as the message',
    async (severity) => {
      const { result, calls } = await run(incident(severity));
      expect(result.status).toBe('SUCCEEDED');
      expect(calls).toHaveLength(1);
      expect(calls[0]).toMatchObject({
        TopicArn: CRITICAL,
        Subject: `[kafka-heal] ${severity} broker-failure on orders`,
        MessageAttributes: {
          severity: { DataType: 'String', StringValue: severity },
          incidentId: { DataType: 'String', StringValue: 'inc-orders-broker-failure-1' },
        },
      });
      expect(JSON.parse(calls[0]?.Message ?? '{}')).toEqual(incident(severity));
      if (result.status === 'SUCCEEDED')
        expect((result.output as { notification: Json }).notification).toEqual({
          messageId: 'msg-1',
          topic: 'critical',
        });
    },
  );

  it.each(['SEV-3', 'SEV-4', 'SEV-9'])('%s goes to the warning topic', async (severity) => {
    const { result, calls } = await run(incident(severity));
    expect(result.status).toBe('SUCCEEDED');
    expect(calls.map((c) => c.TopicArn)).toEqual([WARNING]);
  });

  it('retries a throttled publish and succeeds without falling back', async () => {
    const { result, calls } = await run(incident('SEV-1'), {
      [CRITICAL]: ['SNS.ThrottledException', 'SNS.ThrottledException'],
    });
    expect(result.status).toBe('SUCCEEDED');
    expect(calls.map((c) => c.TopicArn)).toEqual([CRITICAL, CRITICAL, CRITICAL]);
  });

  it('falls back to the warning topic when the critical topic keeps refusing, then fails so the alarm fires', async () => {
    const { result, calls } = await run(incident('SEV-1'), {
      [CRITICAL]: ['SNS.NotFoundException', 'SNS.NotFoundException', 'SNS.NotFoundException'],
    });
    // One try and two retries (States.ALL retrier) on critical, then the fallback.
    expect(calls.map((c) => c.TopicArn)).toEqual([CRITICAL, CRITICAL, CRITICAL, WARNING]);
    expect(calls[3]?.Subject).toBe('[kafka-heal] SEV-1 broker-failure on orders (fallback)');
    expect(result).toMatchObject({ status: 'FAILED', error: 'CriticalTopicUnreachable' });
  });

  it('fails with NotificationUndelivered when no topic takes the message', async () => {
    const { result } = await run(incident('SEV-3'), {
      [WARNING]: [
        'SNS.AuthorizationErrorException',
        'SNS.AuthorizationErrorException',
        'SNS.AuthorizationErrorException',
      ],
    });
    expect(result).toMatchObject({ status: 'FAILED', error: 'NotificationUndelivered' });
  });

  it('rejects input without a severity or incident id, publishing nothing', async () => {
    const inputs: Json[] = [
      { incidentId: 'x', cluster: 'orders', incidentType: 'broker-failure' },
      { severity: 'SEV-1', cluster: 'orders', incidentType: 'broker-failure' },
    ];
    for (const input of inputs) {
      const { result, calls } = await run(input);
      expect(result).toMatchObject({ status: 'FAILED', error: 'MalformedEventError' });
      expect(calls).toHaveLength(0);
    }
  });
});
