// CDK assertions for the DR workflows as the real healer stack of the DR-pair example
// (examples/config/dr-pair.yaml) creates them (HealerStack.dr, approvals through the escalation
// ladder's request Lambda), synthesized once with the cdk-nag AwsSolutions plugin; Lambda
// bundling skipped.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DrTargetConfigSchema } from '#functions/workflow-steps/dr-target.js';
import { addHealerStacks, loadConfigs } from '#infra/app-builder.js';
import { clusterTarget, drEndpoint, drTargetConfig } from '#infra/constructs/cluster-targets.js';
import type { DrWorkflows } from '#infra/constructs/dr-workflows.js';
import { probeClusterEnv } from '#infra/constructs/probes.js';
import { definitionText } from '#infra/constructs/workflows.js';
import type { HealerStack } from '#infra/stacks/healer-stack.js';

type Statement = {
  Sid?: string;
  Action: string | string[];
  Resource: unknown;
  Condition?: Record<string, Record<string, unknown>>;
};
type Resources = Record<string, { Type: string; Properties: Record<string, unknown> }>;

let outdir: string;
let stack: HealerStack;
let dr: DrWorkflows;
let t: Template;
let synthError: unknown;

beforeAll(() => {
  outdir = mkdtempSync(join(tmpdir(), 'kh-dr-wiring-'));
  const app = new App({ outdir, context: { 'aws:cdk:bundling-stacks': [] } });
  const [config] = loadConfigs(['examples/config/dr-pair.yaml']);
  if (!config) throw new Error('no dr-pair example');
  [stack] = addHealerStacks(app, [config], { nag: true }) as [HealerStack];
  // The stack creates the DR workflows for the DR pair, with the ladder's approval request Lambda.
  dr = stack.dr;
  try {
    app.synth();
    t = Template.fromStack(stack);
  } catch (err) {
    synthError = err;
  }
}, 240_000);

afterAll(() => rmSync(outdir, { recursive: true, force: true }));

function statementsOf(stateMachineName: string): Statement[] {
  const [sm] = Object.values(
    t.findResources('AWS::StepFunctions::StateMachine', {
      Properties: { StateMachineName: stateMachineName },
    }) as Resources,
  );
  expect(sm, stateMachineName).toBeDefined();
  const roleId = /"([A-Za-z0-9]+)","Arn"/.exec(JSON.stringify(sm?.Properties['RoleArn']))?.[1];
  return Object.values(t.findResources('AWS::IAM::Policy') as Resources)
    .filter((p) => JSON.stringify(p.Properties['Roles']).includes(`"${roleId}"`))
    .flatMap((p) => (p.Properties['PolicyDocument'] as { Statement: Statement[] }).Statement);
}
const actions = (s: Statement) => (Array.isArray(s.Action) ? s.Action : [s.Action]);

describe('DR workflows in the DR-pair example stack', () => {
  it('synthesizes with no unacknowledged cdk-nag finding in the DR construct', () => {
    expect(synthError).toBeUndefined();
    const report = JSON.parse(readFileSync(join(outdir, 'validation-report.json'), 'utf8')) as {
      pluginReports: { violations: { ruleName: string; violatingConstructs: { constructPath: string }[] }[] }[];
    };
    const mine = report.pluginReports.flatMap((p) =>
      p.violations.flatMap((v) =>
        v.violatingConstructs
          .filter((c) => c.constructPath.includes('/Dr/'))
          .map((c) => `${v.ruleName} at ${c.constructPath}`),
      ),
    );
    expect(mine).toEqual([]);
  });

  it('both state machines, bounded at 55 minutes, with every substitution their ASL needs', () => {
    for (const name of ['dr-failover', 'dr-failback']) {
      t.hasResourceProperties('AWS::StepFunctions::StateMachine', { StateMachineName: `kafka-heal-events-${name}` });
      const [sm] = Object.values(
        t.findResources('AWS::StepFunctions::StateMachine', {
          Properties: { StateMachineName: `kafka-heal-events-${name}` },
        }) as Resources,
      );
      const subs = sm?.Properties['DefinitionSubstitutions'] as Record<string, unknown>;
      expect(Object.keys(subs).sort()).toEqual([
        'ApprovalFunctionArn',
        'EscalationStateMachineArn',
        'NotificationTopicArn',
        'Partition',
        'WorkflowStepsFunctionArn',
      ]);
      const asl = definitionText(name);
      for (const key of asl.match(/\$\{([A-Za-z0-9_]+)\}/g) ?? [])
        expect(Object.keys(subs), name).toContain(key.slice(2, -1));
    }
    expect(dr.drClusters.map((c) => c.name)).toEqual(['events', 'events-dr']);
  });

  it('Route 53: ChangeResourceRecordSets only on the configured zone, for the configured record name, CNAME, UPSERT; GetChange; ListResourceRecordSets on the zone', () => {
    const zoneArn = {
      'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':route53:::hostedzone/Z0123456789ABCDEFGHIJ']],
    };
    for (const name of ['dr-failover', 'dr-failback']) {
      const st = statementsOf(`kafka-heal-events-${name}`);
      const route53 = st.filter((s) => actions(s).some((a) => a.startsWith('route53:')));
      const change = route53.filter((s) => actions(s).includes('route53:ChangeResourceRecordSets'));
      expect(change).toHaveLength(1);
      expect(change[0]).toMatchObject({
        Action: 'route53:ChangeResourceRecordSets',
        Resource: zoneArn,
        Condition: {
          'ForAllValues:StringEquals': {
            'route53:ChangeResourceRecordSetsNormalizedRecordNames': ['kafka.example.com'],
            'route53:ChangeResourceRecordSetsRecordTypes': ['CNAME'],
            'route53:ChangeResourceRecordSetsActions': ['UPSERT'],
          },
        },
      });
      expect(route53.find((s) => actions(s).includes('route53:GetChange'))?.Resource).toEqual({
        'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':route53:::change/*']],
      });
      expect(route53.find((s) => actions(s).includes('route53:ListResourceRecordSets'))?.Resource).toEqual(zoneArn);
      expect(route53.flatMap(actions).sort()).toEqual([
        'route53:ChangeResourceRecordSets',
        'route53:GetChange',
        'route53:ListResourceRecordSets',
      ]);
      // Nothing else in the policy touches Route 53 or uses a wildcard action.
      expect(st.flatMap(actions).filter((a) => a.includes('*'))).toEqual([]);
    }
  });

  it('invokes only the step Lambdas and the approval function; publishes only to the critical topic', () => {
    const st = statementsOf('kafka-heal-events-dr-failover');
    const invoke = JSON.stringify(
      st.filter((s) => actions(s).includes('lambda:InvokeFunction')).map((s) => s.Resource),
    );
    expect(invoke).toContain(
      Stack.of(stack).getLogicalId(stack.ladder.approvalRequestFn.fn.node.defaultChild as never),
    );
    expect(invoke).toContain('WorkflowSteps');
    expect(invoke).toMatch(/ClusterStepsevents[A-Z0-9]/);
    expect(invoke).toMatch(/ClusterStepseventsdr/);
    const publish = st.filter((s) => actions(s).includes('sns:Publish'));
    // The operators' critical topic from the config (snsTopicArns.critical).
    expect(publish.map((s) => s.Resource)).toEqual(['arn:aws:sns:us-east-1:123456789012:kafka-critical']);
  });

  it('the classifier gets WORKFLOW_ARN_DR_FAILOVER / _DR_FAILBACK and may start them', () => {
    const fns = Object.values(t.findResources('AWS::Lambda::Function') as Resources).filter((f) =>
      JSON.stringify(f.Properties['Environment'] ?? {}).includes('WORKFLOW_ARN_DR_FAILOVER'),
    );
    expect(fns).toHaveLength(1);
    const env = (fns[0]?.Properties['Environment'] as { Variables: Record<string, unknown> }).Variables;
    expect(JSON.stringify(env['WORKFLOW_ARN_DR_FAILOVER'])).toContain('DrFailover');
    expect(JSON.stringify(env['WORKFLOW_ARN_DR_FAILBACK'])).toContain('DrFailback');
  });

  it('the workflow steps targets carry each side of the pair with its own endpoint (the config must give the primary one: failback needs it)', () => {
    const [events, eventsDr] = stack.config.clusters;
    if (!events || !eventsDr) throw new Error('expected two clusters');
    expect(drEndpoint(events, 'kafka.example.com')).toBe('kafka-1.events.example.com');
    expect(drEndpoint(eventsDr, 'kafka.example.com.')).toBe('kafka-dr.example.com');
    expect(drTargetConfig(eventsDr)).toEqual({
      peer: 'events',
      hostedZoneId: 'Z0123456789ABCDEFGHIJ',
      recordName: 'kafka.example.com',
      ttl: 60,
      endpoint: 'kafka-dr.example.com',
      bootstrapPort: 9092,
      automaticFailover: false,
      maxReplicationLagSeconds: 60,
    });
    const target = clusterTarget(events, 'fn');
    expect(DrTargetConfigSchema.parse(target.dr)).toMatchObject({
      peer: 'events-dr',
      recordName: 'kafka.example.com',
      endpoint: 'kafka-1.events.example.com',
    });
    // A cluster known only by the record has none (the schema refuses such a pair member).
    expect(
      drEndpoint({ ...events, bootstrapServers: ['kafka.example.com:9092'] }, 'kafka.example.com'),
    ).toBeUndefined();
  });

  it('the probe and cluster steps of a pair member never bootstrap through the record: after a failover it names the peer', () => {
    const [events] = stack.config.clusters;
    if (!events) throw new Error('expected a cluster');
    const listed = { ...events, bootstrapServers: ['KAFKA.example.com.:9092', 'kafka-1.events.example.com:9092'] };
    expect(probeClusterEnv(listed).bootstrapServers).toEqual(['kafka-1.events.example.com:9092']);
    expect(probeClusterEnv(events).bootstrapServers).toEqual(events.bootstrapServers);
  });
});
