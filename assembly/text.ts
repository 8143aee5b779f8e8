// Static text tables built once by initText() into a region of their own: JSON keys, the
// "00".."99" digit pairs, IPv4 octet strings, hex digit pairs and, per pattern of zero
// groups in an IPv6 address, the run that "::" replaces. Static data segments are read-only by
// convention (they are re-applied on every instantiation), so tables are written at init.
import { TABLES_PTR } from "./layout";

export const KEYS_PTR: usize = TABLES_PTR; // FIELD_COUNT keys of 16 bytes; length in byte 15
export const PAIRS_PTR: usize = KEYS_PTR + 32 * 16; // 200 bytes
export const OCTETS_PTR: usize = PAIRS_PTR + 200; // 256 x 8 bytes: the digits and ".", their length in byte 7
export const HEX_PTR: usize = OCTETS_PTR + 2048; // 256 x 2 bytes: "00".."ff"
export const ZERO_RUN_PTR: usize = HEX_PTR + 512; // 256 x 2 bytes: first group and length of the longest zero run, by zero-group mask

export const TEXT_REGION_SIZE: usize = 32 * 16 + 200 + 2048 + 512 + 512;

function hexDigit(d: i32): u8 {
  return <u8>(d < 10 ? 48 + d : 87 + d);
}

function writeKey(index: i32, text: string): void {
  const p = KEYS_PTR + (<usize>index << 4);
  const n = text.length;
  for (let i = 0; i < n; i++) store<u8>(p + i, <u8>text.charCodeAt(i));
  store<u8>(p + 15, <u8>n);
}

/** Writes the tables at TABLES_PTR (TEXT_REGION_SIZE bytes). */
export function initText(): void {
  // Keys in emit order; index = Field number (fields.ts).
  writeKey(0, ',"dvc":');
  writeKey(1, ',"src":');
  writeKey(2, ',"srcp":');
  writeKey(3, ',"dst":');
  writeKey(4, ',"dstp":');
  writeKey(5, ',"proto":');
  writeKey(6, ',"flags":');
  writeKey(7, ',"bytes":');
  writeKey(8, ',"pkts":');
  writeKey(9, ',"time":');
  writeKey(10, ',"start":');
  writeKey(11, ',"end":');
  writeKey(12, ',"in_if":');
  writeKey(13, ',"out_if":');
  writeKey(14, ',"tos":');
  writeKey(15, ',"src_as":');
  writeKey(16, ',"dst_as":');
  writeKey(17, ',"next_hop":');
  writeKey(18, ',"vlan":');
  writeKey(19, ',"icmp_type":');
  writeKey(20, ',"icmp_code":');
  writeKey(21, ',"direction":');
  writeKey(22, ',"sampling":');
  writeKey(23, ',"rbytes":');
  writeKey(24, ',"rpkts":');
  writeKey(25, ',"version":');
  writeKey(26, ',"odid":');
  writeKey(27, ',"tid":');
  for (let i = 0; i < 100; i++) {
    store<u8>(PAIRS_PTR + (i << 1), <u8>(48 + i / 10));
    store<u8>(PAIRS_PTR + (i << 1) + 1, <u8>(48 + i % 10));
  }
  for (let i = 0; i < 256; i++) {
    const p = OCTETS_PTR + (i << 3);
    const n = i >= 100 ? 3 : i >= 10 ? 2 : 1;
    if (n == 3) store<u8>(p, <u8>(48 + i / 100));
    if (n >= 2) store<u8>(p + n - 2, <u8>(48 + (i / 10) % 10));
    store<u8>(p + n - 1, <u8>(48 + i % 10));
    store<u8>(p + n, 46); // "."
    store<u8>(p + 7, <u8>(n + 1));
  }
  for (let i = 0; i < 256; i++) {
    store<u8>(HEX_PTR + (i << 1), hexDigit(i >> 4));
    store<u8>(HEX_PTR + (i << 1) + 1, hexDigit(i & 15));
  }
  // RFC 5952 section 4.2: the longest run of at least two zero groups, the first one on a tie.
  for (let m = 0; m < 256; m++) {
    let bestStart = 8, bestLen = 0, runStart = -1;
    for (let i = 0; i < 8; i++) {
      if ((m & (1 << i)) != 0) {
        if (runStart < 0) runStart = i;
        const len = i - runStart + 1;
        if (len > bestLen) { bestLen = len; bestStart = runStart; }
      } else {
        runStart = -1;
      }
    }
    if (bestLen < 2) { bestStart = 8; bestLen = 0; }
    store<u8>(ZERO_RUN_PTR + (m << 1), <u8>bestStart);
    store<u8>(ZERO_RUN_PTR + (m << 1) + 1, <u8>bestLen);
  }
}

/** Copies key `index` (at most 15 bytes) to `out`; returns the new cursor. Writes 16 bytes: callers keep slack. */
@inline export function putKey(out: usize, index: i32): usize {
  const k = KEYS_PTR + (<usize>index << 4);
  store<u64>(out, load<u64>(k));
  store<u64>(out + 8, load<u64>(k + 8));
  return out + <usize>load<u8>(k + 15);
}

@inline function pair(v: u32): u32 {
  return <u32>load<u16>(PAIRS_PTR + (<usize>v << 1));
}

/** `v` < 10000 as exactly 4 digits, as the u32 to store (first digit in the low byte). */
@inline function fixed4(v: u32): u32 {
  const hi = v / 100;
  return pair(hi) | (pair(v - hi * 100) << 16);
}

/** `v` < 100000000 as exactly 8 digits, as the u64 to store. */
@inline function fixed8(v: u32): u64 {
  const hi = v / 10000;
  return <u64>fixed4(hi) | (<u64>fixed4(v - hi * 10000) << 32);
}

/** `v` < 10000 in decimal, 1 to 4 digits. */
@inline function putSmall(out: usize, v: u32): usize {
  if (v < 100) {
    if (v < 10) {
      store<u8>(out, <u8>(48 + v));
      return out + 1;
    }
    store<u16>(out, <u16>pair(v));
    return out + 2;
  }
  const hi = v / 100;
  const lo = pair(v - hi * 100);
  if (hi < 10) {
    store<u8>(out, <u8>(48 + hi));
    store<u16>(out + 1, <u16>lo);
    return out + 3;
  }
  store<u32>(out, pair(hi) | (lo << 16));
  return out + 4;
}

// Numbers are written without loops: a loop costs V8 a stack check per iteration, and the
// digits go out as whole 2-, 4- or 8-byte stores from the "00".."99" table.

/** Writes `v` in decimal at `out`; returns the new cursor. Writes up to 8 bytes past the digits' start. */
@inline export function putU64(out: usize, v: u64): usize {
  if (v <= 0xffffffff) return putU32(out, <u32>v);
  return putBig(out, v);
}

/** `v` >= 2^32: at least 10 digits, as the top part, then exactly 8 low digits (16 for values of 17 digits or more). */
function putBig(out: usize, v: u64): usize {
  const hi = v / 100000000;
  const lo = <u32>(v - hi * 100000000);
  if (hi >= 100000000) {
    const top = hi / 100000000; // at most 184467
    const mid = <u32>(hi - top * 100000000);
    out = putU32(out, <u32>top);
    store<u64>(out, fixed8(mid));
    out += 8;
  } else {
    out = putU32(out, <u32>hi);
  }
  store<u64>(out, fixed8(lo));
  return out + 8;
}

@inline export function putU32(out: usize, v: u32): usize {
  if (v < 10000) return putSmall(out, v);
  if (v < 100000000) {
    const hi = v / 10000;
    out = putSmall(out, hi);
    store<u32>(out, fixed4(v - hi * 10000));
    return out + 4;
  }
  const hi = v / 100000000; // at most 42
  out = putSmall(out, hi);
  store<u64>(out, fixed8(v - hi * 100000000));
  return out + 8;
}

@inline function putOctet(out: usize, b: u32): usize {
  const e = load<u64>(OCTETS_PTR + (<usize>b << 3));
  store<u64>(out, e);
  return out + <usize>(e >>> 56);
}

/** Writes an IPv4 address held in network order at `a` as dotted decimal. Writes up to 8 bytes past its end. */
@inline export function putIPv4(out: usize, a: usize): usize {
  const v = load<u32>(a); // the first octet in the low byte
  out = putOctet(out, v & 0xff);
  out = putOctet(out, (v >>> 8) & 0xff);
  out = putOctet(out, (v >>> 16) & 0xff);
  out = putOctet(out, v >>> 24);
  return out - 1; // the last "."
}

/** One group (2 bytes, network order, at `a`) in hex without leading zeros, then ":". */
@inline function putGroup(out: usize, a: usize): usize {
  const g = <u32>bswap<u16>(load<u16>(a));
  const chars = <u32>load<u16>(HEX_PTR + (<usize>(g >>> 8) << 1)) | (<u32>load<u16>(HEX_PTR + (<usize>(g & 0xff) << 1)) << 16);
  const n = <usize>((35 - clz<u32>(g | 1)) >>> 2); // hex digits: 1 to 4
  store<u32>(out, chars >>> (<u32>(4 - n) << 3)); // the first char is the low byte: drop leading zeros
  store<u8>(out + n, 58); // ":"
  return out + n + 1;
}

/** Writes a 16-byte IPv6 address at `a` in RFC 5952 text (IPv4-mapped as ::ffff:a.b.c.d). Writes up to 8 bytes past its end. */
export function putIPv6(out: usize, a: usize): usize {
  if (load<u64>(a) == 0 && load<u32>(a + 8) == 0xffff0000) {
    // ::ffff:0:0/96 (bytes 10-11 are ff ff; read little-endian above)
    store<u64>(out, 0x3a666666663a3a); // "::ffff:" little-endian
    return putIPv4(out + 7, a + 12);
  }
  const zeros = <u32>(load<u16>(a) == 0) | (<u32>(load<u16>(a + 2) == 0) << 1) | (<u32>(load<u16>(a + 4) == 0) << 2) |
    (<u32>(load<u16>(a + 6) == 0) << 3) | (<u32>(load<u16>(a + 8) == 0) << 4) | (<u32>(load<u16>(a + 10) == 0) << 5) |
    (<u32>(load<u16>(a + 12) == 0) << 6) | (<u32>(load<u16>(a + 14) == 0) << 7);
  const run = ZERO_RUN_PTR + (<usize>zeros << 1);
  const runStart = <usize>load<u8>(run);
  const runEnd = runStart + <usize>load<u8>(run + 1); // runStart = runEnd = 8: no run
  // Every group is written with a ":" after it; "::" takes the run's place.
  for (let i: usize = 0; i < runStart; i++) out = putGroup(out, a + (i << 1));
  if (runStart < 8) {
    if (runStart == 0) {
      store<u16>(out, 0x3a3a); // "::"
      out += 2;
    } else {
      store<u8>(out, 58); // the ":" after the last group makes "::"
      out++;
    }
    if (runEnd == 8) return out; // ends in "::"
  }
  for (let i = runEnd; i < 8; i++) out = putGroup(out, a + (i << 1));
  return out - 1; // the last ":"
}

/** True for an IPv4-mapped IPv6 address (::ffff:a.b.c.d). */
@inline export function isMappedV4(a: usize): bool {
  return load<u64>(a) == 0 && load<u32>(a + 8) == 0xffff0000;
}
