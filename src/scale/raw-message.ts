// A raw datagram on the raw topic (scale.raw_topic): what a receiver writes and a decoder reads.
// The one definition of its layout; bump RAW_VERSION on any change (a decoder skips and counts a
// message of another version rather than misread it).
//
// Kafka key:   the exporter address as text (RFC 5952 IPv6, dotted IPv4): one exporter's
//              datagrams go to one partition, in order (the Java client's murmur2 partitioner).
// Headers:     schema = RAW_SCHEMA, receiver = the receiving instance's id (scale.instance_id).
// Value (big-endian, network order):
//   +0   u8    RAW_VERSION
//   +1   u8    flags (0; reserved)
//   +2   u16   exporter UDP source port
//   +4   f64   receive time, ms since the epoch
//   +12  16 B  exporter address, IPv6 or IPv4-mapped (::ffff:a.b.c.d)
//   +28  the datagram as received

export const RAW_VERSION = 1;
/** The schema header of raw messages. */
export const RAW_SCHEMA = `flowgate-raw/${RAW_VERSION}`;

export const RAW_PORT = 2;
export const RAW_TIME = 4;
export const RAW_ADDRESS = 12;
export const RAW_ADDRESS_BYTES = 16;
export const RAW_HEADER_BYTES = 28;

/** Why a raw message was skipped (a counter label: flowgate_raw_messages_skipped_total{reason}). */
export const rawSkipReasons = ['raw_version', 'raw_truncated', 'raw_no_value'] as const;
export type RawSkipReason = (typeof rawSkipReasons)[number];

/**
 * Writes the raw header for a datagram of `length` bytes into `out` at 0, and the datagram after
 * it from `source[start, start + length)`. Returns the message's value length. `out` must hold
 * RAW_HEADER_BYTES + length bytes.
 */
export function writeRawMessage(out: Buffer, source: Uint8Array, start: number, length: number, address: Uint8Array, addressOffset: number,
  port: number, receivedAt: number): number {
  out[0] = RAW_VERSION;
  out[1] = 0;
  out.writeUInt16BE(port, RAW_PORT);
  out.writeDoubleBE(receivedAt, RAW_TIME);
  out.set(address.subarray(addressOffset, addressOffset + RAW_ADDRESS_BYTES), RAW_ADDRESS);
  out.set(source.subarray(start, start + length), RAW_HEADER_BYTES);
  return RAW_HEADER_BYTES + length;
}

/** Checks a raw message's value: null when it can be read, else why not. */
export function rawProblem(value: Buffer | null): RawSkipReason | null {
  if (value === null) return 'raw_no_value';
  if (value.length < 1 || value[0] !== RAW_VERSION) return 'raw_version';
  if (value.length < RAW_HEADER_BYTES) return 'raw_truncated';
  return null;
}

export function rawPort(value: Buffer): number {
  return value.readUInt16BE(RAW_PORT);
}

export function rawReceivedAt(value: Buffer): number {
  return value.readDoubleBE(RAW_TIME);
}
