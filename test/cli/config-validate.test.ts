import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '#cli/main.js';
import { captureIO as capture } from '../support/helpers.js';

async function run(...argv: string[]) {
  const c = capture();
  const code = await main(['config', 'validate', ...argv], c);
  return { code, stdout: c.out.join('\n'), stderrLines: c.err.join('\n').split('\n') };
}

const dir = mkdtempSync(join(tmpdir(), 'kh-config-validate-'));
function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

describe('kafka-heal config validate', () => {
  it.each([
    ['examples/config/msk.yaml', 'deployment prod-eu, 1 cluster: orders (msk)'],
    ['examples/config/ec2-zookeeper.yaml', 'deployment prod-us, 1 cluster: payments (ec2)'],
    ['examples/config/dr-pair.yaml', 'deployment events, 2 clusters: events (ec2), events-dr (ec2)'],
  ])('accepts %s and summarizes it in one line', async (path, summary) => {
    const r = await run(path);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`${path}: valid; ${summary}`);
    expect(r.stderrLines).toEqual(['']);
  });

  it('reports every bad field with its value, one per line, and exits 2', async () => {
    const path = file(
      'broken.yaml',
      `deployment: Prod_EU
region: eu-west-1
clusters:
  - name: orders
    platform: msk
    msk:
      clusterArn: foo
      clusterName: orders
    brokerCount: 3
    bootstrapServers: [b-1.example.com:9092]
    probe: { vpcId: vpc-0123456789abcdef0, subnetIds: [subnet-bad], securityGroupId: sg-0123456789abcdef0 }
    dr: { peer: nowhere }
`,
    );
    const r = await run(path);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderrLines[0]).toBe(`${path}: invalid configuration, 4 problems:`);
    expect(r.stderrLines.slice(1)).toEqual([
      'deployment: expected a deployment name: a lowercase letter, then up to 23 lowercase letters, digits or hyphens, got "Prod_EU"',
      'clusters[0].probe.subnetIds[0]: expected a subnet id like subnet-0123456789abcdef0, got "subnet-bad"',
      'clusters[0].msk.clusterArn: expected an MSK cluster ARN like arn:aws:kafka:<region>:<account>:cluster/<name>/<uuid>, got "foo"',
      'clusters[0].dr.peer: expected the name of another cluster in this file (orders), got "nowhere"',
    ]);
  });

  it('reads JSON as well as YAML', async () => {
    const path = file('bad.json', JSON.stringify({ deployment: 'x', region: 'eu-west-1', clusters: [] }));
    const r = await run(path);
    expect(r.code).toBe(2);
    expect(r.stderrLines[1]).toBe('clusters: expected at least one cluster, got []');
  });

  it('says so in one clear line when the file cannot be read', async () => {
    const r = await run(join(dir, 'missing.yaml'));
    expect(r.code).toBe(2);
    expect(r.stderrLines).toHaveLength(2);
    expect(r.stderrLines[1]).toBe('cannot read the configuration file: no such file');
  });

  it('rejects a call without exactly one file as a usage error', async () => {
    const none = await run();
    expect(none.code).toBe(2);
    expect(none.stderrLines).toEqual(['kafka-heal config validate: expected exactly one configuration file, got 0']);
    const two = await run('a.yaml', 'b.yaml');
    expect(two.code).toBe(2);
    const flag = await run('--strict', 'a.yaml');
    expect(flag.code).toBe(2);
    expect(flag.stderrLines[0]).toMatch(/^kafka-heal config validate: .*--strict/);
  });
});
