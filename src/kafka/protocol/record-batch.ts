// Kafka RecordBatch v2 (magic 2), written straight from the decoder's output: one copy of each
// record's bytes into the batch, no object per record. kafkajs builds a Record object, an Encoder
// and several Buffers per message (about 7 us of CPU each, see shared/notes/spike.md); this is
// the part of the produce path that its per-message cost came from.
//
// Layout (Kafka protocol guide, "Record Batch"): baseOffset i64 · batchLength i32 ·
// partitionLeaderEpoch i32 · magic i8 · crc u32 (CRC-32C of attributes..end) · attributes i16 ·
// lastOffsetDelta i32 · baseTimestamp i64 · maxTimestamp i64 · producerId i64 · producerEpoch i16 ·
// baseSequence i32 · records count i32 · records. A record: length varint · attributes i8 ·
// timestampDelta varlong · offsetDelta varint · key (varint length, -1 = null) · value · headers.
import { crc32c } from '../../crc32c.js';
import type { RecordIndex } from '../../decoder/record-index.js';

export const BATCH_HEADER_BYTES = 61;
/** Room past a full batch's capacity for appendRun's copy of one datagram's records. */
const SCRATCH_BYTES = 256 * 1024;
const AT_LENGTH = 8;
const AT_LEADER_EPOCH = 12;
const AT_MAGIC = 16;
const AT_CRC = 17;
const AT_ATTRIBUTES = 21;
const AT_LAST_OFFSET_DELTA = 23;
const AT_BASE_TIMESTAMP = 27;
const AT_MAX_TIMESTAMP = 35;
const AT_PRODUCER_ID = 43;
const AT_PRODUCER_EPOCH = 51;
const AT_BASE_SEQUENCE = 53;
const AT_COUNT = 57;

/** Bytes of the zigzag varint of a non-negative int32 or -1 (the only values written here). */
export function varintSize(value: number): number {
  const z = value >= 0 ? value * 2 : -value * 2 - 1;
  if (z < 0x80) return 1;
  if (z < 0x4000) return 2;
  if (z < 0x200000) return 3;
  if (z < 0x10000000) return 4;
  return 5;
}

/** Writes the zigzag varint of `value` (an int32 in range) at `at`; returns the next offset. */
export function writeVarint(buf: Uint8Array, at: number, value: number): number {
  let z = value >= 0 ? value * 2 : -value * 2 - 1;
  while (z >= 0x80) {
    buf[at++] = (z & 0x7f) | 0x80;
    z = Math.floor(z / 128);
  }
  buf[at++] = z;
  return at;
}

/** Reads a zigzag varint at `at`: [value, next offset]. For tests and splitting, not the hot path. */
export function readVarint(buf: Uint8Array, at: number): [number, number] {
  let z = 0;
  let scale = 1;
  for (;;) {
    const b = buf[at++]!;
    z += (b & 0x7f) * scale;
    if (b < 0x80) break;
    scale *= 128;
  }
  return [z % 2 === 0 ? z / 2 : -(z + 1) / 2, at];
}

/** Record headers as they go on the wire (count, then each key and value), encoded once per exporter. */
export function encodeHeaders(headers: Readonly<Record<string, string>>): Buffer {
  const entries = Object.entries(headers).map(([k, v]) => [Buffer.from(k), Buffer.from(v)] as const);
  let size = varintSize(entries.length);
  for (const [k, v] of entries) size += varintSize(k.length) + k.length + varintSize(v.length) + v.length;
  const out = Buffer.alloc(size);
  let at = writeVarint(out, 0, entries.length);
  for (const [k, v] of entries) {
    at = writeVarint(out, at, k.length);
    at += k.copy(out, at);
    at = writeVarint(out, at, v.length);
    at += v.copy(out, at);
  }
  return out;
}

/**
 * One batch being filled: records are appended into one growing buffer behind a reserved
 * header; seal() writes the header. Grows by doubling up to `capacity` bytes (a batch is one
 * Kafka message set, so the broker's message.max.bytes bounds it).
 */
export class BatchBuilder {
  buffer: Buffer;
  length = BATCH_HEADER_BYTES;
  count = 0;
  baseTimestamp = 0;
  maxTimestamp = 0;
  readonly capacity: number;

  /** A builder holding an uncompressed records section written earlier (a batch read back from the disk spool). */
  static fromRecords(records: Buffer, count: number, baseTimestamp: number, maxTimestamp: number): BatchBuilder {
    const b = new BatchBuilder(BATCH_HEADER_BYTES + records.length, BATCH_HEADER_BYTES + records.length);
    records.copy(b.buffer, BATCH_HEADER_BYTES);
    b.length = BATCH_HEADER_BYTES + records.length;
    b.count = count;
    b.baseTimestamp = baseTimestamp;
    b.maxTimestamp = maxTimestamp;
    return b;
  }

  /** `reuse`: a buffer of an earlier, delivered batch (saves growing a new one). */
  constructor(capacity: number, initialBytes = 16 * 1024, reuse?: Buffer) {
    this.capacity = Math.max(capacity, BATCH_HEADER_BYTES + 64);
    this.buffer = reuse ?? Buffer.allocUnsafe(Math.min(this.capacity, Math.max(initialBytes, BATCH_HEADER_BYTES + 64)));
  }

  /**
   * Appends one record: key bytes `key[keyStart, keyStart + keyLength)` (keyLength -1: no key),
   * value `value[valueStart, valueEnd)` (valueEnd valueStart - 1: a null value, a compacted
   * topic's tombstone), pre-encoded `headers`. Returns false, appending nothing,
   * when it does not fit in `capacity` (the caller seals this batch and starts another).
   */
  append(key: Uint8Array | null, keyStart: number, keyLength: number, value: Buffer, valueStart: number, valueEnd: number,
    headers: Buffer, timestamp: number): boolean {
    if (this.count === 0) {
      this.baseTimestamp = timestamp;
      this.maxTimestamp = timestamp;
    }
    // A clock that steps back keeps the record at the batch's base time: deltas stay >= 0.
    const timestampDelta = timestamp > this.baseTimestamp ? Math.min(timestamp - this.baseTimestamp, 0x3fffffff) : 0;
    const valueLength = Math.max(valueEnd - valueStart, -1);
    const body = 1 + varintSize(timestampDelta) + varintSize(this.count) + (keyLength < 0 ? 1 : varintSize(keyLength) + keyLength) +
      varintSize(valueLength) + Math.max(valueLength, 0) + headers.length;
    const size = varintSize(body) + body;
    if (this.length + size > this.capacity) return false;
    this.#ensure(this.length + size);
    const b = this.buffer;
    let at = writeVarint(b, this.length, body);
    b[at++] = 0; // record attributes: unused
    at = writeVarint(b, at, timestampDelta);
    at = writeVarint(b, at, this.count);
    if (keyLength < 0) {
      b[at++] = 1; // varint -1: null key
    } else {
      at = writeVarint(b, at, keyLength);
      for (let i = 0; i < keyLength; i++) b[at + i] = key![keyStart + i]!;
      at += keyLength;
    }
    at = writeVarint(b, at, valueLength);
    if (valueLength > 0) at += value.copy(b, at, valueStart, valueEnd);
    at += headers.copy(b, at);
    this.length = at;
    this.count++;
    if (timestamp > this.maxTimestamp) this.maxTimestamp = timestamp;
    return true;
  }

  /**
   * Appends up to `n` one-record messages from the decoder's output: message k's value is
   * `value[start_k, end_k)` with end_k the end of record `first + k` in `index`, start_0 =
   * `start` and start_k+1 = end_k + index.gap (see decoder/record-index.ts). All get the same key, headers and
   * timestamp. Returns how many were appended (fewer when the batch fills or `maxCount` is met).
   * The values are copied in one block behind the batch and moved into place with copyWithin,
   * so nothing is allocated per record (Buffer.copy at an offset allocates a view per call).
   */
  appendRun(key: Uint8Array | null, keyStart: number, keyLength: number, value: Buffer, start: number, index: RecordIndex,
    first: number, n: number, headers: Buffer, timestamp: number, maxCount: number): number {
    const { entries, stride, endAt, gap } = index;
    if (this.count === 0) {
      this.baseTimestamp = timestamp;
      this.maxTimestamp = timestamp;
    }
    const timestampDelta = timestamp > this.baseTimestamp ? Math.min(timestamp - this.baseTimestamp, 0x3fffffff) : 0;
    const fixed = 1 + varintSize(timestampDelta) + (keyLength < 0 ? 1 : varintSize(keyLength) + keyLength) + headers.length;
    // Pass 1: how many fit, and their framed size.
    const limit = Math.min(n, maxCount - this.count);
    let total = 0;
    let m = 0;
    let from = start;
    while (m < limit) {
      const end = entries[(first + m) * stride + endAt]!;
      const length = end - from;
      const body = fixed + varintSize(this.count + m) + varintSize(length) + length;
      const size = varintSize(body) + body;
      if (this.length + total + size > this.capacity) break;
      total += size;
      m++;
      from = end + gap;
    }
    if (m === 0) return 0;
    const spanEnd = entries[(first + m - 1) * stride + endAt]!;
    const scratch = this.length + total; // every record lands below this: no overlap with its source
    this.#ensure(scratch + spanEnd - start);
    const b = this.buffer;
    value.copy(b, scratch, start, spanEnd);
    // Pass 2: each record's framing, its value moved down into place, its headers.
    let at = this.length;
    from = start;
    for (let k = 0; k < m; k++) {
      const end = entries[(first + k) * stride + endAt]!;
      const length = end - from;
      at = writeVarint(b, at, fixed + varintSize(this.count) + varintSize(length) + length);
      b[at++] = 0;
      at = writeVarint(b, at, timestampDelta);
      at = writeVarint(b, at, this.count);
      if (keyLength < 0) {
        b[at++] = 1;
      } else {
        at = writeVarint(b, at, keyLength);
        for (let i = 0; i < keyLength; i++) b[at + i] = key![keyStart + i]!;
        at += keyLength;
      }
      at = writeVarint(b, at, length);
      b.copyWithin(at, scratch + from - start, scratch + end - start);
      at += length;
      for (let i = 0; i < headers.length; i++) b[at + i] = headers[i]!;
      at += headers.length;
      this.count++;
      from = end + gap;
    }
    this.length = at;
    if (timestamp > this.maxTimestamp) this.maxTimestamp = timestamp;
    return m;
  }

  /** Room for `needed` bytes; past `capacity` only for appendRun's scratch copy. */
  #ensure(needed: number): void {
    if (needed <= this.buffer.length) return;
    let size = this.buffer.length;
    while (size < needed) size *= 2;
    // A buffer that reaches capacity gets room for appendRun's scratch copy of a datagram's output too.
    const next = Buffer.allocUnsafe(Math.max(needed, size >= this.capacity ? this.capacity + SCRATCH_BYTES : size));
    this.buffer.copy(next, 0, 0, this.length);
    this.buffer = next;
  }

  /** The records section (what compression applies to). */
  records(): Buffer {
    return this.buffer.subarray(BATCH_HEADER_BYTES, this.length);
  }
}

export interface ProducerStamp {
  producerId: bigint;
  producerEpoch: number;
  baseSequence: number;
}

/** No idempotence: the broker assigns nothing and checks nothing. */
export const NO_PRODUCER: ProducerStamp = { producerId: -1n, producerEpoch: -1, baseSequence: -1 };

/**
 * Writes the batch header in front of `records` (the builder's records section, or the same
 * records compressed with codec id `codec`, protocol/compression.ts) and returns the complete batch. With no compression the
 * builder's own buffer is used, so the records are not copied again.
 */
export function sealBatch(builder: BatchBuilder, compressed: Buffer | null, codec: number, stamp: ProducerStamp): Buffer {
  let batch: Buffer;
  if (compressed) {
    batch = Buffer.allocUnsafe(BATCH_HEADER_BYTES + compressed.length);
    compressed.copy(batch, BATCH_HEADER_BYTES);
  } else {
    batch = builder.buffer.subarray(0, builder.length);
  }
  batch.writeBigInt64BE(0n, 0);
  batch.writeInt32BE(batch.length - 12, AT_LENGTH);
  batch.writeInt32BE(-1, AT_LEADER_EPOCH);
  batch.writeInt8(2, AT_MAGIC);
  batch.writeInt16BE(codec, AT_ATTRIBUTES);
  batch.writeInt32BE(builder.count - 1, AT_LAST_OFFSET_DELTA);
  batch.writeBigInt64BE(BigInt(builder.baseTimestamp), AT_BASE_TIMESTAMP);
  batch.writeBigInt64BE(BigInt(builder.maxTimestamp), AT_MAX_TIMESTAMP);
  batch.writeInt32BE(builder.count, AT_COUNT);
  stampBatch(batch, stamp);
  return batch;
}

/** Sets the idempotence fields of a sealed batch and its CRC (they are inside the checksum). */
export function stampBatch(batch: Buffer, stamp: ProducerStamp): void {
  batch.writeBigInt64BE(stamp.producerId, AT_PRODUCER_ID);
  batch.writeInt16BE(stamp.producerEpoch, AT_PRODUCER_EPOCH);
  batch.writeInt32BE(stamp.baseSequence, AT_BASE_SEQUENCE);
  batch.writeUInt32BE(crc32c(batch.subarray(AT_ATTRIBUTES)), AT_CRC);
}

export interface RecordView {
  keyStart: number;
  keyLength: number;
  valueStart: number;
  valueEnd: number;
  headersStart: number;
  headersEnd: number;
  timestampDelta: number;
}

/**
 * The records of an uncompressed batch builder, as offsets into its buffer. Used when a batch
 * must be split (the broker found it too large) and by tests; never per record on the hot path.
 */
export function recordViews(builder: BatchBuilder): RecordView[] {
  const b = builder.buffer;
  const out: RecordView[] = [];
  let at = BATCH_HEADER_BYTES;
  while (at < builder.length) {
    const [length, bodyStart] = readVarint(b, at);
    let p = bodyStart + 1;
    let timestampDelta: number;
    [timestampDelta, p] = readVarint(b, p);
    [, p] = readVarint(b, p); // offsetDelta
    let keyLength: number;
    [keyLength, p] = readVarint(b, p);
    const keyStart = p;
    if (keyLength > 0) p += keyLength;
    let valueLength: number;
    [valueLength, p] = readVarint(b, p);
    const valueStart = p;
    if (valueLength > 0) p += valueLength;
    // A null value (tombstone) keeps valueEnd = valueStart - 1, as append() takes it.
    out.push({ keyStart, keyLength, valueStart, valueEnd: valueLength < 0 ? valueStart - 1 : p, headersStart: p, headersEnd: bodyStart + length, timestampDelta });
    at = bodyStart + length;
  }
  return out;
}
