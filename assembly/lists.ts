// RFC 6313 structured data, for output by name (any-element.ts):
//
//   basicList             semantic u8, field id u16 (enterprise bit), element length u16, [PEN u32], elements
//   subTemplateList       semantic u8, template id u16, records of that template
//   subTemplateMultiList  semantic u8, then blocks: template id u16, block length u16 (with these 4 bytes), records
//
// A basicList is a JSON array of its elements' values (typed by the definition of the element it
// names: the one lookup per list, as the element is named in the data, not the template); a
// subTemplateList an array of objects, one per record, every element by name; a
// subTemplateMultiList one array of the objects of all its blocks' records, in order. An empty
// list is []. The semantic (allOf, exactlyOneOf, ...) is not written: the values are what
// consumers read, and the brief output keeps one shape per key. A list that names a template the
// session does not know, or whose bytes do not parse, is written as the hex string of its bytes,
// as an unknown element is: never dropped, never half written. Lists nest up to MAX_LIST_DEPTH.
import { ctx } from "./context";
import { findTemplate } from "./templates";
import { findDefinition, definitionType } from "./definitions";
import { putValue, putFields, putHex, descriptorsOf, templateFieldCount, fieldsEnd, anyError, setAnyError, ANY_FULL, ANY_MALFORMED,
  outputLimit } from "./any-element";
import { valueRoom } from "./json-values";

@inline function be16(p: usize): u32 {
  return <u32>bswap<u16>(load<u16>(p));
}

/** The list at [p, p + len) as hex instead (it did not parse), written from `start`; 0 if even that does not fit. */
function fallback(start: usize, p: usize, len: usize): usize {
  if (anyError == ANY_FULL) return 0;
  setAnyError(0);
  if (start + valueRoom(len) > outputLimit()) {
    setAnyError(ANY_FULL);
    return 0;
  }
  return putHex(start, p, len);
}

export function putBasicList(o: usize, p: usize, len: usize, depth: u32): usize {
  const start = o;
  const end = p + len;
  if (len < 5) return fallback(start, p, len);
  let ie = be16(p + 1);
  const elementLength = be16(p + 3);
  let q = p + 5;
  let pen: u32 = 0;
  if ((ie & 0x8000) != 0) {
    if (len < 9) return fallback(start, p, len);
    ie &= 0x7fff;
    pen = bswap<u32>(load<u32>(q));
    q += 4;
  }
  const e = findDefinition(pen, ie);
  const type: u32 = e != 0 ? definitionType(e) : 0xff;
  store<u8>(o, 91); // [
  o++;
  let first = true;
  while (q < end) {
    let n = <usize>elementLength;
    if (elementLength == 0xffff) {
      n = <usize>load<u8>(q);
      q++;
      if (n == 255) {
        if (q + 2 > end) return fallback(start, p, len);
        n = <usize>be16(q);
        q += 2;
      }
    }
    if (q + n > end || (n == 0 && elementLength != 0xffff)) return fallback(start, p, len);
    if (!first) {
      store<u8>(o, 44); // ,
      o++;
    }
    first = false;
    o = putValue(o, type, q, n, depth);
    if (o == 0) return fallback(start, p, len);
    q += n;
  }
  store<u8>(o, 93); // ]
  return o + 1;
}

/** Writes the records of template `tid` at [q, end) as objects; returns the cursor, or 0 (anyError says why). */
function putRecords(o: usize, tid: u32, q: usize, end: usize, depth: u32, first: bool): usize {
  const idx = findTemplate(ctx.session, tid);
  if (idx < 0) {
    setAnyError(ANY_MALFORMED);
    return 0;
  }
  const desc = descriptorsOf(<u32>idx);
  const n = templateFieldCount(<u32>idx);
  while (q < end) {
    if (!first) {
      store<u8>(o, 44);
      o++;
    }
    first = false;
    const objectStart = o;
    o = putFields(o, desc, n, q, end, false, depth);
    if (o == 0) return 0;
    if (fieldsEnd == q) { // a template of only empty variable-length fields would never advance
      setAnyError(ANY_MALFORMED);
      return 0;
    }
    q = fieldsEnd;
    if (o == objectStart) {
      store<u8>(o, 123);
      o++;
    } else {
      store<u8>(objectStart, 123); // the first key's comma becomes "{"
    }
    store<u8>(o, 125); // }
    o++;
    if (o + 64 > outputLimit()) {
      setAnyError(ANY_FULL);
      return 0;
    }
  }
  return o;
}

export function putSubTemplateList(o: usize, p: usize, len: usize, depth: u32): usize {
  const start = o;
  if (len < 3) return fallback(start, p, len);
  store<u8>(o, 91);
  o = putRecords(o + 1, be16(p + 1), p + 3, p + len, depth, true);
  if (o == 0) return fallback(start, p, len);
  store<u8>(o, 93);
  return o + 1;
}

export function putSubTemplateMultiList(o: usize, p: usize, len: usize, depth: u32): usize {
  const start = o;
  if (len < 1) return fallback(start, p, len);
  const end = p + len;
  let q = p + 1;
  store<u8>(o, 91);
  o++;
  let first = true;
  while (q < end) {
    if (q + 4 > end) return fallback(start, p, len);
    const tid = be16(q);
    const blockLength = <usize>be16(q + 2);
    if (blockLength < 4 || q + blockLength > end) return fallback(start, p, len);
    if (blockLength > 4) {
      o = putRecords(o, tid, q + 4, q + blockLength, depth, first);
      if (o == 0) return fallback(start, p, len);
      first = false;
    }
    q += blockLength;
  }
  store<u8>(o, 93);
  return o + 1;
}
