// The Fetch response, versions 4 to 11 (fetch-request.ts): each partition's error, high
// watermark and where its record set lies in the response body. The records themselves are not
// decoded here: record-batch-reader.ts walks them in place, so a response costs one object per
// partition, none per record.
//
// Fetch Response (Version: 4-11) => throttle_time_ms error_code session_id [responses]
//   throttle_time_ms => INT32
//   error_code => INT16, session_id => INT32 (v7 and later)
//   responses => topic [partitions]
//     topic => STRING
//     partitions => partition error_code high_watermark last_stable_offset log_start_offset
//         [aborted_transactions] preferred_read_replica records
//       partition => INT32
//       error_code => INT16
//       high_watermark => INT64
//       last_stable_offset => INT64
//       log_start_offset => INT64 (v5 and later)
//       aborted_transactions => producer_id first_offset (INT64 each; nullable array)
//       preferred_read_replica => INT32 (v11 and later)
//       records => RECORDS (INT32 length, -1 for none, then record batches; the last one may be
//                  cut short by the byte limits: the reader stops before it)

export interface FetchedPartition {
  topic: string;
  partition: number;
  errorCode: number;
  highWatermark: number;
  logStartOffset: number;
  /** The record set: body[recordsStart, recordsEnd) (empty when the partition has none). */
  recordsStart: number;
  recordsEnd: number;
}

export interface FetchResponse {
  throttleTimeMs: number;
  /** The whole request's error (v7 and later; 0 before). */
  errorCode: number;
  /** The response body the record sets are in (kafkajs's buffer, not copied). */
  body: Buffer;
  partitions: FetchedPartition[];
}

/** Decodes a Fetch response body (after the correlation id) of `version`; throws on a short or overlong body. */
export function decodeFetchResponse(version: number, body: Buffer): FetchResponse {
  let at = 0;
  const need = (n: number): void => {
    if (n < 0 || at + n > body.length) throw new Error(`Fetch v${version} response ends at byte ${body.length}, ${n} more expected at ${at}`);
  };
  const int16 = (): number => (need(2), (at += 2), body.readInt16BE(at - 2));
  const int32 = (): number => (need(4), (at += 4), body.readInt32BE(at - 4));
  const int64 = (): number => (need(8), (at += 8), Number(body.readBigInt64BE(at - 8)));
  const throttleTimeMs = int32();
  let errorCode = 0;
  if (version >= 7) {
    errorCode = int16();
    int32(); // session_id
  }
  const partitions: FetchedPartition[] = [];
  for (let t = int32(); t > 0; t--) {
    const length = int16();
    need(length);
    const topic = body.toString('utf8', at, (at += length));
    for (let p = int32(); p > 0; p--) {
      const partition = int32();
      const partitionError = int16();
      const highWatermark = int64();
      int64(); // last_stable_offset
      const logStartOffset = version >= 5 ? int64() : -1;
      const aborted = int32();
      if (aborted > 0) {
        need(aborted * 16);
        at += aborted * 16;
      }
      if (version >= 11) int32(); // preferred_read_replica
      const recordsLength = int32();
      const recordsStart = at;
      if (recordsLength > 0) {
        need(recordsLength);
        at += recordsLength;
      }
      partitions.push({ topic, partition, errorCode: partitionError, highWatermark, logStartOffset, recordsStart, recordsEnd: at });
    }
  }
  if (at !== body.length) throw new Error(`Fetch v${version} response has ${body.length - at} bytes past its end`);
  return { throttleTimeMs, errorCode, body, partitions };
}
