// From a configured cluster (functions/contracts/clusters-file.ts) to what the probe library needs
// to reach it: probe options and the listener's security loader (secrets read at run time from
// Secrets Manager, cached per container). Shared by the probe and the cluster steps.
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { ConsumerGroupWatch, ProbeOptions } from '@kafka-heal/probe';
import type { ProbeClusterConfig } from '../contracts/clusters-file.js';
import { SecretCache, securityLoader, type SecurityLoader } from './kafka-security.js';

export function probeOptionsFor(c: ProbeClusterConfig, timeoutMs: number): ProbeOptions {
  const servers = typeof c.bootstrapServers === 'string' ? c.bootstrapServers.split(',') : c.bootstrapServers;
  const groups: ConsumerGroupWatch[] = (c.consumerGroups ?? []).map((g) =>
    typeof g === 'string' ? { group: g } : { group: g.name, ...(g.topics ? { topics: g.topics } : {}) },
  );
  const opts: ProbeOptions = { bootstrapServers: servers.map((s) => s.trim()), consumerGroups: groups, timeoutMs };
  if (c.brokerCount !== undefined) opts.expectedBrokers = c.brokerCount;
  if (c.metadataMode !== undefined) opts.metadataMode = c.metadataMode;
  return opts;
}

/** Secrets are read at run time and kept in this module for SECRET_TTL_MS (one cache per container). */
let secretCache: SecretCache | undefined;
const loaders = new Map<string, SecurityLoader | undefined>();

/** The security loader of a configured cluster, one per cluster per container (its token caches live in it). */
export function clusterSecurity(c: ProbeClusterConfig): SecurityLoader | undefined {
  if (!loaders.has(c.name))
    loaders.set(c.name, securityLoader(c.security, (secretCache ??= new SecretCache(new SecretsManagerClient({})))));
  return loaders.get(c.name);
}
