// The Fetch request body, versions 4 to 11. v11 is the last that kafkajs's connection can frame
// (later versions are flexible: tagged fields in the request header), and Kafka 4.x took out
// v0-v3 (KIP-896), so v4 is the first both sides speak; a broker of Kafka 2.3 or later takes v11.
// Written after room for the request's frame (request-frame.ts); kafkajs's connection sends it
// (kafkajs-internals.ts, client.ts).
//
// Fetch Request (Version: 4-11) => replica_id max_wait_ms min_bytes max_bytes isolation_level
//     session_id session_epoch [topics] [forgotten_topics_data] rack_id
//   replica_id => INT32 (-1: a consumer)
//   max_wait_ms => INT32
//   min_bytes => INT32
//   max_bytes => INT32
//   isolation_level => INT8
//   session_id => INT32, session_epoch => INT32 (v7 and later; 0 and -1: no fetch session)
//   topics => topic [partitions]
//     topic => STRING
//     partitions => partition current_leader_epoch fetch_offset log_start_offset partition_max_bytes
//       partition => INT32
//       current_leader_epoch => INT32 (v9 and later; -1: not known)
//       fetch_offset => INT64
//       log_start_offset => INT64 (v5 and later; -1 from a consumer)
//       partition_max_bytes => INT32
//   forgotten_topics_data => topic [partitions] (v7 and later; always empty here)
//   rack_id => STRING (v11 and later; empty)

export const FETCH_API_KEY = 1;
export const FETCH_MIN_VERSION = 4;
export const FETCH_MAX_VERSION = 11;
/** Read what any producer wrote, up to the high watermark (FlowGate's topics are never written in transactions). */
export const READ_UNCOMMITTED = 0;

export interface FetchPartition {
  partition: number;
  /** The offset of the first record wanted (a safe integer). */
  offset: number;
  maxBytes: number;
}

export interface FetchTopic {
  topic: string;
  partitions: readonly FetchPartition[];
}

export interface FetchRequest {
  maxWaitMs: number;
  minBytes: number;
  maxBytes: number;
  isolationLevel: number;
  topics: readonly FetchTopic[];
}

/** The version to speak with a broker that supports Fetch `[min, max]`; -1 when none of 4-11. */
export function fetchVersion(min: number, max: number): number {
  const version = Math.min(FETCH_MAX_VERSION, max);
  return version < FETCH_MIN_VERSION || version < min ? -1 : version;
}

/** The body, after `room` bytes (the request frame's header, request-frame.ts; 0: the body alone). */
export function encodeFetchRequest(version: number, request: FetchRequest, room = 0): Buffer {
  if (version < FETCH_MIN_VERSION || version > FETCH_MAX_VERSION) throw new RangeError(`Fetch v${version}: FlowGate encodes v${FETCH_MIN_VERSION}-v${FETCH_MAX_VERSION}`);
  const names = request.topics.map((t) => Buffer.from(t.topic));
  const partitionBytes = 4 + (version >= 9 ? 4 : 0) + 8 + (version >= 5 ? 8 : 0) + 4;
  let size = 4 * 4 + 1 + (version >= 7 ? 8 : 0) + 4 + (version >= 7 ? 4 : 0) + (version >= 11 ? 2 : 0);
  for (let i = 0; i < names.length; i++) size += 2 + names[i]!.length + 4 + request.topics[i]!.partitions.length * partitionBytes;
  const out = Buffer.allocUnsafe(room + size);
  let at = out.writeInt32BE(-1, room);
  at = out.writeInt32BE(request.maxWaitMs, at);
  at = out.writeInt32BE(request.minBytes, at);
  at = out.writeInt32BE(request.maxBytes, at);
  at = out.writeInt8(request.isolationLevel, at);
  if (version >= 7) {
    at = out.writeInt32BE(0, at); // session_id: no incremental fetch session
    at = out.writeInt32BE(-1, at); // session_epoch -1: a full fetch, no session created
  }
  at = out.writeInt32BE(names.length, at);
  for (let i = 0; i < names.length; i++) {
    at = out.writeInt16BE(names[i]!.length, at);
    at += names[i]!.copy(out, at);
    const partitions = request.topics[i]!.partitions;
    at = out.writeInt32BE(partitions.length, at);
    for (const p of partitions) {
      at = out.writeInt32BE(p.partition, at);
      if (version >= 9) at = out.writeInt32BE(-1, at);
      at = out.writeBigInt64BE(BigInt(p.offset), at);
      if (version >= 5) at = out.writeBigInt64BE(-1n, at);
      at = out.writeInt32BE(p.maxBytes, at);
    }
  }
  if (version >= 7) at = out.writeInt32BE(0, at); // forgotten_topics_data
  if (version >= 11) at = out.writeInt16BE(0, at); // rack_id ''
  return out;
}
