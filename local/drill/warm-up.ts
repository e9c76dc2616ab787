// DynamoDB Local is a JVM: the first call of each kind runs cold (class loading, interpreted
// code). Measured on the shared 2-core machine: 1.0 s for the first listOpen + recentHeals and
// 0.5 s for the first conditional put, against 15-100 ms warm. A drill's first incident paid that
// for every kind of call between the alarm and the workflow start (classify: reads, the signal's
// transaction, timeline, lock, execution, status), a cost DynamoDB in AWS does not have. So before
// the baseline the drill runs the incident store's own calls once, through the real IncidentStore,
// on a scratch table it then deletes: nothing of the drill's table or timing is touched.
import { DeleteTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { classify } from '#domain/classify.js';
import { correlate } from '#domain/correlate.js';
import { DEFAULT_POLICY } from '#domain/policy.js';
import type { Signal } from '#domain/types.js';
import { documentClient } from '#shared/clients.js';
import { ACTIVE_STATUSES, IncidentStore } from '#tools/incident-store.js';
import { createIncidentTable } from '../dynamodb-local.js';

/** Runs every incident-store call the healer makes once on a scratch table; returns the milliseconds it took. */
export async function warmIncidentStore(client: DynamoDBClient): Promise<number> {
  const started = Date.now();
  const tableName = `kafka-heal-warm-up-${started}`;
  await createIncidentTable(client, tableName);
  try {
    const store = new IncidentStore({ client: documentClient(client), tableName });
    const now = new Date();
    const cluster = 'warm-up';
    const signal: Signal = {
      id: `sig-warm-up-${started}`,
      source: 'cloudwatch',
      cluster,
      kind: 'broker-down',
      brokerIds: [1],
      state: 'firing',
      observedAt: now.toISOString(),
      name: 'warm-up',
      fingerprint: 'warm-up',
      labels: {},
    };
    const [open, recentHeals] = await Promise.all([
      store.listOpen(cluster),
      store.recentHeals(cluster, new Date(now.getTime() - 3_600_000)),
    ]);
    const decision = classify({
      signal,
      cluster: undefined,
      openIncidents: open,
      recentHeals,
      policy: DEFAULT_POLICY,
      now,
    });
    const recorded = await store.recordSignal(
      signal,
      decision,
      correlate(signal, decision, open, DEFAULT_POLICY, now),
      (o) => correlate(signal, decision, o, DEFAULT_POLICY, now),
    );
    if (recorded.outcome === 'duplicate') return Date.now() - started;
    const id = recorded.incident.id;
    await store.acquireLock(cluster, id, 60);
    await store.setExecution(id, `arn:aws:states:local:000000000000:execution:warm-up:${id}`);
    await store.appendTimeline(id, { actor: 'warm-up', action: 'warm-up', detail: 'scratch table' });
    await store.setStatus(id, 'remediating', ACTIVE_STATUSES, { actor: 'warm-up' });
    await store.markSignalActed(signal.id);
    await store.recordHeal(id, {
      cluster,
      type: recorded.incident.type,
      brokerIds: [1],
      finishedAt: new Date().toISOString(),
    });
    await store.setStatus(id, 'resolved', ACTIVE_STATUSES, { actor: 'warm-up' });
    await store.releaseLock(cluster, id);
    await store.get(id);
    return Date.now() - started;
  } finally {
    await client.send(new DeleteTableCommand({ TableName: tableName }));
  }
}
