import { describe, expect, it } from 'vitest';
import {
  escapeMarkdown,
  formatDuration,
  formatOffset,
  markdownList,
  markdownTable,
  secondsBetween,
} from '#tools/report-text.js';
import { unescapedPipes } from './fixture.js';

describe('escapeMarkdown', () => {
  it('leaves ordinary text readable', () => {
    expect(escapeMarkdown('broker 2 restarted (dry run) -> ok, 41.8 s <= 120 s')).toBe(
      'broker 2 restarted (dry run) -> ok, 41.8 s <= 120 s',
    );
    expect(escapeMarkdown('1.34x the oracle')).toBe('1.34x the oracle');
  });

  it('escapes emphasis, links, code, strikethrough, math and table pipes', () => {
    expect(escapeMarkdown('*b* _i_ [l](u) `c` ~~s~~ $x$ a|b \\')).toBe(
      '\\*b\\* \\_i\\_ \\[l\\](u) \\`c\\` \\~\\~s\\~\\~ \\$x\\$ a\\|b \\\\',
    );
  });

  it('escapes raw HTML, autolinks and entities but not comparisons', () => {
    expect(escapeMarkdown('<script>alert(1)</script>')).toBe('\\<script>alert(1)\\</script>');
    expect(escapeMarkdown('<http://x> <!-- c --> <?php')).toBe('\\<http://x> \\<!-- c --> \\<?php');
    expect(escapeMarkdown('&amp; &#60; & a < 3')).toBe('\\&amp; \\&#60; & a < 3');
  });

  it('keeps text on one line and out of block syntax', () => {
    expect(escapeMarkdown('one\n## two\r\nthree\tfour')).toBe('one ## two three four');
    expect(escapeMarkdown('# heading')).toBe('\\# heading');
    expect(escapeMarkdown('#hashtag')).toBe('#hashtag');
    expect(escapeMarkdown('> quote')).toBe('\\> quote');
    expect(escapeMarkdown('- item')).toBe('\\- item');
    expect(escapeMarkdown('+ item')).toBe('\\+ item');
    expect(escapeMarkdown('12. item')).toBe('12\\. item');
    expect(escapeMarkdown('3) item')).toBe('3\\) item');
    expect(escapeMarkdown('---')).toBe('\\-\\-\\-');
    expect(escapeMarkdown('==')).toBe('\\=\\=');
    expect(escapeMarkdown('  -5 s')).toBe('-5 s');
  });

  it('drops control characters', () => {
    expect(escapeMarkdown('a\u0000b\u001bc\u007fd\u0085e')).toBe('abcde');
  });
});

describe('markdownTable', () => {
  it('keeps every row at the header column count whatever the cells hold', () => {
    const table = markdownTable(
      ['A', 'B'],
      [
        ['x | y', '||'],
        ['', 'a\nb | c'],
      ],
    );
    const lines = table.split('\n');
    expect(lines).toHaveLength(4);
    for (const line of lines) expect(unescapedPipes(line)).toBe(3);
    expect(lines[2]).toBe('| x \\| y | \\|\\| |');
    expect(lines[3]).toBe('|   | a b \\| c |');
  });
});

describe('markdownList', () => {
  it('escapes items and says so when empty', () => {
    expect(markdownList(['# a', 'b'])).toBe('- \\# a\n- b');
    expect(markdownList([])).toBe('- None recorded.');
    expect(markdownList([], 'To fill.')).toBe('- To fill.');
  });
});

describe('formatDuration', () => {
  it.each([
    [null, 'n/a'],
    [undefined, 'n/a'],
    [Number.NaN, 'n/a'],
    [0, '0 s'],
    [4.25, '4.3 s'],
    [41.8, '41.8 s'],
    [59.94, '59.9 s'],
    [60, '1 min'],
    [125, '2 min 5 s'],
    [3600, '1 h'],
    [3780, '1 h 3 min'],
    [-12.5, '-12.5 s'],
  ])('%s -> %s', (input, expected) => {
    expect(formatDuration(input)).toBe(expected);
  });
});

describe('formatOffset and secondsBetween', () => {
  it('formats offsets from the fault', () => {
    expect(formatOffset(0)).toBe('T+0s');
    expect(formatOffset(12.44)).toBe('T+12.4s');
    expect(formatOffset(-5)).toBe('T-5s');
  });

  it('measures between ISO times and refuses missing or bad ones', () => {
    expect(secondsBetween('2026-01-01T00:00:00Z', '2026-01-01T00:01:02.500Z')).toBe(62.5);
    expect(secondsBetween(undefined, '2026-01-01T00:00:00Z')).toBeNull();
    expect(secondsBetween('not a time', '2026-01-01T00:00:00Z')).toBeNull();
  });
});
