// The drill's stand-in for what watches a ZooKeeper ensemble in production. Self-managed clusters
// have no CloudWatch metric for ZooKeeper; operators run a ZooKeeper exporter next to Prometheus,
// a rule on the ensemble's state, and Alertmanager's webhook into the healer's webhook API
// (docs/operations.md: Alertmanager `ZookeeperQuorumLost` -> quorum-loss). Locally:
//
//   exporter     each server's own answer to `srvr` (functions/shared/zookeeper.ts), every scrape
//   rule         ZookeeperQuorumLost: no leader with a strict majority of the voters serving
//                (ensembleQuorum), `for: 1m`; one local period stands for the minute, like the
//                CloudWatch alarms' periods in a drill
//   Alertmanager a version-4 webhook payload (firing, then resolved) on each state change, which the
//                healer puts on the ingest queue as the webhook API does in AWS
//
// Pure apart from the payload's clock: the caller scrapes and passes the observation in.
import { ensembleQuorum, type EnsembleObservation } from '#domain/quorum-recovery.js';

export const ZK_QUORUM_ALERT = 'ZookeeperQuorumLost';

export type RuleState = 'inactive' | 'pending' | 'firing';

export interface AlertmanagerPayload {
  version: '4';
  groupKey: string;
  status: 'firing' | 'resolved';
  receiver: string;
  groupLabels: Record<string, string>;
  commonLabels: Record<string, string>;
  commonAnnotations: Record<string, string>;
  externalURL: string;
  alerts: {
    status: 'firing' | 'resolved';
    labels: Record<string, string>;
    annotations: Record<string, string>;
    startsAt: string;
    endsAt: string;
    generatorURL: string;
    fingerprint: string;
  }[];
}

/** One alert as Alertmanager's version-4 webhook sends it, in a group of its own. */
export function alertmanagerWebhook(a: {
  status: 'firing' | 'resolved';
  groupLabels: Record<string, string>;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: number;
  /** Set once resolved. */
  endsAt?: number;
  generatorURL: string;
  fingerprint: string;
}): AlertmanagerPayload {
  return {
    version: '4',
    groupKey: `{}:{${Object.entries(a.groupLabels)
      .map(([k, v]) => `${k}="${v}"`)
      .join(', ')}}`,
    status: a.status,
    receiver: 'kafka-heal',
    groupLabels: a.groupLabels,
    commonLabels: a.labels,
    commonAnnotations: a.annotations,
    externalURL: 'http://127.0.0.1/alertmanager',
    alerts: [
      {
        status: a.status,
        labels: a.labels,
        annotations: a.annotations,
        startsAt: new Date(a.startsAt).toISOString(),
        endsAt: a.endsAt === undefined ? '0001-01-01T00:00:00Z' : new Date(a.endsAt).toISOString(),
        generatorURL: a.generatorURL,
        fingerprint: a.fingerprint,
      },
    ],
  };
}

export interface ZkRuleTransition {
  at: number;
  from: RuleState;
  to: RuleState;
  summary: string;
  /** Set when Alertmanager notifies (firing, resolved); pending is not notified. */
  payload?: AlertmanagerPayload;
}

export class ZookeeperQuorumRule {
  private state: RuleState = 'inactive';
  private since = 0;
  private firedAt = 0;
  private fired = 0;

  constructor(
    private readonly cluster: string,
    /** Prometheus' `for`: how long the condition must hold before the alert fires. */
    private readonly forMs: number,
  ) {}

  get current(): RuleState {
    return this.state;
  }

  /** One rule evaluation over one scrape of every server. */
  evaluate(at: number, observed: EnsembleObservation): ZkRuleTransition | undefined {
    const q = ensembleQuorum(observed);
    const from = this.state;
    if (!q.hasQuorum) {
      if (from === 'inactive') {
        this.state = 'pending';
        this.since = at;
      }
      if (this.state === 'pending' && at - this.since >= this.forMs) {
        this.state = 'firing';
        this.firedAt = at;
        this.fired++;
        return { at, from, to: 'firing', summary: q.summary, payload: this.payload('firing', at, q.summary, observed) };
      }
      return from === this.state ? undefined : { at, from, to: this.state, summary: q.summary };
    }
    this.state = 'inactive';
    if (from === 'firing')
      return {
        at,
        from,
        to: 'inactive',
        summary: q.summary,
        payload: this.payload('resolved', at, q.summary, observed),
      };
    return from === 'pending' ? { at, from, to: 'inactive', summary: q.summary } : undefined;
  }

  private payload(
    status: 'firing' | 'resolved',
    at: number,
    summary: string,
    observed: EnsembleObservation,
  ): AlertmanagerPayload {
    const labels = { alertname: ZK_QUORUM_ALERT, cluster: this.cluster, severity: 'critical', job: 'zookeeper' };
    const voters = observed.servers.filter((s) => s.mode !== 'observer');
    const serving = voters.filter((s) => s.mode !== 'not-serving' && s.mode !== 'unreachable').length;
    const annotations = {
      summary: `ZooKeeper ensemble of ${this.cluster}: ${summary}`,
      description:
        'No ZooKeeper leader with a majority of the voters serving: brokers cannot register, elect a controller or change any ISR.',
      value: String(serving),
      threshold: String(Math.floor(voters.length / 2) + 1),
    };
    return alertmanagerWebhook({
      status,
      groupLabels: { alertname: ZK_QUORUM_ALERT, cluster: this.cluster },
      labels,
      annotations,
      startsAt: this.firedAt,
      ...(status === 'resolved' ? { endsAt: at } : {}),
      generatorURL: 'http://127.0.0.1/prometheus/graph?g0.expr=zookeeper_quorum_serving',
      // One alert per firing episode: a later loss of quorum is a new alert.
      fingerprint: `zk-quorum-${this.cluster}-${this.fired}`,
    });
  }
}
