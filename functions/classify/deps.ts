// The classify Lambda's dependencies and the pieces every step of it shares: the signal parser,
// the runtime policy lookup and what a recorded signal leaves to act on.
import type { SFNClient } from '@aws-sdk/client-sfn';
import type { ClusterFacts, Decision, HealRecord, Signal } from '../domain/types.js';
import { InputValidationError } from '../shared/errors.js';
import {
  LOCK_TTL_SECONDS,
  type ClusterLock,
  type HealHistory,
  type IncidentRepo,
  type RawInbox,
  type SignalLedger,
  type Timeline,
} from '../shared/store/index.js';
import type { IncidentNotification, NotifyResult } from '../shared/notify.js';
import { unconfiguredPolicy, type LoadedPolicy, type PolicySource } from '../shared/policy-source.js';
import { signalSchema } from '../shared/schemas.js';

/** A remediation holds its cluster's lock at most this long unless the workflow renews it (LOCK_TTL_SECONDS). */
export const DEFAULT_LOCK_TTL_SECONDS = LOCK_TTL_SECONDS;

/** The incident store's pieces the classifier uses, each narrowed to its calls. */
export interface ClassifyStore {
  incidents: Pick<
    IncidentRepo,
    'listOpen' | 'listRecentlyResolved' | 'get' | 'recordSignal' | 'setExecution' | 'setStatus' | 'claimRenotify'
  >;
  timeline: Pick<Timeline, 'appendTimeline'>;
  signals: Pick<SignalLedger, 'markSignalActed'>;
  lock: Pick<ClusterLock, 'acquireLock' | 'getLock' | 'releaseLock' | 'designateRun' | 'fenceRun'>;
  heals: Pick<HealHistory, 'recentHeals'>;
  rawInbox: Pick<RawInbox, 'storeRaw'>;
}

export interface ClassifyDeps extends ClassifyStore {
  sfn: SFNClient;
  policies: PolicySource;
  clusters: ClusterFacts[];
  /** Where WORKFLOW_ARN_<WORKFLOW> are read from. */
  workflowArns: Record<string, string | undefined>;
  now: () => Date;
  lockTtlSeconds?: number;
  /** The notification chain (PagerDuty, SNS, retry queue): re-notifies an escalated incident's owner. */
  notify?: (n: IncidentNotification) => Promise<NotifyResult>;
}

export function parseSignal(body: string): Signal {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch (err) {
    throw new InputValidationError(`signal message is not JSON: ${(err as Error).message}`, [
      { path: '(body)', message: 'not JSON' },
    ]);
  }
  const parsed = signalSchema.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => ({
      path: i.path.map(String).join('.') || '(signal)',
      message: i.message,
    }));
    throw new InputValidationError(
      `signal message is not a Signal: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`,
      issues,
    );
  }
  return parsed.data;
}

export function policyNote(loaded: LoadedPolicy): string {
  return loaded.problem ?? `policy ${loaded.parameterName}: mode ${loaded.policy.mode}`;
}

/**
 * A signal whose incident this batch opened or grew, or whose first delivery did not finish
 * acting. Acting waits until every signal of the batch is recorded, so one decision per incident
 * is taken on the incident as the whole batch (and any concurrent classifier) left it.
 */
export interface Pending {
  incidentId: string;
  signal: Signal;
  /** The signal's own decision, as recorded with it. */
  decision: Decision;
  recentHeals: HealRecord[];
  messageId: string;
}

/** The cluster's runtime policy; nothing is read for a cluster the deployment does not watch (unconfiguredPolicy). */
export function policyOf(cluster: string, deps: ClassifyDeps, fresh = false): Promise<LoadedPolicy> {
  if (!deps.clusters.some((c) => c.name === cluster)) return Promise.resolve(unconfiguredPolicy(cluster));
  return deps.policies.get(cluster, fresh ? { fresh } : undefined);
}
