// Message headers and the walk over their sets.
//   IPFIX (RFC 7011 section 3.1): version 10 | length | export time | sequence | observation domain  (16 bytes)
//   NetFlow v9 (RFC 3954 section 5.1): version 9 | count | sysUptime | unix secs | sequence | source id  (20 bytes)
//   NetFlow v5: version 5 | count | sysUptime | unix secs | unix nsecs | flow sequence | engine type | engine id |
//               sampling (2 bits mode, 14 bits interval)  (24 bytes), then count records of 48 bytes
import { Status } from "./status";
import { IN_PTR, ADDR_PTR, REC_PTR } from "./layout";
import { bump, C_PACKETS, C_PACKETS_V5, C_PACKETS_V9, C_PACKETS_V10, C_RECORDS, C_SEQUENCE_LOST_RECORDS, C_EXPORTER_RESTARTS,
  C_SEQUENCE_OUT_OF_WINDOW, C_SEQUENCE_RESETS } from "./counters";
import { ctx } from "./context";
import { sessionForDatagram } from "./eviction";
import { sessionPtr, S_FLAGS, F_RELIABLE, F_SEQ_INIT, S_BASE_SEQ, S_LAST_SEQ, S_UNITS, S_RECORDS_SINCE,
  S_FIRST_UNITS, S_LOST_REPORTED, S_LAST_UPTIME, S_LAST_SEEN, S_PACKETS, S_RECORDS, S_LOST_TOTAL, S_VERSION, F_SEQ_BEFORE, F_SEQ_INCLUSIVE,
  F_SEQ_CANDIDATE, S_SEQ_CANDIDATE } from "./sessions";
import { templateSet, v9OptionsTemplateSet, dataSet, beginMessage, endMessage, messageRecords, messageFlowRecords } from "./sets";
import { Slot, slotOffset, REC_SRC4, REC_DST4, REC_NH4 } from "./fields";
import { emitRecord } from "./record";
import { setRecordBytes, allFields, appendAnyFields } from "./any-element";
import { countStatus } from "./counters";
import { stateChanged } from "./generation";

export let ignorePort: bool = false;
export function setIgnorePort(v: bool): void { ignorePort = v; }

/** The most one datagram may add to its session's lost-records estimate (decoder.sequence_window). */
let sequenceWindow: f64 = 100000;
export function setSequenceWindow(records: u32): void { sequenceWindow = <f64>records; }

@inline function be16(p: usize): u32 { return <u32>bswap<u16>(load<u16>(p)); }
@inline function be32(p: usize): u32 { return bswap<u32>(load<u32>(p)); }

/** Backward sequence jumps larger than this are an exporter restart, smaller ones reordering. */
const RESTART_WINDOW: i32 = 1 << 16;

function openSession(domain: u32): bool {
  const idx = sessionForDatagram(ADDR_PTR, ignorePort ? 0 : ctx.port, domain, ctx.protect);
  if (idx < 0) return false;
  ctx.session = <u32>idx;
  ctx.sessionPtr = sessionPtr(<u32>idx);
  ctx.domain = domain;
  store<f64>(ctx.sessionPtr + S_LAST_SEEN, ctx.nowMs);
  store<u8>(ctx.sessionPtr + S_VERSION, <u8>ctx.version);
  if (ctx.reliable) store<u8>(ctx.sessionPtr + S_FLAGS, load<u8>(ctx.sessionPtr + S_FLAGS) | F_RELIABLE);
  return true;
}

/**
 * Sequence tracking for one message: `seq` as sent, `units` what the sequence counts in this
 * message (data records; v9: 1 packet), `records` the data records. Lost records are estimated
 * as the distance from the first sequence number minus what arrived since, in one of two
 * readings: sequence = records before this message (RFC 7011), or records up to and including
 * it (what softflowd sends). The first message where exactly one reading comes out at zero
 * tells which one the exporter follows; until then the smaller one counts.
 *
 * Over UDP anyone can send a datagram with an exporter's address, port and domain (RFC 7011
 * section 9 lists "an attacker injecting false messages" among the causes of out-of-sequence
 * messages), so one datagram never moves the estimate by more than the window: a message that
 * would add more (or is over 2^30 ahead) is out of window. It is counted, its records are
 * decoded as usual, and it leaves the base, the last sequence number and the estimate as they
 * were, so the real stream's next message is measured against the real stream. Only when the
 * next message of the session continues from it (0 to window ahead of it) is the jump taken as
 * real (a reset, or more loss than the window): the tracking starts again from that message
 * and adds nothing to the estimate.
 */
function trackSequence(seq: u32, units: u32, records: u32, uptimeReset: bool, flowRecords: u32): void {
  const s = ctx.sessionPtr;
  store<f64>(s + S_PACKETS, load<f64>(s + S_PACKETS) + 1);
  store<f64>(s + S_RECORDS, load<f64>(s + S_RECORDS) + <f64>flowRecords);
  const flags = load<u8>(s + S_FLAGS);
  if ((flags & F_SEQ_INIT) != 0 && !uptimeReset) {
    const fromLast = <i32>(seq - load<u32>(s + S_LAST_SEQ));
    const fromBase = <i32>(seq - load<u32>(s + S_BASE_SEQ));
    const farAhead = fromLast > (1 << 30); // out of window, whatever fromBase says
    if (!farAhead && (fromLast < -RESTART_WINDOW || fromBase < -RESTART_WINDOW)) {
      bump(C_EXPORTER_RESTARTS);
    } else {
      let mode = flags & (F_SEQ_BEFORE | F_SEQ_INCLUSIVE);
      let lost: f64 = 0;
      const unitsBefore = load<f64>(s + S_UNITS);
      if (fromBase >= 0) {
        const rfc = <f64>fromBase - unitsBefore;
        const inclusive = rfc - <f64>units + load<f64>(s + S_FIRST_UNITS);
        if (mode == 0 && rfc == 0 && inclusive != 0) mode = F_SEQ_BEFORE;
        if (mode == 0 && inclusive == 0 && rfc != 0) mode = F_SEQ_INCLUSIVE;
        let lostUnits = mode == F_SEQ_BEFORE ? rfc : mode == F_SEQ_INCLUSIVE ? inclusive : (rfc < inclusive ? rfc : inclusive);
        if (lostUnits < 0) lostUnits = 0;
        // v9 counts packets: turn lost packets into records at the average seen so far.
        lost = lostUnits;
        if (ctx.version == 9 && unitsBefore > 0) lost = Math.round(lostUnits * load<f64>(s + S_RECORDS_SINCE) / unitsBefore);
      }
      const reported = load<f64>(s + S_LOST_REPORTED);
      if (farAhead || lost - reported > sequenceWindow) {
        if (!continuesCandidate(seq, flags)) {
          bump(C_SEQUENCE_OUT_OF_WINDOW);
          store<u32>(s + S_SEQ_CANDIDATE, seq);
          store<u8>(s + S_FLAGS, flags | F_SEQ_CANDIDATE);
          return;
        }
        bump(C_SEQUENCE_RESETS); // two in a row: a new base, below
      } else {
        if ((flags & (F_SEQ_BEFORE | F_SEQ_INCLUSIVE)) == 0 && mode != 0) stateChanged(); // learnt: worth saving
        store<u8>(s + S_FLAGS, (flags | mode) & ~F_SEQ_CANDIDATE);
        if (lost > reported) {
          bump(C_SEQUENCE_LOST_RECORDS, <u64>(lost - reported));
          store<f64>(s + S_LOST_REPORTED, lost);
          store<f64>(s + S_LOST_TOTAL, load<f64>(s + S_LOST_TOTAL) + lost - reported);
        }
        store<f64>(s + S_UNITS, unitsBefore + <f64>units);
        store<f64>(s + S_RECORDS_SINCE, load<f64>(s + S_RECORDS_SINCE) + <f64>records);
        if (fromLast > 0) store<u32>(s + S_LAST_SEQ, seq);
        return;
      }
    }
  } else if (uptimeReset && (flags & F_SEQ_INIT) != 0) {
    bump(C_EXPORTER_RESTARTS);
  }
  // First message of the session, the exporter restarted, or a jump confirmed: a new base. A
  // restart or a jump makes the reading be learnt again; a first message keeps one restored from a snapshot.
  const keep: u8 = (flags & F_SEQ_INIT) != 0 ? ~(F_SEQ_BEFORE | F_SEQ_INCLUSIVE | F_SEQ_CANDIDATE) : ~F_SEQ_CANDIDATE;
  store<u8>(s + S_FLAGS, (flags & keep) | F_SEQ_INIT);
  store<u32>(s + S_BASE_SEQ, seq);
  store<u32>(s + S_LAST_SEQ, seq);
  store<f64>(s + S_UNITS, <f64>units);
  store<f64>(s + S_RECORDS_SINCE, <f64>records);
  store<f64>(s + S_FIRST_UNITS, <f64>units);
  store<f64>(s + S_LOST_REPORTED, 0);
}

/** Whether `seq` continues the out-of-window message just before it: 0 to window sequence numbers ahead of it. */
@inline function continuesCandidate(seq: u32, flags: u8): bool {
  if ((flags & F_SEQ_CANDIDATE) == 0) return false;
  const ahead = <i32>(seq - load<u32>(ctx.sessionPtr + S_SEQ_CANDIDATE));
  return ahead >= 0 && <f64>ahead <= sequenceWindow;
}

/** A sysUptime that went back by more than reordering explains means the exporter rebooted. */
function uptimeWentBack(uptime: u32): bool {
  const s = ctx.sessionPtr;
  const last = load<u32>(s + S_LAST_UPTIME);
  const back = (load<u8>(s + S_FLAGS) & F_SEQ_INIT) != 0 && uptime < last && last - uptime > 60000;
  if (uptime > last || back) store<u32>(s + S_LAST_UPTIME, uptime);
  return back;
}

/**
 * The sets of a message: set id, set length, body (RFC 7011 section 3.3.2; v9 flowsets alike).
 * Template sets are 2 / 3 in IPFIX, 0 / 1 (options) in NetFlow v9; data sets are 256 and up.
 */
function walkSets(p: usize, end: usize, ipfix: bool): void {
  while (p + 4 <= end) {
    const id = be16(p);
    const setLen = <usize>be16(p + 2);
    if (setLen < 4 || p + setLen > end) {
      countStatus(Status.BadSet);
      return;
    }
    if (id >= 256) dataSet(id, p + 4, p + setLen);
    else if (ipfix && (id == 2 || id == 3)) templateSet(p + 4, p + setLen, id == 3, true);
    else if (!ipfix && id == 0) templateSet(p + 4, p + setLen, false, false);
    else if (!ipfix && id == 1) v9OptionsTemplateSet(p + 4, p + setLen);
    p += setLen;
  }
}

export function decodeIpfix(len: u32): Status {
  if (len < 16) return Status.TruncatedHeader;
  const msgLen = be16(IN_PTR + 2);
  if (msgLen < 16 || msgLen > len) return Status.BadLength;
  ctx.version = 10;
  ctx.exportSec = be32(IN_PTR + 4);
  ctx.timeMs = <u64>ctx.exportSec * 1000;
  ctx.baseMs = ctx.timeMs;
  ctx.uptime = 0;
  ctx.headerRate = 0;
  if (!openSession(be32(IN_PTR + 12))) return Status.ExporterLimit;
  bump(C_PACKETS);
  bump(C_PACKETS_V10);
  beginMessage();
  walkSets(IN_PTR + 16, IN_PTR + msgLen, true);
  const records = messageRecords; // before held sets of earlier messages are added
  endMessage();
  trackSequence(be32(IN_PTR + 8), records, records, false, messageFlowRecords);
  return Status.Ok;
}

export function decodeV9(len: u32): Status {
  if (len < 20) return Status.TruncatedHeader;
  ctx.version = 9;
  ctx.uptime = be32(IN_PTR + 4);
  ctx.exportSec = be32(IN_PTR + 8);
  ctx.timeMs = <u64>ctx.exportSec * 1000;
  ctx.baseMs = ctx.timeMs;
  ctx.headerRate = 0;
  if (!openSession(be32(IN_PTR + 16))) return Status.ExporterLimit;
  bump(C_PACKETS);
  bump(C_PACKETS_V9);
  beginMessage();
  const reset = uptimeWentBack(ctx.uptime);
  // The header count is not trusted (softflowd leaves template records out of it): the datagram length bounds the walk.
  walkSets(IN_PTR + 20, IN_PTR + len, false);
  const records = messageRecords;
  endMessage();
  trackSequence(be32(IN_PTR + 12), 1, records, reset, messageFlowRecords);
  return Status.Ok;
}

// NetFlow v5 records have a fixed layout, decoded straight into the value slots.
const V5_MASK: u64 = (<u64>1 << Slot.Src4) | (<u64>1 << Slot.Dst4) | (<u64>1 << Slot.NextHop4) |
  (<u64>1 << Slot.InIf) | (<u64>1 << Slot.OutIf) | (<u64>1 << Slot.Pkts) | (<u64>1 << Slot.Bytes) |
  (<u64>1 << Slot.StartUptime) | (<u64>1 << Slot.EndUptime) | (<u64>1 << Slot.Srcp) | (<u64>1 << Slot.Dstp) |
  (<u64>1 << Slot.Flags) | (<u64>1 << Slot.Proto) | (<u64>1 << Slot.Tos) | (<u64>1 << Slot.SrcAs) | (<u64>1 << Slot.DstAs);
// A pseudo template for emitRecord: only the presence mask at T_MASK is read.
import { V5_TEMPLATE_PTR } from "./layout";
import { T_MASK } from "./templates";

@inline function setSlot(slot: Slot, v: u64): void { store<u64>(REC_PTR + slotOffset(slot), v); }

export function decodeV5(len: u32): Status {
  if (len < 24) return Status.TruncatedHeader;
  const count = be16(IN_PTR + 2);
  if (count == 0 || <u32>24 + count * 48 > len) return Status.BadLength;
  ctx.version = 5;
  ctx.uptime = be32(IN_PTR + 4);
  ctx.exportSec = be32(IN_PTR + 8);
  const nsecs = be32(IN_PTR + 12);
  ctx.timeMs = <u64>ctx.exportSec * 1000 + <u64>(nsecs / 1000000);
  ctx.baseMs = ctx.timeMs;
  ctx.tid = 0;
  const sampling = be16(IN_PTR + 22);
  ctx.headerRate = sampling & 0x3fff;
  const domain = (<u32>load<u8>(IN_PTR + 20) << 8) | load<u8>(IN_PTR + 21);
  if (!openSession(domain)) return Status.ExporterLimit;
  bump(C_PACKETS);
  bump(C_PACKETS_V5);
  const reset = uptimeWentBack(ctx.uptime);
  store<u64>(V5_TEMPLATE_PTR + T_MASK, V5_MASK);
  const rec = REC_PTR;
  for (let i: u32 = 0; i < count; i++) {
    const r = IN_PTR + 24 + <usize>i * 48;
    store<u32>(rec + REC_SRC4, load<u32>(r));
    store<u32>(rec + REC_DST4, load<u32>(r + 4));
    store<u32>(rec + REC_NH4, load<u32>(r + 8));
    setSlot(Slot.InIf, be16(r + 12));
    setSlot(Slot.OutIf, be16(r + 14));
    setSlot(Slot.Pkts, be32(r + 16));
    setSlot(Slot.Bytes, be32(r + 20));
    setSlot(Slot.StartUptime, be32(r + 24));
    setSlot(Slot.EndUptime, be32(r + 28));
    setSlot(Slot.Srcp, be16(r + 32));
    setSlot(Slot.Dstp, be16(r + 34));
    setSlot(Slot.Flags, load<u8>(r + 37));
    setSlot(Slot.Proto, load<u8>(r + 38));
    setSlot(Slot.Tos, load<u8>(r + 39));
    setSlot(Slot.SrcAs, be16(r + 40));
    setSlot(Slot.DstAs, be16(r + 42));
    setRecordBytes(r, r + 48);
    if (emitRecord(V5_TEMPLATE_PTR, ctx.sessionPtr) && (!allFields || appendAnyFields(V5_TEMPLATE_PTR))) bump(C_RECORDS);
    else countStatus(Status.OutputFull);
  }
  trackSequence(be32(IN_PTR + 16), count, count, reset, count);
  return Status.Ok;
}

export { REC_DST4 };
