// The spool's files on disk, version 1: every byte layout of src/spool is defined here and
// nowhere else (little-endian throughout). A spool directory holds one writer's files:
//
//   NNNNNNNNNNNNNNNNNNNN.seg   segments, named by their first entry id (20 digits, so they sort)
//     header  magic "FGSP" · u16 version · u16 reserved · u64 first entry id           16 bytes
//     entry   u32 body length · u32 CRC-32C of the body · body                          8 + n bytes
//     body    u64 id · f64 first receive time (ms) · u32 records · i32 partition ·
//             u32 messages · f64 base timestamp · f64 max timestamp ·
//             u16 topic length · topic (UTF-8) · u16 tenants · per tenant: u16 length · name · u32 records ·
//             u32 payload length · payload (a Kafka RecordBatch v2 records section, uncompressed)
//   acked    entries acknowledged by the broker, appended as they are:
//     header  magic "FGSA" · u16 version · u16 reserved                                   8 bytes
//     record  u64 id · u32 CRC-32C of those 8 bytes                                       12 bytes
//   lock     the pid of the process that owns the directory
//
// A reader meets three kinds of damage, each cut off and counted, never trusted: a torn tail (a
// write a crash interrupted), an entry whose checksum fails, a header of another version.
import { crc32c } from '../crc32c.js';

export const SPOOL_FORMAT_VERSION = 1;
export const SEGMENT_MAGIC = 0x50534746; // "FGSP" read as a little-endian u32
export const LEDGER_MAGIC = 0x41534746; // "FGSA"
export const SEGMENT_HEADER_BYTES = 16;
export const LEDGER_HEADER_BYTES = 8;
export const LEDGER_RECORD_BYTES = 12;
export const ENTRY_FRAME_BYTES = 8;
/** An entry longer than this is damage, not data: a batch is at most a few MiB. */
export const MAX_ENTRY_BYTES = 256 * 1024 * 1024;
export const SEGMENT_SUFFIX = '.seg';
export const LEDGER_FILE = 'acked';
export const LOCK_FILE = 'lock';

/** What the spool keeps of a batch besides its bytes: enough to send it and account for it. */
export interface EntryMeta {
  topic: string;
  partition: number;
  /** Flow records in the batch (a message may hold several: NDJSON per datagram). */
  records: number;
  /** Kafka messages in the batch. */
  messages: number;
  firstReceivedAt: number;
  baseTimestamp: number;
  maxTimestamp: number;
  /** Records per tenant, in the batch's order. */
  tenants: { name: string; records: number }[];
}

export function segmentName(firstId: number): string {
  return String(firstId).padStart(20, '0') + SEGMENT_SUFFIX;
}

/** The first entry id a segment's file name says, or -1 for a file that is not a segment. */
export function segmentFirstId(name: string): number {
  if (!name.endsWith(SEGMENT_SUFFIX)) return -1;
  const digits = name.slice(0, -SEGMENT_SUFFIX.length);
  return /^\d{20}$/.test(digits) ? Number(digits) : -1;
}

export function encodeSegmentHeader(firstId: number): Buffer {
  const b = Buffer.alloc(SEGMENT_HEADER_BYTES);
  b.writeUInt32LE(SEGMENT_MAGIC, 0);
  b.writeUInt16LE(SPOOL_FORMAT_VERSION, 4);
  b.writeBigUInt64LE(BigInt(firstId), 8);
  return b;
}

/** The segment header's first id, or a reason the header is not one this version reads. */
export function decodeSegmentHeader(b: Buffer): number | string {
  if (b.length < SEGMENT_HEADER_BYTES) return 'short header';
  if (b.readUInt32LE(0) !== SEGMENT_MAGIC) return 'not a spool segment';
  const version = b.readUInt16LE(4);
  if (version !== SPOOL_FORMAT_VERSION) return `format version ${version}, this build reads ${SPOOL_FORMAT_VERSION}`;
  return Number(b.readBigUInt64LE(8));
}

/** One framed entry (length, checksum, body) ready to append. */
export function encodeEntry(id: number, meta: EntryMeta, payload: Buffer): Buffer {
  const topic = Buffer.from(meta.topic);
  const tenants = meta.tenants.map((t) => Buffer.from(t.name));
  let body = 8 + 8 + 4 + 4 + 4 + 8 + 8 + 2 + topic.length + 2 + 4 + payload.length;
  for (const t of tenants) body += 2 + t.length + 4;
  const b = Buffer.allocUnsafe(ENTRY_FRAME_BYTES + body);
  let at = b.writeUInt32LE(body, 0);
  at += 4; // checksum, below
  b.writeBigUInt64LE(BigInt(id), at);
  at = b.writeDoubleLE(meta.firstReceivedAt, at + 8);
  at = b.writeUInt32LE(meta.records, at);
  at = b.writeInt32LE(meta.partition, at);
  at = b.writeUInt32LE(meta.messages, at);
  at = b.writeDoubleLE(meta.baseTimestamp, at);
  at = b.writeDoubleLE(meta.maxTimestamp, at);
  at = b.writeUInt16LE(topic.length, at);
  at += topic.copy(b, at);
  at = b.writeUInt16LE(tenants.length, at);
  for (let i = 0; i < tenants.length; i++) {
    at = b.writeUInt16LE(tenants[i]!.length, at);
    at += tenants[i]!.copy(b, at);
    at = b.writeUInt32LE(meta.tenants[i]!.records, at);
  }
  at = b.writeUInt32LE(payload.length, at);
  payload.copy(b, at);
  b.writeUInt32LE(crc32c(b.subarray(ENTRY_FRAME_BYTES)), 4);
  return b;
}

export interface DecodedEntry {
  id: number;
  meta: EntryMeta;
  /** Offset of the payload within the body. */
  payloadAt: number;
  payloadLength: number;
}

/** Reads an entry body whose checksum was verified; a reason string when its fields do not fit. */
export function decodeEntryBody(body: Buffer): DecodedEntry | string {
  try {
    const id = Number(body.readBigUInt64LE(0));
    let at = 8;
    const firstReceivedAt = body.readDoubleLE(at);
    const records = body.readUInt32LE(at + 8);
    const partition = body.readInt32LE(at + 12);
    const messages = body.readUInt32LE(at + 16);
    const baseTimestamp = body.readDoubleLE(at + 20);
    const maxTimestamp = body.readDoubleLE(at + 28);
    at += 36;
    const topicLength = body.readUInt16LE(at);
    const topic = body.toString('utf8', at + 2, at + 2 + topicLength);
    at += 2 + topicLength;
    const tenantCount = body.readUInt16LE(at);
    at += 2;
    const tenants: EntryMeta['tenants'] = [];
    for (let i = 0; i < tenantCount; i++) {
      const n = body.readUInt16LE(at);
      tenants.push({ name: body.toString('utf8', at + 2, at + 2 + n), records: body.readUInt32LE(at + 2 + n) });
      at += 2 + n + 4;
    }
    const payloadLength = body.readUInt32LE(at);
    at += 4;
    if (at + payloadLength !== body.length) return 'entry fields do not match its length';
    return { id, meta: { topic, partition, records, messages, firstReceivedAt, baseTimestamp, maxTimestamp, tenants }, payloadAt: at, payloadLength };
  } catch {
    return 'entry fields run past its length';
  }
}

export function encodeLedgerHeader(): Buffer {
  const b = Buffer.alloc(LEDGER_HEADER_BYTES);
  b.writeUInt32LE(LEDGER_MAGIC, 0);
  b.writeUInt16LE(SPOOL_FORMAT_VERSION, 4);
  return b;
}

export function encodeLedgerRecord(id: number, into: Buffer, at: number): void {
  into.writeBigUInt64LE(BigInt(id), at);
  into.writeUInt32LE(crc32c(into.subarray(at, at + 8)), at + 8);
}

/** Ids in a ledger file's bytes, and how many records were damaged; a reason string for a bad header. */
export function decodeLedger(b: Buffer): { ids: number[]; damaged: number } | string {
  if (b.length < LEDGER_HEADER_BYTES || b.readUInt32LE(0) !== LEDGER_MAGIC) return 'not a spool ledger';
  const version = b.readUInt16LE(4);
  if (version !== SPOOL_FORMAT_VERSION) return `ledger format version ${version}, this build reads ${SPOOL_FORMAT_VERSION}`;
  const ids: number[] = [];
  let damaged = 0;
  for (let at = LEDGER_HEADER_BYTES; at + LEDGER_RECORD_BYTES <= b.length; at += LEDGER_RECORD_BYTES) {
    if (crc32c(b.subarray(at, at + 8)) !== b.readUInt32LE(at + 8)) damaged++;
    else ids.push(Number(b.readBigUInt64LE(at)));
  }
  if ((b.length - LEDGER_HEADER_BYTES) % LEDGER_RECORD_BYTES !== 0) damaged++;
  return { ids, damaged };
}
