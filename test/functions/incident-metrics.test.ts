// The incident metrics handler: one Query per configured cluster, the OpenIncidents gauge per
// severity and AwaitingApproval, as EMF documents with the names and dimensions the dashboard reads.
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { OpenIncident } from '#domain/types.js';
import { handler, publishIncidentMetrics } from '#functions/incident-metrics/handler.js';
import { metrics } from '#shared/powertools.js';
import { storePieces } from '../support/store-pieces.js';

interface Emf {
  _aws: { CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string }[] }[] };
  [k: string]: unknown;
}

function captureEmf(): { docs: Emf[]; restore: () => void } {
  const docs: Emf[] = [];
  // Powertools writes EMF to stdout through its own Console, one JSON document a line.
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: unknown) => {
    for (const line of String(chunk).split('\n')) if (line.includes('"_aws"')) docs.push(JSON.parse(line) as Emf);
    return true;
  });
  return { docs, restore: () => spy.mockRestore() };
}

const incident = (
  cluster: string,
  severity: OpenIncident['severity'],
  status: OpenIncident['status'],
): OpenIncident => ({
  id: `${cluster}-${severity}-${status}`,
  cluster,
  type: 'broker-failure',
  severity,
  status,
  brokers: [],
  openedAt: '2026-11-22T02:00:00.000Z',
  fingerprints: [],
});

afterEach(() => vi.restoreAllMocks());

describe('incident metrics', () => {
  it('queries every configured cluster and publishes the gauges per severity', async () => {
    const asked: string[] = [];
    const store = {
      listOpen: async (cluster: string) => {
        asked.push(cluster);
        return cluster === 'orders'
          ? [incident('orders', 'SEV-1', 'awaiting-approval'), incident('orders', 'SEV-2', 'remediating')]
          : [incident('payments', 'SEV-2', 'open')];
      },
    };
    const emf = captureEmf();
    try {
      const counts = await publishIncidentMetrics({ ...storePieces(store), clusters: ['orders', 'payments'] });
      metrics.publishStoredMetrics();
      expect(asked).toEqual(['orders', 'payments']);
      expect(counts).toEqual({
        bySeverity: { 'SEV-1': 1, 'SEV-2': 2, 'SEV-3': 0, 'SEV-4': 0 },
        awaitingApproval: 1,
        total: 3,
      });
    } finally {
      emf.restore();
    }
    const gauges = emf.docs.filter((d) => d._aws.CloudWatchMetrics[0]?.Metrics.some((m) => m.Name === 'OpenIncidents'));
    expect(gauges.map((d) => [d.Severity, d.OpenIncidents])).toEqual([
      ['SEV-1', 1],
      ['SEV-2', 2],
      ['SEV-3', 0],
      ['SEV-4', 0],
    ]);
    for (const g of gauges) {
      expect(g._aws.CloudWatchMetrics[0]?.Namespace).toBe('KafkaHeal');
      expect(g._aws.CloudWatchMetrics[0]?.Dimensions).toEqual([['service', 'Severity']]);
    }
    const awaiting = emf.docs.find((d) => d.AwaitingApproval !== undefined);
    expect(awaiting?.AwaitingApproval).toBe(1);
    expect(awaiting?._aws.CloudWatchMetrics[0]?.Dimensions).toEqual([['service']]);
  });

  it('fails the invocation when the environment names no cluster file (the schedule retries next time)', async () => {
    vi.stubEnv('CLUSTERS_FILE', '');
    vi.stubEnv('INCIDENT_TABLE_NAME', 'incidents');
    await expect(handler({}, { functionName: 'f', awsRequestId: 'r' } as never)).rejects.toThrow(
      'environment variable CLUSTERS_FILE is not set',
    );
    vi.unstubAllEnvs();
  });
});
