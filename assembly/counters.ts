// Counters kept in linear memory as u64 slots; the host reads them at COUNTERS_PTR
// (at scrape time, not per packet). Slot numbers are exported as COUNTER_* constants.
import { COUNTERS_PTR } from "./layout";

/** Events by Status: one per rejected datagram, set, template record or (OutputFull) record. */
export const C_STATUS_BASE: u32 = 0; // 16 slots
export const C_PACKETS: u32 = 16; // datagrams whose header was accepted
export const C_PACKETS_V5: u32 = 17;
export const C_PACKETS_V9: u32 = 18;
export const C_PACKETS_V10: u32 = 19;
export const C_RECORDS: u32 = 20; // flow records written as JSON
export const C_OPTIONS_RECORDS: u32 = 21; // options records read (written only for routing.options_topic: C_OPTIONS_RECORDS_WRITTEN)
export const C_TEMPLATES_DEFINED: u32 = 22; // new or changed templates
export const C_TEMPLATES_REFRESHED: u32 = 23; // same template sent again
export const C_TEMPLATES_WITHDRAWN: u32 = 24;
export const C_TEMPLATES_EXPIRED: u32 = 25;
export const C_HELD_SETS_RELEASED: u32 = 26; // held data sets decoded once their template came
export const C_HELD_RECORDS_RELEASED: u32 = 27;
export const C_SEQUENCE_LOST_RECORDS: u32 = 28; // estimated from sequence numbers
export const C_EXPORTER_RESTARTS: u32 = 29;
export const C_SESSIONS_EXPIRED: u32 = 30;
export const C_HELD_BYTES_EXPIRED: u32 = 31;
// Template withdrawals (field count 0), one per withdrawal record: ignored over UDP unless configured (sets.ts).
export const C_WITHDRAWALS_IGNORED: u32 = 32;
export const C_WITHDRAWALS_APPLIED: u32 = 33;
// Sequence numbers beyond the window (messages.ts trackSequence): datagrams left out of the loss
// estimate, and re-bases after two consecutive ones agreed.
export const C_SEQUENCE_OUT_OF_WINDOW: u32 = 34;
export const C_SEQUENCE_RESETS: u32 = 35;
export const C_SESSIONS_EVICTED: u32 = 36; // unprotected sessions given up for another exporter (eviction.ts)
export const C_TRANSPORT_SESSIONS_ENDED: u32 = 37; // sessions freed because their reliable transport (TCP) connection closed
// Records of relays' datagrams (routing.relays, relay.ts): routed by the exporter they state, or by the
// relay's own address because they state none, or because the datagram stated more exporters than its table holds.
export const C_RELAY_STATED: u32 = 56;
export const C_RELAY_NO_STATED_EXPORTER: u32 = 57;
export const C_RELAY_TABLE_FULL: u32 = 58;
// Names from options data refused (options-names.ts): the exporter has MAX_NAMES_PER_SESSION, or the table is full.
export const C_NAMES_REFUSED_EXPORTER_LIMIT: u32 = 38;
export const C_NAMES_REFUSED_TABLE_FULL: u32 = 39;
export const C_NAMES_LEARNT: u32 = 45; // names added or changed
export const C_OPTIONS_RECORDS_WRITTEN: u32 = 46; // options records written for routing.options_topic (options-records.ts)
// Gauges (current values, not monotonic).
export const G_TEMPLATES: u32 = 40;
export const G_SESSIONS: u32 = 41;
export const G_HELD_BYTES: u32 = 42;
export const G_HELD_SETS: u32 = 43;
export const G_NAMES: u32 = 44; // names learnt from options data, all sessions

@inline export function bump(slot: u32, by: u64 = 1): void {
  const p = COUNTERS_PTR + (<usize>slot << 3);
  store<u64>(p, load<u64>(p) + by);
}

@inline export function setGauge(slot: u32, value: u64): void {
  store<u64>(COUNTERS_PTR + (<usize>slot << 3), value);
}

@inline export function gauge(slot: u32): u64 {
  return load<u64>(COUNTERS_PTR + (<usize>slot << 3));
}

@inline export function countStatus(status: i32, by: u64 = 1): void {
  bump(C_STATUS_BASE + <u32>status, by);
}
