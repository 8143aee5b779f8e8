// Reads the record batches of a fetched record set in place: one reader, reused, walks batch after
// batch and record after record, and says where each record's key and value lie in the buffer
// (offsets, no object or Buffer per record). kafkajs's consumer builds an object, Buffers for key
// and value and a headers object per record; on the raw topic that was most of a decoder's main
// thread (docs/performance.md, section 10).
//
// Layout (record-batch.ts writes it): baseOffset i64 · batchLength i32 · partitionLeaderEpoch i32 ·
// magic i8 (2) · crc u32 (CRC-32C of attributes..end) · attributes i16 (bits 0-2 codec, bit 4
// transactional, bit 5 control) · lastOffsetDelta i32 · baseTimestamp i64 · maxTimestamp i64 ·
// producerId i64 · producerEpoch i16 · baseSequence i32 · records count i32 · records (compressed
// as one block with the codec). A record: length varint · attributes i8 · timestampDelta varlong ·
// offsetDelta varint · key (varint length, -1 = null) · value (the same) · headers (skipped: the
// record's length says where it ends).
//
// A record set may end with a batch cut short by the fetch's byte limits: the reader stops before
// it (`truncated`), and the next fetch from the last offset read returns it whole.
import { crc32c } from '../../crc32c.js';
import { compressionNames, codecId, decompress, type CompressionName } from './compression.js';

const BATCH_LOG_OVERHEAD = 12; // baseOffset + batchLength: what batchLength does not count
const BATCH_HEADER_BYTES = 61;
const AT_LENGTH = 8;
const AT_MAGIC = 16;
const AT_CRC = 17;
const AT_ATTRIBUTES = 21;
const AT_LAST_OFFSET_DELTA = 23;
const AT_COUNT = 57;
const CODEC_MASK = 0x07;
const CONTROL_FLAG = 0x20;
/** Codec name by the attributes' id. */
const codecNames: readonly (CompressionName | undefined)[] = (() => {
  const out: (CompressionName | undefined)[] = [];
  for (const name of compressionNames) out[codecId(name)] = name;
  return out;
})();

/** Why a batch (or the rest of one) could not be read: a counter label for its reader's caller. */
export type BatchProblem = 'magic' | 'crc' | 'codec' | 'corrupt';

export class RecordBatchReader {
  #set: Buffer = Buffer.alloc(0);
  #next = 0;
  #end = 0;
  #batchAt = 0;
  #batchEnd = 0;
  /** The batch being read. */
  baseOffset = 0;
  lastOffsetDelta = 0;
  attributes = 0;
  count = 0;
  /** The set ended with a batch cut short (a later fetch from its offset returns it whole). */
  truncated = false;
  /** Why the last batch or record could not be read; null when everything so far was. */
  problem: BatchProblem | null = null;
  /** The bytes the current record's key and value are in: the record set, or the batch decompressed. */
  buffer: Buffer = this.#set;
  #recordAt = 0;
  #recordsEnd = 0;
  #recordsLeft = 0;
  /** The current record. */
  offset = 0;
  timestampDelta = 0;
  keyStart = 0;
  /** -1: no key. */
  keyLength = -1;
  valueStart = 0;
  /** -1: no value (a tombstone). */
  valueLength = -1;

  /** Starts on the record set `set[start, end)`. */
  reset(set: Buffer, start: number, end: number): this {
    this.#set = set;
    this.#next = start;
    this.#end = end;
    this.truncated = false;
    this.problem = null;
    this.#recordsLeft = 0;
    return this;
  }

  /** The codec id of the batch's records (0: none). */
  get codec(): number {
    return this.attributes & CODEC_MASK;
  }

  /** A control batch (transaction markers): no data records. */
  get isControl(): boolean {
    return (this.attributes & CONTROL_FLAG) !== 0;
  }

  /** The offset after the batch (its last record may have been removed by compaction: this counts it). */
  get nextOffset(): number {
    return this.baseOffset + this.lastOffsetDelta + 1;
  }

  /**
   * Moves to the next complete batch; false at the end of the set or before a batch cut short.
   * A batch that cannot be read (its magic, its checksum) is still moved to, with `problem` set
   * and no records: its offsets are known, so the caller can count it and go past it.
   */
  nextBatch(): boolean {
    this.#recordsLeft = 0;
    this.problem = null;
    const s = this.#set;
    const at = this.#next;
    if (at + BATCH_LOG_OVERHEAD > this.#end) {
      this.truncated = at < this.#end;
      return false;
    }
    const length = s.readInt32BE(at + AT_LENGTH);
    const end = at + BATCH_LOG_OVERHEAD + length;
    if (end > this.#end) {
      this.truncated = true;
      return false;
    }
    this.#batchAt = at;
    this.#batchEnd = end;
    this.#next = end;
    this.baseOffset = Number(s.readBigInt64BE(at));
    if (length < BATCH_HEADER_BYTES - BATCH_LOG_OVERHEAD) {
      // Too short to say its last offset: nothing past it can be trusted either.
      this.problem = 'corrupt';
      this.lastOffsetDelta = 0;
      this.#next = this.#end;
      return true;
    }
    this.attributes = s.readInt16BE(at + AT_ATTRIBUTES);
    this.lastOffsetDelta = s.readInt32BE(at + AT_LAST_OFFSET_DELTA);
    this.count = s.readInt32BE(at + AT_COUNT);
    if (s[at + AT_MAGIC] !== 2) {
      this.problem = 'magic';
    } else if (crc32c(s.subarray(at + AT_ATTRIBUTES, end)) !== s.readUInt32BE(at + AT_CRC)) {
      this.problem = 'crc';
    } else if (codecNames[this.codec] === undefined) {
      this.problem = 'codec';
    } else {
      this.buffer = s;
      this.#recordAt = at + BATCH_HEADER_BYTES;
      this.#recordsEnd = end;
      this.#recordsLeft = this.codec === 0 ? this.count : 0;
    }
    return true;
  }

  /** The batch is compressed: read its records from here on (one buffer per batch). */
  get compressed(): boolean {
    return this.problem === null && this.codec !== 0;
  }

  /** Decompresses the current batch's records (call when `compressed`); sets `problem` if its codec's output is unreadable. */
  async decompress(): Promise<void> {
    const name = codecNames[this.codec]!;
    try {
      this.buffer = await decompress(name, this.#set.subarray(this.#batchAt + BATCH_HEADER_BYTES, this.#batchEnd));
    } catch {
      this.problem = 'codec';
      return;
    }
    this.#recordAt = 0;
    this.#recordsEnd = this.buffer.length;
    this.#recordsLeft = this.count;
  }

  /**
   * Moves to the batch's next record; false after its last (or at one that does not fit in the
   * batch: `problem` 'corrupt', and the rest of the batch is left).
   */
  nextRecord(): boolean {
    if (this.#recordsLeft <= 0 || this.#recordAt >= this.#recordsEnd) return false;
    this.#recordsLeft--;
    this.#p = this.#recordAt;
    const length = this.#varint(this.#recordsEnd);
    const bodyEnd = this.#p + length;
    if (length < 0 || bodyEnd > this.#recordsEnd || this.#p >= bodyEnd) return this.#corrupt();
    this.#p++; // record attributes: unused
    this.timestampDelta = this.#varint(bodyEnd);
    this.offset = this.baseOffset + this.#varint(bodyEnd);
    this.keyLength = this.#varint(bodyEnd);
    this.keyStart = this.#p;
    if (this.keyLength > 0) this.#p += this.keyLength;
    this.valueLength = this.#varint(bodyEnd);
    this.valueStart = this.#p;
    if (this.valueLength > 0) this.#p += this.valueLength;
    if (this.#p > bodyEnd || this.keyLength < -1 || this.valueLength < -1) return this.#corrupt();
    this.#recordAt = bodyEnd;
    return true;
  }

  #corrupt(): false {
    this.problem = 'corrupt';
    this.#recordsLeft = 0;
    return false;
  }

  /** Where #varint reads next. */
  #p = 0;

  /**
   * Reads a zigzag varint (or varlong) at the record position, no further than `limit`; a varint
   * that runs past it reads as -2 with the position at `limit + 1`, which every caller refuses.
   */
  #varint(limit: number): number {
    const b = this.buffer;
    let p = this.#p;
    let z = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      if (p >= limit) {
        this.#p = limit + 1;
        return -2;
      }
      const byte = b[p++]!;
      z += (byte & 0x7f) * scale;
      if (byte < 0x80) {
        this.#p = p;
        return z % 2 === 0 ? z / 2 : -(z + 1) / 2;
      }
      scale *= 128;
    }
    this.#p = limit + 1;
    return -2;
  }
}
