// The decoder's ABI, and nothing else: exported constants the host checks and reads, and
// the functions it calls. The host (src/decoder/wasm.ts) writes a datagram at inPtr() and the
// sender's address at addrPtr(), calls decode(), and reads JSON lines at outPtr() with their
// end offsets and flow hashes at indexPtr(). No imports but abort; nothing allocates.
import { Status, STATUS_COUNT } from "./status";
import * as layout from "./layout";
import { initText, TEXT_REGION_SIZE } from "./text";
import { initElements } from "./elements";
import { initSessions, sessionUsed, sessionPtr, releaseSession, S_TEMPLATES, S_HELD_BYTES, S_LAST_SEEN, S_ADDR, S_PORT, S_VERSION, S_DOMAIN, S_DEFAULT_RATE, S_PACKETS, S_RECORDS, S_LOST_TOTAL } from "./sessions";
import { initTemplates, templateUsed, templatePtr, T_OWNER, T_ID, T_KIND, T_FIELDS, T_SCOPE, T_LAST_SEEN, T_RAW0 } from "./templates";
import { initHeld, expireHeld } from "./held";
import { setTemplateLifetime, expireTemplates, templateLifetimeMs } from "./sets";
import { decodeIpfix, decodeV9, decodeV5, setIgnorePort } from "./messages";
import { resetOutput, setFieldMask, writeDvc, recordCount, outPos } from "./record";
import { countStatus, bump, C_SESSIONS_EXPIRED } from "./counters";
import { ctx } from "./context";
import { FIELD_COUNT } from "./fields";
import { exportState as writeState, importState as readState } from "./state";
import { stateGeneration as generation } from "./generation";

/** Bump on any change to the exports below or their meanings. */
export const ABI_VERSION: u32 = 3;

export { Status, STATUS_COUNT, FIELD_COUNT };
export { Field } from "./fields";
export {
  C_STATUS_BASE as COUNTER_STATUS_BASE, C_PACKETS as COUNTER_PACKETS, C_PACKETS_V5 as COUNTER_PACKETS_V5,
  C_PACKETS_V9 as COUNTER_PACKETS_V9, C_PACKETS_V10 as COUNTER_PACKETS_V10, C_RECORDS as COUNTER_RECORDS,
  C_OPTIONS_RECORDS as COUNTER_OPTIONS_RECORDS, C_TEMPLATES_DEFINED as COUNTER_TEMPLATES_DEFINED,
  C_TEMPLATES_REFRESHED as COUNTER_TEMPLATES_REFRESHED, C_TEMPLATES_WITHDRAWN as COUNTER_TEMPLATES_WITHDRAWN,
  C_TEMPLATES_EXPIRED as COUNTER_TEMPLATES_EXPIRED, C_HELD_SETS_RELEASED as COUNTER_HELD_SETS_RELEASED,
  C_HELD_RECORDS_RELEASED as COUNTER_HELD_RECORDS_RELEASED, C_SEQUENCE_LOST_RECORDS as COUNTER_SEQUENCE_LOST_RECORDS,
  C_EXPORTER_RESTARTS as COUNTER_EXPORTER_RESTARTS, C_SESSIONS_EXPIRED as COUNTER_SESSIONS_EXPIRED,
  C_HELD_BYTES_EXPIRED as COUNTER_HELD_BYTES_EXPIRED, G_TEMPLATES as GAUGE_TEMPLATES, G_SESSIONS as GAUGE_SESSIONS,
  G_HELD_BYTES as GAUGE_HELD_BYTES, G_HELD_SETS as GAUGE_HELD_SETS,
} from "./counters";
export { SESSION_ENTRY, TEMPLATE_ENTRY };
export { STATE_VERSION, STATE_CAPACITY, STATE_HEADER_BYTES, STATE_SESSION_LENGTH, STATE_SESSION_ADDRESS, STATE_SESSION_KEY_BYTES } from "./state";
export { IN_CAPACITY, OUT_CAPACITY, MAX_RECORDS_OUT, MAX_FIELDS, MAX_TEMPLATES, MAX_SESSIONS, HELD_CAPACITY, COUNTER_SLOTS } from "./layout";

let ready = false;

/**
 * Places the memory regions and sets the limits. Called once by the host before the first
 * decode (and again to start over: it forgets all templates and sessions). Returns 0, or 1
 * when memory could not grow.
 */
export function init(templateLifetimeSec: u32, ignorePort: u32, fieldMask: u32, heldMaxBytes: u32,
  heldPerKeyBytes: u32, heldMaxAgeMs: u32, maxTemplatesPerExporter: u32, maxSessions: u32): u32 {
  if (!layout.placeRegions()) return 1;
  initText();
  initElements(layout.TABLES_PTR + TEXT_REGION_SIZE);
  initSessions(maxSessions);
  initTemplates(maxTemplatesPerExporter);
  initHeld(heldMaxBytes, heldPerKeyBytes, heldMaxAgeMs);
  setTemplateLifetime(<f64>templateLifetimeSec * 1000);
  setIgnorePort(ignorePort != 0);
  setFieldMask(fieldMask);
  ready = true;
  return 0;
}

export function inPtr(): usize { return layout.IN_PTR; }
export function addrPtr(): usize { return layout.ADDR_PTR; }
export function outPtr(): usize { return layout.OUT_PTR; }
export function indexPtr(): usize { return layout.INDEX_PTR; }
export function countersPtr(): usize { return layout.COUNTERS_PTR; }
/** Bytes of JSON written by the last decode() (records end with "\n"). */
export function outLength(): u32 { return <u32>(outPos - layout.OUT_PTR); }
/** Version and observation domain of the last datagram decoded. */
export function lastVersion(): u32 { return ctx.version; }
export function lastDomain(): u32 { return ctx.domain; }

/**
 * Decodes the datagram of `len` bytes at inPtr() from the exporter at addrPtr() and UDP
 * `port`, received at `nowMs` (ms since epoch). Called once per datagram. Returns the number
 * of records written at outPtr() (>= 0), or -Status when the whole datagram was rejected.
 */
export function decode(len: u32, port: u32, nowMs: f64): i32 {
  resetOutput();
  if (!ready || len > layout.IN_CAPACITY) {
    countStatus(Status.BadLength);
    return -Status.BadLength;
  }
  ctx.nowMs = nowMs;
  ctx.port = port & 0xffff;
  let status = Status.TruncatedHeader;
  if (len >= 2) {
    writeDvc(layout.ADDR_PTR);
    const version = bswap<u16>(load<u16>(layout.IN_PTR));
    if (version == 10) status = decodeIpfix(len);
    else if (version == 9) status = decodeV9(len);
    else if (version == 5) status = decodeV5(len);
    else status = Status.BadVersion;
  }
  if (status != Status.Ok) {
    countStatus(status);
    return -(<i32>status);
  }
  return <i32>recordCount;
}

/**
 * Forgets templates past their lifetime, held sets past their age, and idle sessions that
 * own nothing. Called by the host about once a second (and by `decode` tools per capture second).
 */
export function sweep(nowMs: f64): void {
  expireTemplates(nowMs);
  expireHeld(nowMs);
  const idle = templateLifetimeMs > 0 ? templateLifetimeMs : 3600000;
  for (let i: u32 = 0; i < layout.MAX_SESSIONS; i++) {
    if (!sessionUsed(i)) continue;
    const s = sessionPtr(i);
    if (load<u32>(s + S_TEMPLATES) == 0 && load<u32>(s + S_HELD_BYTES) == 0 && nowMs - load<f64>(s + S_LAST_SEEN) > idle) {
      releaseSession(i);
      bump(C_SESSIONS_EXPIRED);
    }
  }
}

/** Writes a snapshot of the exporters' persistent state at outPtr() (see state.ts); returns its length. */
export function exportState(): u32 { return ready ? writeState() : 0; }
/** Restores the snapshot of `len` bytes the host wrote at outPtr(): sessions restored, -1 other version, -2 malformed. */
export function importState(len: u32, nowMs: f64): i32 { return ready ? readState(len, nowMs) : -2; }
/** Changes whenever persistent state changes: the host saves a snapshot only then. */
export function stateGeneration(): u32 { return generation; }

/** Bytes per entry written by describeSessions(). */
const SESSION_ENTRY: u32 = 72;
/** Bytes per entry written by describeTemplates(), before its fields (4 bytes each). */
const TEMPLATE_ENTRY: u32 = 24;

/**
 * Writes one entry per exporter session at outPtr(): 16 address bytes, u16 port, u8 version,
 * u8 pad, u32 domain, u32 templates, u32 default sampling rate, f64 datagrams, f64 records,
 * f64 estimated lost records, f64 last seen (ms), u32 session index. Returns the entry count.
 * Called by the host for /api/exporters, not per datagram (it overwrites the last output).
 */
export function describeSessions(): u32 {
  let o = layout.OUT_PTR;
  let n: u32 = 0;
  for (let i: u32 = 0; i < layout.MAX_SESSIONS; i++) {
    if (!sessionUsed(i)) continue;
    const s = sessionPtr(i);
    memory.copy(o, s + S_ADDR, 16);
    store<u16>(o + 16, load<u16>(s + S_PORT));
    store<u8>(o + 18, load<u8>(s + S_VERSION));
    store<u32>(o + 20, load<u32>(s + S_DOMAIN));
    store<u32>(o + 24, load<u32>(s + S_TEMPLATES));
    store<u32>(o + 28, load<u32>(s + S_DEFAULT_RATE));
    store<f64>(o + 32, load<f64>(s + S_PACKETS));
    store<f64>(o + 40, load<f64>(s + S_RECORDS));
    store<f64>(o + 48, load<f64>(s + S_LOST_TOTAL));
    store<f64>(o + 56, load<f64>(s + S_LAST_SEEN));
    store<u32>(o + 64, i);
    o += SESSION_ENTRY;
    n++;
  }
  return n;
}

/**
 * Writes one entry per template at outPtr(): u32 session index, u16 template id, u8 kind (1 data,
 * 2 options), u8 pad, u16 field count, u16 scope count, u32 pad, f64 last defined (ms), u32 pad,
 * then field count x u32 (element id with the enterprise bit << 16 | length). Returns the entry count.
 */
export function describeTemplates(): u32 {
  let o = layout.OUT_PTR;
  let n: u32 = 0;
  for (let i: u32 = 0; i < layout.MAX_TEMPLATES; i++) {
    if (!templateUsed(i)) continue;
    const t = templatePtr(i);
    const fields = <u32>load<u16>(t + T_FIELDS);
    store<u32>(o, load<u32>(t + T_OWNER) - 1);
    store<u16>(o + 4, load<u16>(t + T_ID));
    store<u8>(o + 6, load<u8>(t + T_KIND));
    store<u16>(o + 8, <u16>fields);
    store<u16>(o + 10, load<u16>(t + T_SCOPE));
    store<f64>(o + 16, load<f64>(t + T_LAST_SEEN));
    memory.copy(o + TEMPLATE_ENTRY, t + T_RAW0, <usize>fields << 2);
    o += TEMPLATE_ENTRY + (<usize>fields << 2);
    n++;
  }
  return n;
}
