// Exporter address -> tenant -> Kafka topic, from the routing section of config.yaml.
//
// Longest prefix wins across all tenants. IPv4 and IPv6 are separate spaces: an IPv4 exporter
// (which the receiver and decoder pass as ::ffff:a.b.c.d) matches IPv4 prefixes only, and ::/0
// does not catch IPv4 exporters. An exporter no prefix covers is unknown: it goes to
// routing.default_topic, or nowhere (topic null, counted as no_tenant) under unknown_exporters: drop.
//
// The match is written by hand as one map per prefix length, tried longest first: node:net's
// BlockList answers whether an address is in a set, not which prefix matched, and ipaddr.js
// parses but does no longest-prefix match. A lookup costs at most 33 (IPv4) or 129 (IPv6) map
// probes, and it runs once per exporter: results are cached, so the per-datagram cost is one
// Map.get on a number for IPv4 and a hash of four words for IPv6, with no allocation.
//
// Reload builds a new TenantRouter; the old one and its cache are dropped with it.
import { formatPrefix, isIPv4Mapped, mappedIPv4, maskIPv4, maskIPv6, parseIP, parsePrefix } from '../config/addresses.js';
import { ConfigError } from '../config/problems.js';
import type { Config } from '../config/schema.js';
import { hashWords, word } from '../net/address-map.js';

/** Where an exporter's records go. tenant null = unknown exporter; topic null = drop. Shared and frozen. */
export interface Route {
  readonly tenant: string | null;
  readonly topic: string | null;
}

/**
 * Exporters one router remembers. A deployment with more distinct exporters than this between
 * reloads would thrash, so when the cache is full it is cleared and refilled (one longest-prefix
 * match per exporter seen again) rather than evicted entry by entry, which would cost per datagram.
 */
export const ROUTE_CACHE_LIMIT = 65536;

/** A cached IPv6 exporter: its address as four 32-bit words, chained on hash collision. */
interface V6Entry {
  readonly w0: number;
  readonly w1: number;
  readonly w2: number;
  readonly w3: number;
  readonly route: Route;
  next: V6Entry | undefined;
}

function v6Key(v6: Uint8Array): string {
  return Buffer.from(v6.buffer, v6.byteOffset, 16).toString('hex');
}

export class TenantRouter {
  /** Prefix lengths in use, longest first, and per length: network -> route. */
  readonly #v4Lengths: number[];
  readonly #v4 = new Map<number, Map<number, Route>>();
  readonly #v6Lengths: number[];
  readonly #v6 = new Map<number, Map<string, Route>>();
  readonly #unknown: Route;
  /** IPv4 exporter (signed 32-bit, a small integer for V8, so Map.get allocates nothing) -> route. */
  readonly #v4Cache = new Map<number, Route>();
  /** Hash of an IPv6 exporter's words -> entries with that hash. */
  readonly #v6Cache = new Map<number, V6Entry>();
  #v6Cached = 0;

  /** Throws ConfigError for routing that config validation would have rejected. */
  constructor(routing: Config['routing']) {
    this.#unknown = Object.freeze({ tenant: null, topic: routing.unknown_exporters === 'drop' ? null : routing.default_topic });
    const owners = new Map<string, string>();
    const problems: string[] = [];
    routing.tenants.forEach((t, i) => {
      const route: Route = Object.freeze({ tenant: t.name, topic: t.topic });
      t.exporters.forEach((text, j) => {
        const where = `routing.tenants[${i}].exporters[${j}]`;
        const p = parsePrefix(text);
        if (typeof p === 'string') {
          problems.push(`${where}: ${p}`);
          return;
        }
        const canonical = formatPrefix(p);
        const owner = owners.get(canonical);
        if (owner !== undefined) {
          problems.push(`${where}: ${JSON.stringify(canonical)} is already an exporter of tenant ${JSON.stringify(owner)}`);
          return;
        }
        owners.set(canonical, t.name);
        if (p.family === 4) this.#table(this.#v4, p.length).set(p.v4, route);
        else this.#table(this.#v6, p.length).set(v6Key(p.v6), route);
      });
    });
    if (problems.length > 0) throw new ConfigError(problems);
    this.#v4Lengths = [...this.#v4.keys()].sort((a, b) => b - a);
    this.#v6Lengths = [...this.#v6.keys()].sort((a, b) => b - a);
  }

  #table<K>(tables: Map<number, Map<K, Route>>, length: number): Map<K, Route> {
    let table = tables.get(length);
    if (!table) tables.set(length, (table = new Map()));
    return table;
  }

  /** Exporters cached so far (IPv4 and IPv6). */
  get cacheSize(): number {
    return this.#v4Cache.size + this.#v6Cached;
  }

  /**
   * Route for the exporter whose address is the 16 bytes at `offset` (IPv4 as ::ffff:a.b.c.d,
   * as the receiver and decoder pass it). Called once per datagram; computed once per exporter.
   */
  route(address: Uint8Array, offset = 0): Route {
    if (isIPv4Mapped(address, offset)) return this.#routeV4(mappedIPv4(address, offset));
    const w0 = word(address, offset), w1 = word(address, offset + 4), w2 = word(address, offset + 8), w3 = word(address, offset + 12);
    const hash = hashWords(w0, w1, w2, w3);
    const head = this.#v6Cache.get(hash);
    for (let e = head; e !== undefined; e = e.next) {
      if (e.w0 === w0 && e.w1 === w1 && e.w2 === w2 && e.w3 === w3) return e.route;
    }
    const route = this.#matchV6(address.subarray(offset, offset + 16));
    if (this.cacheSize >= ROUTE_CACHE_LIMIT) this.#clearCache();
    this.#v6Cache.set(hash, { w0, w1, w2, w3, route, next: this.#v6Cache.get(hash) });
    this.#v6Cached++;
    return route;
  }

  /** Same for an address as text: IPv4 dotted, IPv6, or IPv4-mapped IPv6 (routed as IPv4). Throws RangeError if it is neither. */
  routeText(address: string): Route {
    const ip = parseIP(address);
    if (ip === null) throw new RangeError(`not an IPv4 or IPv6 address: ${JSON.stringify(address)}`);
    return ip.family === 4 ? this.#routeV4(ip.v4) : this.route(ip.v6, 0);
  }

  #routeV4(v4: number): Route {
    let route = this.#v4Cache.get(v4);
    if (route === undefined) {
      route = this.#matchV4(v4);
      if (this.cacheSize >= ROUTE_CACHE_LIMIT) this.#clearCache();
      this.#v4Cache.set(v4, route);
    }
    return route;
  }

  #matchV4(v4: number): Route {
    for (const length of this.#v4Lengths) {
      const route = this.#v4.get(length)!.get(maskIPv4(v4, length));
      if (route !== undefined) return route;
    }
    return this.#unknown;
  }

  #matchV6(v6: Uint8Array): Route {
    for (const length of this.#v6Lengths) {
      const route = this.#v6.get(length)!.get(v6Key(maskIPv6(v6, length)));
      if (route !== undefined) return route;
    }
    return this.#unknown;
  }

  #clearCache(): void {
    this.#v4Cache.clear();
    this.#v6Cache.clear();
    this.#v6Cached = 0;
  }
}
