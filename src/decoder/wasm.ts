// The only module that touches WebAssembly: loads the decoder built from assembly/, checks
// its ABI, and gives the host typed access to its regions. One WasmDecoder per worker; each
// has its own memory, so templates live where the exporter's datagrams are decoded.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The ABI this host was written against (assembly/index.ts ABI_VERSION). */
export const ABI_VERSION = 3;

export class DecoderError extends Error {
  readonly code: 'FG_ERR_ABI_MISMATCH' | 'FG_ERR_DECODER_LOAD' | 'FG_ERR_DECODER_CONFIG';
  constructor(code: DecoderError['code'], message: string) {
    super(message);
    this.code = code;
  }
}

export interface DecoderOptions {
  /** Seconds after which a template that was not sent again is forgotten (RFC 7011 section 8.4). 0 = never. */
  templateLifetimeSec: number;
  /** Key templates by (exporter address, domain) only, for exporters that change source ports. */
  ignoreExporterPort: boolean;
  /** Output fields, by JSON name; undefined = all (KFlow's ten always, the others when present). */
  fields?: readonly string[];
  /** Data sets waiting for their template: bytes in total, per (exporter, domain, template id), and age. */
  heldMaxBytes: number;
  heldPerTemplateBytes: number;
  heldMaxAgeMs: number;
  maxTemplatesPerExporter: number;
  /** Transport sessions (exporter, port, domain) one decoder keeps. */
  maxSessions: number;
}

export const defaultDecoderOptions: DecoderOptions = {
  templateLifetimeSec: 1800,
  ignoreExporterPort: false,
  heldMaxBytes: 1 << 20,
  heldPerTemplateBytes: 64 << 10,
  heldMaxAgeMs: 30_000,
  maxTemplatesPerExporter: 256,
  maxSessions: 2048,
};

interface DecoderExports {
  memory: WebAssembly.Memory;
  init(lifetime: number, ignorePort: number, fieldMask: number, heldMax: number, heldPerKey: number,
    heldAge: number, maxTemplates: number, maxSessions: number): number;
  inPtr(): number;
  addrPtr(): number;
  outPtr(): number;
  indexPtr(): number;
  countersPtr(): number;
  outLength(): number;
  lastVersion(): number;
  lastDomain(): number;
  decode(len: number, port: number, nowMs: number): number;
  sweep(nowMs: number): void;
  describeSessions(): number;
  describeTemplates(): number;
  exportState(): number;
  importState(len: number, nowMs: number): number;
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

const wasmUrl = new URL('../../../build/flowgate.wasm', import.meta.url);
let compiled: WebAssembly.Module | undefined;

/** The compiled release module; compiled once per thread, or handed to workers. */
export function decoderModule(): WebAssembly.Module {
  if (!compiled) {
    let bytes: Buffer;
    try {
      bytes = readFileSync(fileURLToPath(wasmUrl));
    } catch (err) {
      throw new DecoderError('FG_ERR_DECODER_LOAD', `cannot read ${fileURLToPath(wasmUrl)} (run npm install to build it): ${(err as Error).message}`);
    }
    compiled = new WebAssembly.Module(new Uint8Array(bytes));
  }
  return compiled;
}

function global(instance: WebAssembly.Instance, name: string): number {
  const g = instance.exports[name];
  if (!(g instanceof WebAssembly.Global)) throw new DecoderError('FG_ERR_ABI_MISMATCH', `decoder does not export ${name}`);
  return Number(g.value);
}

/** "UnknownTemplate" -> "unknown_template" */
function snake(name: string): string {
  return name.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase();
}

function exportedEnum(instance: WebAssembly.Instance, prefix: string): string[] {
  const names: string[] = [];
  for (const key of Object.keys(instance.exports)) {
    if (!key.startsWith(prefix)) continue;
    names[global(instance, key)] = snake(key.slice(prefix.length));
  }
  return names;
}

// An instance that is never initialised, only read for the names the module exports.
const described = new WebAssembly.Instance(decoderModule(), { env: { abort } });

/** Decode outcomes by code, as the decoder names them: index 0 is "ok", every other is a drop reason. */
export const decodeStatuses: readonly string[] = exportedEnum(described, 'Status.');

/** Output field names in emit order (JSON keys). */
export const recordFields: readonly string[] = exportedEnum(described, 'Field.');

/** The snapshot layout of assembly/state.ts: what src/state/ needs to pick sessions out of one. */
export const stateLayout = {
  version: global(described, 'STATE_VERSION'), capacity: global(described, 'STATE_CAPACITY'),
  headerBytes: global(described, 'STATE_HEADER_BYTES'), lengthOffset: global(described, 'STATE_SESSION_LENGTH'),
  addressOffset: global(described, 'STATE_SESSION_ADDRESS'), keyBytes: global(described, 'STATE_SESSION_KEY_BYTES'),
} as const;

function abort(): never {
  throw new Error('decoder aborted');
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
  templatesWithdrawn: number;
  templatesExpired: number;
  heldSetsReleased: number;
  heldRecordsReleased: number;
  heldBytesExpired: number;
  sequenceLostRecords: number;
  exporterRestarts: number;
  sessionsExpired: number;
  templates: number;
  sessions: number;
  heldBytes: number;
  heldSets: number;
}

export function fieldMask(fields: readonly string[] | undefined): number {
  if (!fields) return 0xffffffff;
  let mask = 0;
  for (const name of fields) {
    const bit = recordFields.indexOf(name);
    if (bit < 0) throw new DecoderError('FG_ERR_DECODER_CONFIG', `unknown record field "${name}" (known: ${recordFields.join(', ')})`);
    mask |= 1 << bit;
  }
  return mask >>> 0;
}

export class WasmDecoder {
  readonly #ex: DecoderExports;
  readonly #mem: Uint8Array;
  readonly #memBuffer: Buffer;
  readonly #in: number;
  readonly #addr: number;
  readonly #counters: Uint32Array;
  readonly #slot: Record<string, number> = {};
  /** JSON lines written by the last decode(), each ending in "\n". */
  readonly output: Uint8Array;
  /** Per record of the last decode(): [end offset in output (the "\n"), flow hash]. */
  readonly index: Uint32Array;
  readonly statusNames = decodeStatuses;

  constructor(options: Partial<DecoderOptions> = {}, module: WebAssembly.Module = decoderModule()) {
    const o = { ...defaultDecoderOptions, ...options };
    const instance = new WebAssembly.Instance(module, { env: { abort } });
    const version = global(instance, 'ABI_VERSION');
    if (version !== ABI_VERSION) throw new DecoderError('FG_ERR_ABI_MISMATCH', `decoder ABI ${version}, host expects ${ABI_VERSION}: rebuild with npm run build`);
    this.#ex = instance.exports as unknown as DecoderExports;
    const rc = this.#ex.init(o.templateLifetimeSec, o.ignoreExporterPort ? 1 : 0, fieldMask(o.fields), o.heldMaxBytes,
      o.heldPerTemplateBytes, o.heldMaxAgeMs, o.maxTemplatesPerExporter, o.maxSessions);
    if (rc !== 0) throw new DecoderError('FG_ERR_DECODER_LOAD', 'decoder could not reserve its memory');
    // init() grew memory once; it never grows again, so these views stay valid.
    const buffer = this.#ex.memory.buffer;
    this.#mem = new Uint8Array(buffer);
    this.#memBuffer = Buffer.from(buffer);
    this.#in = this.#ex.inPtr();
    this.#addr = this.#ex.addrPtr();
    this.output = new Uint8Array(buffer, this.#ex.outPtr(), global(instance, 'OUT_CAPACITY'));
    this.outputBuffer = Buffer.from(buffer, this.#ex.outPtr(), global(instance, 'OUT_CAPACITY'));
    this.index = new Uint32Array(buffer, this.#ex.indexPtr(), global(instance, 'MAX_RECORDS_OUT') * 2);
    this.#counters = new Uint32Array(buffer, this.#ex.countersPtr(), global(instance, 'COUNTER_SLOTS') * 2);
    for (const key of Object.keys(instance.exports)) {
      if (key.startsWith('COUNTER_') || key.startsWith('GAUGE_')) this.#slot[key] = global(instance, key);
    }
  }

  /** The largest datagram decode() takes: the module's input region. Longer ones are rejected as bad_length without a copy. */
  static readonly maxDatagram = global(described, 'IN_CAPACITY');

  /**
   * Decodes one datagram from `address` (16 bytes; IPv4 as ::ffff:a.b.c.d) and UDP `port`,
   * received at `nowMs`. Returns the number of records in `output` / `index`, or -status.
   */
  decode(datagram: Uint8Array, address: Uint8Array, port: number, nowMs: number): number {
    if (datagram.length > WasmDecoder.maxDatagram) return this.#ex.decode(datagram.length, port, nowMs);
    this.#mem.set(datagram, this.#in);
    this.#mem.set(address, this.#addr);
    return this.#ex.decode(datagram.length, port, nowMs);
  }

  /**
   * Like decode(), for a datagram and address already in a Buffer (a ring slot): copied in
   * with Buffer.copy, which allocates nothing per datagram.
   */
  decodeFrom(source: Buffer, offset: number, length: number, addressOffset: number, port: number, nowMs: number): number {
    if (length > WasmDecoder.maxDatagram) return this.#ex.decode(length, port, nowMs);
    source.copy(this.#memBuffer, this.#in, offset, offset + length);
    source.copy(this.#memBuffer, this.#addr, addressOffset, addressOffset + 16);
    return this.#ex.decode(length, port, nowMs);
  }

  /** The output region as a Buffer (the same bytes as `output`): valid until the next decode(). */
  readonly outputBuffer: Buffer;

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
    const view = new DataView(this.output.buffer, this.output.byteOffset);
    const out: SessionInfo[] = [];
    for (let i = 0, o = 0; i < n; i++, o += 72) {
      out.push({
        address: this.output.slice(o, o + 16),
        port: view.getUint16(o + 16, true),
        version: view.getUint8(o + 18),
        domain: view.getUint32(o + 20, true),
        templates: view.getUint32(o + 24, true),
        samplingRate: view.getUint32(o + 28, true),
        datagrams: view.getFloat64(o + 32, true),
        records: view.getFloat64(o + 40, true),
        sequenceLostRecords: view.getFloat64(o + 48, true),
        lastSeenMs: view.getFloat64(o + 56, true),
        index: view.getUint32(o + 64, true),
      });
    }
    return out;
  }

  /** The decoder's templates. Overwrites the output of the last decode(). */
  templates(): TemplateInfo[] {
    const n = this.#ex.describeTemplates();
    const view = new DataView(this.output.buffer, this.output.byteOffset);
    const out: TemplateInfo[] = [];
    let o = 0;
    for (let i = 0; i < n; i++) {
      const count = view.getUint16(o + 8, true);
      const fields: TemplateInfo['fields'] = [];
      for (let f = 0; f < count; f++) {
        const v = view.getUint32(o + 24 + f * 4, true);
        fields.push({ id: (v >>> 16) & 0x7fff, enterprise: (v >>> 31) === 1, length: v & 0xffff });
      }
      out.push({ session: view.getUint32(o, true), id: view.getUint16(o + 4, true), kind: view.getUint8(o + 6) === 2 ? 'options' : 'data',
        scopeFields: view.getUint16(o + 10, true), fields, definedMs: view.getFloat64(o + 16, true) });
      o += 24 + count * 4;
    }
    return out;
  }

  /** A snapshot of the exporters' persistent state (a copy; layout: stateLayout). Overwrites the last output. */
  exportState(): Uint8Array {
    return this.output.slice(0, this.#ex.exportState());
  }

  /** Restores a snapshot as of `nowMs`: sessions restored, -1 for another STATE_VERSION, -2 malformed or too large. */
  importState(bytes: Uint8Array, nowMs: number): number {
    if (bytes.length > stateLayout.capacity) return -2;
    this.output.set(bytes);
    return this.#ex.importState(bytes.length, nowMs);
  }

  /** Changes whenever persistent state changes (exportState is worth calling again). */
  stateGeneration(): number {
    return this.#ex.stateGeneration();
  }

  /** Expires templates, held sets and idle sessions; call about once a second. */
  sweep(nowMs: number): void {
    this.#ex.sweep(nowMs);
  }

  #read(name: string): number {
    const i = this.#slot[name]! * 2;
    return this.#counters[i]! + this.#counters[i + 1]! * 0x1_0000_0000;
  }

  counters(): DecoderCounters {
    const base = this.#slot.COUNTER_STATUS_BASE! * 2;
    const statuses = decodeStatuses.map((_, code) => this.#counters[base + code * 2]! + this.#counters[base + code * 2 + 1]! * 0x1_0000_0000);
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
      templates: this.#read('GAUGE_TEMPLATES'),
      sessions: this.#read('GAUGE_SESSIONS'),
      heldBytes: this.#read('GAUGE_HELD_BYTES'),
      heldSets: this.#read('GAUGE_HELD_SETS'),
    };
  }
}
