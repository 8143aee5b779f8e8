// The template flood's datagrams (bench/edge-templates.bench.ts): what one forged exporter sends,
// in order. Templates only, no data: each costs the decoder a template slot and nothing reaches
// Kafka. Two kinds:
//
//   - well-formed: `templates` IPFIX data templates (ids 256 on), 4 to 15 common fields each,
//     about 1,400 bytes of templates per datagram (an MTU-sized message, as exporters send);
//   - malformed but parseable (RFC 7011 section 3.4 / RFC 3954 section 5 layouts, odd values):
//     fields of 65,534 bytes (IPFIX's largest fixed length: 65,535 means variable there) alone and
//     four of them (a record longer than any datagram); NetFlow v9 fields of 65,535 bytes (v9 has
//     no variable length: 65,535 is a length); templates of zero fields (IPFIX: the form of a
//     withdrawal; v9: nothing to decode) and an options template of zero fields; a template of
//     1,000 fields; the same ids defined as data and as options templates, in one message and
//     across messages (id 256, the first well-formed one, comes back as an options template).
//
// Wire layouts: IPFIX message header (16 bytes: version 10, length, export time, sequence,
// observation domain), set header (id, length), template record (id, field count, then per field
// IE id and length; options: id, field count, scope field count, fields). NetFlow v9: 20-byte
// header (version 9, count, uptime, unix secs, sequence, source id), FlowSet 0 (templates) and 1
// (options templates: id, scope bytes, option bytes, then type/length pairs).

/** Common IEs and their lengths, cycled through to make templates that differ. */
const FIELDS: readonly (readonly [number, number])[] = [
  [8, 4], [12, 4], [7, 2], [11, 2], [4, 1], [6, 1], [5, 1], [1, 8], [2, 8], [152, 8], [153, 8], [10, 4], [14, 4], [16, 4], [17, 4],
];

type Field = readonly [id: number, length: number];

class Writer {
  readonly bytes: number[] = [];
  u8(v: number): this { this.bytes.push(v & 0xff); return this; }
  u16(v: number): this { return this.u8(v >>> 8).u8(v); }
  u32(v: number): this { return this.u16(v >>> 16).u16(v & 0xffff); }
  get length(): number { return this.bytes.length; }
}

function templateRecord(id: number, fields: readonly Field[]): number[] {
  const w = new Writer().u16(id).u16(fields.length);
  for (const [ie, len] of fields) w.u16(ie).u16(len);
  return w.bytes;
}

function optionsTemplateRecord(id: number, scope: readonly Field[], options: readonly Field[]): number[] {
  const w = new Writer().u16(id).u16(scope.length + options.length).u16(scope.length);
  for (const [ie, len] of [...scope, ...options]) w.u16(ie).u16(len);
  return w.bytes;
}

/** An IPFIX set: id, length, records (no padding). */
function ipfixSet(id: number, records: readonly number[][]): number[] {
  const body = records.flat();
  return [...new Writer().u16(id).u16(4 + body.length).bytes, ...body];
}

function ipfixMessage(exportTime: number, domain: number, sets: readonly number[][]): Uint8Array {
  const body = sets.flat();
  const w = new Writer().u16(10).u16(16 + body.length).u32(exportTime).u32(0).u32(domain);
  return Uint8Array.from([...w.bytes, ...body]);
}

function v9Message(unixSecs: number, flowSets: readonly number[][], count: number): Uint8Array {
  const body = flowSets.flat();
  const w = new Writer().u16(9).u16(count).u32(60_000).u32(unixSecs).u32(0).u32(0);
  return Uint8Array.from([...w.bytes, ...body]);
}

/** Data template `id`: 4 to 15 fields, which ones depending on the id. */
function wellFormedFields(id: number): Field[] {
  const n = 4 + (id % 12);
  return Array.from({ length: n }, (_, i) => FIELDS[(id + i) % FIELDS.length]!);
}

export interface TemplateFlood {
  /** One forged exporter's datagrams, in sending order. */
  datagrams: Uint8Array[];
  /** Template records in each datagram. */
  templateRecords: number[];
  /** Well-formed templates among them, and malformed ones (template records). */
  wellFormed: number;
  malformed: number;
}

/** The datagrams of one forged exporter: `templates` well-formed templates (ids 256 on), then the malformed ones. */
export function templateFlood(templates: number, exportTime = Math.floor(Date.now() / 1000)): TemplateFlood {
  if (!(templates >= 1 && templates <= 65535 - 256)) throw new RangeError('templates: 1 to 65,279');
  const datagrams: Uint8Array[] = [];
  const templateRecords: number[] = [];
  // Well-formed: as many templates per message as fit in ~1,400 bytes.
  let batch: number[][] = [];
  let batchBytes = 0;
  const flush = () => {
    if (batch.length) {
      datagrams.push(ipfixMessage(exportTime, 1, [ipfixSet(2, batch)]));
      templateRecords.push(batch.length);
    }
    batch = [];
    batchBytes = 0;
  };
  for (let i = 0; i < templates; i++) {
    const record = templateRecord(256 + i, wellFormedFields(256 + i));
    if (batchBytes + record.length > 1400 - 20) flush();
    batch.push(record);
    batchBytes += record.length;
  }
  flush();
  let malformed = 0;
  const ipfix = (...sets: { id: number; records: number[][] }[]) => {
    const records = sets.reduce((n, s) => n + s.records.length, 0);
    malformed += records;
    templateRecords.push(records);
    datagrams.push(ipfixMessage(exportTime, 1, sets.map((s) => ipfixSet(s.id, s.records))));
  };
  const hi = 256 + templates; // ids past the well-formed ones
  // 65,534-byte fields: one, and four (a 262,136-byte record).
  ipfix({ id: 2, records: [templateRecord(hi, [[1, 65534]]), templateRecord(hi + 1, [[1, 65534], [2, 65534], [8, 65534], [12, 65534]])] });
  // NetFlow v9: a 65,535-byte field (a length there, not "variable"), and a template of zero fields.
  datagrams.push(v9Message(exportTime, [[...new Writer().u16(0).u16(4 + 8 + 4).bytes, ...templateRecord(hi + 2, [[1, 65535], [8, 4]])]], 1));
  datagrams.push(v9Message(exportTime, [[...new Writer().u16(0).u16(4 + 4).bytes, ...templateRecord(hi + 3, [])]], 1));
  templateRecords.push(1, 1);
  malformed += 2;
  // Zero fields: a data template and an options template.
  ipfix({ id: 2, records: [templateRecord(hi + 4, [])] }, { id: 3, records: [optionsTemplateRecord(hi + 5, [], [])] });
  // 1,000 fields (4,004 bytes of template).
  ipfix({ id: 2, records: [templateRecord(hi + 6, Array.from({ length: 1000 }, (_, i) => FIELDS[i % FIELDS.length]!))] });
  // One id as a data and an options template in one message, and id 256 (a data template above) as an options template.
  ipfix({ id: 2, records: [templateRecord(hi + 7, [[8, 4], [12, 4]])] }, { id: 3, records: [optionsTemplateRecord(hi + 7, [[144, 4]], [[41, 8]])] });
  ipfix({ id: 3, records: [optionsTemplateRecord(256, [[144, 4]], [[41, 8], [42, 8]])] });
  return { datagrams, templateRecords, wellFormed: templates, malformed };
}

/**
 * Template records in the first `datagrams` datagrams flood.c sends for `sources` exporters
 * (datagram i: payload (i / sources) % payloads, from source i % sources).
 */
export function templateRecordsSent(flood: TemplateFlood, sources: number, datagrams: number): number {
  const rounds = Math.floor(datagrams / sources);
  const perPass = flood.templateRecords.reduce((n, r) => n + r, 0);
  const p = flood.templateRecords.length;
  let n = Math.floor(rounds / p) * perPass * sources;
  for (let r = 0; r < rounds % p; r++) n += flood.templateRecords[r]! * sources;
  return n + flood.templateRecords[rounds % p]! * (datagrams - rounds * sources);
}
