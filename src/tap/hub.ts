// The live tap's main-thread side: WebSocket /tap, fed by the decoder workers' forwarders
// (forwarder.ts) through a TapSource (source.ts: the decoder pool), and its page (page-routes.ts).
//
//   ws://HOST:PORT/tap?token=TOKEN        (or the header "Authorization: Bearer TOKEN")
//
// Tokens: http.admin_token sees every tenant; routing.tenants[].tap_token sees that tenant's
// records only, whatever its filter says. When any token is configured, an upgrade without a
// valid one is refused (401). With none configured the tap is open to anyone who reaches the
// port and sees everything. Tokens are checked by http/auth.ts (constant time, on SHA-256
// digests), kept only as digests, and never logged; its TokenGate, shared with the APIs, answers
// 429 without checking the token to an address that failed too often (http.auth_failures_max).
//
// Caps (config tap.*): at most max_clients connections (503 beyond) and, per tenant token,
// max_clients_per_tenant (429 beyond; the admin token and an open tap count towards max_clients
// only); a client message over max_message_bytes closes the client (uWS's maxPayloadLength);
// filters are limited as filter.ts says. Each refusal is counted (flowgate_tap_refused_total).
//
// Client -> server: a text frame holding a filter (see filter.ts) sets or replaces the
// filter; an invalid one is answered with an error frame and the filter stays as it was.
// Server -> client: text frames of one or more lines, each line one JSON object. A line with a
// "type" key is a control message (records never have one):
//   {"type":"hello","tenant":"acme"|null,"filter":{...}}        on connect (tenant: the token's scope)
//   {"type":"filter","filter":{...}}                            a filter was accepted (normalised)
//   {"type":"error","error":"..."}                              a filter was refused
//   {"type":"stats","sent":N,"skipped":{"rate_limit":N,"slow_client":N,"worker_cap":N,"ingest_busy":N}}
//                                                               about once a second, when changed
// Any other line is one record, byte for byte the JSON sent to Kafka (with kafka.format protobuf,
// its FlowMessage read back under FlowGate's record names: flow-message.ts). The records of one worker
// batch (every 100 ms) that a client gets travel in one frame.
//
// Cost: workers forward nothing while no client is connected; with clients they forward only the
// tenants and exporters some filter can match, at most TAP_WORKER_MAX records/s each. Here each
// forwarded record is JSON.parse'd once (shared by all clients) only when some filter tests
// src, dst, port or proto: that is what the workers' cap bounds.
//
// Never slows ingest: nothing here waits on a client. Each client has a token bucket (its
// max_rate, one second of burst; excess counted as rate_limit), and when more than
// SLOW_CLIENT_BYTES are buffered for it its records are skipped (slow_client); a client that
// stays over that for SLOW_CLIENT_CLOSE_MS is closed with code 4000.
import type { HttpServer, Request, Response, WsClient } from '../http/server.js';
import { authLimits, tokenDigest, digestsMatch, TokenGate } from '../http/auth.js';
import { defaultFilter, parseFilter, tooBroad, type TapFilter } from './filter.js';
import { mountTapPage } from './page-routes.js';
import { UNKNOWN_TENANT } from '../pipeline/stats.js';
import { tapRefuseReasons, tapSkipReasons, zeroCounts, type TapRefuseReason, type TapSkipReason } from '../pipeline/drop-reasons.js';
import type { TapBatch, TapSpec } from './forwarder.js';
import type { TapSource } from './source.js';
import type { Config } from '../config/schema.js';
import type { Logger } from '../log.js';

export type { TapSkipReason, TapRefuseReason };

export interface TapHub {
  /** Connected tap clients (for a gauge). */
  clients(): number;
  /** Records sent to clients (counter). */
  sentRecords(): number;
  /** Records skipped, by reason (counter); worker_cap sums what the workers' cap left out. */
  skippedRecords(): Record<TapSkipReason, number>;
  /** Upgrades, clients, messages and filters refused, by reason (counter). */
  refused(): Record<TapRefuseReason, number>;
  /** Tokens or tenants changed: re-checks live clients' tokens and closes those no longer valid. */
  reload(config: Config): void;
  close(): void;
}

/** Records per second one worker forwards at most (the main thread parses at most workers x this). */
export const TAP_WORKER_MAX = 10_000;
/** Bytes buffered for a client beyond which its records are skipped. */
export const SLOW_CLIENT_BYTES = 1 << 20;
/** A client over SLOW_CLIENT_BYTES this long is closed. */
export const SLOW_CLIENT_CLOSE_MS = 5_000;
/**
 * Bytes uWS buffers per client at most; a frame that would go past it is dropped (counted as
 * slow_client). Over SLOW_CLIENT_BYTES nothing more is queued, so this only has to hold one
 * batch frame on top (at most TAP_WORKER_MAX records, a few MiB).
 */
const MAX_BACKPRESSURE = 8 * SLOW_CLIENT_BYTES;
// tap.max_clients bounds tap memory to max_clients x MAX_BACKPRESSURE (256 MiB at the default 32).

export const CLOSE_TOO_SLOW = 4000;
export const CLOSE_TOKEN_REVOKED = 1008;

interface ClientState {
  readonly id: number;
  /** The token's tenant, or null for all tenants (admin token, or no tokens configured). */
  scope: string | null;
  /** SHA-256 of the token the client connected with (null: none). */
  readonly tokenDigest: Buffer | null;
  filter: TapFilter;
  bucket: number;
  bucketAt: number;
  slowSince: number | undefined;
  sent: number;
  skipped: { rate_limit: number; slow_client: number };
  /** ingest_busy total when the client connected. */
  ingestBusyAtOpen: number;
  /** worker_cap total when the client connected (its stats show what was skipped since). */
  readonly workerCapAtOpen: number;
  lastStats: string;
  ws: WsClient<ClientState> | undefined;
}

interface Grant {
  digest: Buffer;
  tenant: string | null;
}

export interface TapDeps {
  /** The workers' side: what to forward, and their batches. */
  source: TapSource;
  /** The configuration at mount (tokens, tenants); reload() brings the next. */
  config: Config;
  log: Logger;
  /** Token checks with the per-address failure limit (the APIs' own); default: one of the tap's own. */
  gate?: TokenGate;
}

export function mountTap(server: HttpServer, deps: TapDeps): TapHub {
  const { source } = deps;
  const log = deps.log.child({ component: 'tap' });
  const clients = new Set<ClientState>();
  const skipped = zeroCounts(tapSkipReasons);
  const refused = zeroCounts(tapRefuseReasons);
  const gate = deps.gate ?? new TokenGate(authLimits(deps.config.http), deps.log);
  /** Fixed at mount: uWS takes it with the route. */
  const maxMessageBytes = deps.config.tap.max_message_bytes;
  let limits = deps.config.tap;
  let sent = 0;
  let nextId = 1;
  let grants: Grant[] = [];
  let tenants = new Set<string>();
  let lastSpec = 'null';
  let closed = false;

  const configure = (config: Config): void => {
    grants = [];
    if (config.http.admin_token) grants.push({ digest: tokenDigest(config.http.admin_token), tenant: null });
    for (const t of config.routing.tenants) if (t.tap_token) grants.push({ digest: tokenDigest(t.tap_token), tenant: t.name });
    tenants = new Set([...config.routing.tenants.map((t) => t.name), UNKNOWN_TENANT]);
    if (config.tap.max_message_bytes !== maxMessageBytes) log.warn('tap.max_message_bytes: changed, takes effect after a restart', { running: maxMessageBytes });
    limits = config.tap;
  };
  configure(deps.config);

  /**
   * What a token digest may see: { tenant } (null = all), or undefined when refused. Every grant
   * is compared, whichever matches, so the time taken does not say which one did. The admin
   * token wins over a tenant token equal to it.
   */
  const authorize = (given: Buffer | null): { tenant: string | null } | undefined => {
    if (grants.length === 0) return { tenant: null };
    if (given === null) return undefined;
    let match: Grant | undefined;
    for (const g of grants) if (digestsMatch(given, g.digest) && match === undefined) match = g;
    return match && { tenant: match.tenant };
  };

  /** Union of what clients may match, tenant and exporter only: what the workers can test. */
  const updateSpec = (): void => {
    let spec: TapSpec | null = null;
    if (clients.size > 0) {
      let tenantsWanted: Set<string> | null = new Set();
      let exporters: Set<string> | null = new Set();
      let demand = 0;
      let fine = false;
      for (const c of clients) {
        const tenant = c.scope ?? c.filter.tenant;
        if (tenant === null) tenantsWanted = null;
        else tenantsWanted?.add(tenant);
        if (c.filter.view.exporter === null) exporters = null;
        else exporters?.add(c.filter.view.exporter);
        demand += c.filter.maxRate;
        fine ||= c.filter.fine;
      }
      // A filter the workers cannot test (src, dst, port, proto) may match few of what they
      // forward: they then forward up to their cap, not just the clients' rates.
      spec = {
        tenants: tenantsWanted && [...tenantsWanted].sort(),
        exporters: exporters && [...exporters].sort(),
        maxRecordsPerSecond: fine ? TAP_WORKER_MAX : Math.min(TAP_WORKER_MAX, demand),
      };
    }
    const text = JSON.stringify(spec);
    if (text === lastSpec) return;
    lastSpec = text;
    source.setTap(spec);
  };

  const control = (c: ClientState, message: Record<string, unknown>): void => {
    c.ws?.send(JSON.stringify(message));
  };

  const statsMessage = (c: ClientState): string =>
    JSON.stringify({ type: 'stats', sent: c.sent, skipped: { ...c.skipped, worker_cap: skipped.worker_cap - c.workerCapAtOpen, ingest_busy: skipped.ingest_busy - c.ingestBusyAtOpen } });

  const dispatch = (batch: TapBatch): void => {
    skipped.worker_cap += batch.skipped;
    skipped.ingest_busy += batch.busy;
    if (clients.size === 0 || batch.records.length === 0) return;
    const now = Date.now();
    const records = batch.records;
    /** Parsed records, shared by the clients that need them; null = did not parse. */
    const parsed: (Record<string, unknown> | null | undefined)[] = new Array(records.length);
    for (const c of [...clients]) {
      const ws = c.ws;
      if (!ws) continue;
      const f = c.filter;
      const lines: string[] = [];
      let matched = 0;
      const slow = ws.bufferedAmount() > SLOW_CLIENT_BYTES;
      if (!slow) {
        c.bucket = Math.min(f.maxRate, c.bucket + ((now - c.bucketAt) * f.maxRate) / 1000);
        c.bucketAt = now;
      }
      for (let i = 0; i < records.length; i++) {
        const r = records[i]!;
        if (c.scope !== null && r.tenant !== c.scope) continue;
        if (f.tenant !== null && r.tenant !== f.tenant) continue;
        if (f.exporter !== null && !f.exporter.has(r.exporter)) continue;
        if (f.fine) {
          let p = parsed[i];
          if (p === undefined) {
            try {
              p = JSON.parse(r.json) as Record<string, unknown>;
            } catch {
              p = null;
            }
            parsed[i] = p;
          }
          if (p === null || !f.matches(p)) continue;
        }
        matched++;
        if (slow) continue;
        if (c.bucket >= 1) {
          c.bucket--;
          lines.push(r.json);
        } else {
          c.skipped.rate_limit++;
          skipped.rate_limit++;
        }
      }
      if (slow) {
        c.slowSince ??= now;
        c.skipped.slow_client += matched;
        skipped.slow_client += matched;
        continue;
      }
      if (lines.length === 0) continue;
      if (ws.send(lines.join('\n')) === 'dropped') {
        c.skipped.slow_client += lines.length;
        skipped.slow_client += lines.length;
      } else {
        c.sent += lines.length;
        sent += lines.length;
      }
    }
  };

  /** Once a second: close clients that stayed slow, send each the stats that changed. */
  const tick = (): void => {
    const now = Date.now();
    for (const c of [...clients]) {
      const ws = c.ws;
      if (!ws) continue;
      if (ws.bufferedAmount() > SLOW_CLIENT_BYTES) {
        c.slowSince ??= now;
        if (now - c.slowSince >= SLOW_CLIENT_CLOSE_MS) {
          log.info('tap client closed: too slow', { client: c.id, tenant: c.scope, bufferedBytes: ws.bufferedAmount(), skipped: c.skipped.slow_client });
          ws.close(CLOSE_TOO_SLOW, 'too slow: records were skipped for 5 s');
        }
        continue;
      }
      c.slowSince = undefined;
      const stats = statsMessage(c);
      if (stats !== c.lastStats) {
        c.lastStats = stats;
        ws.send(stats);
      }
    }
  };
  const timer = setInterval(tick, 1000);
  timer.unref();

  const unsubscribe = source.subscribeTap(dispatch);

  const refuse = (status: number, body: string): Response => ({
    status,
    headers: { 'content-type': 'text/plain; charset=utf-8', ...(status === 401 ? { 'www-authenticate': 'Bearer' } : {}) },
    body,
  });
  const unauthorized = refuse(401, 'a valid tap token is required (?token=, or Authorization: Bearer)\n');

  /** The token's digest and what it may see; an open tap (no tokens) lets everyone in unchecked. */
  const admit = (req: Request): { digest: Buffer | null; tenant: string | null } | Response => {
    if (grants.length === 0) return { digest: null, tenant: null };
    const checked = gate.check(req, (token) => {
      const digest = token === undefined || token === '' ? null : tokenDigest(token);
      const grant = authorize(digest);
      return grant && { digest, tenant: grant.tenant };
    }, unauthorized);
    return checked.ok ? checked.grant : checked.response;
  };

  server.ws<ClientState>('/tap', {
    maxBackpressure: MAX_BACKPRESSURE,
    maxPayloadLength: maxMessageBytes,
    upgrade(req: Request): ClientState | Response {
      if (closed) return refuse(503, 'the tap is stopping\n');
      const admitted = admit(req);
      if ('status' in admitted) return admitted;
      if (clients.size >= limits.max_clients) {
        refused.clients_full++;
        return refuse(503, `too many tap clients (at most ${limits.max_clients}: tap.max_clients)\n`);
      }
      if (admitted.tenant !== null) {
        let same = 0;
        for (const c of clients) if (c.scope === admitted.tenant) same++;
        if (same >= limits.max_clients_per_tenant) {
          refused.tenant_clients_full++;
          return refuse(429, `too many tap clients for tenant ${admitted.tenant} (at most ${limits.max_clients_per_tenant}: tap.max_clients_per_tenant)\n`);
        }
      }
      const filter = defaultFilter();
      return {
        id: nextId++, scope: admitted.tenant, tokenDigest: admitted.digest, filter, bucket: filter.maxRate, bucketAt: Date.now(), slowSince: undefined,
        sent: 0, skipped: { rate_limit: 0, slow_client: 0 }, workerCapAtOpen: skipped.worker_cap, ingestBusyAtOpen: skipped.ingest_busy, lastStats: '', ws: undefined,
      };
    },
    open(ws) {
      const c = ws.data;
      c.ws = ws;
      clients.add(c);
      c.lastStats = statsMessage(c);
      control(c, { type: 'hello', tenant: c.scope, filter: c.filter.view });
      log.info('tap client connected', { client: c.id, tenant: c.scope, clients: clients.size });
      updateSpec();
    },
    message(ws, text) {
      const c = ws.data;
      const filter = parseFilter(text, { scope: c.scope, tenants });
      if (typeof filter === 'string') {
        refused.filter_invalid++;
        control(c, { type: 'error', error: filter });
        return;
      }
      const broad = tooBroad(filter);
      if (broad !== undefined) {
        refused.filter_too_broad++;
        control(c, { type: 'error', error: broad });
        return;
      }
      c.filter = filter;
      c.bucket = filter.maxRate;
      c.bucketAt = Date.now();
      control(c, { type: 'filter', filter: filter.view });
      updateSpec();
    },
    close(ws, info) {
      const c = ws.data;
      c.ws = undefined;
      if (info.messageTooLarge) {
        refused.message_too_large++;
        log.info('tap client closed: message too large', { client: c.id, tenant: c.scope, maxMessageBytes });
      }
      if (!clients.delete(c)) return;
      log.info('tap client disconnected', { client: c.id, tenant: c.scope, sent: c.sent, skipped: c.skipped, clients: clients.size });
      if (!closed) updateSpec();
    },
  });

  mountTapPage(server);

  return {
    clients: () => clients.size,
    sentRecords: () => sent,
    skippedRecords: () => ({ ...skipped }),
    refused: () => ({ ...refused }),
    reload(config: Config): void {
      configure(config);
      if (!deps.gate) gate.limiter.configure(authLimits(config.http)); // a shared gate is the APIs' to configure
      for (const c of [...clients]) {
        if (grants.length === 0) continue; // open tap: everyone may stay
        const grant = authorize(c.tokenDigest);
        if (grant && grant.tenant === c.scope) continue;
        log.info('tap client closed: token no longer valid', { client: c.id, tenant: c.scope });
        c.ws?.close(CLOSE_TOKEN_REVOKED, 'token no longer valid');
      }
      updateSpec();
    },
    close(): void {
      if (closed) return;
      closed = true;
      clearInterval(timer);
      unsubscribe();
      for (const c of [...clients]) c.ws?.close(1001, 'server stopping');
      clients.clear();
      lastSpec = 'null';
      source.setTap(null);
    },
  };
}
