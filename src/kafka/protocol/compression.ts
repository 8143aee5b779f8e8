// The compression codecs of a RecordBatch, in one table: the name kafka.compression takes, the
// id the batch's attributes carry (Kafka protocol guide, "Record Batch": attributes bits 0-2)
// and whether this build ships the codec. lz4 and zstd would need native codecs: refused at
// start-up by the config check, not at the first batch.
//
// Loaded by the main thread too (through names.ts), so nothing here loads a codec at import:
// snappy is required at the first snappy batch.
import { createRequire } from 'node:module';
import { gzip } from 'node:zlib';
import { promisify } from 'node:util';

export const codecs = {
  none: { id: 0, shipped: true },
  gzip: { id: 1, shipped: true },
  snappy: { id: 2, shipped: true },
  lz4: { id: 3, shipped: false },
  zstd: { id: 4, shipped: false },
} as const;

export type CompressionName = keyof typeof codecs;
export const compressionNames = Object.keys(codecs) as readonly CompressionName[];
/** Codecs this build has. */
export const supportedCompressions: readonly CompressionName[] = compressionNames.filter((n) => codecs[n].shipped);

/** The attributes' codec id of `name`. */
export function codecId(name: CompressionName): number {
  return codecs[name].id;
}

const require = createRequire(import.meta.url);
const gzipAsync = promisify(gzip);
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

/** Compresses a batch's records section with `name` (a shipped codec other than none). */
export async function compress(name: CompressionName, records: Buffer): Promise<Buffer> {
  switch (name) {
    case 'gzip':
      // What kafkajs's gzip codec does (zlib defaults).
      return gzipAsync(records);
    case 'snappy':
      return snappyCodec().compress({ buffer: records });
    default:
      throw new Error(`no ${name} codec in this build (it ships ${supportedCompressions.join(', ')})`);
  }
}
