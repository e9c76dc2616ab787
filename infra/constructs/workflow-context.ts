// What the workflow constructs share, passed as one object instead of the same props to each:
// the deployment and its clusters, the incident table, and what their definitions call besides
// their own step Lambdas (the escalation-notify workflow, the approval request Lambda, the
// operators' topic). RecoveryWorkflows is built from a WorkflowContext; the workflows built on its
// step Lambdas and ssm-run take a RecoveryContext, the same context with that construct in it.
//
// The helpers below bind the shared placeholders with a WorkflowBinder: each returns the value
// of one ${Placeholder} and grants the IAM that makes it callable, in one call.
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import type { ClusterConfig } from '../config/schema.js';
import type { RecoveryWorkflows } from './recovery-workflows.js';
import type { NestedWorkflow, WorkflowBinder } from './workflows.js';

export interface WorkflowContext {
  deployment: string;
  clusters: ClusterConfig[];
  table: ITable;
  /** escalation-notify: the nested run a workflow hands an incident to when it escalates. */
  escalation: NestedWorkflow;
  /** The approval request Lambda: a workflow asks a person through it (lambda:invoke.waitForTaskToken). */
  approvalFunction: IFunction;
  /** Where "clients moved" notices go (the DR workflows): the operators' critical topic. */
  notificationTopic: ITopic;
}

/** The context of the workflows that reuse the recovery workflows' step Lambdas and ssm-run. */
export interface RecoveryContext extends WorkflowContext {
  recovery: RecoveryWorkflows;
}

/** ${EscalationStateMachineArn}: escalation-notify, run nested (.sync:2). */
export function escalationArn(ctx: WorkflowContext, bind: WorkflowBinder): string {
  return bind.nested(ctx.escalation);
}

/** ${ApprovalFunctionArn}: the approval request Lambda, invoked with a task token. */
export function approvalArn(ctx: WorkflowContext, bind: WorkflowBinder): string {
  return bind.lambda(ctx.approvalFunction, 'the approval request function');
}

/** ${NotificationTopicArn}: the operators' critical topic, published to. */
export function notificationTopicArn(ctx: WorkflowContext, bind: WorkflowBinder): string {
  return bind.topic(ctx.notificationTopic);
}
