// Transport sessions: one per (exporter address, exporter UDP port, observation domain).
// Templates, sampling rates, systemInitTime and sequence tracking hang off a session.
// The port is left out of the key (0) when the host asks for it, for exporters that
// change source ports. Fixed-size slots, a free list and an open-addressing index.
//
// Forged source addresses must not be able to take every slot from real exporters: a session is
// "protected" when the host says its exporter is one it knows (a tenant's, or on the admission
// allow list: decode()'s `protectedExporter`). Unprotected sessions are threaded on an intrusive
// doubly-linked list in least-recently-used order, touched in O(1) per datagram; when the table
// (or the template table, or held room) is full, the least recently used one is evicted
// (eviction.ts) instead of refusing the newcomer. Protected sessions are on no list and are
// never evicted; only when every session is protected is a new one refused (exporter_limit).
import { MAX_SESSIONS, SESSION_INDEX_SLOTS, SESSION_SIZE, SESSIONS_PTR, SESSION_INDEX_PTR, MAX_SAMPLERS } from "./layout";
import { G_SESSIONS, setGauge } from "./counters";
import { stateChanged } from "./generation";

// Slot layout (byte offsets).
export const S_USED: usize = 0; // u32: 1 when used; next free slot + 1 when free
export const S_PORT: usize = 4; // u16
export const S_FLAGS: usize = 6; // u8: F_SEQ_INIT | F_HAS_SYSINIT | F_SEQ_* | F_RELIABLE
export const S_VERSION: usize = 7; // u8: last message version
export const S_DOMAIN: usize = 8; // u32
export const S_TEMPLATES: usize = 12; // u32: templates owned
export const S_ADDR: usize = 16; // 16 bytes
export const S_SYSINIT: usize = 32; // f64 ms since epoch (IE 160)
export const S_LAST_SEEN: usize = 40; // f64 ms
export const S_BASE_SEQ: usize = 48; // u32
export const S_LAST_SEQ: usize = 52; // u32
export const S_UNITS: usize = 56; // f64: sequence units (records, or v9 packets) seen since the base
export const S_RECORDS_SINCE: usize = 64; // f64: data records seen since the base
export const S_FIRST_UNITS: usize = 72; // f64: units of the base message
export const S_LOST_REPORTED: usize = 80; // f64: lost records counted since the base
export const S_LAST_UPTIME: usize = 88; // u32: v9/v5 sysUptime of the last message
export const S_DEFAULT_RATE: usize = 92; // u32: sampling rate announced without a sampler id
export const S_HELD_BYTES: usize = 96; // u32
export const S_SEQ_CANDIDATE: usize = 100; // u32: sequence number of the last out-of-window datagram (F_SEQ_CANDIDATE)
export const S_PACKETS: usize = 104; // f64
export const S_RECORDS: usize = 112; // f64
export const S_LOST_TOTAL: usize = 120; // f64
export const S_SAMPLERS: usize = 128; // MAX_SAMPLERS x (u32 id + 1, u32 rate), up to 256
// Eviction bookkeeping, on a line of its own (slot indexes + 1 as u16: MAX_SESSIONS and MAX_TEMPLATES fit; 0 = none).
export const S_LRU_PREV: usize = 256; // u16: the next more recently used unprotected session
export const S_LRU_NEXT: usize = 258; // u16: the next less recently used unprotected session
export const S_TEMPLATE_HEAD: usize = 260; // u16: first template the session owns (templates.ts T_SESSION_NEXT chains the rest)
export const S_PROTECTED: usize = 262; // u8: 1 when the host vouches for the exporter (never on the LRU list)
// Names learnt from the session's options data (options-names.ts): how many, by kind, and the first (the chain goes on in the entries).
export const S_NAMES: usize = 264; // u32: all kinds
export const S_NAME_HEAD: usize = 268; // u16: first name entry + 1 (0 = none)
export const S_IF_NAMES: usize = 270; // u16
export const S_VRF_NAMES: usize = 272; // u16
export const S_APP_NAMES: usize = 274; // u16
// The exporter the session's options data stated last (IE 130 / 131; relay.ts), 16 bytes, IPv4 as ::ffff:a.b.c.d;
// all zero: none. Read only for relays' datagrams; not kept in state snapshots (the relay's exporter sends it again).
export const S_STATED: usize = 280;

export const F_SEQ_INIT: u8 = 1;
export const F_HAS_SYSINIT: u8 = 2;
/** Which sequence reading the exporter follows, once a message has told (see trackSequence). */
export const F_SEQ_BEFORE: u8 = 4;
export const F_SEQ_INCLUSIVE: u8 = 8;
/** The last datagram's sequence number was out of window: S_SEQ_CANDIDATE holds it (see trackSequence). */
export const F_SEQ_CANDIDATE: u8 = 16;
/**
 * The session's messages come over a reliable transport (TCP): its templates live as long as the
 * connection (RFC 7011 section 8), not template_lifetime_s, and the session is not idle-swept; the
 * host ends it with endTransportSession when the connection closes. Not persistent (state.ts).
 */
export const F_RELIABLE: u8 = 32;

/** Whether session `idx` lives on a reliable transport (F_RELIABLE). */
@inline export function sessionReliable(idx: u32): bool {
  return (load<u8>(sessionPtr(idx) + S_FLAGS) & F_RELIABLE) != 0;
}

let freeHead: u32 = 0; // slot + 1, 0 = none
let active: u32 = 0;
let limit: u32 = MAX_SESSIONS;
// The unprotected sessions, most recently used first (slot + 1, 0 = none).
let lruHead: u32 = 0;
let lruTail: u32 = 0;

@inline export function sessionPtr(idx: u32): usize {
  return SESSIONS_PTR + <usize>idx * SESSION_SIZE;
}

export function initSessions(maxSessions: u32): void {
  limit = maxSessions == 0 || maxSessions > MAX_SESSIONS ? MAX_SESSIONS : maxSessions;
  memory.fill(SESSIONS_PTR, 0, <usize>MAX_SESSIONS * SESSION_SIZE);
  memory.fill(SESSION_INDEX_PTR, 0, <usize>SESSION_INDEX_SLOTS * 4);
  for (let i: u32 = 0; i < MAX_SESSIONS; i++) {
    store<u32>(sessionPtr(i) + S_USED, 0x80000000 | (i + 2 <= MAX_SESSIONS ? i + 2 : 0));
  }
  freeHead = 1;
  active = 0;
  lruHead = 0;
  lruTail = 0;
  setGauge(G_SESSIONS, 0);
}

/** Puts an unprotected session first (most recently used). It must be on no list. */
function lruLink(idx: u32): void {
  const s = sessionPtr(idx);
  store<u16>(s + S_LRU_PREV, 0);
  store<u16>(s + S_LRU_NEXT, <u16>lruHead);
  if (lruHead != 0) store<u16>(sessionPtr(lruHead - 1) + S_LRU_PREV, <u16>(idx + 1));
  else lruTail = idx + 1;
  lruHead = idx + 1;
}

function lruUnlink(idx: u32): void {
  const s = sessionPtr(idx);
  const prev = <u32>load<u16>(s + S_LRU_PREV);
  const next = <u32>load<u16>(s + S_LRU_NEXT);
  if (prev != 0) store<u16>(sessionPtr(prev - 1) + S_LRU_NEXT, <u16>next);
  else lruHead = next;
  if (next != 0) store<u16>(sessionPtr(next - 1) + S_LRU_PREV, <u16>prev);
  else lruTail = prev;
  store<u16>(s + S_LRU_PREV, 0);
  store<u16>(s + S_LRU_NEXT, 0);
}

@inline export function sessionProtected(idx: u32): bool {
  return load<u8>(sessionPtr(idx) + S_PROTECTED) != 0;
}

/**
 * A datagram of session `idx` arrived: an unprotected session becomes the most recently used,
 * and the session takes the protection the host gives its exporter now (it changes on a reload).
 * O(1); called once per datagram.
 */
export function touchSession(idx: u32, protect: bool): void {
  const s = sessionPtr(idx);
  const was = load<u8>(s + S_PROTECTED) != 0;
  if (protect) {
    if (!was) {
      lruUnlink(idx);
      store<u8>(s + S_PROTECTED, 1);
    }
    return;
  }
  if (was) store<u8>(s + S_PROTECTED, 0);
  else if (lruHead == idx + 1) return;
  else lruUnlink(idx);
  lruLink(idx);
}

/** The least recently used unprotected session, or -1 when every session is protected. */
@inline export function leastRecentlyUsed(): i32 {
  return <i32>lruTail - 1;
}

/** The unprotected session used next more recently than `idx` (-1: none): a walk from leastRecentlyUsed() towards the most recent. */
@inline export function lruMoreRecent(idx: u32): i32 {
  return <i32>load<u16>(sessionPtr(idx) + S_LRU_PREV) - 1;
}

function hashKey(addr: usize, port: u32, domain: u32): u32 {
  let h: u32 = 0x811c9dc5;
  for (let i: usize = 0; i < 16; i += 4) h = (h ^ load<u32>(addr + i)) * 0x01000193;
  h = (h ^ port) * 0x01000193;
  h = (h ^ domain) * 0x01000193;
  return h ^ (h >>> 15);
}

@inline function sameKey(s: usize, addr: usize, port: u32, domain: u32): bool {
  return load<u64>(s + S_ADDR) == load<u64>(addr) && load<u64>(s + S_ADDR + 8) == load<u64>(addr + 8) &&
    <u32>load<u16>(s + S_PORT) == port && load<u32>(s + S_DOMAIN) == domain;
}

/**
 * The session for the key, created if new (unprotected, as the most recently used: touchSession
 * sets what the exporter's datagrams say). Returns -1 when the session table is full; it never
 * evicts (eviction.ts does, for datagrams).
 */
export function findOrCreateSession(addr: usize, port: u32, domain: u32): i32 {
  const mask = SESSION_INDEX_SLOTS - 1;
  let i = hashKey(addr, port, domain) & mask;
  while (true) {
    const e = load<u32>(SESSION_INDEX_PTR + (<usize>i << 2));
    if (e == 0) break;
    if (sameKey(sessionPtr(e - 1), addr, port, domain)) return <i32>(e - 1);
    i = (i + 1) & mask;
  }
  if (active >= limit || freeHead == 0) return -1;
  const idx = freeHead - 1;
  const s = sessionPtr(idx);
  freeHead = load<u32>(s + S_USED) & 0x7fffffff;
  memory.fill(s, 0, SESSION_SIZE);
  store<u32>(s + S_USED, 1);
  store<u64>(s + S_ADDR, load<u64>(addr));
  store<u64>(s + S_ADDR + 8, load<u64>(addr + 8));
  store<u16>(s + S_PORT, <u16>port);
  store<u32>(s + S_DOMAIN, domain);
  store<u32>(SESSION_INDEX_PTR + (<usize>i << 2), idx + 1);
  lruLink(idx);
  active++;
  setGauge(G_SESSIONS, active);
  return <i32>idx;
}

/** Frees a session (the caller has checked it owns no templates and holds no data). */
export function releaseSession(idx: u32): void {
  const s = sessionPtr(idx);
  if (load<u8>(s + S_PROTECTED) == 0) lruUnlink(idx);
  const mask = SESSION_INDEX_SLOTS - 1;
  let i = hashKey(s + S_ADDR, <u32>load<u16>(s + S_PORT), load<u32>(s + S_DOMAIN)) & mask;
  while (load<u32>(SESSION_INDEX_PTR + (<usize>i << 2)) != idx + 1) i = (i + 1) & mask;
  // Backward-shift deletion keeps every probe chain unbroken without tombstones.
  let j = i;
  while (true) {
    j = (j + 1) & mask;
    const e = load<u32>(SESSION_INDEX_PTR + (<usize>j << 2));
    if (e == 0) break;
    const o = sessionPtr(e - 1);
    const home = hashKey(o + S_ADDR, <u32>load<u16>(o + S_PORT), load<u32>(o + S_DOMAIN)) & mask;
    // Move e into the hole at i unless its home lies cyclically in (i, j].
    const inRange = i <= j ? (home > i && home <= j) : (home > i || home <= j);
    if (!inRange) {
      store<u32>(SESSION_INDEX_PTR + (<usize>i << 2), e);
      i = j;
    }
  }
  store<u32>(SESSION_INDEX_PTR + (<usize>i << 2), 0);
  store<u32>(s + S_USED, 0x80000000 | freeHead);
  freeHead = idx + 1;
  active--;
  setGauge(G_SESSIONS, active);
  stateChanged();
}

@inline export function sessionUsed(idx: u32): bool {
  return load<u32>(sessionPtr(idx) + S_USED) == 1;
}

/** Remembers the sampling rate of a sampler or selector id (the first free or matching entry). */
export function setSamplerRate(s: usize, id: u32, rate: u32): void {
  for (let i: usize = 0; i < <usize>MAX_SAMPLERS; i++) {
    const e = s + S_SAMPLERS + (i << 3);
    const stored = load<u32>(e);
    if (stored == 0 || stored == id + 1) {
      if (stored != 0 && load<u32>(e + 4) == rate) return;
      stateChanged();
      store<u32>(e, id + 1);
      store<u32>(e + 4, rate);
      return;
    }
  }
}

export function samplerRate(s: usize, id: u32): u32 {
  for (let i: usize = 0; i < <usize>MAX_SAMPLERS; i++) {
    const e = s + S_SAMPLERS + (i << 3);
    const stored = load<u32>(e);
    if (stored == 0) return 0;
    if (stored == id + 1) return load<u32>(e + 4);
  }
  return 0;
}
