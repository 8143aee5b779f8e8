// CRC-32C (Castagnoli), the checksum of Kafka record batches, spool entries and state files:
// the one module that loads @node-rs/crc32 (SIMD). It is a native addon, loaded at the first
// checksum, not on a worker's start-up path (its dlopen is ~10 ms of the ~100 ms a worker takes
// to be ready, and a worker without spool or state directory may never need it before a batch).
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
let crc32cNative: ((data: Buffer) => number) | undefined;

/** CRC-32C of `data`, as an unsigned 32-bit number. */
export function crc32c(data: Buffer): number {
  crc32cNative ??= (require('@node-rs/crc32') as { crc32c(data: Buffer): number }).crc32c;
  return crc32cNative(data) >>> 0;
}
