import { describe, expect, it } from 'vitest';
import {
  EVIDENCE_LINE_MAX,
  appendReading,
  assessLag,
  readingFrom,
  type GroupLagReading,
} from '#domain/consumer-lag.js';

const T = { lagSev3: 10_000, lagSev2: 100_000, lagSev1: 1_000_000 };
const r = (at: number, offsets: [string, number, number, number][], members?: number): GroupLagReading => ({
  at: at * 1000,
  offsets,
  ...(members === undefined ? {} : { members }),
});

describe('readingFrom', () => {
  it('keeps topic, partition, committed and end offsets; a partition without a commit reads from 0; members when known', () => {
    const reading = readingFrom(
      {
        group: 'g',
        members: 2,
        totalLag: 15,
        partitions: [
          { topic: 'a', partition: 0, committedOffset: 5, endOffset: 10, lag: 5 },
          { topic: 'a', partition: 1, committedOffset: null, endOffset: 10, lag: 10 },
        ],
      },
      '2026-01-01T00:00:00.000Z',
    );
    expect(reading).toEqual({
      at: Date.parse('2026-01-01T00:00:00.000Z'),
      members: 2,
      offsets: [
        ['a', 0, 5, 10],
        ['a', 1, 0, 10],
      ],
    });
    expect(readingFrom({ group: 'g', totalLag: 0, partitions: [] }, '2026-01-01T00:00:00.000Z')).not.toHaveProperty(
      'members',
    );
  });
});

describe('appendReading', () => {
  it('keeps the newest maxSamples readings, at least one', () => {
    const w = [r(1, []), r(2, [])];
    expect(appendReading(w, r(3, []), 2).map((x) => x.at)).toEqual([2000, 3000]);
    expect(appendReading(w, r(3, []), 0).map((x) => x.at)).toEqual([3000]);
    expect(w).toHaveLength(2);
  });
});

describe('assessLag', () => {
  it('no lag at all is recovered even on one reading', () => {
    const a = assessLag('g', [r(1, [['a', 0, 10, 10]], 1)], { thresholds: T, maxOffsetLag: 100 });
    expect(a).toMatchObject({
      status: 'OK',
      totalLag: 0,
      complete: false,
      recovered: true,
      samples: 1,
      members: 1,
      evidence: [],
    });
    expect(a.summary).toBe(
      'group g recovered (SEV-4): total lag 0 (limit 100) over 1 partition(s) [1 OK], 1 member(s), 1 sample(s)',
    );
  });

  it('lag on one reading is not judged yet', () => {
    const a = assessLag('g', [r(1, [['a', 0, 0, 500]])], { thresholds: T, maxOffsetLag: 100 });
    expect(a).toMatchObject({ complete: false, recovered: false, members: null });
    expect(a.summary).toContain('group g not yet judged (SEV-4): total lag 500');
    expect(a.summary).toContain('members unknown');
  });

  it('an empty window is OK with no lag', () => {
    expect(assessLag('g', [], { thresholds: T, maxOffsetLag: 1 })).toMatchObject({
      status: 'OK',
      recovered: true,
      samples: 0,
      members: null,
      counts: {},
    });
  });

  it('a stalled consumer with members is ERR, named first in the evidence, severity from the total lag', () => {
    const w = [
      r(
        0,
        [
          ['a', 0, 100, 20_100],
          ['a', 1, 0, 10],
        ],
        3,
      ),
      r(
        30,
        [
          ['a', 0, 100, 20_200],
          ['a', 1, 10, 20],
        ],
        3,
      ),
      r(
        60,
        [
          ['a', 0, 100, 20_300],
          ['a', 1, 20, 25],
        ],
        3,
      ),
    ];
    const a = assessLag('g', w, { thresholds: T, maxOffsetLag: 1000 });
    expect(a.status).toBe('ERR');
    expect(a.severity).toBe('SEV-3');
    expect(a.totalLag).toBe(20_205);
    expect(a.recovered).toBe(false);
    expect(a.complete).toBe(true);
    expect(a.counts).toEqual({ STALL: 1, OK: 1 });
    expect(a.evidence[0]).toMatch(/^a-0: lag 20200, STALL \(committed offset unchanged/);
    expect(a.evidence[1]).toMatch(/^a-1: lag 5, OK/);
    expect(a.summary).toMatch(
      /^group g ERR \(SEV-3\): total lag 20205 \(limit 1000\) over 2 partition\(s\) \[1 STALL, 1 OK\], 3 member\(s\), 3 sample\(s\)$/,
    );
  });

  it('catching up but still above the limit is not recovered; at or below the limit it is', () => {
    const w = (last: number) => [r(0, [['a', 0, 0, 3000]], 1), r(30, [['a', 0, 3000 - last, 3000]], 1)];
    expect(assessLag('g', w(1001), { thresholds: T, maxOffsetLag: 1000 })).toMatchObject({
      status: 'OK',
      recovered: false,
    });
    expect(assessLag('g', w(1000), { thresholds: T, maxOffsetLag: 1000 })).toMatchObject({
      status: 'OK',
      recovered: true,
    });
  });

  it('keeps each evidence line within EVIDENCE_LINE_MAX characters, whatever the topic name', () => {
    const topic = 't'.repeat(249);
    const a = assessLag('g', [r(0, [[topic, 0, 0, 10]]), r(30, [[topic, 0, 0, 20]])], {
      thresholds: T,
      maxOffsetLag: 1,
    });
    expect(a.evidence[0]).toHaveLength(EVIDENCE_LINE_MAX);
  });

  it('limits the evidence and orders equal statuses by lag; now and minSamples are passed through', () => {
    const w = [
      r(0, [
        ['a', 0, 0, 10],
        ['a', 1, 0, 50],
        ['a', 2, 0, 30],
      ]),
      r(30, [
        ['a', 0, 1, 20],
        ['a', 1, 1, 60],
        ['a', 2, 1, 40],
      ]),
    ];
    const a = assessLag('g', w, { thresholds: T, maxOffsetLag: 1, evidenceLimit: 2, minSamples: 2, now: 30_000 });
    expect(a.status).toBe('WARN');
    expect(a.evidence.map((e) => e.split(':')[0])).toEqual(['a-1', 'a-2']);
    expect(assessLag('g', w, { thresholds: T, maxOffsetLag: 1, minSamples: 3 }).complete).toBe(false);
  });
});
