// kafka-heal drill: bad input is refused before anything starts (exit 2, one line), and the AWS
// mode starts the deployed workflow with drill input (dry run unless --live) and follows its
// history, against a mocked Step Functions client.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DescribeExecutionCommand,
  GetExecutionHistoryCommand,
  ListStateMachinesCommand,
  SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { awsDeps } from '#cli/commands/drill.js';
import { main } from '#cli/main.js';

async function run(...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(['drill', ...argv], { stdout: (t) => out.push(t), stderr: (t) => err.push(t) });
  return { code, stdout: out.join('\n'), stderr: err.join('\n') };
}

const sfn = mockClient(SFNClient);
const originalMake = awsDeps.make;
const ARN = (d: string, w: string) => `arn:aws:states:eu-west-1:123456789012:stateMachine:kafka-heal-${d}-${w}`;
const EXEC = 'arn:aws:states:eu-west-1:123456789012:execution:kafka-heal-prod-broker-recovery:drill-1';
let clock = 0;

beforeEach(() => {
  sfn.reset();
  clock = Date.parse('2026-11-22T05:00:00Z');
  awsDeps.make = () => ({
    sfn: new SFNClient({ region: 'eu-west-1' }),
    sleep: async () => void (clock += 2000),
    now: () => clock,
    pollMs: 2000,
  });
  sfn.on(ListStateMachinesCommand).resolves({
    stateMachines: [
      {
        name: 'kafka-heal-prod-broker-recovery',
        stateMachineArn: ARN('prod', 'broker-recovery'),
        type: 'STANDARD',
        creationDate: new Date(),
      },
      {
        name: 'kafka-heal-prod-msk-broker-recovery',
        stateMachineArn: ARN('prod', 'msk-broker-recovery'),
        type: 'STANDARD',
        creationDate: new Date(),
      },
      {
        name: 'kafka-heal-stage-broker-recovery',
        stateMachineArn: ARN('stage', 'broker-recovery'),
        type: 'STANDARD',
        creationDate: new Date(),
      },
    ],
  });
  sfn.on(StartExecutionCommand).resolves({ executionArn: EXEC, startDate: new Date() });
  const t = (s: number) => new Date(clock + s * 1000);
  sfn
    .on(GetExecutionHistoryCommand)
    .resolvesOnce({
      events: [
        { id: 1, type: 'ExecutionStarted', timestamp: t(0) },
        { id: 2, type: 'TaskStateEntered', timestamp: t(0.1), stateEnteredEventDetails: { name: 'Record Start' } },
      ],
    })
    .resolves({
      events: [
        { id: 3, type: 'TaskStateExited', timestamp: t(1), stateExitedEventDetails: { name: 'Record Start' } },
        { id: 4, type: 'ExecutionSucceeded', timestamp: t(2), executionSucceededEventDetails: {} },
      ],
    });
  sfn
    .on(DescribeExecutionCommand)
    .resolvesOnce({
      status: 'RUNNING',
      executionArn: EXEC,
      stateMachineArn: ARN('prod', 'broker-recovery'),
      startDate: new Date(),
    })
    .resolves({
      status: 'SUCCEEDED',
      executionArn: EXEC,
      stateMachineArn: ARN('prod', 'broker-recovery'),
      startDate: new Date(),
    });
});

afterEach(() => {
  awsDeps.make = originalMake;
});

describe('kafka-heal drill --aws', () => {
  it("starts the deployment's workflow as a dry run and follows the history until it ends (exit 0)", async () => {
    const r = await run(
      '--aws',
      '--cluster',
      'orders',
      '--workflow',
      'broker-recovery',
      '--deployment',
      'prod',
      '--broker',
      '2',
    );
    expect(r.code).toBe(0);
    const starts = sfn.commandCalls(StartExecutionCommand);
    expect(starts).toHaveLength(1);
    const input = starts[0]!.args[0].input;
    expect(input.stateMachineArn).toBe(ARN('prod', 'broker-recovery'));
    expect(JSON.parse(input.input ?? '{}')).toMatchObject({
      cluster: 'orders',
      brokerIds: [2],
      dryRun: true,
      drill: true,
    });
    expect(input.name).toMatch(/^drill-orders-\d{8}T\d{6}-[0-9a-f]{6}$/);
    expect(r.stderr).toMatch(/dry run: plans and records, mutates nothing/);
    expect(r.stderr).toMatch(/state:entered {2}Record Start/);
    expect(r.stderr).toMatch(/state:exited {3}Record Start/);
    expect(r.stderr).toMatch(/drill: SUCCEEDED/);
    expect(sfn.commandCalls(DescribeExecutionCommand).length).toBe(2);
    expect(JSON.parse(r.stdout)).toMatchObject({ executionArn: EXEC, status: 'SUCCEEDED' });
  });

  it('--live really acts (dryRun false) and says so', async () => {
    const r = await run(
      '--aws',
      '--cluster',
      'orders',
      '--workflow',
      'broker-recovery',
      '--deployment',
      'prod',
      '--live',
    );
    expect(r.code).toBe(0);
    expect(JSON.parse(sfn.commandCalls(StartExecutionCommand)[0]!.args[0].input.input ?? '{}')).toMatchObject({
      dryRun: false,
      brokerIds: [1],
    });
    expect(r.stderr).toMatch(/LIVE: it will act/);
  });

  it('a failed execution exits 1 with the error in the progress', async () => {
    sfn.on(GetExecutionHistoryCommand).resolves({
      events: [
        {
          id: 9,
          type: 'ExecutionFailed',
          timestamp: new Date(clock),
          executionFailedEventDetails: { error: 'States.TaskFailed', cause: 'boom' },
        },
      ],
    });
    sfn.on(DescribeExecutionCommand).resolves({
      status: 'FAILED',
      executionArn: EXEC,
      stateMachineArn: ARN('prod', 'broker-recovery'),
      startDate: new Date(),
    });
    const r = await run(
      '--aws',
      '--cluster',
      'orders',
      '--workflow',
      'broker-recovery',
      '--state-machine-arn',
      ARN('prod', 'broker-recovery'),
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/execution:failed {2}States.TaskFailed boom/);
    expect(sfn.commandCalls(ListStateMachinesCommand)).toHaveLength(0);
  });

  it('without --deployment, two deployments with the workflow are ambiguous (exit 2, names both)', async () => {
    const r = await run('--aws', '--cluster', 'orders', '--workflow', 'broker-recovery');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/kafka-heal-prod-broker-recovery, kafka-heal-stage-broker-recovery/);
    expect(r.stderr).not.toMatch(/msk-broker-recovery/);
    expect(sfn.commandCalls(StartExecutionCommand)).toHaveLength(0);
  });

  it('refuses an unknown workflow, a missing cluster and a malformed ARN before calling AWS', async () => {
    expect((await run('--aws', '--cluster', 'c', '--workflow', 'reboot-everything')).stderr).toMatch(
      /--workflow must be one of broker-recovery/,
    );
    expect((await run('--aws', '--workflow', 'broker-recovery')).stderr).toMatch(/missing required flag --cluster/);
    const bad = await run(
      '--aws',
      '--cluster',
      'c',
      '--workflow',
      'broker-recovery',
      '--state-machine-arn',
      'arn:nope',
    );
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/not a state machine ARN/);
    expect(sfn.calls()).toHaveLength(0);
  });
});

describe('kafka-heal drill (local): bad input exits 2 before anything starts', () => {
  it('an unknown scenario name lists the built-in ones', async () => {
    const r = await run('no-such-drill');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/no built-in scenario of that name; built-in: .*broker-crash/);
  });

  it('an invalid scenario file names the field and the value, on one line', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'kh-drill-cli-')), 'bad.yaml');
    writeFileSync(file, 'name: bad\ndescription: x\nfaults: [{ at: 0, action: crash, broker: 9 }]\nexpect: {}\n');
    const r = await run(file);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /bad\.yaml: invalid drill scenario: faults\.0\.broker: the cluster has brokers 1\.\.3 \(got 9\)/,
    );
    expect(r.stderr.split('\n').filter((l) => l.includes('invalid drill scenario'))).toHaveLength(1);
  });

  it('an invalid runtime policy exits 2 with the field, the value and the rule (no cluster is started)', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'kh-drill-cli-')), 'policy.yaml');
    writeFileSync(
      file,
      'name: policy\ndescription: x\npolicy: { mode: auto, cascadeWindowSeconds: 20, simultaneousWindowSeconds: 45 }\nfaults: [{ at: 0, action: crash, broker: 2 }]\nexpect: {}\n',
    );
    const r = await run(file);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /policy\.yaml: invalid drill scenario: policy\.simultaneousWindowSeconds: must not exceed cascadeWindowSeconds \(20\), got 45$/m,
    );
    expect(r.stderr).not.toMatch(/PolicyError|at .*healer/);
  });

  it("silences the handlers' shared logger, which exists before the drill starts (its lines would mix into the JSON report on stdout)", async () => {
    const { logger } = await import('#shared/powertools.js');
    logger.setLogLevel('INFO');
    const before = process.env.POWERTOOLS_LOG_LEVEL;
    delete process.env.POWERTOOLS_LOG_LEVEL;
    try {
      await run('no-such-drill');
      expect(logger.getLevelName()).toBe('SILENT');
    } finally {
      if (before === undefined) delete process.env.POWERTOOLS_LOG_LEVEL;
      else process.env.POWERTOOLS_LOG_LEVEL = before;
    }
  });

  it('AWS-only flags without --aws, and no scenario at all, are usage errors', async () => {
    expect((await run('broker-crash', '--live')).stderr).toMatch(/--live is for AWS drills/);
    expect((await run()).stderr).toMatch(/name one scenario/);
    expect((await run('--aws', 'broker-crash', '--cluster', 'c', '--workflow', 'broker-recovery')).stderr).toMatch(
      /--aws takes no scenario/,
    );
  });
});
