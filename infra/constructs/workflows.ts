// The house state machine construct and the ASL helpers shared by the stack and the tests.
//
// Workflows are ASL files in statemachines/ with ${Placeholders} for every ARN, loaded with
// DefinitionBody.fromFile + definitionSubstitutions, so the same file runs in Step Functions and
// in the local runtime. Because the definition ships as an S3 asset, CDK cannot see which
// services a Task calls: a workflow gets the ARN of what it calls through a WorkflowBinder, which
// grants the IAM for it in the same call (as HealerFunction's bind helpers do for a function's
// environment), so no ARN reaches a definition without the right to call it.
//
// A workflow is either its own file (statemachines/<name>.asl.json) or rendered from a shared
// template with values fixed in the code (RENDERED_WORKFLOWS: dr-failover and dr-failback from
// dr-switch.asl.json). definitionText(name) is the one way to get a workflow's ASL: the stack,
// the tests and the local runtime all read it, so what runs locally is what deploys.
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ArnFormat, Duration, Fn, RemovalPolicy, Stack, Stage, Token } from 'aws-cdk-lib';
import { Effect, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import {
  DefinitionBody,
  LogLevel,
  StateMachine,
  StateMachineType,
  type IStateMachine,
} from 'aws-cdk-lib/aws-stepfunctions';
import { Validations } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { APPROVAL_RESOURCE_TEMPLATE } from '#functions/approvals/schema.js';
import type { Workflow } from '#domain/types.js';
import { workflowArnEnvName } from '#shared/workflows.js';
import { DR_DIRECTIONS, DR_SWITCH_TEMPLATE } from './dr-switch.js';
import { PROJECT_ROOT, type HealerFunction } from './healer-function.js';
import { nagArnPrefix } from './nag-ids.js';
import type { SelfMonitoring } from './self-monitoring.js';

export const STATEMACHINES_DIR = join(PROJECT_ROOT, 'statemachines');

export function aslFile(name: string): string {
  return join(STATEMACHINES_DIR, `${name}.asl.json`);
}

export const ESCALATION_NOTIFY_ASL = aslFile('escalation-notify');

/** Workflows rendered from a shared template file: the template and the values substituted at render time. */
export const RENDERED_WORKFLOWS: Readonly<Record<string, { template: string; substitutions: Record<string, string> }>> =
  {
    'dr-failover': { template: DR_SWITCH_TEMPLATE, substitutions: DR_DIRECTIONS['dr-failover'] },
    'dr-failback': { template: DR_SWITCH_TEMPLATE, substitutions: DR_DIRECTIONS['dr-failback'] },
  };

const TEMPLATES = new Set(Object.values(RENDERED_WORKFLOWS).map((r) => r.template));

/** The name of every ASL file under statemachines/ (templates included), sorted. */
export function aslFileNames(): string[] {
  return readdirSync(STATEMACHINES_DIR)
    .filter((f) => f.endsWith('.asl.json'))
    .map((f) => f.replace(/\.asl\.json$/, ''))
    .sort();
}

/** Every workflow a stack can deploy: each ASL file that is not a template, and each rendered workflow; sorted. */
export function workflowNames(): string[] {
  const files = aslFileNames().filter((n) => !TEMPLATES.has(n));
  return [...files, ...Object.keys(RENDERED_WORKFLOWS)].sort();
}

/**
 * Puts render-time values into a template: every ${Name} whose name starts with one of the
 * values' prefixes (`Dr` for dr-switch) must have a value, and every value must be used, so a
 * template and its table cannot drift. Other ${Placeholders} stay for definitionSubstitutions.
 */
export function renderTemplate(text: string, values: Record<string, string>, source: string): string {
  const prefixes = [...new Set(Object.keys(values).map((k) => /^[A-Z][a-z0-9]*/.exec(k)?.[0] ?? k))];
  const missing = new Set<string>();
  const used = new Set<string>();
  const out = text.replace(/\$\{([A-Za-z0-9_]+)\}/g, (whole, key: string) => {
    if (!prefixes.some((p) => key.startsWith(p))) return whole;
    const value = values[key];
    if (value === undefined) missing.add(key);
    else used.add(key);
    return value ?? whole;
  });
  if (missing.size > 0) throw new Error(`${source}: no value for ${[...missing].map((k) => `\${${k}}`).join(', ')}`);
  const unused = Object.keys(values).filter((k) => !used.has(k));
  if (unused.length > 0) throw new Error(`${source}: ${unused.join(', ')} never used in the template`);
  return out;
}

/**
 * The ASL text of a workflow with its render-time values in place and its deploy-time
 * ${Placeholders} (ARNs, ${Partition}) left for definitionSubstitutions.
 */
export function definitionText(name: string): string {
  const rendered = RENDERED_WORKFLOWS[name];
  if (!rendered) return readFileSync(aslFile(name), 'utf8');
  return renderTemplate(
    readFileSync(aslFile(rendered.template), 'utf8'),
    rendered.substitutions,
    `statemachines/${rendered.template}.asl.json as ${name}`,
  );
}

/**
 * The file CDK ships as the workflow's definition asset: its own ASL file, or for a rendered
 * workflow the rendered text written into the cloud assembly's directory (CDK copies it into
 * an asset named by its content hash, as it does an ASL file).
 */
function definitionFile(scope: Construct, name: string): string {
  if (!RENDERED_WORKFLOWS[name]) return aslFile(name);
  const dir = join(Stage.of(scope)?.outdir ?? tmpdir(), 'rendered-asl');
  if (!existsSync(dir)) mkdirSync(dir, { recursive: true });
  const file = join(dir, `${name}.asl.json`);
  writeFileSync(file, definitionText(name));
  return file;
}

/** The substitutions escalation-notify.asl.json needs. */
export function escalationNotifySubstitutions(t: {
  criticalTopicArn: string;
  warningTopicArn: string;
}): Record<string, string> {
  return { CriticalTopicArn: t.criticalTopicArn, WarningTopicArn: t.warningTopicArn };
}

/**
 * Render ASL text the way Step Functions does with definitionSubstitutions. Throws when a
 * placeholder has no value, so a test catches a missing substitution before a deploy does.
 */
export function renderDefinition(text: string, substitutions: Record<string, string>): string {
  const missing = new Set<string>();
  const out = text.replace(/\$\{([A-Za-z0-9_]+)\}/g, (whole, key: string) => {
    const value = substitutions[key];
    if (value === undefined) {
      missing.add(key);
      return whole;
    }
    return value;
  });
  if (missing.size > 0) throw new Error(`no substitution for ${[...missing].map((k) => `\${${k}}`).join(', ')}`);
  return out;
}

/** A state machine a workflow runs as a nested execution, and the name its executions are granted by. */
export interface NestedWorkflow {
  readonly stateMachine: IStateMachine;
  readonly stateMachineName: string;
}

/** The ARN of a state machine by its name in this stack's account and region. */
export function stateMachineArnByName(scope: Construct, stateMachineName: string): string {
  return Stack.of(scope).formatArn({
    service: 'states',
    resource: 'stateMachine',
    resourceName: stateMachineName,
    arnFormat: ArnFormat.COLON_RESOURCE_NAME,
  });
}

interface Binding {
  value: string;
  grant: (wf: HealerWorkflow) => void;
}

/**
 * The values of a workflow's deploy-time ${Placeholders}, each with the IAM that makes it callable:
 * a method returns the value to substitute AND records its grant, which HealerWorkflow makes on the
 * state machine's role as soon as the role exists, in the order of the calls. HealerWorkflow refuses
 * a substitution holding a deploy-time value (a CDK token) that no binder method made, and a bound
 * value that no substitution uses: an ARN cannot reach a definition without its grant, nor a grant
 * exist for an ARN the definition never calls.
 */
export class WorkflowBinder {
  private readonly bindings: Binding[] = [];

  constructor(private readonly scope: Construct) {}

  /**
   * A Lambda function a Task invokes (lambda:invoke, or .waitForTaskToken for an approval): its
   * ARN, and lambda:InvokeFunction on it and on `alsoInvoked` (functions the same Tasks invoke by
   * an ARN read at run time, e.g. the cluster steps named by the workflow targets). `what` names
   * the function in the cdk-nag acknowledgement of its versions and aliases (<function arn>:*).
   */
  lambda(fn: IFunction, what: string, alsoInvoked: IFunction[] = []): string {
    return this.bind(fn.functionArn, (wf) => {
      for (const f of [fn, ...alsoInvoked]) {
        f.grantInvoke(wf.stateMachine);
        const resource = f.node.defaultChild;
        if (!resource) continue;
        Validations.of(wf).acknowledge({
          id: `AwsSolutions-IAM5[Resource::<${Stack.of(wf).getLogicalId(resource as never)}.Arn>:*]`,
          reason: `lambda:InvokeFunction on ${what} includes its versions and aliases (<function arn>:*), as CDK grants it.`,
        });
      }
    });
  }

  /** A state machine run as a nested execution (states:startExecution.sync:2): its ARN + grantNestedRun. */
  nested(child: NestedWorkflow): string {
    return this.bind(child.stateMachine.stateMachineArn, (wf) =>
      grantNestedRun(wf, child.stateMachine, child.stateMachineName),
    );
  }

  /**
   * A nested state machine created after this workflow (it may name this one): its ARN by name, and
   * the grant made when the child exists (HealerWorkflow.grantNestedChild); synth fails until then.
   */
  nestedCreatedLater(stateMachineName: string): string {
    return this.bind(stateMachineArnByName(this.scope, stateMachineName), (wf) =>
      wf.awaitNestedChild(stateMachineName),
    );
  }

  /**
   * A state machine this deployment does not have (no cluster of its platform): its ARN by name
   * fills the placeholder of a branch that never runs there, and nothing is granted.
   */
  absent(stateMachineName: string): string {
    return this.bind(stateMachineArnByName(this.scope, stateMachineName), () => undefined);
  }

  /** An SNS topic a Task publishes to (sns:publish): its ARN + sns:Publish (and its KMS key's data keys). */
  topic(topic: ITopic): string {
    return this.bind(topic.topicArn, (wf) => {
      topic.grantPublish(wf.stateMachine);
      if (topic.masterKey !== undefined) {
        Validations.of(wf).acknowledge({
          id: 'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]',
          reason:
            'Publishing to a KMS-encrypted topic needs kms:GenerateDataKey* (GenerateDataKey and its WithoutPlaintext variant) on the topic key; the grant names that one key, not *.',
        });
      }
    });
  }

  private bind(value: string, grant: (wf: HealerWorkflow) => void): string {
    this.bindings.push({ value, grant });
    return value;
  }

  /** The bound values (HealerWorkflow's checks). */
  get values(): string[] {
    return this.bindings.map((b) => b.value);
  }

  /** Makes every recorded grant on `wf`, in binding order (HealerWorkflow, once its role exists). */
  grantAll(wf: HealerWorkflow): void {
    for (const b of this.bindings) b.grant(wf);
  }
}

/** The ${Name} placeholders of an ASL text, in order of first use. */
export function placeholdersOf(text: string): string[] {
  return [...new Set([...text.matchAll(/\$\{([A-Za-z0-9_]+)\}/g)].map((m) => m[1] as string))];
}

export interface HealerWorkflowProps {
  /** Workflow name: a file base name under statemachines/ (e.g. `escalation-notify`) or a RENDERED_WORKFLOWS key. */
  name: string;
  /** State machine name (e.g. `kafka-heal-prod-eu-escalation`). */
  stateMachineName: string;
  /**
   * The definition's deploy-time values (${Partition} is added). A function receives the binder
   * that makes every value a Task calls (ARNs) together with its grant; a plain record may hold
   * only values that need no IAM (document names, fixed strings). Every placeholder of the
   * definition needs a value and every value a placeholder, or the constructor throws.
   */
  substitutions?: Record<string, string> | ((bind: WorkflowBinder) => Record<string, string>);
  /**
   * The run time limit the construct expects. Step Functions takes it from the definition's own
   * top-level TimeoutSeconds (CDK's `timeout` is ignored with DefinitionBody.fromFile), so this only
   * checks the file: synth fails when the file has no TimeoutSeconds or a different one.
   */
  timeout?: Duration;
  /** @default three months */
  logRetention?: RetentionDays;
}

/** The GUID at the end of the stack's id (arn:...:stack/<name>/<guid>): new for every create of the stack. */
export function stackInstanceId(scope: Construct): string {
  return Fn.select(2, Fn.split('/', Stack.of(scope).stackId));
}

/** The top-level TimeoutSeconds of an ASL file; throws when there is none (a run could never time out). */
export function definitionTimeoutSeconds(name: string): number {
  const def = JSON.parse(definitionText(name)) as { TimeoutSeconds?: unknown };
  const t = def.TimeoutSeconds;
  if (typeof t !== 'number' || !Number.isInteger(t) || t <= 0) {
    throw new Error(
      `statemachines/${name}.asl.json has no top-level TimeoutSeconds: its executions could run for a year and their timed-out alarm never fire`,
    );
  }
  return t;
}

/**
 * A STANDARD state machine from an ASL file, with X-Ray tracing and execution logging of every
 * event without execution data: the logs say which state ran when and how it ended, never an
 * input, an output or the parameters of a Task, so no task token (an approval state passes it in
 * its Payload) and nothing a workflow carries is readable from CloudWatch Logs. Inputs and outputs
 * stay in the execution history, for those allowed to read it (docs/aws-stack.md).
 */
export class HealerWorkflow extends Construct implements NestedWorkflow {
  readonly stateMachine: StateMachine;
  readonly stateMachineName: string;
  readonly logGroup: LogGroup;
  /** The definition has an approval state (lambda:invoke.waitForTaskToken): people answer its task tokens. */
  readonly asksApproval: boolean;

  /** The definition's own run time limit (its top-level TimeoutSeconds). */
  readonly timeout: Duration;

  constructor(scope: Construct, id: string, props: HealerWorkflowProps) {
    super(scope, id);
    this.stateMachineName = props.stateMachineName;
    this.timeout = Duration.seconds(definitionTimeoutSeconds(props.name));
    if (props.timeout && props.timeout.toSeconds() !== this.timeout.toSeconds()) {
      throw new Error(
        `statemachines/${props.name}.asl.json: TimeoutSeconds is ${this.timeout.toSeconds()}, the construct expects ${props.timeout.toSeconds()}`,
      );
    }
    const binder = new WorkflowBinder(this);
    const substitutions =
      typeof props.substitutions === 'function' ? props.substitutions(binder) : (props.substitutions ?? {});
    checkSubstitutions(props.name, substitutions, binder.values);
    this.logGroup = new LogGroup(this, 'Logs', {
      // The /aws/vendedlogs/ prefix keeps the CloudWatch Logs resource policy small when many
      // state machines log (AWS recommendation for vended logs). The name ends in the stack's own
      // id, new with every create: the group kept after a delete (execution history is evidence)
      // never blocks the next deploy of the same deployment with "already exists".
      logGroupName: `/aws/vendedlogs/states/${props.stateMachineName}-${stackInstanceId(this)}`,
      retention: props.logRetention ?? RetentionDays.THREE_MONTHS,
      // Kept when the stack is deleted or the group replaced, removed when a first create rolls back.
      removalPolicy: RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
    });
    this.stateMachine = new StateMachine(this, 'StateMachine', {
      stateMachineName: props.stateMachineName,
      stateMachineType: StateMachineType.STANDARD,
      definitionBody: DefinitionBody.fromFile(definitionFile(this, props.name)),
      // ${Partition}: every service integration is arn:${Partition}:states:::..., so one file deploys to aws, aws-cn and aws-us-gov.
      definitionSubstitutions: { Partition: Stack.of(this).partition, ...substitutions },
      tracingEnabled: true,
      logs: { destination: this.logGroup, level: LogLevel.ALL, includeExecutionData: false },
    });
    this.asksApproval = definitionText(props.name).includes(APPROVAL_RESOURCE_TEMPLATE);
    Validations.of(this).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'Step Functions log delivery (logs:CreateLogDelivery, PutResourcePolicy, DescribeLogGroups...) and X-Ray (PutTraceSegments) do not support resource-level permissions; CDK grants them on * for logging and tracing only.',
    });
    binder.grantAll(this);
    this.node.addValidation({
      validate: () =>
        [...this.awaitedChildren].map(
          (name) =>
            `${props.stateMachineName} names the nested state machine ${name}, which was never granted to it (grantNestedChild)`,
        ),
    });
  }

  private readonly awaitedChildren = new Set<string>();

  /** WorkflowBinder.nestedCreatedLater: the child's grant is owed. */
  awaitNestedChild(stateMachineName: string): void {
    this.awaitedChildren.add(stateMachineName);
  }

  /** The grant owed to a nested child bound with WorkflowBinder.nestedCreatedLater, now that it exists. */
  grantNestedChild(child: NestedWorkflow): this {
    if (!this.awaitedChildren.delete(child.stateMachineName)) {
      throw new Error(
        `${this.stateMachineName} does not name ${child.stateMachineName} (WorkflowBinder.nestedCreatedLater)`,
      );
    }
    grantNestedRun(this, child.stateMachine, child.stateMachineName);
    return this;
  }
}

/**
 * Every placeholder of the workflow's definition has a value and every value a placeholder; a
 * deploy-time value (a token) came from the binder, and every bound value is substituted.
 */
function checkSubstitutions(name: string, substitutions: Record<string, string>, bound: string[]): void {
  const source = `statemachines/${RENDERED_WORKFLOWS[name]?.template ?? name}.asl.json${RENDERED_WORKFLOWS[name] ? ` as ${name}` : ''}`;
  const placeholders = new Set(placeholdersOf(definitionText(name)));
  placeholders.delete('Partition');
  const missing = [...placeholders].filter((p) => substitutions[p] === undefined);
  if (missing.length > 0)
    throw new Error(`${source}: no substitution for ${missing.map((k) => `\${${k}}`).join(', ')}`);
  const unused = Object.keys(substitutions).filter((k) => !placeholders.has(k));
  if (unused.length > 0) throw new Error(`${source}: ${unused.join(', ')} never used in the definition`);
  const values = Object.values(substitutions);
  const unbound = Object.entries(substitutions).filter(([, v]) => Token.isUnresolved(v) && !bound.includes(v));
  if (unbound.length > 0) {
    throw new Error(
      `${source}: ${unbound.map(([k]) => `\${${k}}`).join(', ')} hold deploy-time values no WorkflowBinder made: bind them, so the workflow may call what they name`,
    );
  }
  if (bound.some((v) => !values.includes(v))) {
    throw new Error(`${source}: a WorkflowBinder grant has no substitution: the definition never calls what it grants`);
  }
}

/**
 * Lets `parent` run `child` as a nested execution (states:startExecution.sync:2): start it, and
 * describe and stop its executions and use the managed EventBridge rule through which Step
 * Functions follows them.
 */
export function grantNestedRun(parent: HealerWorkflow, child: IStateMachine, childName: string): void {
  const stack = Stack.of(parent);
  child.grantStartExecution(parent.stateMachine);
  const executions = stack.formatArn({
    service: 'states',
    resource: 'execution',
    resourceName: `${childName}:*`,
    arnFormat: ArnFormat.COLON_RESOURCE_NAME,
  });
  parent.stateMachine.addToRolePolicy(
    new PolicyStatement({
      effect: Effect.ALLOW,
      actions: ['states:DescribeExecution', 'states:StopExecution'],
      resources: [executions],
    }),
  );
  Validations.of(parent).acknowledge({
    id: `AwsSolutions-IAM5[Resource::${nagArnPrefix(parent, 'states')}:execution:${childName}:*]`,
    reason: `startExecution.sync:2 must describe and stop the ${childName} executions it starts; their names are generated at run time, so the grant names that state machine and any execution of it.`,
  });
  parent.stateMachine.addToRolePolicy(
    new PolicyStatement({
      effect: Effect.ALLOW,
      actions: ['events:PutTargets', 'events:PutRule', 'events:DescribeRule'],
      resources: [
        stack.formatArn({
          service: 'events',
          resource: 'rule',
          resourceName: 'StepFunctionsGetEventsForStepFunctionsExecutionRule',
        }),
      ],
    }),
  );
}

/** The state machines of every workflow under `scope` that asks a person (approval states). */
export function approvalStateMachines(scope: Construct): StateMachine[] {
  return scope.node
    .findAll()
    .filter((c): c is HealerWorkflow => c instanceof HealerWorkflow && c.asksApproval)
    .map((w) => w.stateMachine);
}

/**
 * A construct that deploys the workflow of one runbook the classifier starts: the classifier's
 * binding (the ARN in WORKFLOW_ARN_<RUNBOOK> + StartExecution) and the failed/timed-out alarms
 * are the same for every runbook, so they live here. `workflow` is undefined when the deployment
 * has no cluster the runbook applies to; then both are no-ops.
 */
export abstract class RunbookWorkflow extends Construct {
  abstract readonly workflow: HealerWorkflow | undefined;

  protected constructor(
    scope: Construct,
    id: string,
    private readonly runbook: Workflow,
  ) {
    super(scope, id);
  }

  /** Lets the classifier start this workflow (WORKFLOW_ARN_<RUNBOOK>). */
  bindTo(fn: HealerFunction): this {
    if (this.workflow) fn.bindStateMachine(this.workflow.stateMachine, workflowArnEnvName(this.runbook));
    return this;
  }

  /** Failed executions alarm straight to the operators. */
  watch(monitoring: SelfMonitoring): this {
    if (this.workflow) monitoring.watchStateMachine(this.workflow.stateMachine, this.runbook);
    return this;
  }
}
