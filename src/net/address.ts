// Exporter addresses travel as 16 bytes (IPv4 as ::ffff:a.b.c.d) between the receiver, the
// ring and the decoder; these helpers convert at the edges, once per exporter, not per packet.
// Parsing and RFC 5952 formatting are the config's own (src/config/addresses.ts).
import { parseIP, isIPv4Mapped, mappedIPv4, formatIPv4, formatIPv6 } from '../config/addresses.js';

/** 16 bytes for an IPv4 or IPv6 address in text (brackets and a %zone allowed, as dgram gives them). Throws on anything else. */
export function addressBytes(text: string, out: Uint8Array = new Uint8Array(16), offset = 0): Uint8Array {
  const bare = text.startsWith('[') ? text.slice(1, -1) : text;
  const zone = bare.indexOf('%');
  const ip = parseIP(zone >= 0 ? bare.slice(0, zone) : bare);
  if (!ip) throw new Error(`not an IP address: ${text}`);
  if (ip.family === 6) {
    out.set(ip.v6, offset);
    return out;
  }
  out.fill(0, offset, offset + 10);
  out[offset + 10] = 0xff;
  out[offset + 11] = 0xff;
  out[offset + 12] = (ip.v4 >>> 24) & 0xff;
  out[offset + 13] = (ip.v4 >>> 16) & 0xff;
  out[offset + 14] = (ip.v4 >>> 8) & 0xff;
  out[offset + 15] = ip.v4 & 0xff;
  return out;
}

/** Text of 16 address bytes: dotted IPv4 for ::ffff:a.b.c.d, RFC 5952 IPv6 otherwise. */
export function addressText(bytes: Uint8Array, offset = 0): string {
  return isIPv4Mapped(bytes, offset) ? formatIPv4(mappedIPv4(bytes, offset)) : formatIPv6(bytes.subarray(offset, offset + 16));
}
