// The CDK entry point as `cdk synth` runs it (CDK passes context through CDK_CONTEXT_JSON and the
// output folder through CDK_OUTDIR): config files from context, invalid config -> exit 2 with
// every bad field and value on stderr.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { afterAll, describe, expect, it } from 'vitest';
import {
  CONFIG_FILES_CONTEXT,
  ConfigErrors,
  DEFAULT_CONFIG_FILES,
  configFilesFrom,
  loadConfigs,
} from '#infra/app-builder.js';

const dir = mkdtempSync(join(tmpdir(), 'kh-app-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function runApp(context: Record<string, unknown>) {
  const outdir = mkdtempSync(join(dir, 'out-'));
  const env: NodeJS.ProcessEnv = { ...process.env, CDK_CONTEXT_JSON: JSON.stringify(context), CDK_OUTDIR: outdir };
  for (const k of Object.keys(env)) if (k.startsWith('AWS_') && k !== 'AWS_CA_BUNDLE') delete env[k];
  const res = spawnSync(process.execPath, ['--import', 'tsx', 'infra/app.ts'], {
    env,
    encoding: 'utf8',
    timeout: 180_000,
  });
  return { ...res, outdir };
}

describe('configFilesFrom', () => {
  it('defaults to the three example configs', () => {
    expect(configFilesFrom(new App())).toEqual(DEFAULT_CONFIG_FILES);
    expect(DEFAULT_CONFIG_FILES).toEqual([
      'examples/config/msk.yaml',
      'examples/config/ec2-zookeeper.yaml',
      'examples/config/dr-pair.yaml',
    ]);
  });
  it('reads a comma-separated string (as -c gives it) or a JSON list', () => {
    expect(configFilesFrom(new App({ context: { [CONFIG_FILES_CONTEXT]: ' a.yaml, b.yaml ,' } }))).toEqual([
      'a.yaml',
      'b.yaml',
    ]);
    expect(configFilesFrom(new App({ context: { [CONFIG_FILES_CONTEXT]: ['c.yaml'] } }))).toEqual(['c.yaml']);
  });
});

describe('loadConfigs', () => {
  it('loads every example', () => {
    expect(loadConfigs(DEFAULT_CONFIG_FILES).map((c) => c.deployment)).toEqual(['prod-eu', 'prod-us', 'events']);
  });
  it('reports the errors of every file together, and a deployment used twice', () => {
    const missing = join(dir, 'missing.yaml');
    try {
      loadConfigs(['examples/config/msk.yaml', 'examples/config/msk.yaml', missing]);
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigErrors);
      const e = err as ConfigErrors;
      expect(e.errors).toHaveLength(2);
      expect(e.message).toContain(
        'deployment: must differ between config files (examples/config/msk.yaml uses it too), got "prod-eu"',
      );
      expect(e.message).toContain(`${missing}: invalid kafka-heal configuration`);
      expect(e.message).toContain('no such file');
    }
  });
});

describe('infra/app.ts', () => {
  it('exits 2 naming each bad field and its value when a config is invalid', () => {
    const bad = join(dir, 'bad.yaml');
    writeFileSync(
      bad,
      [
        'deployment: Prod_EU',
        'region: eu-west-1',
        'clusters:',
        '  - name: orders',
        '    platform: msk',
        '    msk: { clusterArn: "arn:aws:kafka:eu-west-1:123456789012:cluster/orders/6357e0b2-0e6a-4b86-a0b4-70df934c2e31-5", clusterName: orders }',
        '    brokerCount: 3',
        '    bootstrapServers: ["b-1.orders.example.com:9092"]',
        '    probe: { vpcId: vpc-0a1b2c3d4e5f60718, subnetIds: [subnet-xyz], securityGroupId: sg-0a1b2c3d4e5f60733 }',
        '',
      ].join('\n'),
    );
    const res = runApp({ [CONFIG_FILES_CONTEXT]: bad, 'aws:cdk:bundling-stacks': [] });
    expect(res.status, res.stderr).toBe(2);
    expect(res.stderr).toContain('deployment:');
    expect(res.stderr).toContain('"Prod_EU"');
    expect(res.stderr).toContain('clusters[0].probe.subnetIds[0]');
    expect(res.stderr).toContain('"subnet-xyz"');
    expect(readdirSync(res.outdir).filter((f) => f.endsWith('.template.json'))).toEqual([]);
  }, 180_000);

  it('synthesizes exactly the stacks of the files named in context, each in its own region, without AWS credentials', () => {
    const res = runApp({
      [CONFIG_FILES_CONTEXT]: 'examples/config/ec2-zookeeper.yaml,examples/config/msk.yaml',
      'aws:cdk:bundling-stacks': [],
    });
    expect(res.status, res.stderr).toBe(0);
    expect(
      readdirSync(res.outdir)
        .filter((f) => f.endsWith('.template.json'))
        .sort(),
    ).toEqual(['KafkaHeal-prod-eu.template.json', 'KafkaHeal-prod-us.template.json']);
    // The environment `cdk deploy --all` deploys each stack to: the config's region (and account
    // where it names one), not the profile's.
    const manifest = JSON.parse(readFileSync(join(res.outdir, 'manifest.json'), 'utf8')) as {
      artifacts: Record<string, { environment?: string }>;
    };
    expect(manifest.artifacts['KafkaHeal-prod-us']?.environment).toBe('aws://unknown-account/us-east-1');
    expect(manifest.artifacts['KafkaHeal-prod-eu']?.environment).toBe('aws://123456789012/eu-west-1');
  }, 300_000);
});
