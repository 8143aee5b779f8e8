// What the host shows on /api/exporters and /api/templates: entries written at OUT_PTR on
// request (never per datagram). Their layouts are exported as SessionEntry.* and
// TemplateEntry.* (byte offsets and sizes), so the host reads them from the module, not from
// numbers of its own; the value types (u8 / u16 / u32 / f64 as noted) belong to ABI_VERSION.
import * as layout from "./layout";
import { sessionUsed, sessionPtr, S_ADDR, S_PORT, S_VERSION, S_DOMAIN, S_TEMPLATES, S_DEFAULT_RATE, S_PACKETS, S_RECORDS, S_LOST_TOTAL, S_LAST_SEEN } from "./sessions";
import { templateUsed, templatePtr, T_OWNER, T_ID, T_KIND, T_FIELDS, T_SCOPE, T_LAST_SEEN, T_RAW0, TemplateField } from "./templates";

/** One entry of describeSessions(): byte offsets, then Bytes per entry. */
export const enum SessionEntry {
  /** 16 bytes, IPv4 as ::ffff:a.b.c.d */
  Address = 0,
  /** u16 UDP source port */
  Port = 16,
  /** u8 NetFlow / IPFIX version */
  Version = 18,
  /** u32 observation domain / source id */
  Domain = 20,
  /** u32 templates the session owns */
  Templates = 24,
  /** u32 sampling rate announced without a sampler id (0: none) */
  SamplingRate = 28,
  /** f64 datagrams */
  Datagrams = 32,
  /** f64 records */
  Records = 40,
  /** f64 records estimated lost from sequence numbers */
  SequenceLostRecords = 48,
  /** f64 ms since epoch */
  LastSeenMs = 56,
  /** u32 session index, the `Session` of its templates */
  Index = 64,
  Bytes = 72,
}

/** One entry of describeTemplates(): byte offsets, then Bytes before its FieldCount TemplateField words. */
export const enum TemplateEntry {
  /** u32 session index (SessionEntry.Index) */
  Session = 0,
  /** u16 template id */
  Id = 4,
  /** u8 TemplateKind */
  Kind = 6,
  /** u16 fields as sent */
  FieldCount = 8,
  /** u16 scope fields (options templates) */
  ScopeFields = 10,
  /** f64 ms since epoch the template was last defined */
  DefinedMs = 16,
  Bytes = 24,
}

/** Writes one SessionEntry per exporter session at outPtr(); returns the entry count. Overwrites the last output. */
export function describeSessions(): u32 {
  let o = layout.OUT_PTR;
  let n: u32 = 0;
  for (let i: u32 = 0; i < layout.MAX_SESSIONS; i++) {
    if (!sessionUsed(i)) continue;
    const s = sessionPtr(i);
    memory.fill(o, 0, SessionEntry.Bytes);
    memory.copy(o + SessionEntry.Address, s + S_ADDR, 16);
    store<u16>(o + SessionEntry.Port, load<u16>(s + S_PORT));
    store<u8>(o + SessionEntry.Version, load<u8>(s + S_VERSION));
    store<u32>(o + SessionEntry.Domain, load<u32>(s + S_DOMAIN));
    store<u32>(o + SessionEntry.Templates, load<u32>(s + S_TEMPLATES));
    store<u32>(o + SessionEntry.SamplingRate, load<u32>(s + S_DEFAULT_RATE));
    store<f64>(o + SessionEntry.Datagrams, load<f64>(s + S_PACKETS));
    store<f64>(o + SessionEntry.Records, load<f64>(s + S_RECORDS));
    store<f64>(o + SessionEntry.SequenceLostRecords, load<f64>(s + S_LOST_TOTAL));
    store<f64>(o + SessionEntry.LastSeenMs, load<f64>(s + S_LAST_SEEN));
    store<u32>(o + SessionEntry.Index, i);
    o += <usize>SessionEntry.Bytes;
    n++;
  }
  return n;
}

/** Writes one TemplateEntry and its fields per template at outPtr(); returns the entry count. Overwrites the last output. */
export function describeTemplates(): u32 {
  let o = layout.OUT_PTR;
  let n: u32 = 0;
  for (let i: u32 = 0; i < layout.MAX_TEMPLATES; i++) {
    if (!templateUsed(i)) continue;
    const t = templatePtr(i);
    const fields = <u32>load<u16>(t + T_FIELDS);
    memory.fill(o, 0, TemplateEntry.Bytes);
    store<u32>(o + TemplateEntry.Session, load<u32>(t + T_OWNER) - 1);
    store<u16>(o + TemplateEntry.Id, load<u16>(t + T_ID));
    store<u8>(o + TemplateEntry.Kind, load<u8>(t + T_KIND));
    store<u16>(o + TemplateEntry.FieldCount, <u16>fields);
    store<u16>(o + TemplateEntry.ScopeFields, load<u16>(t + T_SCOPE));
    store<f64>(o + TemplateEntry.DefinedMs, load<f64>(t + T_LAST_SEEN));
    const fieldBytes = <usize>fields * TemplateField.Bytes;
    memory.copy(o + TemplateEntry.Bytes, t + T_RAW0, fieldBytes);
    o += <usize>TemplateEntry.Bytes + fieldBytes;
    n++;
  }
  return n;
}
