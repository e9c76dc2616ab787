import { describe, expect, it } from 'vitest';
import { UsageError, intFlag, parseFlags, requireFlag, type Command } from '#cli/args.js';
import { helpText, main } from '#cli/main.js';
import { captureIO as capture } from '../support/helpers.js';

const calls: string[][] = [];
const list: Command[] = [
  {
    path: ['local', 'up'],
    summary: 'start',
    usage: 'kafka-heal local up',
    run: async (argv) => (calls.push(['up', ...argv]), 0),
  },
  {
    path: ['local'],
    summary: 'local things',
    usage: 'kafka-heal local',
    run: async (argv) => (calls.push(['local', ...argv]), 0),
  },
  {
    path: ['fail'],
    summary: 'always a usage error',
    usage: 'kafka-heal fail',
    run: async () => {
      throw new UsageError('bad flag');
    },
  },
  {
    path: ['crash'],
    summary: 'a bug',
    usage: 'kafka-heal crash',
    run: async () => {
      throw new TypeError('boom');
    },
  },
];

describe('kafka-heal dispatcher', () => {
  it('prints help and exits 2 with no arguments, 0 with --help', async () => {
    const io = capture();
    expect(await main([], io, list)).toBe(2);
    expect(io.out.join('')).toContain('usage: kafka-heal <command>');
    expect(await main(['--help'], io, list)).toBe(0);
    expect(helpText(list)).toContain('local up');
  });

  it('picks the longest matching command path and passes the rest', async () => {
    calls.length = 0;
    expect(await main(['local', 'up', '--brokers', '3'], capture(), list)).toBe(0);
    expect(await main(['local', 'status'], capture(), list)).toBe(0);
    expect(calls).toEqual([
      ['up', '--brokers', '3'],
      ['local', 'status'],
    ]);
  });

  it('shows a command usage for --help without running it', async () => {
    calls.length = 0;
    const io = capture();
    expect(await main(['local', 'up', '--help'], io, list)).toBe(0);
    expect(io.out.join('')).toContain('usage: kafka-heal local up');
    expect(calls).toEqual([]);
  });

  it('exits 2 with one line for an unknown command or a usage error', async () => {
    const io = capture();
    expect(await main(['nope'], io, list)).toBe(2);
    expect(await main(['fail'], io, list)).toBe(2);
    expect(io.err).toEqual(['kafka-heal: unknown command "nope"; run kafka-heal --help', 'kafka-heal fail: bad flag']);
  });

  it('lets programming errors propagate instead of hiding them as usage errors', async () => {
    await expect(main(['crash'], capture(), list)).rejects.toThrow('boom');
  });
});

describe('flag helpers', () => {
  it('parses declared flags and rejects unknown ones as usage errors', () => {
    expect(parseFlags(['--name', 'x'], { name: { type: 'string' } }).values.name).toBe('x');
    expect(() => parseFlags(['--nope'], { name: { type: 'string' } })).toThrow(UsageError);
  });

  it('requires flags and checks whole numbers on both sides of the range', () => {
    expect(() => requireFlag(undefined, 'broker')).toThrow('missing required flag --broker');
    expect(() => requireFlag('', 'broker')).toThrow(UsageError);
    expect(requireFlag('1', 'broker')).toBe('1');
    expect(intFlag(undefined, 'brokers', 3, 5)).toBeUndefined();
    expect(intFlag('3', 'brokers', 3, 5)).toBe(3);
    expect(intFlag('5', 'brokers', 3, 5)).toBe(5);
    expect(() => intFlag('2', 'brokers', 3, 5)).toThrow('--brokers must be between 3 and 5, got 2');
    expect(() => intFlag('6', 'brokers', 3, 5)).toThrow(UsageError);
    expect(() => intFlag('3x', 'brokers', 3, 5)).toThrow('--brokers must be a whole number, got "3x"');
  });
});

describe('bin/kafka-heal.mjs', () => {
  it('runs the TypeScript CLI through the package bin', async () => {
    const { spawnSync } = await import('node:child_process');
    const r = spawnSync(process.execPath, ['bin/kafka-heal.mjs', '--help'], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('usage: kafka-heal <command>');
  });
});
