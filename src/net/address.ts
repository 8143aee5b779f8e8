// Exporter addresses travel as 16 bytes (IPv4 as ::ffff:a.b.c.d) between the receiver, the
// ring and the decoder; these helpers convert at the edges, once per exporter, not per packet.
import { isIPv4, isIPv6 } from 'node:net';

/** 16 bytes for an IPv4 or IPv6 address in text; IPv4 becomes ::ffff:a.b.c.d. Throws on anything else. */
export function addressBytes(text: string, out: Uint8Array = new Uint8Array(16), offset = 0): Uint8Array {
  if (isIPv4(text)) {
    out.fill(0, offset, offset + 10);
    out[offset + 10] = 0xff;
    out[offset + 11] = 0xff;
    const parts = text.split('.');
    for (let i = 0; i < 4; i++) out[offset + 12 + i] = Number(parts[i]);
    return out;
  }
  const bare = text.startsWith('[') ? text.slice(1, -1) : text;
  const zone = bare.indexOf('%');
  const ip = zone >= 0 ? bare.slice(0, zone) : bare;
  if (!isIPv6(ip)) throw new Error(`not an IP address: ${text}`);
  // The URL parser rewrites a dotted tail into hex groups, leaving only "::" to expand.
  const hexOnly = new URL(`http://[${ip}]/`).hostname.slice(1, -1);
  const [left, right] = hexOnly.includes('::') ? (hexOnly.split('::') as [string, string]) : [hexOnly, undefined];
  const l = left ? left.split(':').map((g) => parseInt(g, 16)) : [];
  const r = right ? right.split(':').map((g) => parseInt(g, 16)) : [];
  const groups = right === undefined ? l : [...l, ...new Array<number>(8 - l.length - r.length).fill(0), ...r];
  for (let i = 0; i < 8; i++) {
    out[offset + i * 2] = (groups[i]! >> 8) & 0xff;
    out[offset + i * 2 + 1] = groups[i]! & 0xff;
  }
  return out;
}

/** Text of 16 address bytes: dotted IPv4 for ::ffff:a.b.c.d, RFC 5952 IPv6 otherwise. */
export function addressText(bytes: Uint8Array, offset = 0): string {
  let mapped = bytes[offset + 10] === 0xff && bytes[offset + 11] === 0xff;
  for (let i = 0; mapped && i < 10; i++) mapped = bytes[offset + i] === 0;
  if (mapped) return `${bytes[offset + 12]}.${bytes[offset + 13]}.${bytes[offset + 14]}.${bytes[offset + 15]}`;
  const groups: string[] = [];
  for (let i = 0; i < 8; i++) groups.push(((bytes[offset + i * 2]! << 8) | bytes[offset + i * 2 + 1]!).toString(16));
  // The URL parser compresses to RFC 5952 form.
  return new URL(`http://[${groups.join(':')}]/`).hostname.slice(1, -1);
}
