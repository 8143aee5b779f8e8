// Worker side of the live tap. Free when unused: with no subscription the worker checks one
// boolean per datagram. With one, records of the tenants / exporters some client asked for are
// copied (as text) into a batch, at most maxRecordsPerSecond per worker, and the worker posts
// the batch to the main thread every TAP_FLUSH_MS: never per packet. What the cap leaves out is
// counted as skipped.
//
// The worker only narrows by tenant and exporter, both known per datagram without reading a
// record. Finer filters (addresses, port, protocol) and each client's own rate are applied on the
// main thread (hub.ts), on at most maxRecordsPerSecond records per worker.
import { parseIP, parsePrefix, maskIPv4, maskIPv6, type Prefix } from '../config/addresses.js';
import type { RecordIndex } from '../decoder/record-index.js';
import type { RecordFormat } from '../decoder/abi.js';
import { flowMessageJson } from './flow-message.js';

export interface TapSpec {
  /** Tenants some client may see (null: all). */
  tenants: string[] | null;
  /** Exporter addresses or CIDR prefixes (as config.yaml writes them) some client asked for (null: all). */
  exporters: string[] | null;
  /** Records per second this worker forwards at most. */
  maxRecordsPerSecond: number;
}

export interface TapRecord {
  tenant: string;
  exporter: string;
  /** The record as JSON: as sent to Kafka, or its FlowMessage read back (kafka.format protobuf). */
  json: string;
}

export interface TapBatch {
  records: TapRecord[];
  /** Records that matched but were left out by the rate cap. */
  skipped: number;
}

export const TAP_FLUSH_MS = 100;

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

export class TapForwarder {
  /** How a record's value becomes the JSON the tap shows. */
  readonly #json: (output: Buffer, start: number, end: number) => string;
  #tenants: Set<string> | null = null;
  #exporters: AddressSet | null = null;
  #max = 0;
  #active = false;
  #batch: TapRecord[] = [];
  #skipped = 0;
  #windowStart = 0;
  #inWindow = 0;

  constructor(format: RecordFormat = 'json') {
    this.#json = format === 'json' ? (output, start, end) => output.toString('utf8', start, end)
      : (output, start, end) => flowMessageJson(output, start, end, format === 'protobuf');
  }

  get active(): boolean {
    return this.#active;
  }

  /** A spec whose exporters do not parse forwards nothing (the main thread validates them first). */
  configure(spec: TapSpec | null): void {
    let exporters: AddressSet | null = null;
    try {
      exporters = spec?.exporters ? new AddressSet(spec.exporters) : null;
    } catch {
      spec = null;
    }
    this.#active = spec !== null && spec.maxRecordsPerSecond > 0;
    this.#tenants = spec?.tenants ? new Set(spec.tenants) : null;
    this.#exporters = exporters;
    this.#max = spec?.maxRecordsPerSecond ?? 0;
    if (!this.#active) {
      this.#batch = [];
      this.#skipped = 0;
    }
  }

  /** Offers the `count` records of one datagram (values in `output`, ends in `index`). */
  offer(tenant: string, exporter: string, output: Buffer, index: RecordIndex, count: number): void {
    if (!this.#active) return;
    if (this.#tenants && !this.#tenants.has(tenant)) return;
    if (this.#exporters && !this.#exporters.has(exporter)) return;
    const now = Date.now();
    if (now - this.#windowStart >= 1000) {
      this.#windowStart = now;
      this.#inWindow = 0;
    }
    const { entries, stride, endAt, gap } = index;
    let start = 0;
    for (let i = 0; i < count; i++) {
      const end = entries[i * stride + endAt]!;
      if (this.#inWindow < this.#max) {
        this.#batch.push({ tenant, exporter, json: this.#json(output, start, end) });
        this.#inWindow++;
      } else {
        this.#skipped++;
      }
      start = end + gap;
    }
  }

  /** The batch collected since the last flush, or null when there is nothing to send. */
  flush(): TapBatch | null {
    if (this.#batch.length === 0 && this.#skipped === 0) return null;
    const batch = { records: this.#batch, skipped: this.#skipped };
    this.#batch = [];
    this.#skipped = 0;
    return batch;
  }
}
