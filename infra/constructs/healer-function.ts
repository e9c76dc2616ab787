// The one house Lambda construct. Every function of the healer is built here, so they all share
// the same defaults: Node 22 on ARM64, X-Ray tracing, a log group with a retention period, JSON
// logs, bounded timeout and memory, and a CommonJS bundle made by esbuild (no Docker).
//
// Permissions are never granted by hand next to an environment variable: the bind helpers set
// the variable the handler reads AND grant exactly the IAM it needs on exactly that resource,
// so the two cannot drift apart.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ArnFormat, Duration, Names, RemovalPolicy, Stack, Stage, Validations, type CfnElement } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import type { ISecurityGroup, ISubnet, IVpc } from 'aws-cdk-lib/aws-ec2';
import { Effect, PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import {
  Architecture,
  LoggingFormat,
  Runtime,
  Tracing,
  ApplicationLogLevel,
  SystemLogLevel,
  type ILayerVersion,
} from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import type { IStringParameter } from 'aws-cdk-lib/aws-ssm';
import type { IStateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { nagArnPrefix } from './nag-ids.js';
import { NAMESPACE } from '#functions/probe/metrics.js';

/**
 * Construct context naming the metrics namespace of the functions below (HealerStack sets it to
 * `KafkaHeal/<deployment>`, functions/probe/metrics.ts metricsNamespace); `KafkaHeal` elsewhere.
 */
export const METRICS_NAMESPACE_CONTEXT = 'kafka-heal:metrics-namespace';

/** Repository root: infra/constructs/ is two levels below it. */
export const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Where the handler of a function lives: functions/<name>/<file> (handler.ts), exporting `handler`. */
export function handlerEntry(name: string, file = 'handler.ts'): string {
  return join(PROJECT_ROOT, 'functions', name, file);
}

/**
 * The bundles are CommonJS (index.js), although middy is published as ESM only (esbuild turns its
 * modules into CommonJS; nothing in a handler's graph uses top-level await or import.meta).
 * The reason is cold start: the bundles leave the AWS SDK external, and the SDK ships as
 * CommonJS. Imported from an ES module, every one of its few hundred CommonJS files goes through
 * the ESM loader (cjs-module-lexer scans each for its exports); required from a CommonJS bundle,
 * they load through `require` alone: about half the module init CPU time of an ESM bundle
 * (`npm run bench -- bundles`, bench/README.md). `require` also honours NODE_PATH, which is how
 * Lambda puts the runtime's SDK and the layers' /opt/nodejs/node_modules on the module path.
 */
export const BUNDLE_FILE = 'index.js';

export const DEFAULT_TIMEOUT = Duration.seconds(30);
export const DEFAULT_MEMORY_MB = 512;
export const DEFAULT_LOG_RETENTION = RetentionDays.ONE_MONTH;

export interface HealerFunctionVpc {
  vpc: IVpc;
  subnets: ISubnet[];
  securityGroups: ISecurityGroup[];
}

/**
 * A layer and the modules it provides: the function gets the layer AND those modules are left
 * external in its bundle (loaded from /opt/nodejs/node_modules at run time), so the two cannot
 * drift apart.
 */
export interface HealerFunctionLayer {
  layer: ILayerVersion;
  modules: string[];
}

export interface HealerFunctionProps {
  /** Folder under functions/ holding the handler; also the Powertools service name suffix. */
  name: string;
  /** The handler file in that folder, exporting `handler`. @default handler.ts */
  file?: string;
  /** Powertools service name suffix when one folder has several handlers. @default name */
  serviceName?: string;
  description: string;
  /** @default 30 seconds */
  timeout?: Duration;
  /** @default 512 MB */
  memorySize?: number;
  /** @default one month */
  logRetention?: RetentionDays;
  /** Extra environment (bind helpers add their own variables). */
  environment?: Record<string, string>;
  /** Run inside a VPC (the probe must reach brokers on private addresses). */
  vpc?: HealerFunctionVpc;
  /** Caps concurrency, e.g. for the classifier so an alarm storm cannot exhaust the account. */
  reservedConcurrentExecutions?: number;
  /** Layers providing modules the bundle leaves out (e.g. the probe library, ProbeLayer). */
  layers?: HealerFunctionLayer[];
  /**
   * Traced only when the caller's request is (PassThrough), instead of every invocation (Active).
   * For a function run on a schedule with nothing upstream to trace: the scheduled probe, whose
   * one-segment traces (its duration, which AWS/Lambda Duration already has) would be one X-Ray
   * trace a minute per cluster. @default false
   */
  traceOnlyWhenCallerTraces?: boolean;
  /**
   * JSON files bundled with the code (functions/shared/bundled-file.ts): configuration that
   * grows with the brokers or clusters, which Lambda's 4 KB environment cannot hold. Each file's
   * name goes into the environment variable `env`; the handler reads it beside its code.
   */
  files?: BundledFile[];
}

export interface BundledFile {
  env: string;
  /** A plain file name, e.g. `workflow-targets.json`. */
  name: string;
  /** Written as JSON; no CDK tokens (the file is made at synth time). */
  json: unknown;
}

export type TableAccess = 'r' | 'rw';
export type QueueAccess = 'send' | 'consume';

export class HealerFunction extends Construct {
  readonly fn: NodejsFunction;
  readonly role: Role;
  readonly logGroup: LogGroup;
  readonly name: string;
  /** The files bundled with the code, as the handler will read them. */
  readonly files: ReadonlyMap<string, unknown>;

  constructor(scope: Construct, id: string, props: HealerFunctionProps) {
    super(scope, id);
    this.name = props.name;
    this.files = new Map((props.files ?? []).map((f) => [f.name, f.json]));
    // Written into the cloud assembly folder at synth; the bundling copies them next to index.js
    // (and so they count in the asset's hash: a changed config is a new code version).
    const staged = (props.files ?? []).map((f) => {
      if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/.test(f.name))
        throw new Error(`${this.node.path}: bundled file name ${JSON.stringify(f.name)} is not a plain file name`);
      const dir = join(Stage.of(this)?.outdir ?? PROJECT_ROOT, 'kafka-heal-files', Names.uniqueId(this));
      mkdirSync(dir, { recursive: true });
      const path = join(dir, f.name);
      writeFileSync(path, JSON.stringify(f.json));
      return { path, name: f.name };
    });
    const quote = (p: string) => `'${p.replaceAll("'", "'\\''")}'`;
    const stackName = Stack.of(this).stackName;

    this.logGroup = new LogGroup(this, 'Logs', {
      retention: props.logRetention ?? DEFAULT_LOG_RETENTION,
      // Logs are evidence of what the healer did during an incident: keep them when the
      // stack goes; the retention period still expires them.
      removalPolicy: RemovalPolicy.RETAIN,
    });

    // An explicit role instead of the default one: the default attaches the broad
    // AWSLambdaBasicExecutionRole managed policy (logs on every log group); this role may
    // write to its own log group only.
    this.role = new Role(this, 'Role', {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: `${stackName} ${props.serviceName ?? props.name} function`,
    });
    this.role.addToPrincipalPolicy(
      new PolicyStatement({
        effect: Effect.ALLOW,
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: [this.logGroup.logGroupArn],
      }),
    );

    if (props.vpc) {
      // A function in a VPC needs to manage its ENIs; EC2 does not support resource-level
      // permissions for these describe/create calls at function creation time.
      this.role.addToPrincipalPolicy(
        new PolicyStatement({
          effect: Effect.ALLOW,
          actions: [
            'ec2:CreateNetworkInterface',
            'ec2:DescribeNetworkInterfaces',
            'ec2:DescribeSubnets',
            'ec2:DeleteNetworkInterface',
            'ec2:AssignPrivateIpAddresses',
            'ec2:UnassignPrivateIpAddresses',
          ],
          resources: ['*'],
        }),
      );
    }

    this.fn = new NodejsFunction(this, 'Function', {
      entry: handlerEntry(props.name, props.file),
      handler: 'handler',
      description: props.description,
      runtime: Runtime.NODEJS_22_X,
      architecture: Architecture.ARM_64,
      tracing: props.traceOnlyWhenCallerTraces ? Tracing.PASS_THROUGH : Tracing.ACTIVE,
      timeout: props.timeout ?? DEFAULT_TIMEOUT,
      memorySize: props.memorySize ?? DEFAULT_MEMORY_MB,
      role: this.role,
      logGroup: this.logGroup,
      loggingFormat: LoggingFormat.JSON,
      applicationLogLevelV2: ApplicationLogLevel.INFO,
      systemLogLevelV2: SystemLogLevel.WARN,
      ...(props.layers?.length ? { layers: props.layers.map((l) => l.layer) } : {}),
      ...(props.reservedConcurrentExecutions === undefined
        ? {}
        : { reservedConcurrentExecutions: props.reservedConcurrentExecutions }),
      ...(props.vpc
        ? {
            vpc: props.vpc.vpc,
            vpcSubnets: { subnets: props.vpc.subnets },
            securityGroups: props.vpc.securityGroups,
            allowPublicSubnet: false,
          }
        : {}),
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: join(PROJECT_ROOT, 'package-lock.json'),
      environment: {
        POWERTOOLS_SERVICE_NAME: `kafka-heal-${props.serviceName ?? props.name}`,
        // The deployment's own namespace (KafkaHeal/<deployment>), set on the stack by HealerStack.
        POWERTOOLS_METRICS_NAMESPACE:
          (this.node.tryGetContext(METRICS_NAMESPACE_CONTEXT) as string | undefined) ?? NAMESPACE,
        // The bundle is minified; stack traces map back to the TypeScript sources.
        NODE_OPTIONS: '--enable-source-maps',
        ...props.environment,
        ...Object.fromEntries((props.files ?? []).map((f) => [f.env, f.name])),
      },
      bundling: {
        commandHooks: {
          beforeBundling: () => [],
          beforeInstall: () => [],
          afterBundling: (_inputDir: string, outputDir: string) =>
            staged.map((f) => `cp ${quote(f.path)} ${quote(join(outputDir, f.name))}`),
        },
        // CommonJS, see BUNDLE_FILE. `module` first so esbuild still tree-shakes ESM packages.
        format: OutputFormat.CJS,
        target: 'node22',
        mainFields: ['module', 'main'],
        // The Node 22 runtime ships AWS SDK v3; bundling it would only add size and init time.
        // Modules provided by the function's layers stay out of the bundle as well.
        externalModules: ['@aws-sdk/*', ...(props.layers ?? []).flatMap((l) => l.modules)],
        minify: true,
        sourceMap: true,
        sourcesContent: false,
      },
    });

    Validations.of(this).acknowledge({
      id: 'AwsSolutions-L1',
      reason:
        'The project pins Lambda nodejs22.x (DESIGN.md section 7): the bundles, the local runtime and CI are built and tested on Node 22; moving runtimes is a deliberate change, not a lint fix.',
    });
    Validations.of(this).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: props.vpc
        ? 'Only X-Ray (xray:PutTraceSegments/PutTelemetryRecords) and the VPC ENI actions (ec2:*NetworkInterface*, DescribeSubnets) are granted on *: neither service supports resource-level permissions for these actions.'
        : 'Only X-Ray (xray:PutTraceSegments/PutTelemetryRecords, added by active tracing) is granted on *: X-Ray does not support resource-level permissions.',
    });
  }

  /** Set an environment variable on the function. */
  setEnv(name: string, value: string): this {
    this.fn.addEnvironment(name, value);
    return this;
  }

  /** The incident table: INCIDENT_TABLE_NAME (read by functions/shared/clients.ts) + data access. */
  bindTable(table: ITable, access: TableAccess, envName = 'INCIDENT_TABLE_NAME'): this {
    this.setEnv(envName, table.tableName);
    if (access === 'rw') table.grantReadWriteData(this.role);
    else table.grantReadData(this.role);
    return this;
  }

  /** A Secrets Manager secret: its ARN in `envName` + read of that secret only. */
  bindSecret(secret: ISecret, envName: string): this {
    this.setEnv(envName, secret.secretArn);
    secret.grantRead(this.role);
    return this;
  }

  private stopsExecutions = false;

  /**
   * The function may also stop the executions of the state machines it starts (bound before or
   * after this call): the classifier stops a running runbook that a grown incident supersedes.
   */
  stopsWhatItStarts(): this {
    this.stopsExecutions = true;
    for (const sm of this.startable) this.grantStop(sm);
    return this;
  }

  private readonly startable: IStateMachine[] = [];

  /** The state machines the function starts (bindStateMachine), in binding order. */
  get startedStateMachines(): readonly IStateMachine[] {
    return this.startable;
  }

  /** A state machine the function starts: its ARN in `envName` + states:StartExecution on it (and StopExecution, DescribeExecution on its executions if it stopsWhatItStarts). */
  bindStateMachine(sm: IStateMachine, envName: string): this {
    this.setEnv(envName, sm.stateMachineArn);
    sm.grantStartExecution(this.role);
    this.startable.push(sm);
    if (this.stopsExecutions) this.grantStop(sm);
    return this;
  }

  private grantStop(sm: IStateMachine): void {
    // DescribeExecution: whether the run named by a cluster lock is still running (lock takeover).
    sm.grantExecution(this.role, 'states:StopExecution', 'states:DescribeExecution');
    const logicalId = Stack.of(sm).getLogicalId(sm.node.defaultChild as CfnElement);
    Validations.of(this).acknowledge({
      id: `AwsSolutions-IAM5[Resource::${nagArnPrefix(this, 'states')}:execution:{"Fn::Select":[6,{"Fn::Split":[":",{"Ref":"${logicalId}"}]}]}:*]`,
      reason:
        'StopExecution and DescribeExecution on the executions of one state machine this function starts; execution names are derived from incident ids at run time.',
    });
  }

  /** A queue the function sends to (`send`) or consumes outside an event source (`consume`). */
  bindQueue(queue: IQueue, access: QueueAccess, envName: string): this {
    this.setEnv(envName, queue.queueUrl);
    if (access === 'send') queue.grantSendMessages(this.role);
    else queue.grantConsumeMessages(this.role);
    return this;
  }

  /** An SNS topic the function publishes to: its ARN in `envName` + sns:Publish on it. */
  bindTopic(topic: ITopic, envName: string): this {
    this.setEnv(envName, topic.topicArn);
    topic.grantPublish(this.role);
    return this;
  }

  /**
   * Checks that a CloudWatch alarm was made by this stack (functions/ingest/alarm-owner.ts): the
   * stack's name in STACK_NAME, and cloudwatch:ListTagsForResource on the alarms named with
   * `alarmNamePrefix` only.
   */
  checksAlarmOwner(alarmNamePrefix: string): this {
    const stack = Stack.of(this);
    this.setEnv('STACK_NAME', stack.stackName);
    this.role.addToPrincipalPolicy(
      new PolicyStatement({
        sid: 'ReadOwnAlarmTags',
        effect: Effect.ALLOW,
        actions: ['cloudwatch:ListTagsForResource'],
        resources: [
          stack.formatArn({
            service: 'cloudwatch',
            resource: 'alarm',
            resourceName: `${alarmNamePrefix}*`,
            arnFormat: ArnFormat.COLON_RESOURCE_NAME,
          }),
        ],
      }),
    );
    Validations.of(this).acknowledge({
      id: `AwsSolutions-IAM5[Resource::${nagArnPrefix(this, 'cloudwatch')}:alarm:${alarmNamePrefix}*]`,
      reason:
        "Reads the tags of this deployment's alarms only (their names start with its prefix), to check the stack-name tag before acting on one.",
    });
    return this;
  }

  /**
   * SSM parameters the function reads at run time: read access on exactly these parameters,
   * and (when given) `envName` set to the common path prefix the handler builds names from.
   */
  bindParameters(parameters: IStringParameter[], envName?: string, prefix?: string): this {
    for (const p of parameters) p.grantRead(this.role);
    if (envName !== undefined && prefix !== undefined) this.setEnv(envName, prefix);
    return this;
  }
}
