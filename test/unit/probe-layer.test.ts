import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { buildProbeLayer } from '#layers/probe/build.js';
import type * as ProbeModule from '#shared/probe/index.js';
import { closedPort } from '../support/helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'kh-probe-layer-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('buildProbeLayer', () => {
  it('bundles an importable @kafka-heal/probe module under nodejs/node_modules', async () => {
    const { file, bytes } = buildProbeLayer(dir);
    expect(file).toBe(join(dir, 'nodejs', 'node_modules', '@kafka-heal', 'probe', 'index.mjs'));
    expect(bytes).toBeGreaterThan(1000);
    expect(
      JSON.parse(readFileSync(join(dir, 'nodejs', 'node_modules', '@kafka-heal', 'probe', 'package.json'), 'utf8')),
    ).toMatchObject({ name: '@kafka-heal/probe', type: 'module' });

    const mod = (await import(pathToFileURL(file).href)) as typeof ProbeModule;
    expect(typeof mod.probeCluster).toBe('function');

    // The bundle works, not just loads: probe a closed port.
    const port = await closedPort();
    const snap = await mod.probeCluster({ bootstrapServers: [`127.0.0.1:${port}`], timeoutMs: 1000 });
    expect(snap.status).toBe('down');
  });

  it('carries the MSK IAM signer, with the SDK credential paths it never uses stubbed out', async () => {
    const { file } = buildProbeLayer(dir);
    const text = readFileSync(file, 'utf8');
    expect(text).not.toMatch(/require\("@aws-sdk\/(credential-providers|client-sts)"\)/);
    expect(text).toContain('is not in the kafka-heal probe layer');
    const mod = (await import(`${pathToFileURL(file).href}?signer`)) as typeof ProbeModule;
    const token = await mod.mskIamTokenProvider({
      region: 'eu-west-1',
      credentials: () => Promise.resolve({ accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' }),
    })();
    expect(Buffer.from(token, 'base64url').toString()).toMatch(
      /^https:\/\/kafka\.eu-west-1\.amazonaws\.com\/\?Action=kafka-cluster%3AConnect&/,
    );
  });
});
