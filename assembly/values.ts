// Values derived from one decoded record's slots (at REC_PTR) and its exporter's session, the
// same for every output format (JSON in record.ts, goflow2's Protobuf in protobuf.ts), so the
// formats cannot disagree: the sampling rate in force, absolute start and end times, ICMP type
// and code.
import { REC_PTR } from "./layout";
import { Slot, has } from "./fields";
import { ctx } from "./context";
import { samplerRate, S_SYSINIT, S_FLAGS, F_HAS_SYSINIT, S_DEFAULT_RATE } from "./sessions";

// Selector ids (IE 302) share the sampler table with sampler ids (IE 48), told apart by this bit;
// ids keep 30 bits so that the table's id + 1 never wraps to its free-slot 0.
export const SELECTOR_FLAG: u32 = 0x40000000;
export const ID_MASK: u32 = 0x3fffffff;

@inline export function val(slot: Slot): u64 {
  return load<u64>(REC_PTR + (<usize>slot << 3));
}

/**
 * The sampling rate in force for the record just read (0 = not known): the host's override rate
 * for the exporter, else what the exporter announces, else the host's default rate.
 */
export function samplingRate(mask: u64, s: usize): u32 {
  if (ctx.overrideRate != 0) return ctx.overrideRate;
  let rate: u32 = 0;
  if (has(mask, Slot.SamplerId)) rate = samplerRate(s, <u32>val(Slot.SamplerId) & ID_MASK);
  else if (has(mask, Slot.SelectorId)) rate = samplerRate(s, SELECTOR_FLAG | (<u32>val(Slot.SelectorId) & ID_MASK));
  if (rate == 0) rate = rateFromValues(mask);
  if (rate == 0) rate = ctx.headerRate;
  if (rate == 0) rate = load<u32>(s + S_DEFAULT_RATE);
  if (rate == 0) rate = ctx.defaultRate;
  return rate;
}

/**
 * A packet or byte count scaled by the sampling rate in force (decoder.scale_counters): `v` times
 * `rate` when the rate is above 1, saturating at 2^64 - 1 rather than wrapping.
 */
export function scaled(v: u64, rate: u32): u64 {
  if (rate <= 1 || v == 0) return v;
  const r = <u64>rate;
  return v > U64.MAX_VALUE / r ? U64.MAX_VALUE : v * r;
}

/** A rate from the sampling elements of one record: 34, 50, 305/306 or 309/310. */
export function rateFromValues(mask: u64): u32 {
  if (has(mask, Slot.SamplingInterval) && val(Slot.SamplingInterval) > 0) return <u32>val(Slot.SamplingInterval);
  if (has(mask, Slot.SamplerRandomInterval) && val(Slot.SamplerRandomInterval) > 0) return <u32>val(Slot.SamplerRandomInterval);
  if (has(mask, Slot.PacketInterval) && val(Slot.PacketInterval) > 0) {
    const space = has(mask, Slot.PacketSpace) ? val(Slot.PacketSpace) : 0;
    return <u32>((val(Slot.PacketInterval) + space) / val(Slot.PacketInterval));
  }
  if (has(mask, Slot.SamplingSize) && has(mask, Slot.SamplingPopulation) && val(Slot.SamplingSize) > 0) {
    return <u32>(val(Slot.SamplingPopulation) / val(Slot.SamplingSize));
  }
  return 0;
}

/** Absolute time in ms of a record's start (or end), or -1 when the record has none. */
@inline export function recordTime(mask: u64, abs: Slot, uptime: Slot, delta: Slot, s: usize): i64 {
  if (has(mask, abs)) return <i64>val(abs);
  return relativeTime(mask, uptime, delta, s);
}

/** recordTime() for records without an absolute time: from sysUptime or a delta to the export time. */
function relativeTime(mask: u64, uptime: Slot, delta: Slot, s: usize): i64 {
  if (has(mask, uptime)) {
    const up = <u32>val(uptime);
    if (ctx.version == 10) {
      if (has(mask, Slot.SysInit)) return <i64>val(Slot.SysInit) + <i64>up;
      if ((load<u8>(s + S_FLAGS) & F_HAS_SYSINIT) != 0) return <i64>load<f64>(s + S_SYSINIT) + <i64>up;
      return -1;
    }
    // NetFlow v9 / v5: the switch times are sysUptime values of the export header's clock.
    return <i64>ctx.baseMs - <i64>(<u32>(ctx.uptime - up));
  }
  if (has(mask, delta)) return <i64>ctx.timeMs - <i64>(val(delta) / 1000);
  return -1;
}

/** ICMP type and code of the record just read, as type << 32 | code; -1 when it carries none. */
export function icmpTypeCode(mask: u64): i64 {
  if (has(mask, Slot.IcmpTypeCode)) return <i64>(((val(Slot.IcmpTypeCode) >>> 8) & 0xff) << 32 | (val(Slot.IcmpTypeCode) & 0xff));
  if (has(mask, Slot.IcmpType)) return <i64>((val(Slot.IcmpType) << 32) | (has(mask, Slot.IcmpCode) ? val(Slot.IcmpCode) & 0xffffffff : 0));
  if (has(mask, Slot.Proto) && (val(Slot.Proto) == 1 || val(Slot.Proto) == 58) && has(mask, Slot.Dstp) &&
    (!has(mask, Slot.Srcp) || val(Slot.Srcp) == 0)) {
    // NetFlow v5 and many v9 exporters carry ICMP type * 256 + code in the destination port.
    return <i64>(((val(Slot.Dstp) >>> 8) & 0xff) << 32 | (val(Slot.Dstp) & 0xff));
  }
  return -1;
}
