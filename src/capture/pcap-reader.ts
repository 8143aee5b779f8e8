/**
 * Extracts UDP datagrams from a packet capture held in memory, so captured export packets
 * (IPFIX / NetFlow) can be fed to a decoder by `flowgate decode FILE`, tests and benchmarks.
 *
 * Wire layouts parsed here (all multi-byte packet fields are big-endian):
 *  - classic libpcap file: 24-byte global header {magic u32, version u16 u16, thiszone i32,
 *    sigfigs u32, snaplen u32, linktype u32}, then per packet a 16-byte record header
 *    {ts_sec u32, ts_usec-or-nsec u32, incl_len u32, orig_len u32} and incl_len bytes.
 *    Header fields use the writer's byte order, told by the magic (µs 0xa1b2c3d4, ns 0xa1b23c4d).
 *  - pcapng: blocks {type u32, total_length u32, body, total_length u32}, padded to 4 bytes,
 *    byte order per section from the SHB's byte-order magic 0x1a2b3c4d. Understood: SHB
 *    0x0a0d0d0a, IDB 1 (linktype u16, reserved u16, snaplen u32, options if_tsresol 9 /
 *    if_tsoffset 14), EPB 6, SPB 3, obsolete PB 2. Everything else is skipped by its length.
 *  - link layers: Ethernet II (1) with any number of 802.1Q/802.1ad tags, Linux cooked SLL
 *    (113, 16 bytes, protocol at 14) and SLL2 (276, 20 bytes, protocol at 0), raw IP (101, 12,
 *    14, 228, 229), BSD NULL (0, host-order u32 family) and LOOP (108, network-order family).
 *  - IPv4 (RFC 791), IPv6 (RFC 8200) with hop-by-hop / routing / destination-options
 *    extension headers, UDP (RFC 768).
 *
 * Frames that yield no datagram are counted in CaptureStats.skipped under one of:
 *   not_ip, not_udp, fragment, truncated (needs bytes the capture does not hold),
 *   malformed (inconsistent IP/UDP header fields), unsupported_link, unknown_interface,
 *   bad_block (a pcapng packet block whose fixed fields or data do not fit the block).
 * Only damage to the file structure itself throws CaptureError; datagrams found before the
 * damage have already been delivered by then.
 */

export interface CapturedDatagram {
  /** 1-based index of the frame in the capture */
  frame: number;
  /** capture timestamp, ms since epoch (float allowed); 0 for pcapng Simple Packet Blocks, which carry none */
  timeMs: number;
  /** source address as 16 bytes; IPv4 as IPv4-mapped IPv6 (::ffff:a.b.c.d) */
  srcAddr: Uint8Array;
  srcPort: number;
  dstPort: number;
  /** 4 or 6 */
  ipVersion: 4 | 6;
  /** the UDP payload (a view into the file buffer, not a copy) */
  payload: Uint8Array;
}

export interface CaptureStats {
  frames: number;
  udpDatagrams: number;
  skipped: Record<string, number>;
}

/** Thrown for input that is not pcap/pcapng or whose file structure is corrupt. */
export class CaptureError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CaptureError';
  }
}

const PCAP_US = 0xa1b2c3d4;
const PCAP_NS = 0xa1b23c4d;
const PCAP_US_SWAPPED = 0xd4c3b2a1;
const PCAP_NS_SWAPPED = 0x4d3cb2a1;
const PCAPNG_SHB = 0x0a0d0d0a;
const PCAPNG_BYTE_ORDER = 0x1a2b3c4d;

const BLOCK_PB = 2;
const BLOCK_SPB = 3;
const BLOCK_IDB = 1;
const BLOCK_EPB = 6;

const LINK_NULL = 0;
const LINK_ETHERNET = 1;
const LINK_RAW_12 = 12;
const LINK_RAW_14 = 14;
const LINK_RAW = 101;
const LINK_LOOP = 108;
const LINK_SLL = 113;
const LINK_IPV4 = 228;
const LINK_IPV6 = 229;
const LINK_SLL2 = 276;

const ETHERTYPE_IPV4 = 0x0800;
const ETHERTYPE_IPV6 = 0x86dd;

const IPPROTO_HOPOPTS = 0;
const IPPROTO_UDP = 17;
const IPPROTO_ROUTING = 43;
const IPPROTO_FRAGMENT = 44;
const IPPROTO_DSTOPTS = 60;

const TWO_32 = 0x100000000;

/** Per-call parse state; one object per readCapture so the packet path allocates nothing. */
class Reader {
  readonly view: DataView;
  readonly stats: CaptureStats = { frames: 0, udpDatagrams: 0, skipped: {} };
  /** IP version found by the link layer; set by linkLayer() to avoid returning a pair. */
  ipVersion: 4 | 6 = 4;

  constructor(
    readonly bytes: Uint8Array,
    readonly onDatagram: (d: CapturedDatagram) => void,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  skip(reason: string): void {
    const s = this.stats.skipped;
    s[reason] = (s[reason] ?? 0) + 1;
  }
}

/** Parses the whole capture held in memory. Calls onDatagram for each UDP datagram in capture order. */
export function readCapture(bytes: Uint8Array, onDatagram: (d: CapturedDatagram) => void): CaptureStats {
  const r = new Reader(bytes, onDatagram);
  if (bytes.length < 4) throw new CaptureError(`not a pcap or pcapng file: only ${bytes.length} bytes`);
  const magic = r.view.getUint32(0, true);
  switch (magic) {
    case PCAP_US: readPcap(r, true, false); break;
    case PCAP_NS: readPcap(r, true, true); break;
    case PCAP_US_SWAPPED: readPcap(r, false, false); break;
    case PCAP_NS_SWAPPED: readPcap(r, false, true); break;
    case PCAPNG_SHB: readPcapng(r); break;
    default:
      throw new CaptureError(`not a pcap or pcapng file: unknown magic 0x${hex32(magic)} at offset 0`);
  }
  return r.stats;
}

function readPcap(r: Reader, le: boolean, nano: boolean): void {
  const { bytes, view } = r;
  if (bytes.length < 24) throw new CaptureError(`pcap: global header cut short (${bytes.length} of 24 bytes)`);
  // The top bits carry FCS information, not the link type (libpcap's LT_LINKTYPE()).
  const linkType = view.getUint32(20, le) & 0x03ffffff;
  const fracPerMs = nano ? 1e6 : 1e3;
  let off = 24;
  while (off < bytes.length) {
    if (bytes.length - off < 16) {
      throw new CaptureError(`pcap: record header at offset ${off} cut short (${bytes.length - off} of 16 bytes)`);
    }
    const sec = view.getUint32(off, le);
    const frac = view.getUint32(off + 4, le);
    const incl = view.getUint32(off + 8, le);
    const data = off + 16;
    if (incl > bytes.length - data) {
      throw new CaptureError(
        `pcap: record at offset ${off} claims ${incl} captured bytes but only ${bytes.length - data} remain`,
      );
    }
    r.stats.frames++;
    frame(r, linkType, data, data + incl, sec * 1000 + frac / fracPerMs);
    off = data + incl;
  }
}

interface Interface {
  linkType: number;
  /** timestamp ticks per second (if_tsresol; default 10^6) */
  ticksPerSec: number;
  /** if_tsoffset, in ms */
  offsetMs: number;
}

function readPcapng(r: Reader): void {
  const { bytes, view } = r;
  let le = true;
  let interfaces: Interface[] = [];
  let off = 0;
  while (off < bytes.length) {
    if (bytes.length - off < 12) {
      throw new CaptureError(`pcapng: block header at offset ${off} cut short (${bytes.length - off} bytes left)`);
    }
    // An SHB declares the byte order of its whole section, including its own length field.
    let type = view.getUint32(off, le);
    if (type === PCAPNG_SHB) {
      const bom = view.getUint32(off + 8, true);
      if (bom === PCAPNG_BYTE_ORDER) le = true;
      else if (bom === 0x4d3c2b1a) le = false;
      else throw new CaptureError(`pcapng: bad byte-order magic 0x${hex32(bom)} in section header at offset ${off}`);
      interfaces = []; // interface ids are per section
    }
    type = view.getUint32(off, le);
    const total = view.getUint32(off + 4, le);
    if (total < 12 || total % 4 !== 0) {
      throw new CaptureError(`pcapng: invalid block length ${total} at offset ${off}`);
    }
    if (total > bytes.length - off) {
      throw new CaptureError(
        `pcapng: block at offset ${off} has length ${total} but only ${bytes.length - off} bytes remain`,
      );
    }
    const end = off + total;
    if (view.getUint32(end - 4, le) !== total) {
      throw new CaptureError(`pcapng: block at offset ${off} has mismatched trailing length`);
    }
    switch (type) {
      case PCAPNG_SHB: {
        if (total < 28) throw new CaptureError(`pcapng: section header at offset ${off} too short (${total} bytes)`);
        const major = view.getUint16(off + 12, le);
        if (major !== 1) throw new CaptureError(`pcapng: unsupported version ${major} at offset ${off}`);
        break;
      }
      case BLOCK_IDB:
        if (total < 20) throw new CaptureError(`pcapng: interface description at offset ${off} too short`);
        interfaces.push(readIdb(view, off, end, le));
        break;
      case BLOCK_EPB:
      case BLOCK_PB: {
        r.stats.frames++;
        // EPB: if_id u32; PB: if_id u16 + drops u16. Then ts_high, ts_low, caplen, origlen, data.
        if (total < 32) { r.skip('bad_block'); break; }
        const ifId = type === BLOCK_EPB ? view.getUint32(off + 8, le) : view.getUint16(off + 8, le);
        const caplen = view.getUint32(off + 20, le);
        const data = off + 28;
        if (caplen > end - 4 - data) { r.skip('bad_block'); break; }
        const iface = interfaces[ifId];
        if (iface === undefined) { r.skip('unknown_interface'); break; }
        const timeMs = ticksToMs(view.getUint32(off + 12, le), view.getUint32(off + 16, le), iface.ticksPerSec)
          + iface.offsetMs;
        frame(r, iface.linkType, data, data + caplen, timeMs);
        break;
      }
      case BLOCK_SPB: {
        r.stats.frames++;
        if (total < 16) { r.skip('bad_block'); break; }
        const iface = interfaces[0];
        if (iface === undefined) { r.skip('unknown_interface'); break; }
        // No caplen field: the snaplen-limited data is whatever the block holds.
        const data = off + 12;
        const caplen = Math.min(view.getUint32(off + 8, le), end - 4 - data);
        frame(r, iface.linkType, data, data + caplen, 0);
        break;
      }
      default:
        break; // NRB, ISB, DSB, custom and future blocks carry no packets we need
    }
    off = end;
  }
}

function readIdb(view: DataView, off: number, end: number, le: boolean): Interface {
  const iface: Interface = { linkType: view.getUint16(off + 8, le), ticksPerSec: 1e6, offsetMs: 0 };
  const optEnd = end - 4;
  let p = off + 16;
  while (optEnd - p >= 4) {
    const code = view.getUint16(p, le);
    const len = view.getUint16(p + 2, le);
    const v = p + 4;
    // Broken options only cost us the defaults; the block framing is still sound.
    if (code === 0 || len > optEnd - v) break;
    if (code === 9 && len >= 1) {
      const res = view.getUint8(v);
      iface.ticksPerSec = res & 0x80 ? 2 ** (res & 0x7f) : 10 ** res;
    } else if (code === 14 && len >= 8) {
      const hi = view.getInt32(le ? v + 4 : v, le);
      const lo = view.getUint32(le ? v : v + 4, le);
      iface.offsetMs = (hi * TWO_32 + lo) * 1000;
    }
    p = v + ((len + 3) & ~3);
  }
  return iface;
}

/**
 * (hi·2^32 + lo) / ticksPerSec in ms. Nanosecond tick counts exceed 2^53, so divide in 16-bit
 * limbs to keep whole seconds and the remainder exact (every intermediate stays below 2^48).
 */
function ticksToMs(hi: number, lo: number, ticksPerSec: number): number {
  if (ticksPerSec > TWO_32 || !Number.isInteger(ticksPerSec)) return ((hi * TWO_32 + lo) / ticksPerSec) * 1000;
  let sec = 0;
  let rem = 0;
  for (let i = 0; i < 4; i++) {
    const limb = i === 0 ? hi >>> 16 : i === 1 ? hi & 0xffff : i === 2 ? lo >>> 16 : lo & 0xffff;
    rem = rem * 0x10000 + limb;
    const q = Math.floor(rem / ticksPerSec);
    sec = sec * 0x10000 + q;
    rem -= q * ticksPerSec;
  }
  return sec * 1000 + (rem * 1000) / ticksPerSec;
}

/** Decodes one captured frame occupying bytes[start, end). */
function frame(r: Reader, linkType: number, start: number, end: number, timeMs: number): void {
  const ip = linkLayer(r, linkType, start, end);
  if (ip < 0) return;
  if (r.ipVersion === 4) ipv4(r, ip, end, timeMs);
  else ipv6(r, ip, end, timeMs);
}

/** Returns the offset of the IP header (setting r.ipVersion), or -1 after counting the skip. */
function linkLayer(r: Reader, linkType: number, p: number, end: number): number {
  const b = r.bytes;
  let ethertype: number;
  switch (linkType) {
    case LINK_ETHERNET: {
      if (end - p < 14) return skipped(r, 'truncated');
      ethertype = be16(b, p + 12);
      p += 14;
      // 802.1Q (0x8100), 802.1ad (0x88a8) and pre-standard QinQ (0x9100) tags: TCI u16, type u16.
      while (ethertype === 0x8100 || ethertype === 0x88a8 || ethertype === 0x9100) {
        if (end - p < 4) return skipped(r, 'truncated');
        ethertype = be16(b, p + 2);
        p += 4;
      }
      break;
    }
    case LINK_SLL:
      if (end - p < 16) return skipped(r, 'truncated');
      ethertype = be16(b, p + 14);
      p += 16;
      break;
    case LINK_SLL2:
      if (end - p < 20) return skipped(r, 'truncated');
      ethertype = be16(b, p);
      p += 20;
      break;
    case LINK_RAW:
    case LINK_RAW_12:
    case LINK_RAW_14:
    case LINK_IPV4:
    case LINK_IPV6: {
      if (end - p < 1) return skipped(r, 'truncated');
      const version = b[p] >> 4;
      if (version === 4) ethertype = ETHERTYPE_IPV4;
      else if (version === 6) ethertype = ETHERTYPE_IPV6;
      else return skipped(r, 'not_ip');
      break;
    }
    case LINK_NULL:
    case LINK_LOOP: {
      if (end - p < 4) return skipped(r, 'truncated');
      // NULL stores the family in the capturing host's order, LOOP in network order; a value
      // above 0xffff means we guessed the order wrong (families are small numbers).
      let family = r.view.getUint32(p, linkType === LINK_NULL);
      if (family > 0xffff) family = r.view.getUint32(p, linkType !== LINK_NULL);
      p += 4;
      if (family === 2) ethertype = ETHERTYPE_IPV4;
      else if (family === 24 || family === 28 || family === 30) ethertype = ETHERTYPE_IPV6; // BSDs, FreeBSD, Darwin
      else return skipped(r, 'not_ip');
      break;
    }
    default:
      return skipped(r, 'unsupported_link');
  }
  if (ethertype === ETHERTYPE_IPV4) r.ipVersion = 4;
  else if (ethertype === ETHERTYPE_IPV6) r.ipVersion = 6;
  else return skipped(r, 'not_ip');
  return p;
}

function ipv4(r: Reader, ip: number, end: number, timeMs: number): void {
  const b = r.bytes;
  if (end - ip < 20) return r.skip('truncated');
  const ihl = (b[ip] & 0x0f) * 4;
  const totalLen = be16(b, ip + 2);
  if (b[ip] >> 4 !== 4 || ihl < 20) return r.skip('malformed');
  // Linux captures of segmentation-offloaded packets carry total length 0: trust the capture.
  const ipEnd = totalLen === 0 ? end : ip + totalLen;
  if (ipEnd - ip < ihl) return r.skip('malformed');
  // Offset != 0 is a later fragment; MF on offset 0 is a first fragment with an incomplete payload.
  if ((be16(b, ip + 6) & 0x3fff) !== 0) return r.skip('fragment');
  if (b[ip + 9] !== IPPROTO_UDP) return r.skip('not_udp');
  const src = new Uint8Array(16);
  src[10] = 0xff;
  src[11] = 0xff;
  src.set(b.subarray(ip + 12, ip + 16), 12);
  udp(r, ip + ihl, ipEnd, end, src, 4, timeMs);
}

function ipv6(r: Reader, ip: number, end: number, timeMs: number): void {
  const b = r.bytes;
  if (end - ip < 40) return r.skip('truncated');
  if (b[ip] >> 4 !== 6) return r.skip('malformed');
  const payloadLen = be16(b, ip + 4);
  // Payload length 0 means a jumbogram or an offloaded segment: bound by the capture instead.
  const ipEnd = payloadLen === 0 ? end : ip + 40 + payloadLen;
  let next = b[ip + 6];
  let p = ip + 40;
  while (next === IPPROTO_HOPOPTS || next === IPPROTO_ROUTING || next === IPPROTO_DSTOPTS) {
    if (end - p < 2) return r.skip('truncated');
    next = b[p];
    p += (b[p + 1] + 1) * 8; // Hdr Ext Len counts 8-octet units beyond the first
  }
  if (next === IPPROTO_FRAGMENT) return r.skip('fragment');
  if (next !== IPPROTO_UDP) return r.skip('not_udp');
  if (p > ipEnd) return r.skip('malformed');
  // Copy explicitly: Buffer#slice would return a view into the file.
  const src = new Uint8Array(16);
  src.set(b.subarray(ip + 8, ip + 24));
  udp(r, p, ipEnd, end, src, 6, timeMs);
}

/** ipEnd is where the IP header says the packet ends, end where the captured bytes end. */
function udp(
  r: Reader, p: number, ipEnd: number, end: number, srcAddr: Uint8Array, ipVersion: 4 | 6, timeMs: number,
): void {
  const b = r.bytes;
  if (end - p < 8) return r.skip('truncated');
  const udpLen = be16(b, p + 4);
  if (udpLen < 8 || udpLen > ipEnd - p) return r.skip('malformed');
  if (udpLen > end - p) return r.skip('truncated');
  r.stats.udpDatagrams++;
  r.onDatagram({
    frame: r.stats.frames,
    timeMs,
    srcAddr,
    srcPort: be16(b, p),
    dstPort: be16(b, p + 2),
    ipVersion,
    payload: b.subarray(p + 8, p + udpLen),
  });
}

function skipped(r: Reader, reason: string): -1 {
  r.skip(reason);
  return -1;
}

function be16(b: Uint8Array, p: number): number {
  return (b[p] << 8) | b[p + 1];
}

function hex32(n: number): string {
  return n.toString(16).padStart(8, '0');
}
