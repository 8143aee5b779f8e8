// A single-producer, single-consumer ring of UDP datagrams in a SharedArrayBuffer: the receiver
// on the main thread copies each datagram into the ring of the worker that owns the exporter,
// and that worker decodes it. Nothing is allocated and nothing is posted per datagram, and the
// producer never blocks: a full ring makes push() return RING_FULL and the caller drops and
// counts the datagram (reason "ring_full"). The byte layout is in ./slots.ts.
//
// Synchronisation. Head and tail are published with seq-cst Atomics.store and read with
// Atomics.load; the slot contents are plain typed-array writes made before the tail store, so a
// consumer that has loaded the new tail sees them (and the producer reuses a slot only after it
// has loaded a head past it). Each side keeps its own counter privately and a cached copy of the
// other's, and reloads the other's counter only when the cache says "full" (producer) or
// "empty" (consumer), so in steady state neither side touches the other's cache line.
//
// Sleeping. A consumer that finds the ring empty announces how it sleeps in SLEEPING, re-checks
// the tail and the closed flag, then waits with Atomics.waitAsync on SLEEPING. The producer stores
// the tail, then reads SLEEPING; if it says so, the producer clears it and calls Atomics.notify.
// Both sides do store-then-load in seq-cst order, so either the consumer sees the new tail or the
// producer sees the flag (no lost wake-up).
//
// Two ways to sleep, because a wake-up per datagram is what limited the receive rate (measured in
// bench/receive.bench.ts: the consumer drains faster than datagrams come, so it slept after nearly
// every one and every push paid a futex wake, and the woken worker competed for the cores):
//   SLEEP_LIGHT while data came recently (LIGHT_WINDOW_MS): the consumer polls again after
//     LIGHT_POLL_MS by itself, and the producer notifies only if the ring fills past wakeFill
//     meanwhile. A datagram waits at most about a millisecond; the producer pays nothing.
//   SLEEP_DEEP after that: no polling while idle; the next push notifies.
// How long a light sleep lasts is the consumer's choice (lightPollMs): a consumer that holds what
// it takes for a while anyway (role receive gathers datagrams for scale.raw_linger_ms) polls that
// often; one fed in bursts by its own thread (role decode: a fetch's datagrams at once) never
// sleeps lightly, and each burst costs one notify. Each light poll wakes a thread: at 1 ms that was
// a receive worker's largest cost under load (docs/performance.md section 10).

import { performance } from 'node:perf_hooks';
import {
  ADDRESS_BYTES, AWAKE, SLEEP_DEEP, SLEEP_LIGHT, CLOSED_INDEX, HEAD_INDEX, MAGIC_INDEX, MAX_SLOTS, RING_LAYOUT_VERSION, RING_MAGIC,
  SLEEPING_INDEX, SLOT_ADDRESS, SLOT_BYTES_INDEX, SLOT_FLAGS, SLOT_LENGTH, SLOT_PAYLOAD, SLOT_PORT, SLOT_TIME,
  SLOTS_INDEX, SLOTS_OFFSET, STRIDE_INDEX, TAIL_INDEX, VERSION_INDEX, ringByteLength, slotStride,
} from './slots.js';

export interface RingOptions {
  /** Number of slots: a power of two. */
  slots: number;
  /** Largest payload a slot holds, in bytes: a multiple of 8. */
  slotBytes: number;
}

/** push() outcomes: the datagram is in the ring, or the caller drops it and counts the reason. */
export const RING_OK = 0;
export const RING_FULL = 1;
export const RING_TOO_LARGE = 2;
export type PushResult = typeof RING_OK | typeof RING_FULL | typeof RING_TOO_LARGE;

export type RingWaitResult = 'data' | 'timeout' | 'closed';

// ES2024's Atomics.waitAsync (V8 has it since Node 16) is not in this project's ES2022 lib.
type WaitAsync = (
  array: Int32Array, index: number, value: number, timeoutMs?: number,
) => { async: false; value: 'not-equal' | 'timed-out' } | { async: true; value: Promise<'ok' | 'timed-out'> };
const waitAsync = (Atomics as unknown as { waitAsync: WaitAsync }).waitAsync;

// Settled promises shared by every call that can answer at once, so the consumer's fast path
// allocates nothing.
const DATA: Promise<RingWaitResult> = Promise.resolve('data');
const TIMEOUT: Promise<RingWaitResult> = Promise.resolve('timeout');
const CLOSED: Promise<RingWaitResult> = Promise.resolve('closed');

/** A light sleep polls again after this long, unless the consumer says otherwise (lightPollMs). */
const LIGHT_POLL_MS = 1;
/** The consumer sleeps lightly while its last datagram is at most this old, deeply after. */
const LIGHT_WINDOW_MS = 50;
/** A lightly sleeping consumer is woken when this many datagrams wait (at most a quarter of the ring). */
const MAX_WAKE_FILL = 256;

/** Size class of a payload for copyPayload(): 0 for <= 64 bytes, k for <= 64 << k. */
function sizeClass(length: number): number {
  return length <= 64 ? 0 : 32 - Math.clz32(length - 1) - 6;
}

function isPowerOfTwo(n: number): boolean {
  return Number.isInteger(n) && n > 0 && (n & (n - 1)) === 0;
}

export class PacketRing {
  readonly buffer: SharedArrayBuffer;
  readonly slots: number;
  readonly slotBytes: number;
  /** The whole SharedArrayBuffer, as a Buffer (a Uint8Array with readUInt32BE & co.) for reading a
   *  slot in place by offset. To copy a payload out use copyPayload(): on Node 20 `bytes.copy()`
   *  with a non-zero start allocates a view per call. */
  readonly bytes: Buffer;

  readonly #stride: number;
  readonly #mask: number;
  readonly #i32: Int32Array;
  readonly #u32: Uint32Array;
  readonly #u16: Uint16Array;
  readonly #f64: Float64Array;
  // copyPayload()'s views: per slot, one per size class (64, 128, ... bytes, the last = slotBytes),
  // each made the first time it is needed, so copying allocates nothing after the first lap.
  readonly #classes: number;
  readonly #views: (Uint8Array | undefined)[];
  // Producer state: the tail it owns, the last head it loaded, and whether it holds wakes.
  #tail: number;
  #headSeen: number;
  #holdingWakes = false;
  // Consumer state: the head it owns, the last tail it loaded, and whether a wait is pending.
  #head: number;
  #tailSeen: number;
  #waiting = false;
  // The tail at the previous wait and when data last came: light or deep sleep.
  #tailAtLastWait: number;
  #lastDataMs = -Infinity;
  /** Datagrams waiting that make the producer wake a lightly sleeping consumer. */
  readonly #wakeFill: number;
  /**
   * Consumer side: how long a light sleep lasts, in ms, the most a datagram waits for a consumer
   * that dozes (0: the consumer never sleeps lightly; every push that finds it asleep notifies).
   */
  lightPollMs = LIGHT_POLL_MS;

  /** Allocates the SharedArrayBuffer (header + slots) for a new, empty ring. */
  static create(options: RingOptions): PacketRing {
    const { slots, slotBytes } = options;
    if (!isPowerOfTwo(slots) || slots > MAX_SLOTS) {
      throw new RangeError(`ring: slots must be a power of two between 1 and ${MAX_SLOTS}, got ${slots}`);
    }
    if (!Number.isInteger(slotBytes) || slotBytes <= 0 || slotBytes % 8 !== 0) {
      throw new RangeError(`ring: slotBytes must be a positive multiple of 8, got ${slotBytes}`);
    }
    const buffer = new SharedArrayBuffer(ringByteLength(slots, slotBytes));
    const header = new Int32Array(buffer, 0, SLOTS_OFFSET / 4);
    header[MAGIC_INDEX] = RING_MAGIC;
    header[VERSION_INDEX] = RING_LAYOUT_VERSION;
    header[SLOTS_INDEX] = slots;
    header[SLOT_BYTES_INDEX] = slotBytes;
    header[STRIDE_INDEX] = slotStride(slotBytes);
    return new PacketRing(buffer);
  }

  /** The same ring in another thread (the worker gets `buffer` through workerData). Slot count,
   *  slot size and both counters come from the header. */
  static attach(buffer: SharedArrayBuffer): PacketRing {
    if (!(buffer instanceof SharedArrayBuffer) || buffer.byteLength < SLOTS_OFFSET) {
      throw new TypeError('ring: attach() needs the SharedArrayBuffer of a PacketRing');
    }
    const header = new Int32Array(buffer, 0, SLOTS_OFFSET / 4);
    if (header[MAGIC_INDEX] !== RING_MAGIC) throw new TypeError('ring: buffer is not a PacketRing (bad magic)');
    if (header[VERSION_INDEX] !== RING_LAYOUT_VERSION) {
      throw new TypeError(`ring: layout version ${header[VERSION_INDEX]}, this build reads ${RING_LAYOUT_VERSION}`);
    }
    const slots = header[SLOTS_INDEX]!;
    const slotBytes = header[SLOT_BYTES_INDEX]!;
    if (!isPowerOfTwo(slots) || slotBytes <= 0 || header[STRIDE_INDEX] !== slotStride(slotBytes)
      || buffer.byteLength !== ringByteLength(slots, slotBytes)) {
      throw new TypeError('ring: header does not match the buffer size');
    }
    return new PacketRing(buffer);
  }

  private constructor(buffer: SharedArrayBuffer) {
    this.buffer = buffer;
    this.#i32 = new Int32Array(buffer, 0, SLOTS_OFFSET / 4);
    this.slots = this.#i32[SLOTS_INDEX]!;
    this.slotBytes = this.#i32[SLOT_BYTES_INDEX]!;
    this.#stride = this.#i32[STRIDE_INDEX]!;
    this.#mask = this.slots - 1;
    this.bytes = Buffer.from(buffer);
    this.#u32 = new Uint32Array(buffer);
    this.#u16 = new Uint16Array(buffer);
    this.#f64 = new Float64Array(buffer);
    this.#classes = sizeClass(this.slotBytes) + 1;
    this.#views = new Array<Uint8Array | undefined>(this.slots * this.#classes).fill(undefined);
    // Both sides start from the counters in the header, so a side that attaches late (or a test
    // that pre-sets the counters, see ring.test.ts) continues where the ring is.
    this.#tail = this.#tailSeen = Atomics.load(this.#i32, TAIL_INDEX) >>> 0;
    this.#head = this.#headSeen = Atomics.load(this.#i32, HEAD_INDEX) >>> 0;
    this.#tailAtLastWait = this.#tailSeen;
    this.#wakeFill = Math.max(1, Math.min(this.slots >>> 2, MAX_WAKE_FILL));
  }

  // ---- producer side (main thread) ----

  /**
   * Copies one datagram into the next free slot. Called by the UDP receiver once per datagram.
   * Never blocks and never allocates. `address` holds the exporter's 16-byte address (IPv4 as
   * ::ffff:a.b.c.d) at `addressOffset`; `timeMs` is the receive time in ms since the epoch;
   * `flags` the slot's SLOT_FLAGS byte (SLOT_FLAG_*).
   * Returns RING_OK, RING_FULL (no free slot) or RING_TOO_LARGE (payload longer than slotBytes);
   * on the last two nothing was written and the caller counts the drop.
   * Only one thread may push. Pushing after close() is not supported: the consumer may be gone.
   */
  push(payload: Uint8Array, address: Uint8Array, addressOffset: number, port: number, timeMs: number, flags = 0): PushResult {
    const length = payload.length;
    if (length > this.slotBytes) return RING_TOO_LARGE;
    const tail = this.#tail;
    if (((tail - this.#headSeen) >>> 0) >= this.slots) {
      this.#headSeen = Atomics.load(this.#i32, HEAD_INDEX) >>> 0;
      if (((tail - this.#headSeen) >>> 0) >= this.slots) return RING_FULL;
    }
    const base = SLOTS_OFFSET + (tail & this.#mask) * this.#stride;
    this.#u32[(base + SLOT_LENGTH) >>> 2] = length;
    this.#u16[(base + SLOT_PORT) >>> 1] = port;
    this.#f64[(base + SLOT_TIME) >>> 3] = timeMs;
    const bytes = this.bytes;
    bytes[base + SLOT_FLAGS] = flags;
    const at = base + SLOT_ADDRESS;
    for (let i = 0; i < ADDRESS_BYTES; i++) bytes[at + i] = address[addressOffset + i]!;
    bytes.set(payload, base + SLOT_PAYLOAD);

    const next = (tail + 1) >>> 0;
    this.#tail = next;
    const i32 = this.#i32;
    Atomics.store(i32, TAIL_INDEX, next | 0);
    // Syscall-free unless the consumer announced a sleep it needs to be woken from.
    const sleeping = Atomics.load(i32, SLEEPING_INDEX);
    if (sleeping !== AWAKE) this.#wake(sleeping, next, this.#holdingWakes);
    return RING_OK;
  }

  /**
   * Producer side: pushes from now until releaseWakes() wake a sleeping consumer only once
   * wakeFill datagrams wait, as for a light sleeper. For a producer that pushes a burst at once
   * (role decode: a fetch's datagrams): one wake-up for the burst, not one per datagram that the
   * consumer, faster than the pushes, would sleep between. Release before waiting for room.
   */
  holdWakes(): void {
    this.#holdingWakes = true;
  }

  /** Ends holdWakes(): a consumer asleep with datagrams waiting is woken now (a light one as usual, by fill). */
  releaseWakes(): void {
    if (!this.#holdingWakes) return;
    this.#holdingWakes = false;
    const sleeping = Atomics.load(this.#i32, SLEEPING_INDEX);
    if (sleeping !== AWAKE && this.#tail !== (Atomics.load(this.#i32, HEAD_INDEX) >>> 0)) this.#wake(sleeping, this.#tail, false);
  }

  // A deep sleeper is woken by any push; a light one only once wakeFill datagrams wait (else it
  // polls by itself), and so is any while the producer holds wakes. The cached head only ever
  // lags, so the cheap check never misses a full ring.
  #wake(sleeping: number, tail: number, byFill: boolean): void {
    const i32 = this.#i32;
    if (sleeping === SLEEP_LIGHT || byFill) {
      if (((tail - this.#headSeen) >>> 0) < this.#wakeFill) return;
      this.#headSeen = Atomics.load(i32, HEAD_INDEX) >>> 0;
      if (((tail - this.#headSeen) >>> 0) < this.#wakeFill) return;
    }
    // Only the push that clears the flag notifies.
    if (Atomics.compareExchange(i32, SLEEPING_INDEX, sleeping, AWAKE) === sleeping) Atomics.notify(i32, SLEEPING_INDEX, 1);
  }

  /** Datagrams in the ring (pushed, not yet released), from the published counters. The other side
   *  may move its counter meanwhile, so the producer reads an upper bound and the consumer a lower
   *  bound. For the ring fill gauge, and for a consumer that processes the `length` slots from
   *  peek() on ((peek() + i) & (slots - 1)) and then calls release(length) once. */
  get length(): number {
    return (Atomics.load(this.#i32, TAIL_INDEX) - Atomics.load(this.#i32, HEAD_INDEX)) >>> 0;
  }

  /** Marks the ring closed and wakes the consumer: it drains what is left, then waitForData()
   *  resolves 'closed'. Called once, by the producer, after its last push (SIGTERM: stop
   *  receiving, close every ring, wait for the workers). */
  close(): void {
    const i32 = this.#i32;
    Atomics.store(i32, CLOSED_INDEX, 1);
    Atomics.store(i32, SLEEPING_INDEX, AWAKE);
    Atomics.notify(i32, SLEEPING_INDEX);
  }

  // ---- consumer side (worker) ----

  /** Slot index of the oldest unread datagram, or -1 when the ring is empty. Does not advance. */
  peek(): number {
    const head = this.#head;
    if (head === this.#tailSeen) {
      this.#tailSeen = Atomics.load(this.#i32, TAIL_INDEX) >>> 0;
      if (head === this.#tailSeen) return -1;
    }
    return head & this.#mask;
  }

  // Layout accessors for a slot index from peek() (or peek() + i for i < length, modulo slots).
  // Offsets are into `bytes`. Not checked: a slot outside [0, slots) reads another slot or garbage.

  payloadOffset(slot: number): number {
    return SLOTS_OFFSET + slot * this.#stride + SLOT_PAYLOAD;
  }

  payloadLength(slot: number): number {
    return this.#u32[(SLOTS_OFFSET + slot * this.#stride + SLOT_LENGTH) >>> 2]!;
  }

  /** Offset of the 16-byte exporter address. */
  addressOffset(slot: number): number {
    return SLOTS_OFFSET + slot * this.#stride + SLOT_ADDRESS;
  }

  port(slot: number): number {
    return this.#u16[(SLOTS_OFFSET + slot * this.#stride + SLOT_PORT) >>> 1]!;
  }

  /** The slot's SLOT_FLAGS byte (SLOT_FLAG_*). */
  flags(slot: number): number {
    return this.bytes[SLOTS_OFFSET + slot * this.#stride + SLOT_FLAGS]!;
  }

  /** Receive time, ms since the epoch. */
  timeMs(slot: number): number {
    return this.#f64[(SLOTS_OFFSET + slot * this.#stride + SLOT_TIME) >>> 3]!;
  }

  /**
   * Copies the payload of `slot` into `target` at `targetOffset` (e.g. the decoder's input region
   * in its wasm memory) and returns its length. Allocation-free, unlike the obvious alternatives
   * on Node 20: `bytes.copy(...)` and `target.set(bytes.subarray(...))` each make a view per call
   * (measured: 10-20 GCs per million datagrams). It copies through a view made once per slot and
   * size class, so it may copy up to twice the payload (at most slotBytes) and overwrite the
   * bytes after it: `target` needs slotBytes of room from targetOffset.
   */
  copyPayload(slot: number, target: Uint8Array, targetOffset: number): number {
    const length = this.payloadLength(slot);
    const k = sizeClass(length);
    const index = slot * this.#classes + k;
    let view = this.#views[index];
    if (view === undefined) {
      const size = Math.min(64 << k, this.slotBytes);
      view = new Uint8Array(this.buffer, this.payloadOffset(slot), size);
      this.#views[index] = view;
    }
    target.set(view, targetOffset);
    return length;
  }

  /** Frees the `count` oldest datagrams after they were decoded (their slots may be overwritten
   *  as soon as this returns). Publishes the head at once: one store for the whole batch. */
  release(count = 1): void {
    if (count !== count >>> 0 || count > ((this.#tailSeen - this.#head) >>> 0)) {
      this.#tailSeen = Atomics.load(this.#i32, TAIL_INDEX) >>> 0;
      if (count !== count >>> 0 || count > ((this.#tailSeen - this.#head) >>> 0)) {
        throw new RangeError(`ring: cannot release ${count}, ${(this.#tailSeen - this.#head) >>> 0} in the ring`);
      }
    }
    this.#head = (this.#head + count) >>> 0;
    Atomics.store(this.#i32, HEAD_INDEX, this.#head | 0);
  }

  /**
   * Resolves 'data' when a datagram is available (at once if one already is), 'closed' when
   * close() was called and everything was released, or 'timeout' after timeoutMs (Infinity
   * allowed). Uses Atomics.waitAsync, so the worker's event loop keeps serving Kafka I/O while it
   * waits; the producer notifies only while this wait is pending. One wait at a time. Call it
   * when peek() returned -1, and always check peek() after it (treat 'data' as a hint).
   *
   * Pitfall (measured): a pending Atomics.waitAsync does NOT keep a Node event loop alive. A worker
   * whose only pending work is this wait exits silently with code 0. The worker must hold a ref'd
   * handle for as long as it drains, e.g. `parentPort.on('message', ...)` (which it needs anyway
   * to be told to stop), a Kafka connection, or a timer.
   */
  waitForData(timeoutMs: number): Promise<RingWaitResult> {
    if (this.peek() !== -1) return DATA;
    if (Atomics.load(this.#i32, CLOSED_INDEX) !== 0) return this.#settle(false);
    if (this.#waiting) throw new Error('ring: waitForData() is already pending (one consumer, one wait)');
    const now = performance.now();
    if (this.#tailSeen !== this.#tailAtLastWait) {
      this.#tailAtLastWait = this.#tailSeen;
      this.#lastDataMs = now;
    }
    this.#waiting = true;
    return this.#sleep(now + timeoutMs).finally(() => { this.#waiting = false; });
  }

  // Sleeps in slices (light ones of LIGHT_POLL_MS, or one deep one) until data, close or the deadline.
  async #sleep(deadline: number): Promise<RingWaitResult> {
    const i32 = this.#i32;
    for (;;) {
      const now = performance.now();
      const left = deadline - now;
      if (left <= 0) return this.#settle(true);
      const mode = this.lightPollMs > 0 && now - this.#lastDataMs < LIGHT_WINDOW_MS ? SLEEP_LIGHT : SLEEP_DEEP;
      Atomics.store(i32, SLEEPING_INDEX, mode);
      // Re-check after announcing the sleep: a push or close() that came before the store did not
      // see the flag and will not notify.
      if (this.peek() !== -1 || Atomics.load(i32, CLOSED_INDEX) !== 0) {
        Atomics.store(i32, SLEEPING_INDEX, AWAKE);
        return this.#settle(false);
      }
      // Sleeps while SLEEPING still holds `mode`; a producer that cleared it first makes this 'not-equal'.
      const wait = waitAsync(i32, SLEEPING_INDEX, mode, mode === SLEEP_LIGHT ? Math.min(left, this.lightPollMs) : left);
      if (wait.async) await wait.value;
      Atomics.store(i32, SLEEPING_INDEX, AWAKE);
      if (this.peek() !== -1 || Atomics.load(i32, CLOSED_INDEX) !== 0) return this.#settle(false);
    }
  }

  /** close() was called. The consumer is done when this is true and then peek() returns -1. */
  get closed(): boolean {
    return Atomics.load(this.#i32, CLOSED_INDEX) !== 0;
  }

  // What a wait that ended (or never started) reports: data first, so a closed ring is drained.
  #settle(timedOut: boolean): Promise<RingWaitResult> {
    if (this.peek() !== -1) return DATA;
    // Everything pushed before close() is visible once CLOSED is, so re-peek after reading it.
    if (Atomics.load(this.#i32, CLOSED_INDEX) !== 0) return this.peek() !== -1 ? DATA : CLOSED;
    return timedOut ? TIMEOUT : DATA;
  }
}
