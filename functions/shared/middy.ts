// The one middy chain every handler uses: Powertools logger context, metrics flush, tracing,
// and (when a schema is given) zod validation of the event before the handler runs.
import middy from '@middy/core';
import type { MiddlewareObj, MiddyfiedHandler } from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import type { Context } from 'aws-lambda';
import type { ZodType } from 'zod';
import { InputValidationError } from './errors.js';
import { logger, metrics, tracer } from './powertools.js';

export interface HouseMiddlewareOptions<TEvent> {
  /** Validates (and may transform) the event; failures throw `InputValidationError`. */
  schema?: ZodType<TEvent>;
}

/** Middleware that replaces the event with the schema's parsed value or throws a typed error. */
export function validateWith<TEvent>(schema: ZodType<TEvent>): MiddlewareObj<TEvent> {
  return {
    name: 'house-zod-validation',
    before: (request) => {
      const result = schema.safeParse(request.event);
      if (!result.success) {
        const issues = result.error.issues.map((i) => ({ path: i.path.map(String).join('.') || '(event)', message: i.message }));
        throw new InputValidationError(`invalid event: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`, issues);
      }
      request.event = result.data;
    },
  };
}

export function withHouseMiddleware<TEvent, TResult>(
  handler: (event: TEvent, context: Context) => Promise<TResult>,
  options: HouseMiddlewareOptions<TEvent> = {},
): MiddyfiedHandler<TEvent, TResult> {
  const chain = middy<TEvent, TResult>(handler)
    .use(captureLambdaHandler(tracer))
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(logMetrics(metrics, { captureColdStartMetric: true }));
  if (options.schema) chain.use(validateWith(options.schema));
  return chain;
}
