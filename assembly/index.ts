// The decoder's ABI, and nothing else: exported constants the host checks and reads, and
// the functions it calls. The host (src/decoder/wasm.ts) writes a datagram at inPtr() and the
// sender's address at addrPtr(), calls decode(), and reads JSON lines at outPtr() with their
// end offsets and flow hashes at indexPtr(). Every layout the host reads is exported here
// (RecordIndex.*, SessionEntry.*, TemplateEntry.*, TemplateField.*) and checked by the host at
// load (src/decoder/abi.ts). No imports but abort; nothing allocates.
import { Status, STATUS_COUNT, LAST_DATAGRAM_STATUS } from "./status";
import * as layout from "./layout";
import { initText, TEXT_REGION_SIZE } from "./text";
import { initElements } from "./elements";
import { initSessions, sessionUsed, sessionPtr, sessionReliable, S_TEMPLATES, S_HELD_BYTES, S_LAST_SEEN, S_ADDR, S_PORT } from "./sessions";
import { freeSession } from "./eviction";
import { initTemplates } from "./templates";
import { initHeld, expireHeld } from "./held";
import { setTemplateLifetime, setApplyWithdrawals, expireTemplates, templateLifetimeMs } from "./sets";
import { decodeIpfix, decodeV9, decodeV5, setIgnorePort, setSequenceWindow, ignorePort } from "./messages";
import { initNames } from "./options-names";
import { initOptionsRecords, resetOptionsStaging, placeOptionsRecords } from "./options-records";
import { resetOutput, setFieldMask, setScaleCounters, writeDvc, recordCount, outPos } from "./record";
import { beginDatagram } from "./relay";
export { OutputFormat, setOutputFormat } from "./record";
import { countStatus, bump, C_SESSIONS_EXPIRED, C_TRANSPORT_SESSIONS_ENDED } from "./counters";
import { ctx } from "./context";
import { FIELD_COUNT } from "./fields";
import { exportState as writeState, importState as readState } from "./state";
import { stateGeneration as generation } from "./generation";
import { enableAllFields as enableByName, resetAllFields } from "./any-element";
import { loadDefinitions } from "./definitions";

/** Bump on any change to the exports below or their meanings. */
export const ABI_VERSION: u32 = 12;

export { Status, STATUS_COUNT, LAST_DATAGRAM_STATUS, FIELD_COUNT };
// The layouts the host reads: the record index, and the describe entries (their value types belong to this version).
export { RecordIndex, StatedExporters, ROUTE_OPTIONS_BIT } from "./layout";
export { SessionEntry, TemplateEntry, describeSessions, describeTemplates } from "./describe";
export { TemplateKind, TemplateField } from "./templates";
export { Field } from "./fields";
export {
  C_STATUS_BASE as COUNTER_STATUS_BASE, C_PACKETS as COUNTER_PACKETS, C_PACKETS_V5 as COUNTER_PACKETS_V5,
  C_PACKETS_V9 as COUNTER_PACKETS_V9, C_PACKETS_V10 as COUNTER_PACKETS_V10, C_RECORDS as COUNTER_RECORDS,
  C_OPTIONS_RECORDS as COUNTER_OPTIONS_RECORDS, C_TEMPLATES_DEFINED as COUNTER_TEMPLATES_DEFINED,
  C_TEMPLATES_REFRESHED as COUNTER_TEMPLATES_REFRESHED, C_TEMPLATES_WITHDRAWN as COUNTER_TEMPLATES_WITHDRAWN,
  C_TEMPLATES_EXPIRED as COUNTER_TEMPLATES_EXPIRED, C_HELD_SETS_RELEASED as COUNTER_HELD_SETS_RELEASED,
  C_HELD_RECORDS_RELEASED as COUNTER_HELD_RECORDS_RELEASED, C_SEQUENCE_LOST_RECORDS as COUNTER_SEQUENCE_LOST_RECORDS,
  C_EXPORTER_RESTARTS as COUNTER_EXPORTER_RESTARTS, C_SESSIONS_EXPIRED as COUNTER_SESSIONS_EXPIRED,
  C_HELD_BYTES_EXPIRED as COUNTER_HELD_BYTES_EXPIRED, C_WITHDRAWALS_IGNORED as COUNTER_WITHDRAWALS_IGNORED,
  C_WITHDRAWALS_APPLIED as COUNTER_WITHDRAWALS_APPLIED, C_SEQUENCE_OUT_OF_WINDOW as COUNTER_SEQUENCE_OUT_OF_WINDOW,
  C_SEQUENCE_RESETS as COUNTER_SEQUENCE_RESETS, C_SESSIONS_EVICTED as COUNTER_SESSIONS_EVICTED,
  C_TRANSPORT_SESSIONS_ENDED as COUNTER_TRANSPORT_SESSIONS_ENDED, C_RELAY_STATED as COUNTER_RELAY_STATED,
  C_RELAY_NO_STATED_EXPORTER as COUNTER_RELAY_NO_STATED_EXPORTER, C_RELAY_TABLE_FULL as COUNTER_RELAY_TABLE_FULL, G_TEMPLATES as GAUGE_TEMPLATES, G_SESSIONS as GAUGE_SESSIONS,
  G_HELD_BYTES as GAUGE_HELD_BYTES, G_HELD_SETS as GAUGE_HELD_SETS,
  C_NAMES_REFUSED_EXPORTER_LIMIT as COUNTER_NAMES_REFUSED_EXPORTER_LIMIT, C_NAMES_REFUSED_TABLE_FULL as COUNTER_NAMES_REFUSED_TABLE_FULL,
  C_NAMES_LEARNT as COUNTER_NAMES_LEARNT, C_OPTIONS_RECORDS_WRITTEN as COUNTER_OPTIONS_RECORDS_WRITTEN, G_NAMES as GAUGE_NAMES,
} from "./counters";
export { STATE_VERSION, STATE_CAPACITY, STATE_HEADER_BYTES, STATE_SESSION_LENGTH, STATE_SESSION_ADDRESS, STATE_SESSION_KEY_BYTES,
  STATE_SESSION_DOMAIN, STATE_SESSION_PORT, STATE_SESSION_VERSION, STATE_SESSION_LAST_SEEN, STATE_SESSION_TEMPLATES, STATE_SESSION_HEADER_BYTES,
  STATE_TEMPLATE_ID, STATE_TEMPLATE_FIELDS, STATE_TEMPLATE_DEFINED, STATE_TEMPLATE_HEADER_BYTES, STATE_FIELD_ENTERPRISE_BIT } from "./state";
export { DefinitionTable, DefinitionEntry, DataType, DATA_TYPE_COUNT } from "./definitions";
export { DEFS_CAPACITY } from "./layout";
export { IN_CAPACITY, OUT_CAPACITY, MAX_RECORDS_OUT, MAX_FIELDS, MAX_TEMPLATES, MAX_SESSIONS, HELD_CAPACITY, COUNTER_SLOTS,
  MAX_NAMES, MAX_NAMES_PER_SESSION } from "./layout";
export { setOptionsOutput } from "./options-records";

let ready = false;

/**
 * Places the memory regions and sets the limits. Called once by the host before the first
 * decode (and again to start over: it forgets all templates and sessions). `applyWithdrawals`:
 * 1 makes template withdrawals remove templates (by default, 0, they are counted and ignored, as
 * RFC 7011 section 8.4 asks over UDP); `sequenceWindow`: the most one datagram adds to its
 * session's lost-records estimate; `scaleCounters`: 1 writes bytes and packets multiplied by the
 * sampling rate in force; `fieldMask` and `fieldMaskHigh`: bits 0-31 and 32-63 of the output
 * field mask (Field). Returns 0, or 1 when memory could not grow.
 */
export function init(templateLifetimeSec: u32, ignorePort: u32, fieldMask: u32, heldMaxBytes: u32,
  heldPerKeyBytes: u32, heldMaxAgeMs: u32, maxTemplatesPerExporter: u32, maxSessions: u32,
  applyWithdrawals: u32, sequenceWindow: u32, scaleCounters: u32, fieldMaskHigh: u32): u32 {
  if (!layout.placeRegions()) return 1;
  initText();
  initElements(layout.TABLES_PTR + TEXT_REGION_SIZE);
  initSessions(maxSessions);
  initTemplates(maxTemplatesPerExporter);
  initHeld(heldMaxBytes, heldPerKeyBytes, heldMaxAgeMs);
  initNames();
  initOptionsRecords();
  setTemplateLifetime(<f64>templateLifetimeSec * 1000);
  setIgnorePort(ignorePort != 0);
  setApplyWithdrawals(applyWithdrawals != 0);
  setSequenceWindow(sequenceWindow);
  setFieldMask(<u64>fieldMask | (<u64>fieldMaskHigh << 32));
  setScaleCounters(scaleCounters != 0);
  resetAllFields();
  ready = true;
  return 0;
}

/** Where the host writes the element definitions table (DefinitionTable, DefinitionEntry; at most DEFS_CAPACITY bytes). */
export function definitionsPtr(): usize { return layout.DEFS_PTR; }

/**
 * Output by name (decoder.fields: all): every element of each JSON record, after the short fields,
 * named and typed by the definitions table of `len` bytes the host wrote at definitionsPtr().
 * Called once after init(), before the first decode. Returns 0, or -1 for a malformed table.
 */
export function enableAllFields(len: u32): i32 { return ready ? enableByName(len) : -1; }

/**
 * Names and types for options records (routing.options_topic) without output by name: the
 * definitions table of `len` bytes the host wrote at definitionsPtr(). May be called between
 * decodes. Returns 0, or -1 for a malformed table.
 */
export function loadElementNames(len: u32): i32 { return ready && loadDefinitions(len) ? 0 : -1; }

export function inPtr(): usize { return layout.IN_PTR; }
export function addrPtr(): usize { return layout.ADDR_PTR; }
export function outPtr(): usize { return layout.OUT_PTR; }
export function indexPtr(): usize { return layout.INDEX_PTR; }
export function countersPtr(): usize { return layout.COUNTERS_PTR; }
/** The exporters the records of the last decode() state (relays only): StatedExporters entries, as many as RouteAt words name. */
export function statedPtr(): usize { return layout.STATED_PTR; }
/** Bytes written by the last decode() (each record's value is followed by "\n"). */
export function outLength(): u32 { return <u32>(outPos - layout.OUT_PTR); }
/** Version and observation domain of the last datagram decoded. */
export function lastVersion(): u32 { return ctx.version; }
export function lastDomain(): u32 { return ctx.domain; }

/** decode()'s `flags` bits (the same values as the host's ring slot flags, src/ring/slots.ts). */
export const DECODE_PROTECTED: u32 = 1;
export const DECODE_RELIABLE: u32 = 2;
export const DECODE_RELAY: u32 = 8;

/**
 * Decodes the datagram of `len` bytes at inPtr() from the exporter at addrPtr() and UDP (or TCP)
 * `port`, received at `nowMs` (ms since epoch). `flags`: DECODE_PROTECTED, the host vouches
 * for the exporter (a tenant's, or on its allow list), so its session is never evicted for
 * another's (sessions.ts); DECODE_RELIABLE, the message came over TCP (RFC 7011 section 8:
 * withdrawals apply, the session's templates last until endTransportSession); DECODE_RELAY, the sender is
 * a relay (routing.relays): each record's dvc and RouteAt word are the exporter it states (relay.ts). `defaultRate` and
 * `overrideRate`: the host's sampling rules for the exporter (routing.sampling; 0 = none): the
 * default is the rate in force when the exporter announces none, the override whatever it
 * announces (values.ts samplingRate). Called once per message. Returns the number of records
 * written at outPtr() (>= 0), or -Status when the whole datagram was rejected.
 */
export function decode(len: u32, port: u32, nowMs: f64, flags: u32, defaultRate: u32, overrideRate: u32): i32 {
  resetOutput();
  resetOptionsStaging();
  if (!ready || len > layout.IN_CAPACITY) {
    countStatus(Status.BadLength);
    return -Status.BadLength;
  }
  ctx.nowMs = nowMs;
  ctx.port = port & 0xffff;
  ctx.protect = (flags & DECODE_PROTECTED) != 0;
  ctx.reliable = (flags & DECODE_RELIABLE) != 0;
  ctx.defaultRate = defaultRate;
  ctx.overrideRate = overrideRate;
  let status = Status.TruncatedHeader;
  if (len >= 2) {
    writeDvc(layout.ADDR_PTR);
    beginDatagram((flags & DECODE_RELAY) != 0);
    const version = bswap<u16>(load<u16>(layout.IN_PTR));
    // Only in the test build (asconfig target "trap": --use TEST_TRAP_VERSION=57005, 0xdead): a datagram of
    // version N traps, to test the host's recovery. Compiled out of every other build.
    if (isDefined(TEST_TRAP_VERSION)) {
      if (version == TEST_TRAP_VERSION) unreachable();
    }
    if (version == 10) status = decodeIpfix(len);
    else if (version == 9) status = decodeV9(len);
    else if (version == 5) status = decodeV5(len);
    else status = Status.BadVersion;
  }
  if (status != Status.Ok) {
    countStatus(status);
    return -(<i32>status);
  }
  placeOptionsRecords();
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
    // A reliable session lives as long as its connection: endTransportSession ends it. The names
    // its options data gave go with it (freeSession).
    if (load<u32>(s + S_TEMPLATES) == 0 && load<u32>(s + S_HELD_BYTES) == 0 && nowMs - load<f64>(s + S_LAST_SEEN) > idle && !sessionReliable(i)) {
      freeSession(i);
      bump(C_SESSIONS_EXPIRED);
    }
  }
}

/**
 * A reliable transport session (TCP connection) from the exporter at addrPtr() and `port` ended:
 * every session of that address and port, any observation domain, is freed with its templates and
 * held data (RFC 7011 section 8: templates do not outlive the transport session). With
 * ignore_exporter_port the sessions are keyed by port 0 and `port` is not compared. Connection
 * ends are rare: a walk over the table is fine. Returns the sessions freed.
 */
export function endTransportSession(port: u32): u32 {
  if (!ready) return 0;
  const addr = layout.ADDR_PTR;
  const key = ignorePort ? 0 : port & 0xffff;
  let ended: u32 = 0;
  for (let i: u32 = 0; i < layout.MAX_SESSIONS; i++) {
    if (!sessionUsed(i)) continue;
    const s = sessionPtr(i);
    if (load<u64>(s + S_ADDR) != load<u64>(addr) || load<u64>(s + S_ADDR + 8) != load<u64>(addr + 8)) continue;
    if (<u32>load<u16>(s + S_PORT) != key) continue;
    freeSession(i);
    ended++;
  }
  if (ended > 0) bump(C_TRANSPORT_SESSIONS_ENDED, ended);
  return ended;
}

/** Writes a snapshot of the exporters' persistent state at outPtr() (see state.ts); returns its length. */
export function exportState(): u32 { return ready ? writeState() : 0; }
/** Restores the snapshot of `len` bytes the host wrote at outPtr(): sessions restored, -1 other version, -2 malformed. */
export function importState(len: u32, nowMs: f64, newerWins: u32): i32 { return ready ? readState(len, nowMs, newerWins != 0) : -2; }
/** Changes whenever persistent state changes: the host saves a snapshot only then. */
export function stateGeneration(): u32 { return generation; }
