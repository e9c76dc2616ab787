// kafka-cli-action run for real with bash against a fake Kafka installation whose bin/kafka-*.sh
// record their arguments: the exact command lines matter (they are Kafka's CLI contract), and so
// do the failure paths (tool missing, failing, hanging).

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runRunbook, tempDir } from './sandbox.js';

let root: string;
let kafkaHome: string;
let argsDir: string;

const QUORUM_STATUS = `ClusterId:              fMCL8kv1SWm87L_Md-I2hg
LeaderId:               2
LeaderEpoch:            7
HighWatermark:          1234
MaxFollowerLag:         3
MaxFollowerLagTimeMs:   -1
CurrentVoters:          [{"id": 1, "endpoints": ["CONTROLLER://127.0.0.1:9093"]}, {"id": 2, "endpoints": ["CONTROLLER://127.0.0.1:9095"]}]
CurrentObservers:       []
`;

function tool(name: string, body: string): void {
  writeFileSync(
    join(kafkaHome, 'bin', name),
    `#!/bin/bash\nprintf '%s\\n' "$@" > ${JSON.stringify(argsDir)}/${name}.args\n${body}\n`,
  );
  chmodSync(join(kafkaHome, 'bin', name), 0o755);
}

function argsOf(name: string): string[] {
  return readFileSync(join(argsDir, `${name}.args`), 'utf8')
    .trimEnd()
    .split('\n');
}

beforeEach(() => {
  root = tempDir();
  kafkaHome = join(root, 'opt', 'kafka_2.13-3.9.1');
  argsDir = join(root, 'args');
  mkdirSync(join(kafkaHome, 'bin'), { recursive: true });
  mkdirSync(argsDir);
  tool(
    'kafka-leader-election.sh',
    'echo "Successfully completed leader election (PREFERRED) for partitions orders-0, orders-1"',
  );
  tool('kafka-configs.sh', 'echo "Completed updating default config for clients in the cluster."');
  tool('kafka-metadata-quorum.sh', `cat <<'EOF'\n${QUORUM_STATUS}EOF`);
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

const run = (params: Record<string, string>) =>
  runRunbook('kafka-cli-action', { KafkaHome: kafkaHome, ...params }, { cwd: root });

describe('kafka-cli-action', () => {
  it('runs a preferred leader election over all partitions', () => {
    const result = run({ Action: 'preferred-leader-election', BootstrapServer: 'b-1.orders.example.com:9092' });
    expect(result.status, result.stderr).toBe(0);
    expect(argsOf('kafka-leader-election.sh')).toEqual([
      '--bootstrap-server',
      'b-1.orders.example.com:9092',
      '--election-type',
      'PREFERRED',
      '--all-topic-partitions',
    ]);
    expect(result.json).toMatchObject({
      result: 'ok',
      action: 'preferred-leader-election',
      exitCode: 0,
      bootstrapServer: 'b-1.orders.example.com:9092',
    });
    expect(result.json?.['output']).toContain('Successfully completed leader election');
    expect(result.stdout.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toContain('Successfully completed leader election');
  });

  it('sets a producer quota on the default client entity', () => {
    const result = run({ Action: 'set-producer-quota', ProducerByteRate: '2048' });
    expect(result.status, result.stderr).toBe(0);
    expect(argsOf('kafka-configs.sh')).toEqual([
      '--bootstrap-server',
      'localhost:9092',
      '--alter',
      '--add-config',
      'producer_byte_rate=2048',
      '--entity-type',
      'clients',
      '--entity-default',
    ]);
    expect(result.json).toMatchObject({
      result: 'ok',
      action: 'set-producer-quota',
      entityType: 'clients',
      entityName: 'default',
      producerByteRate: 2048,
    });
  });

  it('sets a producer quota on a named user, with a client config file', () => {
    const config = join(root, 'client.properties');
    writeFileSync(config, 'security.protocol=SSL\n');
    const result = run({
      Action: 'set-producer-quota',
      ProducerByteRate: '000001048576',
      EntityType: 'users',
      EntityName: 'svc-orders_1.a',
      CommandConfig: config,
    });
    expect(result.status, result.stderr).toBe(0);
    expect(argsOf('kafka-configs.sh')).toEqual([
      '--bootstrap-server',
      'localhost:9092',
      '--command-config',
      config,
      '--alter',
      '--add-config',
      'producer_byte_rate=1048576',
      '--entity-type',
      'users',
      '--entity-name',
      'svc-orders_1.a',
    ]);
    expect(result.json).toMatchObject({
      producerByteRate: 1_048_576,
      entityType: 'users',
      entityName: 'svc-orders_1.a',
    });
  });

  it('removes a producer quota', () => {
    const result = run({ Action: 'remove-producer-quota', EntityName: 'billing-app' });
    expect(result.status, result.stderr).toBe(0);
    expect(argsOf('kafka-configs.sh')).toEqual([
      '--bootstrap-server',
      'localhost:9092',
      '--alter',
      '--delete-config',
      'producer_byte_rate',
      '--entity-type',
      'clients',
      '--entity-name',
      'billing-app',
    ]);
    expect(result.json).toMatchObject({ action: 'remove-producer-quota', entityName: 'billing-app' });
    expect(result.json).not.toHaveProperty('producerByteRate');
  });

  it('describes the KRaft quorum as numbers the workflow can branch on', () => {
    const result = run({ Action: 'describe-quorum', BootstrapServer: '127.0.0.1:9092' });
    expect(result.status, result.stderr).toBe(0);
    expect(argsOf('kafka-metadata-quorum.sh')).toEqual([
      '--bootstrap-server',
      '127.0.0.1:9092',
      'describe',
      '--status',
    ]);
    expect(result.json).toMatchObject({
      result: 'ok',
      action: 'describe-quorum',
      leaderId: 2,
      leaderEpoch: 7,
      highWatermark: 1234,
      maxFollowerLag: 3,
      maxFollowerLagTimeMs: -1,
      currentVoters:
        '[{"id": 1, "endpoints": ["CONTROLLER://127.0.0.1:9093"]}, {"id": 2, "endpoints": ["CONTROLLER://127.0.0.1:9095"]}]',
      currentObservers: '[]',
    });
  });

  it('reports null leader fields when the tool prints no status', () => {
    tool('kafka-metadata-quorum.sh', 'echo "nothing useful"');
    const result = run({ Action: 'describe-quorum' });
    expect(result.status).toBe(0);
    expect(result.json).toMatchObject({ leaderId: null, leaderEpoch: null, currentVoters: '' });
  });

  it('refuses a quota low enough to stop producers', () => {
    const result = run({ Action: 'set-producer-quota', ProducerByteRate: '1023' });
    expect(result.status).toBe(2);
    expect(result.json).toMatchObject({ result: 'failed', exitCode: 2 });
    expect(existsSync(join(argsDir, 'kafka-configs.sh.args'))).toBe(false);
    expect(run({ Action: 'set-producer-quota', ProducerByteRate: '1024' }).status).toBe(0);
  });

  it('fails with the tool output when the tool fails', () => {
    tool('kafka-leader-election.sh', 'echo "Error: org.apache.kafka.common.errors.TimeoutException" >&2; exit 1');
    const result = run({ Action: 'preferred-leader-election' });
    expect(result.status).toBe(4);
    expect(result.json).toMatchObject({
      result: 'failed',
      action: 'preferred-leader-election',
      exitCode: 4,
      message: 'kafka-leader-election.sh exited with 1',
    });
    expect(result.json?.['output']).toContain('TimeoutException');
  });

  it('bounds a hanging tool with TimeoutSeconds', () => {
    tool('kafka-metadata-quorum.sh', 'sleep 30');
    const started = Date.now();
    const result = run({ Action: 'describe-quorum', TimeoutSeconds: '1' });
    expect(result.status).toBe(124);
    expect(result.json).toMatchObject({
      result: 'failed',
      exitCode: 124,
      message: 'kafka-metadata-quorum.sh timed out after 1s',
    });
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('fails clearly when the tool or the client config is missing', () => {
    rmSync(join(kafkaHome, 'bin', 'kafka-configs.sh'));
    const missingTool = run({ Action: 'remove-producer-quota' });
    expect(missingTool.status).toBe(3);
    expect(missingTool.json?.['message']).toBe(`${kafkaHome}/bin/kafka-configs.sh not found or not executable`);
    const missingConfig = run({ Action: 'describe-quorum', CommandConfig: join(root, 'none.properties') });
    expect(missingConfig.status).toBe(3);
    expect(missingConfig.json?.['message']).toContain('cannot read CommandConfig');
  });

  it('requires an Action', () => {
    expect(() => runRunbook('kafka-cli-action', { KafkaHome: kafkaHome }, { cwd: root })).toThrow(/Action .*required/);
  });
});
