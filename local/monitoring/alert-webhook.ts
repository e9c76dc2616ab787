// The healer's Alertmanager webhook on 127.0.0.1, as API Gateway serves it in AWS
// (infra/constructs/webhook-api.ts): POST /alertmanager; an Authorization header that is not shaped
// like a bearer token is answered 401 without the authorizer (the TOKEN authorizer's validation
// pattern); the REAL authorizer (functions/webhook-authorizer) decides Allow or Deny (403) against
// the expected token; then the REAL webhook handler (functions/ingest/webhook.ts) answers with its
// own status (202 queued, 400 rejected and stored raw, 413 too large, 503 retry). The token lives in
// a file readable by its owner only, which Alertmanager reads too (credentials_file).
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { APIGatewayProxyResult } from 'aws-lambda';
import { createAuthorizer } from '#functions/webhook-authorizer/handler.js';
import { BEARER_HEADER_PATTERN } from '#infra/constructs/webhook-api.js';

export const WEBHOOK_PATH = '/alertmanager';
/** API Gateway's payload limit is 10 MB; the handler itself answers 413 above 256 KB. */
const MAX_REQUEST_BYTES = 10 * 1024 * 1024;

export interface WebhookRequestRecord {
  at: number;
  status: number;
  /** The request body when it was handed to the handler (Alertmanager's payload). */
  body?: string;
}

export interface AlertWebhook {
  /** http://127.0.0.1:<port>/alertmanager */
  url: string;
  tokenFile: string;
  requests: WebhookRequestRecord[];
  close(): Promise<void>;
}

export interface AlertWebhookOptions {
  /** The webhook handler (createWebhookHandler), called with an API Gateway proxy event. */
  handler: (event: { body: string; isBase64Encoded: boolean }) => Promise<APIGatewayProxyResult>;
  /** Where to write the generated bearer token (mode 0600). */
  tokenFile: string;
  /** Called after each request with what was answered. */
  onRequest?: (r: WebhookRequestRecord) => void;
}

function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_REQUEST_BYTES) {
        resolve(undefined);
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

export async function startAlertWebhook(opts: AlertWebhookOptions): Promise<AlertWebhook> {
  const token = randomBytes(36).toString('base64url');
  writeFileSync(opts.tokenFile, `${token}\n`, { mode: 0o600 });
  const authorize = createAuthorizer({ expectedToken: () => Promise.resolve(token) });
  const shaped = new RegExp(BEARER_HEADER_PATTERN);
  const requests: WebhookRequestRecord[] = [];

  const server = createServer((req, res) => {
    const answer = (
      status: number,
      body: string,
      headers: Record<string, string> = { 'content-type': 'application/json' },
      payload?: string,
    ) => {
      res.writeHead(status, headers).end(body);
      const r: WebhookRequestRecord = { at: Date.now(), status, ...(payload === undefined ? {} : { body: payload }) };
      requests.push(r);
      opts.onRequest?.(r);
    };
    void (async () => {
      if (req.method !== 'POST' || req.url !== WEBHOOK_PATH)
        return answer(404, JSON.stringify({ message: 'Missing Authentication Token' }));
      const header = req.headers.authorization;
      if (header === undefined || !shaped.test(header)) return answer(401, JSON.stringify({ message: 'Unauthorized' }));
      const methodArn = 'arn:aws:execute-api:local:000000000000:webhook/v1/POST/alertmanager';
      const decision = await authorize({ type: 'TOKEN', authorizationToken: header, methodArn });
      if (decision.policyDocument.Statement.some((s) => 'Effect' in s && s.Effect === 'Deny'))
        return answer(
          403,
          JSON.stringify({ message: 'User is not authorized to access this resource with an explicit deny' }),
        );
      const body = await readBody(req);
      if (body === undefined) return answer(413, JSON.stringify({ message: 'Request Too Long' }));
      const text = body.toString('utf8');
      const out = await opts.handler({ body: text, isBase64Encoded: false });
      return answer(out.statusCode, out.body, (out.headers as Record<string, string> | undefined) ?? {}, text);
    })().catch((err: unknown) => answer(500, JSON.stringify({ message: (err as Error).message })));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}${WEBHOOK_PATH}`,
    tokenFile: opts.tokenFile,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
