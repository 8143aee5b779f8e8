// One decoded record as goflow2's FlowMessage (src/output/flow.proto: package flowpb, field
// numbers and types of goflow2's pb/flow.proto), written straight into the output region from
// the same slots and derived values as the JSON (values.ts). proto3: a zero value is left out,
// as every proto3 encoder does. Optionally preceded by its length as a varint, the framing
// goflow2 writes by default.
import { REC_PTR } from "./layout";
import { exporterAddress } from "./relay";
import { Slot, has, REC_SRC4, REC_DST4, REC_NH4, REC_SRC6, REC_DST6, REC_NH6 } from "./fields";
import { ctx } from "./context";
import { val, samplingRate, recordTime, icmpTypeCode, scaled } from "./values";
import { scaleCounters } from "./record";

/** FlowMessage field numbers used here (goflow2 pb/flow.proto). */
const enum Pb {
  Type = 1, SamplingRate = 3, SrcAddr = 6, DstAddr = 7, Bytes = 9, Packets = 10, SamplerAddress = 11,
  NextHop = 12, SrcAs = 14, DstAs = 15, InIf = 18, OutIf = 19, Proto = 20, SrcPort = 21, DstPort = 22,
  IpTos = 23, TcpFlags = 26, Etype = 30, IcmpType = 31, IcmpCode = 32, SrcVlan = 33,
  ObservationDomainId = 70, TimeReceivedNs = 110, TimeFlowStartNs = 111, TimeFlowEndNs = 112,
}
/** FlowMessage.FlowType for NetFlow v5, v9 and IPFIX. */
const FLOW_TYPE_V5: u64 = 2, FLOW_TYPE_V9: u64 = 3, FLOW_TYPE_IPFIX: u64 = 4;
const ETYPE_IPV4: u64 = 0x0800, ETYPE_IPV6: u64 = 0x86dd;
const WIRE_VARINT: u32 = 0, WIRE_BYTES: u32 = 2;
const NS_PER_MS: u64 = 1000000;

@inline function putVarint(o: usize, v: u64): usize {
  while (v >= 0x80) {
    store<u8>(o, <u8>(v | 0x80));
    v >>>= 7;
    o++;
  }
  store<u8>(o, <u8>v);
  return o + 1;
}

@inline function putUint(o: usize, field: u32, v: u64): usize {
  if (v == 0) return o;
  return putVarint(putVarint(o, <u64>((field << 3) | WIRE_VARINT)), v);
}

/** `len` bytes at p as a bytes field (addresses: 4 or 16 bytes, in network order). */
@inline function putBytes(o: usize, field: u32, p: usize, len: usize): usize {
  o = putVarint(o, <u64>((field << 3) | WIRE_BYTES));
  store<u8>(o, <u8>len);
  memory.copy(o + 1, p, len);
  return o + 1 + len;
}

/** The record's IPv6 address when it has one (and no non-zero IPv4 one), else its IPv4 address; as JSON chooses. */
@inline function putAddr(o: usize, field: u32, mask: u64, v4: Slot, p4: usize, v6: Slot, p6: usize): usize {
  if (has(mask, v6) && (!has(mask, v4) || load<u32>(REC_PTR + p4) == 0)) return putBytes(o, field, REC_PTR + p6, 16);
  if (has(mask, v4)) return putBytes(o, field, REC_PTR + p4, 4);
  return o;
}

@inline function slotValue(mask: u64, slot: Slot): u64 {
  return has(mask, slot) ? val(slot) : 0;
}

/** Writes the FlowMessage body at o; returns its end. */
function putFlowMessage(o: usize, mask: u64, s: usize): usize {
  const version = ctx.version;
  o = putUint(o, Pb.Type, version == 10 ? FLOW_TYPE_IPFIX : version == 9 ? FLOW_TYPE_V9 : FLOW_TYPE_V5);
  const rate = samplingRate(mask, s);
  const scale = scaleCounters ? rate : 0;
  o = putUint(o, Pb.SamplingRate, <u64>rate);
  o = putAddr(o, Pb.SrcAddr, mask, Slot.Src4, REC_SRC4, Slot.Src6, REC_SRC6);
  o = putAddr(o, Pb.DstAddr, mask, Slot.Dst4, REC_DST4, Slot.Dst6, REC_DST6);
  o = putUint(o, Pb.Bytes, scaled(slotValue(mask, Slot.Bytes), scale));
  o = putUint(o, Pb.Packets, scaled(slotValue(mask, Slot.Pkts), scale));
  // The exporter (the datagram's source, or for a relay's record the exporter it states: relay.ts), IPv4 as 4 bytes.
  const exporter = exporterAddress;
  if (load<u64>(exporter) == 0 && load<u32>(exporter + 8) == 0xffff0000) o = putBytes(o, Pb.SamplerAddress, exporter + 12, 4);
  else o = putBytes(o, Pb.SamplerAddress, exporter, 16);
  o = putAddr(o, Pb.NextHop, mask, Slot.NextHop4, REC_NH4, Slot.NextHop6, REC_NH6);
  o = putUint(o, Pb.SrcAs, slotValue(mask, Slot.SrcAs));
  o = putUint(o, Pb.DstAs, slotValue(mask, Slot.DstAs));
  o = putUint(o, Pb.InIf, slotValue(mask, Slot.InIf));
  o = putUint(o, Pb.OutIf, slotValue(mask, Slot.OutIf));
  o = putUint(o, Pb.Proto, slotValue(mask, Slot.Proto));
  o = putUint(o, Pb.SrcPort, slotValue(mask, Slot.Srcp));
  o = putUint(o, Pb.DstPort, slotValue(mask, Slot.Dstp));
  o = putUint(o, Pb.IpTos, slotValue(mask, Slot.Tos));
  o = putUint(o, Pb.TcpFlags, slotValue(mask, Slot.Flags));
  const v6 = has(mask, Slot.Src6) && (!has(mask, Slot.Src4) || load<u32>(REC_PTR + REC_SRC4) == 0);
  if (v6 || has(mask, Slot.Src4)) o = putUint(o, Pb.Etype, v6 ? ETYPE_IPV6 : ETYPE_IPV4);
  const icmp = icmpTypeCode(mask);
  if (icmp >= 0) {
    o = putUint(o, Pb.IcmpType, <u64>icmp >>> 32);
    o = putUint(o, Pb.IcmpCode, <u64>icmp & 0xffffffff);
  }
  o = putUint(o, Pb.SrcVlan, slotValue(mask, Slot.Vlan));
  o = putUint(o, Pb.ObservationDomainId, <u64>ctx.domain);
  o = putUint(o, Pb.TimeReceivedNs, <u64>ctx.nowMs * NS_PER_MS);
  const start = recordTime(mask, Slot.Start, Slot.StartUptime, Slot.StartDeltaUs, s);
  if (start > 0) o = putUint(o, Pb.TimeFlowStartNs, <u64>start * NS_PER_MS);
  const end = recordTime(mask, Slot.End, Slot.EndUptime, Slot.EndDeltaUs, s);
  if (end > 0) o = putUint(o, Pb.TimeFlowEndNs, <u64>end * NS_PER_MS);
  return o;
}

/**
 * Writes the record just read as a FlowMessage at o, preceded by its length as a varint when
 * `lengthPrefix`; returns its end. A message is under 16,384 bytes (about 250 at most), so the
 * prefix takes 1 or 2 bytes: the body is written after 2 and moved back one when 1 is enough.
 */
export function putFlowRecord(o: usize, mask: u64, s: usize, lengthPrefix: bool): usize {
  if (!lengthPrefix) return putFlowMessage(o, mask, s);
  const body = o + 2;
  const len = putFlowMessage(body, mask, s) - body;
  if (len < 0x80) {
    store<u8>(o, <u8>len);
    memory.copy(o + 1, body, len);
    return o + 1 + len;
  }
  store<u8>(o, <u8>(len | 0x80));
  store<u8>(o + 1, <u8>(len >>> 7));
  return body + len;
}
