// The built-in drills of a secured cluster, end to end on ONE real 3-broker KRaft cluster whose
// healer listener is SASL_SSL with SCRAM-SHA-512 (local/kafka/cluster.ts `security`), and one
// DynamoDB Local. The healer (probe, cluster steps, Kafka's CLI runbook) speaks only that listener,
// with its credentials and CA bundle read from the drill's Secrets Manager double; the drill's
// traffic uses the PLAINTEXT listener. Figures print with a "[drill-figures]" prefix.
import { describe, expect, it } from 'vitest';
import type { DrillReport } from '#local/drill/index.js';
import { expectBrokerCrashHealed, sharedDrillCluster } from './shared-cluster.js';

const { cluster, drill, reportText } = sharedDrillCluster('drill-sasl', {
  security: { protocol: 'SASL_SSL', mechanism: 'SCRAM-SHA-512' },
});

/** The healer's passwords appear nowhere in what a drill leaves: its report (timeline, actions, incidents, notes) and the files it wrote. */
function expectNoPassword(r: DrillReport, scenario: string, passwords: string[]): void {
  const text = `${JSON.stringify(r)}\n${reportText(scenario)}`;
  expect(passwords.every((p) => p.length >= 16)).toBe(true);
  expect(passwords.filter((p) => text.includes(p))).toEqual([]);
}

const password = () => cluster().security?.password ?? '';

describe('built-in drills on a SASL_SSL (SCRAM-SHA-512) cluster', () => {
  it('broker-crash-sasl-ssl: the same as broker-crash, every healer call over TLS + SCRAM', async () => {
    const r = await drill('broker-crash-sasl-ssl');
    expectBrokerCrashHealed(r);
    expectNoPassword(r, 'broker-crash-sasl-ssl', [password()]);
    // Nothing was refused: the secured listener was the only way in, and it let the healer in throughout.
    expect(r.timeline.some((t) => t.event === 'alarm:ALARM' && /-(auth|tls)-failed/.test(t.detail ?? ''))).toBe(false);
    expect(r.notes.join(' ')).toMatch(/speaks SASL_SSL with SCRAM-SHA-512 to the brokers' SECURED listener/);
  }, 420_000);

  it('scram-password-rotated: auth-failed pages people (access-failure, SEV-2); no restart, no broker or site alarm', async () => {
    const before = password();
    const r = await drill('scram-password-rotated');
    // Neither the password the healer holds nor the one the brokers were given.
    expectNoPassword(r, 'scram-password-rotated', [before, password()]);
    expect(password()).not.toBe(before);
    expect(r.incidents).toHaveLength(1);
    expect(r.incidents[0]).toMatchObject({
      type: 'access-failure',
      severity: 'SEV-2',
      status: 'escalated',
      acknowledgedBy: 'pagerduty:on-call engineer (pagerduty)',
    });
    // The on-call engineer acknowledged in PagerDuty; its signed webhook stopped the ladder before level 2.
    expect(r.incidents[0]?.mttaSeconds).toBeGreaterThanOrEqual(0);
    expect(r.incidents[0]?.mttaSeconds).toBeLessThan(3);
    expect(r.timeline.some((t) => t.event === 'pagerduty:acknowledged' && / answered 202$/.test(t.detail ?? ''))).toBe(
      true,
    );
    expect(r.timeline.some((t) => t.event === 'incident:escalation-acknowledged')).toBe(true);
    expect(r.expectations.find((e) => e.name === 'acknowledged')).toMatchObject({ passed: true });
    expect(r.timeline.filter((t) => t.event === 'sns:published' && /escalation-leads/.test(t.detail ?? ''))).toEqual(
      [],
    );
    expect(r.timeline.some((t) => t.event === 'alarm:ALARM' && /-auth-failed /.test(t.detail ?? ''))).toBe(true);
    expect(
      r.timeline.filter(
        (t) =>
          t.event === 'alarm:ALARM' &&
          /-(broker-down|site-down|offline-partitions|under-min-isr|probe-heartbeat)/.test(t.detail ?? ''),
      ),
    ).toEqual([]);
    expect(r.timeline.some((t) => t.event === 'incident:escalation-paged')).toBe(true);
    expect(r.timeline.some((t) => /observer's failure, not the cluster's/.test(t.detail ?? ''))).toBe(true);
    expect(r.actions.map((a) => a.action)).not.toContain('broker-restarted');
    expect(r.timeline.filter((t) => t.event === 'state:entered')).toEqual(
      expect.not.arrayContaining([expect.objectContaining({ detail: expect.stringMatching(/^broker-recovery/) })]),
    );
    expect(r.messagesLost).toBe(0);
  }, 420_000);
});
