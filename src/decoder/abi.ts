// The decoder module's description of itself, read from its exports and checked once per
// module: its ABI version, closed lists (decode statuses, record fields), capacities, counter
// slots, and every layout the host reads in its memory (the record index, the describe
// entries). Nothing here is a copy of a number in assembly/: a missing or inconsistent export
// is a DecoderError naming it. Only the value types of the layouts (u8 / u16 / u32 / f64 at
// the exported offsets) are the host's, and they belong to ABI_VERSION.
import { SLOT_FLAG_PROTECTED, SLOT_FLAG_RELAY, SLOT_FLAG_RELIABLE } from '../ring/slots.js';
import { abstractTypes } from './elements/definition.js';

/** The ABI this host was written against (assembly/index.ts ABI_VERSION). */
export const ABI_VERSION = 12;

/** What a record's value is: a JSON object, or goflow2's FlowMessage with (protobuf) or without (protobuf-bare) its varint length prefix. */
export const recordFormats = ['json', 'protobuf', 'protobuf-bare'] as const;
export type RecordFormat = (typeof recordFormats)[number];

export class DecoderError extends Error {
  readonly code: 'FG_ERR_ABI_MISMATCH' | 'FG_ERR_DECODER_LOAD' | 'FG_ERR_DECODER_CONFIG';
  constructor(code: DecoderError['code'], message: string) {
    super(message);
    this.code = code;
  }
}

/** Widths in bytes of the describeSessions() entry fields the host reads (assembly/describe.ts SessionEntry). */
const SESSION_FIELDS = {
  Address: 16, Port: 2, Version: 1, Domain: 4, Templates: 4, SamplingRate: 4, Datagrams: 8, Records: 8,
  SequenceLostRecords: 8, LastSeenMs: 8, Index: 4,
} as const;
/** Widths of the describeTemplates() entry header fields (assembly/describe.ts TemplateEntry). */
const TEMPLATE_FIELDS = { Session: 4, Id: 2, Kind: 1, FieldCount: 2, ScopeFields: 2, DefinedMs: 8 } as const;

/** Widths of the definitions table's header fields and entry fields (assembly/definitions.ts). */
const DEFINITION_TABLE_FIELDS = { Count: 4 } as const;
const DEFINITION_ENTRY_FIELDS = { Pen: 4, Id: 2, Type: 1, KeyOffset: 4 } as const;

/** Byte offsets of an entry's fields, and `Bytes`: the entry size. */
export type EntryLayout<F> = { readonly [K in keyof F]: number } & { readonly Bytes: number };

/** A template field word (assembly/templates.ts TemplateField). */
export interface TemplateFieldLayout {
  readonly Bytes: number;
  readonly IdShift: number;
  readonly IdMask: number;
  readonly EnterpriseBit: number;
  readonly LengthMask: number;
}

export interface DecoderAbi {
  /** Decode outcomes by code, as the decoder names them: index 0 is "ok", every other is a drop reason. */
  readonly statuses: readonly string[];
  /** The statuses that reject a whole datagram (codes 1 to LAST_DATAGRAM_STATUS). */
  readonly datagramStatuses: readonly string[];
  /** Status.DecoderTrap: counted by the host when decode() traps. */
  readonly trapStatus: number;
  /** Output field names in emit order (JSON keys). */
  readonly recordFields: readonly string[];
  /** The largest datagram decode() takes (the input region). */
  readonly inCapacity: number;
  readonly outCapacity: number;
  readonly maxRecordsOut: number;
  readonly counterSlots: number;
  /** COUNTER_* and GAUGE_* slot numbers by export name. */
  readonly slots: Readonly<Record<string, number>>;
  /** The record index layout (see record-index.ts), without its memory. */
  readonly index: { readonly stride: number; readonly endAt: number; readonly hashAt: number; readonly routeAt: number; readonly routeOptions: number; readonly gap: number };
  /** The table of exporters stated in a relay's datagram (assembly/layout.ts StatedExporters): entries, bytes each, the RouteAt word's bits naming one. */
  readonly stated: { readonly capacity: number; readonly entryBytes: number; readonly routeMask: number };
  /** setOutputFormat()'s argument per record format (assembly/record.ts OutputFormat). */
  readonly outputFormats: Readonly<Record<RecordFormat, number>>;
  readonly session: EntryLayout<typeof SESSION_FIELDS>;
  readonly template: EntryLayout<typeof TEMPLATE_FIELDS>;
  readonly templateField: TemplateFieldLayout;
  readonly templateKindOptions: number;
  /** The element definitions table the host writes for output by name (assembly/definitions.ts). */
  readonly definitions: {
    readonly capacity: number;
    readonly table: { readonly Count: number; readonly Header: number };
    readonly entry: EntryLayout<typeof DEFINITION_ENTRY_FIELDS>;
  };
  /** The exporter-state snapshot (assembly/state.ts): what src/state/ needs to pick sessions out of one. */
  readonly state: {
    readonly version: number; readonly capacity: number; readonly headerBytes: number;
    readonly lengthOffset: number; readonly addressOffset: number; readonly keyBytes: number;
    /** Session record: domain (u32), port (u16), last seen (f64), template count (u32) offsets; its header's size. */
    readonly domainOffset: number; readonly portOffset: number; readonly versionOffset: number; readonly lastSeenOffset: number; readonly templatesOffset: number;
    readonly sessionHeaderBytes: number;
    /** Template entry: id (u16), field count (u16), defined time (f64) offsets; its header's size; the field entry's PEN bit. */
    readonly templateIdOffset: number; readonly templateFieldsOffset: number; readonly templateDefinedOffset: number;
    readonly templateHeaderBytes: number; readonly enterpriseBit: number;
  };
}

function mismatch(message: string): DecoderError {
  return new DecoderError('FG_ERR_ABI_MISMATCH', `decoder ABI: ${message} (rebuild with npm run build)`);
}

function global(instance: WebAssembly.Instance, name: string): number {
  const g = instance.exports[name];
  if (!(g instanceof WebAssembly.Global)) throw mismatch(`the module does not export ${name}`);
  return Number(g.value);
}

/** "UnknownTemplate" -> "unknown_template"; a member named in lowerCamelCase keeps its name ("applicationName": IANA's spelling). */
function snake(name: string): string {
  if (/^[a-z]/.test(name)) return name;
  return name.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase();
}

/** The members of exported enum `name` by value, snake_cased; checked to run 0..count-1 without gaps. */
function exportedEnum(instance: WebAssembly.Instance, name: string, count: number): string[] {
  const names: string[] = [];
  for (const key of Object.keys(instance.exports)) {
    if (key.startsWith(`${name}.`)) names[global(instance, key)] = snake(key.slice(name.length + 1));
  }
  for (let i = 0; i < count; i++) {
    if (names[i] === undefined) throw mismatch(`${name} has no member ${i} of ${count}`);
  }
  if (names.length !== count) throw mismatch(`${name} has ${names.length} members, its count says ${count}`);
  return names;
}

/** Reads entry layout `name` (offsets of `widths`' fields and Bytes), checking each field lies inside the entry and none overlap. */
function entryLayout<F extends Record<string, number>>(instance: WebAssembly.Instance, name: string, widths: F): EntryLayout<F> {
  const bytes = global(instance, `${name}.Bytes`);
  const layout: Record<string, number> = { Bytes: bytes };
  const spans: [string, number, number][] = [];
  for (const [field, width] of Object.entries(widths)) {
    const at = global(instance, `${name}.${field}`);
    if (!Number.isInteger(at) || at < 0 || at + width > bytes) {
      throw mismatch(`${name}.${field} = ${at} (${width} bytes) does not fit ${name}.Bytes = ${bytes}`);
    }
    for (const [other, from, to] of spans) {
      if (at < to && from < at + width) throw mismatch(`${name}.${field} = ${at} overlaps ${name}.${other} = ${from}`);
    }
    spans.push([field, at, at + width]);
    layout[field] = at;
  }
  return layout as EntryLayout<F>;
}

function indexLayout(instance: WebAssembly.Instance): DecoderAbi['index'] {
  const stride = global(instance, 'RecordIndex.Words');
  const endAt = global(instance, 'RecordIndex.EndAt');
  const hashAt = global(instance, 'RecordIndex.HashAt');
  const routeAt = global(instance, 'RecordIndex.RouteAt');
  const optionsBit = global(instance, 'ROUTE_OPTIONS_BIT');
  const gap = global(instance, 'RecordIndex.Gap');
  if (!(Number.isInteger(stride) && stride >= 1)) throw mismatch(`RecordIndex.Words = ${stride}, expected at least 1`);
  for (const [name, at] of [['EndAt', endAt], ['HashAt', hashAt], ['RouteAt', routeAt]] as const) {
    if (!(Number.isInteger(at) && at >= 0 && at < stride)) throw mismatch(`RecordIndex.${name} = ${at} is not a word of a ${stride}-word entry`);
  }
  if (new Set([endAt, hashAt, routeAt]).size !== 3) throw mismatch(`RecordIndex.EndAt, HashAt and RouteAt are not three words (${endAt}, ${hashAt}, ${routeAt})`);
  if (!(Number.isInteger(optionsBit) && optionsBit >= 0 && optionsBit < 32)) throw mismatch(`ROUTE_OPTIONS_BIT = ${optionsBit} is not a bit of a u32`);
  if (!(Number.isInteger(gap) && gap >= 0)) throw mismatch(`RecordIndex.Gap = ${gap}, expected a byte count`);
  return { stride, endAt, hashAt, routeAt, routeOptions: 2 ** optionsBit, gap };
}

function statedLayout(instance: WebAssembly.Instance, routeOptions: number): DecoderAbi['stated'] {
  const capacity = global(instance, 'StatedExporters.Capacity');
  const entryBytes = global(instance, 'StatedExporters.EntryBytes');
  const routeMask = global(instance, 'StatedExporters.RouteMask') >>> 0;
  if (entryBytes !== 16) throw mismatch(`StatedExporters.EntryBytes = ${entryBytes}, the host reads 16-byte addresses`);
  // RouteAt holds entry + 1 under the mask; the options bit is not the host's to read as an entry.
  if (!(Number.isInteger(capacity) && capacity >= 1 && capacity < routeMask && routeMask < 2 ** 31)) {
    throw mismatch(`StatedExporters.Capacity = ${capacity} does not fit StatedExporters.RouteMask = ${routeMask}`);
  }
  if ((routeMask & routeOptions) !== 0) throw mismatch(`StatedExporters.RouteMask = ${routeMask} overlaps the options bit`);
  return { capacity, entryBytes, routeMask };
}

function templateFieldLayout(instance: WebAssembly.Instance): TemplateFieldLayout {
  const f = {
    Bytes: global(instance, 'TemplateField.Bytes'),
    IdShift: global(instance, 'TemplateField.IdShift'),
    IdMask: global(instance, 'TemplateField.IdMask'),
    EnterpriseBit: global(instance, 'TemplateField.EnterpriseBit'),
    LengthMask: global(instance, 'TemplateField.LengthMask'),
  };
  if (f.Bytes !== 4) throw mismatch(`TemplateField.Bytes = ${f.Bytes}, the host reads u32 words`);
  const id = f.IdMask * 2 ** f.IdShift; // the id's bits in the word
  const enterprise = 2 ** f.EnterpriseBit;
  const fits = id < 2 ** 32 && f.EnterpriseBit < 32 && f.LengthMask < 2 ** 32;
  const disjoint = fits && (id & f.LengthMask) === 0 && (enterprise & (id | f.LengthMask)) === 0;
  if (!fits || !disjoint) throw mismatch('TemplateField id, enterprise bit and length overlap or do not fit a u32');
  return f;
}

/** The definitions table layout; its data types must be IANA's, in IANA's order, as definition.ts lists them. */
function definitionsLayout(instance: WebAssembly.Instance): DecoderAbi['definitions'] {
  const types = exportedEnum(instance, 'DataType', global(instance, 'DATA_TYPE_COUNT'));
  const ours = abstractTypes.map((t) => snake(t[0]!.toUpperCase() + t.slice(1))); // as the enum's members are spelt: OctetArray
  if (types.length !== ours.length || types.some((t, i) => t !== ours[i])) {
    throw mismatch(`DataType is ${types.join(', ')}; the host's abstract types are ${ours.join(', ')}`);
  }
  const header = global(instance, 'DefinitionTable.Header');
  const count = global(instance, 'DefinitionTable.Count');
  if (!(count >= 0 && count + DEFINITION_TABLE_FIELDS.Count <= header)) throw mismatch(`DefinitionTable.Count = ${count} does not fit its header of ${header} bytes`);
  return {
    capacity: global(instance, 'DEFS_CAPACITY'),
    table: { Count: count, Header: header },
    entry: Object.freeze(entryLayout(instance, 'DefinitionEntry', DEFINITION_ENTRY_FIELDS)),
  };
}

/** Reads and checks the description of the module `instance` belongs to (not initialised: only its constants are read). */
export function readAbi(instance: WebAssembly.Instance): DecoderAbi {
  const version = global(instance, 'ABI_VERSION');
  if (version !== ABI_VERSION) throw new DecoderError('FG_ERR_ABI_MISMATCH', `decoder ABI ${version}, host expects ${ABI_VERSION}: rebuild with npm run build`);
  // decode() takes the ring slot's flag bits as they are.
  if (global(instance, 'DECODE_PROTECTED') !== SLOT_FLAG_PROTECTED || global(instance, 'DECODE_RELIABLE') !== SLOT_FLAG_RELIABLE
    || global(instance, 'DECODE_RELAY') !== SLOT_FLAG_RELAY) {
    throw mismatch('DECODE_PROTECTED / DECODE_RELIABLE / DECODE_RELAY differ from the ring slot flags');
  }
  const statusCount = global(instance, 'STATUS_COUNT');
  const statuses = exportedEnum(instance, 'Status', statusCount);
  if (statuses[0] !== 'ok') throw mismatch(`Status 0 is ${statuses[0]}, expected Ok`);
  const lastDatagram = global(instance, 'LAST_DATAGRAM_STATUS');
  if (!(lastDatagram >= 1 && lastDatagram < statusCount)) throw mismatch(`LAST_DATAGRAM_STATUS = ${lastDatagram} is not a status`);
  const trapStatus = global(instance, 'Status.DecoderTrap');
  if (trapStatus > lastDatagram) throw mismatch('Status.DecoderTrap is not a whole-datagram status (above LAST_DATAGRAM_STATUS)');
  const counterSlots = global(instance, 'COUNTER_SLOTS');
  const slots: Record<string, number> = {};
  for (const key of Object.keys(instance.exports)) {
    if (!key.startsWith('COUNTER_') && !key.startsWith('GAUGE_')) continue;
    if (key === 'COUNTER_SLOTS') continue;
    slots[key] = global(instance, key);
    if (slots[key]! >= counterSlots) throw mismatch(`${key} = ${slots[key]} is past COUNTER_SLOTS = ${counterSlots}`);
  }
  if (slots.COUNTER_STATUS_BASE === undefined) throw mismatch('the module does not export COUNTER_STATUS_BASE');
  if (slots.COUNTER_STATUS_BASE + statusCount > counterSlots) throw mismatch('the status counters run past COUNTER_SLOTS');
  const index = indexLayout(instance);
  return Object.freeze({
    statuses: Object.freeze(statuses),
    datagramStatuses: Object.freeze(statuses.slice(1, lastDatagram + 1)),
    trapStatus,
    recordFields: Object.freeze(exportedEnum(instance, 'Field', global(instance, 'FIELD_COUNT'))),
    inCapacity: global(instance, 'IN_CAPACITY'),
    outCapacity: global(instance, 'OUT_CAPACITY'),
    maxRecordsOut: global(instance, 'MAX_RECORDS_OUT'),
    counterSlots,
    slots: Object.freeze(slots),
    index: Object.freeze(index),
    stated: Object.freeze(statedLayout(instance, index.routeOptions)),
    outputFormats: Object.freeze({ json: global(instance, 'OutputFormat.Json'), protobuf: global(instance, 'OutputFormat.Protobuf'),
      'protobuf-bare': global(instance, 'OutputFormat.ProtobufBare') }),
    session: Object.freeze(entryLayout(instance, 'SessionEntry', SESSION_FIELDS)),
    template: Object.freeze(entryLayout(instance, 'TemplateEntry', TEMPLATE_FIELDS)),
    templateField: Object.freeze(templateFieldLayout(instance)),
    templateKindOptions: global(instance, 'TemplateKind.Options'),
    definitions: Object.freeze(definitionsLayout(instance)),
    state: Object.freeze({
      version: global(instance, 'STATE_VERSION'), capacity: global(instance, 'STATE_CAPACITY'),
      headerBytes: global(instance, 'STATE_HEADER_BYTES'), lengthOffset: global(instance, 'STATE_SESSION_LENGTH'),
      addressOffset: global(instance, 'STATE_SESSION_ADDRESS'), keyBytes: global(instance, 'STATE_SESSION_KEY_BYTES'),
      domainOffset: global(instance, 'STATE_SESSION_DOMAIN'), portOffset: global(instance, 'STATE_SESSION_PORT'),
      versionOffset: global(instance, 'STATE_SESSION_VERSION'),
      lastSeenOffset: global(instance, 'STATE_SESSION_LAST_SEEN'), templatesOffset: global(instance, 'STATE_SESSION_TEMPLATES'),
      sessionHeaderBytes: global(instance, 'STATE_SESSION_HEADER_BYTES'),
      templateIdOffset: global(instance, 'STATE_TEMPLATE_ID'), templateFieldsOffset: global(instance, 'STATE_TEMPLATE_FIELDS'),
      templateDefinedOffset: global(instance, 'STATE_TEMPLATE_DEFINED'), templateHeaderBytes: global(instance, 'STATE_TEMPLATE_HEADER_BYTES'),
      enterpriseBit: global(instance, 'STATE_FIELD_ENTERPRISE_BIT') >>> 0,
    }),
  });
}
