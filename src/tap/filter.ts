// A live tap client's filter: the JSON message it sends, validated, and the test each record
// must pass. Every key is optional; a message replaces the whole filter ({} = everything the
// token may see):
//
//   {"tenant":"acme","exporter":"192.0.2.0/24","src":"10.0.0.0/8","dst":"2001:db8::/32",
//    "port":443,"proto":6,"max_rate":500}
//
// tenant and exporter are known per datagram, so the workers narrow by them before anything
// crosses to the main thread; src, dst, port (either side) and proto need the record itself,
// so they are tested here on the parsed JSON.
//
// How much a filter may ask for (the rule, so no filter costs more than the caps allow):
// - at most one value per key, so at most six terms, all ANDed; no lists, no wildcards (a
//   list or a pattern is refused as invalid), and the message itself at most
//   tap.max_message_bytes (1 KiB by default: a larger one closes the client, hub.ts);
// - an address term (exporter, src, dst) of prefix length 0 ("0.0.0.0/0", "::/0") is refused as
//   too broad (tooBroad below): it narrows nothing but a family, and a src or dst term makes the
//   workers forward up to their cap and the main thread parse every record for it;
// - however much a filter matches, {} included, a client gets at most its max_rate records/s
//   (1 to 10,000) and the workers forward at most TAP_WORKER_MAX each (hub.ts): what those caps
//   leave out is counted (rate_limit, worker_cap), never queued.
import { formatPrefix, parsePrefix } from '../config/addresses.js';
import { AddressSet } from '../net/address-set.js';

/** Records per second a client gets when its filter names no max_rate, and the most it may ask for. */
export const DEFAULT_MAX_RATE = 1_000;
export const MAX_RATE_LIMIT = 10_000;

/** The filter as the client sees it echoed: normalised (canonical prefixes), null = any. */
export interface FilterView {
  tenant: string | null;
  exporter: string | null;
  src: string | null;
  dst: string | null;
  port: number | null;
  proto: number | null;
  max_rate: number;
}

export interface TapFilter {
  readonly view: FilterView;
  readonly tenant: string | null;
  readonly exporter: AddressSet | null;
  /** True when a record must be parsed to be tested (src, dst, port or proto set). */
  readonly fine: boolean;
  readonly maxRate: number;
  /** The fine part of the test, on a parsed record. */
  matches(record: Record<string, unknown>): boolean;
}

const keys = ['tenant', 'exporter', 'src', 'dst', 'port', 'proto', 'max_rate'] as const;

/** Who the client is: `scope` is its token's tenant (null: all tenants); `tenants` those that exist. */
export interface FilterContext {
  scope: string | null;
  tenants: ReadonlySet<string>;
}

function prefix(key: string, v: unknown): string {
  if (typeof v !== 'string') throw new FilterError(`${key}: expected an IPv4/IPv6 address or CIDR prefix as a string`);
  const p = parsePrefix(v);
  if (typeof p === 'string') throw new FilterError(`${key}: ${p}`);
  return formatPrefix(p);
}

function integer(key: string, v: unknown, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw new FilterError(`${key}: expected an integer from ${min} to ${max}, got ${JSON.stringify(v)}`);
  return v;
}

class FilterError extends Error {}

/** Builds a filter from its view (already validated). */
function compile(view: FilterView): TapFilter {
  const src = view.src === null ? null : new AddressSet([view.src]);
  const dst = view.dst === null ? null : new AddressSet([view.dst]);
  const { port, proto } = view;
  return {
    view,
    tenant: view.tenant,
    exporter: view.exporter === null ? null : new AddressSet([view.exporter]),
    fine: src !== null || dst !== null || port !== null || proto !== null,
    maxRate: view.max_rate,
    matches(r) {
      if (proto !== null && r.proto !== proto) return false;
      if (port !== null && r.srcp !== port && r.dstp !== port) return false;
      if (src !== null && !src.has(r.src)) return false;
      if (dst !== null && !dst.has(r.dst)) return false;
      return true;
    },
  };
}

/** The filter of a client that sent none: everything its token may see, at the default rate. */
export function defaultFilter(): TapFilter {
  return compile({ tenant: null, exporter: null, src: null, dst: null, port: null, proto: null, max_rate: DEFAULT_MAX_RATE });
}

/**
 * Why a valid filter is refused as too broad (see the rule above), or undefined when it is not.
 * Kept apart from parseFilter: that one says what a filter means, this one what the tap allows.
 */
export function tooBroad(filter: TapFilter): string | undefined {
  for (const key of ['exporter', 'src', 'dst'] as const) {
    const value = filter.view[key];
    if (value !== null && value.endsWith('/0')) return `${key}: ${value} matches every address of its family: leave ${key} out to see every record`;
  }
  return undefined;
}

/** Parses a filter message; returns the problem text when it is not a valid filter. */
export function parseFilter(text: string, context: FilterContext): TapFilter | string {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return 'a filter is a JSON object, e.g. {"proto":6,"port":443}';
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return 'a filter is a JSON object, e.g. {"proto":6,"port":443}';
  const given = body as Record<string, unknown>;
  const unknown = Object.keys(given).filter((k) => !(keys as readonly string[]).includes(k));
  if (unknown.length) return `unknown filter key${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => JSON.stringify(k)).join(', ')} (known: ${keys.join(', ')})`;
  const set = (k: (typeof keys)[number]) => given[k] !== undefined && given[k] !== null && given[k] !== '';
  try {
    let tenant: string | null = null;
    if (set('tenant')) {
      if (typeof given.tenant !== 'string') throw new FilterError('tenant: expected a tenant name as a string');
      tenant = given.tenant;
      if (context.scope !== null && tenant !== context.scope) throw new FilterError(`tenant: this token sees tenant ${JSON.stringify(context.scope)} only`);
      if (!context.tenants.has(tenant)) throw new FilterError(`tenant: no tenant ${JSON.stringify(tenant)} (known: ${[...context.tenants].join(', ')})`);
    }
    return compile({
      tenant,
      exporter: set('exporter') ? prefix('exporter', given.exporter) : null,
      src: set('src') ? prefix('src', given.src) : null,
      dst: set('dst') ? prefix('dst', given.dst) : null,
      port: set('port') ? integer('port', given.port, 0, 65535) : null,
      proto: set('proto') ? integer('proto', given.proto, 0, 255) : null,
      max_rate: set('max_rate') ? integer('max_rate', given.max_rate, 1, MAX_RATE_LIMIT) : DEFAULT_MAX_RATE,
    });
  } catch (err) {
    if (err instanceof FilterError) return err.message;
    throw err;
  }
}
