// Linear memory layout. The decoder owns all of it except the input region and the exporter
// address, which the host writes before each decode() call. Regions are placed once by init()
// above the static data and never move, so host views stay valid after init().

export const IN_CAPACITY: u32 = 65536; // a UDP payload is at most 65,507 bytes
export const OUT_CAPACITY: u32 = 8 << 20; // JSON output of one datagram (and held sets released by it)
export const OUT_SLACK: u32 = 4096; // one record never writes more than this: checked per record
export const MAX_RECORDS_OUT: u32 = 65536; // record index entries per datagram
export const INDEX_ENTRY: u32 = 8; // u32 end offset, u32 flow hash

export const MAX_FIELDS: u32 = 256; // fields per template (Cisco and nProbe templates stay below 120)
export const TEMPLATE_HEADER: u32 = 48; // see T_STEP0 in templates.ts
// Steps (4 bytes each), then the fields as sent (4 bytes each: element id with the enterprise bit, length) for describeTemplates().
export const TEMPLATE_SIZE: u32 = TEMPLATE_HEADER + 8 * MAX_FIELDS;
export const MAX_TEMPLATES: u32 = 4096; // per decoder instance (per worker)
export const TEMPLATE_INDEX_SLOTS: u32 = 8192; // power of two, at least 2x MAX_TEMPLATES

export const SESSION_SIZE: u32 = 256;
export const MAX_SESSIONS: u32 = 2048; // (exporter, port, domain) per decoder instance
export const SESSION_INDEX_SLOTS: u32 = 4096; // power of two
export const MAX_SAMPLERS: u32 = 16; // sampler / selector ids remembered per session

export const HELD_CAPACITY: u32 = 1 << 20; // data sets waiting for their template, all exporters
export const HELD_ENTRY_HEADER: u32 = 40;

export const COUNTER_SLOTS: u32 = 64; // u64 each: see counters.ts
/** Templates defined in one message whose held sets are released after the message's last set. */
export const PENDING_MAX: u32 = 512;

// Region offsets, set by placeRegions().
export let ADDR_PTR: usize = 0; // 16 bytes: exporter address, IPv4 as ::ffff:a.b.c.d
export let IN_PTR: usize = 0;
export let OUT_PTR: usize = 0;
export let INDEX_PTR: usize = 0;
export let REC_PTR: usize = 0; // one decoded record's values, see fields.ts
export let SCRATCH_PTR: usize = 0; // template compilation (192 bytes), then templates defined in this message (PENDING_MAX x u32)
export let V5_TEMPLATE_PTR: usize = 0; // a pseudo template (presence mask only) for NetFlow v5
export let TABLES_PTR: usize = 0; // text and element tables, written by init()
export let DVC_PTR: usize = 0; // the exporter address as text, written once per datagram
export let TIME_TEXT_PTR: usize = 0; // ',"time":' and the export time, written when the export time changes
export let TAIL_TEXT_PTR: usize = 0; // version, odid and tid as JSON, written when one of them changes
export let SESSIONS_PTR: usize = 0;
export let SESSION_INDEX_PTR: usize = 0;
export let TEMPLATES_PTR: usize = 0;
export let TEMPLATE_INDEX_PTR: usize = 0;
export let HELD_PTR: usize = 0;
export let COUNTERS_PTR: usize = 0;
export let END_PTR: usize = 0;

function align(p: usize, a: usize): usize {
  return (p + a - 1) & ~(a - 1);
}

/** Places every region above the static data and grows memory to hold them. Returns false if memory cannot grow. */
export function placeRegions(): bool {
  let p = align(__heap_base, 64);
  ADDR_PTR = p; p += 64;
  DVC_PTR = p; p += 64;
  TIME_TEXT_PTR = p; p += 64;
  TAIL_TEXT_PTR = p; p += 64;
  REC_PTR = p; p += 512;
  SCRATCH_PTR = p; p += 256 + PENDING_MAX * 4;
  V5_TEMPLATE_PTR = p; p += 64;
  TABLES_PTR = p; p += 8192;
  COUNTERS_PTR = p; p += COUNTER_SLOTS * 8;
  p = align(p, 64);
  IN_PTR = p; p += IN_CAPACITY + 64; // slack so 8-byte reads near the end stay inside memory
  OUT_PTR = p; p += OUT_CAPACITY + OUT_SLACK;
  INDEX_PTR = p; p += MAX_RECORDS_OUT * INDEX_ENTRY;
  SESSIONS_PTR = p; p += MAX_SESSIONS * SESSION_SIZE;
  SESSION_INDEX_PTR = p; p += SESSION_INDEX_SLOTS * 4;
  TEMPLATES_PTR = p; p += MAX_TEMPLATES * TEMPLATE_SIZE;
  TEMPLATE_INDEX_PTR = p; p += TEMPLATE_INDEX_SLOTS * 4;
  HELD_PTR = p; p += HELD_CAPACITY + 64;
  END_PTR = p;
  const needPages = <i32>((END_PTR + 0xffff) >>> 16);
  const havePages = memory.size();
  if (needPages > havePages && memory.grow(needPages - havePages) < 0) return false;
  memory.fill(ADDR_PTR, 0, END_PTR - ADDR_PTR);
  return true;
}
