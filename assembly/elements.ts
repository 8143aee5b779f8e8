// Information elements the decoder turns into record values (IANA "IPFIX Information
// Elements"; NetFlow v9 field types 1-79 share the numbers). One table entry per element:
// what to do with its bytes, which value slot it fills, and a rank that settles which
// element wins when a template carries two for one slot (lower wins; otherwise the first).
// Elements not in the table are skipped by length, so no record ever disappears for them.
import { Slot } from "./fields";

export const enum Action {
  Skip = 0, SkipVar = 1, Uint = 2, Addr4 = 3, Addr6 = 4, TimeSec = 5, TimeMs = 6, TimeNtp = 7,
  /** Where the bytes are and how many (strings and octet arrays, fixed or variable length): see Slot.AppId. */
  Ref = 8,
}

/** PEN of RFC 5103 reverse elements (biflows). */
export const PEN_REVERSE: u32 = 29305;
export const ELEMENT_TABLE_SIZE: usize = 512 * 4;

let TABLE_PTR: usize = 0;

@inline function entry(action: Action, slot: Slot, rank: u32): u32 {
  return 0x1000000 | (rank << 16) | (<u32>slot << 8) | <u32>action;
}

function put(ie: u32, action: Action, slot: Slot, rank: u32 = 0): void {
  store<u32>(TABLE_PTR + (<usize>ie << 2), entry(action, slot, rank));
}

export function initElements(base: usize): void {
  TABLE_PTR = base;
  put(1, Action.Uint, Slot.Bytes); put(85, Action.Uint, Slot.Bytes, 1); // octetDelta/TotalCount
  put(2, Action.Uint, Slot.Pkts); put(86, Action.Uint, Slot.Pkts, 1); // packetDelta/TotalCount
  put(4, Action.Uint, Slot.Proto);
  put(5, Action.Uint, Slot.Tos);
  put(6, Action.Uint, Slot.Flags);
  put(7, Action.Uint, Slot.Srcp); put(180, Action.Uint, Slot.Srcp, 1); put(182, Action.Uint, Slot.Srcp, 1);
  put(11, Action.Uint, Slot.Dstp); put(181, Action.Uint, Slot.Dstp, 1); put(183, Action.Uint, Slot.Dstp, 1);
  put(8, Action.Addr4, Slot.Src4);
  put(12, Action.Addr4, Slot.Dst4);
  put(15, Action.Addr4, Slot.NextHop4); put(18, Action.Addr4, Slot.NextHop4, 1); // ipNextHop, bgpNextHop
  put(27, Action.Addr6, Slot.Src6);
  put(28, Action.Addr6, Slot.Dst6);
  put(62, Action.Addr6, Slot.NextHop6); put(63, Action.Addr6, Slot.NextHop6, 1);
  put(130, Action.Addr4, Slot.Exporter4); put(131, Action.Addr6, Slot.Exporter6); // exporterIPv4/IPv6Address
  put(10, Action.Uint, Slot.InIf);
  put(14, Action.Uint, Slot.OutIf);
  put(16, Action.Uint, Slot.SrcAs);
  put(17, Action.Uint, Slot.DstAs);
  put(58, Action.Uint, Slot.Vlan); put(243, Action.Uint, Slot.Vlan, 1); // vlanId, dot1qVlanId
  put(32, Action.Uint, Slot.IcmpTypeCode); put(139, Action.Uint, Slot.IcmpTypeCode, 1);
  put(176, Action.Uint, Slot.IcmpType); put(178, Action.Uint, Slot.IcmpType, 1);
  put(177, Action.Uint, Slot.IcmpCode); put(179, Action.Uint, Slot.IcmpCode, 1);
  put(61, Action.Uint, Slot.Direction);
  put(150, Action.TimeSec, Slot.Start, 2); put(151, Action.TimeSec, Slot.End, 2);
  put(152, Action.TimeMs, Slot.Start); put(153, Action.TimeMs, Slot.End);
  put(154, Action.TimeNtp, Slot.Start, 1); put(155, Action.TimeNtp, Slot.End, 1); // microseconds
  put(156, Action.TimeNtp, Slot.Start, 1); put(157, Action.TimeNtp, Slot.End, 1); // nanoseconds
  put(22, Action.Uint, Slot.StartUptime); put(21, Action.Uint, Slot.EndUptime);
  put(158, Action.Uint, Slot.StartDeltaUs); put(159, Action.Uint, Slot.EndDeltaUs);
  put(160, Action.Uint, Slot.SysInit);
  put(34, Action.Uint, Slot.SamplingInterval);
  put(50, Action.Uint, Slot.SamplerRandomInterval);
  put(305, Action.Uint, Slot.PacketInterval);
  put(306, Action.Uint, Slot.PacketSpace);
  put(48, Action.Uint, Slot.SamplerId);
  put(302, Action.Uint, Slot.SelectorId);
  put(309, Action.Uint, Slot.SamplingSize);
  put(310, Action.Uint, Slot.SamplingPopulation);
  // Names in options data (options-names.ts) and what data records name them by.
  put(234, Action.Uint, Slot.VrfIn); put(235, Action.Uint, Slot.VrfOut); // ingressVRFID, egressVRFID
  put(95, Action.Ref, Slot.AppId); // applicationId
  put(82, Action.Ref, Slot.IfName); put(83, Action.Ref, Slot.IfDesc); // interfaceName, interfaceDescription
  put(236, Action.Ref, Slot.VrfName); // VRFname
  put(96, Action.Ref, Slot.AppName); put(94, Action.Ref, Slot.AppDesc); // applicationName, applicationDescription
}

/** The table entry for (ie, pen), or 0 for an element the decoder skips. */
export function lookupElement(ie: u32, pen: u32): u32 {
  if (pen == 0) return ie < 512 ? load<u32>(TABLE_PTR + (<usize>ie << 2)) : 0;
  if (pen == PEN_REVERSE) {
    if (ie == 1) return entry(Action.Uint, Slot.Rbytes, 0);
    if (ie == 85) return entry(Action.Uint, Slot.Rbytes, 1);
    if (ie == 2) return entry(Action.Uint, Slot.Rpkts, 0);
    if (ie == 86) return entry(Action.Uint, Slot.Rpkts, 1);
  }
  return 0;
}

/** Whether a field of `length` bytes can be read by `action` (else it is skipped). */
export function lengthFits(action: u32, length: u32): bool {
  switch (action) {
    case Action.Uint: case Action.TimeSec: case Action.TimeMs: return length >= 1 && length <= 8;
    case Action.Addr4: return length == 4;
    case Action.Addr6: return length == 16;
    case Action.TimeNtp: return length == 8;
    case Action.Ref: return length >= 1;
    default: return true;
  }
}
