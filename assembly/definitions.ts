// The element definitions table (decoder.fields: all): what each information element is called
// and its abstract data type, written by the host (src/decoder/elements/table.ts) at DEFS_PTR
// after init() from the dictionaries' ElementDefinition list. Read when a template is compiled
// (and for the element a basicList names), never per field of a record.
//
//   u32 count at DefinitionTable.Count, then `count` entries of DefinitionEntry.Bytes from
//   DefinitionTable.Header, sorted by (pen, id) ascending, then the keys: each a length byte and
//   the JSON key text to copy as it is (`,"name":`), at the entry's KeyOffset.
import { DEFS_PTR, DEFS_CAPACITY } from "./layout";

/** The table's header (exported: the host writes this layout). */
export const enum DefinitionTable { Count = 0, Header = 8 }

/** One definition (exported): pen u32, id u16, data type u8 (IANA's number, DataType), key offset u32 from DEFS_PTR. */
export const enum DefinitionEntry { Bytes = 12, Pen = 0, Id = 4, Type = 6, KeyOffset = 8 }

/**
 * RFC 7012 abstract data types by IANA's "IPFIX Information Element Data Types" registry value
 * (exported: the host checks its list, src/decoder/elements/definition.ts, against it).
 */
export const enum DataType {
  OctetArray = 0, Unsigned8 = 1, Unsigned16 = 2, Unsigned32 = 3, Unsigned64 = 4,
  Signed8 = 5, Signed16 = 6, Signed32 = 7, Signed64 = 8, Float32 = 9, Float64 = 10, Boolean = 11,
  MacAddress = 12, String = 13, DateTimeSeconds = 14, DateTimeMilliseconds = 15, DateTimeMicroseconds = 16,
  DateTimeNanoseconds = 17, Ipv4Address = 18, Ipv6Address = 19, BasicList = 20, SubTemplateList = 21,
  SubTemplateMultiList = 22,
}
export const DATA_TYPE_COUNT: i32 = 23;

let count: u32 = 0;

/** Takes the table of `len` bytes the host wrote: false (and no definitions) when it is malformed. */
export function loadDefinitions(len: u32): bool {
  count = 0;
  if (len < <u32>DefinitionTable.Header || len > DEFS_CAPACITY) return false;
  const n = load<u32>(DEFS_PTR + DefinitionTable.Count);
  if (<u64>n * DefinitionEntry.Bytes + DefinitionTable.Header > <u64>len) return false;
  let prev: u64 = 0;
  for (let i: u32 = 0; i < n; i++) {
    const e = DEFS_PTR + DefinitionTable.Header + <usize>i * DefinitionEntry.Bytes;
    const key = (<u64>load<u32>(e + DefinitionEntry.Pen) << 16) | <u64>load<u16>(e + DefinitionEntry.Id);
    if (i > 0 && key <= prev) return false; // sorted, no duplicates
    prev = key;
    if (<i32>load<u8>(e + DefinitionEntry.Type) >= DATA_TYPE_COUNT) return false;
    const at = load<u32>(e + DefinitionEntry.KeyOffset);
    if (at >= len || at + 1 + <u32>load<u8>(DEFS_PTR + at) > len || load<u8>(DEFS_PTR + at) == 0) return false;
  }
  count = n;
  return true;
}

/** The entry for (pen, id), or 0 when no definition names it. A binary search: at template compile time only. */
export function findDefinition(pen: u32, id: u32): usize {
  const key = (<u64>pen << 16) | <u64>(id & 0xffff);
  let lo: u32 = 0, hi = count;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const e = DEFS_PTR + DefinitionTable.Header + <usize>mid * DefinitionEntry.Bytes;
    const k = (<u64>load<u32>(e + DefinitionEntry.Pen) << 16) | <u64>load<u16>(e + DefinitionEntry.Id);
    if (k == key) return e;
    if (k < key) lo = mid + 1;
    else hi = mid;
  }
  return 0;
}

/** The key of entry `e`: its length byte, then `,"name":`. */
@inline export function definitionKey(e: usize): usize {
  return DEFS_PTR + <usize>load<u32>(e + DefinitionEntry.KeyOffset);
}

@inline export function definitionType(e: usize): u32 {
  return <u32>load<u8>(e + DefinitionEntry.Type);
}
