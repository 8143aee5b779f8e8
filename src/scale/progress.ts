// How far each decoder worker has got, in shared memory: the main thread's raw-topic consumer
// (role decode) reads it to commit raw offsets and to hold back while a worker's queue fills.
// The one definition of the layout; bump PROGRESS_VERSION on any change.
//
//   [0, 64)            header: i32 magic, i32 version, i32 workers
//   worker w at 64 + 64 w, f64 cells (one cache line each, written by that worker only):
//     TAKEN    datagrams this worker incarnation took from its ring
//     SETTLED  the first SETTLED of them have every record acknowledged, dropped (counted) or,
//              for datagrams without records, nothing pending (templates published, held sets)
//     FILL     its Kafka queue's fill, 0-1 (records or bytes, the larger)
// A worker restarted in the slot counts from 0 again; in role decode a worker that dies ends the
// process instead (gateway.ts), so the consumer never reads across a restart.

export const PROGRESS_MAGIC = 0x31504746; // 'FGP1'
export const PROGRESS_VERSION = 1;
const HEADER_BYTES = 64;
const WORKER_BYTES = 64;

export const enum Cell {
  TAKEN = 0,
  SETTLED = 1,
  FILL = 2,
}

export function createProgress(workers: number): SharedArrayBuffer {
  const buffer = new SharedArrayBuffer(HEADER_BYTES + workers * WORKER_BYTES);
  const header = new Int32Array(buffer, 0, 3);
  header[0] = PROGRESS_MAGIC;
  header[1] = PROGRESS_VERSION;
  header[2] = workers;
  return buffer;
}

/** The cells of worker `index` (Float64Array indexed by Cell); refuses a buffer of another layout. */
export function workerProgress(buffer: SharedArrayBuffer, index: number): Float64Array {
  const header = new Int32Array(buffer, 0, 3);
  if (header[0] !== PROGRESS_MAGIC || header[1] !== PROGRESS_VERSION) throw new Error(`progress buffer: layout ${header[1]}, expected ${PROGRESS_VERSION}`);
  if (index < 0 || index >= header[2]!) throw new Error(`progress buffer: no worker ${index}`);
  return new Float64Array(buffer, HEADER_BYTES + index * WORKER_BYTES, WORKER_BYTES / 8);
}
