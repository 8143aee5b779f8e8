// NOT PART OF FLOWGATE: the baseline of the "wasm vs TS" decode figure, kept on purpose.
// FlowGate decodes with the WebAssembly decoder (assembly/, src/decoder/wasm.ts) only; this
// second decoder exists so bench/decode.bench.ts can answer "is wasm worth it?" against a
// fair opponent. Nothing in src/ imports it. Its byte-for-byte agreement with the wasm decoder
// runs in `npm test` (test/decoder/ts-decoder.test.ts), so a
// change to the decoder's output that is not made here too fails the tests, not the figure.
//
// A plain TypeScript decoder of the packets the wasm decoder reads, written as a
// competent TypeScript developer would write a fast one: DataView reads from one input
// buffer, templates compiled once into steps, record values in a Float64Array, JSON written
// as bytes into a preallocated Uint8Array, no object per record. It writes the same JSON
// lines, byte for byte, and the same records in its index (end offset, flow hash; its own
// layout, described as a RecordIndex) as the wasm decoder with default options.
//
// Wire layouts read (all fields big-endian):
//   IPFIX message (RFC 7011 section 3.1): version 10 | length | export time | sequence | observation domain (16 bytes),
//     then sets: set id | set length, and records; template set 2, options template set 3 (section 3.4),
//     data sets >= 256; field specifier: element id (bit 15 = enterprise) | length [| PEN]; length 65535 =
//     variable (section 7: 1-byte length, or 255 then a 2-byte length).
//   NetFlow v9 (RFC 3954 section 5): version 9 | count | sysUptime | unix secs | sequence | source id (20 bytes),
//     flowsets: template 0, options template 1 (scope and option lengths in bytes), data >= 256.
//   NetFlow v5: 24-byte header, then count records of 48 bytes.
//
// Left out on purpose (the wasm decoder does them; none changes the corpus output but the
// out-of-order capture's first pass):
//   - data sets that arrive before their template are counted (unknown_template) and dropped,
//     not held and decoded later, so ooo_softflowd_v9_mixed loses its first 149 records on a
//     fresh decoder;
//   - no sequence tracking (lost-record estimate, exporter restarts) and no sysUptime restart check;
//   - templates expire only when a data set finds them stale, there is no sweep(), and
//     sessions are never forgotten;
//   - no field selection: every record has all fields, as with the decoder's default options.
// Both decoders copy the datagram into their own input buffer first (the wasm host must).
// Values are JS numbers while below 2^53; larger 8-byte values (counters near their wrap,
// absurd times) take a BigInt side path so the output still matches the decoder's u64/i64.
// One known difference outside the corpus: a selectorId whose low 31 bits are all ones keys
// the wasm decoder's sampler table with 0 (its free-slot mark) and loses its rate; here it works.

import type { RecordIndex } from '../src/decoder/record-index.js';

const IN_CAPACITY = 65536;
const OUT_CAPACITY = 8 << 20;
const OUT_SLACK = 4096;
const MAX_RECORDS_OUT = 65536;
const MAX_FIELDS = 256;
const MAX_TEMPLATES = 4096;
const MAX_SESSIONS = 2048;
const MAX_SAMPLERS = 16;
const VARLEN = 0xffff;
const MAX_SAFE = Number.MAX_SAFE_INTEGER;
const TWO_32 = 4294967296;
const NTP_UNIX_OFFSET = 2208988800;
const SELECTOR_FLAG = 0x80000000;
const PEN_REVERSE = 29305;

/** Outcome codes, the same numbers as assembly/status.ts (the agreement test compares return values). */
export const enum Status {
  Ok = 0, TruncatedHeader = 1, BadVersion = 2, BadLength = 3, ExporterLimit = 4, DecoderTrap = 5, BadSet = 6,
  BadTemplate = 7, TooManyFields = 8, TemplateLimit = 9, UnknownTemplate = 10, HeldExpired = 11, HeldOverflow = 12,
  BadRecord = 13, OutputFull = 14,
}

const enum Action { Skip = 0, SkipVar = 1, Uint = 2, Addr4 = 3, Addr6 = 4, TimeSec = 5, TimeMs = 6, TimeNtp = 7 }

// Value slots (as assembly/fields.ts): numbers in `vals`, addresses as bytes in `rec`.
const enum Slot {
  Srcp = 0, Dstp = 1, Proto = 2, Flags = 3, Bytes = 4, Pkts = 5, Start = 6, End = 7,
  InIf = 8, OutIf = 9, Tos = 10, SrcAs = 11, DstAs = 12, Vlan = 13,
  IcmpTypeCode = 14, IcmpType = 15, IcmpCode = 16, Direction = 17, Rbytes = 18, Rpkts = 19,
  StartUptime = 20, EndUptime = 21, StartDeltaUs = 22, EndDeltaUs = 23, SysInit = 24,
  SamplingInterval = 25, SamplerRandomInterval = 26, PacketInterval = 27, PacketSpace = 28,
  SamplerId = 29, SelectorId = 30, SamplingSize = 31, SamplingPopulation = 32,
  Src4 = 40, Dst4 = 41, NextHop4 = 42, Src6 = 43, Dst6 = 44, NextHop6 = 45,
}
const NUM_SLOTS = 33;
const PRESENCE_SLOTS = 48;
// Byte offsets of the address slots in `rec`.
const REC_SRC4 = 0, REC_DST4 = 4, REC_NH4 = 8, REC_SRC6 = 16, REC_DST6 = 32, REC_NH6 = 48;

const enum Kind { Data = 1, Options = 2 }

// Counter slots of TsDecoder.counters: statuses 0..15, then these.
export const TS_COUNTER_PACKETS = 16;
export const TS_COUNTER_RECORDS = 20;
export const TS_COUNTER_OPTIONS_RECORDS = 21;
export const TS_COUNTER_TEMPLATES_DEFINED = 22;
export const TS_COUNTER_TEMPLATES_REFRESHED = 23;
export const TS_COUNTER_TEMPLATES_WITHDRAWN = 24;
export const TS_COUNTER_TEMPLATES_EXPIRED = 25;

// ---- Information elements (as assembly/elements.ts): action, slot and rank per element id.

const ELEMENTS = new Uint32Array(512);

function entry(action: Action, slot: Slot, rank: number): number {
  return (0x1000000 | (rank << 16) | (slot << 8) | action) >>> 0;
}

function put(ie: number, action: Action, slot: Slot, rank = 0): void {
  ELEMENTS[ie] = entry(action, slot, rank);
}

put(1, Action.Uint, Slot.Bytes); put(85, Action.Uint, Slot.Bytes, 1);
put(2, Action.Uint, Slot.Pkts); put(86, Action.Uint, Slot.Pkts, 1);
put(4, Action.Uint, Slot.Proto);
put(5, Action.Uint, Slot.Tos);
put(6, Action.Uint, Slot.Flags);
put(7, Action.Uint, Slot.Srcp); put(180, Action.Uint, Slot.Srcp, 1); put(182, Action.Uint, Slot.Srcp, 1);
put(11, Action.Uint, Slot.Dstp); put(181, Action.Uint, Slot.Dstp, 1); put(183, Action.Uint, Slot.Dstp, 1);
put(8, Action.Addr4, Slot.Src4);
put(12, Action.Addr4, Slot.Dst4);
put(15, Action.Addr4, Slot.NextHop4); put(18, Action.Addr4, Slot.NextHop4, 1);
put(27, Action.Addr6, Slot.Src6);
put(28, Action.Addr6, Slot.Dst6);
put(62, Action.Addr6, Slot.NextHop6); put(63, Action.Addr6, Slot.NextHop6, 1);
put(10, Action.Uint, Slot.InIf);
put(14, Action.Uint, Slot.OutIf);
put(16, Action.Uint, Slot.SrcAs);
put(17, Action.Uint, Slot.DstAs);
put(58, Action.Uint, Slot.Vlan); put(243, Action.Uint, Slot.Vlan, 1);
put(32, Action.Uint, Slot.IcmpTypeCode); put(139, Action.Uint, Slot.IcmpTypeCode, 1);
put(176, Action.Uint, Slot.IcmpType); put(178, Action.Uint, Slot.IcmpType, 1);
put(177, Action.Uint, Slot.IcmpCode); put(179, Action.Uint, Slot.IcmpCode, 1);
put(61, Action.Uint, Slot.Direction);
put(150, Action.TimeSec, Slot.Start, 2); put(151, Action.TimeSec, Slot.End, 2);
put(152, Action.TimeMs, Slot.Start); put(153, Action.TimeMs, Slot.End);
put(154, Action.TimeNtp, Slot.Start, 1); put(155, Action.TimeNtp, Slot.End, 1);
put(156, Action.TimeNtp, Slot.Start, 1); put(157, Action.TimeNtp, Slot.End, 1);
put(22, Action.Uint, Slot.StartUptime); put(21, Action.Uint, Slot.EndUptime);
put(158, Action.Uint, Slot.StartDeltaUs); put(159, Action.Uint, Slot.EndDeltaUs);
put(160, Action.Uint, Slot.SysInit);
put(34, Action.Uint, Slot.SamplingInterval);
put(50, Action.Uint, Slot.SamplerRandomInterval);
put(305, Action.Uint, Slot.PacketInterval);
put(306, Action.Uint, Slot.PacketSpace);
put(48, Action.Uint, Slot.SamplerId);
put(302, Action.Uint, Slot.SelectorId);
put(309, Action.Uint, Slot.SamplingSize);
put(310, Action.Uint, Slot.SamplingPopulation);

function lookupElement(ie: number, pen: number): number {
  if (pen === 0) return ie < 512 ? ELEMENTS[ie]! : 0;
  if (pen === PEN_REVERSE) {
    if (ie === 1) return entry(Action.Uint, Slot.Rbytes, 0);
    if (ie === 85) return entry(Action.Uint, Slot.Rbytes, 1);
    if (ie === 2) return entry(Action.Uint, Slot.Rpkts, 0);
    if (ie === 86) return entry(Action.Uint, Slot.Rpkts, 1);
  }
  return 0;
}

function lengthFits(action: number, length: number): boolean {
  switch (action) {
    case Action.Uint: case Action.TimeSec: case Action.TimeMs: return length >= 1 && length <= 8;
    case Action.Addr4: return length === 4;
    case Action.Addr6: return length === 16;
    case Action.TimeNtp: return length === 8;
    default: return true;
  }
}

/** Where a slot's value goes: index into vals, or byte offset into rec for addresses. */
function slotTarget(slot: number): number {
  switch (slot) {
    case Slot.Src4: return REC_SRC4;
    case Slot.Dst4: return REC_DST4;
    case Slot.NextHop4: return REC_NH4;
    case Slot.Src6: return REC_SRC6;
    case Slot.Dst6: return REC_DST6;
    case Slot.NextHop6: return REC_NH6;
    default: return slot;
  }
}

// ---- Text tables.

const enc = new TextEncoder();
const KEY_TEXT = ['{"dvc":', ',"src":', ',"srcp":', ',"dst":', ',"dstp":', ',"proto":', ',"flags":', ',"bytes":',
  ',"pkts":', ',"time":', ',"start":', ',"end":', ',"in_if":', ',"out_if":', ',"tos":', ',"src_as":', ',"dst_as":',
  ',"next_hop":', ',"vlan":', ',"icmp_type":', ',"icmp_code":', ',"direction":', ',"sampling":', ',"rbytes":',
  ',"rpkts":', ',"version":', ',"odid":', ',"tid":'];
const enum Key {
  Dvc = 0, Src, Srcp, Dst, Dstp, Proto, Flags, Bytes, Pkts, Time, Start, End, InIf, OutIf, Tos, SrcAs, DstAs,
  NextHop, Vlan, IcmpType, IcmpCode, Direction, Sampling, Rbytes, Rpkts, Version, Odid, Tid,
}
const KEY_BYTES = enc.encode(KEY_TEXT.join(''));
const KEY_START = new Uint16Array(KEY_TEXT.length + 1);
for (let i = 0, o = 0; i < KEY_TEXT.length; i++) {
  KEY_START[i] = o;
  o += KEY_TEXT[i]!.length;
  KEY_START[i + 1] = o;
}

const PAIRS = new Uint8Array(200); // "00".."99"
for (let i = 0; i < 100; i++) {
  PAIRS[i * 2] = 48 + ((i / 10) | 0);
  PAIRS[i * 2 + 1] = 48 + (i % 10);
}
const OCTETS = new Uint8Array(256 * 4); // up to 3 chars, length in byte 3
for (let i = 0; i < 256; i++) {
  const s = String(i);
  for (let j = 0; j < s.length; j++) OCTETS[i * 4 + j] = s.charCodeAt(j);
  OCTETS[i * 4 + 3] = s.length;
}
const HEX = enc.encode('0123456789abcdef');
const NULL_BYTES = enc.encode('null');
const MAPPED_PREFIX = enc.encode('::ffff:');

function putKey(out: Uint8Array, o: number, key: Key): number {
  const end = KEY_START[key + 1]!;
  for (let i = KEY_START[key]!; i < end; i++) out[o++] = KEY_BYTES[i]!;
  return o;
}

function digits32(v: number): number {
  if (v < 100000) {
    if (v < 100) return v < 10 ? 1 : 2;
    return v < 1000 ? 3 : v < 10000 ? 4 : 5;
  }
  if (v < 10000000) return v < 1000000 ? 6 : 7;
  return v < 100000000 ? 8 : v < 1000000000 ? 9 : 10;
}

/** Writes 0 <= v < 2^32 in decimal. */
function putU32(out: Uint8Array, o: number, v: number): number {
  const n = digits32(v);
  let p = o + n;
  while (v >= 100) {
    const q = (v / 100) >>> 0;
    const r = (v - q * 100) << 1;
    v = q;
    p -= 2;
    out[p] = PAIRS[r]!;
    out[p + 1] = PAIRS[r + 1]!;
  }
  if (v >= 10) {
    out[p - 2] = PAIRS[v << 1]!;
    out[p - 1] = PAIRS[(v << 1) + 1]!;
  } else {
    out[p - 1] = 48 + v;
  }
  return o + n;
}

/** Writes an integer 0 <= v <= 2^53 in decimal. */
function putNum(out: Uint8Array, o: number, v: number): number {
  if (v <= 0xffffffff) return putU32(out, o, v);
  let high = Math.floor(v / 1e9);
  let low = v - high * 1e9;
  if (low < 0) {
    high--;
    low += 1e9;
  }
  o = putU32(out, o, high);
  for (let p = o + 8; p > o; p -= 2) {
    const q = (low / 100) >>> 0;
    const r = (low - q * 100) << 1;
    low = q;
    out[p - 1] = PAIRS[r]!;
    out[p] = PAIRS[r + 1]!;
  }
  out[o] = 48 + low;
  return o + 9;
}

/** Values of 2^53 and above (rare: 8-byte counters near their wrap) go through BigInt. */
function putBig(out: Uint8Array, o: number, v: bigint): number {
  const s = v.toString();
  for (let i = 0; i < s.length; i++) out[o++] = s.charCodeAt(i);
  return o;
}

function putIPv4(out: Uint8Array, o: number, a: Uint8Array, off: number): number {
  for (let i = 0; i < 4; i++) {
    const t = a[off + i]! << 2;
    const n = OCTETS[t + 3]!;
    out[o] = OCTETS[t]!;
    if (n > 1) out[o + 1] = OCTETS[t + 1]!;
    if (n > 2) out[o + 2] = OCTETS[t + 2]!;
    o += n;
    out[o++] = 46; // '.'
  }
  return o - 1;
}

function isMapped(a: Uint8Array, off: number): boolean {
  for (let i = 0; i < 10; i++) if (a[off + i] !== 0) return false;
  return a[off + 10] === 0xff && a[off + 11] === 0xff;
}

/** RFC 5952 text of the 16-byte address at a[off]; IPv4-mapped as ::ffff:a.b.c.d. */
function putIPv6(out: Uint8Array, o: number, a: Uint8Array, off: number): number {
  if (isMapped(a, off)) {
    for (let i = 0; i < 7; i++) out[o + i] = MAPPED_PREFIX[i]!;
    return putIPv4(out, o + 7, a, off + 12);
  }
  let bestStart = -1, bestLen = 0, runStart = -1;
  for (let i = 0; i < 8; i++) {
    if (a[off + 2 * i] === 0 && a[off + 2 * i + 1] === 0) {
      if (runStart < 0) runStart = i;
      const len = i - runStart + 1;
      if (len > bestLen) { bestLen = len; bestStart = runStart; }
    } else {
      runStart = -1;
    }
  }
  if (bestLen < 2) bestStart = -1;
  let i = 0;
  while (i < 8) {
    if (i === bestStart) {
      out[o++] = 58;
      out[o++] = 58;
      i += bestLen;
      continue;
    }
    if (i > 0 && i !== bestStart + bestLen) out[o++] = 58;
    const g = (a[off + 2 * i]! << 8) | a[off + 2 * i + 1]!;
    let started = false;
    for (let shift = 12; shift >= 0; shift -= 4) {
      const d = (g >>> shift) & 15;
      if (d !== 0 || started || shift === 0) {
        out[o++] = HEX[d]!;
        started = true;
      }
    }
    i++;
  }
  return o;
}

function mix(h: number, v: number): number {
  h ^= Math.imul(v, 0xcc9e2d51);
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

// ---- Templates and sessions.

class Template {
  /** Steps: length (0xffff = variable) | action << 16 | target << 24. */
  readonly steps: Uint32Array;
  stepCount = 0;
  minLen = 0;
  hasVar = false;
  /** 1 per value slot the template's records fill. */
  readonly present = new Uint8Array(PRESENCE_SLOTS);
  lastSeen = 0;
  constructor(readonly kind: Kind, fieldCount: number, readonly spec: Uint8Array) {
    this.steps = new Uint32Array(Math.max(fieldCount, 1));
  }
}

class Session {
  readonly templates = new Map<number, Template>();
  readonly samplers = new Map<number, number>();
  sysInitMs = 0;
  hasSysInit = false;
  defaultRate = 0;
  lastSeen = 0;
  readonly addr = new Uint8Array(16);
  constructor(addr: Uint8Array, readonly port: number, readonly domain: number) {
    this.addr.set(addr);
  }
}

function sessionKey(a: Uint8Array, port: number, domain: number): string {
  return String.fromCharCode((a[0]! << 8) | a[1]!, (a[2]! << 8) | a[3]!, (a[4]! << 8) | a[5]!, (a[6]! << 8) | a[7]!,
    (a[8]! << 8) | a[9]!, (a[10]! << 8) | a[11]!, (a[12]! << 8) | a[13]!, (a[14]! << 8) | a[15]!,
    port, domain >>> 16, domain & 0xffff);
}

// NetFlow v5 records fill a fixed set of slots: a pseudo template holding only the presence.
const V5_TEMPLATE = new Template(Kind.Data, 1, new Uint8Array(0));
for (const s of [Slot.Src4, Slot.Dst4, Slot.NextHop4, Slot.InIf, Slot.OutIf, Slot.Pkts, Slot.Bytes, Slot.StartUptime,
  Slot.EndUptime, Slot.Srcp, Slot.Dstp, Slot.Flags, Slot.Proto, Slot.Tos, Slot.SrcAs, Slot.DstAs]) V5_TEMPLATE.present[s] = 1;

export interface TsDecoderOptions {
  /** Seconds after which a template not sent again is forgotten; 0 = never. */
  templateLifetimeSec: number;
  ignoreExporterPort: boolean;
  maxTemplatesPerExporter: number;
}

export class TsDecoder {
  /** JSON lines written by the last decode(), each ending in "\n". */
  readonly output = new Uint8Array(OUT_CAPACITY + OUT_SLACK);
  readonly #entries = new Uint32Array(MAX_RECORDS_OUT * 3);
  /** Per record of the last decode(): [offset of its "\n" in output, flow hash, route 0: no options records]. */
  readonly index: RecordIndex = { entries: this.#entries, stride: 3, endAt: 0, hashAt: 1, routeAt: 2, routeOptions: 2 ** 31, gap: 1 };
  /** Status events at 0..15, then the TS_COUNTER_* slots. */
  readonly counters = new Float64Array(32);

  readonly #input = new Uint8Array(IN_CAPACITY + 64);
  readonly #dv = new DataView(this.#input.buffer);
  /** Numeric values of the record being decoded; -1 marks a value >= 2^53 kept in #big. */
  readonly #vals = new Float64Array(NUM_SLOTS);
  readonly #big: bigint[] = new Array<bigint>(NUM_SLOTS).fill(0n);
  /** Address values of the record being decoded, as bytes (see REC_*). */
  readonly #rec = new Uint8Array(64);
  readonly #recView = new DataView(this.#rec.buffer);
  readonly #dvc = new Uint8Array(48);
  #dvcLen = 0;
  readonly #sessions = new Map<string, Session>();
  #lastSession: Session | undefined;
  #session!: Session;
  #templateCount = 0;
  readonly #lifetimeMs: number;
  readonly #ignorePort: boolean;
  readonly #perSession: number;
  // Compile scratch: per slot, the rank and step index of the element that owns it.
  readonly #ownerRank = new Uint8Array(PRESENCE_SLOTS);
  readonly #ownerStep = new Uint16Array(PRESENCE_SLOTS);

  // What the message header says.
  #version = 0;
  #domain = 0;
  #tid = 0;
  #timeMs = 0;
  #baseMs = 0;
  #uptime = 0;
  #headerRate = 0;
  #nowMs = 0;
  #port = 0;
  #address: Uint8Array = new Uint8Array(16);
  #bigTime = 0n;

  #outPos = 0;
  #records = 0;

  constructor(options: Partial<TsDecoderOptions> = {}) {
    const lifetime = options.templateLifetimeSec ?? 1800;
    this.#lifetimeMs = lifetime * 1000;
    this.#ignorePort = options.ignoreExporterPort ?? false;
    this.#perSession = options.maxTemplatesPerExporter || 256;
  }

  /** Bytes of output written by the last decode(). */
  outputLength(): number {
    return this.#outPos;
  }

  /**
   * Decodes one datagram from `address` (16 bytes; IPv4 as ::ffff:a.b.c.d) and UDP `port`,
   * received at `nowMs`. Returns the number of records in `output` / `index`, or -status.
   */
  decode(datagram: Uint8Array, address: Uint8Array, port: number, nowMs: number): number {
    this.#outPos = 0;
    this.#records = 0;
    const len = datagram.length;
    let status: Status = Status.TruncatedHeader;
    if (len > IN_CAPACITY) {
      status = Status.BadLength;
    } else if (len >= 2) {
      this.#input.set(datagram);
      this.#nowMs = nowMs;
      this.#port = port & 0xffff;
      this.#address = address;
      this.#writeDvc(address);
      const version = this.#dv.getUint16(0);
      if (version === 10) status = this.#decodeIpfix(len);
      else if (version === 9) status = this.#decodeV9(len);
      else if (version === 5) status = this.#decodeV5(len);
      else status = Status.BadVersion;
    }
    if (status !== Status.Ok) {
      this.counters[status]++;
      return -status;
    }
    return this.#records;
  }

  #writeDvc(a: Uint8Array): void {
    const d = this.#dvc;
    d[0] = 34;
    const o = isMapped(a, 0) ? putIPv4(d, 1, a, 12) : putIPv6(d, 1, a, 0);
    d[o] = 34;
    this.#dvcLen = o + 1;
  }

  #openSession(domain: number): boolean {
    const a = this.#address;
    const port = this.#ignorePort ? 0 : this.#port;
    let s = this.#lastSession;
    if (s === undefined || s.port !== port || s.domain !== domain || !sameAddress(s.addr, a)) {
      const key = sessionKey(a, port, domain);
      s = this.#sessions.get(key);
      if (s === undefined) {
        if (this.#sessions.size >= MAX_SESSIONS) return false;
        s = new Session(a, port, domain);
        this.#sessions.set(key, s);
      }
      this.#lastSession = s;
    }
    this.#session = s;
    this.#domain = domain;
    s.lastSeen = this.#nowMs;
    return true;
  }

  #decodeIpfix(len: number): Status {
    if (len < 16) return Status.TruncatedHeader;
    const dv = this.#dv;
    const msgLen = dv.getUint16(2);
    if (msgLen < 16 || msgLen > len) return Status.BadLength;
    this.#version = 10;
    this.#timeMs = dv.getUint32(4) * 1000;
    this.#baseMs = this.#timeMs;
    this.#uptime = 0;
    this.#headerRate = 0;
    if (!this.#openSession(dv.getUint32(12))) return Status.ExporterLimit;
    this.counters[TS_COUNTER_PACKETS]++;
    let p = 16;
    while (p + 4 <= msgLen) {
      const id = dv.getUint16(p);
      const setLen = dv.getUint16(p + 2);
      if (setLen < 4 || p + setLen > msgLen) {
        this.counters[Status.BadSet]++;
        break;
      }
      if (id === 2) this.#templateSet(p + 4, p + setLen, false, true);
      else if (id === 3) this.#templateSet(p + 4, p + setLen, true, true);
      else if (id >= 256) this.#dataSet(id, p + 4, p + setLen);
      p += setLen;
    }
    return Status.Ok;
  }

  #decodeV9(len: number): Status {
    if (len < 20) return Status.TruncatedHeader;
    const dv = this.#dv;
    this.#version = 9;
    this.#uptime = dv.getUint32(4);
    this.#timeMs = dv.getUint32(8) * 1000;
    this.#baseMs = this.#timeMs;
    this.#headerRate = 0;
    if (!this.#openSession(dv.getUint32(16))) return Status.ExporterLimit;
    this.counters[TS_COUNTER_PACKETS]++;
    // The header count is not trusted (softflowd leaves template records out of it).
    let p = 20;
    while (p + 4 <= len) {
      const id = dv.getUint16(p);
      const setLen = dv.getUint16(p + 2);
      if (setLen < 4 || p + setLen > len) {
        this.counters[Status.BadSet]++;
        break;
      }
      if (id === 0) this.#templateSet(p + 4, p + setLen, false, false);
      else if (id === 1) this.#v9OptionsTemplateSet(p + 4, p + setLen);
      else if (id >= 256) this.#dataSet(id, p + 4, p + setLen);
      p += setLen;
    }
    return Status.Ok;
  }

  #decodeV5(len: number): Status {
    if (len < 24) return Status.TruncatedHeader;
    const dv = this.#dv;
    const count = dv.getUint16(2);
    if (count === 0 || 24 + count * 48 > len) return Status.BadLength;
    this.#version = 5;
    this.#uptime = dv.getUint32(4);
    this.#timeMs = dv.getUint32(8) * 1000 + Math.floor(dv.getUint32(12) / 1000000);
    this.#baseMs = this.#timeMs;
    this.#tid = 0;
    this.#headerRate = dv.getUint16(22) & 0x3fff;
    if (!this.#openSession(dv.getUint16(20))) return Status.ExporterLimit;
    this.counters[TS_COUNTER_PACKETS]++;
    const v = this.#vals, rv = this.#recView, s = this.#session;
    for (let i = 0; i < count; i++) {
      const r = 24 + i * 48;
      rv.setUint32(REC_SRC4, dv.getUint32(r));
      rv.setUint32(REC_DST4, dv.getUint32(r + 4));
      rv.setUint32(REC_NH4, dv.getUint32(r + 8));
      v[Slot.InIf] = dv.getUint16(r + 12);
      v[Slot.OutIf] = dv.getUint16(r + 14);
      v[Slot.Pkts] = dv.getUint32(r + 16);
      v[Slot.Bytes] = dv.getUint32(r + 20);
      v[Slot.StartUptime] = dv.getUint32(r + 24);
      v[Slot.EndUptime] = dv.getUint32(r + 28);
      v[Slot.Srcp] = dv.getUint16(r + 32);
      v[Slot.Dstp] = dv.getUint16(r + 34);
      v[Slot.Flags] = dv.getUint8(r + 37);
      v[Slot.Proto] = dv.getUint8(r + 38);
      v[Slot.Tos] = dv.getUint8(r + 39);
      v[Slot.SrcAs] = dv.getUint16(r + 40);
      v[Slot.DstAs] = dv.getUint16(r + 42);
      if (this.#emitRecord(V5_TEMPLATE, s)) this.counters[TS_COUNTER_RECORDS]++;
      else this.counters[Status.OutputFull]++;
    }
    return Status.Ok;
  }

  // ---- Sets (RFC 7011 section 3.3; RFC 3954 section 5).

  /** IPFIX template set (2) or options template set (3); NetFlow v9 template flowset (0). */
  #templateSet(p: number, end: number, options: boolean, ipfix: boolean): void {
    const dv = this.#dv;
    const header = options ? 6 : 4;
    while (p + 4 <= end) {
      const tid = dv.getUint16(p);
      const count = dv.getUint16(p + 2);
      if (count === 0) {
        this.#withdraw(tid, options ? Kind.Options : Kind.Data);
        p += 4;
        continue;
      }
      if (tid < 256 || p + header > end) {
        this.counters[Status.BadTemplate]++;
        return;
      }
      const scope = options ? dv.getUint16(p + 4) : 0;
      // The field specifiers' end, each checked against the set's end.
      let q = p + header;
      let fieldsEnd = q;
      for (let i = 0; i < count; i++) {
        if (q + 4 > end) { fieldsEnd = 0; break; }
        const ie = dv.getUint16(q);
        q += 4;
        if (ipfix && (ie & 0x8000) !== 0) {
          if (q + 4 > end) { fieldsEnd = 0; break; }
          q += 4;
        }
        fieldsEnd = q;
      }
      if (fieldsEnd === 0) {
        this.counters[Status.BadTemplate]++;
        return;
      }
      if (options && (scope === 0 || scope > count)) {
        this.counters[Status.BadTemplate]++; // RFC 7011 section 3.4.2.2: scope count is 1..field count
      } else if (count > MAX_FIELDS) {
        this.counters[Status.TooManyFields]++;
      } else {
        this.#define(tid, options ? Kind.Options : Kind.Data, p + header, fieldsEnd, count, scope, ipfix, false);
      }
      p = fieldsEnd;
    }
  }

  /** NetFlow v9 options template flowset (1): scope and option lengths in bytes, then padding. */
  #v9OptionsTemplateSet(p: number, end: number): void {
    const dv = this.#dv;
    while (p + 6 <= end) {
      const tid = dv.getUint16(p);
      const scopeLen = dv.getUint16(p + 2);
      const optionLen = dv.getUint16(p + 4);
      if (tid < 256 || (scopeLen & 3) !== 0 || (optionLen & 3) !== 0 || scopeLen === 0) {
        if (tid !== 0) this.counters[Status.BadTemplate]++;
        return;
      }
      const fieldsEnd = p + 6 + scopeLen + optionLen;
      if (fieldsEnd > end) {
        this.counters[Status.BadTemplate]++;
        return;
      }
      const count = (scopeLen + optionLen) >>> 2;
      if (count > MAX_FIELDS) this.counters[Status.TooManyFields]++;
      else this.#define(tid, Kind.Options, p + 6, fieldsEnd, count, scopeLen >>> 2, false, true);
      p = fieldsEnd;
    }
  }

  /** Withdraws one template of the session, or all of one kind (RFC 7011 section 8.1). */
  #withdraw(tid: number, kind: Kind): void {
    const templates = this.#session.templates;
    if (tid === 2 || tid === 3) {
      for (const [id, t] of templates) {
        if (t.kind !== kind) continue;
        templates.delete(id);
        this.#templateCount--;
        this.counters[TS_COUNTER_TEMPLATES_WITHDRAWN]++;
      }
      return;
    }
    if (templates.delete(tid)) {
      this.#templateCount--;
      this.counters[TS_COUNTER_TEMPLATES_WITHDRAWN]++;
    }
  }

  /** Defines (or refreshes) template `tid` from the field specifiers at [start, end). */
  #define(tid: number, kind: Kind, start: number, end: number, count: number, scopeCount: number, ipfix: boolean, v9Scope: boolean): void {
    const templates = this.#session.templates;
    const input = this.#input;
    const old = templates.get(tid);
    if (old !== undefined) {
      if (old.kind === kind && sameBytes(old.spec, input, start, end)) {
        old.lastSeen = this.#nowMs;
        this.counters[TS_COUNTER_TEMPLATES_REFRESHED]++;
        return;
      }
    } else if (templates.size >= this.#perSession || this.#templateCount >= MAX_TEMPLATES) {
      this.counters[Status.TemplateLimit]++;
      return;
    }
    const t = this.#compile(kind, start, count, scopeCount, ipfix, v9Scope, input.slice(start, end));
    if (t === undefined) {
      if (old !== undefined) {
        templates.delete(tid);
        this.#templateCount--;
      }
      this.counters[Status.BadTemplate]++;
      return;
    }
    if (old === undefined) this.#templateCount++;
    templates.set(tid, t);
    this.counters[TS_COUNTER_TEMPLATES_DEFINED]++;
  }

  /**
   * Compiles field specifiers into steps: elements the decoder keeps read into their slot,
   * the rest skipped by length (adjacent skips merged), the losing one of two elements for
   * a slot turned into a skip. Undefined for a template whose records would be empty.
   */
  #compile(kind: Kind, p: number, count: number, scopeCount: number, ipfix: boolean, v9Scope: boolean, spec: Uint8Array): Template | undefined {
    const dv = this.#dv;
    const t = new Template(kind, count, spec);
    const steps = t.steps;
    const ownerRank = this.#ownerRank.fill(0xff);
    const ownerStep = this.#ownerStep;
    let n = 0, minLen = 0;
    for (let i = 0; i < count; i++) {
      let ie = dv.getUint16(p);
      const length = dv.getUint16(p + 2);
      p += 4;
      let pen = 0;
      if (ipfix && (ie & 0x8000) !== 0) {
        ie &= 0x7fff;
        pen = dv.getUint32(p);
        p += 4;
      }
      if (length === VARLEN) {
        t.hasVar = true;
        minLen += 1;
        steps[n++] = VARLEN | (Action.SkipVar << 16);
        continue;
      }
      minLen += length;
      const e = v9Scope && i < scopeCount ? 0 : lookupElement(ie, pen);
      const action = e & 0xff;
      if (e === 0 || !lengthFits(action, length) || length === 0) {
        steps[n++] = length;
        continue;
      }
      const slot = (e >>> 8) & 0xff;
      const rank = (e >>> 16) & 0xff;
      const owner = ownerRank[slot]!;
      if (owner !== 0xff && owner <= rank) {
        steps[n++] = length; // a repeated or lower-ranked element: the first or better one stays
        continue;
      }
      if (owner !== 0xff) {
        const j = ownerStep[slot]!;
        steps[j] = steps[j]! & 0xffff; // the earlier element ranks lower: it becomes a skip
      }
      ownerRank[slot] = rank;
      ownerStep[slot] = n;
      t.present[slot] = 1;
      steps[n++] = (length | (action << 16) | (slotTarget(slot) << 24)) >>> 0;
    }
    // Merge runs of fixed skips in place.
    let w = 0;
    for (let r = 0; r < n; r++) {
      const step = steps[r]!;
      if ((step >>> 16) === Action.Skip && w > 0) {
        const prev = steps[w - 1]!;
        if ((prev >>> 16) === Action.Skip && prev + step < VARLEN) {
          steps[w - 1] = prev + step;
          continue;
        }
      }
      steps[w++] = step;
    }
    t.stepCount = w;
    t.minLen = minLen > 0xffff ? 0xffff : minLen;
    t.lastSeen = this.#nowMs;
    return minLen > 0 && minLen < 0xffff ? t : undefined;
  }

  /** A data set (id >= 256), decoded with its template; dropped when the template is not known. */
  #dataSet(tid: number, p: number, end: number): void {
    this.#tid = tid;
    const s = this.#session;
    let t = s.templates.get(tid);
    if (t !== undefined && this.#lifetimeMs > 0 && this.#nowMs - t.lastSeen > this.#lifetimeMs) {
      s.templates.delete(tid);
      this.#templateCount--;
      this.counters[TS_COUNTER_TEMPLATES_EXPIRED]++;
      t = undefined;
    }
    if (t === undefined) {
      this.counters[Status.UnknownTemplate]++;
      return;
    }
    const minLen = t.minLen;
    const options = t.kind === Kind.Options;
    // Fewer bytes left than the shortest record: set padding (RFC 7011 section 3.3.1).
    while (p + minLen <= end) {
      const next = this.#runRecord(t, p, end);
      if (next < 0) {
        this.counters[Status.BadRecord]++;
        break;
      }
      if (options) {
        this.#applyOptions(t, s);
        this.counters[TS_COUNTER_OPTIONS_RECORDS]++;
      } else if (this.#emitRecord(t, s)) {
        this.counters[TS_COUNTER_RECORDS]++;
      } else {
        this.counters[Status.OutputFull]++;
      }
      p = next;
    }
  }

  // ---- Records.

  /** Reads one record at p (not past end) into the value slots. Returns the next record's offset, or -1. */
  #runRecord(t: Template, p: number, end: number): number {
    const checkEach = t.hasVar;
    if (!checkEach && p + t.minLen > end) return -1;
    const dv = this.#dv, input = this.#input, vals = this.#vals, rv = this.#recView;
    const steps = t.steps, n = t.stepCount;
    for (let i = 0; i < n; i++) {
      const step = steps[i]!;
      let len = step & 0xffff;
      const action = (step >>> 16) & 0xff;
      const dst = step >>> 24;
      if (action === Action.SkipVar) {
        // RFC 7011 section 7: 1-byte length, or 255 then a 2-byte length.
        if (p >= end) return -1;
        len = input[p++]!;
        if (len === 255) {
          if (p + 2 > end) return -1;
          len = dv.getUint16(p);
          p += 2;
        }
        if (p + len > end) return -1;
        p += len;
        continue;
      }
      if (checkEach && p + len > end) return -1;
      switch (action) {
        case Action.Skip: break;
        case Action.Uint:
        case Action.TimeMs:
          if (len === 4) vals[dst] = dv.getUint32(p);
          else if (len === 2) vals[dst] = dv.getUint16(p);
          else if (len === 1) vals[dst] = input[p]!;
          else this.#readWide(p, len, dst);
          break;
        case Action.Addr4:
          rv.setUint32(dst, dv.getUint32(p));
          break;
        case Action.Addr6:
          rv.setUint32(dst, dv.getUint32(p));
          rv.setUint32(dst + 4, dv.getUint32(p + 4));
          rv.setUint32(dst + 8, dv.getUint32(p + 8));
          rv.setUint32(dst + 12, dv.getUint32(p + 12));
          break;
        case Action.TimeSec: {
          if (len === 4) {
            vals[dst] = dv.getUint32(p) * 1000;
            break;
          }
          this.#readWide(p, len, dst);
          const secs = vals[dst]!;
          if (secs >= 0 && secs <= MAX_SAFE / 1000) vals[dst] = secs * 1000;
          else this.#setBig(dst, BigInt.asUintN(64, this.#u64(dst) * 1000n));
          break;
        }
        case Action.TimeNtp: {
          // dateTimeMicro/Nanoseconds: NTP seconds since 1900 and a 32-bit fraction.
          const secs = dv.getUint32(p);
          const frac = dv.getUint32(p + 4);
          vals[dst] = (secs >= NTP_UNIX_OFFSET ? secs - NTP_UNIX_OFFSET : 0) * 1000 + Math.floor(frac * 1000 / TWO_32);
          break;
        }
        default: break;
      }
      p += len;
    }
    return p;
  }

  /** An unsigned big-endian integer of 1 to 8 bytes into slot dst (the Uint case of #runRecord, out of line). */
  #readWide(p: number, len: number, dst: number): void {
    const input = this.#input;
    if (len <= 4) {
      let v = 0;
      for (let i = 0; i < len; i++) v = v * 256 + input[p + i]!;
      this.#vals[dst] = v;
      return;
    }
    let hi = 0;
    for (let i = 0; i < len - 4; i++) hi = hi * 256 + input[p + i]!;
    const lo = this.#dv.getUint32(p + len - 4);
    if (hi < 0x200000) this.#vals[dst] = hi * TWO_32 + lo;
    else this.#setBig(dst, (BigInt(hi) << 32n) | BigInt(lo));
  }

  #setBig(dst: number, v: bigint): void {
    if (v <= BigInt(MAX_SAFE)) {
      this.#vals[dst] = Number(v);
    } else {
      this.#vals[dst] = -1;
      this.#big[dst] = v;
    }
  }

  /** The value of a slot truncated to 32 bits (as the decoder's <u32> casts). */
  #u32(slot: Slot): number {
    const v = this.#vals[slot]!;
    return v >= 0 ? v >>> 0 : Number(BigInt.asUintN(32, this.#big[slot]!));
  }

  #u64(slot: Slot): bigint {
    const v = this.#vals[slot]!;
    return v >= 0 ? BigInt(v) : this.#big[slot]!;
  }

  #putSlot(o: number, slot: Slot): number {
    const v = this.#vals[slot]!;
    return v >= 0 ? putNum(this.output, o, v) : putBig(this.output, o, this.#big[slot]!);
  }

  /** A rate from the sampling elements of one record: 34, 50, 305/306 or 309/310. */
  #rateFromValues(pr: Uint8Array): number {
    const v = this.#vals;
    if (pr[Slot.SamplingInterval] && v[Slot.SamplingInterval] !== 0) return this.#u32(Slot.SamplingInterval);
    if (pr[Slot.SamplerRandomInterval] && v[Slot.SamplerRandomInterval] !== 0) return this.#u32(Slot.SamplerRandomInterval);
    if (pr[Slot.PacketInterval] && v[Slot.PacketInterval] !== 0) {
      const interval = v[Slot.PacketInterval]!;
      const space = pr[Slot.PacketSpace] ? v[Slot.PacketSpace]! : 0;
      if (interval >= 0 && space >= 0 && interval + space <= MAX_SAFE) return Math.floor((interval + space) / interval) >>> 0;
      const i = this.#u64(Slot.PacketInterval);
      const sp = pr[Slot.PacketSpace] ? this.#u64(Slot.PacketSpace) : 0n;
      return Number(BigInt.asUintN(32, BigInt.asUintN(64, i + sp) / i));
    }
    if (pr[Slot.SamplingSize] && pr[Slot.SamplingPopulation] && v[Slot.SamplingSize] !== 0) {
      const size = v[Slot.SamplingSize]!, population = v[Slot.SamplingPopulation]!;
      if (size >= 0 && population >= 0) return Math.floor(population / size) >>> 0;
      return Number(BigInt.asUintN(32, this.#u64(Slot.SamplingPopulation) / this.#u64(Slot.SamplingSize)));
    }
    return 0;
  }

  /** The sampling rate in force for the record just read (0 = not known). */
  #samplingRate(pr: Uint8Array, s: Session): number {
    let rate = 0;
    if (pr[Slot.SamplerId]) rate = s.samplers.get(this.#u32(Slot.SamplerId) & 0x7fffffff) ?? 0;
    else if (pr[Slot.SelectorId]) rate = s.samplers.get((SELECTOR_FLAG | (this.#u32(Slot.SelectorId) & 0x7fffffff)) >>> 0) ?? 0;
    if (rate === 0) rate = this.#rateFromValues(pr);
    if (rate === 0) rate = this.#headerRate;
    if (rate === 0) rate = s.defaultRate;
    return rate;
  }

  /** Takes in what an options record says about its exporter: system init time, sampling. */
  #applyOptions(t: Template, s: Session): void {
    const pr = t.present;
    if (pr[Slot.SysInit]) {
      s.sysInitMs = Number(this.#u64(Slot.SysInit));
      s.hasSysInit = true;
    }
    const rate = this.#rateFromValues(pr);
    if (rate === 0) return;
    let id = -1;
    if (pr[Slot.SamplerId]) id = this.#u32(Slot.SamplerId) & 0x7fffffff;
    else if (pr[Slot.SelectorId]) id = (SELECTOR_FLAG | (this.#u32(Slot.SelectorId) & 0x7fffffff)) >>> 0;
    if (id < 0) s.defaultRate = rate;
    else if (s.samplers.size < MAX_SAMPLERS || s.samplers.has(id)) s.samplers.set(id, rate);
  }

  /**
   * Absolute time in ms of a record's start (or end): >= 0, negative when the record has
   * none, NaN when it is >= 2^53 (then in #bigTime).
   */
  #recordTime(pr: Uint8Array, abs: Slot, uptime: Slot, delta: Slot, s: Session): number {
    const v = this.#vals;
    if (pr[abs]) {
      const x = v[abs]!;
      return x >= 0 ? x : this.#bigResult(this.#big[abs]!);
    }
    if (pr[uptime]) {
      const up = this.#u32(uptime);
      if (this.#version === 10) {
        if (pr[Slot.SysInit]) {
          const init = v[Slot.SysInit]!;
          if (init >= 0 && init + up <= MAX_SAFE) return init + up;
          return this.#bigResult(BigInt.asUintN(64, this.#u64(Slot.SysInit) + BigInt(up)));
        }
        if (s.hasSysInit) {
          // Kept as f64, as the decoder does; its i64 conversion saturates at 2^63 - 1.
          const init = s.sysInitMs;
          if (init + up <= MAX_SAFE) return init + up;
          const whole = init >= 2 ** 63 ? (1n << 63n) - 1n : BigInt(init);
          return this.#bigResult(BigInt.asUintN(64, whole + BigInt(up)));
        }
        return -1;
      }
      // NetFlow v9 / v5: the switch times are sysUptime values of the export header's clock.
      return this.#baseMs - ((this.#uptime - up) >>> 0);
    }
    if (pr[delta]) {
      // A delta of 2^53 us or more reaches back before 1970: no time, as in the decoder.
      const d = v[delta]!;
      return d >= 0 ? this.#timeMs - Math.floor(d / 1000) : -1;
    }
    return -1;
  }

  /** A u64 result as the decoder's i64: negative (not written) at 2^63 and above. */
  #bigResult(v: bigint): number {
    if (v >= 1n << 63n) return -1;
    if (v <= BigInt(MAX_SAFE)) return Number(v);
    this.#bigTime = v;
    return NaN;
  }

  #putAddr(o: number, pr: Uint8Array, v4: Slot, off4: number, v6: Slot, off6: number): number {
    const out = this.output;
    if (pr[v6] && (!pr[v4] || this.#recView.getUint32(off4) === 0)) {
      out[o] = 34;
      o = putIPv6(out, o + 1, this.#rec, off6);
      out[o] = 34;
      return o + 1;
    }
    if (pr[v4]) {
      out[o] = 34;
      o = putIPv4(out, o + 1, this.#rec, off4);
      out[o] = 34;
      return o + 1;
    }
    for (let i = 0; i < 4; i++) out[o + i] = NULL_BYTES[i]!;
    return o + 4;
  }

  #putTime(o: number, key: Key, t: number): number {
    if (t >= 0) return putNum(this.output, putKey(this.output, o, key), t);
    if (t !== t) return putBig(this.output, putKey(this.output, o, key), this.#bigTime);
    return o;
  }

  /** Writes the record just read as a JSON line; false (and nothing written) when the output is full. */
  #emitRecord(t: Template, s: Session): boolean {
    const start = this.#outPos;
    if (start + OUT_SLACK > OUT_CAPACITY || this.#records >= MAX_RECORDS_OUT) return false;
    const out = this.output;
    const pr = t.present;
    const v = this.#vals;
    let o = putKey(out, start, Key.Dvc);
    const dvc = this.#dvc;
    for (let i = 0, n = this.#dvcLen; i < n; i++) out[o++] = dvc[i]!;
    // KFlow's ten: always written (0 or null when the template does not carry them).
    o = this.#putAddr(putKey(out, o, Key.Src), pr, Slot.Src4, REC_SRC4, Slot.Src6, REC_SRC6);
    o = putKey(out, o, Key.Srcp);
    o = pr[Slot.Srcp] ? this.#putSlot(o, Slot.Srcp) : putU32(out, o, 0);
    o = this.#putAddr(putKey(out, o, Key.Dst), pr, Slot.Dst4, REC_DST4, Slot.Dst6, REC_DST6);
    o = putKey(out, o, Key.Dstp);
    o = pr[Slot.Dstp] ? this.#putSlot(o, Slot.Dstp) : putU32(out, o, 0);
    o = putKey(out, o, Key.Proto);
    o = pr[Slot.Proto] ? this.#putSlot(o, Slot.Proto) : putU32(out, o, 0);
    o = putKey(out, o, Key.Flags);
    o = pr[Slot.Flags] ? this.#putSlot(o, Slot.Flags) : putU32(out, o, 0);
    o = putKey(out, o, Key.Bytes);
    o = pr[Slot.Bytes] ? this.#putSlot(o, Slot.Bytes) : putU32(out, o, 0);
    o = putKey(out, o, Key.Pkts);
    o = pr[Slot.Pkts] ? this.#putSlot(o, Slot.Pkts) : putU32(out, o, 0);
    o = putNum(out, putKey(out, o, Key.Time), this.#timeMs);
    // The rest only when the record has them.
    o = this.#putTime(o, Key.Start, this.#recordTime(pr, Slot.Start, Slot.StartUptime, Slot.StartDeltaUs, s));
    o = this.#putTime(o, Key.End, this.#recordTime(pr, Slot.End, Slot.EndUptime, Slot.EndDeltaUs, s));
    if (pr[Slot.InIf]) o = this.#putSlot(putKey(out, o, Key.InIf), Slot.InIf);
    if (pr[Slot.OutIf]) o = this.#putSlot(putKey(out, o, Key.OutIf), Slot.OutIf);
    if (pr[Slot.Tos]) o = this.#putSlot(putKey(out, o, Key.Tos), Slot.Tos);
    if (pr[Slot.SrcAs]) o = this.#putSlot(putKey(out, o, Key.SrcAs), Slot.SrcAs);
    if (pr[Slot.DstAs]) o = this.#putSlot(putKey(out, o, Key.DstAs), Slot.DstAs);
    if (pr[Slot.NextHop4] || pr[Slot.NextHop6]) {
      o = this.#putAddr(putKey(out, o, Key.NextHop), pr, Slot.NextHop4, REC_NH4, Slot.NextHop6, REC_NH6);
    }
    if (pr[Slot.Vlan]) o = this.#putSlot(putKey(out, o, Key.Vlan), Slot.Vlan);
    if (pr[Slot.IcmpTypeCode]) {
      const tc = this.#u32(Slot.IcmpTypeCode);
      o = putU32(out, putKey(out, o, Key.IcmpType), (tc >>> 8) & 0xff);
      o = putU32(out, putKey(out, o, Key.IcmpCode), tc & 0xff);
    } else if (pr[Slot.IcmpType]) {
      o = this.#putSlot(putKey(out, o, Key.IcmpType), Slot.IcmpType);
      o = putKey(out, o, Key.IcmpCode);
      o = pr[Slot.IcmpCode] ? this.#putSlot(o, Slot.IcmpCode) : putU32(out, o, 0);
    } else if (pr[Slot.Proto] && (v[Slot.Proto] === 1 || v[Slot.Proto] === 58) && pr[Slot.Dstp] &&
      (!pr[Slot.Srcp] || v[Slot.Srcp] === 0)) {
      // NetFlow v5 and many v9 exporters carry ICMP type * 256 + code in the destination port.
      const tc = this.#u32(Slot.Dstp);
      o = putU32(out, putKey(out, o, Key.IcmpType), (tc >>> 8) & 0xff);
      o = putU32(out, putKey(out, o, Key.IcmpCode), tc & 0xff);
    }
    if (pr[Slot.Direction]) o = this.#putSlot(putKey(out, o, Key.Direction), Slot.Direction);
    const rate = this.#samplingRate(pr, s);
    if (rate > 0) o = putU32(out, putKey(out, o, Key.Sampling), rate);
    if (pr[Slot.Rbytes]) o = this.#putSlot(putKey(out, o, Key.Rbytes), Slot.Rbytes);
    if (pr[Slot.Rpkts]) o = this.#putSlot(putKey(out, o, Key.Rpkts), Slot.Rpkts);
    o = putU32(out, putKey(out, o, Key.Version), this.#version);
    o = putU32(out, putKey(out, o, Key.Odid), this.#domain);
    if (this.#version !== 5) o = putU32(out, putKey(out, o, Key.Tid), this.#tid);
    out[o] = 125; // }
    out[o + 1] = 10; // \n
    const e = this.#records * 3;
    this.#entries[e] = o + 1;
    this.#entries[e + 1] = this.#flowHash(pr);
    this.#entries[e + 2] = 0;
    this.#outPos = o + 2;
    this.#records++;
    return true;
  }

  /** A hash of (src, dst, srcp, dstp, proto) for the Kafka message key, as the wasm decoder's. */
  #flowHash(pr: Uint8Array): number {
    const rv = this.#recView;
    let h = 0x9747b28c | 0;
    if (pr[Slot.Src6] && (!pr[Slot.Src4] || rv.getUint32(REC_SRC4) === 0)) {
      for (let i = 0; i < 16; i += 4) h = mix(h, rv.getUint32(REC_SRC6 + i, true));
    } else if (pr[Slot.Src4]) h = mix(h, rv.getUint32(REC_SRC4, true));
    if (pr[Slot.Dst6] && (!pr[Slot.Dst4] || rv.getUint32(REC_DST4) === 0)) {
      for (let i = 0; i < 16; i += 4) h = mix(h, rv.getUint32(REC_DST6 + i, true));
    } else if (pr[Slot.Dst4]) h = mix(h, rv.getUint32(REC_DST4, true));
    const sp = pr[Slot.Srcp] ? this.#u32(Slot.Srcp) : 0;
    const dp = pr[Slot.Dstp] ? this.#u32(Slot.Dstp) : 0;
    const proto = pr[Slot.Proto] ? this.#u32(Slot.Proto) : 0;
    h = mix(h, (sp << 16) | (dp & 0xffff));
    h = mix(h, proto);
    h ^= h >>> 16;
    h = Math.imul(h, 0x85ebca6b);
    h ^= h >>> 13;
    return h >>> 0;
  }
}

function sameAddress(a: Uint8Array, b: Uint8Array): boolean {
  for (let i = 0; i < 16; i++) if (a[i] !== b[i]) return false;
  return true;
}

function sameBytes(a: Uint8Array, b: Uint8Array, start: number, end: number): boolean {
  if (a.length !== end - start) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[start + i]) return false;
  return true;
}
