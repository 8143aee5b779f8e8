// What the main thread needs to know of the Kafka stage without loading kafkajs (about 27 ms of
// start-up): the producer's drop reasons and the compression codecs this build ships.

/** Why a record accepted from an exporter did not reach Kafka: defined with every other drop reason. */
export { producerDropReasons, type ProducerDropReason } from '../pipeline/drop-reasons.js';

export type CompressionName = 'none' | 'gzip' | 'snappy' | 'lz4' | 'zstd';
/** Compression codecs this build has (lz4 and zstd would need native codecs). */
export const supportedCompressions: readonly CompressionName[] = ['none', 'gzip', 'snappy'];
