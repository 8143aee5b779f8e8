// Template cache (RFC 7011 section 8; RFC 3954 section 5.2). A template arrives as a list
// of (element, length) and is compiled once into steps: (length, action, value offset),
// adjacent skips merged, the losing one of two elements for a slot turned into a skip.
// Records then run the steps. Slots have a fixed size; templates are found through an
// open-addressing index keyed by (session, template id).
import { MAX_FIELDS, MAX_TEMPLATES, TEMPLATE_INDEX_SLOTS, TEMPLATE_SIZE, TEMPLATES_PTR, TEMPLATE_INDEX_PTR, SCRATCH_PTR, COMPILE_SCRATCH_PTR } from "./layout";
import { Action, lookupElement, lengthFits } from "./elements";
import { slotOffset } from "./fields";
import { G_TEMPLATES, setGauge } from "./counters";
import { sessionPtr, sessionProtected, S_TEMPLATES, S_TEMPLATE_HEAD } from "./sessions";
import { evictForTemplate } from "./eviction";
import { stateChanged } from "./generation";
import { isHeaderSlot, resetHeaders, deferHeaderField, assignHeaders, headerFieldCount, headerFieldStep, headerFieldSlot,
  headerFieldRank, headerFieldAction, headerOf } from "./headers";
import { allFields, compileAnyFields } from "./any-element";

// Slot layout (byte offsets).
export const T_OWNER: usize = 0; // u32: session + 1 when used; next free slot + 1 (high bit set) when free
export const T_ID: usize = 4; // u16
export const T_KIND: usize = 6; // u8: KIND_DATA or KIND_OPTIONS
export const T_HAS_VAR: usize = 7; // u8
export const T_STEPS: usize = 8; // u16 step count
export const T_MIN_LEN: usize = 10; // u16: shortest possible record
export const T_FIELDS: usize = 12; // u16 field count as sent
export const T_SCOPE: usize = 14; // u16 scope field count
export const T_MASK: usize = 16; // u64 presence mask of value slots
export const T_LAST_SEEN: usize = 24; // f64 ms
export const T_SPEC_HASH: usize = 32; // u32 hash of the template record as sent
export const T_SPEC_LEN: usize = 36; // u32 its length
export const T_V9_SCOPE: usize = 40; // u8: 1 when its scope fields were NetFlow v9 scope types (compiled as skips)
// The templates of one session are chained (slot + 1 as u16, 0 = none; the head is the session's
// S_TEMPLATE_HEAD), so that evicting a session frees its templates without a scan of the table.
export const T_SESSION_PREV: usize = 42; // u16
export const T_SESSION_NEXT: usize = 44; // u16
export const T_STEP0: usize = 48; // steps: u16 length (0xffff = variable), u8 action (an Op once compiled), u8 value offset / 4
export const T_RAW0: usize = T_STEP0 + 4 * <usize>MAX_FIELDS; // fields as sent: TemplateField words
export const T_PEN0: usize = T_RAW0 + 4 * <usize>MAX_FIELDS; // u32 per field: its enterprise number (0: none), so a snapshot can re-create it

/** Template kinds as stored and described (exported: describeTemplates() writes them). */
export const enum TemplateKind { Data = 1, Options = 2 }
export const KIND_DATA: u8 = <u8>TemplateKind.Data;
export const KIND_OPTIONS: u8 = <u8>TemplateKind.Options;

/**
 * One field as sent, as kept at T_RAW0 and written by describeTemplates() (exported): a u32
 * of `Bytes` bytes holding the element id at IdShift (IdMask wide), the enterprise bit at
 * EnterpriseBit and the length (65535 = variable) under LengthMask.
 */
export const enum TemplateField { Bytes = 4, IdShift = 16, IdMask = 0x7fff, EnterpriseBit = 31, LengthMask = 0xffff }
export const VARLEN: u32 = 0xffff;

/**
 * What a compiled step does: an element's action specialised by its length, so a record
 * runs one dispatch per field. Skip and SkipVar keep the numbers of Action.Skip / SkipVar.
 */
export const enum Op {
  Skip = 0, SkipVar = 1, U8 = 2, U16 = 3, U32 = 4, U64 = 5, UintN = 6, Addr4 = 7, Addr6 = 8,
  Sec32 = 9, SecN = 10, Ntp = 11, Ref = 12,
}

function stepOp(action: u32, length: u32): Op {
  switch (action) {
    case Action.Skip: return Op.Skip;
    case Action.SkipVar: return Op.SkipVar;
    case Action.Uint: case Action.TimeMs: // milliseconds are the value as sent
      return length == 1 ? Op.U8 : length == 2 ? Op.U16 : length == 4 ? Op.U32 : length == 8 ? Op.U64 : Op.UintN;
    case Action.Addr4: return Op.Addr4;
    case Action.Addr6: return Op.Addr6;
    case Action.TimeSec: return length == 4 ? Op.Sec32 : Op.SecN;
    case Action.TimeNtp: return Op.Ntp;
    case Action.Ref: return Op.Ref;
    default: return Op.Skip;
  }
}

let freeHead: u32 = 0;
let active: u32 = 0;
let perSessionLimit: u32 = 256;

// Compile scratch: per value slot, the rank and step index of the element that owns it.
@inline function ownerRankPtr(): usize { return SCRATCH_PTR; }
@inline function ownerStepPtr(): usize { return SCRATCH_PTR + 64; }
// Per field as sent: the value slot its step fills (0xff: none), and its header (headers.ts).
@inline function fieldSlotPtr(): usize { return COMPILE_SCRATCH_PTR + 2048; }
@inline export function fieldHeaderPtr(): usize { return COMPILE_SCRATCH_PTR + 2048 + <usize>MAX_FIELDS; }

@inline export function templatePtr(idx: u32): usize {
  return TEMPLATES_PTR + <usize>idx * TEMPLATE_SIZE;
}

export function initTemplates(maxPerSession: u32): void {
  perSessionLimit = maxPerSession == 0 ? 256 : maxPerSession;
  memory.fill(TEMPLATE_INDEX_PTR, 0, <usize>TEMPLATE_INDEX_SLOTS * 4);
  for (let i: u32 = 0; i < MAX_TEMPLATES; i++) {
    store<u32>(templatePtr(i) + T_OWNER, 0x80000000 | (i + 2 <= MAX_TEMPLATES ? i + 2 : 0));
  }
  freeHead = 1;
  active = 0;
  setGauge(G_TEMPLATES, 0);
}

@inline function hashKey(session: u32, id: u32): u32 {
  const h = ((session << 16) ^ id) * 0x9e3779b1;
  return h ^ (h >>> 16);
}

/** The template for (session, id), or -1. */
export function findTemplate(session: u32, id: u32): i32 {
  const mask = TEMPLATE_INDEX_SLOTS - 1;
  let i = hashKey(session, id) & mask;
  while (true) {
    const e = load<u32>(TEMPLATE_INDEX_PTR + (<usize>i << 2));
    if (e == 0) return -1;
    const t = templatePtr(e - 1);
    if (load<u32>(t + T_OWNER) == session + 1 && <u32>load<u16>(t + T_ID) == id) return <i32>(e - 1);
    i = (i + 1) & mask;
  }
}

/** Removes a template from the index and frees its slot. */
export function removeTemplate(idx: u32): void {
  const t = templatePtr(idx);
  const session = load<u32>(t + T_OWNER) - 1;
  const mask = TEMPLATE_INDEX_SLOTS - 1;
  let i = hashKey(session, <u32>load<u16>(t + T_ID)) & mask;
  while (load<u32>(TEMPLATE_INDEX_PTR + (<usize>i << 2)) != idx + 1) i = (i + 1) & mask;
  let j = i;
  while (true) {
    j = (j + 1) & mask;
    const e = load<u32>(TEMPLATE_INDEX_PTR + (<usize>j << 2));
    if (e == 0) break;
    const o = templatePtr(e - 1);
    const home = hashKey(load<u32>(o + T_OWNER) - 1, <u32>load<u16>(o + T_ID)) & mask;
    const inRange = i <= j ? (home > i && home <= j) : (home > i || home <= j);
    if (!inRange) {
      store<u32>(TEMPLATE_INDEX_PTR + (<usize>i << 2), e);
      i = j;
    }
  }
  store<u32>(TEMPLATE_INDEX_PTR + (<usize>i << 2), 0);
  store<u32>(t + T_OWNER, 0x80000000 | freeHead);
  freeHead = idx + 1;
  active--;
  setGauge(G_TEMPLATES, active);
  const s = sessionPtr(session);
  const prev = <u32>load<u16>(t + T_SESSION_PREV);
  const next = <u32>load<u16>(t + T_SESSION_NEXT);
  if (prev != 0) store<u16>(templatePtr(prev - 1) + T_SESSION_NEXT, <u16>next);
  else store<u16>(s + S_TEMPLATE_HEAD, <u16>next);
  if (next != 0) store<u16>(templatePtr(next - 1) + T_SESSION_PREV, <u16>prev);
  store<u32>(s + S_TEMPLATES, load<u32>(s + S_TEMPLATES) - 1);
  stateChanged();
}

/**
 * A free slot registered under (session, id), or -1 when the per-session or total limit is reached.
 * A protected session finds the table full only when no unprotected session owns a template:
 * the least recently used one that does is evicted first.
 */
export function allocateTemplate(session: u32, id: u32): i32 {
  const s = sessionPtr(session);
  if (load<u32>(s + S_TEMPLATES) >= perSessionLimit) return -1;
  if (freeHead == 0 && !(sessionProtected(session) && evictForTemplate())) return -1;
  const idx = freeHead - 1;
  const t = templatePtr(idx);
  freeHead = load<u32>(t + T_OWNER) & 0x7fffffff;
  store<u32>(t + T_OWNER, session + 1);
  store<u16>(t + T_ID, <u16>id);
  const head = <u32>load<u16>(s + S_TEMPLATE_HEAD);
  store<u16>(t + T_SESSION_PREV, 0);
  store<u16>(t + T_SESSION_NEXT, <u16>head);
  if (head != 0) store<u16>(templatePtr(head - 1) + T_SESSION_PREV, <u16>(idx + 1));
  store<u16>(s + S_TEMPLATE_HEAD, <u16>(idx + 1));
  const mask = TEMPLATE_INDEX_SLOTS - 1;
  let i = hashKey(session, id) & mask;
  while (load<u32>(TEMPLATE_INDEX_PTR + (<usize>i << 2)) != 0) i = (i + 1) & mask;
  store<u32>(TEMPLATE_INDEX_PTR + (<usize>i << 2), idx + 1);
  active++;
  setGauge(G_TEMPLATES, active);
  store<u32>(s + S_TEMPLATES, load<u32>(s + S_TEMPLATES) + 1);
  return <i32>idx;
}

@inline export function templateUsed(idx: u32): bool {
  return (load<u32>(templatePtr(idx) + T_OWNER) & 0x80000000) == 0;
}

/** Hash of a template record's bytes, to tell a refresh from a redefinition. */
export function specHash(p: usize, len: u32): u32 {
  let h: u32 = 0x811c9dc5;
  for (let i: u32 = 0; i < len; i++) h = (h ^ load<u8>(p + i)) * 0x01000193;
  return h;
}

let compiling: usize = 0;
let compilingIdx: u32 = 0;
let stepCount: u32 = 0;
let minLen: u32 = 0;
let hasVar: bool = false;
let presence: u64 = 0;

/** Starts compiling into template slot `idx`. */
export function beginCompile(idx: u32): void {
  compiling = templatePtr(idx);
  compilingIdx = idx;
  stepCount = 0;
  minLen = 0;
  hasVar = false;
  presence = 0;
  rawCount = 0;
  v9Scope = false;
  memory.fill(ownerRankPtr(), 0xff, 64);
  memory.fill(fieldSlotPtr(), 0xff, <usize>MAX_FIELDS);
  memory.fill(fieldHeaderPtr(), 0, <usize>MAX_FIELDS);
  resetHeaders();
}

@inline function putStep(length: u32, action: u32, offset4: u32): void {
  const p = compiling + T_STEP0 + (<usize>stepCount << 2);
  store<u16>(p, <u16>length);
  store<u8>(p + 2, <u8>action);
  store<u8>(p + 3, <u8>offset4);
  stepCount++;
}

let rawCount: u32 = 0;
let v9Scope: bool = false;

/** NetFlow v9 scope field type "Interface" (RFC 3954 section 6.1): its value is an ifIndex, read as ingressInterface. */
const V9_SCOPE_INTERFACE: u32 = 2;

/**
 * Adds one field; `scope` fields are NetFlow v9 scope types, not elements: skipped, but for the
 * interface scope, whose ifIndex keys interface names (options-names.ts).
 */
export function addField(ie: u32, pen: u32, length: u32, scope: bool): void {
  if (rawCount < MAX_FIELDS) {
    const enterprise: u32 = pen != 0 ? 1 << TemplateField.EnterpriseBit : 0;
    store<u32>(compiling + T_RAW0 + <usize>rawCount * TemplateField.Bytes,
      (ie << TemplateField.IdShift) | enterprise | (length & TemplateField.LengthMask));
    store<u32>(compiling + T_PEN0 + (<usize>rawCount << 2), pen);
    rawCount++;
  }
  if (scope) v9Scope = true;
  const e: u32 = scope ? (ie == V9_SCOPE_INTERFACE ? lookupElement(10, 0) : 0) : lookupElement(ie, pen);
  const action = e & 0xff;
  if (length == VARLEN) {
    hasVar = true;
    minLen += 1;
    // Only references read a variable-length value: the others skip it.
    if (action != Action.Ref) {
      putStep(VARLEN, Action.SkipVar, 0);
      return;
    }
  } else {
    minLen += length;
  }
  if (e == 0 || (length != VARLEN && (!lengthFits(action, length) || length == 0))) {
    putStep(length, Action.Skip, 0);
    return;
  }
  const slot = (e >>> 8) & 0xff;
  const rank = (e >>> 16) & 0xff;
  const step = stepCount;
  putStep(length, length == VARLEN ? Action.SkipVar : Action.Skip, 0); // until the element gets its slot
  // Addresses, ports and protocol wait until the template's headers are known (headers.ts).
  if (isHeaderSlot(slot)) deferHeaderField(step, ie, slot, rank, action);
  else claimSlot(step, slot, rank, action);
}

/** Gives value slot `slot` to step `step` unless an earlier element of better or equal rank holds it. */
function claimSlot(step: u32, slot: u32, rank: u32, action: u32): void {
  const ownerRank = <u32>load<u8>(ownerRankPtr() + slot);
  if (ownerRank != 0xff && ownerRank <= rank) return; // a repeated or lower-ranked element: the first or better one stays
  if (ownerRank != 0xff) {
    // The earlier element ranks lower: it becomes a skip.
    const oldStep = <u32>load<u16>(ownerStepPtr() + (<usize>slot << 1));
    const old = compiling + T_STEP0 + (<usize>oldStep << 2);
    store<u8>(old + 2, <u8>(<u32>load<u16>(old) == VARLEN ? Action.SkipVar : Action.Skip));
    store<u8>(fieldSlotPtr() + oldStep, 0xff);
  }
  store<u8>(ownerRankPtr() + slot, <u8>rank);
  store<u16>(ownerStepPtr() + (<usize>slot << 1), <u16>step);
  presence |= <u64>1 << slot;
  const p = compiling + T_STEP0 + (<usize>step << 2);
  store<u8>(p + 2, <u8>action);
  store<u8>(p + 3, <u8>(slotOffset(slot) >>> 2));
  store<u8>(fieldSlotPtr() + step, <u8>slot);
}

/** The value slot field `i` of the template being compiled fills (0xff: none). */
@inline export function compiledFieldSlot(i: u32): u32 {
  return <u32>load<u8>(fieldSlotPtr() + i);
}

/** Finishes the template: merges adjacent fixed skips and writes the header. Returns false for a template whose records would be empty. */
export function endCompile(kind: u8, fieldCount: u32, scopeCount: u32, now: f64, hash: u32, specLen: u32): bool {
  const t = compiling;
  // The outer header's elements take their slots; the others stay skips (headers.ts).
  assignHeaders();
  for (let i: u32 = 0; i < headerFieldCount(); i++) {
    const header = headerOf(i);
    const step = headerFieldStep(i);
    store<u8>(fieldHeaderPtr() + step, <u8>header);
    if (header == 0) claimSlot(step, headerFieldSlot(i), headerFieldRank(i), headerFieldAction(i));
    else store<u8>(fieldSlotPtr() + step, <u8>headerFieldSlot(i)); // the slot it would fill: its inner_ name
  }
  if (allFields) compileAnyFields(compilingIdx, t, rawCount);
  // Merge runs of fixed skips in place.
  let w: u32 = 0;
  for (let r: u32 = 0; r < stepCount; r++) {
    const p = t + T_STEP0 + (<usize>r << 2);
    const len = <u32>load<u16>(p);
    const action = <u32>load<u8>(p + 2);
    if (action == Action.Skip && w > 0) {
      const prev = t + T_STEP0 + (<usize>(w - 1) << 2);
      const prevLen = <u32>load<u16>(prev);
      if (<u32>load<u8>(prev + 2) == Action.Skip && prevLen + len < VARLEN) {
        store<u16>(prev, <u16>(prevLen + len));
        continue;
      }
    }
    store<u32>(t + T_STEP0 + (<usize>w << 2), load<u32>(p));
    w++;
  }
  for (let r: u32 = 0; r < w; r++) {
    const p = t + T_STEP0 + (<usize>r << 2);
    store<u8>(p + 2, <u8>stepOp(<u32>load<u8>(p + 2), <u32>load<u16>(p)));
  }
  store<u8>(t + T_KIND, kind);
  store<u8>(t + T_HAS_VAR, hasVar ? 1 : 0);
  store<u16>(t + T_STEPS, <u16>w);
  store<u16>(t + T_MIN_LEN, <u16>(minLen > 0xffff ? 0xffff : minLen));
  store<u16>(t + T_FIELDS, <u16>fieldCount);
  store<u16>(t + T_SCOPE, <u16>scopeCount);
  store<u64>(t + T_MASK, presence);
  store<f64>(t + T_LAST_SEEN, now);
  store<u32>(t + T_SPEC_HASH, hash);
  store<u32>(t + T_SPEC_LEN, specLen);
  store<u8>(t + T_V9_SCOPE, v9Scope ? 1 : 0);
  stateChanged();
  return minLen > 0 && minLen < 0xffff;
}

export { MAX_FIELDS };
