// The byte layout of a PacketRing's SharedArrayBuffer, named in one place (thread-stream's
// indexes.js). Both threads compute every offset from these constants, so a change here is a
// change to the format: bump RING_LAYOUT_VERSION, and attach() refuses a buffer built by the other.
//
// Header: four 64-byte cache lines, each written by one side only, so the producer's tail
// stores and the consumer's head stores never invalidate each other's line (false sharing
// would cost a cross-core cache miss per datagram on both sides).
//
//   line 0  [0, 64)     written once by create(): magic, layout version, slots, slotBytes, stride
//   line 1  [64, 128)   HEAD  consumer-owned: datagrams released so far (u32 counter, wraps)
//   line 2  [128, 192)  TAIL  producer-owned: datagrams published so far (u32 counter, wraps)
//   line 3  [192, 256)  SLEEPING: how the consumer waits (set by the consumer, cleared by
//                       whoever wakes it): 0 awake, SLEEP_DEEP (wake me on the next push),
//                       SLEEP_LIGHT (I poll again within my lightPollMs; wake me only if the ring
//                       fills up meanwhile); CLOSED: 1 after close(). Rarely written, so the
//                       producer's per-push read of SLEEPING hits its own cache.
//
// Head and tail are free-running unsigned 32-bit counters stored in Int32 cells (Atomics needs
// an integer typed array; the bit pattern is what matters). The slot of counter c is
// c & (slots - 1), which is why slots is a power of two, and the fill is (tail - head) >>> 0,
// which stays right across the 2^32 wrap as long as slots <= 2^31.
//
// Slot i starts at SLOTS_OFFSET + i * stride:
//
//   +0   u32   payload length in bytes (<= slotBytes)
//   +4   u16   exporter UDP port
//   +6   u8    flags: SLOT_FLAG_PROTECTED | SLOT_FLAG_RELIABLE | SLOT_FLAG_SESSION_END | SLOT_FLAG_RELAY
//   +7   u8    padding
//   +8   f64   receive time, ms since the epoch (Date.now() resolution or finer)
//   +16  16 B  exporter address, IPv6 or IPv4-mapped (::ffff:a.b.c.d), network order
//   +32  payload, slotBytes bytes reserved
//
// The fixed fields come first so they sit on the slot's first cache line with the start of the
// payload, and every field is naturally aligned: the host reads them through Uint32Array /
// Uint16Array / Float64Array views made once, with no DataView or subarray per datagram. The
// stride is rounded up to 64 so two slots never share a cache line: the producer filling slot
// n + 1 does not steal the line the consumer is reading in slot n.

/** 'FGR1' little-endian: tells attach() that a buffer really is a ring. */
export const RING_MAGIC = 0x31524746;
/** Bump on any change to the constants below. */
export const RING_LAYOUT_VERSION = 5;

export const CACHE_LINE = 64;

// Header cells, as Int32Array indexes.
export const MAGIC_INDEX = 0;
export const VERSION_INDEX = 1;
export const SLOTS_INDEX = 2;
export const SLOT_BYTES_INDEX = 3;
export const STRIDE_INDEX = 4;
export const HEAD_INDEX = CACHE_LINE / 4;
export const TAIL_INDEX = (2 * CACHE_LINE) / 4;
export const SLEEPING_INDEX = (3 * CACHE_LINE) / 4;
export const CLOSED_INDEX = SLEEPING_INDEX + 1;

// Values of the SLEEPING cell.
export const AWAKE = 0;
export const SLEEP_DEEP = 1;
export const SLEEP_LIGHT = 2;

/** Bytes before slot 0. A multiple of 64, so every slot starts on a cache line. */
export const SLOTS_OFFSET = 4 * CACHE_LINE;

// Slot fields, as byte offsets from the start of the slot.
export const SLOT_LENGTH = 0;
export const SLOT_PORT = 4;
export const SLOT_FLAGS = 6;
export const SLOT_TIME = 8;
export const SLOT_ADDRESS = 16;
export const ADDRESS_BYTES = 16;
export const SLOT_PAYLOAD = 32;

// Bits of the SLOT_FLAGS byte.
/** The configuration names the exporter (a tenant's, or on admission.allow): its decoder session is never evicted for another's. */
export const SLOT_FLAG_PROTECTED = 1;
/** The message came over TCP (RFC 7011 section 8: withdrawals apply, templates live as long as the connection). Same bit as the decoder's DECODE_RELIABLE. */
export const SLOT_FLAG_RELIABLE = 2;
/** No message: the exporter's TCP connection (address, port) closed, after its last message in this ring; the decoder ends its sessions. Length 0. */
export const SLOT_FLAG_SESSION_END = 4;
/** The sender is a relay (routing.relays): records are routed by the exporter they state (IE 130 / 131). Same bit as the decoder's DECODE_RELAY. */
export const SLOT_FLAG_RELAY = 8;

/** Largest slot count: (tail - head) >>> 0 must be able to reach it without wrapping. */
export const MAX_SLOTS = 2 ** 30;

/** Bytes from one slot to the next for a given payload capacity. */
export function slotStride(slotBytes: number): number {
  return Math.ceil((SLOT_PAYLOAD + slotBytes) / CACHE_LINE) * CACHE_LINE;
}

/** Total SharedArrayBuffer size for a ring. */
export function ringByteLength(slots: number, slotBytes: number): number {
  return SLOTS_OFFSET + slots * slotStride(slotBytes);
}
