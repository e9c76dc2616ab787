// Reading handler configuration from the environment, with typed errors naming the variable.
import * as z from 'zod';
import { NO_ROUTING, type AlertRouting } from '../domain/normalize/alert-names.js';
import { SIGNAL_KINDS, type ClusterFacts } from '../domain/types.js';
import { readBundledFile } from './bundled-file.js';
import { ConfigurationError } from './errors.js';

export function requireEnv(name: string, env: NodeJS.ProcessEnv = process.env): string {
  const value = env[name];
  if (value === undefined || value === '') throw new ConfigurationError(`environment variable ${name} is not set`);
  return value;
}

const clusterFactsSchema = z.array(
  z.object({
    name: z.string().min(1),
    aliases: z.array(z.string()).default([]),
    platform: z.enum(['msk', 'ec2']),
    metadataMode: z.enum(['kraft', 'zookeeper']),
    brokerCount: z.number().int().positive(),
    hasDr: z.boolean().default(false),
    automaticFailover: z.boolean().default(false),
  }),
);

/** The file of cluster facts the stack bundles with a function (CLUSTERS_FILE; infra/stacks/healer-stack.ts). */
export const CLUSTERS_FILE = 'CLUSTERS_FILE';

/** ClusterFacts[] from the bundled file CLUSTERS_FILE names (written by the CDK stack from the config file). */
export function clustersFromEnv(env: NodeJS.ProcessEnv = process.env): ClusterFacts[] {
  return parseClusterFacts(readBundledFile(CLUSTERS_FILE, env));
}

export function parseClusterFacts(text: string): ClusterFacts[] {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new ConfigurationError(`${CLUSTERS_FILE}: the file is not valid JSON`);
  }
  const parsed = clusterFactsSchema.safeParse(json);
  if (!parsed.success) {
    throw new ConfigurationError(
      `${CLUSTERS_FILE}: not a ClusterFacts[]: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    );
  }
  return parsed.data;
}

const alertRoutingSchema = z.strictObject({
  kinds: z.record(z.string(), z.enum(SIGNAL_KINDS)),
  brokerLabel: z.string().min(1).optional(),
  clusterLabel: z.string().min(1).optional(),
  brokerHosts: z.record(z.string(), z.record(z.string(), z.number().int().nonnegative())),
});

/** The file of Alertmanager routing the stack bundles with ingest and the webhook (infra/stacks/healer-stack.ts). */
export const ALERT_ROUTING_FILE = 'ALERT_ROUTING_FILE';

/**
 * AlertRouting from the bundled file ALERT_ROUTING_FILE names (written by the CDK stack from the
 * config's alertmanager section and broker hosts; infra/config/schema.ts alertRouting): a file,
 * since broker hosts grow with the brokers and Lambda's environment stops at 4 KB. Unset: no
 * configured names, labels or hosts, the built-in ones still apply.
 */
export function alertRoutingFromEnv(env: NodeJS.ProcessEnv = process.env): AlertRouting {
  if (env[ALERT_ROUTING_FILE] === undefined || env[ALERT_ROUTING_FILE] === '') return NO_ROUTING;
  return parseAlertRouting(readBundledFile(ALERT_ROUTING_FILE, env));
}

export function parseAlertRouting(text: string): AlertRouting {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new ConfigurationError(`${ALERT_ROUTING_FILE}: the file is not valid JSON`);
  }
  const parsed = alertRoutingSchema.safeParse(json);
  if (!parsed.success) {
    throw new ConfigurationError(
      `${ALERT_ROUTING_FILE}: not an AlertRouting: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`,
    );
  }
  const { brokerLabel, clusterLabel, ...rest } = parsed.data;
  return {
    ...rest,
    ...(brokerLabel !== undefined ? { brokerLabel } : {}),
    ...(clusterLabel !== undefined ? { clusterLabel } : {}),
  };
}
