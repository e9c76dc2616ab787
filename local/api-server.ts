// API Gateway's Lambda proxy integration on 127.0.0.1, for drills and tests: a plain HTTP server
// that turns each request into the proxy event a handler takes (method, path parameters, query,
// headers as sent, the raw body) and the handler's result back into the response, so the real
// handlers (the PagerDuty webhook, the incident page) answer real HTTP locally.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';

export type ProxyEvent = Pick<
  APIGatewayProxyEvent,
  'httpMethod' | 'path' | 'headers' | 'pathParameters' | 'queryStringParameters' | 'body' | 'isBase64Encoded'
>;

export interface ApiRoute {
  methods: string[];
  /** `/incidents/{incidentId}`: `{name}` segments become path parameters. */
  path: string;
  handler: (event: ProxyEvent) => Promise<APIGatewayProxyResult>;
}

export interface ApiServer {
  /** `http://127.0.0.1:PORT[/stage]`. */
  baseUrl: string;
  port: number;
  stop(): Promise<void>;
}

/** API Gateway's payload limit for REST APIs. */
const MAX_BODY_BYTES = 10 * 1024 * 1024;

/** A request's body, refused (and the request destroyed) past `maxBytes`. */
export function readBody(req: IncomingMessage, maxBytes = MAX_BODY_BYTES): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > maxBytes) {
        reject(new Error('request body too large'));
        req.destroy();
      } else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function send(res: ServerResponse, status: number, headers: Record<string, string>, body: string): void {
  res.writeHead(status, headers);
  res.end(body);
}

function compile(path: string, stage: string): { re: RegExp; names: string[] } {
  const names: string[] = [];
  const body = path
    .split('/')
    .map((seg) => {
      const m = /^\{([A-Za-z]+)\}$/.exec(seg);
      if (!m) return seg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      names.push(m[1] as string);
      return '([^/]+)';
    })
    .join('/');
  return { re: new RegExp(`^${stage.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}${body}$`), names };
}

export async function startApiServer(opts: { routes: ApiRoute[]; port?: number; stage?: string }): Promise<ApiServer> {
  const stage = (opts.stage ?? '').replace(/\/+$/, '');
  const routes = opts.routes.map((r) => ({ ...r, ...compile(r.path, stage) }));
  const server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      const method = req.method ?? 'GET';
      for (const r of routes) {
        const m = r.re.exec(url.pathname);
        if (!m) continue;
        if (!r.methods.includes(method))
          return send(
            res,
            405,
            { 'content-type': 'application/json', allow: r.methods.join(', ') },
            '{"message":"Method not allowed"}',
          );
        const body = await readBody(req);
        const headers = Object.fromEntries(
          Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(',') : v]),
        );
        const result = await r.handler({
          httpMethod: method,
          path: url.pathname,
          headers,
          pathParameters: Object.fromEntries(r.names.map((n, i) => [n, decodeURIComponent(m[i + 1] as string)])),
          queryStringParameters: url.searchParams.size === 0 ? null : Object.fromEntries(url.searchParams),
          body: body.length === 0 ? null : body.toString('utf8'),
          isBase64Encoded: false,
        });
        return send(
          res,
          result.statusCode,
          Object.fromEntries(Object.entries(result.headers ?? {}).map(([k, v]) => [k, String(v)])),
          result.body,
        );
      }
      send(res, 404, { 'content-type': 'application/json' }, '{"message":"Missing Authentication Token"}');
    })().catch((err: unknown) => {
      // As API Gateway answers a Lambda that failed.
      if (!res.headersSent)
        send(
          res,
          502,
          { 'content-type': 'application/json' },
          JSON.stringify({ message: 'Internal server error', error: (err as Error).name }),
        );
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
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
