// The classifier's arbitration: once every signal of a batch is recorded, what happens to an
// incident, as a list of steps the classify handler carries out in order
// (functions/classify/handler.ts). Pure: the handler fetches the facts (the incident as it
// stands, the decision on it now, the run it has), runs the steps, and never decides itself.
//
//   decision on the incident now      incident's run          steps
//   ---------------------------------------------------------------------------------------------
//   differs from the recorded one     any                     note decision-revised, then below
//   ignore (suppressed, or nothing)   any                     hold back (close as suppressed when
//                                                             nothing works on an open incident)
//   wants the workflow already        its run for that        note workflow-already-running
//     running                           workflow
//   wants another workflow            another run             supersede the run; release the
//                                                             lock when the new decision escalates
//                                                             or is a dry run; start
//   anything else                     none                    start
import type { Decision, IncidentStatus, IncidentType, Workflow } from './types.js';

export interface ArbitrationFacts {
  incident: { id: string; type: IncidentType; status: IncidentStatus; executionArn?: string | undefined };
  /** The lead signal's decision, as recorded with it. */
  decided: Decision;
  /** The decision on the incident as it now stands, under the policy read afresh. */
  acting: Decision;
  /** The execution name this incident's current attempt gives a workflow (shared/runs.ts runName). */
  runNameOf: (workflow: Workflow) => string;
  /** Signals of the batch that touched the incident. */
  batchSize: number;
  /** Where the policy came from, in words (policy parameter and mode, or why a fallback). */
  policyNote: string;
}

export type ArbitrationStep =
  | {
      step: 'note';
      action: 'decision-revised' | 'workflow-already-running';
      detail: string;
      result: string;
      reasons?: string[];
    }
  | {
      step: 'hold-back';
      action: 'automatic-action-suppressed' | 'no-action';
      detail: string;
      /** The last reason, for the status change. */
      why: string;
      reasons: string[];
      /** Nothing works on the open incident: close it as suppressed, so its slot is free. */
      closeAsSuppressed: boolean;
    }
  | { step: 'supersede'; run: string; cause: string }
  | { step: 'release-lock'; reason: string }
  | { step: 'start'; decision: Exclude<Decision, { action: 'ignore' }> };

/** The workflow a decision starts; none for ignore. */
export function workflowOf(d: Decision): Workflow | undefined {
  if (d.action === 'escalate') return 'escalation';
  return d.action === 'ignore' ? undefined : d.plan.workflow;
}

function planOf(d: Decision): Workflow | undefined {
  return d.action === 'remediate' || d.action === 'await-approval' ? d.plan.workflow : undefined;
}

function planBrokers(d: Decision): string {
  return d.action === 'remediate' || d.action === 'await-approval' ? `[${d.plan.brokerIds.join(',')}]` : '';
}

/** The steps for one incident of the batch, in the order the handler carries them out. */
export function arbitrate(f: ArbitrationFacts): ArbitrationStep[] {
  const { incident, decided, acting } = f;
  const steps: ArbitrationStep[] = [];
  if (
    acting.action !== decided.action ||
    acting.incidentType !== decided.incidentType ||
    planOf(acting) !== planOf(decided) ||
    planBrokers(acting) !== planBrokers(decided)
  ) {
    steps.push({
      step: 'note',
      action: 'decision-revised',
      detail:
        `${decided.action} ${planOf(decided) ?? ''} ${planBrokers(decided)} -> ${acting.action} ${planOf(acting) ?? ''} ${planBrokers(acting)} on the incident as it now stands (${incident.type}, ${f.batchSize} signal(s) of this batch, ${f.policyNote})`.replace(
          / +/g,
          ' ',
        ),
      result: acting.action,
      reasons: acting.reasons,
    });
  }
  const running = incident.executionArn;
  if (acting.action === 'ignore') {
    const why = acting.reasons.at(-1) ?? 'no action';
    steps.push({
      step: 'hold-back',
      action: acting.suppressed ? 'automatic-action-suppressed' : 'no-action',
      detail: running ? `${why} (the running ${running} is left to finish)` : why,
      why,
      reasons: acting.reasons,
      closeAsSuppressed: !running && incident.status === 'open',
    });
    return steps;
  }
  const wanted = workflowOf(acting) as Workflow;
  if (running && running.endsWith(`:${f.runNameOf(wanted)}`)) {
    // The incident's workflow is already running; it reads the incident (brokers, type) as it goes.
    steps.push({
      step: 'note',
      action: 'workflow-already-running',
      detail: `${wanted} is already running for this incident (${running}); it picks up the incident as it now stands`,
      result: running,
    });
    return steps;
  }
  if (running) {
    // The grown incident needs another runbook: stop the one running first, so one incident (and
    // its cluster) never has two remediations at once; the new one re-probes as it starts.
    steps.push({
      step: 'supersede',
      run: running,
      cause: `incident ${incident.id} grew into ${acting.incidentType}; ${wanted} takes over`,
    });
    // The stopped run never reaches its Release Cluster Lock step. Handed to people (or to a dry
    // run) the incident no longer remediates, so it frees the cluster's lock itself; otherwise the
    // next incident on the cluster (a site failure after its brokers' cascade) finds the lock held
    // for its whole TTL and escalates instead of running its own runbook.
    if (acting.action === 'escalate' || acting.plan.dryRun)
      steps.push({ step: 'release-lock', reason: 'the superseded run no longer remediates' });
  }
  steps.push({ step: 'start', decision: acting });
  return steps;
}
