// Idle cost per monitored cluster per month, from the synthesized templates of the example configs
// (what `cdk deploy` would create), at the AWS list prices below; and the cost of one incident,
// from a broker-recovery run on the local Step Functions runtime (its real state transitions and
// Lambda invocations). "Idle" = no incident all month: what the healer costs just by watching.
// Then the same clusters at 3, 30 and 300 brokers each: cost per cluster and alarms per cluster.
//   npm run bench -- cost [--probe-ms N]
import { App } from 'aws-cdk-lib';
import { addHealerStacks, DEFAULT_CONFIG_FILES, loadConfigs } from '../infra/app-builder.js';
import type { HealerConfig } from '../infra/config/schema.js';
import { BenchFailure, verdict } from './stats.js';
import { FAILURE_ONLY_METRICS } from '../functions/probe/metrics.js';

export const MAX_IDLE_PER_CLUSTER_USD = 5;

/**
 * us-east-1 list prices, USD, from the AWS pricing pages as last published before 2025-06 (this
 * machine has no internet access to re-check them: confirm before quoting). No free tier is applied
 * (an account's free tier is shared with everything else in it).
 */
export const PRICES = {
  asOf: 'us-east-1 list prices, AWS pricing pages as of 2025-06, no free tier',
  alarmStandardMetricMonth: 0.1,
  alarmHighResMetricMonth: 0.3,
  customMetricMonth: 0.3,
  dashboardMonth: 3.0,
  logsIngestGb: 0.5,
  logsStoreGbMonth: 0.03,
  lambdaArmGbSecond: 0.0000133334,
  lambdaRequest: 0.2 / 1e6,
  sfnStandardTransition: 0.025 / 1000,
  dynamoWriteUnit: 0.625 / 1e6,
  dynamoReadUnit: 0.125 / 1e6,
  snsPublish: 0.5 / 1e6,
  sqsRequest: 0.4 / 1e6,
  secretMonth: 0.4,
  kmsKeyMonth: 1.0,
  wafWebAclMonth: 5.0,
  wafRuleMonth: 1.0,
  xrayTrace: 5 / 1e6,
} as const;

const MINUTES_PER_MONTH = 730 * 60;
/**
 * Filesystems the CloudWatch agent's disk plugin reports per broker host, each a disk_used_percent
 * series that both disk alarms of the broker analyze (Metrics Insights: one alarm metric per series
 * the query reads). Root plus the Kafka data volume, the agent configured with those mounts as
 * docs/deploying.md says; every further mount adds $0.20 a month per broker.
 */
export const DISK_SERIES_PER_HOST = 2;
/** Lambda polls an SQS event source with 5 concurrent 20-second long polls while the queue is empty. */
const SQS_POLLERS = 5;
const SQS_POLLS_PER_MINUTE = 3;
/** Bytes the Lambda service and the probe log per probe run besides the EMF documents (START/END/REPORT, one info line). */
const PROBE_LOG_BYTES = 1200;
/** The auto-resolver's log of a quiet run: Lambda's START/END/REPORT lines and its one counts line. */
const AUTO_RESOLVE_LOG_BYTES = 900;
const EMF_DOC_BYTES = 450;

type Resource = { Type: string; Properties?: Record<string, unknown> };

export interface Line {
  item: string;
  quantity: string;
  usd: number;
  /** Grows with each monitored cluster, or paid once per deployment (stack) whatever its cluster count. */
  scope: 'cluster' | 'deployment';
}

export interface StackCost {
  stack: string;
  clusters: string[];
  lines: Line[];
  total: number;
  /** Alarms on the clusters (not self-monitoring), all clusters together. */
  clusterAlarms: number;
}

/** The broker counts the idle cost per cluster is priced at. */
export const BROKER_COUNTS = [3, 30, 300] as const;

/** The config with every cluster at `brokers` brokers (an EC2 cluster that lists its brokers lists that many). */
export function withBrokers(config: HealerConfig, brokers: number): HealerConfig {
  return {
    ...config,
    clusters: config.clusters.map((c) =>
      c.platform === 'ec2' && c.ec2.brokers
        ? {
            ...c,
            brokerCount: brokers,
            ec2: {
              ...c.ec2,
              brokers: Array.from({ length: brokers }, (_, i) => ({
                id: i + 1,
                instanceId: `i-${(i + 1).toString(16).padStart(17, '0')}`,
              })),
            },
          }
        : { ...c, brokerCount: brokers },
    ),
  };
}

function alarmMetrics(
  p: Record<string, unknown>,
  brokers: number,
): { metrics: number; highRes: boolean; note: string } {
  const period = Number(p['Period'] ?? 60);
  const list =
    (p['Metrics'] as { MetricStat?: { Period?: number }; Expression?: string; Period?: number }[] | undefined) ?? [];
  if (list.length === 0) return { metrics: 1, highRes: period < 60, note: 'metric' };
  const stats = list.filter((m) => m.MetricStat);
  const periods = list.map((m) => Number(m.MetricStat?.Period ?? m.Period ?? 60));
  const highRes = Math.min(...periods) < 60;
  if (stats.length > 0) return { metrics: stats.length, highRes, note: 'metric math' };
  // A Metrics Insights query alarm is billed per metric it analyzes: for a query over every
  // "Broker ID" series of a cluster one per broker, times the filesystems of a host's disk series.
  const query = list.map((m) => m.Expression ?? '').join(' ');
  const perBroker = /Broker ID/.test(query) ? Math.max(1, brokers) : 1;
  const analyzed = perBroker * (/disk_used_percent/.test(query) ? DISK_SERIES_PER_HOST : 1);
  return { metrics: analyzed, highRes, note: 'insights query' };
}

/** The configured cluster an alarm of a cluster watches, from its name (`kafka-heal-<deployment>.<cluster>-<kind>...`). */
function clusterOfAlarm(alarmName: unknown, config: HealerConfig): HealerConfig['clusters'][number] | undefined {
  const rest = String(alarmName).slice(`kafka-heal-${config.deployment}.`.length);
  return config.clusters.filter((c) => rest.startsWith(`${c.name}-`)).sort((a, b) => b.name.length - a.name.length)[0];
}

interface ProbeEmission {
  /** Custom metrics: every published series kind times its dimension values (the handlers publish no ColdStart metric). */
  metrics: number;
  /** EMF documents per run (one per dimension set with a published metric). */
  docs: number;
}

/**
 * What a probe function publishes: PROBE_METRIC_SERIES from its environment in the template (the
 * series kinds, functions/probe/metrics.ts seriesKey) over its cluster in the config (its brokers
 * and groups; the function gets them as a bundled file, not in the template).
 */
export function probeEmission(env: Record<string, unknown>, config: HealerConfig): ProbeEmission {
  const name = String(env['POWERTOOLS_SERVICE_NAME']).replace(/^kafka-heal-probe-/, '');
  const cluster = config.clusters.find((c) => c.name === name);
  // A series published only while the probe is refused costs nothing idle.
  const keys = (JSON.parse(String(env['PROBE_METRIC_SERIES'])) as string[]).filter(
    (k) => !FAILURE_ONLY_METRICS.includes(k.split('|')[0] as string),
  );
  const fanOut = (key: string) =>
    key.includes('Broker ID')
      ? (cluster?.brokerCount ?? 0)
      : key.includes('Consumer Group')
        ? (cluster?.consumerGroups.length ?? 0)
        : 1;
  const metrics = keys.reduce((n, k) => n + fanOut(k), 0);
  const dimSets = new Set(keys.map((k) => k.split('|')[1]));
  const docs = [...dimSets].reduce((n, d) => n + fanOut(`|${d}`), 0);
  return { metrics, docs };
}

/** The open-incident gauges (functions/incident-metrics, with the dashboard): OpenIncidents per severity and AwaitingApproval. */
const GAUGE_METRICS = 5;
const GAUGE_RUNS_PER_MONTH = MINUTES_PER_MONTH / 5;

export function idleCost(
  stackName: string,
  resources: Record<string, Resource>,
  config: HealerConfig,
  probeMs: number,
): StackCost {
  const lines: Line[] = [];
  const add = (item: string, quantity: string, usd: number, scope: Line['scope'] = 'cluster') =>
    lines.push({ item, quantity, usd, scope });
  const all = Object.values(resources);
  const of = (type: string) => all.filter((r) => r.Type === type);
  const envOf = (f: Resource) =>
    (f.Properties?.['Environment'] as { Variables?: Record<string, unknown> } | undefined)?.Variables ?? {};

  let clusterAlarms = 0;
  // Alarms on a cluster (the Alarms-<cluster> constructs) and on its own functions (probe, cluster
  // steps) grow with the clusters; the healer's self-monitoring of its shared parts does not.
  for (const scope of ['cluster', 'deployment'] as const) {
    let std = 0;
    let hi = 0;
    let math = 0;
    let count = 0;
    for (const [id, a] of Object.entries(resources)) {
      if (a.Type !== 'AWS::CloudWatch::Alarm') continue;
      const perCluster = id.startsWith('Alarms') || /^SelfMonitoring(probe|clustersteps)/.test(id);
      if ((scope === 'cluster') !== perCluster) continue;
      const m = alarmMetrics(a.Properties ?? {}, clusterOfAlarm(a.Properties?.['AlarmName'], config)?.brokerCount ?? 1);
      if (m.highRes) hi += m.metrics;
      else std += m.metrics;
      if (m.note !== 'metric') math++;
      count++;
    }
    if (scope === 'cluster')
      clusterAlarms = Object.values(resources).filter(
        (a) => a.Type === 'AWS::CloudWatch::Alarm' && clusterOfAlarm(a.Properties?.['AlarmName'], config) !== undefined,
      ).length;
    const what =
      scope === 'cluster'
        ? 'on the clusters and their probe/cluster-steps functions'
        : 'self-monitoring of the shared functions, queues, workflows, APIs';
    add(
      `CloudWatch alarms ${what}`,
      `${std} standard + ${hi} high-resolution alarm metrics (${count} alarms, ${math} metric math or insights)`,
      std * PRICES.alarmStandardMetricMonth + hi * PRICES.alarmHighResMetricMonth,
      scope,
    );
  }
  add(
    'CloudWatch dashboards (opt-in: config `dashboard`)',
    `${of('AWS::CloudWatch::Dashboard').length}`,
    of('AWS::CloudWatch::Dashboard').length * PRICES.dashboardMonth,
    'deployment',
  );
  const gauges = of('AWS::Lambda::Function').filter(
    (f) => envOf(f)['POWERTOOLS_SERVICE_NAME'] === 'kafka-heal-incident-metrics',
  ).length;
  add(
    'Open-incident gauges for the dashboard (custom metrics, a Lambda run every 5 minutes)',
    gauges ? `${GAUGE_METRICS} metrics, ${GAUGE_RUNS_PER_MONTH} runs x 300 ms x 256 MB` : 'none (no dashboard)',
    gauges *
      (GAUGE_METRICS * PRICES.customMetricMonth +
        GAUGE_RUNS_PER_MONTH * (PRICES.lambdaRequest + 0.3 * 0.25 * PRICES.lambdaArmGbSecond)),
    'deployment',
  );

  // The auto-resolver: one run a minute per deployment (a Query of the open-incidents index per
  // cluster; the cluster's alarms are read only when an incident could close: DescribeAlarms is free).
  const resolvers = of('AWS::Lambda::Function').filter(
    (f) => envOf(f)['POWERTOOLS_SERVICE_NAME'] === 'kafka-heal-auto-resolve',
  ).length;
  const resolverLogGb = (MINUTES_PER_MONTH * AUTO_RESOLVE_LOG_BYTES) / 1024 ** 3;
  add(
    'Auto-resolver (a Lambda run a minute, its log line)',
    resolvers ? `${MINUTES_PER_MONTH} runs x 300 ms x 512 MB, ${resolverLogGb.toFixed(3)} GB logs` : 'none',
    resolvers *
      (MINUTES_PER_MONTH * (PRICES.lambdaRequest + 0.3 * 0.5 * PRICES.lambdaArmGbSecond) +
        resolverLogGb * (PRICES.logsIngestGb + PRICES.logsStoreGbMonth)),
    'deployment',
  );

  // The scheduled probe: one run a minute per cluster (the schedule rules in the template).
  const schedules = of('AWS::Events::Rule').filter(
    (r) =>
      /rate\(1 minute\)/.test(String(r.Properties?.['ScheduleExpression'] ?? '')) &&
      !/-auto-resolve$/.test(String(r.Properties?.['Name'] ?? '')),
  );
  const probeFns = of('AWS::Lambda::Function').filter((f) =>
    /^kafka-heal-probe-/.test(String(envOf(f)['POWERTOOLS_SERVICE_NAME'])),
  );
  const probeMemGb = Math.max(...probeFns.map((f) => Number(f.Properties?.['MemorySize'] ?? 128))) / 1024;
  const runs = schedules.length * MINUTES_PER_MONTH;
  add('Probe Lambda requests', `${runs} runs (${schedules.length} x 1/min)`, runs * PRICES.lambdaRequest);
  add(
    'Probe Lambda duration (arm64)',
    `${runs} x ${probeMs} ms x ${probeMemGb * 1024} MB`,
    runs * (probeMs / 1000) * probeMemGb * PRICES.lambdaArmGbSecond,
  );
  const emissions = probeFns.map((f) => probeEmission(envOf(f), config));
  const metrics = emissions.reduce((n, e) => n + e.metrics, 0);
  add(
    'Custom metrics (probe EMF: the series the alarms and the dashboard read)',
    `${metrics} metrics`,
    metrics * PRICES.customMetricMonth,
  );
  const docsPerRun = emissions.reduce((n, e) => n + e.docs, 0) / Math.max(1, emissions.length);
  const logGb = (runs * (PROBE_LOG_BYTES + docsPerRun * EMF_DOC_BYTES)) / 1024 ** 3;
  add(
    'CloudWatch Logs (probe runs)',
    `${logGb.toFixed(3)} GB ingested, kept a month`,
    logGb * (PRICES.logsIngestGb + PRICES.logsStoreGbMonth),
  );
  // A scheduled run starts no trace unless the probe is actively traced (PassThrough: only a traced caller's).
  const traced = probeFns.filter(
    (f) => (f.Properties?.['TracingConfig'] as { Mode?: string } | undefined)?.Mode === 'Active',
  ).length;
  const traces = (runs * traced) / Math.max(1, probeFns.length);
  add(
    'X-Ray traces of scheduled probe runs',
    traced ? `${traces} traces (active tracing)` : 'none (PassThrough: traced only when a traced caller invokes it)',
    traces * PRICES.xrayTrace,
  );

  const sqsMappings = of('AWS::Lambda::EventSourceMapping').length;
  const polls = sqsMappings * SQS_POLLERS * SQS_POLLS_PER_MINUTE * MINUTES_PER_MONTH;
  add(
    'SQS empty long polls by Lambda event sources',
    `${sqsMappings} mappings x ${SQS_POLLERS} pollers x ${SQS_POLLS_PER_MINUTE}/min = ${polls} requests`,
    polls * PRICES.sqsRequest,
    'deployment',
  );
  add(
    'Secrets Manager secrets',
    `${of('AWS::SecretsManager::Secret').length}`,
    of('AWS::SecretsManager::Secret').length * PRICES.secretMonth,
    'deployment',
  );
  add(
    'KMS customer managed keys',
    `${of('AWS::KMS::Key').length}`,
    of('AWS::KMS::Key').length * PRICES.kmsKeyMonth,
    'deployment',
  );
  // The approval API's per-source rate limit: a web ACL and its rules bill monthly, requests ($0.60 a million) only when there are some.
  const acls = of('AWS::WAFv2::WebACL');
  const rules = acls.reduce((n, a) => n + ((a.Properties?.['Rules'] as unknown[] | undefined)?.length ?? 0), 0);
  add(
    'WAF web ACLs and rules (per-source rate limit on the approval API)',
    `${acls.length} web ACL(s), ${rules} rule(s)`,
    acls.length * PRICES.wafWebAclMonth + rules * PRICES.wafRuleMonth,
    'deployment',
  );
  add(
    'Step Functions (standard)',
    `${of('AWS::StepFunctions::StateMachine').length} state machines, no executions when idle`,
    0,
    'deployment',
  );
  add(
    'DynamoDB on-demand',
    `${of('AWS::DynamoDB::Table').length} table, no requests when idle (storage of a few KB)`,
    0,
    'deployment',
  );
  add(
    'SNS, API Gateway, EventBridge rules, SSM parameters and documents',
    'no requests when idle; no standing charge',
    0,
    'deployment',
  );
  const total = lines.reduce((s, l) => s + l.usd, 0);
  return { stack: stackName, clusters: config.clusters.map((c) => c.name), lines, total, clusterAlarms };
}

export interface IncidentCost {
  transitions: number;
  lambdaInvocations: number;
  lines: Line[];
  total: number;
}

/** One broker-recovery incident: the happy path on the local runtime, plus the signals that opened it. */
export async function incidentCost(signals = 20): Promise<IncidentCost> {
  process.env.POWERTOOLS_LOG_LEVEL ??= 'SILENT';
  const { runScenario, SNAPSHOTS, SUBSTITUTIONS, ok, diagnosisLine } =
    await import('../test/statemachines/recovery-fixtures.js');
  const restarted = ok(
    '{"result":"restarted","pid":4242,"previousPid":0,"service":"kafka","listenerPort":9092,"waitedSeconds":7}\n',
  );
  const run = await runScenario({
    workflow: 'broker-recovery',
    probes: [SNAPSHOTS.brokerTwoCrashed, SNAPSHOTS.brokerTwoCrashed, SNAPSHOTS.healthy],
    commands: {
      [SUBSTITUTIONS.DiagnoseDocumentName]: ok(diagnosisLine()),
      [SUBSTITUTIONS.RestartDocumentName]: restarted,
    },
  });
  if (run.result.status !== 'SUCCEEDED')
    throw new BenchFailure(`the broker-recovery happy path did not succeed on the local runtime: ${run.result.status}`);
  // Step Functions counts one transition per state entered (retries re-enter their state).
  const transitions = run.states.length + 1;
  const lambdaCalls = run.calls.filter((c) => c.resource.startsWith('arn:aws:states:::lambda:invoke')).length;
  const invocations = lambdaCalls + 2 * signals;
  const lines: Line[] = [];
  const add = (item: string, quantity: string, usd: number) => lines.push({ item, quantity, usd, scope: 'cluster' });
  add(
    'Step Functions state transitions',
    `${transitions} (broker-recovery happy path, measured)`,
    transitions * PRICES.sfnStandardTransition,
  );
  add(
    'Lambda (ingest + classify per signal, workflow and cluster steps)',
    `${invocations} invocations x 300 ms x 512 MB`,
    invocations * (PRICES.lambdaRequest + 0.3 * 0.5 * PRICES.lambdaArmGbSecond),
  );
  add(
    'DynamoDB writes and reads',
    `about ${signals * 6 + 20} writes and ${signals * 3 + 10} reads of <= 1 KB`,
    (signals * 6 + 20) * PRICES.dynamoWriteUnit + (signals * 3 + 10) * PRICES.dynamoReadUnit,
  );
  add('SSM Run Command (2 commands on EC2 managed instances)', 'no charge for EC2 instances', 0);
  add(
    'SNS notifications',
    `${run.published.length} on the happy path (an escalation adds a few)`,
    Math.max(1, run.published.length) * PRICES.snsPublish,
  );
  return { transitions, lambdaInvocations: invocations, lines, total: lines.reduce((s, l) => s + l.usd, 0) };
}

const usd = (n: number) => `$${n < 0.01 && n > 0 ? n.toFixed(5) : n.toFixed(2)}`;

export async function run(args: string[]): Promise<string> {
  const i = args.indexOf('--probe-ms');
  const probeMs = i >= 0 ? Number(args[i + 1]) : 300;
  if (!Number.isFinite(probeMs) || probeMs <= 0)
    throw new Error('--probe-ms must be a positive number of milliseconds');
  const configs = loadConfigs(DEFAULT_CONFIG_FILES);
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stacks = addHealerStacks(app, configs, { nag: false });
  const assembly = app.synth();
  console.log(`prices: ${PRICES.asOf}`);
  console.log(
    `assumptions: probe run ${probeMs} ms billed (--probe-ms; docs/probe.md measures 25-230 ms per probe), ${MINUTES_PER_MONTH} minutes a month, Lambda SQS pollers ${SQS_POLLERS} x ${SQS_POLLS_PER_MINUTE}/min per mapping, ` +
      `${DISK_SERIES_PER_HOST} filesystems per EC2 broker host read by its disk alarms (CloudWatch agent disk plugin, docs/deploying.md)`,
  );
  const costs: StackCost[] = [];
  for (const stack of stacks) {
    const template = assembly.getStackByName(stack.stackName).template as { Resources: Record<string, Resource> };
    const cost = idleCost(stack.stackName, template.Resources, stack.config, probeMs);
    costs.push(cost);
    console.log(`\n${stack.stackName} (${cost.clusters.length} cluster(s): ${cost.clusters.join(', ')})`);
    for (const l of cost.lines)
      console.log(`  ${`${l.item} [${l.scope}]`.slice(0, 84).padEnd(84)} ${usd(l.usd).padStart(9)}  ${l.quantity}`);
    const fixed = cost.lines.filter((l) => l.scope === 'deployment').reduce((n, l) => n + l.usd, 0);
    console.log(
      `  idle total per month ${usd(cost.total)}: ${usd(fixed)} per deployment + ${usd((cost.total - fixed) / cost.clusters.length)} per cluster = ${usd(cost.total / cost.clusters.length)} per cluster at ${cost.clusters.length} cluster(s)`,
    );
  }
  // The same clusters at 3, 30 and 300 brokers each: the alarms per cluster stay, their billed
  // series and the probe's per-broker series follow the brokers.
  console.log(
    `\nidle cost per cluster per month by broker count (every cluster of the example at ${BROKER_COUNTS.join(', ')} brokers):`,
  );
  const scaled = new Map<string, { brokers: number; perCluster: number; alarmsPerCluster: number }[]>();
  for (const brokers of BROKER_COUNTS) {
    const scaledConfigs = configs.map((c) => withBrokers(c, brokers));
    const scaledApp = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const scaledStacks = addHealerStacks(scaledApp, scaledConfigs, { nag: false });
    const scaledAssembly = scaledApp.synth();
    for (const stack of scaledStacks) {
      const template = scaledAssembly.getStackByName(stack.stackName).template as {
        Resources: Record<string, Resource>;
      };
      const cost = idleCost(stack.stackName, template.Resources, stack.config, probeMs);
      const n = cost.clusters.length;
      scaled.set(stack.stackName, [
        ...(scaled.get(stack.stackName) ?? []),
        { brokers, perCluster: cost.total / n, alarmsPerCluster: cost.clusterAlarms / n },
      ]);
    }
  }
  for (const [stack, rows] of scaled) {
    console.log(
      `  ${stack.padEnd(20)} ${rows.map((r) => `${String(r.brokers).padStart(3)} brokers ${usd(r.perCluster).padStart(8)} (${r.alarmsPerCluster} alarms)`).join('   ')}`,
    );
  }
  const flat = [...scaled.values()].every((rows) =>
    rows.every((r) => r.alarmsPerCluster === rows[0]?.alarmsPerCluster),
  );
  const brokerLine = [...scaled]
    .map(
      ([stack, rows]) =>
        `${stack.replace(/^KafkaHeal-/, '')} ${rows.map((r) => usd(r.perCluster)).join('/')} with ${rows.map((r) => r.alarmsPerCluster).join('/')} alarms`,
    )
    .join(', ');

  const inc = await incidentCost();
  console.log('\none broker-recovery incident (20 signals):');
  for (const l of inc.lines) console.log(`  ${l.item.padEnd(84)} ${usd(l.usd).padStart(9)}  ${l.quantity}`);
  console.log(`  per incident ${usd(inc.total)}`);
  const perCluster = costs.map((c) => {
    const fixed = c.lines.filter((l) => l.scope === 'deployment').reduce((n, l) => n + l.usd, 0);
    const marginal = (c.total - fixed) / c.clusters.length;
    // How many such clusters one deployment needs before its per-cluster share is within the target.
    const breakEven =
      marginal < MAX_IDLE_PER_CLUSTER_USD
        ? Math.max(1, Math.ceil(fixed / (MAX_IDLE_PER_CLUSTER_USD - marginal)))
        : undefined;
    return { stack: c.stack, usd: c.total / c.clusters.length, fixed, marginal, breakEven };
  });
  const worst = perCluster.reduce((a, b) => (b.usd > a.usd ? b : a));
  const worstMarginal = perCluster.reduce((a, b) => (b.marginal > a.marginal ? b : a));
  const describeStack = (p: (typeof perCluster)[number]) =>
    `${p.stack} ${usd(p.usd)} (${usd(p.fixed)} per deployment, each further cluster ${usd(p.marginal)}; within $${MAX_IDLE_PER_CLUSTER_USD} ${p.breakEven === undefined ? 'at no cluster count' : `from ${p.breakEven} clusters`})`;
  return (
    `idle per monitored cluster per month ${perCluster.map(describeStack).join(', ')} (target <= $${MAX_IDLE_PER_CLUSTER_USD} at the example cluster counts: ${verdict(worst.usd <= MAX_IDLE_PER_CLUSTER_USD)}; ` +
    `each further cluster <= $${MAX_IDLE_PER_CLUSTER_USD}: ${verdict(worstMarginal.marginal <= MAX_IDLE_PER_CLUSTER_USD)}); ` +
    `per cluster at ${BROKER_COUNTS.join('/')} brokers: ${brokerLine} (alarms per cluster independent of the broker count: ${verdict(flat)}); ` +
    `per incident ${usd(inc.total)} (${inc.transitions} transitions, ${inc.lambdaInvocations} Lambda invocations); ${PRICES.asOf}`
  );
}
