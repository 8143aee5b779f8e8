// Options data records as JSON, for routing.options_topic (off unless the host turns it on:
// setOptionsOutput). Every options record (sampling, interface, VRF and application tables,
// exporter statistics) becomes one line:
//   {"dvc":"192.0.2.1","time":1700000000000,"version":10,"odid":0,"tid":258,"scope_fields":1,
//    "in_if":3,"interfaceName":"Gi0/1"}
// then its fields in template order, scope fields first, each by name: the decoder's short name
// where it has one (in_if, out_if, in_vrf, out_vrf, applicationId), IANA's name for the few
// elements options data is made of (OPTION_ELEMENTS below), NetFlow v9 scope types as scope_system,
// scope_interface, scope_line_card, scope_cache, scope_template; any other element by its
// definition's name and type (IANA's registry, vendor and users' dictionaries: definitions.ts),
// else as e{PEN}_{id} (IPFIX) or v9_{type} (NetFlow v9) with its bytes in lowercase hex. Unsigned values of 1 to 8 bytes are numbers as sent, strings are JSON strings
// (json-string.ts), addresses text, applicationId "engine:selector" (options-names.ts).
//
// They are written to a staging region while the datagram's sets are decoded, and placed after
// the datagram's data records when decode() ends (placeOptionsRecords): data records stay one
// run, options records another, each marked in the record index (RecordIndex.RouteAt, bit
// ROUTE_OPTIONS_BIT), so the host sends them to their own topic.
import { OPTIONS_OUT_PTR, OPTIONS_OUT_CAPACITY, OPTIONS_INDEX_PTR, MAX_OPTIONS_OUT, OPTIONS_TEXT_PTR, OPTIONS_TEXT_SIZE, DVC_PTR } from "./layout";
import { Status } from "./status";
import { countStatus, bump, C_OPTIONS_RECORDS_WRITTEN } from "./counters";
import { ctx } from "./context";
import { T_FIELDS, T_SCOPE, T_V9_SCOPE, T_RAW0, T_PEN0, VARLEN } from "./templates";
import { putU64, putU32 } from "./text";
import { putJsonText } from "./json-string";
import { putApplicationId, OPTIONS_TEXT_USED } from "./options-names";
import { placeRecord } from "./record";
import { findDefinition, definitionKey, definitionType } from "./definitions";
import { putScalar, putUnknownKey, V9_VENDOR_PEN } from "./any-element";
import { valueRoom, putHex, putUnsigned, putIPv4Value, putIPv6Value } from "./json-values";

/** How a known element's value is written. */
const enum Kind { Uint = 1, Addr4 = 2, Addr6 = 3, Text = 4, AppId = 5 }

// Tables in the text region, after options-names.ts's: a u8 entry number per element id below
// 512 (0 = not known), a u8 per v9 scope type below 8, then the entries: key text, its length
// in byte KEY_LEN_AT, its Kind in byte KEY_KIND_AT.
const INDEX_PTR: usize = OPTIONS_TEXT_PTR + OPTIONS_TEXT_USED;
const SCOPE_INDEX_PTR: usize = INDEX_PTR + 512;
const ENTRIES_PTR: usize = SCOPE_INDEX_PTR + 8;
const ENTRY_BYTES: usize = 48;
const KEY_LEN_AT: usize = 46;
const KEY_KIND_AT: usize = 47;
const MAX_ENTRIES: u32 = 63;

let entries: u32 = 0;

function entry(name: string, kind: Kind): u32 {
  entries++;
  assert(entries <= MAX_ENTRIES && ENTRIES_PTR + <usize>(entries + 1) * ENTRY_BYTES <= OPTIONS_TEXT_PTR + <usize>OPTIONS_TEXT_SIZE);
  const p = ENTRIES_PTR + <usize>entries * ENTRY_BYTES;
  const key = ',"' + name + '":';
  for (let i = 0; i < key.length; i++) store<u8>(p + i, <u8>key.charCodeAt(i));
  store<u8>(p + KEY_LEN_AT, <u8>key.length);
  store<u8>(p + KEY_KIND_AT, <u8>kind);
  return entries;
}

function known(ie: u32, name: string, kind: Kind): void {
  store<u8>(INDEX_PTR + ie, <u8>entry(name, kind));
}

/** The elements options data is made of (IANA's names), and those the decoder has a short name for. */
export function initOptionsRecords(): void {
  memory.fill(INDEX_PTR, 0, 512 + 8);
  entries = 0;
  known(10, "in_if", Kind.Uint); known(14, "out_if", Kind.Uint);
  known(234, "in_vrf", Kind.Uint); known(235, "out_vrf", Kind.Uint);
  known(95, "applicationId", Kind.AppId);
  known(82, "interfaceName", Kind.Text); known(83, "interfaceDescription", Kind.Text);
  known(236, "VRFname", Kind.Text);
  known(96, "applicationName", Kind.Text); known(94, "applicationDescription", Kind.Text);
  known(372, "applicationCategoryName", Kind.Text); known(373, "applicationSubCategoryName", Kind.Text);
  known(374, "applicationGroupName", Kind.Text);
  known(34, "samplingInterval", Kind.Uint); known(35, "samplingAlgorithm", Kind.Uint);
  known(48, "samplerId", Kind.Uint); known(49, "samplerMode", Kind.Uint); known(50, "samplerRandomInterval", Kind.Uint);
  known(84, "samplerName", Kind.Text);
  known(302, "selectorId", Kind.Uint); known(304, "selectorAlgorithm", Kind.Uint);
  known(305, "samplingPacketInterval", Kind.Uint); known(306, "samplingPacketSpace", Kind.Uint);
  known(309, "samplingSize", Kind.Uint); known(310, "samplingPopulation", Kind.Uint);
  known(160, "systemInitTimeMilliseconds", Kind.Uint);
  known(130, "exporterIPv4Address", Kind.Addr4); known(131, "exporterIPv6Address", Kind.Addr6);
  known(144, "exportingProcessId", Kind.Uint); known(149, "observationDomainId", Kind.Uint);
  known(40, "exportedOctetTotalCount", Kind.Uint); known(41, "exportedMessageTotalCount", Kind.Uint);
  known(42, "exportedFlowRecordTotalCount", Kind.Uint);
  known(36, "flowActiveTimeout", Kind.Uint); known(37, "flowIdleTimeout", Kind.Uint);
  known(164, "ignoredPacketTotalCount", Kind.Uint); known(165, "ignoredOctetTotalCount", Kind.Uint);
  known(166, "notSentFlowTotalCount", Kind.Uint); known(167, "notSentPacketTotalCount", Kind.Uint);
  known(168, "notSentOctetTotalCount", Kind.Uint);
  // NetFlow v9 scope field types (RFC 3954 section 6.1).
  store<u8>(SCOPE_INDEX_PTR + 1, <u8>entry("scope_system", Kind.Uint));
  store<u8>(SCOPE_INDEX_PTR + 2, <u8>entry("scope_interface", Kind.Uint));
  store<u8>(SCOPE_INDEX_PTR + 3, <u8>entry("scope_line_card", Kind.Uint));
  store<u8>(SCOPE_INDEX_PTR + 4, <u8>entry("scope_cache", Kind.Uint));
  store<u8>(SCOPE_INDEX_PTR + 5, <u8>entry("scope_template", Kind.Uint));
}

let enabled = false;
let stagedBytes: usize = 0;
let staged: u32 = 0;

/** routing.options_topic set (1) or not (0): whether options records are written. Called by the host after init() and on reloads. */
export function setOptionsOutput(on: bool): void {
  enabled = on;
}

/** Forgets what the last decode() staged. Called at the start of each decode(). */
export function resetOptionsStaging(): void {
  stagedBytes = 0;
  staged = 0;
}

@inline function putText(o: usize, text: string): usize {
  for (let i = 0; i < text.length; i++) store<u8>(o + i, <u8>text.charCodeAt(i));
  return o + <usize>text.length;
}

/** Writes one element's value at o as its entry's kind says (or hex); the caller checked room for 6 bytes per value byte plus 64. */
function putValue(o: usize, kind: u32, p: usize, len: u32): usize {
  switch (kind) {
    // The value writers of output by name (json-values.ts): a length the kind does not allow is hex.
    case Kind.Uint: return putUnsigned(o, p, len);
    case Kind.Addr4: return putIPv4Value(o, p, len);
    case Kind.Addr6: return putIPv6Value(o, p, len);
    case Kind.Text: {
      store<u8>(o, 34);
      o = putJsonText(o + 1, p, len, len * 6);
      store<u8>(o, 34);
      return o + 1;
    }
    case Kind.AppId: if (len >= 1) {
      store<u8>(o, 34);
      o = putApplicationId(o + 1, p, len);
      store<u8>(o, 34);
      return o + 1;
    } break;
    default: break;
  }
  return putHex(o, p, len);
}

/**
 * Stages the options record at [p, end) of template `t` as a JSON line, when options output is on.
 * A record that does not fit the staging region is counted as output_full and left out.
 */
export function stageOptionsRecord(t: usize, p: usize, end: usize): void {
  if (!enabled) return;
  const limit = OPTIONS_OUT_PTR + <usize>OPTIONS_OUT_CAPACITY;
  const start = OPTIONS_OUT_PTR + stagedBytes;
  let o = start;
  if (staged >= MAX_OPTIONS_OUT || o + 256 > limit) {
    countStatus(Status.OutputFull);
    return;
  }
  o = putText(o, ',"dvc":');
  memory.copy(o, DVC_PTR, ctx.dvcLen);
  o += ctx.dvcLen;
  o = putU64(putText(o, ',"time":'), ctx.timeMs);
  o = putU32(putText(o, ',"version":'), ctx.version);
  o = putU32(putText(o, ',"odid":'), ctx.domain);
  o = putU32(putText(o, ',"tid":'), ctx.tid);
  const fields = <u32>load<u16>(t + T_FIELDS);
  const scope = <u32>load<u16>(t + T_SCOPE);
  const v9Scope = load<u8>(t + T_V9_SCOPE) != 0;
  o = putU32(putText(o, ',"scope_fields":'), scope);
  for (let i: u32 = 0; i < fields; i++) {
    const raw = load<u32>(t + T_RAW0 + (<usize>i << 2));
    const pen = load<u32>(t + T_PEN0 + (<usize>i << 2));
    const ie = pen != 0 ? (raw >>> 16) & 0x7fff : raw >>> 16; // NetFlow v9 types of 32768 and up have no PEN
    let len = raw & 0xffff;
    if (len == VARLEN) {
      // RFC 7011 section 7 (runRecord has checked the record once: these reads stay inside it).
      if (p >= end) return;
      len = <u32>load<u8>(p++);
      if (len == 255) {
        if (p + 2 > end) return;
        len = <u32>bswap<u16>(load<u16>(p));
        p += 2;
      }
    }
    if (p + <usize>len > end) return;
    if (o + 64 + <usize>len * 6 > limit) {
      countStatus(Status.OutputFull);
      return;
    }
    let e: u32 = 0;
    if (v9Scope && i < scope) e = ie < 8 ? <u32>load<u8>(SCOPE_INDEX_PTR + ie) : 0;
    else if (pen == 0 && ie < 512) e = <u32>load<u8>(INDEX_PTR + ie);
    if (e != 0) {
      const k = ENTRIES_PTR + <usize>e * ENTRY_BYTES;
      const n = <usize>load<u8>(k + KEY_LEN_AT);
      memory.copy(o, k, n);
      o = putValue(o + n, <u32>load<u8>(k + KEY_KIND_AT), p, len);
    } else if (v9Scope && i < scope) {
      o = putHex(putText(putU32(putText(o, ',"v9_scope_'), ie), '":'), p, len);
    } else {
      // Any other element by its definition's name and type (IANA's, a vendor's, a user's), as
      // decoder.fields all writes it (lists as hex here); else its unknown name, in hex.
      const d = findDefinition(ctx.version == 9 ? (ie >= 32768 ? V9_VENDOR_PEN : 0) : pen, ie);
      if (d != 0) {
        const key = definitionKey(d);
        const n = <usize>load<u8>(key);
        if (o + n + valueRoom(len) > limit) {
          countStatus(Status.OutputFull);
          return;
        }
        memory.copy(o, key + 1, n);
        o = putScalar(o + n, definitionType(d), p, len);
      } else {
        o = putHex(putUnknownKey(o, pen, ie, ctx.version == 9), p, len);
      }
    }
    p += <usize>len;
  }
  store<u8>(start, 123); // the first key's comma becomes "{"
  store<u8>(o, 125); // "}"
  store<u8>(o + 1, 10); // "\n"
  store<u32>(OPTIONS_INDEX_PTR + (<usize>staged << 2), <u32>(o + 1 - OPTIONS_OUT_PTR));
  stagedBytes = o + 2 - OPTIONS_OUT_PTR;
  staged++;
}

/** Places the staged options records after the data records of this decode (record.ts placeRecord). Called when decode() ends. */
export function placeOptionsRecords(): void {
  if (staged == 0) return;
  let from: usize = 0;
  let placed: u32 = 0;
  for (let k: u32 = 0; k < staged; k++) {
    const newline = <usize>load<u32>(OPTIONS_INDEX_PTR + (<usize>k << 2));
    if (!placeRecord(OPTIONS_OUT_PTR + from, newline - from)) {
      countStatus(Status.OutputFull, staged - k);
      break;
    }
    placed++;
    from = newline + 1;
  }
  bump(C_OPTIONS_RECORDS_WRITTEN, placed);
  staged = 0;
  stagedBytes = 0;
}
