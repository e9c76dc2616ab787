import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { APIGatewayTokenAuthorizerEvent, Context } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

const SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:kafka-heal/alertmanager-token-AbCdEf';
const METHOD_ARN = 'arn:aws:execute-api:eu-west-1:123456789012:abcdef1234/prod/POST/alertmanager';
const TOKEN = 'Zq8sV2mN4pX7rT1yB6cD9fG3hJ5kL0aW';

const sm = mockClient(SecretsManagerClient);

function event(authorizationToken: string): APIGatewayTokenAuthorizerEvent {
  return { type: 'TOKEN', authorizationToken, methodArn: METHOD_ARN };
}

function effectOf(result: { policyDocument: { Statement: unknown[] } }): string {
  const stmt = result.policyDocument.Statement[0] as { Effect: string; Resource: string };
  expect(stmt.Resource).toBe(METHOD_ARN);
  return stmt.Effect;
}

describe('tokensMatch', async () => {
  const { tokensMatch } = await import('#functions/webhook-authorizer/handler.js');
  it('accepts the identical token', () => {
    expect(tokensMatch(TOKEN, TOKEN)).toBe(true);
  });
  it('rejects a token differing in one character, a prefix, an extension and the empty string', () => {
    expect(tokensMatch(`${TOKEN.slice(0, -1)}X`, TOKEN)).toBe(false);
    expect(tokensMatch(TOKEN.slice(0, -1), TOKEN)).toBe(false);
    expect(tokensMatch(`${TOKEN}A`, TOKEN)).toBe(false);
    expect(tokensMatch('', TOKEN)).toBe(false);
  });
  it('compares tokens of different lengths without throwing (both sides are hashed first)', () => {
    expect(() => tokensMatch('a', 'a much longer expected token value')).not.toThrow();
  });
});

describe('bearerToken', async () => {
  const { bearerToken } = await import('#functions/webhook-authorizer/handler.js');
  it.each([
    ['Bearer abc', 'abc'],
    ['bearer abc', 'abc'],
    ['Bearer   abc  ', 'abc'],
  ])('reads %j', (header, token) => {
    expect(bearerToken(header)).toBe(token);
  });
  it.each([undefined, '', 'abc', 'Basic YWxhZGRpbjpvcGVuc2VzYW1l', 'Bearer', 'Bearer ', 'Bearer a b'])(
    'refuses %j',
    (header) => {
      expect(bearerToken(header)).toBeUndefined();
    },
  );
});

describe('CachedValue', async () => {
  const { CachedValue } = await import('#functions/webhook-authorizer/handler.js');
  it('reuses the value until the TTL passes, then reloads (both sides of the edge)', async () => {
    let t = 1_000;
    const load = vi.fn(async () => `v${load.mock.calls.length}`);
    const cache = new CachedValue(load, 60_000, () => t);
    expect(await cache.get()).toBe('v1');
    t += 59_999;
    expect(await cache.get()).toBe('v1');
    expect(load).toHaveBeenCalledTimes(1);
    t += 1;
    expect(await cache.get()).toBe('v2');
    expect(load).toHaveBeenCalledTimes(2);
  });
  it('shares one load between concurrent misses', async () => {
    const load = vi.fn(async () => 'v');
    const cache = new CachedValue(load, 60_000);
    await Promise.all([cache.get(), cache.get(), cache.get()]);
    expect(load).toHaveBeenCalledTimes(1);
  });
  it('does not cache a failure', async () => {
    let fail = true;
    const cache = new CachedValue(async () => {
      if (fail) throw new Error('boom');
      return 'ok';
    }, 60_000);
    await expect(cache.get()).rejects.toThrow('boom');
    fail = false;
    expect(await cache.get()).toBe('ok');
  });
});

describe('handler (Secrets Manager mocked)', () => {
  const ctx = { functionName: 'webhook-authorizer', awsRequestId: 'req-1' } as unknown as Context;

  beforeEach(() => {
    sm.reset();
    vi.resetModules();
    vi.stubEnv('TOKEN_SECRET_ARN', SECRET_ARN);
    vi.stubEnv('TOKEN_CACHE_SECONDS', '60');
    vi.stubEnv('POWERTOOLS_DEV', 'true');
    vi.stubEnv('POWERTOOLS_LOG_LEVEL', 'SILENT');
    vi.stubEnv('POWERTOOLS_TRACE_ENABLED', 'false');
  });
  afterEach(() => {
    vi.unstubAllEnvs();
    vi.useRealTimers();
  });

  async function loadHandler() {
    return (await import('#functions/webhook-authorizer/handler.js')).handler;
  }

  it('allows the right bearer token and reads the secret it was configured with', async () => {
    sm.on(GetSecretValueCommand, { SecretId: SECRET_ARN }).resolves({ SecretString: `${TOKEN}\n` });
    const handler = await loadHandler();
    const result = await handler(event(`Bearer ${TOKEN}`), ctx);
    expect(effectOf(result)).toBe('Allow');
    expect(result.principalId).toBe('alertmanager');
    expect(sm).toHaveReceivedCommandWith(GetSecretValueCommand, { SecretId: SECRET_ARN });
  });

  it.each([
    ['a wrong token', `Bearer ${TOKEN.slice(0, -1)}x`],
    ['no Bearer scheme', TOKEN],
    ['an empty header', ''],
    ['Basic auth', 'Basic YWxlcnRtYW5hZ2VyOnNlY3JldA=='],
  ])('denies %s', async (_label, header) => {
    sm.on(GetSecretValueCommand).resolves({ SecretString: TOKEN });
    const handler = await loadHandler();
    const result = await handler(event(header), ctx);
    expect(effectOf(result)).toBe('Deny');
    expect(result.principalId).toBe('anonymous');
  });

  it('caches the token: one Secrets Manager call for many requests within the TTL, a new one after it', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date('2026-11-22T03:00:00Z'));
    sm.on(GetSecretValueCommand).resolvesOnce({ SecretString: TOKEN }).resolves({ SecretString: 'rotated-token' });
    const handler = await loadHandler();
    for (let i = 0; i < 5; i++) expect(effectOf(await handler(event(`Bearer ${TOKEN}`), ctx))).toBe('Allow');
    expect(sm).toHaveReceivedCommandTimes(GetSecretValueCommand, 1);
    vi.setSystemTime(new Date('2026-11-22T03:01:00Z'));
    // After the TTL the rotated token is in force and the old one is denied.
    expect(effectOf(await handler(event(`Bearer ${TOKEN}`), ctx))).toBe('Deny');
    expect(effectOf(await handler(event('Bearer rotated-token'), ctx))).toBe('Allow');
    expect(sm).toHaveReceivedCommandTimes(GetSecretValueCommand, 2);
  });

  it('fails (so API Gateway answers 500 and Alertmanager retries) when the secret cannot be read', async () => {
    sm.on(GetSecretValueCommand).rejects(new Error('ThrottlingException'));
    const handler = await loadHandler();
    await expect(handler(event(`Bearer ${TOKEN}`), ctx)).rejects.toThrow('ThrottlingException');
  });

  it('fails with TokenUnavailableError for an empty secret or a missing TOKEN_SECRET_ARN', async () => {
    sm.on(GetSecretValueCommand).resolves({ SecretString: '   ' });
    let handler = await loadHandler();
    await expect(handler(event(`Bearer ${TOKEN}`), ctx)).rejects.toMatchObject({ name: 'TokenUnavailableError' });

    vi.resetModules();
    vi.stubEnv('TOKEN_SECRET_ARN', '');
    handler = await loadHandler();
    await expect(handler(event(`Bearer ${TOKEN}`), ctx)).rejects.toMatchObject({
      name: 'TokenUnavailableError',
      message: 'TOKEN_SECRET_ARN is not set',
    });
  });
});
