// The two DR workflows come from one definition, statemachines/dr-switch.asl.json: the steps,
// safety checks and paths are the same, only the direction and what it names differ. The values
// below are substituted when the definition is rendered (at synth, in the tests and in the local
// runtime alike); the deploy-time ${Placeholders} (ARNs, the partition) stay for
// definitionSubstitutions. The false-alarm path is in both: only a failover's probe (its
// target.site.expect is `unreachable`) can reach it.

import type { DrWorkflow } from '#functions/workflow-steps/dr-target.js';

export const DR_SWITCH_TEMPLATE = 'dr-switch';

/** What each direction substitutes into dr-switch.asl.json. */
export const DR_DIRECTIONS: Record<DrWorkflow, Record<string, string>> = {
  'dr-failover': {
    DrWorkflow: 'dr-failover',
    DrSwitch: 'failover',
    DrTakingCluster: 'the DR cluster',
    DrConfirmation:
      'Confirm the primary down first, whatever the policy says: 3 consecutive probes from inside its VPC, 10 s apart, that find no broker answering (a healthy answer resolves the incident as a false alarm and pages; any other answer escalates)',
    DrExpected: 'no broker answering',
    DrConfirmChoice: 'Is Primary Down',
    DrConfirmedState: 'Record Primary Down Confirmed',
    DrConfirmedAction: 'primary-down-confirmed',
    DrNotConfirmedState: 'Primary Still Answers',
    DrDoneState: 'Clients On Standby',
  },
  'dr-failback': {
    DrWorkflow: 'dr-failback',
    DrSwitch: 'failback',
    DrTakingCluster: 'the primary cluster',
    DrConfirmation:
      'Confirm the primary healthy first, whatever the policy says: 3 consecutive healthy answers to probes from inside its VPC, 10 s apart (anything else escalates)',
    DrExpected: 'a healthy answer',
    DrConfirmChoice: 'Is Primary Healthy',
    DrConfirmedState: 'Record Primary Up Confirmed',
    DrConfirmedAction: 'primary-up-confirmed',
    DrNotConfirmedState: 'Primary Not Stable',
    DrDoneState: 'Clients Back On Primary',
  },
};
