// HTTP and WebSocket serving on uWebSockets.js (loaded by ./uws.ts, the only module that imports
// it). Swapping the library means rewriting these two files alone: the rest of FlowGate sees
// plain routes, responses and WebSocket clients.
import { loadUws, type TemplatedApp, type HttpResponse, type HttpRequest, type WebSocket, type us_listen_socket, type Uws } from './uws.js';
import type { Logger } from '../log.js';

export interface Request {
  method: string;
  path: string;
  query: URLSearchParams;
  /** Lower-case header names. */
  headers: Record<string, string>;
}

export interface Response {
  status: number;
  headers?: Record<string, string>;
  body: string | Uint8Array;
}

export type Handler = (req: Request) => Response | Promise<Response>;

/** One WebSocket connection, with the user data its upgrade produced. */
export interface WsClient<T> {
  readonly data: T;
  /** 'sent', 'buffered' (backpressure building) or 'dropped' (over maxBackpressure). */
  send(message: string | Uint8Array, binary?: boolean): 'sent' | 'buffered' | 'dropped';
  bufferedAmount(): number;
  close(code?: number, reason?: string): void;
}

export interface WsRoute<T> {
  /** Accepts (returns user data) or refuses (returns a Response) an upgrade request. */
  upgrade(req: Request): T | Response;
  open?(client: WsClient<T>): void;
  message?(client: WsClient<T>, text: string, binary: boolean): void;
  drain?(client: WsClient<T>): void;
  close?(client: WsClient<T>): void;
  /** Bytes buffered per client before sends are dropped. */
  maxBackpressure: number;
  maxPayloadLength?: number;
}

const reasons: Record<number, string> = { 200: 'OK', 204: 'No Content', 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 500: 'Internal Server Error', 503: 'Service Unavailable' };

function readRequest(req: HttpRequest): Request {
  const headers: Record<string, string> = {};
  req.forEach((k, v) => (headers[k] = v));
  return { method: req.getMethod().toUpperCase(), path: req.getUrl(), query: new URLSearchParams(req.getQuery() ?? ''), headers };
}

function write(res: HttpResponse, r: Response): void {
  res.cork(() => {
    res.writeStatus(`${r.status} ${reasons[r.status] ?? ''}`.trim());
    for (const [k, v] of Object.entries(r.headers ?? {})) res.writeHeader(k, v);
    res.end(r.body);
  });
}

export class HttpServer {
  readonly #uws: Uws;
  readonly #app: TemplatedApp;
  readonly #log: Logger;
  #listenSocket: us_listen_socket | undefined;
  readonly #sockets = new Set<WebSocket<unknown>>();

  constructor(log: Logger) {
    const loaded = loadUws();
    this.#uws = loaded.uws;
    this.#app = this.#uws.App();
    this.#log = log;
    log.info('http: uWebSockets.js build loaded', { build: loaded.build, node: process.version, abi: process.versions.modules, skipped: loaded.skipped });
  }

  get(path: string, handler: Handler): this {
    this.#app.get(path, (res, req) => {
      let aborted = false;
      res.onAborted(() => (aborted = true));
      const request = readRequest(req); // req is only valid until the first await
      void (async () => {
        let response: Response;
        try {
          response = await handler(request);
        } catch (err) {
          this.#log.error('http handler failed', { path: request.path, error: (err as Error).message });
          response = { status: 500, headers: { 'content-type': 'text/plain' }, body: 'internal error\n' };
        }
        if (!aborted) write(res, response);
      })();
    });
    return this;
  }

  ws<T>(path: string, route: WsRoute<T>): this {
    const wrap = (ws: WebSocket<{ client: WsClient<T> }>): WsClient<T> => ws.getUserData().client;
    this.#app.ws<{ client: WsClient<T> }>(path, {
      maxBackpressure: route.maxBackpressure,
      maxPayloadLength: route.maxPayloadLength ?? 16 * 1024,
      closeOnBackpressureLimit: 0,
      idleTimeout: 120,
      sendPingsAutomatically: true,
      upgrade: (res, req, context) => {
        const request = readRequest(req);
        const key = req.getHeader('sec-websocket-key');
        const protocol = req.getHeader('sec-websocket-protocol');
        const extensions = req.getHeader('sec-websocket-extensions');
        const result = route.upgrade(request);
        if (typeof result === 'object' && result !== null && 'status' in result && 'body' in result) {
          write(res, result as Response);
          return;
        }
        // open() may run inside upgrade(): the user data is complete before the call.
        const holder = { client: { data: result as T } as WsClient<T> };
        res.upgrade(holder, key, protocol, extensions, context);
      },
      open: (ws) => {
        this.#sockets.add(ws as WebSocket<unknown>);
        const holder = ws.getUserData();
        const data = holder.client.data;
        holder.client = {
          data,
          send: (message, binary = false) => {
            const r = ws.send(message, binary);
            return r === 1 ? 'sent' : r === 0 ? 'buffered' : 'dropped';
          },
          bufferedAmount: () => ws.getBufferedAmount(),
          close: (code = 1000, reason = '') => ws.end(code, reason),
        };
        route.open?.(holder.client);
      },
      message: (ws, message, isBinary) => route.message?.(wrap(ws), Buffer.from(message).toString('utf8'), isBinary),
      drain: (ws) => route.drain?.(wrap(ws)),
      close: (ws) => {
        this.#sockets.delete(ws as WebSocket<unknown>);
        route.close?.(wrap(ws));
      },
    });
    return this;
  }

  /** Listens; resolves with the bound port (port 0 picks a free one). */
  listen(host: string, port: number): Promise<number> {
    // uWS closes the connection on a path no route matches: answer 404 instead.
    this.#app.any('/*', (res) => write(res, { status: 404, headers: { 'content-type': 'text/plain' }, body: 'not found\n' }));
    return new Promise((resolve, reject) => {
      this.#app.listen(host, port, (socket) => {
        if (!socket) {
          reject(new Error(`cannot listen on ${host}:${port}`));
          return;
        }
        this.#listenSocket = socket;
        resolve(this.#uws.us_socket_local_port(socket as never));
      });
    });
  }

  /**
   * Stops listening, closes every WebSocket with 1001, then every other connection (an idle
   * keep-alive HTTP connection, e.g. a scraper's, would otherwise hold the process for seconds).
   */
  close(): void {
    if (this.#listenSocket) this.#uws.us_listen_socket_close(this.#listenSocket);
    this.#listenSocket = undefined;
    for (const ws of this.#sockets) ws.end(1001, 'server stopping');
    this.#sockets.clear();
    (this.#app as TemplatedApp & { close?: () => void }).close?.();
  }
}
