// Security: hostile alarm names, labels and annotations never reach a host command or a file
// path unvalidated.
//   1. normalize: a hostile broker id is refused with a clear error; names and labels are bounded.
//   2. broker-recovery on the local runtime, with the hostile signal in its input exactly as the
//      classifier passes it: every SSM parameter comes from configuration and passes the
//      document's own validation; a hostile cluster name gets no command at all.
//   3. the local ssm:sendCommand binding (what drills run) refuses every hostile value for every
//      parameter of every document before any script is written or run.
import { describe, expect, it } from 'vitest';
import { normalize } from '#domain/normalize/index.js';
import { LIMITS } from '#domain/normalize/common.js';
import type { ClusterFacts, Signal } from '#domain/types.js';
import { listRunbooks, loadRunbook, validateParameters } from '#infra/runbooks.js';
import { ssmBindings, type CommandRun } from '#local/stepfunctions/bindings.js';
import { runbookRunner } from '#local/stepfunctions/runbook-runner.js';
import type { TaskCall } from '#local/stepfunctions/runtime.js';
import { SNAPSHOTS, SUBSTITUTIONS, diagnosisLine, ok, runScenario } from '#test/statemachines/recovery-fixtures.js';
import { HOSTILE, REQUIRED } from './hostile-values.js';

const ORDERS: ClusterFacts = {
  name: 'orders',
  aliases: [],
  platform: 'ec2',
  metadataMode: 'kraft',
  brokerCount: 3,
  hasDr: false,
  automaticFailover: false,
};
const ctx = { clusters: [ORDERS], receivedAt: '2026-11-22T02:00:00.000Z' };

function alertmanager(labels: Record<string, string>, annotations: Record<string, string>): unknown {
  return {
    version: '4',
    groupKey: '{}:{alertname="KafkaBrokerDown"}',
    status: 'firing',
    receiver: 'kafka-heal',
    groupLabels: {},
    commonLabels: {},
    commonAnnotations: {},
    externalURL: 'http://alertmanager',
    alerts: [
      {
        status: 'firing',
        labels: { alertname: 'KafkaBrokerDown', cluster: 'orders', broker: '2', ...labels },
        annotations,
        startsAt: '2026-11-22T01:59:00.000Z',
        endsAt: '0001-01-01T00:00:00Z',
        fingerprint: 'f1',
      },
    ],
  };
}

/** The signals a hostile Alertmanager alert becomes: hostile text everywhere except the broker id. */
function hostileSignals(): Signal[] {
  const values = Object.fromEntries(HOSTILE.map(([label, value], i) => [`x${i}`, value.slice(0, 2000) || label]));
  const res = normalize(
    alertmanager(values, {
      summary: HOSTILE.map(([, v]) => v)
        .join(' ')
        .slice(0, 5000),
      description: '$(reboot) `id` ; rm -rf /',
    }),
    ctx,
  );
  if (res.outcome !== 'signals') throw new Error('expected signals');
  return res.signals;
}

describe('hostile alarm input at the edge (normalize)', () => {
  // A broker label that is no broker id names no broker: the alert is kept (people are notified),
  // its broker ids stay integers only, and the unreadable label is kept as bounded data.
  it.each(
    HOSTILE.filter(([, v]) => v.trim() !== '' && !/^\d+$/.test(v.trim())).map(([label, value]) => [label, value]),
  )('a broker id carrying %s names no broker and stays data', (_label, value) => {
    const res = normalize(alertmanager({ broker: value }, {}), ctx);
    if (res.outcome !== 'signals') throw new Error('expected signals');
    const [s] = res.signals;
    expect(s?.brokerIds).toEqual([]);
    expect(s?.labels.kafkaHealBrokerUnresolved?.startsWith('broker=')).toBe(true);
    expect((s?.labels.kafkaHealBrokerUnresolved ?? '').length).toBeLessThanOrEqual(LIMITS.labelValue);
  });

  it('hostile labels and annotations stay data: bounded in length, broker ids integers only', () => {
    const [s] = hostileSignals();
    expect(s).toBeDefined();
    expect(s!.brokerIds).toEqual([2]);
    expect(s!.name.length).toBeLessThanOrEqual(LIMITS.name);
    for (const [k, v] of Object.entries(s!.labels)) {
      expect(k.length).toBeLessThanOrEqual(LIMITS.labelKey);
      expect(v.length).toBeLessThanOrEqual(LIMITS.labelValue);
    }
    expect((s!.summary ?? '').length).toBeLessThanOrEqual(LIMITS.summary);
  });
});

describe('hostile alarm text through broker-recovery: no host command carries it', () => {
  const restarted = ok(
    '{"result":"restarted","pid":4242,"previousPid":0,"service":"kafka","listenerPort":9092,"waitedSeconds":7}\n',
  );
  const scenario = {
    workflow: 'broker-recovery' as const,
    probes: [SNAPSHOTS.brokerTwoCrashed, SNAPSHOTS.brokerTwoCrashed, SNAPSHOTS.healthy],
    commands: {
      [SUBSTITUTIONS.DiagnoseDocumentName]: ok(diagnosisLine()),
      [SUBSTITUTIONS.RestartDocumentName]: restarted,
    },
  };

  it("every SendCommand parameter is configuration, passes its document's validation, and contains none of the hostile text", async () => {
    const [signal] = hostileSignals();
    const run = await runScenario({
      ...scenario,
      input: {
        signal,
        reasons: HOSTILE.map(([, v]) => v),
        plan: { workflow: 'broker-recovery', brokerIds: [2], dryRun: false, reason: '$(id)' },
      } as Record<string, unknown>,
    });
    expect(run.result.status).toBe('SUCCEEDED');
    expect(run.commands.length).toBe(2);
    const prefix = SUBSTITUTIONS.DiagnoseDocumentName.slice(
      0,
      SUBSTITUTIONS.DiagnoseDocumentName.indexOf('kafka-diagnose-host'),
    );
    for (const c of run.commands) {
      const doc = loadRunbook(c.documentName.slice(prefix.length));
      expect(() => validateParameters(doc, c.parameters), c.documentName).not.toThrow();
      const values = Object.values(c.parameters).flat();
      for (const [label, value] of HOSTILE) {
        if (value.trim().length < 2) continue;
        for (const v of values) expect(v.includes(value), `${c.documentName} carries ${label}`).toBe(false);
      }
    }
  });

  it.each([
    ['shell metacharacters', 'orders; reboot'],
    ['path traversal', '../../etc/passwd'],
    ['a 10,000-character name', 'o'.repeat(10_000)],
  ])('a cluster name with %s: no target, no command, escalated', async (_label, cluster) => {
    const run = await runScenario({ ...scenario, input: { cluster } });
    expect(run.commands).toEqual([]);
    expect(run.store.status).toBe('escalated');
  });
});

describe('the local ssm:sendCommand binding refuses hostile parameters before any script exists', () => {
  const docs = listRunbooks().map((name) => loadRunbook(name));
  const cases = docs.flatMap((doc) =>
    Object.keys(doc.parameters).flatMap((parameter) =>
      HOSTILE.map(([label, value]) => ({ doc, parameter, label, value })),
    ),
  );
  const ran: CommandRun[] = [];
  const runner = runbookRunner({ hosts: { 'i-0123456789abcdef0': {} } });
  const ssm = ssmBindings({
    run: async (cmd) => (ran.push(cmd), runner.run(cmd)),
    validate: runner.validate,
    isManaged: runner.isManaged,
  });
  const send = ssm.registry['arn:aws:states:::aws-sdk:ssm:sendCommand'];
  const call = { stateName: 'Restart Kafka Service' } as TaskCall;

  it('binds the resource the workflows use', () => {
    expect(typeof send).toBe('function');
    expect(cases.length).toBeGreaterThanOrEqual(30 * HOSTILE.length);
  });

  it.each(cases.map((c) => [c.doc.name, c.parameter, c.label, c] as const))(
    '%s %s: %s is refused with Ssm.InvalidParametersException',
    async (_n, _p, _l, c) => {
      const parameters = Object.fromEntries(
        Object.entries({ ...REQUIRED[c.doc.name], [c.parameter]: c.value }).map(([k, v]) => [k, [v]]),
      );
      let caught: unknown;
      try {
        await send!({ DocumentName: c.doc.name, InstanceIds: ['i-0123456789abcdef0'], Parameters: parameters }, call);
      } catch (err) {
        caught = err;
      }
      expect((caught as Error | undefined)?.name).toBe('Ssm.InvalidParametersException');
      await ssm.settled();
      expect(ran).toEqual([]);
    },
  );
});
