// The Lambda bundles as `cdk synth` builds them (esbuild, no Docker): one stack is bundled for
// real, then each bundle is checked for the house format and actually loaded in Node, and the
// webhook authorizer bundle is run end to end against a mocked Secrets Manager. The AWS SDK is
// external to the bundles, so the bundle imports the SDK from node_modules: the same class that
// aws-sdk-client-mock patches.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { addHealerStacks, loadConfigs } from '../../infra/app-builder.js';
import { ESM_REQUIRE_BANNER, PROJECT_ROOT } from '../../infra/constructs/healer-function.js';

type Resources = Record<string, { Type: string; Properties: Record<string, unknown> }>;

// Inside the project so that the bundles resolve the external @aws-sdk/* from node_modules.
const base = join(PROJECT_ROOT, '.cache', 'test-bundles');
let outdir: string;
/** Powertools service name -> bundle folder. */
const bundles = new Map<string, string>();

beforeAll(() => {
  mkdirSync(base, { recursive: true });
  outdir = mkdtempSync(join(base, 'cdk-'));
  const app = new App({ outdir, context: { 'aws:cdk:bundling-stacks': ['KafkaHeal-prod-eu'] } });
  const [stack] = addHealerStacks(app, loadConfigs(['examples/config/msk.yaml']), { nag: false });
  const fns = Template.fromStack(stack as never).findResources('AWS::Lambda::Function') as Resources;
  for (const f of Object.values(fns)) {
    const service = (f.Properties['Environment'] as { Variables: Record<string, string> }).Variables['POWERTOOLS_SERVICE_NAME'] as string;
    const key = (f.Properties['Code'] as { S3Key: string }).S3Key;
    bundles.set(service, join(outdir, `asset.${key.replace(/\.zip$/, '')}`));
  }
}, 300_000);

afterAll(() => {
  if (outdir) rmSync(outdir, { recursive: true, force: true });
});

describe('Lambda bundles (esbuild, ESM)', () => {
  it('builds one bundle per function', () => {
    expect([...bundles.keys()].sort()).toEqual(['kafka-heal-classify', 'kafka-heal-cluster-steps-orders', 'kafka-heal-ingest', 'kafka-heal-ingest-webhook', 'kafka-heal-probe-orders', 'kafka-heal-webhook-authorizer', 'kafka-heal-workflow-steps']);
  });

  it('each is a minified ES module with the createRequire banner, a source map, and the AWS SDK left external', () => {
    for (const [service, dir] of bundles) {
      const code = readFileSync(join(dir, 'index.mjs'), 'utf8');
      expect(code.startsWith(ESM_REQUIRE_BANNER), service).toBe(true);
      expect(existsSync(join(dir, 'index.mjs.map')), service).toBe(true);
      expect(code, service).toMatch(/sourceMappingURL=index\.mjs\.map/);
      // Minified: long lines (only template literals keep their newlines).
      expect(code.length / code.split('\n').length, service).toBeGreaterThan(1000);
    }
    const authorizer = readFileSync(join(bundles.get('kafka-heal-webhook-authorizer') as string, 'index.mjs'), 'utf8');
    expect(authorizer).toMatch(/from\s*"@aws-sdk\/client-secrets-manager"/);
    expect(authorizer).not.toContain('class SecretsManagerClient');
  });

  it('every bundle loads in Node (ESM + CommonJS dependencies through the banner) and exports handler', { timeout: 180_000 }, async () => {
    for (const [service, dir] of bundles) {
      const mod = (await import(pathToFileURL(join(dir, 'index.mjs')).href)) as { handler?: unknown };
      expect(typeof mod.handler, service).toBe('function');
    }
  });

  it('the bundled authorizer allows the right token and denies a wrong one', async () => {
    const sm = mockClient(SecretsManagerClient);
    sm.on(GetSecretValueCommand).resolves({ SecretString: 'bundle-token-123' });
    vi.stubEnv('TOKEN_SECRET_ARN', 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:kafka-heal/alertmanager-token-AbCdEf');
    vi.stubEnv('POWERTOOLS_LOG_LEVEL', 'SILENT');
    vi.stubEnv('POWERTOOLS_TRACE_ENABLED', 'false');
    try {
      // A fresh module instance that reads the stubbed environment.
      const url = `${pathToFileURL(join(bundles.get('kafka-heal-webhook-authorizer') as string, 'index.mjs')).href}?run=${Date.now()}`;
      const { handler } = (await import(url)) as { handler: (e: unknown, c: unknown) => Promise<{ policyDocument: { Statement: { Effect: string }[] } }> };
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
