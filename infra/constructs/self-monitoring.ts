// Self-monitoring: the healer's own failures alarm straight to the operators' critical topic,
// never through the healer (a broken healer cannot be trusted to report itself).
//
// Alarm names start with `KafkaHeal-<deployment>-healer-`: the EventBridge ingestion rule
// matches the lowercase `kafka-heal-<deployment>.` prefix of the cluster alarms (prefix matching
// is case-sensitive), so these alarms can never loop back into the healer.
import { Duration } from 'aws-cdk-lib';
import {
  Alarm,
  ComparisonOperator,
  MathExpression,
  Metric,
  TreatMissingData,
  type IAlarm,
  type IMetric,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { RestApi } from 'aws-cdk-lib/aws-apigateway';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import type { StateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { serviceDimension } from './dashboard.js';
import { metricsNamespace } from '#domain/metrics-namespace.js';
import type { HealerFunction } from './healer-function.js';

export function selfAlarmPrefix(deployment: string): string {
  return `KafkaHeal-${deployment}-healer-`;
}

export interface SelfMonitoringProps {
  deployment: string;
  topic: ITopic;
}

export class SelfMonitoring extends Construct {
  readonly alarms: Alarm[] = [];
  private readonly action: SnsAction;
  private readonly prefix: string;

  constructor(
    scope: Construct,
    id: string,
    private readonly props: SelfMonitoringProps,
  ) {
    super(scope, id);
    this.action = new SnsAction(props.topic);
    this.prefix = selfAlarmPrefix(props.deployment);
  }

  /** Fires when `metric` is above 0 in any one-minute period. */
  private aboveZero(id: string, name: string, metric: IMetric, description: string): Alarm {
    const alarm = new Alarm(this, id, {
      alarmName: `${this.prefix}${name}`,
      alarmDescription: `kafka-heal ${this.props.deployment} self-monitoring: ${description}`,
      metric,
      threshold: 0,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      datapointsToAlarm: 1,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
    alarm.addAlarmAction(this.action);
    alarm.addOkAction(this.action);
    this.alarms.push(alarm);
    return alarm;
  }

  /**
   * Errors > 0 of a healer function. Throttles get no alarm of their own ($0.10 a month each, one
   * per function): a throttle that matters already shows as another alarm here. Queue-fed
   * functions leave the message on the queue and retry it until it lands in a watched DLQ;
   * workflow steps retry Lambda.TooManyRequestsException and then fail or escalate the execution
   * (ExecutionsFailed); a throttled scheduled probe misses its heartbeat; a throttled webhook or
   * approval endpoint answers 5xx. The classifier's concurrency cap throttles it by design in a
   * storm, so an alarm on its throttles would page for the healer working as intended.
   */
  watchFunction(f: HealerFunction, label: string): this {
    this.aboveZero(
      `${label}Errors`,
      `${label}-errors`,
      f.fn.metricErrors({ period: Duration.minutes(1), statistic: 'Sum' }),
      `the ${label} function failed (Lambda Errors > 0)`,
    );
    return this;
  }

  /** ExecutionsFailed > 0 and ExecutionsTimedOut > 0 of a workflow. */
  watchStateMachine(sm: StateMachine, label: string): this {
    const period = Duration.minutes(1);
    this.aboveZero(
      `${label}Failed`,
      `${label}-executions-failed`,
      sm.metricFailed({ period, statistic: 'Sum' }),
      `an execution of ${label} failed`,
    );
    this.aboveZero(
      `${label}TimedOut`,
      `${label}-executions-timed-out`,
      sm.metricTimedOut({ period, statistic: 'Sum' }),
      `an execution of ${label} timed out`,
    );
    return this;
  }

  /** A dead-letter queue holds a message: something was not processed and needs a human. */
  watchDeadLetterQueue(q: IQueue, label: string): this {
    this.aboveZero(
      `${label}Depth`,
      `${label}-not-empty`,
      q.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1), statistic: 'Maximum' }),
      `dead-letter queue ${label} holds messages that were not processed`,
    );
    return this;
  }

  /** The webhook API answered with a 5xx (Alertmanager will retry, but something is broken). */
  watchApi(api: RestApi, label: string): this {
    this.aboveZero(
      `${label}ServerErrors`,
      `${label}-5xx`,
      api.metricServerError({ period: Duration.minutes(1), statistic: 'Sum' }),
      `the ${label} API answered 5xx`,
    );
    return this;
  }

  /**
   * Input the healer could not use and kept raw in the incident table (RAW# items): a webhook body
   * or queued event that is not a known alert shape (RejectedEvents of the ingest functions), or a
   * signal that names no cluster (RejectedSignals of classify). Nothing retries it and nothing
   * pages for it otherwise, so an alert rule that lost its cluster label would go unheard.
   */
  watchRejectedInput(sources: { functionName: string; metricName: string }[]): this {
    const period = Duration.minutes(1);
    const metrics = Object.fromEntries(
      sources.map((s, i) => [
        `r${i}`,
        new Metric({
          namespace: metricsNamespace(this.props.deployment),
          metricName: s.metricName,
          dimensionsMap: serviceDimension(s.functionName),
          statistic: 'Sum',
          period,
        }),
      ]),
    );
    const expression = new MathExpression({
      expression: Object.keys(metrics)
        .map((k) => `FILL(${k}, 0)`)
        .join(' + '),
      usingMetrics: metrics,
      period,
      label: 'rejected input',
    });
    this.aboveZero(
      'RejectedInput',
      'rejected-input',
      expression,
      `input was rejected and kept raw in the incident table (${sources.map((s) => `${s.functionName} ${s.metricName}`).join(', ')}): read it with the RAW# items and fix its sender`,
    );
    return this;
  }

  /** Route an alarm made elsewhere (e.g. the probe heartbeat) to the operators too. */
  notify(alarm: IAlarm): this {
    if (alarm instanceof Alarm) {
      alarm.addAlarmAction(this.action);
      alarm.addOkAction(this.action);
    }
    return this;
  }
}
