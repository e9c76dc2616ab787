// The house middy chain: Powertools middlewares run around the handler and a zod schema rejects
// bad events with a typed, named error before the handler sees them.
import type { Context } from 'aws-lambda';
import { describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { withHouseMiddleware } from '#shared/middy.js';
import { InputValidationError } from '#shared/errors.js';
import { metrics } from '#shared/powertools.js';

const context = {
  functionName: 'kafka-heal-test',
  awsRequestId: 'req-42',
  invokedFunctionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:kafka-heal-test',
  memoryLimitInMB: '128',
  functionVersion: '$LATEST',
  getRemainingTimeInMillis: () => 10_000,
} as unknown as Context;

describe('withHouseMiddleware', () => {
  const schema = z.object({ incidentId: z.string().min(1), attempt: z.coerce.number().int().positive().default(1) });

  it('passes the parsed (coerced, defaulted) event to the handler', async () => {
    const handler = withHouseMiddleware(async (event: z.infer<typeof schema>) => ({ ...event }), { schema });
    const out = await handler({ incidentId: 'inc-1', attempt: '2' } as never, context);
    expect(out).toEqual({ incidentId: 'inc-1', attempt: 2 });
    expect(await handler({ incidentId: 'inc-1' } as never, context)).toEqual({ incidentId: 'inc-1', attempt: 1 });
  });

  it('rejects an invalid event with InputValidationError naming each field', async () => {
    let seen = false;
    const handler = withHouseMiddleware(
      async () => {
        seen = true;
      },
      { schema },
    );
    const err = await handler({ incidentId: '', attempt: -1 } as never, context).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputValidationError);
    expect((err as InputValidationError).name).toBe('InputValidationError');
    expect((err as InputValidationError).issues.map((i) => i.path).sort()).toEqual(['attempt', 'incidentId']);
    expect(seen).toBe(false);
  });

  it('publishes no ColdStart metric (a custom metric per function that nothing reads)', async () => {
    // The middleware asks the shared Metrics instance on every call; it publishes on the first only.
    const capture = vi.spyOn(metrics, 'captureColdStartMetric');
    try {
      const handler = withHouseMiddleware(async () => 'ok');
      expect(await handler({}, context)).toBe('ok');
      expect(capture).not.toHaveBeenCalled();
    } finally {
      capture.mockRestore();
    }
  });

  it('runs without a schema and lets handler errors through with their names', async () => {
    const handler = withHouseMiddleware(async () => {
      throw Object.assign(new Error('held'), { name: 'LockHeldError' });
    });
    await expect(handler({}, context)).rejects.toMatchObject({ name: 'LockHeldError' });
  });
});
