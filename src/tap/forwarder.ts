// Worker side of the live tap. Free when unused: with no subscription the worker checks one
// boolean per datagram. With one, records of the tenants / exporters some client asked for are
// copied (as text) into a batch, at most maxRecordsPerSecond per worker, and the worker posts
// the batch to the main thread every TAP_FLUSH_MS: never per packet. What the cap leaves out is
// counted as skipped.

export interface TapSpec {
  /** Tenants some client may see (null: all). */
  tenants: string[] | null;
  /** Exporter addresses (text, as in the records' dvc) some client asked for (null: all). */
  exporters: string[] | null;
  /** Records per second this worker forwards at most. */
  maxRecordsPerSecond: number;
}

export interface TapRecord {
  tenant: string;
  exporter: string;
  /** The record's JSON, as sent to Kafka. */
  json: string;
}

export interface TapBatch {
  records: TapRecord[];
  /** Records that matched but were left out by the rate cap. */
  skipped: number;
}

export const TAP_FLUSH_MS = 100;

export class TapForwarder {
  #tenants: Set<string> | null = null;
  #exporters: Set<string> | null = null;
  #max = 0;
  #active = false;
  #batch: TapRecord[] = [];
  #skipped = 0;
  #windowStart = 0;
  #inWindow = 0;

  get active(): boolean {
    return this.#active;
  }

  configure(spec: TapSpec | null): void {
    this.#active = spec !== null && spec.maxRecordsPerSecond > 0;
    this.#tenants = spec?.tenants ? new Set(spec.tenants) : null;
    this.#exporters = spec?.exporters ? new Set(spec.exporters) : null;
    this.#max = spec?.maxRecordsPerSecond ?? 0;
    if (!this.#active) {
      this.#batch = [];
      this.#skipped = 0;
    }
  }

  /** Offers the `count` records of one datagram (JSON lines in `output`, ends in `index`). */
  offer(tenant: string, exporter: string, output: Buffer, index: Uint32Array, count: number): void {
    if (!this.#active) return;
    if (this.#tenants && !this.#tenants.has(tenant)) return;
    if (this.#exporters && !this.#exporters.has(exporter)) return;
    const now = Date.now();
    if (now - this.#windowStart >= 1000) {
      this.#windowStart = now;
      this.#inWindow = 0;
    }
    let start = 0;
    for (let i = 0; i < count; i++) {
      const end = index[i * 2]!;
      if (this.#inWindow < this.#max) {
        this.#batch.push({ tenant, exporter, json: output.toString('utf8', start, end) });
        this.#inWindow++;
      } else {
        this.#skipped++;
      }
      start = end + 1;
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
