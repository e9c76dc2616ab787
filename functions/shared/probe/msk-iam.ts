// MSK IAM access control over SASL/OAUTHBEARER: the bearer token is a SigV4-presigned
// `kafka-cluster:Connect` request for kafka.<region>.amazonaws.com, made by AWS's own signer
// (npm aws-msk-iam-sasl-signer-js), base64url-encoded. MSK checks the signature and maps the
// signing role's kafka-cluster:* permissions onto the Kafka operations of the session.
//
// Credentials: by default the function's own role, from the environment Lambda gives every
// function (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN), which is where the AWS
// SDK's default chain finds them in Lambda too. The signer's other credential paths (profiles,
// role assumption) are not used, and the probe layer leaves their SDK modules out
// (layers/probe/build.ts).
// The signer (and the SigV4 code under it) is loaded on the first token, not with the library:
// every probe loads this layer, few clusters use IAM (with node:tls and node:crypto also loaded on first use, importing the layer took 11.7 ms CPU against 8.6 ms before TLS/SASL support, medians of 21 interleaved fresh processes; 33 ms with all three loaded eagerly).
const signer = () => import('aws-msk-iam-sasl-signer-js');

export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  expiration?: Date;
}

export interface MskIamTokenOptions {
  /** The MSK cluster's region (from its ARN). */
  region: string;
  /** Where the signing credentials come from; default: the Lambda environment's. */
  credentials?: () => Promise<AwsCredentials>;
  /** Wall clock (ms) for the token cache; tests inject one. */
  now?: () => number;
}

/** The signing role's credentials as Lambda (and most runtimes) put them in the environment. */
export function environmentCredentials(env: NodeJS.ProcessEnv = process.env): Promise<AwsCredentials> {
  const accessKeyId = env.AWS_ACCESS_KEY_ID;
  const secretAccessKey = env.AWS_SECRET_ACCESS_KEY;
  if (!accessKeyId || !secretAccessKey)
    return Promise.reject(
      new Error(
        'no AWS credentials in the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY) to sign an MSK IAM token with',
      ),
    );
  return Promise.resolve({
    accessKeyId,
    secretAccessKey,
    ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}),
  });
}

/** Tokens last 15 minutes (or until the credentials expire); a new one is signed a minute before. */
const RENEW_BEFORE_MS = 60_000;

/**
 * A token provider for SASL OAUTHBEARER against an MSK IAM listener: one signed token reused
 * until a minute before it expires.
 */
export function mskIamTokenProvider(opts: MskIamTokenOptions): () => Promise<string> {
  const now = opts.now ?? Date.now;
  const credentials = opts.credentials ?? (() => environmentCredentials());
  let cached: { token: string; expiresAt: number } | undefined;
  return async () => {
    if (cached && now() < cached.expiresAt - RENEW_BEFORE_MS) return cached.token;
    const { generateAuthTokenFromCredentialsProvider } = await signer();
    const signed = await generateAuthTokenFromCredentialsProvider({
      region: opts.region,
      awsCredentialsProvider: credentials,
    });
    cached = { token: signed.token, expiresAt: signed.expiryTime };
    return signed.token;
  };
}
