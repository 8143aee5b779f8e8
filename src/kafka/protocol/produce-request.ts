// The Produce request body, versions 3 to 7 (the same layout in all five; v3 is the first that
// carries RecordBatch v2, v7 the last before flexible versions), written after `room` bytes left
// for the request's frame (request-frame.ts); kafkajs's connection sends it (kafkajs-internals.ts).
//
// Produce Request (Version: 3-7) => transactional_id acks timeout_ms [topic_data]
//   transactional_id => NULLABLE_STRING (always null here: no transactions)
//   acks => INT16
//   timeout_ms => INT32
//   topic_data => name [partition_data]
//     name => STRING
//     partition_data => index record_set
//       index => INT32
//       record_set => RECORDS (INT32 length, then one sealed RecordBatch, record-batch.ts)

export const PRODUCE_API_KEY = 0;
export const PRODUCE_MIN_VERSION = 3;
export const PRODUCE_MAX_VERSION = 7;

export interface ProduceTopic {
  topic: string;
  partitions: { partition: number; batch: Buffer }[];
}

/** The version to speak with a broker that supports Produce `[min, max]`; -1 when none of 3-7. */
export function produceVersion(min: number, max: number): number {
  const version = Math.min(PRODUCE_MAX_VERSION, max);
  return version < PRODUCE_MIN_VERSION || version < min ? -1 : version;
}

/** The body, after `room` bytes (the request frame's header, request-frame.ts; 0: the body alone). */
export function encodeProduceRequest(acks: number, timeoutMs: number, topics: readonly ProduceTopic[], room = 0): Buffer {
  let size = 2 + 2 + 4 + 4;
  const names = topics.map((t) => Buffer.from(t.topic));
  for (let i = 0; i < topics.length; i++) {
    size += 2 + names[i]!.length + 4;
    for (const p of topics[i]!.partitions) size += 4 + 4 + p.batch.length;
  }
  const out = Buffer.allocUnsafe(room + size);
  let at = out.writeInt16BE(-1, room);
  at = out.writeInt16BE(acks, at);
  at = out.writeInt32BE(timeoutMs, at);
  at = out.writeInt32BE(topics.length, at);
  for (let i = 0; i < topics.length; i++) {
    at = out.writeInt16BE(names[i]!.length, at);
    at += names[i]!.copy(out, at);
    at = out.writeInt32BE(topics[i]!.partitions.length, at);
    for (const p of topics[i]!.partitions) {
      at = out.writeInt32BE(p.partition, at);
      at = out.writeInt32BE(p.batch.length, at);
      at += p.batch.copy(out, at);
    }
  }
  return out;
}
