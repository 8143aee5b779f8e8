// The only module that runs WebAssembly: loads the decoder built from assembly/, and gives
// the host typed access to its regions through the layouts the module describes (abi.ts).
// One WasmDecoder per worker; each has its own memory, so templates live where the
// exporter's datagrams are decoded. Nothing is compiled or instantiated at import: the
// module on first use, its description once per module.
import { readFileSync } from 'node:fs';
import { decoderWasmPath } from '../paths.js';
import { SLOT_FLAG_PROTECTED, SLOT_FLAG_RELAY, SLOT_FLAG_RELIABLE } from '../ring/slots.js';
import { ABI_VERSION, DecoderError, readAbi, type DecoderAbi } from './abi.js';
import { defaultDecoderOptions, NO_SAMPLING, type DecoderOptions, type SamplingRates } from './options.js';
import type { RecordIndex } from './record-index.js';
import { encodeDefinitions } from './elements/table.js';
import type { ElementDefinition } from './elements/definition.js';

export { ABI_VERSION, DecoderError, defaultDecoderOptions, NO_SAMPLING, type DecoderAbi, type DecoderOptions, type RecordIndex, type SamplingRates };

interface DecoderExports {
  memory: WebAssembly.Memory;
  init(lifetime: number, ignorePort: number, fieldMask: number, heldMax: number, heldPerKey: number,
    heldAge: number, maxTemplates: number, maxSessions: number, applyWithdrawals: number, sequenceWindow: number,
    scaleCounters: number, fieldMaskHigh: number): number;
  inPtr(): number;
  addrPtr(): number;
  outPtr(): number;
  indexPtr(): number;
  countersPtr(): number;
  statedPtr(): number;
  outLength(): number;
  lastVersion(): number;
  lastDomain(): number;
  decode(len: number, port: number, nowMs: number, flags: number, defaultRate: number, overrideRate: number): number;
  endTransportSession(port: number): number;
  setOutputFormat(format: number): void;
  setOptionsOutput(on: number): void;
  definitionsPtr(): number;
  enableAllFields(len: number): number;
  loadElementNames(len: number): number;
  sweep(nowMs: number): void;
  describeSessions(): number;
  describeTemplates(): number;
  exportState(): number;
  importState(len: number, nowMs: number, newerWins: number): number;
  stateGeneration(): number;
}

/** One exporter session (exporter, port, observation domain) as the decoder keeps it. */
export interface SessionInfo {
  /** 16 address bytes (IPv4 as ::ffff:a.b.c.d). */
  address: Uint8Array;
  port: number;
  version: number;
  domain: number;
  templates: number;
  /** Sampling rate announced without a sampler id (0: none). */
  samplingRate: number;
  datagrams: number;
  records: number;
  sequenceLostRecords: number;
  lastSeenMs: number;
  index: number;
}

export interface TemplateInfo {
  session: number;
  id: number;
  kind: 'data' | 'options';
  scopeFields: number;
  /** Fields as sent: element id (PEN elements marked by `enterprise`) and length (65535 = variable). */
  fields: { id: number; enterprise: boolean; length: number }[];
  definedMs: number;
}

/** The datagram a decode() trapped on, kept for quarantine (design.md: "save the input"). */
export interface DecoderTrap {
  bytes: Uint8Array;
  /** 16 bytes, IPv4 as ::ffff:a.b.c.d */
  address: Uint8Array;
  port: number;
  receivedMs: number;
  /** The RuntimeError's message, e.g. "unreachable". */
  error: string;
}

let compiled: WebAssembly.Module | undefined;

/** The compiled release module; compiled once per thread on first use, or handed to workers. */
export function decoderModule(): WebAssembly.Module {
  if (!compiled) compiled = compileDecoder(decoderWasmPath(decoderBuild()));
  return compiled;
}

/**
 * The decoder build the gateway runs: release, unless FLOWGATE_DECODER_BUILD names another
 * (debug: assertions kept; trap: traps on demand, for the tests that prove a trap is survived).
 */
function decoderBuild(): 'release' | 'debug' | 'trap' {
  const build = process.env.FLOWGATE_DECODER_BUILD;
  if (build === undefined || build === '' || build === 'release') return 'release';
  if (build === 'debug' || build === 'trap') return build;
  throw new DecoderError('FG_ERR_DECODER_CONFIG', `FLOWGATE_DECODER_BUILD="${build}": expected release, debug or trap`);
}

/** Compiles a decoder build (tests load the debug and trap builds, see src/paths.ts). */
export function compileDecoder(path: string): WebAssembly.Module {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    throw new DecoderError('FG_ERR_DECODER_LOAD', `cannot read ${path} (run npm install to build it): ${(err as Error).message}`);
  }
  return new WebAssembly.Module(new Uint8Array(bytes));
}

const imports = { env: { abort } };

function abort(): never {
  throw new Error('decoder aborted');
}

const abis = new WeakMap<WebAssembly.Module, DecoderAbi>();

/** The description of `module`, read once (from `instance` when given, else from an instance never initialised). */
export function decoderAbi(module: WebAssembly.Module = decoderModule(), instance?: WebAssembly.Instance): DecoderAbi {
  let abi = abis.get(module);
  if (!abi) {
    abi = readAbi(instance ?? new WebAssembly.Instance(module, imports));
    abis.set(module, abi);
  }
  return abi;
}

/** Decode outcomes by code, as the decoder names them: index 0 is "ok", every other is a drop reason. */
export function decodeStatuses(): readonly string[] {
  return decoderAbi().statuses;
}

/** The decode outcomes that drop a whole datagram (the others are counted per set, template or record). */
export function datagramStatuses(): readonly string[] {
  return decoderAbi().datagramStatuses;
}

/** Output field names in emit order (JSON keys). */
export function recordFields(): readonly string[] {
  return decoderAbi().recordFields;
}

/** The snapshot layout of assembly/state.ts: what src/state/ needs to pick sessions out of one. */
export function stateLayout(): DecoderAbi['state'] {
  return decoderAbi().state;
}

/** The largest datagram decode() takes: the module's input region. Longer ones are rejected as bad_length without a copy. */
export function maxDatagram(): number {
  return decoderAbi().inCapacity;
}

export interface DecoderCounters {
  /** Events by decode status (index = status code; see decodeStatuses). */
  statuses: number[];
  packets: number;
  packetsByVersion: { 5: number; 9: number; 10: number };
  records: number;
  optionsRecords: number;
  templatesDefined: number;
  templatesRefreshed: number;
  /** Templates removed by withdrawals (only with udpWithdrawals: 'apply'). */
  templatesWithdrawn: number;
  templatesExpired: number;
  heldSetsReleased: number;
  heldRecordsReleased: number;
  heldBytesExpired: number;
  sequenceLostRecords: number;
  exporterRestarts: number;
  sessionsExpired: number;
  /** Withdrawal records (field count 0) ignored (the default over UDP) or applied. */
  withdrawalsIgnored: number;
  withdrawalsApplied: number;
  /** Datagrams whose sequence number was beyond the window (left out of the loss estimate), and re-bases after two agreed. */
  sequenceOutOfWindow: number;
  sequenceResets: number;
  /** Unprotected sessions evicted for another exporter's session, template, held data or names. */
  sessionsEvicted: number;
  /** Options records written as records for routing.options_topic. */
  optionsRecordsWritten: number;
  /** Interface, VRF and application names added or changed by options data (assembly/options-names.ts). */
  namesLearnt: number;
  /** Names refused: the exporter session has MAX_NAMES_PER_SESSION (exporter_limit), or the table is full (table_full). */
  namesRefused: { exporter_limit: number; table_full: number };
  /** Names kept, all exporters (a gauge). */
  names: number;
  /** Sessions freed, with their templates and held data, because their TCP connection closed (endTransportSession). */
  transportSessionsEnded: number;
  /** Records of relays' datagrams (routing.relays) routed by the exporter they state, or by the relay's address: none stated, or more exporters in one datagram than its table holds. */
  relayStated: number;
  relayNoStatedExporter: number;
  relayTableFull: number;
  templates: number;
  sessions: number;
  heldBytes: number;
  heldSets: number;
}

/** decode()'s flag bits: the ring slot's SLOT_FLAG_PROTECTED, SLOT_FLAG_RELIABLE and SLOT_FLAG_RELAY (assembly/index.ts DECODE_*). */
export const DECODE_PROTECTED = SLOT_FLAG_PROTECTED;
export const DECODE_RELIABLE = SLOT_FLAG_RELIABLE;
export const DECODE_RELAY = SLOT_FLAG_RELAY;
const DECODE_FLAGS = DECODE_PROTECTED | DECODE_RELIABLE | DECODE_RELAY;

/**
 * The output field mask for `fields` (undefined and 'all': every short field), a bit per Field:
 * up to 64 fields, so a bigint.
 */
export function fieldMask(fields: readonly string[] | 'all' | undefined, abi: DecoderAbi = decoderAbi()): bigint {
  if (!fields || fields === 'all') return (1n << 64n) - 1n;
  let mask = 0n;
  for (const name of fields) {
    const bit = abi.recordFields.indexOf(name);
    if (bit < 0) throw new DecoderError('FG_ERR_DECODER_CONFIG', `unknown record field "${name}" (known: ${abi.recordFields.join(', ')})`);
    mask |= 1n << BigInt(bit);
  }
  return mask;
}

export class WasmDecoder {
  readonly #module: WebAssembly.Module;
  readonly #options: DecoderOptions;
  readonly #fieldMask: bigint;
  /** Options records written (routing.options_topic): set again on each new instance. */
  #optionsOutput = false;
  readonly #maxDatagram: number;
  /** The definitions table written into each instance when fields is 'all' (JSON output only). */
  #definitions: Uint8Array | undefined;
  /** Counter slots of the instances replaced after a trap (gauges excluded): added to the live ones. */
  readonly #carried: Float64Array;
  readonly #gaugeSlots: readonly number[];
  readonly abi: DecoderAbi;
  readonly statusNames: readonly string[];
  // The live instance and views of its memory; replaced together when a decode traps.
  #ex!: DecoderExports;
  #mem!: Uint8Array;
  #memBuffer!: Buffer;
  #in = 0;
  #addr = 0;
  #counters!: Uint32Array;
  #output!: Uint8Array;
  #outputBuffer!: Buffer;
  #index!: RecordIndex;
  #stated!: Buffer;
  /** The datagram of the last trap, if any; its count is statuses[abi.trapStatus]. */
  lastTrap: DecoderTrap | undefined;

  constructor(options: Partial<DecoderOptions> = {}, module: WebAssembly.Module = decoderModule()) {
    this.#module = module;
    this.#options = { ...defaultDecoderOptions, ...options };
    const instance = new WebAssembly.Instance(module, imports);
    this.abi = decoderAbi(module, instance);
    this.statusNames = this.abi.statuses;
    this.#fieldMask = fieldMask(this.#options.fields, this.abi);
    this.#maxDatagram = this.abi.inCapacity;
    // Output by name (fields all, JSON) and options records (routing.options_topic) name elements by it.
    const byName = this.#options.fields === 'all' && this.#options.recordFormat === 'json';
    this.#definitions = this.#options.definitions || byName ? encodeDefinitions(this.#options.definitions ?? [], this.abi) : undefined;
    this.#carried = new Float64Array(this.abi.counterSlots);
    this.#gaugeSlots = Object.entries(this.abi.slots).filter(([name]) => name.startsWith('GAUGE_')).map(([, slot]) => slot);
    this.#attach(instance);
  }

  /** Initialises `instance` with this decoder's options and points the views at its memory. */
  #attach(instance: WebAssembly.Instance): void {
    const ex = instance.exports as unknown as DecoderExports;
    const o = this.#options;
    const rc = ex.init(o.templateLifetimeSec, o.ignoreExporterPort ? 1 : 0, Number(this.#fieldMask & 0xffffffffn), o.heldMaxBytes,
      o.heldPerTemplateBytes, o.heldMaxAgeMs, o.maxTemplatesPerExporter, o.maxSessions, o.udpWithdrawals === 'apply' ? 1 : 0, o.sequenceWindow,
      o.scaleCounters ? 1 : 0, Number(this.#fieldMask >> 32n));
    if (rc !== 0) throw new DecoderError('FG_ERR_DECODER_LOAD', 'decoder could not reserve its memory');
    ex.setOutputFormat(this.abi.outputFormats[o.recordFormat]);
    ex.setOptionsOutput(this.#optionsOutput ? 1 : 0);
    if (this.#definitions) this.#writeDefinitions(ex, o.fields === 'all' && o.recordFormat === 'json');
    // init() grew memory once; it never grows again, so these views stay valid for this instance.
    const buffer = ex.memory.buffer;
    const abi = this.abi;
    this.#ex = ex;
    this.#mem = new Uint8Array(buffer);
    this.#memBuffer = Buffer.from(buffer);
    this.#in = ex.inPtr();
    this.#addr = ex.addrPtr();
    this.#output = new Uint8Array(buffer, ex.outPtr(), abi.outCapacity);
    this.#outputBuffer = Buffer.from(buffer, ex.outPtr(), abi.outCapacity);
    const { stride, endAt, hashAt, routeAt, routeOptions, gap } = abi.index;
    this.#index = { entries: new Uint32Array(buffer, ex.indexPtr(), abi.maxRecordsOut * stride), stride, endAt, hashAt, routeAt, routeOptions, gap };
    this.#stated = Buffer.from(buffer, ex.statedPtr(), abi.stated.capacity * abi.stated.entryBytes);
    this.#counters = new Uint32Array(buffer, ex.countersPtr(), abi.counterSlots * 2);
  }

  /** The largest datagram decode() takes: the module's input region. Longer ones are rejected as bad_length without a copy. */
  static get maxDatagram(): number {
    return maxDatagram();
  }

  /** JSON lines written by the last decode(), each ending in "\n". A new view after a trap: read it after each decode. */
  get output(): Uint8Array {
    return this.#output;
  }

  /** The output region as a Buffer (the same bytes as `output`): valid until the next decode(). */
  get outputBuffer(): Buffer {
    return this.#outputBuffer;
  }

  /** Where the records of the last decode() end, and their flow hashes (record-index.ts). */
  get index(): RecordIndex {
    return this.#index;
  }

  /**
   * The exporters the records of the last decode() state, for a relay's datagram (DECODE_RELAY):
   * entry k (16 bytes, IPv4 as ::ffff:a.b.c.d) at k * abi.stated.entryBytes, named by a record's
   * RouteAt word k + 1 (record-index.ts). A new view after a trap: read it after each decode.
   */
  get statedExporters(): Buffer {
    return this.#stated;
  }

  /**
   * Decodes one datagram from `address` (16 bytes; IPv4 as ::ffff:a.b.c.d) and UDP `port`,
   * received at `nowMs`. `flags` (DECODE_*, the ring slot's flag bits): DECODE_PROTECTED, the
   * exporter is one the configuration names (a tenant's, or on the admission allow list), whose
   * session is never evicted for another's; DECODE_RELIABLE, the message came over TCP; DECODE_RELAY,
   * the sender is a relay: each record's dvc and route are the exporter it states (statedExporters).
   * `sampling`: the exporter's sampling rules (routing.sampling). Returns the number of records
   * in `output` / `index`, or -status.
   */
  decode(datagram: Uint8Array, address: Uint8Array, port: number, nowMs: number, flags = 0, sampling: SamplingRates = NO_SAMPLING): number {
    const length = datagram.length;
    if (length <= this.#maxDatagram) {
      this.#mem.set(datagram, this.#in);
      this.#mem.set(address, this.#addr);
    }
    try {
      return this.#ex.decode(length, port, nowMs, flags & DECODE_FLAGS, sampling.defaultRate, sampling.overrideRate);
    } catch (err) {
      return this.#trapped(err, datagram, 0, length, address, 0, port, nowMs);
    }
  }

  /**
   * Like decode(), for a datagram and address already in a Buffer (a ring slot): copied in
   * with Buffer.copy, which allocates nothing per datagram.
   */
  decodeFrom(source: Buffer, offset: number, length: number, addressOffset: number, port: number, nowMs: number, flags = 0,
    sampling: SamplingRates = NO_SAMPLING): number {
    if (length <= this.#maxDatagram) {
      source.copy(this.#memBuffer, this.#in, offset, offset + length);
      source.copy(this.#memBuffer, this.#addr, addressOffset, addressOffset + 16);
    }
    try {
      return this.#ex.decode(length, port, nowMs, flags & DECODE_FLAGS, sampling.defaultRate, sampling.overrideRate);
    } catch (err) {
      return this.#trapped(err, source, offset, length, source, addressOffset, port, nowMs);
    }
  }

  /**
   * A decode trapped: a decoder bug, never bad input (design.md). Counts it, keeps the
   * datagram (lastTrap), and replaces the instance, whose state a trap leaves half-updated,
   * by a new one with the same options: its templates and sessions are lost, its counters
   * carried over. Returns -Status.DecoderTrap. Anything but a trap (an abort from a debug
   * build's assertion) is rethrown.
   */
  #trapped(err: unknown, source: Uint8Array, offset: number, length: number, address: Uint8Array, addressOffset: number,
    port: number, nowMs: number): number {
    if (!(err instanceof WebAssembly.RuntimeError)) throw err;
    this.lastTrap = {
      bytes: new Uint8Array(source.subarray(offset, offset + length)),
      address: new Uint8Array(address.subarray(addressOffset, addressOffset + 16)),
      port, receivedMs: nowMs, error: err.message,
    };
    for (let slot = 0; slot < this.#carried.length; slot++) this.#carried[slot]! += this.#slot(slot);
    for (const slot of this.#gaugeSlots) this.#carried[slot] = 0;
    this.#carried[this.abi.slots.COUNTER_STATUS_BASE! + this.abi.trapStatus]! += 1;
    this.#attach(new WebAssembly.Instance(this.#module, imports));
    return -this.abi.trapStatus;
  }

  /**
   * Whether options records are written as records too (routing.options_topic set): after the
   * data records of each decode, marked in the record index (record-index.ts optionsRecords).
   * Off by default; may change between decodes (a reload).
   */
  /** Element names and types for options records, given after start (a reload set routing.options_topic); kept for a re-created instance. */
  setDefinitions(definitions: readonly ElementDefinition[]): void {
    if (this.#definitions) return;
    this.#definitions = encodeDefinitions(definitions, this.abi);
    this.#writeDefinitions(this.#ex, false);
  }

  #writeDefinitions(ex: DecoderExports, byName: boolean): void {
    const table = this.#definitions!;
    new Uint8Array(ex.memory.buffer).set(table, ex.definitionsPtr());
    const rc = byName ? ex.enableAllFields(table.length) : ex.loadElementNames(table.length);
    if (rc !== 0) throw new DecoderError('FG_ERR_DECODER_LOAD', 'decoder refused the element definitions table');
  }

  setOptionsOutput(on: boolean): void {
    this.#optionsOutput = on;
    this.#ex.setOptionsOutput(on ? 1 : 0);
  }

  /** Bytes of output written by the last decode(). */
  outputLength(): number {
    return this.#ex.outLength();
  }

  lastVersion(): number {
    return this.#ex.lastVersion();
  }

  lastDomain(): number {
    return this.#ex.lastDomain();
  }

  /** The decoder's exporter sessions. Overwrites the output of the last decode(). */
  sessions(): SessionInfo[] {
    const n = this.#ex.describeSessions();
    const out = this.#output;
    const view = new DataView(out.buffer, out.byteOffset);
    const L = this.abi.session;
    const sessions: SessionInfo[] = [];
    for (let i = 0, o = 0; i < n; i++, o += L.Bytes) {
      sessions.push({
        address: out.slice(o + L.Address, o + L.Address + 16),
        port: view.getUint16(o + L.Port, true),
        version: view.getUint8(o + L.Version),
        domain: view.getUint32(o + L.Domain, true),
        templates: view.getUint32(o + L.Templates, true),
        samplingRate: view.getUint32(o + L.SamplingRate, true),
        datagrams: view.getFloat64(o + L.Datagrams, true),
        records: view.getFloat64(o + L.Records, true),
        sequenceLostRecords: view.getFloat64(o + L.SequenceLostRecords, true),
        lastSeenMs: view.getFloat64(o + L.LastSeenMs, true),
        index: view.getUint32(o + L.Index, true),
      });
    }
    return sessions;
  }

  /** The decoder's templates. Overwrites the output of the last decode(). */
  templates(): TemplateInfo[] {
    const n = this.#ex.describeTemplates();
    const out = this.#output;
    const view = new DataView(out.buffer, out.byteOffset);
    const L = this.abi.template;
    const F = this.abi.templateField;
    const enterprise = 2 ** F.EnterpriseBit;
    const templates: TemplateInfo[] = [];
    let o = 0;
    for (let i = 0; i < n; i++) {
      const count = view.getUint16(o + L.FieldCount, true);
      const fields: TemplateInfo['fields'] = [];
      for (let f = 0, at = o + L.Bytes; f < count; f++, at += F.Bytes) {
        const v = view.getUint32(at, true);
        fields.push({ id: (v >>> F.IdShift) & F.IdMask, enterprise: (v & enterprise) !== 0, length: v & F.LengthMask });
      }
      templates.push({
        session: view.getUint32(o + L.Session, true), id: view.getUint16(o + L.Id, true),
        kind: view.getUint8(o + L.Kind) === this.abi.templateKindOptions ? 'options' : 'data',
        scopeFields: view.getUint16(o + L.ScopeFields, true), fields, definedMs: view.getFloat64(o + L.DefinedMs, true),
      });
      o += L.Bytes + count * F.Bytes;
    }
    return templates;
  }

  /** A snapshot of the exporters' persistent state (a copy; layout: stateLayout()). Overwrites the last output. */
  exportState(): Uint8Array {
    return this.output.slice(0, this.#ex.exportState());
  }

  /**
   * Restores a snapshot as of `nowMs`: sessions restored, -1 for another STATE_VERSION, -2 malformed
   * or too large. `newerWins`: a template defined later replaces a different one the decoder has
   * (templates from the shared topic); else the decoder's own are kept (its state file).
   */
  importState(bytes: Uint8Array, nowMs: number, newerWins = false): number {
    if (bytes.length > stateLayout().capacity) return -2;
    this.output.set(bytes);
    return this.#ex.importState(bytes.length, nowMs, newerWins ? 1 : 0);
  }

  /** Data sets held for templates not seen yet (a gauge the decoder keeps; cheap enough per datagram). */
  heldSets(): number {
    return this.#slot(this.abi.slots.GAUGE_HELD_SETS!);
  }

  /** Changes whenever persistent state changes (exportState is worth calling again). */
  stateGeneration(): number {
    return this.#ex.stateGeneration();
  }

  /**
   * The exporter's TCP connection from `address` (16 bytes) and `port` closed: frees every session
   * of that address and port, any observation domain, with its templates and held data (RFC 7011
   * section 8). Returns the sessions freed. `addressOffset`: where the address starts in `address`.
   */
  endTransportSession(address: Uint8Array, addressOffset: number, port: number): number {
    this.#mem.set(address.subarray(addressOffset, addressOffset + 16), this.#addr);
    return this.#ex.endTransportSession(port);
  }

  /** Expires templates, held sets and idle sessions; call about once a second. */
  sweep(nowMs: number): void {
    this.#ex.sweep(nowMs);
  }

  /** Counter slot `slot` of the live instance (u64 read as two u32 halves). */
  #slot(slot: number): number {
    return this.#counters[slot * 2]! + this.#counters[slot * 2 + 1]! * 0x1_0000_0000;
  }

  #read(name: string): number {
    const slot = this.abi.slots[name]!;
    return this.#slot(slot) + this.#carried[slot]!;
  }

  counters(): DecoderCounters {
    const base = this.abi.slots.COUNTER_STATUS_BASE!;
    const statuses = this.abi.statuses.map((_, code) => this.#slot(base + code) + this.#carried[base + code]!);
    return {
      statuses,
      packets: this.#read('COUNTER_PACKETS'),
      packetsByVersion: { 5: this.#read('COUNTER_PACKETS_V5'), 9: this.#read('COUNTER_PACKETS_V9'), 10: this.#read('COUNTER_PACKETS_V10') },
      records: this.#read('COUNTER_RECORDS'),
      optionsRecords: this.#read('COUNTER_OPTIONS_RECORDS'),
      templatesDefined: this.#read('COUNTER_TEMPLATES_DEFINED'),
      templatesRefreshed: this.#read('COUNTER_TEMPLATES_REFRESHED'),
      templatesWithdrawn: this.#read('COUNTER_TEMPLATES_WITHDRAWN'),
      templatesExpired: this.#read('COUNTER_TEMPLATES_EXPIRED'),
      heldSetsReleased: this.#read('COUNTER_HELD_SETS_RELEASED'),
      heldRecordsReleased: this.#read('COUNTER_HELD_RECORDS_RELEASED'),
      heldBytesExpired: this.#read('COUNTER_HELD_BYTES_EXPIRED'),
      sequenceLostRecords: this.#read('COUNTER_SEQUENCE_LOST_RECORDS'),
      exporterRestarts: this.#read('COUNTER_EXPORTER_RESTARTS'),
      sessionsExpired: this.#read('COUNTER_SESSIONS_EXPIRED'),
      withdrawalsIgnored: this.#read('COUNTER_WITHDRAWALS_IGNORED'),
      withdrawalsApplied: this.#read('COUNTER_WITHDRAWALS_APPLIED'),
      sequenceOutOfWindow: this.#read('COUNTER_SEQUENCE_OUT_OF_WINDOW'),
      sequenceResets: this.#read('COUNTER_SEQUENCE_RESETS'),
      sessionsEvicted: this.#read('COUNTER_SESSIONS_EVICTED'),
      transportSessionsEnded: this.#read('COUNTER_TRANSPORT_SESSIONS_ENDED'),
      relayStated: this.#read('COUNTER_RELAY_STATED'),
      relayNoStatedExporter: this.#read('COUNTER_RELAY_NO_STATED_EXPORTER'),
      relayTableFull: this.#read('COUNTER_RELAY_TABLE_FULL'),
      optionsRecordsWritten: this.#read('COUNTER_OPTIONS_RECORDS_WRITTEN'),
      namesLearnt: this.#read('COUNTER_NAMES_LEARNT'),
      namesRefused: { exporter_limit: this.#read('COUNTER_NAMES_REFUSED_EXPORTER_LIMIT'), table_full: this.#read('COUNTER_NAMES_REFUSED_TABLE_FULL') },
      names: this.#read('GAUGE_NAMES'),
      templates: this.#read('GAUGE_TEMPLATES'),
      sessions: this.#read('GAUGE_SESSIONS'),
      heldBytes: this.#read('GAUGE_HELD_BYTES'),
      heldSets: this.#read('GAUGE_HELD_SETS'),
    };
  }
}
