// Shared test inputs for the domain tests: cluster facts, a policy and a signal builder.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { DEFAULT_POLICY } from '#domain/policy.js';
import type { ClusterFacts, RuntimePolicy, Signal } from '#domain/types.js';

export const FIXTURES = fileURLToPath(new URL('../../fixtures/events/', import.meta.url));

export function loadEvent(name: string): Record<string, unknown> {
  return JSON.parse(readFileSync(`${FIXTURES}${name}`, 'utf8')) as Record<string, unknown>;
}

export const ORDERS: ClusterFacts = {
  name: 'orders',
  aliases: ['orders-msk'],
  platform: 'msk',
  metadataMode: 'kraft',
  brokerCount: 3,
  hasDr: false,
  automaticFailover: false,
};

export const PAYMENTS: ClusterFacts = {
  name: 'payments',
  aliases: [],
  platform: 'ec2',
  metadataMode: 'zookeeper',
  brokerCount: 10,
  hasDr: true,
  automaticFailover: false,
};

export const CLUSTERS = [ORDERS, PAYMENTS];

export const AUTO: RuntimePolicy = { ...DEFAULT_POLICY, mode: 'auto' };

export function signal(over: Partial<Signal> = {}): Signal {
  return {
    id: 'sig-test',
    source: 'probe',
    cluster: 'payments',
    kind: 'broker-down',
    brokerIds: [1],
    state: 'firing',
    observedAt: '2026-11-22T02:00:00.000Z',
    name: 'probe:broker-down',
    fingerprint: 'fp-1',
    labels: {},
    ...over,
  };
}

export const NOW = new Date('2026-11-22T02:00:00.000Z');

/** An ISO time `ms` milliseconds before NOW. */
export function ago(ms: number): string {
  return new Date(NOW.getTime() - ms).toISOString();
}
