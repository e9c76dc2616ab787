// The Lambda bundles as `cdk synth` builds them (esbuild, no Docker): one stack is bundled for
// real, then each bundle is checked for the house format (CommonJS, see BUNDLE_FILE) and actually
// loaded in Node with `require`, as the Lambda runtime loads a CommonJS handler, and the webhook
// authorizer bundle is run end to end against a mocked Secrets Manager. The AWS SDK is external to
// the bundles, so the bundle requires the SDK from node_modules: the same class that
// aws-sdk-client-mock patches. The probe library ships as the stack's Lambda layer: the probe and
// cluster-steps bundles leave `@kafka-heal/probe` external, and the layer asset holds it.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { CloudWatchClient, ListTagsForResourceCommand } from '@aws-sdk/client-cloudwatch';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { MAX_BUNDLE_KB } from '#bench/bundles.js';
import { addHealerStacks, loadConfigs } from '#infra/app-builder.js';
import { BUNDLE_FILE, PROJECT_ROOT } from '#infra/constructs/healer-function.js';
import type * as ProbeModule from '#shared/probe/index.js';
import { closedPort } from '../support/helpers.js';

type Resources = Record<string, { Type: string; Properties: Record<string, unknown> }>;

// Inside the project so that the bundles resolve the external @aws-sdk/* from node_modules.
const base = join(PROJECT_ROOT, '.cache', 'test-bundles');
let outdir: string;
/** Powertools service name -> bundle folder. */
const bundles = new Map<string, string>();
/** The probe layer's asset folder (its zip's content). */
let layerDir: string | undefined;
/** Logical id of the layer, and the Layers property of each function by service name. */
let layerId: string | undefined;
const fnLayers = new Map<string, unknown>();
/** The string environment variables of each function by service name. */
const fnEnv = new Map<string, Record<string, string>>();

/** Code of functions/shared/probe/wire.ts, kept by minification (a template literal's text). */
const PROBE_CODE_MARK = 'truncated Kafka response at byte';
const PROBE_MODULE = '@kafka-heal/probe';
const LAYER_MODULE_PATH = ['nodejs', 'node_modules', '@kafka-heal', 'probe', 'index.mjs'];
/** The functions that load the probe layer. */
const PROBING = ['kafka-heal-cluster-steps-orders', 'kafka-heal-probe-orders'];

/** Node's own require (not vitest's resolver), as the Lambda runtime loads a CommonJS handler. */
const nodeRequire = createRequire(import.meta.url);

/** A fresh instance of a bundle (it reads its environment when it loads). */
function freshRequire(file: string): unknown {
  delete nodeRequire.cache[file];
  return nodeRequire(file);
}

beforeAll(() => {
  mkdirSync(base, { recursive: true });
  outdir = mkdtempSync(join(base, 'cdk-'));
  // Lambda's /var/task has no package.json; this folder is inside the project, whose package.json
  // says "type": "module", which would make Node read the .js bundles as ES modules.
  writeFileSync(join(outdir, 'package.json'), JSON.stringify({ type: 'commonjs' }));
  const app = new App({ outdir, context: { 'aws:cdk:bundling-stacks': ['KafkaHeal-prod-eu'] } });
  const [stack] = addHealerStacks(app, loadConfigs(['examples/config/msk.yaml']), { nag: false });
  const fns = Template.fromStack(stack as never).findResources('AWS::Lambda::Function') as Resources;
  for (const f of Object.values(fns)) {
    const service = (f.Properties['Environment'] as { Variables: Record<string, string> }).Variables[
      'POWERTOOLS_SERVICE_NAME'
    ] as string;
    const key = (f.Properties['Code'] as { S3Key: string }).S3Key;
    bundles.set(service, join(outdir, `asset.${key.replace(/\.zip$/, '')}`));
    fnLayers.set(service, f.Properties['Layers']);
    const vars = (f.Properties['Environment'] as { Variables: Record<string, unknown> }).Variables;
    fnEnv.set(
      service,
      Object.fromEntries(Object.entries(vars).filter((e): e is [string, string] => typeof e[1] === 'string')),
    );
  }
  const layers = Template.fromStack(stack as never).findResources('AWS::Lambda::LayerVersion') as Resources;
  const entry = Object.entries(layers)[0];
  if (entry && Object.keys(layers).length === 1) {
    layerId = entry[0];
    const key = (entry[1].Properties['Content'] as { S3Key: string }).S3Key;
    layerDir = join(outdir, `asset.${key.replace(/\.zip$/, '')}`);
  }
}, 300_000);

afterAll(() => {
  if (outdir) rmSync(outdir, { recursive: true, force: true });
});

describe('Lambda bundles (esbuild, CommonJS)', () => {
  it('builds one bundle per function', () => {
    expect([...bundles.keys()].sort()).toEqual([
      'kafka-heal-approval-endpoint',
      'kafka-heal-approval-request',
      'kafka-heal-auto-resolve',
      'kafka-heal-classify',
      'kafka-heal-cluster-steps-orders',
      'kafka-heal-escalation',
      'kafka-heal-incident-endpoint',
      'kafka-heal-incident-lifecycle',
      'kafka-heal-incident-metrics',
      'kafka-heal-ingest',
      'kafka-heal-ingest-webhook',
      'kafka-heal-notify-redeliver',
      'kafka-heal-pagerduty-webhook',
      'kafka-heal-probe-orders',
      'kafka-heal-webhook-authorizer',
      'kafka-heal-workflow-steps',
    ]);
  });

  it('each is a minified CommonJS module with a source map, and the AWS SDK left external', () => {
    expect(BUNDLE_FILE).toBe('index.js');
    for (const [service, dir] of bundles) {
      expect(existsSync(join(dir, 'index.mjs')), service).toBe(false);
      const code = readFileSync(join(dir, BUNDLE_FILE), 'utf8');
      expect(code.startsWith('"use strict";'), service).toBe(true);
      expect(code, service).toMatch(/module\.exports\s*=/);
      expect(code, service).not.toMatch(/^import[\s{]/m);
      expect(existsSync(join(dir, `${BUNDLE_FILE}.map`)), service).toBe(true);
      expect(code, service).toMatch(/sourceMappingURL=index\.js\.map/);
      // Minified: long lines (only template literals keep their newlines).
      expect(code.length / code.split('\n').length, service).toBeGreaterThan(1000);
    }
    const authorizer = readFileSync(join(bundles.get('kafka-heal-webhook-authorizer') as string, BUNDLE_FILE), 'utf8');
    expect(authorizer).toMatch(/require\("@aws-sdk\/client-secrets-manager"\)/);
    expect(authorizer).not.toContain('class SecretsManagerClient');
  });

  it(`each bundle stays within ${MAX_BUNDLE_KB} KB (the AWS SDK external, zod imported as a namespace, no YAML parser or X-Ray SDK)`, () => {
    for (const [service, dir] of bundles) {
      const code = readFileSync(join(dir, BUNDLE_FILE), 'utf8');
      expect(Buffer.byteLength(code) / 1024, service).toBeLessThanOrEqual(MAX_BUNDLE_KB);
      // The markers of what used to make them big: zod's locales, the YAML parser, the X-Ray SDK.
      expect(code, service).not.toMatch(/aws-xray-sdk|AWS_XRAY_DAEMON_ADDRESS/);
      expect(code, service).not.toContain('Implicit keys of flow sequence pairs');
    }
  });

  it('every bundle loads in Node with require and exports handler', { timeout: 180_000 }, () => {
    for (const [service, dir] of bundles) {
      // These need the probe layer on the module path: loaded without and with it below.
      if (PROBING.includes(service)) continue;
      const mod = freshRequire(join(dir, BUNDLE_FILE)) as { handler?: unknown };
      expect(typeof mod.handler, service).toBe('function');
    }
  });

  it('the bundled authorizer allows the right token and denies a wrong one', async () => {
    const sm = mockClient(SecretsManagerClient);
    sm.on(GetSecretValueCommand).resolves({ SecretString: 'bundle-token-123' });
    vi.stubEnv(
      'TOKEN_SECRET_ARN',
      'arn:aws:secretsmanager:eu-west-1:123456789012:secret:kafka-heal/alertmanager-token-AbCdEf',
    );
    vi.stubEnv('POWERTOOLS_LOG_LEVEL', 'SILENT');
    vi.stubEnv('POWERTOOLS_TRACE_ENABLED', 'false');
    try {
      // A fresh module instance that reads the stubbed environment.
      const { handler } = freshRequire(join(bundles.get('kafka-heal-webhook-authorizer') as string, BUNDLE_FILE)) as {
        handler: (e: unknown, c: unknown) => Promise<{ policyDocument: { Statement: { Effect: string }[] } }>;
      };
      const methodArn = 'arn:aws:execute-api:eu-west-1:123456789012:abc/v1/POST/alertmanager';
      const ctx = { functionName: 'authorizer', awsRequestId: 'r1' };
      const ok = await handler({ type: 'TOKEN', authorizationToken: 'Bearer bundle-token-123', methodArn }, ctx);
      expect(ok.policyDocument.Statement[0]?.Effect).toBe('Allow');
      const bad = await handler({ type: 'TOKEN', authorizationToken: 'Bearer nope', methodArn }, ctx);
      expect(bad.policyDocument.Statement[0]?.Effect).toBe('Deny');
      expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(1);
    } finally {
      vi.unstubAllEnvs();
      sm.restore();
    }
  });
});

describe('a bundled handler runs end to end', () => {
  it("the ingest bundle reads the cluster file bundled beside it, checks the alarm's stack tag, normalizes a CloudWatch alarm of the configured MSK cluster and queues its signal", async () => {
    const sqs = mockClient(SQSClient);
    sqs
      .on(SendMessageBatchCommand)
      .resolves({ Successful: [{ Id: '0', MessageId: 'm', MD5OfMessageBody: '' }], Failed: [] });
    const cw = mockClient(CloudWatchClient);
    cw.on(ListTagsForResourceCommand).resolves({
      Tags: [{ Key: 'aws:cloudformation:stack-name', Value: 'KafkaHeal-prod-eu' }],
    });
    const env = fnEnv.get('kafka-heal-ingest') as Record<string, string>;
    // The cluster facts are not in the environment: clusters.json, copied into the bundle by the build.
    expect(env['CLUSTERS_FILE']).toBe('clusters.json');
    expect(existsSync(join(bundles.get('kafka-heal-ingest') as string, 'clusters.json'))).toBe(true);
    // Lambda runs the handler in its code folder (LAMBDA_TASK_ROOT).
    for (const [k, v] of Object.entries({
      ...env,
      SIGNALS_QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/123456789012/signals',
      INCIDENT_TABLE_NAME: 'incidents',
      LAMBDA_TASK_ROOT: bundles.get('kafka-heal-ingest') as string,
    }))
      vi.stubEnv(k, v);
    vi.stubEnv('POWERTOOLS_LOG_LEVEL', 'SILENT');
    try {
      const alarm = readFileSync(
        join(PROJECT_ROOT, 'test/fixtures/events/cloudwatch-single-metric.json'),
        'utf8',
      ).replaceAll('orders-msk', 'orders-prod');
      const { handler } = freshRequire(join(bundles.get('kafka-heal-ingest') as string, BUNDLE_FILE)) as {
        handler: (e: unknown, c: unknown) => Promise<{ batchItemFailures: unknown[] }>;
      };
      const record = {
        messageId: 'm1',
        body: alarm,
        attributes: { SentTimestamp: '1570035880000' },
        eventSourceARN: 'arn:aws:sqs:eu-west-1:123456789012:ingest',
      };
      const res = await handler({ Records: [record] }, { functionName: 'ingest', awsRequestId: 'r1' });
      expect(res.batchItemFailures).toEqual([]);
      const sent = sqs.commandCalls(SendMessageBatchCommand).flatMap((c) => c.args[0].input.Entries ?? []);
      expect(sent).toHaveLength(1);
      expect(JSON.parse(sent[0]?.MessageBody as string)).toMatchObject({
        cluster: 'orders',
        kind: 'disk-usage',
        brokerIds: [2],
        state: 'firing',
      });
      expect(cw.commandCalls(ListTagsForResourceCommand)).toHaveLength(1);
    } finally {
      vi.unstubAllEnvs();
      sqs.restore();
      cw.restore();
    }
  });
});

describe('the probe layer (one per stack, loaded by the probe and cluster-steps functions)', () => {
  it('is one Node 22 / ARM64 layer, attached to the probe and cluster-steps functions only', () => {
    expect(layerId).toBeDefined();
    for (const [service, layers] of fnLayers) {
      if (PROBING.includes(service)) expect(layers, service).toEqual([{ Ref: layerId }]);
      else expect(layers, service).toBeUndefined();
    }
  });

  it('the probe library is in the layer asset and not in the probe and cluster-steps bundles, which import it by name', () => {
    const layerFile = join(layerDir as string, ...LAYER_MODULE_PATH);
    expect(readFileSync(layerFile, 'utf8')).toContain(PROBE_CODE_MARK);
    expect(
      JSON.parse(
        readFileSync(
          join(layerDir as string, 'nodejs', 'node_modules', '@kafka-heal', 'probe', 'package.json'),
          'utf8',
        ),
      ),
    ).toMatchObject({ name: PROBE_MODULE, type: 'module' });
    for (const service of PROBING) {
      const code = readFileSync(join(bundles.get(service) as string, BUNDLE_FILE), 'utf8');
      expect(code, service).not.toContain(PROBE_CODE_MARK);
      expect(code, service).toMatch(/require\("@kafka-heal\/probe"\)/);
    }
    // The other functions neither import nor bundle it.
    for (const [service, dir] of bundles) {
      if (PROBING.includes(service)) continue;
      const code = readFileSync(join(dir, BUNDLE_FILE), 'utf8');
      expect(code, service).not.toContain(PROBE_MODULE);
      expect(code, service).not.toContain(PROBE_CODE_MARK);
    }
  });

  it('the layer module imports on its own and its probeCluster answers a probe of a closed port', async () => {
    const mod = (await import(
      pathToFileURL(join(layerDir as string, ...LAYER_MODULE_PATH)).href
    )) as typeof ProbeModule;
    expect(typeof mod.probeCluster).toBe('function');
    const port = await closedPort();
    const snap = await mod.probeCluster({ bootstrapServers: [`127.0.0.1:${port}`], timeoutMs: 1000 });
    expect(snap.status).toBe('down');
  });

  it(
    'in plain Node (no test resolver), the two bundles load only with the layer on the module path, as Lambda mounts it',
    { timeout: 60_000 },
    () => {
      // A child node process: vitest's own resolver would map the module name to the source.
      const load = (service: string) =>
        spawnSync(
          process.execPath,
          [
            '-e',
            'const m = require(process.argv[1]); if (typeof m.handler !== "function") process.exit(3);',
            join(bundles.get(service) as string, BUNDLE_FILE),
          ],
          {
            encoding: 'utf8',
            env: { ...process.env, POWERTOOLS_LOG_LEVEL: 'SILENT', POWERTOOLS_TRACE_ENABLED: 'false' },
          },
        );
      for (const service of PROBING) {
        const without = load(service);
        expect(without.status, service).not.toBe(0);
        expect(without.stderr, service).toContain(`Cannot find module '${PROBE_MODULE}'`);
      }
      // The layer's nodejs/node_modules next to the bundles (Lambda: /opt/nodejs/node_modules).
      cpSync(join(layerDir as string, 'nodejs', 'node_modules'), join(outdir, 'node_modules'), { recursive: true });
      for (const service of PROBING) {
        const withLayer = load(service);
        expect(withLayer.stderr, service).toBe('');
        expect(withLayer.status, service).toBe(0);
      }
    },
  );
});
