// Names learnt from options data, written on the data records that name them by id:
//   interfaces    options records scoped by ingressInterface (10) or egressInterface (14), or by
//                 the NetFlow v9 scope type Interface (2), carrying interfaceName (82) or
//                 interfaceDescription (83): data records get in_if_name / out_if_name for their
//                 in_if / out_if.
//   VRFs          scoped by ingressVRFID (234) or egressVRFID (235), carrying VRFname (236):
//                 in_vrf_name / out_vrf_name, next to the ids in_vrf / out_vrf.
//   applications  Cisco NBAR's option template: applicationId (95) with applicationName (96) or
//                 applicationDescription (94): applicationName on records carrying only the id.
// When one options record sends both, the name (82, 96) wins over the description (83, 94),
// and a name learnt from a name element is not replaced by a description sent later: the
// description is only the fallback for exporters that send no name (or an empty one).
//
// applicationId is an octetArray (RFC 6759 section 4: a classification engine id byte, then a
// selector id): written as "engine:selector", both decimal, the selector read as one big-endian
// number (e.g. "13:453", as Cisco shows NBAR ids); a selector of more than 7 bytes in hex.
//
// Names are kept per exporter session (exporter, port, observation domain), at most
// MAX_NAMES_PER_SESSION per session and MAX_NAMES in all, as JSON string text ready to copy
// (json-string.ts: escaped once when learnt, not per record), at most NAME_TEXT_MAX bytes.
// Entries are fixed-size slots with a free list and an open-addressing index keyed by (session,
// kind, id); a session's entries are chained so that freeing the session frees them
// (eviction.ts freeSession) without a scan. Snapshots keep them (state.ts).
import { REC_PTR, NAMES_PTR, NAME_INDEX_PTR, NAME_SIZE, NAME_INDEX_SLOTS, MAX_NAMES, MAX_NAMES_PER_SESSION, OPTIONS_TEXT_PTR } from "./layout";
import { Field, Slot, has } from "./fields";
import { val } from "./values";
import { putU64, HEX_PTR } from "./text";
import { putJsonText, trimNuls } from "./json-string";
import { sessionPtr, sessionProtected, S_NAMES, S_NAME_HEAD, S_IF_NAMES, S_VRF_NAMES, S_APP_NAMES } from "./sessions";
import { evictForNames } from "./eviction";
import { bump, setGauge, C_NAMES_REFUSED_EXPORTER_LIMIT, C_NAMES_REFUSED_TABLE_FULL, C_NAMES_LEARNT, G_NAMES } from "./counters";
import { stateChanged } from "./generation";

/** What a name names (stored and in snapshots). */
export const enum NameKind { Interface = 1, Vrf = 2, Application = 3 }
/** Which element a name came from: the name, or the description used in its place. */
export const RANK_NAME: u8 = 0;
export const RANK_DESCRIPTION: u8 = 1;

// Entry layout (byte offsets).
const N_OWNER: usize = 0; // u32: session + 1 when used; next free slot + 1 (high bit set) when free
const N_KIND: usize = 4; // u8 NameKind
const N_RANK: usize = 5; // u8 RANK_*
const N_ID_LEN: usize = 6; // u8: bytes of an application id (0 for ifIndex and VRF ids)
const N_TEXT_LEN: usize = 7; // u8
const N_PREV: usize = 8; // u16: the session's previous entry + 1
const N_NEXT: usize = 10; // u16
const N_ID: usize = 16; // u64: ifIndex, VRF id, or the application id's bytes as a big-endian number
const N_TEXT: usize = 24;
/** The longest name kept, in bytes of JSON string text (longer ones are cut between characters). */
export const NAME_TEXT_MAX: u32 = NAME_SIZE - <u32>N_TEXT;

// Text region (OPTIONS_TEXT_PTR): the keys of the fields written here, then scratch for one name.
const KEY_BYTES: usize = 32; // key text, its length in the last byte
const FIRST_FIELD: i32 = Field.InIfName;
const KEYS_PTR: usize = OPTIONS_TEXT_PTR;
const SCRATCH_PTR: usize = OPTIONS_TEXT_PTR + 8 * KEY_BYTES;
/** Where options-records.ts keeps its tables in the text region. */
export const OPTIONS_TEXT_USED: usize = 8 * KEY_BYTES + <usize>NAME_TEXT_MAX;

let freeHead: u32 = 0;
let active: u32 = 0;

@inline function namePtr(idx: u32): usize {
  return NAMES_PTR + <usize>idx * NAME_SIZE;
}

function writeKey(field: i32, text: string): void {
  const p = KEYS_PTR + <usize>(field - FIRST_FIELD) * KEY_BYTES;
  for (let i = 0; i < text.length; i++) store<u8>(p + i, <u8>text.charCodeAt(i));
  store<u8>(p + KEY_BYTES - 1, <u8>text.length);
}

/** Forgets every name and writes the keys. Called by init(). */
export function initNames(): void {
  memory.fill(NAME_INDEX_PTR, 0, <usize>NAME_INDEX_SLOTS * 4);
  for (let i: u32 = 0; i < MAX_NAMES; i++) store<u32>(namePtr(i) + N_OWNER, 0x80000000 | (i + 2 <= MAX_NAMES ? i + 2 : 0));
  freeHead = 1;
  active = 0;
  setGauge(G_NAMES, 0);
  writeKey(Field.InIfName, ',"in_if_name":"');
  writeKey(Field.OutIfName, ',"out_if_name":"');
  writeKey(Field.InVrf, ',"in_vrf":');
  writeKey(Field.OutVrf, ',"out_vrf":');
  writeKey(Field.InVrfName, ',"in_vrf_name":"');
  writeKey(Field.OutVrfName, ',"out_vrf_name":"');
  writeKey(Field.applicationId, ',"applicationId":"');
  writeKey(Field.applicationName, ',"applicationName":"');
}

@inline function hashKey(session: u32, kind: u32, id: u64, idLen: u32): u32 {
  let h = (session * 0x9e3779b1) ^ (kind << 24) ^ (idLen << 28);
  h = (h ^ <u32>id) * 0x85ebca6b;
  h = (h ^ <u32>(id >>> 32)) * 0xc2b2ae35;
  return h ^ (h >>> 16);
}

@inline function entryHash(e: usize): u32 {
  return hashKey(load<u32>(e + N_OWNER) - 1, <u32>load<u8>(e + N_KIND), load<u64>(e + N_ID), <u32>load<u8>(e + N_ID_LEN));
}

/** The entry for (session, kind, id), or -1. */
export function findName(session: u32, kind: u32, id: u64, idLen: u32): i32 {
  const mask = NAME_INDEX_SLOTS - 1;
  let i = hashKey(session, kind, id, idLen) & mask;
  while (true) {
    const x = load<u32>(NAME_INDEX_PTR + (<usize>i << 2));
    if (x == 0) return -1;
    const e = namePtr(x - 1);
    if (load<u32>(e + N_OWNER) == session + 1 && <u32>load<u8>(e + N_KIND) == kind && load<u64>(e + N_ID) == id &&
      <u32>load<u8>(e + N_ID_LEN) == idLen) return <i32>(x - 1);
    i = (i + 1) & mask;
  }
}

function kindCount(s: usize, kind: u32): usize {
  return s + (kind == NameKind.Interface ? S_IF_NAMES : kind == NameKind.Vrf ? S_VRF_NAMES : S_APP_NAMES);
}

/** Removes one entry: from the index (backward-shift deletion), its session's chain and counts. */
function removeName(idx: u32): void {
  const e = namePtr(idx);
  const session = load<u32>(e + N_OWNER) - 1;
  const mask = NAME_INDEX_SLOTS - 1;
  let i = entryHash(e) & mask;
  while (load<u32>(NAME_INDEX_PTR + (<usize>i << 2)) != idx + 1) i = (i + 1) & mask;
  let j = i;
  while (true) {
    j = (j + 1) & mask;
    const x = load<u32>(NAME_INDEX_PTR + (<usize>j << 2));
    if (x == 0) break;
    const home = entryHash(namePtr(x - 1)) & mask;
    const inRange = i <= j ? (home > i && home <= j) : (home > i || home <= j);
    if (!inRange) {
      store<u32>(NAME_INDEX_PTR + (<usize>i << 2), x);
      i = j;
    }
  }
  store<u32>(NAME_INDEX_PTR + (<usize>i << 2), 0);
  const s = sessionPtr(session);
  const prev = <u32>load<u16>(e + N_PREV);
  const next = <u32>load<u16>(e + N_NEXT);
  if (prev != 0) store<u16>(namePtr(prev - 1) + N_NEXT, <u16>next);
  else store<u16>(s + S_NAME_HEAD, <u16>next);
  if (next != 0) store<u16>(namePtr(next - 1) + N_PREV, <u16>prev);
  store<u32>(s + S_NAMES, load<u32>(s + S_NAMES) - 1);
  const k = kindCount(s, <u32>load<u8>(e + N_KIND));
  store<u16>(k, load<u16>(k) - 1);
  store<u32>(e + N_OWNER, 0x80000000 | freeHead);
  freeHead = idx + 1;
  active--;
  setGauge(G_NAMES, active);
}

/** Frees every name of session `idx` (it is being freed: eviction.ts freeSession). */
export function dropNamesOf(session: u32): void {
  const s = sessionPtr(session);
  for (let x = <u32>load<u16>(s + S_NAME_HEAD); x != 0; x = <u32>load<u16>(s + S_NAME_HEAD)) removeName(x - 1);
  if (active == 0) setGauge(G_NAMES, 0);
}

/** A free entry registered under (session, kind, id), or -1 (refusal counted). */
function allocateName(session: u32, kind: u32, id: u64, idLen: u32): i32 {
  const s = sessionPtr(session);
  if (load<u32>(s + S_NAMES) >= MAX_NAMES_PER_SESSION) {
    bump(C_NAMES_REFUSED_EXPORTER_LIMIT);
    return -1;
  }
  // A protected exporter takes the room of an unprotected one's names, as for templates.
  if (freeHead == 0 && !(sessionProtected(session) && evictForNames())) {
    bump(C_NAMES_REFUSED_TABLE_FULL);
    return -1;
  }
  const idx = freeHead - 1;
  const e = namePtr(idx);
  freeHead = load<u32>(e + N_OWNER) & 0x7fffffff;
  store<u32>(e + N_OWNER, session + 1);
  store<u8>(e + N_KIND, <u8>kind);
  store<u8>(e + N_ID_LEN, <u8>idLen);
  store<u64>(e + N_ID, id);
  const head = <u32>load<u16>(s + S_NAME_HEAD);
  store<u16>(e + N_PREV, 0);
  store<u16>(e + N_NEXT, <u16>head);
  if (head != 0) store<u16>(namePtr(head - 1) + N_PREV, <u16>(idx + 1));
  store<u16>(s + S_NAME_HEAD, <u16>(idx + 1));
  const mask = NAME_INDEX_SLOTS - 1;
  let i = hashKey(session, kind, id, idLen) & mask;
  while (load<u32>(NAME_INDEX_PTR + (<usize>i << 2)) != 0) i = (i + 1) & mask;
  store<u32>(NAME_INDEX_PTR + (<usize>i << 2), idx + 1);
  store<u32>(s + S_NAMES, load<u32>(s + S_NAMES) + 1);
  const k = kindCount(s, kind);
  store<u16>(k, load<u16>(k) + 1);
  active++;
  setGauge(G_NAMES, active);
  return <i32>idx;
}

/**
 * Keeps `textLen` bytes of JSON string text at `text` as the name of (session, kind, id) from
 * element rank `rank`: added, or replacing a name of the same or a lower rank. Also the way
 * snapshots are restored (state.ts). Returns false when the name was refused (counted).
 */
export function keepName(session: u32, kind: u32, id: u64, idLen: u32, rank: u8, text: usize, textLen: u32): bool {
  let idx = findName(session, kind, id, idLen);
  if (idx >= 0) {
    const e = namePtr(<u32>idx);
    if (rank > load<u8>(e + N_RANK)) return true; // a description does not replace a name
    if (load<u8>(e + N_RANK) == rank && <u32>load<u8>(e + N_TEXT_LEN) == textLen && memory.compare(e + N_TEXT, text, textLen) == 0) return true;
  } else {
    idx = allocateName(session, kind, id, idLen);
    if (idx < 0) return false;
  }
  const e = namePtr(<u32>idx);
  store<u8>(e + N_RANK, rank);
  store<u8>(e + N_TEXT_LEN, <u8>textLen);
  memory.copy(e + N_TEXT, text, textLen);
  bump(C_NAMES_LEARNT);
  stateChanged();
  return true;
}

/** Where the bytes of a reference slot (Action.Ref) are, and how many. */
@inline export function refPtr(slot: Slot): usize {
  return <usize>load<u32>(REC_PTR + (<usize>slot << 3));
}

@inline export function refLen(slot: Slot): u32 {
  return load<u32>(REC_PTR + (<usize>slot << 3) + 4);
}

/**
 * The name element of an options record (rank 0), else its description (rank 1), as JSON text
 * in the scratch area: its length, 0 when neither says anything. Sets `pickedRank`.
 */
let pickedRank: u8 = RANK_NAME;
function pickText(mask: u64, name: Slot, description: Slot): u32 {
  if (has(mask, name)) {
    const n = <u32>(putJsonText(SCRATCH_PTR, refPtr(name), refLen(name), NAME_TEXT_MAX) - SCRATCH_PTR);
    if (n > 0) {
      pickedRank = RANK_NAME;
      return n;
    }
  }
  if (has(mask, description)) {
    pickedRank = RANK_DESCRIPTION;
    return <u32>(putJsonText(SCRATCH_PTR, refPtr(description), refLen(description), NAME_TEXT_MAX) - SCRATCH_PTR);
  }
  return 0;
}

/** An application id (the record's AppId reference) as a table key: its bytes as a big-endian number; false when longer than 8 bytes. */
let appKey: u64 = 0;
function readAppKey(): bool {
  const len = refLen(Slot.AppId);
  if (len > 8) return false;
  const p = refPtr(Slot.AppId);
  let v: u64 = 0;
  for (let i: u32 = 0; i < len; i++) v = (v << 8) | <u64>load<u8>(p + i);
  appKey = v;
  return true;
}

/** Takes in the names an options record of session `session` carries (called per options record, after runRecord). */
export function learnNames(mask: u64, session: u32): void {
  if (has(mask, Slot.IfName) || has(mask, Slot.IfDesc)) {
    const id = has(mask, Slot.InIf) ? val(Slot.InIf) : has(mask, Slot.OutIf) ? val(Slot.OutIf) : U64.MAX_VALUE;
    if (id != U64.MAX_VALUE) {
      const n = pickText(mask, Slot.IfName, Slot.IfDesc);
      if (n > 0) keepName(session, NameKind.Interface, id, 0, pickedRank, SCRATCH_PTR, n);
    }
  }
  if (has(mask, Slot.VrfName)) {
    const id = has(mask, Slot.VrfIn) ? val(Slot.VrfIn) : has(mask, Slot.VrfOut) ? val(Slot.VrfOut) : U64.MAX_VALUE;
    if (id != U64.MAX_VALUE) {
      const n = pickText(mask, Slot.VrfName, Slot.VrfName);
      if (n > 0) keepName(session, NameKind.Vrf, id, 0, RANK_NAME, SCRATCH_PTR, n);
    }
  }
  if ((has(mask, Slot.AppName) || has(mask, Slot.AppDesc)) && has(mask, Slot.AppId) && readAppKey()) {
    const n = pickText(mask, Slot.AppName, Slot.AppDesc);
    if (n > 0) keepName(session, NameKind.Application, appKey, refLen(Slot.AppId), pickedRank, SCRATCH_PTR, n);
  }
}

/** Copies key `field` (one of this module's) to `o`; returns the new cursor. */
@inline function putNameKey(o: usize, field: Field): usize {
  const k = KEYS_PTR + <usize>(<i32>field - FIRST_FIELD) * KEY_BYTES;
  store<u64>(o, load<u64>(k)); store<u64>(o + 8, load<u64>(k + 8)); store<u64>(o + 16, load<u64>(k + 16));
  return o + <usize>load<u8>(k + KEY_BYTES - 1);
}

/** `,"key":"name"` for the name of (session, kind, id) when one is known. */
function putLookedUp(o: usize, field: Field, session: u32, kind: u32, id: u64, idLen: u32): usize {
  const idx = findName(session, kind, id, idLen);
  if (idx < 0) return o;
  const e = namePtr(<u32>idx);
  o = putNameKey(o, field);
  const n = <usize>load<u8>(e + N_TEXT_LEN);
  memory.copy(o, e + N_TEXT, n);
  store<u8>(o + n, 34);
  return o + n + 1;
}

@inline function selected(fields: u64, field: Field): bool {
  return (fields & (<u64>1 << <u64>field)) != 0;
}

/** The application id of the record just read as "engine:selector" (see the top of this file). */
export function putApplicationId(o: usize, p: usize, len: u32): usize {
  o = putU64(o, <u64>load<u8>(p));
  store<u8>(o++, 58); // ":"
  if (len <= 8) {
    let v: u64 = 0;
    for (let i: u32 = 1; i < len; i++) v = (v << 8) | <u64>load<u8>(p + i);
    return putU64(o, v);
  }
  for (let i: u32 = 1; i < len; i++) {
    store<u16>(o, load<u16>(HEX_PTR + (<usize>load<u8>(p + i) << 1)));
    o += 2;
  }
  return o;
}

/** The longest application id written in full; a longer one is cut (its record must stay within OUT_SLACK). */
const APP_ID_MAX: u32 = 64;

/**
 * Writes the selected fields of this module for the data record just read (presence mask
 * `mask`, session `session`): names when known, VRF ids and the application id when sent. At
 * most about 700 bytes. Returns the new cursor.
 */
export function putNameFields(o: usize, mask: u64, session: u32, s: usize, fields: u64): usize {
  const names = load<u32>(s + S_NAMES) != 0;
  if (names && load<u16>(s + S_IF_NAMES) != 0) {
    if (selected(fields, Field.InIfName) && has(mask, Slot.InIf)) o = putLookedUp(o, Field.InIfName, session, NameKind.Interface, val(Slot.InIf), 0);
    if (selected(fields, Field.OutIfName) && has(mask, Slot.OutIf)) o = putLookedUp(o, Field.OutIfName, session, NameKind.Interface, val(Slot.OutIf), 0);
  }
  if (selected(fields, Field.InVrf) && has(mask, Slot.VrfIn)) o = putU64(putNameKey(o, Field.InVrf), val(Slot.VrfIn));
  if (selected(fields, Field.OutVrf) && has(mask, Slot.VrfOut)) o = putU64(putNameKey(o, Field.OutVrf), val(Slot.VrfOut));
  if (names && load<u16>(s + S_VRF_NAMES) != 0) {
    if (selected(fields, Field.InVrfName) && has(mask, Slot.VrfIn)) o = putLookedUp(o, Field.InVrfName, session, NameKind.Vrf, val(Slot.VrfIn), 0);
    if (selected(fields, Field.OutVrfName) && has(mask, Slot.VrfOut)) o = putLookedUp(o, Field.OutVrfName, session, NameKind.Vrf, val(Slot.VrfOut), 0);
  }
  if (!has(mask, Slot.AppId) && !has(mask, Slot.AppName)) return o;
  if (selected(fields, Field.applicationId) && has(mask, Slot.AppId)) {
    const len = refLen(Slot.AppId);
    o = putApplicationId(putNameKey(o, Field.applicationId), refPtr(Slot.AppId), len < APP_ID_MAX ? len : APP_ID_MAX);
    store<u8>(o++, 34);
  }
  if (selected(fields, Field.applicationName)) {
    // The record's own name first; else the name its options data gave the id.
    if (has(mask, Slot.AppName) && trimNuls(refPtr(Slot.AppName), refLen(Slot.AppName)) > 0) {
      o = putJsonText(putNameKey(o, Field.applicationName), refPtr(Slot.AppName), refLen(Slot.AppName), NAME_TEXT_MAX);
      store<u8>(o++, 34);
    } else if (names && has(mask, Slot.AppId) && load<u16>(s + S_APP_NAMES) != 0 && readAppKey()) {
      o = putLookedUp(o, Field.applicationName, session, NameKind.Application, appKey, refLen(Slot.AppId));
    }
  }
  return o;
}

// Snapshots (state.ts): a session's names as (kind, rank, id length, text length, id, text) entries.
export const NAME_RECORD_HEADER: usize = 12;

/** Writes session `session`'s names from o as snapshot entries (u8 kind | u8 rank | u8 id length | u8 text length | u64 id | text); returns the end, or 0 past `end`. */
export function writeNames(session: u32, o: usize, end: usize): usize {
  const s = sessionPtr(session);
  for (let x = <u32>load<u16>(s + S_NAME_HEAD); x != 0; x = <u32>load<u16>(namePtr(x - 1) + N_NEXT)) {
    const e = namePtr(x - 1);
    const n = <usize>load<u8>(e + N_TEXT_LEN);
    if (o + NAME_RECORD_HEADER + n > end) return 0;
    store<u8>(o, load<u8>(e + N_KIND));
    store<u8>(o + 1, load<u8>(e + N_RANK));
    store<u8>(o + 2, load<u8>(e + N_ID_LEN));
    store<u8>(o + 3, <u8>n);
    store<u64>(o + 4, load<u64>(e + N_ID));
    memory.copy(o + NAME_RECORD_HEADER, e + N_TEXT, n);
    o += NAME_RECORD_HEADER + n;
  }
  return o;
}
