// The accounting channel: one SharedArrayBuffer, named in one place (as ring/slots.ts names the
// ring's). Each decoder worker writes its own block of Float64 counters as records move (a store,
// no message, no allocation); the main thread reads and sums them with readAccounting(), the one
// sum behind pool.accounting(), the metrics and the `stats` / `stopped` log lines. Counters kept
// here survive the worker: when one dies the pool folds its block into the retired block, and
// what it had taken in and not settled becomes dropped{worker_failed}.
//
// The identity every reader can check:
//   records decoded + recovered = delivered + sum of dropped{reason} + queued + spooled
// where `recovered` is what the workers' disk spools held when they opened (records an earlier
// run took in), `spooled` what the spools hold now, and queued what live workers hold in memory
// (the rest, per block). A new drop reason is one line in drop-reasons.ts (its slot follows);
// either way: bump ACCOUNTING_LAYOUT_VERSION.
//
// What stays in the workers' message reports (pipeline/stats.ts WorkerStats) is diagnostics, not
// the identity: per-tenant and per-topic breakdowns, decoder counters, Kafka errors, latency.
//
// Layout (Float64 cells; the header's cells hold small integers):
//
//   cell 0..7     header, one cache line: magic, layout version, workers, slots per block
//   block 0       retired: the sum of every worker that ended (written by the pool only)
//   block 1 + w   worker w (written by that worker only)
//
// A block holds ACCOUNTING_SLOTS counters (accountingSlotNames, in order) and is padded to a
// whole cache line, so two workers' stores never share a line.
import { recordDropReasons, zeroCounts, type RecordDropReason } from './drop-reasons.js';

/** 'FGA1' little-endian: tells attachAccounting() that a buffer really is an accounting buffer. */
export const ACCOUNTING_MAGIC = 0x31414746;
/** Bump on any change to the slots (a drop reason added to drop-reasons.ts is one). */
export const ACCOUNTING_LAYOUT_VERSION = 2;

/** Slot names in block order: the counters, then one per record drop reason. */
export const accountingSlotNames = ['datagrams', 'decoded', 'delivered', 'recovered', 'spooled', ...recordDropReasons] as const;
export type AccountingSlotName = (typeof accountingSlotNames)[number];
export const ACCOUNTING_SLOTS = accountingSlotNames.length;

/** Slot index by name: `block[Slot.delivered] += n`. */
export const Slot = Object.fromEntries(accountingSlotNames.map((name, i) => [name, i])) as { readonly [K in AccountingSlotName]: number };

const CELL = Float64Array.BYTES_PER_ELEMENT;
const CACHE_LINE_CELLS = 64 / CELL;
const HEADER_CELLS = CACHE_LINE_CELLS;
/** Cells from one block to the next: the slots, rounded up to a cache line. */
export const BLOCK_CELLS = Math.ceil(ACCOUNTING_SLOTS / CACHE_LINE_CELLS) * CACHE_LINE_CELLS;
const MAGIC_CELL = 0;
const VERSION_CELL = 1;
const WORKERS_CELL = 2;
const SLOTS_CELL = 3;
const RETIRED_BLOCK = 0;

/** Creates the buffer for `workers` workers, all counters at zero. */
export function createAccounting(workers: number): SharedArrayBuffer {
  const buffer = new SharedArrayBuffer((HEADER_CELLS + (1 + workers) * BLOCK_CELLS) * CELL);
  const cells = new Float64Array(buffer);
  cells[MAGIC_CELL] = ACCOUNTING_MAGIC;
  cells[VERSION_CELL] = ACCOUNTING_LAYOUT_VERSION;
  cells[WORKERS_CELL] = workers;
  cells[SLOTS_CELL] = ACCOUNTING_SLOTS;
  return buffer;
}

/** Checks that `buffer` was built with this layout; returns its worker count. */
function checkedWorkers(buffer: SharedArrayBuffer): number {
  const cells = new Float64Array(buffer, 0, HEADER_CELLS);
  if (cells[MAGIC_CELL] !== ACCOUNTING_MAGIC) throw new Error('not an accounting buffer (bad magic)');
  if (cells[VERSION_CELL] !== ACCOUNTING_LAYOUT_VERSION || cells[SLOTS_CELL] !== ACCOUNTING_SLOTS) {
    throw new Error(`accounting layout ${cells[VERSION_CELL]} with ${cells[SLOTS_CELL]} slots, this build reads layout ${ACCOUNTING_LAYOUT_VERSION} with ${ACCOUNTING_SLOTS}`);
  }
  return cells[WORKERS_CELL]!;
}

function block(buffer: SharedArrayBuffer, index: number): Float64Array {
  return new Float64Array(buffer, (HEADER_CELLS + index * BLOCK_CELLS) * CELL, ACCOUNTING_SLOTS);
}

/** The block worker `worker` writes (checks the layout first): index it with Slot. */
export function workerAccounting(buffer: SharedArrayBuffer, worker: number): Float64Array {
  const workers = checkedWorkers(buffer);
  if (!(worker >= 0 && worker < workers)) throw new RangeError(`worker ${worker} has no accounting block (${workers} workers)`);
  return block(buffer, 1 + worker);
}

/** Records a block took in and has neither delivered nor dropped. */
function unsettled(b: Float64Array): number {
  let n = b[Slot.decoded]! + b[Slot.recovered]! - b[Slot.delivered]! - b[Slot.spooled]!;
  for (const reason of recordDropReasons) n -= b[Slot[reason]]!;
  return n;
}

/**
 * Folds a worker that ended into the retired block and zeroes its own, so the worker started in
 * its place counts from zero. What it had in memory is dropped{worker_failed}; returns that.
 * What it had spooled is not lost: the worker started in its place recovers it from the spool
 * (counting it as its own `recovered`), so the retired block gives it up.
 * Call only once the worker's thread has exited (it must not write meanwhile).
 */
export function retireWorker(buffer: SharedArrayBuffer, worker: number): number {
  const dead = workerAccounting(buffer, worker);
  const retired = block(buffer, RETIRED_BLOCK);
  const lost = unsettled(dead);
  for (let i = 0; i < ACCOUNTING_SLOTS; i++) retired[i]! += dead[i]!;
  retired[Slot.worker_failed]! += lost;
  retired[Slot.recovered]! -= dead[Slot.spooled]!;
  retired[Slot.spooled]! -= dead[Slot.spooled]!;
  dead.fill(0);
  return lost;
}

export interface AccountingTotals {
  /** Datagrams the workers took from their rings. */
  datagrams: number;
  decoded: number;
  delivered: number;
  dropped: Record<RecordDropReason, number>;
  /** Records live workers hold in memory (queued for Kafka). */
  queued: number;
  /** Records found in the disk spools when they opened (taken in by an earlier run). */
  recovered: number;
  /** Records the disk spools hold now. */
  spooled: number;
}

/** The one sum: retired block plus every live worker's. */
export function readAccounting(buffer: SharedArrayBuffer): AccountingTotals {
  const workers = checkedWorkers(buffer);
  const sum = new Float64Array(ACCOUNTING_SLOTS);
  let queued = 0;
  for (let i = 0; i <= workers; i++) {
    const b = block(buffer, i);
    for (let s = 0; s < ACCOUNTING_SLOTS; s++) sum[s]! += b[s]!;
    if (i !== RETIRED_BLOCK) queued += unsettled(b);
  }
  const dropped = zeroCounts(recordDropReasons);
  for (const reason of recordDropReasons) dropped[reason] = sum[Slot[reason]]!;
  return { datagrams: sum[Slot.datagrams]!, decoded: sum[Slot.decoded]!, delivered: sum[Slot.delivered]!, dropped, queued,
    recovered: sum[Slot.recovered]!, spooled: sum[Slot.spooled]! };
}
