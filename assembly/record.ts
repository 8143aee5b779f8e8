// Runs a compiled template over one record's bytes (filling the value slots at REC_PTR)
// and writes the record into the output region: one line of JSON, or a FlowMessage (protobuf.ts).
import { REC_PTR, OUT_PTR, OUT_CAPACITY, OUT_SLACK, INDEX_PTR, INDEX_ENTRY, RecordIndex, ROUTE_OPTIONS_BIT, MAX_RECORDS_OUT, DVC_PTR, TIME_TEXT_PTR, TAIL_TEXT_PTR } from "./layout";
import { Field, FIELD_COUNT, KFLOW_FIELDS, Slot, has, REC_SRC4, REC_DST4, REC_NH4, REC_SRC6, REC_DST6, REC_NH6 } from "./fields";
import { T_STEPS, T_STEP0, T_MASK, T_HAS_VAR, T_MIN_LEN, Op, VARLEN } from "./templates";
import { putKey, putU64, putU32, putIPv4, putIPv6 } from "./text";
import { ctx } from "./context";
import { S_SYSINIT, S_FLAGS, F_HAS_SYSINIT, S_DEFAULT_RATE, S_NAMES } from "./sessions";
import { val, samplingRate, rateFromValues, recordTime, icmpTypeCode, scaled, SELECTOR_FLAG, ID_MASK } from "./values";
import { putFlowRecord } from "./protobuf";
import { relayDatagram, routeRecord, learnStatedExporter, quoteAddress, dvcText, routeWord } from "./relay";
import { learnNames, putNameFields } from "./options-names";
import { setRecordBytes } from "./any-element";

const NTP_UNIX_OFFSET: u64 = 2208988800; // seconds from 1900 to 1970

export let outPos: usize = OUT_PTR; // no output before the first decode()
export let recordCount: u32 = 0;
export let fieldMask: u64 = U64.MAX_VALUE;

export function resetOutput(): void {
  outPos = OUT_PTR;
  recordCount = 0;
}

export function setFieldMask(mask: u64): void {
  fieldMask = mask;
  timeTextMs = U64.MAX_VALUE;
  tailVersion = 0;
}

// Text that stays the same for all the records of a message (or of a set) is written once
// and copied: the export time, and version / odid / tid. Each is kept with the values it
// was written for and written again when they change (held sets change them too).
let timeTextMs: u64 = U64.MAX_VALUE; // no export time is this large
let timeTextLen: usize = 0;
let tailVersion: u32 = 0; // 0: not written (every message has a version)
let tailDomain: u32 = 0;
let tailTid: u32 = 0;
let tailLen: usize = 0;
const TAIL_FIELDS: u64 = (1 << <u64>Field.Version) | (1 << <u64>Field.Odid) | (1 << <u64>Field.Tid);
const NAME_FIELDS: u64 = ((<u64>1 << <u64>FIELD_COUNT) - 1) & ~((<u64>1 << <u64>Field.InIfName) - 1);
const NAME_SLOTS: u64 = (<u64>1 << <u64>Slot.VrfIn) | (<u64>1 << <u64>Slot.VrfOut) | (<u64>1 << <u64>Slot.AppId) | (<u64>1 << <u64>Slot.AppName);

/** The export time as `,"time":N` (at most 28 bytes). */
function writeTimeText(): void {
  timeTextMs = ctx.timeMs;
  timeTextLen = putNum(TIME_TEXT_PTR, Field.Time, ctx.timeMs) - TIME_TEXT_PTR;
}

/** The selected ones of version, odid and tid (at most 43 bytes). */
function writeTailText(): void {
  tailVersion = ctx.version;
  tailDomain = ctx.domain;
  tailTid = ctx.tid;
  let o = TAIL_TEXT_PTR;
  if (selected(Field.Version)) o = putNum(o, Field.Version, ctx.version);
  if (selected(Field.Odid)) o = putNum(o, Field.Odid, ctx.domain);
  if (selected(Field.Tid) && ctx.version != 5) o = putNum(o, Field.Tid, ctx.tid);
  tailLen = o - TAIL_TEXT_PTR;
}

/** An unsigned integer of 1 to 8 bytes (reduced-size encoding, RFC 7011 section 6.2), big-endian. */
function readUintN(p: usize, len: usize): u64 {
  let v: u64 = 0;
  for (let i: usize = 0; i < len; i++) v = (v << 8) | <u64>load<u8>(p + i);
  return v;
}

/** Reads one fixed-length field of `len` bytes at p for step op `op` into its value slot at dst. */
@inline function readField(op: u32, p: usize, len: usize, dst: usize): void {
  switch (op) {
    case Op.U8: store<u64>(dst, <u64>load<u8>(p)); break;
    case Op.U16: store<u64>(dst, <u64>bswap<u16>(load<u16>(p))); break;
    case Op.U32: store<u64>(dst, <u64>bswap<u32>(load<u32>(p))); break;
    case Op.U64: store<u64>(dst, bswap<u64>(load<u64>(p))); break;
    case Op.UintN: store<u64>(dst, readUintN(p, len)); break;
    case Op.Addr4: store<u32>(dst, load<u32>(p)); break;
    case Op.Ref: store<u32>(dst, <u32>p); store<u32>(dst + 4, <u32>len); break;
    case Op.Addr6: store<u64>(dst, load<u64>(p)); store<u64>(dst + 8, load<u64>(p + 8)); break;
    case Op.Sec32: store<u64>(dst, <u64>bswap<u32>(load<u32>(p)) * 1000); break;
    case Op.SecN: store<u64>(dst, readUintN(p, len) * 1000); break;
    case Op.Ntp: {
      // dateTimeMicro/Nanoseconds: NTP seconds since 1900 and a 32-bit fraction.
      const v = bswap<u64>(load<u64>(p));
      const secs = v >>> 32;
      const frac = v & 0xffffffff;
      store<u64>(dst, (secs >= NTP_UNIX_OFFSET ? secs - NTP_UNIX_OFFSET : 0) * 1000 + ((frac * 1000) >>> 32));
      break;
    }
    default: break; // Op.Skip
  }
}

/** Reads one record at p (not past end) into the value slots. Returns the next record's offset, or 0 if the record runs past end. */
export function runRecord(t: usize, p: usize, end: usize): usize {
  const rec = REC_PTR;
  setRecordBytes(p, end); // for output by name, which reads the record's bytes again
  let s = t + T_STEP0;
  const stepsEnd = s + (<usize>load<u16>(t + T_STEPS) << 2);
  if (load<u8>(t + T_HAS_VAR) == 0) {
    // Fixed-length fields only: one check for the whole record.
    if (p + <usize>load<u16>(t + T_MIN_LEN) > end) return 0;
    for (; s < stepsEnd; s += 4) {
      const step = load<u32>(s);
      const len = <usize>(step & 0xffff);
      readField((step >>> 16) & 0xff, p, len, rec + (<usize>(step >>> 24) << 2));
      p += len;
    }
    return p;
  }
  for (; s < stepsEnd; s += 4) {
    const step = load<u32>(s);
    let len = <usize>(step & 0xffff);
    const op = (step >>> 16) & 0xff;
    if (len == <usize>VARLEN) {
      // RFC 7011 section 7: 1-byte length, or 255 then a 2-byte length.
      if (p >= end) return 0;
      len = <usize>load<u8>(p);
      p++;
      if (len == 255) {
        if (p + 2 > end) return 0;
        len = <usize>bswap<u16>(load<u16>(p));
        p += 2;
      }
    }
    if (p + len > end) return 0;
    if (op >= <u32>Op.U8) readField(op, p, len, rec + (<usize>(step >>> 24) << 2));
    p += len;
  }
  return p;
}

/** Takes in what an options record says about its exporter: system init time, sampling, its address (relays), names (options-names.ts). */
export function applyOptions(t: usize, s: usize): void {
  const mask = load<u64>(t + T_MASK);
  learnStatedExporter(mask, s);
  learnNames(mask, ctx.session);
  if (has(mask, Slot.SysInit)) {
    const sysInit = <f64>val(Slot.SysInit);
    if ((load<u8>(s + S_FLAGS) & F_HAS_SYSINIT) == 0 || load<f64>(s + S_SYSINIT) != sysInit) stateChanged();
    store<f64>(s + S_SYSINIT, sysInit);
    store<u8>(s + S_FLAGS, load<u8>(s + S_FLAGS) | F_HAS_SYSINIT);
  }
  const rate = rateFromValues(mask);
  if (rate == 0) return;
  if (has(mask, Slot.SamplerId)) setSamplerRateFor(s, <u32>val(Slot.SamplerId) & ID_MASK, rate);
  else if (has(mask, Slot.SelectorId)) setSamplerRateFor(s, SELECTOR_FLAG | (<u32>val(Slot.SelectorId) & ID_MASK), rate);
  else if (load<u32>(s + S_DEFAULT_RATE) != rate) {
    store<u32>(s + S_DEFAULT_RATE, rate);
    stateChanged();
  }
}

import { setSamplerRate } from "./sessions";
import { stateChanged } from "./generation";
@inline function setSamplerRateFor(s: usize, id: u32, rate: u32): void {
  setSamplerRate(s, id, rate);
}

@inline function putAddr(o: usize, mask: u64, v4: Slot, p4: usize, v6: Slot, p6: usize): usize {
  const rec = REC_PTR;
  if (has(mask, v6) && (!has(mask, v4) || load<u32>(rec + p4) == 0)) {
    store<u8>(o, 34);
    o = putIPv6(o + 1, rec + p6);
    store<u8>(o, 34);
    return o + 1;
  }
  if (has(mask, v4)) {
    store<u8>(o, 34);
    o = putIPv4(o + 1, rec + p4);
    store<u8>(o, 34);
    return o + 1;
  }
  store<u32>(o, 0x6c6c756e); // null
  return o + 4;
}

@inline function putNum(o: usize, field: Field, v: u64): usize {
  return putU64(putKey(o, field), v);
}

@inline function selected(field: Field): bool {
  return (fieldMask & (<u64>1 << <u64>field)) != 0;
}

/** What a record's value is: a JSON object, or goflow2's FlowMessage with or without its varint length prefix. */
export const enum OutputFormat { Json = 0, Protobuf = 1, ProtobufBare = 2 }
let outputFormat: u32 = OutputFormat.Json;

export function setOutputFormat(format: u32): void {
  outputFormat = format;
}

/** decoder.scale_counters: bytes, packets (and their reverse counts) are written multiplied by the sampling rate in force. */
export let scaleCounters: bool = false;

export function setScaleCounters(on: bool): void {
  scaleCounters = on;
}

/** Writes the record just read (a JSON line, or a FlowMessage); returns false (and writes nothing) when the output region is full. */
export function emitRecord(t: usize, s: usize): bool {
  if (outPos + OUT_SLACK > OUT_PTR + OUT_CAPACITY || recordCount >= MAX_RECORDS_OUT) return false;
  const mask = load<u64>(t + T_MASK);
  // A relay's record: its dvc (and RouteAt) is the exporter it states (relay.ts).
  if (relayDatagram) routeRecord(mask, s);
  if (outputFormat != OutputFormat.Json) {
    finishRecord(putFlowRecord(outPos, mask, s, outputFormat == OutputFormat.Protobuf), mask);
    return true;
  }
  const rec = REC_PTR;
  const start = outPos;
  let o = outPos;
  // Found once: the sampling field shows it, and scale_counters multiplies the counts by it.
  const rate = selected(Field.Sampling) || scaleCounters ? samplingRate(mask, s) : 0;
  const scale = scaleCounters ? rate : 0;
  const kflow = fieldMask & <u64>KFLOW_FIELDS;
  if (kflow != 0) {
    if (selected(Field.Dvc)) {
      o = putKey(o, Field.Dvc);
      const d = dvcText;
      store<u64>(o, load<u64>(d)); store<u64>(o + 8, load<u64>(d + 8));
      store<u64>(o + 16, load<u64>(d + 16)); store<u64>(o + 24, load<u64>(d + 24));
      store<u64>(o + 32, load<u64>(d + 32)); store<u16>(o + 40, load<u16>(d + 40));
      o += <usize>ctx.dvcLen;
    }
    if (selected(Field.Src)) o = putAddr(putKey(o, Field.Src), mask, Slot.Src4, REC_SRC4, Slot.Src6, REC_SRC6);
    if (selected(Field.Srcp)) o = putNum(o, Field.Srcp, has(mask, Slot.Srcp) ? val(Slot.Srcp) : 0);
    if (selected(Field.Dst)) o = putAddr(putKey(o, Field.Dst), mask, Slot.Dst4, REC_DST4, Slot.Dst6, REC_DST6);
    if (selected(Field.Dstp)) o = putNum(o, Field.Dstp, has(mask, Slot.Dstp) ? val(Slot.Dstp) : 0);
    if (selected(Field.Proto)) o = putNum(o, Field.Proto, has(mask, Slot.Proto) ? val(Slot.Proto) : 0);
    if (selected(Field.Flags)) o = putNum(o, Field.Flags, has(mask, Slot.Flags) ? val(Slot.Flags) : 0);
    if (selected(Field.Bytes)) o = putNum(o, Field.Bytes, has(mask, Slot.Bytes) ? scaled(val(Slot.Bytes), scale) : 0);
    if (selected(Field.Pkts)) o = putNum(o, Field.Pkts, has(mask, Slot.Pkts) ? scaled(val(Slot.Pkts), scale) : 0);
    if (selected(Field.Time)) {
      if (ctx.timeMs != timeTextMs) writeTimeText();
      const t = TIME_TEXT_PTR;
      store<u64>(o, load<u64>(t)); store<u64>(o + 8, load<u64>(t + 8));
      store<u64>(o + 16, load<u64>(t + 16)); store<u32>(o + 24, load<u32>(t + 24));
      o += timeTextLen;
    }
  }
  if (selected(Field.Start)) {
    const v = recordTime(mask, Slot.Start, Slot.StartUptime, Slot.StartDeltaUs, s);
    if (v >= 0) o = putNum(o, Field.Start, <u64>v);
  }
  if (selected(Field.End)) {
    const v = recordTime(mask, Slot.End, Slot.EndUptime, Slot.EndDeltaUs, s);
    if (v >= 0) o = putNum(o, Field.End, <u64>v);
  }
  if (selected(Field.InIf) && has(mask, Slot.InIf)) o = putNum(o, Field.InIf, val(Slot.InIf));
  if (selected(Field.OutIf) && has(mask, Slot.OutIf)) o = putNum(o, Field.OutIf, val(Slot.OutIf));
  if (selected(Field.Tos) && has(mask, Slot.Tos)) o = putNum(o, Field.Tos, val(Slot.Tos));
  if (selected(Field.SrcAs) && has(mask, Slot.SrcAs)) o = putNum(o, Field.SrcAs, val(Slot.SrcAs));
  if (selected(Field.DstAs) && has(mask, Slot.DstAs)) o = putNum(o, Field.DstAs, val(Slot.DstAs));
  if (selected(Field.NextHop) && (has(mask, Slot.NextHop4) || has(mask, Slot.NextHop6))) {
    o = putAddr(putKey(o, Field.NextHop), mask, Slot.NextHop4, REC_NH4, Slot.NextHop6, REC_NH6);
  }
  if (selected(Field.Vlan) && has(mask, Slot.Vlan)) o = putNum(o, Field.Vlan, val(Slot.Vlan));
  if (selected(Field.IcmpType) || selected(Field.IcmpCode)) {
    const typeCode = icmpTypeCode(mask);
    if (typeCode >= 0) {
      if (selected(Field.IcmpType)) o = putNum(o, Field.IcmpType, <u64>typeCode >>> 32);
      if (selected(Field.IcmpCode)) o = putNum(o, Field.IcmpCode, <u64>typeCode & 0xffffffff);
    }
  }
  if (selected(Field.Direction) && has(mask, Slot.Direction)) o = putNum(o, Field.Direction, val(Slot.Direction));
  if (selected(Field.Sampling) && rate > 0) o = putNum(o, Field.Sampling, rate);
  if (selected(Field.Rbytes) && has(mask, Slot.Rbytes)) o = putNum(o, Field.Rbytes, scaled(val(Slot.Rbytes), scale));
  if (selected(Field.Rpkts) && has(mask, Slot.Rpkts)) o = putNum(o, Field.Rpkts, scaled(val(Slot.Rpkts), scale));
  if ((fieldMask & TAIL_FIELDS) != 0) {
    if (ctx.version != tailVersion || ctx.domain != tailDomain || ctx.tid != tailTid) writeTailText();
    const t = TAIL_TEXT_PTR;
    store<u64>(o, load<u64>(t)); store<u64>(o + 8, load<u64>(t + 8)); store<u64>(o + 16, load<u64>(t + 16));
    store<u64>(o + 24, load<u64>(t + 24)); store<u64>(o + 32, load<u64>(t + 32)); store<u64>(o + 40, load<u64>(t + 40));
    o += tailLen;
  }
  // Names, VRF and application fields (options-names.ts): only for a session that has names or a
  // record that carries the slots they come from, so other records pay no call.
  if ((fieldMask & NAME_FIELDS) != 0 && ((mask & NAME_SLOTS) != 0 || load<u32>(s + S_NAMES) != 0)) o = putNameFields(o, mask, ctx.session, s, fieldMask);
  if (o == start) {
    store<u8>(o, 123); // "{"
    o++;
  } else {
    store<u8>(start, 123); // the first field's comma becomes "{"
  }
  store<u8>(o, 125); // "}"
  finishRecord(o + 1, mask);
  return true;
}

// Output by name (decoder.fields: all, any-element.ts) adds its fields to the record emitRecord just
// wrote, before its "}", so that emitRecord itself stays as it is for the default output.

/** Where the last record's closing "}" is. */
export function lastRecordClose(): usize {
  return outPos - <usize>RecordIndex.Gap - 1;
}

/** Ends the last record again with its "}" at `close` (fields were added before it): "\n" after it, its index entry, the cursor. */
export function reendRecord(close: usize): void {
  store<u8>(close, 125); // }
  store<u8>(close + 1, 10);
  const e = INDEX_PTR + <usize>(recordCount - 1) * INDEX_ENTRY;
  store<u32>(e + (<usize>RecordIndex.EndAt << 2), <u32>(close + 1 - OUT_PTR));
  outPos = close + 2;
}

/** Takes the last record back (it could not be completed): the next one is written over it. */
export function dropLastRecord(): void {
  recordCount--;
  outPos = recordCount == 0 ? OUT_PTR
    : OUT_PTR + <usize>load<u32>(INDEX_PTR + <usize>(recordCount - 1) * INDEX_ENTRY + (<usize>RecordIndex.EndAt << 2)) + <usize>RecordIndex.Gap;
}

/** Ends the record whose value ends at `end`: the "\n" after it (RecordIndex.Gap), its index entry (end, flow hash, route). */
function finishRecord(end: usize, mask: u64): void {
  store<u8>(end, 10); // "\n": the end offset points at it, RecordIndex.Gap bytes before the next record
  const e = INDEX_PTR + <usize>recordCount * INDEX_ENTRY;
  store<u32>(e + (<usize>RecordIndex.EndAt << 2), <u32>(end - OUT_PTR));
  store<u32>(e + (<usize>RecordIndex.HashAt << 2), flowHash(mask));
  store<u32>(e + (<usize>RecordIndex.RouteAt << 2), routeWord); // 0, or a relay's stated exporter (options records are placed by options-records.ts)
  outPos = end + 1;
  recordCount++;
}

/**
 * Copies an options record of `len` bytes (its value, without the "\n") from `src` to the end of
 * the output, marked for the options topic in the record index (options-records.ts). Returns
 * false, copying nothing, when the output region or the index is full.
 */
export function placeRecord(src: usize, len: usize): bool {
  if (outPos + len + 1 > OUT_PTR + OUT_CAPACITY || recordCount >= MAX_RECORDS_OUT) return false;
  memory.copy(outPos, src, len);
  const end = outPos + len;
  store<u8>(end, 10);
  const e = INDEX_PTR + <usize>recordCount * INDEX_ENTRY;
  store<u32>(e + (<usize>RecordIndex.EndAt << 2), <u32>(end - OUT_PTR));
  store<u32>(e + (<usize>RecordIndex.HashAt << 2), 0);
  store<u32>(e + (<usize>RecordIndex.RouteAt << 2), <u32>1 << ROUTE_OPTIONS_BIT);
  outPos = end + 1;
  recordCount++;
  return true;
}

@inline function mix(h: u32, v: u32): u32 {
  h ^= v * 0xcc9e2d51;
  h = rotl<u32>(h, 13);
  return h * 5 + 0xe6546b64;
}

/** A hash of (src, dst, srcp, dstp, proto) for the Kafka message key; 0 fields where absent. */
function flowHash(mask: u64): u32 {
  const rec = REC_PTR;
  let h: u32 = 0x9747b28c;
  if (has(mask, Slot.Src6) && (!has(mask, Slot.Src4) || load<u32>(rec + REC_SRC4) == 0)) {
    for (let i: usize = 0; i < 16; i += 4) h = mix(h, load<u32>(rec + REC_SRC6 + i));
  } else if (has(mask, Slot.Src4)) h = mix(h, load<u32>(rec + REC_SRC4));
  if (has(mask, Slot.Dst6) && (!has(mask, Slot.Dst4) || load<u32>(rec + REC_DST4) == 0)) {
    for (let i: usize = 0; i < 16; i += 4) h = mix(h, load<u32>(rec + REC_DST6 + i));
  } else if (has(mask, Slot.Dst4)) h = mix(h, load<u32>(rec + REC_DST4));
  const sp = has(mask, Slot.Srcp) ? <u32>val(Slot.Srcp) : 0;
  const dp = has(mask, Slot.Dstp) ? <u32>val(Slot.Dstp) : 0;
  const pr = has(mask, Slot.Proto) ? <u32>val(Slot.Proto) : 0;
  h = mix(h, (sp << 16) | (dp & 0xffff));
  h = mix(h, pr);
  h ^= h >>> 16;
  h *= 0x85ebca6b;
  h ^= h >>> 13;
  return h;
}

/** Writes the exporter address as text at DVC_PTR (once per datagram). */
export function writeDvc(addr: usize): void {
  // Quoted, so the record writer copies it as one value.
  ctx.dvcLen = quoteAddress(DVC_PTR, addr);
}

export { putU32 };
