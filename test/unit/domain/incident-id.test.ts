import { describe, expect, it } from 'vitest';
import { FINGERPRINT_KEY_MAX, executionName, fingerprintKey, incidentIdFor } from '#domain/incident-id.js';
import { INCIDENT_TYPES, WORKFLOWS } from '#domain/types.js';
import { signal } from './fixtures.js';

const SAFE = /^[A-Za-z0-9_-]{1,80}$/;

describe('incidentIdFor', () => {
  it('is readable, deterministic and execution-name safe', () => {
    const s = signal({ cluster: 'payments', observedAt: '2026-11-22T02:00:00.123Z' });
    const id = incidentIdFor(s, 'broker-failure');
    expect(id).toMatch(/^inc-payments-broker-failure-20261122T020000Z-[0-9a-f]{10}$/);
    expect(incidentIdFor({ ...s }, 'broker-failure')).toBe(id);
    expect(id).toMatch(SAFE);
  });

  it('differs by type, fingerprint, time and cluster', () => {
    const s = signal();
    const base = incidentIdFor(s, 'broker-failure');
    expect(incidentIdFor(s, 'cascade-failure')).not.toBe(base);
    expect(incidentIdFor({ ...s, fingerprint: 'other' }, 'broker-failure')).not.toBe(base);
    expect(incidentIdFor({ ...s, observedAt: '2026-11-22T02:00:01.000Z' }, 'broker-failure')).not.toBe(base);
    expect(incidentIdFor({ ...s, cluster: 'orders' }, 'broker-failure')).not.toBe(base);
  });

  it('hostile or long cluster names are slugged and cut; every type stays within 80 chars', () => {
    for (const type of INCIDENT_TYPES) {
      const id = incidentIdFor(signal({ cluster: `My Cluster/${'x'.repeat(300)}` }), type);
      expect(id).toMatch(SAFE);
      expect(id.length).toBeLessThanOrEqual(72);
    }
    expect(incidentIdFor(signal({ cluster: '' }), 'unknown')).toMatch(/^inc-x-unknown-/);
    expect(incidentIdFor(signal({ cluster: '---' }), 'unknown')).toMatch(/^inc-x-unknown-/);
    expect(incidentIdFor(signal({ cluster: 'abcdefghijklmnopqrs-tuvw' }), 'unknown')).toMatch(
      /^inc-abcdefghijklmnopqrs-unknown-/,
    );
  });

  it('an unreadable observedAt still gives a stable id', () => {
    const s = signal({ observedAt: 'not a time' });
    expect(incidentIdFor(s, 'unknown')).toMatch(/^inc-payments-unknown-notime-[0-9a-f]{10}$/);
  });
});

describe('executionName', () => {
  it('appends workflow and attempt when it fits', () => {
    expect(executionName('inc-a-broker-failure-1', 'broker-recovery')).toBe('inc-a-broker-failure-1-broker-recovery-1');
    expect(executionName('inc-a', 'consumer-lag', 3)).toBe('inc-a-consumer-lag-3');
  });

  it('every workflow with the longest incident ids stays within 80 safe characters and unique', () => {
    const long = incidentIdFor(signal({ cluster: 'a-very-long-cluster-name-indeed' }), 'offline-partitions');
    const names = new Set<string>();
    for (const wf of WORKFLOWS) {
      for (const attempt of [1, 99]) {
        const n = executionName(long, wf, attempt);
        expect(n).toMatch(SAFE);
        expect(n.endsWith(`-${wf}-${attempt}`)).toBe(true);
        names.add(n);
      }
    }
    expect(names.size).toBe(WORKFLOWS.length * 2);
    const other = incidentIdFor(
      signal({ cluster: 'a-very-long-cluster-name-indeed', fingerprint: 'z' }),
      'offline-partitions',
    );
    expect(executionName(other, 'msk-broker-recovery')).not.toBe(executionName(long, 'msk-broker-recovery'));
  });

  it('unsafe characters are replaced and disambiguated by a hash', () => {
    const a = executionName('inc/a b', 'broker-recovery');
    const b = executionName('inc-a-b', 'broker-recovery');
    expect(a).toMatch(SAFE);
    expect(a).not.toBe(b);
    expect(executionName('', 'escalation')).toMatch(/^-[0-9a-f]{10}-escalation-1$/);
  });

  it('rejects attempts below 1 or fractional', () => {
    expect(() => executionName('inc', 'escalation', 0)).toThrow(RangeError);
    expect(() => executionName('inc', 'escalation', 1.5)).toThrow(/attempt must be a whole number >= 1/);
  });
});

describe('fingerprintKey', () => {
  it('keeps a fingerprint up to 64 characters as it is, hashes a longer one to a fixed 39 characters', () => {
    const edge = 'a'.repeat(FINGERPRINT_KEY_MAX);
    expect(fingerprintKey(edge)).toBe(edge);
    expect(fingerprintKey('alarm:kafka-heal-prod-orders-broker-2-unreachable')).toBe(
      'alarm:kafka-heal-prod-orders-broker-2-unreachable',
    );
    const over = fingerprintKey(`${edge}b`);
    expect(over).toMatch(/^sha256:[0-9a-f]{32}$/);
    expect(over).toHaveLength(39);
    // Distinct long fingerprints get distinct keys; the same one always the same key.
    expect(fingerprintKey('x'.repeat(1024))).not.toBe(fingerprintKey(`${'x'.repeat(1023)}y`));
    expect(fingerprintKey('x'.repeat(1024))).toBe(fingerprintKey('x'.repeat(1024)));
  });
});
