// The operators' dashboard in the synthesized example stacks (dashboard turned on in each; it is
// opt-in, see the last tests for the default): one per stack, every cluster's health, every state
// machine's outcomes, and only metric names/dimensions the Lambdas emit.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { Stack } from 'aws-cdk-lib';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { publishMtta } from '#functions/lifecycle/mtta-metric.js';
import { probeMetricDocuments } from '#functions/probe/metrics.js';
import { SEVERITIES, serviceDimension } from '#infra/constructs/dashboard.js';
import { metricsNamespace } from '#domain/metrics-namespace.js';
import type { ClusterSnapshot } from '#domain/snapshot.js';
import { synthesizeExampleStacks, type ExampleStacks } from './example-stacks.js';

let ex: ExampleStacks;
beforeAll(() => {
  ex = synthesizeExampleStacks('kh-dashboard-test-', (c) => ({ ...c, dashboard: true }));
}, 240_000);
afterAll(() => ex?.cleanup());

type Resources = Record<string, { Type: string; Properties?: Record<string, unknown> }>;

interface Widget {
  type: string;
  properties: { title?: string; metrics?: unknown[][]; alarms?: unknown[]; markdown?: string };
}

/** The dashboard body with every token replaced by a readable placeholder, parsed. */
function dashboardOf(deployment: string): { name: string; widgets: Widget[]; resources: Resources } {
  const template = ex.template(deployment).toJSON() as { Resources: Resources; Outputs?: Record<string, unknown> };
  const dashboards = Object.values(template.Resources).filter((r) => r.Type === 'AWS::CloudWatch::Dashboard');
  expect(dashboards).toHaveLength(1);
  const props = dashboards[0]?.Properties as { DashboardName: string; DashboardBody: unknown };
  const body = render(props.DashboardBody);
  return {
    name: props.DashboardName,
    widgets: (JSON.parse(body) as { widgets: Widget[] }).widgets,
    resources: template.Resources,
  };
}

/** Fn::Join / Ref / Fn::GetAtt / Fn::Select flattened to text: refs become ${LogicalId}. */
function render(v: unknown): string {
  if (typeof v === 'string') return v;
  const o = v as Record<string, unknown>;
  if ('Fn::Join' in o) {
    const [sep, parts] = o['Fn::Join'] as [string, unknown[]];
    return parts.map(render).join(sep);
  }
  if ('Ref' in o) return `\${${String(o.Ref)}}`;
  if ('Fn::GetAtt' in o) return `\${${(o['Fn::GetAtt'] as string[]).join('.')}}`;
  if ('Fn::Select' in o) return `\${select:${JSON.stringify(o['Fn::Select'])}}`;
  return JSON.stringify(o).replace(/"/g, "'");
}

function titles(widgets: Widget[]): string[] {
  return widgets.map((w) => w.properties.title ?? '');
}

/** Every [namespace, metricName, dim, value, ...] row of a widget, skipping expression rows. */
function metricRows(w: Widget): { namespace: string; name: string; dims: Record<string, string>; label?: string }[] {
  const out = [];
  let last: string[] = [];
  for (const row of w.properties.metrics ?? []) {
    const cells = row.filter((c) => typeof c === 'string') as string[];
    const opts = row.find((c) => typeof c === 'object') as { label?: string; expression?: string } | undefined;
    if (cells.length === 0) continue; // an expression row
    // "..." repeats the previous row's cells (CloudWatch's shorthand, as CDK renders them).
    const full = cells.map((c, i) => (c === '.' ? (last[i] ?? c) : c));
    last = full;
    const [namespace, name, ...rest] = full as [string, string, ...string[]];
    const dims: Record<string, string> = {};
    for (let i = 0; i + 1 < rest.length; i += 2) dims[rest[i] as string] = rest[i + 1] as string;
    out.push({ namespace, name, dims, ...(opts?.label ? { label: opts.label } : {}) });
  }
  return out;
}

describe('operators dashboard', () => {
  it.each(['prod-eu', 'prod-us', 'events'])(
    '%s: one dashboard named after the deployment, the table name as an output',
    (deployment) => {
      const { name } = dashboardOf(deployment);
      expect(name).toBe(`kafka-heal-${deployment}`);
      const outputs = (ex.template(deployment).toJSON() as { Outputs: Record<string, { Value: unknown }> }).Outputs;
      expect(render(outputs.IncidentTableName?.Value)).toMatch(/^\$\{Incidents.*\}$/);
    },
  );

  it('shows every cluster: its alarms, probe health, brokers reachable; MSK metrics for MSK clusters', () => {
    for (const config of ex.configs) {
      const { widgets } = dashboardOf(config.deployment);
      const stack = ex.stacks.find((s) => s.config.deployment === config.deployment) as (typeof ex.stacks)[number];
      for (const [i, cluster] of config.clusters.entries()) {
        const alarmsWidget = widgets.find((w) => w.properties.title === `${cluster.name}: alarms`);
        expect(alarmsWidget?.type).toBe('alarm');
        const alarmIds = (stack.clusterAlarms[i]?.alarms ?? []).map(
          (a) => `\${${Stack.of(a).getLogicalId(a.node.defaultChild as never)}.Arn}`,
        );
        expect(alarmIds.length).toBeGreaterThan(0);
        expect(alarmsWidget?.properties.alarms).toEqual(alarmIds);
        const probe = widgets.find((w) => w.properties.title === `${cluster.name}: probe`) as Widget;
        // MSK partition health comes from AWS/Kafka (below), not from probe copies billed as custom metrics.
        expect(metricRows(probe).map((r) => [r.namespace, r.name, r.dims])).toEqual([
          ...(cluster.msk
            ? []
            : [
                [`KafkaHeal/${config.deployment}`, 'OfflinePartitions', { 'Cluster Name': cluster.name }],
                [`KafkaHeal/${config.deployment}`, 'UnderMinIsrPartitions', { 'Cluster Name': cluster.name }],
              ]),
          // Probe runs: the series the heartbeat alarm counts (OfflinePartitions samples on EC2).
          [
            `KafkaHeal/${config.deployment}`,
            cluster.msk ? 'ProbeHeartbeat' : 'OfflinePartitions',
            { 'Cluster Name': cluster.name },
          ],
        ]);
        const reach = widgets.find(
          (w) => w.properties.title === `${cluster.name}: brokers reachable (probe)`,
        ) as Widget;
        expect(JSON.stringify(reach.properties.metrics)).toContain(
          `SEARCH('{KafkaHeal/${config.deployment},\\"Cluster Name\\",\\"Broker ID\\"} MetricName=\\"BrokerReachable\\" \\"Cluster Name\\"=\\"${cluster.name}\\"', 'Minimum', 60)`,
        );
        const msk = widgets.find((w) => w.properties.title === `${cluster.name}: MSK`);
        if (cluster.msk) {
          expect(metricRows(msk as Widget).map((r) => [r.namespace, r.name, r.dims])).toEqual([
            ['AWS/Kafka', 'ActiveControllerCount', { 'Cluster Name': cluster.msk.clusterName }],
            ['AWS/Kafka', 'OfflinePartitionsCount', { 'Cluster Name': cluster.msk.clusterName }],
          ]);
          expect(JSON.stringify((msk as Widget).properties.metrics)).toContain(
            `SEARCH('{AWS/Kafka,\\"Broker ID\\",\\"Cluster Name\\"} MetricName=\\"UnderMinIsrPartitionCount\\" \\"Cluster Name\\"=\\"${cluster.msk.clusterName}\\"', 'Maximum', 60)`,
          );
        } else {
          expect(msk).toBeUndefined();
        }
      }
    }
  });

  it("charts incidents by severity, MTTR and the recovery success rate from the handlers' metrics", () => {
    const { widgets } = dashboardOf('prod-eu');
    // This deployment's own namespace: prod-eu's dashboard never shows another deployment's incidents.
    const HANDLER_NAMESPACE = 'KafkaHeal/prod-eu';
    const openNow = widgets.find((w) => w.properties.title === 'Open incidents by severity') as Widget;
    expect(metricRows(openNow).map((r) => [r.namespace, r.name, r.dims])).toEqual([
      ...SEVERITIES.map((s) => [
        HANDLER_NAMESPACE,
        'OpenIncidents',
        { service: 'kafka-heal-incident-metrics', Severity: s },
      ]),
      [HANDLER_NAMESPACE, 'AwaitingApproval', { service: 'kafka-heal-incident-metrics' }],
    ]);
    const bySeverity = widgets.find((w) => w.properties.title === 'Incidents opened by severity (per hour)') as Widget;
    expect(metricRows(bySeverity).map((r) => [r.namespace, r.name, r.dims])).toEqual(
      SEVERITIES.map((s) => [
        HANDLER_NAMESPACE,
        'IncidentsOpenedBySeverity',
        { service: 'kafka-heal-classify', Severity: s },
      ]),
    );
    const mttr = widgets.find((w) => w.properties.title === 'MTTR: detection to resolved (seconds)') as Widget;
    expect(metricRows(mttr).map((r) => r.name)).toEqual(['MttrSeconds', 'MttrSeconds', 'MttrSeconds']);
    expect(metricRows(mttr)[0]?.dims).toEqual(serviceDimension('workflow-steps'));
    const ingestion = widgets.find((w) => w.properties.title === 'Ingestion') as Widget;
    expect(metricRows(ingestion).map((r) => [r.name, r.dims.service])).toEqual([
      ['SignalsQueued', 'kafka-heal-ingest'],
      ['SignalsQueued', 'kafka-heal-ingest-webhook'],
      ['RejectedEvents', 'kafka-heal-ingest'],
      ['IgnoredEvents', 'kafka-heal-ingest'],
      ['RejectedEvents', 'kafka-heal-ingest-webhook'],
      ['IgnoredEvents', 'kafka-heal-ingest-webhook'],
    ]);
    const rate = widgets.find((w) => w.properties.title === 'Recovery success rate (per day)') as Widget;
    expect(JSON.stringify(rate.properties.metrics)).toContain('100 * resolved / (resolved + escalated)');
    expect(metricRows(rate).map((r) => r.name)).toEqual(['IncidentsResolved', 'IncidentsEscalated', 'FalseAlarms']);
  });

  it('charts MTTA per severity (average and p90) from the series the three acknowledging functions publish', () => {
    for (const config of ex.configs) {
      const { widgets, resources } = dashboardOf(config.deployment);
      const mtta = widgets.find(
        (w) => w.properties.title === 'MTTA by severity: first page (else detection) to acknowledged (seconds)',
      ) as Widget;
      const rows = metricRows(mtta);
      expect(rows.map((r) => r.label)).toEqual(SEVERITIES.flatMap((s) => [`${s} average`, `${s} p90`]));
      expect(JSON.stringify(mtta.properties.metrics)).toContain('"stat":"p90"');
      // What each of them writes, through its own environment (namespace, service) in the template.
      const envs = Object.values(resources)
        .filter((r) => r.Type === 'AWS::Lambda::Function')
        .map((r) => (r.Properties?.Environment as { Variables: Record<string, string> }).Variables)
        .filter((v) =>
          ['kafka-heal-incident-lifecycle', 'kafka-heal-incident-endpoint', 'kafka-heal-pagerduty-webhook'].includes(
            v.POWERTOOLS_SERVICE_NAME ?? '',
          ),
        );
      expect(envs).toHaveLength(3);
      const lines: string[] = [];
      const spy = vi
        .spyOn(process.stdout, 'write')
        .mockImplementation((chunk: unknown) => (lines.push(String(chunk)), true));
      try {
        for (const env of envs)
          for (const s of SEVERITIES)
            publishMtta(
              new Metrics({ namespace: env.POWERTOOLS_METRICS_NAMESPACE, serviceName: env.POWERTOOLS_SERVICE_NAME }),
              s,
              42,
            );
      } finally {
        spy.mockRestore();
      }
      const published = lines
        .join('')
        .split('\n')
        .filter((l) => l.includes('"_aws"'))
        .map(
          (l) =>
            JSON.parse(l) as {
              _aws: {
                CloudWatchMetrics: {
                  Namespace: string;
                  Dimensions: string[][];
                  Metrics: { Name: string; Unit: string }[];
                }[];
              };
            } & Record<string, unknown>,
        )
        .map((d) => {
          const [directive] = d._aws.CloudWatchMetrics;
          const dims = Object.fromEntries((directive?.Dimensions[0] ?? []).map((k) => [k, d[k]]));
          return JSON.stringify([directive?.Namespace, directive?.Metrics.map((m) => m.Name).join(), dims]);
        });
      expect(published).toHaveLength(3 * SEVERITIES.length);
      // The graph reads exactly the series they publish: one per severity, whichever function acknowledged.
      expect(new Set(published)).toEqual(new Set(rows.map((r) => JSON.stringify([r.namespace, r.name, r.dims]))));
    }
  });

  it('has a workflow outcome widget for every state machine in the stack', () => {
    for (const config of ex.configs) {
      const { widgets, resources } = dashboardOf(config.deployment);
      const machines = Object.entries(resources).filter(([, r]) => r.Type === 'AWS::StepFunctions::StateMachine');
      expect(machines.length).toBeGreaterThanOrEqual(2);
      const outcome = widgets.filter((w) => titles([w])[0]?.startsWith('Workflow '));
      expect(outcome).toHaveLength(machines.length);
      for (const [logicalId, r] of machines) {
        const label = String((r.Properties as { StateMachineName: string }).StateMachineName).replace(
          `kafka-heal-${config.deployment}-`,
          '',
        );
        const w = outcome.find((x) => x.properties.title === `Workflow ${label}`) as Widget;
        expect(w, `widget for ${label}`).toBeDefined();
        const rows = metricRows(w);
        expect(rows.map((x) => x.name)).toEqual([
          'ExecutionsSucceeded',
          'ExecutionsFailed',
          'ExecutionsTimedOut',
          'ExecutionsAborted',
        ]);
        expect(rows.every((x) => x.namespace === 'AWS/States' && x.dims.StateMachineArn === `\${${logicalId}}`)).toBe(
          true,
        );
      }
    }
  });

  it('charts notification failures per topic and probe latency per cluster', () => {
    const { widgets } = dashboardOf('events');
    const notify = widgets.find((w) => w.properties.title === 'Notification failures') as Widget;
    const sns = metricRows(notify).filter((r) => r.namespace === 'AWS/SNS');
    expect(sns.map((r) => [r.name, r.label])).toEqual([
      ['NumberOfNotificationsFailed', 'SNS critical failed'],
      ['NumberOfNotificationsFailed', 'SNS warning failed'],
    ]);
    expect(sns.every((r) => r.dims.TopicName !== undefined)).toBe(true);
    const failedEscalations = metricRows(notify).filter((r) => r.namespace === 'AWS/States');
    expect(failedEscalations.length).toBeGreaterThanOrEqual(1);
    expect(failedEscalations.every((r) => r.name === 'ExecutionsFailed' && /^escalation/.test(r.label ?? ''))).toBe(
      true,
    );
    const latency = widgets.find((w) => w.properties.title === 'Probe latency (ms)') as Widget;
    expect(metricRows(latency).map((r) => [r.name, r.dims['Cluster Name'], r.label])).toEqual([
      ['ProbeLatencyMs', 'events', 'events average'],
      ['ProbeLatencyMs', 'events', 'events p90'],
      ['ProbeLatencyMs', 'events', 'events maximum'],
      ['ProbeLatencyMs', 'events-dr', 'events-dr average'],
      ['ProbeLatencyMs', 'events-dr', 'events-dr p90'],
      ['ProbeLatencyMs', 'events-dr', 'events-dr maximum'],
    ]);
  });

  it('counts open incidents every 5 minutes with a read-only function on the table', () => {
    for (const config of ex.configs) {
      const { resources } = dashboardOf(config.deployment);
      const fns = Object.entries(resources).filter(
        ([, r]) =>
          r.Type === 'AWS::Lambda::Function' &&
          (r.Properties?.Environment as { Variables?: Record<string, string> } | undefined)?.Variables
            ?.POWERTOOLS_SERVICE_NAME === 'kafka-heal-incident-metrics',
      );
      expect(fns).toHaveLength(1);
      const [fnId] = fns[0] as [string, unknown];
      const rules = Object.values(resources).filter(
        (r) => r.Type === 'AWS::Events::Rule' && JSON.stringify(r.Properties?.Targets ?? []).includes(fnId),
      );
      expect(rules.map((r) => r.Properties?.ScheduleExpression)).toEqual(['rate(5 minutes)']);
      const policies = Object.values(resources).filter(
        (r) => r.Type === 'AWS::IAM::Policy' && JSON.stringify(r.Properties?.Roles ?? []).includes('IncidentMetrics'),
      );
      const actions = policies.flatMap((p) =>
        ((p.Properties?.PolicyDocument as { Statement: { Action: string | string[] }[] }).Statement ?? []).flatMap(
          (st) => [st.Action].flat(),
        ),
      );
      expect(actions.filter((a) => a.startsWith('dynamodb:')).sort()).toEqual(
        [
          'dynamodb:BatchGetItem',
          'dynamodb:ConditionCheckItem',
          'dynamodb:DescribeTable',
          'dynamodb:GetItem',
          'dynamodb:GetRecords',
          'dynamodb:GetShardIterator',
          'dynamodb:Query',
          'dynamodb:Scan',
        ].sort(),
      );
    }
  });

  it("uses only handler metric names the handlers emit (addMetric in the function's folder)", () => {
    const emitted = (folder: string): Set<string> => {
      const names = new Set<string>();
      for (const file of readdirSync(join('functions', folder)).filter((f) => f.endsWith('.ts'))) {
        const code = readFileSync(join('functions', folder, file), 'utf8');
        for (const m of code.matchAll(/addMetric\(([^,]+),/g))
          for (const q of (m[1] as string).matchAll(/'([A-Za-z]+)'/g)) names.add(q[1] as string);
      }
      return names;
    };
    for (const config of ex.configs) {
      const used = dashboardOf(config.deployment)
        .widgets.flatMap(metricRows)
        .filter((r) => r.namespace === metricsNamespace(config.deployment) && r.dims.service !== undefined);
      expect(new Set(used.map((r) => r.dims.service))).toEqual(
        new Set([
          'kafka-heal-classify',
          'kafka-heal-workflow-steps',
          'kafka-heal-incident-metrics',
          'kafka-heal-ingest',
          'kafka-heal-ingest-webhook',
        ]),
      );
      for (const r of used) {
        const folder = (r.dims.service as string).replace(/^kafka-heal-/, '').replace(/-webhook$/, '');
        expect(emitted(folder), `${r.name} from ${r.dims.service}`).toContain(r.name);
      }
    }
  });

  it('uses only probe metric names and dimension sets the probe publishes', () => {
    const snapshot = {
      durationMs: 12,
      partitions: { offline: 0, underReplicated: 0, underMinIsr: 0, details: [] },
      brokers: [{ id: 1, reachable: true, registered: true }],
      registeredBrokers: [1],
      perBroker: {},
      consumerGroups: [],
    } as unknown as ClusterSnapshot;
    const published = new Set(
      probeMetricDocuments('orders', snapshot).flatMap((d) =>
        d.metrics.map((m) => `${m.name}|${Object.keys(d.dimensions).sort().join(',')}`),
      ),
    );
    for (const config of ex.configs) {
      const { widgets } = dashboardOf(config.deployment);
      const used = widgets
        .flatMap(metricRows)
        .filter((r) => r.namespace === `KafkaHeal/${config.deployment}` && r.dims['Cluster Name'] !== undefined);
      expect(used.length).toBeGreaterThan(0);
      for (const r of used)
        expect(published, `${r.name} ${Object.keys(r.dims).join(',')}`).toContain(
          `${r.name}|${Object.keys(r.dims).sort().join(',')}`,
        );
    }
  });
});
