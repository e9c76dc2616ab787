// CDK assertions for the consumer-lag and quorum-recovery workflows as the healer stacks of the
// example configs create them: the classifier's WORKFLOW_ARN_*, the runbook documents, the
// targets the workflow steps Lambda reads, and hand-written least-privilege IAM.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadRunbook } from '#infra/runbooks.js';
import { ClusterTargetSchema } from '#contracts/workflow-targets.js';
import type { HealerConfig } from '#infra/config/schema.js';
import { clusterTarget, consumerLagTargetFields, quorumTargetFields } from '#infra/constructs/cluster-targets.js';
import { consumerLagSubstitutions } from '#infra/constructs/consumer-lag-workflow.js';
import { QUORUM_RUNBOOKS, quorumRecoverySubstitutions } from '#infra/constructs/quorum-recovery-workflow.js';
import { clusterStepsZookeeperEnv, runbookDocumentName } from '#infra/constructs/recovery-workflows.js';
import { aslFile, renderDefinition } from '#infra/constructs/workflows.js';
import { synthesizeExampleStacks, type ExampleStacks } from './example-stacks.js';

type Statement = { Sid?: string; Action: string | string[]; Resource: unknown };
type Resources = Record<string, { Type: string; Properties: Record<string, unknown> }>;

let ex: ExampleStacks;
beforeAll(() => {
  ex = synthesizeExampleStacks('kh-lag-quorum-test-');
}, 240_000);
afterAll(() => ex?.cleanup());

function statementsOf(t: Template, stateMachineName: string): Statement[] {
  const [sm] = Object.values(
    t.findResources('AWS::StepFunctions::StateMachine', {
      Properties: { StateMachineName: stateMachineName },
    }) as Resources,
  );
  expect(sm, stateMachineName).toBeDefined();
  return roleStatements(t, /"([A-Za-z0-9]+)","Arn"/.exec(JSON.stringify(sm?.Properties['RoleArn']))?.[1]);
}
/** The workflow steps Lambda's policy statements (consumer-lag's act-on-lag publishes and invokes as it). */
function workflowStepsStatements(t: Template): Statement[] {
  const fns = Object.values(t.findResources('AWS::Lambda::Function') as Resources).filter((f) =>
    String(f.Properties['Description']).includes('incident-side steps of the recovery workflows'),
  );
  expect(fns).toHaveLength(1);
  return roleStatements(t, /"([A-Za-z0-9]+)","Arn"/.exec(JSON.stringify(fns[0]?.Properties['Role']))?.[1]);
}
function roleStatements(t: Template, roleId: string | undefined): Statement[] {
  expect(roleId).toBeDefined();
  return Object.values(t.findResources('AWS::IAM::Policy') as Resources)
    .filter((p) => JSON.stringify(p.Properties.Roles).includes(`"${roleId}"`))
    .flatMap((p) => (p.Properties.PolicyDocument as { Statement: Statement[] }).Statement);
}
const actionsOf = (s: Statement) => (Array.isArray(s.Action) ? s.Action : [s.Action]);
const withAction = (all: Statement[], action: string) => all.filter((s) => actionsOf(s).includes(action));
const resources = (ss: Statement[]) => ss.flatMap((s) => (Array.isArray(s.Resource) ? s.Resource : [s.Resource]));
const config = (d: string) => ex.configs.find((c) => c.deployment === d) as HealerConfig;
const machines = (t: Template, name: string) =>
  Object.keys(t.findResources('AWS::StepFunctions::StateMachine', { Properties: { StateMachineName: name } }));
const classifierEnv = (t: Template) =>
  Object.entries(t.findResources('AWS::Lambda::Function') as Resources)
    .filter(([id]) => id.startsWith('Classify'))
    .map(([, f]) => JSON.stringify(f.Properties.Environment ?? {}))
    .join('\n');

describe('targets and substitutions (no synthesis)', () => {
  it('the consumer-lag and quorum fields of every example cluster fit what the workflow steps Lambda parses', async () => {
    const { loadConfigs, DEFAULT_CONFIG_FILES } = await import('#infra/app-builder.js');
    for (const cfg of loadConfigs(DEFAULT_CONFIG_FILES)) {
      for (const c of cfg.clusters) {
        const parsed = ClusterTargetSchema.parse({
          ...clusterTarget(c, 'fn'),
          ...consumerLagTargetFields(c),
          ...quorumTargetFields(c),
        });
        expect(parsed.consumerGroups?.map((g) => g.name)).toEqual(c.consumerGroups.map((g) => g.name));
        expect(parsed.quorum?.metadataMode).toBe(c.platform === 'ec2' ? c.ec2.metadataMode : undefined);
      }
    }
  });

  it('ZOOKEEPER_CONNECT is derived from ec2.zookeeper.connect, ports filled from clientPort; absent without the list, in KRaft mode and on MSK', async () => {
    const { loadConfigFile } = await import('#infra/config/schema.js');
    const zk = loadConfigFile('examples/config/ec2-zookeeper.yaml').clusters[0];
    if (zk?.platform !== 'ec2' || !zk.ec2.zookeeper)
      throw new Error('ec2-zookeeper.yaml has a ZooKeeper-mode EC2 cluster');
    const withZk = (zookeeper: typeof zk.ec2.zookeeper) => ({ ...zk, ec2: { ...zk.ec2, zookeeper } });
    expect(clusterStepsZookeeperEnv(zk)).toEqual({
      ZOOKEEPER_CONNECT: 'zk-1.payments.example.com:2181,zk-2.payments.example.com:2181,zk-3.payments.example.com:2181',
    });
    expect(
      clusterStepsZookeeperEnv(
        withZk({ ...zk.ec2.zookeeper, clientPort: 2281, connect: ['zk-1', 'zk-2:2182', '[fd00::3]'] }),
      ),
    ).toEqual({ ZOOKEEPER_CONNECT: 'zk-1:2281,zk-2:2182,[fd00::3]:2281' });
    const { connect: _, ...withoutConnect } = zk.ec2.zookeeper;
    expect(clusterStepsZookeeperEnv(withZk(withoutConnect))).toEqual({});
    for (const file of ['examples/config/msk.yaml', 'examples/config/dr-pair.yaml']) {
      for (const c of loadConfigFile(file).clusters) expect(clusterStepsZookeeperEnv(c), c.name).toEqual({});
    }
  });

  it('each ASL file renders with the construct substitutions, leaving no ${', () => {
    const lag = renderDefinition(readFileSync(aslFile('consumer-lag'), 'utf8'), {
      Partition: 'aws',
      ...consumerLagSubstitutions({
        workflowStepsFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:s',
        escalationStateMachineArn: 'arn:aws:states:us-east-1:123456789012:stateMachine:e',
      }),
    });
    expect(lag).not.toContain('${');
    const subs = quorumRecoverySubstitutions({
      workflowStepsFunctionArn: 'arn:s',
      escalationStateMachineArn: 'arn:e',
      approvalFunctionArn: 'arn:a',
      ssmRunStateMachineArn: 'arn:r',
      deployment: 'prod-us',
    });
    const quorum = renderDefinition(readFileSync(aslFile('quorum-recovery'), 'utf8'), { Partition: 'aws', ...subs });
    expect(quorum).not.toContain('${');
    expect(subs).toMatchObject({
      StopDocumentName: 'kafka-heal-prod-us-kafka-stop-broker',
      BackupDocumentName: 'kafka-heal-prod-us-kafka-backup-metadata',
      RestartDocumentName: 'kafka-heal-prod-us-kafka-restart-broker',
      CliDocumentName: 'kafka-heal-prod-us-kafka-cli-action',
    });
  });
});

describe('consumer-lag and quorum-recovery in the healer stacks', () => {
  it('synthesizes with no unacknowledged cdk-nag finding in these constructs', () => {
    expect(ex.synthError).toBeUndefined();
    const report = JSON.parse(readFileSync(join(ex.outdir, 'validation-report.json'), 'utf8')) as {
      pluginReports: { violations: { ruleName: string; violatingConstructs: { constructPath: string }[] }[] }[];
    };
    const mine = report.pluginReports.flatMap((p) =>
      p.violations.flatMap((v) =>
        v.violatingConstructs
          .filter((c) => /\/(ConsumerLag|QuorumRecovery)\//.test(c.constructPath))
          .map((c) => `${v.ruleName} at ${c.constructPath}`),
      ),
    );
    expect(mine).toEqual([]);
  });

  it('the classifier starts them: WORKFLOW_ARN_CONSUMER_LAG everywhere, WORKFLOW_ARN_QUORUM_RECOVERY only where brokers are listed on EC2', () => {
    for (const d of ['prod-us', 'prod-eu', 'events']) {
      const t = ex.template(d);
      expect(machines(t, `kafka-heal-${d}-consumer-lag`), d).toHaveLength(1);
      expect(classifierEnv(t), d).toContain('WORKFLOW_ARN_CONSUMER_LAG');
    }
    expect(machines(ex.template('prod-us'), 'kafka-heal-prod-us-quorum-recovery')).toHaveLength(1);
    expect(classifierEnv(ex.template('prod-us'))).toContain('WORKFLOW_ARN_QUORUM_RECOVERY');
    expect(machines(ex.template('prod-eu'), 'kafka-heal-prod-eu-quorum-recovery')).toHaveLength(0);
    expect(classifierEnv(ex.template('prod-eu'))).not.toContain('WORKFLOW_ARN_QUORUM_RECOVERY');
  });

  it('quorum-recovery: the stop, backup and CLI runbooks deployed with the repository content, and the substitutions naming them', () => {
    const t = ex.template('prod-us');
    for (const runbook of Object.values(QUORUM_RUNBOOKS)) {
      t.hasResourceProperties('AWS::SSM::Document', {
        Name: runbookDocumentName('prod-us', runbook),
        DocumentType: 'Command',
        Content: loadRunbook(runbook).content,
      });
    }
    t.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      StateMachineName: 'kafka-heal-prod-us-quorum-recovery',
      DefinitionSubstitutions: {
        StopDocumentName: 'kafka-heal-prod-us-kafka-stop-broker',
        BackupDocumentName: 'kafka-heal-prod-us-kafka-backup-metadata',
        CliDocumentName: 'kafka-heal-prod-us-kafka-cli-action',
      },
    });
  });

  it('quorum-recovery IAM: no SendCommand of its own, it starts ssm-run; ssm-run sends the documents of its parents to the broker and ZooKeeper instances only; invokes the approval function', () => {
    const c = config('prod-us').clusters[0];
    if (c?.platform !== 'ec2') throw new Error('prod-us is an EC2 example');
    const t = ex.template('prod-us');
    const st = statementsOf(t, 'kafka-heal-prod-us-quorum-recovery');
    expect(withAction(st, 'ssm:SendCommand')).toEqual([]);
    expect(withAction(st, 'ssm:GetCommandInvocation')).toEqual([]);
    const [ssmRun] = Object.keys(
      t.findResources('AWS::StepFunctions::StateMachine', {
        Properties: { StateMachineName: 'kafka-heal-prod-us-ssm-run' },
      }),
    );
    expect(resources(withAction(st, 'states:StartExecution'))).toContainEqual({ Ref: ssmRun });
    expect(JSON.stringify(withAction(st, 'states:DescribeExecution'))).toContain(
      'execution:kafka-heal-prod-us-ssm-run:*',
    );
    t.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      StateMachineName: 'kafka-heal-prod-us-quorum-recovery',
      DefinitionSubstitutions: { SsmRunStateMachineArn: { Ref: ssmRun } },
    });
    const run = statementsOf(t, 'kafka-heal-prod-us-ssm-run');
    const send = JSON.stringify(resources(withAction(run, 'ssm:SendCommand')));
    // Exactly the documents of its parents: broker-recovery (diagnose, restart), disk-pressure
    // (free disk), cascade-recovery (CLI) and quorum-recovery (stop, back up, restart, CLI).
    expect([...new Set(send.match(/document\/kafka-heal-prod-us-[a-z-]+/g))].sort()).toEqual(
      [
        'kafka-backup-metadata',
        'kafka-cli-action',
        'kafka-diagnose-host',
        'kafka-free-disk',
        'kafka-restart-broker',
        'kafka-stop-broker',
      ].map((doc) => `document/kafka-heal-prod-us-${doc}`),
    );
    for (const id of [...(c.ec2.brokers ?? []).map((b) => b.instanceId), ...(c.ec2.zookeeper?.instanceIds ?? [])])
      expect(send).toContain(`instance/${id}`);
    expect(send).not.toMatch(/instance\/\*/);
    expect(resources(withAction(run, 'ssm:SendCommand'))).not.toContain('*');
    // Statement ids are unique in a policy (IAM refuses duplicates): the quorum grant adds its own.
    const sids = run.map((x) => (x as { Sid?: string }).Sid).filter((x) => x !== undefined);
    expect(new Set(sids).size).toBe(sids.length);
    const invoke = JSON.stringify(resources(withAction(st, 'lambda:InvokeFunction')));
    expect(invoke).toMatch(/ApprovalRequest/);
    expect(invoke).toMatch(/WorkflowSteps/);
    expect(resources(withAction(st, 'lambda:InvokeFunction'))).not.toContain('*');
  });

  it('consumer-lag IAM: sns:Publish only on the configured team and hook topics, lambda:InvokeFunction only on the configured scale hooks, both granted to the workflow steps Lambda that calls them; the state machine invokes only the step Lambdas', () => {
    const us = statementsOf(ex.template('prod-us'), 'kafka-heal-prod-us-consumer-lag');
    expect(withAction(us, 'sns:Publish')).toEqual([]);
    const usInvoke = resources(withAction(us, 'lambda:InvokeFunction'));
    expect(JSON.stringify(usInvoke)).toMatch(/WorkflowSteps/);
    expect(usInvoke).not.toContain('arn:aws:lambda:us-east-1:123456789012:function:ledger-writer-scaler');
    expect(usInvoke).not.toContain('*');
    expect(withAction(us, 'ssm:SendCommand')).toEqual([]);
    const usSteps = workflowStepsStatements(ex.template('prod-us'));
    expect(resources(withAction(usSteps, 'sns:Publish'))).toEqual(['arn:aws:sns:us-east-1:123456789012:ledger-team']);
    expect(resources(withAction(usSteps, 'lambda:InvokeFunction'))).toEqual([
      'arn:aws:lambda:us-east-1:123456789012:function:ledger-writer-scaler',
    ]);
    const eu = statementsOf(ex.template('prod-eu'), 'kafka-heal-prod-eu-consumer-lag');
    expect(withAction(eu, 'sns:Publish')).toEqual([]);
    const euSteps = workflowStepsStatements(ex.template('prod-eu'));
    expect(resources(withAction(euSteps, 'sns:Publish')).sort()).toEqual([
      'arn:aws:sns:eu-west-1:123456789012:billing-consumer-scaling',
      'arn:aws:sns:eu-west-1:123456789012:billing-team',
    ]);
    expect(withAction(euSteps, 'lambda:InvokeFunction')).toEqual([]);
    // A deployment that names no topics and no hooks gets no publish or hook grant at all.
    const events = statementsOf(ex.template('events'), 'kafka-heal-events-consumer-lag');
    expect(withAction(events, 'sns:Publish')).toEqual([]);
    expect(withAction(workflowStepsStatements(ex.template('events')), 'sns:Publish')).toEqual([]);
    expect(withAction(workflowStepsStatements(ex.template('events')), 'lambda:InvokeFunction')).toEqual([]);
  });

  it('ZOOKEEPER_CONNECT: the cluster steps Lambda of a ZooKeeper-mode cluster that lists its ensemble gets the addresses; every other one has none', () => {
    const clusterStepsEnv = (d: string) =>
      Object.values(ex.template(d).findResources('AWS::Lambda::Function') as Resources).flatMap((f) => {
        const cluster = / probes of cluster ([a-z0-9-]+) /.exec(String(f.Properties['Description']))?.[1];
        return cluster === undefined
          ? []
          : [{ cluster, env: (f.Properties['Environment'] as { Variables: Record<string, unknown> }).Variables }];
      });
    const us = clusterStepsEnv('prod-us');
    expect(us.map((f) => f.cluster)).toEqual(['payments']);
    expect(us[0]?.env['ZOOKEEPER_CONNECT']).toBe(
      'zk-1.payments.example.com:2181,zk-2.payments.example.com:2181,zk-3.payments.example.com:2181',
    );
    // MSK and KRaft clusters: nothing to ask.
    const others = [...clusterStepsEnv('prod-eu'), ...clusterStepsEnv('events')];
    expect(others.length).toBeGreaterThanOrEqual(3);
    for (const f of others) expect(Object.keys(f.env), f.cluster).not.toContain('ZOOKEEPER_CONNECT');
    // No other function of the stack gets it.
    const fns = Object.values(ex.template('prod-us').findResources('AWS::Lambda::Function') as Resources);
    expect(
      fns.filter((f) => JSON.stringify(f.Properties['Environment'] ?? {}).includes('ZOOKEEPER_CONNECT')),
    ).toHaveLength(1);
  });

  it('the workflow steps Lambda is told each group owner, hook and the quorum hosts (in its bundled targets file)', () => {
    const stack = ex.stacks.find((st) => st.config.deployment === 'prod-us');
    const text = JSON.stringify(stack?.recovery.workflowSteps.files.get('workflow-targets.json'));
    expect(text).toContain('ledger-team');
    expect(text).toMatch(/kind\W+lambda/);
    expect(text).toContain('i-0fedcba9876543211');
    expect(text).toContain('/var/lib/zookeeper');
  });
});
