// Static text tables built once by initText() into a region of their own: JSON keys, the
// "00".."99" digit pairs and IPv4 octet strings. Static data segments are read-only by
// convention (they are re-applied on every instantiation), so tables are written at init.

let TEXT_PTR: usize = 0;
export let KEYS_PTR: usize = 0; // FIELD_COUNT keys of 16 bytes; length in byte 15
export let PAIRS_PTR: usize = 0; // 200 bytes
export let OCTETS_PTR: usize = 0; // 256 x 4 bytes: 3 chars, length in byte 3
export let HEX_PTR: usize = 0; // 16 bytes

export const TEXT_REGION_SIZE: usize = 32 * 16 + 200 + 1024 + 16;

function writeKey(index: i32, text: string): void {
  const p = KEYS_PTR + (<usize>index << 4);
  const n = text.length;
  for (let i = 0; i < n; i++) store<u8>(p + i, <u8>text.charCodeAt(i));
  store<u8>(p + 15, <u8>n);
}

/** Writes the tables at `base`, which must hold TEXT_REGION_SIZE bytes. */
export function initText(base: usize): void {
  TEXT_PTR = base;
  KEYS_PTR = base;
  PAIRS_PTR = base + 32 * 16;
  OCTETS_PTR = PAIRS_PTR + 200;
  HEX_PTR = OCTETS_PTR + 1024;
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
    const p = OCTETS_PTR + (i << 2);
    if (i >= 100) {
      store<u8>(p, <u8>(48 + i / 100));
      store<u8>(p + 1, <u8>(48 + (i / 10) % 10));
      store<u8>(p + 2, <u8>(48 + i % 10));
      store<u8>(p + 3, 3);
    } else if (i >= 10) {
      store<u8>(p, <u8>(48 + i / 10));
      store<u8>(p + 1, <u8>(48 + i % 10));
      store<u8>(p + 3, 2);
    } else {
      store<u8>(p, <u8>(48 + i));
      store<u8>(p + 3, 1);
    }
  }
  for (let i = 0; i < 16; i++) store<u8>(HEX_PTR + i, <u8>(i < 10 ? 48 + i : 87 + i));
}

/** Copies key `index` (at most 15 bytes) to `out`; returns the new cursor. Writes 16 bytes: callers keep slack. */
@inline export function putKey(out: usize, index: i32): usize {
  const k = KEYS_PTR + (<usize>index << 4);
  store<u64>(out, load<u64>(k));
  store<u64>(out + 8, load<u64>(k + 8));
  return out + <usize>load<u8>(k + 15);
}

@inline function digitCount32(v: u32): u32 {
  if (v < 100000) {
    if (v < 100) return v < 10 ? 1 : 2;
    return v < 1000 ? 3 : v < 10000 ? 4 : 5;
  }
  if (v < 10000000) return v < 1000000 ? 6 : 7;
  return v < 100000000 ? 8 : v < 1000000000 ? 9 : 10;
}

/** Writes `v` in decimal at `out`; returns the new cursor. */
export function putU64(out: usize, v: u64): usize {
  if (v <= 0xffffffff) return putU32(out, <u32>v);
  // Split so that each part fits the u32 path: high digits, then exactly 9 low digits.
  const low = <u32>(v % 1000000000);
  const high = v / 1000000000;
  out = putU64(out, high);
  return putFixed9(out, low);
}

export function putU32(out: usize, v: u32): usize {
  const n = digitCount32(v);
  let p = out + n;
  while (v >= 100) {
    const r = v % 100;
    v /= 100;
    p -= 2;
    store<u16>(p, load<u16>(PAIRS_PTR + (<usize>r << 1)));
  }
  if (v >= 10) {
    store<u16>(p - 2, load<u16>(PAIRS_PTR + (<usize>v << 1)));
  } else {
    store<u8>(p - 1, <u8>(48 + v));
  }
  return out + n;
}

function putFixed9(out: usize, v: u32): usize {
  let p = out + 9;
  for (let i = 0; i < 4; i++) {
    const r = v % 100;
    v /= 100;
    p -= 2;
    store<u16>(p, load<u16>(PAIRS_PTR + (<usize>r << 1)));
  }
  store<u8>(out, <u8>(48 + v));
  return out + 9;
}

/** Writes an IPv4 address held in network order at `a` as dotted decimal. */
export function putIPv4(out: usize, a: usize): usize {
  for (let i: usize = 0; i < 4; i++) {
    const t = OCTETS_PTR + (<usize>load<u8>(a + i) << 2);
    store<u32>(out, load<u32>(t));
    out += <usize>load<u8>(t + 3);
    store<u8>(out, 46); // '.'
    out++;
  }
  return out - 1;
}

function putHex16(out: usize, g: u32): usize {
  let started = false;
  for (let shift: i32 = 12; shift >= 0; shift -= 4) {
    const d = (g >>> shift) & 15;
    if (d != 0 || started || shift == 0) {
      store<u8>(out, load<u8>(HEX_PTR + d));
      out++;
      started = true;
    }
  }
  return out;
}

/** Writes a 16-byte IPv6 address at `a` in RFC 5952 text (IPv4-mapped as ::ffff:a.b.c.d). */
export function putIPv6(out: usize, a: usize): usize {
  if (load<u64>(a) == 0 && load<u32>(a + 8) == 0xffff0000) {
    // ::ffff:0:0/96 (bytes 10-11 are ff ff; read little-endian above)
    store<u64>(out, 0x3a666666663a3a); // "::ffff:" little-endian
    return putIPv4(out + 7, a + 12);
  }
  // Longest run of zero groups (at least 2), the first one on a tie.
  let bestStart: i32 = -1, bestLen: i32 = 0, runStart: i32 = -1;
  for (let i: i32 = 0; i < 8; i++) {
    const g = load<u16>(a + (<usize>i << 1));
    if (g == 0) {
      if (runStart < 0) runStart = i;
      const len = i - runStart + 1;
      if (len > bestLen) { bestLen = len; bestStart = runStart; }
    } else {
      runStart = -1;
    }
  }
  if (bestLen < 2) bestStart = -1;
  let i: i32 = 0;
  while (i < 8) {
    if (i == bestStart) {
      store<u16>(out, 0x3a3a); // "::"
      out += 2;
      i += bestLen;
      continue;
    }
    if (i > 0 && i != bestStart + bestLen) { store<u8>(out, 58); out++; }
    const p = a + (<usize>i << 1);
    out = putHex16(out, (<u32>load<u8>(p) << 8) | load<u8>(p + 1));
    i++;
  }
  return out;
}

/** True for an IPv4-mapped IPv6 address (::ffff:a.b.c.d). */
@inline export function isMappedV4(a: usize): bool {
  return load<u64>(a) == 0 && load<u32>(a + 8) == 0xffff0000;
}
