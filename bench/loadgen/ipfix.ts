// IPFIX (RFC 7011) packets for the load generator: two templates like a router's (IPv4 flows,
// IPv6 flows), a pool of data packets built from seeded pseudo-random flow records, and the
// schedule that turns the pool into the datagrams one run sends (templates first and every
// `templateEvery` data packets per exporter, sequence numbers, export time, flow times shifted to
// stay recent). The C sender (sender.c) replays the same schedule from the encoded pool; the Node
// sender and check.ts use Schedule below. Keep the two in step.

/** One template field: IANA element id and length in bytes. */
export interface TemplateField { id: number; length: number }

export const TEMPLATE_V4 = 256;
export const TEMPLATE_V6 = 257;
export const OBSERVATION_DOMAIN = 1;
const HEADER_BYTES = 16;
const SET_HEADER_BYTES = 4;

const common: TemplateField[] = [
  { id: 7, length: 2 }, // sourceTransportPort
  { id: 11, length: 2 }, // destinationTransportPort
  { id: 4, length: 1 }, // protocolIdentifier
  { id: 6, length: 1 }, // tcpControlBits (1 byte, as most routers send it: reduced-size encoding)
  { id: 5, length: 1 }, // ipClassOfService
  { id: 1, length: 8 }, // octetDeltaCount
  { id: 2, length: 8 }, // packetDeltaCount
  { id: 152, length: 8 }, // flowStartMilliseconds
  { id: 153, length: 8 }, // flowEndMilliseconds
  { id: 10, length: 4 }, // ingressInterface
  { id: 14, length: 4 }, // egressInterface
  { id: 16, length: 4 }, // bgpSourceAsNumber
  { id: 17, length: 4 }, // bgpDestinationAsNumber
  { id: 58, length: 2 }, // vlanId
];

/** 16 fields, 65-byte records. */
export const V4_FIELDS: readonly TemplateField[] = [{ id: 8, length: 4 }, { id: 12, length: 4 }, ...common];
/** 16 fields, 89-byte records. */
export const V6_FIELDS: readonly TemplateField[] = [{ id: 27, length: 16 }, { id: 28, length: 16 }, ...common];

/** Where the sender patches a data set's records: record length and flowStart/End offsets. */
export interface Layout { setId: number; recordLength: number; startOffset: number; endOffset: number }

function layoutOf(setId: number, fields: readonly TemplateField[]): Layout {
  let offset = 0;
  let startOffset = 0xffff;
  let endOffset = 0xffff;
  for (const f of fields) {
    if (f.id === 152) startOffset = offset;
    if (f.id === 153) endOffset = offset;
    offset += f.length;
  }
  return { setId, recordLength: offset, startOffset, endOffset };
}

export const LAYOUTS: readonly Layout[] = [layoutOf(TEMPLATE_V4, V4_FIELDS), layoutOf(TEMPLATE_V6, V6_FIELDS)];
const V4_LAYOUT = LAYOUTS[0]!;
const V6_LAYOUT = LAYOUTS[1]!;

function writeHeader(b: Buffer, length: number): void {
  b.writeUInt16BE(10, 0); // version
  b.writeUInt16BE(length, 2);
  b.writeUInt32BE(0, 4); // export time: patched when sent
  b.writeUInt32BE(0, 8); // sequence number: patched when sent
  b.writeUInt32BE(OBSERVATION_DOMAIN, 12);
}

/** The template message: one template set (id 2) with both templates. */
export function templateMessage(): Buffer {
  const templates: [number, readonly TemplateField[]][] = [[TEMPLATE_V4, V4_FIELDS], [TEMPLATE_V6, V6_FIELDS]];
  const setLength = SET_HEADER_BYTES + templates.reduce((n, [, f]) => n + 4 + f.length * 4, 0);
  const b = Buffer.alloc(HEADER_BYTES + setLength);
  writeHeader(b, b.length);
  let o = HEADER_BYTES;
  b.writeUInt16BE(2, o); b.writeUInt16BE(setLength, o + 2); o += 4;
  for (const [id, fields] of templates) {
    b.writeUInt16BE(id, o); b.writeUInt16BE(fields.length, o + 2); o += 4;
    for (const f of fields) { b.writeUInt16BE(f.id, o); b.writeUInt16BE(f.length, o + 2); o += 4; }
  }
  return b;
}

export const TEMPLATE_RECORDS_PER_MESSAGE = 2;

// ---------------------------------------------------------------------------------------------
// Flow records
// ---------------------------------------------------------------------------------------------

/** mulberry32: small, fast, seeded; good enough for traffic that looks varied. */
export class Rng {
  #s: number;
  constructor(seed: number) { this.#s = (seed >>> 0) || 0x9e3779b9; }
  /** [0, 1) */
  next(): number {
    let t = (this.#s = (this.#s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number { return Math.floor(this.next() * n); }
  range(lo: number, hi: number): number { return lo + this.int(hi - lo + 1); }
  pick<T>(items: readonly T[]): T { return items[this.int(items.length)]!; }
  /** Log-uniform-ish integer in [1, max], skewed towards small values like real flow sizes. */
  heavy(max: number): number { return Math.max(1, Math.floor(Math.exp(this.next() * this.next() * Math.log(max)))); }
}

// Services (proto, server port, weight) and server networks (IPv4 /16, IPv6 /32 prefix, ASN) in
// rough proportion to what an ISP edge sees.
const services: [proto: number, port: number, weight: number][] = [
  [6, 443, 40], [17, 443, 12], [6, 80, 10], [17, 53, 10], [6, 22, 3], [6, 25, 2], [6, 993, 2], [17, 123, 3],
  [17, 3478, 2], [6, 8080, 2], [6, 5228, 2], [17, 4500, 2], [6, 3389, 1], [1, 0, 5], [58, 0, 2],
];
const serviceTable: [number, number][] = services.flatMap(([p, port, w]) => Array.from({ length: w }, () => [p, port] as [number, number]));
const servers: [v4a: number, v4b: number, v6: number[], asn: number][] = [
  [142, 250, [0x2a00, 0x1450], 15169], [172, 217, [0x2607, 0xf8b0], 15169], [104, 16, [0x2606, 0x4700], 13335],
  [151, 101, [0x2a04, 0x4e42], 54113], [13, 107, [0x2620, 0x1ec], 8075], [52, 84, [0x2600, 0x1f18], 16509],
  [31, 13, [0x2a03, 0x2880], 32934], [157, 240, [0x2a03, 0x2880], 32934], [23, 185, [0x2600, 0x1406], 20940],
  [185, 199, [0x2606, 0x50c0], 36459], [17, 253, [0x2620, 0x149], 714], [198, 38, [0x2a00, 0x86c0], 2906],
  [91, 198, [0x2a02, 0xec80], 14907], [212, 58, [0x2a00, 0x1a48], 196745], [81, 2, [0x2a02, 0x8400], 3215],
];
const tcpFlags = [0x1b, 0x1b, 0x1a, 0x18, 0x10, 0x10, 0x02, 0x12, 0x11, 0x19, 0x14, 0x04, 0x1f];
const tosValues = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0x20, 0x28, 0x48, 0xb8];
const LOCAL_AS = 64496; // documentation ASN (RFC 5398): "us"

/** Writes one record (layout V4_FIELDS or V6_FIELDS) at `o`; flow times relative to genMs. */
function writeRecord(rng: Rng, v6: boolean, genMs: number, b: Buffer, o: number): void {
  const [proto, port] = rng.pick(serviceTable);
  const server = rng.pick(servers);
  const outbound = rng.next() < 0.5; // client (inside) -> server, or the reverse flow
  const addrBytes = v6 ? 16 : 4;
  const client = o + (outbound ? 0 : addrBytes);
  const far = o + (outbound ? addrBytes : 0);
  if (v6) {
    // inside: 2001:db8:CAFE:xxxx::/64 with a random or small interface id; outside: the server's /32
    b.writeUInt32BE(0x20010db8, client); b.writeUInt16BE(0xcafe, client + 4); b.writeUInt16BE(rng.int(256), client + 6);
    if (rng.next() < 0.3) { b.writeUInt32BE(0, client + 8); b.writeUInt32BE(rng.range(1, 4096), client + 12); }
    else { b.writeUInt32BE(rng.int(0x1_0000_0000), client + 8); b.writeUInt32BE(rng.int(0x1_0000_0000), client + 12); }
    b.writeUInt16BE(server[2][0]!, far); b.writeUInt16BE(server[2][1]!, far + 2);
    b.writeUInt16BE(rng.int(0x10000), far + 4); b.writeUInt16BE(rng.int(0x100), far + 6);
    b.writeUInt32BE(0, far + 8); b.writeUInt16BE(0, far + 12); b.writeUInt16BE(rng.range(1, 0x3fff), far + 14);
  } else {
    b[client] = 10; b[client + 1] = rng.int(32); b[client + 2] = rng.int(256); b[client + 3] = rng.range(1, 254);
    b[far] = server[0]; b[far + 1] = server[1]; b[far + 2] = rng.int(256); b[far + 3] = rng.range(1, 254);
  }
  let p = o + 2 * addrBytes;
  const ephemeral = rng.range(32768, 60999);
  const icmp = proto === 1 || proto === 58;
  b.writeUInt16BE(icmp ? 0 : outbound ? ephemeral : port, p);
  b.writeUInt16BE(icmp ? (proto === 1 ? 0x0800 : 0x8000) : outbound ? port : ephemeral, p + 2);
  b[p + 4] = proto;
  b[p + 5] = proto === 6 ? rng.pick(tcpFlags) : 0;
  b[p + 6] = rng.pick(tosValues);
  p += 7;
  const packets = icmp ? rng.range(1, 10) : rng.heavy(50_000);
  const octets = packets * (icmp ? 84 : rng.range(52, 1500));
  b.writeBigUInt64BE(BigInt(octets), p);
  b.writeBigUInt64BE(BigInt(packets), p + 8);
  const end = Math.floor(genMs) - rng.range(1000, 30_000); // export time is whole seconds: end stays <= it
  const start = end - (packets === 1 ? 0 : rng.heavy(120_000));
  b.writeBigUInt64BE(BigInt(start), p + 16);
  b.writeBigUInt64BE(BigInt(end), p + 24);
  p += 32;
  const uplink = rng.range(1, 8);
  const access = rng.range(100, 147);
  b.writeUInt32BE(outbound ? access : uplink, p);
  b.writeUInt32BE(outbound ? uplink : access, p + 4);
  const clientAs = rng.next() < 0.5 ? 0 : LOCAL_AS;
  b.writeUInt32BE(outbound ? clientAs : server[3], p + 8);
  b.writeUInt32BE(outbound ? server[3] : clientAs, p + 12);
  b.writeUInt16BE(rng.next() < 0.4 ? 0 : rng.range(100, 131), p + 16);
}

/** A data message: `v4` IPv4 records in a set 256, then `v6` IPv6 records in a set 257. */
function dataMessage(rng: Rng, v4: number, v6: number, genMs: number): Buffer {
  const length = HEADER_BYTES + (v4 ? SET_HEADER_BYTES + v4 * V4_LAYOUT.recordLength : 0) + (v6 ? SET_HEADER_BYTES + v6 * V6_LAYOUT.recordLength : 0);
  const b = Buffer.alloc(length);
  writeHeader(b, length);
  let o = HEADER_BYTES;
  for (const [count, layout, isV6] of [[v4, V4_LAYOUT, false], [v6, V6_LAYOUT, true]] as const) {
    if (!count) continue;
    b.writeUInt16BE(layout.setId, o); b.writeUInt16BE(SET_HEADER_BYTES + count * layout.recordLength, o + 2); o += SET_HEADER_BYTES;
    for (let i = 0; i < count; i++, o += layout.recordLength) writeRecord(rng, isV6, genMs, b, o);
  }
  return b;
}

/** The first `keep` records of a data message built by dataMessage() (sets rewritten). */
export function truncateData(message: Buffer, keep: number): Buffer {
  const parts: Buffer[] = [];
  let o = HEADER_BYTES;
  let left = keep;
  while (o + SET_HEADER_BYTES <= message.length && left > 0) {
    const id = message.readUInt16BE(o);
    const setLength = message.readUInt16BE(o + 2);
    const layout = LAYOUTS.find((l) => l.setId === id)!;
    const n = Math.min(left, (setLength - SET_HEADER_BYTES) / layout.recordLength);
    const set = Buffer.from(message.subarray(o, o + SET_HEADER_BYTES + n * layout.recordLength));
    set.writeUInt16BE(set.length, 2);
    parts.push(set);
    left -= n;
    o += setLength;
  }
  const header = Buffer.from(message.subarray(0, HEADER_BYTES));
  const out = Buffer.concat([header, ...parts]);
  out.writeUInt16BE(out.length, 2);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Pool and schedule
// ---------------------------------------------------------------------------------------------

export interface DataPacket { bytes: Buffer; records: number }

export interface PoolOptions {
  /** Records per data packet: [min, max], drawn per packet (min = max for a fixed count). */
  recordsPerPacket: [number, number];
  /** Share of records that are IPv6 flows (template 257). */
  ipv6Share: number;
  seed: number;
  /** Records in the pool (it is replayed in a loop): distinct records before they repeat. */
  poolRecords: number;
  /** Wall clock (ms) the flow times are generated against; the sender shifts them by now - genMs. */
  genMs: number;
}

export interface Pool {
  genMs: number;
  template: Buffer;
  data: DataPacket[];
}

export function buildPool(o: PoolOptions): Pool {
  const rng = new Rng(o.seed);
  const data: DataPacket[] = [];
  let records = 0;
  while (records < o.poolRecords) {
    const n = Math.min(rng.range(o.recordsPerPacket[0], o.recordsPerPacket[1]), o.poolRecords - records);
    let v6 = 0;
    for (let i = 0; i < n; i++) if (rng.next() < o.ipv6Share) v6++;
    data.push({ bytes: dataMessage(rng, n - v6, v6, o.genMs), records: n });
    records += n;
  }
  return { genMs: o.genMs, template: templateMessage(), data };
}

/** With a record limit: how many data packets the run sends, and its last (possibly short) packet. */
export function finalPacket(pool: Pool, records: number): { index: number; packet: DataPacket } {
  let total = 0;
  for (const p of pool.data) total += p.records;
  const cycles = Math.floor((records - 1) / total);
  let left = records - cycles * total; // 1..total records in the last cycle
  let i = 0;
  while (left > pool.data[i]!.records) left -= pool.data[i++]!.records;
  const from = pool.data[i]!;
  const packet = left === from.records ? from : { bytes: truncateData(from.bytes, left), records: left };
  return { index: cycles * pool.data.length + i, packet };
}

/** The pool as sender.c reads it from stdin (format in its header comment). */
export function encodePool(pool: Pool, final: { index: number; packet: DataPacket } | undefined): Buffer {
  const parts: Buffer[] = [];
  const u32 = (v: number) => { const b = Buffer.alloc(4); b.writeUInt32LE(v); parts.push(b); };
  u32(0x314c4746); u32(1);
  const g = Buffer.alloc(8); g.writeDoubleLE(pool.genMs); parts.push(g);
  u32(LAYOUTS.length);
  for (const l of LAYOUTS) {
    const b = Buffer.alloc(8);
    b.writeUInt16LE(l.setId, 0); b.writeUInt16LE(l.recordLength, 2); b.writeUInt16LE(l.startOffset, 4); b.writeUInt16LE(l.endOffset, 6);
    parts.push(b);
  }
  u32(pool.template.length); parts.push(pool.template);
  u32(pool.data.length);
  for (const p of pool.data) { u32(p.bytes.length); u32(p.records); parts.push(p.bytes); }
  const last = final?.packet ?? { bytes: Buffer.alloc(0), records: 0 };
  u32(last.bytes.length); u32(last.records); parts.push(last.bytes);
  const idx = Buffer.alloc(8); idx.writeBigUInt64LE(final ? BigInt(final.index) : 0xffff_ffff_ffff_ffffn); parts.push(idx);
  return Buffer.concat(parts);
}

/** Adds shiftMs to flowStart/EndMilliseconds of every record of a data message. */
function shiftTimes(b: Buffer, length: number, shiftMs: number): void {
  let o = HEADER_BYTES;
  while (o + SET_HEADER_BYTES <= length) {
    const id = b.readUInt16BE(o);
    const setLength = b.readUInt16BE(o + 2);
    if (setLength < SET_HEADER_BYTES || o + setLength > length) return;
    const layout = id === TEMPLATE_V4 ? V4_LAYOUT : id === TEMPLATE_V6 ? V6_LAYOUT : undefined;
    if (layout) {
      for (let r = o + SET_HEADER_BYTES; r + layout.recordLength <= o + setLength; r += layout.recordLength) {
        addMs(b, r + layout.startOffset, shiftMs);
        addMs(b, r + layout.endOffset, shiftMs);
      }
    }
    o += setLength;
  }
}

function addMs(b: Buffer, at: number, ms: number): void {
  // ms timestamps fit in 53 bits: hi * 2^32 + lo, no BigInt per record.
  const v = b.readUInt32BE(at) * 0x1_0000_0000 + b.readUInt32BE(at + 4) + ms;
  b.writeUInt32BE(Math.floor(v / 0x1_0000_0000), at);
  b.writeUInt32BE(v % 0x1_0000_0000, at + 4);
}

/** One datagram of the schedule: written into a caller's buffer. */
export interface Datagram { exporter: number; length: number; records: number; template: boolean }

/**
 * The order one run sends: exporter by exporter round-robin, `chunk` datagrams at a time (the
 * sender asks for a chunk per exporter turn), each exporter's templates before its first data
 * packet and again after every `templateEvery` data packets (0: only at the start), sequence
 * numbers counting the data records the exporter sent before the message, export time = now.
 * Mirrors the loop in sender.c.
 */
export class Schedule {
  readonly #pool: Pool;
  readonly #final: { index: number; packet: DataPacket } | undefined;
  readonly #templateEvery: number;
  readonly #seq: Uint32Array;
  readonly #sentData: Float64Array;
  readonly #templateDue: Uint8Array;
  #dataIndex = 0;
  done = false;

  constructor(pool: Pool, exporters: number, templateEvery: number, final?: { index: number; packet: DataPacket }) {
    this.#pool = pool;
    this.#final = final;
    this.#templateEvery = templateEvery;
    this.#seq = new Uint32Array(exporters);
    this.#sentData = new Float64Array(exporters);
    this.#templateDue = new Uint8Array(exporters).fill(1);
  }

  /** Writes exporter `e`'s next datagram into `out` (at 0) and describes it; undefined when done. */
  next(e: number, out: Buffer, nowMs: number): Datagram | undefined {
    if (this.done) return undefined;
    const exportS = Math.floor(nowMs / 1000);
    if (this.#templateDue[e]) {
      const t = this.#pool.template;
      t.copy(out, 0);
      out.writeUInt32BE(exportS, 4);
      out.writeUInt32BE(this.#seq[e]!, 8);
      this.#templateDue[e] = 0;
      return { exporter: e, length: t.length, records: 0, template: true };
    }
    const final = this.#final;
    const p = final && this.#dataIndex === final.index ? final.packet : this.#pool.data[this.#dataIndex % this.#pool.data.length]!;
    p.bytes.copy(out, 0);
    out.writeUInt32BE(exportS, 4);
    out.writeUInt32BE(this.#seq[e]!, 8);
    shiftTimes(out, p.bytes.length, Math.floor(nowMs - this.#pool.genMs));
    this.#seq[e] = (this.#seq[e]! + p.records) >>> 0;
    const sent = this.#sentData[e]! + 1;
    this.#sentData[e] = sent;
    if (this.#templateEvery > 0 && sent % this.#templateEvery === 0) this.#templateDue[e] = 1;
    if (final && this.#dataIndex === final.index) this.done = true;
    this.#dataIndex++;
    return { exporter: e, length: p.bytes.length, records: p.records, template: false };
  }
}

/** Exporter i (0-based) sends from 127.0.1.(i+1): 127.0.1.1 ... 127.0.1.254, then 127.0.2.1 ... */
export function exporterAddress(i: number): string {
  return `127.0.${1 + Math.floor(i / 254)}.${1 + (i % 254)}`;
}
