import { describe, expect, it } from 'vitest';
import { heartbeatSentAt, mirrorProperties } from '#local/kafka/mirror.js';

describe('MirrorMaker 2 configuration for a one-way DR flow', () => {
  const base = {
    source: { alias: 'events', bootstrapServers: '127.0.0.1:1,127.0.0.1:2' },
    target: { alias: 'events-dr', bootstrapServers: '127.0.0.1:3' },
  };

  it('replicates source -> target only, topics and groups, identity names, offsets synced exactly, 1 s intervals, RF 3', () => {
    const p = mirrorProperties(base);
    expect(p).toMatchObject({
      clusters: 'events, events-dr',
      'events.bootstrap.servers': '127.0.0.1:1,127.0.0.1:2',
      'events-dr.bootstrap.servers': '127.0.0.1:3',
      'events->events-dr.enabled': 'true',
      'events->events-dr.topics': '.*',
      'events->events-dr.groups': '.*',
      'events-dr->events.enabled': 'false',
      'replication.policy.class': 'org.apache.kafka.connect.mirror.IdentityReplicationPolicy',
      'sync.group.offsets.enabled': 'true',
      'emit.checkpoints.enabled': 'true',
      'offset.lag.max': '0',
      'emit.heartbeats.interval.seconds': '1',
      'dedicated.mode.enable.internal.rest': 'false',
    });
    for (const key of [
      'replication.factor',
      'checkpoints.topic.replication.factor',
      'heartbeats.topic.replication.factor',
      'offset-syncs.topic.replication.factor',
      'offset.storage.replication.factor',
      'status.storage.replication.factor',
      'config.storage.replication.factor',
    ]) {
      expect(p[key], key).toBe('3');
    }
  });

  it('options: prefixed names, an allow-list, a smaller replication factor, slower intervals', () => {
    const p = mirrorProperties({
      ...base,
      replicationPolicy: 'default',
      topics: 'orders|payments',
      groups: 'billing',
      replicationFactor: 1,
      intervalSeconds: 5,
    });
    expect(p).toMatchObject({
      'replication.policy.class': 'org.apache.kafka.connect.mirror.DefaultReplicationPolicy',
      'events->events-dr.topics': 'orders|payments',
      'events->events-dr.groups': 'billing',
      'replication.factor': '1',
      'sync.group.offsets.interval.seconds': '5',
    });
  });

  it("reads a heartbeat's send time from its value (int16 version, int64 millis)", () => {
    const v = Buffer.alloc(10);
    v.writeInt16BE(0, 0);
    v.writeBigInt64BE(1_795_321_893_135n, 2);
    expect(heartbeatSentAt(v)).toBe(1_795_321_893_135);
    expect(() => heartbeatSentAt(Buffer.alloc(4))).toThrow(/10 bytes/);
  });
});
