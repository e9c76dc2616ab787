// API Gateway TOKEN authorizer for the Alertmanager webhook. Alertmanager sends
// `Authorization: Bearer <token>`; the expected token is the SecretString of the Secrets
// Manager secret named in the config (`alertmanager.tokenSecretName`), whose ARN arrives in
// TOKEN_SECRET_ARN.
//
// The comparison is constant-time: both sides are hashed with SHA-256 first, so the buffers
// handed to crypto.timingSafeEqual always have the same length and neither the content nor the
// length of the expected token leaks through timing.
//
// A missing, malformed or wrong token gets a Deny policy (API Gateway answers 403), not a thrown
// "Unauthorized": a thrown error counts as a Lambda error, and the healer's self-monitoring
// alarm on this function's Errors must mean "the authorizer is broken", not "someone knocked".
//
// The token is cached for a short time (TOKEN_CACHE_SECONDS, default 60) so an alert storm does
// not turn into a Secrets Manager storm, while a rotated token takes effect within a minute.
// A failure to read the secret is NOT an "Unauthorized": it throws, API Gateway answers 500 and
// Alertmanager retries, so no alert is lost to a Secrets Manager hiccup.
import { createHash, timingSafeEqual } from 'node:crypto';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { APIGatewayAuthorizerResult, APIGatewayTokenAuthorizerEvent } from 'aws-lambda';
import { withHouseMiddleware } from '../shared/middy.js';
import { logger } from '../shared/powertools.js';

/** The expected token could not be read (missing ARN, empty or binary secret, API error). */
export class TokenUnavailableError extends Error {
  override readonly name = 'TokenUnavailableError';
}

/** Constant-time comparison of two tokens of any length. */
export function tokensMatch(presented: string, expected: string): boolean {
  const a = createHash('sha256').update(presented, 'utf8').digest();
  const b = createHash('sha256').update(expected, 'utf8').digest();
  return timingSafeEqual(a, b);
}

/** The token of an `Authorization: Bearer <token>` header, or undefined when it is not one. */
export function bearerToken(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
  return match?.[1];
}

/** Holds a value for `ttlMs`; concurrent misses share one load; a failed load is not cached. */
export class CachedValue<T> {
  private value: T | undefined;
  private loadedAt = 0;
  private inflight: Promise<T> | undefined;

  constructor(
    private readonly load: () => Promise<T>,
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  async get(): Promise<T> {
    if (this.value !== undefined && this.now() - this.loadedAt < this.ttlMs) return this.value;
    this.inflight ??= this.load()
      .then((v) => {
        this.value = v;
        this.loadedAt = this.now();
        return v;
      })
      .finally(() => {
        this.inflight = undefined;
      });
    return this.inflight;
  }
}

export function policy(principalId: string, effect: 'Allow' | 'Deny', methodArn: string): APIGatewayAuthorizerResult {
  return {
    principalId,
    policyDocument: {
      Version: '2012-10-17',
      Statement: [{ Action: 'execute-api:Invoke', Effect: effect, Resource: methodArn }],
    },
  };
}

export interface AuthorizerDeps {
  /** Returns the expected token (cached by the caller as it sees fit). */
  expectedToken: () => Promise<string>;
}

export function createAuthorizer(deps: AuthorizerDeps) {
  return async (event: APIGatewayTokenAuthorizerEvent): Promise<APIGatewayAuthorizerResult> => {
    const presented = bearerToken(event.authorizationToken);
    // Read the expected token even for a malformed header, so the answer time does not tell a
    // caller whether its header was well-formed.
    const expected = await deps.expectedToken();
    if (presented === undefined || !tokensMatch(presented, expected)) {
      logger.warn('webhook request denied', { reason: presented === undefined ? 'no bearer token' : 'token mismatch' });
      return policy('anonymous', 'Deny', event.methodArn);
    }
    return policy('alertmanager', 'Allow', event.methodArn);
  };
}

/** Reads the token secret; the whole SecretString (trimmed) is the token. */
export function secretTokenLoader(client: SecretsManagerClient, secretArn: string | undefined): () => Promise<string> {
  return async () => {
    if (!secretArn) throw new TokenUnavailableError('TOKEN_SECRET_ARN is not set');
    const out = await client.send(new GetSecretValueCommand({ SecretId: secretArn }));
    const token = out.SecretString?.trim();
    if (!token) throw new TokenUnavailableError(`secret ${secretArn} has no string value`);
    return token;
  };
}

const cacheSeconds = Number(process.env.TOKEN_CACHE_SECONDS ?? '60');
const tokenCache = new CachedValue(
  secretTokenLoader(new SecretsManagerClient({}), process.env.TOKEN_SECRET_ARN),
  (Number.isFinite(cacheSeconds) && cacheSeconds >= 0 ? cacheSeconds : 60) * 1000,
);

export const handler = withHouseMiddleware(createAuthorizer({ expectedToken: () => tokenCache.get() }));
