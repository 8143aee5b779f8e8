// Snapshots of the exporters' persistent decode state, so that a restarted gateway (or a
// re-created instance) decodes data from the first datagram, without waiting for the
// exporters to send their templates again. Persistent = per session: templates and options
// templates as sent, the options data in use (samplers, default rate, system init time, the
// names of interfaces, VRFs and applications) and the sequence reading the session learnt. Not
// saved: held sets, sequence positions, counters.
//
// The layout below is the only definition; the host reads the exported offsets. A snapshot
// lies in the output region (written by exportState, or by the host before importState):
//
//   header:  u32 STATE_VERSION | u32 session records | u32 sessions left out (no room) | u32 pad
//   session: u32 byte length (this field included) | 16 address bytes | u32 domain | u16 port |
//            u8 version | u8 flags (F_HAS_SYSINIT, F_SEQ_BEFORE, F_SEQ_INCLUSIVE) |
//            u32 default sampling rate | f64 system init time (ms) | f64 last seen (ms) |
//            u32 templates | u32 pad | MAX_SAMPLERS x (u32 id + 1, u32 rate) | templates | names
//   template: u16 id | u8 kind | u8 v9 scope | u16 fields | u16 scope fields | f64 last defined (ms) |
//            u32 spec hash | u32 spec length | per field: u32 as T_RAW0, then u32 PEN when its bit 31 is set
//   names:    absent (no names: so a record of the shared template topic's kind 2 messages,
//            src/scale/template-message.ts, holds none), or u32 count, then per name:
//            u8 kind (options-names.ts NameKind) | u8 rank | u8 id length | u8 text length | u64 id |
//            its JSON string text (checked on restore)
//
// Address, domain and port are adjacent so the host can tell sessions apart by one byte range.
// Restoring goes through beginCompile / addField / endCompile, like a template set.
import { OUT_PTR, OUT_CAPACITY, MAX_SESSIONS, MAX_TEMPLATES, MAX_FIELDS, MAX_SAMPLERS, MAX_NAMES_PER_SESSION } from "./layout";
import { Status } from "./status";
import { countStatus } from "./counters";
import { sessionUsed, sessionPtr, findOrCreateSession, S_ADDR, S_DOMAIN, S_PORT, S_VERSION, S_FLAGS, S_DEFAULT_RATE,
  S_SYSINIT, S_LAST_SEEN, S_TEMPLATES, S_SAMPLERS, S_PACKETS, S_NAMES, F_HAS_SYSINIT, F_SEQ_BEFORE, F_SEQ_INCLUSIVE } from "./sessions";
import { templateUsed, templatePtr, findTemplate, allocateTemplate, removeTemplate, beginCompile, addField, endCompile,
  T_OWNER, T_ID, T_KIND, T_V9_SCOPE, T_FIELDS, T_SCOPE, T_LAST_SEEN, T_SPEC_HASH, T_SPEC_LEN, T_RAW0, T_PEN0, KIND_DATA, KIND_OPTIONS } from "./templates";
import { templateLifetimeMs } from "./sets";
import { ignorePort } from "./messages";
import { writeNames, keepName, findName, NameKind, RANK_DESCRIPTION, NAME_TEXT_MAX, NAME_RECORD_HEADER } from "./options-names";
import { validJsonText } from "./json-string";

/** Bump on any change to the layout above or to what a restored field means. */
export const STATE_VERSION: u32 = 2;
/** Largest snapshot exportState writes or importState reads (the output region). */
export const STATE_CAPACITY: u32 = OUT_CAPACITY;
export const STATE_HEADER_BYTES: u32 = 16;
/** Offsets in a session record: its byte length (u32), its exporter address (16 bytes). */
export const STATE_SESSION_LENGTH: u32 = 0;
export const STATE_SESSION_ADDRESS: u32 = 4;
/** Address, domain and port from STATE_SESSION_ADDRESS: the bytes that identify a session. */
export const STATE_SESSION_KEY_BYTES: u32 = 22;

// Further offsets the host needs to split a snapshot into one message per template (the shared
// template topic, src/scale/template-message.ts): exported, read and checked by src/decoder/abi.ts.
export const STATE_SESSION_DOMAIN: u32 = 20;
export const STATE_SESSION_PORT: u32 = 24;
export const STATE_SESSION_VERSION: u32 = 26;
export const STATE_SESSION_LAST_SEEN: u32 = 40;
export const STATE_SESSION_TEMPLATES: u32 = 48;
export const STATE_SESSION_HEADER_BYTES: u32 = 56 + MAX_SAMPLERS * 8;
export const STATE_TEMPLATE_ID: u32 = 0;
export const STATE_TEMPLATE_FIELDS: u32 = 4;
export const STATE_TEMPLATE_DEFINED: u32 = 8;
export const STATE_TEMPLATE_HEADER_BYTES: u32 = 24;
/** A field entry (u32) with this bit set is followed by a u32 enterprise number. */
export const STATE_FIELD_ENTERPRISE_BIT: u32 = 0x80000000;

const PERSISTENT_FLAGS: u8 = F_HAS_SYSINIT | F_SEQ_BEFORE | F_SEQ_INCLUSIVE;

const R_DOMAIN: usize = 20;
const R_PORT: usize = 24;
const R_VERSION: usize = 26;
const R_FLAGS: usize = 27;
const R_DEFAULT_RATE: usize = 28;
const R_SYSINIT: usize = 32;
const R_LAST_SEEN: usize = 40;
const R_TEMPLATES: usize = 48;
const R_SAMPLERS: usize = 56;
const R_HEADER: usize = R_SAMPLERS + <usize>MAX_SAMPLERS * 8;

const E_ID: usize = 0;
const E_KIND: usize = 2;
const E_V9_SCOPE: usize = 3;
const E_FIELDS: usize = 4;
const E_SCOPE: usize = 6;
const E_DEFINED: usize = 8;
const E_HASH: usize = 16;
const E_SPEC_LEN: usize = 20;
const E_HEADER: usize = 24;

const ENTERPRISE_BIT: u32 = 0x80000000;

/** A session whose loss would cost something after a restart. */
function worthSaving(s: usize): bool {
  return load<u32>(s + S_TEMPLATES) != 0 || (load<u8>(s + S_FLAGS) & PERSISTENT_FLAGS) != 0 ||
    load<u32>(s + S_DEFAULT_RATE) != 0 || load<u32>(s + S_SAMPLERS) != 0 || load<u32>(s + S_NAMES) != 0;
}

/** Writes the templates of session `idx` from o; returns the end, or 0 when they would pass `end`. */
function writeTemplates(idx: u32, o: usize, end: usize, count: u32): usize {
  let found: u32 = 0;
  for (let i: u32 = 0; i < MAX_TEMPLATES && found < count; i++) {
    if (!templateUsed(i)) continue;
    const t = templatePtr(i);
    if (load<u32>(t + T_OWNER) != idx + 1) continue;
    found++;
    const fields = <u32>load<u16>(t + T_FIELDS);
    if (o + E_HEADER + (<usize>fields << 3) > end) return 0; // checked for the longest case: every field with a PEN
    store<u16>(o + E_ID, load<u16>(t + T_ID));
    store<u8>(o + E_KIND, load<u8>(t + T_KIND));
    store<u8>(o + E_V9_SCOPE, load<u8>(t + T_V9_SCOPE));
    store<u16>(o + E_FIELDS, <u16>fields);
    store<u16>(o + E_SCOPE, load<u16>(t + T_SCOPE));
    store<f64>(o + E_DEFINED, load<f64>(t + T_LAST_SEEN));
    store<u32>(o + E_HASH, load<u32>(t + T_SPEC_HASH));
    store<u32>(o + E_SPEC_LEN, load<u32>(t + T_SPEC_LEN));
    o += E_HEADER;
    for (let f: usize = 0; f < <usize>fields; f++) {
      const raw = load<u32>(t + T_RAW0 + (f << 2));
      store<u32>(o, raw);
      o += 4;
      if ((raw & ENTERPRISE_BIT) != 0) {
        store<u32>(o, load<u32>(t + T_PEN0 + (f << 2)));
        o += 4;
      }
    }
  }
  return o;
}

/**
 * Writes a snapshot of every session worth saving at OUT_PTR (overwriting the last decode's
 * output). A session that does not fit is left out and counted in the header. Returns its length.
 */
export function exportState(): u32 {
  const end = OUT_PTR + <usize>STATE_CAPACITY;
  let o = OUT_PTR + <usize>STATE_HEADER_BYTES;
  let sessions: u32 = 0;
  let leftOut: u32 = 0;
  for (let i: u32 = 0; i < MAX_SESSIONS; i++) {
    if (!sessionUsed(i)) continue;
    const s = sessionPtr(i);
    if (!worthSaving(s)) continue;
    if (o + R_HEADER > end) {
      leftOut++;
      continue;
    }
    const templates = load<u32>(s + S_TEMPLATES);
    let next = writeTemplates(i, o + R_HEADER, end, templates);
    const names = load<u32>(s + S_NAMES);
    if (next != 0 && names != 0) {
      if (next + 4 > end) next = 0;
      else {
        store<u32>(next, names);
        next = writeNames(i, next + 4, end);
      }
    }
    if (next == 0) {
      leftOut++;
      continue;
    }
    store<u32>(o + <usize>STATE_SESSION_LENGTH, <u32>(next - o));
    memory.copy(o + <usize>STATE_SESSION_ADDRESS, s + S_ADDR, 16);
    store<u32>(o + R_DOMAIN, load<u32>(s + S_DOMAIN));
    store<u16>(o + R_PORT, load<u16>(s + S_PORT));
    store<u8>(o + R_VERSION, load<u8>(s + S_VERSION));
    store<u8>(o + R_FLAGS, load<u8>(s + S_FLAGS) & PERSISTENT_FLAGS);
    store<u32>(o + R_DEFAULT_RATE, load<u32>(s + S_DEFAULT_RATE));
    store<f64>(o + R_SYSINIT, load<f64>(s + S_SYSINIT));
    store<f64>(o + R_LAST_SEEN, load<f64>(s + S_LAST_SEEN));
    store<u32>(o + R_TEMPLATES, templates);
    store<u32>(o + R_TEMPLATES + 4, 0);
    memory.copy(o + R_SAMPLERS, s + S_SAMPLERS, <usize>MAX_SAMPLERS * 8);
    o = next;
    sessions++;
  }
  store<u32>(OUT_PTR, STATE_VERSION);
  store<u32>(OUT_PTR + 4, sessions);
  store<u32>(OUT_PTR + 8, leftOut);
  store<u32>(OUT_PTR + 12, 0);
  return <u32>(o - OUT_PTR);
}

@inline function finite(v: f64): bool {
  return v - v == 0; // false for NaN and the infinities
}

/** Whether the session record at [r, end) is well formed: every count and length inside it. */
function validSession(r: usize, end: usize): bool {
  if (!finite(load<f64>(r + R_SYSINIT)) || !finite(load<f64>(r + R_LAST_SEEN))) return false;
  const count = load<u32>(r + R_TEMPLATES);
  if (count > MAX_TEMPLATES) return false;
  let q = r + R_HEADER;
  for (let k: u32 = 0; k < count; k++) {
    if (q + E_HEADER > end) return false;
    const fields = <u32>load<u16>(q + E_FIELDS);
    const kind = load<u8>(q + E_KIND);
    if (<u32>load<u16>(q + E_ID) < 256 || fields == 0 || fields > MAX_FIELDS || <u32>load<u16>(q + E_SCOPE) > fields ||
      (kind != KIND_DATA && kind != KIND_OPTIONS) || load<u8>(q + E_V9_SCOPE) > 1 || !finite(load<f64>(q + E_DEFINED))) return false;
    q += E_HEADER;
    for (let f: u32 = 0; f < fields; f++) {
      if (q + 4 > end) return false;
      const raw = load<u32>(q);
      q += 4;
      if ((raw & ENTERPRISE_BIT) != 0) {
        if (q + 4 > end) return false;
        q += 4;
      }
    }
  }
  if (q == end) return true;
  return namesEnd(q, end) == end;
}

/** The end of the names section at q (u32 count, then entries), or 0 when it is malformed or runs past `end`. */
function namesEnd(q: usize, end: usize): usize {
  if (q + 4 > end) return 0;
  const names = load<u32>(q);
  if (names > MAX_NAMES_PER_SESSION) return 0;
  q += 4;
  for (let k: u32 = 0; k < names; k++) {
    if (q + NAME_RECORD_HEADER > end) return 0;
    const kind = <u32>load<u8>(q);
    const rank = load<u8>(q + 1);
    const idLen = <u32>load<u8>(q + 2);
    const textLen = <u32>load<u8>(q + 3);
    if (kind < <u32>NameKind.Interface || kind > <u32>NameKind.Application || rank > RANK_DESCRIPTION || idLen > 8 ||
      (idLen != 0) != (kind == <u32>NameKind.Application) || textLen == 0 || textLen > NAME_TEXT_MAX) return 0;
    if (q + NAME_RECORD_HEADER + <usize>textLen > end || !validJsonText(q + NAME_RECORD_HEADER, textLen)) return 0;
    q += NAME_RECORD_HEADER + <usize>textLen;
  }
  return q;
}

/** Restores the names section at q (checked by validSession) for session `session`; the ones it has already are kept. */
function restoreNames(session: u32, q: usize): void {
  const names = load<u32>(q);
  q += 4;
  for (let k: u32 = 0; k < names; k++) {
    const textLen = <u32>load<u8>(q + 3);
    const kind = <u32>load<u8>(q);
    const idLen = <u32>load<u8>(q + 2);
    const id = load<u64>(q + 4);
    if (findName(session, kind, id, idLen) < 0) keepName(session, kind, id, idLen, load<u8>(q + 1), q + NAME_RECORD_HEADER, textLen);
    q += NAME_RECORD_HEADER + <usize>textLen;
  }
}

/**
 * Re-creates one session record's state; false when the session table is full. `newerWins`: a
 * template the decoder has already is replaced by a different one defined later (the shared
 * template topic: another instance saw the exporter since), else the decoder's own is kept.
 */
function restoreSession(r: usize, nowMs: f64, newerWins: bool): bool {
  const port: u32 = ignorePort ? 0 : <u32>load<u16>(r + R_PORT);
  const idx = findOrCreateSession(r + <usize>STATE_SESSION_ADDRESS, port, load<u32>(r + R_DOMAIN));
  if (idx < 0) {
    countStatus(Status.ExporterLimit);
    return false;
  }
  const session = <u32>idx;
  const s = sessionPtr(session);
  // A session that already saw datagrams keeps what it learnt live: that is newer.
  if (load<f64>(s + S_PACKETS) == 0 && load<f64>(s + S_LAST_SEEN) == 0) {
    store<u8>(s + S_VERSION, load<u8>(r + R_VERSION));
    store<u8>(s + S_FLAGS, (load<u8>(s + S_FLAGS) & ~PERSISTENT_FLAGS) | (load<u8>(r + R_FLAGS) & PERSISTENT_FLAGS));
    store<u32>(s + S_DEFAULT_RATE, load<u32>(r + R_DEFAULT_RATE));
    store<f64>(s + S_SYSINIT, load<f64>(r + R_SYSINIT));
    store<f64>(s + S_LAST_SEEN, load<f64>(r + R_LAST_SEEN));
    memory.copy(s + S_SAMPLERS, r + R_SAMPLERS, <usize>MAX_SAMPLERS * 8);
  }
  const count = load<u32>(r + R_TEMPLATES);
  const recordEnd = r + <usize>load<u32>(r + <usize>STATE_SESSION_LENGTH);
  let q = r + R_HEADER;
  for (let k: u32 = 0; k < count; k++) {
    const id = <u32>load<u16>(q + E_ID);
    const kind = load<u8>(q + E_KIND);
    const v9Scope = load<u8>(q + E_V9_SCOPE) != 0;
    const fields = <u32>load<u16>(q + E_FIELDS);
    const scope = <u32>load<u16>(q + E_SCOPE);
    const defined = load<f64>(q + E_DEFINED);
    const hash = load<u32>(q + E_HASH);
    const specLen = load<u32>(q + E_SPEC_LEN);
    let p = q + E_HEADER;
    q = p;
    for (let f: u32 = 0; f < fields; f++) q += (load<u32>(q) & ENTERPRISE_BIT) != 0 ? 8 : 4;
    // Past its lifetime now: a received one would be expired too. One defined live stays.
    if (templateLifetimeMs > 0 && nowMs - defined > templateLifetimeMs) continue;
    const existing = findTemplate(session, id);
    if (existing >= 0) {
      if (!newerWins) continue;
      const e = templatePtr(<u32>existing);
      if (load<f64>(e + T_LAST_SEEN) >= defined) continue;
      if (load<u32>(e + T_SPEC_HASH) == hash && load<u32>(e + T_SPEC_LEN) == specLen) {
        store<f64>(e + T_LAST_SEEN, defined); // the same template, sent again elsewhere: it lives on
        continue;
      }
      removeTemplate(<u32>existing);
    }
    const t = allocateTemplate(session, id);
    if (t < 0) {
      countStatus(Status.TemplateLimit);
      continue;
    }
    beginCompile(<u32>t);
    for (let f: u32 = 0; f < fields; f++) {
      const raw = load<u32>(p);
      p += 4;
      let ie = raw >>> 16;
      let pen: u32 = 0;
      if ((raw & ENTERPRISE_BIT) != 0) {
        pen = load<u32>(p);
        p += 4;
        if (pen != 0) ie &= 0x7fff; // an IPFIX enterprise element; NetFlow v9 ids of 32768 and up have no PEN
      }
      addField(ie, pen, raw & 0xffff, v9Scope && f < scope);
    }
    if (!endCompile(kind, fields, scope, defined, hash, specLen)) removeTemplate(<u32>t);
  }
  if (q < recordEnd) restoreNames(session, q);
  return true;
}

/**
 * Re-creates the state in the snapshot of `len` bytes at OUT_PTR, as of `nowMs`. Returns the
 * sessions restored, -1 for a snapshot of another STATE_VERSION, -2 for a malformed one
 * (checked whole before anything changes). `newerWins`: see restoreSession.
 */
export function importState(len: u32, nowMs: f64, newerWins: bool = false): i32 {
  if (len < STATE_HEADER_BYTES || len > STATE_CAPACITY) return -2;
  if (load<u32>(OUT_PTR) != STATE_VERSION) return -1;
  const count = load<u32>(OUT_PTR + 4);
  const end = OUT_PTR + <usize>len;
  let r = OUT_PTR + <usize>STATE_HEADER_BYTES;
  for (let k: u32 = 0; k < count; k++) {
    if (r + R_HEADER > end) return -2;
    const size = <usize>load<u32>(r + <usize>STATE_SESSION_LENGTH);
    if (size < R_HEADER || size > end - r || !validSession(r, r + size)) return -2;
    r += size;
  }
  if (r != end) return -2;
  r = OUT_PTR + <usize>STATE_HEADER_BYTES;
  let restored: i32 = 0;
  for (let k: u32 = 0; k < count; k++) {
    if (restoreSession(r, nowMs, newerWins)) restored++;
    r += <usize>load<u32>(r + <usize>STATE_SESSION_LENGTH);
  }
  return restored;
}
