// `kafka-heal preflight --config <file> [--deployment <name>] [--after-deploy]`: read-only checks
// of the AWS account before `cdk deploy` (credentials, bootstrap, API Gateway logging role, names
// that would collide, the clusters and hosts the config names) and after it (documents, state
// machines validated by Step Functions, the PagerDuty secret, DR records). One line per finding;
// exit 0 when nothing FAILs, 1 when something does, 2 for bad input (docs/deploying.md).
import { STSClient } from '@aws-sdk/client-sts';
import { parseFlags, requireFlag, UsageError, type Command } from '../args.js';
import { ConfigError, formatIssue, loadConfigFile } from '#infra/config/schema.js';
import { AFTER_DEPLOY, BEFORE_DEPLOY, defaultClients, type PreflightClients } from '../preflight/checks.js';
import { planFor, type DeploymentPlan } from '../preflight/plan.js';
import { stackNameFor } from '#infra/stacks/healer-stack.js';
import { runChecks } from '../preflight/run.js';

export interface PreflightDeps {
  clients: (region: string) => PreflightClients;
  plan: (config: ReturnType<typeof loadConfigFile>) => DeploymentPlan;
  /** The region the caller's environment or profile names, if any. */
  profileRegion: () => Promise<string | undefined>;
}

async function regionOfProfile(): Promise<string | undefined> {
  try {
    // The SDK's own chain (AWS_REGION, then the profile's config file), as the aws CLI resolves it.
    return await new STSClient({}).config.region();
  } catch {
    return undefined;
  }
}

const USAGE = 'kafka-heal preflight --config <file.yaml> [--deployment <name>] [--after-deploy]';

export function makePreflightCommand(deps: PreflightDeps): Command {
  return {
    path: ['preflight'],
    summary: 'read-only checks of the AWS account before (and with --after-deploy, after) cdk deploy; exit 1 on a FAIL',
    usage: USAGE,
    async run(argv, io) {
      const { values } = parseFlags(argv, {
        config: { type: 'string' },
        deployment: { type: 'string' },
        'after-deploy': { type: 'boolean' },
      });
      const file = requireFlag(values.config, 'config');
      let config;
      try {
        config = loadConfigFile(file);
      } catch (err) {
        if (!(err instanceof ConfigError)) throw err;
        const n = err.issues.length;
        io.stderr(
          [
            `${file}: invalid configuration, ${n} problem${n === 1 ? '' : 's'} (kafka-heal config validate ${file}):`,
            ...err.issues.map(formatIssue),
          ].join('\n'),
        );
        return 2;
      }
      if (values.deployment !== undefined && values.deployment !== config.deployment) {
        throw new UsageError(
          `--deployment ${values.deployment} is not the deployment of ${file} (${config.deployment})`,
        );
      }
      const afterDeploy = values['after-deploy'] === true;
      io.stdout(
        `preflight ${afterDeploy ? 'after' : 'before'} deploy: deployment ${config.deployment}, region ${config.region}${config.account === undefined ? '' : `, account ${config.account}`} (${file})`,
      );
      const base = { config, clients: deps.clients(config.region), profileRegion: await deps.profileRegion() };
      const tally = await runChecks(
        base,
        () => deps.plan(config),
        afterDeploy ? AFTER_DEPLOY : BEFORE_DEPLOY,
        io.stdout,
      );
      const next =
        tally.FAIL > 0
          ? 'fix each FAIL and run preflight again'
          : afterDeploy
            ? 'next: a dry-run drill (docs/deploying.md)'
            : `next: npx cdk deploy ${stackNameFor(config.deployment)} -c kafka-heal:configFiles=${file}`;
      io.stdout(`${tally.PASS} PASS, ${tally.WARN} WARN, ${tally.FAIL} FAIL; ${next}`);
      return tally.FAIL > 0 ? 1 : 0;
    },
  };
}

export const preflightCommand = makePreflightCommand({
  clients: defaultClients,
  plan: planFor,
  profileRegion: regionOfProfile,
});
