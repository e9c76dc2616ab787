// The operator docs must match the code: every `kafka-heal <command>` they show is a registered
// command (cli/commands/index.ts), every configuration key they name is a field of the schema
// (infra/config/schema.ts configFieldPaths), and docs/configuration.md documents every field.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { commands } from '#cli/commands/index.js';
import { configFieldPaths } from '#infra/config/schema.js';
import { parseScenario } from '#local/drill/scenario.js';

const DOCS = [
  'README.md',
  ...readdirSync('docs')
    .filter((f) => f.endsWith('.md'))
    .map((f) => join('docs', f)),
];
const FIELDS = new Set(configFieldPaths());
const TOP_LEVEL = [...new Set([...FIELDS].map((p) => p.split(/[.[]/)[0] as string))];

/** Text inside code: fenced blocks and inline code spans (prose may say "kafka-heal" freely). */
export function codeOf(markdown: string): string[] {
  const out: string[] = [];
  const rest = markdown.replace(/^(```|~~~)[^\n]*\n([\s\S]*?)^\1[ \t]*$/gm, (_m, _f, body: string) => {
    out.push(body);
    return '';
  });
  for (const m of rest.matchAll(/(`+)([^`]+?)\1/g)) out.push(m[2] as string);
  return out;
}

/**
 * The words of each `kafka-heal` command line in code (at the start of a line or span, after
 * `$ ` or `npx `), up to the first flag, placeholder or punctuation. Output shown in code blocks
 * ("invalid kafka-heal configuration") is not a command line.
 */
export function commandMentions(markdown: string): string[][] {
  const found: string[][] = [];
  for (const code of codeOf(markdown)) {
    for (const m of code.matchAll(/(?:(?:^|\n)[ \t]*(?:\$[ \t]+)?|npx[ \t]+)kafka-heal((?:[ \t]+[a-z][a-z0-9-]*)+)/g))
      found.push((m[1] as string).trim().split(/[ \t]+/));
  }
  return found;
}

/** Mentions that neither start with a registered command nor name a group of them (`local`). */
export function unknownCommands(mentions: string[][]): string[] {
  const paths = commands.map((c) => c.path);
  const known = (words: string[]) =>
    paths.some((p) => p.every((w, i) => words[i] === w) || words.every((w, i) => p[i] === w));
  return mentions.filter((words) => !known(words)).map((w) => w.join(' '));
}

/**
 * Code spans that look like a configuration key: a dotted path from a top-level key of the schema
 * (`clusters[].msk.clusterArn`, `clusters[0].policy.mode`), or from `policy.` (a cluster's policy
 * block, as the runtime policy in SSM is written). Indexes are normalized to `[]`.
 */
export function configKeyMentions(markdown: string): string[] {
  const key = new RegExp(
    `^(?:${[...TOP_LEVEL, 'policy'].join('|')})(?:\\[\\d*\\])?(?:\\.[A-Za-z][A-Za-z0-9]*(?:\\[\\d*\\])?)*$`,
  );
  const spans = [...markdown.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[ \t]*$/gm, '').matchAll(/`([^`\s]+)`/g)].map(
    (m) => m[1] as string,
  );
  return spans
    .filter((s) => key.test(s))
    .map((s) => s.replace(/\[\d+\]/g, '[]'))
    .map((s) => (s.startsWith('policy') ? `clusters[].${s}` : s));
}

export function unknownKeys(mentions: string[]): string[] {
  return mentions.filter((k) => !FIELDS.has(k));
}

describe('docs match the code', () => {
  it.each(DOCS)('%s: every kafka-heal command shown is registered', (file) => {
    const mentions = commandMentions(readFileSync(file, 'utf8'));
    expect(unknownCommands(mentions)).toEqual([]);
  });

  it.each(DOCS)('%s: every configuration key named is in the schema', (file) => {
    expect(unknownKeys(configKeyMentions(readFileSync(file, 'utf8')))).toEqual([]);
  });

  it('docs/configuration.md documents every field of the schema', () => {
    const documented = new Set(configKeyMentions(readFileSync('docs/configuration.md', 'utf8')));
    expect([...FIELDS].filter((f) => !documented.has(f))).toEqual([]);
  });

  it('every registered command is shown in the docs', () => {
    const all = DOCS.flatMap((f) => commandMentions(readFileSync(f, 'utf8')));
    const undocumented = commands
      .filter((c) => !all.some((words) => c.path.every((w, i) => words[i] === w)))
      .map((c) => c.path.join(' '));
    expect(undocumented).toEqual([]);
  });
});

describe('docs/drills.md matches the drill engine', () => {
  const text = readFileSync('docs/drills.md', 'utf8');

  it('its scenario example is a valid scenario file', () => {
    const yaml = /```yaml\n([\s\S]*?)```/.exec(text)?.[1];
    expect(yaml).toBeDefined();
    const scenario = parseScenario(yaml as string, 'docs/drills.md');
    expect(scenario.name).toBe('broker-crash');
  });

  it('its table of built-in scenarios lists exactly the files in drills/scenarios', () => {
    const section = text.slice(text.indexOf('## Built-in scenarios'), text.indexOf('## Drills in AWS'));
    const listed = [...section.matchAll(/^\| `([a-z0-9-]+)` \|/gm)].map((m) => m[1]).sort();
    const files = readdirSync('drills/scenarios')
      .filter((f) => f.endsWith('.yaml'))
      .map((f) => f.replace(/\.yaml$/, ''))
      .sort();
    expect(listed).toEqual(files);
  });
});

describe('the docs checks catch mistakes', () => {
  const sample = [
    'Run `kafka-heal incidents list --status open`, then:',
    '```sh',
    'npx kafka-heal incidents delete INC-1      # made up',
    'npx kafka-heal capacity --json',
    'KafkaHeal-prod and kafka-heal-prod-eu and ~/.cache/kafka-heal are not commands',
    'error: invalid kafka-heal configuration',
    '$ kafka-heal local',
    '```',
    'Set `clusters[0].policy.mode`, `policy.thresholds.diskWarnPercent`, `clusters[].msk.clusterArnz` and `notifications.pagerDuty`.',
    'Not keys: `deploymentName`, `clusters list`, `kafka-heal nope`.',
  ].join('\n');

  it('finds commands in code and rejects made-up ones', () => {
    expect(commandMentions(sample)).toEqual([
      ['incidents', 'delete'],
      ['capacity'],
      ['local'],
      ['incidents', 'list'],
      ['nope'],
    ]);
    expect(unknownCommands(commandMentions(sample))).toEqual(['incidents delete', 'nope']);
    expect(
      commandMentions('the kafka-heal CLI, kafka-heal-prod, `~/.cache/kafka-heal`, `/kafka-heal/prod/clusters`'),
    ).toEqual([]);
  });

  it('finds configuration keys and rejects made-up ones', () => {
    expect(configKeyMentions(sample)).toEqual([
      'clusters[].policy.mode',
      'clusters[].policy.thresholds.diskWarnPercent',
      'clusters[].msk.clusterArnz',
      'notifications.pagerDuty',
    ]);
    expect(unknownKeys(configKeyMentions(sample))).toEqual(['clusters[].msk.clusterArnz', 'notifications.pagerDuty']);
  });
});
