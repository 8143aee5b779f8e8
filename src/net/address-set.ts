// A set of IPv4 / IPv6 addresses and CIDR prefixes, asked about addresses in text. Shared by the
// live tap's filters and the receiver's admission (udp/admission.ts).
import { parseIP, parsePrefix, maskIPv4, maskIPv6, type Prefix } from '../config/addresses.js';

/** Answers kept per AddressSet before its cache is cleared (exporters or flow addresses seen). */
const ADDRESS_CACHE_LIMIT = 4096;

/**
 * A set of IPv4 / IPv6 addresses and CIDR prefixes, asked about addresses in text (as records
 * write them: dotted IPv4, RFC 5952 IPv6). IPv4-mapped IPv6 is IPv4, as in the router. Answers
 * are cached per text, so asking about the same exporter per datagram costs one Map.get.
 */
export class AddressSet {
  readonly #prefixes: Prefix[];
  readonly #cache = new Map<string, boolean>();

  /** Throws RangeError naming the first entry that is not an address or prefix. */
  constructor(entries: readonly string[]) {
    this.#prefixes = entries.map((text) => {
      const p = parsePrefix(text);
      if (typeof p === 'string') throw new RangeError(p);
      return p;
    });
  }

  /** Whether `address` (text; anything else, null included, is never in the set) is covered. */
  has(address: unknown): boolean {
    if (typeof address !== 'string') return false;
    let hit = this.#cache.get(address);
    if (hit === undefined) {
      hit = this.#match(address);
      if (this.#cache.size >= ADDRESS_CACHE_LIMIT) this.#cache.clear();
      this.#cache.set(address, hit);
    }
    return hit;
  }

  #match(text: string): boolean {
    const ip = parseIP(text);
    if (ip === null) return false;
    for (const p of this.#prefixes) {
      if (p.family !== ip.family) continue;
      if (p.family === 4 && ip.family === 4) {
        if (maskIPv4(ip.v4, p.length) === p.v4) return true;
      } else if (p.family === 6 && ip.family === 6) {
        const masked = maskIPv6(ip.v6, p.length);
        if (masked.every((b, i) => b === p.v6[i])) return true;
      }
    }
    return false;
  }
}

