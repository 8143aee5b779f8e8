// Linear memory layout. The decoder owns all of it except the input region and the exporter
// address, which the host writes before each decode() call. Regions are placed once by init()
// above the static data and never move, so host views stay valid after init().

export const IN_CAPACITY: u32 = 65536; // a UDP payload is at most 65,507 bytes
export const OUT_CAPACITY: u32 = 8 << 20; // JSON output of one datagram (and held sets released by it)
export const OUT_SLACK: u32 = 4096; // one record never writes more than this: checked per record
export const MAX_RECORDS_OUT: u32 = 65536; // record index entries per datagram
/**
 * The record index at INDEX_PTR, one entry per record written (exported: the host reads
 * every record through this layout, src/decoder/record-index.ts). Entries are `Words` u32
 * words; word `EndAt` is the record's end offset in the output (where its "\n" is), word
 * `HashAt` its flow hash, word `RouteAt` how the host routes it: bit ROUTE_OPTIONS_BIT set = an
 * options record (routing.options_topic, options-records.ts); bits 0-30 (relay.ts
 * StatedExporters.RouteMask) 0 = by the datagram's exporter, n > 0 = by stated exporter n - 1
 * of the datagram's table at statedPtr() (relays only). The next record starts `Gap` bytes after
 * the end (the "\n").
 */
export const enum RecordIndex { Words = 3, EndAt = 0, HashAt = 1, RouteAt = 2, Gap = 1 }
/** The bit of RecordIndex.RouteAt that marks an options record. Options records come after every data record of a decode. */
export const ROUTE_OPTIONS_BIT: u32 = 31;
export const INDEX_ENTRY: u32 = RecordIndex.Words * 4;

export const MAX_FIELDS: u32 = 256; // fields per template (Cisco and nProbe templates stay below 120)
export const TEMPLATE_HEADER: u32 = 48; // see T_STEP0 in templates.ts
// Steps (4 bytes each), then the fields as sent (4 bytes each: element id with the enterprise bit, length) for describeTemplates(),
// then each field's enterprise number (4 bytes) for state snapshots.
export const TEMPLATE_SIZE: u32 = TEMPLATE_HEADER + 12 * MAX_FIELDS;
export const MAX_TEMPLATES: u32 = 4096; // per decoder instance (per worker)
export const TEMPLATE_INDEX_SLOTS: u32 = 8192; // power of two, at least 2x MAX_TEMPLATES

export const SESSION_SIZE: u32 = 320; // 256 bytes of exporter state, then eviction bookkeeping (sessions.ts S_LRU_PREV)
export const MAX_SESSIONS: u32 = 2048; // (exporter, port, domain) per decoder instance
export const SESSION_INDEX_SLOTS: u32 = 4096; // power of two
export const MAX_SAMPLERS: u32 = 16; // sampler / selector ids remembered per session

export const HELD_CAPACITY: u32 = 1 << 20; // data sets waiting for their template, all exporters
export const HELD_ENTRY_HEADER: u32 = 40;

// Names learnt from options data (options-names.ts): interface, VRF and application names.
export const MAX_NAMES: u32 = 32768; // per decoder instance, all sessions
export const MAX_NAMES_PER_SESSION: u32 = 8192; // an exporter's interfaces, VRFs and applications together
export const NAME_SIZE: u32 = 128; // one entry: a 24-byte header and the name as JSON string text
export const NAME_INDEX_SLOTS: u32 = 65536; // power of two, 2x MAX_NAMES
/** Options records written in one decode() (routing.options_topic): staged, then placed after the data records. */
export const OPTIONS_OUT_CAPACITY: u32 = 1 << 20;
export const MAX_OPTIONS_OUT: u32 = 4096;

export const COUNTER_SLOTS: u32 = 64; // u64 each: see counters.ts
/** Templates defined in one message whose held sets are released after the message's last set. */
export const PENDING_MAX: u32 = 512;

// Region offsets: compile-time constants, so the decoder's code addresses them directly
// (a pointer kept in a mutable global is a load from the instance on every use). They sit
// above the module's static data, which placeRegions() checks ends below STATIC_LIMIT.
const STATIC_LIMIT: usize = 16384; // the static data (string constants) takes about 2.5 KB

export const ADDR_PTR: usize = STATIC_LIMIT; // 16 bytes: exporter address, IPv4 as ::ffff:a.b.c.d
export const DVC_PTR: usize = ADDR_PTR + 64; // the exporter address as text, written once per datagram
export const TIME_TEXT_PTR: usize = DVC_PTR + 64; // ',"time":' and the export time, written when the export time changes
export const TAIL_TEXT_PTR: usize = TIME_TEXT_PTR + 64; // version, odid and tid as JSON, written when one of them changes
export const REC_PTR: usize = TAIL_TEXT_PTR + 64; // one decoded record's values, see fields.ts
export const SCRATCH_PTR: usize = REC_PTR + 512; // template compilation (192 bytes), then templates defined in this message (PENDING_MAX x u32)
export const V5_TEMPLATE_PTR: usize = SCRATCH_PTR + 256 + <usize>PENDING_MAX * 4; // a pseudo template (presence mask only) for NetFlow v5
export const TABLES_PTR: usize = V5_TEMPLATE_PTR + 64; // text and element tables, written by init()
export const COUNTERS_PTR: usize = TABLES_PTR + 8192;
export const IN_PTR: usize = COUNTERS_PTR + <usize>COUNTER_SLOTS * 8; // 64-aligned
export const OUT_PTR: usize = IN_PTR + <usize>IN_CAPACITY + 64; // slack so 8-byte reads near the end stay inside memory
export const INDEX_PTR: usize = OUT_PTR + <usize>OUT_CAPACITY + <usize>OUT_SLACK;
export const SESSIONS_PTR: usize = INDEX_PTR + <usize>MAX_RECORDS_OUT * <usize>INDEX_ENTRY;
export const SESSION_INDEX_PTR: usize = SESSIONS_PTR + <usize>MAX_SESSIONS * <usize>SESSION_SIZE;
export const TEMPLATES_PTR: usize = SESSION_INDEX_PTR + <usize>SESSION_INDEX_SLOTS * 4;
export const TEMPLATE_INDEX_PTR: usize = TEMPLATES_PTR + <usize>MAX_TEMPLATES * <usize>TEMPLATE_SIZE;
export const HELD_PTR: usize = TEMPLATE_INDEX_PTR + <usize>TEMPLATE_INDEX_SLOTS * 4;
export const NAMES_PTR: usize = HELD_PTR + <usize>HELD_CAPACITY + 64;
export const NAME_INDEX_PTR: usize = NAMES_PTR + <usize>MAX_NAMES * <usize>NAME_SIZE;
export const OPTIONS_OUT_PTR: usize = NAME_INDEX_PTR + <usize>NAME_INDEX_SLOTS * 4;
export const OPTIONS_INDEX_PTR: usize = OPTIONS_OUT_PTR + <usize>OPTIONS_OUT_CAPACITY + <usize>OUT_SLACK; // u32 end offset per staged record
export const OPTIONS_TEXT_PTR: usize = OPTIONS_INDEX_PTR + <usize>MAX_OPTIONS_OUT * 4; // keys of names and options elements, written by init()
export const OPTIONS_TEXT_SIZE: u32 = 8192;
/**
 * The exporters stated in the records of a relay's datagram (relay.ts), at STATED_PTR (exported:
 * the host routes by them, src/decoder/abi.ts checks this layout): up to `Capacity` distinct
 * addresses per datagram (one is usual), `EntryBytes` each, IPv4 as ::ffff:a.b.c.d. A record's
 * RecordIndex.RouteAt word, masked by `RouteMask`, is 0 (the datagram's exporter) or entry + 1.
 */
export const enum StatedExporters { Capacity = 16, EntryBytes = 16, RouteMask = 0x7fffffff }
export const STATED_PTR: usize = OPTIONS_TEXT_PTR + <usize>OPTIONS_TEXT_SIZE + 64;
export const STATED_TEXT_PTR: usize = STATED_PTR + <usize>StatedExporters.Capacity * <usize>StatedExporters.EntryBytes; // 64 bytes each: the quoted address as at DVC_PTR, its length at +60
export const STATED_V4_PTR: usize = STATED_TEXT_PTR + <usize>StatedExporters.Capacity * 64; // 16 bytes: an IE 130 value made ::ffff:a.b.c.d
export const END_PTR: usize = STATED_V4_PTR + 64;

// Output by name (decoder.fields: all, any-element.ts), above END_PTR: placeRegions() makes room for
// these but does not clear them, so a decoder that never turns `all` on never touches their pages.
// The host writes the definitions table (definitions.ts) after init(); a template's field
// descriptors are written when it is compiled; the compile scratch is rewritten per template.
export const DEFS_PTR: usize = END_PTR; // the element definitions table, DEFS_CAPACITY bytes
export const DEFS_CAPACITY: u32 = 2 << 20; // about 20,000 definitions with their names
export const ANY_DESC_BYTES: u32 = 24; // one field descriptor (any-element.ts)
export const ANY_TEMPLATE_BYTES: u32 = MAX_FIELDS * ANY_DESC_BYTES;
export const ANY_PTR: usize = DEFS_PTR + <usize>DEFS_CAPACITY; // descriptors per template slot, then one set for NetFlow v5
export const COMPILE_SCRATCH_PTR: usize = ANY_PTR + <usize>(MAX_TEMPLATES + 1) * <usize>ANY_TEMPLATE_BYTES; // headers.ts, templates.ts
export const COMPILE_SCRATCH_BYTES: u32 = 4096;
export const ANY_KEYS_PTR: usize = COMPILE_SCRATCH_PTR + <usize>COMPILE_SCRATCH_BYTES; // the inner_ keys (any-element.ts), 256 bytes
export const MEMORY_END: usize = ANY_KEYS_PTR + 256;

/** Checks that the regions lie above the static data and grows memory to hold them. Returns false if they do not fit. */
export function placeRegions(): bool {
  if (__heap_base > STATIC_LIMIT) return false;
  const needPages = <i32>((MEMORY_END + 0xffff) >>> 16);
  const havePages = memory.size();
  if (needPages > havePages && memory.grow(needPages - havePages) < 0) return false;
  memory.fill(ADDR_PTR, 0, END_PTR - ADDR_PTR);
  return true;
}
