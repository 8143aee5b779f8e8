// HTTP and WebSocket serving on uWebSockets.js (loaded by ./uws.ts, the only module that imports
// it). Swapping the library means rewriting these two files alone: the rest of FlowGate sees
// plain routes, responses and WebSocket clients.
//
// Size limits: a request declaring a body (content-length) over maxBodyBytes is answered 413 and
// its connection closed, on every route, before a handler runs (no route reads a body today,
// so nothing else is ever buffered); counted. uWS enforces the rest itself: the request line
// and headers must fit its header buffer (the newer build: UWS_HTTP_MAX_HEADERS_SIZE, 4 KiB by
// default, answered 431; the older one closes the connection past about 128 KiB or 50
// headers), and a WebSocket message over the route's maxPayloadLength closes the connection
// (code 1006, reported to the route's close() as messageTooLarge).
import { formatIPv4, formatIPv6, parseIP } from '../config/addresses.js';
import { loadUws, type TemplatedApp, type HttpResponse, type HttpRequest, type WebSocket, type us_listen_socket, type Uws } from './uws.js';
import { httpRefuseReasons, zeroCounts, type HttpRefuseReason } from '../pipeline/drop-reasons.js';
import type { Logger } from '../log.js';

export interface Request {
  method: string;
  path: string;
  query: URLSearchParams;
  /** Lower-case header names. */
  headers: Record<string, string>;
  /** The peer's address (IPv4 dotted, IPv6 in RFC 5952 text; IPv4-mapped as IPv4). */
  remoteAddress: string;
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
  close?(client: WsClient<T>, info: WsCloseInfo): void;
  /** Bytes buffered per client before sends are dropped. */
  maxBackpressure: number;
  /** Largest message a client may send; a larger one closes its connection. */
  maxPayloadLength?: number;
}

export interface WsCloseInfo {
  code: number;
  /** The client sent a message over the route's maxPayloadLength. */
  messageTooLarge: boolean;
}

export interface HttpServerOptions {
  /** Largest request body accepted (content-length); larger requests get 413. */
  maxBodyBytes: number;
}

/** The reason uWS gives close() when a message was over maxPayloadLength (its ERR_TOO_BIG_MESSAGE). */
const TOO_BIG_MESSAGE = 'Received too big message';

const reasons: Record<number, string> = {
  200: 'OK', 204: 'No Content', 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 413: 'Content Too Large',
  429: 'Too Many Requests', 500: 'Internal Server Error', 503: 'Service Unavailable',
};

/** uWS gives IPv6 text in full ("0000:...:ffff:7f00:0001"); written the way the rest of FlowGate writes addresses. */
function peerAddress(res: HttpResponse): string {
  const text = Buffer.from(res.getRemoteAddressAsText()).toString('latin1');
  const ip = parseIP(text);
  return ip === null ? text : ip.family === 4 ? formatIPv4(ip.v4) : formatIPv6(ip.v6);
}

function readRequest(req: HttpRequest, res: HttpResponse): Request {
  const headers: Record<string, string> = {};
  req.forEach((k, v) => (headers[k] = v));
  return { method: req.getMethod().toUpperCase(), path: req.getUrl(), query: new URLSearchParams(req.getQuery() ?? ''), headers, remoteAddress: peerAddress(res) };
}

/** `closeConnection`: after a refusal whose body is not read (uWS would otherwise read on). */
function write(res: HttpResponse, r: Response, closeConnection = false): void {
  res.cork(() => {
    res.writeStatus(`${r.status} ${reasons[r.status] ?? ''}`.trim());
    for (const [k, v] of Object.entries(r.headers ?? {})) res.writeHeader(k, v);
    res.end(r.body, closeConnection);
  });
}

export class HttpServer {
  readonly #uws: Uws;
  readonly #app: TemplatedApp;
  readonly #log: Logger;
  #listenSocket: us_listen_socket | undefined;
  readonly #sockets = new Set<WebSocket<unknown>>();
  readonly #refused = zeroCounts(httpRefuseReasons);
  #options: HttpServerOptions;

  constructor(log: Logger, options: HttpServerOptions = { maxBodyBytes: 65_536 }) {
    this.#options = options;
    const loaded = loadUws();
    this.#uws = loaded.uws;
    this.#app = this.#uws.App();
    this.#log = log;
    log.info('http: uWebSockets.js build loaded', { build: loaded.build, node: process.version, abi: process.versions.modules, skipped: loaded.skipped });
  }

  /** New limits (a reload): they apply to the next requests. */
  configure(options: HttpServerOptions): void {
    this.#options = options;
  }

  /** Requests refused by the server itself, by reason (counter). */
  refused(): Record<HttpRefuseReason, number> {
    return { ...this.#refused };
  }

  /** A 413 answer (and the connection closed) when the request declares too large a body. */
  #tooLarge(req: HttpRequest): Response | undefined {
    const declared = req.getHeader('content-length');
    if (declared === '' || Number(declared) <= this.#options.maxBodyBytes) return undefined;
    this.#refused.body_too_large++;
    return { status: 413, headers: { 'content-type': 'text/plain; charset=utf-8' }, body: `request bodies are limited to ${this.#options.maxBodyBytes} bytes (http.max_body_bytes)\n` };
  }

  get(path: string, handler: Handler): this {
    this.#app.get(path, (res, req) => {
      const tooLarge = this.#tooLarge(req);
      if (tooLarge) {
        write(res, tooLarge, true);
        return;
      }
      let aborted = false;
      res.onAborted(() => (aborted = true));
      const request = readRequest(req, res); // req is only valid until the first await
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
        const tooLarge = this.#tooLarge(req);
        if (tooLarge) {
          write(res, tooLarge, true);
          return;
        }
        const request = readRequest(req, res);
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
      close: (ws, code, message) => {
        this.#sockets.delete(ws as WebSocket<unknown>);
        const messageTooLarge = code === 1006 && Buffer.from(message).toString('latin1').startsWith(TOO_BIG_MESSAGE);
        route.close?.(wrap(ws), { code, messageTooLarge });
      },
    });
    return this;
  }

  /** Listens; resolves with the bound port (port 0 picks a free one). */
  listen(host: string, port: number): Promise<number> {
    // uWS closes the connection on a path no route matches: answer 404 instead.
    this.#app.any('/*', (res, req) => {
      const tooLarge = this.#tooLarge(req);
      write(res, tooLarge ?? { status: 404, headers: { 'content-type': 'text/plain' }, body: 'not found\n' }, tooLarge !== undefined);
    });
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
