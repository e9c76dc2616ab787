// The approval endpoint on 127.0.0.1 for drills and page tests: a plain HTTP server that turns
// each request into the API Gateway proxy event the real endpoint handler takes
// (functions/approvals/endpoint.ts), so the page people open locally is the deployed one.
//
// It also answers Step Functions' callback API (AWS JSON 1.0: `X-Amz-Target:
// AWSStepFunctions.SendTaskSuccess|SendTaskFailure` POSTed to `/`) from the local task-token
// registry, so `kafka-heal approve|reject --sfn-endpoint <url>` uses the real SFN client against
// local workflows exactly as it does against AWS.
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { APIGatewayProxyResult } from 'aws-lambda';
import type { ApprovalHttpEvent } from '../functions/approvals/endpoint.js';
import type { TaskCallbacks } from '../functions/approvals/schema.js';
import { readBody } from './api-server.js';

export interface ApprovalServerOptions {
  /** The endpoint handler (makeApprovalEndpoint with local deps). */
  endpoint: (event: ApprovalHttpEvent) => Promise<APIGatewayProxyResult>;
  /** Answers SendTaskSuccess/SendTaskFailure (the local task-token registry). */
  callbacks?: TaskCallbacks;
  /** Default: a free port. */
  port?: number;
  /** Stage path the links carry, as API Gateway's `/v1`. Default ''. */
  stage?: string;
}

export interface ApprovalServer {
  /** Base URL for approval links (`http://127.0.0.1:PORT[/stage]`). */
  baseUrl: string;
  /** Where the callback API answers (give it to SFNClient as `endpoint`). */
  sfnEndpoint: string;
  port: number;
  stop(): Promise<void>;
}

const MAX_BODY_BYTES = 64 * 1024;

function send(res: ServerResponse, status: number, headers: Record<string, string>, body: string): void {
  res.writeHead(status, headers);
  res.end(body);
}

async function callbackApi(
  callbacks: TaskCallbacks | undefined,
  target: string,
  body: string,
  res: ServerResponse,
): Promise<void> {
  const json = { 'content-type': 'application/x-amz-json-1.0' };
  if (!callbacks)
    return send(
      res,
      400,
      json,
      JSON.stringify({ __type: 'UnknownOperationException', message: 'no task-token registry on this server' }),
    );
  let input: { taskToken?: string; output?: string; error?: string; cause?: string };
  try {
    input = JSON.parse(body) as typeof input;
  } catch {
    return send(res, 400, json, JSON.stringify({ __type: 'SerializationException', message: 'body is not JSON' }));
  }
  try {
    if (target === 'AWSStepFunctions.SendTaskSuccess')
      await callbacks.sendTaskSuccess(input.taskToken ?? '', input.output ?? '');
    else if (target === 'AWSStepFunctions.SendTaskFailure')
      await callbacks.sendTaskFailure(input.taskToken ?? '', input.error ?? '', input.cause ?? '');
    else
      return send(
        res,
        400,
        json,
        JSON.stringify({ __type: 'UnknownOperationException', message: `${target} is not served locally` }),
      );
    send(res, 200, json, '{}');
  } catch (err) {
    const e = err as Error;
    send(res, 400, json, JSON.stringify({ __type: e.name, message: e.message }));
  }
}

export async function startApprovalServer(opts: ApprovalServerOptions): Promise<ApprovalServer> {
  const stage = (opts.stage ?? '').replace(/\/+$/, '');
  const route = new RegExp(`^${stage.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/approvals/([^/?]+)$`);
  const server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      const target = req.headers['x-amz-target'];
      const body = req.method === 'POST' ? (await readBody(req, MAX_BODY_BYTES)).toString('utf8') : '';
      if (typeof target === 'string' && req.method === 'POST' && url.pathname === '/')
        return callbackApi(opts.callbacks, target, body, res);
      const m = route.exec(url.pathname);
      if (!m) return send(res, 404, { 'content-type': 'text/plain' }, 'not found');
      const result = await opts.endpoint({
        httpMethod: req.method ?? 'GET',
        pathParameters: { approvalId: decodeURIComponent(m[1] as string) },
        queryStringParameters: url.searchParams.size === 0 ? null : Object.fromEntries(url.searchParams),
        body: req.method === 'POST' ? body : null,
        isBase64Encoded: false,
      });
      const headers = Object.fromEntries(Object.entries(result.headers ?? {}).map(([k, v]) => [k, String(v)]));
      send(res, result.statusCode, headers, result.body);
    })().catch((err: unknown) => {
      if (!res.headersSent)
        send(res, 500, { 'content-type': 'text/plain' }, `approval server error: ${(err as Error).message}`);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    baseUrl: `http://127.0.0.1:${port}${stage}`,
    sfnEndpoint: `http://127.0.0.1:${port}`,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
