// The healer stacks of the example configs, synthesized as `cdk synth` does (the cdk-nag
// AwsSolutions pack as a validation plugin) with Lambda bundling skipped through CDK's own
// `aws:cdk:bundling-stacks` context (test/infra/bundling.test.ts bundles for real). Infra test
// files call this once in beforeAll and read templates from the result.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { CloudAssembly } from 'aws-cdk-lib/cx-api';
import { addHealerStacks, DEFAULT_CONFIG_FILES, loadConfigs } from '#infra/app-builder.js';
import type { HealerConfig } from '#infra/config/schema.js';
import type { HealerStack } from '#infra/stacks/healer-stack.js';

/** An IAM policy statement and the template's resources, as the infra tests read them. */
export type Statement = { Action: string | string[]; Resource: unknown; Effect: string };
export type Resources = Record<string, { Type: string; Properties: Record<string, unknown> }>;

/** Every action of some statements, flattened. */
export const actionsOf = (s: Statement[]): string[] =>
  s.flatMap((x) => (Array.isArray(x.Action) ? x.Action : [x.Action]));

export interface ExampleStacks {
  /** The cloud assembly folder (cdk-nag writes validation-report.json there). */
  outdir: string;
  configs: HealerConfig[];
  stacks: HealerStack[];
  /** Undefined when synthesis failed; then `synthError` says why. */
  assembly: CloudAssembly | undefined;
  synthError: unknown;
  /** The template of one deployment's stack; throws with the synthesis error when there is none. */
  template(deployment: string): Template;
  /** Removes the assembly folder. */
  cleanup(): void;
}

/** `edit` changes each example config before synthesis (e.g. the dashboard test turns the dashboard on everywhere). */
export function synthesizeExampleStacks(
  tmpPrefix: string,
  edit: (config: HealerConfig) => HealerConfig = (c) => c,
): ExampleStacks {
  const outdir = mkdtempSync(join(tmpdir(), tmpPrefix));
  const configs = loadConfigs(DEFAULT_CONFIG_FILES).map(edit);
  const app = new App({ outdir, context: { 'aws:cdk:bundling-stacks': [] } });
  const stacks = addHealerStacks(app, configs, { nag: true });
  const templates = new Map<string, Template>();
  let assembly: CloudAssembly | undefined;
  let synthError: unknown;
  try {
    assembly = app.synth();
    for (const stack of stacks) templates.set(stack.config.deployment, Template.fromStack(stack));
  } catch (err) {
    synthError = err;
  }
  return {
    outdir,
    configs,
    stacks,
    assembly,
    synthError,
    template(deployment) {
      const t = templates.get(deployment);
      if (!t) throw new Error(`no template for ${deployment}: synthesis failed: ${String(synthError)}`);
      return t;
    },
    cleanup() {
      rmSync(outdir, { recursive: true, force: true });
    },
  };
}
