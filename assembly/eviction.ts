// Eviction of unprotected sessions (sessions.ts says which sessions are protected and keeps the
// others in least-recently-used order). When a datagram needs a session, a template slot or held
// room that is not there, the least recently used unprotected session gives up everything it
// has: its templates (removeTemplate, as expiry), its held sets (counted held_expired), then the
// session itself (releaseSession, as the idle sweep), with the names its options data gave
// (options-names.ts). Each eviction is counted once.
import { findOrCreateSession, releaseSession, sessionPtr, leastRecentlyUsed, lruMoreRecent, touchSession,
  S_TEMPLATE_HEAD, S_HELD_BYTES, S_NAMES } from "./sessions";
import { dropNamesOf } from "./options-names";
import { removeTemplate } from "./templates";
import { dropHeldOf } from "./held";
import { bump, C_SESSIONS_EVICTED } from "./counters";

/** Frees session `idx` and everything it owns (uncounted: the caller says why). */
export function freeSession(idx: u32): void {
  const s = sessionPtr(idx);
  // removeTemplate unchains the template from the session: the head moves on.
  for (let t = <u32>load<u16>(s + S_TEMPLATE_HEAD); t != 0; t = <u32>load<u16>(s + S_TEMPLATE_HEAD)) removeTemplate(t - 1);
  dropHeldOf(idx);
  dropNamesOf(idx);
  releaseSession(idx);
}

/** Frees session `idx` and everything it owns, for another exporter's session, template or held data. */
export function evictSession(idx: u32): void {
  freeSession(idx);
  bump(C_SESSIONS_EVICTED);
}

/**
 * The session of the datagram being decoded, from the exporter at `addr`: found, or created,
 * evicting the least recently used unprotected session when the table is full; then touched
 * (see touchSession). Returns -1 when the table is full and every session in it is protected.
 */
export function sessionForDatagram(addr: usize, port: u32, domain: u32, protect: bool): i32 {
  let idx = findOrCreateSession(addr, port, domain);
  if (idx < 0) {
    const victim = leastRecentlyUsed();
    if (victim < 0) return -1;
    evictSession(<u32>victim);
    idx = findOrCreateSession(addr, port, domain);
    if (idx < 0) return -1;
  }
  touchSession(<u32>idx, protect);
  return idx;
}

/**
 * Evicts the least recently used unprotected session that owns a template, for a protected
 * session that found the template table full. False when none does. Walks the list from its
 * least recent end: at most max_sessions steps, and only when the template table is full.
 */
export function evictForTemplate(): bool {
  for (let i = leastRecentlyUsed(); i >= 0; i = lruMoreRecent(<u32>i)) {
    if (load<u16>(sessionPtr(<u32>i) + S_TEMPLATE_HEAD) != 0) {
      evictSession(<u32>i);
      return true;
    }
  }
  return false;
}

/** As evictForTemplate, for held room: the least recently used unprotected session that holds data sets. */
export function evictForHeld(): bool {
  for (let i = leastRecentlyUsed(); i >= 0; i = lruMoreRecent(<u32>i)) {
    if (load<u32>(sessionPtr(<u32>i) + S_HELD_BYTES) != 0) {
      evictSession(<u32>i);
      return true;
    }
  }
  return false;
}

/** As evictForTemplate, for room in the names table (options-names.ts): the least recently used unprotected session that has names. */
export function evictForNames(): bool {
  for (let i = leastRecentlyUsed(); i >= 0; i = lruMoreRecent(<u32>i)) {
    if (load<u32>(sessionPtr(<u32>i) + S_NAMES) != 0) {
      evictSession(<u32>i);
      return true;
    }
  }
  return false;
}
