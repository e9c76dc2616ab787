// A deploy rehearsal without an account: every example config synthesized exactly as `cdk synth`
// does (infra/app.ts with cdk.json's context, Lambda bundling skipped), and each template read by
// cfn-lint, the CloudFormation linter (pinned, installed from PyPI by scripts/cfn-lint.sh into a
// cached virtualenv), against CloudFormation's resource specifications: no error, and every
// warning is one this project has looked at and accepts for the reason written below. The checks
// that need no account come with it: resource count and template size against CloudFormation's
// limits, and every state machine's substitutions covering its definition's placeholders.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG_FILES } from '#infra/app-builder.js';
import { PROJECT_ROOT } from '#infra/constructs/healer-function.js';

/** cfn-lint findings this project accepts, by rule id, each with why. Anything else fails the rehearsal. */
export const ACCEPTED_WARNINGS: Record<string, string> = {
  W3005:
    'CDK adds an explicit DependsOn from each Lambda function and state machine to its role and default policy, so the policy exists before the first invocation; the role half duplicates the GetAtt of the role ARN. Redundant, harmless, and not ours to remove (CDK L2 behaviour).',
};

interface Finding {
  Rule: { Id: string; Description: string };
  Level: 'Error' | 'Warning' | 'Informational';
  Message: string;
  Filename: string;
  Location: { Path: (string | number)[] };
}

const dir = mkdtempSync(join(tmpdir(), 'kh-rehearsal-'));
let templates: string[] = [];
let findings: Finding[] = [];

beforeAll(() => {
  const lint = spawnSync('bash', [join(PROJECT_ROOT, 'scripts', 'cfn-lint.sh')], {
    encoding: 'utf8',
    timeout: 900_000,
  });
  if (lint.status !== 0) throw new Error(`scripts/cfn-lint.sh failed: ${lint.stderr}`);
  const cfnLint = lint.stdout.trim().split('\n').at(-1) as string;

  // As `cdk synth` runs the app: the context of cdk.json (its feature flags), the example configs.
  const cdkJson = JSON.parse(readFileSync(join(PROJECT_ROOT, 'cdk.json'), 'utf8')) as {
    context: Record<string, unknown>;
  };
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    CDK_CONTEXT_JSON: JSON.stringify({ ...cdkJson.context, 'aws:cdk:bundling-stacks': [] }),
    CDK_OUTDIR: dir,
  };
  for (const k of Object.keys(env)) if (k.startsWith('AWS_') && k !== 'AWS_CA_BUNDLE') delete env[k];
  const synth = spawnSync(process.execPath, ['--import', 'tsx', 'infra/app.ts'], {
    cwd: PROJECT_ROOT,
    env,
    encoding: 'utf8',
    timeout: 600_000,
  });
  if (synth.status !== 0) throw new Error(`cdk synth failed: ${synth.stderr}`);
  templates = readdirSync(dir)
    .filter((f) => f.endsWith('.template.json'))
    .sort();

  const run = spawnSync(cfnLint, ['--format', 'json', ...templates.map((t) => join(dir, t))], {
    encoding: 'utf8',
    timeout: 900_000,
    maxBuffer: 64 * 1024 * 1024,
  });
  // cfn-lint exits 0 (clean), 2 (errors), 4 (warnings), 8 (informational), or their sum; anything else is cfn-lint failing.
  if (run.status === null || run.status > 14 || run.status === 1)
    throw new Error(`cfn-lint failed (${run.status}): ${run.stderr}`);
  findings = JSON.parse(run.stdout || '[]') as Finding[];
  // Listed in the test output, as CI shows it.
  for (const f of findings)
    console.log(
      `cfn-lint ${f.Level} ${f.Rule.Id} ${f.Filename.split('/').at(-1)} ${f.Location.Path.join('/')}: ${f.Message}`,
    );
}, 1_800_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('deploy rehearsal of the example configs', () => {
  it('synthesizes one template per example config', () => {
    expect(templates).toEqual([
      'KafkaHeal-events.template.json',
      'KafkaHeal-prod-eu.template.json',
      'KafkaHeal-prod-us.template.json',
    ]);
    expect(DEFAULT_CONFIG_FILES).toHaveLength(templates.length);
  });

  it('cfn-lint finds no error in any template', () => {
    expect(
      findings
        .filter((f) => f.Level === 'Error')
        .map((f) => `${f.Rule.Id} ${f.Filename.split('/').at(-1)} ${f.Location.Path.join('/')}: ${f.Message}`),
    ).toEqual([]);
  });

  it('every cfn-lint warning is one accepted with a reason', () => {
    const unaccepted = findings.filter((f) => f.Level !== 'Error' && !Object.hasOwn(ACCEPTED_WARNINGS, f.Rule.Id));
    expect(
      unaccepted.map((f) => `${f.Rule.Id} ${f.Filename.split('/').at(-1)} ${f.Location.Path.join('/')}: ${f.Message}`),
    ).toEqual([]);
    for (const reason of Object.values(ACCEPTED_WARNINGS)) expect(reason.length).toBeGreaterThan(40);
  });

  it.each(['KafkaHeal-events', 'KafkaHeal-prod-eu', 'KafkaHeal-prod-us'])(
    "%s: within CloudFormation's limits; every state machine's substitutions cover its definition",
    (stack) => {
      const text = readFileSync(join(dir, `${stack}.template.json`), 'utf8');
      expect(text.length).toBeLessThan(1_000_000);
      const template = JSON.parse(text) as {
        Resources: Record<string, { Type: string; Properties?: Record<string, unknown> }>;
      };
      expect(Object.keys(template.Resources).length).toBeLessThan(500);
      const machines = Object.values(template.Resources).filter((r) => r.Type === 'AWS::StepFunctions::StateMachine');
      expect(machines.length).toBeGreaterThan(0);
      for (const m of machines) {
        // The definition as deployed: the ASL file CDK staged as the state machine's asset (asset.<key>).
        const key = String((m.Properties?.['DefinitionS3Location'] as { Key?: unknown } | undefined)?.Key);
        const definition = readFileSync(join(dir, `asset.${key}`), 'utf8');
        const subs = Object.keys((m.Properties?.['DefinitionSubstitutions'] as Record<string, unknown>) ?? {});
        const name = String(m.Properties?.['StateMachineName']);
        expect(JSON.parse(definition)).toHaveProperty('TimeoutSeconds');
        for (const key of new Set([...definition.matchAll(/\$\{([A-Za-z0-9_]+)\}/g)].map((x) => x[1] as string)))
          expect(subs, `${stack}: ${name} needs \${${key}}`).toContain(key);
      }
    },
  );
});
