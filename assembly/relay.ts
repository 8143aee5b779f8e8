// Exporters behind a relay or NAT (config routing.relays). A relay (samplicator, a NAT, a proxy
// collector) forwards exporters' datagrams from its own address; the exporter is then known only
// from what it states: exporterIPv4Address (IE 130) / exporterIPv6Address (IE 131) in the record,
// or in the options data of its session. For the datagrams the host flags as a relay's
// (decode()'s DECODE_RELAY), each record's dvc is the exporter it states, and its index entry's
// RouteAt word names the entry of this datagram's stated-exporter table (StatedExporters at
// STATED_PTR) the host routes it by. A record that states none keeps the relay's address (counted).
// Datagrams of every other source ignore 130 / 131: a forged value must not move records to
// another tenant. Sessions stay keyed by the relay's (address, port, domain): templates belong to
// the relay's transport session, as RFC 7011 section 8 has them.
import { ADDR_PTR, DVC_PTR, REC_PTR, STATED_PTR, STATED_TEXT_PTR, STATED_V4_PTR, StatedExporters } from "./layout";
import { Slot, has, REC_EXP4, REC_EXP6 } from "./fields";
import { S_STATED } from "./sessions";
import { bump, C_RELAY_STATED, C_RELAY_NO_STATED_EXPORTER, C_RELAY_TABLE_FULL } from "./counters";
import { putIPv4, putIPv6 } from "./text";
import { ctx } from "./context";

const EXPORTER_SLOTS: u64 = (<u64>1 << <u64>Slot.Exporter4) | (<u64>1 << <u64>Slot.Exporter6);
const TEXT_ENTRY: usize = 64;
const TEXT_LENGTH_AT: usize = 60;

/** The datagram being decoded is a relay's (set per datagram by beginDatagram). */
export let relayDatagram: bool = false;
/** For the record being written: where its dvc text is (its length is ctx.dvcLen), its exporter's 16 address bytes, its RouteAt word. */
export let dvcText: usize = DVC_PTR;
export let exporterAddress: usize = ADDR_PTR;
export let routeWord: u32 = 0;
let statedCount: u32 = 0;
let datagramDvcLen: u32 = 0;

/** Writes the 16-byte address at `addr` as quoted text at `dst` (at most 41 bytes); returns its length. */
export function quoteAddress(dst: usize, addr: usize): u32 {
  store<u8>(dst, 34);
  let o: usize;
  if (load<u64>(addr) == 0 && load<u32>(addr + 8) == 0xffff0000) o = putIPv4(dst + 1, addr + 12);
  else o = putIPv6(dst + 1, addr);
  store<u8>(o, 34);
  return <u32>(o + 1 - dst);
}

/** A new datagram (after its dvc text is written): records take the datagram's exporter until routeRecord says otherwise. */
export function beginDatagram(relay: bool): void {
  relayDatagram = relay;
  statedCount = 0;
  datagramDvcLen = ctx.dvcLen;
  useDatagramExporter();
}

@inline function useDatagramExporter(): void {
  dvcText = DVC_PTR;
  ctx.dvcLen = datagramDvcLen;
  exporterAddress = ADDR_PTR;
  routeWord = 0;
}

@inline function nonZero16(p: usize): bool {
  return (load<u64>(p) | load<u64>(p + 8)) != 0;
}

/** The IPv4 address at `v4` as ::ffff:a.b.c.d at `dst`. */
@inline function mapV4(dst: usize, v4: usize): void {
  store<u64>(dst, 0);
  store<u32>(dst + 8, 0xffff0000);
  store<u32>(dst + 12, load<u32>(v4));
}

/**
 * Options data of session `s` stated its exporter (the options record just read, presence `mask`):
 * remembered for the session's records that state none. A zero address (pmacct sends :: in 131
 * beside its IPv4 address in 130) states nothing.
 */
export function learnStatedExporter(mask: u64, s: usize): void {
  if ((mask & EXPORTER_SLOTS) == 0) return;
  if (has(mask, Slot.Exporter4) && load<u32>(REC_PTR + REC_EXP4) != 0) {
    mapV4(s + S_STATED, REC_PTR + REC_EXP4);
  } else if (has(mask, Slot.Exporter6) && nonZero16(REC_PTR + REC_EXP6)) {
    store<u64>(s + S_STATED, load<u64>(REC_PTR + REC_EXP6));
    store<u64>(s + S_STATED + 8, load<u64>(REC_PTR + REC_EXP6 + 8));
  }
}

/**
 * A relay's record (presence `mask`, session `s`) is about to be written: picks the exporter it
 * states (its own 130, then 131, then its session's options data), finds or adds it in the
 * datagram's table, and points dvcText, exporterAddress and routeWord at it. Called per record of
 * relays' datagrams only; a lookup is a compare of 16 bytes per distinct exporter so far (usually one).
 */
export function routeRecord(mask: u64, s: usize): void {
  let addr: usize = 0;
  if (has(mask, Slot.Exporter4) && load<u32>(REC_PTR + REC_EXP4) != 0) {
    mapV4(STATED_V4_PTR, REC_PTR + REC_EXP4);
    addr = STATED_V4_PTR;
  } else if (has(mask, Slot.Exporter6) && nonZero16(REC_PTR + REC_EXP6)) {
    addr = REC_PTR + REC_EXP6;
  } else if (nonZero16(s + S_STATED)) {
    addr = s + S_STATED;
  }
  if (addr == 0) {
    useDatagramExporter();
    bump(C_RELAY_NO_STATED_EXPORTER);
    return;
  }
  const a0 = load<u64>(addr);
  const a1 = load<u64>(addr + 8);
  let k: u32 = 0;
  while (k < statedCount) {
    const e = STATED_PTR + <usize>k * StatedExporters.EntryBytes;
    if (load<u64>(e) == a0 && load<u64>(e + 8) == a1) break;
    k++;
  }
  if (k == statedCount) {
    if (k >= <u32>StatedExporters.Capacity) {
      useDatagramExporter();
      bump(C_RELAY_TABLE_FULL);
      return;
    }
    const e = STATED_PTR + <usize>k * StatedExporters.EntryBytes;
    store<u64>(e, a0);
    store<u64>(e + 8, a1);
    const text = STATED_TEXT_PTR + <usize>k * TEXT_ENTRY;
    store<u32>(text + TEXT_LENGTH_AT, quoteAddress(text, e));
    statedCount++;
  }
  dvcText = STATED_TEXT_PTR + <usize>k * TEXT_ENTRY;
  ctx.dvcLen = load<u32>(dvcText + TEXT_LENGTH_AT);
  exporterAddress = STATED_PTR + <usize>k * StatedExporters.EntryBytes;
  routeWord = k + 1;
  bump(C_RELAY_STATED);
}
