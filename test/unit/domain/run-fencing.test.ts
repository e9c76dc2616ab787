// The run-fencing rules, table-driven as docs/incident-store.md states them ("Runs and the lock").
import { describe, expect, it } from 'vitest';
import {
  LOCK_STARTING_GRACE_SECONDS,
  lockTakeover,
  runMayAct,
  type LockHolder,
  type RunFacts,
} from '#domain/run-fencing.js';
import type { IncidentStatus, IncidentType } from '#domain/types.js';

const ME = 'arn:aws:states:eu-west-1:1:execution:kafka-heal-prod-broker-recovery:inc-1-broker-recovery-1';
const OTHER = 'arn:aws:states:eu-west-1:1:execution:kafka-heal-prod-cascade-recovery:inc-1-cascade-recovery-1';

describe('runMayAct', () => {
  const facts = (status: IncidentStatus, activeRun?: string, fencedRuns: string[] = []): RunFacts => ({
    status,
    activeRun,
    fencedRuns,
  });
  it.each<[string, RunFacts | undefined, boolean, RegExp | undefined]>([
    ['no incident item (a run started by hand for an incident nobody classified)', undefined, true, undefined],
    [
      'a fenced run, even while designated and remediating',
      facts('remediating', ME, [ME]),
      false,
      /superseded or stopped/,
    ],
    [
      'a fenced run of an escalated incident (the superseded start step after the release)',
      facts('escalated', undefined, [ME]),
      false,
      /superseded or stopped/,
    ],
    [
      'no designated run and no fence (the incident predates designation, or a run by hand)',
      facts('escalated'),
      true,
      undefined,
    ],
    ['no fence list at all', { status: 'open' }, true, undefined],
    [
      'the designated run while the incident is open (it sets its status after the start)',
      facts('open', ME),
      true,
      undefined,
    ],
    ['the designated run while remediating', facts('remediating', ME), true, undefined],
    ['the designated run while awaiting approval', facts('awaiting-approval', ME), true, undefined],
    [
      'the designated run once the incident is escalated',
      facts('escalated', ME),
      false,
      /is escalated: its run no longer acts/,
    ],
    ['the designated run once the incident is resolved', facts('resolved', ME), false, /is resolved/],
    ['the designated run once the incident is suppressed', facts('suppressed', ME), false, /is suppressed/],
    [
      'another run while the designated one remediates',
      facts('remediating', OTHER),
      false,
      new RegExp(`run ${OTHER} acts for the incident \\(remediating\\)`),
    ],
    [
      'another run while the designated one awaits approval',
      facts('awaiting-approval', OTHER),
      false,
      /awaiting-approval/,
    ],
    [
      'another run (by hand) once the designated one handed the incident to people',
      facts('escalated', OTHER),
      true,
      undefined,
    ],
    ['another run (by hand) while the incident is open', facts('open', OTHER), true, undefined],
  ])('%s', (_name, incident, mayAct, reason) => {
    const verdict = runMayAct(incident, ME);
    expect(verdict.mayAct).toBe(mayAct);
    if (!verdict.mayAct) expect(verdict.reason).toMatch(reason as RegExp);
  });
});

describe('lockTakeover', () => {
  const holder = (
    type: IncidentType,
    status: IncidentStatus,
    run: LockHolder['run'],
    lockAgeSeconds = 5,
    cluster = 'orders',
  ): LockHolder => ({ type, status, cluster, run, lockAgeSeconds });

  it('never takes a lock whose holder cannot be read, or that names an incident of another cluster', () => {
    expect(lockTakeover('site-failure', 'orders', undefined)).toEqual({
      take: false,
      reason: 'the lock holder cannot be read',
    });
    expect(
      lockTakeover('site-failure', 'orders', holder('broker-failure', 'remediating', 'ended', 9999, 'payments')),
    ).toEqual({ take: false, reason: 'the lock holder is an incident of payments' });
  });

  describe('a site failure or a quorum loss over a broker-level holder, whatever its status', () => {
    it.each<[IncidentType, IncidentType, IncidentStatus, LockHolder['run'], boolean, boolean]>([
      // claimant, holder type, holder status, run state -> stop the run, suppress the holder
      ['site-failure', 'broker-failure', 'remediating', 'live', true, true],
      ['site-failure', 'broker-failure', 'open', 'missing', true, true],
      ['site-failure', 'cascade-failure', 'awaiting-approval', 'unknown', true, true],
      ['site-failure', 'cascade-failure', 'escalated', 'live', true, false],
      ['site-failure', 'cascade-failure', 'escalated', 'ended', false, false],
      ['site-failure', 'broker-failure', 'resolved', 'ended', false, false],
      ['site-failure', 'broker-failure', 'suppressed', 'live', true, false],
      ['quorum-loss', 'broker-failure', 'remediating', 'live', true, true],
      ['quorum-loss', 'cascade-failure', 'escalated', 'missing', true, false],
    ])('%s over %s (%s, run %s): stop %s, suppress %s', (claimant, type, status, run, stopRun, suppressHolder) => {
      const t = lockTakeover(claimant, 'orders', holder(type, status, run));
      expect(t).toMatchObject({ take: true, stopRun, suppressHolder });
      expect(t.reason).toMatch(claimant === 'site-failure' ? /while the site is down/ : /while the quorum is lost/);
    });
  });

  describe('a stale lock: anyone takes it, nothing is stopped or closed', () => {
    it.each<[IncidentType, LockHolder]>([
      ['broker-failure', holder('disk-pressure', 'remediating', 'ended')],
      ['disk-pressure', holder('broker-failure', 'escalated', 'ended')],
      ['site-failure', holder('quorum-loss', 'resolved', 'ended')],
      ['broker-failure', holder('consumer-lag', 'open', 'missing', LOCK_STARTING_GRACE_SECONDS + 1)],
    ])('%s over %j', (claimant, h) => {
      const t = lockTakeover(claimant, 'orders', h);
      expect(t).toMatchObject({ take: true, stopRun: false, suppressHolder: false });
      expect(t.reason).toMatch(
        h.run === 'ended'
          ? /has ended without releasing it/
          : new RegExp(`never started in ${LOCK_STARTING_GRACE_SECONDS + 1} s`),
      );
    });
  });

  describe('otherwise the holder keeps it', () => {
    it.each<[IncidentType, LockHolder, RegExp]>([
      ['broker-failure', holder('broker-failure', 'remediating', 'live'), /run is running/],
      ['site-failure', holder('disk-pressure', 'remediating', 'live'), /disk-pressure holder's run is running/],
      ['quorum-loss', holder('site-failure', 'awaiting-approval', 'unknown'), /unknown state/],
      // At the edge of the grace, a run that does not exist yet may still be starting.
      ['disk-pressure', holder('broker-failure', 'open', 'missing', LOCK_STARTING_GRACE_SECONDS), /run is starting/],
    ])('%s against %j', (claimant, h, reason) => {
      const t = lockTakeover(claimant, 'orders', h);
      expect(t.take).toBe(false);
      expect(t.reason).toMatch(reason);
    });
  });
});
