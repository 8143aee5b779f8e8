// Repeated headers in one template (encapsulation: IP-in-IP, SRv6, GRE records that list the
// outer header's fields, then the inner one's). The short fields src, dst, srcp, dstp and proto
// must come from one header, never a mix, so the template compiler defers these elements here
// and splits them into headers before it gives them value slots.
//
// A second header starts where one of these elements repeats (the same element id within the
// header so far): sourceIPv4Address twice, or protocolIdentifier twice when an IPv4 outer header
// is followed by an IPv6 inner one. When the header so far holds addresses of two families, the
// second header starts back at the first address of the second family (IPv4 outer, IPv6 inner).
// The short fields take the first (outer) header: the one the exporter's network routed, whose
// addresses identify the tunnel endpoints the flow was seen between, and what a template without
// the inner header would have said. The second header's elements are left out of the short
// fields (and written as inner_src, inner_dst, ... in all mode); a third header's are written by
// name only. Without a repeat, a template holding both families (dual-stack templates, one of
// them zero per record) stays one header, as before.
import { COMPILE_SCRATCH_PTR } from "./layout";
import { Slot } from "./fields";

// Deferred elements: u16 step, u16 element id, u8 slot, u8 rank, u8 action, u8 header.
const ENTRY: usize = 8;
const LIST_PTR: usize = COMPILE_SCRATCH_PTR; // MAX_FIELDS entries (2 KB)
let listCount: u32 = 0;

/** The elements that make up a header: addresses, ports, protocol. */
export function isHeaderSlot(slot: u32): bool {
  return slot == Slot.Src4 || slot == Slot.Dst4 || slot == Slot.Src6 || slot == Slot.Dst6 ||
    slot == Slot.Srcp || slot == Slot.Dstp || slot == Slot.Proto;
}

function family(slot: u32): u32 {
  if (slot == Slot.Src4 || slot == Slot.Dst4) return 4;
  if (slot == Slot.Src6 || slot == Slot.Dst6) return 6;
  return 0;
}

export function resetHeaders(): void {
  listCount = 0;
}

export function deferHeaderField(step: u32, ie: u32, slot: u32, rank: u32, action: u32): void {
  const e = LIST_PTR + <usize>listCount * ENTRY;
  store<u16>(e, <u16>step);
  store<u16>(e + 2, <u16>ie);
  store<u8>(e + 4, <u8>slot);
  store<u8>(e + 5, <u8>rank);
  store<u8>(e + 6, <u8>action);
  store<u8>(e + 7, 0);
  listCount++;
}

@inline export function headerFieldCount(): u32 { return listCount; }
@inline function entryPtr(i: u32): usize { return LIST_PTR + <usize>i * ENTRY; }
@inline export function headerFieldStep(i: u32): u32 { return <u32>load<u16>(entryPtr(i)); }
@inline export function headerFieldSlot(i: u32): u32 { return <u32>load<u8>(entryPtr(i) + 4); }
@inline export function headerFieldRank(i: u32): u32 { return <u32>load<u8>(entryPtr(i) + 5); }
@inline export function headerFieldAction(i: u32): u32 { return <u32>load<u8>(entryPtr(i) + 6); }
/** 0 outer (the short fields), 1 inner (inner_ names), 2 any further header. */
@inline export function headerOf(i: u32): u32 { return <u32>load<u8>(entryPtr(i) + 7); }

let firstFamily: u32 = 0;
let secondFamilyAt: i32 = -1;

function track(i: u32): void {
  const f = family(headerFieldSlot(i));
  if (f == 0) return;
  if (firstFamily == 0) firstFamily = f;
  else if (f != firstFamily && secondFamilyAt < 0) secondFamilyAt = <i32>i;
}

/** Splits the deferred elements into headers (see the top of this file). */
export function assignHeaders(): void {
  let header: u32 = 0;
  let start: u32 = 0;
  firstFamily = 0;
  secondFamilyAt = -1;
  for (let i: u32 = 0; i < listCount; i++) {
    if (header < 2) {
      const ie = load<u16>(entryPtr(i) + 2);
      let repeat = false;
      for (let j = start; j < i; j++) {
        if (load<u16>(entryPtr(j) + 2) == ie) { repeat = true; break; }
      }
      if (repeat) {
        if (header == 1) {
          header = 2;
        } else {
          const from: u32 = secondFamilyAt >= 0 ? <u32>secondFamilyAt : i;
          header = 1;
          start = from;
          firstFamily = 0;
          secondFamilyAt = -1;
          for (let j = from; j < i; j++) {
            store<u8>(entryPtr(j) + 7, 1);
            track(j);
          }
        }
      }
    }
    store<u8>(entryPtr(i) + 7, <u8>header);
    if (header < 2) track(i);
  }
}
