// JSON text of one information element's value by its abstract data type (RFC 7011 section 6,
// RFC 7012), for output by name (any-element.ts). Each writer takes the value's bytes at p
// (len bytes, already bounds-checked against the record) and returns the new output cursor; the
// caller has checked there is room (valueRoom). A value whose length its type does not allow is
// written as hex, like an element no definition names: never dropped.
import { putU64, putU32, putIPv4, putIPv6, HEX_PTR } from "./text";
import { dtoa_buffered } from "util/number";

const NTP_UNIX_OFFSET: u64 = 2208988800; // seconds from 1900 to 1970

/** The most bytes a scalar value of `len` bytes can take as JSON (strings escape a byte to at most 6). */
@inline export function valueRoom(len: usize): usize {
  return 6 * len + 64;
}

@inline function be(p: usize, len: usize): u64 {
  let v: u64 = 0;
  for (let i: usize = 0; i < len; i++) v = (v << 8) | <u64>load<u8>(p + i);
  return v;
}

/** Octets as a JSON string of lowercase hex digit pairs. */
export function putHex(o: usize, p: usize, len: usize): usize {
  store<u8>(o, 34);
  o++;
  for (let i: usize = 0; i < len; i++) {
    store<u16>(o, load<u16>(HEX_PTR + (<usize>load<u8>(p + i) << 1)));
    o += 2;
  }
  store<u8>(o, 34);
  return o + 1;
}

/** unsignedN, reduced-size encoding included (RFC 7011 section 6.2): 1 to 8 bytes. Exact decimal digits, above 2^53 too. */
export function putUnsigned(o: usize, p: usize, len: usize): usize {
  if (len == 0 || len > 8) return putHex(o, p, len);
  return putU64(o, be(p, len));
}

/** signedN, reduced-size encoding included: the top bit of the first byte sent is the sign. */
export function putSigned(o: usize, p: usize, len: usize): usize {
  if (len == 0 || len > 8) return putHex(o, p, len);
  const shift = <u64>(64 - (len << 3));
  const v = <i64>(be(p, len) << shift) >> <i64>shift;
  if (v >= 0) return putU64(o, <u64>v);
  store<u8>(o, 45); // "-"
  return putU64(o + 1, <u64>(-v)); // -2^63 wraps to itself, which as u64 is 2^63: right
}

/** float32, and float64 in 8 bytes or reduced to 4 (RFC 7011 section 6.2). NaN and the infinities are not JSON: null. */
export function putFloat(o: usize, p: usize, len: usize, double: bool): usize {
  let v: f64;
  let single = false;
  if (len == 8 && double) v = reinterpret<f64>(bswap<u64>(load<u64>(p)));
  else if (len == 4) {
    v = <f64>reinterpret<f32>(bswap<u32>(load<u32>(p)));
    single = true;
  } else return putHex(o, p, len);
  if (!isFinite(v)) {
    store<u32>(o, 0x6c6c756e); // null
    return o + 4;
  }
  // Shortest round-trip digits (Grisu), written as UTF-16 into the output past where the
  // bytes go, then narrowed in place: byte i never overtakes UTF-16 unit i.
  const wide = o + 64;
  const n = <usize>(single ? dtoa_buffered<f32>(wide, <f32>v) : dtoa_buffered<f64>(wide, v));
  for (let i: usize = 0; i < n; i++) store<u8>(o + i, <u8>load<u16>(wide + (i << 1)));
  return o + n;
}

/** boolean (RFC 7011 section 6.1.5): 1 true, 2 false; any other value is not a boolean: null. */
export function putBoolean(o: usize, p: usize, len: usize): usize {
  if (len != 1) return putHex(o, p, len);
  const b = load<u8>(p);
  if (b == 1) {
    store<u32>(o, 0x65757274); // true
    return o + 4;
  }
  if (b == 2) {
    store<u32>(o, 0x736c6166); // fals
    store<u8>(o + 4, 101); // e
    return o + 5;
  }
  store<u32>(o, 0x6c6c756e); // null
  return o + 4;
}

/** macAddress: "aa:bb:cc:dd:ee:ff". */
export function putMac(o: usize, p: usize, len: usize): usize {
  if (len != 6) return putHex(o, p, len);
  store<u8>(o, 34);
  o++;
  for (let i: usize = 0; i < 6; i++) {
    store<u16>(o, load<u16>(HEX_PTR + (<usize>load<u8>(p + i) << 1)));
    store<u8>(o + 2, 58); // ":"
    o += 3;
  }
  store<u8>(o - 1, 34);
  return o;
}

export function putIPv4Value(o: usize, p: usize, len: usize): usize {
  if (len != 4) return putHex(o, p, len);
  store<u8>(o, 34);
  o = putIPv4(o + 1, p);
  store<u8>(o, 34);
  return o + 1;
}

export function putIPv6Value(o: usize, p: usize, len: usize): usize {
  if (len != 16) return putHex(o, p, len);
  store<u8>(o, 34);
  o = putIPv6(o + 1, p);
  store<u8>(o, 34);
  return o + 1;
}

/** dateTimeSeconds (and dateTimeMilliseconds when `ms`) as epoch milliseconds. */
export function putDateTime(o: usize, p: usize, len: usize, ms: bool): usize {
  if (len == 0 || len > 8) return putHex(o, p, len);
  const v = be(p, len);
  if (ms) return putU64(o, v);
  return putU64(o, v * 1000);
}

/** dateTimeMicroseconds / Nanoseconds: NTP format (RFC 7011 sections 6.1.9, 6.1.10), as epoch milliseconds (0 before 1970). */
export function putNtp(o: usize, p: usize, len: usize): usize {
  if (len != 8) return putHex(o, p, len);
  const v = bswap<u64>(load<u64>(p));
  const secs = v >>> 32;
  const frac = v & 0xffffffff;
  if (secs < NTP_UNIX_OFFSET) return putU32(o, 0);
  return putU64(o, (secs - NTP_UNIX_OFFSET) * 1000 + ((frac * 1000) >>> 32));
}

/** The length of a valid UTF-8 sequence starting at p (at most `left` bytes), or 0 when the bytes there are not one. */
function utf8Length(p: usize, left: usize): usize {
  const b = <u32>load<u8>(p);
  if (b >= 0xc2 && b <= 0xdf) {
    return left >= 2 && (load<u8>(p + 1) & 0xc0) == 0x80 ? 2 : 0;
  }
  if (b >= 0xe0 && b <= 0xef) {
    if (left < 3) return 0;
    const c = <u32>load<u8>(p + 1);
    const lo: u32 = b == 0xe0 ? 0xa0 : 0x80;
    const hi: u32 = b == 0xed ? 0x9f : 0xbf; // no surrogates
    return c >= lo && c <= hi && (load<u8>(p + 2) & 0xc0) == 0x80 ? 3 : 0;
  }
  if (b >= 0xf0 && b <= 0xf4) {
    if (left < 4) return 0;
    const c = <u32>load<u8>(p + 1);
    const lo: u32 = b == 0xf0 ? 0x90 : 0x80;
    const hi: u32 = b == 0xf4 ? 0x8f : 0xbf;
    return c >= lo && c <= hi && (load<u8>(p + 2) & 0xc0) == 0x80 && (load<u8>(p + 3) & 0xc0) == 0x80 ? 4 : 0;
  }
  return 0;
}

@inline function putEscape(o: usize, b: u32): usize {
  store<u32>(o, 0x3030755c); // \u00
  store<u16>(o + 4, load<u16>(HEX_PTR + (<usize>b << 1)));
  return o + 6;
}

/**
 * string (RFC 7011 section 6.1.6, UTF-8) as a JSON string: trailing NULs removed (C exporters
 * pad with them), '"', '\' and control characters escaped, and each byte that is not part of
 * valid UTF-8 written as \u00XX, that is read as Latin-1 (what such bytes usually are), so the
 * JSON stays valid and no byte is lost.
 */
export function putString(o: usize, p: usize, len: usize): usize {
  while (len > 0 && load<u8>(p + len - 1) == 0) len--;
  store<u8>(o, 34);
  o++;
  const end = p + len;
  while (p < end) {
    const b = <u32>load<u8>(p);
    if (b >= 0x20 && b < 0x80) {
      if (b == 34 || b == 92) {
        store<u8>(o, 92);
        store<u8>(o + 1, <u8>b);
        o += 2;
      } else {
        store<u8>(o, <u8>b);
        o++;
      }
      p++;
      continue;
    }
    if (b < 0x20) {
      if (b == 10) { store<u16>(o, 0x6e5c); o += 2; } // \n
      else if (b == 13) { store<u16>(o, 0x725c); o += 2; } // \r
      else if (b == 9) { store<u16>(o, 0x745c); o += 2; } // \t
      else o = putEscape(o, b);
      p++;
      continue;
    }
    const n = utf8Length(p, end - p);
    if (n == 0) {
      o = putEscape(o, b);
      p++;
      continue;
    }
    for (let i: usize = 0; i < n; i++) store<u8>(o + i, load<u8>(p + i));
    o += n;
    p += n;
  }
  store<u8>(o, 34);
  return o + 1;
}
