// The built-in drills end to end on ONE real 3-broker KRaft cluster and one DynamoDB Local
// (each drill gets its own incident table, consumer group and message tag; the runner restores
// the cluster between drills). Every drill runs the shipped alarms (shorter periods), ingest and
// classify handlers, state machines and SSM documents; the assertions are the scenario's own
// expectations plus the facts each scenario is about. Figures print with a "[drill-figures]" prefix.
import { describe, expect, it } from 'vitest';
import { alarmName } from '#infra/constructs/alarm-specs.js';
import { DEPLOYMENT } from '#local/drill/healer.js';
import { expectBrokerCrashHealed, sharedDrillCluster } from './shared-cluster.js';

const { drill } = sharedDrillCluster('drill-it');

describe('built-in drills against a real cluster', () => {
  it('broker-crash: broker-recovery restarts the crashed broker through the SSM documents; nothing acknowledged is lost; oracle measured', async () => {
    const r = await drill('broker-crash');
    expectBrokerCrashHealed(r);
  }, 420_000);

  it('msk-broker-crash: the same cluster deployed as MSK; its broker-down alarm starts msk-broker-recovery, whose RebootBroker restarts the broker', async () => {
    const r = await drill('msk-broker-crash');
    // The MSK alarm set's per-broker broker-down alarm, broker 2's contributor (infra/constructs/alarm-specs.ts mskSpecs).
    const alarm = `${alarmName(DEPLOYMENT, 'drill-it', 'broker-down')} (broker-down broker 2)`;
    expect(r.timeline.some((t) => t.event === 'alarm:ALARM' && (t.detail ?? '').startsWith(alarm))).toBe(true);
    const incident = r.incidents.find((i) => i.type === 'broker-failure');
    expect(incident).toMatchObject({
      status: 'resolved',
      workflow: 'msk-broker-recovery',
      executionStatus: 'SUCCEEDED',
    });
    const states = r.timeline.filter((t) => t.event === 'state:entered').map((t) => t.detail ?? '');
    expect(states).toEqual(
      expect.arrayContaining([
        'msk-broker-recovery: Check Cluster Active',
        'msk-broker-recovery: Reboot Broker',
        'msk-broker-recovery: Get Reboot Operation',
        'msk-broker-recovery: Broker Recovered',
      ]),
    );
    // No EC2 path: no broker-recovery run, no SSM document.
    expect(states.filter((s) => s.startsWith('broker-recovery:'))).toEqual([]);
    expect(r.timeline.filter((t) => t.event === 'incident:broker-rebooted')).toHaveLength(1);
    expect(r.notes.join(' ')).toMatch(/platform msk \(arn:aws:kafka:eu-west-1:123456789012:cluster\/drill-it\//);
    expect(r.mttdSeconds).toBeGreaterThan(0);
    expect(r.oracleMttrSeconds).toBeGreaterThan(0);
    expect(r.messagesProduced).toBeGreaterThan(100);
    expect(r.messagesLost).toBe(0);
  }, 420_000);

  it('false-alarm: the workflow confirms first, finds the cluster healthy and resolves with no restart', async () => {
    const r = await drill('false-alarm');
    expect(r.actions.map((a) => a.action)).not.toContain('broker-restarted');
    expect(r.timeline.some((t) => t.event === 'state:entered' && /Report False Alarm/.test(t.detail ?? ''))).toBe(true);
    expect(r.oracleMttrSeconds).toBeNull();
  }, 300_000);

  it('broker-hang: a hung (SIGSTOP) broker is diagnosed as a hung service and restarted', async () => {
    const r = await drill('broker-hang');
    expect(r.incidents.find((i) => i.type === 'broker-failure')?.status).toBe('resolved');
    expect(
      r.timeline.some((t) => t.event === 'incident:host-diagnosed' && /service kafka active/.test(t.detail ?? '')),
    ).toBe(true);
    // The oracle counts only the restarted broker (a new process) back in every ISR.
    expect(
      r.timeline.some(
        (t) => t.event === 'oracle:healthy' && /broker 3 restarted and back in every ISR/.test(t.detail ?? ''),
      ),
    ).toBe(true);
    expect(r.oracleMttrSeconds).toBeGreaterThan(2); // a real restart (4.6 s seen on a quiet machine), not the resumed old JVM (0.5 s)
    expect(r.messagesLost).toBe(0);
  }, 420_000);

  it('offline-partitions: a single-replica topic goes offline; SEV-1; the broker comes back and nothing acknowledged is lost', async () => {
    const r = await drill('offline-partitions');
    expect(r.incidents.find((i) => i.type === 'offline-partitions')?.severity).toBe('SEV-1');
    // Broker 2 is restarted once, by whichever incident won the cluster lock: the broker-failure
    // (broker-down classified first: automatic) or the offline-partitions one (its decision is
    // revised to await-approval broker-recovery once broker 2 is known; both seen, the latter in
    // a CI run where both alarms fired in one period). Whenever the acting decision
    // was await-approval, the approval comes before the restart. The other incident found the
    // lock held and escalated.
    const restarts = r.timeline.filter((t) => t.event === 'incident:broker-restarted');
    expect(restarts).toHaveLength(1);
    const actor = r.incidents.find((i) => (restarts[0]?.detail ?? '').startsWith(`${i.id}:`));
    expect(['broker-failure', 'offline-partitions']).toContain(actor?.type);
    const entry = (action: string) =>
      r.timeline.findIndex((t) => t.event === `incident:${action}` && (t.detail ?? '').startsWith(`${actor?.id}:`));
    const restarted = entry('broker-restarted');
    const decided = [entry('incident-opened'), entry('decision-revised')]
      .filter((i) => i >= 0)
      .map((i) => r.timeline[i]?.detail ?? '');
    if (decided.some((d) => /(result: |-> )await-approval/.test(d))) {
      expect(entry('approval-granted')).toBeGreaterThan(-1);
      expect(entry('approval-granted')).toBeLessThan(restarted);
    }
  }, 420_000);

  it('flapping-broker: after two automatic heals the flap breaker escalates the third crash instead of restarting', async () => {
    const r = await drill('flapping-broker');
    const failures = r.incidents.filter((i) => i.type === 'broker-failure');
    expect(failures.filter((i) => i.status === 'resolved').length).toBeGreaterThanOrEqual(2);
    expect(failures.at(-1)?.status).toBe('escalated');
    expect(r.timeline.some((t) => /Flap breaker/.test(t.detail ?? ''))).toBe(true);
  }, 720_000);

  it('escalated-then-recovered: the flap breaker escalates broker 2, a hand repair lets it auto-resolve, and broker 3 crashing later is healed by its own incident', async () => {
    const r = await drill('escalated-then-recovered');
    const failures = r.incidents.filter((i) => i.type === 'broker-failure');
    // Healed once, escalated once (the flap breaker), then broker 3's own incident, healed.
    expect(failures.map((i) => i.status)).toEqual(['resolved', 'resolved', 'resolved']);
    const escalated = r.timeline.filter((t) => t.event === 'incident:escalation-started');
    expect(escalated).toHaveLength(1);
    const escalatedId = (escalated[0]?.detail ?? '').split(':')[0] ?? '';
    // The auto-resolver closed it: escalated -> resolved, and why (its alarms OK, the cluster healthy for 20 s).
    expect(
      r.timeline.some(
        (t) =>
          t.event === 'incident:status-changed' &&
          (t.detail ?? '').startsWith(`${escalatedId}: escalated -> resolved: recovered without the healer`),
      ),
    ).toBe(true);
    expect(
      r.timeline.filter((t) => t.event === 'auto-resolve:resolved').map((t) => (t.detail ?? '').split(':')[0]),
    ).toEqual([escalatedId]);
    const last = failures.at(-1);
    expect(last?.id).not.toBe(escalatedId);
    expect(last).toMatchObject({ workflow: 'broker-recovery', executionStatus: 'SUCCEEDED' });
    expect(r.expectations.every((e) => e.passed)).toBe(true);
    expect(r.messagesLost).toBe(0);
  }, 720_000);
});
