// The shipped Prometheus rules (monitoring/prometheus) through the real tools: promtool checks
// every rule file and runs the unit tests in monitoring/prometheus/tests (every alert has one that
// fires it with the labels the healer's normalizer reads), amtool checks the Alertmanager receiver
// and promtool the example scrape configuration. Debian's prometheus (promtool) and
// prometheus-alertmanager (amtool) come from scripts/prometheus.sh, which installs them when they
// are missing: nothing here is skipped.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SIGNAL_KINDS } from '#domain/types.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const DIR = join(ROOT, 'monitoring', 'prometheus');
const RULES = readdirSync(join(DIR, 'rules'))
  .filter((f) => f.endsWith('.yml'))
  .map((f) => join('rules', f));
const TESTS = readdirSync(join(DIR, 'tests'))
  .filter((f) => f.endsWith('.test.yml'))
  .map((f) => join('tests', f));

interface Rule {
  alert: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
interface AlertTest {
  alertname: string;
  exp_alerts: { exp_labels?: Record<string, string> }[];
}

let bin = '';
const tool = (name: string, args: string[]) =>
  spawnSync(join(bin, name), args, { cwd: DIR, encoding: 'utf8', timeout: 120_000 });
const rules = (): Rule[] =>
  RULES.flatMap((f) =>
    (parseYaml(readFileSync(join(DIR, f), 'utf8')) as { groups: { rules: Rule[] }[] }).groups.flatMap((g) => g.rules),
  );
const alertTests = (): AlertTest[] =>
  TESTS.flatMap((f) =>
    (parseYaml(readFileSync(join(DIR, f), 'utf8')) as { tests: { alert_rule_test?: AlertTest[] }[] }).tests.flatMap(
      (t) => t.alert_rule_test ?? [],
    ),
  );

beforeAll(() => {
  // Installs Debian's packages once when promtool or amtool is missing (CI runs as root on a fresh machine).
  bin = execFileSync('bash', [join(ROOT, 'scripts', 'prometheus.sh')], { encoding: 'utf8', timeout: 600_000 }).trim();
}, 660_000);

const scratch: string[] = [];
afterAll(() => {
  for (const d of scratch) rmSync(d, { recursive: true, force: true });
});

describe('shipped Prometheus rules', () => {
  it('there are rule files for Kafka, ZooKeeper and KRaft, each with a test file', () => {
    expect(RULES.sort()).toEqual(['rules/kafka.rules.yml', 'rules/kraft.rules.yml', 'rules/zookeeper.rules.yml']);
    expect(TESTS.sort()).toEqual(['tests/kafka.test.yml', 'tests/kraft.test.yml', 'tests/zookeeper.test.yml']);
  });

  it('promtool check rules accepts every rule file', () => {
    const r = tool('promtool', ['check', 'rules', ...RULES]);
    expect(r.status, `${r.stdout}${r.stderr}`).toBe(0);
    expect(r.stdout.match(/SUCCESS/g)).toHaveLength(RULES.length);
  });

  it('promtool test rules passes every unit test', () => {
    const r = tool('promtool', ['test', 'rules', ...TESTS]);
    expect(r.status, `${r.stdout}${r.stderr}`).toBe(0);
    expect(r.stdout.match(/SUCCESS/g)).toHaveLength(TESTS.length);
  });

  it('promtool test rules fails on a wrong expectation (the tests can fail)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kh-promtool-'));
    scratch.push(dir);
    const test = {
      rule_files: [join(DIR, 'rules', 'kafka.rules.yml')],
      evaluation_interval: '15s',
      tests: [
        {
          interval: '15s',
          input_series: [{ series: 'up{job="kafka", cluster="orders", broker="2"}', values: '1x8' }],
          alert_rule_test: [
            {
              eval_time: '90s',
              alertname: 'KafkaBrokerDown',
              exp_alerts: [
                {
                  exp_labels: {
                    severity: 'critical',
                    kafka_heal_kind: 'broker-down',
                    job: 'kafka',
                    cluster: 'orders',
                    broker: '2',
                  },
                },
              ],
            },
          ],
        },
      ],
    };
    writeFileSync(join(dir, 'wrong.test.yml'), JSON.stringify(test));
    const r = tool('promtool', ['test', 'rules', join(dir, 'wrong.test.yml')]);
    expect(r.status).not.toBe(0);
    expect(r.stdout + r.stderr).toMatch(/FAILED/);
  });

  it('every alert carries a kafka_heal_kind the normalizer accepts, a severity, a summary and its value', () => {
    const all = rules();
    expect(all.length).toBeGreaterThanOrEqual(9);
    for (const r of all) {
      expect(SIGNAL_KINDS, r.alert).toContain(r.labels?.kafka_heal_kind);
      expect(r.labels?.kafka_heal_kind, r.alert).not.toBe('unknown');
      expect(['critical', 'warning'], r.alert).toContain(r.labels?.severity);
      expect(r.annotations?.summary, r.alert).toBeTruthy();
      expect(r.annotations?.value, r.alert).toBe('{{ $value }}');
      expect(r.for, r.alert).toMatch(/^\d+m$/);
    }
    expect(new Set(all.map((r) => r.alert)).size).toBe(all.length);
  });

  it('every alert has a unit test that fires it with its kind and cluster (and broker for broker-level alerts)', () => {
    const tests = alertTests();
    for (const r of rules()) {
      const firing = tests.filter((t) => t.alertname === r.alert).flatMap((t) => t.exp_alerts);
      expect(firing.length, `${r.alert} has no test that fires it`).toBeGreaterThan(0);
      for (const a of firing) {
        expect(a.exp_labels?.kafka_heal_kind, r.alert).toBe(r.labels?.kafka_heal_kind);
        expect(a.exp_labels?.cluster, r.alert).toBeTruthy();
        if (['broker-down', 'heap-high', 'disk-usage'].includes(r.labels?.kafka_heal_kind ?? ''))
          expect(a.exp_labels?.broker, r.alert).toMatch(/^\d+$/);
      }
      // And a quiet case: before `for:` has passed or on the other side of the condition.
      expect(
        tests.some((t) => t.alertname === r.alert && t.exp_alerts.length === 0),
        `${r.alert} has no test where it stays quiet`,
      ).toBe(true);
    }
  });

  it('amtool accepts the Alertmanager receiver; the token comes from a file and resolved alerts are sent', () => {
    const r = tool('amtool', ['check-config', 'alertmanager/kafka-heal.yml']);
    expect(r.status, `${r.stdout}${r.stderr}`).toBe(0);
    const am = parseYaml(readFileSync(join(DIR, 'alertmanager', 'kafka-heal.yml'), 'utf8')) as {
      receivers: {
        name: string;
        webhook_configs: {
          url: string;
          send_resolved: boolean;
          http_config: { authorization: Record<string, string> };
        }[];
      }[];
    };
    const hook = am.receivers.find((x) => x.name === 'kafka-heal')?.webhook_configs[0];
    expect(hook?.url).toMatch(/\/v1\/alertmanager$/);
    expect(hook?.send_resolved).toBe(true);
    expect(hook?.http_config.authorization).toEqual({
      type: 'Bearer',
      credentials_file: '/etc/alertmanager/kafka-heal-token',
    });
  });

  it('promtool accepts the example scrape configuration with the rule files', () => {
    const r = tool('promtool', ['check', 'config', 'prometheus.example.yml']);
    expect(r.status, `${r.stdout}${r.stderr}`).toBe(0);
  });
});
