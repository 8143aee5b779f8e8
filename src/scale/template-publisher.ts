// A worker's side of the shared template topic: after the decoder's state changed, its snapshot
// is split into one message per template and per session (template-message.ts) and only what
// changed is published; a key this worker published that is gone (withdrawn, expired, session
// released) gets a tombstone. Pieces the worker received from the topic are not published back
// unless they change here. A template sent again unchanged is published again only once its
// definition time moved by half the template lifetime, so readers never see it expire early.
import type { DecoderAbi } from '../decoder/abi.js';
import { splitSnapshot, type TemplatePiece } from './template-message.js';

export interface TemplateSink {
  /** One message: value null = tombstone. */
  publish(key: string, value: Buffer | null): void;
}

interface Known {
  normalized: Buffer;
  timeMs: number;
}

export class TemplatePublisher {
  readonly #layout: DecoderAbi['state'];
  readonly #refreshMs: number;
  readonly #sink: TemplateSink;
  /** What this worker published (it tombstones these when they go). */
  readonly #own = new Map<string, Known>();
  /** What it received from the topic (from other instances, or itself earlier). */
  readonly #received = new Map<string, Known>();
  /**
   * Keys tombstoned on the topic by another instance while this worker still holds them (its
   * decoder keeps a template until it expires): not published back unless they change here.
   */
  readonly #tombstoned = new Map<string, Known>();
  published = 0;
  tombstones = 0;

  /** `lifetimeMs`: decoder.template_lifetime_s in ms (0: templates never expire, never re-published unchanged). */
  constructor(layout: DecoderAbi['state'], lifetimeMs: number, sink: TemplateSink) {
    this.#layout = layout;
    this.#refreshMs = lifetimeMs > 0 ? lifetimeMs / 2 : Infinity;
    this.#sink = sink;
  }

  /** Pieces imported from the topic: not published back while they stay as they are. */
  received(pieces: Iterable<TemplatePiece>): void {
    for (const p of pieces) this.#received.set(p.key, { normalized: p.normalized, timeMs: p.timeMs });
  }

  /** A tombstone read from the topic: that key is no longer known there; what this worker holds of it stays unpublished. */
  forget(key: string): void {
    const known = this.#received.get(key) ?? this.#own.get(key);
    this.#received.delete(key);
    this.#own.delete(key);
    if (known) this.#tombstoned.set(key, known);
  }

  /** Publishes what changed in `snapshot` (WasmDecoder.exportState()); returns the messages sent. */
  update(snapshot: Uint8Array): number {
    const pieces = splitSnapshot(snapshot, this.#layout);
    let sent = 0;
    for (const p of pieces.values()) {
      const gone = this.#tombstoned.get(p.key);
      if (gone) {
        if (gone.normalized.equals(p.normalized)) continue; // withdrawn elsewhere: not brought back
        this.#tombstoned.delete(p.key); // defined again here, differently: news
      }
      const known = this.#own.get(p.key) ?? this.#received.get(p.key);
      if (known && known.normalized.equals(p.normalized) && p.timeMs - known.timeMs < this.#refreshMs) continue;
      this.#sink.publish(p.key, p.value);
      this.#own.set(p.key, { normalized: p.normalized, timeMs: p.timeMs });
      this.published++;
      sent++;
    }
    for (const key of this.#tombstoned.keys()) if (!pieces.has(key)) this.#tombstoned.delete(key);
    for (const key of this.#own.keys()) {
      if (pieces.has(key)) continue;
      this.#own.delete(key);
      this.#received.delete(key);
      this.#sink.publish(key, null);
      this.tombstones++;
      sent++;
    }
    return sent;
  }
}
