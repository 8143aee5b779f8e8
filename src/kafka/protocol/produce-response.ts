// The Produce response, versions 3 to 7: what the broker said for each partition of a request
// (produce-request.ts). Read once per request, not per record.
//
// Produce Response (Version: 3-7) => [responses] throttle_time_ms
//   responses => name [partition_responses]
//     name => STRING
//     partition_responses => index error_code base_offset log_append_time_ms log_start_offset
//       index => INT32
//       error_code => INT16
//       base_offset => INT64
//       log_append_time_ms => INT64
//       log_start_offset => INT64 (v5 and later)
//   throttle_time_ms => INT32

export interface ProducePartitionResponse {
  partition: number;
  errorCode: number;
  baseOffset: bigint;
}

export interface ProduceResponse {
  topics: { topic: string; partitions: ProducePartitionResponse[] }[];
  throttleTimeMs: number;
}

/** Decodes a Produce response body (after the correlation id) of `version`; throws on a short or overlong body. */
export function decodeProduceResponse(version: number, body: Buffer): ProduceResponse {
  let at = 0;
  const need = (n: number): void => {
    if (at + n > body.length) throw new Error(`Produce v${version} response ends at byte ${body.length}, ${n} more expected at ${at}`);
  };
  const int16 = (): number => (need(2), (at += 2), body.readInt16BE(at - 2));
  const int32 = (): number => (need(4), (at += 4), body.readInt32BE(at - 4));
  const int64 = (): bigint => (need(8), (at += 8), body.readBigInt64BE(at - 8));
  const topics: ProduceResponse['topics'] = [];
  for (let t = int32(); t > 0; t--) {
    const length = int16();
    need(length);
    const topic = body.toString('utf8', at, (at += length));
    const partitions: ProducePartitionResponse[] = [];
    for (let p = int32(); p > 0; p--) {
      const partition = int32();
      const errorCode = int16();
      const baseOffset = int64();
      int64(); // log_append_time_ms
      if (version >= 5) int64(); // log_start_offset
      partitions.push({ partition, errorCode, baseOffset });
    }
    topics.push({ topic, partitions });
  }
  const throttleTimeMs = int32();
  if (at !== body.length) throw new Error(`Produce v${version} response has ${body.length - at} bytes past its end`);
  return { topics, throttleTimeMs };
}

/**
 * The error codes of a Produce response the sender tells apart, by the names Kafka (and
 * kafkajs's error table, checked in kafkajs-internals.ts) gives them. Every other code is
 * retriable or not as the error table says.
 */
export const produceErrors = {
  MESSAGE_TOO_LARGE: 10,
  RECORD_LIST_TOO_LARGE: 18,
  OUT_OF_ORDER_SEQUENCE_NUMBER: 45,
  DUPLICATE_SEQUENCE_NUMBER: 46,
  INVALID_PRODUCER_EPOCH: 47,
  INVALID_PRODUCER_ID_MAPPING: 49,
  UNKNOWN_PRODUCER_ID: 59,
} as const;
export type ProduceErrorType = keyof typeof produceErrors;
