// The monitored drill's pieces that need no JVM: the shipped rules scaled to the drill's time,
// the generated Prometheus and Alertmanager configurations (checked by promtool and amtool), the
// exporter flags, and the local webhook in front of the real authorizer and webhook handler.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml, stringify as toYaml } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { webhookAlertEvents } from '#local/drill/healer.js';
import { startAlertWebhook } from '#local/monitoring/alert-webhook.js';
import { JMX_EXPORTER_CONFIG, jmxAgentArg, zookeeperMetricsConfig } from '#local/monitoring/exporters.js';
import {
  alertmanagerConfig,
  durationSeconds,
  prometheusConfig,
  ruleFilesFor,
  scaleRuleFile,
} from '#local/monitoring/prometheus-stack.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'kh-prom-stack-'));
let bin = '';
beforeAll(() => {
  bin = execFileSync('bash', [join(ROOT, 'scripts', 'prometheus.sh')], { encoding: 'utf8', timeout: 600_000 }).trim();
}, 660_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

type RuleDoc = { groups: { rules: { alert: string; for: string; expr: string; labels: Record<string, string> }[] }[] };
const rulesOf = (text: string) => (parseYaml(text) as RuleDoc).groups.flatMap((g) => g.rules);

describe('durations and rule scaling', () => {
  it.each([
    ['90s', 90],
    ['1m', 60],
    ['1h30m', 5400],
    ['500ms', 0.5],
    ['15m', 900],
  ])('%s is %d s', (d, s) => expect(durationSeconds(d)).toBe(s));

  it.each(['', '1x', 'm', '1m junk'])('%j is refused', (d) =>
    expect(() => durationSeconds(d)).toThrow(/not a Prometheus duration/),
  );

  it('scales every `for:` to the drill period, keeps election and sustained floors, leaves expressions alone', () => {
    const [kafka, zk] = ruleFilesFor('zookeeper').map((f) => readFileSync(f, 'utf8')) as [string, string];
    const scale = {
      secondsPerMinute: 2,
      floorSeconds: { 'quorum-loss': 10, 'controller-missing': 10 },
      sustainedSeconds: 120,
    };
    const scaled = new Map(
      [...rulesOf(scaleRuleFile(kafka, scale)), ...rulesOf(scaleRuleFile(zk, scale))].map((r) => [r.alert, r]),
    );
    expect(scaled.get('KafkaBrokerDown')?.for).toBe('2000ms');
    expect(scaled.get('KafkaNoActiveController')?.for).toBe('10000ms');
    expect(scaled.get('ZookeeperQuorumLost')?.for).toBe('10000ms');
    // 15 minutes -> 30 s, but a 10-minute-or-longer rule keeps the sustained window.
    expect(scaled.get('KafkaUnderReplicatedPartitions')?.for).toBe('120000ms');
    expect(scaled.get('KafkaDiskUsageHigh')?.for).toBe('10000ms');
    const original = new Map(rulesOf(kafka).map((r) => [r.alert, r]));
    expect(scaled.get('KafkaBrokerDown')?.expr).toBe(original.get('KafkaBrokerDown')?.expr);
    expect(scaled.get('KafkaBrokerDown')?.labels).toEqual(original.get('KafkaBrokerDown')?.labels);
    // Without floors, plain proportion.
    expect(
      rulesOf(scaleRuleFile(kafka, { secondsPerMinute: 6 })).find((r) => r.alert === 'KafkaUnderReplicatedPartitions')
        ?.for,
    ).toBe('90000ms');
  });

  it('the scaled rule files pass promtool check rules', () => {
    const files = ruleFilesFor('kraft').map((f, i) => {
      const out = join(dir, `scaled-${i}.yml`);
      writeFileSync(
        out,
        scaleRuleFile(readFileSync(f, 'utf8'), {
          secondsPerMinute: 2,
          floorSeconds: { 'quorum-loss': 10 },
          sustainedSeconds: 120,
        }),
      );
      return out;
    });
    const r = spawnSync(join(bin, 'promtool'), ['check', 'rules', ...files], { encoding: 'utf8' });
    expect(r.status, r.stdout + r.stderr).toBe(0);
  });
});

describe('generated configurations', () => {
  it('Prometheus scrapes only 127.0.0.1 with the labels the rules read, and promtool accepts it', () => {
    const ruleFiles = ruleFilesFor('zookeeper');
    const cfg = prometheusConfig({
      targets: {
        cluster: 'drill-zk',
        brokers: new Map([
          [1, 7101],
          [2, 7102],
        ]),
        zookeepers: new Map([[1, 7201]]),
      },
      ruleFiles,
      alertmanagerPort: 9993,
      scrapeSeconds: 1,
    });
    expect(cfg).toMatchObject({
      global: { scrape_interval: '1000ms', scrape_timeout: '1000ms', evaluation_interval: '1000ms' },
      alerting: { alertmanagers: [{ static_configs: [{ targets: ['127.0.0.1:9993'] }] }] },
      scrape_configs: [
        {
          job_name: 'kafka',
          static_configs: [
            { targets: ['127.0.0.1:7101'], labels: { cluster: 'drill-zk', broker: '1' } },
            { targets: ['127.0.0.1:7102'], labels: { cluster: 'drill-zk', broker: '2' } },
          ],
        },
        { job_name: 'zookeeper', static_configs: [{ targets: ['127.0.0.1:7201'], labels: { cluster: 'drill-zk' } }] },
      ],
    });
    const kraft = prometheusConfig({
      targets: { cluster: 'k', brokers: new Map([[1, 1]]), zookeepers: new Map() },
      ruleFiles,
      alertmanagerPort: 1,
      scrapeSeconds: 1,
    }) as { scrape_configs: { job_name: string }[] };
    expect(kraft.scrape_configs.map((c) => c.job_name)).toEqual(['kafka']);
    const file = join(dir, 'prometheus.yml');
    writeFileSync(file, toYaml(cfg));
    const r = spawnSync(join(bin, 'promtool'), ['check', 'config', file], { encoding: 'utf8' });
    expect(r.status, r.stdout + r.stderr).toBe(0);
  });

  it('Alertmanager posts every alert, resolved too, with the bearer token from a file, and amtool accepts it', () => {
    const cfg = alertmanagerConfig({
      webhookUrl: 'http://127.0.0.1:4000/alertmanager',
      tokenFile: '/tmp/token',
      groupWaitSeconds: 1,
      groupIntervalSeconds: 2,
    });
    expect(cfg).toMatchObject({
      route: {
        receiver: 'kafka-heal',
        group_by: ['alertname', 'cluster', 'broker'],
        group_wait: '1000ms',
        group_interval: '2000ms',
      },
      receivers: [
        {
          name: 'kafka-heal',
          webhook_configs: [
            {
              url: 'http://127.0.0.1:4000/alertmanager',
              send_resolved: true,
              max_alerts: 0,
              http_config: { authorization: { type: 'Bearer', credentials_file: '/tmp/token' } },
            },
          ],
        },
      ],
    });
    const file = join(dir, 'alertmanager.yml');
    writeFileSync(file, toYaml(cfg));
    const r = spawnSync(join(bin, 'amtool'), ['check-config', file], { encoding: 'utf8' });
    expect(r.status, r.stdout + r.stderr).toBe(0);
  });

  it('exporters listen on 127.0.0.1 only: the agent flag and the ZooKeeper provider entries', () => {
    expect(jmxAgentArg('/jars', 7071)).toBe(
      `-javaagent:/jars/jmx_prometheus_javaagent-1.0.1.jar=127.0.0.1:7071:${JMX_EXPORTER_CONFIG}`,
    );
    expect(zookeeperMetricsConfig(7000)).toEqual({
      'metricsProvider.className': 'org.apache.zookeeper.metrics.prometheus.PrometheusMetricsProvider',
      'metricsProvider.httpHost': '127.0.0.1',
      'metricsProvider.httpPort': '7000',
      'metricsProvider.exportJvmInfo': 'false',
    });
  });
});

describe('the local webhook: API Gateway validation, the real authorizer, the real handler', () => {
  it("401 without a bearer header, 403 with a wrong token, the handler's answer with the right one; the token file is 0600", async () => {
    const seen: string[] = [];
    const hook = await startAlertWebhook({
      tokenFile: join(dir, 'token'),
      handler: (e) => {
        seen.push(e.body);
        return Promise.resolve({
          statusCode: 202,
          body: '{"signalIds":["sig-1"]}',
          headers: { 'content-type': 'application/json' },
        });
      },
    });
    try {
      expect(statSync(hook.tokenFile).mode & 0o777).toBe(0o600);
      const token = readFileSync(hook.tokenFile, 'utf8').trim();
      expect(token.length).toBeGreaterThanOrEqual(40);
      const post = (headers: Record<string, string>, path = '/alertmanager') =>
        fetch(hook.url.replace('/alertmanager', path), {
          method: 'POST',
          headers,
          body: '{"version":"4","alerts":[]}',
        });
      expect((await post({})).status).toBe(401);
      expect((await post({ authorization: 'Basic abc' })).status).toBe(401);
      expect((await post({ authorization: 'Bearer wrong-token' })).status).toBe(403);
      expect((await post({ authorization: `Bearer ${token}` }, '/other')).status).toBe(404);
      const ok = await post({ authorization: `Bearer ${token}` });
      expect(ok.status).toBe(202);
      expect(await ok.json()).toEqual({ signalIds: ['sig-1'] });
      expect(seen).toEqual(['{"version":"4","alerts":[]}']);
      expect(hook.requests.map((r) => r.status)).toEqual([401, 401, 403, 404, 202]);
      expect(hook.requests.at(-1)?.body).toBe('{"version":"4","alerts":[]}');
    } finally {
      await hook.close();
    }
  });

  it('a handler that throws is a 500 (Alertmanager retries), not a crash', async () => {
    const hook = await startAlertWebhook({
      tokenFile: join(dir, 'token2'),
      handler: () => Promise.reject(new Error('queue down')),
    });
    try {
      const token = readFileSync(hook.tokenFile, 'utf8').trim();
      const r = await fetch(hook.url, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: '{}' });
      expect(r.status).toBe(500);
      expect(await r.json()).toEqual({ message: 'queue down' });
    } finally {
      await hook.close();
    }
  });

  it('the drill timeline gets one entry per alert of an answered webhook', () => {
    const body = JSON.stringify({
      alerts: [
        {
          status: 'firing',
          labels: { alertname: 'KafkaBrokerDown', cluster: 'drill-prom', broker: '2' },
          annotations: { summary: 'Broker 2 down' },
        },
        { status: 'resolved', labels: { alertname: 'ZookeeperQuorumLost', cluster: 'drill-zk' } },
      ],
    });
    expect(webhookAlertEvents({ at: 5, status: 202, body }).map((e) => [e.event, e.detail])).toEqual([
      [
        'alert:firing',
        'drill-prom KafkaBrokerDown broker 2 (Prometheus rule, Alertmanager webhook 202): Broker 2 down',
      ],
      ['alert:resolved', 'drill-zk ZookeeperQuorumLost (Prometheus rule, Alertmanager webhook 202): '],
    ]);
    expect(
      webhookAlertEvents({ at: 5, status: 400, body: JSON.stringify({ alerts: [{ labels: {} }] }) })[0],
    ).toMatchObject({ event: 'alert:rejected', detail: '? ? (Prometheus rule, Alertmanager webhook 400): ' });
    expect(webhookAlertEvents({ at: 5, status: 413 })).toEqual([
      { at: 5, source: 'alarm', event: 'alert:rejected', detail: 'Alertmanager webhook answered 413 (body not JSON)' },
    ]);
  });
});
