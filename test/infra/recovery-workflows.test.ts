// CDK assertions for the recovery workflows construct, as the real healer stacks create it
// (HealerStack.recovery). Synthesized once with the cdk-nag AwsSolutions plugin; Lambda bundling skipped.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Template } from 'aws-cdk-lib/assertions';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadRunbook } from '#infra/runbooks.js';
import type { HealerConfig } from '#infra/config/schema.js';
import { clusterTarget } from '#infra/constructs/cluster-targets.js';
import { RECOVERY_RUNBOOKS, runbookDocumentName } from '#infra/constructs/recovery-workflows.js';
import { synthesizeExampleStacks, type ExampleStacks } from './example-stacks.js';

type Statement = {
  Sid?: string;
  Action: string | string[];
  Resource: unknown;
  Condition?: Record<string, Record<string, string>>;
};
type Resources = Record<string, { Type: string; Properties: Record<string, unknown> }>;

let ex: ExampleStacks;

beforeAll(() => {
  ex = synthesizeExampleStacks('kh-recovery-test-');
}, 240_000);

afterAll(() => ex?.cleanup());

function template(d: string): Template {
  return ex.template(d);
}

/** Every statement of the policies attached to the role of the state machine named `name`. */
function statementsOf(t: Template, stateMachineName: string): Statement[] {
  const machines = t.findResources('AWS::StepFunctions::StateMachine', {
    Properties: { StateMachineName: stateMachineName },
  }) as Resources;
  const [sm] = Object.values(machines);
  expect(sm, stateMachineName).toBeDefined();
  const roleRef = JSON.stringify(sm?.Properties['RoleArn']);
  const roleId = /"([A-Za-z0-9]+)","Arn"/.exec(roleRef)?.[1];
  const policies = t.findResources('AWS::IAM::Policy') as Resources;
  return Object.values(policies)
    .filter((p) => JSON.stringify(p.Properties.Roles).includes(`"${roleId}"`))
    .flatMap((p) => (p.Properties.PolicyDocument as { Statement: Statement[] }).Statement);
}

const actions = (s: Statement) => (Array.isArray(s.Action) ? s.Action : [s.Action]);
const withAction = (all: Statement[], action: string) => all.filter((s) => actions(s).includes(action));

describe('RecoveryWorkflows in the healer stacks', () => {
  it('synthesizes with no unacknowledged cdk-nag finding in the recovery constructs', () => {
    expect(ex.synthError).toBeUndefined();
    const report = JSON.parse(readFileSync(join(ex.outdir, 'validation-report.json'), 'utf8')) as {
      pluginReports: { violations: { ruleName: string; violatingConstructs: { constructPath: string }[] }[] }[];
    };
    const mine = report.pluginReports.flatMap((p) =>
      p.violations.flatMap((v) =>
        v.violatingConstructs
          .filter((c) => c.constructPath.includes('/Recovery/'))
          .map((c) => `${v.ruleName} at ${c.constructPath}`),
      ),
    );
    expect(mine).toEqual([]);
  });

  it('adds no CDK warning or error annotation', () => {
    expect(ex.synthError).toBeUndefined();
    for (const stack of ex.stacks) {
      const a = Annotations.fromStack(stack);
      const mine = (xs: { id: string }[]) => xs.filter((x) => x.id.includes('/Recovery/'));
      expect(mine(a.findError('*', Match.anyValue())), stack.stackName).toEqual([]);
      expect(
        mine(a.findWarning('*', Match.anyValue())).map(
          (w) => `${w.id}: ${JSON.stringify((w as { entry?: { data?: unknown } }).entry?.data)}`,
        ),
        stack.stackName,
      ).toEqual([]);
    }
  });

  it('EC2 deployment: both runbooks as SSM Command documents with the repository content', () => {
    const t = template('prod-us');
    for (const runbook of Object.values(RECOVERY_RUNBOOKS)) {
      t.hasResourceProperties('AWS::SSM::Document', {
        Name: runbookDocumentName('prod-us', runbook),
        DocumentType: 'Command',
        DocumentFormat: 'YAML',
        Content: loadRunbook(runbook).content,
      });
    }
    t.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      StateMachineName: 'kafka-heal-prod-us-broker-recovery',
      DefinitionSubstitutions: {
        DiagnoseDocumentName: 'kafka-heal-prod-us-kafka-diagnose-host',
        RestartDocumentName: 'kafka-heal-prod-us-kafka-restart-broker',
      },
    });
    expect(
      t.findResources('AWS::StepFunctions::StateMachine', {
        Properties: { StateMachineName: 'kafka-heal-prod-us-msk-broker-recovery' },
      }),
    ).toEqual({});
  });

  it('EC2: ssm:SendCommand only with the runbook documents and only on the configured broker instances', () => {
    const config = ex.configs.find((c) => c.deployment === 'prod-us') as HealerConfig;
    // broker-recovery runs its commands through the ssm-run workflow: only that one sends them.
    expect(
      withAction(statementsOf(template('prod-us'), 'kafka-heal-prod-us-broker-recovery'), 'ssm:SendCommand'),
    ).toEqual([]);
    const st = statementsOf(template('prod-us'), 'kafka-heal-prod-us-ssm-run');
    const send = withAction(st, 'ssm:SendCommand');
    const text = JSON.stringify(send);
    expect(text).toContain('document/kafka-heal-prod-us-kafka-diagnose-host');
    expect(text).toContain('document/kafka-heal-prod-us-kafka-restart-broker');
    expect(text).not.toMatch(/document\/\*/);
    const ids = config.clusters.flatMap((c) =>
      c.platform === 'ec2' ? (c.ec2.brokers ?? []).map((b) => b.instanceId) : [],
    );
    expect(ids.length).toBeGreaterThan(0);
    for (const id of ids) expect(text).toContain(`instance/${id}`);
    expect(text).not.toContain('instance/*');
    expect(withAction(st, 'kafka:RebootBroker')).toEqual([]);
  });

  it("brokers found by tag: SendCommand on instances only with the cluster's broker tag AND the deployment's tag", () => {
    const st = statementsOf(template('events'), 'kafka-heal-events-ssm-run');
    const tagged = withAction(st, 'ssm:SendCommand').filter((s) => s.Condition);
    expect(tagged.length).toBeGreaterThan(0);
    for (const s of tagged) {
      expect(JSON.stringify(s.Resource)).toContain('instance/*');
      // Another deployment's cluster of the same name carries the same broker tag, never this deployment's.
      expect(Object.keys(s.Condition?.StringEquals ?? {}).sort()).toEqual([
        'ssm:resourceTag/kafka-heal:cluster',
        'ssm:resourceTag/kafka-heal:deployment',
      ]);
      expect(s.Condition?.StringEquals?.['ssm:resourceTag/kafka-heal:deployment']).toBe('events');
    }
    expect(tagged.map((s) => s.Condition?.StringEquals?.['ssm:resourceTag/kafka-heal:cluster']).sort()).toEqual([
      'events',
      'events-dr',
    ]);
    // Every instance-wide grant carries a condition.
    expect(
      withAction(st, 'ssm:SendCommand').filter(
        (s) => JSON.stringify(s.Resource).includes('instance/*') && !s.Condition,
      ),
    ).toEqual([]);
  });

  it('brokers found by tag: the workflow steps may find their instances (ec2:DescribeInstances) and are told to; listed brokers need no lookup', () => {
    const steps = (d: string) => {
      const fns = template(d).findResources('AWS::Lambda::Function') as Resources;
      return Object.entries(fns).find(([id]) => id.includes('WorkflowSteps'));
    };
    const policyOf = (d: string, fn: Resources[string]) => {
      const role = (fn.Properties.Role as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
      return JSON.stringify(
        Object.values(template(d).findResources('AWS::IAM::Policy') as Resources).filter((p) =>
          JSON.stringify(p.Properties.Roles).includes(`"${role}"`),
        ),
      );
    };
    const [, events] = steps('events') as [string, Resources[string]];
    expect(
      (events.Properties.Environment as { Variables: Record<string, unknown> }).Variables['FIND_TAGGED_BROKERS'],
    ).toBe('true');
    expect(policyOf('events', events)).toContain('ec2:DescribeInstances');
    const [, prod] = steps('prod-us') as [string, Resources[string]];
    expect(
      (prod.Properties.Environment as { Variables: Record<string, unknown> }).Variables['FIND_TAGGED_BROKERS'],
    ).toBeUndefined();
    expect(policyOf('prod-us', prod)).not.toContain('ec2:DescribeInstances');
  });

  it('MSK: kafka:RebootBroker only on the configured cluster ARN; no SSM at all', () => {
    const config = ex.configs.find((c) => c.deployment === 'prod-eu') as HealerConfig;
    const arns = config.clusters.flatMap((c) => (c.platform === 'msk' ? [c.msk.clusterArn] : []));
    const st = statementsOf(template('prod-eu'), 'kafka-heal-prod-eu-msk-broker-recovery');
    const reboot = withAction(st, 'kafka:RebootBroker');
    expect(reboot).toHaveLength(1);
    expect(reboot[0]?.Resource).toEqual(arns.length === 1 ? arns[0] : arns);
    expect(withAction(st, 'ssm:SendCommand')).toEqual([]);
    expect(
      template('prod-eu').findResources('AWS::SSM::Document', {
        Properties: { Name: runbookDocumentName('prod-eu', 'kafka-restart-broker') },
      }),
    ).toEqual({});
  });

  it('ssm-run: started by broker-recovery (and quorum-recovery: lag-quorum-wiring.test.ts), which may follow its executions (.sync:2); it invokes and starts nothing itself', () => {
    const t = template('prod-us');
    const ssmRun = Object.keys(
      t.findResources('AWS::StepFunctions::StateMachine', {
        Properties: { StateMachineName: 'kafka-heal-prod-us-ssm-run' },
      }),
    );
    expect(ssmRun).toHaveLength(1);
    const parent = statementsOf(t, 'kafka-heal-prod-us-broker-recovery');
    expect(withAction(parent, 'states:StartExecution').map((s) => s.Resource)).toContainEqual({ Ref: ssmRun[0] });
    expect(JSON.stringify(withAction(parent, 'states:DescribeExecution'))).toContain(
      'execution:kafka-heal-prod-us-ssm-run:*',
    );
    t.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      StateMachineName: 'kafka-heal-prod-us-broker-recovery',
      DefinitionSubstitutions: { SsmRunStateMachineArn: { Ref: ssmRun[0] } },
    });
    const own = statementsOf(t, 'kafka-heal-prod-us-ssm-run');
    expect(withAction(own, 'states:StartExecution')).toEqual([]);
    expect(withAction(own, 'lambda:InvokeFunction')).toEqual([]);
    // No EC2 cluster, no host commands: an MSK-only deployment has no ssm-run.
    expect(
      template('prod-eu').findResources('AWS::StepFunctions::StateMachine', {
        Properties: { StateMachineName: 'kafka-heal-prod-eu-ssm-run' },
      }),
    ).toEqual({});
  });

  it('both: invoke only the step functions, start only the escalation workflow (and broker-recovery the disk-pressure hand-off and ssm-run)', () => {
    for (const [d, name] of [
      ['prod-us', 'broker-recovery'],
      ['prod-eu', 'msk-broker-recovery'],
    ] as const) {
      const st = statementsOf(template(d), `kafka-heal-${d}-${name}`);
      const invoke = JSON.stringify(withAction(st, 'lambda:InvokeFunction'));
      expect(invoke).toMatch(/WorkflowSteps/);
      expect(invoke).toMatch(/ClusterSteps/);
      const start = withAction(st, 'states:StartExecution').map((s) => JSON.stringify(s.Resource));
      expect(start.filter((r) => /EscalationNotify/.test(r))).toHaveLength(1);
      expect(start.filter((r) => !/EscalationNotify/.test(r)).sort()).toEqual(
        name === 'broker-recovery' ? [expect.stringMatching(/DiskPressure/), expect.stringMatching(/SsmRun/)] : [],
      );
    }
  });

  it('the classifier gets WORKFLOW_ARN_BROKER_RECOVERY / _MSK_BROKER_RECOVERY', () => {
    const fns = template('prod-us').findResources('AWS::Lambda::Function') as Resources;
    const env = Object.values(fns).map((f) => JSON.stringify(f.Properties.Environment ?? {}));
    expect(env.some((e) => e.includes('WORKFLOW_ARN_BROKER_RECOVERY'))).toBe(true);
    const eu = Object.values(template('prod-eu').findResources('AWS::Lambda::Function') as Resources).map((f) =>
      JSON.stringify(f.Properties.Environment ?? {}),
    );
    expect(eu.some((e) => e.includes('WORKFLOW_ARN_MSK_BROKER_RECOVERY'))).toBe(true);
  });

  it('cluster steps run in the cluster VPC; workflow steps outside any VPC', () => {
    const fns = template('prod-us').findResources('AWS::Lambda::Function') as Resources;
    const steps = Object.entries(fns).filter(([id]) => id.includes('Recovery'));
    expect(
      steps.filter(([id]) => id.includes('ClusterSteps')).every(([, f]) => f.Properties.VpcConfig !== undefined),
    ).toBe(true);
    expect(
      steps.filter(([id]) => id.includes('WorkflowSteps')).every(([, f]) => f.Properties.VpcConfig === undefined),
    ).toBe(true);
  });
});

describe('clusterTarget', () => {
  it('EC2: brokers by instance id, service name without .service, port from the first bootstrap server', () => {
    const config = ex.configs.find((c) => c.deployment === 'prod-us') as HealerConfig;
    const ec2 = config.clusters.find((c) => c.platform === 'ec2');
    if (!ec2 || ec2.platform !== 'ec2') throw new Error('example has an ec2 cluster');
    const t = clusterTarget(ec2, 'fn');
    expect(t).toMatchObject({
      platform: 'ec2',
      clusterStepsFunction: 'fn',
      brokers: (ec2.ec2.brokers ?? []).map((b) => ({ id: b.id, instanceId: b.instanceId })),
    });
    expect(t.serviceName).not.toMatch(/\.service$/);
    expect(String(t.listenerPort)).toBe(ec2.bootstrapServers[0]?.split(':').at(-1));
  });

  it("EC2 host paths: the config's, else the kafkaHome (tarball) layout the runbooks must find", () => {
    const config = ex.configs.find((c) => c.deployment === 'prod-us') as HealerConfig;
    const ec2 = config.clusters.find((c) => c.platform === 'ec2');
    if (!ec2 || ec2.platform !== 'ec2') throw new Error('example has an ec2 cluster');
    // The example is a package install and says so.
    expect(clusterTarget(ec2, 'fn')).toMatchObject({
      serverProperties: '/etc/kafka/server.properties',
      appLogDir: '/var/log/kafka',
    });
    const bare = { ...ec2, ec2: { ...ec2.ec2, serverProperties: undefined, logDir: undefined, kafkaHome: undefined } };
    expect(clusterTarget(bare, 'fn')).toMatchObject({
      serverProperties: '/opt/kafka/config/server.properties',
      appLogDir: '/opt/kafka/logs',
    });
    const home = { ...bare, ec2: { ...bare.ec2, kafkaHome: '/srv/kafka' } };
    expect(clusterTarget(home, 'fn')).toMatchObject({
      serverProperties: '/srv/kafka/config/server.properties',
      appLogDir: '/srv/kafka/logs',
      kafkaHome: '/srv/kafka',
    });
  });

  it('MSK: carries the cluster ARN', () => {
    const config = ex.configs.find((c) => c.deployment === 'prod-eu') as HealerConfig;
    const msk = config.clusters.find((c) => c.platform === 'msk');
    if (!msk || msk.platform !== 'msk') throw new Error('example has an msk cluster');
    expect(clusterTarget(msk, 'fn')).toMatchObject({ platform: 'msk', mskClusterArn: msk.msk.clusterArn });
  });
});
