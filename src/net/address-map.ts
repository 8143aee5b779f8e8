// A map keyed by 16-byte addresses (IPv4 as ::ffff:a.b.c.d) read in place from a buffer, for
// per-datagram lookups that must not allocate: an IPv4 key is a small integer for V8, an IPv6 key
// a hash of its four words with the words kept to tell collisions apart (as route/tenants.ts
// caches routes). Bounded: past `limit` entries it is cleared and refilled, never evicted entry
// by entry.
import { isIPv4Mapped, mappedIPv4 } from '../config/addresses.js';

interface V6Entry<T> {
  readonly w0: number;
  readonly w1: number;
  readonly w2: number;
  readonly w3: number;
  readonly value: T;
  next: V6Entry<T> | undefined;
}

/** The big-endian 32-bit word at `at`. */
export function word(b: Uint8Array, at: number): number {
  return (b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!;
}

/** A 32-bit hash of an IPv6 address's four words (shared by the router's exporter cache). */
export function hashWords(w0: number, w1: number, w2: number, w3: number): number {
  let h = Math.imul(w0 ^ 0x2545f491, 0x9e3779b1);
  h = Math.imul(h ^ (h >>> 15) ^ w1, 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13) ^ w2, 0xc2b2ae35);
  h = Math.imul(h ^ (h >>> 16) ^ w3, 0x9e3779b1);
  return (h ^ (h >>> 16)) | 0;
}

export class AddressMap<T> {
  readonly #limit: number;
  readonly #v4 = new Map<number, T>();
  readonly #v6 = new Map<number, V6Entry<T>>();
  #v6Size = 0;

  constructor(limit = 65536) {
    this.#limit = limit;
  }

  get size(): number {
    return this.#v4.size + this.#v6Size;
  }

  /** The value kept for the address at `bytes[offset, offset + 16)`, or undefined. */
  get(bytes: Uint8Array, offset: number): T | undefined {
    if (isIPv4Mapped(bytes, offset)) return this.#v4.get(mappedIPv4(bytes, offset));
    const w0 = word(bytes, offset), w1 = word(bytes, offset + 4), w2 = word(bytes, offset + 8), w3 = word(bytes, offset + 12);
    for (let e = this.#v6.get(hashWords(w0, w1, w2, w3)); e !== undefined; e = e.next) {
      if (e.w0 === w0 && e.w1 === w1 && e.w2 === w2 && e.w3 === w3) return e.value;
    }
    return undefined;
  }

  /** Keeps `value` for the address (not there yet: call after get() said undefined). */
  set(bytes: Uint8Array, offset: number, value: T): void {
    if (this.size >= this.#limit) this.clear();
    if (isIPv4Mapped(bytes, offset)) {
      this.#v4.set(mappedIPv4(bytes, offset), value);
      return;
    }
    const w0 = word(bytes, offset), w1 = word(bytes, offset + 4), w2 = word(bytes, offset + 8), w3 = word(bytes, offset + 12);
    const hash = hashWords(w0, w1, w2, w3);
    this.#v6.set(hash, { w0, w1, w2, w3, value, next: this.#v6.get(hash) });
    this.#v6Size++;
  }

  clear(): void {
    this.#v4.clear();
    this.#v6.clear();
    this.#v6Size = 0;
  }
}
