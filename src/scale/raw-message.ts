// A raw message on the raw topic (scale.raw_topic): what a receiver writes and a decoder reads.
// The one definition of its layout; bump RAW_VERSION on any change (a decoder skips and counts a
// message of another version rather than misread it).
//
// A message holds one or more datagrams of ONE exporter, in the order they were received: a
// receiver gathers an exporter's datagrams for at most scale.raw_linger_ms (or RAW_MESSAGE_BYTES)
// into one message, so the per-message costs of Kafka (framing, the consumer's objects, the
// broker's per-record work) are paid once for several datagrams.
//
// Kafka key:   the exporter address as text (RFC 5952 IPv6, dotted IPv4): one exporter's
//              datagrams go to one partition, in order (the Java client's murmur2 partitioner).
// Headers:     schema = RAW_SCHEMA, receiver = the receiving instance's id (scale.instance_id).
// Value (big-endian, network order):
//   +0   u8    RAW_VERSION
//   +1   u8    flags (0; reserved)
//   +2   u16   datagrams in the message (at least 1)
//   then, per datagram (RAW_ENTRY_BYTES of header, then the datagram as received):
//   +0   u32   datagram length
//   +4   u16   exporter source port (UDP, or TCP for IPFIX over TCP)
//   +6   u16   transport flags: RAW_FLAG_RELIABLE (the message came over a TCP connection),
//              RAW_FLAG_SESSION_END (no datagram, length 0: that TCP connection ended after the
//              exporter's entries before it); 0 for UDP
//   +8   f64   receive time, ms since the epoch
//   +16  16 B  exporter address, IPv6 or IPv4-mapped (::ffff:a.b.c.d)
//   +32  the datagram

export const RAW_VERSION = 3;
/** The schema header of raw messages. */
export const RAW_SCHEMA = `flowgate-raw/${RAW_VERSION}`;

export const RAW_COUNT = 2;
export const RAW_MESSAGE_HEADER_BYTES = 4;
export const RAW_ENTRY_LENGTH = 0;
export const RAW_ENTRY_PORT = 4;
export const RAW_ENTRY_FLAGS = 6;
export const RAW_FLAG_RELIABLE = 1;
export const RAW_FLAG_SESSION_END = 2;
export const RAW_ENTRY_TIME = 8;
export const RAW_ENTRY_ADDRESS = 16;
export const RAW_ADDRESS_BYTES = 16;
export const RAW_ENTRY_BYTES = 32;
/** A one-datagram message's bytes before its datagram. */
export const RAW_HEADER_BYTES = RAW_MESSAGE_HEADER_BYTES + RAW_ENTRY_BYTES;
/** A receiver closes an exporter's message once it holds this many bytes (or RAW_MAX_DATAGRAMS). */
export const RAW_MESSAGE_BYTES = 64 * 1024;
export const RAW_MAX_DATAGRAMS = 0xffff;

/** Why a raw message was skipped (a counter label: flowgate_raw_messages_skipped_total{reason}). */
export const rawSkipReasons = ['raw_version', 'raw_truncated', 'raw_no_value'] as const;
export type RawSkipReason = (typeof rawSkipReasons)[number];

/** Starts a message in `out`; returns the length so far. */
export function startRawMessage(out: Buffer): number {
  out[0] = RAW_VERSION;
  out[1] = 0;
  out.writeUInt16BE(0, RAW_COUNT);
  return RAW_MESSAGE_HEADER_BYTES;
}

/**
 * Appends one datagram, `source[start, start + length)`, to the message in `out` that is `at`
 * bytes long; returns its new length. `out` must have room for RAW_ENTRY_BYTES + length more.
 */
export function appendRawDatagram(out: Buffer, at: number, source: Uint8Array, start: number, length: number, address: Uint8Array, addressOffset: number,
  port: number, receivedAt: number, transportFlags = 0): number {
  out.writeUInt32BE(length, at + RAW_ENTRY_LENGTH);
  out.writeUInt16BE(port, at + RAW_ENTRY_PORT);
  out.writeUInt16BE(transportFlags, at + RAW_ENTRY_FLAGS);
  out.writeDoubleBE(receivedAt, at + RAW_ENTRY_TIME);
  out.set(address.subarray(addressOffset, addressOffset + RAW_ADDRESS_BYTES), at + RAW_ENTRY_ADDRESS);
  out.set(source.subarray(start, start + length), at + RAW_ENTRY_BYTES);
  out.writeUInt16BE(out.readUInt16BE(RAW_COUNT) + 1, RAW_COUNT);
  return at + RAW_ENTRY_BYTES + length;
}

/** A one-datagram message (tests, tools): its length in `out`. */
export function writeRawMessage(out: Buffer, source: Uint8Array, start: number, length: number, address: Uint8Array, addressOffset: number,
  port: number, receivedAt: number): number {
  return appendRawDatagram(out, startRawMessage(out), source, start, length, address, addressOffset, port, receivedAt);
}

/** Checks a raw message's value whole: null when every datagram in it can be read, else why not. */
export function rawProblem(value: Buffer | null): RawSkipReason | null {
  return value === null ? 'raw_no_value' : rawProblemIn(value, 0, value.length);
}

/**
 * The same for a value read in place, `buf[start, end)` (a fetched record set: the offsets of
 * its datagram entries are then offsets into `buf`, from `start + RAW_MESSAGE_HEADER_BYTES`).
 */
export function rawProblemIn(buf: Buffer, start: number, end: number): RawSkipReason | null {
  if (end - start < 1 || buf[start] !== RAW_VERSION) return 'raw_version';
  if (end - start < RAW_MESSAGE_HEADER_BYTES) return 'raw_truncated';
  const count = buf.readUInt16BE(start + RAW_COUNT);
  if (count === 0) return 'raw_truncated';
  let at = start + RAW_MESSAGE_HEADER_BYTES;
  for (let i = 0; i < count; i++) {
    if (at + RAW_ENTRY_BYTES > end) return 'raw_truncated';
    at += RAW_ENTRY_BYTES + buf.readUInt32BE(at + RAW_ENTRY_LENGTH);
    if (at > end) return 'raw_truncated';
  }
  return at === end ? null : 'raw_truncated';
}

/** Datagrams in a checked message. */
export function rawCount(value: Buffer, start = 0): number {
  return value.readUInt16BE(start + RAW_COUNT);
}

/** The datagram entry after the one at `at` (the first is at RAW_MESSAGE_HEADER_BYTES). */
export function nextRawEntry(value: Buffer, at: number): number {
  return at + RAW_ENTRY_BYTES + value.readUInt32BE(at + RAW_ENTRY_LENGTH);
}

export function rawLength(value: Buffer, at: number): number {
  return value.readUInt32BE(at + RAW_ENTRY_LENGTH);
}

export function rawPort(value: Buffer, at: number): number {
  return value.readUInt16BE(at + RAW_ENTRY_PORT);
}

export function rawTransportFlags(value: Buffer, at: number): number {
  return value.readUInt16BE(at + RAW_ENTRY_FLAGS);
}

export function rawReceivedAt(value: Buffer, at: number): number {
  return value.readDoubleBE(at + RAW_ENTRY_TIME);
}
