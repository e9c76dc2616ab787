// `kafka-heal config validate <file>`: check a deploy-time configuration file the same way
// `cdk synth` will, and say in one line what it describes, or list every problem.
import { parseFlags, UsageError, type Command } from '../args.js';
import { ConfigError, formatIssue, loadConfigFile } from '#infra/config/schema.js';

export const configValidate: Command = {
  path: ['config', 'validate'],
  summary: 'check a configuration file; exit 0 when valid, 2 listing every bad field and value',
  usage: 'kafka-heal config validate <file.yaml|file.json>',
  async run(argv, io) {
    const { positionals } = parseFlags(argv, {}, true);
    if (positionals.length !== 1)
      throw new UsageError(`expected exactly one configuration file, got ${positionals.length}`);
    const file = positionals[0] as string;
    try {
      const config = loadConfigFile(file);
      const clusters = config.clusters.map((c) => `${c.name} (${c.platform})`).join(', ');
      const n = config.clusters.length;
      io.stdout(`${file}: valid; deployment ${config.deployment}, ${n} cluster${n === 1 ? '' : 's'}: ${clusters}`);
      return 0;
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      const n = err.issues.length;
      io.stderr(
        [`${file}: invalid configuration, ${n} problem${n === 1 ? '' : 's'}:`, ...err.issues.map(formatIssue)].join(
          '\n',
        ),
      );
      return 2;
    }
  },
};
