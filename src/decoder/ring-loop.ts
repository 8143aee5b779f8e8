// The loop every worker runs (decoder/worker.ts, scale/receive-worker.ts): take datagrams from
// the ring and handle each, yielding to the event loop every BATCH_BEFORE_YIELD so Kafka I/O
// runs, until the ring is closed and empty. While the ring fills, replay from the spool waits:
// live traffic first.
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import type { PacketRing } from '../ring/ring.js';

const BATCH_BEFORE_YIELD = 64;

export interface RingLoop {
  /** Handles the datagram in `slot` (released after, even when it throws). */
  handle(slot: number): void;
  /** Tells the producer whether to hold spool replay back. */
  pauseReplay(paused: boolean): void;
  /** After each batch, before yielding (cheap, periodic work). */
  afterBatch(): void;
  /** Once the ring ran dry, with the time (slower periodic work). */
  idle(now: number): void;
  /** Set once a stop was asked for: the ring is drained with short waits. */
  stopping(): boolean;
}

export async function runRing(ring: PacketRing, loop: RingLoop): Promise<void> {
  const replayPauseSlots = ring.slots / 8;
  for (;;) {
    let handled = 0;
    let slot: number;
    while ((slot = ring.peek()) >= 0) {
      try {
        loop.handle(slot);
      } finally {
        ring.release();
      }
      if (++handled % BATCH_BEFORE_YIELD === 0) {
        loop.pauseReplay(ring.length > replayPauseSlots);
        loop.afterBatch();
        await yieldToEventLoop();
      }
    }
    loop.pauseReplay(ring.length > replayPauseSlots);
    loop.afterBatch();
    loop.idle(Date.now());
    if (ring.closed && ring.peek() < 0) return;
    const stopping = loop.stopping();
    if (handled === 0 || stopping) await ring.waitForData(stopping ? 5 : 200);
    else await yieldToEventLoop();
  }
}
