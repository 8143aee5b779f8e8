// Worker side of the live tap. Free when unused: with no subscription the worker checks one
// boolean per datagram. With one, records of the tenants / exporters some client asked for are
// copied (as text) into a batch, at most maxRecordsPerSecond per worker, and the worker posts
// the batch to the main thread every TAP_FLUSH_MS: never per packet. What the cap leaves out is
// counted as skipped. Ingest comes first: while the worker's ring is filling (its backlog past
// the mark where spool replay pauses too, ring-loop.ts), and for TAP_BUSY_HOLD_MS after, it
// forwards nothing and counts the records as ingest_busy, so tap clients never take the CPU a busy
// worker needs (the hold keeps the tap from coming back between two bursts of a worker near its
// capacity: on a machine whose cores the gateway uses up, the tap's clients and WebSocket writes
// then compete with the worker for the whole burst).
//
// The worker only narrows by tenant and exporter, both known per datagram without reading a
// record. Finer filters (addresses, port, protocol) and each client's own rate are applied on the
// main thread (hub.ts), on at most maxRecordsPerSecond records per worker.
import { AddressSet } from '../net/address-set.js';
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
  /** Records that matched while the worker was busy with a backlog (not copied). */
  busy: number;
}

export const TAP_FLUSH_MS = 100;
/** How long the tap stays off after the worker last had a backlog. */
export const TAP_BUSY_HOLD_MS = 1000;

export class TapForwarder {
  /** How a record's value becomes the JSON the tap shows. */
  readonly #json: (output: Buffer, start: number, end: number) => string;
  #tenants: Set<string> | null = null;
  #exporters: AddressSet | null = null;
  #max = 0;
  #active = false;
  #batch: TapRecord[] = [];
  #skipped = 0;
  #busy = 0;
  /** Until when (ms since the epoch) the tap is off: the worker had a backlog then. */
  #pausedUntil = 0;
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
      this.#busy = 0;
    }
  }

  /** Offers records [first, first + count) of one datagram (values in `output`, ends in `index`). */
  offer(tenant: string, exporter: string, output: Buffer, index: RecordIndex, count: number, first = 0): void {
    if (!this.#active) return;
    if (this.#tenants && !this.#tenants.has(tenant)) return;
    if (this.#exporters && !this.#exporters.has(exporter)) return;
    const now = Date.now();
    if (now < this.#pausedUntil) {
      this.#busy += count;
      return;
    }
    if (now - this.#windowStart >= 1000) {
      this.#windowStart = now;
      this.#inWindow = 0;
    }
    const { entries, stride, endAt, gap } = index;
    let start = first === 0 ? 0 : entries[(first - 1) * stride + endAt]! + gap;
    for (let i = first; i < first + count; i++) {
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

  /** Called by the ring loop: with true while the worker has a backlog, which turns the tap off for TAP_BUSY_HOLD_MS. */
  backlog(present: boolean, nowMs = Date.now()): void {
    if (present) this.#pausedUntil = nowMs + TAP_BUSY_HOLD_MS;
  }

  /** The batch collected since the last flush, or null when there is nothing to send. */
  flush(): TapBatch | null {
    if (this.#batch.length === 0 && this.#skipped === 0 && this.#busy === 0) return null;
    const batch = { records: this.#batch, skipped: this.#skipped, busy: this.#busy };
    this.#batch = [];
    this.#skipped = 0;
    this.#busy = 0;
    return batch;
  }
}
