import { describe, expect, it } from 'vitest';
import {
  evaluateGroup,
  evaluateLag,
  groupStatus,
  lagSeverity,
  lagWindows,
  sampleLag,
  type LagSample,
} from '#domain/lag.js';
import type { ClusterSnapshot, ConsumerGroupLag } from '#domain/snapshot.js';

const T = { lagSev1: 1_000_000, lagSev2: 100_000, lagSev3: 10_000 };
const MIN = 60_000;
const t0 = Date.parse('2026-01-01T00:00:00Z');

/** Samples one minute apart from (committed, end) pairs. */
function win(pairs: [number, number][], active?: boolean): LagSample[] {
  return pairs.map(([c, e], i) => ({
    at: t0 + i * MIN,
    committedOffset: c,
    endOffset: e,
    ...(active === undefined ? {} : { active }),
  }));
}

describe("lagSeverity: the classifier's edges (above 1M; from 100k; from 10k)", () => {
  it.each([
    [1_000_001, 'SEV-1'],
    [1_000_000, 'SEV-2'],
    [100_000, 'SEV-2'],
    [99_999, 'SEV-3'],
    [10_000, 'SEV-3'],
    [9_999, 'SEV-4'],
    [0, 'SEV-4'],
  ])('lag %i -> %s', (lag, sev) => {
    expect(lagSeverity(lag, T)).toBe(sev);
  });
});

describe('sampleLag', () => {
  it('is end minus committed, never negative (end offsets are read after commits)', () => {
    expect(sampleLag({ at: 0, committedOffset: 5, endOffset: 12 })).toBe(7);
    expect(sampleLag({ at: 0, committedOffset: 13, endOffset: 12 })).toBe(0);
  });
});

describe('evaluateLag (Burrow rules on polled samples)', () => {
  it('no samples: OK, incomplete', () => {
    expect(evaluateLag([], T)).toMatchObject({ status: 'OK', complete: false, lag: 0, reason: 'no samples' });
  });

  it('rule 1: zero lag at the newest sample is OK even when offsets never moved', () => {
    expect(
      evaluateLag(
        win([
          [10, 10],
          [10, 10],
          [10, 10],
        ]),
        T,
      ),
    ).toMatchObject({ status: 'OK', lag: 0, complete: true });
  });

  it('one sample with lag is not enough history: OK, incomplete', () => {
    expect(evaluateLag(win([[0, 50]]), T)).toMatchObject({ status: 'OK', complete: false, lag: 50 });
  });

  it('minSamples is configurable', () => {
    expect(
      evaluateLag(
        win([
          [0, 50],
          [10, 70],
        ]),
        T,
        { minSamples: 3 },
      ),
    ).toMatchObject({ status: 'OK', complete: false });
    expect(
      evaluateLag(
        win([
          [0, 50],
          [10, 70],
          [20, 90],
        ]),
        T,
        { minSamples: 3 },
      ),
    ).toMatchObject({ status: 'WARN', complete: true });
  });

  it('STOP: committed offset frozen across the window, lag > 0, no active member', () => {
    const e = evaluateLag(
      win(
        [
          [100, 150],
          [100, 200],
          [100, 250],
        ],
        false,
      ),
      T,
    );
    expect(e).toMatchObject({ status: 'STOP', lag: 150 });
    expect(e.reason).toContain('no new commit for 120 s');
  });

  it('STOP with unknown membership follows the time rule alone', () => {
    expect(
      evaluateLag(
        win([
          [100, 150],
          [100, 200],
        ]),
        T,
      ).status,
    ).toBe('STOP');
  });

  it('STOP edge: time since the last commit vs. time the window took to reach it, to the millisecond', () => {
    // Commits move until minute 2, then freeze; evaluated at now.
    const w = win(
      [
        [0, 100],
        [50, 200],
        [100, 300],
        [100, 400],
      ],
      false,
    );
    // last commit first seen at t0+2m, window start t0: stopped when now - (t0+2m) > 2m.
    expect(evaluateLag(w, T, { now: t0 + 4 * MIN }).status).not.toBe('STOP');
    expect(evaluateLag(w, T, { now: t0 + 4 * MIN + 1 }).status).toBe('STOP');
  });

  it('an active group with a frozen offset is not STOP but STALL', () => {
    expect(
      evaluateLag(
        win(
          [
            [100, 150],
            [100, 200],
            [100, 250],
          ],
          true,
        ),
        T,
      ),
    ).toMatchObject({ status: 'STALL', lag: 150 });
  });

  it('STALL needs lag at every sample: a zero inside the window means it was caught up (OK)', () => {
    expect(
      evaluateLag(
        win(
          [
            [100, 100],
            [100, 150],
          ],
          true,
        ),
        T,
      ),
    ).toMatchObject({ status: 'OK', reason: 'lag was zero within the window' });
  });

  it('REWIND: the committed offset went backwards', () => {
    expect(
      evaluateLag(
        win(
          [
            [100, 300],
            [50, 300],
            [60, 310],
          ],
          true,
        ),
        T,
      ).status,
    ).toBe('REWIND');
  });

  it('REWIND is judged before the caught-up-recently rule', () => {
    expect(
      evaluateLag(
        win(
          [
            [100, 100],
            [50, 300],
            [60, 310],
          ],
          true,
        ),
        T,
      ).status,
    ).toBe('REWIND');
  });

  it('WARN: offsets move, lag never decreases (fixed or growing)', () => {
    expect(
      evaluateLag(
        win(
          [
            [0, 100],
            [50, 160],
            [100, 220],
          ],
          true,
        ),
        T,
      ),
    ).toMatchObject({ status: 'WARN', lag: 120 });
    expect(
      evaluateLag(
        win(
          [
            [0, 100],
            [50, 150],
            [100, 200],
          ],
          true,
        ),
        T,
      ),
    ).toMatchObject({ status: 'WARN', lag: 100 });
  });

  it('OK: the lag fell at least once (catching up)', () => {
    expect(
      evaluateLag(
        win(
          [
            [0, 100],
            [80, 160],
            [100, 220],
          ],
          true,
        ),
        T,
      ),
    ).toMatchObject({ status: 'OK', reason: 'lag decreased within the window' });
  });

  it('unsorted windows are sorted by time first', () => {
    const w = win(
      [
        [0, 100],
        [50, 160],
        [100, 220],
      ],
      true,
    ).reverse();
    expect(evaluateLag(w, T).status).toBe('WARN');
  });

  it('custom thresholds are honoured', () => {
    expect(lagSeverity(500, { lagSev1: 1000, lagSev2: 500, lagSev3: 100 })).toBe('SEV-2');
  });

  it('severity follows the newest lag', () => {
    expect(
      evaluateLag(
        win(
          [
            [0, 2_000_000],
            [10, 2_000_100],
          ],
          true,
        ),
        T,
      ).severity,
    ).toBe('SEV-1');
  });
});

describe('groupStatus', () => {
  it.each([
    [['OK', 'OK'], 'OK'],
    [['OK', 'WARN'], 'WARN'],
    [['WARN', 'STOP'], 'ERR'],
    [['STALL'], 'ERR'],
    [['REWIND', 'OK'], 'ERR'],
    [[], 'OK'],
  ] as const)('%j -> %s', (statuses, expected) => {
    expect(groupStatus([...statuses])).toBe(expected);
  });
});

function snap(at: number, groups: ConsumerGroupLag[]): ClusterSnapshot {
  return {
    takenAt: new Date(at).toISOString(),
    durationMs: 5,
    status: 'healthy',
    bootstrapReachable: true,
    registeredBrokers: [1],
    brokers: [],
    controller: { id: null, known: false, note: '' },
    partitions: { total: 0, offline: 0, underReplicated: 0, underMinIsr: 0, details: [] },
    perBroker: {},
    consumerGroups: groups,
    errors: [],
  };
}

describe('lagWindows + evaluateGroup', () => {
  const g = (committed: number | null, end: number, members?: number): ConsumerGroupLag => ({
    group: 'billing',
    totalLag: 0,
    ...(members === undefined ? {} : { members }),
    partitions: [
      { topic: 'orders', partition: 1, committedOffset: committed, endOffset: end, lag: 0 },
      { topic: 'orders', partition: 0, committedOffset: 5, endOffset: 5, lag: 0 },
      { topic: 'audit', partition: 0, committedOffset: 1, endOffset: 1, lag: 0 },
    ],
  });

  it('keeps the newest maxSamples per partition, skips partitions without a commit and other groups', () => {
    const snaps = [
      snap(t0, [g(null, 10, 1)]),
      snap(t0 + MIN, [g(10, 50, 0)]),
      snap(t0 + 2 * MIN, [g(10, 90, 0), { group: 'other', totalLag: 0, partitions: [] }]),
      snap(t0 + 3 * MIN, [g(10, 130)]),
      snap(t0 + 4 * MIN, []),
    ];
    const w = lagWindows(snaps, 'billing', 2);
    const p1 = w.get('orders/1');
    expect(p1?.samples).toEqual([
      { at: t0 + 2 * MIN, committedOffset: 10, endOffset: 90, active: false },
      { at: t0 + 3 * MIN, committedOffset: 10, endOffset: 130 },
    ]);
    expect(w.get('orders/0')?.samples).toHaveLength(2);

    const e = evaluateGroup('billing', w, T);
    expect(e.status).toBe('ERR');
    expect(e.totalLag).toBe(120);
    expect(e.severity).toBe('SEV-4');
    expect(e.partitions.map((p) => `${p.topic}/${p.partition}:${p.status}`)).toEqual([
      'audit/0:OK',
      'orders/0:OK',
      'orders/1:STOP',
    ]);
  });

  it('sorts partitions of different topics in both directions', () => {
    const snaps = [snap(t0, [g(10, 10, 1)]), snap(t0 + MIN, [g(20, 20, 1)])];
    const w = lagWindows(snaps, 'billing', 5);
    // Insertion order is orders/1, orders/0, audit/0: the sort must reorder across topics both ways.
    const e = evaluateGroup('billing', new Map([...w].reverse()), T, { now: t0 + MIN });
    expect(e.partitions.map((p) => `${p.topic}/${p.partition}`)).toEqual(['audit/0', 'orders/0', 'orders/1']);
    expect(e.status).toBe('OK');
  });
});
