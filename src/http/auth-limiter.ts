// Failed token attempts per client address, so a token cannot be guessed at network speed. An
// address that fails `maxFailures` times within `windowMs` is refused (429) without its token
// being checked, for `windowMs` from its last counted failure; refused attempts do not count,
// so a client that keeps trying is let in again once the window has passed.
//
// Keys: an IPv4 address, or an IPv6 address's /64 (one host usually holds a whole /64, so
// keying by address would let it try 2^64 times). TCP peers cannot be forged, but many can
// exist: the table holds at most `maxAddresses` keys. Entries are kept in the order their window
// started, so expired ones are found at the front, and when the table is full the entry whose
// window ends soonest is forgotten (counted in `evictions`). Behind a reverse proxy every client
// has the proxy's address: the proxy should do this limiting itself.
import { formatIPv4, formatPrefix, maskIPv6, parseIP } from '../config/addresses.js';

export interface AuthLimits {
  /** Failures within a window after which an address is refused. */
  readonly maxFailures: number;
  readonly windowMs: number;
  /** Addresses tracked at most. */
  readonly maxAddresses: number;
}

interface Entry {
  /** When the window started: the first failure, or the failure that reached maxFailures. */
  since: number;
  failures: number;
}

/** The key an address is limited by: IPv4 as dotted quad (IPv4-mapped too), IPv6 as its /64. */
export function clientKey(address: string): string {
  const ip = parseIP(address);
  if (ip === null) return address;
  return ip.family === 4 ? formatIPv4(ip.v4) : formatPrefix({ family: 6, v6: maskIPv6(ip.v6, 64), length: 64 });
}

export class AuthFailureLimiter {
  #limits: AuthLimits;
  /** Insertion order = window start order (an entry whose window restarts is moved to the end). */
  readonly #entries = new Map<string, Entry>();
  /** Entries forgotten before their window ended, to make room. */
  evictions = 0;

  constructor(limits: AuthLimits) {
    this.#limits = limits;
  }

  /** New limits (a reload); entries already counted are kept. */
  configure(limits: AuthLimits): void {
    this.#limits = limits;
    this.#expire(Date.now());
    while (this.#entries.size > limits.maxAddresses) this.#evictOldest();
  }

  get windowMs(): number {
    return this.#limits.windowMs;
  }

  /** Addresses tracked now. */
  get size(): number {
    return this.#entries.size;
  }

  /** 0 when `key` may try a token now; otherwise ms until it may. */
  retryAfterMs(key: string, now = Date.now()): number {
    const e = this.#entries.get(key);
    if (!e) return 0;
    const left = e.since + this.#limits.windowMs - now;
    if (left <= 0) {
      this.#entries.delete(key);
      return 0;
    }
    return e.failures >= this.#limits.maxFailures ? left : 0;
  }

  /** Counts a failed attempt by `key`; true when this failure starts its refusal. */
  recordFailure(key: string, now = Date.now()): boolean {
    const { maxFailures, windowMs } = this.#limits;
    let e = this.#entries.get(key);
    if (e && now - e.since >= windowMs) {
      this.#entries.delete(key);
      e = undefined;
    }
    if (!e) {
      this.#expire(now);
      if (this.#entries.size >= this.#limits.maxAddresses) this.#evictOldest();
      this.#entries.set(key, { since: now, failures: 1 });
      return maxFailures === 1;
    }
    e.failures++;
    if (e.failures === maxFailures) {
      // The refusal lasts a whole window from here: restart it, and move the entry to the end.
      e.since = now;
      this.#entries.delete(key);
      this.#entries.set(key, e);
      return true;
    }
    return false;
  }

  /** Drops expired entries from the front (the oldest windows). */
  #expire(now: number): void {
    for (const [key, e] of this.#entries) {
      if (now - e.since < this.#limits.windowMs) break;
      this.#entries.delete(key);
    }
  }

  #evictOldest(): void {
    const oldest = this.#entries.keys().next();
    if (oldest.done) return;
    this.#entries.delete(oldest.value);
    this.evictions++;
  }
}
