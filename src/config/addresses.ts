// IP addresses, CIDR prefixes and HOST:PORT endpoints as they are written in config.yaml.
// Config validation and the tenant router parse them with these same functions, so whatever
// the configuration accepts the router can load.
//
// Written by hand rather than with ipaddr.js: node:net can tell whether a string is an address
// but not give its bytes, and the rules here are small (dotted quads without leading zeros,
// RFC 4291 text for IPv6 without zone ids, IPv4-mapped IPv6 treated as IPv4).

/** An address or prefix: IPv4 as a signed 32-bit number, IPv6 as 16 bytes. */
export type Prefix =
  | { readonly family: 4; readonly v4: number; readonly length: number }
  | { readonly family: 6; readonly v6: Uint8Array; readonly length: number };

export type IPAddress =
  | { readonly family: 4; readonly v4: number }
  | { readonly family: 6; readonly v6: Uint8Array };

/** Parses a dotted-quad IPv4 address to a signed 32-bit number (the router's cache key form). */
export function parseIPv4(text: string): number | null {
  const parts = text.split('.');
  if (parts.length !== 4) return null;
  let n = 0;
  for (const part of parts) {
    // No leading zeros: "010" is octal to some tools and decimal to others.
    if (!/^(0|[1-9][0-9]{0,2})$/.test(part)) return null;
    const octet = Number(part);
    if (octet > 255) return null;
    n = (n << 8) | octet;
  }
  return n | 0;
}

/** Parses RFC 4291 IPv6 text (with "::" and an optional dotted-quad tail) to 16 bytes. */
export function parseIPv6(text: string): Uint8Array | null {
  if (text.length < 2 || text.length > 45 || !/^[0-9a-fA-F:.]+$/.test(text)) return null;
  const halves = text.split('::');
  if (halves.length > 2) return null;
  const groups = (half: string): number[] | null => {
    if (half === '') return [];
    const out: number[] = [];
    const parts = half.split(':');
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i]!;
      if (i === parts.length - 1 && part.includes('.')) {
        const v4 = parseIPv4(part);
        if (v4 === null) return null;
        out.push((v4 >>> 16) & 0xffff, v4 & 0xffff);
      } else if (/^[0-9a-fA-F]{1,4}$/.test(part)) {
        out.push(parseInt(part, 16));
      } else {
        return null;
      }
    }
    return out;
  };
  const head = groups(halves[0]!);
  const tail = halves.length === 2 ? groups(halves[1]!) : [];
  if (head === null || tail === null) return null;
  // A dotted quad may only end the address.
  if (halves.length === 2 && halves[0]!.includes('.')) return null;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return null;
  const words = [...head, ...new Array<number>(missing).fill(0), ...tail];
  const bytes = new Uint8Array(16);
  words.forEach((w, i) => {
    bytes[2 * i] = w >>> 8;
    bytes[2 * i + 1] = w & 0xff;
  });
  return bytes;
}

/** True when bytes[offset, offset + 16) is ::ffff:a.b.c.d (how IPv4 exporters arrive). */
export function isIPv4Mapped(bytes: Uint8Array, offset = 0): boolean {
  for (let i = 0; i < 10; i++) if (bytes[offset + i] !== 0) return false;
  return bytes[offset + 10] === 0xff && bytes[offset + 11] === 0xff;
}

/** Reads the IPv4 address of a ::ffff:a.b.c.d address as a signed 32-bit number. */
export function mappedIPv4(bytes: Uint8Array, offset = 0): number {
  return (bytes[offset + 12]! << 24) | (bytes[offset + 13]! << 16) | (bytes[offset + 14]! << 8) | bytes[offset + 15]!;
}

/** Parses an IPv4 or IPv6 address; IPv4-mapped IPv6 (::ffff:a.b.c.d) comes back as IPv4. */
export function parseIP(text: string): IPAddress | null {
  const v4 = parseIPv4(text);
  if (v4 !== null) return { family: 4, v4 };
  const v6 = parseIPv6(text);
  if (v6 === null) return null;
  return isIPv4Mapped(v6) ? { family: 4, v4: mappedIPv4(v6) } : { family: 6, v6 };
}

/** The network part of a signed 32-bit IPv4 address for a prefix length 0..32. */
export function maskIPv4(v4: number, length: number): number {
  return length === 0 ? 0 : (v4 & (-1 << (32 - length))) | 0;
}

/** A copy of `v6` with the bits past `length` cleared. */
export function maskIPv6(v6: Uint8Array, length: number): Uint8Array {
  const out = new Uint8Array(16);
  for (let i = 0; i < 16; i++) {
    const keep = Math.max(0, Math.min(8, length - 8 * i));
    out[i] = v6[i]! & ((0xff00 >> keep) & 0xff);
  }
  return out;
}

/**
 * Parses an address or CIDR prefix. Host bits past the prefix length are cleared (the prefix is
 * normalised, not rejected). IPv4-mapped IPv6 prefixes of length 96 or more become IPv4 prefixes,
 * because IPv4 exporters are matched as IPv4. Returns the problem text on failure.
 */
export function parsePrefix(text: string): Prefix | string {
  const slash = text.indexOf('/');
  const addressText = slash < 0 ? text : text.slice(0, slash);
  const address = parseIP(addressText);
  if (address === null) return `${JSON.stringify(text)} is not an IPv4/IPv6 address or CIDR prefix`;
  const mappedText = address.family === 4 && addressText.includes(':');
  const max = address.family === 4 && !mappedText ? 32 : 128;
  let length = max;
  if (slash >= 0) {
    const lengthText = text.slice(slash + 1);
    if (!/^[0-9]{1,3}$/.test(lengthText) || Number(lengthText) > max) {
      return `${JSON.stringify(text)}: the prefix length must be 0 to ${max} for ${max === 32 ? 'IPv4' : 'IPv6'}`;
    }
    length = Number(lengthText);
  }
  if (address.family === 4) {
    if (mappedText) {
      if (length < 96) {
        return `${JSON.stringify(text)}: an IPv4-mapped prefix needs a length of 96 to 128 (or write the IPv4 prefix)`;
      }
      length -= 96;
    }
    return { family: 4, v4: maskIPv4(address.v4, length), length };
  }
  return { family: 6, v6: maskIPv6(address.v6, length), length };
}

export function formatIPv4(v4: number): string {
  return `${(v4 >>> 24) & 0xff}.${(v4 >>> 16) & 0xff}.${(v4 >>> 8) & 0xff}.${v4 & 0xff}`;
}

/** RFC 5952 text: lowercase, no leading zeros, the longest run of two or more zero groups as "::". */
export function formatIPv6(v6: Uint8Array): string {
  const words: number[] = [];
  for (let i = 0; i < 16; i += 2) words.push((v6[i]! << 8) | v6[i + 1]!);
  let bestStart = -1, bestLength = 1;
  for (let i = 0; i < 8; ) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLength) [bestStart, bestLength] = [i, j - i];
    i = j;
  }
  const hex = (ws: number[]) => ws.map((w) => w.toString(16)).join(':');
  if (bestStart < 0) return hex(words);
  return `${hex(words.slice(0, bestStart))}::${hex(words.slice(bestStart + bestLength))}`;
}

/** Canonical text of a prefix: an address alone for a host prefix (/32, /128), else NET/LEN. */
export function formatPrefix(p: Prefix): string {
  const address = p.family === 4 ? formatIPv4(p.v4) : formatIPv6(p.v6);
  return p.length === (p.family === 4 ? 32 : 128) ? address : `${address}/${p.length}`;
}

export interface Endpoint {
  readonly host: string;
  readonly port: number;
}

/** Hostname labels as DNS and container runtimes use them (underscores allowed, as Compose names have). */
const hostnamePattern = /^(?=.{1,253}$)[a-zA-Z0-9_]([a-zA-Z0-9_-]{0,61}[a-zA-Z0-9_])?(\.[a-zA-Z0-9_]([a-zA-Z0-9_-]{0,61}[a-zA-Z0-9_])?)*\.?$/;

/**
 * Parses HOST:PORT or [IPV6]:PORT. Listen addresses (`hostnames: false`) must be IP literals,
 * because sockets are bound without resolving names; Kafka brokers may be hostnames.
 * Returns the problem text on failure.
 */
export function parseEndpoint(text: string, hostnames: boolean): Endpoint | string {
  const quoted = JSON.stringify(text);
  const hostKind = hostnames ? 'a hostname or an IP address' : 'an IPv4 or IPv6 address';
  const m = /^(?:\[([^\]]*)\]|([^:[\]]*)):([0-9]+)$/.exec(text);
  if (!m) {
    if (parseIPv6(text) !== null || /^[0-9a-fA-F:]+:[0-9]+$/.test(text)) {
      return `${quoted}: an IPv6 address needs brackets, as in [::1]:${hostnames ? 9092 : 4739}`;
    }
    return `expected HOST:PORT or [IPV6]:PORT, got ${quoted}`;
  }
  const [, bracketed, plain, portText] = m;
  const port = Number(portText);
  // A listen port of 0 asks the kernel for a free one (tests, ad hoc runs); brokers need a real port.
  const minPort = hostnames ? 1 : 0;
  if (!(port >= minPort && port <= 65535) || portText!.length > 5) return `${quoted}: the port must be ${minPort} to 65535`;
  if (bracketed !== undefined) {
    if (parseIPv6(bracketed) === null) return `${quoted}: [${bracketed}] is not an IPv6 address`;
    return { host: bracketed, port };
  }
  const host = plain!;
  if (parseIPv4(host) !== null) return { host, port };
  if (!hostnames || /^[0-9.]+$/.test(host) || !hostnamePattern.test(host)) {
    return `${quoted}: ${JSON.stringify(host)} is not ${hostKind}`;
  }
  return { host, port };
}

/**
 * HOST:PORT of a value the config already validated, as host and port (brackets removed from
 * IPv6). Throws with parseEndpoint's problem text when it is not one, which only a caller that
 * skipped validation can see.
 */
export function splitHostPort(text: string, hostnames: boolean): Endpoint {
  const endpoint = parseEndpoint(text, hostnames);
  if (typeof endpoint === 'string') throw new RangeError(endpoint);
  return endpoint;
}
