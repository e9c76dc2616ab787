// Building the CDK app from deployment config files: shared by the `cdk` entry point
// (infra/app.ts) and the infra tests, so the tests synthesize exactly what `cdk synth` does.
import { App, Validations, type AppProps } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { ConfigError, loadConfigFile, type HealerConfig } from './config/schema.js';
import { HealerStack, stackNameFor } from './stacks/healer-stack.js';

/** Context key naming the config files, comma-separated: `-c kafka-heal:configFiles=a.yaml,b.yaml`. */
export const CONFIG_FILES_CONTEXT = 'kafka-heal:configFiles';

export const DEFAULT_CONFIG_FILES = [
  'examples/config/msk.yaml',
  'examples/config/ec2-zookeeper.yaml',
  'examples/config/dr-pair.yaml',
];

/** The config files named by the context (a comma-separated string or a JSON list). */
export function configFilesFrom(app: App): string[] {
  const raw: unknown = app.node.tryGetContext(CONFIG_FILES_CONTEXT);
  if (raw === undefined || raw === null || raw === '') return DEFAULT_CONFIG_FILES;
  const list = Array.isArray(raw) ? raw.map(String) : String(raw).split(',');
  return list.map((f) => f.trim()).filter((f) => f !== '');
}

/**
 * Load every file, collecting the errors of all of them (an operator fixes all at once).
 * Two files with the same deployment would make two stacks with one name: also a ConfigError.
 */
export function loadConfigs(files: string[]): HealerConfig[] {
  const configs: HealerConfig[] = [];
  const errors: ConfigError[] = [];
  const seen = new Map<string, string>();
  for (const file of files) {
    try {
      const config = loadConfigFile(file);
      const other = seen.get(config.deployment);
      if (other !== undefined) {
        errors.push(
          new ConfigError(file, [
            {
              path: 'deployment',
              message: `must differ between config files (${other} uses it too)`,
              value: config.deployment,
            },
          ]),
        );
        continue;
      }
      seen.set(config.deployment, file);
      configs.push(config);
    } catch (err) {
      if (err instanceof ConfigError) errors.push(err);
      else throw err;
    }
  }
  if (errors.length > 0) throw new ConfigErrors(errors);
  return configs;
}

/** Several files' ConfigErrors together. */
export class ConfigErrors extends Error {
  override readonly name = 'ConfigErrors';
  constructor(readonly errors: ConfigError[]) {
    super(errors.map((e) => e.message).join('\n'));
  }
}

export interface HealerAppOptions {
  /** Run the cdk-nag AwsSolutions pack as a CDK validation plugin. @default true */
  nag?: boolean;
}

/**
 * One HealerStack per config, named KafkaHeal-<deployment>, in the config's region (and account
 * when it names one): `cdk deploy --all` deploys each deployment where its file says, whatever
 * the profile's region. Synth still needs no credentials (no lookups).
 */
export function addHealerStacks(app: App, configs: HealerConfig[], options: HealerAppOptions = {}): HealerStack[] {
  const stacks = configs.map(
    (config) =>
      new HealerStack(app, stackNameFor(config.deployment), {
        config,
        stackName: stackNameFor(config.deployment),
        env: { region: config.region, ...(config.account === undefined ? {} : { account: config.account }) },
      }),
  );
  if (options.nag ?? true) Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return stacks;
}

/** A fresh App with the healer stacks (tests). */
export function buildHealerApp(
  configs: HealerConfig[],
  options: HealerAppOptions & { appProps?: AppProps } = {},
): { app: App; stacks: HealerStack[] } {
  const app = new App(options.appProps);
  return { app, stacks: addHealerStacks(app, configs, options) };
}
