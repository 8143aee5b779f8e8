// Where the tap hub (tap/hub.ts, main thread) meets the decoder workers' forwarders: the hub
// says what to forward, and subscribes to the batches. The decoder pool implements it; the hub is
// handed one, so neither assigns callbacks into the other.
import type { TapBatch, TapSpec } from './forwarder.js';

/** Receives one worker's batch (every TAP_FLUSH_MS while the workers forward anything). */
export type TapSink = (batch: TapBatch, worker: number) => void;

export interface TapSource {
  /** What every worker (and every worker started later) forwards; null: nothing. */
  setTap(spec: TapSpec | null): void;
  /** Adds a sink for the workers' batches; returns the function that removes it. */
  subscribeTap(sink: TapSink): () => void;
}
