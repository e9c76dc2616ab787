// The one middy chain every handler uses: Powertools logger context, metrics flush, and (when a
// schema is given) zod validation of the event before the handler runs.
//
// Tracing is Lambda's own active X-Ray tracing (the house construct turns it on for every
// function): each invocation is a segment in the trace of the execution that called it. The
// Powertools Tracer is not in the chain: it loads aws-xray-sdk-core, semver and cls-hooked (about
// 120 KB of each bundle and 30-50 ms of every cold start, `npm run bench -- bundles`) and turns on
// async_hooks for every call, to add a handler subsegment with a cold-start annotation.
//
// No ColdStart metric either (Powertools captureColdStartMetric): it is a custom metric per function
// (service and function_name dimensions) that no alarm or dashboard reads, billed like any other
// (up to $0.30 a month each; the every-minute probe of each cluster cold-starts often enough to pay
// it in full). A cold start shows as the Initialization subsegment of an actively traced function's
// X-Ray trace, and for every function (the scheduled probe, traced PassThrough, included) as the
// Init Duration of its REPORT log line.
import middy from '@middy/core';
import type { MiddlewareObj, MiddyfiedHandler } from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import type { Context } from 'aws-lambda';
import type { ZodType } from 'zod';
import { InputValidationError } from './errors.js';
import { logger, metrics } from './powertools.js';

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
        const issues = result.error.issues.map((i) => ({
          path: i.path.map(String).join('.') || '(event)',
          message: i.message,
        }));
        throw new InputValidationError(
          `invalid event: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`,
          issues,
        );
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
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(logMetrics(metrics));
  if (options.schema) chain.use(validateWith(options.schema));
  return chain;
}
