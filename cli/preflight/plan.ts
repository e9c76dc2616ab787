// What a deployment will put into the account, read from the stack `cdk synth` builds for its
// config (no bundling, no AWS calls): the stack name, the bootstrap version it needs, and every
// name it gives a resource (state machines, SSM documents and parameters, secrets). Preflight
// checks the account against these, so a name added to the stack later is checked without a
// second list kept here.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Token } from 'aws-cdk-lib';
import { CfnTopic } from 'aws-cdk-lib/aws-sns';
import { CfnQueue } from 'aws-cdk-lib/aws-sqs';
import { CfnDocument } from 'aws-cdk-lib/aws-ssm';
import { CfnStateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { buildHealerApp } from '#infra/app-builder.js';
import type { HealerConfig } from '#infra/config/schema.js';
import { PROJECT_ROOT } from '#infra/constructs/healer-function.js';
import { clusterPolicyParameterName } from '#infra/constructs/runtime-policy.js';

export interface DeploymentPlan {
  deployment: string;
  region: string;
  stackName: string;
  /** The stack's description: it names the deployment's clusters, so another config's stack of the same name shows. */
  description: string;
  /** The SSM parameter holding the bootstrap stack's version, and the least version the stack's assets need. */
  bootstrap: { parameter: string; minVersion: number };
  stateMachines: string[];
  documents: string[];
  parameters: string[];
  /** SQS queues and SNS topics the stack names (the others' names are generated). */
  queues: string[];
  topics: string[];
  /** Secrets the stack creates under a name the config gives (`field` names it). */
  createdSecrets: { name: string; field: string }[];
  /** Prefixes of the log groups the stack creates and keeps after a destroy. */
  logGroupPrefixes: string[];
  /** Prefix of the incident table's generated name (kept after a destroy). */
  tablePrefix: string;
}

/** The CDK context of cdk.json (feature flags, bootstrap qualifier), as `cdk synth` sees it. */
function cdkContext(): Record<string, unknown> {
  const cdk = JSON.parse(readFileSync(join(PROJECT_ROOT, 'cdk.json'), 'utf8')) as { context?: Record<string, unknown> };
  return cdk.context ?? {};
}

export function planFor(config: HealerConfig): DeploymentPlan {
  const outdir = mkdtempSync(join(tmpdir(), 'kafka-heal-preflight-'));
  try {
    // No bundling: the names and the bootstrap requirement do not depend on the function code.
    const { app, stacks } = buildHealerApp([config], {
      nag: false,
      appProps: { outdir, context: { ...cdkContext(), 'aws:cdk:bundling-stacks': [] } },
    });
    const stack = stacks[0];
    if (stack === undefined) throw new Error('the app built no stack');
    const artifact = app.synth().getStackByName(stack.stackName);
    const d = config.deployment;
    const all = stack.node.findAll();
    const named = (names: (string | undefined)[]) =>
      [...new Set(names.filter((n): n is string => typeof n === 'string' && !Token.isUnresolved(n)))].sort();
    return {
      deployment: d,
      region: config.region,
      stackName: stack.stackName,
      description: stack.templateOptions.description ?? '',
      bootstrap: {
        parameter: artifact.bootstrapStackVersionSsmParameter ?? '/cdk-bootstrap/hnb659fds/version',
        minVersion: artifact.requiresBootstrapStackVersion ?? 0,
      },
      stateMachines: named(
        all.filter((c): c is CfnStateMachine => c instanceof CfnStateMachine).map((c) => c.stateMachineName),
      ),
      documents: named(all.filter((c): c is CfnDocument => c instanceof CfnDocument).map((c) => c.name)),
      parameters: config.clusters.map((c) => clusterPolicyParameterName(d, c.name)),
      queues: named(all.filter((c): c is CfnQueue => c instanceof CfnQueue).map((c) => c.queueName)),
      topics: named(all.filter((c): c is CfnTopic => c instanceof CfnTopic).map((c) => c.topicName)),
      createdSecrets:
        config.alertmanager.tokenSecretName === undefined
          ? []
          : [{ name: config.alertmanager.tokenSecretName, field: 'alertmanager.tokenSecretName' }],
      logGroupPrefixes: [`/aws/vendedlogs/states/kafka-heal-${d}-`, `${stack.stackName}-`],
      tablePrefix: `${stack.stackName}-`,
    };
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}
