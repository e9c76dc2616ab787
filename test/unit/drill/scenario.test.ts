// Drill scenario files: every built-in one validates, defaults fill in, and a bad file fails with
// the field path and the value in the message, before anything starts.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  ScenarioError,
  builtInScenarios,
  loadScenario,
  parseScenario,
  validateScenario,
} from '#local/drill/scenario.js';

const minimal = { name: 'x-crash', description: 'd', faults: [{ at: 0, action: 'crash', broker: 2 }], expect: {} };

function issuesOf(input: unknown): ScenarioError['issues'] {
  try {
    validateScenario(input, 'test.yaml');
  } catch (err) {
    expect(err).toBeInstanceOf(ScenarioError);
    return (err as ScenarioError).issues;
  }
  throw new Error('expected the scenario to be refused');
}

describe('built-in scenarios', () => {
  it('includes the five local ones and every file validates', () => {
    const names = builtInScenarios();
    expect(names).toEqual(
      expect.arrayContaining(['broker-crash', 'broker-hang', 'false-alarm', 'flapping-broker', 'offline-partitions']),
    );
    for (const n of names) expect(loadScenario(n).name).toBe(n);
  });

  it('broker-crash: one crash of broker 2, resolved by broker-recovery with no data loss', () => {
    const s = loadScenario('broker-crash');
    expect(s.faults).toEqual([{ at: 0, action: 'crash', broker: 2 }]);
    expect(s.expect).toMatchObject({
      incidentType: 'broker-failure',
      workflow: 'broker-recovery',
      status: 'resolved',
      noDataLoss: true,
      finalHealth: 'healthy',
    });
  });
});

describe('defaults', () => {
  it('fills cluster, workload, alarms, approvals and expectations', () => {
    const s = validateScenario(minimal, 't');
    expect(s.cluster).toEqual({ brokers: 3, mode: 'kraft', platform: 'ec2' });
    expect(s.workload).toMatchObject({
      topic: 'drill-orders',
      ratePerSecond: 50,
      consumerGroup: 'drill-readers',
      warmupSeconds: 3,
    });
    expect(s.alarms).toEqual({ periodSeconds: 2, sustainedWindowSeconds: 120, probeIntervalSeconds: 0.5 });
    expect(s.approvals).toEqual({ decision: 'approve', afterSeconds: 3 });
    expect(s.policy).toEqual({ mode: 'auto' });
    expect(s.oracle).toBe(true);
    expect(s.expect).toMatchObject({
      incident: 'first',
      actionsTaken: [],
      actionsNotTaken: [],
      noDataLoss: true,
      finalHealth: 'healthy',
    });
  });
});

describe('clear errors: path and value', () => {
  it('an unknown fault action names faults.0.action', () => {
    const issues = issuesOf({ ...minimal, faults: [{ at: 0, action: 'explode', broker: 2 }] });
    expect(issues.some((i) => i.path.startsWith('faults.0'))).toBe(true);
  });

  it('a broker outside the cluster names the field and the value', () => {
    const issues = issuesOf({ ...minimal, faults: [{ at: 0, action: 'crash', broker: 7 }] });
    expect(issues).toEqual([{ path: 'faults.0.broker', message: 'the cluster has brokers 1..3', value: '7' }]);
  });

  it('a wrong type shows the value it got', () => {
    const issues = issuesOf({ ...minimal, workload: { ratePerSecond: 'fast' } });
    expect(issues).toEqual([expect.objectContaining({ path: 'workload.ratePerSecond', value: '"fast"' })]);
  });

  it('an unknown key is refused (a typo never passes silently)', () => {
    const issues = issuesOf({ ...minimal, expect: { incidentTyp: 'broker-failure' } });
    expect(issues[0]?.path).toBe('expect');
    expect(issues[0]?.message).toMatch(/incidentTyp/);
  });

  it('ZooKeeper faults need ZooKeeper mode', () => {
    const issues = issuesOf({ ...minimal, faults: [{ at: 0, action: 'zk-crash', zookeeper: 1 }] });
    expect(issues).toEqual([
      expect.objectContaining({ path: 'faults.0.action', message: 'ZooKeeper faults need cluster.mode zookeeper' }),
    ]);
    expect(
      validateScenario(
        { ...minimal, cluster: { mode: 'zookeeper' }, faults: [{ at: 0, action: 'zk-crash', zookeeper: 1 }] },
        't',
      ).faults[0],
    ).toEqual({ at: 0, action: 'zk-crash', zookeeper: 1 });
  });

  it('an invalid runtime policy is refused with the scenario, naming the field, the value and the rule', () => {
    // The default simultaneousWindowSeconds (60) exceeds a 20 s cascade window.
    expect(issuesOf({ ...minimal, policy: { mode: 'auto', cascadeWindowSeconds: 20 } })).toEqual([
      { path: 'policy.simultaneousWindowSeconds', message: 'must not exceed cascadeWindowSeconds (20), got 60' },
    ]);
    expect(
      issuesOf({ ...minimal, policy: { mode: 'auto', cascadeWindowSeconds: 20, simultaneousWindowSeconds: 30 } }),
    ).toEqual([
      { path: 'policy.simultaneousWindowSeconds', message: 'must not exceed cascadeWindowSeconds (20), got 30' },
    ]);
    expect(issuesOf({ ...minimal, policy: { mode: 'sometimes' } })).toEqual([
      { path: 'policy.mode', message: 'must be one of auto, approval, dry-run, off, got "sometimes"' },
    ]);
    expect(issuesOf({ ...minimal, policy: { thresholds: { diskWarnPercent: 'high' } } })).toEqual([
      { path: 'policy.thresholds.diskWarnPercent', message: 'must be a number >= 0, got "high"' },
    ]);
    // Where the rule's message does not quote the value, the issue carries it.
    expect(issuesOf({ ...minimal, policy: { cascadeWindow: 20 } })).toEqual([
      { path: 'policy.cascadeWindow', message: 'is not a policy field', value: '20' },
    ]);
    expect(issuesOf({ ...minimal, policy: { thresholds: 7 } })).toEqual([
      { path: 'policy.thresholds', message: 'must be an object', value: '7' },
    ]);
    expect(
      issuesOf({
        ...minimal,
        policy: { maintenanceWindows: [{ start: '2026-12-06T02:00:00Z', end: '2026-12-06T01:00:00Z' }] },
      }),
    ).toEqual([
      { path: 'policy.maintenanceWindows[0].end', message: 'must be after start', value: '"2026-12-06T01:00:00Z"' },
    ]);
    expect(
      validateScenario(
        { ...minimal, policy: { mode: 'auto', cascadeWindowSeconds: 20, simultaneousWindowSeconds: 10 } },
        't',
      ).policy,
    ).toMatchObject({ cascadeWindowSeconds: 20 });
  });

  it('prometheus: Prometheus alone cannot have a forced CloudWatch alarm, and runs without a DR site', () => {
    expect(validateScenario({ ...minimal, prometheus: {} }, 't').prometheus).toEqual({ cloudwatchAlarms: true });
    expect(
      issuesOf({
        ...minimal,
        prometheus: { cloudwatchAlarms: false },
        faults: [{ at: 0, action: 'fire-alarm', alarm: 'broker-down' }],
      }),
    ).toEqual([
      expect.objectContaining({
        path: 'faults.0.action',
        message: 'fire-alarm forces a CloudWatch-style alarm, which prometheus.cloudwatchAlarms false leaves out',
      }),
    ]);
    expect(issuesOf({ ...minimal, prometheus: {}, dr: {} })).toEqual([
      expect.objectContaining({
        path: 'prometheus',
        message: 'a monitored drill has no DR site yet (the DR cluster runs no exporters)',
      }),
    ]);
    expect(loadScenario('broker-crash-prometheus').prometheus).toEqual({ cloudwatchAlarms: false });
    expect(loadScenario('zk-split-brain').prometheus).toEqual({ cloudwatchAlarms: true });
  });

  it('an unknown incident type in expect lists the path', () => {
    expect(issuesOf({ ...minimal, expect: { incidentType: 'meltdown' } })[0]).toMatchObject({
      path: 'expect.incidentType',
      value: '"meltdown"',
    });
  });

  it('the message carries every issue, one line each', () => {
    try {
      validateScenario({ ...minimal, name: 'Bad Name', faults: [] }, 'my.yaml');
    } catch (err) {
      expect((err as Error).message).toMatch(
        /^my\.yaml: invalid drill scenario:\n {2}name: .*\(got "Bad Name"\)\n {2}faults: /,
      );
      return;
    }
    throw new Error('expected a ScenarioError');
  });

  it('YAML syntax errors name the file', () => {
    expect(() => parseScenario('name: [unclosed', 'broken.yaml')).toThrow(
      /broken\.yaml: invalid drill scenario:\n {2}\(file\): not valid YAML/,
    );
  });
});

describe('loading by name or by path', () => {
  it('a file outside the repository works by path', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kh-scenario-'));
    const file = join(dir, 'mine.yaml');
    writeFileSync(
      file,
      'name: my-drill\ndescription: mine\nfaults: [{ at: 1, action: hang, broker: 1 }]\nexpect: { incidentType: broker-failure }\n',
    );
    const s = loadScenario(file);
    expect(s).toMatchObject({ name: 'my-drill', faults: [{ at: 1, action: 'hang', broker: 1 }] });
  });

  it('an unknown name lists the built-in scenarios', () => {
    expect(() => loadScenario('no-such-drill')).toThrow(/no built-in scenario of that name; built-in: .*broker-crash/);
  });

  it('a missing path says which file', () => {
    expect(() => loadScenario('/nonexistent/x.yaml')).toThrow(/no such file: \/nonexistent\/x\.yaml/);
  });
});

describe('MSK clusters', () => {
  const why = 'an MSK drill presents a plain KRaft cluster with no DR peer or exporters (the local MSK double)';

  it('msk-broker-crash: broker 2 crashes on a cluster deployed as MSK; msk-broker-recovery reboots it, no SSM document', () => {
    const s = loadScenario('msk-broker-crash');
    expect(s.cluster).toEqual({ brokers: 3, mode: 'kraft', platform: 'msk' });
    expect(s.faults).toEqual([{ at: 0, action: 'crash', broker: 2 }]);
    expect(s.expect).toMatchObject({
      incidentType: 'broker-failure',
      workflow: 'msk-broker-recovery',
      status: 'resolved',
      actionsTaken: expect.arrayContaining(['broker-rebooted']),
      actionsNotTaken: ['host-diagnosed', 'broker-restarted'],
    });
  });

  it('KRaft, unsecured, no DR or Prometheus; a refused reboot only on MSK', () => {
    expect(validateScenario({ ...minimal, cluster: { platform: 'msk', mskRefusesReboot: 'no' } }, 't').cluster).toEqual(
      { brokers: 3, mode: 'kraft', platform: 'msk', mskRefusesReboot: 'no' },
    );
    expect(issuesOf({ ...minimal, cluster: { platform: 'msk', mode: 'zookeeper' } })).toEqual([
      { path: 'cluster.mode', message: why, value: '"zookeeper"' },
    ]);
    expect(issuesOf({ ...minimal, cluster: { platform: 'msk', security: { protocol: 'SSL' } } })).toEqual([
      { path: 'cluster.security', message: why, value: '{"protocol":"SSL"}' },
    ]);
    expect(issuesOf({ ...minimal, cluster: { platform: 'msk' }, dr: {}, prometheus: {} }).map((i) => i.path)).toEqual([
      'dr',
      'prometheus',
      'prometheus',
    ]);
    expect(issuesOf({ ...minimal, cluster: { mskRefusesReboot: 'no' } })).toEqual([
      { path: 'cluster.mskRefusesReboot', message: 'only with cluster.platform msk', value: '"no"' },
    ]);
    expect(issuesOf({ ...minimal, cluster: { platform: 'gcp' } })[0]).toMatchObject({
      path: 'cluster.platform',
      value: '"gcp"',
    });
  });
});

describe('secured clusters', () => {
  const sasl = { protocol: 'SASL_SSL', mechanism: 'SCRAM-SHA-512' };

  it('the secured built-ins say which listener the healer speaks; a password rotation needs SCRAM', () => {
    expect(loadScenario('broker-crash-sasl-ssl').cluster.security).toEqual(sasl);
    const rotated = loadScenario('scram-password-rotated');
    expect(rotated.faults).toEqual([{ at: 0, action: 'rotate-scram-password' }]);
    expect(rotated.expect).toMatchObject({
      incidentType: 'access-failure',
      severity: 'SEV-2',
      status: 'escalated',
      finalHealth: 'any',
    });
    expect(issuesOf({ ...minimal, faults: [{ at: 0, action: 'rotate-scram-password' }] })).toEqual([
      {
        path: 'faults.0.action',
        message: 'a SCRAM password rotation needs cluster.security with a SCRAM mechanism',
        value: '"rotate-scram-password"',
      },
    ]);
    expect(
      issuesOf({
        ...minimal,
        cluster: { security: { protocol: 'SSL' } },
        faults: [{ at: 0, action: 'rotate-scram-password' }],
      })[0]?.path,
    ).toBe('faults.0.action');
  });

  it('a SASL protocol needs a mechanism, TLS none; KRaft only', () => {
    expect(issuesOf({ ...minimal, cluster: { security: { protocol: 'SASL_SSL' } } })).toEqual([
      { path: 'cluster.security.mechanism', message: 'required with protocol SASL_SSL' },
    ]);
    expect(issuesOf({ ...minimal, cluster: { security: { protocol: 'SSL', mechanism: 'PLAIN' } } })).toEqual([
      { path: 'cluster.security.mechanism', message: 'only with a SASL protocol', value: '"PLAIN"' },
    ]);
    expect(issuesOf({ ...minimal, cluster: { mode: 'zookeeper', security: sasl } })).toEqual([
      { path: 'cluster.security', message: 'secured local clusters run in KRaft mode', value: '"zookeeper"' },
    ]);
    expect(
      validateScenario({ ...minimal, cluster: { security: { protocol: 'SSL', clientAuth: true } } }, 't').cluster
        .security,
    ).toEqual({ protocol: 'SSL', clientAuth: true });
  });
});
