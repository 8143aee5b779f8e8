// Output by name (decoder.fields: all): every information element of a data record, after the
// short fields. When a template is compiled, each of its fields becomes a descriptor: the key
// its definition gives (definitions.ts), its data type, and whether a short field already shows
// it; records then run the descriptors, writing values straight into the output region.
//
// Keys: an element a short field shows (src for sourceIPv4Address, bytes for octetDeltaCount,
// ...) keeps that name only; the inner header of an encapsulated record (headers.ts) is
// inner_src, inner_dst, inner_srcp, inner_dstp, inner_proto; every other element is written under
// its definition's name, or `e{PEN}_{id}` (IPFIX) / `v9_{type}` (NetFlow v9) with a hex value when
// no definition names it. Elements the short fields only derive from (sysUpTime times, deltas,
// systemInitTimeMilliseconds, sampling parameters) are written by name too: their own values are
// not in the short fields. paddingOctets (210) is left out.
import { ANY_PTR, ANY_TEMPLATE_BYTES, ANY_DESC_BYTES, ANY_KEYS_PTR, MAX_TEMPLATES, OUT_PTR, OUT_CAPACITY, OUT_SLACK, TEMPLATES_PTR,
  TEMPLATE_SIZE, V5_TEMPLATE_PTR } from "./layout";
import { Slot } from "./fields";
import { DataType, findDefinition, definitionKey, definitionType, loadDefinitions } from "./definitions";
import { T_RAW0, T_PEN0, T_OWNER, T_FIELDS, compiledFieldSlot, fieldHeaderPtr, TemplateField, VARLEN } from "./templates";
import { sessionPtr, S_VERSION } from "./sessions";
import { putU32 } from "./text";
import { valueRoom, putHex, putUnsigned, putSigned, putFloat, putBoolean, putMac, putIPv4Value, putIPv6Value, putDateTime, putNtp,
  putString } from "./json-values";
import { putBasicList, putSubTemplateList, putSubTemplateMultiList } from "./lists";
import { lastRecordClose, reendRecord, dropLastRecord } from "./record";

/** The pseudo enterprise number under which definitions name NetFlow v9 types from 32768 up (definition.ts V9_VENDOR_PEN). */
export const V9_VENDOR_PEN: u32 = 0xffffffff;
const PADDING_OCTETS: u32 = 210;
/** A type no definition gives: the value is written as hex. */
const UNKNOWN_TYPE: u32 = 0xff;

// Descriptor: u16 length (VARLEN: variable), u8 type, u8 flags, u32 key (its length byte, then
// `,"name":`; 0 = unknown), u32 element id, u32 enterprise number; for the record itself, the run
// of fixed-length fields from this one on that it leaves out (shown by short fields): u32 count, u32 bytes.
const D_LENGTH: usize = 0;
const D_TYPE: usize = 2;
const D_FLAGS: usize = 3;
const D_KEY: usize = 4;
const D_ID: usize = 8;
const D_PEN: usize = 12;
const D_RUN_COUNT: usize = 16;
const D_RUN_BYTES: usize = 20;
const F_SHORT: u32 = 1; // shown by a short field: left out at the top level
const F_SKIP: u32 = 2; // paddingOctets: left out everywhere
const F_V9: u32 = 4; // unknown NetFlow v9 element: v9_{type}
const INNER_SHIFT: u32 = 4; // flags >> 4: the inner_ key (1 src, 2 dst, 3 srcp, 4 dstp, 5 proto), 0 none

/** Slots whose short field shows the element's value itself (not a value derived from it). */
const SHORT_SLOTS: u64 = (<u64>1 << Slot.Srcp) | (<u64>1 << Slot.Dstp) | (<u64>1 << Slot.Proto) | (<u64>1 << Slot.Flags) |
  (<u64>1 << Slot.Bytes) | (<u64>1 << Slot.Pkts) | (<u64>1 << Slot.Start) | (<u64>1 << Slot.End) | (<u64>1 << Slot.InIf) |
  (<u64>1 << Slot.OutIf) | (<u64>1 << Slot.Tos) | (<u64>1 << Slot.SrcAs) | (<u64>1 << Slot.DstAs) | (<u64>1 << Slot.Vlan) |
  (<u64>1 << Slot.IcmpTypeCode) | (<u64>1 << Slot.IcmpType) | (<u64>1 << Slot.IcmpCode) | (<u64>1 << Slot.Direction) |
  (<u64>1 << Slot.Rbytes) | (<u64>1 << Slot.Rpkts) | (<u64>1 << Slot.Src4) | (<u64>1 << Slot.Dst4) | (<u64>1 << Slot.NextHop4) |
  (<u64>1 << Slot.Src6) | (<u64>1 << Slot.Dst6) | (<u64>1 << Slot.NextHop6) |
  // in_vrf, out_vrf, and the record's own applicationId and applicationName (options-names.ts)
  (<u64>1 << Slot.VrfIn) | (<u64>1 << Slot.VrfOut) | (<u64>1 << Slot.AppId) | (<u64>1 << Slot.AppName);

/** Nesting of RFC 6313 lists (a list inside a record inside a list ...); deeper lists are written as hex. */
export const MAX_LIST_DEPTH: u32 = 4;

export let allFields: bool = false;

/** Why the last record could not be written by name: 0 none, ANY_FULL the output region, ANY_MALFORMED a list. */
export let anyError: u32 = 0;
export const ANY_FULL: u32 = 1;
export const ANY_MALFORMED: u32 = 2;
export function setAnyError(e: u32): void { anyError = e; }

// Where the record being written starts in the input, and the end of its set: set by the
// record readers (record.ts runRecord, messages.ts decodeV5).
export let recordStart: usize = 0;
export let recordLimit: usize = 0;
@inline export function setRecordBytes(p: usize, end: usize): void {
  recordStart = p;
  recordLimit = end;
}

/** The writers stop this far before the record index: room for the record's "}" and "\n" and wide stores. */
@inline export function outputLimit(): usize {
  return OUT_PTR + <usize>OUT_CAPACITY + <usize>OUT_SLACK - 256;
}

/** Turns output by name off (init()). */
export function resetAllFields(): void {
  allFields = false;
}

/** Turns output by name on with the definitions table of `len` bytes the host wrote. Returns 0, or -1 for a malformed table. */
export function enableAllFields(len: u32): i32 {
  allFields = false;
  if (!loadDefinitions(len)) return -1;
  writeInnerKeys();
  compileV5();
  allFields = true;
  return 0;
}

function writeKeyText(p: usize, text: string): void {
  const n = text.length;
  store<u8>(p, <u8>n);
  for (let i = 0; i < n; i++) store<u8>(p + 1 + i, <u8>text.charCodeAt(i));
}

function writeInnerKeys(): void {
  writeKeyText(ANY_KEYS_PTR + 32, ',"inner_src":');
  writeKeyText(ANY_KEYS_PTR + 64, ',"inner_dst":');
  writeKeyText(ANY_KEYS_PTR + 96, ',"inner_srcp":');
  writeKeyText(ANY_KEYS_PTR + 128, ',"inner_dstp":');
  writeKeyText(ANY_KEYS_PTR + 160, ',"inner_proto":');
}

function innerKey(slot: u32): u32 {
  if (slot == Slot.Src4 || slot == Slot.Src6) return 1;
  if (slot == Slot.Dst4 || slot == Slot.Dst6) return 2;
  if (slot == Slot.Srcp) return 3;
  if (slot == Slot.Dstp) return 4;
  return 5;
}

function innerType(slot: u32): u32 {
  if (slot == Slot.Src4 || slot == Slot.Dst4) return DataType.Ipv4Address;
  if (slot == Slot.Src6 || slot == Slot.Dst6) return DataType.Ipv6Address;
  return DataType.Unsigned64;
}

@inline export function descriptorsOf(idx: u32): usize {
  return ANY_PTR + <usize>idx * ANY_TEMPLATE_BYTES;
}

/** Template slot index of template pointer `t` (descriptors are kept per slot); the NetFlow v5 pseudo template is MAX_TEMPLATES. */
@inline function templateIndex(t: usize): u32 {
  return t == V5_TEMPLATE_PTR ? MAX_TEMPLATES : <u32>((t - TEMPLATES_PTR) / TEMPLATE_SIZE);
}

function describe(d: usize, ie: u32, pen: u32, length: u32, v9: bool, flags: u32): void {
  const lookupPen = v9 ? (ie >= 32768 ? V9_VENDOR_PEN : 0) : pen;
  const e = findDefinition(lookupPen, ie);
  store<u16>(d + D_LENGTH, <u16>length);
  store<u8>(d + D_TYPE, <u8>(e != 0 ? definitionType(e) : UNKNOWN_TYPE));
  if (pen == 0 && ie == PADDING_OCTETS && !v9) flags |= F_SKIP;
  if (v9) flags |= F_V9;
  store<u8>(d + D_FLAGS, <u8>flags);
  store<u32>(d + D_KEY, e != 0 ? <u32>definitionKey(e) : 0);
  store<u32>(d + D_ID, ie);
  store<u32>(d + D_PEN, pen);
}

/**
 * Writes the descriptors of template slot `idx` (at `t`, being compiled: its fields as sent are
 * at T_RAW0 / T_PEN0, the slots and headers the compiler gave them in its scratch). Called once
 * per template defined, when output by name is on.
 */
export function compileAnyFields(idx: u32, t: usize, n: u32): void {
  const v9 = load<u8>(sessionPtr(load<u32>(t + T_OWNER) - 1) + S_VERSION) == 9;
  const base = descriptorsOf(idx);
  for (let i: u32 = 0; i < n; i++) {
    const raw = load<u32>(t + T_RAW0 + <usize>i * TemplateField.Bytes);
    const pen = load<u32>(t + T_PEN0 + (<usize>i << 2));
    // NetFlow v9 types use all 16 bits; IPFIX ids are 15 bits under the enterprise bit.
    const ie = v9 ? raw >>> TemplateField.IdShift : (raw >>> TemplateField.IdShift) & TemplateField.IdMask;
    const slot = compiledFieldSlot(i);
    const header = <u32>load<u8>(fieldHeaderPtr() + i);
    let flags: u32 = 0;
    if (slot != 0xff && header == 0 && (SHORT_SLOTS & (<u64>1 << slot)) != 0) flags = F_SHORT;
    else if (slot != 0xff && header == 1) flags = innerKey(slot) << INNER_SHIFT;
    const d = base + <usize>i * ANY_DESC_BYTES;
    describe(d, ie, pen, raw & TemplateField.LengthMask, v9, flags);
    if (header == 1 && slot != 0xff) store<u8>(d + D_TYPE, <u8>innerType(slot));
  }
  markRuns(base, n);
}

/** Sets each descriptor's run: the fixed-length fields from it on that the record itself leaves out, skipped in one step. */
function markRuns(base: usize, n: u32): void {
  let count: u32 = 0;
  let bytes: u32 = 0;
  for (let i = <i32>n - 1; i >= 0; i--) {
    const d = base + <usize>i * ANY_DESC_BYTES;
    const len = <u32>load<u16>(d + D_LENGTH);
    if (len != VARLEN && (load<u8>(d + D_FLAGS) & (F_SHORT | F_SKIP)) != 0) {
      count++;
      bytes += len;
    } else {
      count = 0;
      bytes = 0;
    }
    store<u32>(d + D_RUN_COUNT, count);
    store<u32>(d + D_RUN_BYTES, bytes);
  }
}

/** The NetFlow v5 record (48 bytes) as descriptors: the fields a short field does not show are sysUpTime times and prefix lengths. */
function compileV5(): void {
  const base = descriptorsOf(MAX_TEMPLATES);
  // Element id and length in record order; 0 = padding. Short: all but 22, 21, 9, 13.
  const ids: StaticArray<u16> = [8, 12, 15, 10, 14, 2, 1, 22, 21, 7, 11, 0, 6, 4, 5, 16, 17, 9, 13, 0];
  const lengths: StaticArray<u8> = [4, 4, 4, 2, 2, 4, 4, 4, 4, 2, 2, 1, 1, 1, 1, 2, 2, 1, 1, 2];
  for (let i = 0; i < ids.length; i++) {
    const ie = <u32>ids[i];
    const named = ie == 22 || ie == 21 || ie == 9 || ie == 13;
    describe(base + <usize>i * ANY_DESC_BYTES, ie, 0, <u32>lengths[i], false, ie == 0 ? F_SKIP : named ? 0 : F_SHORT);
  }
  markRuns(base, V5_FIELDS);
}

const V5_FIELDS: u32 = 20;

/** Copies a key (its length byte, then the text) in 8-byte words: keys are short, and up to 7 bytes past the end are overwritten later. */
@inline function copyKey(o: usize, key: usize): usize {
  const n = <usize>load<u8>(key);
  const from = key + 1;
  for (let i: usize = 0; i < n; i += 8) store<u64>(o + i, load<u64>(from + i));
  return o + n;
}

/** Writes an element's key: its definition's, or its unknown name. */
function putKeyOf(o: usize, d: usize): usize {
  const key = <usize>load<u32>(d + D_KEY);
  if (key != 0) return copyKey(o, key);
  return putUnknownKey(o, load<u32>(d + D_PEN), load<u32>(d + D_ID), (load<u8>(d + D_FLAGS) & F_V9) != 0);
}

/** The key of an element no definition names: `,"v9_{id}":` (NetFlow v9) or `,"e{pen}_{id}":` (IPFIX). */
export function putUnknownKey(o: usize, pen: u32, id: u32, v9: bool): usize {
  if (v9) {
    store<u8>(o, 44); // ","
    store<u8>(o + 1, 34); // "
    store<u8>(o + 2, 118); // v
    store<u8>(o + 3, 57); // 9
    store<u8>(o + 4, 95); // _
    o = putU32(o + 5, id);
  } else {
    store<u8>(o, 44);
    store<u8>(o + 1, 34);
    store<u8>(o + 2, 101); // e
    o = putU32(o + 3, pen);
    store<u8>(o, 95); // _
    o = putU32(o + 1, id);
  }
  store<u16>(o, 0x3a22); // ":
  return o + 2;
}

/**
 * Writes one value of data type `type` (UNKNOWN_TYPE: hex) from the `len` bytes at p. Returns the
 * new cursor, or 0 with anyError = ANY_FULL when it does not fit the output region.
 */
export function putValue(o: usize, type: u32, p: usize, len: usize, depth: u32): usize {
  if (type == DataType.BasicList || type == DataType.SubTemplateList || type == DataType.SubTemplateMultiList) {
    if (depth >= MAX_LIST_DEPTH) type = UNKNOWN_TYPE;
    else {
      if (o + 64 > outputLimit()) { anyError = ANY_FULL; return 0; }
      if (len == 0) { // a list field sent without even its header: no list, as an empty one
        store<u16>(o, 0x5d5b); // []
        return o + 2;
      }
      if (type == DataType.BasicList) return putBasicList(o, p, len, depth + 1);
      if (type == DataType.SubTemplateList) return putSubTemplateList(o, p, len, depth + 1);
      return putSubTemplateMultiList(o, p, len, depth + 1);
    }
  }
  if (o + valueRoom(len) > outputLimit()) {
    anyError = ANY_FULL;
    return 0;
  }
  return putScalar(o, type, p, len);
}

/** Writes one scalar value of data type `type` (lists and UNKNOWN_TYPE: hex); the caller checked room (valueRoom). */
export function putScalar(o: usize, type: u32, p: usize, len: usize): usize {
  switch (type) {
    case DataType.Unsigned8: case DataType.Unsigned16: case DataType.Unsigned32: case DataType.Unsigned64:
      return putUnsigned(o, p, len);
    case DataType.Signed8: case DataType.Signed16: case DataType.Signed32: case DataType.Signed64:
      return putSigned(o, p, len);
    case DataType.Float32: return putFloat(o, p, len, false);
    case DataType.Float64: return putFloat(o, p, len, true);
    case DataType.Boolean: return putBoolean(o, p, len);
    case DataType.MacAddress: return putMac(o, p, len);
    case DataType.String: return putString(o, p, len);
    case DataType.DateTimeSeconds: return putDateTime(o, p, len, false);
    case DataType.DateTimeMilliseconds: return putDateTime(o, p, len, true);
    case DataType.DateTimeMicroseconds: case DataType.DateTimeNanoseconds: return putNtp(o, p, len);
    case DataType.Ipv4Address: return putIPv4Value(o, p, len);
    case DataType.Ipv6Address: return putIPv6Value(o, p, len);
    default: return putHex(o, p, len); // octetArray, lists here, and elements no definition names
  }
}

// The input position after the last record putFields() walked.
export let fieldsEnd: usize = 0;

/**
 * Writes the `n` fields described at `desc` of one record at p (not past end) as `,"key":value`
 * pairs. `top`: the record itself (short fields and inner_ keys apply); otherwise a record in a
 * list (every element by name). Returns the new cursor and sets fieldsEnd; 0 when the record runs
 * past end (anyError ANY_MALFORMED) or the output is full (ANY_FULL).
 */
export function putFields(o: usize, desc: usize, n: u32, p: usize, end: usize, top: bool, depth: u32): usize {
  const limit = outputLimit();
  for (let i: u32 = 0; i < n; i++) {
    const d = desc + <usize>i * ANY_DESC_BYTES;
    if (top) {
      const run = load<u32>(d + D_RUN_COUNT);
      if (run != 0) {
        // Fields the short fields show (the record was bounds-checked by runRecord: no check per field).
        p += <usize>load<u32>(d + D_RUN_BYTES);
        i += run - 1;
        continue;
      }
    }
    let len = <usize>load<u16>(d + D_LENGTH);
    if (len == <usize>VARLEN) {
      // RFC 7011 section 7: 1-byte length, or 255 then a 2-byte length.
      if (p >= end) { anyError = ANY_MALFORMED; return 0; }
      len = <usize>load<u8>(p);
      p++;
      if (len == 255) {
        if (p + 2 > end) { anyError = ANY_MALFORMED; return 0; }
        len = <usize>bswap<u16>(load<u16>(p));
        p += 2;
      }
    }
    if (p + len > end) { anyError = ANY_MALFORMED; return 0; }
    const flags = <u32>load<u8>(d + D_FLAGS);
    if ((flags & F_SKIP) != 0 || (top && (flags & F_SHORT) != 0)) {
      p += len;
      continue;
    }
    if (o + 300 > limit) { anyError = ANY_FULL; return 0; } // a key is at most 256 bytes
    const inner = top ? flags >>> INNER_SHIFT : 0;
    let type = <u32>load<u8>(d + D_TYPE);
    if (inner != 0) {
      o = copyKey(o, ANY_KEYS_PTR + (<usize>inner << 5));
    } else {
      o = putKeyOf(o, d);
    }
    o = putValue(o, type, p, len, depth);
    if (o == 0) return 0;
    p += len;
  }
  fieldsEnd = p;
  return o;
}

/** The descriptors and field count of template slot `idx`. */
@inline export function templateFieldCount(idx: u32): u32 {
  return <u32>load<u16>(TEMPLATES_PTR + <usize>idx * TEMPLATE_SIZE + T_FIELDS);
}

/**
 * Writes the elements of the record just read (with template `t`) that no short field shows,
 * after the short fields at o. Returns the new cursor, or 0 when the record does not fit
 * (anyError = ANY_FULL): the caller drops the record and counts it.
 */
export function putAnyFields(o: usize, t: usize): usize {
  anyError = 0;
  const idx = templateIndex(t);
  const n = idx == MAX_TEMPLATES ? V5_FIELDS : templateFieldCount(idx);
  return putFields(o, descriptorsOf(idx), n, recordStart, recordLimit, true, 0);
}

/**
 * Adds the elements no short field shows to the record emitRecord just wrote (with template `t`),
 * before its "}". Returns false, having taken the record back, when they do not fit the output
 * region: the caller counts it (output_full), and no record is ever cut short.
 */
export function appendAnyFields(t: usize): bool {
  const close = lastRecordClose();
  const o = putAnyFields(close, t);
  if (o == 0) {
    dropLastRecord();
    return false;
  }
  if (o != close && load<u8>(close - 1) == 123) {
    // The record had no field ("{}"): the first key's comma goes.
    memory.copy(close, close + 1, o - close - 1);
    reendRecord(o - 1);
  } else {
    reendRecord(o);
  }
  return true;
}

export { putHex };
