// Reading handler configuration from the environment, with typed errors naming the variable.
import * as z from 'zod';
import type { ClusterFacts } from '../domain/types.js';
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
    throw new ConfigurationError(`${CLUSTERS_FILE}: not a ClusterFacts[]: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  }
  return parsed.data;
}
