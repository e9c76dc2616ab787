// Shared set-up for the DR workflow tests: the real workflow steps handler (DR target resolution,
// timeline, resolve/escalate, lock) over an in-memory store, a real local Route 53 zone file,
// the real approval binding, the real escalation-notify ASL, and doubles for the DR cluster steps
// (prerequisites, backup, canary) whose canary reads the zone like a client does.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CanaryFailed, DrPrerequisitesNotMet, DrStepSchema } from '#functions/cluster-steps/dr.js';
import { siteProbeVerdict, type SiteProbeVerdict } from '#domain/dr.js';
import { WorkflowStepSchema, makeWorkflowStepsHandler } from '#functions/workflow-steps/handler.js';
import { type ClusterTargetConfig } from '#contracts/workflow-targets.js';
import { ESCALATION_NOTIFY_ASL, escalationNotifySubstitutions } from '#infra/constructs/workflows.js';
import {
  APPROVAL_RESOURCE,
  LocalZone,
  RESOURCES,
  TaskError,
  approvalBinding,
  lambdaInvokeBinding,
  parseDefinition,
  recordCalls,
  route53Bindings,
  runWorkflow,
  startExecutionSyncBinding,
  type DecideAnswer,
  type Json,
  type RunResult,
} from '#local/stepfunctions/index.js';
import { ACCOUNT, MemoryStore, aslText, watchApprovals, watchRun, type HistoryWatch } from './recovery-fixtures.js';
import { storePieces } from '../support/store-pieces.js';

export const DR_SUBSTITUTIONS = {
  WorkflowStepsFunctionArn: `${ACCOUNT}:kafka-heal-test-workflow-steps`,
  ApprovalFunctionArn: `${ACCOUNT}:kafka-heal-test-approval-request`,
  EscalationStateMachineArn: 'arn:aws:states:eu-west-1:123456789012:stateMachine:kafka-heal-test-escalation',
  NotificationTopicArn: 'arn:aws:sns:eu-west-1:123456789012:kafka-heal-test-critical',
};
export const CS_PRIMARY = `${ACCOUNT}:kafka-heal-test-cluster-steps-events`;
export const CS_DR = `${ACCOUNT}:kafka-heal-test-cluster-steps-events-dr`;
export const ZONE_ID = 'Z0123456789ABCDEFGHIJ';
export const RECORD = 'kafka.example.com.';
export const PRIMARY_ENDPOINT = 'kafka-primary.example.com';
export const DR_ENDPOINT = 'kafka-dr.example.com';

export interface DrScenario {
  workflow: 'dr-failover' | 'dr-failback';
  input?: Record<string, unknown>;
  automatic?: boolean;
  /** Approval answer; default approved. */
  approval?: DecideAnswer;
  /** DrPrerequisitesNotMet for this many calls (Infinity: always). */
  prerequisitesFailures?: number;
  /** The canary never reaches the target through the name. */
  canaryBroken?: boolean;
  /** The record's value before the run; undefined: no record at all. */
  recordValue?: string | null;
  /**
   * What each probe of the primary from inside its VPC finds, in order (the last repeats);
   * `error`: the primary's cluster steps function fails. Default: down on failover, healthy on failback.
   */
  primaryProbes?: ('down' | 'healthy' | 'degraded' | 'error')[];
  /** A probe step that answers this verdict whatever it finds (a faulty or future cluster steps function). */
  probeVerdict?: SiteProbeVerdict;
  history?: HistoryWatch;
}

export interface DrRun {
  result: RunResult;
  store: MemoryStore;
  zone: LocalZone;
  calls: ReturnType<typeof recordCalls>['calls'];
  approvals: ReturnType<typeof approvalBinding>['requests'];
  published: Json[];
  clusterSteps: { fn: string; step: string }[];
  states: string[];
}

export async function runDr(s: DrScenario): Promise<DrRun> {
  const input = {
    incidentId: 'inc-events-site',
    cluster: 'events',
    dryRun: false,
    severity: 'SEV-1',
    incidentType: 'site-failure',
    ...s.input,
  };
  const store = new MemoryStore('inc-events-site', 'events', !input.dryRun);
  const dr = (endpoint: string, peer: string) => ({
    peer,
    hostedZoneId: ZONE_ID,
    recordName: 'kafka.example.com',
    ttl: 60,
    endpoint,
    bootstrapPort: 9092,
    automaticFailover: s.automatic ?? false,
    maxReplicationLagSeconds: 60,
  });
  const targets: ClusterTargetConfig[] = [
    { cluster: 'events', platform: 'ec2', clusterStepsFunction: CS_PRIMARY, dr: dr(PRIMARY_ENDPOINT, 'events-dr') },
    { cluster: 'events-dr', platform: 'ec2', clusterStepsFunction: CS_DR, dr: dr(DR_ENDPOINT, 'events') },
  ];
  const workflowSteps = makeWorkflowStepsHandler({
    ...storePieces(store),
    targets: () => targets,
    now: () => new Date(),
    diskCriticalPercent: 90,
  });
  const initial =
    s.recordValue === undefined ? (s.workflow === 'dr-failover' ? PRIMARY_ENDPOINT : DR_ENDPOINT) : s.recordValue;
  const zone = new LocalZone({
    file: join(mkdtempSync(join(tmpdir(), 'kh-dr-zone-')), 'zone.json'),
    hostedZoneId: ZONE_ID,
    zoneName: 'example.com',
    records: initial === null ? [] : [{ Name: RECORD, Type: 'CNAME', TTL: 60, ResourceRecords: [{ Value: initial }] }],
    propagationMs: 0,
    minPendingPolls: 2,
  });
  const clusterSteps: { fn: string; step: string }[] = [];
  let prerequisiteCalls = 0;
  const primaryProbes = s.primaryProbes ?? [s.workflow === 'dr-failover' ? 'down' : 'healthy'];
  let siteProbes = 0;
  const drStepsDouble = (fn: string, endpoint: string, cluster: string) => (payload: Json) => {
    const step = DrStepSchema.parse(payload);
    clusterSteps.push({ fn, step: step.step });
    if (step.cluster !== cluster) throw new Error(`${fn} reaches ${cluster}, not ${step.cluster}`);
    switch (step.step) {
      case 'dr-site-probe': {
        const found = primaryProbes[Math.min(siteProbes++, primaryProbes.length - 1)] ?? 'down';
        if (found === 'error') throw new TaskError('Lambda.Unknown', `${fn} timed out`);
        const judged = siteProbeVerdict({
          cluster,
          expect: step.expect,
          status: found,
          bootstrapReachable: found !== 'down',
        });
        return {
          step: step.step,
          ...judged,
          ...(s.probeVerdict ? { verdict: s.probeVerdict } : {}),
          status: found,
          at: new Date().toISOString(),
        };
      }
      case 'dr-prerequisites':
        if (prerequisiteCalls++ < (s.prerequisitesFailures ?? 0))
          throw new DrPrerequisitesNotMet(`${cluster} is not ready: replication lag 75.000 s exceeds the allowed 60 s`);
        return {
          step: step.step,
          ready: true,
          healthy: true,
          lagSeconds: 0.042,
          summary: `${cluster} is healthy and reachable, replication lag 0.042 s (max 60 s)`,
          at: new Date().toISOString(),
        };
      case 'dr-backup':
        return {
          step: step.step,
          topic: 'kafka-heal.dr-backups',
          key: step.incidentId,
          topics: 2,
          groups: 1,
          bytes: 512,
          summary: `2 topic configs and 1 consumer groups of ${cluster} backed up to kafka-heal.dr-backups key ${step.incidentId}`,
          at: new Date().toISOString(),
        };
      case 'dr-canary': {
        // As a client: what does the record lead to now?
        const value = zone.lookup(step.recordName, 'CNAME')?.ResourceRecords[0]?.Value;
        if (s.canaryBroken || value !== endpoint)
          throw new CanaryFailed(`${step.recordName} leads to ${value ?? 'nothing'}, expected ${endpoint}`);
        return {
          step: step.step,
          ok: true,
          clusterId: `id-${cluster}`,
          roundTripMs: 12,
          summary: `${step.recordName} leads to cluster id-${cluster}; the canary made the round trip`,
          at: new Date().toISOString(),
        };
      }
    }
  };
  const published: Json[] = [];
  const escalation = parseDefinition(
    readFileSync(ESCALATION_NOTIFY_ASL, 'utf8'),
    escalationNotifySubstitutions({
      criticalTopicArn: 'arn:aws:sns:eu-west-1:123456789012:critical',
      warningTopicArn: 'arn:aws:sns:eu-west-1:123456789012:warning',
    }),
  );
  const sns = (msg: Json) => {
    published.push(msg);
    return { MessageId: `m-${published.length}` };
  };
  const approval = approvalBinding({
    decide: () => s.approval ?? { decision: 'approved', by: 'oncall@example.com' },
    timeScale: 0.0001,
    ...watchApprovals(s.history),
  });
  const { registry, calls } = recordCalls({
    [RESOURCES.lambdaInvoke]: lambdaInvokeBinding({
      [DR_SUBSTITUTIONS.WorkflowStepsFunctionArn]: (p: Json) => workflowSteps(WorkflowStepSchema.parse(p)),
      [CS_DR]: drStepsDouble(CS_DR, DR_ENDPOINT, 'events-dr'),
      [CS_PRIMARY]: drStepsDouble(CS_PRIMARY, PRIMARY_ENDPOINT, 'events'),
    }),
    [APPROVAL_RESOURCE]: approval,
    ...route53Bindings(zone),
    [RESOURCES.snsPublish]: sns,
    [RESOURCES.startExecutionSync2]: startExecutionSyncBinding({
      [DR_SUBSTITUTIONS.EscalationStateMachineArn]: (childInput) =>
        runWorkflow({
          definition: escalation,
          input: childInput,
          timeScale: 0,
          bindings: { [RESOURCES.snsPublish]: sns },
        }),
    }),
  });
  const states: string[] = [];
  const result = await runWorkflow({
    definition: parseDefinition(aslText(s.workflow), DR_SUBSTITUTIONS),
    input: input as Json,
    bindings: registry,
    timeScale: 0.0005,
    ...watchRun(s.history),
    onEvent: (e) => {
      s.history?.event(e);
      if (e.type === 'StateEntered' && e.stateName) states.push(e.stateName);
    },
  });
  return { result, store, zone, calls, approvals: approval.requests, published, clusterSteps, states };
}

/** Calls that change something outside the incident record: DNS, cluster state, approvals, notices. */
export function mutatingCalls(run: DrRun): string[] {
  return run.calls
    .filter((c) => {
      if (
        c.resource.endsWith('route53:changeResourceRecordSets') ||
        c.resource === APPROVAL_RESOURCE ||
        c.resource === RESOURCES.snsPublish
      )
        return true;
      const p = c.input as { FunctionName?: string; Payload?: { step?: string } };
      return (
        c.resource === RESOURCES.lambdaInvoke &&
        p.FunctionName !== DR_SUBSTITUTIONS.WorkflowStepsFunctionArn &&
        p.Payload?.step !== 'dr-prerequisites' &&
        p.Payload?.step !== 'dr-site-probe'
      );
    })
    .map((c) => `${c.stateName}`);
}

export function recordValue(zone: LocalZone): string | undefined {
  return zone.lookup(RECORD, 'CNAME')?.ResourceRecords[0]?.Value;
}

export { TaskError };
