// Secrets read from Secrets Manager by name, cached for a few minutes (a rotation is picked up
// without a deploy), shared by concurrent callers, never cached when the read failed. The value
// never appears in a log line, an error message or a returned description.
import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';

export interface SecretSource<T> {
  get(): Promise<T>;
}

/**
 * Reads `secretId` (name or ARN) and turns its string value into a T with `parse` (which throws a
 * typed error naming the secret, never its value), cached for `ttlMs` (default 5 minutes).
 */
export function cachedSecret<T>(opts: {
  client: Pick<SecretsManagerClient, 'send'>;
  secretId: string;
  parse: (value: string | undefined, secretId: string) => T;
  ttlMs?: number;
  now?: () => number;
}): SecretSource<T> {
  const ttlMs = opts.ttlMs ?? 5 * 60_000;
  const now = opts.now ?? Date.now;
  let cached: { value: Promise<T>; at: number } | undefined;
  const read = async (): Promise<T> => {
    const out = await opts.client.send(new GetSecretValueCommand({ SecretId: opts.secretId }));
    return opts.parse(out.SecretString, opts.secretId);
  };
  return {
    get() {
      if (cached === undefined || now() - cached.at >= ttlMs) {
        const entry = { value: read(), at: now() };
        cached = entry;
        entry.value.catch(() => {
          if (cached === entry) cached = undefined;
        });
      }
      return cached.value;
    },
  };
}
