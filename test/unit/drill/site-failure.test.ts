// The site-failure drill's pure parts: the scenario's dr section and site-down fault, and the
// report's RPO/RTO figures and expectations on both sides of each edge.
import { describe, expect, it } from 'vitest';
import type { IncidentWithTimeline } from '#tools/incident-store.js';
import { RPO_SLACK_SECONDS, assembleReport, type DrillObservations, type DrObservations } from '#local/drill/report.js';
import { ScenarioError, loadScenario, validateScenario } from '#local/drill/scenario.js';

const FAULT = Date.parse('2026-11-22T05:00:00.000Z');
const at = (s: number) => new Date(FAULT + s * 1000).toISOString();

const base = {
  name: 'site-failure-dr',
  description: 'd',
  dr: {},
  faults: [{ at: 0, action: 'site-down' }],
  oracle: false,
  expect: { incidentType: 'site-failure', noDataLoss: false, lossWithinRpo: true, maxRpoSeconds: 5, maxRtoSeconds: 60 },
};

function siteIncident(): IncidentWithTimeline {
  return {
    id: 'inc-site',
    cluster: 'p',
    type: 'site-failure',
    severity: 'SEV-1',
    status: 'resolved',
    brokers: [],
    openedAt: at(6),
    detectedAt: at(5),
    lastSignalAt: at(6),
    fingerprints: [],
    signalCount: 1,
    version: 1,
    resolvedAt: at(30),
    timeline: [
      { at: at(6), actor: 'classifier', action: 'incident-opened' },
      { at: at(20), actor: 'workflow:dr-failover', action: 'route53-upsert' },
      { at: at(25), actor: 'workflow:dr-failover', action: 'canary-verified' },
    ],
  };
}

function observations(dr: DrObservations | undefined, workload: DrillObservations['workload']): DrillObservations {
  return {
    scenario: validateScenario(base, 't'),
    startedAt: FAULT - 60_000,
    finishedAt: FAULT + 60_000,
    cluster: { name: 'p', mode: 'kraft', brokers: 3, kafkaVersion: '4' },
    faultAt: FAULT,
    events: [],
    incidents: [siteIncident()],
    executions: [{ workflow: 'dr-failover', incidentId: 'inc-site', status: 'SUCCEEDED' }],
    workload,
    healthyAt: FAULT + 26_000,
    finalHealthy: true,
    oracleMs: null,
    ...(dr ? { dr } : {}),
    notes: [],
  };
}

const result = (o: DrillObservations, name: string) => assembleReport(o).expectations.find((e) => e.name === name);

describe('site-failure scenario', () => {
  it('the built-in scenario fails over after approval and bounds loss by the RPO', () => {
    const s = loadScenario('site-failure-dr');
    expect(s.dr).toEqual({
      automaticFailover: false,
      maxReplicationLagSeconds: 60,
      recordTtlSeconds: 1,
      propagationSeconds: 2,
    });
    expect(s.faults).toEqual([{ at: 0, action: 'site-down' }]);
    expect(s.expect).toMatchObject({
      incidentType: 'site-failure',
      workflow: 'dr-failover',
      noDataLoss: false,
      lossWithinRpo: true,
    });
  });

  it('a site-down fault without a dr section names the fault', () => {
    const { dr: _dr, ...noDr } = base;
    expect(() => validateScenario(noDr, 't')).toThrow(ScenarioError);
    try {
      validateScenario(noDr, 't');
    } catch (err) {
      expect((err as ScenarioError).issues).toEqual([
        { path: 'faults.0.action', message: expect.stringMatching(/needs a dr section/), value: '"site-down"' },
      ]);
    }
  });

  it('a forged site-down alert: the built-in scenario sends it through Alertmanager with automatic failover on; without a dr section it is refused', () => {
    const s = loadScenario('site-down-false-alarm');
    expect(s.dr).toMatchObject({ automaticFailover: true });
    expect(s.policy).toEqual({ mode: 'auto' });
    expect(s.faults).toEqual([{ at: 0, action: 'send-alert', alert: 'site-down' }]);
    expect(s.expect).toMatchObject({
      incidentType: 'site-failure',
      workflow: 'dr-failover',
      status: 'resolved',
      actionsNotTaken: expect.arrayContaining(['route53-upsert', 'primary-down-confirmed']),
    });
    const { dr: _dr, ...noDr } = { ...base, faults: [{ at: 0, action: 'send-alert', alert: 'site-down' }] };
    try {
      validateScenario(noDr, 't');
      throw new Error('expected a refusal');
    } catch (err) {
      expect((err as ScenarioError).issues).toEqual([
        {
          path: 'faults.0.alert',
          message: expect.stringMatching(/only for a cluster with a dr section/),
          value: '"site-down"',
        },
      ]);
    }
    expect(() =>
      validateScenario({ ...base, faults: [{ at: 0, action: 'send-alert', alert: 'broker-down' }] }, 't'),
    ).toThrow(/faults\.0/);
  });

  it('dr fields are checked (a typo or a zero TTL is refused)', () => {
    expect(() => validateScenario({ ...base, dr: { automaticFailovr: true } }, 't')).toThrow(/dr: Unrecognized key/);
    expect(() => validateScenario({ ...base, dr: { recordTtlSeconds: 0 } }, 't')).toThrow(/dr.recordTtlSeconds/);
  });
});

describe('site-failure report', () => {
  it('reports RPO and RTO only for a DR drill', () => {
    const r = assembleReport(
      observations(
        { rpoSeconds: 0.2, rtoSeconds: 25, oldestLostAgeSeconds: null },
        { produced: 100, consumed: 100, lost: 0 },
      ),
    );
    expect(r).toMatchObject({ rpoSeconds: 0.2, rtoSeconds: 25, mttrSeconds: 30, passed: true });
    const plain = assembleReport(observations(undefined, { produced: 100, consumed: 100, lost: 0 }));
    expect('rpoSeconds' in plain).toBe(false);
    // Without DR figures RPO and RTO are unmeasured; nothing lost still holds.
    expect(
      plain.expectations
        .filter((e) => !e.passed)
        .map((e) => e.name)
        .sort(),
    ).toEqual(['max RPO', 'max RTO']);
  });

  it('max RPO and max RTO hold at the bound and fail just past it', () => {
    const w = { produced: 100, consumed: 100, lost: 0 };
    expect(
      result(observations({ rpoSeconds: 5, rtoSeconds: 60, oldestLostAgeSeconds: null }, w), 'max RPO')?.passed,
    ).toBe(true);
    expect(
      result(observations({ rpoSeconds: 5.1, rtoSeconds: 60, oldestLostAgeSeconds: null }, w), 'max RPO')?.passed,
    ).toBe(false);
    expect(
      result(observations({ rpoSeconds: 1, rtoSeconds: 60, oldestLostAgeSeconds: null }, w), 'max RTO')?.passed,
    ).toBe(true);
    expect(
      result(observations({ rpoSeconds: 1, rtoSeconds: 60.1, oldestLostAgeSeconds: null }, w), 'max RTO'),
    ).toMatchObject({ passed: false, actual: '60.1 s' });
    expect(
      result(observations({ rpoSeconds: null, rtoSeconds: null, oldestLostAgeSeconds: null }, w), 'max RTO'),
    ).toMatchObject({ passed: false, actual: 'never switched' });
  });

  it('loss within RPO: lost messages acknowledged inside RPO + slack pass, one older fails', () => {
    const lost = { produced: 100, consumed: 97, lost: 3 };
    const edge = 0.5 + RPO_SLACK_SECONDS;
    expect(
      result(observations({ rpoSeconds: 0.5, rtoSeconds: 20, oldestLostAgeSeconds: edge }, lost), 'loss within RPO')
        ?.passed,
    ).toBe(true);
    const older = result(
      observations({ rpoSeconds: 0.5, rtoSeconds: 20, oldestLostAgeSeconds: edge + 0.1 }, lost),
      'loss within RPO',
    );
    expect(older).toMatchObject({
      passed: false,
      actual: `3 lost of 100, oldest acknowledged ${edge + 0.1} s before the failure`,
    });
    // Loss with no RPO measured cannot be judged: it fails.
    expect(
      result(observations({ rpoSeconds: null, rtoSeconds: 20, oldestLostAgeSeconds: 0.1 }, lost), 'loss within RPO')
        ?.passed,
    ).toBe(false);
    // Nothing lost holds whatever the RPO; nothing produced proves nothing.
    expect(
      result(
        observations(
          { rpoSeconds: null, rtoSeconds: 20, oldestLostAgeSeconds: null },
          { produced: 10, consumed: 10, lost: 0 },
        ),
        'loss within RPO',
      )?.passed,
    ).toBe(true);
    expect(
      result(
        observations(
          { rpoSeconds: 0.1, rtoSeconds: 20, oldestLostAgeSeconds: null },
          { produced: 0, consumed: 0, lost: 0 },
        ),
        'loss within RPO',
      )?.passed,
    ).toBe(false);
  });
});
