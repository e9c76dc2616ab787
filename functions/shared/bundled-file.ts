// Configuration the stack bundles WITH a function, as a file beside its code, instead of in its
// environment: Lambda refuses a function whose environment exceeds 4 KB, and what grows with the
// brokers and clusters (a 1,000-broker cluster's targets are some 50 KB) would pass that long
// before the config's limits. The environment names the file (e.g. WORKFLOW_TARGETS_FILE=
// workflow-targets.json); the file sits in the function's code directory, LAMBDA_TASK_ROOT.
// infra/constructs/healer-function.ts (`files`) writes and bundles it.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigurationError } from './errors.js';

const FILE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

/** The text of the bundled file `env[envName]` names; a ConfigurationError naming the variable when it is unset, odd or unreadable. */
export function readBundledFile(envName: string, env: NodeJS.ProcessEnv = process.env): string {
  const name = env[envName];
  if (name === undefined || name === '')
    throw new ConfigurationError(
      `environment variable ${envName} is not set (it names a file bundled with the function)`,
    );
  if (!FILE_NAME.test(name))
    throw new ConfigurationError(
      `${envName}: expected a file name in the function's directory, got ${JSON.stringify(name.slice(0, 100))}`,
    );
  const path = join(env.LAMBDA_TASK_ROOT ?? process.cwd(), name);
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigurationError(
      `${envName}: cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    );
  }
}
