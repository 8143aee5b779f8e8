// What the main thread needs to know of the Kafka stage without loading kafkajs (about 27 ms of
// start-up): the producer's drop reasons and the names of the compression codecs. Keep it
// (and what it imports) free of kafkajs.

/** Why a record accepted from an exporter did not reach Kafka: defined with every other drop reason. */
export { producerDropReasons, type ProducerDropReason } from '../pipeline/drop-reasons.js';

export { compressionNames, type CompressionName } from './protocol/compression.js';
