// MSK IAM tokens (functions/shared/probe/msk-iam.ts, AWS's aws-msk-iam-sasl-signer-js underneath):
// with fixed credentials and a fixed clock the token is a SigV4-presigned kafka-cluster:Connect
// URL whose signature is recomputed here from the SigV4 specification with node:crypto alone.
// No local broker can validate one (MSK does); its OAUTHBEARER framing against real Kafka is in
// test/integration/probe-secured.test.ts.
import { createHash, createHmac } from 'node:crypto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { environmentCredentials, mskIamTokenProvider } from '#shared/probe/msk-iam.js';

const CREDS = {
  accessKeyId: 'AKIDEXAMPLE',
  secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
  sessionToken: 'session/token+1=',
};
const AT = Date.parse('2026-11-22T02:00:00Z');

afterEach(() => {
  vi.useRealTimers();
});

const hmac = (key: Buffer | string, data: string) => createHmac('sha256', key).update(data, 'utf8').digest();
/** RFC 3986 encoding as SigV4 wants it (encodeURIComponent leaves !'()* alone). */
const enc = (s: string) =>
  encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

/** The SigV4 query-string signature of a GET / to kafka.<region>.amazonaws.com, from the spec. */
function expectedSignature(query: URLSearchParams, region: string, secret: string): string {
  const params = [...query]
    .filter(([k]) => k !== 'X-Amz-Signature' && k !== 'User-Agent')
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const canonicalQuery = params.map(([k, v]) => `${enc(k)}=${enc(v)}`).join('&');
  const host = `kafka.${region}.amazonaws.com`;
  const emptyHash = createHash('sha256').update('').digest('hex');
  const canonicalRequest = ['GET', '/', canonicalQuery, `host:${host}\n`, 'host', emptyHash].join('\n');
  const date = query.get('X-Amz-Date') as string;
  const scope = `${date.slice(0, 8)}/${region}/kafka-cluster/aws4_request`;
  const toSign = ['AWS4-HMAC-SHA256', date, scope, createHash('sha256').update(canonicalRequest).digest('hex')].join(
    '\n',
  );
  const key = hmac(hmac(hmac(hmac(`AWS4${secret}`, date.slice(0, 8)), region), 'kafka-cluster'), 'aws4_request');
  return createHmac('sha256', key).update(toSign).digest('hex');
}

describe('mskIamTokenProvider', () => {
  it('signs kafka-cluster:Connect for the region with the given credentials; the signature checks out', async () => {
    vi.useFakeTimers({ now: AT, toFake: ['Date'] });
    const token = await mskIamTokenProvider({ region: 'eu-west-1', credentials: () => Promise.resolve(CREDS) })();
    expect(token).toMatch(/^[A-Za-z0-9_-]+$/); // base64url, no padding
    const url = new URL(Buffer.from(token, 'base64url').toString('utf8'));
    expect(`${url.protocol}//${url.host}${url.pathname}`).toBe('https://kafka.eu-west-1.amazonaws.com/');
    const q = url.searchParams;
    expect(q.get('Action')).toBe('kafka-cluster:Connect');
    expect(q.get('X-Amz-Algorithm')).toBe('AWS4-HMAC-SHA256');
    expect(q.get('X-Amz-Credential')).toBe('AKIDEXAMPLE/20261122/eu-west-1/kafka-cluster/aws4_request');
    expect(q.get('X-Amz-Date')).toBe('20261122T020000Z');
    expect(q.get('X-Amz-Expires')).toBe('900');
    expect(q.get('X-Amz-SignedHeaders')).toBe('host');
    expect(q.get('X-Amz-Security-Token')).toBe(CREDS.sessionToken);
    expect(q.get('User-Agent')).toMatch(/^aws-msk-iam-sasl-signer-js\//);
    expect(q.get('X-Amz-Signature')).toBe(expectedSignature(q, 'eu-west-1', CREDS.secretAccessKey));
    // Signed with another secret, the same request would carry another signature.
    expect(q.get('X-Amz-Signature')).not.toBe(expectedSignature(q, 'eu-west-1', `${CREDS.secretAccessKey}x`));
  });

  it('reuses a token until a minute before it expires, then signs a new one', async () => {
    let now = AT;
    vi.useFakeTimers({ now, toFake: ['Date'] });
    const credentials = vi.fn(() => Promise.resolve(CREDS));
    const token = mskIamTokenProvider({ region: 'us-east-1', credentials, now: () => now });
    const first = await token();
    now += 839_000;
    vi.setSystemTime(now);
    expect(await token()).toBe(first);
    now += 1_000; // 14 minutes after signing: within a minute of the 15-minute expiry
    vi.setSystemTime(now);
    const second = await token();
    expect(second).not.toBe(first);
    expect(credentials).toHaveBeenCalledTimes(2);
  });

  it("the default credentials are the Lambda environment's; without them, a clear refusal", async () => {
    await expect(
      environmentCredentials({ AWS_ACCESS_KEY_ID: 'AKID', AWS_SECRET_ACCESS_KEY: 's', AWS_SESSION_TOKEN: 't' }),
    ).resolves.toEqual({ accessKeyId: 'AKID', secretAccessKey: 's', sessionToken: 't' });
    await expect(environmentCredentials({ AWS_ACCESS_KEY_ID: 'AKID', AWS_SECRET_ACCESS_KEY: 's' })).resolves.toEqual({
      accessKeyId: 'AKID',
      secretAccessKey: 's',
    });
    await expect(environmentCredentials({})).rejects.toThrow('no AWS credentials in the environment');
  });
});
