// Drill scenario files: YAML describing one drill (cluster shape, workload, fault schedule,
// runtime policy, approvals, expectations), validated with zod so a typo fails before any JVM
// starts, with the field path and the bad value in the message.
//
// A scenario is named (drills/scenarios/<name>.yaml) or given by path (anywhere on disk).
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { FAULT_ACTIONS, ZK_FAULT_ACTIONS } from '../kafka/cluster.js';
import { PolicyError, parsePolicy } from '#domain/policy.js';
import { INCIDENT_TYPES, WORKFLOWS } from '#domain/types.js';

/** Where the built-in scenarios live. */
export const SCENARIO_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'drills', 'scenarios');

const SEVERITIES = ['SEV-1', 'SEV-2', 'SEV-3', 'SEV-4'] as const;
const STATUSES = ['open', 'remediating', 'awaiting-approval', 'resolved', 'escalated', 'suppressed'] as const;
const kebab = z.string().regex(/^[a-z][a-z0-9-]{0,63}$/, 'expected a kebab-case name');
const topicName = z.string().regex(/^[A-Za-z0-9._-]{1,100}$/, 'expected a Kafka topic name');
const seconds = (max: number) => z.number().min(0).max(max);

/** Alarm kinds a fault can fire on purpose (a stale or spurious alarm, the cluster healthy). */
export const INJECTABLE_ALARMS = [
  'broker-down',
  'offline-partitions',
  'under-min-isr',
  'disk-critical',
  'consumer-lag',
] as const;

const brokerFault = z.strictObject({
  at: seconds(3600),
  action: z.enum(FAULT_ACTIONS),
  broker: z.number().int().min(1),
  /** fill-disk: how full (percent). */
  percent: z.number().min(1).max(100).optional(),
});
const zkFault = z.strictObject({
  at: seconds(3600),
  action: z.enum(ZK_FAULT_ACTIONS.map((a) => `zk-${a}`) as [string, ...string[]]),
  zookeeper: z.number().int().min(1),
});
const alarmFault = z.strictObject({
  at: seconds(3600),
  /** Puts the named alarm into ALARM once, whatever the probe says (a stale or spurious alarm). */
  action: z.literal('fire-alarm'),
  alarm: z.enum(INJECTABLE_ALARMS),
  broker: z.number().int().min(1).optional(),
});
const workloadFault = z.strictObject({
  at: seconds(3600),
  /** Stops (pauses) or resumes the drill's consumer group: lag builds while it is paused. */
  action: z.enum(['pause-consumer', 'resume-consumer']),
});

/** Alerts a fault can send through Alertmanager's webhook path on purpose (a stale, mistaken or forged alert). */
export const INJECTABLE_ALERTS = ['site-down'] as const;

const alertFault = z.strictObject({
  at: seconds(3600),
  /**
   * One firing Alertmanager webhook alert for the primary (labels alertname, cluster,
   * kafka_heal_kind), into ingest as the webhook API delivers it, whatever the cluster's state.
   */
  action: z.literal('send-alert'),
  alert: z.enum(INJECTABLE_ALERTS),
});

const credentialFault = z.strictObject({
  at: seconds(3600),
  /** The SCRAM password is changed on the brokers (kafka-configs) and not in Secrets Manager: the healer's probe is refused. */
  action: z.literal('rotate-scram-password'),
});

const siteFault = z.strictObject({
  at: seconds(3600),
  /** Every broker of the primary cluster SIGKILLed at once: the site is gone (needs a `dr` section). */
  action: z.literal('site-down'),
});

export const FaultSchema = z.union([
  brokerFault,
  zkFault,
  alarmFault,
  alertFault,
  workloadFault,
  siteFault,
  credentialFault,
]);

export const ScenarioSchema = z.strictObject({
  name: kebab,
  description: z.string().min(1).max(2000),
  cluster: z
    .strictObject({
      brokers: z.number().int().min(3).max(5).default(3),
      mode: z.enum(['kraft', 'zookeeper']).default('kraft'),
      /**
       * How the healer's configuration deploys the cluster: `msk` presents the local cluster as an
       * Amazon MSK cluster (config platform msk, an MSK cluster ARN, brokers 1..n are the local
       * brokers): the MSK alarm set, msk-broker-recovery, and MSK's control plane served by the
       * local MSK double, whose RebootBroker restarts the local broker. KRaft, unsecured, no DR.
       */
      platform: z.enum(['ec2', 'msk']).default('ec2'),
      /** platform msk: the double refuses every RebootBroker with this BadRequestException message. */
      mskRefusesReboot: z.string().min(1).max(500).optional(),
      /**
       * A secured listener the healer (probe, cluster steps, the CLI runbook) uses, beside the
       * PLAINTEXT one the drill's traffic uses (local/kafka/cluster.ts): its credentials live in the
       * drill's Secrets Manager double. KRaft mode only.
       */
      security: z
        .strictObject({
          protocol: z.enum(['SSL', 'SASL_SSL', 'SASL_PLAINTEXT']),
          mechanism: z.enum(['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512', 'OAUTHBEARER']).optional(),
          clientAuth: z.boolean().optional(),
        })
        .optional(),
    })
    .prefault({}),
  topics: z
    .array(
      z.strictObject({
        name: topicName,
        partitions: z.number().int().min(1).max(64).default(6),
        replicationFactor: z.number().int().min(1).max(5).default(3),
        /** Pins every partition's replicas to these brokers (e.g. [2] for a fragile single-replica topic). */
        replicas: z.array(z.number().int().min(1)).min(1).optional(),
      }),
    )
    .default([]),
  workload: z
    .strictObject({
      topic: topicName.default('drill-orders'),
      partitions: z.number().int().min(1).max(64).default(6),
      /** Messages per second, produced with acks=all. */
      ratePerSecond: z.number().int().min(1).max(5000).default(50),
      consumerGroup: kebab.default('drill-readers'),
      /** Seconds of traffic before the first fault. */
      warmupSeconds: seconds(600).default(3),
      /**
       * kafkajs's idempotent producer. Off by default: in three broker-crash drills with it on,
       * one acknowledged message per crash was missing from the log (re-read from the beginning);
       * with it off, none (retries may duplicate, which the distinct count absorbs). The loss
       * looks like kafkajs 2.2.4's idempotent retry across a leader change, not the healer's.
       */
      idempotent: z.boolean().default(false),
      /** The consumer group is watched by a consumer-lag alarm with this threshold (messages). */
      maxOffsetLag: z.number().int().min(1).default(100_000),
    })
    .prefault({}),
  /** Runtime policy (as kept in SSM Parameter Store); unset fields take the policy defaults. */
  policy: z.record(z.string(), z.unknown()).default({ mode: 'auto' }),
  alarms: z
    .strictObject({
      /** Each 60 s CloudWatch period is evaluated over this many seconds locally (300 s scale alike). */
      periodSeconds: z.number().min(0.5).max(60).default(2),
      /**
       * Alarms that watch 10+ minutes (under-replication) ignore restart blips; locally their
       * window is at least this long, since a broker restart still takes real seconds.
       */
      sustainedWindowSeconds: z.number().min(0).max(3600).default(120),
      /** How often the probe runs (the probe Lambda's schedule, shortened). */
      probeIntervalSeconds: z.number().min(0.2).max(60).default(0.5),
    })
    .prefault({}),
  faults: z.array(FaultSchema).min(1),
  approvals: z
    .strictObject({
      decision: z.enum(['approve', 'reject', 'never']).default('approve'),
      afterSeconds: seconds(3600).default(3),
    })
    .prefault({}),
  /**
   * The local PagerDuty's on-call person: every new PagerDuty incident is acknowledged this long
   * after its page, and PagerDuty's signed webhook (v3 incident.acknowledged) reaches the healer.
   * Without it nobody acknowledges. The ladder's windows are 1/1200 of the real ones (SEV-2's
   * 30 min to acknowledge is 1.5 s): acknowledge sooner to stop it before the next level.
   */
  pagerDuty: z
    .strictObject({
      acknowledgeAfterSeconds: seconds(3600),
      responder: z.string().min(1).max(60).default('on-call engineer'),
    })
    .optional(),
  /**
   * A DR pair (local/dr-site.ts): a second 3-node KRaft cluster, MirrorMaker 2 from the primary,
   * and a local Route 53 zone whose bootstrap record (`kafka.drill.local`) the workload's clients
   * resolve. The healer's config pairs the two clusters, so the site-down alarm exists and the
   * classifier can start dr-failover.
   */
  dr: z
    .strictObject({
      /** The config's dr.automaticFailover: false means dr-failover waits for the scenario's approval. */
      automaticFailover: z.boolean().default(false),
      /** The config's dr.maxReplicationLagSeconds: dr-failover's prerequisite on the replicated heartbeats. */
      maxReplicationLagSeconds: z.number().positive().max(3600).default(60),
      /** The bootstrap record's TTL (clients' resolvers cache it that long). */
      recordTtlSeconds: z.number().int().min(1).max(300).default(1),
      /** How long a Route 53 change stays PENDING before INSYNC locally. */
      propagationSeconds: z.number().min(0).max(120).default(2),
    })
    .optional(),
  /**
   * Real Prometheus and Alertmanager (local/monitoring): the brokers run the JMX exporter java agent
   * and the ZooKeeper servers their own metrics provider; Prometheus evaluates the shipped rules
   * (monitoring/prometheus/rules, each `for:` scaled like the alarm periods) and Alertmanager posts
   * to the healer's webhook with the bearer token. It replaces the ZooKeeper stand-in.
   */
  prometheus: z
    .strictObject({
      /** Keep the probe's CloudWatch-style alarms too (an EC2 deployment has both); false: Prometheus alone detects. */
      cloudwatchAlarms: z.boolean().default(true),
    })
    .optional(),
  /** The same fault healed by an immediate manual restart, measured after the drill (MTTR ratio). */
  oracle: z.boolean().default(true),
  timeoutSeconds: z.number().int().min(10).max(3600).default(300),
  expect: z.strictObject({
    /** Which incident the incident expectations and MTTD/MTTR refer to when several open. */
    incident: z.enum(['first', 'last']).default('first'),
    incidentType: z.enum(INCIDENT_TYPES).optional(),
    severity: z.enum(SEVERITIES).optional(),
    workflow: z.enum(WORKFLOWS).optional(),
    /** Final status of the (first) incident. */
    status: z.enum(STATUSES).optional(),
    /** No incident opens at all (the alarm never fired, or the classifier ignored it). */
    noIncident: z.boolean().optional(),
    /** Incident types that must not open during the drill (e.g. offline-partitions for a single crash). */
    incidentTypesNotOpened: z.array(z.enum(INCIDENT_TYPES)).optional(),
    actionsTaken: z.array(kebab).default([]),
    actionsNotTaken: z.array(kebab).default([]),
    maxMttrSeconds: z.number().positive().optional(),
    /**
     * The incident was acknowledged through PagerDuty (needs `pagerDuty`), its MTTA is in the
     * report, and its ladder stopped: no page after the acknowledgement.
     */
    acknowledged: z.boolean().optional(),
    /** This many incidents were resolved by the auto-resolver (recovered without the healer). */
    autoResolved: z.number().int().min(0).optional(),
    /** MTTR at most this many times the oracle. */
    maxMttrRatio: z.number().positive().optional(),
    noDataLoss: z.boolean().default(true),
    /** Site failure: the replication lag at failure (RPO, from the replicated heartbeats) at most this. */
    maxRpoSeconds: z.number().positive().optional(),
    /** Site failure: fault to the bootstrap record INSYNC on DR and the canary proven through it. */
    maxRtoSeconds: z.number().positive().optional(),
    /**
     * Site failure: every acknowledged message missing on DR was written inside the RPO window
     * before the failure (the data loss is the replication lag's, nothing older).
     */
    lossWithinRpo: z.boolean().optional(),
    finalHealth: z.enum(['healthy', 'any']).default('healthy'),
  }),
});

export type Scenario = z.output<typeof ScenarioSchema>;
export type ScenarioInput = z.input<typeof ScenarioSchema>;
export type Fault = z.output<typeof FaultSchema>;
export type BrokerFault = z.output<typeof brokerFault>;
export type ZkFault = z.output<typeof zkFault>;
export type AlarmFault = z.output<typeof alarmFault>;

const BROKER_ACTIONS = new Set<string>(FAULT_ACTIONS);
export const isBrokerFault = (f: Fault): f is BrokerFault => BROKER_ACTIONS.has(f.action);
export const isZkFault = (f: Fault): f is ZkFault => 'zookeeper' in f;
export const isAlarmFault = (f: Fault): f is AlarmFault => f.action === 'fire-alarm';
export const isSiteFault = (f: Fault): f is z.output<typeof siteFault> => f.action === 'site-down';
export const isAlertFault = (f: Fault): f is z.output<typeof alertFault> => f.action === 'send-alert';
export const isCredentialFault = (f: Fault): f is z.output<typeof credentialFault> =>
  f.action === 'rotate-scram-password';

export class ScenarioError extends Error {
  override readonly name = 'ScenarioError';
  constructor(
    readonly source: string,
    readonly issues: { path: string; message: string; value?: string }[],
  ) {
    super(
      `${source}: invalid drill scenario:\n${issues.map((i) => `  ${i.path}: ${i.message}${i.value === undefined ? '' : ` (got ${i.value})`}`).join('\n')}`,
    );
  }
}

function valueAt(input: unknown, path: PropertyKey[]): unknown {
  let v = input;
  for (const k of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<PropertyKey, unknown>)[k];
  }
  return v;
}

function preview(v: unknown): string | undefined {
  if (v === undefined) return undefined;
  const text = JSON.stringify(v);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

function crossChecks(s: Scenario): { path: string; message: string; value?: string }[] {
  const issues: { path: string; message: string; value?: string }[] = [];
  if (s.expect.acknowledged === true && s.pagerDuty === undefined) {
    issues.push({
      path: 'expect.acknowledged',
      message: 'an acknowledgement needs a pagerDuty section (who acknowledges, and when)',
      value: 'true',
    });
  }
  s.faults.forEach((f, i) => {
    if ('broker' in f && f.broker !== undefined && f.broker > s.cluster.brokers) {
      issues.push({
        path: `faults.${i}.broker`,
        message: `the cluster has brokers 1..${s.cluster.brokers}`,
        value: String(f.broker),
      });
    }
    if (f.action === 'site-down' && s.dr === undefined) {
      issues.push({
        path: `faults.${i}.action`,
        message: 'a site failure needs a dr section (the DR cluster to fail over to)',
        value: JSON.stringify(f.action),
      });
    }
    if (f.action === 'fire-alarm' && s.prometheus?.cloudwatchAlarms === false) {
      issues.push({
        path: `faults.${i}.action`,
        message: 'fire-alarm forces a CloudWatch-style alarm, which prometheus.cloudwatchAlarms false leaves out',
        value: JSON.stringify(f.action),
      });
    }
    if ('alert' in f && f.alert === 'site-down' && s.dr === undefined) {
      issues.push({
        path: `faults.${i}.alert`,
        message: 'a site-down alert starts dr-failover only for a cluster with a dr section',
        value: JSON.stringify(f.alert),
      });
    }
    if ('zookeeper' in f && s.cluster.mode !== 'zookeeper') {
      issues.push({
        path: `faults.${i}.action`,
        message: 'ZooKeeper faults need cluster.mode zookeeper',
        value: JSON.stringify(f.action),
      });
    }
    if (f.action === 'rotate-scram-password' && !/^SCRAM-/.test(s.cluster.security?.mechanism ?? '')) {
      issues.push({
        path: `faults.${i}.action`,
        message: 'a SCRAM password rotation needs cluster.security with a SCRAM mechanism',
        value: JSON.stringify(f.action),
      });
    }
  });
  const sec = s.cluster.security;
  if (sec) {
    const sasl = sec.protocol.startsWith('SASL_');
    if (sasl && sec.mechanism === undefined)
      issues.push({ path: 'cluster.security.mechanism', message: `required with protocol ${sec.protocol}` });
    if (!sasl && sec.mechanism !== undefined)
      issues.push({
        path: 'cluster.security.mechanism',
        message: 'only with a SASL protocol',
        value: JSON.stringify(sec.mechanism),
      });
    if (s.cluster.mode !== 'kraft')
      issues.push({
        path: 'cluster.security',
        message: 'secured local clusters run in KRaft mode',
        value: JSON.stringify(s.cluster.mode),
      });
  }
  s.topics.forEach((t, i) => {
    for (const b of t.replicas ?? [])
      if (b > s.cluster.brokers)
        issues.push({
          path: `topics.${i}.replicas`,
          message: `the cluster has brokers 1..${s.cluster.brokers}`,
          value: String(b),
        });
    if (t.replicationFactor > s.cluster.brokers)
      issues.push({
        path: `topics.${i}.replicationFactor`,
        message: `at most the ${s.cluster.brokers} brokers`,
        value: String(t.replicationFactor),
      });
  });
  // The runtime policy the healer will be given: checked by the same rules SSM's copy is, before any JVM starts.
  try {
    parsePolicy(s.policy);
  } catch (err) {
    if (!(err instanceof PolicyError)) throw err;
    // Most policy messages already end with the value they got.
    for (const i of err.issues)
      issues.push({
        path: i.path === '(root)' ? 'policy' : `policy.${i.path}`,
        message: i.message,
        value: / got /.test(i.message) ? undefined : policyValue(s.policy, i.path),
      });
  }
  if (s.cluster.platform === 'msk') {
    const c = s.cluster;
    const why = 'an MSK drill presents a plain KRaft cluster with no DR peer or exporters (the local MSK double)';
    if (c.mode !== 'kraft') issues.push({ path: 'cluster.mode', message: why, value: JSON.stringify(c.mode) });
    if (c.security) issues.push({ path: 'cluster.security', message: why, value: JSON.stringify(c.security) });
    if (s.dr) issues.push({ path: 'dr', message: why, value: JSON.stringify(s.dr) });
    if (s.prometheus) issues.push({ path: 'prometheus', message: why, value: JSON.stringify(s.prometheus) });
  } else if (s.cluster.mskRefusesReboot !== undefined) {
    issues.push({
      path: 'cluster.mskRefusesReboot',
      message: 'only with cluster.platform msk',
      value: JSON.stringify(s.cluster.mskRefusesReboot),
    });
  }
  if (s.prometheus && s.dr)
    issues.push({
      path: 'prometheus',
      message: 'a monitored drill has no DR site yet (the DR cluster runs no exporters)',
      value: JSON.stringify(s.prometheus),
    });
  return issues;
}

/** The value at a policy issue's path (`thresholds.diskWarnPercent`, `maintenanceWindows[0].start`), as JSON. */
function policyValue(policy: Record<string, unknown>, path: string): string | undefined {
  let at: unknown = policy;
  for (const key of path.split(/\.|\[(\d+)\]/).filter(Boolean)) {
    if (at === null || typeof at !== 'object') return undefined;
    at = (at as Record<string, unknown>)[key];
  }
  return at === undefined ? undefined : JSON.stringify(at);
}

/** Validates a parsed scenario; throws ScenarioError naming every bad field and its value. */
export function validateScenario(input: unknown, source: string): Scenario {
  const parsed = ScenarioSchema.safeParse(input);
  if (!parsed.success) {
    throw new ScenarioError(
      source,
      parsed.error.issues.map((i) => {
        const path = i.path.map(String).join('.') || '(scenario)';
        const value = preview(valueAt(input, i.path));
        return value === undefined ? { path, message: i.message } : { path, message: i.message, value };
      }),
    );
  }
  const issues = crossChecks(parsed.data);
  if (issues.length > 0) throw new ScenarioError(source, issues);
  return parsed.data;
}

export function parseScenario(text: string, source: string): Scenario {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new ScenarioError(source, [
      { path: '(file)', message: `not valid YAML: ${(err as Error).message.split('\n')[0]}` },
    ]);
  }
  return validateScenario(doc, source);
}

/** The built-in scenario names (file names without .yaml). */
export function builtInScenarios(dir = SCENARIO_DIR): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => basename(f, '.yaml'))
    .sort();
}

/** A built-in name (`broker-crash`) or a path to a YAML file (`./my.yaml`, `/abs/x.yml`). */
export function loadScenario(nameOrPath: string, dir = SCENARIO_DIR): Scenario {
  const looksLikePath = /[\\/]/.test(nameOrPath) || /\.ya?ml$/.test(nameOrPath);
  const file = looksLikePath ? resolve(nameOrPath) : join(dir, `${nameOrPath}.yaml`);
  if (!existsSync(file)) {
    const known = builtInScenarios(dir);
    throw new ScenarioError(nameOrPath, [
      {
        path: '(file)',
        message: looksLikePath
          ? `no such file: ${file}`
          : `no built-in scenario of that name; built-in: ${known.join(', ') || '(none)'}`,
      },
    ]);
  }
  return parseScenario(readFileSync(file, 'utf8'), file);
}
