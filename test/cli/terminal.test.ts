// Text from alerts reaches the operator's terminal only as visible escapes (cli/terminal.ts).
import { describe, expect, it } from 'vitest';
import type { Command } from '#cli/args.js';
import { main } from '#cli/main.js';
import { terminalSafe } from '#cli/terminal.js';
import { captureIO } from '../support/helpers.js';

describe('terminalSafe', () => {
  it('shows C0 and C1 controls, DEL and bidirectional controls as escapes; keeps newlines, tabs and other text', () => {
    expect(terminalSafe('a\u001b[2Jb')).toBe('a\\x1b[2Jb');
    expect(terminalSafe('\u0000\u0007\u0008\u000b\u000c\r\u007f\u0085\u009b')).toBe(
      '\\x00\\x07\\x08\\x0b\\x0c\\x0d\\x7f\\x85\\x9b',
    );
    expect(terminalSafe('\u202aa\u202eb\u2066c\u2069')).toBe('\\u202aa\\u202eb\\u2066c\\u2069');
    expect(terminalSafe('line 1\n\tline 2: broker 2 down, ISR [1,3], ä ☃ 😀')).toBe(
      'line 1\n\tline 2: broker 2 down, ISR [1,3], ä ☃ 😀',
    );
  });

  it('applies to everything a command prints, on stdout and stderr', async () => {
    const echo: Command = {
      path: ['echo'],
      summary: 'prints its words',
      usage: 'usage: kafka-heal echo <words>',
      run: async (argv, io) => {
        io.stdout(argv.join(' '));
        io.stderr(`warning: ${argv.join(' ')}`);
        return 0;
      },
    };
    const io = captureIO();
    expect(await main(['echo', '\u001b]0;pwned\u0007', 'ok'], io, [echo])).toBe(0);
    expect(io.out).toEqual(['\\x1b]0;pwned\\x07 ok']);
    expect(io.err).toEqual(['warning: \\x1b]0;pwned\\x07 ok']);
  });
});
