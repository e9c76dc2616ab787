// No approval link in any execution history. Every workflow that asks a person (every ASL file with
// an approval state) runs on the local runtime until it has asked, with the real approval request
// Lambda behind its approval states (real signing key, real links sent to a notification double),
// and everything Step Functions would keep in the execution history is scanned: the execution's
// input and output, every state's input and output, and the request Lambda's response (kept as the
// TaskSubmitted output of a waitForTaskToken state). The links are in the notifications (the
// positive control: the scan would find them), never in the history.
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { staticSigningKey } from '#functions/approvals/links.js';
import { makeApprovalRequestHandler } from '#functions/approvals/request.js';
import { APPROVAL_RESOURCE_TEMPLATE, ApprovalRequestSchema } from '#functions/approvals/schema.js';
import type { ClusterSnapshot } from '#domain/snapshot.js';
import type { IncidentWithTimeline } from '#tools/incident-store.js';
import type { IncidentNotification } from '#shared/notify.js';
import { definitionText, workflowNames } from '#infra/constructs/workflows.js';
import type { Json, RunEvent } from '#local/stepfunctions/index.js';
import { runCascade } from './cascade-fixtures.js';
import { runDr } from './dr-fixtures.js';
import { QUORUM_SUBSTITUTIONS, runH4 } from './lag-quorum-fixtures.js';
import { SNAPSHOTS, SUBSTITUTIONS, diagnosisLine, ok, runScenario, type HistoryWatch } from './recovery-fixtures.js';

const BASE_URL = 'https://approvals.example.net/v1';

/** The real request handler with a fresh key; what it returned and what it sent to people. */
function watch() {
  const events: RunEvent[] = [];
  const submitted: unknown[] = [];
  const sent: IncidentNotification[] = [];
  const at = '2026-11-22T05:00:00.000Z';
  const handler = makeApprovalRequestHandler({
    approvals: { create: async () => undefined },
    incidents: {
      get: async (id) =>
        ({
          id,
          cluster: 'orders',
          type: 'broker-failure',
          severity: 'SEV-1',
          status: 'remediating',
          brokers: [],
          openedAt: at,
          fingerprints: [],
          signalCount: 1,
          detectedAt: at,
          lastSignalAt: at,
          version: 1,
          timeline: [],
        }) as IncidentWithTimeline,
      setStatus: async () => ({}) as never,
      markPaged: async () => undefined,
    },
    timeline: { appendTimeline: async (_id, e) => ({ at, ...e }) },
    signingKey: staticSigningKey(randomBytes(32)),
    notify: async (n) => {
      sent.push(n);
      return { delivered: true, via: 'pagerduty', attempts: [] };
    },
    baseUrl: BASE_URL,
    now: () => new Date(),
  });
  const history: HistoryWatch = {
    request: async (payload: Json) => {
      const out = await handler(ApprovalRequestSchema.parse(payload));
      submitted.push(out);
      return out;
    },
    event: (e) => events.push(e),
  };
  return { history, events, submitted, sent };
}

const crashed = [SNAPSHOTS.brokerTwoCrashed, SNAPSHOTS.brokerTwoCrashed, SNAPSHOTS.healthy];
const restarted = ok(
  '{"result":"restarted","pid":4242,"previousPid":0,"service":"kafka","listenerPort":9092,"waitedSeconds":7}\n',
);
const zkSplitBrain = () =>
  ({ ...SNAPSHOTS.brokerTwoCrashed(), controller: { id: null, known: false, note: 'ZooKeeper' } }) as ClusterSnapshot;
const zk = (result: string) => ok(`${result}\n`);

/** A run of each workflow that asks a person, with the watch in place. */
const RUNS: Record<string, (history: HistoryWatch) => Promise<unknown>> = {
  'broker-recovery': (history) =>
    runScenario({
      workflow: 'broker-recovery',
      input: { action: 'await-approval', severity: 'SEV-1' },
      probes: crashed,
      commands: {
        [SUBSTITUTIONS.DiagnoseDocumentName]: ok(diagnosisLine()),
        [SUBSTITUTIONS.RestartDocumentName]: restarted,
      },
      incidentStatus: 'awaiting-approval',
      history,
    }),
  'msk-broker-recovery': (history) =>
    runScenario({
      workflow: 'msk-broker-recovery',
      input: { action: 'await-approval', severity: 'SEV-1' },
      probes: crashed,
      incidentStatus: 'awaiting-approval',
      history,
    }),
  'cascade-recovery': (history) => runCascade({ brokerIds: [1, 2, 3], down: [2, 3], history }),
  'quorum-recovery': (history) =>
    runH4({
      workflow: 'quorum-recovery',
      probes: [zkSplitBrain],
      commands: {
        [QUORUM_SUBSTITUTIONS.StopDocumentName]: zk(
          '{"result":"stopped","forced":false,"pid":4242,"service":"kafka","waitedSeconds":3}',
        ),
        [QUORUM_SUBSTITUTIONS.BackupDocumentName]: zk(
          '{"result":"backed-up","mode":"zookeeper","path":"/var/backups/kafka-heal/a.tar.gz","sha256":"00","bytes":10,"entries":3,"changedWhileReading":false}',
        ),
        [QUORUM_SUBSTITUTIONS.RestartDocumentName]: restarted,
      },
      history,
    }),
  'dr-failover': (history) => runDr({ workflow: 'dr-failover', history }),
  'dr-failback': (history) => runDr({ workflow: 'dr-failback', history }),
};

/** Workflows whose definition has an approval state: every one must be in RUNS. */
const ASKING = workflowNames().filter((w) => definitionText(w).includes(APPROVAL_RESOURCE_TEMPLATE));

describe('no approval link in any execution history', () => {
  it('every workflow with an approval state is run here', () => {
    expect(ASKING).toEqual(Object.keys(RUNS).sort());
  });

  it.each(ASKING)(
    '%s: the links reach people; the history holds the approval id only, no URL, no signature',
    async (workflow) => {
      const w = watch();
      await RUNS[workflow]?.(w.history);
      // The approval was asked and its links went to people (what the scan below must not find).
      expect(w.sent.length).toBeGreaterThan(0);
      const links = w.sent.flatMap((n) => [n.details?.approve, n.details?.reject]).map(String);
      for (const link of links)
        expect(link).toMatch(
          new RegExp(
            `^${BASE_URL.replace(/\./g, '\\.')}/approvals/[A-Za-z0-9_-]{22}\\?decision=(approve|reject)&expires=\\d+&sig=[A-Za-z0-9_-]{43}$`,
          ),
        );
      const signatures = links.map((l) => new URL(l).searchParams.get('sig') as string);
      // What the request Lambda returned: exactly the id (Step Functions keeps it as TaskSubmitted output).
      expect(w.submitted).toEqual(w.sent.map((n) => ({ approvalId: n.details?.approvalId })));
      // Every input and output the history would show, with the executions' own.
      const withData = w.events.filter((e) => e.input !== undefined || e.output !== undefined);
      expect(withData.length).toBeGreaterThan(10);
      const history = JSON.stringify([w.events, w.submitted]);
      expect(history).toContain(String(w.sent[0]?.details?.approvalId));
      expect(history).not.toMatch(/https?:\/\//);
      expect(history).not.toContain('sig=');
      for (const sig of signatures) expect(history).not.toContain(sig);
    },
  );
});
