import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '#cli/main.js';
import type { ClassifyOutput } from '#cli/commands/classify.js';

const EVENTS = 'test/fixtures/events';
const CONFIG = 'test/fixtures/config/classify-clusters.yaml';
const NOW = '2026-11-22T02:00:00Z';

async function run(...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(['classify', ...argv], { stdout: (t) => out.push(t), stderr: (t) => err.push(t) });
  return { code, stdout: out.join('\n'), stderr: err.join('\n') };
}

async function classify(event: string, ...extra: string[]): Promise<ClassifyOutput> {
  const r = await run('--event', `${EVENTS}/${event}`, '--now', NOW, ...extra);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout) as ClassifyOutput;
}

const dir = mkdtempSync(join(tmpdir(), 'kh-classify-'));
function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

describe('kafka-heal classify: one fixture per source, with the clusters config', () => {
  it('CloudWatch single metric (MSK disk 91.5%) -> disk-pressure SEV-2, auto mode from the config', async () => {
    const o = await classify('cloudwatch-single-metric.json', '--config', CONFIG);
    expect(o.signals).toHaveLength(1);
    expect(o.signals[0]).toMatchObject({
      cluster: 'orders',
      kind: 'disk-usage',
      brokerIds: [2],
      state: 'firing',
      value: 91.5,
    });
    expect(o.decision).toMatchObject({
      action: 'remediate',
      incidentType: 'disk-pressure',
      severity: 'SEV-2',
      plan: { workflow: 'disk-pressure', brokerIds: [2], dryRun: false },
    });
    expect(o.decisions).toEqual([{ signalId: o.signals[0]!.id, ...o.decision }]);
    expect(o.notes).toEqual([]);
  });

  it('CloudWatch metric math (CPU) -> resource-pressure notification', async () => {
    const o = await classify('cloudwatch-metric-math.json', '--config', CONFIG);
    expect(o.signals[0]).toMatchObject({ cluster: 'orders', kind: 'cpu-high', brokerIds: [1] });
    expect(o.decision).toMatchObject({
      action: 'escalate',
      incidentType: 'resource-pressure',
      severity: 'SEV-3',
      page: false,
    });
  });

  it('CloudWatch anomaly detection (bytes in) -> traffic-spike', async () => {
    const o = await classify('cloudwatch-anomaly-detection.json', '--config', CONFIG);
    expect(o.signals[0]).toMatchObject({ kind: 'traffic-spike', cluster: 'orders' });
    expect(o.decision).toMatchObject({ action: 'escalate', incidentType: 'traffic-spike', severity: 'SEV-3' });
  });

  it('CloudWatch composite with the marker -> MSK broker recovery', async () => {
    const o = await classify('cloudwatch-composite.json', '--config', CONFIG);
    expect(o.signals[0]).toMatchObject({ cluster: 'orders', kind: 'broker-down', brokerIds: [3] });
    expect(o.decision).toMatchObject({
      action: 'remediate',
      incidentType: 'broker-failure',
      severity: 'SEV-2',
      plan: { workflow: 'msk-broker-recovery', brokerIds: [3] },
    });
  });

  it('CloudWatch Configuration Change -> exit 0, no signals, an ignore decision with the reason', async () => {
    const o = await classify('cloudwatch-configuration-change.json', '--config', CONFIG);
    expect(o.signals).toEqual([]);
    expect(o.decisions).toEqual([]);
    expect(o.decision).toEqual({
      action: 'ignore',
      incidentType: 'unknown',
      severity: 'SEV-4',
      reasons: [
        'CloudWatch Alarm Configuration Change for ServerCpuTooHigh: alarm configuration changes are not fault signals',
      ],
    });
  });

  it('the unchanged AWS sample (EC2 CPU) names no cluster -> escalate', async () => {
    const o = await classify('cloudwatch-single-metric-aws-sample.json', '--config', CONFIG);
    expect(o.signals[0]).toMatchObject({ cluster: '', kind: 'unknown' });
    expect(o.decision).toMatchObject({ action: 'escalate', severity: 'SEV-2', page: true });
  });

  it('Alertmanager firing broker-down -> MSK broker recovery', async () => {
    const o = await classify('alertmanager-firing.json', '--config', CONFIG);
    expect(o.signals[0]).toMatchObject({
      source: 'alertmanager',
      cluster: 'orders',
      kind: 'broker-down',
      brokerIds: [2],
      state: 'firing',
    });
    expect(o.decision).toMatchObject({
      action: 'remediate',
      severity: 'SEV-2',
      plan: { workflow: 'msk-broker-recovery' },
    });
  });

  it('Alertmanager resolved -> ignore', async () => {
    const o = await classify('alertmanager-resolved.json', '--config', CONFIG);
    expect(o.signals[0]).toMatchObject({ state: 'resolved' });
    expect(o.decision).toMatchObject({ action: 'ignore', severity: 'SEV-4', incidentType: 'broker-failure' });
  });

  it('Alertmanager group -> one decision per alert; the most severe firing one is the decision', async () => {
    const o = await classify('alertmanager-grouped.json', '--config', CONFIG);
    expect(o.signals.map((s) => s.kind)).toEqual(['consumer-lag', 'under-replicated', 'disk-usage']);
    expect(o.decisions.map((d) => [d.action, d.severity])).toEqual([
      ['remediate', 'SEV-2'],
      ['escalate', 'SEV-3'],
      ['ignore', 'SEV-4'],
    ]);
    expect(o.decisions.map((d) => d.signalId)).toEqual(o.signals.map((s) => s.id));
    expect(o.decision).toMatchObject({ incidentType: 'consumer-lag', severity: 'SEV-2' });
    expect(o.decision).not.toHaveProperty('signalId');
  });

  it.each(['amp-sns-lambda.json', 'amp-sns-notification.json'])(
    'AMP via SNS (%s) -> offline partitions escalate SEV-1',
    async (event) => {
      const o = await classify(event, '--config', CONFIG);
      expect(o.signals[0]).toMatchObject({ source: 'amp', cluster: 'orders', kind: 'offline-partitions' });
      expect(o.decision).toMatchObject({
        action: 'escalate',
        incidentType: 'offline-partitions',
        severity: 'SEV-1',
        page: true,
      });
    },
  );

  it('probe result -> the SEV-1 lag outranks the SEV-2 broker', async () => {
    const o = await classify('probe-result.json', '--config', CONFIG);
    expect(o.decisions.map((d) => d.severity)).toEqual(['SEV-2', 'SEV-1']);
    expect(o.decision).toMatchObject({ incidentType: 'consumer-lag', severity: 'SEV-1', action: 'remediate' });
  });

  it('a cluster without a policy block gets dry-run, never auto', async () => {
    const event = file(
      'payments-broker.json',
      JSON.stringify({
        source: 'kafka-heal.probe',
        cluster: 'payments',
        observedAt: NOW,
        findings: [{ kind: 'broker-down', brokerIds: [4], state: 'firing' }],
      }),
    );
    const r = await run('--event', event, '--config', CONFIG, '--now', NOW);
    const o = JSON.parse(r.stdout) as ClassifyOutput;
    expect(o.decision).toMatchObject({ action: 'remediate', plan: { workflow: 'broker-recovery', dryRun: true } });
  });

  it('a cluster missing from the config escalates', async () => {
    const event = file(
      'stranger.json',
      JSON.stringify({
        source: 'kafka-heal.probe',
        cluster: 'stranger',
        observedAt: NOW,
        findings: [{ kind: 'broker-down', brokerIds: [1], state: 'firing' }],
      }),
    );
    const r = await run('--event', event, '--config', CONFIG, '--now', NOW);
    expect(JSON.parse(r.stdout).decision).toMatchObject({
      action: 'escalate',
      severity: 'SEV-2',
      reasons: [expect.stringContaining('cluster "stranger" is not configured')],
    });
  });
});

describe('kafka-heal classify without --config', () => {
  it('infers MSK for AWS/Kafka metrics with 3 brokers and the dry-run default, and says so', async () => {
    const o = await classify('cloudwatch-single-metric.json');
    expect(o.signals[0]).toMatchObject({ cluster: 'orders-msk' });
    expect(o.decision).toMatchObject({ action: 'remediate', plan: { workflow: 'disk-pressure', dryRun: true } });
    expect(o.notes[0]).toMatch(/No --config: .*3 brokers.*mode dry-run/);
  });

  it('EC2 is assumed for other sources', async () => {
    const o = await classify('alertmanager-firing.json');
    expect(o.decision).toMatchObject({ plan: { workflow: 'broker-recovery', dryRun: true } });
  });

  it('2 brokers of the inferred 3 is an emergency', async () => {
    const event = file(
      'two.json',
      JSON.stringify({
        source: 'kafka-heal.probe',
        cluster: 'x',
        observedAt: NOW,
        findings: [{ kind: 'broker-down', brokerIds: [1, 2], state: 'firing' }],
      }),
    );
    const r = await run('--event', event, '--now', NOW);
    expect(JSON.parse(r.stdout).decision).toMatchObject({
      action: 'escalate',
      severity: 'SEV-1',
      incidentType: 'cascade-failure',
    });
  });

  it('--now defaults to the current time', async () => {
    const r = await run('--event', `${EVENTS}/probe-result.json`);
    expect(r.code).toBe(0);
  });
});

describe('kafka-heal classify: bad input exits 2 with one line', () => {
  async function fails(argv: string[], message: RegExp) {
    const r = await run(...argv);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(message);
  }

  it('missing --event', () => fails([], /^kafka-heal classify: missing required flag --event$/));
  it('unknown flag', () => fails(['--event', 'x', '--bogus'], /Unknown option '--bogus'/));
  it('unreadable file', () =>
    fails(['--event', join(dir, 'nope.json')], /cannot read --event .*nope\.json: no such file/));
  it('a directory', () => fails(['--event', dir], /cannot read --event .*: is a directory/));
  it('not JSON', () => fails(['--event', file('bad.json', '{"version": "4",')], /bad\.json: not valid JSON/));
  it('malformed event', () =>
    fails(
      [
        '--event',
        file(
          'malformed.json',
          JSON.stringify({
            version: '4',
            groupKey: 'g',
            alerts: [
              { status: 'firing', labels: {} },
              { status: 'firing', labels: {} },
              { status: 'firing', labels: 'x' },
            ],
          }),
        ),
      ],
      /malformed\.json: alertmanager payload: alerts\[2\]\.labels must be an object$/,
    ));
  it('unknown source', () =>
    fails(['--event', file('unknown.json', '{"hello":"world"}')], /unknown\.json: event matches no supported source/));
  it('a JSON value that is not an object', () =>
    fails(['--event', file('array.json', '[1,2]')], /array\.json: event must be a JSON object/));
  it.each(['tomorrow', '2026', '2026-11-22', '2026-13-45T25:00:00Z'])('bad --now %s', (now) =>
    fails(['--event', `${EVENTS}/probe-result.json`, '--now', now], /--now must be an ISO 8601 time/),
  );
  it('invalid config: the first issue and how to see the rest', () =>
    fails(
      [
        '--event',
        `${EVENTS}/probe-result.json`,
        '--config',
        file('bad.yaml', 'deployment: BAD\nregion: eu-west-1\nclusters: 5\n'),
      ],
      /--config .*bad\.yaml: invalid configuration: deployment: .*\(and 1 more; run kafka-heal config validate/,
    ));
  it('unreadable config', () =>
    fails(
      ['--event', `${EVENTS}/probe-result.json`, '--config', join(dir, 'missing.yaml')],
      /invalid configuration: cannot read the configuration file: no such file$/,
    ));
  it('a config policy the runtime rejects', () => {
    const cfg = file(
      'policy.yaml',
      readFixtureConfig().replace('mode: auto', 'mode: auto\n      thresholds: { lagSev2: 5000 }'),
    );
    return fails(
      ['--event', `${EVENTS}/probe-result.json`, '--config', cfg],
      /--config: cluster orders: invalid policy: thresholds\.lagSev3\/lagSev2: must be ordered/,
    );
  });
  it('--help prints the usage', async () => {
    const r = await run('--help');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/usage: kafka-heal classify --event <file.json>/);
  });
});

function readFixtureConfig(): string {
  return readFileSync(CONFIG, 'utf8');
}
