// Data sets that arrive before their template (UDP reorders; exporters restart) are kept,
// bounded in bytes per (session, template id) and in total and in age, and decoded when
// the template arrives. Entries are packed in one region and compacted when it fills.
//
// Entry: u32 size (8-aligned, header included) | u32 session + 1 (0 = consumed) | u16 template id |
//        u8 version | u8 pad | u32 export seconds | u32 uptime | u32 domain | u32 pad |
//        f64 receive ms | u32 data length | u32 pad | data
import { HELD_PTR, HELD_CAPACITY, HELD_ENTRY_HEADER } from "./layout";
import { Status } from "./status";
import { countStatus, bump, setGauge, C_HELD_BYTES_EXPIRED, G_HELD_BYTES, G_HELD_SETS } from "./counters";
import { ctx } from "./context";
import { sessionPtr, sessionProtected, S_HELD_BYTES } from "./sessions";
import { evictForHeld } from "./eviction";

let used: usize = 0; // bytes of the region in use (live and consumed entries)
let liveRegion: usize = 0; // bytes of the region's live entries, headers included
let liveBytes: u32 = 0;
let liveSets: u32 = 0;
let capacity: u32 = HELD_CAPACITY;
let perKey: u32 = 64 << 10;
export let maxAgeMs: f64 = 30000;

export function initHeld(totalBytes: u32, perKeyBytes: u32, ageMs: u32): void {
  capacity = totalBytes == 0 || totalBytes > HELD_CAPACITY ? HELD_CAPACITY : totalBytes;
  perKey = perKeyBytes == 0 || perKeyBytes > capacity ? capacity : perKeyBytes;
  maxAgeMs = ageMs == 0 ? 30000 : <f64>ageMs;
  used = 0;
  liveRegion = 0;
  liveBytes = 0;
  liveSets = 0;
  publish();
}

function publish(): void {
  setGauge(G_HELD_BYTES, liveBytes);
  setGauge(G_HELD_SETS, liveSets);
}

@inline function entrySize(dataLen: u32): usize {
  return (<usize>HELD_ENTRY_HEADER + dataLen + 7) & ~7;
}

function compact(): void {
  let r: usize = 0, w: usize = 0;
  while (r < used) {
    const e = HELD_PTR + r;
    const size = <usize>load<u32>(e);
    if (load<u32>(e + 4) != 0) {
      if (w != r) memory.copy(HELD_PTR + w, e, size);
      w += size;
    }
    r += size;
  }
  used = w;
}

/** Whether a set of `len` data bytes (`size` with its header) fits the caps shared by all sessions; compacts the region if that makes room. */
function sharedRoom(len: u32, size: usize): bool {
  if (liveSets >= MAX_HELD_SETS || liveBytes + len > capacity) return false;
  if (used + size > <usize>HELD_CAPACITY) compact();
  return used + size <= <usize>HELD_CAPACITY;
}

/** Held sets at most: bounds the scans below (per held set and per template defined), whatever the byte caps. */
export const MAX_HELD_SETS: u32 = 1024;

/** Keeps a data set of the current message for later. Returns Status.UnknownTemplate when held, Status.HeldOverflow when not. */
export function holdSet(tid: u32, data: usize, len: u32): Status {
  // An empty set carries no record: counted as unknown_template, nothing to keep.
  if (len == 0) return Status.UnknownTemplate;
  const protect = sessionProtected(ctx.session);
  if (liveSets >= MAX_HELD_SETS && !protect) return Status.HeldOverflow;
  const size = entrySize(len);
  let sameKey: u32 = 0;
  for (let r: usize = 0; r < used; ) {
    const e = HELD_PTR + r;
    if (load<u32>(e + 4) == ctx.session + 1 && <u32>load<u16>(e + 8) == tid) sameKey += load<u32>(e + 32);
    r += <usize>load<u32>(e);
  }
  // The caps count data bytes; the region also holds entry headers, so it is checked on its own.
  if (sameKey + len > perKey) return Status.HeldOverflow;
  // A protected exporter's set takes the room of unprotected sessions' held sets (least recently used first).
  let room = sharedRoom(len, size);
  while (!room && protect && evictForHeld()) room = sharedRoom(len, size);
  if (!room) return Status.HeldOverflow;
  const e = HELD_PTR + used;
  store<u32>(e, <u32>size);
  store<u32>(e + 4, ctx.session + 1);
  store<u16>(e + 8, <u16>tid);
  store<u8>(e + 10, <u8>ctx.version);
  store<u32>(e + 12, ctx.exportSec);
  store<u32>(e + 16, ctx.uptime);
  store<u32>(e + 20, ctx.domain);
  store<f64>(e + 24, ctx.nowMs);
  store<u32>(e + 32, len);
  memory.copy(e + HELD_ENTRY_HEADER, data, len);
  used += size;
  liveRegion += size;
  liveBytes += len;
  liveSets++;
  const s = ctx.sessionPtr;
  store<u32>(s + S_HELD_BYTES, load<u32>(s + S_HELD_BYTES) + len);
  publish();
  return Status.UnknownTemplate;
}

function consume(e: usize): void {
  const len = load<u32>(e + 32);
  const s = sessionPtr(load<u32>(e + 4) - 1);
  store<u32>(s + S_HELD_BYTES, load<u32>(s + S_HELD_BYTES) - len);
  store<u32>(e + 4, 0);
  liveRegion -= <usize>load<u32>(e);
  liveBytes -= len;
  liveSets--;
  // Nothing live: the region is free again (scans walk consumed entries too until a compaction).
  if (liveSets == 0) used = 0;
}

/** Drops held sets older than the age limit; each counts as HeldExpired. */
export function expireHeld(now: f64): void {
  if (liveSets == 0) return;
  for (let r: usize = 0; r < used; ) {
    const e = HELD_PTR + r;
    if (load<u32>(e + 4) != 0 && now - load<f64>(e + 24) > maxAgeMs) {
      bump(C_HELD_BYTES_EXPIRED, load<u32>(e + 32));
      countStatus(Status.HeldExpired);
      consume(e);
    }
    r += <usize>load<u32>(e);
  }
  compact();
  publish();
}

/**
 * Drops every held set of a session that is being evicted; each counts as HeldExpired (its
 * records are lost). Evictions come as fast as forged datagrams do, so the consumed entries they
 * leave are compacted away once they outweigh the live ones: every scan of the region (one per
 * held set) stays within twice the live entries, and compaction costs at most a byte copied per
 * byte dropped.
 */
export function dropHeldOf(session: u32): void {
  if (heldBytesOf(session) == 0) return;
  for (let r: usize = 0; r < used; ) {
    const e = HELD_PTR + r;
    if (load<u32>(e + 4) == session + 1) {
      bump(C_HELD_BYTES_EXPIRED, load<u32>(e + 32));
      countStatus(Status.HeldExpired);
      consume(e);
    }
    r += <usize>load<u32>(e);
  }
  if (used - liveRegion > liveRegion) compact();
  publish();
}

/** Calls decodeHeld for each held set of (session, tid), in arrival order, then forgets it. */
export function releaseHeld(session: u32, tid: u32, decodeHeld: (data: usize, len: u32) => void): u32 {
  if (liveSets == 0) return 0;
  let released: u32 = 0;
  // Save the current message's context: held sets carry their own.
  const version = ctx.version, exportSec = ctx.exportSec, uptime = ctx.uptime, domain = ctx.domain;
  const timeMs = ctx.timeMs, baseMs = ctx.baseMs, savedTid = ctx.tid;
  ctx.tid = tid;
  for (let r: usize = 0; r < used; ) {
    const e = HELD_PTR + r;
    if (load<u32>(e + 4) == session + 1 && <u32>load<u16>(e + 8) == tid) {
      ctx.version = load<u8>(e + 10);
      ctx.exportSec = load<u32>(e + 12);
      ctx.uptime = load<u32>(e + 16);
      ctx.domain = load<u32>(e + 20);
      ctx.timeMs = <u64>ctx.exportSec * 1000;
      ctx.baseMs = ctx.timeMs;
      decodeHeld(e + HELD_ENTRY_HEADER, load<u32>(e + 32));
      consume(e);
      released++;
    }
    r += <usize>load<u32>(e);
  }
  ctx.version = version; ctx.exportSec = exportSec; ctx.uptime = uptime; ctx.domain = domain;
  ctx.timeMs = timeMs; ctx.baseMs = baseMs; ctx.tid = savedTid;
  publish();
  return released;
}

/** Sets held now, all sessions. */
export function heldSetCount(): u32 {
  return liveSets;
}

/** Bytes held for a session. */
export function heldBytesOf(session: u32): u32 {
  return load<u32>(sessionPtr(session) + S_HELD_BYTES);
}
