import { describe, expect, it } from 'vitest';
import { correlate } from '../../../functions/domain/correlate.js';
import type { Decision, OpenIncident, Severity, IncidentType } from '../../../functions/domain/types.js';
import { AUTO, NOW, ago, signal } from './fixtures.js';

function incident(over: Partial<OpenIncident> = {}): OpenIncident {
  return {
    id: 'inc-brokers',
    cluster: 'payments',
    type: 'broker-failure',
    severity: 'SEV-2',
    status: 'remediating',
    brokers: [{ id: 1, firstSeenAt: ago(60_000) }],
    openedAt: ago(60_000),
    fingerprints: ['fp-broker-1'],
    ...over,
  };
}

function decision(incidentType: IncidentType, severity: Severity = 'SEV-2'): Decision {
  return { action: 'escalate', incidentType, severity, page: false, reasons: [] };
}

describe('correlate', () => {
  it('no open incident -> new', () => {
    expect(correlate(signal(), decision('broker-failure'), [], AUTO, NOW)).toEqual({ kind: 'new' });
  });

  it('a known fingerprint joins its incident (redelivery, re-fire)', () => {
    const inc = incident({ id: 'inc-disk', type: 'disk-pressure', brokers: [], fingerprints: ['fp-1'] });
    expect(correlate(signal({ fingerprint: 'fp-1' }), decision('broker-failure'), [inc], AUTO, NOW)).toEqual({ kind: 'join', incidentId: 'inc-disk' });
  });

  it('resolved incidents and other clusters are never joined', () => {
    const open = [incident({ status: 'resolved', fingerprints: ['fp-1'] }), incident({ id: 'other', cluster: 'orders', fingerprints: ['fp-1'] })];
    expect(correlate(signal({ fingerprint: 'fp-1' }), decision('broker-failure'), open, AUTO, NOW)).toEqual({ kind: 'new' });
  });

  it('the same broker failing again joins the broker incident', () => {
    expect(correlate(signal({ brokerIds: [1] }), decision('broker-failure'), [incident()], AUTO, NOW)).toEqual({ kind: 'join', incidentId: 'inc-brokers' });
  });

  it('a second distinct broker within the cascade window upgrades to cascade-failure at SEV-1', () => {
    expect(correlate(signal({ brokerIds: [2] }), decision('broker-failure'), [incident()], AUTO, NOW)).toEqual({
      kind: 'upgrade',
      incidentId: 'inc-brokers',
      to: 'cascade-failure',
      severity: 'SEV-1',
    });
  });

  it('cascade window edge: first seen exactly 300 s ago upgrades, 300.001 s ago joins', () => {
    const at = (ms: number) => correlate(signal({ brokerIds: [2] }), decision('broker-failure'), [incident({ brokers: [{ id: 1, firstSeenAt: ago(ms) }] })], AUTO, NOW);
    expect(at(300_000)).toMatchObject({ kind: 'upgrade', to: 'cascade-failure' });
    expect(at(300_001)).toEqual({ kind: 'join', incidentId: 'inc-brokers' });
  });

  it('an open cascade absorbs more brokers; its severity rises only when the decision is worse', () => {
    const cascade = incident({ type: 'cascade-failure', severity: 'SEV-2' });
    expect(correlate(signal({ brokerIds: [3] }), decision('cascade-failure', 'SEV-1'), [cascade], AUTO, NOW)).toEqual({
      kind: 'upgrade',
      incidentId: 'inc-brokers',
      to: 'cascade-failure',
      severity: 'SEV-1',
    });
    expect(correlate(signal({ brokerIds: [3] }), decision('cascade-failure', 'SEV-3'), [cascade], AUTO, NOW)).toEqual({ kind: 'join', incidentId: 'inc-brokers' });
  });

  it('a broker-failure decision joins an open cascade', () => {
    expect(correlate(signal({ brokerIds: [1] }), decision('broker-failure', 'SEV-2'), [incident({ type: 'cascade-failure', severity: 'SEV-1' })], AUTO, NOW)).toEqual({
      kind: 'join',
      incidentId: 'inc-brokers',
    });
  });

  it('same incident type joins; a worse severity upgrades in place', () => {
    const lag = incident({ id: 'inc-lag', type: 'consumer-lag', severity: 'SEV-3', brokers: [] });
    const s = signal({ kind: 'consumer-lag', brokerIds: [], fingerprint: 'fp-lag-2' });
    expect(correlate(s, decision('consumer-lag', 'SEV-3'), [lag], AUTO, NOW)).toEqual({ kind: 'join', incidentId: 'inc-lag' });
    expect(correlate(s, decision('consumer-lag', 'SEV-1'), [lag], AUTO, NOW)).toEqual({ kind: 'upgrade', incidentId: 'inc-lag', to: 'consumer-lag', severity: 'SEV-1' });
  });

  it('a different fault on a broker of an open incident joins it (same broker)', () => {
    const s = signal({ kind: 'disk-usage', brokerIds: [1], fingerprint: 'fp-disk' });
    expect(correlate(s, decision('disk-pressure'), [incident()], AUTO, NOW)).toEqual({ kind: 'join', incidentId: 'inc-brokers' });
    expect(correlate({ ...s, brokerIds: [4] }, decision('disk-pressure'), [incident()], AUTO, NOW)).toEqual({ kind: 'new' });
  });

  it('a more severe fault on the broker of a quieter incident takes the incident over', () => {
    const disk = incident({ id: 'inc-disk', type: 'disk-pressure', severity: 'SEV-3', brokers: [{ id: 1, firstSeenAt: ago(0) }] });
    expect(correlate(signal({ brokerIds: [1] }), decision('broker-failure', 'SEV-2'), [disk], AUTO, NOW)).toEqual({
      kind: 'upgrade',
      incidentId: 'inc-disk',
      to: 'broker-failure',
      severity: 'SEV-2',
    });
    expect(correlate(signal({ brokerIds: [1] }), decision('broker-failure', 'SEV-3'), [disk], AUTO, NOW)).toEqual({ kind: 'join', incidentId: 'inc-disk' });
  });
});
