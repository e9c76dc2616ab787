// `kafka-heal drill`: break a cluster on purpose and watch the healer heal it.
//
//   kafka-heal drill <scenario-name | path/to/scenario.yaml> [--keep] [--report-dir DIR]
//     Locally: a real Kafka cluster, DynamoDB Local, the shipped alarms, handlers, state
//     machines and SSM documents (local/drill). Progress on stderr; the report (JSON) on stdout,
//     and report files in the report directory. Exit 0 only when every expectation held.
//
//   kafka-heal drill --aws --cluster <name> --workflow <name> [--live] [--broker N]
//                    [--deployment D | --state-machine-arn ARN] [--region R]
//     In AWS (game days): starts the deployed state machine with drill input, as a dry run
//     unless --live, and follows the execution history as progress. Exit 0 when it succeeded.
import { randomBytes } from 'node:crypto';
import { join, resolve } from 'node:path';
import {
  DescribeExecutionCommand,
  GetExecutionHistoryCommand,
  ListStateMachinesCommand,
  SFNClient,
  StartExecutionCommand,
  type HistoryEvent,
} from '@aws-sdk/client-sfn';
import { WORKFLOWS, type Workflow } from '#domain/types.js';
import { UsageError, intFlag, parseFlags, requireFlag, type Command, type CommandIO } from '../args.js';

const USAGE = `usage: kafka-heal drill <scenario-name | path/to/scenario.yaml> [--keep] [--report-dir DIR]
       kafka-heal drill --aws --cluster <name> --workflow <name> [--live] [--broker N]
                        [--deployment D | --state-machine-arn ARN] [--region R]

Local drill: starts a real Kafka cluster and DynamoDB Local, runs traffic (acks=all), injects the
scenario's faults and lets the shipped alarms, classifier, state machines and SSM documents heal
it. Progress goes to stderr, the report (JSON) to stdout; report.json, report.md, postmortem.md
and report.html go to --report-dir (default reports/drills/<scenario>). Built-in scenarios are in
drills/scenarios/; any YAML file can be given by path.
  --keep          leave the cluster and DynamoDB Local running afterwards
  --report-dir    where the report files go

AWS drill (game day): starts the deployed workflow with drill input and follows its history.
  --cluster       configured cluster name
  --workflow      ${WORKFLOWS.filter((w) => w !== 'escalation').join(' | ')}
  --live          really act (default: dryRun, the workflow plans and records, mutates nothing)
  --broker        broker id the drill input names (default 1)
  --deployment    deployment name, to find kafka-heal-<deployment>-<workflow>
  --state-machine-arn  the state machine to start (instead of looking it up)
  --region        AWS region (default: the SDK's)

Exit codes: 0 every expectation held (AWS: the execution succeeded); 1 it did not; 2 bad input.`;

export interface AwsDrillDeps {
  sfn: Pick<SFNClient, 'send'>;
  sleep: (ms: number) => Promise<void>;
  now: () => number;
  pollMs: number;
}

function isWorkflow(w: string): w is Workflow {
  return (WORKFLOWS as readonly string[]).includes(w) && w !== 'escalation';
}

async function findStateMachine(
  sfn: AwsDrillDeps['sfn'],
  workflow: Workflow,
  deployment: string | undefined,
): Promise<string> {
  const matches: { name: string; arn: string }[] = [];
  let nextToken: string | undefined;
  do {
    const page = await sfn.send(new ListStateMachinesCommand({ nextToken }));
    for (const m of page.stateMachines ?? []) {
      const name = m.name ?? '';
      const wanted =
        deployment === undefined
          ? /^kafka-heal-[a-z][a-z0-9-]*$/.test(name) && name.endsWith(`-${workflow}`)
          : name === `kafka-heal-${deployment}-${workflow}`;
      // kafka-heal-x-msk-broker-recovery also ends in -broker-recovery: match the whole workflow part.
      if (wanted && !(workflow === 'broker-recovery' && name.endsWith('-msk-broker-recovery')))
        matches.push({ name, arn: m.stateMachineArn ?? '' });
    }
    nextToken = page.nextToken;
  } while (nextToken);
  if (matches.length === 0)
    throw new UsageError(
      `no deployed state machine for ${workflow}${deployment ? ` in deployment ${deployment}` : ''} (looked for kafka-heal-${deployment ?? '<deployment>'}-${workflow})`,
    );
  if (matches.length > 1)
    throw new UsageError(
      `several deployments have ${workflow}: ${matches.map((m) => m.name).join(', ')}; pick one with --deployment or --state-machine-arn`,
    );
  return (matches[0] as { arn: string }).arn;
}

function describeEvent(e: HistoryEvent): string | undefined {
  const entered = e.stateEnteredEventDetails;
  if (entered) return `state:entered  ${entered.name ?? ''}`;
  const exited = e.stateExitedEventDetails;
  if (exited) return `state:exited   ${exited.name ?? ''}`;
  if (e.executionFailedEventDetails)
    return `execution:failed  ${e.executionFailedEventDetails.error ?? ''} ${e.executionFailedEventDetails.cause ?? ''}`.trim();
  if (e.executionSucceededEventDetails) return 'execution:succeeded';
  if (e.executionAbortedEventDetails) return 'execution:aborted';
  if (e.executionTimedOutEventDetails) return 'execution:timed-out';
  if (e.taskFailedEventDetails) return `task:failed  ${e.taskFailedEventDetails.error ?? ''}`;
  return undefined;
}

export interface AwsDrillOptions {
  cluster: string;
  workflow: Workflow;
  live: boolean;
  brokerId: number;
  deployment?: string;
  stateMachineArn?: string;
}

/** Starts the deployed workflow with drill input and follows its history; returns the final status. */
export async function runAwsDrill(
  o: AwsDrillOptions,
  deps: AwsDrillDeps,
  io: CommandIO,
): Promise<{ status: string; executionArn: string }> {
  const arn = o.stateMachineArn ?? (await findStateMachine(deps.sfn, o.workflow, o.deployment));
  const started = deps.now();
  const incidentId = `drill-${o.cluster}-${new Date(started).toISOString().replace(/[-:.]/g, '').slice(0, 15)}-${randomBytes(3).toString('hex')}`;
  const input = {
    incidentId,
    cluster: o.cluster,
    brokerIds: [o.brokerId],
    dryRun: !o.live,
    severity: 'SEV-4',
    incidentType: 'broker-failure',
    drill: true,
  };
  const res = await deps.sfn.send(
    new StartExecutionCommand({ stateMachineArn: arn, name: incidentId, input: JSON.stringify(input) }),
  );
  const executionArn = res.executionArn ?? '';
  io.stderr(
    `drill: started ${arn.split(':').at(-1) ?? arn} (${o.live ? 'LIVE: it will act' : 'dry run: plans and records, mutates nothing'}) ${executionArn}`,
  );
  let nextToken: string | undefined;
  let status = 'RUNNING';
  for (;;) {
    do {
      const page = await deps.sfn.send(new GetExecutionHistoryCommand({ executionArn, nextToken, maxResults: 100 }));
      for (const e of page.events ?? []) {
        const line = describeEvent(e);
        const at = e.timestamp ? e.timestamp.getTime() : deps.now();
        if (line) io.stderr(`[+${((at - started) / 1000).toFixed(1)}s] ${line}`);
      }
      nextToken = page.nextToken;
    } while (nextToken);
    const d = await deps.sfn.send(new DescribeExecutionCommand({ executionArn }));
    status = d.status ?? 'RUNNING';
    if (status !== 'RUNNING' && status !== 'PENDING_REDRIVE') break;
    await deps.sleep(deps.pollMs);
  }
  io.stderr(`drill: ${status} after ${((deps.now() - started) / 1000).toFixed(1)} s`);
  io.stdout(JSON.stringify({ executionArn, status, input }, null, 2));
  return { status, executionArn };
}

/** Lets tests replace the SFN client the AWS mode builds. */
export const awsDeps = {
  make: (region: string | undefined): AwsDrillDeps => ({
    sfn: new SFNClient(region ? { region } : {}),
    sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
    now: Date.now,
    pollMs: 2000,
  }),
};

export const drillCommand: Command = {
  path: ['drill'],
  summary: 'Run a drill: break a local cluster and let the healer heal it (or start a deployed workflow with --aws)',
  usage: USAGE,
  async run(argv, io) {
    const { values, positionals } = parseFlags(
      argv,
      {
        keep: { type: 'boolean' },
        'report-dir': { type: 'string' },
        aws: { type: 'boolean' },
        cluster: { type: 'string' },
        workflow: { type: 'string' },
        live: { type: 'boolean' },
        broker: { type: 'string' },
        deployment: { type: 'string' },
        'state-machine-arn': { type: 'string' },
        region: { type: 'string' },
      },
      true,
    );
    if (values.aws) {
      if (positionals.length > 0)
        throw new UsageError(`--aws takes no scenario (got ${positionals.join(' ')}); name the cluster and workflow`);
      const workflow = requireFlag(values.workflow, 'workflow');
      if (!isWorkflow(workflow))
        throw new UsageError(
          `--workflow must be one of ${WORKFLOWS.filter((w) => w !== 'escalation').join(', ')}, got "${workflow}"`,
        );
      const opts: AwsDrillOptions = {
        cluster: requireFlag(values.cluster, 'cluster'),
        workflow,
        live: values.live === true,
        brokerId: intFlag(values.broker, 'broker', 0, 2_147_483_647) ?? 1,
      };
      if (values.deployment !== undefined) opts.deployment = values.deployment;
      if (values['state-machine-arn'] !== undefined) {
        if (!/^arn:aws[a-z-]*:states:[a-z0-9-]+:\d{12}:stateMachine:[A-Za-z0-9_-]+$/.test(values['state-machine-arn']))
          throw new UsageError(`--state-machine-arn is not a state machine ARN: "${values['state-machine-arn']}"`);
        opts.stateMachineArn = values['state-machine-arn'];
      }
      const r = await runAwsDrill(opts, awsDeps.make(values.region), io);
      return r.status === 'SUCCEEDED' ? 0 : 1;
    }
    for (const f of ['cluster', 'workflow', 'live', 'broker', 'deployment', 'state-machine-arn', 'region'] as const) {
      if (values[f] !== undefined) throw new UsageError(`--${f} is for AWS drills (--aws)`);
    }
    if (positionals.length !== 1) throw new UsageError('name one scenario (a built-in name or a path to a YAML file)');
    const target = positionals[0] as string;
    // The handlers log through Powertools: keep their lines out of the drill's output (stdout is
    // the report). The shared logger may already exist (other commands import handler code), so
    // its level is set, not only the variable it reads when it is created.
    process.env.POWERTOOLS_LOG_LEVEL ??= 'SILENT';
    process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
    const { logger } = await import('#shared/powertools.js');
    logger.setLogLevel(process.env.POWERTOOLS_LOG_LEVEL as Parameters<typeof logger.setLogLevel>[0]);
    const { loadScenario, runDrill, ScenarioError } = await import('#local/drill/index.js');
    let scenario;
    try {
      scenario = loadScenario(target);
    } catch (err) {
      if (err instanceof ScenarioError)
        throw new UsageError(
          `${err.source}: invalid drill scenario: ${err.issues.map((i) => `${i.path}: ${i.message}${i.value === undefined ? '' : ` (got ${i.value})`}`).join('; ')}`,
        );
      throw err;
    }
    const reportDir = resolve(values['report-dir'] ?? join('reports', 'drills', scenario.name));
    const report = await runDrill(scenario, { progress: (l) => io.stderr(l), keep: values.keep === true, reportDir });
    io.stdout(JSON.stringify(report, null, 2));
    const failed = report.expectations.filter((e) => !e.passed);
    const ratio = report.mttrRatio === null ? '' : ` (${report.mttrRatio}x the oracle's ${report.oracleMttrSeconds} s)`;
    io.stderr(
      `drill ${report.scenario}: ${report.passed ? 'PASSED' : 'FAILED'}; MTTD ${report.mttdSeconds ?? '-'} s, MTTR ${report.mttrSeconds ?? '-'} s${ratio}; ${report.messagesProduced} acknowledged, ${report.messagesLost} lost; report in ${reportDir}`,
    );
    for (const e of failed) io.stderr(`  expectation failed: ${e.name}: expected ${e.expected}, got ${e.actual}`);
    return report.passed ? 0 : 1;
  },
};
