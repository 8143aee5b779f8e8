// Fuzzing as a test (style.md 5.7). Whatever arrives, decode() answers with a record count or
// a known -Status, never traps, and returns within a time budget; when it answers with
// records, the output region and the index agree. Three sources of input:
//   1. random bytes, some shaped to reach the IPFIX / v9 / v5 paths (release and debug builds);
//   2. corpus datagrams, mutated, decoded by a decoder that keeps learning templates from them;
//   3. streams of well-formed random templates and data sets, checked against a model of the
//      template table (4096 in all, maxTemplatesPerExporter per exporter).
// Each property runs in a worker thread for its time budget (seconds locally, about a minute
// when CI=true): a decode that never returns fails the test with the datagram it was given,
// where in-thread it would hang the run. FUZZ_SEED=n replays a run. Counterexamples found are
// kept as hex in test/fixtures/fuzz/*.hex: every one is decoded by a test of its own kind, and
// those that show a bug have a regression test below (oversized datagrams, held-flood.hex).
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { WasmDecoder, compileDecoder, decodeStatuses, defaultDecoderOptions, recordFields, type DecoderOptions } from '../../src/decoder/wasm.js';
import { decoderWasmPath } from '../../src/paths.js';
import { readCapture } from '../../src/capture/pcap-reader.js';
import { corpusCaptures, pcapsDir } from '../support/corpus.js';
import { concatBytes } from '../support/packets.js';
import { repoRoot } from '../support/paths.js';

type Property = 'bytes' | 'corpus' | 'templates';
type Build = 'release' | 'debug';

const CI = process.env.CI === 'true';
/** Time budget per property run, ms: about 7 s for the file locally, about a minute under CI. */
const BUDGET_MS = CI
  ? { bytes: 12_000, 'bytes-debug': 10_000, corpus: 20_000, templates: 16_000 }
  : { bytes: 1_200, 'bytes-debug': 1_000, corpus: 2_000, templates: 2_500 };
/**
 * A hang guard, not a speed check: one decode() takes microseconds, about 15 ms for the largest
 * outputs (60 000 records); one this slow means a loop. Wall-clock time, with room for a loaded machine.
 */
const DECODE_LIMIT_MS: Record<Build, number> = { release: 5_000, debug: 10_000 };
/** A worker still busy this long after its budget is stuck in a decode that never returns. */
const HANG_MS = 30_000;
/** Fewer runs than this within a budget means the fuzzing did not really happen (a run of property 3 is a stream of datagrams). */
const MIN_RUNS: Record<Property, number> = { bytes: 100, corpus: 100, templates: 20 };
const MAX_RUNS = 10_000_000;
const MAX_TEMPLATES = 4096; // per decoder (assembly/layout.ts)
const T0 = 1_700_000_000_000;

const fixturesDir = join(repoRoot, 'test', 'fixtures', 'fuzz');

/** A datagram kept as hex ("#" comments and whitespace ignored) in test/fixtures/fuzz. */
function readFixture(file: string): Uint8Array {
  const text = readFileSync(join(fixturesDir, file), 'utf8').replace(/#[^\n]*/g, '').replace(/\s+/g, '');
  if (!/^([0-9a-fA-F]{2})*$/.test(text)) throw new Error(`${file}: not hex`);
  return Uint8Array.from(Buffer.from(text, 'hex'));
}

/** The options each decoder was made with, for the caps its gauges must stay within. */
const optionsOf = new WeakMap<WasmDecoder, DecoderOptions>();

/** A decoder of the release build (through WasmDecoder's own loader) or of `module`. */
function newDecoder(options: Partial<DecoderOptions> = {}, module?: WebAssembly.Module): WasmDecoder {
  const dec = module ? new WasmDecoder(options, module) : new WasmDecoder(options);
  // Options records are written too (routing.options_topic), so their JSON is fuzzed as well.
  dec.setOptionsOutput(true);
  optionsOf.set(dec, { ...defaultDecoderOptions, ...options });
  return dec;
}

/** Small caps, so runs reach exporter_limit, template_limit, held_overflow and expiry too. */
const tightOptions: Partial<DecoderOptions> = {
  maxSessions: 16, maxTemplatesPerExporter: 4, heldMaxBytes: 8192, heldPerTemplateBytes: 2048, heldMaxAgeMs: 1000, templateLifetimeSec: 60,
};

function code(name: string): number {
  const c = decodeStatuses().indexOf(name);
  if (c <= 0) throw new Error(`decodeStatuses has no ${name}`);
  return c;
}

function toHex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}

function be16(b: Uint8Array, at: number): number {
  return (b[at]! << 8) | b[at + 1]!;
}

function mapped(a: number, b: number, c: number, d: number): Uint8Array {
  return Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, a, b, c, d]);
}

interface Exporter {
  address: Uint8Array;
  port: number;
  /** What the records' "dvc" must say; undefined when not known to the test. */
  dvc?: string;
}

const exporters: Exporter[] = [
  { address: mapped(192, 0, 2, 1), port: 4739, dvc: '192.0.2.1' },
  { address: mapped(198, 51, 100, 7), port: 2055, dvc: '198.51.100.7' },
  { address: Uint8Array.from([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]), port: 9995, dvc: '2001:db8::1' },
];

function exporterOf(address: Uint8Array, port: number): Exporter {
  const isMapped = address.subarray(0, 10).every((b) => b === 0) && address[10] === 0xff && address[11] === 0xff;
  return { address, port, ...(isMapped ? { dvc: address.subarray(12).join('.') } : {}) };
}

// ---------------------------------------------------------------------------------------------
// The property every decode must hold, and the watch the main thread keeps on it
// ---------------------------------------------------------------------------------------------

/**
 * What the worker is decoding right now, in memory shared with the main thread, so a decode
 * that never returns can still be reported with its input after the worker is terminated.
 */
class Mailbox {
  readonly state: Int32Array; // [0] 0 idle, 1 in decode(), 2 in sweep(); [1] datagram length
  readonly bytes: Uint8Array;
  constructor(readonly shared: SharedArrayBuffer = new SharedArrayBuffer(8 + WasmDecoder.maxDatagram + 1)) {
    this.state = new Int32Array(shared, 0, 2);
    this.bytes = new Uint8Array(shared, 8);
  }
  enter(what: 1 | 2, datagram: Uint8Array): void {
    this.bytes.set(datagram.subarray(0, this.bytes.length));
    Atomics.store(this.state, 1, datagram.length);
    Atomics.store(this.state, 0, what);
  }
  leave(): void {
    Atomics.store(this.state, 0, 0);
  }
  describe(): string {
    const what = Atomics.load(this.state, 0);
    if (what === 0) return 'the worker was not inside decode() or sweep()';
    const len = Atomics.load(this.state, 1);
    const where = what === 1 ? 'decode()' : 'sweep() before the datagram';
    return `stuck in ${where}; datagram (${len} bytes): ${toHex(this.bytes.subarray(0, Math.min(len, this.bytes.length)))}`;
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true });
const addressFields = new Set(['dvc', 'src', 'dst', 'next_hop']);
const knownFields = new Set(recordFields());
const keyPattern = /"[A-Za-z_][A-Za-z0-9_]*":/g;
/** Fields whose values are strings: names from options data, the application id as "engine:selector". */
const stringFields = new Set(['in_if_name', 'out_if_name', 'in_vrf_name', 'out_vrf_name', 'applicationId', 'applicationName']);
const PARSE_ALL = 4096;

/** Decodes with the property checked: a count whose output and index agree, or a known -Status; never a trap, never slow. */
class Checker {
  slowestMs = 0;
  /** Outcomes seen, by status name, "records", "no records" and "vN accepted". */
  readonly seen: Record<string, number> = {};
  constructor(readonly limitMs: number, readonly mailbox?: Mailbox) {}

  note(key: string): void {
    this.seen[key] = (this.seen[key] ?? 0) + 1;
  }

  /** sweep() before decoding `next`: never a trap, and the gauges stay within their caps. */
  sweep(dec: WasmDecoder, nowMs: number, next: Uint8Array): void {
    this.mailbox?.enter(2, next);
    try {
      dec.sweep(nowMs);
      this.checkGauges(dec);
    } catch (err) {
      throw new Error(`sweep(${nowMs}) before ${toHex(next)}: ${(err as Error).name}: ${(err as Error).message}`);
    }
    this.mailbox?.leave();
  }

  decode(dec: WasmDecoder, datagram: Uint8Array, ex: Exporter, nowMs: number): number {
    const was = dec.counters();
    const before = was.statuses;
    this.mailbox?.enter(1, datagram);
    const t0 = performance.now();
    let n: number;
    try {
      n = dec.decode(datagram, ex.address, ex.port, nowMs);
    } catch (err) {
      throw new Error(`decode threw (${(err as Error).name}: ${(err as Error).message}) on ${toHex(datagram)}`);
    }
    const ms = performance.now() - t0;
    this.mailbox?.leave();
    this.slowestMs = Math.max(this.slowestMs, ms);
    try {
      assert.ok(ms <= this.limitMs, `decode took ${ms.toFixed(1)} ms (limit ${this.limitMs} ms)`);
      assert.ok(Number.isInteger(n), `decode returned ${n}`);
      if (n < 0) {
        const name = decodeStatuses()[-n];
        assert.ok(name !== undefined && name !== 'ok', `decode returned ${n}, not -code of a known status`);
        assert.ok(-n !== dec.abi.trapStatus, `decode trapped (${dec.lastTrap?.error}): the decoder survived it, but a trap is a bug`);
        assert.equal(dec.outputLength(), 0, `a rejected datagram (${name}) wrote output`);
        const now = dec.counters();
        assert.equal(now.statuses[-n], before[-n]! + 1, `a rejected datagram is counted once as ${name}`);
        assert.equal(now.packets, was.packets, 'a rejected datagram was counted in packets');
        assert.equal(now.records, was.records, 'a rejected datagram was counted in records');
        this.note(name);
      } else {
        this.checkOutput(dec, n, ex.dvc);
        const version = dec.lastVersion();
        const now = dec.counters();
        assert.equal(now.records + now.optionsRecordsWritten - was.records - was.optionsRecordsWritten, n,
          'the records counters (data and options records) went up by another number than decode returned');
        assert.equal(now.packets - was.packets, 1, 'an accepted datagram is counted once in packets');
        assert.ok(version === 5 || version === 9 || version === 10, `lastVersion() ${version}`);
        assert.equal(now.packetsByVersion[version] - was.packetsByVersion[version], 1, `an accepted datagram is counted once in packets v${version}`);
        this.note(n > 0 ? 'records' : 'no records');
        this.note(`v${version} accepted`);
        // Drops inside an accepted datagram (sets, templates, records), and templates taken in.
        now.statuses.forEach((count, c) => {
          if (count > before[c]!) this.note(`counted ${decodeStatuses()[c]}`);
        });
        if (now.templatesDefined > was.templatesDefined) this.note('defined templates');
      }
      this.checkGauges(dec);
    } catch (err) {
      throw new Error(`${(err as Error).message}\n  datagram: ${toHex(datagram)}`);
    }
    return n;
  }

  /** Templates, sessions and held bytes stay within the decoder's caps. */
  checkGauges(dec: WasmDecoder): void {
    const o = optionsOf.get(dec) ?? defaultDecoderOptions;
    const c = dec.counters();
    const sessionCap = Math.min(o.maxSessions || 2048, 2048); // 0 or more than MAX_SESSIONS: MAX_SESSIONS (sessions.ts)
    if (c.sessions > sessionCap) assert.fail(`${c.sessions} sessions, cap ${sessionCap}`);
    if (c.templates > MAX_TEMPLATES) assert.fail(`${c.templates} templates, cap ${MAX_TEMPLATES}`);
    if (c.templates > (o.maxTemplatesPerExporter || 256) * c.sessions) {
      assert.fail(`${c.templates} templates in ${c.sessions} sessions, cap ${o.maxTemplatesPerExporter} each`);
    }
    const heldCap = Math.min(o.heldMaxBytes || 1 << 20, 1 << 20); // likewise HELD_CAPACITY (held.ts)
    if (c.heldBytes > heldCap) assert.fail(`${c.heldBytes} bytes held, cap ${heldCap}`);
  }

  /** n records: end offsets strictly increasing, each at a "\n", the last one ending the output; each line a JSON object with dvc. */
  checkOutput(dec: WasmDecoder, n: number, dvc: string | undefined): void {
    const length = dec.outputLength();
    const { entries, stride, endAt, routeAt, routeOptions, gap } = dec.index;
    assert.ok(n <= entries.length / stride, `${n} records, more than the index holds`);
    assert.ok(length <= dec.output.length, `outputLength() ${length} is past the output region`);
    if (n === 0) {
      assert.equal(length, 0, 'no records but output written');
      return;
    }
    // Messages are built only on failure. Every end offset is checked; every line is parsed
    // up to PARSE_ALL records, beyond that (large data sets of property 3: up to 65536 records
    // of one template) the first and last PARSE_ALL / 2 and every 16th.
    let prev = -1;
    let start = 0;
    for (let i = 0; i < n; i++) {
      const end = entries[i * stride + endAt]!;
      if (!(end > prev && end < length)) assert.fail(`record ${i} ends at ${end}, after ${prev}, output length ${length}`);
      if (dec.output[end] !== 10) assert.fail(`record ${i} does not end with "\\n" at ${end}`);
      if (n <= PARSE_ALL || i < PARSE_ALL / 2 || i >= n - PARSE_ALL / 2 || i % 16 === 0) {
        const line = utf8.decode(dec.output.subarray(start, end));
        const options = (entries[i * stride + routeAt]! & routeOptions) !== 0;
        const problem = options ? optionsRecordProblem(line, dvc) : recordProblem(line, dvc);
        if (problem !== undefined) assert.fail(`record ${i} ${problem}: ${line}`);
      }
      prev = end;
      start = end + gap;
    }
    assert.equal(length, start, `outputLength() ${length}, last record ends at ${prev}`);
  }
}

/** One output line as a JSON object, or what is wrong with it. */
function jsonObject(line: string): Record<string, unknown> | string {
  let rec: unknown;
  try {
    rec = JSON.parse(line);
  } catch {
    return 'is not JSON';
  }
  if (typeof rec !== 'object' || rec === null || Array.isArray(rec)) return 'is not an object';
  return rec as Record<string, unknown>;
}

/** What is wrong with one output line (a JSON object of known fields, with dvc), or undefined. */
function recordProblem(line: string, dvc: string | undefined): string | undefined {
  const obj = jsonObject(line);
  if (typeof obj === 'string') return obj;
  const keys = Object.keys(obj);
  if (keys.length !== (line.match(keyPattern)?.length ?? 0)) return 'repeats a key';
  if (typeof obj.dvc !== 'string') return 'has no dvc';
  if (dvc !== undefined && obj.dvc !== dvc) return `has dvc ${obj.dvc}, not ${dvc}`;
  for (const k of keys) {
    if (!knownFields.has(k)) return `has unknown field ${k}`;
    const v = obj[k];
    if (stringFields.has(k)) {
      if (typeof v !== 'string') return `has ${k} ${String(v)}`;
    } else if (addressFields.has(k) ? !(typeof v === 'string' || v === null) : !(typeof v === 'number' && Number.isInteger(v) && v >= 0)) {
      return `has ${k} ${String(v)}`;
    }
  }
  return undefined;
}

/** What is wrong with one options record line (routing.options_topic: a JSON object with dvc and tid), or undefined. */
function optionsRecordProblem(line: string, dvc: string | undefined): string | undefined {
  const obj = jsonObject(line);
  if (typeof obj === 'string') return obj;
  if (typeof obj.dvc !== 'string' || (dvc !== undefined && obj.dvc !== dvc)) return `has dvc ${String(obj.dvc)}`;
  if (!(typeof obj.tid === 'number' && obj.tid >= 256)) return `has tid ${String(obj.tid)}`;
  return undefined;
}

/** One decoder shared by many runs (its state is what gets fuzzed), made anew every `every` runs and after a failure. */
class Pool {
  #dec: WasmDecoder | undefined;
  #uses = 0;
  dirty = false;
  made = 0;
  constructor(readonly make: () => WasmDecoder, readonly every: number) {}
  get(): WasmDecoder {
    if (!this.#dec || this.dirty || this.#uses >= this.every) {
      this.#dec = this.make();
      this.#uses = 0;
      this.dirty = false;
      this.made++;
    }
    this.#uses++;
    return this.#dec;
  }
  /** Runs one property run; a failure leaves the decoder in a state no later run should inherit. */
  run<T>(body: (dec: WasmDecoder) => T): T {
    const dec = this.get();
    try {
      return body(dec);
    } catch (err) {
      this.dirty = true;
      throw err;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Inputs
// ---------------------------------------------------------------------------------------------

function putU16(b: Uint8Array, at: number, v: number): void {
  if (at + 2 > b.length) return;
  const c = Math.max(0, Math.min(0xffff, v));
  b[at] = c >> 8;
  b[at + 1] = c & 0xff;
}

/** Bytes written big-endian, for building messages. */
class Bytes {
  #buf = new Uint8Array(256);
  length = 0;
  #room(n: number): void {
    if (this.length + n <= this.#buf.length) return;
    const grown = new Uint8Array(Math.max(this.#buf.length * 2, this.length + n));
    grown.set(this.#buf.subarray(0, this.length));
    this.#buf = grown;
  }
  u8(v: number): this {
    this.#room(1);
    this.#buf[this.length++] = v & 0xff;
    return this;
  }
  u16(v: number): this {
    this.#room(2);
    this.#buf[this.length++] = (v >> 8) & 0xff;
    this.#buf[this.length++] = v & 0xff;
    return this;
  }
  u32(v: number): this {
    return this.u16(v >>> 16).u16(v & 0xffff);
  }
  raw(b: Uint8Array): this {
    this.#room(b.length);
    this.#buf.set(b, this.length);
    this.length += b.length;
    return this;
  }
  done(): Uint8Array {
    return this.#buf.slice(0, this.length);
  }
}

// Template records, for shaped random sets (1) and template streams (3).
interface FieldSpec {
  ie: number; // 0x8000 set: an enterprise element, `pen` follows
  pen: number;
  len: number;
}
interface TemplateRecord {
  tid: number;
  scope: number; // options templates only
  fields: FieldSpec[]; // none: a withdrawal
}

/** Elements the decoder reads (elements.ts), so templates often fill value slots. */
const knownElements = [1, 2, 4, 5, 6, 7, 8, 10, 11, 12, 14, 15, 16, 17, 18, 21, 22, 27, 28, 32, 34, 48, 50, 58, 61, 62,
  63, 85, 86, 139, 150, 151, 152, 153, 154, 155, 156, 157, 158, 159, 160, 176, 177, 178, 179, 180, 181, 182, 183, 243,
  302, 305, 306, 309, 310];

const fieldSpec: fc.Arbitrary<FieldSpec> = fc.record({
  ie: fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...knownElements) }, { weight: 1, arbitrary: fc.nat(0x7fff) }),
  enterprise: fc.oneof({ weight: 5, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
  pen: fc.oneof(fc.constant(29305), fc.constant(0), fc.nat({ max: 0xffffffff })),
  len: fc.oneof(
    { weight: 10, arbitrary: fc.constantFrom(1, 2, 4, 8, 16, 3, 6) },
    { weight: 2, arbitrary: fc.constant(0xffff) },
    { weight: 1, arbitrary: fc.constantFrom(0, 255, 256, 0xfffe) },
    { weight: 1, arbitrary: fc.nat(0xffff) },
  ),
}).map(({ ie, enterprise, pen, len }) => ({ ie: enterprise ? ie | 0x8000 : ie, pen: enterprise ? pen : 0, len }));

/** Template ids from a small pool, so templates are redefined and data sets find them; now and then any id. */
const templateId = fc.oneof(
  { weight: 12, arbitrary: fc.integer({ min: 256, max: 295 }) },
  { weight: 1, arbitrary: fc.nat(0xffff) },
  { weight: 1, arbitrary: fc.constantFrom(2, 3) },
);
/** Data set ids (>= 256), mostly from the same pool as template ids. */
const dataId = fc.oneof({ weight: 12, arbitrary: fc.integer({ min: 256, max: 295 }) }, { weight: 1, arbitrary: fc.integer({ min: 256, max: 0xffff }) });

const templateRecord: fc.Arbitrary<TemplateRecord> = fc.record({
  tid: templateId,
  scope: fc.nat(4),
  fields: fc.oneof(
    { weight: 14, arbitrary: fc.array(fieldSpec, { minLength: 1, maxLength: 12 }) },
    { weight: 1, arbitrary: fc.constant<FieldSpec[]>([]) },
    { weight: 1, arbitrary: fc.array(fieldSpec, { minLength: 250, maxLength: 300, size: 'max' }) },
  ),
});

function writeTemplate(w: Bytes, r: TemplateRecord, options: boolean, ipfix: boolean): void {
  w.u16(r.tid).u16(r.fields.length);
  if (r.fields.length === 0) return;
  if (options) w.u16(r.scope);
  for (const f of r.fields) {
    w.u16(f.ie).u16(f.len);
    if (ipfix && (f.ie & 0x8000) !== 0) w.u32(f.pen);
  }
}

// 1. Random bytes, and random bytes shaped to get past the message and set headers.

const randomBytes = fc.oneof(fc.uint8Array({ maxLength: 1500, size: 'max' }), fc.uint8Array({ maxLength: 64 }));

/** Random bytes behind version 10, 9 or 5, with an IPFIX length or a v9 / v5 count that is often right or nearly. */
const versioned = fc.record({
  version: fc.constantFrom(10, 9, 5),
  body: fc.oneof(fc.uint8Array({ maxLength: 1498, size: 'max' }), fc.uint8Array({ maxLength: 100, size: 'medium' })),
  header: fc.constantFrom('right', 'near', 'random'),
  delta: fc.integer({ min: -8, max: 8 }),
}).map(({ version, body, header, delta }) => {
  const d = new Uint8Array(2 + body.length);
  d[1] = version;
  d.set(body, 2);
  if (header !== 'random') {
    let v = version === 10 ? d.length : version === 5 ? Math.floor((d.length - 24) / 48) : body.length % 8;
    if (header === 'near') v += delta;
    putU16(d, 2, v);
  }
  return d;
});

/** Sets with right (or nearly right) headers and random or template-shaped bodies, in an IPFIX or v9 message. */
const shapedSets = fc.record({
  version: fc.constantFrom(10, 9),
  domain: fc.nat(3),
  sets: fc.array(fc.record({
    id: fc.oneof(fc.constantFrom(0, 1, 2, 3), fc.integer({ min: 256, max: 263 }), fc.nat(0xffff)),
    body: fc.oneof(
      fc.uint8Array({ maxLength: 200, size: 'medium' }),
      fc.array(templateRecord, { minLength: 1, maxLength: 3 }),
    ),
    lengthError: fc.oneof({ weight: 8, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: -6, max: 6 }) }),
  }), { maxLength: 6 }),
}).map(({ version, domain, sets }) => {
  const ipfix = version === 10;
  const w = new Bytes().u16(version).u16(ipfix ? 0 : sets.length).u32(1_700_000_000);
  if (!ipfix) w.u32(1_700_000_000);
  w.u32(0).u32(domain);
  for (const s of sets) {
    let body: Uint8Array;
    if (s.body instanceof Uint8Array) body = s.body;
    else {
      const t = new Bytes();
      for (const r of s.body) writeTemplate(t, r, ipfix ? s.id === 3 : s.id === 1, ipfix);
      body = t.done();
    }
    w.u16(s.id).u16(Math.max(0, Math.min(0xffff, body.length + 4 + s.lengthError))).raw(body);
  }
  const d = w.done().slice(0, 0xffff);
  if (ipfix) putU16(d, 2, d.length);
  return d;
});

const bytesInput = fc.record({
  datagram: fc.oneof(randomBytes, versioned, shapedSets),
  exporter: fc.nat(exporters.length - 1),
  // Mostly 10 ms after the last datagram; now and then past the held age or the template lifetime, and a sweep.
  tickMs: fc.oneof({ weight: 30, arbitrary: fc.constant(10) }, { weight: 1, arbitrary: fc.constantFrom(2_000, 61_000, 31 * 60_000) }),
  sweep: fc.oneof({ weight: 30, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
});

// 2. Mutated corpus datagrams.

interface Datagram {
  capture: string;
  frame: number;
  payload: Uint8Array;
  exporter: Exporter;
  timeMs: number;
}

function loadCorpus(): Datagram[] {
  const out: Datagram[] = [];
  for (const capture of corpusCaptures) {
    readCapture(readFileSync(join(pcapsDir, `${capture}.pcap`)), (d) => {
      // Copies (payload is a view into the file's Buffer, whose slice() is a view as well).
      out.push({ capture, frame: d.frame, payload: Uint8Array.from(d.payload), exporter: exporterOf(Uint8Array.from(d.srcAddr), d.srcPort), timeMs: d.timeMs });
    });
  }
  return out;
}

/** A decoder that has seen every corpus capture in order, so it knows their templates. */
function fedDecoder(corpus: Datagram[], options: Partial<DecoderOptions> = {}, module?: WebAssembly.Module): WasmDecoder {
  const dec = newDecoder(options, module);
  for (const d of corpus) dec.decode(d.payload, d.exporter.address, d.exporter.port, d.timeMs);
  return dec;
}

/**
 * Offsets of the u16 fields that say how long, how many or which: message length / count, set
 * ids and lengths, template ids, field counts, scope counts, element ids and lengths.
 */
function headerFields(d: Uint8Array): number[] {
  const out: number[] = [];
  if (d.length < 4) return out;
  out.push(2);
  const version = be16(d, 0);
  const ipfix = version === 10;
  if (!ipfix && version !== 9) return out;
  let p = ipfix ? 16 : 20;
  while (p + 4 <= d.length) {
    const id = be16(d, p);
    const len = be16(d, p + 2);
    out.push(p, p + 2);
    if (len < 4) break;
    const end = Math.min(p + len, d.length);
    if (ipfix ? id === 2 || id === 3 : id === 0) {
      const options = ipfix && id === 3;
      let q = p + 4;
      while (q + 4 <= end) {
        const count = be16(d, q + 2);
        out.push(q, q + 2);
        q += 4;
        if (count === 0) continue;
        if (options) {
          if (q + 2 > end) break;
          out.push(q);
          q += 2;
        }
        for (let i = 0; i < count && q + 4 <= end; i++) {
          const ie = be16(d, q);
          out.push(q, q + 2);
          q += ipfix && (ie & 0x8000) !== 0 ? 8 : 4;
        }
      }
    } else if (!ipfix && id === 1 && p + 10 <= end) {
      out.push(p + 4, p + 6, p + 8);
      const fieldsEnd = Math.min(end, p + 10 + be16(d, p + 6) + be16(d, p + 8));
      for (let q = p + 10; q + 4 <= fieldsEnd; q += 4) out.push(q, q + 2);
    }
    p += len;
  }
  return out;
}

type Mutation =
  | { op: 'flip'; at: number; xor: number }
  | { op: 'truncate'; to: number }
  | { op: 'insert'; at: number; bytes: Uint8Array }
  | { op: 'delete'; at: number; count: number }
  | { op: 'splice'; from: number; start: number; count: number; at: number }
  | { op: 'field'; which: number; value: number }
  | { op: 'nudge'; which: number; delta: number };

const offset = fc.nat(0xffff);
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ op: fc.constant('flip' as const), at: offset, xor: fc.integer({ min: 1, max: 255 }) }) },
  fc.record({ op: fc.constant('truncate' as const), to: offset }),
  fc.record({ op: fc.constant('insert' as const), at: offset, bytes: fc.uint8Array({ minLength: 1, maxLength: 64 }) }),
  fc.record({ op: fc.constant('delete' as const), at: offset, count: fc.integer({ min: 1, max: 64 }) }),
  fc.record({ op: fc.constant('splice' as const), from: fc.nat(), start: offset, count: fc.integer({ min: 1, max: 256 }), at: offset }),
  {
    weight: 3,
    arbitrary: fc.record({
      op: fc.constant('field' as const),
      which: fc.nat(),
      value: fc.oneof(fc.constantFrom(0, 1, 2, 3, 4, 5, 8, 255, 256, 257, 0x7fff, 0x8000, 0xfffe, 0xffff), fc.nat(0xffff)),
    }),
  },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('nudge' as const), which: fc.nat(), delta: fc.integer({ min: -8, max: 8 }) }) },
);

function mutate(d: Uint8Array, m: Mutation, corpus: Datagram[]): Uint8Array {
  switch (m.op) {
    case 'flip': {
      if (d.length === 0) return d;
      const c = d.slice();
      c[m.at % d.length] ^= m.xor;
      return c;
    }
    case 'truncate':
      return d.slice(0, m.to % (d.length + 1));
    case 'insert': {
      const at = m.at % (d.length + 1);
      return concatBytes(d.subarray(0, at), m.bytes, d.subarray(at));
    }
    case 'delete': {
      const at = m.at % (d.length + 1);
      return concatBytes(d.subarray(0, at), d.subarray(at + m.count));
    }
    case 'splice': {
      // Bytes of another datagram over this one: templates where data was, and so on.
      const src = corpus[m.from % corpus.length]!.payload;
      const start = m.start % (src.length + 1);
      const piece = src.subarray(start, start + m.count);
      const at = m.at % (d.length + 1);
      const c = new Uint8Array(Math.max(d.length, at + piece.length));
      c.set(d);
      c.set(piece, at);
      return c;
    }
    case 'field':
    case 'nudge': {
      const fields = headerFields(d);
      if (fields.length === 0) return d;
      const at = fields[m.which % fields.length]!;
      const c = d.slice();
      putU16(c, at, m.op === 'field' ? m.value : (be16(d, at) + m.delta) & 0xffff);
      return c;
    }
  }
}

const corpusInput = fc.record({
  pick: fc.nat(),
  mutations: fc.array(mutation, { minLength: 1, maxLength: 4 }),
  // Received when sent, or later (past the template lifetime), or earlier.
  clockMs: fc.oneof({ weight: 6, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.constantFrom(1_000, 31 * 60_000, -3_600_000, 2 * 3_600_000) }),
  sweep: fc.oneof({ weight: 9, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
  // Mostly: the IPFIX length / v5 count made to fit again, so a mutant gets past the message header.
  fitHeader: fc.oneof({ weight: 2, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
});

/** Sets an IPFIX message length to the datagram's length, or a v5 count to the records that fit. */
function fitHeader(d: Uint8Array): Uint8Array {
  if (d.length < 4 || d[0] !== 0 || (d[1] !== 10 && d[1] !== 5)) return d;
  const c = d.slice();
  putU16(c, 2, d[1] === 10 ? d.length : Math.floor((d.length - 24) / 48));
  return c;
}

// 3. Streams of template sets and data sets, and a model of the template table.

type SetSpec =
  | { kind: 'templates'; options: boolean; records: TemplateRecord[] }
  /** Many one-field templates with consecutive ids: fills the table. */
  | { kind: 'bulk'; first: number; count: number; ie: number; len: number }
  | { kind: 'data'; tid: number; bytes: Uint8Array }
  /** A large data set, for the template of a bulk set sent earlier in the run when there is one: thousands of records. */
  | { kind: 'dense'; tid: number; pick: number; length: number; seed: number };

interface StreamMessage {
  exporter: number;
  sets: SetSpec[];
}

const streamExporters: (Exporter & { domain: number })[] = [
  { address: mapped(10, 0, 0, 1), port: 4739, domain: 0, dvc: '10.0.0.1' },
  { address: mapped(10, 0, 0, 1), port: 4739, domain: 1, dvc: '10.0.0.1' },
  { address: mapped(10, 0, 0, 2), port: 4740, domain: 0, dvc: '10.0.0.2' },
];

const setSpec: fc.Arbitrary<SetSpec> = fc.oneof(
  { weight: 18, arbitrary: fc.record({ kind: fc.constant('templates' as const), options: fc.constant(false), records: fc.array(templateRecord, { minLength: 1, maxLength: 8 }) }) },
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('templates' as const), options: fc.constant(true), records: fc.array(templateRecord, { minLength: 1, maxLength: 4 }) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('bulk' as const), first: fc.integer({ min: 256, max: 0xffff }), count: fc.integer({ min: 1, max: 6000 }), ie: fc.constantFrom(...knownElements), len: fc.oneof(fc.constant(1), fc.integer({ min: 1, max: 8 })) }) },
  { weight: 15, arbitrary: fc.record({ kind: fc.constant('data' as const), tid: dataId, bytes: fc.uint8Array({ maxLength: 300, size: 'medium' }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('dense' as const), tid: dataId, pick: fc.nat(), length: fc.oneof(fc.constant(60_000), fc.integer({ min: 1000, max: 60_000 })), seed: fc.nat() }) },
);

/** `length` pseudo-random bytes from `seed` (xorshift32), so a large data set shrinks as three numbers. */
function noise(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed | 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

const streamInput = fc.record({
  perExporter: fc.constantFrom(16, 10_000),
  messages: fc.array(fc.record({ exporter: fc.nat(streamExporters.length - 1), sets: fc.array(setSpec, { minLength: 1, maxLength: 4 }) }), { minLength: 1, maxLength: 12 }),
});

function bulkId(s: { first: number }, i: number): number {
  return 256 + ((s.first - 256 + i) % (0x10000 - 256));
}

/** An IPFIX message of the sets that fit in 65535 bytes; returns it and the sets it holds. `bulks`: bulk sets this exporter sent so far in the run. */
function encodeMessage(m: StreamMessage, seq: number, bulks: { first: number; count: number }[]): { datagram: Uint8Array; sets: SetSpec[] } {
  const w = new Bytes().u16(10).u16(0).u32(1_700_000_000).u32(seq).u32(streamExporters[m.exporter]!.domain);
  const sets: SetSpec[] = [];
  for (const s of m.sets) {
    const b = new Bytes();
    if (s.kind === 'templates') for (const r of s.records) writeTemplate(b, r, s.options, true);
    else if (s.kind === 'bulk') for (let i = 0; i < s.count; i++) b.u16(bulkId(s, i)).u16(1).u16(s.ie).u16(s.len);
    else if (s.kind === 'data') b.raw(s.bytes);
    else b.raw(noise(s.length, s.seed));
    if (w.length + 4 + b.length > 0xffff) continue;
    let id = 2;
    if (s.kind === 'templates' && s.options) id = 3;
    else if (s.kind === 'data') id = s.tid;
    else if (s.kind === 'dense') {
      const bulk = bulks[s.pick % Math.max(1, bulks.length)];
      // One of the first ids of the bulk set: those are defined even under a per-exporter limit of 16.
      id = bulk ? bulkId(bulk, Math.floor(s.pick / bulks.length) % Math.min(bulk.count, 16)) : s.tid;
    }
    w.u16(id).u16(4 + b.length);
    w.raw(b.done());
    sets.push(s);
    if (s.kind === 'bulk') bulks.push(s);
  }
  const datagram = w.done();
  putU16(datagram, 2, datagram.length);
  return { datagram, sets };
}

/** What the template table should hold (templates.ts, sets.ts): per exporter, template id to kind. */
class TemplateModel {
  readonly live = new Map<number, Map<number, boolean>>(); // exporter -> tid -> options?
  total = 0;
  limitHits = 0;
  tooManyFields = 0;
  badTemplates = 0;
  constructor(readonly perExporter: number) {}

  of(exporter: number): Map<number, boolean> {
    let m = this.live.get(exporter);
    if (!m) this.live.set(exporter, (m = new Map()));
    return m;
  }

  apply(exporter: number, s: SetSpec): void {
    if (s.kind === 'data' || s.kind === 'dense') return;
    if (s.kind === 'bulk') {
      for (let i = 0; i < s.count; i++) this.define(exporter, bulkId(s, i), false, [{ ie: s.ie, pen: 0, len: s.len }]);
      return;
    }
    for (const r of s.records) {
      if (r.fields.length === 0) {
        this.withdraw(exporter, r.tid, s.options);
        continue;
      }
      if (r.tid < 256) {
        this.badTemplates++; // and the rest of the set is not read
        return;
      }
      if (s.options && (r.scope === 0 || r.scope > r.fields.length)) this.badTemplates++;
      else if (r.fields.length > 256) this.tooManyFields++;
      else this.define(exporter, r.tid, s.options, r.fields);
    }
  }

  define(exporter: number, tid: number, options: boolean, fields: FieldSpec[]): void {
    // A record is at least one byte and shorter than 65535 (varlen counts one byte).
    const minLen = fields.reduce((n, f) => n + (f.len === 0xffff ? 1 : f.len), 0);
    const valid = minLen > 0 && minLen < 0xffff;
    const mine = this.of(exporter);
    if (mine.has(tid)) {
      if (valid) mine.set(tid, options);
      else {
        mine.delete(tid);
        this.total--;
        this.badTemplates++;
      }
      return;
    }
    if (mine.size >= this.perExporter || this.total >= MAX_TEMPLATES) {
      this.limitHits++;
      return;
    }
    if (valid) {
      mine.set(tid, options);
      this.total++;
    } else {
      this.badTemplates++;
    }
  }

  withdraw(exporter: number, tid: number, options: boolean): void {
    const mine = this.of(exporter);
    if (tid === 2 || tid === 3) {
      for (const [id, o] of mine) {
        if (o === options) {
          mine.delete(id);
          this.total--;
        }
      }
    } else if (mine.delete(tid)) {
      this.total--;
    }
  }
}

/** Withdraws every template of every stream exporter (RFC 7011 section 8.1: ids 2 and 3). */
const withdrawAll = streamExporters.map((e) => {
  const w = new Bytes().u16(10).u16(16 + 16).u32(1_700_000_000).u32(0).u32(e.domain);
  return w.u16(2).u16(8).u16(2).u16(0).u16(3).u16(8).u16(3).u16(0).done();
});

// ---------------------------------------------------------------------------------------------
// The worker: runs one property for its budget
// ---------------------------------------------------------------------------------------------

interface Job {
  property: Property;
  build: Build;
  budgetMs: number;
  seed: number;
  mailbox: SharedArrayBuffer;
}

interface Outcome {
  runs: number;
  ms: number;
  failed: boolean;
  interrupted: boolean;
  report: string;
  slowestDecodeMs: number;
  decodersMade: number;
  seen: Record<string, number>;
}

function moduleFor(build: Build): WebAssembly.Module | undefined {
  if (build === 'release') return undefined; // WasmDecoder's own: the production loader
  return compileDecoder(decoderWasmPath('debug'));
}

function runJob(job: Job): Outcome {
  const module = moduleFor(job.build);
  const make = (options: Partial<DecoderOptions> = {}): WasmDecoder => newDecoder(options, module);
  const checker = new Checker(DECODE_LIMIT_MS[job.build], new Mailbox(job.mailbox));
  let pools: Pool[] = [];
  let clock = T0;
  const check = <Ts>(property: fc.IProperty<Ts>): Omit<Outcome, 'slowestDecodeMs' | 'decodersMade' | 'seen'> => {
    const started = performance.now();
    const details = fc.check(property, { seed: job.seed, numRuns: MAX_RUNS, plugins: [fc.interruptAfterTimeLimit(job.budgetMs)] });
    return {
      runs: details.numRuns,
      ms: performance.now() - started,
      failed: details.failed,
      interrupted: details.interrupted,
      report: details.failed ? fc.defaultReportMessage(details) ?? 'failed' : '',
    };
  };
  let result: ReturnType<typeof check>;

  if (job.property === 'bytes') {
    let made = 0;
    const pool = new Pool(() => make(made++ % 3 === 2 ? tightOptions : {}), 1000);
    pools = [pool];
    result = check(fc.property(bytesInput, ({ datagram, exporter, tickMs, sweep }) => {
      clock += tickMs;
      pool.run((dec) => {
        if (sweep) checker.sweep(dec, clock, datagram);
        checker.decode(dec, datagram, exporters[exporter]!, clock);
      });
    }));
  } else if (job.property === 'corpus') {
    const corpus = loadCorpus();
    assert.ok(corpus.length > 0, 'no corpus datagrams');
    let made = 0;
    const pool = new Pool(() => fedDecoder(corpus, made++ % 3 === 2 ? tightOptions : {}, module), 300);
    pools = [pool];
    result = check(fc.property(corpusInput, ({ pick, mutations, clockMs, sweep, fitHeader: fit }) => {
      const original = corpus[pick % corpus.length]!;
      let d = original.payload;
      for (const m of mutations) d = mutate(d, m, corpus);
      if (fit) d = fitHeader(d);
      const now = original.timeMs + clockMs;
      pool.run((dec) => {
        try {
          if (sweep) checker.sweep(dec, now, d);
          checker.decode(dec, d, original.exporter, now);
        } catch (err) {
          // Say whether the mutant alone breaks a decoder that has only seen the corpus.
          let fresh: string;
          try {
            new Checker(DECODE_LIMIT_MS[job.build]).decode(fedDecoder(corpus, {}, module), d, original.exporter, now);
            fresh = 'passes: the failure needs state left by earlier mutants';
          } catch (again) {
            fresh = `also fails: ${(again as Error).message.split('\n')[0]}`;
          }
          throw new Error(`mutant of ${original.capture} frame ${original.frame}: ${(err as Error).message}\n  on a decoder fed only the corpus it ${fresh}`);
        }
      });
    }));
  } else {
    const byLimit = new Map<number, Pool>();
    const poolFor = (perExporter: number): Pool => {
      let p = byLimit.get(perExporter);
      // Withdrawals applied: the model follows them, and each run ends by withdrawing all (ignored by default over UDP).
      if (!p) byLimit.set(perExporter, (p = new Pool(() => make({ maxTemplatesPerExporter: perExporter, udpWithdrawals: 'apply' }), 200)));
      return p;
    };
    pools = [poolFor(16), poolFor(10_000)];
    const statusCodes = { limit: code('template_limit'), tooMany: code('too_many_fields'), bad: code('bad_template'), badSet: code('bad_set') };
    let seq = 0;
    result = check(fc.property(streamInput, ({ perExporter, messages }) => {
      // Each run starts from an empty table: a run that passed withdrew all it defined, one that failed left its decoder dirty.
      poolFor(perExporter).run((dec) => {
        assert.equal(dec.counters().templates, 0, 'templates left by an earlier run');
        const base = dec.counters().statuses;
        const model = new TemplateModel(perExporter);
        const used = new Set<number>();
        const bulks = streamExporters.map((): { first: number; count: number }[] => []);
        const delta = (c: number): number => dec.counters().statuses[c]! - base[c]!;
        for (const m of messages) {
          const ex = streamExporters[m.exporter]!;
          const { datagram, sets } = encodeMessage(m, seq++, bulks[m.exporter]!);
          used.add(m.exporter);
          checker.decode(dec, datagram, ex, (clock += 1));
          for (const s of sets) model.apply(m.exporter, s);
          const c = dec.counters();
          const where = `after message ${messages.indexOf(m)} (${datagram.length} bytes)`;
          assert.ok(c.templates <= MAX_TEMPLATES, `${c.templates} templates ${where}`);
          assert.ok(c.templates <= perExporter * used.size, `${c.templates} templates from ${used.size} exporters, at most ${perExporter} each, ${where}`);
          assert.equal(c.templates, model.total, `templates gauge ${where}`);
          assert.equal(delta(statusCodes.limit), model.limitHits, `template_limit count ${where}`);
          assert.equal(delta(statusCodes.tooMany), model.tooManyFields, `too_many_fields count ${where}`);
          assert.equal(delta(statusCodes.bad), model.badTemplates, `bad_template count ${where}`);
          assert.equal(delta(statusCodes.badSet), 0, `bad_set count ${where}`);
          if (model.limitHits > 0) checker.note(perExporter === 16 ? 'per-exporter limit reached' : 'table limit reached');
          if (c.templates === MAX_TEMPLATES) checker.note('table full');
        }
        withdrawAll.forEach((m, i) => checker.decode(dec, m, streamExporters[i]!, clock));
        assert.equal(dec.counters().templates, 0, 'templates left after every exporter withdrew all of its templates');
      });
    }));
  }

  return {
    ...result,
    slowestDecodeMs: checker.slowestMs,
    decodersMade: pools.reduce((n, p) => n + p.made, 0),
    seen: checker.seen,
  };
}

if (!isMainThread && (workerData as { fuzz?: Job } | null)?.fuzz) {
  parentPort!.postMessage(runJob((workerData as { fuzz: Job }).fuzz));
}

// ---------------------------------------------------------------------------------------------
// The tests (main thread)
// ---------------------------------------------------------------------------------------------

const seed = process.env.FUZZ_SEED !== undefined ? Number(process.env.FUZZ_SEED) : Math.floor(Math.random() * 0x7fffffff);
if (!Number.isSafeInteger(seed)) throw new Error(`FUZZ_SEED must be an integer, not ${process.env.FUZZ_SEED}`);

/** Runs a property in a worker; a worker that does not answer in time is stuck in a decode. */
function inWorker(job: Job, mailbox: Mailbox): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL(import.meta.url), { workerData: { fuzz: job }, execArgv: [] });
    const watchdog = setTimeout(() => {
      const stuck = mailbox.describe();
      void worker.terminate();
      reject(new Error(`${job.property} (${job.build}): no answer ${HANG_MS / 1000} s past its ${job.budgetMs / 1000} s budget, seed ${job.seed}: ${stuck}`));
    }, job.budgetMs + HANG_MS);
    worker.once('message', (o: Outcome) => {
      clearTimeout(watchdog);
      resolve(o);
    });
    worker.once('error', (err) => {
      clearTimeout(watchdog);
      reject(err);
    });
    worker.once('exit', (exitCode) => {
      clearTimeout(watchdog);
      reject(new Error(`fuzz worker exited with code ${exitCode} before answering (${mailbox.describe()})`));
    });
  });
}

async function fuzz(t: TestContext, property: Property, build: Build): Promise<Outcome> {
  const budgetMs = BUDGET_MS[property === 'bytes' && build === 'debug' ? 'bytes-debug' : property];
  const mailbox = new Mailbox();
  const o = await inWorker({ property, build, budgetMs, seed, mailbox: mailbox.shared }, mailbox);
  const seen = Object.entries(o.seen).sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ${n}`).join(', ');
  t.diagnostic(`${o.runs} runs in ${(o.ms / 1000).toFixed(1)} s (budget ${budgetMs / 1000} s${CI ? ', CI' : ''}), ` +
    `${o.decodersMade} decoders, slowest decode ${o.slowestDecodeMs.toFixed(2)} ms, seed ${seed} (FUZZ_SEED=${seed} replays)`);
  t.diagnostic(`outcomes: ${seen}`);
  assert.ok(!o.failed, `${o.report}\n(FUZZ_SEED=${seed} replays this run)`);
  assert.ok(o.runs >= MIN_RUNS[property], `only ${o.runs} runs within ${budgetMs} ms`);
  return o;
}

if (isMainThread) {
  test('random bytes decode to a record count or a known status, never a trap, within the time budget', async (t) => {
    const o = await fuzz(t, 'bytes', 'release');
    // The shaped inputs get past every header: the fuzzing reached the IPFIX, v9 and v5 decoders.
    for (const v of [5, 9, 10]) assert.ok((o.seen[`v${v} accepted`] ?? 0) > 0, `no v${v} datagram accepted`);
    assert.ok((o.seen.records ?? 0) > 0, 'no run produced a record');
  });

  test('random bytes decode the same way on the debug build, assertions on', async (t) => {
    await fuzz(t, 'bytes', 'debug');
  });

  test('mutated corpus datagrams decode to a record count or a known status while the decoder learns templates from them', async (t) => {
    const o = await fuzz(t, 'corpus', 'release');
    assert.ok((o.seen.records ?? 0) > 0, 'no mutant produced a record');
  });

  test('streams of random templates keep the table within 4096 templates and maxTemplatesPerExporter per exporter', async (t) => {
    const o = await fuzz(t, 'templates', 'release');
    assert.ok((o.seen['per-exporter limit reached'] ?? 0) > 0, 'no run reached maxTemplatesPerExporter');
    assert.ok((o.seen['table full'] ?? 0) > 0, 'no run filled the table');
  });

  test('a datagram longer than WasmDecoder.maxDatagram is rejected as bad_length, not decoded from the previous input', () => {
    // Found here: maxDatagram was 65535 while the input region holds 65536, so a 65536-byte
    // datagram was not copied but decoded from what the previous one left there.
    const dec = newDecoder();
    const checker = new Checker(DECODE_LIMIT_MS.release);
    // A NetFlow v5 datagram with one record, left in the decoder's input region.
    const v5 = new Uint8Array(24 + 48);
    v5[1] = 5;
    v5[3] = 1;
    assert.equal(checker.decode(dec, v5, exporters[0]!, T0), 1);
    for (const len of [65536, WasmDecoder.maxDatagram + 1, WasmDecoder.maxDatagram + 2, 1 << 17].filter((n) => n > WasmDecoder.maxDatagram)) {
      assert.equal(checker.decode(dec, new Uint8Array(len), exporters[0]!, T0), -code('bad_length'), `${len} bytes`);
    }
  });

  test('every saved counterexample in test/fixtures/fuzz decodes to a record count or a known status', () => {
    const files = existsSync(fixturesDir) ? readdirSync(fixturesDir).filter((f) => f.endsWith('.hex')).sort() : [];
    const corpus = files.length > 0 ? loadCorpus() : [];
    for (const file of files) {
      // Each by a new decoder and by one that has seen the corpus.
      const datagram = readFixture(file);
      for (const dec of [newDecoder(), fedDecoder(corpus)]) {
        new Checker(DECODE_LIMIT_MS.release).decode(dec, datagram, exporters[0]!, T0);
      }
    }
  });

  test('data sets for unknown templates are held within a bounded count: empty ones never, the rest at most 1024 (held-flood.hex)', () => {
    // 200 datagrams of 1500 bytes of data sets for templates never sent: the fixture (371 empty
    // sets each), and the same with one byte in each set. held.ts scans held sets per set taken
    // in; it used to hold empty sets (uncounted by the byte caps) without limit, so each datagram
    // cost ~40 ms of CPU once the region was full. The bound on held sets is what keeps the scan
    // short: it is asserted here as counts, not as time (speed belongs to bench/).
    const empty = readFixture('held-flood.hex');
    const oneByte = new Bytes().raw(empty.subarray(0, 16));
    for (let i = 0; i < 295; i++) oneByte.u16(300 + (i % 8)).u16(5).u8(i);
    const datagrams = { empty, 'one-byte': oneByte.done() };
    putU16(datagrams['one-byte'], 2, datagrams['one-byte'].length);
    for (const [name, datagram] of Object.entries(datagrams)) {
      const dec = newDecoder();
      const checker = new Checker(DECODE_LIMIT_MS.release);
      for (let i = 0; i < 200; i++) assert.equal(checker.decode(dec, datagram, exporters[0]!, T0 + i), 0);
      const c = dec.counters();
      const sets = name === 'empty' ? 200 * 371 : 200 * 295;
      assert.equal(c.statuses[code('unknown_template')]! + c.statuses[code('held_overflow')]!, sets, name);
      if (name === 'empty') {
        assert.deepEqual([c.heldSets, c.heldBytes, c.statuses[code('held_overflow')]], [0, 0, 0]);
      } else {
        assert.equal(c.heldSets, 1024);
        assert.equal(c.heldBytes, 1024);
        assert.equal(c.statuses[code('held_overflow')], sets - 1024);
      }
    }
  });
}
