// Every registered command, including ones added later, answers --help without side effects and
// turns an unknown flag into one line on stderr with exit 2. The list comes from
// cli/commands/index.ts, so a new command is covered the moment it is registered.
import { describe, expect, it } from 'vitest';
import { commands } from '#cli/commands/index.js';
import { helpText, main } from '#cli/main.js';
import { captureIO } from '../support/helpers.js';

const names = commands.map((c) => c.path.join(' '));

describe('kafka-heal --help', () => {
  it('lists every command with its summary', async () => {
    const io = captureIO();
    expect(await main(['--help'], io)).toBe(0);
    const text = io.out.join('\n');
    expect(text).toBe(helpText());
    for (const c of commands)
      expect(text).toMatch(
        new RegExp(`^ {2}${c.path.join(' ')} +${c.summary.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm'),
      );
  });

  it('has no two commands with the same words', () => {
    expect(new Set(names).size).toBe(names.length);
  });

  it.each(commands.map((c) => [c.path.join(' '), c] as const))(
    '%s --help prints its usage and exits 0',
    async (name, command) => {
      const io = captureIO();
      expect(await main([...command.path, '--help'], io)).toBe(0);
      expect(io.err).toEqual([]);
      const text = io.out.join('\n');
      expect(text.startsWith(`${command.summary}\n\nusage: kafka-heal ${name}`)).toBe(true);
      expect(command.summary.length).toBeGreaterThan(10);
      // -h is the same, and --help wins over other flags (nothing runs).
      const short = captureIO();
      expect(await main([...command.path, '-h'], short)).toBe(0);
      expect(short.out).toEqual(io.out);
      const mixed = captureIO();
      expect(await main([...command.path, '--bootstrap', '127.0.0.1:1', '--help'], mixed)).toBe(0);
      expect(mixed.out).toEqual(io.out);
    },
  );

  it.each(commands.map((c) => [c.path.join(' '), c] as const))(
    '%s rejects an unknown flag in one line with exit 2',
    async (name, command) => {
      const io = captureIO();
      expect(await main([...command.path, '--no-such-flag'], io)).toBe(2);
      expect(io.out).toEqual([]);
      expect(io.err).toHaveLength(1);
      expect(io.err[0]).toMatch(new RegExp(`^kafka-heal ${name}: .*--no-such-flag`));
      expect(io.err[0]).not.toContain('\n');
    },
  );

  it('names an unknown command and points at --help', async () => {
    const io = captureIO();
    expect(await main(['incident', 'lst'], io)).toBe(2);
    expect(io.err).toEqual(['kafka-heal: unknown command "incident lst"; run kafka-heal --help']);
  });
});
