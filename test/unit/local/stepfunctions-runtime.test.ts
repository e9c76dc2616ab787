import { describe, expect, it } from 'vitest';
import {
  DuplicateStateNameError,
  RESOURCES,
  TaskError,
  UnboundResourceError,
  bindTasks,
  enteredStates,
  lambdaInvokeBinding,
  parseDefinition,
  recordCalls,
  runWorkflow,
  scaledTimings,
  ssmBindings,
  startExecutionSyncBinding,
  taskResources,
  walkStates,
  type AslDefinition,
} from '#local/stepfunctions/index.js';

const EXEC = { id: 'arn:x:execution:sm:e1', name: 'e1', stateMachineArn: 'arn:x:stateMachine:sm', taskToken: 't' };

function task(resource: string, extra: Record<string, unknown> = {}) {
  return { Type: 'Task', Resource: resource, End: true, ...extra };
}

describe('definition loading', () => {
  it('renders placeholders and refuses missing ones', () => {
    const text = JSON.stringify({ StartAt: 'A', States: { A: { Type: 'Pass', Result: '${Value}', End: true } } });
    expect(parseDefinition(text, { Value: 'v' }).States['A']?.['Result']).toBe('v');
    expect(() => parseDefinition(text, {})).toThrow(/\$\{Value\}/);
    expect(() => parseDefinition('{"StartAt": 1}', {})).toThrow(/not an ASL definition/);
    expect(() => parseDefinition('{', {})).toThrow(/not JSON/);
  });

  it('walks Map and Parallel bodies', () => {
    const def: AslDefinition = {
      StartAt: 'P',
      States: {
        P: {
          Type: 'Parallel',
          Branches: [{ StartAt: 'B1', States: { B1: task('r:b1') } }],
          Next: 'M',
        },
        M: { Type: 'Map', ItemProcessor: { StartAt: 'I1', States: { I1: task('r:i1') } }, End: true },
      },
    };
    expect(walkStates(def).map((v) => `${v.parents.join('>')}/${v.name}`)).toEqual(['/P', 'P/B1', '/M', 'M/I1']);
    expect(taskResources(def)).toEqual(['r:b1', 'r:i1']);
  });
});

describe('binding by Resource', () => {
  it('fails loudly, naming every Task without a binding', () => {
    const def: AslDefinition = {
      StartAt: 'A',
      States: { A: { ...task('r:a'), End: undefined, Next: 'B' }, B: task('r:b') },
    };
    try {
      bindTasks(def, { 'r:a': () => 1 }, EXEC);
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(UnboundResourceError);
      expect((err as UnboundResourceError).unbound).toEqual([{ stateName: 'B', resource: 'r:b' }]);
    }
  });

  it('refuses two Tasks sharing a name with different resources', () => {
    const def: AslDefinition = {
      StartAt: 'M',
      States: {
        M: { Type: 'Map', ItemProcessor: { StartAt: 'X', States: { X: task('r:1') } }, Next: 'X' },
        X: task('r:2'),
      },
    };
    expect(() => bindTasks(def, { 'r:1': () => 1, 'r:2': () => 2 }, EXEC)).toThrow(DuplicateStateNameError);
  });

  it('binds Tasks inside Map bodies and passes the execution context', async () => {
    const def: AslDefinition = {
      StartAt: 'Each',
      States: {
        Each: {
          Type: 'Map',
          ItemsPath: '$.items',
          ItemProcessor: {
            StartAt: 'Double',
            States: { Double: task('r:double', { Parameters: { 'n.$': '$', 'exec.$': '$$.Execution.Id' } }) },
          },
          End: true,
        },
      },
    };
    const seen: string[] = [];
    const res = await runWorkflow({
      definition: def,
      input: { items: [1, 2] },
      bindings: {
        'r:double': (input, call) => {
          const i = input as { n: number; exec: string };
          seen.push(`${call.parents.join('>')}/${call.stateName}:${i.exec}`);
          return i.n * 2;
        },
      },
      execution: { id: 'exec-1' },
    });
    expect(res.status).toBe('SUCCEEDED');
    if (res.status === 'SUCCEEDED') expect(res.output).toEqual([2, 4]);
    expect(seen).toEqual(['Each/Double:exec-1', 'Each/Double:exec-1']);
  });
});

describe('errors thrown by bindings reach Retry/Catch under their name, as in AWS', () => {
  const def: AslDefinition = {
    StartAt: 'Work',
    States: {
      Work: {
        Type: 'Task',
        Resource: 'r:work',
        Retry: [{ ErrorEquals: ['Transient'], IntervalSeconds: 10, MaxAttempts: 2 }],
        Catch: [
          { ErrorEquals: ['Permanent'], ResultPath: '$.error', Next: 'Caught Permanent' },
          { ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'Caught Other' },
        ],
        End: true,
      },
      'Caught Permanent': { Type: 'Pass', End: true },
      'Caught Other': { Type: 'Pass', End: true },
    },
  };

  it('retries a matching name, then catches it with Error = name and Cause = message', async () => {
    let calls = 0;
    const res = await runWorkflow({
      definition: def,
      input: {},
      timeScale: 0.001,
      bindings: {
        'r:work': () => {
          calls++;
          throw new TaskError('Transient', 'try again');
        },
      },
    });
    expect(calls).toBe(3);
    expect(res.status).toBe('SUCCEEDED');
    if (res.status === 'SUCCEEDED') expect(res.output).toEqual({ error: { Error: 'Transient', Cause: 'try again' } });
    expect(enteredStates(res.events)).toEqual(['Work', 'Caught Other']);
    expect(res.events.filter((e) => e.type === 'StateRetried')).toHaveLength(2);
  });

  it('an Error subclass with a stable name matches its ErrorEquals (no retry for it)', async () => {
    class Permanent extends Error {
      override readonly name = 'Permanent';
    }
    let calls = 0;
    const res = await runWorkflow({
      definition: def,
      input: {},
      bindings: {
        'r:work': () => {
          calls++;
          throw new Permanent('no');
        },
      },
    });
    expect(calls).toBe(1);
    expect(enteredStates(res.events)).toEqual(['Work', 'Caught Permanent']);
  });

  it('a Lambda error through lambda:invoke surfaces as its errorType with a JSON Cause', async () => {
    class BrokerNotHealthy extends Error {
      override readonly name = 'BrokerNotHealthy';
    }
    const d: AslDefinition = {
      StartAt: 'Call',
      States: {
        Call: {
          Type: 'Task',
          Resource: RESOURCES.lambdaInvoke,
          Parameters: { FunctionName: 'arn:aws:lambda:eu-west-1:123456789012:function:steps', Payload: {} },
          Catch: [{ ErrorEquals: ['BrokerNotHealthy'], ResultPath: '$.error', Next: 'Done' }],
          End: true,
        },
        Done: { Type: 'Pass', End: true },
      },
    };
    const res = await runWorkflow({
      definition: d,
      input: {},
      bindings: {
        [RESOURCES.lambdaInvoke]: lambdaInvokeBinding({
          steps: () => {
            throw new BrokerNotHealthy('broker 2 not in ISR');
          },
        }),
      },
    });
    expect(res.status).toBe('SUCCEEDED');
    if (res.status !== 'SUCCEEDED') return;
    const error = (res.output as { error: { Error: string; Cause: string } }).error;
    expect(error.Error).toBe('BrokerNotHealthy');
    expect(JSON.parse(error.Cause)).toEqual({ errorType: 'BrokerNotHealthy', errorMessage: 'broker 2 not in ISR' });
  });

  it('an uncaught error fails the run with its name and message', async () => {
    const d: AslDefinition = { StartAt: 'W', States: { W: task('r:w') } };
    const res = await runWorkflow({
      definition: d,
      input: {},
      bindings: { 'r:w': () => Promise.reject(new TaskError('Boom', 'it broke')) },
    });
    expect(res).toMatchObject({ status: 'FAILED', error: 'Boom', cause: 'it broke' });
  });

  it('validates a definition on its first run only (as CreateStateMachine does), so later runs start at once', async () => {
    // A Next to a state that does not exist: the engine's validation refuses it on the first run.
    const broken = { StartAt: 'P', States: { P: { Type: 'Pass', Next: 'Nowhere' } } } as unknown as AslDefinition;
    await expect(runWorkflow({ definition: broken, input: {}, bindings: {} })).rejects.toThrow();
    await expect(runWorkflow({ definition: broken, input: {}, bindings: {} })).rejects.toThrow();
    const d: AslDefinition = { StartAt: 'P', States: { P: { Type: 'Pass', Result: 1, End: true } } };
    expect((await runWorkflow({ definition: d, input: {}, bindings: {} })).status).toBe('SUCCEEDED');
    expect((await runWorkflow({ definition: d, input: {}, bindings: {} })).status).toBe('SUCCEEDED');
  });

  it('a Fail state ends the run FAILED with its Error and Cause', async () => {
    const d: AslDefinition = { StartAt: 'F', States: { F: { Type: 'Fail', Error: 'Escalated', Cause: 'people' } } };
    const res = await runWorkflow({ definition: d, input: {}, bindings: {} });
    expect(res).toMatchObject({ status: 'FAILED', error: 'Escalated', cause: 'people' });
  });
});

describe('timings', () => {
  it('scales Wait seconds and retry intervals', () => {
    const def: AslDefinition = {
      StartAt: 'W',
      States: {
        W: { Type: 'Wait', Seconds: 30, Next: 'T' },
        T: { ...task('r'), Retry: [{ ErrorEquals: ['A'], IntervalSeconds: 10 }, { ErrorEquals: ['B'] }] },
      },
    };
    expect(scaledTimings(def, 0.01)).toEqual({ waits: { W: 300 }, retries: { T: [100, 10] } });
  });

  it('a scaled Wait really is short', async () => {
    const def: AslDefinition = { StartAt: 'W', States: { W: { Type: 'Wait', Seconds: 60, End: true } } };
    const t0 = Date.now();
    const res = await runWorkflow({ definition: def, input: { a: 1 }, bindings: {}, timeScale: 0.0001 });
    expect(res.status).toBe('SUCCEEDED');
    expect(Date.now() - t0).toBeLessThan(2000);
  });
});

describe('stopping an execution (StopExecution)', () => {
  it('an aborted run ends ABORTED and runs no further state', async () => {
    const def: AslDefinition = { StartAt: 'W', States: { W: { Type: 'Wait', Seconds: 30, Next: 'T' }, T: task('r') } };
    const ran: string[] = [];
    const stop = new AbortController();
    const run = runWorkflow({
      definition: def,
      input: {},
      bindings: { r: () => (ran.push('T'), {}) },
      signal: stop.signal,
    });
    setTimeout(() => stop.abort(new Error('superseded by cascade-recovery')), 50);
    const res = await run;
    expect(res).toMatchObject({ status: 'ABORTED', error: 'States.Aborted', cause: 'superseded by cascade-recovery' });
    expect(ran).toEqual([]);
  });
});

describe('the history quota', () => {
  it('a loop that never ends fails States.Runtime at the history limit instead of running out of memory', async () => {
    const def: AslDefinition = {
      StartAt: 'W',
      States: {
        W: { Type: 'Wait', Seconds: 60, Next: 'T' },
        T: { Type: 'Task', Resource: 'r', ResultPath: null, Next: 'Done?' },
        'Done?': { Type: 'Choice', Choices: [{ Variable: '$.done', IsPresent: true, Next: 'End' }], Default: 'W' },
        End: { Type: 'Succeed' },
      },
    };
    let calls = 0;
    const res = await runWorkflow({
      definition: def,
      input: {},
      bindings: { r: () => (calls++, {}) },
      timeScale: 0,
      maxHistoryEvents: 400,
    });
    expect(res).toMatchObject({ status: 'FAILED', error: 'States.Runtime' });
    expect(res.status === 'FAILED' && res.cause).toContain('400 events');
    expect(res.events.length).toBeGreaterThanOrEqual(400);
    expect(res.events.length).toBeLessThan(420);
    expect(calls).toBeGreaterThan(50);
  });
});

describe('service bindings', () => {
  it('SSM: invocation invisible at first, InProgress while running, then the outcome', async () => {
    let finish: (v: { status: 'Success'; responseCode: number; stdout: string; stderr: string }) => void = () =>
      undefined;
    const ssm = ssmBindings({
      run: () => new Promise((r) => (finish = r)),
      invisibleForPolls: 1,
      isManaged: (id) => id === 'i-1',
    });
    const call = { stateName: 'S', resource: '', state: { Type: 'Task' }, parents: [], execution: EXEC };
    const send = ssm.registry[RESOURCES.ssmSendCommand]!;
    const get = ssm.registry[RESOURCES.ssmGetCommandInvocation]!;
    expect(() => send({ DocumentName: 'd', InstanceIds: ['i-2'], Parameters: {} }, call)).toThrow(
      expect.objectContaining({ name: 'Ssm.InvalidInstanceIdException' }),
    );
    const sent = (await send({ DocumentName: 'd', InstanceIds: ['i-1'], Parameters: { A: ['1'] } }, call)) as {
      Command: { CommandId: string };
    };
    const q = { CommandId: sent.Command.CommandId, InstanceId: 'i-1' };
    expect(() => get(q, call)).toThrow(expect.objectContaining({ name: 'Ssm.InvocationDoesNotExistException' }));
    expect(await get(q, call)).toMatchObject({ Status: 'InProgress' });
    finish({ status: 'Success', responseCode: 0, stdout: 'ok\n', stderr: '' });
    await ssm.settled();
    expect(await get(q, call)).toMatchObject({ Status: 'Success', ResponseCode: 0, StandardOutputContent: 'ok\n' });
    expect(ssm.commands).toEqual([
      expect.objectContaining({ documentName: 'd', instanceId: 'i-1', parameters: { A: ['1'] }, stateName: 'S' }),
    ]);
  });

  it('nested executions: output on success, States.TaskFailed on a failed child', async () => {
    const call = { stateName: 'N', resource: '', state: { Type: 'Task' }, parents: [], execution: EXEC };
    const child: AslDefinition = {
      StartAt: 'C',
      States: {
        C: { Type: 'Choice', Choices: [{ Variable: '$.ok', BooleanEquals: true, Next: 'Y' }], Default: 'N' },
        Y: { Type: 'Succeed' },
        N: { Type: 'Fail', Error: 'Nope', Cause: 'c' },
      },
    };
    const bind = startExecutionSyncBinding({
      'arn:child': (input) => runWorkflow({ definition: child, input, bindings: {} }),
    });
    expect(await bind({ StateMachineArn: 'arn:child', Input: { ok: true } }, call)).toMatchObject({
      Status: 'SUCCEEDED',
      Output: { ok: true },
    });
    await expect(bind({ StateMachineArn: 'arn:child', Input: { ok: false } }, call)).rejects.toMatchObject({
      name: 'States.TaskFailed',
    });
    await expect(bind({ StateMachineArn: 'arn:other', Input: {} }, call)).rejects.toMatchObject({
      name: 'Sfn.StateMachineDoesNotExistException',
    });
  });

  it('recordCalls keeps each call with its state and error', async () => {
    const { registry, calls } = recordCalls({ 'r:x': () => Promise.reject(new TaskError('E', 'm')) });
    const call = { stateName: 'X', resource: 'r:x', state: { Type: 'Task' }, parents: [], execution: EXEC };
    await expect(registry['r:x']!({ a: 1 }, call)).rejects.toThrow('m');
    expect(calls).toEqual([{ resource: 'r:x', stateName: 'X', input: { a: 1 }, error: 'E' }]);
  });
});

describe('runbook runner (ssm:sendCommand runs the repository documents with bash)', () => {
  it('runs kafka-diagnose-host for a local host, refuses hostile parameters and unknown documents at SendCommand', async () => {
    const { runbookRunner } = await import('#local/stepfunctions/runbook-runner.js');
    const runner = runbookRunner({
      hosts: { 'i-0123456789abcdef2': {} },
      documentPrefix: 'kafka-heal-test-',
      maxStepMs: 30_000,
    });
    const ssm = ssmBindings({ run: runner.run, validate: runner.validate, isManaged: runner.isManaged });
    const call = { stateName: 'Diagnose', resource: '', state: { Type: 'Task' }, parents: [], execution: EXEC };
    const send = ssm.registry[RESOURCES.ssmSendCommand]!;
    const get = ssm.registry[RESOURCES.ssmGetCommandInvocation]!;
    const params = {
      ServiceName: ['kafka-heal-test-no-such-unit'],
      ListenerPort: ['1'],
      LogDirs: ['/nonexistent-kh-dir'],
    };
    const sent = (await send(
      { DocumentName: 'kafka-heal-test-kafka-diagnose-host', InstanceIds: ['i-0123456789abcdef2'], Parameters: params },
      call,
    )) as { Command: { CommandId: string } };
    await ssm.settled();
    const inv = (await get({ CommandId: sent.Command.CommandId, InstanceId: 'i-0123456789abcdef2' }, call)) as {
      Status: string;
      StandardOutputContent: string;
    };
    expect(inv.Status).toBe('Success');
    const line = inv.StandardOutputContent.trim().split('\n').at(-1) ?? '';
    expect(line).toMatch(/^KAFKA_HEAL_DIAGNOSIS /);
    expect(JSON.parse(line.slice('KAFKA_HEAL_DIAGNOSIS '.length))).toMatchObject({
      v: 1,
      service: 'kafka-heal-test-no-such-unit',
      serviceActive: false,
      listenerUp: false,
    });
    expect(() =>
      send(
        {
          DocumentName: 'kafka-heal-test-kafka-diagnose-host',
          InstanceIds: ['i-0123456789abcdef2'],
          Parameters: { ServiceName: ['kafka; rm -rf /'] },
        },
        call,
      ),
    ).toThrow(expect.objectContaining({ name: 'Ssm.InvalidParametersException' }));
    expect(() =>
      send({ DocumentName: 'kafka-heal-test-no-such-doc', InstanceIds: ['i-0123456789abcdef2'], Parameters: {} }, call),
    ).toThrow(expect.objectContaining({ name: 'Ssm.InvalidDocumentException' }));
    expect(() =>
      send(
        { DocumentName: 'kafka-heal-test-kafka-diagnose-host', InstanceIds: ['i-0ffffffffffffffff'], Parameters: {} },
        call,
      ),
    ).toThrow(expect.objectContaining({ name: 'Ssm.InvalidInstanceIdException' }));
    expect(ssm.commands).toHaveLength(1);
  });

  it('a step past its time limit ends TimedOut, a non-zero exit ends Failed with its code', async () => {
    const { mkdtempSync, writeFileSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { runbookRunner } = await import('#local/stepfunctions/runbook-runner.js');
    const dir = mkdtempSync(join(tmpdir(), 'kh-rb-'));
    try {
      const doc = (name: string, line: string) =>
        writeFileSync(
          join(dir, `${name}.yaml`),
          `schemaVersion: '2.2'\ndescription: test\nmainSteps:\n  - action: aws:runShellScript\n    name: s\n    inputs:\n      runCommand:\n        - ${JSON.stringify(line)}\n`,
        );
      doc('sleepy', 'sleep 5');
      doc('failing', 'echo out; exit 7');
      const runner = runbookRunner({ hosts: { 'i-1': {} }, runbooksDir: dir, maxStepMs: 200 });
      await expect(runner.run({ documentName: 'sleepy', instanceId: 'i-1', parameters: {} })).resolves.toMatchObject({
        status: 'TimedOut',
      });
      await expect(runner.run({ documentName: 'failing', instanceId: 'i-1', parameters: {} })).resolves.toMatchObject({
        status: 'Failed',
        responseCode: 7,
        stdout: 'out\n',
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('systemctl shim', () => {
  it("answers the runbooks' calls from the cluster supervisor and drives faults through it", async () => {
    const { answerSystemctl, startSystemctlShim } = await import('#local/stepfunctions/systemctl-shim.js');
    const { execFile } = await import('node:child_process');
    const brokers = [{ id: 2, pid: 4242, state: 'running' }];
    const faults: string[] = [];
    const cluster = {
      brokers,
      fault: async (action: 'restart' | 'stop' | 'crash', id: number) => {
        faults.push(`${action} ${id}`);
        const b = brokers[0]!;
        if (action === 'crash') b.state = 'crashed';
        if (action === 'restart') Object.assign(b, { state: 'running', pid: 4343 });
      },
    };
    expect(await answerSystemctl(cluster, 2, 'is-active kafka')).toBe('EXIT 0\nactive\n');
    expect(await answerSystemctl(cluster, 2, 'show -p MainPID -p Result kafka')).toBe(
      'EXIT 0\nMainPID=4242\nResult=success\n',
    );
    expect(await answerSystemctl(cluster, 2, 'daemon-reload')).toMatch(/^EXIT 1\n/);
    // A hung (SIGSTOPped) broker is still the unit's running main process, as systemd sees it.
    const hung = { brokers: [{ id: 2, pid: 4242, state: 'hung' }], fault: cluster.fault };
    expect(await answerSystemctl(hung, 2, 'is-active kafka')).toBe('EXIT 0\nactive\n');
    expect(await answerSystemctl(hung, 2, 'show -p MainPID kafka')).toBe('EXIT 0\nMainPID=4242\n');
    const shim = await startSystemctlShim(cluster, 2);
    try {
      // Asynchronous: the shim's server answers from this very process.
      const sh = (args: string) =>
        new Promise<{ status: number; stdout: string }>((resolve) => {
          execFile(
            '/bin/bash',
            ['-c', `systemctl ${args}`],
            { env: { ...process.env, ...shim.env, PATH: `${shim.binDir}:${process.env.PATH ?? ''}` }, timeout: 10_000 },
            (err, stdout) => {
              resolve({ status: err ? Number((err as { code?: number }).code ?? -1) : 0, stdout: String(stdout) });
            },
          );
        });
      expect((await sh('kill --signal=SIGKILL kafka')).status).toBe(0);
      expect(await sh('is-active kafka')).toEqual({ status: 3, stdout: 'failed\n' });
      expect((await sh('show -p MainPID kafka')).stdout).toBe('MainPID=0\n');
      expect((await sh('restart kafka')).status).toBe(0);
      expect((await sh('show -p MainPID kafka')).stdout).toBe('MainPID=4343\n');
      expect(faults).toEqual(['crash 2', 'restart 2']);
      expect(shim.calls).toEqual([
        'kill --signal=SIGKILL kafka',
        'is-active kafka',
        'show -p MainPID kafka',
        'restart kafka',
        'show -p MainPID kafka',
      ]);
    } finally {
      await shim.close();
    }
  });
});
