// Strings from the wire as JSON string text (RFC 8259 section 7), written without quotes:
// trailing NULs removed (fixed-length fields are padded with them), '"', '\' and control
// characters escaped, and every byte that is not part of well-formed UTF-8 (RFC 3629 section 4)
// replaced by U+FFFD, as TextDecoder does: whatever an exporter sends, the JSON stays valid.

const REPLACEMENT_0: u8 = 0xef; // U+FFFD in UTF-8: ef bf bd
const REPLACEMENT_1: u8 = 0xbf;
const REPLACEMENT_2: u8 = 0xbd;

@inline function continuation(b: u32): bool {
  return (b & 0xc0) == 0x80;
}

/** Bytes of the well-formed UTF-8 sequence at p (not past end): 1 to 4, or 0 when it is not one. */
function utf8Length(p: usize, end: usize): u32 {
  const b = <u32>load<u8>(p);
  if (b < 0x80) return 1;
  if (b < 0xc2 || b > 0xf4) return 0;
  const n: u32 = b < 0xe0 ? 2 : b < 0xf0 ? 3 : 4;
  if (p + <usize>n > end) return 0;
  const b1 = <u32>load<u8>(p + 1);
  if (!continuation(b1)) return 0;
  // Overlong forms, UTF-16 surrogates and code points above U+10FFFF are not well-formed.
  if ((b == 0xe0 && b1 < 0xa0) || (b == 0xed && b1 >= 0xa0) || (b == 0xf0 && b1 < 0x90) || (b == 0xf4 && b1 >= 0x90)) return 0;
  if (n >= 3 && !continuation(<u32>load<u8>(p + 2))) return 0;
  if (n == 4 && !continuation(<u32>load<u8>(p + 3))) return 0;
  return n;
}

@inline function hexDigit(d: u32): u8 {
  return <u8>(d < 10 ? 48 + d : 87 + d);
}

/** `len` bytes at `src` less their trailing NULs. */
export function trimNuls(src: usize, len: u32): u32 {
  while (len > 0 && load<u8>(src + len - 1) == 0) len--;
  return len;
}

/**
 * Writes the `len` bytes at `src` (trailing NULs removed) as JSON string text at `out`, at most
 * `max` bytes: a longer text stops before the character that would pass `max`, so it is cut
 * between characters, never inside an escape or a UTF-8 sequence. Returns the new cursor.
 */
export function putJsonText(out: usize, src: usize, len: u32, max: u32): usize {
  const end = src + <usize>trimNuls(src, len);
  const limit = out + <usize>max;
  let p = src;
  while (p < end) {
    const b = <u32>load<u8>(p);
    if (b >= 0x20 && b < 0x80 && b != 34 && b != 92) {
      if (out + 1 > limit) break;
      store<u8>(out++, <u8>b);
      p++;
      continue;
    }
    if (b < 0x80) {
      if (b == 34 || b == 92) {
        if (out + 2 > limit) break;
        store<u8>(out, 92);
        store<u8>(out + 1, <u8>b);
        out += 2;
      } else {
        if (out + 6 > limit) break;
        store<u32>(out, 0x3030755c); // "\u00"
        store<u8>(out + 4, hexDigit(b >>> 4));
        store<u8>(out + 5, hexDigit(b & 15));
        out += 6;
      }
      p++;
      continue;
    }
    const n = utf8Length(p, end);
    if (n == 0) {
      if (out + 3 > limit) break;
      store<u8>(out, REPLACEMENT_0);
      store<u8>(out + 1, REPLACEMENT_1);
      store<u8>(out + 2, REPLACEMENT_2);
      out += 3;
      p++;
      continue;
    }
    if (out + <usize>n > limit) break;
    memory.copy(out, p, n);
    out += n;
    p += n;
  }
  return out;
}

@inline function isHex(b: u32): bool {
  return (b >= 48 && b <= 57) || (b >= 97 && b <= 102) || (b >= 65 && b <= 70);
}

/** Whether `len` bytes at p are JSON string text as putJsonText writes it (a restored snapshot is checked so). */
export function validJsonText(p: usize, len: u32): bool {
  const end = p + <usize>len;
  while (p < end) {
    const b = <u32>load<u8>(p);
    if (b < 0x20 || b == 34) return false;
    if (b == 92) {
      if (p + 1 >= end) return false;
      const e = <u32>load<u8>(p + 1);
      if (e == 34 || e == 92) {
        p += 2;
        continue;
      }
      if (e != 117 || p + 6 > end) return false; // "\u" and 4 hex digits
      for (let i: usize = 2; i < 6; i++) if (!isHex(<u32>load<u8>(p + i))) return false;
      p += 6;
      continue;
    }
    const n = utf8Length(p, end);
    if (n == 0) return false;
    p += n;
  }
  return true;
}
