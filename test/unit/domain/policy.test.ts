import { describe, expect, it } from 'vitest';
import { DEFAULT_POLICY, PolicyError, parsePolicy } from '#domain/policy.js';

function issues(input: unknown): string[] {
  try {
    parsePolicy(input);
  } catch (e) {
    expect(e).toBeInstanceOf(PolicyError);
    expect((e as Error).name).toBe('PolicyError');
    return (e as PolicyError).issues.map((i) => `${i.path}: ${i.message}`);
  }
  throw new Error('expected a PolicyError');
}

describe('DEFAULT_POLICY', () => {
  it('is safe by default and carries the seed numbers', () => {
    expect(DEFAULT_POLICY).toMatchObject({
      mode: 'dry-run',
      cooldownSeconds: 600,
      flapMaxHeals: 3,
      flapWindowSeconds: 3600,
      cascadeWindowSeconds: 300,
      blastRadiusFraction: 0.4,
      maintenanceWindows: [],
    });
    expect(DEFAULT_POLICY.blastRadiusBrokers).toBeUndefined();
    expect(DEFAULT_POLICY.thresholds).toEqual({
      diskWarnPercent: 85,
      diskCriticalPercent: 90,
      lagSev3: 10_000,
      lagSev2: 100_000,
      lagSev1: 1_000_000,
      errorRateSev3: 0.01,
      errorRateSev2: 0.1,
      errorRateSev1: 0.2,
      dlqPerMinuteSev3: 10,
      dlqPerMinuteSev2: 100,
      certExpiryWarnDays: 30,
      certExpiryCriticalDays: 7,
    });
  });
});

describe('parsePolicy', () => {
  it('fills defaults for empty, null and undefined input', () => {
    expect(parsePolicy({})).toEqual(DEFAULT_POLICY);
    expect(parsePolicy(undefined)).toEqual(DEFAULT_POLICY);
    expect(parsePolicy(null)).toEqual(DEFAULT_POLICY);
  });

  it('merges a partial policy, from an object or a JSON string (SSM)', () => {
    const p = parsePolicy(
      JSON.stringify({
        mode: 'auto',
        cooldownSeconds: 0,
        blastRadiusBrokers: 2,
        thresholds: { lagSev1: 2_000_000 },
        maintenanceWindows: [
          { start: '2026-11-22T01:00:00Z', end: '2026-11-22T03:00:00Z', reason: 'patching' },
          { start: '2026-12-01T00:00:00Z', end: '2026-12-01T01:00:00Z' },
        ],
      }),
    );
    expect(p.mode).toBe('auto');
    expect(p.cooldownSeconds).toBe(0);
    expect(p.blastRadiusBrokers).toBe(2);
    expect(p.thresholds.lagSev1).toBe(2_000_000);
    expect(p.thresholds.lagSev2).toBe(100_000);
    expect(p.maintenanceWindows).toEqual([
      { start: '2026-11-22T01:00:00Z', end: '2026-11-22T03:00:00Z', reason: 'patching' },
      { start: '2026-12-01T00:00:00Z', end: '2026-12-01T01:00:00Z' },
    ]);
    // the defaults are not mutated by a merge
    expect(DEFAULT_POLICY.thresholds.lagSev1).toBe(1_000_000);
  });

  it.each(['auto', 'approval', 'dry-run', 'off'])('accepts mode %s', (mode) => {
    expect(parsePolicy({ mode }).mode).toBe(mode);
  });

  it('rejects bad roots', () => {
    expect(issues('{nope')).toEqual(['(root): is not valid JSON']);
    expect(issues([])).toEqual(['(root): must be an object']);
    expect(issues(5)).toEqual(['(root): must be an object']);
  });

  it('lists every bad field with its value', () => {
    const list = issues({
      mode: 'yolo',
      modee: 'auto',
      cooldownSeconds: -1,
      flapMaxHeals: 0,
      flapWindowSeconds: 1.5,
      cascadeWindowSeconds: '300',
      blastRadiusFraction: 0,
      blastRadiusBrokers: 0,
    });
    expect(list).toEqual([
      'modee: is not a policy field',
      'mode: must be one of auto, approval, dry-run, off, got "yolo"',
      'cooldownSeconds: must be a whole number >= 0, got -1',
      'flapMaxHeals: must be a whole number >= 1, got 0',
      'flapWindowSeconds: must be a whole number >= 1, got 1.5',
      'cascadeWindowSeconds: must be a whole number >= 1, got "300"',
      'blastRadiusFraction: must be a fraction in (0, 1], got 0',
      'blastRadiusBrokers: must be a whole number >= 1, got 0',
    ]);
  });

  it('blastRadiusFraction edges: 1 accepted, above 1 rejected; non-finite rejected', () => {
    expect(parsePolicy({ blastRadiusFraction: 1 }).blastRadiusFraction).toBe(1);
    expect(issues({ blastRadiusFraction: 1.01 })).toEqual([
      'blastRadiusFraction: must be a fraction in (0, 1], got 1.01',
    ]);
    expect(issues({ cooldownSeconds: Number.POSITIVE_INFINITY })).toEqual([
      'cooldownSeconds: must be a whole number >= 0, got null',
    ]);
  });

  it('thresholds: unknown keys, bad values and wrong order', () => {
    expect(issues({ thresholds: [] })).toEqual(['thresholds: must be an object']);
    expect(issues({ thresholds: null })).toEqual(['thresholds: must be an object']);
    expect(issues({ thresholds: { toString: 1 } })).toEqual(['thresholds.toString: is not a threshold']);
    expect(issues({ thresholds: { lagSev4: 1, diskWarnPercent: -5 } })).toEqual([
      'thresholds.lagSev4: is not a threshold',
      'thresholds.diskWarnPercent: must be a number >= 0, got -5',
    ]);
    expect(
      issues({
        thresholds: {
          diskWarnPercent: 90,
          lagSev3: 100_000,
          lagSev1: 50_000,
          errorRateSev3: 0.1,
          errorRateSev1: 0.05,
          dlqPerMinuteSev3: 100,
        },
      }),
    ).toEqual([
      'thresholds.diskWarnPercent/diskCriticalPercent: must be ordered low < high, got 90 and 90',
      'thresholds.lagSev3/lagSev2: must be ordered low < high, got 100000 and 100000',
      'thresholds.lagSev2/lagSev1: must be ordered low < high, got 100000 and 50000',
      'thresholds.errorRateSev3/errorRateSev2: must be ordered low < high, got 0.1 and 0.1',
      'thresholds.errorRateSev2/errorRateSev1: must be ordered low < high, got 0.1 and 0.05',
      'thresholds.dlqPerMinuteSev3/dlqPerMinuteSev2: must be ordered low < high, got 100 and 100',
    ]);
    // Days to expiry count down: critical is the smaller number.
    expect(
      parsePolicy({ thresholds: { certExpiryWarnDays: 14, certExpiryCriticalDays: 13 } }).thresholds,
    ).toMatchObject({ certExpiryWarnDays: 14, certExpiryCriticalDays: 13 });
    expect(issues({ thresholds: { certExpiryCriticalDays: 30 } })).toEqual([
      'thresholds.certExpiryCriticalDays/certExpiryWarnDays: must be ordered low < high, got 30 and 30',
    ]);
  });

  it('maintenance windows must be objects with ISO start < end and a string reason', () => {
    expect(issues({ maintenanceWindows: {} })).toEqual(['maintenanceWindows: must be an array']);
    expect(
      issues({
        maintenanceWindows: [
          'tonight',
          { start: 'soon', end: 5 },
          { start: '2026-11-22T03:00:00Z', end: '2026-11-22T03:00:00Z' },
          { start: '2026-11-22T01:00:00Z', end: '2026-11-22T02:00:00Z', reason: 7 },
          null,
          [],
          { start: 1, end: '2026-11-22T03:00:00Z' },
        ],
      }),
    ).toEqual([
      'maintenanceWindows[0]: must be an object with start and end',
      'maintenanceWindows[1].start: must be an ISO time, got "soon"',
      'maintenanceWindows[1].end: must be an ISO time, got 5',
      'maintenanceWindows[2].end: must be after start',
      'maintenanceWindows[3].reason: must be a string',
      'maintenanceWindows[4]: must be an object with start and end',
      'maintenanceWindows[5]: must be an object with start and end',
      'maintenanceWindows[6].start: must be an ISO time, got 1',
    ]);
  });

  it('the error message names each field', () => {
    expect(() => parsePolicy({ mode: 'x', cooldownSeconds: -1 })).toThrow(
      /invalid policy: mode: .*; cooldownSeconds: /,
    );
  });
});

describe('simultaneousWindowSeconds (brokers failing together vs a cascade)', () => {
  it('defaults to 60 s; 0 and the cascade window itself are accepted', () => {
    expect(DEFAULT_POLICY.simultaneousWindowSeconds).toBe(60);
    expect(parsePolicy({}).simultaneousWindowSeconds).toBe(60);
    expect(parsePolicy({ simultaneousWindowSeconds: 0 }).simultaneousWindowSeconds).toBe(0);
    expect(parsePolicy({ simultaneousWindowSeconds: 300, cascadeWindowSeconds: 300 }).simultaneousWindowSeconds).toBe(
      300,
    );
  });

  it('must be a whole number >= 0 and at most the cascade window', () => {
    expect(issues({ simultaneousWindowSeconds: -1 })).toEqual([
      'simultaneousWindowSeconds: must be a whole number >= 0, got -1',
    ]);
    expect(issues({ simultaneousWindowSeconds: 1.5 })).toEqual([
      'simultaneousWindowSeconds: must be a whole number >= 0, got 1.5',
    ]);
    expect(issues({ simultaneousWindowSeconds: 301 })).toEqual([
      'simultaneousWindowSeconds: must not exceed cascadeWindowSeconds (300), got 301',
    ]);
    expect(issues({ cascadeWindowSeconds: 59 })).toEqual([
      'simultaneousWindowSeconds: must not exceed cascadeWindowSeconds (59), got 60',
    ]);
  });
});

describe('the incident lifecycle: autoResolveSeconds, reopenSeconds', () => {
  it('defaults to 15 min and 30 min; 0 turns either off', () => {
    expect(DEFAULT_POLICY).toMatchObject({ autoResolveSeconds: 900, reopenSeconds: 1800 });
    expect(parsePolicy({ autoResolveSeconds: 0, reopenSeconds: 0 })).toMatchObject({
      autoResolveSeconds: 0,
      reopenSeconds: 0,
    });
    expect(parsePolicy({ autoResolveSeconds: 20, reopenSeconds: 600 })).toMatchObject({
      autoResolveSeconds: 20,
      reopenSeconds: 600,
    });
  });

  it('must be whole seconds >= 0', () => {
    expect(issues({ autoResolveSeconds: -1, reopenSeconds: 2.5 })).toEqual([
      'autoResolveSeconds: must be a whole number >= 0 (0: never), got -1',
      'reopenSeconds: must be a whole number >= 0 (0: never), got 2.5',
    ]);
  });
});

describe('escalation targets (levels that reach someone new)', () => {
  const key = (n: string) => `kafka-heal/pagerduty/${n}`;
  const topic = 'arn:aws:sns:eu-west-1:123456789012:kafka-heal-prod-escalation-managers';

  it('defaults to PagerDuty escalating by itself, with no levels of our own', () => {
    expect(DEFAULT_POLICY.escalation).toEqual({ mode: 'pagerduty', levels: [] });
    expect(parsePolicy({ escalation: {} }).escalation).toEqual({ mode: 'pagerduty', levels: [] });
  });

  it('levels: level 1 may be the deployment key, later levels name a routing key secret or a topic', () => {
    const p = parsePolicy({
      escalation: { mode: 'levels', levels: [{}, { routingKeySecret: key('secondary') }, { snsTopicArn: topic }] },
    });
    expect(p.escalation).toEqual({
      mode: 'levels',
      levels: [{}, { routingKeySecret: key('secondary') }, { snsTopicArn: topic }],
    });
  });

  it('refuses a level that reaches nobody new, or names two targets or none, or a bad name', () => {
    expect(
      issues({
        escalation: {
          mode: 'levels',
          extra: 1,
          levels: [
            { routingKeySecret: key('a') },
            { routingKeySecret: key('a') },
            {},
            { routingKeySecret: key('b'), snsTopicArn: topic },
            { routingKeySecret: 'other/secret', snsTopicArn: 'topic', color: 'red' },
          ],
        },
      }),
    ).toEqual([
      'escalation.extra: is not an escalation field (mode, levels)',
      'escalation.levels[1]: pages the same target as level 1, which reaches nobody new',
      "escalation.levels[2]: must name a target: only level 1 may page the deployment's own routing key",
      'escalation.levels[3]: must name one target: routingKeySecret or snsTopicArn, not both',
      'escalation.levels[4].color: is not a level field (routingKeySecret, snsTopicArn)',
      'escalation.levels[4].routingKeySecret: must be a Secrets Manager secret name under kafka-heal/pagerduty/, got "other/secret"',
      'escalation.levels[4].snsTopicArn: must be an SNS topic ARN, got "topic"',
    ]);
  });

  it('refuses bad shapes: not an object, an unknown mode, levels not a list, too few or too many levels', () => {
    expect(issues({ escalation: [] })).toEqual(['escalation: must be an object with mode and levels']);
    expect(issues({ escalation: { mode: 'auto' } })).toEqual([
      'escalation.mode: must be pagerduty or levels, got "auto"',
    ]);
    expect(issues({ escalation: { levels: {} } })).toEqual(['escalation.levels: must be an array']);
    expect(issues({ escalation: { mode: 'levels', levels: [null] } })).toEqual([
      'escalation.levels[0]: must be an object with routingKeySecret or snsTopicArn',
      'escalation.levels: mode levels needs at least 2 levels (level 1 and who it escalates to), got 1',
    ]);
    expect(
      issues({ escalation: { levels: Array.from({ length: 6 }, (_, i) => ({ routingKeySecret: key(`l${i}`) })) } }),
    ).toEqual(['escalation.levels: must list at most 5 levels, got 6']);
  });
});
