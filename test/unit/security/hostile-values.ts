// Values an attacker can put into an alarm name, a label or an annotation (they reach the healer
// through CloudWatch, Alertmanager and AMP), for the security tests: shell metacharacters, path
// traversal, control and look-alike characters, very long strings.

export const HOSTILE: [label: string, value: string][] = [
  ['semicolon command', '; rm -rf / #'],
  ['command substitution', '$(id)'],
  ['parameter expansion', '${PATH}'],
  ['backticks', '`id`'],
  ['and-chain', 'kafka && reboot'],
  ['or-chain', 'x || true'],
  ['pipe', 'a|sh'],
  ['newline', 'kafka\nreboot'],
  ['trailing newline', 'kafka\n'],
  ['carriage return', '9092\r'],
  ['double quote breakout', 'a" ; id ; "'],
  ['single quote', "a'b"],
  ['backslash', 'a\\'],
  ['redirection', 'a>/etc/passwd'],
  ['glob', '/var/log/*'],
  ['relative traversal', '../../etc/passwd'],
  ['absolute traversal', '/var/log/kafka/../../../etc/passwd'],
  ['dot segment', '/var/log/./kafka'],
  ['root only', '/'],
  ['space', 'a b'],
  ['tab', 'a\tb'],
  ['NUL byte', 'kafka\u0000'],
  ['unicode letters', 'kafkä'],
  ['unicode digits', '９０９２'],
  ['right-to-left override', 'kafka\u202e'],
  ['emoji', '🔥'],
  ['10,000 characters', 'a'.repeat(10_000)],
  ['10,000 digits', '9'.repeat(10_000)],
  ['10,000-character path', `/${'a'.repeat(10_000)}`],
  ['empty', ''],
  ['blank', ' '],
  ['SSM placeholder', '{{ ServiceName }}'],
  ['option injection', '--entity-default --delete-config'],
  ['dash prefix', '-rf'],
];

/** Values that satisfy each document's required parameters. */
export const REQUIRED: Record<string, Record<string, string>> = {
  'kafka-cli-action': { Action: 'describe-quorum' },
  'kafka-backup-metadata': { Mode: 'kraft', DataDir: '/var/lib/kafka/data' },
};
