// The `kafka-heal` command line: finds the command named by the leading words and runs it.
// Commands live one per file in cli/commands and are listed in cli/commands/index.ts.
import { UsageError, type Command, type CommandIO } from './args.js';
import { commands } from './commands/index.js';
import { terminalSafe } from './terminal.js';

const defaultIO: CommandIO = {
  stdout: (t) => process.stdout.write(t.endsWith('\n') ? t : `${t}\n`),
  stderr: (t) => process.stderr.write(t.endsWith('\n') ? t : `${t}\n`),
};

export function helpText(list: Command[] = commands): string {
  const width = Math.max(...list.map((c) => c.path.join(' ').length));
  const lines = list.map((c) => `  ${c.path.join(' ').padEnd(width)}  ${c.summary}`);
  return [
    'usage: kafka-heal <command> [flags]',
    '',
    'commands:',
    ...lines,
    '',
    'kafka-heal <command> --help shows the flags of a command.',
  ].join('\n');
}

function findCommand(argv: string[], list: Command[]): { command: Command; rest: string[] } | undefined {
  let best: { command: Command; rest: string[] } | undefined;
  for (const command of list) {
    const n = command.path.length;
    if (argv.length >= n && command.path.every((w, i) => argv[i] === w)) {
      if (!best || n > best.command.path.length) best = { command, rest: argv.slice(n) };
    }
  }
  return best;
}

export async function main(argv: string[], out: CommandIO = defaultIO, list: Command[] = commands): Promise<number> {
  // Whatever a command prints (alert text included) reaches a terminal without its control characters.
  const io: CommandIO = { stdout: (t) => out.stdout(terminalSafe(t)), stderr: (t) => out.stderr(terminalSafe(t)) };
  if (argv.length === 0 || argv[0] === '--help' || argv[0] === '-h' || argv[0] === 'help') {
    io.stdout(helpText(list));
    return argv.length === 0 ? 2 : 0;
  }
  const found = findCommand(argv, list);
  if (!found) {
    io.stderr(`kafka-heal: unknown command "${argv.join(' ')}"; run kafka-heal --help`);
    return 2;
  }
  if (found.rest.includes('--help') || found.rest.includes('-h')) {
    const usage = found.command.usage.replace(/^usage: /, '');
    io.stdout(`${found.command.summary}\n\nusage: ${usage}`);
    return 0;
  }
  try {
    return await found.command.run(found.rest, io);
  } catch (err) {
    if (err instanceof UsageError) {
      // One line, whatever the message (node:util parseArgs explains some errors over three).
      io.stderr(`kafka-heal ${found.command.path.join(' ')}: ${err.message.replace(/\s*\n\s*/g, ' ')}`);
      return 2;
    }
    throw err;
  }
}
