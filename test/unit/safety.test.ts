import { describe, expect, it } from 'vitest';
import { canRestart, isBrokerDown, recoveryOrder } from '#domain/safety.js';
import type { BrokerObservation, ClusterSnapshot, ControllerObservation } from '#domain/snapshot.js';
import { summarizePartitions, type RawPartition } from '#shared/probe/analyze.js';

type BrokerState = 'up' | 'crashed' | 'hung';

/** A snapshot as the probe builds it, from broker states, partitions and min ISR per topic. */
function snapshot(opts: {
  brokers: Record<number, BrokerState>;
  partitions: RawPartition[];
  minIsr: Record<string, number>;
  brokerMinIsr?: number;
  controller?: ControllerObservation;
  status?: ClusterSnapshot['status'];
}): ClusterSnapshot {
  const brokers: BrokerObservation[] = Object.entries(opts.brokers).map(([id, st]) => ({
    id: Number(id),
    host: st === 'crashed' ? '' : '127.0.0.1',
    port: st === 'crashed' ? 0 : 9000 + Number(id),
    registered: st !== 'crashed',
    reachable: st === 'up',
    ...(st === 'hung' ? { error: 'connected but no ApiVersions answer within 1500 ms' } : {}),
  }));
  const ids = brokers.map((b) => b.id);
  const dead = new Set(brokers.filter((b) => !b.registered || !b.reachable).map((b) => b.id));
  const { summary, perBroker } = summarizePartitions(
    opts.partitions,
    (t) => opts.minIsr[t] ?? opts.brokerMinIsr ?? 1,
    ids,
    dead,
  );
  return {
    takenAt: '2026-01-01T00:00:00.000Z',
    durationMs: 12,
    status: opts.status ?? 'degraded',
    bootstrapReachable: true,
    registeredBrokers: brokers.filter((b) => b.registered).map((b) => b.id),
    brokers,
    controller: opts.controller ?? { id: null, known: false, note: 'KRaft: quorum leader not exposed to clients' },
    partitions: summary,
    perBroker,
    consumerGroups: [],
    errors: [],
  };
}

const p = (topic: string, partition: number, leader: number, replicas: number[], isr: number[]): RawPartition => ({
  topic,
  partition,
  leader,
  replicas,
  isr,
  offlineReplicas: [],
});

// A 3-broker cluster, topic "orders" RF=3 with min ISR 2 (broker default) over 3 partitions.
const rf3 = (isr: number[], leader = isr[0] ?? -1) => [0, 1, 2].map((i) => p('orders', i, leader, [1, 2, 3], isr));

const healthy = snapshot({
  brokers: { 1: 'up', 2: 'up', 3: 'up' },
  partitions: rf3([1, 2, 3]),
  minIsr: {},
  brokerMinIsr: 2,
  status: 'healthy',
});
const oneDown = snapshot({
  brokers: { 1: 'up', 2: 'up', 3: 'crashed' },
  partitions: rf3([1, 2]),
  minIsr: {},
  brokerMinIsr: 2,
});
const oneHung = snapshot({
  brokers: { 1: 'up', 2: 'hung', 3: 'up' },
  partitions: rf3([1, 2, 3]),
  minIsr: {},
  brokerMinIsr: 2,
});
const oneHungMin1 = snapshot({
  brokers: { 1: 'up', 2: 'hung', 3: 'up' },
  partitions: rf3([1, 2, 3]),
  minIsr: { orders: 1 },
  brokerMinIsr: 2,
});
const twoDown = snapshot({
  brokers: { 1: 'up', 2: 'crashed', 3: 'crashed' },
  partitions: rf3([1]),
  minIsr: {},
  brokerMinIsr: 2,
});
const rf1 = snapshot({
  brokers: { 1: 'up', 2: 'up', 3: 'up' },
  partitions: [...rf3([1, 2, 3]), p('scratch', 0, 2, [2], [2])],
  minIsr: { scratch: 1 },
  brokerMinIsr: 2,
  status: 'healthy',
});
const rf1LeaderDead = snapshot({
  brokers: { 1: 'up', 2: 'crashed', 3: 'up' },
  partitions: [...rf3([1, 3]), p('scratch', 0, -1, [2], [2])],
  minIsr: { scratch: 1 },
  brokerMinIsr: 2,
});
// RF=2 topic "events": min ISR 1 from its topic config vs. the broker default 2.
const rf2TopicConfig = snapshot({
  brokers: { 1: 'up', 2: 'up', 3: 'up' },
  partitions: [p('events', 0, 1, [1, 2], [1, 2])],
  minIsr: { events: 1 },
  brokerMinIsr: 2,
  status: 'healthy',
});
const rf2BrokerDefault = snapshot({
  brokers: { 1: 'up', 2: 'up', 3: 'up' },
  partitions: [p('events', 0, 1, [1, 2], [1, 2])],
  minIsr: {},
  brokerMinIsr: 2,
  status: 'healthy',
});

describe('canRestart (table)', () => {
  it.each([
    ['healthy cluster, any broker', healthy, 1, true, []],
    ['one broker crashed: the crashed one', oneDown, 3, true, [3]],
    ['one broker crashed: a live one (ISR 2 -> 1 < min 2)', oneDown, 1, false, [3]],
    ['one broker hung: the hung one', oneHung, 2, true, [2]],
    ['one broker hung, still in the metadata ISR: a live one (live ISR 2 -> 1 < 2)', oneHung, 1, false, [2]],
    ['one broker hung: without the hung one counted, a healthy RF=3 min 1 topic is fine', oneHungMin1, 1, true, [2]],
    ['two of three down: a down one', twoDown, 2, true, [2, 3]],
    ['two of three down: the last live one', twoDown, 1, false, [2, 3]],
    ['RF=1 topic: its only replica would go offline', rf1, 2, false, []],
    ['RF=1 topic: a broker without it', rf1, 1, true, []],
    ['RF=1 leader dead: the dead leader', rf1LeaderDead, 2, true, [2]],
    ['min ISR 1 from topic config: ISR 2 -> 1 is fine', rf2TopicConfig, 1, true, []],
    ['min ISR 2 from broker default: ISR 2 -> 1 is not', rf2BrokerDefault, 1, false, []],
    ['broker absent from the snapshot', healthy, 7, true, []],
  ] as const)('%s', (_name, snap, broker, allowed, order) => {
    const v = canRestart(broker, snap);
    expect(v.allowed).toBe(allowed);
    expect(v.order).toEqual(order);
    expect(v.reason).toContain(`broker ${broker}`);
  });

  it('names the partitions that would go under min ISR', () => {
    expect(canRestart(1, oneDown).reason).toContain(
      'would leave 3 partition(s) below min.insync.replicas: orders-0 (ISR 1,2, min 2)',
    );
  });

  it('healthy partitions are not in details, so the per-broker count alone can refuse (no examples)', () => {
    const v = canRestart(2, rf1);
    expect(v.reason).toBe('restarting live broker 2 would leave 1 partition(s) below min.insync.replicas');
  });

  it('a hung ISR member is listed and not counted', () => {
    expect(oneHung.partitions.details[0]).toMatchObject({ isr: [1, 2, 3], unreachableIsr: [2] });
    expect(canRestart(3, oneHung).reason).toContain('orders-0 (ISR 1,2,3, min 2)');
  });

  it('details alone can refuse when per-broker counts are missing (hand-built snapshots)', () => {
    const v = canRestart(1, { ...oneDown, perBroker: {} });
    expect(v.allowed).toBe(false);
    expect(v.reason).toContain('3 partition(s)');
  });

  it('a down cluster: any restart allowed', () => {
    const down: ClusterSnapshot = {
      ...healthy,
      status: 'down',
      bootstrapReachable: false,
      registeredBrokers: [],
      brokers: [],
    };
    expect(canRestart(1, down)).toMatchObject({ allowed: true, order: [] });
  });

  it('a snapshot without metadata refuses: re-probe first', () => {
    const blind: ClusterSnapshot = { ...healthy, status: 'unknown', registeredBrokers: [], brokers: [] };
    expect(canRestart(1, blind)).toMatchObject({ allowed: false });
    expect(canRestart(1, blind).reason).toContain('re-probe');
  });

  it('a hung broker without an error text still reads clearly', () => {
    const snap: ClusterSnapshot = {
      ...oneHung,
      brokers: oneHung.brokers.map((b) => (b.id === 2 ? { ...b, error: undefined } : b)),
    };
    expect(canRestart(2, snap).reason).toContain('(unreachable)');
  });
});

describe('recoveryOrder', () => {
  it('crashed before hung, by id, the known controller last', () => {
    const snap = snapshot({
      brokers: { 1: 'hung', 2: 'crashed', 3: 'hung', 4: 'crashed', 5: 'up' },
      partitions: [],
      minIsr: {},
      controller: { id: 1, known: true, note: 'ZooKeeper mode' },
    });
    expect(recoveryOrder(snap)).toEqual([2, 4, 3, 1]);
  });

  it('an unknown controller id does not move anyone', () => {
    const snap = snapshot({
      brokers: { 1: 'hung', 2: 'crashed', 3: 'up' },
      partitions: [],
      minIsr: {},
      controller: { id: 1, known: false, note: '' },
    });
    expect(recoveryOrder(snap)).toEqual([2, 1]);
  });

  it('isBrokerDown: not registered or not reachable', () => {
    const b: BrokerObservation = { id: 1, host: 'h', port: 1, registered: true, reachable: true };
    expect(isBrokerDown(b)).toBe(false);
    expect(isBrokerDown({ ...b, reachable: false })).toBe(true);
    expect(isBrokerDown({ ...b, registered: false })).toBe(true);
  });
});
