// The decoded values of one record (at REC_PTR) and the output fields they become.
// A template knows at compile time which slots its records fill (its presence mask), so
// slots are never cleared between records: only slots in the mask are read.

/** Output fields, in emit order; bit n of the field mask selects field n. */
export const enum Field {
  Dvc = 0, Src = 1, Srcp = 2, Dst = 3, Dstp = 4, Proto = 5, Flags = 6, Bytes = 7, Pkts = 8, Time = 9,
  Start = 10, End = 11, InIf = 12, OutIf = 13, Tos = 14, SrcAs = 15, DstAs = 16, NextHop = 17,
  Vlan = 18, IcmpType = 19, IcmpCode = 20, Direction = 21, Sampling = 22, Rbytes = 23, Rpkts = 24,
  Version = 25, Odid = 26, Tid = 27,
  // Written when present, after the others (options-names.ts): names learnt from options data,
  // VRF ids and the application id. Members named in lowerCamelCase keep that name as their
  // JSON key (IANA's spelling); the others are snake_cased by the host (src/decoder/abi.ts).
  InIfName = 28, OutIfName = 29, InVrf = 30, OutVrf = 31, InVrfName = 32, OutVrfName = 33,
  applicationId = 34, applicationName = 35,
}
export const FIELD_COUNT: i32 = 36;
/** KFlow's ten: always written when selected (0 or null when the exporter does not send them). */
export const KFLOW_FIELDS: u32 = 0x3ff;

/** Value slots: u64 each at REC_PTR + slot * 8. Addresses have slots of their own below. */
export const enum Slot {
  Srcp = 0, Dstp = 1, Proto = 2, Flags = 3, Bytes = 4, Pkts = 5, Start = 6, End = 7,
  InIf = 8, OutIf = 9, Tos = 10, SrcAs = 11, DstAs = 12, Vlan = 13,
  IcmpTypeCode = 14, IcmpType = 15, IcmpCode = 16, Direction = 17, Rbytes = 18, Rpkts = 19,
  StartUptime = 20, EndUptime = 21, StartDeltaUs = 22, EndDeltaUs = 23, SysInit = 24,
  SamplingInterval = 25, SamplerRandomInterval = 26, PacketInterval = 27, PacketSpace = 28,
  SamplerId = 29, SelectorId = 30, SamplingSize = 31, SamplingPopulation = 32,
  // Address slots (presence bits only; bytes at the offsets below).
  Src4 = 40, Dst4 = 41, NextHop4 = 42, Src6 = 43, Dst6 = 44, NextHop6 = 45,
  // The exporter the record states (IE 130 / 131): never emitted, read for relays (relay.ts).
  Exporter4 = 46, Exporter6 = 47,
  // Options data names (options-names.ts): VRF ids are values; the others are references (u32
  // address of the bytes in the datagram or held set, u32 length), valid while the record is read.
  VrfIn = 50, VrfOut = 51, AppId = 52, IfName = 53, IfDesc = 54, VrfName = 55, AppName = 56, AppDesc = 57,
}

export const REC_SRC4: usize = 8 * 34;
export const REC_DST4: usize = REC_SRC4 + 4;
export const REC_NH4: usize = REC_SRC4 + 8;
export const REC_EXP4: usize = REC_SRC4 + 12;
export const REC_SRC6: usize = REC_SRC4 + 16;
export const REC_DST6: usize = REC_SRC6 + 16;
export const REC_NH6: usize = REC_DST6 + 16;
export const REC_EXP6: usize = REC_NH6 + 16;
export const REC_SIZE: usize = REC_EXP6 + 16;

/** Byte offset of a slot's value inside the record region. */
export function slotOffset(slot: u32): usize {
  switch (slot) {
    case Slot.Src4: return REC_SRC4;
    case Slot.Dst4: return REC_DST4;
    case Slot.NextHop4: return REC_NH4;
    case Slot.Src6: return REC_SRC6;
    case Slot.Dst6: return REC_DST6;
    case Slot.NextHop6: return REC_NH6;
    case Slot.Exporter4: return REC_EXP4;
    case Slot.Exporter6: return REC_EXP6;
    default: return <usize>slot << 3;
  }
}

@inline export function has(mask: u64, slot: u32): bool {
  return (mask & (<u64>1 << slot)) != 0;
}
