// Runtime schemas for messages that cross a queue between the healer's own Lambdas.
// A namespace import lets esbuild keep only the zod code used (about 90 KB); `import { z }`
// pulls the whole namespace, every locale included (about 440 KB), into each Lambda bundle.
import * as z from 'zod';
import { SIGNAL_KINDS, type Signal } from '../domain/types.js';

const isoTime = z.string().refine((s) => !Number.isNaN(Date.parse(s)), 'must be an ISO 8601 time');

export const signalSchema: z.ZodType<Signal> = z.object({
  id: z.string().min(1).max(512),
  source: z.enum(['cloudwatch', 'alertmanager', 'amp', 'probe']),
  cluster: z.string().min(1),
  kind: z.enum(SIGNAL_KINDS),
  brokerIds: z.array(z.number().int().nonnegative()),
  state: z.enum(['firing', 'resolved']),
  value: z.number().optional(),
  threshold: z.number().optional(),
  consumerGroup: z.string().optional(),
  topic: z.string().optional(),
  observedAt: isoTime,
  name: z.string(),
  fingerprint: z.string().min(1),
  labels: z.record(z.string(), z.string()),
  summary: z.string().optional(),
});
