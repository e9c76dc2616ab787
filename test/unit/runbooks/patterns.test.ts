// The allowed patterns themselves, on both sides of every edge: the longest/largest value that
// is accepted and the first that is not. Checked through validateParameters (SSM's rules) and
// through bash's own [[ =~ ]] with the same expression, so both layers agree.

import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { InvalidRunbookParameters, loadRunbook, validateParameters } from '#infra/runbooks.js';

const segment = (n: number) => `/${'s'.repeat(n)}`;
const path = (segments: number, length = 8) => Array.from({ length: segments }, () => segment(length)).join('');

type Edge = [document: string, parameter: string, accepted: string[], rejected: string[]];

const REQUIRED: Record<string, Record<string, string>> = {
  'kafka-cli-action': { Action: 'describe-quorum' },
  'kafka-backup-metadata': { Mode: 'kraft', DataDir: '/var/lib/kafka/data' },
};

const EDGES: Edge[] = [
  [
    'kafka-restart-broker',
    'ServiceName',
    ['kafka', 'kafka@2', 'confluent-kafka.service', '_k', 'k'.repeat(64)],
    ['k'.repeat(65), '-kafka', '.kafka', '@kafka', 'kafka/x'],
  ],
  [
    'kafka-restart-broker',
    'ListenerPort',
    ['1', '9092', '65535', '59999', '64999', '65499', '65529'],
    ['0', '65536', '70000', '09092', '99999', '-1', '9092 '],
  ],
  ['kafka-restart-broker', 'TimeoutSeconds', ['1', '999', '1000', '2999', '3000'], ['0', '3001', '9999', '01', '1.5']],
  ['kafka-restart-broker', 'ExpectedBrokerId', ['any', '0', '1', '99999'], ['100000', 'ANY', 'any1', '-1', '1,2']],
  [
    'kafka-restart-broker',
    'ServerProperties',
    ['/etc/kafka/server.properties', '/opt/.kafka/config/server.properties', path(16), path(1, 64)],
    [
      path(17),
      path(1, 65),
      'etc/kafka',
      '/etc/kafka/',
      '/etc//kafka',
      '/etc/./kafka',
      '/etc/../kafka',
      '/etc/..kafka',
      '/',
    ],
  ],
  [
    'kafka-diagnose-host',
    'LogDirs',
    ['auto', '/data/1', '/data/1,/data/2', Array.from({ length: 8 }, (_, i) => `/d${i}`).join(',')],
    [
      Array.from({ length: 9 }, (_, i) => `/d${i}`).join(','),
      'auto,/data',
      '/data/1,',
      ',/data/1',
      '/data/1, /data/2',
      'AUTO',
    ],
  ],
  ['kafka-diagnose-host', 'LogLines', ['1', '999'], ['0', '1000']],
  ['kafka-diagnose-host', 'OomLookbackMinutes', ['1', '99999'], ['0', '100000']],
  ['kafka-free-disk', 'HeapDumpMinAgeMinutes', ['0', '999999'], ['1000000', '-1']],
  ['kafka-free-disk', 'DryRun', ['true', 'false'], ['TRUE', 'yes', '1', '']],
  [
    'kafka-cli-action',
    'BootstrapServer',
    ['localhost:9092', 'b-1.orders.abc.kafka.eu-west-1.amazonaws.com:9098', `${'h'.repeat(253)}:9092`],
    [`${'h'.repeat(254)}:9092`, 'localhost', 'localhost:123456', '-h:9092', 'a_b:9092', 'h:9092,h2:9092', '[::1]:9092'],
  ],
  ['kafka-cli-action', 'ProducerByteRate', ['0', '1024', '9'.repeat(12)], ['9'.repeat(13), '1e6', '1,024']],
  [
    'kafka-cli-action',
    'EntityName',
    ['default', 'svc-orders_1.a', 'x'.repeat(128)],
    ['x'.repeat(129), '-x', 'user@example.com', 'CN=x'],
  ],
  ['kafka-cli-action', 'EntityType', ['clients', 'users'], ['ips', 'client']],
  ['kafka-cli-action', 'CommandConfig', ['none', '/etc/kafka/client.properties'], ['None', 'client.properties']],
  ['kafka-backup-metadata', 'Mode', ['kraft', 'zookeeper'], ['Kraft', 'zk']],
  ['kafka-backup-metadata', 'TxnLogDir', ['none', '/var/lib/zookeeper/txn'], ['', 'txn']],
];

function bashAccepts(pattern: string, value: string): boolean {
  return spawnSync('/bin/bash', ['-c', '[[ $1 =~ $2 ]]', '_', value, pattern]).status === 0;
}

describe.each(EDGES)('%s %s', (documentName, parameter, accepted, rejected) => {
  const doc = loadRunbook(documentName);
  const declared = doc.parameters[parameter];

  it.each(accepted.map((value) => [value.length > 40 ? `${value.slice(0, 20)}...(${value.length})` : value, value]))(
    'accepts %s',
    (_label, value) => {
      expect(validateParameters(doc, { ...REQUIRED[documentName], [parameter]: value })[parameter]).toEqual([value]);
      if (declared?.allowedPattern !== undefined) expect(bashAccepts(declared.allowedPattern, value)).toBe(true);
    },
  );

  it.each(rejected.map((value) => [value.length > 40 ? `${value.slice(0, 20)}...(${value.length})` : value, value]))(
    'rejects %s',
    (_label, value) => {
      expect(() => validateParameters(doc, { ...REQUIRED[documentName], [parameter]: value })).toThrow(
        InvalidRunbookParameters,
      );
      if (declared?.allowedPattern !== undefined) expect(bashAccepts(declared.allowedPattern, value)).toBe(false);
    },
  );
});
