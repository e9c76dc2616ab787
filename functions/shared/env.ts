// Reading handler configuration from the environment, with typed errors naming the variable.
import * as z from 'zod';
import { NO_ROUTING, type AlertRouting } from '../domain/normalize/alert-names.js';
import { SIGNAL_KINDS, type ClusterFacts } from '../domain/types.js';
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

/** ClusterFacts[] from CLUSTERS_JSON (written by the CDK stack from the config file). */
export function clustersFromEnv(env: NodeJS.ProcessEnv = process.env): ClusterFacts[] {
  const text = requireEnv('CLUSTERS_JSON', env);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new ConfigurationError('CLUSTERS_JSON is not valid JSON');
  }
  const parsed = clusterFactsSchema.safeParse(json);
  if (!parsed.success) {
    throw new ConfigurationError(
      `CLUSTERS_JSON is not a ClusterFacts[]: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
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

/**
 * AlertRouting from ALERT_ROUTING_JSON (written by the CDK stack from the config's alertmanager
 * section and broker hosts; infra/config/schema.ts alertRouting). Unset: no configured names,
 * labels or hosts, the built-in ones still apply.
 */
export function alertRoutingFromEnv(env: NodeJS.ProcessEnv = process.env): AlertRouting {
  const text = env.ALERT_ROUTING_JSON;
  if (text === undefined || text === '') return NO_ROUTING;
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new ConfigurationError('ALERT_ROUTING_JSON is not valid JSON');
  }
  const parsed = alertRoutingSchema.safeParse(json);
  if (!parsed.success) {
    throw new ConfigurationError(`ALERT_ROUTING_JSON is not an AlertRouting: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
  }
  const { brokerLabel, clusterLabel, ...rest } = parsed.data;
  return { ...rest, ...(brokerLabel !== undefined ? { brokerLabel } : {}), ...(clusterLabel !== undefined ? { clusterLabel } : {}) };
}
