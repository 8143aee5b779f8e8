// The compression codecs of a RecordBatch, in one table: the name kafka.compression takes and the
// id the batch's attributes carry (Kafka protocol guide, "Record Batch": attributes bits 0-2), and
// the codecs themselves. None needs a native build: gzip is Node's zlib, snappy is kafkajs-snappy
// (pure JS), lz4 is lz4js (pure JS, the LZ4 frame format Kafka uses), zstd is @bokuweb/zstd-wasm
// (the reference zstd library compiled to WebAssembly, standard zstd frames).
//
// Loaded by the main thread too (through names.ts), so nothing here loads a codec at import:
// each is required at its first batch.
import { createRequire } from 'node:module';
import { gunzip, gzip } from 'node:zlib';
import { promisify } from 'node:util';

export const codecs = {
  none: { id: 0 },
  gzip: { id: 1 },
  snappy: { id: 2 },
  lz4: { id: 3 },
  zstd: { id: 4 },
} as const;

export type CompressionName = keyof typeof codecs;
export const compressionNames = Object.keys(codecs) as readonly CompressionName[];

/**
 * The largest records section lz4 takes. lz4js writes an LZ4 frame of blocks of up to 4 MiB that
 * may refer to earlier blocks, and says so in its descriptor; Kafka's Java reader refuses such a
 * frame ("Dependent block stream is unsupported") and decompresses each block on its own. A
 * section up to this size is a single block, so nothing refers across blocks and the descriptor
 * may say "independent" (lz4Frame below); the config refuses kafka.batch_max_bytes above it with lz4.
 */
export const LZ4_MAX_RECORDS_BYTES = 4 * 1024 * 1024;
/** lz4js 0.2.0's frame descriptor: FLG version 1 (dependent blocks), BD 4 MiB blocks, header checksum. */
const LZ4JS_DESCRIPTOR = [0x40, 0x70, 0xdf];
/** The same with the block-independence bit (FLG bit 5) set, and its checksum (xxh32 of FLG and BD, bits 8-15). */
const KAFKA_LZ4_DESCRIPTOR = [0x60, 0x70, 0x73];

/** lz4js's one-block frame, its descriptor marked independent (in place). */
function lz4Frame(frame: Uint8Array): Uint8Array {
  for (let i = 0; i < 3; i++) {
    if (frame[4 + i] !== LZ4JS_DESCRIPTOR[i]) throw new Error(`lz4js wrote an unexpected frame descriptor (byte ${4 + i}: ${frame[4 + i]}): not the pinned lz4js 0.2.0?`);
  }
  frame.set(KAFKA_LZ4_DESCRIPTOR, 4);
  return frame;
}
/** zstd's level: the Java client's default (3). */
const ZSTD_LEVEL = 3;

/** The attributes' codec id of `name`. */
export function codecId(name: CompressionName): number {
  return codecs[name].id;
}

const require = createRequire(import.meta.url);
const gzipAsync = promisify(gzip);
const gunzipAsync = promisify(gunzip);
// kafkajs-snappy (pure JS snappyjs, no native build) is a codec factory meant for kafkajs's
// global codec table; its compress() is called directly instead, so importing FlowGate changes
// nothing in kafkajs. The same output kafkajs would send: raw snappy, no xerial framing.
let snappy: SnappyCodec | undefined;

/** kafkajs-snappy's codec: what kafkajs's codec table takes (compress and decompress). */
export interface SnappyCodec {
  compress(encoder: { buffer: Buffer }): Promise<Buffer>;
  decompress(buffer: Buffer): Promise<Buffer>;
}

/** The snappy codec, for the raw and template topics' consumers (kafkajs decompresses what they fetch). */
export function snappyCodec(): SnappyCodec {
  return (snappy ??= (require('kafkajs-snappy') as () => SnappyCodec)());
}

interface Lz4js {
  compress(src: Uint8Array): Uint8Array;
  decompress(src: Uint8Array): Uint8Array;
}
let lz4: Lz4js | undefined;
const lz4js = (): Lz4js => (lz4 ??= require('lz4js') as Lz4js);

interface ZstdWasm {
  init(): Promise<void>;
  compress(src: Uint8Array, level: number): Uint8Array;
  decompress(src: Uint8Array): Uint8Array;
}
let zstd: Promise<ZstdWasm> | undefined;
/** The zstd module, its WebAssembly instantiated once per thread. */
const zstdWasm = (): Promise<ZstdWasm> => (zstd ??= (async () => {
  const module = require('@bokuweb/zstd-wasm') as ZstdWasm;
  await module.init();
  return module;
})());

const asBuffer = (bytes: Uint8Array): Buffer => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);

/** Compresses a batch's records section with `name` (a codec other than none). */
export async function compress(name: CompressionName, records: Buffer): Promise<Buffer> {
  switch (name) {
    case 'gzip':
      // What kafkajs's gzip codec does (zlib defaults).
      return gzipAsync(records);
    case 'snappy':
      return snappyCodec().compress({ buffer: records });
    case 'lz4':
      if (records.length > LZ4_MAX_RECORDS_BYTES) throw new RangeError(`lz4: a records section of ${records.length} bytes is more than one 4 MiB block`);
      return asBuffer(lz4Frame(lz4js().compress(records)));
    case 'zstd':
      return asBuffer((await zstdWasm()).compress(records, ZSTD_LEVEL));
    case 'none':
      throw new Error('compress: none is not a codec');
  }
}

/** Decompresses a records section (consumers of FlowGate's own topics, tests). */
export async function decompress(name: CompressionName, data: Buffer): Promise<Buffer> {
  switch (name) {
    case 'gzip':
      return gunzipAsync(data);
    case 'snappy':
      return snappyCodec().decompress(data);
    case 'lz4':
      return asBuffer(lz4js().decompress(data));
    case 'zstd':
      return asBuffer((await zstdWasm()).decompress(data));
    case 'none':
      return data;
  }
}

/** A codec as kafkajs's codec table holds it: a factory of { compress, decompress }. */
export type KafkajsCodecFactory = () => { compress(encoder: { buffer: Buffer }): Promise<Buffer>; decompress(buffer: Buffer): Promise<Buffer> };

/** Every codec but none for kafkajs's consumers (the raw and template topics), by codec id. */
export function kafkajsConsumerCodecs(): Map<number, KafkajsCodecFactory> {
  const table = new Map<number, KafkajsCodecFactory>();
  for (const name of compressionNames) {
    if (name === 'none') continue;
    table.set(codecId(name), () => ({ compress: (encoder) => compress(name, encoder.buffer), decompress: (buffer) => decompress(name, buffer) }));
  }
  return table;
}
